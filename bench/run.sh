#!/usr/bin/env bash
# Benchmark harness: vigil versus AIDE on the same corpora, same attributes,
# warm page cache.  See bench/README.md for what is measured and why.
#
# Usage: sudo bench/run.sh [--vigil PATH] [--work DIR] [--scale N]
#                          [--corpora LIST] [--repeat N] [--wait-idle S]
#                          [--skip-build-corpus] [--skip-aide] [--skip-vigil]
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)

VIGIL="$REPO_ROOT/build/release/vigil"
WORK=/var/tmp/vigil-bench
SCALE=""
CORPORA=""
REPEAT=2
SKIP_BUILD=0
SKIP_AIDE=0
SKIP_VIGIL=0
WAIT_IDLE=0
NPROC=$(nproc)
SMALL_FILES_PER_SCALE=200000
SMALL_FILES_PER_DIR=1000
SMALL_DIRS_PER_TOP=20
SMALL_SEED=20240601
AIDE_ATTRS_BASE="p+i+n+u+g+s+m+c+sha256+ftype+l"

usage() {
    cat <<'EOF'
Usage: sudo bench/run.sh [options]

  --vigil PATH          vigil binary (default: <repo>/build/release/vigil)
  --work DIR            work directory for corpora, databases and logs
                        (default: /var/tmp/vigil-bench)
  --scale N             generated corpus size in units of 200,000 files;
                        runs usr, small-1x and small-<N>x
                        (without --scale/--corpora: usr, small-1x, small-4x)
  --corpora LIST        explicit comma-separated corpus list, e.g.
                        usr,small-1x or small-1x,small-4x
  --repeat N            runs for the fast measurements (vigil quick check,
                        find walk); best wall time is kept (default 2)
  --wait-idle SECONDS    before each timed run wait up to SECONDS for the
                        machine to be idle (< 10% CPU busy); default 0
  --skip-build-corpus   never build corpora; fail if one is missing
  --skip-aide           do not run AIDE
  --skip-vigil          do not run vigil
  -h, --help            this text
EOF
}

die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 1; }
say() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
loud() {
    printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
    printf '!!! %s\n' "$@" >&2
    printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n' >&2
}

while (($#)); do
    case $1 in
        --vigil) VIGIL=${2:?--vigil needs a path}; shift 2 ;;
        --vigil=*) VIGIL=${1#*=}; shift ;;
        --work) WORK=${2:?--work needs a directory}; shift 2 ;;
        --work=*) WORK=${1#*=}; shift ;;
        --scale) SCALE=${2:?--scale needs a number}; shift 2 ;;
        --scale=*) SCALE=${1#*=}; shift ;;
        --corpora) CORPORA=${2:?--corpora needs a list}; shift 2 ;;
        --corpora=*) CORPORA=${1#*=}; shift ;;
        --repeat) REPEAT=${2:?--repeat needs a number}; shift 2 ;;
        --repeat=*) REPEAT=${1#*=}; shift ;;
        --wait-idle) WAIT_IDLE=${2:?--wait-idle needs seconds}; shift 2 ;;
        --wait-idle=*) WAIT_IDLE=${1#*=}; shift ;;
        --skip-build-corpus) SKIP_BUILD=1; shift ;;
        --skip-aide) SKIP_AIDE=1; shift ;;
        --skip-vigil) SKIP_VIGIL=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "--repeat must be a positive integer"
[[ $WAIT_IDLE =~ ^[0-9]+$ ]] || die "--wait-idle must be a number of seconds"
if [[ -n $SCALE ]]; then
    [[ $SCALE =~ ^[1-9][0-9]*$ ]] || die "--scale must be a positive integer"
fi

# Corpus list.
if [[ -n $CORPORA ]]; then
    IFS=', ' read -r -a CORPUS_LIST <<<"$CORPORA"
elif [[ -n $SCALE ]]; then
    CORPUS_LIST=(usr small-1x)
    [[ $SCALE == 1 ]] || CORPUS_LIST+=("small-${SCALE}x")
else
    CORPUS_LIST=(usr small-1x small-4x)
fi
((${#CORPUS_LIST[@]})) || die "empty corpus list"
for c in "${CORPUS_LIST[@]}"; do
    [[ $c == usr || $c =~ ^small-[1-9][0-9]*x$ ]] ||
        die "bad corpus name '$c' (expected usr or small-<N>x)"
done

[[ $EUID -eq 0 ]] || die "must run as root (sudo bench/run.sh): the /usr copy, apt-get and both tools need it"

# Resolve paths; keep the bulky data out of the source tree.
[[ $VIGIL == /* ]] || VIGIL="$PWD/$VIGIL"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd -P)
case "$WORK/" in
    "$(cd "$REPO_ROOT" && pwd -P)/"*) die "--work must be outside the repository ($REPO_ROOT)" ;;
esac
[[ $WORK != / ]] || die "--work must not be /"

RUN_ID=$(date +%Y%m%d-%H%M%S)
LOGROOT="$WORK/logs/$RUN_ID"
mkdir -p "$WORK/corpus" "$WORK/bin" "$WORK/mutation" "$LOGROOT"
RESULTS="$WORK/results.md"

# --------------------------------------------------------------------------
# Packages
# --------------------------------------------------------------------------
ensure_packages() {
    local need=() optional=()
    command -v aide >/dev/null 2>&1 || need+=(aide)
    [[ -x /usr/bin/time ]] || need+=(time)
    command -v openssl >/dev/null 2>&1 || need+=(openssl)
    command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
    command -v hyperfine >/dev/null 2>&1 || optional+=(hyperfine)
    export DEBIAN_FRONTEND=noninteractive
    if ((${#need[@]})); then
        say "installing required packages: ${need[*]}"
        apt-get install -y "${need[@]}" >&2 ||
            { apt-get update >&2 && apt-get install -y "${need[@]}" >&2; } ||
            die "could not install: ${need[*]}"
    fi
    if ((${#optional[@]})); then
        say "installing optional packages: ${optional[*]}"
        apt-get install -y "${optional[@]}" >&2 ||
            { apt-get update >&2 && apt-get install -y "${optional[@]}" >&2; } ||
            say "warning: could not install ${optional[*]} (not needed for the table)"
    fi
}

# --------------------------------------------------------------------------
# Corpora
# --------------------------------------------------------------------------
corpus_path() { printf '%s/corpus/%s' "$WORK" "$1"; }

build_generator() {
    local src="$WORK/bin/gen-small.c" bin="$WORK/bin/gen-small" tmp
    tmp=$(mktemp "$WORK/bin/gen-small.c.XXXXXX")
    cat >"$tmp" <<'EOF'
/* Deterministic small-file tree generator used by bench/run.sh.
 * usage: gen-small ROOT NFILES FILES_PER_DIR DIRS_PER_TOP SEED
 * Layout: ROOT/tNNN/sNN/fNNNNNNN.dat, sizes uniform in 0..8192 bytes,
 * content from a splitmix64 stream seeded with SEED. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t state;

static uint64_t next_u64(void)
{
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void make_dir(const char *p)
{
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "gen-small: mkdir %s: %s\n", p, strerror(errno));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: gen-small ROOT NFILES FILES_PER_DIR DIRS_PER_TOP SEED\n");
        return 2;
    }
    const char *root = argv[1];
    unsigned long nfiles = strtoul(argv[2], NULL, 10);
    unsigned long per_dir = strtoul(argv[3], NULL, 10);
    unsigned long per_top = strtoul(argv[4], NULL, 10);
    state = strtoull(argv[5], NULL, 10);
    if (per_dir == 0 || per_top == 0)
        return 2;

    static unsigned char buf[8192 + 8];
    char path[4096];
    make_dir(root);
    for (unsigned long i = 0; i < nfiles; i++) {
        unsigned long leaf = i / per_dir;
        unsigned long top = leaf / per_top, sub = leaf % per_top;
        if (i % per_dir == 0) {
            snprintf(path, sizeof path, "%s/t%03lu", root, top);
            make_dir(path);
            snprintf(path, sizeof path, "%s/t%03lu/s%02lu", root, top, sub);
            make_dir(path);
        }
        size_t size = (size_t)(next_u64() % 8193);
        for (size_t off = 0; off < size; off += 8) {
            uint64_t v = next_u64();
            memcpy(buf + off, &v, 8);
        }
        snprintf(path, sizeof path, "%s/t%03lu/s%02lu/f%07lu.dat", root, top, sub, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            fprintf(stderr, "gen-small: open %s: %s\n", path, strerror(errno));
            return 1;
        }
        size_t done = 0;
        while (done < size) {
            ssize_t w = write(fd, buf + done, size - done);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                fprintf(stderr, "gen-small: write %s: %s\n", path, strerror(errno));
                return 1;
            }
            done += (size_t)w;
        }
        if (close(fd) != 0) {
            fprintf(stderr, "gen-small: close %s: %s\n", path, strerror(errno));
            return 1;
        }
    }
    return 0;
}
EOF
    if [[ -x $bin && -f $src ]] && cmp -s "$tmp" "$src"; then
        rm -f "$tmp"
        return 0
    fi
    mv "$tmp" "$src"
    cc -O2 -Wall -Wextra -o "$bin" "$src" || die "could not compile $src"
}

build_corpus() {
    local name=$1 dst
    dst=$(corpus_path "$name")
    if [[ -d $dst ]]; then
        say "corpus $name: reusing $dst"
        return 0
    fi
    ((SKIP_BUILD == 0)) || die "corpus $name missing at $dst and --skip-build-corpus given"
    rm -rf "$dst.partial"
    if [[ $name == usr ]]; then
        say "corpus usr: copying /usr to $dst (once; several minutes)"
        cp -a /usr "$dst.partial"
    else
        local n=${name#small-}; n=${n%x}
        local count=$((SMALL_FILES_PER_SCALE * n))
        build_generator
        say "corpus $name: generating $count files (seed $SMALL_SEED)"
        "$WORK/bin/gen-small" "$dst.partial" "$count" "$SMALL_FILES_PER_DIR" \
            "$SMALL_DIRS_PER_TOP" "$SMALL_SEED"
    fi
    mv "$dst.partial" "$dst"
    sync -f "$dst" 2>/dev/null || true
}

# Prints: entries regular dirs symlinks other bytes
corpus_stats() {
    find "$1" -printf '%y %s\n' | awk '
        { n++; if ($1 == "f") { f++; b += $2 } else if ($1 == "d") d++;
          else if ($1 == "l") l++; else o++ }
        END { printf "%d %d %d %d %d %.0f\n", n, f, d, l, o, b }'
}

warm_cache() {
    say "warming page cache for $1"
    find "$1" -type f -print0 | xargs -0 -r -P "$NPROC" -n 1000 cat >/dev/null 2>&1 || true
    find "$1" -printf '%i %s %n\n' >/dev/null
}

# --------------------------------------------------------------------------
# Timing.  run_timed TAG CMD...: stdout/stderr go to $LOGDIR/TAG.{out,err};
# sets T_WALL (s), T_CPU (user+sys, s), T_RSS (KiB), T_RC.
# --------------------------------------------------------------------------
LOGDIR=$LOGROOT
T_WALL=0 T_CPU=0 T_RSS=0 T_RC=0

# Other work on the machine skews the numbers.  cpu_busy prints the busy CPU
# seconds of the whole machine since boot; run_timed subtracts the measured
# command's own CPU time to get the CPU used by everything else meanwhile.
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
cpu_busy() {
    awk -v hz="$CLK_TCK" '$1 == "cpu" { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit }' /proc/stat
}
FOREIGN_MAX=0   # highest share (percent of all cores) used by other work
CURRENT=""      # corpus being measured
# wait_idle: with --wait-idle S, wait up to S seconds for a 2-second window
# in which the machine is less than 10% busy.
wait_idle() {
    ((WAIT_IDLE > 0)) || return 0
    local deadline=$((SECONDS + WAIT_IDLE)) a b
    while :; do
        a=$(cpu_busy); sleep 2; b=$(cpu_busy)
        awk -v a="$a" -v b="$b" -v n="$NPROC" 'BEGIN { exit !((b - a) / (2 * n) < 0.10) }' && return 0
        if ((SECONDS >= deadline)); then
            say "machine still busy after waiting ${WAIT_IDLE}s; measuring anyway"
            return 0
        fi
        sleep 3
    done
}

run_timed() {
    local tag=$1; shift
    local tf="$LOGDIR/$tag.time" rc=0 line w u s m
    printf '%q ' "$@" >"$LOGDIR/$tag.cmd"; echo >>"$LOGDIR/$tag.cmd"
    wait_idle
    local b0 b1 pct
    b0=$(cpu_busy)
    /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$LOGDIR/$tag.out" 2>"$LOGDIR/$tag.err" || rc=$?
    b1=$(cpu_busy)
    line=$(tail -n 1 "$tf" 2>/dev/null || true)
    read -r w u s m <<<"$line" || true
    [[ $w =~ ^[0-9.]+$ ]] || { w=0 u=0 s=0 m=0; ((rc)) || rc=127; }
    T_WALL=$w
    T_CPU=$(awk -v a="$u" -v b="$s" 'BEGIN { printf "%.2f", a + b }')
    T_RSS=$m
    T_RC=$rc
    pct=$(awk -v a="$b0" -v b="$b1" -v c="$T_CPU" -v w="$T_WALL" -v n="$NPROC" \
        'BEGIN { f = (b - a) - c; if (f < 0 || w <= 0) f = 0; printf "%.0f", 100 * f / (w * n) }')
    printf '%s wall=%s cpu=%s rss_kib=%s rc=%s other_work=%s%%\n' "$tag" "$T_WALL" "$T_CPU" "$T_RSS" "$T_RC" "$pct" \
        >>"$LOGDIR/timings.log"
    ((pct <= FOREIGN_MAX)) || FOREIGN_MAX=$pct
    [[ -z $CURRENT ]] || NOTE["$CURRENT|other"]=$FOREIGN_MAX
}

# best_of N TAG CMD...: repeat, keep the run with the lowest wall time.
best_of() {
    local n=$1 tag=$2; shift 2
    local i bw="" bc bm brc
    for ((i = 1; i <= n; i++)); do
        run_timed "$tag.$i" "$@"
        if [[ -z $bw ]] || awk -v a="$T_WALL" -v b="$bw" 'BEGIN { exit !(a < b) }'; then
            bw=$T_WALL bc=$T_CPU bm=$T_RSS brc=$T_RC
        fi
        ((T_RC < 14)) || break
    done
    T_WALL=$bw T_CPU=$bc T_RSS=$bm T_RC=$brc
}

# Results: RES["corpus|op|tool"]="wall cpu rss_kib rc"
declare -A RES=()
declare -A NOTE=()
record() { RES["$1|$2|$3"]="$T_WALL $T_CPU $T_RSS $T_RC"; }
field() {  # field corpus op tool index(1=wall 2=cpu 3=rss 4=rc)
    local v=${RES["$1|$2|$3"]:-}
    [[ -n $v ]] || return 0
    awk -v i="$4" '{ print $i }' <<<"$v"
}
note() { NOTE["$1"]+="$2"$'\n'; }

err_tail() { tail -n 5 "$LOGDIR/$1.err" 2>/dev/null | sed 's/^/    /'; }

# --------------------------------------------------------------------------
# AIDE
# --------------------------------------------------------------------------
AIDE_EXTRA=""
aide_detect_attrs() {
    local v extra=()
    v=$(aide --version 2>&1 || true)
    grep -Eq '^xattrs: yes' <<<"$v" && extra+=(xattrs)
    grep -Eq '^acl: yes' <<<"$v" && extra+=(acl)
    grep -Eq '^selinux: yes' <<<"$v" && extra+=(selinux)
    grep -Eq '^caps: yes' <<<"$v" && extra+=(caps)
    grep -Eq '^e2fsattrs: yes' <<<"$v" && extra+=(e2fsattrs)
    AIDE_EXTRA=$(IFS=+; echo "${extra[*]}")
}
aide_attrs() { printf '%s%s' "$AIDE_ATTRS_BASE" "${AIDE_EXTRA:++$AIDE_EXTRA}"; }

regex_escape() { sed 's/[][\\.*^$+?(){}|]/\\&/g' <<<"$1"; }

aide_setup() {  # aide_setup NAME ROOT
    local d="$WORK/aide-$1"
    mkdir -p "$d"
    cat >"$d/aide.conf" <<EOF
# generated by bench/run.sh
database_in=file:$d/aide.db
database_out=file:$d/aide.db.new
gzip_dbout=no
report_url=stdout
report_summarize_changes=yes
database_attrs=sha256
BenchRule = $(aide_attrs)
# the suffix keeps sibling trees with the same prefix (usr.partial, ...) out
$(regex_escape "$2")(/|\$) BenchRule
EOF
    aide --config-check --config="$d/aide.conf" >/dev/null 2>"$LOGDIR/aide-config-check.err" ||
        die "aide rejected $d/aide.conf: $(cat "$LOGDIR/aide-config-check.err")"
}
aide_cmd() { printf '%s\n' aide --config="$WORK/aide-$1/aide.conf" --workers="$NPROC"; }

# --------------------------------------------------------------------------
# vigil
# --------------------------------------------------------------------------
VIGIL_OK=0
VIGIL_SRC=$VIGIL
VIGIL_SUM=""
PARTIAL=""
vigil_setup() {  # vigil_setup NAME ROOT
    local d="$WORK/vigil-$1"
    mkdir -p "$d/rules.d" "$d/state"
    : >"$d/vigil.conf"
    printf '%s/**\n' "$2" >"$d/rules.d/bench.rules"
}
VIGIL_BASE=()
vigil_base() {
    local d="$WORK/vigil-$1"
    VIGIL_BASE=("$VIGIL" --config "$d/vigil.conf" --rules "$d/rules.d" --state-dir "$d/state")
}

# --------------------------------------------------------------------------
# Mutation: 100 appended-to files, 50 added files, 50 removed files, picked
# by stride from the sorted list of eligible regular files.  Eligible: one
# link (appending to a hard-linked file would change every name of it), no
# set-id bits, plain ASCII names, not directly in the corpus root.
# --------------------------------------------------------------------------
N_MOD=100 N_ADD=50 N_REM=50

manifest() {
    # Directory sizes are left out: ext4 grows a directory when an entry is
    # added and never shrinks it, so they cannot be put back.
    find "$1" \( -type d -printf '%y %i %n %m %U %G - %T@ %P\n' \) -o \
        -printf '%y %i %n %m %U %G %s %T@ %P\n' | LC_ALL=C sort
}

mutate() {  # mutate NAME ROOT
    local name=$1 root=$2 m="$WORK/mutation/$1" n stride k p
    rm -rf "$m"
    mkdir -p "$m/stash"
    printf '%s\n' "$root" >"$m/root"
    manifest "$root" >"$m/manifest.before"
    find "$root" -mindepth 2 -type f -links 1 ! -perm /6000 ! -path $'*\n*' -print |
        LC_ALL=C grep -E '^[A-Za-z0-9._/+-]+$' | LC_ALL=C sort >"$m/candidates" || true
    n=$(wc -l <"$m/candidates")
    stride=$((n / (N_MOD + N_REM + N_ADD)))
    ((stride >= 1)) || die "corpus $name: only $n eligible files, cannot mutate"
    awk -v S="$stride" -v a="$N_MOD" -v b="$N_REM" -v c="$N_ADD" -v dir="$m" '
        (NR - 1) % S == 0 {
            k = int((NR - 1) / S)
            if (k < a) print > (dir "/modified.list")
            else if (k < a + b) print > (dir "/removed.list")
            else if (k < a + b + c) { sub(/\/[^\/]*$/, ""); print > (dir "/addparent.list") }
        }' "$m/candidates"
    k=0
    : >"$m/added.list"
    while IFS= read -r p; do
        printf '%s/bench-added-%02d.dat\n' "$p" "$k" >>"$m/added.list"
        k=$((k + 1))
    done <"$m/addparent.list"
    { sed 's#/[^/]*$##' "$m/removed.list"; cat "$m/addparent.list"; } | LC_ALL=C sort -u >"$m/dirs.list"
    [[ $(wc -l <"$m/modified.list") -eq $N_MOD && $(wc -l <"$m/removed.list") -eq $N_REM &&
        $(wc -l <"$m/added.list") -eq $N_ADD ]] || die "corpus $name: mutation selection failed"
    while IFS= read -r p; do
        [[ ! -e $p ]] || die "corpus $name: $p already exists (stale mutation?)"
    done <"$m/added.list"
    # Remember what restore needs.
    xargs -d '\n' stat -c '%s %.9Y %n' <"$m/modified.list" >"$m/modified.state"
    xargs -d '\n' stat -c '%.9Y %n' <"$m/dirs.list" >"$m/dirs.state"
    touch "$m/active"
    # Apply.
    while IFS= read -r p; do printf 'X' >>"$p"; done <"$m/modified.list"
    k=0
    while IFS= read -r p; do mv -- "$p" "$m/stash/$k"; k=$((k + 1)); done <"$m/removed.list"
    k=0
    while IFS= read -r p; do
        printf 'file added by the vigil benchmark, number %d\n' "$k" >"$p"
        k=$((k + 1))
    done <"$m/added.list"
}

restore() {  # restore NAME -> 0 if nothing to do or verified, 1 on mismatch
    local name=$1 m="$WORK/mutation/$1" root k p size mt
    [[ -f $m/active ]] || return 0
    root=$(cat "$m/root")
    say "corpus $name: restoring after mutation"
    [[ ! -f $m/added.list ]] || while IFS= read -r p; do rm -f -- "$p"; done <"$m/added.list"
    if [[ -f $m/removed.list ]]; then
        k=0
        while IFS= read -r p; do
            [[ ! -e $m/stash/$k ]] || mv -- "$m/stash/$k" "$p"
            k=$((k + 1))
        done <"$m/removed.list"
    fi
    [[ ! -f $m/modified.state ]] || while read -r size mt p; do
        truncate -s "$size" -- "$p"
        touch -m -d "@$mt" -- "$p"
    done <"$m/modified.state"
    [[ ! -f $m/dirs.state ]] || while read -r mt p; do
        touch -m -d "@$mt" -- "$p"
    done <"$m/dirs.state"
    rm -f "$m/active"
    manifest "$root" >"$m/manifest.after"
    if cmp -s "$m/manifest.before" "$m/manifest.after"; then
        say "corpus $name: restore verified (names, inodes, link counts, modes, owners, file sizes, mtimes identical)"
        return 0
    fi
    diff "$m/manifest.before" "$m/manifest.after" | head -n 20 >"$m/manifest.diff" || true
    loud "corpus $name: RESTORE MISMATCH - corpus differs from its pre-mutation manifest" \
        "first differences: $m/manifest.diff"
    return 1
}

REPORT_DONE=0
on_exit() {
    local rc=$? d
    for d in "$WORK"/mutation/*/; do
        [[ -f $d/active ]] || continue
        restore "$(basename "$d")" || true
    done
    # An interrupted or failed run still leaves what it measured.
    if ((REPORT_DONE == 0 && ${#RES[@]} > 0)); then
        PARTIAL="run ended early (exit status $rc); results below are partial"
        LOGDIR=$LOGROOT
        report || true
    fi
}

# classify NAME < "kind<TAB>path" lines; kind in added|removed|changed.
# Prints: added removed changed mod_files mod_dirs added_ok removed_ok other
classify() {
    local m="$WORK/mutation/$1"
    awk -F '\t' -v mf="$m/modified.list" -v df="$m/dirs.list" \
        -v af="$m/added.list" -v rf="$m/removed.list" '
        BEGIN {
            while ((getline l < mf) > 0) M[l] = 1
            while ((getline l < df) > 0) D[l] = 1
            while ((getline l < af) > 0) A[l] = 1
            while ((getline l < rf) > 0) R[l] = 1
        }
        $1 == "added"   { na++; if ($2 in A) aok++; else oth++ }
        $1 == "removed" { nr++; if ($2 in R) rok++; else oth++ }
        $1 == "changed" { nc++; if ($2 in M) mf2++; else if ($2 in D) md++; else oth++ }
        END { printf "%d %d %d %d %d %d %d %d\n", na, nr, nc, mf2, md, aok, rok, oth }'
}

aide_events() {  # aide_events ROOT < report
    awk -v root="$1" '
        /^Added entries:[ \t]*$/   { sec = "added"; next }
        /^Removed entries:[ \t]*$/ { sec = "removed"; next }
        /^Changed entries:[ \t]*$/ { sec = "changed"; next }
        /^Detailed information/ || /^The attributes of/ { sec = ""; next }
        sec != "" { i = index($0, ": " root); if (i > 0) print sec "\t" substr($0, i + 2) }'
}
aide_summary() {  # prints added removed changed from the Summary block
    awk '/^ +Added entries:/ { a = $NF } /^ +Removed entries:/ { r = $NF }
         /^ +Changed entries:/ { c = $NF } END { printf "%d %d %d\n", a, r, c }'
}

vigil_events() {  # JSON Lines -> "kind<TAB>path"
    awk '{
        if (!match($0, /"change"[ ]*:[ ]*"[a-z_]+"/)) next
        c = substr($0, RSTART, RLENGTH); sub(/^"change"[ ]*:[ ]*"/, "", c); sub(/"$/, "", c)
        if (c == "modified") c = "changed"
        p = ""
        if (match($0, /"path"[ ]*:[ ]*"[^"]*"/)) {
            p = substr($0, RSTART, RLENGTH); sub(/^"path"[ ]*:[ ]*"/, "", p); sub(/"$/, "", p)
            gsub(/\\\//, "/", p)
        }
        print c "\t" p
    }'
}

# The human summary vigil prints on stderr, e.g.
# "vigil: check: 4 objects, 1 added, 0 removed, 2 modified, 0 errors in 0.01 s"
vigil_summary() {
    local l
    l=$(grep -E '^vigil: check: ' "$LOGDIR/$1.err" | tail -n 1 || true)
    printf '%s' "${l#vigil: check: }"
}

# verify TOOL NAME COUNTS(8 fields) -> sets VERDICT line, returns 0/1
VERDICT=""
verify_counts() {
    local tool=$1 name=$2 na nr nc mf md aok rok oth nd ok=1
    read -r na nr nc mf md aok rok oth <<<"$3"
    nd=$(wc -l <"$WORK/mutation/$name/dirs.list")
    ((na == N_ADD && nr == N_REM && nc == N_MOD + nd)) || ok=0
    local paths="files: modified $mf/$N_MOD, added $aok/$N_ADD, removed $rok/$N_REM; dirs modified $md/$nd; unexpected paths $oth"
    if ((mf != N_MOD || md != nd || aok != N_ADD || rok != N_REM || oth != 0)); then
        if ((mf + md + aok + rok == 0 && ok)); then
            paths="(no paths in the events; per-path breakdown unavailable)"
        else
            ok=0
        fi
    fi
    if ((ok)); then
        VERDICT="OK: $tool reported added $na, removed $nr, modified $nc (= $N_MOD files + $nd parent directories); $paths"
    else
        VERDICT="MISMATCH: $tool reported added $na, removed $nr, modified $nc; expected $N_ADD, $N_REM, $((N_MOD + nd)) (= $N_MOD files + $nd parent directories); $paths"
    fi
    ((ok))
}

# --------------------------------------------------------------------------
# One corpus
# --------------------------------------------------------------------------
bench_corpus() {
    local name=$1 root stats
    root=$(corpus_path "$name")
    LOGDIR="$LOGROOT/$name"
    mkdir -p "$LOGDIR"
    FOREIGN_MAX=0
    CURRENT=$name
    say "===== corpus $name ($root) ====="
    restore "$name" || die "corpus $name could not be restored; rebuild it"
    stats=$(corpus_stats "$root")
    NOTE["$name|stats"]=$stats
    warm_cache "$root"

    # Machine limits.
    say "$name: find walk (best of $REPEAT)"
    best_of "$REPEAT" walk bash -c 'find "$1" -printf "%i %s %T@ %C@ %m %U %G %n %p\n" >/dev/null' _ "$root"
    record "$name" walk ref
    say "$name: hash limit (openssl sha256, $NPROC processes)"
    run_timed hash bash -c 'find "$1" -type f -print0 | xargs -0 -r -P "$2" -n 2000 openssl dgst -sha256 >/dev/null' _ "$root" "$NPROC"
    record "$name" hash ref

    local aide_ok=0 vigil_ok=0
    local -a ac=()
    # AIDE baseline + unchanged check.
    if ((SKIP_AIDE == 0)); then
        aide_setup "$name" "$root"
        mapfile -t ac < <(aide_cmd "$name")
        rm -f "$WORK/aide-$name/aide.db.new"
        say "$name: aide --init"
        run_timed aide-init "${ac[@]}" --init
        record "$name" init aide
        if ((T_RC == 0)) && [[ -s $WORK/aide-$name/aide.db.new ]]; then
            mv -f "$WORK/aide-$name/aide.db.new" "$WORK/aide-$name/aide.db"
            aide_ok=1
            say "$name: aide --check (no changes)"
            run_timed aide-check "${ac[@]}" --check
            record "$name" check aide
            ((T_RC == 0)) || note "$name" "AIDE check on the unchanged corpus exited $T_RC (see $LOGDIR/aide-check.out)"
            ((T_RC < 14)) || aide_ok=0
        else
            note "$name" "AIDE init failed (exit $T_RC): $(err_tail aide-init)"
            loud "$name: AIDE init failed (exit $T_RC)"
        fi
    fi

    # vigil baseline + unchanged checks.
    if ((VIGIL_OK)); then
        vigil_setup "$name" "$root"
        vigil_base "$name"
        say "$name: vigil init --force"
        run_timed vigil-init "${VIGIL_BASE[@]}" init --force
        record "$name" init vigil
        if ((T_RC == 0)); then
            vigil_ok=1
            say "$name: vigil check (quick, best of $REPEAT)"
            best_of "$REPEAT" vigil-check "${VIGIL_BASE[@]}" check
            record "$name" check vigil
            if ((T_RC != 0)); then
                note "$name" "vigil check on the unchanged corpus exited $T_RC: $(err_tail vigil-check.1)"
                ((T_RC < 14)) || { vigil_ok=0; loud "$name: vigil check failed (exit $T_RC)"; }
            fi
            say "$name: vigil check --full"
            run_timed vigil-check-full "${VIGIL_BASE[@]}" check --full
            record "$name" full vigil
            if ((T_RC != 0)); then
                note "$name" "vigil check --full on the unchanged corpus exited $T_RC: $(err_tail vigil-check-full)"
                ((T_RC < 14)) || loud "$name: vigil check --full failed (exit $T_RC)"
            fi
        else
            note "$name" "vigil init failed (exit $T_RC): $(err_tail vigil-init)"
            loud "$name: vigil init failed (exit $T_RC); stderr in $LOGDIR/vigil-init.err"
        fi
    fi

    ((aide_ok || vigil_ok)) || return 0

    # Mutation, checks against the pre-mutation baselines, restore.
    say "$name: applying mutation ($N_MOD modified, $N_ADD added, $N_REM removed)"
    mutate "$name" "$root"
    NOTE["$name|dirs"]=$(wc -l <"$WORK/mutation/$name/dirs.list")
    if ((aide_ok)); then
        say "$name: aide --check (after mutation)"
        run_timed aide-check-mut "${ac[@]}" --check
        record "$name" mut aide
        if ((T_RC >= 14)); then
            NOTE["$name|verify-aide"]="MISMATCH: AIDE check failed (exit $T_RC)"
        else
            local counts sum
            counts=$(aide_events "$root" <"$LOGDIR/aide-check-mut.out" | classify "$name")
            sum=$(aide_summary <"$LOGDIR/aide-check-mut.out")
            verify_counts AIDE "$name" "$counts" || true
            NOTE["$name|verify-aide"]="$VERDICT (AIDE summary block: added/removed/changed = ${sum// //}; exit $T_RC)"
        fi
        [[ ${NOTE["$name|verify-aide"]} != MISMATCH* ]] || loud "$name: ${NOTE["$name|verify-aide"]}"
    fi
    if ((vigil_ok)); then
        say "$name: vigil check --json (after mutation)"
        run_timed vigil-check-mut "${VIGIL_BASE[@]}" --json check
        record "$name" mut vigil
        local rc1=$T_RC
        if ((rc1 >= 14)); then
            NOTE["$name|verify-vigil"]="MISMATCH: vigil check failed (exit $rc1): $(err_tail vigil-check-mut)"
        else
            verify_counts "vigil check" "$name" "$(vigil_events <"$LOGDIR/vigil-check-mut.out" | classify "$name")" || true
            NOTE["$name|verify-vigil"]="$VERDICT; exit $rc1 (expected 7); summary: $(vigil_summary vigil-check-mut)"
        fi
        say "$name: vigil check --full --json (after mutation)"
        run_timed vigil-check-full-mut "${VIGIL_BASE[@]}" --json check --full
        record "$name" fullmut vigil
        local rc2=$T_RC
        if ((rc2 >= 14)); then
            NOTE["$name|verify-vigil-full"]="MISMATCH: vigil check --full failed (exit $rc2): $(err_tail vigil-check-full-mut)"
        else
            verify_counts "vigil check --full" "$name" "$(vigil_events <"$LOGDIR/vigil-check-full-mut.out" | classify "$name")" || true
            NOTE["$name|verify-vigil-full"]="$VERDICT; exit $rc2 (expected 7), wall ${T_WALL} s; summary: $(vigil_summary vigil-check-full-mut)"
        fi
        local v
        for v in verify-vigil verify-vigil-full; do
            [[ ${NOTE["$name|$v"]} != MISMATCH* ]] || loud "$name: ${NOTE["$name|$v"]}"
        done
    fi
    restore "$name" || NOTE["$name|restore"]="RESTORE MISMATCH: see $WORK/mutation/$name"
}



# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
fmt_s() { [[ -n $1 ]] && awk -v v="$1" 'BEGIN { printf "%.2f s", v }' || printf 'n/a'; }
fmt_mib() { [[ -n $1 ]] && awk -v v="$1" 'BEGIN { printf "%.1f", v / 1024 }' || printf 'n/a'; }
fmt_ratio() {  # fmt_ratio A B -> A/B
    if [[ -n $1 && -n $2 ]] && awk -v b="$2" 'BEGIN { exit !(b > 0) }'; then
        awk -v a="$1" -v b="$2" 'BEGIN { r = a / b; if (r > 0 && r < 1) printf "%.3f (1/%.1f)", r, 1 / r; else printf "%.3f", r }'
    else
        printf 'n/a'
    fi
}
# target LABEL VALUE LIMIT -> "MET"/"NOT MET"/"n/a"
verdict() {
    if [[ -z $1 || -z $2 ]]; then printf 'n/a'; return; fi
    awk -v a="$1" -v b="$2" 'BEGIN { if (a <= b) printf "MET"; else printf "NOT MET" }'
}
mul() { [[ -n $1 ]] && awk -v a="$1" -v f="$2" 'BEGIN { printf "%.3f", a * f }' || true; }
max_rss() {  # max_rss corpus tool ops...
    local c=$1 t=$2 o v best=""; shift 2
    for o in "$@"; do
        v=$(field "$c" "$o" "$t" 3)
        [[ -n $v ]] || continue
        if [[ -z $best ]] || ((v > best)); then best=$v; fi
    done
    printf '%s' "$best"
}

row() {  # row LABEL corpus op_aide op_vigil
    local label=$1 c=$2 oa=$3 ov=$4
    local aw ac am vw vc vm
    aw=$(field "$c" "$oa" aide 1); ac=$(field "$c" "$oa" aide 2); am=$(field "$c" "$oa" aide 3)
    vw=$(field "$c" "$ov" vigil 1); vc=$(field "$c" "$ov" vigil 2); vm=$(field "$c" "$ov" vigil 3)
    local acs ams
    acs=$(fmt_s "$ac"); ams=$(fmt_mib "$am")
    if [[ $ov == full ]]; then acs="—" ams="—"; fi
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" \
        "$(fmt_s "$aw")" "$acs" "$ams" \
        "$(fmt_s "$vw")" "$(fmt_s "$vc")" "$(fmt_mib "$vm")" "$(fmt_ratio "$vw" "$aw")"
}
ref_row() {
    local label=$1 c=$2 op=$3
    printf '| %s | — | — | — | %s | %s | %s | — |\n' "$label" \
        "$(fmt_s "$(field "$c" "$op" ref 1)")" "$(fmt_s "$(field "$c" "$op" ref 2)")" \
        "$(fmt_mib "$(field "$c" "$op" ref 3)")"
}

report() {
    local c st
    {
        echo "# vigil vs AIDE benchmark"
        echo
        [[ -z $PARTIAL ]] || { echo "**$PARTIAL**"; echo; }
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), run id $RUN_ID, logs in \`$LOGROOT\`"
        echo "- machine: $NPROC cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r), filesystem $(findmnt -no FSTYPE -T "$WORK" 2>/dev/null || echo '?')"
        echo "- AIDE: $(aide --version 2>&1 | head -n1), \`--workers=$NPROC\`, attributes \`$(aide_attrs)\`, \`database_attrs=sha256\`, uncompressed database"
        if ((VIGIL_OK)); then
            echo "- vigil: \`$VIGIL_SRC\` ($("$VIGIL" --version 2>/dev/null | head -n1 || echo 'version unknown'), sha256 $VIGIL_SUM..., run from a private copy), default attributes, rule \`<corpus>/**\`"
        else
            echo "- vigil: not run (${VIGIL_SKIP_REASON:-skipped}); vigil columns are n/a"
        fi
        echo "- page cache warmed (every file read once) before each corpus; one run per measurement, best of $REPEAT for the find walk and vigil quick check"
        echo
        for c in "${CORPUS_LIST[@]}"; do
            st=${NOTE["$c|stats"]:-}
            [[ -n $st ]] || continue
            local n f d l o b nd
            read -r n f d l o b <<<"$st"
            nd=${NOTE["$c|dirs"]:-?}
            echo "## Corpus \`$c\`"
            echo
            echo "Other processes used at most ${NOTE["$c|other"]:-?}% of the machine's CPU during any timed run on this corpus (per-run figures in timings.log)."
            if ((${NOTE["$c|other"]:-0} > 10)); then
                echo
                echo "**WARNING: other work was running during these measurements; treat the numbers as noisy and rerun on an idle machine (or with --wait-idle).**"
            fi
            echo
            echo "$n entries: $f regular files ($(awk -v b="$b" 'BEGIN { printf "%.2f GB", b / 1e9 }')), $d directories, $l symlinks, $o other."
            echo
            echo "| operation | AIDE wall | AIDE CPU | AIDE peak RSS (MiB) | vigil wall | vigil CPU | vigil peak RSS (MiB) | vigil/AIDE wall |"
            echo "|---|---:|---:|---:|---:|---:|---:|---:|"
            row "init (baseline creation)" "$c" init init
            row "check, no changes (vigil: quick)" "$c" check check
            row "check after mutation (vigil: quick, --json)" "$c" mut mut
            row "vigil check --full, no changes (ratio vs AIDE check)" "$c" check full
            ref_row "hash limit: openssl sha256 of all files, $NPROC procs" "$c" hash
            ref_row "find walk: find -printf (inode,size,mtime,ctime,mode,uid,gid,nlink,path)" "$c" walk
            echo
            echo "CPU = user + system time.  The two limit rows are reference commands, not tools; their numbers sit in the vigil columns."
            echo
            if [[ $nd != "?" ]]; then
                echo "Mutation: $N_MOD regular files appended to (one byte), $N_ADD regular files added, $N_REM regular files removed."
                echo "Adding/removing files also changes the mtime/ctime of their $nd distinct parent directories, so the expected"
                echo "\"modified\" count is $N_MOD files + $nd directories = $((N_MOD + nd)); added and removed counts are regular files only."
                echo
            fi
            [[ -z ${NOTE["$c|verify-aide"]:-} ]] || echo "- ${NOTE["$c|verify-aide"]}"
            [[ -z ${NOTE["$c|verify-vigil"]:-} ]] || echo "- ${NOTE["$c|verify-vigil"]}"
            [[ -z ${NOTE["$c|verify-vigil-full"]:-} ]] || echo "- ${NOTE["$c|verify-vigil-full"]}"
            [[ -z ${NOTE["$c|restore"]:-} ]] || echo "- ${NOTE["$c|restore"]}"
            if [[ -n ${NOTE["$c"]:-} ]]; then
                echo
                echo "Notes:"
                echo
                printf '%s' "${NOTE["$c"]}" | sed 's/^/    /'
            fi
            echo
            local ai vi ach vch vf hw ww ar vr
            ai=$(field "$c" init aide 1); vi=$(field "$c" init vigil 1)
            ach=$(field "$c" check aide 1); vch=$(field "$c" check vigil 1)
            vf=$(field "$c" full vigil 1)
            hw=$(field "$c" hash ref 1); ww=$(field "$c" walk ref 1)
            ar=$(max_rss "$c" aide init check mut); vr=$(max_rss "$c" vigil init check mut full)
            echo "Targets ($c):"
            echo
            echo "- vigil init <= 1/4 AIDE init: $(fmt_s "$vi") vs $(fmt_s "$(mul "$ai" 0.25)") -> $(verdict "$vi" "$(mul "$ai" 0.25)")"
            echo "- vigil init <= 1.5 x hash limit: $(fmt_s "$vi") vs $(fmt_s "$(mul "$hw" 1.5)") -> $(verdict "$vi" "$(mul "$hw" 1.5)")"
            echo "- vigil check (quick, no changes) <= 1/20 AIDE check: $(fmt_s "$vch") vs $(fmt_s "$(mul "$ach" 0.05)") -> $(verdict "$vch" "$(mul "$ach" 0.05)")"
            echo "- vigil check (quick, no changes) <= 2 x find walk: $(fmt_s "$vch") vs $(fmt_s "$(mul "$ww" 2)") -> $(verdict "$vch" "$(mul "$ww" 2)")"
            echo "- vigil check --full <= 1/4 AIDE check: $(fmt_s "$vf") vs $(fmt_s "$(mul "$ach" 0.25)") -> $(verdict "$vf" "$(mul "$ach" 0.25)")"
            echo "- vigil peak RSS <= AIDE peak RSS (max over all runs on this corpus): $(fmt_mib "$vr") MiB vs $(fmt_mib "$ar") MiB -> $(verdict "$vr" "$ar")"
            echo
        done
        local smalls=() s
        for s in "${CORPUS_LIST[@]}"; do [[ $s == small-* ]] && smalls+=("$s"); done
        if ((${#smalls[@]} > 1)); then
            echo "## Memory growth with corpus size"
            echo
            echo "| corpus | files | AIDE peak RSS (MiB) | vigil peak RSS (MiB) |"
            echo "|---|---:|---:|---:|"
            for s in "${smalls[@]}"; do
                local st2=${NOTE["$s|stats"]:-} f2=""
                [[ -z $st2 ]] || f2=$(awk '{ print $2 }' <<<"$st2")
                echo "| $s | ${f2:-n/a} | $(fmt_mib "$(max_rss "$s" aide init check mut)") | $(fmt_mib "$(max_rss "$s" vigil init check mut full)") |"
            done
            local first=${smalls[0]} last=${smalls[-1]}
            echo
            echo "vigil peak RSS $last / $first: $(fmt_ratio "$(max_rss "$last" vigil init check mut full)" "$(max_rss "$first" vigil init check mut full)"); AIDE: $(fmt_ratio "$(max_rss "$last" aide init check mut)" "$(max_rss "$first" aide init check mut)")"
            echo
        fi
    } >"$RESULTS.tmp"
    mv "$RESULTS.tmp" "$RESULTS"
    cp "$RESULTS" "$LOGROOT/results.md"
    cat "$RESULTS"
}

# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------
main() {
    # One run at a time per work directory: runs mutate the shared corpora.
    exec 9>"$WORK/.lock"
    flock -n 9 || die "another run is using $WORK (lock $WORK/.lock)"

    ensure_packages
    trap on_exit EXIT
    trap 'exit 130' INT TERM

    VIGIL_SKIP_REASON=""
    if ((SKIP_VIGIL)); then
        VIGIL_SKIP_REASON="--skip-vigil"
    elif [[ ! -x $VIGIL ]]; then
        VIGIL_SKIP_REASON="no executable at $VIGIL"
        say "NOTE: vigil binary not found at $VIGIL; vigil columns will be skipped"
    elif ! "$VIGIL" --help >"$LOGROOT/vigil-help.out" 2>&1; then
        VIGIL_SKIP_REASON="'$VIGIL --help' failed"
        say "NOTE: '$VIGIL --help' failed; vigil columns will be skipped:"
        tail -n 5 "$LOGROOT/vigil-help.out" >&2 || true
    else
        # Work on a private copy: a rebuild of the original during the run
        # would otherwise mix two builds (baseline from one, check from the
        # other).
        VIGIL_SRC=$VIGIL
        rm -f "$WORK"/bin/vigil.*
        cp "$VIGIL_SRC" "$WORK/bin/vigil.$RUN_ID"
        VIGIL="$WORK/bin/vigil.$RUN_ID"
        VIGIL_SUM=$(sha256sum "$VIGIL" | cut -c1-16)
        VIGIL_OK=1
    fi
    if ((SKIP_AIDE == 0)); then aide_detect_attrs; fi

    # Undo any mutation left behind by an interrupted run, then build corpora.
    local c
    for c in "${CORPUS_LIST[@]}"; do
        if [[ -f $WORK/mutation/$c/active ]]; then
            restore "$c" || die "corpus $c could not be restored; delete $(corpus_path "$c") to rebuild it"
        fi
    done
    for c in "${CORPUS_LIST[@]}"; do build_corpus "$c"; done

    for c in "${CORPUS_LIST[@]}"; do bench_corpus "$c"; done

    LOGDIR=$LOGROOT
    report
    REPORT_DONE=1
}

# The whole of main is parsed before it runs, so editing this file during a
# run cannot change what the run executes.
main "$@"; exit $?

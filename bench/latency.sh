#!/usr/bin/env bash
# Real-time detection benchmark: vigil's daemon versus Samhain in inotify mode,
# on the same workloads.  See bench/README.md ("Real-time detection") for what
# is measured and why.
#
# Usage: sudo bash bench/latency.sh [--quick] [--vigil PATH] [--work DIR]
#                                   [--vigil-mode auto|fanotify|inotify]
#                                   [--phases LIST] [--wait-idle S]
#                                   [--skip-vigil] [--skip-samhain]
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)

VIGIL="$REPO_ROOT/build/release/vigil"
WORK=/var/tmp/vigil-bench-lat
QUICK=0
SKIP_VIGIL=0
SKIP_SAMHAIN=0
VIGIL_MODE=auto
PHASES=latency,lowrate,idle,burst,memory
WAIT_IDLE=0
NPROC=$(nproc)
CLK_TCK=$(getconf CLK_TCK)

usage() {
    cat <<'EOF'
Usage: sudo bash bench/latency.sh [options]

  --quick               short runs and a 100,000-file memory corpus (smoke test)
  --vigil PATH          vigil binary (default: <repo>/build/release/vigil)
  --work DIR            work directory: trees, corpora, states, logs, results
                        (default: /var/tmp/vigil-bench-lat)
  --vigil-mode MODE     [daemon] mode for vigil: auto, fanotify or inotify
                        (default: auto)
  --phases LIST         comma-separated subset of
                        latency,lowrate,idle,burst,memory (default: all)
  --wait-idle SECONDS   before each measurement on the live tree, wait up to
                        SECONDS for the rest of the machine to be idle
                        (< 10% of the CPUs busy over 5 s); default 0
  --skip-vigil          do not run vigil
  --skip-samhain        do not run Samhain
  -h, --help            this text
EOF
}

die() { printf 'latency.sh: error: %s\n' "$*" >&2; exit 1; }
say() { printf '[latency %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
loud() {
    printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
    printf '!!! %s\n' "$@" >&2
    printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n' >&2
}

while (($#)); do
    case $1 in
        --quick) QUICK=1; shift ;;
        --vigil) VIGIL=${2:?--vigil needs a path}; shift 2 ;;
        --vigil=*) VIGIL=${1#*=}; shift ;;
        --work) WORK=${2:?--work needs a directory}; shift 2 ;;
        --work=*) WORK=${1#*=}; shift ;;
        --vigil-mode) VIGIL_MODE=${2:?--vigil-mode needs a mode}; shift 2 ;;
        --vigil-mode=*) VIGIL_MODE=${1#*=}; shift ;;
        --phases) PHASES=${2:?--phases needs a list}; shift 2 ;;
        --phases=*) PHASES=${1#*=}; shift ;;
        --wait-idle) WAIT_IDLE=${2:?--wait-idle needs seconds}; shift 2 ;;
        --wait-idle=*) WAIT_IDLE=${1#*=}; shift ;;
        --skip-vigil) SKIP_VIGIL=1; shift ;;
        --skip-samhain) SKIP_SAMHAIN=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

case $VIGIL_MODE in auto|fanotify|inotify) ;; *) die "--vigil-mode must be auto, fanotify or inotify" ;; esac
[[ $WAIT_IDLE =~ ^[0-9]+$ ]] || die "--wait-idle must be a number of seconds"
IFS=', ' read -r -a PHASE_LIST <<<"$PHASES"
for p in "${PHASE_LIST[@]}"; do
    case $p in latency|lowrate|idle|burst|memory) ;; *) die "unknown phase '$p'" ;; esac
done
want() { [[ ",$PHASES," == *",$1,"* ]]; }

[[ $EUID -eq 0 ]] || die "must run as root: both daemons watch the file system (fanotify needs CAP_SYS_ADMIN) and Samhain's configuration is bind-mounted"

# --------------------------------------------------------------------------
# Workload sizes
# --------------------------------------------------------------------------
LAT_RATE=1000          # monitored changes per second
LAT_FILES=2000         # files cycled over: each is rewritten every LAT_FILES/LAT_RATE s
NOISE_RATE=20000       # unmonitored file operations per second
LOW_RATE=10            # the low-rate run: changes per second, no noise
LOST_MS=5000           # a change without a record within this time is lost
if ((QUICK)); then
    LAT_SECONDS=10; LOW_SECONDS=10; IDLE_SECONDS=15
    BURST=10000; BURST_TIMEOUT=120
    CORPUS_FILES=100000; CORPUS_DIRS=(100 10000)
else
    LAT_SECONDS=60; LOW_SECONDS=30; IDLE_SECONDS=60
    BURST=100000; BURST_TIMEOUT=900
    CORPUS_FILES=1000000; CORPUS_DIRS=(1000 100000)
fi
READY_TIMEOUT=3600     # daemon start-up on the largest corpus
QUIET_S=5              # a record stream is settled after this long without growth
QUIET_MAX=240          # ... or after this long in any case
IDLE_TRIES=5           # idle windows at most (the quietest is kept)
STALL_S=120            # burst: stop waiting after this long without progress while the daemon idles

# --------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------
[[ $VIGIL == /* ]] || VIGIL="$PWD/$VIGIL"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd -P)
case "$WORK/" in
    "$(cd "$REPO_ROOT" && pwd -P)/"*) die "--work must be outside the repository ($REPO_ROOT)" ;;
esac
[[ $WORK != / ]] || die "--work must not be /"

RUN_ID=$(date +%Y%m%d-%H%M%S)
LOGROOT="$WORK/logs/$RUN_ID"
TREE="$WORK/tree"               # the live tree of the latency, low-rate, idle and burst phases
STATE="$WORK/state"             # databases, rebuilt for every phase that needs one
mkdir -p "$WORK/bin" "$WORK/corpus" "$STATE" "$LOGROOT"
RESULTS="$WORK/results.md"
W="$WORK/bin/latency-writer"

declare -A R=()                 # results: R[tool|key]
declare -A NOTE=()              # notes:   NOTE[tool]
note() { NOTE[$1]+="$2"$'\n'; say "$1: $2"; }
PIDS_TO_STOP=()
DPID=""; CPID=""; REC_FILE=""; PHASE_NAME=""; LOGDIR=$LOGROOT

now_ns() { date +%s%N; }
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }

# --------------------------------------------------------------------------
# Packages and tools
# --------------------------------------------------------------------------
ensure_packages() {
    local need=()
    command -v samhain >/dev/null 2>&1 || ((SKIP_SAMHAIN)) || need+=(samhain)
    command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
    command -v jq >/dev/null 2>&1 || need+=(jq)
    command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
    command -v unshare >/dev/null 2>&1 || need+=(util-linux)
    [[ -x /usr/bin/time ]] || need+=(time)
    export DEBIAN_FRONTEND=noninteractive
    if ((${#need[@]})); then
        say "installing packages: ${need[*]}"
        # Samhain's package starts a system-wide daemon; keep it from doing so.
        local prc=/usr/sbin/policy-rc.d added_prc=0
        if [[ ! -e $prc ]]; then
            printf '#!/bin/sh\nexit 101\n' >"$prc"; chmod 755 "$prc"; added_prc=1
        fi
        apt-get install -y "${need[@]}" >&2 ||
            { apt-get update >&2 && apt-get install -y "${need[@]}" >&2; } ||
            { ((added_prc)) && rm -f "$prc"; die "could not install: ${need[*]}"; }
        ((added_prc)) && rm -f "$prc"
    fi
    if command -v samhain >/dev/null 2>&1 && pgrep -x samhain >/dev/null 2>&1; then
        say "note: a samhain process is already running (pids $(pgrep -x samhain | tr '\n' ' ')); it is left alone"
    fi
}

build_writer() {
    local src="$SCRIPT_DIR/latency-writer.c"
    if [[ ! -x $W || $src -nt $W ]]; then
        cc -O2 -Wall -Wextra -o "$W.tmp" "$src" || die "could not compile $src"
        mv "$W.tmp" "$W"
    fi
}

# --------------------------------------------------------------------------
# Process accounting
# --------------------------------------------------------------------------
proc_tree() {  # a pid and its live descendants
    local p=$1 c
    [[ -n $p && -d /proc/$p ]] || return 0
    printf '%s\n' "$p"
    for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do proc_tree "$c"; done
}
# CPU time (ms) of a daemon: user + system of the process and its live
# children, plus what its reaped children used.
cpu_ms() {
    local p first=1 ticks=0 t
    for p in $(proc_tree "$1"); do
        if ((first)); then
            t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' /proc/"$p"/stat 2>/dev/null || echo 0)
            first=0
        else
            t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' /proc/"$p"/stat 2>/dev/null || echo 0)
        fi
        ticks=$((ticks + t))
    done
    echo $((ticks * 1000 / CLK_TCK))
}
# CPU time (ns) of all live threads of the process tree, from schedstat:
# finer than the 10 ms ticks of /proc/PID/stat, used for the idle windows.
cpu_sched_ns() {
    local p n=0 v
    for p in $(proc_tree "$1"); do
        v=$(cat /proc/"$p"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }')
        n=$((n + ${v:-0}))
    done
    echo "$n"
}
# Voluntary context switches (sleeps, i.e. wake-ups) of all threads of the
# process tree.
vcsw() {
    local p n=0 v
    for p in $(proc_tree "$1"); do
        v=$(cat /proc/"$p"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ { s += $2 } END { print s + 0 }')
        n=$((n + v))
    done
    echo "$n"
}
mem_kb() {  # mem_kb PID VmRSS|VmHWM
    awk -v k="$2:" '$1 == k { print $2 }' /proc/"$1"/status 2>/dev/null || true
}
helper_rss_kb() {  # RSS of the children of a daemon (Samhain keeps a helper process)
    local p s=0 v
    for p in $(proc_tree "$1" | tail -n +2); do
        v=$(mem_kb "$p" VmRSS); s=$((s + ${v:-0}))
    done
    echo "$s"
}
machine_busy() {  # "busy total" jiffies from /proc/stat
    awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}

# Share (%) of the machine's CPU used by processes other than the given
# process trees over the last SECONDS: others_busy SECONDS PID...
others_busy() {
    local secs=$1 p b0 t0 b1 t1 c0=0 c1=0; shift
    read -r b0 t0 < <(machine_busy)
    for p in "$@"; do c0=$((c0 + $(cpu_ms "$p"))); done
    sleep "$secs"
    read -r b1 t1 < <(machine_busy)
    for p in "$@"; do c1=$((c1 + $(cpu_ms "$p"))); done
    awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) -v c=$((c1 - c0)) -v hz="$CLK_TCK" \
        'BEGIN { v = t > 0 ? 100 * (b - c * hz / 1000) / t : 0; if (v < 0) v = 0; printf "%.0f", v }'
}
# wait_idle LABEL PID...: with --wait-idle, wait until the rest of the machine
# is idle (under 10% busy over 5 s), at most WAIT_IDLE seconds.
wait_idle() {
    local label=$1 waited=0 busy; shift
    ((WAIT_IDLE > 0)) || return 0
    while :; do
        busy=$(others_busy 5 "$@")
        ((busy >= 10)) || break
        waited=$((waited + 5))
        if ((waited >= WAIT_IDLE)); then
            note "$TOOL" "$label: the rest of the machine was still ${busy}% busy after waiting ${WAIT_IDLE} s; measured anyway"
            return 0
        fi
        ((waited % 60)) || say "$TOOL: $label: waiting for the machine to be idle (others ${busy}% busy)"
    done
    ((waited == 0)) || say "$TOOL: $label: waited ${waited} s for the machine to be idle"
}
# sampler OUT PID...: once a second, "<ns> <machine busy> <machine total>
# <cpu ms of each PID's tree>..." until killed.
sampler() {
    local out=$1 p line; shift
    while :; do
        line="$(now_ns) $(machine_busy)"
        for p in "$@"; do line+=" $(cpu_ms "$p")"; done
        printf '%s\n' "$line" >>"$out"
        sleep 1
    done
}

stop_pid() {  # stop_pid PID [signal]
    local p=$1 sig=${2:-TERM} i
    [[ -n $p ]] || return 0
    kill -"$sig" "$p" 2>/dev/null || return 0
    for ((i = 0; i < 300; i++)); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$p" 2>/dev/null; then
        say "pid $p did not stop within 30 s; killing it"
        kill -KILL "$p" 2>/dev/null || true
    fi
    wait "$p" 2>/dev/null || true
}

on_exit() {
    local rc=$? p
    for p in "${PIDS_TO_STOP[@]}"; do stop_pid "$p"; done
    if ((rc != 0)) && [[ -z ${REPORT_DONE:-} ]]; then
        say "interrupted (exit $rc); writing the partial report"
        PARTIAL="PARTIAL RESULTS: the run stopped early (exit $rc)"
        report || true
    fi
}

# Wait until FILE has not grown for QUIET_S seconds (at most QUIET_MAX s).
wait_quiet() {
    local f=$1 last=-1 same=0 t=0 sz
    while ((t < QUIET_MAX * 2)); do
        sz=$(stat -c %s "$f" 2>/dev/null || echo 0)
        if [[ $sz == "$last" ]]; then
            same=$((same + 1))
            ((same < QUIET_S * 2)) || return 0
        else
            same=0; last=$sz
        fi
        sleep 0.5; t=$((t + 1))
    done
    return 1
}

# --------------------------------------------------------------------------
# Trees and corpora
# --------------------------------------------------------------------------
make_tree() {
    rm -rf "$TREE"
    mkdir -p "$TREE/burst" "$TREE/noise"
    "$W" prepare "$TREE/mon" "$LAT_FILES"
    "$W" prepare "$TREE/low" $((LOW_RATE * LOW_SECONDS))
}
tree_dirs() {  # directories of the live tree that a tool has to watch
    find "$TREE" -path "$TREE/noise" -prune -o -type d -print | wc -l
}

corpus_name() { printf 'files-%s-dirs-%s' "$1" "$2"; }
build_corpus() {  # build_corpus NFILES NDIRS
    local name dst
    name=$(corpus_name "$1" "$2"); dst="$WORK/corpus/$name"
    if [[ -d $dst && -f $dst.complete ]]; then
        say "corpus $name: reusing $dst"
        return 0
    fi
    say "corpus $name: creating $1 files in $2 directories (once)"
    rm -rf "$dst" "$dst.complete"
    "$W" corpus "$dst" "$1" "$2" >&2
    touch "$dst.complete"
}

# --------------------------------------------------------------------------
# vigil
# --------------------------------------------------------------------------
# vigil_setup NAME ROOT [EXCLUDE] [QUICK_INTERVAL]: settings, rules and an empty
# state for one phase; sets V (the command prefix) and VDIR.
vigil_setup() {
    local name=$1 root=$2 excl=${3:-} qi=${4:-86400}
    VDIR="$STATE/vigil-$name"
    rm -rf "$VDIR"
    mkdir -p "$VDIR/state" "$VDIR/run" "$VDIR/rules"
    cat >"$VDIR/vigil.conf" <<EOF
[vigil]
host_name = bench
state_dir = $VDIR/state

[daemon]
mode = $VIGIL_MODE
runtime_dir = $VDIR/run
quick_interval = $qi
full_interval = 604800
EOF
    {
        printf '%s/**\n' "$root"
        [[ -z $excl ]] || printf '!%s/**\n' "$excl"
    } >"$VDIR/rules/bench.rules"
    V=("$VIGIL" --config "$VDIR/vigil.conf" --rules "$VDIR/rules" --state-dir "$VDIR/state" --runtime-dir "$VDIR/run")
}

timed() {  # timed LOGNAME CMD...: runs CMD under /usr/bin/time; sets T_WALL T_KB T_RC
    local log=$1; shift
    T_RC=0
    /usr/bin/time -o "$LOGDIR/$log.time" -f '%e %M' "$@" >"$LOGDIR/$log.out" 2>"$LOGDIR/$log.err" || T_RC=$?
    read -r T_WALL T_KB <"$LOGDIR/$log.time" || true
    T_WALL=${T_WALL:-}; T_KB=${T_KB:-}
}

vigil_start() {  # sets DPID, T_READY_S; returns 1 if the daemon did not become ready
    local t0
    t0=$(now_ns)
    "${V[@]}" daemon >"$LOGDIR/daemon.out" 2>"$LOGDIR/daemon.err" &
    DPID=$!
    PIDS_TO_STOP+=("$DPID")
    local deadline=$((SECONDS + READY_TIMEOUT))
    while ((SECONDS < deadline)); do
        if ! kill -0 "$DPID" 2>/dev/null; then
            wait "$DPID" 2>/dev/null; local rc=$?
            note vigil "$PHASE_NAME: the daemon exited (status $rc) before it was ready: $(tail -n 3 "$LOGDIR/daemon.err" | tr '\n' ' ')"
            DPID=""
            return 1
        fi
        # Ready: status answers (exit 0) and, where the daemon reports it,
        # says that its start check is done.
        if "${V[@]}" --json status >"$LOGDIR/status-poll.json" 2>/dev/null &&
            [[ $(jq -r 'if has("ready") then .ready else true end' "$LOGDIR/status-poll.json" 2>/dev/null) == true ]]; then
            T_READY_S=$(ms_between "$t0" "$(now_ns)" | awk '{ printf "%.2f", $1 / 1000 }')
            "${V[@]}" status >"$LOGDIR/status-ready.txt" 2>&1 || true
            "${V[@]}" --json status >"$LOGDIR/status-ready.json" 2>&1 || true
            return 0
        fi
        sleep 0.1
    done
    note vigil "$PHASE_NAME: the daemon was not ready after ${READY_TIMEOUT} s"
    return 1
}
vigil_stop() {
    [[ -n ${DPID:-} ]] || return 0
    "${V[@]}" status >"$LOGDIR/status-end.txt" 2>&1 || true
    "${V[@]}" --json status >"$LOGDIR/status-end.json" 2>&1 || true
    R["vigil|$PHASE_NAME.end_status"]=$(jq -r '"mode \(.mode), \(.events) events read, \(.overflows) overflows, \(.resolve_failures) resolve failures, \(.rescans) rescans, \(.gaps) gaps, \(.changes) changes, \(.errors) errors"' "$LOGDIR/status-end.json" 2>/dev/null || true)
    kill -0 "$DPID" 2>/dev/null || note vigil "$PHASE_NAME: the daemon was no longer running at the end of the phase: $(tail -n 3 "$LOGDIR/daemon.err" | tr '\n' ' ')"
    stop_pid "$DPID"
    DPID=""
}
vigil_collect_start() {
    "$W" follow "$LOGDIR/follow.stamped" "${V[@]}" changes --follow --json 2>"$LOGDIR/follow.err" &
    CPID=$!
    PIDS_TO_STOP+=("$CPID")
    sleep 1
    REC_FILE="$LOGDIR/follow.stamped"
}
vigil_collect_stop() { stop_pid "$CPID"; CPID=""; }
# "<ns> <path>" per stored change: detection time from the changes table.
vigil_records_db() {
    sqlite3 -readonly "$VDIR/state/vigil.db" \
        "SELECT detected_ns || ' ' || coalesce(json_extract(event, '\$.\"file.path\"'), json_extract(event, '\$.file.path')) FROM changes;" 2>>"$LOGDIR/sqlite.err" |
        awk 'NF >= 2'
}
# "<ns> <path>" per change line received on `vigil changes --follow --json`.
vigil_records_follow() {
    jq -R -r 'capture("^(?<ns>[0-9]+) (?<j>.*)$") as $c
              | (try ($c.j | fromjson) catch null) as $e
              | select($e | type == "object")
              | (try ($e["file.path"] // $e.file.path) catch null) as $p
              | select($p != null)
              | "\($c.ns) \($p)"' "$LOGDIR/follow.stamped" 2>>"$LOGDIR/jq.err" || true
}
vigil_burst_count() {  # distinct burst paths stored so far
    sqlite3 -readonly "$VDIR/state/vigil.db" \
        "SELECT count(DISTINCT p) FROM (SELECT coalesce(json_extract(event, '\$.\"file.path\"'), json_extract(event, '\$.file.path')) AS p FROM changes WHERE detected_ns >= $1) WHERE p LIKE '$TREE/burst/%';" 2>/dev/null |
        tail -n1 || echo 0
}
daemon_events() {  # file-system events the daemon has read so far (vigil only)
    [[ $TOOL == vigil ]] || return 0
    "${V[@]}" --json status 2>/dev/null | jq -r '.events // empty' 2>/dev/null || true
}

# --------------------------------------------------------------------------
# Samhain
# --------------------------------------------------------------------------
# Samhain reads its configuration from a compiled-in path
# (/etc/samhain/samhainrc).  Each run gets its own file, bind-mounted over
# that path in a private mount namespace, so the system's configuration is
# never touched.  Database, log and lock file are in the phase's directory.
# Usage: "${SAMHAIN_NS[@]}" RC CMD...
SAMHAIN_NS=(unshare -m --propagation private -- sh -c 'mount --bind "$0" /etc/samhain/samhainrc && exec "$@"')
# samhain_setup NAME ROOT [EXCLUDE] [FILECHECK_S]: sets SDIR, SRC (config), SLOG
samhain_setup() {
    local name=$1 root=$2 excl=${3:-} fct=${4:-315360000}
    SDIR="$STATE/samhain-$name"
    rm -rf "$SDIR"
    mkdir -p "$SDIR"
    SRC="$SDIR/samhainrc"; SLOG="$SDIR/samhain.log"
    {
        echo "[ReadOnly]"
        echo "dir = 99$root"
        if [[ -n $excl ]]; then
            echo "[IgnoreAll]"
            echo "dir = -1$excl"
        fi
        cat <<EOF
[Log]
LogSeverity = info
PrintSeverity = none
SyslogSeverity = none
MailSeverity = none
ExportSeverity = none
ExternalSeverity = none
DatabaseSeverity = none
PreludeSeverity = none
[Utmp]
LoginCheckActive = no
[SuidCheck]
SuidCheckActive = no
[ProcessCheck]
ProcessCheckActive = no
[PortCheck]
PortCheckActive = no
[Mounts]
MountCheckActive = no
[Misc]
Daemon = no
ChecksumTest = check
SetFileCheckTime = $fct
ReportOnlyOnce = no
SetDatabasePath = $SDIR/samhain_file
SetLogfilePath = $SLOG
SetLockfilePath = $SDIR/samhain.pid
[Inotify]
InotifyActive = yes
[EOF]
EOF
    } >"$SRC"
}
samhain_watches() {  # inotify watches held by the daemon
    local p f n=0 c
    for p in $(proc_tree "$1"); do
        for f in /proc/"$p"/fdinfo/*; do
            c=$(grep -c '^inotify wd' "$f" 2>/dev/null || true)
            n=$((n + ${c:-0}))
        done
    done
    echo "$n"
}
samhain_completed() { local n; n=$(grep -c 'msg=<File check completed' "$SLOG" 2>/dev/null); echo "${n:-0}"; }
samhain_start() {  # samhain_start EXPECTED_WATCHES; sets DPID, T_READY_S
    local want=$1 t0
    rm -f "$SLOG"
    t0=$(now_ns)
    "${SAMHAIN_NS[@]}" "$SRC" samhain -t check --foreground --forever >"$LOGDIR/daemon.out" 2>&1 &
    DPID=$!
    PIDS_TO_STOP+=("$DPID")
    # Ready: the start-up file check has completed and the inotify watches
    # are in place.
    local deadline=$((SECONDS + READY_TIMEOUT))
    while ((SECONDS < deadline)); do
        if ! kill -0 "$DPID" 2>/dev/null; then
            note samhain "$PHASE_NAME: samhain exited before it was ready: $(grep -v '^[0-9A-F]*$' "$SLOG" 2>/dev/null | tail -n 3 | tr '\n' ' ')"
            DPID=""
            return 1
        fi
        if (($(samhain_completed) >= 1)) && (($(samhain_watches "$DPID") >= want)); then
            T_READY_S=$(ms_between "$t0" "$(now_ns)" | awk '{ printf "%.2f", $1 / 1000 }')
            return 0
        fi
        sleep 0.1
    done
    note samhain "$PHASE_NAME: not ready after ${READY_TIMEOUT} s ($(samhain_watches "$DPID") of $want watches)"
    return 1
}
samhain_stop() {
    [[ -n ${DPID:-} ]] || return 0
    kill -0 "$DPID" 2>/dev/null || note samhain "$PHASE_NAME: samhain was no longer running at the end of the phase"
    stop_pid "$DPID"
    DPID=""
}
samhain_collect_start() {
    # Samhain's log has one-second time stamps: each line is stamped when it
    # appears in the log instead (inotify on the log file).
    "$W" tail "$SLOG" >"$LOGDIR/log.stamped" 2>"$LOGDIR/tail.err" &
    CPID=$!
    PIDS_TO_STOP+=("$CPID")
    local i
    for ((i = 0; i < 50; i++)); do
        grep -q following "$LOGDIR/tail.err" 2>/dev/null && break
        sleep 0.1
    done
    REC_FILE="$LOGDIR/log.stamped"
}
samhain_collect_stop() { stop_pid "$CPID"; CPID=""; }
samhain_records() {  # "<ns> <path>" per policy report (modified, added, removed)
    sed -nE 's/^([0-9]+) [A-Z]+ +: +\[[^]]*\] msg=<POLICY [^>]*>, path=<([^>]*)>.*/\1 \2/p' "$LOGDIR/log.stamped"
}
samhain_burst_count() {
    grep -F "path=<$TREE/burst/" "$LOGDIR/log.stamped" 2>/dev/null |
        sed -nE 's/.*path=<([^>]*)>.*/\1/p' | sort -u | wc -l
}

# --------------------------------------------------------------------------
# Phases (same code for both tools; tool-specific steps dispatch on $TOOL)
# --------------------------------------------------------------------------
t_init() {
    case $TOOL in
        vigil) timed init "${V[@]}" init -q ;;
        samhain) rm -f "$SDIR/samhain_file"; timed init "${SAMHAIN_NS[@]}" "$SRC" samhain -t init --foreground ;;
    esac
}
t_start() { case $TOOL in vigil) vigil_start ;; samhain) samhain_start "$1" ;; esac; }
t_stop() { case $TOOL in vigil) vigil_stop ;; samhain) samhain_stop ;; esac; }
t_collect_start() { case $TOOL in vigil) vigil_collect_start ;; samhain) samhain_collect_start ;; esac; }
t_collect_stop() { case $TOOL in vigil) vigil_collect_stop ;; samhain) samhain_collect_stop ;; esac; }

# match WRITES RECORDS PREFIX: stores p50/p90/p99/max/lost/... under R[$TOOL|PREFIX.*]
match() {
    local out k v
    out=$("$W" match "$1" "$2" "$LOST_MS")
    printf '%s\n' "$out" >>"$LOGDIR/match-$3.txt"
    for kv in $out; do
        k=${kv%%=*}; v=${kv#*=}
        R["$TOOL|$3.$k"]=$v
    done
}

# The live-tree phases: latency under noise, low rate, idle, burst -- one
# daemon instance, one baseline.
live_phases() {
    PHASE_NAME=live
    LOGDIR="$LOGROOT/$TOOL/live"; mkdir -p "$LOGDIR"
    say "$TOOL: preparing the live tree ($LAT_FILES + $((LOW_RATE * LOW_SECONDS)) files)"
    make_tree
    case $TOOL in
        vigil) vigil_setup live "$TREE" "$TREE/noise" ;;
        samhain) samhain_setup live "$TREE" "$TREE/noise" ;;
    esac
    say "$TOOL: baseline of the live tree"
    t_init
    if ((T_RC != 0)); then
        note "$TOOL" "live tree: init failed (exit $T_RC): $(tail -n 3 "$LOGDIR/init.err" | tr '\n' ' ')"
        return 1
    fi
    say "$TOOL: starting the daemon"
    t_start "$(tree_dirs)" || return 1
    R["$TOOL|live.ready_s"]=$T_READY_S
    t_collect_start

    local c0 c1 k0 k1 t0 t1 b0 b1

    if want latency; then
        say "$TOOL: latency: $LAT_RATE changes/s over $LAT_FILES files for $LAT_SECONDS s, $NOISE_RATE noise ops/s"
        wait_idle latency "$DPID" "$CPID"
        "$W" noise "$TREE/noise" "$NOISE_RATE" 0 >"$LOGDIR/noise.out" 2>&1 &
        local np=$! wp sp cc0 cc1
        PIDS_TO_STOP+=("$np")
        sleep 2
        c0=$(cpu_ms "$DPID"); cc0=$(cpu_ms "$CPID"); t0=$(now_ns); read -r b0 k0 < <(machine_busy)
        "$W" rate "$TREE/mon" "$LAT_FILES" "$LAT_RATE" "$LAT_SECONDS" "$LOGDIR/writes-latency.log" \
            >"$LOGDIR/rate-latency.out" 2>&1 &
        wp=$!
        sampler "$LOGDIR/samples-latency.txt" "$DPID" "$wp" "$np" "$CPID" &
        sp=$!
        PIDS_TO_STOP+=("$sp")
        wait "$wp" || note "$TOOL" "latency: the writer did not finish"
        c1=$(cpu_ms "$DPID"); cc1=$(cpu_ms "$CPID"); t1=$(now_ns); read -r b1 k1 < <(machine_busy)
        stop_pid "$sp"
        stop_pid "$np"
        R["$TOOL|lat.cpu_cores"]=$(awk -v c=$((c1 - c0)) -v t="$(ms_between "$t0" "$t1")" 'BEGIN { printf "%.2f", c / t }')
        R["$TOOL|lat.machine_busy"]=$(awk -v b=$((b1 - b0)) -v k=$((k1 - k0)) 'BEGIN { printf "%.0f", 100 * b / k }')
        # The rest of the machine: all CPU time minus the daemon's, the
        # writer's, the noise generator's (its whole run, a little more than
        # the window) and the record collector's.
        local wcpu ncpu
        wcpu=$(sed -n 's/.*cpu_ms=\([0-9]*\).*/\1/p' "$LOGDIR/rate-latency.out")
        ncpu=$(sed -n 's/.*cpu_ms=\([0-9]*\).*/\1/p' "$LOGDIR/noise.out")
        R["$TOOL|lat.others_busy"]=$(awk -v b=$((b1 - b0)) -v k=$((k1 - k0)) -v hz="$CLK_TCK" \
            -v c=$((c1 - c0 + cc1 - cc0 + ${wcpu:-0} + ${ncpu:-0})) \
            'BEGIN { v = 100 * (b - c * hz / 1000) / k; if (v < 0) v = 0; printf "%.0f", v }')
        # the busiest 5 s of the rest of the machine during the run
        R["$TOOL|lat.others_peak5"]=$(awk -v hz="$CLK_TCK" '
            { t[NR] = $3; b[NR] = $2; c = 0; for (i = 4; i <= NF; i++) c += $i; s[NR] = c }
            END {
                m = 0
                for (i = 6; i <= NR; i++) {
                    dt = t[i] - t[i - 5]; if (dt <= 0 || s[i] < s[i - 5]) continue
                    v = 100 * ((b[i] - b[i - 5]) - (s[i] - s[i - 5]) * hz / 1000) / dt
                    if (v > m) m = v
                }
                printf "%.0f", m
            }' "$LOGDIR/samples-latency.txt" 2>/dev/null || true)
        R["$TOOL|lat.workload_cpu"]=$(awk -v w="${wcpu:-0}" -v n="${ncpu:-0}" -v t="$(ms_between "$t0" "$t1")" 'BEGIN { printf "%.2f / %.2f", w / t, n / t }')
        R["$TOOL|lat.rate"]=$(sed -n 's/.*achieved_rate=\([0-9.]*\).*/\1/p' "$LOGDIR/rate-latency.out")
        R["$TOOL|lat.behind"]=$(sed -n 's/.*max_behind_ms=\([0-9.]*\).*/\1/p' "$LOGDIR/rate-latency.out")
        R["$TOOL|lat.noise"]=$(sed -n 's/.*achieved_rate=\([0-9.]*\).*/\1/p' "$LOGDIR/noise.out")
        R["$TOOL|lat.hwm_kb"]=$(mem_kb "$DPID" VmHWM)
        say "$TOOL: waiting for the records to settle"
        sleep $((LOST_MS / 1000))
        wait_quiet "$REC_FILE" || note "$TOOL" "latency: records were still arriving ${QUIET_MAX} s after the writer stopped"
    fi

    if want lowrate && [[ -n ${DPID:-} ]]; then
        wait_idle "low rate" "$DPID" "$CPID"
        say "$TOOL: low rate: $LOW_RATE changes/s for $LOW_SECONDS s, no noise"
        "$W" rate "$TREE/low" $((LOW_RATE * LOW_SECONDS)) "$LOW_RATE" "$LOW_SECONDS" "$LOGDIR/writes-low.log" \
            >"$LOGDIR/rate-low.out" 2>&1 || note "$TOOL" "low rate: the writer did not finish"
        sleep $((LOST_MS / 1000))
        wait_quiet "$REC_FILE" || true
    fi

    if want idle && [[ -n ${DPID:-} ]]; then
        # Other work on the machine (and, for a file-system-wide watcher, any
        # file activity anywhere on the file system) wakes a daemon up: up to
        # IDLE_TRIES windows are measured and the quietest is kept.
        local try best=999999999 mb0 mt0 mb1 mt1 r0 e0 e1 busy s0 s1
        for ((try = 1; try <= IDLE_TRIES; try++)); do
            wait_idle idle "$DPID" "$CPID"
            say "$TOOL: idle for $IDLE_SECONDS s (window $try of at most $IDLE_TRIES)"
            sleep 5
            e0=$(daemon_events)
            c0=$(cpu_ms "$DPID"); s0=$(cpu_sched_ns "$DPID"); k0=$(vcsw "$DPID"); t0=$(now_ns); read -r mb0 mt0 < <(machine_busy)
            r0=$(stat -c %s "$REC_FILE")
            sleep "$IDLE_SECONDS"
            c1=$(cpu_ms "$DPID"); s1=$(cpu_sched_ns "$DPID"); k1=$(vcsw "$DPID"); t1=$(now_ns); read -r mb1 mt1 < <(machine_busy)
            e1=$(daemon_events)
            busy=$(awk -v b=$((mb1 - mb0 - (c1 - c0) * CLK_TCK / 1000)) -v k=$((mt1 - mt0)) 'BEGIN { printf "%.0f", (k > 0 ? 100 * b / k : 0) }')
            printf 'window %d: daemon cpu %d ms (schedstat %s ms), vcsw %d, machine busy (others) %s%%, daemon events %s, records file grew %s bytes\n' \
                "$try" $((c1 - c0)) "$(awk -v n=$((s1 - s0)) 'BEGIN { printf "%.1f", n / 1e6 }')" $((k1 - k0)) "$busy" "$([[ -n $e0 && -n $e1 ]] && echo $((e1 - e0)) || echo n/a)" \
                $(($(stat -c %s "$REC_FILE") - r0)) >>"$LOGDIR/idle.txt"
            # vigil: the window with the fewest file-system events read (they
            # are what wakes a file-system-wide watcher); Samhain: the window
            # in which the rest of the machine was least busy.
            local score=$busy
            [[ -z $e0 || -z $e1 ]] || score=$((e1 - e0))
            if ((score < best)); then
                best=$score
                R["$TOOL|idle.cpu_ms"]=$(awk -v n=$((s1 - s0)) 'BEGIN { printf "%.1f", n / 1e6 }')
                R["$TOOL|idle.cpu_ms_ticks"]=$((c1 - c0))
                R["$TOOL|idle.seconds"]=$(ms_between "$t0" "$t1" | awk '{ printf "%.1f", $1 / 1000 }')
                R["$TOOL|idle.wakeups_per_s"]=$(awk -v n=$((k1 - k0)) -v t="$(ms_between "$t0" "$t1")" 'BEGIN { printf "%.1f", n / (t / 1000) }')
                R["$TOOL|idle.machine_busy"]=$busy
                R["$TOOL|idle.window"]=$try
                if [[ -n $e0 && -n $e1 ]]; then R["$TOOL|idle.events"]=$((e1 - e0)); fi
            fi
            if [[ -n $e0 && -n $e1 ]]; then
                (((e1 - e0) >= 50)) || break
            else
                ((busy >= 5)) || break
            fi
        done
    fi

    if want burst && [[ -n ${DPID:-} ]]; then
        wait_idle burst "$DPID" "$CPID"
        say "$TOOL: burst: creating $BURST files"
        local tb0 tb1 td n=0
        c0=$(cpu_ms "$DPID")
        "$W" burst "$TREE/burst" "$BURST" >"$LOGDIR/burst.out"
        c1=$(cpu_ms "$DPID")
        read -r tb0 tb1 <"$LOGDIR/burst.out"
        R["$TOOL|burst.wall_s"]=$(ms_between "$tb0" "$tb1" | awk '{ printf "%.2f", $1 / 1000 }')
        R["$TOOL|burst.cpu_cores"]=$(awk -v c=$((c1 - c0)) -v t="$(ms_between "$tb0" "$tb1")" 'BEGIN { printf "%.2f", c / t }')
        # Wait until every file is recorded, at most BURST_TIMEOUT s; give up
        # earlier when nothing more was recorded for STALL_S s while the
        # daemon was idle (under 1% of a CPU): it is not working on it.
        local deadline=$((SECONDS + BURST_TIMEOUT)) last_n=-1 since=$SECONDS cs=$c1 stalled=0
        while ((SECONDS < deadline)); do
            case $TOOL in
                vigil) n=$(vigil_burst_count "$tb0") ;;
                samhain) n=$(samhain_burst_count) ;;
            esac
            ((${n:-0} < BURST)) || break
            kill -0 "$DPID" 2>/dev/null || break
            if [[ ${n:-0} != "$last_n" ]]; then
                last_n=${n:-0}; since=$SECONDS; cs=$(cpu_ms "$DPID")
            elif ((SECONDS - since >= STALL_S)) && (($(cpu_ms "$DPID") - cs < STALL_S * 10)); then
                stalled=1
                break
            fi
            sleep 1
        done
        td=$(now_ns)
        ((stalled == 0)) || note "$TOOL" "burst: no progress for ${STALL_S} s with the daemon idle; stopped waiting"
        local c2; c2=$(cpu_ms "$DPID")
        R["$TOOL|burst.cpu_until_done_cores"]=$(awk -v c=$((c2 - c0)) -v t="$(ms_between "$tb0" "$td")" 'BEGIN { printf "%.2f", c / t }')
        R["$TOOL|burst.hwm_kb"]=$(mem_kb "$DPID" VmHWM)
        ((${n:-0} >= BURST)) || note "$TOOL" "burst: only ${n:-0} of $BURST new files recorded after ${BURST_TIMEOUT} s"
        sleep 2
    fi

    t_collect_stop
    t_stop

    # Records and matching.
    case $TOOL in
        vigil)
            vigil_records_db >"$LOGDIR/records-db.txt"
            vigil_records_follow >"$LOGDIR/records-follow.txt"
            ;;
        samhain)
            samhain_records >"$LOGDIR/records-log.txt"
            ;;
    esac
    local main follow=""
    case $TOOL in
        vigil) main="$LOGDIR/records-db.txt"; follow="$LOGDIR/records-follow.txt" ;;
        samhain) main="$LOGDIR/records-log.txt" ;;
    esac
    # Each phase is matched against the records of its own directory.
    local f
    for f in "$main" $follow; do
        grep -F " $TREE/mon/" "$f" >"${f%.txt}-mon.txt" || true
        grep -F " $TREE/low/" "$f" >"${f%.txt}-low.txt" || true
    done
    if want latency && [[ -f $LOGDIR/writes-latency.log ]]; then
        match "$LOGDIR/writes-latency.log" "${main%.txt}-mon.txt" lat
        [[ -z $follow ]] || match "$LOGDIR/writes-latency.log" "${follow%.txt}-mon.txt" latf
    fi
    if want lowrate && [[ -f $LOGDIR/writes-low.log ]]; then
        match "$LOGDIR/writes-low.log" "${main%.txt}-low.txt" low
        [[ -z $follow ]] || match "$LOGDIR/writes-low.log" "${follow%.txt}-low.txt" lowf
    fi
    if want burst && [[ -f $LOGDIR/burst.out ]]; then
        local tb0 tb1
        read -r tb0 tb1 <"$LOGDIR/burst.out"
        find "$TREE/burst" -type f | sort >"$LOGDIR/burst-walk.txt"
        burst_verify "$main" "$tb0" db
        [[ -z $follow ]] || burst_verify "$follow" "$tb0" follow
    fi
}

# burst_verify RECORDS START_NS KEY: recorded set versus the walk; time until
# the last file's first record.
burst_verify() {
    local recs=$1 tb0=$2 key=$3
    grep -F " $TREE/burst/" "$recs" | sort -k2,2 -k1,1n | awk '!seen[$2]++' >"$LOGDIR/burst-first-$key.txt" || true
    awk '{ print $2 }' "$LOGDIR/burst-first-$key.txt" | sort >"$LOGDIR/burst-recorded-$key.txt"
    local walked recorded missing extra last
    walked=$(wc -l <"$LOGDIR/burst-walk.txt")
    recorded=$(wc -l <"$LOGDIR/burst-recorded-$key.txt")
    missing=$(comm -23 "$LOGDIR/burst-walk.txt" "$LOGDIR/burst-recorded-$key.txt" | wc -l)
    extra=$(comm -13 "$LOGDIR/burst-walk.txt" "$LOGDIR/burst-recorded-$key.txt" | wc -l)
    comm -23 "$LOGDIR/burst-walk.txt" "$LOGDIR/burst-recorded-$key.txt" | head -n 20 >"$LOGDIR/burst-missing-$key.txt"
    last=$(sort -n "$LOGDIR/burst-first-$key.txt" | tail -n1 | awk '{ print $1 }')
    R["$TOOL|burst.$key.walked"]=$walked
    R["$TOOL|burst.$key.recorded"]=$recorded
    R["$TOOL|burst.$key.missing"]=$missing
    R["$TOOL|burst.$key.extra"]=$extra
    if [[ -n $last ]] && ((missing == 0)); then
        R["$TOOL|burst.$key.all_s"]=$(ms_between "$tb0" "$last" | awk '{ printf "%.2f", $1 / 1000 }')
    elif [[ -n $last ]]; then
        R["$TOOL|burst.$key.all_s_text"]="never ($missing missing; last record after $(ms_between "$tb0" "$last" | awk '{ printf "%.2f", $1 / 1000 }') s)"
    fi
}

# Memory with a large baseline: RSS when ready and after a check.
memory_phase() {  # memory_phase NFILES NDIRS
    local nf=$1 nd=$2 name root key
    name=$(corpus_name "$nf" "$nd"); root="$WORK/corpus/$name"; key="mem$nd"
    PHASE_NAME=$name
    LOGDIR="$LOGROOT/$TOOL/$name"; mkdir -p "$LOGDIR"
    R["$TOOL|$key.files"]=$nf
    case $TOOL in
        vigil) vigil_setup "$name" "$root" "" 60 ;;
        samhain) samhain_setup "$name" "$root" "" 60 ;;
    esac
    say "$TOOL: $name: baseline"
    t_init
    R["$TOOL|$key.init_s"]=$T_WALL
    R["$TOOL|$key.init_kb"]=$T_KB
    if ((T_RC != 0)); then
        note "$TOOL" "$name: init failed (exit $T_RC): $(tail -n 3 "$LOGDIR/init.err" | tr '\n' ' ')"
        return 1
    fi
    local dirs; dirs=$(find "$root" -type d | wc -l)
    say "$TOOL: $name: starting the daemon"
    t_start "$dirs" || return 1
    R["$TOOL|$key.ready_s"]=$T_READY_S
    sleep 2
    R["$TOOL|$key.rss_ready"]=$(mem_kb "$DPID" VmRSS)
    R["$TOOL|$key.hwm_ready"]=$(mem_kb "$DPID" VmHWM)
    R["$TOOL|$key.helper_kb"]=$(helper_rss_kb "$DPID")
    local done_check=0 before
    case $TOOL in
        vigil)
            # quick_interval = 60 in this phase: wait for the daemon's first
            # scheduled quick check (its "check:" line; "start:" is the check
            # at start, "rescan:" a targeted rescan).
            before=$(grep -c '^vigil: check: ' "$LOGDIR/daemon.err" || true)
            say "$TOOL: $name: waiting for the daemon's scheduled quick check (quick_interval = 60 s)"
            local deadline=$((SECONDS + 60 + 900))
            while ((SECONDS < deadline)); do
                (($(grep -c '^vigil: check: ' "$LOGDIR/daemon.err" || true) > before)) && { done_check=1; break; }
                kill -0 "$DPID" 2>/dev/null || break
                sleep 0.5
            done
            ;;
        samhain)
            # SetFileCheckTime = 60 in this phase: wait for the next "File
            # check completed" after the start-up check.
            before=$(samhain_completed)
            say "$TOOL: $name: waiting for Samhain's scheduled file check (SetFileCheckTime = 60 s)"
            local deadline=$((SECONDS + 60 + 3600))
            while ((SECONDS < deadline)); do
                (($(samhain_completed) > before)) && { done_check=1; break; }
                kill -0 "$DPID" 2>/dev/null || break
                sleep 0.5
            done
            ;;
    esac
    if ((done_check)); then
        sleep 2
        R["$TOOL|$key.rss_check"]=$(mem_kb "$DPID" VmRSS)
        R["$TOOL|$key.hwm_check"]=$(mem_kb "$DPID" VmHWM)
    else
        note "$TOOL" "$name: no completed check observed"
    fi
    t_stop
}

run_tool() {
    TOOL=$1
    if want latency || want lowrate || want idle || want burst; then
        live_phases || { t_collect_stop 2>/dev/null || true; t_stop || true; }
    fi
    if want memory; then
        local d
        for d in "${CORPUS_DIRS[@]}"; do
            memory_phase "$CORPUS_FILES" "$d" || { t_stop || true; }
        done
    fi
    return 0
}

# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
g() { printf '%s' "${R["$1"]:-}"; }
gv() { local v=${R["$1"]:-}; [[ -n $v ]] && printf '%s%s' "$v" "${2:-}" || printf 'n/a'; }
pair() { [[ -n ${R["$1"]:-} ]] && printf '%s / %s' "${R["$1"]}" "${R["$2"]:-?}" || printf 'n/a'; }
fmt_ms() { [[ -n $1 && $1 != -1.000 ]] && awk -v v="$1" 'BEGIN { if (v >= 1000) printf "%.2f s", v / 1000; else if (v >= 10) printf "%.1f ms", v; else printf "%.2f ms", v }' || printf 'n/a'; }
fmt_mib() { [[ -n $1 ]] && awk -v v="$1" 'BEGIN { printf "%.1f MiB", v / 1024 }' || printf 'n/a'; }
ratio() {  # ratio A B -> A/B
    if [[ -n $1 && -n $2 && $1 != -1.000 && $2 != -1.000 ]] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(b > 0 && a >= 0) }'; then
        awk -v a="$1" -v b="$2" 'BEGIN { r = a / b; if (r > 0 && r < 1) printf "%.3g (1/%.3g)", r, 1 / r; else printf "%.3g", r }'
    else
        printf '—'
    fi
}
verdict() {  # verdict VALUE LIMIT
    [[ -n $1 && $1 != -1.000 ]] || { printf 'n/a'; return; }
    awk -v a="$1" -v b="$2" 'BEGIN { if (a <= b) printf "MET"; else printf "NOT MET" }'
}
lost_cell() {  # lost_cell TOOL PREFIX
    local l c
    l=$(g "$1|$2.lost"); c=$(g "$1|$2.changes")
    [[ -n $l ]] && printf '%s of %s' "$l" "$c" || printf 'n/a'
}
allrec() { [[ -n ${R["$1|burst.db.all_s"]:-} ]] && printf '%s s' "${R["$1|burst.db.all_s"]}" || gv "$1|burst.db.all_s_text"; }
row() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }

report() {
    local s=samhain v=vigil
    {
        echo "# Real-time detection: vigil daemon vs Samhain (inotify)"
        echo
        [[ -z ${PARTIAL:-} ]] || { echo "**$PARTIAL**"; echo; }
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), run id $RUN_ID, logs in \`$LOGROOT\`$( ((QUICK)) && echo ', QUICK mode (smoke test; not the reference numbers)')"
        echo "- machine: $NPROC cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r), $(findmnt -no FSTYPE -T "$WORK" 2>/dev/null || echo '?'); load average at start: $LOAD_START"
        if ((VIGIL_OK)); then
            echo "- vigil: \`$VIGIL_SRC\` (sha256 $VIGIL_SUM..., run from a private copy), \`[daemon] mode = $VIGIL_MODE\`, other daemon settings at their defaults except quick_interval/full_interval"
        else
            echo "- vigil: not run (${VIGIL_SKIP_REASON:-skipped})"
        fi
        if ((SAMHAIN_OK)); then
            echo "- Samhain: $(dpkg-query -W -f '${Version}' samhain 2>/dev/null || echo '?') (Debian package), \`InotifyActive = yes\`, policy \`[ReadOnly]\`, \`ReportOnlyOnce = no\`, non-file modules off"
        else
            echo "- Samhain: not run (${SAMHAIN_SKIP_REASON:-skipped})"
        fi
        echo
        echo "| metric | target | Vigil | Samhain | Vigil/Samhain |"
        echo "|---|---|---:|---:|---:|"
        if want latency; then
            local L="latency ($LAT_RATE changes/s over $LAT_FILES files, $NOISE_RATE noise ops/s, $LAT_SECONDS s)"
            local q t
            for q in p50 p90 p99 max; do
                case $q in p50) t="≤ 10 ms" ;; p99) t="≤ 100 ms" ;; *) t="—" ;; esac
                row "$L: $q, close → detection" "$t" "$(fmt_ms "$(g "$v|lat.${q}_ms")")" "$(fmt_ms "$(g "$s|lat.${q}_ms")")" "$(ratio "$(g "$v|lat.${q}_ms")" "$(g "$s|lat.${q}_ms")")"
            done
            row "$L: lost (no record within $((LOST_MS / 1000)) s)" "0" "$(lost_cell $v lat)" "$(lost_cell $s lat)" "—"
            for q in p50 p99 max; do
                row "$L: $q, close → line on \`vigil changes --follow\`" "—" "$(fmt_ms "$(g "$v|latf.${q}_ms")")" "$(fmt_ms "$(g "$s|lat.${q}_ms")")" "$(ratio "$(g "$v|latf.${q}_ms")" "$(g "$s|lat.${q}_ms")")"
            done
            row "$L: lost on \`changes --follow\`" "—" "$(lost_cell $v latf)" "$(lost_cell $s lat)" "—"
            row "$L: records / changes" "—" "$(pair "$v|lat.records" "$v|lat.changes")" "$(pair "$s|lat.records" "$s|lat.changes")" "—"
            row "$L: daemon CPU (cores)" "—" "$(gv "$v|lat.cpu_cores")" "$(gv "$s|lat.cpu_cores")" "$(ratio "$(g "$v|lat.cpu_cores")" "$(g "$s|lat.cpu_cores")")"
            row "$L: writer rate achieved / noise rate achieved (per s)" "—" "$(pair "$v|lat.rate" "$v|lat.noise")" "$(pair "$s|lat.rate" "$s|lat.noise")" "—"
        fi
        if want lowrate; then
            local L="low rate ($LOW_RATE changes/s, no noise, $LOW_SECONDS s)" q
            for q in p50 p99 max; do
                row "$L: $q, close → detection" "—" "$(fmt_ms "$(g "$v|low.${q}_ms")")" "$(fmt_ms "$(g "$s|low.${q}_ms")")" "$(ratio "$(g "$v|low.${q}_ms")" "$(g "$s|low.${q}_ms")")"
            done
            row "$L: lost" "0" "$(lost_cell $v low)" "$(lost_cell $s low)" "—"
        fi
        if want burst; then
            local L="burst ($BURST creations)"
            row "$L: files recorded / created" "all" "$(pair "$v|burst.db.recorded" "$v|burst.db.walked")" "$(pair "$s|burst.db.recorded" "$s|burst.db.walked")" "—"
            row "$L: creation wall time" "—" "$(gv "$v|burst.wall_s" " s")" "$(gv "$s|burst.wall_s" " s")" "—"
            row "$L: daemon CPU / burst wall time (cores)" "≤ 1" "$(gv "$v|burst.cpu_cores")" "$(gv "$s|burst.cpu_cores")" "$(ratio "$(g "$v|burst.cpu_cores")" "$(g "$s|burst.cpu_cores")")"
            row "$L: time from burst start until all recorded" "—" "$(allrec "$v")" "$(allrec "$s")" "$(ratio "$(g "$v|burst.db.all_s")" "$(g "$s|burst.db.all_s")")"
            row "$L: daemon CPU until all recorded (cores)" "—" "$(gv "$v|burst.cpu_until_done_cores")" "$(gv "$s|burst.cpu_until_done_cores")" "—"
        fi
        if want idle; then
            local L="idle (${IDLE_SECONDS} s, no changes)"
            row "$L: daemon CPU time" "≤ $((50 * IDLE_SECONDS / 60)) ms" "$(gv "$v|idle.cpu_ms" " ms")" "$(gv "$s|idle.cpu_ms" " ms")" "$(ratio "$(g "$v|idle.cpu_ms")" "$(g "$s|idle.cpu_ms")")"
            row "$L: wake-ups (voluntary context switches) per s" "—" "$(gv "$v|idle.wakeups_per_s")" "$(gv "$s|idle.wakeups_per_s")" "$(ratio "$(g "$v|idle.wakeups_per_s")" "$(g "$s|idle.wakeups_per_s")")"
        fi
        if want memory; then
            local d key L
            for d in "${CORPUS_DIRS[@]}"; do
                key="mem$d"; L="memory, $CORPUS_FILES files in $d directories"
                row "$L: baseline (init) wall time" "—" "$(gv "$v|$key.init_s" " s")" "$(gv "$s|$key.init_s" " s")" "$(ratio "$(g "$v|$key.init_s")" "$(g "$s|$key.init_s")")"
                row "$L: daemon start until ready" "—" "$(gv "$v|$key.ready_s" " s")" "$(gv "$s|$key.ready_s" " s")" "$(ratio "$(g "$v|$key.ready_s")" "$(g "$s|$key.ready_s")")"
                row "$L: VmRSS when ready" "≤ 64 MiB" "$(fmt_mib "$(g "$v|$key.rss_ready")")" "$(fmt_mib "$(g "$s|$key.rss_ready")")" "$(ratio "$(g "$v|$key.rss_ready")" "$(g "$s|$key.rss_ready")")"
                row "$L: VmRSS after a check (vigil: quick, Samhain: its check)" "≤ 64 MiB" "$(fmt_mib "$(g "$v|$key.rss_check")")" "$(fmt_mib "$(g "$s|$key.rss_check")")" "$(ratio "$(g "$v|$key.rss_check")" "$(g "$s|$key.rss_check")")"
                row "$L: VmHWM (peak) after the check" "≤ 64 MiB" "$(fmt_mib "$(g "$v|$key.hwm_check")")" "$(fmt_mib "$(g "$s|$key.hwm_check")")" "$(ratio "$(g "$v|$key.hwm_check")" "$(g "$s|$key.hwm_check")")"
            done
        fi
        echo
        echo "Details:"
        echo
        local t
        for t in vigil samhain; do
            [[ -n $(g "$t|live.ready_s") ]] || continue
            echo "- $t, live tree: ready $(g "$t|live.ready_s") s after start; latency run: machine $(gv "$t|lat.machine_busy" "%") busy in all, other processes $(gv "$t|lat.others_busy" "%") (busiest 5 s: $(gv "$t|lat.others_peak5" "%")), writer / noise generator $(gv "$t|lat.workload_cpu") cores, writer at most $(gv "$t|lat.behind" " ms") behind its schedule, daemon peak RSS $(fmt_mib "$(g "$t|lat.hwm_kb")"); idle: window $(gv "$t|idle.window") kept, the rest of the machine $(gv "$t|idle.machine_busy" "%") busy, $(gv "$t|idle.events") file-system events read by the daemon; after the burst: peak RSS $(fmt_mib "$(g "$t|burst.hwm_kb")")"
        done
        if [[ -n $(g "vigil|live.end_status") ]]; then
            echo "- vigil daemon counters at the end of the live-tree phases: $(g "vigil|live.end_status")"
        fi
        if want burst; then
            echo "- vigil burst on \`changes --follow\`: $(g "vigil|burst.follow.recorded") of $(g "vigil|burst.follow.walked") received, all after $(g "vigil|burst.follow.all_s") s"
        fi
        if want memory; then
            local d
            for d in "${CORPUS_DIRS[@]}"; do
                [[ -z $(g "vigil|$(corpus_name "$CORPUS_FILES" "$d").end_status") ]] ||
                    echo "- memory, $d directories: vigil daemon counters at the end: $(g "vigil|$(corpus_name "$CORPUS_FILES" "$d").end_status")"
                echo "- memory, $d directories: Samhain's helper process adds $(fmt_mib "$(g "samhain|mem$d.helper_kb")"); VmHWM when ready: vigil $(fmt_mib "$(g "vigil|mem$d.hwm_ready")"), Samhain $(fmt_mib "$(g "samhain|mem$d.hwm_ready")"); init peak RSS: vigil $(fmt_mib "$(g "vigil|mem$d.init_kb")"), Samhain $(fmt_mib "$(g "samhain|mem$d.init_kb")")"
            done
        fi
        echo
        echo "Targets (vigil):"
        echo
        if want latency; then
            echo "- latency p50 ≤ 10 ms: $(fmt_ms "$(g "vigil|lat.p50_ms")") -> $(verdict "$(g "vigil|lat.p50_ms")" 10)"
            echo "- latency p99 ≤ 100 ms: $(fmt_ms "$(g "vigil|lat.p99_ms")") -> $(verdict "$(g "vigil|lat.p99_ms")" 100)"
            echo "- no change lost: $(lost_cell vigil lat) -> $(verdict "$(g "vigil|lat.lost")" 0)"
        fi
        if want burst; then
            echo "- burst: every file recorded: missing $(g "vigil|burst.db.missing") -> $(verdict "$(g "vigil|burst.db.missing")" 0)"
            echo "- burst: daemon CPU ≤ 1 core over the burst: $(g "vigil|burst.cpu_cores") -> $(verdict "$(g "vigil|burst.cpu_cores")" 1)"
        fi
        if want idle; then
            echo "- idle CPU ≤ 50 ms per 60 s: $(g "vigil|idle.cpu_ms") ms in $(g "vigil|idle.seconds") s -> $(verdict "$(g "vigil|idle.cpu_ms")" $((50 * IDLE_SECONDS / 60)))"
        fi
        if want memory; then
            local d
            for d in "${CORPUS_DIRS[@]}"; do
                local m=""
                m=$(printf '%s\n' "$(g "vigil|mem$d.rss_ready")" "$(g "vigil|mem$d.rss_check")" "$(g "vigil|mem$d.hwm_check")" | sort -n | tail -n1)
                echo "- RSS ≤ 64 MiB with $CORPUS_FILES files in $d directories: $(fmt_mib "$m") -> $(verdict "$m" 65536)"
            done
        fi
        local t2
        for t2 in vigil samhain; do
            if [[ -n ${NOTE[$t2]:-} ]]; then
                echo
                echo "Notes ($t2):"
                echo
                printf '%s' "${NOTE[$t2]}" | sed 's/^/    /'
            fi
        done
    } >"$RESULTS.tmp"
    mv "$RESULTS.tmp" "$RESULTS"
    cp "$RESULTS" "$LOGROOT/results.md"
    cat "$RESULTS"
}

# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------
main() {
    exec 9>"$WORK/.lock"
    flock -n 9 || die "another run is using $WORK (lock $WORK/.lock)"
    ensure_packages
    build_writer
    trap on_exit EXIT
    trap 'exit 130' INT TERM

    LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
    if awk -v l="${LOAD_START%% *}" -v n="$NPROC" 'BEGIN { exit !(l > 0.25 * n) }'; then
        say "warning: load average $LOAD_START at start; other work may disturb the measurements"
    fi

    VIGIL_OK=0; SAMHAIN_OK=0; VIGIL_SKIP_REASON=""; SAMHAIN_SKIP_REASON=""
    if ((SKIP_VIGIL)); then
        VIGIL_SKIP_REASON="--skip-vigil"
    elif [[ ! -x $VIGIL ]]; then
        VIGIL_SKIP_REASON="no executable at $VIGIL"
    elif ! "$VIGIL" --help 2>&1 | grep -q 'daemon'; then
        VIGIL_SKIP_REASON="'$VIGIL --help' lists no daemon command"
    else
        VIGIL_SRC=$VIGIL
        rm -f "$WORK"/bin/vigil.*
        cp "$VIGIL_SRC" "$WORK/bin/vigil.$RUN_ID"
        VIGIL="$WORK/bin/vigil.$RUN_ID"
        VIGIL_SUM=$(sha256sum "$VIGIL" | cut -c1-16)
        VIGIL_OK=1
    fi
    [[ -z $VIGIL_SKIP_REASON ]] || say "vigil is skipped: $VIGIL_SKIP_REASON"
    if ((SKIP_SAMHAIN)); then
        SAMHAIN_SKIP_REASON="--skip-samhain"
    elif ! command -v samhain >/dev/null 2>&1; then
        SAMHAIN_SKIP_REASON="samhain is not installed"
    else
        SAMHAIN_OK=1
    fi

    if want memory; then
        local d
        for d in "${CORPUS_DIRS[@]}"; do build_corpus "$CORPUS_FILES" "$d"; done
    fi
    ((VIGIL_OK)) && run_tool vigil
    ((SAMHAIN_OK)) && run_tool samhain
    rm -rf "$TREE"

    report
    REPORT_DONE=1
}

main "$@"; exit $?

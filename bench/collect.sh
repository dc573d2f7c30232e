#!/usr/bin/env bash
# Collector benchmark: what collecting every kind of object beyond files costs
# (vigil check with collector rules only, per kind, and the daemon's interval
# collection while idle), next to the shell snapshot an administrator would
# run from cron instead.  See bench/README.md ("Collectors (objects beyond
# files)") for what is measured and why.
#
# Usage: sudo bash bench/collect.sh [--quick] [--vigil PATH] [--work DIR]
#                                   [--runs N] [--kind-runs N]
#                                   [--idle-seconds S] [--intervals LIST]
#                                   [--wait-idle S] [--skip-daemon]
#                                   [--skip-shell] [--keep]
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)

VIGIL="$REPO_ROOT/build/release/vigil"
WORK=/var/tmp/vigil-bench-coll
QUICK=0
RUNS=""
KIND_RUNS=""
IDLE_SECONDS=""
INTERVALS=""
SKIP_DAEMON=0
SKIP_SHELL=0
KEEP=0
WAIT_IDLE=0
NPROC=$(nproc)
CLK_TCK=$(getconf CLK_TCK)
KINDS=(package repo user group sudo module sysctl socket unit timer cron firewall mount kernel certificate exec)
REF_INTERVAL=86400      # the daemon's reference run: no collection inside the window
READY_TIMEOUT=120

usage() {
    cat <<'EOF'
Usage: sudo bash bench/collect.sh [options]

  --quick               smoke test: 3 runs, 1 per kind, one 20-s daemon window
                        at interval 10 (not the reference numbers)
  --vigil PATH          vigil binary (default: <repo>/build/release/vigil)
  --work DIR            work directory: states, logs, results
                        (default: /var/tmp/vigil-bench-coll)
  --runs N              timed runs of the full collection (default 10)
  --kind-runs N         timed runs per kind (default 5)
  --idle-seconds S      length of each daemon window (default 180)
  --intervals LIST      [collect] interval values for the daemon windows,
                        comma-separated (default 60,10); a reference window
                        with interval 86400 (no collection) is always added
  --wait-idle SECONDS   before each series and daemon window, wait up to
                        SECONDS for the rest of the machine to be idle
                        (< 10% of the CPUs busy over 5 s); default 0
  --skip-daemon         no daemon windows
  --skip-shell          do not time the shell snapshot
  --keep                keep the states (vigil databases) after the run
  -h, --help            this text
EOF
}

die() { printf 'collect.sh: error: %s\n' "$*" >&2; exit 1; }
say() { printf '[collect %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
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
        --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
        --runs=*) RUNS=${1#*=}; shift ;;
        --kind-runs) KIND_RUNS=${2:?--kind-runs needs a number}; shift 2 ;;
        --kind-runs=*) KIND_RUNS=${1#*=}; shift ;;
        --idle-seconds) IDLE_SECONDS=${2:?--idle-seconds needs seconds}; shift 2 ;;
        --idle-seconds=*) IDLE_SECONDS=${1#*=}; shift ;;
        --intervals) INTERVALS=${2:?--intervals needs a list}; shift 2 ;;
        --intervals=*) INTERVALS=${1#*=}; shift ;;
        --wait-idle) WAIT_IDLE=${2:?--wait-idle needs seconds}; shift 2 ;;
        --wait-idle=*) WAIT_IDLE=${1#*=}; shift ;;
        --skip-daemon) SKIP_DAEMON=1; shift ;;
        --skip-shell) SKIP_SHELL=1; shift ;;
        --keep) KEEP=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

if ((QUICK)); then
    : "${RUNS:=3}" "${KIND_RUNS:=1}" "${IDLE_SECONDS:=20}" "${INTERVALS:=10}"
else
    : "${RUNS:=10}" "${KIND_RUNS:=5}" "${IDLE_SECONDS:=180}" "${INTERVALS:=60,10}"
fi
[[ $WAIT_IDLE =~ ^[0-9]+$ ]] || die "--wait-idle must be a number of seconds"
for v in RUNS KIND_RUNS IDLE_SECONDS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "${v,,} must be a positive whole number, got '${!v}'"
done
IFS=', ' read -r -a INTERVAL_LIST <<<"$INTERVALS"
for i in "${INTERVAL_LIST[@]}"; do
    [[ $i =~ ^[1-9][0-9]*$ ]] && ((i <= 86400)) || die "--intervals: '$i' is not 1 to 86400 seconds"
    ((IDLE_SECONDS % i == 0)) || die "--idle-seconds ($IDLE_SECONDS) must be a multiple of every interval ($i)"
done

[[ $EUID -eq 0 ]] || die "must run as root: the collectors read /etc/shadow, /etc/gshadow and /etc/sudoers, and the sockets' owners"
[[ $VIGIL == /* ]] || VIGIL="$PWD/$VIGIL"
[[ -x $VIGIL ]] || die "no vigil binary at $VIGIL (build one: meson setup build/release -Dbuildtype=release && ninja -C build/release, or pass --vigil)"
"$VIGIL" --help 2>&1 | grep -q -- '--only' || die "'$VIGIL --help' does not mention check --only: too old a build"
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3) || die "python3 is needed (it times each command with wait4)"
command -v jq >/dev/null || die "jq is needed"

# --------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------
# shellcheck source=bench/lib.sh
. "$SCRIPT_DIR/lib.sh"
bench_work_dir
TMP="$WORK/tmp/$RUN_ID"          # states, settings, rules; removed at exit unless --keep
RESULTS="$WORK/results.md"
mkdir -p "$WORK/bin" "$LOGROOT" "$TMP"

DPID=""
on_exit() {
    local rc=$?
    if [[ -n $DPID ]] && kill -0 "$DPID" 2>/dev/null; then
        kill -TERM "$DPID" 2>/dev/null || true
        wait "$DPID" 2>/dev/null || true
    fi
    if ((KEEP)); then
        say "states kept in $TMP"
    else
        rm -rf "$TMP"
        rmdir "$WORK/tmp" 2>/dev/null || true
    fi
    if ((rc != 0)); then
        loud "collect.sh FAILED (exit $rc); logs in $LOGROOT"
    fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# The binary is copied so that a rebuild during the run cannot mix two builds.
rm -f "$WORK"/bin/vigil.*
cp "$VIGIL" "$WORK/bin/vigil.$RUN_ID"
VIGIL_SRC=$VIGIL
VIGIL="$WORK/bin/vigil.$RUN_ID"
VIGIL_SUM=$(sha256sum "$VIGIL" | cut -c1-16)
VIGIL_MTIME=$(date -u -r "$VIGIL_SRC" '+%Y-%m-%d %H:%M UTC')
# The repository as the run starts (the binary may of course be older).
REPO_HEAD=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
REPO_DIRTY=$(git -C "$REPO_ROOT" status --porcelain -- src meson.build 2>/dev/null | awk '{ print $2 }' | paste -sd' ' || true)

# measure OUT ERR CMD...: runs CMD (stdin /dev/null), prints
# "<wall s> <user s> <sys s> <peak RSS KiB> <exit status>"; wait4() gives the
# CPU time of the command and of every descendant it waited for.
cat >"$WORK/bin/measure.py" <<'EOF'
import os, sys, time
out, err, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
t0 = time.monotonic_ns()
pid = os.fork()
if pid == 0:
    try:
        os.dup2(os.open("/dev/null", os.O_RDONLY), 0)
        os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 1)
        os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
        os.execvp(cmd[0], cmd)
    except OSError as e:
        os.write(2, ("measure: %s: %s\n" % (cmd[0], e)).encode())
    os._exit(127)
_, status, ru = os.wait4(pid, 0)
t1 = time.monotonic_ns()
print("%.4f %.4f %.4f %d %d" % ((t1 - t0) / 1e9, ru.ru_utime, ru.ru_stime, ru.ru_maxrss,
                                 os.waitstatus_to_exitcode(status)))
EOF

declare -A R=()        # results

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------
machine_jiffies() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }
# wait_idle LABEL: with --wait-idle, wait until the machine is under 10 % busy
# over 5 s, at most WAIT_IDLE seconds (then measure anyway, noted).
wait_idle() {
    local label=$1 waited=0 b0 t0 b1 t1 busy
    ((WAIT_IDLE > 0)) || return 0
    while :; do
        read -r b0 t0 < <(machine_jiffies); sleep 5; read -r b1 t1 < <(machine_jiffies)
        busy=$(awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.0f", (t > 0 ? 100 * b / t : 0) }')
        ((busy >= 10)) || break
        waited=$((waited + 5))
        if ((waited >= WAIT_IDLE)); then
            note "$label: the machine was still ${busy} % busy after waiting ${WAIT_IDLE} s; measured anyway"
            return 0
        fi
        ((waited % 60)) || say "$label: waiting for the machine to be idle (${busy} % busy)"
    done
    ((waited == 0)) || say "$label: waited ${waited} s for the machine to be idle"
}
# others_busy B0 T0 B1 T1 TSV: share (%) of the machine used by other processes
# between two machine_jiffies samples, given the measured commands' CPU (column 4)
others_busy() {
    awk -v b=$(($3 - $1)) -v t=$(($4 - $2)) -v hz="$CLK_TCK" '{ c += $4 } END { v = t > 0 ? 100 * (b - c * hz) / t : 0; printf "%.0f", (v < 0 ? 0 : v) }' "$5"
}

# Settings and rules for a [collect] interval; sets V (the command prefix).
setup_vigil() {
    local interval=$1
    CONF="$TMP/vigil-$interval.conf"
    cat >"$CONF" <<EOF
[vigil]
host_name = bench

[collect]
interval = $interval
pki_paths = /etc/ssl/certs

[exec.uname]
command = /usr/bin/uname -a
EOF
    mkdir -p "$TMP/rules" "$TMP/state" "$TMP/run"
    local k
    for k in "${KINDS[@]}"; do printf '%s:*\n' "$k"; done >"$TMP/rules/collect.rules"
    V=("$VIGIL" --config "$CONF" --rules "$TMP/rules" --state-dir "$TMP/state")
}

# vigil_run LOG ARGS...: one measured vigil command; appends its figures to
# $LOGROOT/LOG.tsv ("wall user sys cpu rss rc objects errors summary-time",
# the last from vigil's own summary line, "... in 0.15 s").  Exit
# status 0 is clean, 1 to 7 means differences were found (noted), 14 means
# some collector failed (noted with its messages); anything else stops the run.
vigil_run() {
    local log=$1 n line w u s rss rc summary objects errors intime; shift
    n=1
    [[ ! -e $LOGROOT/$log.tsv ]] || n=$(($(wc -l <"$LOGROOT/$log.tsv") + 1))
    line=$("$PY" "$WORK/bin/measure.py" "$LOGROOT/$log.$n.out" "$LOGROOT/$log.$n.err" "${V[@]}" "$@")
    read -r w u s rss rc <<<"$line"
    summary=$(grep -E '^vigil: (check|init): ' "$LOGROOT/$log.$n.err" | tail -n1 || true)
    if ((rc != 0 && rc != 14 && (rc < 1 || rc > 7))) || [[ -z $summary ]]; then
        loud "vigil $* exited with status $rc" "$(tail -n 5 "$LOGROOT/$log.$n.err")"
        die "vigil $* failed (status $rc); see $LOGROOT/$log.$n.err"
    fi
    objects=$(sed -nE 's/.* ([0-9]+) objects.*/\1/p; s/.*baseline of ([0-9]+) objects.*/\1/p' <<<"$summary" | head -n1)
    errors=$(sed -nE 's/.* ([0-9]+) errors?.*/\1/p' <<<"$summary" | head -n1)
    intime=$(sed -nE 's/.* in ([0-9.]+) s.*/\1/p' <<<"$summary" | head -n1)
    if ((rc == 14)); then
        grep -vE '^vigil: (check|init): |alert message\(s\) wait' "$LOGROOT/$log.$n.err" >>"$LOGROOT/collector-errors.txt" || true
    elif ((rc != 0)); then
        note "\`vigil $*\` (run $n) found differences (status $rc): $summary"
    fi
    printf '%s %s %s %s %s %s %s %s %s\n' "$w" "$u" "$s" "$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.4f", u + s }')" \
        "$rss" "$rc" "${objects:-?}" "${errors:-?}" "${intime:-0}" >>"$LOGROOT/$log.tsv"
}
# series LOG KEY RUNS ARGS...: RUNS measured runs; R[KEY.*] medians and maxima
series() {
    local log=$1 key=$2 runs=$3 i m x; shift 3
    for ((i = 0; i < runs; i++)); do vigil_run "$log" "$@"; done
    read -r m x < <(stats "$LOGROOT/$log.tsv" 1); R[$key.wall]=$m; R[$key.wall_max]=$x
    read -r m x < <(stats "$LOGROOT/$log.tsv" 4); R[$key.cpu]=$m; R[$key.cpu_max]=$x
    read -r m x < <(stats "$LOGROOT/$log.tsv" 5); R[$key.rss]=$x
    read -r m x < <(stats "$LOGROOT/$log.tsv" 9); R[$key.intime]=$m
    R[$key.objects]=$(tail -n1 "$LOGROOT/$log.tsv" | awk '{ print $7 }')
    R[$key.errors]=$(tail -n1 "$LOGROOT/$log.tsv" | awk '{ print $8 }')
    R[$key.rcs]=$(awk '{ print $6 }' "$LOGROOT/$log.tsv" | sort -un | paste -sd,)
}

# --------------------------------------------------------------------------
# Phase 1: vigil check, all kinds and per kind
# --------------------------------------------------------------------------
phase_checks() {
    setup_vigil 60
    say "vigil init (rules: ${KINDS[*]/%/:*})"
    vigil_run init init
    R[init.wall]=$(awk '{ printf "%.3f", $1 }' "$LOGROOT/init.tsv"); R[init.cpu]=$(awk '{ printf "%.3f", $4 }' "$LOGROOT/init.tsv")
    R[init.objects]=$(awk '{ print $7 }' "$LOGROOT/init.tsv")
    if [[ -s $LOGROOT/collector-errors.txt ]]; then
        loud "vigil init reported collector errors:" "$(sort -u "$LOGROOT/collector-errors.txt")"
    fi
    vigil_run warmup check          # page cache, store, alerts raised by the init's errors

    local jb0 jt0 jb1 jt1
    wait_idle "all kinds"
    read -r jb0 jt0 < <(machine_jiffies)
    say "vigil check, all kinds: $RUNS runs"
    series all all "$RUNS" check
    read -r jb1 jt1 < <(machine_jiffies)
    R[all.others]=$(others_busy "$jb0" "$jt0" "$jb1" "$jt1" "$LOGROOT/all.tsv")

    say "vigil check --only file (no file rules: a run that collects nothing): $KIND_RUNS runs"
    series only-file none "$KIND_RUNS" check --only file

    local nc
    nc=$(printf '%s\n' "${KINDS[@]}" | grep -vx certificate | paste -sd,)
    say "vigil check --only all kinds but certificate: $RUNS runs"
    series nc nc "$RUNS" check --only "$nc"

    local k bad=()
    wait_idle "per kind"
    for k in "${KINDS[@]}"; do
        say "vigil check --only $k: $KIND_RUNS runs"
        series "only-$k" "k.$k" "$KIND_RUNS" check --only "$k"
        [[ ${R[k.$k.errors]} == 0 ]] || bad+=("$k")
    done
    BAD_KINDS=("${bad[@]}")
    if ((${#bad[@]})); then
        local good=() sep
        for k in "${KINDS[@]}"; do [[ " ${bad[*]} " == *" $k "* ]] || good+=("$k"); done
        sep=$(IFS=,; echo "${good[*]}")
        say "vigil check --only ${sep} (the kinds without errors): $RUNS runs"
        series good good "$RUNS" check --only "$sep"
        loud "collector errors in: ${bad[*]}" "$(sort -u "$LOGROOT/collector-errors.txt" 2>/dev/null)"
    fi
}

# --------------------------------------------------------------------------
# Phase 2: the shell snapshot from cron
# --------------------------------------------------------------------------
write_snapshot() {
    SNAP="$TMP/snapshot.sh"
    cat >"$SNAP" <<'EOF'
#!/bin/bash
# The same information as the collectors, as an administrator would snapshot it
# from cron (the output then still has to be stored and diffed).
{
    dpkg-query -W -f '${Package}:${Architecture} ${Version} ${Status}\n'
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*
    getent passwd; getent group; cat /etc/shadow /etc/gshadow
    cat /etc/sudoers /etc/sudoers.d/*
    cat /proc/modules
    sysctl -a
    ss -ltnup
    if [ -d /run/systemd/system ]; then
        systemctl list-unit-files --no-pager
    else
        ls -lR /etc/systemd/system /lib/systemd/system
    fi
    cat /etc/crontab /etc/cron.d/*
    nft list ruleset
    findmnt -rn
    cat /proc/cmdline
    if [ -z "${SNAP_NO_CERTS:-}" ]; then
        for f in /etc/ssl/certs/*.pem; do openssl x509 -in "$f" -noout -fingerprint -sha256; done
    fi
    /usr/bin/uname -a
} 2>/dev/null | "${SNAP_SINK:-sha256sum}"
EOF
    chmod 755 "$SNAP"
}
# shell_series KEY: RUNS measured runs of the snapshot (environment as set)
shell_series() {
    local key=$1 i line w u s rss rc jb0 jt0 jb1 jt1
    "$SNAP" >/dev/null                                    # warm-up
    wait_idle "$key"
    read -r jb0 jt0 < <(machine_jiffies)
    for ((i = 1; i <= RUNS; i++)); do
        line=$("$PY" "$WORK/bin/measure.py" "$LOGROOT/$key.$i.out" "$LOGROOT/$key.$i.err" "$SNAP")
        read -r w u s rss rc <<<"$line"
        ((rc == 0)) || die "the shell snapshot failed (status $rc); see $LOGROOT/$key.$i.err"
        printf '%s %s %s %s %s %s\n' "$w" "$u" "$s" "$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.4f", u + s }')" "$rss" "$rc" >>"$LOGROOT/$key.tsv"
    done
    read -r jb1 jt1 < <(machine_jiffies)
    R[$key.others]=$(others_busy "$jb0" "$jt0" "$jb1" "$jt1" "$LOGROOT/$key.tsv")
    read -r R[$key.wall] R[$key.wall_max] < <(stats "$LOGROOT/$key.tsv" 1)
    read -r R[$key.cpu] R[$key.cpu_max] < <(stats "$LOGROOT/$key.tsv" 4)
}
phase_shell() {
    write_snapshot
    SNAP_SINK='cat' "$SNAP" >"$LOGROOT/snapshot.txt"      # once, untimed: what it captures
    R[shell.lines]=$(wc -l <"$LOGROOT/snapshot.txt"); R[shell.bytes]=$(wc -c <"$LOGROOT/snapshot.txt")
    say "shell snapshot: $RUNS runs"
    shell_series shell
    say "shell snapshot without the certificate loop: $RUNS runs"
    SNAP_NO_CERTS=1 shell_series shellnc
}

# --------------------------------------------------------------------------
# Phase 3: the daemon, idle
# --------------------------------------------------------------------------
# CPU ticks of a process: utime + stime + cutime + cstime (reaped children,
# e.g. the commands of [exec.*], included), plus its live children.
cpu_ticks() {
    local p=$1 t c
    t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' /proc/"$p"/stat)
    for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
        t=$((t + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' /proc/"$c"/stat 2>/dev/null || echo 0)))
    done
    echo "$t"
}
sched_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f", s }'; }
vcsw() { cat /proc/"$1"/task/*/status | awk '/^voluntary_ctxt_switches/ { s += $2 } END { print s + 0 }'; }

# daemon_window INTERVAL KEY: start the daemon with [collect] interval =
# INTERVAL, wait until ready, then half an interval (30 s for the reference),
# then measure IDLE_SECONDS: a whole number of intervals, with the
# collections well inside the window.
daemon_window() {
    local interval=$1 key=$2 offset t_ready t0 c0 s0 v0 jb0 jt0 t1 c1 s1 v1 jb1 jt1 deadline
    setup_vigil "$interval"
    rm -rf "$TMP/run"; mkdir -p "$TMP/run"
    wait_idle "daemon, interval $interval"
    local log="$LOGROOT/daemon-$interval"
    t0=$(date +%s%N)
    "${V[@]}" --runtime-dir "$TMP/run" daemon >"$log.out" 2>"$log.err" &
    DPID=$!
    deadline=$((SECONDS + READY_TIMEOUT))
    while :; do
        kill -0 "$DPID" 2>/dev/null || { wait "$DPID" || true; DPID=""; die "the daemon (interval $interval) exited before it was ready: $(tail -n 3 "$log.err" | tr '\n' ' ')"; }
        if "${V[@]}" --runtime-dir "$TMP/run" --json status >"$log.status-ready.json" 2>/dev/null &&
            [[ $(jq -r '.ready // false' "$log.status-ready.json") == true ]]; then
            break
        fi
        ((SECONDS < deadline)) || die "the daemon (interval $interval) was not ready after $READY_TIMEOUT s"
        sleep 0.1
    done
    t_ready=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
    if ((interval < REF_INTERVAL)); then offset=$(awk -v i="$interval" 'BEGIN { print i / 2 }'); else offset=30; fi
    ((QUICK)) && ((interval >= REF_INTERVAL)) && offset=5
    say "daemon, [collect] interval = $interval: ready after $t_ready s; measuring $IDLE_SECONDS s from $offset s after ready"
    sleep "$offset"
    t0=$(date +%s%N); c0=$(cpu_ticks "$DPID"); s0=$(sched_ns "$DPID"); v0=$(vcsw "$DPID"); read -r jb0 jt0 < <(machine_jiffies)
    sleep "$IDLE_SECONDS"
    kill -0 "$DPID" 2>/dev/null || die "the daemon (interval $interval) stopped during the window: $(tail -n 3 "$log.err" | tr '\n' ' ')"
    t1=$(date +%s%N); c1=$(cpu_ticks "$DPID"); s1=$(sched_ns "$DPID"); v1=$(vcsw "$DPID"); read -r jb1 jt1 < <(machine_jiffies)
    "${V[@]}" --runtime-dir "$TMP/run" --json status >"$log.status-end.json" 2>&1 || true
    kill -TERM "$DPID"; wait "$DPID" || true; DPID=""
    local wall cpu_s sched_s
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    cpu_s=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", t / hz }')
    sched_s=$(awk -v n=$((s1 - s0)) 'BEGIN { printf "%.4f", n / 1e9 }')
    R[$key.interval]=$interval
    R[$key.ready]=$t_ready
    R[$key.wall]=$wall
    R[$key.cpu]=$cpu_s
    R[$key.sched]=$sched_s
    R[$key.pct]=$(awk -v c="$cpu_s" -v w="$wall" 'BEGIN { printf "%.3f", 100 * c / w }')
    R[$key.sched_pct]=$(awk -v c="$sched_s" -v w="$wall" 'BEGIN { printf "%.3f", 100 * c / w }')
    R[$key.collections]=$((interval < REF_INTERVAL ? IDLE_SECONDS / interval : 0))
    R[$key.wakeups]=$(awk -v n=$((v1 - v0)) -v w="$wall" 'BEGIN { printf "%.2f", n / w }')
    R[$key.others]=$(awk -v b=$((jb1 - jb0 - (c1 - c0))) -v t=$((jt1 - jt0)) 'BEGIN { v = t > 0 ? 100 * b / t : 0; printf "%.0f", (v < 0 ? 0 : v) }')
    R[$key.errors]=$(jq -r '.errors // "?"' "$log.status-end.json" 2>/dev/null || echo '?')
    R[$key.changes]=$(jq -r '.changes // "?"' "$log.status-end.json" 2>/dev/null || echo '?')
    printf '%s\n' "interval=$interval ready=${t_ready}s wall=${wall}s cpu_ticks=${cpu_s}s schedstat=${sched_s}s vcsw=$((v1 - v0)) others_busy=${R[$key.others]}%" >>"$LOGROOT/daemon.log"
    say "daemon, interval $interval: ${cpu_s} s CPU in ${wall} s = ${R[$key.pct]} % of one core (schedstat ${R[$key.sched_pct]} %)"
}
phase_daemon() {
    local i
    for i in "${INTERVAL_LIST[@]}"; do daemon_window "$i" "d.$i"; done
    daemon_window "$REF_INTERVAL" d.ref
}

# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
g() { printf '%s' "${R[$1]:-}"; }
s_() { [[ -n ${R[$1]:-} ]] && printf '%s s' "${R[$1]}" || printf 'n/a'; }
ratio() {
    if [[ -n $1 && -n $2 ]] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(b > 0) }'; then
        awk -v a="$1" -v b="$2" 'BEGIN { r = a / b; if (r > 0 && r < 1) printf "%.3g (1/%.3g)", r, 1 / r; else printf "%.3g", r }'
    else
        printf '—'
    fi
}
verdict() { [[ -n $1 ]] || { printf 'n/a'; return; }; awk -v a="$1" -v b="$2" 'BEGIN { printf (a <= b ? "MET" : "NOT MET") }'; }

report() {
    local k
    {
        echo "# Collectors (objects beyond files)"
        echo
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), run id $RUN_ID, logs in \`$LOGROOT\`$( ((QUICK)) && echo ', QUICK mode (smoke test; not the reference numbers)')"
        echo "- machine: $NPROC cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), kernel $(uname -r), PID 1 \`$(ps -p 1 -o comm= 2>/dev/null || echo '?')\`; load average at start: $LOAD_START"
        echo "- vigil: \`$VIGIL_SRC\` (built $VIGIL_MTIME, sha256 $VIGIL_SUM...); repository at the start of the run: commit $REPO_HEAD${REPO_DIRTY:+, uncommitted changes to $REPO_DIRTY}"
        echo "- rules: \`KIND:*\` for the ${#KINDS[@]} kinds, no file rules; settings: \`[collect] pki_paths = /etc/ssl/certs\`, one \`[exec.uname]\` (\`/usr/bin/uname -a\`)"
        echo
        if [[ -n ${R[all.wall]:-} ]]; then
            echo "| measurement | target | vigil | shell snapshot | vigil / shell |"
            echo "|---|---|---:|---:|---:|"
            echo "| full collection, all kinds ($(g all.objects) objects, $(g all.errors) errors), wall, median / max of $RUNS | ≤ 1 s | $(g all.wall) / $(g all.wall_max) s | $(g shell.wall)${R[shell.wall]:+ / }$(g shell.wall_max)${R[shell.wall]:+ s} | $(ratio "$(g all.wall)" "$(g shell.wall)") |"
            echo "| same, CPU (user + system, children included), median / max | ≤ 0.5 s | $(g all.cpu) / $(g all.cpu_max) s | $(g shell.cpu)${R[shell.cpu]:+ / }$(g shell.cpu_max)${R[shell.cpu]:+ s} | $(ratio "$(g all.cpu)" "$(g shell.cpu)") |"
            echo "| same, peak RSS | — | $(awk -v k="$(g all.rss)" 'BEGIN { printf "%.1f MiB", k / 1024 }') | — | — |"
            if ((${#BAD_KINDS[@]})); then
                echo "| collection without the failing kinds (${BAD_KINDS[*]}): wall / CPU, median | — | $(g good.wall) / $(g good.cpu) s ($(g good.objects) objects) | — | — |"
            fi
            if [[ -n ${R[shellnc.wall]:-} ]]; then
                echo "| the same without certificates: vigil \`--only\` all kinds but certificate; shell without the \`openssl\` loop (wall / CPU, median) | — | $(g nc.wall) / $(g nc.cpu) s | $(g shellnc.wall) / $(g shellnc.cpu) s | $(ratio "$(g nc.wall)" "$(g shellnc.wall)") / $(ratio "$(g nc.cpu)" "$(g shellnc.cpu)") |"
            fi
            echo "| \`vigil init\`, all kinds: wall / CPU | — | $(g init.wall) / $(g init.cpu) s | — | — |"
            echo "| a run with nothing to collect (\`check --only file\`): wall / CPU, median | — | $(g none.wall) / $(g none.cpu) s | — | — |"
        fi
        if [[ -n ${R[d.ref.wall]:-} ]]; then
            local i
            for i in "${INTERVAL_LIST[@]}"; do
                local t="—" alt="—" rat="—"
                if ((i == 60)); then
                    t="≤ 1 % of one core"
                    if [[ -n ${R[shell.cpu]:-} ]]; then
                        alt="$(awk -v c="$(g shell.cpu)" 'BEGIN { printf "%.3f %%", 100 * c / 60 }') (cron every 60 s)"
                        rat=$(ratio "$(g d.60.pct)" "$(awk -v c="$(g shell.cpu)" 'BEGIN { printf "%.5f", 100 * c / 60 }')")
                    fi
                fi
                echo "| daemon idle, \`[collect] interval = $i\`: CPU / wall over ${IDLE_SECONDS} s (${R[d.$i.collections]} collections) | $t | $(g d.$i.pct) % ($(g d.$i.cpu) s) | $alt | $rat |"
            done
            echo "| daemon idle, no collection in the window (interval $REF_INTERVAL) | — | $(g d.ref.pct) % ($(g d.ref.cpu) s) | — | — |"
            local last=${INTERVAL_LIST[-1]}
            if ((${R[d.$last.collections]:-0} > 0)); then
                echo "| CPU per collection in the daemon ((interval $last − no collection) / ${R[d.$last.collections]}) | — | $(awk -v a="$(g d.$last.cpu)" -v b="$(g d.ref.cpu)" -v n="${R[d.$last.collections]}" 'BEGIN { printf "%.0f ms", 1000 * (a - b) / n }') | — | — |"
            fi
        fi
        echo
        if [[ -n ${R[all.wall]:-} ]]; then
            echo "Per kind (\`vigil check --only KIND\`, median of $KIND_RUNS runs, slowest first; a run that collects nothing, \`--only file\` without file rules, takes $(g none.wall) s wall / $(g none.cpu) s CPU; \"in-run\" is the time vigil's own summary line gives, 10 ms resolution):"
            echo
            echo "| kind | objects | errors | wall | CPU | in-run |"
            echo "|---|---:|---:|---:|---:|---:|"
            for k in "${KINDS[@]}"; do
                printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$k" "$(g k.$k.objects)" "$(g k.$k.errors)" "$(g k.$k.wall)" "$(g k.$k.cpu)" "$(g k.$k.intime)"
            done | sort -t$'\t' -k5,5gr -k4,4gr | awk -F'\t' '{ printf "| %s | %s | %s | %s s | %s s | %s s |\n", $1, $2, $3, $4, $5, $6 }'
            echo
        fi
        echo "Targets:"
        echo
        if [[ -n ${R[all.wall]:-} ]]; then
            echo "- full collection ≤ 1 s wall (every run): max $(g all.wall_max) s -> $(verdict "$(g all.wall_max)" 1)"
            echo "- full collection ≤ 0.5 s CPU (every run): max $(g all.cpu_max) s -> $(verdict "$(g all.cpu_max)" 0.5)"
        fi
        if [[ -n ${R[d.60.pct]:-} ]]; then
            echo "- interval collection idle cost ≤ 1 % of one core (interval 60): $(g d.60.pct) % -> $(verdict "$(g d.60.pct)" 1)"
        fi
        echo
        echo "Details:"
        echo
        [[ -z ${R[all.wall]:-} ]] || echo "- all-kinds runs: exit statuses $(g all.rcs); other processes used $(g all.others) % of the machine's CPU meanwhile; shell snapshot runs: $(g shell.others) % (without certificates: $(g shellnc.others) %)"
        [[ -z ${R[shell.lines]:-} ]] || echo "- shell snapshot: $(g shell.lines) lines, $(g shell.bytes) bytes (\`$LOGROOT/snapshot.txt\`); script \`snapshot.sh\` in the logs"
        local key
        for key in "${INTERVAL_LIST[@]/#/d.}" d.ref; do
            [[ -n ${R[$key.wall]:-} ]] || continue
            echo "- daemon, interval $(g $key.interval): ready $(g $key.ready) s after start; window $(g $key.wall) s; CPU $(g $key.cpu) s from /proc/PID/stat (utime+stime+cutime+cstime), $(g $key.sched) s from schedstat (threads only, $(g $key.sched_pct) %); $(g $key.wakeups) wake-ups/s; $(g $key.changes) changes, $(g $key.errors) errors per status; other processes $(g $key.others) % of the machine"
        done
        if [[ -s $LOGROOT/collector-errors.txt ]]; then
            echo "- collector errors (every run): $(sort -u "$LOGROOT/collector-errors.txt" | sed 's/^vigil: //' | paste -sd';' | sed 's/;/; /g')"
        fi
        local n
        for n in "${NOTES[@]}"; do echo "- $n"; done
    } >"$RESULTS.tmp"
    mv "$RESULTS.tmp" "$RESULTS"
    cp "$RESULTS" "$LOGROOT/results.md"
    [[ -z ${SNAP:-} ]] || cp "$SNAP" "$LOGROOT/snapshot.sh"
    cat "$RESULTS"
}

# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${LOAD_START%% *}" -v n="$NPROC" 'BEGIN { exit !(l > 0.25 * n) }'; then
    say "warning: load average $LOAD_START at start; other work may disturb the measurements"
fi
if ! apt-cache policy osquery 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    note "osquery is not in this machine's apt sources (\`apt-cache policy osquery\` offers no candidate); not compared"
fi
[[ -d /run/systemd/system ]] || note "systemd is not running (PID 1 is \`$(ps -p 1 -o comm=)\`): unit activity is not asked (\`active\` is null); the shell snapshot lists the unit directories instead of \`systemctl list-unit-files\`"
[[ -e /proc/modules ]] || note "no /proc/modules: this kernel has no loadable modules, so the module kind has no objects"
BAD_KINDS=()
phase_checks
((SKIP_SHELL)) || phase_shell
((SKIP_DAEMON)) || phase_daemon
report

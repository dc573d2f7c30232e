# Shared helpers for the numbered integration tests.  Each test is a bash script that
# sources this file, works in its own scratch directory and exits 0 (pass), 1 (fail) or
# 77 (skip).  The binary under test is $VIGIL (set by the test runner).
set -u

: "${VIGIL:?VIGIL must name the vigil binary}"
T=$(mktemp -d "${TMPDIR:-/tmp}/vigil-it.XXXXXX")
# users made by mkuser (which runs in $(...), a subshell) are listed in $T/.users
_remove_users() {
	local u
	[ -f "$T/.users" ] || return 0
	while read -r u; do userdel "$u" >/dev/null 2>&1; done < "$T/.users"
}
# VIGIL_TEST_KEEP=DIR keeps a copy of the scratch directory there (for a failing test)
trap '_remove_users; chattr -R -i -a "$T" >/dev/null 2>&1; [ -n "${VIGIL_TEST_KEEP:-}" ] && rm -rf "$VIGIL_TEST_KEEP" && cp -a "$T" "$VIGIL_TEST_KEEP"; rm -rf "$T"' EXIT
mkdir -p "$T/rules.d" "$T/state"
: > "$T/vigil.conf"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# Writes the rules file $T/rules.d/test.rules from the arguments, one rule per argument.
rules() {
	printf '%s\n' "$@" > "$T/rules.d/test.rules"
}

# Runs vigil with the test's settings, rules and state; stdout to $T/out, stderr to
# $T/err; the exit status is kept in $rc.
v() {
	rc=0
	"$VIGIL" --config "$T/vigil.conf" --rules "$T/rules.d" --state-dir "$T/state" "$@" \
		> "$T/out" 2> "$T/err" || rc=$?
	return 0
}

# expect_rc N: the last v call exited with N.
expect_rc() {
	[ "$rc" -eq "$1" ] || {
		echo "--- stdout"; cat "$T/out"; echo "--- stderr"; cat "$T/err"
		fail "expected exit status $1, got $rc"
	}
}

# out_has REGEX / err_has REGEX / out_lacks REGEX
out_has() { grep -Eq -- "$1" "$T/out" || { cat "$T/out"; fail "stdout lacks /$1/"; }; }
err_has() { grep -Eq -- "$1" "$T/err" || { cat "$T/err"; fail "stderr lacks /$1/"; }; }
out_lacks() { ! grep -Eq -- "$1" "$T/out" || { cat "$T/out"; fail "stdout has /$1/"; }; }

# count_changes KIND: JSON lines of the last run whose change is KIND.
count_changes() {
	grep -c "\"change\":\"$1\"" "$T/out" || true
}

# at_exit CMD: runs CMD when the test exits, before the scratch directory is removed.
# Commands registered later run first.
at_exit() {
	local cmd=$1
	if [ -z "${_exit_chain+x}" ]; then
		eval "set -- $(trap -p EXIT)"
		_exit_chain=${3:-}
		_exit_cmds=()
		trap '_at_exit_run' EXIT
	fi
	_exit_cmds=("$cmd" "${_exit_cmds[@]}")
}
_at_exit_run() {
	local c
	for c in "${_exit_cmds[@]}"; do
		eval "$c" || true
	done
	eval "$_exit_chain"
}

# py ARGS...: python3, preferring the system interpreter (no wrapper start-up cost).
py() {
	if [ -x /usr/bin/python3 ]; then /usr/bin/python3 "$@"; else python3 "$@"; fi
}
# the same interpreter, for servers started in the background ($! must be its own pid,
# not a subshell's, so that the test can stop it)
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

# json_check PYTHON: runs the Python code with `events` bound to the JSON lines of the
# last run's stdout (a list of dicts) and `T` to the scratch directory; any failing
# assertion or invalid line fails the test.
json_check() {
	py -c '
import json, sys
T = sys.argv[2]
events = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
exec(sys.argv[3])
' "$T/out" "$T" "$1" || { cat "$T/out"; fail "JSON check failed"; }
}

# v_in STATE ARGS...: like v, with the state directory STATE instead of $T/state.
v_in() {
	local state=$1
	shift
	rc=0
	"$VIGIL" --config "$T/vigil.conf" --rules "$T/rules.d" --state-dir "$state" "$@" \
		> "$T/out" 2> "$T/err" || rc=$?
	return 0
}

# sql DB STATEMENTS: runs SQL statements (separated by ';') on the SQLite database DB.
sql() {
	py -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript(sys.argv[2])
db.commit()
' "$1" "$2" || fail "SQL failed: $2"
}

# sql_value DB QUERY: prints the first column of each row the query returns.
sql_value() {
	py -c '
import sqlite3, sys
for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]):
    print(row[0])
' "$1" "$2" || fail "SQL failed: $2"
}

# out_json EXPR: prints the Python expression EXPR over `o`, the one JSON value that
# the last run printed on stdout.
out_json() {
	py -c '
import json, sys
o = json.load(open(sys.argv[1], encoding="utf-8"))
print(eval(sys.argv[2]))
' "$T/out" "$1" || { cat "$T/out"; fail "stdout is not one JSON value"; }
}

# flip_byte FILE OFFSET: inverts the lowest bit of the byte at OFFSET (negative: from
# the end) in FILE.
flip_byte() {
	py -c '
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[off] ^= 1
open(p, "wb").write(bytes(b))
' "$1" "$2" || fail "cannot flip byte $2 of $1"
}

# ---- the daemon ----

# vd ARGS...: like v, also naming the test's runtime directory (the daemon's socket).
vd() {
	rc=0
	"$VIGIL" --config "$T/vigil.conf" --rules "$T/rules.d" --state-dir "$T/state" \
		--runtime-dir "$T/run" "$@" > "$T/out" 2> "$T/err" || rc=$?
	return 0
}

# daemon_start: starts `vigil daemon` for the test's tree and waits until it answers.
# With DAEMON_PREFIX set (e.g. "setpriv ..."), the daemon runs under that command, which
# must exec it (the daemon keeps its pid).
daemon_start() {
	${DAEMON_PREFIX:-} "$VIGIL" --config "$T/vigil.conf" --rules "$T/rules.d" --state-dir "$T/state" \
		--runtime-dir "$T/run" daemon >> "$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	if [ -z "${_daemon_cleanup+x}" ]; then
		_daemon_cleanup=1
		at_exit 'kill -CONT $DAEMON_PID 2>/dev/null; kill $DAEMON_PID 2>/dev/null; wait $DAEMON_PID 2>/dev/null'
	fi
	local i
	for i in $(seq 300); do
		# ready: the watcher is armed and the start check recorded what changed offline
		if "$VIGIL" --config "$T/vigil.conf" --state-dir "$T/state" --runtime-dir "$T/run" \
			status --json 2> /dev/null | grep -q '"ready":true'; then
			return 0
		fi
		kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$T/daemon.log"; fail "the daemon exited"; }
		sleep 0.1
	done
	cat "$T/daemon.log"
	fail "the daemon did not become ready"
}

# daemon_stop [SIGNAL]: stops the daemon (TERM by default) and waits for it.
daemon_stop() {
	kill "-${1:-TERM}" "$DAEMON_PID"
	DAEMON_RC=0
	wait "$DAEMON_PID" || DAEMON_RC=$?
}

# as_login UID CMD...: runs CMD with the kernel login uid set to UID (as a login would).
as_login() {
	local uid=$1
	shift
	bash -c 'echo "$0" > /proc/self/loginuid && exec "$@"' "$uid" "$@"
}

# changes_json: the recorded changes, one JSON object per line, into $T/changes.
changes_json() {
	"$VIGIL" --config "$T/vigil.conf" --state-dir "$T/state" --runtime-dir "$T/run" \
		changes --json > "$T/changes" 2> "$T/changes.err" || fail "vigil changes failed: $(cat "$T/changes.err")"
}

# expect_changes SPEC...: waits (up to 30 s) until the changes recorded since the last
# call include, for each SPEC "KIND PATH [ATTR,ATTR...] [EXE]", one matching record,
# and then checks that no other record names one of those paths.  ATTRS "-" skips the
# attribute check; EXE is the basename of process.executable (or the process name).
# With EXPECT_AUID set, the record's login uid must be that one (or absent for a
# process that had exited before the daemon could read it).
EXPECT_SEEN=0
expect_changes() {
	local i out
	for i in $(seq 300); do
		changes_json
		if out=$(py - "$T/changes" "$EXPECT_SEEN" "${EXPECT_AUID:-}" "$@" <<'PY'
import json, os, sys
lines = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
seen, auid = int(sys.argv[2]), sys.argv[3]
new = lines[seen:]
specs = [s.split() for s in sys.argv[4:]]
missing = []
for s in specs:
    kind, path = s[0], s[1]
    attrs = s[2] if len(s) > 2 else "-"
    exe = s[3] if len(s) > 3 else None
    ok = False
    for e in new:
        v = e["vigil"]
        if v["change"] != kind or e["file"]["path"] != path:
            continue
        if attrs != "-" and sorted(v.get("attributes", [])) != sorted(attrs.split(",")):
            continue
        # a program that exits at once may be read only as its name (comm)
        proc = e.get("process", {})
        if exe and os.path.basename(proc.get("executable", "")).split(".")[0] != exe and \
                proc.get("name", "").split(".")[0] != exe:
            continue
        # the login uid is read from /proc: a process reaped before the daemon read its
        # events leaves none (recorded as exited, never guessed), but never a wrong one
        got = e.get("user", {}).get("audit", {}).get("id")
        if auid and got != auid and not (got is None and (proc.get("exited") or proc.get("gone"))):
            continue
        ok = True
    if not ok:
        missing.append(" ".join(s))
if missing:
    print("missing: " + "; ".join(missing))
    for e in new:
        print("  have: %s %s %s %s auid=%s" % (e["vigil"]["change"], e["file"]["path"],
              ",".join(e["vigil"].get("attributes", [])),
              e.get("process", {}).get("executable"), e.get("user", {}).get("audit", {}).get("id")))
    sys.exit(2)
paths = {s[1] for s in specs}
counts = {}
for e in new:
    p = e["file"]["path"]
    if p in paths:
        counts[p] = counts.get(p, 0) + 1
extra = [p for p, n in counts.items() if n > sum(1 for s in specs if s[1] == p)]
if extra:
    print("more records than expected for: " + ", ".join(extra))
    for e in new:
        print("  have: %s %s %s" % (e["vigil"]["change"], e["file"]["path"], ",".join(e["vigil"].get("attributes", []))))
    sys.exit(1)
print(len(lines))
PY
		); then
			EXPECT_SEEN=$out
			return 0
		fi
		case $out in "more records"*) echo "$out"; fail "unexpected records";; esac
		sleep 0.1
	done
	echo "$out"
	fail "expected changes were not recorded: $*"
}

# settle: lets the daemon read what is still settling, then marks everything so far seen.
settle() {
	sleep "${1:-0.3}"
	changes_json
	EXPECT_SEEN=$(wc -l < "$T/changes")
}

# mkuser NAME: makes Unix user NAME for this test (removed when the test exits, even
# though this runs in a subshell); prints its uid.
mkuser() {
	userdel "$1" >/dev/null 2>&1 || true
	useradd -M -N -s /usr/sbin/nologin "$1" >/dev/null 2>&1 || fail "useradd $1 failed"
	echo "$1" >> "$T/.users"
	id -u "$1"
}

# as_user UID CMD...: v (vigil with the test's files) run by the person whose login uid
# is UID, through root as sudo would leave it (login uid kept, real uid 0).
as_user() {
	local uid=$1
	shift
	rc=0
	as_login "$uid" "$VIGIL" --config "$T/vigil.conf" --rules "$T/rules.d" \
		--state-dir "$T/state" "$@" > "$T/out" 2> "$T/err" || rc=$?
	return 0
}

# iso_at SECONDS: the UTC time SECONDS from now (negative: ago), as RFC 3339.
iso_at() {
	date -u -d "@$(($(date +%s) + $1))" +%Y-%m-%dT%H:%M:%SZ
}

# expect_disposition PATH DISPOSITION [RECORD_ID]: waits (up to 30 s) for the next
# change of PATH since the last expect_* call and checks its disposition, and for an
# authorized one the record that authorized it.
expect_disposition() {
	local i out
	for i in $(seq 300); do
		changes_json
		if out=$(py - "$T/changes" "$EXPECT_SEEN" "$@" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
seen, path, disp = int(sys.argv[2]), sys.argv[3], sys.argv[4]
rec = sys.argv[5] if len(sys.argv) > 5 else None
for n, e in enumerate(lines[seen:]):
    if e["file"]["path"] != path:
        continue
    v = e["vigil"]
    got = v.get("disposition")
    by = v.get("authorization", {}).get("record", {}).get("id")
    if got != disp or (rec and by != rec):
        print("wrong: %s is %s (record %s); reconciliation: %s" % (path, got, by,
              json.dumps(v.get("reconciliation"))))
        sys.exit(1)
    print(seen + n + 1)
    sys.exit(0)
print("none")
sys.exit(2)
PY
		); then
			EXPECT_SEEN=$out
			return 0
		fi
		case $out in wrong:*) echo "$out"; fail "wrong disposition for $2";; esac
		sleep 0.1
	done
	fail "no change of $1 was recorded"
}

# signnote_build: builds tests/interop/signnote (an independent signed-note
# implementation) into $SN, or skips the test when Go or golang.org/x/mod is missing.
signnote_build() {
	local src
	command -v go > /dev/null || skip "no go compiler"
	[ -d /usr/share/gocode/src/golang.org/x/mod ] || skip "golang.org/x/mod is not installed"
	src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/tests/interop/signnote/signnote.go"
	SN="$T/signnote"
	GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$T/gocache" GOFLAGS= \
		go build -o "$SN" "$src" > "$T/gobuild" 2>&1 || { cat "$T/gobuild"; fail "cannot build $src"; }
}

# ---- collected objects (KIND:KEY) ----

# _collected_match FILE OBJECT CHANGE PYEXPR: FILE's JSON lines hold a change of OBJECT of
# kind CHANGE for which PYEXPR (over `e`, the event's "vigil" object) holds.
_collected_match() {
	py - "$@" <<'PY'
import json, sys
evs = []
for l in open(sys.argv[1], encoding="utf-8"):
    try:
        evs.append(json.loads(l))
    except ValueError:
        pass
m = [e["vigil"] for e in evs if isinstance(e, dict) and e.get("vigil", {}).get("object") == sys.argv[2]
     and e["vigil"].get("change") == sys.argv[3]]
if not m:
    sys.exit("no %s of %s" % (sys.argv[3], sys.argv[2]))
for e in m:
    if eval(sys.argv[4]):
        sys.exit(0)
sys.exit("%s of %s, but not as expected (%s): %s" % (sys.argv[3], sys.argv[2], sys.argv[4], m[-1]))
PY
}

# collected_has OBJECT CHANGE [PYEXPR]: the last run printed (JSON) such a change.
collected_has() {
	_collected_match "$T/out" "$1" "$2" "${3:-True}" || { cat "$T/out"; fail "check: see above"; }
}

# daemon_collected OBJECT CHANGE [PYEXPR]: waits up to 30 s for the daemon to record such
# a change (vigil changes --json).
daemon_collected() {
	local i
	for i in $(seq 150); do
		changes_json
		_collected_match "$T/changes" "$1" "$2" "${3:-True}" 2> /dev/null && return 0
		sleep 0.2
	done
	_collected_match "$T/changes" "$1" "$2" "${3:-True}"
	tail -20 "$T/daemon.log"
	fail "the daemon did not record the $2 of $1"
}

# pkg_purge PKG...: purges those of the packages dpkg knows, waiting for the dpkg lock as
# apt-get can (several tests install packages at the same time; dpkg alone would fail).
pkg_purge() {
	local p known=()
	for p in "$@"; do
		case "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" in
		"" | not-installed) ;;
		*) known+=("$p") ;;
		esac
	done
	[ ${#known[@]} -eq 0 ] && return 0
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 -q -y purge "${known[@]}"
}

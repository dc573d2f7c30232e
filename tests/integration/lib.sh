# Shared helpers for the numbered integration tests.  Each test is a bash script that
# sources this file, works in its own scratch directory and exits 0 (pass), 1 (fail) or
# 77 (skip).  The binary under test is $VIGIL (set by the test runner).
set -u

: "${VIGIL:?VIGIL must name the vigil binary}"
T=$(mktemp -d "${TMPDIR:-/tmp}/vigil-it.XXXXXX")
trap 'chattr -R -i -a "$T" >/dev/null 2>&1; rm -rf "$T"' EXIT
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

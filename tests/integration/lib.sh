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

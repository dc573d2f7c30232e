#!/bin/bash
# FIFOs, sockets and device nodes are described from lstat() and never opened: a
# writer blocked on a FIFO in the tree stays blocked through init and check (opening
# the FIFO for reading would release it), both runs finish, the objects are recorded
# with their types, and a mode change is reported as "perms".
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/tree"
echo data > "$T/tree/file"
mkfifo "$T/tree/fifo"
py -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/tree/sock" ||
	fail "cannot create a unix socket"
specials="fifo sock"
# device nodes need CAP_MKNOD; without it the test covers FIFOs and sockets only
if mknod "$T/tree/null" c 1 3 2>/dev/null && mknod "$T/tree/loop" b 7 200 2>/dev/null; then
	specials="$specials null loop"
	have_dev=1
else
	echo "note: mknod not permitted, device nodes not covered" >&2
	rm -f "$T/tree/null" "$T/tree/loop"
	have_dev=0
fi
chmod 0644 "$T/tree/fifo" "$T/tree/sock"
rules "$T/tree/**"

(echo hi > "$T/tree/fifo") &
writer=$!
at_exit "kill $writer 2>/dev/null"
sleep 0.2
kill -0 "$writer" 2>/dev/null || fail "the FIFO writer did not block"

vt() {
	rc=0
	timeout 20 "$VIGIL" --config "$T/vigil.conf" --rules "$T/rules.d" --state-dir "$T/state" "$@" \
		> "$T/out" 2> "$T/err" || rc=$?
	[ "$rc" -ne 124 ] || fail "vigil $* did not finish within 20 s"
}

vt init; expect_rc 0
err_has "baseline of $((4 + 2 * have_dev)) objects recorded \(1 files hashed"
kill -0 "$writer" 2>/dev/null || fail "init opened the FIFO (the blocked writer was released)"
vt check; expect_rc 0
vt check --full; expect_rc 0
kill -0 "$writer" 2>/dev/null || fail "check opened the FIFO (the blocked writer was released)"

for f in $specials; do chmod 0600 "$T/tree/$f"; done
vt check; expect_rc 4
out_has "^modified +fifo +$T/tree/fifo$"
out_has "^modified +socket +$T/tree/sock$"
if [ "$have_dev" = 1 ]; then
	out_has "^modified +char +$T/tree/null$"
	out_has "^modified +block +$T/tree/loop$"
fi
vt --json check --full; expect_rc 4
kill -0 "$writer" 2>/dev/null || fail "check --full opened the FIFO"
json_check '
types = {"fifo": "fifo", "sock": "socket", "null": "char", "loop": "block"}
want = {T + "/tree/" + n: t for n, t in types.items() if n in "'"$specials"'".split()}
got = {}
for e in events:
    v = e["vigil"]
    assert v["change"] == "modified", e
    assert v["attributes"] == ["perms", "ctime"], e
    assert v["before"]["perms"] == "0644" and v["after"]["perms"] == "0600", e
    assert "hash" not in e["file"], e
    got[e["file"]["path"]] = e["file"]["type"]
assert got == want, (got, want)
'

# a device node that changes its numbers is reported as rdev
if [ "$have_dev" = 1 ]; then
	rm "$T/tree/null"
	mknod -m 0600 "$T/tree/null" c 1 5
	vt check; expect_rc 4
	out_has "^ +rdev +1:3 -> 1:5$"
fi

# opening the FIFO ourselves shows the writer really was waiting for a reader
cat "$T/tree/fifo" > "$T/fifo-data"
wait "$writer" || fail "the FIFO writer failed"
[ "$(cat "$T/fifo-data")" = hi ] || fail "the FIFO writer's data is missing"

# under strace (where available): no open of a special file other than O_PATH
if command -v strace >/dev/null 2>&1 && strace -f -qq -o /dev/null true 2>/dev/null; then
	(echo hi > "$T/tree/fifo") &
	writer=$!
	at_exit "kill $writer 2>/dev/null"
	rc=0
	# (LeakSanitizer cannot run under ptrace; harmless for other builds)
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	timeout 20 strace -f -qq -y -e trace=open,openat,openat2 -o "$T/trace" \
		"$VIGIL" --config "$T/vigil.conf" --rules "$T/rules.d" --state-dir "$T/state" \
		check --full > "$T/out" 2> "$T/err" || rc=$?
	expect_rc 4
	# -y shows the path behind each descriptor, also for reopens through /proc
	grep -q "/tree/file>" "$T/trace" || fail "the trace shows no path names"
	for f in $specials; do
		if grep -E "(/tree/$f>|/tree>, \"$f\")" "$T/trace" | grep -v O_PATH | grep -q .; then
			grep -E "(/tree/$f>|/tree>, \"$f\")" "$T/trace"
			fail "$T/tree/$f was opened"
		fi
	done
	kill -0 "$writer" 2>/dev/null || fail "the FIFO was opened under strace"
fi
exit 0

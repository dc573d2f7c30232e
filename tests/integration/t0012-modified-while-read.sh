#!/bin/bash
# A file appended to while it is hashed is noticed (size and times differ before and
# after the read, on every attempt): init warns that it "changed while it was read",
# marks the JSON event unstable, still records it and completes; check does the same
# and reports the growth.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/tree"
dd if=/dev/zero of="$T/tree/big" bs=1M count=256 status=none || fail "cannot write the file"
echo small > "$T/tree/small"
rules "$T/tree/**" "=$T/tree perms+owner"

# writer: appends one byte at a time, as fast as it can, until told to stop (some
# hundreds of KiB a second: every read of 256 MiB overlaps many appends)
start_writer() {
	rm -f "$T/stop"
	py - "$T/tree/big" "$T/stop" <<'EOF' &
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
n = 0
while True:
    os.write(fd, b"x")
    n += 1
    if n % 4096 == 0 and os.path.exists(sys.argv[2]):
        break
EOF
	writer=$!
	at_exit "touch '$T/stop'; kill $writer 2>/dev/null"
	local size0
	size0=$(stat -c %s "$T/tree/big")
	for _ in $(seq 100); do
		[ "$(stat -c %s "$T/tree/big")" != "$size0" ] && return 0
		sleep 0.05
	done
	fail "the writer does not write"
}
stop_writer() {
	touch "$T/stop"
	wait "$writer" || fail "the writer failed"
}

start_writer
v init
stop_writer
expect_rc 0
err_has "^vigil: warning: '$T/tree/big' changed while it was read; its values are from the last attempt$"
[ "$(grep -c warning "$T/err")" = 1 ] || { cat "$T/err"; fail "one warning"; }
err_has "baseline of 3 objects recorded"
[ ! -s "$T/out" ] || { cat "$T/out"; fail "init printed something"; }
# the same as JSON: the warning is an event on stdout
start_writer
v --json init --force
stop_writer
expect_rc 0
json_check '
assert len(events) == 1, events
e = events[0]
assert e["file"]["path"] == T + "/tree/big", e["file"]
assert e["vigil"]["change"] == "unstable" and e["vigil"]["unstable"] is True, e["vigil"]
assert e["event"]["kind"] == "event", e["event"]
'

# at rest: a check sees the file as it is now, larger than what init recorded
v check; expect_rc 4
out_has "^modified +file +$T/tree/big$"
out_has "^ +size +[0-9]+ -> [0-9]+$"
[ ! -s "$T/err" ] || ! grep -q warning "$T/err" || fail "a warning at rest"

# a check while it grows: the warning, and the modification
v init --force; expect_rc 0
start_writer
v check
stop_writer
expect_rc 4
err_has "^vigil: warning: '$T/tree/big' changed while it was read"
out_has "^modified +file +$T/tree/big$"
v init --force; expect_rc 0
start_writer
v --json check
stop_writer
expect_rc 4
json_check '
kinds = sorted((e["vigil"]["change"], e["file"]["path"]) for e in events)
assert kinds == [("modified", T + "/tree/big"), ("unstable", T + "/tree/big")], kinds
m = [e for e in events if e["vigil"]["change"] == "modified"][0]
assert "size" in m["vigil"]["attributes"], m["vigil"]
assert m["vigil"]["before"]["size"] < m["vigil"]["after"]["size"], m["vigil"]
assert m["vigil"].get("unstable") is True, m["vigil"]
'
exit 0

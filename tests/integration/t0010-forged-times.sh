#!/bin/bash
# Forged timestamps do not hide a change: content rewritten with the same size and the
# modification time set back (touch -r) still changes the ctime, which makes the quick
# check rehash and report the new sha256; a bare "touch" to the same time is reported
# as a ctime change; a time forged to differ only in nanoseconds is shown in full.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/tree"
printf 'original content\n' > "$T/tree/f"
touch -d @1580608922.123456789 "$T/tree/f"
cp -p "$T/tree/f" "$T/ref"
rules "$T/tree/**" "=$T/tree perms+owner"

v init; expect_rc 0
sleep 0.05	# make sure the kernel's ctime clock moves on
printf 'tampered content\n' > "$T/tree/f"
touch -r "$T/ref" "$T/tree/f"
[ "$(stat -c %y%s "$T/tree/f")" = "$(stat -c %y%s "$T/ref")" ] || fail "could not forge mtime and size"
v check; expect_rc 4
out_has "^modified +file +$T/tree/f$"
out_lacks "^ +(mtime|size) "
out_has "^ +ctime +"
out_has "^ +sha256 +$(printf 'original content\n' | sha256sum | cut -c1-64) -> $(printf 'tampered content\n' | sha256sum | cut -c1-64)$"
v --json check; expect_rc 4
json_check '
assert len(events) == 1 and events[0]["vigil"]["attributes"] == ["ctime", "sha256"], events
'

# touching to the very same time still moves the ctime
v init --force; expect_rc 0
sleep 0.05
touch -r "$T/ref" "$T/tree/f"
v check; expect_rc 4
v --json check; expect_rc 4
json_check '
assert len(events) == 1, events
v = events[0]["vigil"]
assert v["attributes"] == ["ctime"], v
assert v["before"]["ctime"] < v["after"]["ctime"], v
'

# a time that differs below the second, even below the microsecond
v init --force; expect_rc 0
touch -d @1580608922.123456788 "$T/tree/f"
v check; expect_rc 4
out_has "^ +mtime +2020-02-02T02:02:02\.123456789Z -> 2020-02-02T02:02:02\.123456788Z$"
out_has "^ +ctime +"
out_lacks "sha256"
v check --full; expect_rc 4
out_lacks "sha256"
exit 0

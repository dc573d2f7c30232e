#!/bin/bash
# "growing" files may only be appended to: an append is no change, while a rewrite of
# the recorded part (even with more appended after it) and a truncation are; a file
# without "growing" that is appended to is modified.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/log"
printf 'line 1\nline 2\n' > "$T/log/app.log"
printf 'line 1\nline 2\n' > "$T/log/plain.log"
rules "$T/log/app.log growing" "$T/log/plain.log"

v init; expect_rc 0
err_has "baseline of 2 objects recorded"
orig=$(sha256sum < "$T/log/app.log" | cut -c1-64)

for i in 3 4 5; do
	printf 'line %d\n' "$i" >> "$T/log/app.log"
	v check; expect_rc 0
	[ ! -s "$T/out" ] || { cat "$T/out"; fail "an append to a growing file was reported"; }
done
v check --full; expect_rc 0

# the recorded part rewritten with the same bytes count, and more appended
printf 'LINE 1\nline 2\nline 3\nline 4\nline 5\nline 6\n' > "$T/log/app.log.new"
dd if="$T/log/app.log.new" of="$T/log/app.log" conv=notrunc status=none
v check; expect_rc 4
out_has "^modified +file +$T/log/app.log$"
out_has "^ +sha256 +$orig -> $(sha256sum < "$T/log/app.log" | cut -c1-64)$"
out_has "^ +size +14 -> 42$"
v --json check; expect_rc 4
json_check '
assert len(events) == 1, events
a = events[0]["vigil"]["attributes"]
assert "sha256" in a and "size" in a, a
'

# the same rewrite without growing the file is modified too
v init --force; expect_rc 0
printf 'line 1\nLINE 2\n' | dd of="$T/log/app.log" conv=notrunc status=none
v check; expect_rc 4
out_has "^modified +file +$T/log/app.log$"
out_has "^ +sha256 "
out_lacks "^ +size "

# truncation
v init --force; expect_rc 0
truncate -s 7 "$T/log/app.log"
v check; expect_rc 4
out_has "^modified +file +$T/log/app.log$"
out_has "^ +size +42 -> 7$"
out_has "^ +sha256 "
# emptied and written again, longer, with other first bytes: not an append
v init --force; expect_rc 0
: > "$T/log/app.log"
printf 'rotated\nline 2\n' >> "$T/log/app.log"
v check; expect_rc 4
out_has "^ +sha256 "
out_has "^ +size +7 -> 15$"

# a file that is not "growing": an append is a modification
v init --force; expect_rc 0
printf 'line 3\n' >> "$T/log/plain.log"
v check; expect_rc 4
out_has "^modified +file +$T/log/plain.log$"
out_has "^ +size +14 -> 21$"
out_has "^ +sha256 "
out_lacks "app.log"
exit 0

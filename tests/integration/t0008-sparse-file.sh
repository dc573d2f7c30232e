#!/bin/bash
# A sparse 10 GiB file is hashed correctly (holes hashed as the zeros they read as,
# without reading them): the baseline SHA-256 equals the known answer for 10 GiB of
# zeros, and one byte written in the middle changes it to the known answer for that
# content.  Hashes 10 GiB twice: some 10 to 30 s.
. "$(dirname "$0")/lib.sh"

# sha256 of 10 GiB of zero bytes (head -c 10G /dev/zero | sha256sum)
ZERO_10G=732377e7f4a2abdc13ddfa1eb4c9c497fd2a2b294674d056cf51581b47dd586d
# sha256 of 5 GiB of zeros, "x", then 5 GiB - 1 of zeros
X_AT_5G=9dddb7f628325112e2eaf5587a3651cb885c9b2c87b3ea67e2c24e8ae783fc51

mkdir -p "$T/tree"
truncate -s 10G "$T/tree/sparse" 2>/dev/null || skip "cannot create a 10 GiB sparse file"
[ "$(stat -c %b "$T/tree/sparse")" -lt 1024 ] || skip "the file system does not keep holes"
rules "=$T/tree/sparse content"

v init; expect_rc 0
err_has "baseline of 1 objects recorded \(1 files hashed, 10240\.0 MiB\)"

printf x | dd of="$T/tree/sparse" bs=1 seek=$((5 * 1024 * 1024 * 1024)) conv=notrunc status=none ||
	fail "cannot write into the sparse file"
[ "$(stat -c %s "$T/tree/sparse")" = 10737418240 ] || fail "the size changed"
v --json check; expect_rc 4
json_check '
assert len(events) == 1, events
e = events[0]
assert e["file"]["size"] == 10737418240, e["file"]
assert e["vigil"]["attributes"] == ["sha256"], e["vigil"]
assert e["vigil"]["before"]["sha256"] == "'$ZERO_10G'", e["vigil"]["before"]
assert e["vigil"]["after"]["sha256"] == "'$X_AT_5G'", e["vigil"]["after"]
assert e["file"]["hash"]["sha256"] == "'$X_AT_5G'", e["file"]
'
exit 0

#!/bin/bash
# Hard links: every name of an inode is an object of its own.  A content change made
# through one name is reported for every name, and a new link shows as "nlink" on the
# names that existed.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/tree/sub"
echo one > "$T/tree/a"
ln "$T/tree/a" "$T/tree/sub/b"
echo other > "$T/tree/other"
rules "$T/tree/**" "=$T/tree perms+owner" "=$T/tree/sub perms+owner"

v init; expect_rc 0
err_has "baseline of 5 objects recorded \(3 files hashed"
v check; expect_rc 0

echo two > "$T/tree/a"
v check; expect_rc 4
[ "$(grep -c '^modified' "$T/out")" = 2 ] || { cat "$T/out"; fail "two modified"; }
out_has "^modified +file +$T/tree/a$"
out_has "^modified +file +$T/tree/sub/b$"
[ "$(grep -Ec '^ +sha256 ' "$T/out")" = 2 ] || fail "sha256 for both names"
v --json check; expect_rc 4
json_check '
ev = {e["file"]["path"]: e for e in events}
assert set(ev) == {T + "/tree/a", T + "/tree/sub/b"}, sorted(ev)
a, b = ev[T + "/tree/a"], ev[T + "/tree/sub/b"]
assert a["file"]["inode"] == b["file"]["inode"]
for e in (a, b):
    assert "sha256" in e["vigil"]["attributes"], e["vigil"]
    assert "nlink" not in e["vigil"]["attributes"], e["vigil"]
assert a["vigil"]["before"]["sha256"] == b["vigil"]["before"]["sha256"]
assert a["vigil"]["after"]["sha256"] == b["vigil"]["after"]["sha256"]
'

v init --force; expect_rc 0
ln "$T/tree/sub/b" "$T/tree/c"
v check; expect_rc 5
out_has "^added +file +$T/tree/c$"
v --json check; expect_rc 5
json_check '
ev = {e["file"]["path"]: e for e in events}
assert set(ev) == {T + "/tree/a", T + "/tree/sub/b", T + "/tree/c"}, sorted(ev)
assert ev[T + "/tree/c"]["vigil"]["change"] == "added"
for p in ("/tree/a", "/tree/sub/b"):
    v = ev[T + p]["vigil"]
    assert v["change"] == "modified", v
    assert v["attributes"] == ["nlink", "ctime"], v
    assert v["before"]["nlink"] == 2 and v["after"]["nlink"] == 3, v
'
# dropping a link: the name is removed, the others see nlink fall back
v init --force; expect_rc 0
rm "$T/tree/a"
v check; expect_rc 6
out_has "^removed +file +$T/tree/a$"
out_has "^ +nlink +3 -> 2$"
[ "$(grep -c '^modified' "$T/out")" = 2 ] || { cat "$T/out"; fail "b and c modified"; }
out_lacks "other"
exit 0

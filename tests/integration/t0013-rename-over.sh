#!/bin/bash
# Replacing a file by renaming another over it (editors, sed -i, dpkg's *.dpkg-new) is a
# modification of that file with a new inode, and the content change if any; the
# temporary name, gone by check time, is neither added nor removed.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/tree/etc"
printf 'key = 1\n' > "$T/tree/etc/app.conf"
printf 'binary v1\n' > "$T/tree/prog"
printf 'same\n' > "$T/tree/same"
rules "$T/tree/**" "=$T/tree perms+owner" "=$T/tree/etc perms+owner"

v init; expect_rc 0
ino() { stat -c %i "$1"; }

# an editor's save: write a copy, rename it over the original
old_ino=$(ino "$T/tree/etc/app.conf")
cp "$T/tree/etc/app.conf" "$T/tree/etc/app.conf.tmp"
printf 'key = 2\n' >> "$T/tree/etc/app.conf.tmp"
mv "$T/tree/etc/app.conf.tmp" "$T/tree/etc/app.conf"
new_ino=$(ino "$T/tree/etc/app.conf")
[ "$old_ino" != "$new_ino" ] || fail "mv kept the inode"
# dpkg: unpack to *.dpkg-new, rename over
old_prog=$(ino "$T/tree/prog")
printf 'binary v2\n' > "$T/tree/prog.dpkg-new"
chmod 0755 "$T/tree/prog.dpkg-new"
mv "$T/tree/prog.dpkg-new" "$T/tree/prog"
# the same bytes, renamed over: only the inode (and its times) tell
cp "$T/tree/same" "$T/tree/.same.swp"
mv "$T/tree/.same.swp" "$T/tree/same"

v check; expect_rc 4
[ "$(grep -c '^[a-z]' "$T/out")" = 3 ] || { cat "$T/out"; fail "three modified"; }
out_has "^modified +file +$T/tree/etc/app.conf$"
out_has "^ +inode +$old_ino -> $new_ino$"
out_has "^modified +file +$T/tree/prog$"
out_has "^ +perms +0644 -> 0755$"
out_has "^ +inode +$old_prog -> $(ino "$T/tree/prog")$"
out_has "^modified +file +$T/tree/same$"
out_lacks "conf\.tmp|dpkg-new|\.swp|^added|^removed"
v --json check; expect_rc 4
json_check '
ev = {e["file"]["path"][len(T) + 6:]: e["vigil"] for e in events}
assert sorted(ev) == ["etc/app.conf", "prog", "same"], sorted(ev)
for p in ("etc/app.conf", "prog"):
    assert "inode" in ev[p]["attributes"] and "sha256" in ev[p]["attributes"], ev[p]
    assert ev[p]["change"] == "modified"
assert "inode" in ev["same"]["attributes"], ev["same"]
assert "sha256" not in ev["same"]["attributes"], ev["same"]
assert "size" in ev["etc/app.conf"]["attributes"], ev["etc/app.conf"]
'

# sed -i does the same
v init --force; expect_rc 0
sed -i 's/1/3/' "$T/tree/etc/app.conf"
v check; expect_rc 4
[ "$(grep -c '^[a-z]' "$T/out")" = 1 ] || { cat "$T/out"; fail "one modified"; }
out_has "^modified +file +$T/tree/etc/app.conf$"
out_has "^ +inode "
out_has "^ +sha256 "
exit 0

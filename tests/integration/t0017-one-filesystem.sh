#!/bin/bash
# one-filesystem: with the keyword on a tree rule (or one_filesystem = true in
# vigil.conf) the walk records a mount point below the root but nothing inside it;
# without it, the other file system's contents are recorded and checked like the rest.
# Needs to mount a tmpfs (root, mount permitted); skipped otherwise.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/tree/mnt"
echo out > "$T/tree/outside"
mount -t tmpfs -o size=1m vigil-it "$T/tree/mnt" 2>/dev/null || skip "cannot mount a tmpfs"
at_exit "umount '$T/tree/mnt' 2>/dev/null"
mkdir "$T/tree/mnt/sub"
echo in > "$T/tree/mnt/inside"
echo in > "$T/tree/mnt/sub/deep"

# with the keyword: tree, outside, mnt (the mount point itself); nothing inside
rules "$T/tree/** one-filesystem"
v init; expect_rc 0
err_has "baseline of 3 objects recorded \(1 files hashed"
echo changed > "$T/tree/mnt/sub/deep"
chmod 700 "$T/tree/mnt/sub"
v check; expect_rc 0
[ ! -s "$T/out" ] || { cat "$T/out"; fail "a change inside the mount was reported"; }
# the mount point itself is recorded (it shows the mounted root)
chmod 700 "$T/tree/mnt"
echo x > "$T/tree/mnt/new"
v check; expect_rc 4
[ "$(grep -c '^[a-z]' "$T/out")" = 1 ] || { cat "$T/out"; fail "only the mount point"; }
out_has "^modified +dir +$T/tree/mnt$"
out_has "^ +perms +1777 -> 0700$"
echo changed > "$T/tree/outside"
v check; expect_rc 4
out_has "^modified +file +$T/tree/outside$"

# without it: everything inside is recorded and checked
chmod 1777 "$T/tree/mnt"
rules "$T/tree/**"
v init --force; expect_rc 0
err_has "baseline of 7 objects recorded \(4 files hashed"
echo again > "$T/tree/mnt/sub/deep"
rm "$T/tree/mnt/new"
v check; expect_rc 6
out_has "^modified +file +$T/tree/mnt/sub/deep$"
out_has "^removed +file +$T/tree/mnt/new$"
out_has "^modified +dir +$T/tree/mnt$"
v --json check; expect_rc 6
json_check '
paths = sorted(e["file"]["path"] for e in events)
assert paths == [T + "/tree/mnt", T + "/tree/mnt/new", T + "/tree/mnt/sub/deep"], paths
'

# the setting does the same for every rule
printf '[scan]\none_filesystem = true\n' > "$T/vigil.conf"
v init --force; expect_rc 0
err_has "baseline of 3 objects recorded \(1 files hashed"
echo once-more > "$T/tree/mnt/sub/deep"
v check; expect_rc 0
[ ! -s "$T/out" ] || { cat "$T/out"; fail "a change inside the mount was reported (setting)"; }
exit 0

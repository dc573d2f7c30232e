#!/bin/bash
# The daemon sees what real programs do, each as exactly the change expected, with the
# program that did it and the person's login uid (fanotify).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (fanotify)"
D=$T/tree
mkdir -p "$D/etc" "$D/a" "$D/b" "$D/noise" "$D/root/etc"
printf 'one\ntwo\n' > "$D/etc/app.conf"
printf 'x\n' > "$D/etc/other.conf"
printf 'keep\n' > "$D/a/moving"
printf 'v1\n' > "$D/etc/swap-target-1"
printf 'v2\n' > "$D/etc/swap-target-2"
ln -s swap-target-1 "$D/etc/current"
printf 'data\n' > "$D/etc/linked"
printf 'recreate\n' > "$D/etc/recreated"
printf 'root:x:0:0:root:/root:/bin/bash\n' > "$D/root/etc/passwd"
printf 'root:x:0:\n' > "$D/root/etc/group"
printf 'root:*:19000:0:99999:7:::\n' > "$D/root/etc/shadow"
printf 'root:*::\n' > "$D/root/etc/gshadow"
chmod 600 "$D/root/etc/shadow" "$D/root/etc/gshadow"
rules "$D/**" "!$D/noise/**" "$D/etc/** all"
v init -q; expect_rc 0
daemon_start
EXPECT_AUID=1000

# an editor: vim writes a new file and renames it over the original (backupcopy=no)
as_login 1000 vim -n -es -u NONE -c 'set nobackup nowritebackup backupcopy=no' \
	-c '%s/two/TWO/' -c 'wq' "$D/etc/app.conf"
expect_changes "modified $D/etc/app.conf - vim"
settle

# sed -i: a temporary file renamed over the original (new inode)
as_login 1000 sed -i 's/x/y/' "$D/etc/other.conf"
expect_changes "modified $D/etc/other.conf - sed"
settle

# cp: a new file
as_login 1000 cp "$D/etc/other.conf" "$D/etc/copied"
expect_changes "added $D/etc/copied - cp"
settle

# mv across directories: gone here, there now
as_login 1000 mv "$D/a/moving" "$D/b/moving"
expect_changes "removed $D/a/moving - mv" "added $D/b/moving - mv"
settle

# install: a new file with a mode, which install sets just after closing the file; the
# daemon's grace after a close normally joins both, but a loaded machine may split them
as_login 1000 install -m 0750 "$D/etc/other.conf" "$D/etc/installed"
for i in $(seq 300); do changes_json; grep -q "$D/etc/installed" "$T/changes" && break; sleep 0.1; done
settle 0.3
[ "$(stat -c %a "$D/etc/installed")" = 750 ] || fail "install did not set the mode"
py - "$T/changes" "$D/etc/installed" <<'PY' || fail "install: the last record does not hold mode 0750"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
recs = [e for e in recs if e["file"]["path"] == sys.argv[2]]
assert recs[0]["vigil"]["change"] == "added", recs
assert recs[-1]["file"]["mode"] == "0750", recs[-1]["file"]
assert len(recs) == 1 or (len(recs) == 2 and recs[1]["vigil"]["attributes"] == ["perms", "ctime"]), recs
PY

# chmod, chown: metadata only
as_login 1000 chmod 0600 "$D/etc/copied"
expect_changes "modified $D/etc/copied perms,ctime chmod"
settle
as_login 1000 chown 1:1 "$D/etc/copied"
expect_changes "modified $D/etc/copied uid,gid,ctime chown"
settle

# extended attributes and ACLs
if as_login 1000 setfattr -n user.note -v hello "$D/etc/installed" 2>/dev/null; then
	expect_changes "modified $D/etc/installed xattrs,ctime setfattr"
	settle
fi
if as_login 1000 setfacl -m u:1:r "$D/etc/installed" 2>/dev/null; then
	expect_changes "modified $D/etc/installed - setfacl"
	settle
fi

# ln: a new symlink; ln -sf: the link swapped for one with another target
as_login 1000 ln -s app.conf "$D/etc/newlink"
expect_changes "added $D/etc/newlink - ln"
settle
as_login 1000 ln -sfn swap-target-2 "$D/etc/current"
expect_changes "modified $D/etc/current - ln"
settle

# truncate: content and size
as_login 1000 truncate -s 2 "$D/etc/swap-target-1"
expect_changes "modified $D/etc/swap-target-1 - truncate"
settle

# touch -d: a forged modification time (the ctime still moves)
as_login 1000 touch -d '2001-01-01 00:00:00' "$D/etc/swap-target-2"
expect_changes "modified $D/etc/swap-target-2 mtime,ctime touch"
settle

# mkdir and rmdir
as_login 1000 mkdir "$D/etc/newdir"
expect_changes "added $D/etc/newdir - mkdir"
settle
as_login 1000 rmdir "$D/etc/newdir"
expect_changes "removed $D/etc/newdir - rmdir"
settle

# a hard link: a new name, and the link count of the old one
as_login 1000 ln "$D/etc/linked" "$D/etc/hardlink"
expect_changes "added $D/etc/hardlink - ln" "modified $D/etc/linked nlink,ctime ln"
settle

# delete and recreate with the same content: a new inode, recorded as two changes
as_login 1000 rm "$D/etc/recreated"
expect_changes "removed $D/etc/recreated - rm"
as_login 1000 bash -c "printf 'recreate\n' > '$D/etc/recreated'"
expect_changes "added $D/etc/recreated - bash"
settle

# useradd in a test root: lock files, a temporary copy, a rename over /etc/passwd
if useradd --help 2>&1 | grep -q -- --prefix; then
	as_login 1000 useradd --prefix "$D/root" -M -N -u 4242 -g 0 -s /bin/false vigiltest ||
		fail "useradd failed"
	expect_changes "modified $D/root/etc/passwd - useradd" "modified $D/root/etc/shadow - useradd"
	settle
fi

# a program rewritten and run at once by the same process: the kernel merges the write
# and the exec into one event, and the write still counts
printf '#!/bin/sh\nexit 0\n' > "$D/etc/tool"
chmod 755 "$D/etc/tool"
settle
as_login 1000 python3 -c 'import os, sys
p = sys.argv[1]
with open(p, "a") as f:
    f.write("# changed\n")
os.execv(p, [p])' "$D/etc/tool"
expect_changes "modified $D/etc/tool -"
settle

# a directory renamed: gone under one name, there under the other, and the directory
# holding both changed
as_login 1000 mkdir "$D/etc/dir1"
settle
as_login 1000 mv "$D/etc/dir1" "$D/etc/dir2"
expect_changes "removed $D/etc/dir1 - mv" "added $D/etc/dir2 - mv" "modified $D/etc - mv"
settle

# what is excluded is not recorded, however busy
for i in $(seq 200); do echo $i > "$D/noise/f$i"; done
sleep 0.5
changes_json
grep -q "$D/noise" "$T/changes" && fail "an excluded path was recorded"

# the login uid was read for most of them (only a process reaped before its events were
# read has none), and never a wrong one
changes_json
py - "$T/changes" <<'PY' || fail "login uids are missing or wrong"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
ids = [e.get("user", {}).get("audit", {}).get("id") for e in recs if "process" in e]
assert ids.count("1000") >= 1, ids
assert all(i in ("1000", None) for i in ids), ids
PY

# every change is in the journal too, with its actor
vd journal tail -n 500 --json; expect_rc 0
grep -q '"executable":"/usr/bin/vim' "$T/out" || { cat "$T/out" | head; fail "the journal lacks the actor"; }

# the daemon says how it watches
vd status --json; expect_rc 0
[ "$(out_json 'o["mode"]')" = fanotify ] || fail "not in fanotify mode"
[ "$(out_json 'o["running"]')" = True ] || fail "status does not say running"

daemon_stop TERM
[ "$DAEMON_RC" -eq 0 ] || { cat "$T/daemon.log"; fail "the daemon did not stop cleanly ($DAEMON_RC)"; }
vd status; expect_rc 3; out_has "not running"
exit 0

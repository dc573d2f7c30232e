#!/bin/bash
# A directory with 200,000 entries: init records them all, an unchanged check finds
# nothing, and one added plus one removed entry are found among them (with the
# directory itself modified).  Slow by nature: allow some 30 s.
. "$(dirname "$0")/lib.sh"

n=200000
# on tmpfs when possible: creating 200,000 files and their baseline rows on a slow
# disk would measure the disk, not vigil
mkdir -p "$T/tree"
if mount -t tmpfs -o size=256m,nr_inodes=300k vigil-it "$T/tree" 2>/dev/null; then
	at_exit "umount '$T/tree'"
	mount -t tmpfs -o size=256m vigil-it "$T/state" && at_exit "umount '$T/state'"
fi
mkdir -p "$T/tree/big"
py - "$T/tree/big" "$n" <<'EOF' || fail "cannot create the entries"
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    fd = os.open("%s/f%06d" % (d, i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    if i % 1000 == 0:
        os.write(fd, b"%d\n" % i)
    os.close(fd)
EOF
rules "$T/tree/**"

v init; expect_rc 0
err_has "baseline of $((n + 2)) objects recorded \($n files hashed"
v check; expect_rc 0
[ ! -s "$T/out" ] || { head "$T/out"; fail "changes in an unchanged tree"; }
err_has "check: $((n + 2)) objects, 0 added, 0 removed, 0 modified, 0 errors"

: > "$T/tree/big/f100000x"
rm "$T/tree/big/f123456"
printf 'changed\n' > "$T/tree/big/f199999"
v check; expect_rc 7
[ "$(grep -c '^[a-z]' "$T/out")" = 4 ] || { cat "$T/out"; fail "four changes expected"; }
out_has "^added +file +$T/tree/big/f100000x$"
out_has "^removed +file +$T/tree/big/f123456$"
out_has "^modified +dir +$T/tree/big$"
out_has "^modified +file +$T/tree/big/f199999$"
out_has "^ +sha256 +e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 -> "
err_has "check: $((n + 2)) objects, 1 added, 1 removed, 2 modified, 0 errors"
# the report comes in key order
[ "$(grep -o "big[/a-z0-9]*$" "$T/out" | tr '\n' ' ')" = "big big/f100000x big/f123456 big/f199999 " ] ||
	{ cat "$T/out"; fail "the changes are out of order"; }
exit 0

#!/bin/bash
# A directory with 200,000 entries: init records them all, an unchanged check finds
# nothing, and one added plus one removed entry are found among them (with the
# directory itself modified).  Slow by nature: allow some 30 s.
. "$(dirname "$0")/lib.sh"

n=200000
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
v check; expect_rc 7
[ "$(wc -l < "$T/out")" = 4 ] || { cat "$T/out"; fail "three changes expected"; }
out_has "^added +file +$T/tree/big/f100000x$"
out_has "^removed +file +$T/tree/big/f123456$"
out_has "^modified +dir +$T/tree/big$"
err_has "check: $((n + 2)) objects, 1 added, 1 removed, 1 modified, 0 errors"
# the report comes in key order
[ "$(grep -o "big/f[0-9x]*" "$T/out" | tr '\n' ' ')" = "big/f100000x big/f123456 " ] ||
	fail "the changes are out of order"

# a modified entry deep in the list, found by content
printf 'changed\n' > "$T/tree/big/f199999"
v check --full; expect_rc 7
out_has "^modified +file +$T/tree/big/f199999$"
exit 0

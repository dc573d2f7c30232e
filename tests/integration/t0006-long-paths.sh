#!/bin/bash
# Paths longer than PATH_MAX (4096 bytes) are walked, recorded and compared: the walk
# works from directory descriptors, never from whole path names.
. "$(dirname "$0")/lib.sh"

comp=$(printf 'd%.0s' $(seq 200))	# a 200-byte name
depth=25
mkdir -p "$T/tree"
(
	cd "$T/tree" || exit 1
	for _ in $(seq $depth); do
		mkdir "$comp" && cd "$comp" || exit 1
	done
	echo deep > file
) || fail "cannot build the deep tree"
deep="$T/tree"
for _ in $(seq $depth); do deep="$deep/$comp"; done
deep="$deep/file"
[ ${#deep} -gt 5000 ] || fail "the path is only ${#deep} bytes"
rules "$T/tree/**"

v init; expect_rc 0
err_has "baseline of $((depth + 2)) objects recorded \(1 files hashed"
v check; expect_rc 0

(
	cd "$T/tree" || exit 1
	for _ in $(seq $depth); do cd "$comp" || exit 1; done
	echo deeper > file
) || fail "cannot modify the deep file"
v check; expect_rc 4
[ "$(grep -c '^modified' "$T/out")" = 1 ] || { cat "$T/out"; fail "one modification"; }
grep -qxF "modified  file     $deep" "$T/out" || fail "the deep file is not reported in full"
out_has "^ +sha256 +[0-9a-f]{64} -> [0-9a-f]{64}$"
out_has "^ +size +5 -> 7$"
line=$(grep '^modified' "$T/out")
[ $((${#line} - 18)) -gt 4096 ] || fail "the printed path is not longer than 4096 bytes"

v --json check; expect_rc 4
json_check '
assert len(events) == 1, events
p = events[0]["file"]["path"]
assert len(p) > 5000 and p.endswith("/file") and p.startswith(T + "/tree/"), len(p)
assert events[0]["file"]["directory"] + "/file" == p
assert p.count("/") == T.count("/") + 1 + '"$depth"' + 1, p.count("/")
'

# a new file next to it and the removal of the whole chain
(
	cd "$T/tree" || exit 1
	for _ in $(seq $depth); do cd "$comp" || exit 1; done
	echo new > new
) || fail "cannot add the deep file"
v check; expect_rc 5
grep -qxF "added     file     ${deep%/file}/new" "$T/out" || { cat "$T/out"; fail "the deep new file"; }
rm -rf "${T:?}/tree/$comp"
v check; expect_rc 6
[ "$(grep -c '^removed' "$T/out")" = $((depth + 1)) ] || { cat "$T/out"; fail "$((depth + 1)) removed"; }
grep -qxF "removed   file     $deep" "$T/out" || fail "the deep file is not reported removed"
exit 0

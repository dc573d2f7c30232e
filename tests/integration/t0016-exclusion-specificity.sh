#!/bin/bash
# The most specific rule decides, whatever the order of the lines: "!/a/*.tmp" carves
# *.tmp out of "/a/**" ('*' never crosses '/', and the exclusion covers what is below an
# excluded directory), "/a/keep.tmp" selects one file back, "/a/d.tmp/keep" one file
# below an excluded directory, and "!=/a/dir" leaves out a directory but not its
# contents.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/a/sub" "$T/a/d.tmp" "$T/a/dir"
files="x.conf y.tmp keep.tmp .hidden.tmp sub/z.tmp d.tmp/inner d.tmp/keep dir/f"
for f in $files; do echo one > "$T/a/$f"; done

for order in forward reverse; do
	if [ $order = forward ]; then
		rules "$T/a/**" "!$T/a/*.tmp" "$T/a/keep.tmp" "$T/a/d.tmp/keep" "!=$T/a/dir"
	else
		rules "!=$T/a/dir" "$T/a/d.tmp/keep" "$T/a/keep.tmp" "!$T/a/*.tmp" "$T/a/**"
	fi
	rm -f "$T/state"/*
	v init; expect_rc 0
	err_has "baseline of 7 objects recorded \(5 files hashed"
	for f in $files; do echo two > "$T/a/$f"; done
	chmod 700 "$T/a" "$T/a/sub" "$T/a/d.tmp" "$T/a/dir"
	echo new > "$T/a/new.tmp"
	echo new > "$T/a/d.tmp/new"
	echo new > "$T/a/dir/new"
	v check; expect_rc 5
	got=$(grep -E '^[a-z]' "$T/out" | awk '{print $1, $3}')
	want="modified $T/a
modified $T/a/d.tmp/keep
modified $T/a/dir/f
added $T/a/dir/new
modified $T/a/keep.tmp
modified $T/a/sub
modified $T/a/sub/z.tmp
modified $T/a/x.conf"
	[ "$got" = "$want" ] || { echo "got:"; echo "$got"; echo "want:"; echo "$want"; fail "$order: wrong set of changes"; }
	v --json check; expect_rc 5
	json_check '
r = {e["file"]["path"][len(T):]: e["vigil"]["rule"]["pattern"][len(T):] for e in events}
assert r == {"/a": "/a/**", "/a/d.tmp/keep": "/a/d.tmp/keep", "/a/dir/new": "/a/**",
             "/a/dir/f": "/a/**", "/a/keep.tmp": "/a/keep.tmp", "/a/sub": "/a/**",
             "/a/sub/z.tmp": "/a/**", "/a/x.conf": "/a/**"}, r
'
	rm -f "$T/a/new.tmp" "$T/a/d.tmp/new" "$T/a/dir/new"
	chmod 755 "$T/a" "$T/a/sub" "$T/a/d.tmp" "$T/a/dir"
	for f in $files; do echo one > "$T/a/$f"; done
done
exit 0

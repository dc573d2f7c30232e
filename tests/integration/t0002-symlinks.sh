#!/bin/bash
# Symbolic links are recorded as links and never followed: neither a link inside a
# monitored tree (to a file or a directory outside it), nor a link that is the top of a
# rule, nor a link on the way to a rule's root.  A changed link target is reported as
# the "target" attribute.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/tree" "$T/outside/dir" "$T/outside/dir2"
echo secret > "$T/outside/file"
echo inner > "$T/outside/dir/inner"
echo plain > "$T/tree/plain"
ln -s ../outside/file "$T/tree/lf"
ln -s "$T/outside/dir" "$T/tree/ld"
rules "$T/tree/**" "=$T/tree perms+owner"

v init; expect_rc 0
err_has "baseline of 4 objects recorded"	# tree, plain, lf, ld: nothing from outside/

# what the links point to changes: nothing monitored changed
echo more >> "$T/outside/file"
echo more >> "$T/outside/dir/inner"
echo new > "$T/outside/dir/new"
v check; expect_rc 0
[ ! -s "$T/out" ] || { cat "$T/out"; fail "changes reported behind a symlink"; }
v check --full; expect_rc 0
[ ! -s "$T/out" ] || { cat "$T/out"; fail "changes reported behind a symlink (--full)"; }

# retargeting a link is a modification of the link, attribute "target"
ln -sfn ../outside/other "$T/tree/lf"
ln -sfn "$T/outside/dir2" "$T/tree/ld"
v check; expect_rc 4
out_has "^modified +symlink +$T/tree/lf$"
out_has "^ +target +\.\./outside/file -> \.\./outside/other$"
out_has "^modified +symlink +$T/tree/ld$"
out_has "^ +target +$T/outside/dir -> $T/outside/dir2$"
out_lacks "inner|new|/outside/dir2/"
v --json check; expect_rc 4
[ "$(count_changes modified)" = 2 ] || fail "two modified, got $(count_changes modified)"
py - "$T/out" "$T" <<'EOF' || fail "JSON events for the links are wrong"
import json, sys
t = sys.argv[2]
ev = {e["file"]["path"]: e for e in map(json.loads, open(sys.argv[1]))}
lf = ev[t + "/tree/lf"]
assert lf["file"]["type"] == "symlink", lf
assert lf["file"]["target_path"] == "../outside/other", lf
assert "target" in lf["vigil"]["attributes"], lf
assert lf["vigil"]["before"]["target"] == "../outside/file", lf
assert lf["vigil"]["after"]["target"] == "../outside/other", lf
ld = ev[t + "/tree/ld"]
assert ld["vigil"]["before"]["target"] == t + "/outside/dir", ld
assert ld["vigil"]["after"]["target"] == t + "/outside/dir2", ld
assert set(ev) == {t + "/tree/lf", t + "/tree/ld"}, sorted(ev)
EOF

# a rule whose top object is a symlink to a directory records the link only
mkdir -p "$T/real/sub" "$T/real2"
echo x > "$T/real/x"
echo y > "$T/real/sub/y"
ln -s real "$T/link"
rules "$T/link/**"
v init --force; expect_rc 0
err_has "baseline of 1 objects recorded"
echo changed > "$T/real/x"
echo changed > "$T/real/sub/y"
v check; expect_rc 0
[ ! -s "$T/out" ] || { cat "$T/out"; fail "the rule's top symlink was followed"; }
ln -sfn real2 "$T/link"
v check; expect_rc 4
out_has "^modified +symlink +$T/link$"
out_has "^ +target +real -> real2$"
ln -sfn real "$T/link"

# a rule whose root lies beyond a symlinked directory: not examined, exit 14
rules "$T/link/sub/**"
v init --force; expect_rc 14
err_has "'$T/link/sub'"
err_has "baseline of 0 objects recorded"
v --json check; expect_rc 14
[ "$(grep -c '"kind":"pipeline_error"' "$T/out")" = 1 ] || { cat "$T/out"; fail "one pipeline_error"; }
grep -q "\"path\":\"$T/link/sub\"" "$T/out" || fail "the error names $T/link/sub"
grep -q '"operation":"resolve"' "$T/out" || fail "the failed operation is resolve"
! grep -q "sub/y" "$T/out" || fail "an object behind the symlink was examined"

# a directory replaced by a symlink after init: the objects recorded below it are not
# examined through the link (errors, exit 14), and not reported as removed either
rm "$T/link"
mkdir -p "$T/link/sub"
echo y > "$T/link/sub/y"
v init --force; expect_rc 0
err_has "baseline of 2 objects recorded"
mv "$T/link" "$T/link.old"
ln -s real "$T/link"
v check; expect_rc 14
err_has "'$T/link/sub'"
err_has "'$T/link/sub/y': not examined"
[ ! -s "$T/out" ] || { cat "$T/out"; fail "changes reported through a symlink"; }
v --json check; expect_rc 14
[ "$(count_changes removed)" = 0 ] || fail "objects reported removed"
[ "$(grep -c '"kind":"pipeline_error"' "$T/out")" = 2 ] || { cat "$T/out"; fail "two pipeline_errors"; }
exit 0

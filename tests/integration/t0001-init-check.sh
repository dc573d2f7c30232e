#!/bin/bash
# init records a baseline; check reports added, removed and modified with the
# AIDE-compatible exit status (1 added + 2 removed + 4 modified).
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/tree/sub"
echo one > "$T/tree/a"
echo two > "$T/tree/sub/b"
echo three > "$T/tree/c"
# the tree, and its top directory without times (adding an entry changes them)
rules "$T/tree/**" "=$T/tree perms+owner"

v init;  expect_rc 0
v check; expect_rc 0
v init;  expect_rc 15; err_has "baseline of 5 objects exists"

echo new > "$T/tree/new"
v check; expect_rc 1; out_has "^added +file +$T/tree/new$"
rm "$T/tree/c"
v check; expect_rc 3; out_has "^removed +file +$T/tree/c$"
echo changed > "$T/tree/sub/b"
v check; expect_rc 7; out_has "^modified +file +$T/tree/sub/b$"; out_has "sha256 +[0-9a-f]{64} -> [0-9a-f]{64}"

v --json check; expect_rc 7
[ "$(count_changes added)" = 1 ] || fail "one added"
[ "$(count_changes removed)" = 1 ] || fail "one removed"
# b only: the top directory's times are not monitored
[ "$(count_changes modified)" = 1 ] || fail "one modified, got $(count_changes modified)"

v init --force; expect_rc 0
v check; expect_rc 0
exit 0

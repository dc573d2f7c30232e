#!/bin/bash
# Objects that cannot be examined make the run incomplete (exit 14) and are named on
# stderr, every time, never silently taken as unchanged; objects recorded below a
# directory that became unreadable are "not examined", not "removed".  Files that vanish
# while the tree is walked are simply not there: never an error.
# The permission part runs vigil as the unprivileged user nobody (root reads anything).
. "$(dirname "$0")/lib.sh"

id nobody >/dev/null 2>&1 || skip "no user nobody"
nogroup=$(id -gn nobody)
command -v setpriv >/dev/null || skip "no setpriv"
chmod 755 "$T"
chown nobody:"$nogroup" "$T/state"
mkdir -p "$T/tree/closed/sub" "$T/tree/locked"
echo ok > "$T/tree/ok"
echo s > "$T/tree/secret"
echo a > "$T/tree/closed/a"
echo b > "$T/tree/closed/sub/b"
echo l > "$T/tree/locked/l"
chmod 000 "$T/tree/secret" "$T/tree/locked"
rules "$T/tree/**" "=$T/tree perms+owner"

asnobody() { setpriv --reuid=nobody --regid="$nogroup" --clear-groups "$@"; }
asnobody "$VIGIL" --version >/dev/null 2>&1 || skip "nobody cannot run $VIGIL"
asnobody test -w "$T/state" -a -r "$T/rules.d/test.rules" || skip "nobody cannot reach $T"

# vn ARGS: like v, as nobody
vn() {
	rc=0
	asnobody "$VIGIL" --config "$T/vigil.conf" --rules "$T/rules.d" --state-dir "$T/state" "$@" \
		> "$T/out" 2> "$T/err" || rc=$?
}

vn init; expect_rc 14
err_has "^vigil: cannot read '$T/tree/secret': Permission denied$"
err_has "^vigil: cannot opendir '$T/tree/locked': Permission denied$"
[ "$(grep -c '^vigil: cannot' "$T/err")" = 2 ] || { cat "$T/err"; fail "two errors expected"; }
! grep -q "locked/l" "$T/err" || fail "an object below an unreadable directory was named"

# the unreadable file and directory are still unreadable: every check says so
for mode in "" --full; do
	vn check $mode; expect_rc 14
	err_has "^vigil: cannot read '$T/tree/secret': Permission denied$"
	err_has "^vigil: cannot opendir '$T/tree/locked': Permission denied$"
	[ ! -s "$T/out" ] || { cat "$T/out"; fail "changes reported (check $mode)"; }
done

# a directory that was read at init and is unreadable now: what was recorded below it
# is not examined, and in particular not removed
chmod 000 "$T/tree/closed"
vn check; expect_rc 14
err_has "^vigil: cannot opendir '$T/tree/closed': Permission denied$"
for p in closed/a closed/sub closed/sub/b; do
	err_has "^vigil: '$T/tree/$p': not examined: its directory could not be read: Permission denied$"
done
out_lacks "^removed"
vn --json check; expect_rc 14
[ "$(count_changes removed)" = 0 ] || fail "objects below an unreadable directory reported removed"
json_check '
errs = {e["file"]["path"]: e["vigil"]["error"] for e in events if e["event"]["kind"] == "pipeline_error"}
t = T + "/tree/"
want = {t + "secret": "read", t + "locked": "opendir", t + "closed": "opendir",
        t + "closed/a": "opendir", t + "closed/sub": "opendir", t + "closed/sub/b": "opendir"}
assert {p: e["operation"] for p, e in errs.items()} == want, errs
assert all(e["code"] == 13 and e["message"] == "Permission denied" for e in errs.values()), errs
'
# readable again: nothing was lost below it; the directory's ctime tells the story
chmod 755 "$T/tree/closed"
vn check; expect_rc 14
out_has "^modified +dir +$T/tree/closed$"
[ "$(grep -c '^ ' "$T/out")" = 1 ] || { cat "$T/out"; fail "only the ctime of closed/ changed"; }
out_has "^ +ctime "
out_lacks "closed/"
! grep -q "closed" "$T/err" || { cat "$T/err"; fail "closed/ still reported"; }

# files vanishing during the walk: created and deleted as fast as possible while init
# and check run; a vanished file is gone, not an error
mkdir -p "$T/churn"
for i in $(seq 100); do echo "$i" > "$T/churn/keep$i"; done
rules "$T/churn/**" "=$T/churn perms+owner"
py - "$T/churn" "$T/churn-stop" <<'EOF' &
import os, sys
d, stop = sys.argv[1], sys.argv[2]
i = 0
while not os.path.exists(stop):
    for j in range(200):
        p = "%s/tmp%d" % (d, i + j)
        with open(p, "w") as f:
            f.write("x" * (j % 7))
    for j in range(200):
        os.unlink("%s/tmp%d" % (d, i + j))
    i += 200
EOF
churn=$!
at_exit "touch '$T/churn-stop'; kill $churn 2>/dev/null; wait $churn 2>/dev/null"
sleep 0.3
v init --force; expect_rc 0
[ ! -s "$T/out" ] || { cat "$T/out"; fail "init printed something"; }
for i in 1 2 3 4 5; do
	v check
	# a churned file can also be seen empty by one run and written by the next
	# (a real modification), so 1..7 are all fine here; errors are not
	[ "$rc" -le 7 ] || { cat "$T/out" "$T/err"; fail "check during churn exited $rc"; }
	! grep -q "^vigil: \(cannot\|warning\)" "$T/err" || { cat "$T/err"; fail "errors during churn"; }
	out_lacks "keep"
done
touch "$T/churn-stop"
wait "$churn" || fail "the churn process failed"
rm -f "$T/churn"/tmp*
# what init saw of the churn is gone now; the kept files are intact
v check
[ "$rc" = 0 ] || [ "$rc" = 2 ] || { cat "$T/out" "$T/err"; fail "check after churn exited $rc"; }
! grep -Ev "^removed +file +$T/churn/tmp[0-9]+$" "$T/out" | grep -q . || { cat "$T/out"; fail "unexpected changes"; }
v init --force; expect_rc 0
v check; expect_rc 0

# what could be seen of an object that could not be read is still compared: a file
# and a directory made unreadable (chmod 000) are errors, and their perms changes
rules "$T/tree/**" "=$T/tree perms+owner"
rm -f "$T/state"/*
echo r > "$T/tree/readable"
chmod 755 "$T/tree/locked"
chmod 644 "$T/tree/secret"
vn init; expect_rc 0
chmod 000 "$T/tree/readable" "$T/tree/closed"
vn --json check; expect_rc 14
json_check '
t = T + "/tree/"
errs = sorted((e["file"]["path"], e["vigil"]["error"]["operation"]) for e in events
              if e["event"]["kind"] == "pipeline_error")
assert errs == [(t + "closed", "opendir"), (t + "closed/a", "opendir"), (t + "closed/sub", "opendir"),
                (t + "closed/sub/b", "opendir"), (t + "readable", "read")], errs
mods = {e["file"]["path"]: e["vigil"] for e in events if e["vigil"]["change"] == "modified"}
assert sorted(mods) == [t + "closed", t + "readable"], \
    "perms changes seen but not reported: %r" % sorted(mods)
for m in mods.values():
    assert "perms" in m["attributes"] and m["after"]["perms"] == "0000", m
'
exit 0

#!/bin/bash
# Alerts and the 24-hour rule, with the test clock (builds configured with
# -Dtest-clock=true read VIGIL_TEST_NOW): unauthorized changes raise alerts grouped per
# directory (500 changes in one directory are one alert listing them all); escalation
# points are marked as the clock passes them; an alert without an initial response at
# its deadline is breached for good; closing needs a determination, an incident for
# confirmed ones, and either the change accepted (the baseline moves) or reverted (a
# fresh check must find the object back at its baseline).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (useradd, login uid)"
at() { date -u -d "@$(($(date -u -d 2030-01-01T00:00:00Z +%s) + $1))" +%Y-%m-%dT%H:%M:%SZ; }
ADM=$(mkuser vt50adm)
RITA=$(mkuser vt50rita)
D=$T/tree
mkdir -p "$D/etc" "$D/burst"
echo a > "$D/etc/a.conf"; echo b > "$D/etc/b.conf"
rules "$D/**"
export VIGIL_TEST_NOW=$(at 0)
v init -q; expect_rc 0
as_user 0 account add admin --unix-user vt50adm --role administrator; expect_rc 0
as_user "$ADM" account add rita --unix-user vt50rita --role responder; expect_rc 0

# three changes in /etc and 500 new files in /burst: two alerts
echo A >> "$D/etc/a.conf"; echo B >> "$D/etc/b.conf"; echo c > "$D/etc/c.conf"
for i in $(seq 1 500); do echo "$i" > "$D/burst/f$i"; done
v check; expect_rc 5
as_user "$RITA" --json alert list; expect_rc 0
grep -q '"generated":"2030-01-01T00:00:00' "$T/out" || skip "this build ignores VIGIL_TEST_NOW (configure with -Dtest-clock=true)"
[ "$(wc -l < "$T/out")" -eq 2 ] || { cat "$T/out"; fail "two alerts expected"; }
ETC=$(py -c 'import json,sys
for l in open(sys.argv[1]):
    a = json.loads(l)
    if a["title"].endswith("/tree/etc"): print(a["id"])' "$T/out" | head -n1)
BURST=$(py -c 'import json,sys
for l in open(sys.argv[1]):
    a = json.loads(l)
    if a["title"].endswith("/tree/burst"): print(a["id"])' "$T/out" | head -n1)
[ -n "$ETC" ] && [ -n "$BURST" ] || { cat "$T/out"; fail "alerts not found"; }
out_has '"deadline":"2030-01-02T00:00:00'
as_user "$RITA" alert show "$BURST"; expect_rc 0
[ "$(grep -c '  added ' "$T/out")" -eq 500 ] || { cat "$T/out"; fail "the burst alert does not list all 500 changes"; }
as_user "$RITA" alert show "$ETC"; expect_rc 0
[ "$(grep -Ec '  (added|modified) ' "$T/out")" -eq 4 ] || { cat "$T/out"; fail "the etc alert does not list its 4 changes"; }

# the burst alert is acknowledged at once: no "unacknowledged" escalation for it
export VIGIL_TEST_NOW=$(at 600)
as_user "$RITA" alert ack "$BURST"; expect_rc 0
as_user "$RITA" alert ack "$BURST"; expect_rc 20
err_has "cannot acknowledge an acknowledged alert"
export VIGIL_TEST_NOW=$(at 3660)
as_user "$RITA" alert list; expect_rc 0
export VIGIL_TEST_NOW=$(at $((8 * 3600 + 60)))
as_user "$RITA" alert list --open; expect_rc 0
# the burst alert answered at 10 h: no 20 h escalation, no breach
export VIGIL_TEST_NOW=$(at $((10 * 3600)))
as_user "$RITA" alert respond "$BURST" --text "looking into the new files"; expect_rc 0
export VIGIL_TEST_NOW=$(at $((20 * 3600 + 60)))
as_user "$RITA" alert list --due-within 4h; expect_rc 0
out_has "$ETC"
out_lacks "$BURST"
v --json journal tail -n 100; expect_rc 0
py - "$T/out" "$ETC" "$BURST" <<'PY' || fail "escalations"
import json, sys
esc = {}
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["type"] == "alert.escalated":
        esc.setdefault(e["alert"]["id"], []).append(e["escalation"]["point"])
assert esc.get(sys.argv[2]) == [1, 2, 3], esc
assert esc.get(sys.argv[3]) == [2], esc
PY

# 24 h without an initial response: breached, and answering later does not clear it
export VIGIL_TEST_NOW=$(at $((24 * 3600 - 60)))
as_user "$RITA" alert list --breached; expect_rc 0
out_lacks "$ETC"
export VIGIL_TEST_NOW=$(at $((24 * 3600 + 60)))
as_user "$RITA" alert list --breached; expect_rc 0
out_has "$ETC .* BREACHED"
out_lacks "$BURST"
export VIGIL_TEST_NOW=$(at $((25 * 3600)))
as_user "$RITA" alert respond "$ETC" --text "late"; expect_rc 0
out_has "$ETC: responded \\(breached\\)"
as_user "$RITA" alert list --breached; expect_rc 0
out_has "$ETC"
v --json journal tail -n 200; expect_rc 0
[ "$(grep -c '"type":"alert.breached"' "$T/out")" -eq 1 ] || fail "one breach expected"

# closing: a determination first; an incident for confirmed; reverted means back at baseline
as_user "$RITA" alert close "$ETC" --reverted; expect_rc 20
as_user "$RITA" alert determine "$ETC" --as confirmed; expect_rc 15
as_user "$RITA" alert determine "$ETC" --as bogus --text x; expect_rc 15
as_user "$RITA" alert determine "$ETC" --as confirmed --text "nobody filed a record"; expect_rc 0
as_user "$RITA" alert close "$ETC" --reverted; expect_rc 20
err_has "needs its incident record"
as_user "$RITA" alert incident "$ETC" --impact "config drift" --scope "etc" --severity low \
	--containment "reverted by hand" --root-cause "no change record" \
	--action "kind=prevent owner=nobody due=2030-02-01T00:00:00Z train admins"; expect_rc 15
err_has "owner 'nobody' has no account"
as_user "$RITA" alert incident "$ETC" --impact "config drift" --scope "etc" --severity low \
	--containment "reverted by hand" --root-cause "no change record" \
	--action "kind=prevent owner=rita due=2030-02-01T00:00:00Z train admins" \
	--action "kind=detect owner=admin due=2030-02-01T00:00:00Z status=done alert sooner"
expect_rc 0
as_user "$RITA" alert close "$ETC" --reverted; expect_rc 20
err_has "is not back at its baseline"
echo a > "$D/etc/a.conf"; echo b > "$D/etc/b.conf"; rm "$D/etc/c.conf"
as_user "$RITA" alert close "$ETC" --reverted --text "restored from the baseline"; expect_rc 0
out_has "$ETC: closed"
# accepted: the baseline takes the new files
as_user "$RITA" alert determine "$BURST" --as false-positive --text "a planned import"; expect_rc 0
as_user "$RITA" alert close "$BURST"; expect_rc 15
as_user "$RITA" alert close "$BURST" --accept-change; expect_rc 0
v check; expect_rc 0
as_user "$RITA" alert show "$BURST"; expect_rc 0
out_has "close .*by rita \\(responder\\)"

# a control test, declared before the change it makes, is labelled as such
export VIGIL_TEST_NOW=$(at $((26 * 3600)))
as_user "$RITA" alert test; expect_rc 15
as_user "$RITA" alert test --declare "quarterly detection test" --within 30m; expect_rc 0
echo test >> "$D/etc/a.conf"
v check; expect_rc 4
as_user "$RITA" --json alert list --open; expect_rc 0
py - "$T/out" <<'PY' || fail "control test label"
import json, sys
tests = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["control_test"]]
assert len(tests) == 1 and tests[0]["title"].startswith("[CONTROL TEST] "), tests
PY
TST=$(py -c 'import json,sys
for l in open(sys.argv[1]):
    a = json.loads(l)
    if a["control_test"]: print(a["id"])' "$T/out")
as_user "$RITA" alert respond "$TST" --text "detected"; expect_rc 0
as_user "$RITA" alert determine "$TST" --as control-test --text "as declared"; expect_rc 0
as_user "$RITA" alert close "$TST" --accept-change; expect_rc 0
# a declaration claims one alert only, and only while it holds
echo again >> "$D/etc/a.conf"
v check; expect_rc 4
as_user "$RITA" --json alert list --open; expect_rc 0
out_lacks '"control_test":true'
# an undeclared test counts as a real alert
UND=$(py -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["id"])' "$T/out")
as_user "$RITA" alert respond "$UND" --text "looking"; expect_rc 0
as_user "$RITA" alert determine "$UND" --as control-test --text "it was a test"; expect_rc 20
err_has "not a declared control test"
v --json journal tail -n 400; expect_rc 0
out_has '"type":"alert.test_declared"'
v journal verify; expect_rc 0
exit 0

#!/bin/bash
# Change records with several people acting through their login uids: a normal change
# inside its window and scope is authorized (and moves the baseline); the same change
# outside the window, by a non-implementer, or on an object outside scope is not;
# self-approval and implementer review are refused; the review needs every discrepancy
# acknowledged; illegal transitions name the allowed ones; amendments that widen a
# record send it back for approval.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (useradd, login uid, fanotify)"
ADM=$(mkuser vt41adm)
CAROL=$(mkuser vt41carol)
ALICE=$(mkuser vt41alice)
BOB=$(mkuser vt41bob)
DAVE=$(mkuser vt41dave)
EVE=$(mkuser vt41eve)
FRANK=$(mkuser vt41frank)
GINA=$(mkuser vt41gina)
D=$T/tree
mkdir -p "$D/etc" "$D/srv"
echo one > "$D/etc/app.conf"
echo other > "$D/etc/other.conf"
echo old > "$D/srv/late.conf"
rules "$D/**"
v init -q; expect_rc 0
as_user 0 account add admin --unix-user vt41adm --role administrator; expect_rc 0
for a in "carol vt41carol requester" "alice vt41alice implementer" "bob vt41bob approver" \
	"dave vt41dave reviewer" "eve vt41eve implementer" "frank vt41frank approver,implementer"; do
	set -- $a
	as_user "$ADM" account add "$1" --unix-user "$2" --role "$3"; expect_rc 0
done

# a normal record: carol requests, alice and frank implement, bob approves
as_user "$CAROL" --json change new --title "Edit app.conf" --window-start "$(iso_at -60)" \
	--window-end "$(iso_at 3600)" --implementer alice --implementer frank \
	--path "$D/etc/app.conf" --path "$D/etc/expected.conf" --risk low --rollback "restore"
expect_rc 0
CR=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/out")
[ "$CR" = CR-000001 ] || fail "first record id is $CR"
as_user "$CAROL" change new --title "no window" --path "$D/x"; expect_rc 15
err_has "needs a 'window'"
as_user "$CAROL" change new --title t --window-start "$(iso_at 0)" --window-end "$(iso_at 60)" \
	--path "$D/x" --implementer nobody; expect_rc 15
err_has "implementer 'nobody' has no account"
as_user "$BOB" change new --title t --window-start "$(iso_at 0)" --window-end "$(iso_at 60)" \
	--path "$D/x"; expect_rc 20
err_has "account 'bob' lacks the requester role"
as_user "$BOB" change approve "$CR"; expect_rc 20
err_has "cannot approve a draft change record CR-000001 \\(allowed now: submit, cancel\\)"
as_user "$ALICE" change submit "$CR"; expect_rc 20
as_user "$CAROL" change submit "$CR"; expect_rc 0
out_has "CR-000001: submitted"
# separation of duties: the requester and the implementers never approve
as_user "$ADM" account grant carol --role approver; expect_rc 0
as_user "$CAROL" change approve "$CR"; expect_rc 20
err_has "'carol' requested CR-000001 and may not approve it \\(separation of duties\\)"
as_user "$FRANK" change approve "$CR"; expect_rc 20
err_has "'frank' implements CR-000001 and may not approve it"
as_user "$EVE" change approve "$CR"; expect_rc 20
err_has "lacks the approver role"
as_user "$BOB" change approve "$CR" --text "looks fine"; expect_rc 0
out_has "CR-000001: approved"
as_user "$BOB" change approve "$CR"; expect_rc 20
as_user "$EVE" change start "$CR"; expect_rc 20
err_has "'eve' is not an implementer of CR-000001"
as_user "$ALICE" change start "$CR"; expect_rc 0

# a record whose window is over, and one for a later window
as_user "$CAROL" --json change new --title "Late" --window-start "$(iso_at -7200)" \
	--window-end "$(iso_at -3600)" --path "$D/srv/late.conf"; expect_rc 0
LATE=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/out")
as_user "$CAROL" change submit "$LATE"; expect_rc 0
as_user "$BOB" change approve "$LATE"; expect_rc 0

daemon_start
# the implementer, in window and scope: authorized by the record
as_login "$ALICE" sh -c "echo two >> '$D/etc/app.conf'"
expect_disposition "$D/etc/app.conf" authorized "$CR"
# someone who is not an implementer: unauthorized, with the reason kept
as_login "$EVE" sh -c "echo three >> '$D/etc/app.conf'"
expect_disposition "$D/etc/app.conf" unauthorized
grep -q "not an implementer" "$T/changes" || fail "the reason is not kept"
# out of scope
as_login "$ALICE" sh -c "echo x >> '$D/etc/other.conf'"
expect_disposition "$D/etc/other.conf" unauthorized
# outside the window
as_login "$ALICE" sh -c "echo x >> '$D/srv/late.conf'"
expect_disposition "$D/srv/late.conf" unauthorized
grep -q "outside its window" "$T/changes" || fail "the window reason is not kept"
# the implementer again: authorized, and the baseline follows
as_login "$ALICE" sh -c "echo one > '$D/etc/app.conf'"
expect_disposition "$D/etc/app.conf" authorized "$CR"
daemon_stop
grep -q "modified $D/etc/app.conf: authorized" "$T/daemon.log" || { cat "$T/daemon.log"; fail "the daemon's log lacks the disposition"; }
grep -q "modified $D/etc/other.conf: unauthorized" "$T/daemon.log" || fail "the daemon's log lacks the disposition"

# `changes` shows disposition and record; a check finds only the unauthorized ones
vd changes; expect_rc 0
out_has "authorized +by $CR"
out_has "unauthorized"
v check; expect_rc 4
out_lacks "etc/app.conf"
out_has "etc/other.conf"
out_has "srv/late.conf"

# the review: not by an implementer; every discrepancy acknowledged
as_user "$ALICE" change complete "$CR"; expect_rc 0
as_user "$ADM" account grant alice --role reviewer; expect_rc 0
as_user "$ALICE" change review "$CR"; expect_rc 20
err_has "'alice' implemented CR-000001 and may not review it"
as_user "$DAVE" change review "$CR"; expect_rc 20
err_has "discrepancies the review must acknowledge"
err_has "expected:$D/etc/expected.conf +unobserved"
err_has "unexpected: modified $D/etc/app.conf \\(unauthorized"
ACKS=$(grep -Eo '^  [^ ]+' "$T/err" | sed 's/^  /--ack /' | tr '\n' ' ')
[ "$(echo "$ACKS" | wc -w)" -eq 4 ] || { cat "$T/err"; fail "two discrepancies expected"; }
as_user "$DAVE" change review "$CR" --ack bogus; expect_rc 15
as_user "$DAVE" change review "$CR" $ACKS --text "extra edit by eve reverted"; expect_rc 0
out_has "CR-000001: reviewed"
as_user "$DAVE" change close "$CR"; expect_rc 0
out_has "review packet: 2 change\\(s\\) authorized by CR-000001, 2 discrepancies"
as_user "$BOB" change approve "$CR"; expect_rc 20
err_has "allowed now: none"
as_user 0 change show "$CR"; expect_rc 20
as_user "$DAVE" change show "$CR"; expect_rc 0
out_has "state: +closed"
out_has "review +carol.*|approve .*by bob \\(approver\\)"
out_has "review +submitted|reviewed .*by dave"

# amendments: narrowing keeps the approval, widening sends it back
as_user "$CAROL" --json change new --title "Amend me" --window-start "$(iso_at -60)" \
	--window-end "$(iso_at 3600)" --path "$D/srv/a" --path "$D/srv/b"; expect_rc 0
AM=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/out")
as_user "$CAROL" change submit "$AM"; expect_rc 0
as_user "$BOB" change approve "$AM"; expect_rc 0
as_user "$CAROL" change amend "$AM" --path "$D/srv/a" --text "b is not needed"; expect_rc 0
out_has "$AM: approved \\(revision 2\\)"
as_user "$CAROL" change amend "$AM" --path "$D/srv/a" --path "$D/srv/c"; expect_rc 0
out_has "widens the record \\(scope.paths gains '$D/srv/c'\\)"
out_has "$AM: submitted \\(revision 3\\)"
as_user "$CAROL" change amend "$AM" --window-end "$(iso_at 99999)"; expect_rc 0
out_has "submitted \\(revision 4\\)"
as_user "$BOB" change approve "$AM"; expect_rc 0
out_has "$AM: approved \\(revision 4\\)"
as_user "$BOB" change amend "$AM" --title x; expect_rc 20

# an approver does not implement what they approved; a disabled implementer is nobody's
as_user "$ADM" account add gina --unix-user vt41gina --role approver,implementer; expect_rc 0
as_user "$CAROL" --json change new --title "Gina's" --window-start "$(iso_at -60)" \
	--window-end "$(iso_at 3600)" --path "$D/srv/gina"; expect_rc 0
GI=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/out")
as_user "$CAROL" change submit "$GI"; expect_rc 0
as_user "$GINA" change approve "$GI"; expect_rc 0
as_user "$GINA" change start "$GI"; expect_rc 20
err_has "'gina' approved $GI and may not implement it"
as_user "$CAROL" change new --title t --window-start "$(iso_at 0)" --window-end "$(iso_at 60)" \
	--path "$D/x" --approver-role requester; expect_rc 15
err_has "'approvers.role' must be approver or administrator"

# a relaxation of separation of duties is itself a change: only an approved record
# sets it, and every action it allowed is listed as an exception
as_user "$CAROL" --json change new --title "Small fix" --window-start "$(iso_at -60)" \
	--window-end "$(iso_at 3600)" --path "$D/srv/small"; expect_rc 0
SM=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/out")
as_user "$CAROL" change submit "$SM"; expect_rc 0
as_user "$CAROL" change approve "$SM"; expect_rc 20
as_user "$CAROL" change list --exceptions; expect_rc 0
out_has "^0 exception"
as_user "$CAROL" --json change new --title "Night shift: one person may approve their own" \
	--window-start "$(iso_at -60)" --window-end "$(iso_at 3600)" --config "vigil:sod-relaxed"
expect_rc 0
POL=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/out")
as_user "$CAROL" change submit "$POL"; expect_rc 0
as_user "$BOB" change approve "$POL"; expect_rc 0
as_user "$CAROL" change approve "$SM"; expect_rc 0
err_has "allowed as an exception, separation of duties relaxed by $POL"
as_user "$CAROL" change list --exceptions; expect_rc 0
out_has "$SM .* approve +by carol +relaxed by $POL: 'carol' requested $SM"
out_has "^1 exception"

# the journal holds every step with the account and its roles
v --json journal tail -n 200; expect_rc 0
for t in record.created record.submit record.approve record.start record.complete \
	record.review record.close record.amend; do
	grep -q "\"type\":\"$t\"" "$T/out" || fail "no $t entry in the journal"
done
out_has '"by":\{"account":"bob","roles":"approver"'
v journal verify; expect_rc 0
exit 0

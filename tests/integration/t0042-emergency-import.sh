#!/bin/bash
# Emergency changes are implemented first with a recorded justification and become
# overdue when their retrospective approval and review are late; imported records are
# upserted by (source, id) with the same validation, separation of duties included.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (useradd, login uid)"
signnote_build
ADM=$(mkuser vt42adm)
CAROL=$(mkuser vt42carol)
ALICE=$(mkuser vt42alice)
BOB=$(mkuser vt42bob)
DAVE=$(mkuser vt42dave)
D=$T/tree
mkdir -p "$D/etc/ocsp"
echo one > "$D/etc/hsm.conf"
rules "$D/**"
"$SN" key servicenow "$T/sn.skey" "$T/sn.vkey" || fail "key"
printf '[change]\nemergency_deadline = 3\nimport_keys = %s\n' "$T/sn.vkey" > "$T/vigil.conf"
signed() { "$SN" sign "$T/sn.skey" < "$1" > "$1.note" || fail "sign $1"; }
v init -q; expect_rc 0
as_user 0 account add admin --unix-user vt42adm --role administrator; expect_rc 0
for a in "carol vt42carol requester" "alice vt42alice implementer" "bob vt42bob approver" \
	"dave vt42dave reviewer"; do
	set -- $a
	as_user "$ADM" account add "$1" --unix-user "$2" --role "$3"; expect_rc 0
done

# an emergency: no justification, no record
as_user "$CAROL" change new --type emergency --title "HSM failover" --path "$D/etc/hsm.conf"
expect_rc 15
err_has "an emergency change needs a 'justification'"
as_user "$CAROL" --json change new --type emergency --title "HSM failover" \
	--path "$D/etc/hsm.conf" --implementer alice --justification "primary HSM down"
expect_rc 0
EM=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/out")
# implemented before approval, the justification recorded with the start
as_user "$ALICE" change start "$EM"; expect_rc 0
out_has "$EM: in_progress"
echo two >> "$D/etc/hsm.conf"
v check; expect_rc 0
out_has "hsm.conf +\\(authorized by $EM\\)"
as_user "$ALICE" change complete "$EM"; expect_rc 0
as_user "$CAROL" change list --overdue; expect_rc 0
out_lacks "$EM"
sleep 4
as_user "$CAROL" change list --overdue; expect_rc 0
out_has "$EM .*emergency +implemented.*\\[overdue: approval and review\\]"
as_user "$CAROL" --json change list --overdue; expect_rc 0
out_has '"overdue":"approval and review"'
# retrospective approval, not by the implementer; then review
as_user "$BOB" change approve "$EM"; expect_rc 0
out_has "$EM: retro_approved"
as_user "$CAROL" change list --overdue; expect_rc 0
out_has "\\[overdue: review\\]"
as_user "$DAVE" change review "$EM"; expect_rc 0
as_user "$CAROL" change list --overdue; expect_rc 0
out_lacks "$EM"
v --json journal tail -n 100; expect_rc 0
out_has '"detail":\{"justification":"primary HSM down"\}.*"type":"record.start"'

# a fix made first and filed afterwards: the emergency record's window covers it
echo fixed >> "$D/etc/hsm.conf"
v check; expect_rc 4
vd changes; expect_rc 0
out_has "hsm.conf.* -- unauthorized$"
as_user "$CAROL" --json change new --type emergency --title "Night fix" \
	--path "$D/etc/hsm.conf" --implementer alice --justification "outage at 3am" \
	--window-start "$(iso_at -600)" --window-end "$(iso_at 600)"; expect_rc 0
EM2=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/out")
as_user "$ALICE" change start "$EM2"; expect_rc 0
out_has "$EM2 covers 1 earlier change\\(s\\) in its window"
v check; expect_rc 0
vd changes; expect_rc 0
out_has "hsm.conf.* -- authorized by $EM2$"
v --json journal tail -n 5; expect_rc 0
out_has '"baseline_moved":true.*"type":"change.authorized"'

# imports: the shape a ticketing export maps onto
cat > "$T/import.json" <<EOT
[
  {"source": "servicenow", "id": "CHG0030001", "revision": 1, "state": "approved",
   "title": "Rotate OCSP responder key", "type": "normal", "requester": "carol",
   "implementers": ["alice"], "risk": "medium", "rollback": "restore the old key",
   "window": {"start": "$(iso_at -60)", "end": "$(iso_at 3600)"},
   "scope": {"hosts": ["*"], "paths": ["$D/etc/ocsp/**"]},
   "approvals": [{"account": "bob", "role": "approver", "time": "$(iso_at -120)"}]},
  {"source": "servicenow", "id": "CHG0030002", "revision": 1, "state": "approved",
   "title": "Self-approved", "type": "normal", "requester": "carol",
   "window": {"start": "$(iso_at -60)", "end": "$(iso_at 3600)"},
   "scope": {"paths": ["$D/etc/x"]},
   "approvals": [{"account": "carol", "role": "approver", "time": "$(iso_at -120)"}]},
  {"source": "servicenow", "id": "CHG0030003", "revision": 1, "state": "approved",
   "title": "Approved by its implementer", "type": "normal", "requester": "carol",
   "implementers": ["alice"],
   "window": {"start": "$(iso_at -60)", "end": "$(iso_at 3600)"},
   "scope": {"paths": ["$D/etc/y"]},
   "approvals": [{"account": "alice", "role": "approver", "time": "$(iso_at -120)"}]},
  {"source": "servicenow", "id": "CHG0030004", "revision": 1, "state": "approved",
   "title": "Not enough approvals", "type": "normal", "requester": "carol",
   "window": {"start": "$(iso_at -60)", "end": "$(iso_at 3600)"},
   "scope": {"paths": ["$D/etc/z"]}, "approvers": {"count": 2},
   "approvals": [{"account": "bob", "role": "approver", "time": "$(iso_at -120)"}]}
]
EOT
signed "$T/import.json"
as_user "$CAROL" change import "$T/import.json.note"; expect_rc 20
err_has "lacks the administrator role"
as_user "$ADM" change import "$T/import.json"; expect_rc 20
err_has "is not a note signed by a key of"
as_user "$ADM" change import "$T/import.json.note"; expect_rc 20
err_has "CHG0030002 rejected: approval by the requester 'carol'"
err_has "CHG0030003 rejected: approval by implementer 'alice'"
err_has "CHG0030004 rejected: state 'approved' needs 2 approval\\(s\\), the record has 1"
err_has "4 record\\(s\\): 1 new, 0 updated, 0 unchanged, 3 rejected"
as_user "$CAROL" change show servicenow/CHG0030001; expect_rc 0
out_has "state: +approved"
out_has "approvals: +1 of 1"
# the imported approval authorizes the implementer's change
as_login "$ALICE" sh -c "echo key > '$D/etc/ocsp/responder.key'"
v check; expect_rc 0
out_has "responder.key +\\(authorized by CHG0030001\\)"
# upsert: the same revision is unchanged, an older one refused, a newer one updates
py -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[0]))' "$T/import.json" > "$T/one.json"
signed "$T/one.json"
as_user "$ADM" change import - < "$T/one.json.note"
expect_rc 0
err_has "1 record\\(s\\): 0 new, 0 updated, 1 unchanged, 0 rejected"
py - "$T/import.json" > "$T/rev2.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))[0]
r["revision"] = 2; r["state"] = "closed"; r["title"] = "Rotate OCSP responder key (done)"
print(json.dumps(r))
PY
signed "$T/rev2.json"
as_user "$ADM" change import "$T/rev2.json.note"; expect_rc 0
err_has "0 new, 1 updated"
py - "$T/import.json" > "$T/rev1b.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))[0]
r["title"] = "rewritten history"
print(json.dumps(r))
PY
signed "$T/rev1b.json"
as_user "$ADM" change import "$T/rev1b.json.note"; expect_rc 20
err_has "revision 1 is not newer than the stored revision 2"
# malformed documents name the place
printf '{"source": "jira", "id": "OPS-1", "revision": 1,\n "state": "bogus"}\n' > "$T/bad.json"
signed "$T/bad.json"
as_user "$ADM" change import "$T/bad.json.note"; expect_rc 20
err_has "bad.json.note:2:11: 'state': unknown state 'bogus'"
printf '{"source": "jira", "id": "OPS-1",,}\n' > "$T/bad2.json"
signed "$T/bad2.json"
as_user "$ADM" change import "$T/bad2.json.note"; expect_rc 15
err_has "bad2.json.note:1:34: expected a string key"
as_user "$CAROL" change list; expect_rc 0
out_has "CHG0030001 +servicenow +normal +closed +2"
out_lacks "CHG0030002"
exit 0

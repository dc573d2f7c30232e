#!/bin/bash
# Imports from a ticketing system can be required to be signed (CHG-12): with
# [change] import_keys set, only C2SP signed notes verified by one of those keys are
# imported, each record's source must be the key's name, and anything else is refused
# without touching what is recorded.  The notes are made with an independent
# implementation (golang.org/x/mod/sumdb/note).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (useradd, login uid)"
signnote_build
ADM=$(mkuser vt45adm)
CAROL=$(mkuser vt45carol)
BOB=$(mkuser vt45bob)
mkdir -p "$T/tree"; echo x > "$T/tree/f"
rules "$T/tree/**"
v init -q; expect_rc 0
as_user 0 account add admin --unix-user vt45adm --role administrator; expect_rc 0
as_user "$ADM" account add carol --unix-user vt45carol --role requester; expect_rc 0
as_user "$ADM" account add bob --unix-user vt45bob --role approver; expect_rc 0

"$SN" key servicenow "$T/sn.skey" "$T/sn.vkey" || fail "key"
"$SN" key jira "$T/jira.skey" "$T/jira.vkey" || fail "key"
record() {  # record SOURCE ID
	cat <<EOT
{"source": "$1", "id": "$2", "revision": 1, "state": "approved", "title": "Imported $2",
 "type": "normal", "requester": "carol",
 "window": {"start": "$(iso_at -60)", "end": "$(iso_at 3600)"},
 "scope": {"paths": ["$T/tree/f"]},
 "approvals": [{"account": "bob", "role": "approver", "time": "$(iso_at -120)"}]}
EOT
}
record servicenow CHG1 > "$T/plain.json"
"$SN" sign "$T/sn.skey" < "$T/plain.json" > "$T/signed.note" || fail "sign"
"$SN" sign "$T/jira.skey" < "$T/plain.json" > "$T/wrongkey.note" || fail "sign"
record jira OPS-1 | "$SN" sign "$T/sn.skey" > "$T/wrongsource.note" || fail "sign"

# unsigned: approvals are nobody's, so a record arrives at most submitted, without them
record servicenow CHG0 | sed 's/"state": "approved"/"state": "submitted"/' > "$T/sub.json"
as_user "$ADM" change import "$T/sub.json"; expect_rc 0
err_has "approvals are kept only from a signed import; 1 dropped"
as_user "$CAROL" change show servicenow/CHG0; expect_rc 0
out_has "approvals: +0 of 1"
record servicenow CHG00 > "$T/appr.json"
as_user "$ADM" change import "$T/appr.json"; expect_rc 20
err_has "state 'approved' needs approvals, and approvals are imported only from a signed document"

# without import_keys a signed note cannot be checked, so it is refused
as_user "$ADM" change import "$T/signed.note"; expect_rc 15
err_has "a signed import needs \\[change\\] import_keys"

printf '[change]\nimport_keys = %s\n' "$T/keys" > "$T/vigil.conf"
{ echo "# ticketing systems allowed to import"; cat "$T/sn.vkey"; } > "$T/keys"
as_user "$ADM" change import "$T/plain.json"; expect_rc 20
err_has "is not a note signed by a key of"
as_user "$ADM" change import "$T/wrongkey.note"; expect_rc 20
as_user "$ADM" change import "$T/wrongsource.note"; expect_rc 20
err_has "its source 'jira' is not the signing key's name 'servicenow'"
sed 's/Imported CHG1/Imported CHG9/' "$T/signed.note" > "$T/tampered.note"
as_user "$ADM" change import "$T/tampered.note"; expect_rc 20
as_user "$CAROL" change list; expect_rc 0
out_lacks "CHG1"
as_user "$ADM" change import "$T/signed.note"; expect_rc 0
err_has "1 new"
as_user "$CAROL" change show servicenow/CHG1; expect_rc 0
out_has "state: +approved"
v --json journal tail -n 3; expect_rc 0
out_has '"signed_by":"servicenow"'
out_has '"document":\{"approvals":\[\{"account":"bob".*"type":"record.import"'
echo 'not a key' >> "$T/keys"
as_user "$ADM" change import "$T/signed.note"; expect_rc 16
err_has "keys:3: not a verifier key"
exit 0

#!/bin/bash
# Accounts: root bootstraps the first administrator and then loses the right; each
# person is known by their login uid (which survives sudo); unknown people, disabled
# accounts and missing roles are refused; every account action is journaled.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (useradd, login uid)"
ADM=$(mkuser vt40adm)
ALICE=$(mkuser vt40alice)
NOBODY=$(mkuser vt40nobody)
mkdir -p "$T/tree"; echo x > "$T/tree/f"
rules "$T/tree/**"
v init -q; expect_rc 0

# a fresh store: root acts as administrator, and only as that
as_user 0 account list; expect_rc 0
as_user 0 change new --title t --window-start "$(iso_at 0)" --window-end "$(iso_at 60)" \
	--path /x; expect_rc 20
err_has "root acts only as administrator.*requester role"
as_user 0 account add admin --unix-user vt40adm --role administrator,auditor; expect_rc 0
as_user 0 account add alice --unix-user vt40alice --role bogus; expect_rc 15
err_has "unknown role 'bogus'"
as_user 0 account add alice --unix-user no-such-user-x --role implementer; expect_rc 15
err_has "no Unix user 'no-such-user-x'"
# the bootstrap rule has ended: root is only what its own account says
as_user 0 account add alice --unix-user vt40alice --role implementer; expect_rc 20
err_has "root.*has no account"
as_user "$ADM" account add alice --unix-user vt40alice --role implementer,requester; expect_rc 0
as_user "$ADM" account add alice2 --unix-user vt40alice --role approver; expect_rc 15
err_has "one account per person"
as_user "$ADM" account add 'Bad Name' --unix-user vt40nobody --role approver; expect_rc 15
err_has "not an account name"

# unknown person, missing role
as_user "$NOBODY" account list; expect_rc 20
err_has "Unix user 'vt40nobody'.*has no Vigil account"
as_user "$ALICE" account add x --unix-user vt40nobody --role approver; expect_rc 20
err_has "account 'alice' lacks the administrator role"

# grant and revoke, shown in list and show
as_user "$ADM" account grant alice --role reviewer; expect_rc 0
as_user "$ADM" --json account show alice; expect_rc 0
out_has '"roles":"requester,implementer,reviewer"'
as_user "$ADM" account revoke alice --role reviewer; expect_rc 0
as_user "$ALICE" account list; expect_rc 0
out_has 'alice +vt40alice +active +requester,implementer'

# the last administrator cannot be disabled or lose the role
as_user "$ADM" account disable admin; expect_rc 20
err_has "last active administrator"
as_user "$ADM" account revoke admin --role administrator; expect_rc 20

# a disabled account is refused
as_user "$ADM" account disable alice; expect_rc 0
as_user "$ALICE" account list; expect_rc 20
err_has "account 'alice' \\(Unix user 'vt40alice'\\) is disabled"

# sudo keeps the login uid: alice's login running as root is still alice
rc=0
as_login "$ALICE" sudo -n "$VIGIL" --config "$T/vigil.conf" --state-dir "$T/state" \
	account list > "$T/out" 2> "$T/err" || rc=$?
expect_rc 20
err_has "account 'alice'"

# once an administrator exists, a new baseline is an administrator's act
v init --force -q; expect_rc 20
err_has "root.*has no account"
as_user "$ADM" init --force -q; expect_rc 0

# every action is in the journal with who did it
v --json journal tail -n 50; expect_rc 0
grep -c '"type":"account.added"' "$T/out" | grep -qx 2 || { cat "$T/out"; fail "two account.added entries expected"; }
out_has '"change":"granted reviewer".*"type":"account.roles"'
out_has '"name":"alice".*"change":"disabled".*"type":"account.disabled"'
out_has '"by":\{"account":"root","bootstrap":true,"roles":"administrator","uid":0,"unix_user":"root"\}'
out_has '"by":\{"account":"admin","roles":"administrator,auditor","uid":[0-9]+,"unix_user":"vt40adm"\}'
exit 0

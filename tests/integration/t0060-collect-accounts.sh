#!/bin/bash
# Accounts beyond files: a user added with useradd, a shell changed with usermod, a group
# member added, and a sudoers drop-in, each detected by `vigil check` and by the daemon as
# the objects user:NAME, group:NAME and sudo:RULE with their states before and after;
# the password hash never appears.  A record whose scope names user:NAME authorizes the
# change of that user only.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (useradd, sudoers)"
command -v useradd > /dev/null || skip "no useradd"
cleanup_sudo() { rm -f /etc/sudoers.d/vt60-test; }
at_exit cleanup_sudo
userdel vt60b > /dev/null 2>&1; groupdel vt60b > /dev/null 2>&1
A=$(mkuser vt60a)
echo vt60b >> "$T/.users"
rules "user:vt60*" "group:vt60*" "sudo:*vt60*" "$T/files/**"
mkdir -p "$T/files"
printf '[collect]\ninterval = 1\n' > "$T/vigil.conf"
v init -q; expect_rc 0
v --json check; expect_rc 0

# check: a new user, a changed shell, a new group member, a sudoers rule
useradd -M -s /bin/sh vt60b
usermod -s /bin/bash vt60a
usermod -aG vt60b vt60a
printf 'vt60a ALL=(root) NOPASSWD: /usr/bin/true\n' > /etc/sudoers.d/vt60-test
chmod 0440 /etc/sudoers.d/vt60-test
v --json check; expect_rc 5
collected_has user:vt60b added 'e["after"]["shell"] == "/bin/sh" and e["before"] is None'
collected_has user:vt60a modified \
	'e["before"]["shell"] == "/usr/sbin/nologin" and e["after"]["shell"] == "/bin/bash" and "shell" in e["attributes"] and "vt60b" in e["after"]["groups"]'
collected_has group:vt60b added 'e["after"]["members"] == ["vt60a"]'
collected_has "sudo:vt60a ALL=(root) NOPASSWD: /usr/bin/true" added \
	'e["after"]["file"] == "/etc/sudoers.d/vt60-test" and e["after"]["kind"] == "rule" and "+vt60a ALL=(root) NOPASSWD: /usr/bin/true" in e["diff"]'
grep -q '"disposition":"unauthorized"' "$T/out" || fail "no disposition"
# a password set: the state says so, and the hash appears nowhere
HASH='$6$vt60salt$Qm3kV8zL1pXw7RtYb2NcD5fHj9GsA4uE6oKiT0yWqZrMnBvCxLdPeSaFgJhUlOk'
usermod -p "$HASH" vt60a
v --json check; expect_rc 5
collected_has user:vt60a modified 'e["after"]["password"] == "set" and "password" in e["attributes"]'
grep -qF -- "$HASH" "$T/out" && fail "a password hash was printed"
grep -qaF -- "vt60salt" "$T/state/vigil.db" "$T/state/vigil.db-wal" 2> /dev/null && fail "a password hash was stored"
# the human output names the objects and the changed members
v check; expect_rc 5
out_has '^modified  user     user:vt60a$'
out_has '^          shell +"/usr/sbin/nologin" -> "/bin/bash"$'
out_has '^added     sudo     sudo:vt60a ALL=\(root\) NOPASSWD: /usr/bin/true$'
# only some kinds
v --only user check; expect_rc 5
out_lacks 'sudo:'
out_has 'user:vt60b'
v --only nosuch check; expect_rc 15
err_has "unknown object kind 'nosuch'"
# the changes raised one alert per kind
v --json alert list; expect_rc 0
out_has '"title":"unauthorized changes to user objects"'
out_has '"title":"unauthorized changes to sudo objects"'

# the daemon: a change made while it runs is collected within its interval
daemon_start
usermod -s /bin/dash vt60a
daemon_collected user:vt60a modified \
	'e["after"]["shell"] == "/bin/dash" and e["before"]["shell"] == "/bin/bash" and e["detection"]["source"] in ("collect", "rescan")'
rm /etc/sudoers.d/vt60-test
daemon_collected "sudo:vt60a ALL=(root) NOPASSWD: /usr/bin/true" removed 'e["after"] is None'
daemon_stop
# with an hour between collections, a change of /etc/passwd (watched as a file) makes the
# daemon collect at once (or a rescan does, when other processes' events overflowed its
# queue: either way long before the hour)
printf '[collect]\ninterval = 3600\n' > "$T/vigil.conf"
rules "user:vt60*" "group:vt60*" "sudo:*vt60*" "$T/files/**" /etc/passwd /etc/shadow
daemon_start
usermod -s /bin/sh vt60a
daemon_collected user:vt60a modified 'e["after"]["shell"] == "/bin/sh" and e["detection"]["source"] in ("collect", "rescan")'
daemon_stop
usermod -s /bin/bash vt60a
v check > /dev/null

# a record naming user:vt60a in its scope authorizes a change of that user, not of others
ADM=$(mkuser vt60adm)
CAROL=$(mkuser vt60carol)
BOB=$(mkuser vt60bob)
as_user 0 account add admin --unix-user vt60adm --role administrator; expect_rc 0
as_user "$ADM" account add carol --unix-user vt60carol --role requester,implementer; expect_rc 0
as_user "$ADM" account add bob --unix-user vt60bob --role approver; expect_rc 0
as_user "$CAROL" --json change new --title "vt60a login shell" --window-start "$(iso_at -60)" \
	--window-end "$(iso_at 3600)" --config user:vt60a --risk low --rollback "usermod back"
expect_rc 0
CR=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/out")
as_user "$CAROL" change submit "$CR"; expect_rc 0
as_user "$BOB" change approve "$CR"; expect_rc 0
usermod -s /bin/sh vt60a
usermod -s /bin/bash vt60b
v --json check; [ "$rc" -eq 1 ] || [ "$rc" -eq 5 ] || fail "check: $rc" 
# vt60a's change is authorized (shown once, and the baseline moved): no difference left
collected_has user:vt60a modified \
	'e["disposition"] == "authorized" and e["authorization"]["record"]["id"] == "'"$CR"'" and e["authorization"]["scope_entry"] == "user:vt60a"'
v check; expect_rc 1
out_lacks 'user:vt60a$'
# vt60b's is not (the record names vt60a only)
changes_json
_collected_match "$T/changes" user:vt60b modified \
	'e["disposition"] == "unauthorized" and e["after"]["shell"] == "/bin/bash"' || fail "vt60b's change"
v journal verify; expect_rc 0
exit 0

#!/bin/bash
# Alert channels from the settings: two defaults (local syslog, mail to root) when none
# are set; [alerts] channels naming [channel.NAME] sections, each checked with the
# place of a mistake; fewer than two channels refused by config check unless an approved
# record says so; `vigil notify test` sends through one channel to a real peer on
# loopback: a webhook receiver that checks the Standard Webhooks signature with its own
# HMAC code, and a script fed the event JSON.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (useradd, login uid)"
ADM=$(mkuser vt51adm)
CAROL=$(mkuser vt51carol)
BOB=$(mkuser vt51bob)
mkdir -p "$T/tree"; echo x > "$T/tree/f"
rules "$T/tree/**"
v init -q; expect_rc 0
as_user 0 account add admin --unix-user vt51adm --role administrator,responder; expect_rc 0

# the defaults
v config check; expect_rc 0
out_has "alert channel: syslog \\(syslog\\) default"
out_has "alert channel: mail \\(email\\) default"

# a webhook receiver and a script
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
"$PYTHON" "$(dirname "$0")/../data/webhook-recv.py" "$SECRET" "$T/hook.out" < /dev/null > /dev/null 2>&1 &
RECV=$!
at_exit "kill $RECV 2>/dev/null"
for i in $(seq 50); do [ -s "$T/hook.out.port" ] && break; sleep 0.1; done
PORT=$(cat "$T/hook.out.port")
printf '#!/bin/sh\ncat > "%s"\n' "$T/script.out" > "$T/script.sh"
chmod 755 "$T/script.sh"
cat > "$T/vigil.conf" <<EOT
[alerts]
channels = hook, script

[channel.hook]
type = webhook
url = http://127.0.0.1:$PORT/vigil
secret = $SECRET

[channel.script]
type = exec
command = $T/script.sh --severity high
EOT
v config check; expect_rc 0
out_has "alert channel: hook \\(webhook\\)$"
out_has "alert channel: script \\(exec\\)$"
as_user "$ADM" notify test hook; expect_rc 0
out_has "channel hook: delivered \\(HTTP 200"
py - "$T/hook.out" <<'PYC' || fail "the receiver did not verify the signature"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
assert len(r) == 1 and r[0]["ok"] and r[0]["body"]["event"] == "test", r
PYC
as_user "$ADM" notify test script; expect_rc 0
grep -q '"event":"test"' "$T/script.out" || fail "the script did not get the event"
as_user "$ADM" notify test nothing; expect_rc 15
v --json journal tail -n 3; expect_rc 0
out_has '"notify":\{"channel":"script","delivered":true'

# the daemon delivers an alert's messages itself, within seconds
daemon_start
echo y >> "$T/tree/f"
for i in $(seq 100); do grep -q '"category": "unauthorized-change"' "$T/hook.out" 2>/dev/null && break; sleep 0.1; done
# (a busy machine can add a monitoring-failure alert: a fanotify event about another test's
# directory, gone before it could be resolved, is a gap; only the change's alert is counted)
py - "$T/hook.out" <<'PYC' || fail "the daemon did not deliver the alert on the webhook"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
t = [x for x in r if x["body"]["event"] == "triggered"]
assert all(x["ok"] for x in t), r
c = [x for x in t if x["body"]["alert"]["category"] == "unauthorized-change"]
assert len(c) == 1 and len(t) - len(c) == len([x for x in t if x["body"]["alert"]["category"] == "monitoring-failure"]), r
PYC
for i in $(seq 50); do grep -q '"event":"triggered"' "$T/script.out" 2>/dev/null && break; sleep 0.1; done
grep -q '"event":"triggered"' "$T/script.out" || fail "the daemon did not deliver the alert to the script"
daemon_stop

# a dead peer: not delivered, said why
sed -i "s|127.0.0.1:$PORT|127.0.0.1:1|" "$T/vigil.conf"
as_user "$ADM" notify test hook; expect_rc 18
err_has "not delivered: .*connection refused"

# mistakes name the place
printf '[alerts]\nchannels = hook\n\n[channel.hook]\ntype = webhook\nurl = ftp://x/y\n' > "$T/vigil.conf"
v config check; expect_rc 16
err_has "vigil.conf:6: .*url"
printf '[alerts]\nchannels = hook, nope\n\n[channel.hook]\ntype = exec\ncommand = /bin/true\n' > "$T/vigil.conf"
v config check; expect_rc 16
err_has "no channel 'nope'"
printf '[channel.hook]\ncommand = /bin/true\n' > "$T/vigil.conf"
v check; expect_rc 16
err_has "vigil.conf:1: channel 'hook': missing key 'type'"

# one channel only: refused, unless an approved record says so
printf '[alerts]\nchannels = hook\n\n[channel.hook]\ntype = exec\ncommand = /bin/true\n' > "$T/vigil.conf"
v config check; expect_rc 16
err_has "alerts need at least two independent channels"
as_user "$ADM" account add carol --unix-user vt51carol --role requester; expect_rc 0
as_user "$ADM" account add bob --unix-user vt51bob --role approver; expect_rc 0
as_user "$CAROL" change new --title "One pager only on this host" --window-start "$(iso_at -60)" \
	--window-end "$(iso_at 3600)" --config "vigil:single-channel" --path "$T/vigil.conf"
expect_rc 0
as_user "$CAROL" change submit CR-000001; expect_rc 0
as_user "$BOB" change approve CR-000001; expect_rc 0
v config check; expect_rc 0
err_has "fewer than two alert channels, as CR-000001 approved"
exit 0

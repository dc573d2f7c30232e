#!/bin/bash
# A delivery that succeeded but was never recorded: the webhook receiver writes the message
# down and kills the sending `vigil check` with SIGKILL before answering.  The outbox row
# stays due, the next command delivers it again with the same message id (the receiver can
# drop the duplicate), and after that nothing is sent again: at most one duplicate, same
# id.  The store and the journal stay whole across the kill.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (useradd, login uid)"
RITA=$(mkuser vt54rita)
mkdir -p "$T/tree"; echo a > "$T/tree/a"
rules "$T/tree/**"
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
"$PYTHON" "$(dirname "$0")/../data/webhook-recv.py" "$SECRET" "$T/hook.out" --kill-first \
	< /dev/null > /dev/null 2>&1 &
at_exit "kill $! 2>/dev/null"
for i in $(seq 100); do [ -s "$T/hook.out.port" ] && break; sleep 0.1; done
PORT=$(cat "$T/hook.out.port")
mkdir -p "$T/script"
printf '#!/bin/sh\ncat > "%s/$VIGIL_MESSAGE_ID.$VIGIL_EVENT.$$"\n' "$T/script" > "$T/script.sh"
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
command = $T/script.sh
EOT
v init -q; expect_rc 0
as_user 0 account add rita --unix-user vt54rita --role responder,administrator; expect_rc 0

echo b >> "$T/tree/a"
v check
[ "$rc" -eq 137 ] || { cat "$T/err"; fail "vigil check was not killed mid-delivery (exit $rc)"; }
[ -s "$T/hook.out.killed" ] || fail "the receiver did not kill the sender"
[ "$(wc -l < "$T/hook.out")" -eq 1 ] || fail "expected one message before the kill"

# the next command finds the message still due and sends it again, same id
as_user "$RITA" --json alert list; expect_rc 0
[ "$(wc -l < "$T/out")" -eq 1 ] || fail "expected one alert"
ALERT=$(py -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["id"])' "$T/out")
# and nothing more after that (the change still stands, unanswered: check still reports it)
as_user "$RITA" alert list; expect_rc 0
v check; expect_rc 4
py - "$T/hook.out" "$ALERT" <<'PYC' || fail "not exactly one duplicate with the same id"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
assert len(r) == 2, len(r)
assert all(x["ok"] for x in r), r
assert r[0]["id"] == r[1]["id"], (r[0]["id"], r[1]["id"])
assert r[0]["body"] == r[1]["body"], "the repeated message differs"
assert r[0]["body"]["alert"]["id"] == sys.argv[2] and r[0]["body"]["event"] == "triggered", r[0]
PYC
# the script had the message once (it was either sent before the kill and recorded, or
# after it): the kill costs a duplicate only on the channel that was in flight
[ "$(ls "$T/script" | wc -l)" -eq 1 ] || { ls "$T/script"; fail "the script had the message more than once"; }
HOOK_ID=$(py -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["id"])' "$T/hook.out")
ls "$T/script" | grep -q "^$HOOK_ID\\.triggered\\." || fail "the script had another message id"
as_user "$RITA" --json alert show "$ALERT"; expect_rc 0
py - "$T/out" <<'PYC' || fail "the alert's history does not show one delivery per channel"
import json, sys
a = json.load(open(sys.argv[1]))
d = [e for e in a["events"] if e["kind"] == "deliver"]
got = sorted((e["detail"]["channel"], e["detail"]["outcome"]) for e in d)
assert got == [("hook", "delivered"), ("script", "delivered")], got
PYC
v journal verify; expect_rc 0
exit 0

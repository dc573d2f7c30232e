#!/bin/bash
# Alerts delivered through the outbox (no daemon: the command that raised them delivers
# them before it exits): an unauthorized change gives one alert, delivered on two
# channels with one message id (a webhook receiver checking the signature with its own
# HMAC code, and a script); a dead SMTP server is retried with backoff as the test clock
# moves, given up on after its attempts, and that failure is itself alerted on the
# other channels.  Every attempt is in the alert's history and the journal.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (useradd, login uid)"
at() { date -u -d "@$(($(date -u -d 2030-01-01T00:00:00Z +%s) + $1))" +%Y-%m-%dT%H:%M:%SZ; }
RITA=$(mkuser vt52rita)
mkdir -p "$T/tree"; echo a > "$T/tree/a"
rules "$T/tree/**"
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
"$PYTHON" "$(dirname "$0")/../data/webhook-recv.py" "$SECRET" "$T/hook.out" < /dev/null > /dev/null 2>&1 &
RECV=$!
at_exit "kill $RECV 2>/dev/null"
for i in $(seq 50); do [ -s "$T/hook.out.port" ] && break; sleep 0.1; done
PORT=$(cat "$T/hook.out.port")
mkdir -p "$T/script"
printf '#!/bin/sh\ncat > "%s/$VIGIL_MESSAGE_ID.$VIGIL_EVENT"\n' "$T/script" > "$T/script.sh"
chmod 755 "$T/script.sh"
cat > "$T/vigil.conf" <<EOT
[alerts]
channels = hook, script, mail

[channel.hook]
type = webhook
url = http://127.0.0.1:$PORT/vigil
secret = $SECRET

[channel.script]
type = exec
command = $T/script.sh

[channel.mail]
type = email
url = smtp://127.0.0.1:1
from = vigil@test.example
to = security@test.example
timeout = 2
EOT
export VIGIL_TEST_NOW=$(at 0)
v init -q; expect_rc 0
as_user 0 account add rita --unix-user vt52rita --role responder,administrator; expect_rc 0

# one unauthorized change: one alert, delivered on the two live channels, one id
echo b >> "$T/tree/a"
v check; expect_rc 4
err_has "alert message\\(s\\) wait for a retry"
as_user "$RITA" --json alert list; expect_rc 0
grep -q '"generated":"2030-01-01T00:00:00' "$T/out" || skip "this build ignores VIGIL_TEST_NOW (configure with -Dtest-clock=true)"
ALERT=$(py -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["id"])' "$T/out")
py - "$T/hook.out" "$ALERT" <<'PYC' || fail "the webhook did not get one signed message"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
assert len(r) == 1 and r[0]["ok"], r
assert r[0]["body"]["event"] == "triggered" and r[0]["body"]["alert"]["id"] == sys.argv[2], r
PYC
HOOK_ID=$(py -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["id"])' "$T/hook.out")
[ -f "$T/script/$HOOK_ID.triggered" ] || { ls "$T/script"; fail "the script did not get the same message"; }

# the dead mail server: retried with backoff as time passes, then given up on
for s in 40 120 300 600 1200 2400 4800 9600 14000 20000; do
	export VIGIL_TEST_NOW=$(at $s)
	as_user "$RITA" alert list > /dev/null; expect_rc 0
done
v --json journal tail -n 400; expect_rc 0
[ "$(grep -c '"type":"alert.delivery_retry".*' "$T/out")" -ge 7 ] || fail "fewer retries than expected"
grep -q '"type":"alert.delivery_failed"' "$T/out" || fail "the mail channel was never given up on"
out_has '"delivery":\{"attempt":8,"channel":"mail",.*"outcome":"failed"'
# the failure is an alert of its own, told on the channels that work
as_user "$RITA" --json alert list --open; expect_rc 0
out_has '"category":"monitoring-failure".*"title":"monitoring failure \(delivery\): mail"'
grep -q '"title": *"monitoring failure (delivery): mail"\|"monitoring failure (delivery): mail"' "$T/hook.out" ||
	{ cat "$T/hook.out"; fail "the delivery failure was not told on the webhook"; }
as_user "$RITA" alert show "$ALERT"; expect_rc 0
out_has '"channel":"hook",.*"outcome":"delivered"'
out_has '"channel":"mail",.*"outcome":"failed"'
out_has "  deliver-failed "
v journal verify; expect_rc 0
exit 0

#!/bin/bash
# Every alert channel type against a real peer on loopback: mail to an SMTP server from
# Debian's packages (aiosmtpd) over STARTTLS, and an escalation over implicit TLS; syslog
# to collectors over TLS (RFC 5425) and TCP (RFC 6587), each frame parsed as RFC 5424; a
# webhook signed per Standard Webhooks, checked with the receiver's own HMAC code; and
# PagerDuty's Events API v2 (trigger, acknowledge, resolve, dedup_key = the alert id).
# One unauthorized change is one alert, told on every channel with one message id; its
# later messages thread under the first mail.  The escalation part needs the test clock
# (builds configured with -Dtest-clock=true); other builds check everything before it.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (useradd, login uid)"
"$PYTHON" -c 'import aiosmtpd' 2>/dev/null || fail "python3-aiosmtpd is not installed (scripts/deps installs it)"
command -v openssl > /dev/null || fail "openssl is not installed (scripts/deps installs it)"
RITA=$(mkuser vt53rita)
mkdir -p "$T/tree"; echo a > "$T/tree/a"
rules "$T/tree/**"

# a certificate for 127.0.0.1, trusted by the channels through ca_file
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
	-keyout "$T/key.pem" -out "$T/cert.pem" 2> "$T/openssl.err" || { cat "$T/openssl.err"; fail "openssl req"; }

D=$(dirname "$0")/../data
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
serve() { # NAME SCRIPT ARGS...: starts a peer writing $T/NAME.out, waits for its port
	local name=$1 script=$2 i
	shift 2
	"$PYTHON" "$D/$script" "$@" < /dev/null > "$T/$name.log" 2>&1 &
	at_exit "kill $! 2>/dev/null"
	for i in $(seq 100); do [ -s "$T/$name.out.port" ] && break; sleep 0.1; done
	[ -s "$T/$name.out.port" ] || { cat "$T/$name.log"; fail "the $name peer did not start"; }
	cat "$T/$name.out.port"
}
P_MAIL=$(serve mail smtp-recv.py "$T/mail.out" starttls "$T/cert.pem" "$T/key.pem")
P_URGENT=$(serve urgent smtp-recv.py "$T/urgent.out" smtps "$T/cert.pem" "$T/key.pem")
P_TLSLOG=$(serve tlslog syslog-recv.py "$T/tlslog.out" tls "$T/cert.pem" "$T/key.pem")
P_TCPLOG=$(serve tcplog syslog-recv.py "$T/tcplog.out" tcp)
P_HOOK=$(serve hook webhook-recv.py "$SECRET" "$T/hook.out")
P_PD=$(serve pd webhook-recv.py - "$T/pd.out")

cat > "$T/vigil.conf" <<EOT
[alerts]
channels = mail, tlslog, tcplog, hook, pd
escalation = urgent

[channel.mail]
type = email
url = smtp://127.0.0.1:$P_MAIL
starttls = yes
ca_file = $T/cert.pem
from = vigil@test.example
to = security@test.example

[channel.urgent]
type = email
url = smtps://127.0.0.1:$P_URGENT
ca_file = $T/cert.pem
from = vigil@test.example
to = oncall@test.example

[channel.tlslog]
type = syslog
target = tls://127.0.0.1:$P_TLSLOG
ca_file = $T/cert.pem

[channel.tcplog]
type = syslog
target = tcp://127.0.0.1:$P_TCPLOG

[channel.hook]
type = webhook
url = http://127.0.0.1:$P_HOOK/vigil
secret = $SECRET

[channel.pd]
type = pagerduty
url = http://127.0.0.1:$P_PD/v2/enqueue
routing_key = R0123456789abcdef0123456789abcd
EOT
v init -q; expect_rc 0
v config check; expect_rc 0
as_user 0 account add rita --unix-user vt53rita --role responder,administrator; expect_rc 0

# messages of EVENT for ALERT on every channel: one each, one message id across them
check_event() { # ALERT EVENT
	py - "$T" "$1" "$2" <<'PYC' || fail "the '$2' message of $1 was not told right on every channel"
import email, json, sys
t, alert, event = sys.argv[1:]
def lines(name):
    try:
        return [json.loads(l) for l in open("%s/%s.out" % (t, name))]
    except FileNotFoundError:
        return []
ids = set()
mails = [m for m in lines("mail") if "X-Vigil-Event: %s\r\n" % event in m["data"] or
         "X-Vigil-Event: %s\n" % event in m["data"]]
mails = [m for m in mails if "X-Vigil-Alert-ID: " + alert in m["data"]]
assert len(mails) == 1, ("mail", len(mails))
m = mails[0]
assert m["tls"] and m["tls"].startswith("TLS"), ("mail came without STARTTLS", m["tls"])
assert m["to"] == ["security@test.example"] and m["from"] == "vigil@test.example", m
msg = email.message_from_string(m["data"])
if event == "triggered":
    assert msg["Message-ID"].startswith("<%s@" % alert), msg["Message-ID"]
    assert msg["In-Reply-To"] is None
else:
    assert msg["In-Reply-To"].startswith("<%s@" % alert), msg["In-Reply-To"]
    assert msg["References"] == msg["In-Reply-To"]
    ids.add(msg["Message-ID"][1:].split("@")[0])
assert msg["Date"] and msg["Subject"] and msg["Auto-Submitted"] == "auto-generated", dict(msg)
for name, tls in (("tlslog", True), ("tcplog", False)):
    frames = [f for f in lines(name) if f.get("sd", {}).get("vigil@32473", {}).get("alert") == alert
              and f["sd"]["vigil@32473"].get("event") == event]
    bad = [f for f in lines(name) if not f["ok"]]
    assert not bad, (name, bad)
    assert len(frames) == 1, (name, len(frames))
    f = frames[0]
    assert bool(f["tls"]) == tls, (name, f["tls"])
    assert f["app"] == "vigil" and f["pri"] in ("81", "82", "83", "84", "85", "86"), f
    ids.add(f["sd"]["vigil@32473"]["message"])
hooks = [h for h in lines("hook") if h["body"]["alert"]["id"] == alert and h["body"]["event"] == event]
assert len(hooks) == 1 and hooks[0]["ok"], ("hook", hooks)
ids.add(hooks[0]["id"])
action = {"triggered": "trigger", "acknowledged": "acknowledge", "resolved": "resolve"}.get(event)
if action:
    pds = [p for p in lines("pd") if p["body"]["dedup_key"] == alert and p["body"]["event_action"] == action]
    assert len(pds) == 1, ("pd", pds)
    p = pds[0]["body"]
    assert p["routing_key"] == "R0123456789abcdef0123456789abcd" and pds[0]["path"] == "/v2/enqueue", p
    if action == "trigger":
        assert p["payload"]["summary"] and p["payload"]["severity"] in ("critical", "error", "warning", "info"), p
        assert p["payload"]["custom_details"]["alert"]["id"] == alert, p
if event == "triggered":
    assert len(ids) == 1, ("message ids differ", ids)
else:
    assert len(ids) == 1, ("message ids differ", ids)
PYC
}

# one unauthorized change: one alert, told on all five channels
echo b >> "$T/tree/a"
v check; expect_rc 4
as_user "$RITA" --json alert list; expect_rc 0
[ "$(wc -l < "$T/out")" -eq 1 ] || fail "expected one alert"
ALERT=$(py -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["id"])' "$T/out")
check_event "$ALERT" triggered
as_user "$RITA" alert show "$ALERT"; expect_rc 0
for c in mail tlslog tcplog hook pd; do out_has "\"channel\":\"$c\",.*\"outcome\":\"delivered\""; done

# acknowledged and resolved: threaded under the first mail, and PagerDuty told
as_user "$RITA" alert ack "$ALERT"; expect_rc 0
check_event "$ALERT" acknowledged
as_user "$RITA" alert respond "$ALERT" --text "looking"; expect_rc 0
as_user "$RITA" alert determine "$ALERT" --as false-positive --text "a test edit"; expect_rc 0
as_user "$RITA" alert close "$ALERT" --accept-change; expect_rc 0
check_event "$ALERT" resolved
# nothing went to the escalation contacts
[ ! -s "$T/urgent.out" ] || fail "an escalation mail was sent for an answered alert"

# escalation: an alert left unacknowledged past its first point goes to the escalation
# contacts over implicit TLS, threaded under the alert's first mail
echo c >> "$T/tree/a"
NOW=$(($(date -u +%s) + 3 * 86400)) # days ahead: a clock that is ignored cannot pass for it
export VIGIL_TEST_NOW=$(date -u -d "@$NOW" +%Y-%m-%dT%H:%M:%SZ)
v check; expect_rc 4
as_user "$RITA" --json alert list --open; expect_rc 0
ALERT2=$(py -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["id"])' "$T/out")
[ "$ALERT2" != "$ALERT" ] || fail "no second alert"
grep -q "\"generated\":\"${VIGIL_TEST_NOW%Z}" "$T/out" || {
	echo "note: this build ignores VIGIL_TEST_NOW (configure with -Dtest-clock=true); escalation not checked" >&2
	exit 0
}
export VIGIL_TEST_NOW=$(date -u -d "@$((NOW + 3700))" +%Y-%m-%dT%H:%M:%SZ)
as_user "$RITA" alert list; expect_rc 0
py - "$T/urgent.out" "$ALERT2" <<'PYC' || fail "the escalation mail did not arrive over TLS, threaded"
import email, json, sys
ms = [json.loads(l) for l in open(sys.argv[1])]
assert len(ms) == 1, len(ms)
m = ms[0]
assert m["tls"] and m["to"] == ["oncall@test.example"], m
msg = email.message_from_string(m["data"])
assert msg["X-Vigil-Alert-ID"] == sys.argv[2] and msg["X-Vigil-Event"] == "escalated", dict(msg)
assert msg["In-Reply-To"].startswith("<%s@" % sys.argv[2]), msg["In-Reply-To"]
PYC
v journal verify; expect_rc 0
exit 0

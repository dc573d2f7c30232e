#!/bin/bash
# Small text files under a "diff" rule: a change shows the unified diff of the text, with
# secret-looking values redacted (never stored in clear).  Certificates and commands: a
# certificate file added under a configured PKI path
# (certificate:PATH with subject, issuer, serial, validity and fingerprint); an exec
# collector over a script whose output the test changes (exec:NAME with a digest and the
# text's diff, secrets redacted); a cron.d entry; and an exec collector that hangs,
# killed at its timeout and recorded as a monitoring gap with an alert, not a crash.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (/etc/cron.d)"
command -v openssl > /dev/null || fail "openssl is not installed (scripts/deps installs it)"
mkdir -p "$T/pki" "$T/bin"
CRON=/etc/cron.d/vt63-test
at_exit "rm -f $CRON"
cat > "$T/bin/show" <<EOT
#!/bin/sh
cat "$T/device.conf"
EOT
cat > "$T/bin/hang" <<'EOT'
#!/bin/sh
sleep 30
EOT
chmod 755 "$T/bin/show" "$T/bin/hang"
printf 'hostname fw1\ninterface eth0\n  ip address 192.0.2.1/24\nsnmp-server community s3cr3tC0mmunity RO\n' > "$T/device.conf"
mkdir -p "$T/etc"
printf 'listen = 0.0.0.0:8443\nworkers = 4\napi_token = Tq9x7Lw2Vb8Nc4Zr\n' > "$T/etc/app.conf"
rules "certificate:*" "exec:*" "cron:*vt63*" "$T/etc/** diff"
cat > "$T/vigil.conf" <<EOT
[collect]
interval = 1
pki_paths = $T/pki

[exec.fw1]
command = $T/bin/show
timeout = 5
EOT
v init -q; expect_rc 0
v --json check; expect_rc 0

# a small text file: its diff, without the secret
printf 'listen = 0.0.0.0:9443\nworkers = 4\napi_token = Zz1y8Kw3Ub7Mc5Xq\n' > "$T/etc/app.conf"
v --json check; expect_rc 4
py - "$T/out" "$T/etc/app.conf" <<'PYC' || fail "no diff of the text file"
import json, sys
e = [json.loads(l) for l in open(sys.argv[1])]
d = [x["vigil"] for x in e if x.get("file", {}).get("path") == sys.argv[2]][0]["diff"]
assert "-listen = 0.0.0.0:8443" in d and "+listen = 0.0.0.0:9443" in d, d
assert " workers = 4" in d, d
PYC
v check; expect_rc 4
out_has '^          \+listen = 0.0.0.0:9443$'
for secret in Tq9x7Lw2Vb8Nc4Zr Zz1y8Kw3Ub7Mc5Xq; do
	grep -q "$secret" "$T/out" && fail "a secret was shown"
	grep -qa "$secret" "$T/state/vigil.db" && fail "a secret was stored"
done
printf 'listen = 0.0.0.0:8443\nworkers = 4\napi_token = Tq9x7Lw2Vb8Nc4Zr\n' > "$T/etc/app.conf"
v check > /dev/null

# check
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj "/CN=vt63 test CA" -keyout "$T/key.pem" -out "$T/pki/ca.pem" 2> /dev/null || fail "openssl"
FPR=$(openssl x509 -in "$T/pki/ca.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g')
SERIAL=$(openssl x509 -in "$T/pki/ca.pem" -noout -serial | sed 's/.*=//')
printf 'hostname fw1\ninterface eth0\n  ip address 192.0.2.9/24\nsnmp-server community s3cr3tC0mmunity RO\n' > "$T/device.conf"
printf '17 3 * * * root /usr/local/bin/vt63-job --quiet\n' > "$CRON"
v --json check; expect_rc 5
collected_has "certificate:$T/pki/ca.pem" added \
	"'vt63 test CA' in e['after']['subject'] and e['after']['sha256'].upper() == '$FPR' and e['after']['serial'].upper().lstrip('0') == '$SERIAL'.lstrip('0') and e['after']['key_type'].startswith('EC')"
collected_has exec:fw1 modified \
	"e['before']['sha256'] != e['after']['sha256'] and '-  ip address 192.0.2.1/24' in e['diff'] and '+  ip address 192.0.2.9/24' in e['diff']"
grep -q s3cr3tC0mmunity "$T/out" && fail "a secret in a command's output was kept"
grep -q s3cr3tC0mmunity "$T/state/vigil.db" && fail "a secret in a command's output was stored"
collected_has "cron:/etc/cron.d/vt63-test: 17 3 * * * root /usr/local/bin/vt63-job --quiet" added \
	"e['after']['user'] == 'root' and e['after']['command'] == '/usr/local/bin/vt63-job --quiet'"

# a command that hangs: killed at its timeout, a gap and an alert; the rest still works
cat >> "$T/vigil.conf" <<EOT

[exec.hsm]
command = $T/bin/hang
timeout = 1
EOT
start=$(date +%s)
v --json check; expect_rc 14
[ $(($(date +%s) - start)) -lt 15 ] || fail "the hanging command was not stopped at its timeout"
pgrep -f "$T/bin/hang" > /dev/null && fail "the hanging command was left running"
[ "$(sql_value "$T/state/vigil.db" "select count(*) from gaps where reason = 'collector' and scope = 'exec:'")" -ge 1 ] ||
	fail "no gap recorded for the hanging command"
sql_value "$T/state/vigil.db" "select detail from gaps where reason = 'collector'" | grep -q "hsm" ||
	fail "the gap does not name the command"
v --json alert list; expect_rc 0
out_has '"category":"monitoring-failure".*"title":"monitoring failure \(collector\): exec:"'
# fw1 is still compared and not taken for removed
v check; expect_rc 14
out_has '^modified  exec     exec:fw1$'
out_lacks 'removed .*exec:fw1'

# the daemon
sed -i '/^\[exec.hsm\]/,$d' "$T/vigil.conf"
daemon_start
printf 'hostname fw1\n' > "$T/device.conf"
daemon_collected exec:fw1 modified "e['after']['lines'] == 1"
rm "$T/pki/ca.pem"
daemon_collected "certificate:$T/pki/ca.pem" removed
daemon_stop
v journal verify; expect_rc 0
exit 0

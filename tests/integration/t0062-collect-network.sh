#!/bin/bash
# The network beyond files: a real program listening on a new port (socket:tcp/ADDR:PORT,
# with the process and executable behind it) and an nftables rule added to a chain
# (firewall:FAMILY TABLE CHAIN, with the chain's rules and their diff), each detected by
# `vigil check` and by the daemon.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (nft, sock_diag of every process)"
NFT=$(command -v nft) || fail "nft is not installed (scripts/deps installs nftables)"
TABLE=vt62_$$
at_exit "nft delete table inet $TABLE 2>/dev/null"
nft add table inet "$TABLE" || skip "this kernel has no nf_tables"
nft add chain inet "$TABLE" input '{ type filter hook input priority 0; policy accept; }'
PORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rules "socket:tcp/127.0.0.1:$PORT" "firewall:inet\\x20$TABLE\\x20*"
printf '[collect]\ninterval = 1\n' > "$T/vigil.conf"
v init -q; expect_rc 0
v --json check; expect_rc 0

listen() { # starts a listener on PORT; its pid in LPID
	"$PYTHON" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(120)' "$PORT" < /dev/null > /dev/null 2>&1 &
	LPID=$!
	at_exit "kill $LPID 2>/dev/null"
	for i in $(seq 50); do ss -ltn "sport = :$PORT" | grep -q LISTEN && return 0; sleep 0.1; done
	fail "the listener did not start"
}

# check
listen
nft add rule inet "$TABLE" input tcp dport 2222 drop
v --json check; expect_rc 5
collected_has "socket:tcp/127.0.0.1:$PORT" added \
	"e['after']['exe'] is not None and e['after']['exe'].split('/')[-1].startswith('python3') and e['after']['uid'] == 0"
collected_has "firewall:inet $TABLE input" modified \
	"any('dport 2222 drop' in r for r in e['after']['rules']) and not any('2222' in r for r in e['before']['rules']) and '+' in e['diff'] and '2222' in e['diff']"
v check; expect_rc 5
out_has "^added     socket   socket:tcp/127.0.0.1:$PORT\$"
out_has "^modified  firewall firewall:inet $TABLE input\$"
kill "$LPID"; wait "$LPID" 2>/dev/null
nft flush chain inet "$TABLE" input

# the daemon
daemon_start
listen
daemon_collected "socket:tcp/127.0.0.1:$PORT" added "e['after']['exe'] is not None"
nft add rule inet "$TABLE" input udp dport 5353 drop
daemon_collected "firewall:inet $TABLE input" modified "any('5353' in r for r in e['after']['rules'])"
kill "$LPID"; wait "$LPID" 2>/dev/null
daemon_collected "socket:tcp/127.0.0.1:$PORT" removed "e['after'] is None"
daemon_stop
v journal verify; expect_rc 0
exit 0

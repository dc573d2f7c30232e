#!/bin/bash
# The systemd protocol, as vigil.service uses it (Type=notify, WatchdogSec=): READY=1
# only once the watcher is armed and the start check is recorded, STATUS= kept current,
# WATCHDOG=1 at half the interval, STOPPING=1 at the end.  A real datagram socket
# stands where systemd's would be.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (fanotify)"
D=$T/tree
mkdir -p "$D"
echo a > "$D/f"
rules "$D/**"
v init -q; expect_rc 0
py - "$VIGIL" "$T" <<'PY' || fail "the notification protocol was not followed"
import os, socket, sqlite3, subprocess, sys, time
vigil, T = sys.argv[1], sys.argv[2]
path = T + "/notify"
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(60)
env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="400000")
p = subprocess.Popen([vigil, "--config", T + "/vigil.conf", "--rules", T + "/rules.d",
                      "--state-dir", T + "/state", "--runtime-dir", T + "/run", "daemon"],
                     env=env, stdout=open(T + "/daemon.log", "w"), stderr=subprocess.STDOUT)
msgs, ready_at = [], None
try:
    deadline = time.time() + 60
    while time.time() < deadline:
        m = s.recv(4096).decode()
        msgs.append(m)
        if "READY=1" in m.split("\n") and ready_at is None:
            ready_at = len(msgs)
            db = sqlite3.connect(T + "/state/vigil.db")
            # the start check is recorded before READY=1
            n = db.execute("select count(*) from runs where kind = 'check' and finished_ns is not null").fetchone()[0]
            assert n >= 1, "READY=1 before the start check finished"
            j = [r[0] for r in db.execute("select type from journal order by idx")]
            assert "monitor.started" in j, j
        if ready_at and sum("WATCHDOG=1" in x for x in msgs) >= 3:
            break
    assert ready_at, msgs
    assert any(x.startswith("STATUS=") and "fanotify" in x for x in msgs), msgs
    assert sum("WATCHDOG=1" in x for x in msgs) >= 3, msgs
    p.terminate()
    deadline = time.time() + 60
    while time.time() < deadline and not any("STOPPING=1" in x for x in msgs):
        msgs.append(s.recv(4096).decode())
    assert any("STOPPING=1" in x for x in msgs), msgs
    assert p.wait(10) == 0
finally:
    if p.poll() is None:
        p.kill()
PY
exit 0

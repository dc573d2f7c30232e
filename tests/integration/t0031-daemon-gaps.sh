#!/bin/bash
# Nothing missed silently: a queue overflow is a recorded gap followed by a rescan that
# finds every change; changes made while no daemon ran are found at start, after a
# recorded restart gap; a directory moved in is rescanned; kill -9 loses nothing that
# was reported.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (fanotify)"
D=$T/tree
mkdir -p "$D/mon" "$D/outside/sub"
for i in $(seq 200); do echo "$i" > "$D/mon/f$i"; done
echo inner > "$D/outside/sub/inner"
rules "$D/mon/**"
v init -q; expect_rc 0
daemon_start

# ---- overflow: the daemon is stopped while far more events than the queue holds happen
kill -STOP "$DAEMON_PID"
queue=$(cat /proc/sys/fs/fanotify/max_queued_events 2>/dev/null || echo 16384)
n=$((queue + 500))
py - "$D/mon" "$n" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d + "/burst", exist_ok=True)
for i in range(n):
    # create, modify and close-write: three events each
    with open("%s/burst/b%06d" % (d, i), "w") as f:
        f.write("x")
PY
echo changed > "$D/mon/f7"
kill -CONT "$DAEMON_PID"
for i in $(seq 300); do
	[ "$(sql_value "$T/state/vigil.db" "select count(*) from gaps where reason = 'overflow'")" -ge 1 ] && break
	sleep 0.1
done
[ "$(sql_value "$T/state/vigil.db" "select count(*) from gaps where reason = 'overflow'")" -ge 1 ] ||
	{ cat "$T/daemon.log"; fail "no overflow gap was recorded"; }
# the rescan that follows finds every file, including those whose events were lost
for i in $(seq 300); do
	got=$(sql_value "$T/state/vigil.db" "select count(distinct key) from changes where change = 'added' and hex(key) like '%0062757273740062%'")
	[ "$got" -ge "$n" ] && break
	sleep 0.2
done
[ "$got" -eq "$n" ] || fail "the rescan after the overflow recorded $got of $n new files"
sql_value "$T/state/vigil.db" "select count(*) from changes where source = 'rescan'" > "$T/n"
[ "$(cat "$T/n")" -ge 1 ] || fail "no change was recorded by the rescan"
changes_json
grep -q "\"path\":\"$D/mon/f7\"" "$T/changes" || fail "the modification during the stop was lost"
vd journal tail -n 100000 --json; expect_rc 0
grep -q '"type":"monitor.gap"' "$T/out" || fail "the gap is not in the journal"
grep -q '"reason":"overflow"' "$T/out" || fail "the journal's gap does not say overflow"

# ---- directory handles.  A directory made and removed elsewhere while the daemon is
# stopped is known from its creation: no gap.  One that existed before the daemon
# started, changed and removed unseen, is placed by its own deletion event, which names
# it: its changes are still recorded, as the kernel reported them.  When there are more
# such events than one read holds, the first part cannot be placed: a gap and a rescan.
mkdir -p "$D/outside/old" "$D/mon/olddir" "$D/mon/bigdir"
echo o > "$D/mon/olddir/x"
py - "$D/mon/bigdir" <<'PY'
import sys
for i in range(6000):
    open("%s/f%05d" % (sys.argv[1], i), "w").write("x")
PY
daemon_stop TERM
daemon_start
gaps_before=$(sql_value "$T/state/vigil.db" "select count(*) from gaps where reason = 'resolve'")
kill -STOP "$DAEMON_PID"
mkdir "$D/outside/tmp"
for i in $(seq 20); do echo "$i" > "$D/outside/tmp/t$i"; done
rm -rf "$D/outside/tmp"
echo changed > "$D/mon/olddir/x"
rm -rf "$D/mon/olddir"
kill -CONT "$DAEMON_PID"
for i in $(seq 300); do
	changes_json
	grep -q "\"path\":\"$D/mon/olddir/x\".*\"change\":\"removed\"" "$T/changes" && break
	sleep 0.1
done
grep -q "\"path\":\"$D/mon/olddir/x\".*\"change\":\"removed\".*\"source\":\"fanotify\"" "$T/changes" ||
	fail "the removal in a directory removed unseen was not placed from the kernel's events"
[ "$(sql_value "$T/state/vigil.db" "select count(*) from gaps where reason = 'resolve'")" -eq "$gaps_before" ] ||
	fail "directories whose deletion was seen caused a gap"
kill -STOP "$DAEMON_PID"
rm -rf "$D/mon/bigdir"
kill -CONT "$DAEMON_PID"
for i in $(seq 300); do
	[ "$(sql_value "$T/state/vigil.db" "select count(*) from gaps where reason = 'resolve'")" -gt "$gaps_before" ] && break
	sleep 0.1
done
[ "$(sql_value "$T/state/vigil.db" "select count(*) from gaps where reason = 'resolve'")" -gt "$gaps_before" ] ||
	fail "events that could not be placed left no gap"
for i in $(seq 300); do
	n=$(sql_value "$T/state/vigil.db" "select count(distinct key) from changes where change = 'removed' and hex(key) like '%00626967646972%'")
	[ "$n" -ge 6001 ] && break
	sleep 0.2
done
[ "$n" -ge 6001 ] || fail "after the gap, $n of 6001 removals were recorded"

# ---- a directory moved into the monitored tree: what it holds is found without events
mv "$D/outside/sub" "$D/mon/sub"
for i in $(seq 300); do
	changes_json
	grep -q "\"path\":\"$D/mon/sub/inner\"" "$T/changes" && break
	sleep 0.1
done
grep -q "\"path\":\"$D/mon/sub/inner\"" "$T/changes" || fail "a file in a directory moved in was not found"

# ---- directories moved in together, one inside another: one rescan covers both
mkdir -p "$D/outside/o1" "$D/outside/o2" "$D/outside/o3"
echo 1 > "$D/outside/o1/f1"; echo 2 > "$D/outside/o2/f2"; echo 3 > "$D/outside/o3/f3"
kill -STOP "$DAEMON_PID"
mv "$D/outside/o1" "$D/mon/a"
mv "$D/outside/o2" "$D/mon/a/b"
mv "$D/outside/o3" "$D/mon/c"
kill -CONT "$DAEMON_PID"
expect_changes "added $D/mon/a/f1" "added $D/mon/a/b/f2" "added $D/mon/c/f3"
kill -0 "$DAEMON_PID" || { cat "$T/daemon.log"; fail "the daemon died on nested moved directories"; }
settle

# ---- restart: changes made while no daemon runs are reported at start
restarts=$(sql_value "$T/state/vigil.db" "select count(*) from gaps where reason = 'restart'")
daemon_stop TERM
[ "$DAEMON_RC" -eq 0 ] || { cat "$T/daemon.log"; fail "the daemon did not stop cleanly"; }
echo offline > "$D/mon/f9"
rm "$D/mon/f10"
daemon_start
changes_json
py - "$T/changes" "$D/mon" <<'PY' || fail "offline changes were not found at start"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
start = {(e["vigil"]["change"], e["file"]["path"]) for e in recs if e["vigil"]["detection"]["source"] == "start"}
d = sys.argv[2]
assert ("modified", d + "/f9") in start, (start, [(e["vigil"]["change"], e["vigil"]["detection"]["source"], e["@timestamp"]) for e in recs if e["file"]["path"] in (d + "/f9", d + "/f10")])
assert ("removed", d + "/f10") in start, start
PY
[ "$(sql_value "$T/state/vigil.db" "select count(*) from gaps where reason = 'restart'")" -eq $((restarts + 1)) ] ||
	fail "the restart was not recorded as a gap"

# ---- kill -9: whatever was reported is in the store; the rest is found at the next start
for i in $(seq 20); do echo "k$i" > "$D/mon/k$i"; done
sleep 0.5
changes_json
reported=$(grep -c "\"path\":\"$D/mon/k" "$T/changes" || true)
daemon_stop KILL
for i in $(seq 21 40); do echo "k$i" > "$D/mon/k$i"; done
daemon_start
changes_json
py - "$T/changes" "$D/mon" "$reported" <<'PY' || fail "changes were lost across kill -9"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
d, reported = sys.argv[2], int(sys.argv[3])
added = {e["file"]["path"] for e in recs if e["vigil"]["change"] == "added"}
missing = [i for i in range(1, 41) if "%s/k%d" % (d, i) not in added]
assert not missing, missing
assert reported >= 1
PY
unclean=$(sql_value "$T/state/vigil.db" "select detail from gaps where reason = 'restart' order by id desc limit 1")
case $unclean in *"did not stop cleanly"*) ;; *) fail "the gap after kill -9 does not say so: $unclean";; esac
daemon_stop TERM

# ---- fanotify unusable (no CAP_SYS_ADMIN): inotify instead, a gap, and an alert
if command -v setpriv > /dev/null; then
	DAEMON_PREFIX="setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin"
	daemon_start
	DAEMON_PREFIX=
	vd status --json; expect_rc 0
	[ "$(out_json 'o["mode"]')" = inotify ] || fail "the daemon without CAP_SYS_ADMIN is not in inotify mode"
	grep -q "falling back to inotify" "$T/daemon.log" || fail "the fallback was not logged"
	[ "$(sql_value "$T/state/vigil.db" "select count(*) from gaps where reason = 'inotify-fallback'")" -eq 1 ] ||
		fail "the fallback was not recorded as a gap"
	# still watching
	echo fb > "$D/mon/fallback"
	expect_changes "added $D/mon/fallback"
	vd --json alert list --open; expect_rc 0
	grep -Eq '"category":"monitoring-failure".*"title":"monitoring failure \(inotify-fallback\): /' "$T/out" ||
		{ cat "$T/out"; fail "the fallback raised no alert"; }
	daemon_stop TERM
fi
exit 0

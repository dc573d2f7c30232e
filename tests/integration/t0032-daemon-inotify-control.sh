#!/bin/bash
# inotify mode when forced; two daemons side by side; the control socket serves only
# root and its own user; changes --follow and --since; a reload with new rules.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root"
D=$T/tree
mkdir -p "$D/mon/deep/er" "$D/later"
echo a > "$D/mon/deep/er/f"
echo b > "$D/later/g"
rules "$D/mon/**"
printf '[daemon]\nmode = inotify\n' > "$T/vigil.conf"
v init -q; expect_rc 0
daemon_start
vd status --json; expect_rc 0
[ "$(out_json 'o["mode"]')" = inotify ] || fail "mode is not inotify"
[ "$(out_json 'o["watches"] >= 3')" = True ] || fail "the directories are not watched"
vd journal tail -n 50 --json; expect_rc 0
grep -q '"type":"monitor.started"' "$T/out" || fail "no monitor.started entry"
grep -q '"mode":"inotify"' "$T/out" || fail "the journal does not say inotify"

# changes in inotify mode: recorded, without an actor
echo changed > "$D/mon/deep/er/f"
expect_changes "modified $D/mon/deep/er/f"
grep -q '"source":"inotify"' "$T/changes" || fail "the detection source is not inotify"
# a new directory is watched as it appears, and what was made in it before is found
mkdir -p "$D/mon/new/sub"
echo x > "$D/mon/new/sub/x"
sleep 0.3
echo y > "$D/mon/new/sub/y"
expect_changes "added $D/mon/new" "added $D/mon/new/sub" "added $D/mon/new/sub/x" "added $D/mon/new/sub/y" \
	"modified $D/mon/new/sub mtime,ctime"
settle

# a second daemon beside it, with its own state and runtime directory
mkdir -p "$T/two/rules.d"
printf '%s\n' "$D/later/**" > "$T/two/rules.d/t.rules"
: > "$T/two/vigil.conf"
V2=("$VIGIL" --config "$T/two/vigil.conf" --rules "$T/two/rules.d" --state-dir "$T/two/state" --runtime-dir "$T/two/run")
"${V2[@]}" init -q || fail "second init failed"
"${V2[@]}" daemon >> "$T/two/daemon.log" 2>&1 &
P2=$!
at_exit "kill $P2 2>/dev/null; wait $P2 2>/dev/null"
for i in $(seq 300); do "${V2[@]}" status --json 2>/dev/null | grep -q '"ready":true' && break; sleep 0.1; done
"${V2[@]}" status --json > "$T/two/status" || { cat "$T/two/daemon.log"; fail "the second daemon does not answer"; }
grep -q '"mode":"fanotify"' "$T/two/status" || fail "the second daemon is not in fanotify mode"
echo changed > "$D/later/g"
for i in $(seq 200); do "${V2[@]}" changes --json > "$T/two/changes"; grep -q "$D/later/g" "$T/two/changes" && break; sleep 0.1; done
grep -q "$D/later/g" "$T/two/changes" || fail "the second daemon missed its change"
changes_json
grep -q "$D/later/g" "$T/changes" && fail "the first daemon recorded the second one's change"
kill "$P2"; wait "$P2" || { cat "$T/two/daemon.log"; fail "the second daemon did not stop cleanly"; }

# a second daemon on the same state directory is refused, before it writes anything
vd daemon; [ "$rc" -ne 0 ] || fail "a second daemon on the same state started"
err_has "another daemon uses this state directory"

# vigil check beside the daemon: both write the store and the journal, neither breaks
echo beside > "$D/mon/beside"
vd check; [ "$rc" -eq 1 ] || [ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] || fail "check beside the daemon failed ($rc): $(cat "$T/err")"
settle
echo after > "$D/mon/after-check"
expect_changes "added $D/mon/after-check"
kill -0 "$DAEMON_PID" || fail "the daemon died when a check ran beside it"
vd journal verify; expect_rc 0

# only root and the daemon's own user are served
if command -v setpriv > /dev/null; then
	chmod 755 "$T" "$T/run" 2>/dev/null
	chmod 666 "$T/run/control"
	rc=0
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$VIGIL" --config "$T/two/vigil.conf" --state-dir "$T/state" --runtime-dir "$T/run" status \
		> "$T/out" 2> "$T/err" || rc=$?
	grep -q "running" "$T/out" && [ "$rc" -eq 0 ] && fail "an unprivileged user was served"
	chmod 600 "$T/run/control"
	chmod 700 "$T/run"
	grep -q "refused a client with uid 65534" "$T/daemon.log" || fail "the refusal was not logged"
fi

# changes --follow: what is recorded from now on arrives on the stream
"$VIGIL" --config "$T/vigil.conf" --state-dir "$T/state" --runtime-dir "$T/run" \
	changes --follow --json --since 1s > "$T/follow" 2>&1 &
FP=$!
at_exit "kill $FP 2>/dev/null"
sleep 0.5
echo live > "$D/mon/live"
for i in $(seq 200); do grep -q "$D/mon/live" "$T/follow" && break; sleep 0.1; done
grep -q "$D/mon/live" "$T/follow" || { cat "$T/follow"; tail "$T/daemon.log"; fail "--follow did not deliver the change"; }
kill "$FP"

# --since: old changes are left out
vd changes --since 2099-01-01T00:00:00Z; expect_rc 0
[ -s "$T/out" ] && fail "--since in the future listed changes"
vd changes --since yesterday; expect_rc 15; err_has "--since takes"
vd changes --since 1h; expect_rc 0; out_has "$D/mon/live"

# reload (SIGHUP) with a wider rule set: the new tree is watched from then on
rules "$D/mon/**" "$D/later/**"
kill -HUP "$DAEMON_PID"
for i in $(seq 200); do
	[ "$(sql_value "$T/state/vigil.db" "select count(*) from gaps where reason = 'reload'")" -ge 1 ] && break
	sleep 0.1
done
[ "$(sql_value "$T/state/vigil.db" "select count(*) from gaps where reason = 'reload'")" -ge 1 ] ||
	{ cat "$T/daemon.log"; fail "the reload was not recorded"; }
sleep 0.5
settle
echo again > "$D/later/g"
expect_changes "modified $D/later/g"

# a broken rule file on reload: the daemon keeps running on the old rules
echo '/bad[' > "$T/rules.d/zz.rules"
kill -HUP "$DAEMON_PID"
sleep 0.5
kill -0 "$DAEMON_PID" || fail "a bad reload stopped the daemon"
grep -q "reload failed" "$T/daemon.log" || fail "the failed reload was not logged"
rm "$T/rules.d/zz.rules"

daemon_stop TERM
[ "$DAEMON_RC" -eq 0 ] || { cat "$T/daemon.log"; fail "the daemon did not stop cleanly"; }

# settings: a full check interval above 7 days is refused with its place
printf '[daemon]\nfull_interval = 700000\n' > "$T/vigil.conf"
vd config check; expect_rc 16; err_has "vigil.conf:2:[0-9]+: 'full_interval' must be a whole number from 60 to 604800"
exit 0

#!/bin/bash
# inotify's watch limit: raised when the daemon may; when it may not, the directories
# left out are named as covered by periodic checks only, in the status and the journal,
# and recorded as a gap.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root"
lim=/proc/sys/fs/inotify/max_user_watches
orig=$(cat "$lim")
echo "$orig" > "$lim" 2>/dev/null || skip "cannot write $lim here"
command -v unshare > /dev/null || skip "no unshare"
at_exit "echo $orig > $lim"

D=$T/tree
for i in $(seq 20); do mkdir -p "$D/d$i"; echo "$i" > "$D/d$i/f"; done
rules "$D/**"
printf '[daemon]\nmode = inotify\n' > "$T/vigil.conf"
v init -q; expect_rc 0
# the watches root holds already (other programs), plus a few for us
used=$(cat /proc/[0-9]*/fdinfo/* 2>/dev/null | grep -c '^inotify wd' || true)

# ---- allowed to raise it: every directory is watched
echo $((used + 4)) > "$lim"
daemon_start
vd status --json; expect_rc 0
[ "$(out_json 'o["watches"]')" -eq 21 ] || fail "not every directory is watched: $(cat "$T/out")"
[ "$(out_json 'len(o["periodic_only"])')" -eq 0 ] || fail "paths were left out"
[ "$(cat "$lim")" -gt $((used + 4)) ] || fail "the limit was not raised"
grep -q "raised fs.inotify.max_user_watches" "$T/daemon.log" || fail "the raise was not logged"
daemon_stop TERM

# ---- not allowed (the setting is read-only where the daemon runs): what is left out is said
echo $((used + 4)) > "$lim"
unshare -m --propagation private bash -c '
	mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 99
	shift
	exec "$@"' _ "$lim" \
	"$VIGIL" --config "$T/vigil.conf" --rules "$T/rules.d" --state-dir "$T/state" \
	--runtime-dir "$T/run" daemon >> "$T/daemon.log" 2>&1 &
DAEMON_PID=$!
for i in $(seq 300); do
	vd status --json
	grep -q '"ready":true' "$T/out" && break
	kill -0 "$DAEMON_PID" 2>/dev/null || { wait "$DAEMON_PID"; [ $? -eq 99 ] && skip "cannot make $lim read-only"; cat "$T/daemon.log"; fail "the daemon exited"; }
	sleep 0.1
done
[ "$(out_json 'len(o["periodic_only"]) >= 1')" = True ] || fail "status names no path covered by periodic checks only: $(cat "$T/out")"
[ "$(out_json 'o["watches"] < 21')" = True ] || fail "more watches than the limit allows"
[ "$(sql_value "$T/state/vigil.db" "select count(*) from gaps where reason = 'watch-limit'")" -ge 1 ] ||
	fail "the watch limit was not recorded as a gap"
vd journal tail -n 100 --json; expect_rc 0
py - "$T/out" <<'PY' || fail "monitor.started does not list the paths covered by periodic checks only"
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("type") == "monitor.started" and e["monitor"]["mode"] == "inotify" and e["monitor"]["periodic_only"]:
        sys.exit(0)
sys.exit(1)
PY
# what is left out is still compared by the checks: a change there is found by one
vd status --json; expect_rc 0
left=$(out_json 'o["periodic_only"][-1]')
echo changed > "$left/f"
vd check; [ "$rc" -eq 4 ] || fail "a check does not see the change in $left ($rc)"
daemon_stop TERM
exit 0

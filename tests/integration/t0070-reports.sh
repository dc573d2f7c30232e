#!/bin/bash
# Audit reports from a scripted history, with the test clock (builds configured with
# -Dtest-clock=true read VIGIL_TEST_NOW): a change authorized by a change record and
# reviewed with an unobserved item, a vendor patch from a signed local apt repository
# under a standing authorization, an unauthorized change answered in time (with an
# incident record), one answered late (breached), an emergency change approved
# afterwards, a declared control test, and a monitoring gap from a daemon killed with
# SIGKILL.  Every report is checked against that history in JSON, must be byte-identical
# when made twice, carry the same rows in CSV, export a verifiable bundle, and render in
# headless Chromium without a console message, a script or an external reference.
# The reports and their screenshots are kept in $VIGIL_ARTIFACTS/t0070 (default:
# test-artifacts/t0070 next to the binary under test, the build directory).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (useradd, login uid, apt-get, fanotify)"
for p in apt-get apt-ftparchive dpkg-deb gpg gpgv; do
	command -v "$p" >/dev/null || skip "$p is not installed"
done
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../data/aptrepo.sh"

# the clock: a build that ignores VIGIL_TEST_NOW cannot run this history
mkdir -p "$T/probe/tree"
rules "$T/probe/tree/**"
VIGIL_TEST_NOW=2030-01-01T00:00:00Z v_in "$T/probe" init -q; expect_rc 0
VIGIL_TEST_NOW=2030-01-01T00:00:00Z v_in "$T/probe" --json journal tail -n 1; expect_rc 0
grep -q '"time":"2030-01-01T00:00:00.000000Z"' "$T/out" ||
	skip "this build ignores VIGIL_TEST_NOW (configure with -Dtest-clock=true)"
rm -rf "$T/probe"

ADM=$(mkuser vt70adm)
CAROL=$(mkuser vt70carol)
BOB=$(mkuser vt70bob)
ALICE=$(mkuser vt70alice)
DAVE=$(mkuser vt70dave)
RITA=$(mkuser vt70rita)
ARCH=$(dpkg --print-architecture)
LIST=/etc/apt/sources.list.d/vigil-t70.list
APT=(-o "Dir::Etc::sourcelist=$LIST" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
	-o APT::Sandbox::User=root -o DPkg::Lock::Timeout=120 -q -y --no-install-recommends)
export DEBIAN_FRONTEND=noninteractive
cleanup() {
	pkg_purge vigil-t70pkg >/dev/null 2>&1
	rm -f "$LIST"
	rm -f /var/lib/apt/lists/*"$(basename "$T")"*
}
at_exit cleanup
cleanup

# ---- the vendor repository: version 1.0 installed before the baseline
FPR=$(aptrepo_key "$T/gnupg" "$T/key.gpg") || fail "no key"
for ver in 1.0 2.0; do
	mkdir -p "$T/s$ver/usr/share/vigil-t70pkg"
	echo "data $ver" > "$T/s$ver/usr/share/vigil-t70pkg/data.txt"
	aptrepo_pkg "$T/r1/pool/main/vigil-t70pkg_${ver}_$ARCH.deb" vigil-t70pkg "$ver" "$ARCH" \
		"$T/s$ver" || fail "build $ver"
done
aptrepo_publish "$T/r1" t70 main "$T/gnupg" || fail "publish r1"
echo "deb [signed-by=$T/key.gpg] file:$T/r1 t70 main" > "$LIST"
apt-get "${APT[@]}" update > "$T/apt.log" 2>&1 || { cat "$T/apt.log"; fail "apt-get update"; }
apt-get "${APT[@]}" install vigil-t70pkg=1.0 >> "$T/apt.log" 2>&1 ||
	{ cat "$T/apt.log"; fail "install 1.0"; }

# The clock starts at the current minute, not at a date of its own: the package
# evidence is matched with dpkg's log, which has the real time.  From there on every
# time is fixed by the test.
BASE=$(($(date -u +%s) / 60 * 60))
at() { date -u -d "@$((BASE + $1))" +%Y-%m-%dT%H:%M:%SZ; }
atus() { date -u -d "@$((BASE + $1))" +%Y-%m-%dT%H:%M:%S.000000Z; }
clock() { export VIGIL_TEST_NOW; VIGIL_TEST_NOW=$(at "$1"); }

# ---- settings: two exec channels that log every message they get
for c in one two; do
	printf '#!/bin/sh\necho "$VIGIL_ALERT_ID $VIGIL_EVENT $VIGIL_MESSAGE_ID" >> "%s/chan-%s.log"\n' \
		"$T" "$c" > "$T/chan-$c.sh"
	chmod 755 "$T/chan-$c.sh"
done
cat > "$T/vigil.conf" <<EOT
[alerts]
channels = one, two

[channel.one]
type = exec
command = $T/chan-one.sh

[channel.two]
type = exec
command = $T/chan-two.sh
EOT
D=$T/tree
mkdir -p "$D/etc" "$D/u1" "$D/u2" "$D/ct" "$D/em"
echo one > "$D/etc/app.conf"
echo a > "$D/u1/a.conf"
echo b > "$D/u2/b.conf"
echo c > "$D/ct/c.conf"
echo h > "$D/em/hsm.conf"
rules "$D/**" "/usr/share/vigil-t70pkg/**"

clock 0
v init -q; expect_rc 0
as_user 0 account add admin --unix-user vt70adm --role administrator; expect_rc 0
for a in "carol vt70carol requester" "bob vt70bob approver" "alice vt70alice implementer" \
	"dave vt70dave reviewer" "rita vt70rita responder"; do
	set -- $a
	as_user "$ADM" account add "$1" --unix-user "$2" --role "$3"; expect_rc 0
done

# ---- a vendor patch under a standing authorization
clock 60
cat > "$T/sa.json" <<EOT
{
  "id": "SA-T70",
  "title": "Vendor updates from the test repository",
  "type": "standard",
  "reason": "automated patching from a defined vendor repository",
  "window": {"start": "$(at 0)", "end": "$(at $((5 * 86400)))"},
  "scope": {"paths": ["/usr/share/vigil-t70pkg/**"], "packages": ["vigil-t70pkg"]},
  "standing": {
    "repositories": [{"uri": "file:$T/r1", "suite": "t70", "component": "main", "keys": ["$FPR"]}],
    "evidence": "signed",
    "conffiles": false
  }
}
EOT
as_user "$CAROL" change new --file "$T/sa.json"; expect_rc 0
as_user "$CAROL" change submit SA-T70; expect_rc 0
as_user "$BOB" change approve SA-T70; expect_rc 0
apt-get "${APT[@]}" install vigil-t70pkg=2.0 >> "$T/apt.log" 2>&1 ||
	{ cat "$T/apt.log"; fail "upgrade to 2.0"; }
clock 120
v check; expect_rc 0
out_has "data.txt.*authorized by SA-T70"

# ---- a change under a change record, reviewed with an item expected but not seen
clock 300
as_user "$CAROL" --json change new --title "Edit app.conf" --window-start "$(at 0)" \
	--window-end "$(at $((5 * 86400)))" --implementer alice --path "$D/etc/app.conf" \
	--path "$D/etc/expected.conf" --risk low --rollback "restore"; expect_rc 0
CR=$(out_json 'o["id"]')
[ "$CR" = CR-000001 ] || fail "first record id is $CR"
as_user "$CAROL" change submit "$CR"; expect_rc 0
# separation of duties: the requester, an approver too, may not approve her own record
# (refused, and the refusal journaled)
as_user "$ADM" account grant carol --role approver; expect_rc 0
as_user "$CAROL" change approve "$CR"; expect_rc 20
err_has "separation of duties"
clock 360
as_user "$BOB" change approve "$CR" --text "fine"; expect_rc 0
clock 420
as_user "$ALICE" change start "$CR"; expect_rc 0
echo two >> "$D/etc/app.conf"
clock 480
v check; expect_rc 0
out_has "app.conf.*authorized by $CR"
clock 540
as_user "$ALICE" change complete "$CR"; expect_rc 0
clock 600
as_user "$DAVE" change review "$CR"; expect_rc 20
err_has "expected:$D/etc/expected.conf +unobserved"
ACKS=$(grep -Eo '^  [^ ]+' "$T/err" | sed 's/^  /--ack /' | tr '\n' ' ')
as_user "$DAVE" change review "$CR" $ACKS --text "expected.conf was not needed"; expect_rc 0
clock 660
as_user "$DAVE" change close "$CR"; expect_rc 0

# alert_id DIR: the id of the open alert whose title ends with DIR
alert_id() {
	as_user "$RITA" --json alert list --open; expect_rc 0
	py - "$T/out" "$1" <<'PY' || { cat "$T/out"; fail "no open alert for $1"; }
import json, sys
ids = [a["id"] for a in map(json.loads, open(sys.argv[1])) if a["title"].endswith(sys.argv[2])]
assert len(ids) == 1, ids
print(ids[0])
PY
}

# ---- an unauthorized change answered within 24 hours, with an incident record
clock 900
echo A >> "$D/u1/a.conf"
v check; expect_rc 4
A1=$(alert_id "/tree/u1")
clock 1200
as_user "$RITA" alert ack "$A1"; expect_rc 0
clock 3600
as_user "$RITA" alert respond "$A1" --text "looking"; expect_rc 0
clock 4000
as_user "$RITA" alert determine "$A1" --as confirmed --text "nobody filed a record"; expect_rc 0
as_user "$RITA" alert incident "$A1" --impact "config drift" --scope "u1" --severity low \
	--containment "kept after review" --root-cause "no change record" \
	--action "kind=prevent owner=rita due=$(at $((30 * 86400))) file records first" \
	--action "kind=mitigate owner=admin due=$(at $((30 * 86400))) status=done review the file" \
	--action "kind=detect owner=rita due=$(at $((30 * 86400))) alert sooner"; expect_rc 0
clock 4200
as_user "$RITA" alert close "$A1" --accept-change --text "kept"; expect_rc 0

# ---- an unauthorized change left unanswered: breached at its deadline
clock 5000
echo B >> "$D/u2/b.conf"
v check; expect_rc 4
A2=$(alert_id "/tree/u2")

# ---- an emergency change, implemented first and approved two hours later
clock 6000
as_user "$CAROL" --json change new --type emergency --title "HSM failover" \
	--path "$D/em/hsm.conf" --implementer alice --justification "primary HSM down"; expect_rc 0
EM=$(out_json 'o["id"]')
as_user "$ALICE" change start "$EM"; expect_rc 0
echo failover >> "$D/em/hsm.conf"
clock 6060
v check; expect_rc 4	# the second unauthorized change is still a difference
out_has "hsm.conf.*authorized by $EM"
as_user "$ALICE" change complete "$EM"; expect_rc 0
clock 13200
as_user "$BOB" change approve "$EM"; expect_rc 0
out_has "$EM: retro_approved"
clock 13300
as_user "$DAVE" change review "$EM"; expect_rc 0

# ---- a declared control test
clock 20000
as_user "$RITA" alert test --declare "quarterly detection test" --within 30m; expect_rc 0
clock 20100
echo test >> "$D/ct/c.conf"
v check; expect_rc 4
CT=$(alert_id "/tree/ct")
clock 20400
as_user "$RITA" alert respond "$CT" --text "detected"; expect_rc 0
as_user "$RITA" alert determine "$CT" --as control-test --text "as declared"; expect_rc 0
clock 20500
as_user "$RITA" alert close "$CT" --accept-change; expect_rc 0

# ---- a monitoring gap: a daemon killed with SIGKILL, then started again
clock 30000
daemon_start
daemon_stop KILL
clock 30100
daemon_start
daemon_stop TERM
as_user "$RITA" --json alert list --open; expect_rc 0
GAP=$(py - "$T/out" <<'PY'
import json, sys
ids = [a["id"] for a in map(json.loads, open(sys.argv[1])) if "restart" in a["title"]]
print(ids[0] if len(ids) == 1 else "")
PY
)
[ -n "$GAP" ] || { cat "$T/out"; fail "the restart gap raised no alert"; }

# ---- past the deadline of the second alert: breached, then answered late
clock $((5000 + 86400 + 60))
as_user "$RITA" alert list --breached; expect_rc 0
out_has "$A2 .* BREACHED"
clock $((5000 + 86400 + 600))
as_user "$RITA" alert respond "$A2" --text "late"; expect_rc 0
out_has "$A2: responded \\(breached\\)"
as_user "$RITA" alert determine "$A2" --as false-positive --text "a test file"; expect_rc 0
as_user "$RITA" alert close "$A2" --accept-change; expect_rc 0

# ---- the journal: verified, then a checkpoint every report is cut at
END=$((5000 + 86400 + 900))
clock $END
v journal verify; expect_rc 0
v journal checkpoint; expect_rc 0
cp "$T/out" "$T/checkpoint.note"
CP_SIZE=$(sed -n 2p "$T/checkpoint.note")
CP_ROOT=$(sed -n 3p "$T/checkpoint.note")
CP_ORIGIN=$(sed -n 1p "$T/checkpoint.note")
VERSION=$("$VIGIL" --version)
v --json journal tail -n 100000; expect_rc 0
cp "$T/out" "$T/journal.jsonl"
[ "$(wc -l < "$T/journal.jsonl")" -eq "$CP_SIZE" ] || fail "the checkpoint does not cover the journal"
printf '%s\n' "$CR" > "$T/ids"
printf 'CR=%s\nEM=%s\nA1=%s\nA2=%s\nCT=%s\nGAP=%s\nBASE=%s\nEND=%s\nCP_SIZE=%s\nCP_ROOT=%s\nCP_ORIGIN=%s\nVERSION=%s\nD=%s\nFPR=%s\n' \
	"$CR" "$EM" "$A1" "$A2" "$CT" "$GAP" "$BASE" "$END" "$CP_SIZE" "$CP_ROOT" "$CP_ORIGIN" \
	"$VERSION" "$D" "$FPR" > "$T/facts"

# ==== the reports ====
R=$T/reports
mkdir -p "$R"
# rep NAME ARGS...: `vigil report ARGS` in json, csv and html, each twice, byte-identical
rep() {
	local name=$1 f
	shift
	for f in json csv html; do
		v report "$@" --format "$f" -o "$R/$name.$f"; expect_rc 0
		v report "$@" --format "$f" -o "$R/$name.again.$f"; expect_rc 0
		cmp "$R/$name.$f" "$R/$name.again.$f" || fail "report $* --format $f differs between two runs"
		rm "$R/$name.again.$f"
	done
	# the same on standard output
	v report "$@" --format json; expect_rc 0
	cmp "$T/out" "$R/$name.json" || fail "report $* on stdout differs from -o"
}
rep coverage coverage
rep changes changes
rep reconciliation reconciliation
rep alerts alerts
rep separation separation
rep exceptions exceptions
rep journal journal
rep incident incident "$A1"
rep control-tests control-tests
rep sample sample --count 3 --seed s1
rep sample-s1b sample --count 3 --seed s1
rep sample-s2 sample --count 3 --seed s2
cmp "$R/sample.json" "$R/sample-s1b.json" || fail "the same seed gave another sample"
# the report appended nothing
v --json journal tail -n 100000; expect_rc 0
cmp "$T/out" "$T/journal.jsonl" || fail "making reports changed the journal"

# ---- JSON: field by field
py - "$R" "$T/facts" "$T/journal.jsonl" <<'PY' || fail "the JSON reports do not match the history"
import datetime, hashlib, json, re, sys

R, facts_file, journal_file = sys.argv[1:4]
F = dict(l.rstrip("\n").split("=", 1) for l in open(facts_file))
journal = [json.loads(l) for l in open(journal_file, encoding="utf-8")]
BASE = int(F["BASE"])
D = F["D"]

def at(s):
    t = datetime.datetime.fromtimestamp(BASE + s, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000000Z")

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
problems = []
def check(cond, what):
    if not cond:
        problems.append(what)
    return cond

def load(name, kind):
    raw = open("%s/%s.json" % (R, name), "rb").read()
    lines = raw.decode("utf-8").split("\n")
    check(lines[-1] == "", "%s: no final newline" % name)
    docs = []
    for l in lines[:-1]:
        o = json.loads(l)
        canon = json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        check(canon == l, "%s: line not canonical: %s" % (name, l[:120]))
        docs.append(o)
    h = docs[0]
    check(h.get("type") == "header" and h.get("format") == "vigil-report/1", "%s: header %s" % (name, h))
    check(h.get("report") == kind, "%s: report %r" % (name, h.get("report")))
    check(h["checkpoint"]["size"] == int(F["CP_SIZE"]), "%s: checkpoint size %s" % (name, h["checkpoint"]))
    check(h["checkpoint"]["root"] == F["CP_ROOT"], "%s: checkpoint root %s" % (name, h["checkpoint"]))
    check(h["checkpoint"]["origin"] == F["CP_ORIGIN"], "%s: checkpoint origin %s" % (name, h["checkpoint"]))
    check(h["checkpoint"]["time"] == at(int(F["END"])), "%s: checkpoint time %s" % (name, h["checkpoint"]))
    check(h["period"] == {"from": journal[0]["time"], "to": h["checkpoint"]["time"]},
          "%s: period %s" % (name, h["period"]))
    check(h["version"] in (F["VERSION"], F["VERSION"].split()[-1]), "%s: version %r" % (name, h["version"]))
    check(h["entries"] == int(F["CP_SIZE"]) and h["purged"] == 0, "%s: entries %s purged %s" % (name, h["entries"], h["purged"]))
    check(set(h["config"]) == {"sha256", "digest"}, "%s: config %s" % (name, h["config"]))
    rows = {}
    for o in docs[1:]:
        check(o.get("type") == "row", "%s: not a row: %s" % (name, o))
        for k, v in o.items():
            check(v is None or isinstance(v, (str, int, bool)), "%s: %s is %r" % (name, k, v))
            if isinstance(v, str) and re.match(r"^\d{4}-\d\d-\d\dT", v) and k not in ("text", "detail", "summary", "title"):
                check(TIME.match(v), "%s: time %s=%s" % (name, k, v))
        rows.setdefault(o["table"], []).append(o)
    # every row of a table has the same columns
    for t, rs in rows.items():
        cols = set(rs[0])
        for r in rs:
            check(set(r) == cols, "%s: table %s: columns differ: %s vs %s" % (name, t, sorted(r), sorted(cols)))
    return h, rows

def cols(name, rows, table, want):
    # an empty table has no line in JSON: what it must hold is checked by the caller
    if table not in rows:
        return []
    have = set(rows[table][0]) - {"type", "table"}
    check(have == set(want), "%s: table %s columns %s, want %s" % (name, table, sorted(have), sorted(want)))
    return rows[table]

def summary(rs):
    return {r["item"]: r["value"] for r in rs}

# which entries of the journal say what
def entries(typ, pred=lambda e: True):
    return [e for e in journal if e["type"] == typ and pred(e)]
changes = entries("change.detected")
def change_of(path):
    return [e for e in changes if e["event"].get("file", {}).get("path") == path]

# ---- coverage
h, rows = load("coverage", "coverage")
cols("coverage", rows, "summary", ["item", "value"])
mon = cols("coverage", rows, "monitoring", ["host", "mode", "from", "to", "end", "seconds"])
check(len(mon) == 2, "coverage: %d monitoring rows, want 2 daemon sessions" % len(mon))
if len(mon) == 2:
    check(mon[0]["from"] == at(30000) and mon[1]["from"] == at(30100), "coverage: monitoring from %s" % mon)
    check(mon[1]["to"] == at(30100), "coverage: the clean stop %s" % mon[1])
chk = cols("coverage", rows, "checks", ["run", "host", "kind", "full", "started", "finished", "objects", "added", "removed", "modified", "errors"])
runs = {e["run"]["id"]: e for e in entries("run.started")}
check({r["run"] for r in chk} <= set(runs), "coverage: checks name unknown runs")
for kind in ("init", "check"):
    check(any(r["kind"] == kind for r in chk), "coverage: no %s run" % kind)
gaps = cols("coverage", rows, "gaps", ["gap", "host", "time", "reason", "scope", "detail", "alert"])
jg = [e["gap"] for e in entries("monitor.gap")]
check(len(gaps) == len(jg) and len(gaps) >= 1, "coverage: gaps %s, journal %s" % (gaps, jg))
restart = [g for g in gaps if g["reason"] == "restart"]
check(len(restart) == 1 and restart[0]["alert"] == F["GAP"] and restart[0]["time"] == at(30100),
      "coverage: the restart gap %s (alert %s)" % (restart, F["GAP"]))
check(restart and "did not stop cleanly" in (restart[0]["detail"] or ""), "coverage: gap detail %s" % restart)
check({g["gap"] for g in gaps} == {g["id"] for g in jg}, "coverage: gap ids")
conf = cols("coverage", rows, "config", ["index", "time", "settings_sha256", "digest", "rule_count", "exclusions"])
cl = entries("config.loaded")
check([c["index"] for c in conf] == [e["index"] for e in cl], "coverage: config rows %s vs journal %s" % ([c["index"] for c in conf], [e["index"] for e in cl]))
for c in conf:
    check(c["rule_count"] == 2 and c["exclusions"] == 0, "coverage: config row %s" % c)

# ---- changes (records)
h, rows = load("changes", "changes")
recs = cols("changes", rows, "records", ["record", "source", "record_type", "title", "requester", "created", "approvers", "approved", "implementers", "started", "completed", "reviewer", "reviewed", "window_start", "window_end", "risk", "rollback", "significant", "state", "detections"])
byid = {r["record"]: r for r in recs}
check(set(byid) == {F["CR"], F["EM"], "SA-T70"}, "changes: records %s" % sorted(byid))
cr = byid.get(F["CR"], {})
check(cr.get("source") == "local" and cr.get("record_type") == "normal" and cr.get("requester") == "carol", "changes: CR %s" % cr)
check(cr.get("created") == at(300) and cr.get("approved") == at(360) and cr.get("started") == at(420)
      and cr.get("completed") == at(540) and cr.get("reviewed") == at(600), "changes: CR times %s" % cr)
check(cr.get("approvers") == "bob (approver)" and cr.get("implementers") == "alice" and cr.get("reviewer") == "dave", "changes: CR people %s" % cr)
check(cr.get("window_start") == at(0) and cr.get("window_end") == at(5 * 86400), "changes: CR window %s" % cr)
check(cr.get("state") == "closed" and cr.get("risk") == "low" and cr.get("rollback") == "restore"
      and cr.get("significant") is False and cr.get("detections") == 1, "changes: CR %s" % cr)
em = byid.get(F["EM"], {})
check(em.get("record_type") == "emergency" and em.get("started") == at(6000) and em.get("approved") == at(13200)
      and em.get("reviewed") == at(13300) and em.get("detections") == 1, "changes: emergency %s" % em)
sa = byid.get("SA-T70", {})
# the upgrade changed data.txt and its directory (mtime)
by_sa = [e for e in changes if (e["event"]["vigil"].get("authorization") or {}).get("record", {}).get("id") == "SA-T70"]
check(len(by_sa) == 2, "journal: %d changes authorized by SA-T70" % len(by_sa))
check(sa.get("record_type") == "standard" and sa.get("approved") == at(60) and sa.get("detections") == len(by_sa), "changes: SA %s" % sa)

# ---- reconciliation
h, rows = load("reconciliation", "reconciliation")
cols("reconciliation", rows, "summary", ["item", "value"])
rc = cols("reconciliation", rows, "changes", ["index", "change", "time", "host", "object", "action", "source", "disposition", "authorized_by", "by", "evidence", "package", "alert", "latency_s"])
check([r["index"] for r in rc] == [e["index"] for e in changes], "reconciliation: rows %s vs journal %s" % ([r["index"] for r in rc], [e["index"] for e in changes]))
byobj = {}
for r in rc:
    byobj.setdefault(r["object"], []).append(r)
def one(obj):
    rs = byobj.get("file:" + obj, [])
    check(len(rs) == 1, "reconciliation: %d rows for %s" % (len(rs), obj))
    return rs[0] if rs else {}
r = one(D + "/etc/app.conf")
check(r.get("disposition") == "authorized" and r.get("authorized_by") == F["CR"] and r.get("by") == "change_record"
      and r.get("alert") is None and r.get("action") == "modified" and r.get("time") == at(480)
      and r.get("source") == "check", "reconciliation: record change %s" % r)
r = one("/usr/share/vigil-t70pkg/data.txt")
check(r.get("disposition") == "authorized" and r.get("authorized_by") == "SA-T70" and r.get("by") == "standing_authorization"
      and r.get("evidence") == "signed" and (r.get("package") or "").startswith("vigil-t70pkg") and r.get("alert") is None,
      "reconciliation: vendor change %s" % r)
r = one(D + "/em/hsm.conf")
check(r.get("disposition") == "authorized" and r.get("authorized_by") == F["EM"] and r.get("alert") is None, "reconciliation: emergency change %s" % r)
for path, alert, t in (("/u1/a.conf", F["A1"], 900), ("/u2/b.conf", F["A2"], 5000), ("/ct/c.conf", F["CT"], 20100)):
    r = one(D + path)
    check(r.get("disposition") == "unauthorized" and r.get("alert") == alert and r.get("by") is None
          and r.get("authorized_by") is None and r.get("time") == at(t), "reconciliation: unauthorized %s %s" % (path, r))
jids = {e["index"]: e["event"]["event"]["id"] for e in changes}
for r in rc:
    check(r["change"] == jids.get(r["index"]), "reconciliation: change id of %s" % r)
un = cols("reconciliation", rows, "unobserved", ["record", "object", "text", "reviewer", "time"])
check(len(un) == 1 and un[0]["record"] == F["CR"] and un[0]["reviewer"] == "dave" and un[0]["time"] == at(600)
      and D + "/etc/expected.conf" in un[0]["object"], "reconciliation: unobserved %s" % un)

# ---- alerts
h, rows = load("alerts", "alerts")
s = summary(cols("alerts", rows, "summary", ["item", "value"]))
al = cols("alerts", rows, "alerts", ["alert", "category", "severity", "title", "generated", "deadline", "control_test", "channels", "first_delivered", "acknowledged", "responded", "response_s", "determined", "determination", "incident", "closed", "outcome", "breached", "state"])
byal = {a["alert"]: a for a in al}
for k in ("alerts", "breached", "channels_used"):
    check(k in s, "alerts: summary lacks %s: %s" % (k, s))
check(str(s.get("alerts")) == str(len(al)), "alerts: summary alerts %s, rows %d" % (s.get("alerts"), len(al)))
check(str(s.get("breached")) == str(sum(1 for a in al if a["breached"])), "alerts: summary breached %s" % s.get("breached"))
a1 = byal.get(F["A1"], {})
check(a1.get("generated") == at(900) and a1.get("deadline") == at(900 + 86400) and a1.get("acknowledged") == at(1200)
      and a1.get("responded") == at(3600) and a1.get("response_s") == 2700 and a1.get("response_s") < 86400
      and a1.get("breached") is False and a1.get("determination") == "confirmed" and a1.get("determined") == at(4000)
      and a1.get("closed") == at(4200) and a1.get("incident") is True and a1.get("control_test") is False
      and a1.get("category") == "unauthorized-change" and a1.get("state") == "closed", "alerts: A1 %s" % a1)
a2 = byal.get(F["A2"], {})
check(a2.get("generated") == at(5000) and a2.get("breached") is True and a2.get("responded") == at(5000 + 86400 + 600)
      and a2.get("response_s") == 86400 + 600 and a2.get("determination") == "false-positive", "alerts: A2 %s" % a2)
ct = byal.get(F["CT"], {})
check(ct.get("control_test") is True and ct.get("determination") == "control-test" and ct.get("breached") is False, "alerts: CT %s" % ct)
g = byal.get(F["GAP"], {})
check(g.get("category") == "monitoring-failure" and g.get("responded") is None and g.get("response_s") is None, "alerts: gap %s" % g)
for a in (a1, a2, ct):
    check(re.split(r"[ ,;]+", str(a.get("channels"))) == ["one", "two"], "alerts: channels %r" % a.get("channels"))
    check(a.get("first_delivered") == a.get("generated"), "alerts: first delivered %s" % a)
dl = cols("alerts", rows, "deliveries", ["alert", "channel", "event", "outcome", "attempt", "time", "message_id"])
logged = {}
for c in ("one", "two"):
    for l in open(F["D"].rsplit("/", 1)[0] + "/chan-%s.log" % c):
        aid, ev, mid = l.split()
        logged.setdefault(c, []).append((aid, ev, mid))
for c in ("one", "two"):
    mine = [(d["alert"], d["event"], d["message_id"]) for d in dl if d["channel"] == c and d["outcome"] == "delivered"]
    check(sorted(mine) == sorted(logged.get(c, [])), "alerts: deliveries on %s %s vs the channel's log %s" % (c, mine, logged.get(c)))
check(any(d["alert"] == F["A1"] and d["event"] == "triggered" and d["time"] == at(900) for d in dl), "alerts: A1 triggered delivery")
check(any(d["alert"] == F["A2"] and d["event"] == "breached" for d in dl), "alerts: A2 breach delivery")

# ---- separation
h, rows = load("separation", "separation")
sod = cols("separation", rows, "sod", ["index", "time", "record", "action", "person", "rule", "outcome", "relaxed_by"])
check(len(sod) == 1 and sod[0]["record"] == F["CR"] and sod[0]["person"] == "carol"
      and sod[0]["action"] == "approve" and sod[0]["outcome"] == "refused"
      and sod[0]["relaxed_by"] is None and "carol" in sod[0]["rule"]
      and [sod[0]["index"]] == [e["index"] for e in entries("record.refused")],
      "separation: the refused self-approval %s" % sod)
ir = cols("separation", rows, "implementer_reviewers", ["record", "person", "implemented", "reviewed"])
check(ir == [], "separation: an implementer reviewed: %s" % ir)
ra = cols("separation", rows, "responder_actor", ["index", "time", "alert", "person", "action"])
check(ra == [], "separation: no responder made the change, yet %s" % ra)

# ---- exceptions
h, rows = load("exceptions", "exceptions")
emr = cols("exceptions", rows, "emergency", ["record", "source", "title", "justification", "started", "started_by", "retro_approved", "delay_s", "state"])
check(len(emr) == 1 and emr[0]["record"] == F["EM"] and emr[0]["justification"] == "primary HSM down"
      and emr[0]["started"] == at(6000) and emr[0]["started_by"] == "alice" and emr[0]["retro_approved"] == at(13200)
      and emr[0]["delay_s"] == 7200 and emr[0]["title"] == "HSM failover", "exceptions: emergency %s" % emr)
st = cols("exceptions", rows, "standing", ["record", "source", "title", "scope", "window_start", "window_end", "state", "accepted"])
check(len(st) == 1 and st[0]["record"] == "SA-T70" and st[0]["accepted"] == len(by_sa) and st[0]["state"] == "approved"
      and st[0]["window_start"] == at(0) and st[0]["window_end"] == at(5 * 86400), "exceptions: standing %s" % st)
ac = cols("exceptions", rows, "accepted", ["record", "change", "time", "object", "action", "package", "version", "evidence", "signed_by"])
check(sorted(a["change"] for a in ac) == sorted(e["event"]["event"]["id"] for e in by_sa)
      and all(a["record"] == "SA-T70" and a["time"] == at(120) for a in ac), "exceptions: accepted %s" % ac)
vend = change_of("/usr/share/vigil-t70pkg/data.txt")
ad = [a for a in ac if a["object"] == "file:/usr/share/vigil-t70pkg/data.txt"]
check(len(ad) == 1 and ad[0]["package"] == "vigil-t70pkg" and ad[0]["version"] == "2.0" and ad[0]["evidence"] == "signed"
      and ad[0]["signed_by"] == F["FPR"] and ad[0]["action"] == "modified"
      and vend and ad[0]["change"] == vend[0]["event"]["event"]["id"], "exceptions: accepted data.txt %s" % ad)

# ---- journal
h, rows = load("journal", "journal")
cols("journal", rows, "summary", ["item", "value"])
cps = cols("journal", rows, "checkpoints", ["id", "size", "time", "root"])
check(cps and cps[-1]["size"] == int(F["CP_SIZE"]) and cps[-1]["root"] == F["CP_ROOT"] and cps[-1]["time"] == at(int(F["END"])),
      "journal: last checkpoint %s" % cps[-1:])
check([c["size"] for c in cps] == sorted(c["size"] for c in cps), "journal: checkpoints out of order")
ver = cols("journal", rows, "verifications", ["index", "time", "verified", "entries", "checkpoints", "problem", "by"])
jv = entries("journal.verified")
check(len(ver) == len(jv) == 1 and ver[0]["index"] == jv[0]["index"] and ver[0]["verified"] is True
      and ver[0]["entries"] == jv[0]["entries"] and ver[0]["problem"] is None and ver[0]["time"] == at(int(F["END"])),
      "journal: verifications %s" % ver)
check(cols("journal", rows, "exports", ["index", "time", "size", "checkpoints", "files", "by"]) == [], "journal: exports")
check(cols("journal", rows, "purges", ["index", "time", "from", "to", "cutoff", "retention_days", "root_at_to"]) == [], "journal: purges")
ret = cols("journal", rows, "retention", ["class", "entries", "purged", "oldest_index", "oldest_time"])
check(sum(r["entries"] for r in ret) == int(F["CP_SIZE"]) and all(r["purged"] == 0 for r in ret),
      "journal: retention %s" % ret)

# ---- incident
h, rows = load("incident", "incident")
s = summary(cols("incident", rows, "summary", ["item", "value"]))
check(F["A1"] in json.dumps(s) and "config drift" in json.dumps(s) and "no change record" in json.dumps(s), "incident: summary %s" % s)
tl = cols("incident", rows, "timeline", ["time", "event", "detail"])
def hm(sec):
    return at(sec)[:16].replace("T", " ")
check(tl and all(re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d$", t["time"]) for t in tl), "incident: timeline times %s" % tl)
for sec in (900, 1200, 3600, 4000, 4200):
    check(any(t["time"] == hm(sec) for t in tl), "incident: no timeline event at %s" % hm(sec))
ich = cols("incident", rows, "changes", ["change", "time", "object", "action", "actor", "disposition"])
check(len(ich) == 1 and ich[0]["object"].endswith("/u1/a.conf") and ich[0]["disposition"] == "unauthorized", "incident: changes %s" % ich)
act = cols("incident", rows, "actions", ["kind", "text", "owner", "due", "status"])
check(sorted((a["kind"], a["owner"], a["status"], a["text"]) for a in act) ==
      [("detect", "rita", "open", "alert sooner"), ("mitigate", "admin", "done", "review the file"),
       ("prevent", "rita", "open", "file records first")], "incident: actions %s" % act)

# ---- control tests
h, rows = load("control-tests", "control-tests")
ts = cols("control-tests", rows, "tests", ["test", "declared", "declared_by", "text", "alert", "changed", "detected", "generated", "first_delivered", "acknowledged", "responded", "closed", "detection_s", "response_s", "end_to_end_s"])
check(len(ts) == 1, "control-tests: %d rows" % len(ts))
if ts:
    t = ts[0]
    check(t["declared"] == at(20000) and t["declared_by"] == "rita" and t["text"] == "quarterly detection test"
          and t["alert"] == F["CT"] and t["detected"] == at(20100) and t["generated"] == at(20100)
          and t["responded"] == at(20400) and t["closed"] == at(20500) and t["response_s"] == 300
          and t["first_delivered"] == at(20100), "control-tests: %s" % t)

# ---- sample
samples = {}
for name, seed in (("sample", "s1"), ("sample-s2", "s2")):
    h, rows = load(name, "sample")
    sm = cols(name, rows, "sample", ["rank", "kind", "id", "time", "summary", "key", "evidence"])
    check(len(sm) == 3, "%s: %d rows" % (name, len(sm)))
    check([r["rank"] for r in sm] == [1, 2, 3], "%s: ranks %s" % (name, [r["rank"] for r in sm]))
    for r in sm:
        want = hashlib.sha256((seed + "\n" + r["id"]).encode()).hexdigest()
        check(r["key"] == want, "%s: key of %s is %s, want %s" % (name, r["id"], r["key"], want))
        idx = [int(x) for x in r["evidence"].split(" ")] if r["evidence"] else []
        check(idx and all(0 <= i < int(F["CP_SIZE"]) for i in idx), "%s: evidence %r" % (name, r["evidence"]))
    check([r["key"] for r in sm] == sorted(r["key"] for r in sm), "%s: not sorted by key" % name)
    # the sample is the lowest keys of the population: the changes and the alerts
    ids = [e["event"]["event"]["id"] for e in entries("change.detected")] + \
          [e["alert"]["id"] for e in entries("alert.raised")]
    pop = sorted(hashlib.sha256((seed + "\n" + i).encode()).hexdigest() for i in ids)
    check([r["key"] for r in sm] == pop[:3], "%s: not the 3 lowest keys of the %d changes and alerts" % (name, len(pop)))
    samples[seed] = [r["id"] for r in sm]
check(samples.get("s1") != samples.get("s2"), "sample: seeds s1 and s2 gave the same rows %s" % samples)

if problems:
    print("\n".join(problems))
    sys.exit(1)
PY

# ---- CSV: the same tables and rows as the JSON, as text
for f in "$R"/*.csv; do
	py - "$f" "${f%.csv}.json" <<'PY' || fail "$(basename "$f") does not carry the JSON's rows"
import csv, io, json, sys
raw = open(sys.argv[1], "rb").read()
assert raw.endswith(b"\r\n"), "no final CRLF"
assert b"\n" not in raw.replace(b"\r\n", b""), "a bare LF outside CRLF"
recs = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
docs = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
def text(v):
    if v is None:
        return ""
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)
# the sections
sections, i = {}, 0
order = []
while i < len(recs):
    assert len(recs[i]) == 1 and recs[i][0].startswith("table:"), (i, recs[i])
    name = recs[i][0][6:]
    head = recs[i + 1]
    j = i + 2
    body = []
    while j < len(recs) and recs[j] != []:
        assert len(recs[j]) == len(head), (name, head, recs[j])
        body.append(recs[j])
        j += 1
    assert j < len(recs), "section %s does not end with an empty line" % name
    sections[name] = (head, body)
    order.append(name)
    i = j + 1
assert order[0] == "header", order
h = docs[0]
flat = {"format": h["format"], "report": h["report"], "title": h["title"], "host": h["host"],
        "period.from": h["period"]["from"], "period.to": h["period"]["to"],
        "checkpoint.origin": h["checkpoint"]["origin"], "checkpoint.size": h["checkpoint"]["size"],
        "checkpoint.root": h["checkpoint"]["root"], "checkpoint.time": h["checkpoint"]["time"],
        "config.sha256": h["config"]["sha256"], "config.digest": h["config"]["digest"],
        "version": h["version"], "entries": h["entries"], "purged": h["purged"]}
head, body = sections["header"]
assert head == ["key", "value"], head
assert [r[0] for r in body] == list(flat), [r[0] for r in body]
assert {r[0]: r[1] for r in body} == {k: text(v) for k, v in flat.items()}, body
tables = {}
for d in docs[1:]:
    tables.setdefault(d["table"], []).append(d)
# every table of the JSON is a section (an empty table too, when the JSON has none,
# the CSV still names it)
for t, rows in tables.items():
    assert t in sections, "no section for table %s" % t
    head, body = sections[t]
    assert set(head) == set(rows[0]) - {"type", "table"}, (t, head, sorted(rows[0]))
    want = [[text(r[c]) for c in head] for r in rows]
    assert body == want, (t, body[:3], want[:3])
for t in order[1:]:
    if t not in tables:
        assert sections[t][1] == [], "section %s has rows the JSON lacks" % t
PY
done

# ---- a bundle: the three files, a journal export that verifies
mkdir "$T/bundle-empty"
v report reconciliation --bundle "$T/bundle-empty"; expect_rc 0
v report alerts --bundle "$T/bundle"; expect_rc 0
for f in report.html report.csv report.json; do
	[ -s "$T/bundle/$f" ] || fail "the bundle lacks $f"
	[ -s "$T/bundle-empty/$f" ] || fail "the bundle (into an empty directory) lacks $f"
done
cmp "$T/bundle/report.json" "$R/alerts.json" || fail "the bundle's JSON differs from the report"
cmp "$T/bundle/report.csv" "$R/alerts.csv" || fail "the bundle's CSV differs from the report"
cmp "$T/bundle/report.html" "$R/alerts.html" || fail "the bundle's HTML differs from the report"
"$VIGIL" journal verify --from-export "$T/bundle/journal" > "$T/out" 2> "$T/err" ||
	{ cat "$T/out" "$T/err"; fail "the bundle's journal does not verify"; }
# the export is cut at the report's own checkpoint
py - "$T/bundle" <<'PY' || fail "the bundle's export is not cut at the report's checkpoint"
import json, sys
h = json.loads(open(sys.argv[1] + "/report.json").readline())["checkpoint"]
origin, size, root = open(sys.argv[1] + "/journal/checkpoint").read().split("\n")[:3]
assert (origin, int(size), root) == (h["origin"], h["size"], h["root"]), (origin, size, root, h)
PY
# with --to at the first checkpoint's time, the report and its export both cut there
FIRST=$(sql_value "$T/state/vigil.db" "select time_ns from checkpoints order by id limit 1")
FIRST=$(date -u -d "@$((FIRST / 1000000000))" +%Y-%m-%dT%H:%M:%SZ)
v report alerts --to "$FIRST" --bundle "$T/bundle-to"; expect_rc 0
py - "$T/bundle-to" "$T/state/vigil.db" <<'PY' || fail "a bundle with --to is not cut at the report's checkpoint"
import json, sqlite3, sys
h = json.loads(open(sys.argv[1] + "/report.json").readline())["checkpoint"]
origin, size, root = open(sys.argv[1] + "/journal/checkpoint").read().split("\n")[:3]
assert (int(size), root) == (h["size"], h["root"]), (size, root, h)
first = sqlite3.connect(sys.argv[2]).execute("select size from checkpoints order by id limit 1").fetchone()[0]
assert h["size"] >= first, (h, first)
PY
v report alerts --bundle "$T/bundle"
[ "$rc" -ne 0 ] || fail "a bundle was written into a directory that is not empty"
v report incident "$A1" --bundle "$T/bundle-inc"; expect_rc 0
[ -s "$T/bundle-inc/report.md" ] || fail "the incident bundle lacks report.md"
v report sample --count 3 --seed s1 --bundle "$T/bundle-sample"; expect_rc 0
"$VIGIL" journal verify --from-export "$T/bundle-sample/journal" > "$T/out" 2> "$T/err" ||
	{ cat "$T/out" "$T/err"; fail "the sample bundle's journal does not verify"; }
py - "$T/bundle-sample" "$T/journal.jsonl" "$R/sample.json" <<'PY' || fail "the sample's evidence is not the journal's entries"
import json, os, sys
d, jf, sf = sys.argv[1:4]
journal = open(jf, "rb").read().split(b"\n")[:-1]
rows = [json.loads(l) for l in open(sf)][1:]
files = sorted(os.listdir(d + "/evidence"))
assert files == sorted(r["id"] + ".jsonl" for r in rows), files
for r in rows:
    raw = open("%s/evidence/%s.jsonl" % (d, r["id"]), "rb").read()
    assert raw.endswith(b"\n"), r["id"]
    lines = raw.split(b"\n")[:-1]
    idx = [int(x) for x in r["evidence"].split()]
    assert len(lines) == len(idx), (r, len(lines))
    for n, l in zip(idx, lines):
        assert l == journal[n], (r["id"], n, l[:100], journal[n][:100])
    assert any(r["id"].encode() in l for l in lines), "no evidence names %s" % r["id"]
PY

# ---- a journal entry that cannot be read: the journal's fault (exit 17), named, not a
# usage error; on a copy of the state, so nothing above is touched
cp -a "$T/state" "$T/state-bad"
N=$(sql_value "$T/state-bad/vigil.db" "select min(idx) from journal where type = 'alert.raised'")
sql "$T/state-bad/vigil.db" "update journal set entry = '{\"broken\":' where idx = $N"
"$VIGIL" --config "$T/vigil.conf" --rules "$T/rules.d" --state-dir "$T/state-bad" report alerts \
	--format json > "$T/out" 2> "$T/err"
rc=$?
[ "$rc" -eq 17 ] || { cat "$T/err"; fail "a report over an unreadable entry exited $rc, not 17"; }
err_has "journal entry $N"
rm -rf "$T/state-bad"

# two checkpoints issued at the same time: a report with --to that time is cut at the first,
# and so is its bundle's export (the export used to take the last one of that time)
cp -a "$T/state" "$T/state-tie"
TIE=$(date -u -d "@$(($(sql_value "$T/state-tie/vigil.db" "select max(time_ns) from checkpoints") / 1000000000 + 3600))" +%Y-%m-%dT%H:%M:%SZ)
tie() { VIGIL_TEST_NOW=$TIE "$VIGIL" --config "$T/vigil.conf" --rules "$T/rules.d" --state-dir "$T/state-tie" "$@"; }
tie journal checkpoint > /dev/null && tie journal verify > /dev/null && tie journal checkpoint > /dev/null ||
	fail "cannot issue the two checkpoints"
tie report alerts --to "$TIE" --bundle "$T/bundle-tie" 2> "$T/err" || { cat "$T/err"; fail "the tie bundle"; }
py - "$T/bundle-tie" "$T/state-tie/vigil.db" <<'PY' || fail "the bundle's export is not cut at the report's checkpoint"
import json, sqlite3, sys
h = json.loads(open(sys.argv[1] + "/report.json").readline())["checkpoint"]
size = int(open(sys.argv[1] + "/journal/checkpoint").read().split("\n")[1])
cps = sqlite3.connect(sys.argv[2]).execute("select size from checkpoints order by id desc limit 2").fetchall()
assert cps[0][0] > cps[1][0] and h["size"] == cps[1][0] == size, (h, size, cps)
PY
rm -rf "$T/state-tie"

# ---- HTML: self-contained, no script, rendered without a console message
ART=${VIGIL_ARTIFACTS:-$(cd "$(dirname "$VIGIL")" && pwd)/test-artifacts}/t0070
rm -rf "$ART"
mkdir -p "$ART" || fail "cannot make $ART"
for f in "$R"/*.html; do
	grep -qi '<script' "$f" && fail "$(basename "$f") has a script"
	grep -Eqi '(src|href)[[:space:]]*=[[:space:]]*["'\'']?(https?:)?//' "$f" && fail "$(basename "$f") refers to another site"
	grep -Eqi '<link[^>]*stylesheet' "$f" && fail "$(basename "$f") links a stylesheet"
	grep -Eqi '@import|url\((["'\'']?)(https?:)?//' "$f" && fail "$(basename "$f") imports from elsewhere"
	grep -q '<svg' "$f" || fail "$(basename "$f") has no chart (<svg)"
	grep -q '@media print' "$f" || fail "$(basename "$f") has no print style"
done
# a page that logs to the console: the check must catch it
printf '<!DOCTYPE html><html><body><p>x</p><script>console.error("vigil-t0070-canary")</script></body></html>' \
	> "$T/canary.html"
command -v "${CHROMIUM:-chromium}" > /dev/null || skip "chromium is not installed"
RENDER_PROFILE="$T/chromium-profile" RENDER_LOG="$T/chromium.log" \
	timeout 120 "$PYTHON" "$HERE/render-html.py" "$ART" "$T/canary.html" "$R"/*.html > "$T/render" ||
	{ cat "$T/render"; tail -20 "$T/chromium.log"; fail "Chromium could not render the reports"; }
grep -q '^canary.html problem console.error: vigil-t0070-canary' "$T/render" ||
	{ cat "$T/render"; fail "a console error was not caught"; }
rm -f "$ART/canary.png"
for f in "$R"/*.html; do
	b=$(basename "$f")
	grep -q "^$b ok " "$T/render" || { grep "^$b " "$T/render"; fail "$b: rendered with problems (or not at all)"; }
	[ "$(stat -c %s "$ART/${b%.html}.png")" -gt 20000 ] || fail "the screenshot of $b is nearly empty"
done
cp "$R"/*.html "$ART/"
exit 0

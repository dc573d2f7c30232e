#!/bin/bash
# journal export --from/--to: the export is cut at the latest checkpoint issued at or
# before --to (to the nanosecond), carries the checkpoints issued in [--from, --to] and
# the entries up to the cut and no further.  A non-empty target directory is refused,
# times that are not RFC 3339 are a usage error (15), and only exports that were written
# are journaled.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/tree"
echo one > "$T/tree/a"
rules "$T/tree/**" "=$T/tree perms+owner"
v init; expect_rc 0			# checkpoint 1
echo 2 > "$T/tree/b"; v check; expect_rc 1
v journal checkpoint; expect_rc 0	# 2
echo 3 > "$T/tree/c"; v check; expect_rc 1
v journal checkpoint; expect_rc 0	# 3
echo 4 > "$T/tree/d"; v check; expect_rc 1
v journal checkpoint; expect_rc 0	# 4

db="$T/state/vigil.db"
[ "$(sql_value "$db" "SELECT group_concat(id, ' ') FROM checkpoints")" = "1 2 3 4" ] ||
	fail "expected checkpoints 1..4, got $(sql_value "$db" "SELECT group_concat(id, ' ') FROM checkpoints")"
declare -A size tns
for id in 1 2 3 4; do
	size[$id]=$(sql_value "$db" "SELECT size FROM checkpoints WHERE id = $id")
	tns[$id]=$(sql_value "$db" "SELECT time_ns FROM checkpoints WHERE id = $id")
	sql_value "$db" "SELECT note FROM checkpoints WHERE id = $id" | sed '$d' > "$T/note$id"
done
[ "${size[1]}" -lt "${size[2]}" ] && [ "${size[2]}" -lt "${size[3]}" ] &&
	[ "${size[3]}" -lt "${size[4]}" ] || fail "checkpoint sizes do not grow: ${size[*]}"
[ "${tns[1]}" -lt "${tns[2]}" ] && [ "${tns[2]}" -lt "${tns[3]}" ] &&
	[ "${tns[3]}" -lt "${tns[4]}" ] || fail "checkpoint times do not grow: ${tns[*]}"

# the times used below, in RFC 3339 with all nine digits of the fraction: tt[NAME] for
# NAME "NS" (UTC) or "NS@MINUTES" (at that offset from UTC)
declare -A tt
t1=${tns[1]} t2=${tns[2]} t3=${tns[3]} t4=${tns[4]}
while read -r k val; do tt[$k]=$val; done < <(py - "$t1" "$t2" "$t3" "$t4" <<'PY'
import datetime, sys
t1, t2, t3, t4 = map(int, sys.argv[1:])
def rfc(ns, off=0):
    tz = datetime.timezone(datetime.timedelta(minutes=off))
    t = datetime.datetime.fromtimestamp(ns // 10**9, tz)
    z = t.strftime("%z")
    return (t.strftime("%Y-%m-%dT%H:%M:%S") + ".%09d" % (ns % 10**9) +
            ("Z" if off == 0 else z[:3] + ":" + z[3:]))
for ns, off in [(t1 - 1, 0), (t1, 0), (t2, 0), (t2 + 1, 0), (t3 - 1, 0), (t3, 0), (t3, 120),
                (t3 - 1, -330), (t4, 0), (t4 + 1, 0), (t4 + 10**9, 0)]:
    print("%d%s %s" % (ns, "@%d" % off if off else "", rfc(ns, off)))
PY
)
[ "${#tt[@]}" = 11 ] || fail "cannot format the times"

exported() { sql_value "$db" "SELECT count(*) FROM journal WHERE type = 'journal.exported'"; }
n_exp=0
# export_case CUT "IDS" ARGS...: exports with ARGS into a new directory; the export must
# be cut at checkpoint CUT and carry exactly the checkpoints IDS
export_case() {
	local cut=$1 ids=$2 dir f got
	shift 2
	n_exp=$((n_exp + 1))
	dir="$T/exp$n_exp"
	v journal export "$@" "$dir"; expect_rc 0
	out_has "^exported ${size[$cut]} entries, $(echo $ids | wc -w) checkpoints"
	cmp -s "$dir/checkpoint" "$T/note$cut" ||
		{ cat "$dir/checkpoint"; fail "export $*: not cut at checkpoint $cut"; }
	got=$(cd "$dir" && ls checkpoints 2> /dev/null | sort -n | xargs)
	[ "$got" = "$ids" ] || fail "export $*: checkpoints '$got', expected '$ids'"
	for f in $ids; do
		cmp -s "$dir/checkpoints/$f" "$T/note$f" || fail "export $*: checkpoints/$f differs"
	done
	sed -n 3p "$dir/manifest" | grep -qx "size ${size[$cut]}" ||
		fail "export $*: manifest says $(sed -n 3p "$dir/manifest")"
	rc=0
	"$VIGIL" journal verify --from-export "$dir" --key "$dir/verifier-key" --json \
		> "$T/vout" 2> "$T/err" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$T/vout" "$T/err"; fail "export $*: does not verify ($rc)"; }
	v journal tail -n 1 --json; expect_rc 0
	n_journaled=$((n_journaled + 1))
	# entries up to the cut and no further: the bundles hold exactly those; the
	# verification agrees; the export was journaled, once
	py - "$dir" "${size[$cut]}" "$(echo $ids | wc -w)" "$T" "$n_journaled" <<'PY' ||
import json, os, sqlite3, sys
d, size, ncp, T, nj = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
files = sorted(os.path.relpath(os.path.join(r, f), d)
               for r, _, fs in os.walk(os.path.join(d, "tile/entries")) for f in fs)
expect = ["tile/entries/%03d" % n for n in range(size // 256)]
if size % 256:
    expect.append("tile/entries/%03d.p/%d" % (size // 256, size % 256))
assert files == expect, (files, expect)
idx = []
for f in files:
    b = open(os.path.join(d, f), "rb").read()
    while b:
        n = b[0] << 8 | b[1]
        idx.append(json.loads(b[2:2 + n])["index"])
        b = b[2 + n:]
assert idx == list(range(size)), idx
o = json.load(open(T + "/vout"))
assert (o["verified"], o["entries"], o["size"], o["checkpoints"]) == (True, size, size, ncp + 1), o
e = json.load(open(T + "/out"))
assert e["type"] == "journal.exported", e
assert (e["export"]["size"], e["export"]["checkpoints"]) == (size, ncp), e
db = sqlite3.connect(T + "/state/vigil.db")
assert db.execute("SELECT count(*) FROM journal WHERE type = 'journal.exported'").fetchone()[0] == nj
PY
		fail "export $*: wrong content or report"
}
n_journaled=0

export_case 4 "1 2 3 4"
export_case 3 "1 2 3"	--to "${tt[$t3]}"
export_case 2 "1 2"	--to "${tt[$((t3 - 1))]}"
export_case 3 "2 3"	--from "${tt[$t2]}" --to "${tt[$t3]}"
export_case 4 "3 4"	--from "${tt[$((t2 + 1))]}"
export_case 3 "1 2 3"	--to "${tt[$t3@120]}"
export_case 2 "1 2"	--to "${tt[$((t3 - 1))@-330]}"
export_case 1 "1"	--to "${tt[$t1]}"
export_case 4 ""	--from "${tt[$((t4 + 1))]}"
export_case 4 "4"	--from "${tt[$t4]}" --to "${tt[$((t4 + 1000000000))]}"
# the period, not the cut, chooses the checkpoints: none of 2..3 issued in [t2+1, t3-1]
export_case 2 ""	--from "${tt[$((t2 + 1))]}" --to "${tt[$((t3 - 1))]}"

# no checkpoint by --to: nothing is written or journaled
v journal export --to "${tt[$((t1 - 1))]}" "$T/too-early"; expect_rc 18
err_has "no checkpoint"
[ -z "$(ls -A "$T/too-early" 2> /dev/null)" ] || fail "a refused export left files"
[ "$(exported)" = "$n_journaled" ] || fail "a refused export was journaled"

# a non-empty target is refused and left alone
mkdir -p "$T/full" "$T/hidden"
echo keep > "$T/full/file"
echo keep > "$T/hidden/.dot"
for d in full hidden; do
	v journal export "$T/$d"; expect_rc 18
	err_has "not empty"
	[ "$(ls -A "$T/$d" | wc -l)" = 1 ] || fail "the export wrote into the non-empty $d"
done
grep -qx keep "$T/full/file" || fail "the export changed a file it found"
[ "$(exported)" = "$n_journaled" ] || fail "a refused export was journaled"
# an existing empty directory is fine
mkdir "$T/empty"
v journal export "$T/empty"; expect_rc 0
n_journaled=$((n_journaled + 1))

# malformed times: usage errors, nothing written, nothing journaled
for bad in yesterday 2026-11-01 2026-11-01T00:00:00 "2026-11-01 00:00" 2026-13-01T00:00:00Z \
	2026-02-30T00:00:00Z 2025-02-29T00:00:00Z 2026-11-01T24:00:00Z 2026-11-01T00:60:00Z \
	2026-11-01T00:00:00.Z 2026-11-01T00:00:00+0200 2026-11-01T00:00:00+24:00 \
	"2026-11-01T00:00:00Z junk" " 2026-11-01T00:00:00Z" ""; do
	for opt in --from --to; do
		v journal export "$opt" "$bad" "$T/bad"; expect_rc 15
		err_has "RFC 3339"
		[ ! -e "$T/bad" ] || fail "export $opt '$bad' created its directory"
	done
done
[ "$(exported)" = "$n_journaled" ] || fail "an export with a malformed time was journaled"
# the forms that are RFC 3339 are taken
for good in 2026-11-01t00:00:00z "2026-11-01 00:00:00Z" 2099-11-01T00:00:00.5-08:00; do
	rm -rf "$T/good"
	v journal export --to "$good" "$T/good"
	[ "$rc" -eq 0 ] || [ "$rc" -eq 18 ] || { cat "$T/err"; fail "--to '$good' was refused ($rc)"; }
done
exit 0

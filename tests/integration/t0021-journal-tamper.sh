#!/bin/bash
# Every way of editing the journal in the store is caught by 'journal verify' (exit 19)
# and the first bad entry or the checkpoint that no longer matches is named: a changed
# byte, a deleted, swapped or inserted entry, a cut-off end, a checkpoint signed by
# another key, and entries rewritten together with their stored hashes.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/tree"
echo one > "$T/tree/a"
rules "$T/tree/**" "=$T/tree perms+owner"

v init; expect_rc 0
for i in 1 2 3; do echo "$i" > "$T/tree/add$i"; done
v check; expect_rc 1
v journal checkpoint; expect_rc 0	# #2
echo changed > "$T/tree/a"
rm "$T/tree/add1"
v check; expect_rc 5	# against the baseline: add2, add3 added, a modified
for i in 4 5; do echo "$i" > "$T/tree/add$i"; done
v check; expect_rc 5
v journal checkpoint; expect_rc 0	# #3, over every entry

db=vigil.db
[ -f "$T/state/$db" ] || fail "no store at $T/state/$db"
n=$(sql_value "$T/state/$db" "SELECT count(*) FROM journal")
[ "$(sql_value "$T/state/$db" "SELECT group_concat(id || ':' || size, ' ') FROM checkpoints")" = \
	"1:3 2:$(sql_value "$T/state/$db" "SELECT size FROM checkpoints WHERE id = 2") 3:$n" ] ||
	fail "unexpected checkpoints: $(sql_value "$T/state/$db" "SELECT id, size FROM checkpoints")"
m=$(sql_value "$T/state/$db" "SELECT size FROM checkpoints WHERE id = 2")
[ "$m" -gt 4 ] && [ "$n" -gt $((m + 6)) ] || fail "journal too short: #2 at $m, $n entries"

# a second store with its own key, for a checkpoint signed by someone else
v_in "$T/other" init; expect_rc 0

# tamper.py DB OP ARGS: the edits that need more than one SQL statement
cat > "$T/tamper.py" <<'PY'
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
op, args = sys.argv[2], sys.argv[3:]

def leaf(b):
    return hashlib.sha256(b"\0" + b).digest()

def rebuild_hashes():
    """Recomputes every stored hash from the entries, as the journal would have."""
    rows = db.execute("SELECT entry FROM journal ORDER BY idx").fetchall()
    level = [leaf(bytes(r[0])) for r in rows]
    db.execute("DELETE FROM journal_hashes")
    L = 0
    while level:
        db.executemany("INSERT INTO journal_hashes(level, idx, hash) VALUES (?, ?, ?)",
                       [(L, i, h) for i, h in enumerate(level)])
        level = [hashlib.sha256(b"\1" + level[i] + level[i + 1]).digest()
                 for i in range(0, len(level) - 1, 2)]
        L += 1

def one_byte(k):
    e = bytes(db.execute("SELECT entry FROM journal WHERE idx = ?", (k,)).fetchone()[0])
    assert b"check" in e, e
    e2 = e.replace(b"check", b"chock", 1)
    assert len(e2) == len(e) and sum(a != b for a, b in zip(e, e2)) == 1
    db.execute("UPDATE journal SET entry = ? WHERE idx = ?", (e2, k))
    return e2

def forged(k):
    t = db.execute("SELECT time_ns FROM journal WHERE idx = ?", (k,)).fetchone()[0]
    e = b'{"actor":{"uid":0},"index":%d,"time":"2026-01-01T00:00:00Z","type":"run.started"}' % k
    return t, e

if op == "byte":
    one_byte(int(args[0]))
elif op == "byte+leaf":
    k = int(args[0])
    db.execute("UPDATE journal_hashes SET hash = ? WHERE level = 0 AND idx = ?",
               (leaf(one_byte(k)), k))
elif op == "byte+all":
    one_byte(int(args[0]))
    rebuild_hashes()
elif op == "leaf-only":
    k = int(args[0])
    db.execute("UPDATE journal_hashes SET hash = ? WHERE level = 0 AND idx = ?",
               (hashlib.sha256(b"forged").digest(), k))
elif op == "swap":
    a, b = int(args[0]), int(args[1])
    ea = db.execute("SELECT entry FROM journal WHERE idx = ?", (a,)).fetchone()[0]
    eb = db.execute("SELECT entry FROM journal WHERE idx = ?", (b,)).fetchone()[0]
    assert ea != eb
    db.execute("UPDATE journal SET entry = ? WHERE idx = ?", (eb, a))
    db.execute("UPDATE journal SET entry = ? WHERE idx = ?", (ea, b))
elif op in ("insert", "insert+all"):
    k = int(args[0])
    t, e = forged(k)
    # shift k.. up by one without colliding with the primary key
    db.execute("UPDATE journal SET idx = -idx - 1 WHERE idx >= ?", (k,))
    db.execute("UPDATE journal SET idx = -idx WHERE idx < 0")
    db.execute("INSERT INTO journal(idx, time_ns, type, entry) VALUES (?, ?, 'run.started', ?)",
               (k, t, e))
    if op == "insert+all":
        rebuild_hashes()
elif op == "note-from":
    src, cid = sqlite3.connect(args[0]), int(args[1])
    note = src.execute("SELECT note FROM checkpoints WHERE id = 1").fetchone()[0]
    db.execute("UPDATE checkpoints SET note = ? WHERE id = ?", (note, cid))
elif op == "note-size":
    cid = int(args[0])
    note = db.execute("SELECT note FROM checkpoints WHERE id = ?", (cid,)).fetchone()[0]
    lines = note.split("\n")
    lines[1] = str(int(lines[1]) - 1)
    db.execute("UPDATE checkpoints SET note = ? WHERE id = ?", ("\n".join(lines), cid))
else:
    raise SystemExit("unknown op " + op)
db.commit()
PY

case_no=0
# fresh CASE: a copy of the journaled state to tamper with; its path in $state
fresh() {
	case_no=$((case_no + 1))
	state="$T/case$case_no-$1"
	cp -a "$T/state" "$state" || fail "cannot copy the state"
}
tamper() { py "$T/tamper.py" "$state/$db" "$@" || fail "tampering ($*) failed"; }

# expect_bad WHAT FIRST_BAD PROBLEM_REGEX [K]: verification of $state fails (19), naming
# FIRST_BAD ("null": no entry; "<=N": at most N) and a problem matching the regex; with K
# the problem names entry K itself or a range of entries "N to M" that holds K.
expect_bad() {
	local what=$1 first=$2 re=$3 k=${4:-}
	v_in "$state" --json journal verify
	[ "$rc" -eq 19 ] || { cat "$T/out" "$T/err"; fail "$what: verify exited $rc, not 19"; }
	grep -q "FAILED verification: " "$T/err" || { cat "$T/err"; fail "$what: no FAILED message"; }
	py - "$T/out" "$first" "$re" "$k" <<'PY' || { cat "$T/out"; fail "$what: wrong report"; }
import json, re, sys
o = json.load(open(sys.argv[1]))
first, rx, k = sys.argv[2], sys.argv[3], sys.argv[4]
assert o["verified"] is False, o
if first == "null":
    assert o["first_bad_entry"] is None, o
elif first.startswith("<="):
    assert o["first_bad_entry"] is not None and o["first_bad_entry"] <= int(first[2:]), o
else:
    assert o["first_bad_entry"] == int(first), o
assert re.search(rx, o["problem"]), (rx, o["problem"])
if k and not o["problem"].startswith("entry %s:" % k):
    m = re.search(r"(\d+) to (\d+)", o["problem"])
    assert m and int(m.group(1)) <= int(k) <= int(m.group(2)), ("range holds " + k, o["problem"])
PY
	# the human-readable form says the same
	v_in "$state" journal verify
	[ "$rc" -eq 19 ] || fail "$what: verify without --json exited $rc"
	err_has "FAILED verification: .*$(echo "$re" | sed 's/^\^//')"
}

# entries that say "check" after checkpoint #2 (run.started and changes of a check)
ks=($(sql_value "$T/state/$db" \
	"SELECT idx FROM journal WHERE idx > $m AND instr(CAST(entry AS TEXT), 'check') > 0 ORDER BY idx"))
[ "${#ks[@]}" -ge 4 ] || fail "too few entries to tamper with: ${ks[*]}"
k=${ks[1]}
early=$(sql_value "$T/state/$db" \
	"SELECT min(idx) FROM journal WHERE idx > 3 AND idx < $m AND instr(CAST(entry AS TEXT), 'check') > 0")
[ -n "$early" ] && [ "$early" != None ] || fail "no entry to tamper with before checkpoint #2"

# (0) untouched: verifies, twice (the first verification journals itself)
fresh untouched
v_in "$state" --json journal verify; expect_rc 0
[ "$(out_json 'o["verified"], o["entries"], o["checkpoints"], o["size"], "first_bad_entry" in o')" = \
	"(True, $n, 3, $n, False)" ] || { cat "$T/out"; fail "untouched copy: wrong report"; }
v_in "$state" --json journal verify; expect_rc 0
[ "$(out_json 'o["entries"]')" = $((n + 1)) ] || fail "the verification was not journaled"

# (a) one byte of an entry
fresh byte; tamper byte "$k"
expect_bad "changed byte" "$k" "^entry $k: "

# (a2) one byte before the first hand-issued checkpoint
fresh byte-early; tamper byte "$early"
expect_bad "changed early byte" "$early" "^entry $early: "

# (h) the stored leaf hash alone
fresh leaf; tamper leaf-only "$k"
expect_bad "changed leaf hash" "$k" "^entry $k: "

# (b) a deleted entry
fresh delete; sql "$state/$db" "DELETE FROM journal WHERE idx = $k"
expect_bad "deleted entry" "$k" "entry $k is missing"

# (c) two entries' bodies swapped
fresh swap; tamper swap "$k" "${ks[3]}"
expect_bad "swapped entries" "$k" "^entry $k: "

# (d) a forged entry inserted at k, later entries moved up
fresh insert; tamper insert "$k"
expect_bad "inserted entry" "$k" "^entry $k: "

# (d2) the same with every stored hash recomputed: the forged row's type and time
# columns give it away, and failing that the checkpoint does
fresh insert-rehashed; tamper insert+all "$k"
expect_bad "inserted entry, rehashed" "<=$k" "(checkpoint #3 .*does not match|entry $k: its type or time column)" "$k"

# (e) the last entries cut off
fresh truncate; sql "$state/$db" "DELETE FROM journal WHERE idx >= $((n - 2))"
expect_bad "truncated" "$((n - 2))" "removed from the end"
err_has "checkpoint #3"

# (f) a checkpoint replaced by one signed with another key
fresh foreign-checkpoint; tamper note-from "$T/other/$db" 2
expect_bad "foreign checkpoint" null "checkpoint #2: .*not signed by the verifier key"

# (f2) a checkpoint's size edited without a new signature
fresh edited-checkpoint; tamper note-size 3
expect_bad "edited checkpoint" null "checkpoint #3: .*(signature|signed)"

# (g) an entry and its leaf hash changed together: caught by checkpoint #3
fresh byte-and-leaf; tamper byte+leaf "$k"
expect_bad "entry and leaf" "<=$k" "checkpoint #3 .*does not match" "$k"

# (g2) an entry and every stored hash: still caught by the checkpoint, the first one
# that covers the entry is named
fresh byte-and-tree; tamper byte+all "$k"
expect_bad "entry and tree" "<=$k" "checkpoint #3 .*does not match" "$k"
fresh early-and-tree; tamper byte+all "$early"
expect_bad "early entry and tree" "<=$early" "checkpoint #2 .*does not match" "$early"

# and the original was never touched
v --json journal verify; expect_rc 0
exit 0

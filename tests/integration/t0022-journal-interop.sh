#!/bin/bash
# What the journal publishes checks out with an independent implementation
# (golang.org/x/mod/sumdb/note and .../tlog, through tests/interop/verify.go): the
# verifier key and checkpoints, inclusion and consistency proofs across full and partial
# tiles, and a whole export.  Every change to an export fails both that verifier and
# 'vigil journal verify --from-export' (exit 19).
. "$(dirname "$0")/lib.sh"

command -v go > /dev/null || skip "no go compiler"
[ -d /usr/share/gocode/src/golang.org/x/mod ] || skip "golang.org/x/mod is not installed"
src="$(cd "$(dirname "$0")/../.." && pwd)/tests/interop/verify.go"
[ -f "$src" ] || fail "no $src"
GV="$T/verify"
GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$T/gocache" GOFLAGS= \
	go build -o "$GV" "$src" > "$T/gobuild" 2>&1 || { cat "$T/gobuild"; fail "cannot build $src"; }

# gv ARGS: the independent verifier; its status in $grc, its output in $T/gvout
gv() {
	grc=0
	"$GV" "$@" > "$T/gvout" 2>&1 || grc=$?
}
gv_ok() { gv "$@"; [ "$grc" -eq 0 ] || { cat "$T/gvout"; fail "verify $* failed"; }; }
gv_bad() { gv "$@"; [ "$grc" -ne 0 ] || { cat "$T/gvout"; fail "verify $* passed: $1"; }; }

mkdir -p "$T/tree"
echo one > "$T/tree/a"
rules "$T/tree/**" "=$T/tree perms+owner"
v init; expect_rc 0
# 300 changes in one check (with the alert they raise): full tiles of 256 entries and a
# partial one
for i in $(seq 1 300); do echo "$i" > "$T/tree/f$i"; done
v check; expect_rc 1
v journal key; expect_rc 0; cp "$T/out" "$T/vkey"
v journal checkpoint; expect_rc 0; cp "$T/out" "$T/cp"
size=$(sed -n 2p "$T/cp")
[ "$size" -gt 300 ] && [ "$size" -lt 1024 ] && [ $((size % 256)) -ne 0 ] ||
	fail "checkpoint size $size, expected 301..1023 and not a whole number of tiles"
v journal tail -n 100000 --json; expect_rc 0; cp "$T/out" "$T/entries.jsonl"
[ "$(wc -l < "$T/entries.jsonl")" = "$size" ] || fail "tail and checkpoint disagree on the size"

# the checkpoint of init, for proofs against an older tree
sql_value "$T/state/vigil.db" "SELECT note FROM checkpoints WHERE id = 1" > "$T/cp1"
[ "$(sed -n 2p "$T/cp1")" = 3 ] || { cat "$T/cp1"; fail "init's checkpoint is not of size 3"; }
sed -i '$d' "$T/cp1"	# the query output added a newline after the note's last one

# a store with another key
v_in "$T/other" init; expect_rc 0
v_in "$T/other" journal key; expect_rc 0; cp "$T/out" "$T/okey"
v_in "$T/other" journal checkpoint; expect_rc 0; cp "$T/out" "$T/ocp"

# ---- signed notes
gv_ok note "$T/vkey" "$T/cp"
grep -q "note ok" "$T/gvout" || fail "verify note: $(cat "$T/gvout")"
gv_ok note "$T/vkey" "$T/cp1"
gv_bad note "$T/okey" "$T/cp"
gv_bad note "$T/vkey" "$T/ocp"
sed 's/^'"$size"'$/'"$((size + 1))"'/' "$T/cp" > "$T/cp-edited"
cmp -s "$T/cp" "$T/cp-edited" && fail "could not edit the checkpoint"
gv_bad note "$T/vkey" "$T/cp-edited"

# ---- proofs: inclusion of the first entry, the last of the full tile, the first of the
# partial one and the last; one against init's checkpoint; consistency from old sizes
incl="0 255 256 $((size - 1))"
cons="1 3 256 $((size - 1)) $size"
for i in $incl; do
	v journal prove --index "$i" --size "$size" --json; expect_rc 0
	cp "$T/out" "$T/incl$i.json"
done
v journal prove --index 1 --size 3 --json; expect_rc 0; cp "$T/out" "$T/incl-old.json"
for old in $cons; do
	v journal consistency --old "$old" --new "$size" --json; expect_rc 0
	cp "$T/out" "$T/cons$old.json"
done
v journal prove --index "$size" --size "$size" --json; expect_rc 15
v journal consistency --old "$((size + 1))" --new "$size" --json; expect_rc 15

# the hashes the proofs name are those computed here from the entries and the signed
# roots; each proof also gets a copy with one proof hash changed (NAME-bad.json)
py - "$T" $incl -- $cons <<'PY' || fail "the proofs name wrong hashes"
import base64, hashlib, json, sys
T = sys.argv[1]
sep = sys.argv.index("--")
incl, cons = sys.argv[2:sep], sys.argv[sep + 1:]
entries = open(T + "/entries.jsonl", "rb").read().splitlines()
def th(l):
    if len(l) == 1:
        return hashlib.sha256(b"\0" + l[0]).digest()
    k = 1
    while k * 2 < len(l):
        k *= 2
    return hashlib.sha256(b"\1" + th(l[:k]) + th(l[k:])).digest()
b = base64.b64decode
root = b(open(T + "/cp").read().split("\n")[2])
root1 = b(open(T + "/cp1").read().split("\n")[2])
assert th(entries) == root, "the checkpoint root is not the tree of the entries"
for name in ["incl" + i for i in incl] + ["incl-old"] + ["cons" + c for c in cons]:
    p = json.load(open("%s/%s.json" % (T, name)))
    if "index" in p:
        assert b(p["leaf_hash"]) == hashlib.sha256(b"\0" + entries[p["index"]]).digest(), name
        assert b(p["root"]) == th(entries[:p["size"]]), name
        assert b(p["root"]) == (root1 if name == "incl-old" else root), name
    else:
        assert b(p["old_root"]) == th(entries[:p["old_size"]]), name
        assert b(p["new_root"]) == root, name
        assert p["old_size"] != 3 or b(p["old_root"]) == root1, name
        assert (p["proof"] == []) == (p["old_size"] == p["new_size"]), name
    if p["proof"]:
        h = bytearray(b(p["proof"][0]))
        h[0] ^= 1
        p["proof"][0] = base64.b64encode(bytes(h)).decode()
        json.dump(p, open("%s/%s-bad.json" % (T, name), "w"))
PY

for i in $incl; do
	gv_ok inclusion "$T/vkey" "$T/cp" "$T/incl$i.json"
	grep -q "inclusion ok: entry $i in tree $size" "$T/gvout" || fail "$(cat "$T/gvout")"
	gv_bad inclusion "$T/vkey" "$T/cp" "$T/incl$i-bad.json"
	gv_bad inclusion "$T/okey" "$T/ocp" "$T/incl$i.json"
done
gv_ok inclusion "$T/vkey" "$T/cp1" "$T/incl-old.json"
gv_bad inclusion "$T/vkey" "$T/cp" "$T/incl-old.json"
for old in $cons; do
	gv_ok consistency "$T/cons$old.json"
	grep -q "consistency ok: $old is a prefix of $size" "$T/gvout" || fail "$(cat "$T/gvout")"
	[ "$old" = "$size" ] || gv_bad consistency "$T/cons$old-bad.json"
done

# ---- an export, verified by both
v journal export "$T/exp"; expect_rc 0
full=$((size / 256)) part=$((size % 256))
for f in checkpoint manifest verifier-key tile/0/000 "tile/0/$(printf %03d "$full").p/$part" \
	"tile/1/000.p/$full" tile/entries/000 "tile/entries/$(printf %03d "$full").p/$part"; do
	[ -f "$T/exp/$f" ] || { (cd "$T/exp" && find . -type f); fail "the export lacks $f"; }
done
cmp -s "$T/exp/checkpoint" "$T/cp" || fail "the export is not cut at the latest checkpoint"
cmp -s "$T/exp/verifier-key" "$T/vkey" || fail "the export's verifier key differs"
gv_ok export "$T/exp"
grep -q "export ok: $size entries" "$T/gvout" || fail "$(cat "$T/gvout")"

# vexp DIR [ARGS]: verifies an export with no store and no settings at all
vexp() {
	local dir=$1
	shift
	rc=0
	"$VIGIL" --state-dir "$T/no-such-state" journal verify --from-export "$dir" "$@" \
		> "$T/out" 2> "$T/err" || rc=$?
}
vexp "$T/exp" --key "$T/vkey" --json; expect_rc 0
[ "$(out_json 'o["verified"], o["entries"], o["size"]')" = "(True, $size, $size)" ] ||
	{ cat "$T/out"; fail "export verification report"; }
[ ! -e "$T/no-such-state" ] || fail "verifying an export created a state directory"
vexp "$T/exp"; expect_rc 0; out_has "export verified: $size entries"
# pinned to another key, the export is not trusted
vexp "$T/exp" --key "$T/okey"; expect_rc 19; err_has "FAILED verification: .*not signed by the verifier key"

# ---- tampered exports: each case is a copy of the export, changed; NAME KIND FIRST_BAD
# in $T/cases, KIND "both" (both verifiers must reject it), "vigil" (an unlisted file,
# which tests/interop/verify.go does not look for) or "ok" (must be accepted)
py - "$T" "$size" <<'PY' || fail "cannot prepare the tampered exports"
import base64, hashlib, os, shutil, sys
T, size = sys.argv[1], int(sys.argv[2])
w, full = size % 256, size // 256
last = "%03d" % full
first_of_last = full * 256
try:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    key = load_pem_private_key(open(T + "/state/journal.key", "rb").read(), None)
except ImportError:
    key = None
cases = open(T + "/cases", "w")

def rd(d, p): return open(os.path.join(d, p), "rb").read()
def wr(d, p, b):
    os.makedirs(os.path.dirname(os.path.join(d, p)), exist_ok=True)
    open(os.path.join(d, p), "wb").write(b)

def flip(d, p, off):
    b = bytearray(rd(d, p))
    b[off] ^= 1
    wr(d, p, bytes(b))

def entry(d, k):
    """Changes one byte of entry k in its bundle, keeping it valid JSON."""
    p = "tile/entries/%03d" % (k // 256)
    if not os.path.isfile(os.path.join(d, p)):
        p += ".p/" + os.listdir(os.path.join(d, p + ".p"))[0]
    b, off = bytearray(rd(d, p)), 0
    for _ in range(k % 256):
        off += 2 + (b[off] << 8 | b[off + 1])
    n = b[off] << 8 | b[off + 1]
    e = bytes(b[off + 2:off + 2 + n])
    assert b'"index":%d,' % k in e, e
    b[off + 2 + e.index(b'"type":"') + 8] ^= 1
    wr(d, p, bytes(b))

def sign(text):
    name, khash, _ = open(T + "/vkey").read().strip().split("+", 2)
    sig = bytes.fromhex(khash) + key.sign(text.encode())
    return (text + "\n\u2014 " + name + " " + base64.b64encode(sig).decode() + "\n").encode()

def resign(d):
    """A new manifest over every file as it is now, signed with the journal's key."""
    head = rd(d, "manifest").decode().split("\n")[:3]
    paths = sorted(os.path.relpath(os.path.join(r, f), d)
                   for r, _, fs in os.walk(d) for f in fs if f != "manifest" or r != d)
    wr(d, "manifest", sign("\n".join(head + [hashlib.sha256(rd(d, p)).hexdigest() + " " + p
                                              for p in paths]) + "\n"))

def fork(d):
    """A checkpoint of size 5, properly signed, whose tree is not the exported one."""
    origin = rd(d, "checkpoint").decode().split("\n")[0]
    wr(d, "checkpoints/998", sign("%s\n5\n%s\n" % (origin, base64.b64encode(b"\7" * 32).decode())))

def case(name, kind, first, *edits, signed=False):
    if signed and key is None:
        return
    d = "%s/x-%s" % (T, name)
    shutil.copytree(T + "/exp", d)
    for e in edits:
        e(d)
    if signed:
        resign(d)
    cases.write("%s %s %s\n" % (name, kind, first))

cp_size_off = len(rd(T + "/exp", "checkpoint").split(b"\n")[0]) + 1
root_off = cp_size_off + len(str(size)) + 1
case("entry-full-bundle", "both", "-", lambda d: entry(d, 7))
case("entry-partial-bundle", "both", "-", lambda d: entry(d, size - 2))
case("full-tile", "both", "-", lambda d: flip(d, "tile/0/000", 32 * 9 + 5))
case("partial-tile", "both", "-", lambda d: flip(d, "tile/0/%s.p/%d" % (last, w), 40))
case("level1-tile", "both", "-", lambda d: flip(d, "tile/1/000.p/%d" % full, 0))
case("checkpoint-size", "both", "-", lambda d: flip(d, "checkpoint", cp_size_off))
case("checkpoint-root", "both", "-", lambda d: flip(d, "checkpoint", root_off + 4))
case("checkpoint-signature", "both", "-", lambda d: flip(d, "checkpoint", -10))
case("manifest", "both", "-", lambda d: flip(d, "manifest", 30))
case("foreign-checkpoint", "both", "-", lambda d: wr(d, "checkpoints/999", rd(T, "ocp")))
case("bundle-removed", "both", "-", lambda d: os.unlink(d + "/tile/entries/%s.p/%d" % (last, w)))
case("tile-removed", "both", "-", lambda d: os.unlink(d + "/tile/0/000"))
case("unlisted-file", "vigil", "-", lambda d: wr(d, "README", b"extra\n"))
case("unlisted-checkpoint", "vigil", "-", lambda d: wr(d, "checkpoints/999", rd(T, "cp")))
# with the manifest re-signed by the journal's own key, the entries, tiles and
# checkpoint are still checked against each other
case("signed-entry", "both", 7, lambda d: entry(d, 7), signed=True)
case("signed-late-entry", "both", 300, lambda d: entry(d, 300), signed=True)
case("signed-full-tile", "both", 9, lambda d: flip(d, "tile/0/000", 32 * 9 + 5), signed=True)
case("signed-partial-tile", "both", first_of_last + 1, lambda d: flip(d, "tile/0/%s.p/%d" % (last, w), 40), signed=True)
case("signed-level1-tile", "both", "-", lambda d: flip(d, "tile/1/000.p/%d" % full, 0), signed=True)
case("signed-checkpoint-removed", "both", "-", lambda d: os.unlink(d + "/checkpoint"), signed=True)
case("signed-forked-checkpoint", "both", "-", fork, signed=True)
# the re-signing itself is sound: unchanged but re-signed, both accept it
case("signed-unchanged", "ok", "-", signed=True)
PY
[ "$(wc -l < "$T/cases")" -ge 14 ] || fail "too few cases prepared"

while read -r name kind first; do
	x="$T/x-$name"
	gv export "$x"
	case $kind in
	both) [ "$grc" -ne 0 ] || { cat "$T/gvout"; fail "$name: the Go verifier accepted it"; } ;;
	ok) [ "$grc" -eq 0 ] || { cat "$T/gvout"; fail "$name: the Go verifier rejected it"; } ;;
	esac
	vexp "$x" --key "$T/vkey" --json
	if [ "$kind" = ok ]; then
		[ "$rc" -eq 0 ] || { cat "$T/out" "$T/err"; fail "$name: vigil exited $rc, not 0"; }
		continue
	fi
	[ "$rc" -eq 19 ] || { cat "$T/out" "$T/err"; fail "$name: vigil exited $rc, not 19"; }
	grep -q "FAILED verification: ." "$T/err" || { cat "$T/err"; fail "$name: no FAILED message"; }
	grep -q '"verified":false' "$T/out" || { cat "$T/out"; fail "$name: verified is not false"; }
	[ "$kind" != vigil ] || grep -q "does not list" "$T/err" ||
		{ cat "$T/err"; fail "$name: the unlisted file is not named"; }
	[ "$first" = - ] || grep -Eq "\"first_bad_entry\":$first[,}]" "$T/out" ||
		{ cat "$T/out"; fail "$name: the first bad entry is not $first"; }
done < "$T/cases"
exit 0

#!/bin/bash
# The journal as a person sees it: canonical JSON entries with consecutive indexes in
# the order things happened, the acting user, a verifier key in signed-note form, a
# signed checkpoint over exactly the entries there are, and a private key that stays in
# its 0600 file and is never printed or exported.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/tree"
echo one > "$T/tree/a"
rules "$T/tree/**" "=$T/tree perms+owner"
# two channels that always take a message, so the journal's tail is known
printf '[alerts]\nchannels = a, b\n[channel.a]\ntype = exec\ncommand = /bin/true\n[channel.b]\ntype = exec\ncommand = /bin/true\n' > "$T/vigil.conf"

# every output of the test is kept, to look for the private key in it afterwards
: > "$T/all"
keep() { cat "$T/out" "$T/err" >> "$T/all"; }

v init; expect_rc 0; keep
echo new > "$T/tree/new"
v check; expect_rc 1; keep

key="$T/state/journal.key"
[ -f "$key" ] || fail "init did not create $key"
[ "$(stat -c %a "$key")" = 600 ] || fail "$key has mode $(stat -c %a "$key"), not 600"

# ---- the whole journal, then the last three entries
v journal tail -n 1000 --json; expect_rc 0; keep
cp "$T/out" "$T/entries.jsonl"
uid=$(id -u)
json_check '
import re
uid = '"$uid"'
n = len(events)
assert [e["index"] for e in events] == list(range(n)), [e["index"] for e in events]
types = [e["type"] for e in events]
# init, then check
assert types[:3] == ["config.loaded", "run.started", "baseline.created"], types
assert types[3:5] == ["config.loaded", "run.started"], types
# the run ends the check; deliveries of the alert come after it
run_end = types.index("run.finished")
assert all(t.startswith("alert.deliver") for t in types[run_end + 1:]), types
assert "alert.raised" in types[5:run_end], types
changes = [e for e in events if e["type"] == "change.detected"]
assert types.index("change.detected") > 4, types
paths = [c["event"]["file"]["path"] for c in changes]
assert T + "/tree/new" in paths, paths
assert [c["event"]["vigil"]["change"] for c in changes if c["event"]["file"]["path"] == T + "/tree/new"] == ["added"]
assert "change.detected" not in types[:5] and types.count("run.finished") == 1, types
for e in events:
    assert e["actor"]["uid"] == uid, e
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", e["time"]), e["time"]
times = [e["time"] for e in events]
assert times == sorted(times), times
assert events[1]["run"]["kind"] == "init" and events[4]["run"]["kind"] == "check", events[4]
'
size=$(wc -l < "$T/entries.jsonl")
[ "$size" -ge 7 ] || fail "expected at least 7 entries, got $size"

v journal tail -n 3 --json; expect_rc 0; keep
[ "$(wc -l < "$T/out")" = 3 ] || { cat "$T/out"; fail "tail -n 3 printed $(wc -l < "$T/out") lines"; }
json_check '
n = '"$size"'
def sorted_keys(pairs):
    keys = [k for k, _ in pairs]
    assert keys == sorted(keys), "keys not sorted: %r" % keys
    return dict(pairs)
lines = open(T + "/out", encoding="utf-8").read().splitlines()
for line in lines:
    o = json.loads(line, object_pairs_hook=sorted_keys)
    # canonical: no insignificant white space, nothing escaped that need not be
    assert json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False) == line, line
assert [e["index"] for e in events] == [n - 3, n - 2, n - 1], [e["index"] for e in events]
# the same bytes as in the whole journal
assert lines == open(T + "/entries.jsonl", encoding="utf-8").read().splitlines()[-3:]
'
v journal tail -n 3; expect_rc 0; keep
[ "$(wc -l < "$T/out")" = 3 ] || { cat "$T/out"; fail "text tail -n 3 printed other than 3 lines"; }
out_has "^ *$((size - 1))  [0-9T:.-]+Z  alert\.delivered"
out_has "^ *$((size - 3))  "

# ---- the verifier key: one line NAME+hash+key, hash = SHA-256(NAME \n 0x01 key)[:4]
v journal key; expect_rc 0; keep
[ "$(wc -l < "$T/out")" = 1 ] || { cat "$T/out"; fail "journal key printed more than one line"; }
out_has '^[^+[:space:]]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$'
cp "$T/out" "$T/vkey"

# ---- a checkpoint: origin, size, root; a blank line; one signature line
v journal checkpoint; expect_rc 0; keep
cp "$T/out" "$T/checkpoint"
py - "$T/vkey" "$T/checkpoint" "$T/entries.jsonl" "$size" <<'PY' || fail "checkpoint check failed"
import base64, hashlib, sys
vkey = open(sys.argv[1]).read()
note = open(sys.argv[2], encoding="utf-8").read()
entries = open(sys.argv[3], "rb").read().splitlines()
size = int(sys.argv[4])

name, khash, kb64 = vkey.strip().split("+", 2)
kraw = base64.b64decode(kb64, validate=True)
assert len(kraw) == 33 and kraw[0] == 1, "not an Ed25519 verifier key"
assert hashlib.sha256(name.encode() + b"\n" + kraw).digest()[:4].hex() == khash, "key hash"

assert note.endswith("\n"), repr(note)
lines = note.split("\n")[:-1]
assert len(lines) == 5, lines
origin, n, root, blank, sigline = lines
assert origin == name, (origin, name)
assert n == str(size), "checkpoint size %s, journal size %d" % (n, size)
assert blank == ""
assert sigline.startswith("\u2014 " + name + " "), sigline
sig = base64.b64decode(sigline.split(" ")[2], validate=True)
assert len(sig) == 68 and sig[:4].hex() == khash, sigline

# the root is the RFC 6962 tree hash of the entries, exactly as tail printed them
def th(leaves):
    if len(leaves) == 1:
        return hashlib.sha256(b"\0" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\1" + th(leaves[:k]) + th(leaves[k:])).digest()
assert len(entries) == size
assert base64.b64decode(root) == th(entries), "checkpoint root is not the tree of the entries"

try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:
    sys.exit(0)
body = "\n".join([origin, n, root]) + "\n"
Ed25519PublicKey.from_public_bytes(kraw[1:]).verify(sig[4:], body.encode())
PY

# verification agrees, and journals itself after the checkpoint
v --json journal verify; expect_rc 0; keep
[ "$(out_json 'o["verified"], o["entries"], o["size"]')" = "(True, $size, $size)" ] ||
	{ cat "$T/out"; fail "verify disagrees with size $size"; }
v journal tail -n 1 --json; expect_rc 0; keep
json_check 'assert events[0]["type"] == "journal.verified" and events[0]["index"] == '"$size"', events'

# proofs and an export, for the key search below
v journal prove --index 0 --json; expect_rc 0; keep
v journal consistency --old 3 --json; expect_rc 0; keep
v journal export "$T/export"; expect_rc 0; keep
[ -s "$T/export/manifest" ] || fail "no export written"

# ---- the private key never appears: PEM body, raw seed in base64, base64url or hex
py - "$key" > "$T/secrets" <<'PY' || fail "cannot read the private key"
import base64, sys
pem = open(sys.argv[1]).read().splitlines()
assert pem[0] == "-----BEGIN PRIVATE KEY-----", pem[0]
body = "".join(l for l in pem if not l.startswith("-----"))
seed = base64.b64decode(body)[-32:]
for s in (body, base64.b64encode(seed).decode().rstrip("="),
          base64.urlsafe_b64encode(seed).decode().rstrip("="), seed.hex(), seed.hex().upper()):
    print(s)
PY
[ "$(wc -l < "$T/secrets")" = 5 ] || fail "could not derive the key's forms"
while read -r s; do
	if grep -rqF -- "$s" "$T/all" "$T/export" "$T/checkpoint" "$T/vkey"; then
		grep -rlF -- "$s" "$T/all" "$T/export" >&2
		fail "the private key ($s) appears in an output"
	fi
done < "$T/secrets"
# the raw seed bytes are not in any exported file either
py - "$key" "$T/export" <<'PY' || fail "the raw private key is in the export"
import base64, os, sys
pem = open(sys.argv[1]).read().splitlines()
seed = base64.b64decode("".join(l for l in pem if not l.startswith("-----")))[-32:]
for d, _, files in os.walk(sys.argv[2]):
    for f in files:
        assert seed not in open(os.path.join(d, f), "rb").read(), f
PY
[ "$(stat -c %a "$key")" = 600 ] || fail "$key mode changed to $(stat -c %a "$key")"
exit 0

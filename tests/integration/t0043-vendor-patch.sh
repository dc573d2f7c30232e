#!/bin/bash
# Vendor patches under a standing authorization, with real packages and a real apt: a
# local repository signed with a key made here, version 1 installed and baselined, then
# the upgrade to version 2 with apt-get.  Every file the upgrade changed is authorized
# with the full evidence chain (dpkg log, .deb member = file, .deb = signed index, an
# allowed key and repository).  A file tampered with after the upgrade, a package from
# a repository the authorization does not list, and an unsigned repository are each
# unauthorized.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (apt-get, dpkg)"
for p in apt-get apt-ftparchive dpkg-deb gpg gpgv; do
	command -v "$p" >/dev/null || skip "$p is not installed"
done
. "$(dirname "$0")/../data/aptrepo.sh"
ADM=$(mkuser vt43adm)
CAROL=$(mkuser vt43carol)
BOB=$(mkuser vt43bob)
ARCH=$(dpkg --print-architecture)
LIST=/etc/apt/sources.list.d/vigil-t43.list
APT=(-o "Dir::Etc::sourcelist=$LIST" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
	-o APT::Sandbox::User=root -o DPkg::Lock::Timeout=120 -q -y --no-install-recommends)
export DEBIAN_FRONTEND=noninteractive
cleanup() {
	pkg_purge vigil-t43pkg vigil-t43other vigil-t43unsigned >/dev/null 2>&1
	rm -f "$LIST"
	rm -f /var/lib/apt/lists/*"$(basename "$T")"*
}
at_exit cleanup
cleanup

# the repositories: r1 (allowed, signed), r2 (signed by the same key, not allowed),
# r3 (allowed by the authorization, but published unsigned)
FPR=$(aptrepo_key "$T/gnupg" "$T/key.gpg") || fail "no key"
stage() {  # stage DIR VERSION
	rm -rf "$1"
	mkdir -p "$1/usr/share/vigil-t43pkg" "$1/usr/lib/vigil-t43pkg" "$1/etc"
	echo "data $2" > "$1/usr/share/vigil-t43pkg/data.txt"
	echo "same in every version" > "$1/usr/share/vigil-t43pkg/same.txt"
	printf '#!/bin/sh\necho %s\n' "$2" > "$1/usr/lib/vigil-t43pkg/tool.sh"
	chmod 755 "$1/usr/lib/vigil-t43pkg/tool.sh"
	echo "setting = $2" > "$1/etc/vigil-t43pkg.conf"
}
mkdir -p "$T/r1/pool/main" "$T/r2/pool/main" "$T/r3/pool/main"
stage "$T/s1" 1.0
aptrepo_pkg "$T/r1/pool/main/vigil-t43pkg_1.0_$ARCH.deb" vigil-t43pkg 1.0 "$ARCH" "$T/s1" \
	/etc/vigil-t43pkg.conf || fail "build 1.0"
stage "$T/s2" 2.0
aptrepo_pkg "$T/r1/pool/main/vigil-t43pkg_2.0_$ARCH.deb" vigil-t43pkg 2.0 "$ARCH" "$T/s2" \
	/etc/vigil-t43pkg.conf || fail "build 2.0"
mkdir -p "$T/s3/usr/share/vigil-t43other" "$T/s4/usr/share/vigil-t43unsigned"
echo other > "$T/s3/usr/share/vigil-t43other/x"
echo unsigned > "$T/s4/usr/share/vigil-t43unsigned/y"
aptrepo_pkg "$T/r2/pool/main/vigil-t43other_1.0_$ARCH.deb" vigil-t43other 1.0 "$ARCH" "$T/s3" ||
	fail "build other"
aptrepo_pkg "$T/r3/pool/main/vigil-t43unsigned_1.0_$ARCH.deb" vigil-t43unsigned 1.0 "$ARCH" \
	"$T/s4" || fail "build unsigned"
aptrepo_publish "$T/r1" t43 main "$T/gnupg" || fail "publish r1"
aptrepo_publish "$T/r2" t43other main "$T/gnupg" || fail "publish r2"
aptrepo_publish "$T/r3" t43u main "$T/gnupg" --unsigned || fail "publish r3"
cat > "$LIST" <<EOT
deb [signed-by=$T/key.gpg] file:$T/r1 t43 main
deb [signed-by=$T/key.gpg] file:$T/r2 t43other main
deb [trusted=yes] file:$T/r3 t43u main
EOT
apt-get "${APT[@]}" update > "$T/apt.log" 2>&1 || { cat "$T/apt.log"; fail "apt-get update"; }
apt-get "${APT[@]}" install vigil-t43pkg=1.0 >> "$T/apt.log" 2>&1 ||
	{ cat "$T/apt.log"; fail "install 1.0"; }

# the baseline with version 1, and the standing authorization
rules "/usr/share/vigil-t43pkg/**" "/usr/lib/vigil-t43pkg/**" "/etc/vigil-t43pkg.conf" \
	"/usr/share/vigil-t43other/**" "/usr/share/vigil-t43unsigned/**"
v init -q; expect_rc 0
as_user 0 account add admin --unix-user vt43adm --role administrator; expect_rc 0
as_user "$ADM" account add carol --unix-user vt43carol --role requester; expect_rc 0
as_user "$ADM" account add bob --unix-user vt43bob --role approver; expect_rc 0
cat > "$T/sa.json" <<EOT
{
  "id": "SA-T43",
  "title": "Vendor updates from the test repository",
  "type": "standard",
  "reason": "automated patching from a defined vendor repository",
  "window": {"start": "$(iso_at -60)", "end": "$(iso_at 86400)"},
  "scope": {"paths": ["/usr/share/vigil-t43pkg/**", "/usr/lib/vigil-t43pkg/**",
                      "/etc/vigil-t43pkg.conf", "/usr/share/vigil-t43other/**",
                      "/usr/share/vigil-t43unsigned/**"],
            "packages": ["vigil-t43pkg", "vigil-t43other", "vigil-t43unsigned"]},
  "standing": {
    "repositories": [
      {"uri": "file:$T/r1", "suite": "t43", "component": "main", "keys": ["$FPR"]},
      {"uri": "file:$T/r3", "suite": "t43u", "component": "main", "keys": ["$FPR"]}
    ],
    "evidence": "signed",
    "conffiles": false
  }
}
EOT
as_user "$CAROL" change new --file "$T/sa.json"; expect_rc 0
as_user "$CAROL" change submit SA-T43; expect_rc 0
as_user "$BOB" change approve SA-T43; expect_rc 0
# a text amendment keeps the repositories and the approval
as_user "$CAROL" change amend SA-T43 --title "Vendor updates (test repository)"; expect_rc 0
out_has "SA-T43: approved \\(revision 2\\)"

# the upgrade: every changed file authorized, with the whole chain as evidence
apt-get "${APT[@]}" install vigil-t43pkg=2.0 >> "$T/apt.log" 2>&1 ||
	{ cat "$T/apt.log"; fail "upgrade to 2.0"; }
v check; expect_rc 0
out_has "modified +file +/usr/share/vigil-t43pkg/data.txt.*authorized by SA-T43"
out_has "modified +file +/usr/lib/vigil-t43pkg/tool.sh.*authorized by SA-T43"
out_has "modified +file +/etc/vigil-t43pkg.conf.*authorized by SA-T43"
changes_json
py - "$T/changes" "$FPR" "$T/r1" <<'PY' || fail "evidence of the upgrade"
import json, sys
fpr, uri = sys.argv[2], "file:" + sys.argv[3]
files = {"/usr/share/vigil-t43pkg/data.txt", "/usr/lib/vigil-t43pkg/tool.sh", "/etc/vigil-t43pkg.conf"}
seen = set()
for l in open(sys.argv[1]):
    e = json.loads(l)
    p = e["file"]["path"]
    if p not in files:
        continue
    v = e["vigil"]
    assert v["disposition"] == "authorized", (p, v)
    a = v["authorization"]
    assert a["by"] == "standing_authorization" and a["record"]["id"] == "SA-T43", a
    pk = a["package"]
    assert pk["evidence"] == "signed", pk
    assert pk["name"] == "vigil-t43pkg" and pk["version"] == "2.0", pk
    assert pk["signed_by"] == fpr, pk
    assert pk["repository"]["uri"] == uri and pk["repository"]["suite"] == "t43", pk
    assert len(pk["deb_sha256"]) == 64 and pk["dpkg_action"], pk
    seen.add(p)
assert seen == files, seen
PY
# the baseline moved: nothing is left to report
v check; expect_rc 0

# a file changed after the upgrade is not the package's content
echo tampered >> /usr/share/vigil-t43pkg/data.txt
v check; expect_rc 4
out_has "data.txt"
out_lacks "authorized by"
changes_json
tail -n 1 "$T/changes" | grep -q '"disposition":"unauthorized"' || fail "tampering authorized"
tail -n 1 "$T/changes" | grep -q 'differs from its copy' || { tail -n 1 "$T/changes"; fail "no reason for the tampering"; }

# a package from a repository the authorization does not list
apt-get "${APT[@]}" install vigil-t43other >> "$T/apt.log" 2>&1 || { cat "$T/apt.log"; fail "install other"; }
v check; expect_rc 5
out_has "added +file +/usr/share/vigil-t43other/x$"
changes_json
grep '"/usr/share/vigil-t43other/x"' "$T/changes" | grep -q '"disposition":"unauthorized"' ||
	fail "a package from an unlisted repository was authorized"

# an unsigned repository, even one the authorization lists
apt-get "${APT[@]}" install vigil-t43unsigned >> "$T/apt.log" 2>&1 || { cat "$T/apt.log"; fail "install unsigned"; }
v check; expect_rc 5
out_has "added +file +/usr/share/vigil-t43unsigned/y$"
changes_json
grep '"/usr/share/vigil-t43unsigned/y"' "$T/changes" | grep -q '"disposition":"unauthorized"' ||
	fail "a package from an unsigned repository was authorized"

# dropping the repositories would authorize any change in the paths: that widens it
py - "$T/sa.json" > "$T/sa-norepo.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); del d["standing"]; print(json.dumps(d))
PY
as_user "$CAROL" change amend SA-T43 --file "$T/sa-norepo.json"; expect_rc 0
out_has "widens the record \\(the authorization drops its repositories\\)"
out_has "SA-T43: submitted"
exit 0

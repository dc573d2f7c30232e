#!/bin/bash
# Packages and repositories beyond files, with real packages and a real apt: version 1
# of a package from a local signed repository is baselined; the upgrade to version 2 is
# the object package:NAME:ARCH modified, authorized by a standing authorization that
# names only the repository (the version proven from the signed index and the .deb); a
# package from a repository the authorization does not list, a removal, and a new
# repository source are unauthorized.  The daemon sees an install while it runs.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (apt-get, dpkg)"
for p in apt-get apt-ftparchive dpkg-deb gpg gpgv; do
	command -v "$p" >/dev/null || skip "$p is not installed"
done
. "$(dirname "$0")/../data/aptrepo.sh"
ADM=$(mkuser vt64adm)
CAROL=$(mkuser vt64carol)
BOB=$(mkuser vt64bob)
ARCH=$(dpkg --print-architecture)
LIST=/etc/apt/sources.list.d/vigil-t64.list
LIST2=/etc/apt/sources.list.d/vigil-t64-new.list
APT=(-o "Dir::Etc::sourcelist=$LIST" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
	-o APT::Sandbox::User=root -o DPkg::Lock::Timeout=120 -q -y --no-install-recommends)
export DEBIAN_FRONTEND=noninteractive
cleanup() {
	pkg_purge vigil-t64pkg vigil-t64other > /dev/null 2>&1
	rm -f "$LIST" "$LIST2"
	rm -f /var/lib/apt/lists/*"$(basename "$T")"*
}
at_exit cleanup
cleanup

FPR=$(aptrepo_key "$T/gnupg" "$T/key.gpg") || fail "no key"
mkdir -p "$T/r1/pool/main" "$T/r2/pool/main"
for v in 1.0 2.0; do
	mkdir -p "$T/s$v/usr/share/vigil-t64pkg"
	echo "data $v" > "$T/s$v/usr/share/vigil-t64pkg/data.txt"
	aptrepo_pkg "$T/r1/pool/main/vigil-t64pkg_${v}_$ARCH.deb" vigil-t64pkg "$v" "$ARCH" "$T/s$v" ||
		fail "build $v"
done
mkdir -p "$T/so/usr/share/vigil-t64other"
echo other > "$T/so/usr/share/vigil-t64other/x"
aptrepo_pkg "$T/r2/pool/main/vigil-t64other_1.0_$ARCH.deb" vigil-t64other 1.0 "$ARCH" "$T/so" ||
	fail "build other"
aptrepo_publish "$T/r1" t64 main "$T/gnupg" || fail "publish r1"
aptrepo_publish "$T/r2" t64other main "$T/gnupg" || fail "publish r2"
cat > "$LIST" <<EOT
deb [signed-by=$T/key.gpg] file:$T/r1 t64 main
deb [signed-by=$T/key.gpg] file:$T/r2 t64other main
EOT
apt-get "${APT[@]}" update > "$T/apt.log" 2>&1 || { cat "$T/apt.log"; fail "apt-get update"; }
apt-get "${APT[@]}" install vigil-t64pkg=1.0 >> "$T/apt.log" 2>&1 || { cat "$T/apt.log"; fail "install 1.0"; }

rules "package:vigil-t64*" "repo:*t64*"
printf '[collect]\ninterval = 1\n' > "$T/vigil.conf"
v init -q; expect_rc 0
v --json check; expect_rc 0
sql_value "$T/state/vigil.db" "select json_extract(state, '\$.version') from collected where layer = 0 and key = 'vigil-t64pkg:$ARCH'" > "$T/ver"
[ "$(cat "$T/ver")" = 1.0 ] || fail "the baseline does not hold vigil-t64pkg 1.0"
[ "$(sql_value "$T/state/vigil.db" "select count(*) from collected where layer = 0 and kind = 'repo'")" -eq 2 ] ||
	fail "the baseline does not hold the two repositories"
sql_value "$T/state/vigil.db" "select state from collected where layer = 0 and kind = 'repo'" | grep -q "$FPR" ||
	fail "a repository's state lacks its signing key's fingerprint"

as_user 0 account add admin --unix-user vt64adm --role administrator; expect_rc 0
as_user "$ADM" account add carol --unix-user vt64carol --role requester; expect_rc 0
as_user "$ADM" account add bob --unix-user vt64bob --role approver; expect_rc 0
cat > "$T/sa.json" <<EOT
{
  "id": "SA-T64",
  "title": "Package updates from the test repository",
  "type": "standard",
  "reason": "automated patching from a defined vendor repository",
  "window": {"start": "$(iso_at -60)", "end": "$(iso_at 86400)"},
  "scope": {"config": ["package:vigil-t64pkg"]},
  "standing": {
    "repositories": [{"uri": "file:$T/r1", "suite": "t64", "component": "main", "keys": ["$FPR"]}],
    "evidence": "signed"
  }
}
EOT
as_user "$CAROL" change new --file "$T/sa.json"; expect_rc 0
as_user "$CAROL" change submit SA-T64; expect_rc 0
as_user "$BOB" change approve SA-T64; expect_rc 0

# the upgrade: authorized with the signed chain; the baseline moves
apt-get "${APT[@]}" install vigil-t64pkg=2.0 >> "$T/apt.log" 2>&1 || { cat "$T/apt.log"; fail "upgrade"; }
v --json check; expect_rc 0
collected_has "package:vigil-t64pkg:$ARCH" modified \
	"e['before']['version'] == '1.0' and e['after']['version'] == '2.0' and e['disposition'] == 'authorized' and e['authorization']['record']['id'] == 'SA-T64' and e['authorization']['package']['evidence'] == 'signed' and e['authorization']['package']['signed_by'] == '$FPR'"
v check; expect_rc 0
# a package from a repository the authorization does not list
apt-get "${APT[@]}" install vigil-t64other >> "$T/apt.log" 2>&1 || { cat "$T/apt.log"; fail "install other"; }
v --json check; expect_rc 1
collected_has "package:vigil-t64other:$ARCH" added "e['after']['version'] == '1.0'"
changes_json
_collected_match "$T/changes" "package:vigil-t64other:$ARCH" added "e['disposition'] == 'unauthorized'" ||
	fail "the other package was not unauthorized"
# a new repository source
echo "deb [signed-by=$T/key.gpg] file:$T/r2 t64new main" > "$LIST2"
v --json check; expect_rc 1
collected_has "repo:deb file:$T/r2 t64new" added "'$FPR' in e['after']['signed_by']"

# the daemon: a removal while it runs
daemon_start
pkg_purge vigil-t64pkg >> "$T/apt.log" 2>&1 || fail "purge"
daemon_collected "package:vigil-t64pkg:$ARCH" removed "e['disposition'] == 'unauthorized'"
daemon_stop
v journal verify; expect_rc 0
exit 0

#!/bin/bash
# The rule forms of vigil.rules(5), together in one file, each doing exactly what it
# says: a tree with its top directory; a tree with chosen attributes, a tag and a
# severity (changes to attributes not chosen are not reported); an excluded subtree
# (nothing in it recorded or reported); "=" for one object only; and a growing file.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/srv/app/bin" "$T/srv/app/cache/sub" "$T/etc/ssh" "$T/srv/www" "$T/var/log"
echo run > "$T/srv/app/bin/run"
echo conf > "$T/srv/app/conf"
echo c1 > "$T/srv/app/cache/c1"
echo c2 > "$T/srv/app/cache/sub/c2"
echo 'Port 22' > "$T/etc/ssh/sshd_config"
echo key > "$T/etc/ssh/ssh_host_key"
echo '<html>' > "$T/srv/www/index.html"
echo start > "$T/var/log/app.log"
echo other > "$T/var/log/other.log"
rules \
	"$T/srv/app/**" \
	"$T/etc/ssh/**   perms+owner+content  @ssh  severity=high" \
	"!$T/srv/app/cache/**" \
	"=$T/srv/www" \
	"$T/var/log/app.log   growing"

v config check; expect_rc 0
out_has "^rules: 5 rules in 1 files under $T/rules.d$"
v --json config check; expect_rc 0
json_check '
roots = events[0]["roots"]
assert roots == [T + p for p in ("/etc/ssh", "/srv/app", "/srv/www", "/var/log/app.log")], roots
'
v init; expect_rc 0
# srv/app, bin, bin/run, conf; etc/ssh and its 2 files; srv/www; app.log
err_has "baseline of 9 objects recorded \(5 files hashed"

# outside what is selected: the cache, below =srv/www, other.log, appends to app.log
echo changed > "$T/srv/app/cache/c1"
echo c3 > "$T/srv/app/cache/c3"
rm "$T/srv/app/cache/sub/c2"
chmod 700 "$T/srv/app/cache"
echo '<html>changed' > "$T/srv/www/index.html"
echo changed > "$T/var/log/other.log"
echo more >> "$T/var/log/app.log"
# ssh: times are not selected
touch -d @1000000000 "$T/etc/ssh/sshd_config"
touch "$T/etc/ssh/ssh_host_key"
v check; expect_rc 0
[ ! -s "$T/out" ] || { cat "$T/out"; fail "unselected changes reported"; }
v check --full; expect_rc 0
[ ! -s "$T/out" ] || { cat "$T/out"; fail "unselected changes reported (--full)"; }

# ssh: perms and content are selected, tagged and of high severity
chmod 600 "$T/etc/ssh/ssh_host_key"
echo 'Port 2222' > "$T/etc/ssh/sshd_config"
v check; expect_rc 4
out_has "^modified +file +$T/etc/ssh/ssh_host_key  \[high @ssh\]$"
out_has "^ +perms +0644 -> 0600$"
out_has "^modified +file +$T/etc/ssh/sshd_config  \[high @ssh\]$"
out_has "^ +size +8 -> 10$"
out_lacks "time "
v --json check; expect_rc 4
json_check '
assert len(events) == 2, events
for e in events:
    r = e["vigil"]["rule"]
    assert r["tags"] == ["ssh"] and r["severity"] == "high", r
    assert r["pattern"] == T + "/etc/ssh/**" and r["line"] == 2, r
    assert r["file"] == T + "/rules.d/test.rules", r
    assert e["event"]["severity"] == 3, e["event"]
ev = {e["file"]["name"]: e["vigil"]["attributes"] for e in events}
assert ev == {"ssh_host_key": ["perms"], "sshd_config": ["size", "sha256"]}, ev
'

# the tree rule covers its top directory, and everything new below it but the cache
v init --force; expect_rc 0
chmod 750 "$T/srv/app"
echo new > "$T/srv/app/new"
echo x > "$T/srv/app/cache/x"
v check; expect_rc 5
[ "$(grep -c '^[a-z]' "$T/out")" = 2 ] || { cat "$T/out"; fail "two changes"; }
out_has "^modified +dir +$T/srv/app$"
out_has "^ +perms +0755 -> 0750$"
out_has "^added +file +$T/srv/app/new$"
v --json check; expect_rc 5
json_check '
for e in events:
    r = e["vigil"]["rule"]
    assert r["pattern"] == T + "/srv/app/**" and r["severity"] == "medium" and r["tags"] == [], r
    assert e["event"]["severity"] == 2, e["event"]
'

# "=" is the object only: its own changes are reported
v init --force; expect_rc 0
echo new > "$T/srv/www/new"
v check; expect_rc 4
[ "$(grep -c '^[a-z]' "$T/out")" = 1 ] || { cat "$T/out"; fail "only srv/www"; }
out_has "^modified +dir +$T/srv/www$"
out_has "^ +mtime "

# the growing file may not be rewritten
v init --force; expect_rc 0
echo START > "$T/var/log/app.log"
v check; expect_rc 4
out_has "^modified +file +$T/var/log/app.log$"
exit 0

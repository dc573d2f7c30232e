#!/bin/bash
# Every mistake in vigil.conf or in a rule file stops the program with exit 16 and one
# message naming FILE:LINE:COL of the offending token (the include line for an include
# that cannot be read, the included file's own place for an error inside it, and the
# first rule's place for a conflict).  An empty vigil.conf is valid; a --config naming
# a missing file is an error.
. "$(dirname "$0")/lib.sh"

# config_err MESSAGE: "vigil config check" fails with exit 16 and exactly this message
config_err() {
	v config check
	expect_rc 16
	[ ! -s "$T/out" ] || { cat "$T/out"; fail "stdout not empty"; }
	[ "$(cat "$T/err")" = "vigil: $1" ] || {
		echo "expected: vigil: $1"; echo "got:      $(cat "$T/err")"
		fail "wrong message"
	}
}
conf() { printf "$1" > "$T/vigil.conf"; }
C=$T/vigil.conf
R=$T/rules.d/test.rules

rules "$T/a/**"
# ---- settings
: > "$C"
v config check; expect_rc 0
out_has "^configuration is valid$"
v --json config check; expect_rc 0
json_check '
assert len(events) == 1, events
e = events[0]
assert e["settings"] == T + "/vigil.conf" and e["rules"] == 1, e
assert e["rule_files"] == [T + "/rules.d/test.rules"] and e["roots"] == [T + "/a"], e
assert e["state_dir"] == T + "/state", e
'
conf '[scan]\nworkers = 2\none_filesystem = true\n[vigil]\nlog_level = debug\n'
v config check; expect_rc 0

conf '[scan]\nworkerz = 2\n'
config_err "$C:2:1: unknown key 'workerz' in [scan]"
conf '[scan]\nworkers = many\n'
config_err "$C:2:11: 'workers' must be a whole number from 0 to 256, got 'many'"
conf '# comment\n[scan]\n\tworkers =   300\n'
config_err "$C:3:14: 'workers' must be a whole number from 0 to 256, got '300'"
conf '[scan]\none_filesystem = maybe\n'
config_err "$C:2:18: 'one_filesystem' must be true or false, got 'maybe'"
conf '; comment\n[scann]\n'
config_err "$C:2:2: unknown section 'scann'"
conf 'workers = 1\n'
config_err "$C:1:1: key 'workers' outside of any section"
conf '[scan]\nworkers = 1\nworkers = 2\n'
config_err "$C:3:1: 'workers' is set twice in [scan]"
conf '[vigil]\nstate_dir = relative\n'
config_err "$C:2:13: 'state_dir' must be an absolute path, got 'relative'"
conf '[scan\n'
config_err "$C:1:1: missing ']' in section header"
# drop-ins are as strict
: > "$C"
mkdir "$C.d"
printf '[scan]\nbogus = 1\n' > "$C.d/10-x.conf"
config_err "$C.d/10-x.conf:2:1: unknown key 'bogus' in [scan]"
rm -r "$C.d"
v --config "$T/missing.conf" config check	# the last --config wins
expect_rc 16
err_has "^vigil: $T/missing.conf: cannot read settings: No such file or directory$"

# ---- rules
rules '/a/x**'
config_err "$R:1:5: bad pattern: '**' must be a whole path component"
rules '/a/**/'
config_err "$R:1:6: bad pattern: trailing '/' (write '/dir' or '/dir/**')"
rules '/a perms+bogus'
config_err "$R:1:10: unknown attribute or keyword 'bogus'"
rules '/a perms owner'
config_err "$R:1:10: attributes given twice ('owner'); join them with '+'"
rules '/a severity=urgent'
config_err "$R:1:13: unknown severity 'urgent' (low, medium, high, critical)"
rules '/a @bad!tag'
config_err "$R:1:4: bad tag '@bad!tag' (letters, digits, '-', '_', '.')"
rules '/a frob=1'
config_err "$R:1:4: unknown option 'frob'"
rules '!/a perms'
config_err "$R:1:5: an exclusion takes no options, got 'perms'"
rules '/a perms growing'
config_err "$R:1:1: 'growing' needs the sha256 attribute to check the old prefix"
rules '# relative' 'etc/x'
config_err "$R:2:1: expected a path pattern starting with '/'"
rules '/a/./b'
config_err "$R:1:4: bad pattern: '.' and '..' components are not allowed"
rules '/a//b'
config_err "$R:1:4: bad pattern: empty path component"
rules '/a/[x]'
config_err "$R:1:4: bad pattern: '[', ']', '{' and '}' are reserved; write them as \\x5b, \\x5d, \\x7b, \\x7d"
rules '/a/\q'
config_err "$R:1:4: bad pattern: unknown escape (use \\\\, \\*, \\? or \\xHH)"
rules '/a' '/a'
config_err "$R:2:1: duplicate of the rule at $R:1"
# conflicting rules in two files: the second names the first's place
rules '' '/a perms'
printf '# other\n\n/a owner\n' > "$T/rules.d/zz.rules"
config_err "$T/rules.d/zz.rules:3:1: conflicts with the rule at $R:2 for the same pattern"
rm "$T/rules.d/zz.rules"
# includes: a missing file is reported at the include line
rules '/a' '  include missing.rules'
config_err "$R:2:11: cannot include '$T/rules.d/missing.rules': cannot open: No such file or directory"
# an error inside an included file keeps its own place
mkdir "$T/inc"
printf '/x\n\n/y perms+nope\n' > "$T/inc/sub.rules"
rules '/a' 'include ../inc/sub.rules'
config_err "$T/rules.d/../inc/sub.rules:3:10: unknown attribute or keyword 'nope'"
# an include cycle ends, at the include line
rules 'include test.rules'
v config check; expect_rc 16
[ "$(wc -l < "$T/err")" = 1 ] || { cat "$T/err"; fail "one message"; }
err_has "^vigil: $R:1:9: .*\(a cycle\?\)$"
# a rules directory that does not exist
v --rules "$T/no-rules" config check; expect_rc 16
err_has "^vigil: $T/no-rules: rules directory does not exist$"

# and what was rejected never reaches a run: init fails the same way, creating nothing
rules '/a perms+bogus'
v init; expect_rc 16
err_has "^vigil: $R:1:10: unknown attribute or keyword 'bogus'$"
[ -z "$(ls -A "$T/state")" ] || fail "init created a store despite bad rules"
exit 0

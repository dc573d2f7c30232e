#!/bin/bash
# File names with a newline, a tab, a backslash, bytes that are not UTF-8, and valid
# non-ASCII UTF-8 are shown with the one escaping rule: "\xHH" for controls and bad
# bytes, "\\" for a backslash, valid UTF-8 as is.  Human output shows each name exactly
# once per line, JSON output stays valid JSON whose decoded path is the escaped form.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/tree"
names=($'a\nb' $'\xff\xfe' 'back\slash' $'tab\there' 'é日本' $'\x7f\xc3(' $'\xc2\xa0nbsp')
shown=('a\x0ab' '\xff\xfe' 'back\\slash' 'tab\x09here' 'é日本' '\x7f\xc3(' $'\xc2\xa0nbsp')
for n in "${names[@]}"; do printf 'one\n' > "$T/tree/$n"; done
[ "$(find "$T/tree" -type f -printf x | wc -c)" = "${#names[@]}" ] || fail "could not create the files"
rules "$T/tree/**" "=$T/tree perms+owner"

v init; expect_rc 0
err_has "baseline of $((${#names[@]} + 1)) objects recorded"
v check; expect_rc 0

for n in "${names[@]}"; do printf 'two\n' > "$T/tree/$n"; done
v check; expect_rc 4
[ "$(grep -c '^modified' "$T/out")" = "${#names[@]}" ] || { cat "$T/out"; fail "one line per file"; }
for s in "${shown[@]}"; do
	grep -qxF "modified  file     $T/tree/$s" "$T/out" || { cat -A "$T/out"; fail "no line for $s"; }
done
# nothing raw leaks: no tab, no byte outside UTF-8, no C0 control
LC_ALL=C grep -q $'\t' "$T/out" && fail "a raw tab in the output"
iconv -f UTF-8 -t UTF-8 "$T/out" >/dev/null 2>&1 || fail "the output is not valid UTF-8"
LC_ALL=C grep -q $'\x7f' "$T/out" && fail "a raw DEL in the output"

v --json check; expect_rc 4
[ "$(wc -l < "$T/out")" = "${#names[@]}" ] || { cat "$T/out"; fail "one JSON line per file"; }
printf '%s\n' "${shown[@]}" > "$T/shown"
json_check '
shown = open(T + "/shown", encoding="utf-8").read().split("\n")[:-1]
paths = [e["file"]["path"] for e in events]
want = [T + "/tree/" + s for s in shown]
assert sorted(paths) == sorted(want), (paths, want)
for e in events:
    f = e["file"]
    assert f["directory"] == T + "/tree", f
    assert f["directory"] + "/" + f["name"] == f["path"], f
    assert e["vigil"]["object"] == "file:" + f["path"], e["vigil"]
    assert "sha256" in e["vigil"]["attributes"], e["vigil"]
'
# and the raw bytes of a JSON line carry no control characters
LC_ALL=C grep -q $'[\x01-\x1f]' "$T/out" && fail "a raw control character in JSON"

# removing them reports the same escaped names
for n in "${names[@]}"; do rm -- "$T/tree/$n"; done
v check; expect_rc 2
for s in "${shown[@]}"; do
	grep -qxF "removed   file     $T/tree/$s" "$T/out" || { cat -A "$T/out"; fail "no removal for $s"; }
done

# a rule may name an odd file with the same escapes
printf 'x\n' > "$T/tree/"$'a\nb'
printf 'x\n' > "$T/tree/back\\slash"
rules "=$T/tree/a\\x0ab" "=$T/tree/back\\\\slash"
v init --force; expect_rc 0
err_has "baseline of 2 objects recorded"
printf 'y\n' > "$T/tree/"$'a\nb'
printf 'y\n' > "$T/tree/back\\slash"
v check; expect_rc 4
grep -qxF "modified  file     $T/tree/a\\x0ab" "$T/out" || { cat "$T/out"; fail "rule with \\x0a"; }
grep -qxF "modified  file     $T/tree/back\\\\slash" "$T/out" || { cat "$T/out"; fail "rule with \\\\"; }
exit 0

#!/bin/bash
# Exclusions take effect only through an approval (DET-08): those in force when the
# baseline was made are approved by it; one added later applies only once a change
# record in force names it, and `config check` lists each with what approved it.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (useradd, login uid)"
ADM=$(mkuser vt44adm)
CAROL=$(mkuser vt44carol)
BOB=$(mkuser vt44bob)
D=$T/tree
mkdir -p "$D/etc" "$D/cache" "$D/logs"
echo a > "$D/etc/a.conf"; echo c > "$D/cache/c"; echo l > "$D/logs/l"
rules "$D/**" "!$D/cache/**"
v init -q; expect_rc 0
v config check; expect_rc 0
out_has "exclusion: !$D/cache/\\*\\* \\(.*test.rules:2\\) approved by the baseline"

# a new exclusion without a record: reported, not applied, so what it hides is watched
rules "$D/**" "!$D/cache/**" "!$D/logs/**"
v config check; expect_rc 0
out_has "exclusion: !$D/logs/\\*\\* \\(.*test.rules:3\\) NOT APPROVED: not applied"
err_has "exclusion '!$D/logs/\\*\\*' is not approved by a change record"
echo more >> "$D/logs/l"
echo more >> "$D/cache/c"
v check; expect_rc 4
out_has "modified +file +$D/logs/l"
out_lacks "cache/c"

# a record approves it
as_user 0 account add admin --unix-user vt44adm --role administrator; expect_rc 0
as_user "$ADM" account add carol --unix-user vt44carol --role requester; expect_rc 0
as_user "$ADM" account add bob --unix-user vt44bob --role approver; expect_rc 0
as_user "$CAROL" change new --title "Stop watching app logs" --window-start "$(iso_at -60)" \
	--window-end "$(iso_at 3600)" --config "exclusion:$D/logs/**" --path "$T/rules.d/test.rules"
expect_rc 0
v config check; expect_rc 0
out_has "NOT APPROVED"
as_user "$CAROL" change submit CR-000001; expect_rc 0
as_user "$BOB" change approve CR-000001; expect_rc 0
v config check; expect_rc 0
out_has "exclusion: !$D/logs/\\*\\* \\(.*test.rules:3\\) approved by CR-000001"
v --json config check; expect_rc 0
out_has '"approved_by":"CR-000001"'
echo again >> "$D/logs/l"
v check; expect_rc 0
out_lacks "logs/l"
v --json journal tail -n 5; expect_rc 0
out_has '"approved_by":"CR-000001"'

# the record is cancelled... it cannot be: it was approved; a rejected record approves nothing
as_user "$CAROL" change new --title "Hide etc" --window-start "$(iso_at -60)" \
	--window-end "$(iso_at 3600)" --config "exclusion:$D/etc/**" --path "$T/rules.d/test.rules"
expect_rc 0
as_user "$CAROL" change submit CR-000002; expect_rc 0
as_user "$BOB" change reject CR-000002 --text "no"; expect_rc 0
rules "$D/**" "!$D/cache/**" "!$D/logs/**" "!$D/etc/**"
v config check; expect_rc 0
out_has "exclusion: !$D/etc/\\*\\* .* NOT APPROVED"

# an emergency record nobody approved yet approves nothing, nor does a rejected record
# that was closed
as_user "$ADM" account grant carol --role implementer,reviewer; expect_rc 0
as_user "$CAROL" --json change new --type emergency --title "Hide it" --justification "j" \
	--config 'exclusion:*' --path "$T/rules.d/test.rules"; expect_rc 0
EMX=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/out")
as_user "$CAROL" change start "$EMX"; expect_rc 0
as_user "$CAROL" change complete "$EMX"; expect_rc 0
rules "$D/**" "!$D/cache/**" "!$D/logs/**" "!$D/etc/**"
v config check; expect_rc 0
out_has "exclusion: !$D/etc/\\*\\* .* NOT APPROVED"
as_user "$CAROL" change close "CR-000002"; expect_rc 0
v config check; expect_rc 0
out_has "exclusion: !$D/etc/\\*\\* .* NOT APPROVED"
as_user "$ADM" account revoke carol --role implementer,reviewer; expect_rc 0

# a normal record approves for its window only, and only on the hosts it names
printf '[vigil]\nhost_name = ca1\n' > "$T/vigil.conf"
rules "$D/**" "!$D/cache/**"
v init -q --force; expect_rc 0
rules "$D/**" "!$D/cache/**" "!$D/etc/**" "!$D/srv/**"
as_user "$CAROL" change new --title "Past" --window-start "$(iso_at -7200)" \
	--window-end "$(iso_at -3600)" --config "exclusion:$D/etc/**" --path "$T/rules.d/test.rules"
expect_rc 0
as_user "$CAROL" change submit CR-000004; expect_rc 0
as_user "$BOB" change approve CR-000004; expect_rc 0
as_user "$CAROL" change new --title "Other host" --window-start "$(iso_at -60)" \
	--window-end "$(iso_at 3600)" --config "exclusion:$D/srv/**" --host ca2 --path "$T/rules.d/test.rules"
expect_rc 0
as_user "$CAROL" change submit CR-000005; expect_rc 0
as_user "$BOB" change approve CR-000005; expect_rc 0
v config check; expect_rc 0
out_has "exclusion: !$D/etc/\\*\\* .* NOT APPROVED"
out_has "exclusion: !$D/srv/\\*\\* .* NOT APPROVED"
printf '[vigil]\nhost_name = ca2\n' > "$T/vigil.conf"
v init -q --force; expect_rc 0
rules "$D/**" "!$D/srv/**"
v config check; expect_rc 0
out_has "exclusion: !$D/srv/\\*\\* .* approved by the baseline"
exit 0

#!/bin/bash
# The kernel beyond files: a monitored sysctl changed with `sysctl -w`, a tmpfs mounted,
# the kernel's own objects, and a kernel module loaded and unloaded where the kernel
# allows it; each detected by `vigil check` and by the daemon with its kind, key, and
# state before and after.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (sysctl -w, mount)"
KEY=kernel.dmesg_restrict
[ -w /proc/sys/kernel/dmesg_restrict ] || skip "cannot write /proc/sys/kernel/dmesg_restrict here"
OLD=$(cat /proc/sys/kernel/dmesg_restrict)
NEW=$((1 - OLD))
at_exit "sysctl -q -w $KEY=$OLD"
mkdir -p "$T/mnt"
at_exit "umount '$T/mnt' 2>/dev/null"
rules "sysctl:$KEY" "mount:$T/*" "kernel:*" "module:*"
printf '[collect]\ninterval = 1\n' > "$T/vigil.conf"
v init -q; expect_rc 0
v --json check; expect_rc 0

# check
sysctl -q -w "$KEY=$NEW"
mount -t tmpfs -o size=1m,mode=0700 vt61tmp "$T/mnt"
v --json check; expect_rc 5
collected_has "sysctl:$KEY" modified "e['before']['value'] == '$OLD' and e['after']['value'] == '$NEW' and e['attributes'] == ['value']"
collected_has "mount:$T/mnt" added "e['after']['fstype'] == 'tmpfs' and e['after']['source'] == 'vt61tmp' and 'size=1024k' in e['after']['options']"
v check; expect_rc 5
out_has "^modified  sysctl   sysctl:$KEY\$"
out_has "^          value +\"$OLD\" -> \"$NEW\"\$"
# the kernel's own objects are in the baseline and unchanged
v --json check --only kernel; expect_rc 0
sql_value "$T/state/vigil.db" "select count(*) from collected where kind = 'kernel' and layer = 0" > "$T/n"
[ "$(cat "$T/n")" -ge 3 ] || fail "the kernel objects are not in the baseline"
[ "$(sql_value "$T/state/vigil.db" "select json_extract(state, '\$.release') from collected where kind = 'kernel' and key = 'version'")" = "$(uname -r)" ] ||
	fail "kernel:version does not hold the running release"

# the daemon
sysctl -q -w "$KEY=$OLD"
umount "$T/mnt"
daemon_start
sysctl -q -w "$KEY=$NEW"
daemon_collected "sysctl:$KEY" modified "e['after']['value'] == '$NEW' and e['detection']['source'] in ('collect', 'rescan')"
mount -t tmpfs -o size=2m vt61tmp "$T/mnt"
daemon_collected "mount:$T/mnt" added "e['after']['fstype'] == 'tmpfs'"
umount "$T/mnt"
daemon_collected "mount:$T/mnt" removed "e['after'] is None"
daemon_stop

# kernel modules: only where the kernel has loadable modules
if [ ! -e /proc/modules ]; then
	echo "note: this kernel has no loadable module support (no /proc/modules): module load and unload not tested" >&2
elif ! modprobe -n dummy > /dev/null 2>&1 || lsmod | grep -q '^dummy '; then
	echo "note: the dummy module is not available or already loaded: module load and unload not tested" >&2
else
	at_exit "modprobe -r dummy 2>/dev/null"
	modprobe dummy || fail "modprobe dummy"
	v --json check --only module; [ "$rc" -eq 1 ] || fail "check did not report the module"
	collected_has module:dummy added "e['after']['state'] == 'Live'"
	modprobe -r dummy
	v --json check --only module; expect_rc 0
fi
v journal verify; expect_rc 0
exit 0

/*
 * Unit tests for collect/coll-kernel.c (module, sysctl, mount, kernel) and
 * collect/coll-cert.c (certificate): exact states from the fixture trees under
 * tests/data/collect/kernel, errors that name the file and line, the caps, and runs
 * against this machine.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/fileio.h"
#include "collect/collect.h"

typedef int (*collect_fn)(const struct coll_opts *o, struct coll_set *out, struct vg_error *err);

static char data_root[4096];

static const char *fixture(const char *sub)
{
	const char *d = getenv("TEST_DATA");

	assert_non_null(d);
	snprintf(data_root, sizeof(data_root), "%s/collect/kernel/%s", d, sub);
	return data_root;
}

/* Runs fn, fails the test on an error, sorts the set. */
static void collect_ok(collect_fn fn, const struct coll_opts *o, struct coll_set *s)
{
	struct vg_error err;
	char msg[2048];
	int r;

	vg_error_clear(&err);
	r = fn(o, s, &err);
	if (r < 0) {
		vg_error_format(&err, msg, sizeof(msg));
		fail_msg("collect failed (%d): %s", r, msg);
	}
	coll_set_sort(s);
}

/* Runs fn expecting code, an error about a file ending in file_end, at line. */
static void collect_fails(collect_fn fn, const struct coll_opts *o, int code, const char *file_end,
			  unsigned line, const char *msg_part)
{
	struct coll_set s = { 0 };
	struct vg_error err;
	size_t fl, el;
	int r;

	vg_error_clear(&err);
	r = fn(o, &s, &err);
	coll_set_release(&s);
	if (r != code)
		fail_msg("expected %d, got %d (%s: %s)", code, r, err.file, err.msg);
	if (file_end) {
		fl = strlen(err.file);
		el = strlen(file_end);
		if (fl < el || strcmp(err.file + fl - el, file_end) != 0)
			fail_msg("error names '%s', expected '...%s'", err.file, file_end);
	}
	assert_int_equal(err.line, line);
	if (msg_part && !strstr(err.msg, msg_part))
		fail_msg("error message '%s' lacks '%s'", err.msg, msg_part);
}

static const char *state_of(const struct coll_set *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->items[i].key, key) == 0)
			return s->items[i].state;
	return NULL;
}

static void expect(const struct coll_set *s, const char *key, const char *state)
{
	const char *got = state_of(s, key);

	if (!got)
		fail_msg("no object '%s'", key);
	assert_string_equal(got, state);
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->items[i].key, key) == 0)
			assert_null(s->items[i].text);
}

static void expect_keys(const struct coll_set *s, const char *const *keys, size_t n)
{
	for (size_t i = 0; i < s->n && i < n; i++)
		assert_string_equal(s->items[i].key, keys[i]);
	assert_int_equal(s->n, n);
}

/* ---- temporary trees ---- */

static void put(const char *root, const char *rel, const char *content)
{
	assert_int_equal(file_write_all(root, rel, content, strlen(content), 0644), 0);
}

static void put_bytes(const char *root, const char *rel, const void *p, size_t n)
{
	assert_int_equal(file_write_all(root, rel, p, n, 0644), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#define TMP_TREE(name) char name[] = "/tmp/vigil-kernel.XXXXXX"; assert_non_null(mkdtemp(name))

/* ---- module ---- */

static void test_module_fixture(void **state)
{
	static const char *const keys[] = { "fat", "nf_tables", "oot_mod", "snd_hda_intel", "vfat",
					    "wireguard" };
	struct coll_opts o = { .root = fixture("root-a") };
	struct coll_set s = { 0 };

	collect_ok(coll_module_collect, &o, &s);
	expect_keys(&s, keys, 6);
	expect(&s, "vfat",
	       "{\"file_sha256\":"
	       "\"598e874ea7d3495dff7098aaaa7a78b20a9b46dbd264fcc5ea70abab711b252e\","
	       "\"parameters\":{},\"size\":24576,\"state\":\"Live\",\"taint\":\"\"}");
	expect(&s, "fat",
	       "{\"file_sha256\":"
	       "\"bafdbee62e6d43ff9b32b7b07b4afd5169cb525b73e664b78f8b8de8c3350072\","
	       "\"parameters\":{},\"size\":86016,\"state\":\"Live\",\"taint\":\"\"}");
	/* listed in modules.dep, file missing */
	expect(&s, "nf_tables",
	       "{\"file_sha256\":null,\"parameters\":{},\"size\":335872,\"state\":\"Live\","
	       "\"taint\":\"E\"}");
	/* not in modules.dep (insmod from elsewhere) */
	expect(&s, "oot_mod",
	       "{\"file_sha256\":null,\"parameters\":{},\"size\":16384,\"state\":\"Unloading\","
	       "\"taint\":\"OE\"}");
	/* file name with '-', parameters trimmed, dotfile and directory passed over */
	expect(&s, "snd_hda_intel",
	       "{\"file_sha256\":"
	       "\"d8560d9d397eaaf93a6d348bfd86da8a587440859125e739be3e7deb723c8a27\","
	       "\"parameters\":{\"enable\":\"Y,Y,Y,Y,Y,Y,Y,Y\",\"index\":\"-1,-1,-1\","
	       "\"model\":\"(null)\",\"power_save\":\"1\"},\"size\":57344,\"state\":\"Loading\","
	       "\"taint\":\"\"}");
	/* the first modules.dep line for a name wins (depmod's choice: updates/ first) */
	expect(&s, "wireguard",
	       "{\"file_sha256\":"
	       "\"9fb7dd06f2ad81ddc65ac7e2253a3bc58fe3288a6bab9e924fa03e74a6fd1d65\","
	       "\"parameters\":{},\"size\":118784,\"state\":\"Live\",\"taint\":\"OE\"}");
	coll_set_release(&s);
}

static void test_module_absent_and_errors(void **state)
{
	TMP_TREE(dir);
	struct coll_opts o = { .root = dir };
	struct coll_set s = { 0 };

	/* no /proc/modules: a kernel without loadable modules */
	collect_ok(coll_module_collect, &o, &s);
	assert_int_equal(s.n, 0);

	put(dir, "proc/modules", "a 1 0 - Live 0x0\nb 2 0 - Live\n");
	collect_fails(coll_module_collect, &o, -EINVAL, "/proc/modules", 2, "expected NAME");
	put(dir, "proc/modules", "a x 0 - Live 0x0\n");
	collect_fails(coll_module_collect, &o, -EINVAL, "/proc/modules", 1, "size");
	put(dir, "proc/modules", "\na 1 0 - Live 0x0 OE\n");
	collect_fails(coll_module_collect, &o, -EINVAL, "/proc/modules", 2, "parentheses");
	put(dir, "proc/modules", "a 1 0 - Live 0x0\na 1 0 - Live 0x0\n");
	collect_fails(coll_module_collect, &o, -EINVAL, "/proc/modules", 2, "twice");
	put(dir, "proc/modules", "../etc 1 0 - Live 0x0\n");
	collect_fails(coll_module_collect, &o, -EINVAL, "/proc/modules", 1, "module name");
	put(dir, "proc/modules", "a 1 0 - Live 0x0 (E) extra\n");
	collect_fails(coll_module_collect, &o, -EINVAL, "/proc/modules", 1, NULL);
	/* a release that would leave /lib/modules */
	put(dir, "proc/modules", "a 1 0 - Live 0x0\n");
	put(dir, "proc/sys/kernel/osrelease", "../../etc\n");
	collect_fails(coll_module_collect, &o, -EINVAL, "/proc/sys/kernel/osrelease", 1, NULL);
	rm_tree(dir);
}

static void test_module_caps(void **state)
{
	TMP_TREE(dir);
	struct coll_opts o = { .root = dir };
	struct coll_set s = { 0 };
	char rel[256], big[1024];
	const char *st;

	put(dir, "proc/modules", "m 1 0 - Live 0x0\n");
	for (int i = 0; i < 200; i++) {
		snprintf(rel, sizeof(rel), "sys/module/m/parameters/p%03d", i);
		put(dir, rel, "v\n");
	}
	memset(big, 'x', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	put(dir, "sys/module/m/parameters/p000", big);
	collect_ok(coll_module_collect, &o, &s);
	assert_int_equal(s.n, 1);
	st = s.items[0].state;
	/* 128 parameters in name order: p000..p127 */
	assert_non_null(strstr(st, "\"p127\":\"v\""));
	assert_null(strstr(st, "\"p128\""));
	/* a value is cut at 256 bytes */
	memset(big, 'x', 256);
	big[256] = '\0';
	assert_non_null(strstr(st, big));
	big[256] = 'x';
	big[257] = '\0';
	assert_null(strstr(st, big));
	coll_set_release(&s);
	rm_tree(dir);
}

static void test_module_real(void **state)
{
	struct coll_opts o = { .root = "" };
	struct coll_set s = { 0 };

	collect_ok(coll_module_collect, &o, &s);
	if (access("/proc/modules", R_OK) != 0) {
		assert_int_equal(s.n, 0);
	} else {
		for (size_t i = 0; i < s.n; i++) {
			assert_non_null(strstr(s.items[i].state, "\"state\":\""));
			assert_null(strstr(s.items[i].state, "refcount"));
		}
	}
	coll_set_release(&s);
}

/* ---- sysctl ---- */

static void test_sysctl_defaults(void **state)
{
	static const char *const keys[] = {
		"fs.protected_symlinks",	      "kernel.core_pattern",
		"kernel.dmesg_restrict",	      "kernel.yama.ptrace_scope",
		"net.ipv4.conf.all.accept_redirects", "net.ipv4.conf.all.rp_filter",
		"net.ipv4.conf.default.accept_redirects", "net.ipv4.ip_forward",
	};
	static const char *const required[] = {
		"kernel.dmesg_restrict",     "kernel.kptr_restrict",
		"kernel.yama.ptrace_scope",  "kernel.modules_disabled",
		"kernel.unprivileged_bpf_disabled", "net.ipv4.ip_forward",
		"net.ipv4.conf.all.accept_redirects", "fs.protected_symlinks",
		"fs.protected_hardlinks",    "fs.suid_dumpable",
		"kernel.randomize_va_space", "net.ipv4.tcp_syncookies",
	};
	struct coll_opts o = { .root = fixture("root-a") };
	struct coll_set s = { 0 };

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		size_t k = 0;

		while (coll_sysctl_defaults[k] && strcmp(coll_sysctl_defaults[k], required[i]) != 0)
			k++;
		if (!coll_sysctl_defaults[k])
			fail_msg("'%s' is not a default", required[i]);
	}
	collect_ok(coll_sysctl_collect, &o, &s);
	expect_keys(&s, keys, sizeof(keys) / sizeof(keys[0]));
	expect(&s, "kernel.core_pattern", "{\"value\":\"|/usr/share/apport/apport -p%p -s%s\"}");
	expect(&s, "kernel.yama.ptrace_scope", "{\"value\":\"2\"}");
	expect(&s, "net.ipv4.conf.default.accept_redirects", "{\"value\":\"1\"}");
	coll_set_release(&s);
}

static void test_sysctl_globs(void **state)
{
	static const char *const want[] = {
		"net.ipv4.conf.*.accept_redirects", "net.ipv4.conf.eth0/100.rp_filter",
		"net.ipv4.tcp_rmem",		    "net.ipv6.conf.*.stable_secret",
		"kernel.no_such_setting",	    "net.ipv4.conf.all.accept_redirects",
		"net.ipv4.conf.*",		    "net.*.conf.e*.rp_filter",
		"net.nope*.x",
	};
	static const char *const keys[] = {
		"net.ipv4.conf.all.accept_redirects",
		"net.ipv4.conf.default.accept_redirects",
		"net.ipv4.conf.eth0.accept_redirects",
		"net.ipv4.conf.eth0/100.accept_redirects",
		"net.ipv4.conf.eth0/100.rp_filter",	  "net.ipv4.tcp_rmem",
		"net.ipv6.conf.all.stable_secret",
	};
	struct coll_opts o = { .root = fixture("root-a"), .sysctl_keys = want,
			       .n_sysctl_keys = sizeof(want) / sizeof(want[0]) };
	struct coll_set s = { 0 };

	collect_ok(coll_sysctl_collect, &o, &s);
	expect_keys(&s, keys, sizeof(keys) / sizeof(keys[0]));
	expect(&s, "net.ipv4.conf.all.accept_redirects", "{\"value\":\"0\"}");
	expect(&s, "net.ipv4.conf.eth0.accept_redirects", "{\"value\":\"1\"}");
	expect(&s, "net.ipv4.conf.eth0/100.accept_redirects", "{\"value\":\"0\"}");
	expect(&s, "net.ipv4.conf.eth0/100.rp_filter", "{\"value\":\"2\"}");
	expect(&s, "net.ipv4.tcp_rmem", "{\"value\":\"4096 131072 6291456\"}");
	/* a secret setting: only its digest */
	expect(&s, "net.ipv6.conf.all.stable_secret",
	       "{\"value\":\"<redacted>\",\"value_sha256\":"
	       "\"040e1a456f19d2a3b49283bd08cfc483736a786d00ba29a484758d500da3b70c\"}");
	for (size_t i = 0; i < s.n; i++)
		assert_null(strstr(s.items[i].state, "fe80"));
	coll_set_release(&s);
}

static void test_sysctl_bad_keys(void **state)
{
	static const char *const bad[] = { "", "net..ipv4", "kernel.", ".kernel", "a./.b",
					   "a.//.b", "net.ipv4.a b", "x.y\n" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *one[] = { bad[i] };
		struct coll_opts o = { .root = fixture("root-a"), .sysctl_keys = one,
				       .n_sysctl_keys = 1 };

		collect_fails(coll_sysctl_collect, &o, -EINVAL, NULL, 0, "invalid sysctl key");
	}
}

static void test_sysctl_write_only(void **state)
{
	TMP_TREE(dir);
	static const char *const glob[] = { "vm.*" };
	static const char *const named[] = { "vm.drop_caches" };
	struct coll_opts o = { .root = dir, .sysctl_keys = glob, .n_sysctl_keys = 1 };
	struct coll_set s = { 0 };
	char path[4200], longv[4096], want[4200];

	put(dir, "proc/sys/vm/swappiness", "60\n");
	put(dir, "proc/sys/vm/drop_caches", "0\n");
	put(dir, "proc/sys/vm/sub/x", "1\n");
	snprintf(path, sizeof(path), "%s/proc/sys/vm/drop_caches", dir);
	assert_int_equal(chmod(path, 0200), 0);
	/* a file that exactly fills a power-of-two buffer (4095 bytes) */
	memset(longv, 'y', 4094);
	longv[4094] = '\n';
	longv[4095] = '\0';
	put(dir, "proc/sys/vm/long", longv);
	/* a glob passes over write-only triggers and directories */
	collect_ok(coll_sysctl_collect, &o, &s);
	assert_int_equal(s.n, 2);
	expect(&s, "vm.swappiness", "{\"value\":\"60\"}");
	longv[4094] = '\0';
	snprintf(want, sizeof(want), "{\"value\":\"%s\"}", longv);
	expect(&s, "vm.long", want);
	coll_set_release(&s);
	/* named, a directory is no setting */
	o.sysctl_keys = (const char *const[]){ "vm.sub" };
	collect_ok(coll_sysctl_collect, &o, &s);
	assert_int_equal(s.n, 0);
	/* named, a trigger is read (and refused to anyone but root here) */
	o.sysctl_keys = named;
	collect_ok(coll_sysctl_collect, &o, &s);
	expect(&s, "vm.drop_caches",
	       geteuid() == 0 ? "{\"value\":\"0\"}"
			      : "{\"error\":\"Permission denied\",\"value\":null}");
	coll_set_release(&s);
	rm_tree(dir);
}

static void test_sysctl_cap(void **state)
{
	TMP_TREE(dir);
	static const char *const glob[] = { "net.ipv4.s*" };
	struct coll_opts o = { .root = dir, .sysctl_keys = glob, .n_sysctl_keys = 1 };
	char rel[256];

	/* one directory a glob looks into gives at most 4096 matches */
	for (int i = 0; i < 4097; i++) {
		snprintf(rel, sizeof(rel), "proc/sys/net/ipv4/s%d", i);
		put(dir, rel, "1\n");
	}
	collect_fails(coll_sysctl_collect, &o, -E2BIG, "/proc/sys/net/ipv4", 0, "4096");
	rm_tree(dir);
}

static void test_sysctl_real(void **state)
{
	static const char *const named[] = { "vm.drop_caches", "kernel.osrelease" };
	struct coll_opts o = { .root = "" };
	struct coll_set s = { 0 };
	struct utsname u;
	char want[512];
	FILE *f;

	collect_ok(coll_sysctl_collect, &o, &s);
	f = fopen("/proc/sys/kernel/dmesg_restrict", "r");
	if (f) {
		int v = -1;

		assert_int_equal(fscanf(f, "%d", &v), 1);
		fclose(f);
		snprintf(want, sizeof(want), "{\"value\":\"%d\"}", v);
		expect(&s, "kernel.dmesg_restrict", want);
	}
	coll_set_release(&s);
	if (access("/proc/sys/kernel/osrelease", F_OK) != 0)
		skip();
	o.sysctl_keys = named;
	o.n_sysctl_keys = 2;
	collect_ok(coll_sysctl_collect, &o, &s);
	assert_int_equal(uname(&u), 0);
	snprintf(want, sizeof(want), "{\"value\":\"%s\"}", u.release);
	expect(&s, "kernel.osrelease", want);
	/* the kernel refuses to read a trigger even to root: recorded, not fatal */
	if (access("/proc/sys/vm/drop_caches", F_OK) == 0)
		expect(&s, "vm.drop_caches", "{\"error\":\"Permission denied\",\"value\":null}");
	coll_set_release(&s);
}

/* ---- mount ---- */

static void test_mount_fixture(void **state)
{
	static const char *const keys[] = {
		"/", "/etc", "/mnt/a", "/mnt/a #2", "/mnt/a #3", "/mnt/my disk",
		"/mnt/tab\\x09new\\x0aline\\\\x", "/proc", "/proc/sys/fs/binfmt_misc", "/tmp",
		"/tmp #2",
	};
	struct coll_opts o = { .root = fixture("root-a") };
	struct coll_set s = { 0 };

	collect_ok(coll_mount_collect, &o, &s);
	expect_keys(&s, keys, sizeof(keys) / sizeof(keys[0]));
	expect(&s, "/",
	       "{\"fstype\":\"ext4\",\"options\":\"errors=remount-ro,relatime,rw\","
	       "\"propagation\":\"shared\",\"root\":\"/\",\"source\":\"/dev/vda1\"}");
	expect(&s, "/proc",
	       "{\"fstype\":\"proc\",\"options\":\"nodev,noexec,nosuid,relatime,rw\","
	       "\"propagation\":\"shared\",\"root\":\"/\",\"source\":\"proc\"}");
	expect(&s, "/mnt/my disk",
	       "{\"fstype\":\"vfat\",\"options\":\"codepage=437,fmask=0022,relatime,rw\","
	       "\"propagation\":\"master,shared\",\"root\":\"/\",\"source\":\"/dev/sdb1\"}");
	/* stacked: mountinfo order, the later one on top */
	expect(&s, "/tmp",
	       "{\"fstype\":\"tmpfs\",\"options\":\"nodev,nosuid,rw,size=1024k\","
	       "\"propagation\":\"private\",\"root\":\"/\",\"source\":\"tmpfs\"}");
	expect(&s, "/tmp #2",
	       "{\"fstype\":\"tmpfs\",\"options\":\"relatime,ro\",\"propagation\":\"private\","
	       "\"root\":\"/\",\"source\":\"none\"}");
	/* autofs: the pipe, its inode and the process group change at every boot */
	expect(&s, "/proc/sys/fs/binfmt_misc",
	       "{\"fstype\":\"autofs\",\"options\":\"direct,maxproto=5,minproto=5,relatime,rw,"
	       "timeout=0\",\"propagation\":\"shared\",\"root\":\"/\",\"source\":\"systemd-1\"}");
	/* a bind mount of a subdirectory; propagate_from is dropped */
	expect(&s, "/etc",
	       "{\"fstype\":\"ext4\",\"options\":\"relatime,ro,rw\","
	       "\"propagation\":\"master,unbindable\",\"root\":\"/srv/etc copy\","
	       "\"source\":\"/dev/sda1\"}");
	/* "/mnt/a #2" is a real mount point: the second mount on /mnt/a takes #3 */
	expect(&s, "/mnt/a #3",
	       "{\"fstype\":\"tmpfs\",\"options\":\"noexec,rw\",\"propagation\":\"private\","
	       "\"root\":\"/\",\"source\":\"tmpfs\"}");
	for (size_t i = 0; i < s.n; i++) {
		assert_null(strstr(s.items[i].state, "254:1"));
		assert_null(strstr(s.items[i].state, "shared:"));
	}
	coll_set_release(&s);
}

static void test_mount_errors(void **state)
{
	TMP_TREE(dir);
	struct coll_opts o = { .root = dir };
	struct coll_set s = { 0 };
	char line[1024];

	collect_ok(coll_mount_collect, &o, &s);
	assert_int_equal(s.n, 0);
	put(dir, "proc/self/mountinfo",
	    "26 1 254:1 / / rw - ext4 /dev/vda1 rw\n27 26 0:1 / /x rw shared:1 ext4 /dev/x rw\n");
	collect_fails(coll_mount_collect, &o, -EINVAL, "/proc/self/mountinfo", 2, "expected ID");
	put(dir, "proc/self/mountinfo", "26 1 254:1 / / rw - ext4 /dev/vda1\n");
	collect_fails(coll_mount_collect, &o, -EINVAL, "/proc/self/mountinfo", 1, NULL);
	put(dir, "proc/self/mountinfo", "26 1 - / / rw\n");
	collect_fails(coll_mount_collect, &o, -EINVAL, "/proc/self/mountinfo", 1, NULL);
	/* at most 256 options a mount */
	memcpy(line, "26 1 254:1 / / rw - ext4 /dev/vda1 rw", 37);
	for (int i = 0; i < 300; i++)
		memcpy(line + 37 + 3 * i, ",o1", 3);
	memcpy(line + 37 + 900, "\n", 2);
	put(dir, "proc/self/mountinfo", line);
	collect_fails(coll_mount_collect, &o, -EINVAL, "/proc/self/mountinfo", 1, "options");
	rm_tree(dir);
}

static void test_mount_real(void **state)
{
	struct coll_opts o = { .root = "" };
	struct coll_set s = { 0 };
	const char *root;

	if (access("/proc/self/mountinfo", R_OK) != 0)
		skip();
	collect_ok(coll_mount_collect, &o, &s);
	root = state_of(&s, "/");
	assert_non_null(root);
	assert_non_null(strstr(root, "\"fstype\":\""));
	assert_non_null(strstr(root, "\"options\":\""));
	coll_set_release(&s);
}

/* ---- kernel ---- */

static void test_kernel_fixtures(void **state)
{
	static const char *const keys[] = { "cmdline", "lockdown", "secure_boot", "taint",
					    "version" };
	struct coll_opts o = { .root = fixture("root-a") };
	struct coll_set s = { 0 };

	collect_ok(coll_kernel_collect, &o, &s);
	expect_keys(&s, keys, 5);
	expect(&s, "cmdline",
	       "{\"value\":\"BOOT_IMAGE=/vmlinuz-6.1.0-test root=UUID=1234 ro  quiet\"}");
	expect(&s, "version",
	       "{\"release\":\"6.1.0-test\","
	       "\"version\":\"#1 SMP PREEMPT_DYNAMIC Debian 6.1.0-1 (2024-01-01)\"}");
	expect(&s, "lockdown", "{\"value\":\"integrity\"}");
	expect(&s, "secure_boot", "{\"value\":\"enabled\"}");
	expect(&s, "taint", "{\"value\":12289}");
	coll_set_release(&s);

	/* no lockdown LSM, not an EFI system */
	o.root = fixture("root-b");
	collect_ok(coll_kernel_collect, &o, &s);
	expect_keys(&s, keys, 5);
	expect(&s, "cmdline", "{\"value\":\"console=ttyS0\"}");
	expect(&s, "version", "{\"release\":\"6.8.0-1-generic\",\"version\":\"#1 SMP\"}");
	expect(&s, "lockdown", "{\"value\":null}");
	expect(&s, "secure_boot", "{\"value\":null}");
	expect(&s, "taint", "{\"value\":0}");
	coll_set_release(&s);
}

static void test_kernel_errors(void **state)
{
	static const char efivar[] =
		"sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c";
	TMP_TREE(dir);
	struct coll_opts o = { .root = dir };
	struct coll_set s = { 0 };

	/* nothing at all: every value null, no error */
	collect_ok(coll_kernel_collect, &o, &s);
	expect(&s, "version", "{\"release\":null,\"version\":null}");
	expect(&s, "cmdline", "{\"value\":null}");
	expect(&s, "taint", "{\"value\":null}");
	coll_set_release(&s);

	put_bytes(dir, efivar, "\x07\x00\x00\x00\x00", 5);
	collect_ok(coll_kernel_collect, &o, &s);
	expect(&s, "secure_boot", "{\"value\":\"disabled\"}");
	coll_set_release(&s);
	put_bytes(dir, efivar, "\x07\x00\x00\x00", 4);
	collect_fails(coll_kernel_collect, &o, -EINVAL, efivar + 25, 0, "SecureBoot");
	put_bytes(dir, efivar, "\x07\x00\x00\x00\x02", 5);
	collect_fails(coll_kernel_collect, &o, -EINVAL, efivar + 25, 0, "SecureBoot");
	put_bytes(dir, efivar, "\x07\x00\x00\x00\x01", 5);

	put(dir, "sys/kernel/security/lockdown", "none integrity\n");
	collect_fails(coll_kernel_collect, &o, -EINVAL, "/sys/kernel/security/lockdown", 1,
		      "brackets");
	put(dir, "sys/kernel/security/lockdown", "[none] integrity confidentiality\n");
	put(dir, "proc/sys/kernel/tainted", "-1\n");
	collect_fails(coll_kernel_collect, &o, -EINVAL, "/proc/sys/kernel/tainted", 1, "number");
	put(dir, "proc/sys/kernel/tainted", "1\n");
	collect_ok(coll_kernel_collect, &o, &s);
	expect(&s, "lockdown", "{\"value\":\"none\"}");
	expect(&s, "taint", "{\"value\":1}");
	expect(&s, "secure_boot", "{\"value\":\"enabled\"}");
	coll_set_release(&s);
	rm_tree(dir);
}

static void test_kernel_real(void **state)
{
	struct coll_opts o = { .root = "" };
	struct coll_set s = { 0 };
	struct utsname u;
	char want[256];
	const char *v;

	collect_ok(coll_kernel_collect, &o, &s);
	assert_int_equal(s.n, 5);
	assert_int_equal(uname(&u), 0);
	v = state_of(&s, "version");
	assert_non_null(v);
	snprintf(want, sizeof(want), "\"release\":\"%s\"", u.release);
	assert_non_null(strstr(v, want));
	v = state_of(&s, "taint");
	assert_non_null(v);
	assert_non_null(strstr(v, "{\"value\":"));
	assert_null(strstr(v, "null"));
	coll_set_release(&s);
}

/* ---- certificate ---- */

#define RSA_STATE                                                                                  \
	"{\"issuer\":\"CN=Vigil Test RSA,O=Vigil Test,C=DE\",\"key_type\":\"RSA-2048\","           \
	"\"not_after\":\"2036-11-24T12:47:15Z\",\"not_before\":\"2026-11-27T12:47:15Z\","          \
	"\"serial\":\"1001\",\"sha256\":"                                                          \
	"\"723BBC8B96336185FFBE5AB1F33665AEDFDF81591BEECC6BC67F130821941F38\","                    \
	"\"subject\":\"CN=Vigil Test RSA,O=Vigil Test,C=DE\"}"
#define EC_STATE                                                                                   \
	"{\"issuer\":\"CN=Vigil Test RSA,O=Vigil Test,C=DE\",\"key_type\":\"EC-P-256\","           \
	"\"not_after\":\"2029-03-01T12:47:15Z\",\"not_before\":\"2026-11-27T12:47:15Z\","          \
	"\"serial\":\"0A0B0C\",\"sha256\":"                                                        \
	"\"25A5DCB0D40D46865399A98064D5097756D039E4A925F1DD858DA164D9172D7A\","                    \
	"\"subject\":\"CN=host.example\\\\, with comma,O=Vigil Test,C=DE\"}"
#define ED_STATE                                                                                   \
	"{\"issuer\":\"CN=Vigil Test Ed25519\",\"key_type\":\"Ed25519\","                          \
	"\"not_after\":\"2036-11-24T12:47:15Z\",\"not_before\":\"2026-11-27T12:47:15Z\","          \
	"\"serial\":\"07\",\"sha256\":"                                                            \
	"\"B27F196D621F7CB8591A21FF374AA41E59D11C896ACA46B56823537EDBE0D8F4\","                    \
	"\"subject\":\"CN=Vigil Test Ed25519\"}"

static void test_cert_dir(void **state)
{
	static const char *const keys[] = { "/pki/bundle.pem#1", "/pki/bundle.pem#2", "/pki/ec.pem",
					    "/pki/ed.der", "/pki/rsa.pem", "/pki/trusted.crt" };
	/* the file also through its directory (one object), a missing path (none) */
	static const char *const paths[] = { "/pki/", "/pki/rsa.pem", "/missing", "/missing/x" };
	struct coll_opts o = { .root = fixture(""), .pki_paths = paths, .n_pki_paths = 4 };
	struct coll_set s = { 0 };

	collect_ok(coll_certificate_collect, &o, &s);
	expect_keys(&s, keys, sizeof(keys) / sizeof(keys[0]));
	expect(&s, "/pki/rsa.pem", RSA_STATE);
	expect(&s, "/pki/ec.pem", EC_STATE);
	expect(&s, "/pki/ed.der", ED_STATE);
	expect(&s, "/pki/trusted.crt", RSA_STATE);
	/* in file order, the private key between them passed over */
	expect(&s, "/pki/bundle.pem#1", EC_STATE);
	expect(&s, "/pki/bundle.pem#2", RSA_STATE);
	coll_set_release(&s);

	/* a single file named directly, and a file holding only a key */
	o.pki_paths = (const char *const[]){ "/pki/ec.pem", "/pki/server.key" };
	o.n_pki_paths = 2;
	collect_ok(coll_certificate_collect, &o, &s);
	assert_int_equal(s.n, 1);
	expect(&s, "/pki/ec.pem", EC_STATE);
	coll_set_release(&s);
}

static void test_cert_errors(void **state)
{
	TMP_TREE(dir);
	static const char *const one[] = { "/p" };
	struct coll_opts o = { .root = dir, .pki_paths = one, .n_pki_paths = 1 };
	struct coll_opts bad = { .root = fixture(""),
				 .pki_paths = (const char *const[]){ "/pki-bad" },
				 .n_pki_paths = 1 };
	struct coll_set s = { 0 };
	char path[4200], target[4200];
	char *big;

	collect_fails(coll_certificate_collect, &bad, -EINVAL, "/pki-bad/bad.pem", 3, "base64");

	put(dir, "p/a.pem", "x\n-----BEGIN CERTIFICATE-----\nMIIB\n");
	collect_fails(coll_certificate_collect, &o, -EINVAL, "/p/a.pem", 2, "no END");
	put(dir, "p/a.pem", "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n");
	collect_fails(coll_certificate_collect, &o, -EINVAL, "/p/a.pem", 1, "no certificate");
	put(dir, "p/a.pem", "-----BEGIN CERTIFICATE-----\naGVsbG8\n-----END CERTIFICATE-----\n");
	collect_fails(coll_certificate_collect, &o, -EINVAL, "/p/a.pem", 1, "base64");
	put(dir, "p/a.pem", "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END X509 CRL-----\n");
	collect_fails(coll_certificate_collect, &o, -EINVAL, "/p/a.pem", 3, "END");

	/* a key, DER that is no certificate, a symlink: nothing, no error */
	put(dir, "p/a.pem", "-----BEGIN PRIVATE KEY-----\n!!! not even base64\n"
			    "-----END PRIVATE KEY-----\n");
	put(dir, "p/b.bin", "\x30\x03\x02\x01\x01");
	put(dir, "p/signed.txt",
	    "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nhello\n"
	    "-----BEGIN PGP SIGNATURE-----\niQ==\n-----END PGP SIGNATURE-----\n");
	snprintf(path, sizeof(path), "%s/p/link.pem", dir);
	snprintf(target, sizeof(target), "%s/pki/rsa.pem", fixture(""));
	assert_int_equal(symlink(target, path), 0);
	collect_ok(coll_certificate_collect, &o, &s);
	assert_int_equal(s.n, 0);

	/* larger than 1 MiB */
	big = malloc((1u << 20) + 2);
	assert_non_null(big);
	memset(big, 'A', (1u << 20) + 1);
	big[(1u << 20) + 1] = '\0';
	put(dir, "p/big.pem", big);
	free(big);
	collect_fails(coll_certificate_collect, &o, -EFBIG, "/p/big.pem", 0, "1 MiB");

	o.pki_paths = (const char *const[]){ "relative/path" };
	collect_fails(coll_certificate_collect, &o, -EINVAL, NULL, 0, "not absolute");
	rm_tree(dir);
}

static void test_cert_real(void **state)
{
	static const char *const paths[] = { "/etc/ssl/certs" };
	struct coll_opts o = { .root = "", .pki_paths = paths, .n_pki_paths = 1 };
	struct coll_set s = { 0 };

	if (access("/etc/ssl/certs", R_OK) != 0)
		skip();
	collect_ok(coll_certificate_collect, &o, &s);
	for (size_t i = 0; i < s.n; i++) {
		assert_non_null(strstr(s.items[i].state, "\"sha256\":\""));
		assert_null(strstr(s.items[i].state, "PRIVATE"));
	}
	if (access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0)
		assert_non_null(state_of(&s, "/etc/ssl/certs/ca-certificates.crt#1"));
	coll_set_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_module_fixture),
		cmocka_unit_test(test_module_absent_and_errors),
		cmocka_unit_test(test_module_caps),
		cmocka_unit_test(test_module_real),
		cmocka_unit_test(test_sysctl_defaults),
		cmocka_unit_test(test_sysctl_globs),
		cmocka_unit_test(test_sysctl_bad_keys),
		cmocka_unit_test(test_sysctl_write_only),
		cmocka_unit_test(test_sysctl_cap),
		cmocka_unit_test(test_sysctl_real),
		cmocka_unit_test(test_mount_fixture),
		cmocka_unit_test(test_mount_errors),
		cmocka_unit_test(test_mount_real),
		cmocka_unit_test(test_kernel_fixtures),
		cmocka_unit_test(test_kernel_errors),
		cmocka_unit_test(test_kernel_real),
		cmocka_unit_test(test_cert_dir),
		cmocka_unit_test(test_cert_errors),
		cmocka_unit_test(test_cert_real),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

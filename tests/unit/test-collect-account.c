/*
 * Unit tests for collect/coll-account.c: the user, group and sudo kinds, from the
 * fixture tree tests/data/collect/account/basic, from small trees made here for the
 * error cases, and from the machine itself.
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
#include <unistd.h>
#include <cmocka.h>

#include "collect/collect.h"

struct expect {
	const char *key;
	const char *state;
	const char *text;
};

static void fixture_root(char *out, size_t size)
{
	const char *data = getenv("TEST_DATA");

	assert_non_null(data);
	snprintf(out, size, "%s/collect/account/basic", data);
}

static void check_set(const struct coll_set *s, const struct expect *e, size_t n)
{
	for (size_t i = 0; i < s->n && i < n; i++) {
		assert_string_equal(s->items[i].key, e[i].key);
		assert_string_equal(s->items[i].state, e[i].state);
		if (e[i].text)
			assert_string_equal(s->items[i].text, e[i].text);
		else
			assert_null(s->items[i].text);
	}
	assert_int_equal(s->n, n);
}

/* ---- small trees ---- */

static char *tree_new(void)
{
	char *dir = strdup("/tmp/vigil-acct.XXXXXX");

	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void put(const char *root, const char *rel, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
		*p = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void link_at(const char *root, const char *rel, const char *target)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(symlink(target, path), 0);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void tree_free(char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* Runs collect on root and checks it fails with code at file:line. */
static void expect_error(int (*collect)(const struct coll_opts *, struct coll_set *,
					struct vg_error *),
			 const char *root, int code, const char *file, unsigned line,
			 const char *msg_part)
{
	struct coll_opts o = { .root = root };
	struct coll_set s = { 0 };
	struct vg_error err = { 0 };

	assert_int_equal(collect(&o, &s, &err), code);
	assert_string_equal(err.file, file);
	assert_int_equal(err.line, line);
	if (!strstr(err.msg, msg_part))
		fail_msg("message '%s' lacks '%s'", err.msg, msg_part);
	assert_int_equal(s.n, 0);
	coll_set_release(&s);
}

/* ---- users ---- */

static void test_users(void **state)
{
	static const struct expect e[] = {
		{ "alice",
		  "{\"expire\":20000,\"gecos\":\"Alice Example,,,\",\"gid\":1000,"
		  "\"groups\":[\"adm\",\"sudo\"],\"home\":\"/home/alice\",\"inactive\":30,"
		  "\"last_change\":19600,\"max\":90,\"min\":1,\"password\":\"set\","
		  "\"shell\":\"/bin/bash\",\"uid\":1000,\"warn\":14}",
		  NULL },
		{ "alice #2",
		  "{\"expire\":20000,\"gecos\":\"Second alice\",\"gid\":1006,"
		  "\"groups\":[\"adm\",\"sudo\"],\"home\":\"/tmp\",\"inactive\":30,"
		  "\"last_change\":19600,\"max\":90,\"min\":1,\"password\":\"set\","
		  "\"shell\":\"/bin/sh\",\"uid\":1006,\"warn\":14}",
		  NULL },
		{ "bob",
		  "{\"expire\":null,\"gecos\":\"\",\"gid\":1001,\"groups\":[\"adm\"],"
		  "\"home\":\"/home/bob\",\"inactive\":null,\"last_change\":19601,\"max\":null,"
		  "\"min\":null,\"password\":\"locked\",\"shell\":\"/bin/sh\",\"uid\":1001,"
		  "\"warn\":null}",
		  NULL },
		{ "carol",
		  "{\"expire\":null,\"gecos\":\"Carol\",\"gid\":1002,\"groups\":[\"sudo\"],"
		  "\"home\":\"/home/carol\",\"inactive\":null,\"last_change\":19602,"
		  "\"max\":99999,\"min\":0,\"password\":\"disabled\",\"shell\":\"/bin/bash\","
		  "\"uid\":1002,\"warn\":7}",
		  NULL },
		{ "daemon",
		  "{\"expire\":null,\"gecos\":\"daemon\",\"gid\":1,\"groups\":[],"
		  "\"home\":\"/usr/sbin\",\"inactive\":null,\"last_change\":19500,"
		  "\"max\":99999,\"min\":0,\"password\":\"disabled\","
		  "\"shell\":\"/usr/sbin/nologin\",\"uid\":1,\"warn\":7}",
		  NULL },
		{ "dave",
		  "{\"expire\":null,\"gecos\":\"Dave\",\"gid\":1003,\"groups\":[\"staff\"],"
		  "\"home\":\"/home/dave\",\"inactive\":null,\"last_change\":19603,"
		  "\"max\":99999,\"min\":0,\"password\":\"none\",\"shell\":\"/bin/bash\","
		  "\"uid\":1003,\"warn\":7}",
		  NULL },
		/* an empty passwd field is the password: the shadow hash is not used */
		{ "eve",
		  "{\"expire\":null,\"gecos\":\"Eve\",\"gid\":1004,\"groups\":[],"
		  "\"home\":\"/home/eve\",\"inactive\":null,\"last_change\":null,"
		  "\"max\":99999,\"min\":0,\"password\":\"none\",\"shell\":\"/bin/bash\","
		  "\"uid\":1004,\"warn\":7}",
		  NULL },
		/* "x" but no shadow entry */
		{ "frank",
		  "{\"expire\":null,\"gecos\":\"Frank\",\"gid\":1005,\"groups\":[],"
		  "\"home\":\"/home/frank\",\"inactive\":null,\"last_change\":null,"
		  "\"max\":null,\"min\":null,\"password\":\"unknown\",\"shell\":\"/bin/bash\","
		  "\"uid\":1005,\"warn\":null}",
		  NULL },
		{ "root",
		  "{\"expire\":null,\"gecos\":\"root\",\"gid\":0,\"groups\":[],"
		  "\"home\":\"/root\",\"inactive\":null,\"last_change\":19500,\"max\":99999,"
		  "\"min\":0,\"password\":\"set\",\"shell\":\"/bin/bash\",\"uid\":0,\"warn\":7}",
		  NULL },
	};
	char root[4096];
	struct coll_opts o = { 0 };
	struct coll_set s = { 0 };
	struct vg_error err = { 0 };

	fixture_root(root, sizeof(root));
	o.root = root;
	assert_int_equal(coll_user_collect(&o, &s, &err), 0);
	check_set(&s, e, sizeof(e) / sizeof(e[0]));
	for (size_t i = 0; i < s.n; i++)
		assert_null(strstr(s.items[i].state, "fixture"));
	coll_set_release(&s);
}

/* The same system gives the same states, byte for byte. */
static void test_users_stable(void **state)
{
	char root[4096];
	struct coll_opts o = { 0 };
	struct coll_set a = { 0 }, b = { 0 };
	struct vg_error err = { 0 };

	fixture_root(root, sizeof(root));
	o.root = root;
	assert_int_equal(coll_user_collect(&o, &a, &err), 0);
	assert_int_equal(coll_user_collect(&o, &b, &err), 0);
	assert_int_equal(a.n, b.n);
	for (size_t i = 0; i < a.n; i++) {
		assert_string_equal(a.items[i].key, b.items[i].key);
		assert_string_equal(a.items[i].state, b.items[i].state);
	}
	coll_set_release(&a);
	coll_set_release(&b);
}

static void test_users_no_shadow(void **state)
{
	char *t = tree_new();
	struct coll_opts o = { .root = t };
	struct coll_set s = { 0 };
	struct vg_error err = { 0 };

	put(t, "etc/passwd",
	    "root:x:0:0:root:/root:/bin/bash\n"
	    "old:$1$oldsalt$oldhash:7:7:Old style:/:/bin/sh\n"
	    "+::::::\n");
	put(t, "etc/group", "root:x:0:old\n");
	assert_int_equal(coll_user_collect(&o, &s, &err), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.items[0].key, "+");
	assert_string_equal(s.items[0].state,
			    "{\"expire\":null,\"gecos\":\"\",\"gid\":null,\"groups\":[],"
			    "\"home\":\"\",\"inactive\":null,\"last_change\":null,\"max\":null,"
			    "\"min\":null,\"password\":\"none\",\"shell\":\"\",\"uid\":null,"
			    "\"warn\":null}");
	assert_string_equal(s.items[1].key, "old");
	assert_string_equal(s.items[1].state,
			    "{\"expire\":null,\"gecos\":\"Old style\",\"gid\":7,"
			    "\"groups\":[\"root\"],\"home\":\"/\",\"inactive\":null,"
			    "\"last_change\":null,\"max\":null,\"min\":null,\"password\":\"set\","
			    "\"shell\":\"/bin/sh\",\"uid\":7,\"warn\":null}");
	assert_string_equal(s.items[2].key, "root");
	assert_non_null(strstr(s.items[2].state, "\"password\":\"unknown\""));
	coll_set_release(&s);
	tree_free(t);
}

/* Names that are not plain text are escaped in keys and states. */
static void test_users_odd_names(void **state)
{
	char *t = tree_new();
	struct coll_opts o = { .root = t };
	struct coll_set s = { 0 };
	struct vg_error err = { 0 };

	put(t, "etc/passwd", "we\tird:x:5:5:G\\x \"q\":/h:/bin/sh\n");
	put(t, "etc/group", "g\xff:x:9:we\tird\n");
	assert_int_equal(coll_user_collect(&o, &s, &err), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.items[0].key, "we\\x09ird");
	assert_string_equal(s.items[0].state,
			    "{\"expire\":null,\"gecos\":\"G\\\\\\\\x \\\"q\\\"\",\"gid\":5,"
			    "\"groups\":[\"g\\\\xff\"],\"home\":\"/h\",\"inactive\":null,"
			    "\"last_change\":null,\"max\":null,\"min\":null,"
			    "\"password\":\"unknown\",\"shell\":\"/bin/sh\",\"uid\":5,"
			    "\"warn\":null}");
	coll_set_release(&s);
	tree_free(t);
}

static void test_users_errors(void **state)
{
	char *t = tree_new();
	char *big;

	/* no passwd at all */
	expect_error(coll_user_collect, t, -ENOENT, "/etc/passwd", 0, "cannot read '/etc/passwd'");

	put(t, "etc/group", "root:x:0:\n");
	put(t, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n\nbad:x:1:1:/:/bin/sh\n");
	expect_error(coll_user_collect, t, -EINVAL, "/etc/passwd", 3, "6 fields instead of 7");

	put(t, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\nbad:x:1x:1::/:/bin/sh\n");
	expect_error(coll_user_collect, t, -EINVAL, "/etc/passwd", 2, "bad uid '1x'");

	put(t, "etc/passwd", "bad:x:1:-1::/:/bin/sh\n");
	expect_error(coll_user_collect, t, -EINVAL, "/etc/passwd", 1, "bad gid '-1'");

	put(t, "etc/passwd", "bad:x:4294967295:1::/:/bin/sh\n");
	expect_error(coll_user_collect, t, -EINVAL, "/etc/passwd", 1, "bad uid");

	put(t, "etc/passwd", ":x:1:1::/:/bin/sh\n");
	expect_error(coll_user_collect, t, -EINVAL, "/etc/passwd", 1, "no name");

	put(t, "etc/passwd", "a:x:1:1::/:/bin/sh\n");
	put(t, "etc/shadow", "a:!:19000:0:99999:7:::\nb:*:soon::::::\n");
	expect_error(coll_user_collect, t, -EINVAL, "/etc/shadow", 2, "bad last_change 'soon'");

	put(t, "etc/shadow", "a:!:19000:0:99999:7::::extra\n");
	expect_error(coll_user_collect, t, -EINVAL, "/etc/shadow", 1,
		     "10 fields instead of 2 to 9");

	put(t, "etc/shadow", "a:!\n");
	put(t, "etc/group", "root:x:0\n");
	expect_error(coll_user_collect, t, -EINVAL, "/etc/group", 1, "3 fields instead of 4");

	/* the line cap */
	put(t, "etc/group", "root:x:0:\n");
	big = malloc(70000);
	assert_non_null(big);
	memset(big, 'a', 69998);
	memcpy(big, "a:x:1:1:", 8);
	big[69998] = '\n';
	big[69999] = '\0';
	put(t, "etc/passwd", big);
	free(big);
	expect_error(coll_user_collect, t, -E2BIG, "/etc/passwd", 1, "line longer than");
	tree_free(t);
}

/* ---- groups ---- */

static void test_groups(void **state)
{
	static const struct expect e[] = {
		{ "adm",
		  "{\"administrators\":[\"bob\",\"carol\"],\"gid\":4,"
		  "\"members\":[\"alice\",\"bob\"],\"password\":\"set\"}",
		  NULL },
		{ "alice",
		  "{\"administrators\":[],\"gid\":1000,\"members\":[],\"password\":\"disabled\"}",
		  NULL },
		{ "bob",
		  "{\"administrators\":[],\"gid\":1001,\"members\":[],\"password\":\"unknown\"}",
		  NULL },
		{ "daemon",
		  "{\"administrators\":[],\"gid\":1,\"members\":[],\"password\":\"unknown\"}",
		  NULL },
		{ "root",
		  "{\"administrators\":[],\"gid\":0,\"members\":[],\"password\":\"disabled\"}",
		  NULL },
		/* no gshadow entry, an empty group password field */
		{ "staff",
		  "{\"administrators\":[],\"gid\":50,\"members\":[\"dave\"],\"password\":\"none\"}",
		  NULL },
		{ "sudo",
		  "{\"administrators\":[],\"gid\":27,\"members\":[\"alice\",\"carol\"],"
		  "\"password\":\"disabled\"}",
		  NULL },
	};
	char root[4096];
	struct coll_opts o = { 0 };
	struct coll_set s = { 0 };
	struct vg_error err = { 0 };

	fixture_root(root, sizeof(root));
	o.root = root;
	assert_int_equal(coll_group_collect(&o, &s, &err), 0);
	check_set(&s, e, sizeof(e) / sizeof(e[0]));
	coll_set_release(&s);
}

static void test_groups_no_gshadow(void **state)
{
	char *t = tree_new();
	struct coll_opts o = { .root = t };
	struct coll_set s = { 0 };
	struct vg_error err = { 0 };

	put(t, "etc/group", "wheel:x:10:zed,amy\nwheel:x:11:\n");
	assert_int_equal(coll_group_collect(&o, &s, &err), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.items[0].key, "wheel");
	assert_string_equal(s.items[0].state, "{\"administrators\":[],\"gid\":10,"
					      "\"members\":[\"amy\",\"zed\"],"
					      "\"password\":\"unknown\"}");
	assert_string_equal(s.items[1].key, "wheel #2");
	assert_string_equal(s.items[1].state, "{\"administrators\":[],\"gid\":11,"
					      "\"members\":[],\"password\":\"unknown\"}");
	coll_set_release(&s);
	tree_free(t);
}

static void test_groups_errors(void **state)
{
	char *t = tree_new();

	expect_error(coll_group_collect, t, -ENOENT, "/etc/group", 0, "cannot read '/etc/group'");
	put(t, "etc/group", "root:x:0:\n# c\nwheel:x:ten:\n");
	expect_error(coll_group_collect, t, -EINVAL, "/etc/group", 3, "bad gid 'ten'");
	put(t, "etc/group", "root:x:0:\nwheel:x:10::\n");
	expect_error(coll_group_collect, t, -EINVAL, "/etc/group", 2, "5 fields instead of 4");
	put(t, "etc/group", "root:x:0:\n");
	put(t, "etc/gshadow", "root:*:\n");
	expect_error(coll_group_collect, t, -EINVAL, "/etc/gshadow", 1, "3 fields instead of 4");
	/* a NUL byte (fputs would stop at it) */
	{
		char p[4096];
		int fd;

		snprintf(p, sizeof(p), "%s/etc/gshadow", t);
		fd = open(p, O_WRONLY | O_TRUNC);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "root:*::\nx\0y:::\n", 16), 16);
		close(fd);
	}
	expect_error(coll_group_collect, t, -EINVAL, "/etc/gshadow", 2, "NUL byte");
	tree_free(t);
}

/* ---- sudo ---- */

#define SUDO_STATE(file, kind, text)                                                               \
	"{\"file\":\"" file "\",\"kind\":\"" kind "\",\"text\":\"" text "\"}"

static void test_sudo(void **state)
{
	static const struct expect e[] = {
		{ "#1000 ALL = (root) NOPASSWD: SHUTDOWN",
		  SUDO_STATE("/etc/sudoers", "rule", "#1000 ALL = (root) NOPASSWD: SHUTDOWN"),
		  "#1000 ALL = (root) NOPASSWD: SHUTDOWN\n" },
		{ "%sudo ALL=(ALL:ALL) ALL",
		  SUDO_STATE("/etc/sudoers", "rule", "%sudo ALL=(ALL:ALL) ALL"),
		  "%sudo ALL=(ALL:ALL) ALL\n" },
		{ "ADMINS ALL = (ALL) ALL",
		  SUDO_STATE("/etc/sudoers.local", "rule", "ADMINS ALL = (ALL) ALL"),
		  "ADMINS ALL = (ALL) ALL\n" },
		/* the continuation line */
		{ "Cmnd_Alias SHUTDOWN = /sbin/shutdown, /sbin/reboot",
		  SUDO_STATE("/etc/sudoers", "alias",
			     "Cmnd_Alias SHUTDOWN = /sbin/shutdown, /sbin/reboot"),
		  "Cmnd_Alias SHUTDOWN = /sbin/shutdown, /sbin/reboot\n" },
		{ "Defaults env_reset",
		  SUDO_STATE("/etc/sudoers", "defaults", "Defaults env_reset"),
		  "Defaults env_reset\n" },
		/* the same line again, in sudoers.d */
		{ "Defaults env_reset #2",
		  SUDO_STATE("/etc/sudoers.d/10-ops", "defaults", "Defaults env_reset"),
		  "Defaults env_reset\n" },
		/* blanks inside quotes are kept, and a '#' there is no comment */
		{ "Defaults passprompt=\"pw  # for %u:\"",
		  SUDO_STATE("/etc/sudoers", "defaults",
			     "Defaults passprompt=\\\"pw  # for %u:\\\""),
		  "Defaults passprompt=\"pw  # for %u:\"\n" },
		{ "Defaults secure_path=\"/usr/sbin:/usr/bin\"",
		  SUDO_STATE("/etc/sudoers", "defaults",
			     "Defaults secure_path=\\\"/usr/sbin:/usr/bin\\\""),
		  "Defaults secure_path=\"/usr/sbin:/usr/bin\"\n" },
		{ "Defaults:alice !requiretty",
		  SUDO_STATE("/etc/sudoers", "defaults", "Defaults:alice !requiretty"),
		  "Defaults:alice !requiretty\n" },
		{ "User_Alias ADMINS = alice, bob",
		  SUDO_STATE("/etc/sudoers", "alias", "User_Alias ADMINS = alice, bob"),
		  "User_Alias ADMINS = alice, bob\n" },
		{ "bob ALL = (root) /usr/bin/systemctl restart nginx",
		  SUDO_STATE("/etc/sudoers.d/10-ops", "rule",
			     "bob ALL = (root) /usr/bin/systemctl restart nginx"),
		  "bob ALL = (root) /usr/bin/systemctl restart nginx\n" },
		{ "root ALL=(ALL:ALL) ALL",
		  SUDO_STATE("/etc/sudoers", "rule", "root ALL=(ALL:ALL) ALL"),
		  "root ALL=(ALL:ALL) ALL\n" },
	};
	char root[4096];
	struct coll_opts o = { 0 };
	struct coll_set s = { 0 };
	struct vg_error err = { 0 };

	fixture_root(root, sizeof(root));
	o.root = root;
	assert_int_equal(coll_sudo_collect(&o, &s, &err), 0);
	check_set(&s, e, sizeof(e) / sizeof(e[0]));
	coll_set_release(&s);
}

static void test_sudo_absent(void **state)
{
	char *t = tree_new();
	struct coll_opts o = { .root = t };
	struct coll_set s = { 0 };
	struct vg_error err = { 0 };

	assert_int_equal(coll_sudo_collect(&o, &s, &err), 0);
	assert_int_equal(s.n, 0);
	/* a missing include directory is no error either */
	put(t, "etc/sudoers", "@includedir /etc/sudoers.d\n");
	assert_int_equal(coll_sudo_collect(&o, &s, &err), 0);
	assert_int_equal(s.n, 0);
	tree_free(t);
}

/* Links are followed below the root; dangling links and directories are skipped. */
static void test_sudo_links(void **state)
{
	char *t = tree_new();
	struct coll_opts o = { .root = t };
	struct coll_set s = { 0 };
	struct vg_error err = { 0 };

	put(t, "etc/sudoers", "@includedir /etc/sudoers.d/\n");
	put(t, "etc/real/abs", "abs ALL=ALL\n");
	put(t, "etc/real/rel", "rel ALL=ALL\n");
	put(t, "etc/sudoers.d/sub/inner", "inner ALL=ALL\n");
	put(t, "etc/sudoers.d/z", "@include \"../real/quoted name\"\n");
	put(t, "etc/real/quoted name", "quoted ALL=ALL\n");
	link_at(t, "etc/sudoers.d/a", "/etc/real/abs");
	link_at(t, "etc/sudoers.d/b", "../real/rel");
	link_at(t, "etc/sudoers.d/c", "/etc/real/missing");
	assert_int_equal(coll_sudo_collect(&o, &s, &err), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.items[0].key, "abs ALL=ALL");
	assert_string_equal(s.items[0].state,
			    SUDO_STATE("/etc/sudoers.d/a", "rule", "abs ALL=ALL"));
	assert_string_equal(s.items[1].key, "quoted ALL=ALL");
	assert_string_equal(s.items[1].state, SUDO_STATE("/etc/sudoers.d/../real/quoted name",
							 "rule", "quoted ALL=ALL"));
	assert_string_equal(s.items[2].key, "rel ALL=ALL");
	assert_string_equal(s.items[2].state,
			    SUDO_STATE("/etc/sudoers.d/b", "rule", "rel ALL=ALL"));
	coll_set_release(&s);
	tree_free(t);
}

static void test_sudo_host(void **state)
{
	char *t = tree_new();
	struct coll_opts o = { .root = t };
	struct coll_set s = { 0 };
	struct vg_error err = { 0 };

	put(t, "proc/sys/kernel/hostname", "web1.example.org\n");
	put(t, "etc/sudoers", "#include /etc/sudoers.%h\n");
	put(t, "etc/sudoers.web1", "Host_Alias WEB = web1\n");
	assert_int_equal(coll_sudo_collect(&o, &s, &err), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.items[0].state,
			    SUDO_STATE("/etc/sudoers.web1", "alias", "Host_Alias WEB = web1"));
	coll_set_release(&s);
	tree_free(t);
}

static void test_sudo_errors(void **state)
{
	char *t = tree_new();
	char p[4096];
	int fd;

	/* a sudoers.d file that cannot be read: above the size cap */
	put(t, "etc/sudoers", "root ALL=ALL\n#includedir /etc/sudoers.d\n");
	put(t, "etc/sudoers.d/big", "");
	snprintf(p, sizeof(p), "%s/etc/sudoers.d/big", t);
	fd = open(p, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 8 << 20), 0);
	close(fd);
	expect_error(coll_sudo_collect, t, -EFBIG, "/etc/sudoers.d/big", 0,
		     "cannot read '/etc/sudoers.d/big'");
	unlink(p);

	put(t, "etc/sudoers", "root ALL=ALL\n\n@include /etc/missing\n");
	expect_error(coll_sudo_collect, t, -ENOENT, "/etc/missing", 0,
		     "cannot read '/etc/missing'");

	put(t, "etc/sudoers", "root ALL=ALL\n@include /etc/sudoers.d/x\n");
	put(t, "etc/sudoers.d/x", "# loops\n@include ../sudoers\n");
	expect_error(coll_sudo_collect, t, -ELOOP, "/etc/sudoers.d/x", 2, "include loop");

	/* the depth cap: sudoers -> d1 -> ... -> d9 */
	put(t, "etc/sudoers", "@include d1\n");
	for (int i = 1; i <= 9; i++) {
		char rel[64], text[64];

		snprintf(rel, sizeof(rel), "etc/d%d", i);
		snprintf(text, sizeof(text), "u%d ALL=ALL\n@include d%d\n", i, i + 1);
		put(t, rel, text);
	}
	expect_error(coll_sudo_collect, t, -ELOOP, "/etc/d8", 2, "nested more than 8 deep");

	put(t, "etc/sudoers", "a ALL=ALL\n@include \"unterminated\n");
	expect_error(coll_sudo_collect, t, -EINVAL, "/etc/sudoers", 2, "malformed include");
	put(t, "etc/sudoers", "@includedir /etc/d one\n");
	expect_error(coll_sudo_collect, t, -EINVAL, "/etc/sudoers", 1, "malformed include");
	tree_free(t);
}

/* Lines longer than a key get bounded keys that stay unique. */
static void test_sudo_long_line(void **state)
{
	char *t = tree_new();
	struct coll_opts o = { .root = t };
	struct coll_set s = { 0 };
	struct vg_error err = { 0 };
	char *line = malloc(12000);

	assert_non_null(line);
	memset(line, 'x', 11000);
	memcpy(line, "Cmnd_Alias X = ", 15);
	memcpy(line + 11000, "1\n", 3);
	put(t, "etc/sudoers.d/a", line);
	line[11000] = '2';
	put(t, "etc/sudoers.d/b", line);
	put(t, "etc/sudoers", "#includedir /etc/sudoers.d\n");
	free(line);
	assert_int_equal(coll_sudo_collect(&o, &s, &err), 0);
	assert_int_equal(s.n, 2);
	for (size_t i = 0; i < s.n; i++) {
		assert_true(strlen(s.items[i].key) <= 4000);
		assert_non_null(strstr(s.items[i].key, "... #h"));
		assert_int_equal(strlen(s.items[i].text), 11002);
	}
	assert_string_not_equal(s.items[0].key, s.items[1].key);
	coll_set_release(&s);
	tree_free(t);
}

/* ---- the machine itself ---- */

static void test_real_machine(void **state)
{
	struct coll_opts o = { .root = "" };
	struct coll_set s = { 0 };
	struct vg_error err = { 0 };
	bool seen = false;

	if (access("/etc/passwd", R_OK) != 0 || access("/etc/group", R_OK) != 0)
		skip();
	assert_int_equal(coll_user_collect(&o, &s, &err), 0);
	for (size_t i = 0; i < s.n; i++)
		if (strcmp(s.items[i].key, "root") == 0) {
			assert_non_null(strstr(s.items[i].state, "\"uid\":0,"));
			assert_non_null(strstr(s.items[i].state, "\"gid\":0,"));
			assert_null(strstr(s.items[i].state, "$"));
			seen = true;
		}
	assert_true(seen);
	coll_set_release(&s);

	seen = false;
	assert_int_equal(coll_group_collect(&o, &s, &err), 0);
	for (size_t i = 0; i < s.n; i++)
		if (strcmp(s.items[i].key, "root") == 0) {
			assert_non_null(strstr(s.items[i].state, "\"gid\":0,"));
			seen = true;
		}
	assert_true(seen);
	coll_set_release(&s);

	if (access("/etc/sudoers", R_OK) == 0 || access("/etc/sudoers", F_OK) != 0) {
		assert_int_equal(coll_sudo_collect(&o, &s, &err), 0);
		for (size_t i = 0; i < s.n; i++)
			assert_non_null(strstr(s.items[i].state, "\"file\":\"/etc/sudoers"));
		coll_set_release(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_users),
		cmocka_unit_test(test_users_stable),
		cmocka_unit_test(test_users_no_shadow),
		cmocka_unit_test(test_users_odd_names),
		cmocka_unit_test(test_users_errors),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_groups_no_gshadow),
		cmocka_unit_test(test_groups_errors),
		cmocka_unit_test(test_sudo),
		cmocka_unit_test(test_sudo_absent),
		cmocka_unit_test(test_sudo_links),
		cmocka_unit_test(test_sudo_host),
		cmocka_unit_test(test_sudo_errors),
		cmocka_unit_test(test_sudo_long_line),
		cmocka_unit_test(test_real_machine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests for the socket, unit, timer and cron collectors (collect/coll-socket.c,
 * collect/coll-unit.c): fixture trees under tests/data/collect/system with the exact
 * states expected, malformed input named by file and line, the caps, real sockets
 * opened by this test, and runs against the machine itself.
 */
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "collect/collect.h"

struct expect {
	const char *key, *state;
};

static const char *data_dir(const char *sub, char *out, size_t size)
{
	const char *d = getenv("TEST_DATA");

	assert_non_null(d);
	snprintf(out, size, "%s/collect/system/%s", d, sub);
	return out;
}

static const struct coll_item *find(const struct coll_set *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->items[i].key, key) == 0)
			return &s->items[i];
	return NULL;
}

/* The set holds exactly these keys with exactly these states. */
static void expect_set(const struct coll_set *s, const struct expect *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct coll_item *it = find(s, e[i].key);

		if (!it)
			fail_msg("missing key '%s'", e[i].key);
		assert_string_equal(it->state, e[i].state);
	}
	if (s->n != n) {
		for (size_t i = 0; i < s->n; i++)
			print_message("got %s\t%s\n", s->items[i].key, s->items[i].state);
	}
	assert_int_equal(s->n, n);
}

static int run(int (*fn)(const struct coll_opts *, struct coll_set *, struct vg_error *),
	       const char *root, struct coll_set *s, struct vg_error *err)
{
	struct coll_opts o = { .root = root, .timeout_ns = 20LL * 1000 * 1000 * 1000 };

	memset(s, 0, sizeof(*s));
	memset(err, 0, sizeof(*err));
	return fn(&o, s, err);
}

/* ---- building trees in a temporary directory ---- */

static void mkparents(const char *path)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s", path);
	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		mkdir(p, 0755);
		*c = '/';
	}
}

static void put(const char *root, const char *rel, const char *content)
{
	char p[4096];
	FILE *f;

	snprintf(p, sizeof(p), "%s%s", root, rel);
	mkparents(p);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

static void lnk(const char *root, const char *rel, const char *target)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s%s", root, rel);
	mkparents(p);
	assert_int_equal(symlink(target, p), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static bool pid1_is_systemd(void)
{
	char comm[64] = "";
	FILE *f = fopen("/proc/1/comm", "r");

	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return strcmp(comm, "systemd\n") == 0;
}

/* ---- unit ---- */

static void test_unit_fixture(void **state)
{
	static const struct expect e[] = {
		{ "backup.service",
		  "{\"active\":null,\"dropins\":[],\"enabled\":\"static\",\"link\":null,"
		  "\"path\":\"/usr/lib/systemd/system/backup.service\",\"sha256\":"
		  "\"57e09f256681e5f1dc101ec0f6fba1be279cf455b10eb437cb8cb2c44c881431\"}" },
		{ "backup.timer",
		  "{\"active\":null,\"dropins\":[{\"path\":\"/etc/systemd/system/backup.timer.d/"
		  "override.conf\",\"sha256\":\"3460103716800c0e80e707fac2011b28dcadb27dc509c5db"
		  "40423afd73b1951e\"}],\"enabled\":\"enabled\",\"link\":null,\"path\":\"/usr/lib/"
		  "systemd/system/backup.timer\",\"sha256\":\"5032bed6d91c3d4bb11f28f3cd1e9cef3378"
		  "e8034425ae68434b113e8cc5b856\"}" },
		{ "cleanup.timer",
		  "{\"active\":null,\"dropins\":[],\"enabled\":\"static\",\"link\":null,"
		  "\"path\":\"/usr/lib/systemd/system/cleanup.timer\",\"sha256\":"
		  "\"38990fc19d77e64ee06e03e6f03e2deb8f35da6268ac6bb4379a04d27cfec236\"}" },
		/* an alias: the digest is the file it points to */
		{ "db.service",
		  "{\"active\":null,\"dropins\":[],\"enabled\":\"alias\",\"link\":\"/usr/lib/"
		  "systemd/system/postgres.service\",\"path\":\"/etc/systemd/system/db.service\","
		  "\"sha256\":\"d540c550dc91c5ac849688eddd8532c2f2a6d5cfe772b5bb035b13d0836a0ce8"
		  "\"}" },
		{ "empty.service",
		  "{\"active\":null,\"dropins\":[],\"enabled\":\"masked\",\"link\":null,"
		  "\"path\":\"/usr/lib/systemd/system/empty.service\",\"sha256\":null}" },
		/* a template, enabled through an instance */
		{ "getty@.service",
		  "{\"active\":null,\"dropins\":[],\"enabled\":\"enabled\",\"link\":null,"
		  "\"path\":\"/usr/lib/systemd/system/getty@.service\",\"sha256\":"
		  "\"15df4b10ea2b90e8c642a416fb232d325aa1f8e94b50dad176e27088eb45333a\"}" },
		{ "gone.service",
		  "{\"active\":null,\"dropins\":[],\"enabled\":\"bad\",\"link\":\"/usr/lib/systemd/"
		  "system/nothere.service\",\"path\":\"/etc/systemd/system/gone.service\","
		  "\"sha256\":null}" },
		/* /usr/lib before /lib */
		{ "helper.service",
		  "{\"active\":null,\"dropins\":[],\"enabled\":\"static\",\"link\":null,"
		  "\"path\":\"/usr/lib/systemd/system/helper.service\",\"sha256\":"
		  "\"083129bba1852ef7081e84f406c237786ec7f1a7dd5d9374471cca3ca260e776\"}" },
		{ "legacy.service",
		  "{\"active\":null,\"dropins\":[],\"enabled\":\"disabled\",\"link\":null,"
		  "\"path\":\"/lib/systemd/system/legacy.service\",\"sha256\":"
		  "\"2ca72586ad08aa93541f919e97015fcb7c95355595e018e629f242da0e758f8f\"}" },
		{ "old.service",
		  "{\"active\":null,\"dropins\":[],\"enabled\":\"masked\",\"link\":\"/dev/null\","
		  "\"path\":\"/etc/systemd/system/old.service\",\"sha256\":null}" },
		{ "old.timer",
		  "{\"active\":null,\"dropins\":[],\"enabled\":\"masked\",\"link\":\"/dev/null\","
		  "\"path\":\"/etc/systemd/system/old.timer\",\"sha256\":null}" },
		{ "postgres.service",
		  "{\"active\":null,\"dropins\":[{\"path\":\"/etc/systemd/system/"
		  "postgres.service.d/10-limits.conf\",\"sha256\":"
		  "\"e2631211a3955b0dc03f63d2da38856e2430398ba021abc5eaedd436d7f4984a\"},"
		  "{\"path\":\"/usr/lib/systemd/system/postgres.service.d/"
		  "20-env.conf\",\"sha256\":\"ca59aee40ba807d227ee24b695d46b7378dfcf15a9ffae9dc25e"
		  "39f63bb9b437\"}],\"enabled\":\"disabled\",\"link\":null,\"path\":\"/usr/lib/"
		  "systemd/system/postgres.service\",\"sha256\":\"d540c550dc91c5ac849688eddd8532c2"
		  "f2a6d5cfe772b5bb035b13d0836a0ce8\"}" },
		{ "report.timer",
		  "{\"active\":null,\"dropins\":[],\"enabled\":\"static\",\"link\":null,"
		  "\"path\":\"/usr/lib/systemd/system/report.timer\",\"sha256\":"
		  "\"070e9638069565f8ff96e4d4a0306d6cc6658d704893beb2266e2ac79c0143e8\"}" },
		{ "rotate@.timer",
		  "{\"active\":null,\"dropins\":[],\"enabled\":\"static\",\"link\":null,"
		  "\"path\":\"/usr/lib/systemd/system/rotate@.timer\",\"sha256\":"
		  "\"dca423e05bd2abb70c8d5dbe0716be87e20fbfd3a52b0c0e7efca2cc03f4f65f\"}" },
		{ "tool.service",
		  "{\"active\":null,\"dropins\":[],\"enabled\":\"linked\",\"link\":\"/opt/tool/"
		  "tool.service\",\"path\":\"/etc/systemd/system/tool.service\",\"sha256\":"
		  "\"e4b4a46a47a73fcdbeb1f614ce1ffa701c4c93eb6d9b66356aaf9291a607f398\"}" },
		/* /etc hides /usr/lib */
		{ "web.service",
		  "{\"active\":null,\"dropins\":[],\"enabled\":\"enabled\",\"link\":null,"
		  "\"path\":\"/etc/systemd/system/web.service\",\"sha256\":"
		  "\"bb892b65f526539dc2722ba0de525c652c7c313f315628ba735a2f2ea4de0d83\"}" },
	};
	struct coll_set s;
	struct vg_error err;
	char root[4096];

	assert_int_equal(run(coll_unit_collect, data_dir("root", root, sizeof(root)), &s, &err), 0);
	expect_set(&s, e, sizeof(e) / sizeof(e[0]));
	for (size_t i = 0; i < s.n; i++)
		assert_null(s.items[i].text);
	coll_set_release(&s);
}

/* PID 1 is systemd in the tree: systemctl is asked, once.  Here, on a machine that does
 * not run systemd, it fails and says so; on one that does, it answers. */
static void test_unit_systemctl(void **state)
{
	struct coll_set s;
	struct vg_error err;
	char root[4096];
	int r;

	r = run(coll_unit_collect, data_dir("systemd-root", root, sizeof(root)), &s, &err);
	if (pid1_is_systemd()) {
		const struct coll_item *it;

		assert_int_equal(r, 0);
		it = find(&s, "helper.service");
		assert_non_null(it);
		assert_null(strstr(it->state, "\"active\":null"));
		assert_non_null(strstr(it->state, "\"active\":\""));
	} else {
		assert_true(r < 0);
		assert_non_null(strstr(err.msg, "systemctl"));
		assert_true(strstr(err.file, "systemctl") != NULL);
	}
	coll_set_release(&s);
}

static void test_unit_dropin_cap(void **state)
{
	char dir[] = "/tmp/vigil-unit.XXXXXX";
	struct coll_set s;
	struct vg_error err;

	assert_non_null(mkdtemp(dir));
	put(dir, "/etc/systemd/system/x.service", "[Service]\nExecStart=/bin/true\n");
	for (int i = 0; i <= 256; i++) {
		char rel[128];

		snprintf(rel, sizeof(rel), "/etc/systemd/system/x.service.d/%03d.conf", i);
		put(dir, rel, "[Service]\n");
	}
	assert_int_equal(run(coll_unit_collect, dir, &s, &err), -E2BIG);
	assert_string_equal(err.file, "/etc/systemd/system/x.service.d");
	assert_non_null(strstr(err.msg, "too many drop-ins"));
	coll_set_release(&s);
	rm_tree(dir);
}

static void test_unit_real(void **state)
{
	bool systemd = pid1_is_systemd();
	struct coll_set s;
	struct vg_error err;
	int r = run(coll_unit_collect, "", &s, &err);

	if (r < 0)
		fail_msg("unit collection failed: %s: %s", err.file, err.msg);
	if (access("/usr/lib/systemd/system", F_OK) == 0 ||
	    access("/lib/systemd/system", F_OK) == 0)
		assert_true(s.n > 0);
	for (size_t i = 0; i < s.n; i++) {
		const char *st = s.items[i].state;

		assert_non_null(strchr(s.items[i].key, '.'));
		assert_non_null(strstr(st, "\"enabled\":\""));
		assert_non_null(strstr(st, "\"path\":\"/"));
		if (strstr(st, "\"enabled\":\"masked\""))
			assert_non_null(strstr(st, "\"sha256\":null"));
		if (!systemd)
			assert_non_null(strstr(st, "\"active\":null"));
	}
	coll_set_release(&s);
}

/* ---- timer ---- */

static void test_timer_fixture(void **state)
{
	static const struct expect e[] = {
		/* the drop-in empties OnCalendar and adds two; Persistent: the last one */
		{ "backup.timer",
		  "{\"on_calendar\":[\"Sat *-*-* 04:00\",\"weekly\"],\"persistent\":[\"true\"],"
		  "\"randomized_delay_sec\":[\"1h\"],\"unit\":\"backup.service\"}" },
		{ "cleanup.timer",
		  "{\"on_boot_sec\":[\"5min\"],\"on_unit_active_sec\":[\"1d\"],"
		  "\"unit\":\"helper.service\"}" },
		/* a continued line; the backslash becomes a space */
		{ "report.timer",
		  "{\"accuracy_sec\":[\"1min\"],\"on_calendar\":[\"Mon..Fri  09:00\"],"
		  "\"unit\":\"report.service\"}" },
		{ "rotate@.timer", "{\"on_calendar\":[\"monthly\"],\"unit\":\"rotate@.service\"}" },
	};
	struct coll_set s;
	struct vg_error err;
	char root[4096];

	/* old.timer is masked: no timer */
	assert_int_equal(run(coll_timer_collect, data_dir("root", root, sizeof(root)), &s, &err),
			 0);
	expect_set(&s, e, sizeof(e) / sizeof(e[0]));
	coll_set_release(&s);
}

static void test_timer_malformed(void **state)
{
	struct coll_set s;
	struct vg_error err;
	char root[4096];

	assert_int_equal(run(coll_timer_collect, data_dir("bad-timer", root, sizeof(root)), &s,
			     &err),
			 -EBADMSG);
	assert_string_equal(err.file, "/usr/lib/systemd/system/bad.timer");
	assert_int_equal(err.line, 3);
	assert_non_null(strstr(err.msg, "malformed"));
	coll_set_release(&s);
}

static void test_timer_value_cap(void **state)
{
	char dir[] = "/tmp/vigil-timer.XXXXXX";
	struct coll_set s;
	struct vg_error err;
	char *text;
	size_t off;

	assert_non_null(mkdtemp(dir));
	text = malloc(64 * 300);
	assert_non_null(text);
	off = (size_t)snprintf(text, 64, "[Timer]\n");
	for (int i = 0; i <= 256; i++)
		off += (size_t)snprintf(text + off, 64, "OnCalendar=*-*-* 00:%02d:%02d\n", i / 60,
					i % 60);
	put(dir, "/usr/lib/systemd/system/many.timer", text);
	free(text);
	assert_int_equal(run(coll_timer_collect, dir, &s, &err), -E2BIG);
	assert_string_equal(err.file, "/usr/lib/systemd/system/many.timer");
	assert_int_equal(err.line, 258);
	coll_set_release(&s);
	rm_tree(dir);
}

static void test_timer_real(void **state)
{
	struct coll_set s;
	struct vg_error err;
	int r = run(coll_timer_collect, "", &s, &err);

	if (r < 0)
		fail_msg("timer collection failed: %s:%u: %s", err.file, err.line, err.msg);
	for (size_t i = 0; i < s.n; i++) {
		assert_non_null(strstr(s.items[i].key, ".timer"));
		assert_non_null(strstr(s.items[i].state, "\"unit\":\""));
	}
	if (access("/usr/lib/systemd/system/apt-daily.timer", R_OK) == 0 &&
	    access("/etc/systemd/system/apt-daily.timer", F_OK) != 0) {
		const struct coll_item *it = find(&s, "apt-daily.timer");

		assert_non_null(it);
		assert_non_null(strstr(it->state, "\"on_calendar\":[\""));
		assert_non_null(strstr(it->state, "\"unit\":\"apt-daily.service\""));
	}
	coll_set_release(&s);
}

/* ---- cron ---- */

static void test_cron_fixture(void **state)
{
	static const struct expect e[] = {
		{ "/etc/crontab: SHELL=", "{\"value\":\"/bin/sh\"}" },
		/* blanks around '=', quotes removed */
		{ "/etc/crontab: PATH=", "{\"value\":\"/usr/local/bin:/usr/bin:/bin\"}" },
		/* tabs between fields, trailing blanks: normalized */
		{ "/etc/crontab: 17 * * * * root cd / && run-parts --report /etc/cron.hourly",
		  "{\"command\":\"cd / && run-parts --report /etc/cron.hourly\",\"file\":"
		  "\"/etc/crontab\",\"schedule\":\"17 * * * *\",\"user\":\"root\"}" },
		{ "/etc/crontab: @reboot root /usr/local/sbin/on-boot --fast",
		  "{\"command\":\"/usr/local/sbin/on-boot --fast\",\"file\":\"/etc/crontab\","
		  "\"schedule\":\"@reboot\",\"user\":\"root\"}" },
		{ "/etc/cron.d/jobs: MAILTO=", "{\"value\":\"ops@example.org\"}" },
		/* set again further down, and the same line twice */
		{ "/etc/cron.d/jobs: MAILTO= (2)", "{\"value\":\"\"}" },
		{ "/etc/cron.d/jobs: */5 * * * * www-data /usr/bin/php /srv/app/cron.php",
		  "{\"command\":\"/usr/bin/php /srv/app/cron.php\",\"file\":\"/etc/cron.d/jobs\","
		  "\"schedule\":\"*/5 * * * *\",\"user\":\"www-data\"}" },
		{ "/etc/cron.d/jobs: */5 * * * * www-data /usr/bin/php /srv/app/cron.php (2)",
		  "{\"command\":\"/usr/bin/php /srv/app/cron.php\",\"file\":\"/etc/cron.d/jobs\","
		  "\"schedule\":\"*/5 * * * *\",\"user\":\"www-data\"}" },
		{ "/etc/cron.d/jobs: 0 4 * * sun root /usr/local/bin/weekly-report",
		  "{\"command\":\"/usr/local/bin/weekly-report\",\"file\":\"/etc/cron.d/jobs\","
		  "\"schedule\":\"0 4 * * sun\",\"user\":\"root\"}" },
		{ "/etc/cron.d/jobs: 0 0-6/2,22 1,15 jan-jun * nobody /usr/bin/poll",
		  "{\"command\":\"/usr/bin/poll\",\"file\":\"/etc/cron.d/jobs\","
		  "\"schedule\":\"0 0-6/2,22 1,15 jan-jun *\",\"user\":\"nobody\"}" },
		/* a user's crontab: no user field, the file names the user */
		{ "/var/spool/cron/crontabs/alice: MAILTO=", "{\"value\":\"alice\"}" },
		{ "/var/spool/cron/crontabs/alice: 30 2 * * 1-5 alice /home/alice/bin/backup.sh "
		  ">/dev/null 2>&1",
		  "{\"command\":\"/home/alice/bin/backup.sh >/dev/null 2>&1\",\"file\":"
		  "\"/var/spool/cron/crontabs/alice\",\"schedule\":\"30 2 * * 1-5\",\"user\":"
		  "\"alice\"}" },
		/* scripts by digest; .placeholder skipped; a link followed below the root */
		{ "cron.daily/logrotate",
		  "{\"sha256\":"
		  "\"37f2e97ff968138ad9bc00e574ce4a1dd7c54e289f3b6b141f4d9b187f0db164\"}" },
		{ "cron.weekly/rotate-again",
		  "{\"sha256\":"
		  "\"37f2e97ff968138ad9bc00e574ce4a1dd7c54e289f3b6b141f4d9b187f0db164\"}" },
	};
	const struct coll_item *it;
	struct coll_set s;
	struct vg_error err;
	char root[4096];

	assert_int_equal(run(coll_cron_collect, data_dir("root", root, sizeof(root)), &s, &err), 0);
	expect_set(&s, e, sizeof(e) / sizeof(e[0]));
	it = find(&s, "/etc/crontab: 17 * * * * root cd / && run-parts --report /etc/cron.hourly");
	assert_string_equal(it->text,
			    "17 * * * * root cd / && run-parts --report /etc/cron.hourly\n");
	assert_null(find(&s, "/etc/crontab: SHELL=")->text);
	coll_set_release(&s);
}

static void test_cron_malformed(void **state)
{
	struct coll_set s;
	struct vg_error err;
	char root[4096];

	assert_int_equal(run(coll_cron_collect, data_dir("bad-cron", root, sizeof(root)), &s, &err),
			 -EBADMSG);
	assert_string_equal(err.file, "/etc/cron.d/broken");
	assert_int_equal(err.line, 3);
	assert_non_null(strstr(err.msg, "malformed crontab line"));
	coll_set_release(&s);

	assert_int_equal(run(coll_cron_collect, data_dir("bad-user-cron", root, sizeof(root)), &s,
			     &err),
			 -EBADMSG);
	assert_string_equal(err.file, "/var/spool/cron/crontabs/bob");
	assert_int_equal(err.line, 2);
	assert_non_null(strstr(err.msg, "@"));
	coll_set_release(&s);
}

/* More malformed lines, hostile bytes, a key too long and a file too large. */
static void test_cron_hostile(void **state)
{
	static const char *const bad[] = {
		"* * * *\n",			/* four fields */
		"* * * * * root\n",		/* no command */
		"61x * * * * root x\n",		/* not a time */
		"*/ * * * * root x\n",		/* a step without a number */
		"@reboot\n",			/* nothing after */
		"1,,2 * * * * root x\n",
	};
	char dir[] = "/tmp/vigil-cron.XXXXXX";
	struct coll_set s;
	struct vg_error err;
	const struct coll_item *it = NULL;
	char *big;

	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[256];

		snprintf(text, sizeof(text), "# ok\nA=1\n%s", bad[i]);
		put(dir, "/etc/crontab", text);
		assert_int_equal(run(coll_cron_collect, dir, &s, &err), -EBADMSG);
		assert_string_equal(err.file, "/etc/crontab");
		assert_int_equal(err.line, 3);
		coll_set_release(&s);
	}

	/* a tab inside the command: escaped in the key, kept in the state */
	big = malloc(8192);
	assert_non_null(big);
	memcpy(big, "* * * * * root echo", 19);
	for (int i = 0; i < 1500; i++)
		memcpy(big + 19 + 3 * i, " ab", 3);
	memcpy(big + 19 + 4500, "\n0 1 * * * root printf 'a\tb'\n", 30);
	put(dir, "/etc/crontab", big);
	free(big);
	assert_int_equal(run(coll_cron_collect, dir, &s, &err), 0);
	assert_int_equal(s.n, 2);
	it = find(&s, "/etc/crontab: 0 1 * * * root printf 'a\\x09b'");
	assert_non_null(it);
	assert_string_equal(it->state,
			    "{\"command\":\"printf 'a\\\\x09b'\",\"file\":\"/etc/crontab\","
			    "\"schedule\":\"0 1 * * *\",\"user\":\"root\"}");
	/* the long line: a prefix of its key and a digest */
	for (size_t i = 0; i < s.n; i++) {
		if (&s.items[i] == it)
			continue;
		assert_true(strlen(s.items[i].key) < 4096);
		assert_int_equal(strncmp(s.items[i].key, "/etc/crontab: * * * * * root echo ab ab",
					 39), 0);
		assert_non_null(strstr(s.items[i].key, "... #"));
		assert_int_equal(strlen(strstr(s.items[i].key, "... #")), 5 + 16);
	}
	coll_set_release(&s);

	/* over the cap of a file */
	big = malloc(1100 * 1024);
	assert_non_null(big);
	memset(big, '#', 1100 * 1024 - 1);
	big[1100 * 1024 - 1] = '\0';
	put(dir, "/etc/crontab", big);
	free(big);
	assert_int_equal(run(coll_cron_collect, dir, &s, &err), -EFBIG);
	assert_string_equal(err.file, "/etc/crontab");
	coll_set_release(&s);
	rm_tree(dir);
}

static void test_cron_real(void **state)
{
	struct coll_set s;
	struct vg_error err;
	int r = run(coll_cron_collect, "", &s, &err);
	FILE *f;

	/* without privileges the users' crontabs cannot be read: that is a gap, said */
	if (r == -EACCES && geteuid() != 0) {
		assert_non_null(strstr(err.msg, "Permission denied"));
		coll_set_release(&s);
		skip();
	}
	if (r < 0)
		fail_msg("cron collection failed: %s:%u: %s", err.file, err.line, err.msg);
	f = fopen("/etc/crontab", "r");
	if (f) {
		char line[4096];
		bool job = false;

		while (fgets(line, sizeof(line), f))
			if (line[0] >= '0' && line[0] <= '9')
				job = true;
		fclose(f);
		for (size_t i = 0; job && i < s.n; i++)
			if (strncmp(s.items[i].key, "/etc/crontab: ", 14) == 0 &&
			    strstr(s.items[i].state, "\"file\":\"/etc/crontab\""))
				job = false;
		assert_false(job);
	}
	coll_set_release(&s);
}

/* ---- socket ---- */

static int listen_on(int family, int type, const char *addr, bool reuseport, unsigned *port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;
	int fd = socket(family, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&ss, 0, sizeof(ss));
	if (reuseport)
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)*port);
		assert_int_equal(inet_pton(AF_INET, addr, &a->sin_addr), 1);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)*port);
		assert_int_equal(inet_pton(AF_INET6, addr, &a->sin6_addr), 1);
		sl = sizeof(*a);
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 4) < 0)) {
		close(fd);
		return -1;
	}
	sl = sizeof(ss);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
					  ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static void self_state(char *out, size_t size)
{
	char exe[4096], comm[64] = "";
	ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f = fopen("/proc/self/comm", "r");

	assert_true(k > 0);
	exe[k] = '\0';
	assert_non_null(f);
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	snprintf(out, size, "{\"exe\":\"%s\",\"process\":\"%s\",\"uid\":%u}", exe, comm,
		 (unsigned)geteuid());
}

static void expect_state(const struct coll_set *s, const char *key, const char *want)
{
	const struct coll_item *it = find(s, key);

	if (!it)
		fail_msg("missing socket '%s'", key);
	assert_string_equal(it->state, want);
}

/* Sockets of this process, found by the kernel and given to this program. */
static void test_socket_live(void **state)
{
	unsigned tcp = 0, udp = 0, tcp6 = 0, udp6 = 0, conn = 0, bound = 0;
	int ft, fu, ft6, fu6, fc, fb;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct coll_set s;
	struct vg_error err;
	char key[128], want[4300];

	ft = listen_on(AF_INET, SOCK_STREAM, "127.0.0.1", false, &tcp);
	fu = listen_on(AF_INET, SOCK_DGRAM, "127.0.0.1", false, &udp);
	assert_true(ft >= 0 && fu >= 0);
	ft6 = listen_on(AF_INET6, SOCK_STREAM, "::1", false, &tcp6);
	fu6 = listen_on(AF_INET6, SOCK_DGRAM, "::1", false, &udp6);
	/* neither a connected UDP socket nor a bound TCP socket that does not listen */
	fc = listen_on(AF_INET, SOCK_DGRAM, "127.0.0.1", false, &conn);
	assert_true(fc >= 0);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fc, (struct sockaddr *)&to, sizeof(to)), 0);
	fb = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	{
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t al = sizeof(a);

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(fb, (struct sockaddr *)&a, sizeof(a)), 0);
		assert_int_equal(getsockname(fb, (struct sockaddr *)&a, &al), 0);
		bound = ntohs(a.sin_port);
	}

	assert_int_equal(run(coll_socket_collect, "", &s, &err), 0);
	self_state(want, sizeof(want));
	snprintf(key, sizeof(key), "tcp/127.0.0.1:%u", tcp);
	expect_state(&s, key, want);
	snprintf(key, sizeof(key), "udp/127.0.0.1:%u", udp);
	expect_state(&s, key, want);
	if (ft6 >= 0) {
		snprintf(key, sizeof(key), "tcp/[::1]:%u", tcp6);
		expect_state(&s, key, want);
	}
	if (fu6 >= 0) {
		snprintf(key, sizeof(key), "udp/[::1]:%u", udp6);
		expect_state(&s, key, want);
	}
	snprintf(key, sizeof(key), "udp/127.0.0.1:%u", conn);
	assert_null(find(&s, key));
	snprintf(key, sizeof(key), "tcp/127.0.0.1:%u", bound);
	assert_null(find(&s, key));
	for (size_t i = 0; i < s.n; i++)
		assert_true(strncmp(s.items[i].key, "tcp/", 4) == 0 ||
			    strncmp(s.items[i].key, "udp/", 4) == 0);
	coll_set_release(&s);
	close(ft);
	close(fu);
	close(fc);
	close(fb);
	if (ft6 >= 0)
		close(ft6);
	if (fu6 >= 0)
		close(fu6);
}

static unsigned long long inode_of(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return (unsigned long long)st.st_ino;
}

/*
 * Owners from a /proc tree of fixtures: a socket held by two processes goes to the lower
 * pid; two sockets on one address (SO_REUSEPORT) make one object, that of the lowest
 * owner; a socket no process in the tree holds has no owner.
 */
static void test_socket_owners(void **state)
{
	char dir[] = "/tmp/vigil-sock.XXXXXX";
	unsigned port = 0, udp = 0, lone = 0;
	int fa, fb, fc, fd;
	struct coll_set s;
	struct vg_error err;
	char key[128], want[256], target[64];

	fa = listen_on(AF_INET, SOCK_STREAM, "127.0.0.1", true, &port);
	assert_true(fa >= 0);
	fb = listen_on(AF_INET, SOCK_STREAM, "127.0.0.1", true, &port);
	assert_true(fb >= 0);
	fc = listen_on(AF_INET, SOCK_DGRAM, "127.0.0.1", false, &udp);
	fd = listen_on(AF_INET, SOCK_STREAM, "127.0.0.1", false, &lone);
	assert_true(fc >= 0 && fd >= 0);

	assert_non_null(mkdtemp(dir));
	snprintf(target, sizeof(target), "socket:[%llu]", inode_of(fa));
	lnk(dir, "/proc/300/fd/7", target);
	lnk(dir, "/proc/250/fd/9", target);
	snprintf(target, sizeof(target), "socket:[%llu]", inode_of(fb));
	lnk(dir, "/proc/200/fd/4", target);
	snprintf(target, sizeof(target), "socket:[%llu]", inode_of(fc));
	lnk(dir, "/proc/300/fd/8", target);
	lnk(dir, "/proc/250/fd/10", target);
	lnk(dir, "/proc/300/fd/0", "/dev/null");
	lnk(dir, "/proc/300/fd/1", "pipe:[12345]");
	lnk(dir, "/proc/300/fd/2", "socket:[x]");
	put(dir, "/proc/300/comm", "alpha\n");
	lnk(dir, "/proc/300/exe", "/usr/sbin/alpha");
	put(dir, "/proc/250/comm", "gamma\n");
	put(dir, "/proc/200/comm", "beta\n");
	lnk(dir, "/proc/200/exe", "/usr/sbin/beta");
	put(dir, "/proc/400/comm", "no-fds\n");
	lnk(dir, "/proc/self", "300");

	assert_int_equal(run(coll_socket_collect, dir, &s, &err), 0);
	snprintf(key, sizeof(key), "tcp/127.0.0.1:%u", port);
	snprintf(want, sizeof(want), "{\"exe\":\"/usr/sbin/beta\",\"process\":\"beta\",\"uid\":%u}",
		 (unsigned)geteuid());
	expect_state(&s, key, want);
	snprintf(key, sizeof(key), "udp/127.0.0.1:%u", udp);
	snprintf(want, sizeof(want), "{\"exe\":null,\"process\":\"gamma\",\"uid\":%u}",
		 (unsigned)geteuid());
	expect_state(&s, key, want);
	snprintf(key, sizeof(key), "tcp/127.0.0.1:%u", lone);
	snprintf(want, sizeof(want), "{\"exe\":null,\"process\":null,\"uid\":%u}",
		 (unsigned)geteuid());
	expect_state(&s, key, want);
	coll_set_release(&s);

	/* without a /proc: an error, named */
	rm_tree(dir);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
	assert_non_null(mkdtemp(dir));
	assert_true(run(coll_socket_collect, dir, &s, &err) < 0);
	assert_string_equal(err.file, "/proc");
	coll_set_release(&s);
	rm_tree(dir);
	close(fa);
	close(fb);
	close(fc);
	close(fd);
}

/* A socket bound to a device shows it after a '%'. */
static void test_socket_device(void **state)
{
	unsigned port = 0;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	struct coll_set s;
	struct vg_error err;
	char key[128];

	assert_true(fd >= 0);
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) < 0) {
		close(fd);
		skip();
	}
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	port = ntohs(a.sin_port);
	assert_int_equal(run(coll_socket_collect, "", &s, &err), 0);
	snprintf(key, sizeof(key), "udp/0.0.0.0%%lo:%u", port);
	assert_non_null(find(&s, key));
	coll_set_release(&s);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unit_fixture),
		cmocka_unit_test(test_unit_systemctl),
		cmocka_unit_test(test_unit_dropin_cap),
		cmocka_unit_test(test_unit_real),
		cmocka_unit_test(test_timer_fixture),
		cmocka_unit_test(test_timer_malformed),
		cmocka_unit_test(test_timer_value_cap),
		cmocka_unit_test(test_timer_real),
		cmocka_unit_test(test_cron_fixture),
		cmocka_unit_test(test_cron_malformed),
		cmocka_unit_test(test_cron_hostile),
		cmocka_unit_test(test_cron_real),
		cmocka_unit_test(test_socket_live),
		cmocka_unit_test(test_socket_owners),
		cmocka_unit_test(test_socket_device),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for store/: migrations, baseline round trips in key order, runs and changes. */
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
#include <unistd.h>
#include <sqlite3.h>
#include <cmocka.h>

#include "store/store.h"

static char dir[64];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/vigil-store-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void sample(struct object_state *s, int i)
{
	object_state_init(s);
	s->type = i % 3 == 0 ? OBJ_DIR : i % 3 == 1 ? OBJ_FILE : OBJ_SYMLINK;
	s->attrs = ATTR_MASK_DEFAULT | ATTR_BIT(ATTR_SHA512);
	s->mode = 0640 + (uint32_t)i;
	s->uid = 1000;
	s->gid = 1001;
	s->size = (uint64_t)i * 1000;
	s->ino = 77 + (uint64_t)i;
	s->dev = 0x803;
	s->nlink = 2;
	s->mtime_ns = 1795752672123456789LL + i;
	s->ctime_ns = -5;
	s->flags = 0x10;
	memset(s->sha256, i, SHA256_LEN);
	memset(s->sha512, 255 - i, SHA512_LEN);
	if (s->type == OBJ_SYMLINK) {
		s->target.p = (uint8_t *)strdup("t\x01\xff");
		s->target.n = 3;
	}
	s->acl = strdup("user::rw-,group::r--,other::---");
	s->owner = strdup("alice");
}

static void test_open_requires_init(void **state)
{
	struct store *s = NULL;
	struct vg_error err;
	char sub[128];

	snprintf(sub, sizeof(sub), "%s/none", dir);
	assert_int_equal(store_open(sub, 0, &s, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "cannot use the state directory"));
}

static void test_baseline_roundtrip_in_key_order(void **state)
{
	/* written in scrambled order; must come back in component order */
	static const char *const paths[] = { "/a.b", "/a/b", "/a", "/", "/a/b\nc", "/a\xff", "/a/b/c" };
	static const char *const order[] = { "/", "/a", "/a/b", "/a/b/c", "/a/b\nc", "/a.b", "/a\xff" };
	struct store *s = NULL;
	struct store_cursor *c = NULL;
	struct store_baseline_info info;
	struct vg_error err;
	int64_t host;
	int i = 0;

	assert_int_equal(store_open(dir, STORE_CREATE, &s, &err), 0);
	assert_int_equal(store_host(s, "ca1", &host), 0);
	assert_int_equal(store_baseline_info(s, host, &info), 0);
	assert_false(info.exists);
	assert_int_equal(store_baseline_begin(s, host), 0);
	assert_int_equal(store_baseline_info(s, host, &info), 0);
	assert_true(info.exists);
	assert_false(info.complete);
	for (size_t k = 0; k < ARRAY_SIZE(paths); k++) {
		struct object_state o;

		sample(&o, (int)k);
		assert_int_equal(store_baseline_put(s, host, paths[k], strlen(paths[k]), &o), 0);
		object_state_release(&o);
	}
	assert_int_equal(store_baseline_finish(s, host, 123), 0);
	assert_int_equal(store_baseline_info(s, host, &info), 0);
	assert_true(info.complete);
	assert_int_equal(info.objects, ARRAY_SIZE(paths));
	assert_int_equal(info.created_ns, 123);

	assert_int_equal(store_cursor_new(s, host, &c), 0);
	for (;;) {
		const char *p;
		size_t n;
		struct object_state *o, want;
		size_t k;
		int r = store_cursor_next(c, &p, &n, &o);

		assert_true(r >= 0);
		if (r == 0)
			break;
		assert_int_equal(n, strlen(order[i]));
		assert_memory_equal(p, order[i], n);
		for (k = 0; strcmp(paths[k], order[i]) != 0; k++)
			;
		sample(&want, (int)k);
		assert_int_equal(object_state_diff(&want, o, ATTR_MASK_ALL, false), 0);
		assert_string_equal(o->owner, "alice");
		object_state_release(&want);
		i++;
	}
	assert_int_equal(i, (int)ARRAY_SIZE(order));
	store_cursor_free(c);

	{
		struct object_state got;

		assert_int_equal(store_baseline_get(s, host, "/a/b", 4, &got), 1);
		assert_int_equal(got.ino, 78);
		object_state_release(&got);
		assert_int_equal(store_baseline_get(s, host, "/zz", 3, &got), 0);
	}
	store_close(s);
}

static void test_runs_and_changes(void **state)
{
	struct store *s = NULL;
	struct vg_error err;
	struct store_run run = { .uuid = "01a21b33-3b00-7000-8000-000000000001", .kind = "check",
				 .started_ns = 5 };
	int64_t host, id;
	sqlite3 *db;
	sqlite3_stmt *st;
	char path[128];

	assert_int_equal(store_open(dir, STORE_CREATE, &s, &err), 0);
	assert_int_equal(store_host(s, "ca1", &host), 0);
	assert_int_equal(store_run_begin(s, host, &run, &id), 0);
	assert_int_equal(store_change_add(s, id, host, "01a21b33-3b00-7000-8000-000000000002", "/x",
					  2, "modified", 3, 6, "check", "{}", "unauthorized", NULL),
			 0);
	run.finished_ns = 7;
	run.modified = 1;
	run.status = 4;
	assert_int_equal(store_run_finish(s, id, &run), 0);
	assert_int_equal(store_meta_set(s, "k", "v"), 0);
	{
		char *v = NULL;

		assert_int_equal(store_meta_get(s, "k", &v), 0);
		assert_string_equal(v, "v");
		free(v);
		assert_int_equal(store_meta_get(s, "missing", &v), -ENOENT);
	}
	store_close(s);

	/* what a standard SQLite client sees */
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT r.status, c.change, c.detected_ns FROM runs r"
						" JOIN changes c ON c.run_id = r.id",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 4);
	assert_string_equal((const char *)sqlite3_column_text(st, 1), "modified");
	assert_int_equal(sqlite3_column_int64(st, 2), 6);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_newer_schema_refused(void **state)
{
	struct store *s = NULL;
	struct vg_error err;
	sqlite3 *db;
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, STORE_DB_NAME);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(dir, 0, &s, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "newer than this vigil"));
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_not_a_database(void **state)
{
	char sub[128], path[160];
	struct store *s = NULL;
	struct vg_error err;
	int fd;

	snprintf(sub, sizeof(sub), "%s/bad", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/%s", sub, STORE_DB_NAME);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "this is not sqlite, just text padding it out........", 52), 52);
	close(fd);
	assert_true(store_open(sub, 0, &s, &err) < 0);
	assert_null(s);
	assert_true(strlen(err.msg) > 0);
}

static int collect(void *ud, const char *path, size_t len, const struct object_state *st)
{
	char *out = ud;

	strcat(out, path);
	strcat(out, st ? "+" : "-");
	strcat(out, ";");
	return 0;
}

/* The observed layer and key ranges: a subtree is its path and what is below it, never
 * a sibling whose name merely starts the same ("/a" is not "/ab"). */
static void test_observed_and_ranges(void **state)
{
	static const char *const paths[] = { "/a", "/a/x", "/a/x/y", "/a.b", "/ab", "/b" };
	struct store *s = NULL;
	struct store_cursor *c = NULL;
	struct object_state st, got;
	struct vg_error err;
	const char *p;
	size_t n;
	struct object_state *cs;
	char seen[512] = "", sub[128];
	int64_t host;

	snprintf(sub, sizeof(sub), "%s/observed", dir);
	assert_int_equal(store_open(sub, STORE_CREATE, &s, &err), 0);
	assert_int_equal(store_host(s, "h", &host), 0);
	assert_int_equal(store_baseline_begin(s, host), 0);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		sample(&st, (int)i);
		assert_int_equal(store_baseline_put(s, host, paths[i], strlen(paths[i]), &st), 0);
		object_state_release(&st);
	}
	assert_int_equal(store_baseline_finish(s, host, 1), 0);

	/* the cursor under /a: /a, /a/x, /a/x/y and nothing else, in key order */
	assert_int_equal(store_cursor_new_under(s, host, "/a", 2, &c), 0);
	for (int r; (r = store_cursor_next(c, &p, &n, &cs)) == 1;) {
		strcat(seen, p);
		strcat(seen, ";");
	}
	assert_string_equal(seen, "/a;/a/x;/a/x/y;");
	c = store_cursor_free(c);
	seen[0] = '\0';
	assert_int_equal(store_cursor_new_under(s, host, "/", 1, &c), 0);
	for (int r; (r = store_cursor_next(c, &p, &n, &cs)) == 1;) {
		strcat(seen, p);
		strcat(seen, ";");
	}
	assert_string_equal(seen, "/a;/a/x;/a/x/y;/a.b;/ab;/b;");
	c = store_cursor_free(c);

	/* nothing observed yet; then present, absent, dropped */
	assert_int_equal(store_observed_get(s, host, "/a/x", 4, &got), -ENOENT);
	sample(&st, 9);
	assert_int_equal(store_observed_put(s, host, "/a/x", 4, &st), 0);
	assert_int_equal(store_observed_put(s, host, "/ab", 3, NULL), 0);
	assert_int_equal(store_observed_put(s, host, "/a/new", 6, &st), 0);
	assert_int_equal(store_tx_commit(s), 0);
	assert_int_equal(store_observed_get(s, host, "/a/x", 4, &got), 1);
	assert_int_equal(object_state_diff(&st, &got, ATTR_MASK_ALL, false), 0);
	object_state_release(&got);
	assert_int_equal(store_observed_get(s, host, "/ab", 3, &got), 0);
	seen[0] = '\0';
	assert_int_equal(store_observed_each(s, host, "/a", 2, collect, seen), 0);
	assert_string_equal(seen, "/a/new+;/a/x+;");
	seen[0] = '\0';
	assert_int_equal(store_observed_each(s, host, NULL, 0, collect, seen), 0);
	assert_string_equal(seen, "/a/new+;/a/x+;/ab-;");
	assert_int_equal(store_observed_drop(s, host, "/a/x", 4), 0);
	assert_int_equal(store_tx_commit(s), 0);
	assert_int_equal(store_observed_get(s, host, "/a/x", 4, &got), -ENOENT);
	/* a new baseline forgets what was observed against the old one */
	assert_int_equal(store_baseline_begin(s, host), 0);
	assert_int_equal(store_baseline_finish(s, host, 2), 0);
	assert_int_equal(store_observed_get(s, host, "/a/new", 6, &got), -ENOENT);
	object_state_release(&st);
	store_close(s);
}

static void test_watch_runs_and_gaps(void **state)
{
	struct store *s = NULL;
	struct store_run run = { .kind = "watch", .started_ns = 10 };
	struct store_run_info info;
	struct vg_error err;
	uint64_t n = 0, serial;
	int64_t host, id;
	char sub[128];

	snprintf(sub, sizeof(sub), "%s/watch", dir);
	assert_int_equal(store_open(sub, STORE_CREATE, &s, &err), 0);
	assert_int_equal(store_host(s, "h", &host), 0);
	snprintf(run.uuid, sizeof(run.uuid), "01a21b33-3b00-7000-8000-0000000000aa");
	serial = store_tx_serial(s);
	assert_int_equal(store_run_begin(s, host, &run, &id), 0);
	assert_true(store_tx_serial(s) > serial);
	assert_int_equal(store_tx_commit(s), 0);
	/* a daemon killed: its run never ended; the next one closes it as unclean */
	assert_int_equal(store_run_last(s, host, "watch", -1, &info), 0);
	assert_int_equal(store_run_close_unfinished(s, host, "watch", 99, 137, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_tx_commit(s), 0);
	assert_int_equal(store_run_last(s, host, "watch", -1, &info), 1);
	assert_int_equal(info.status, 137);
	assert_int_equal(info.finished_ns, 99);
	assert_int_equal(store_gap_add(s, host, "01a21b33-3b00-7000-8000-0000000000ab", 5, "overflow",
				       "/", NULL),
			 0);
	assert_int_equal(store_gap_add(s, host, "01a21b33-3b00-7000-8000-0000000000ac", 6, "resolve",
				       "/srv", "why"),
			 0);
	assert_int_equal(store_tx_commit(s), 0);
	assert_int_equal(store_gap_count(s, host, NULL, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_gap_count(s, host, "overflow", &n), 0);
	assert_int_equal(n, 1);
	store_close(s);
	/* read-only: the host is found, not created */
	assert_int_equal(store_open(sub, STORE_READONLY, &s, &err), 0);
	assert_int_equal(store_host(s, "h", &id), 0);
	assert_int_equal(id, host);
	assert_int_equal(store_host(s, "other", &id), -ENOENT);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_requires_init),
		cmocka_unit_test(test_baseline_roundtrip_in_key_order),
		cmocka_unit_test(test_runs_and_changes),
		cmocka_unit_test(test_newer_schema_refused),
		cmocka_unit_test(test_not_a_database),
		cmocka_unit_test(test_observed_and_ranges),
		cmocka_unit_test(test_watch_runs_and_gaps),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

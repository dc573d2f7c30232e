/* Unit tests for scan/: careful file reads, attribute decoding, and the ordered walk. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cmocka.h>

#include "crypto/hash.h"
#include "scan/scan-attr.h"
#include "scan/scan-file.h"
#include "scan/scan.h"

static char tmpdir[64];
static int dfd = -1;

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vigil-scan-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	dfd = open(tmpdir, O_RDONLY | O_DIRECTORY);
	return hash_global_init() < 0 || dfd < 0 ? -1 : 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	close(dfd);
	return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *name, const void *p, size_t n)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static void lstat_state(const char *name, struct object_state *s)
{
	struct stat st;

	assert_int_equal(fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW), 0);
	object_state_init(s);
	object_state_from_stat(s, &st);
	s->attrs = ATTR_MASK_DEFAULT & ~(ATTR_MASK_HASHES | ATTR_MASK_EXTRA | ATTR_BIT(ATTR_TARGET));
}

static void hex_is(const uint8_t *h, const char *want)
{
	char hex[65];

	hex_encode(h, 32, hex);
	assert_string_equal(hex, want);
}

static void test_read_known_answer(void **state)
{
	struct scan_reader rd;
	struct object_state s;

	write_file("hello", "hello\n", 6);
	lstat_state("hello", &s);
	assert_int_equal(scan_reader_init(&rd, 3, NULL), 0);
	assert_int_equal(scan_read_file(&rd, dfd, "hello", "hello", ATTR_MASK_DEFAULT | ATTR_BIT(ATTR_SHA512),
					NULL, false, &s),
			 0);
	assert_false(s.unstable);
	assert_true(s.attrs & ATTR_BIT(ATTR_SHA256));
	hex_is(s.sha256, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
	assert_int_equal(s.sha512[0], 0xe7); /* sha512("hello\n") = e7c22b99... */
	object_state_release(&s);
	scan_reader_release(&rd);
}

struct mod_hook {
	const char *name;
	int times;	/* how many reads to disturb */
	int calls;
};

static void append_during_read(void *ud, const char *path, uint64_t off)
{
	struct mod_hook *h = ud;
	int fd;

	if (h->calls++ >= h->times || off < SCAN_READ_BUF)
		return;
	fd = openat(dfd, h->name, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "more", 4), 4);
	close(fd);
}

static void test_modified_while_hashed(void **state)
{
	size_t n = 4 * SCAN_READ_BUF;
	char *big = calloc(1, n);
	struct mod_hook h = { .name = "big", .times = 1000 };
	struct scan_hooks hooks = { .after_chunk = append_during_read, .ud = &h };
	struct scan_reader rd;
	struct object_state s;

	write_file("big", big, n);
	lstat_state("big", &s);
	assert_int_equal(scan_reader_init(&rd, 3, &hooks), 0);
	/* disturbed on every attempt: reported unstable */
	assert_int_equal(scan_read_file(&rd, dfd, "big", "big", ATTR_MASK_DEFAULT, NULL, false, &s), 0);
	assert_true(s.unstable);
	object_state_release(&s);
	/* disturbed once: the retry reads a consistent file */
	write_file("big", big, n);
	lstat_state("big", &s);
	h.calls = 0;
	h.times = 1;
	assert_int_equal(scan_read_file(&rd, dfd, "big", "big", ATTR_MASK_DEFAULT, NULL, false, &s), 0);
	assert_false(s.unstable);
	assert_int_equal(s.size, n + 4);
	object_state_release(&s);
	scan_reader_release(&rd);
	free(big);
}

static void swap_to_symlink(void *ud, const char *path)
{
	unlinkat(dfd, "victim", 0);
	assert_int_equal(symlinkat("/etc/shadow", dfd, "victim"), 0);
}

static void swap_to_fifo(void *ud, const char *path)
{
	unlinkat(dfd, "victim", 0);
	assert_int_equal(mkfifoat(dfd, "victim", 0600), 0);
}

static void test_swapped_before_open(void **state)
{
	struct scan_hooks hooks = { .before_open = swap_to_symlink };
	struct scan_reader rd;
	struct object_state s;

	write_file("victim", "data", 4);
	lstat_state("victim", &s);
	assert_int_equal(scan_reader_init(&rd, 3, &hooks), 0);
	assert_int_equal(scan_read_file(&rd, dfd, "victim", "victim", ATTR_MASK_DEFAULT, NULL, false, &s),
			 0);
	/* the symlink is described, never followed */
	assert_int_equal(s.type, OBJ_SYMLINK);
	assert_int_equal(s.target.n, 11);
	assert_memory_equal(s.target.p, "/etc/shadow", 11);
	assert_false(s.attrs & ATTR_BIT(ATTR_SHA256));
	object_state_release(&s);
	scan_reader_release(&rd);

	hooks.before_open = swap_to_fifo;
	unlinkat(dfd, "victim", 0);
	write_file("victim", "data", 4);
	lstat_state("victim", &s);
	assert_int_equal(scan_reader_init(&rd, 3, &hooks), 0);
	/* a FIFO is never opened for reading: this would block forever otherwise */
	assert_int_equal(scan_read_file(&rd, dfd, "victim", "victim", ATTR_MASK_DEFAULT, NULL, false, &s),
			 0);
	assert_int_equal(s.type, OBJ_FIFO);
	object_state_release(&s);
	scan_reader_release(&rd);
	unlinkat(dfd, "victim", 0);
}

static void test_vanished(void **state)
{
	struct scan_reader rd;
	struct object_state s;

	write_file("gone", "x", 1);
	lstat_state("gone", &s);
	unlinkat(dfd, "gone", 0);
	assert_int_equal(scan_reader_init(&rd, 3, NULL), 0);
	assert_int_equal(scan_read_file(&rd, dfd, "gone", "gone", ATTR_MASK_DEFAULT, NULL, false, &s),
			 -ENOENT);
	object_state_release(&s);
	scan_reader_release(&rd);
}

static void test_sparse_equals_dense(void **state)
{
	size_t n = 8u * 1024 * 1024;
	char *dense = calloc(1, n);
	struct scan_reader rd;
	struct object_state a, b;
	int fd;

	memcpy(dense + 3 * 1024 * 1024 + 17, "island", 6);
	memcpy(dense + n - 5, "tail!", 5);
	write_file("dense", dense, n);
	fd = openat(dfd, "sparse", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)n), 0);
	assert_int_equal(pwrite(fd, "island", 6, 3 * 1024 * 1024 + 17), 6);
	assert_int_equal(pwrite(fd, "tail!", 5, (off_t)n - 5), 5);
	close(fd);
	assert_int_equal(scan_reader_init(&rd, 3, NULL), 0);
	lstat_state("dense", &a);
	lstat_state("sparse", &b);
	assert_int_equal(scan_read_file(&rd, dfd, "dense", "dense", ATTR_MASK_DEFAULT, NULL, false, &a), 0);
	assert_int_equal(scan_read_file(&rd, dfd, "sparse", "sparse", ATTR_MASK_DEFAULT, NULL, false, &b), 0);
	assert_memory_equal(a.sha256, b.sha256, SHA256_LEN);
	object_state_release(&a);
	object_state_release(&b);
	scan_reader_release(&rd);
	free(dense);
}

static void test_growing_prefix(void **state)
{
	struct scan_reader rd;
	struct object_state base, cur;

	write_file("log", "line1\n", 6);
	assert_int_equal(scan_reader_init(&rd, 3, NULL), 0);
	lstat_state("log", &base);
	assert_int_equal(scan_read_file(&rd, dfd, "log", "log", ATTR_MASK_DEFAULT, NULL, true, &base), 0);
	write_file("log", "line1\nline2\n", 12);
	lstat_state("log", &cur);
	assert_int_equal(scan_read_file(&rd, dfd, "log", "log", ATTR_MASK_DEFAULT, &base, true, &cur), 0);
	assert_true(cur.prefix_match);
	assert_int_equal(object_state_diff(&base, &cur, ATTR_MASK_DEFAULT & ~ATTR_BIT(ATTR_INODE), true), 0);
	object_state_release(&cur);
	write_file("log", "LINE1\nline2\n", 12);
	lstat_state("log", &cur);
	assert_int_equal(scan_read_file(&rd, dfd, "log", "log", ATTR_MASK_DEFAULT, &base, true, &cur), 0);
	assert_false(cur.prefix_match);
	assert_true(object_state_diff(&base, &cur, ATTR_MASK_DEFAULT, true) & ATTR_BIT(ATTR_SHA256));
	object_state_release(&cur);
	object_state_release(&base);
	scan_reader_release(&rd);
}

static void test_acl_and_caps_decoding(void **state)
{
	/* version 2; user::rw-, user:1000:r--, group::r--, mask::r--, other::--- */
	const uint8_t acl[] = {
		2, 0, 0, 0,
		0x01, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,
		0x02, 0, 4, 0, 0xe8, 0x03, 0, 0,
		0x04, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
		0x10, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
		0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
	};
	/* VFS_CAP_REVISION_2 | effective; permitted = cap_net_bind_service (10) + cap_net_raw (13) */
	const uint8_t caps[] = {
		0x01, 0, 0, 0x02, 0x00, 0x24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(scan_acl_to_text(acl, sizeof(acl), "", &b), 0);
	assert_string_equal(buf_str(&b), "user::rw-,user:1000:r--,group::r--,mask::r--,other::---");
	buf_reset(&b);
	assert_int_equal(scan_acl_to_text(acl, 7, "", &b), -EINVAL);
	buf_reset(&b);
	assert_int_equal(scan_caps_to_text(caps, sizeof(caps), &b), 0);
	assert_string_equal(buf_str(&b), "cap_net_bind_service,cap_net_raw=ep");
	buf_reset(&b);
	assert_int_equal(scan_caps_to_text(caps, 5, &b), -EINVAL);
	buf_release(&b);
}

static void test_xattrs_read(void **state)
{
	struct object_state s;
	int fd;

	write_file("x", "x", 1);
	fd = openat(dfd, "x", O_RDONLY);
	assert_true(fd >= 0);
	if (fsetxattr(fd, "user.b", "2", 1, 0) < 0 || fsetxattr(fd, "user.a", "one\n", 4, 0) < 0) {
		close(fd);
		skip(); /* the file system of /tmp has no user xattrs */
	}
	object_state_init(&s);
	assert_int_equal(scan_attr_read(fd, NULL, ATTR_MASK_EXTRA, &s), 0);
	close(fd);
	assert_true(s.attrs & ATTR_BIT(ATTR_XATTRS));
	{
		struct buf b;

		buf_init(&b, 0);
		assert_int_equal(object_attr_format(&b, &s, ATTR_XATTRS), 0);
		assert_string_equal(buf_str(&b), "user.a=one\\x0a, user.b=2");
		buf_release(&b);
	}
	object_state_release(&s);
}

/* ---- the walk ---- */

struct collected {
	char paths[64][256];
	bool cur[64], base[64];
	int n;
};

static int collect(void *ud, struct scan_item *it)
{
	struct collected *c = ud;

	assert_true(c->n < 64);
	snprintf(c->paths[c->n], sizeof(c->paths[0]), "%s", it->path + strlen(tmpdir));
	c->cur[c->n] = it->has_cur;
	c->base[c->n] = it->has_base;
	c->n++;
	return 0;
}

struct fake_base {
	const char *paths[8];
	int i, n;
	struct object_state s;
	char buf[256];
};

static int fake_next(void *ud, const char **p, size_t *n, struct object_state **s)
{
	struct fake_base *f = ud;

	if (f->i == f->n)
		return 0;
	snprintf(f->buf, sizeof(f->buf), "%s%s", tmpdir, f->paths[f->i++]);
	object_state_release(&f->s);
	f->s.type = OBJ_FILE;
	f->s.attrs = ATTR_MASK_DEFAULT;
	*p = f->buf;
	*n = strlen(f->buf);
	*s = &f->s;
	return 1;
}

static void test_walk_order_and_merge(void **state)
{
	char text[256];
	struct ruleset rs;
	struct policy p;
	struct vg_error err;
	struct collected c = { 0 };
	struct fake_base fb = { .paths = { "/w/a/gone", "/w/a.b", "/w/zz" }, .n = 3 };
	struct scan_baseline bl = { .next = fake_next, .ud = &fb };
	struct scan_opts o = { .workers = 2, .hash_attempts = 3 };
	static const char *const want[] = { "/w", "/w/a", "/w/a/b", "/w/a/gone", "/w/a.b",
					    "/w/a.c", "/w/zz" };

	assert_int_equal(mkdirat(dfd, "w", 0755), 0);
	assert_int_equal(mkdirat(dfd, "w/a", 0755), 0);
	write_file("w/a/b", "1", 1);
	write_file("w/a.b", "2", 1);
	write_file("w/a.c", "3", 1);
	snprintf(text, sizeof(text), "%s/w/**\n", tmpdir);
	ruleset_init(&rs);
	assert_int_equal(ruleset_parse_text(&rs, "t.rules", text, strlen(text), &err), 0);
	assert_int_equal(policy_compile(&rs, &p), 0);
	o.policy = &p;
	o.baseline = &bl;
	assert_int_equal(scan_run(&o, collect, &c, NULL), 0);
	assert_int_equal(c.n, (int)ARRAY_SIZE(want));
	for (int i = 0; i < c.n; i++)
		assert_string_equal(c.paths[i], want[i]);
	assert_true(c.cur[4] && c.base[4]);	/* a.b: both */
	assert_true(!c.cur[3] && c.base[3]);	/* a/gone: baseline only */
	assert_true(c.cur[5] && !c.base[5]);	/* a.c: new */
	object_state_release(&fb.s);
	policy_release(&p);
	ruleset_release(&rs);
}

static int stop_early(void *ud, struct scan_item *it)
{
	int *n = ud;

	return ++*n == 3 ? -ECANCELED : 0;
}

static void test_walk_stops_on_emit_error(void **state)
{
	char text[256];
	struct ruleset rs;
	struct policy p;
	struct vg_error err;
	struct scan_opts o = { .workers = 1, .hash_attempts = 3 };
	int n = 0;

	assert_int_equal(mkdirat(dfd, "many", 0755), 0);
	for (int i = 0; i < 300; i++) {
		char name[32];

		snprintf(name, sizeof(name), "many/f%d", i);
		write_file(name, "x", 1);
	}
	snprintf(text, sizeof(text), "%s/many/**\n", tmpdir);
	ruleset_init(&rs);
	assert_int_equal(ruleset_parse_text(&rs, "t.rules", text, strlen(text), &err), 0);
	assert_int_equal(policy_compile(&rs, &p), 0);
	o.policy = &p;
	assert_int_equal(scan_run(&o, stop_early, &n, NULL), -ECANCELED);
	assert_int_equal(n, 3);
	policy_release(&p);
	ruleset_release(&rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_known_answer),
		cmocka_unit_test(test_modified_while_hashed),
		cmocka_unit_test(test_swapped_before_open),
		cmocka_unit_test(test_vanished),
		cmocka_unit_test(test_sparse_equals_dense),
		cmocka_unit_test(test_growing_prefix),
		cmocka_unit_test(test_acl_and_caps_decoding),
		cmocka_unit_test(test_xattrs_read),
		cmocka_unit_test(test_walk_order_and_merge),
		cmocka_unit_test(test_walk_stops_on_emit_error),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

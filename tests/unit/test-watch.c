/* Unit tests for watch/: coalescing (when an object settles) and reading an actor. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "watch/actor.h"
#include "watch/coalesce.h"

#define MS 1000000LL

static size_t take(struct coalesce *c, int64_t now, struct pending_obj **out, int64_t *next)
{
	return coalesce_take(c, now, out, 16, next);
}

static void test_coalesce_settle(void **state)
{
	struct coalesce *c;
	struct pending_obj *out[16];
	int64_t next;

	assert_int_equal(coalesce_new(20 * MS, 1000 * MS, 3, &c), 0);
	/* a write, then more writes: nothing settles while they keep coming */
	assert_int_equal(coalesce_add(c, "/a", 2, WEV_CREATE | WEV_MODIFY, false, NULL, 0, 1), 0);
	assert_int_equal(coalesce_add(c, "/a", 2, WEV_MODIFY, false, NULL, 10 * MS, 2), 0);
	assert_int_equal(take(c, 25 * MS, out, &next), 0);
	assert_int_equal(next, 30 * MS);
	/* closing the write settles it after the short grace, with every event kept */
	assert_int_equal(coalesce_add(c, "/a", 2, WEV_CLOSE_WRITE, false, NULL, 26 * MS, 3), 0);
	assert_int_equal(take(c, 27 * MS, out, &next), 0);
	assert_int_equal(take(c, 31 * MS, out, &next), 1);
	assert_string_equal(out[0]->path, "/a");
	assert_int_equal(out[0]->mask, WEV_CREATE | WEV_MODIFY | WEV_CLOSE_WRITE);
	assert_int_equal(out[0]->first_real_ns, 1);
	pending_obj_free(out[0]);
	assert_int_equal(coalesce_count(c), 0);
	/* a modification after the close re-opens the wait */
	assert_int_equal(coalesce_add(c, "/b", 2, WEV_CLOSE_WRITE, false, NULL, 100 * MS, 4), 0);
	assert_int_equal(coalesce_add(c, "/b", 2, WEV_MODIFY, false, NULL, 101 * MS, 5), 0);
	assert_int_equal(take(c, 110 * MS, out, &next), 0);
	assert_int_equal(take(c, 121 * MS, out, &next), 1);
	pending_obj_free(out[0]);
	/* a file written without pause is read at the latest max_delay after its first event */
	for (int64_t t = 200; t <= 1300; t += 10)
		assert_true(coalesce_add(c, "/log", 4, WEV_MODIFY, false, NULL, t * MS, t) >= 0);
	assert_int_equal(take(c, 1199 * MS, out, &next), 0);
	assert_int_equal(take(c, 1200 * MS, out, &next), 1);
	pending_obj_free(out[0]);
	/* the table is bounded */
	assert_int_equal(coalesce_add(c, "/1", 2, WEV_ATTRIB, false, NULL, 2000 * MS, 0), 0);
	assert_int_equal(coalesce_add(c, "/2", 2, WEV_ATTRIB, false, NULL, 2000 * MS, 0), 0);
	assert_int_equal(coalesce_add(c, "/3", 2, WEV_ATTRIB, false, NULL, 2000 * MS, 0), 0);
	assert_int_equal(coalesce_add(c, "/4", 2, WEV_ATTRIB, false, NULL, 2000 * MS, 0), -ENOSPC);
	/* an object already waiting still takes events when the table is full */
	assert_int_equal(coalesce_add(c, "/3", 2, WEV_DELETE, true, NULL, 2001 * MS, 0), 0);
	/* oldest first */
	assert_int_equal(take(c, 3000 * MS, out, &next), 3);
	assert_string_equal(out[0]->path, "/1");
	assert_string_equal(out[2]->path, "/3");
	assert_true(out[2]->subtree);
	assert_int_equal(next, INT64_MAX);
	for (int i = 0; i < 3; i++)
		pending_obj_free(out[i]);
	assert_int_equal(coalesce_add(c, "/5", 2, WEV_ATTRIB, false, NULL, 0, 0), 0);
	assert_int_equal(coalesce_clear(c), 1);
	coalesce_free(c);
}

static void test_coalesce_actor(void **state)
{
	struct coalesce *c;
	struct pending_obj *out[16];
	struct actor a = { .pid = 7 }, b = { .pid = 8 };
	int64_t next;

	a.exe = strdup("/usr/bin/first");
	b.exe = strdup("/usr/bin/second");
	assert_int_equal(coalesce_new(0, 1000 * MS, 16, &c), 0);
	assert_int_equal(coalesce_add(c, "/x", 2, WEV_ATTRIB, false, &a, 0, 0), 1);
	assert_int_equal(coalesce_add(c, "/x", 2, WEV_ATTRIB, false, &b, 0, 0), 1);
	actor_release(&a);
	actor_release(&b);
	assert_int_equal(take(c, 0, out, &next), 1);
	/* a copy of the latest actor, independent of the caller's */
	assert_true(out[0]->has_actor);
	assert_string_equal(out[0]->actor.exe, "/usr/bin/second");
	pending_obj_free(out[0]);
	coalesce_free(c);
}

static void test_actor_read(void **state)
{
	struct actor a;
	struct buf p, u;
	pid_t child;
	int st;

	assert_int_equal(actor_read(getpid(), &a), 0);
	assert_false(a.gone);
	assert_non_null(a.exe);
	assert_non_null(strstr(a.exe, "test-watch"));
	assert_true(a.argc >= 1);
	assert_int_equal(a.uid, getuid());
	assert_int_equal(a.ppid, getppid());
	buf_init(&p, 0);
	buf_init(&u, 0);
	assert_int_equal(actor_json(&a, &p, &u), 0);
	assert_non_null(strstr(buf_str(&p), "\"executable\":"));
	actor_release(&a);

	/* a process that exited but is not reaped: its name and ids, no executable */
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	usleep(100 * 1000);
	assert_int_equal(actor_read(child, &a), 0);
	assert_false(a.gone);
	assert_true(a.exited);
	assert_null(a.exe);
	assert_string_equal(a.name, "test-watch");
	actor_release(&a);
	/* reaped: gone, and nothing made up */
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_int_equal(actor_read(child, &a), 0);
	assert_true(a.gone);
	assert_null(a.exe);
	assert_null(a.cmdline);
	assert_int_equal(actor_json(&a, &p, &u), 0);
	assert_non_null(strstr(buf_str(&p), "\"gone\":true"));
	assert_null(strstr(buf_str(&p), "executable"));
	assert_string_equal(buf_str(&u), "{}");
	actor_release(&a);
	buf_release(&p);
	buf_release(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_coalesce_settle),
		cmocka_unit_test(test_coalesce_actor),
		cmocka_unit_test(test_actor_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

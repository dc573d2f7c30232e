/* Unit tests for collect/collect.c: the item set and the table of collectors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "collect/collect.h"

static void test_set_canonical(void **state)
{
	struct coll_set s = { 0 };

	assert_int_equal(coll_set_add(&s, "b", "{ \"z\": 1, \"a\": [\"x\", 2] }", NULL), 0);
	assert_int_equal(coll_set_add(&s, "a", "{}", "text\n"), 0);
	assert_string_equal(s.items[0].state, "{\"a\":[\"x\",2],\"z\":1}");
	assert_null(s.items[0].text);
	coll_set_sort(&s);
	assert_string_equal(s.items[0].key, "a");
	assert_string_equal(s.items[0].text, "text\n");
	assert_string_equal(s.items[1].key, "b");
	coll_set_release(&s);
	assert_int_equal(s.n, 0);
}

static void test_set_refuses(void **state)
{
	struct coll_set s = { 0 };
	char *big;

	assert_int_equal(coll_set_add(&s, "", "{}", NULL), -EINVAL);
	assert_int_equal(coll_set_add(&s, "a\nb", "{}", NULL), -EINVAL);
	assert_int_equal(coll_set_add(&s, "k", "[1]", NULL), -EINVAL);
	assert_int_equal(coll_set_add(&s, "k", "{\"a\":1,\"a\":2}", NULL), -EINVAL);
	assert_int_equal(coll_set_add(&s, "k", "{\"a\":1.5}", NULL), -EINVAL);
	assert_int_equal(coll_set_add(&s, "k", "{}", NULL), 0);
	assert_int_equal(coll_set_add(&s, "k", "{}", NULL), -EEXIST);
	big = malloc(COLL_TEXT_MAX + 2);
	assert_non_null(big);
	memset(big, 'x', COLL_TEXT_MAX + 1);
	big[COLL_TEXT_MAX + 1] = '\0';
	assert_int_equal(coll_set_add(&s, "t", "{}", big), -E2BIG);
	free(big);
	assert_int_equal(s.n, 1);
	coll_set_release(&s);
}

static void test_table(void **state)
{
	static const char *const kinds[] = { "package", "repo",	  "user",     "group",
					     "sudo",	"module", "sysctl",   "socket",
					     "unit",	"timer",  "cron",     "firewall",
					     "mount",	"kernel", "certificate", "exec" };

	assert_int_equal(coll_table_n, sizeof(kinds) / sizeof(kinds[0]));
	for (size_t i = 0; i < coll_table_n; i++) {
		const struct collector *c = collector_find(kinds[i], strlen(kinds[i]));

		assert_non_null(c);
		assert_string_equal(c->kind, kinds[i]);
		assert_non_null(c->collect);
	}
	assert_null(collector_find("file", 4));
	assert_null(collector_find("use", 3));
}

static void test_read_under_root(void **state)
{
	char dir[] = "/tmp/vigil-coll.XXXXXX";
	char path[4200], *data = NULL;
	struct coll_opts o = { .root = dir };
	size_t n = 0;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("hello\n", f);
	fclose(f);
	assert_int_equal(coll_read(&o, "/x", 1024, &data, &n), 0);
	assert_string_equal(data, "hello\n");
	assert_int_equal(n, 6);
	free(data);
	assert_int_equal(coll_read(&o, "/missing", 1024, &data, &n), -ENOENT);
	unlink(path);
	rmdir(dir);
}

/* An exec's output as text: valid UTF-8 kept, controls and malformed bytes as \xHH. */
static void test_exec_text(void **state)
{
	static char *const argv[] = {
		(char *)"/usr/bin/printf",
		(char *)"ok \\303\\251 \\342\\202\\254 bad \\377 \\300\\257 c1 \\302\\205 bell \\a tab\\tend\\n",
		NULL,
	};
	struct coll_exec x = { .name = "bytes", .argv = argv };
	struct coll_opts o = { .execs = &x, .n_execs = 1 };
	struct coll_set set = { 0 };
	struct vg_error err;

	(void)state;
	if (access(argv[0], X_OK) != 0)
		skip();
	assert_int_equal(coll_exec_collect(&o, &set, &err), 0);
	assert_int_equal(set.n, 1);
	assert_non_null(set.items[0].text);
	assert_string_equal(set.items[0].text,
			    "ok \xc3\xa9 \xe2\x82\xac bad \\xff \\xc0\\xaf c1 \\xc2\\x85 bell \\x07 "
			    "tab\tend\n");
	coll_set_release(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_canonical),
		cmocka_unit_test(test_set_refuses),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_read_under_root),
		cmocka_unit_test(test_exec_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

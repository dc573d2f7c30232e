/* Unit tests for policy/: wildcard matching, precedence, roots, incremental evaluation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy/policy.h"

struct fixture {
	struct ruleset rs;
	struct policy p;
};

static void load(struct fixture *f, const char *text)
{
	struct vg_error err;

	ruleset_init(&f->rs);
	if (ruleset_parse_text(&f->rs, "t.rules", text, strlen(text), &err) < 0)
		fail_msg("rules: %u:%u: %s", err.line, err.col, err.msg);
	assert_int_equal(policy_compile(&f->rs, &f->p), 0);
}

static void unload(struct fixture *f)
{
	policy_release(&f->p);
	ruleset_release(&f->rs);
}

static bool m(const char *pat, const char *path)
{
	struct fixture f;
	bool r;

	load(&f, pat);
	r = pattern_match(&f.rs.rules[0].pat, (const uint8_t *)path, strlen(path));
	unload(&f);
	return r;
}

static void test_match(void **state)
{
	assert_true(m("/etc/passwd", "/etc/passwd"));
	assert_false(m("/etc/passwd", "/etc/passwd-"));
	assert_true(m("/etc/*.conf", "/etc/a.conf"));
	assert_true(m("/etc/*.conf", "/etc/.conf"));
	assert_false(m("/etc/*.conf", "/etc/x/a.conf"));
	assert_true(m("/etc/?", "/etc/x"));
	assert_false(m("/etc/?", "/etc/xy"));
	assert_true(m("/srv/app/**", "/srv/app"));
	assert_true(m("/srv/app/**", "/srv/app/a/b/c"));
	assert_false(m("/srv/app/**", "/srv/apple"));
	assert_true(m("/a/**/z", "/a/z"));
	assert_true(m("/a/**/z", "/a/b/c/z"));
	assert_false(m("/a/**/z", "/a/b/cz"));
	assert_true(m("/**", "/"));
	assert_true(m("/**", "/anything/at/all"));
	assert_true(m("/home/*/.ssh/**", "/home/alice/.ssh/authorized_keys"));
	assert_false(m("/home/*/.ssh/**", "/home/alice/x/.ssh/k"));
	assert_true(m("/a\\*b", "/a*b"));
	assert_false(m("/a\\*b", "/axb"));
}

static bool below(const char *pat, const char *dir)
{
	struct fixture f;
	bool r;

	load(&f, pat);
	r = pattern_may_match_below(&f.rs.rules[0].pat, (const uint8_t *)dir, strlen(dir));
	unload(&f);
	return r;
}

static void test_may_match_below(void **state)
{
	assert_true(below("/etc/ssh/**", "/"));
	assert_true(below("/etc/ssh/**", "/etc"));
	assert_true(below("/etc/ssh/**", "/etc/ssh"));
	assert_true(below("/etc/ssh/**", "/etc/ssh/x"));
	assert_false(below("/etc/ssh/**", "/usr"));
	assert_false(below("/etc/ssh", "/etc/ssh"));
	assert_true(below("/etc/*.conf", "/etc"));
	assert_false(below("/etc/*.conf", "/etc/foo"));
	assert_true(below("/home/*/.ssh/**", "/home/bob"));
	assert_false(below("/home/*/.ssh/**", "/home/bob/.config"));
	assert_true(below("/a/**/z", "/a/b/c"));
}

static const char *decide(struct fixture *f, const char *path)
{
	const struct rule *r = policy_decide(&f->p, path, strlen(path));

	if (!r)
		return "none";
	return r->kind == RULE_SELECT ? r->text : "excluded";
}

static void test_precedence(void **state)
{
	struct fixture f;

	load(&f, "/srv/app/**\n"
		 "!/srv/app/cache/**\n"
		 "/srv/app/cache/keep\n"
		 "=/srv/app perms\n"
		 "/srv/app/*.log growing\n"
		 "!/srv/app/*.tmp\n"
		 "/srv/app/keep.tmp\n");
	assert_string_equal(decide(&f, "/srv/app"), "/srv/app");
	assert_true(policy_decide(&f.p, "/srv/app", 8)->exact);
	assert_string_equal(decide(&f, "/srv/app/x"), "/srv/app/**");
	assert_string_equal(decide(&f, "/srv/app/cache"), "excluded");
	assert_string_equal(decide(&f, "/srv/app/cache/y/z"), "excluded");
	assert_string_equal(decide(&f, "/srv/app/cache/keep"), "/srv/app/cache/keep");
	assert_string_equal(decide(&f, "/srv/app/cache/keep/below"), "/srv/app/cache/keep");
	assert_string_equal(decide(&f, "/srv/app/a.log"), "/srv/app/*.log");
	assert_string_equal(decide(&f, "/srv/app/a.tmp"), "excluded");
	assert_string_equal(decide(&f, "/srv/app/keep.tmp"), "/srv/app/keep.tmp");
	assert_string_equal(decide(&f, "/srv"), "none");
	assert_string_equal(decide(&f, "/srv/apple"), "none");
	unload(&f);
}

static void test_roots(void **state)
{
	struct fixture f;

	load(&f, "/etc/**\n/etc/ssh/**\n/usr/bin/**\n/etc/*.conf\n/home/*/.ssh/**\n"
		 "/var/log/app.log growing\n!/proc/**\n/a.b/**\n/a/b/**\n");
	assert_int_equal(f.p.n_roots, 6);
	/* component order: "/a" and its subtree before "/a.b" */
	assert_string_equal(f.p.roots[0], "/a/b");
	assert_string_equal(f.p.roots[1], "/a.b");
	assert_string_equal(f.p.roots[2], "/etc");
	assert_string_equal(f.p.roots[3], "/home");
	assert_string_equal(f.p.roots[4], "/usr/bin");
	assert_string_equal(f.p.roots[5], "/var/log/app.log");
	unload(&f);
	load(&f, "/**\n/etc/**\n");
	assert_int_equal(f.p.n_roots, 1);
	assert_string_equal(f.p.roots[0], "/");
	unload(&f);
}

/*
 * The walker's incremental evaluation must agree with evaluation from scratch on every
 * path.  Random paths over a small alphabet against a rule set that exercises every
 * construct.
 */
static void test_incremental_agrees(void **state)
{
	static const char *const comps[] = { "a", "b", "c", "x.log", "x.tmp", "cache", "keep" };
	struct fixture f;
	uint32_t seed = 7;

	load(&f, "/a/**\n!/a/cache/**\n/a/cache/keep\n=/a/b perms\n/a/*.log growing\n"
		 "!/a/*.tmp\n/a/keep/x.tmp\n/b/*/c/**\n=/c\n!=/a/c\n/**/keep/**\n/c/**/x.log\n");
	for (int round = 0; round < 3000; round++) {
		char path[256];
		size_t len = 0;
		unsigned depth;
		struct policy_dir d, next;

		seed = seed * 1103515245 + 12345;
		depth = 1 + (seed >> 16) % 5;
		assert_int_equal(policy_dir_at(&f.p, "/", 1, &d), 0);
		for (unsigned i = 0; i < depth; i++) {
			const char *c;
			const struct rule *inc, *full;

			seed = seed * 1103515245 + 12345;
			c = comps[(seed >> 16) % ARRAY_SIZE(comps)];
			len += (size_t)snprintf(path + len, sizeof(path) - len, "/%s", c);
			inc = policy_dir_decide(&f.p, &d, path, len);
			full = policy_decide(&f.p, path, len);
			if (inc != full)
				fail_msg("'%s': incremental says %s, full says %s", path,
					 inc ? inc->text : "none", full ? full->text : "none");
			/* anything selected below must be reachable */
			assert_int_equal(policy_dir_enter(&f.p, &d, path, len, &next), 0);
			policy_dir_release(&d);
			d = next;
		}
		policy_dir_release(&d);
	}
	unload(&f);
}

static void test_dir_wanted_prunes(void **state)
{
	struct fixture f;
	struct policy_dir root, d;

	load(&f, "/srv/app/**\n!/srv/app/cache/**\n/etc/ssh/**\n");
	assert_int_equal(policy_dir_at(&f.p, "/", 1, &root), 0);
	assert_int_equal(policy_dir_enter(&f.p, &root, "/usr", 4, &d), 0);
	assert_false(policy_dir_wanted(&f.p, &d));
	policy_dir_release(&d);
	assert_int_equal(policy_dir_at(&f.p, "/srv/app/cache", 14, &d), 0);
	assert_false(policy_dir_wanted(&f.p, &d));
	policy_dir_release(&d);
	assert_int_equal(policy_dir_at(&f.p, "/etc", 4, &d), 0);
	assert_true(policy_dir_wanted(&f.p, &d));
	policy_dir_release(&d);
	policy_dir_release(&root);
	unload(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_may_match_below),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_roots),
		cmocka_unit_test(test_incremental_agrees),
		cmocka_unit_test(test_dir_wanted_prunes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for conf/: the settings parser and the rule-file parser. */
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

#include "base/object.h"
#include "conf/rules.h"
#include "conf/settings.h"

static int parse_settings(const char *text, struct settings *s, struct vg_error *err)
{
	settings_init(s);
	vg_error_clear(err);
	return settings_parse_text(s, "vigil.conf", text, strlen(text), err);
}

static void expect_settings_error(const char *text, unsigned line, unsigned col, const char *msg)
{
	struct settings s;
	struct vg_error err;

	assert_true(parse_settings(text, &s, &err) < 0);
	assert_string_equal(err.file, "vigil.conf");
	assert_int_equal(err.line, line);
	assert_int_equal(err.col, col);
	if (!strstr(err.msg, msg))
		fail_msg("message '%s' lacks '%s'", err.msg, msg);
	settings_release(&s);
}

static void test_settings_valid(void **state)
{
	struct settings s;
	struct vg_error err;

	assert_int_equal(parse_settings("", &s, &err), 0);
	assert_int_equal(s.hash_attempts, 3);
	assert_int_equal(s.workers, 0);
	settings_release(&s);
	assert_int_equal(parse_settings("# comment\n[vigil]\nhost_name = ca1.example\n"
					"state_dir=/srv/state\r\n; other\n[scan]\n"
					"  workers = 4  \none_filesystem = yes\nhash_attempts=5\n",
					&s, &err),
			 0);
	assert_string_equal(s.host_name, "ca1.example");
	assert_string_equal(s.state_dir, "/srv/state");
	assert_int_equal(s.workers, 4);
	assert_true(s.one_filesystem);
	assert_int_equal(s.hash_attempts, 5);
	settings_release(&s);
}

static void test_settings_errors(void **state)
{
	expect_settings_error("[scan]\nworkerz = 2\n", 2, 1, "unknown key 'workerz' in [scan]");
	expect_settings_error("[nope]\n", 1, 2, "unknown section 'nope'");
	expect_settings_error("workers = 2\n", 1, 1, "outside of any section");
	expect_settings_error("[scan]\nworkers = many\n", 2, 11, "whole number from 0 to 256");
	expect_settings_error("[scan]\nworkers = 1\nworkers = 2\n", 3, 1, "set twice");
	expect_settings_error("[vigil]\nstate_dir = relative\n", 2, 13, "absolute path");
	expect_settings_error("[vigil]\njust text\n", 2, 1, "expected 'key = value'");
	expect_settings_error("[vigil\n", 1, 1, "missing ']'");
	expect_settings_error("[scan]\none_filesystem = perhaps\n", 2, 18, "true or false");
	expect_settings_error("[vigil]\nlog_level = loud\n", 2, 13, "error, warning, info or debug");
	expect_settings_error("[scan]\nhash_attempts = 0\n", 2, 17, "from 1 to 10");
}

static int parse_rules(const char *text, struct ruleset *rs, struct vg_error *err)
{
	ruleset_init(rs);
	vg_error_clear(err);
	return ruleset_parse_text(rs, "t.rules", text, strlen(text), err);
}

static void expect_rule_error(const char *text, unsigned line, unsigned col, const char *msg)
{
	struct ruleset rs;
	struct vg_error err;

	assert_true(parse_rules(text, &rs, &err) < 0);
	assert_int_equal(err.line, line);
	if (err.col != col)
		fail_msg("col %u, want %u (%s)", err.col, col, err.msg);
	if (!strstr(err.msg, msg))
		fail_msg("message '%s' lacks '%s'", err.msg, msg);
	ruleset_release(&rs);
}

static void test_rules_fixed_forms(void **state)
{
	struct ruleset rs;
	struct vg_error err;
	const char *text =
		"/srv/app/**                         # the tree, every attribute\n"
		"/etc/ssh/**   perms+owner+content  @ssh  severity=high   # chosen\n"
		"!/srv/app/cache/**                  # exclude\n"
		"=/srv/app                           # this object only\n"
		"/var/log/app.log   growing          # may only be appended to\n";

	assert_int_equal(parse_rules(text, &rs, &err), 0);
	assert_int_equal(rs.n, 5);
	assert_int_equal(rs.rules[0].kind, RULE_SELECT);
	assert_false(rs.rules[0].exact);
	assert_int_equal(rs.rules[0].attrs, ATTR_MASK_DEFAULT);
	assert_true(rs.rules[0].attrs & ATTR_BIT(ATTR_SHA256));
	assert_int_equal(rs.rules[1].attrs,
			 ATTR_BIT(ATTR_TYPE) | ATTR_BIT(ATTR_PERMS) | ATTR_BIT(ATTR_UID) |
				 ATTR_BIT(ATTR_GID) | ATTR_BIT(ATTR_SIZE) | ATTR_BIT(ATTR_SHA256) |
				 ATTR_BIT(ATTR_TARGET));
	assert_int_equal(rs.rules[1].n_tags, 1);
	assert_string_equal(rs.rules[1].tags[0], "ssh");
	assert_int_equal(rs.rules[1].severity, SEV_HIGH);
	assert_int_equal(rs.rules[2].kind, RULE_EXCLUDE);
	assert_true(rs.rules[3].exact);
	assert_true(rs.rules[4].growing);
	assert_int_equal(rs.rules[4].line, 5);
	ruleset_release(&rs);
}

static void test_rules_attr_expressions(void **state)
{
	uint32_t m;
	size_t bad;

	assert_int_equal(rules_parse_attrs("default-mtime-ctime+sha512", 26, &m, &bad), 0);
	assert_int_equal(m, (ATTR_MASK_DEFAULT & ~(ATTR_BIT(ATTR_MTIME) | ATTR_BIT(ATTR_CTIME))) |
				    ATTR_BIT(ATTR_SHA512));
	assert_int_equal(rules_parse_attrs("all", 3, &m, &bad), 0);
	assert_int_equal(m, ATTR_MASK_ALL);
	/* names containing '-' are whole names, also next to an operator */
	assert_int_equal(rules_parse_attrs("perms+sha3-256+blake2b-512-perms", 32, &m, &bad), 0);
	assert_int_equal(m, ATTR_BIT(ATTR_TYPE) | ATTR_BIT(ATTR_SHA3_256) | ATTR_BIT(ATTR_BLAKE2B512));
	assert_int_equal(rules_parse_attrs("sha3-25", 7, &m, &bad), -EINVAL);
	assert_int_equal(bad, 0);
	assert_int_equal(rules_parse_attrs("perms+bogus", 11, &m, &bad), -EINVAL);
	assert_int_equal(bad, 6);
	assert_int_equal(rules_parse_attrs("perms+", 6, &m, &bad), -EINVAL);
	assert_int_equal(rules_parse_attrs("-perms", 6, &m, &bad), -EINVAL);
}

static void test_rules_patterns(void **state)
{
	struct ruleset rs;
	struct vg_error err;

	assert_int_equal(parse_rules("/a/\\*lit\\?/x\\x20y/\\\\b\n", &rs, &err), 0);
	assert_int_equal(rs.rules[0].pat.n, 15);
	assert_memory_equal(rs.rules[0].pat.p, "/a/*lit?/x y/\\b", 15);
	for (size_t i = 0; i < rs.rules[0].pat.n; i++)
		assert_int_equal(rs.rules[0].pat.meta[i], PM_LITERAL);
	assert_int_equal(rs.rules[0].pat.literal_prefix, 15);
	ruleset_release(&rs);
	assert_int_equal(parse_rules("/a/b*/**/c\n", &rs, &err), 0);
	assert_int_equal(rs.rules[0].pat.literal_prefix, 4);
	ruleset_release(&rs);
	assert_int_equal(parse_rules("/a/**\n", &rs, &err), 0);
	assert_int_equal(rs.rules[0].pat.literal_prefix, 2);
	assert_int_equal(rs.rules[0].pat.literal_count, 2);
	ruleset_release(&rs);
}

static void test_rules_errors(void **state)
{
	expect_rule_error("/a/x**\n", 1, 5, "'**' must be a whole path component");
	expect_rule_error("/a/**x\n", 1, 4, "'**' must be a whole path component");
	expect_rule_error("/a perms+bogus\n", 1, 10, "unknown attribute or keyword 'bogus'");
	expect_rule_error("etc/x\n", 1, 1, "starting with '/'");
	expect_rule_error("\n\n  /a//b\n", 3, 6, "empty path component");
	expect_rule_error("/a/../b\n", 1, 4, "'.' and '..'");
	expect_rule_error("/a/\n", 1, 3, "trailing '/'");
	expect_rule_error("/a/[ab]\n", 1, 4, "reserved");
	expect_rule_error("/a\\q\n", 1, 3, "unknown escape");
	expect_rule_error("/a severity=loud\n", 1, 13, "unknown severity 'loud'");
	expect_rule_error("/a foo=bar\n", 1, 4, "unknown option 'foo'");
	expect_rule_error("/a perms owner\n", 1, 10, "attributes given twice");
	expect_rule_error("!/a perms\n", 1, 5, "an exclusion takes no options");
	expect_rule_error("/a @bad!tag\n", 1, 4, "bad tag");
	expect_rule_error("/a perms growing\n", 1, 1, "'growing' needs the sha256");
	expect_rule_error("/a\n/b\n/a perms\n", 3, 1, "conflicts with the rule at t.rules:1");
	expect_rule_error("/a\n/a\n", 2, 1, "duplicate of the rule at t.rules:1");
	expect_rule_error("/a\n!/a\n", 2, 1, "conflicts with the rule at t.rules:1");
	expect_rule_error("include\n", 1, 8, "needs a file name");
}

static void test_rules_include(void **state)
{
	char dir[] = "/tmp/vigil-conf-XXXXXX";
	char main_path[256], inc_path[256], text[512];
	struct ruleset rs;
	struct vg_error err;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(inc_path, sizeof(inc_path), "%s/extra.rules", dir);
	f = fopen(inc_path, "w");
	assert_non_null(f);
	fputs("/b\n/c bogus\n", f);
	fclose(f);
	snprintf(main_path, sizeof(main_path), "%s/main.rules", dir);

	/* a relative include is found next to the including file */
	snprintf(text, sizeof(text), "/a\ninclude extra.rules\n");
	ruleset_init(&rs);
	assert_true(ruleset_parse_text(&rs, main_path, text, strlen(text), &err) < 0);
	/* the error inside the included file keeps its own location */
	assert_string_equal(err.file, inc_path);
	assert_int_equal(err.line, 2);
	assert_int_equal(err.col, 4);
	ruleset_release(&rs);

	/* an unreadable include is reported at the include line */
	snprintf(text, sizeof(text), "/a\n  include missing.rules\n");
	ruleset_init(&rs);
	assert_true(ruleset_parse_text(&rs, main_path, text, strlen(text), &err) < 0);
	assert_string_equal(err.file, main_path);
	assert_int_equal(err.line, 2);
	assert_int_equal(err.col, 11);
	assert_non_null(strstr(err.msg, "cannot include"));
	ruleset_release(&rs);

	/* a file that includes itself stops at the depth limit */
	f = fopen(main_path, "w");
	assert_non_null(f);
	fputs("include main.rules\n", f);
	fclose(f);
	ruleset_init(&rs);
	assert_int_equal(ruleset_load_file(&rs, main_path, &err), -ELOOP);
	assert_non_null(strstr(err.msg, "chain of includes"));
	ruleset_release(&rs);

	unlink(inc_path);
	unlink(main_path);
	rmdir(dir);
}

static void test_rules_line_limits(void **state)
{
	struct ruleset rs;
	struct vg_error err;
	char *big = malloc(10000);

	memset(big, 'a', 9999);
	big[0] = '/';
	big[9999] = '\0';
	assert_true(parse_rules(big, &rs, &err) < 0);
	assert_non_null(strstr(err.msg, "line longer than"));
	ruleset_release(&rs);
	assert_true(ruleset_parse_text(&rs, "t.rules", "/a\0b\n", 5, &err) < 0);
	assert_non_null(strstr(err.msg, "NUL byte"));
	ruleset_release(&rs);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings_valid),
		cmocka_unit_test(test_settings_errors),
		cmocka_unit_test(test_rules_fixed_forms),
		cmocka_unit_test(test_rules_attr_expressions),
		cmocka_unit_test(test_rules_patterns),
		cmocka_unit_test(test_rules_errors),
		cmocka_unit_test(test_rules_include),
		cmocka_unit_test(test_rules_line_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

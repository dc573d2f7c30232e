/* Unit tests for base/: buffers, escaping, JSON, time, parsing, UUIDs, object diffs. */
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

#include "base/buf.h"
#include "base/fileio.h"
#include "base/escape.h"
#include "base/json.h"
#include "base/json-canon.h"
#include "base/object.h"
#include "base/parse.h"
#include "base/strmap.h"
#include "base/timeutil.h"
#include "vigil-config.h"
#include "base/uuid.h"

static void test_buf_cap(void **state)
{
	struct buf b;

	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "12345678"), 0);
	assert_int_equal(buf_putc(&b, 'x'), -E2BIG);
	assert_int_equal(b.len, 8);
	assert_string_equal(buf_str(&b), "12345678");
	buf_reset(&b);
	assert_int_equal(buf_printf(&b, "%d-%s", 42, "ab"), 0);
	assert_string_equal(buf_str(&b), "42-ab");
	assert_int_equal(buf_printf(&b, "%s", "too long!"), -E2BIG);
	assert_string_equal(buf_str(&b), "42-ab");
	buf_release(&b);
}

static void check_escape(const char *in, size_t n, const char *want)
{
	struct buf e, d;

	buf_init(&e, 0);
	buf_init(&d, 0);
	assert_int_equal(escape_bytes(&e, in, n), 0);
	assert_string_equal(buf_str(&e), want);
	assert_int_equal(escape_decode(&d, e.data ? e.data : "", e.len), 0);
	assert_int_equal(d.len, n);
	assert_memory_equal(d.data ? d.data : "", in, n);
	buf_release(&e);
	buf_release(&d);
}

static void test_escape_rule(void **state)
{
	check_escape("plain/path.txt", 14, "plain/path.txt");
	check_escape("a\nb", 3, "a\\x0ab");
	check_escape("\xff\xfe", 2, "\\xff\\xfe");
	check_escape("back\\slash", 10, "back\\\\slash");
	check_escape("tab\there", 8, "tab\\x09here");
	check_escape("\xc3\xa9\xe6\x97\xa5", 5, "\xc3\xa9\xe6\x97\xa5");	 /* é日 */
	check_escape("\xc2\x85", 2, "\\xc2\\x85");			 /* C1 control */
	check_escape("\xc0\xaf", 2, "\\xc0\\xaf");			 /* overlong '/' */
	check_escape("\xed\xa0\x80", 3, "\\xed\\xa0\\x80");		 /* surrogate */
	check_escape("\xe6\x97", 2, "\\xe6\\x97");			 /* truncated */
	check_escape("\x7f", 1, "\\x7f");
	check_escape("", 0, "");
}

static void test_escape_roundtrip_random(void **state)
{
	uint32_t x = 12345;

	for (int round = 0; round < 2000; round++) {
		char in[64];
		size_t n = (size_t)(round % 64);
		struct buf e, d;

		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245 + 12345;
			in[i] = (char)(x >> 16);
		}
		buf_init(&e, 0);
		buf_init(&d, 0);
		assert_int_equal(escape_bytes(&e, in, n), 0);
		/* apart from its backslashes the escaped form is plain: valid UTF-8 without
		 * control characters */
		{
			char plain[256];
			size_t pn = 0;

			for (size_t i = 0; i < e.len; i++)
				if (e.data[i] != '\\')
					plain[pn++] = e.data[i];
			assert_true(escape_is_plain(plain, pn));
		}
		assert_int_equal(escape_decode(&d, buf_str(&e), e.len), 0);
		assert_int_equal(d.len, n);
		if (n)
			assert_memory_equal(d.data, in, n);
		buf_release(&e);
		buf_release(&d);
	}
}

static void test_escape_decode_rejects(void **state)
{
	struct buf d;

	buf_init(&d, 0);
	assert_int_equal(escape_decode(&d, "a\\", 2), -EINVAL);
	assert_int_equal(escape_decode(&d, "\\x4", 3), -EINVAL);
	assert_int_equal(escape_decode(&d, "\\n", 2), -EINVAL);
	assert_int_equal(escape_decode(&d, "\\xzz", 4), -EINVAL);
	buf_release(&d);
}

static void test_json_writer(void **state)
{
	struct buf b;
	struct json_writer w;

	buf_init(&b, 0);
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "s");
	jw_str(&w, "q\"\\\n");
	jw_key(&w, "p");
	jw_str_bytes(&w, "a\nb\xff", 4);
	jw_key(&w, "a");
	jw_arr_open(&w);
	jw_u64(&w, 1);
	jw_i64(&w, -2);
	jw_bool(&w, true);
	jw_null(&w);
	jw_obj_open(&w);
	jw_obj_close(&w);
	jw_arr_close(&w);
	jw_key(&w, "e");
	jw_arr_open(&w);
	jw_arr_close(&w);
	jw_obj_close(&w);
	assert_int_equal(w.err, 0);
	assert_string_equal(buf_str(&b), "{\"s\":\"q\\\"\\\\\\n\",\"p\":\"a\\\\x0ab\\\\xff\","
					 "\"a\":[1,-2,true,null,{}],\"e\":[]}");
	buf_release(&b);
}

static void canon_is(const char *in, const char *want)
{
	struct buf b;
	int r;

	buf_init(&b, 0);
	r = json_canonicalize(in, strlen(in), &b);
	if (!want) {
		assert_true(r < 0);
		assert_int_equal(b.len, 0);
	} else {
		assert_int_equal(r, 0);
		assert_string_equal(buf_str(&b), want);
	}
	buf_release(&b);
}

static void test_json_canonical(void **state)
{
	canon_is(" { \"b\" : 1 , \"a\" : [ true, false, null, -0, 12 ] } ",
		 "{\"a\":[true,false,null,-0,12],\"b\":1}");
	canon_is("{\"z\":{\"y\":1,\"x\":{}},\"a\":\"\\u0041\\n\\/\\u00e9\\ud83d\\ude00\"}",
		 "{\"a\":\"A\\n/\xc3\xa9\xf0\x9f\x98\x80\",\"z\":{\"x\":{},\"y\":1}}");
	canon_is("{\"ab\":1,\"a\":2,\"b\":3}", "{\"a\":2,\"ab\":1,\"b\":3}");
	canon_is("\"\\u001f\"", "\"\\u001f\"");
	canon_is("{\"a\":1,\"a\":2}", NULL);	/* duplicate key */
	canon_is("1.5", NULL);			/* integers only */
	canon_is("1e3", NULL);
	canon_is("01", NULL);
	canon_is("{\"a\":1", NULL);
	canon_is("[1,]", NULL);
	canon_is("\"\\ud800\"", NULL);		/* lone surrogate */
	canon_is("\"a\nb\"", NULL);		/* raw control character */
	canon_is("{} x", NULL);
	{
		char deep[200];

		struct buf b;

		memset(deep, '[', 100);
		memset(deep + 100, ']', 100);
		buf_init(&b, 0);
		assert_int_equal(json_canonicalize(deep, 200, &b), -E2BIG);
		buf_release(&b);
	}
}

static void test_time_format_parse(void **state)
{
	char t[RFC3339_MAX];
	int64_t ns;

	assert_int_equal(time_format_rfc3339(0, t, sizeof(t)), 0);
	assert_string_equal(t, "1970-01-01T00:00:00.000000Z");
	assert_int_equal(time_format_rfc3339(1795752672123456789LL, t, sizeof(t)), 0);
	assert_string_equal(t, "2026-11-27T04:11:12.123456Z");
	assert_int_equal(time_parse_rfc3339("2026-11-27T04:11:12.123456Z", &ns), 0);
	assert_int_equal(ns, 1795752672123456000LL);
	assert_int_equal(time_parse_rfc3339("2026-11-27T05:11:12+01:00", &ns), 0);
	assert_int_equal(ns, 1795752672000000000LL);
	assert_int_equal(time_parse_rfc3339("2024-02-29T00:00:00Z", &ns), 0);
	assert_int_equal(time_parse_rfc3339("2023-02-29T00:00:00Z", &ns), -EINVAL);
	assert_int_equal(time_parse_rfc3339("2026-13-01T00:00:00Z", &ns), -EINVAL);
	assert_int_equal(time_parse_rfc3339("2026-11-27T04:11:12", &ns), -EINVAL);
	assert_int_equal(time_parse_rfc3339("2026-11-27T04:11:12Zjunk", &ns), -EINVAL);
	/* before the epoch */
	assert_int_equal(time_format_rfc3339(-1000, t, sizeof(t)), 0);
	assert_string_equal(t, "1969-12-31T23:59:59.999999Z");
}

static int64_t fixed_clock(void *ud)
{
	return *(int64_t *)ud;
}

static void test_clock_injectable(void **state)
{
	int64_t at = 1795752672000000000LL;
	char u[UUID_STR_LEN];

	clock_set_source(fixed_clock, &at);
	assert_int_equal(clock_now_ns(), at);
	assert_int_equal(uuid7_new(u), 0);
	/* 48-bit milliseconds first: 1795752672000 = 0x01a21b333b00 */
	assert_memory_equal(u, "01a21b33-3b00-7", 15);
	assert_true(strchr("89ab", u[19]) != NULL);
	clock_set_source(NULL, NULL);
	assert_true(clock_now_ns() > at - 86400LL * 1000000000 * 365 * 10);
}

/* VIGIL_TEST_NOW sets the clock in builds made for tests, and nowhere else. */
static void test_clock_from_environment(void **state)
{
	int64_t want;

	assert_int_equal(time_parse_rfc3339("2031-05-06T07:08:09Z", &want), 0);
	setenv("VIGIL_TEST_NOW", "2031-05-06T07:08:09Z", 1);
#if VIGIL_TEST_CLOCK
	assert_int_equal(clock_now_ns(), want);
	/* a value that does not parse leaves the real clock */
	setenv("VIGIL_TEST_NOW", "tomorrow", 1);
	assert_true(clock_now_ns() < want);
#else
	assert_true(clock_now_ns() != want);
#endif
	unsetenv("VIGIL_TEST_NOW");
}

static void test_parse(void **state)
{
	uint64_t v;
	bool b;

	assert_int_equal(parse_u64("42", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_u64("", &v), -EINVAL);
	assert_int_equal(parse_u64("-1", &v), -EINVAL);
	assert_int_equal(parse_u64(" 1", &v), -EINVAL);
	assert_int_equal(parse_u64("1x", &v), -EINVAL);
	assert_int_equal(parse_u64("99999999999999999999", &v), -ERANGE);
	assert_int_equal(parse_uint_range("11", 1, 10, &v), -ERANGE);
	assert_int_equal(parse_bool("Yes", &b), 0);
	assert_true(b);
	assert_int_equal(parse_bool("off", &b), 0);
	assert_false(b);
	assert_int_equal(parse_bool("maybe", &b), -EINVAL);
}

static void file_state(struct object_state *s, uint64_t size, uint8_t h)
{
	object_state_init(s);
	s->type = OBJ_FILE;
	s->attrs = ATTR_MASK_DEFAULT;
	s->size = size;
	s->mode = 0644;
	s->mtime_ns = 1;
	s->ctime_ns = 1;
	memset(s->sha256, h, SHA256_LEN);
}

static void test_object_diff(void **state)
{
	struct object_state a, b;

	file_state(&a, 10, 1);
	file_state(&b, 10, 1);
	assert_int_equal(object_state_diff(&a, &b, ATTR_MASK_DEFAULT, false), 0);
	b.mode = 0600;
	assert_int_equal(object_state_diff(&a, &b, ATTR_MASK_DEFAULT, false), ATTR_BIT(ATTR_PERMS));
	/* attributes outside the mask are not compared */
	assert_int_equal(object_state_diff(&a, &b, ATTR_BIT(ATTR_SHA256), false), 0);
	b.mode = 0644;
	/* growing: larger, prefix matches, times moved: no change */
	b.size = 20;
	b.mtime_ns = b.ctime_ns = 2;
	memset(b.sha256, 2, SHA256_LEN);
	b.prefix_match = true;
	assert_int_equal(object_state_diff(&a, &b, ATTR_MASK_DEFAULT, true), 0);
	/* prefix rewritten */
	b.prefix_match = false;
	assert_true(object_state_diff(&a, &b, ATTR_MASK_DEFAULT, true) & ATTR_BIT(ATTR_SHA256));
	/* shrunk: always a change */
	b.prefix_match = true;
	b.size = 5;
	assert_true(object_state_diff(&a, &b, ATTR_MASK_DEFAULT, true) & ATTR_BIT(ATTR_SIZE));
	/* type change is reported even when type is not in the mask */
	b.type = OBJ_SYMLINK;
	assert_true(object_state_diff(&a, &b, 0, false) & ATTR_BIT(ATTR_TYPE));
	/* an attribute the observation lacks (it could not be read) is not compared */
	file_state(&b, 10, 9);
	b.attrs &= ~ATTR_BIT(ATTR_SHA256);
	assert_int_equal(object_state_diff(&a, &b, ATTR_MASK_DEFAULT, false), 0);
	/* one the baseline never recorded is a difference, when it applies to the type */
	assert_int_equal(object_state_diff(&b, &a, ATTR_MASK_DEFAULT, false), ATTR_BIT(ATTR_SHA256));
	a.type = b.type = OBJ_DIR;
	assert_int_equal(object_state_diff(&b, &a, ATTR_MASK_DEFAULT, false), 0);
}

static void test_object_copy_and_format(void **state)
{
	struct object_state a, b;
	struct buf f;

	file_state(&a, 1, 0xab);
	a.target.p = (uint8_t *)strdup("x\ny");
	a.target.n = 3;
	a.acl = strdup("user::rw-");
	a.owner = strdup("root");
	assert_int_equal(object_state_copy(&b, &a), 0);
	assert_ptr_not_equal(a.target.p, b.target.p);
	assert_int_equal(object_state_diff(&a, &b, ATTR_MASK_ALL, false), 0);
	buf_init(&f, 0);
	assert_int_equal(object_attr_format(&f, &b, ATTR_TARGET), 0);
	assert_string_equal(buf_str(&f), "x\\x0ay");
	buf_reset(&f);
	assert_int_equal(object_attr_format(&f, &b, ATTR_PERMS), 0);
	assert_string_equal(buf_str(&f), "0644");
	buf_reset(&f);
	assert_int_equal(object_attr_format(&f, &b, ATTR_UID), 0);
	assert_string_equal(buf_str(&f), "0 (root)");
	buf_reset(&f);
	assert_int_equal(object_attr_format(&f, &b, ATTR_MTIME), 0);
	assert_string_equal(buf_str(&f), "1970-01-01T00:00:00.000000001Z");
	buf_release(&f);
	object_state_release(&a);
	object_state_release(&b);
	assert_null(b.acl);
}

static void test_attr_names(void **state)
{
	for (int a = 0; a < ATTR__COUNT; a++) {
		const char *n = attr_name((enum attr)a);

		assert_non_null(n);
		assert_int_equal(attr_from_name(n, strlen(n)), a);
	}
	assert_int_equal(attr_from_name("bogus", 5), -EINVAL);
	assert_string_equal(attr_name(ATTR_SHA3_256), "sha3-256");
}

/* The map against a plain array: every key present or absent as it should be after a
 * long mix of puts and removes (the backward shift must never hide an entry). */
static void test_strmap(void **state)
{
	enum { N = 5000 };
	static int present[N];
	struct strmap m = { 0 };
	unsigned seed = 12345;

	memset(present, 0, sizeof(present));
	for (int round = 0; round < 40000; round++) {
		char key[16];
		int k, n;

		seed = seed * 1103515245u + 12345u;
		k = (int)((seed >> 8) % N);
		n = snprintf(key, sizeof(key), "k%d", k);
		if ((seed >> 4) & 1) {
			void *old = NULL;

			assert_int_equal(strmap_put(&m, key, (size_t)n, (void *)(intptr_t)(k + 1), &old), 0);
			assert_true(old == (present[k] ? (void *)(intptr_t)(k + 1) : NULL));
			present[k] = 1;
		} else {
			void *v = strmap_remove(&m, key, (size_t)n);

			assert_true(v == (present[k] ? (void *)(intptr_t)(k + 1) : NULL));
			present[k] = 0;
		}
	}
	{
		size_t count = 0;

		for (int k = 0; k < N; k++) {
			char key[16];
			int n = snprintf(key, sizeof(key), "k%d", k);
			void *v = strmap_get(&m, key, (size_t)n);

			assert_true(v == (present[k] ? (void *)(intptr_t)(k + 1) : NULL));
			count += present[k];
		}
		assert_int_equal(m.n, count);
	}
	/* keys are bytes: a NUL inside and a prefix are different keys */
	assert_int_equal(strmap_put(&m, "a\0b", 3, (void *)1, NULL), 0);
	assert_null(strmap_get(&m, "a", 1));
	assert_ptr_equal(strmap_get(&m, "a\0b", 3), (void *)1);
	strmap_release(&m, NULL);
	assert_null(strmap_get(&m, "a\0b", 3));
}

static void test_json_path(void **state)
{
	const char *j = "{\"a\":{\"b\":{\"c\":\"deep\"},\"n\":-42,\"s\":[1,{\"c\":\"no\"}]},"
			"\"c\":\"top\",\"e\":\"x\\\"y\"}";
	char out[32];

	assert_int_equal(json_path_string(j, strlen(j), "a.b.c", out, sizeof(out)), 0);
	assert_string_equal(out, "deep");
	assert_int_equal(json_path_string(j, strlen(j), "a.n", out, sizeof(out)), 0);
	assert_string_equal(out, "-42");
	assert_int_equal(json_path_string(j, strlen(j), "c", out, sizeof(out)), 0);
	assert_string_equal(out, "top");
	assert_int_equal(json_path_string(j, strlen(j), "a.c", out, sizeof(out)), -ENOENT);
	assert_int_equal(json_path_string(j, strlen(j), "a.s.c", out, sizeof(out)), -EINVAL);
	/* an escaped string is not given out half-decoded */
	assert_int_equal(json_path_string(j, strlen(j), "e", out, sizeof(out)), -ENOENT);
	assert_int_equal(json_path_string(j, strlen(j), "a.b.c", out, 3), -E2BIG);
	assert_int_equal(json_top_string(j, strlen(j), "a.b.c", out, sizeof(out)), -ENOENT);
}

/* whole-file reads: a file exactly at the cap, one byte over, and an empty one */
static void test_file_read_cap(void **state)
{
	char dir[] = "/tmp/vigil-fileio.XXXXXX", path[4200], *data = NULL;
	size_t n = 7;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 63; i++)
		fputc('a', f);
	fclose(f);
	assert_int_equal(file_read_all(path, NULL, 63, &data, &n), 0);
	assert_int_equal(n, 63);
	assert_int_equal(data[63], '\0');
	free(data);
	assert_int_equal(file_read_all(path, NULL, 62, &data, &n), -EFBIG);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(file_read_all(path, NULL, 63, &data, &n), 0);
	assert_int_equal(n, 0);
	assert_string_equal(data, "");
	free(data);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_file_read_cap),
		cmocka_unit_test(test_clock_from_environment),
		cmocka_unit_test(test_escape_rule),
		cmocka_unit_test(test_escape_roundtrip_random),
		cmocka_unit_test(test_escape_decode_rejects),
		cmocka_unit_test(test_json_writer),
		cmocka_unit_test(test_json_canonical),
		cmocka_unit_test(test_time_format_parse),
		cmocka_unit_test(test_clock_injectable),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_object_diff),
		cmocka_unit_test(test_object_copy_and_format),
		cmocka_unit_test(test_attr_names),
		cmocka_unit_test(test_strmap),
		cmocka_unit_test(test_json_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for base/json-parse: the strict parser for JSON documents from outside. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/json-parse.h"

#define FILE_NAME "t.json"

static struct json_value *parse_lim(const char *doc, size_t n, const struct json_limits *lim)
{
	struct json_value *v = NULL;
	struct vg_error err;
	int r;

	vg_error_clear(&err);
	r = json_parse(doc, n, lim, FILE_NAME, &v, &err);
	if (r != 0)
		fail_msg("parse failed (%d) at %u:%u: %s", r, err.line, err.col, err.msg);
	assert_non_null(v);
	return v;
}

static struct json_value *parse_ok(const char *doc)
{
	return parse_lim(doc, strlen(doc), NULL);
}

/* Parsing doc[0..n) fails with code at line:col with exactly msg, and leaves *ret alone. */
static void check_err_n(const char *doc, size_t n, const struct json_limits *lim, int code,
			unsigned line, unsigned col, const char *msg)
{
	struct json_value *sentinel = (struct json_value *)&sentinel, *v = sentinel;
	struct vg_error err;

	memset(&err, 'x', sizeof(err));
	err.file[sizeof(err.file) - 1] = err.msg[sizeof(err.msg) - 1] = '\0';
	assert_int_equal(json_parse(doc, n, lim, FILE_NAME, &v, &err), code);
	assert_ptr_equal(v, sentinel);
	assert_string_equal(err.file, FILE_NAME);
	assert_string_equal(err.msg, msg);
	assert_int_equal(err.line, line);
	assert_int_equal(err.col, col);
}

static void check_err(const char *doc, int code, unsigned line, unsigned col, const char *msg)
{
	check_err_n(doc, strlen(doc), NULL, code, line, col, msg);
}

static void test_scalars(void **state)
{
	struct json_value *v;

	v = parse_ok("null");
	assert_int_equal(v->type, JSON_NULL);
	json_value_free(v);

	v = parse_ok(" true ");
	assert_int_equal(v->type, JSON_BOOL);
	assert_true(v->b);
	assert_int_equal(v->line, 1);
	assert_int_equal(v->col, 2);
	json_value_free(v);

	v = parse_ok("\r\n\t\n   false\n");
	assert_int_equal(v->type, JSON_BOOL);
	assert_false(v->b);
	assert_int_equal(v->line, 3);
	assert_int_equal(v->col, 4);
	json_value_free(v);

	v = parse_ok("42");
	assert_int_equal(v->type, JSON_INT);
	assert_int_equal(v->i, 42);
	json_value_free(v);

	v = parse_ok("-0");
	assert_int_equal(v->type, JSON_INT);
	assert_int_equal(v->i, 0);
	json_value_free(v);

	v = parse_ok("-17");
	assert_int_equal(v->type, JSON_INT);
	assert_true(v->i == -17);
	json_value_free(v);

	v = parse_ok("1.5");
	assert_int_equal(v->type, JSON_NUMBER);
	assert_true(v->num.d == 1.5);
	assert_string_equal(v->num.text, "1.5");
	json_value_free(v);

	v = parse_ok("-2.5e-3");
	assert_int_equal(v->type, JSON_NUMBER);
	assert_true(v->num.d == -2.5e-3);
	assert_string_equal(v->num.text, "-2.5e-3");
	json_value_free(v);

	v = parse_ok("1E+2");
	assert_int_equal(v->type, JSON_NUMBER);
	assert_true(v->num.d == 100.0);
	assert_string_equal(v->num.text, "1E+2");
	json_value_free(v);

	v = parse_ok("0e0");
	assert_int_equal(v->type, JSON_NUMBER);
	assert_true(v->num.d == 0.0);
	json_value_free(v);

	/* a number beyond double's range is kept exactly as text */
	v = parse_ok("1e400");
	assert_int_equal(v->type, JSON_NUMBER);
	assert_string_equal(v->num.text, "1e400");
	assert_true(v->num.d > 1e308);
	json_value_free(v);

	v = parse_ok("\"abc\"");
	assert_int_equal(v->type, JSON_STRING);
	assert_int_equal(v->str.len, 3);
	assert_string_equal(v->str.s, "abc");
	json_value_free(v);

	v = parse_ok("\"\"");
	assert_int_equal(v->type, JSON_STRING);
	assert_int_equal(v->str.len, 0);
	assert_string_equal(v->str.s, "");
	json_value_free(v);

	/* text need not be NUL-terminated: only n bytes are read */
	v = parse_lim("123456", 3, NULL);
	assert_int_equal(v->type, JSON_INT);
	assert_int_equal(v->i, 123);
	json_value_free(v);
}

static void test_int64_edges(void **state)
{
	struct json_value *v;

	v = parse_ok("9223372036854775807");
	assert_int_equal(v->type, JSON_INT);
	assert_true(v->i == INT64_MAX);
	json_value_free(v);

	v = parse_ok("9223372036854775808");
	assert_int_equal(v->type, JSON_NUMBER);
	assert_string_equal(v->num.text, "9223372036854775808");
	assert_true(v->num.d == 9223372036854775808.0);
	json_value_free(v);

	v = parse_ok("-9223372036854775808");
	assert_int_equal(v->type, JSON_INT);
	assert_true(v->i == INT64_MIN);
	json_value_free(v);

	v = parse_ok("-9223372036854775809");
	assert_int_equal(v->type, JSON_NUMBER);
	assert_string_equal(v->num.text, "-9223372036854775809");
	json_value_free(v);

	/* far beyond uint64 too: the overflow check must not wrap */
	v = parse_ok("184467440737095516160");
	assert_int_equal(v->type, JSON_NUMBER);
	json_value_free(v);
	v = parse_ok("18446744073709551615");
	assert_int_equal(v->type, JSON_NUMBER);
	json_value_free(v);

	/* integral value but written with a fraction or exponent: a number */
	v = parse_ok("1.0");
	assert_int_equal(v->type, JSON_NUMBER);
	json_value_free(v);
	v = parse_ok("1e2");
	assert_int_equal(v->type, JSON_NUMBER);
	json_value_free(v);
}

static const char record[] = "{\n"
			     "  \"id\": \"c-2024-0042\",\n"
			     "  \"ticket\": \"OPS-1234\",\n"
			     "  \"approved\": true,\n"
			     "  \"risk\": 0.25,\n"
			     "  \"window\": {\"start\": 1700000000, \"end\": 1700003600},\n"
			     "  \"paths\": [\"/etc/ssh/sshd_config\", \"/etc/sudoers.d/\"],\n"
			     "  \"notes\": null,\n"
			     "  \"empty\": [{}, []]\n"
			     "}\n";

static void test_nested(void **state)
{
	struct json_value *v = parse_ok(record);
	const struct json_value *x, *w;

	assert_int_equal(v->type, JSON_OBJECT);
	assert_int_equal(v->obj.n, 8);
	/* document order */
	assert_string_equal(v->obj.members[0].key, "id");
	assert_string_equal(v->obj.members[7].key, "empty");

	x = json_get(v, "id");
	assert_non_null(x);
	assert_int_equal(x->type, JSON_STRING);
	assert_string_equal(x->str.s, "c-2024-0042");
	assert_int_equal(x->line, 2);
	assert_int_equal(x->col, 9);

	x = json_get(v, "approved");
	assert_int_equal(x->type, JSON_BOOL);
	assert_true(x->b);

	x = json_get(v, "risk");
	assert_int_equal(x->type, JSON_NUMBER);
	assert_true(x->num.d == 0.25);

	w = json_get(v, "window");
	assert_int_equal(w->type, JSON_OBJECT);
	assert_int_equal(w->line, 6);
	assert_int_equal(w->col, 13);
	x = json_get(w, "end");
	assert_int_equal(x->type, JSON_INT);
	assert_true(x->i == 1700003600);
	assert_int_equal(x->line, 6);
	assert_int_equal(x->col, 42);

	x = json_get(v, "paths");
	assert_int_equal(x->type, JSON_ARRAY);
	assert_int_equal(x->arr.n, 2);
	assert_string_equal(x->arr.items[1]->str.s, "/etc/sudoers.d/");
	assert_int_equal(x->arr.items[1]->col, 37);

	assert_int_equal(json_get(v, "notes")->type, JSON_NULL);
	x = json_get(v, "empty");
	assert_int_equal(x->arr.n, 2);
	assert_int_equal(x->arr.items[0]->type, JSON_OBJECT);
	assert_int_equal(x->arr.items[0]->obj.n, 0);
	assert_int_equal(x->arr.items[1]->type, JSON_ARRAY);
	assert_int_equal(x->arr.items[1]->arr.n, 0);

	/* misses */
	assert_null(json_get(v, "missing"));
	assert_null(json_get(v, "i"));
	assert_null(json_get(json_get(v, "paths"), "id"));
	assert_null(json_get(NULL, "id"));

	assert_null(json_value_free(v));
	assert_null(json_value_free(NULL));

	v = parse_ok("[[[]], {\"a\": [1, {\"b\": [true, false, null]}]}]");
	assert_int_equal(v->arr.n, 2);
	x = json_get(json_get(v->arr.items[1], "a")->arr.items[1], "b");
	assert_int_equal(x->arr.n, 3);
	assert_int_equal(x->arr.items[2]->type, JSON_NULL);
	json_value_free(v);
}

static void test_type_names(void **state)
{
	assert_string_equal(json_type_name(JSON_NULL), "null");
	assert_string_equal(json_type_name(JSON_BOOL), "true/false");
	assert_string_equal(json_type_name(JSON_INT), "integer");
	assert_string_equal(json_type_name(JSON_NUMBER), "number");
	assert_string_equal(json_type_name(JSON_STRING), "string");
	assert_string_equal(json_type_name(JSON_ARRAY), "array");
	assert_string_equal(json_type_name(JSON_OBJECT), "object");
}

static void test_strings(void **state)
{
	struct json_value *v;
	const struct json_value *x;

	v = parse_ok("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"");
	assert_int_equal(v->str.len, 8);
	assert_string_equal(v->str.s, "\"\\/\b\f\n\r\t");
	json_value_free(v);

	/* \u escapes of 1, 2 and 3 UTF-8 bytes, upper and lower case hex */
	v = parse_ok("\"\\u0041\\u00e9\\u20AC\\uFFFF\"");
	assert_string_equal(v->str.s, "A\xc3\xa9\xe2\x82\xac\xef\xbf\xbf");
	json_value_free(v);

	/* a surrogate pair is one 4-byte character */
	v = parse_ok("\"\\uD83D\\uDE00\"");
	assert_int_equal(v->str.len, 4);
	assert_memory_equal(v->str.s, "\xf0\x9f\x98\x80", 5);
	json_value_free(v);
	v = parse_ok("\"\\udbff\\udfff\"");
	assert_memory_equal(v->str.s, "\xf4\x8f\xbf\xbf", 5);
	json_value_free(v);
	v = parse_ok("\"\\ud800\\udc00x\"");
	assert_memory_equal(v->str.s, "\xf0\x90\x80\x80x", 6);
	json_value_free(v);

	/* an embedded NUL counts in len */
	v = parse_ok("\"a\\u0000b\"");
	assert_int_equal(v->str.len, 3);
	assert_memory_equal(v->str.s, "a\0b", 4);
	json_value_free(v);

	/* raw UTF-8 of every length, up to U+10FFFF, and DEL pass through */
	v = parse_ok("\"\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xf0\x90\x80\x80 "
		     "\xf4\x8f\xbf\xbf \x7f\"");
	assert_int_equal(v->str.len, 2 + 2 + 3 + 3 + 3 + 4 + 4 + 1 + 7);
	json_value_free(v);

	/* keys are decoded too */
	v = parse_ok("{\"k\\u00e9y\": 1, \"n\\u0000l\": 2}");
	x = json_get(v, "k\xc3\xa9y");
	assert_non_null(x);
	assert_int_equal(x->i, 1);
	assert_int_equal(v->obj.members[1].key_len, 3);
	assert_memory_equal(v->obj.members[1].key, "n\0l", 4);
	assert_null(json_get(v, "n"));
	json_value_free(v);
}

static void test_syntax_errors(void **state)
{
	check_err("", -EINVAL, 1, 1, "expected a JSON value, found end of input");
	check_err("  \n\t ", -EINVAL, 2, 3, "expected a JSON value, found end of input");
	check_err_n(NULL, 0, NULL, -EINVAL, 1, 1, "expected a JSON value, found end of input");
	check_err("[1 2]", -EINVAL, 1, 4, "expected ',' or ']' after an array item, found '2'");
	check_err("{\"a\": 1 \"b\": 2}", -EINVAL, 1, 9,
		  "expected ',' or '}' after a member, found '\"'");
	check_err("{\"a\"}", -EINVAL, 1, 5, "expected ':' after an object key, found '}'");
	check_err("{\"a\" 1}", -EINVAL, 1, 6, "expected ':' after an object key, found '1'");
	check_err("{\"a\":}", -EINVAL, 1, 6, "expected a value after ':', found '}'");
	check_err("{1: 2}", -EINVAL, 1, 2, "expected a string key or '}' after '{', found '1'");
	check_err("{\"a\": 1,}", -EINVAL, 1, 9, "expected a string key after ',', found '}'");
	check_err("[1,]", -EINVAL, 1, 4, "expected a value after ',', found ']'");
	check_err("[,1]", -EINVAL, 1, 2, "expected a value or ']' after '[', found ','");
	check_err("[1}", -EINVAL, 1, 3, "expected ',' or ']' after an array item, found '}'");
	check_err("{\"a\": 1]", -EINVAL, 1, 8, "expected ',' or '}' after a member, found ']'");
	check_err("{} x", -EINVAL, 1, 4, "trailing data after the JSON value");
	check_err("1 2", -EINVAL, 1, 3, "trailing data after the JSON value");
	check_err("[]\n\n]", -EINVAL, 3, 1, "trailing data after the JSON value");
	check_err("truex", -EINVAL, 1, 5, "trailing data after the JSON value");
	check_err("tru", -EINVAL, 1, 4, "expected 'true', found end of input");
	check_err("[nul1]", -EINVAL, 1, 5, "expected 'null', found '1'");
	check_err("fals", -EINVAL, 1, 5, "expected 'false', found end of input");
	check_err("True", -EINVAL, 1, 1, "expected a JSON value, found 'T'");
	check_err("NaN", -EINVAL, 1, 1, "expected a JSON value, found 'N'");
	check_err("'a'", -EINVAL, 1, 1, "expected a JSON value, found '''");
	check_err("[\xff]", -EINVAL, 1, 2, "expected a value or ']' after '[', found byte 0xff");
	check_err("\xef\xbb\xbf{}", -EINVAL, 1, 1, "expected a JSON value, found byte 0xef");
	check_err_n("[1,\0]", 5, NULL, -EINVAL, 1, 4,
		    "expected a value after ',', found byte 0x00");
	check_err("/* c */ 1", -EINVAL, 1, 1, "expected a JSON value, found '/'");
	/* a position on a later line of a real document */
	check_err("{\n  \"id\": \"x\",\n  \"n\": [1, 2,, 3]\n}", -EINVAL, 3, 14,
		  "expected a value after ',', found ','");
}

static void test_number_errors(void **state)
{
	check_err("01", -EINVAL, 1, 1, "leading zero in a number");
	check_err("[-012]", -EINVAL, 1, 3, "leading zero in a number");
	check_err("00", -EINVAL, 1, 1, "leading zero in a number");
	check_err("+1", -EINVAL, 1, 1, "expected a JSON value, found '+'");
	check_err(".5", -EINVAL, 1, 1, "expected a JSON value, found '.'");
	check_err("1.", -EINVAL, 1, 3, "expected a digit after '.', found end of input");
	check_err("[1.]", -EINVAL, 1, 4, "expected a digit after '.', found ']'");
	check_err("1.e3", -EINVAL, 1, 3, "expected a digit after '.', found 'e'");
	check_err("1e", -EINVAL, 1, 3, "expected a digit in the exponent, found end of input");
	check_err("1e+", -EINVAL, 1, 4, "expected a digit in the exponent, found end of input");
	check_err("1E-x", -EINVAL, 1, 4, "expected a digit in the exponent, found 'x'");
	check_err("-", -EINVAL, 1, 2, "expected a digit after '-', found end of input");
	check_err("--1", -EINVAL, 1, 2, "expected a digit after '-', found '-'");
	check_err("- 1", -EINVAL, 1, 2, "expected a digit after '-', found ' '");
	check_err("-Infinity", -EINVAL, 1, 2, "expected a digit after '-', found 'I'");
	check_err("0x10", -EINVAL, 1, 2, "trailing data after the JSON value");
	check_err("1.5.2", -EINVAL, 1, 4, "trailing data after the JSON value");
}

static void test_string_errors(void **state)
{
#define BAD_ESCAPE \
	"expected an escape ('\"', '\\', '/', 'b', 'f', 'n', 'r', 't' or 'u') after '\\', "
	check_err("\"a\\x\"", -EINVAL, 1, 4, BAD_ESCAPE "found 'x'");
	check_err("\"\\U0041\"", -EINVAL, 1, 3, BAD_ESCAPE "found 'U'");
	check_err("\"\\ \"", -EINVAL, 1, 3, BAD_ESCAPE "found ' '");
	check_err("\"\\\xc3\xa9\"", -EINVAL, 1, 3, BAD_ESCAPE "found byte 0xc3");
#undef BAD_ESCAPE
	check_err("\"\\u12g4\"", -EINVAL, 1, 6, "expected 4 hex digits after '\\u', found 'g'");
	check_err("\"\\u12\"", -EINVAL, 1, 6, "expected 4 hex digits after '\\u', found '\"'");
	/* lone surrogates point at the backslash of the offending escape */
	check_err("\"ab\\ud800\"", -EINVAL, 1, 4, "lone surrogate \\ud800 in a string");
	check_err("\"\\uDBFFx\"", -EINVAL, 1, 2, "lone surrogate \\udbff in a string");
	check_err("\"\\ud800\\u0041\"", -EINVAL, 1, 2, "lone surrogate \\ud800 in a string");
	check_err("\"\\ud800\\ud800\"", -EINVAL, 1, 2, "lone surrogate \\ud800 in a string");
	check_err("\"\\ud800\\n\"", -EINVAL, 1, 2, "lone surrogate \\ud800 in a string");
	check_err("[\"x\", \"\\udc00\\ud800\"]", -EINVAL, 1, 8,
		  "lone surrogate \\udc00 in a string");
	check_err("\"\\ud800\\uzzzz\"", -EINVAL, 1, 10,
		  "expected 4 hex digits after '\\u', found 'z'");
	/* control characters */
	check_err("\"a\tb\"", -EINVAL, 1, 3, "unescaped control character 0x09 in a string");
	check_err("{\"k\n\": 1}", -EINVAL, 1, 4, "unescaped control character 0x0a in a string");
	check_err_n("\"a\0\"", 4, NULL, -EINVAL, 1, 3,
		    "unescaped control character 0x00 in a string");
	check_err("\"\x1f\"", -EINVAL, 1, 2, "unescaped control character 0x1f in a string");
	/* UTF-8: overlong, surrogates, beyond U+10FFFF, stray and invalid bytes */
	check_err("\"ab\xc0\xaf\"", -EINVAL, 1, 4, "invalid UTF-8 in a string");
	check_err("\"\xc1\xbf\"", -EINVAL, 1, 2, "invalid UTF-8 in a string");
	check_err("\"\xe0\x80\xaf\"", -EINVAL, 1, 2, "invalid UTF-8 in a string");
	check_err("\"\xe0\x9f\xbf\"", -EINVAL, 1, 2, "invalid UTF-8 in a string");
	check_err("\"\xf0\x80\x80\xaf\"", -EINVAL, 1, 2, "invalid UTF-8 in a string");
	check_err("\"\xf0\x8f\xbf\xbf\"", -EINVAL, 1, 2, "invalid UTF-8 in a string");
	check_err("\"\xed\xa0\x80\"", -EINVAL, 1, 2, "invalid UTF-8 in a string");
	check_err("\"\xed\xbf\xbf\"", -EINVAL, 1, 2, "invalid UTF-8 in a string");
	check_err("\"\xf4\x90\x80\x80\"", -EINVAL, 1, 2, "invalid UTF-8 in a string");
	check_err("\"\xf5\x80\x80\x80\"", -EINVAL, 1, 2, "invalid UTF-8 in a string");
	check_err("\"\xff\"", -EINVAL, 1, 2, "invalid UTF-8 in a string");
	check_err("\"\xfe\"", -EINVAL, 1, 2, "invalid UTF-8 in a string");
	check_err("\"a\x80\"", -EINVAL, 1, 3, "invalid UTF-8 in a string");
	check_err("\"\xc3\xa9\xbf\"", -EINVAL, 1, 4, "invalid UTF-8 in a string");
	check_err("\"\xe2\x82\"", -EINVAL, 1, 2, "invalid UTF-8 in a string");
	check_err("\"\xe2\x82x\"", -EINVAL, 1, 2, "invalid UTF-8 in a string");
	check_err("\"\xc3\xc3\xa9\"", -EINVAL, 1, 2, "invalid UTF-8 in a string");
	check_err("{\"\xc0\x80\": 1}", -EINVAL, 1, 3, "invalid UTF-8 in a string");
	/* truncated */
	check_err("\"abc", -EINVAL, 1, 5, "unexpected end of input in a string");
	check_err("\"abc\\", -EINVAL, 1, 6, "unexpected end of input in a string");
	check_err("\"\\u00", -EINVAL, 1, 6, "unexpected end of input in a string");
	check_err("\"\\ud800", -EINVAL, 1, 8, "unexpected end of input in a string");
	check_err("\"\\ud800\\", -EINVAL, 1, 9, "unexpected end of input in a string");
	check_err("\"\\ud800\\udc", -EINVAL, 1, 12, "unexpected end of input in a string");
	check_err("\"\xe2\x82", -EINVAL, 1, 4, "unexpected end of input in a string");
}

static void test_duplicate_keys(void **state)
{
	struct json_value *v;

	check_err("{\n  \"id\": 1,\n  \"x\": 2,\n  \"id\": 3\n}", -EINVAL, 4, 3,
		  "duplicate key \"id\" (first at line 2, column 3)");
	/* compared after decoding */
	check_err("{\"a\": 1, \"\\u0061\": 2}", -EINVAL, 1, 10,
		  "duplicate key \"a\" (first at line 1, column 2)");
	check_err("{\"\": 1, \"\": 2}", -EINVAL, 1, 9,
		  "duplicate key \"\" (first at line 1, column 2)");
	/* the first repeat in document order is named, whatever the sort order */
	check_err("{\"b\":1,\"a\":2,\"a\":3,\"b\":4}", -EINVAL, 1, 14,
		  "duplicate key \"a\" (first at line 1, column 8)");
	check_err("{\"z\":1,\"z\":2,\"a\":3,\"a\":4}", -EINVAL, 1, 8,
		  "duplicate key \"z\" (first at line 1, column 2)");
	/* in a nested object */
	check_err("[{\"a\": {\"q\": 1, \"q\": 2}}]", -EINVAL, 1, 17,
		  "duplicate key \"q\" (first at line 1, column 9)");
	/* keys with quotes, control characters and NULs are quoted readably */
	check_err("{\"a\\\"\\n\\u0000\":1,\"a\\\"\\n\\u0000\":2}", -EINVAL, 1, 18,
		  "duplicate key \"a\\\"\\x0a\\x00\" (first at line 1, column 2)");
	/* a long key is shortened, never inside a UTF-8 character */
	{
		char doc[512], key[200], want[256];
		size_t k = 0;

		key[k++] = 'k';
		while (k < 62)
			key[k++] = 'x';
		/* "é" occupies bytes 62 and 63, "€" bytes 64..66: cut before "€" */
		memcpy(key + k, "\xc3\xa9\xe2\x82\xac", 5);
		k += 5;
		while (k < 150)
			key[k++] = 'y';
		key[k] = '\0';
		snprintf(doc, sizeof(doc), "{\"%s\":1,\"%s\":2}", key, key);
		snprintf(want, sizeof(want),
			 "duplicate key \"%.64s...\" (first at line 1, column 2)", key);
		check_err(doc, -EINVAL, 1, (unsigned)(2 + 1 + 150 + 1 + 1 + 1 + 1), want);
	}
	/* the same key in sibling objects, and keys that are prefixes of each other, are fine */
	v = parse_ok("[{\"a\": 1}, {\"a\": 2, \"ab\": 3, \"\": 4, \"b\": {\"a\": 5}}]");
	assert_int_equal(v->arr.items[1]->obj.n, 4);
	json_value_free(v);
}

/* "[[[...1...]]]" with depth brackets. */
static char *nested(unsigned depth, size_t *ret_len)
{
	char *s = malloc(2 * depth + 2);
	size_t n = 0;

	assert_non_null(s);
	for (unsigned k = 0; k < depth; k++)
		s[n++] = '[';
	s[n++] = '1';
	for (unsigned k = 0; k < depth; k++)
		s[n++] = ']';
	s[n] = '\0';
	*ret_len = n;
	return s;
}

static void test_limit_depth(void **state)
{
	struct json_limits lim = { .max_depth = 3 };
	struct json_value *v;
	char msg[64];
	size_t n;
	char *s;

	v = parse_lim("[{\"a\":[1]}]", 11, &lim);
	json_value_free(v);
	check_err_n("[{\"a\":[{}]}]", 12, &lim, -E2BIG, 1, 8, "nesting deeper than 3 levels");
	check_err_n("[[[[1]]]]", 9, &lim, -E2BIG, 1, 4, "nesting deeper than 3 levels");

	/* the default is 64 */
	s = nested(64, &n);
	json_value_free(parse_lim(s, n, NULL));
	free(s);
	s = nested(65, &n);
	check_err_n(s, n, NULL, -E2BIG, 1, 65, "nesting deeper than 64 levels");
	free(s);

	/* a larger limit is capped at 512 */
	lim.max_depth = 100000;
	s = nested(512, &n);
	json_value_free(parse_lim(s, n, &lim));
	free(s);
	s = nested(100000, &n);
	snprintf(msg, sizeof(msg), "nesting deeper than %u levels", 512u);
	check_err_n(s, n, &lim, -E2BIG, 1, 513, msg);
	free(s);
}

/* "[0,0,...]" or "{"k0":0,...}" with n elements. */
static char *many(size_t count, bool object)
{
	struct buf b;
	char *s;

	buf_init(&b, 0);
	assert_int_equal(buf_putc(&b, object ? '{' : '['), 0);
	for (size_t k = 0; k < count; k++) {
		if (object)
			assert_int_equal(buf_printf(&b, "%s\"k%zu\":0", k ? "," : "", k), 0);
		else
			assert_int_equal(buf_puts(&b, k ? ",0" : "0"), 0);
	}
	assert_int_equal(buf_putc(&b, object ? '}' : ']'), 0);
	assert_int_equal(buf_detach(&b, &s, NULL), 0);
	return s;
}

static void test_limit_items(void **state)
{
	struct json_limits lim = { .max_items = 3 };
	struct json_value *v;
	struct timespec t0, t1;
	char *s;

	json_value_free(parse_lim("[1,2,3]", 7, &lim));
	check_err_n("[1,2,3,4]", 9, &lim, -E2BIG, 1, 8, "more than 3 items in one array");
	json_value_free(parse_lim("{\"a\":1,\"b\":2,\"c\":3}", 19, &lim));
	check_err_n("{\"a\":1,\"b\":2,\"c\":3,\"d\":4}", 25, &lim, -E2BIG, 1, 20,
		    "more than 3 members in one object");

	/* the default is 10000, and 10000 distinct keys are checked quickly */
	s = many(10000, false);
	v = parse_ok(s);
	assert_int_equal(v->arr.n, 10000);
	json_value_free(v);
	free(s);
	s = many(10001, false);
	check_err_n(s, strlen(s), NULL, -E2BIG, 1, 20002, "more than 10000 items in one array");
	free(s);

	s = many(10000, true);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	v = parse_ok(s);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(v->obj.n, 10000);
	assert_string_equal(v->obj.members[9999].key, "k9999");
	assert_int_equal(json_get(v, "k5000")->type, JSON_INT);
	json_value_free(v);
	/* generous even under sanitizers; a quadratic check takes far longer */
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 500);
	free(s);
	s = many(10001, true);
	check_err_n(s, strlen(s), NULL, -E2BIG, 1, (unsigned)(strstr(s, "\"k10000\"") - s + 1),
		    "more than 10000 members in one object");
	free(s);

	/* the last key of a large object repeats the first */
	s = many(10000, true);
	memcpy(strstr(s, "\"k9999\""), "\"k0\"   ", 7);
	check_err_n(s, strlen(s), NULL, -EINVAL, 1, (unsigned)(strstr(s, "\"k0\"   ") - s + 1),
		    "duplicate key \"k0\" (first at line 1, column 2)");
	free(s);
}

static void test_limit_string(void **state)
{
	struct json_limits lim = { .max_string = 4 };
	struct json_value *v;
	char *s;
	size_t big = 1024 * 1024;

	json_value_free(parse_lim("[\"abcd\"]", 8, &lim));
	check_err_n("[\"abcde\"]", 9, &lim, -E2BIG, 1, 2, "string longer than 4 bytes");
	/* decoded bytes count: three 2-byte characters */
	check_err_n("[\"\\u00e9\\u00e9\\u00e9\"]", 22, &lim, -E2BIG, 1, 2,
		    "string longer than 4 bytes");
	check_err_n("{\"a\":1,\"keyyy\":2}", 17, &lim, -E2BIG, 1, 8, "string longer than 4 bytes");
	json_value_free(parse_lim("[1234, 1.25]", 12, &lim));
	check_err_n("[1, 12345]", 10, &lim, -E2BIG, 1, 5, "number longer than 4 bytes");

	/* the default is 1 MiB */
	s = malloc(big + 4);
	assert_non_null(s);
	s[0] = '"';
	memset(s + 1, 'a', big);
	s[big + 1] = '"';
	v = parse_lim(s, big + 2, NULL);
	assert_int_equal(v->str.len, big);
	json_value_free(v);
	s[big + 1] = 'a';
	s[big + 2] = '"';
	check_err_n(s, big + 3, NULL, -E2BIG, 1, 1, "string longer than 1048576 bytes");
	free(s);
}

static void test_limit_values(void **state)
{
	struct json_limits lim = { .max_values = 3 };

	json_value_free(parse_lim("[1,2]", 5, &lim));
	check_err_n("[1,2,3]", 7, &lim, -E2BIG, 1, 6, "more than 3 values in the document");
	/* keys are not values */
	json_value_free(parse_lim("{\"a\":{\"b\":1}}", 13, &lim));
	check_err_n("{\"a\":[[1]]}", 11, &lim, -E2BIG, 1, 8, "more than 3 values in the document");
	lim.max_values = 1;
	json_value_free(parse_lim("\"x\"", 3, &lim));
	check_err_n("[1]", 3, &lim, -E2BIG, 1, 2, "more than 1 values in the document");
}

/* Every proper prefix of a valid document fails, at its end, and frees what it built. */
static void test_truncated(void **state)
{
	static const char extra[] = "{\"s\": \"a\\u00e9\\ud83d\\ude00\\n"
				    "\xc3\xa9\xf0\x9f\x98\x80\", "
				    "\"n\": [-0.5e+3, 12, -7, true, false, null, {}, []]}";
	const char *const docs[] = { record, extra };

	for (size_t d = 0; d < ARRAY_SIZE(docs); d++) {
		size_t len = strlen(docs[d]), end;
		unsigned line = 1, col = 1;

		json_value_free(parse_ok(docs[d]));
		/* the document ends with '}' and white space: the prefixes before '}' fail */
		end = strrchr(docs[d], '}') - docs[d];
		for (size_t k = 0; k <= end; k++) {
			struct json_value *v = NULL;
			struct vg_error err;
			char *copy = malloc(k ? k : 1);

			/* an exact-size copy, so ASan sees any read past the end */
			assert_non_null(copy);
			memcpy(copy, docs[d], k);
			assert_int_equal(json_parse(copy, k, NULL, NULL, &v, &err), -EINVAL);
			assert_null(v);
			if (!strstr(err.msg, "end of input"))
				fail_msg("prefix %zu: %s", k, err.msg);
			assert_string_equal(err.file, "");
			/* the error is where the next byte would be */
			assert_int_equal(err.line, line);
			assert_int_equal(err.col, col);
			free(copy);
			if (k < len && docs[d][k] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
	}
}

static void test_null_err(void **state)
{
	struct json_value *v = NULL;
	struct vg_error err;

	/* success leaves err as it was */
	vg_error_set(&err, -EIO, "old", 7, 8, "kept");
	assert_int_equal(json_parse("{}", 2, NULL, "new", &v, &err), 0);
	assert_string_equal(err.msg, "kept");
	assert_string_equal(err.file, "old");
	assert_int_equal(err.line, 7);
	v = json_value_free(v);
	assert_null(v);

	/* err may be NULL */
	assert_int_equal(json_parse("[1,", 3, NULL, NULL, &v, NULL), -EINVAL);
	assert_null(v);
	assert_int_equal(json_parse("[1]", 3, NULL, NULL, &v, NULL), 0);
	json_value_free(v);
}

/* Trees in an arena: the same values as malloc'ed ones, many documents, one free. */
static void test_arena(void **state)
{
	static const char *const docs[] = {
		"{\"a\":[1,2,{\"b\":\"x\\ny\"}],\"c\":-5,\"d\":1.5,\"e\":null,\"f\":true}",
		"{\"z\":1,\"a\":2,\"m\":3}", /* keys out of order: no duplicate */
		"[\"\\u00e9\",\"\\ud83d\\udd12\",[],{}]",
	};
	struct json_arena *a = json_arena_new();
	struct vg_error err;

	(void)state;
	assert_non_null(a);
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
			struct json_value *x = NULL, *y = NULL;

			assert_int_equal(json_parse(docs[i], strlen(docs[i]), NULL, NULL, &x, &err), 0);
			assert_int_equal(json_parse_in(a, docs[i], strlen(docs[i]), NULL, NULL, &y, &err),
					 0);
			assert_true(y->in_arena);
			assert_false(x->in_arena);
			if (i == 0) {
				assert_string_equal(json_get(json_get(x, "a")->arr.items[2], "b")->str.s,
						    json_get(json_get(y, "a")->arr.items[2], "b")->str.s);
				assert_int_equal(json_get(y, "c")->i, -5);
				assert_string_equal(json_get(y, "d")->num.text, "1.5");
			} else if (i == 1) {
				assert_int_equal(json_get(y, "m")->i, 3);
			} else {
				assert_string_equal(y->arr.items[0]->str.s, "\xc3\xa9");
				assert_int_equal(y->arr.items[1]->str.len, 4);
			}
			json_value_free(x);
			assert_null(json_value_free(y)); /* leaves the arena's tree alone */
		}
	}
	/* errors are the same: a duplicate key, in sorted and unsorted objects */
	{
		struct json_value *y = NULL;
		static const char dup1[] = "{\"a\":1,\"a\":2}", dup2[] = "{\"b\":1,\"a\":2,\"b\":3}";

		assert_int_equal(json_parse_in(a, dup1, strlen(dup1), NULL, "d", &y, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "duplicate key \"a\""));
		assert_int_equal(json_parse_in(a, dup2, strlen(dup2), NULL, "d", &y, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "duplicate key \"b\""));
		assert_null(y);
	}
	/* a document larger than a chunk */
	{
		struct buf big;
		struct json_value *y = NULL;

		buf_init(&big, 0);
		buf_puts(&big, "[");
		for (int i = 0; i < 9000; i++)
			buf_printf(&big, "%s\"item %d\"", i ? "," : "", i);
		buf_puts(&big, "]");
		assert_int_equal(json_parse_in(a, big.data, big.len, NULL, NULL, &y, &err), 0);
		assert_int_equal(y->arr.n, 9000); /* items: a block of its own */
		assert_string_equal(y->arr.items[8999]->str.s, "item 8999");
		buf_release(&big);
	}
	assert_int_equal(json_parse_in(NULL, "1", 1, NULL, NULL, &(struct json_value *){ NULL },
				       &err),
			 -EINVAL);
	json_arena_free(a);
	json_arena_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_int64_edges),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_number_errors),
		cmocka_unit_test(test_string_errors),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_limit_depth),
		cmocka_unit_test(test_limit_items),
		cmocka_unit_test(test_limit_string),
		cmocka_unit_test(test_limit_values),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_null_err),
		cmocka_unit_test(test_arena),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * libFuzzer harness: the strict JSON parser.  Whatever it accepts must be a tree within
 * the limits whose strings and keys are valid UTF-8 (checked here by a decoder written
 * independently of the parser's), and must parse again to the same tree when written
 * back out.  Whatever it rejects must come with a located message.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct json_limits lim = {
	.max_depth = 16,
	.max_items = 64,
	.max_string = 256,
	.max_values = 1024,
};

/* Decodes each code point and checks it is in range, minimal and not a surrogate. */
static bool utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	for (size_t i = 0; i < n;) {
		uint32_t cp, min;
		size_t more;

		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			cp = s[i] & 0x1f;
			more = 1;
			min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			cp = s[i] & 0x0f;
			more = 2;
			min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			cp = s[i] & 0x07;
			more = 3;
			min = 0x10000;
		} else {
			return false;
		}
		if (n - i <= more)
			return false;
		for (size_t k = 1; k <= more; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += more + 1;
	}
	return true;
}

static void check_string(const char *s, size_t len)
{
	if (!s || s[len] != '\0' || len > lim.max_string || !utf8_valid(s, len))
		abort();
}

static void check_tree(const struct json_value *v, unsigned depth)
{
	if (!v || v->line == 0 || v->col == 0)
		abort();
	switch (v->type) {
	case JSON_NULL:
	case JSON_BOOL:
	case JSON_INT:
		break;
	case JSON_NUMBER:
		check_string(v->num.text, strlen(v->num.text));
		break;
	case JSON_STRING:
		check_string(v->str.s, v->str.len);
		break;
	case JSON_ARRAY:
		if (depth >= lim.max_depth || v->arr.n > lim.max_items)
			abort();
		for (size_t k = 0; k < v->arr.n; k++)
			check_tree(v->arr.items[k], depth + 1);
		break;
	case JSON_OBJECT:
		if (depth >= lim.max_depth || v->obj.n > lim.max_items)
			abort();
		for (size_t k = 0; k < v->obj.n; k++) {
			const struct json_member *m = &v->obj.members[k];

			check_string(m->key, m->key_len);
			check_tree(m->value, depth + 1);
			/* keys are unique, so a lookup finds this very member */
			if (strlen(m->key) == m->key_len && json_get(v, m->key) != m->value)
				abort();
			for (size_t j = 0; j < k && v->obj.n <= 16; j++)
				if (v->obj.members[j].key_len == m->key_len &&
				    memcmp(v->obj.members[j].key, m->key, m->key_len) == 0)
					abort();
		}
		break;
	default:
		abort();
	}
}

static void put_string(struct buf *b, const char *s, size_t len)
{
	buf_putc(b, '"');
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)s[k];

		if (c < 0x20 || c == '"' || c == '\\')
			buf_printf(b, "\\u%04x", c);
		else
			buf_putc(b, (char)c);
	}
	buf_putc(b, '"');
}

static void write_tree(struct buf *b, const struct json_value *v)
{
	switch (v->type) {
	case JSON_NULL:
		buf_puts(b, "null");
		break;
	case JSON_BOOL:
		buf_puts(b, v->b ? "true" : "false");
		break;
	case JSON_INT:
		buf_printf(b, "%lld", (long long)v->i);
		break;
	case JSON_NUMBER:
		buf_puts(b, v->num.text);
		break;
	case JSON_STRING:
		put_string(b, v->str.s, v->str.len);
		break;
	case JSON_ARRAY:
		buf_putc(b, '[');
		for (size_t k = 0; k < v->arr.n; k++) {
			if (k)
				buf_putc(b, ',');
			write_tree(b, v->arr.items[k]);
		}
		buf_putc(b, ']');
		break;
	case JSON_OBJECT:
		buf_putc(b, '{');
		for (size_t k = 0; k < v->obj.n; k++) {
			if (k)
				buf_putc(b, ',');
			put_string(b, v->obj.members[k].key, v->obj.members[k].key_len);
			buf_putc(b, ':');
			write_tree(b, v->obj.members[k].value);
		}
		buf_putc(b, '}');
		break;
	}
}

static bool same_tree(const struct json_value *a, const struct json_value *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case JSON_NULL:
		return true;
	case JSON_BOOL:
		return a->b == b->b;
	case JSON_INT:
		/* "-0" becomes 0, which writes as "0": still the same integer */
		return a->i == b->i;
	case JSON_NUMBER:
		return strcmp(a->num.text, b->num.text) == 0 &&
		       memcmp(&a->num.d, &b->num.d, sizeof(double)) == 0;
	case JSON_STRING:
		return a->str.len == b->str.len && memcmp(a->str.s, b->str.s, a->str.len) == 0;
	case JSON_ARRAY:
		if (a->arr.n != b->arr.n)
			return false;
		for (size_t k = 0; k < a->arr.n; k++)
			if (!same_tree(a->arr.items[k], b->arr.items[k]))
				return false;
		return true;
	case JSON_OBJECT:
		if (a->obj.n != b->obj.n)
			return false;
		for (size_t k = 0; k < a->obj.n; k++) {
			const struct json_member *x = &a->obj.members[k], *y = &b->obj.members[k];

			if (x->key_len != y->key_len || memcmp(x->key, y->key, x->key_len) != 0 ||
			    !same_tree(x->value, y->value))
				return false;
		}
		return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_value *v = NULL, *again = NULL, *in_arena = NULL;
	struct json_arena *arena = json_arena_new();
	struct vg_error err, err2;
	struct buf out;
	int r, r2;

	if (!arena)
		abort();
	r = json_parse((const char *)data, size, &lim, "fuzz.json", &v, &err);
	/* the same document in an arena: the same result, the same error, the same tree */
	r2 = json_parse_in(arena, (const char *)data, size, &lim, "fuzz.json", &in_arena, &err2);
	if (r != r2 || (r < 0 && (strcmp(err.msg, err2.msg) != 0 || err.line != err2.line ||
				  err.col != err2.col)) ||
	    (r == 0 && !same_tree(v, in_arena)))
		abort();
	json_value_free(in_arena); /* leaves it alone: the arena frees it */
	json_arena_free(arena);
	if (r < 0) {
		if ((r != -EINVAL && r != -E2BIG) || v || err.line == 0 || err.col == 0 ||
		    !err.msg[0] || strcmp(err.file, "fuzz.json") != 0)
			abort();
		return 0;
	}
	check_tree(v, 0);

	/* written back compactly it parses to the same tree */
	buf_init(&out, 0);
	write_tree(&out, v);
	if (json_parse(buf_str(&out), out.len, &lim, NULL, &again, NULL) != 0 ||
	    !same_tree(v, again))
		abort();
	json_value_free(again);
	buf_release(&out);
	json_value_free(v);
	return 0;
}

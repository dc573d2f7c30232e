/* JSON output for events and reports: compact, ordered by the caller, always valid. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/escape.h"
#include "base/json.h"
#include "base/banned.h"

void jw_init(struct json_writer *w, struct buf *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
}

static void put(struct json_writer *w, const char *s, size_t n)
{
	if (!w->err)
		w->err = buf_append(w->out, s, n);
}

static void value_start(struct json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->need_comma[w->depth])
		put(w, ",", 1);
	w->need_comma[w->depth] = true;
}

static void nest_open(struct json_writer *w, const char *c)
{
	value_start(w);
	put(w, c, 1);
	if (w->depth + 1 >= ARRAY_SIZE(w->need_comma)) {
		w->err = w->err ? w->err : -E2BIG;
		return;
	}
	w->depth++;
	w->need_comma[w->depth] = false;
}

static void nest_close(struct json_writer *w, const char *c)
{
	if (w->depth)
		w->depth--;
	put(w, c, 1);
}

void jw_obj_open(struct json_writer *w)
{
	nest_open(w, "{");
}

void jw_obj_close(struct json_writer *w)
{
	nest_close(w, "}");
}

void jw_arr_open(struct json_writer *w)
{
	nest_open(w, "[");
}

void jw_arr_close(struct json_writer *w)
{
	nest_close(w, "]");
}

static void quoted(struct json_writer *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	put(w, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[6];
		size_t el;

		if (c >= 0x20 && c != '"' && c != '\\') {
			run++;
			continue;
		}
		put(w, s + i - run, run);
		run = 0;
		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			el = 2;
		} else if (c == '\n') {
			memcpy(e, "\\n", 2);
			el = 2;
		} else if (c == '\t') {
			memcpy(e, "\\t", 2);
			el = 2;
		} else {
			memcpy(e, "\\u00", 4);
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			el = 6;
		}
		put(w, e, el);
	}
	put(w, s + n - run, run);
	put(w, "\"", 1);
}

void jw_key(struct json_writer *w, const char *key)
{
	value_start(w);
	quoted(w, key, strlen(key));
	put(w, ":", 1);
	w->after_key = true;
}

void jw_str(struct json_writer *w, const char *s)
{
	value_start(w);
	quoted(w, s, strlen(s));
}

void jw_str_bytes(struct json_writer *w, const void *p, size_t n)
{
	struct buf tmp;

	if (escape_is_plain(p, n)) {
		value_start(w);
		quoted(w, p, n);
		return;
	}
	buf_init(&tmp, w->out->max);
	if (!w->err)
		w->err = escape_bytes(&tmp, p, n);
	value_start(w);
	quoted(w, buf_str(&tmp), tmp.len);
	buf_release(&tmp);
}

void jw_u64(struct json_writer *w, uint64_t v)
{
	char s[24];
	int n = snprintf(s, sizeof(s), "%" PRIu64, v);

	value_start(w);
	put(w, s, (size_t)n);
}

void jw_i64(struct json_writer *w, int64_t v)
{
	char s[24];
	int n = snprintf(s, sizeof(s), "%" PRId64, v);

	value_start(w);
	put(w, s, (size_t)n);
}

void jw_bool(struct json_writer *w, bool v)
{
	value_start(w);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct json_writer *w)
{
	value_start(w);
	put(w, "null", 4);
}

void jw_raw(struct json_writer *w, const char *json)
{
	value_start(w);
	put(w, json, strlen(json));
}

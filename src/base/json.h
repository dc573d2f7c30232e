/*
 * A small JSON writer into a struct buf.  It tracks only whether a comma is due, so
 * callers write objects in order:
 *
 *	jw_obj_open(&w);
 *	jw_key(&w, "path"); jw_str_bytes(&w, p, n);
 *	jw_key(&w, "size"); jw_u64(&w, 12);
 *	jw_obj_close(&w);
 *
 * Strings from the system (paths, names) go through jw_str_bytes(), which applies the
 * escape rule of base/escape.h first, so the JSON is always valid UTF-8.  Errors are
 * sticky: the first failure is kept in w->err and later calls do nothing.
 */
#ifndef VIGIL_BASE_JSON_H
#define VIGIL_BASE_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"

struct json_writer {
	struct buf *out;
	int err;
	unsigned depth;
	bool after_key;
	bool need_comma[32];
};

void jw_init(struct json_writer *w, struct buf *out);
void jw_obj_open(struct json_writer *w);
void jw_obj_close(struct json_writer *w);
void jw_arr_open(struct json_writer *w);
void jw_arr_close(struct json_writer *w);
void jw_key(struct json_writer *w, const char *key);
/* A UTF-8 string written as it is (JSON-escaped only); for text Vigil itself made. */
void jw_str(struct json_writer *w, const char *s);
/* Arbitrary bytes: escape rule of base/escape.h, then JSON string escaping. */
void jw_str_bytes(struct json_writer *w, const void *p, size_t n);
void jw_u64(struct json_writer *w, uint64_t v);
void jw_i64(struct json_writer *w, int64_t v);
void jw_bool(struct json_writer *w, bool v);
void jw_null(struct json_writer *w);
/* Appends already-serialised JSON as one value. */
void jw_raw(struct json_writer *w, const char *json);

#endif

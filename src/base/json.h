/*
 * A small JSON writer into a struct buf.  It tracks only whether a comma is due, so
 * callers write objects in order:
 *
 *	json_obj_open(&w);
 *	json_key(&w, "path"); json_str_bytes(&w, p, n);
 *	json_key(&w, "size"); json_u64(&w, 12);
 *	json_obj_close(&w);
 *
 * Strings from the system (paths, names) go through json_str_bytes(), which applies the
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

void json_writer_init(struct json_writer *w, struct buf *out);
void json_obj_open(struct json_writer *w);
void json_obj_close(struct json_writer *w);
void json_arr_open(struct json_writer *w);
void json_arr_close(struct json_writer *w);
void json_key(struct json_writer *w, const char *key);
/* A UTF-8 string written as it is (JSON-escaped only); for text Vigil itself made. */
void json_str(struct json_writer *w, const char *s);
/* Arbitrary bytes: escape rule of base/escape.h, then JSON string escaping. */
void json_str_bytes(struct json_writer *w, const void *p, size_t n);
void json_u64(struct json_writer *w, uint64_t v);
void json_i64(struct json_writer *w, int64_t v);
void json_bool(struct json_writer *w, bool v);
void json_null(struct json_writer *w);
/* Appends already-serialised JSON as one value. */
void json_raw(struct json_writer *w, const char *json);

#endif

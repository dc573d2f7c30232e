/*
 * Canonical JSON (the form journal entries are hashed in): object members sorted by
 * key (byte order of the unescaped key, which for the ASCII keys Vigil writes is
 * RFC 8785 order), no insignificant white space, strings escaped minimally ('"', '\',
 * \b \f \n \r \t, other controls as \u00xx), numbers restricted to integers.
 *
 * json_canonicalize() parses text (any valid JSON of that subset: no fractions or
 * exponents, nesting at most JSON_CANON_DEPTH) and appends its canonical form.
 * Duplicate keys in one object are an error.
 */
#ifndef VIGIL_BASE_JSON_CANON_H
#define VIGIL_BASE_JSON_CANON_H

#include <stddef.h>

#include "base/buf.h"

#define JSON_CANON_DEPTH 64

/* Returns 0, -EINVAL (not valid or not in the subset), -E2BIG, -ENOMEM. */
int json_canonicalize(const char *text, size_t n, struct buf *out);

/*
 * Copies the value of the top-level member key of the JSON object text, when it is a
 * string without escapes, into out.  Returns 0, -ENOENT (no such string member),
 * -EINVAL (not an object), -E2BIG (does not fit).
 */
int json_top_string(const char *text, size_t n, const char *key, char *out, size_t size);
/* The same for a member reached through nested objects, named "a.b.c"; a whole number
 * member is given as its digits. */
int json_path_string(const char *text, size_t n, const char *path, char *out, size_t size);

#endif

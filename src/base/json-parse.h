/*
 * A JSON parser for documents from outside (change record files, imports, API bodies):
 * RFC 8259, strict (no comments, no trailing commas, no leading zeros, no NaN, no byte
 * order mark), UTF-8 validated (overlong forms, encoded surrogates, code points above
 * U+10FFFF and stray bytes are errors), \u escapes (with surrogate pairs; a lone
 * surrogate is an error) decoded, duplicate keys in one object an error (keys compared
 * after decoding, so "a" and "\u0061" are the same key).  It builds a tree of struct
 * json_value; every value remembers the line and column where it starts, so callers can
 * name the place of a semantic error too.
 *
 * Positions: lines are counted by '\n', columns in bytes from 1 (a tab is one column,
 * a multibyte UTF-8 character as many columns as it has bytes).
 *
 * Limits (struct json_limits, or the defaults below when NULL or for a field left 0)
 * bound the depth, the members of one object or array, the length of a string and the
 * total number of values; exceeding one is an error that names the place.
 *
 *	struct json_value *doc;
 *	struct vg_error err;
 *	r = json_parse(text, len, NULL, "record.json", &doc, &err);
 *	if (r < 0)
 *		... vg_error_format(&err, ...) ...
 *	id = json_get(doc, "id");
 *	if (!id || id->type != JSON_STRING)
 *		... report at doc->line, doc->col ...
 *	json_value_free(doc);
 */
#ifndef VIGIL_BASE_JSON_PARSE_H
#define VIGIL_BASE_JSON_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_INT,	/* a number without fraction or exponent that fits int64_t ("-0" is 0) */
	JSON_NUMBER,	/* any other number: kept as its text and as a double (strtod in the
			 * C locale: ±HUGE_VAL when too large, rounded towards 0 when too
			 * small; the text is exact) */
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_value;

struct json_member {
	char *key;		/* NUL-terminated; key_len excludes the NUL (may contain NULs) */
	size_t key_len;
	struct json_value *value;
};

struct json_value {
	enum json_type type;
	unsigned line, col;	/* 1-based position of the value's first character */
	bool in_arena;		/* made by json_parse_in(): freed with its arena only */
	union {
		bool b;
		int64_t i;
		struct {
			double d;
			char *text;
		} num;
		struct {
			char *s;	/* NUL-terminated UTF-8; len excludes the NUL */
			size_t len;
		} str;
		struct {
			struct json_value **items;
			size_t n;
		} arr;
		struct {
			struct json_member *members;	/* in document order */
			size_t n;
		} obj;
	};
};

/* Each field left 0 takes its default. */
struct json_limits {
	unsigned max_depth;	/* nested arrays and objects; default 64, at most 512 (more is
				 * taken as 512: the parser recurses once per level) */
	size_t max_items;	/* members of one object or items of one array; default 10000 */
	size_t max_string;	/* bytes of one decoded string or key, and of the text of one
				 * number; default 1 MiB */
	size_t max_values;	/* values in the whole document; default 1000000 */
};

/*
 * Parses text[0..n) (one JSON value, white space around it allowed; text need not be
 * NUL-terminated).  lim may be NULL for the defaults.  On success returns 0 and *ret owns
 * the tree (json_value_free); err is left as it was.  On failure *ret is untouched,
 * nothing is left allocated, and the return is -EINVAL (syntax, encoding, duplicate key),
 * -E2BIG (a limit) or -ENOMEM; err (may be NULL) then says where and why, with file (may
 * be NULL for "") as the file name, e.g. "record.json:3:17: expected ',' or '}' after a
 * member, found ']'".  A syntax error points at the offending byte (just past the last
 * byte for a truncated document), a limit at the first byte of the value, item or
 * member that exceeds it, a duplicate key at its second occurrence.  Messages are
 * lowercase without a final period and name what was expected and what was found: 'x'
 * for a printable ASCII character, "byte 0xNN" for any other byte, "end of input".
 */
int json_parse(const char *text, size_t n, const struct json_limits *lim, const char *file,
	       struct json_value **ret, struct vg_error *err);
/*
 * An arena: the trees of many documents parsed with json_parse_in() live in it, without
 * one allocation per value, and go all at once with json_arena_free().  For reading many
 * documents (a journal's entries) where the trees live as long as each other.
 */
struct json_arena;
struct json_arena *json_arena_new(void);
void json_arena_free(struct json_arena *a);
/* Forgets every tree in a, keeping some of its memory for the next ones. */
void json_arena_reset(struct json_arena *a);
/* As json_parse(), the tree in arena a (json_value_free() leaves it alone).  On failure
 * what was parsed stays in the arena until it is freed. */
int json_parse_in(struct json_arena *a, const char *text, size_t n,
		  const struct json_limits *lim, const char *file, struct json_value **ret,
		  struct vg_error *err);

/* Frees v and everything under it (not a tree in an arena); accepts NULL; returns NULL. */
struct json_value *json_value_free(struct json_value *v);

/*
 * The value of member key of object v, owned by v (NULL if v is NULL, not an object or
 * has no such member; a key holding \u0000 cannot be looked up this way).  A linear
 * search: walk v->obj.members to visit many keys.
 */
const struct json_value *json_get(const struct json_value *v, const char *key);
/* "object", "array", "string", "integer", "number", "true/false", "null", for messages
 * such as "expected a string, found an integer" (a static string). */
const char *json_type_name(enum json_type t);

#endif

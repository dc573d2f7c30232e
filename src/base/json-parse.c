/*
 * The strict JSON parser for documents that come from outside the program.  Other JSON
 * code in base/ either writes JSON (json.c) or reads documents Vigil wrote itself
 * (json-canon.c); this one assumes the input is hostile: every byte is checked against
 * RFC 8259 and UTF-8, every input that can grow memory has a limit, and every error
 * names its line and column so a person can fix the file.
 *
 * It is a recursive descent over the text with one scratch buffer for decoding strings.
 * The recursion is bounded by the depth limit, itself capped at DEPTH_CAP.  Duplicate
 * keys are found once an object is complete, by sorting an index of its keys, so a large
 * object costs O(n log n) rather than a comparison of every pair.
 */
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/escape.h"
#include "base/json-parse.h"
#include "base/banned.h"

#define DEPTH_DEFAULT 64u
#define DEPTH_CAP 512u
#define ITEMS_DEFAULT 10000u
#define STRING_DEFAULT (1024u * 1024u)
#define VALUES_DEFAULT 1000000u

/* How many bytes of a key a duplicate-key message quotes. */
#define KEY_QUOTE_MAX 64

struct parser {
	const char *s;
	size_t n, i;
	unsigned line;		/* line of s[i], 1-based */
	size_t line_start;	/* offset of the first byte of that line */
	unsigned max_depth;
	size_t max_items, max_string, max_values;
	size_t values;		/* values created so far */
	const char *file;
	struct vg_error *err;
	struct buf str;		/* scratch for the string being decoded */
	struct json_arena *arena;	/* NULL: each value is malloc'ed */
};

/* ---- arenas ---- */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	_Alignas(16) unsigned char data[];
};

struct json_arena {
	struct arena_chunk *head;
};

#define ARENA_CHUNK (256u * 1024)

struct json_arena *json_arena_new(void)
{
	return calloc(1, sizeof(struct json_arena));
}

void json_arena_free(struct json_arena *a)
{
	if (!a)
		return;
	while (a->head) {
		struct arena_chunk *c = a->head;

		a->head = c->next;
		free(c);
	}
	free(a);
}

void json_arena_reset(struct json_arena *a)
{
	struct arena_chunk *keep;

	if (!a || !a->head)
		return;
	/* the head is a standard chunk (large blocks go behind it): kept, emptied */
	keep = a->head;
	a->head = keep->next;
	while (a->head) {
		struct arena_chunk *c = a->head;

		a->head = c->next;
		free(c);
	}
	keep->next = NULL;
	keep->used = 0;
	a->head = keep;
}

static void *arena_alloc(struct json_arena *a, size_t n)
{
	struct arena_chunk *c = a->head;

	n = (n + 15) & ~(size_t)15;
	if (!c || c->size - c->used < n) {
		size_t size = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK;

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->used = 0;
		c->size = size;
		if (size == n && a->head) {
			/* a large block: keep filling the current chunk after it */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	c->used += n;
	return c->data + c->used - n;
}

/* n bytes for the tree: from the arena when there is one (zeroed when asked). */
static void *tree_alloc(struct parser *p, size_t n, bool zero)
{
	void *m;

	if (!p->arena)
		return zero ? calloc(1, n) : malloc(n);
	m = arena_alloc(p->arena, n);
	if (m && zero)
		memset(m, 0, n);
	return m;
}

struct pos {
	unsigned line, col;
};

/*
 * The position of byte at.  Only white space contains line breaks (a raw newline in a
 * string is an error), so every offset the parser reports is on the current line.
 */
static struct pos pos_at(const struct parser *p, size_t at)
{
	size_t col = at - p->line_start + 1;

	return (struct pos){ p->line, col > UINT_MAX ? UINT_MAX : (unsigned)col };
}

static int fail(struct parser *p, int code, size_t at, const char *fmt, ...) _printf_(4, 5);
static int fail(struct parser *p, int code, size_t at, const char *fmt, ...)
{
	struct pos pos = pos_at(p, at);
	char msg[sizeof(p->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vg_error_set(p->err, code, p->file, pos.line, pos.col, "%s", msg);
}

/* Describes the byte at offset at for an error message: 'x', byte 0x0a or end of input. */
static const char *found(const struct parser *p, size_t at, char out[static 16])
{
	unsigned char c;

	if (at >= p->n)
		return "end of input";
	c = (unsigned char)p->s[at];
	if (c >= 0x20 && c < 0x7f)
		snprintf(out, 16, "'%c'", c);
	else
		snprintf(out, 16, "byte 0x%02x", c);
	return out;
}

static void skip_ws(struct parser *p)
{
	while (p->i < p->n) {
		char c = p->s[p->i];

		if (c == '\n') {
			if (p->line < UINT_MAX)
				p->line++;
			p->line_start = p->i + 1;
		} else if (c != ' ' && c != '\t' && c != '\r') {
			break;
		}
		p->i++;
	}
}

static bool is_digit(const struct parser *p, size_t at)
{
	return at < p->n && p->s[at] >= '0' && p->s[at] <= '9';
}

static int value_new(struct parser *p, enum json_type type, size_t at, struct json_value **ret)
{
	struct json_value *v;
	struct pos pos;

	if (p->values >= p->max_values)
		return fail(p, -E2BIG, at, "more than %zu values in the document", p->max_values);
	v = tree_alloc(p, sizeof(*v), true);
	if (!v)
		return fail(p, -ENOMEM, at, "out of memory");
	p->values++;
	pos = pos_at(p, at);
	v->in_arena = p->arena != NULL;
	v->type = type;
	v->line = pos.line;
	v->col = pos.col;
	*ret = v;
	return 0;
}

/*
 * Length of the UTF-8 sequence whose lead byte (>= 0x80) is at s[0], of n available
 * bytes: 2 to 4 when well-formed, 0 when not (overlong forms, UTF-16 surrogates, code
 * points above U+10FFFF, stray bytes), -1 when the input ends inside it.  The ranges are
 * those of the well-formed byte sequences table of the Unicode standard.
 */
static int utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	int len;

	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;	/* below: overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* above: surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;	/* below: overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* above: beyond U+10FFFF */
	} else {
		return 0;
	}
	for (int k = 1; k < len; k++) {
		if ((size_t)k >= n)
			return -1;
		if (s[k] < lo || s[k] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

static size_t put_utf8(char *b, uint32_t cp)
{
	if (cp < 0x80) {
		b[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (char)(0xf0 | cp >> 18);
	b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	b[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static int lone_surrogate(struct parser *p, size_t at, uint32_t cp)
{
	return fail(p, -EINVAL, at, "lone surrogate \\u%04x in a string", cp);
}

static int eof_in_string(struct parser *p)
{
	return fail(p, -EINVAL, p->n, "unexpected end of input in a string");
}

/* Appends decoded bytes of the string that starts at offset start. */
static int str_append(struct parser *p, size_t start, const char *b, size_t len)
{
	int r = buf_append(&p->str, b, len);

	if (r == -E2BIG)
		return fail(p, r, start, "string longer than %zu bytes", p->max_string);
	if (r < 0)
		return fail(p, r, start, "out of memory");
	return 0;
}

/* The four hex digits at offset at (after "\u"). */
static int hex4(struct parser *p, size_t at, uint32_t *ret)
{
	uint32_t v = 0;
	char f[16];

	for (size_t k = 0; k < 4; k++) {
		int d;

		if (at + k >= p->n)
			return eof_in_string(p);
		d = hex_digit(p->s[at + k]);
		if (d < 0)
			return fail(p, -EINVAL, at + k,
				    "expected 4 hex digits after '\\u', found %s",
				    found(p, at + k, f));
		v = v << 4 | (uint32_t)d;
	}
	*ret = v;
	return 0;
}

/* The escape sequence at p->i (a backslash) of the string that starts at start. */
static int parse_escape(struct parser *p, size_t start)
{
	size_t at = p->i;
	char out[4], f[16];
	size_t len = 1;
	uint32_t cp, lo;
	int r;

	if (at + 1 >= p->n)
		return eof_in_string(p);
	switch (p->s[at + 1]) {
	case '"':
	case '\\':
	case '/':
		out[0] = p->s[at + 1];
		break;
	case 'b':
		out[0] = '\b';
		break;
	case 'f':
		out[0] = '\f';
		break;
	case 'n':
		out[0] = '\n';
		break;
	case 'r':
		out[0] = '\r';
		break;
	case 't':
		out[0] = '\t';
		break;
	case 'u':
		r = hex4(p, at + 2, &cp);
		if (r < 0)
			return r;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return lone_surrogate(p, at, cp);
		if (cp >= 0xd800 && cp <= 0xdbff) {
			/* only a following low-surrogate escape completes it */
			size_t next = at + 6;

			if (next >= p->n || (p->s[next] == '\\' && next + 1 >= p->n))
				return eof_in_string(p);
			if (p->s[next] != '\\' || p->s[next + 1] != 'u')
				return lone_surrogate(p, at, cp);
			r = hex4(p, next + 2, &lo);
			if (r < 0)
				return r;
			if (lo < 0xdc00 || lo > 0xdfff)
				return lone_surrogate(p, at, cp);
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			at += 6;
		}
		len = put_utf8(out, cp);
		p->i = at + 6;
		return str_append(p, start, out, len);
	default:
		return fail(p, -EINVAL, at + 1,
			    "expected an escape ('\"', '\\', '/', 'b', 'f', 'n', 'r', 't' or 'u') "
			    "after '\\', found %s",
			    found(p, at + 1, f));
	}
	p->i = at + 2;
	return str_append(p, start, out, len);
}

/*
 * The string at p->i (its opening quote), decoded into a new NUL-terminated allocation.
 * A limit error points at the opening quote, a syntax error at the offending byte.
 */
static int parse_string(struct parser *p, char **ret_s, size_t *ret_len)
{
	size_t start = p->i;
	char *s;
	int r;

	buf_reset(&p->str);
	p->i++;
	for (;;) {
		size_t run = p->i;
		unsigned char c = 0;

		/* copy a run of plain characters, UTF-8 validated, in one append */
		while (p->i < p->n) {
			c = (unsigned char)p->s[p->i];
			if (c < 0x20 || c == '"' || c == '\\')
				break;
			if (c < 0x80) {
				p->i++;
			} else {
				int len = utf8_seq((const unsigned char *)p->s + p->i, p->n - p->i);

				if (len < 0)
					return eof_in_string(p);
				if (len == 0)
					return fail(p, -EINVAL, p->i, "invalid UTF-8 in a string");
				p->i += (size_t)len;
			}
		}
		r = str_append(p, start, p->s + run, p->i - run);
		if (r < 0)
			return r;
		if (p->i >= p->n)
			return eof_in_string(p);
		if (c == '"') {
			p->i++;
			break;
		}
		if (c < 0x20)
			return fail(p, -EINVAL, p->i,
				    "unescaped control character 0x%02x in a string", c);
		r = parse_escape(p, start);
		if (r < 0)
			return r;
	}
	s = tree_alloc(p, p->str.len + 1, false);
	if (!s)
		return fail(p, -ENOMEM, start, "out of memory");
	memcpy(s, buf_str(&p->str), p->str.len + 1);
	*ret_s = s;
	*ret_len = p->str.len;
	return 0;
}

/*
 * strtod() follows LC_NUMERIC, and a program that calls setlocale() may have a decimal
 * comma there; JSON numbers are always read in the C locale.  The locale object is made
 * once and kept for the life of the process.
 */
static locale_t c_locale(void)
{
	static locale_t cached;
	locale_t l = __atomic_load_n(&cached, __ATOMIC_ACQUIRE), none = (locale_t)0;

	if (l)
		return l;
	l = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	if (!l)
		return (locale_t)0;
	if (!__atomic_compare_exchange_n(&cached, &none, l, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		freelocale(l);
		l = none;
	}
	return l;
}

/* The number at p->i: the grammar is checked first, then its value computed. */
static int parse_number(struct parser *p, struct json_value **ret)
{
	size_t start = p->i, i = p->i, digits, len;
	struct json_value *v = NULL;
	bool neg = false, integral = true;
	uint64_t mag = 0, max;
	locale_t loc;
	char f[16];
	int r;

	if (p->s[i] == '-') {
		neg = true;
		i++;
	}
	if (!is_digit(p, i))
		return fail(p, -EINVAL, i, "expected a digit after '-', found %s", found(p, i, f));
	digits = i;
	if (p->s[i] == '0') {
		if (is_digit(p, i + 1))
			return fail(p, -EINVAL, i, "leading zero in a number");
		i++;
	} else {
		while (is_digit(p, i))
			i++;
	}
	if (i < p->n && p->s[i] == '.') {
		integral = false;
		i++;
		if (!is_digit(p, i))
			return fail(p, -EINVAL, i, "expected a digit after '.', found %s",
				    found(p, i, f));
		while (is_digit(p, i))
			i++;
	}
	if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
		integral = false;
		i++;
		if (i < p->n && (p->s[i] == '+' || p->s[i] == '-'))
			i++;
		if (!is_digit(p, i))
			return fail(p, -EINVAL, i, "expected a digit in the exponent, found %s",
				    found(p, i, f));
		while (is_digit(p, i))
			i++;
	}
	len = i - start;
	if (len > p->max_string)
		return fail(p, -E2BIG, start, "number longer than %zu bytes", p->max_string);

	r = value_new(p, JSON_INT, start, &v);
	if (r < 0)
		goto out;
	if (integral) {
		/* the magnitude of INT64_MIN is one more than INT64_MAX */
		max = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
		for (size_t k = digits; k < i; k++) {
			unsigned d = (unsigned)(p->s[k] - '0');

			if (mag > (max - d) / 10) {
				integral = false;
				break;
			}
			mag = mag * 10 + d;
		}
	}
	if (integral) {
		if (!neg)
			v->i = (int64_t)mag;
		else if (mag == (uint64_t)INT64_MAX + 1)
			v->i = INT64_MIN;
		else
			v->i = -(int64_t)mag;
	} else {
		v->type = JSON_NUMBER;
		v->num.text = tree_alloc(p, len + 1, false);
		if (!v->num.text) {
			r = fail(p, -ENOMEM, start, "out of memory");
			goto out;
		}
		memcpy(v->num.text, p->s + start, len);
		v->num.text[len] = '\0';
		loc = c_locale();
		if (!loc) {
			r = fail(p, -ENOMEM, start, "out of memory");
			goto out;
		}
		/* out of the range of double gives ±HUGE_VAL or a value rounded towards 0 */
		v->num.d = strtod_l(v->num.text, NULL, loc);
	}
	p->i = i;
	*ret = TAKE_PTR(v);
	r = 0;
out:
	json_value_free(v);
	return r;
}

/* true, false or null at p->i, whose first letter is already known. */
static int parse_literal(struct parser *p, const char *word, struct json_value **ret)
{
	size_t len = strlen(word);
	struct json_value *v = NULL;
	char f[16];
	int r;

	for (size_t k = 0; k < len; k++)
		if (p->i + k >= p->n || p->s[p->i + k] != word[k])
			return fail(p, -EINVAL, p->i + k, "expected '%s', found %s", word,
				    found(p, p->i + k, f));
	r = value_new(p, word[0] == 'n' ? JSON_NULL : JSON_BOOL, p->i, &v);
	if (r < 0)
		return r;
	v->b = word[0] == 't';
	p->i += len;
	*ret = v;
	return 0;
}

static int parse_value(struct parser *p, unsigned depth, const char *expected,
		       struct json_value **ret);

/*
 * Makes room for one more element in the array whose address is pitems (a T **), of
 * which n are used and *cap allocated, never allocating more than max_items.
 */
static int grow(struct parser *p, void *pitems, size_t size, size_t n, size_t *cap, bool tree)
{
	void *items, *b;
	size_t nc;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 4;
	if (nc > p->max_items)
		nc = p->max_items;
	memcpy(&items, pitems, sizeof(items));
	if (tree && p->arena) {
		/* nc <= max_items, so nc * size cannot overflow */
		b = arena_alloc(p->arena, nc * size);
		if (b && n)
			memcpy(b, items, n * size);
	} else {
		b = reallocarray(items, nc, size);
	}
	if (!b)
		return fail(p, -ENOMEM, p->i, "out of memory");
	memcpy(pitems, &b, sizeof(b));
	*cap = nc;
	return 0;
}

/* The items of array v, from p->i at its '['. */
static int parse_array(struct parser *p, unsigned depth, struct json_value *v)
{
	size_t cap = 0;
	char f[16];
	int r;

	p->i++;
	skip_ws(p);
	if (p->i < p->n && p->s[p->i] == ']') {
		p->i++;
		return 0;
	}
	for (;;) {
		if (v->arr.n >= p->max_items)
			return fail(p, -E2BIG, p->i, "more than %zu items in one array",
				    p->max_items);
		r = grow(p, &v->arr.items, sizeof(*v->arr.items), v->arr.n, &cap, true);
		if (r < 0)
			return r;
		r = parse_value(p, depth,
				v->arr.n ? "a value after ','" : "a value or ']' after '['",
				&v->arr.items[v->arr.n]);
		if (r < 0)
			return r;
		v->arr.n++;
		skip_ws(p);
		if (p->i >= p->n || (p->s[p->i] != ',' && p->s[p->i] != ']'))
			return fail(p, -EINVAL, p->i,
				    "expected ',' or ']' after an array item, found %s",
				    found(p, p->i, f));
		if (p->s[p->i++] == ']')
			return 0;
		skip_ws(p);
	}
}

struct key_ref {
	const char *key;
	size_t len;
	size_t idx;
};

static int key_ref_cmp(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	/* equal keys stay in document order, so a group starts with the first of them */
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Writes key into out (at least KEY_QUOTE_MAX * 4 + 8 bytes) as text fit for a message:
 * quoted, control characters escaped, cut after KEY_QUOTE_MAX bytes at a character
 * boundary.  The key is valid UTF-8, so a lead byte is always followed by its sequence.
 */
static void quote_key(char *out, size_t size, const char *key, size_t len)
{
	size_t o = 0, k = 0;

	out[o++] = '"';
	while (k < len) {
		unsigned char c = (unsigned char)key[k];
		size_t seq = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

		if (k + seq > KEY_QUOTE_MAX)
			break;
		if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
		} else if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else {
			memcpy(out + o, key + k, seq);
			o += seq;
		}
		k += seq;
	}
	snprintf(out + o, size - o, "%s\"", k < len ? "..." : "");
}

/* Fails on the first key of object v (in document order) that repeats an earlier one. */
static int check_duplicates(struct parser *p, const struct json_value *v, const struct pos *kpos)
{
	size_t n = v->obj.n, dup = SIZE_MAX, orig = 0, group = 0;
	bool sorted = true;
	struct key_ref *refs;
	char q[KEY_QUOTE_MAX * 4 + 16];
	int r = 0;

	if (n < 2)
		return 0;
	/* keys in strictly increasing order (canonical JSON) cannot repeat */
	for (size_t k = 1; sorted && k < n; k++) {
		const struct json_member *x = &v->obj.members[k - 1], *y = &v->obj.members[k];
		int c = memcmp(x->key, y->key, x->key_len < y->key_len ? x->key_len : y->key_len);

		sorted = c < 0 || (c == 0 && x->key_len < y->key_len);
	}
	if (sorted)
		return 0;
	refs = reallocarray(NULL, n, sizeof(*refs));
	if (!refs)
		return fail(p, -ENOMEM, p->i, "out of memory");
	for (size_t k = 0; k < n; k++)
		refs[k] = (struct key_ref){ v->obj.members[k].key, v->obj.members[k].key_len, k };
	qsort(refs, n, sizeof(*refs), key_ref_cmp);
	for (size_t k = 1; k < n; k++) {
		if (refs[k].len != refs[k - 1].len ||
		    memcmp(refs[k].key, refs[k - 1].key, refs[k].len) != 0) {
			group = k;
			continue;
		}
		if (refs[k].idx < dup) {
			dup = refs[k].idx;
			orig = refs[group].idx;
		}
	}
	if (dup != SIZE_MAX) {
		quote_key(q, sizeof(q), v->obj.members[dup].key, v->obj.members[dup].key_len);
		r = vg_error_set(p->err, -EINVAL, p->file, kpos[dup].line, kpos[dup].col,
				 "duplicate key %s (first at line %u, column %u)", q,
				 kpos[orig].line, kpos[orig].col);
	}
	free(refs);
	return r;
}

/* The members of object v, from p->i at its '{'. */
static int parse_object(struct parser *p, unsigned depth, struct json_value *v)
{
	struct pos *kpos = NULL;	/* where each key starts, for duplicate messages */
	size_t cap = 0, kcap = 0;
	char f[16];
	int r;

	p->i++;
	skip_ws(p);
	if (p->i < p->n && p->s[p->i] == '}') {
		p->i++;
		return 0;
	}
	for (;;) {
		struct json_member *m;

		if (p->i >= p->n || p->s[p->i] != '"') {
			r = fail(p, -EINVAL, p->i, "expected a string key %s, found %s",
				 v->obj.n ? "after ','" : "or '}' after '{'", found(p, p->i, f));
			goto out;
		}
		if (v->obj.n >= p->max_items) {
			r = fail(p, -E2BIG, p->i, "more than %zu members in one object",
				 p->max_items);
			goto out;
		}
		r = grow(p, &v->obj.members, sizeof(*v->obj.members), v->obj.n, &cap, true);
		if (r < 0)
			goto out;
		r = grow(p, &kpos, sizeof(*kpos), v->obj.n, &kcap, false);
		if (r < 0)
			goto out;
		kpos[v->obj.n] = pos_at(p, p->i);
		/* the member counts from here, so a failure below frees its key */
		m = &v->obj.members[v->obj.n];
		m->value = NULL;
		r = parse_string(p, &m->key, &m->key_len);
		if (r < 0)
			goto out;
		v->obj.n++;
		skip_ws(p);
		if (p->i >= p->n || p->s[p->i] != ':') {
			r = fail(p, -EINVAL, p->i, "expected ':' after an object key, found %s",
				 found(p, p->i, f));
			goto out;
		}
		p->i++;
		skip_ws(p);
		r = parse_value(p, depth, "a value after ':'", &m->value);
		if (r < 0)
			goto out;
		skip_ws(p);
		if (p->i >= p->n || (p->s[p->i] != ',' && p->s[p->i] != '}')) {
			r = fail(p, -EINVAL, p->i, "expected ',' or '}' after a member, found %s",
				 found(p, p->i, f));
			goto out;
		}
		if (p->s[p->i++] == '}')
			break;
		skip_ws(p);
	}
	r = check_duplicates(p, v, kpos);
out:
	free(kpos);
	return r;
}

/* The value at p->i (white space already skipped), nested in depth containers. */
static int parse_value(struct parser *p, unsigned depth, const char *expected,
		       struct json_value **ret)
{
	struct json_value *v = NULL;
	char f[16];
	int r;

	if (p->i >= p->n)
		return fail(p, -EINVAL, p->i, "expected %s, found end of input", expected);
	switch (p->s[p->i]) {
	case '{':
	case '[':
		if (depth >= p->max_depth)
			return fail(p, -E2BIG, p->i, "nesting deeper than %u levels", p->max_depth);
		r = value_new(p, p->s[p->i] == '{' ? JSON_OBJECT : JSON_ARRAY, p->i, &v);
		if (r < 0)
			return r;
		if (v->type == JSON_OBJECT)
			r = parse_object(p, depth + 1, v);
		else
			r = parse_array(p, depth + 1, v);
		if (r < 0)
			goto out;
		break;
	case '"':
		r = value_new(p, JSON_STRING, p->i, &v);
		if (r < 0)
			return r;
		r = parse_string(p, &v->str.s, &v->str.len);
		if (r < 0)
			goto out;
		break;
	case 't':
		return parse_literal(p, "true", ret);
	case 'f':
		return parse_literal(p, "false", ret);
	case 'n':
		return parse_literal(p, "null", ret);
	case '-':
	case '0' ... '9':
		return parse_number(p, ret);
	default:
		return fail(p, -EINVAL, p->i, "expected %s, found %s", expected, found(p, p->i, f));
	}
	*ret = TAKE_PTR(v);
	r = 0;
out:
	json_value_free(v);
	return r;
}

static int parse_doc(struct json_arena *arena, const char *text, size_t n,
		     const struct json_limits *lim, const char *file, struct json_value **ret,
		     struct vg_error *err)
{
	struct parser p = {
		.arena = arena,
		.s = text ? text : "",
		.n = text ? n : 0,
		.line = 1,
		.max_depth = lim && lim->max_depth ? lim->max_depth : DEPTH_DEFAULT,
		.max_items = lim && lim->max_items ? lim->max_items : ITEMS_DEFAULT,
		.max_string = lim && lim->max_string ? lim->max_string : STRING_DEFAULT,
		.max_values = lim && lim->max_values ? lim->max_values : VALUES_DEFAULT,
		.file = file,
		.err = err,
	};
	struct json_value *v = NULL;
	int r;

	if (p.max_depth > DEPTH_CAP)
		p.max_depth = DEPTH_CAP;
	buf_init(&p.str, p.max_string);
	skip_ws(&p);
	r = parse_value(&p, 0, "a JSON value", &v);
	if (r < 0)
		goto out;
	skip_ws(&p);
	if (p.i < p.n) {
		r = fail(&p, -EINVAL, p.i, "trailing data after the JSON value");
		goto out;
	}
	*ret = TAKE_PTR(v);
	r = 0;
out:
	json_value_free(v);
	buf_release(&p.str);
	return r;
}

int json_parse(const char *text, size_t n, const struct json_limits *lim, const char *file,
	       struct json_value **ret, struct vg_error *err)
{
	return parse_doc(NULL, text, n, lim, file, ret, err);
}

int json_parse_in(struct json_arena *a, const char *text, size_t n,
		  const struct json_limits *lim, const char *file, struct json_value **ret,
		  struct vg_error *err)
{
	if (!a)
		return -EINVAL;
	return parse_doc(a, text, n, lim, file, ret, err);
}

struct json_value *json_value_free(struct json_value *v)
{
	if (!v || v->in_arena)
		return NULL;
	switch (v->type) {
	case JSON_NUMBER:
		free(v->num.text);
		break;
	case JSON_STRING:
		free(v->str.s);
		break;
	case JSON_ARRAY:
		for (size_t k = 0; k < v->arr.n; k++)
			json_value_free(v->arr.items[k]);
		free(v->arr.items);
		break;
	case JSON_OBJECT:
		for (size_t k = 0; k < v->obj.n; k++) {
			free(v->obj.members[k].key);
			json_value_free(v->obj.members[k].value);
		}
		free(v->obj.members);
		break;
	default:
		break;
	}
	free(v);
	return NULL;
}

const struct json_value *json_get(const struct json_value *v, const char *key)
{
	size_t len;

	if (!v || v->type != JSON_OBJECT || !key)
		return NULL;
	len = strlen(key);
	for (size_t k = 0; k < v->obj.n; k++) {
		const struct json_member *m = &v->obj.members[k];

		if (m->key_len == len && memcmp(m->key, key, len) == 0)
			return m->value;
	}
	return NULL;
}

const char *json_type_name(enum json_type t)
{
	switch (t) {
	case JSON_NULL:
		return "null";
	case JSON_BOOL:
		return "true/false";
	case JSON_INT:
		return "integer";
	case JSON_NUMBER:
		return "number";
	case JSON_STRING:
		return "string";
	case JSON_ARRAY:
		return "array";
	case JSON_OBJECT:
		return "object";
	}
	return "unknown";
}

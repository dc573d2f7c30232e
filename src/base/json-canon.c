/*
 * A small JSON parser whose only output is the canonical form.  Objects are parsed into
 * a member list on the stack of the recursion (bounded by JSON_CANON_DEPTH), sorted, and
 * emitted; nothing else is kept, so canonicalising an entry costs one pass and a sort
 * per object.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/escape.h"
#include "base/json-canon.h"
#include "base/banned.h"

struct parser {
	const char *s;
	size_t n, i;
	unsigned depth;
};

static void ws(struct parser *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
			       p->s[p->i] == '\r'))
		p->i++;
}

/* Four hex digits at s into *ret; -EINVAL when they are not. */
static int hex4(const char *s, uint32_t *ret)
{
	uint32_t v = 0;

	for (int k = 0; k < 4; k++) {
		int d = hex_digit(s[k]);

		if (d < 0)
			return -EINVAL;
		v = v << 4 | (uint32_t)d;
	}
	*ret = v;
	return 0;
}

static int put_utf8(struct buf *o, uint32_t cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_append(o, b, n);
}

/* Decodes the string at p (at the opening quote) into raw UTF-8 bytes. */
static int string_raw(struct parser *p, struct buf *raw)
{
	if (p->i >= p->n || p->s[p->i] != '"')
		return -EINVAL;
	p->i++;
	for (;;) {
		size_t run = p->i;
		int r;

		while (p->i < p->n && p->s[p->i] != '"' && p->s[p->i] != '\\' &&
		       (unsigned char)p->s[p->i] >= 0x20)
			p->i++;
		r = buf_append(raw, p->s + run, p->i - run);
		if (r < 0)
			return r;
		if (p->i >= p->n || (unsigned char)p->s[p->i] < 0x20)
			return -EINVAL;
		if (p->s[p->i] == '"') {
			p->i++;
			return 0;
		}
		/* an escape */
		if (p->i + 1 >= p->n)
			return -EINVAL;
		{
			char e = p->s[p->i + 1];
			uint32_t cp;
			const char *simple = strchr("\"\\/bfnrt", e);

			if (e && simple) {
				static const char map[] = "\"\\/\b\f\n\r\t";

				r = buf_putc(raw, map[simple - "\"\\/bfnrt"]);
				p->i += 2;
			} else if (e == 'u' && p->i + 6 <= p->n) {
				if (hex4(p->s + p->i + 2, &cp) < 0)
					return -EINVAL;
				p->i += 6;
				if (cp >= 0xd800 && cp < 0xdc00) {
					/* a surrogate pair */
					uint32_t lo;

					if (p->i + 6 > p->n || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' ||
					    hex4(p->s + p->i + 2, &lo) < 0)
						return -EINVAL;
					if (lo < 0xdc00 || lo > 0xdfff)
						return -EINVAL;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					p->i += 6;
				} else if (cp >= 0xdc00 && cp < 0xe000) {
					return -EINVAL;
				}
				r = put_utf8(raw, cp);
			} else {
				return -EINVAL;
			}
			if (r < 0)
				return r;
		}
	}
}

static int emit_string(const char *s, size_t n, struct buf *o)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;
	int r = buf_putc(o, '"');

	for (size_t i = 0; i < n && r == 0; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[6];
		size_t el = 2;

		if (c >= 0x20 && c != '"' && c != '\\') {
			run++;
			continue;
		}
		r = buf_append(o, s + i - run, run);
		run = 0;
		e[0] = '\\';
		switch (c) {
		case '"': e[1] = '"'; break;
		case '\\': e[1] = '\\'; break;
		case '\b': e[1] = 'b'; break;
		case '\f': e[1] = 'f'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		default:
			memcpy(e, "\\u00", 4);
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			el = 6;
		}
		if (r == 0)
			r = buf_append(o, e, el);
	}
	if (r == 0)
		r = buf_append(o, s + n - run, run);
	if (r == 0)
		r = buf_putc(o, '"');
	return r;
}

static int value(struct parser *p, struct buf *o);

struct member {
	size_t key_off, key_len;	/* in the key arena */
	size_t val_off, val_len;	/* in the value arena */
};

static int cmp_keys(const char *arena, const struct member *a, const struct member *b)
{
	size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
	int c = memcmp(arena + a->key_off, arena + b->key_off, n);

	return c ? c : (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

static int object(struct parser *p, struct buf *o)
{
	struct buf keys, vals;
	struct member *m = NULL;
	size_t nm = 0, cap = 0;
	int r = 0;

	buf_init(&keys, o->max);
	buf_init(&vals, o->max);
	p->i++; /* '{' */
	ws(p);
	if (p->i < p->n && p->s[p->i] == '}') {
		p->i++;
		r = buf_append(o, "{}", 2);
		goto out;
	}
	for (;;) {
		struct member cur;

		ws(p);
		cur.key_off = keys.len;
		r = string_raw(p, &keys);
		if (r < 0)
			goto out;
		cur.key_len = keys.len - cur.key_off;
		ws(p);
		if (p->i >= p->n || p->s[p->i] != ':') {
			r = -EINVAL;
			goto out;
		}
		p->i++;
		ws(p);
		cur.val_off = vals.len;
		r = value(p, &vals);
		if (r < 0)
			goto out;
		cur.val_len = vals.len - cur.val_off;
		if (nm == cap) {
			struct member *nmv = realloc(m, (cap ? cap * 2 : 16) * sizeof(*m));

			if (!nmv) {
				r = -ENOMEM;
				goto out;
			}
			m = nmv;
			cap = cap ? cap * 2 : 16;
		}
		m[nm++] = cur;
		ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->n && p->s[p->i] == '}') {
			p->i++;
			break;
		}
		r = -EINVAL;
		goto out;
	}
	/* insertion sort: objects are small, and usually nearly sorted */
	for (size_t i = 1; i < nm; i++) {
		struct member x = m[i];
		size_t j = i;

		while (j > 0 && cmp_keys(keys.data, &m[j - 1], &x) > 0) {
			m[j] = m[j - 1];
			j--;
		}
		m[j] = x;
	}
	r = buf_putc(o, '{');
	for (size_t i = 0; i < nm && r == 0; i++) {
		if (i > 0 && cmp_keys(keys.data, &m[i - 1], &m[i]) == 0) {
			r = -EINVAL; /* duplicate key */
			break;
		}
		if (i > 0)
			r = buf_putc(o, ',');
		if (r == 0)
			r = emit_string(keys.data + m[i].key_off, m[i].key_len, o);
		if (r == 0)
			r = buf_putc(o, ':');
		if (r == 0)
			r = buf_append(o, vals.data + m[i].val_off, m[i].val_len);
	}
	if (r == 0)
		r = buf_putc(o, '}');
out:
	free(m);
	buf_release(&keys);
	buf_release(&vals);
	return r;
}

static int array(struct parser *p, struct buf *o)
{
	int r;

	p->i++; /* '[' */
	ws(p);
	r = buf_putc(o, '[');
	if (r == 0 && p->i < p->n && p->s[p->i] == ']') {
		p->i++;
		return buf_putc(o, ']');
	}
	while (r == 0) {
		ws(p);
		r = value(p, o);
		if (r < 0)
			break;
		ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			r = buf_putc(o, ',');
			continue;
		}
		if (p->i < p->n && p->s[p->i] == ']') {
			p->i++;
			return buf_putc(o, ']');
		}
		r = -EINVAL;
	}
	return r;
}

static int value(struct parser *p, struct buf *o)
{
	int r;

	ws(p);
	if (p->i >= p->n)
		return -EINVAL;
	if (++p->depth > JSON_CANON_DEPTH)
		return -E2BIG;
	switch (p->s[p->i]) {
	case '{':
		r = object(p, o);
		break;
	case '[':
		r = array(p, o);
		break;
	case '"': {
		struct buf raw;
		size_t k = p->i + 1;

		/* most strings need no escaping either way: copy them as they are */
		while (k < p->n && p->s[k] != '"' && p->s[k] != '\\' && (unsigned char)p->s[k] >= 0x20)
			k++;
		if (k < p->n && p->s[k] == '"') {
			r = buf_append(o, p->s + p->i, k + 1 - p->i);
			p->i = k + 1;
			break;
		}
		buf_init(&raw, o->max);
		r = string_raw(p, &raw);
		if (r == 0)
			r = emit_string(raw.data ? raw.data : "", raw.len, o);
		buf_release(&raw);
		break;
	}
	case 't':
	case 'f':
	case 'n': {
		static const char *const lits[] = { "true", "false", "null" };

		r = -EINVAL;
		for (int k = 0; k < 3; k++) {
			size_t l = strlen(lits[k]);

			if (p->n - p->i >= l && memcmp(p->s + p->i, lits[k], l) == 0) {
				p->i += l;
				r = buf_append(o, lits[k], l);
				break;
			}
		}
		break;
	}
	default: {
		/* integers only: -?(0|[1-9][0-9]*) */
		size_t start = p->i;

		if (p->s[p->i] == '-')
			p->i++;
		if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
			return -EINVAL;
		if (p->s[p->i] == '0')
			p->i++;
		else
			while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
				p->i++;
		if (p->i < p->n && (p->s[p->i] == '.' || p->s[p->i] == 'e' || p->s[p->i] == 'E'))
			return -EINVAL;
		if (p->i - start > 20)
			return -EINVAL;
		r = buf_append(o, p->s + start, p->i - start);
	}
	}
	p->depth--;
	return r;
}

/* Skips one value without interpreting it (only strings and nesting are tracked). */
static int skip_value(struct parser *p)
{
	unsigned depth = 0;

	for (; p->i < p->n; p->i++) {
		char ch = p->s[p->i];

		if (ch == '"') {
			for (p->i++; p->i < p->n && p->s[p->i] != '"'; p->i++)
				if (p->s[p->i] == '\\')
					p->i++;
			if (p->i >= p->n)
				return -EINVAL;
			if (depth == 0) {
				p->i++;
				return 0;
			}
		} else if (ch == '{' || ch == '[') {
			if (++depth > JSON_CANON_DEPTH)
				return -E2BIG;
		} else if (ch == '}' || ch == ']') {
			if (depth == 0)
				return 0; /* the end of the enclosing object: the caller sees it */
			if (--depth == 0) {
				p->i++;
				return 0;
			}
		} else if (depth == 0 && (ch == ',' || ch == ' ' || ch == '\n' || ch == '\t' ||
					  ch == '\r')) {
			return 0; /* the end of a number or literal */
		}
	}
	return depth == 0 ? 0 : -EINVAL;
}

/* Positions p on the value of member key (key_len bytes) of the object at p. */
static int find_member(struct parser *p, const char *key, size_t kl)
{
	ws(p);
	if (p->i >= p->n || p->s[p->i] != '{')
		return -EINVAL;
	p->i++;
	for (;;) {
		size_t ks, ke;
		int r;

		ws(p);
		if (p->i < p->n && p->s[p->i] == '}')
			return -ENOENT;
		if (p->i >= p->n || p->s[p->i] != '"')
			return -EINVAL;
		ks = p->i + 1;
		ke = ks;
		while (ke < p->n && p->s[ke] != '"' && p->s[ke] != '\\')
			ke++;
		if (ke >= p->n || p->s[ke] != '"')
			return -EINVAL; /* keys Vigil writes need no escapes */
		p->i = ke + 1;
		ws(p);
		if (p->i >= p->n || p->s[p->i] != ':')
			return -EINVAL;
		p->i++;
		ws(p);
		if (ke - ks == kl && memcmp(p->s + ks, key, kl) == 0)
			return 0;
		r = skip_value(p);
		if (r < 0)
			return r;
		ws(p);
		if (p->i < p->n && p->s[p->i] == ',')
			p->i++;
	}
}

int json_path_string(const char *text, size_t n, const char *path, char *out, size_t size)
{
	struct parser p = { .s = text, .n = n };

	for (;;) {
		const char *dot = strchr(path, '.');
		size_t kl = dot ? (size_t)(dot - path) : strlen(path);
		int r = find_member(&p, path, kl);

		if (r < 0)
			return r;
		if (!dot)
			break;
		path = dot + 1;
	}
	if (p.i < p.n && p.s[p.i] == '"') {
		size_t vs = p.i + 1, ve = vs;

		while (ve < p.n && p.s[ve] != '"' && p.s[ve] != '\\')
			ve++;
		if (ve >= p.n || p.s[ve] != '"')
			return -ENOENT;
		if (ve - vs >= size)
			return -E2BIG;
		memcpy(out, p.s + vs, ve - vs);
		out[ve - vs] = '\0';
		return 0;
	}
	/* a whole number is given as its digits */
	if (p.i < p.n && (p.s[p.i] == '-' || (p.s[p.i] >= '0' && p.s[p.i] <= '9'))) {
		size_t vs = p.i, ve = vs + 1;

		while (ve < p.n && p.s[ve] >= '0' && p.s[ve] <= '9')
			ve++;
		if (ve - vs >= size)
			return -E2BIG;
		memcpy(out, p.s + vs, ve - vs);
		out[ve - vs] = '\0';
		return 0;
	}
	return -ENOENT;
}

int json_top_string(const char *text, size_t n, const char *key, char *out, size_t size)
{
	if (strchr(key, '.'))
		return -ENOENT;
	return json_path_string(text, n, key, out, size);
}

int json_canonicalize(const char *text, size_t n, struct buf *out)
{
	struct parser p = { .s = text, .n = n };
	size_t start = out->len;
	int r = value(&p, out);

	if (r == 0) {
		ws(&p);
		if (p.i != p.n)
			r = -EINVAL;
	}
	if (r < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	return r;
}

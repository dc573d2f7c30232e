/*
 * The text formats of dpkg and apt, parsed without trust: deb822 stanzas, both forms of
 * sources.list, apt's file names for URIs and downloaded packages, and dpkg.log lines.
 * Everything is bounded; malformed input is counted or rejected, never guessed at.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/buf.h"
#include "base/macro.h"
#include "change/prov-int.h"
#include "base/banned.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void trim(const char **p, size_t *n)
{
	while (*n > 0 && (is_blank(**p) || **p == '\n')) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && (is_blank((*p)[*n - 1]) || (*p)[*n - 1] == '\n'))
		(*n)--;
}

bool prov_field_is(const struct prov_field *f, const char *name)
{
	return f && strlen(name) == f->name_len && strncasecmp(f->name, name, f->name_len) == 0;
}

int prov_deb822_parse(const char *text, size_t len, prov_field_fn fn, void *userdata,
		      unsigned *ret_bad)
{
	const char *p = text, *end = text + len;
	struct prov_field cur = { 0 };
	bool have_cur = false, in_stanza = false;
	unsigned bad = 0;
	int r = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *q = p;
		bool blank = true;

		for (q = p; q < le; q++)
			if (!is_blank(*q)) {
				blank = false;
				break;
			}
		if (!blank && is_blank(*p) && have_cur) {
			/* continuation: the value now runs to the end of this line */
			cur.value_len = (size_t)(le - cur.value);
		} else {
			if (have_cur) {
				trim(&cur.value, &cur.value_len);
				r = fn(&cur, userdata);
				if (r < 0)
					goto out;
				have_cur = false;
			}
			if (blank) {
				if (in_stanza) {
					r = fn(NULL, userdata);
					if (r < 0)
						goto out;
				}
				in_stanza = false;
			} else if (*p == '#') {
				/* comment */
			} else {
				const char *colon = memchr(p, ':', (size_t)(le - p));
				const char *sp = p;

				while (sp < le && !is_blank(*sp) && *sp != ':')
					sp++;
				if (!colon || colon == p || sp != colon) {
					bad++;
				} else {
					cur.name = p;
					cur.name_len = (size_t)(colon - p);
					cur.value = colon + 1;
					cur.value_len = (size_t)(le - cur.value);
					have_cur = true;
					in_stanza = true;
				}
			}
		}
		p = nl ? nl + 1 : end;
	}
	if (have_cur) {
		trim(&cur.value, &cur.value_len);
		r = fn(&cur, userdata);
		if (r < 0)
			goto out;
	}
	if (in_stanza)
		r = fn(NULL, userdata);
out:
	if (ret_bad)
		*ret_bad = bad;
	return r < 0 ? r : 0;
}

/* ---- sources ---- */

static void source_release(struct prov_source *s)
{
	free(s->uri);
	free(s->suite);
	for (size_t i = 0; i < s->n_components; i++)
		free(s->components[i]);
	free(s->components);
	for (size_t i = 0; i < s->n_signed_by; i++)
		free(s->signed_by[i]);
	free(s->signed_by);
	free(s->origin);
	memset(s, 0, sizeof(*s));
}

void prov_source_list_release(struct prov_source_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		source_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int words_add(char ***v, size_t *n, const char *w, size_t len)
{
	char **nv;

	if (*n >= PROV_SOURCE_WORDS_MAX)
		return -E2BIG;
	nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strndup(w, len);
	if (!nv[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* Adds each keyring path of a signed-by value ("a.gpg,b.gpg" or blank separated);
 * fingerprints and inline keys are not paths and are left out. */
static int signed_by_add(struct prov_source *s, const char *v, size_t len)
{
	const char *p = v, *end = v + len;
	int r;

	if (len >= 5 && memmem(v, len, "-----", 5))
		return 0; /* an inline key block */
	while (p < end) {
		const char *w;

		while (p < end && (is_blank(*p) || *p == ',' || *p == '\n'))
			p++;
		w = p;
		while (p < end && !(is_blank(*p) || *p == ',' || *p == '\n'))
			p++;
		if (p > w && *w == '/') {
			r = words_add(&s->signed_by, &s->n_signed_by, w, (size_t)(p - w));
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int list_push(struct prov_source_list *l, struct prov_source *s)
{
	struct prov_source *nv;

	if (l->n >= PROV_SOURCES_MAX)
		return -E2BIG;
	nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	l->v = nv;
	l->v[l->n++] = *s;
	memset(s, 0, sizeof(*s));
	return 0;
}

static char *uri_dup(const char *u, size_t len)
{
	while (len > 1 && u[len - 1] == '/')
		len--;
	return strndup(u, len);
}

static int oneline_parse_line(const char *p, const char *end, const char *origin, unsigned line,
			      struct prov_source_list *l)
{
	struct prov_source s = { 0 };
	const char *w;
	size_t wl;
	int field = 0, r = 0;

	/* the type */
	while (p < end && is_blank(*p))
		p++;
	w = p;
	while (p < end && !is_blank(*p))
		p++;
	if (p == w || *w == '#')
		return 0;
	if ((size_t)(p - w) != 3 || memcmp(w, "deb", 3) != 0)
		return (p - w == 7 && memcmp(w, "deb-src", 7) == 0) ? 0 : -EINVAL;
	while (p < end) {
		while (p < end && is_blank(*p))
			p++;
		if (p >= end || *p == '#')
			break;
		if (field == 0 && *p == '[') {
			const char *close = memchr(p, ']', (size_t)(end - p));
			const char *o = p + 1;

			if (!close) {
				r = -EINVAL;
				goto out;
			}
			while (o < close) {
				const char *ow, *eq;

				while (o < close && is_blank(*o))
					o++;
				ow = o;
				while (o < close && !is_blank(*o))
					o++;
				eq = memchr(ow, '=', (size_t)(o - ow));
				if (eq && (size_t)(eq - ow) == 9 &&
				    strncasecmp(ow, "signed-by", 9) == 0) {
					r = signed_by_add(&s, eq + 1, (size_t)(o - eq - 1));
					if (r < 0)
						goto out;
				}
			}
			p = close + 1;
			continue;
		}
		w = p;
		while (p < end && !is_blank(*p))
			p++;
		wl = (size_t)(p - w);
		if (field == 0)
			s.uri = uri_dup(w, wl);
		else if (field == 1)
			s.suite = strndup(w, wl);
		else
			r = words_add(&s.components, &s.n_components, w, wl);
		if (r < 0 || (field < 2 && !(field == 0 ? s.uri : s.suite))) {
			r = r < 0 ? r : -ENOMEM;
			goto out;
		}
		field++;
	}
	if (field < 2) {
		r = -EINVAL;
		goto out;
	}
	/* a suite ending in '/' is a flat repository: it has no components */
	if ((s.suite[0] && s.suite[strlen(s.suite) - 1] == '/') != (s.n_components == 0)) {
		r = -EINVAL;
		goto out;
	}
	if (asprintf(&s.origin, "%s:%u", origin, line) < 0) {
		s.origin = NULL;
		r = -ENOMEM;
		goto out;
	}
	r = list_push(l, &s);
out:
	source_release(&s);
	return r;
}

int prov_sources_parse_oneline(const char *text, size_t len, const char *origin,
			       struct prov_source_list *l)
{
	const char *p = text, *end = text + len;
	unsigned line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		int r;

		line++;
		r = oneline_parse_line(p, le, origin, line, l);
		if (r == -EINVAL)
			l->bad++;
		else if (r < 0)
			return r;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

struct d822_state {
	struct prov_source_list *l;
	const char *origin;
	unsigned stanza;
	bool is_deb, disabled, broken;
	struct prov_field uris, suites, comps, signed_by;
	int err;
};

static size_t words_count(const char *v, size_t len)
{
	size_t n = 0;
	bool in = false;

	for (size_t i = 0; i < len; i++) {
		bool b = is_blank(v[i]) || v[i] == '\n';

		if (!b && !in)
			n++;
		in = !b;
	}
	return n;
}

/* The i-th blank-separated word of v. */
static bool word_at(const char *v, size_t len, size_t i, const char **ret, size_t *ret_len)
{
	const char *p = v, *end = v + len;

	for (;;) {
		const char *w;

		while (p < end && (is_blank(*p) || *p == '\n'))
			p++;
		if (p >= end)
			return false;
		w = p;
		while (p < end && !(is_blank(*p) || *p == '\n'))
			p++;
		if (i-- == 0) {
			*ret = w;
			*ret_len = (size_t)(p - w);
			return true;
		}
	}
}

static int d822_emit(struct d822_state *st)
{
	size_t nu = words_count(st->uris.value, st->uris.value_len);
	size_t ns = words_count(st->suites.value, st->suites.value_len);
	int r = 0;

	if (!st->is_deb || st->disabled)
		return 0;
	if (st->broken || nu == 0 || ns == 0) {
		st->l->bad++;
		return 0;
	}
	for (size_t i = 0; i < nu; i++)
		for (size_t j = 0; j < ns; j++) {
			struct prov_source s = { 0 };
			const char *w;
			size_t wl;

			word_at(st->uris.value, st->uris.value_len, i, &w, &wl);
			s.uri = uri_dup(w, wl);
			word_at(st->suites.value, st->suites.value_len, j, &w, &wl);
			s.suite = strndup(w, wl);
			if (!s.uri || !s.suite)
				r = -ENOMEM;
			for (size_t k = 0; r == 0 && word_at(st->comps.value, st->comps.value_len,
							   k, &w, &wl);
			     k++)
				r = words_add(&s.components, &s.n_components, w, wl);
			if (r == 0 && st->signed_by.value)
				r = signed_by_add(&s, st->signed_by.value, st->signed_by.value_len);
			if (r == 0 && asprintf(&s.origin, "%s:%u", st->origin, st->stanza) < 0) {
				s.origin = NULL;
				r = -ENOMEM;
			}
			if (r == 0)
				r = list_push(st->l, &s);
			source_release(&s);
			if (r < 0)
				return r;
		}
	return 0;
}

static int d822_field(const struct prov_field *f, void *userdata)
{
	struct d822_state *st = userdata;
	int r;

	if (!f) {
		st->stanza++;
		r = d822_emit(st);
		memset(&st->uris, 0, sizeof(st->uris));
		memset(&st->suites, 0, sizeof(st->suites));
		memset(&st->comps, 0, sizeof(st->comps));
		memset(&st->signed_by, 0, sizeof(st->signed_by));
		st->is_deb = st->disabled = st->broken = false;
		return r;
	}
	if (prov_field_is(f, "Types")) {
		const char *w;
		size_t wl;

		for (size_t k = 0; word_at(f->value, f->value_len, k, &w, &wl); k++)
			if (wl == 3 && memcmp(w, "deb", 3) == 0)
				st->is_deb = true;
	} else if (prov_field_is(f, "URIs")) {
		st->uris = *f;
	} else if (prov_field_is(f, "Suites")) {
		st->suites = *f;
	} else if (prov_field_is(f, "Components")) {
		st->comps = *f;
	} else if (prov_field_is(f, "Signed-By")) {
		st->signed_by = *f;
	} else if (prov_field_is(f, "Enabled")) {
		st->disabled = f->value_len == 2 && strncasecmp(f->value, "no", 2) == 0;
	}
	return 0;
}

int prov_sources_parse_deb822(const char *text, size_t len, const char *origin,
			      struct prov_source_list *l)
{
	struct d822_state st = { .l = l, .origin = origin };
	unsigned bad = 0;
	int r;

	r = prov_deb822_parse(text, len, d822_field, &st, &bad);
	l->bad += bad;
	return r;
}

/* ---- apt's names ---- */

/* apt's QuoteString(): the characters in bad, and anything not printable ASCII, as %xx. */
static int quote(struct buf *b, const char *s, size_t len, const char *bad)
{
	int r = 0;

	for (size_t i = 0; i < len && r == 0; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr(bad, c))
			r = buf_printf(b, "%%%02x", c);
		else
			r = buf_putc(b, (char)c);
	}
	return r;
}

int prov_uri_to_filename(const char *uri, char **ret)
{
	_cleanup_buf_ struct buf b;
	const char *p = uri, *colon, *slash, *at;
	int r;

	buf_init(&b, 8192);
	colon = strchr(uri, ':');
	slash = strchr(uri, '/');
	if (colon && (!slash || colon < slash))
		p = colon + 1;
	if (p[0] == '/' && p[1] == '/') {
		/* authority: user:password@ is dropped, host[:port] kept */
		p += 2;
		slash = strchr(p, '/');
		at = memchr(p, '@', slash ? (size_t)(slash - p) : strlen(p));
		if (at)
			p = at + 1;
	}
	r = quote(&b, p, strlen(p), "\\|{}[]<>\"^~_=!@#$%^&*");
	if (r < 0)
		return r;
	for (size_t i = 0; i < b.len; i++)
		if (b.data[i] == '/')
			b.data[i] = '_';
	return buf_detach(&b, ret, NULL);
}

int prov_deb_cache_name(const char *name, const char *version, const char *arch, char **ret)
{
	_cleanup_buf_ struct buf b;
	int r;

	buf_init(&b, 4096);
	r = quote(&b, name, strlen(name), "_:");
	if (r == 0)
		r = buf_putc(&b, '_');
	if (r == 0)
		r = quote(&b, version, strlen(version), "_:");
	if (r == 0)
		r = buf_putc(&b, '_');
	if (r == 0)
		r = quote(&b, arch, strlen(arch), "_:.");
	if (r == 0)
		r = buf_puts(&b, ".deb");
	if (r < 0)
		return r;
	return buf_detach(&b, ret, NULL);
}

static size_t fpr_norm(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; *s; s++) {
		if (is_blank(*s))
			continue;
		if (!isxdigit((unsigned char)*s) || n + 1 >= size)
			return 0;
		out[n++] = (char)toupper((unsigned char)*s);
	}
	out[n] = '\0';
	return n;
}

bool prov_fpr_equal(const char *a, const char *b)
{
	char na[80], nb[80];
	size_t la, lb;

	if (!a || !b)
		return false;
	la = fpr_norm(a, na, sizeof(na));
	lb = fpr_norm(b, nb, sizeof(nb));
	return la >= 40 && la == lb && memcmp(na, nb, la) == 0;
}

void prov_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int prov_unhex_sha256(const char *s, size_t len, uint8_t out[SHA256_LEN])
{
	if (len != 2 * SHA256_LEN)
		return -EINVAL;
	for (size_t i = 0; i < SHA256_LEN; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* ---- dpkg.log ---- */

int prov_local_time_parse(const char *s, size_t len, int64_t *ret_ns)
{
	char tmp[40];
	struct tm tm = { 0 };
	const char *e;
	time_t t;

	if (len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	e = strptime(tmp, "%Y-%m-%d %H:%M:%S", &tm);
	if (!e || *e)
		return -EINVAL;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ret_ns = (int64_t)t * 1000000000;
	return 0;
}

static bool word_copy(char *dst, size_t size, const char *w, size_t len)
{
	if (len == 0 || len >= size)
		return false;
	memcpy(dst, w, len);
	dst[len] = '\0';
	return true;
}

int prov_dpkg_log_parse(const char *line, size_t len, struct prov_dpkg_event *ret)
{
	static const char *const pkg_actions[] = { "install", "upgrade", "remove", "purge",
						   "configure", "trigproc" };
	struct prov_dpkg_event ev = { 0 };
	const char *w[5];
	size_t wl[5], n = 0;
	const char *p, *end = line + len;
	bool known = false;

	/* "YYYY-MM-DD HH:MM:SS " */
	if (len < 20 || line[4] != '-' || line[10] != ' ' || line[13] != ':' || line[19] != ' ')
		return -EINVAL;
	if (prov_local_time_parse(line, 19, &ev.ns) < 0)
		return -EINVAL;
	for (p = line + 20; p < end;) {
		const char *s;

		while (p < end && is_blank(*p))
			p++;
		if (p >= end)
			break;
		s = p;
		while (p < end && !is_blank(*p))
			p++;
		if (n >= ARRAY_SIZE(w))
			return -EINVAL;
		w[n] = s;
		wl[n++] = (size_t)(p - s);
	}
	if (n == 0 || !word_copy(ev.action, sizeof(ev.action), w[0], wl[0]))
		return n == 0 ? -EINVAL : -ENOMSG;
	for (size_t i = 0; i < ARRAY_SIZE(pkg_actions); i++)
		known |= strcmp(ev.action, pkg_actions[i]) == 0;
	if (strcmp(ev.action, "status") == 0) {
		const char *colon;

		if (n != 4 || !word_copy(ev.state, sizeof(ev.state), w[1], wl[1]) ||
		    !word_copy(ev.new_version, sizeof(ev.new_version), w[3], wl[3]))
			return -EINVAL;
		colon = memchr(w[2], ':', wl[2]);
		if (!word_copy(ev.package, sizeof(ev.package), w[2],
			       colon ? (size_t)(colon - w[2]) : wl[2]) ||
		    (colon && !word_copy(ev.arch, sizeof(ev.arch), colon + 1,
					 wl[2] - (size_t)(colon - w[2]) - 1)))
			return -EINVAL;
	} else if (known) {
		const char *colon;

		if (n != 4)
			return -EINVAL;
		colon = memchr(w[1], ':', wl[1]);
		if (!word_copy(ev.package, sizeof(ev.package), w[1],
			       colon ? (size_t)(colon - w[1]) : wl[1]) ||
		    (colon && !word_copy(ev.arch, sizeof(ev.arch), colon + 1,
					 wl[1] - (size_t)(colon - w[1]) - 1)) ||
		    !word_copy(ev.old_version, sizeof(ev.old_version), w[2], wl[2]) ||
		    !word_copy(ev.new_version, sizeof(ev.new_version), w[3], wl[3]))
			return -EINVAL;
	} else {
		return -ENOMSG;
	}
	*ret = ev;
	return 0;
}

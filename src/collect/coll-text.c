/*
 * Helpers for text-like states: the unified diff a change of an object's text shows, and
 * the redaction applied to text before it is kept (a command's output, a configuration
 * excerpt), so that a state or a journal entry never carries a password.
 *
 * The diff is a line diff after Myers ("An O(ND) Difference Algorithm and Its
 * Variations", 1986) in its linear-space form: the middle snake splits the problem in
 * two halves, recursively.  Lines without an equal on the other side are changed in any
 * case and are set aside before the search.  The work is capped: past the budget a
 * remaining part is shown as replaced whole, which is still a correct diff, only a
 * longer one; above DIFF_MAX_LINES lines on either side the whole text is one
 * replacement.  The changes are then slid to canonical places (a run of changed lines
 * moves down while the line after it equals its first line, and back up to meet a
 * change of the other side).  That makes an added duplicate line show where a reader
 * expects it and gives the same hunks as GNU diff -u, except sometimes for lines that
 * repeat many times (GNU diff sets some of those aside too).
 *
 * Redaction rules (deterministic; a value is replaced by "<redacted>"):
 *   - a key is a run of [A-Za-z0-9_.-]; it is split into words at '_', '-', '.' and at
 *     camelCase boundaries, and its LAST word decides ("db_password" is secret,
 *     "PasswordAuthentication" is not).  Trailing digits are ignored ("key2"), so is
 *     a plural 's' ("credentials"), and a last word that only says "the value of"
 *     (base, value, data, string, text, hex, b64, base64, hash, plain, plaintext, raw)
 *     hands the decision to the word before ("secret_key_base", "password_hash").
 *     Secret words:
 *       password, passwd, passphrase, pwd, secret, token, apikey, psk, credential,
 *       community, key; any word ending in password, passwd, passphrase, pw, secret,
 *       token or credential ("dbpassword", "bindpw", "clientsecret"); a word ending
 *       in "key" right after private, secret, api, access, auth, signing, shared,
 *       preshared, encryption, master, session or client ("privatekey"; not
 *       "keyboard" or "monkey");
 *     auth, authorization and pass count only in the "=" / ":" forms (so a PAM line
 *     "auth required pam_unix.so" or a pf "pass in" rule stays as it is);
 *   - forms: KEY=VALUE, KEY: VALUE, KEY => VALUE, "KEY": "VALUE" (JSON), 'KEY': VALUE,
 *     <KEY>VALUE</KEY>, and KEY VALUE (white space) for the secret words only;
 *   - a quoted value loses what is between its quotes (to the end of the line when the
 *     quote is not closed); an unquoted value runs to the next white space (after a
 *     quoted key, also to the next ',', '}' or ']'), without trailing ",;)}]>";
 *     "Bearer X" (and Basic, Digest, Token, Negotiate, NTLM) keeps the scheme and
 *     loses X; in the white-space form a lone digit (an encryption type: "secret 5
 *     $1$...") keeps the digit and loses the word after it;
 *   - kept: an empty value, yes/no/true/false/on/off/null/none/nil, the nsswitch.conf
 *     sources ("passwd: files systemd"), a reference to a variable ("$DB_PASSWORD",
 *     "${API_KEY}"), an absolute path ("ssl_certificate_key /etc/ssl/x.key",
 *     "PWD=/root"), a value opening a structure ('{' or '['); in the white-space form
 *     also a few English words ("token is ...", "password for ..."), the PAM controls
 *     ("password requisite pam_pwquality.so") and a value that is itself a key ("x:",
 *     "a=b");
 *   - the password of a URL ("scheme://user:PASSWORD@host");
 *   - from "-----BEGIN ... PRIVATE KEY-----" to the matching END line: one
 *     "<redacted private key>" (to the end of the text when the END line is missing);
 *   - a word of the base64 alphabet [A-Za-z0-9+/_-] (with '=' padding) of at least 32
 *     characters that is either hexadecimal with both digits and letters (switching
 *     between them at 1 in 5 characters or more), or holds upper case, lower case and
 *     digits with less than 60% of it in runs of 3+ lower-case or 4+ upper-case
 *     letters (random text has few such runs, names made of words are mostly runs).
 *     A word that starts with '/' is a path: its components are judged one by one.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "collect/collect.h"
#include "base/banned.h"

/* ---- unified diff ---- */

#define DIFF_CONTEXT 3
#define DIFF_MAX_LINES 20000
/* steps of the search (diagonals and snake moves) before parts are shown as replaced */
#define DIFF_BUDGET (50u * 1000 * 1000)

struct dline {
	const char *p;
	size_t len;	/* with the '\n', when the line has one */
};

struct dfile {
	struct dline *lines;
	uint32_t *ids;		/* equal lines have equal ids (across both files) */
	uint8_t *changed;	/* one more than lines, the last always 0 */
	size_t n;
};

struct dctx {
	uint32_t *a, *b;	/* the ids of the lines that take part in the search */
	size_t *ra, *rb;	/* their real line numbers */
	uint8_t *ca, *cb;
	long *fv, *bv;		/* furthest x per diagonal, indexed k + voff */
	long voff;
	uint64_t work;
};

static int split_lines(const char *s, struct dfile *f)
{
	size_t len = s ? strlen(s) : 0, n = 0, cap = 0;
	struct dline *v = NULL;

	for (size_t i = 0; i < len;) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (s + i)) + 1 : len - i;

		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct dline *nv = realloc(v, nc * sizeof(*nv));

			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap = nc;
		}
		v[n++] = (struct dline){ s + i, l };
		i += l;
	}
	f->lines = v;
	f->n = n;
	f->ids = calloc(n + 1, sizeof(*f->ids));
	f->changed = calloc(n + 1, 1);
	return f->ids && f->changed ? 0 : -ENOMEM;
}

static uint64_t line_hash(const struct dline *l)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < l->len; i++) {
		h ^= (unsigned char)l->p[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* Gives equal lines of both files the same id (an open-addressing table of lines). */
static int assign_ids(struct dfile *a, struct dfile *b, uint32_t *ret_n_ids)
{
	size_t total = a->n + b->n, size = 16;
	const struct dline **slot_line;
	uint32_t *slot_id, next = 1;

	while (size < total * 2)
		size *= 2;
	slot_line = calloc(size, sizeof(*slot_line));
	slot_id = calloc(size, sizeof(*slot_id));
	if (!slot_line || !slot_id) {
		free(slot_line);
		free(slot_id);
		return -ENOMEM;
	}
	for (int f = 0; f < 2; f++) {
		struct dfile *d = f ? b : a;

		for (size_t i = 0; i < d->n; i++) {
			const struct dline *l = &d->lines[i];
			size_t h = (size_t)line_hash(l) & (size - 1);

			while (slot_line[h] && (slot_line[h]->len != l->len ||
						memcmp(slot_line[h]->p, l->p, l->len) != 0))
				h = (h + 1) & (size - 1);
			if (!slot_line[h]) {
				slot_line[h] = l;
				slot_id[h] = next++;
			}
			d->ids[i] = slot_id[h];
		}
	}
	free(slot_line);
	free(slot_id);
	*ret_n_ids = next;
	return 0;
}

/*
 * A line without an equal in the other file is changed whatever the alignment: it is
 * marked here and left out of the search, which then runs on fewer lines and aligns
 * what is left the way GNU diff does in the common cases.  Fills ids and real (line
 * numbers in f) with the lines that remain, and returns their count.
 */
static size_t keep_matched(const struct dfile *f, const uint32_t *count_other, uint32_t *ids,
			   size_t *real)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n; i++) {
		if (count_other[f->ids[i]] == 0) {
			f->changed[i] = 1;
			continue;
		}
		ids[n] = f->ids[i];
		real[n] = i;
		n++;
	}
	return n;
}

#define UNREACHED (LONG_MIN / 4)

/*
 * Finds the middle snake of a[xl..xh) against b[yl..yh) (both non-empty, first and last
 * lines differing): on return [*sx, *ex) x [*sy, *ey) is a run of equal lines on an
 * optimal path.  Forward paths run from the start, backward paths from the end (in
 * reversed coordinates); they meet after about half the edits.
 */
static void middle_snake(struct dctx *c, long xl, long xh, long yl, long yh, long *sx, long *sy,
			 long *ex, long *ey)
{
	const uint32_t *a = c->a + xl, *b = c->b + yl;
	long n = xh - xl, m = yh - yl, delta = n - m, dmax = (n + m + 1) / 2;
	long *fv = c->fv + c->voff, *bv = c->bv + c->voff;
	bool odd = delta & 1;

	for (long k = -dmax - 1; k <= dmax + 1; k++)
		fv[k] = bv[k] = UNREACHED;
	fv[1] = bv[1] = 0;
	for (long d = 0; d <= dmax; d++) {
		for (long k = d; k >= -d; k -= 2) {
			long x, y, x0, y0, xi = UNREACHED, xd = UNREACHED;

			if (k < -m || k > n)
				continue;
			/* an insertion from diagonal k+1 or a deletion from k-1, in the grid */
			if (fv[k + 1] != UNREACHED && fv[k + 1] - k <= m)
				xi = fv[k + 1];
			if (fv[k - 1] != UNREACHED && fv[k - 1] + 1 <= n)
				xd = fv[k - 1] + 1;
			x = xi >= xd ? xi : xd;
			c->work++;
			if (x == UNREACHED) {
				fv[k] = UNREACHED;
				continue;
			}
			y = x - k;
			x0 = x;
			y0 = y;
			while (x < n && y < m && a[x] == b[y]) {
				x++;
				y++;
			}
			c->work += (uint64_t)(x - x0);
			fv[k] = x;
			if (odd && delta - k >= -(d - 1) && delta - k <= d - 1 &&
			    bv[delta - k] != UNREACHED && x + bv[delta - k] >= n) {
				*sx = xl + x0;
				*sy = yl + y0;
				*ex = xl + x;
				*ey = yl + y;
				return;
			}
		}
		for (long k = -d; k <= d; k += 2) {
			long x, y, x0, y0, xi = UNREACHED, xd = UNREACHED;

			if (k < -m || k > n)
				continue;
			if (bv[k + 1] != UNREACHED && bv[k + 1] - k <= m)
				xi = bv[k + 1];
			if (bv[k - 1] != UNREACHED && bv[k - 1] + 1 <= n)
				xd = bv[k - 1] + 1;
			x = xi >= xd ? xi : xd;
			c->work++;
			if (x == UNREACHED) {
				bv[k] = UNREACHED;
				continue;
			}
			y = x - k;
			x0 = x;
			y0 = y;
			while (x < n && y < m && a[n - 1 - x] == b[m - 1 - y]) {
				x++;
				y++;
			}
			c->work += (uint64_t)(x - x0);
			bv[k] = x;
			if (!odd && delta - k >= -d && delta - k <= d &&
			    fv[delta - k] != UNREACHED && x + fv[delta - k] >= n) {
				*sx = xl + n - x;
				*sy = yl + m - y;
				*ex = xl + n - x0;
				*ey = yl + m - y0;
				return;
			}
		}
	}
	/* not reached for a consistent search; shown as a replacement if it were */
	*sx = *ex = xh;
	*sy = *ey = yl;
}

static void mark(uint8_t *v, long from, long to)
{
	for (long i = from; i < to; i++)
		v[i] = 1;
}

static void mark_real(uint8_t *v, const size_t *real, long from, long to)
{
	for (long i = from; i < to; i++)
		v[real[i]] = 1;
}

static void compare(struct dctx *c, long xl, long xh, long yl, long yh)
{
	long sx, sy, ex, ey;

	while (xl < xh && yl < yh && c->a[xl] == c->b[yl]) {
		xl++;
		yl++;
	}
	while (xl < xh && yl < yh && c->a[xh - 1] == c->b[yh - 1]) {
		xh--;
		yh--;
	}
	if (xl == xh || yl == yh || c->work > DIFF_BUDGET) {
		mark_real(c->ca, c->ra, xl, xh);
		mark_real(c->cb, c->rb, yl, yh);
		return;
	}
	middle_snake(c, xl, xh, yl, yh, &sx, &sy, &ex, &ey);
	/* each half is strictly smaller than the whole, so this ends */
	if (sx < xl || ex > xh || sy < yl || ey > yh || sx > ex || (sx == xl && sy == yl &&
								   ex == xh && ey == yh)) {
		mark_real(c->ca, c->ra, xl, xh);
		mark_real(c->cb, c->rb, yl, yh);
		return;
	}
	compare(c, xl, sx, yl, sy);
	compare(c, ex, xh, ey, yh);
}

/*
 * Slides each run of changed lines of x to its canonical place: up while the line
 * before it equals its last line (merging with runs above), then down while its first
 * line equals the line after it (merging with runs below), and finally back up to the
 * lowest place where a change of the other side sits at the same point, so a
 * replacement shows as one change.  j follows, in y, the partner of the unchanged line
 * x[i].
 */
static void compact(const uint32_t *ids, uint8_t *cx, size_t nx, const uint8_t *cy, size_t ny)
{
	size_t i = 0, j = 0;

	for (;;) {
		size_t start, len, corr;

		while (i < nx && !cx[i]) {
			while (j < ny && cy[j])
				j++;
			j++;
			i++;
		}
		if (i >= nx)
			break;
		start = i;
		while (i < nx && cx[i])
			i++;
		while (j < ny && cy[j])
			j++;
		do {
			len = i - start;
			while (start > 0 && ids[start - 1] == ids[i - 1]) {
				cx[--start] = 1;
				cx[--i] = 0;
				while (start > 0 && cx[start - 1])
					start--;
				j--;
				while (j > 0 && cy[j])
					j--;
			}
			corr = j > 0 && cy[j - 1] ? i : nx;
			while (i < nx && ids[start] == ids[i]) {
				cx[start++] = 0;
				cx[i++] = 1;
				while (i < nx && cx[i])
					i++;
				j++;
				while (j < ny && cy[j]) {
					j++;
					corr = i;
				}
			}
		} while (len != i - start);
		while (corr < i) {
			cx[--start] = 1;
			cx[--i] = 0;
			j--;
			while (j > 0 && cy[j])
				j--;
		}
	}
}

static int put_line(struct buf *out, char mark_c, const struct dline *l)
{
	int r = buf_putc(out, mark_c);

	if (r == 0)
		r = buf_append(out, l->p, l->len);
	if (r == 0 && (l->len == 0 || l->p[l->len - 1] != '\n'))
		r = buf_puts(out, "\n\\ No newline at end of file\n");
	return r;
}

static int put_range(struct buf *out, char sign, size_t lo, size_t count)
{
	if (count == 1)
		return buf_printf(out, "%c%zu", sign, lo + 1);
	return buf_printf(out, "%c%zu,%zu", sign, count ? lo + 1 : lo, count);
}

/* One hunk: lines a[alo..ahi) and b[blo..bhi), their changes marked. */
static int put_hunk(struct buf *out, const struct dfile *a, const struct dfile *b, size_t alo,
		    size_t ahi, size_t blo, size_t bhi)
{
	size_t i = alo, j = blo;
	int r;

	r = buf_puts(out, "@@ ");
	if (r == 0)
		r = put_range(out, '-', alo, ahi - alo);
	if (r == 0)
		r = buf_putc(out, ' ');
	if (r == 0)
		r = put_range(out, '+', blo, bhi - blo);
	if (r == 0)
		r = buf_puts(out, " @@\n");
	while (r == 0 && (i < ahi || j < bhi)) {
		if ((i < ahi && a->changed[i]) || (j < bhi && b->changed[j])) {
			while (r == 0 && i < ahi && a->changed[i])
				r = put_line(out, '-', &a->lines[i++]);
			while (r == 0 && j < bhi && b->changed[j])
				r = put_line(out, '+', &b->lines[j++]);
		} else {
			r = put_line(out, ' ', &a->lines[i]);
			i++;
			j++;
		}
	}
	return r;
}

static int put_hunks(struct buf *out, const struct dfile *a, const struct dfile *b)
{
	size_t i = 0, j = 0;
	bool header = false;
	int r = 0;

	while (r == 0) {
		size_t ai, bj, ae, be, alo, blo, lead;

		/* the next change */
		while (i < a->n && j < b->n && !a->changed[i] && !b->changed[j]) {
			i++;
			j++;
		}
		if (i >= a->n && j >= b->n)
			break;
		ai = i;
		bj = j;
		/* extend the hunk over changes closer than twice the context */
		for (;;) {
			size_t gi, gj, gap = 0;

			while (i < a->n && a->changed[i])
				i++;
			while (j < b->n && b->changed[j])
				j++;
			gi = i;
			gj = j;
			while (gi < a->n && gj < b->n && !a->changed[gi] && !b->changed[gj] &&
			       gap <= 2 * DIFF_CONTEXT) {
				gi++;
				gj++;
				gap++;
			}
			if (gap > 2 * DIFF_CONTEXT || (gi >= a->n && gj >= b->n))
				break;
			i = gi;
			j = gj;
		}
		ae = i;
		be = j;
		lead = ai < DIFF_CONTEXT ? ai : DIFF_CONTEXT;
		alo = ai - lead;
		blo = bj - lead;
		ae = a->n - ae < DIFF_CONTEXT ? a->n : ae + DIFF_CONTEXT;
		be = b->n - be < DIFF_CONTEXT ? b->n : be + DIFF_CONTEXT;
		if (!header) {
			r = buf_puts(out, "--- before\n+++ after\n");
			header = true;
		}
		if (r == 0)
			r = put_hunk(out, a, b, alo, ae, blo, be);
	}
	return r;
}

int coll_unified_diff(const char *a, const char *b, struct buf *out)
{
	struct dfile fa = { 0 }, fb = { 0 };
	struct dctx c = { 0 };
	uint32_t *count_a = NULL, *count_b = NULL, n_ids = 0;
	size_t before = out->len, na, nb;
	int r;

	if (strcmp(a ? a : "", b ? b : "") == 0)
		return 0;
	r = split_lines(a, &fa);
	if (r == 0)
		r = split_lines(b, &fb);
	if (r < 0)
		goto out;
	if (fa.n > DIFF_MAX_LINES || fb.n > DIFF_MAX_LINES) {
		/* too big to search: one hunk replacing everything */
		mark(fa.changed, 0, (long)fa.n);
		mark(fb.changed, 0, (long)fb.n);
	} else {
		r = assign_ids(&fa, &fb, &n_ids);
		if (r < 0)
			goto out;
		count_a = calloc(n_ids, sizeof(*count_a));
		count_b = calloc(n_ids, sizeof(*count_b));
		c.a = malloc((fa.n + 1) * sizeof(*c.a));
		c.b = malloc((fb.n + 1) * sizeof(*c.b));
		c.ra = malloc((fa.n + 1) * sizeof(*c.ra));
		c.rb = malloc((fb.n + 1) * sizeof(*c.rb));
		if (!count_a || !count_b || !c.a || !c.b || !c.ra || !c.rb) {
			r = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < fa.n; i++)
			count_a[fa.ids[i]]++;
		for (size_t i = 0; i < fb.n; i++)
			count_b[fb.ids[i]]++;
		na = keep_matched(&fa, count_b, c.a, c.ra);
		nb = keep_matched(&fb, count_a, c.b, c.rb);
		c.ca = fa.changed;
		c.cb = fb.changed;
		c.voff = (long)(na + nb + 1) / 2 + 2;
		c.fv = calloc(2 * (size_t)c.voff + 1, sizeof(long));
		c.bv = calloc(2 * (size_t)c.voff + 1, sizeof(long));
		if (!c.fv || !c.bv) {
			r = -ENOMEM;
			goto out;
		}
		compare(&c, 0, (long)na, 0, (long)nb);
		compact(fa.ids, fa.changed, fa.n, fb.changed, fb.n);
		compact(fb.ids, fb.changed, fb.n, fa.changed, fa.n);
	}
	r = put_hunks(out, &fa, &fb);
out:
	if (r < 0 && out->data) {
		/* all or nothing */
		out->len = before;
		out->data[before] = '\0';
	}
	free(c.fv);
	free(c.bv);
	free(c.a);
	free(c.b);
	free(c.ra);
	free(c.rb);
	free(count_a);
	free(count_b);
	free(fa.lines);
	free(fa.ids);
	free(fa.changed);
	free(fb.lines);
	free(fb.ids);
	free(fb.changed);
	return r;
}

/* ---- redaction ---- */

#define REDACTED "<redacted>"
#define HIGH_ENTROPY_MIN 32

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

static bool is_b64_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '_' || c == '-';
}

static bool in_set(char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool word_is(const char *w, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(w, s, n) == 0;
}

static bool word_ends(const char *w, size_t n, const char *s)
{
	size_t k = strlen(s);

	return n >= k && memcmp(w + n - k, s, k) == 0;
}

enum secret_form {
	FORM_NONE,
	FORM_ASSIGN,	/* only with '=' or ':' */
	FORM_ANY,	/* white space too */
};

/* w: a lower-case word without trailing digits */
static enum secret_form secret_word1(const char *w, size_t n)
{
	static const char *const whole[] = { "password", "passwd", "passphrase", "pwd",
					     "secret", "token", "apikey", "psk",
					     "credential", "community", "key" };
	static const char *const suffix[] = { "password", "passwd", "passphrase", "pw",
					      "secret", "token", "credential" };
	static const char *const key_prefix[] = { "private", "secret", "api", "access",
						  "auth", "signing", "shared", "preshared",
						  "encryption", "master", "session", "client" };

	for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++)
		if (word_is(w, n, whole[i]))
			return FORM_ANY;
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++)
		if (word_ends(w, n, suffix[i]))
			return FORM_ANY;
	if (word_ends(w, n, "key"))
		for (size_t i = 0; i < sizeof(key_prefix) / sizeof(key_prefix[0]); i++)
			if (word_is(w, n - 3, key_prefix[i]))
				return FORM_ANY;
	if (word_is(w, n, "auth") || word_is(w, n, "authorization") || word_is(w, n, "pass"))
		return FORM_ASSIGN;
	return FORM_NONE;
}

/* A last word that only says "the value of": the word before it decides. */
static bool qualifier_word(const char *w, size_t n)
{
	static const char *const words[] = { "base", "value",  "data",	"string",
					     "text", "hex",    "b64",	"base64",
					     "hash", "plain", "plaintext", "raw" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == n && strncasecmp(w, words[i], n) == 0)
			return true;
	return false;
}

static bool is_separator(char c)
{
	return c == '_' || c == '-' || c == '.';
}

/* Where the last word of name[0..n) starts: after a separator or at a camelCase step. */
static size_t last_word_start(const char *name, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (is_separator(c))
			start = i + 1;
		else if (i > 0 && is_upper(c) && (is_lower(name[i - 1]) || is_digit(name[i - 1])))
			start = i;
		else if (i > 0 && i + 1 < n && is_upper(c) && is_upper(name[i - 1]) &&
			 is_lower(name[i + 1]))
			start = i;
	}
	return start;
}

/* Judges the key name[0..n) by its last word. */
static enum secret_form secret_name(const char *name, size_t n)
{
	char w[64];
	size_t start = last_word_start(name, n), wn = n - start;
	enum secret_form f;

	if (start > 0 && qualifier_word(name + start, wn)) {
		/* "secret_key_base", "passwordHash": the word before decides */
		size_t end = is_separator(name[start - 1]) ? start - 1 : start;

		start = last_word_start(name, end);
		wn = end - start;
	}
	while (wn > 0 && is_digit(name[start + wn - 1]))
		wn--;
	if (wn == 0 || wn >= sizeof(w))
		return FORM_NONE;
	for (size_t i = 0; i < wn; i++) {
		char c = name[start + i];

		w[i] = is_upper(c) ? (char)(c - 'A' + 'a') : c;
	}
	f = secret_word1(w, wn);
	if (f == FORM_NONE && wn > 1 && w[wn - 1] == 's')
		f = secret_word1(w, wn - 1);
	return f;
}

static bool value_kept(const char *v, size_t n, bool ws_form)
{
	/* and the sources of nsswitch.conf ("passwd: files systemd") */
	static const char *const plain[] = { "yes",   "no",	 "true",    "false", "on",
					     "off",   "null",	 "none",    "nil",   "files",
					     "compat", "systemd", "sss",	    "ldap",  "nis",
					     "winbind" };
	static const char *const words[] = { "a",	"an",	   "and",     "are",	 "as",
					     "at",	"be",	   "by",      "for",	 "from",
					     "has",	"have",	   "in",      "is",	 "not",
					     "of",	"on",	   "or",      "the",	 "to",
					     "was",	"were",	   "will",    "with",	 "changed",
					     "expired", "invalid", "required", "updated",
					     /* PAM: "password requisite pam_pwquality.so" */
					     "requisite", "sufficient", "optional", "include",
					     "substack" };
	bool path = n > 0 && v[0] == '/', ref = n > 1 && v[0] == '$';

	if (n == 0 || v[0] == '{' || v[0] == '[')
		return true;
	/* a reference to a variable ("$DB_PASSWORD", "${DB_PASSWORD}") names the secret */
	for (size_t i = 1; ref && i < n; i++)
		if (!(is_name_char(v[i]) && v[i] != '.' && v[i] != '-') &&
		    !(i == 1 && v[i] == '{') && !(i == n - 1 && v[i] == '}' && v[1] == '{'))
			ref = false;
	if (ref && !is_digit(v[v[1] == '{' ? 2 : 1]))
		return true;
	if (n >= strlen(REDACTED) - 1 && memcmp(v, REDACTED, strlen(REDACTED) - 1) == 0)
		return true;
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (strlen(plain[i]) == n && strncasecmp(v, plain[i], n) == 0)
			return true;
	for (size_t i = 0; path && i < n; i++)
		if (!is_name_char(v[i]) && v[i] != '/' && v[i] != '+' && v[i] != '@')
			path = false;
	if (path)
		return true;
	if (!ws_form)
		return false;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == n && strncasecmp(v, words[i], n) == 0)
			return true;
	if (v[n - 1] == ':' || memchr(v, '=', n))
		return true;
	return false;
}

/* The end of a non-blank run from p (stops at white space and the end). */
static size_t run_end(const char *t, size_t len, size_t p)
{
	while (p < len && !is_space(t[p]))
		p++;
	return p;
}

/*
 * Tries a secret key name at t[i..): on success appends the key with its separator and
 * redacted value to out and returns the position after them; 0 when this is not a
 * secret key with a value.
 */
static size_t redact_pair(const char *t, size_t len, size_t i, struct buf *out, int *err)
{
	size_t ne = i, p, q, vs, ve, keep_end;
	char open = i > 0 ? t[i - 1] : '\0';
	enum secret_form form;
	bool ws_form = false;

	while (ne < len && is_name_char(t[ne]))
		ne++;
	form = secret_name(t + i, ne - i);
	if (form == FORM_NONE)
		return 0;
	p = ne;
	if (open == '<' && p < len && t[p] == '>') {
		/* <key>value</key> */
		vs = p + 1;
		ve = vs;
		while (ve < len && t[ve] != '<' && t[ve] != '\n')
			ve++;
		if (ve == vs || value_kept(t + vs, ve - vs, false))
			return 0;
		*err = buf_append(out, t + i, vs - i);
		if (*err == 0)
			*err = buf_puts(out, REDACTED);
		return ve;
	}
	if ((open == '"' || open == '\'') && p < len && t[p] == open)
		p++;
	q = p;
	while (q < len && is_blank(t[q]))
		q++;
	if (q < len && t[q] == '=' && q + 1 < len && t[q + 1] == '>') {
		q += 2;
	} else if (q < len && t[q] == '=' && (q + 1 >= len || t[q + 1] != '=')) {
		q++;
	} else if (q < len && t[q] == ':' && (q + 1 >= len || t[q + 1] != ':')) {
		q++;
		if (q < len && t[q] == '=')
			q++;
	} else if (q > p && form == FORM_ANY) {
		ws_form = true;
	} else {
		return 0;
	}
	while (q < len && is_blank(t[q]))
		q++;
	if (q >= len || t[q] == '\n' || t[q] == '\r')
		return 0;
	vs = q;
	if (t[q] == '"' || t[q] == '\'') {
		char quote = t[q];

		vs = q + 1;
		ve = vs;
		while (ve < len && t[ve] != quote && t[ve] != '\n') {
			if (quote == '"' && t[ve] == '\\' && ve + 1 < len && t[ve + 1] != '\n')
				ve++;
			ve++;
		}
		keep_end = ve;
		if (ve == vs || (ve - vs == strlen(REDACTED) &&
				 memcmp(t + vs, REDACTED, strlen(REDACTED)) == 0))
			return 0;
	} else {
		ve = run_end(t, len, vs);
		/* after a quoted key (JSON, YAML flow), a bare value ends at the next member */
		for (size_t k = vs; (open == '"' || open == '\'') && k < ve; k++)
			if (in_set(t[k], ",}]"))
				ve = k;
		while (ve > vs && in_set(t[ve - 1], ",;)}]>"))
			ve--;
		keep_end = ve;
		if (value_kept(t + vs, ve - vs, ws_form))
			return 0;
		if (ve - vs <= 9) {
			static const char *const schemes[] = { "bearer", "basic",     "digest",
							       "token",  "negotiate", "ntlm" };
			bool scheme = false;

			for (size_t k = 0; k < sizeof(schemes) / sizeof(schemes[0]); k++)
				if (strlen(schemes[k]) == ve - vs &&
				    strncasecmp(t + vs, schemes[k], ve - vs) == 0)
					scheme = true;
			if ((scheme || (ws_form && ve - vs == 1 && is_digit(t[vs]))) && ve < len &&
			    is_blank(t[ve])) {
				size_t ns = ve;

				while (ns < len && is_blank(t[ns]))
					ns++;
				if (ns < len && !is_space(t[ns])) {
					vs = ns;
					ve = run_end(t, len, vs);
					keep_end = ve;
				}
			}
		}
	}
	*err = buf_append(out, t + i, vs - i);
	if (*err == 0)
		*err = buf_puts(out, REDACTED);
	return keep_end;
}

/* A private key block starting at t[i] ("-----BEGIN "): its end, or 0 when it is not one. */
static size_t pem_private_end(const char *t, size_t len, size_t i)
{
	static const char begin[] = "-----BEGIN ", end[] = "-----END ";
	size_t p = i + strlen(begin), lab = p;
	const char *e;

	if (len - i < strlen(begin) || memcmp(t + i, begin, strlen(begin)) != 0)
		return 0;
	while (p < len && p - lab < 64 && (is_upper(t[p]) || is_digit(t[p]) || t[p] == ' '))
		p++;
	if (len - p < 5 || memcmp(t + p, "-----", 5) != 0 ||
	    !memmem(t + lab, p - lab, "PRIVATE KEY", 11))
		return 0;
	p += 5;
	while ((e = memmem(t + p, len - p, end, strlen(end))) != NULL) {
		size_t q = (size_t)(e - t) + strlen(end), l2 = q;

		while (q < len && q - l2 < 64 && (is_upper(t[q]) || is_digit(t[q]) || t[q] == ' '))
			q++;
		if (len - q >= 5 && memcmp(t + q, "-----", 5) == 0 &&
		    memmem(t + l2, q - l2, "PRIVATE KEY", 11))
			return q + 5;
		p = q;
	}
	return len;
}

/* scheme://user:PASSWORD@host at t[i] == ':': the span of the password, or false */
static bool url_password(const char *t, size_t len, size_t i, size_t *ps, size_t *pe)
{
	size_t p = i + 3, colon = 0;

	if (len - i < 3 || memcmp(t + i, "://", 3) != 0)
		return false;
	for (; p < len && !is_space(t[p]) && !in_set(t[p], "/?#@"); p++)
		if (t[p] == ':' && !colon)
			colon = p;
	if (p >= len || t[p] != '@' || !colon || p == colon + 1)
		return false;
	*ps = colon + 1;
	*pe = p;
	return true;
}

/* Characters of w[0..n) in runs of 3+ lower-case or 4+ upper-case letters: most of a
 * name made of words, a small part of random text. */
static size_t wordy_chars(const char *w, size_t n)
{
	size_t total = 0;

	for (size_t i = 0; i < n;) {
		size_t j = i;

		if (is_lower(w[i])) {
			while (j < n && is_lower(w[j]))
				j++;
			total += j - i >= 3 ? j - i : 0;
		} else if (is_upper(w[i])) {
			while (j < n && is_upper(w[j]))
				j++;
			total += j - i >= 4 ? j - i : 0;
		} else {
			j++;
		}
		i = j;
	}
	return total;
}

static bool high_entropy(const char *w, size_t n)
{
	bool lower = false, upper = false, digit = false, hex = true;
	size_t changes = 0;

	while (n > 0 && w[n - 1] == '=')
		n--;
	if (n < HIGH_ENTROPY_MIN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = w[i];

		lower |= is_lower(c);
		upper |= is_upper(c);
		digit |= is_digit(c);
		if (!is_digit(c) && !((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			hex = false;
		if (i > 0 && is_digit(c) != is_digit(w[i - 1]))
			changes++;
	}
	if (hex)
		return digit && (lower || upper) && changes * 5 >= n;
	return lower && upper && digit && wordy_chars(w, n) * 5 < n * 3;
}

/* The end of the base64-alphabet word at t[i] with its '=' padding. */
static size_t b64_end(const char *t, size_t len, size_t i)
{
	size_t p = i;

	while (p < len && is_b64_char(t[p]))
		p++;
	for (int k = 0; k < 2 && p < len && t[p] == '='; k++)
		p++;
	return p;
}

int coll_redact(const char *text, size_t len, struct buf *out)
{
	size_t before = out->len, i = 0, path_end = 0;
	int r = 0;

	while (r == 0 && i < len) {
		char c = text[i], prev = i > 0 ? text[i - 1] : '\0';
		size_t e, ps, pe;

		if (c == '-' && (e = pem_private_end(text, len, i)) > 0) {
			r = buf_puts(out, "<redacted private key>");
			i = e;
			continue;
		}
		if (c == ':' && url_password(text, len, i, &ps, &pe)) {
			r = buf_append(out, text + i, ps - i);
			if (r == 0)
				r = buf_puts(out, REDACTED);
			i = pe;
			continue;
		}
		if (is_name_char(c) && !is_name_char(prev) && c != '.') {
			e = redact_pair(text, len, i, out, &r);
			if (e > 0) {
				i = e;
				continue;
			}
			if (r < 0)
				break;
		}
		if (is_b64_char(c) && !is_b64_char(prev)) {
			e = b64_end(text, len, i);
			if (c == '/') {
				/* a path: its components are judged one by one, below */
				path_end = e;
			} else if (high_entropy(text + i, e - i)) {
				r = buf_puts(out, REDACTED);
				i = e;
				continue;
			}
		}
		if (i < path_end && prev == '/' && c != '/') {
			const char *sl = memchr(text + i, '/', path_end - i);

			e = sl ? (size_t)(sl - text) : path_end;
			if (high_entropy(text + i, e - i)) {
				r = buf_puts(out, REDACTED);
				i = e;
				continue;
			}
		}
		r = buf_putc(out, c);
		i++;
	}
	if (r == 0 && !out->data)
		r = buf_puts(out, "");
	if (r < 0 && out->data) {
		out->len = before;
		out->data[before] = '\0';
	}
	return r;
}

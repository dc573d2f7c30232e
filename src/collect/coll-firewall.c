/*
 * The firewall collector: the packet filter the kernel enforces right now, which no
 * configuration file shows (a rule added by hand with `nft add rule` is in no file).
 *
 * With nftables (/usr/sbin/nft or /sbin/nft) it reads `nft -s list ruleset`: the text
 * form, stateless (no counters), without handles (they change when rules are reloaded
 * although nothing else does).  Its blocks become objects:
 *
 *	"FAMILY TABLE"			{"definition": [table lines: flags, comment]}
 *	"FAMILY TABLE CHAIN"		{"type", "hook", "device", "priority", "policy" (null
 *					 for a regular chain), "comment" (null when none),
 *					 "rules": [rule texts in order]}
 *	"FAMILY TABLE set NAME"		{"definition": ["type ipv4_addr", "flags interval"],
 *	"FAMILY TABLE map NAME"		 "elements": [sorted element texts]}
 *	"FAMILY TABLE TYPE NAME"	{"definition": [lines]} for the other named objects
 *					(counter, quota, limit, ct helper, flowtable, ...)
 *
 * and each object's text is its lines, one per line, so a change shows as a diff.  What
 * changes by itself is left out: counter values ("packets N bytes N"), quota use ("used
 * N UNIT"), the "last used" time, element expiry countdowns ("expires 8s"), and the
 * elements of a set the packet path fills ("flags dynamic": elements null).  A list too
 * big for a state is kept as its count and SHA-256 ("rules_count", "rules_sha256").
 *
 * Without nft it falls back to iptables-save and ip6tables-save: "ip TABLE CHAIN" and
 * "ip6 TABLE CHAIN" with {"policy", "rules": ["-A CHAIN ..." lines]}, counters removed.
 * With none of these programs the host has no firewall to read: no objects, no error.
 * A program that is there but fails (no permission, no kernel support) is an error that
 * names it and quotes its first line of complaint.
 *
 * The settings' root does not apply here: the ruleset is the running kernel's, asked
 * through a program, not read from a file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/escape.h"
#include "base/json.h"
#include "base/object.h"
#include "base/proc.h"
#include "collect/coll-firewall.h"
#include "collect/collect.h"
#include "crypto/hash.h"
#include "base/banned.h"

#define FW_CAPTURE_MAX (16u * 1024 * 1024)
#define FW_LINE_MAX (4u * 1024 * 1024)
/* a list whose JSON passes this is kept as count and digest, so the state fits */
#define FW_LIST_JSON_MAX (COLL_STATE_MAX - 4096)


static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The line of text starting at *i, trimmed of white space at both ends; *i moves past it. */
static void next_line(const char *text, size_t len, size_t *i, const char **ret, size_t *ret_n)
{
	const char *nl = memchr(text + *i, '\n', len - *i);
	size_t e = nl ? (size_t)(nl - text) : len, st = *i;

	*i = e + 1;
	while (st < e && is_ws(text[st]))
		st++;
	while (e > st && is_ws(text[e - 1]))
		e--;
	*ret = text + st;
	*ret_n = e - st;
}

/* punctuation that may stick to the last word of an element or statement */
static bool is_trailer(char c)
{
	return c == '}' || c == ',' || c == ';';
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool word_eq(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(s, w, n) == 0;
}

/* '{' minus '}' outside double quotes */
static long brace_balance(const char *s, size_t n)
{
	bool q = false;
	long b = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			q = !q;
		else if (!q && s[i] == '{')
			b++;
		else if (!q && s[i] == '}')
			b--;
	}
	return b;
}

/* ---- words of a line (double-quoted strings are one word) ---- */

struct word {
	const char *p;
	size_t n;
};

static size_t split_words(const char *s, size_t n, struct word *w, size_t max)
{
	size_t k = 0, i = 0;

	while (i < n && k < max) {
		size_t st;
		bool q = false;

		while (i < n && is_ws(s[i]))
			i++;
		if (i >= n)
			break;
		st = i;
		while (i < n && (q || !is_ws(s[i]))) {
			if (s[i] == '"')
				q = !q;
			i++;
		}
		w[k++] = (struct word){ s + st, i - st };
	}
	return k;
}

/* All the words of s[0..n), in *ret (malloc'ed; free it), their count in *ret_n. */
static int split_all(const char *s, size_t n, struct word **ret, size_t *ret_n)
{
	size_t count = 0;
	struct word *w;

	for (size_t i = 0; i < n; i++)
		count += !is_ws(s[i]) && (i == 0 || is_ws(s[i - 1]));
	/* quoted words hold blanks: there are at most this many */
	w = malloc((count + 1) * sizeof(*w));
	if (!w)
		return -ENOMEM;
	*ret_n = split_words(s, n, w, count + 1);
	*ret = w;
	return 0;
}

/*
 * Appends line[0..n) without what changes by itself: "packets N bytes N", "expires T",
 * "used N [UNIT]" (quotas, "last used T"), and a "# handle N" suffix.  Words are joined
 * by one space.
 */
static int normalize_line(const char *line, size_t n, struct buf *out)
{
	size_t k, first = out->len;
	struct word *w;
	int r = split_all(line, n, &w, &k);

	if (r < 0)
		return r;
	for (size_t i = 0; r == 0 && i < k; i++) {
		const struct word *x = &w[i];

		if (word_eq(x->p, x->n, "packets") && i + 3 < k &&
		    all_digits(w[i + 1].p, w[i + 1].n) &&
		    word_eq(w[i + 2].p, w[i + 2].n, "bytes")) {
			/* the last number may carry the punctuation that follows it */
			size_t d = 0;

			while (d < w[i + 3].n && w[i + 3].p[d] >= '0' && w[i + 3].p[d] <= '9')
				d++;
			if (d > 0) {
				if (d < w[i + 3].n) {
					if (out->len > first)
						r = buf_putc(out, ' ');
					if (r == 0)
						r = buf_append(out, w[i + 3].p + d, w[i + 3].n - d);
				}
				i += 3;
				continue;
			}
		}
		if ((word_eq(x->p, x->n, "expires") || word_eq(x->p, x->n, "used")) && i + 1 < k) {
			const struct word *v = &w[i + 1];
			size_t keep = v->n;

			while (keep > 0 && is_trailer(v->p[keep - 1]))
				keep--;
			i++;
			if (word_eq(x->p, x->n, "used") && i + 1 < k &&
			    (word_eq(w[i + 1].p, w[i + 1].n, "bytes") ||
			     word_eq(w[i + 1].p, w[i + 1].n, "kbytes") ||
			     word_eq(w[i + 1].p, w[i + 1].n, "mbytes") ||
			     word_eq(w[i + 1].p, w[i + 1].n, "gbytes"))) {
				i++;
				v = &w[i];
				keep = v->n;
				while (keep > 0 && is_trailer(v->p[keep - 1]))
					keep--;
			}
			if (keep < v->n) {
				if (out->len > first)
					r = buf_putc(out, ' ');
				if (r == 0)
					r = buf_append(out, v->p + keep, v->n - keep);
			}
			continue;
		}
		if (word_eq(x->p, x->n, "#") && i + 3 == k &&
		    word_eq(w[i + 1].p, w[i + 1].n, "handle")) {
			i += 2;
			continue;
		}
		if (out->len > first)
			r = buf_putc(out, ' ');
		if (r == 0)
			r = buf_append(out, x->p, x->n);
	}
	free(w);
	if (r == 0 && !out->data)
		r = buf_puts(out, "");
	return r;
}

static int push_normalized(struct coll_strv *l, const char *line, size_t n)
{
	struct buf b;
	int r;

	buf_init(&b, FW_LINE_MAX);
	r = normalize_line(line, n, &b);
	if (r == 0 && b.len > 0)
		r = coll_strv_push(l, b.data, b.len);
	buf_release(&b);
	return r;
}

/* ---- writing the states ---- */

static void jw_str_or_null(struct json_writer *w, const char *s)
{
	if (s)
		jw_str_bytes(w, s, strlen(s));
	else
		jw_null(w);
}

/* Writes "key": [items] or, when too big, "key": null, "key_count", "key_sha256". */
static int write_list(struct json_writer *w, const char *key, const struct coll_strv *l)
{
	size_t total = 2;
	uint8_t digest[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1], k2[64];
	struct buf all;
	int r;

	/* the most the JSON of each string can take: quotes and escapes ("\\x01") */
	for (size_t i = 0; i < l->n; i++) {
		size_t n = strlen(l->v[i]);

		total += (escape_is_plain(l->v[i], n) ? 2 * n : 6 * n) + 3;
	}
	jw_key(w, key);
	if (total <= FW_LIST_JSON_MAX) {
		jw_arr_open(w);
		for (size_t i = 0; i < l->n; i++)
			jw_str_bytes(w, l->v[i], strlen(l->v[i]));
		jw_arr_close(w);
		return 0;
	}
	jw_null(w);
	buf_init(&all, BUF_MAX_DEFAULT);
	r = 0;
	for (size_t i = 0; r == 0 && i < l->n; i++) {
		r = buf_puts(&all, l->v[i]);
		if (r == 0)
			r = buf_putc(&all, '\n');
	}
	if (r == 0)
		r = sha256_buf(all.data ? all.data : "", all.len, digest);
	buf_release(&all);
	if (r < 0)
		return r;
	hex_encode(digest, sizeof(digest), hex);
	snprintf(k2, sizeof(k2), "%s_count", key);
	jw_key(w, k2);
	jw_u64(w, l->n);
	snprintf(k2, sizeof(k2), "%s_sha256", key);
	jw_key(w, k2);
	jw_str(w, hex);
	return 0;
}

/* The lines of the lists, one per line; NULL (*ret) when too big for an item's text. */
static int join_lines(const struct coll_strv *a, const struct coll_strv *b, char **ret)
{
	struct buf t;
	int r = 0;

	buf_init(&t, COLL_TEXT_MAX);
	for (int k = 0; k < 2; k++) {
		const struct coll_strv *l = k ? b : a;

		for (size_t i = 0; r == 0 && l && i < l->n; i++) {
			r = buf_puts(&t, l->v[i]);
			if (r == 0)
				r = buf_putc(&t, '\n');
		}
	}
	if (r == 0 && !t.data)
		r = buf_puts(&t, "");
	if (r == 0)
		return buf_detach(&t, ret, NULL);
	buf_release(&t);
	*ret = NULL;
	return r == -E2BIG ? 0 : r;
}

static int add_item(struct coll_set *out, const char *key, struct buf *state, const char *text,
		    const char *file, unsigned line, struct vg_error *err)
{
	int r = coll_set_add(out, key, buf_str(state), text);

	if (r == -EEXIST)
		return vg_error_set(err, r, file, line, 0, "'%s' is listed twice", key);
	if (r < 0)
		return vg_error_set(err, r, file, line, 0, "cannot keep '%s': %s", key,
				    strerror(-r));
	return 0;
}

/* ---- nft ---- */

enum block_kind { BLOCK_CHAIN, BLOCK_SET, BLOCK_OTHER };

struct nft_block {
	enum block_kind kind;
	char type[64];		/* "chain", "set", "map", "ct helper", ... */
	char name[256];
	unsigned line;
	char *c_type, *c_hook, *c_device, *c_priority, *c_policy, *c_comment;
	struct coll_strv lines;	/* rules, or the definition */
	struct coll_strv elements;
	bool dynamic;
};

static void block_release(struct nft_block *b)
{
	free(b->c_type);
	free(b->c_hook);
	free(b->c_device);
	free(b->c_priority);
	free(b->c_policy);
	free(b->c_comment);
	coll_strv_release(&b->lines);
	coll_strv_release(&b->elements);
	memset(b, 0, sizeof(*b));
}

static int dup_word(char **dst, const char *s, size_t n)
{
	free(*dst);
	*dst = strndup(s, n);
	return *dst ? 0 : -ENOMEM;
}

/* "type filter hook input device "eth0" priority filter" */
static int parse_chain_type(struct nft_block *b, const char *s, size_t n)
{
	struct word *w = NULL;
	size_t k = 0;
	int r = split_all(s, n, &w, &k);

	for (size_t i = 0; r == 0 && i < k; i++) {
		if (word_eq(w[i].p, w[i].n, "type") && i + 1 < k) {
			r = dup_word(&b->c_type, w[i + 1].p, w[i + 1].n);
			i++;
		} else if (word_eq(w[i].p, w[i].n, "hook") && i + 1 < k) {
			r = dup_word(&b->c_hook, w[i + 1].p, w[i + 1].n);
			i++;
		} else if (word_eq(w[i].p, w[i].n, "device") && i + 1 < k) {
			/* printed quoted: device "eth0" */
			const char *d = w[i + 1].p;
			size_t dn = w[i + 1].n;

			if (dn >= 2 && d[0] == '"' && d[dn - 1] == '"') {
				d++;
				dn -= 2;
			}
			r = dup_word(&b->c_device, d, dn);
			i++;
		} else if (word_eq(w[i].p, w[i].n, "devices")) {
			/* "devices = { eth0, eth1 }" up to "priority" */
			size_t j = i + 1;

			while (j < k && !word_eq(w[j].p, w[j].n, "priority"))
				j++;
			if (j > i + 1)
				r = dup_word(&b->c_device, w[i + 1].p,
					     (size_t)(w[j - 1].p + w[j - 1].n - w[i + 1].p));
			i = j - 1;
		} else if (word_eq(w[i].p, w[i].n, "priority") && i + 1 < k) {
			/* the rest: "filter", "-150", "filter + 10" */
			r = dup_word(&b->c_priority, w[i + 1].p,
				     (size_t)(w[k - 1].p + w[k - 1].n - w[i + 1].p));
			break;
		}
	}
	free(w);
	return r;
}

/* A line of a chain: the base chain's declaration or a rule. */
static int chain_line(struct nft_block *b, const char *s, size_t n)
{
	size_t i = 0;
	int r = 0;

	/* the chain's own comment (rules carry theirs at their end) */
	if (n >= 10 && memcmp(s, "comment \"", 9) == 0 && s[n - 1] == '"')
		return dup_word(&b->c_comment, s + 9, n - 10);
	if (!(n > 5 && memcmp(s, "type ", 5) == 0) && !(n > 7 && memcmp(s, "policy ", 7) == 0))
		return push_normalized(&b->lines, s, n);
	/* statements separated by ';' */
	while (r == 0 && i < n) {
		size_t st = i, e;
		bool q = false;

		while (i < n && (q || s[i] != ';')) {
			if (s[i] == '"')
				q = !q;
			i++;
		}
		e = i;
		i++;
		while (st < e && is_ws(s[st]))
			st++;
		while (e > st && is_ws(s[e - 1]))
			e--;
		if (e == st)
			continue;
		if (e - st > 5 && memcmp(s + st, "type ", 5) == 0)
			r = parse_chain_type(b, s + st, e - st);
		else if (e - st > 7 && memcmp(s + st, "policy ", 7) == 0)
			r = dup_word(&b->c_policy, s + st + 7, e - st - 7);
		else
			r = push_normalized(&b->lines, s + st, e - st);
	}
	return r;
}

/* "elements = { a, b . c, d : drop }" into the block's elements */
static int set_elements(struct nft_block *b, const char *s, size_t n)
{
	const char *open = memchr(s, '{', n);
	size_t i, end = n;
	int r = 0;

	while (end > 0 && s[end - 1] != '}')
		end--;
	if (!open || end == 0 || (size_t)(open - s) >= end)
		return -EINVAL;
	i = (size_t)(open - s) + 1;
	end--;
	while (r == 0 && i < end) {
		size_t st = i;
		long depth = 0;
		bool q = false;

		while (i < end && (q || depth > 0 || s[i] != ',')) {
			if (s[i] == '"')
				q = !q;
			else if (!q && s[i] == '{')
				depth++;
			else if (!q && s[i] == '}')
				depth--;
			i++;
		}
		r = push_normalized(&b->elements, s + st, i - st);
		i++;
	}
	return r;
}

static int block_line(struct nft_block *b, const char *s, size_t n)
{
	if (b->kind == BLOCK_CHAIN)
		return chain_line(b, s, n);
	if (b->kind == BLOCK_SET && n > 8 && memcmp(s, "elements", 8) == 0 &&
	    memchr(s, '{', n))
		return set_elements(b, s, n);
	if (b->kind == BLOCK_SET && n > 6 && memcmp(s, "flags ", 6) == 0) {
		struct word w[64];
		size_t k = split_words(s + 6, n - 6, w, 64);

		for (size_t i = 0; i < k; i++) {
			/* "flags dynamic,timeout" or "flags dynamic, timeout" */
			const char *p = w[i].p, *e = w[i].p + w[i].n;

			while (p < e) {
				const char *c = memchr(p, ',', (size_t)(e - p));
				size_t l = c ? (size_t)(c - p) : (size_t)(e - p);

				if (word_eq(p, l, "dynamic"))
					b->dynamic = true;
				p += l + 1;
			}
		}
	}
	return push_normalized(&b->lines, s, n);
}

static int emit_block(const char *family, const char *table, struct nft_block *b,
		      struct coll_set *out, struct vg_error *err)
{
	char key[700], *text = NULL;
	struct json_writer w;
	struct buf st;
	int r;

	if (b->kind == BLOCK_CHAIN)
		snprintf(key, sizeof(key), "%s %s %s", family, table, b->name);
	else
		snprintf(key, sizeof(key), "%s %s %s %s", family, table, b->type, b->name);
	buf_init(&st, COLL_STATE_MAX);
	jw_init(&w, &st);
	jw_obj_open(&w);
	if (b->kind == BLOCK_CHAIN) {
		jw_key(&w, "comment");
		jw_str_or_null(&w, b->c_comment);
		jw_key(&w, "device");
		jw_str_or_null(&w, b->c_device);
		jw_key(&w, "hook");
		jw_str_or_null(&w, b->c_hook);
		jw_key(&w, "policy");
		jw_str_or_null(&w, b->c_policy);
		jw_key(&w, "priority");
		jw_str_or_null(&w, b->c_priority);
		r = write_list(&w, "rules", &b->lines);
		jw_key(&w, "type");
		jw_str_or_null(&w, b->c_type);
		if (r == 0)
			r = join_lines(&b->lines, NULL, &text);
	} else {
		r = write_list(&w, "definition", &b->lines);
		if (b->kind == BLOCK_SET && b->dynamic) {
			jw_key(&w, "elements");
			jw_null(&w);
		} else if (b->kind == BLOCK_SET && r == 0) {
			qsort(b->elements.v, b->elements.n, sizeof(*b->elements.v), coll_str_cmp);
			r = write_list(&w, "elements", &b->elements);
		}
		if (r == 0)
			r = join_lines(&b->lines, b->dynamic ? NULL : &b->elements, &text);
	}
	jw_obj_close(&w);
	if (r == 0)
		r = w.err;
	if (r < 0)
		r = vg_error_set(err, r, "nft", b->line, 0, "cannot keep '%s': %s", key,
				 strerror(-r));
	else
		r = add_item(out, key, &st, text, "nft", b->line, err);
	free(text);
	buf_release(&st);
	return r;
}

static int emit_table(const char *family, const char *table, const struct coll_strv *def,
		      unsigned line, struct coll_set *out, struct vg_error *err)
{
	char key[600], *text = NULL;
	struct json_writer w;
	struct buf st;
	int r;

	snprintf(key, sizeof(key), "%s %s", family, table);
	buf_init(&st, COLL_STATE_MAX);
	jw_init(&w, &st);
	jw_obj_open(&w);
	r = write_list(&w, "definition", def);
	jw_obj_close(&w);
	if (r == 0)
		r = w.err;
	if (r == 0)
		r = join_lines(def, NULL, &text);
	if (r < 0)
		r = vg_error_set(err, r, "nft", line, 0, "cannot keep '%s': %s", key,
				 strerror(-r));
	else
		r = add_item(out, key, &st, text, "nft", line, err);
	free(text);
	buf_release(&st);
	return r;
}

/* "table inet filter {" */
static bool parse_table_open(const char *s, size_t n, char *family, size_t fsize, char *name,
			     size_t nsize)
{
	struct word w[8];
	size_t k = split_words(s, n, w, 8);

	if (k != 4 || !word_eq(w[0].p, w[0].n, "table") || !word_eq(w[3].p, w[3].n, "{") ||
	    w[1].n >= fsize || w[2].n >= nsize)
		return false;
	memcpy(family, w[1].p, w[1].n);
	family[w[1].n] = '\0';
	memcpy(name, w[2].p, w[2].n);
	name[w[2].n] = '\0';
	return true;
}

/* "chain input {", "set blocked {", "ct helper ftp {" */
static bool parse_block_open(const char *s, size_t n, struct nft_block *b)
{
	struct word w[8];
	size_t k = split_words(s, n, w, 8), tl;

	if (k < 3 || k > 5 || !word_eq(w[k - 1].p, w[k - 1].n, "{") ||
	    w[k - 2].n >= sizeof(b->name))
		return false;
	tl = (size_t)(w[k - 3].p + w[k - 3].n - w[0].p);
	if (tl >= sizeof(b->type) || memchr(w[0].p, '"', tl))
		return false;
	memcpy(b->type, w[0].p, tl);
	b->type[tl] = '\0';
	memcpy(b->name, w[k - 2].p, w[k - 2].n);
	b->name[w[k - 2].n] = '\0';
	if (strcmp(b->type, "chain") == 0)
		b->kind = BLOCK_CHAIN;
	else if (strcmp(b->type, "set") == 0 || strcmp(b->type, "map") == 0)
		b->kind = BLOCK_SET;
	else
		b->kind = BLOCK_OTHER;
	return true;
}

int coll_firewall_parse_nft(const char *text, struct coll_set *out, struct vg_error *err)
{
	char family[64] = "", table[256] = "";
	struct coll_strv table_def = { 0 };
	struct nft_block blk = { 0 };
	struct buf acc;
	size_t len = strlen(text), i = 0;
	unsigned lineno = 0, acc_line = 0, table_line = 0;
	long acc_bal = 0;
	int depth = 0, r = 0;

	buf_init(&acc, FW_LINE_MAX);
	while (r == 0 && i < len) {
		const char *s;
		size_t n;
		long bal;

		next_line(text, len, &i, &s, &n);
		lineno++;
		if (acc.len > 0) {
			/* the rest of a statement that spans lines (long set elements) */
			r = buf_putc(&acc, ' ');
			if (r == 0)
				r = buf_append(&acc, s, n);
			if (r < 0) {
				r = vg_error_set(err, r, "nft", lineno, 0,
						 "a statement longer than %u bytes", FW_LINE_MAX);
				break;
			}
			acc_bal += brace_balance(s, n);
			if (acc_bal > 0)
				continue;
			if (acc_bal < 0) {
				r = vg_error_set(err, -EINVAL, "nft", lineno, 0, "unbalanced '}'");
				break;
			}
			r = block_line(&blk, acc.data, acc.len);
			if (r == -EINVAL)
				r = vg_error_set(err, r, "nft", acc_line, 0,
						 "malformed list of elements");
			else if (r < 0)
				r = vg_error_set(err, r, "nft", acc_line, 0, "%s", strerror(-r));
			buf_reset(&acc);
			continue;
		}
		if (n == 0 || s[0] == '#')
			continue;
		bal = brace_balance(s, n);
		if (depth == 0) {
			if (!parse_table_open(s, n, family, sizeof(family), table,
					      sizeof(table))) {
				r = vg_error_set(err, -EINVAL, "nft", lineno, 0,
						 "expected 'table FAMILY NAME {', found '%.*s'",
						 (int)(n < 80 ? n : 80), s);
				break;
			}
			depth = 1;
			table_line = lineno;
		} else if (depth == 1 && n == 1 && s[0] == '}') {
			r = emit_table(family, table, &table_def, table_line, out, err);
			coll_strv_release(&table_def);
			depth = 0;
		} else if (depth == 1 && bal == 1 && s[n - 1] == '{') {
			block_release(&blk);
			if (!parse_block_open(s, n, &blk)) {
				r = vg_error_set(err, -EINVAL, "nft", lineno, 0,
						 "expected 'TYPE NAME {', found '%.*s'",
						 (int)(n < 80 ? n : 80), s);
				break;
			}
			blk.line = lineno;
			depth = 2;
		} else if (depth == 1) {
			if (bal != 0) {
				r = vg_error_set(err, -EINVAL, "nft", lineno, 0,
						 "unexpected braces in '%.*s'",
						 (int)(n < 80 ? n : 80), s);
				break;
			}
			r = push_normalized(&table_def, s, n);
		} else if (n == 1 && s[0] == '}') {
			r = emit_block(family, table, &blk, out, err);
			block_release(&blk);
			depth = 1;
		} else if (bal > 0) {
			acc_bal = bal;
			acc_line = lineno;
			r = buf_append(&acc, s, n);
		} else if (bal < 0) {
			r = vg_error_set(err, -EINVAL, "nft", lineno, 0, "unbalanced '}'");
		} else {
			r = block_line(&blk, s, n);
			if (r == -EINVAL)
				r = vg_error_set(err, r, "nft", lineno, 0,
						 "malformed list of elements");
		}
	}
	if (r == 0 && (depth != 0 || acc.len > 0))
		r = vg_error_set(err, -EINVAL, "nft", lineno, 0,
				 "the ruleset ends inside a block (missing '}')");
	buf_release(&acc);
	coll_strv_release(&table_def);
	block_release(&blk);
	return r;
}

/* ---- iptables-save ---- */

struct ipt_chain {
	char name[128];
	char policy[32];	/* "" for a user chain ("-") */
	struct coll_strv rules;
};

static int emit_ipt_table(const char *family, const char *table, struct ipt_chain *c, size_t n,
			  unsigned line, struct coll_set *out, struct vg_error *err)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		char key[512], *text = NULL;
		struct json_writer w;
		struct buf st;

		snprintf(key, sizeof(key), "%s %s %s", family, table, c[i].name);
		buf_init(&st, COLL_STATE_MAX);
		jw_init(&w, &st);
		jw_obj_open(&w);
		jw_key(&w, "policy");
		jw_str_or_null(&w, c[i].policy[0] ? c[i].policy : NULL);
		r = write_list(&w, "rules", &c[i].rules);
		jw_obj_close(&w);
		if (r == 0)
			r = w.err;
		if (r == 0)
			r = join_lines(&c[i].rules, NULL, &text);
		if (r < 0)
			r = vg_error_set(err, r, family, line, 0, "cannot keep '%s': %s", key,
					 strerror(-r));
		else
			r = add_item(out, key, &st, text, family, line, err);
		free(text);
		buf_release(&st);
	}
	return r;
}

static void ipt_release(struct ipt_chain **c, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		coll_strv_release(&(*c)[i].rules);
	free(*c);
	*c = NULL;
	*n = 0;
}

#define IPT_MAX_CHAINS 100000

int coll_firewall_parse_iptables(const char *text, const char *family, struct coll_set *out,
				 struct vg_error *err)
{
	const char *file = strcmp(family, "ip6") == 0 ? "ip6tables-save" : "iptables-save";
	struct ipt_chain *chains = NULL;
	size_t nchains = 0, len = strlen(text), i = 0;
	char table[128] = "";
	unsigned lineno = 0, table_line = 0;
	bool in_table = false;
	int r = 0;

	while (r == 0 && i < len) {
		const char *s;
		size_t n;

		next_line(text, len, &i, &s, &n);
		lineno++;
		if (n == 0 || s[0] == '#')
			continue;
		if (s[0] == '*') {
			if (in_table || n - 1 >= sizeof(table) || n == 1) {
				r = vg_error_set(err, -EINVAL, file, lineno, 0,
						 in_table ? "a table starts before COMMIT"
							  : "bad table name");
				break;
			}
			memcpy(table, s + 1, n - 1);
			table[n - 1] = '\0';
			in_table = true;
			table_line = lineno;
			continue;
		}
		if (!in_table) {
			r = vg_error_set(err, -EINVAL, file, lineno, 0,
					 "expected '*TABLE', found '%.*s'", (int)(n < 80 ? n : 80),
					 s);
			break;
		}
		if (word_eq(s, n, "COMMIT")) {
			r = emit_ipt_table(family, table, chains, nchains, table_line, out, err);
			ipt_release(&chains, &nchains);
			in_table = false;
			continue;
		}
		if (s[0] == ':') {
			/* ":INPUT ACCEPT [0:0]" */
			struct word w[4];
			size_t k = split_words(s + 1, n - 1, w, 4);
			struct ipt_chain *nc;

			if (k < 2 || w[0].n >= sizeof(chains->name) ||
			    w[1].n >= sizeof(chains->policy) || nchains >= IPT_MAX_CHAINS) {
				r = vg_error_set(err, -EINVAL, file, lineno, 0, "bad chain line");
				break;
			}
			nc = realloc(chains, (nchains + 1) * sizeof(*nc));
			if (!nc) {
				r = -ENOMEM;
				break;
			}
			chains = nc;
			memset(&chains[nchains], 0, sizeof(*chains));
			memcpy(chains[nchains].name, w[0].p, w[0].n);
			if (!word_eq(w[1].p, w[1].n, "-"))
				memcpy(chains[nchains].policy, w[1].p, w[1].n);
			nchains++;
			continue;
		}
		/* "[12:3456] -A INPUT ..." (iptables-save -c) or "-A INPUT ..." */
		if (s[0] == '[') {
			const char *cl = memchr(s, ']', n);

			if (!cl) {
				r = vg_error_set(err, -EINVAL, file, lineno, 0, "bad counters");
				break;
			}
			n -= (size_t)(cl + 1 - s);
			s = cl + 1;
			while (n > 0 && is_ws(s[0])) {
				s++;
				n--;
			}
		}
		if (n > 3 && memcmp(s, "-A ", 3) == 0) {
			struct word w[2];
			size_t k = split_words(s + 3, n - 3, w, 2), c = 0;

			while (k > 0 && c < nchains && !word_eq(w[0].p, w[0].n, chains[c].name))
				c++;
			if (k == 0 || c == nchains) {
				r = vg_error_set(err, -EINVAL, file, lineno, 0,
						 "a rule for an undeclared chain");
				break;
			}
			r = coll_strv_push(&chains[c].rules, s, n);
			continue;
		}
		r = vg_error_set(err, -EINVAL, file, lineno, 0, "unexpected line '%.*s'",
				 (int)(n < 80 ? n : 80), s);
	}
	if (r == 0 && in_table)
		r = vg_error_set(err, -EINVAL, file, lineno, 0, "table '%s' without COMMIT", table);
	if (r == -ENOMEM)
		vg_error_set(err, r, file, lineno, 0, "out of memory");
	ipt_release(&chains, &nchains);
	return r;
}

/* ---- running the programs ---- */

static const char *find_program(const char *const *paths)
{
	for (size_t i = 0; paths[i]; i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

static void command_text(char *const *argv, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; argv[i] && used < size; i++) {
		int k = snprintf(out + used, size - used, "%s%s", i ? " " : "", argv[i]);

		if (k < 0)
			break;
		used += (size_t)k;
	}
}

/* Runs argv; *ret gets its output (exit 0 only).  Errors name the command. */
static int run_program(const struct coll_opts *o, char *const *argv, char **ret,
		       struct vg_error *err)
{
	int64_t timeout = o->timeout_ns > 0 ? o->timeout_ns : COLL_TIMEOUT_DEFAULT_NS;
	struct proc_result run = { 0 };
	char cmd[256];
	int r;

	command_text(argv, cmd, sizeof(cmd));
	r = proc_run(&(struct proc_opts){ .argv = argv,
					  .envp = coll_envp,
					  .timeout_ns = timeout,
					  .capture_max = FW_CAPTURE_MAX,
					  .stderr_null = true },
		     &run);
	if (r < 0)
		return vg_error_set(err, r, NULL, 0, 0, "cannot run '%s': %s", argv[0],
				    strerror(-r));
	if (run.timed_out) {
		r = vg_error_set(err, -ETIME, NULL, 0, 0,
				 "'%s' did not finish within %lld ms; killed", cmd,
				 (long long)(timeout / 1000000));
	} else if (run.truncated) {
		r = vg_error_set(err, -E2BIG, NULL, 0, 0, "'%s' printed more than %u MiB", cmd,
				 FW_CAPTURE_MAX / (1024 * 1024));
	} else if (!WIFEXITED(run.wait_status) || WEXITSTATUS(run.wait_status) != 0) {
		/* once more with stderr, to say why */
		struct proc_result again = { 0 };
		char why[200] = "";
		int code = WIFEXITED(run.wait_status) ? WEXITSTATUS(run.wait_status)
						      : 128 + WTERMSIG(run.wait_status);

		if (proc_run(&(struct proc_opts){ .argv = argv,
						  .envp = coll_envp,
						  .timeout_ns = timeout,
						  .capture_max = 4096 },
			     &again) == 0) {
			const char *p = again.output;
			size_t n;

			while (*p == '\n' || *p == ' ')
				p++;
			n = strcspn(p, "\n");
			snprintf(why, sizeof(why), ": %.*s", (int)(n < 180 ? n : 180), p);
			if (n == 0)
				why[0] = '\0';
		}
		proc_result_release(&again);
		r = vg_error_set(err, -EIO, NULL, 0, 0, "'%s' failed with status %d%s", cmd, code,
				 why);
	} else {
		*ret = run.output;
		run.output = NULL;
	}
	proc_result_release(&run);
	return r;
}

int coll_firewall_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	static const char *const nft_paths[] = { "/usr/sbin/nft", "/sbin/nft", NULL };
	static const char *const ipt_paths[] = { "/usr/sbin/iptables-save", "/sbin/iptables-save",
						 NULL };
	static const char *const ip6t_paths[] = { "/usr/sbin/ip6tables-save",
						  "/sbin/ip6tables-save", NULL };
	const char *nft = find_program(nft_paths);
	char *output = NULL;
	int r = 0;

	if (nft) {
		char *const argv[] = { (char *)nft, (char *)"-s", (char *)"list", (char *)"ruleset",
				       NULL };

		r = run_program(o, argv, &output, err);
		if (r == 0)
			r = coll_firewall_parse_nft(output, out, err);
		free(output);
		return r;
	}
	for (int k = 0; r == 0 && k < 2; k++) {
		const char *prog = find_program(k ? ip6t_paths : ipt_paths);
		char *argv[] = { (char *)prog, NULL };

		if (!prog)
			continue;
		output = NULL;
		r = run_program(o, argv, &output, err);
		if (r == 0)
			r = coll_firewall_parse_iptables(output, k ? "ip6" : "ip", out, err);
		free(output);
	}
	return r;
}

/*
 * Who may log in and who may become root: the user, group and sudo kinds.  An added
 * account, a changed uid, a password that became empty, a new member of a group or a
 * new sudo rule are the changes an intruder makes to keep a way in, so each is an
 * object of its own.
 *
 * user:NAME reads /etc/passwd, /etc/shadow and the member lists of /etc/group;
 * group:NAME reads /etc/group and /etc/gshadow.  A hash never leaves this file: the
 * password field is reduced to one word of a fixed vocabulary (the same for both):
 *
 *	"none"      the field is empty: no password is asked for
 *	"set"       a hash (anything not below), which login checks with crypt(3)
 *	"locked"    '!' before a hash (passwd -l, usermod -L): unlocking restores it
 *	"disabled"  '*', or '!' not followed by a hash ("!", "!!", "!*"): no password
 *	            can work and none is kept
 *	"unknown"   the field says "x" (look in the shadow file) and the shadow file or
 *	            the entry in it is missing
 *
 * As login and newgrp do, a passwd or group password field other than "x" is the
 * password itself; a group's gshadow entry, when there is one, wins over its group
 * field.  The shadow ageing fields (days since the epoch, or days) are integers, null
 * when empty or -1.  /etc/shadow and /etc/gshadow may be absent; /etc/passwd and
 * /etc/group may not.  Blank lines and lines starting with '#' are skipped; any other
 * line with the wrong number of fields or a bad number is an error naming the file
 * and line.  A name given twice keeps its first line as NAME and later ones become
 * "NAME #2", "NAME #3": a duplicate is worth seeing.  A name starting with '+' or '-'
 * (NIS compat) may leave its numbers empty (null).
 *
 * sudo:TEXT reads /etc/sudoers and what it includes ("@include"/"#include" FILE, a
 * relative FILE being relative to the including file's directory, "%h" the short
 * host name; "@includedir"/"#includedir" DIR: its files in byte order, skipping names
 * ending in '~' or containing '.', and anything not a regular file, as sudo does).
 * Includes nest at most 8 deep, a file that includes itself is an error, a
 * missing included file is an error, a missing include directory is not.  Backslash-
 * newline joins lines, '#' starts a comment unless it is a directive or a uid ("#0"),
 * or inside double quotes.  Each remaining logical line other than an include becomes
 * an object whose key is the line itself with blanks outside quotes collapsed to one
 * space: editing a rule removes one object and adds another, whatever moved around
 * it.  A line seen again gets " #2" and so on.  The state says the file, the kind
 * ("rule", "defaults" or "alias") and the text, which is also the item's text.
 * Symbolic links are followed below the root; "%h" comes from the root's
 * /proc/sys/kernel/hostname.
 *
 * Names and lines that are not plain text are escaped (base/escape.h) in keys, and a
 * key longer than 4000 bytes is cut and ends with a digest of the whole.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/escape.h"
#include "base/json.h"
#include "base/macro.h"
#include "base/parse.h"
#include "collect/collect.h"
#include "base/banned.h"

#define ACCT_FILE_MAX (16u * 1024 * 1024)
#define ACCT_LINE_MAX (64u * 1024)
#define ACCT_ENTRIES_MAX 200000u
#define ACCT_FIELDS_MAX 9

#define SUDO_FILE_MAX (4u * 1024 * 1024)
#define SUDO_LINE_MAX (32u * 1024)
#define SUDO_DEPTH_MAX 8u
#define SUDO_DIR_MAX 4096u
#define SUDO_OBJECTS_MAX 100000u
#define SUDO_LINK_HOPS 8u

/* Keys longer than this are cut and end with a digest of the whole name. */
#define KEY_MAX 4000u
/* Room to escape a whole line (a byte may take 4) before a key is cut. */
#define KEY_BUF_MAX (4u * ACCT_LINE_MAX + 64)
/* How many times one name or line may repeat. */
#define DUP_MAX 1000u

/* ---- common parts ---- */

/* Drops the items added after the first n, so a failed collector leaves out as it was. */
static void set_truncate(struct coll_set *s, size_t n)
{
	while (s->n > n) {
		struct coll_item *it = &s->items[--s->n];

		free(it->key);
		free(it->state);
		free(it->text);
	}
}

/* FNV-1a: a short, stable tag for a name too long to be a key (identity, not security). */
static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The key for a name or line: its escaped form, cut to KEY_MAX with a digest. */
static int make_key(struct buf *b, const char *s, size_t n)
{
	size_t cut;
	int r;

	buf_reset(b);
	r = escape_bytes(b, s, n);
	if (r < 0 || b->len <= KEY_MAX)
		return r;
	cut = KEY_MAX - 24;
	/* escaped text is ASCII plus whole UTF-8 sequences: do not split one */
	while (cut > 0 && ((unsigned char)b->data[cut] & 0xc0) == 0x80)
		cut--;
	b->len = cut;
	b->data[cut] = '\0';
	return buf_printf(b, "... #h%016" PRIx64, fnv1a(s, n));
}

/* Adds key, or "key #2", "key #3"... when an earlier line took it. */
static int add_unique(struct coll_set *out, const char *key, const char *state, const char *text)
{
	char k[KEY_MAX + 64];
	int r = coll_set_add(out, key, state, text);

	for (unsigned i = 2; r == -EEXIST && i <= DUP_MAX; i++) {
		snprintf(k, sizeof(k), "%s #%u", key, i);
		r = coll_set_add(out, k, state, text);
	}
	return r;
}

static const char *add_error(int r)
{
	switch (r) {
	case -EEXIST:
		return "repeated too many times";
	case -E2BIG:
		return "too large";
	case -ENOMEM:
		return "out of memory";
	default:
		return "not a valid object";
	}
}

static const char *password_class(const char *f)
{
	const char *p = f;

	if (*f == '\0')
		return "none";
	if (*f == '*')
		return "disabled";
	if (*f != '!')
		return "set";
	while (*p == '!')
		p++;
	return *p == '\0' || *p == '*' ? "disabled" : "locked";
}

/* ---- colon-separated account files ---- */

struct rec {
	char *f[ACCT_FIELDS_MAX];
	unsigned nf;
	unsigned line;
};

struct table {
	const char *path;	/* the system path, for errors */
	char *data;		/* the file, split in place */
	struct rec *v;
	size_t n;
	bool absent;
};

static void table_release(struct table *t)
{
	free(t->data);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static bool blank_or_comment(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i == n || p[i] == '#';
}

/*
 * Reads path (below the root) into t, one record per line of min_f..max_f fields.
 * optional: a missing file is an empty table with absent set.
 */
static int table_load(const struct coll_opts *o, const char *path, unsigned min_f,
		      unsigned max_f, bool optional, struct table *t, struct vg_error *err)
{
	size_t len = 0, cap = 0;
	unsigned line = 0;
	char *p, *end;
	int r;

	memset(t, 0, sizeof(*t));
	t->path = path;
	r = coll_read(o, path, ACCT_FILE_MAX, &t->data, &len);
	if (r == -ENOENT && optional) {
		t->absent = true;
		return 0;
	}
	if (r < 0)
		return vg_error_set(err, r, path, 0, 0, "cannot read '%s': %s", path,
				    strerror(-r));
	p = t->data;
	end = p + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl ? nl : end;
		size_t n = (size_t)(eol - p);
		unsigned nf = 1;
		struct rec *rc;

		line++;
		if (n > ACCT_LINE_MAX)
			return vg_error_set(err, -E2BIG, path, line, 0,
					    "line longer than %u bytes", ACCT_LINE_MAX);
		if (memchr(p, '\0', n))
			return vg_error_set(err, -EINVAL, path, line, 0, "NUL byte in line");
		*eol = '\0';
		if (blank_or_comment(p, n)) {
			p = eol + 1;
			continue;
		}
		for (size_t i = 0; i < n; i++)
			nf += p[i] == ':';
		if (nf < min_f || nf > max_f) {
			if (min_f == max_f)
				return vg_error_set(err, -EINVAL, path, line, 0,
						    "malformed entry: %u fields instead of %u",
						    nf, min_f);
			return vg_error_set(err, -EINVAL, path, line, 0,
					    "malformed entry: %u fields instead of %u to %u", nf,
					    min_f, max_f);
		}
		if (t->n == ACCT_ENTRIES_MAX)
			return vg_error_set(err, -E2BIG, path, line, 0, "more than %u entries",
					    ACCT_ENTRIES_MAX);
		if (t->n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct rec *nv = realloc(t->v, ncap * sizeof(*nv));

			if (!nv)
				return vg_error_set(err, -ENOMEM, path, 0, 0, "out of memory");
			t->v = nv;
			cap = ncap;
		}
		rc = &t->v[t->n++];
		memset(rc, 0, sizeof(*rc));
		rc->line = line;
		rc->f[rc->nf++] = p;
		for (char *q = p; *q; q++)
			if (*q == ':') {
				*q = '\0';
				rc->f[rc->nf++] = q + 1;
			}
		if (rc->f[0][0] == '\0')
			return vg_error_set(err, -EINVAL, path, line, 0,
					    "malformed entry: no name");
		p = eol + 1;
	}
	return 0;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	int c = strcmp(x->f[0], y->f[0]);

	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Sorts t by name (then line) for table_find; the file order is lost. */
static void table_sort(struct table *t)
{
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), rec_cmp);
}

/* The first record named name in a sorted table, or NULL. */
static const struct rec *table_find(const struct table *t, const char *name)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(t->v[mid].f[0], name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n && strcmp(t->v[lo].f[0], name) == 0 ? &t->v[lo] : NULL;
}

static bool nis_compat(const char *name)
{
	return name[0] == '+' || name[0] == '-';
}

/* A uid or gid: decimal below (uid_t)-1; empty (null) only for a NIS compat entry. */
static int check_id(const struct table *t, const struct rec *rc, unsigned i, const char *what,
		    struct vg_error *err)
{
	uint64_t v;

	if (rc->f[i][0] == '\0' && nis_compat(rc->f[0]))
		return 0;
	if (parse_uint_range(rc->f[i], 0, UINT32_MAX - 1, &v) < 0)
		return vg_error_set(err, -EINVAL, t->path, rc->line, 0, "bad %s '%s'", what,
				    rc->f[i]);
	return 0;
}

static void write_id(struct json_writer *w, const char *key, const char *s)
{
	uint64_t v;

	jw_key(w, key);
	if (parse_u64(s, &v) == 0)
		jw_u64(w, v);
	else
		jw_null(w);
}

/* A shadow ageing field: empty or -1 is null (not set), else a decimal number. */
static int aging_parse(const char *s, bool *ret_null, uint64_t *ret)
{
	if (s[0] == '\0' || strcmp(s, "-1") == 0) {
		*ret_null = true;
		return 0;
	}
	*ret_null = false;
	return parse_uint_range(s, 0, INT64_MAX, ret);
}

static const char *const aging_keys[] = { "last_change", "min",	     "max",
					  "warn",	 "inactive", "expire" };

static int shadow_check(const struct table *t, struct vg_error *err)
{
	for (size_t i = 0; i < t->n; i++)
		for (unsigned k = 0; k < ARRAY_SIZE(aging_keys) && k + 2 < t->v[i].nf; k++) {
			uint64_t v;
			bool null;

			if (aging_parse(t->v[i].f[k + 2], &null, &v) < 0)
				return vg_error_set(err, -EINVAL, t->path, t->v[i].line, 0,
						    "bad %s '%s'", aging_keys[k],
						    t->v[i].f[k + 2]);
		}
	return 0;
}

static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Splits a copy of the comma list s into a sorted array without empty or repeated
 * names; *ret_copy owns the strings.
 */
static int list_split(const char *s, char **ret_copy, const char ***ret, size_t *ret_n)
{
	size_t n = 1, k = 0;
	char *copy, *save = NULL;
	const char **v;

	for (const char *p = s; *p; p++)
		n += *p == ',';
	copy = strdup(s);
	v = calloc(n, sizeof(*v));
	if (!copy || !v) {
		free(copy);
		free(v);
		return -ENOMEM;
	}
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		v[k++] = tok;
	if (k > 1) {
		size_t m = 1;

		qsort(v, k, sizeof(*v), str_ptr_cmp);
		for (size_t i = 1; i < k; i++)
			if (strcmp(v[i], v[m - 1]) != 0)
				v[m++] = v[i];
		k = m;
	}
	*ret_copy = copy;
	*ret = v;
	*ret_n = k;
	return 0;
}

static void write_list(struct json_writer *w, const char *key, const char *const *v, size_t n)
{
	jw_key(w, key);
	jw_arr_open(w);
	for (size_t i = 0; i < n; i++)
		jw_str_bytes(w, v[i], strlen(v[i]));
	jw_arr_close(w);
}

static void write_bytes(struct json_writer *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_str_bytes(w, s, strlen(s));
}

/* ---- user ---- */

struct member {
	const char *user;
	const char *group;
};

static int member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int c = strcmp(x->user, y->user);

	return c ? c : strcmp(x->group, y->group);
}

/* Every (member, group) pair of the group file, sorted; splits the member fields. */
static int members_build(struct table *g, struct member **ret, size_t *ret_n)
{
	size_t n = 0, k = 0;
	struct member *v;

	for (size_t i = 0; i < g->n; i++)
		for (const char *p = g->v[i].f[3]; *p; p++)
			n += *p == ',';
	v = calloc(n + g->n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < g->n; i++) {
		char *save = NULL;

		for (char *tok = strtok_r(g->v[i].f[3], ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save))
			v[k++] = (struct member){ tok, g->v[i].f[0] };
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), member_cmp);
	*ret = v;
	*ret_n = k;
	return 0;
}

struct user_ctx {
	struct table pw, sh, gr;
	struct member *mem;
	size_t n_mem;
	struct buf key, state;
};

static void user_groups(struct json_writer *w, const struct user_ctx *c, const char *name)
{
	size_t lo = 0, hi = c->n_mem;
	const char *prev = NULL;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(c->mem[mid].user, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	jw_key(w, "groups");
	jw_arr_open(w);
	for (; lo < c->n_mem && strcmp(c->mem[lo].user, name) == 0; lo++) {
		if (prev && strcmp(prev, c->mem[lo].group) == 0)
			continue;
		prev = c->mem[lo].group;
		jw_str_bytes(w, prev, strlen(prev));
	}
	jw_arr_close(w);
}

static int user_add(struct user_ctx *c, const struct rec *u, struct coll_set *out,
		    struct vg_error *err)
{
	const struct rec *s = table_find(&c->sh, u->f[0]);
	struct json_writer w;
	const char *pass;
	int r;

	r = check_id(&c->pw, u, 2, "uid", err);
	if (r == 0)
		r = check_id(&c->pw, u, 3, "gid", err);
	if (r < 0)
		return r;
	r = make_key(&c->key, u->f[0], strlen(u->f[0]));
	if (r < 0)
		return vg_error_set(err, r, c->pw.path, u->line, 0, "cannot name the user");
	if (strcmp(u->f[1], "x") != 0)
		pass = password_class(u->f[1]);
	else
		pass = s ? password_class(s->f[1]) : "unknown";

	buf_reset(&c->state);
	jw_init(&w, &c->state);
	jw_obj_open(&w);
	write_id(&w, "uid", u->f[2]);
	write_id(&w, "gid", u->f[3]);
	write_bytes(&w, "gecos", u->f[4]);
	write_bytes(&w, "home", u->f[5]);
	write_bytes(&w, "shell", u->f[6]);
	jw_key(&w, "password");
	jw_str(&w, pass);
	for (unsigned k = 0; k < ARRAY_SIZE(aging_keys); k++) {
		uint64_t v = 0;
		bool null = true;

		jw_key(&w, aging_keys[k]);
		if (s && k + 2 < s->nf && aging_parse(s->f[k + 2], &null, &v) == 0 && !null)
			jw_u64(&w, v);
		else
			jw_null(&w);
	}
	user_groups(&w, c, u->f[0]);
	jw_obj_close(&w);
	r = w.err;
	if (r == 0)
		r = add_unique(out, buf_str(&c->key), buf_str(&c->state), NULL);
	if (r < 0)
		return vg_error_set(err, r, c->pw.path, u->line, 0, "user '%s': %s",
				    buf_str(&c->key), add_error(r));
	return 0;
}

int coll_user_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	struct user_ctx c = { 0 };
	size_t n0 = out->n;
	int r;

	buf_init(&c.key, KEY_BUF_MAX);
	buf_init(&c.state, COLL_STATE_MAX);
	r = table_load(o, "/etc/passwd", 7, 7, false, &c.pw, err);
	if (r == 0)
		r = table_load(o, "/etc/shadow", 2, 9, true, &c.sh, err);
	if (r == 0)
		r = table_load(o, "/etc/group", 4, 4, false, &c.gr, err);
	if (r == 0)
		r = shadow_check(&c.sh, err);
	if (r == 0) {
		table_sort(&c.sh);
		r = members_build(&c.gr, &c.mem, &c.n_mem);
		if (r < 0)
			vg_error_set(err, r, "/etc/group", 0, 0, "out of memory");
	}
	for (size_t i = 0; r == 0 && i < c.pw.n; i++)
		r = user_add(&c, &c.pw.v[i], out, err);
	if (r < 0)
		set_truncate(out, n0);
	else
		coll_set_sort(out);
	free(c.mem);
	table_release(&c.pw);
	table_release(&c.sh);
	table_release(&c.gr);
	buf_release(&c.key);
	buf_release(&c.state);
	return r;
}

/* ---- group ---- */

static int group_add(const struct table *gr, const struct table *gs, const struct rec *g,
		     struct buf *key, struct buf *state, struct coll_set *out,
		     struct vg_error *err)
{
	const struct rec *s = table_find(gs, g->f[0]);
	_cleanup_free_ char *mem_copy = NULL, *adm_copy = NULL;
	_cleanup_free_ const char **mem = NULL, **adm = NULL;
	size_t n_mem = 0, n_adm = 0;
	struct json_writer w;
	const char *pass;
	int r;

	r = check_id(gr, g, 2, "gid", err);
	if (r < 0)
		return r;
	r = make_key(key, g->f[0], strlen(g->f[0]));
	if (r == 0)
		r = list_split(g->f[3], &mem_copy, &mem, &n_mem);
	if (r == 0)
		r = list_split(s ? s->f[2] : "", &adm_copy, &adm, &n_adm);
	if (r < 0)
		return vg_error_set(err, r, gr->path, g->line, 0, "out of memory");
	if (s)
		pass = password_class(s->f[1]);
	else
		pass = strcmp(g->f[1], "x") != 0 ? password_class(g->f[1]) : "unknown";

	buf_reset(state);
	jw_init(&w, state);
	jw_obj_open(&w);
	write_id(&w, "gid", g->f[2]);
	write_list(&w, "members", mem, n_mem);
	write_list(&w, "administrators", adm, n_adm);
	jw_key(&w, "password");
	jw_str(&w, pass);
	jw_obj_close(&w);
	r = w.err;
	if (r == 0)
		r = add_unique(out, buf_str(key), buf_str(state), NULL);
	if (r < 0)
		return vg_error_set(err, r, gr->path, g->line, 0, "group '%s': %s", buf_str(key),
				    add_error(r));
	return 0;
}

int coll_group_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	struct table gr = { 0 }, gs = { 0 };
	struct buf key, state;
	size_t n0 = out->n;
	int r;

	buf_init(&key, KEY_BUF_MAX);
	buf_init(&state, COLL_STATE_MAX);
	r = table_load(o, "/etc/group", 4, 4, false, &gr, err);
	if (r == 0)
		r = table_load(o, "/etc/gshadow", 4, 4, true, &gs, err);
	if (r == 0)
		table_sort(&gs);
	for (size_t i = 0; r == 0 && i < gr.n; i++)
		r = group_add(&gr, &gs, &gr.v[i], &key, &state, out, err);
	if (r < 0)
		set_truncate(out, n0);
	else
		coll_set_sort(out);
	table_release(&gr);
	table_release(&gs);
	buf_release(&key);
	buf_release(&state);
	return r;
}

/* ---- sudo ---- */

enum {
	SUDO_TOP = 1 << 0,	/* /etc/sudoers: absent means no rules */
	SUDO_IN_DIR = 1 << 1,	/* from an includedir: skip what is not a plain file */
};

struct sudo_ctx {
	const struct coll_opts *o;
	struct coll_set *out;
	struct vg_error *err;
	struct {
		dev_t dev;
		ino_t ino;
	} stack[SUDO_DEPTH_MAX + 1];	/* the files being read */
	unsigned depth;
	size_t objects;
	struct buf key, state, text;
};

static int sudo_file(struct sudo_ctx *c, const char *path, unsigned flags, const char *inc_file,
		     unsigned inc_line);

/*
 * Follows symbolic links at the end of path below the root, as the kernel would from
 * the root: an absolute target starts again at the root, a relative one at the link's
 * directory.  out gets the system path of the first thing that is not a link.
 */
static int resolve_links(const struct coll_opts *o, const char *path, char *out, size_t size)
{
	char cur[PATH_MAX], next[PATH_MAX], full[PATH_MAX], target[PATH_MAX];
	int k;

	if ((size_t)snprintf(cur, sizeof(cur), "%s", path) >= sizeof(cur))
		return -ENAMETOOLONG;
	for (unsigned hops = 0;; hops++) {
		const char *slash;
		struct stat st;
		ssize_t n;

		if (coll_path(o, cur, full, sizeof(full)) < 0)
			return -ENAMETOOLONG;
		if (lstat(full, &st) < 0)
			return neg_errno();
		if (!S_ISLNK(st.st_mode))
			break;
		if (hops == SUDO_LINK_HOPS)
			return -ELOOP;
		n = readlink(full, target, sizeof(target) - 1);
		if (n < 0)
			return neg_errno();
		if ((size_t)n >= sizeof(target) - 1)
			return -ENAMETOOLONG;
		target[n] = '\0';
		slash = strrchr(cur, '/');
		if (target[0] == '/' || !slash)
			k = snprintf(next, sizeof(next), "%s", target);
		else
			k = snprintf(next, sizeof(next), "%.*s/%s", (int)(slash - cur), cur,
				     target);
		if (k < 0 || (size_t)k >= sizeof(next))
			return -ENAMETOOLONG;
		memcpy(cur, next, (size_t)k + 1);
	}
	if ((size_t)snprintf(out, size, "%s", cur) >= size)
		return -ENAMETOOLONG;
	return 0;
}

static bool starts_word(const char *s, const char *word)
{
	size_t n = strlen(word);

	return strncmp(s, word, n) == 0 && (s[n] == ' ' || s[n] == '\0');
}

/* "#include X" / "#includedir X" at p (a directive, not a comment). */
static bool hash_include(const char *p, size_t n)
{
	if (n > 8 && memcmp(p, "#include", 8) == 0 && (p[8] == ' ' || p[8] == '\t'))
		return true;
	return n > 11 && memcmp(p, "#includedir", 11) == 0 && (p[11] == ' ' || p[11] == '\t');
}

static const char *sudo_kind(const char *s)
{
	static const char *const aliases[] = { "User_Alias", "Runas_Alias", "Host_Alias",
					       "Cmnd_Alias", "Cmd_Alias" };

	if (strncmp(s, "Defaults", 8) == 0 &&
	    (s[8] == '\0' || s[8] == ' ' || s[8] == ':' || s[8] == '@' || s[8] == '!' ||
	     s[8] == '>'))
		return "defaults";
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
		if (starts_word(s, aliases[i]))
			return "alias";
	return "rule";
}

/* The path of an include directive: one word or a double-quoted string, '\' escapes. */
static int include_arg(const char *s, char *out, size_t size)
{
	bool quoted = *s == '"', closed = false;
	size_t k = 0;

	if (quoted)
		s++;
	for (; *s; s++) {
		if (quoted && *s == '"') {
			closed = true;
			s++;
			break;
		}
		if (!quoted && *s == ' ')
			break;
		if (*s == '\\' && s[1])
			s++;
		if (k + 1 >= size)
			return -ENAMETOOLONG;
		out[k++] = *s;
	}
	if (k == 0 || *s != '\0' || quoted != closed)
		return -EINVAL;
	out[k] = '\0';
	return 0;
}

/* Replaces "%h" with the short host name, as sudo does in include paths. */
static int expand_host(const struct coll_opts *o, const char *in, char *out, size_t size)
{
	_cleanup_free_ char *host = NULL;
	size_t k = 0, hn = 0;
	int r;

	for (; *in; in++) {
		const char *add = in;
		size_t n = 1;

		if (in[0] == '%' && in[1] == 'h') {
			if (!host) {
				r = coll_read(o, "/proc/sys/kernel/hostname", 256, &host, &hn);
				if (r < 0)
					return r;
				hn = strcspn(host, ".\n");
			}
			add = host;
			n = hn;
			in++;
		}
		if (k + n + 1 > size)
			return -ENAMETOOLONG;
		memcpy(out + k, add, n);
		k += n;
	}
	out[k] = '\0';
	return 0;
}

static int name_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Lists dir (below the root): the names sudo reads, sorted.  A missing dir is empty. */
static int sudo_dir_names(const struct coll_opts *o, const char *dir, char ***ret, size_t *ret_n)
{
	char real[PATH_MAX], full[PATH_MAX];
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int r;

	*ret = NULL;
	*ret_n = 0;
	r = resolve_links(o, dir, real, sizeof(real));
	if (r == 0)
		r = coll_path(o, real, full, sizeof(full));
	if (r == -ENOENT || r == -ENOTDIR)
		return 0;
	if (r < 0)
		return r;
	d = opendir(full);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : neg_errno();
	for (;;) {
		size_t len;

		errno = 0;
		de = readdir(d);
		if (!de) {
			r = errno ? -errno : 0;
			break;
		}
		len = strlen(de->d_name);
		if (len == 0 || de->d_name[len - 1] == '~' || strchr(de->d_name, '.'))
			continue;
		if (n == SUDO_DIR_MAX) {
			r = -E2BIG;
			break;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nv = realloc(v, ncap * sizeof(*nv));

			if (!nv) {
				r = -ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		v[n] = strdup(de->d_name);
		if (!v[n]) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (r < 0) {
		names_free(v, n);
		return r;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), name_ptr_cmp);
	*ret = v;
	*ret_n = n;
	return 0;
}

/* The files of an include directory, in byte order. */
static int sudo_includedir(struct sudo_ctx *c, const char *dir, const char *inc_file,
			   unsigned inc_line)
{
	bool sep = dir[0] && dir[strlen(dir) - 1] != '/';
	char **names = NULL;
	size_t n = 0;
	int r;

	r = sudo_dir_names(c->o, dir, &names, &n);
	if (r < 0)
		return vg_error_set(c->err, r, dir, 0, 0, "cannot read directory '%s': %s", dir,
				    r == -E2BIG ? "too many files" : strerror(-r));
	for (size_t i = 0; r == 0 && i < n; i++) {
		char f[PATH_MAX];
		int k = snprintf(f, sizeof(f), "%s%s%s", dir, sep ? "/" : "", names[i]);

		if (k < 0 || (size_t)k >= sizeof(f))
			r = vg_error_set(c->err, -ENAMETOOLONG, dir, 0, 0,
					 "file name too long in '%s'", dir);
		else
			r = sudo_file(c, f, SUDO_IN_DIR, inc_file, inc_line);
	}
	names_free(names, n);
	return r;
}

static int sudo_include(struct sudo_ctx *c, const char *file, unsigned line, const char *arg,
			bool dir)
{
	char p[PATH_MAX], q[PATH_MAX], path[PATH_MAX];
	const char *slash = strrchr(file, '/');
	int r, k;

	r = include_arg(arg, p, sizeof(p));
	if (r < 0)
		return vg_error_set(c->err, r, file, line, 0, "malformed include directive");
	r = expand_host(c->o, p, q, sizeof(q));
	if (r < 0)
		return vg_error_set(c->err, r, file, line, 0, "cannot expand '%s': %s", p,
				    strerror(-r));
	/* a relative path is relative to the directory of the file that names it */
	if (q[0] == '/' || !slash)
		k = snprintf(path, sizeof(path), "%s", q);
	else
		k = snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - file), file, q);
	if (k < 0 || (size_t)k >= sizeof(path))
		return vg_error_set(c->err, -ENAMETOOLONG, file, line, 0, "include path too long");
	return dir ? sudo_includedir(c, path, file, line) : sudo_file(c, path, 0, file, line);
}

/* One logical line, normalized: an include, or an object. */
static int sudo_line(struct sudo_ctx *c, const char *file, unsigned line, const char *s, size_t n)
{
	struct json_writer w;
	const char *kind;
	int r;

	if (n == 0)
		return 0;
	if (starts_word(s, "@includedir") || starts_word(s, "#includedir"))
		return sudo_include(c, file, line, s[11] ? s + 12 : s + 11, true);
	if (starts_word(s, "@include") || starts_word(s, "#include"))
		return sudo_include(c, file, line, s[8] ? s + 9 : s + 8, false);
	if (c->objects == SUDO_OBJECTS_MAX)
		return vg_error_set(c->err, -E2BIG, file, line, 0, "more than %u sudo entries",
				    SUDO_OBJECTS_MAX);
	kind = sudo_kind(s);
	r = make_key(&c->key, s, n);
	buf_reset(&c->text);
	if (r == 0)
		r = escape_bytes(&c->text, s, n);
	if (r == 0)
		r = buf_putc(&c->text, '\n');
	if (r < 0)
		return vg_error_set(c->err, r, file, line, 0, "sudo entry too long");
	buf_reset(&c->state);
	jw_init(&w, &c->state);
	jw_obj_open(&w);
	write_bytes(&w, "file", file);
	jw_key(&w, "kind");
	jw_str(&w, kind);
	jw_key(&w, "text");
	jw_str_bytes(&w, s, n);
	jw_obj_close(&w);
	r = w.err;
	if (r == 0)
		r = add_unique(c->out, buf_str(&c->key), buf_str(&c->state), buf_str(&c->text));
	if (r < 0)
		return vg_error_set(c->err, r, file, line, 0, "sudo entry %s", add_error(r));
	c->objects++;
	return 0;
}

/*
 * Cuts data into logical lines: continuations joined, comments dropped, blanks outside
 * double quotes collapsed to one space and trimmed; '\' keeps the next byte as it is.
 */
static int sudo_scan(struct sudo_ctx *c, const char *file, const char *data, size_t len)
{
	_cleanup_buf_ struct buf line;
	unsigned lineno = 1, start = 1;
	bool quote = false, space = false;
	int r = 0;

	buf_init(&line, SUDO_LINE_MAX);
	for (size_t i = 0; i <= len && r == 0; i++) {
		char ch = i < len ? data[i] : '\n';

		if (ch == '\\' && i + 1 < len && data[i + 1] == '\n') {
			i++;
			lineno++;
			space = space || line.len > 0;
			continue;
		}
		if (ch == '\n') {
			r = sudo_line(c, file, start, buf_str(&line), line.len);
			buf_reset(&line);
			quote = space = false;
			start = ++lineno;
			continue;
		}
		if (!quote && (ch == ' ' || ch == '\t')) {
			space = line.len > 0;
			continue;
		}
		if (!quote && ch == '#' && !(i + 1 < len && isdigit((unsigned char)data[i + 1])) &&
		    !(line.len == 0 && hash_include(data + i, len - i))) {
			while (i + 1 < len && data[i + 1] != '\n')
				i++;
			continue;
		}
		if (space)
			r = buf_putc(&line, ' ');
		space = false;
		if (r == 0 && ch == '\\' && i + 1 < len) {
			r = buf_putc(&line, ch);
			ch = data[++i];
		} else if (ch == '"') {
			quote = !quote;
		}
		if (r == 0)
			r = buf_putc(&line, ch);
		if (r == -E2BIG)
			return vg_error_set(c->err, r, file, start, 0,
					    "line longer than %u bytes", SUDO_LINE_MAX);
		if (r < 0)
			return vg_error_set(c->err, r, file, start, 0, "out of memory");
	}
	return r;
}

static int sudo_file(struct sudo_ctx *c, const char *path, unsigned flags, const char *inc_file,
		     unsigned inc_line)
{
	_cleanup_free_ char *data = NULL;
	char real[PATH_MAX], full[PATH_MAX];
	struct stat st;
	size_t len = 0;
	const char *nul;
	int r;

	r = resolve_links(c->o, path, real, sizeof(real));
	if (r == 0)
		r = coll_path(c->o, real, full, sizeof(full));
	if (r == 0 && stat(full, &st) < 0)
		r = neg_errno();
	if ((flags & SUDO_TOP) && r == -ENOENT)
		return 0;
	/* sudo skips a directory entry it cannot stat or that is not a plain file */
	if ((flags & SUDO_IN_DIR) &&
	    (r == -ENOENT || r == -ELOOP || (r == 0 && !S_ISREG(st.st_mode))))
		return 0;
	if (r == 0 && !S_ISREG(st.st_mode))
		r = -EINVAL;
	if (r < 0)
		return vg_error_set(c->err, r, path, 0, 0, "cannot read '%s': %s", path,
				    r == -EINVAL ? "not a regular file" : strerror(-r));
	for (unsigned i = 0; i < c->depth; i++)
		if (c->stack[i].dev == st.st_dev && c->stack[i].ino == st.st_ino)
			return vg_error_set(c->err, -ELOOP, inc_file, inc_line, 0,
					    "include loop: '%s' is already being read", path);
	if (c->depth > SUDO_DEPTH_MAX)
		return vg_error_set(c->err, -ELOOP, inc_file, inc_line, 0,
				    "includes nested more than %u deep", SUDO_DEPTH_MAX);
	r = coll_read(c->o, real, SUDO_FILE_MAX, &data, &len);
	if (r < 0)
		return vg_error_set(c->err, r, path, 0, 0, "cannot read '%s': %s", path,
				    r == -EFBIG ? "file too large" : strerror(-r));
	nul = memchr(data, '\0', len);
	if (nul) {
		unsigned line = 1;

		for (const char *p = data; p < nul; p++)
			line += *p == '\n';
		return vg_error_set(c->err, -EINVAL, path, line, 0, "NUL byte in line");
	}
	c->stack[c->depth].dev = st.st_dev;
	c->stack[c->depth].ino = st.st_ino;
	c->depth++;
	r = sudo_scan(c, path, data, len);
	c->depth--;
	return r;
}

int coll_sudo_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	struct sudo_ctx *c = calloc(1, sizeof(*c));
	size_t n0 = out->n;
	int r;

	if (!c)
		return vg_error_set(err, -ENOMEM, "/etc/sudoers", 0, 0, "out of memory");
	c->o = o;
	c->out = out;
	c->err = err;
	buf_init(&c->key, KEY_BUF_MAX);
	buf_init(&c->state, COLL_STATE_MAX);
	buf_init(&c->text, COLL_TEXT_MAX);
	r = sudo_file(c, "/etc/sudoers", SUDO_TOP, "/etc/sudoers", 0);
	if (r < 0)
		set_truncate(out, n0);
	else
		coll_set_sort(out);
	buf_release(&c->key);
	buf_release(&c->state);
	buf_release(&c->text);
	free(c);
	return r;
}

/*
 * The collectors of what a host starts by itself: systemd units, systemd timers and cron
 * jobs.  Persistence through a new service, a timer or a crontab line is the oldest trick
 * there is, and none of it needs a changed binary.
 *
 * Units are read from the unit directories below the root, in systemd's order of
 * precedence (an /etc file hides the /usr/lib file of the same name), with their drop-ins
 * and with whether they are enabled (a link in a .wants/.requires/.upholds directory of
 * /etc or /run), masked (a link to /dev/null, or an empty file), static (nothing in
 * [Install]) or an alias.  Whether a unit runs is asked of systemctl, once for all units,
 * and only when PID 1 is systemd: in a container without systemd "active" is null.
 *
 * Timers are the [Timer] settings of the timer units, drop-ins applied as systemd applies
 * them.  Cron jobs are the lines of /etc/crontab, /etc/cron.d and the users' crontabs,
 * and the scripts of /etc/cron.{hourly,daily,weekly,monthly,yearly} by digest.
 *
 * Symbolic links are followed by hand below the root (never to the system's own files);
 * only the last component of a path is resolved that way.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/escape.h"
#include "base/json.h"
#include "base/macro.h"
#include "base/object.h"
#include "base/proc.h"
#include "collect/collect.h"
#include "crypto/hash.h"
#include "base/banned.h"

#define FILE_MAX (1024u * 1024)		/* a unit file, a drop-in, a crontab, a script */
#define DIR_MAX 65536u			/* entries of one directory */
#define UNITS_MAX 16384u		/* unit files over all directories */
#define DROPINS_MAX 256u		/* drop-ins of one unit */
#define LINE_MAX_LEN (64u * 1024)	/* one logical line of a unit file */
#define LINK_HOPS 16
#define TIMER_KEYS_MAX 64u
#define TIMER_VALUES_MAX 256u
#define CRON_OBJECTS_MAX 100000u
#define KEY_MAX_LEN 3800u		/* below the 4096 of coll_set_add, with room for a suffix */

/* systemd's order of precedence; /lib is /usr/lib on most systems and is then skipped */
static const char *const unit_dirs[] = {
	"/etc/systemd/system",
	"/run/systemd/system",
	"/usr/local/lib/systemd/system",
	"/usr/lib/systemd/system",
	"/lib/systemd/system",
};
#define N_DIRS ARRAY_SIZE(unit_dirs)

static const char *const unit_types[] = { ".service", ".socket", ".device", ".mount",
					  ".automount", ".swap", ".target", ".path",
					  ".timer", ".slice", ".scope" };

/* ---- small helpers ---- */

struct strv {
	char **v;
	size_t n, cap;
};

static void strv_release(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int strv_add(struct strv *s, const char *p, size_t n, size_t max)
{
	char *c;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **nv;

		if (s->n >= max)
			return -E2BIG;
		nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	c = strndup(p, n);
	if (!c)
		return -ENOMEM;
	s->v[s->n++] = c;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strv_sort(struct strv *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), cmp_str);
}

static bool strv_has(const struct strv *s, const char *name)
{
	return s->n && bsearch(&name, s->v, s->n, sizeof(*s->v), cmp_str);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static void sha256_hex(const void *p, size_t n, char out[2 * SHA256_LEN + 1])
{
	uint8_t h[SHA256_LEN];

	if (sha256_buf(p, n, h) < 0) {
		out[0] = '\0';
		return;
	}
	hex_encode(h, sizeof(h), out);
}

/*
 * The names in root + dir, sorted.  An absent directory is empty; any other failure is
 * an error naming it.
 */
static int list_dir(const struct coll_opts *o, const char *dir, struct strv *ret,
		    struct vg_error *err)
{
	char path[4096];
	struct dirent *de;
	DIR *d;
	int r;

	r = coll_path(o, dir, path, sizeof(path));
	if (r < 0)
		return vg_error_set(err, r, dir, 0, 0, "path too long under the root");
	d = opendir(path);
	if (!d) {
		r = neg_errno();
		if (r == -ENOENT)
			return 0;
		return vg_error_set(err, r, dir, 0, 0, "cannot read directory '%s': %s", dir,
				    strerror(-r));
	}
	r = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		r = strv_add(ret, de->d_name, strlen(de->d_name), DIR_MAX);
		if (r < 0)
			break;
	}
	closedir(d);
	if (r == -E2BIG)
		return vg_error_set(err, r, dir, 0, 0, "too many entries in '%s' (more than %u)",
				    dir, DIR_MAX);
	if (r < 0)
		return vg_error_set(err, r, dir, 0, 0, "out of memory");
	strv_sort(ret);
	return 0;
}

/* Removes ".", ".." and repeated slashes from an absolute path, in place; ".." never
 * climbs above "/", so a resolved path stays below the root. */
static void path_normalize(char *p)
{
	char *w = p;
	const char *r = p;

	while (*r) {
		const char *s;
		size_t n;

		while (*r == '/')
			r++;
		s = r;
		while (*r && *r != '/')
			r++;
		n = (size_t)(r - s);
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (w > p && *--w != '/')
				;
			continue;
		}
		/* the output never overtakes the input: w stays before s */
		*w++ = '/';
		memmove(w, s, n);
		w += n;
	}
	if (w == p)
		*w++ = '/';
	*w = '\0';
}

/*
 * Follows path (absolute, below the root) through symbolic links.  Writes the final path
 * to out and the first link's target as written to link ("" when path is no link).
 * Returns 0, 1 when it ends at /dev/null (masked), or a negative errno (-ENOENT for a
 * dangling link, -ELOOP).
 */
static int path_resolve(const struct coll_opts *o, const char *path, char *out, size_t size,
			char *link, size_t link_size)
{
	char cur[4096], full[4096], t[4096];

	if (link_size)
		link[0] = '\0';
	if (snprintf(cur, sizeof(cur), "%s", path) >= (int)sizeof(cur))
		return -ENAMETOOLONG;
	for (unsigned hop = 0; hop < LINK_HOPS; hop++) {
		struct stat st;
		ssize_t k;
		int r;

		path_normalize(cur);
		if (strcmp(cur, "/dev/null") == 0)
			return 1;
		r = coll_path(o, cur, full, sizeof(full));
		if (r < 0)
			return r;
		if (lstat(full, &st) < 0)
			return neg_errno();
		if (!S_ISLNK(st.st_mode)) {
			if (snprintf(out, size, "%s", cur) >= (int)size)
				return -ENAMETOOLONG;
			return 0;
		}
		k = readlink(full, t, sizeof(t) - 1);
		if (k < 0)
			return neg_errno();
		if (k == 0)
			return -ENOENT;
		t[k] = '\0';
		if (hop == 0 && link_size && snprintf(link, link_size, "%s", t) >= (int)link_size)
			return -ENAMETOOLONG;
		if (t[0] == '/') {
			memcpy(cur, t, (size_t)k + 1);
		} else {
			char *slash = strrchr(cur, '/');
			size_t dl = (size_t)(slash - cur) + 1;

			if (dl + (size_t)k + 1 > sizeof(cur))
				return -ENAMETOOLONG;
			memcpy(cur + dl, t, (size_t)k + 1);
		}
	}
	return -ELOOP;
}

/*
 * Reads a file that may be a link (followed below the root).  Returns 0 with *ret set,
 * 1 when masked (a link to /dev/null), -ENOENT when absent or dangling, -EINVAL when
 * not a regular file, or another negative errno.  final gets the path read.
 */
static int read_followed(const struct coll_opts *o, const char *path, char *final,
			 size_t final_size, char *link, size_t link_size, char **ret,
			 size_t *ret_len)
{
	int r = path_resolve(o, path, final, final_size, link, link_size);

	if (r == -ELOOP)
		return -ENOENT;
	if (r != 0)
		return r;
	return coll_read(o, final, FILE_MAX, ret, ret_len);
}

/* The error for a file that could not be read. */
static int read_error(struct vg_error *err, int r, const char *path)
{
	if (r == -EFBIG)
		return vg_error_set(err, r, path, 0, 0, "file too large (more than %u bytes)",
				    FILE_MAX);
	return vg_error_set(err, r, path, 0, 0, "cannot read '%s': %s", path, strerror(-r));
}

/* ---- unit files: a minimal reader of the systemd syntax ---- */

/* Called for each setting; key NULL for a line that is no setting, no section header
 * and no comment.  A non-zero return stops the reading. */
typedef int (*ini_fn)(void *ctx, const char *section, const char *key, const char *value,
		      unsigned line);

static void trim(const char **s, const char **e)
{
	while (*s < *e && strchr(" \t\r\n", **s))
		(*s)++;
	while (*e > *s && strchr(" \t\r\n", (*e)[-1]))
		(*e)--;
}

static int ini_logical(char *l, char *section, size_t section_size, ini_fn fn, void *ctx,
		       unsigned line)
{
	size_t n = strlen(l);
	const char *ks, *ke, *vs, *ve;
	char *eq;

	if (l[0] == '[') {
		if (n < 2 || l[n - 1] != ']' || n - 2 >= section_size)
			return fn(ctx, section, NULL, NULL, line);
		memcpy(section, l + 1, n - 2);
		section[n - 2] = '\0';
		return 0;
	}
	eq = strchr(l, '=');
	if (!eq)
		return fn(ctx, section, NULL, NULL, line);
	ks = l;
	ke = eq;
	vs = eq + 1;
	ve = l + n;
	trim(&ks, &ke);
	trim(&vs, &ve);
	*(char *)ke = '\0';
	*(char *)ve = '\0';
	return fn(ctx, section, ks, vs, line);
}

/*
 * Reads data as a unit file: sections, "Key=Value" settings (whitespace around both
 * trimmed), comments ('#', ';'), lines continued by a final backslash.  Returns the
 * first non-zero value of fn, -E2BIG for a line too long (*ret_line set), or 0.
 */
static int ini_parse(const char *data, size_t len, ini_fn fn, void *ctx, unsigned *ret_line)
{
	const char *p = data, *end = data + len;
	char section[128] = "";
	unsigned lineno = 0, start = 0;
	struct buf l;
	int r = 0;

	buf_init(&l, LINE_MAX_LEN);
	while (p < end && r == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *s = p, *e = nl ? nl : end;
		bool cont;

		p = nl ? nl + 1 : end;
		lineno++;
		trim(&s, &e);
		if (l.len == 0)
			start = lineno;
		if (s == e && l.len == 0)
			continue;
		/* comments end nothing: systemd skips them, also inside a continuation */
		if (s < e && (*s == '#' || *s == ';'))
			continue;
		cont = e > s && e[-1] == '\\';
		if (cont)
			e--;
		r = buf_append(&l, s, (size_t)(e - s));
		if (r == 0 && cont)
			r = buf_putc(&l, ' ');
		if (r < 0) {
			*ret_line = start;
			break;
		}
		if (cont && p < end)
			continue;
		if (l.len)
			r = ini_logical(l.data, section, sizeof(section), fn, ctx, start);
		buf_reset(&l);
	}
	buf_release(&l);
	return r;
}

/* [Install] with something in it that enables: otherwise the unit is static */
static int install_fn(void *ctx, const char *section, const char *key, const char *value,
		      unsigned line)
{
	static const char *const keys[] = { "WantedBy", "RequiredBy", "UpheldBy", "Alias",
					    "Also" };
	bool *has = ctx;

	(void)line;
	if (!key || strcmp(section, "Install") != 0 || !value[0])
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcmp(key, keys[i]) == 0)
			*has = true;
	return 0;
}

/* ---- the unit list ---- */

static bool unit_name_ok(const char *n)
{
	size_t len = strlen(n);
	const char *dot = strrchr(n, '.');
	bool typed = false;

	if (len == 0 || len > 255 || !dot || dot == n)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = n[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr(":-_.\\@", c)))
			return false;
	}
	for (size_t i = 0; i < ARRAY_SIZE(unit_types); i++)
		if (strcmp(dot, unit_types[i]) == 0)
			typed = true;
	return typed;
}

/* "foo@.service" */
static bool unit_is_template(const char *n)
{
	const char *at = strchr(n, '@');

	return at && at[1] == '.' && strrchr(n, '.') == at + 1;
}

/* "foo@bar.service" -> "foo@.service"; false when n is no instance */
static bool unit_template_of(const char *n, char *out, size_t size)
{
	const char *at = strchr(n, '@'), *dot = strrchr(n, '.');

	if (!at || !dot || dot <= at + 1)
		return false;
	return snprintf(out, size, "%.*s%s", (int)(at - n + 1), n, dot) < (int)size;
}

struct unit {
	char *name;
	unsigned dir;	/* index in unit_dirs: the directory that defines it */
};

struct unit_list {
	struct unit *v;
	size_t n, cap;
	bool skip[N_DIRS];	/* a directory that is another one (/lib -> usr/lib) */
};

static void unit_list_release(struct unit_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int cmp_unit(const void *a, const void *b)
{
	const struct unit *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->dir > y->dir) - (x->dir < y->dir);
}

/* The directories to read: those that exist and are not one seen before. */
static void unit_dirs_check(const struct coll_opts *o, bool skip[N_DIRS])
{
	struct stat st[N_DIRS];
	bool ok[N_DIRS];

	for (size_t i = 0; i < N_DIRS; i++) {
		char path[4096];

		ok[i] = coll_path(o, unit_dirs[i], path, sizeof(path)) == 0 &&
			stat(path, &st[i]) == 0;
		skip[i] = false;
		for (size_t j = 0; ok[i] && j < i; j++)
			if (ok[j] && st[j].st_dev == st[i].st_dev && st[j].st_ino == st[i].st_ino)
				skip[i] = true;
	}
}

/* Every unit file, by name, each from the first directory that has it. */
static int units_load(const struct coll_opts *o, struct unit_list *l, struct vg_error *err)
{
	size_t w = 0;
	int r = 0;

	unit_dirs_check(o, l->skip);
	for (unsigned d = 0; d < N_DIRS && r == 0; d++) {
		struct strv names = { 0 };

		if (l->skip[d])
			continue;
		r = list_dir(o, unit_dirs[d], &names, err);
		for (size_t i = 0; i < names.n && r == 0; i++) {
			char path[4096];
			struct stat st;

			if (!unit_name_ok(names.v[i]))
				continue;
			/* a directory named like a unit is none (lstat: a link is a unit) */
			if (snprintf(path, sizeof(path), "%s%s/%s", o->root ? o->root : "",
				     unit_dirs[d], names.v[i]) >= (int)sizeof(path) ||
			    (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)))
				continue;
			if (l->n == l->cap) {
				size_t cap = l->cap ? l->cap * 2 : 256;
				struct unit *nv;

				if (l->n >= UNITS_MAX) {
					r = vg_error_set(err, -E2BIG, unit_dirs[d], 0, 0,
							 "too many unit files (more than %u)",
							 UNITS_MAX);
					break;
				}
				nv = realloc(l->v, cap * sizeof(*nv));
				if (!nv) {
					r = vg_error_set(err, -ENOMEM, NULL, 0, 0, "out of memory");
					break;
				}
				l->v = nv;
				l->cap = cap;
			}
			l->v[l->n].name = TAKE_PTR(names.v[i]);
			l->v[l->n].dir = d;
			l->n++;
		}
		strv_release(&names);
	}
	if (r < 0)
		return r;
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_unit);
	for (size_t i = 0; i < l->n; i++) {
		if (w > 0 && strcmp(l->v[w - 1].name, l->v[i].name) == 0) {
			free(l->v[i].name);
			continue;
		}
		l->v[w++] = l->v[i];
	}
	l->n = w;
	return 0;
}

/* What one unit file is: where, through which link, its digest and contents. */
struct unit_file {
	char path[4096];	/* the entry in its unit directory */
	char final[4096];	/* the file read, links followed */
	char link[4096];	/* the entry's link target as written, "" when no link */
	bool masked, bad;
	char sha256[2 * SHA256_LEN + 1];
	char *data;
	size_t len;
};

static int unit_file_load(const struct coll_opts *o, const struct unit *u, struct unit_file *f,
			  struct vg_error *err)
{
	int r;

	memset(f, 0, sizeof(*f));
	if (snprintf(f->path, sizeof(f->path), "%s/%s", unit_dirs[u->dir], u->name) >=
	    (int)sizeof(f->path))
		return vg_error_set(err, -ENAMETOOLONG, unit_dirs[u->dir], 0, 0, "path too long");
	r = read_followed(o, f->path, f->final, sizeof(f->final), f->link, sizeof(f->link),
			  &f->data, &f->len);
	if (r == 1 || (r == 0 && f->len == 0)) {
		/* systemd treats an empty unit file as masked, too */
		f->masked = true;
		return 0;
	}
	if (r == -ENOENT || r == -EINVAL) {
		f->bad = true;	/* a dangling link, or not a file */
		return 0;
	}
	if (r < 0)
		return read_error(err, r, f->path);
	sha256_hex(f->data, f->len, f->sha256);
	return 0;
}

static void unit_file_release(struct unit_file *f)
{
	free(f->data);
	f->data = NULL;
}

/* The drop-in files of a unit: NAME.d/ *.conf in every unit directory. */
struct dropin {
	unsigned dir;
	char *file;
};

static int cmp_dropin_path(const void *a, const void *b)
{
	const struct dropin *x = a, *y = b;
	int c = strcmp(unit_dirs[x->dir], unit_dirs[y->dir]);

	return c ? c : strcmp(x->file, y->file);
}

/* systemd's order: by file name, and of the same name only the first directory's */
static int cmp_dropin_apply(const void *a, const void *b)
{
	const struct dropin *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	return c ? c : (x->dir > y->dir) - (x->dir < y->dir);
}

static void dropins_release(struct dropin *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].file);
	free(v);
}

static int dropins_list(const struct coll_opts *o, const struct unit_list *l, const char *name,
			struct dropin **ret, size_t *ret_n, struct vg_error *err)
{
	struct dropin *v = NULL;
	size_t n = 0;
	int r = 0;

	for (unsigned d = 0; d < N_DIRS && r == 0; d++) {
		struct strv files = { 0 };
		char dir[4096];

		if (l->skip[d])
			continue;
		if (snprintf(dir, sizeof(dir), "%s/%s.d", unit_dirs[d], name) >= (int)sizeof(dir))
			continue;
		r = list_dir(o, dir, &files, err);
		for (size_t i = 0; i < files.n && r == 0; i++) {
			struct dropin *nv;

			if (!has_suffix(files.v[i], ".conf") || strlen(files.v[i]) <= 5)
				continue;
			if (n >= DROPINS_MAX) {
				r = vg_error_set(err, -E2BIG, dir, 0, 0,
						 "too many drop-ins for '%s' (more than %u)", name,
						 DROPINS_MAX);
				break;
			}
			nv = realloc(v, (n + 1) * sizeof(*v));
			if (!nv) {
				r = vg_error_set(err, -ENOMEM, NULL, 0, 0, "out of memory");
				break;
			}
			v = nv;
			v[n].dir = d;
			v[n].file = TAKE_PTR(files.v[i]);
			n++;
		}
		strv_release(&files);
	}
	if (r < 0) {
		dropins_release(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* ---- unit ---- */

/* The units that links in DIR/ *.wants, *.requires and *.upholds enable: each link's
 * name, the template of an instance, and the name the link points to. */
static int enabled_scan(const struct coll_opts *o, const char *dir, struct strv *set,
			struct vg_error *err)
{
	struct strv subs = { 0 };
	int r = list_dir(o, dir, &subs, err);

	for (size_t i = 0; i < subs.n && r == 0; i++) {
		struct strv links = { 0 };
		char sub[4096];

		if (!has_suffix(subs.v[i], ".wants") && !has_suffix(subs.v[i], ".requires") &&
		    !has_suffix(subs.v[i], ".upholds"))
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", dir, subs.v[i]) >= (int)sizeof(sub))
			continue;
		r = list_dir(o, sub, &links, err);
		for (size_t j = 0; j < links.n && r == 0; j++) {
			char tmpl[300], path[4096], t[4096];
			ssize_t k;

			r = strv_add(set, links.v[j], strlen(links.v[j]), DIR_MAX);
			if (r == 0 && unit_template_of(links.v[j], tmpl, sizeof(tmpl)))
				r = strv_add(set, tmpl, strlen(tmpl), DIR_MAX);
			if (r < 0 || snprintf(path, sizeof(path), "%s%s/%s", o->root ? o->root : "",
					      sub, links.v[j]) >= (int)sizeof(path))
				continue;
			k = readlink(path, t, sizeof(t) - 1);
			if (k > 0) {
				const char *base;

				t[k] = '\0';
				base = strrchr(t, '/');
				base = base ? base + 1 : t;
				if (*base)
					r = strv_add(set, base, strlen(base), DIR_MAX);
			}
		}
		strv_release(&links);
		if (r == -E2BIG || r == -ENOMEM)
			r = vg_error_set(err, r, sub, 0, 0, "too many enabled units");
	}
	strv_release(&subs);
	strv_sort(set);
	return r;
}

static bool systemd_runs(const struct coll_opts *o)
{
	_cleanup_free_ char *comm = NULL;
	size_t n = 0;

	if (coll_read(o, "/proc/1/comm", 256, &comm, &n) < 0)
		return false;
	while (n > 0 && comm[n - 1] == '\n')
		comm[--n] = '\0';
	return strcmp(comm, "systemd") == 0;
}

struct show_block {
	const char *id, *active;
};

/*
 * Splits "systemctl show" output into blocks (a blank line between units), each with
 * its Id= and ActiveState= (NULL when missing).  The output is changed in place.
 */
static int show_parse(char *p, struct show_block **ret, size_t *ret_n)
{
	struct show_block *v = NULL, cur = { 0 };
	size_t n = 0;
	bool open = false;

	while (p) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		if (p[0]) {
			open = true;
			if (strncmp(p, "Id=", 3) == 0)
				cur.id = p + 3;
			else if (strncmp(p, "ActiveState=", 12) == 0)
				cur.active = p + 12;
		}
		if ((!p[0] || !nl) && open) {
			struct show_block *nv = realloc(v, (n + 1) * sizeof(*v));

			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			v[n++] = cur;
			memset(&cur, 0, sizeof(cur));
			open = false;
		}
		p = nl ? nl + 1 : NULL;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/*
 * Asks systemctl for the ActiveState of every unit but templates, in one call.  Sets
 * active[i] (malloc'ed) for the units it answered for.
 */
static int active_query(const struct coll_opts *o, const struct unit_list *l, char **active,
			struct vg_error *err)
{
	static const char *const tools[] = { "/usr/bin/systemctl", "/bin/systemctl" };
	static char *const envp[] = { (char *)"LC_ALL=C", (char *)"SYSTEMD_COLORS=0", NULL };
	struct proc_result res = { 0 };
	struct show_block *blocks = NULL;
	size_t *asked = NULL, n_asked = 0, n_blocks = 0;
	char **argv = NULL;
	int r = 0;

	argv = calloc(l->n + 6, sizeof(*argv));
	asked = calloc(l->n + 1, sizeof(*asked));
	if (!argv || !asked) {
		r = vg_error_set(err, -ENOMEM, NULL, 0, 0, "out of memory");
		goto out;
	}
	argv[1] = (char *)"show";
	argv[2] = (char *)"--property=Id,ActiveState";
	argv[3] = (char *)"--no-pager";
	argv[4] = (char *)"--";
	for (size_t i = 0; i < l->n; i++) {
		if (unit_is_template(l->v[i].name))
			continue;
		argv[5 + n_asked] = l->v[i].name;
		asked[n_asked++] = i;
	}
	if (n_asked == 0)
		goto out;
	for (size_t t = 0; t < ARRAY_SIZE(tools); t++) {
		struct proc_opts po = {
			.argv = argv,
			.envp = envp,
			.timeout_ns = o->timeout_ns > 0 ? o->timeout_ns : COLL_TIMEOUT_DEFAULT_NS,
			.capture_max = 65536 + n_asked * 160,
			.stderr_null = true,
		};

		argv[0] = (char *)tools[t];
		r = proc_run(&po, &res);
		if (r != -ENOENT)
			break;
	}
	if (r < 0) {
		r = vg_error_set(err, r, argv[0], 0, 0, "cannot run '%s': %s", argv[0],
				 strerror(-r));
		goto out;
	}
	if (res.timed_out || res.truncated) {
		r = vg_error_set(err, res.timed_out ? -ETIMEDOUT : -E2BIG, argv[0], 0, 0,
				 "'systemctl show' %s", res.timed_out ? "timed out" :
				 "gave too much output");
		goto out;
	}
	r = show_parse(res.output, &blocks, &n_blocks);
	if (r < 0) {
		r = vg_error_set(err, r, NULL, 0, 0, "out of memory");
		goto out;
	}
	if (n_blocks == 0 || !WIFEXITED(res.wait_status) ||
	    (WEXITSTATUS(res.wait_status) != 0 && n_blocks != n_asked)) {
		r = vg_error_set(err, -EIO, argv[0], 0, 0,
				 "'systemctl show' failed (status %d) and gave %zu of %zu units",
				 WIFEXITED(res.wait_status) ? WEXITSTATUS(res.wait_status) : -1,
				 n_blocks, n_asked);
		goto out;
	}
	for (size_t b = 0; b < n_blocks; b++) {
		size_t at = SIZE_MAX;

		if (!blocks[b].active)
			continue;
		/* an alias answers with the name it stands for: in order when complete */
		if (n_blocks == n_asked) {
			at = asked[b];
		} else if (blocks[b].id) {
			for (size_t i = 0; i < n_asked && at == SIZE_MAX; i++)
				if (strcmp(l->v[asked[i]].name, blocks[b].id) == 0)
					at = asked[i];
		}
		if (at == SIZE_MAX || active[at])
			continue;
		active[at] = strdup(blocks[b].active);
		if (!active[at]) {
			r = vg_error_set(err, -ENOMEM, NULL, 0, 0, "out of memory");
			goto out;
		}
	}
out:
	free(blocks);
	free(argv);
	free(asked);
	proc_result_release(&res);
	return r;
}

/* Whether path is a file directly in one of the unit directories. */
static bool in_unit_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	for (size_t i = 0; slash && i < N_DIRS; i++)
		if (strlen(unit_dirs[i]) == (size_t)(slash - path) &&
		    memcmp(unit_dirs[i], path, (size_t)(slash - path)) == 0)
			return true;
	return false;
}

static const char *unit_enabled(const char *name, const struct unit_file *f,
				const struct strv *en_etc, const struct strv *en_run)
{
	bool install = false;
	unsigned line = 0;
	const char *base;

	if (f->masked)
		return "masked";
	if (f->bad)
		return "bad";
	base = strrchr(f->final, '/');
	base = base ? base + 1 : f->final;
	if (f->link[0] && strcmp(base, name) != 0)
		return "alias";
	if (strv_has(en_etc, name))
		return "enabled";
	if (strv_has(en_run, name))
		return "enabled-runtime";
	if (f->link[0] && !in_unit_dir(f->final))
		return "linked";
	ini_parse(f->data, f->len, install_fn, &install, &line);
	return install ? "disabled" : "static";
}

static int unit_state(const struct coll_opts *o, const struct unit_list *l, size_t i,
		      const char *active, const struct strv *en_etc, const struct strv *en_run,
		      struct buf *out, struct vg_error *err)
{
	const struct unit *u = &l->v[i];
	struct dropin *dv = NULL;
	struct unit_file *f;
	struct json_writer w;
	size_t dn = 0;
	int r;

	f = malloc(sizeof(*f));
	if (!f)
		return vg_error_set(err, -ENOMEM, NULL, 0, 0, "out of memory");
	r = unit_file_load(o, u, f, err);
	if (r == 0)
		r = dropins_list(o, l, u->name, &dv, &dn, err);
	if (r < 0)
		goto out;
	if (dn > 1)
		qsort(dv, dn, sizeof(*dv), cmp_dropin_path);

	buf_reset(out);
	jw_init(&w, out);
	jw_obj_open(&w);
	jw_key(&w, "active");
	if (active)
		jw_str_bytes(&w, active, strlen(active));
	else
		jw_null(&w);
	jw_key(&w, "dropins");
	jw_arr_open(&w);
	for (size_t k = 0; k < dn; k++) {
		char path[4096], final[4096], sha[2 * SHA256_LEN + 1] = "";
		_cleanup_free_ char *data = NULL;
		size_t len = 0;

		if (snprintf(path, sizeof(path), "%s/%s.d/%s", unit_dirs[dv[k].dir], u->name,
			     dv[k].file) >= (int)sizeof(path))
			continue;
		r = read_followed(o, path, final, sizeof(final), NULL, 0, &data, &len);
		if (r == 0)
			sha256_hex(data, len, sha);
		else if (r != 1 && r != -ENOENT && r != -EINVAL) {
			r = read_error(err, r, path);
			goto out;
		}
		jw_obj_open(&w);
		jw_key(&w, "path");
		jw_str_bytes(&w, path, strlen(path));
		jw_key(&w, "sha256");
		if (sha[0])
			jw_str(&w, sha);
		else
			jw_null(&w);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	jw_key(&w, "enabled");
	jw_str(&w, unit_enabled(u->name, f, en_etc, en_run));
	jw_key(&w, "link");
	if (f->link[0])
		jw_str_bytes(&w, f->link, strlen(f->link));
	else
		jw_null(&w);
	jw_key(&w, "path");
	jw_str_bytes(&w, f->path, strlen(f->path));
	jw_key(&w, "sha256");
	if (f->sha256[0])
		jw_str(&w, f->sha256);
	else
		jw_null(&w);
	jw_obj_close(&w);
	r = w.err;
	if (r < 0)
		r = vg_error_set(err, r, f->path, 0, 0, "the state of '%s' is too large", u->name);
out:
	unit_file_release(f);
	free(f);
	dropins_release(dv, dn);
	return r;
}

int coll_unit_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	struct unit_list l = { 0 };
	struct strv en_etc = { 0 }, en_run = { 0 };
	char **active = NULL;
	struct buf state;
	int r;

	buf_init(&state, COLL_STATE_MAX);
	r = units_load(o, &l, err);
	if (r == 0)
		r = enabled_scan(o, "/etc/systemd/system", &en_etc, err);
	if (r == 0)
		r = enabled_scan(o, "/run/systemd/system", &en_run, err);
	if (r < 0)
		goto out;
	active = calloc(l.n + 1, sizeof(*active));
	if (!active) {
		r = vg_error_set(err, -ENOMEM, NULL, 0, 0, "out of memory");
		goto out;
	}
	if (systemd_runs(o)) {
		r = active_query(o, &l, active, err);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		r = unit_state(o, &l, i, active[i], &en_etc, &en_run, &state, err);
		if (r < 0)
			goto out;
		r = coll_set_add(out, l.v[i].name, buf_str(&state), NULL);
		if (r < 0) {
			vg_error_set(err, r, NULL, 0, 0, "cannot add unit '%s': %s", l.v[i].name,
				     strerror(-r));
			goto out;
		}
	}
out:
	for (size_t i = 0; active && i < l.n; i++)
		free(active[i]);
	free(active);
	strv_release(&en_etc);
	strv_release(&en_run);
	unit_list_release(&l);
	buf_release(&state);
	return r;
}

/* ---- timer ---- */

struct timer_key {
	char name[72];	/* snake_case */
	struct strv values;
};

struct timer_ctx {
	struct timer_key keys[TIMER_KEYS_MAX];
	size_t n;
	char unit[300];		/* Unit=, "" for the default */
	const char *file;	/* for errors */
	struct vg_error *err;
};

/* OnCalendar=daily, OnCalendar=weekly: both; Persistent=yes, Persistent=no: the last */
static bool timer_key_adds(const char *key)
{
	static const char *const adds[] = { "OnActiveSec",	 "OnBootSec",	"OnStartupSec",
					    "OnUnitActiveSec", "OnUnitInactiveSec", "OnCalendar" };

	for (size_t i = 0; i < ARRAY_SIZE(adds); i++)
		if (strcmp(key, adds[i]) == 0)
			return true;
	return false;
}

/* "OnUnitActiveSec" -> "on_unit_active_sec"; false for a key that is no word */
static bool snake_case(const char *key, char *out, size_t size)
{
	size_t w = 0;

	if (!((key[0] >= 'A' && key[0] <= 'Z') || (key[0] >= 'a' && key[0] <= 'z')))
		return false;
	for (size_t i = 0; key[i]; i++) {
		char c = key[i];
		bool up = c >= 'A' && c <= 'Z';

		if (!up && !(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9'))
			return false;
		if (up && i > 0 && w + 1 < size && key[i - 1] != '_' &&
		    !(key[i - 1] >= 'A' && key[i - 1] <= 'Z'))
			out[w++] = '_';
		if (w + 1 >= size)
			return false;
		out[w++] = up ? (char)(c - 'A' + 'a') : c;
	}
	out[w] = '\0';
	return true;
}

static int timer_fn(void *ctx_, const char *section, const char *key, const char *value,
		    unsigned line)
{
	struct timer_ctx *c = ctx_;
	struct timer_key *k = NULL;
	char name[72];
	int r;

	if (strcmp(section, "Timer") != 0)
		return 0;
	if (!key)
		return vg_error_set(c->err, -EBADMSG, c->file, line, 0,
				    "malformed line in [Timer]: expected KEY=VALUE");
	if (!snake_case(key, name, sizeof(name)))
		return vg_error_set(c->err, -EBADMSG, c->file, line, 0,
				    "malformed key in [Timer]");
	if (strcmp(key, "Unit") == 0) {
		if (snprintf(c->unit, sizeof(c->unit), "%s", value) >= (int)sizeof(c->unit))
			return vg_error_set(c->err, -EBADMSG, c->file, line, 0,
					    "Unit= too long");
		return 0;
	}
	for (size_t i = 0; i < c->n && !k; i++)
		if (strcmp(c->keys[i].name, name) == 0)
			k = &c->keys[i];
	if (!k) {
		if (c->n >= TIMER_KEYS_MAX)
			return vg_error_set(c->err, -E2BIG, c->file, line, 0,
					    "too many keys in [Timer] (more than %u)",
					    TIMER_KEYS_MAX);
		k = &c->keys[c->n++];
		memset(k, 0, sizeof(*k));
		memcpy(k->name, name, strlen(name) + 1);
	}
	/* an empty value resets, as in systemd; a setting that is not a list is replaced */
	if (!value[0] || !timer_key_adds(key))
		strv_release(&k->values);
	if (!value[0])
		return 0;
	r = strv_add(&k->values, value, strlen(value), TIMER_VALUES_MAX);
	if (r < 0)
		return vg_error_set(c->err, r, c->file, line, 0, "too many values for %s=", key);
	return 0;
}

static int timer_parse(struct timer_ctx *c, const char *file, const char *data, size_t len)
{
	unsigned line = 0;
	int r;

	c->file = file;
	r = ini_parse(data, len, timer_fn, c, &line);
	if (r == -E2BIG && line)
		return vg_error_set(c->err, r, file, line, 0, "line too long (more than %u bytes)",
				    LINE_MAX_LEN);
	return r;
}

static int timer_one(const struct coll_opts *o, const struct unit_list *l, const struct unit *u,
		     struct timer_ctx *c, struct buf *out, bool *ret_skip, struct vg_error *err)
{
	struct dropin *dv = NULL;
	struct unit_file *f;
	struct json_writer w;
	size_t dn = 0;
	int r;

	*ret_skip = false;
	f = malloc(sizeof(*f));
	if (!f)
		return vg_error_set(err, -ENOMEM, NULL, 0, 0, "out of memory");
	r = unit_file_load(o, u, f, err);
	if (r < 0)
		goto out;
	if (f->masked || f->bad) {
		*ret_skip = true;
		goto out;
	}
	r = timer_parse(c, f->final, f->data, f->len);
	if (r == 0)
		r = dropins_list(o, l, u->name, &dv, &dn, err);
	if (r < 0)
		goto out;
	if (dn > 1)
		qsort(dv, dn, sizeof(*dv), cmp_dropin_apply);
	for (size_t k = 0; k < dn; k++) {
		char path[4096], final[4096];
		_cleanup_free_ char *data = NULL;
		size_t len = 0;

		if (k > 0 && strcmp(dv[k].file, dv[k - 1].file) == 0)
			continue;	/* hidden by the one of an earlier directory */
		if (snprintf(path, sizeof(path), "%s/%s.d/%s", unit_dirs[dv[k].dir], u->name,
			     dv[k].file) >= (int)sizeof(path))
			continue;
		r = read_followed(o, path, final, sizeof(final), NULL, 0, &data, &len);
		if (r == 1 || r == -ENOENT || r == -EINVAL) {
			r = 0;
			continue;
		}
		if (r < 0) {
			r = read_error(err, r, path);
			goto out;
		}
		r = timer_parse(c, final, data, len);
		if (r < 0)
			goto out;
	}

	buf_reset(out);
	jw_init(&w, out);
	jw_obj_open(&w);
	for (size_t i = 0; i < c->n; i++) {
		if (c->keys[i].values.n == 0 || strcmp(c->keys[i].name, "unit") == 0)
			continue;
		strv_sort(&c->keys[i].values);
		jw_key(&w, c->keys[i].name);
		jw_arr_open(&w);
		for (size_t j = 0; j < c->keys[i].values.n; j++)
			jw_str_bytes(&w, c->keys[i].values.v[j], strlen(c->keys[i].values.v[j]));
		jw_arr_close(&w);
	}
	jw_key(&w, "unit");
	if (c->unit[0]) {
		jw_str_bytes(&w, c->unit, strlen(c->unit));
	} else {
		size_t base = strlen(u->name) - strlen(".timer");
		char def[300];

		snprintf(def, sizeof(def), "%.*s.service", (int)base, u->name);
		jw_str_bytes(&w, def, strlen(def));
	}
	jw_obj_close(&w);
	r = w.err;
	if (r < 0)
		r = vg_error_set(err, r, f->path, 0, 0, "the state of '%s' is too large", u->name);
out:
	unit_file_release(f);
	free(f);
	dropins_release(dv, dn);
	return r;
}

int coll_timer_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	struct unit_list l = { 0 };
	struct timer_ctx *c = NULL;
	struct buf state;
	int r;

	buf_init(&state, COLL_STATE_MAX);
	r = units_load(o, &l, err);
	if (r < 0)
		goto out;
	c = calloc(1, sizeof(*c));
	if (!c) {
		r = vg_error_set(err, -ENOMEM, NULL, 0, 0, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		bool skip = false;

		if (!has_suffix(l.v[i].name, ".timer"))
			continue;
		memset(c, 0, sizeof(*c));
		c->err = err;
		r = timer_one(o, &l, &l.v[i], c, &state, &skip, err);
		for (size_t k = 0; k < c->n; k++)
			strv_release(&c->keys[k].values);
		if (r < 0)
			goto out;
		if (skip)
			continue;	/* masked or dangling: no timer */
		r = coll_set_add(out, l.v[i].name, buf_str(&state), NULL);
		if (r < 0) {
			vg_error_set(err, r, NULL, 0, 0, "cannot add timer '%s': %s", l.v[i].name,
				     strerror(-r));
			goto out;
		}
	}
	r = 0;
out:
	free(c);
	unit_list_release(&l);
	buf_release(&state);
	return r;
}

/* ---- cron ---- */

struct cron_ctx {
	const struct coll_opts *o;
	struct coll_set *out;
	struct vg_error *err;
	size_t n;		/* objects added */
	struct buf key, state, text, cmd;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Adds one object; a key seen before in this collection (the same line twice, a variable
 * set again further down) gets " (2)", " (3)"... in the order of the files.
 */
static int cron_add(struct cron_ctx *c, const char *file, unsigned line)
{
	size_t base = c->key.len;
	int r;

	if (c->n >= CRON_OBJECTS_MAX)
		return vg_error_set(c->err, -E2BIG, file, line, 0,
				    "too many cron objects (more than %u)", CRON_OBJECTS_MAX);
	for (unsigned dup = 1; dup <= 1000; dup++) {
		if (dup > 1) {
			c->key.len = base;
			c->key.data[base] = '\0';
			r = buf_printf(&c->key, " (%u)", dup);
			if (r < 0)
				break;
		}
		r = coll_set_add(c->out, buf_str(&c->key), buf_str(&c->state),
				 c->text.len ? buf_str(&c->text) : NULL);
		if (r != -EEXIST)
			break;
	}
	if (r < 0)
		return vg_error_set(c->err, r, file, line, 0, "cannot add cron object: %s",
				    strerror(-r));
	c->n++;
	return 0;
}

/* Caps a key built from a long line: a prefix (whole characters) and a digest of all. */
static int key_fit(struct buf *key)
{
	char sha[2 * SHA256_LEN + 1];
	size_t cut = KEY_MAX_LEN - 100;

	if (key->len <= KEY_MAX_LEN)
		return 0;
	sha256_hex(key->data, key->len, sha);
	while (cut > 0 && ((unsigned char)key->data[cut] & 0xc0) == 0x80)
		cut--;
	key->len = cut;
	key->data[cut] = '\0';
	return buf_printf(key, "... #%.16s", sha);
}

/* The value after NAME= as cron takes it: trimmed, one pair of quotes removed. */
static void env_value(const char **s, const char **e)
{
	trim(s, e);
	if (*e - *s >= 2 && (**s == '"' || **s == '\'') && (*e)[-1] == **s) {
		(*s)++;
		(*e)--;
	}
}

/* "NAME=VALUE", "NAME = VALUE", "'NAME'=VALUE": true with the parts */
static bool env_line(const char *p, const char *e, const char **ns, const char **ne,
		     const char **vs, const char **ve)
{
	const char *q = p;

	if (*q == '"' || *q == '\'') {
		const char *close = memchr(q + 1, *q, (size_t)(e - q - 1));

		if (!close)
			return false;
		*ns = q + 1;
		*ne = close;
		q = close + 1;
	} else {
		*ns = q;
		while (q < e && !is_blank(*q) && *q != '=')
			q++;
		*ne = q;
	}
	if (*ne == *ns)
		return false;
	while (q < e && is_blank(*q))
		q++;
	if (q >= e || *q != '=')
		return false;
	*vs = q + 1;
	*ve = e;
	env_value(vs, ve);
	return true;
}

static int cron_env(struct cron_ctx *c, const char *src, unsigned line, const char *ns,
		    const char *ne, const char *vs, const char *ve)
{
	struct json_writer w;
	struct buf raw;
	const char *val;
	size_t nl = (size_t)(ne - ns);
	int r;

	/* the redaction sees "NAME=VALUE", so that a name like a secret hides its value */
	buf_init(&raw, LINE_MAX_LEN);
	buf_reset(&c->cmd);
	r = buf_append(&raw, ns, nl);
	if (r == 0)
		r = buf_putc(&raw, '=');
	if (r == 0)
		r = buf_append(&raw, vs, (size_t)(ve - vs));
	if (r == 0)
		r = coll_redact(raw.data, raw.len, &c->cmd);
	buf_release(&raw);
	if (r < 0)
		return vg_error_set(c->err, r, src, line, 0, "line too long");
	val = buf_str(&c->cmd);
	if (c->cmd.len > nl && memcmp(val, ns, nl) == 0 && val[nl] == '=')
		val += nl + 1;
	else
		val = "<redacted>";

	buf_reset(&c->key);
	buf_reset(&c->state);
	buf_reset(&c->text);
	r = escape_bytes(&c->key, src, strlen(src));
	if (r == 0)
		r = buf_puts(&c->key, ": ");
	if (r == 0)
		r = escape_bytes(&c->key, ns, nl);
	if (r == 0)
		r = buf_putc(&c->key, '=');
	if (r == 0)
		r = key_fit(&c->key);
	jw_init(&w, &c->state);
	jw_obj_open(&w);
	jw_key(&w, "value");
	jw_str_bytes(&w, val, strlen(val));
	jw_obj_close(&w);
	if (r == 0)
		r = w.err;
	if (r < 0)
		return vg_error_set(c->err, r, src, line, 0, "line too long");
	return cron_add(c, src, line);
}

static bool schedule_keyword_ok(const char *s, size_t n)
{
	static const char *const kw[] = { "@reboot", "@yearly", "@annually", "@monthly",
					  "@weekly", "@daily",	"@midnight", "@hourly" };

	for (size_t i = 0; i < ARRAY_SIZE(kw); i++)
		if (strlen(kw[i]) == n && memcmp(kw[i], s, n) == 0)
			return true;
	return false;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A number, or a three-letter name (jan, sun) */
static bool time_value(const char **p, const char *e)
{
	const char *s = *p;
	size_t k = 0;

	if (s < e && is_digit(*s)) {
		while (s < e && is_digit(*s))
			s++;
	} else {
		while (s < e && ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))) {
			s++;
			k++;
		}
		if (k != 3)
			return false;
	}
	*p = s;
	return true;
}

/* A time field: items "*", "?", "~", "N", "N-M", "N~M" (with "/STEP") joined by commas */
static bool time_field_ok(const char *s, size_t n)
{
	const char *p = s, *e = s + n;

	if (n == 0)
		return false;
	for (;;) {
		if (p < e && (*p == '*' || *p == '?' || *p == '~')) {
			p++;
		} else {
			if (!time_value(&p, e))
				return false;
			if (p < e && (*p == '-' || *p == '~')) {
				p++;
				if (!time_value(&p, e))
					return false;
			}
		}
		if (p < e && *p == '/') {
			const char *d = ++p;

			while (p < e && is_digit(*p))
				p++;
			if (p == d)
				return false;
		}
		if (p == e)
			return true;
		if (*p++ != ',')
			return false;
	}
}

/* The next word of [*p, e): its bounds, *p after it and the blanks that follow. */
static bool next_word(const char **p, const char *e, const char **ws, size_t *wn)
{
	const char *q = *p;

	while (q < e && is_blank(*q))
		q++;
	*ws = q;
	while (q < e && !is_blank(*q))
		q++;
	*wn = (size_t)(q - *ws);
	while (q < e && is_blank(*q))
		q++;
	*p = q;
	return *wn > 0;
}

static int cron_job(struct cron_ctx *c, const char *src, unsigned line, const char *p,
		    const char *e, const char *user)
{
	char sched[512];
	size_t sl = 0, un = 0;
	const char *us = NULL, *ws;
	struct json_writer w;
	size_t wn;
	int r;

	if (!next_word(&p, e, &ws, &wn))
		return 0;
	if (ws[0] == '@') {
		if (!schedule_keyword_ok(ws, wn))
			return vg_error_set(c->err, -EBADMSG, src, line, 0,
					    "malformed crontab line: unknown @ schedule");
		memcpy(sched, ws, wn);
		sl = wn;
	} else {
		for (int f = 0; f < 5; f++) {
			if (f > 0 && !next_word(&p, e, &ws, &wn))
				return vg_error_set(c->err, -EBADMSG, src, line, 0,
						    "malformed crontab line: expected five time "
						    "fields");
			if (!time_field_ok(ws, wn) || sl + wn + 2 > sizeof(sched))
				return vg_error_set(c->err, -EBADMSG, src, line, 0,
						    "malformed crontab line: bad time field %d",
						    f + 1);
			if (f > 0)
				sched[sl++] = ' ';
			memcpy(sched + sl, ws, wn);
			sl += wn;
		}
	}
	sched[sl] = '\0';
	if (!user) {
		if (!next_word(&p, e, &us, &un))
			return vg_error_set(c->err, -EBADMSG, src, line, 0,
					    "malformed crontab line: no user and command");
	} else {
		us = user;
		un = strlen(user);
	}
	if (p >= e)
		return vg_error_set(c->err, -EBADMSG, src, line, 0,
				    "malformed crontab line: no command");

	buf_reset(&c->cmd);
	buf_reset(&c->key);
	buf_reset(&c->state);
	buf_reset(&c->text);
	r = coll_redact(p, (size_t)(e - p), &c->cmd);
	/* the line as text: "SCHEDULE USER COMMAND", escaped like a key */
	if (r == 0)
		r = buf_printf(&c->text, "%s ", sched);
	if (r == 0)
		r = escape_bytes(&c->text, us, un);
	if (r == 0)
		r = buf_putc(&c->text, ' ');
	if (r == 0)
		r = escape_bytes(&c->text, c->cmd.data, c->cmd.len);
	if (r == 0)
		r = escape_bytes(&c->key, src, strlen(src));
	if (r == 0)
		r = buf_puts(&c->key, ": ");
	if (r == 0)
		r = buf_append(&c->key, c->text.data, c->text.len);
	if (r == 0)
		r = key_fit(&c->key);
	if (r == 0)
		r = buf_putc(&c->text, '\n');
	jw_init(&w, &c->state);
	jw_obj_open(&w);
	jw_key(&w, "command");
	jw_str_bytes(&w, buf_str(&c->cmd), c->cmd.len);
	jw_key(&w, "file");
	jw_str_bytes(&w, src, strlen(src));
	jw_key(&w, "schedule");
	jw_str(&w, sched);
	jw_key(&w, "user");
	jw_str_bytes(&w, us, un);
	jw_obj_close(&w);
	if (r == 0)
		r = w.err;
	if (r < 0)
		return vg_error_set(c->err, r, src, line, 0, "line too long");
	return cron_add(c, src, line);
}

/* One crontab: user NULL for the system format (a user field after the schedule). */
static int cron_file(struct cron_ctx *c, const char *src, const char *user)
{
	_cleanup_free_ char *data = NULL;
	char final[4096];
	size_t len = 0;
	const char *p, *end;
	unsigned lineno = 0;
	int r;

	if (user)	/* users' crontabs are plain files: cron ignores links there */
		r = coll_read(c->o, src, FILE_MAX, &data, &len);
	else
		r = read_followed(c->o, src, final, sizeof(final), NULL, 0, &data, &len);
	if (r == -ENOENT || r == 1)
		return 0;
	if (r < 0)
		return read_error(c->err, r, src);
	p = data;
	end = data + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *s = p, *e = nl ? nl : end;
		const char *ns, *ne, *vs, *ve;

		p = nl ? nl + 1 : end;
		lineno++;
		trim(&s, &e);
		if (s == e || *s == '#')
			continue;
		if (memchr(s, '\0', (size_t)(e - s)))
			return vg_error_set(c->err, -EBADMSG, src, lineno, 0,
					    "malformed crontab line: a NUL byte");
		if (env_line(s, e, &ns, &ne, &vs, &ve))
			r = cron_env(c, src, lineno, ns, ne, vs, ve);
		else
			r = cron_job(c, src, lineno, s, e, user);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Every file of dir, in the system format (user NULL) or as the crontab of the user the
 * file is named after. */
static int cron_dir(struct cron_ctx *c, const char *dir, bool users)
{
	struct strv names = { 0 };
	int r = list_dir(c->o, dir, &names, c->err);

	for (size_t i = 0; i < names.n && r == 0; i++) {
		char src[4096], full[4096];
		struct stat st;

		if (names.v[i][0] == '.')
			continue;	/* cron skips hidden files (.placeholder) */
		if (snprintf(src, sizeof(src), "%s/%s", dir, names.v[i]) >= (int)sizeof(src) ||
		    coll_path(c->o, src, full, sizeof(full)) < 0)
			continue;
		if (lstat(full, &st) < 0 || S_ISDIR(st.st_mode))
			continue;
		if (users && !S_ISREG(st.st_mode))
			continue;
		r = cron_file(c, src, users ? names.v[i] : NULL);
	}
	strv_release(&names);
	return r;
}

/* The scripts run-parts runs from /etc/cron.NAME: "cron.daily/NAME" {"sha256"}. */
static int cron_scripts(struct cron_ctx *c, const char *name)
{
	struct strv names = { 0 };
	char dir[64];
	int r;

	snprintf(dir, sizeof(dir), "/etc/%s", name);
	r = list_dir(c->o, dir, &names, c->err);
	for (size_t i = 0; i < names.n && r == 0; i++) {
		_cleanup_free_ char *data = NULL;
		char src[4096], final[4096], sha[2 * SHA256_LEN + 1] = "";
		struct json_writer w;
		size_t len = 0;

		if (names.v[i][0] == '.')
			continue;	/* run-parts skips them */
		if (snprintf(src, sizeof(src), "%s/%s", dir, names.v[i]) >= (int)sizeof(src))
			continue;
		r = read_followed(c->o, src, final, sizeof(final), NULL, 0, &data, &len);
		if (r == -EINVAL) {
			r = 0;
			continue;	/* a directory */
		}
		if (r == 0)
			sha256_hex(data, len, sha);
		else if (r != 1 && r != -ENOENT) {
			r = read_error(c->err, r, src);
			break;
		}
		buf_reset(&c->key);
		buf_reset(&c->state);
		buf_reset(&c->text);
		r = buf_printf(&c->key, "%s/", name);
		if (r == 0)
			r = escape_bytes(&c->key, names.v[i], strlen(names.v[i]));
		jw_init(&w, &c->state);
		jw_obj_open(&w);
		jw_key(&w, "sha256");
		if (sha[0])
			jw_str(&w, sha);
		else
			jw_null(&w);
		jw_obj_close(&w);
		if (r == 0)
			r = w.err;
		if (r == 0)
			r = cron_add(c, src, 0);
		else
			r = vg_error_set(c->err, r, src, 0, 0, "name too long");
	}
	strv_release(&names);
	return r;
}

int coll_cron_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	static const char *const scripts[] = { "cron.hourly", "cron.daily", "cron.weekly",
					       "cron.monthly", "cron.yearly" };
	struct cron_ctx c = { .o = o, .out = out, .err = err };
	int r;

	buf_init(&c.key, 8192);
	buf_init(&c.state, COLL_STATE_MAX);
	buf_init(&c.text, COLL_TEXT_MAX);
	buf_init(&c.cmd, COLL_TEXT_MAX);
	r = cron_file(&c, "/etc/crontab", NULL);
	if (r == 0)
		r = cron_dir(&c, "/etc/cron.d", false);
	if (r == 0)
		r = cron_dir(&c, "/var/spool/cron/crontabs", true);	/* Debian */
	if (r == 0)
		r = cron_dir(&c, "/var/spool/cron", true);		/* cronie */
	for (size_t i = 0; i < ARRAY_SIZE(scripts) && r == 0; i++)
		r = cron_scripts(&c, scripts[i]);
	buf_release(&c.key);
	buf_release(&c.state);
	buf_release(&c.text);
	buf_release(&c.cmd);
	return r;
}

/*
 * package and repo: what software the host runs and where apt may fetch more from.
 *
 * package reads dpkg's database (/var/lib/dpkg/status) for the installed packages, the
 * apt lists (the Packages files in /var/lib/apt/lists, plain or compressed, each with
 * the Release or InRelease it came with) for the archive that offers each exact
 * version, and dpkg's log (/var/log/dpkg.log and its rotations) or the package's file
 * list for when it was installed.  repo reads apt's sources (/etc/apt/sources.list and
 * the .list and .sources files of sources.list.d) and, for each entry, the OpenPGP
 * keyrings it trusts, down to the fingerprints of their primary keys: a new repository,
 * or a new key able to sign for one, is how foreign packages get in.
 *
 * All of it is text written by dpkg and apt, or by whoever gained root: every file,
 * line, list and keyring is read with caps, and nothing here runs a program.
 */
#include <archive.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/base64.h"
#include "base/buf.h"
#include "base/escape.h"
#include "base/json.h"
#include "base/macro.h"
#include "base/parse.h"
#include "base/strmap.h"
#include "base/timeutil.h"
#include "collect/collect.h"
#include "base/banned.h"

#define STATUS_MAX (256ull << 20)	/* dpkg's database */
#define LIST_MAX (512ull << 20)		/* one Packages list, decompressed */
#define LOG_MAX (512ull << 20)		/* one dpkg log, decompressed */
#define RELEASE_MAX (64ull << 20)
#define SOURCES_MAX (4ull << 20)
#define KEYRING_MAX (16u << 20)
#define TEXT_LINE_MAX (1u << 20)
#define FIELD_MAX (1u << 20)
#define BLOCK_SIZE (64u * 1024)
#define PACKAGES_MAX 200000u
#define REPOS_MAX 4096u
#define KEYS_MAX 4096u		/* keys (primary and sub) in one keyring */
#define DIR_MAX 10000u		/* entries considered in one directory */
#define LINK_HOPS 8

static const char status_path[] = "/var/lib/dpkg/status";
static const char lists_dir[] = "/var/lib/apt/lists";
static const char log_dir[] = "/var/log";
static const char info_dir[] = "/var/lib/dpkg/info";
static const char sources_list[] = "/etc/apt/sources.list";
static const char sources_dir[] = "/etc/apt/sources.list.d";
static const char trusted_gpg[] = "/etc/apt/trusted.gpg";
static const char trusted_dir[] = "/etc/apt/trusted.gpg.d";

/* ---- small helpers ---- */


static void strv_sort_uniq(struct coll_strv *s)
{
	size_t k = 0;

	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), coll_str_cmp);
	for (size_t i = 0; i < s->n; i++) {
		if (k > 0 && strcmp(s->v[k - 1], s->v[i]) == 0)
			free(s->v[i]);
		else
			s->v[k++] = s->v[i];
	}
	s->n = k;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void trim(const char **p, size_t *len)
{
	while (*len > 0 && is_space(**p)) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && is_space((*p)[*len - 1]))
		(*len)--;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

/* Splits s[0..len) at white space (and at commas when commas is set) into out. */
static int split_words(const char *s, size_t len, bool commas, struct coll_strv *out)
{
	size_t i = 0;

	while (i < len) {
		size_t j;

		while (i < len && (is_space(s[i]) || (commas && s[i] == ',')))
			i++;
		j = i;
		while (j < len && !is_space(s[j]) && !(commas && s[j] == ','))
			j++;
		if (j > i) {
			int r = coll_strv_push(out, s + i, j - i);

			if (r < 0)
				return r;
		}
		i = j;
	}
	return 0;
}

/*
 * Opens root + path for reading: a regular file, following symbolic links (Ubuntu's
 * trusted.gpg.d is made of them) but resolving absolute targets below the root, not on
 * the host.  Returns the descriptor or a negative errno (-ENOENT when absent).
 */
static int open_file(const struct coll_opts *o, const char *path, struct stat *ret_st)
{
	char cur[PATH_MAX], full[PATH_MAX], target[PATH_MAX];
	int k = snprintf(cur, sizeof(cur), "%s", path);

	if (k < 0 || (size_t)k >= sizeof(cur))
		return -ENAMETOOLONG;
	for (unsigned hop = 0; hop <= LINK_HOPS; hop++) {
		struct stat st;
		ssize_t n;
		int fd, r = coll_path(o, cur, full, sizeof(full));

		if (r < 0)
			return r;
		fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
		if (fd >= 0) {
			if (fstat(fd, &st) < 0) {
				r = neg_errno();
				close(fd);
				return r;
			}
			if (!S_ISREG(st.st_mode)) {
				close(fd);
				return -EINVAL;
			}
			if (ret_st)
				*ret_st = st;
			return fd;
		}
		if (errno != ELOOP)
			return neg_errno();
		n = readlink(full, target, sizeof(target) - 1);
		if (n < 0)
			return neg_errno();
		target[n] = '\0';
		if (target[0] == '/') {
			k = snprintf(cur, sizeof(cur), "%s", target);
		} else {
			const char *slash = strrchr(cur, '/');
			int dl = slash ? (int)(slash - cur) : 0;
			char dir[PATH_MAX];

			snprintf(dir, sizeof(dir), "%.*s", dl, cur);
			k = snprintf(cur, sizeof(cur), "%s/%s", dir, target);
		}
		if (k < 0 || (size_t)k >= sizeof(cur))
			return -ENAMETOOLONG;
	}
	return -ELOOP;
}

/* Reads root + path whole into out (at most max bytes). -ENOENT when absent. */
static int read_file(const struct coll_opts *o, const char *path, size_t max, struct buf *out)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	fd = open_file(o, path, &st);
	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	buf_init(out, max);
	for (;;) {
		ssize_t n;

		r = buf_reserve(out, BLOCK_SIZE);
		if (r < 0)
			return r == -E2BIG ? -EFBIG : r;
		n = read(fd, out->data + out->len, out->alloc - out->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return neg_errno();
		if (n == 0)
			return 0;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
	}
}

static int read_error(struct vg_error *err, int r, const char *path)
{
	if (r == -EFBIG)
		return vg_error_set(err, r, path, 0, 0, "file too large");
	if (r == -EINVAL)
		return vg_error_set(err, r, path, 0, 0, "not a regular file");
	return vg_error_set(err, r, path, 0, 0, "cannot read: %s", strerror(-r));
}

/*
 * The names in root + dir accepted by keep, sorted (byte order).  A missing directory
 * has no names.
 */
static int list_dir(const struct coll_opts *o, const char *dir, bool (*keep)(const char *),
		    struct coll_strv *out, struct vg_error *err)
{
	char full[PATH_MAX];
	DIR *d;
	struct dirent *e;
	int r = coll_path(o, dir, full, sizeof(full));

	if (r < 0)
		return vg_error_set(err, r, dir, 0, 0, "path too long");
	d = opendir(full);
	if (!d) {
		r = neg_errno();
		if (r == -ENOENT || r == -ENOTDIR)
			return 0;
		return vg_error_set(err, r, dir, 0, 0, "cannot list: %s", strerror(-r));
	}
	r = 0;
	while ((e = readdir(d))) {
		if (!keep(e->d_name))
			continue;
		if (out->n >= DIR_MAX) {
			r = vg_error_set(err, -E2BIG, dir, 0, 0, "more than %u entries", DIR_MAX);
			break;
		}
		r = coll_strv_push(out, e->d_name, strlen(e->d_name));
		if (r < 0) {
			r = vg_error_set(err, r, dir, 0, 0, "out of memory");
			break;
		}
	}
	closedir(d);
	if (r == 0)
		strv_sort_uniq(out);
	return r;
}

/* apt's rule for the names of its configuration parts: [A-Za-z0-9_.-] only. */
static bool apt_name_ok(const char *n)
{
	if (!*n || n[0] == '.')
		return false;
	for (; *n; n++)
		if (!isalnum((unsigned char)*n) && *n != '_' && *n != '-' && *n != '.')
			return false;
	return true;
}

/* ---- reading text line by line, compressed or not ---- */

/*
 * Called for each line (without its newline and a CR before it), lineno 1-based.
 * Returns 0 to go on, 1 to stop reading, or a negative errno with err set.
 */
typedef int (*line_fn)(void *ctx, const char *line, size_t len, unsigned lineno,
		       struct vg_error *err);

static void archive_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

/* The decompressor a list or log file's name calls for ("" for plain text). */
static void support_filter(struct archive *a, const char *name)
{
	if (has_suffix(name, ".gz"))
		archive_read_support_filter_gzip(a);
	else if (has_suffix(name, ".lz4"))
		archive_read_support_filter_lz4(a);
	else if (has_suffix(name, ".xz"))
		archive_read_support_filter_xz(a);
	else if (has_suffix(name, ".zst"))
		archive_read_support_filter_zstd(a);
	else if (has_suffix(name, ".bz2"))
		archive_read_support_filter_bzip2(a);
}

static int feed_line(line_fn fn, void *ctx, const char *line, size_t len, unsigned lineno,
		     const char *path, struct vg_error *err)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > TEXT_LINE_MAX)
		return vg_error_set(err, -E2BIG, path, lineno, 0, "line longer than %u bytes",
				    TEXT_LINE_MAX);
	return fn(ctx, line, len, lineno, err);
}

/*
 * Reads root + path (decompressed after its name's suffix; at most max bytes of text)
 * and hands each line to fn.  Returns 0, -ENOENT (err not set) when the file is absent,
 * or a negative errno with err set.
 */
static int read_lines(const struct coll_opts *o, const char *path, uint64_t max, line_fn fn,
		      void *ctx, struct vg_error *err)
{
	/* declared first so it is closed last, after libarchive let go of it */
	_cleanup_close_ int fd = -1;
	_cleanup_(archive_freep) struct archive *a = NULL;
	_cleanup_free_ char *block = NULL;
	_cleanup_buf_ struct buf carry = { 0 };
	struct archive_entry *e;
	struct stat st;
	uint64_t total = 0;
	unsigned lineno = 0;
	int r;

	fd = open_file(o, path, &st);
	if (fd == -ENOENT)
		return fd;
	if (fd < 0)
		return read_error(err, fd, path);
	if (st.st_size == 0)
		return 0;
	buf_init(&carry, TEXT_LINE_MAX + 2);
	block = malloc(BLOCK_SIZE);
	a = archive_read_new();
	if (!block || !a)
		return vg_error_set(err, -ENOMEM, path, 0, 0, "out of memory");
	archive_read_support_format_raw(a);
	support_filter(a, path);
	if (archive_read_open_fd(a, fd, BLOCK_SIZE) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK)
		return vg_error_set(err, -EINVAL, path, 0, 0, "cannot decompress: %s",
				    archive_error_string(a) ?: "unknown error");
	for (;;) {
		la_ssize_t n = archive_read_data(a, block, BLOCK_SIZE);
		const char *p = block, *end;

		if (n < 0)
			return vg_error_set(err, -EIO, path, 0, 0, "cannot decompress: %s",
					    archive_error_string(a) ?: "unknown error");
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > max)
			return vg_error_set(err, -EFBIG, path, 0, 0,
					    "more than %llu bytes of text",
					    (unsigned long long)max);
		end = block + n;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *le = nl ? nl : end;

			if (carry.len > 0 || !nl) {
				/* a line across blocks: the part past the cap is dropped, and the
				 * line refused by feed_line when it ends */
				size_t room = carry.max - carry.len;
				size_t take = (size_t)(le - p) < room ? (size_t)(le - p) : room;

				r = buf_append(&carry, p, take);
				if (r < 0)
					return vg_error_set(err, r, path, lineno + 1, 0,
							    "out of memory");
				if (!nl)
					break;
				r = feed_line(fn, ctx, carry.data, carry.len, ++lineno, path, err);
				buf_reset(&carry);
			} else {
				r = feed_line(fn, ctx, p, (size_t)(le - p), ++lineno, path, err);
			}
			if (r < 0)
				return r;
			if (r > 0)
				return 0;
			p = nl + 1;
		}
	}
	if (carry.len > 0) {
		r = feed_line(fn, ctx, carry.data, carry.len, ++lineno, path, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- deb822 stanzas (dpkg status, apt lists, Release, .sources) ---- */

#define D822_FIELDS 8

struct d822 {
	const char *path;
	const char *const *names;	/* the fields kept, NULL-terminated, case-insensitive */
	bool comments;			/* '#' starts a comment line (apt's .sources) */
	/* called at the end of each stanza: 0 to go on, 1 to stop, or a negative errno */
	int (*stanza)(struct d822 *d, struct vg_error *err);
	void *ctx;
	/* the stanza being read */
	struct buf val[D822_FIELDS];
	unsigned line[D822_FIELDS];	/* where each kept field is, 0: absent */
	unsigned first;			/* the stanza's first line, 0: between stanzas */
	int cur;			/* the kept field the next continuation belongs to */
	bool done;
};

static void d822_init(struct d822 *d, const char *path, const char *const *names,
		      int (*stanza)(struct d822 *, struct vg_error *), void *ctx)
{
	memset(d, 0, sizeof(*d));
	d->path = path;
	d->names = names;
	d->stanza = stanza;
	d->ctx = ctx;
	d->cur = -1;
	for (size_t i = 0; i < D822_FIELDS; i++)
		buf_init(&d->val[i], FIELD_MAX);
}

static void d822_release(struct d822 *d)
{
	for (size_t i = 0; i < D822_FIELDS; i++)
		buf_release(&d->val[i]);
}

/* The value of kept field i (continuation lines joined with '\n'), or NULL. */
static const char *d822_get(const struct d822 *d, int i)
{
	return d->line[i] ? buf_str(&d->val[i]) : NULL;
}

static int d822_flush(struct d822 *d, struct vg_error *err)
{
	int r = 0;

	if (d->first && !d->done)
		r = d->stanza(d, err);
	if (r > 0)
		d->done = true;
	for (size_t i = 0; i < D822_FIELDS; i++) {
		d->line[i] = 0;
		buf_reset(&d->val[i]);
	}
	d->first = 0;
	d->cur = -1;
	return r;
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_space(s[i]))
			return false;
	return true;
}

static int d822_line(void *ctx, const char *line, size_t len, unsigned lineno,
		     struct vg_error *err)
{
	struct d822 *d = ctx;
	const char *colon, *v;
	size_t nlen, vlen;
	int r;

	if (blank(line, len))
		return d->first ? d822_flush(d, err) : 0;
	if (d->comments && line[0] == '#')
		return 0;
	if (line[0] == ' ' || line[0] == '\t') {
		if (!d->first)
			return vg_error_set(err, -EINVAL, d->path, lineno, 1,
					    "continuation line outside a stanza");
		if (d->cur < 0)
			return 0;
		v = line;
		vlen = len;
		trim(&v, &vlen);
		if (vlen == 1 && v[0] == '.')
			vlen = 0;
		r = buf_putc(&d->val[d->cur], '\n');
		if (r == 0)
			r = buf_append(&d->val[d->cur], v, vlen);
		if (r < 0)
			return vg_error_set(err, r, d->path, lineno, 0,
					    "field longer than %u bytes", FIELD_MAX);
		return 0;
	}
	colon = memchr(line, ':', len);
	if (!colon || colon == line)
		return vg_error_set(err, -EINVAL, d->path, lineno, 1,
				    "malformed line: expected 'Field: value'");
	nlen = (size_t)(colon - line);
	for (size_t i = 0; i < nlen; i++)
		if (is_space(line[i]) || (unsigned char)line[i] < 0x20)
			return vg_error_set(err, -EINVAL, d->path, lineno, 1,
					    "malformed field name '%.*s'", (int)nlen, line);
	if (!d->first)
		d->first = lineno;
	d->cur = -1;
	for (int i = 0; d->names[i] && i < D822_FIELDS; i++) {
		if (strlen(d->names[i]) != nlen || strncasecmp(d->names[i], line, nlen) != 0)
			continue;
		if (d->line[i])
			return vg_error_set(err, -EINVAL, d->path, lineno, 1,
					    "field '%s' repeated in a stanza", d->names[i]);
		v = colon + 1;
		vlen = len - nlen - 1;
		trim(&v, &vlen);
		d->line[i] = lineno;
		d->cur = i;
		r = buf_append(&d->val[i], v, vlen);
		if (r < 0)
			return vg_error_set(err, r, d->path, lineno, 0,
					    "field longer than %u bytes", FIELD_MAX);
		break;
	}
	return 0;
}

/* Reads root + path as deb822 stanzas.  -ENOENT (err not set) when absent. */
static int d822_read(const struct coll_opts *o, struct d822 *d, uint64_t max,
		     struct vg_error *err)
{
	int r = read_lines(o, d->path, max, d822_line, d, err);

	if (r == 0)
		r = d822_flush(d, err);
	return r < 0 ? r : 0;
}

/* ---- package ---- */

struct pkg {
	char *key;		/* NAME:ARCH (NAME when dpkg gives no architecture) */
	char *version;		/* NULL: none */
	char *status;
	const char *origin;	/* one of the release origins, NULL: none offers it */
	int64_t installed_ns;
	bool installed;
	bool from_list;	/* installed_ns is the file list's mtime */
};

struct release {
	char *prefix;		/* the list file names it covers start with this */
	char *origin;		/* "ORIGIN/SUITE", NULL: the file names neither */
	bool inrelease;
};

struct pkg_ctx {
	const struct coll_opts *o;
	struct pkg *pkgs;
	size_t n, cap;
	struct strmap map;	/* key -> index + 1 */
	struct release *rels;
	size_t n_rels;
	const char *origin;	/* of the list being read */
	const char *log_path;
};

static void pkg_ctx_release(struct pkg_ctx *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->pkgs[i].key);
		free(c->pkgs[i].version);
		free(c->pkgs[i].status);
	}
	free(c->pkgs);
	strmap_release(&c->map, NULL);
	for (size_t i = 0; i < c->n_rels; i++) {
		free(c->rels[i].prefix);
		free(c->rels[i].origin);
	}
	free(c->rels);
}

static struct pkg *pkg_find(struct pkg_ctx *c, const char *key, size_t len)
{
	uintptr_t i = (uintptr_t)strmap_get(&c->map, key, len);

	return i ? &c->pkgs[i - 1] : NULL;
}

/* dpkg's rule for package names: lowercase letters, digits, '+', '-', '.' */
static bool pkg_name_ok(const char *s)
{
	if (!*s || strlen(s) > 256)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '+' &&
		    *s != '-' && *s != '.')
			return false;
	return true;
}

static bool arch_ok(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-')
			return false;
	return true;
}

enum { SF_PACKAGE, SF_ARCH, SF_VERSION, SF_STATUS };
static const char *const status_fields[] = { "Package", "Architecture", "Version", "Status",
					     NULL };

static int status_stanza(struct d822 *d, struct vg_error *err)
{
	struct pkg_ctx *c = d->ctx;
	const char *name = d822_get(d, SF_PACKAGE), *arch = d822_get(d, SF_ARCH);
	const char *version = d822_get(d, SF_VERSION), *status = d822_get(d, SF_STATUS);
	_cleanup_free_ char *key = NULL;
	const char *last;
	struct pkg *p;
	unsigned words = 0;
	int r;

	if (!name)
		return vg_error_set(err, -EINVAL, d->path, d->first, 0,
				    "stanza without a Package field");
	if (!status)
		return vg_error_set(err, -EINVAL, d->path, d->first, 0,
				    "package '%s' has no Status field", name);
	last = status;
	for (const char *s = status; *s;) {
		while (*s && is_space(*s))
			s++;
		if (!*s)
			break;
		last = s;
		words++;
		while (*s && !is_space(*s))
			s++;
	}
	if (words != 3)
		return vg_error_set(err, -EINVAL, d->path, d->line[SF_STATUS], 0,
				    "malformed Status '%s'", status);
	if (strcmp(last, "not-installed") == 0)
		return 0;
	if (!pkg_name_ok(name))
		return vg_error_set(err, -EINVAL, d->path, d->line[SF_PACKAGE], 0,
				    "invalid package name '%s'", name);
	if (arch && !arch_ok(arch))
		return vg_error_set(err, -EINVAL, d->path, d->line[SF_ARCH], 0,
				    "invalid architecture '%s'", arch);
	if (version && (!*version || strpbrk(version, " \t\n")))
		return vg_error_set(err, -EINVAL, d->path, d->line[SF_VERSION], 0,
				    "invalid version '%s'", version);
	if (c->n >= PACKAGES_MAX)
		return vg_error_set(err, -E2BIG, d->path, d->first, 0, "more than %u packages",
				    PACKAGES_MAX);
	if (asprintf(&key, "%s%s%s", name, arch ? ":" : "", arch ? arch : "") < 0) {
		key = NULL;
		return vg_error_set(err, -ENOMEM, d->path, d->first, 0, "out of memory");
	}
	if (pkg_find(c, key, strlen(key)))
		return vg_error_set(err, -EEXIST, d->path, d->first, 0,
				    "package '%s' listed twice", key);
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct pkg *nv = realloc(c->pkgs, cap * sizeof(*nv));

		if (!nv)
			return vg_error_set(err, -ENOMEM, d->path, d->first, 0, "out of memory");
		c->pkgs = nv;
		c->cap = cap;
	}
	p = &c->pkgs[c->n];
	memset(p, 0, sizeof(*p));
	p->version = version ? strdup(version) : NULL;
	p->status = strdup(status);
	if ((version && !p->version) || !p->status) {
		free(p->version);
		free(p->status);
		return vg_error_set(err, -ENOMEM, d->path, d->first, 0, "out of memory");
	}
	p->key = TAKE_PTR(key);
	c->n++;
	r = strmap_put(&c->map, p->key, strlen(p->key), (void *)(uintptr_t)c->n, NULL);
	if (r < 0)
		return vg_error_set(err, r, d->path, d->first, 0, "out of memory");
	return 0;
}

/* -- which archive offers each version -- */

enum { RF_ORIGIN, RF_LABEL, RF_SUITE, RF_CODENAME };
static const char *const release_fields[] = { "Origin", "Label", "Suite", "Codename", NULL };

struct release_reader {
	struct d822 d;
	int state;	/* 0: first line, 1: in the armor headers of an InRelease, 2: text */
	char *origin;
};

/* The first stanza describes the archive; the rest (if any) is not read. */
static int release_stanza(struct d822 *d, struct vg_error *err)
{
	struct release_reader *rr = d->ctx;
	const char *org = d822_get(d, RF_ORIGIN) ?: d822_get(d, RF_LABEL);
	/* the codename: the suite ("stable") moves at every Debian release, which would
	 * change the origin of every package by itself */
	const char *suite = d822_get(d, RF_CODENAME) ?: d822_get(d, RF_SUITE);

	if ((!org || !*org) && (!suite || !*suite))
		return 1;
	if (asprintf(&rr->origin, "%s/%s", org ?: "", suite ?: "") < 0) {
		rr->origin = NULL;
		return vg_error_set(err, -ENOMEM, d->path, d->first, 0, "out of memory");
	}
	return 1;
}

static int release_line(void *ctx, const char *line, size_t len, unsigned lineno,
			struct vg_error *err)
{
	static const char signed_msg[] = "-----BEGIN PGP SIGNED MESSAGE-----";
	static const char signature[] = "-----BEGIN PGP SIGNATURE-----";
	struct release_reader *rr = ctx;

	if (rr->state == 0) {
		rr->state = 2;
		if (len == sizeof(signed_msg) - 1 && memcmp(line, signed_msg, len) == 0) {
			rr->state = 1;
			return 0;
		}
	}
	if (rr->state == 1) {
		if (len == 0)
			rr->state = 2;
		return 0;
	}
	if (len >= sizeof(signature) - 1 && memcmp(line, signature, sizeof(signature) - 1) == 0) {
		int r = d822_flush(&rr->d, err);

		return r < 0 ? r : 1;
	}
	return d822_line(&rr->d, line, len, lineno, err);
}

/*
 * The "ORIGIN/SUITE" of a Release or InRelease file (*ret NULL when it names neither).
 * The signature of an InRelease is not checked here: apt checked it when it fetched the
 * file, and the origin is a description, not a proof.
 */
static int release_origin(const struct coll_opts *o, const char *path, char **ret,
			  struct vg_error *err)
{
	struct release_reader rr = { .state = 0 };
	int r;

	d822_init(&rr.d, path, release_fields, release_stanza, &rr);
	r = read_lines(o, path, RELEASE_MAX, release_line, &rr, err);
	if (r == 0)
		r = d822_flush(&rr.d, err);
	d822_release(&rr.d);
	if (r < 0) {
		free(rr.origin);
		return r;
	}
	*ret = rr.origin;
	return 0;
}

enum { LF_PACKAGE, LF_ARCH, LF_VERSION };
static const char *const list_fields[] = { "Package", "Architecture", "Version", NULL };

static int list_stanza(struct d822 *d, struct vg_error *err)
{
	struct pkg_ctx *c = d->ctx;
	const char *name = d822_get(d, LF_PACKAGE), *arch = d822_get(d, LF_ARCH);
	const char *version = d822_get(d, LF_VERSION);
	char key[400];
	struct pkg *p;
	int k;

	if (!name || !arch || !version)
		return 0;
	k = snprintf(key, sizeof(key), "%s:%s", name, arch);
	if (k < 0 || (size_t)k >= sizeof(key))
		return 0;
	p = pkg_find(c, key, (size_t)k);
	if (!p || !p->version || strcmp(p->version, version) != 0)
		return 0;
	if (!p->origin || strcmp(c->origin, p->origin) < 0)
		p->origin = c->origin;
	return 0;
}

static bool release_name(const char *n)
{
	return has_suffix(n, "_InRelease") || has_suffix(n, "_Release");
}

/* "..._Packages", plain or compressed */
static bool packages_name(const char *n)
{
	static const char *const sfx[] = { "_Packages",	    "_Packages.gz",  "_Packages.lz4",
					   "_Packages.xz",  "_Packages.zst", "_Packages.bz2" };

	for (size_t i = 0; i < ARRAY_SIZE(sfx); i++)
		if (has_suffix(n, sfx[i]))
			return true;
	return false;
}

/* apt escapes what URIs put in these names (%3a for a port...), so any name may occur */
static bool list_name(const char *n)
{
	return n[0] != '.' && (release_name(n) || packages_name(n));
}

/* The release whose file name is the longest prefix of a list's name; InRelease first. */
static const struct release *release_for(const struct pkg_ctx *c, const char *name)
{
	const struct release *best = NULL;

	for (size_t i = 0; i < c->n_rels; i++) {
		const struct release *r = &c->rels[i];
		size_t n = strlen(r->prefix);

		if (strncmp(name, r->prefix, n) != 0)
			continue;
		if (!best || n > strlen(best->prefix) ||
		    (n == strlen(best->prefix) && r->inrelease && !best->inrelease))
			best = r;
	}
	return best;
}

static int find_origins(struct pkg_ctx *c, struct vg_error *err)
{
	struct coll_strv names = { 0 };
	char path[PATH_MAX];
	int r;

	r = list_dir(c->o, lists_dir, list_name, &names, err);
	if (r < 0)
		goto out;
	c->rels = calloc(names.n ? names.n : 1, sizeof(*c->rels));
	if (!c->rels) {
		r = vg_error_set(err, -ENOMEM, lists_dir, 0, 0, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < names.n; i++) {
		struct release *rel = &c->rels[c->n_rels];
		const char *n = names.v[i];
		bool in = has_suffix(n, "_InRelease");
		size_t plen = strlen(n) - (in ? strlen("InRelease") : strlen("Release"));

		if (!release_name(n))
			continue;
		snprintf(path, sizeof(path), "%s/%s", lists_dir, n);
		r = release_origin(c->o, path, &rel->origin, err);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			goto out;
		rel->prefix = strndup(n, plen);
		if (!rel->prefix) {
			free(rel->origin);
			r = vg_error_set(err, -ENOMEM, lists_dir, 0, 0, "out of memory");
			goto out;
		}
		rel->inrelease = in;
		c->n_rels++;
	}
	for (size_t i = 0; i < names.n; i++) {
		const struct release *rel;
		struct d822 d;

		if (!packages_name(names.v[i]))
			continue;
		rel = release_for(c, names.v[i]);
		if (!rel || !rel->origin)
			continue;	/* a list nobody vouches for names no archive */
		snprintf(path, sizeof(path), "%s/%s", lists_dir, names.v[i]);
		c->origin = rel->origin;
		d822_init(&d, path, list_fields, list_stanza, c);
		r = d822_read(c->o, &d, LIST_MAX, err);
		d822_release(&d);
		if (r == -ENOENT)
			r = 0;
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	coll_strv_release(&names);
	return r;
}

/* -- when each was installed -- */

static bool log_name(const char *n)
{
	const char *p;

	if (strncmp(n, "dpkg.log", 8) != 0)
		return false;
	p = n + 8;
	if (!*p)
		return true;
	if (*p++ != '.' || !isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	return !*p || strcmp(p, ".gz") == 0;
}

/* "YYYY-MM-DD HH:MM:SS status installed NAME:ARCH VERSION" */
static int log_line(void *ctx, const char *line, size_t len, unsigned lineno,
		    struct vg_error *err)
{
	static const char mid[] = " status installed ";
	const size_t ml = sizeof(mid) - 1;
	struct pkg_ctx *c = ctx;
	const char *name, *sp, *ver, *end = line + len;
	char stamp[24];
	struct pkg *p;
	int64_t ns;

	if (len < 19 + ml + 3 || memcmp(line + 19, mid, ml) != 0)
		return 0;
	name = line + 19 + ml;
	sp = memchr(name, ' ', (size_t)(end - name));
	if (!sp || sp == name)
		return 0;
	ver = sp + 1;
	if (ver >= end || memchr(ver, ' ', (size_t)(end - ver)))
		return 0;
	p = pkg_find(c, name, (size_t)(sp - name));
	if (!p || !p->version || strlen(p->version) != (size_t)(end - ver) ||
	    memcmp(p->version, ver, (size_t)(end - ver)) != 0)
		return 0;
	/* dpkg writes its local time without a zone; it is read as UTC, which keeps the
	 * same log giving the same time whatever the zone of the reader */
	snprintf(stamp, sizeof(stamp), "%.19sZ", line);
	if (time_parse_rfc3339(stamp, &ns) < 0)
		return 0;
	if (p->from_list)
		return 0;
	if (!p->installed || ns > p->installed_ns) {
		p->installed = true;
		p->installed_ns = ns;
	}
	return 0;
}

static int find_install_times(struct pkg_ctx *c, struct vg_error *err)
{
	struct coll_strv names = { 0 };
	char path[PATH_MAX];
	int r;

	/* the time dpkg wrote the package's file list, first: it does not change when old
	 * logs are rotated away (then dpkg.log would give way to it, a change by itself) */
	for (size_t i = 0; i < c->n; i++) {
		struct pkg *p = &c->pkgs[i];
		const char *colon = strchr(p->key, ':');
		int nl = colon ? (int)(colon - p->key) : (int)strlen(p->key);

		if (p->installed)
			continue;
		for (int pass = colon ? 0 : 1; pass < 2; pass++) {
			char full[PATH_MAX];
			struct stat st;

			if (pass == 0)
				snprintf(path, sizeof(path), "%s/%s.list", info_dir, p->key);
			else
				snprintf(path, sizeof(path), "%s/%.*s.list", info_dir, nl, p->key);
			r = coll_path(c->o, path, full, sizeof(full));
			if (r < 0)
				return vg_error_set(err, r, path, 0, 0, "path too long");
			if (lstat(full, &st) < 0) {
				r = neg_errno();
				if (r == -ENOENT)
					continue;
				return vg_error_set(err, r, path, 0, 0, "cannot stat: %s",
						    strerror(-r));
			}
			if (!S_ISREG(st.st_mode))
				continue;
			p->installed = true;
			p->from_list = true;
			p->installed_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
					  st.st_mtim.tv_nsec;
			break;
		}
	}
	/* packages without a file list (only their configuration files left): dpkg.log */
	r = list_dir(c->o, log_dir, log_name, &names, err);
	for (size_t i = 0; r == 0 && i < names.n; i++) {
		snprintf(path, sizeof(path), "%s/%s", log_dir, names.v[i]);
		r = read_lines(c->o, path, LOG_MAX, log_line, c, err);
		if (r == -ENOENT)
			r = 0;
	}
	coll_strv_release(&names);
	if (r < 0)
		return r;
	return 0;
}

static int pkg_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pkg *)a)->key, ((const struct pkg *)b)->key);
}

static int pkg_emit(const struct pkg *p, struct coll_set *out, struct vg_error *err)
{
	_cleanup_buf_ struct buf b = { 0 };
	struct json_writer w;
	char t[RFC3339_MAX];
	int r;

	buf_init(&b, COLL_STATE_MAX);
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "version");
	if (p->version)
		jw_str_bytes(&w, p->version, strlen(p->version));
	else
		jw_null(&w);
	jw_key(&w, "status");
	jw_str_bytes(&w, p->status, strlen(p->status));
	jw_key(&w, "origin");
	if (p->origin)
		jw_str_bytes(&w, p->origin, strlen(p->origin));
	else
		jw_null(&w);
	jw_key(&w, "installed");
	if (p->installed && time_format_rfc3339(p->installed_ns, t, sizeof(t)) == 0)
		jw_str(&w, t);
	else
		jw_null(&w);
	jw_obj_close(&w);
	r = w.err ? w.err : coll_set_add(out, p->key, buf_str(&b), NULL);
	if (r < 0)
		return vg_error_set(err, r, status_path, 0, 0, "cannot add package '%s': %s",
				    p->key, strerror(-r));
	return 0;
}

int coll_package_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	struct pkg_ctx c = { .o = o };
	struct d822 d;
	int r;

	d822_init(&d, status_path, status_fields, status_stanza, &c);
	r = d822_read(o, &d, STATUS_MAX, err);
	d822_release(&d);
	if (r == -ENOENT)
		r = 0;	/* not a dpkg system: no packages */
	if (r < 0 || c.n == 0)
		goto out;
	r = find_origins(&c, err);
	if (r < 0)
		goto out;
	r = find_install_times(&c, err);
	if (r < 0)
		goto out;
	/* the map holds indices, so it is dropped before the sort moves them */
	strmap_release(&c.map, NULL);
	memset(&c.map, 0, sizeof(c.map));
	qsort(c.pkgs, c.n, sizeof(*c.pkgs), pkg_cmp);
	for (size_t i = 0; i < c.n && r == 0; i++)
		r = pkg_emit(&c.pkgs[i], out, err);
out:
	pkg_ctx_release(&c);
	return r;
}

/* ---- repo: keyrings ---- */

#define FPR_MAX 65	/* 64 hex digits (v5, v6) and a NUL */

struct key_ent {
	char fpr[FPR_MAX];
	char primary[FPR_MAX];	/* the key's primary key (itself for a primary key) */
};

struct keyset {
	struct key_ent *v;
	size_t n, cap;
};

static void keyset_release(struct keyset *ks)
{
	free(ks->v);
	memset(ks, 0, sizeof(*ks));
}

static int keyset_add(struct keyset *ks, const char *fpr, const char *primary)
{
	struct key_ent *e;

	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 16;
		struct key_ent *nv = realloc(ks->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		ks->v = nv;
		ks->cap = cap;
	}
	e = &ks->v[ks->n++];
	snprintf(e->fpr, sizeof(e->fpr), "%s", fpr);
	snprintf(e->primary, sizeof(e->primary), "%s", primary);
	return 0;
}

/*
 * The fingerprint of a key packet body (RFC 4880 12.2, RFC 9580 5.5.4): v4 is SHA-1 over
 * 0x99, a 2-byte length and the body; v5 and v6 are SHA-256 over 0x9a or 0x9b, a 4-byte
 * length and the body.  Returns 0, 1 for a key to leave out (v2, v3), or -EINVAL.
 */
static int key_fingerprint(const uint8_t *body, size_t len, char out[FPR_MAX])
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t pre[5], md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0, pl;
	const EVP_MD *alg;
	EVP_MD_CTX *ctx;
	int ok;

	if (len < 1)
		return -EINVAL;
	if (body[0] == 2 || body[0] == 3)
		return 1;	/* obsolete; gpg ignores these keys, so apt does too */
	if (body[0] == 4) {
		if (len < 6 || len > 0xffff)
			return -EINVAL;
		pre[0] = 0x99;
		pre[1] = (uint8_t)(len >> 8);
		pre[2] = (uint8_t)len;
		pl = 3;
		alg = EVP_sha1();
	} else if (body[0] == 5 || body[0] == 6) {
		if (len < 10 || len > 0xffffffffu)
			return -EINVAL;
		pre[0] = body[0] == 5 ? 0x9a : 0x9b;
		pre[1] = (uint8_t)(len >> 24);
		pre[2] = (uint8_t)(len >> 16);
		pre[3] = (uint8_t)(len >> 8);
		pre[4] = (uint8_t)len;
		pl = 5;
		alg = EVP_sha256();
	} else {
		return -EINVAL;
	}
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, alg, NULL) && EVP_DigestUpdate(ctx, pre, pl) &&
	     EVP_DigestUpdate(ctx, body, len) && EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (!ok || mdlen * 2 >= FPR_MAX)
		return -EIO;
	for (unsigned i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * mdlen] = '\0';
	return 0;
}

/*
 * Walks binary OpenPGP packets (RFC 4880 4.2, both header formats) and records every
 * public key and subkey.  Signatures, user IDs and the rest are skipped; a secret key
 * has no place in a keyring apt trusts and is refused.
 */
static int packets_walk(const uint8_t *p, size_t n, const char *file, unsigned line,
			struct keyset *ks, struct vg_error *err)
{
	char primary[FPR_MAX] = "";
	bool skipping = false;
	size_t off = 0;

	while (off < n) {
		size_t start = off, len;
		uint8_t b = p[off++];
		unsigned tag;

		if (!(b & 0x80))
			return vg_error_set(err, -EINVAL, file, line, 0,
					    "not an OpenPGP packet at byte %zu", start);
		if (b & 0x40) {
			uint8_t l;

			tag = b & 0x3f;
			if (off >= n)
				goto truncated;
			l = p[off++];
			if (l < 192) {
				len = l;
			} else if (l < 224) {
				if (off >= n)
					goto truncated;
				len = ((size_t)(l - 192) << 8) + p[off++] + 192;
			} else if (l == 255) {
				if (n - off < 4)
					goto truncated;
				len = (size_t)p[off] << 24 | (size_t)p[off + 1] << 16 |
				      (size_t)p[off + 2] << 8 | p[off + 3];
				off += 4;
			} else {
				return vg_error_set(err, -EINVAL, file, line, 0,
						    "partial-length packet at byte %zu", start);
			}
		} else {
			unsigned lt = b & 3;

			tag = (b >> 2) & 0xf;
			if (lt == 3)
				return vg_error_set(err, -EINVAL, file, line, 0,
						    "packet of indeterminate length at byte %zu",
						    start);
			lt = lt == 2 ? 4 : lt + 1;
			if (n - off < lt)
				goto truncated;
			len = 0;
			for (unsigned i = 0; i < lt; i++)
				len = len << 8 | p[off++];
		}
		if (len > n - off)
			goto truncated;
		if (tag == 5 || tag == 7)
			return vg_error_set(err, -EINVAL, file, line, 0,
					    "secret key packet at byte %zu in a keyring", start);
		if (tag == 6 || tag == 14) {
			char fpr[FPR_MAX];
			int r = key_fingerprint(p + off, len, fpr);

			if (r < 0 && r != -EINVAL)
				return vg_error_set(err, r, file, line, 0, "cannot hash a key");
			if (r < 0)
				return vg_error_set(err, r, file, line, 0,
						    "unsupported key packet at byte %zu", start);
			if (tag == 6) {
				skipping = r > 0;
				snprintf(primary, sizeof(primary), "%s", r > 0 ? "" : fpr);
			} else if (!primary[0] && !skipping) {
				return vg_error_set(err, -EINVAL, file, line, 0,
						    "subkey before any primary key at byte %zu",
						    start);
			}
			if (r == 0 && !skipping) {
				if (ks->n >= KEYS_MAX)
					return vg_error_set(err, -E2BIG, file, line, 0,
							    "more than %u keys", KEYS_MAX);
				if (keyset_add(ks, fpr, tag == 6 ? fpr : primary) < 0)
					return vg_error_set(err, -ENOMEM, file, line, 0,
							    "out of memory");
			}
		}
		off += len;
	}
	return 0;
truncated:
	return vg_error_set(err, -EINVAL, file, line, 0, "truncated packet at byte %zu", off);
}

/* The CRC-24 of the armor checksum line (RFC 4880 6.1). */
static uint32_t crc24(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xb704ce;

	for (size_t i = 0; i < n; i++) {
		crc ^= (uint32_t)p[i] << 16;
		for (int k = 0; k < 8; k++) {
			crc <<= 1;
			if (crc & 0x1000000)
				crc ^= 0x1864cfb;
		}
	}
	return crc & 0xffffff;
}

static bool b64_char(char c)
{
	return isalnum((unsigned char)c) || c == '+' || c == '/' || c == '=';
}

static int armor_block(const struct buf *b64, const char *crc, size_t crc_len, const char *file,
		       unsigned line, struct keyset *ks, struct vg_error *err)
{
	_cleanup_free_ uint8_t *bin = NULL;
	uint8_t sum[3];
	int n, r;

	bin = malloc(b64->len / 4 * 3 + 3);
	if (!bin)
		return vg_error_set(err, -ENOMEM, file, line, 0, "out of memory");
	n = b64->len % 4 ? -EINVAL : base64_decode(buf_str(b64), b64->len, bin, b64->len / 4 * 3);
	if (n < 0)
		return vg_error_set(err, -EINVAL, file, line, 0, "malformed base64 in armor");
	if (crc_len > 0) {
		uint32_t c = crc24(bin, (size_t)n);

		if (crc_len != 4 || base64_decode(crc, 4, sum, sizeof(sum)) != 3)
			return vg_error_set(err, -EINVAL, file, line, 0,
					    "malformed armor checksum");
		if (((uint32_t)sum[0] << 16 | (uint32_t)sum[1] << 8 | sum[2]) != c)
			return vg_error_set(err, -EINVAL, file, line, 0, "armor checksum mismatch");
	}
	r = packets_walk(bin, (size_t)n, file, line, ks, err);
	return r;
}

/*
 * ASCII armor (RFC 4880 6.2): every public key block of the text is decoded and walked.
 * base_line is the line errors name (an inline Signed-By), or 0 for the block's own.
 */
static int armor_walk(const char *t, size_t n, const char *file, unsigned base_line,
		      struct keyset *ks, struct vg_error *err)
{
	static const char begin[] = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
	static const char end[] = "-----END PGP PUBLIC KEY BLOCK-----";
	_cleanup_buf_ struct buf b64 = { 0 };
	const char *crc = NULL;
	size_t pos = 0, crc_len = 0;
	unsigned lineno = 0, block_line = 0, blocks = 0;
	int state = 0;	/* 0: outside, 1: armor headers, 2: base64, 3: after the checksum */
	int r;

	buf_init(&b64, n + 1);
	while (pos < n) {
		const char *l = t + pos, *nl = memchr(l, '\n', n - pos);
		size_t len = nl ? (size_t)(nl - l) : n - pos;
		unsigned at;

		pos += len + (nl ? 1 : 0);
		lineno++;
		trim(&l, &len);
		at = base_line ? base_line : lineno;
		if (state == 0) {
			if (len == sizeof(begin) - 1 && memcmp(l, begin, len) == 0) {
				state = 1;
				block_line = lineno;
				buf_reset(&b64);
				crc_len = 0;
			}
			continue;
		}
		if (len == sizeof(end) - 1 && memcmp(l, end, len) == 0) {
			if (state == 1)
				return vg_error_set(err, -EINVAL, file, at, 0, "empty armor block");
			r = armor_block(&b64, crc, crc_len, file,
					base_line ? base_line : block_line, ks, err);
			if (r < 0)
				return r;
			blocks++;
			state = 0;
			continue;
		}
		if (state == 1) {
			if (len == 0 || memchr(l, ':', len))
				continue;	/* the armor headers and the line ending them */
			state = 2;
		}
		if (state == 3)
			return vg_error_set(err, -EINVAL, file, at, 0,
					    "text after the armor checksum");
		if (len > 0 && l[0] == '=') {
			crc = l + 1;
			crc_len = len - 1;
			state = 3;
			continue;
		}
		for (size_t i = 0; i < len; i++)
			if (!b64_char(l[i]))
				return vg_error_set(err, -EINVAL, file, at, 0,
						    "invalid character in armor");
		r = buf_append(&b64, l, len);
		if (r < 0)
			return vg_error_set(err, r, file, at, 0, "out of memory");
	}
	if (state != 0)
		return vg_error_set(err, -EINVAL, file, base_line ? base_line : block_line, 0,
				    "armored key block not terminated");
	if (blocks == 0)
		return vg_error_set(err, -EINVAL, file, base_line, 0,
				    "no OpenPGP public key block");
	return 0;
}

/* A keyring: binary packets (.gpg) or armored text (.asc); the content decides. */
static int keyring_parse(const uint8_t *p, size_t n, const char *file, unsigned line,
			 struct keyset *ks, struct vg_error *err)
{
	if (n == 0)
		return 0;
	if (p[0] & 0x80)
		return packets_walk(p, n, file, line, ks, err);
	if (n >= 12 && memcmp(p + 8, "KBXf", 4) == 0)
		return vg_error_set(err, -EINVAL, file, line, 0,
				    "a GnuPG keybox, not a keyring apt can use");
	return armor_walk((const char *)p, n, file, line, ks, err);
}

/* ---- repo: sources ---- */

struct keyring {
	char *path;
	struct keyset keys;
};

struct repo {
	char *key;		/* "TYPE URI SUITE", escaped */
	char *type, *uri, *suite, *file;
	struct coll_strv comps, fprs;
	bool trusted;		/* trusted=yes: apt checks no signature at all */
};

struct repo_ctx {
	const struct coll_opts *o;
	struct repo *repos;
	size_t n, cap;
	struct keyring *rings;	/* every keyring read, so shared ones are read once */
	size_t n_rings, cap_rings;
	struct keyset defaults;	/* apt's trusted.gpg and trusted.gpg.d */
	bool have_defaults;
	const char *file;	/* the sources file being read */
};

static void repo_free_contents(struct repo *p)
{
	free(p->key);
	free(p->type);
	free(p->uri);
	free(p->suite);
	free(p->file);
	coll_strv_release(&p->comps);
	coll_strv_release(&p->fprs);
}

static void repo_ctx_release(struct repo_ctx *c)
{
	for (size_t i = 0; i < c->n; i++)
		repo_free_contents(&c->repos[i]);
	free(c->repos);
	for (size_t i = 0; i < c->n_rings; i++) {
		free(c->rings[i].path);
		keyset_release(&c->rings[i].keys);
	}
	free(c->rings);
	keyset_release(&c->defaults);
}

/* The keys of a keyring file (cached).  A missing file holds no keys. */
static int keyring_get(struct repo_ctx *c, const char *path, const struct keyset **ret,
		       struct vg_error *err)
{
	_cleanup_buf_ struct buf data = { 0 };
	struct keyring *k;
	int r;

	for (size_t i = 0; i < c->n_rings; i++)
		if (strcmp(c->rings[i].path, path) == 0) {
			*ret = &c->rings[i].keys;
			return 0;
		}
	if (c->n_rings == c->cap_rings) {
		size_t cap = c->cap_rings ? c->cap_rings * 2 : 8;
		struct keyring *nv = realloc(c->rings, cap * sizeof(*nv));

		if (!nv)
			return vg_error_set(err, -ENOMEM, path, 0, 0, "out of memory");
		c->rings = nv;
		c->cap_rings = cap;
	}
	k = &c->rings[c->n_rings];
	memset(k, 0, sizeof(*k));
	r = read_file(c->o, path, KEYRING_MAX, &data);
	if (r < 0 && r != -ENOENT)
		return read_error(err, r, path);
	if (r == 0) {
		r = keyring_parse((const uint8_t *)buf_str(&data), data.len, path, 0, &k->keys,
				  err);
		if (r < 0) {
			keyset_release(&k->keys);
			return r;
		}
	}
	k->path = strdup(path);
	if (!k->path) {
		keyset_release(&k->keys);
		return vg_error_set(err, -ENOMEM, path, 0, 0, "out of memory");
	}
	c->n_rings++;
	*ret = &k->keys;
	return 0;
}

static bool trusted_name(const char *n)
{
	return apt_name_ok(n) && (has_suffix(n, ".gpg") || has_suffix(n, ".asc"));
}

static int keyset_append(struct keyset *dst, const struct keyset *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (keyset_add(dst, src->v[i].fpr, src->v[i].primary) < 0)
			return -ENOMEM;
	return 0;
}

/* The keys apt trusts for an entry without Signed-By. */
static int default_keys(struct repo_ctx *c, const struct keyset **ret, struct vg_error *err)
{
	struct coll_strv names = { 0 };
	const struct keyset *ks;
	char path[PATH_MAX];
	int r;

	if (c->have_defaults) {
		*ret = &c->defaults;
		return 0;
	}
	r = keyring_get(c, trusted_gpg, &ks, err);
	if (r == 0 && keyset_append(&c->defaults, ks) < 0)
		r = vg_error_set(err, -ENOMEM, trusted_gpg, 0, 0, "out of memory");
	if (r == 0)
		r = list_dir(c->o, trusted_dir, trusted_name, &names, err);
	for (size_t i = 0; r == 0 && i < names.n; i++) {
		snprintf(path, sizeof(path), "%s/%s", trusted_dir, names.v[i]);
		r = keyring_get(c, path, &ks, err);
		if (r == 0 && keyset_append(&c->defaults, ks) < 0)
			r = vg_error_set(err, -ENOMEM, path, 0, 0, "out of memory");
	}
	coll_strv_release(&names);
	if (r < 0)
		return r;
	c->have_defaults = true;
	*ret = &c->defaults;
	return 0;
}

static bool is_fpr(const char *s, size_t len)
{
	if (len > 0 && s[len - 1] == '!')
		len--;
	if (len != 40 && len != 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * The primary fingerprints an entry trusts, after its Signed-By (NULL: none): keyring
 * paths (none: apt's defaults) and fingerprints selecting keys from them (none: every
 * key), or an inline armored key block.  A fingerprint naming a subkey selects its
 * primary key.
 */
static int signed_by_keys(struct repo_ctx *c, const char *value, unsigned line,
			  struct coll_strv *out, struct vg_error *err)
{
	struct coll_strv words = { 0 }, fprs = { 0 };
	struct keyset own = { 0 };
	const struct keyset *ks = NULL;
	bool paths = false;
	int r = 0;

	if (value && strstr(value, "-----BEGIN PGP PUBLIC KEY BLOCK-----")) {
		r = armor_walk(value, strlen(value), c->file, line, &own, err);
		ks = &own;
		goto select;
	}
	if (value && split_words(value, strlen(value), true, &words) < 0) {
		r = vg_error_set(err, -ENOMEM, c->file, line, 0, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < words.n; i++) {
		const char *w = words.v[i];
		size_t wl = strlen(w);

		if (w[0] == '/') {
			r = keyring_get(c, w, &ks, err);
			if (r == 0 && keyset_append(&own, ks) < 0)
				r = vg_error_set(err, -ENOMEM, c->file, line, 0, "out of memory");
			if (r < 0)
				goto out;
			paths = true;
		} else if (is_fpr(w, wl)) {
			if (w[wl - 1] == '!')
				wl--;
			r = coll_strv_push(&fprs, w, wl);
			if (r < 0) {
				r = vg_error_set(err, r, c->file, line, 0, "out of memory");
				goto out;
			}
			for (size_t k = 0; k < wl; k++)
				fprs.v[fprs.n - 1][k] = (char)toupper((unsigned char)w[k]);
		} else {
			r = vg_error_set(err, -EINVAL, c->file, line, 0,
					 "Signed-By names neither an absolute path nor a "
					 "fingerprint: '%s'",
					 w);
			goto out;
		}
	}
	if (paths) {
		ks = &own;
	} else {
		r = default_keys(c, &ks, err);
		if (r < 0)
			goto out;
	}
select:
	if (r < 0)
		goto out;
	for (size_t i = 0; i < ks->n; i++) {
		const struct key_ent *e = &ks->v[i];
		bool want = false;

		if (fprs.n == 0)
			want = strcmp(e->fpr, e->primary) == 0;
		for (size_t k = 0; k < fprs.n && !want; k++)
			want = strcmp(fprs.v[k], e->fpr) == 0;
		if (want && coll_strv_push(out, e->primary, strlen(e->primary)) < 0) {
			r = vg_error_set(err, -ENOMEM, c->file, line, 0, "out of memory");
			goto out;
		}
	}
	strv_sort_uniq(out);
	r = 0;
out:
	coll_strv_release(&words);
	coll_strv_release(&fprs);
	keyset_release(&own);
	return r;
}

/* The URI without a password ("http://user:secret@host/" keeps "http://user@host/"). */
static int uri_clean(const char *uri, struct buf *out)
{
	const char *s = strstr(uri, "://"), *host, *slash, *at, *colon;

	if (!s)
		return escape_bytes(out, uri, strlen(uri));
	host = s + 3;
	slash = strchr(host, '/');
	if (!slash)
		slash = host + strlen(host);
	at = memrchr(host, '@', (size_t)(slash - host));
	colon = at ? memchr(host, ':', (size_t)(at - host)) : NULL;
	if (!colon)
		return escape_bytes(out, uri, strlen(uri));
	return escape_bytes(out, uri, (size_t)(colon - uri)) ?: escape_bytes(out, at, strlen(at));
}

static bool type_ok(const char *t)
{
	return strcmp(t, "deb") == 0 || strcmp(t, "deb-src") == 0;
}

/* Adds one entry, or merges it into an earlier one with the same key. */
static int repo_add(struct repo_ctx *c, const char *type, const char *uri, const char *suite,
		    const struct coll_strv *comps, const struct coll_strv *fprs, bool trusted, unsigned line,
		    struct vg_error *err)
{
	_cleanup_buf_ struct buf u = { 0 }, s = { 0 }, key = { 0 };
	struct repo *p = NULL;
	int r;

	buf_init(&u, 16384);
	buf_init(&s, 16384);
	buf_init(&key, 40000);
	r = uri_clean(uri, &u);
	if (r == 0)
		r = escape_bytes(&s, suite, strlen(suite));
	if (r == 0)
		r = buf_printf(&key, "%s %s %s", type, buf_str(&u), buf_str(&s));
	if (r < 0)
		return vg_error_set(err, r, c->file, line, 0, "URI or suite too long");
	for (size_t i = 0; i < c->n && !p; i++)
		if (strcmp(c->repos[i].key, buf_str(&key)) == 0)
			p = &c->repos[i];
	if (p)
		p->trusted |= trusted;
	if (!p) {
		if (c->n >= REPOS_MAX)
			return vg_error_set(err, -E2BIG, c->file, line, 0, "more than %u entries",
					    REPOS_MAX);
		if (c->n == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 16;
			struct repo *nv = realloc(c->repos, cap * sizeof(*nv));

			if (!nv)
				return vg_error_set(err, -ENOMEM, c->file, line, 0,
						    "out of memory");
			c->repos = nv;
			c->cap = cap;
		}
		p = &c->repos[c->n];
		memset(p, 0, sizeof(*p));
		p->trusted = trusted;
		p->type = strdup(type);
		p->file = strdup(c->file);
		r = buf_detach(&key, &p->key, NULL);
		if (r == 0)
			r = buf_detach(&u, &p->uri, NULL);
		if (r == 0)
			r = buf_detach(&s, &p->suite, NULL);
		if (r < 0 || !p->type || !p->file) {
			repo_free_contents(p);
			return vg_error_set(err, -ENOMEM, c->file, line, 0, "out of memory");
		}
		c->n++;
	}
	for (size_t i = 0; i < comps->n; i++)
		if (coll_strv_push(&p->comps, comps->v[i], strlen(comps->v[i])) < 0)
			return vg_error_set(err, -ENOMEM, c->file, line, 0, "out of memory");
	for (size_t i = 0; i < fprs->n; i++)
		if (coll_strv_push(&p->fprs, fprs->v[i], strlen(fprs->v[i])) < 0)
			return vg_error_set(err, -ENOMEM, c->file, line, 0, "out of memory");
	strv_sort_uniq(&p->comps);
	strv_sort_uniq(&p->fprs);
	return 0;
}

/* -- one-line format: "deb [ options ] URI SUITE [COMPONENT...]" -- */

static int oneline_line(void *ctx, const char *line, size_t len, unsigned lineno,
			struct vg_error *err)
{
	struct repo_ctx *c = ctx;
	_cleanup_free_ char *s = strndup(line, len), *signed_by = NULL;
	struct coll_strv words = { 0 }, comps = { 0 }, fprs = { 0 };
	char *p, *hash, *close_br;
	size_t w0;
	bool trusted = false;
	int r = 0;

	if (!s)
		return vg_error_set(err, -ENOMEM, c->file, lineno, 0, "out of memory");
	/* a comment runs from '#' to the end of the line, except inside the option list */
	for (hash = s; *hash && *hash != '#'; hash++)
		if (*hash == '[' && strchr(hash, ']'))
			hash = strchr(hash, ']');
	*hash = '\0';
	if (blank(s, strlen(s)))
		return 0;
	p = s;
	while (is_space(*p))
		p++;
	w0 = strcspn(p, " \t[");
	if (coll_strv_push(&words, p, w0) < 0)
		goto oom;
	p += w0;
	while (is_space(*p))
		p++;
	if (*p == '[') {
		struct coll_strv opts = { 0 };

		close_br = strchr(p, ']');
		if (!close_br) {
			r = vg_error_set(err, -EINVAL, c->file, lineno, 0,
					 "unterminated option list");
			goto out;
		}
		if (split_words(p + 1, (size_t)(close_br - p - 1), false, &opts) < 0) {
			coll_strv_release(&opts);
			goto oom;
		}
		for (size_t i = 0; i < opts.n && r == 0; i++) {
			char *eq = strchr(opts.v[i], '=');
			size_t kl = eq ? (size_t)(eq - opts.v[i]) : 0;

			if (kl > 0 && (opts.v[i][kl - 1] == '+' || opts.v[i][kl - 1] == '-'))
				kl--;
			if (!eq || kl == 0) {
				r = vg_error_set(err, -EINVAL, c->file, lineno, 0,
						 "malformed option '%s'", opts.v[i]);
			} else if (kl == 7 && strncasecmp(opts.v[i], "trusted", 7) == 0) {
				bool t = false;

				trusted = parse_bool(eq + 1, &t) == 0 && t;
			} else if (kl == 9 && strncasecmp(opts.v[i], "signed-by", 9) == 0) {
				free(signed_by);
				signed_by = strdup(eq + 1);
				if (!signed_by)
					r = vg_error_set(err, -ENOMEM, c->file, lineno, 0,
							 "out of memory");
			}
		}
		coll_strv_release(&opts);
		if (r < 0)
			goto out;
		p = close_br + 1;
	}
	if (split_words(p, strlen(p), false, &words) < 0)
		goto oom;
	if (!type_ok(words.v[0])) {
		r = vg_error_set(err, -EINVAL, c->file, lineno, 0, "unknown type '%s'",
				 words.v[0]);
		goto out;
	}
	if (words.n < 3) {
		r = vg_error_set(err, -EINVAL, c->file, lineno, 0, "missing %s",
				 words.n < 2 ? "URI" : "suite");
		goto out;
	}
	if (words.n == 3 && !has_suffix(words.v[2], "/")) {
		r = vg_error_set(err, -EINVAL, c->file, lineno, 0, "missing components");
		goto out;
	}
	for (size_t i = 3; i < words.n; i++)
		if (coll_strv_push(&comps, words.v[i], strlen(words.v[i])) < 0)
			goto oom;
	r = signed_by_keys(c, signed_by, lineno, &fprs, err);
	if (r == 0)
		r = repo_add(c, words.v[0], words.v[1], words.v[2], &comps, &fprs, trusted, lineno,
			     err);
	goto out;
oom:
	r = vg_error_set(err, -ENOMEM, c->file, lineno, 0, "out of memory");
out:
	coll_strv_release(&words);
	coll_strv_release(&comps);
	coll_strv_release(&fprs);
	return r;
}

/* -- deb822 format (.sources) -- */

enum { SRC_TYPES, SRC_URIS, SRC_SUITES, SRC_COMPONENTS, SRC_SIGNED_BY, SRC_ENABLED, SRC_TRUSTED };
static const char *const source_fields[] = { "Types",	  "URIs",      "Suites",
					     "Components", "Signed-By", "Enabled",
					     "Trusted",	   NULL };

static int source_stanza(struct d822 *d, struct vg_error *err)
{
	static const char *const required[] = { "Types", "URIs", "Suites" };
	struct repo_ctx *c = d->ctx;
	struct coll_strv w[3] = { { 0 } }, comps = { 0 }, fprs = { 0 };
	const char *enabled = d822_get(d, SRC_ENABLED), *comp = d822_get(d, SRC_COMPONENTS);
	const char *tr = d822_get(d, SRC_TRUSTED);
	bool on = true, trusted = false;
	int r = 0;

	if (enabled && parse_bool(enabled, &on) < 0)
		return vg_error_set(err, -EINVAL, d->path, d->line[SRC_ENABLED], 0,
				    "invalid Enabled value '%s'", enabled);
	if (!on)
		return 0;
	if (tr && parse_bool(tr, &trusted) < 0)
		return vg_error_set(err, -EINVAL, d->path, d->line[SRC_TRUSTED], 0,
				    "invalid Trusted value '%s'", tr);
	for (int i = 0; i < 3; i++) {
		const char *v = d822_get(d, i);

		if (!v || blank(v, strlen(v))) {
			r = vg_error_set(err, -EINVAL, d->path, d->first, 0, "stanza without %s",
					 required[i]);
			goto out;
		}
		if (split_words(v, strlen(v), false, &w[i]) < 0)
			goto oom;
	}
	for (size_t i = 0; i < w[SRC_TYPES].n; i++)
		if (!type_ok(w[SRC_TYPES].v[i])) {
			r = vg_error_set(err, -EINVAL, d->path, d->line[SRC_TYPES], 0,
					 "unknown type '%s'", w[SRC_TYPES].v[i]);
			goto out;
		}
	if (comp && split_words(comp, strlen(comp), false, &comps) < 0)
		goto oom;
	for (size_t i = 0; i < w[SRC_SUITES].n; i++)
		if (comps.n == 0 && !has_suffix(w[SRC_SUITES].v[i], "/")) {
			r = vg_error_set(err, -EINVAL, d->path, d->first, 0,
					 "stanza without Components");
			goto out;
		}
	r = signed_by_keys(c, d822_get(d, SRC_SIGNED_BY),
			   d->line[SRC_SIGNED_BY] ? d->line[SRC_SIGNED_BY] : d->first, &fprs,
			   err);
	for (size_t t = 0; r == 0 && t < w[SRC_TYPES].n; t++)
		for (size_t u = 0; r == 0 && u < w[SRC_URIS].n; u++)
			for (size_t s = 0; r == 0 && s < w[SRC_SUITES].n; s++)
				r = repo_add(c, w[SRC_TYPES].v[t], w[SRC_URIS].v[u],
					     w[SRC_SUITES].v[s], &comps, &fprs, trusted, d->first,
					     err);
	goto out;
oom:
	r = vg_error_set(err, -ENOMEM, d->path, d->first, 0, "out of memory");
out:
	for (int i = 0; i < 3; i++)
		coll_strv_release(&w[i]);
	coll_strv_release(&comps);
	coll_strv_release(&fprs);
	return r;
}

static bool source_name(const char *n)
{
	return apt_name_ok(n) && (has_suffix(n, ".list") || has_suffix(n, ".sources"));
}

static int read_sources(struct repo_ctx *c, const char *path, bool deb822, struct vg_error *err)
{
	int r;

	c->file = path;
	if (deb822) {
		struct d822 d;

		d822_init(&d, path, source_fields, source_stanza, c);
		d.comments = true;
		r = d822_read(c->o, &d, SOURCES_MAX, err);
		d822_release(&d);
	} else {
		r = read_lines(c->o, path, SOURCES_MAX, oneline_line, c, err);
	}
	c->file = NULL;
	return r == -ENOENT ? 0 : r;
}

static int repo_cmp(const void *a, const void *b)
{
	return strcmp(((const struct repo *)a)->key, ((const struct repo *)b)->key);
}

static void jw_strv(struct json_writer *w, const struct coll_strv *s)
{
	jw_arr_open(w);
	for (size_t i = 0; i < s->n; i++)
		jw_str_bytes(w, s->v[i], strlen(s->v[i]));
	jw_arr_close(w);
}

static int repo_emit(const struct repo *p, struct coll_set *out, struct vg_error *err)
{
	_cleanup_buf_ struct buf b = { 0 };
	struct json_writer w;
	int r;

	buf_init(&b, COLL_STATE_MAX);
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "type");
	jw_str(&w, p->type);
	/* uri and suite are escaped already (they are part of the key) */
	jw_key(&w, "uri");
	jw_str(&w, p->uri);
	jw_key(&w, "suite");
	jw_str(&w, p->suite);
	jw_key(&w, "components");
	jw_strv(&w, &p->comps);
	jw_key(&w, "file");
	jw_str_bytes(&w, p->file, strlen(p->file));
	jw_key(&w, "signed_by");
	jw_strv(&w, &p->fprs);
	jw_key(&w, "trusted");
	jw_bool(&w, p->trusted);
	jw_obj_close(&w);
	r = w.err ? w.err : coll_set_add(out, p->key, buf_str(&b), NULL);
	if (r < 0)
		return vg_error_set(err, r, p->file, 0, 0, "cannot add repository '%s': %s",
				    p->key, strerror(-r));
	return 0;
}

int coll_repo_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	struct repo_ctx c = { .o = o };
	struct coll_strv names = { 0 };
	char path[PATH_MAX];
	int r;

	r = read_sources(&c, sources_list, false, err);
	if (r == 0)
		r = list_dir(o, sources_dir, source_name, &names, err);
	for (size_t i = 0; r == 0 && i < names.n; i++) {
		snprintf(path, sizeof(path), "%s/%s", sources_dir, names.v[i]);
		r = read_sources(&c, path, has_suffix(names.v[i], ".sources"), err);
	}
	coll_strv_release(&names);
	if (r < 0)
		goto out;
	if (c.n > 1)
		qsort(c.repos, c.n, sizeof(*c.repos), repo_cmp);
	for (size_t i = 0; i < c.n && r == 0; i++)
		r = repo_emit(&c.repos[i], out, err);
out:
	repo_ctx_release(&c);
	return r;
}

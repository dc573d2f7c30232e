/*
 * The provenance chain of provenance.h: from a file to the package that owns it, to the
 * dpkg action that put it there, to the .deb it came from, to the repository index that
 * names that .deb, to the signature over that index.
 *
 * The context keeps what is costly to rebuild: the dpkg database with its path->package
 * index (rebuilt when /var/lib/dpkg/status or the info directory changes), the entries
 * of each apt index for the installed packages, the verified InRelease files and the
 * member digests of the .debs read.  Each cache is bounded and keyed by the identity
 * (device, inode, size, mtime) of the file it came from.
 *
 * Evidence is graded, and a missing link is told apart from a link that contradicts:
 * a .deb gone from the cache only lowers the level (an authorization may accept that),
 * while content that differs from the .deb, a repository or key that is not allowed, or a
 * signature that does not verify is never authorized.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <openssl/evp.h>

#include "base/buf.h"
#include "base/fileio.h"
#include "base/macro.h"
#include "base/strmap.h"
#include "change/prov-int.h"
#include "change/provenance.h"
#include "base/banned.h"

#define GPGV_PATH "/usr/bin/gpgv"
#define GPGV_TIMEOUT_MS 30000
#define DEB_CACHE_MAX 32
#define RELEASE_CACHE_MAX 32
#define LISTS_FILES_MAX 256
#define LIST_ENTRIES_MAX 200000
#define KEYRING_FILES_MAX 64
#define REASON_MAX 1024

const char *prov_level_name(enum prov_level l)
{
	static const char *const n[] = { "none", "owned", "content", "signed" };

	return (unsigned)l < ARRAY_SIZE(n) ? n[l] : "none";
}

void prov_result_release(struct prov_result *r)
{
	free(r->package);
	free(r->arch);
	free(r->version);
	free(r->action);
	free(r->deb_path);
	free(r->deb_sha256);
	free(r->repo_uri);
	free(r->suite);
	free(r->component);
	free(r->key_fingerprint);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}

/* ---- context ---- */

struct file_id {
	bool present;
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns;
};

static struct file_id file_id_of(const char *path)
{
	struct file_id id = { 0 };
	struct stat st;

	if (stat(path, &st) < 0)
		return id;
	id.present = true;
	id.dev = st.st_dev;
	id.ino = st.st_ino;
	id.size = st.st_size;
	id.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	return id;
}

static bool file_id_eq(const struct file_id *a, const struct file_id *b)
{
	return a->present == b->present && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime_ns == b->mtime_ns;
}

struct pkg {
	char *name, *arch, *version, *status;
	char **conffiles;
	size_t n_conffiles;
};

/* One package version as an apt index lists it. */
struct index_entry {
	char *filename;
	char *arch;
	uint8_t sha256[SHA256_LEN];
	bool has_sha256;
	uint64_t size;
};

/* The entries of one lists file for the packages installed when it was read. */
struct lists_file {
	char *name;		/* base name in var/lib/apt/lists */
	struct file_id id;
	unsigned db_gen;
	bool ok;		/* read completely */
	uint8_t content_sha256[SHA256_LEN];
	struct strmap entries;	/* "name\nversion\narch" -> struct index_entry */
	size_t n_entries;
};

struct release_sum {
	uint8_t sha256[SHA256_LEN];
	uint64_t size;
};

/* A verified (or rejected) InRelease. */
struct release {
	char *path;
	char *keyrings;		/* the keyrings it was checked with, '\n'-joined */
	struct file_id id;
	bool good, bad;
	size_t n_sigs;
	char fpr[PROV_SIGS_MAX][41], primary[PROV_SIGS_MAX][41];
	char *diag;
	char *suite, *codename;
	int64_t valid_until_ns;	/* 0: none */
	bool valid_until_bad;
	struct strmap sums;	/* "main/binary-amd64/Packages" -> struct release_sum */
};

struct prov_ctx {
	char *root;
	/* dpkg database */
	struct file_id status_id, info_id;
	unsigned db_gen;
	bool db_loaded;
	struct pkg *pkgs;
	size_t n_pkgs;
	unsigned status_bad;
	bool status_truncated;
	struct strmap pkg_by_key;	/* "name:arch" and "name" -> struct pkg */
	struct strmap owners;		/* "/etc/foo" -> interned list name ("name[:arch]") */
	char **owner_names;
	size_t n_owner_names;
	bool owners_truncated;
	/* caches */
	struct lists_file *lists[LISTS_FILES_MAX];
	size_t n_lists;
	struct release *releases[RELEASE_CACHE_MAX];
	size_t next_release;
	struct prov_deb *debs[DEB_CACHE_MAX];
	size_t next_deb;
};

static void pkg_release(struct pkg *p)
{
	free(p->name);
	free(p->arch);
	free(p->version);
	free(p->status);
	for (size_t i = 0; i < p->n_conffiles; i++)
		free(p->conffiles[i]);
	free(p->conffiles);
}

static void db_release(struct prov_ctx *c)
{
	for (size_t i = 0; i < c->n_pkgs; i++)
		pkg_release(&c->pkgs[i]);
	free(c->pkgs);
	c->pkgs = NULL;
	c->n_pkgs = 0;
	strmap_release(&c->pkg_by_key, NULL);
	strmap_release(&c->owners, NULL);
	for (size_t i = 0; i < c->n_owner_names; i++)
		free(c->owner_names[i]);
	free(c->owner_names);
	c->owner_names = NULL;
	c->n_owner_names = 0;
	c->status_bad = 0;
	c->status_truncated = c->owners_truncated = false;
	c->db_loaded = false;
}

static void index_entry_free(void *p)
{
	struct index_entry *e = p;

	free(e->filename);
	free(e->arch);
	free(e);
}

static struct lists_file *lists_file_free(struct lists_file *l)
{
	if (!l)
		return NULL;
	strmap_release(&l->entries, index_entry_free);
	free(l->name);
	free(l);
	return NULL;
}

static struct release *release_free(struct release *r)
{
	if (!r)
		return NULL;
	strmap_release(&r->sums, free);
	free(r->path);
	free(r->keyrings);
	free(r->diag);
	free(r->suite);
	free(r->codename);
	free(r);
	return NULL;
}

int prov_ctx_new(const char *root, struct prov_ctx **ret)
{
	struct prov_ctx *c;
	size_t l;

	if (!root || root[0] != '/')
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	l = strlen(root);
	while (l > 1 && root[l - 1] == '/')
		l--;
	/* "/" becomes "": every system path is then root + "/var/..." */
	c->root = strndup(root, l == 1 ? 0 : l);
	if (!c->root) {
		free(c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

struct prov_ctx *prov_ctx_free(struct prov_ctx *c)
{
	if (!c)
		return NULL;
	db_release(c);
	for (size_t i = 0; i < c->n_lists; i++)
		lists_file_free(c->lists[i]);
	for (size_t i = 0; i < RELEASE_CACHE_MAX; i++)
		release_free(c->releases[i]);
	for (size_t i = 0; i < DEB_CACHE_MAX; i++)
		prov_deb_free(c->debs[i]);
	free(c->root);
	free(c);
	return NULL;
}

/* root + abs ("/var/lib/dpkg/status"); abs must start with '/'. */
static char *rooted(const struct prov_ctx *c, const char *abs)
{
	char *p;

	if (asprintf(&p, "%s%s%s", c->root, abs[0] == '/' ? "" : "/", abs) < 0)
		return NULL;
	return p;
}

/* ---- reasons ---- */

/* The first reason set wins: it names the weakest link met first. */
static int reason_set(char **reason, const char *fmt, ...) _printf_(2, 3);
static int reason_set(char **reason, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	if (*reason)
		return 0;
	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	if (strlen(s) > REASON_MAX)
		s[REASON_MAX] = '\0';
	for (char *q = s; *q; q++)
		if (*q == '\n' || *q == '\r')
			*q = ' ';
	*reason = s;
	return 0;
}

/* ---- dpkg database ---- */

struct status_state {
	struct prov_ctx *c;
	struct pkg cur;
	int err;
};

static int conffiles_parse(struct pkg *p, const char *v, size_t len)
{
	const char *q = v, *end = v + len;

	while (q < end) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		const char *le = nl ? nl : end;
		const char *w = q;
		char **nv;

		while (w < le && (*w == ' ' || *w == '\t'))
			w++;
		if (w < le && *w == '/') {
			const char *we = w;

			while (we < le && *we != ' ' && *we != '\t')
				we++;
			if (p->n_conffiles >= PROV_CONFFILES_MAX)
				return 0;
			nv = realloc(p->conffiles, (p->n_conffiles + 1) * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			p->conffiles = nv;
			nv[p->n_conffiles] = strndup(w, (size_t)(we - w));
			if (!nv[p->n_conffiles])
				return -ENOMEM;
			p->n_conffiles++;
		}
		q = nl ? nl + 1 : end;
	}
	return 0;
}

static int field_dup(char **dst, const struct prov_field *f)
{
	free(*dst);
	*dst = strndup(f->value, f->value_len);
	return *dst ? 0 : -ENOMEM;
}

static int status_field(const struct prov_field *f, void *userdata)
{
	struct status_state *st = userdata;
	struct prov_ctx *c = st->c;
	struct pkg *nv;
	int r = 0;

	if (f) {
		if (prov_field_is(f, "Package"))
			r = field_dup(&st->cur.name, f);
		else if (prov_field_is(f, "Architecture"))
			r = field_dup(&st->cur.arch, f);
		else if (prov_field_is(f, "Version"))
			r = field_dup(&st->cur.version, f);
		else if (prov_field_is(f, "Status"))
			r = field_dup(&st->cur.status, f);
		else if (prov_field_is(f, "Conffiles"))
			r = conffiles_parse(&st->cur, f->value, f->value_len);
		return r;
	}
	/* end of a stanza: keep it when it names a package */
	if (!st->cur.name || !st->cur.name[0] || strchr(st->cur.name, ' ') ||
	    strchr(st->cur.name, '/')) {
		c->status_bad++;
		goto drop;
	}
	if (c->n_pkgs >= PROV_PACKAGES_MAX) {
		c->status_truncated = true;
		goto drop;
	}
	nv = realloc(c->pkgs, (c->n_pkgs + 1) * sizeof(*nv));
	if (!nv) {
		r = -ENOMEM;
		goto drop;
	}
	c->pkgs = nv;
	c->pkgs[c->n_pkgs++] = st->cur;
	memset(&st->cur, 0, sizeof(st->cur));
	return 0;
drop:
	pkg_release(&st->cur);
	memset(&st->cur, 0, sizeof(st->cur));
	return r;
}

static int owners_add_list(struct prov_ctx *c, const char *dir, const char *fname)
{
	_cleanup_free_ char *text = NULL, *name = NULL;
	size_t len = 0, nl_len = strlen(fname) - 5;
	char **nv;
	const char *p, *end;
	int r;

	r = file_read_all(dir, fname, PROV_SMALL_FILE_MAX * 16, &text, &len);
	if (r < 0)
		return 0; /* unreadable or too large: the package owns nothing we can see */
	name = strndup(fname, nl_len);
	if (!name)
		return -ENOMEM;
	nv = realloc(c->owner_names, (c->n_owner_names + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	c->owner_names = nv;
	nv[c->n_owner_names++] = name;
	for (p = text, end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		if (le > p && *p == '/') {
			void *old = NULL;

			if (c->owners.n >= PROV_PATHS_MAX) {
				c->owners_truncated = true;
				break;
			}
			/* a path several packages list (a directory) keeps its first owner */
			if (!strmap_get(&c->owners, p, (size_t)(le - p))) {
				r = strmap_put(&c->owners, p, (size_t)(le - p), name, &old);
				if (r < 0)
					return r;
			}
		}
		p = nl ? nl + 1 : end;
	}
	TAKE_PTR(name);
	return 0;
}

static int db_load(struct prov_ctx *c)
{
	_cleanup_free_ char *status_path = rooted(c, "/var/lib/dpkg/status");
	_cleanup_free_ char *info = rooted(c, "/var/lib/dpkg/info");
	_cleanup_free_ char *text = NULL;
	struct file_id sid, iid;
	struct status_state st = { .c = c };
	DIR *d = NULL;
	struct dirent *de;
	size_t len = 0;
	unsigned bad = 0;
	int r = 0;

	if (!status_path || !info)
		return -ENOMEM;
	sid = file_id_of(status_path);
	iid = file_id_of(info);
	if (c->db_loaded && file_id_eq(&sid, &c->status_id) && file_id_eq(&iid, &c->info_id))
		return 0;
	db_release(c);
	c->db_gen++;
	c->status_id = sid;
	c->info_id = iid;
	r = file_read_all(status_path, NULL, PROV_STATUS_MAX, &text, &len);
	if (r == 0) {
		r = prov_deb822_parse(text, len, status_field, &st, &bad);
		pkg_release(&st.cur);
		if (r < 0)
			goto out;
		c->status_bad += bad;
	} else if (r == -ENOMEM) {
		goto out;
	}
	for (size_t i = 0; i < c->n_pkgs; i++) {
		struct pkg *p = &c->pkgs[i];
		_cleanup_free_ char *k = NULL;

		if (p->arch && asprintf(&k, "%s:%s", p->name, p->arch) < 0) {
			k = NULL;
			r = -ENOMEM;
			goto out;
		}
		if (k && !strmap_get(&c->pkg_by_key, k, strlen(k))) {
			r = strmap_put(&c->pkg_by_key, k, strlen(k), p, NULL);
			if (r < 0)
				goto out;
		}
		if (!strmap_get(&c->pkg_by_key, p->name, strlen(p->name))) {
			r = strmap_put(&c->pkg_by_key, p->name, strlen(p->name), p, NULL);
			if (r < 0)
				goto out;
		}
	}
	d = opendir(info);
	if (d) {
		while ((de = readdir(d))) {
			size_t l = strlen(de->d_name);

			if (l <= 5 || strcmp(de->d_name + l - 5, ".list") != 0)
				continue;
			if (c->n_owner_names >= PROV_PACKAGES_MAX) {
				c->owners_truncated = true;
				break;
			}
			r = owners_add_list(c, info, de->d_name);
			if (r < 0)
				goto out;
		}
	}
	r = 0;
	c->db_loaded = true;
out:
	if (d)
		closedir(d);
	if (r < 0)
		db_release(c);
	return r;
}

static struct pkg *pkg_find(struct prov_ctx *c, const char *name, const char *arch)
{
	_cleanup_free_ char *k = NULL;

	if (arch && arch[0]) {
		struct pkg *p;

		if (asprintf(&k, "%s:%s", name, arch) < 0)
			return NULL;
		p = strmap_get(&c->pkg_by_key, k, strlen(k));
		if (p)
			return p;
	}
	return strmap_get(&c->pkg_by_key, name, strlen(name));
}

static bool pkg_installed(const struct pkg *p)
{
	const char *s = p->status ? strrchr(p->status, ' ') : NULL;

	return s && strcmp(s + 1, "installed") == 0;
}

static bool pkg_has_conffile(const struct pkg *p, const char *path)
{
	for (size_t i = 0; i < p->n_conffiles; i++)
		if (strcmp(p->conffiles[i], path) == 0)
			return true;
	return false;
}

/* ---- dpkg and apt logs ---- */

enum ev_kind { EV_NONE, EV_STATUS, EV_CONFIGURE, EV_HISTORY, EV_UNPACK };

struct event {
	enum ev_kind kind;	/* the higher, the more direct the evidence */
	char action[24];
	char package[128];
	char arch[32];
	char old_version[128];
	char new_version[128];
	int64_t ns;
};

static bool in_window(const struct prov_query *q, int64_t ns)
{
	int64_t d = ns - q->change_ns;

	return d <= q->slack_ns && -d <= q->slack_ns;
}

static int64_t distance(const struct prov_query *q, int64_t ns)
{
	int64_t d = ns - q->change_ns;

	return d < 0 ? -d : d;
}

static bool arch_matches(const char *want, const char *have)
{
	return !want || !want[0] || !have[0] || strcmp(want, have) == 0;
}

/* Is ev a better piece of evidence than best? */
static bool event_better(const struct prov_query *q, const struct event *ev,
			 const struct event *best)
{
	if (best->kind == EV_NONE)
		return true;
	if (ev->kind != best->kind)
		return ev->kind > best->kind;
	return distance(q, ev->ns) < distance(q, best->ns);
}

/* Calls fn for each package event of dpkg.log (and its first rotation) within the window. */
typedef void (*event_fn)(const struct event *ev, void *userdata);

static void dpkg_log_scan(struct prov_ctx *c, const struct prov_query *q, event_fn fn,
			  void *userdata, unsigned *bad)
{
	static const char *const logs[] = { "/var/log/dpkg.log.1", "/var/log/dpkg.log" };
	char *line = malloc(PROV_LINE_MAX);

	if (!line)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(logs); i++) {
		_cleanup_free_ char *path = rooted(c, logs[i]);
		FILE *f = path ? fopen(path, "re") : NULL;
		bool skipping = false;

		if (!f)
			continue;
		while (fgets(line, PROV_LINE_MAX, f)) {
			size_t l = strlen(line);
			struct prov_dpkg_event de;
			struct event ev = { 0 };
			bool whole = l > 0 && line[l - 1] == '\n';
			int r;

			if (skipping) {
				/* the rest of an overlong line */
				skipping = !whole;
				continue;
			}
			if (!whole && !feof(f)) {
				skipping = true;
				(*bad)++;
				continue;
			}
			if (whole)
				line[--l] = '\0';
			r = prov_dpkg_log_parse(line, l, &de);
			if (r == -EINVAL)
				(*bad)++;
			if (r < 0 || !in_window(q, de.ns))
				continue;
			if (strcmp(de.action, "status") == 0) {
				ev.kind = EV_STATUS;
				snprintf(ev.action, sizeof(ev.action), "%s", de.state);
			} else {
				ev.kind = strcmp(de.action, "configure") == 0 ||
							  strcmp(de.action, "trigproc") == 0
						  ? EV_CONFIGURE
						  : EV_UNPACK;
				snprintf(ev.action, sizeof(ev.action), "%s", de.action);
			}
			snprintf(ev.package, sizeof(ev.package), "%s", de.package);
			snprintf(ev.arch, sizeof(ev.arch), "%s", de.arch);
			snprintf(ev.old_version, sizeof(ev.old_version), "%s", de.old_version);
			snprintf(ev.new_version, sizeof(ev.new_version), "%s", de.new_version);
			ev.ns = de.ns;
			fn(&ev, userdata);
		}
		fclose(f);
	}
	free(line);
}

/* history.log: "Upgrade: a:amd64 (1.0, 2.0), b:amd64 (3, 4)" within Start-Date..End-Date. */
struct history_state {
	const struct prov_query *q;
	int64_t start, end;
	struct prov_field lists[6];
	event_fn fn;
	void *userdata;
};

static const char *const history_actions[] = { "Install", "Reinstall", "Upgrade",
					       "Downgrade", "Remove", "Purge" };

static void history_entries(struct history_state *st, size_t ai)
{
	const struct prov_field *f = &st->lists[ai];
	const char *p = f->value, *end = f->value + f->value_len;

	while (p < end) {
		struct event ev = { .kind = EV_HISTORY };
		const char *open = memchr(p, '(', (size_t)(end - p)), *close, *comma, *name, *ne;
		const char *colon;

		if (!open)
			break;
		close = memchr(open, ')', (size_t)(end - open));
		if (!close)
			break;
		name = p;
		while (name < open && (*name == ' ' || *name == ',' || *name == '\n'))
			name++;
		ne = open;
		while (ne > name && ne[-1] == ' ')
			ne--;
		colon = memchr(name, ':', (size_t)(ne - name));
		if (!colon)
			colon = ne;
		if (colon > name && (size_t)(colon - name) < sizeof(ev.package) &&
		    (size_t)(ne - colon) < sizeof(ev.arch)) {
			const char *v1 = open + 1, *v1e, *v2 = NULL, *v2e = NULL;

			memcpy(ev.package, name, (size_t)(colon - name));
			if (colon < ne)
				memcpy(ev.arch, colon + 1, (size_t)(ne - colon - 1));
			comma = memchr(v1, ',', (size_t)(close - v1));
			v1e = comma ? comma : close;
			if (comma) {
				v2 = comma + 1;
				while (v2 < close && *v2 == ' ')
					v2++;
				v2e = close;
			}
			if (strcmp(history_actions[ai], "Upgrade") == 0 ||
			    strcmp(history_actions[ai], "Downgrade") == 0) {
				snprintf(ev.old_version, sizeof(ev.old_version), "%.*s",
					 (int)(v1e - v1), v1);
				if (v2)
					snprintf(ev.new_version, sizeof(ev.new_version), "%.*s",
						 (int)(v2e - v2), v2);
				snprintf(ev.action, sizeof(ev.action), "upgrade");
			} else if (ai >= 4) {
				snprintf(ev.old_version, sizeof(ev.old_version), "%.*s",
					 (int)(v1e - v1), v1);
				snprintf(ev.action, sizeof(ev.action), "%s",
					 ai == 4 ? "remove" : "purge");
			} else {
				snprintf(ev.new_version, sizeof(ev.new_version), "%.*s",
					 (int)(v1e - v1), v1);
				snprintf(ev.action, sizeof(ev.action), "install");
			}
			/* the whole apt run counts: files change between its start and end */
			ev.ns = st->q->change_ns < st->start  ? st->start
				: st->q->change_ns > st->end ? st->end
							      : st->q->change_ns;
			if (in_window(st->q, ev.ns))
				st->fn(&ev, st->userdata);
		}
		p = close + 1;
	}
}

static int history_field(const struct prov_field *f, void *userdata)
{
	struct history_state *st = userdata;

	if (!f) {
		if (st->start > 0) {
			if (st->end < st->start)
				st->end = st->start;
			for (size_t i = 0; i < ARRAY_SIZE(history_actions); i++)
				if (st->lists[i].value)
					history_entries(st, i);
		}
		memset(st->lists, 0, sizeof(st->lists));
		st->start = st->end = 0;
		return 0;
	}
	if (prov_field_is(f, "Start-Date")) {
		if (prov_local_time_parse(f->value, f->value_len, &st->start) < 0)
			st->start = 0;
	} else if (prov_field_is(f, "End-Date")) {
		if (prov_local_time_parse(f->value, f->value_len, &st->end) < 0)
			st->end = 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(history_actions); i++)
		if (prov_field_is(f, history_actions[i]))
			st->lists[i] = *f;
	return 0;
}

static void history_scan(struct prov_ctx *c, const struct prov_query *q, event_fn fn,
			 void *userdata)
{
	_cleanup_free_ char *path = rooted(c, "/var/log/apt/history.log");
	_cleanup_free_ char *text = NULL;
	struct history_state st = { .q = q, .fn = fn, .userdata = userdata };
	size_t len = 0;

	if (!path || file_read_all(path, NULL, PROV_STATUS_MAX, &text, &len) < 0)
		return;
	prov_deb822_parse(text, len, history_field, &st, NULL);
}

struct install_want {
	const struct prov_query *q;
	const char *name, *arch, *version;
	struct event best;
};

static void install_event(const struct event *ev, void *userdata)
{
	struct install_want *w = userdata;
	bool ok;

	if (strcmp(ev->package, w->name) != 0 || !arch_matches(w->arch, ev->arch))
		return;
	if (ev->kind == EV_STATUS)
		ok = strcmp(ev->action, "installed") == 0 &&
		     strcmp(ev->new_version, w->version) == 0;
	else if (ev->kind == EV_CONFIGURE)
		ok = strcmp(ev->old_version, w->version) == 0;
	else
		ok = (strcmp(ev->action, "install") == 0 || strcmp(ev->action, "upgrade") == 0) &&
		     strcmp(ev->new_version, w->version) == 0;
	if (ok && event_better(w->q, ev, &w->best))
		w->best = *ev;
}

/* ---- reading a lists file ---- */

struct packages_scan {
	struct prov_ctx *c;
	struct lists_file *into;	/* cache: keep entries of installed packages */
	const char *name, *version, *arch; /* or look one version up */
	struct index_entry found;
	bool have_found;
	char *f_name, *f_version, *f_arch, *f_filename, *f_size;
	uint8_t f_sha[SHA256_LEN];
	bool f_has_sha;
	int err;
};

static void scan_reset(struct packages_scan *s)
{
	free(s->f_name);
	free(s->f_version);
	free(s->f_arch);
	free(s->f_filename);
	free(s->f_size);
	s->f_name = s->f_version = s->f_arch = s->f_filename = s->f_size = NULL;
	s->f_has_sha = false;
}

static int scan_field(const struct prov_field *f, void *userdata)
{
	struct packages_scan *s = userdata;
	struct index_entry *e = NULL;
	_cleanup_free_ char *key = NULL;
	uint64_t size = 0;
	int r = 0;

	if (f) {
		if (prov_field_is(f, "Package"))
			return field_dup(&s->f_name, f);
		if (prov_field_is(f, "Version"))
			return field_dup(&s->f_version, f);
		if (prov_field_is(f, "Architecture"))
			return field_dup(&s->f_arch, f);
		if (prov_field_is(f, "Filename"))
			return field_dup(&s->f_filename, f);
		if (prov_field_is(f, "Size"))
			return field_dup(&s->f_size, f);
		if (prov_field_is(f, "SHA256"))
			s->f_has_sha = prov_unhex_sha256(f->value, f->value_len, s->f_sha) == 0;
		return 0;
	}
	if (!s->f_name || !s->f_version || !s->f_arch || !s->f_filename)
		goto done;
	if (s->f_size) {
		char *endp;

		errno = 0;
		size = strtoull(s->f_size, &endp, 10);
		if (errno || *endp)
			size = 0;
	}
	if (s->into) {
		if (!strmap_get(&s->c->pkg_by_key, s->f_name, strlen(s->f_name)))
			goto done;
		if (s->into->n_entries >= LIST_ENTRIES_MAX)
			goto done;
	} else if (strcmp(s->f_name, s->name) != 0 || strcmp(s->f_version, s->version) != 0 ||
		   (strcmp(s->f_arch, s->arch) != 0 && strcmp(s->f_arch, "all") != 0) ||
		   s->have_found) {
		goto done;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		r = -ENOMEM;
		goto done;
	}
	e->filename = TAKE_PTR(s->f_filename);
	e->arch = TAKE_PTR(s->f_arch);
	memcpy(e->sha256, s->f_sha, SHA256_LEN);
	e->has_sha256 = s->f_has_sha;
	e->size = size;
	if (!s->into) {
		s->found = *e;
		s->have_found = true;
		free(e);
		e = NULL;
		goto done;
	}
	if (asprintf(&key, "%s\n%s\n%s", s->f_name, s->f_version, e->arch) < 0) {
		key = NULL;
		r = -ENOMEM;
		goto done;
	}
	if (!strmap_get(&s->into->entries, key, strlen(key))) {
		r = strmap_put(&s->into->entries, key, strlen(key), e, NULL);
		if (r == 0) {
			s->into->n_entries++;
			e = NULL;
		}
	}
done:
	if (e)
		index_entry_free(e);
	scan_reset(s);
	return r;
}

/* Streams the (possibly compressed) lists file through the stanza parser, and computes
 * the SHA-256 of its uncompressed content.  Returns 0, -ENOENT, -EBADMSG, -ENOMEM. */
static int packages_stream(const char *path, struct packages_scan *s, uint8_t ret_sha[SHA256_LEN])
{
	struct archive *a = archive_read_new();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct buf pending;
	char *block = malloc(65536);
	struct stat st;
	unsigned dl = 0;
	int r = 0;

	buf_init(&pending, PROV_STANZA_MAX);
	if (!a || !md || !block) {
		r = -ENOMEM;
		goto out;
	}
	if (stat(path, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		r = -EIO;
		goto out;
	}
	if (st.st_size > 0) {
		struct archive_entry *e;

		archive_read_support_filter_all(a);
		archive_read_support_format_raw(a);
		if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK ||
		    archive_read_next_header(a, &e) != ARCHIVE_OK) {
			r = -EBADMSG;
			goto out;
		}
		for (;;) {
			la_ssize_t n = archive_read_data(a, block, 65536);
			char *cut;

			if (n < 0) {
				r = -EBADMSG;
				goto out;
			}
			if (n == 0)
				break;
			if (!EVP_DigestUpdate(md, block, (size_t)n)) {
				r = -EIO;
				goto out;
			}
			r = buf_append(&pending, block, (size_t)n);
			if (r < 0) {
				r = -EBADMSG; /* a stanza larger than any real one */
				goto out;
			}
			/* hand over every complete stanza, keep the tail */
			cut = NULL;
			for (char *q = pending.data;; q += 2) {
				q = memmem(q, pending.len - (size_t)(q - pending.data), "\n\n", 2);
				if (!q)
					break;
				cut = q + 2;
			}
			if (cut) {
				size_t done = (size_t)(cut - pending.data);

				r = prov_deb822_parse(pending.data, done, scan_field, s, NULL);
				if (r < 0)
					goto out;
				memmove(pending.data, cut, pending.len - done);
				pending.len -= done;
				pending.data[pending.len] = '\0';
			}
		}
	}
	if (pending.len) {
		r = prov_deb822_parse(pending.data, pending.len, scan_field, s, NULL);
		if (r < 0)
			goto out;
	}
	if (!EVP_DigestFinal_ex(md, ret_sha, &dl) || dl != SHA256_LEN)
		r = -EIO;
out:
	scan_reset(s);
	if (a)
		archive_read_free(a);
	EVP_MD_CTX_free(md);
	free(block);
	buf_release(&pending);
	return r;
}

static bool is_packages_name(const char *n)
{
	static const char *const ends[] = { "_Packages", "_Packages.gz", "_Packages.xz",
					    "_Packages.lz4", "_Packages.zst" };
	size_t l = strlen(n);

	for (size_t i = 0; i < ARRAY_SIZE(ends); i++) {
		size_t el = strlen(ends[i]);

		if (l > el && strcmp(n + l - el, ends[i]) == 0)
			return true;
	}
	return false;
}

/* The cached entries of one lists file, read again when it or the dpkg database changed. */
static int lists_file_get(struct prov_ctx *c, const char *dir, const char *name,
			  struct lists_file **ret)
{
	_cleanup_free_ char *path = NULL;
	struct lists_file *l = NULL;
	struct packages_scan s = { .c = c };
	struct file_id id;
	size_t slot = c->n_lists;
	int r;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return -ENOMEM;
	id = file_id_of(path);
	for (size_t i = 0; i < c->n_lists; i++)
		if (strcmp(c->lists[i]->name, name) == 0) {
			if (file_id_eq(&c->lists[i]->id, &id) && c->lists[i]->db_gen == c->db_gen) {
				*ret = c->lists[i];
				return 0;
			}
			slot = i;
			break;
		}
	if (slot == c->n_lists && c->n_lists >= LISTS_FILES_MAX)
		return -E2BIG;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->name = strdup(name);
	if (!l->name) {
		lists_file_free(l);
		return -ENOMEM;
	}
	l->id = id;
	l->db_gen = c->db_gen;
	s.into = l;
	r = packages_stream(path, &s, l->content_sha256);
	if (r == -ENOMEM) {
		lists_file_free(l);
		return r;
	}
	l->ok = r == 0;
	if (slot < c->n_lists)
		lists_file_free(c->lists[slot]);
	else
		c->n_lists++;
	c->lists[slot] = l;
	*ret = l;
	return 0;
}

/* ---- sources and signatures ---- */

static int sources_load(struct prov_ctx *c, struct prov_source_list *l)
{
	_cleanup_free_ char *main_list = rooted(c, "/etc/apt/sources.list");
	_cleanup_free_ char *dir = rooted(c, "/etc/apt/sources.list.d");
	_cleanup_free_ char *text = NULL;
	struct dirent **names = NULL;
	size_t len = 0;
	int n, r = 0;

	if (!main_list || !dir)
		return -ENOMEM;
	if (file_read_all(main_list, NULL, PROV_SMALL_FILE_MAX, &text, &len) == 0) {
		r = prov_sources_parse_oneline(text, len, "/etc/apt/sources.list", l);
		if (r < 0 && r != -E2BIG)
			return r;
	}
	n = scandir(dir, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		size_t nl = strlen(nm);
		_cleanup_free_ char *origin = NULL;

		free(text);
		text = NULL;
		if (r < 0 && r != -E2BIG)
			continue;
		if (nl > 5 && strcmp(nm + nl - 5, ".list") == 0 &&
		    file_read_all(dir, nm, PROV_SMALL_FILE_MAX, &text, &len) == 0) {
			if (asprintf(&origin, "/etc/apt/sources.list.d/%s", nm) < 0)
				r = -ENOMEM;
			else
				r = prov_sources_parse_oneline(text, len, origin, l);
		} else if (nl > 8 && strcmp(nm + nl - 8, ".sources") == 0 &&
			   file_read_all(dir, nm, PROV_SMALL_FILE_MAX, &text, &len) == 0) {
			if (asprintf(&origin, "/etc/apt/sources.list.d/%s", nm) < 0)
				r = -ENOMEM;
			else
				r = prov_sources_parse_deb822(text, len, origin, l);
		}
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r == -E2BIG ? 0 : r;
}

/* Which source and component a lists file of Packages belongs to; also the path the
 * InRelease names it by ("main/binary-amd64/Packages") and the InRelease's lists name. */
static int source_of_lists(const struct prov_source_list *l, const char *lname,
			   const struct prov_source **ret_src, const char **ret_comp,
			   char **ret_rel, char **ret_inrelease)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct prov_source *s = &l->v[i];
		_cleanup_free_ char *base = NULL, *prefix = NULL;
		size_t pl;

		if (asprintf(&base, "%s/dists/%s/", s->uri, s->suite) < 0)
			return -ENOMEM;
		if (prov_uri_to_filename(base, &prefix) < 0)
			return -ENOMEM;
		pl = strlen(prefix);
		if (strncmp(lname, prefix, pl) != 0)
			continue;
		for (size_t k = 0; k < s->n_components; k++) {
			const char *comp = s->components[k];
			_cleanup_free_ char *qcomp = NULL;
			const char *rest, *arch, *arch_end;
			size_t cl;

			/* components with '/' ("updates/main") are quoted like the rest */
			if (prov_uri_to_filename(comp, &qcomp) < 0)
				return -ENOMEM;
			cl = strlen(qcomp);
			rest = lname + pl;
			if (strncmp(rest, qcomp, cl) != 0 || strncmp(rest + cl, "_binary-", 8) != 0)
				continue;
			arch = rest + cl + 8;
			arch_end = strchr(arch, '_');
			if (!arch_end || arch_end == arch ||
			    strncmp(arch_end, "_Packages", 9) != 0 ||
			    !(arch_end[9] == '\0' || arch_end[9] == '.'))
				continue;
			if (asprintf(ret_rel, "%s/binary-%.*s/Packages", comp,
				     (int)(arch_end - arch), arch) < 0)
				return -ENOMEM;
			if (asprintf(ret_inrelease, "%sInRelease", prefix) < 0) {
				free(*ret_rel);
				*ret_rel = NULL;
				return -ENOMEM;
			}
			*ret_src = s;
			*ret_comp = comp;
			return 1;
		}
	}
	return 0;
}

static const struct prov_repo *repo_allowed(const struct prov_query *q, const char *uri,
					    const char *suite, const char *comp)
{
	for (size_t i = 0; i < q->n_allowed; i++) {
		const struct prov_repo *a = &q->allowed[i];
		size_t al, ul = strlen(uri);

		if (!a->uri || !a->suite)
			continue;
		al = strlen(a->uri);
		while (al > 1 && a->uri[al - 1] == '/')
			al--;
		while (ul > 1 && uri[ul - 1] == '/')
			ul--;
		if (al != ul || strncmp(a->uri, uri, al) != 0 || strcmp(a->suite, suite) != 0)
			continue;
		if (a->component && a->component[0] && strcmp(a->component, comp) != 0)
			continue;
		return a;
	}
	return NULL;
}

static int keyrings_for(struct prov_ctx *c, const struct prov_query *q,
			const struct prov_source *s, struct buf *joined, char ***ret, size_t *ret_n)
{
	char **v = calloc(KEYRING_FILES_MAX, sizeof(*v));
	size_t n = 0;
	int r = 0;

#define ADD(path)                                                                                  \
	do {                                                                                       \
		char *_p = (path);                                                                 \
		struct stat _st;                                                                   \
		if (!_p) {                                                                         \
			r = -ENOMEM;                                                               \
			goto out;                                                                  \
		}                                                                                  \
		if (n >= KEYRING_FILES_MAX || stat(_p, &_st) < 0 || !S_ISREG(_st.st_mode)) {       \
			free(_p);                                                                  \
			break;                                                                     \
		}                                                                                  \
		v[n++] = _p;                                                                       \
		r = buf_printf(joined, "%s %lld %lld\n", _p, (long long)_st.st_size,              \
			       (long long)_st.st_mtim.tv_sec);                                     \
		if (r < 0)                                                                         \
			goto out;                                                                  \
	} while (0)

	if (!v)
		return -ENOMEM;
	if (q->keyrings && q->n_keyrings) {
		for (size_t i = 0; i < q->n_keyrings; i++)
			ADD(rooted(c, q->keyrings[i]));
	} else {
		_cleanup_free_ char *dir = rooted(c, "/etc/apt/trusted.gpg.d");
		struct dirent **names = NULL;
		int nn;

		for (size_t i = 0; i < s->n_signed_by; i++)
			ADD(rooted(c, s->signed_by[i]));
		if (s->n_signed_by == 0) {
			/* apt trusts these only for sources without signed-by */
			nn = dir ? scandir(dir, &names, NULL, alphasort) : -1;
			for (int i = 0; i < nn; i++) {
				const char *nm = names[i]->d_name;
				size_t nl = strlen(nm);
				char *p = NULL;

				/* gpgv reads binary keyrings only: .asc files are left out */
				if (r == 0 && nl > 4 && strcmp(nm + nl - 4, ".gpg") == 0) {
					if (asprintf(&p, "%s/%s", dir, nm) < 0)
						p = NULL;
					ADD(p);
				}
			}
			for (int i = 0; i < nn; i++)
				free(names[i]);
			free(names);
			if (r < 0)
				goto out;
			ADD(rooted(c, "/etc/apt/trusted.gpg"));
		}
	}
	*ret = TAKE_PTR(v);
	*ret_n = n;
out:
	if (v) {
		for (size_t i = 0; i < n; i++)
			free(v[i]);
		free(v);
	}
#undef ADD
	return r;
}

static int release_sums_parse(struct release *rel, const struct prov_field *f)
{
	const char *p = f->value, *end = f->value + f->value_len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *w[3];
		size_t wl[3], n = 0;

		for (const char *q = p; q < le && n < 4;) {
			const char *s;

			while (q < le && (*q == ' ' || *q == '\t' || *q == '\r'))
				q++;
			if (q >= le)
				break;
			s = q;
			while (q < le && *q != ' ' && *q != '\t' && *q != '\r')
				q++;
			if (n == 3) {
				n = 4;
				break;
			}
			w[n] = s;
			wl[n++] = (size_t)(q - s);
		}
		p = nl ? nl + 1 : end;
		if (n == 3) {
			struct release_sum *sum = malloc(sizeof(*sum));
			char num[24];
			char *ep;
			int r;

			if (!sum)
				return -ENOMEM;
			if (rel->sums.n >= PROV_RELEASE_FILES_MAX || wl[1] >= sizeof(num) ||
			    prov_unhex_sha256(w[0], wl[0], sum->sha256) < 0) {
				free(sum);
				continue;
			}
			memcpy(num, w[1], wl[1]);
			num[wl[1]] = '\0';
			errno = 0;
			sum->size = strtoull(num, &ep, 10);
			if (errno || *ep || strmap_get(&rel->sums, w[2], wl[2])) {
				free(sum);
				continue;
			}
			r = strmap_put(&rel->sums, w[2], wl[2], sum, NULL);
			if (r < 0) {
				free(sum);
				return r;
			}
		}
	}
	return 0;
}

static int release_field(const struct prov_field *f, void *userdata)
{
	struct release *rel = userdata;

	if (!f)
		return 0;
	if (prov_field_is(f, "SHA256"))
		return release_sums_parse(rel, f);
	if (prov_field_is(f, "Suite"))
		return field_dup(&rel->suite, f);
	if (prov_field_is(f, "Codename"))
		return field_dup(&rel->codename, f);
	if (prov_field_is(f, "Valid-Until")) {
		char tmp[64];
		struct tm tm = { 0 };
		const char *e;

		rel->valid_until_bad = true;
		if (f->value_len >= sizeof(tmp))
			return 0;
		memcpy(tmp, f->value, f->value_len);
		tmp[f->value_len] = '\0';
		e = strptime(tmp, "%a, %d %b %Y %H:%M:%S", &tm);
		if (!e)
			return 0;
		while (*e == ' ')
			e++;
		if (*e && strcmp(e, "UTC") != 0 && strcmp(e, "GMT") != 0 &&
		    strcmp(e, "+0000") != 0 && strcmp(e, "Z") != 0)
			return 0;
		rel->valid_until_ns = (int64_t)timegm(&tm) * 1000000000;
		rel->valid_until_bad = false;
	}
	return 0;
}

/* The InRelease at path checked with the keyrings; from the cache when neither changed. */
static int release_get(struct prov_ctx *c, const char *path, char **keyrings, size_t n_keyrings,
		       const char *joined, struct release **ret)
{
	struct prov_gpgv_result g = { 0 };
	struct release *rel = NULL;
	struct file_id id = file_id_of(path);
	int r;

	if (!id.present)
		return -ENOENT;
	for (size_t i = 0; i < RELEASE_CACHE_MAX; i++) {
		struct release *x = c->releases[i];

		if (x && strcmp(x->path, path) == 0 && strcmp(x->keyrings, joined) == 0 &&
		    file_id_eq(&x->id, &id)) {
			*ret = x;
			return 0;
		}
	}
	rel = calloc(1, sizeof(*rel));
	if (!rel)
		return -ENOMEM;
	rel->path = strdup(path);
	rel->keyrings = strdup(joined);
	rel->id = id;
	if (!rel->path || !rel->keyrings) {
		r = -ENOMEM;
		goto out;
	}
	if (n_keyrings == 0) {
		rel->diag = strdup("no keyring to check it with");
		r = rel->diag ? 0 : -ENOMEM;
		goto keep;
	}
	r = prov_gpgv_verify(GPGV_PATH, (const char *const *)keyrings, n_keyrings, path,
			     GPGV_TIMEOUT_MS, &g);
	if (r == -ENOMEM)
		goto out;
	if (r < 0) {
		r = asprintf(&rel->diag, "gpgv failed: %s", strerror(-r)) < 0 ? -ENOMEM : 0;
		rel->diag = r < 0 ? NULL : rel->diag;
		goto keep;
	}
	rel->good = g.good;
	rel->bad = g.bad;
	rel->n_sigs = g.n_sigs;
	memcpy(rel->fpr, g.fpr, sizeof(rel->fpr));
	memcpy(rel->primary, g.primary, sizeof(rel->primary));
	rel->diag = TAKE_PTR(g.diag);
	if (rel->good) {
		/* only the text the signature covers is read */
		r = prov_deb822_parse(g.text, g.text_len, release_field, rel, NULL);
		if (r < 0)
			goto out;
	}
keep:
	release_free(c->releases[c->next_release]);
	c->releases[c->next_release] = rel;
	c->next_release = (c->next_release + 1) % RELEASE_CACHE_MAX;
	*ret = rel;
	rel = NULL;
	r = 0;
out:
	prov_gpgv_result_release(&g);
	release_free(rel);
	return r;
}

/* The .deb at path, from the cache when the file did not change.  -ENOENT when absent. */
static int deb_get(struct prov_ctx *c, const char *path, struct prov_deb **ret)
{
	struct stat st;
	struct prov_deb *d = NULL;
	int r;

	if (stat(path, &st) < 0)
		return -errno;
	for (size_t i = 0; i < DEB_CACHE_MAX; i++) {
		struct prov_deb *x = c->debs[i];

		if (x && strcmp(x->path, path) == 0 && x->size == (uint64_t)st.st_size &&
		    x->dev == st.st_dev && x->ino == st.st_ino &&
		    x->mtime_ns == (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec) {
			*ret = x;
			return 0;
		}
	}
	r = prov_deb_read(path, &d);
	if (r < 0)
		return r;
	prov_deb_free(c->debs[c->next_deb]);
	c->debs[c->next_deb] = d;
	c->next_deb = (c->next_deb + 1) % DEB_CACHE_MAX;
	*ret = d;
	return 0;
}

/* ---- the chain for one package version ---- */

struct chain {
	struct prov_deb *deb;	/* borrowed from the cache */
	char *deb_path;		/* without the root */
	bool deb_matches_index;
	bool index_verified;	/* Packages in an InRelease with a good signature, in date */
	bool key_allowed;
	bool repo_known, repo_is_allowed;
	bool denied;		/* something contradicts the chain */
	char *uri, *suite, *component, *fpr;
	char *reason;		/* why the chain is not complete */
};

static void chain_release(struct chain *ch)
{
	free(ch->deb_path);
	free(ch->uri);
	free(ch->suite);
	free(ch->component);
	free(ch->fpr);
	free(ch->reason);
	memset(ch, 0, sizeof(*ch));
}

static bool chain_signed(const struct chain *ch)
{
	return ch->deb && ch->deb_matches_index && ch->index_verified && ch->key_allowed &&
	       ch->repo_is_allowed;
}

static int chain_rank(const struct chain *ch)
{
	return chain_signed(ch) ? 4 : ch->deb && ch->deb_matches_index ? 3 : ch->deb ? 2
				     : ch->repo_known			   ? 1
									   : 0;
}

/* Finds the .deb for one index entry: the apt cache, else the file: repository itself. */
static int deb_locate(struct prov_ctx *c, const char *name, const char *version,
		      const struct index_entry *e, const struct prov_source *src, struct chain *ch)
{
	_cleanup_free_ char *cname = NULL, *cached = NULL, *inrepo = NULL;
	struct prov_deb *d = NULL;
	int r;

	r = prov_deb_cache_name(name, version, e->arch, &cname);
	if (r < 0)
		return r;
	if (asprintf(&cached, "/var/cache/apt/archives/%s", cname) < 0)
		return -ENOMEM;
	if (src && strncmp(src->uri, "file:", 5) == 0 && !strstr(e->filename, "..")) {
		const char *p = src->uri + 5;

		if (p[0] == '/' && p[1] == '/')
			p += 2; /* file:///srv/repo */
		if (p[0] == '/' && asprintf(&inrepo, "%s/%s", p, e->filename) < 0)
			return -ENOMEM;
	}
	for (int i = 0; i < 2 && !d; i++) {
		const char *rel = i == 0 ? cached : inrepo;
		_cleanup_free_ char *full = NULL;

		if (!rel)
			continue;
		full = rooted(c, rel);
		if (!full)
			return -ENOMEM;
		r = deb_get(c, full, &d);
		if (r == -ENOMEM)
			return r;
		if (r == 0) {
			ch->deb = d;
			free(ch->deb_path);
			ch->deb_path = strdup(rel);
			if (!ch->deb_path)
				return -ENOMEM;
		} else if (r != -ENOENT) {
			r = reason_set(&ch->reason, "cannot read '%s': %s", rel,
				       r == -EBADMSG ? "not a valid .deb" : strerror(-r));
			if (r < 0)
				return r;
		}
	}
	if (!d)
		return reason_set(&ch->reason, "no .deb of %s %s in the apt cache%s", name, version,
				  inrepo ? " or its file: repository" : "");
	ch->deb_matches_index = e->has_sha256 && memcmp(d->sha256, e->sha256, SHA256_LEN) == 0 &&
				(e->size == 0 || e->size == d->size);
	if (!ch->deb_matches_index)
		return reason_set(&ch->reason, "'%s' does not match the SHA256 of the index",
				  ch->deb_path);
	return 0;
}

static int chain_try(struct prov_ctx *c, const struct prov_query *q,
		     const struct prov_source_list *sources, const char *lists_dir,
		     const struct lists_file *lf, const char *name, const char *version,
		     const struct index_entry *e, struct chain *ch)
{
	_cleanup_free_ char *rel_path = NULL, *inrel_name = NULL, *inrel = NULL;
	_cleanup_buf_ struct buf joined;
	const struct prov_source *src = NULL;
	const struct prov_repo *allowed;
	const char *comp = NULL;
	struct release *rel = NULL;
	char **keyrings = NULL;
	size_t n_keyrings = 0;
	const struct release_sum *sum;
	int r;

	buf_init(&joined, 1 << 16);
	r = source_of_lists(sources, lf->name, &src, &comp, &rel_path, &inrel_name);
	if (r < 0)
		goto out;
	if (r == 0) {
		r = deb_locate(c, name, version, e, NULL, ch);
		if (r == 0)
			r = reason_set(&ch->reason,
				       "index '%s' belongs to no configured apt source", lf->name);
		goto out;
	}
	ch->repo_known = true;
	ch->uri = strdup(src->uri);
	ch->suite = strdup(src->suite);
	ch->component = strdup(comp);
	if (!ch->uri || !ch->suite || !ch->component) {
		r = -ENOMEM;
		goto out;
	}
	r = deb_locate(c, name, version, e, src, ch);
	if (r < 0)
		goto out;
	allowed = repo_allowed(q, src->uri, src->suite, comp);
	ch->repo_is_allowed = allowed != NULL;
	if (!allowed) {
		ch->denied = true;
		free(ch->reason);
		ch->reason = NULL;
		r = reason_set(&ch->reason,
			       "repository '%s' suite '%s' component '%s' is not allowed", src->uri,
			       src->suite, comp);
		goto out;
	}
	r = keyrings_for(c, q, src, &joined, &keyrings, &n_keyrings);
	if (r < 0)
		goto out;
	if (asprintf(&inrel, "%s/%s", lists_dir, inrel_name) < 0) {
		inrel = NULL;
		r = -ENOMEM;
		goto out;
	}
	r = release_get(c, inrel, keyrings, n_keyrings, buf_str(&joined), &rel);
	if (r == -ENOENT) {
		r = reason_set(&ch->reason, "no InRelease for '%s' %s in the apt lists", src->uri,
			       src->suite);
		goto out;
	}
	if (r < 0)
		goto out;
	if (rel->bad) {
		ch->denied = true;
		r = reason_set(&ch->reason, "bad signature on the InRelease of '%s' %s", src->uri,
			       src->suite);
		goto out;
	}
	if (!rel->good) {
		r = reason_set(&ch->reason, "no valid signature on the InRelease of '%s' %s%s%s",
			       src->uri, src->suite, rel->diag ? ": " : "", rel->diag ?: "");
		goto out;
	}
	for (size_t i = 0; i < rel->n_sigs && !ch->key_allowed; i++)
		for (size_t k = 0; k < allowed->n_fingerprints; k++)
			if (prov_fpr_equal(allowed->fingerprints[k], rel->primary[i]) ||
			    prov_fpr_equal(allowed->fingerprints[k], rel->fpr[i])) {
				ch->key_allowed = true;
				ch->fpr = strdup(rel->primary[i]);
				if (!ch->fpr) {
					r = -ENOMEM;
					goto out;
				}
				break;
			}
	if (!ch->key_allowed) {
		ch->denied = true;
		ch->fpr = strdup(rel->primary[0]);
		r = ch->fpr ? 0 : -ENOMEM;
		if (r == 0)
			r = reason_set(&ch->reason, "key %s that signed '%s' %s is not allowed",
				       rel->primary[0], src->uri, src->suite);
		goto out;
	}
	if ((rel->suite || rel->codename) && !(rel->suite && strcmp(rel->suite, src->suite) == 0) &&
	    !(rel->codename && strcmp(rel->codename, src->suite) == 0)) {
		ch->denied = true;
		r = reason_set(&ch->reason, "InRelease of '%s' is for suite '%s', not '%s'",
			       src->uri, rel->suite ?: rel->codename, src->suite);
		goto out;
	}
	if (rel->valid_until_bad || (rel->valid_until_ns && rel->valid_until_ns < q->change_ns)) {
		r = reason_set(&ch->reason, "InRelease of '%s' %s %s", src->uri, src->suite,
			       rel->valid_until_bad ? "has a malformed Valid-Until"
						    : "had expired");
		goto out;
	}
	sum = strmap_get(&rel->sums, rel_path, strlen(rel_path));
	if (!sum || !lf->ok || memcmp(sum->sha256, lf->content_sha256, SHA256_LEN) != 0) {
		r = reason_set(&ch->reason, "index '%s' is %s the signed InRelease", lf->name,
			       sum ? "not the one listed in" : "not listed in");
		goto out;
	}
	ch->index_verified = true;
	r = 0;
out:
	if (keyrings) {
		for (size_t i = 0; i < n_keyrings; i++)
			free(keyrings[i]);
		free(keyrings);
	}
	return r;
}

/* Follows the chain for name/version/arch through every index that lists it; keeps the
 * best.  ch->reason says what is missing when it is not complete. */
static int chain_for(struct prov_ctx *c, const struct prov_query *q, const char *name,
		     const char *version, const char *arch, struct chain *ret)
{
	_cleanup_free_ char *lists_dir = rooted(c, "/var/lib/apt/lists");
	struct prov_source_list sources = { 0 };
	struct chain best = { 0 };
	struct dirent **names = NULL;
	size_t tried = 0;
	int n = -1, r;

	if (!lists_dir)
		return -ENOMEM;
	r = sources_load(c, &sources);
	if (r < 0)
		goto out;
	n = scandir(lists_dir, &names, NULL, alphasort);
	for (int i = 0; i < n && tried < PROV_CANDIDATES_MAX && chain_rank(&best) < 4; i++) {
		struct lists_file *lf = NULL;
		struct index_entry *e = NULL, found_e = { 0 };
		struct packages_scan s = { .c = c, .name = name, .version = version, .arch = arch };
		struct chain ch = { 0 };
		_cleanup_free_ char *key = NULL;

		if (!is_packages_name(names[i]->d_name))
			continue;
		r = lists_file_get(c, lists_dir, names[i]->d_name, &lf);
		if (r == -E2BIG)
			continue;
		if (r < 0)
			goto out;
		if (strmap_get(&c->pkg_by_key, name, strlen(name))) {
			const char *archs[2] = { arch, "all" };

			for (int k = 0; k < 2 && !e; k++) {
				free(key);
				if (asprintf(&key, "%s\n%s\n%s", name, version, archs[k]) < 0) {
					key = NULL;
					r = -ENOMEM;
					goto out;
				}
				e = strmap_get(&lf->entries, key, strlen(key));
			}
		} else {
			/* not installed (a removed package): read this file once more */
			_cleanup_free_ char *path = NULL;
			uint8_t sha[SHA256_LEN];

			if (asprintf(&path, "%s/%s", lists_dir, names[i]->d_name) < 0) {
				r = -ENOMEM;
				goto out;
			}
			r = packages_stream(path, &s, sha);
			if (r == -ENOMEM)
				goto out;
			if (s.have_found) {
				found_e = s.found;
				e = &found_e;
			}
		}
		if (!e)
			continue;
		tried++;
		r = chain_try(c, q, &sources, lists_dir, lf, name, version, e, &ch);
		free(found_e.filename);
		free(found_e.arch);
		if (r < 0) {
			chain_release(&ch);
			goto out;
		}
		if (chain_rank(&ch) > chain_rank(&best) || (best.reason == NULL && tried == 1)) {
			chain_release(&best);
			best = ch;
		} else {
			chain_release(&ch);
		}
	}
	if (tried == 0) {
		/* no index lists it: the apt cache may still hold the .deb */
		struct index_entry e = { .filename = (char *)"", .arch = (char *)arch };

		for (int k = 0; k < 2 && !best.deb; k++) {
			e.arch = (char *)(k == 0 ? arch : "all");
			r = deb_locate(c, name, version, &e, NULL, &best);
			if (r < 0)
				goto out;
		}
		if (best.deb) {
			free(best.reason);
			best.reason = NULL;
		}
		r = reason_set(&best.reason, "no apt index lists %s %s %s", name, version, arch);
		if (r < 0)
			goto out;
	}
	*ret = best;
	memset(&best, 0, sizeof(best));
	r = 0;
out:
	chain_release(&best);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	prov_source_list_release(&sources);
	return r;
}

/* ---- results ---- */

static int dup_to(char **dst, const char *s)
{
	free(*dst);
	*dst = NULL;
	if (!s)
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

static int result_chain(struct prov_result *res, const struct chain *ch)
{
	char hex[2 * SHA256_LEN + 1];
	int r;

	r = dup_to(&res->deb_path, ch->deb_path);
	if (r == 0 && ch->deb) {
		prov_hex(ch->deb->sha256, SHA256_LEN, hex);
		r = dup_to(&res->deb_sha256, hex);
	}
	if (r == 0)
		r = dup_to(&res->repo_uri, ch->uri);
	if (r == 0)
		r = dup_to(&res->suite, ch->suite);
	if (r == 0)
		r = dup_to(&res->component, ch->component);
	if (r == 0)
		r = dup_to(&res->key_fingerprint, ch->fpr);
	return r;
}

static int result_event(struct prov_result *res, const struct event *ev)
{
	res->dpkg_ns = ev->kind ? ev->ns : 0;
	return dup_to(&res->action, ev->kind ? ev->action : NULL);
}

/* ---- a file that exists ---- */

/* The dpkg action (dpkg.log, else apt's history) that installed p's version nearest
 * the change. */
static void install_find(struct prov_ctx *c, const struct prov_query *q, const struct pkg *p,
			 struct install_want *want, unsigned *bad)
{
	want->q = q;
	want->name = p->name;
	want->arch = p->arch;
	want->version = p->version;
	dpkg_log_scan(c, q, install_event, want, bad);
	if (want->best.kind == EV_NONE)
		history_scan(c, q, install_event, want);
}

static int check_present(struct prov_ctx *c, const struct prov_query *q, struct prov_result *res)
{
	struct install_want want = { 0 };
	struct chain ch = { 0 };
	const char *owner;
	struct pkg *p;
	const uint8_t *member = NULL;
	bool cover = true, denied = false, strong;
	unsigned bad = 0;
	int r;

	owner = strmap_get(&c->owners, q->path, strlen(q->path));
	if (!owner) {
		res->level = PROV_NONE;
		r = reason_set(&res->reason, "no installed package owns '%s'%s", q->path,
			       c->owners_truncated ? " (the dpkg file lists were cut at the limit)"
						   : "");
		goto out;
	}
	res->level = PROV_OWNED;
	{
		const char *colon = strchr(owner, ':');
		_cleanup_free_ char *nm = strndup(owner, colon ? (size_t)(colon - owner)
							       : strlen(owner));

		if (!nm) {
			r = -ENOMEM;
			goto out;
		}
		p = pkg_find(c, nm, colon ? colon + 1 : NULL);
		r = dup_to(&res->package, nm);
		if (r < 0)
			goto out;
	}
	if (!p || !p->version || !p->arch) {
		r = reason_set(&res->reason,
			       "package '%s' lists '%s' but has no usable entry in the dpkg "
			       "status%s",
			       res->package, q->path,
			       c->status_bad ? " (malformed stanzas skipped)" : "");
		goto out;
	}
	if ((r = dup_to(&res->arch, p->arch)) < 0 || (r = dup_to(&res->version, p->version)) < 0)
		goto out;
	res->conffile = pkg_has_conffile(p, q->path);

	install_find(c, q, p, &want, &bad);
	r = result_event(res, &want.best);
	if (r < 0)
		goto out;

	r = chain_for(c, q, p->name, p->version, p->arch, &ch);
	if (r < 0)
		goto out;
	r = result_chain(res, &ch);
	if (r < 0)
		goto out;
	denied = ch.denied;
	strong = chain_signed(&ch);
	if (ch.deb)
		member = prov_deb_member(ch.deb, q->path);
	if (q->no_content) {
		/* nothing to compare: the package's proven chain and its dpkg action speak */
		res->level = PROV_OWNED;
	} else if (ch.deb && member && memcmp(member, q->sha256, SHA256_LEN) == 0) {
		res->level = strong ? PROV_SIGNED : PROV_CONTENT;
	} else if (ch.deb && member) {
		/* content differs from what the package shipped */
		res->level = PROV_OWNED;
		if (res->conffile) {
			cover = q->cover_conffiles;
			if (!cover)
				r = reason_set(&res->reason,
					       "conffile '%s' differs from %s %s and conffile "
					       "changes are not covered",
					       q->path, p->name, p->version);
		} else {
			denied = true;
			r = reason_set(&res->reason, "'%s' differs from its copy in '%s' (%s %s)",
				       q->path, ch.deb_path, p->name, p->version);
		}
	} else if (ch.deb && !ch.deb->truncated) {
		/* listed by the package, not shipped in it: made by a maintainer script */
		res->level = PROV_OWNED;
		cover = q->cover_created;
		if (!cover)
			r = reason_set(&res->reason,
				       "'%s' is not in '%s': created by a maintainer script of %s, "
				       "which is not covered",
				       q->path, ch.deb_path, p->name);
	} else {
		res->level = PROV_OWNED;
	}
	if (r < 0)
		goto out;
	if (!pkg_installed(p)) {
		r = reason_set(&res->reason, "package '%s' is not fully installed (status '%s')",
			       p->name, p->status ?: "");
		goto out;
	}
	if (want.best.kind == EV_NONE) {
		r = reason_set(&res->reason,
			       "no dpkg install or upgrade of %s %s near the change of '%s'%s",
			       p->name, p->version, q->path,
			       bad ? " (malformed dpkg.log lines)" : "");
		goto out;
	}
	if (denied || !cover) {
		r = reason_set(&res->reason, "%s", ch.reason ?: "the package chain was rejected");
		goto out;
	}
	if (strong && (res->level == PROV_SIGNED || res->level == PROV_OWNED)) {
		/* a full chain, or a covered conffile/created file of a fully proven package */
		res->authorized = true;
	} else if (q->accept_weaker && res->level >= PROV_OWNED) {
		res->authorized = true;
	} else {
		r = reason_set(&res->reason, "only %s evidence for '%s' (%s %s): %s",
			       prov_level_name(res->level), q->path, p->name, p->version,
			       ch.reason ?: "the chain is incomplete");
		goto out;
	}
	r = 0;
out:
	chain_release(&ch);
	return r;
}

/* ---- a package object ---- */

/*
 * The version of a package now installed: dpkg installed or upgraded to it within the
 * slack, and the repositories' chain for that name, version and architecture (the .deb
 * in apt's cache equal to the signed index's entry) is signed by an allowed key.
 */
static int check_package_object(struct prov_ctx *c, const struct prov_query *q,
				struct prov_result *res)
{
	struct install_want want = { 0 };
	struct chain ch = { 0 };
	const char *colon = strrchr(q->package, ':');
	_cleanup_free_ char *name = NULL;
	struct pkg *p;
	unsigned bad = 0;
	int r;

	name = strndup(q->package, colon ? (size_t)(colon - q->package) : strlen(q->package));
	if (!name)
		return -ENOMEM;
	r = dup_to(&res->package, name);
	if (r < 0)
		return r;
	res->level = PROV_NONE;
	if (!q->version)
		return reason_set(&res->reason, "package '%s' was removed: a repository proves what "
						"is installed, not what is gone",
				  q->package);
	p = pkg_find(c, name, colon ? colon + 1 : NULL);
	if (!p || !p->version || !p->arch || strcmp(p->version, q->version) != 0)
		return reason_set(&res->reason, "the dpkg status does not show %s %s installed",
				  q->package, q->version);
	if ((r = dup_to(&res->arch, p->arch)) < 0 || (r = dup_to(&res->version, p->version)) < 0)
		return r;
	res->level = PROV_OWNED;
	install_find(c, q, p, &want, &bad);
	r = result_event(res, &want.best);
	if (r == 0)
		r = chain_for(c, q, p->name, p->version, p->arch, &ch);
	if (r == 0)
		r = result_chain(res, &ch);
	if (r < 0)
		goto out;
	if (ch.deb)
		res->level = chain_signed(&ch) ? PROV_SIGNED : PROV_CONTENT;
	if (!pkg_installed(p))
		r = reason_set(&res->reason, "package '%s' is not fully installed (status '%s')",
			       p->name, p->status ?: "");
	else if (want.best.kind == EV_NONE)
		r = reason_set(&res->reason, "no dpkg install or upgrade of %s %s near the change%s",
			       p->name, p->version, bad ? " (malformed dpkg.log lines)" : "");
	else if (ch.denied)
		r = reason_set(&res->reason, "%s", ch.reason ?: "the package chain was rejected");
	else if (res->level == PROV_SIGNED || (q->accept_weaker && res->level >= PROV_OWNED))
		res->authorized = true;
	else
		r = reason_set(&res->reason, "only %s evidence for %s %s: %s",
			       prov_level_name(res->level), p->name, p->version,
			       ch.reason ?: "the chain is incomplete");
out:
	chain_release(&ch);
	return r;
}

/* ---- a file that was removed ---- */

struct removal_events {
	struct event v[PROV_EVENTS_MAX];
	size_t n;
};

static void removal_event(const struct event *ev, void *userdata)
{
	struct removal_events *re = userdata;

	if (ev->kind != EV_UNPACK && ev->kind != EV_HISTORY)
		return;
	if (strcmp(ev->action, "remove") != 0 && strcmp(ev->action, "purge") != 0 &&
	    strcmp(ev->action, "upgrade") != 0)
		return;
	if (!ev->old_version[0] || strcmp(ev->old_version, "<none>") == 0)
		return;
	for (size_t i = 0; i < re->n; i++)
		if (strcmp(re->v[i].package, ev->package) == 0 &&
		    strcmp(re->v[i].old_version, ev->old_version) == 0 &&
		    strcmp(re->v[i].action, ev->action) == 0)
			return;
	if (re->n < PROV_EVENTS_MAX)
		re->v[re->n++] = *ev;
}

static int check_removed(struct prov_ctx *c, const struct prov_query *q, struct prov_result *res)
{
	struct removal_events *re = calloc(1, sizeof(*re));
	const char *owner;
	bool tied_any = false;
	unsigned bad = 0;
	int r = 0;

	if (!re)
		return -ENOMEM;
	owner = strmap_get(&c->owners, q->path, strlen(q->path));
	if (owner) {
		res->level = PROV_NONE;
		r = reason_set(&res->reason, "'%s' was removed but package '%s' still lists it",
			       q->path, owner);
		goto out;
	}
	dpkg_log_scan(c, q, removal_event, re, &bad);
	if (re->n == 0)
		history_scan(c, q, removal_event, re);
	if (re->n == 0) {
		r = reason_set(&res->reason,
			       "no dpkg removal or upgrade near the removal of '%s'%s", q->path,
			       bad ? " (malformed dpkg.log lines)" : "");
		goto out;
	}
	for (size_t i = 0; i < re->n && !res->authorized; i++) {
		const struct event *ev = &re->v[i];
		struct chain old = { 0 }, cur = { 0 };
		enum prov_level level;
		bool denied, upgrade = strcmp(ev->action, "upgrade") == 0;
		const char *arch = ev->arch[0] ? ev->arch : NULL;
		struct pkg *p = pkg_find(c, ev->package, arch);

		if (!arch)
			arch = p && p->arch ? p->arch : "all";
		r = chain_for(c, q, ev->package, ev->old_version, arch, &old);
		if (r < 0)
			goto out;
		if (!old.deb || !prov_deb_member(old.deb, q->path)) {
			/* this package did not ship the file, or its old .deb is gone */
			chain_release(&old);
			continue;
		}
		tied_any = true;
		level = chain_signed(&old) ? PROV_SIGNED : PROV_CONTENT;
		/* what the old version came from does not matter once it is gone; what an
		 * upgrade brought in does */
		denied = false;
		if (upgrade) {
			r = chain_for(c, q, ev->package, ev->new_version, arch, &cur);
			if (r < 0) {
				chain_release(&old);
				goto out;
			}
			if (!chain_signed(&cur) && level == PROV_SIGNED)
				level = cur.deb ? PROV_CONTENT : PROV_OWNED;
			denied = denied || cur.denied;
		}
		/* the best attempt so far goes into the result */
		prov_result_release(res);
		res->level = level;
		if ((r = dup_to(&res->package, ev->package)) < 0 ||
		    (r = dup_to(&res->arch, arch)) < 0 ||
		    (r = dup_to(&res->version, upgrade ? ev->new_version : ev->old_version)) < 0 ||
		    (r = result_event(res, ev)) < 0 ||
		    (r = result_chain(res, upgrade && cur.deb ? &cur : &old)) < 0) {
			chain_release(&old);
			chain_release(&cur);
			goto out;
		}
		res->conffile = p && pkg_has_conffile(p, q->path);
		if (denied)
			r = reason_set(&res->reason, "%s",
				       (upgrade && cur.denied ? cur.reason : old.reason)
					       ?: "rejected");
		else if (level == PROV_SIGNED || q->accept_weaker)
			res->authorized = true;
		else
			r = reason_set(&res->reason,
				       "only %s evidence for the removal of '%s' by %s %s: %s",
				       prov_level_name(level), q->path, ev->package, ev->action,
				       (upgrade && !chain_signed(&cur) ? cur.reason : old.reason)
					       ?: "the chain is incomplete");
		chain_release(&old);
		chain_release(&cur);
		if (r < 0)
			goto out;
	}
	if (!tied_any)
		r = reason_set(&res->reason,
			       "no package removed or upgraded near the change shipped '%s' in a "
			       ".deb that can still be read",
			       q->path);
out:
	free(re);
	return r;
}

int prov_check(struct prov_ctx *c, const struct prov_query *q, struct prov_result *res)
{
	int r;

	memset(res, 0, sizeof(*res));
	if (!c || !q || (!q->package && (!q->path || q->path[0] != '/')))
		return -EINVAL;
	r = db_load(c);
	if (r < 0)
		goto out;
	if (q->package)
		r = check_package_object(c, q, res);
	else
		r = q->sha256 || q->no_content ? check_present(c, q, res) : check_removed(c, q, res);
	if (r < 0)
		goto out;
	if (!res->authorized && !res->reason)
		r = reason_set(&res->reason, "'%s' is not proven to come from an allowed package",
			       q->package ? q->package : q->path);
out:
	if (r < 0)
		prov_result_release(res);
	return r;
}

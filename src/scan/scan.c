/*
 * The walker, the reader pool and the ordered hand-over to the caller.
 *
 * Order matters: the caller pairs observations with a baseline read in key order, and
 * emits changes in a stable order.  Items therefore enter a window in the order the
 * walker creates them; readers complete them in any order; the caller takes them out in
 * creation order.  The window bounds memory whatever the tree holds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/buf.h"
#include "scan/scan-attr.h"
#include "scan/scan.h"
#include "base/banned.h"

struct scan_dirref {
	int fd;
	int refs;
};

struct idname {
	uint32_t id;
	char *name; /* NULL: unknown */
};

struct idcache {
	struct idname *v;
	size_t n;
};

struct walker {
	const struct scan_opts *o;
	const struct policy *policy;

	pthread_mutex_t mu;
	pthread_cond_t cv_space, cv_work, cv_done;
	struct scan_item *ring[SCAN_WINDOW];
	uint64_t produced, consumed;
	struct scan_item *work_head, *work_tail;
	size_t work_len;
	unsigned n_readers;
	bool walk_finished, stop;
	int fatal;

	struct scan_item *pending[128];	/* walker-side batch, see flush_pending() */
	size_t n_pending;

	struct buf path;
	struct idcache users, groups;
	dev_t root_dev;

	/* baseline cursor */
	bool b_valid, b_end;
	const char *b_path;
	size_t b_len;
	struct object_state *b_state;

	struct scan_stats stats;
};

static struct scan_dirref *dirref_new(int fd)
{
	struct scan_dirref *d = malloc(sizeof(*d));

	if (!d)
		return NULL;
	d->fd = fd;
	d->refs = 1;
	return d;
}

static void dirref_get(struct scan_dirref *d)
{
	__atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
}

static void dirref_put(struct scan_dirref *d)
{
	if (d && __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		close(d->fd);
		free(d);
	}
}

static void item_free(struct scan_item *it)
{
	if (!it)
		return;
	object_state_release(&it->cur);
	object_state_release(&it->base);
	dirref_put(it->dir);
	free(it->name);
	free(it->path);
	free(it);
}

static struct scan_item *item_new(const char *path, size_t len)
{
	struct scan_item *it = calloc(1, sizeof(*it));

	if (!it)
		return NULL;
	it->path = malloc(len + 1);
	if (!it->path) {
		free(it);
		return NULL;
	}
	memcpy(it->path, path, len);
	it->path[len] = '\0';
	it->path_len = len;
	return it;
}

/*
 * Moves the walker's pending items into the window under one lock: per-item locking
 * and wake-ups cost more than the lstat() of a file whose metadata is unchanged.
 */
static int flush_pending(struct walker *W)
{
	size_t n = W->n_pending;
	bool wake_consumer = false, wake_readers = false;

	if (n == 0)
		return 0;
	W->n_pending = 0;
	pthread_mutex_lock(&W->mu);
	while (!W->stop && W->produced + n - W->consumed > SCAN_WINDOW)
		pthread_cond_wait(&W->cv_space, &W->mu);
	if (W->stop) {
		pthread_mutex_unlock(&W->mu);
		for (size_t i = 0; i < n; i++)
			item_free(W->pending[i]);
		return -ECANCELED;
	}
	for (size_t i = 0; i < n; i++) {
		struct scan_item *it = W->pending[i];

		it->seq = W->produced++;
		W->ring[it->seq % SCAN_WINDOW] = it;
		if (it->dir) {
			it->next = NULL;
			if (W->work_tail)
				W->work_tail->next = it;
			else
				W->work_head = it;
			W->work_tail = it;
			W->work_len++;
			wake_readers = true;
		} else {
			it->done = true;
			if (it->seq == W->consumed)
				wake_consumer = true;
		}
	}
	if (wake_readers)
		pthread_cond_broadcast(&W->cv_work);
	if (wake_consumer)
		pthread_cond_signal(&W->cv_done);
	pthread_mutex_unlock(&W->mu);
	return 0;
}

/* Hands an item to the window (in batches); it goes to a reader when it has a dir. */
static int push_item(struct walker *W, struct scan_item *it)
{
	W->pending[W->n_pending++] = it;
	if (W->n_pending == ARRAY_SIZE(W->pending))
		return flush_pending(W);
	return 0;
}

/* ---- baseline cursor ---- */

static int base_fill(struct walker *W)
{
	int r;

	if (W->b_valid || W->b_end || !W->o->baseline)
		return 0;
	r = W->o->baseline->next(W->o->baseline->ud, &W->b_path, &W->b_len, &W->b_state);
	if (r < 0)
		return r;
	if (r == 0)
		W->b_end = true;
	else
		W->b_valid = true;
	return 0;
}

/* Moves the cursor's state into dst (initialised) and advances. */
static void base_take_current(struct walker *W, struct object_state *dst)
{
	*dst = *W->b_state;
	object_state_init(W->b_state);
	W->b_valid = false;
}

/* Emits baseline objects that sort before path (or all when path is NULL). */
static int base_flush_before(struct walker *W, const char *path, size_t len)
{
	for (;;) {
		struct scan_item *it;
		int r = base_fill(W);

		if (r < 0)
			return r;
		if (!W->b_valid)
			return 0;
		if (path && path_cmp(W->b_path, W->b_len, path, len) >= 0)
			return 0;
		it = item_new(W->b_path, W->b_len);
		if (!it)
			return -ENOMEM;
		it->has_base = true;
		base_take_current(W, &it->base);
		r = push_item(W, it);
		if (r < 0)
			return r;
	}
}

/* If the cursor is at path, moves its state into it. */
static int base_take(struct walker *W, const char *path, size_t len, struct scan_item *it)
{
	int r = base_flush_before(W, path, len);

	if (r < 0)
		return r;
	if (W->b_valid && path_cmp(W->b_path, W->b_len, path, len) == 0) {
		base_take_current(W, &it->base);
		it->has_base = true;
	}
	return 0;
}

/* Baseline objects below dir could not be examined because dir could not be read. */
static int base_flush_under(struct walker *W, const char *dir, size_t len, int err)
{
	for (;;) {
		struct scan_item *it;
		int r = base_fill(W);

		if (r < 0)
			return r;
		if (!W->b_valid || W->b_len <= len || memcmp(W->b_path, dir, len) != 0 ||
		    (W->b_path[len] != '/' && !(len == 1 && dir[0] == '/')))
			return 0;
		it = item_new(W->b_path, W->b_len);
		if (!it)
			return -ENOMEM;
		it->has_base = true;
		it->err = err;
		it->err_op = "opendir";
		it->err_below = true;
		base_take_current(W, &it->base);
		r = push_item(W, it);
		if (r < 0)
			return r;
	}
}

/* ---- names of users and groups ---- */

static const char *idcache_get(struct idcache *c, uint32_t id, bool group)
{
	struct idname *nv;
	char buf[4096];
	char *name = NULL;

	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].id == id)
			return c->v[i].name;
	if (c->n >= 4096)
		return NULL; /* bounded: a tree with more owners than this gets numbers */
	if (group) {
		struct group g, *res = NULL;

		if (getgrgid_r(id, &g, buf, sizeof(buf), &res) == 0 && res)
			name = strdup(res->gr_name);
	} else {
		struct passwd p, *res = NULL;

		if (getpwuid_r(id, &p, buf, sizeof(buf), &res) == 0 && res)
			name = strdup(res->pw_name);
	}
	nv = realloc(c->v, (c->n + 1) * sizeof(*nv));
	if (!nv) {
		free(name);
		return NULL;
	}
	c->v = nv;
	nv[c->n].id = id;
	nv[c->n++].name = name;
	return name;
}

static void idcache_release(struct idcache *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].name);
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

static int set_names(struct idcache *users, struct idcache *groups, struct object_state *s,
		     uint32_t attrs)
{
	const char *n;

	if (attrs & ATTR_BIT(ATTR_UID)) {
		n = idcache_get(users, s->uid, false);
		if (n && !(s->owner = strdup(n)))
			return -ENOMEM;
	}
	if (attrs & ATTR_BIT(ATTR_GID)) {
		n = idcache_get(groups, s->gid, true);
		if (n && !(s->group = strdup(n)))
			return -ENOMEM;
	}
	return 0;
}

/* ---- reading objects ---- */

static bool meta_changed(const struct object_state *b, const struct object_state *c)
{
	return b->type != c->type || b->size != c->size || b->mtime_ns != c->mtime_ns ||
	       b->ctime_ns != c->ctime_ns || b->ino != c->ino || b->dev != c->dev;
}

/* Takes the values that need a read from the baseline (metadata says nothing changed). */
static int inherit_from_base(struct object_state *cur, const struct object_state *b,
			     uint32_t attrs)
{
	uint32_t m = attrs & b->attrs & (ATTR_MASK_HASHES | ATTR_MASK_EXTRA | ATTR_BIT(ATTR_TARGET));
	struct object_state tmp;
	int r;

	r = object_state_copy(&tmp, b);
	if (r < 0)
		return r;
	memcpy(cur->sha256, tmp.sha256, sizeof(cur->sha256));
	memcpy(cur->sha512, tmp.sha512, sizeof(cur->sha512));
	memcpy(cur->sha3_256, tmp.sha3_256, sizeof(cur->sha3_256));
	memcpy(cur->blake2b512, tmp.blake2b512, sizeof(cur->blake2b512));
	cur->target = tmp.target;
	cur->xattrs = tmp.xattrs;
	cur->acl = tmp.acl;
	cur->selinux = tmp.selinux;
	cur->caps = tmp.caps;
	free(tmp.owner);
	free(tmp.group);
	cur->attrs |= m;
	return 0;
}

static int open_dir_at(int dirfd, const char *name)
{
	int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
	int fd = openat(dirfd, name, flags | O_NOATIME);

	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name, flags);
	return fd < 0 ? -errno : fd;
}

static int walk_dir(struct walker *W, struct scan_dirref *d, const struct policy_dir *pd,
		    unsigned depth);

static int path_push(struct walker *W, const char *name, size_t *saved)
{
	*saved = W->path.len;
	if (!(W->path.len == 1 && W->path.data[0] == '/')) {
		int r = buf_putc(&W->path, '/');

		if (r < 0)
			return r;
	}
	return buf_puts(&W->path, name);
}

static void path_pop(struct walker *W, size_t saved)
{
	W->path.len = saved;
	W->path.data[saved] = '\0';
}

/*
 * Visits the object W->path, named name in directory d (d NULL for "/").  pd is the
 * parent directory's matching state, or NULL for a walk root.
 */
static int visit(struct walker *W, struct scan_dirref *d, const char *name,
		 const struct policy_dir *pd, unsigned depth)
{
	const char *path = W->path.data;
	size_t plen = W->path.len;
	struct policy_dir cpd = { 0 };
	const struct rule *rule;
	struct scan_item *it = NULL;
	struct statx stx;
	struct stat st;
	bool is_dir, want_below = false, need_read = false;
	int dfd = -1, r;

	r = base_flush_before(W, path, plen);
	if (r < 0)
		return r;
	/* statx gives the inode flags too (immutable, append-only): no open, no ioctl */
	if (statx(d ? d->fd : AT_FDCWD, d ? name : "/", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS,
		  &stx) < 0) {
		int e = -errno;

		if (e == -ENOENT || e == -ENOTDIR)
			return 0; /* gone: a baseline entry for it will be flushed as missing */
		rule = pd ? policy_dir_decide(W->policy, pd, path, plen)
			  : policy_decide(W->policy, path, plen);
		if (!policy_selected(rule))
			return 0;
		it = item_new(path, plen);
		if (!it)
			return -ENOMEM;
		it->rule = rule;
		it->err = e;
		it->err_op = "lstat";
		r = base_take(W, path, plen, it);
		if (r < 0) {
			item_free(it);
			return r;
		}
		return push_item(W, it);
	}
	stat_from_statx(&st, &stx);
	if (depth == 0)
		W->root_dev = st.st_dev;
	rule = pd ? policy_dir_decide(W->policy, pd, path, plen) : policy_decide(W->policy, path, plen);
	is_dir = S_ISDIR(st.st_mode);
	if (is_dir) {
		r = pd ? policy_dir_enter(W->policy, pd, path, plen, &cpd)
		       : policy_dir_at(W->policy, path, plen, &cpd);
		if (r < 0)
			return r;
		want_below = policy_dir_wanted(W->policy, &cpd);
		if (want_below && depth > 0 && st.st_dev != W->root_dev &&
		    (W->o->one_filesystem || (cpd.inherited && cpd.inherited->one_filesystem)))
			want_below = false;
	}
	if (!policy_selected(rule) && !want_below) {
		policy_dir_release(&cpd);
		return 0;
	}
	if (policy_selected(rule)) {
		uint32_t attrs = rule->attrs;

		it = item_new(path, plen);
		if (!it) {
			r = -ENOMEM;
			goto out;
		}
		it->rule = rule;
		it->has_cur = true;
		object_state_from_statx(&it->cur, &stx);
		it->cur.attrs = attrs & ~(ATTR_MASK_HASHES | ATTR_MASK_EXTRA | ATTR_BIT(ATTR_TARGET));
		r = base_take(W, path, plen, it);
		if (r < 0)
			goto out;
		r = set_names(&W->users, &W->groups, &it->cur, attrs);
		if (r < 0)
			goto out;
		W->stats.objects++;
		need_read = W->o->full || !it->has_base || meta_changed(&it->base, &it->cur) ||
			    (attrs & attr_applicable((enum obj_type)it->cur.type) &
			     (ATTR_MASK_HASHES | ATTR_MASK_EXTRA | ATTR_BIT(ATTR_TARGET)) &
			     ~it->base.attrs);
		if (!need_read) {
			r = inherit_from_base(&it->cur, &it->base, attrs);
			if (r < 0)
				goto out;
		} else if (it->cur.type == OBJ_FILE) {
			if (attrs & (ATTR_MASK_HASHES | ATTR_MASK_EXTRA)) {
				it->name = strdup(name);
				if (!it->name) {
					r = -ENOMEM;
					goto out;
				}
				dirref_get(d);
				it->dir = d;
			}
		} else if (!is_dir) {
			r = scan_read_other(d ? d->fd : AT_FDCWD, d ? name : "/", attrs, &it->cur);
			if (r == -ENOENT) {
				it->has_cur = false;
			} else if (r < 0) {
				it->err = r;
				it->err_op = "read";
			}
		}
	}
	if (is_dir && (want_below || (it && need_read && (it->rule->attrs & ATTR_MASK_EXTRA)))) {
		struct stat dst;

		dfd = d ? open_dir_at(d->fd, name) : open_dir_at(AT_FDCWD, "/");
		if (dfd >= 0 && (fstat(dfd, &dst) < 0 || dst.st_ino != st.st_ino ||
				 dst.st_dev != st.st_dev)) {
			close(dfd);
			dfd = -ESTALE; /* replaced between lstat and open */
		}
		if (dfd < 0) {
			if (!it && dfd != -ENOENT) {
				/* not selected itself, but what is below could not be seen */
				it = item_new(path, plen);
				if (!it) {
					r = -ENOMEM;
					goto out;
				}
				it->rule = cpd.inherited;
			}
			if (it && dfd != -ENOENT) {
				it->err = dfd;
				it->err_op = "opendir";
			}
			if (it) {
				r = push_item(W, it);
				it = NULL;
				if (r < 0)
					goto out;
			}
			r = dfd == -ENOENT ? 0 : base_flush_under(W, path, plen, dfd);
			goto out;
		}
		if (it && need_read && (it->rule->attrs & ATTR_MASK_EXTRA)) {
			r = scan_attr_read(dfd, NULL, it->rule->attrs & ATTR_MASK_EXTRA, &it->cur);
			if (r < 0) {
				it->err = r;
				it->err_op = "read";
			}
		}
	}
	if (it) {
		r = push_item(W, it);
		it = NULL;
		if (r < 0)
			goto out;
	}
	r = 0;
	if (dfd >= 0 && want_below) {
		struct scan_dirref *nd = dirref_new(dfd);

		if (!nd) {
			r = -ENOMEM;
			goto out;
		}
		dfd = -1;
		W->stats.dirs++;
		r = walk_dir(W, nd, &cpd, depth + 1);
		dirref_put(nd);
	}
out:
	if (dfd >= 0)
		close(dfd);
	item_free(it);
	policy_dir_release(&cpd);
	return r;
}

static int cmp_off(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

#define STR_(x) #x
#define STR(x) STR_(x)

/* Reports that the directory W->path could not be walked, and what that hides. */
static int dir_error(struct walker *W, int err, const char *op)
{
	struct scan_item *it = item_new(W->path.data, W->path.len);
	int r;

	if (!it)
		return -ENOMEM;
	it->err = err;
	it->err_op = op;
	r = push_item(W, it);
	if (r < 0)
		return r;
	return base_flush_under(W, W->path.data, W->path.len, err);
}

static int walk_dir(struct walker *W, struct scan_dirref *d, const struct policy_dir *pd,
		    unsigned depth)
{
	struct buf names;
	char **list = NULL;
	size_t n = 0, cap = 0;
	DIR *dir;
	struct dirent *de;
	int fd, r = 0;

	if (depth > SCAN_MAX_DEPTH)
		return dir_error(W, -ELOOP, "descend (more than " STR(SCAN_MAX_DEPTH) " levels) into");
	fd = fcntl(d->fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	buf_init(&names, SIZE_MAX / 2);
	errno = 0;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' &&
		    (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		if (n >= SCAN_MAX_DIR_ENTRIES) {
			r = -E2BIG;
			break;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			char **nl = realloc(list, nc * sizeof(*nl));

			if (!nl) {
				r = -ENOMEM;
				break;
			}
			list = nl;
			cap = nc;
		}
		/* store offsets now, turn them into pointers when the arena stops moving */
		list[n++] = (char *)(uintptr_t)names.len;
		r = buf_append(&names, de->d_name, strlen(de->d_name) + 1);
		if (r < 0)
			break;
		errno = 0;
	}
	if (r == 0 && errno != 0)
		r = -errno;
	closedir(dir);
	if (r < 0 && r != -ENOMEM) {
		/* this directory could not be listed; the rest of the walk goes on */
		free(list);
		buf_release(&names);
		return dir_error(W, r, r == -E2BIG ? "list (too many entries)" : "list");
	}
	if (r == 0) {
		for (size_t i = 0; i < n; i++)
			list[i] = names.data + (uintptr_t)list[i];
		if (n > 1)
			qsort(list, n, sizeof(*list), cmp_off);
		for (size_t i = 0; i < n && r == 0; i++) {
			size_t saved;

			r = path_push(W, list[i], &saved);
			if (r == 0)
				r = visit(W, d, list[i], pd, depth);
			path_pop(W, saved);
		}
	}
	free(list);
	buf_release(&names);
	return r;
}

/* Opens the directory holding root, refusing symlinks on the way. */
static int open_parent(const char *root, size_t len, int *ret_fd, size_t *ret_name_off)
{
	_cleanup_free_ char *copy = strndup(root, len);
	size_t last = len;
	int fd;

	if (!copy)
		return -ENOMEM;
	while (last > 0 && root[last - 1] != '/')
		last--;
	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (size_t i = 1; i < last;) {
		size_t j = i;
		int nfd;

		while (j < last && copy[j] != '/')
			j++;
		copy[j] = '\0';
		nfd = openat(fd, copy + i, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			int e = -errno;
			struct stat st;

			/* say "symlink" rather than "not a directory" when that is the reason */
			if (e == -ENOTDIR && fstatat(fd, copy + i, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				e = -ELOOP;
			close(fd);
			return e;
		}
		close(fd);
		fd = nfd;
		i = j + 1;
	}
	*ret_fd = fd;
	*ret_name_off = last;
	return 0;
}

static int walk_root(struct walker *W, const char *root, size_t len)
{
	struct scan_dirref *d = NULL;
	size_t off = 0;
	int fd = -1, r;

	buf_reset(&W->path);
	r = buf_append(&W->path, root, len);
	if (r < 0)
		return r;
	if (len == 1 && root[0] == '/')
		return visit(W, NULL, "/", NULL, 0);
	r = open_parent(root, len, &fd, &off);
	if (r == -ENOENT)
		return 0; /* nothing there; baseline entries below it will show as removed */
	if (r < 0) {
		/* a symlink or a file where a directory should be: report it at the root */
		struct scan_item *it;
		const struct rule *rule = policy_decide(W->policy, root, len);
		int e = r;

		r = base_flush_before(W, root, len);
		if (r < 0)
			return r;
		it = item_new(root, len);
		if (!it)
			return -ENOMEM;
		it->rule = rule;
		it->err = e;
		it->err_op = "resolve";
		r = base_take(W, root, len, it);
		if (r == 0)
			r = push_item(W, it);
		else
			item_free(it);
		if (r < 0)
			return r;
		return base_flush_under(W, root, len, e);
	}
	d = dirref_new(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	r = visit(W, d, root + off, NULL, 0);
	dirref_put(d);
	return r;
}

static void *walker_main(void *arg)
{
	struct walker *W = arg;
	int r = 0;

	if (W->o->n_roots) {
		for (size_t i = 0; i < W->o->n_roots && r >= 0; i++)
			r = walk_root(W, W->o->roots[i], strlen(W->o->roots[i]));
	} else {
		for (size_t i = 0; i < W->policy->n_roots && r >= 0; i++)
			r = walk_root(W, W->policy->roots[i], W->policy->root_lens[i]);
	}
	if (r >= 0)
		r = base_flush_before(W, NULL, 0);
	if (r >= 0)
		r = flush_pending(W);
	for (size_t i = 0; i < W->n_pending; i++)
		item_free(W->pending[i]);
	W->n_pending = 0;
	pthread_mutex_lock(&W->mu);
	if (r < 0 && r != -ECANCELED && !W->fatal)
		W->fatal = r;
	W->walk_finished = true;
	pthread_cond_broadcast(&W->cv_work);
	pthread_cond_broadcast(&W->cv_done);
	pthread_mutex_unlock(&W->mu);
	return NULL;
}

static void *reader_main(void *arg)
{
	struct walker *W = arg;
	struct scan_reader rd;
	int r;

	r = scan_reader_init(&rd, W->o->hash_attempts, W->o->hooks);
	if (r < 0) {
		pthread_mutex_lock(&W->mu);
		if (!W->fatal)
			W->fatal = r;
		W->stop = true;
		pthread_cond_broadcast(&W->cv_space);
		pthread_cond_broadcast(&W->cv_done);
		pthread_mutex_unlock(&W->mu);
		return NULL;
	}
	for (;;) {
		/* take a run of queued items at once and hand them back at once: the
		 * caller then wakes once per run, not once per file */
		struct scan_item *batch[32];
		size_t nb = 0;
		uint64_t hashed = 0, bytes = 0, unstable = 0, errors = 0;
		bool wake = false;

		pthread_mutex_lock(&W->mu);
		while (!W->work_head && !W->walk_finished && !W->stop)
			pthread_cond_wait(&W->cv_work, &W->mu);
		{
			/* a fair share, so one reader never sits on big files the others wait for */
			size_t share = W->work_len / (W->n_readers ? W->n_readers : 1);

			if (share < 1)
				share = 1;
			if (share > ARRAY_SIZE(batch))
				share = ARRAY_SIZE(batch);
			while (W->work_head && nb < share) {
				batch[nb++] = W->work_head;
				W->work_head = W->work_head->next;
				W->work_len--;
			}
		}
		if (!W->work_head)
			W->work_tail = NULL;
		pthread_mutex_unlock(&W->mu);
		if (nb == 0)
			break;

		for (size_t i = 0; i < nb; i++) {
			struct scan_item *it = batch[i];

			r = scan_read_file(&rd, it->dir->fd, it->name, it->path, it->rule->attrs,
					   it->has_base ? &it->base : NULL, it->rule->growing,
					   &it->cur);
			if (r == -ENOENT) {
				it->has_cur = false;
			} else if (r < 0) {
				it->err = r;
				it->err_op = "read";
				errors++;
			} else {
				hashed++;
				bytes += it->cur.size;
				unstable += it->cur.unstable;
			}
			dirref_put(it->dir);
			it->dir = NULL;
		}

		pthread_mutex_lock(&W->mu);
		W->stats.hashed += hashed;
		W->stats.bytes += bytes;
		W->stats.unstable += unstable;
		W->stats.errors += errors;
		for (size_t i = 0; i < nb; i++) {
			batch[i]->done = true;
			if (batch[i]->seq == W->consumed)
				wake = true;
		}
		if (wake)
			pthread_cond_signal(&W->cv_done);
		pthread_mutex_unlock(&W->mu);
	}
	scan_reader_release(&rd);
	return NULL;
}

int scan_run(const struct scan_opts *o, scan_emit_fn emit, void *ud, struct scan_stats *ret)
{
	struct walker *W;
	pthread_t walker_thread, readers[256];
	unsigned n_readers = o->workers, started = 0;
	struct scan_item *batch[256];
	bool walker_started = false;
	int r = 0;

	if (n_readers == 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);

		n_readers = c > 0 ? (unsigned)c : 1;
	}
	if (n_readers > ARRAY_SIZE(readers))
		n_readers = ARRAY_SIZE(readers);
	W = calloc(1, sizeof(*W));
	if (!W)
		return -ENOMEM;
	W->o = o;
	W->policy = o->policy;
	W->n_readers = n_readers;
	pthread_mutex_init(&W->mu, NULL);
	pthread_cond_init(&W->cv_space, NULL);
	pthread_cond_init(&W->cv_work, NULL);
	pthread_cond_init(&W->cv_done, NULL);
	buf_init(&W->path, SIZE_MAX / 2);
	r = buf_reserve(&W->path, 4096);
	if (r < 0)
		goto out;
	for (; started < n_readers; started++) {
		if (pthread_create(&readers[started], NULL, reader_main, W) != 0) {
			r = -EAGAIN;
			break;
		}
	}
	if (r == 0) {
		if (pthread_create(&walker_thread, NULL, walker_main, W) != 0)
			r = -EAGAIN;
		else
			walker_started = true;
	}
	while (r == 0) {
		size_t nb = 0;

		pthread_mutex_lock(&W->mu);
		for (;;) {
			while (nb < ARRAY_SIZE(batch) && W->consumed < W->produced &&
			       W->ring[W->consumed % SCAN_WINDOW]->done) {
				batch[nb++] = W->ring[W->consumed % SCAN_WINDOW];
				W->ring[W->consumed % SCAN_WINDOW] = NULL;
				W->consumed++;
			}
			if (nb || W->stop || (W->walk_finished && W->consumed == W->produced))
				break;
			pthread_cond_wait(&W->cv_done, &W->mu);
		}
		if (nb)
			pthread_cond_signal(&W->cv_space);
		if (W->stop && W->fatal)
			r = W->fatal;
		pthread_mutex_unlock(&W->mu);
		if (nb == 0)
			break;
		for (size_t i = 0; i < nb; i++) {
			if (r == 0)
				r = emit(ud, batch[i]);
			item_free(batch[i]);
		}
	}
	pthread_mutex_lock(&W->mu);
	W->stop = true;
	pthread_cond_broadcast(&W->cv_space);
	pthread_cond_broadcast(&W->cv_work);
	pthread_mutex_unlock(&W->mu);
	if (walker_started)
		pthread_join(walker_thread, NULL);
	pthread_mutex_lock(&W->mu);
	W->walk_finished = true;
	pthread_cond_broadcast(&W->cv_work);
	pthread_mutex_unlock(&W->mu);
	for (unsigned i = 0; i < started; i++)
		pthread_join(readers[i], NULL);
	if (r == 0 && W->fatal)
		r = W->fatal;
	/* items still in the window after a stop */
	for (uint64_t s = W->consumed; s < W->produced; s++)
		item_free(W->ring[s % SCAN_WINDOW]);
	if (ret)
		*ret = W->stats;
out:
	buf_release(&W->path);
	idcache_release(&W->users);
	idcache_release(&W->groups);
	pthread_mutex_destroy(&W->mu);
	pthread_cond_destroy(&W->cv_space);
	pthread_cond_destroy(&W->cv_work);
	pthread_cond_destroy(&W->cv_done);
	free(W);
	return r;
}

/* ---- one object at a time (the watcher's path) ---- */

struct scan_observer {
	struct scan_reader rd;
	struct idcache users, groups;
};

int scan_observer_new(unsigned hash_attempts, struct scan_observer **ret)
{
	struct scan_observer *ob = calloc(1, sizeof(*ob));
	int r;

	if (!ob)
		return -ENOMEM;
	r = scan_reader_init(&ob->rd, hash_attempts, NULL);
	if (r < 0) {
		free(ob);
		return r;
	}
	*ret = ob;
	return 0;
}

struct scan_observer *scan_observer_free(struct scan_observer *ob)
{
	if (!ob)
		return NULL;
	scan_reader_release(&ob->rd);
	idcache_release(&ob->users);
	idcache_release(&ob->groups);
	free(ob);
	return NULL;
}

void scan_observer_forget_names(struct scan_observer *ob)
{
	idcache_release(&ob->users);
	idcache_release(&ob->groups);
}

/* Opens the directory that holds path without following a symlink on the way. */
static int open_parent_nofollow(const char *path, size_t len, size_t *ret_name_off)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	_cleanup_free_ char *dir = NULL;
	size_t last = len;
	long fd;

	while (last > 0 && path[last - 1] != '/')
		last--;
	if (last == 0)
		return -EINVAL;
	dir = strndup(path, last > 1 ? last - 1 : 1);
	if (!dir)
		return -ENOMEM;
	/* openat2() (Linux 5.6): one call, and RESOLVE_NO_SYMLINKS covers every component */
	fd = syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	*ret_name_off = last;
	return (int)fd;
}

int scan_observe(struct scan_observer *ob, struct scan_item *it)
{
	const struct rule *rule = it->rule;
	uint32_t attrs = rule ? rule->attrs : ATTR_MASK_DEFAULT;
	size_t off = 0;
	struct statx stx;
	int dfd, r;
	bool root = it->path_len == 1 && it->path[0] == '/';

	object_state_init(&it->cur);
	it->has_cur = false;
	it->err = 0;
	if (root) {
		dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return -errno;
	} else {
		dfd = open_parent_nofollow(it->path, it->path_len, &off);
		if (dfd == -ENOENT || dfd == -ENOTDIR)
			return 0; /* its directory is gone: so is it */
		if (dfd < 0) {
			it->err = dfd;
			it->err_op = dfd == -ELOOP || dfd == -EXDEV ? "resolve" : "opendir";
			if (dfd == -EXDEV)
				it->err = -ELOOP;
			return 0;
		}
	}
	{
		const char *name = root ? "." : it->path + off;

		if (statx(dfd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0) {
			r = -errno;
			if (r != -ENOENT && r != -ENOTDIR) {
				it->err = r;
				it->err_op = "lstat";
			}
			close(dfd);
			return 0;
		}
		it->has_cur = true;
		object_state_from_statx(&it->cur, &stx);
		it->cur.attrs = attrs & ~(ATTR_MASK_HASHES | ATTR_MASK_EXTRA | ATTR_BIT(ATTR_TARGET));
		r = set_names(&ob->users, &ob->groups, &it->cur, attrs);
		if (r < 0)
			goto out;
		if (it->cur.type == OBJ_FILE) {
			if (attrs & (ATTR_MASK_HASHES | ATTR_MASK_EXTRA)) {
				r = scan_read_file(&ob->rd, dfd, name, it->path, attrs,
						   it->has_base ? &it->base : NULL,
						   rule && rule->growing, &it->cur);
				if (r == -ENOENT) {
					object_state_release(&it->cur);
					it->has_cur = false;
				} else if (r < 0) {
					it->err = r;
					it->err_op = "read";
				}
			}
		} else if (it->cur.type == OBJ_DIR) {
			if (attrs & ATTR_MASK_EXTRA) {
				int fd = root ? open_dir_at(AT_FDCWD, "/") : open_dir_at(dfd, name);

				if (fd >= 0) {
					r = scan_attr_read(fd, NULL, attrs & ATTR_MASK_EXTRA, &it->cur);
					close(fd);
					if (r < 0) {
						it->err = r;
						it->err_op = "read";
					}
				} else if (fd != -ENOENT) {
					it->err = fd;
					it->err_op = "opendir";
				}
			}
		} else {
			r = scan_read_other(dfd, name, attrs, &it->cur);
			if (r == -ENOENT) {
				object_state_release(&it->cur);
				it->has_cur = false;
			} else if (r < 0) {
				it->err = r;
				it->err_op = "read";
			}
		}
	}
	r = 0;
out:
	close(dfd);
	return r;
}

int scan_dir_links(const char *path, size_t len, uint64_t ino,
		   int (*fn)(void *ud, const char *path, size_t len), void *ud)
{
	size_t off = 0;
	int dfd = open_parent_nofollow(path, len, &off), fd, r = 0;
	struct buf p;
	DIR *d;
	struct dirent *de;

	if (dfd < 0)
		return dfd == -ENOENT || dfd == -ENOTDIR ? 0 : dfd;
	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(dfd);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	buf_init(&p, SIZE_MAX / 2);
	while (r >= 0 && (de = readdir(d)) != NULL) {
		if (de->d_ino != ino || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strlen(de->d_name) == len - off && memcmp(de->d_name, path + off, len - off) == 0)
			continue;
		buf_reset(&p);
		r = buf_append(&p, path, off);
		if (r == 0)
			r = buf_puts(&p, de->d_name);
		if (r == 0)
			r = fn(ud, p.data, p.len);
	}
	buf_release(&p);
	closedir(d);
	return r;
}

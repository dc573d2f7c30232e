/*
 * The fanotify back end: one FAN_MARK_FILESYSTEM mark per filesystem, events with the
 * directory's file handle and the entry's name (FAN_REPORT_DFID_NAME), resolved to a
 * path through a bounded cache of directory handles.  Events outside the rules are
 * dropped without allocating: a cache hit and the directory's compiled rule state decide.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/timeutil.h"
#include "watch/watch-int.h"
#include "base/banned.h"

#define FAN_EVENTS                                                                                 \
	(FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_MODIFY | FAN_CLOSE_WRITE |  \
	 FAN_ATTRIB | FAN_ONDIR | FAN_OPEN_EXEC)
#define DIRCACHE_MAX 65536
#define RESOLVE_GAP_INTERVAL_NS (5 * 1000000000LL)

struct fan_fs {
	fsid_t fsid;
	int mount_fd;
	char *mount_point;
	int64_t last_gap_ns;	/* resolve gaps are grouped per filesystem */
};

struct dir_entry {
	char *path;
	size_t len;
	bool pd_ready;
	bool wanted;		/* something below may be selected */
	bool selected;		/* the directory itself is */
	struct policy_dir pd;
};

/* An info record, copied out of the read buffer: the kernel packs records (and events)
 * on 4-byte boundaries, and the structs need more. */
union info_rec {
	struct fanotify_event_info_fid fid;
	uint64_t align;
	uint8_t bytes[sizeof(struct fanotify_event_info_fid) + 8 + MAX_HANDLE_SZ + NAME_MAX + 2];
};

/* An event in a directory that could not be opened by handle any more: kept until the
 * rest of the read shows where that directory was (its own deletion names it). */
struct deferred {
	uint8_t key[sizeof(fsid_t) + 8 + MAX_HANDLE_SZ];
	size_t klen;
	uint8_t child[sizeof(fsid_t) + 8 + MAX_HANDLE_SZ];	/* a directory deleted in it */
	size_t child_klen;
	uint32_t mask;
	pid_t pid;
	char name[NAME_MAX + 1];
};

#define DEFERRED_MAX 4096

struct fan {
	int fd;
	struct fan_fs *fs;
	size_t n_fs;
	struct strmap dirs;	/* fsid + handle -> dir_entry */
	struct buf path;	/* the path being decided: no allocation per event */
	bool cleared;		/* the cache was emptied (entries held are gone) */
	union info_rec rec_named, rec_obj;	/* aligned copies of an event's records */
	struct deferred *def;	/* events whose directory was gone when they were read */
	size_t n_def, cap_def;
	int def_err;
	fsid_t def_fsid;
	uint8_t *buf;
};

#define EVENT_BUF (256 * 1024)

static void dir_entry_free(void *p)
{
	struct dir_entry *d = p;

	free(d->path);
	policy_dir_release(&d->pd);
	free(d);
}

int fan_fd(const struct fan *f)
{
	return f->fd;
}

void fan_free(struct fan *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	for (size_t i = 0; i < f->n_fs; i++) {
		close(f->fs[i].mount_fd);
		free(f->fs[i].mount_point);
	}
	free(f->fs);
	strmap_release(&f->dirs, dir_entry_free);
	buf_release(&f->path);
	free(f->buf);
	free(f->def);
	free(f);
}

void fan_marked(const struct fan *f, char ***ret, size_t *n)
{
	*ret = NULL;
	*n = 0;
	for (size_t i = 0; i < f->n_fs; i++)
		if (strv_add(ret, n, f->fs[i].mount_point) < 0)
			break;
}

static struct fan_fs *fs_find(struct fan *f, const fsid_t *id)
{
	for (size_t i = 0; i < f->n_fs; i++)
		if (memcmp(&f->fs[i].fsid, id, sizeof(*id)) == 0)
			return &f->fs[i];
	return NULL;
}

/* The mount point that holds path (longest match in mountinfo). */
static char *mount_point_of(const char *path)
{
	FILE *mi = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, *best = NULL;
	size_t cap = 0, best_len = 0;

	while (mi && getline(&line, &cap, mi) > 0) {
		char mp[4096];
		size_t n;

		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		n = strlen(mp);
		if ((n == 1 || (strncmp(path, mp, n) == 0 && (path[n] == '/' || !path[n]))) &&
		    n >= best_len) {
			free(best);
			best = strdup(mp);
			best_len = n;
		}
	}
	free(line);
	if (mi)
		fclose(mi);
	return best ? best : strdup("/");
}

/* Marks the filesystem of path; 0, 1 when it was already marked, or a negative errno. */
static int mark(struct fan *f, const char *path)
{
	struct statfs sfs;
	struct fan_fs *nv;
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		/* a root that does not exist yet: mark the filesystem of its nearest ancestor */
		_cleanup_free_ char *up = strdup(path);
		char *slash;

		if (!up)
			return -ENOMEM;
		while (fd < 0 && (slash = strrchr(up, '/'))) {
			if (slash == up)
				slash[1] = '\0';
			else
				*slash = '\0';
			fd = open(up, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (slash == up)
				break;
		}
		if (fd < 0)
			return -errno;
	}
	if (fstatfs(fd, &sfs) < 0) {
		close(fd);
		return -errno;
	}
	if (fs_find(f, &sfs.f_fsid)) {
		close(fd);
		return 1;
	}
	if (fanotify_mark(f->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_EVENTS, fd, NULL) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	nv = realloc(f->fs, (f->n_fs + 1) * sizeof(*nv));
	if (!nv) {
		close(fd);
		return -ENOMEM;
	}
	f->fs = nv;
	nv[f->n_fs] = (struct fan_fs){ .fsid = sfs.f_fsid, .mount_fd = fd };
	nv[f->n_fs].mount_point = mount_point_of(path);
	if (!nv[f->n_fs].mount_point) {
		close(fd);
		return -ENOMEM;
	}
	f->n_fs++;
	return 0;
}

int fan_new(struct watch *w, char **paths, size_t n, char ***rest, size_t *n_rest,
	    struct vg_error *err)
{
	struct fan *f = calloc(1, sizeof(*f));
	int r;

	*rest = NULL;
	*n_rest = 0;
	if (!f)
		return -ENOMEM;
	buf_init(&f->path, SIZE_MAX / 2);
	f->buf = malloc(EVENT_BUF);
	if (!f->buf) {
		fan_free(f);
		return -ENOMEM;
	}
	/* FAN_REPORT_FID as well: an event on an inode alone (the link count a hard link
	 * changed) comes with the object's own handle and no directory.  FAN_REPORT_TARGET_FID
	 * (Linux 5.17): a directory made or moved comes with its own handle, so it is known
	 * by path before anything happens in it, and still after it is deleted. */
	f->fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK |
				      FAN_REPORT_DFID_NAME_TARGET,
			      O_RDONLY | O_CLOEXEC | O_LARGEFILE);
	if (f->fd < 0 && errno == EINVAL)
		f->fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK |
					      FAN_REPORT_DFID_NAME | FAN_REPORT_FID,
				      O_RDONLY | O_CLOEXEC | O_LARGEFILE);
	if (f->fd < 0) {
		r = vg_error_set(err, neg_errno(), NULL, 0, 0, "fanotify_init: %s%s",
				 strerror(errno),
				 errno == EPERM ? " (it needs CAP_SYS_ADMIN)" : "");
		fan_free(f);
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		r = mark(f, paths[i]);
		if (r == -ENOMEM) {
			fan_free(f);
			return r;
		}
		if (r < 0) {
			log_warning("fanotify cannot mark the filesystem of '%s' (%s); inotify"
				    " watches it instead",
				    paths[i], strerror(-r));
			if (strv_add(rest, n_rest, paths[i]) < 0) {
				fan_free(f);
				return -ENOMEM;
			}
		}
	}
	if (f->n_fs == 0 && n) {
		r = vg_error_set(err, -EOPNOTSUPP, paths[0], 0, 0,
				 "fanotify could mark no filesystem");
		fan_free(f);
		return r;
	}
	w->fan = f;
	return 0;
}

/* ---- events ---- */

static uint32_t wev_mask(uint64_t m)
{
	uint32_t r = 0;

	if (m & FAN_CREATE)
		r |= WEV_CREATE;
	if (m & FAN_DELETE)
		r |= WEV_DELETE;
	if (m & FAN_MOVED_FROM)
		r |= WEV_MOVED_FROM;
	if (m & FAN_MOVED_TO)
		r |= WEV_MOVED_TO;
	if (m & FAN_MODIFY)
		r |= WEV_MODIFY;
	if (m & FAN_CLOSE_WRITE)
		r |= WEV_CLOSE_WRITE;
	if (m & FAN_ATTRIB)
		r |= WEV_ATTRIB;
	if (m & FAN_ONDIR)
		r |= WEV_DIR;
	return r;
}

#define DIR_KEY_MAX (sizeof(fsid_t) + 8 + MAX_HANDLE_SZ)

/* The cache key of a handle: the filesystem, the handle's type and bytes. */
static size_t dir_key(const fsid_t *fsid, const struct file_handle *fh, uint8_t key[DIR_KEY_MAX])
{
	memcpy(key, fsid, sizeof(fsid_t));
	memcpy(key + sizeof(fsid_t), fh, 8);
	memcpy(key + sizeof(fsid_t) + 8, fh->f_handle, fh->handle_bytes);
	return sizeof(fsid_t) + 8 + fh->handle_bytes;
}

static struct dir_entry *dir_insert(struct fan *f, const uint8_t *key, size_t klen,
				    const char *path, size_t len, int *err)
{
	struct dir_entry *d;
	void *old = NULL;

	if (f->dirs.n >= DIRCACHE_MAX) {
		strmap_release(&f->dirs, dir_entry_free);
		f->cleared = true;
	}
	d = calloc(1, sizeof(*d));
	if (!d || !(d->path = strndup(path, len))) {
		free(d);
		*err = -ENOMEM;
		return NULL;
	}
	d->len = len;
	if (strmap_put(&f->dirs, key, klen, d, &old) < 0) {
		dir_entry_free(d);
		*err = -ENOMEM;
		return NULL;
	}
	if (old)
		dir_entry_free(old);
	return d;
}

/* A directory made or moved here, known by its handle (FAN_REPORT_TARGET_FID). */
static int dir_learn(struct fan *f, const struct fanotify_event_info_fid *child, const char *path,
		     size_t len)
{
	const struct file_handle *fh = (const struct file_handle *)child->handle;
	uint8_t key[DIR_KEY_MAX];
	int err = 0;

	if (fh->handle_bytes > MAX_HANDLE_SZ)
		return 0;
	if (!dir_insert(f, key, dir_key((const fsid_t *)&child->fsid, fh, key), path, len, &err))
		return err;
	return 0;
}

/* The directory of a handle: from the cache, else resolved and cached.  NULL when it
 * cannot be resolved (*err set). */
static struct dir_entry *dir_lookup(struct watch *w, struct fan *f, const fsid_t *fsid,
				    struct file_handle *fh, int *err)
{
	uint8_t key[DIR_KEY_MAX];
	size_t klen;
	struct dir_entry *d;
	struct fan_fs *fs;
	char link[64], target[PATH_MAX];
	ssize_t n;
	int fd;

	if (fh->handle_bytes > MAX_HANDLE_SZ) {
		*err = -EINVAL;
		return NULL;
	}
	klen = dir_key(fsid, fh, key);
	d = strmap_get(&f->dirs, key, klen);
	if (d)
		return d;
	fs = fs_find(f, fsid);
	if (!fs) {
		*err = -EXDEV;
		return NULL;
	}
	fd = open_by_handle_at(fs->mount_fd, fh, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	close(fd);
	if (n < 0) {
		*err = -errno;
		return NULL;
	}
	target[n] = '\0';
	/* a directory that was deleted resolves to "... (deleted)": nothing below is left */
	if (n > 10 && strcmp(target + n - 10, " (deleted)") == 0) {
		*err = -ESTALE;
		return NULL;
	}
	if (target[0] != '/') {
		*err = -EXDEV; /* not reachable from our root */
		return NULL;
	}
	return dir_insert(f, key, klen, target, (size_t)n, err);
}

static void resolve_failed(struct watch *w, struct fan *f, const fsid_t *fsid, int err)
{
	struct fan_fs *fs = fs_find(f, fsid);
	int64_t now = clock_monotonic_ns();
	char detail[128];

	atomic_fetch_add(&w->resolve_failures, 1);
	if (fs && fs->last_gap_ns && now - fs->last_gap_ns < RESOLVE_GAP_INTERVAL_NS)
		return; /* the rescan queued a moment ago covers it */
	if (fs)
		fs->last_gap_ns = now;
	snprintf(detail, sizeof(detail), "a directory handle could not be resolved: %s",
		 strerror(-err));
	watch_queue_gap(w, "resolve", fs ? fs->mount_point : "/", detail);
}

/* Forgets the cached directories at or below path (it was renamed or moved away). */
static void dir_forget_below(struct fan *f, const char *path, size_t len)
{
	for (size_t i = 0; i < f->dirs.cap; i++) {
		struct strmap_slot *sl = &f->dirs.slots[i];
		struct dir_entry *d;

		if (!sl->key)
			continue;
		d = sl->value;
		if (d->len < len || memcmp(d->path, path, len) != 0 ||
		    (d->len > len && d->path[len] != '/'))
			continue;
		dir_entry_free(strmap_remove(&f->dirs, sl->key, sl->len));
		i--; /* the backward shift may have moved another entry here */
	}
}

/* Remembers an event whose directory could not be resolved (see resolve_deferred()). */
static void defer(struct watch *w, struct fan *f, const fsid_t *fsid, const struct file_handle *fh,
		  const char *name, const struct fanotify_event_info_fid *child, uint32_t mask,
		  pid_t pid, int err)
{
	struct deferred *d;

	if (f->n_def == f->cap_def) {
		size_t n = f->cap_def ? f->cap_def * 2 : 64;
		struct deferred *nv = n <= DEFERRED_MAX ? realloc(f->def, n * sizeof(*nv)) : NULL;

		if (!nv) {
			resolve_failed(w, f, fsid, err);
			return;
		}
		f->def = nv;
		f->cap_def = n;
	}
	d = &f->def[f->n_def++];
	memset(d, 0, sizeof(*d));
	d->klen = dir_key(fsid, fh, d->key);
	if (child) {
		const struct file_handle *ch = (const struct file_handle *)child->handle;

		if (ch->handle_bytes <= MAX_HANDLE_SZ)
			d->child_klen = dir_key((const fsid_t *)&child->fsid, ch, d->child);
	}
	d->mask = mask;
	d->pid = pid;
	snprintf(d->name, sizeof(d->name), "%s", name);
	f->def_err = err;
	f->def_fsid = *fsid;
}

/*
 * After a read: the events whose directory was gone.  rm -rf deletes what is inside a
 * directory, then the directory, whose deletion (in its parent) carries its handle: so
 * most of them can be placed after all, from the innermost out.  What is left may have
 * been anywhere on the filesystem: a gap, and a rescan.
 */
static int resolve_deferred(struct watch *w, struct fan *f)
{
	const struct policy *pol = w->o.policy;
	bool progress = true;
	size_t left = f->n_def;

	while (progress && left) {
		progress = false;
		for (size_t i = 0; i < f->n_def; i++) {
			struct deferred *e = &f->def[i];
			struct dir_entry *d;
			int r;

			if (!e->klen)
				continue; /* done */
			d = strmap_get(&f->dirs, e->key, e->klen);
			if (!d)
				continue;
			buf_reset(&f->path);
			r = buf_append(&f->path, d->path, d->len);
			if (r == 0 && !(d->len == 1 && d->path[0] == '/'))
				r = buf_putc(&f->path, '/');
			if (r == 0)
				r = buf_puts(&f->path, e->name);
			if (r < 0)
				return r;
			if (e->child_klen) {
				int err = 0;

				if (!dir_insert(f, e->child, e->child_klen, f->path.data, f->path.len,
						&err))
					return err;
				/* the cache may have been emptied: look the directory up again */
				d = strmap_get(&f->dirs, e->key, e->klen);
			}
			if (policy_selected(policy_decide(pol, f->path.data, f->path.len)))
				watch_deliver(w, f->path.data, f->path.len, e->mask, false, e->pid);
			if (d && policy_selected(policy_decide(pol, d->path, d->len)))
				watch_deliver(w, d->path, d->len, e->mask & ~WEV_DIR, false, e->pid);
			e->klen = 0;
			left--;
			progress = true;
		}
	}
	if (left)
		resolve_failed(w, f, &f->def_fsid, f->def_err);
	f->n_def = 0;
	return 0;
}

/* An event that names only the object (no directory, no name): resolved to one of its
 * paths and delivered when that is selected. */
static int object_event(struct watch *w, struct fan *f, const struct fanotify_event_metadata *md,
			const struct fanotify_event_info_fid *fid)
{
	struct file_handle *fh = (struct file_handle *)fid->handle;
	struct fan_fs *fs = fs_find(f, (const fsid_t *)&fid->fsid);
	char link[64], target[PATH_MAX];
	ssize_t n;
	int fd;

	if (!fs || fh->handle_bytes > MAX_HANDLE_SZ)
		return 0;
	fd = open_by_handle_at(fs->mount_fd, fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return 0; /* gone: its directory's own events tell the rest */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	close(fd);
	if (n <= 0 || target[0] != '/')
		return 0;
	target[n] = '\0';
	if (policy_selected(policy_decide(w->o.policy, target, (size_t)n)))
		watch_deliver(w, target, (size_t)n, wev_mask(md->mask), false, md->pid);
	return 0;
}

/* Copies the first record of type a or b from the records [p, end) into out. */
static bool find_rec(const uint8_t *p, const uint8_t *end, uint8_t a, uint8_t b,
		     union info_rec *out, size_t *ret_len)
{
	while (p + sizeof(struct fanotify_event_info_header) <= end) {
		struct fanotify_event_info_header h;

		memcpy(&h, p, sizeof(h));
		if (h.len < sizeof(h) || p + h.len > end)
			return false;
		if ((h.info_type == a || h.info_type == b) && h.len <= sizeof(out->bytes) &&
		    h.len >= sizeof(struct fanotify_event_info_fid) + sizeof(struct file_handle)) {
			memset(out, 0, sizeof(*out));
			memcpy(out->bytes, p, h.len);
			*ret_len = h.len;
			return true;
		}
		p += h.len;
	}
	return false;
}

static int handle_event(struct watch *w, struct fan *f, const struct fanotify_event_metadata *md,
			const uint8_t *p, const uint8_t *end)
{
	const struct policy *pol = w->o.policy;
	const struct fanotify_event_info_fid *obj = NULL;
	union info_rec *rn = &f->rec_named, *ro = &f->rec_obj;
	size_t rn_len = 0, ro_len = 0;
	bool named;

	atomic_fetch_add(&w->events, 1);
	if (md->pid == w->o.self)
		return 0;
	named = find_rec(p, end, FAN_EVENT_INFO_TYPE_DFID_NAME, FAN_EVENT_INFO_TYPE_DFID, rn, &rn_len);
	if (find_rec(p, end, FAN_EVENT_INFO_TYPE_FID, FAN_EVENT_INFO_TYPE_FID, ro, &ro_len)) {
		struct file_handle *oh = (struct file_handle *)ro->fid.handle;

		if (sizeof(struct fanotify_event_info_fid) + sizeof(*oh) + oh->handle_bytes <= ro_len)
			obj = &ro->fid;
	}
	if (!named)
		return obj && (wev_mask(md->mask) & ~WEV_DIR) ? object_event(w, f, md, obj) : 0;
	{
		const struct fanotify_event_info_fid *fid = &rn->fid;
		struct file_handle *fh = (struct file_handle *)fid->handle;
		size_t hdr = sizeof(struct fanotify_event_info_fid) + sizeof(*fh);
		const char *name;
		struct dir_entry *d;
		uint32_t mask = wev_mask(md->mask);
		const struct rule *rule;
		bool is_dir = mask & WEV_DIR, subtree = false;
		int err = 0, r;

		if (hdr + fh->handle_bytes > rn_len || fh->handle_bytes > MAX_HANDLE_SZ)
			return 0;
		/* the name follows the handle, NUL-terminated within the record (zeroed past it) */
		name = rn->fid.hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME
			       ? (const char *)fh->f_handle + fh->handle_bytes
			       : ".";
		d = dir_lookup(w, f, (const fsid_t *)&fid->fsid, fh, &err);
		if (!d) {
			if (err == -ENOMEM)
				return err;
			/* a program started from a directory since deleted changes nothing */
			if (mask & ~WEV_DIR)
				defer(w, f, (const fsid_t *)&fid->fsid, fh, name,
				      is_dir && (mask & WEV_DELETE) ? obj : NULL, mask, md->pid, err);
			return 0;
		}
		buf_reset(&f->path);
		if ((r = buf_append(&f->path, d->path, d->len)) < 0)
			return r;
		if (md->mask & FAN_OPEN_EXEC) {
			/* who runs what, for the actors of later events */
			size_t dl = f->path.len;

			if (!(f->path.len == 1 && f->path.data[0] == '/') &&
			    (r = buf_putc(&f->path, '/')) < 0)
				return r;
			if ((r = buf_puts(&f->path, name)) < 0)
				return r;
			watch_note_exec(w, md->pid, f->path.data, f->path.len);
			/* the kernel merges a process's events on one file: a write or a chmod
			 * just before the exec is in the same event and still counts */
			if (!(mask & ~WEV_DIR))
				return 0;
			f->path.len = dl;
			f->path.data[dl] = '\0';
		}
		if (strcmp(name, ".") == 0) {
			/* the directory itself */
			rule = policy_decide(pol, f->path.data, f->path.len);
			if (policy_selected(rule))
				watch_deliver(w, f->path.data, f->path.len, mask, false, md->pid);
			return 0;
		}
		if (!(f->path.len == 1 && f->path.data[0] == '/') && (r = buf_putc(&f->path, '/')) < 0)
			return r;
		if ((r = buf_puts(&f->path, name)) < 0)
			return r;
		/* a directory renamed or moved away: cached paths at and below it are stale */
		if (is_dir && (mask & WEV_MOVED_FROM))
			dir_forget_below(f, f->path.data, f->path.len);
		if (is_dir && obj && (mask & (WEV_CREATE | WEV_MOVED_TO | WEV_DELETE))) {
			/* known now, before anything happens in it, and after it is gone (a
			 * deletion places the events read before it, see resolve_deferred()) */
			f->cleared = false;
			r = dir_learn(f, obj, f->path.data, f->path.len);
			if (r < 0)
				return r;
			if (f->cleared)
				d = NULL;
		}
		if (d && !d->pd_ready) {
			r = policy_dir_at(pol, d->path, d->len, &d->pd);
			if (r < 0)
				return r;
			d->wanted = policy_dir_wanted(pol, &d->pd);
			d->selected = policy_selected(policy_decide(pol, d->path, d->len));
			d->pd_ready = true;
		}
		if (d) {
			if (!d->wanted && !d->selected)
				return 0; /* the drop path: nothing here is monitored */
			/* an entry made, removed or renamed changes its directory too */
			if (d->selected && (mask & (WEV_CREATE | WEV_DELETE | WEV_MOVED_FROM |
						    WEV_MOVED_TO)))
				watch_deliver(w, d->path, d->len, mask & ~WEV_DIR, false, md->pid);
			rule = policy_dir_decide(pol, &d->pd, f->path.data, f->path.len);
		} else {
			rule = policy_decide(pol, f->path.data, f->path.len);
		}
		if (is_dir && (mask & (WEV_MOVED_FROM | WEV_MOVED_TO))) {
			/* what is below a directory moved in or out was never announced */
			struct policy_dir cpd = { 0 };

			r = policy_dir_at(pol, f->path.data, f->path.len, &cpd);
			if (r < 0)
				return r;
			subtree = policy_dir_wanted(pol, &cpd);
			policy_dir_release(&cpd);
		}
		if (policy_selected(rule) || subtree)
			watch_deliver(w, f->path.data, f->path.len, mask, subtree, md->pid);
	}
	return 0;
}

int fan_process(struct watch *w)
{
	struct fan *f = w->fan;

	/* one read per call: the thread goes back to epoll, wakes the daemon and sees a
	 * stop request even while events keep coming */
	{
		ssize_t n = read(f->fd, f->buf, EVENT_BUF);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -errno;
		}
		if (n == 0)
			return 0;
		for (size_t off = 0; off + sizeof(struct fanotify_event_metadata) <= (size_t)n;) {
			struct fanotify_event_metadata m;
			int r;

			/* copied out: events are packed on 4-byte boundaries */
			memcpy(&m, f->buf + off, sizeof(m));
			if (m.vers != FANOTIFY_METADATA_VERSION)
				return -EPROTO;
			if (m.event_len < m.metadata_len || m.metadata_len < sizeof(m) ||
			    off + m.event_len > (size_t)n)
				return -EPROTO;
			if (m.mask & FAN_Q_OVERFLOW) {
				atomic_fetch_add(&w->overflows, 1);
				watch_queue_gap(w, "overflow", "/",
						"the fanotify queue overflowed; events were lost");
			} else {
				r = handle_event(w, f, &m, f->buf + off + m.metadata_len,
						 f->buf + off + m.event_len);
				if (r < 0)
					return r;
			}
			off += m.event_len;
		}
		return resolve_deferred(w, f);
	}
}

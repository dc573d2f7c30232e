/*
 * The inotify back end, for when fanotify cannot be used: a watch on every directory
 * that may hold selected objects, added as directories appear.  inotify reports no
 * process, so changes seen this way carry no actor.  When the kernel's watch limit is
 * reached it is raised if allowed; otherwise the directories left out are listed as
 * covered by periodic checks only, and that is recorded as a gap.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "watch/watch-int.h"
#include "base/banned.h"

#define INO_MASK                                                                                   \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_CLOSE_WRITE |        \
	 IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)
#define INO_BUF (256 * 1024)
#define MAX_DEPTH 4096

struct ino {
	int fd;
	struct strmap wds;	/* wd (as bytes) -> path */
	bool limit_hit;
	atomic_size_t count;	/* watches, for the daemon's thread */
	uint8_t *buf;
	struct buf path;
};

int ino_fd(const struct ino *i)
{
	return i->fd;
}

size_t ino_count(const struct ino *i)
{
	return atomic_load(&((struct ino *)i)->count);
}

void ino_free(struct ino *i)
{
	if (!i)
		return;
	if (i->fd >= 0)
		close(i->fd);
	strmap_release(&i->wds, free);
	free(i->buf);
	buf_release(&i->path);
	free(i);
}

/* Raises fs.inotify.max_user_watches when allowed; true when it was raised. */
static bool raise_limit(void)
{
	char cur[32], next[32];
	unsigned long v;
	ssize_t n;
	int fd = open("/proc/sys/fs/inotify/max_user_watches", O_RDWR | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	n = read(fd, cur, sizeof(cur) - 1);
	if (n <= 0) {
		close(fd);
		return false;
	}
	cur[n] = '\0';
	v = strtoul(cur, NULL, 10);
	n = snprintf(next, sizeof(next), "%lu\n", v * 2);
	ok = v < 64ul * 1024 * 1024 && lseek(fd, 0, SEEK_SET) == 0 &&
	     write(fd, next, (size_t)n) == n;
	close(fd);
	if (ok)
		log_info("raised fs.inotify.max_user_watches to %lu", v * 2);
	return ok;
}

/* Watches one directory (open as dirfd) known as path. */
static int add_one(struct watch *w, struct ino *in, int dirfd, const char *path)
{
	char link[64];
	int wd;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	for (;;) {
		int e;

		wd = inotify_add_watch(in->fd, link, INO_MASK);
		if (wd >= 0)
			break;
		e = errno;
		if (e == ENOSPC && !in->limit_hit && raise_limit())
			continue;
		if (e == ENOSPC) {
			if (!in->limit_hit)
				watch_queue_gap(w, "watch-limit", path,
						"the inotify watch limit was reached; directories"
						" from here on are covered by periodic checks only");
			in->limit_hit = true;
			watch_add_uncovered(w, path);
			return 0;
		}
		if (e == EACCES || e == EPERM) {
			/* not ours to watch (no root): the checks still compare it */
			watch_queue_gap(w, "unwatchable", path,
					"this directory cannot be watched; it is covered by periodic"
					" checks only");
			watch_add_uncovered(w, path);
			return 0;
		}
		return e == ENOENT ? 0 : -e;
	}
	{
		char *copy = strdup(path);
		void *old = NULL;
		int r;

		if (!copy)
			return -ENOMEM;
		r = strmap_put(&in->wds, &wd, sizeof(wd), copy, &old);
		free(old);
		if (r < 0) {
			free(copy);
			return r;
		}
	}
	return 0;
}

/* Watches path and every directory below it that may hold selected objects. */
static int add_tree(struct watch *w, struct ino *in, int dirfd, const char *path,
		    const struct policy_dir *pd, unsigned depth, dev_t root_dev)
{
	DIR *dir;
	struct dirent *de;
	int r, fd2;

	r = add_one(w, in, dirfd, path);
	if (r < 0 || depth >= MAX_DEPTH)
		return r;
	fd2 = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd2 < 0)
		return errno == ENOENT || errno == EACCES ? 0 : -errno;
	dir = fdopendir(fd2);
	if (!dir) {
		close(fd2);
		return -errno;
	}
	while ((de = readdir(dir)) != NULL && r >= 0) {
		_cleanup_free_ char *child = NULL;
		struct policy_dir cpd = { 0 };
		int cfd;

		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (asprintf(&child, "%s/%s", strcmp(path, "/") == 0 ? "" : path, de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		r = policy_dir_enter(w->o.policy, pd, child, strlen(child), &cpd);
		if (r < 0)
			break;
		if (policy_dir_wanted(w->o.policy, &cpd)) {
			struct stat cst;

			cfd = openat(dirfd, de->d_name,
				     O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			/* a mount point that walks do not cross (one_filesystem) */
			if (cfd >= 0 && fstat(cfd, &cst) == 0 && cst.st_dev != root_dev &&
			    (w->o.one_filesystem || (cpd.inherited && cpd.inherited->one_filesystem))) {
				close(cfd);
				cfd = -1;
			}
			if (cfd >= 0) {
				r = add_tree(w, in, cfd, child, &cpd, depth + 1, root_dev);
				close(cfd);
			}
		}
		policy_dir_release(&cpd);
	}
	closedir(dir);
	return r;
}

static int add_path(struct watch *w, struct ino *in, const char *path)
{
	struct policy_dir pd = { 0 };
	int fd, r;

	fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		/* not there (yet): the nearest existing ancestor is watched for it */
		_cleanup_free_ char *up = strdup(path);
		char *slash;

		if (!up)
			return -ENOMEM;
		slash = strrchr(up, '/');
		if (!slash)
			return 0;
		if (slash == up)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (strcmp(up, path) == 0)
			return 0;
		fd = open(up, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return strcmp(up, "/") == 0 ? 0 : add_path(w, in, up);
		r = add_one(w, in, fd, up);
		close(fd);
		return r;
	}
	r = policy_dir_at(w->o.policy, path, strlen(path), &pd);
	if (r == 0) {
		struct stat st;

		r = fstat(fd, &st) < 0 ? -errno : 0;
		if (r == 0)
			r = add_tree(w, in, fd, path, &pd, 0, st.st_dev);
	}
	policy_dir_release(&pd);
	close(fd);
	return r;
}

int ino_new(struct watch *w, char **paths, size_t n, struct vg_error *err)
{
	struct ino *in = calloc(1, sizeof(*in));
	int r = 0;

	if (!in)
		return -ENOMEM;
	buf_init(&in->path, SIZE_MAX / 2);
	in->buf = malloc(INO_BUF);
	in->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (!in->buf || in->fd < 0) {
		r = vg_error_set(err, in->buf ? neg_errno() : -ENOMEM, NULL, 0, 0,
				 "inotify_init1: %s", strerror(in->buf ? errno : ENOMEM));
		ino_free(in);
		return r;
	}
	w->ino = in;
	for (size_t i = 0; i < n && r == 0; i++)
		r = add_path(w, in, paths[i]);
	atomic_store(&in->count, in->wds.n);
	if (r < 0) {
		w->ino = NULL;
		ino_free(in);
		return vg_error_set(err, r, NULL, 0, 0, "cannot set up inotify watches: %s",
				    strerror(-r));
	}
	return 0;
}

/* Forgets the watches of dir and everything below it (a directory moved away). */
static void forget_below(struct ino *in, const char *dir, size_t len)
{
	for (size_t i = 0; i < in->wds.cap; i++) {
		struct strmap_slot *s = &in->wds.slots[i];
		const char *p;
		int wd;

		if (!s->key)
			continue;
		p = s->value;
		if (strncmp(p, dir, len) != 0 || (p[len] != '/' && p[len] != '\0'))
			continue;
		memcpy(&wd, s->key, sizeof(wd));
		inotify_rm_watch(in->fd, wd);
		free(strmap_remove(&in->wds, &wd, sizeof(wd)));
		i--; /* the backward shift may have moved another entry here */
	}
}

static uint32_t wev_mask(uint32_t m)
{
	uint32_t r = 0;

	if (m & IN_CREATE)
		r |= WEV_CREATE;
	if (m & IN_DELETE)
		r |= WEV_DELETE;
	if (m & IN_MOVED_FROM)
		r |= WEV_MOVED_FROM;
	if (m & IN_MOVED_TO)
		r |= WEV_MOVED_TO;
	if (m & IN_MODIFY)
		r |= WEV_MODIFY;
	if (m & IN_CLOSE_WRITE)
		r |= WEV_CLOSE_WRITE;
	if (m & IN_ATTRIB)
		r |= WEV_ATTRIB;
	if (m & IN_ISDIR)
		r |= WEV_DIR;
	return r;
}

static int handle(struct watch *w, struct ino *in, const struct inotify_event *ev)
{
	const struct policy *pol = w->o.policy;
	const char *dir;
	uint32_t mask = wev_mask(ev->mask);
	const struct rule *rule;
	bool subtree = false;
	int r;

	atomic_fetch_add(&w->events, 1);
	if (ev->mask & IN_Q_OVERFLOW) {
		atomic_fetch_add(&w->overflows, 1);
		watch_queue_gap(w, "overflow", "/", "the inotify queue overflowed; events were lost");
		return 0;
	}
	if (ev->mask & IN_IGNORED) {
		free(strmap_remove(&in->wds, &ev->wd, sizeof(ev->wd)));
		return 0;
	}
	dir = strmap_get(&in->wds, &ev->wd, sizeof(ev->wd));
	if (!dir)
		return 0;
	buf_reset(&in->path);
	if ((r = buf_puts(&in->path, dir)) < 0)
		return r;
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF) || !ev->len) {
		/* the directory itself */
		if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF))
			return 0; /* its parent reports it, by name */
		rule = policy_decide(pol, in->path.data, in->path.len);
		if (policy_selected(rule))
			watch_deliver(w, in->path.data, in->path.len, mask, false, 0);
		return 0;
	}
	if (!(in->path.len == 1 && in->path.data[0] == '/') && (r = buf_putc(&in->path, '/')) < 0)
		return r;
	if ((r = buf_puts(&in->path, ev->name)) < 0)
		return r;
	if (ev->mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO) &&
	    policy_selected(policy_decide(pol, dir, strlen(dir))))
		watch_deliver(w, dir, strlen(dir), mask & ~WEV_DIR, false, 0);
	rule = policy_decide(pol, in->path.data, in->path.len);
	if (ev->mask & IN_ISDIR && ev->mask & (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM)) {
		struct policy_dir cpd = { 0 };

		r = policy_dir_at(pol, in->path.data, in->path.len, &cpd);
		if (r < 0)
			return r;
		subtree = policy_dir_wanted(pol, &cpd);
		policy_dir_release(&cpd);
		if (subtree && ev->mask & IN_MOVED_FROM)
			forget_below(in, in->path.data, in->path.len);
		if (subtree && ev->mask & (IN_CREATE | IN_MOVED_TO)) {
			/* watch it now; what appeared before the watch is found by the rescan */
			_cleanup_free_ char *p = strndup(in->path.data, in->path.len);

			if (!p)
				return -ENOMEM;
			r = add_path(w, in, p);
			if (r < 0)
				return r;
			buf_reset(&in->path);
			if ((r = buf_puts(&in->path, p)) < 0)
				return r;
		}
	}
	if (policy_selected(rule) || subtree)
		watch_deliver(w, in->path.data, in->path.len, mask, subtree, 0);
	return 0;
}

int ino_process(struct watch *w)
{
	struct ino *in = w->ino;

	/* one read per call, as for fanotify */
	{
		ssize_t n = read(in->fd, in->buf, INO_BUF);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -errno;
		}
		for (ssize_t off = 0; off < n;) {
			const struct inotify_event *ev = (const void *)(in->buf + off);
			int r = handle(w, in, ev);

			if (r < 0)
				return r;
			off += (ssize_t)(sizeof(*ev) + ev->len);
		}
		atomic_store(&in->count, in->wds.n);
		return 0;
	}
}

/* The watcher's common part: choosing a back end, the thread, delivery, actors, gaps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/object.h"
#include "base/timeutil.h"
#include "watch/watch-int.h"
#include "base/banned.h"

#define ACTOR_TTL_NS (100 * 1000 * 1000LL)

void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int strv_add(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(s);
	if (!nv[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

static void wake(struct watch *w)
{
	uint64_t one = 1;

	if (w->o.notify_fd >= 0 && write(w->o.notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("cannot wake the daemon: %s", strerror(errno));
}

void watch_queue_gap(struct watch *w, const char *reason, const char *scope, const char *detail)
{
	struct watch_gap *nv, *g;

	pthread_mutex_lock(&w->mu);
	nv = realloc(w->gaps, (w->n_gaps + 1) * sizeof(*nv));
	if (nv) {
		w->gaps = nv;
		g = &nv[w->n_gaps];
		memset(g, 0, sizeof(*g));
		snprintf(g->reason, sizeof(g->reason), "%s", reason);
		g->scope = strdup(scope);
		g->detail = detail ? strdup(detail) : NULL;
		if (g->scope)
			w->n_gaps++;
		else
			free(g->detail);
	}
	pthread_mutex_unlock(&w->mu);
	/* without memory the gap cannot even be queued: the periodic checks still run */
	wake(w);
}

size_t watch_take_gaps(struct watch *w, struct watch_gap **ret)
{
	size_t n;

	pthread_mutex_lock(&w->mu);
	*ret = w->gaps;
	n = w->n_gaps;
	w->gaps = NULL;
	w->n_gaps = 0;
	w->limit_gap_queued = false;
	pthread_mutex_unlock(&w->mu);
	return n;
}

void watch_gap_release(struct watch_gap *g)
{
	free(g->scope);
	free(g->detail);
}

void watch_add_uncovered(struct watch *w, const char *path)
{
	pthread_mutex_lock(&w->mu);
	if (strv_add(&w->uncovered, &w->n_uncovered, path) < 0)
		log_debug("no memory to list an uncovered path");
	pthread_mutex_unlock(&w->mu);
}

bool watch_ignored(const struct watch *w, const char *path, size_t len)
{
	for (size_t i = 0; i < w->n_ignore; i++)
		if (strlen(w->ignore[i]) == len && memcmp(w->ignore[i], path, len) == 0)
			return true;
	return false;
}

#define EXECS_MAX 4096
#define EXEC_TTL_NS (600 * 1000000000LL)

static void exec_actor_free(void *p)
{
	if (p) {
		actor_release(p);
		free(p);
	}
}

void watch_note_exec(struct watch *w, pid_t pid, const char *path, size_t len)
{
	const char *base = memrchr(path, '/', len);
	struct actor *a;
	void *old = NULL;

	/* the kernel opens a program's ELF interpreter (ld-linux*.so*) for it: that is not
	 * what the person ran */
	base = base ? base + 1 : path;
	if (strncmp(base, "ld-linux", 8) == 0 || strncmp(base, "ld-musl", 7) == 0 ||
	    strncmp(base, "ld.so", 5) == 0)
		return;
	a = calloc(1, sizeof(*a));
	if (!a)
		return;
	/* read now, while it runs: it may be gone by the time its changes are read */
	if (actor_read(pid, a) < 0) {
		exec_actor_free(a);
		return;
	}
	a->seen_ns = clock_monotonic_ns();
	/* the exec event comes while the old program is still in place: only the ids carry
	 * over; the executable is the one the event names, and the old command line and
	 * name are dropped */
	free(a->exe);
	free(a->cmdline);
	a->cmdline = NULL;
	for (size_t i = 0; i < a->argc; i++)
		free(a->argv[i]);
	free(a->argv);
	a->argv = NULL;
	a->argc = 0;
	a->name[0] = '\0';
	a->exe = strndup(path, len);
	if (w->execs.n >= EXECS_MAX)
		strmap_release(&w->execs, exec_actor_free);
	if (strmap_put(&w->execs, &pid, sizeof(pid), a, &old) < 0)
		exec_actor_free(a);
	exec_actor_free(old);
	/* a new program under this pid: what was read of the old one no longer applies */
	for (unsigned i = 0; i < ARRAY_SIZE(w->actors); i++)
		if (w->actors[i].pid == pid)
			w->actors[i].at_ns = INT64_MIN / 2;
}

/* The actor of pid, from a short-lived cache (a burst of events costs one /proc read). */
static const struct actor *actor_of(struct watch *w, pid_t pid, int64_t now)
{
	unsigned slot;

	for (unsigned i = 0; i < ARRAY_SIZE(w->actors); i++)
		if (w->actors[i].pid == pid && now - w->actors[i].at_ns < ACTOR_TTL_NS)
			return &w->actors[i].a;
	slot = w->actor_next++ % ARRAY_SIZE(w->actors);
	if (w->actors[slot].pid)
		actor_release(&w->actors[slot].a);
	w->actors[slot].pid = 0;
	if (actor_read(pid, &w->actors[slot].a) < 0) {
		actor_release(&w->actors[slot].a);
		return NULL;
	}
	if (!w->actors[slot].a.exe || w->actors[slot].a.gone) {
		/* it exited before /proc could show it: what was read when it started */
		const struct actor *e = strmap_get(&w->execs, &pid, sizeof(pid));
		struct actor copy;

		/* only a recent start: an old entry may belong to an earlier process that had
		 * the same pid */
		if (e && now - e->seen_ns < EXEC_TTL_NS && actor_copy(&copy, e) == 0) {
			actor_release(&w->actors[slot].a);
			w->actors[slot].a = copy;
			w->actors[slot].a.exited = true;
		}
	}
	w->actors[slot].pid = pid;
	w->actors[slot].at_ns = now;
	return &w->actors[slot].a;
}

void watch_deliver(struct watch *w, const char *path, size_t len, uint32_t mask, bool subtree,
		   pid_t pid)
{
	int64_t now = clock_monotonic_ns();
	const struct actor *a = pid > 0 ? actor_of(w, pid, now) : NULL;
	int r;

	if (watch_ignored(w, path, len))
		return;
	atomic_fetch_add(&w->delivered, 1);
	r = coalesce_add(w->o.table, path, len, mask, subtree, a, now, clock_now_ns());
	if (r == -ENOSPC) {
		bool queue;

		pthread_mutex_lock(&w->mu);
		queue = !w->limit_gap_queued;
		w->limit_gap_queued = true;
		pthread_mutex_unlock(&w->mu);
		if (queue)
			watch_queue_gap(w, "pending-limit", "/",
					"more objects waited to be read than max_pending");
		return;
	}
	if (r < 0)
		watch_queue_gap(w, "pending-limit", "/", "no memory to hold an event");
}

/* ---- what to cover ---- */

/* Undoes the octal escapes of /proc/self/mountinfo ("\040" for a space). */
static void unescape_mount(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

static bool below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return path[0] == '/' && path[1] != '\0';
	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

static int cmp_str(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;

	return path_cmp(x, strlen(x), y, strlen(y));
}

int watch_cover_paths(const struct policy *p, bool one_filesystem, char ***ret, size_t *n)
{
	char **v = NULL;
	size_t nv = 0;
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	int r = 0;

	for (size_t i = 0; i < p->n_roots && r == 0; i++)
		r = strv_add(&v, &nv, p->roots[i]);
	f = fopen("/proc/self/mountinfo", "re");
	while (r == 0 && f && getline(&line, &cap, f) > 0) {
		char mp[4096];
		struct policy_dir pd = { 0 };

		/* id parent major:minor root mount-point ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		unescape_mount(mp);
		for (size_t i = 0; i < p->n_roots; i++) {
			if (!below(mp, p->roots[i]))
				continue;
			r = policy_dir_at(p, mp, strlen(mp), &pd);
			if (r < 0)
				break;
			/* a walk does not cross into it (one_filesystem): neither do events */
			if (!one_filesystem && !(pd.inherited && pd.inherited->one_filesystem) &&
			    (policy_selected(policy_decide(p, mp, strlen(mp))) ||
			     policy_dir_wanted(p, &pd)))
				r = strv_add(&v, &nv, mp);
			policy_dir_release(&pd);
			break;
		}
	}
	free(line);
	if (f)
		fclose(f);
	if (r < 0) {
		strv_free(v, nv);
		return r;
	}
	if (nv)
		qsort(v, nv, sizeof(*v), cmp_str);
	/* unique */
	{
		size_t k = 0;

		for (size_t i = 0; i < nv; i++) {
			if (k && strcmp(v[k - 1], v[i]) == 0) {
				free(v[i]);
				continue;
			}
			v[k++] = v[i];
		}
		nv = k;
	}
	*ret = v;
	*n = nv;
	return 0;
}

/* ---- life cycle ---- */

int watch_new(const struct watch_opts *o, struct watch **ret, struct vg_error *err)
{
	struct watch *w = calloc(1, sizeof(*w));
	char **paths = NULL, **rest = NULL;
	size_t n_paths = 0, n_rest = 0;
	char why[1024];
	struct epoll_event ev = { .events = EPOLLIN };
	int r;

	if (!w)
		return -ENOMEM;
	w->o = *o;
	w->stop_fd = -1;
	w->epoll_fd = -1;
	pthread_mutex_init(&w->mu, NULL);
	for (size_t i = 0; i < o->n_ignore; i++) {
		r = strv_add(&w->ignore, &w->n_ignore, o->ignore[i]);
		if (r < 0)
			goto fail;
	}
	w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (w->stop_fd < 0 || w->epoll_fd < 0) {
		r = vg_error_set(err, neg_errno(), NULL, 0, 0, "cannot set up the watcher: %s",
				 strerror(errno));
		goto fail;
	}
	r = watch_cover_paths(o->policy, o->one_filesystem, &paths, &n_paths);
	if (r < 0)
		goto fail;
	if (o->mode != WATCH_MODE_INOTIFY) {
		r = fan_new(w, paths, n_paths, &rest, &n_rest, err);
		if (r < 0 && o->mode == WATCH_MODE_FANOTIFY)
			goto fail;
		if (r < 0) {
			/* auto: whatever fanotify cannot cover, inotify does; a weaker watcher
			 * (no actor, no change through an existing hard link or mapping seen
			 * outside the watched directories) is a monitoring gap of its own */
			log_warning("fanotify cannot be used (%s); falling back to inotify",
				    err->msg);
			snprintf(why, sizeof(why), "fanotify cannot be used (%s); inotify watches "
				 "instead: no actors, and changes through links from outside the "
				 "watched directories are not seen", err->msg);
			watch_queue_gap(w, "inotify-fallback", "/", why);
			vg_error_clear(err);
			strv_free(rest, n_rest);
			rest = paths;
			n_rest = n_paths;
			paths = NULL;
			n_paths = 0;
		} else if (n_rest && o->mode == WATCH_MODE_FANOTIFY) {
			r = vg_error_set(err, -EOPNOTSUPP, rest[0], 0, 0,
					 "fanotify cannot mark the filesystem of this path");
			goto fail;
		} else {
			for (size_t i = 0; i < n_rest; i++) {
				snprintf(why, sizeof(why), "fanotify cannot mark the filesystem "
					 "of this path; inotify watches it instead: no actors, "
					 "and changes through links from outside the watched "
					 "directories are not seen");
				watch_queue_gap(w, "inotify-fallback", rest[i], why);
			}
		}
	} else {
		rest = paths;
		n_rest = n_paths;
		paths = NULL;
		n_paths = 0;
	}
	if (n_rest) {
		r = ino_new(w, rest, n_rest, err);
		if (r < 0)
			goto fail;
	}
	ev.data.u32 = 0;
	if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, w->stop_fd, &ev) < 0)
		goto fail_errno;
	if (w->fan) {
		ev.data.u32 = 1;
		if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fan_fd(w->fan), &ev) < 0)
			goto fail_errno;
	}
	if (w->ino) {
		ev.data.u32 = 2;
		if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, ino_fd(w->ino), &ev) < 0)
			goto fail_errno;
	}
	strv_free(paths, n_paths);
	strv_free(rest, n_rest);
	*ret = w;
	return 0;
fail_errno:
	r = vg_error_set(err, neg_errno(), NULL, 0, 0, "cannot set up the watcher: %s",
			 strerror(errno));
fail:
	strv_free(paths, n_paths);
	strv_free(rest, n_rest);
	watch_free(w);
	return r;
}

static void *watch_main(void *arg)
{
	struct watch *w = arg;

	for (;;) {
		struct epoll_event evs[4];
		int n = epoll_wait(w->epoll_fd, evs, ARRAY_SIZE(evs), -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error(0, "the watcher stopped: %s", strerror(errno));
			watch_queue_gap(w, "watcher-failed", "/", strerror(errno));
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			uint64_t before = atomic_load(&w->delivered);
			int r = 0;

			if (evs[i].data.u32 == 0)
				return NULL;
			if (evs[i].data.u32 == 1)
				r = fan_process(w);
			else
				r = ino_process(w);
			if (r < 0) {
				log_error(0, "the watcher stopped: %s", strerror(-r));
				watch_queue_gap(w, "watcher-failed", "/", strerror(-r));
				return NULL;
			}
			/* one wake-up per batch read, not one per event */
			if (atomic_load(&w->delivered) != before)
				wake(w);
		}
	}
}

int watch_start(struct watch *w)
{
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0)
		return -EAGAIN;
	w->started = true;
	return 0;
}

struct watch *watch_free(struct watch *w)
{
	if (!w)
		return NULL;
	if (w->started) {
		uint64_t one = 1;

		if (write(w->stop_fd, &one, sizeof(one)) < 0)
			log_debug("cannot stop the watcher: %s", strerror(errno));
		pthread_join(w->thread, NULL);
	}
	if (w->fan)
		fan_free(w->fan);
	if (w->ino)
		ino_free(w->ino);
	if (w->stop_fd >= 0)
		close(w->stop_fd);
	if (w->epoll_fd >= 0)
		close(w->epoll_fd);
	for (size_t i = 0; i < w->n_gaps; i++)
		watch_gap_release(&w->gaps[i]);
	free(w->gaps);
	strv_free(w->uncovered, w->n_uncovered);
	strv_free(w->ignore, w->n_ignore);
	strmap_release(&w->execs, exec_actor_free);
	for (unsigned i = 0; i < ARRAY_SIZE(w->actors); i++)
		if (w->actors[i].pid)
			actor_release(&w->actors[i].a);
	pthread_mutex_destroy(&w->mu);
	free(w);
	return NULL;
}

int watch_get_info(struct watch *w, struct watch_info *ret)
{
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	ret->mode = w->fan && w->ino ? "fanotify+inotify" : w->fan ? "fanotify" : "inotify";
	if (w->fan)
		fan_marked(w->fan, &ret->marked, &ret->n_marked);
	if (w->ino)
		ret->watches = ino_count(w->ino);
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < w->n_uncovered && r == 0; i++)
		r = strv_add(&ret->uncovered, &ret->n_uncovered, w->uncovered[i]);
	pthread_mutex_unlock(&w->mu);
	ret->events = atomic_load(&w->events);
	ret->delivered = atomic_load(&w->delivered);
	ret->overflows = atomic_load(&w->overflows);
	ret->resolve_failures = atomic_load(&w->resolve_failures);
	return r;
}

void watch_info_release(struct watch_info *i)
{
	strv_free(i->marked, i->n_marked);
	strv_free(i->uncovered, i->n_uncovered);
	memset(i, 0, sizeof(*i));
}

/* What the watcher's two back ends share (watch.c, fanotify.c, inotify.c). */
#ifndef VIGIL_WATCH_WATCH_INT_H
#define VIGIL_WATCH_WATCH_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "base/buf.h"
#include "base/strmap.h"
#include "watch/watch.h"

struct fan;
struct ino;

struct watch {
	struct watch_opts o;
	pthread_t thread;
	bool started;
	int stop_fd;		/* eventfd: the thread stops when it is readable */
	int epoll_fd;
	struct fan *fan;	/* NULL: fanotify not in use */
	struct ino *ino;	/* NULL: inotify not in use */
	char **ignore;		/* exact paths whose events are never delivered */
	size_t n_ignore;

	pthread_mutex_t mu;	/* guards gaps, uncovered and the info lists */
	struct watch_gap *gaps;
	size_t n_gaps;
	bool limit_gap_queued;	/* a pending-limit gap waits for the daemon */
	char **uncovered;
	size_t n_uncovered;

	atomic_uint_fast64_t events, delivered, overflows, resolve_failures;

	/* the actor cache: processes read in the last moments */
	struct {
		pid_t pid;
		int64_t at_ns;
		struct actor a;
	} actors[16];
	unsigned actor_next;

	/* executables by pid, from exec events: a process that exits right after it
	 * acted can no longer be read, but what it ran was seen when it started */
	struct strmap execs;
};

/* Notes that pid executed path (the queue delivers this before what pid does next). */
void watch_note_exec(struct watch *w, pid_t pid, const char *path, size_t len);

/* Delivers an event on path to the table (the caller decided it is relevant). */
void watch_deliver(struct watch *w, const char *path, size_t len, uint32_t mask, bool subtree,
		   pid_t pid);
/* Queues a gap and wakes the daemon. */
void watch_queue_gap(struct watch *w, const char *reason, const char *scope, const char *detail);
/* Remembers a path that only periodic checks cover. */
void watch_add_uncovered(struct watch *w, const char *path);
/* True when events on path must never be delivered (the daemon's own store). */
bool watch_ignored(const struct watch *w, const char *path, size_t len);

/* Roots and mount points to cover: the policy's roots, plus every mount point below
 * one of them that may hold selected objects and that walks may enter (not with
 * one_filesystem, globally or by the rule there).  Sorted, unique. */
int watch_cover_paths(const struct policy *p, bool one_filesystem, char ***ret, size_t *n);
void strv_free(char **v, size_t n);
int strv_add(char ***v, size_t *n, const char *s);

int fan_new(struct watch *w, char **paths, size_t n, char ***rest, size_t *n_rest,
	    struct vg_error *err);
void fan_free(struct fan *f);
int fan_fd(const struct fan *f);
int fan_process(struct watch *w);
void fan_marked(const struct fan *f, char ***ret, size_t *n);

int ino_new(struct watch *w, char **paths, size_t n, struct vg_error *err);
void ino_free(struct ino *i);
int ino_fd(const struct ino *i);
int ino_process(struct watch *w);
size_t ino_count(const struct ino *i);

#endif

/*
 * The watcher (DET-04): kernel change notification for everything the policy selects,
 * turned into coalesced objects to read (coalesce.h) and monitoring gaps.
 *
 * fanotify is preferred: one FAN_MARK_FILESYSTEM mark per filesystem that holds a
 * selected path, events reported with the directory's file handle and the entry's
 * name, so memory does not grow with the number of directories.  inotify is the
 * fallback (no CAP_SYS_ADMIN, or a filesystem without file handles): one watch per
 * directory that may hold selected objects, added as directories appear.
 *
 * The watcher runs in a thread of its own and only fills the coalescing table, so a
 * long check in the daemon's main thread never lets the kernel queue overflow.  It talks
 * to the rest through plain structs, so it can later move into a privileged process.
 */
#ifndef VIGIL_WATCH_WATCH_H
#define VIGIL_WATCH_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "conf/settings.h"
#include "policy/policy.h"
#include "watch/coalesce.h"

struct watch_opts {
	const struct policy *policy;
	enum watch_mode_setting mode;
	pid_t self;		/* events of this process are ignored (the daemon's own writes) */
	struct coalesce *table;
	int notify_fd;		/* an eventfd written when objects were added or a gap queued */
	bool one_filesystem;	/* [scan] one_filesystem: mounts below roots are not covered */
	const char *const *ignore;	/* exact paths never delivered (the daemon's store) */
	size_t n_ignore;
};

/* Something may have been missed: what, and which subtree to rescan. */
struct watch_gap {
	char reason[32];	/* "overflow", "resolve", "pending-limit", "watch-limit" */
	char *scope;		/* the path to rescan below ("/": everything) */
	char *detail;
};

struct watch_info {
	const char *mode;	/* "fanotify", "inotify", "fanotify+inotify" */
	char **marked;		/* fanotify: mount points of the filesystems marked */
	size_t n_marked;
	size_t watches;		/* inotify: directories watched */
	char **uncovered;	/* paths covered only by periodic checks */
	size_t n_uncovered;
	uint64_t events, delivered, overflows, resolve_failures;
};

struct watch;

/* Arms every mark or watch.  Returns 0 or a negative errno with err filled. */
int watch_new(const struct watch_opts *o, struct watch **ret, struct vg_error *err);
/* Starts the watcher's thread. */
int watch_start(struct watch *w);
/* Stops the thread and frees everything. */
struct watch *watch_free(struct watch *w);
/* Takes the gaps queued since the last call (the caller frees them). */
size_t watch_take_gaps(struct watch *w, struct watch_gap **ret);
void watch_gap_release(struct watch_gap *g);
/* A snapshot of what the watcher covers and has seen; release with watch_info_release(). */
int watch_get_info(struct watch *w, struct watch_info *ret);
void watch_info_release(struct watch_info *i);

#endif

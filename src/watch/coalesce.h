/*
 * Coalescing: the events of one object are gathered until it settles, then the object
 * is read once.  An object settles a few milliseconds after a write to it is closed
 * (close-write after its last modification, with a short grace for the chmod or utime
 * that tools do right after closing), after a quiet period with no event, or at the
 * latest a fixed time after its first event (a file written without pause, a log).
 *
 * The table is shared between the watcher's thread (which adds) and the daemon's main
 * thread (which takes settled objects out); it locks itself.  It is bounded: past its
 * limit the caller records a monitoring gap, clears it and rescans.
 */
#ifndef VIGIL_WATCH_COALESCE_H
#define VIGIL_WATCH_COALESCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "watch/actor.h"

/* Kernel events, as the watcher reports them (both back ends). */
enum {
	WEV_CREATE = 1u << 0,
	WEV_DELETE = 1u << 1,
	WEV_MOVED_FROM = 1u << 2,
	WEV_MOVED_TO = 1u << 3,
	WEV_MODIFY = 1u << 4,
	WEV_CLOSE_WRITE = 1u << 5,
	WEV_ATTRIB = 1u << 6,
	WEV_DIR = 1u << 7,	/* the object is a directory */
	WEV__NAMES = 7,
};

/* "create", "delete", ... for bit i < WEV__NAMES. */
const char *wev_name(unsigned bit);

struct pending_obj {
	char *path;
	size_t len;
	uint32_t mask;		/* WEV_* seen since it was added */
	bool subtree;		/* a directory moved in or out: rescan what is below */
	bool written;		/* modified and not yet closed */
	int64_t first_ns, last_ns;	/* monotonic */
	int64_t first_real_ns;	/* when the first event was read (UTC) */
	bool has_actor;
	struct actor actor;	/* the process of the latest event that had one */
	struct pending_obj *prev, *next;
};

struct coalesce;

int coalesce_new(int64_t settle_ns, int64_t max_delay_ns, size_t limit, struct coalesce **ret);
struct coalesce *coalesce_free(struct coalesce *c);

/*
 * Adds an event for path (actor may be NULL; it is copied).  Returns 1 when the object
 * is ready at once, 0 when it waits, -ENOSPC when the table is full
 * (nothing added), or -ENOMEM.
 */
int coalesce_add(struct coalesce *c, const char *path, size_t len, uint32_t mask, bool subtree,
		 const struct actor *actor, int64_t now_ns, int64_t real_ns);
/*
 * Takes up to max objects that have settled by now_ns out of the table (oldest first).
 * *next_ns gets the time the next one settles (INT64_MAX: none waits).  The caller frees
 * each with pending_obj_free().
 */
size_t coalesce_take(struct coalesce *c, int64_t now_ns, struct pending_obj **out, size_t max,
		     int64_t *next_ns);
/* Drops everything waiting (a rescan will cover it). Returns how many were dropped. */
size_t coalesce_clear(struct coalesce *c);
size_t coalesce_count(struct coalesce *c);
void pending_obj_free(struct pending_obj *p);

#endif

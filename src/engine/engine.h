/*
 * The engine: observe, compare with the baseline, and turn differences into changes
 * (DESIGN §3).  engine_init() records a baseline of everything the policy selects;
 * engine_check() compares the system with it and reports each change, each object
 * that could not be examined and each object that would not hold still.
 *
 * Two comparisons.  A *difference* is what separates an object from its baseline; a
 * *change* is what separates it from its last known state (the observed state the
 * store keeps for objects that left their baseline, else the baseline).  `vigil check`
 * reports every difference (as AIDE would); the store and the journal receive each
 * change once, with how it was detected and, when a watcher saw it, who made it.  So
 * a file edited twice gives two changes, and a check run every hour records nothing
 * new about a difference it already recorded.
 *
 * Every change, error and unstable object is recorded in the store and appended to the
 * journal, and the transaction is committed, before it is reported to the caller.  A
 * run is journaled as it starts ("run.started") and ends ("run.finished", or
 * "baseline.created" for init).  The baseline itself never moves here: only
 * an authorised change may move it (later issues).
 *
 * The watcher's path (engine_watch_*) observes one object at a time after a kernel
 * event and records its change the same way, in batches: observe several, then flush,
 * which commits and only then reports.
 */
#ifndef VIGIL_ENGINE_ENGINE_H
#define VIGIL_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/object.h"
#include "base/buf.h"
#include "base/uuid.h"
#include "journal/journal.h"
#include "policy/policy.h"
#include "scan/scan.h"
#include "store/store.h"

struct coll_opts;

#define ENGINE_NO_AUID UINT32_MAX

/*
 * One change put to reconciliation.  The callback fills the verdict: authorized with
 * the uuid of the record or standing authorization that covers it, and in evidence one
 * JSON object saying how (it becomes "vigil.authorization" of the change's event).
 * An authorized change moves the baseline; an unauthorized one never does.  The
 * callback returns 0, or a negative errno that stops the run (nothing is recorded).
 */
struct engine_reconcile {
	const char *path;
	size_t path_len;
	int kind;			/* enum engine_event_kind: added, removed, modified */
	const struct object_state *before, *after;	/* NULL: absent */
	uint32_t changed;		/* modified: the attributes that differ */
	int64_t detected_ns;		/* CLOCK_REALTIME */
	uint32_t auid;			/* the actor's login uid; ENGINE_NO_AUID: unknown */
	const char *actor_exe;		/* NULL: unknown */
	bool authorized;
	char record_uuid[UUID_STR_LEN];
	struct buf *evidence;		/* empty on entry */
	/* a collected object (path "KIND:KEY"): its states, canonical JSON (NULL: absent) */
	const char *state_before, *state_after;
};

struct engine_event;

struct engine_opts {
	const struct policy *policy;
	struct store *store;
	int64_t host_id;
	const char *host_name;
	bool full;
	unsigned workers;
	unsigned hash_attempts;
	bool one_filesystem;
	const struct scan_hooks *hooks;	/* tests only */
	struct journal *journal;	/* NULL: nothing is journaled (tests only) */
	/* checks: how their changes are said to be detected ("check" when NULL), the run
	 * kind ("check" when NULL), and the subtrees to limit them to (none: all roots) */
	const char *source;
	const char *run_kind;
	const char *const *under;
	size_t n_under;
	/* report the changes recorded rather than every difference from the baseline */
	bool report_changes;
	/* called every few thousand objects during a check (the daemon's watchdog); a
	 * negative return stops the check, which then ends with -ECANCELED */
	int (*progress)(void *ud);
	void *progress_ud;
	/* reconciliation (CHG-07): asked about every change before it is recorded; NULL:
	 * every change is unauthorized */
	int (*reconcile)(void *ud, struct engine_reconcile *rc);
	void *reconcile_ud;
	/* called for every change, error and unstable object recorded, inside the
	 * transaction that records it (alerts are raised here); NULL: none */
	int (*recorded)(void *ud, const struct engine_event *ev);
	void *recorded_ud;
	/* collected objects (KIND:KEY): how to collect, and which kinds (bit i: object_kinds[i];
	 * a kind is collected only when the policy also selects some of its objects) */
	const struct coll_opts *collect;
	uint32_t kinds;
	bool no_files;		/* skip the file scan (vigil check --only without "file") */
	/* called for every monitoring gap, inside the transaction that records it */
	int (*gap)(void *ud, const char *uuid, const char *reason, const char *scope,
		   int64_t time_ns);
};

/* Who and what caused a change, as the watcher saw it (all members may be NULL). */
struct engine_origin {
	bool has_auid;			/* the actor's login uid is known: */
	uint32_t auid;
	const char *actor_exe;		/* the actor's executable, when known */
	const char *source;		/* "fanotify", "inotify" */
	const char *events_json;	/* JSON array of the kernel events seen, e.g. ["create"] */
	const char *process_json;	/* ECS "process" object */
	const char *user_json;		/* ECS "user" object */
	int64_t event_ns;		/* when the first event was read */
};

enum engine_event_kind {
	ENGINE_ADDED,
	ENGINE_REMOVED,
	ENGINE_MODIFIED,
	ENGINE_ERROR,		/* an object could not be examined */
	ENGINE_UNSTABLE,	/* an object changed while it was read */
};

struct engine_event {
	enum engine_event_kind kind;
	const struct scan_item *item;	/* NULL for a change reported by engine_watch_flush() */
	const char *path;
	size_t path_len;
	const struct object_state *before, *after;	/* NULL: absent (or not known) */
	bool recorded;	/* a change recorded now (not a difference recorded earlier) */
	const char *source;	/* how it was detected, when not the run's own way */
	uint32_t changed;	/* ENGINE_MODIFIED: the attributes that differ */
	const struct rule *rule;	/* the deciding rule */
	char uuid[UUID_STR_LEN];
	int64_t detected_ns;
	const char *json;	/* the event as one ECS JSON object (no newline) */
	bool authorized;	/* the disposition reconciliation gave a change */
	char record_uuid[UUID_STR_LEN];	/* ... and the record that authorized it */
	/* a collected object (path is "KIND:KEY"): its states as canonical JSON (NULL:
	 * absent), the names of the state's members that differ, and for text-like objects
	 * the unified diff of their texts (NULL: none) */
	bool collected;
	const char *state_before, *state_after;
	const char *members;	/* JSON array of member names */
	const char *diff;
};

typedef int (*engine_report_fn)(void *ud, const struct engine_event *ev);

struct engine_result {
	char run_uuid[UUID_STR_LEN];
	int64_t started_ns, finished_ns;
	uint64_t objects, added, removed, modified, errors, unstable, unmonitored;
	uint64_t hashed, bytes;
	uint64_t recorded;	/* changes recorded (differences new since the last known state) */
	uint64_t authorized;	/* of those, authorized (the baseline moved) */
	uint64_t kind_objects[OBJECT_KINDS_N];	/* of objects, the collected ones by kind
						 * (object_kinds[]); the rest are files */
};

/* Replaces the baseline. Errors and unstable objects are reported; the rest is stored. */
int engine_init(const struct engine_opts *o, engine_report_fn report, void *ud,
		struct engine_result *ret);
/* Compares with the baseline; -ENODATA when there is none (or it is incomplete). */
int engine_check(const struct engine_opts *o, engine_report_fn report, void *ud,
		 struct engine_result *ret);

struct engine_watch;
/* Starts a watch session: a run of kind "watch" that event-driven changes belong to. */
int engine_watch_begin(const struct engine_opts *o, struct engine_watch **ret);
/*
 * Observes path after an event and records a change when it differs from its last known
 * state.  Nothing is committed or reported until engine_watch_flush().  Returns 1 when
 * a change (or an error) was recorded, 0 when nothing differed or the path is not
 * monitored, or a negative errno.
 */
int engine_watch_observe(struct engine_watch *w, const char *path, size_t len,
			 const struct engine_origin *origin);
/* Commits everything observed so far, then reports each change recorded. */
int engine_watch_flush(struct engine_watch *w, engine_report_fn report, void *ud);
/* Records a monitoring gap (journal "monitor.gap") and commits it. */
int engine_watch_gap(struct engine_watch *w, const char *reason, const char *scope,
		     const char *detail, char uuid_out[UUID_STR_LEN]);
/* Appends an entry of the daemon's own (e.g. "monitor.started") and commits it. */
int engine_watch_note(struct engine_watch *w, const char *type, const char *fields_json);
/* Ends the session's run (status 0 for a clean stop) and frees it. */
int engine_watch_end(struct engine_watch *w, int status);
int64_t engine_watch_run_id(const struct engine_watch *w);
/* Collects the kinds of the session's options now, recording each change like a file's
 * (detection source "collect"); commits what was observed before first. */
int engine_watch_collect(struct engine_watch *w, engine_report_fn report, void *ud);
/* Uses policy p and the collectors' options co from now on (the settings and rules were
 * reloaded). */
void engine_watch_set_policy(struct engine_watch *w, const struct policy *p,
			     const struct coll_opts *co);
const char *engine_watch_run_uuid(const struct engine_watch *w);

/* The value (JSON text) of member name of a collected object's state: 0 with *ret_val
 * and *ret_len, or -ENOENT (also when state is NULL). */
int engine_state_member(const char *state, const char *name, size_t name_len,
			const char **ret_val, size_t *ret_len);

/* "added", "removed", "modified", "error", "unstable". */
const char *engine_event_name(enum engine_event_kind k);

#endif

/*
 * The engine: observe, compare with the baseline, and turn differences into changes
 * (DESIGN §3).  engine_init() records a baseline of everything the policy selects;
 * engine_check() compares the system with it and reports each change, each object
 * that could not be examined and each object that would not hold still.
 *
 * Every change, error and unstable object is recorded in the store and appended to the
 * journal, and the transaction is committed, before it is reported to the caller.  A
 * run is journaled as it starts ("run.started") and ends ("run.finished", or
 * "baseline.created" for init).  The baseline itself never moves here: only
 * an authorised change may move it (later issues).
 */
#ifndef VIGIL_ENGINE_ENGINE_H
#define VIGIL_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/uuid.h"
#include "journal/journal.h"
#include "policy/policy.h"
#include "scan/scan.h"
#include "store/store.h"

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
	const struct scan_item *item;
	uint32_t changed;	/* ENGINE_MODIFIED: the attributes that differ */
	const struct rule *rule;	/* the deciding rule */
	char uuid[UUID_STR_LEN];
	int64_t detected_ns;
	const char *json;	/* the event as one ECS JSON object (no newline) */
};

typedef int (*engine_report_fn)(void *ud, const struct engine_event *ev);

struct engine_result {
	char run_uuid[UUID_STR_LEN];
	int64_t started_ns, finished_ns;
	uint64_t objects, added, removed, modified, errors, unstable, unmonitored;
	uint64_t hashed, bytes;
};

/* Replaces the baseline. Errors and unstable objects are reported; the rest is stored. */
int engine_init(const struct engine_opts *o, engine_report_fn report, void *ud,
		struct engine_result *ret);
/* Compares with the baseline; -ENODATA when there is none (or it is incomplete). */
int engine_check(const struct engine_opts *o, engine_report_fn report, void *ud,
		 struct engine_result *ret);

/* "added", "removed", "modified", "error", "unstable". */
const char *engine_event_name(enum engine_event_kind k);

#endif

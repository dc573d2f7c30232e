/*
 * What engine.c and engine-collect.c share: the context of one run and the steps every
 * change goes through (reconcile, record, journal).  Only engine-*.c include this.
 */
#ifndef VIGIL_ENGINE_ENGINE_INT_H
#define VIGIL_ENGINE_ENGINE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/json.h"
#include "engine/engine.h"

/* An observation recorded since the baseline, for the merge with a check's items. */
struct known {
	char *path;
	size_t len;
	bool present;
	struct object_state st;
};

struct ctx {
	const struct engine_opts *o;
	engine_report_fn report;
	void *ud;
	struct engine_result *res;
	int64_t run_id;
	bool init;
	const char *source;	/* "check", "rescan", "fanotify", ... */
	const char *run_kind;
	struct buf json;
	struct buf evidence;	/* the reconciler's evidence for the change being recorded */
	struct buf diff;	/* the text diff of the change being recorded */
	int store_err;
	/* the observed layer of the subtree being checked, in key order */
	struct known *known;
	size_t n_known, known_at;
	/* a directory that could not be read: what is below it was not examined */
	char *skip;
	size_t skip_len;
};

/* Writes ns as an RFC 3339 UTC string value. */
void eng_json_time(struct json_writer *w, int64_t ns);
/* The parts of a change's ECS event every object shares: "@timestamp", "event" (with
 * the category given) and "host" into an open object; and inside "vigil", the rule,
 * the disposition, the detection and the run. */
void eng_json_head(struct ctx *c, struct json_writer *w, const struct engine_event *ev,
		   const struct engine_origin *origin, const char *category);
void eng_json_tail(struct ctx *c, struct json_writer *w, const struct engine_event *ev,
		   const struct engine_origin *origin);
/* Records ev (its JSON in c->json) in the store and the journal, inside the open
 * transaction, and calls the recorded hook. */
int eng_record(struct ctx *c, const struct engine_event *ev);
/* Asks the reconciler for the change's disposition (ev->authorized, ev->record_uuid;
 * the evidence in c->evidence). */
int eng_reconcile(struct ctx *c, struct engine_event *ev, const struct engine_origin *origin);
/* Records a monitoring gap (store, journal "monitor.gap", the gap hook) and commits. */
int eng_gap(struct ctx *c, const char *reason, const char *scope, const char *detail,
	    char uuid_out[UUID_STR_LEN]);
/* Collects the kinds the options and the policy ask for: at init into the baseline,
 * at a check compared with it, every change recorded like a file's (engine-collect.c). */
int eng_collect(struct ctx *c);

#endif

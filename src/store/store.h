/*
 * The store: everything Vigil keeps, behind plain functions over plain structs
 * (DESIGN §6).  SQL stays inside the backend (store-sqlite.c).
 *
 * The store lives in STATE_DIR/vigil.db (SQLite, WAL).  Schema changes are numbered
 * migrations applied when the store is opened; a store written by a newer Vigil is
 * refused.  Every object, run and change carries a host.
 *
 * Baselines are kept in key order: paths compare component by component, so "/a/b"
 * sorts before "/a.b", the order in which the scanner walks.  A lost write is never
 * silent: every function returns a negative errno on failure and the caller decides.
 */
#ifndef VIGIL_STORE_STORE_H
#define VIGIL_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/object.h"

#define STORE_SCHEMA_VERSION 7
#define STORE_DB_NAME "vigil.db"

struct store;
struct store_cursor;

enum store_open_flags {
	STORE_CREATE = 1 << 0,	/* create the state directory and database if missing */
	STORE_READONLY = 1 << 1,
};

int store_open(const char *state_dir, unsigned flags, struct store **ret, struct vg_error *err);
struct store *store_close(struct store *s);
/* The message of the last SQLite error on s, for the program's log. */
const char *store_errmsg(struct store *s);

/* The id of host name, created on first use. */
int store_host(struct store *s, const char *name, int64_t *ret_id);

int store_meta_get(struct store *s, const char *key, char **ret);
int store_meta_set(struct store *s, const char *key, const char *value);

struct store_baseline_info {
	bool exists;		/* a baseline was started for the host */
	bool complete;		/* and finished */
	uint64_t objects;
	int64_t created_ns;
};
int store_baseline_info(struct store *s, int64_t host, struct store_baseline_info *ret);

/*
 * Replaces the host's baseline.  begin() drops the old one and marks the baseline as
 * being built (a check refuses an incomplete baseline); put() adds objects (in any
 * order), committing in batches; finish() commits and marks it complete.
 */
int store_baseline_begin(struct store *s, int64_t host);
int store_baseline_put(struct store *s, int64_t host, const char *path, size_t len,
		       const struct object_state *st);
int store_baseline_finish(struct store *s, int64_t host, int64_t created_ns);
/* Abandons a baseline being built (rolls back the open batch). */
void store_baseline_abort(struct store *s);

/*
 * Reads the host's baseline in key order through its own connection, so it may run in
 * another thread while s writes.  next() returns 1 with a path and a state that stay
 * owned by the cursor until the next call (the caller may move the state's contents
 * out, leaving it initialised), 0 at the end, or a negative errno.
 */
int store_cursor_new(struct store *s, int64_t host, struct store_cursor **ret);
/* The same, limited to path and what is below it. */
int store_cursor_new_under(struct store *s, int64_t host, const char *path, size_t len,
			   struct store_cursor **ret);
int store_cursor_next(struct store_cursor *c, const char **ret_path, size_t *ret_len,
		      struct object_state **ret_state);
struct store_cursor *store_cursor_free(struct store_cursor *c);

/* Moves one object's baseline to st (NULL: the object leaves the baseline), inside the
 * open transaction: an authorized change, or an accepted one. */
int store_baseline_set(struct store *s, int64_t host, const char *path, size_t len,
		       const struct object_state *st);

/* The object's last observed state becomes its baseline (observed absent: it leaves the
 * baseline) and the observed row goes, inside the open transaction: a change accepted
 * afterwards.  Returns 1 when the baseline moved, 0 when the object was at its
 * baseline already, or a negative errno. */
int store_baseline_take_observed(struct store *s, int64_t host, const char *path, size_t len);

/* The baseline state of one object: 1 found, 0 not found, or a negative errno. */
int store_baseline_get(struct store *s, int64_t host, const char *path, size_t len,
		       struct object_state *ret);

/*
 * The observed layer: the last state recorded for an object whose observation differs
 * from its baseline (a change was recorded and the baseline did not move).  A change
 * is a difference from the last known state: the observed state when there is one,
 * else the baseline.  An object back at its baseline has no observed row.
 */
/* 1 present (ret filled), 0 observed absent, -ENOENT no observation, or a negative errno. */
int store_observed_get(struct store *s, int64_t host, const char *path, size_t len,
		       struct object_state *ret);
/* Records the observed state (st NULL: the object was observed absent). */
int store_observed_put(struct store *s, int64_t host, const char *path, size_t len,
		       const struct object_state *st);
int store_observed_drop(struct store *s, int64_t host, const char *path, size_t len);

/*
 * Collected objects (KIND:KEY, see collect/collect.h).  Layer 0 is the baseline of the
 * kind, layer 1 the last observed state of objects that left it (present false: observed
 * absent).  Writes join the open transaction (or open one).
 */
struct store_collected {
	const char *key;
	bool present;
	const char *state;	/* canonical JSON; NULL when absent */
	const char *text;	/* NULL when none */
};
/* Calls fn for each object of kind in layer, in key order (strings valid during the call);
 * a non-zero return from fn stops (a negative one is returned). */
int store_collected_each(struct store *s, int64_t host, const char *kind, int layer,
			 int (*fn)(void *ud, const struct store_collected *c), void *ud);
int store_collected_put(struct store *s, int64_t host, const char *kind, int layer,
			const char *key, bool present, const char *state, const char *text);
/* One object of layer: 1 with *ret_present and *ret_text (malloc'ed, NULL when none), 0
 * when absent from the layer, or a negative errno. */
int store_collected_get(struct store *s, int64_t host, const char *kind, int layer,
			const char *key, bool *ret_present, char **ret_text);
/* Drops key from layer; key NULL: every object of the kind in layer and above. */
int store_collected_drop(struct store *s, int64_t host, const char *kind, int layer,
			 const char *key);
/* Calls fn for every observation at or below path (NULL: all), in key order; st is
 * NULL for an object observed absent. */
int store_observed_each(struct store *s, int64_t host, const char *path, size_t len,
			int (*fn)(void *ud, const char *path, size_t len,
				  const struct object_state *st),
			void *ud);

struct store_run {
	char uuid[37];
	const char *kind;	/* "init", "check" */
	bool full;
	int64_t started_ns;
	int64_t finished_ns;
	uint64_t objects, added, removed, modified, errors;
	int status;		/* exit status the run ended with */
};

/* Records a run's start and opens the transaction its changes go into. */
int store_run_begin(struct store *s, int64_t host, const struct store_run *run, int64_t *ret_id);
/* Records one detected change: change is "added", "removed" or "modified"; source says
 * how it was detected ("check", "fanotify", "inotify", "rescan"); disposition is
 * "authorized" (record_uuid: the record or standing authorization) or "unauthorized". */
int store_change_add(struct store *s, int64_t run_id, int64_t host, const char *uuid,
		     const char *path, size_t len, const char *change, uint32_t attrs,
		     int64_t detected_ns, const char *source, const char *event_json,
		     const char *disposition, const char *record_uuid);

struct store_change_row {
	int64_t id;
	const char *uuid;
	int64_t detected_ns;
	const char *change;
	const char *source;
	const char *event_json;	/* the change as one ECS JSON object */
	const char *path;
	size_t path_len;
	uint32_t attrs;		/* the attributes that changed */
	const char *disposition;	/* "authorized" or "unauthorized" */
	const char *record_uuid;	/* the authorizing record, or NULL */
};
/* Calls fn for the host's changes detected at or after since_ns with an id above
 * after_id, in the order they were recorded.  Strings are valid during the call only. */
int store_changes_each(struct store *s, int64_t host, int64_t since_ns, int64_t after_id,
		       int (*fn)(void *ud, const struct store_change_row *c), void *ud);

struct store_run_info {
	char uuid[37];
	int64_t started_ns, finished_ns;
	int status;
};
/* The last finished run of kind (full: 1, 0, or -1 for either): 1 found, 0 none. */
int store_run_last(struct store *s, int64_t host, const char *kind, int full,
		   struct store_run_info *ret);

/* Marks the host's runs of kind that never finished as ended now with status (a daemon
 * that was killed); *ret_count gets how many there were.  Inside the open transaction. */
int store_run_close_unfinished(struct store *s, int64_t host, const char *kind, int64_t now_ns,
			       int status, uint64_t *ret_count);

/* Records a monitoring gap (reason: "overflow", "resolve", "restart", ...) inside the
 * open transaction. */
int store_gap_add(struct store *s, int64_t host, const char *uuid, int64_t time_ns,
		  const char *reason, const char *scope, const char *detail);
/* How many gaps of reason (NULL: any) the host has had. */
int store_gap_count(struct store *s, int64_t host, const char *reason, uint64_t *ret);
/* Records the run's end and commits its changes. */
int store_run_finish(struct store *s, int64_t run_id, const struct store_run *run);

/* ---- explicit transactions (for callers that must commit before they report) ---- */

int store_tx_begin(struct store *s);
int store_tx_commit(struct store *s);
/* Counts the write transactions begun on s: a reader of cached state that another
 * process may have changed re-reads it when this moved. */
uint64_t store_tx_serial(const struct store *s);
void store_tx_rollback(struct store *s);

/* ---- the journal (journal/ owns its meaning; the store keeps its rows) ---- */

struct store_journal_entry {
	uint64_t index;
	int64_t time_ns;
	char type[64];
	uint8_t *data;		/* the canonical JSON bytes; NULL when purged.  malloc'ed by
				 * store_journal_get(); borrowed (valid during the callback
				 * only) in store_journal_each() */
	size_t len;
	int64_t purged_ns;	/* 0 unless the body was purged */
	bool has_leaf;		/* store_journal_each(): the stored leaf hash was found */
	uint8_t leaf[32];
};

int store_journal_size(struct store *s, uint64_t *ret);
/* Adds entry index (which must be the current size) inside the open transaction. */
int store_journal_append(struct store *s, uint64_t index, int64_t time_ns, const char *type,
			 const void *data, size_t len);
int store_journal_get(struct store *s, uint64_t index, struct store_journal_entry *ret);
void store_journal_entry_release(struct store_journal_entry *e);
/* Calls fn for entries [from, to) in order, each with its stored leaf hash; stops at the
 * first negative return. */
int store_journal_each(struct store *s, uint64_t from, uint64_t to,
		       int (*fn)(void *ud, const struct store_journal_entry *e), void *ud);
/* Removes the bodies of entries [from, to), keeping their hashes. */
int store_journal_purge(struct store *s, uint64_t from, uint64_t to, int64_t now_ns);

int store_journal_hash_put(struct store *s, unsigned level, uint64_t index, const uint8_t h[32]);
/* Reads count consecutive stored hashes of level from index into out (32 bytes each). */
int store_journal_hash_range(struct store *s, unsigned level, uint64_t index, size_t count,
			     uint8_t *out);
/* 0, or -ENOENT when that hash is not stored. */
int store_journal_hash_get(struct store *s, unsigned level, uint64_t index, uint8_t out[32]);

struct store_checkpoint {
	int64_t id;
	uint64_t size;
	int64_t time_ns;
	char *note;		/* malloc'ed signed note */
};
int store_checkpoint_add(struct store *s, uint64_t size, int64_t time_ns, const char *note);
/* The latest checkpoint: 1 found, 0 none, or a negative errno. */
int store_checkpoint_latest(struct store *s, struct store_checkpoint *ret);
/* Calls fn for each checkpoint in issue order. */
int store_checkpoint_each(struct store *s, int (*fn)(void *ud, const struct store_checkpoint *c),
			  void *ud);
void store_checkpoint_release(struct store_checkpoint *c);

/* ---- accounts (change/ owns their meaning) ---- */

struct store_account {
	int64_t id;
	char *name;
	char *unix_user;
	char *roles;		/* comma-separated, in the order change/ keeps them */
	int64_t created_ns;
	int64_t disabled_ns;	/* 0: active */
};
/* Adds an account: -EEXIST when the name or the Unix user already has one. */
int store_account_add(struct store *s, const struct store_account *a, int64_t *ret_id);
/* By name (by_user false) or by Unix user name: 1 found, 0 none, or a negative errno. */
int store_account_get(struct store *s, const char *key, bool by_user, struct store_account *ret);
/* Writes roles and disabled_ns of the account named a->name. */
int store_account_update(struct store *s, const struct store_account *a);
int store_account_each(struct store *s, int (*fn)(void *ud, const struct store_account *a),
		       void *ud);
void store_account_release(struct store_account *a);

/* ---- change records ---- */

struct store_record {
	int64_t id;
	char uuid[37];
	char *source;		/* "local", or the system a record was imported from */
	char *ext_id;		/* the record's id within its source */
	char *type;
	char *state;
	int64_t revision;
	char *doc;		/* the current revision: one JSON object */
	int64_t created_ns, updated_ns;
};
/* Adds a record and its first revision (account: who made it). */
int store_record_add(struct store *s, struct store_record *r, const char *account,
		     int64_t *ret_id);
/* By (source, ext_id), or by ext_id alone (source NULL: -ENOTUNIQ when two sources
 * use it), or by uuid (source "uuid"): 1 found, 0 none, or a negative errno. */
int store_record_get(struct store *s, const char *source, const char *ext_id,
		     struct store_record *ret);
/* Writes state, type, revision, doc and updated_ns of record r->id; when new_revision,
 * also keeps r->doc as revision r->revision by account. */
int store_record_update(struct store *s, const struct store_record *r, bool new_revision,
			const char *account);
/* A number that moves whenever a record is added or updated (by any process): the
 * records' count and the last event's id (every update records an event). */
int store_record_version(struct store *s, int64_t *ret);
/* Every record, oldest first. */
int store_record_each(struct store *s, int (*fn)(void *ud, const struct store_record *r),
		      void *ud);
void store_record_release(struct store_record *r);

struct store_record_event {
	int64_t id;
	int64_t time_ns;
	const char *action;	/* "create", "submit", "approve", "amend", ... */
	const char *from_state, *to_state;
	const char *account, *roles;
	int64_t revision;
	const char *detail;	/* JSON object */
};
int store_record_event_add(struct store *s, int64_t record_id,
			   const struct store_record_event *e);
/* The record's events in order; strings valid during the call only. */
int store_record_event_each(struct store *s, int64_t record_id,
			    int (*fn)(void *ud, const struct store_record_event *e), void *ud);
/* The record's revisions in order (doc valid during the call only). */
int store_record_revision_each(struct store *s, int64_t record_id,
			       int (*fn)(void *ud, int64_t revision, int64_t time_ns,
					 const char *account, const char *doc),
			       void *ud);
/* Marks a recorded change as authorized by a record afterwards (an emergency record
 * that covers it retroactively), inside the open transaction: its disposition, its
 * record, and in its stored event vigil.disposition and vigil.authorization (the
 * JSON object evidence_json); the journal keeps the event as first recorded. */
int store_change_authorize(struct store *s, const char *change_uuid, const char *record_uuid,
			   const char *evidence_json);
/* ---- alerts (alert/ owns their meaning) ---- */

struct store_alert {
	int64_t id;
	char uuid[37];
	int64_t host_id;
	char *category, *severity, *state, *group_key, *title;
	int64_t generated_ns, deadline_ns;
	int64_t acknowledged_ns, responded_ns, determined_ns, closed_ns, breached_ns; /* 0: not */
	int64_t escalated;	/* bit i: escalation point i has fired */
	char *determination;	/* NULL until determined */
	int64_t actor_auid;	/* the login uid of the change's actor; -1: unknown */
	bool control_test;
	char *incident;		/* JSON object, NULL when none */
	char *detail;		/* JSON object */
};
void store_alert_release(struct store_alert *a);
/* Adds an alert (a->uuid made when empty), inside the open transaction. */
int store_alert_add(struct store *s, struct store_alert *a, int64_t *ret_id);
/* Writes every mutable column of alert a->id, inside the open transaction. */
int store_alert_update(struct store *s, const struct store_alert *a);
/* By uuid, or by a unique prefix of at least 8 characters: 1 found, 0 none, -ENOTUNIQ. */
int store_alert_get(struct store *s, const char *id, struct store_alert *ret);
/* The host's alerts, oldest first (open_only: not closed). */
int store_alert_each(struct store *s, int64_t host, bool open_only,
		     int (*fn)(void *ud, const struct store_alert *a), void *ud);
/* The newest alert of category and group_key generated at or after since_ns that is not
 * closed (with_closed: closed or not): 1 found, 0 none. */
int store_alert_find_group(struct store *s, int64_t host, const char *category,
			   const char *group_key, int64_t since_ns, bool with_closed,
			   struct store_alert *ret);
/* What is behind an alert: kind "change" or "gap" (ref: its uuid), "record" (its id). */
int store_alert_item_add(struct store *s, int64_t alert_id, const char *kind, const char *ref,
			 int64_t time_ns);
int store_alert_item_each(struct store *s, int64_t alert_id,
			  int (*fn)(void *ud, const char *kind, const char *ref, int64_t time_ns),
			  void *ud);
/* Every action on an alert, as for records (revision unused). */
int store_alert_event_add(struct store *s, int64_t alert_id, const struct store_record_event *e);
int store_alert_event_each(struct store *s, int64_t alert_id,
			   int (*fn)(void *ud, const struct store_record_event *e), void *ud);
/* Control tests (ALR-09): declared by a person before the test change is made; the
 * first alert raised while one is pending is that test's. */
int store_control_test_add(struct store *s, int64_t host, const char *uuid, int64_t declared_ns,
			   int64_t expires_ns, const char *account, const char *text);
/* Claims the oldest declaration pending at now_ns for alert_uuid: 1 with its uuid and
 * text copied out, 0 when none is pending. */
int store_control_test_claim(struct store *s, int64_t host, int64_t now_ns, const char *alert_uuid,
			     char ret_uuid[37], char **ret_text);

/* ---- the outbox of alert messages ---- */

struct store_outbox {
	int64_t id, host_id;
	const char *alert_uuid, *message_id, *channel, *event, *severity, *subject, *body, *json;
	bool control_test;
	int64_t created_ns, next_ns;
	int64_t attempts;
	const char *state;	/* "pending", "delivered", "failed" */
	const char *detail;
};
/* Queues one message for one channel, inside the open transaction. */
int store_outbox_add(struct store *s, const struct store_outbox *o);
/* Calls fn for up to max pending messages due at now_ns, oldest first (strings valid
 * during the call). */
int store_outbox_due(struct store *s, int64_t host, int64_t now_ns, size_t max,
		     int (*fn)(void *ud, const struct store_outbox *o), void *ud);
/* Records an attempt's outcome: state, next time, attempts and detail. */
int store_outbox_update(struct store *s, int64_t id, const char *state, int64_t next_ns,
			int64_t attempts, const char *detail);
/* How many messages are pending for host. */
int store_outbox_pending(struct store *s, int64_t host, uint64_t *ret);

/* Calls fn for the change of uuid, when there is one (the row is valid during the call). */
int store_change_get(struct store *s, const char *uuid,
		     int (*fn)(void *ud, const struct store_change_row *c), void *ud);

/* The changes a record authorized on host, in order. */
int store_changes_by_record(struct store *s, int64_t host, const char *record_uuid,
			    int (*fn)(void *ud, const struct store_change_row *c), void *ud);

#endif

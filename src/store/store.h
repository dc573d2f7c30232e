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

#define STORE_SCHEMA_VERSION 1
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
int store_cursor_next(struct store_cursor *c, const char **ret_path, size_t *ret_len,
		      struct object_state **ret_state);
struct store_cursor *store_cursor_free(struct store_cursor *c);

/* The baseline state of one object: 1 found, 0 not found, or a negative errno. */
int store_baseline_get(struct store *s, int64_t host, const char *path, size_t len,
		       struct object_state *ret);

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
/* Records one detected change: change is "added", "removed" or "modified". */
int store_change_add(struct store *s, int64_t run_id, int64_t host, const char *uuid,
		     const char *path, size_t len, const char *change, uint32_t attrs,
		     int64_t detected_ns, const char *event_json);
/* Records the run's end and commits its changes. */
int store_run_finish(struct store *s, int64_t run_id, const struct store_run *run);

#endif

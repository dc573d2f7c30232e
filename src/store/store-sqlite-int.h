/*
 * What the SQLite backend's files share: the connection struct and the small helpers
 * every statement goes through.  Only store-*.c include this.
 */
#ifndef VIGIL_STORE_SQLITE_INT_H
#define VIGIL_STORE_SQLITE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/object.h"

#define OBJ_KIND_FILE 1

struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *put;
	sqlite3_stmt *change;
	sqlite3_stmt *obs_put, *obs_drop, *obs_get, *base_get;
	sqlite3_stmt *j_append, *j_hash_put, *j_hash_get;
	sqlite3_stmt *base_set, *base_del, *base_has, *base_count, *rec_event;
	bool in_tx;
	unsigned batch;
	uint64_t tx_serial;	/* transactions begun on this connection */
};

/* A negative errno for an SQLite result code. */
int sq_err(int rc);
int sq_exec(sqlite3 *db, const char *sql);
int sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st);
/* Prepares into *slot once; the statement lives as long as the store. */
int sq_prepare_once(struct store *s, sqlite3_stmt **slot, const char *sql);
/* Steps a statement that returns no row, then resets it. */
int sq_step_done(sqlite3_stmt *st);
/* Opens the write transaction unless one is open; commits it. */
int sq_tx_begin(struct store *s);
int sq_tx_commit(struct store *s);
/* The key of a file path: '/' replaced by NUL so keys sort component by component. */
int sq_key_from_path(struct buf *b, const char *path, size_t len);
/* Binds a state's 21 columns (attrs .. caps) from parameter i on. */
void sq_bind_state(sqlite3_stmt *st, int i, const struct object_state *o, uint8_t hashes[192]);
int sq_row_to_state(sqlite3_stmt *st, struct object_state *o);
/* A copy of text column i (NULL stays NULL): 0 or -ENOMEM. */
int sq_col_strdup(sqlite3_stmt *st, int i, char **ret);

#endif

/*
 * Collected objects in the SQLite store: one table, two layers.  Layer 0 is the
 * baseline of each kind; layer 1 holds the last observed state of the objects that
 * left their baseline (present 0: observed absent), as the observed table does for
 * files.  Keys are text (UTF-8, no control characters, see collect.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/store-sqlite-int.h"
#include "store/store.h"
#include "base/banned.h"

int store_collected_each(struct store *s, int64_t host, const char *kind, int layer,
			 int (*fn)(void *ud, const struct store_collected *c), void *ud)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	r = sq_prepare(s->db,
		       "SELECT key, present, state, text FROM collected WHERE host_id = ?1 AND"
		       " layer = ?2 AND kind = ?3 ORDER BY key",
		       &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_int(st, 2, layer);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_collected c = {
			.key = (const char *)sqlite3_column_text(st, 0),
			.present = sqlite3_column_int(st, 1) != 0,
			.state = (const char *)sqlite3_column_text(st, 2),
			.text = (const char *)sqlite3_column_text(st, 3),
		};

		if (!c.key)
			continue;
		r = fn(ud, &c);
		if (r != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = sq_err(rc);
	sqlite3_finalize(st);
	return r < 0 ? r : 0;
}

int store_collected_put(struct store *s, int64_t host, const char *kind, int layer,
			const char *key, bool present, const char *state, const char *text)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sq_tx_begin(s);
	if (r == 0)
		r = sq_prepare(s->db,
			       "INSERT OR REPLACE INTO collected(host_id, layer, kind, key, present,"
			       " state, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			       &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_int(st, 2, layer);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, key, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, present);
	if (present && state)
		sqlite3_bind_text(st, 6, state, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 6);
	if (present && text)
		sqlite3_bind_text(st, 7, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 7);
	r = sq_step_done(st);
	sqlite3_finalize(st);
	return r;
}

int store_collected_drop(struct store *s, int64_t host, const char *kind, int layer,
			 const char *key)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sq_tx_begin(s);
	if (r == 0)
		r = sq_prepare(s->db,
			       key ? "DELETE FROM collected WHERE host_id = ?1 AND layer = ?2 AND"
				     " kind = ?3 AND key = ?4"
				   : "DELETE FROM collected WHERE host_id = ?1 AND layer >= ?2 AND"
				     " kind = ?3",
			       &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_int(st, 2, layer);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	if (key)
		sqlite3_bind_text(st, 4, key, -1, SQLITE_STATIC);
	r = sq_step_done(st);
	sqlite3_finalize(st);
	return r;
}

int store_collected_get(struct store *s, int64_t host, const char *kind, int layer,
			const char *key, bool *ret_present, char **ret_text)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	r = sq_prepare(s->db,
		       "SELECT present, text FROM collected WHERE host_id = ?1 AND layer = ?2 AND"
		       " kind = ?3 AND key = ?4",
		       &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_int(st, 2, layer);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		char *text = NULL;

		r = sq_col_strdup(st, 1, &text);
		if (r == 0) {
			*ret_present = sqlite3_column_int(st, 0) != 0;
			*ret_text = text;
			r = 1;
		}
	} else {
		r = rc == SQLITE_DONE ? 0 : sq_err(rc);
	}
	sqlite3_finalize(st);
	return r;
}

/*
 * The SQLite backend's accounts and change records.  The store keeps rows; what a
 * role allows, which transitions are legal and what a record document holds is
 * change/'s business.  Records keep every revision and every event: nothing here
 * deletes or rewrites history, only the current state and revision of a record move.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/uuid.h"
#include "store/store.h"
#include "store/store-sqlite-int.h"
#include "base/banned.h"

/* ---- accounts ---- */

static int row_to_account(sqlite3_stmt *st, struct store_account *a)
{
	int r;

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	a->created_ns = sqlite3_column_int64(st, 4);
	a->disabled_ns = sqlite3_column_int64(st, 5);
	if ((r = sq_col_strdup(st, 1, &a->name)) < 0 || (r = sq_col_strdup(st, 2, &a->unix_user)) < 0 ||
	    (r = sq_col_strdup(st, 3, &a->roles)) < 0) {
		store_account_release(a);
		return r;
	}
	return 0;
}

void store_account_release(struct store_account *a)
{
	free(a->name);
	free(a->unix_user);
	free(a->roles);
	memset(a, 0, sizeof(*a));
}

int store_account_add(struct store *s, const struct store_account *a, int64_t *ret_id)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	r = sq_prepare(s->db,
		       "INSERT INTO accounts(name, unix_user, roles, created_ns, disabled_ns)"
		       " VALUES (?1, ?2, ?3, ?4, ?5)",
		       &st);
	if (r == 0)
		r = sq_tx_begin(s);
	if (r < 0)
		goto out;
	sqlite3_bind_text(st, 1, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->unix_user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->roles, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, a->created_ns);
	sqlite3_bind_int64(st, 5, a->disabled_ns);
	rc = sqlite3_step(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		r = -EEXIST;
	else if (rc != SQLITE_DONE)
		r = sq_err(rc);
	else if (ret_id)
		*ret_id = sqlite3_last_insert_rowid(s->db);
out:
	sqlite3_finalize(st);
	return r;
}

int store_account_get(struct store *s, const char *key, bool by_user, struct store_account *ret)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	r = sq_prepare(s->db,
		       by_user ? "SELECT id, name, unix_user, roles, created_ns, disabled_ns"
				 " FROM accounts WHERE unix_user = ?1"
			       : "SELECT id, name, unix_user, roles, created_ns, disabled_ns"
				 " FROM accounts WHERE name = ?1",
		       &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = row_to_account(st, ret) < 0 ? -ENOMEM : 1;
	else
		r = rc == SQLITE_DONE ? 0 : sq_err(rc);
	sqlite3_finalize(st);
	return r;
}

int store_account_update(struct store *s, const struct store_account *a)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sq_prepare(s->db, "UPDATE accounts SET roles = ?2, disabled_ns = ?3 WHERE name = ?1",
		       &st);
	if (r == 0)
		r = sq_tx_begin(s);
	if (r == 0) {
		sqlite3_bind_text(st, 1, a->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, a->roles, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, a->disabled_ns);
		r = sq_step_done(st);
		if (r == 0 && sqlite3_changes(s->db) == 0)
			r = -ENOENT;
	}
	sqlite3_finalize(st);
	return r;
}

int store_account_each(struct store *s, int (*fn)(void *ud, const struct store_account *a),
		       void *ud)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	r = sq_prepare(s->db,
		       "SELECT id, name, unix_user, roles, created_ns, disabled_ns FROM accounts"
		       " ORDER BY name",
		       &st);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_account a;

		r = row_to_account(st, &a);
		if (r == 0)
			r = fn(ud, &a);
		store_account_release(&a);
		if (r < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_err(rc);
	sqlite3_finalize(st);
	return r;
}

/* ---- records ---- */

#define RECORD_COLUMNS \
	"id, uuid, source, ext_id, type, state, revision, doc, created_ns, updated_ns"

void store_record_release(struct store_record *r)
{
	free(r->source);
	free(r->ext_id);
	free(r->type);
	free(r->state);
	free(r->doc);
	memset(r, 0, sizeof(*r));
}

static int row_to_record(sqlite3_stmt *st, struct store_record *rec)
{
	const unsigned char *u = sqlite3_column_text(st, 1);
	int r;

	memset(rec, 0, sizeof(*rec));
	rec->id = sqlite3_column_int64(st, 0);
	if (u)
		snprintf(rec->uuid, sizeof(rec->uuid), "%s", (const char *)u);
	rec->revision = sqlite3_column_int64(st, 6);
	rec->created_ns = sqlite3_column_int64(st, 8);
	rec->updated_ns = sqlite3_column_int64(st, 9);
	if ((r = sq_col_strdup(st, 2, &rec->source)) < 0 ||
	    (r = sq_col_strdup(st, 3, &rec->ext_id)) < 0 ||
	    (r = sq_col_strdup(st, 4, &rec->type)) < 0 || (r = sq_col_strdup(st, 5, &rec->state)) < 0 ||
	    (r = sq_col_strdup(st, 7, &rec->doc)) < 0) {
		store_record_release(rec);
		return r;
	}
	return 0;
}

static int revision_add(struct store *s, int64_t record_id, int64_t revision, int64_t time_ns,
			const char *account, const char *doc)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sq_prepare(s->db,
		       "INSERT INTO record_revisions(record_id, revision, time_ns, account, doc)"
		       " VALUES (?1, ?2, ?3, ?4, ?5)",
		       &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, record_id);
	sqlite3_bind_int64(st, 2, revision);
	sqlite3_bind_int64(st, 3, time_ns);
	sqlite3_bind_text(st, 4, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, doc, -1, SQLITE_STATIC);
	r = sq_step_done(st);
	sqlite3_finalize(st);
	return r;
}

int store_record_add(struct store *s, struct store_record *rec, const char *account,
		     int64_t *ret_id)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if (!rec->uuid[0]) {
		r = uuid7_new(rec->uuid);
		if (r < 0)
			return r;
	}
	r = sq_prepare(s->db,
		       "INSERT INTO records(uuid, source, ext_id, type, state, revision, doc,"
		       " created_ns, updated_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
		       &st);
	if (r == 0)
		r = sq_tx_begin(s);
	if (r < 0)
		goto out;
	sqlite3_bind_text(st, 1, rec->uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rec->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, rec->ext_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, rec->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, rec->state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, rec->revision);
	sqlite3_bind_text(st, 7, rec->doc, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, rec->created_ns);
	sqlite3_bind_int64(st, 9, rec->updated_ns);
	rc = sqlite3_step(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		r = -EEXIST;
		goto out;
	}
	if (rc != SQLITE_DONE) {
		r = sq_err(rc);
		goto out;
	}
	rec->id = sqlite3_last_insert_rowid(s->db);
	r = revision_add(s, rec->id, rec->revision, rec->created_ns, account, rec->doc);
	if (r == 0 && ret_id)
		*ret_id = rec->id;
out:
	sqlite3_finalize(st);
	return r;
}

int store_record_get(struct store *s, const char *source, const char *ext_id,
		     struct store_record *ret)
{
	sqlite3_stmt *st = NULL;
	const char *sql;
	int r, rc;

	if (source && strcmp(source, "uuid") == 0)
		sql = "SELECT " RECORD_COLUMNS " FROM records WHERE uuid = ?1";
	else if (source)
		sql = "SELECT " RECORD_COLUMNS " FROM records WHERE ext_id = ?1 AND source = ?2";
	else
		sql = "SELECT " RECORD_COLUMNS " FROM records WHERE ext_id = ?1 ORDER BY id LIMIT 2";
	r = sq_prepare(s->db, sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, ext_id, -1, SQLITE_STATIC);
	if (source && strcmp(source, "uuid") != 0)
		sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		r = row_to_record(st, ret);
		if (r == 0 && !source) {
			rc = sqlite3_step(st);
			if (rc == SQLITE_ROW) {
				store_record_release(ret);
				r = -ENOTUNIQ;
			}
		}
		if (r == 0)
			r = 1;
	} else {
		r = rc == SQLITE_DONE ? 0 : sq_err(rc);
	}
	sqlite3_finalize(st);
	return r;
}

int store_record_update(struct store *s, const struct store_record *rec, bool new_revision,
			const char *account)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sq_prepare(s->db,
		       "UPDATE records SET type = ?2, state = ?3, revision = ?4, doc = ?5,"
		       " updated_ns = ?6 WHERE id = ?1",
		       &st);
	if (r == 0)
		r = sq_tx_begin(s);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, rec->id);
		sqlite3_bind_text(st, 2, rec->type, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, rec->state, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, rec->revision);
		sqlite3_bind_text(st, 5, rec->doc, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, rec->updated_ns);
		r = sq_step_done(st);
		if (r == 0 && sqlite3_changes(s->db) == 0)
			r = -ENOENT;
	}
	if (r == 0 && new_revision)
		r = revision_add(s, rec->id, rec->revision, rec->updated_ns, account, rec->doc);
	sqlite3_finalize(st);
	return r;
}

int store_record_version(struct store *s, int64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	/* every update of a record comes with an event, and event ids only grow */
	r = sq_prepare(s->db,
		       "SELECT (SELECT count(*) FROM records) * 4294967296 +"
		       " coalesce((SELECT max(id) FROM record_events), 0)",
		       &st);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	else
		r = sq_err(rc);
	sqlite3_finalize(st);
	return r;
}

int store_record_each(struct store *s, int (*fn)(void *ud, const struct store_record *r),
		      void *ud)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	r = sq_prepare(s->db, "SELECT " RECORD_COLUMNS " FROM records ORDER BY id", &st);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_record rec;

		r = row_to_record(st, &rec);
		if (r == 0)
			r = fn(ud, &rec);
		store_record_release(&rec);
		if (r < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_err(rc);
	sqlite3_finalize(st);
	return r;
}

int store_record_event_add(struct store *s, int64_t record_id, const struct store_record_event *e)
{
	sqlite3_stmt *st;
	int r;

	r = sq_prepare_once(s, &s->rec_event,
			    "INSERT INTO record_events(record_id, time_ns, action, from_state,"
			    " to_state, account, roles, revision, detail) VALUES (?1, ?2, ?3, ?4, ?5,"
			    " ?6, ?7, ?8, ?9)");
	if (r == 0)
		r = sq_tx_begin(s);
	if (r < 0)
		return r;
	st = s->rec_event;
	sqlite3_bind_int64(st, 1, record_id);
	sqlite3_bind_int64(st, 2, e->time_ns);
	sqlite3_bind_text(st, 3, e->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, e->from_state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, e->to_state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, e->account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, e->roles, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, e->revision);
	sqlite3_bind_text(st, 9, e->detail ? e->detail : "{}", -1, SQLITE_STATIC);
	return sq_step_done(st);
}

int store_record_event_each(struct store *s, int64_t record_id,
			    int (*fn)(void *ud, const struct store_record_event *e), void *ud)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	r = sq_prepare(s->db,
		       "SELECT id, time_ns, action, from_state, to_state, account, roles, revision,"
		       " detail FROM record_events WHERE record_id = ?1 ORDER BY id",
		       &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, record_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_record_event e = {
			.id = sqlite3_column_int64(st, 0),
			.time_ns = sqlite3_column_int64(st, 1),
			.action = (const char *)sqlite3_column_text(st, 2),
			.from_state = (const char *)sqlite3_column_text(st, 3),
			.to_state = (const char *)sqlite3_column_text(st, 4),
			.account = (const char *)sqlite3_column_text(st, 5),
			.roles = (const char *)sqlite3_column_text(st, 6),
			.revision = sqlite3_column_int64(st, 7),
			.detail = (const char *)sqlite3_column_text(st, 8),
		};

		r = fn(ud, &e);
		if (r < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_err(rc);
	sqlite3_finalize(st);
	return r;
}

int store_record_revision_each(struct store *s, int64_t record_id,
			       int (*fn)(void *ud, int64_t revision, int64_t time_ns,
					 const char *account, const char *doc),
			       void *ud)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	r = sq_prepare(s->db,
		       "SELECT revision, time_ns, account, doc FROM record_revisions"
		       " WHERE record_id = ?1 ORDER BY revision",
		       &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, record_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = fn(ud, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
		       (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3));
		if (r < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_err(rc);
	sqlite3_finalize(st);
	return r;
}

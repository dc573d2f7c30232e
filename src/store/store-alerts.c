/*
 * The SQLite backend's alerts: the alert rows, what is behind each (changes, gaps,
 * records) and every action on them.  As for records, history is only appended: the
 * events of an alert are never rewritten, and the columns that mark a moment
 * (breached_ns above all) are written once by alert/.
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

#define ALERT_COLUMNS                                                                           \
	"id, uuid, host_id, category, severity, state, group_key, title, generated_ns,"        \
	" deadline_ns, acknowledged_ns, responded_ns, determined_ns, closed_ns, breached_ns,"  \
	" escalated, determination, actor_auid, control_test, incident, detail"

void store_alert_release(struct store_alert *a)
{
	free(a->category);
	free(a->severity);
	free(a->state);
	free(a->group_key);
	free(a->title);
	free(a->determination);
	free(a->incident);
	free(a->detail);
	memset(a, 0, sizeof(*a));
}

static int row_to_alert(sqlite3_stmt *st, struct store_alert *a)
{
	const unsigned char *u = sqlite3_column_text(st, 1);
	int r;

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	if (u)
		snprintf(a->uuid, sizeof(a->uuid), "%s", (const char *)u);
	a->host_id = sqlite3_column_int64(st, 2);
	a->generated_ns = sqlite3_column_int64(st, 8);
	a->deadline_ns = sqlite3_column_int64(st, 9);
	a->acknowledged_ns = sqlite3_column_int64(st, 10);
	a->responded_ns = sqlite3_column_int64(st, 11);
	a->determined_ns = sqlite3_column_int64(st, 12);
	a->closed_ns = sqlite3_column_int64(st, 13);
	a->breached_ns = sqlite3_column_int64(st, 14);
	a->escalated = sqlite3_column_int64(st, 15);
	a->actor_auid = sqlite3_column_type(st, 17) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 17);
	a->control_test = sqlite3_column_int(st, 18) != 0;
	if ((r = sq_col_strdup(st, 3, &a->category)) < 0 || (r = sq_col_strdup(st, 4, &a->severity)) < 0 ||
	    (r = sq_col_strdup(st, 5, &a->state)) < 0 || (r = sq_col_strdup(st, 6, &a->group_key)) < 0 ||
	    (r = sq_col_strdup(st, 7, &a->title)) < 0 ||
	    (r = sq_col_strdup(st, 16, &a->determination)) < 0 ||
	    (r = sq_col_strdup(st, 19, &a->incident)) < 0 || (r = sq_col_strdup(st, 20, &a->detail)) < 0) {
		store_alert_release(a);
		return r;
	}
	return 0;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Binds the mutable columns from parameter 2 on. */
static void bind_mutable(sqlite3_stmt *st, const struct store_alert *a)
{
	sqlite3_bind_text(st, 2, a->severity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->title, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, a->deadline_ns);
	sqlite3_bind_int64(st, 6, a->acknowledged_ns);
	sqlite3_bind_int64(st, 7, a->responded_ns);
	sqlite3_bind_int64(st, 8, a->determined_ns);
	sqlite3_bind_int64(st, 9, a->closed_ns);
	sqlite3_bind_int64(st, 10, a->breached_ns);
	sqlite3_bind_int64(st, 11, a->escalated);
	bind_text_or_null(st, 12, a->determination);
	if (a->actor_auid >= 0)
		sqlite3_bind_int64(st, 13, a->actor_auid);
	else
		sqlite3_bind_null(st, 13);
	sqlite3_bind_int(st, 14, a->control_test);
	bind_text_or_null(st, 15, a->incident);
	sqlite3_bind_text(st, 16, a->detail ? a->detail : "{}", -1, SQLITE_STATIC);
}

int store_alert_add(struct store *s, struct store_alert *a, int64_t *ret_id)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (!a->uuid[0] && (r = uuid7_new(a->uuid)) < 0)
		return r;
	r = sq_prepare(s->db,
		       "INSERT INTO alerts(uuid, severity, state, title, deadline_ns, acknowledged_ns,"
		       " responded_ns, determined_ns, closed_ns, breached_ns, escalated, determination,"
		       " actor_auid, control_test, incident, detail, host_id, category, group_key,"
		       " generated_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
		       " ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
		       &st);
	if (r == 0)
		r = sq_tx_begin(s);
	if (r < 0)
		goto out;
	sqlite3_bind_text(st, 1, a->uuid, -1, SQLITE_STATIC);
	bind_mutable(st, a);
	sqlite3_bind_int64(st, 17, a->host_id);
	sqlite3_bind_text(st, 18, a->category, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 19, a->group_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 20, a->generated_ns);
	r = sq_step_done(st);
	if (r == 0) {
		a->id = sqlite3_last_insert_rowid(s->db);
		if (ret_id)
			*ret_id = a->id;
	}
out:
	sqlite3_finalize(st);
	return r;
}

int store_alert_update(struct store *s, const struct store_alert *a)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sq_prepare(s->db,
		       "UPDATE alerts SET severity = ?2, state = ?3, title = ?4, deadline_ns = ?5,"
		       " acknowledged_ns = ?6, responded_ns = ?7, determined_ns = ?8, closed_ns = ?9,"
		       " breached_ns = ?10, escalated = ?11, determination = ?12, actor_auid = ?13,"
		       " control_test = ?14, incident = ?15, detail = ?16 WHERE id = ?1",
		       &st);
	if (r == 0)
		r = sq_tx_begin(s);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, a->id);
		bind_mutable(st, a);
		r = sq_step_done(st);
		if (r == 0 && sqlite3_changes(s->db) == 0)
			r = -ENOENT;
	}
	sqlite3_finalize(st);
	return r;
}

int store_alert_get(struct store *s, const char *id, struct store_alert *ret)
{
	sqlite3_stmt *st = NULL;
	char pat[64];
	int r, rc;

	if (strlen(id) < 8 || strlen(id) > 36 || strpbrk(id, "%_"))
		return 0;
	snprintf(pat, sizeof(pat), "%s%%", id);
	r = sq_prepare(s->db, "SELECT " ALERT_COLUMNS " FROM alerts WHERE uuid LIKE ?1 LIMIT 2", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, pat, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		r = row_to_alert(st, ret);
		if (r == 0 && sqlite3_step(st) == SQLITE_ROW) {
			store_alert_release(ret);
			r = -ENOTUNIQ;
		}
		if (r == 0)
			r = 1;
	} else {
		r = rc == SQLITE_DONE ? 0 : sq_err(rc);
	}
	sqlite3_finalize(st);
	return r;
}

static int alert_rows(sqlite3_stmt *st, int (*fn)(void *ud, const struct store_alert *a), void *ud)
{
	int rc, r = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_alert a;

		r = row_to_alert(st, &a);
		if (r == 0)
			r = fn(ud, &a);
		store_alert_release(&a);
		if (r < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_err(rc);
	return r;
}

int store_alert_each(struct store *s, int64_t host, bool open_only,
		     int (*fn)(void *ud, const struct store_alert *a), void *ud)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sq_prepare(s->db,
		       open_only ? "SELECT " ALERT_COLUMNS " FROM alerts WHERE host_id = ?1 AND"
				   " state != 'closed' ORDER BY id"
				 : "SELECT " ALERT_COLUMNS " FROM alerts WHERE host_id = ?1 ORDER BY id",
		       &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, host);
	r = alert_rows(st, fn, ud);
	sqlite3_finalize(st);
	return r;
}

int store_alert_find_group(struct store *s, int64_t host, const char *category,
			   const char *group_key, int64_t since_ns, bool with_closed,
			   struct store_alert *ret)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	r = sq_prepare(s->db,
		       "SELECT " ALERT_COLUMNS " FROM alerts WHERE host_id = ?1 AND category = ?2 AND"
		       " group_key = ?3 AND generated_ns >= ?4 AND (?5 OR state != 'closed')"
		       " ORDER BY id DESC LIMIT 1",
		       &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_text(st, 2, category, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, group_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, since_ns);
	sqlite3_bind_int(st, 5, with_closed);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = row_to_alert(st, ret) < 0 ? -ENOMEM : 1;
	else
		r = rc == SQLITE_DONE ? 0 : sq_err(rc);
	sqlite3_finalize(st);
	return r;
}

int store_alert_item_add(struct store *s, int64_t alert_id, const char *kind, const char *ref,
			 int64_t time_ns)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sq_prepare(s->db,
		       "INSERT OR IGNORE INTO alert_items(alert_id, kind, ref, time_ns)"
		       " VALUES (?1, ?2, ?3, ?4)",
		       &st);
	if (r == 0)
		r = sq_tx_begin(s);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, alert_id);
		sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, ref, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, time_ns);
		r = sq_step_done(st);
	}
	sqlite3_finalize(st);
	return r;
}

int store_alert_item_each(struct store *s, int64_t alert_id,
			  int (*fn)(void *ud, const char *kind, const char *ref, int64_t time_ns),
			  void *ud)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	r = sq_prepare(s->db,
		       "SELECT kind, ref, time_ns FROM alert_items WHERE alert_id = ?1"
		       " ORDER BY time_ns, rowid",
		       &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, alert_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = fn(ud, (const char *)sqlite3_column_text(st, 0),
		       (const char *)sqlite3_column_text(st, 1), sqlite3_column_int64(st, 2));
		if (r < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_err(rc);
	sqlite3_finalize(st);
	return r;
}

int store_alert_event_add(struct store *s, int64_t alert_id, const struct store_record_event *e)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sq_prepare(s->db,
		       "INSERT INTO alert_events(alert_id, time_ns, action, from_state, to_state,"
		       " account, roles, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		       &st);
	if (r == 0)
		r = sq_tx_begin(s);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, alert_id);
		sqlite3_bind_int64(st, 2, e->time_ns);
		sqlite3_bind_text(st, 3, e->action, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, e->from_state, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, e->to_state, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, e->account, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, e->roles, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, e->detail ? e->detail : "{}", -1, SQLITE_STATIC);
		r = sq_step_done(st);
	}
	sqlite3_finalize(st);
	return r;
}

int store_alert_event_each(struct store *s, int64_t alert_id,
			   int (*fn)(void *ud, const struct store_record_event *e), void *ud)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	r = sq_prepare(s->db,
		       "SELECT id, time_ns, action, from_state, to_state, account, roles, detail"
		       " FROM alert_events WHERE alert_id = ?1 ORDER BY id",
		       &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, alert_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_record_event e = {
			.id = sqlite3_column_int64(st, 0),
			.time_ns = sqlite3_column_int64(st, 1),
			.action = (const char *)sqlite3_column_text(st, 2),
			.from_state = (const char *)sqlite3_column_text(st, 3),
			.to_state = (const char *)sqlite3_column_text(st, 4),
			.account = (const char *)sqlite3_column_text(st, 5),
			.roles = (const char *)sqlite3_column_text(st, 6),
			.detail = (const char *)sqlite3_column_text(st, 7),
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

int store_control_test_add(struct store *s, int64_t host, const char *uuid, int64_t declared_ns,
			   int64_t expires_ns, const char *account, const char *text)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sq_prepare(s->db,
		       "INSERT INTO control_tests(uuid, host_id, declared_ns, expires_ns, account, text)"
		       " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		       &st);
	if (r == 0)
		r = sq_tx_begin(s);
	if (r == 0) {
		sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, host);
		sqlite3_bind_int64(st, 3, declared_ns);
		sqlite3_bind_int64(st, 4, expires_ns);
		sqlite3_bind_text(st, 5, account, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, text, -1, SQLITE_STATIC);
		r = sq_step_done(st);
	}
	sqlite3_finalize(st);
	return r;
}

int store_control_test_claim(struct store *s, int64_t host, int64_t now_ns, const char *alert_uuid,
			     char ret_uuid[37], char **ret_text)
{
	sqlite3_stmt *st = NULL;
	int64_t id = 0;
	int r, rc;

	r = sq_prepare(s->db,
		       "SELECT id, uuid, text FROM control_tests WHERE host_id = ?1 AND alert_uuid IS"
		       " NULL AND declared_ns <= ?2 AND expires_ns >= ?2 ORDER BY id LIMIT 1",
		       &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_int64(st, 2, now_ns);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		snprintf(ret_uuid, 37, "%s", (const char *)sqlite3_column_text(st, 1));
		r = sq_col_strdup(st, 2, ret_text);
	} else if (rc != SQLITE_DONE) {
		r = sq_err(rc);
	}
	sqlite3_finalize(st);
	if (r < 0 || !id)
		return r;
	r = sq_prepare(s->db, "UPDATE control_tests SET alert_uuid = ?2 WHERE id = ?1", &st);
	if (r == 0)
		r = sq_tx_begin(s);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, alert_uuid, -1, SQLITE_STATIC);
		r = sq_step_done(st);
	}
	sqlite3_finalize(st);
	if (r < 0) {
		free(*ret_text);
		*ret_text = NULL;
		return r;
	}
	return 1;
}

int store_outbox_add(struct store *s, const struct store_outbox *o)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sq_prepare(s->db,
		       "INSERT OR IGNORE INTO outbox(host_id, alert_uuid, message_id, channel, event,"
		       " severity, subject, body, json, control_test, created_ns, next_ns) VALUES"
		       " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
		       &st);
	if (r == 0)
		r = sq_tx_begin(s);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, o->host_id);
		sqlite3_bind_text(st, 2, o->alert_uuid, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, o->message_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, o->channel, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, o->event, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, o->severity, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, o->subject, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, o->body, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 9, o->json, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 10, o->control_test);
		sqlite3_bind_int64(st, 11, o->created_ns);
		sqlite3_bind_int64(st, 12, o->next_ns);
		r = sq_step_done(st);
	}
	sqlite3_finalize(st);
	return r;
}

int store_outbox_due(struct store *s, int64_t host, int64_t now_ns, size_t max,
		     int (*fn)(void *ud, const struct store_outbox *o), void *ud)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	r = sq_prepare(s->db,
		       "SELECT id, host_id, alert_uuid, message_id, channel, event, severity, subject,"
		       " body, json, control_test, created_ns, next_ns, attempts, state, detail"
		       " FROM outbox WHERE state = 'pending' AND host_id = ?1 AND next_ns <= ?2"
		       " ORDER BY id LIMIT ?3",
		       &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_int64(st, 2, now_ns);
	sqlite3_bind_int64(st, 3, (int64_t)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_outbox o = {
			.id = sqlite3_column_int64(st, 0),
			.host_id = sqlite3_column_int64(st, 1),
			.alert_uuid = (const char *)sqlite3_column_text(st, 2),
			.message_id = (const char *)sqlite3_column_text(st, 3),
			.channel = (const char *)sqlite3_column_text(st, 4),
			.event = (const char *)sqlite3_column_text(st, 5),
			.severity = (const char *)sqlite3_column_text(st, 6),
			.subject = (const char *)sqlite3_column_text(st, 7),
			.body = (const char *)sqlite3_column_text(st, 8),
			.json = (const char *)sqlite3_column_text(st, 9),
			.control_test = sqlite3_column_int(st, 10) != 0,
			.created_ns = sqlite3_column_int64(st, 11),
			.next_ns = sqlite3_column_int64(st, 12),
			.attempts = sqlite3_column_int64(st, 13),
			.state = (const char *)sqlite3_column_text(st, 14),
			.detail = (const char *)sqlite3_column_text(st, 15),
		};

		r = fn(ud, &o);
		if (r < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_err(rc);
	sqlite3_finalize(st);
	return r;
}

int store_outbox_update(struct store *s, int64_t id, const char *state, int64_t next_ns,
			int64_t attempts, const char *detail)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sq_prepare(s->db,
		       "UPDATE outbox SET state = ?2, next_ns = ?3, attempts = ?4, detail = ?5"
		       " WHERE id = ?1",
		       &st);
	if (r == 0)
		r = sq_tx_begin(s);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, next_ns);
		sqlite3_bind_int64(st, 4, attempts);
		bind_text_or_null(st, 5, detail);
		r = sq_step_done(st);
	}
	sqlite3_finalize(st);
	return r;
}

int store_outbox_pending(struct store *s, int64_t host, uint64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	r = sq_prepare(s->db, "SELECT count(*) FROM outbox WHERE host_id = ?1 AND state = 'pending'",
		       &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, host);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = (uint64_t)sqlite3_column_int64(st, 0);
	else
		r = sq_err(rc);
	sqlite3_finalize(st);
	return r;
}

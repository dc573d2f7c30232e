/*
 * The SQLite backend of the store.  One writer connection per process; a baseline
 * cursor opens its own read-only connection so the scanner's thread can read the
 * baseline while the caller's thread writes.  Bulk writes are batched into
 * transactions; objects are a WITHOUT ROWID table keyed by (host, kind, key), so a
 * baseline written in key order is appended, and read back in key order, sequentially.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "store/store.h"
#include "store/store-sqlite-int.h"
#include "base/banned.h"

#define BATCH_ROWS 8192

struct store_cursor {
	sqlite3 *db;
	sqlite3_stmt *st;
	struct buf path;
	struct object_state state;
	struct buf lo, hi;	/* the key range [lo, hi), when the cursor has one */
};


static const char *const migrations[] = {
	/* 1: baseline objects, runs and their changes */
	"CREATE TABLE hosts ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE);"
	"CREATE TABLE objects ("
	"  host_id INTEGER NOT NULL REFERENCES hosts(id),"
	"  kind INTEGER NOT NULL,"
	"  key BLOB NOT NULL,"
	"  attrs INTEGER NOT NULL,"
	"  type INTEGER NOT NULL,"
	"  mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL,"
	"  size INTEGER NOT NULL, ino INTEGER NOT NULL, dev INTEGER NOT NULL,"
	"  nlink INTEGER NOT NULL, rdev INTEGER NOT NULL,"
	"  mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, flags INTEGER NOT NULL,"
	"  owner TEXT, grp TEXT, hashes BLOB, target BLOB, xattrs BLOB,"
	"  acl TEXT, selinux TEXT, caps TEXT,"
	"  PRIMARY KEY (host_id, kind, key)) WITHOUT ROWID;"
	"CREATE TABLE baselines ("
	"  host_id INTEGER PRIMARY KEY REFERENCES hosts(id),"
	"  state TEXT NOT NULL CHECK (state IN ('building', 'complete')),"
	"  created_ns INTEGER NOT NULL,"
	"  objects INTEGER NOT NULL);"
	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY,"
	"  uuid TEXT NOT NULL UNIQUE,"
	"  host_id INTEGER NOT NULL REFERENCES hosts(id),"
	"  kind TEXT NOT NULL,"
	"  full INTEGER NOT NULL,"
	"  started_ns INTEGER NOT NULL,"
	"  finished_ns INTEGER,"
	"  objects INTEGER, added INTEGER, removed INTEGER, modified INTEGER, errors INTEGER,"
	"  status INTEGER);"
	"CREATE TABLE changes ("
	"  id INTEGER PRIMARY KEY,"
	"  uuid TEXT NOT NULL UNIQUE,"
	"  run_id INTEGER NOT NULL REFERENCES runs(id),"
	"  host_id INTEGER NOT NULL REFERENCES hosts(id),"
	"  kind INTEGER NOT NULL,"
	"  key BLOB NOT NULL,"
	"  change TEXT NOT NULL CHECK (change IN ('added', 'removed', 'modified')),"
	"  attrs INTEGER NOT NULL,"
	"  detected_ns INTEGER NOT NULL,"
	"  event TEXT NOT NULL);"
	"CREATE INDEX changes_by_run ON changes(run_id);"
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL);",
	/* 2: the journal, its stored Merkle hashes and its signed checkpoints */
	"CREATE TABLE journal ("
	"  idx INTEGER PRIMARY KEY,"
	"  time_ns INTEGER NOT NULL,"
	"  type TEXT NOT NULL,"
	"  entry BLOB,"
	"  purged_ns INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE journal_hashes ("
	"  level INTEGER NOT NULL,"
	"  idx INTEGER NOT NULL,"
	"  hash BLOB NOT NULL,"
	"  PRIMARY KEY (level, idx)) WITHOUT ROWID;"
	"CREATE TABLE checkpoints ("
	"  id INTEGER PRIMARY KEY,"
	"  size INTEGER NOT NULL,"
	"  time_ns INTEGER NOT NULL,"
	"  note TEXT NOT NULL);",
	/* 3: the last observed state of objects that left the baseline, how each change
	 * was detected, and monitoring gaps */
	"CREATE TABLE observed ("
	"  host_id INTEGER NOT NULL REFERENCES hosts(id),"
	"  kind INTEGER NOT NULL,"
	"  key BLOB NOT NULL,"
	"  present INTEGER NOT NULL,"
	"  attrs INTEGER NOT NULL,"
	"  type INTEGER NOT NULL,"
	"  mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL,"
	"  size INTEGER NOT NULL, ino INTEGER NOT NULL, dev INTEGER NOT NULL,"
	"  nlink INTEGER NOT NULL, rdev INTEGER NOT NULL,"
	"  mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, flags INTEGER NOT NULL,"
	"  owner TEXT, grp TEXT, hashes BLOB, target BLOB, xattrs BLOB,"
	"  acl TEXT, selinux TEXT, caps TEXT,"
	"  PRIMARY KEY (host_id, kind, key)) WITHOUT ROWID;"
	"ALTER TABLE changes ADD COLUMN source TEXT NOT NULL DEFAULT 'check';"
	"CREATE INDEX changes_by_time ON changes(host_id, detected_ns);"
	"CREATE TABLE gaps ("
	"  id INTEGER PRIMARY KEY,"
	"  uuid TEXT NOT NULL UNIQUE,"
	"  host_id INTEGER NOT NULL REFERENCES hosts(id),"
	"  time_ns INTEGER NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  scope TEXT NOT NULL,"
	"  detail TEXT);",
	/* 4: accounts, change records (every revision and event kept) and the disposition
	 * of each change */
	"CREATE TABLE accounts ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  unix_user TEXT NOT NULL UNIQUE,"
	"  roles TEXT NOT NULL,"
	"  created_ns INTEGER NOT NULL,"
	"  disabled_ns INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE records ("
	"  id INTEGER PRIMARY KEY,"
	"  uuid TEXT NOT NULL UNIQUE,"
	"  source TEXT NOT NULL,"
	"  ext_id TEXT NOT NULL,"
	"  type TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  revision INTEGER NOT NULL,"
	"  doc TEXT NOT NULL,"
	"  created_ns INTEGER NOT NULL,"
	"  updated_ns INTEGER NOT NULL,"
	"  UNIQUE (source, ext_id));"
	"CREATE TABLE record_revisions ("
	"  record_id INTEGER NOT NULL REFERENCES records(id),"
	"  revision INTEGER NOT NULL,"
	"  time_ns INTEGER NOT NULL,"
	"  account TEXT NOT NULL,"
	"  doc TEXT NOT NULL,"
	"  PRIMARY KEY (record_id, revision));"
	"CREATE TABLE record_events ("
	"  id INTEGER PRIMARY KEY,"
	"  record_id INTEGER NOT NULL REFERENCES records(id),"
	"  time_ns INTEGER NOT NULL,"
	"  action TEXT NOT NULL,"
	"  from_state TEXT NOT NULL,"
	"  to_state TEXT NOT NULL,"
	"  account TEXT NOT NULL,"
	"  roles TEXT NOT NULL,"
	"  revision INTEGER NOT NULL,"
	"  detail TEXT NOT NULL);"
	"CREATE INDEX record_events_by_record ON record_events(record_id, id);"
	"ALTER TABLE changes ADD COLUMN disposition TEXT NOT NULL DEFAULT 'unauthorized';"
	"ALTER TABLE changes ADD COLUMN record_uuid TEXT;"
	"CREATE INDEX changes_by_record ON changes(record_uuid) WHERE record_uuid IS NOT NULL;",
	/* 5: alerts, what is behind each, and every action on them */
	"CREATE TABLE alerts ("
	"  id INTEGER PRIMARY KEY,"
	"  uuid TEXT NOT NULL UNIQUE,"
	"  host_id INTEGER NOT NULL REFERENCES hosts(id),"
	"  category TEXT NOT NULL,"
	"  severity TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  group_key TEXT NOT NULL,"
	"  title TEXT NOT NULL,"
	"  generated_ns INTEGER NOT NULL,"
	"  deadline_ns INTEGER NOT NULL,"
	"  acknowledged_ns INTEGER NOT NULL DEFAULT 0,"
	"  responded_ns INTEGER NOT NULL DEFAULT 0,"
	"  determined_ns INTEGER NOT NULL DEFAULT 0,"
	"  closed_ns INTEGER NOT NULL DEFAULT 0,"
	"  breached_ns INTEGER NOT NULL DEFAULT 0,"
	"  escalated INTEGER NOT NULL DEFAULT 0,"
	"  determination TEXT,"
	"  actor_auid INTEGER,"
	"  control_test INTEGER NOT NULL DEFAULT 0,"
	"  incident TEXT,"
	"  detail TEXT NOT NULL DEFAULT '{}');"
	"CREATE INDEX alerts_by_state ON alerts(host_id, state);"
	"CREATE TABLE alert_items ("
	"  alert_id INTEGER NOT NULL REFERENCES alerts(id),"
	"  kind TEXT NOT NULL,"
	"  ref TEXT NOT NULL,"
	"  time_ns INTEGER NOT NULL,"
	"  PRIMARY KEY (alert_id, kind, ref));"
	"CREATE TABLE alert_events ("
	"  id INTEGER PRIMARY KEY,"
	"  alert_id INTEGER NOT NULL REFERENCES alerts(id),"
	"  time_ns INTEGER NOT NULL,"
	"  action TEXT NOT NULL,"
	"  from_state TEXT NOT NULL,"
	"  to_state TEXT NOT NULL,"
	"  account TEXT NOT NULL,"
	"  roles TEXT NOT NULL,"
	"  detail TEXT NOT NULL);"
	"CREATE INDEX alert_events_by_alert ON alert_events(alert_id, id);",
	/* 6: control tests declared before they are made (ALR-09) */
	"CREATE TABLE control_tests ("
	"  id INTEGER PRIMARY KEY,"
	"  uuid TEXT NOT NULL UNIQUE,"
	"  host_id INTEGER NOT NULL REFERENCES hosts(id),"
	"  declared_ns INTEGER NOT NULL,"
	"  expires_ns INTEGER NOT NULL,"
	"  account TEXT NOT NULL,"
	"  text TEXT NOT NULL,"
	"  alert_uuid TEXT);",
	/* 7: the outbox: every message to every channel, until delivered or given up */
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  host_id INTEGER NOT NULL REFERENCES hosts(id),"
	"  alert_uuid TEXT NOT NULL,"
	"  message_id TEXT NOT NULL,"
	"  channel TEXT NOT NULL,"
	"  event TEXT NOT NULL,"
	"  severity TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  json TEXT NOT NULL,"
	"  control_test INTEGER NOT NULL,"
	"  created_ns INTEGER NOT NULL,"
	"  next_ns INTEGER NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  state TEXT NOT NULL DEFAULT 'pending',"
	"  detail TEXT,"
	"  UNIQUE (message_id, channel));"
	"CREATE INDEX outbox_due ON outbox(state, next_ns);",
	/* 8: collected objects (KIND:KEY), their baseline (layer 0) and, for those that
	 * left it, their last observed state (layer 1) */
	"CREATE TABLE collected ("
	"  host_id INTEGER NOT NULL REFERENCES hosts(id),"
	"  layer INTEGER NOT NULL CHECK (layer IN (0, 1)),"
	"  kind TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  present INTEGER NOT NULL,"
	"  state TEXT,"
	"  text TEXT,"
	"  PRIMARY KEY (host_id, layer, kind, key)) WITHOUT ROWID;",
};

int sq_err(int rc)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

const char *store_errmsg(struct store *s)
{
	return s && s->db ? sqlite3_errmsg(s->db) : "no store";
}

int sq_exec(sqlite3 *db, const char *sql)
{
	return sq_err(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

static int schema_version(sqlite3 *db, int *ret)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_err(rc);
	rc = sqlite3_step(st);
	*ret = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : sq_err(rc);
}

static int migrate(sqlite3 *db, const char *path, struct vg_error *err)
{
	int v, r;

	r = schema_version(db, &v);
	if (r < 0)
		return vg_error_set(err, r, path, 0, 0, "cannot read the schema version: %s",
				    sqlite3_errmsg(db));
	if (v > (int)ARRAY_SIZE(migrations))
		return vg_error_set(err, -EPROTO, path, 0, 0,
				    "store schema %d is newer than this vigil understands (%d)", v,
				    (int)ARRAY_SIZE(migrations));
	for (; v < (int)ARRAY_SIZE(migrations); v++) {
		char pragma[64];

		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		r = sq_exec(db, "BEGIN IMMEDIATE");
		if (r == 0)
			r = sq_exec(db, migrations[v]);
		if (r == 0)
			r = sq_exec(db, pragma);
		if (r == 0)
			r = sq_exec(db, "COMMIT");
		if (r < 0) {
			r = vg_error_set(err, r, path, 0, 0, "migration %d failed: %s", v + 1,
					 sqlite3_errmsg(db));
			sq_exec(db, "ROLLBACK");
			return r;
		}
	}
	return 0;
}

static int open_db(const char *path, bool readonly, bool create, sqlite3 **ret)
{
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	sqlite3 *db = NULL;
	int rc;

	if (create && !readonly)
		flags |= SQLITE_OPEN_CREATE;
	flags |= SQLITE_OPEN_NOMUTEX;
	rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		int r = sq_err(rc);

		sqlite3_close(db);
		return r;
	}
	sqlite3_busy_timeout(db, 10000);
	sqlite3_extended_result_codes(db, 1);
	*ret = db;
	return 0;
}

int store_open(const char *state_dir, unsigned flags, struct store **ret, struct vg_error *err)
{
	struct store *s;
	struct stat st;
	int r;

	if (stat(state_dir, &st) < 0) {
		if (errno != ENOENT || !(flags & STORE_CREATE))
			return vg_error_set(err, neg_errno(), state_dir, 0, 0,
					    "cannot use the state directory: %s", strerror(errno));
		if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
			return vg_error_set(err, neg_errno(), state_dir, 0, 0,
					    "cannot create the state directory: %s",
					    strerror(errno));
	} else if (!S_ISDIR(st.st_mode)) {
		return vg_error_set(err, -ENOTDIR, state_dir, 0, 0, "not a directory");
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (asprintf(&s->path, "%s/%s", state_dir, STORE_DB_NAME) < 0) {
		free(s);
		return -ENOMEM;
	}
	if (!(flags & STORE_CREATE) && access(s->path, F_OK) < 0) {
		r = vg_error_set(err, -ENOENT, s->path, 0, 0,
				 "no store here (run 'vigil init' first)");
		goto fail;
	}
	r = open_db(s->path, flags & STORE_READONLY, flags & STORE_CREATE, &s->db);
	if (r < 0) {
		r = vg_error_set(err, r, s->path, 0, 0, "cannot open the store: %s",
				 s->db ? sqlite3_errmsg(s->db) : strerror(-r));
		goto fail;
	}
	if (!(flags & STORE_READONLY)) {
		chmod(s->path, 0600);
		r = sq_exec(s->db, "PRAGMA journal_mode=WAL");
		if (r == 0)
			r = sq_exec(s->db, "PRAGMA synchronous=NORMAL");
		if (r == 0)
			r = sq_exec(s->db, "PRAGMA foreign_keys=ON");
		if (r < 0) {
			r = vg_error_set(err, r, s->path, 0, 0, "cannot set up the store: %s",
					 sqlite3_errmsg(s->db));
			goto fail;
		}
		r = migrate(s->db, s->path, err);
		if (r < 0)
			goto fail;
	} else {
		int v;

		r = schema_version(s->db, &v);
		if (r == 0 && v != (int)ARRAY_SIZE(migrations))
			r = -EPROTO;
		if (r < 0) {
			r = vg_error_set(err, r, s->path, 0, 0,
					 "store schema is not the one this vigil uses");
			goto fail;
		}
	}
	*ret = s;
	return 0;
fail:
	store_close(s);
	return r;
}

struct store *store_close(struct store *s)
{
	if (!s)
		return NULL;
	if (s->in_tx)
		sq_exec(s->db, "ROLLBACK");
	sqlite3_finalize(s->put);
	sqlite3_finalize(s->change);
	sqlite3_finalize(s->obs_put);
	sqlite3_finalize(s->base_set);
	sqlite3_finalize(s->base_del);
	sqlite3_finalize(s->base_has);
	sqlite3_finalize(s->base_count);
	sqlite3_finalize(s->rec_event);
	sqlite3_finalize(s->obs_drop);
	sqlite3_finalize(s->obs_get);
	sqlite3_finalize(s->base_get);
	sqlite3_finalize(s->j_append);
	sqlite3_finalize(s->j_hash_put);
	sqlite3_finalize(s->j_hash_get);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
	return NULL;
}

int sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	return sq_err(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL));
}

/* Prepares sql into *slot the first time (kept until store_close). */
int sq_prepare_once(struct store *s, sqlite3_stmt **slot, const char *sql)
{
	return *slot ? 0 : sq_prepare(s->db, sql, slot);
}

int store_host(struct store *s, const char *name, int64_t *ret_id)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	/* a store opened read-only can name only the hosts it has */
	if (!sqlite3_db_readonly(s->db, "main")) {
		r = sq_prepare(s->db, "INSERT INTO hosts(name) VALUES (?1) ON CONFLICT(name) DO NOTHING",
			    &st);
		if (r < 0)
			return r;
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return sq_err(rc);
	}
	r = sq_prepare(s->db, "SELECT id FROM hosts WHERE name = ?1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : sq_err(rc);
}

int store_meta_get(struct store *s, const char *key, char **ret)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	r = sq_prepare(s->db, "SELECT value FROM meta WHERE key = ?1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret = strdup((const char *)sqlite3_column_text(st, 0));
		r = *ret ? 0 : -ENOMEM;
	} else {
		r = rc == SQLITE_DONE ? -ENOENT : sq_err(rc);
	}
	sqlite3_finalize(st);
	return r;
}

int store_meta_set(struct store *s, const char *key, const char *value)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	r = sq_prepare(s->db, "INSERT INTO meta(key, value) VALUES (?1, ?2) "
			   "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sq_err(rc);
}

int store_baseline_info(struct store *s, int64_t host, struct store_baseline_info *ret)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	memset(ret, 0, sizeof(*ret));
	r = sq_prepare(s->db, "SELECT state, created_ns, objects FROM baselines WHERE host_id = ?1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, host);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ret->exists = true;
		ret->complete = strcmp((const char *)sqlite3_column_text(st, 0), "complete") == 0;
		ret->created_ns = sqlite3_column_int64(st, 1);
		ret->objects = (uint64_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_err(rc);
}

/* ---- keys ---- */

/* A path as a key: '/' stored as a 0 byte, so byte order is path_cmp() order. */
static void path_to_key(char *dst, const char *path, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = path[i] == '/' ? '\0' : path[i];
}

int sq_key_from_path(struct buf *b, const char *path, size_t len)
{
	int r;

	buf_reset(b);
	r = buf_reserve(b, len);
	if (r < 0)
		return r;
	path_to_key(b->data, path, len);
	b->len = len;
	b->data[len] = '\0';
	return 0;
}

/* ---- baseline writing ---- */

int sq_tx_begin(struct store *s)
{
	int r;

	if (s->in_tx)
		return 0;
	r = sq_exec(s->db, "BEGIN IMMEDIATE");
	if (r == 0) {
		s->in_tx = true;
		s->batch = 0;
		s->tx_serial++;
	}
	return r;
}

int sq_tx_commit(struct store *s)
{
	int r;

	if (!s->in_tx)
		return 0;
	r = sq_exec(s->db, "COMMIT");
	if (r == 0)
		s->in_tx = false;
	return r;
}

int store_baseline_begin(struct store *s, int64_t host)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	r = sq_tx_begin(s);
	if (r < 0)
		return r;
	/* a new baseline replaces the old one and everything observed against it */
	for (int i = 0; i < 2 && r == 0; i++) {
		r = sq_prepare(s->db,
			    i == 0 ? "DELETE FROM objects WHERE host_id = ?1"
				   : "DELETE FROM observed WHERE host_id = ?1",
			    &st);
		if (r == 0) {
			sqlite3_bind_int64(st, 1, host);
			rc = sqlite3_step(st);
			r = rc == SQLITE_DONE ? 0 : sq_err(rc);
			sqlite3_finalize(st);
		}
	}
	if (r == 0)
		r = sq_prepare(s->db, "INSERT INTO baselines(host_id, state, created_ns, objects) "
				   "VALUES (?1, 'building', 0, 0) ON CONFLICT(host_id) DO UPDATE "
				   "SET state = 'building', created_ns = 0, objects = 0",
			    &st);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, host);
		rc = sqlite3_step(st);
		r = rc == SQLITE_DONE ? 0 : sq_err(rc);
		sqlite3_finalize(st);
	}
	if (r == 0)
		r = sq_tx_commit(s);
	/* a baseline is written in one go and marked complete only at the end: copy the
	 * write-ahead log into the database once, then, not every few megabytes */
	if (r == 0)
		r = sq_exec(s->db, "PRAGMA wal_autocheckpoint = 0");
	if (r == 0 && !s->put)
		r = sq_prepare(s->db,
			    "INSERT INTO objects(host_id, kind, key, attrs, type, mode, uid, gid, size,"
			    " ino, dev, nlink, rdev, mtime_ns, ctime_ns, flags, owner, grp, hashes,"
			    " target, xattrs, acl, selinux, caps) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
			    " ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,"
			    " ?21, ?22, ?23, ?24)",
			    &s->put);
	if (r < 0)
		store_baseline_abort(s);
	return r;
}

static size_t pack_hashes(const struct object_state *st, uint8_t out[192])
{
	size_t n = 0;

	if (st->attrs & ATTR_BIT(ATTR_SHA256)) {
		memcpy(out + n, st->sha256, SHA256_LEN);
		n += SHA256_LEN;
	}
	if (st->attrs & ATTR_BIT(ATTR_SHA512)) {
		memcpy(out + n, st->sha512, SHA512_LEN);
		n += SHA512_LEN;
	}
	if (st->attrs & ATTR_BIT(ATTR_SHA3_256)) {
		memcpy(out + n, st->sha3_256, SHA256_LEN);
		n += SHA256_LEN;
	}
	if (st->attrs & ATTR_BIT(ATTR_BLAKE2B512)) {
		memcpy(out + n, st->blake2b512, SHA512_LEN);
		n += SHA512_LEN;
	}
	return n;
}

static int unpack_hashes(struct object_state *st, const uint8_t *p, size_t n)
{
	size_t off = 0;
	struct {
		enum attr a;
		uint8_t *dst;
		size_t len;
	} h[] = {
		{ ATTR_SHA256, st->sha256, SHA256_LEN },
		{ ATTR_SHA512, st->sha512, SHA512_LEN },
		{ ATTR_SHA3_256, st->sha3_256, SHA256_LEN },
		{ ATTR_BLAKE2B512, st->blake2b512, SHA512_LEN },
	};

	for (size_t i = 0; i < ARRAY_SIZE(h); i++) {
		if (!(st->attrs & ATTR_BIT(h[i].a)))
			continue;
		if (off + h[i].len > n)
			return -EBADMSG;
		memcpy(h[i].dst, p + off, h[i].len);
		off += h[i].len;
	}
	return off == n ? 0 : -EBADMSG;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void bind_blob_or_null(sqlite3_stmt *st, int i, const struct blob *b)
{
	if (b->p)
		sqlite3_bind_blob(st, i, b->p, (int)b->n, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Binds the state's columns (attrs .. caps) from parameter i on; hashes points to a
 * buffer that must outlive the step. */
void sq_bind_state(sqlite3_stmt *st, int i, const struct object_state *o, uint8_t hashes[192])
{
	size_t hn = pack_hashes(o, hashes);

	sqlite3_bind_int64(st, i, o->attrs);
	sqlite3_bind_int(st, i + 1, o->type);
	sqlite3_bind_int64(st, i + 2, o->mode);
	sqlite3_bind_int64(st, i + 3, o->uid);
	sqlite3_bind_int64(st, i + 4, o->gid);
	sqlite3_bind_int64(st, i + 5, (int64_t)o->size);
	sqlite3_bind_int64(st, i + 6, (int64_t)o->ino);
	sqlite3_bind_int64(st, i + 7, (int64_t)o->dev);
	sqlite3_bind_int64(st, i + 8, (int64_t)o->nlink);
	sqlite3_bind_int64(st, i + 9, (int64_t)o->rdev);
	sqlite3_bind_int64(st, i + 10, o->mtime_ns);
	sqlite3_bind_int64(st, i + 11, o->ctime_ns);
	sqlite3_bind_int64(st, i + 12, o->flags);
	bind_text_or_null(st, i + 13, o->owner);
	bind_text_or_null(st, i + 14, o->group);
	if (hn)
		sqlite3_bind_blob(st, i + 15, hashes, (int)hn, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i + 15);
	bind_blob_or_null(st, i + 16, &o->target);
	bind_blob_or_null(st, i + 17, &o->xattrs);
	bind_text_or_null(st, i + 18, o->acl);
	bind_text_or_null(st, i + 19, o->selinux);
	bind_text_or_null(st, i + 20, o->caps);
}

int store_baseline_put(struct store *s, int64_t host, const char *path, size_t len,
		       const struct object_state *o)
{
	sqlite3_stmt *st = s->put;
	uint8_t hashes[192];
	char stack[512];
	char *key = len <= sizeof(stack) ? stack : malloc(len);
	int rc, r;

	if (!st)
		return -EINVAL;
	if (!key)
		return -ENOMEM;
	path_to_key(key, path, len);
	r = sq_tx_begin(s);
	if (r < 0)
		goto out;
	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_int(st, 2, OBJ_KIND_FILE);
	sqlite3_bind_blob(st, 3, key, (int)len, SQLITE_STATIC);
	sq_bind_state(st, 4, o, hashes);
	/* every parameter is bound on every call: no need to clear them */
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	r = rc == SQLITE_DONE ? 0 : sq_err(rc);
	if (r == 0 && ++s->batch >= BATCH_ROWS)
		r = sq_tx_commit(s);
out:
	if (key != stack)
		free(key);
	return r;
}

int store_baseline_finish(struct store *s, int64_t host, int64_t created_ns)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	r = sq_tx_begin(s);
	if (r < 0)
		return r;
	r = sq_prepare(s->db, "UPDATE baselines SET state = 'complete', created_ns = ?2, objects ="
			   " (SELECT count(*) FROM objects WHERE host_id = ?1) WHERE host_id = ?1",
		    &st);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, host);
		sqlite3_bind_int64(st, 2, created_ns);
		rc = sqlite3_step(st);
		r = rc == SQLITE_DONE ? 0 : sq_err(rc);
		sqlite3_finalize(st);
	}
	if (r == 0)
		r = sq_tx_commit(s);
	if (r == 0)
		r = sq_exec(s->db, "PRAGMA wal_autocheckpoint = 1000");
	if (r == 0)
		r = sq_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)");
	if (r < 0)
		store_baseline_abort(s);
	return r;
}

void store_baseline_abort(struct store *s)
{
	if (s->in_tx) {
		sq_exec(s->db, "ROLLBACK");
		s->in_tx = false;
	}
	sq_exec(s->db, "PRAGMA wal_autocheckpoint = 1000");
}

/* ---- reading ---- */

#define OBJ_COLUMNS                                                                                \
	"key, attrs, type, mode, uid, gid, size, ino, dev, nlink, rdev, mtime_ns, ctime_ns, "      \
	"flags, owner, grp, hashes, target, xattrs, acl, selinux, caps"

int sq_col_strdup(sqlite3_stmt *st, int i, char **dst)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	*dst = NULL;
	if (!t)
		return 0;
	*dst = strdup((const char *)t);
	return *dst ? 0 : -ENOMEM;
}

static int dup_col_blob(sqlite3_stmt *st, int i, struct blob *dst)
{
	const void *p = sqlite3_column_blob(st, i);
	int n = sqlite3_column_bytes(st, i);

	dst->p = NULL;
	dst->n = 0;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return 0;
	dst->p = malloc(n ? (size_t)n : 1);
	if (!dst->p)
		return -ENOMEM;
	if (n)
		memcpy(dst->p, p, (size_t)n);
	dst->n = (size_t)n;
	return 0;
}

/* Decodes a row of OBJ_COLUMNS (from column 1 on) into o (initialised). */
int sq_row_to_state(sqlite3_stmt *st, struct object_state *o)
{
	int r;

	o->attrs = (uint32_t)sqlite3_column_int64(st, 1);
	o->type = (uint8_t)sqlite3_column_int(st, 2);
	o->mode = (uint32_t)sqlite3_column_int64(st, 3);
	o->uid = (uint32_t)sqlite3_column_int64(st, 4);
	o->gid = (uint32_t)sqlite3_column_int64(st, 5);
	o->size = (uint64_t)sqlite3_column_int64(st, 6);
	o->ino = (uint64_t)sqlite3_column_int64(st, 7);
	o->dev = (uint64_t)sqlite3_column_int64(st, 8);
	o->nlink = (uint64_t)sqlite3_column_int64(st, 9);
	o->rdev = (uint64_t)sqlite3_column_int64(st, 10);
	o->mtime_ns = sqlite3_column_int64(st, 11);
	o->ctime_ns = sqlite3_column_int64(st, 12);
	o->flags = (uint32_t)sqlite3_column_int64(st, 13);
	if ((r = sq_col_strdup(st, 14, &o->owner)) < 0 || (r = sq_col_strdup(st, 15, &o->group)) < 0)
		return r;
	r = unpack_hashes(o, sqlite3_column_blob(st, 16), (size_t)sqlite3_column_bytes(st, 16));
	if (r < 0)
		return r;
	if ((r = dup_col_blob(st, 17, &o->target)) < 0 || (r = dup_col_blob(st, 18, &o->xattrs)) < 0 ||
	    (r = sq_col_strdup(st, 19, &o->acl)) < 0 || (r = sq_col_strdup(st, 20, &o->selinux)) < 0 ||
	    (r = sq_col_strdup(st, 21, &o->caps)) < 0)
		return r;
	return 0;
}

/* The key range of path and everything below it: [key(path), key(path) 0x01). */
static int key_range(struct buf *lo, struct buf *hi, const char *path, size_t len)
{
	int r;

	if (len == 1 && path[0] == '/')
		len = 0; /* "/" is every key; its own key is the single 0 byte, the smallest */
	r = sq_key_from_path(lo, path, len);
	if (r == 0)
		r = sq_key_from_path(hi, path, len);
	if (r == 0)
		r = buf_putc(hi, '\x01');
	return r;
}

int store_cursor_new(struct store *s, int64_t host, struct store_cursor **ret)
{
	return store_cursor_new_under(s, host, NULL, 0, ret);
}

int store_cursor_new_under(struct store *s, int64_t host, const char *path, size_t len,
			   struct store_cursor **ret)
{
	struct store_cursor *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	buf_init(&c->path, SIZE_MAX / 2);
	buf_init(&c->lo, SIZE_MAX / 2);
	buf_init(&c->hi, SIZE_MAX / 2);
	r = path ? key_range(&c->lo, &c->hi, path, len) : 0;
	if (r == 0)
		r = open_db(s->path, true, false, &c->db);
	if (r == 0)
		r = sq_err(sqlite3_prepare_v2(c->db,
					       path ? "SELECT " OBJ_COLUMNS " FROM objects WHERE"
						      " host_id = ?1 AND kind = 1 AND key >= ?2"
						      " AND key < ?3 ORDER BY key"
						    : "SELECT " OBJ_COLUMNS " FROM objects WHERE"
						      " host_id = ?1 AND kind = 1 ORDER BY key",
					       -1, &c->st, NULL));
	if (r < 0) {
		store_cursor_free(c);
		return r;
	}
	sqlite3_bind_int64(c->st, 1, host);
	if (path) {
		sqlite3_bind_blob(c->st, 2, c->lo.data, (int)c->lo.len, SQLITE_STATIC);
		sqlite3_bind_blob(c->st, 3, c->hi.data, (int)c->hi.len, SQLITE_STATIC);
	}
	*ret = c;
	return 0;
}

int store_cursor_next(struct store_cursor *c, const char **ret_path, size_t *ret_len,
		      struct object_state **ret_state)
{
	const char *key;
	int n, rc, r;

	object_state_release(&c->state);
	rc = sqlite3_step(c->st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return sq_err(rc);
	key = sqlite3_column_blob(c->st, 0);
	n = sqlite3_column_bytes(c->st, 0);
	buf_reset(&c->path);
	r = buf_append(&c->path, key, (size_t)n);
	if (r < 0)
		return r;
	for (int i = 0; i < n; i++)
		if (c->path.data[i] == '\0')
			c->path.data[i] = '/';
	r = sq_row_to_state(c->st, &c->state);
	if (r < 0)
		return r;
	*ret_path = c->path.data;
	*ret_len = c->path.len;
	*ret_state = &c->state;
	return 1;
}

struct store_cursor *store_cursor_free(struct store_cursor *c)
{
	if (!c)
		return NULL;
	object_state_release(&c->state);
	sqlite3_finalize(c->st);
	sqlite3_close(c->db);
	buf_release(&c->path);
	buf_release(&c->lo);
	buf_release(&c->hi);
	free(c);
	return NULL;
}

/* Runs a cached point query (host ?1, key ?2) and decodes the row from column 1 on.
 * Returns 1 with ret filled, 0 when there is no row, or a negative errno; *col0 gets
 * column 0 when asked. */
static int get_state(struct store *s, sqlite3_stmt **slot, const char *sql, int64_t host,
		     const char *path, size_t len, struct object_state *ret, int64_t *col0)
{
	struct buf key;
	sqlite3_stmt *st;
	int rc, r;

	r = sq_prepare_once(s, slot, sql);
	if (r < 0)
		return r;
	st = *slot;
	buf_init(&key, SIZE_MAX / 2);
	r = sq_key_from_path(&key, path, len);
	if (r < 0)
		goto out;
	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_blob(st, 2, key.data, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		object_state_init(ret);
		if (col0)
			*col0 = sqlite3_column_int64(st, 0);
		r = sq_row_to_state(st, ret);
		if (r < 0)
			object_state_release(ret);
		else
			r = 1;
	} else {
		r = rc == SQLITE_DONE ? 0 : sq_err(rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
out:
	buf_release(&key);
	return r;
}

int store_baseline_get(struct store *s, int64_t host, const char *path, size_t len,
		       struct object_state *ret)
{
	return get_state(s, &s->base_get,
			 "SELECT " OBJ_COLUMNS " FROM objects WHERE host_id = ?1 AND kind = 1 AND"
			 " key = ?2",
			 host, path, len, ret, NULL);
}

/* ---- the observed layer ---- */

int store_observed_get(struct store *s, int64_t host, const char *path, size_t len,
		       struct object_state *ret)
{
	int64_t present = 0;
	int r;

	r = get_state(s, &s->obs_get,
		      "SELECT present, attrs, type, mode, uid, gid, size, ino, dev, nlink, rdev,"
		      " mtime_ns, ctime_ns, flags, owner, grp, hashes, target, xattrs, acl,"
		      " selinux, caps FROM observed WHERE host_id = ?1 AND kind = 1 AND key = ?2",
		      host, path, len, ret, &present);
	if (r == 0)
		return -ENOENT;
	if (r == 1 && !present) {
		object_state_release(ret);
		return 0;
	}
	return r;
}

int store_observed_put(struct store *s, int64_t host, const char *path, size_t len,
		       const struct object_state *o)
{
	static const struct object_state none = { 0 };
	uint8_t hashes[192];
	struct buf key;
	int r;

	r = sq_prepare_once(s, &s->obs_put,
			 "INSERT OR REPLACE INTO observed(host_id, kind, key, present, attrs, type,"
			 " mode, uid, gid, size, ino, dev, nlink, rdev, mtime_ns, ctime_ns, flags,"
			 " owner, grp, hashes, target, xattrs, acl, selinux, caps) VALUES (?1, 1,"
			 " ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
			 " ?18, ?19, ?20, ?21, ?22, ?23, ?24)");
	if (r < 0)
		return r;
	buf_init(&key, SIZE_MAX / 2);
	r = sq_key_from_path(&key, path, len);
	if (r == 0)
		r = sq_tx_begin(s);
	if (r == 0) {
		sqlite3_bind_int64(s->obs_put, 1, host);
		sqlite3_bind_blob(s->obs_put, 2, key.data, (int)len, SQLITE_STATIC);
		sqlite3_bind_int(s->obs_put, 3, o != NULL);
		sq_bind_state(s->obs_put, 4, o ? o : &none, hashes);
		r = sq_step_done(s->obs_put);
	}
	buf_release(&key);
	return r;
}

int store_observed_drop(struct store *s, int64_t host, const char *path, size_t len)
{
	struct buf key;
	int r;

	r = sq_prepare_once(s, &s->obs_drop,
			 "DELETE FROM observed WHERE host_id = ?1 AND kind = 1 AND key = ?2");
	if (r < 0)
		return r;
	buf_init(&key, SIZE_MAX / 2);
	r = sq_key_from_path(&key, path, len);
	if (r == 0)
		r = sq_tx_begin(s);
	if (r == 0) {
		sqlite3_bind_int64(s->obs_drop, 1, host);
		sqlite3_bind_blob(s->obs_drop, 2, key.data, (int)len, SQLITE_STATIC);
		r = sq_step_done(s->obs_drop);
	}
	buf_release(&key);
	return r;
}

int store_baseline_take_observed(struct store *s, int64_t host, const char *path, size_t len)
{
	struct object_state st;
	int g, r;

	object_state_init(&st);
	g = store_observed_get(s, host, path, len, &st);
	if (g == -ENOENT) {
		r = 0;
		goto out;
	}
	r = g < 0 ? g : store_baseline_set(s, host, path, len, g == 1 ? &st : NULL);
	if (r == 0)
		r = store_observed_drop(s, host, path, len);
	if (r == 0)
		r = 1;
out:
	object_state_release(&st);
	return r;
}

int store_baseline_set(struct store *s, int64_t host, const char *path, size_t len,
		       const struct object_state *o)
{
	uint8_t hashes[192];
	struct buf key;
	sqlite3_stmt *st;
	int r, rc, delta = 0;

	r = o ? sq_prepare_once(s, &s->base_set,
				"INSERT OR REPLACE INTO objects(host_id, kind, key, attrs, type, mode,"
				" uid, gid, size, ino, dev, nlink, rdev, mtime_ns, ctime_ns, flags,"
				" owner, grp, hashes, target, xattrs, acl, selinux, caps) VALUES (?1,"
				" 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
				" ?17, ?18, ?19, ?20, ?21, ?22, ?23)")
	      : sq_prepare_once(s, &s->base_del,
				"DELETE FROM objects WHERE host_id = ?1 AND kind = 1 AND key = ?2");
	if (r < 0)
		return r;
	st = o ? s->base_set : s->base_del;
	buf_init(&key, SIZE_MAX / 2);
	r = sq_key_from_path(&key, path, len);
	if (r == 0)
		r = sq_tx_begin(s);
	if (r == 0)
		r = sq_prepare_once(s, &s->base_has,
				    "SELECT 1 FROM objects WHERE host_id = ?1 AND kind = 1 AND key = ?2");
	if (r == 0) {
		sqlite3_bind_int64(s->base_has, 1, host);
		sqlite3_bind_blob(s->base_has, 2, key.data, (int)len, SQLITE_STATIC);
		rc = sqlite3_step(s->base_has);
		sqlite3_reset(s->base_has);
		if (rc == SQLITE_ROW)
			delta = o ? 0 : -1;
		else if (rc == SQLITE_DONE)
			delta = o ? 1 : 0;
		else
			r = sq_err(rc);
	}
	if (r == 0) {
		sqlite3_bind_int64(st, 1, host);
		sqlite3_bind_blob(st, 2, key.data, (int)len, SQLITE_STATIC);
		if (o)
			sq_bind_state(st, 3, o, hashes);
		r = sq_step_done(st);
	}
	/* the count the status shows follows the objects it counts */
	if (r == 0 && delta != 0)
		r = sq_prepare_once(s, &s->base_count,
				    "UPDATE baselines SET objects = objects + ?2 WHERE host_id = ?1");
	if (r == 0 && delta != 0) {
		sqlite3_bind_int64(s->base_count, 1, host);
		sqlite3_bind_int(s->base_count, 2, delta);
		r = sq_step_done(s->base_count);
	}
	buf_release(&key);
	return r;
}

int store_observed_each(struct store *s, int64_t host, const char *path, size_t len,
			int (*fn)(void *ud, const char *path, size_t len,
				  const struct object_state *st),
			void *ud)
{
	struct buf lo, hi, p;
	struct object_state o;
	sqlite3_stmt *st = NULL;
	int rc, r;

	buf_init(&lo, SIZE_MAX / 2);
	buf_init(&hi, SIZE_MAX / 2);
	buf_init(&p, SIZE_MAX / 2);
	object_state_init(&o);
	r = key_range(&lo, &hi, path ? path : "/", path ? len : 1);
	if (r == 0)
		r = sq_prepare(s->db,
			    "SELECT key, attrs, type, mode, uid, gid, size, ino, dev, nlink, rdev,"
			    " mtime_ns, ctime_ns, flags, owner, grp, hashes, target, xattrs, acl,"
			    " selinux, caps, present FROM observed WHERE host_id = ?1 AND kind = 1"
			    " AND key >= ?2 AND key < ?3 ORDER BY key",
			    &st);
	if (r < 0)
		goto out;
	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_blob(st, 2, lo.data, (int)lo.len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, hi.data, (int)hi.len, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		bool present = sqlite3_column_int(st, 22);

		buf_reset(&p);
		r = buf_append(&p, k, (size_t)n);
		if (r < 0)
			break;
		for (int i = 0; i < n; i++)
			if (p.data[i] == '\0')
				p.data[i] = '/';
		r = sq_row_to_state(st, &o);
		if (r == 0)
			r = fn(ud, p.data, p.len, present ? &o : NULL);
		object_state_release(&o);
		if (r < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_err(rc);
out:
	sqlite3_finalize(st);
	buf_release(&lo);
	buf_release(&hi);
	buf_release(&p);
	return r;
}

/* ---- runs and changes ---- */

int store_run_begin(struct store *s, int64_t host, const struct store_run *run, int64_t *ret_id)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	r = sq_prepare(s->db, "INSERT INTO runs(uuid, host_id, kind, full, started_ns) VALUES"
			   " (?1, ?2, ?3, ?4, ?5)",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, run->uuid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, host);
	sqlite3_bind_text(st, 3, run->kind, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, run->full);
	sqlite3_bind_int64(st, 5, run->started_ns);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_err(rc);
	*ret_id = sqlite3_last_insert_rowid(s->db);
	return sq_tx_begin(s);
}

int store_change_add(struct store *s, int64_t run_id, int64_t host, const char *uuid,
		     const char *path, size_t len, const char *change, uint32_t attrs,
		     int64_t detected_ns, const char *source, const char *event_json,
		     const char *disposition, const char *record_uuid)
{
	struct buf key;
	sqlite3_stmt *st;
	int rc, r;

	r = sq_prepare_once(s, &s->change,
			 "INSERT INTO changes(uuid, run_id, host_id, kind, key, change, attrs,"
			 " detected_ns, event, source, disposition, record_uuid) VALUES (?1, ?2,"
			 " ?3, 1, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
	if (r < 0)
		return r;
	st = s->change;
	buf_init(&key, SIZE_MAX / 2);
	r = sq_key_from_path(&key, path, len);
	if (r < 0)
		return r;
	r = sq_tx_begin(s);
	if (r == 0) {
		sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, run_id);
		sqlite3_bind_int64(st, 3, host);
		sqlite3_bind_blob(st, 4, key.data, (int)len, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, change, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, attrs);
		sqlite3_bind_int64(st, 7, detected_ns);
		sqlite3_bind_text(st, 8, event_json, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 9, source, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, disposition ? disposition : "unauthorized", -1,
				  SQLITE_STATIC);
		if (record_uuid)
			sqlite3_bind_text(st, 11, record_uuid, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 11);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		r = rc == SQLITE_DONE ? 0 : sq_err(rc);
	}
	buf_release(&key);
	return r;
}

int store_run_finish(struct store *s, int64_t run_id, const struct store_run *run)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	r = sq_tx_begin(s);
	if (r < 0)
		return r;
	r = sq_prepare(s->db, "UPDATE runs SET finished_ns = ?2, objects = ?3, added = ?4, removed = ?5,"
			   " modified = ?6, errors = ?7, status = ?8 WHERE id = ?1",
		    &st);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, run_id);
		sqlite3_bind_int64(st, 2, run->finished_ns);
		sqlite3_bind_int64(st, 3, (int64_t)run->objects);
		sqlite3_bind_int64(st, 4, (int64_t)run->added);
		sqlite3_bind_int64(st, 5, (int64_t)run->removed);
		sqlite3_bind_int64(st, 6, (int64_t)run->modified);
		sqlite3_bind_int64(st, 7, (int64_t)run->errors);
		sqlite3_bind_int(st, 8, run->status);
		rc = sqlite3_step(st);
		r = rc == SQLITE_DONE ? 0 : sq_err(rc);
		sqlite3_finalize(st);
	}
	if (r == 0)
		r = sq_tx_commit(s);
	return r;
}

/* Calls fn for each row of a statement selecting the columns of struct store_change_row. */
static int change_rows(sqlite3_stmt *st, int (*fn)(void *ud, const struct store_change_row *c),
		       void *ud)
{
	_cleanup_(buf_releasep) struct buf path = { 0 };
	int rc, r = 0;

	buf_init(&path, SIZE_MAX / 2);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_change_row c = {
			.id = sqlite3_column_int64(st, 0),
			.uuid = (const char *)sqlite3_column_text(st, 1),
			.detected_ns = sqlite3_column_int64(st, 2),
			.change = (const char *)sqlite3_column_text(st, 3),
			.source = (const char *)sqlite3_column_text(st, 4),
			.event_json = (const char *)sqlite3_column_text(st, 5),
			.attrs = (uint32_t)sqlite3_column_int64(st, 7),
			.disposition = (const char *)sqlite3_column_text(st, 8),
			.record_uuid = (const char *)sqlite3_column_text(st, 9),
		};
		const char *k = sqlite3_column_blob(st, 6);
		int kn = sqlite3_column_bytes(st, 6);

		buf_reset(&path);
		r = buf_append(&path, k, (size_t)kn);
		if (r < 0)
			break;
		for (int i = 0; i < kn; i++)
			if (path.data[i] == '\0')
				path.data[i] = '/';
		c.path = path.data;
		c.path_len = path.len;
		r = fn(ud, &c);
		if (r < 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_err(rc);
	return r;
}

#define CHANGE_COLUMNS \
	"id, uuid, detected_ns, change, source, event, key, attrs, disposition, record_uuid"

int store_changes_each(struct store *s, int64_t host, int64_t since_ns, int64_t after_id,
		       int (*fn)(void *ud, const struct store_change_row *c), void *ud)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sq_prepare(s->db,
		       "SELECT " CHANGE_COLUMNS " FROM changes WHERE"
		       " host_id = ?1 AND detected_ns >= ?2 AND id > ?3 ORDER BY id",
		       &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_int64(st, 2, since_ns);
	sqlite3_bind_int64(st, 3, after_id);
	r = change_rows(st, fn, ud);
	sqlite3_finalize(st);
	return r;
}

int store_change_authorize(struct store *s, const char *change_uuid, const char *record_uuid,
			   const char *evidence_json)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sq_prepare(s->db,
		       "UPDATE changes SET disposition = 'authorized', record_uuid = ?2,"
		       " event = json_set(json_remove(event, '$.vigil.reconciliation'),"
		       " '$.vigil.disposition', 'authorized', '$.vigil.authorization', json(?3))"
		       " WHERE uuid = ?1 AND disposition = 'unauthorized'",
		       &st);
	if (r == 0)
		r = sq_tx_begin(s);
	if (r == 0) {
		sqlite3_bind_text(st, 1, change_uuid, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, record_uuid, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, evidence_json, -1, SQLITE_STATIC);
		r = sq_step_done(st);
		if (r == 0 && sqlite3_changes(s->db) == 0)
			r = -ENOENT;
	}
	sqlite3_finalize(st);
	return r;
}

int store_change_get(struct store *s, const char *uuid,
		     int (*fn)(void *ud, const struct store_change_row *c), void *ud)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sq_prepare(s->db, "SELECT " CHANGE_COLUMNS " FROM changes WHERE uuid = ?1", &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
	r = change_rows(st, fn, ud);
	sqlite3_finalize(st);
	return r;
}

int store_changes_by_record(struct store *s, int64_t host, const char *record_uuid,
			    int (*fn)(void *ud, const struct store_change_row *c), void *ud)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sq_prepare(s->db,
		       "SELECT " CHANGE_COLUMNS " FROM changes WHERE record_uuid = ?1 AND"
		       " host_id = ?2 ORDER BY id",
		       &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, record_uuid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, host);
	r = change_rows(st, fn, ud);
	sqlite3_finalize(st);
	return r;
}

int store_run_last(struct store *s, int64_t host, const char *kind, int full,
		   struct store_run_info *ret)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	memset(ret, 0, sizeof(*ret));
	r = sq_prepare(s->db,
		    "SELECT uuid, started_ns, coalesce(finished_ns, 0), coalesce(status, -1) FROM"
		    " runs WHERE host_id = ?1 AND kind = ?2 AND (?3 < 0 OR full = ?3) AND"
		    " finished_ns IS NOT NULL ORDER BY id DESC LIMIT 1",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, full);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(ret->uuid, sizeof(ret->uuid), "%s", (const char *)sqlite3_column_text(st, 0));
		ret->started_ns = sqlite3_column_int64(st, 1);
		ret->finished_ns = sqlite3_column_int64(st, 2);
		ret->status = sqlite3_column_int(st, 3);
		r = 1;
	} else {
		r = rc == SQLITE_DONE ? 0 : sq_err(rc);
	}
	sqlite3_finalize(st);
	return r;
}

int store_run_close_unfinished(struct store *s, int64_t host, const char *kind, int64_t now_ns,
			       int status, uint64_t *ret_count)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sq_tx_begin(s);
	if (r == 0)
		r = sq_prepare(s->db,
			    "UPDATE runs SET finished_ns = ?3, status = ?4 WHERE host_id = ?1 AND"
			    " kind = ?2 AND finished_ns IS NULL",
			    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, host);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_ns);
	sqlite3_bind_int(st, 4, status);
	r = sq_step_done(st);
	if (r == 0)
		*ret_count = (uint64_t)sqlite3_changes(s->db);
	sqlite3_finalize(st);
	return r;
}

int store_gap_add(struct store *s, int64_t host, const char *uuid, int64_t time_ns,
		  const char *reason, const char *scope, const char *detail)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sq_tx_begin(s);
	if (r == 0)
		r = sq_prepare(s->db,
			    "INSERT INTO gaps(uuid, host_id, time_ns, reason, scope, detail) VALUES"
			    " (?1, ?2, ?3, ?4, ?5, ?6)",
			    &st);
	if (r < 0)
		return r;
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, host);
	sqlite3_bind_int64(st, 3, time_ns);
	sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, scope, -1, SQLITE_STATIC);
	bind_text_or_null(st, 6, detail);
	r = sq_step_done(st);
	sqlite3_finalize(st);
	return r;
}

int store_gap_count(struct store *s, int64_t host, const char *reason, uint64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	r = sq_prepare(s->db,
		    "SELECT count(*) FROM gaps WHERE host_id = ?1 AND (?2 IS NULL OR reason = ?2)",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, host);
	bind_text_or_null(st, 2, reason);
	rc = sqlite3_step(st);
	*ret = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : sq_err(rc);
}

/* ---- explicit transactions ---- */

int store_tx_begin(struct store *s)
{
	return sq_tx_begin(s);
}

int store_tx_commit(struct store *s)
{
	return sq_tx_commit(s);
}

uint64_t store_tx_serial(const struct store *s)
{
	return s->tx_serial;
}

void store_tx_rollback(struct store *s)
{
	store_baseline_abort(s);
}

/* ---- journal ---- */

int sq_step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : sq_err(rc);
}

int store_journal_size(struct store *s, uint64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	r = sq_prepare(s->db, "SELECT coalesce(max(idx) + 1, 0) FROM journal", &st);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : sq_err(rc);
}

int store_journal_append(struct store *s, uint64_t index, int64_t time_ns, const char *type,
			 const void *data, size_t len)
{
	int r;

	r = sq_prepare_once(s, &s->j_append,
			 "INSERT INTO journal(idx, time_ns, type, entry) VALUES (?1, ?2, ?3, ?4)");
	if (r == 0)
		r = sq_tx_begin(s);
	if (r < 0)
		return r;
	sqlite3_bind_int64(s->j_append, 1, (int64_t)index);
	sqlite3_bind_int64(s->j_append, 2, time_ns);
	sqlite3_bind_text(s->j_append, 3, type, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s->j_append, 4, data, (int)len, SQLITE_STATIC);
	return sq_step_done(s->j_append);
}

static int row_to_entry(sqlite3_stmt *st, struct store_journal_entry *e)
{
	const void *p = sqlite3_column_blob(st, 3);
	int n = sqlite3_column_bytes(st, 3);

	memset(e, 0, sizeof(*e));
	e->index = (uint64_t)sqlite3_column_int64(st, 0);
	e->time_ns = sqlite3_column_int64(st, 1);
	snprintf(e->type, sizeof(e->type), "%s", (const char *)sqlite3_column_text(st, 2));
	e->purged_ns = sqlite3_column_int64(st, 4);
	if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
		e->data = malloc(n ? (size_t)n : 1);
		if (!e->data)
			return -ENOMEM;
		if (n)
			memcpy(e->data, p, (size_t)n);
		e->len = (size_t)n;
	}
	return 0;
}

int store_journal_get(struct store *s, uint64_t index, struct store_journal_entry *ret)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	r = sq_prepare(s->db, "SELECT idx, time_ns, type, entry, purged_ns FROM journal WHERE idx = ?1",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)index);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = row_to_entry(st, ret);
	else
		r = rc == SQLITE_DONE ? -ENOENT : sq_err(rc);
	sqlite3_finalize(st);
	return r;
}

void store_journal_entry_release(struct store_journal_entry *e)
{
	free(e->data);
	e->data = NULL;
}

int store_journal_each(struct store *s, uint64_t from, uint64_t to,
		       int (*fn)(void *ud, const struct store_journal_entry *e), void *ud)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	/* one sequential pass over both tables: no lookup per entry */
	r = sq_prepare(s->db, "SELECT j.idx, j.time_ns, j.type, j.entry, j.purged_ns, h.hash"
			   " FROM journal j LEFT JOIN journal_hashes h ON h.level = 0 AND h.idx = j.idx"
			   " WHERE j.idx >= ?1 AND j.idx < ?2 ORDER BY j.idx",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)from);
	sqlite3_bind_int64(st, 2, to > INT64_MAX ? INT64_MAX : (int64_t)to);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_journal_entry e = { 0 };

		e.index = (uint64_t)sqlite3_column_int64(st, 0);
		e.time_ns = sqlite3_column_int64(st, 1);
		snprintf(e.type, sizeof(e.type), "%s", (const char *)sqlite3_column_text(st, 2));
		e.purged_ns = sqlite3_column_int64(st, 4);
		if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
			e.data = (uint8_t *)sqlite3_column_blob(st, 3);
			e.len = (size_t)sqlite3_column_bytes(st, 3);
			if (!e.data)
				e.data = (uint8_t *)""; /* an empty blob */
		}
		if (sqlite3_column_bytes(st, 5) == 32) {
			memcpy(e.leaf, sqlite3_column_blob(st, 5), 32);
			e.has_leaf = true;
		}
		r = fn(ud, &e);
		if (r < 0)
			break;
	}
	if (r >= 0 && rc != SQLITE_DONE)
		r = sq_err(rc);
	sqlite3_finalize(st);
	return r < 0 ? r : 0;
}

int store_journal_purge(struct store *s, uint64_t from, uint64_t to, int64_t now_ns)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sq_tx_begin(s);
	if (r == 0)
		r = sq_prepare(s->db, "UPDATE journal SET entry = NULL, purged_ns = ?3"
				   " WHERE idx >= ?1 AND idx < ?2 AND entry IS NOT NULL",
			    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)from);
	sqlite3_bind_int64(st, 2, (int64_t)to);
	sqlite3_bind_int64(st, 3, now_ns);
	r = sq_step_done(st);
	sqlite3_finalize(st);
	return r;
}

int store_journal_hash_put(struct store *s, unsigned level, uint64_t index, const uint8_t h[32])
{
	int r;

	r = sq_prepare_once(s, &s->j_hash_put,
			 "INSERT INTO journal_hashes(level, idx, hash) VALUES (?1, ?2, ?3)");
	if (r == 0)
		r = sq_tx_begin(s);
	if (r < 0)
		return r;
	sqlite3_bind_int(s->j_hash_put, 1, (int)level);
	sqlite3_bind_int64(s->j_hash_put, 2, (int64_t)index);
	sqlite3_bind_blob(s->j_hash_put, 3, h, 32, SQLITE_STATIC);
	return sq_step_done(s->j_hash_put);
}

int store_journal_hash_get(struct store *s, unsigned level, uint64_t index, uint8_t out[32])
{
	sqlite3_stmt *st;
	int rc, r;

	r = sq_prepare_once(s, &s->j_hash_get,
			 "SELECT hash FROM journal_hashes WHERE level = ?1 AND idx = ?2");
	if (r < 0)
		return r;
	st = s->j_hash_get;
	sqlite3_bind_int(st, 1, (int)level);
	sqlite3_bind_int64(st, 2, (int64_t)index);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
		memcpy(out, sqlite3_column_blob(st, 0), 32);
		r = 0;
	} else {
		r = rc == SQLITE_ROW || rc == SQLITE_DONE ? -ENOENT : sq_err(rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int store_journal_hash_range(struct store *s, unsigned level, uint64_t index, size_t count,
			     uint8_t *out)
{
	sqlite3_stmt *st = NULL;
	size_t got = 0;
	int rc, r;

	r = sq_prepare(s->db, "SELECT idx, hash FROM journal_hashes WHERE level = ?1 AND idx >= ?2"
			   " AND idx < ?3 ORDER BY idx",
		    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int(st, 1, (int)level);
	sqlite3_bind_int64(st, 2, (int64_t)index);
	sqlite3_bind_int64(st, 3, (int64_t)(index + count));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((uint64_t)sqlite3_column_int64(st, 0) != index + got ||
		    sqlite3_column_bytes(st, 1) != 32)
			break;
		memcpy(out + 32 * got++, sqlite3_column_blob(st, 1), 32);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_err(rc);
	return got == count ? 0 : -ENOENT;
}

int store_checkpoint_add(struct store *s, uint64_t size, int64_t time_ns, const char *note)
{
	sqlite3_stmt *st = NULL;
	int r;

	r = sq_tx_begin(s);
	if (r == 0)
		r = sq_prepare(s->db, "INSERT INTO checkpoints(size, time_ns, note) VALUES (?1, ?2, ?3)",
			    &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, (int64_t)size);
	sqlite3_bind_int64(st, 2, time_ns);
	sqlite3_bind_text(st, 3, note, -1, SQLITE_STATIC);
	r = sq_step_done(st);
	sqlite3_finalize(st);
	return r;
}

static int row_to_checkpoint(sqlite3_stmt *st, struct store_checkpoint *c)
{
	c->id = sqlite3_column_int64(st, 0);
	c->size = (uint64_t)sqlite3_column_int64(st, 1);
	c->time_ns = sqlite3_column_int64(st, 2);
	c->note = strdup((const char *)sqlite3_column_text(st, 3));
	return c->note ? 0 : -ENOMEM;
}

int store_checkpoint_latest(struct store *s, struct store_checkpoint *ret)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	r = sq_prepare(s->db, "SELECT id, size, time_ns, note FROM checkpoints ORDER BY id DESC LIMIT 1",
		    &st);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = row_to_checkpoint(st, ret) < 0 ? -ENOMEM : 1;
	else
		r = rc == SQLITE_DONE ? 0 : sq_err(rc);
	sqlite3_finalize(st);
	return r;
}

int store_checkpoint_each(struct store *s, int (*fn)(void *ud, const struct store_checkpoint *c),
			  void *ud)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	r = sq_prepare(s->db, "SELECT id, size, time_ns, note FROM checkpoints ORDER BY id", &st);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_checkpoint c;

		r = row_to_checkpoint(st, &c);
		if (r == 0)
			r = fn(ud, &c);
		store_checkpoint_release(&c);
		if (r < 0)
			break;
	}
	if (r >= 0 && rc != SQLITE_DONE)
		r = sq_err(rc);
	sqlite3_finalize(st);
	return r < 0 ? r : 0;
}

void store_checkpoint_release(struct store_checkpoint *c)
{
	free(c->note);
	c->note = NULL;
}

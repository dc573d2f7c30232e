/*
 * init and check: the scanner's items in, changes out.  This is where an observation
 * becomes a change with a disposition-ready description (DESIGN §3), shaped as an
 * Elastic Common Schema event with everything Vigil-specific under "vigil".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "base/fileio.h"
#include "collect/collect.h"
#include "engine/engine.h"
#include "engine/engine-int.h"
#include "base/banned.h"

const char *engine_event_name(enum engine_event_kind k)
{
	static const char *const names[] = { "added", "removed", "modified", "error", "unstable" };

	return (unsigned)k < ARRAY_SIZE(names) ? names[k] : "unknown";
}

void eng_json_time(struct json_writer *w, int64_t ns)
{
	char t[RFC3339_MAX];

	if (time_format_rfc3339(ns, t, sizeof(t)) == 0)
		jw_str(w, t);
	else
		jw_null(w);
}

/* ECS "file" fields of a state. */
static void file_fields(struct json_writer *w, const char *path, size_t path_len,
			const struct object_state *s)
{
	const char *slash = memrchr(path, '/', path_len);
	size_t dlen = slash ? (size_t)(slash - path) : 0;
	char mode[8];

	jw_key(w, "file");
	jw_obj_open(w);
	jw_key(w, "path");
	jw_str_bytes(w, path, path_len);
	if (slash) {
		jw_key(w, "name");
		jw_str_bytes(w, slash + 1, path_len - dlen - 1);
		jw_key(w, "directory");
		jw_str_bytes(w, path, dlen ? dlen : 1);
	}
	if (s) {
		jw_key(w, "type");
		jw_str(w, obj_type_name(s->type));
		snprintf(mode, sizeof(mode), "%04o", s->mode);
		jw_key(w, "mode");
		jw_str(w, mode);
		{
			char n[24];

			snprintf(n, sizeof(n), "%u", s->uid);
			jw_key(w, "uid");
			jw_str(w, n);
			snprintf(n, sizeof(n), "%u", s->gid);
			jw_key(w, "gid");
			jw_str(w, n);
			snprintf(n, sizeof(n), "%llu", (unsigned long long)s->ino);
			jw_key(w, "inode");
			jw_str(w, n);
		}
		if (s->owner) {
			jw_key(w, "owner");
			jw_str_bytes(w, s->owner, strlen(s->owner));
		}
		if (s->group) {
			jw_key(w, "group");
			jw_str_bytes(w, s->group, strlen(s->group));
		}
		jw_key(w, "size");
		jw_u64(w, s->size);
		jw_key(w, "mtime");
		eng_json_time(w, s->mtime_ns);
		jw_key(w, "ctime");
		eng_json_time(w, s->ctime_ns);
		if (s->type == OBJ_SYMLINK && (s->attrs & ATTR_BIT(ATTR_TARGET))) {
			jw_key(w, "target_path");
			jw_str_bytes(w, s->target.p, s->target.n);
		}
		if (s->type == OBJ_FILE && (s->attrs & ATTR_MASK_HASHES)) {
			jw_key(w, "hash");
			jw_obj_open(w);
			for (int a = ATTR_SHA256; a <= ATTR_BLAKE2B512; a++) {
				if (!(s->attrs & ATTR_BIT(a)))
					continue;
				/* ECS names: sha256, sha512; others keep Vigil's names */
				jw_key(w, a == ATTR_SHA3_256	   ? "sha3_256"
					    : a == ATTR_BLAKE2B512 ? "blake2b_512"
								   : attr_name((enum attr)a));
				object_attr_json(w, s, (enum attr)a);
			}
			jw_obj_close(w);
		}
	}
	jw_obj_close(w);
}

static void attr_values(struct json_writer *w, const struct object_state *s, uint32_t mask)
{
	jw_obj_open(w);
	for (int a = 0; a < ATTR__COUNT; a++) {
		if (!(mask & ATTR_BIT(a)))
			continue;
		jw_key(w, attr_name((enum attr)a));
		object_attr_json(w, s, (enum attr)a);
	}
	jw_obj_close(w);
}

void eng_json_head(struct ctx *c, struct json_writer *w, const struct engine_event *ev,
		   const struct engine_origin *origin, const char *category)
{
	static const char *const ecs_type[] = { "creation", "deletion", "change", "info", "info" };
	static const int sev_num[] = { 1, 2, 3, 4 };
	char dataset[64];

	jw_key(w, "@timestamp");
	eng_json_time(w, ev->detected_ns);
	jw_key(w, "event");
	jw_obj_open(w);
	jw_key(w, "id");
	jw_str(w, ev->uuid);
	jw_key(w, "kind");
	jw_str(w, ev->kind == ENGINE_ERROR ? "pipeline_error" : "event");
	jw_key(w, "module");
	jw_str(w, "vigil");
	jw_key(w, "dataset");
	snprintf(dataset, sizeof(dataset), "vigil.%s", c->init ? "init" : c->run_kind);
	jw_str(w, dataset);
	jw_key(w, "category");
	jw_arr_open(w);
	jw_str(w, category);
	jw_arr_close(w);
	jw_key(w, "type");
	jw_arr_open(w);
	jw_str(w, ecs_type[ev->kind]);
	jw_arr_close(w);
	jw_key(w, "action");
	jw_str(w, engine_event_name(ev->kind));
	if (ev->rule && ev->rule->kind == RULE_SELECT) {
		jw_key(w, "severity");
		jw_u64(w, (uint64_t)sev_num[ev->rule->severity]);
	}
	if (origin && origin->event_ns) {
		jw_key(w, "created");
		eng_json_time(w, origin->event_ns);
	}
	jw_obj_close(w);
	jw_key(w, "host");
	jw_obj_open(w);
	jw_key(w, "name");
	jw_str_bytes(w, c->o->host_name, strlen(c->o->host_name));
	jw_obj_close(w);
}

void eng_json_tail(struct ctx *c, struct json_writer *w, const struct engine_event *ev,
		   const struct engine_origin *origin)
{
	if (ev->rule) {
		jw_key(w, "rule");
		jw_obj_open(w);
		jw_key(w, "file");
		jw_str_bytes(w, ev->rule->file, strlen(ev->rule->file));
		jw_key(w, "line");
		jw_u64(w, ev->rule->line);
		jw_key(w, "pattern");
		jw_str_bytes(w, ev->rule->text, strlen(ev->rule->text));
		if (ev->rule->kind == RULE_SELECT) {
			jw_key(w, "severity");
			jw_str(w, severity_name(ev->rule->severity));
			jw_key(w, "tags");
			jw_arr_open(w);
			for (size_t i = 0; i < ev->rule->n_tags; i++)
				jw_str(w, ev->rule->tags[i]);
			jw_arr_close(w);
		}
		jw_obj_close(w);
	}
	if (ev->kind <= ENGINE_MODIFIED && ev->recorded) {
		jw_key(w, "disposition");
		jw_str(w, ev->authorized ? "authorized" : "unauthorized");
		if (c->evidence.len) {
			/* how it was authorized, or why the nearest records did not cover it */
			jw_key(w, ev->authorized ? "authorization" : "reconciliation");
			jw_raw(w, c->evidence.data);
		}
	}
	jw_key(w, "detection");
	jw_obj_open(w);
	jw_key(w, "source");
	jw_str(w, origin && origin->source ? origin->source : c->source);
	if (origin && origin->events_json) {
		jw_key(w, "events");
		jw_raw(w, origin->events_json);
	}
	jw_obj_close(w);
	jw_key(w, "run");
	jw_obj_open(w);
	jw_key(w, "id");
	jw_str(w, c->res->run_uuid);
	jw_key(w, "kind");
	jw_str(w, c->init ? "init" : c->run_kind);
	jw_key(w, "full");
	jw_bool(w, c->o->full);
	jw_obj_close(w);
}

static int build_json(struct ctx *c, struct engine_event *ev, const struct engine_origin *origin)
{
	const struct scan_item *it = ev->item;
	const struct object_state *shown = ev->after ? ev->after : ev->before;
	struct json_writer w;

	buf_reset(&c->json);
	jw_init(&w, &c->json);
	jw_obj_open(&w);
	eng_json_head(c, &w, ev, origin, "file");
	file_fields(&w, ev->path, ev->path_len, shown);
	if (origin && origin->process_json) {
		jw_key(&w, "process");
		jw_raw(&w, origin->process_json);
	}
	if (origin && origin->user_json) {
		jw_key(&w, "user");
		jw_raw(&w, origin->user_json);
	}
	jw_key(&w, "vigil");
	jw_obj_open(&w);
	jw_key(&w, "object");
	{
		struct buf ob;

		buf_init(&ob, SIZE_MAX / 2);
		if (buf_puts(&ob, "file:") == 0 && buf_append(&ob, ev->path, ev->path_len) == 0)
			jw_str_bytes(&w, ob.data, ob.len);
		else
			jw_null(&w);
		buf_release(&ob);
	}
	jw_key(&w, "change");
	jw_str(&w, engine_event_name(ev->kind));
	if (ev->kind == ENGINE_MODIFIED) {
		jw_key(&w, "attributes");
		jw_arr_open(&w);
		for (int a = 0; a < ATTR__COUNT; a++)
			if (ev->changed & ATTR_BIT(a))
				jw_str(&w, attr_name((enum attr)a));
		jw_arr_close(&w);
		jw_key(&w, "before");
		attr_values(&w, ev->before, ev->changed);
		jw_key(&w, "after");
		attr_values(&w, ev->after, ev->changed);
	}
	if (ev->diff && ev->kind <= ENGINE_MODIFIED) {
		jw_key(&w, "diff");
		jw_str(&w, ev->diff);
	}
	if (ev->kind == ENGINE_ERROR) {
		jw_key(&w, "error");
		jw_obj_open(&w);
		jw_key(&w, "operation");
		jw_str(&w, it->err_op ? it->err_op : "read");
		jw_key(&w, "code");
		jw_i64(&w, -it->err);
		jw_key(&w, "message");
		jw_str(&w, strerror(-it->err));
		jw_obj_close(&w);
	}
	if (it && it->has_cur && it->cur.unstable) {
		jw_key(&w, "unstable");
		jw_bool(&w, true);
	}
	eng_json_tail(c, &w, ev, origin);
	jw_obj_close(&w);
	jw_obj_close(&w);
	ev->json = c->json.data;
	return w.err;
}

/* Appends {"<key>": <json>, ...extra} to the journal. */
static int journal_json(struct ctx *c, const char *type, const char *json)
{
	struct buf f;
	int r;

	if (!c->o->journal)
		return 0;
	buf_init(&f, 32u * 1024 * 1024);
	r = buf_printf(&f, "{\"event\":%s}", json);
	if (r == 0)
		r = journal_append(c->o->journal, type, f.data, NULL);
	buf_release(&f);
	return r;
}

/* Records ev (built into c->json) in the store and the journal, inside the open
 * transaction. */
int eng_record(struct ctx *c, const struct engine_event *ev)
{
	int r = 0;

	if (ev->kind <= ENGINE_MODIFIED && !c->init)
		r = store_change_add(c->o->store, c->run_id, c->o->host_id, ev->uuid, ev->path,
				     ev->path_len, engine_event_name(ev->kind), ev->changed,
				     ev->detected_ns, ev->source ? ev->source : c->source, ev->json,
				     ev->authorized ? "authorized" : "unauthorized",
				     ev->authorized ? ev->record_uuid : NULL);
	if (r == 0)
		r = journal_json(c, ev->kind <= ENGINE_MODIFIED ? "change.detected"
				    : ev->kind == ENGINE_ERROR  ? "object.error"
								: "object.unstable",
				 ev->json);
	if (r == 0 && c->o->recorded && !c->init)
		r = c->o->recorded(c->o->recorded_ud, ev);
	if (r < 0)
		c->store_err = r;
	return r;
}

static void event_init(struct engine_event *ev, enum engine_event_kind kind,
		       const struct scan_item *it, uint32_t changed, const struct rule *rule)
{
	*ev = (struct engine_event){
		.kind = kind,
		.item = it,
		.path = it->path,
		.path_len = it->path_len,
		.changed = changed,
		.rule = rule,
		.detected_ns = clock_now_ns(),
	};
}

/* An error or an unstable object: recorded, committed, then reported. */
static int raise_event(struct ctx *c, enum engine_event_kind kind, const struct scan_item *it,
		       const struct rule *rule)
{
	struct engine_event ev;
	int r;

	event_init(&ev, kind, it, 0, rule);
	ev.before = it->has_base ? &it->base : NULL;
	ev.after = it->has_cur ? &it->cur : NULL;
	ev.recorded = true;
	r = uuid7_new(ev.uuid);
	if (r == 0)
		r = build_json(c, &ev, NULL);
	if (r == 0)
		r = eng_record(c, &ev);
	/* recorded and committed before anyone is told */
	if (r == 0)
		r = store_tx_commit(c->o->store);
	if (r < 0) {
		c->store_err = r;
		return r;
	}
	return c->report ? c->report(c->ud, &ev) : 0;
}

/*
 * The change between the last known state and what is there now: the kind, or -1 for
 * none; *changed gets the attributes that differ.
 */
static int change_kind(const struct object_state *last, const struct scan_item *it,
		       const struct rule *rule, bool growing, uint32_t *changed)
{
	*changed = 0;
	if (it->has_cur && !last)
		return ENGINE_ADDED;
	if (!it->has_cur && last)
		return ENGINE_REMOVED;
	if (it->has_cur && last) {
		*changed = object_state_diff(last, &it->cur, rule->attrs, growing);
		return *changed ? ENGINE_MODIFIED : -1;
	}
	return -1;
}

/* Updates the observed layer after a change to it: no row when it is back at baseline. */
static int observe_update(struct ctx *c, const struct scan_item *it, const struct rule *rule,
			  bool had_row)
{
	bool at_base;

	if (it->has_cur && it->has_base)
		at_base = object_state_diff(&it->base, &it->cur, rule->attrs, rule->growing) == 0;
	else
		at_base = !it->has_cur && !it->has_base;
	if (at_base)
		return had_row ? store_observed_drop(c->o->store, c->o->host_id, it->path,
						     it->path_len)
			       : 0;
	return store_observed_put(c->o->store, c->o->host_id, it->path, it->path_len,
				  it->has_cur ? &it->cur : NULL);
}

/* Asks the reconciler for the change's disposition (ev->authorized, ev->record_uuid). */
int eng_reconcile(struct ctx *c, struct engine_event *ev, const struct engine_origin *origin)
{
	struct engine_reconcile rc = {
		.path = ev->path,
		.path_len = ev->path_len,
		.kind = ev->kind,
		.before = ev->before,
		.after = ev->after,
		.changed = ev->changed,
		.detected_ns = ev->detected_ns,
		.auid = origin && origin->has_auid ? origin->auid : ENGINE_NO_AUID,
		.actor_exe = origin ? origin->actor_exe : NULL,
		.evidence = &c->evidence,
		.state_before = ev->state_before,
		.state_after = ev->state_after,
	};
	int r;

	buf_reset(&c->evidence);
	ev->authorized = false;
	ev->record_uuid[0] = '\0';
	if (!c->o->reconcile || ev->kind > ENGINE_MODIFIED)
		return 0;
	r = c->o->reconcile(c->o->reconcile_ud, &rc);
	if (r < 0)
		return r;
	ev->authorized = rc.authorized;
	if (rc.authorized)
		memcpy(ev->record_uuid, rc.record_uuid, sizeof(ev->record_uuid));
	return 0;
}

/*
 * An authorized change: the object's baseline becomes what was observed, and the
 * observed layer forgets it.  (The check that found it reports no difference for it:
 * see on_check_item.)
 */
static int advance_baseline(struct ctx *c, const struct scan_item *it, bool had_row)
{
	int r;

	r = store_baseline_set(c->o->store, c->o->host_id, it->path, it->path_len,
			       it->has_cur ? &it->cur : NULL);
	if (r == 0 && had_row)
		r = store_observed_drop(c->o->store, c->o->host_id, it->path, it->path_len);
	return r;
}

/*
 * Records the change of it from last (NULL: absent) when there is one.  The event is
 * built into c->json and returned in *ev.  Returns 1 when a change was recorded.
 */
/* ---- the text of small files whose rule says "diff" ---- */

#define DIFF_FILE_MAX (64u * 1024)

/* The text of a regular file of at most DIFF_FILE_MAX bytes without NUL bytes, secrets
 * redacted; *ret NULL for anything else (a binary or large file shows no diff). */
static int file_text(const char *path, char **ret)
{
	_cleanup_buf_ struct buf red;
	char *data = NULL;
	size_t n = 0;
	int r;

	*ret = NULL;
	r = file_read_all(path, NULL, DIFF_FILE_MAX, &data, &n);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	if (memchr(data, '\0', n)) {
		free(data);
		return 0;
	}
	buf_init(&red, 4 * DIFF_FILE_MAX);
	r = coll_redact(data, n, &red);
	free(data);
	if (r == 0)
		r = buf_detach(&red, ret, NULL);
	return r == -ENOMEM ? r : 0;
}

/* Keeps the text of it (a file under a "diff" rule) in layer 0 or 1 of the store. */
static int text_put(struct ctx *c, const struct scan_item *it, int layer, const char *text)
{
	_cleanup_free_ char *key = strndup(it->path, it->path_len);

	if (!key)
		return -ENOMEM;
	return store_collected_put(c->o->store, c->o->host_id, "file", layer, key,
				   it->has_cur, "{}", text);
}

/* The last known text of it: the observed layer's when it has one, else the baseline's
 * (with baseline_only, the baseline's). */
static int text_last(struct ctx *c, const struct scan_item *it, bool baseline_only, char **ret)
{
	_cleanup_free_ char *key = strndup(it->path, it->path_len);
	bool present = false;
	int r = 0;

	*ret = NULL;
	if (!key)
		return -ENOMEM;
	if (!baseline_only)
		r = store_collected_get(c->o->store, c->o->host_id, "file", 1, key, &present, ret);
	if (r == 0)
		r = store_collected_get(c->o->store, c->o->host_id, "file", 0, key, &present, ret);
	return r < 0 ? r : 0;
}

/* The diff of a "diff" file from its last known text (or its baseline's) to its text now
 * (*ret_text). */
static int text_diff(struct ctx *c, const struct scan_item *it, bool from_baseline,
		     struct engine_event *ev, char **ret_text)
{
	_cleanup_free_ char *before = NULL;
	_cleanup_free_ char *path = strndup(it->path, it->path_len);
	int r;

	*ret_text = NULL;
	if (!path)
		return -ENOMEM;
	r = text_last(c, it, from_baseline, &before);
	if (r == 0 && it->has_cur && it->cur.type == OBJ_FILE)
		r = file_text(path, ret_text);
	if (r < 0 || (!before && !*ret_text))
		return r;
	buf_reset(&c->diff);
	r = coll_unified_diff(before, *ret_text, &c->diff);
	if (r == 0 && c->diff.len)
		ev->diff = c->diff.data;
	return r == -E2BIG ? 0 : r;
}

static int record_change(struct ctx *c, const struct scan_item *it, const struct rule *rule,
			 const struct object_state *last, bool had_row,
			 const struct engine_origin *origin, struct engine_event *ev)
{
	char *text = NULL;
	uint32_t changed;
	int kind, r;

	/* a growing file's prefix was checked against the baseline, so the growing rule
	 * applies only when the last known state is the baseline */
	kind = change_kind(last, it, rule, rule->growing && !had_row, &changed);
	if (kind < 0)
		return 0;
	event_init(ev, (enum engine_event_kind)kind, it, changed, rule);
	ev->before = last;
	ev->after = it->has_cur ? &it->cur : NULL;
	ev->recorded = true;
	if (origin)
		ev->source = origin->source;
	r = uuid7_new(ev->uuid);
	if (r == 0)
		r = eng_reconcile(c, ev, origin);
	if (r == 0 && rule->diff)
		r = text_diff(c, it, false, ev, &text);
	if (r == 0)
		r = build_json(c, ev, origin);
	if (r == 0)
		r = eng_record(c, ev);
	if (r == 0 && ev->authorized)
		r = advance_baseline(c, it, had_row);
	else if (r == 0)
		r = observe_update(c, it, rule, had_row);
	/* the text follows the state: into the baseline, or into the observed layer */
	if (r == 0 && rule->diff)
		r = text_put(c, it, ev->authorized ? 0 : 1, text);
	free(text);
	ev->diff = NULL;
	if (r < 0) {
		c->store_err = r;
		return r;
	}
	c->res->recorded++;
	if (ev->authorized)
		c->res->authorized++;
	return 1;
}

/* ---- the observed layer during a check ---- */

static int known_add(void *ud, const char *path, size_t len, const struct object_state *st)
{
	struct ctx *c = ud;
	struct known *k;

	if (c->n_known % 64 == 0) {
		struct known *nv = realloc(c->known, (c->n_known + 64) * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		c->known = nv;
	}
	k = &c->known[c->n_known];
	memset(k, 0, sizeof(*k));
	object_state_init(&k->st);
	k->path = strndup(path, len);
	if (!k->path)
		return -ENOMEM;
	k->len = len;
	k->present = st != NULL;
	c->n_known++;
	return st ? object_state_copy(&k->st, st) : 0;
}

static void known_release(struct ctx *c)
{
	for (size_t i = 0; i < c->n_known; i++) {
		free(c->known[i].path);
		object_state_release(&c->known[i].st);
	}
	free(c->known);
	c->known = NULL;
	c->n_known = c->known_at = 0;
}

/*
 * An observation for an object that is neither on disk nor in the baseline: if it was
 * last seen present, it has since been removed.  Either way it leaves the layer.
 */
static int known_vanished(struct ctx *c, struct known *k)
{
	struct scan_item it = { .path = k->path, .path_len = k->len };
	const struct rule *rule = policy_decide(c->o->policy, k->path, k->len);
	struct engine_event ev;
	int r;

	object_state_init(&it.cur);
	object_state_init(&it.base);
	if (!k->present || !policy_selected(rule))
		return store_observed_drop(c->o->store, c->o->host_id, k->path, k->len);
	r = record_change(c, &it, rule, &k->st, true, NULL, &ev);
	if (r == 1 && c->o->report_changes && c->report) {
		r = store_tx_commit(c->o->store);
		if (r == 0)
			r = c->report(c->ud, &ev);
	}
	return r < 0 ? r : 0;
}

/* Advances the layer to path: entries before it vanished; returns the one at path. */
static int known_seek(struct ctx *c, const char *path, size_t len, struct known **ret)
{
	*ret = NULL;
	while (c->known_at < c->n_known) {
		struct known *k = &c->known[c->known_at];
		int cmp = path ? path_cmp(k->path, k->len, path, len) : -1;

		if (cmp > 0)
			break;
		c->known_at++;
		if (cmp == 0) {
			*ret = k;
			break;
		}
		/* below a directory that could not be read: not seen is not gone */
		if (c->skip && k->len > c->skip_len && memcmp(k->path, c->skip, c->skip_len) == 0 &&
		    (k->path[c->skip_len] == '/' || c->skip_len == 1))
			continue;
		int r = known_vanished(c, k);

		if (r < 0)
			return r;
	}
	return 0;
}

/* The difference from the baseline, reported (not recorded) for `vigil check`. */
static int report_difference(struct ctx *c, enum engine_event_kind kind, const struct scan_item *it,
			     uint32_t changed, const struct rule *rule,
			     const struct engine_event *recorded)
{
	struct engine_event ev;
	char *text = NULL;
	int r;

	if (!c->report || c->o->report_changes)
		return 0;
	if (recorded && recorded->kind == kind && recorded->before == &it->base &&
	    recorded->changed == changed)
		return c->report(c->ud, recorded); /* the change is the difference */
	event_init(&ev, kind, it, changed, rule);
	ev.before = it->has_base ? &it->base : NULL;
	ev.after = it->has_cur ? &it->cur : NULL;
	r = uuid7_new(ev.uuid);
	if (r == 0 && rule && rule->diff)
		r = text_diff(c, it, true, &ev, &text);
	free(text);
	if (r == 0)
		r = build_json(c, &ev, NULL);
	return r < 0 ? r : c->report(c->ud, &ev);
}

static int on_init_item(void *ud, struct scan_item *it)
{
	struct ctx *c = ud;
	int r;

	if (it->err) {
		c->res->errors++;
		r = raise_event(c, ENGINE_ERROR, it, it->rule);
		if (r < 0)
			return r;
		if (!it->has_cur)
			return 0;
	}
	if (!it->has_cur)
		return 0;
	if (it->cur.unstable) {
		c->res->unstable++;
		r = raise_event(c, ENGINE_UNSTABLE, it, it->rule);
		if (r < 0)
			return r;
	}
	c->res->objects++;
	r = store_baseline_put(c->o->store, c->o->host_id, it->path, it->path_len, &it->cur);
	if (r == 0 && it->rule && it->rule->diff && it->cur.type == OBJ_FILE) {
		_cleanup_free_ char *path = strndup(it->path, it->path_len);
		_cleanup_free_ char *text = NULL;

		r = path ? file_text(path, &text) : -ENOMEM;
		if (r == 0 && text)
			r = text_put(c, it, 0, text);
	}
	if (r < 0)
		c->store_err = r;
	return r;
}

static int on_check_item(void *ud, struct scan_item *it)
{
	struct ctx *c = ud;
	const struct rule *rule = it->rule;
	struct engine_event rec;
	struct known *k;
	const struct object_state *last;
	int r, kind = -1;
	uint32_t d = 0;
	bool recorded = false;

	if (c->o->progress && (c->res->objects & 4095) == 4095) {
		r = c->o->progress(c->o->progress_ud);
		if (r < 0)
			return -ECANCELED;
	}
	if (c->skip && !(it->path_len > c->skip_len && memcmp(it->path, c->skip, c->skip_len) == 0 &&
			 (it->path[c->skip_len] == '/' || c->skip_len == 1))) {
		free(c->skip);
		c->skip = NULL;
	}
	r = known_seek(c, it->path, it->path_len, &k);
	if (r < 0)
		return r;
	if (it->err && !it->err_below && it->err_op && strcmp(it->err_op, "opendir") == 0 &&
	    !c->skip) {
		c->skip = strndup(it->path, it->path_len);
		if (!c->skip)
			return -ENOMEM;
		c->skip_len = it->path_len;
	}
	if (it->err) {
		c->res->errors++;
		r = raise_event(c, ENGINE_ERROR, it,
				rule ? rule : policy_decide(c->o->policy, it->path, it->path_len));
		/* what could be seen of it (its metadata) is still compared below; what
		 * could not be seen at all is neither compared nor called removed */
		if (r < 0 || !it->has_cur || !rule)
			return r;
	}
	if (it->has_cur) {
		c->res->objects++;
		if (it->cur.unstable) {
			c->res->unstable++;
			r = raise_event(c, ENGINE_UNSTABLE, it, rule);
			if (r < 0)
				return r;
		}
	}
	if (!it->has_cur && !rule) {
		/* not seen by the walk: gone, or no longer selected by the rules */
		rule = policy_decide(c->o->policy, it->path, it->path_len);
		if (!policy_selected(rule)) {
			c->res->unmonitored++;
			return 0;
		}
	}
	if (!rule)
		return 0;
	/* the change since the last known state: recorded once */
	last = k ? (k->present ? &k->st : NULL) : it->has_base ? &it->base : NULL;
	r = record_change(c, it, rule, last, k != NULL, NULL, &rec);
	if (r < 0)
		return r;
	recorded = r == 1;
	if (recorded) {
		r = store_tx_commit(c->o->store);
		if (r < 0) {
			c->store_err = r;
			return r;
		}
		/* an authorized change moved the baseline: shown, but no difference is left */
		if (c->report && (c->o->report_changes || rec.authorized)) {
			r = c->report(c->ud, &rec);
			if (r < 0)
				return r;
		}
		if (rec.authorized)
			return 0;
	}
	/* the difference from the baseline: reported every time */
	if (it->has_cur && !it->has_base)
		kind = ENGINE_ADDED;
	else if (!it->has_cur && it->has_base)
		kind = ENGINE_REMOVED;
	else if (it->has_cur && it->has_base &&
		 (d = object_state_diff(&it->base, &it->cur, rule->attrs, rule->growing)))
		kind = ENGINE_MODIFIED;
	if (kind < 0)
		return 0;
	if (kind == ENGINE_ADDED)
		c->res->added++;
	else if (kind == ENGINE_REMOVED)
		c->res->removed++;
	else
		c->res->modified++;
	return report_difference(c, (enum engine_event_kind)kind, it, d, rule,
				 recorded ? &rec : NULL);
}

static int run_json(struct ctx *c, struct buf *b, const char *kind, bool counts)
{
	struct json_writer w;

	jw_init(&w, b);
	jw_obj_open(&w);
	jw_key(&w, "run");
	jw_obj_open(&w);
	jw_key(&w, "id");
	jw_str(&w, c->res->run_uuid);
	jw_key(&w, "kind");
	jw_str(&w, kind);
	jw_key(&w, "full");
	jw_bool(&w, c->o->full);
	jw_key(&w, "host");
	jw_str_bytes(&w, c->o->host_name, strlen(c->o->host_name));
	if (c->o->n_under && !c->init) {
		jw_key(&w, "under");
		jw_arr_open(&w);
		for (size_t i = 0; i < c->o->n_under; i++)
			jw_str_bytes(&w, c->o->under[i], strlen(c->o->under[i]));
		jw_arr_close(&w);
	}
	if (counts) {
		static const char *const names[] = { "objects",	 "added",    "removed",
						     "modified", "errors",   "unstable",
						     "unmonitored", "hashed", "recorded" };
		const uint64_t vals[] = { c->res->objects,     c->res->added,  c->res->removed,
					  c->res->modified,    c->res->errors, c->res->unstable,
					  c->res->unmonitored, c->res->hashed, c->res->recorded };

		uint64_t files = c->res->objects;

		for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
			jw_key(&w, names[i]);
			jw_u64(&w, vals[i]);
		}
		/* E-01: the objects examined by class, classes with none left out */
		jw_key(&w, "classes");
		jw_obj_open(&w);
		for (size_t i = 0; i < OBJECT_KINDS_N; i++) {
			if (!c->res->kind_objects[i])
				continue;
			jw_key(&w, object_kinds[i]);
			jw_u64(&w, c->res->kind_objects[i]);
			files -= c->res->kind_objects[i];
		}
		if (files) {
			jw_key(&w, "file");
			jw_u64(&w, files);
		}
		jw_obj_close(&w);
	}
	jw_obj_close(&w);
	jw_obj_close(&w);
	return w.err;
}

static int journal_run(struct ctx *c, const char *type, const char *kind, bool counts)
{
	struct buf b;
	int r;

	if (!c->o->journal)
		return 0;
	buf_init(&b, 0);
	r = run_json(c, &b, kind, counts);
	if (r == 0)
		r = journal_append(c->o->journal, type, b.data, NULL);
	buf_release(&b);
	return r;
}

static int start_run(struct ctx *c, const char *kind, struct store_run *run)
{
	int r;

	memset(run, 0, sizeof(*run));
	r = uuid7_new(c->res->run_uuid);
	if (r < 0)
		return r;
	memcpy(run->uuid, c->res->run_uuid, sizeof(run->uuid));
	run->kind = kind;
	run->full = c->o->full;
	run->started_ns = c->res->started_ns = clock_now_ns();
	r = store_run_begin(c->o->store, c->o->host_id, run, &c->run_id);
	if (r == 0)
		r = journal_run(c, "run.started", kind, false);
	if (r == 0)
		r = store_tx_commit(c->o->store);
	return r;
}

static int finish_run(struct ctx *c, struct store_run *run, int status)
{
	run->finished_ns = c->res->finished_ns = clock_now_ns();
	run->objects = c->res->objects;
	run->added = c->res->added;
	run->removed = c->res->removed;
	run->modified = c->res->modified;
	run->errors = c->res->errors;
	run->status = status;
	if (c->o->journal) {
		int r = journal_run(c, c->init ? "baseline.created" : "run.finished", run->kind, true);

		if (r < 0)
			return r;
	}
	return store_run_finish(c->o->store, c->run_id, run);
}

static int run_scan(struct ctx *c, const struct scan_baseline *bl, scan_emit_fn fn,
		    const char *const *roots, size_t n_roots)
{
	struct scan_opts so = {
		.policy = c->o->policy,
		.workers = c->o->workers,
		.full = c->o->full,
		.one_filesystem = c->o->one_filesystem,
		.hash_attempts = c->o->hash_attempts,
		.baseline = bl,
		.hooks = c->o->hooks,
		.roots = roots,
		.n_roots = n_roots,
	};
	struct scan_stats st = { 0 };
	int r = scan_run(&so, fn, c, &st);

	c->res->hashed += st.hashed;
	c->res->bytes += st.bytes;
	return r;
}

static void ctx_init(struct ctx *c, const struct engine_opts *o, engine_report_fn report,
		     void *ud, struct engine_result *ret)
{
	*c = (struct ctx){ .o = o, .report = report, .ud = ud, .res = ret };
	c->source = o->source ? o->source : "check";
	c->run_kind = o->run_kind ? o->run_kind : "check";
	buf_init(&c->json, 16u * 1024 * 1024);
	buf_init(&c->evidence, 1024u * 1024);
	buf_init(&c->diff, 4 * COLL_TEXT_MAX);
}

int engine_init(const struct engine_opts *o, engine_report_fn report, void *ud,
		struct engine_result *ret)
{
	struct ctx c;
	struct store_run run;
	int r;

	memset(ret, 0, sizeof(*ret));
	ctx_init(&c, o, report, ud, ret);
	c.init = true;
	r = start_run(&c, "init", &run);
	if (r == 0)
		r = store_baseline_begin(o->store, o->host_id);
	if (r == 0)
		r = run_scan(&c, NULL, on_init_item, NULL, 0);
	if (r == 0)
		r = eng_collect(&c);
	if (r == 0)
		r = store_baseline_finish(o->store, o->host_id, clock_now_ns());
	else
		store_baseline_abort(o->store);
	if (r == 0)
		r = finish_run(&c, &run, ret->errors ? 14 : 0);
	buf_release(&c.json);
	buf_release(&c.evidence);
	buf_release(&c.diff);
	return r;
}

static int cursor_next(void *ud, const char **p, size_t *n, struct object_state **s)
{
	return store_cursor_next(ud, p, n, s);
}

/* Checks what is at or below path (NULL: everything the policy selects). */
static int check_subtree(struct ctx *c, const char *path)
{
	struct store_cursor *cur = NULL;
	struct scan_baseline bl;
	size_t len = path ? strlen(path) : 0;
	int r;

	r = path ? store_cursor_new_under(c->o->store, c->o->host_id, path, len, &cur)
		 : store_cursor_new(c->o->store, c->o->host_id, &cur);
	if (r == 0)
		r = store_observed_each(c->o->store, c->o->host_id, path, len, known_add, c);
	if (r == 0) {
		bl.next = cursor_next;
		bl.ud = cur;
		r = run_scan(c, &bl, on_check_item, path ? &path : NULL, path ? 1 : 0);
	}
	/* what the layer holds beyond the last item */
	if (r == 0)
		r = known_seek(c, NULL, 0, &(struct known *){ NULL });
	if (r == 0)
		r = store_tx_commit(c->o->store);
	known_release(c);
	free(c->skip);
	c->skip = NULL;
	store_cursor_free(cur);
	return r;
}

int engine_check(const struct engine_opts *o, engine_report_fn report, void *ud,
		 struct engine_result *ret)
{
	struct ctx c;
	struct store_baseline_info info;
	struct store_run run;
	int r, status;

	memset(ret, 0, sizeof(*ret));
	r = store_baseline_info(o->store, o->host_id, &info);
	if (r < 0)
		return r;
	if (!info.exists || !info.complete)
		return -ENODATA;
	ctx_init(&c, o, report, ud, ret);
	r = start_run(&c, c.run_kind, &run);
	if (r == 0 && o->n_under == 0 && !o->no_files)
		r = check_subtree(&c, NULL);
	for (size_t i = 0; r == 0 && i < o->n_under; i++)
		r = check_subtree(&c, o->under[i]);
	/* collected objects: in whole checks only (--under limits a check to files) */
	if (r == 0 && o->n_under == 0)
		r = eng_collect(&c);
	if (r == 0) {
		status = (ret->added ? 1 : 0) | (ret->removed ? 2 : 0) | (ret->modified ? 4 : 0);
		if (ret->errors)
			status = 14;
		r = finish_run(&c, &run, status);
	} else if (r == -ECANCELED) {
		/* stopped on request: what it recorded stays, and the run says it was cut */
		int e = store_tx_commit(o->store);

		if (e == 0)
			e = finish_run(&c, &run, 130);
		if (e < 0)
			r = e;
	}
	buf_release(&c.json);
	buf_release(&c.evidence);
	buf_release(&c.diff);
	return r;
}

/* ---- the watcher's path ---- */

struct pending_report {
	enum engine_event_kind kind;
	char uuid[UUID_STR_LEN];
	char *path;
	size_t path_len;
	uint32_t changed;
	int64_t detected_ns;
	char *json;
	bool authorized;
	char record_uuid[UUID_STR_LEN];
};

struct engine_watch {
	struct ctx c;
	struct engine_opts o;
	struct engine_result res;
	struct store_run run;
	struct scan_observer *ob;
	struct pending_report *pending;
	size_t n_pending, cap_pending;
	bool in_links;
};

int engine_watch_begin(const struct engine_opts *o, struct engine_watch **ret)
{
	struct engine_watch *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->o = *o;
	w->o.run_kind = "watch";
	ctx_init(&w->c, &w->o, NULL, NULL, &w->res);
	r = scan_observer_new(o->hash_attempts, &w->ob);
	if (r == 0)
		r = start_run(&w->c, "watch", &w->run);
	if (r < 0) {
		scan_observer_free(w->ob);
		buf_release(&w->c.json);
		buf_release(&w->c.evidence);
		buf_release(&w->c.diff);
		free(w);
		return r;
	}
	*ret = w;
	return 0;
}

int engine_watch_collect(struct engine_watch *w, engine_report_fn report, void *ud)
{
	const char *source = w->c.source;
	int r = engine_watch_flush(w, report, ud);

	if (r < 0)
		return r;
	w->c.report = report;
	w->c.ud = ud;
	w->c.source = "collect";
	w->o.report_changes = true;
	r = eng_collect(&w->c);
	w->c.report = NULL;
	w->c.ud = NULL;
	w->c.source = source;
	w->o.report_changes = false;
	return r;
}

void engine_watch_set_policy(struct engine_watch *w, const struct policy *p,
			     const struct coll_opts *co)
{
	w->o.collect = co;
	w->o.policy = p;
}

int64_t engine_watch_run_id(const struct engine_watch *w)
{
	return w->c.run_id;
}

const char *engine_watch_run_uuid(const struct engine_watch *w)
{
	return w->res.run_uuid;
}

static int pending_add(struct engine_watch *w, const struct engine_event *ev)
{
	struct pending_report *p;

	if (w->n_pending == w->cap_pending) {
		size_t n = w->cap_pending ? w->cap_pending * 2 : 64;
		struct pending_report *nv = realloc(w->pending, n * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		w->pending = nv;
		w->cap_pending = n;
	}
	p = &w->pending[w->n_pending];
	*p = (struct pending_report){
		.kind = ev->kind,
		.path_len = ev->path_len,
		.changed = ev->changed,
		.detected_ns = ev->detected_ns,
	};
	memcpy(p->uuid, ev->uuid, sizeof(p->uuid));
	p->authorized = ev->authorized;
	memcpy(p->record_uuid, ev->record_uuid, sizeof(p->record_uuid));
	p->path = strndup(ev->path, ev->path_len);
	p->json = strdup(ev->json);
	if (!p->path || !p->json) {
		free(p->path);
		free(p->json);
		return -ENOMEM;
	}
	w->n_pending++;
	return 0;
}

static void count_change(struct engine_watch *w, enum engine_event_kind k)
{
	if (k == ENGINE_ADDED)
		w->res.added++;
	else if (k == ENGINE_REMOVED)
		w->res.removed++;
	else
		w->res.modified++;
}

struct links_ctx {
	struct engine_watch *w;
	const struct engine_origin *origin;
};

static int observe_link(void *ud, const char *path, size_t len)
{
	struct links_ctx *lc = ud;
	int r = engine_watch_observe(lc->w, path, len, lc->origin);

	return r == -ENOMEM ? r : 0;
}

int engine_watch_observe(struct engine_watch *w, const char *path, size_t len,
			 const struct engine_origin *origin)
{
	struct ctx *c = &w->c;
	struct scan_item it = { .path = (char *)path, .path_len = len };
	struct object_state obs;
	struct engine_event ev;
	const struct rule *rule = policy_decide(c->o->policy, path, len);
	const struct object_state *last;
	bool had_row = false;
	int r, kr;

	object_state_init(&it.cur);
	object_state_init(&it.base);
	object_state_init(&obs);
	r = store_baseline_get(c->o->store, c->o->host_id, path, len, &it.base);
	if (r < 0)
		return r;
	it.has_base = r == 1;
	kr = store_observed_get(c->o->store, c->o->host_id, path, len, &obs);
	if (kr < 0 && kr != -ENOENT) {
		r = kr;
		goto out;
	}
	had_row = kr != -ENOENT;
	last = had_row ? (kr == 1 ? &obs : NULL) : it.has_base ? &it.base : NULL;
	r = 0;
	if (!policy_selected(rule))
		goto out; /* not monitored (any more): nothing to say about it */
	it.rule = rule;
	r = scan_observe(w->ob, &it);
	if (r < 0)
		goto out;
	if (it.err) {
		w->res.errors++;
		event_init(&ev, ENGINE_ERROR, &it, 0, rule);
		ev.source = origin ? origin->source : NULL;
		r = uuid7_new(ev.uuid);
		if (r == 0)
			r = build_json(c, &ev, origin);
		if (r == 0)
			r = eng_record(c, &ev);
		if (r == 0)
			r = pending_add(w, &ev);
		if (r == 0)
			r = 1;
		goto out;
	}
	r = record_change(c, &it, rule, last, had_row, origin, &ev);
	if (r == 1 && !w->in_links) {
		/* a hard link made or removed changes the link count of the other names:
		 * those in the same directory are read now, the rest by the next check */
		const struct object_state *s = ev.kind == ENGINE_REMOVED ? last : &it.cur;

		if (s && s->type == OBJ_FILE && (s->nlink > 1 || (last && last->nlink > 1))) {
			struct links_ctx lc = { .w = w, .origin = origin };
			int e;

			r = pending_add(w, &ev);
			if (r < 0)
				goto out;
			count_change(w, ev.kind);
			w->in_links = true;
			e = scan_dir_links(path, len, s->ino, observe_link, &lc);
			w->in_links = false;
			/* best effort: what could not be listed, the next check compares */
			r = e == -ENOMEM ? e : 1;
			goto out;
		}
	}
	if (r == 1) {
		count_change(w, ev.kind);
		r = pending_add(w, &ev);
		if (r == 0)
			r = 1;
	}
out:
	object_state_release(&it.cur);
	object_state_release(&it.base);
	object_state_release(&obs);
	return r;
}

int engine_watch_flush(struct engine_watch *w, engine_report_fn report, void *ud)
{
	int r = store_tx_commit(w->c.o->store);

	for (size_t i = 0; i < w->n_pending; i++) {
		struct pending_report *p = &w->pending[i];
		struct engine_event ev = {
			.kind = p->kind,
			.path = p->path,
			.path_len = p->path_len,
			.changed = p->changed,
			.detected_ns = p->detected_ns,
			.json = p->json,
			.recorded = true,
			.authorized = p->authorized,
		};

		memcpy(ev.uuid, p->uuid, sizeof(ev.uuid));
		memcpy(ev.record_uuid, p->record_uuid, sizeof(ev.record_uuid));
		/* nothing is told before it is committed */
		if (r == 0 && report)
			r = report(ud, &ev);
		free(p->path);
		free(p->json);
	}
	w->n_pending = 0;
	/* names may have changed with the files that define them */
	scan_observer_forget_names(w->ob);
	return r;
}

int eng_gap(struct ctx *c, const char *reason, const char *scope, const char *detail,
	    char uuid_out[UUID_STR_LEN])
{
	struct json_writer jw;
	struct buf b;
	char uuid[UUID_STR_LEN];
	int64_t now = clock_now_ns();
	int r;

	r = uuid7_new(uuid);
	if (r < 0)
		return r;
	buf_init(&b, 0);
	jw_init(&jw, &b);
	jw_obj_open(&jw);
	jw_key(&jw, "gap");
	jw_obj_open(&jw);
	jw_key(&jw, "id");
	jw_str(&jw, uuid);
	jw_key(&jw, "host");
	jw_str_bytes(&jw, c->o->host_name, strlen(c->o->host_name));
	jw_key(&jw, "reason");
	jw_str(&jw, reason);
	jw_key(&jw, "scope");
	jw_str_bytes(&jw, scope, strlen(scope));
	if (detail) {
		jw_key(&jw, "detail");
		jw_str_bytes(&jw, detail, strlen(detail));
	}
	jw_key(&jw, "time");
	eng_json_time(&jw, now);
	jw_key(&jw, "run");
	jw_str(&jw, c->res->run_uuid);
	jw_obj_close(&jw);
	jw_obj_close(&jw);
	r = jw.err;
	if (r == 0)
		r = store_gap_add(c->o->store, c->o->host_id, uuid, now, reason, scope, detail);
	if (r == 0 && c->o->journal)
		r = journal_append(c->o->journal, "monitor.gap", b.data, NULL);
	if (r == 0 && c->o->gap)
		r = c->o->gap(c->o->recorded_ud, uuid, reason, scope, now);
	if (r == 0)
		r = store_tx_commit(c->o->store);
	buf_release(&b);
	if (r == 0 && uuid_out)
		memcpy(uuid_out, uuid, UUID_STR_LEN);
	return r;
}

int engine_watch_gap(struct engine_watch *w, const char *reason, const char *scope,
		     const char *detail, char uuid_out[UUID_STR_LEN])
{
	return eng_gap(&w->c, reason, scope, detail, uuid_out);
}

int engine_watch_note(struct engine_watch *w, const char *type, const char *fields_json)
{
	int r = 0;

	if (w->c.o->journal)
		r = journal_append(w->c.o->journal, type, fields_json, NULL);
	if (r == 0)
		r = store_tx_commit(w->c.o->store);
	return r;
}

int engine_watch_end(struct engine_watch *w, int status)
{
	int r;

	if (!w)
		return 0;
	if (status == 0) {
		r = engine_watch_flush(w, NULL, NULL);
	} else {
		/* after a failure, what the open transaction holds may be half written */
		store_tx_rollback(w->c.o->store);
		for (size_t i = 0; i < w->n_pending; i++) {
			free(w->pending[i].path);
			free(w->pending[i].json);
		}
		w->n_pending = 0;
		r = 0;
	}
	if (r == 0)
		r = finish_run(&w->c, &w->run, status);
	if (r == 0)
		r = store_tx_commit(w->c.o->store);
	scan_observer_free(w->ob);
	free(w->pending);
	buf_release(&w->c.json);
	buf_release(&w->c.evidence);
	buf_release(&w->c.diff);
	free(w);
	return r;
}

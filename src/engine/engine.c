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
#include "engine/engine.h"
#include "base/banned.h"

struct ctx {
	const struct engine_opts *o;
	engine_report_fn report;
	void *ud;
	struct engine_result *res;
	int64_t run_id;
	bool init;
	struct buf json;
	int store_err;
};

const char *engine_event_name(enum engine_event_kind k)
{
	static const char *const names[] = { "added", "removed", "modified", "error", "unstable" };

	return (unsigned)k < ARRAY_SIZE(names) ? names[k] : "unknown";
}

static void json_time(struct json_writer *w, int64_t ns)
{
	char t[RFC3339_MAX];

	if (time_format_rfc3339(ns, t, sizeof(t)) == 0)
		jw_str(w, t);
	else
		jw_null(w);
}

/* ECS "file" fields of a state. */
static void file_fields(struct json_writer *w, const struct scan_item *it,
			const struct object_state *s)
{
	const char *slash = memrchr(it->path, '/', it->path_len);
	size_t dlen = slash ? (size_t)(slash - it->path) : 0;
	char mode[8];

	jw_key(w, "file");
	jw_obj_open(w);
	jw_key(w, "path");
	jw_str_bytes(w, it->path, it->path_len);
	if (slash) {
		jw_key(w, "name");
		jw_str_bytes(w, slash + 1, it->path_len - dlen - 1);
		jw_key(w, "directory");
		jw_str_bytes(w, it->path, dlen ? dlen : 1);
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
		json_time(w, s->mtime_ns);
		jw_key(w, "ctime");
		json_time(w, s->ctime_ns);
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

static int build_json(struct ctx *c, struct engine_event *ev)
{
	const struct scan_item *it = ev->item;
	const struct object_state *shown = it->has_cur ? &it->cur : it->has_base ? &it->base : NULL;
	struct json_writer w;
	static const char *const ecs_type[] = { "creation", "deletion", "change", "info", "info" };
	static const int sev_num[] = { 1, 2, 3, 4 };

	buf_reset(&c->json);
	jw_init(&w, &c->json);
	jw_obj_open(&w);
	jw_key(&w, "@timestamp");
	json_time(&w, ev->detected_ns);
	jw_key(&w, "event");
	jw_obj_open(&w);
	jw_key(&w, "id");
	jw_str(&w, ev->uuid);
	jw_key(&w, "kind");
	jw_str(&w, ev->kind == ENGINE_ERROR ? "pipeline_error" : "event");
	jw_key(&w, "module");
	jw_str(&w, "vigil");
	jw_key(&w, "dataset");
	jw_str(&w, c->init ? "vigil.init" : "vigil.check");
	jw_key(&w, "category");
	jw_arr_open(&w);
	jw_str(&w, "file");
	jw_arr_close(&w);
	jw_key(&w, "type");
	jw_arr_open(&w);
	jw_str(&w, ecs_type[ev->kind]);
	jw_arr_close(&w);
	jw_key(&w, "action");
	jw_str(&w, engine_event_name(ev->kind));
	if (ev->rule && ev->rule->kind == RULE_SELECT) {
		jw_key(&w, "severity");
		jw_u64(&w, (uint64_t)sev_num[ev->rule->severity]);
	}
	jw_obj_close(&w);
	jw_key(&w, "host");
	jw_obj_open(&w);
	jw_key(&w, "name");
	jw_str_bytes(&w, c->o->host_name, strlen(c->o->host_name));
	jw_obj_close(&w);
	file_fields(&w, it, shown);
	jw_key(&w, "vigil");
	jw_obj_open(&w);
	jw_key(&w, "object");
	{
		struct buf ob;

		buf_init(&ob, SIZE_MAX / 2);
		if (buf_puts(&ob, "file:") == 0 && buf_append(&ob, it->path, it->path_len) == 0)
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
		attr_values(&w, &it->base, ev->changed);
		jw_key(&w, "after");
		attr_values(&w, &it->cur, ev->changed);
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
	if (it->has_cur && it->cur.unstable) {
		jw_key(&w, "unstable");
		jw_bool(&w, true);
	}
	if (ev->rule) {
		jw_key(&w, "rule");
		jw_obj_open(&w);
		jw_key(&w, "file");
		jw_str_bytes(&w, ev->rule->file, strlen(ev->rule->file));
		jw_key(&w, "line");
		jw_u64(&w, ev->rule->line);
		jw_key(&w, "pattern");
		jw_str_bytes(&w, ev->rule->text, strlen(ev->rule->text));
		if (ev->rule->kind == RULE_SELECT) {
			jw_key(&w, "severity");
			jw_str(&w, severity_name(ev->rule->severity));
			jw_key(&w, "tags");
			jw_arr_open(&w);
			for (size_t i = 0; i < ev->rule->n_tags; i++)
				jw_str(&w, ev->rule->tags[i]);
			jw_arr_close(&w);
		}
		jw_obj_close(&w);
	}
	jw_key(&w, "run");
	jw_obj_open(&w);
	jw_key(&w, "id");
	jw_str(&w, c->res->run_uuid);
	jw_key(&w, "kind");
	jw_str(&w, c->init ? "init" : "check");
	jw_key(&w, "full");
	jw_bool(&w, c->o->full);
	jw_obj_close(&w);
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

static int raise_event(struct ctx *c, enum engine_event_kind kind, const struct scan_item *it,
		       uint32_t changed, const struct rule *rule)
{
	struct engine_event ev = {
		.kind = kind,
		.item = it,
		.changed = changed,
		.rule = rule,
		.detected_ns = clock_now_ns(),
	};
	int r;

	r = uuid7_new(ev.uuid);
	if (r < 0)
		return r;
	r = build_json(c, &ev);
	if (r < 0)
		return r;
	if (kind <= ENGINE_MODIFIED && !c->init) {
		r = store_change_add(c->o->store, c->run_id, c->o->host_id, ev.uuid, it->path,
				     it->path_len, engine_event_name(kind), changed, ev.detected_ns,
				     ev.json);
		if (r < 0) {
			c->store_err = r;
			return r;
		}
	}
	r = journal_json(c, kind <= ENGINE_MODIFIED ? "change.detected"
			    : kind == ENGINE_ERROR  ? "object.error"
						    : "object.unstable",
			 ev.json);
	/* recorded and committed before anyone is told */
	if (r == 0)
		r = store_tx_commit(c->o->store);
	if (r < 0) {
		c->store_err = r;
		return r;
	}
	return c->report ? c->report(c->ud, &ev) : 0;
}

static int on_init_item(void *ud, struct scan_item *it)
{
	struct ctx *c = ud;
	int r;

	if (it->err) {
		c->res->errors++;
		r = raise_event(c, ENGINE_ERROR, it, 0, it->rule);
		if (r < 0)
			return r;
		if (!it->has_cur)
			return 0;
	}
	if (!it->has_cur)
		return 0;
	if (it->cur.unstable) {
		c->res->unstable++;
		r = raise_event(c, ENGINE_UNSTABLE, it, 0, it->rule);
		if (r < 0)
			return r;
	}
	c->res->objects++;
	r = store_baseline_put(c->o->store, c->o->host_id, it->path, it->path_len, &it->cur);
	if (r < 0)
		c->store_err = r;
	return r;
}

static int on_check_item(void *ud, struct scan_item *it)
{
	struct ctx *c = ud;
	const struct rule *rule = it->rule;
	int r;

	if (it->err) {
		c->res->errors++;
		r = raise_event(c, ENGINE_ERROR, it, 0,
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
			r = raise_event(c, ENGINE_UNSTABLE, it, 0, rule);
			if (r < 0)
				return r;
		}
	}
	if (it->has_cur && !it->has_base) {
		c->res->added++;
		return raise_event(c, ENGINE_ADDED, it, 0, rule);
	}
	if (!it->has_cur && it->has_base) {
		if (!rule) {
			/* not seen by the walk: gone, or no longer selected by the rules */
			rule = policy_decide(c->o->policy, it->path, it->path_len);
			if (!policy_selected(rule)) {
				c->res->unmonitored++;
				return 0;
			}
		}
		c->res->removed++;
		return raise_event(c, ENGINE_REMOVED, it, 0, rule);
	}
	if (it->has_cur && it->has_base) {
		uint32_t d = object_state_diff(&it->base, &it->cur, rule->attrs, rule->growing);

		if (d) {
			c->res->modified++;
			return raise_event(c, ENGINE_MODIFIED, it, d, rule);
		}
	}
	return 0;
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
	if (counts) {
		static const char *const names[] = { "objects", "added", "removed", "modified",
						     "errors", "unstable", "unmonitored", "hashed" };
		const uint64_t vals[] = { c->res->objects, c->res->added, c->res->removed,
					  c->res->modified, c->res->errors, c->res->unstable,
					  c->res->unmonitored, c->res->hashed };

		for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
			jw_key(&w, names[i]);
			jw_u64(&w, vals[i]);
		}
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

static int run_scan(struct ctx *c, const struct scan_baseline *bl, scan_emit_fn fn)
{
	struct scan_opts so = {
		.policy = c->o->policy,
		.workers = c->o->workers,
		.full = c->o->full,
		.one_filesystem = c->o->one_filesystem,
		.hash_attempts = c->o->hash_attempts,
		.baseline = bl,
		.hooks = c->o->hooks,
	};
	struct scan_stats st = { 0 };
	int r = scan_run(&so, fn, c, &st);

	c->res->hashed = st.hashed;
	c->res->bytes = st.bytes;
	return r;
}

int engine_init(const struct engine_opts *o, engine_report_fn report, void *ud,
		struct engine_result *ret)
{
	struct ctx c = { .o = o, .report = report, .ud = ud, .res = ret, .init = true };
	struct store_run run;
	int r;

	memset(ret, 0, sizeof(*ret));
	buf_init(&c.json, 16u * 1024 * 1024);
	r = start_run(&c, "init", &run);
	if (r == 0)
		r = store_baseline_begin(o->store, o->host_id);
	if (r == 0)
		r = run_scan(&c, NULL, on_init_item);
	if (r == 0)
		r = store_baseline_finish(o->store, o->host_id, clock_now_ns());
	else
		store_baseline_abort(o->store);
	if (r == 0)
		r = finish_run(&c, &run, ret->errors ? 14 : 0);
	buf_release(&c.json);
	return r;
}

static int cursor_next(void *ud, const char **p, size_t *n, struct object_state **s)
{
	return store_cursor_next(ud, p, n, s);
}

int engine_check(const struct engine_opts *o, engine_report_fn report, void *ud,
		 struct engine_result *ret)
{
	struct ctx c = { .o = o, .report = report, .ud = ud, .res = ret };
	struct store_baseline_info info;
	struct store_cursor *cur = NULL;
	struct scan_baseline bl;
	struct store_run run;
	int r, status;

	memset(ret, 0, sizeof(*ret));
	r = store_baseline_info(o->store, o->host_id, &info);
	if (r < 0)
		return r;
	if (!info.exists || !info.complete)
		return -ENODATA;
	buf_init(&c.json, 16u * 1024 * 1024);
	r = store_cursor_new(o->store, o->host_id, &cur);
	if (r == 0)
		r = start_run(&c, "check", &run);
	if (r == 0) {
		bl.next = cursor_next;
		bl.ud = cur;
		r = run_scan(&c, &bl, on_check_item);
	}
	if (r == 0) {
		status = (ret->added ? 1 : 0) | (ret->removed ? 2 : 0) | (ret->modified ? 4 : 0);
		if (ret->errors)
			status = 14;
		r = finish_run(&c, &run, status);
	}
	store_cursor_free(cur);
	buf_release(&c.json);
	return r;
}

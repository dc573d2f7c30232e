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
		json_str(w, t);
	else
		json_null(w);
}

/* ECS "file" fields of a state. */
static void file_fields(struct json_writer *w, const struct scan_item *it,
			const struct object_state *s)
{
	const char *slash = memrchr(it->path, '/', it->path_len);
	size_t dlen = slash ? (size_t)(slash - it->path) : 0;
	char mode[8];

	json_key(w, "file");
	json_obj_open(w);
	json_key(w, "path");
	json_str_bytes(w, it->path, it->path_len);
	if (slash) {
		json_key(w, "name");
		json_str_bytes(w, slash + 1, it->path_len - dlen - 1);
		json_key(w, "directory");
		json_str_bytes(w, it->path, dlen ? dlen : 1);
	}
	if (s) {
		json_key(w, "type");
		json_str(w, obj_type_name(s->type));
		snprintf(mode, sizeof(mode), "%04o", s->mode);
		json_key(w, "mode");
		json_str(w, mode);
		{
			char n[24];

			snprintf(n, sizeof(n), "%u", s->uid);
			json_key(w, "uid");
			json_str(w, n);
			snprintf(n, sizeof(n), "%u", s->gid);
			json_key(w, "gid");
			json_str(w, n);
			snprintf(n, sizeof(n), "%llu", (unsigned long long)s->ino);
			json_key(w, "inode");
			json_str(w, n);
		}
		if (s->owner) {
			json_key(w, "owner");
			json_str_bytes(w, s->owner, strlen(s->owner));
		}
		if (s->group) {
			json_key(w, "group");
			json_str_bytes(w, s->group, strlen(s->group));
		}
		json_key(w, "size");
		json_u64(w, s->size);
		json_key(w, "mtime");
		json_time(w, s->mtime_ns);
		json_key(w, "ctime");
		json_time(w, s->ctime_ns);
		if (s->type == OBJ_SYMLINK && (s->attrs & ATTR_BIT(ATTR_TARGET))) {
			json_key(w, "target_path");
			json_str_bytes(w, s->target.p, s->target.n);
		}
		if (s->type == OBJ_FILE && (s->attrs & ATTR_MASK_HASHES)) {
			json_key(w, "hash");
			json_obj_open(w);
			for (int a = ATTR_SHA256; a <= ATTR_BLAKE2B512; a++) {
				if (!(s->attrs & ATTR_BIT(a)))
					continue;
				/* ECS names: sha256, sha512; others keep Vigil's names */
				json_key(w, a == ATTR_SHA3_256	   ? "sha3_256"
					    : a == ATTR_BLAKE2B512 ? "blake2b_512"
								   : attr_name((enum attr)a));
				object_attr_json(w, s, (enum attr)a);
			}
			json_obj_close(w);
		}
	}
	json_obj_close(w);
}

static void attr_values(struct json_writer *w, const struct object_state *s, uint32_t mask)
{
	json_obj_open(w);
	for (int a = 0; a < ATTR__COUNT; a++) {
		if (!(mask & ATTR_BIT(a)))
			continue;
		json_key(w, attr_name((enum attr)a));
		object_attr_json(w, s, (enum attr)a);
	}
	json_obj_close(w);
}

static int build_json(struct ctx *c, struct engine_event *ev)
{
	const struct scan_item *it = ev->item;
	const struct object_state *shown = it->has_cur ? &it->cur : it->has_base ? &it->base : NULL;
	struct json_writer w;
	static const char *const ecs_type[] = { "creation", "deletion", "change", "info", "info" };
	static const int sev_num[] = { 1, 2, 3, 4 };

	buf_reset(&c->json);
	json_writer_init(&w, &c->json);
	json_obj_open(&w);
	json_key(&w, "@timestamp");
	json_time(&w, ev->detected_ns);
	json_key(&w, "event");
	json_obj_open(&w);
	json_key(&w, "id");
	json_str(&w, ev->uuid);
	json_key(&w, "kind");
	json_str(&w, ev->kind == ENGINE_ERROR ? "pipeline_error" : "event");
	json_key(&w, "module");
	json_str(&w, "vigil");
	json_key(&w, "dataset");
	json_str(&w, c->init ? "vigil.init" : "vigil.check");
	json_key(&w, "category");
	json_arr_open(&w);
	json_str(&w, "file");
	json_arr_close(&w);
	json_key(&w, "type");
	json_arr_open(&w);
	json_str(&w, ecs_type[ev->kind]);
	json_arr_close(&w);
	json_key(&w, "action");
	json_str(&w, engine_event_name(ev->kind));
	if (ev->rule && ev->rule->kind == RULE_SELECT) {
		json_key(&w, "severity");
		json_u64(&w, (uint64_t)sev_num[ev->rule->severity]);
	}
	json_obj_close(&w);
	json_key(&w, "host");
	json_obj_open(&w);
	json_key(&w, "name");
	json_str_bytes(&w, c->o->host_name, strlen(c->o->host_name));
	json_obj_close(&w);
	file_fields(&w, it, shown);
	json_key(&w, "vigil");
	json_obj_open(&w);
	json_key(&w, "object");
	{
		struct buf ob;

		buf_init(&ob, SIZE_MAX / 2);
		if (buf_puts(&ob, "file:") == 0 && buf_append(&ob, it->path, it->path_len) == 0)
			json_str_bytes(&w, ob.data, ob.len);
		else
			json_null(&w);
		buf_release(&ob);
	}
	json_key(&w, "change");
	json_str(&w, engine_event_name(ev->kind));
	if (ev->kind == ENGINE_MODIFIED) {
		json_key(&w, "attributes");
		json_arr_open(&w);
		for (int a = 0; a < ATTR__COUNT; a++)
			if (ev->changed & ATTR_BIT(a))
				json_str(&w, attr_name((enum attr)a));
		json_arr_close(&w);
		json_key(&w, "before");
		attr_values(&w, &it->base, ev->changed);
		json_key(&w, "after");
		attr_values(&w, &it->cur, ev->changed);
	}
	if (ev->kind == ENGINE_ERROR) {
		json_key(&w, "error");
		json_obj_open(&w);
		json_key(&w, "operation");
		json_str(&w, it->err_op ? it->err_op : "read");
		json_key(&w, "code");
		json_i64(&w, -it->err);
		json_key(&w, "message");
		json_str(&w, strerror(-it->err));
		json_obj_close(&w);
	}
	if (it->has_cur && it->cur.unstable) {
		json_key(&w, "unstable");
		json_bool(&w, true);
	}
	if (ev->rule) {
		json_key(&w, "rule");
		json_obj_open(&w);
		json_key(&w, "file");
		json_str_bytes(&w, ev->rule->file, strlen(ev->rule->file));
		json_key(&w, "line");
		json_u64(&w, ev->rule->line);
		json_key(&w, "pattern");
		json_str_bytes(&w, ev->rule->text, strlen(ev->rule->text));
		if (ev->rule->kind == RULE_SELECT) {
			json_key(&w, "severity");
			json_str(&w, severity_name(ev->rule->severity));
			json_key(&w, "tags");
			json_arr_open(&w);
			for (size_t i = 0; i < ev->rule->n_tags; i++)
				json_str(&w, ev->rule->tags[i]);
			json_arr_close(&w);
		}
		json_obj_close(&w);
	}
	json_key(&w, "run");
	json_obj_open(&w);
	json_key(&w, "id");
	json_str(&w, c->res->run_uuid);
	json_key(&w, "kind");
	json_str(&w, c->init ? "init" : "check");
	json_key(&w, "full");
	json_bool(&w, c->o->full);
	json_obj_close(&w);
	json_obj_close(&w);
	json_obj_close(&w);
	ev->json = c->json.data;
	return w.err;
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
	if (kind <= ENGINE_MODIFIED) {
		/* recorded before anyone is told */
		r = store_change_add(c->o->store, c->run_id, c->o->host_id, ev.uuid, it->path,
				     it->path_len, engine_event_name(kind), changed, ev.detected_ns,
				     ev.json);
		if (r < 0) {
			c->store_err = r;
			return r;
		}
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
	return store_run_begin(c->o->store, c->o->host_id, run, &c->run_id);
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
		r = store_run_finish(o->store, c.run_id, &run); /* the run row must exist now */
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

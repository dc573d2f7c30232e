/*
 * Collected objects through the engine: what each collector returns is compared with
 * the kind's baseline and last known states exactly as the file walk's items are, and
 * every change goes through the same reconciliation, store, journal and alert hook.
 * At init the items become the kind's baseline.
 *
 * A collector that fails is a monitoring gap (reason "collector", scope "KIND:"), never
 * a crash and never a reason to call its objects removed: when it fails, whatever it
 * did return is still compared, and nothing of the kind is taken for removed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/timeutil.h"
#include "collect/collect.h"
#include "engine/engine-int.h"
#include "base/banned.h"

/* ---- the members of a canonical JSON object ---- */

struct member {
	const char *key, *val;
	size_t key_len, val_len;
};

/* The end of the JSON string starting at p ('"'), just past its closing quote. */
static const char *string_end(const char *p)
{
	for (p++; *p && *p != '"'; p++)
		if (*p == '\\' && p[1])
			p++;
	return *p ? p + 1 : NULL;
}

/* The end of the JSON value starting at p. */
static const char *value_end(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (*p == '"') {
			p = string_end(p);
			if (!p)
				return NULL;
			if (depth == 0)
				return p;
			p--;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			if (depth == 0)
				return p;
			if (--depth == 0)
				return p + 1;
		} else if (depth == 0 && *p == ',') {
			return p;
		}
	}
	return depth == 0 ? p : NULL;
}

/* Splits a canonical JSON object into its members (sorted, as canonical JSON is).
 * Returns the count, or -EINVAL. */
static int members_of(const char *json, struct member *out, size_t max)
{
	const char *p = json;
	size_t n = 0;

	if (!p || *p++ != '{')
		return -EINVAL;
	while (*p && *p != '}') {
		const char *k = p, *ke, *ve;

		if (*k != '"' || !(ke = string_end(k)) || *ke != ':')
			return -EINVAL;
		ve = value_end(ke + 1);
		if (!ve || ve == ke + 1)
			return -EINVAL;
		if (n == max)
			return -E2BIG;
		out[n++] = (struct member){ k + 1, ke + 1, (size_t)(ke - k - 2),
					    (size_t)(ve - ke - 1) };
		p = *ve == ',' ? ve + 1 : ve;
	}
	return (int)n;
}

#define MEMBERS_MAX 256

int engine_state_member(const char *state, const char *name, size_t name_len,
			const char **ret_val, size_t *ret_len)
{
	struct member *m;
	int n, r = -ENOENT;

	if (!state)
		return -ENOENT;
	m = calloc(MEMBERS_MAX, sizeof(*m));
	if (!m)
		return -ENOMEM;
	n = members_of(state, m, MEMBERS_MAX);
	for (int i = 0; i < n; i++)
		if (m[i].key_len == name_len && memcmp(m[i].key, name, name_len) == 0) {
			*ret_val = m[i].val;
			*ret_len = m[i].val_len;
			r = 0;
			break;
		}
	free(m);
	return r;
}

/* The names of the members that differ between two states, as a JSON array. */
static int changed_members(const char *a, const char *b, struct buf *out)
{
	struct member *ma = calloc(MEMBERS_MAX, sizeof(*ma)), *mb = calloc(MEMBERS_MAX, sizeof(*mb));
	int na, nb, i = 0, j = 0, r = 0;
	bool first = true;

	if (!ma || !mb) {
		r = -ENOMEM;
		goto out;
	}
	na = members_of(a, ma, MEMBERS_MAX);
	nb = members_of(b, mb, MEMBERS_MAX);
	if (na < 0 || nb < 0) {
		r = na < 0 ? na : nb;
		goto out;
	}
	r = buf_putc(out, '[');
	while (r == 0 && (i < na || j < nb)) {
		int cmp;
		const struct member *m;

		if (i == na)
			cmp = 1;
		else if (j == nb)
			cmp = -1;
		else {
			size_t l = ma[i].key_len < mb[j].key_len ? ma[i].key_len : mb[j].key_len;

			cmp = memcmp(ma[i].key, mb[j].key, l);
			if (cmp == 0)
				cmp = ma[i].key_len < mb[j].key_len ? -1 : ma[i].key_len > mb[j].key_len;
		}
		m = cmp <= 0 ? &ma[i] : &mb[j];
		if (cmp != 0 || ma[i].val_len != mb[j].val_len ||
		    memcmp(ma[i].val, mb[j].val, ma[i].val_len) != 0) {
			r = buf_printf(out, "%s\"%.*s\"", first ? "" : ",", (int)m->key_len, m->key);
			first = false;
		}
		if (cmp <= 0)
			i++;
		if (cmp >= 0)
			j++;
	}
	if (r == 0)
		r = buf_putc(out, ']');
out:
	free(ma);
	free(mb);
	return r;
}

/* ---- one kind ---- */

struct layer_row {
	char *key;
	bool present;
	char *state, *text;
};

struct layer {
	struct layer_row *rows;
	size_t n, cap;
};

static int layer_add(void *ud, const struct store_collected *sc)
{
	struct layer *l = ud;
	struct layer_row *row;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct layer_row *nv = realloc(l->rows, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		l->rows = nv;
		l->cap = cap;
	}
	row = &l->rows[l->n];
	*row = (struct layer_row){ .present = sc->present };
	row->key = strdup(sc->key);
	row->state = sc->state ? strdup(sc->state) : NULL;
	row->text = sc->text ? strdup(sc->text) : NULL;
	l->n++;
	if (!row->key || (sc->state && !row->state) || (sc->text && !row->text))
		return -ENOMEM;
	return 0;
}

static void layer_release(struct layer *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->rows[i].key);
		free(l->rows[i].state);
		free(l->rows[i].text);
	}
	free(l->rows);
	memset(l, 0, sizeof(*l));
}

struct kind_run {
	struct ctx *c;
	int k;
	const char *kind;
	bool partial;	/* the collector failed: absent objects are unknown, not removed */
	struct buf name, members, diff;
};

static int build_event(struct kind_run *kr, struct engine_event *ev, const char *before,
		       const char *before_text, const char *after, const char *after_text)
{
	struct ctx *c = kr->c;
	struct json_writer w;
	int r = 0;

	buf_reset(&kr->members);
	buf_reset(&kr->diff);
	ev->collected = true;
	ev->state_before = before;
	ev->state_after = after;
	ev->members = NULL;
	ev->diff = NULL;
	if (before && after) {
		r = changed_members(before, after, &kr->members);
		ev->members = kr->members.data;
	}
	if (r == 0 && (before_text || after_text)) {
		r = coll_unified_diff(before_text, after_text, &kr->diff);
		if (r == 0 && kr->diff.len)
			ev->diff = kr->diff.data;
	}
	if (r < 0)
		return r;
	buf_reset(&c->json);
	jw_init(&w, &c->json);
	jw_obj_open(&w);
	eng_json_head(c, &w, ev, NULL, "configuration");
	jw_key(&w, "vigil");
	jw_obj_open(&w);
	jw_key(&w, "object");
	jw_str(&w, kr->name.data);
	jw_key(&w, "kind");
	jw_str(&w, kr->kind);
	jw_key(&w, "key");
	jw_str(&w, kr->name.data + strlen(kr->kind) + 1);
	jw_key(&w, "change");
	jw_str(&w, engine_event_name(ev->kind));
	if (ev->kind <= ENGINE_MODIFIED) {
		if (ev->members) {
			jw_key(&w, "attributes");
			jw_raw(&w, ev->members);
		}
		jw_key(&w, "before");
		if (before)
			jw_raw(&w, before);
		else
			jw_null(&w);
		jw_key(&w, "after");
		if (after)
			jw_raw(&w, after);
		else
			jw_null(&w);
		if (ev->diff) {
			jw_key(&w, "diff");
			jw_str(&w, ev->diff);
		}
	}
	eng_json_tail(c, &w, ev, NULL);
	jw_obj_close(&w);
	jw_obj_close(&w);
	ev->json = c->json.data;
	return w.err;
}

static void event_start(struct kind_run *kr, struct engine_event *ev, enum engine_event_kind kind,
			const struct rule *rule)
{
	*ev = (struct engine_event){
		.kind = kind,
		.path = kr->name.data,
		.path_len = kr->name.len,
		.rule = rule,
		.detected_ns = clock_now_ns(),
	};
}

static int set_name(struct kind_run *kr, const char *key)
{
	buf_reset(&kr->name);
	return buf_printf(&kr->name, "%s:%s", kr->kind, key);
}

static bool same_state(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* One key: the change since its last known state (recorded once), then the difference
 * from the baseline (reported at every check). */
static int compare_one(struct kind_run *kr, const char *key, const struct coll_item *cur,
		       const struct layer_row *base, const struct layer_row *obs)
{
	struct ctx *c = kr->c;
	const struct rule *rule;
	const char *last, *last_text, *base_state = base ? base->state : NULL;
	struct engine_event rec, ev;
	bool recorded = false;
	int kind = -1, r;

	rule = policy_decide_object(c->o->policy, kr->k, key);
	if (!policy_selected(rule)) {
		if (cur)
			c->res->unmonitored++;
		return 0;
	}
	if (!cur && kr->partial)
		return 0;
	if (cur) {
		c->res->objects++;
		c->res->kind_objects[kr->k]++;
	}
	r = set_name(kr, key);
	if (r < 0)
		return r;
	last = obs ? (obs->present ? obs->state : NULL) : base_state;
	last_text = obs ? obs->text : base ? base->text : NULL;
	if (cur && !last)
		kind = ENGINE_ADDED;
	else if (!cur && last)
		kind = ENGINE_REMOVED;
	else if (cur && strcmp(cur->state, last) != 0)
		kind = ENGINE_MODIFIED;
	if (kind >= 0) {
		event_start(kr, &rec, (enum engine_event_kind)kind, rule);
		rec.recorded = true;
		r = uuid7_new(rec.uuid);
		if (r == 0) {
			/* the reconciler sees the states through the event's JSON members */
			rec.state_before = last;
			rec.state_after = cur ? cur->state : NULL;
			rec.collected = true;
			r = eng_reconcile(c, &rec, NULL);
		}
		if (r == 0)
			r = build_event(kr, &rec, last, last ? last_text : NULL,
					cur ? cur->state : NULL, cur ? cur->text : NULL);
		if (r == 0)
			r = eng_record(c, &rec);
		if (r == 0 && rec.authorized) {
			/* the baseline moves to what was observed */
			r = cur ? store_collected_put(c->o->store, c->o->host_id, kr->kind, 0, key,
						      true, cur->state, cur->text)
				: store_collected_drop(c->o->store, c->o->host_id, kr->kind, 0, key);
			if (r == 0 && obs)
				r = store_collected_drop(c->o->store, c->o->host_id, kr->kind, 1, key);
			base_state = cur ? cur->state : NULL;
		} else if (r == 0 && same_state(cur ? cur->state : NULL, base_state)) {
			if (obs)
				r = store_collected_drop(c->o->store, c->o->host_id, kr->kind, 1, key);
		} else if (r == 0) {
			r = store_collected_put(c->o->store, c->o->host_id, kr->kind, 1, key,
						cur != NULL, cur ? cur->state : NULL,
						cur ? cur->text : NULL);
		}
		if (r == 0)
			r = store_tx_commit(c->o->store);
		if (r < 0) {
			c->store_err = r;
			return r;
		}
		recorded = true;
		c->res->recorded++;
		if (rec.authorized)
			c->res->authorized++;
		if (c->report && (c->o->report_changes || rec.authorized)) {
			r = c->report(c->ud, &rec);
			if (r < 0)
				return r;
		}
		if (rec.authorized)
			return 0;
	}
	/* the difference from the baseline */
	kind = -1;
	if (cur && !base_state)
		kind = ENGINE_ADDED;
	else if (!cur && base_state)
		kind = ENGINE_REMOVED;
	else if (cur && strcmp(cur->state, base_state) != 0)
		kind = ENGINE_MODIFIED;
	if (kind < 0)
		return 0;
	if (kind == ENGINE_ADDED)
		c->res->added++;
	else if (kind == ENGINE_REMOVED)
		c->res->removed++;
	else
		c->res->modified++;
	if (!c->report || c->o->report_changes)
		return 0;
	if (recorded && (int)rec.kind == kind && same_state(last, base_state))
		return c->report(c->ud, &rec);
	event_start(kr, &ev, (enum engine_event_kind)kind, rule);
	r = uuid7_new(ev.uuid);
	if (r == 0)
		r = build_event(kr, &ev, base_state, base ? base->text : NULL,
				cur ? cur->state : NULL, cur ? cur->text : NULL);
	return r < 0 ? r : c->report(c->ud, &ev);
}

/* A collector that failed: a gap at a check, an error at init. */
static int collector_failed(struct kind_run *kr, const struct vg_error *err)
{
	struct ctx *c = kr->c;
	char detail[1400], scope[64];
	struct engine_event ev;
	int r;

	vg_error_format(err, detail, sizeof(detail));
	snprintf(scope, sizeof(scope), "%s:", kr->kind);
	c->res->errors++;
	if (!c->init)
		return eng_gap(c, "collector", scope, detail, NULL);
	/* at init there is no gap to speak of yet: the baseline is incomplete */
	r = set_name(kr, "");
	if (r < 0)
		return r;
	event_start(kr, &ev, ENGINE_ERROR, NULL);
	ev.collected = true;
	ev.diff = detail;
	r = uuid7_new(ev.uuid);
	if (r == 0)
		r = build_event(kr, &ev, NULL, NULL, NULL, NULL);
	if (r == 0) {
		ev.diff = detail;
		r = c->report ? c->report(c->ud, &ev) : 0;
	}
	return r;
}

static int init_kind(struct kind_run *kr, const struct coll_set *set)
{
	struct ctx *c = kr->c;
	int r = store_collected_drop(c->o->store, c->o->host_id, kr->kind, 0, NULL);

	for (size_t i = 0; r == 0 && i < set->n; i++) {
		const struct coll_item *it = &set->items[i];

		if (!policy_selected(policy_decide_object(c->o->policy, kr->k, it->key))) {
			c->res->unmonitored++;
			continue;
		}
		c->res->objects++;
		c->res->kind_objects[kr->k]++;
		r = store_collected_put(c->o->store, c->o->host_id, kr->kind, 0, it->key, true,
					it->state, it->text);
	}
	if (r == 0)
		r = store_tx_commit(c->o->store);
	return r;
}

static int check_kind(struct kind_run *kr, const struct coll_set *set)
{
	struct ctx *c = kr->c;
	struct layer base = { 0 }, obs = { 0 };
	size_t i = 0, j = 0, k = 0;
	int r;

	r = store_collected_each(c->o->store, c->o->host_id, kr->kind, 0, layer_add, &base);
	if (r == 0)
		r = store_collected_each(c->o->store, c->o->host_id, kr->kind, 1, layer_add, &obs);
	/* a three-way merge in key order: items, baseline, observed layer */
	while (r == 0 && (i < set->n || j < base.n || k < obs.n)) {
		const char *key = NULL;
		const struct coll_item *cur = NULL;
		const struct layer_row *b = NULL, *o = NULL;

		if (i < set->n)
			key = set->items[i].key;
		if (j < base.n && (!key || strcmp(base.rows[j].key, key) < 0))
			key = base.rows[j].key;
		if (k < obs.n && (!key || strcmp(obs.rows[k].key, key) < 0))
			key = obs.rows[k].key;
		if (i < set->n && strcmp(set->items[i].key, key) == 0)
			cur = &set->items[i++];
		if (j < base.n && strcmp(base.rows[j].key, key) == 0)
			b = &base.rows[j++];
		if (k < obs.n && strcmp(obs.rows[k].key, key) == 0)
			o = &obs.rows[k++];
		r = compare_one(kr, cur ? cur->key : b ? b->key : o->key, cur, b, o);
	}
	layer_release(&base);
	layer_release(&obs);
	return r;
}

int eng_collect(struct ctx *c)
{
	int r = 0;

	if (!c->o->collect || !c->o->kinds)
		return 0;
	for (int k = 0; r == 0 && k < OBJECT_KINDS_N; k++) {
		const struct collector *col;
		struct kind_run kr = { .c = c, .k = k, .kind = object_kinds[k] };
		struct coll_set set = { 0 };
		struct vg_error err;
		int cr;

		if (!(c->o->kinds & (1u << k)) || !policy_kind_wanted(c->o->policy, k))
			continue;
		col = collector_find(kr.kind, strlen(kr.kind));
		if (!col)
			continue;
		vg_error_clear(&err);
		cr = col->collect(c->o->collect, &set, &err);
		coll_set_sort(&set);
		buf_init(&kr.name, 8192);
		buf_init(&kr.members, COLL_STATE_MAX);
		buf_init(&kr.diff, 4 * COLL_TEXT_MAX);
		if (cr < 0) {
			if (!err.msg[0])
				vg_error_set(&err, cr, NULL, 0, 0, "the %s collector failed: %s", kr.kind,
					     strerror(-cr));
			kr.partial = true;
			r = collector_failed(&kr, &err);
		}
		if (r == 0 && (cr == 0 || set.n))
			r = c->init ? init_kind(&kr, &set) : check_kind(&kr, &set);
		coll_set_release(&set);
		buf_release(&kr.name);
		buf_release(&kr.members);
		buf_release(&kr.diff);
	}
	return r;
}

/*
 * Change management from the journal: the change register (E-02), reconciliation of
 * every detected change (E-03), separation of duties (E-05) and the exceptions:
 * emergency changes and standing authorizations (E-06).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/macro.h"
#include "base/strmap.h"
#include "base/timeutil.h"
#include "report/report-int.h"
#include "base/banned.h"

#define SEC_NS 1000000000LL

struct rinfo {
	const char *uuid;
	char name[200];
	const struct rent *first;	/* record.created or the first record.import */
	const struct json_value *doc;	/* the latest document */
	const struct json_value *rec;	/* the latest record reference */
	int64_t approved, started, completed, reviewed, retro_approved;
	char approvers[512], implementers[512], reviewer[128], started_by[128];
	const char *justification;
	uint64_t detections;
	bool acted;		/* an entry about it falls in the period */
};

static void list_add(char *list, size_t size, const char *item)
{
	size_t l = strlen(list), n = strlen(item);

	if (!n)
		return;
	/* already there? */
	for (const char *p = list; (p = strstr(p, item)); p += n)
		if ((p == list || (p - list >= 2 && p[-2] == ';')) && (p[n] == '\0' || p[n] == ';'))
			return;
	snprintf(list + l, size - l, "%s%s", l ? "; " : "", item);
}

static int records_index(struct report *r, struct rinfo **ret, size_t *ret_n)
{
	struct strmap m = { 0 };
	struct rinfo *a = NULL;
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < r->n; i++) {
		const struct rent *e = &r->ents[i];
		const char *uuid = js(e->v, "record.uuid"), *to = js(e->v, "transition.to");
		const char *who = who_of(e->v);
		struct rinfo *x;
		void *p;

		if (!type_prefix(e, "record.") || !uuid || type_is(e, "record.refused"))
			continue;
		p = strmap_get(&m, uuid, strlen(uuid));
		if (!p) {
			struct rinfo *na = reallocarray(a, n + 1, sizeof(*a));

			if (!na) {
				rc = -ENOMEM;
				break;
			}
			a = na;
			rc = strmap_put(&m, uuid, strlen(uuid), (void *)(uintptr_t)(n + 1), NULL);
			x = &a[n++];
			*x = (struct rinfo){ .uuid = uuid, .first = e };
		} else {
			x = &a[(uintptr_t)p - 1];
		}
		x->rec = jp(e->v, "record");
		x->acted |= in_period(r, e->t);
		record_name(x->rec, x->name, sizeof(x->name));
		if (jp(e->v, "document"))
			x->doc = jp(e->v, "document");
		if (type_is(e, "record.approve") && who) {
			char item[160];

			snprintf(item, sizeof(item), "%s (%s)", who,
				 js(e->v, "by.roles") ? js(e->v, "by.roles") : "?");
			list_add(x->approvers, sizeof(x->approvers), item);
		}
		if (to && (strcmp(to, "approved") == 0 || strcmp(to, "retro_approved") == 0) &&
		    !x->approved)
			x->approved = e->t;
		if (to && strcmp(to, "retro_approved") == 0 && !x->retro_approved)
			x->retro_approved = e->t;
		if (type_is(e, "record.import") && jp(e->v, "document.approvals")) {
			const struct json_value *ap = jp(e->v, "document.approvals");

			for (size_t k = 0; ap->type == JSON_ARRAY && k < ap->arr.n; k++) {
				char item[160];
				const char *acc = js(ap->arr.items[k], "account");

				if (!acc)
					continue;
				snprintf(item, sizeof(item), "%s (%s)", acc,
					 js(ap->arr.items[k], "role") ? js(ap->arr.items[k], "role") : "?");
				list_add(x->approvers, sizeof(x->approvers), item);
			}
		}
		if ((type_is(e, "record.start") || type_is(e, "record.complete")) && who)
			list_add(x->implementers, sizeof(x->implementers), who);
		if (type_is(e, "record.start") && !x->started) {
			x->started = e->t;
			snprintf(x->started_by, sizeof(x->started_by), "%s", who ? who : "");
			x->justification = js(e->v, "detail.justification");
		}
		if (type_is(e, "record.complete") && !x->completed)
			x->completed = e->t;
		if (type_is(e, "record.review")) {
			x->reviewed = e->t;
			snprintf(x->reviewer, sizeof(x->reviewer), "%s", who ? who : "");
		}
	}
	/* the changes each authorized */
	for (size_t i = 0; rc == 0 && i < r->n; i++) {
		const struct rent *e = &r->ents[i];
		const char *uuid = NULL;
		void *p;

		if (strcmp(e->type, "change.detected") == 0)
			uuid = e->link;
		else if (type_is(e, "change.authorized"))
			uuid = js(e->v, "record.uuid");
		if (uuid && (p = strmap_get(&m, uuid, strlen(uuid))))
			a[(uintptr_t)p - 1].detections++;
	}
	strmap_release(&m, NULL);
	if (rc < 0) {
		free(a);
		return rc;
	}
	*ret = a;
	*ret_n = n;
	return 0;
}

/* Whether the record had anything in the period: created, acted on, or its window. */
static bool record_in_period(struct report *r, const struct rinfo *x)
{
	int64_t ws = jt(x->doc, "window.start"), we = jt(x->doc, "window.end");

	return x->acted || (ws && we && ws <= r->to && we >= r->from);
}

static const char *doc_str(const struct rinfo *x, const char *key)
{
	return js(x->doc, key);
}

int rep_changes(struct report *r, struct vg_error *err)
{
	static const char *const cols[] = {
		"record",    "source",	     "record_type", "title",	"requester",
		"created",   "approvers",    "approved",    "implementers", "started",
		"completed", "reviewer",     "reviewed",    "window_start", "window_end",
		"risk",	     "rollback",     "significant", "state",	"detections",
	};
	struct rinfo *a;
	size_t n;
	struct rtable *t;
	int rc;

	(void)err;
	rc = records_index(r, &a, &n);
	if (rc < 0)
		return rc;
	static const char *const wser[] = { "planned window", "started to completed" };
	struct rchart *win;

	snprintf(r->title, sizeof(r->title), "Change register (E-02)");
	win = rc_timeline(r, "Planned and actual windows", wser, 2, r->from, r->to);
	t = RT_NEW(r, "records", "Change records", cols);
	for (size_t i = 0; i < n; i++) {
		struct rinfo *x = &a[i];

		if (!record_in_period(r, x))
			continue;
		rt_row(r, t);
		rt_str(r, t, "record", x->name);
		rt_str(r, t, "source", js(x->rec, "source"));
		rt_str(r, t, "record_type", js(x->rec, "type"));
		rt_str(r, t, "title", doc_str(x, "title"));
		rt_str(r, t, "requester", doc_str(x, "requester"));
		rt_time(r, t, "created", x->first->t);
		rt_str(r, t, "approvers", x->approvers[0] ? x->approvers : NULL);
		rt_time(r, t, "approved", x->approved);
		rt_str(r, t, "implementers", x->implementers[0] ? x->implementers : NULL);
		rt_time(r, t, "started", x->started);
		rt_time(r, t, "completed", x->completed);
		rt_str(r, t, "reviewer", x->reviewer[0] ? x->reviewer : NULL);
		rt_time(r, t, "reviewed", x->reviewed);
		rt_str(r, t, "window_start", doc_str(x, "window.start"));
		rt_str(r, t, "window_end", doc_str(x, "window.end"));
		rt_str(r, t, "risk", doc_str(x, "risk"));
		rt_str(r, t, "rollback", doc_str(x, "rollback"));
		rt_bool(r, t, "significant", jb(x->doc, "significant"));
		rt_str(r, t, "state", js(x->rec, "state"));
		rt_int(r, t, "detections", (int64_t)x->detections);
		if (win && win->nlanes < 40) {
			size_t lane = rc_lane(r, win, x->name);
			int64_t ws = jt(x->doc, "window.start"), we = jt(x->doc, "window.end");

			if (ws && we)
				rc_seg(r, win, lane, ws, we, 0);
			if (x->started)
				rc_seg(r, win, lane, x->started,
				       x->completed ? x->completed : x->started, 1);
		}
	}
	free(a);
	return 0;
}

/* The retroactive authorizations (change.authorized) by change uuid. */
static int retro_map(struct report *r, struct strmap *m)
{
	for (size_t i = 0; i < r->n; i++) {
		const char *id = js(r->ents[i].v, "change.id");

		if (type_is(&r->ents[i], "change.authorized") && id &&
		    strmap_put(m, id, strlen(id), (void *)&r->ents[i], NULL) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* One detected change of the reconciliation: its row, counts and charts. */
struct recon {
	struct report *r;
	struct strmap *retro, *alerts;
	struct rchart *byday, *lat;
	struct rtable *t;
	uint64_t total, authorized, unauthorized, alerted, unalerted;
};

static int recon_row(void *ud, const struct rent *e)
{
	struct recon *c = ud;
	struct report *r = c->r;
	struct rtable *t = c->t;
	const struct json_value *ev = jp(e->v, "event"), *au;
	const struct rent *re;
	const char *id = js(ev, "event.id"), *d = js(ev, "vigil.disposition");
	const char *by = NULL, *al;
	char name[200] = "", pkg[300] = "", day[16];
	int64_t at, ct;

	if (!in_period(r, e->t))
		return 0;
	at = jt(ev, "@timestamp");
	ct = jt(ev, "file.ctime");
	au = jp(ev, "vigil.authorization");
	re = id ? strmap_get(c->retro, id, strlen(id)) : NULL;
	if (re) {
		d = "authorized";
		by = "retroactive";
		record_name(jp(re->v, "record"), name, sizeof(name));
	} else if (au) {
		by = js(au, "by");
		record_name(jp(au, "record"), name, sizeof(name));
	}
	if (jp(au, "package.name"))
		snprintf(pkg, sizeof(pkg), "%s %s", js(au, "package.name"),
			 js(au, "package.version") ? js(au, "package.version") : "");
	al = alert_of_item(r, c->alerts, id);
	c->total++;
	if (d && strcmp(d, "authorized") == 0)
		c->authorized++;
	else {
		c->unauthorized++;
		if (al && *al)
			c->alerted++;
		else
			c->unalerted++;
	}
	rt_row(r, t);
	rt_int(r, t, "index", (int64_t)e->index);
	rt_str(r, t, "change", id);
	rt_time(r, t, "time", at ? at : e->t);
	rt_str(r, t, "host", js(ev, "host.name"));
	rt_str(r, t, "object", js(ev, "vigil.object"));
	rt_str(r, t, "action", js(ev, "vigil.change"));
	rt_str(r, t, "source", js(ev, "vigil.detection.source"));
	rt_str(r, t, "disposition", d);
	rt_str(r, t, "authorized_by", name[0] ? name : NULL);
	rt_str(r, t, "by", by);
	rt_str(r, t, "evidence", js(au, "package.evidence"));
	rt_str(r, t, "package", pkg[0] ? pkg : NULL);
	rt_str(r, t, "alert", al && *al ? al : NULL);
	if (ct && at && at >= ct)
		rt_int(r, t, "latency_s", (at - ct) / SEC_NS);
	if (c->byday) {
		char s[RFC3339_MAX];

		time_format_rfc3339(at ? at : e->t, s, sizeof(s));
		snprintf(day, sizeof(day), "%.10s", s);
		rc_add(c->byday, rc_cat(r, c->byday, day), d && strcmp(d, "authorized") == 0 ? 0 : 1,
		       1);
	}
	if (c->lat && ct && at && at >= ct) {
		double s = (double)(at - ct) / 1e9;
		size_t b = s < 1 ? 0 : s < 10 ? 1 : s < 60 ? 2 : s < 600 ? 3 : s < 3600 ? 4
			 : s < 86400 ? 5 : 6;

		rc_add(c->lat, b, 0, 1);
	}
	return r->err;
}

int rep_reconciliation(struct report *r, struct vg_error *err)
{
	static const char *const cols[] = {
		"index",       "change",     "time",	"host",	    "object",	"action",   "source",
		"disposition", "authorized_by", "by",	"evidence", "package",	"alert",    "latency_s",
	};
	static const char *const ucols[] = { "record", "object", "text", "reviewer", "time" };
	static const char *const disp[] = { "authorized", "unauthorized" };
	static const char *const one[] = { "changes" };
	static const char *const buckets[] = { "< 1 s", "1-10 s", "10-60 s", "1-10 min",
					       "10-60 min", "1-24 h", "> 24 h" };
	struct strmap alerts = { 0 }, retro = { 0 };
	struct rtable *sum, *u;
	struct rchart *byday, *lat;
	struct recon c;
	char name[200];
	int rc;

	snprintf(r->title, sizeof(r->title), "Reconciliation of detected changes (E-03)");
	rc = retro_map(r, &retro);
	sum = rt_summary(r, "Summary");
	byday = rc_bars(r, "Changes by disposition, per day", "day", "changes", disp, 2);
	lat = rc_bars(r, "Detection latency (change to detection, files)", "latency", "changes",
		      one, 1);
	for (size_t b = 0; lat && b < ARRAY_SIZE(buckets); b++)
		rc_cat(r, lat, buckets[b]);
	c = (struct recon){ .r = r, .retro = &retro, .alerts = &alerts, .byday = byday,
			    .lat = lat, .t = RT_NEW(r, "changes", "Detected changes", cols) };
	if (rc == 0)
		rc = report_stream(r, "change.detected", recon_row, &c, err);
	/* E-03: what a record expected that was never observed, as its review found */
	u = RT_NEW(r, "unobserved", "Expected but not observed", ucols);
	for (size_t i = 0; rc == 0 && i < r->n; i++) {
		const struct rent *e = &r->ents[i];
		const struct json_value *ack = jp(e->v, "detail.acknowledged");

		if (!type_is(e, "record.review") || !in_period(r, e->t) || !ack ||
		    ack->type != JSON_ARRAY)
			continue;
		record_name(jp(e->v, "record"), name, sizeof(name));
		for (size_t k = 0; k < ack->arr.n; k++) {
			const char *key = js(ack->arr.items[k], "key");

			if (!key || strncmp(key, "expected:", 9) != 0)
				continue;
			rt_row(r, u);
			rt_str(r, u, "record", name);
			rt_str(r, u, "object", key + 9);
			rt_str(r, u, "text", js(ack->arr.items[k], "text"));
			rt_str(r, u, "reviewer", who_of(e->v));
			rt_time(r, u, "time", e->t);
		}
	}
	rt_item_int(r, sum, "changes", (int64_t)c.total);
	rt_item_int(r, sum, "authorized", (int64_t)c.authorized);
	rt_item_int(r, sum, "unauthorized", (int64_t)c.unauthorized);
	rt_item_int(r, sum, "unauthorized_alerted", (int64_t)c.alerted);
	rt_item_int(r, sum, "unauthorized_not_alerted", (int64_t)c.unalerted);
	rt_item_int(r, sum, "unobserved", u ? (int64_t)u->nrows : 0);
	strmap_release(&alerts, NULL);
	strmap_release(&retro, NULL);
	return rc;
}

int rep_separation(struct report *r, struct vg_error *err)
{
	static const char *const cols[] = { "index",  "time", "record",	 "action",
					    "person", "rule", "outcome", "relaxed_by" };
	static const char *const icols[] = { "record", "person", "implemented", "reviewed" };
	static const char *const acols[] = { "index", "time", "alert", "person", "action" };
	struct rtable *t, *it, *at;
	struct rinfo *a;
	size_t n;
	char name[200];
	int rc;

	(void)err;
	static const char *const sser[] = { "refused", "allowed as exceptions" };
	struct rchart *per;

	snprintf(r->title, sizeof(r->title), "Separation of duties (E-05)");
	per = rc_bars(r, "Separation of duties: refusals and exceptions per day", "day",
		      "actions", sser, 2);
	t = RT_NEW(r, "sod", "Actions separation of duties refused or allowed as exceptions", cols);
	for (size_t i = 0; i < r->n; i++) {
		const struct rent *e = &r->ents[i];
		bool refused = type_is(e, "record.refused");

		if (!in_period(r, e->t) || !(refused || js(e->v, "detail.sod_exception")))
			continue;
		record_name(jp(e->v, "record"), name, sizeof(name));
		rt_row(r, t);
		rt_int(r, t, "index", (int64_t)e->index);
		rt_time(r, t, "time", e->t);
		rt_str(r, t, "record", name);
		rt_str(r, t, "action", refused ? js(e->v, "refusal.action") : strchr(e->type, '.') + 1);
		rt_str(r, t, "person", who_of(e->v));
		rt_str(r, t, "rule", refused ? js(e->v, "refusal.rule") : js(e->v, "detail.sod_exception"));
		rt_str(r, t, "outcome", refused ? "refused" : "allowed (relaxed)");
		rt_str(r, t, "relaxed_by", refused ? NULL : js(e->v, "detail.sod_relaxed_by"));
		if (per) {
			char ts[RFC3339_MAX], day[16];

			time_format_rfc3339(e->t, ts, sizeof(ts));
			snprintf(day, sizeof(day), "%.10s", ts);
			rc_add(per, rc_cat(r, per, day), refused ? 0 : 1, 1);
		}
	}
	rc = records_index(r, &a, &n);
	if (rc < 0)
		return rc;
	it = RT_NEW(r, "implementer_reviewers", "Records reviewed by one of their implementers",
		    icols);
	for (size_t i = 0; i < n; i++) {
		struct rinfo *x = &a[i];
		char probe[sizeof(x->implementers) + 8];

		if (!x->reviewer[0] || !x->implementers[0] || !in_period(r, x->reviewed))
			continue;
		snprintf(probe, sizeof(probe), "%s", x->implementers);
		list_add(probe, sizeof(probe), x->reviewer);
		if (strcmp(probe, x->implementers) != 0)
			continue; /* the reviewer was not among them */
		rt_row(r, it);
		rt_str(r, it, "record", x->name);
		rt_str(r, it, "person", x->reviewer);
		rt_time(r, it, "implemented", x->started);
		rt_time(r, it, "reviewed", x->reviewed);
	}
	free(a);
	at = RT_NEW(r, "responder_actor", "Alerts handled by the person who made the change",
		    acols);
	for (size_t i = 0; i < r->n; i++) {
		const struct rent *e = &r->ents[i];

		if (!type_prefix(e, "alert.") || !in_period(r, e->t) ||
		    !jb(e->v, "detail.responder_was_actor"))
			continue;
		rt_row(r, at);
		rt_int(r, at, "index", (int64_t)e->index);
		rt_time(r, at, "time", e->t);
		rt_str(r, at, "alert", js(e->v, "alert.id"));
		rt_str(r, at, "person", who_of(e->v));
		rt_str(r, at, "action", strchr(e->type, '.') + 1);
	}
	return 0;
}

static void scope_text(const struct json_value *doc, char *out, size_t size)
{
	static const char *const parts[] = { "paths", "packages", "config", "units", "hosts" };

	out[0] = '\0';
	for (size_t p = 0; p < ARRAY_SIZE(parts); p++) {
		const struct json_value *a = jp(jp(doc, "scope"), parts[p]);

		for (size_t i = 0; a && a->type == JSON_ARRAY && i < a->arr.n; i++) {
			size_t l = strlen(out);

			if (a->arr.items[i]->type == JSON_STRING)
				snprintf(out + l, size - l, "%s%s:%s", l ? "; " : "", parts[p],
					 a->arr.items[i]->str.s);
		}
	}
}

struct accepted_ctx {
	struct report *r;
	struct rtable *t;
};

/* A change accepted under a standing authorization (streamed: one change at a time). */
static int accepted_row(void *ud, const struct rent *e)
{
	struct accepted_ctx *ac = ud;
	struct report *r = ac->r;
	struct rtable *at = ac->t;
	const struct json_value *ev = jp(e->v, "event"), *au = jp(ev, "vigil.authorization");
	const char *by = js(au, "by");
	char name[200];

	if (!in_period(r, e->t) || !by || strcmp(by, "standing_authorization") != 0)
		return 0;
	record_name(jp(au, "record"), name, sizeof(name));
	rt_row(r, at);
	rt_str(r, at, "record", name);
	rt_str(r, at, "change", js(ev, "event.id"));
	rt_time(r, at, "time", jt(ev, "@timestamp") ? jt(ev, "@timestamp") : e->t);
	rt_str(r, at, "object", js(ev, "vigil.object"));
	rt_str(r, at, "action", js(ev, "vigil.change"));
	rt_str(r, at, "package", js(au, "package.name"));
	rt_str(r, at, "version", js(au, "package.version"));
	rt_str(r, at, "evidence", js(au, "package.evidence"));
	rt_str(r, at, "signed_by", js(au, "package.signed_by"));
	return r->err;
}

int rep_exceptions(struct report *r, struct vg_error *err)
{
	static const char *const ecols[] = { "record",	      "source",	  "title",    "justification",
					     "started",	      "started_by", "retro_approved", "delay_s",
					     "state" };
	static const char *const scols[] = { "record",	     "source",	   "title", "scope",
					     "window_start", "window_end", "state", "accepted" };
	static const char *const acols[] = { "record", "change",   "time",     "object", "action",
					     "package", "version", "evidence", "signed_by" };
	struct rtable *et, *st, *at;
	struct rinfo *a;
	size_t n;
	char scope[2048];
	int rc;

	(void)err;
	snprintf(r->title, sizeof(r->title), "Emergency changes and standing authorizations (E-06)");
	rc = records_index(r, &a, &n);
	if (rc < 0)
		return rc;
	static const char *const xser[] = { "emergency: started to retro-approval",
					    "standing authorization: validity" };
	struct rchart *xl = rc_timeline(r, "Emergency changes and standing authorizations",
					xser, 2, r->from, r->to);

	et = RT_NEW(r, "emergency", "Emergency changes", ecols);
	st = RT_NEW(r, "standing", "Standing authorizations", scols);
	for (size_t i = 0; i < n; i++) {
		struct rinfo *x = &a[i];
		const char *type = js(x->rec, "type");

		if (!type || !record_in_period(r, x))
			continue;
		if (strcmp(type, "emergency") == 0) {
			rt_row(r, et);
			rt_str(r, et, "record", x->name);
			rt_str(r, et, "source", js(x->rec, "source"));
			rt_str(r, et, "title", doc_str(x, "title"));
			rt_str(r, et, "justification",
			       x->justification ? x->justification : doc_str(x, "justification"));
			rt_time(r, et, "started", x->started);
			rt_str(r, et, "started_by", x->started_by[0] ? x->started_by : NULL);
			rt_time(r, et, "retro_approved", x->retro_approved);
			if (x->started && x->retro_approved)
				rt_int(r, et, "delay_s", (x->retro_approved - x->started) / SEC_NS);
			rt_str(r, et, "state", js(x->rec, "state"));
			if (xl && x->started && xl->nlanes < 40)
				rc_seg(r, xl, rc_lane(r, xl, x->name), x->started,
				       x->retro_approved ? x->retro_approved : r->to, 0);
		} else if (strcmp(type, "standard") == 0) {
			scope_text(x->doc, scope, sizeof(scope));
			rt_row(r, st);
			rt_str(r, st, "record", x->name);
			rt_str(r, st, "source", js(x->rec, "source"));
			rt_str(r, st, "title", doc_str(x, "title"));
			rt_str(r, st, "scope", scope);
			rt_str(r, st, "window_start", doc_str(x, "window.start"));
			rt_str(r, st, "window_end", doc_str(x, "window.end"));
			rt_str(r, st, "state", js(x->rec, "state"));
			rt_int(r, st, "accepted", (int64_t)x->detections);
			if (xl && jt(x->doc, "window.start") && xl->nlanes < 40)
				rc_seg(r, xl, rc_lane(r, xl, x->name), jt(x->doc, "window.start"),
				       jt(x->doc, "window.end") ? jt(x->doc, "window.end") : r->to, 1);
		}
	}
	free(a);
	at = RT_NEW(r, "accepted", "Changes accepted under standing authorizations", acols);
	if (!at)
		return r->err;
	return report_stream(r, "change.detected", accepted_row,
			     &(struct accepted_ctx){ .r = r, .t = at }, err);
}

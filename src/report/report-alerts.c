/*
 * Alerts from the journal: the alert register with its timing (E-04), the timeline of
 * one alert as an incident report (E-13) and the declared control tests (E-14).
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
#include "report/report-write.h"
#include "base/banned.h"

#define DAY_NS (86400LL * 1000000000LL)
#define SEC_NS 1000000000LL
#define MAX_SPAN_S (100LL * 366 * 86400) /* larger spans are not times: ignored */

int alerts_index(struct report *r, struct ainfo **ret, size_t *ret_n)
{
	struct ainfo *a = NULL;
	struct strmap m = { 0 };
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < r->n; i++) {
		const struct rent *e = &r->ents[i];
		const char *id;
		struct ainfo *x;

		if (!type_prefix(e, "alert.") || !(id = js(e->v, "alert.id")))
			continue;
		x = strmap_get(&m, id, strlen(id));
		if (!x && type_is(e, "alert.raised")) {
			struct ainfo *na = reallocarray(a, n + 1, sizeof(*a));

			if (!na) {
				rc = -ENOMEM;
				break;
			}
			a = na;
			/* the map holds indexes + 1: the array moves as it grows */
			rc = strmap_put(&m, id, strlen(id), (void *)(uintptr_t)(n + 1), NULL);
			x = &a[n++];
			*x = (struct ainfo){ .id = id, .raised = e, .state = "open" };
			x->generated = jt(e->v, "alert.generated");
			x->deadline = jt(e->v, "alert.deadline");
			x->control_test = jb(e->v, "alert.control_test");
		} else if (x) {
			x = &a[(uintptr_t)x - 1];
		}
		if (!x)
			continue;
		if (jp(e->v, "alert.title"))
			x->last = e;
		/* the state at the end of the period (the times below are every one known) */
		if (js(e->v, "transition.to") && e->t <= r->to)
			x->state = js(e->v, "transition.to");
		if (type_is(e, "alert.acknowledge") && !x->ack)
			x->ack = e->t;
		else if (type_is(e, "alert.respond") && !x->respond)
			x->respond = e->t, x->respond_e = e;
		else if (type_is(e, "alert.determine"))
			x->determine = e->t, x->determine_e = e;
		else if (type_is(e, "alert.incident"))
			x->incident_e = e;
		else if (type_is(e, "alert.close"))
			x->close = e->t, x->close_e = e;
		else if (type_is(e, "alert.breached") && !x->breach_mark)
			x->breach_mark = e->t;
		else if (type_is(e, "alert.delivered")) {
			const char *ch = js(e->v, "delivery.channel");

			if (!x->first_delivered)
				x->first_delivered = e->t;
			if (ch && x->nch < ARRAY_SIZE(x->channels)) {
				size_t k = 0;

				while (k < x->nch && strcmp(x->channels[k], ch) != 0)
					k++;
				if (k == x->nch)
					x->channels[x->nch++] = ch;
			}
		}
	}
	strmap_release(&m, NULL);
	if (rc < 0) {
		free(a);
		return rc;
	}
	/* E-04: breached when no initial response came by the deadline, as the clock at
	 * the checkpoint saw it (whether or not a process had marked it yet) */
	for (size_t i = 0; i < n; i++)
		a[i].breached = a[i].breach_mark ||
				(a[i].deadline && (a[i].respond ? a[i].respond > a[i].deadline
								: a[i].deadline <= r->cp_time));
	*ret = a;
	*ret_n = n;
	return 0;
}

const char *alert_of_item(struct report *r, struct strmap *m, const char *ref)
{
	if (!m->n) {
		for (size_t i = 0; i < r->n; i++) {
			const struct rent *e = &r->ents[i];
			const char *id = e->link, *item;

			if (!id || strncmp(e->type, "alert.", 6) != 0)
				continue;
			item = id + strlen(id) + 1;
			if (!strmap_get(m, item, strlen(item)) &&
			    strmap_put(m, item, strlen(item), (void *)id, NULL) < 0) {
				r->err = -ENOMEM;
				break;
			}
		}
		if (!m->n) /* nothing to map: a marker so the scan is not repeated */
			strmap_put(m, "", 0, (void *)"", NULL);
	}
	return ref ? strmap_get(m, ref, strlen(ref)) : NULL;
}

static void set_secs(struct report *r, struct rtable *t, const char *col, int64_t from, int64_t to)
{
	if (from && to && to >= from)
		rt_int(r, t, col, (to - from) / SEC_NS);
}

static void day_of(int64_t ns, char *out, size_t size)
{
	char s[RFC3339_MAX];

	time_format_rfc3339(ns, s, sizeof(s));
	snprintf(out, size, "%.10s", s);
}

int rep_alerts(struct report *r, struct vg_error *err)
{
	static const char *const cols[] = {
		"alert",     "category",	"severity",	 "title",	"generated",
		"deadline",  "control_test",	"channels",	 "first_delivered", "acknowledged",
		"responded", "response_s",	"determined",	 "determination", "incident",
		"closed",    "outcome",		"breached",	 "state",
	};
	static const char *const dcols[] = { "alert",	"channel", "event",	 "outcome",
					     "attempt", "time",	   "message_id" };
	static const char *const states[] = { "open", "acknowledged", "responded", "determined",
					      "closed" };
	static const char *const buckets[] = { "< 1 h", "1-4 h", "4-12 h", "12-24 h", "> 24 h",
					       "none yet" };
	static const char *const one[] = { "alerts" };
	struct ainfo *a = NULL;
	size_t n = 0, count = 0, breached = 0, answered = 0;
	const char *used[32];
	size_t nused = 0;
	struct rtable *sum, *t, *d;
	struct rchart *perday, *hist;
	char chans[512], day[16];
	int rc;

	(void)err;
	rc = alerts_index(r, &a, &n);
	if (rc < 0)
		return rc;
	snprintf(r->title, sizeof(r->title), "Alert register (E-04)");
	sum = rt_summary(r, "Summary");
	perday = rc_bars(r, "Alerts per day, by state at the end of the period", "day", "alerts",
			 states, ARRAY_SIZE(states));
	hist = rc_bars(r, "Time to the initial response", "response time", "alerts", one, 1);
	for (size_t b = 0; hist && b < ARRAY_SIZE(buckets); b++)
		rc_cat(r, hist, buckets[b]);
	t = RT_NEW(r, "alerts", "Alerts", cols);
	for (size_t i = 0; i < n; i++) {
		struct ainfo *x = &a[i];
		const struct json_value *al = jp((x->last ? x->last : x->raised)->v, "alert");

		if (!in_period(r, x->generated))
			continue;
		count++;
		breached += x->breached;
		answered += x->respond != 0;
		rt_row(r, t);
		rt_str(r, t, "alert", x->id);
		rt_str(r, t, "category", js(al, "category"));
		rt_str(r, t, "severity", js(al, "severity"));
		rt_str(r, t, "title", js(al, "title"));
		rt_time(r, t, "generated", x->generated);
		rt_time(r, t, "deadline", x->deadline);
		rt_bool(r, t, "control_test", x->control_test);
		chans[0] = '\0';
		for (size_t k = 0; k < x->nch; k++) {
			size_t l = strlen(chans);

			snprintf(chans + l, sizeof(chans) - l, "%s%s", k ? "; " : "", x->channels[k]);
			size_t u = 0;

			while (u < nused && strcmp(used[u], x->channels[k]) != 0)
				u++;
			if (u == nused && nused < ARRAY_SIZE(used))
				used[nused++] = x->channels[k];
		}
		rt_str(r, t, "channels", chans);
		rt_time(r, t, "first_delivered", x->first_delivered);
		rt_time(r, t, "acknowledged", x->ack);
		rt_time(r, t, "responded", x->respond);
		set_secs(r, t, "response_s", x->generated, x->respond);
		rt_time(r, t, "determined", x->determine);
		rt_str(r, t, "determination",
		       x->determine_e ? js(x->determine_e->v, "detail.determination") : NULL);
		rt_bool(r, t, "incident", x->incident_e != NULL);
		rt_time(r, t, "closed", x->close);
		rt_str(r, t, "outcome", x->close_e ? js(x->close_e->v, "detail.outcome") : NULL);
		rt_bool(r, t, "breached", x->breached);
		rt_str(r, t, "state", x->state);
		day_of(x->generated, day, sizeof(day));
		if (perday) {
			size_t c = rc_cat(r, perday, day), s = 0;

			while (s < ARRAY_SIZE(states) && strcmp(states[s], x->state) != 0)
				s++;
			rc_add(perday, c, s, 1);
		}
		if (hist) {
			int64_t rs = x->respond ? (x->respond - x->generated) / SEC_NS : -1;
			size_t b = rs < 0 ? 5 : rs < 3600 ? 0 : rs < 4 * 3600 ? 1 : rs < 12 * 3600 ? 2
				 : rs <= 24 * 3600 ? 3 : 4;

			rc_add(hist, b, 0, 1);
		}
	}
	d = RT_NEW(r, "deliveries", "Deliveries", dcols);
	for (size_t i = 0; i < r->n; i++) {
		const struct rent *e = &r->ents[i];

		if (!type_prefix(e, "alert.deliver") || !in_period(r, e->t))
			continue;
		rt_row(r, d);
		rt_str(r, d, "alert", js(e->v, "alert.id"));
		rt_str(r, d, "channel", js(e->v, "delivery.channel"));
		rt_str(r, d, "event", js(e->v, "delivery.event"));
		rt_str(r, d, "outcome", js(e->v, "delivery.outcome"));
		int64_t at;

		if (ji(e->v, "delivery.attempt", &at))
			rt_int(r, d, "attempt", at);
		rt_time(r, d, "time", e->t);
		rt_str(r, d, "message_id", js(e->v, "delivery.message_id"));
	}
	rt_item_int(r, sum, "alerts", (int64_t)count);
	rt_item_int(r, sum, "answered", (int64_t)answered);
	rt_item_int(r, sum, "breached", (int64_t)breached);
	rt_item_int(r, sum, "channels_used", (int64_t)nused);
	chans[0] = '\0';
	for (size_t k = 0; k < nused; k++) {
		size_t l = strlen(chans);

		snprintf(chans + l, sizeof(chans) - l, "%s%s", k ? "; " : "", used[k]);
	}
	rt_item_str(r, sum, "channels", chans);
	free(a);
	return 0;
}

/* ---- incident (E-13) ---- */

struct tl {
	int64_t t;
	uint64_t index;
	char *event, *detail;
};

static int tl_add(struct tl **v, size_t *n, int64_t t, uint64_t index, const char *event,
		  const char *detail)
{
	struct tl *nv = reallocarray(*v, *n + 1, sizeof(**v));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = (struct tl){ .t = t, .index = index, .event = strdup(event),
			      .detail = strdup(detail ? detail : "") };
	if (!nv[*n].event || !nv[*n].detail) {
		free(nv[*n].event);
		free(nv[*n].detail);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

static int tl_cmp(const void *a, const void *b)
{
	const struct tl *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static struct ainfo *find_alert(struct ainfo *a, size_t n, const char *id, struct vg_error *err,
				int *rc)
{
	struct ainfo *found = NULL;
	size_t len = strlen(id);

	*rc = 0;
	if (len < 8) {
		*rc = vg_error_set(err, -EINVAL, "", 0, 0,
				   "incident '%s': give the alert's id (at least 8 characters)", id);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (strncmp(a[i].id, id, len) != 0)
			continue;
		if (found) {
			*rc = vg_error_set(err, -EINVAL, "", 0, 0,
					   "incident '%s': more than one alert has this prefix", id);
			return NULL;
		}
		found = &a[i];
	}
	if (!found)
		*rc = vg_error_set(err, -ENOENT, "", 0, 0,
				   "incident '%s': no alert with this id in the journal", id);
	return found;
}

static const char *actor_of_change(const struct json_value *ev, char *buf, size_t size)
{
	const char *exe = js(ev, "process.executable"), *user = js(ev, "user.name");
	int64_t uid, pid;

	if (!exe && !ji(ev, "process.pid", &pid))
		return NULL;
	if (!user && ji(ev, "user.id", &uid))
		snprintf(buf, size, "%s (uid %" PRId64 ")", exe ? exe : "?", uid);
	else if (!user && js(ev, "user.id"))
		snprintf(buf, size, "%s (uid %s)", exe ? exe : "?", js(ev, "user.id"));
	else
		snprintf(buf, size, "%s%s%s", exe ? exe : "?", user ? " by " : "", user ? user : "");
	return buf;
}

static const char *incident_text(const struct ainfo *x, const char *key)
{
	return x->incident_e ? js(x->incident_e->v, key) : NULL;
}

struct inc_ctx {
	struct report *r;
	struct strmap *items;
	struct rtable *ct;
	struct tl **tl;
	size_t *ntl;
};

/* A change or unreadable object: on the timeline and in the table when it is the alert's. */
static int incident_change(void *ud, const struct rent *e)
{
	struct inc_ctx *ic = ud;
	struct report *r = ic->r;
	const struct json_value *ev = jp(e->v, "event");
	const char *ref = js(ev, "event.id");
	char text[1024], actor[600];
	int64_t t;
	int rc;

	if (!ref || !strmap_get(ic->items, ref, strlen(ref)))
		return 0;
	t = jt(ev, "@timestamp");
	snprintf(text, sizeof(text), "%s %s (%s)", jsq(ev, "vigil.change"), jsq(ev, "vigil.object"),
		 js(ev, "vigil.disposition") ? js(ev, "vigil.disposition") : "error");
	rc = tl_add(ic->tl, ic->ntl, t ? t : e->t, e->index, "change detected", text);
	rt_row(r, ic->ct);
	rt_str(r, ic->ct, "change", ref);
	rt_time(r, ic->ct, "time", t ? t : e->t);
	rt_str(r, ic->ct, "object", js(ev, "vigil.object"));
	rt_str(r, ic->ct, "action", js(ev, "vigil.change"));
	rt_str(r, ic->ct, "actor", actor_of_change(ev, actor, sizeof(actor)));
	rt_str(r, ic->ct, "disposition", js(ev, "vigil.disposition"));
	return rc < 0 ? rc : r->err;
}

int rep_incident(struct report *r, struct vg_error *err)
{
	static const char *const tcols[] = { "time", "event", "detail" };
	static const char *const ccols[] = { "change", "time", "object", "action", "actor",
					     "disposition" };
	static const char *const acols[] = { "kind", "text", "owner", "due", "status" };
	struct ainfo *a = NULL, *x;
	struct tl *tl = NULL;
	size_t n = 0, ntl = 0;
	struct rtable *sum, *tt, *ct, *at;
	struct strmap items = { 0 };
	struct buf *md = &r->md;
	char when[32], text[1024];
	int rc;

	if (!r->o.incident)
		return vg_error_set(err, -EINVAL, "", 0, 0, "incident: which alert?");
	rc = alerts_index(r, &a, &n);
	if (rc < 0)
		return rc;
	x = find_alert(a, n, r->o.incident, err, &rc);
	if (!x) {
		free(a);
		return rc;
	}
	const struct json_value *al = jp((x->last ? x->last : x->raised)->v, "alert");

	snprintf(r->title, sizeof(r->title), "Incident report: %s", jsq(al, "title"));
	/* every item of the alert, and every entry about it */
	for (size_t i = 0; i < r->n; i++) {
		const struct rent *e = &r->ents[i];
		const char *who = who_of(e->v);

		if ((type_is(e, "alert.raised") || type_is(e, "alert.grouped")) &&
		    strcmp(js(e->v, "alert.id") ? js(e->v, "alert.id") : "", x->id) == 0) {
			const char *ref = js(e->v, "item.ref");

			if (ref && strmap_put(&items, ref, strlen(ref), (void *)e, NULL) < 0)
				rc = -ENOMEM;
		}
		(void)who;
	}
	sum = rt_summary(r, "Summary");
	tt = RT_NEW(r, "timeline", "Timeline (UTC)", tcols);
	ct = RT_NEW(r, "changes", "Contributing changes", ccols);
	at = RT_NEW(r, "actions", "Action items", acols);
	/* the changes and errors behind the alert, one entry parsed at a time */
	if (rc == 0)
		rc = report_stream(r, "change.detected object.error", incident_change,
				   &(struct inc_ctx){ .r = r, .items = &items, .ct = ct, .tl = &tl,
						      .ntl = &ntl },
				   err);
	for (size_t i = 0; rc == 0 && i < r->n; i++) {
		const struct rent *e = &r->ents[i];
		const char *aid = js(e->v, "alert.id"), *who = who_of(e->v);
		bool mine = aid && strcmp(aid, x->id) == 0;

		text[0] = '\0';
		if (type_is(e, "monitor.gap")) {
			const char *ref = js(e->v, "gap.id");

			if (!ref || !strmap_get(&items, ref, strlen(ref)))
				continue;
			snprintf(text, sizeof(text), "%s: %s", jsq(e->v, "gap.reason"),
				 jsq(e->v, "gap.scope"));
			rc = tl_add(&tl, &ntl, e->t, e->index, "monitoring gap", text);
			continue;
		}
		if (!mine)
			continue;
		if (type_is(e, "alert.raised")) {
			snprintf(text, sizeof(text), "%s, severity %s, deadline %s", jsq(al, "title"),
				 jsq(e->v, "alert.severity"), jsq(e->v, "alert.deadline"));
			rc = tl_add(&tl, &ntl, e->t, e->index, "alert raised", text);
		} else if (type_is(e, "alert.grouped")) {
			snprintf(text, sizeof(text), "%s %s joined the alert", jsq(e->v, "item.kind"),
				 jsq(e->v, "item.ref"));
			rc = tl_add(&tl, &ntl, e->t, e->index, "alert grouped", text);
		} else if (type_is(e, "alert.delivered")) {
			snprintf(text, sizeof(text), "%s message through %s",
				 jsq(e->v, "delivery.event"), jsq(e->v, "delivery.channel"));
			rc = tl_add(&tl, &ntl, e->t, e->index, "people notified", text);
		} else if (type_is(e, "alert.delivery_failed")) {
			snprintf(text, sizeof(text), "%s: %s", jsq(e->v, "delivery.channel"),
				 jsq(e->v, "delivery.detail"));
			rc = tl_add(&tl, &ntl, e->t, e->index, "delivery failed", text);
		} else if (type_is(e, "alert.escalated")) {
			int64_t p = 0, after = 0;

			ji(e->v, "escalation.point", &p);
			ji(e->v, "escalation.after_s", &after);
			snprintf(text, sizeof(text), "point %" PRId64 " (%s), due at %" PRId64 " s",
				 p, jsq(e->v, "escalation.reason"), after);
			if (after < 0 || after > MAX_SPAN_S)
				after = 0; /* not a time this journal could hold */
			rc = tl_add(&tl, &ntl, x->generated + after * SEC_NS, e->index, "escalated",
				    text);
		} else if (type_is(e, "alert.breached")) {
			rc = tl_add(&tl, &ntl, x->deadline ? x->deadline : e->t, e->index,
				    "deadline missed", "no initial response by the deadline");
		} else if (type_is(e, "alert.acknowledge") || type_is(e, "alert.respond") ||
			   type_is(e, "alert.determine") || type_is(e, "alert.incident") ||
			   type_is(e, "alert.close")) {
			const char *what = strchr(e->type, '.') + 1;
			const char *txt = js(e->v, "detail.text");

			if (type_is(e, "alert.determine"))
				snprintf(text, sizeof(text), "by %s: %s%s%s", who ? who : "?",
					 js(e->v, "detail.determination") ? js(e->v, "detail.determination") : "?",
					 js(e->v, "detail.rationale") ? ": " : "",
					 js(e->v, "detail.rationale") ? js(e->v, "detail.rationale") : "");
			else if (type_is(e, "alert.close"))
				snprintf(text, sizeof(text), "by %s (%s)%s%s", who ? who : "?",
					 jsq(e->v, "detail.outcome"), txt ? ": " : "", txt ? txt : "");
			else
				snprintf(text, sizeof(text), "by %s%s%s", who ? who : "?",
					 txt ? ": " : "", txt ? txt : "");
			rc = tl_add(&tl, &ntl, e->t, e->index,
				    strcmp(what, "acknowledge") == 0 ? "acknowledged"
				    : strcmp(what, "respond") == 0   ? "initial response"
				    : strcmp(what, "determine") == 0 ? "determined"
				    : strcmp(what, "incident") == 0  ? "incident recorded"
								     : "closed",
				    text);
		}
	}
	if (rc == 0)
		qsort(tl, ntl, sizeof(*tl), tl_cmp);
	if (rc == 0 && ntl) {
		static const char *const iser[] = { "change", "alert raised", "people notified",
						    "response", "deadline", "closed" };
		int64_t end = tl[ntl - 1].t > x->deadline ? tl[ntl - 1].t : x->deadline;
		struct rchart *ic = rc_timeline(r, "From the change to the close", iser,
						ARRAY_SIZE(iser), tl[0].t, end);

		if (ic) {
			size_t lc = rc_lane(r, ic, "changes"), la = rc_lane(r, ic, "alert");

			for (size_t i = 0; i < ntl; i++) {
				const char *ev = tl[i].event;
				int cls = strcmp(ev, "change detected") == 0	? 0
					  : strcmp(ev, "alert raised") == 0	? 1
					  : strcmp(ev, "people notified") == 0 ? 2
					  : strcmp(ev, "closed") == 0		? 5
										: 3;

				rc_seg(r, ic, cls == 0 ? lc : la, tl[i].t, tl[i].t, cls);
			}
			if (x->deadline)
				rc_seg(r, ic, la, x->deadline, x->deadline, 4);
		}
	}
	for (size_t i = 0; rc == 0 && i < ntl; i++) {
		time_minute(tl[i].t, when, sizeof(when));
		rt_row(r, tt);
		rt_str(r, tt, "time", when);
		rt_str(r, tt, "event", tl[i].event);
		rt_str(r, tt, "detail", tl[i].detail);
	}
	const struct json_value *acts = x->incident_e ? jp(x->incident_e->v, "detail.actions") : NULL;

	for (size_t i = 0; acts && acts->type == JSON_ARRAY && i < acts->arr.n; i++) {
		const struct json_value *it = acts->arr.items[i];

		rt_row(r, at);
		rt_str(r, at, "kind", js(it, "kind"));
		rt_str(r, at, "text", js(it, "text"));
		rt_str(r, at, "owner", js(it, "owner"));
		if (jt(it, "due"))
			rt_time(r, at, "due", jt(it, "due")); /* one form for every time */
		else
			rt_str(r, at, "due", js(it, "due"));
		rt_str(r, at, "status", js(it, "status"));
	}
	rt_item_str(r, sum, "alert", x->id);
	rt_item_str(r, sum, "title", js(al, "title"));
	rt_item_str(r, sum, "category", js(al, "category"));
	rt_item_str(r, sum, "severity", js(al, "severity"));
	rt_item_str(r, sum, "generated", js(al, "generated"));
	rt_item_str(r, sum, "deadline", js(al, "deadline"));
	rt_item_str(r, sum, "state", x->state);
	rt_item_str(r, sum, "breached", x->breached ? "yes" : "no");
	rt_item_str(r, sum, "determination",
		    x->determine_e ? js(x->determine_e->v, "detail.determination") : NULL);
	rt_item_str(r, sum, "impact", incident_text(x, "detail.impact"));
	rt_item_str(r, sum, "scope", incident_text(x, "detail.scope"));
	rt_item_str(r, sum, "incident_severity", incident_text(x, "detail.severity"));
	rt_item_str(r, sum, "containment", incident_text(x, "detail.containment"));
	{
		const struct json_value *rcs = x->incident_e ? jp(x->incident_e->v, "detail.root_causes")
							     : NULL;
		struct buf b;

		buf_init(&b, 0);
		for (size_t i = 0; rcs && rcs->type == JSON_ARRAY && i < rcs->arr.n; i++)
			if (rcs->arr.items[i]->type == JSON_STRING &&
			    buf_printf(&b, "%s%s", b.len ? "; " : "", rcs->arr.items[i]->str.s) < 0)
				r->err = -ENOMEM;
		rt_item_str(r, sum, "root_causes", b.len ? buf_str(&b) : NULL);
		buf_release(&b);
	}

	/* the CCADB incident report's sections, to paste and complete */
	rc = rc ? rc : buf_puts(md, "# Incident Report: ");
	rc = rc ? rc : report_md_text(md, jsq(al, "title"));
	rc = rc ? rc : buf_puts(md, "\n\n## Summary\n\n- **CA Owner CCADB unique ID:** \n"
				    "- **Incident description:** ");
	rc = rc ? rc : report_md_text(md, jsq(al, "category"));
	rc = rc ? rc : buf_printf(md, " alert %s on ", x->id);
	rc = rc ? rc : report_md_text(md, r->host);
	rc = rc ? rc : buf_puts(md, ": ");
	rc = rc ? rc : report_md_text(md, jsq(al, "title"));
	rc = rc ? rc : buf_puts(md, ".\n- **Timeline summary:**\n");
	if (rc == 0 && ntl) {
		time_minute(tl[0].t, when, sizeof(when));
		rc = buf_printf(md, "  - Non-compliance start date: %s UTC\n", when);
	}
	if (rc == 0) {
		time_minute(x->generated, when, sizeof(when));
		rc = buf_printf(md, "  - Non-compliance identified date: %s UTC\n", when);
	}
	if (rc == 0 && x->close) {
		time_minute(x->close, when, sizeof(when));
		rc = buf_printf(md, "  - Non-compliance end date: %s UTC\n", when);
	}
	rc = rc ? rc : buf_puts(md, "- **Relevant policies:** \n"
				    "- **Source of incident disclosure:** Self Reported "
				    "(file-integrity monitoring alert)\n\n## Impact\n\n");
	rc = rc ? rc : report_md_text(md, incident_text(x, "detail.impact")
						  ? incident_text(x, "detail.impact") : "(not recorded)");
	rc = rc ? rc : buf_puts(md, "\n\nScope: ");
	rc = rc ? rc : report_md_text(md, incident_text(x, "detail.scope")
						  ? incident_text(x, "detail.scope") : "(not recorded)");
	rc = rc ? rc : buf_puts(md, "\n\n## Timeline\n\nAll times are UTC.\n\n"
				    "| Time (UTC) | Event | Detail |\n|---|---|---|\n");
	for (size_t i = 0; rc == 0 && i < ntl; i++) {
		time_minute(tl[i].t, when, sizeof(when));
		rc = buf_printf(md, "| %s | %s | ", when, tl[i].event);
		rc = rc ? rc : report_md_text(md, tl[i].detail);
		rc = rc ? rc : buf_puts(md, " |\n");
	}
	rc = rc ? rc : buf_puts(md, "\n## Related Incidents\n\n(none recorded)\n\n"
				    "## Root Cause Analysis\n\n");
	const struct json_value *causes = x->incident_e ? jp(x->incident_e->v, "detail.root_causes")
							: NULL;
	for (size_t i = 0; rc == 0 && causes && causes->type == JSON_ARRAY && i < causes->arr.n; i++) {
		rc = buf_printf(md, "%zu. ", i + 1);
		rc = rc ? rc : report_md_text(md, causes->arr.items[i]->type == JSON_STRING
							  ? causes->arr.items[i]->str.s : "");
		rc = rc ? rc : buf_puts(md, "\n");
	}
	rc = rc ? rc : buf_puts(md, "\nContainment: ");
	rc = rc ? rc : report_md_text(md, incident_text(x, "detail.containment")
						  ? incident_text(x, "detail.containment") : "(not recorded)");
	rc = rc ? rc : buf_puts(md, "\n\n## Lessons Learned\n\n- **What went well:** \n"
				    "- **What didn't go well:** \n- **Where we got lucky:** \n\n"
				    "## Action Items\n\n| Action Item | Kind | Corresponding Root "
				    "Cause(s) | Evaluation Criteria | Due Date | Status |\n"
				    "|---|---|---|---|---|---|\n");
	for (size_t i = 0; rc == 0 && i < at->nrows; i++) {
		const char *kind = rt_cell(at, i, "kind")->s;
		char k[32];

		snprintf(k, sizeof(k), "%s", kind ? kind : "");
		if (k[0] >= 'a' && k[0] <= 'z')
			k[0] = (char)(k[0] - 'a' + 'A'); /* Prevent, Mitigate, Detect */
		rc = buf_puts(md, "| ");
		rc = rc ? rc : report_md_text(md, rt_cell(at, i, "text")->s);
		rc = rc ? rc : buf_printf(md, " | %s | | | ", k);
		rc = rc ? rc : report_md_text(md, rt_cell(at, i, "due")->s);
		rc = rc ? rc : buf_puts(md, " | ");
		rc = rc ? rc : report_md_text(md, rt_cell(at, i, "status")->s);
		rc = rc ? rc : buf_puts(md, " |\n");
	}
	rc = rc ? rc : buf_puts(md, "\n## Appendix\n\n### Contributing changes\n\n");
	rc = rc ? rc : report_md_table(md, ct);
	rc = rc ? rc : buf_printf(md, "\n### Evidence\n\nBuilt from the journal of %s, cut at "
				      "the signed checkpoint of size %" PRIu64 " with root hash "
				      "`%s`.\n",
				  r->origin, r->size, r->root);
	for (size_t i = 0; i < ntl; i++) {
		free(tl[i].event);
		free(tl[i].detail);
	}
	free(tl);
	strmap_release(&items, NULL);
	free(a);
	return rc;
}

/* ---- control tests (E-14) ---- */

struct ct_change {
	int64_t detected, changed;
};

static int ct_change_times(void *ud, const struct rent *e)
{
	struct strmap *changes = ud;
	const char *id = js(e->v, "event.event.id");
	struct ct_change *cc = id ? strmap_get(changes, id, strlen(id)) : NULL;

	if (cc) {
		cc->detected = jt(e->v, "event.@timestamp");
		cc->changed = jt(e->v, "event.file.ctime");
	}
	return 0;
}

int rep_control_tests(struct report *r, struct vg_error *err)
{
	static const char *const cols[] = {
		"test",		"declared",	"declared_by", "text",	       "alert",
		"changed",	"detected",	"generated",   "first_delivered", "acknowledged",
		"responded",	"closed",	"detection_s", "response_s",   "end_to_end_s",
	};
	struct ainfo *a = NULL;
	size_t n = 0;
	struct rtable *t;
	struct strmap changes = { 0 };	/* change uuid -> struct ct_change */
	bool *taken;
	int rc;

	rc = alerts_index(r, &a, &n);
	if (rc < 0)
		return rc;
	taken = calloc(n ? n : 1, sizeof(*taken));
	if (!taken) {
		free(a);
		return -ENOMEM;
	}
	static const char *const cser[] = { "change to detection", "alert to response",
					    "response to close" };
	struct rchart *cc;

	snprintf(r->title, sizeof(r->title), "Control tests (E-14)");
	/* the changes behind control-test alerts: their times, one entry parsed at a time */
	for (size_t k = 0; k < n; k++) {
		const char *ref = a[k].control_test ? js(a[k].raised->v, "item.ref") : NULL;

		if (ref && !strmap_get(&changes, ref, strlen(ref))) {
			struct ct_change *chg = calloc(1, sizeof(*chg));

			if (!chg || strmap_put(&changes, ref, strlen(ref), chg, NULL) < 0) {
				free(chg);
				r->err = -ENOMEM;
			}
		}
	}
	if (changes.n && !r->err)
		r->err = report_stream(r, "change.detected", ct_change_times, &changes, err);
	cc = rc_bars(r, "End-to-end time of each test (seconds)", "test", "seconds", cser, 3);
	t = RT_NEW(r, "tests", "Declared control tests", cols);
	for (size_t i = 0; i < r->n; i++) {
		const struct rent *e = &r->ents[i];
		struct ainfo *x = NULL;
		int64_t within = 0, changed = 0, detected = 0;

		if (!type_is(e, "alert.test_declared") || !in_period(r, e->t))
			continue;
		ji(e->v, "control_test.within_s", &within);
		if (within < 0 || within > MAX_SPAN_S)
			within = 0;
		/* the first control-test alert raised while the declaration held */
		for (size_t k = 0; k < n && !x; k++)
			if (a[k].control_test && !taken[k] && a[k].generated >= e->t &&
			    a[k].generated <= e->t + within * SEC_NS) {
				x = &a[k];
				taken[k] = true;
			}
		if (x) {
			const char *ref = js(x->raised->v, "item.ref");
			struct ct_change *chg = ref ? strmap_get(&changes, ref, strlen(ref)) : NULL;

			if (chg) {
				detected = chg->detected;
				changed = chg->changed;
			}
		}
		rt_row(r, t);
		rt_str(r, t, "test", js(e->v, "control_test.id"));
		rt_time(r, t, "declared", e->t);
		rt_str(r, t, "declared_by", who_of(e->v));
		rt_str(r, t, "text", js(e->v, "control_test.text"));
		if (!x)
			continue;
		rt_str(r, t, "alert", x->id);
		rt_time(r, t, "changed", changed);
		rt_time(r, t, "detected", detected);
		rt_time(r, t, "generated", x->generated);
		rt_time(r, t, "first_delivered", x->first_delivered);
		rt_time(r, t, "acknowledged", x->ack);
		rt_time(r, t, "responded", x->respond);
		rt_time(r, t, "closed", x->close);
		set_secs(r, t, "detection_s", changed, detected);
		set_secs(r, t, "response_s", x->generated, x->respond);
		set_secs(r, t, "end_to_end_s", changed ? changed : detected ? detected : x->generated,
			 x->close ? x->close : x->respond);
		if (cc) {
			char lbl[64];
			const char *tid = js(e->v, "control_test.id");
			size_t cat;

			snprintf(lbl, sizeof(lbl), "%.8s", tid ? tid : "?");
			cat = rc_cat(r, cc, lbl);
			if (changed && detected > changed)
				rc_add(cc, cat, 0, (double)(detected - changed) / 1e9);
			if (x->respond > x->generated)
				rc_add(cc, cat, 1, (double)(x->respond - x->generated) / 1e9);
			if (x->close > x->respond && x->respond)
				rc_add(cc, cat, 2, (double)(x->close - x->respond) / 1e9);
		}
	}
	free(taken);
	free(a);
	strmap_release(&changes, free);
	return r->err;
}

/*
 * The monitoring itself: coverage and monitoring health (E-01, E-09), the journal's
 * integrity and retention (E-07, E-08), and reproducible samples (E-15).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/json-canon.h"
#include "base/macro.h"
#include "base/strmap.h"
#include "base/timeutil.h"
#include "crypto/hash.h"
#include "journal/journal.h"
#include "report/report-int.h"
#include "base/banned.h"

#define SEC_NS 1000000000LL

static void hex(const uint8_t *h, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}


/* A daemon session: from monitor.started to its end. */
struct session {
	const char *host, *mode, *run;
	int64_t from, to;
	const char *end;
	int64_t pid;
};

int rep_coverage(struct report *r, struct vg_error *err)
{
	static const char *const mcols[] = { "host", "mode", "from", "to", "end", "seconds" };
	static const char *const ccols[] = { "run",   "host",	  "kind",     "full",
					     "started", "finished", "objects",  "added",
					     "removed", "modified", "errors" };
	static const char *const gcols[] = { "gap", "host", "time", "reason", "scope", "detail",
					     "alert" };
	static const char *const kcols[] = { "host", "class", "objects", "run", "time" };
	static const char *const fcols[] = { "index", "time", "settings_sha256", "digest",
					     "rule_count", "exclusions" };
	static const char *const series[] = { "watched (fanotify)", "watched (inotify)",
					      "monitoring gap", "check" };
	struct session *ss = NULL;
	size_t nss = 0;
	struct strmap alerts = { 0 };
	struct rtable *sum, *mt, *ct, *gt, *kt, *ft;
	struct rchart *tl;
	int64_t watched = 0, last_quick = 0, last_full = 0;
	uint64_t checks = 0, full = 0, gaps = 0, gaps_alerted = 0;
	const struct rent *last_run = NULL;
	int rc = 0;

	(void)err;
	snprintf(r->title, sizeof(r->title), "Coverage and monitoring health (E-01, E-09)");
	sum = rt_summary(r, "Summary");
	tl = rc_timeline(r, "Coverage over the period", series, ARRAY_SIZE(series), r->from, r->to);
	/* sessions */
	for (size_t i = 0; rc == 0 && i < r->n; i++) {
		const struct rent *e = &r->ents[i];

		if (type_is(e, "monitor.started")) {
			struct session *n = reallocarray(ss, nss + 1, sizeof(*ss));

			if (!n) {
				rc = -ENOMEM;
				break;
			}
			ss = n;
			/* an earlier session without an end was killed or crashed */
			for (size_t k = 0; k < nss; k++)
				if (!ss[k].end) {
					ss[k].end = "killed or crashed";
				}
			ss[nss++] = (struct session){ .host = js(e->v, "monitor.host"),
						      .mode = js(e->v, "monitor.mode"),
						      .run = js(e->v, "monitor.run"), .from = e->t,
						      .to = e->t };
			ji(e->v, "monitor.pid", &ss[nss - 1].pid);
		} else if (type_is(e, "monitor.stopped") ||
			   (type_is(e, "run.finished") && js(e->v, "run.kind") &&
			    strcmp(js(e->v, "run.kind"), "watch") == 0)) {
			for (size_t k = 0; k < nss; k++)
				if (!ss[k].end) {
					ss[k].end = "stopped";
					ss[k].to = e->t;
				}
		} else if (nss && !ss[nss - 1].end) {
			/* the last sign of life: the latest entry the daemon itself appended */
			if (e->pid == ss[nss - 1].pid)
				ss[nss - 1].to = e->t;
		}
	}
	mt = RT_NEW(r, "monitoring", "Real-time monitoring sessions", mcols);
	for (size_t i = 0; rc == 0 && i < nss; i++) {
		struct session *s = &ss[i];
		int64_t from = s->from > r->from ? s->from : r->from;
		int64_t to = !s->end ? r->to : s->to;

		if (!s->end)
			s->end = r->to >= r->cp_time ? "running at the checkpoint" : "running";
		if (to > r->to)
			to = r->to;
		if (to < r->from || from > r->to)
			continue;
		watched += to - from;
		rt_row(r, mt);
		rt_str(r, mt, "host", s->host);
		rt_str(r, mt, "mode", s->mode);
		rt_time(r, mt, "from", s->from);
		rt_time(r, mt, "to", s->to ? s->to : r->to);
		rt_str(r, mt, "end", s->end);
		rt_int(r, mt, "seconds", (to - from) / SEC_NS);
		if (tl)
			rc_seg(r, tl, rc_lane(r, tl, s->host ? s->host : r->host), from, to,
			       s->mode && strcmp(s->mode, "inotify") == 0 ? 1 : 0);
	}
	ct = RT_NEW(r, "checks", "Checks", ccols);
	kt = RT_NEW(r, "classes", "Object classes examined by the latest check", kcols);
	for (size_t i = 0; rc == 0 && i < r->n; i++) {
		const struct rent *e = &r->ents[i];
		const struct json_value *run = jp(e->v, "run");
		const char *kind = js(run, "kind");
		int64_t v, started = 0;

		if (!(type_is(e, "run.finished") || type_is(e, "baseline.created")) || !kind ||
		    strcmp(kind, "watch") == 0)
			continue;
		if (strcmp(kind, "check") == 0 || strcmp(kind, "init") == 0) {
			if (e->t <= r->to)
				last_run = e;
			if (jb(run, "full") && e->t <= r->to)
				last_full = e->t;
			else if (e->t <= r->to)
				last_quick = e->t;
		}
		if (!in_period(r, e->t))
			continue;
		/* the run's start: its run.started, searched backwards */
		for (size_t k = i; k-- > 0;)
			if (type_is(&r->ents[k], "run.started") &&
			    strcmp(js(r->ents[k].v, "run.id") ? js(r->ents[k].v, "run.id") : "",
				   js(run, "id") ? js(run, "id") : "-") == 0) {
				started = r->ents[k].t;
				break;
			}
		checks++;
		full += jb(run, "full");
		rt_row(r, ct);
		rt_str(r, ct, "run", js(run, "id"));
		rt_str(r, ct, "host", js(run, "host"));
		rt_str(r, ct, "kind", kind);
		rt_bool(r, ct, "full", jb(run, "full"));
		rt_time(r, ct, "started", started);
		rt_time(r, ct, "finished", e->t);
		static const char *const counts[] = { "objects", "added", "removed", "modified",
						      "errors" };
		for (size_t c = 0; c < ARRAY_SIZE(counts); c++)
			if (ji(run, counts[c], &v))
				rt_int(r, ct, counts[c], v);
		if (tl)
			rc_seg(r, tl, rc_lane(r, tl, js(run, "host") ? js(run, "host") : r->host),
			       e->t, e->t, 3);
	}
	if (last_run) {
		const struct json_value *cl = jp(last_run->v, "run.classes");

		for (size_t k = 0; cl && cl->type == JSON_OBJECT && k < cl->obj.n; k++) {
			rt_row(r, kt);
			rt_str(r, kt, "host", js(last_run->v, "run.host"));
			rt_str(r, kt, "class", cl->obj.members[k].key);
			if (cl->obj.members[k].value->type == JSON_INT)
				rt_int(r, kt, "objects", cl->obj.members[k].value->i);
			rt_str(r, kt, "run", js(last_run->v, "run.id"));
			rt_time(r, kt, "time", last_run->t);
		}
	}
	gt = RT_NEW(r, "gaps", "Monitoring gaps", gcols);
	for (size_t i = 0; rc == 0 && i < r->n; i++) {
		const struct rent *e = &r->ents[i];
		const char *id = js(e->v, "gap.id"), *al;

		if (!type_is(e, "monitor.gap") || !in_period(r, e->t))
			continue;
		al = alert_of_item(r, &alerts, id);
		gaps++;
		gaps_alerted += al && *al;
		rt_row(r, gt);
		rt_str(r, gt, "gap", id);
		rt_str(r, gt, "host", js(e->v, "gap.host"));
		rt_time(r, gt, "time", e->t);
		rt_str(r, gt, "reason", js(e->v, "gap.reason"));
		rt_str(r, gt, "scope", js(e->v, "gap.scope"));
		rt_str(r, gt, "detail", js(e->v, "gap.detail"));
		rt_str(r, gt, "alert", al && *al ? al : NULL);
		if (tl)
			rc_seg(r, tl, rc_lane(r, tl, js(e->v, "gap.host") ? js(e->v, "gap.host") : r->host),
			       e->t, e->t, 2);
	}
	/* E-09: the configuration in effect and its changes */
	ft = RT_NEW(r, "config", "Settings and rules loaded", fcols);
	for (size_t i = 0; rc == 0 && i < r->n; i++) {
		const struct rent *e = &r->ents[i];
		const struct json_value *set = jp(e->v, "settings"), *ex = jp(e->v, "exclusions");
		struct buf b;
		uint8_t h[32];
		char digest[65] = "";
		int64_t rules;

		if (!type_is(e, "config.loaded") || !in_period(r, e->t))
			continue;
		/* the same digest as the header's: "SHA256  PATH" lines, settings then rules */
		buf_init(&b, 0);
		static const char *const lists[] = { "settings", "rules" };
		for (size_t l = 0; l < 2; l++) {
			const struct json_value *a = jp(e->v, lists[l]);

			for (size_t k = 0; a && a->type == JSON_ARRAY && k < a->arr.n; k++)
				if (js(a->arr.items[k], "sha256") && js(a->arr.items[k], "path"))
					buf_printf(&b, "%s  %s\n", js(a->arr.items[k], "sha256"),
						   js(a->arr.items[k], "path"));
		}
		if (b.len && sha256_buf(b.data, b.len, h) == 0)
			hex(h, 32, digest);
		buf_release(&b);
		rt_row(r, ft);
		rt_int(r, ft, "index", (int64_t)e->index);
		rt_time(r, ft, "time", e->t);
		rt_str(r, ft, "settings_sha256",
		       set && set->type == JSON_ARRAY && set->arr.n ? js(set->arr.items[0], "sha256")
								    : NULL);
		rt_str(r, ft, "digest", digest[0] ? digest : NULL);
		if (ji(e->v, "rule_count", &rules))
			rt_int(r, ft, "rule_count", rules);
		rt_int(r, ft, "exclusions", ex && ex->type == JSON_ARRAY ? (int64_t)ex->arr.n : 0);
	}
	rt_item_str(r, sum, "host", r->host);
	rt_item_int(r, sum, "sessions", (int64_t)mt->nrows);
	rt_item_int(r, sum, "watched_s", watched / SEC_NS);
	rt_item_int(r, sum, "period_s", (r->to - r->from) / SEC_NS);
	rt_item_int(r, sum, "checks", (int64_t)checks);
	rt_item_int(r, sum, "full_checks", (int64_t)full);
	{
		char s[RFC3339_MAX] = "";

		if (last_quick)
			time_format_rfc3339(last_quick, s, sizeof(s));
		rt_item_str(r, sum, "last_quick_check", s[0] ? s : NULL);
		s[0] = '\0';
		if (last_full)
			time_format_rfc3339(last_full, s, sizeof(s));
		rt_item_str(r, sum, "last_full_check", s[0] ? s : NULL);
	}
	rt_item_int(r, sum, "gaps", (int64_t)gaps);
	rt_item_int(r, sum, "gaps_alerted", (int64_t)gaps_alerted);
	rt_item_int(r, sum, "config_loads", (int64_t)ft->nrows);
	strmap_release(&alerts, NULL);
	free(ss);
	return rc;
}

/* ---- journal (E-07, E-08) ---- */

struct cp_ctx {
	struct report *r;
	struct rtable *t;
	uint64_t n;
};

static int add_checkpoint(void *ud, const struct store_checkpoint *c)
{
	struct cp_ctx *cc = ud;
	struct report *r = cc->r;
	char origin[256];
	uint64_t size;
	merkle_hash root;
	struct buf b;

	if (c->size > r->size || !in_period(r, c->time_ns))
		return 0;
	buf_init(&b, 0);
	if (checkpoint_parse(c->note, strlen(c->note), origin, sizeof(origin), &size, root) == 0)
		base64_encode(&b, root, sizeof(root));
	rt_row(r, cc->t);
	rt_int(r, cc->t, "id", c->id);
	rt_int(r, cc->t, "size", (int64_t)c->size);
	rt_time(r, cc->t, "time", c->time_ns);
	rt_str(r, cc->t, "root", b.len ? buf_str(&b) : NULL);
	buf_release(&b);
	cc->n++;
	return 0;
}

int rep_journal(struct report *r, struct vg_error *err)
{
	static const char *const kcols[] = { "id", "size", "time", "root" };
	static const char *const vcols[] = { "index",	"time",	   "verified", "entries",
					     "checkpoints", "problem", "by" };
	static const char *const xcols[] = { "index", "time", "size", "checkpoints", "files", "by" };
	static const char *const pcols[] = { "index",	 "time",	   "from",     "to",
					     "cutoff", "retention_days", "root_at_to" };
	static const char *const rcols[] = { "class", "entries", "purged", "oldest_index",
					     "oldest_time" };
	struct cp_ctx cc = { .r = r };
	struct rtable *sum, *vt, *xt, *pt, *rt;
	struct {
		char name[32];
		uint64_t n, purged, oldest;
		int64_t oldest_t;
	} cls[32];
	size_t ncls = 0;
	int64_t v;
	int rc;

	(void)err;
	snprintf(r->title, sizeof(r->title), "Journal integrity and retention (E-07, E-08)");
	sum = rt_summary(r, "Summary");
	cc.t = RT_NEW(r, "checkpoints", "Signed checkpoints", kcols);
	rc = store_checkpoint_each(r->store, add_checkpoint, &cc);
	if (rc < 0)
		return rc;
	static const char *const jser[] = { "change", "alert", "record", "run", "monitor",
					    "journal", "other" };
	struct rchart *jc = rc_bars(r, "Journal entries per day, by class", "day", "entries",
				    jser, ARRAY_SIZE(jser));

	vt = RT_NEW(r, "verifications", "Verification runs", vcols);
	xt = RT_NEW(r, "exports", "Exports", xcols);
	pt = RT_NEW(r, "purges", "Purges", pcols);
	for (size_t i = 0; i < r->n; i++) {
		const struct rent *e = &r->ents[i];
		const char *dot = strchr(e->type, '.');
		size_t k = 0, l = dot ? (size_t)(dot - e->type) : strlen(e->type);

		if (l >= sizeof(cls[0].name))
			l = sizeof(cls[0].name) - 1; /* a class is named by its first 31 bytes */

		while (k < ncls && (strlen(cls[k].name) != l || strncmp(cls[k].name, e->type, l) != 0))
			k++;
		if (k == ncls && ncls < ARRAY_SIZE(cls)) {
			snprintf(cls[k].name, sizeof(cls[k].name), "%.*s", (int)l, e->type);
			cls[k].n = cls[k].purged = 0;
			cls[k].oldest = UINT64_MAX;
			cls[k].oldest_t = 0;
			ncls++;
		}
		if (k < ncls) {
			cls[k].n++;
			if (e->purged)
				cls[k].purged++;
			else if (cls[k].oldest == UINT64_MAX) {
				cls[k].oldest = e->index;
				cls[k].oldest_t = e->t;
			}
		}
		if (!in_period(r, e->t))
			continue;
		if (jc) {
			char ts[RFC3339_MAX], day[16];
			size_t ser = 0;

			while (ser + 1 < ARRAY_SIZE(jser) &&
			       (strlen(jser[ser]) != l || strncmp(jser[ser], e->type, l) != 0))
				ser++;
			time_format_rfc3339(e->t, ts, sizeof(ts));
			snprintf(day, sizeof(day), "%.10s", ts);
			rc_add(jc, rc_cat(r, jc, day), ser, 1);
		}
		if (type_is(e, "journal.verified")) {
			rt_row(r, vt);
			rt_int(r, vt, "index", (int64_t)e->index);
			rt_time(r, vt, "time", e->t);
			rt_bool(r, vt, "verified", jb(e->v, "verified"));
			if (ji(e->v, "entries", &v))
				rt_int(r, vt, "entries", v);
			if (ji(e->v, "checkpoints", &v))
				rt_int(r, vt, "checkpoints", v);
			rt_str(r, vt, "problem", js(e->v, "problem"));
			rt_str(r, vt, "by", who_of(e->v));
		} else if (type_is(e, "journal.exported")) {
			rt_row(r, xt);
			rt_int(r, xt, "index", (int64_t)e->index);
			rt_time(r, xt, "time", e->t);
			if (ji(e->v, "export.size", &v))
				rt_int(r, xt, "size", v);
			if (ji(e->v, "export.checkpoints", &v))
				rt_int(r, xt, "checkpoints", v);
			if (ji(e->v, "export.files", &v))
				rt_int(r, xt, "files", v);
			rt_str(r, xt, "by", who_of(e->v));
		} else if (type_is(e, "journal.purged")) {
			rt_row(r, pt);
			rt_int(r, pt, "index", (int64_t)e->index);
			rt_time(r, pt, "time", e->t);
			if (ji(e->v, "purge.from", &v))
				rt_int(r, pt, "from", v);
			if (ji(e->v, "purge.to", &v))
				rt_int(r, pt, "to", v);
			rt_str(r, pt, "cutoff", js(e->v, "purge.cutoff"));
			if (ji(e->v, "purge.retention_days", &v))
				rt_int(r, pt, "retention_days", v);
			rt_str(r, pt, "root_at_to", js(e->v, "purge.root_at_to"));
		}
	}
	rt = RT_NEW(r, "retention", "Entries kept, by class", rcols);
	for (size_t k = 0; k < ncls; k++) {
		rt_row(r, rt);
		rt_str(r, rt, "class", cls[k].name);
		rt_int(r, rt, "entries", (int64_t)cls[k].n);
		rt_int(r, rt, "purged", (int64_t)cls[k].purged);
		if (cls[k].oldest != UINT64_MAX) {
			rt_int(r, rt, "oldest_index", (int64_t)cls[k].oldest);
			rt_time(r, rt, "oldest_time", cls[k].oldest_t);
		}
	}
	rt_item_int(r, sum, "entries", (int64_t)r->n);
	rt_item_int(r, sum, "purged", (int64_t)r->purged);
	rt_item_int(r, sum, "checkpoints", (int64_t)cc.n);
	rt_item_int(r, sum, "verifications", (int64_t)vt->nrows);
	if (r->o.retention_days)
		rt_item_int(r, sum, "retention_days_setting", r->o.retention_days);
	rt_item_str(r, sum, "verified_now", r->o.verified ? "yes" : "no");
	rt_item_str(r, sum, "problem_now",
		    r->o.verify_problem && r->o.verify_problem[0] ? r->o.verify_problem : NULL);
	return 0;
}

/* ---- sample (E-15) ---- */

struct cand {
	char key[65];
	char id[64];
	const char *kind;
	const struct rent *e;
	uint64_t *idx;
	size_t n;
};

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->id, y->id);
}

/* The entries that mention id anywhere: the evidence of a change or an alert. */
static int evidence_of(struct report *r, const char *id, uint64_t **ret, size_t *ret_n)
{
	uint64_t *v = NULL;
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++) {
		if (!r->ents[i].raw || !strstr(r->ents[i].raw, id))
			continue;
		uint64_t *nv = reallocarray(v, n + 1, sizeof(*v));

		if (!nv) {
			free(v);
			return -ENOMEM;
		}
		v = nv;
		v[n++] = r->ents[i].index;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int rep_sample(struct report *r, struct vg_error *err)
{
	static const char *const cols[] = { "rank", "kind", "id", "time", "summary", "key",
					    "evidence" };
	struct cand *c = NULL;
	size_t n = 0;
	const char *seed = r->o.seed ? r->o.seed : r->root;
	bool changes = !r->o.of || strcmp(r->o.of, "changes") == 0;
	bool alerts = !r->o.of || strcmp(r->o.of, "alerts") == 0;
	struct rtable *t;
	struct buf b;
	int rc = 0;

	if (!changes && !alerts)
		return vg_error_set(err, -EINVAL, "", 0, 0,
				    "--of takes 'changes' or 'alerts', not '%s'", r->o.of);
	snprintf(r->title, sizeof(r->title), "Sample of %s (E-15)",
		 changes && alerts ? "changes and alerts" : changes ? "changes" : "alerts");
	buf_init(&b, 0);
	for (size_t i = 0; rc == 0 && i < r->n; i++) {
		const struct rent *e = &r->ents[i];
		const char *kind = NULL, *path = NULL;
		char id[64];
		uint8_t h[32];

		/* the population is read from the entries' bytes, unparsed: only the
		 * entries drawn are parsed, for their summary */
		if (!in_period(r, e->t) || !e->raw)
			continue;
		if (changes && strcmp(e->type, "change.detected") == 0) {
			kind = "change";
			path = "event.event.id";
		} else if (alerts && strcmp(e->type, "alert.raised") == 0) {
			kind = "alert";
			path = "alert.id";
		}
		if (!path || json_path_string(e->raw, e->len, path, id, sizeof(id)) < 0)
			continue;
		struct cand *nc = reallocarray(c, n + 1, sizeof(*c));

		if (!nc) {
			rc = -ENOMEM;
			break;
		}
		c = nc;
		c[n] = (struct cand){ .kind = kind, .e = e };
		snprintf(c[n].id, sizeof(c[n].id), "%s", id);
		/* the order: SHA-256 of SEED "\n" ID, so anyone can redraw it */
		buf_reset(&b);
		rc = buf_printf(&b, "%s\n%s", seed, id);
		if (rc == 0)
			rc = sha256_buf(b.data, b.len, h);
		if (rc == 0)
			hex(h, 32, c[n].key);
		n++;
	}
	buf_release(&b);
	if (rc == 0)
		qsort(c, n, sizeof(*c), cand_cmp);
	static const char *const pser[] = { "sampled", "not sampled" };
	struct rchart *pc = rc_bars(r, "Population and sample", "kind", "items", pser, 2);

	for (size_t i = 0; pc && rc == 0 && i < n; i++)
		rc_add(pc, rc_cat(r, pc, c[i].kind), 1, 1);
	t = RT_NEW(r, "sample", "Sample", cols);
	for (size_t i = 0; rc == 0 && i < n && i < r->o.count; i++) {
		struct buf ev;

		rc = evidence_of(r, c[i].id, &c[i].idx, &c[i].n);
		if (rc < 0)
			break;
		buf_init(&ev, 0);
		for (size_t k = 0; rc == 0 && k < c[i].n; k++)
			rc = buf_printf(&ev, "%s%" PRIu64, k ? " " : "", c[i].idx[k]);
		struct json_value *v = NULL;
		char where[64];

		snprintf(where, sizeof(where), "journal entry %" PRIu64, c[i].e->index);
		if (rc == 0)
			rc = json_parse_in(r->arena, c[i].e->raw, c[i].e->len, NULL, where, &v, err);
		rt_row(r, t);
		rt_int(r, t, "rank", (int64_t)i + 1);
		rt_str(r, t, "kind", c[i].kind);
		rt_str(r, t, "id", c[i].id);
		rt_time(r, t, "time", c[i].e->t);
		rt_str(r, t, "summary", strcmp(c[i].kind, "change") == 0
						? js(v, "event.vigil.object")
						: js(v, "alert.title"));
		rt_str(r, t, "key", c[i].key);
		rt_str(r, t, "evidence", ev.len ? buf_str(&ev) : "");
		buf_release(&ev);
		if (rc == 0)
			rc = sample_add(r, c[i].id, c[i].idx, c[i].n);
		if (pc) {
			size_t cat = rc_cat(r, pc, c[i].kind);

			rc_add(pc, cat, 0, 1);
			rc_add(pc, cat, 1, -1);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(c[i].idx);
	free(c);
	return rc;
}

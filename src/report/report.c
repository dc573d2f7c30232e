/*
 * The report model: the entries read below the checkpoint, the header, tables and
 * charts, and the dispatch to each kind.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/json-canon.h"
#include "base/macro.h"
#include "base/timeutil.h"
#include "crypto/hash.h"
#include "journal/journal.h"
#include "report/report-int.h"
#include "base/banned.h"

static const char *const kind_names[REPORT__COUNT] = {
	[REPORT_COVERAGE] = "coverage",	      [REPORT_CHANGES] = "changes",
	[REPORT_RECONCILIATION] = "reconciliation", [REPORT_ALERTS] = "alerts",
	[REPORT_SEPARATION] = "separation",   [REPORT_EXCEPTIONS] = "exceptions",
	[REPORT_JOURNAL] = "journal",	      [REPORT_INCIDENT] = "incident",
	[REPORT_CONTROL_TESTS] = "control-tests", [REPORT_SAMPLE] = "sample",
};

static const char *const format_names[REPORT_FORMAT__COUNT] = {
	[REPORT_HTML] = "html", [REPORT_CSV] = "csv", [REPORT_JSON] = "json", [REPORT_MD] = "md",
};

const char *report_kind_name(enum report_kind k)
{
	return k < REPORT__COUNT ? kind_names[k] : "?";
}

int report_kind_parse(const char *s, enum report_kind *ret)
{
	for (size_t i = 0; i < REPORT__COUNT; i++)
		if (strcmp(s, kind_names[i]) == 0) {
			*ret = (enum report_kind)i;
			return 0;
		}
	return -EINVAL;
}

const char *report_format_name(enum report_format f)
{
	return f < REPORT_FORMAT__COUNT ? format_names[f] : "?";
}

int report_format_parse(const char *s, enum report_format *ret)
{
	for (size_t i = 0; i < REPORT_FORMAT__COUNT; i++)
		if (strcmp(s, format_names[i]) == 0) {
			*ret = (enum report_format)i;
			return 0;
		}
	return -EINVAL;
}

/* ---- tables ---- */

struct rtable *rt_new(struct report *r, const char *name, const char *title,
		      const char *const *cols, size_t ncols)
{
	struct rtable **v = reallocarray(r->tables, r->ntables + 1, sizeof(*v)), *t;

	if (v)
		r->tables = v;
	t = v ? calloc(1, sizeof(*t)) : NULL;
	if (!t) {
		r->err = -ENOMEM;
		return NULL;
	}
	*t = (struct rtable){ .name = name, .title = title, .cols = cols, .ncols = ncols };
	r->tables[r->ntables++] = t;
	return t;
}

struct rtable *rt_summary(struct report *r, const char *title)
{
	static const char *const cols[] = { "item", "value" };
	struct rtable *t = RT_NEW(r, "summary", title, cols);

	if (t)
		t->summary = true;
	return t;
}

void rt_row(struct report *r, struct rtable *t)
{
	if (!t)
		return;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		struct cell *c = reallocarray(t->cells, cap * t->ncols, sizeof(*c));

		if (!c) {
			r->err = -ENOMEM;
			return;
		}
		t->cells = c;
		t->cap = cap;
	}
	memset(&t->cells[t->nrows * t->ncols], 0, t->ncols * sizeof(*t->cells));
	t->nrows++;
}

static struct cell *cell_at(struct report *r, struct rtable *t, const char *col)
{
	if (!t || !t->nrows)
		return NULL;
	for (size_t i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i], col) == 0)
			return &t->cells[(t->nrows - 1) * t->ncols + i];
	r->err = r->err ? r->err : -EINVAL; /* a column the table does not have: a bug */
	return NULL;
}

void rt_str(struct report *r, struct rtable *t, const char *col, const char *s)
{
	struct cell *c = cell_at(r, t, col);

	if (!c)
		return;
	free(c->s);
	*c = (struct cell){ .k = CELL_NULL };
	if (!s)
		return;
	c->s = strdup(s);
	if (!c->s)
		r->err = -ENOMEM;
	else
		c->k = CELL_STR;
}

void rt_int(struct report *r, struct rtable *t, const char *col, int64_t v)
{
	struct cell *c = cell_at(r, t, col);

	if (c) {
		free(c->s);
		*c = (struct cell){ .k = CELL_INT, .i = v };
	}
}

void rt_bool(struct report *r, struct rtable *t, const char *col, bool v)
{
	struct cell *c = cell_at(r, t, col);

	if (c) {
		free(c->s);
		*c = (struct cell){ .k = CELL_BOOL, .i = v };
	}
}

void rt_time(struct report *r, struct rtable *t, const char *col, int64_t ns)
{
	char s[RFC3339_MAX];

	if (ns == 0 || time_format_rfc3339(ns, s, sizeof(s)) < 0) {
		rt_str(r, t, col, NULL);
		return;
	}
	rt_str(r, t, col, s);
}

void rt_printf(struct report *r, struct rtable *t, const char *col, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		r->err = -ENOMEM;
		return;
	}
	rt_str(r, t, col, s);
	free(s);
}

void rt_item_str(struct report *r, struct rtable *t, const char *item, const char *v)
{
	rt_row(r, t);
	rt_str(r, t, "item", item);
	rt_str(r, t, "value", v);
}

void rt_item_int(struct report *r, struct rtable *t, const char *item, int64_t v)
{
	rt_row(r, t);
	rt_str(r, t, "item", item);
	rt_int(r, t, "value", v);
}

const struct cell *rt_cell(const struct rtable *t, size_t row, const char *col)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i], col) == 0)
			return &t->cells[row * t->ncols + i];
	return NULL;
}

/* ---- charts ---- */

static struct rchart *chart_new(struct report *r)
{
	struct rchart **v = reallocarray(r->charts, r->ncharts + 1, sizeof(*v)), *c;

	if (v)
		r->charts = v;
	c = v ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		r->err = -ENOMEM;
		return NULL;
	}
	r->charts[r->ncharts++] = c;
	return c;
}

struct rchart *rc_bars(struct report *r, const char *title, const char *xlabel,
		       const char *ylabel, const char *const *series, size_t nser)
{
	struct rchart *c = chart_new(r);

	if (c)
		*c = (struct rchart){ .type = CHART_BARS, .title = title, .xlabel = xlabel,
				      .ylabel = ylabel, .series = series, .nser = nser };
	return c;
}

size_t rc_cat(struct report *r, struct rchart *c, const char *name)
{
	char **cats;
	double *v;

	if (!c || !c->nser)
		return SIZE_MAX;
	for (size_t i = 0; i < c->ncat; i++)
		if (strcmp(c->cats[i], name) == 0)
			return i;
	cats = reallocarray(c->cats, c->ncat + 1, sizeof(*cats));
	if (cats)
		c->cats = cats;
	v = reallocarray(c->v, (c->ncat + 1) * c->nser, sizeof(*v));
	if (v)
		c->v = v;
	if (!cats || !v || !(c->cats[c->ncat] = strdup(name))) {
		r->err = -ENOMEM;
		return SIZE_MAX;
	}
	memset(&c->v[c->ncat * c->nser], 0, c->nser * sizeof(*v));
	return c->ncat++;
}

void rc_add(struct rchart *c, size_t cat, size_t ser, double v)
{
	if (c && cat < c->ncat && ser < c->nser)
		c->v[cat * c->nser + ser] += v;
}

struct rchart *rc_timeline(struct report *r, const char *title, const char *const *series,
			   size_t nser, int64_t t0, int64_t t1)
{
	struct rchart *c = chart_new(r);

	if (c)
		*c = (struct rchart){ .type = CHART_TIMELINE, .title = title, .series = series,
				      .nser = nser, .t0 = t0, .t1 = t1 };
	return c;
}

size_t rc_lane(struct report *r, struct rchart *c, const char *name)
{
	char **l;

	for (size_t i = 0; i < c->nlanes; i++)
		if (strcmp(c->lanes[i], name) == 0)
			return i;
	l = reallocarray(c->lanes, c->nlanes + 1, sizeof(*l));
	if (!l || !(l[c->nlanes] = strdup(name))) {
		if (l)
			c->lanes = l;
		r->err = -ENOMEM;
		return SIZE_MAX;
	}
	c->lanes = l;
	return c->nlanes++;
}

void rc_seg(struct report *r, struct rchart *c, size_t lane, int64_t from, int64_t to, int cls)
{
	struct tl_seg *s;

	if (!c || lane >= c->nlanes)
		return;
	s = reallocarray(c->segs, c->nsegs + 1, sizeof(*s));
	if (!s) {
		r->err = -ENOMEM;
		return;
	}
	c->segs = s;
	c->segs[c->nsegs++] = (struct tl_seg){ .lane = lane, .from = from, .to = to, .cls = cls };
}

/* ---- entries ---- */

const struct json_value *jp(const struct json_value *v, const char *path)
{
	char key[128];

	while (v && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		v = json_get(v, key);
		path += n + (dot ? 1 : 0);
	}
	return v;
}

const char *js(const struct json_value *v, const char *path)
{
	v = jp(v, path);
	return v && v->type == JSON_STRING ? v->str.s : NULL;
}

const char *jsq(const struct json_value *v, const char *path)
{
	const char *s = js(v, path);

	return s ? s : "?";
}

bool ji(const struct json_value *v, const char *path, int64_t *out)
{
	v = jp(v, path);
	if (!v || v->type != JSON_INT)
		return false;
	*out = v->i;
	return true;
}

bool jb(const struct json_value *v, const char *path)
{
	v = jp(v, path);
	return v && v->type == JSON_BOOL && v->b;
}

int64_t jt(const struct json_value *v, const char *path)
{
	const char *s = js(v, path);
	int64_t ns;

	return s && time_parse_rfc3339(s, &ns) == 0 ? ns : 0;
}

bool in_period(const struct report *r, int64_t t)
{
	return t >= r->from && t <= r->to;
}

bool type_is(const struct rent *e, const char *type)
{
	return e->v && strcmp(e->type, type) == 0;
}

bool type_prefix(const struct rent *e, const char *prefix)
{
	return e->v && strncmp(e->type, prefix, strlen(prefix)) == 0;
}

void record_name(const struct json_value *rec, char *out, size_t size)
{
	const char *id = js(rec, "id"), *src = js(rec, "source");

	if (!id)
		snprintf(out, size, "?");
	else if (!src || strcmp(src, "local") == 0)
		snprintf(out, size, "%s", id);
	else
		snprintf(out, size, "%s/%s", src, id);
}

const char *who_of(const struct json_value *v)
{
	const char *s = js(v, "by.account");

	if (!s)
		s = js(v, "actor.login_user");
	if (!s)
		s = js(v, "actor.user");
	return s;
}

void time_minute(int64_t ns, char *out, size_t size)
{
	char s[RFC3339_MAX];

	if (time_format_rfc3339(ns, s, sizeof(s)) < 0 || strlen(s) < 16) {
		snprintf(out, size, "?");
		return;
	}
	/* "2030-01-01T10:01:..." -> "2030-01-01 10:01" */
	snprintf(out, size, "%.10s %.5s", s, s + 11);
}

int sample_add(struct report *r, const char *id, const uint64_t *idx, size_t n)
{
	struct rsample *s = reallocarray(r->samples, r->nsamples + 1, sizeof(*s));

	if (!s)
		return r->err = -ENOMEM;
	r->samples = s;
	s = &r->samples[r->nsamples];
	*s = (struct rsample){ .id = strdup(id), .idx = calloc(n ? n : 1, sizeof(*idx)), .n = n };
	if (!s->id || !s->idx) {
		free(s->id);
		free(s->idx);
		return r->err = -ENOMEM;
	}
	if (n)
		memcpy(s->idx, idx, n * sizeof(*idx));
	r->nsamples++;
	return 0;
}

size_t report_sample_count(const struct report *r)
{
	return r->nsamples;
}

const char *report_sample_id(const struct report *r, size_t i)
{
	return i < r->nsamples ? r->samples[i].id : NULL;
}

int report_sample_evidence(const struct report *r, size_t i, const uint64_t **ret_idx,
			   size_t *ret_n)
{
	if (i >= r->nsamples)
		return -EINVAL;
	*ret_idx = r->samples[i].idx;
	*ret_n = r->samples[i].n;
	return 0;
}

void report_period(const struct report *r, int64_t *ret_from, int64_t *ret_to)
{
	*ret_from = r->from;
	*ret_to = r->to;
}

/* ---- loading ---- */

struct load_ctx {
	struct report *r;
	struct vg_error *err;
	const char *types;	/* the type prefixes the kind reads, space-separated */
	bool keep_raw;		/* the kind reads entries' bytes too */
};

/*
 * The entries each kind reads, by type prefix (config.loaded for every header).  The
 * others are not parsed: parsing is most of a report's time and memory.
 */
static const char *const kind_types[REPORT__COUNT] = {
	[REPORT_COVERAGE] = "monitor. run. baseline.",
	[REPORT_CHANGES] = "record. change.authorized",
	[REPORT_RECONCILIATION] = "change.authorized record.review", /* changes: streamed */
	[REPORT_ALERTS] = "alert.",
	[REPORT_SEPARATION] = "record. alert.",
	[REPORT_EXCEPTIONS] = "record. change.authorized", /* changes: streamed */
	[REPORT_JOURNAL] = "journal.",
	[REPORT_INCIDENT] = "alert. monitor.gap", /* changes and errors: streamed */
	[REPORT_CONTROL_TESTS] = "alert.", /* changes: streamed */
	[REPORT_SAMPLE] = "", /* read from the bytes (rep_sample) */
};

/* Whether type is in types: space-separated types, or prefixes ending in '.'. */
static bool type_in(const char *types, const char *type)
{
	for (const char *p = types; p && *p;) {
		size_t n = strcspn(p, " ");

		/* "alert." is a prefix; "alert.raised" the type itself */
		if (p[n - 1] == '.' ? strncmp(type, p, n) == 0
				    : strlen(type) == n && strncmp(type, p, n) == 0)
			return true;
		p += n + (p[n] == ' ');
	}
	return false;
}

static bool wanted(const char *types, const char *type)
{
	return strcmp(type, "config.loaded") == 0 || type_in(types, type);
}

static int load_entry(void *ud, const struct store_journal_entry *e)
{
	struct load_ctx *lc = ud;
	struct report *r = lc->r;
	struct rent *x = &r->ents[r->n];
	char where[64];
	int rc;

	*x = (struct rent){ .index = e->index, .t = e->time_ns };
	snprintf(x->type, sizeof(x->type), "%s", e->type);
	r->n++;
	if (!e->data) {
		x->purged = true;
		r->purged++;
		return 0;
	}
	x->len = e->len;
	if (lc->keep_raw) {
		x->raw = malloc(e->len + 1); /* the whole entry, even with a NUL in it */
		if (!x->raw)
			return -ENOMEM;
		memcpy(x->raw, e->data, e->len);
		x->raw[e->len] = '\0';
	}
	/* who appended it (coverage: a daemon's last sign of life), for every kind */
	{
		char pid[32];

		x->pid = json_path_string((const char *)e->data, e->len, "actor.pid", pid,
					  sizeof(pid)) == 0
				 ? strtoll(pid, NULL, 10)
				 : -1;
	}
	/* the record that authorized a change, for every kind */
	if (strcmp(x->type, "change.detected") == 0) {
		char disp[32], uuid[64];

		if (json_path_string((const char *)e->data, e->len, "event.vigil.disposition", disp,
				     sizeof(disp)) == 0 &&
		    strcmp(disp, "authorized") == 0 &&
		    json_path_string((const char *)e->data, e->len,
				     "event.vigil.authorization.record.uuid", uuid, sizeof(uuid)) == 0 &&
		    !(x->link = strdup(uuid)))
			return -ENOMEM;
	}
	/* what an alert entry links (its alert and item), for every kind: cheap to read */
	if (strcmp(x->type, "alert.raised") == 0 || strcmp(x->type, "alert.grouped") == 0) {
		char aid[64], ref[64];

		if (json_path_string((const char *)e->data, e->len, "alert.id", aid, sizeof(aid)) == 0 &&
		    json_path_string((const char *)e->data, e->len, "item.ref", ref, sizeof(ref)) == 0 &&
		    asprintf(&x->link, "%s%c%s", aid, '\0', ref) < 0) {
			x->link = NULL;
			return -ENOMEM;
		}
	}
	if (!wanted(lc->types, x->type))
		return 0; /* not read by this report: left unparsed, and unseen */
	snprintf(where, sizeof(where), "journal entry %" PRIu64, e->index);
	rc = json_parse_in(r->arena, (const char *)e->data, e->len, NULL, where, &x->v, lc->err);
	return rc;
}

/* ---- streaming ---- */

struct stream_ctx {
	const char *type;
	int (*fn)(void *ud, const struct rent *e);
	void *ud;
	struct json_arena *scratch;
	struct vg_error *err;
};

static int stream_entry(void *ud, const struct store_journal_entry *e)
{
	struct stream_ctx *sc = ud;
	struct rent x = { .index = e->index, .t = e->time_ns };
	char where[64];
	int rc;

	if (!e->data || !type_in(sc->type, e->type))
		return 0;
	snprintf(x.type, sizeof(x.type), "%s", e->type);
	x.len = e->len;
	json_arena_reset(sc->scratch); /* the previous entry's tree is done with */
	snprintf(where, sizeof(where), "journal entry %" PRIu64, e->index);
	rc = json_parse_in(sc->scratch, (const char *)e->data, e->len, NULL, where, &x.v, sc->err);
	return rc < 0 ? rc : sc->fn(sc->ud, &x);
}

int report_stream(struct report *r, const char *type, int (*fn)(void *ud, const struct rent *e),
		  void *ud, struct vg_error *err)
{
	struct stream_ctx sc = { .type = type, .fn = fn, .ud = ud, .err = err,
				 .scratch = json_arena_new() };
	int rc;

	if (!sc.scratch)
		return -ENOMEM;
	rc = store_journal_each(r->store, 0, r->size, stream_entry, &sc);
	json_arena_free(sc.scratch);
	/* an entry that cannot be read is the journal's fault, not the command line's */
	return rc == -EINVAL ? -EBADMSG : rc;
}

/* NFR-06: the configuration in effect at the end of the period, from its config.loaded:
 * the main settings file's SHA-256, and the digest of every file read (one line
 * "SHA256  PATH" per file, settings then rules, in the order read, as sha256sum prints). */
static int config_digest(struct report *r)
{
	const struct json_value *last = NULL;
	struct buf b;
	uint8_t h[32];
	int rc = 0;

	for (size_t i = 0; i < r->n; i++)
		if (type_is(&r->ents[i], "config.loaded") && r->ents[i].t <= r->to)
			last = r->ents[i].v;
	if (!last)
		return 0;
	buf_init(&b, 0);
	static const char *const lists[] = { "settings", "rules" };
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		const struct json_value *a = json_get(last, lists[l]);

		for (size_t i = 0; a && a->type == JSON_ARRAY && i < a->arr.n; i++) {
			const char *p = js(a->arr.items[i], "path"), *s = js(a->arr.items[i], "sha256");

			if (!p || !s)
				continue;
			if (l == 0 && i == 0)
				snprintf(r->config_sha, sizeof(r->config_sha), "%s", s);
			rc = buf_printf(&b, "%s  %s\n", s, p);
			if (rc < 0)
				break;
		}
	}
	if (rc == 0 && b.len) {
		rc = sha256_buf(b.data, b.len, h);
		for (size_t i = 0; rc == 0 && i < 32; i++)
			snprintf(r->config_digest + 2 * i, 3, "%02x", h[i]);
	}
	buf_release(&b);
	return rc;
}

int report_build(struct store *s, const struct store_checkpoint *cut,
		 const struct report_opts *o, struct report **ret, struct vg_error *err)
{
	struct report *r = calloc(1, sizeof(*r));
	struct load_ctx lc = { .r = r, .err = err,
			       .types = o->kind < REPORT__COUNT ? kind_types[o->kind] : NULL,
			       /* sample: its population and evidence */
			       .keep_raw = o->kind == REPORT_SAMPLE };
	merkle_hash root;
	struct buf b64;
	int rc;
	static int (*const build[REPORT__COUNT])(struct report *, struct vg_error *) = {
		[REPORT_COVERAGE] = rep_coverage,
		[REPORT_CHANGES] = rep_changes,
		[REPORT_RECONCILIATION] = rep_reconciliation,
		[REPORT_ALERTS] = rep_alerts,
		[REPORT_SEPARATION] = rep_separation,
		[REPORT_EXCEPTIONS] = rep_exceptions,
		[REPORT_JOURNAL] = rep_journal,
		[REPORT_INCIDENT] = rep_incident,
		[REPORT_CONTROL_TESTS] = rep_control_tests,
		[REPORT_SAMPLE] = rep_sample,
	};

	vg_error_clear(err);
	if (o->kind >= REPORT__COUNT) {
		free(r);
		return vg_error_set(err, -EINVAL, "", 0, 0, "no such report");
	}
	if (!r)
		return -ENOMEM;
	r->o = *o;
	r->store = s;
	r->arena = json_arena_new();
	if (!r->arena) {
		free(r);
		return -ENOMEM;
	}
	buf_init(&r->md, 0);
	rc = checkpoint_parse(cut->note, strlen(cut->note), r->origin, sizeof(r->origin),
			      &r->size, root);
	if (rc < 0) {
		report_free(r);
		return vg_error_set(err, rc, "", 0, 0, "checkpoint %" PRId64 ": cannot be read",
				    cut->id);
	}
	snprintf(r->host, sizeof(r->host), "%.*s", (int)strcspn(r->origin, "/"), r->origin);
	buf_init(&b64, 0);
	rc = base64_encode(&b64, root, sizeof(root));
	if (rc == 0)
		snprintf(r->root, sizeof(r->root), "%s", buf_str(&b64));
	buf_release(&b64);
	r->cp_time = cut->time_ns;
	r->ents = calloc(r->size ? r->size : 1, sizeof(*r->ents));
	if (!r->ents || rc < 0) {
		report_free(r);
		return -ENOMEM;
	}
	rc = store_journal_each(s, 0, r->size, load_entry, &lc);
	if (rc < 0) {
		if (!err || !err->msg[0])
			vg_error_set(err, rc, "", 0, 0, "cannot read the journal: %s", strerror(-rc));
		report_free(r);
		return rc == -ENOMEM ? rc : -EBADMSG; /* the journal, not the command line */
	}
	r->from = o->from_ns;
	if (!r->from) {
		r->from = r->n ? r->ents[0].t : r->cp_time;
		for (size_t i = 0; i < r->n; i++)
			if (r->ents[i].t < r->from)
				r->from = r->ents[i].t;
	}
	r->to = o->to_ns ? o->to_ns : r->cp_time;
	if (r->to < r->from) {
		report_free(r);
		return vg_error_set(err, -EINVAL, "", 0, 0, "the period ends before it starts");
	}
	rc = config_digest(r);
	if (rc == 0)
		rc = build[o->kind](r, err);
	if (rc == 0 && r->err)
		rc = r->err;
	if (rc < 0) {
		if (err && !err->msg[0])
			vg_error_set(err, rc, "", 0, 0, "cannot build the report: %s", strerror(-rc));
		report_free(r);
		return rc;
	}
	*ret = r;
	return 0;
}

void report_free(struct report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->ents[i].raw);
		free(r->ents[i].link);
	}
	json_arena_free(r->arena); /* every entry's tree */
	free(r->ents);
	for (size_t i = 0; i < r->ntables; i++) {
		struct rtable *t = r->tables[i];

		for (size_t j = 0; j < t->nrows * t->ncols; j++)
			free(t->cells[j].s);
		free(t->cells);
		free(t);
	}
	free(r->tables);
	for (size_t i = 0; i < r->ncharts; i++) {
		struct rchart *c = r->charts[i];

		for (size_t j = 0; j < c->ncat; j++)
			free(c->cats[j]);
		for (size_t j = 0; j < c->nlanes; j++)
			free(c->lanes[j]);
		free(c->cats);
		free(c->v);
		free(c->lanes);
		free(c->segs);
		free(c);
	}
	free(r->charts);
	for (size_t i = 0; i < r->nsamples; i++) {
		free(r->samples[i].id);
		free(r->samples[i].idx);
	}
	free(r->samples);
	buf_release(&r->md);
	free(r);
}

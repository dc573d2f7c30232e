/*
 * Inside the report module: the journal entries a report reads, the tables it fills and
 * the charts drawn from them.  Each kind (report-*.c) reads r->ents and adds tables
 * with rt_new() and rows with rt_row() and the rt_set_*() setters; the writers
 * (report-write.c, report-html.c) know nothing of the kinds.
 */
#ifndef VIGIL_REPORT_REPORT_INT_H
#define VIGIL_REPORT_REPORT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/json-parse.h"
#include "report/report.h"

struct rent {
	uint64_t index;
	int64_t t;		/* when it was appended */
	char type[64];
	struct json_value *v;	/* NULL when purged, or of a type the report does not read */
	char *raw;		/* the entry's bytes (NUL-terminated), kept only for the kind
				 * that reads them (sample); NULL when purged */
	size_t len;
	bool purged;
	int64_t pid;		/* the actor's pid, -1 when not known */
	char *link;		/* read without parsing, for every kind: alert.raised and
				 * alert.grouped "ALERT_ID\0ITEM_REF"; change.detected, when
				 * authorized, the uuid of the record that authorized it */
};

enum cell_kind { CELL_NULL, CELL_STR, CELL_INT, CELL_BOOL };

struct cell {
	enum cell_kind k;
	char *s;
	int64_t i;
};

struct rtable {
	const char *name;	/* "alerts": the table's name in CSV and JSON */
	const char *title;	/* "Alerts": the heading in HTML */
	const char *const *cols;
	size_t ncols;
	struct cell *cells;	/* nrows * ncols */
	size_t nrows, cap;
	bool summary;		/* an item,value table: shown as a definition list */
};

enum chart_type { CHART_BARS, CHART_TIMELINE };

struct tl_seg {
	size_t lane;
	int64_t from, to;
	int cls;		/* an index into series: the colour and legend */
};

struct rchart {
	enum chart_type type;
	const char *title;
	const char *xlabel, *ylabel;
	const char *const *series;	/* legend names, nser of them */
	size_t nser;
	/* bars: ncat categories (x labels), a stack of nser values each */
	char **cats;
	size_t ncat;
	double *v;			/* ncat * nser */
	/* timeline: lanes, segments and marks (a zero-length segment is a mark) */
	int64_t t0, t1;
	char **lanes;
	size_t nlanes;
	struct tl_seg *segs;
	size_t nsegs;
};

struct rsample {
	char *id;
	uint64_t *idx;
	size_t n;
};

struct report {
	struct report_opts o;
	int err;			/* the first allocation failure */
	/* header */
	char origin[256];
	char host[256];			/* the origin up to its first '/' */
	char root[64];			/* base64 */
	uint64_t size;
	int64_t cp_time;
	int64_t from, to;
	char config_sha[65], config_digest[65];	/* "" for null */
	uint64_t purged;
	/* entries [0, size) */
	struct rent *ents;
	size_t n;
	/* content */
	char title[256];
	struct rtable **tables;		/* each allocated alone: pointers stay valid */
	size_t ntables;
	struct rchart **charts;
	size_t ncharts;
	struct buf md;			/* incident: the Markdown text */
	struct rsample *samples;
	size_t nsamples;
	struct store *store;
	struct json_arena *arena;	/* the parsed entries */
};

/* ---- tables ---- */
struct rtable *rt_new(struct report *r, const char *name, const char *title,
		      const char *const *cols, size_t ncols);
#define RT_NEW(r, name, title, cols) rt_new(r, name, title, cols, sizeof(cols) / sizeof(cols[0]))
struct rtable *rt_summary(struct report *r, const char *title);
/* Appends a row of nulls; the setters fill the last row by column name. */
void rt_row(struct report *r, struct rtable *t);
void rt_str(struct report *r, struct rtable *t, const char *col, const char *s);
void rt_int(struct report *r, struct rtable *t, const char *col, int64_t v);
void rt_bool(struct report *r, struct rtable *t, const char *col, bool v);
void rt_time(struct report *r, struct rtable *t, const char *col, int64_t ns); /* 0: null */
void rt_printf(struct report *r, struct rtable *t, const char *col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A summary row. */
void rt_item_str(struct report *r, struct rtable *t, const char *item, const char *v);
void rt_item_int(struct report *r, struct rtable *t, const char *item, int64_t v);
const struct cell *rt_cell(const struct rtable *t, size_t row, const char *col);

/* ---- charts ---- */
struct rchart *rc_bars(struct report *r, const char *title, const char *xlabel,
		       const char *ylabel, const char *const *series, size_t nser);
/* The index of category name (added when new, in the order of first use). */
size_t rc_cat(struct report *r, struct rchart *c, const char *name);
void rc_add(struct rchart *c, size_t cat, size_t ser, double v);
struct rchart *rc_timeline(struct report *r, const char *title, const char *const *series,
			   size_t nser, int64_t t0, int64_t t1);
size_t rc_lane(struct report *r, struct rchart *c, const char *name);
void rc_seg(struct report *r, struct rchart *c, size_t lane, int64_t from, int64_t to, int cls);

/* ---- entries ---- */
const struct json_value *jp(const struct json_value *v, const char *path); /* "a.b.c" */
const char *js(const struct json_value *v, const char *path);
const char *jsq(const struct json_value *v, const char *path);	/* js, or "?" */
bool ji(const struct json_value *v, const char *path, int64_t *out);
bool jb(const struct json_value *v, const char *path);	/* true only for true */
int64_t jt(const struct json_value *v, const char *path);	/* RFC 3339 -> ns, 0 */
bool in_period(const struct report *r, int64_t t);
bool type_is(const struct rent *e, const char *type);
bool type_prefix(const struct rent *e, const char *prefix);
/* A record's name: its id, or SOURCE/ID for an imported one. */
void record_name(const struct json_value *rec, char *out, size_t size);
/* The name of who acted: by.account, else actor.login_user, else actor.user. */
const char *who_of(const struct json_value *v);
/* "2030-01-01 10:01" (UTC, to the minute). */
void time_minute(int64_t ns, char *out, size_t size);
int sample_add(struct report *r, const char *id, const uint64_t *idx, size_t n);
/*
 * Calls fn for each entry below the checkpoint whose type is in types (as in the kinds'
 * lists: "change.detected object.error", "alert."), in order, each parsed on its own:
 * the tree lives only during the call (rows copy what they keep), so a kind that reads
 * every change holds one change at a time.  The entry is unseen in r->ents.
 */
int report_stream(struct report *r, const char *types, int (*fn)(void *ud, const struct rent *e),
		  void *ud, struct vg_error *err);

/* ---- alerts, as the journal tells them ---- */
struct ainfo {
	const char *id;
	const struct rent *raised, *last;	/* alert.raised; the last entry with the
						 * whole alert (grouped, escalated...) */
	const char *state;			/* after the last transition */
	int64_t generated, deadline, ack, respond, determine, close, breach_mark;
	int64_t first_delivered;
	const struct rent *respond_e, *determine_e, *incident_e, *close_e;
	const char *channels[16];		/* channels that delivered (the first 16) */
	size_t nch;
	bool control_test, breached;
};
int alerts_index(struct report *r, struct ainfo **ret, size_t *ret_n);
struct strmap;
/* The alert an item (a change, error or gap uuid) raised or joined; m starts empty. */
const char *alert_of_item(struct report *r, struct strmap *m, const char *ref);

/* ---- the kinds ---- */
int rep_coverage(struct report *r, struct vg_error *err);
int rep_journal(struct report *r, struct vg_error *err);
int rep_changes(struct report *r, struct vg_error *err);
int rep_reconciliation(struct report *r, struct vg_error *err);
int rep_separation(struct report *r, struct vg_error *err);
int rep_exceptions(struct report *r, struct vg_error *err);
int rep_alerts(struct report *r, struct vg_error *err);
int rep_incident(struct report *r, struct vg_error *err);
int rep_control_tests(struct report *r, struct vg_error *err);
int rep_sample(struct report *r, struct vg_error *err);

/* ---- writers ---- */
int report_write_html(const struct report *r, struct buf *out);

#endif

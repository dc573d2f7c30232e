/*
 * Audit evidence reports (requirements E-01..E-09, E-13..E-15, NFR-05): built from the
 * journal alone, cut at a signed checkpoint, so that every row can be checked against
 * the signed entries; the same journal and period give byte-identical output.
 *
 * A report is a header (period, checkpoint, configuration digest, version), tables of
 * rows (the same rows in every format) and, for HTML, charts drawn from those rows.
 * Formats and columns: vigil-report(5).
 *
 *	struct report *r;
 *	r = report_build(store, &cut, &opts, &rep, &err);
 *	report_write(rep, REPORT_HTML, &out);
 *	report_free(rep);
 */
#ifndef VIGIL_REPORT_REPORT_H
#define VIGIL_REPORT_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "store/store.h"

enum report_kind {
	REPORT_COVERAGE,
	REPORT_CHANGES,
	REPORT_RECONCILIATION,
	REPORT_ALERTS,
	REPORT_SEPARATION,
	REPORT_EXCEPTIONS,
	REPORT_JOURNAL,
	REPORT_INCIDENT,
	REPORT_CONTROL_TESTS,
	REPORT_SAMPLE,
	REPORT__COUNT,
};

enum report_format { REPORT_HTML, REPORT_CSV, REPORT_JSON, REPORT_MD, REPORT_FORMAT__COUNT };

struct report_opts {
	enum report_kind kind;
	int64_t from_ns, to_ns;		/* the period; to_ns 0: the checkpoint's time */
	const char *incident;		/* incident: the alert's id (or a unique prefix) */
	unsigned count;			/* sample: how many */
	const char *seed;		/* sample: NULL for the checkpoint's root hash */
	const char *of;			/* sample: "changes", "alerts" or NULL for both */
	const char *version;		/* Vigil's version, for the header */
	/* journal report: a verification of the store made for the report */
	bool verified;
	const char *verify_problem;	/* NULL or "" when it verified */
	unsigned retention_days;	/* the retention setting in effect (0: unknown) */
};

struct report;

/* The name of a kind ("control-tests") and back; -EINVAL for an unknown name. */
const char *report_kind_name(enum report_kind k);
int report_kind_parse(const char *s, enum report_kind *ret);
const char *report_format_name(enum report_format f);
int report_format_parse(const char *s, enum report_format *ret);

/*
 * Builds the report of o from the entries below cut->size (cut is the checkpoint the
 * report is cut at; its note names the origin and root).  Errors (an incident that does
 * not exist, an entry that cannot be read) are set in err and returned negative.
 */
int report_build(struct store *s, const struct store_checkpoint *cut,
		 const struct report_opts *o, struct report **ret, struct vg_error *err);
/* Appends the report in format f to out. */
int report_write(const struct report *r, enum report_format f, struct buf *out);
/* The journal indexes of the evidence of sample row i (i < report_sample_count). */
size_t report_sample_count(const struct report *r);
const char *report_sample_id(const struct report *r, size_t i);
int report_sample_evidence(const struct report *r, size_t i, const uint64_t **ret_idx,
			   size_t *ret_n);
/* The period the report covers, once built. */
void report_period(const struct report *r, int64_t *ret_from, int64_t *ret_to);
void report_free(struct report *r);

#endif

/* Shared by the report writers (report-write.c, report-html.c). */
#ifndef VIGIL_REPORT_REPORT_WRITE_H
#define VIGIL_REPORT_REPORT_WRITE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/timeutil.h"
#include "report/report-int.h"

#define REPORT_HFIELDS 16

/* One header field: "period.from" style keys; s NULL is null. */
struct report_hfield {
	const char *key;
	const char *s;
	bool is_int;
	int64_t i;
	char buf[RFC3339_MAX];
};

int report_header_fields(const struct report *r, struct report_hfield *f, size_t cap);
/* A cell as text (NULL for null); tmp holds numbers. */
int report_cell_text(const struct cell *c, char *tmp, size_t size, const char **ret);
int report_md_text(struct buf *out, const char *s);
int report_md_table(struct buf *out, const struct rtable *tb);

#endif

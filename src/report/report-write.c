/*
 * The text formats of a report: JSON Lines (one canonical object per line: the header,
 * then one per row), CSV (RFC 4180: a section per table) and Markdown.  HTML is in
 * report-html.c.  vigil-report(5) describes them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/json-canon.h"
#include "base/json.h"
#include "base/macro.h"
#include "base/timeutil.h"
#include "report/report-int.h"
#include "report/report-write.h"
#include "base/banned.h"

#define REPORT_FORMAT_VERSION "vigil-report/1"

int report_header_fields(const struct report *r, struct report_hfield *f, size_t cap)
{
	size_t n = 0;

#define HS(k, v) (f[n++] = (struct report_hfield){ .key = (k), .s = (v) })
#define HI(k, v) (f[n++] = (struct report_hfield){ .key = (k), .is_int = true, .i = (v) })
	if (cap < REPORT_HFIELDS)
		return -EINVAL;
	HS("format", REPORT_FORMAT_VERSION);
	HS("report", report_kind_name(r->o.kind));
	HS("title", r->title);
	HS("host", r->host);
	HS("period.from", NULL);
	time_format_rfc3339(r->from, f[n - 1].buf, sizeof(f[n - 1].buf));
	f[n - 1].s = f[n - 1].buf;
	HS("period.to", NULL);
	time_format_rfc3339(r->to, f[n - 1].buf, sizeof(f[n - 1].buf));
	f[n - 1].s = f[n - 1].buf;
	HS("checkpoint.origin", r->origin);
	HI("checkpoint.size", (int64_t)r->size);
	HS("checkpoint.root", r->root);
	HS("checkpoint.time", NULL);
	time_format_rfc3339(r->cp_time, f[n - 1].buf, sizeof(f[n - 1].buf));
	f[n - 1].s = f[n - 1].buf;
	HS("config.sha256", r->config_sha[0] ? r->config_sha : NULL);
	HS("config.digest", r->config_digest[0] ? r->config_digest : NULL);
	HS("version", r->o.version ? r->o.version : "");
	HI("entries", (int64_t)r->n);
	HI("purged", (int64_t)r->purged);
#undef HS
#undef HI
	return (int)n;
}

static void cell_json(struct json_writer *w, const struct cell *c)
{
	switch (c->k) {
	case CELL_NULL:
		jw_null(w);
		break;
	case CELL_STR:
		jw_str(w, c->s); /* text from the journal, already decoded: escaped once */
		break;
	case CELL_INT:
		jw_i64(w, c->i);
		break;
	case CELL_BOOL:
		jw_bool(w, c->i != 0);
		break;
	}
}

/* Writes one object (in w's buffer) in canonical form as a line of out. */
static int canon_line(struct buf *line, struct buf *out)
{
	int r = json_canonicalize(line->data, line->len, out);

	return r < 0 ? r : buf_putc(out, '\n');
}

static void hfield_json(struct json_writer *w, const struct report_hfield *f)
{
	if (f->is_int)
		jw_i64(w, f->i);
	else if (f->s)
		jw_str(w, f->s);
	else
		jw_null(w);
}

static int write_json(const struct report *r, struct buf *out)
{
	struct report_hfield f[REPORT_HFIELDS];
	int nf = report_header_fields(r, f, ARRAY_SIZE(f));
	struct json_writer w;
	struct buf line;
	int rc;

	if (nf < 0)
		return nf;
	buf_init(&line, 0);
	jw_init(&w, &line);
	jw_obj_open(&w);
	jw_key(&w, "type");
	jw_str(&w, "header");
	/* dotted names become nested objects: period, checkpoint, config */
	static const char *const groups[] = { "period", "checkpoint", "config" };
	for (int i = 0; i < nf; i++) {
		if (strchr(f[i].key, '.'))
			continue;
		jw_key(&w, f[i].key);
		hfield_json(&w, &f[i]);
	}
	for (size_t g = 0; g < ARRAY_SIZE(groups); g++) {
		size_t gl = strlen(groups[g]);

		jw_key(&w, groups[g]);
		jw_obj_open(&w);
		for (int i = 0; i < nf; i++) {
			if (strncmp(f[i].key, groups[g], gl) != 0 || f[i].key[gl] != '.')
				continue;
			jw_key(&w, f[i].key + gl + 1);
			hfield_json(&w, &f[i]);
		}
		jw_obj_close(&w);
	}
	jw_obj_close(&w);
	rc = w.err ? w.err : canon_line(&line, out);
	for (size_t t = 0; rc == 0 && t < r->ntables; t++) {
		const struct rtable *tb = r->tables[t];

		for (size_t i = 0; rc == 0 && i < tb->nrows; i++) {
			buf_reset(&line);
			jw_init(&w, &line);
			jw_obj_open(&w);
			jw_key(&w, "type");
			jw_str(&w, "row");
			jw_key(&w, "table");
			jw_str(&w, tb->name);
			for (size_t j = 0; j < tb->ncols; j++) {
				jw_key(&w, tb->cols[j]);
				cell_json(&w, &tb->cells[i * tb->ncols + j]);
			}
			jw_obj_close(&w);
			rc = w.err ? w.err : canon_line(&line, out);
		}
	}
	buf_release(&line);
	return rc;
}

static int csv_field(struct buf *out, const char *s, bool first)
{
	int rc = first ? 0 : buf_putc(out, ',');

	if (rc < 0 || !s)
		return rc;
	if (!strpbrk(s, ",\"\r\n"))
		return buf_puts(out, s);
	rc = buf_putc(out, '"');
	for (; rc == 0 && *s; s++)
		rc = *s == '"' ? buf_puts(out, "\"\"") : buf_putc(out, *s);
	return rc < 0 ? rc : buf_putc(out, '"');
}

int report_cell_text(const struct cell *c, char *tmp, size_t size, const char **ret)
{
	switch (c->k) {
	case CELL_NULL:
		*ret = NULL;
		break;
	case CELL_STR:
		*ret = c->s;
		break;
	case CELL_INT:
		snprintf(tmp, size, "%" PRId64, c->i);
		*ret = tmp;
		break;
	case CELL_BOOL:
		*ret = c->i ? "true" : "false";
		break;
	}
	return 0;
}

static int write_csv(const struct report *r, struct buf *out)
{
	struct report_hfield f[REPORT_HFIELDS];
	int nf = report_header_fields(r, f, ARRAY_SIZE(f));
	char tmp[32];
	int rc;

	if (nf < 0)
		return nf;
	rc = buf_puts(out, "table:header\r\nkey,value\r\n");
	for (int i = 0; rc == 0 && i < nf; i++) {
		const char *v = f[i].s;

		if (f[i].is_int) {
			snprintf(tmp, sizeof(tmp), "%" PRId64, f[i].i);
			v = tmp;
		}
		rc = csv_field(out, f[i].key, true);
		if (rc == 0)
			rc = csv_field(out, v, false);
		if (rc == 0)
			rc = buf_puts(out, "\r\n");
	}
	if (rc == 0)
		rc = buf_puts(out, "\r\n");
	for (size_t t = 0; rc == 0 && t < r->ntables; t++) {
		const struct rtable *tb = r->tables[t];

		rc = buf_printf(out, "table:%s\r\n", tb->name);
		for (size_t j = 0; rc == 0 && j < tb->ncols; j++)
			rc = csv_field(out, tb->cols[j], j == 0);
		if (rc == 0)
			rc = buf_puts(out, "\r\n");
		for (size_t i = 0; rc == 0 && i < tb->nrows; i++) {
			for (size_t j = 0; rc == 0 && j < tb->ncols; j++) {
				const char *v;

				report_cell_text(&tb->cells[i * tb->ncols + j], tmp, sizeof(tmp), &v);
				rc = csv_field(out, v, j == 0);
			}
			if (rc == 0)
				rc = buf_puts(out, "\r\n");
		}
		if (rc == 0)
			rc = buf_puts(out, "\r\n");
	}
	return rc;
}

/* Markdown text: "|" and line ends would break a table cell, "<" would start HTML. */
int report_md_text(struct buf *out, const char *s)
{
	int rc = 0;

	for (; rc == 0 && s && *s; s++) {
		if (*s == '|')
			rc = buf_puts(out, "\\|");
		else if (*s == '<')
			rc = buf_puts(out, "&lt;");
		else if (*s == '\n' || *s == '\r')
			rc = buf_putc(out, ' ');
		else
			rc = buf_putc(out, *s);
	}
	return rc;
}

int report_md_table(struct buf *out, const struct rtable *tb)
{
	char tmp[32];
	int rc = 0;

	for (size_t j = 0; rc == 0 && j < tb->ncols; j++)
		rc = buf_printf(out, "| %s ", tb->cols[j]);
	rc = rc ? rc : buf_puts(out, "|\n");
	for (size_t j = 0; rc == 0 && j < tb->ncols; j++)
		rc = buf_puts(out, "|---");
	rc = rc ? rc : buf_puts(out, "|\n");
	for (size_t i = 0; rc == 0 && i < tb->nrows; i++) {
		for (size_t j = 0; rc == 0 && j < tb->ncols; j++) {
			const char *v;

			report_cell_text(&tb->cells[i * tb->ncols + j], tmp, sizeof(tmp), &v);
			rc = buf_puts(out, "| ");
			if (rc == 0)
				rc = report_md_text(out, v ? v : "");
			if (rc == 0)
				rc = buf_putc(out, ' ');
		}
		rc = rc ? rc : buf_puts(out, "|\n");
	}
	return rc;
}

static int write_md(const struct report *r, struct buf *out)
{
	struct report_hfield f[REPORT_HFIELDS];
	int nf, rc;

	if (r->md.len)
		return buf_append(out, r->md.data, r->md.len);
	nf = report_header_fields(r, f, ARRAY_SIZE(f));
	if (nf < 0)
		return nf;
	rc = buf_printf(out, "# %s\n\n", r->title);
	for (int i = 0; rc == 0 && i < nf; i++) {
		if (f[i].is_int)
			rc = buf_printf(out, "- %s: %" PRId64 "\n", f[i].key, f[i].i);
		else
			rc = buf_printf(out, "- %s: %s\n", f[i].key, f[i].s ? f[i].s : "");
	}
	for (size_t t = 0; rc == 0 && t < r->ntables; t++) {
		rc = buf_printf(out, "\n## %s\n\n", r->tables[t]->title);
		if (rc == 0)
			rc = report_md_table(out, r->tables[t]);
	}
	return rc;
}

int report_write(const struct report *r, enum report_format f, struct buf *out)
{
	switch (f) {
	case REPORT_JSON:
		return write_json(r, out);
	case REPORT_CSV:
		return write_csv(r, out);
	case REPORT_MD:
		return write_md(r, out);
	case REPORT_HTML:
		return report_write_html(r, out);
	default:
		return -EINVAL;
	}
}

/*
 * HTML reports: one self-contained file, readable on screen and on paper, with no
 * script: inline CSS (print rules included) and charts drawn here as inline SVG.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/macro.h"
#include "base/timeutil.h"
#include "report/report-int.h"
#include "report/report-write.h"
#include "base/banned.h"

static const char *const palette[] = {
	"#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
};

static const char css[] =
	"body{font:14px/1.4 'DejaVu Sans',Helvetica,Arial,sans-serif;color:#111;margin:24px;"
	"max-width:1200px}\n"
	"h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:24px 0 6px;"
	"border-bottom:1px solid #999}\n"
	"dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;"
	"font-size:12px;margin:0}\n"
	"dl.meta dt{font-weight:bold}dl.meta dd{margin:0;word-break:break-all}\n"
	"table{border-collapse:collapse;font-size:11px;width:100%}\n"
	"th,td{border:1px solid #bbb;padding:2px 4px;text-align:left;vertical-align:top;"
	"overflow-wrap:anywhere}\n"
	"th{background:#eee}tr:nth-child(even) td{background:#f7f7f7}\n"
	"td.null{color:#999}\n"
	"figure{display:inline-block;margin:8px 16px 8px 0;vertical-align:top}\n"
	"figcaption{font-weight:bold;font-size:13px}\n"
	"svg text{font:11px 'DejaVu Sans',Helvetica,Arial,sans-serif;fill:#111}\n"
	"p.empty{color:#555;font-style:italic}\n"
	"footer{margin-top:24px;font-size:11px;color:#333}\n"
	"@page{size:A4 landscape;margin:12mm}\n"
	"@media print{body{margin:0;max-width:none;font-size:11px}"
	"thead{display:table-header-group}tr,figure{break-inside:avoid}"
	"h2{break-after:avoid}th,tr:nth-child(even) td{background:none}}\n";

static int esc(struct buf *out, const char *s)
{
	int rc = 0;

	for (; rc == 0 && s && *s; s++) {
		switch (*s) {
		case '&':
			rc = buf_puts(out, "&amp;");
			break;
		case '<':
			rc = buf_puts(out, "&lt;");
			break;
		case '>':
			rc = buf_puts(out, "&gt;");
			break;
		case '"':
			rc = buf_puts(out, "&quot;");
			break;
		case '\'':
			rc = buf_puts(out, "&#39;");
			break;
		default:
			rc = buf_putc(out, *s);
		}
	}
	return rc;
}

/* A round step for an axis going up to max: 1, 2 or 5 times a power of ten. */
static double nice_step(double max, int ticks)
{
	double raw = max / ticks, p = pow(10, floor(log10(raw > 0 ? raw : 1))), m = raw / p;

	return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

static int legend(struct buf *out, const struct rchart *c, double x, double y)
{
	int rc = 0;

	for (size_t s = 0; rc == 0 && s < c->nser; s++) {
		rc = buf_printf(out,
				"<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/>"
				"<text x=\"%.1f\" y=\"%.1f\">",
				x, y + 14.0 * (double)s, palette[s % ARRAY_SIZE(palette)], x + 14,
				y + 14.0 * (double)s + 9);
		rc = rc ? rc : esc(out, c->series[s]);
		rc = rc ? rc : buf_puts(out, "</text>");
	}
	return rc;
}

static int svg_bars(struct buf *out, const struct rchart *c)
{
	const double W = 600, H = 260, L = 48, R = 130, T = 12, B = 56;
	const double pw = W - L - R, ph = H - T - B;
	double max = 0, step, top;
	size_t every;
	int rc;

	for (size_t i = 0; i < c->ncat; i++) {
		double sum = 0;

		for (size_t s = 0; s < c->nser; s++)
			sum += c->v[i * c->nser + s];
		max = sum > max ? sum : max;
	}
	step = nice_step(max > 0 ? max : 1, 4);
	if (step < 1)
		step = 1; /* counts and seconds: whole ticks */
	top = ceil((max > 0 ? max : 1) / step) * step;
	rc = buf_printf(out,
			"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
			"viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"",
			W, H, W, H);
	rc = rc ? rc : esc(out, c->title);
	rc = rc ? rc : buf_puts(out, "\">");
	for (double y = 0; rc == 0 && y <= top + step / 2; y += step) {
		double py = T + ph - y / top * ph;

		rc = buf_printf(out,
				"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\"/>"
				"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>",
				L, py, L + pw, py, L - 4, py + 4, y);
	}
	every = c->ncat > 16 ? (c->ncat + 15) / 16 : 1;
	for (size_t i = 0; rc == 0 && i < c->ncat; i++) {
		double slot = pw / (double)c->ncat, x = L + slot * (double)i + slot * 0.15;
		double bw = slot * 0.7, base = T + ph;

		for (size_t s = 0; rc == 0 && s < c->nser; s++) {
			double v = c->v[i * c->nser + s], h = v / top * ph;

			if (v <= 0)
				continue;
			base -= h;
			rc = buf_printf(out,
					"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
					"fill=\"%s\"><title>",
					x, base, bw, h, palette[s % ARRAY_SIZE(palette)]);
			rc = rc ? rc : esc(out, c->cats[i]);
			rc = rc ? rc : buf_puts(out, ", ");
			rc = rc ? rc : esc(out, c->series[s]);
			rc = rc ? rc : buf_printf(out, ": %.0f</title></rect>", v);
		}
		if (rc == 0 && i % every == 0) {
			double tx = x + bw / 2, ty = T + ph + 12;

			rc = buf_printf(out,
					"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
					"transform=\"rotate(-35 %.1f %.1f)\">",
					tx, ty, tx, ty);
			rc = rc ? rc : esc(out, c->cats[i]);
			rc = rc ? rc : buf_puts(out, "</text>");
		}
	}
	if (rc == 0)
		rc = buf_printf(out,
				"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#111\"/>",
				L, T + ph, L + pw, T + ph);
	if (rc == 0 && c->ylabel) {
		rc = buf_printf(out,
				"<text x=\"12\" y=\"%.1f\" text-anchor=\"middle\" "
				"transform=\"rotate(-90 12 %.1f)\">",
				T + ph / 2, T + ph / 2);
		rc = rc ? rc : esc(out, c->ylabel);
		rc = rc ? rc : buf_puts(out, "</text>");
	}
	if (rc == 0 && c->xlabel) {
		rc = buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
				L + pw / 2, H - 4);
		rc = rc ? rc : esc(out, c->xlabel);
		rc = rc ? rc : buf_puts(out, "</text>");
	}
	if (rc == 0 && !c->ncat) {
		rc = buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
				     "nothing in the period</text>",
				L + pw / 2, T + ph / 2);
	}
	rc = rc ? rc : legend(out, c, L + pw + 12, T);
	return rc ? rc : buf_puts(out, "</svg>");
}

static int svg_timeline(struct buf *out, const struct rchart *c)
{
	const double W = 900, L = 150, R = 20, T = 10, lane_h = 24;
	const double pw = W - L - R, H = T + lane_h * (double)(c->nlanes ? c->nlanes : 1) + 34 +
					     14.0 * (double)c->nser;
	double span = (double)(c->t1 > c->t0 ? c->t1 - c->t0 : 1);
	char a[RFC3339_MAX], b[RFC3339_MAX];
	int rc;

	rc = buf_printf(out,
			"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
			"viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"",
			W, H, W, H);
	rc = rc ? rc : esc(out, c->title);
	rc = rc ? rc : buf_puts(out, "\">");
	for (size_t l = 0; rc == 0 && l < c->nlanes; l++) {
		double y = T + lane_h * (double)l;

		rc = buf_printf(out,
				"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
				"fill=\"#f0f0f0\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">",
				L, y + 3, pw, lane_h - 6, L - 6, y + lane_h / 2 + 4);
		rc = rc ? rc : esc(out, c->lanes[l]);
		rc = rc ? rc : buf_puts(out, "</text>");
	}
	for (size_t i = 0; rc == 0 && i < c->nsegs; i++) {
		const struct tl_seg *s = &c->segs[i];
		int64_t from = s->from < c->t0 ? c->t0 : s->from, to = s->to > c->t1 ? c->t1 : s->to;
		double x = L + (double)(from - c->t0) / span * pw;
		double w = (double)(to - from) / span * pw, y = T + lane_h * (double)s->lane;
		const char *col = palette[(size_t)s->cls % ARRAY_SIZE(palette)];

		if (to < from)
			continue;
		if (w < 2)
			w = 2; /* a point in time: a thin mark */
		time_format_rfc3339(s->from, a, sizeof(a));
		time_format_rfc3339(s->to, b, sizeof(b));
		rc = buf_printf(out,
				"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
				"fill=\"%s\"><title>",
				x, y + 3, w, lane_h - 6, col);
		rc = rc ? rc : esc(out, (size_t)s->cls < c->nser ? c->series[s->cls] : "?");
		rc = rc ? rc : buf_printf(out, ": %s – %s</title></rect>", a, b);
	}
	time_format_rfc3339(c->t0, a, sizeof(a));
	time_format_rfc3339(c->t1, b, sizeof(b));
	if (rc == 0) {
		double y = T + lane_h * (double)(c->nlanes ? c->nlanes : 1);

		rc = buf_printf(out,
				"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#111\"/>"
				"<text x=\"%.1f\" y=\"%.1f\">%s</text>"
				"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>",
				L, y, L + pw, y, L, y + 14, a, L + pw, y + 14, b);
		rc = rc ? rc : legend(out, c, L, y + 22);
	}
	return rc ? rc : buf_puts(out, "</svg>");
}

static int html_table(struct buf *out, const struct rtable *t)
{
	char tmp[32];
	int rc = buf_puts(out, "<h2>");

	rc = rc ? rc : esc(out, t->title);
	rc = rc ? rc : buf_puts(out, "</h2>\n");
	if (rc == 0 && !t->nrows)
		return buf_puts(out, "<p class=\"empty\">None in the period.</p>\n");
	if (t->summary) {
		rc = rc ? rc : buf_puts(out, "<dl class=\"meta\">");
		for (size_t i = 0; rc == 0 && i < t->nrows; i++) {
			const char *k, *v;
			char ktmp[32];

			report_cell_text(&t->cells[i * 2], ktmp, sizeof(ktmp), &k);
			report_cell_text(&t->cells[i * 2 + 1], tmp, sizeof(tmp), &v);
			rc = buf_puts(out, "<dt>");
			rc = rc ? rc : esc(out, k);
			rc = rc ? rc : buf_puts(out, "</dt><dd>");
			rc = rc ? rc : esc(out, v ? v : "—");
			rc = rc ? rc : buf_puts(out, "</dd>");
		}
		return rc ? rc : buf_puts(out, "</dl>\n");
	}
	rc = rc ? rc : buf_puts(out, "<table><thead><tr>");
	for (size_t j = 0; rc == 0 && j < t->ncols; j++) {
		rc = buf_puts(out, "<th>");
		rc = rc ? rc : esc(out, t->cols[j]);
		rc = rc ? rc : buf_puts(out, "</th>");
	}
	rc = rc ? rc : buf_puts(out, "</tr></thead>\n<tbody>\n");
	for (size_t i = 0; rc == 0 && i < t->nrows; i++) {
		rc = buf_puts(out, "<tr>");
		for (size_t j = 0; rc == 0 && j < t->ncols; j++) {
			const char *v;

			report_cell_text(&t->cells[i * t->ncols + j], tmp, sizeof(tmp), &v);
			rc = buf_puts(out, v ? "<td>" : "<td class=\"null\">");
			rc = rc ? rc : esc(out, v ? v : "—");
			rc = rc ? rc : buf_puts(out, "</td>");
		}
		rc = rc ? rc : buf_puts(out, "</tr>\n");
	}
	return rc ? rc : buf_puts(out, "</tbody></table>\n");
}

int report_write_html(const struct report *r, struct buf *out)
{
	struct report_hfield f[REPORT_HFIELDS];
	int nf = report_header_fields(r, f, ARRAY_SIZE(f));
	int rc;

	if (nf < 0)
		return nf;
	rc = buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
			   "<title>");
	rc = rc ? rc : esc(out, r->title);
	rc = rc ? rc : buf_printf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", css);
	rc = rc ? rc : esc(out, r->title);
	rc = rc ? rc : buf_puts(out, "</h1>\n<dl class=\"meta\">");
	for (int i = 0; rc == 0 && i < nf; i++) {
		char tmp[32];

		if (strcmp(f[i].key, "title") == 0)
			continue;
		rc = buf_puts(out, "<dt>");
		rc = rc ? rc : esc(out, f[i].key);
		rc = rc ? rc : buf_puts(out, "</dt><dd>");
		if (f[i].is_int) {
			snprintf(tmp, sizeof(tmp), "%" PRId64, f[i].i);
			rc = rc ? rc : esc(out, tmp);
		} else {
			rc = rc ? rc : esc(out, f[i].s ? f[i].s : "—");
		}
		rc = rc ? rc : buf_puts(out, "</dd>");
	}
	rc = rc ? rc : buf_puts(out, "</dl>\n");
	for (size_t i = 0; rc == 0 && i < r->ncharts; i++) {
		const struct rchart *c = r->charts[i];

		rc = buf_puts(out, "<figure><figcaption>");
		rc = rc ? rc : esc(out, c->title);
		rc = rc ? rc : buf_puts(out, "</figcaption>\n");
		if (rc == 0)
			rc = c->type == CHART_BARS ? svg_bars(out, c) : svg_timeline(out, c);
		rc = rc ? rc : buf_puts(out, "\n</figure>\n");
	}
	for (size_t i = 0; rc == 0 && i < r->ntables; i++)
		rc = html_table(out, r->tables[i]);
	if (rc == 0)
		rc = buf_printf(out,
				"<footer>Built from the %" PRIu64 " journal entries below the "
				"signed checkpoint of size %" PRIu64 " (root ",
				(uint64_t)r->n, r->size);
	rc = rc ? rc : esc(out, r->root);
	rc = rc ? rc : buf_puts(out, "). Every row can be checked against those entries: "
				     "vigil journal export, then vigil journal verify "
				     "--from-export.</footer>\n</body>\n</html>\n");
	return rc;
}

/*
 * Unit tests for report/: the writers (CSV, JSON Lines, Markdown, HTML) on a report
 * built by hand, and report_build() on a store and journal holding a few entries.
 */
#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/base64.h"
#include "base/buf.h"
#include "base/json-parse.h"
#include "base/object.h"
#include "base/timeutil.h"
#include "crypto/hash.h"
#include "journal/journal.h"
#include "report/report-int.h"
#include "report/report.h"
#include "store/store.h"

#define SEC 1000000000LL
#define T0 1893456000LL * SEC /* 2030-01-01T00:00:00Z */

/* ---- a report built by hand ---- */

static struct report *hand_report(void)
{
	struct report *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->o.kind = REPORT_ALERTS;
	r->o.version = "9.9";
	snprintf(r->origin, sizeof(r->origin), "h1/vigil-journal");
	snprintf(r->host, sizeof(r->host), "h1");
	snprintf(r->root, sizeof(r->root), "AAAA");
	snprintf(r->title, sizeof(r->title), "T");
	r->size = 3;
	r->cp_time = T0;
	r->from = T0;
	r->to = T0 + 3600 * SEC;
	buf_init(&r->md, 0);
	return r;
}

static const char *const nasty_cols[] = { "plain", "comma", "quote", "crlf", "pipe", "script",
					  "amp", "utf8", "none", "num", "yes", "no" };

/* One row of every awkward kind of value. */
static struct rtable *nasty_table(struct report *r)
{
	struct rtable *t = RT_NEW(r, "nasty", "Nasty <b>\"values\"</b> & 'more'", nasty_cols);

	assert_non_null(t);
	rt_row(r, t);
	rt_str(r, t, "plain", "plain");
	rt_str(r, t, "comma", "a,b");
	rt_str(r, t, "quote", "say \"hi\"");
	rt_str(r, t, "crlf", "l1\r\nl2\nl3");
	rt_str(r, t, "pipe", "a|b");
	rt_str(r, t, "script", "<script>alert(1)</script>");
	rt_str(r, t, "amp", "Tom & Jerry's");
	rt_str(r, t, "utf8", "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x94\x92");
	rt_str(r, t, "none", NULL);
	rt_int(r, t, "num", -42);
	rt_bool(r, t, "yes", true);
	rt_bool(r, t, "no", false);
	assert_int_equal(r->err, 0);
	return t;
}

static char *write_fmt(const struct report *r, enum report_format f)
{
	struct buf b;
	char *s;

	buf_init(&b, 0);
	assert_int_equal(report_write(r, f, &b), 0);
	s = strdup(b.data ? b.data : "");
	assert_non_null(s);
	assert_int_equal(strlen(s), b.len); /* no NUL inside */
	buf_release(&b);
	return s;
}

static void test_csv_quoting(void **state)
{
	struct report *r = hand_report();
	char *csv;

	nasty_table(r);
	csv = write_fmt(r, REPORT_CSV);
	/* header section first, each record ending in CRLF, null as an empty field */
	assert_ptr_equal(strstr(csv, "table:header\r\nkey,value\r\nformat,vigil-report/1\r\n"), csv);
	assert_non_null(strstr(csv, "\r\nreport,alerts\r\n"));
	assert_non_null(strstr(csv, "\r\ncheckpoint.size,3\r\n"));
	assert_non_null(strstr(csv, "\r\nperiod.from,2030-01-01T00:00:00.000000Z\r\n"));
	assert_non_null(strstr(csv, "\r\nconfig.sha256,\r\n"));
	assert_non_null(strstr(csv, "\r\npurged,0\r\n\r\ntable:nasty\r\n"));
	/* the section of the table, exactly (RFC 4180: quotes doubled, fields with a comma,
	 * a quote or a line end quoted) */
	assert_non_null(strstr(csv,
			       "\r\ntable:nasty\r\n"
			       "plain,comma,quote,crlf,pipe,script,amp,utf8,none,num,yes,no\r\n"
			       "plain,\"a,b\",\"say \"\"hi\"\"\",\"l1\r\nl2\nl3\",a|b,"
			       "<script>alert(1)</script>,Tom & Jerry's,"
			       "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x94\x92,,-42,true,false\r\n"
			       "\r\n"));
	/* ends with the empty record after the last section */
	assert_true(strlen(csv) >= 4 && strcmp(csv + strlen(csv) - 4, "\r\n\r\n") == 0);
	free(csv);
	report_free(r);
}

static void test_csv_lf_only_in_quotes(void **state)
{
	struct report *r = hand_report();
	char *csv;
	bool quoted = false;

	nasty_table(r);
	csv = write_fmt(r, REPORT_CSV);
	/* outside quoted fields every line end is CRLF */
	for (const char *p = csv; *p; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == '\n')
			assert_true(p > csv && p[-1] == '\r');
		else if (!quoted && *p == '\r')
			assert_int_equal(p[1], '\n');
	}
	assert_false(quoted);
	free(csv);
	report_free(r);
}

static void test_json_canonical(void **state)
{
	static const char *const cols[] = { "name", "n", "ok", "none", "utf8" };
	struct report *r = hand_report();
	struct rtable *t = RT_NEW(r, "t", "T", cols);
	char *json;

	rt_row(r, t);
	rt_str(r, t, "name", "a\"b\\c\n<&>");
	rt_int(r, t, "n", 5);
	rt_bool(r, t, "ok", true);
	rt_str(r, t, "utf8", "caf\xc3\xa9");
	rt_row(r, t); /* a row of nulls: every column still present */
	json = write_fmt(r, REPORT_JSON);
	assert_string_equal(
		json,
		"{\"checkpoint\":{\"origin\":\"h1/vigil-journal\",\"root\":\"AAAA\",\"size\":3,"
		"\"time\":\"2030-01-01T00:00:00.000000Z\"},\"config\":{\"digest\":null,"
		"\"sha256\":null},\"entries\":0,\"format\":\"vigil-report/1\",\"host\":\"h1\","
		"\"period\":{\"from\":\"2030-01-01T00:00:00.000000Z\","
		"\"to\":\"2030-01-01T01:00:00.000000Z\"},\"purged\":0,\"report\":\"alerts\","
		"\"title\":\"T\",\"type\":\"header\",\"version\":\"9.9\"}\n"
		"{\"n\":5,\"name\":\"a\\\"b\\\\c\\n<&>\",\"none\":null,\"ok\":true,\"table\":\"t\","
		"\"type\":\"row\",\"utf8\":\"caf\xc3\xa9\"}\n"
		"{\"n\":null,\"name\":null,\"none\":null,\"ok\":null,\"table\":\"t\","
		"\"type\":\"row\",\"utf8\":null}\n");
	free(json);
	report_free(r);
}

/* Every row line of a JSON Lines report holds every column of its table. */
static void json_rows_complete(const struct report *r, const char *json)
{
	size_t line = 0, rows = 0, want = 0;

	for (size_t t = 0; t < r->ntables; t++)
		want += r->tables[t]->nrows;
	for (const char *p = json; *p; line++) {
		const char *nl = strchr(p, '\n');
		struct json_value *v = NULL;
		struct vg_error err;
		const char *type, *table;

		assert_non_null(nl);
		assert_int_equal(json_parse(p, (size_t)(nl - p), NULL, "report", &v, &err), 0);
		assert_int_equal(v->type, JSON_OBJECT);
		type = js(v, "type");
		assert_non_null(type);
		if (line == 0) {
			assert_string_equal(type, "header");
		} else {
			const struct rtable *tb = NULL;

			assert_string_equal(type, "row");
			table = js(v, "table");
			assert_non_null(table);
			for (size_t t = 0; t < r->ntables && !tb; t++)
				if (strcmp(r->tables[t]->name, table) == 0)
					tb = r->tables[t];
			assert_non_null(tb);
			assert_int_equal(v->obj.n, tb->ncols + 2);
			for (size_t c = 0; c < tb->ncols; c++)
				assert_non_null(json_get(v, tb->cols[c]));
			rows++;
		}
		json_value_free(v);
		p = nl + 1;
	}
	assert_int_equal(rows, want);
}

static void test_json_every_column(void **state)
{
	struct report *r = hand_report();
	char *json;

	nasty_table(r);
	json = write_fmt(r, REPORT_JSON);
	json_rows_complete(r, json);
	free(json);
	report_free(r);
}

static void test_markdown_cells(void **state)
{
	struct report *r = hand_report();
	char *md;

	nasty_table(r);
	md = write_fmt(r, REPORT_MD);
	assert_ptr_equal(strstr(md, "# T\n\n- format: vigil-report/1\n"), md);
	assert_non_null(strstr(
		md, "\n## Nasty <b>\"values\"</b> & 'more'\n\n"
		    "| plain | comma | quote | crlf | pipe | script | amp | utf8 | none | num | yes | no |\n"
		    "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
		    "| plain | a,b | say \"hi\" | l1  l2 l3 | a\\|b | &lt;script>alert(1)&lt;/script> | "
		    "Tom & Jerry's | caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x94\x92 |  | -42 | true | false |\n"));
	/* every table line has as many unescaped '|' as the header line */
	{
		const char *start = strstr(md, "| plain | comma");
		int want = -1;

		for (const char *p = start; p && *p == '|';) {
			const char *nl = strchr(p, '\n');
			int bars = 0;

			for (const char *q = p; q < nl; q++)
				bars += *q == '|' && (q == p || q[-1] != '\\');
			if (want < 0)
				want = bars;
			assert_int_equal(bars, want);
			p = nl + 1;
		}
		assert_int_equal(want, 13);
	}
	free(md);
	report_free(r);
}

/* Whether s has a token "nan" or "inf" (as printf writes a non-finite double). */
static bool has_nonfinite(const char *s)
{
	for (const char *p = s; *p;) {
		char tok[16];
		size_t n = 0;

		while (*p && !(isalnum((unsigned char)*p) || *p == '.' || *p == '-'))
			p++;
		while (*p && (isalnum((unsigned char)*p) || *p == '.' || *p == '-')) {
			if (n + 1 < sizeof(tok))
				tok[n++] = (char)tolower((unsigned char)*p);
			p++;
		}
		tok[n] = '\0';
		if (!strcmp(tok, "nan") || !strcmp(tok, "-nan") || !strcmp(tok, "inf") ||
		    !strcmp(tok, "-inf") || !strcmp(tok, "infinity"))
			return true;
	}
	return false;
}

static bool contains_ci(const char *s, const char *needle)
{
	size_t n = strlen(needle);

	for (; *s; s++)
		if (strncasecmp(s, needle, n) == 0)
			return true;
	return false;
}

static void test_html_escapes(void **state)
{
	static const char *const ser[] = { "<script>x</script>", "a & b" };
	struct report *r = hand_report();
	struct rtable *sum;
	struct rchart *c;
	char *html;

	snprintf(r->title, sizeof(r->title), "<script>alert('t')</script> & \"q\"");
	snprintf(r->host, sizeof(r->host), "<script>h</script>");
	sum = rt_summary(r, "<script>s</script>");
	rt_item_str(r, sum, "<script>k</script>", "v & <script>");
	rt_item_str(r, sum, "null", NULL);
	rt_item_int(r, sum, "count", 7);
	nasty_table(r);
	c = rc_bars(r, "<script>bars</script>", "<x>", "<y>", ser, 2);
	rc_add(c, rc_cat(r, c, "<script>cat</script>"), 0, 3);
	rc_add(c, rc_cat(r, c, "\"quoted\" & 'single'"), 1, 2);
	c = rc_timeline(r, "<script>tl</script>", ser, 2, T0, T0 + 60 * SEC);
	rc_seg(r, c, rc_lane(r, c, "<script>lane</script>"), T0, T0 + 30 * SEC, 1);
	assert_int_equal(r->err, 0);
	html = write_fmt(r, REPORT_HTML);
	assert_false(contains_ci(html, "<script"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt; &amp; &quot;q&quot;"));
	assert_non_null(strstr(html, "Tom &amp; Jerry&#39;s"));
	assert_non_null(strstr(html, "say &quot;hi&quot;"));
	assert_non_null(strstr(html, "&lt;script&gt;h&lt;/script&gt;"));
	assert_non_null(strstr(html, "&lt;script&gt;lane&lt;/script&gt;"));
	assert_non_null(strstr(html, "&lt;script&gt;cat&lt;/script&gt;"));
	assert_non_null(strstr(html, "&quot;quoted&quot; &amp; &#39;single&#39;"));
	assert_non_null(strstr(html, "caf\xc3\xa9"));
	assert_non_null(strstr(html, "<svg"));
	assert_non_null(strstr(html, "<td class=\"null\">"));
	assert_non_null(strstr(html, "@media print"));
	/* every '&' starts an entity */
	for (const char *p = strchr(html, '&'); p; p = strchr(p + 1, '&'))
		assert_true(strncmp(p, "&amp;", 5) == 0 || strncmp(p, "&lt;", 4) == 0 ||
			    strncmp(p, "&gt;", 4) == 0 || strncmp(p, "&quot;", 6) == 0 ||
			    strncmp(p, "&#39;", 5) == 0);
	assert_false(has_nonfinite(html));
	free(html);
	report_free(r);
}

static void test_html_no_chart_no_svg(void **state)
{
	struct report *r = hand_report();
	char *html;

	nasty_table(r);
	html = write_fmt(r, REPORT_HTML);
	assert_null(strstr(html, "<svg"));
	assert_false(contains_ci(html, "<script"));
	assert_ptr_equal(strstr(html, "<!DOCTYPE html>"), html);
	assert_non_null(strstr(html, "</html>\n"));
	free(html);
	report_free(r);
}

static void test_html_degenerate_charts(void **state)
{
	static const char *const one[] = { "only" };
	struct report *r = hand_report();
	struct rchart *c;
	char *html;

	/* bars: no category; categories with nothing; a value of zero */
	rc_bars(r, "empty", "x", "y", one, 1);
	c = rc_bars(r, "zeros", "x", "y", one, 1);
	rc_cat(r, c, "a");
	rc_cat(r, c, "b");
	c = rc_bars(r, "many", NULL, NULL, one, 1);
	for (int i = 0; i < 40; i++) {
		char n[16];

		snprintf(n, sizeof(n), "c%d", i);
		rc_add(c, rc_cat(r, c, n), 0, i % 3 ? 1e-3 : 12345);
	}
	/* timelines: no lane; a zero-length span with a mark; a reversed span; segments
	 * before, after and across the span */
	rc_timeline(r, "no lanes", one, 1, T0, T0 + SEC);
	c = rc_timeline(r, "zero span", one, 1, T0, T0);
	rc_seg(r, c, rc_lane(r, c, "l"), T0, T0, 0);
	rc_seg(r, c, rc_lane(r, c, "l"), T0 - SEC, T0 + SEC, 0);
	c = rc_timeline(r, "reversed", one, 1, T0 + SEC, T0);
	rc_seg(r, c, rc_lane(r, c, "l"), T0, T0 + SEC, 0);
	c = rc_timeline(r, "clipped", one, 1, T0, T0 + 10 * SEC);
	rc_seg(r, c, rc_lane(r, c, "l"), T0 - 100 * SEC, T0 - 50 * SEC, 0);
	rc_seg(r, c, rc_lane(r, c, "l"), T0 + 50 * SEC, T0 + 100 * SEC, 0);
	rc_seg(r, c, rc_lane(r, c, "m"), T0 - 100 * SEC, T0 + 100 * SEC, 0);
	rc_seg(r, c, rc_lane(r, c, "m"), T0 + 5 * SEC, T0 + 5 * SEC, 0);
	assert_int_equal(r->err, 0);
	assert_int_equal(r->ncharts, 7);
	html = write_fmt(r, REPORT_HTML);
	assert_false(has_nonfinite(html));
	assert_non_null(strstr(html, "nothing in the period"));
	{
		size_t svgs = 0;

		for (const char *p = strstr(html, "<svg"); p; p = strstr(p + 1, "<svg"))
			svgs++;
		assert_int_equal(svgs, 7);
	}
	/* no negative width or height */
	assert_null(strstr(html, "width=\"-"));
	assert_null(strstr(html, "height=\"-"));
	free(html);
	report_free(r);
}

static void test_kind_names(void **state)
{
	enum report_kind k;
	enum report_format f;

	for (int i = 0; i < REPORT__COUNT; i++) {
		assert_int_equal(report_kind_parse(report_kind_name((enum report_kind)i), &k), 0);
		assert_int_equal(k, i);
	}
	assert_int_equal(report_kind_parse("Alerts", &k), -EINVAL);
	assert_int_equal(report_kind_parse("", &k), -EINVAL);
	assert_string_equal(report_kind_name(REPORT_CONTROL_TESTS), "control-tests");
	for (int i = 0; i < REPORT_FORMAT__COUNT; i++) {
		assert_int_equal(report_format_parse(report_format_name((enum report_format)i), &f), 0);
		assert_int_equal(f, i);
	}
	assert_int_equal(report_format_parse("pdf", &f), -EINVAL);
}

static void test_rt_bad_column(void **state)
{
	static const char *const cols[] = { "a" };
	struct report *r = hand_report();
	struct rtable *t = RT_NEW(r, "t", "T", cols);

	/* a setter before any row does nothing; a column the table lacks is a bug, found */
	rt_str(r, t, "a", "x");
	assert_int_equal(t->nrows, 0);
	for (int i = 0; i < 100; i++) {
		rt_row(r, t);
		rt_int(r, t, "a", i);
		rt_str(r, t, "a", "again"); /* replaces, no leak */
	}
	assert_int_equal(t->nrows, 100);
	assert_string_equal(rt_cell(t, 99, "a")->s, "again");
	assert_int_equal(r->err, 0);
	rt_str(r, t, "b", "x");
	assert_int_equal(r->err, -EINVAL);
	report_free(r);
}

/* ---- report_build on a store and journal ---- */

static char dir[64];
static int64_t now_ns;

static int64_t test_clock(void *ud)
{
	return now_ns;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

#define C1 "11111111-1111-4111-8111-111111111111"
#define C2 "22222222-2222-4222-8222-222222222222"
/* the object as the journal holds it: a newline in the name, escaped (base/escape.h) */
#define OBJ1 "/etc/a\\x0ab,c|<x>"
#define AL_A "aaaaaaaa-0000-4000-8000-000000000001"
#define AL_B "bbbbbbbb-0000-4000-8000-000000000002"

struct fixture {
	struct store *s;
	struct journal *j;
	struct store_checkpoint cut;
};

static void append_at(struct fixture *f, int64_t t, const char *type, const char *json)
{
	now_ns = t;
	assert_int_equal(journal_append(f->j, type, json, NULL), 0);
	assert_int_equal(store_tx_commit(f->s), 0);
}

static int setup_store(void **state)
{
	static struct fixture f;
	struct journal_config cfg = { .origin = "h1.example/vigil-journal", .create_key = true };
	struct vg_error err;
	char key[128];

	memset(&f, 0, sizeof(f));
	snprintf(dir, sizeof(dir), "/tmp/vigil-report-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(key, sizeof(key), "%s/journal.key", dir);
	cfg.key_path = key;
	clock_set_source(test_clock, NULL);
	vg_error_clear(&err);
	if (store_open(dir, STORE_CREATE, &f.s, &err) < 0 ||
	    journal_open(f.s, &cfg, &f.j, &err) < 0)
		return -1;
	append_at(&f, T0, "change.detected",
		  "{\"event\":{\"@timestamp\":\"2030-01-01T00:00:00.000000Z\","
		  "\"event\":{\"id\":\"" C1 "\"},"
		  "\"file\":{\"ctime\":\"2029-12-31T23:59:58.000000Z\"},"
		  "\"host\":{\"name\":\"h1\"},"
		  "\"vigil\":{\"object\":\"/etc/a\\\\x0ab,c|<x>\",\"change\":\"modified\","
		  "\"disposition\":\"unauthorized\",\"detection\":{\"source\":\"fanotify\"}}}}");
	append_at(&f, T0 + 1 * SEC, "alert.raised",
		  "{\"alert\":{\"id\":\"" AL_A "\",\"category\":\"unauthorized_change\","
		  "\"severity\":\"high\",\"title\":\"Unauthorized change to /etc/a\","
		  "\"generated\":\"2030-01-01T00:00:01.000000Z\","
		  "\"deadline\":\"2030-01-02T00:00:01.000000Z\"},"
		  "\"item\":{\"kind\":\"change\",\"ref\":\"" C1 "\"},"
		  "\"transition\":{\"to\":\"open\"}}");
	append_at(&f, T0 + 2 * SEC, "change.detected",
		  "{\"event\":{\"@timestamp\":\"2030-01-01T00:00:02.000000Z\","
		  "\"event\":{\"id\":\"" C2 "\"},"
		  "\"host\":{\"name\":\"h1\"},"
		  "\"vigil\":{\"object\":\"/etc/b\",\"change\":\"added\","
		  "\"disposition\":\"authorized\",\"authorization\":{\"by\":\"change_record\","
		  "\"record\":{\"id\":\"CR-000001\",\"source\":\"local\"}}}}}");
	/* no severity nor category: the writers must not print "(null)" */
	append_at(&f, T0 + 10 * SEC, "alert.raised",
		  "{\"alert\":{\"id\":\"" AL_B "\",\"title\":\"Gap\","
		  "\"generated\":\"2030-01-01T00:00:10.000000Z\","
		  "\"deadline\":\"2030-01-02T00:00:10.000000Z\"},"
		  "\"transition\":{\"to\":\"open\"}}");
	append_at(&f, T0 + 20 * SEC, "alert.respond",
		  "{\"alert\":{\"id\":\"" AL_B "\"},\"transition\":{\"to\":\"responded\"},"
		  "\"by\":{\"account\":\"rita\"},\"detail\":{\"text\":\"on it\"}}");
	/* the first alert answered an hour after its deadline */
	append_at(&f, T0 + 90000 * SEC, "alert.respond",
		  "{\"alert\":{\"id\":\"" AL_A "\"},\"transition\":{\"to\":\"responded\"},"
		  "\"by\":{\"account\":\"rita\"},\"detail\":{\"text\":\"late\"}}");
	now_ns = T0 + 90001 * SEC;
	if (journal_checkpoint(f.j, NULL) < 0 || store_tx_commit(f.s) < 0 ||
	    store_checkpoint_latest(f.s, &f.cut) != 1)
		return -1;
	*state = &f;
	return 0;
}

static int teardown_store(void **state)
{
	struct fixture *f = *state;

	store_checkpoint_release(&f->cut);
	journal_close(f->j);
	store_close(f->s);
	clock_set_source(NULL, NULL);
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct report *build(struct fixture *f, const struct report_opts *o)
{
	struct report *r = NULL;
	struct vg_error err;

	assert_int_equal(report_build(f->s, &f->cut, o, &r, &err), 0);
	assert_non_null(r);
	return r;
}

static const struct rtable *table(const struct report *r, const char *name)
{
	for (size_t i = 0; i < r->ntables; i++)
		if (strcmp(r->tables[i]->name, name) == 0)
			return r->tables[i];
	fail_msg("no table %s", name);
	return NULL;
}

/* The row of t whose column col is the string v. */
static size_t row_of(const struct rtable *t, const char *col, const char *v)
{
	for (size_t i = 0; i < t->nrows; i++) {
		const struct cell *c = rt_cell(t, i, col);

		if (c->k == CELL_STR && strcmp(c->s, v) == 0)
			return i;
	}
	fail_msg("no row with %s = %s", col, v);
	return 0;
}

static void cell_str(const struct rtable *t, size_t row, const char *col, const char *want)
{
	const struct cell *c = rt_cell(t, row, col);

	assert_non_null(c);
	if (!want) {
		assert_int_equal(c->k, CELL_NULL);
		return;
	}
	assert_int_equal(c->k, CELL_STR);
	assert_string_equal(c->s, want);
}

static void cell_int(const struct rtable *t, size_t row, const char *col, int64_t want)
{
	const struct cell *c = rt_cell(t, row, col);

	assert_non_null(c);
	assert_int_equal(c->k, CELL_INT);
	assert_int_equal(c->i, want);
}

static void cell_bool(const struct rtable *t, size_t row, const char *col, bool want)
{
	const struct cell *c = rt_cell(t, row, col);

	assert_non_null(c);
	assert_int_equal(c->k, CELL_BOOL);
	assert_int_equal(c->i != 0, want);
}

static int64_t summary_int(const struct report *r, const char *item)
{
	const struct rtable *t = table(r, "summary");

	for (size_t i = 0; i < t->nrows; i++)
		if (strcmp(rt_cell(t, i, "item")->s, item) == 0) {
			assert_int_equal(rt_cell(t, i, "value")->k, CELL_INT);
			return rt_cell(t, i, "value")->i;
		}
	fail_msg("no summary item %s", item);
	return -1;
}

static void test_build_alerts(void **state)
{
	struct fixture *f = *state;
	struct report_opts o = { .kind = REPORT_ALERTS, .version = "9.9" };
	struct report *r = build(f, &o);
	const struct rtable *t = table(r, "alerts");
	size_t a, b;
	int64_t from, to;
	char *json;

	assert_int_equal(r->n, 6);
	assert_int_equal(r->purged, 0);
	assert_int_equal(r->size, 6);
	assert_string_equal(r->host, "h1.example");
	report_period(r, &from, &to);
	assert_int_equal(from, T0);
	assert_int_equal(to, T0 + 90001 * SEC);
	assert_int_equal(t->nrows, 2);
	a = row_of(t, "alert", AL_A);
	b = row_of(t, "alert", AL_B);
	cell_bool(t, a, "breached", true);
	cell_int(t, a, "response_s", 89999);
	cell_str(t, a, "responded", "2030-01-02T01:00:00.000000Z");
	cell_str(t, a, "generated", "2030-01-01T00:00:01.000000Z");
	cell_str(t, a, "deadline", "2030-01-02T00:00:01.000000Z");
	cell_str(t, a, "severity", "high");
	cell_str(t, a, "state", "responded");
	cell_bool(t, a, "control_test", false);
	cell_str(t, a, "acknowledged", NULL);
	cell_bool(t, b, "breached", false);
	cell_int(t, b, "response_s", 10);
	cell_str(t, b, "severity", NULL);
	assert_int_equal(summary_int(r, "alerts"), 2);
	assert_int_equal(summary_int(r, "breached"), 1);
	assert_int_equal(summary_int(r, "channels_used"), 0);
	json = write_fmt(r, REPORT_JSON);
	json_rows_complete(r, json);
	assert_non_null(strstr(json, "\"entries\":6,"));
	assert_non_null(strstr(json, "\"purged\":0,"));
	free(json);
	report_free(r);
}

static void test_build_reconciliation(void **state)
{
	struct fixture *f = *state;
	struct report_opts o = { .kind = REPORT_RECONCILIATION, .version = "9.9" };
	struct report *r = build(f, &o);
	const struct rtable *t = table(r, "changes");
	size_t c1, c2;

	assert_int_equal(t->nrows, 2);
	c1 = row_of(t, "change", C1);
	c2 = row_of(t, "change", C2);
	cell_int(t, c1, "index", 0);
	cell_str(t, c1, "disposition", "unauthorized");
	cell_str(t, c1, "alert", AL_A);
	cell_str(t, c1, "by", NULL);
	cell_str(t, c1, "authorized_by", NULL);
	cell_str(t, c1, "object", OBJ1);
	cell_str(t, c1, "source", "fanotify");
	cell_int(t, c1, "latency_s", 2);
	cell_int(t, c2, "index", 2);
	cell_str(t, c2, "disposition", "authorized");
	cell_str(t, c2, "by", "change_record");
	cell_str(t, c2, "authorized_by", "CR-000001");
	cell_str(t, c2, "alert", NULL);
	assert_int_equal(summary_int(r, "changes"), 2);
	assert_int_equal(summary_int(r, "authorized"), 1);
	assert_int_equal(summary_int(r, "unauthorized"), 1);
	assert_int_equal(summary_int(r, "unauthorized_alerted"), 1);
	assert_int_equal(summary_int(r, "unauthorized_not_alerted"), 0);
	/* a value reaches every format as the journal holds it */
	{
		char *json = write_fmt(r, REPORT_JSON), *csv = write_fmt(r, REPORT_CSV);
		char *html = write_fmt(r, REPORT_HTML);
		const char *p = strstr(json, "\"change\":\"" C1 "\"");
		struct json_value *v = NULL;
		struct vg_error err;

		assert_non_null(strstr(csv, ",\"" OBJ1 "\","));
		assert_non_null(strstr(html, "<td>/etc/a\\x0ab,c|&lt;x&gt;</td>"));
		assert_non_null(p);
		while (p > json && p[-1] != '\n')
			p--;
		assert_int_equal(json_parse(p, (size_t)(strchr(p, '\n') - p), NULL, "row", &v, &err), 0);
		assert_non_null(js(v, "object"));
		assert_string_equal(js(v, "object"), OBJ1);
		json_value_free(v);
		free(json);
		free(csv);
		free(html);
	}
	report_free(r);
}

/* The same journal gives the same bytes: written twice, and built twice. */
static void test_build_deterministic(void **state)
{
	struct fixture *f = *state;

	for (int k = 0; k < REPORT__COUNT; k++) {
		struct report_opts o = { .kind = (enum report_kind)k, .version = "9.9",
					 .incident = AL_A, .count = 3, .seed = "s" };
		struct report *r1 = build(f, &o), *r2 = build(f, &o);

		for (int fmt = 0; fmt < REPORT_FORMAT__COUNT; fmt++) {
			char *a = write_fmt(r1, (enum report_format)fmt);
			char *b = write_fmt(r1, (enum report_format)fmt);
			char *c = write_fmt(r2, (enum report_format)fmt);

			assert_string_equal(a, b);
			assert_string_equal(a, c);
			if (fmt == REPORT_HTML)
				assert_false(contains_ci(a, "<script"));
			if (fmt == REPORT_JSON)
				json_rows_complete(r1, a);
			free(a);
			free(b);
			free(c);
		}
		report_free(r1);
		report_free(r2);
	}
}

static void test_build_no_null_text(void **state)
{
	struct fixture *f = *state;

	/* a missing field is null or left out, never printed as "(null)" */
	for (int k = 0; k < REPORT__COUNT; k++) {
		static const char *const ids[] = { AL_A, AL_B };

		for (size_t i = 0; i < 2; i++) {
			struct report_opts o = { .kind = (enum report_kind)k, .version = "9.9",
						 .incident = ids[i], .count = 3, .seed = "s" };
			struct report *r = build(f, &o);

			for (int fmt = 0; fmt < REPORT_FORMAT__COUNT; fmt++) {
				char *s = write_fmt(r, (enum report_format)fmt);

				if (strstr(s, "(null)"))
					fail_msg("report %s (alert %s) as %s prints (null)",
						 report_kind_name((enum report_kind)k), ids[i],
						 report_format_name((enum report_format)fmt));
				free(s);
			}
			report_free(r);
		}
	}
}

static void test_build_incident(void **state)
{
	struct fixture *f = *state;
	struct report_opts o = { .kind = REPORT_INCIDENT, .version = "9.9", .incident = "aaaaaaaa" };
	struct report *r = build(f, &o);
	struct vg_error err;
	const struct rtable *t;
	char *md;

	t = table(r, "changes");
	assert_int_equal(t->nrows, 1);
	cell_str(t, 0, "change", C1);
	t = table(r, "timeline");
	assert_true(t->nrows >= 3);
	cell_str(t, 0, "time", "2030-01-01 00:00");
	md = write_fmt(r, REPORT_MD);
	assert_ptr_equal(strstr(md, "# Incident Report: Unauthorized change to /etc/a\n"), md);
	/* the object's '|' does not break the appendix table */
	assert_non_null(strstr(md, "/etc/a\\x0ab,c\\|&lt;x>"));
	free(md);
	report_free(r);

	r = (struct report *)0x1;
	o.incident = "ffffffff-0000";
	assert_int_equal(report_build(f->s, &f->cut, &o, &r, &err), -ENOENT);
	assert_ptr_equal(r, (struct report *)0x1);
	assert_non_null(strstr(err.msg, "ffffffff-0000"));
	o.incident = "aaaaaaa"; /* 7 characters */
	assert_int_equal(report_build(f->s, &f->cut, &o, &r, &err), -EINVAL);
	assert_true(err.msg[0] != '\0');
	o.incident = NULL;
	assert_int_equal(report_build(f->s, &f->cut, &o, &r, &err), -EINVAL);
	assert_true(err.msg[0] != '\0');
}

static void key_of(const char *seed, const char *id, char out[65])
{
	char text[256];
	uint8_t h[SHA256_LEN];
	int n = snprintf(text, sizeof(text), "%s\n%s", seed, id);

	assert_int_equal(sha256_buf(text, (size_t)n, h), 0);
	hex_encode(h, sizeof(h), out);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void check_sample(struct fixture *f, const char *seed, const char *key_seed,
			 const char *of, unsigned count)
{
	static const char *const changes[] = { C1, C2 }, *const alerts[] = { AL_A, AL_B };
	struct report_opts o = { .kind = REPORT_SAMPLE, .version = "9.9", .count = count,
				 .seed = seed, .of = of };
	char keys[4][65 + 40];
	size_t n = 0, want;
	struct report *r = build(f, &o);
	const struct rtable *t = table(r, "sample");

	for (size_t i = 0; i < 2; i++) {
		if (!of || strcmp(of, "changes") == 0) {
			key_of(key_seed, changes[i], keys[n]);
			snprintf(keys[n++] + 64, 41, "%s", changes[i]);
		}
		if (!of || strcmp(of, "alerts") == 0) {
			key_of(key_seed, alerts[i], keys[n]);
			snprintf(keys[n++] + 64, 41, "%s", alerts[i]);
		}
	}
	qsort(keys, n, sizeof(keys[0]), cmp_str);
	want = count < n ? count : n;
	assert_int_equal(t->nrows, want);
	assert_int_equal(report_sample_count(r), want);
	for (size_t i = 0; i < want; i++) {
		char k[65];
		const uint64_t *idx;
		size_t ni;

		snprintf(k, sizeof(k), "%.64s", keys[i]);
		cell_int(t, i, "rank", (int64_t)i + 1);
		cell_str(t, i, "key", k);
		cell_str(t, i, "id", keys[i] + 64);
		assert_string_equal(report_sample_id(r, i), keys[i] + 64);
		assert_int_equal(report_sample_evidence(r, i, &idx, &ni), 0);
		assert_true(ni >= 1);
		if (strcmp(keys[i] + 64, C1) == 0) {
			cell_str(t, i, "evidence", "0 1");
			cell_str(t, i, "kind", "change");
		} else if (strcmp(keys[i] + 64, AL_A) == 0) {
			cell_str(t, i, "evidence", "1 5");
			cell_str(t, i, "kind", "alert");
		}
	}
	assert_int_equal(report_sample_evidence(r, want, NULL, NULL), -EINVAL);
	report_free(r);
}

static void test_build_sample(void **state)
{
	struct fixture *f = *state;
	char origin[256], root64[64];
	uint64_t size;
	merkle_hash root;
	struct buf b;

	check_sample(f, "s33d", "s33d", NULL, 100);
	check_sample(f, "s33d", "s33d", NULL, 2);
	check_sample(f, "other", "other", NULL, 1);
	check_sample(f, "s33d", "s33d", "changes", 5);
	check_sample(f, "s33d", "s33d", "alerts", 1);
	/* no seed: the checkpoint's root hash, in base64 */
	assert_int_equal(checkpoint_parse(f->cut.note, strlen(f->cut.note), origin, sizeof(origin),
					  &size, root),
			 0);
	buf_init(&b, 0);
	assert_int_equal(base64_encode(&b, root, sizeof(root)), 0);
	snprintf(root64, sizeof(root64), "%s", buf_str(&b));
	buf_release(&b);
	check_sample(f, NULL, root64, NULL, 4);
}

static void test_build_period(void **state)
{
	struct fixture *f = *state;
	struct report_opts o = { .kind = REPORT_ALERTS, .version = "9.9",
				 .from_ns = T0 + 5 * SEC, .to_ns = T0 + 3600 * SEC };
	struct report *r = build(f, &o);
	const struct rtable *t = table(r, "alerts");
	struct vg_error err;

	/* only the second alert was raised in the period */
	assert_int_equal(t->nrows, 1);
	cell_str(t, 0, "alert", AL_B);
	report_free(r);
	o.from_ns = T0 + 7200 * SEC;
	r = NULL;
	assert_int_equal(report_build(f->s, &f->cut, &o, &r, &err), -EINVAL);
	assert_null(r);
	assert_true(err.msg[0] != '\0');
}

/* Opens a store and journal of their own in a subdirectory of dir. */
static void open_other(const char *name, struct store **s, struct journal **j)
{
	struct journal_config cfg = { .origin = "h2/vigil-journal", .create_key = true };
	struct vg_error err;
	char sub[128], key[160];

	snprintf(sub, sizeof(sub), "%s/%s", dir, name);
	snprintf(key, sizeof(key), "%s/journal.key", sub);
	cfg.key_path = key;
	vg_error_clear(&err);
	assert_int_equal(store_open(sub, STORE_CREATE, s, &err), 0);
	assert_int_equal(journal_open(*s, &cfg, j, &err), 0);
}

/*
 * A record acted on by a person whose account name is empty: the register still comes
 * out (run in a child with a time limit, so that a hang fails the test instead of
 * blocking the suite).
 */
static void test_build_empty_actor(void **state)
{
	struct fixture f = { 0 };
	pid_t pid;
	int status;

	open_other("empty-actor", &f.s, &f.j);
	append_at(&f, T0, "record.created",
		  "{\"record\":{\"uuid\":\"r1\",\"id\":\"CR-000002\",\"source\":\"local\","
		  "\"type\":\"normal\",\"state\":\"new\"},\"by\":{\"account\":\"carol\"}}");
	append_at(&f, T0 + SEC, "record.start",
		  "{\"record\":{\"uuid\":\"r1\",\"id\":\"CR-000002\",\"source\":\"local\","
		  "\"type\":\"normal\",\"state\":\"started\"},\"by\":{\"account\":\"bob\"}}");
	append_at(&f, T0 + 2 * SEC, "record.complete",
		  "{\"record\":{\"uuid\":\"r1\",\"id\":\"CR-000002\",\"source\":\"local\","
		  "\"type\":\"normal\",\"state\":\"completed\"},\"by\":{\"account\":\"\"}}");
	now_ns = T0 + 3 * SEC;
	assert_int_equal(journal_checkpoint(f.j, NULL), 0);
	assert_int_equal(store_tx_commit(f.s), 0);
	assert_int_equal(store_checkpoint_latest(f.s, &f.cut), 1);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct report_opts o = { .kind = REPORT_CHANGES, .version = "9.9" };
		struct report *r = NULL;
		struct vg_error err;
		int rc;

		alarm(10);
		rc = report_build(f.s, &f.cut, &o, &r, &err);
		if (rc == 0) {
			const struct cell *c = rt_cell(r->tables[0], 0, "implementers");

			rc = r->tables[0]->nrows == 1 && c->k == CELL_STR &&
			     strcmp(c->s, "bob") == 0 ? 0 : 1;
			report_free(r);
		}
		_exit(rc == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	store_checkpoint_release(&f.cut);
	journal_close(f.j);
	store_close(f.s);
	if (WIFSIGNALED(status))
		fail_msg("report changes: killed by signal %d (%s)", WTERMSIG(status),
			 WTERMSIG(status) == SIGALRM ? "it hangs" : "it crashed");
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest writers[] = {
		cmocka_unit_test(test_csv_quoting),
		cmocka_unit_test(test_csv_lf_only_in_quotes),
		cmocka_unit_test(test_json_canonical),
		cmocka_unit_test(test_json_every_column),
		cmocka_unit_test(test_markdown_cells),
		cmocka_unit_test(test_html_escapes),
		cmocka_unit_test(test_html_no_chart_no_svg),
		cmocka_unit_test(test_html_degenerate_charts),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_rt_bad_column),
	};
	const struct CMUnitTest built[] = {
		cmocka_unit_test(test_build_alerts),
		cmocka_unit_test(test_build_reconciliation),
		cmocka_unit_test(test_build_deterministic),
		cmocka_unit_test(test_build_incident),
		cmocka_unit_test(test_build_sample),
		cmocka_unit_test(test_build_period),
		cmocka_unit_test(test_build_no_null_text),
		cmocka_unit_test(test_build_empty_actor),
	};
	int failed = cmocka_run_group_tests_name("writers", writers, NULL, NULL);

	return failed + cmocka_run_group_tests_name("built", built, setup_store, teardown_store);
}

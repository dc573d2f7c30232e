/*
 * vigil report: audit evidence from the journal (src/report), cut at a signed
 * checkpoint; one format to a file or standard output, or a bundle of every format with
 * the journal export of the period.  A report appends nothing to the journal.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/parse.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "journal/journal-export.h"
#include "journal/journal-verify.h"
#include "report/report.h"
#include "vigil-config.h"
#include "base/banned.h"

static const char usage[] =
	"usage: vigil report KIND [--from T] [--to T] [--format html|csv|json|md] [-o FILE]\n"
	"                         [--bundle DIR]\n"
	"  KIND: coverage | changes | reconciliation | alerts | separation | exceptions\n"
	"        | journal | incident ID | control-tests\n"
	"        | sample --count N [--seed S] [--of changes|alerts]\n";

struct ropts {
	struct report_opts ro;
	enum report_format format;
	bool format_given;
	const char *out, *bundle;
};

static int parse_ropts(int argc, char **argv, struct ropts *o)
{
	enum { R_FROM = 256, R_TO, R_FORMAT, R_BUNDLE, R_COUNT, R_SEED, R_OF };
	static const struct option opts[] = {
		{ "from", required_argument, NULL, R_FROM },
		{ "to", required_argument, NULL, R_TO },
		{ "format", required_argument, NULL, R_FORMAT },
		{ "output", required_argument, NULL, 'o' },
		{ "bundle", required_argument, NULL, R_BUNDLE },
		{ "count", required_argument, NULL, R_COUNT },
		{ "seed", required_argument, NULL, R_SEED },
		{ "of", required_argument, NULL, R_OF },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t n;
	int opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (opt) {
		case R_FROM:
		case R_TO:
			if (time_parse_rfc3339(optarg, opt == R_FROM ? &o->ro.from_ns : &o->ro.to_ns) <
			    0)
				return log_error(EXIT_USAGE, "--%s takes an RFC 3339 time such as "
							     "2026-11-01T00:00:00Z, not '%s'",
						 opt == R_FROM ? "from" : "to", optarg);
			break;
		case R_FORMAT:
			if (report_format_parse(optarg, &o->format) < 0)
				return log_error(EXIT_USAGE, "--format takes html, csv, json or md, "
							     "not '%s'",
						 optarg);
			o->format_given = true;
			break;
		case 'o':
			o->out = optarg;
			break;
		case R_BUNDLE:
			o->bundle = optarg;
			break;
		case R_COUNT:
			if (parse_u64(optarg, &n) < 0 || n == 0 || n > 100000)
				return log_error(EXIT_USAGE, "--count takes a number from 1 to 100000, "
							     "not '%s'",
						 optarg);
			o->ro.count = (unsigned)n;
			break;
		case R_SEED:
			o->ro.seed = optarg;
			break;
		case R_OF:
			if (strcmp(optarg, "changes") != 0 && strcmp(optarg, "alerts") != 0)
				return log_error(EXIT_USAGE, "--of takes 'changes' or 'alerts', not '%s'",
						 optarg);
			o->ro.of = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return -1;
		default:
			return log_error(EXIT_USAGE, "report: unknown option '%s'\n%s",
					 argv[optind - 1], usage);
		}
	}
	return EXIT_OK;
}

/* Picks the checkpoint the report is cut at (see vigil-report(5), CHECKPOINT). */
struct cut_ctx {
	int64_t to_ns;
	struct store_checkpoint first_after, latest;
	bool have_after, have_latest;
};

static int pick_cut(void *ud, const struct store_checkpoint *c)
{
	struct cut_ctx *cc = ud;
	struct store_checkpoint *dst;

	if (cc->to_ns && c->time_ns >= cc->to_ns && !cc->have_after) {
		dst = &cc->first_after;
		cc->have_after = true;
	} else {
		dst = &cc->latest;
		store_checkpoint_release(dst);
		cc->have_latest = true;
	}
	*dst = (struct store_checkpoint){ .id = c->id, .size = c->size, .time_ns = c->time_ns,
					  .note = strdup(c->note) };
	return dst->note ? 0 : -ENOMEM;
}

static int choose_cut(struct cli *c, int64_t to_ns, struct store_checkpoint *ret)
{
	struct cut_ctx cc = { .to_ns = to_ns };
	uint64_t size = journal_size(c->journal);
	int r = store_checkpoint_each(c->store, pick_cut, &cc);

	if (r == 0 && cc.have_after) {
		store_checkpoint_release(&cc.latest);
		*ret = cc.first_after;
		return EXIT_OK;
	}
	if (r == 0 && (!cc.have_latest || cc.latest.size < size)) {
		/* entries no checkpoint covers yet: sign them first, which needs the key;
		 * without it (an auditor's read-only access) the latest checkpoint serves */
		c->journal = journal_close(c->journal);
		if (cli_open_journal(c, JOURNAL_WRITE) != EXIT_OK) {
			if (cli_open_journal(c, JOURNAL_READ) != EXIT_OK || !cc.have_latest) {
				store_checkpoint_release(&cc.latest);
				return log_error(EXIT_STORE, "no checkpoint covers the journal and "
							     "none can be signed here");
			}
			log_warning("cannot sign a checkpoint: the report is cut at checkpoint "
				    "%" PRId64 " (%" PRIu64 " of %" PRIu64 " entries)",
				    cc.latest.id, cc.latest.size, size);
			*ret = cc.latest;
			return EXIT_OK;
		}
		store_checkpoint_release(&cc.latest);
		r = journal_checkpoint(c->journal, NULL);
		if (r == 0)
			r = store_tx_commit(c->store);
		if (r == 0) {
			r = store_checkpoint_latest(c->store, &cc.latest);
			r = r == 1 ? 0 : r == 0 ? -ENOENT : r;
		}
	}
	if (r < 0) {
		store_checkpoint_release(&cc.latest);
		return log_error(EXIT_STORE, "cannot find or issue a checkpoint: %s", strerror(-r));
	}
	*ret = cc.latest;
	return EXIT_OK;
}

static int write_out(const char *path, const struct buf *b)
{
	int r;

	if (!path) {
		if (fwrite(b->data ? b->data : "", 1, b->len, stdout) != b->len || fflush(stdout))
			return log_error(EXIT_FAILURE_, "cannot write the report: %s", strerror(errno));
		return EXIT_OK;
	}
	{
		const char *slash = strrchr(path, '/');
		char *dir = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup(".");

		r = !dir ? -ENOMEM
			 : file_write_all(dir, slash ? slash + 1 : path, b->data ? b->data : "",
					  b->len, 0644);
		free(dir);
	}
	if (r < 0)
		return log_error(EXIT_FAILURE_, "%s: cannot write the report: %s", path, strerror(-r));
	return EXIT_OK;
}

/* The bundle directory: made, or empty. */
static int bundle_dir(const char *dir)
{
	DIR *d;
	struct dirent *de;

	if (mkdir(dir, 0755) == 0)
		return EXIT_OK;
	if (errno != EEXIST)
		return log_error(EXIT_FAILURE_, "%s: cannot make the bundle directory: %s", dir,
				 strerror(errno));
	d = opendir(dir);
	if (!d)
		return log_error(EXIT_FAILURE_, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			closedir(d);
			return log_error(EXIT_USAGE, "%s: the bundle directory must be empty", dir);
		}
	closedir(d);
	return EXIT_OK;
}

static int write_bundle(struct cli *c, const struct ropts *o, const struct report *rep,
			const struct store_checkpoint *cut)
{
	static const struct {
		enum report_format f;
		const char *name;
	} files[] = {
		{ REPORT_HTML, "report.html" },
		{ REPORT_CSV, "report.csv" },
		{ REPORT_JSON, "report.json" },
		{ REPORT_MD, "report.md" },
	};
	struct journal_export_result res;
	struct vg_error err;
	struct buf b;
	char msg[2048];
	int64_t from, to;
	int status = bundle_dir(o->bundle), r;

	if (status != EXIT_OK)
		return status;
	buf_init(&b, 0);
	for (size_t i = 0; status == EXIT_OK && i < sizeof(files) / sizeof(files[0]); i++) {
		if (files[i].f == REPORT_MD && o->ro.kind != REPORT_INCIDENT)
			continue;
		buf_reset(&b);
		r = report_write(rep, files[i].f, &b);
		if (r == 0)
			r = file_write_all(o->bundle, files[i].name, b.data ? b.data : "", b.len, 0644);
		if (r < 0)
			status = log_error(EXIT_FAILURE_, "%s/%s: %s", o->bundle, files[i].name,
					   strerror(-r));
	}
	/* every entry of a sample's evidence, as journaled, one per line */
	for (size_t i = 0; status == EXIT_OK && i < report_sample_count(rep); i++) {
		const uint64_t *idx;
		size_t n;
		char name[128];

		report_sample_evidence(rep, i, &idx, &n);
		buf_reset(&b);
		for (size_t k = 0; status == EXIT_OK && k < n; k++) {
			struct store_journal_entry e = { 0 };

			r = store_journal_get(c->store, idx[k], &e);
			if (r == 0 && e.data)
				r = buf_append(&b, e.data, e.len);
			if (r == 0)
				r = buf_putc(&b, '\n');
			store_journal_entry_release(&e);
			if (r < 0)
				status = log_error(EXIT_STORE, "entry %" PRIu64 ": %s", idx[k],
						   strerror(-r));
		}
		/* ids come from the journal: only a plain id names a file, never a path */
		if (report_sample_id(rep, i)[0] &&
		    strspn(report_sample_id(rep, i), "0123456789abcdefABCDEF-") ==
			    strlen(report_sample_id(rep, i)) &&
		    strlen(report_sample_id(rep, i)) < 64)
			snprintf(name, sizeof(name), "evidence/%s.jsonl", report_sample_id(rep, i));
		else
			snprintf(name, sizeof(name), "evidence/sample-%zu.jsonl", i + 1);
		r = status == EXIT_OK ? file_write_all(o->bundle, name, b.data ? b.data : "",
						       b.len, 0644)
				      : 0;
		if (r < 0)
			status = log_error(EXIT_FAILURE_, "%s/%s: %s", o->bundle, name, strerror(-r));
	}
	buf_release(&b);
	if (status != EXIT_OK)
		return status;
	report_period(rep, &from, &to);
	char *jdir = NULL;

	if (asprintf(&jdir, "%s/journal", o->bundle) < 0)
		return log_error(EXIT_FAILURE_, "out of memory");
	vg_error_clear(&err);
	/* the export is cut at the report's checkpoint */
	r = journal_export_at(c->journal, c->store, jdir, from, cut->time_ns, cut->id, &res, &err);
	free(jdir);
	if (r < 0) {
		vg_error_format(&err, msg, sizeof(msg));
		return log_error(EXIT_FAILURE_, "the bundle's journal export failed: %s",
				 msg[0] ? msg : strerror(-r));
	}
	if (c->verbosity >= 0)
		fprintf(stderr, "report bundle in %s: the report, and %" PRIu64
				" journal entries under %" PRIu64 " checkpoints\n",
			o->bundle, res.size, res.checkpoints);
	return EXIT_OK;
}

int cmd_report(struct cli *c, int argc, char **argv)
{
	struct ropts o = { .ro.version = VIGIL_VERSION, .format = REPORT_HTML };
	struct store_checkpoint cut = { 0 };
	struct journal_verify_result vres;
	struct report *rep = NULL;
	struct vg_error err;
	struct buf b;
	char msg[2048];
	int status, r;

	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (report_kind_parse(argv[1], &o.ro.kind) < 0)
		return log_error(EXIT_USAGE, "report: no report '%s'\n%s", argv[1], usage);
	status = parse_ropts(argc - 1, argv + 1, &o);
	if (status < 0)
		return EXIT_OK; /* --help */
	if (status != EXIT_OK)
		return status;
	optind++; /* back to argv's numbering */
	if (o.ro.kind == REPORT_INCIDENT) {
		if (optind != argc - 1)
			return log_error(EXIT_USAGE, "usage: vigil report incident ID [options]");
		o.ro.incident = argv[optind];
		if (!o.format_given)
			o.format = REPORT_MD;
	} else if (optind != argc) {
		return log_error(EXIT_USAGE, "report %s: unexpected '%s'", argv[1], argv[optind]);
	}
	if (o.ro.kind == REPORT_SAMPLE && !o.ro.count)
		return log_error(EXIT_USAGE, "report sample needs --count N");
	if (o.ro.kind != REPORT_SAMPLE && (o.ro.count || o.ro.seed || o.ro.of))
		return log_error(EXIT_USAGE, "--count, --seed and --of go with 'report sample' only");
	if (o.bundle && (o.out || o.format_given))
		return log_error(EXIT_USAGE, "--bundle writes every format: no -o or --format with it");
	if (o.ro.from_ns && o.ro.to_ns && o.ro.to_ns < o.ro.from_ns)
		return log_error(EXIT_USAGE, "--to is before --from");
	status = cli_load_settings(c);
	if (status == EXIT_OK)
		status = cli_open_store(c, false);
	if (status == EXIT_OK)
		/* a bundle's export has a signed manifest: it needs the key */
		status = cli_open_journal(c, o.bundle ? JOURNAL_WRITE : JOURNAL_READ);
	if (status == EXIT_OK)
		status = choose_cut(c, o.ro.to_ns, &cut);
	if (status != EXIT_OK)
		return status;
	if (o.ro.kind == REPORT_JOURNAL) {
		/* E-07: the journal is verified for the report, against the store's key */
		r = journal_verify_store(c->store, journal_verifier(c->journal), &vres);
		if (r < 0 && r != -EBADMSG) {
			store_checkpoint_release(&cut);
			return log_error(EXIT_STORE, "cannot verify the journal: %s", strerror(-r));
		}
		o.ro.verified = r == 0;
		o.ro.retention_days = c->settings.retention_days;
		o.ro.verify_problem = vres.problem;
	}
	r = report_build(c->store, &cut, &o.ro, &rep, &err);
	if (r < 0) {
		store_checkpoint_release(&cut);
		vg_error_format(&err, msg, sizeof(msg));
		return log_error(r == -EINVAL || r == -ENOENT ? EXIT_USAGE
				 : r == -EBADMSG		 ? EXIT_STORE
							 : EXIT_FAILURE_,
				 "report %s: %s", argv[1], msg[0] ? msg : strerror(-r));
	}
	if (o.bundle) {
		status = write_bundle(c, &o, rep, &cut);
	} else {
		buf_init(&b, 0);
		r = report_write(rep, o.format, &b);
		status = r < 0 ? log_error(EXIT_FAILURE_, "cannot write the report: %s", strerror(-r))
			       : write_out(o.out, &b);
		buf_release(&b);
	}
	report_free(rep);
	store_checkpoint_release(&cut);
	return status;
}

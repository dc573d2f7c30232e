/*
 * vigil change: change records from filing to closing (CHG-01..08, CHG-12).  Every
 * command identifies the person by their login uid, checks the role and separation of
 * duties the action needs, moves the record through the state machine of
 * change/record.h, and journals the action with the account and its roles.  Refusals
 * name what was missing and, for an illegal transition, the actions that are allowed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/escape.h"
#include "base/fileio.h"
#include "base/json-canon.h"
#include "base/json.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "change/approval.h"
#include "change/record.h"
#include "change/review.h"
#include "cli/cli.h"
#include "crypto/note.h"
#include "base/banned.h"

#define IMPORT_MAX (64u * 1024 * 1024)	/* bytes of one import document */
#define RECORD_FILE_MAX (4u * 1024 * 1024)

static const char change_usage[] =
	"usage: vigil change new [--file RECORD.json | FIELDS] [--id ID]\n"
	"       vigil change submit|approve|reject|start|complete|close|cancel ID [--text T]\n"
	"       vigil change review ID [--ack KEY]... [--text T]\n"
	"       vigil change amend ID [--file RECORD.json | FIELDS]\n"
	"       vigil change show ID\n"
	"       vigil change list [--state S] [--overdue] [--exceptions]\n"
	"       vigil change import FILE|-\n"
	"FIELDS: --title T --type normal|standard|emergency --description T --reason T\n"
	"        --risk T --rollback T --test-evidence T --expected T --justification T\n"
	"        --window-start TIME --window-end TIME --implementer ACCOUNT...\n"
	"        --approvals N --approver-role ROLE --host H... --path GLOB... --package P...\n"
	"        --unit U... --config KIND:KEY... --significant\n"
	"See vigil-change(5) for the record format.\n";

struct strv {
	const char **v;
	size_t n;
};

struct copts {
	const char *file, *id, *title, *type, *description, *reason, *risk, *rollback;
	const char *test_evidence, *expected, *justification, *window_start, *window_end;
	const char *approver_role, *text, *state;
	long approvals;
	bool significant, overdue, exceptions;
	struct strv implementers, hosts, paths, packages, units, config, acks;
	bool any_field;
};

enum {
	O_FILE = 256, O_ID, O_TITLE, O_TYPE, O_DESC, O_REASON, O_RISK, O_ROLLBACK, O_TEST,
	O_EXPECTED, O_JUST, O_WSTART, O_WEND, O_AROLE, O_TEXT, O_STATE, O_APPROVALS,
	O_SIGNIFICANT, O_OVERDUE, O_EXCEPTIONS, O_IMPL, O_HOST, O_PATH, O_PACKAGE, O_UNIT,
	O_CONFIG, O_ACK,
};

static const struct option change_opts[] = {
	{ "file", required_argument, NULL, O_FILE },
	{ "id", required_argument, NULL, O_ID },
	{ "title", required_argument, NULL, O_TITLE },
	{ "type", required_argument, NULL, O_TYPE },
	{ "description", required_argument, NULL, O_DESC },
	{ "reason", required_argument, NULL, O_REASON },
	{ "risk", required_argument, NULL, O_RISK },
	{ "rollback", required_argument, NULL, O_ROLLBACK },
	{ "test-evidence", required_argument, NULL, O_TEST },
	{ "expected", required_argument, NULL, O_EXPECTED },
	{ "justification", required_argument, NULL, O_JUST },
	{ "window-start", required_argument, NULL, O_WSTART },
	{ "window-end", required_argument, NULL, O_WEND },
	{ "approver-role", required_argument, NULL, O_AROLE },
	{ "text", required_argument, NULL, O_TEXT },
	{ "state", required_argument, NULL, O_STATE },
	{ "approvals", required_argument, NULL, O_APPROVALS },
	{ "significant", no_argument, NULL, O_SIGNIFICANT },
	{ "overdue", no_argument, NULL, O_OVERDUE },
	{ "exceptions", no_argument, NULL, O_EXCEPTIONS },
	{ "implementer", required_argument, NULL, O_IMPL },
	{ "host", required_argument, NULL, O_HOST },
	{ "path", required_argument, NULL, O_PATH },
	{ "package", required_argument, NULL, O_PACKAGE },
	{ "unit", required_argument, NULL, O_UNIT },
	{ "config", required_argument, NULL, O_CONFIG },
	{ "ack", required_argument, NULL, O_ACK },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static int strv_add(struct strv *s, const char *v)
{
	const char **nv = realloc(s->v, (s->n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	s->v = nv;
	s->v[s->n++] = v;
	return 0;
}

static bool strv_has(const struct strv *s, const char *v)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], v) == 0)
			return true;
	return false;
}

static void copts_release(struct copts *o)
{
	free(o->implementers.v);
	free(o->hosts.v);
	free(o->paths.v);
	free(o->packages.v);
	free(o->units.v);
	free(o->config.v);
	free(o->acks.v);
}

/* Parses the options; allowed lists the option codes the command takes (0-terminated).
 * Returns EXIT_OK, EXIT_USAGE, or -1 after --help. */
static int parse_copts(int argc, char **argv, const char *cmd, const int *allowed, struct copts *o)
{
	int opt;

	memset(o, 0, sizeof(*o));
	o->approvals = -1;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", change_opts, NULL)) != -1) {
		bool ok = false;
		int r = 0;

		if (opt == 'h') {
			fputs(change_usage, stdout);
			return -1;
		}
		if (opt == '?') {
			fputs(change_usage, stderr);
			return EXIT_USAGE;
		}
		for (const int *a = allowed; *a; a++)
			ok |= *a == opt;
		if (!ok) {
			for (const struct option *x = change_opts; x->name; x++)
				if (x->val == opt)
					return log_error(EXIT_USAGE, "--%s does not go with 'change %s'",
							 x->name, cmd);
		}
		if (opt >= O_TITLE && opt <= O_WEND)
			o->any_field = true;
		switch (opt) {
		case O_FILE: o->file = optarg; break;
		case O_ID: o->id = optarg; break;
		case O_TITLE: o->title = optarg; break;
		case O_TYPE: o->type = optarg; break;
		case O_DESC: o->description = optarg; break;
		case O_REASON: o->reason = optarg; break;
		case O_RISK: o->risk = optarg; break;
		case O_ROLLBACK: o->rollback = optarg; break;
		case O_TEST: o->test_evidence = optarg; break;
		case O_EXPECTED: o->expected = optarg; break;
		case O_JUST: o->justification = optarg; break;
		case O_WSTART: o->window_start = optarg; break;
		case O_WEND: o->window_end = optarg; break;
		case O_AROLE: o->approver_role = optarg; o->any_field = true; break;
		case O_TEXT: o->text = optarg; break;
		case O_STATE: o->state = optarg; break;
		case O_APPROVALS: {
			char *end;

			o->approvals = strtol(optarg, &end, 10);
			if (*end || o->approvals < 1 || o->approvals > 10)
				return log_error(EXIT_USAGE, "--approvals takes a number from 1 to 10, "
							     "got '%s'", optarg);
			o->any_field = true;
			break;
		}
		case O_SIGNIFICANT: o->significant = true; o->any_field = true; break;
		case O_OVERDUE: o->overdue = true; break;
		case O_EXCEPTIONS: o->exceptions = true; break;
		case O_IMPL: r = strv_add(&o->implementers, optarg); o->any_field = true; break;
		case O_HOST: r = strv_add(&o->hosts, optarg); o->any_field = true; break;
		case O_PATH: r = strv_add(&o->paths, optarg); o->any_field = true; break;
		case O_PACKAGE: r = strv_add(&o->packages, optarg); o->any_field = true; break;
		case O_UNIT: r = strv_add(&o->units, optarg); o->any_field = true; break;
		case O_CONFIG: r = strv_add(&o->config, optarg); o->any_field = true; break;
		case O_ACK: r = strv_add(&o->acks, optarg); break;
		default: break;
		}
		if (r < 0)
			return log_error(EXIT_FAILURE_, "out of memory");
	}
	return EXIT_OK;
}

/* ---- opening and loading ---- */


/* A record by "ID", "SOURCE/ID" or uuid, with its parsed document. */
static int load_record(struct cli *c, const char *ref, struct store_record *rec, struct cr_doc *doc)
{
	const char *slash = strchr(ref, '/');
	char source[256];
	struct vg_error err;
	char msg[1400];
	int r;

	if (slash && (size_t)(slash - ref) < sizeof(source)) {
		memcpy(source, ref, (size_t)(slash - ref));
		source[slash - ref] = '\0';
		r = store_record_get(c->store, source, slash + 1, rec);
	} else {
		r = store_record_get(c->store, NULL, ref, rec);
		if (r == 0 && strlen(ref) == 36)
			r = store_record_get(c->store, "uuid", ref, rec);
	}
	if (r == -ENOTUNIQ)
		return log_error(EXIT_USAGE, "'%s' names records from several sources: use SOURCE/%s",
				 ref, ref);
	if (r < 0)
		return log_error(EXIT_STORE, "cannot read records: %s", strerror(-r));
	if (r == 0)
		return log_error(EXIT_USAGE, "no change record '%s'", ref);
	vg_error_clear(&err);
	if (cr_doc_parse_text(rec->doc, strlen(rec->doc), CR_PARSE_STORED, "store", doc, &err) < 0) {
		vg_error_format(&err, msg, sizeof(msg));
		store_record_release(rec);
		return log_error(EXIT_STORE, "record '%s' in the store does not parse: %s", ref, msg);
	}
	return EXIT_OK;
}

static enum cr_state state_of(const struct store_record *rec)
{
	enum cr_state s = CR_DRAFT;

	cr_state_parse(rec->state, &s);
	return s;
}

/* ---- journal and events ---- */

static void record_ref_json(struct json_writer *w, const struct store_record *rec)
{
	jw_key(w, "record");
	jw_obj_open(w);
	jw_key(w, "id");
	jw_str(w, rec->ext_id);
	jw_key(w, "source");
	jw_str(w, rec->source);
	jw_key(w, "uuid");
	jw_str(w, rec->uuid);
	jw_key(w, "type");
	jw_str(w, rec->type);
	jw_key(w, "revision");
	jw_i64(w, rec->revision);
	jw_key(w, "state");
	jw_str(w, rec->state);
	jw_obj_close(w);
}

/*
 * Records action on rec: the event row (with detail, a JSON object or NULL), the
 * record's new state (to), and the journal entry "record.<action>"; then commits.
 */
static int act(struct cli *c, struct store_record *rec, const struct account_who *who,
	       const char *action, const char *to, const char *detail, bool new_revision)
{
	char roles[200];
	struct store_record_event e;
	struct buf b;
	struct json_writer w;
	char *from = strdup(rec->state);
	char type[64];
	int r, status;

	if (!from)
		return log_error(EXIT_FAILURE_, "out of memory");
	role_format(who->roles, roles, sizeof(roles));
	rec->updated_ns = clock_now_ns();
	if (strcmp(to, rec->state) != 0) {
		free(rec->state);
		rec->state = strdup(to);
		if (!rec->state) {
			free(from);
			return log_error(EXIT_FAILURE_, "out of memory");
		}
	}
	e = (struct store_record_event){
		.time_ns = rec->updated_ns,
		.action = action,
		.from_state = from,
		.to_state = rec->state,
		.account = account_label(who),
		.roles = roles,
		.revision = rec->revision,
		.detail = detail,
	};
	r = store_record_update(c->store, rec, new_revision, account_label(who));
	if (r == 0)
		r = store_record_event_add(c->store, rec->id, &e);
	if (r < 0) {
		store_tx_rollback(c->store);
		free(from);
		return log_error(EXIT_STORE, "cannot record '%s' of %s: %s", action, rec->ext_id,
				 strerror(-r));
	}
	buf_init(&b, 0);
	jw_init(&w, &b);
	jw_obj_open(&w);
	record_ref_json(&w, rec);
	jw_key(&w, "transition");
	jw_obj_open(&w);
	jw_key(&w, "from");
	jw_str(&w, from);
	jw_key(&w, "to");
	jw_str(&w, rec->state);
	jw_obj_close(&w);
	if (detail) {
		jw_key(&w, "detail");
		jw_raw(&w, detail);
	}
	/* a new revision, and whatever a ticketing system sent, is journaled whole */
	if (new_revision || strcmp(action, "import") == 0) {
		jw_key(&w, "document");
		jw_raw(&w, rec->doc);
	}
	cli_who_json(&w, who);
	jw_obj_close(&w);
	snprintf(type, sizeof(type), "record.%s", action);
	if (w.err)
		store_tx_rollback(c->store);
	status = w.err ? log_error(EXIT_FAILURE_, "out of memory")
		       : cli_journal_action(c, type, b.data);
	buf_release(&b);
	free(from);
	return status;
}

/* ---- who did what on a record ---- */

struct history {
	const struct store_record *rec;
	struct strv approvers;	/* accounts that approved the current revision */
	char started_by[64], completed_by[64];
	int64_t started_ns, completed_ns;
	char **owned;		/* copies backing approvers */
	bool relaxed;
};

static int on_event(void *ud, const struct store_record_event *e)
{
	struct history *h = ud;

	if (strcmp(e->action, "approve") == 0 && e->revision == h->rec->revision) {
		char *a = strdup(e->account);
		char **nv;

		if (!a)
			return -ENOMEM;
		nv = realloc(h->owned, (h->approvers.n + 1) * sizeof(*nv));
		if (!nv) {
			free(a);
			return -ENOMEM;
		}
		h->owned = nv;
		if (strv_add(&h->approvers, a) < 0) {
			free(a);
			return -ENOMEM;
		}
		h->owned[h->approvers.n - 1] = a;
	} else if (strcmp(e->action, "start") == 0) {
		snprintf(h->started_by, sizeof(h->started_by), "%s", e->account);
		h->started_ns = e->time_ns;
	} else if (strcmp(e->action, "complete") == 0) {
		snprintf(h->completed_by, sizeof(h->completed_by), "%s", e->account);
		h->completed_ns = e->time_ns;
	}
	return 0;
}

static int history_load(struct cli *c, const struct store_record *rec, struct history *h)
{
	memset(h, 0, sizeof(*h));
	h->rec = rec;
	return store_record_event_each(c->store, rec->id, on_event, h);
}

/* The approvals of the current revision: approve events, and those an imported
 * document brings (CHG-12: checked when it was imported). */
static size_t approvals_of(const struct history *h, const struct cr_doc *d)
{
	size_t n = h->approvers.n;

	for (size_t i = 0; i < d->n_approvals; i++)
		if (!strv_has(&h->approvers, d->approvals[i].account))
			n++;
	return n;
}

static bool approved_by(const struct history *h, const struct cr_doc *d, const char *acct)
{
	if (strv_has(&h->approvers, acct))
		return true;
	for (size_t i = 0; i < d->n_approvals; i++)
		if (strcmp(d->approvals[i].account, acct) == 0)
			return true;
	return false;
}

static void history_release(struct history *h)
{
	for (size_t i = 0; i < h->approvers.n; i++)
		free(h->owned[i]);
	free(h->owned);
	free(h->approvers.v);
}

/* Whether the account implemented the record: listed, or it started or completed it. */
static bool is_implementer(const struct cr_doc *d, const struct history *h, const char *acct)
{
	return cr_list_has(&d->implementers, acct) || strcmp(h->started_by, acct) == 0 ||
	       strcmp(h->completed_by, acct) == 0;
}

/* ---- building a document from flags ---- */

static void jw_opt(struct json_writer *w, const char *k, const char *v)
{
	if (!v)
		return;
	jw_key(w, k);
	jw_str_bytes(w, v, strlen(v));
}

static void jw_strv(struct json_writer *w, const char *k, const struct strv *s)
{
	jw_key(w, k);
	jw_arr_open(w);
	for (size_t i = 0; i < s->n; i++)
		jw_str_bytes(w, s->v[i], strlen(s->v[i]));
	jw_arr_close(w);
}

/* The record document the flags describe, to be parsed like a file; an amendment's
 * window keeps the end the flags do not move (base). */
static int flags_json(const struct copts *o, const struct cr_doc *base, struct buf *out)
{
	struct json_writer w;
	char ws[RFC3339_MAX] = "", we[RFC3339_MAX] = "";

	jw_init(&w, out);
	jw_obj_open(&w);
	jw_opt(&w, "id", o->id);
	jw_opt(&w, "title", o->title);
	jw_opt(&w, "type", o->type);
	jw_opt(&w, "description", o->description);
	jw_opt(&w, "reason", o->reason);
	jw_opt(&w, "risk", o->risk);
	jw_opt(&w, "rollback", o->rollback);
	jw_opt(&w, "test_evidence", o->test_evidence);
	jw_opt(&w, "expected", o->expected);
	jw_opt(&w, "justification", o->justification);
	if (o->window_start || o->window_end) {
		if (base && base->has_window) {
			time_format_rfc3339(base->window_start, ws, sizeof(ws));
			time_format_rfc3339(base->window_end, we, sizeof(we));
		}
		jw_key(&w, "window");
		jw_obj_open(&w);
		jw_opt(&w, "start", o->window_start ? o->window_start : ws[0] ? ws : NULL);
		jw_opt(&w, "end", o->window_end ? o->window_end : we[0] ? we : NULL);
		jw_obj_close(&w);
	}
	if (o->implementers.n)
		jw_strv(&w, "implementers", &o->implementers);
	if (o->approvals > 0 || o->approver_role) {
		jw_key(&w, "approvers");
		jw_obj_open(&w);
		if (o->approvals > 0) {
			jw_key(&w, "count");
			jw_u64(&w, (uint64_t)o->approvals);
		}
		jw_opt(&w, "role", o->approver_role);
		jw_obj_close(&w);
	}
	if (o->hosts.n + o->paths.n + o->packages.n + o->units.n + o->config.n) {
		jw_key(&w, "scope");
		jw_obj_open(&w);
		if (o->hosts.n)
			jw_strv(&w, "hosts", &o->hosts);
		if (o->paths.n)
			jw_strv(&w, "paths", &o->paths);
		if (o->packages.n)
			jw_strv(&w, "packages", &o->packages);
		if (o->units.n)
			jw_strv(&w, "units", &o->units);
		if (o->config.n)
			jw_strv(&w, "config", &o->config);
		jw_obj_close(&w);
	}
	if (o->significant) {
		jw_key(&w, "significant");
		jw_bool(&w, true);
	}
	jw_obj_close(&w);
	return w.err;
}

/* Reads the document of --file (or "-": standard input). */
static int read_doc_file(const char *file, size_t max, char **ret, size_t *ret_len)
{
	int r;

	if (strcmp(file, "-") == 0) {
		struct buf b;
		char chunk[65536];
		ssize_t n;

		buf_init(&b, max);
		while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) > 0)
			if ((r = buf_append(&b, chunk, (size_t)n)) < 0) {
				buf_release(&b);
				return r;
			}
		if (n < 0) {
			buf_release(&b);
			return -errno;
		}
		*ret_len = b.len;
		if (buf_append(&b, "", 1) < 0) {
			buf_release(&b);
			return -ENOMEM;
		}
		*ret = b.data;
		return 0;
	}
	return file_read_all(file, NULL, max, ret, ret_len);
}

static int print_error(const struct vg_error *err, int status)
{
	char msg[1400];

	vg_error_format(err, msg, sizeof(msg));
	return log_error(status, "%s", msg);
}

/* The document of `new` or `amend`: from --file, or from the flags over base. */
static int doc_from_input(const struct copts *o, const struct cr_doc *base, struct cr_doc *d)
{
	struct vg_error err;
	struct buf b;
	char *text = NULL;
	size_t len;
	int r;

	vg_error_clear(&err);
	if (o->file) {
		if (o->any_field)
			return log_error(EXIT_USAGE, "--file excludes the field options");
		r = read_doc_file(o->file, RECORD_FILE_MAX, &text, &len);
		if (r < 0)
			return log_error(EXIT_USAGE, "cannot read '%s': %s", o->file,
					 r == -E2BIG ? "larger than 4 MiB" : strerror(-r));
		r = cr_doc_parse_text(text, len, CR_PARSE_NEW, o->file, d, &err);
		free(text);
		if (r < 0)
			return print_error(&err, EXIT_USAGE);
		if (o->id) {
			if (d->id && strcmp(d->id, o->id) != 0)
				return log_error(EXIT_USAGE, "--id '%s' differs from the file's id '%s'",
						 o->id, d->id);
			if (!d->id && !(d->id = strdup(o->id)))
				return log_error(EXIT_FAILURE_, "out of memory");
		}
		return EXIT_OK;
	}
	buf_init(&b, 0);
	r = flags_json(o, base, &b);
	if (r == 0)
		r = cr_doc_parse_text(b.data, b.len, CR_PARSE_NEW, "command line", d, &err);
	buf_release(&b);
	if (r < 0) {
		/* the place is in a document made from the options: name the field only */
		err.line = err.col = 0;
		return r == -ENOMEM ? log_error(EXIT_FAILURE_, "out of memory")
				    : print_error(&err, EXIT_USAGE);
	}
	if (!base)
		return EXIT_OK;
	/* an amendment by flags changes only what the flags name */
#define KEEP(f)                                        \
	do {                                           \
		if (!d->f && base->f) {                \
			d->f = strdup(base->f);        \
			if (!d->f)                     \
				return log_error(EXIT_FAILURE_, "out of memory"); \
		}                                      \
	} while (0)
	KEEP(title);
	KEEP(description);
	KEEP(reason);
	KEEP(risk);
	KEEP(rollback);
	KEEP(test_evidence);
	KEEP(expected);
	KEEP(justification);
#undef KEEP
	if (!o->type)
		d->type = base->type;
	if (!o->window_start && !o->window_end && base->has_window) {
		d->has_window = true;
		d->window_start = base->window_start;
		d->window_end = base->window_end;
	}
	if (o->approvals < 0)
		d->approvals_needed = base->approvals_needed;
	if (!o->approver_role)
		d->approver_role = base->approver_role;
	if (!o->significant)
		d->significant = base->significant;
	return EXIT_MODIFIED; /* the caller copies the lists the flags left alone */
}

static int copy_list(struct cr_list *dst, const struct cr_list *src)
{
	if (dst->n || !src->n)
		return 0;
	dst->v = calloc(src->n, sizeof(*dst->v));
	if (!dst->v)
		return -ENOMEM;
	for (size_t i = 0; i < src->n; i++) {
		dst->v[i] = strdup(src->v[i]);
		if (!dst->v[i])
			return -ENOMEM;
		dst->n++;
	}
	return 0;
}

static int keep_lists(const struct copts *o, const struct cr_doc *base, struct cr_doc *d)
{
	int r = 0;

	if (!o->implementers.n)
		r |= copy_list(&d->implementers, &base->implementers);
	if (!o->hosts.n)
		r |= copy_list(&d->hosts, &base->hosts);
	if (!o->paths.n)
		r |= copy_list(&d->paths, &base->paths);
	if (!o->packages.n)
		r |= copy_list(&d->packages, &base->packages);
	if (!o->units.n)
		r |= copy_list(&d->units, &base->units);
	if (!o->config.n)
		r |= copy_list(&d->config, &base->config);
	if (r)
		return -ENOMEM;
	/* a standing authorization's repositories and evidence are only set from a file:
	 * an amendment by options keeps them */
	if (base->n_repos && !d->n_repos) {
		d->repos = calloc(base->n_repos, sizeof(*d->repos));
		if (!d->repos)
			return -ENOMEM;
		for (size_t i = 0; i < base->n_repos; i++) {
			const struct cr_repo *b = &base->repos[i];
			struct cr_repo *n = &d->repos[d->n_repos++];

			n->uri = strdup(b->uri);
			n->suite = strdup(b->suite);
			n->component = b->component ? strdup(b->component) : NULL;
			if (!n->uri || !n->suite || (b->component && !n->component) ||
			    copy_list(&n->keys, &b->keys) < 0)
				return -ENOMEM;
		}
	}
	if (base->evidence && !d->evidence && !(d->evidence = strdup(base->evidence)))
		return -ENOMEM;
	d->conffiles |= base->conffiles;
	d->created |= base->created;
	return 0;
}

/* Every account the document names must exist and be active, implementers with the
 * implementer role. */
static int check_accounts(struct cli *c, const struct cr_doc *d, const char *what)
{
	for (size_t i = 0; i < d->implementers.n; i++) {
		struct store_account a = { 0 };
		uint32_t m = 0;
		int r = store_account_get(c->store, d->implementers.v[i], false, &a);

		if (r < 0)
			return log_error(EXIT_STORE, "cannot read accounts: %s", strerror(-r));
		if (r == 0)
			return log_error(EXIT_USAGE, "%s: implementer '%s' has no account", what,
					 d->implementers.v[i]);
		role_parse_list(a.roles, &m, NULL);
		r = a.disabled_ns ? 1 : !(m & ROLE_BIT(ROLE_IMPLEMENTER)) ? 2 : 0;
		store_account_release(&a);
		if (r)
			return log_error(EXIT_USAGE, "%s: implementer '%s' %s", what,
					 d->implementers.v[i],
					 r == 1 ? "is disabled" : "lacks the implementer role");
	}
	return EXIT_OK;
}

struct id_scan {
	unsigned long max;
};

static int scan_ids(void *ud, const struct store_record *rec)
{
	struct id_scan *s = ud;
	char *end;
	unsigned long n;

	if (strcmp(rec->source, "local") || strncmp(rec->ext_id, "CR-", 3))
		return 0;
	n = strtoul(rec->ext_id + 3, &end, 10);
	if (!*end && n > s->max)
		s->max = n;
	return 0;
}

static void print_id(struct cli *c, const struct store_record *rec)
{
	if (c->json)
		printf("{\"id\":\"%s\",\"source\":\"%s\",\"uuid\":\"%s\",\"state\":\"%s\","
		       "\"revision\":%" PRId64 "}\n",
		       rec->ext_id, rec->source, rec->uuid, rec->state, rec->revision);
	else if (c->verbosity >= 0)
		printf("%s: %s (revision %" PRId64 ")\n", rec->ext_id, rec->state, rec->revision);
}

/* ---- commands ---- */

static int change_new(struct cli *c, int argc, char **argv)
{
	static const int allowed[] = { O_FILE, O_ID, O_TITLE, O_TYPE, O_DESC, O_REASON, O_RISK,
				       O_ROLLBACK, O_TEST, O_EXPECTED, O_JUST, O_WSTART, O_WEND,
				       O_AROLE, O_APPROVALS, O_SIGNIFICANT, O_IMPL, O_HOST, O_PATH,
				       O_PACKAGE, O_UNIT, O_CONFIG, 0 };
	struct copts o;
	struct cr_doc d = { 0 };
	struct account_who who;
	struct store_record rec = { 0 };
	struct vg_error err;
	struct buf doc;
	char idbuf[32];
	int status = parse_copts(argc, argv, "new", allowed, &o);
	int r;

	buf_init(&doc, 0);
	if (status != EXIT_OK)
		goto out;
	if (optind != argc) {
		status = log_error(EXIT_USAGE, "'change new' takes no argument '%s'", argv[optind]);
		goto out;
	}
	status = cli_open_all(c, true);
	if (status == EXIT_OK)
		status = cli_whoami(c, ROLE_REQUESTER, &who);
	if (status == EXIT_OK)
		status = doc_from_input(&o, NULL, &d);
	if (status != EXIT_OK)
		goto out;
	vg_error_clear(&err);
	if (cr_doc_validate(&d, o.file ? o.file : "command line", &err) < 0) {
		status = print_error(&err, EXIT_USAGE);
		goto out;
	}
	status = check_accounts(c, &d, "refused");
	if (status != EXIT_OK)
		goto out;
	if (!d.id) {
		struct id_scan s = { 0 };

		r = store_record_each(c->store, scan_ids, &s);
		if (r < 0) {
			status = log_error(EXIT_STORE, "cannot read records: %s", strerror(-r));
			goto out;
		}
		snprintf(idbuf, sizeof(idbuf), "CR-%06lu", s.max + 1);
		d.id = strdup(idbuf);
	}
	d.requester = strdup(account_label(&who));
	if (!d.id || !d.requester || cr_doc_json(&d, &doc) < 0) {
		status = log_error(EXIT_FAILURE_, "out of memory");
		goto out;
	}
	rec.source = (char *)"local";
	rec.ext_id = d.id;
	rec.type = (char *)cr_type_name(d.type);
	rec.state = (char *)cr_state_name(CR_DRAFT);
	rec.revision = 1;
	rec.doc = doc.data;
	rec.created_ns = rec.updated_ns = clock_now_ns();
	r = store_record_add(c->store, &rec, account_label(&who), NULL);
	if (r == 0) {
		struct store_record_event e = {
			.time_ns = rec.created_ns, .action = "create", .from_state = "none",
			.to_state = "draft", .account = account_label(&who), .revision = 1,
		};
		char roles[200];

		role_format(who.roles, roles, sizeof(roles));
		e.roles = roles;
		r = store_record_event_add(c->store, rec.id, &e);
	}
	if (r < 0) {
		store_tx_rollback(c->store);
		status = r == -EEXIST ? log_error(EXIT_USAGE, "a change record '%s' already exists",
						  d.id)
				      : log_error(EXIT_STORE, "cannot store the record: %s",
						  strerror(-r));
		goto out;
	}
	{
		struct buf b;
		struct json_writer w;

		buf_init(&b, 0);
		jw_init(&w, &b);
		jw_obj_open(&w);
		record_ref_json(&w, &rec);
		jw_key(&w, "document");
		jw_raw(&w, doc.data);
		cli_who_json(&w, &who);
		jw_obj_close(&w);
		status = w.err ? log_error(EXIT_FAILURE_, "out of memory")
			       : cli_journal_action(c, "record.created", b.data);
		buf_release(&b);
	}
	if (status == EXIT_OK)
		print_id(c, &rec);
out:
	buf_release(&doc);
	cr_doc_release(&d);
	copts_release(&o);
	return status < 0 ? EXIT_OK : status;
}

/* Refuses an action that is illegal in the record's state, naming the legal ones. */
static int check_transition(const struct store_record *rec, const struct cr_doc *d,
			    enum cr_action a, int *ret_to)
{
	char allowed[200];
	int to = cr_next_state(d->type, state_of(rec), a);

	if (to < 0) {
		cr_allowed_actions(d->type, state_of(rec), allowed, sizeof(allowed));
		return log_error(EXIT_DENIED,
				 "refused: cannot %s %s %s change record %s (allowed now: %s)",
				 cr_action_name(a), state_of(rec) == CR_APPROVED ? "an" : "a",
				 rec->state, rec->ext_id, allowed);
	}
	*ret_to = to;
	return EXIT_OK;
}

/* The detail of an event: a text under key and, for an action separation of duties
 * would have refused, the exception and the record that relaxed it. */
static int text_detail(const char *key, const char *text, const char *exception,
		       const char *relaxed_by, struct buf *b)
{
	struct json_writer w;

	jw_init(&w, b);
	jw_obj_open(&w);
	if (text) {
		jw_key(&w, key);
		jw_str_bytes(&w, text, strlen(text));
	}
	if (exception) {
		jw_key(&w, "sod_exception");
		jw_str_bytes(&w, exception, strlen(exception));
		jw_key(&w, "sod_relaxed_by");
		jw_str_bytes(&w, relaxed_by, strlen(relaxed_by));
	}
	jw_obj_close(&w);
	return w.err;
}

/* E-05: a refusal by separation of duties is evidence the control works: journaled. */
static int journal_refusal(struct cli *c, const struct store_record *rec,
			   const struct account_who *who, const char *action, const char *why)
{
	struct buf b;
	struct json_writer w;
	int status;

	buf_init(&b, 0);
	jw_init(&w, &b);
	jw_obj_open(&w);
	record_ref_json(&w, rec);
	jw_key(&w, "refusal");
	jw_obj_open(&w);
	jw_key(&w, "action");
	jw_str(&w, action);
	jw_key(&w, "rule");
	jw_str_bytes(&w, why, strlen(why));
	jw_obj_close(&w);
	cli_who_json(&w, who);
	jw_obj_close(&w);
	status = w.err ? log_error(EXIT_FAILURE_, "out of memory")
		       : cli_journal_action(c, "record.refused", b.data);
	buf_release(&b);
	return status;
}

/*
 * CHG-04: an action separation of duties forbids (why) is refused, and the refusal
 * journaled, unless the relaxation "vigil:sod-relaxed" is in force through an approved
 * record; then it is allowed as an exception, recorded with the record that relaxed it.
 */
static int sod_relaxed(struct cli *c, const struct store_record *rec,
		       const struct account_who *who, const char *action, const char *why,
		       char *by, size_t size)
{
	int r = approval_find(c->store, c->host_name, "vigil:sod-relaxed", clock_now_ns(), by, size);

	if (r < 0)
		return log_error(EXIT_STORE, "cannot read change records: %s", strerror(-r));
	if (r == 0) {
		int status = journal_refusal(c, rec, who, action, why);

		if (status != EXIT_OK)
			return status;
		return log_error(EXIT_DENIED, "refused: %s (separation of duties)", why);
	}
	log_warning("%s: allowed as an exception, separation of duties relaxed by %s", why, by);
	return EXIT_OK;
}

/* ---- emergency records covering changes made before they were started ---- */

struct retro {
	struct cli *c;
	const struct store_record *rec;
	const struct cr_doc *d;
	int64_t until;
	struct retro_item {
		char uuid[37];
		char *path;
		size_t len;
		bool covered;
	} *items;
	size_t n;
	bool truncated;		/* too many changes to tell which is the last of a path */
	int err;
};

/* Every change since the window opened: the covered ones, and the last of each path. */
static int retro_one(void *ud, const struct store_change_row *row)
{
	struct retro *rt = ud;
	struct retro_item *it, *nv;
	bool covered = false;
	char auid[16] = "";

	if (rt->n >= 100000) {
		rt->truncated = true;
		return 0;
	}
	/* later changes are kept too: they decide which change of a path is the last */
	if (row->detected_ns <= rt->until && strcmp(row->disposition, "unauthorized") == 0) {
		for (size_t i = 0; i < rt->d->paths.n && !covered; i++)
			covered = cr_path_match(rt->d->paths.v[i], row->path, row->path_len);
		/* an actor known to be someone else is not the implementer's doing */
		if (covered && rt->d->implementers.n &&
		    json_path_string(row->event_json, strlen(row->event_json), "user.audit.id", auid,
				     sizeof(auid)) == 0) {
			char user[64], acct[64] = "";
			struct store_account a = { 0 };

			if (account_user_of_uid((uint32_t)strtoul(auid, NULL, 10), user,
						sizeof(user)) == 0 &&
			    store_account_get(rt->c->store, user, true, &a) == 1 && !a.disabled_ns)
				snprintf(acct, sizeof(acct), "%s", a.name);
			store_account_release(&a);
			covered = acct[0] && cr_list_has(&rt->d->implementers, acct);
		}
	}
	nv = realloc(rt->items, (rt->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	rt->items = nv;
	it = &rt->items[rt->n];
	snprintf(it->uuid, sizeof(it->uuid), "%s", row->uuid);
	it->path = strndup(row->path, row->path_len);
	it->len = row->path_len;
	it->covered = covered;
	if (!it->path)
		return -ENOMEM;
	rt->n++;
	return 0;
}

/*
 * An emergency record started with a window that opened earlier covers, retroactively,
 * the unauthorized changes in its scope made in that window by its implementers (or by
 * someone unknown): they become authorized by it, journaled one by one, and an object
 * whose last change is among them gets its baseline moved to what was last observed.
 */
static int retro_cover(struct cli *c, const struct store_record *rec, const struct cr_doc *d,
		       const struct account_who *who, int64_t now)
{
	struct retro rt = { .c = c, .rec = rec, .d = d,
			    .until = d->window_end < now ? d->window_end : now };
	/* the look-back is bounded by the time an emergency has to be approved */
	int64_t lookback = now - (int64_t)c->settings.emergency_deadline * 1000000000;
	int64_t since = d->window_start > lookback ? d->window_start : lookback;
	size_t covered = 0;
	int r, status = EXIT_OK;

	r = store_changes_each(c->store, c->host_id, since, 0, retro_one, &rt);
	for (size_t i = 0; r == 0 && i < rt.n; i++) {
		struct retro_item *it = &rt.items[i];
		struct buf b;
		struct json_writer w;
		bool last = true;

		if (!it->covered)
			continue;
		for (size_t k = i + 1; k < rt.n && last; k++)
			last = !(rt.items[k].len == it->len && memcmp(rt.items[k].path, it->path, it->len) == 0);
		buf_init(&b, 0);
		jw_init(&w, &b);
		jw_obj_open(&w);
		jw_key(&w, "by");
		jw_str(&w, "change_record");
		record_ref_json(&w, rec);
		jw_key(&w, "retroactive");
		jw_bool(&w, true);
		jw_obj_close(&w);
		r = w.err ? w.err : store_change_authorize(c->store, it->uuid, rec->uuid, b.data);
		buf_release(&b);
		/* the baseline takes the observed state only when nothing came after */
		last = last && !rt.truncated;
		if (r == 0 && last) {
			r = store_baseline_take_observed(c->store, c->host_id, it->path, it->len);
			r = r < 0 ? r : 0;
		}
		if (r < 0)
			break;
		buf_init(&b, 0);
		jw_init(&w, &b);
		jw_obj_open(&w);
		jw_key(&w, "change");
		jw_obj_open(&w);
		jw_key(&w, "id");
		jw_str(&w, it->uuid);
		jw_key(&w, "path");
		jw_str_bytes(&w, it->path, it->len);
		jw_key(&w, "baseline_moved");
		jw_bool(&w, last);
		jw_obj_close(&w);
		record_ref_json(&w, rec);
		cli_who_json(&w, who);
		jw_obj_close(&w);
		r = w.err ? w.err : journal_append(c->journal, "change.authorized", b.data, NULL);
		buf_release(&b);
		covered++;
	}
	if (r == 0)
		r = store_tx_commit(c->store);
	if (r < 0) {
		store_tx_rollback(c->store);
		status = log_error(EXIT_STORE, "cannot cover earlier changes: %s", strerror(-r));
	} else if (covered && c->verbosity >= 0 && !c->json) {
		printf("%s covers %zu earlier change(s) in its window\n", rec->ext_id, covered);
	}
	for (size_t i = 0; i < rt.n; i++)
		free(rt.items[i].path);
	free(rt.items);
	return status;
}

/* The time span whose changes a review looks at. */
static void review_span(const struct cr_doc *d, const struct history *h, int64_t *from,
			int64_t *to)
{
	if (d->has_window) {
		*from = d->window_start;
		*to = d->window_end;
	} else {
		*from = h->started_ns;
		*to = h->completed_ns ? h->completed_ns : clock_now_ns();
	}
}

/* What a closed record's review covered: shown when it is closed (CHG-07). */
static void print_packet(struct cli *c, const struct store_record *rec, const struct cr_doc *d,
			 const struct history *h)
{
	struct cr_packet p = { 0 };
	int64_t from, to;

	review_span(d, h, &from, &to);
	if (cr_review_packet(c->store, c->host_id, rec->uuid, d, from, to, &p) < 0)
		return;
	printf("review packet: %zu change(s) authorized by %s, %zu discrepanc%s "
	       "(acknowledged at the review)\n",
	       p.n_matched, rec->ext_id, p.n, p.n == 1 ? "y" : "ies");
	for (size_t k = 0; k < p.n; k++)
		printf("  %s  %s\n", p.d[k].key, p.d[k].text);
	cr_packet_release(&p);
}

static int change_simple(struct cli *c, int argc, char **argv, enum cr_action a)
{
	static const int allowed[] = { O_TEXT, 0 };
	static const enum role need[CR_ACTION__COUNT] = {
		[CR_SUBMIT] = ROLE_REQUESTER, [CR_APPROVE] = ROLE_APPROVER,
		[CR_REJECT] = ROLE_APPROVER,  [CR_START] = ROLE_IMPLEMENTER,
		[CR_COMPLETE] = ROLE_IMPLEMENTER, [CR_REVIEW] = ROLE_REVIEWER,
		[CR_CLOSE] = ROLE_REVIEWER,   [CR_CANCEL] = ROLE__COUNT,
	};
	const char *name = cr_action_name(a);
	struct copts o;
	struct store_record rec = { 0 };
	struct cr_doc d = { 0 };
	struct account_who who;
	struct history h = { 0 };
	struct buf detail;
	enum role role;
	char sod[600] = "", relaxed_by[300] = "";
	int status = parse_copts(argc, argv, name, allowed, &o);
	int to = -1, r;
	bool loaded = false;

	buf_init(&detail, 0);
	if (status != EXIT_OK)
		goto out;
	if (optind != argc - 1) {
		status = log_error(EXIT_USAGE, "usage: vigil change %s ID [--text T]", name);
		goto out;
	}
	status = cli_open_all(c, true);
	if (status == EXIT_OK)
		status = load_record(c, argv[optind], &rec, &d);
	if (status != EXIT_OK)
		goto out;
	loaded = true;
	r = history_load(c, &rec, &h);
	if (r < 0) {
		status = log_error(EXIT_STORE, "cannot read the record's history: %s", strerror(-r));
		goto out;
	}
	role = need[a];
	if (a == CR_APPROVE || a == CR_REJECT)
		role = d.approver_role;
	/* a standing authorization is retired by an approver */
	if (a == CR_CLOSE && d.type == CR_STANDARD && state_of(&rec) == CR_APPROVED)
		role = ROLE_APPROVER;
	status = cli_whoami(c, role, &who);
	if (status == EXIT_OK)
		status = check_transition(&rec, &d, a, &to);
	if (status != EXIT_OK)
		goto out;
	const char *me = account_label(&who);

	switch (a) {
	case CR_SUBMIT:
		if (d.requester && strcmp(d.requester, me) != 0)
			status = log_error(EXIT_DENIED, "refused: only the requester '%s' submits %s",
					   d.requester, rec.ext_id);
		break;
	case CR_CANCEL:
		if (d.requester && strcmp(d.requester, me) != 0 &&
		    !account_has(&who, ROLE_ADMINISTRATOR))
			status = log_error(EXIT_DENIED, "refused: only the requester '%s' or an "
							"administrator cancels %s",
					   d.requester, rec.ext_id);
		break;
	case CR_APPROVE:
	case CR_REJECT:
		/* CHG-03/04: independent of the people making the change */
		if (d.requester && strcmp(d.requester, me) == 0)
			snprintf(sod, sizeof(sod), "'%s' requested %s and may not %s it", me,
				 rec.ext_id, name);
		else if (is_implementer(&d, &h, me))
			snprintf(sod, sizeof(sod), "'%s' implements %s and may not %s it", me,
				 rec.ext_id, name);
		else if (a == CR_APPROVE && approved_by(&h, &d, me))
			status = log_error(EXIT_DENIED, "refused: '%s' already approved revision %"
							PRId64 " of %s",
					   me, rec.revision, rec.ext_id);
		break;
	case CR_START:
	case CR_COMPLETE:
		if (d.implementers.n && !cr_list_has(&d.implementers, me))
			status = log_error(EXIT_DENIED, "refused: '%s' is not an implementer of %s",
					   me, rec.ext_id);
		else if (approved_by(&h, &d, me))
			snprintf(sod, sizeof(sod), "'%s' approved %s and may not implement it", me,
				 rec.ext_id);
		break;
	case CR_REVIEW:
	case CR_CLOSE:
		if (a == CR_CLOSE && d.type == CR_STANDARD && state_of(&rec) == CR_APPROVED)
			break;
		if (is_implementer(&d, &h, me))
			snprintf(sod, sizeof(sod), "'%s' implemented %s and may not %s it", me,
				 rec.ext_id, a == CR_REVIEW ? "review" : "close");
		break;
	default:
		break;
	}
	if (status == EXIT_OK && sod[0])
		status = sod_relaxed(c, &rec, &who, name, sod, relaxed_by, sizeof(relaxed_by));
	if (status != EXIT_OK)
		goto out;
	if (a == CR_APPROVE && approvals_of(&h, &d) + 1 < d.approvals_needed)
		to = state_of(&rec); /* more approvals needed */
	if (text_detail(a == CR_START && d.type == CR_EMERGENCY ? "justification" : "text",
			a == CR_START && d.type == CR_EMERGENCY && !o.text ? d.justification : o.text,
			relaxed_by[0] ? sod : NULL, relaxed_by, &detail) < 0) {
		status = log_error(EXIT_FAILURE_, "out of memory");
		goto out;
	}
	status = act(c, &rec, &who, name, cr_state_name((enum cr_state)to), detail.data, false);
	if (status == EXIT_OK && c->verbosity >= 0 && !c->json && a == CR_APPROVE &&
	    to != CR_APPROVED && to != CR_RETRO_APPROVED)
		printf("%s: approval %zu of %u recorded\n", rec.ext_id, approvals_of(&h, &d) + 1,
		       d.approvals_needed);
	if (status == EXIT_OK && a == CR_START && d.type == CR_EMERGENCY && d.has_window &&
	    d.window_start < rec.updated_ns)
		status = retro_cover(c, &rec, &d, &who, rec.updated_ns);
	if (status == EXIT_OK)
		print_id(c, &rec);
	if (status == EXIT_OK && a == CR_CLOSE && d.type != CR_STANDARD && !c->json &&
	    c->verbosity >= 0)
		print_packet(c, &rec, &d, &h);
out:
	history_release(&h);
	buf_release(&detail);
	if (loaded)
		store_record_release(&rec);
	cr_doc_release(&d);
	copts_release(&o);
	return status < 0 ? EXIT_OK : status;
}

static int change_review(struct cli *c, int argc, char **argv)
{
	static const int allowed[] = { O_TEXT, O_ACK, 0 };
	struct copts o;
	struct store_record rec = { 0 };
	struct cr_doc d = { 0 };
	struct account_who who;
	struct history h = { 0 };
	struct cr_packet p = { 0 };
	struct buf detail;
	struct json_writer w;
	int64_t from, to_ns;
	size_t missing = 0;
	char sod[600] = "", relaxed_by[300] = "";
	int status = parse_copts(argc, argv, "review", allowed, &o);
	int to, r;
	bool loaded = false;

	buf_init(&detail, 0);
	if (status != EXIT_OK)
		goto out;
	if (optind != argc - 1) {
		status = log_error(EXIT_USAGE, "usage: vigil change review ID [--ack KEY]... [--text T]");
		goto out;
	}
	status = cli_open_all(c, true);
	if (status == EXIT_OK)
		status = load_record(c, argv[optind], &rec, &d);
	if (status != EXIT_OK)
		goto out;
	loaded = true;
	r = history_load(c, &rec, &h);
	if (r < 0) {
		status = log_error(EXIT_STORE, "cannot read the record's history: %s", strerror(-r));
		goto out;
	}
	status = cli_whoami(c, ROLE_REVIEWER, &who);
	if (status == EXIT_OK)
		status = check_transition(&rec, &d, CR_REVIEW, &to);
	if (status != EXIT_OK)
		goto out;
	if (is_implementer(&d, &h, account_label(&who))) {
		snprintf(sod, sizeof(sod), "'%s' implemented %s and may not review it",
			 account_label(&who), rec.ext_id);
		status = sod_relaxed(c, &rec, &who, "review", sod, relaxed_by,
				     sizeof(relaxed_by));
		if (status != EXIT_OK)
			goto out;
	}
	review_span(&d, &h, &from, &to_ns);
	r = cr_review_packet(c->store, c->host_id, rec.uuid, &d, from, to_ns, &p);
	if (r < 0) {
		status = log_error(EXIT_STORE, "cannot build the review packet: %s", strerror(-r));
		goto out;
	}
	for (size_t i = 0; i < o.acks.n; i++) {
		bool known = false;

		for (size_t k = 0; k < p.n && !known; k++)
			known = strcmp(p.d[k].key, o.acks.v[i]) == 0;
		if (!known) {
			status = log_error(EXIT_USAGE, "--ack '%s' names no discrepancy of %s",
					   o.acks.v[i], rec.ext_id);
			goto out;
		}
	}
	for (size_t k = 0; k < p.n; k++)
		if (!strv_has(&o.acks, p.d[k].key)) {
			if (!missing)
				log_error(0, "refused: %s has discrepancies the review must "
					     "acknowledge (--ack KEY for each):",
					  rec.ext_id);
			fprintf(stderr, "  %s  %s\n", p.d[k].key, p.d[k].text);
			missing++;
		}
	if (p.n_more) {
		status = log_error(EXIT_DENIED, "refused: %s has %zu more discrepancies than can be "
						"listed; resolve them first",
				   rec.ext_id, p.n_more);
		goto out;
	}
	if (missing) {
		status = EXIT_DENIED;
		goto out;
	}
	jw_init(&w, &detail);
	jw_obj_open(&w);
	jw_key(&w, "matched_changes");
	jw_u64(&w, p.n_matched);
	jw_key(&w, "acknowledged");
	jw_arr_open(&w);
	for (size_t k = 0; k < p.n; k++) {
		jw_obj_open(&w);
		jw_key(&w, "key");
		jw_str_bytes(&w, p.d[k].key, strlen(p.d[k].key));
		jw_key(&w, "text");
		jw_str_bytes(&w, p.d[k].text, strlen(p.d[k].text));
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	if (o.text) {
		jw_key(&w, "text");
		jw_str_bytes(&w, o.text, strlen(o.text));
	}
	if (relaxed_by[0]) {
		jw_key(&w, "sod_exception");
		jw_str_bytes(&w, sod, strlen(sod));
		jw_key(&w, "sod_relaxed_by");
		jw_str_bytes(&w, relaxed_by, strlen(relaxed_by));
	}
	jw_obj_close(&w);
	if (w.err) {
		status = log_error(EXIT_FAILURE_, "out of memory");
		goto out;
	}
	status = act(c, &rec, &who, "review", cr_state_name((enum cr_state)to), detail.data, false);
	if (status == EXIT_OK)
		print_id(c, &rec);
out:
	cr_packet_release(&p);
	history_release(&h);
	buf_release(&detail);
	if (loaded)
		store_record_release(&rec);
	cr_doc_release(&d);
	copts_release(&o);
	return status < 0 ? EXIT_OK : status;
}

static int change_amend(struct cli *c, int argc, char **argv)
{
	static const int allowed[] = { O_FILE, O_TITLE, O_TYPE, O_DESC, O_REASON, O_RISK,
				       O_ROLLBACK, O_TEST, O_EXPECTED, O_JUST, O_WSTART, O_WEND,
				       O_AROLE, O_APPROVALS, O_SIGNIFICANT, O_IMPL, O_HOST, O_PATH,
				       O_PACKAGE, O_UNIT, O_CONFIG, O_TEXT, 0 };
	struct copts o;
	struct store_record rec = { 0 };
	struct cr_doc old = { 0 }, d = { 0 };
	struct account_who who;
	struct vg_error err;
	struct buf doc, detail;
	char what[600];
	enum cr_state st;
	const char *to;
	bool loaded = false, widens;
	int status = parse_copts(argc, argv, "amend", allowed, &o);
	int r;

	buf_init(&doc, 0);
	buf_init(&detail, 0);
	if (status != EXIT_OK)
		goto out;
	if (optind != argc - 1 || (!o.file && !o.any_field)) {
		status = log_error(EXIT_USAGE,
				   "usage: vigil change amend ID (--file RECORD.json | FIELDS) [--text T]");
		goto out;
	}
	status = cli_open_all(c, true);
	if (status == EXIT_OK)
		status = load_record(c, argv[optind], &rec, &old);
	if (status != EXIT_OK)
		goto out;
	loaded = true;
	status = cli_whoami(c, ROLE_REQUESTER, &who);
	if (status != EXIT_OK)
		goto out;
	if (old.requester && strcmp(old.requester, account_label(&who)) != 0) {
		status = log_error(EXIT_DENIED, "refused: only the requester '%s' amends %s",
				   old.requester, rec.ext_id);
		goto out;
	}
	if (strcmp(rec.source, "local") != 0) {
		status = log_error(EXIT_DENIED, "refused: %s comes from '%s'; amend it there and "
						"import the new revision",
				   rec.ext_id, rec.source);
		goto out;
	}
	st = state_of(&rec);
	if (st != CR_DRAFT && st != CR_SUBMITTED && st != CR_APPROVED && st != CR_IN_PROGRESS) {
		status = log_error(EXIT_DENIED, "refused: a %s change record cannot be amended",
				   rec.state);
		goto out;
	}
	status = doc_from_input(&o, &old, &d);
	if (status == EXIT_MODIFIED)
		status = keep_lists(&o, &old, &d) < 0 ? log_error(EXIT_FAILURE_, "out of memory")
						      : EXIT_OK;
	if (status != EXIT_OK)
		goto out;
	if (d.id && strcmp(d.id, rec.ext_id) != 0) {
		status = log_error(EXIT_USAGE, "the amended record's id '%s' is not '%s'", d.id,
				   rec.ext_id);
		goto out;
	}
	free(d.id);
	d.id = strdup(rec.ext_id);
	free(d.requester);
	d.requester = old.requester ? strdup(old.requester) : NULL;
	vg_error_clear(&err);
	if (cr_doc_validate(&d, o.file ? o.file : "command line", &err) < 0) {
		status = print_error(&err, EXIT_USAGE);
		goto out;
	}
	status = check_accounts(c, &d, "refused");
	if (status != EXIT_OK)
		goto out;
	widens = cr_doc_widens(&old, &d, what, sizeof(what));
	/* CHG-08: an approved record is immutable; widening it asks for approval again */
	to = (st == CR_APPROVED || st == CR_IN_PROGRESS) && widens ? "submitted" : rec.state;
	if (d.type != old.type && st != CR_DRAFT) {
		status = log_error(EXIT_DENIED, "refused: the type of a submitted record does not "
						"change; cancel it and file a new one");
		goto out;
	}
	if (!d.id || (old.requester && !d.requester) || cr_doc_json(&d, &doc) < 0) {
		status = log_error(EXIT_FAILURE_, "out of memory");
		goto out;
	}
	if (strcmp(doc.data, rec.doc) == 0) {
		status = log_error(EXIT_USAGE, "the amendment changes nothing in %s", rec.ext_id);
		goto out;
	}
	{
		struct json_writer w;

		jw_init(&w, &detail);
		jw_obj_open(&w);
		jw_key(&w, "widens");
		jw_bool(&w, widens);
		if (widens) {
			jw_key(&w, "widening");
			jw_str_bytes(&w, what, strlen(what));
		}
		if (o.text) {
			jw_key(&w, "text");
			jw_str_bytes(&w, o.text, strlen(o.text));
		}
		jw_obj_close(&w);
		r = w.err;
	}
	free(rec.doc);
	rec.doc = strdup(doc.data);
	rec.revision++;
	if (r < 0 || !rec.doc) {
		status = log_error(EXIT_FAILURE_, "out of memory");
		goto out;
	}
	status = act(c, &rec, &who, "amend", to, detail.data, true);
	if (status == EXIT_OK && c->verbosity >= 0 && !c->json && strcmp(to, cr_state_name(st)))
		printf("%s: the amendment widens the record (%s): it returns to submitted and "
		       "needs approval again\n",
		       rec.ext_id, what);
	if (status == EXIT_OK)
		print_id(c, &rec);
out:
	buf_release(&doc);
	buf_release(&detail);
	if (loaded)
		store_record_release(&rec);
	cr_doc_release(&old);
	cr_doc_release(&d);
	copts_release(&o);
	return status < 0 ? EXIT_OK : status;
}

/* ---- show and list ---- */

static void print_time(const char *label, int64_t ns)
{
	char t[RFC3339_MAX];

	if (time_format_rfc3339(ns, t, sizeof(t)) == 0)
		printf("%s%s\n", label, t);
}

static void print_list(const char *label, const struct cr_list *l)
{
	if (!l->n)
		return;
	printf("%s", label);
	for (size_t i = 0; i < l->n; i++)
		printf("%s%s", i ? ", " : "", l->v[i]);
	putchar('\n');
}

static int print_event(void *ud, const struct store_record_event *e)
{
	struct cli *c = ud;
	char t[RFC3339_MAX];

	(void)c;
	time_format_rfc3339(e->time_ns, t, sizeof(t));
	printf("  %s  %-9s %s -> %s  by %s (%s), revision %" PRId64 "%s%s\n", t, e->action,
	       e->from_state, e->to_state, e->account, e->roles, e->revision,
	       strcmp(e->detail, "{}") ? "  " : "", strcmp(e->detail, "{}") ? e->detail : "");
	return 0;
}

static int print_matched(void *ud, const struct store_change_row *row)
{
	size_t *n = ud;
	char t[RFC3339_MAX];
	struct buf p;

	if (++*n > 50)
		return 0;
	buf_init(&p, 8192);
	escape_bytes(&p, row->path, row->path_len);
	time_format_rfc3339(row->detected_ns, t, sizeof(t));
	printf("  %s  %-8s %s  (%s)\n", t, row->change, buf_str(&p), row->uuid);
	buf_release(&p);
	return 0;
}

struct show_json {
	struct json_writer *w;
};

static int event_json(void *ud, const struct store_record_event *e)
{
	struct json_writer *w = ud;
	char t[RFC3339_MAX];

	time_format_rfc3339(e->time_ns, t, sizeof(t));
	jw_obj_open(w);
	jw_key(w, "time");
	jw_str(w, t);
	jw_key(w, "action");
	jw_str(w, e->action);
	jw_key(w, "from");
	jw_str(w, e->from_state);
	jw_key(w, "to");
	jw_str(w, e->to_state);
	jw_key(w, "account");
	jw_str(w, e->account);
	jw_key(w, "roles");
	jw_str(w, e->roles);
	jw_key(w, "revision");
	jw_i64(w, e->revision);
	jw_key(w, "detail");
	jw_raw(w, e->detail);
	jw_obj_close(w);
	return w->err;
}

static int matched_json(void *ud, const struct store_change_row *row)
{
	struct json_writer *w = ud;

	jw_raw(w, row->event_json);
	return w->err;
}

static int change_show(struct cli *c, int argc, char **argv)
{
	static const int allowed[] = { 0 };
	struct copts o;
	struct store_record rec = { 0 };
	struct cr_doc d = { 0 };
	struct account_who who;
	struct history h = { 0 };
	struct cr_packet p = { 0 };
	int64_t from, to;
	size_t n = 0;
	bool loaded = false;
	int status = parse_copts(argc, argv, "show", allowed, &o);
	int r;

	if (status != EXIT_OK)
		goto out;
	if (optind != argc - 1) {
		status = log_error(EXIT_USAGE, "usage: vigil change show ID");
		goto out;
	}
	status = cli_open_all(c, false);
	if (status == EXIT_OK)
		status = cli_whoami(c, ROLE__COUNT, &who);
	if (status == EXIT_OK)
		status = load_record(c, argv[optind], &rec, &d);
	if (status != EXIT_OK)
		goto out;
	loaded = true;
	r = history_load(c, &rec, &h);
	if (r == 0) {
		enum cr_state st = state_of(&rec);

		review_span(&d, &h, &from, &to);
		if (st == CR_IMPLEMENTED || st == CR_RETRO_APPROVED || st == CR_REVIEWED ||
		    st == CR_CLOSED || (st == CR_REJECTED && d.type == CR_EMERGENCY))
			r = cr_review_packet(c->store, c->host_id, rec.uuid, &d, from, to, &p);
	}
	if (r < 0) {
		status = log_error(EXIT_STORE, "cannot read the record: %s", strerror(-r));
		goto out;
	}
	if (c->json) {
		struct buf b;
		struct json_writer w;

		buf_init(&b, 0);
		jw_init(&w, &b);
		jw_obj_open(&w);
		jw_key(&w, "id");
		jw_str(&w, rec.ext_id);
		jw_key(&w, "source");
		jw_str(&w, rec.source);
		jw_key(&w, "uuid");
		jw_str(&w, rec.uuid);
		jw_key(&w, "state");
		jw_str(&w, rec.state);
		jw_key(&w, "revision");
		jw_i64(&w, rec.revision);
		jw_key(&w, "approvals");
		jw_u64(&w, approvals_of(&h, &d));
		jw_key(&w, "document");
		jw_raw(&w, rec.doc);
		jw_key(&w, "events");
		jw_arr_open(&w);
		store_record_event_each(c->store, rec.id, event_json, &w);
		jw_arr_close(&w);
		jw_key(&w, "changes");
		jw_arr_open(&w);
		store_changes_by_record(c->store, c->host_id, rec.uuid, matched_json, &w);
		jw_arr_close(&w);
		jw_key(&w, "discrepancies");
		jw_arr_open(&w);
		for (size_t k = 0; k < p.n; k++) {
			jw_obj_open(&w);
			jw_key(&w, "key");
			jw_str_bytes(&w, p.d[k].key, strlen(p.d[k].key));
			jw_key(&w, "text");
			jw_str_bytes(&w, p.d[k].text, strlen(p.d[k].text));
			jw_obj_close(&w);
		}
		jw_arr_close(&w);
		jw_obj_close(&w);
		if (!w.err)
			puts(b.data);
		status = w.err ? log_error(EXIT_FAILURE_, "out of memory") : EXIT_OK;
		buf_release(&b);
		goto out;
	}
	printf("record:       %s (%s, %s)\n", rec.ext_id, rec.source, rec.uuid);
	printf("title:        %s\n", d.title ? d.title : "");
	printf("type:         %s\nstate:        %s\nrevision:     %" PRId64 "\n", rec.type,
	       rec.state, rec.revision);
	printf("requester:    %s\n", d.requester ? d.requester : "-");
	print_list("implementers: ", &d.implementers);
	printf("approvals:    %zu of %u (role %s) for this revision\n", approvals_of(&h, &d),
	       d.approvals_needed, role_name(d.approver_role));
	if (d.has_window) {
		print_time("window start: ", d.window_start);
		print_time("window end:   ", d.window_end);
	}
	print_list("hosts:        ", &d.hosts);
	print_list("paths:        ", &d.paths);
	print_list("packages:     ", &d.packages);
	print_list("units:        ", &d.units);
	print_list("config:       ", &d.config);
	if (d.risk)
		printf("risk:         %s\n", d.risk);
	if (d.justification)
		printf("justification: %s\n", d.justification);
	printf("history:\n");
	store_record_event_each(c->store, rec.id, print_event, c);
	printf("changes authorized by this record:\n");
	store_changes_by_record(c->store, c->host_id, rec.uuid, print_matched, &n);
	if (n == 0)
		printf("  none\n");
	else if (n > 50)
		printf("  ... %zu in all\n", n);
	if (p.n || p.n_matched) {
		printf("review packet: %zu matched, %zu discrepancies%s\n", p.n_matched, p.n,
		       p.n ? " (acknowledge each with 'vigil change review ID --ack KEY'):" : "");
		for (size_t k = 0; k < p.n; k++)
			printf("  %s  %s\n", p.d[k].key, p.d[k].text);
	}
out:
	cr_packet_release(&p);
	history_release(&h);
	if (loaded)
		store_record_release(&rec);
	cr_doc_release(&d);
	copts_release(&o);
	return status < 0 ? EXIT_OK : status;
}

struct list_ctx {
	struct cli *c;
	const struct copts *o;
	int64_t now, deadline_ns;
	size_t shown;
	int err;
};

/* An emergency record's overdue items: "approval", "review" or NULL. */
static const char *overdue(struct list_ctx *lc, const struct store_record *rec, int64_t *due)
{
	struct history h;
	enum cr_state st = state_of(rec);
	const char *what = NULL;

	if (strcmp(rec->type, "emergency") != 0 || st == CR_DRAFT || st == CR_SUBMITTED ||
	    st == CR_CLOSED || st == CR_CANCELLED || st == CR_REVIEWED)
		return NULL;
	if (history_load(lc->c, rec, &h) < 0) {
		history_release(&h);
		return NULL;
	}
	/* imported already started: its clock runs from when Vigil learnt of it */
	*due = (h.started_ns ? h.started_ns : rec->created_ns) + lc->deadline_ns;
	if (*due <= lc->now)
		what = st == CR_IN_PROGRESS || st == CR_IMPLEMENTED ? "approval and review"
								      : "review";
	history_release(&h);
	return what;
}

static int list_one(void *ud, const struct store_record *rec)
{
	struct list_ctx *lc = ud;
	struct cr_doc d = { 0 };
	struct vg_error err;
	const char *od = NULL;
	int64_t due = 0;
	char ws[RFC3339_MAX] = "-", we[RFC3339_MAX] = "-", dt[RFC3339_MAX] = "";

	if (lc->o->state && strcmp(lc->o->state, rec->state) != 0)
		return 0;
	if (lc->o->overdue) {
		od = overdue(lc, rec, &due);
		if (!od)
			return 0;
	}
	if (cr_doc_parse_text(rec->doc, strlen(rec->doc), CR_PARSE_STORED, "store", &d, &err) < 0)
		return 0;
	if (d.has_window) {
		time_format_rfc3339(d.window_start, ws, sizeof(ws));
		time_format_rfc3339(d.window_end, we, sizeof(we));
	}
	if (od)
		time_format_rfc3339(due, dt, sizeof(dt));
	lc->shown++;
	if (lc->c->json) {
		struct buf b;
		struct json_writer w;

		buf_init(&b, 0);
		jw_init(&w, &b);
		jw_obj_open(&w);
		jw_key(&w, "id");
		jw_str(&w, rec->ext_id);
		jw_key(&w, "source");
		jw_str(&w, rec->source);
		jw_key(&w, "uuid");
		jw_str(&w, rec->uuid);
		jw_key(&w, "type");
		jw_str(&w, rec->type);
		jw_key(&w, "state");
		jw_str(&w, rec->state);
		jw_key(&w, "revision");
		jw_i64(&w, rec->revision);
		jw_key(&w, "title");
		jw_str(&w, d.title ? d.title : "");
		if (od) {
			jw_key(&w, "overdue");
			jw_str(&w, od);
			jw_key(&w, "due");
			jw_str(&w, dt);
		}
		jw_obj_close(&w);
		if (!w.err)
			puts(b.data);
		buf_release(&b);
	} else {
		printf("%-14s %-10s %-9s %-14s %3" PRId64 "  %-20s %-20s %s%s%s%s\n", rec->ext_id,
		       rec->source, rec->type, rec->state, rec->revision, ws, we,
		       d.title ? d.title : "", od ? "  [overdue: " : "", od ? od : "",
		       od ? "]" : "");
	}
	cr_doc_release(&d);
	return 0;
}

struct exc_ctx {
	struct cli *c;
	const struct store_record *rec;
	size_t n;
};

static int exc_event(void *ud, const struct store_record_event *e)
{
	struct exc_ctx *x = ud;
	char t[RFC3339_MAX], by[300] = "", why[600] = "";

	if (!strstr(e->detail, "\"sod_relaxed_by\""))
		return 0;
	json_path_string(e->detail, strlen(e->detail), "sod_relaxed_by", by, sizeof(by));
	json_path_string(e->detail, strlen(e->detail), "sod_exception", why, sizeof(why));
	time_format_rfc3339(e->time_ns, t, sizeof(t));
	x->n++;
	if (x->c->json)
		printf("{\"id\":\"%s\",\"source\":\"%s\",\"time\":\"%s\",\"action\":\"%s\","
		       "\"account\":\"%s\",\"relaxed_by\":\"%s\",\"detail\":%s}\n",
		       x->rec->ext_id, x->rec->source, t, e->action, e->account, by, e->detail);
	else
		printf("%-14s %s  %-8s by %-12s relaxed by %s: %s\n", x->rec->ext_id, t, e->action,
		       e->account, by, why);
	return 0;
}

static int exc_record(void *ud, const struct store_record *rec)
{
	struct exc_ctx *x = ud;

	x->rec = rec;
	return store_record_event_each(x->c->store, rec->id, exc_event, x);
}

static int change_list(struct cli *c, int argc, char **argv)
{
	static const int allowed[] = { O_STATE, O_OVERDUE, O_EXCEPTIONS, 0 };
	struct copts o;
	struct account_who who;
	enum cr_state st;
	int status = parse_copts(argc, argv, "list", allowed, &o);
	int r;

	if (status != EXIT_OK)
		goto out;
	if (optind != argc) {
		status = log_error(EXIT_USAGE, "'change list' takes no argument '%s'", argv[optind]);
		goto out;
	}
	if (o.state && cr_state_parse(o.state, &st) < 0) {
		status = log_error(EXIT_USAGE, "--state: unknown state '%s'", o.state);
		goto out;
	}
	status = cli_open_all(c, false);
	if (status == EXIT_OK)
		status = cli_whoami(c, ROLE__COUNT, &who);
	if (status != EXIT_OK)
		goto out;
	{
		struct list_ctx lc = { .c = c, .o = &o, .now = clock_now_ns(),
				       .deadline_ns = (int64_t)c->settings.emergency_deadline *
						      1000000000 };

		if (!c->json && !o.exceptions)
			printf("%-14s %-10s %-9s %-14s %3s  %-20s %-20s %s\n", "ID", "SOURCE", "TYPE",
			       "STATE", "REV", "WINDOW START", "WINDOW END", "TITLE");
		if (!o.exceptions) {
			r = store_record_each(c->store, list_one, &lc);
		} else {
			/* CHG-04: every action separation of duties allowed only by a relaxation */
			struct exc_ctx x = { .c = c };

			r = store_record_each(c->store, exc_record, &x);
			if (r == 0 && !c->json && c->verbosity >= 0)
				printf("%zu exception(s) to separation of duties\n", x.n);
		}
		if (r < 0)
			status = log_error(EXIT_STORE, "cannot read records: %s", strerror(-r));
	}
out:
	copts_release(&o);
	return status < 0 ? EXIT_OK : status;
}

/* ---- import ---- */

/* Whether a record of type t in state st must have been approved. */
static bool import_needs_approval(enum cr_type t, enum cr_state st)
{
	if (t == CR_EMERGENCY)
		return st == CR_RETRO_APPROVED || st == CR_REVIEWED || st == CR_CLOSED;
	return st == CR_APPROVED || st == CR_IN_PROGRESS || st == CR_IMPLEMENTED ||
	       st == CR_REVIEWED || st == CR_CLOSED;
}

/* The separation of duties and the roles of an imported record's approvals. */
static int import_check(struct cli *c, const struct cr_doc *d, const char *file, unsigned line,
			unsigned col, const char *signer)
{
	enum cr_state st;
	size_t valid = 0;
	struct store_account a = { 0 };
	int r;

	r = store_account_get(c->store, d->requester, false, &a);
	store_account_release(&a);
	if (r <= 0)
		return r < 0 ? log_error(EXIT_STORE, "cannot read accounts: %s", strerror(-r))
			     : log_error(EXIT_USAGE, "%s:%u:%u: record %s: requester '%s' has no "
						     "account",
					 file, line, col, d->id, d->requester);
	if (check_accounts(c, d, d->id) != EXIT_OK)
		return EXIT_USAGE;
	for (size_t i = 0; i < d->n_approvals; i++) {
		const struct cr_approval *ap = &d->approvals[i];
		enum role role;
		uint32_t m = 0;

		role_parse(ap->role, &role);
		/* an approval from the future is not one (five minutes for clock skew) */
		if (ap->time_ns > clock_now_ns() + 300LL * 1000000000)
			return log_error(EXIT_DENIED, "%s:%u:%u: record %s rejected: approval by '%s' "
						      "is dated in the future",
					 file, line, col, d->id, ap->account);
		if (strcmp(ap->account, d->requester) == 0)
			return log_error(EXIT_DENIED,
					 "%s:%u:%u: record %s rejected: approval by the requester "
					 "'%s' (separation of duties)",
					 file, line, col, d->id, ap->account);
		if (cr_list_has(&d->implementers, ap->account))
			return log_error(EXIT_DENIED,
					 "%s:%u:%u: record %s rejected: approval by implementer "
					 "'%s' (separation of duties)",
					 file, line, col, d->id, ap->account);
		for (size_t k = 0; k < i; k++)
			if (strcmp(d->approvals[k].account, ap->account) == 0)
				return log_error(EXIT_DENIED, "%s:%u:%u: record %s rejected: '%s' "
							      "approves twice",
						 file, line, col, d->id, ap->account);
		r = store_account_get(c->store, ap->account, false, &a);
		if (r == 1)
			role_parse_list(a.roles, &m, NULL);
		if (r < 0) {
			store_account_release(&a);
			return log_error(EXIT_STORE, "cannot read accounts: %s", strerror(-r));
		}
		if (r == 0 || a.disabled_ns || !(m & ROLE_BIT(role)) || role != d->approver_role) {
			log_error(0, "%s:%u:%u: record %s rejected: approver '%s' %s", file, line, col,
				  d->id, ap->account,
				  r == 0 ? "has no account"
				  : a.disabled_ns ? "is disabled"
				  : role != d->approver_role ? "approved in a role the record does not "
							       "ask for"
							     : "does not hold the role it approved in");
			store_account_release(&a);
			return EXIT_DENIED;
		}
		store_account_release(&a);
		valid++;
	}
	cr_state_parse(d->state, &st);
	/* only states the record's type can reach (CHG-02) */
	if ((d->type == CR_EMERGENCY && st == CR_APPROVED) ||
	    (d->type != CR_EMERGENCY && st == CR_RETRO_APPROVED) ||
	    (d->type == CR_STANDARD &&
	     (st == CR_IN_PROGRESS || st == CR_IMPLEMENTED || st == CR_REVIEWED)))
		return log_error(EXIT_DENIED, "%s:%u:%u: record %s rejected: a %s record is never "
					      "'%s'",
				 file, line, col, d->id, cr_type_name(d->type), d->state);
	if (import_needs_approval(d->type, st)) {
		if (!signer[0])
			return log_error(EXIT_DENIED,
					 "%s:%u:%u: record %s rejected: state '%s' needs approvals, and "
					 "approvals are imported only from a signed document ([change] "
					 "import_keys, CHG-12)",
					 file, line, col, d->id, d->state);
		if (valid < d->approvals_needed)
			return log_error(EXIT_DENIED,
					 "%s:%u:%u: record %s rejected: state '%s' needs %u "
					 "approval(s), the record has %zu",
					 file, line, col, d->id, d->state, d->approvals_needed, valid);
	}
	return EXIT_OK;
}

static int import_one(struct cli *c, const struct account_who *who, const struct json_value *v,
		      const char *file, const char *signer, unsigned *ret_new,
		      unsigned *ret_updated)
{
	struct cr_doc d = { 0 };
	struct store_record rec = { 0 }, old = { 0 };
	struct vg_error err;
	struct buf doc, detail;
	struct json_writer w;
	int status, r;

	buf_init(&doc, 0);
	buf_init(&detail, 0);
	vg_error_clear(&err);
	if (cr_doc_parse(v, CR_PARSE_IMPORT, file, &d, &err) < 0 ||
	    cr_doc_validate(&d, file, &err) < 0) {
		status = print_error(&err, EXIT_USAGE);
		goto out;
	}
	if (signer[0] && strcmp(signer, d.source) != 0) {
		status = log_error(EXIT_DENIED, "%s:%u:%u: record %s rejected: its source '%s' is "
						"not the signing key's name '%s'",
				   file, v->line, v->col, d.id, d.source, signer);
		goto out;
	}
	status = import_check(c, &d, file, v->line, v->col, signer);
	if (status != EXIT_OK)
		goto out;
	if (!signer[0] && d.n_approvals) {
		/* an unsigned document's approvals are nobody's: they are not kept */
		log_warning("%s:%u:%u: record %s: approvals are kept only from a signed import; "
			    "%zu dropped",
			    file, v->line, v->col, d.id, d.n_approvals);
		for (size_t i = 0; i < d.n_approvals; i++) {
			free(d.approvals[i].account);
			free(d.approvals[i].role);
		}
		free(d.approvals);
		d.approvals = NULL;
		d.n_approvals = 0;
	}
	if (cr_doc_json(&d, &doc) < 0)
		goto out;
	jw_init(&w, &detail);
	jw_obj_open(&w);
	jw_key(&w, "file");
	jw_str_bytes(&w, file, strlen(file));
	if (signer[0]) {
		jw_key(&w, "signed_by");
		jw_str_bytes(&w, signer, strlen(signer));
	}
	/* the record enters approved only with approvals checked above (signed) */
	{
		enum cr_state st = CR_DRAFT;

		cr_state_parse(d.state, &st);
		jw_key(&w, "approved");
		jw_bool(&w, import_needs_approval(d.type, st));
	}
	jw_obj_close(&w);
	r = store_record_get(c->store, d.source, d.id, &old);
	if (r < 0) {
		status = log_error(EXIT_STORE, "cannot read records: %s", strerror(-r));
		goto out;
	}
	if (r == 1) {
		if (d.revision < old.revision ||
		    (d.revision == old.revision && strcmp(old.doc, doc.data) != 0)) {
			status = log_error(EXIT_USAGE,
					   "%s:%u:%u: record %s/%s: revision %" PRId64 " is not newer "
					   "than the stored revision %" PRId64,
					   file, v->line, v->col, d.source, d.id, d.revision,
					   old.revision);
			goto out;
		}
		if (d.revision == old.revision) {
			status = EXIT_OK; /* the same revision again: nothing to do */
			goto out;
		}
		{
			enum cr_state os = CR_DRAFT;

			cr_state_parse(old.state, &os);
			if ((os == CR_CLOSED || os == CR_CANCELLED || os == CR_REJECTED) &&
			    strcmp(old.state, d.state) != 0) {
				status = log_error(EXIT_DENIED, "%s:%u:%u: record %s/%s is %s here; "
								"it does not become '%s'",
						   file, v->line, v->col, d.source, d.id, old.state,
						   d.state);
				goto out;
			}
		}
		if (strcmp(old.type, cr_type_name(d.type)) != 0) {
			status = log_error(EXIT_DENIED, "%s:%u:%u: record %s/%s: the type changes "
							"from %s to %s",
					   file, v->line, v->col, d.source, d.id, old.type,
					   cr_type_name(d.type));
			goto out;
		}
		free(old.doc);
		old.doc = strdup(doc.data);
		old.revision = d.revision;
		if (!old.doc) {
			status = log_error(EXIT_FAILURE_, "out of memory");
			goto out;
		}
		status = act(c, &old, who, "import", d.state, detail.data, true);
		if (status == EXIT_OK)
			(*ret_updated)++;
		goto out;
	}
	rec.source = d.source;
	rec.ext_id = d.id;
	rec.type = (char *)cr_type_name(d.type);
	rec.state = (char *)"none";
	rec.revision = d.revision;
	rec.doc = doc.data;
	rec.created_ns = rec.updated_ns = clock_now_ns();
	r = store_record_add(c->store, &rec, account_label(who), NULL);
	if (r < 0) {
		store_tx_rollback(c->store);
		status = log_error(EXIT_STORE, "cannot store record %s/%s: %s", d.source, d.id,
				   strerror(-r));
		goto out;
	}
	/* the record enters in the state its source says, through one journaled event */
	rec.source = strdup(d.source);
	rec.ext_id = strdup(d.id);
	rec.type = strdup(cr_type_name(d.type));
	rec.state = strdup("none");
	rec.doc = strdup(doc.data);
	if (!rec.source || !rec.ext_id || !rec.type || !rec.state || !rec.doc) {
		store_tx_rollback(c->store);
		status = log_error(EXIT_FAILURE_, "out of memory");
	} else {
		status = act(c, &rec, who, "import", d.state, detail.data, false);
	}
	store_record_release(&rec);
	if (status == EXIT_OK)
		(*ret_new)++;
out:
	store_record_release(&old);
	buf_release(&doc);
	buf_release(&detail);
	cr_doc_release(&d);
	return status;
}

/*
 * CHG-12: with [change] import_keys set, an import must be a C2SP signed note whose
 * text is the JSON document, signed by one of those keys; each record's source must
 * then be the signing key's name, so one system cannot speak for another.  Returns
 * EXIT_OK with *ret_len the length of the document and signer the key's name, or a
 * refusal.
 */
static int import_signature(struct cli *c, const char *file, const char *text, size_t len,
			    size_t *ret_len, char *signer, size_t size)
{
	char *keys = NULL;
	size_t klen, line = 0;
	int r, status = EXIT_DENIED;
	bool any = false;

	if (!c->settings.import_keys) {
		if (memmem(text, len, "\n\n\xe2\x80\x94 ", 6))
			return log_error(EXIT_USAGE, "%s: a signed import needs [change] import_keys "
						     "to verify it (vigil.conf(5))",
					 file);
		*ret_len = len;
		signer[0] = '\0';
		return EXIT_OK;
	}
	signer[0] = '\0';
	r = file_read_all(c->settings.import_keys, NULL, 1u << 20, &keys, &klen);
	if (r < 0)
		return log_error(EXIT_CONFIG, "cannot read import_keys '%s': %s",
				 c->settings.import_keys, strerror(-r));
	for (char *p = keys, *e; p < keys + klen; p = e + 1) {
		struct note_verifier v;
		size_t n;

		e = memchr(p, '\n', (size_t)(keys + klen - p));
		if (!e)
			e = keys + klen;
		n = (size_t)(e - p);
		line++;
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\r'))
			n--;
		if (n == 0 || p[0] == '#')
			continue;
		if (note_verifier_parse(p, n, &v) < 0) {
			status = log_error(EXIT_CONFIG, "%s:%zu: not a verifier key",
					   c->settings.import_keys, line);
			goto out;
		}
		any = true;
		r = note_open(text, len, &v);
		if (r >= 0 && !signer[0]) {
			*ret_len = (size_t)r;
			snprintf(signer, size, "%s", v.name);
		}
	}
	/* every line of the key file was read, so a bad one is never skipped */
	if (signer[0]) {
		status = EXIT_OK;
		goto out;
	}
	status = log_error(EXIT_DENIED,
			   any ? "refused: %s is not a note signed by a key of %s (imports must be "
				 "signed)"
			       : "refused: %s cannot be verified: %s holds no key",
			   file, c->settings.import_keys);
out:
	free(keys);
	return status;
}

static int change_import(struct cli *c, int argc, char **argv)
{
	static const int allowed[] = { 0 };
	struct copts o;
	struct account_who who;
	struct json_value *v = NULL;
	struct vg_error err;
	char *text = NULL;
	size_t len;
	unsigned added = 0, updated = 0, failed = 0, total = 0;
	char signer[NOTE_NAME_MAX] = "";
	int status = parse_copts(argc, argv, "import", allowed, &o);
	int r;

	if (status != EXIT_OK)
		goto out;
	if (optind != argc - 1) {
		status = log_error(EXIT_USAGE, "usage: vigil change import FILE|-");
		goto out;
	}
	r = read_doc_file(argv[optind], IMPORT_MAX, &text, &len);
	if (r < 0) {
		status = log_error(EXIT_USAGE, "cannot read '%s': %s", argv[optind],
				   r == -E2BIG ? "larger than 64 MiB" : strerror(-r));
		goto out;
	}
	status = cli_open_all(c, true);
	if (status == EXIT_OK)
		status = import_signature(c, argv[optind], text, len, &len, signer, sizeof(signer));
	if (status != EXIT_OK)
		goto out;
	vg_error_clear(&err);
	if (json_parse(text, len, NULL, argv[optind], &v, &err) < 0) {
		status = print_error(&err, EXIT_USAGE);
		goto out;
	}
	status = cli_whoami(c, ROLE_ADMINISTRATOR, &who);
	if (status != EXIT_OK)
		goto out;
	/* one record, or an array of them; each stands or falls on its own */
	if (v->type == JSON_ARRAY) {
		for (size_t i = 0; i < v->arr.n; i++) {
			total++;
			if (import_one(c, &who, v->arr.items[i], argv[optind], signer, &added,
				       &updated) != EXIT_OK)
				failed++;
		}
	} else {
		total++;
		if (import_one(c, &who, v, argv[optind], signer, &added, &updated) != EXIT_OK)
			failed++;
	}
	if (c->verbosity >= 0)
		log_info("import: %u record(s): %u new, %u updated, %u unchanged, %u rejected", total,
			 added, updated, total - added - updated - failed, failed);
	status = failed ? EXIT_DENIED : EXIT_OK;
out:
	json_value_free(v);
	free(text);
	copts_release(&o);
	return status < 0 ? EXIT_OK : status;
}

int cmd_change(struct cli *c, int argc, char **argv)
{
	static const struct {
		const char *name;
		enum cr_action a;
	} simple[] = {
		{ "submit", CR_SUBMIT },     { "approve", CR_APPROVE }, { "reject", CR_REJECT },
		{ "start", CR_START },	     { "complete", CR_COMPLETE }, { "close", CR_CLOSE },
		{ "cancel", CR_CANCEL },
	};
	const char *sub = argc > 1 ? argv[1] : "";

	for (size_t i = 0; i < ARRAY_SIZE(simple); i++)
		if (strcmp(sub, simple[i].name) == 0)
			return change_simple(c, argc - 1, argv + 1, simple[i].a);
	if (strcmp(sub, "new") == 0)
		return change_new(c, argc - 1, argv + 1);
	if (strcmp(sub, "review") == 0)
		return change_review(c, argc - 1, argv + 1);
	if (strcmp(sub, "amend") == 0)
		return change_amend(c, argc - 1, argv + 1);
	if (strcmp(sub, "show") == 0)
		return change_show(c, argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0)
		return change_list(c, argc - 1, argv + 1);
	if (strcmp(sub, "import") == 0)
		return change_import(c, argc - 1, argv + 1);
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		fputs(change_usage, stdout);
		return EXIT_OK;
	}
	fputs(change_usage, stderr);
	return log_error(EXIT_USAGE, sub[0] ? "unknown change command '%s'" : "%s",
			 sub[0] ? sub : "a change command is needed");
}

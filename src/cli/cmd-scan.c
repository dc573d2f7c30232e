/*
 * vigil init and vigil check: run the engine and present what it found, to a person
 * (one line per change, changed attributes indented below) or as JSON Lines.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/escape.h"
#include "base/json-canon.h"
#include "base/log.h"
#include "alert/alert-engine.h"
#include "base/timeutil.h"
#include "change/reconcile.h"
#include "cli/cli.h"
#include "engine/engine.h"
#include "base/banned.h"

static void print_path(const char *p, size_t n)
{
	struct buf b;

	buf_init(&b, 0);
	if (escape_bytes(&b, p, n) == 0)
		fputs(buf_str(&b), stdout);
	buf_release(&b);
}

static void print_rule_tags(const struct rule *r)
{
	if (!r || r->kind != RULE_SELECT)
		return;
	if (r->severity == SEV_MEDIUM && r->n_tags == 0)
		return;
	printf("  [%s", severity_name(r->severity));
	for (size_t i = 0; i < r->n_tags; i++)
		printf(" @%s", r->tags[i]);
	putchar(']');
}

/* One line per change: what happened, the object's type (or kind), its name, the rule's
 * severity and tags, and the record that authorized it. */
static void print_head(const struct engine_event *ev, const char *type)
{
	printf("%-9s %-8s ", engine_event_name(ev->kind), type);
	print_path(ev->path, ev->path_len);
	print_rule_tags(ev->rule);
	if (ev->authorized) {
		char id[256];

		if (json_path_string(ev->json, strlen(ev->json), "vigil.authorization.record.id", id,
				     sizeof(id)) == 0)
			printf("  (authorized by %s)", id);
		else
			fputs("  (authorized)", stdout);
	}
	putchar('\n');
}

/* The unified diff of a text-like object's text, indented. */
static void print_diff(const struct engine_event *ev)
{
	if (!ev->diff || ev->kind > ENGINE_MODIFIED)
		return;
	for (const char *p = ev->diff; *p;) {
		size_t l = strcspn(p, "\n");

		printf("          %.*s\n", (int)l, p);
		p += l + (p[l] == '\n');
	}
}

/* A collected object: its name and kind, then the members that changed (before ->
 * after, as JSON) and the diff of its text. */
static int report_collected(struct cli *c, const struct engine_event *ev)
{
	const char *colon = memchr(ev->path, ':', ev->path_len);
	char name[128];

	if (ev->kind == ENGINE_ERROR) {
		log_error(0, "%s", ev->diff ? ev->diff : "a collector failed");
		return 0;
	}
	if (c->verbosity < 0)
		return 0;
	snprintf(name, sizeof(name), "%.*s", colon ? (int)(colon - ev->path) : 0, ev->path);
	print_head(ev, name);
	if (ev->kind == ENGINE_MODIFIED && ev->members) {
		/* ["a","b"]: each name, with its values */
		for (const char *p = ev->members; (p = strchr(p, '"'));) {
			const char *e = strchr(p + 1, '"');
			const char *bv = NULL, *av = NULL;
			size_t bl = 0, al = 0;

			if (!e)
				break;
			engine_state_member(ev->state_before, p + 1, (size_t)(e - p - 1), &bv, &bl);
			engine_state_member(ev->state_after, p + 1, (size_t)(e - p - 1), &av, &al);
			printf("          %-11.*s %.*s -> %.*s\n", (int)(e - p - 1), p + 1,
			       bv ? (int)bl : 1, bv ? bv : "-", av ? (int)al : 1, av ? av : "-");
			p = e + 1;
		}
	}
	print_diff(ev);
	return 0;
}

static int report(void *ud, const struct engine_event *ev)
{
	struct cli *c = ud;
	const struct scan_item *it = ev->item;
	const struct object_state *s = ev->after ? ev->after : ev->before;

	if (c->json) {
		puts(ev->json);
		return 0;
	}
	if (ev->collected)
		return report_collected(c, ev);
	switch (ev->kind) {
	case ENGINE_ERROR: {
		struct buf b;

		buf_init(&b, 0);
		escape_bytes(&b, it->path, it->path_len);
		if (it->err_below)
			log_error(0, "'%s': not examined: its directory could not be read: %s",
				  buf_str(&b), strerror(-it->err));
		else if (it->err == -ELOOP && it->err_op && strcmp(it->err_op, "resolve") == 0)
			log_error(0, "cannot resolve '%s': a directory on the way is a symbolic link,"
				     " which is never followed",
				  buf_str(&b));
		else
			log_error(0, "cannot %s '%s': %s", it->err_op ? it->err_op : "read",
				  buf_str(&b), strerror(-it->err));
		buf_release(&b);
		return 0;
	}
	case ENGINE_UNSTABLE: {
		struct buf b;

		buf_init(&b, 0);
		escape_bytes(&b, it->path, it->path_len);
		log_warning("'%s' changed while it was read; its values are from the last attempt",
			    buf_str(&b));
		buf_release(&b);
		return 0;
	}
	default:
		break;
	}
	if (c->verbosity < 0)
		return 0;
	print_head(ev, s ? obj_type_name(s->type) : "-");
	if (ev->kind == ENGINE_MODIFIED) {
		for (int a = 0; a < ATTR__COUNT; a++) {
			struct buf before, after;

			if (!(ev->changed & ATTR_BIT(a)))
				continue;
			buf_init(&before, 0);
			buf_init(&after, 0);
			object_attr_format(&before, ev->before, (enum attr)a);
			object_attr_format(&after, ev->after, (enum attr)a);
			printf("          %-11s %s -> %s\n", attr_name((enum attr)a), buf_str(&before),
			       buf_str(&after));
			buf_release(&before);
			buf_release(&after);
		}
	}
	print_diff(ev);
	return 0;
}

/* The engine's options; for init and whole checks also the collectors (EXIT_CONFIG
 * when their settings are wrong). */
static int make_opts(struct cli *c, bool collect, struct engine_opts *ret)
{
	bool bool_tmp = true;
	struct engine_opts o = {
		.policy = &c->policy,
		.store = c->store,
		.host_id = c->host_id,
		.host_name = c->host_name,
		.full = c->full,
		.workers = c->settings.workers,
		.hash_attempts = c->settings.hash_attempts,
		.one_filesystem = c->settings.one_filesystem,
		.journal = c->journal,
	};
	int status;

	if (collect) {
		status = cli_parse_kinds(c->only, &o.kinds, &bool_tmp);
		if (status != EXIT_OK)
			return status;
		o.no_files = !bool_tmp;
		status = cli_collect_setup(c, &o.collect);
		if (status != EXIT_OK)
			return status;
	}
	*ret = o;
	return EXIT_OK;
}

static void summary(const struct cli *c, const char *what, const struct engine_result *res)
{
	double secs = (double)(res->finished_ns - res->started_ns) / 1e9;

	if (c->verbosity < 0)
		return;
	if (strcmp(what, "init") == 0)
		log_info("init: baseline of %" PRIu64 " objects recorded (%" PRIu64
			 " files hashed, %.1f MiB) in %.2f s; %" PRIu64 " errors",
			 res->objects, res->hashed, (double)res->bytes / 1048576.0, secs,
			 res->errors);
	else
		log_info("check: %" PRIu64 " objects, %" PRIu64 " added, %" PRIu64 " removed, %" PRIu64
			 " modified, %" PRIu64 " errors in %.2f s",
			 res->objects, res->added, res->removed, res->modified, res->errors, secs);
}

int cmd_init(struct cli *c, int argc, char **argv)
{
	struct store_baseline_info info;
	struct engine_result res;
	struct engine_opts o;
	int status, r;

	/* the baseline approves the exclusions it is made with (DET-08) */
	c->approve_all_exclusions = true;
	status = cli_load(c);
	if (status != EXIT_OK)
		return status;
	status = cli_open_store(c, true);
	if (status != EXIT_OK)
		return status;
	r = store_baseline_info(c->store, c->host_id, &info);
	if (r < 0)
		return log_error(EXIT_STORE, "cannot read the store: %s", store_errmsg(c->store));
	if (info.exists && info.complete && !c->force)
		return log_error(EXIT_USAGE,
				 "a baseline of %" PRIu64 " objects exists in '%s'; 'vigil init --force'"
				 " replaces it",
				 info.objects, cli_state_dir(c));
	/* a new baseline absorbs every difference and approves the exclusions in force:
	 * once there are accounts, that is an administrator's act */
	if (info.exists) {
		struct account_who who;
		bool closed;

		r = account_bootstrap_closed(c->store, &closed);
		if (r < 0)
			return log_error(EXIT_STORE, "cannot read the store: %s", strerror(-r));
		if (closed) {
			status = cli_whoami(c, ROLE_ADMINISTRATOR, &who);
			if (status != EXIT_OK)
				return status;
		}
	}
	status = cli_open_journal(c, JOURNAL_CREATE);
	if (status == EXIT_OK)
		status = cli_journal_config(c);
	if (status != EXIT_OK)
		return status;
	status = make_opts(c, true, &o);
	if (status != EXIT_OK)
		return status;
	r = engine_init(&o, report, c, &res);
	if (r < 0)
		return log_error(r == -ENOMEM ? EXIT_FAILURE_ : EXIT_STORE, "init failed: %s (%s)",
				 strerror(-r), store_errmsg(c->store));
	summary(c, "init", &res);
	status = cli_save_baseline_exclusions(c);
	if (status == EXIT_OK)
		status = cli_journal_finish(c);
	if (status != EXIT_OK)
		return status;
	return res.errors ? EXIT_INCOMPLETE : EXIT_OK;
}

/* Sets up reconciliation and alerts for a check; the caller frees *rec. */
static int check_hooks(struct cli *c, struct engine_opts *o, struct alert_ctx *actx,
		       struct reconciler **rec)
{
	struct reconcile_opts ro = {
		.store = c->store,
		.host_name = c->host_name,
		.package_slack_ns = (int64_t)c->settings.package_slack * 1000000000,
	};
	int r = reconciler_new(&ro, rec);

	if (r < 0)
		return log_error(EXIT_FAILURE_, "cannot start reconciliation: %s", strerror(-r));
	o->reconcile = reconciler_engine_hook;
	o->reconcile_ud = *rec;
	/* unauthorized changes and unreadable objects raise alerts as they are recorded */
	cli_alert_ctx(c, actx);
	o->recorded = alert_engine_hook;
	o->gap = alert_gap_hook;
	o->recorded_ud = actx;
	return EXIT_OK;
}

int cli_check_paths(struct cli *c, char **paths, size_t n)
{
	struct engine_result res;
	struct engine_opts o;
	struct alert_ctx actx;
	struct reconciler *rec = NULL;
	int status, r;

	if (n == 0)
		return EXIT_OK;
	if (!c->policy_ready) {
		/* the settings are loaded already: load the rules on top */
		status = cli_load(c);
		if (status != EXIT_OK)
			return status;
	}
	status = make_opts(c, false, &o);
	if (status != EXIT_OK)
		return status;
	o.under = (const char *const *)paths;
	o.n_under = n;
	status = check_hooks(c, &o, &actx, &rec);
	if (status != EXIT_OK)
		return status;
	r = engine_check(&o, NULL, NULL, &res);
	reconciler_free(rec);
	if (r < 0)
		return log_error(EXIT_STORE, "check failed: %s", strerror(-r));
	return EXIT_OK;
}

int cmd_check(struct cli *c, int argc, char **argv)
{
	struct engine_result res;
	struct engine_opts o;
	struct reconciler *rec = NULL;
	struct alert_ctx actx;
	int status, r;

	status = cli_load(c);
	if (status != EXIT_OK)
		return status;
	status = cli_open_store(c, false);
	if (status == EXIT_OK)
		status = cli_open_journal(c, JOURNAL_WRITE);
	if (status == EXIT_OK)
		status = cli_journal_config(c);
	if (status != EXIT_OK)
		return status;
	status = make_opts(c, true, &o);
	if (status == EXIT_OK)
		status = check_hooks(c, &o, &actx, &rec);
	if (status != EXIT_OK)
		return status;
	r = engine_check(&o, report, c, &res);
	reconciler_free(rec);
	/* run from cron with no daemon, the check delivers its alerts itself */
	if (r >= 0)
		cli_work_outbox(c, &actx);
	if (r == -ENODATA)
		return log_error(EXIT_STORE, "no complete baseline for host '%s' in '%s' (run 'vigil init')",
				 c->host_name, cli_state_dir(c));
	if (r < 0)
		return log_error(r == -ENOMEM ? EXIT_FAILURE_ : EXIT_STORE, "check failed: %s (%s)",
				 strerror(-r), store_errmsg(c->store));
	fflush(stdout);
	summary(c, "check", &res);
	status = cli_journal_finish(c);
	if (status != EXIT_OK)
		return status;
	if (res.errors)
		return EXIT_INCOMPLETE;
	return (res.added ? EXIT_ADDED : 0) | (res.removed ? EXIT_REMOVED : 0) |
	       (res.modified ? EXIT_MODIFIED : 0);
}

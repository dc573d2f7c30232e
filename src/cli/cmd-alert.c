/*
 * vigil alert: the people's side of alerts (ALR-03..08).  Every command first lets the
 * clock mark what it must (escalations, breaches, overdue emergency changes), so a
 * breach is recorded even when no daemon ran at the deadline; then it checks the
 * person's role and the alert's state, and records the action with the account and
 * its roles in the store and the journal.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "base/escape.h"
#include "base/json-canon.h"
#include "base/json.h"
#include "base/log.h"
#include "base/parse.h"
#include "base/timeutil.h"
#include "base/uuid.h"
#include "cli/cli.h"
#include "base/banned.h"

#define NS_PER_S ((int64_t)1000000000)
#define MAX_ITEMS 64	/* --root-cause and --action each */

static const char alert_usage[] =
	"usage: vigil alert list [--open] [--due-within AGE] [--breached]\n"
	"       vigil alert show ID\n"
	"       vigil alert ack ID\n"
	"       vigil alert respond ID --text T\n"
	"       vigil alert determine ID --as confirmed|deviation|false-positive|control-test\n"
	"                               --text T [--record CHANGE-ID]\n"
	"       vigil alert incident ID --impact T --scope T --severity S --containment T\n"
	"                              --root-cause T... --action 'kind=K owner=A due=T [status=S] TEXT'...\n"
	"       vigil alert close ID [--accept-change | --reverted] [--text T]\n"
	"       vigil alert test --declare T [--within AGE]   (a control test, before it is made)\n"
	"ID: the alert's uuid, or a unique prefix of at least 8 characters.\n";

struct aopts {
	bool open, breached, accept, reverted;
	const char *due_within, *text, *as, *record, *impact, *scope, *severity, *containment;
	const char *declare;
	const char *causes[MAX_ITEMS], *actions[MAX_ITEMS];
	size_t n_causes, n_actions;
};

enum {
	A_OPEN = 256, A_BREACHED, A_DUE, A_TEXT, A_AS, A_RECORD, A_IMPACT, A_SCOPE, A_SEVERITY,
	A_CONTAIN, A_CAUSE, A_ACTION, A_ACCEPT, A_REVERTED, A_DECLARE, A_WITHIN,
};

static int parse_aopts(int argc, char **argv, const int *allowed, const char *cmd, struct aopts *o)
{
	static const struct option opts[] = {
		{ "open", no_argument, NULL, A_OPEN },
		{ "breached", no_argument, NULL, A_BREACHED },
		{ "due-within", required_argument, NULL, A_DUE },
		{ "text", required_argument, NULL, A_TEXT },
		{ "as", required_argument, NULL, A_AS },
		{ "record", required_argument, NULL, A_RECORD },
		{ "impact", required_argument, NULL, A_IMPACT },
		{ "scope", required_argument, NULL, A_SCOPE },
		{ "severity", required_argument, NULL, A_SEVERITY },
		{ "containment", required_argument, NULL, A_CONTAIN },
		{ "root-cause", required_argument, NULL, A_CAUSE },
		{ "action", required_argument, NULL, A_ACTION },
		{ "accept-change", no_argument, NULL, A_ACCEPT },
		{ "reverted", no_argument, NULL, A_REVERTED },
		{ "declare", required_argument, NULL, A_DECLARE },
		{ "within", required_argument, NULL, A_WITHIN },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;

	memset(o, 0, sizeof(*o));
	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		bool ok = false;

		if (opt == 'h') {
			fputs(alert_usage, stdout);
			return -1;
		}
		if (opt == '?') {
			fputs(alert_usage, stderr);
			return EXIT_USAGE;
		}
		for (const int *a = allowed; *a; a++)
			ok |= *a == opt;
		if (!ok)
			for (const struct option *x = opts; x->name; x++)
				if (x->val == opt)
					return log_error(EXIT_USAGE, "--%s does not go with 'alert %s'",
							 x->name, cmd);
		switch (opt) {
		case A_OPEN: o->open = true; break;
		case A_BREACHED: o->breached = true; break;
		case A_DUE: o->due_within = optarg; break;
		case A_TEXT: o->text = optarg; break;
		case A_AS: o->as = optarg; break;
		case A_RECORD: o->record = optarg; break;
		case A_IMPACT: o->impact = optarg; break;
		case A_SCOPE: o->scope = optarg; break;
		case A_SEVERITY: o->severity = optarg; break;
		case A_CONTAIN: o->containment = optarg; break;
		case A_ACCEPT: o->accept = true; break;
		case A_REVERTED: o->reverted = true; break;
		case A_DECLARE: o->declare = optarg; break;
		case A_WITHIN: o->due_within = optarg; break;
		case A_CAUSE:
			if (o->n_causes == MAX_ITEMS)
				return log_error(EXIT_USAGE, "at most %d --root-cause", MAX_ITEMS);
			o->causes[o->n_causes++] = optarg;
			break;
		case A_ACTION:
			if (o->n_actions == MAX_ITEMS)
				return log_error(EXIT_USAGE, "at most %d --action", MAX_ITEMS);
			o->actions[o->n_actions++] = optarg;
			break;
		default: break;
		}
	}
	return EXIT_OK;
}

/* Opens the store and journal and lets the clock mark what is due. */
static int open_and_evaluate(struct cli *c, struct alert_ctx *a)
{
	int status = cli_load_settings(c);
	int m;

	if (status == EXIT_OK)
		status = cli_open_store(c, false);
	if (status == EXIT_OK)
		status = cli_open_journal(c, JOURNAL_WRITE);
	if (status != EXIT_OK)
		return status;
	status = cli_load_channels(c);
	if (status != EXIT_OK)
		return status;
	cli_alert_ctx(c, a);
	m = alert_evaluate(a, clock_now_ns(), (int64_t)c->settings.emergency_deadline * NS_PER_S);
	if (m < 0)
		return log_error(EXIT_STORE, "cannot evaluate alert deadlines: %s", strerror(-m));
	/* what the clock marked, and retries now due, go out when no daemon runs */
	cli_work_outbox(c, a);
	return EXIT_OK;
}

static int load_alert(struct cli *c, const char *id, struct store_alert *al)
{
	int r = store_alert_get(c->store, id, al);

	if (r == -ENOTUNIQ)
		return log_error(EXIT_USAGE, "'%s' names several alerts: give more of the id", id);
	if (r < 0)
		return log_error(EXIT_STORE, "cannot read alerts: %s", strerror(-r));
	if (r == 0)
		return log_error(EXIT_USAGE, "no alert '%s'", id);
	return EXIT_OK;
}

static void time_text(int64_t ns, char *out, size_t size)
{
	if (!ns || time_format_rfc3339(ns, out, size) < 0)
		snprintf(out, size, "-");
}

/* The alert's own fields, into an open JSON object. */
static void alert_fields_json(struct json_writer *w, const struct store_alert *al, int64_t now)
{
	char t[RFC3339_MAX];

	jw_key(w, "id");
	jw_str(w, al->uuid);
	jw_key(w, "category");
	jw_str(w, al->category);
	jw_key(w, "severity");
	jw_str(w, al->severity);
	jw_key(w, "state");
	jw_str(w, al->state);
	jw_key(w, "title");
	jw_str_bytes(w, al->title, strlen(al->title));
	static const struct {
		const char *k;
		size_t off;
	} times[] = {
		{ "generated", offsetof(struct store_alert, generated_ns) },
		{ "deadline", offsetof(struct store_alert, deadline_ns) },
		{ "acknowledged", offsetof(struct store_alert, acknowledged_ns) },
		{ "responded", offsetof(struct store_alert, responded_ns) },
		{ "determined", offsetof(struct store_alert, determined_ns) },
		{ "closed", offsetof(struct store_alert, closed_ns) },
		{ "breached", offsetof(struct store_alert, breached_ns) },
	};
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		int64_t ns = *(const int64_t *)((const char *)al + times[i].off);

		jw_key(w, times[i].k);
		if (ns && time_format_rfc3339(ns, t, sizeof(t)) == 0)
			jw_str(w, t);
		else
			jw_null(w);
	}
	jw_key(w, "seconds_left");
	if (al->responded_ns)
		jw_null(w);
	else
		jw_i64(w, (al->deadline_ns - now) / NS_PER_S);
	jw_key(w, "determination");
	if (al->determination)
		jw_str(w, al->determination);
	else
		jw_null(w);
	jw_key(w, "control_test");
	jw_bool(w, al->control_test);
}

static void alert_line_json(struct json_writer *w, const struct store_alert *al, int64_t now)
{
	jw_obj_open(w);
	alert_fields_json(w, al, now);
	jw_obj_close(w);
}

struct list_ctx {
	struct cli *c;
	const struct aopts *o;
	int64_t now, due_ns;
	size_t n;
};

static int list_one(void *ud, const struct store_alert *al)
{
	struct list_ctx *lc = ud;
	char gen[RFC3339_MAX], dl[RFC3339_MAX];

	if (lc->o->breached && !al->breached_ns)
		return 0;
	if (lc->o->due_within && (al->responded_ns || al->deadline_ns > lc->now + lc->due_ns))
		return 0;
	lc->n++;
	if (lc->c->json) {
		struct buf b;
		struct json_writer w;

		buf_init(&b, 0);
		jw_init(&w, &b);
		alert_line_json(&w, al, lc->now);
		if (!w.err)
			puts(b.data);
		buf_release(&b);
		return w.err;
	}
	time_text(al->generated_ns, gen, sizeof(gen));
	time_text(al->deadline_ns, dl, sizeof(dl));
	printf("%s  %-12s %-8s %-19s %s  due %s%s  %s\n", al->uuid, al->state, al->severity,
	       al->category, gen, dl, al->breached_ns ? " BREACHED" : "", al->title);
	return 0;
}

static int alert_list(struct cli *c, int argc, char **argv)
{
	static const int allowed[] = { A_OPEN, A_BREACHED, A_DUE, 0 };
	struct aopts o;
	struct alert_ctx a;
	struct account_who who;
	struct list_ctx lc = { .c = c, .o = &o };
	int status = parse_aopts(argc, argv, allowed, "list", &o);
	int r;

	if (status != EXIT_OK)
		return status < 0 ? EXIT_OK : status;
	if (optind != argc)
		return log_error(EXIT_USAGE, "'alert list' takes no argument '%s'", argv[optind]);
	if (o.due_within && cli_parse_age(o.due_within, &lc.due_ns) < 0)
		return log_error(EXIT_USAGE, "--due-within takes an age such as 30m, 8h or 1d");
	status = open_and_evaluate(c, &a);
	if (status == EXIT_OK)
		status = cli_whoami(c, ROLE__COUNT, &who);
	if (status != EXIT_OK)
		return status;
	lc.now = clock_now_ns();
	r = store_alert_each(c->store, c->host_id, o.open || o.due_within, list_one, &lc);
	if (r < 0)
		return log_error(EXIT_STORE, "cannot read alerts: %s", strerror(-r));
	return EXIT_OK;
}

/* ---- show ---- */

struct item_print {
	struct cli *c;
	size_t n;
};

static int print_change_row(void *ud, const struct store_change_row *row)
{
	struct buf p;
	char t[RFC3339_MAX];

	buf_init(&p, 8192);
	escape_bytes(&p, row->path, row->path_len);
	time_text(row->detected_ns, t, sizeof(t));
	printf("    %s  %-8s %s  (%s)\n", t, row->change, buf_str(&p), row->disposition);
	buf_release(&p);
	return 0;
}

static int print_item(void *ud, const char *kind, const char *ref, int64_t time_ns)
{
	struct item_print *ip = ud;
	char t[RFC3339_MAX];

	ip->n++;
	if (strcmp(kind, "change") == 0)
		return store_change_get(ip->c->store, ref, print_change_row, NULL);
	time_text(time_ns, t, sizeof(t));
	printf("    %s  %-8s %s\n", t, kind, ref);
	return 0;
}

static int print_event(void *ud, const struct store_record_event *e)
{
	char t[RFC3339_MAX];

	time_text(e->time_ns, t, sizeof(t));
	printf("  %s  %-11s %s -> %s  by %s%s%s%s%s\n", t, e->action, e->from_state, e->to_state,
	       e->account, e->roles[0] ? " (" : "", e->roles, e->roles[0] ? ")" : "",
	       strcmp(e->detail, "{}") ? "" : "");
	if (strcmp(e->detail, "{}") != 0)
		printf("      %s\n", e->detail);
	return 0;
}

/* ---- show --json: the alert, what is behind it and its whole history ---- */

static int item_change_json(void *ud, const struct store_change_row *row)
{
	struct json_writer *w = ud;

	jw_key(w, "change");
	jw_str(w, row->change);
	jw_key(w, "path");
	jw_str_bytes(w, row->path, row->path_len);
	jw_key(w, "disposition");
	jw_str(w, row->disposition);
	return 0;
}

struct item_json {
	struct cli *c;
	struct json_writer *w;
};

static int item_json(void *ud, const char *kind, const char *ref, int64_t time_ns)
{
	struct item_json *ij = ud;
	char t[RFC3339_MAX];
	int r = 0;

	jw_obj_open(ij->w);
	jw_key(ij->w, "kind");
	jw_str(ij->w, kind);
	jw_key(ij->w, "ref");
	jw_str(ij->w, ref);
	jw_key(ij->w, "time");
	if (time_format_rfc3339(time_ns, t, sizeof(t)) == 0)
		jw_str(ij->w, t);
	else
		jw_null(ij->w);
	if (strcmp(kind, "change") == 0)
		r = store_change_get(ij->c->store, ref, item_change_json, ij->w);
	jw_obj_close(ij->w);
	return r < 0 ? r : 0;
}

static int event_json(void *ud, const struct store_record_event *e)
{
	struct json_writer *w = ud;
	char t[RFC3339_MAX];

	jw_obj_open(w);
	jw_key(w, "time");
	if (time_format_rfc3339(e->time_ns, t, sizeof(t)) == 0)
		jw_str(w, t);
	else
		jw_null(w);
	jw_key(w, "kind");
	jw_str(w, e->action);
	jw_key(w, "from");
	jw_str(w, e->from_state);
	jw_key(w, "to");
	jw_str(w, e->to_state);
	jw_key(w, "account");
	jw_str(w, e->account);
	jw_key(w, "roles");
	jw_str(w, e->roles);
	jw_key(w, "detail");
	jw_raw(w, e->detail);
	jw_obj_close(w);
	return 0;
}

static int show_json(struct cli *c, const struct store_alert *al, int64_t now)
{
	_cleanup_buf_ struct buf b;
	struct json_writer w;
	struct item_json ij = { .c = c, .w = &w };
	int r;

	buf_init(&b, 0);
	jw_init(&w, &b);
	jw_obj_open(&w);
	alert_fields_json(&w, al, now);
	jw_key(&w, "actor_auid");
	if (al->actor_auid >= 0)
		jw_i64(&w, al->actor_auid);
	else
		jw_null(&w);
	jw_key(&w, "incident");
	if (al->incident)
		jw_str(&w, al->incident);
	else
		jw_null(&w);
	jw_key(&w, "items");
	jw_arr_open(&w);
	r = store_alert_item_each(c->store, al->id, item_json, &ij);
	jw_arr_close(&w);
	jw_key(&w, "events");
	jw_arr_open(&w);
	if (r == 0)
		r = store_alert_event_each(c->store, al->id, event_json, &w);
	jw_arr_close(&w);
	jw_obj_close(&w);
	if (r < 0 || w.err)
		return log_error(EXIT_STORE, "alert %s: cannot read it from the store", al->uuid);
	puts(buf_str(&b));
	return EXIT_OK;
}

static int alert_show(struct cli *c, int argc, char **argv)
{
	static const int allowed[] = { 0 };
	struct aopts o;
	struct alert_ctx a;
	struct account_who who;
	struct store_alert al = { 0 };
	struct item_print ip = { .c = c };
	char t[RFC3339_MAX];
	int64_t now;
	int status = parse_aopts(argc, argv, allowed, "show", &o);

	if (status != EXIT_OK)
		return status < 0 ? EXIT_OK : status;
	if (optind != argc - 1)
		return log_error(EXIT_USAGE, "usage: vigil alert show ID");
	status = open_and_evaluate(c, &a);
	if (status == EXIT_OK)
		status = cli_whoami(c, ROLE__COUNT, &who);
	if (status == EXIT_OK)
		status = load_alert(c, argv[optind], &al);
	if (status != EXIT_OK)
		return status;
	now = clock_now_ns();
	if (c->json) {
		status = show_json(c, &al, now);
		store_alert_release(&al);
		return status;
	}
	printf("alert:        %s\ntitle:        %s\ncategory:     %s\nseverity:     %s\n"
	       "state:        %s\n",
	       al.uuid, al.title, al.category, al.severity, al.state);
	time_text(al.generated_ns, t, sizeof(t));
	printf("generated:    %s\n", t);
	time_text(al.deadline_ns, t, sizeof(t));
	printf("deadline:     %s", t);
	if (!al.responded_ns && al.deadline_ns > now)
		printf(" (%" PRId64 " h %" PRId64 " min left)", (al.deadline_ns - now) / NS_PER_S / 3600,
		       (al.deadline_ns - now) / NS_PER_S / 60 % 60);
	putchar('\n');
	if (al.responded_ns) {
		time_text(al.responded_ns, t, sizeof(t));
		printf("responded:    %s\n", t);
	}
	if (al.breached_ns) {
		time_text(al.breached_ns, t, sizeof(t));
		printf("BREACHED:     %s (no initial response by the deadline)\n", t);
	}
	if (al.determination)
		printf("determination: %s\n", al.determination);
	if (al.actor_auid >= 0)
		printf("actor:        login uid %" PRId64 "\n", al.actor_auid);
	if (al.incident)
		printf("incident:     %s\n", al.incident);
	printf("behind it:\n");
	store_alert_item_each(c->store, al.id, print_item, &ip);
	printf("history:\n");
	store_alert_event_each(c->store, al.id, print_event, NULL);
	store_alert_release(&al);
	return EXIT_OK;
}

/* ---- actions ---- */

/* Records action on al: state, the event, the journal entry; commits. */
static int act(struct cli *c, struct alert_ctx *a, struct store_alert *al,
	       const struct account_who *who, enum alert_action action, int to,
	       const char *detail)
{
	char roles[200], type[64];
	struct store_record_event e;
	struct buf b;
	struct json_writer w;
	char *from = strdup(al->state);
	int r, status;

	if (!from)
		return log_error(EXIT_FAILURE_, "out of memory");
	role_format(who->roles, roles, sizeof(roles));
	free(al->state);
	al->state = strdup(alert_state_name((enum alert_state)to));
	e = (struct store_record_event){
		.time_ns = clock_now_ns(),
		.action = alert_action_name(action),
		.from_state = from,
		.to_state = al->state ? al->state : "",
		.account = account_label(who),
		.roles = roles,
		.detail = detail,
	};
	r = al->state ? store_alert_update(c->store, al) : -ENOMEM;
	if (r == 0)
		r = store_alert_event_add(c->store, al->id, &e);
	if (r < 0) {
		store_tx_rollback(c->store);
		free(from);
		return log_error(EXIT_STORE, "cannot record the alert's %s: %s",
				 alert_action_name(action), strerror(-r));
	}
	buf_init(&b, 0);
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "alert");
	jw_obj_open(&w);
	jw_key(&w, "id");
	jw_str(&w, al->uuid);
	jw_key(&w, "category");
	jw_str(&w, al->category);
	jw_key(&w, "breached");
	jw_bool(&w, al->breached_ns != 0);
	jw_obj_close(&w);
	jw_key(&w, "transition");
	jw_obj_open(&w);
	jw_key(&w, "from");
	jw_str(&w, from);
	jw_key(&w, "to");
	jw_str(&w, al->state);
	jw_obj_close(&w);
	if (detail) {
		jw_key(&w, "detail");
		jw_raw(&w, detail);
	}
	cli_who_json(&w, who);
	jw_obj_close(&w);
	snprintf(type, sizeof(type), "alert.%s", alert_action_name(action));
	/* PagerDuty and the like follow: acknowledged, resolved */
	r = w.err;
	if (r == 0 && (action == ALERT_ACK || action == ALERT_CLOSE))
		r = alert_notify(a, al, action == ALERT_ACK ? "acknowledged" : "resolved",
				 clock_now_ns());
	if (r < 0)
		store_tx_rollback(c->store);
	status = r < 0 ? log_error(EXIT_STORE, "cannot queue the alert's message: %s", strerror(-r))
		       : cli_journal_action(c, type, b.data);
	buf_release(&b);
	free(from);
	if (status == EXIT_OK)
		cli_work_outbox(c, a);
	if (status == EXIT_OK && c->verbosity >= 0)
		printf("%s: %s%s\n", al->uuid, al->state, al->breached_ns ? " (breached)" : "");
	return status;
}

/* ALR-08: the person answering is the one whose change raised the alert. */
static bool was_actor(const struct store_alert *al, const struct account_who *who)
{
	return al->actor_auid >= 0 && (uint32_t)al->actor_auid == who->uid;
}

/* The detail of an action: up to three text members (a NULL value is left out). */
static int detail_json(struct buf *b, const struct store_alert *al, const struct account_who *who,
		       const char *k1, const char *v1, const char *k2, const char *v2,
		       const char *k3, const char *v3)
{
	const char *keys[] = { k1, k2, k3 }, *vals[] = { v1, v2, v3 };
	struct json_writer w;

	jw_init(&w, b);
	jw_obj_open(&w);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (!vals[i])
			continue;
		jw_key(&w, keys[i]);
		jw_str_bytes(&w, vals[i], strlen(vals[i]));
	}
	if (was_actor(al, who)) {
		jw_key(&w, "responder_was_actor");
		jw_bool(&w, true);
	}
	jw_obj_close(&w);
	return w.err;
}

/* The observed state of each object behind the alert becomes its baseline. */
struct accept_ctx {
	struct cli *c;
	size_t n;
	int err;
};

static int accept_change(void *ud, const struct store_change_row *row)
{
	struct accept_ctx *ac = ud;
	int r = store_baseline_take_observed(ac->c->store, ac->c->host_id, row->path, row->path_len);

	if (r == 1)
		ac->n++;
	return r < 0 ? r : 0;
}

static int accept_item(void *ud, const char *kind, const char *ref, int64_t time_ns)
{
	struct accept_ctx *ac = ud;

	if (strcmp(kind, "change") != 0)
		return 0;
	return store_change_get(ac->c->store, ref, accept_change, ac);
}

struct reverted_ctx {
	struct cli *c;
	char **paths;
	size_t n;
};

static int revert_path(void *ud, const struct store_change_row *row)
{
	struct reverted_ctx *rc = ud;
	char **nv;

	for (size_t i = 0; i < rc->n; i++)
		if (strlen(rc->paths[i]) == row->path_len &&
		    memcmp(rc->paths[i], row->path, row->path_len) == 0)
			return 0;
	nv = realloc(rc->paths, (rc->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	rc->paths = nv;
	rc->paths[rc->n] = strndup(row->path, row->path_len);
	return rc->paths[rc->n++] ? 0 : -ENOMEM;
}

static int revert_item(void *ud, const char *kind, const char *ref, int64_t time_ns)
{
	struct reverted_ctx *rc = ud;

	return strcmp(kind, "change") ? 0 : store_change_get(rc->c->store, ref, revert_path, rc);
}

/*
 * After a fresh check of path: back at its baseline, but for what restoring it cannot
 * set back (its times, and a new inode when a file is written anew)?  Then its
 * baseline takes those and the object is settled; else the close is refused.
 */
static int check_reverted(struct cli *c, const char *path)
{
	const uint32_t unsettable = ATTR_BIT(ATTR_MTIME) | ATTR_BIT(ATTR_CTIME) |
				    ATTR_BIT(ATTR_INODE) | ATTR_BIT(ATTR_DEV);
	struct object_state obs, base;
	size_t len = strlen(path);
	int g, b, r = 0, status = EXIT_OK;

	object_state_init(&obs);
	object_state_init(&base);
	g = store_observed_get(c->store, c->host_id, path, len, &obs);
	if (g == -ENOENT)
		goto out; /* at its baseline */
	b = store_baseline_get(c->store, c->host_id, path, len, &base);
	if (g < 0 || b < 0) {
		status = log_error(EXIT_STORE, "cannot read '%s' from the store", path);
		goto out;
	}
	/* a directory whose entries came and went keeps a new size and link count too:
	 * what counts is that its entries are back, and they are checked themselves */
	if (g == 0 || b == 0 ||
	    object_state_diff(&base, &obs,
			      (ATTR_BIT(ATTR__COUNT) - 1) & ~unsettable &
				      ~(obs.type == OBJ_DIR ? ATTR_BIT(ATTR_SIZE) | ATTR_BIT(ATTR_NLINK)
							    : 0),
			      false)) {
		status = log_error(EXIT_DENIED, "refused: '%s' is not back at its baseline", path);
		goto out;
	}
	r = store_baseline_set(c->store, c->host_id, path, len, &obs);
	if (r == 0)
		r = store_observed_drop(c->store, c->host_id, path, len);
	if (r < 0) {
		store_tx_rollback(c->store);
		status = log_error(EXIT_STORE, "cannot settle '%s': %s", path, strerror(-r));
	}
out:
	object_state_release(&obs);
	object_state_release(&base);
	return status;
}

static int alert_act(struct cli *c, int argc, char **argv, enum alert_action action)
{
	static const int ack_opts[] = { 0 };
	static const int respond_opts[] = { A_TEXT, 0 };
	static const int determine_opts[] = { A_AS, A_TEXT, A_RECORD, 0 };
	static const int incident_opts[] = { A_IMPACT, A_SCOPE, A_SEVERITY, A_CONTAIN, A_CAUSE,
					     A_ACTION, 0 };
	static const int close_opts[] = { A_ACCEPT, A_REVERTED, A_TEXT, 0 };
	const int *allowed[] = { ack_opts, respond_opts, determine_opts, incident_opts, close_opts };
	const char *name = alert_action_name(action);
	struct aopts o;
	struct alert_ctx a;
	struct account_who who;
	struct store_alert al = { 0 };
	struct buf detail;
	int status = parse_aopts(argc, argv, allowed[action], name, &o);
	int to;
	bool loaded = false;

	buf_init(&detail, 0);
	if (status != EXIT_OK)
		goto out;
	if (optind != argc - 1) {
		fputs(alert_usage, stderr);
		status = log_error(EXIT_USAGE, "'alert %s' takes one alert id", name);
		goto out;
	}
	status = open_and_evaluate(c, &a);
	if (status == EXIT_OK)
		status = cli_whoami(c, ROLE_RESPONDER, &who);
	if (status == EXIT_OK)
		status = load_alert(c, argv[optind], &al);
	if (status != EXIT_OK)
		goto out;
	loaded = true;
	{
		enum alert_state st = ALERT_OPEN;

		alert_state_parse(al.state, &st);
		to = alert_next_state(st, action);
		if (to < 0) {
			status = log_error(EXIT_DENIED, "refused: cannot %s a%s %s alert", name,
					   st == ALERT_OPEN || st == ALERT_ACKNOWLEDGED ? "n" : "",
					   al.state);
			goto out;
		}
	}
	if (was_actor(&al, &who))
		log_warning("%s: '%s' made the change behind this alert; this is recorded",
			    al.uuid, account_label(&who));
	switch (action) {
	case ALERT_ACK:
		al.acknowledged_ns = clock_now_ns();
		status = detail_json(&detail, &al, &who, NULL, NULL, NULL, NULL, NULL, NULL) ? EXIT_FAILURE_
										  : EXIT_OK;
		break;
	case ALERT_RESPOND:
		if (!o.text || !*o.text) {
			status = log_error(EXIT_USAGE, "'alert respond' needs --text: the initial "
						       "response");
			break;
		}
		/* the initial response stops the clock; a breach already marked stays */
		al.responded_ns = clock_now_ns();
		if (!al.acknowledged_ns)
			al.acknowledged_ns = al.responded_ns;
		status = detail_json(&detail, &al, &who, "text", o.text, NULL, NULL, NULL, NULL) ? EXIT_FAILURE_
										    : EXIT_OK;
		break;
	case ALERT_DETERMINE: {
		enum alert_determination d;

		if (!o.as || alert_determination_parse(o.as, &d) < 0) {
			status = log_error(EXIT_USAGE, "--as takes confirmed, deviation, "
						       "false-positive or control-test");
			break;
		}
		if (!o.text || !*o.text) {
			status = log_error(EXIT_USAGE, "'alert determine' needs --text: the rationale");
			break;
		}
		/* ALR-09: an undeclared test counts as a real alert */
		if (d == DET_CONTROL_TEST && !al.control_test) {
			status = log_error(EXIT_DENIED, "alert %s: not a declared control test (none "
							"was declared with 'vigil alert test "
							"--declare' before the change); an "
							"undeclared test counts as a real alert",
					   al.uuid);
			break;
		}
		if (d == DET_DEVIATION && !o.record) {
			status = log_error(EXIT_USAGE, "a deviation needs --record: the retrospective "
						       "change record");
			break;
		}
		if (o.record) {
			struct store_record rec = { 0 };
			int r = store_record_get(c->store, NULL, o.record, &rec);

			store_record_release(&rec);
			if (r <= 0) {
				status = log_error(EXIT_USAGE, "--record: no change record '%s'",
						   o.record);
				break;
			}
		}
		free(al.determination);
		al.determination = strdup(alert_determination_name(d));
		al.determined_ns = clock_now_ns();
		status = !al.determination ||
				 detail_json(&detail, &al, &who, "determination",
					     al.determination, "rationale", o.text, "record",
					     o.record)
			 ? EXIT_FAILURE_
			 : EXIT_OK;
		break;
	}
	case ALERT_INCIDENT: {
		struct json_writer w;

		if (!o.impact || !o.scope || !o.severity || !o.containment || !o.n_causes ||
		    !o.n_actions) {
			status = log_error(EXIT_USAGE, "an incident needs --impact, --scope, "
						       "--severity, --containment, at least one "
						       "--root-cause and one --action");
			break;
		}
		jw_init(&w, &detail);
		jw_obj_open(&w);
		jw_key(&w, "impact");
		jw_str_bytes(&w, o.impact, strlen(o.impact));
		jw_key(&w, "scope");
		jw_str_bytes(&w, o.scope, strlen(o.scope));
		jw_key(&w, "severity");
		jw_str_bytes(&w, o.severity, strlen(o.severity));
		jw_key(&w, "containment");
		jw_str_bytes(&w, o.containment, strlen(o.containment));
		jw_key(&w, "root_causes");
		jw_arr_open(&w);
		for (size_t i = 0; i < o.n_causes; i++)
			jw_str_bytes(&w, o.causes[i], strlen(o.causes[i]));
		jw_arr_close(&w);
		jw_key(&w, "actions");
		jw_arr_open(&w);
		for (size_t i = 0; i < o.n_actions && status == EXIT_OK; i++) {
			/* kind=K owner=A due=T [status=S] TEXT */
			char kind[16] = "", owner[64] = "", due[40] = "", st[16] = "open";
			const char *p = o.actions[i], *text = NULL;
			int64_t due_ns = 0;

			while (*p && !text) {
				const char *e = strchr(p, ' ');
				size_t n = e ? (size_t)(e - p) : strlen(p);

				if (n > 5 && strncmp(p, "kind=", 5) == 0 && n - 5 < sizeof(kind))
					snprintf(kind, sizeof(kind), "%.*s", (int)(n - 5), p + 5);
				else if (n > 6 && strncmp(p, "owner=", 6) == 0 && n - 6 < sizeof(owner))
					snprintf(owner, sizeof(owner), "%.*s", (int)(n - 6), p + 6);
				else if (n > 4 && strncmp(p, "due=", 4) == 0 && n - 4 < sizeof(due))
					snprintf(due, sizeof(due), "%.*s", (int)(n - 4), p + 4);
				else if (n > 7 && strncmp(p, "status=", 7) == 0 && n - 7 < sizeof(st))
					snprintf(st, sizeof(st), "%.*s", (int)(n - 7), p + 7);
				else
					text = p;
				p += n;
				while (*p == ' ')
					p++;
			}
			if ((strcmp(kind, "prevent") && strcmp(kind, "mitigate") &&
			     strcmp(kind, "detect")) ||
			    !owner[0] || time_parse_rfc3339(due, &due_ns) < 0 ||
			    (strcmp(st, "open") && strcmp(st, "done"))) {
				status = log_error(EXIT_USAGE,
						   "--action '%s': needs kind=prevent|mitigate|detect, "
						   "owner=ACCOUNT, due=RFC3339 time, optionally "
						   "status=open|done, then the text",
						   o.actions[i]);
				break;
			}
			{
				struct store_account acct = { 0 };
				int r = store_account_get(c->store, owner, false, &acct);

				store_account_release(&acct);
				if (r <= 0) {
					status = log_error(EXIT_USAGE, "--action: owner '%s' has no account",
							   owner);
					break;
				}
			}
			jw_obj_open(&w);
			jw_key(&w, "kind");
			jw_str(&w, kind);
			jw_key(&w, "owner");
			jw_str(&w, owner);
			jw_key(&w, "due");
			jw_str(&w, due);
			jw_key(&w, "status");
			jw_str(&w, st);
			jw_key(&w, "text");
			jw_str_bytes(&w, text ? text : "", text ? strlen(text) : 0);
			jw_obj_close(&w);
		}
		jw_arr_close(&w);
		jw_obj_close(&w);
		if (status == EXIT_OK && w.err)
			status = log_error(EXIT_FAILURE_, "out of memory");
		if (status == EXIT_OK) {
			free(al.incident);
			al.incident = strdup(detail.data);
			if (!al.incident)
				status = log_error(EXIT_FAILURE_, "out of memory");
		}
		break;
	}
	case ALERT_CLOSE: {
		bool changes = strcmp(al.category, ALERT_UNAUTHORIZED) == 0;
		struct json_writer w;
		size_t moved = 0;

		/* ALR-06: confirmed and deviation need their incident record first */
		if (al.determination && (strcmp(al.determination, "confirmed") == 0 ||
					 strcmp(al.determination, "deviation") == 0) &&
		    !al.incident) {
			status = log_error(EXIT_DENIED, "refused: a %s alert needs its incident record "
							"first (vigil alert incident)",
					   al.determination);
			break;
		}
		if (o.accept && o.reverted) {
			status = log_error(EXIT_USAGE, "--accept-change and --reverted exclude each "
						       "other");
			break;
		}
		if (changes && !o.accept && !o.reverted) {
			status = log_error(EXIT_USAGE, "closing an alert for changes needs "
						       "--accept-change or --reverted");
			break;
		}
		if (!changes && (o.accept || o.reverted)) {
			status = log_error(EXIT_USAGE, "--accept-change and --reverted go with alerts "
						       "for changes");
			break;
		}
		if (o.reverted) {
			struct reverted_ctx rc = { .c = c };
			int r = store_alert_item_each(c->store, al.id, revert_item, &rc);

			if (r == 0)
				status = cli_check_paths(c, rc.paths, rc.n);
			for (size_t i = 0; r == 0 && status == EXIT_OK && i < rc.n; i++)
				status = check_reverted(c, rc.paths[i]);
			for (size_t i = 0; i < rc.n; i++)
				free(rc.paths[i]);
			free(rc.paths);
			if (r < 0)
				status = log_error(EXIT_STORE, "cannot read the alert: %s", strerror(-r));
			if (status != EXIT_OK)
				break;
		}
		if (o.accept) {
			struct accept_ctx ac = { .c = c };
			int r = store_alert_item_each(c->store, al.id, accept_item, &ac);

			if (r < 0) {
				store_tx_rollback(c->store);
				status = log_error(EXIT_STORE, "cannot move the baseline: %s",
						   strerror(-r));
				break;
			}
			moved = ac.n;
		}
		al.closed_ns = clock_now_ns();
		jw_init(&w, &detail);
		jw_obj_open(&w);
		jw_key(&w, "outcome");
		jw_str(&w, o.accept ? "accepted" : o.reverted ? "reverted" : "closed");
		if (o.accept) {
			jw_key(&w, "baseline_moved");
			jw_u64(&w, moved);
		}
		if (o.text) {
			jw_key(&w, "text");
			jw_str_bytes(&w, o.text, strlen(o.text));
		}
		if (was_actor(&al, &who)) {
			jw_key(&w, "responder_was_actor");
			jw_bool(&w, true);
		}
		jw_obj_close(&w);
		if (w.err)
			status = log_error(EXIT_FAILURE_, "out of memory");
		break;
	}
	default:
		break;
	}
	if (status == EXIT_OK)
		status = act(c, &a, &al, &who, action, to, detail.len ? detail.data : NULL);
out:
	buf_release(&detail);
	if (loaded)
		store_alert_release(&al);
	return status < 0 ? EXIT_OK : status;
}

/* ALR-09: a control test is declared before the change it makes; the first alert
 * raised while the declaration holds is labelled as that test, end to end. */
static int alert_test(struct cli *c, int argc, char **argv)
{
	static const int allowed[] = { A_DECLARE, A_WITHIN, 0 };
	struct aopts o;
	struct alert_ctx a;
	struct account_who who;
	struct buf b;
	struct json_writer w;
	char uuid[37];
	int64_t within = 3600 * NS_PER_S, now;
	int status = parse_aopts(argc, argv, allowed, "test", &o);
	int r;

	if (status != EXIT_OK)
		return status < 0 ? EXIT_OK : status;
	if (optind != argc || !o.declare || !*o.declare)
		return log_error(EXIT_USAGE, "usage: vigil alert test --declare TEXT [--within AGE]");
	if (o.due_within && (cli_parse_age(o.due_within, &within) < 0 || within == 0))
		return log_error(EXIT_USAGE, "--within takes an age such as 30m or 2h");
	status = open_and_evaluate(c, &a);
	if (status == EXIT_OK)
		status = cli_whoami(c, ROLE_RESPONDER, &who);
	if (status != EXIT_OK)
		return status;
	now = clock_now_ns();
	r = uuid7_new(uuid);
	if (r == 0)
		r = store_control_test_add(c->store, c->host_id, uuid, now, now + within,
					   account_label(&who), o.declare);
	if (r < 0) {
		store_tx_rollback(c->store);
		return log_error(EXIT_STORE, "cannot record the control test: %s", strerror(-r));
	}
	buf_init(&b, 0);
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "control_test");
	jw_obj_open(&w);
	jw_key(&w, "id");
	jw_str(&w, uuid);
	jw_key(&w, "text");
	jw_str_bytes(&w, o.declare, strlen(o.declare));
	jw_key(&w, "within_s");
	jw_i64(&w, within / NS_PER_S);
	jw_obj_close(&w);
	cli_who_json(&w, &who);
	jw_obj_close(&w);
	status = w.err ? log_error(EXIT_FAILURE_, "out of memory")
		       : cli_journal_action(c, "alert.test_declared", b.data);
	buf_release(&b);
	if (status == EXIT_OK && c->verbosity >= 0)
		printf("control test %s declared: the next alert within %" PRId64 " s is its\n", uuid,
		       within / NS_PER_S);
	return status;
}

int cmd_alert(struct cli *c, int argc, char **argv)
{
	static const struct {
		const char *name;
		enum alert_action a;
	} acts[] = {
		{ "ack", ALERT_ACK },	      { "respond", ALERT_RESPOND }, { "determine", ALERT_DETERMINE },
		{ "incident", ALERT_INCIDENT }, { "close", ALERT_CLOSE },
	};
	const char *sub = argc > 1 ? argv[1] : "";

	for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++)
		if (strcmp(sub, acts[i].name) == 0)
			return alert_act(c, argc - 1, argv + 1, acts[i].a);
	if (strcmp(sub, "list") == 0)
		return alert_list(c, argc - 1, argv + 1);
	if (strcmp(sub, "show") == 0)
		return alert_show(c, argc - 1, argv + 1);
	if (strcmp(sub, "test") == 0)
		return alert_test(c, argc - 1, argv + 1);
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		fputs(alert_usage, stdout);
		return EXIT_OK;
	}
	fputs(alert_usage, stderr);
	return log_error(EXIT_USAGE, sub[0] ? "unknown alert command '%s'" : "%s",
			 sub[0] ? sub : "an alert command is needed");
}

/*
 * vigil account: individual accounts mapped to Unix users, and their roles (ACC-01,
 * ACC-03).  Making an account, granting or revoking a role and disabling an account are
 * an administrator's actions, each journaled with who did it.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "change/account.h"
#include "cli/cli.h"
#include "base/banned.h"

static const char account_usage[] =
	"usage: vigil account add NAME --unix-user USER --role ROLE[,ROLE...]\n"
	"       vigil account grant NAME --role ROLE[,ROLE...]\n"
	"       vigil account revoke NAME --role ROLE[,ROLE...]\n"
	"       vigil account disable NAME\n"
	"       vigil account list\n"
	"       vigil account show NAME\n"
	"Roles: requester, implementer, approver, reviewer, responder, administrator, auditor.\n";


/* Who is acting, refused with a message when they may not. */
int cli_whoami(struct cli *c, enum role role, struct account_who *ret)
{
	struct vg_error err;
	char msg[1400];

	vg_error_clear(&err);
	if (account_whoami(c->store, role, ret, &err) < 0) {
		vg_error_format(&err, msg, sizeof(msg));
		return log_error(EXIT_DENIED, "refused: %s", msg);
	}
	return EXIT_OK;
}

void cli_who_json(struct json_writer *w, const struct account_who *who)
{
	char roles[200];

	role_format(who->roles, roles, sizeof(roles));
	jw_key(w, "by");
	jw_obj_open(w);
	jw_key(w, "account");
	jw_str(w, account_label(who));
	jw_key(w, "roles");
	jw_str(w, roles);
	jw_key(w, "unix_user");
	jw_str_bytes(w, who->user, strlen(who->user));
	jw_key(w, "uid");
	jw_u64(w, who->uid);
	if (who->bootstrap) {
		jw_key(w, "bootstrap");
		jw_bool(w, true);
	}
	jw_obj_close(w);
}

static void account_json(struct json_writer *w, const struct store_account *a)
{
	char t[RFC3339_MAX];

	jw_obj_open(w);
	jw_key(w, "name");
	jw_str(w, a->name);
	jw_key(w, "unix_user");
	jw_str_bytes(w, a->unix_user, strlen(a->unix_user));
	jw_key(w, "roles");
	jw_str(w, a->roles);
	jw_key(w, "created");
	time_format_rfc3339(a->created_ns, t, sizeof(t));
	jw_str(w, t);
	jw_key(w, "disabled");
	if (a->disabled_ns) {
		time_format_rfc3339(a->disabled_ns, t, sizeof(t));
		jw_str(w, t);
	} else {
		jw_null(w);
	}
	jw_obj_close(w);
}

static int journal_account(struct cli *c, const char *type, const struct account_who *who,
			   const struct store_account *a, const char *change)
{
	struct buf b;
	struct json_writer w;
	int status;

	buf_init(&b, 0);
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "account");
	account_json(&w, a);
	if (change) {
		jw_key(&w, "change");
		jw_str(&w, change);
	}
	cli_who_json(&w, who);
	jw_obj_close(&w);
	status = w.err ? log_error(EXIT_FAILURE_, "out of memory")
		       : cli_journal_action(c, type, b.data);
	buf_release(&b);
	return status;
}

struct admin_count {
	const char *except;
	unsigned n;
};

static int count_admins(void *ud, const struct store_account *a)
{
	struct admin_count *ac = ud;
	uint32_t m;

	if (a->disabled_ns == 0 && strcmp(a->name, ac->except) != 0 &&
	    role_parse_list(a->roles, &m, NULL) == 0 && (m & ROLE_BIT(ROLE_ADMINISTRATOR)))
		ac->n++;
	return 0;
}

/* Refuses to leave no active administrator: the bootstrap rule never comes back. */
static int keep_an_admin(struct cli *c, const char *name, uint32_t new_roles, bool disabling)
{
	struct admin_count ac = { .except = name };
	int r;

	if (!disabling && (new_roles & ROLE_BIT(ROLE_ADMINISTRATOR)))
		return EXIT_OK;
	r = store_account_each(c->store, count_admins, &ac);
	if (r < 0)
		return log_error(EXIT_STORE, "cannot read accounts: %s", strerror(-r));
	if (ac.n == 0) {
		struct store_account a = { 0 };
		uint32_t m = 0;

		r = store_account_get(c->store, name, false, &a);
		if (r == 1 && !a.disabled_ns && role_parse_list(a.roles, &m, NULL) == 0 &&
		    (m & ROLE_BIT(ROLE_ADMINISTRATOR))) {
			store_account_release(&a);
			return log_error(EXIT_DENIED,
					 "refused: '%s' is the last active administrator; make "
					 "another one first",
					 name);
		}
		store_account_release(&a);
	}
	return EXIT_OK;
}

static int parse_opts(int argc, char **argv, const char **user, const char **roles)
{
	static const struct option opts[] = {
		{ "unix-user", required_argument, NULL, 'u' },
		{ "role", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			if (!user)
				return log_error(EXIT_USAGE, "--unix-user goes with 'account add' only");
			*user = optarg;
			break;
		case 'r':
			if (!roles)
				return log_error(EXIT_USAGE, "--role does not go with this command");
			*roles = optarg;
			break;
		case 'h':
			fputs(account_usage, stdout);
			return -1;
		default:
			fputs(account_usage, stderr);
			return EXIT_USAGE;
		}
	}
	return EXIT_OK;
}

static int account_add(struct cli *c, int argc, char **argv)
{
	const char *user = NULL, *roles = NULL;
	struct account_who who;
	struct store_account a = { 0 };
	struct vg_error err;
	struct passwd pw, *res = NULL;
	char pwbuf[4096], rolebuf[200], msg[1400];
	uint32_t mask;
	int status = parse_opts(argc, argv, &user, &roles);
	int r;

	if (status != EXIT_OK)
		return status < 0 ? EXIT_OK : status;
	if (optind != argc - 1 || !user || !roles)
		return log_error(EXIT_USAGE, "usage: vigil account add NAME --unix-user USER "
					     "--role ROLE[,ROLE...]");
	a.name = argv[optind];
	if (!account_name_valid(a.name))
		return log_error(EXIT_USAGE,
				 "'%s' is not an account name (1 to 63 of a-z, 0-9, '.', '_', '-', "
				 "starting with a letter or digit)",
				 a.name);
	vg_error_clear(&err);
	if (role_parse_list(roles, &mask, &err) < 0) {
		vg_error_format(&err, msg, sizeof(msg));
		return log_error(EXIT_USAGE, "--role: %s", msg);
	}
	if (getpwnam_r(user, &pw, pwbuf, sizeof(pwbuf), &res) != 0 || !res)
		return log_error(EXIT_USAGE, "--unix-user: no Unix user '%s' on this host", user);
	status = cli_open_all(c, true);
	if (status == EXIT_OK)
		status = cli_whoami(c, ROLE_ADMINISTRATOR, &who);
	if (status != EXIT_OK)
		return status;
	role_format(mask, rolebuf, sizeof(rolebuf));
	a.unix_user = (char *)user;
	a.roles = rolebuf;
	a.created_ns = clock_now_ns();
	r = store_account_add(c->store, &a, NULL);

	if (r == -EEXIST) {
		store_tx_rollback(c->store);
		return log_error(EXIT_USAGE,
				 "refused: an account named '%s' or one for Unix user '%s' already "
				 "exists (one account per person)",
				 a.name, user);
	}
	if (r == 0 && (mask & ROLE_BIT(ROLE_ADMINISTRATOR)))
		r = account_close_bootstrap(c->store, a.created_ns);
	if (r < 0) {
		store_tx_rollback(c->store);
		return log_error(EXIT_STORE, "cannot add the account: %s", strerror(-r));
	}
	status = journal_account(c, "account.added", &who, &a, NULL);
	if (status == EXIT_OK && c->verbosity >= 0)
		printf("account %s (Unix user %s): %s\n", a.name, user, rolebuf);
	return status;
}

static int account_modify(struct cli *c, int argc, char **argv, const char *what)
{
	const char *roles = NULL;
	struct account_who who;
	struct store_account a = { 0 };
	struct vg_error err;
	char rolebuf[200], change[300], msg[1400];
	uint32_t mask = 0, have = 0;
	bool disable = strcmp(what, "disable") == 0;
	int status = parse_opts(argc, argv, NULL, disable ? NULL : &roles);
	int r;

	if (status != EXIT_OK)
		return status < 0 ? EXIT_OK : status;
	if (optind != argc - 1 || (!disable && !roles))
		return log_error(EXIT_USAGE, "usage: vigil account %s NAME%s", what,
				 disable ? "" : " --role ROLE[,ROLE...]");
	if (roles) {
		vg_error_clear(&err);
		if (role_parse_list(roles, &mask, &err) < 0) {
			vg_error_format(&err, msg, sizeof(msg));
			return log_error(EXIT_USAGE, "--role: %s", msg);
		}
	}
	status = cli_open_all(c, true);
	if (status == EXIT_OK)
		status = cli_whoami(c, ROLE_ADMINISTRATOR, &who);
	if (status != EXIT_OK)
		return status;
	r = store_account_get(c->store, argv[optind], false, &a);
	if (r <= 0)
		return r < 0 ? log_error(EXIT_STORE, "cannot read accounts: %s", strerror(-r))
			     : log_error(EXIT_USAGE, "no account '%s'", argv[optind]);
	if (a.disabled_ns) {
		status = log_error(EXIT_USAGE, "account '%s' is disabled", a.name);
		goto out;
	}
	role_parse_list(a.roles, &have, NULL);
	if (disable) {
		status = keep_an_admin(c, a.name, 0, true);
		a.disabled_ns = clock_now_ns();
		snprintf(change, sizeof(change), "disabled");
	} else if (strcmp(what, "grant") == 0) {
		have |= mask;
		role_format(mask, rolebuf, sizeof(rolebuf));
		snprintf(change, sizeof(change), "granted %s", rolebuf);
	} else {
		have &= ~mask;
		status = keep_an_admin(c, a.name, have, false);
		role_format(mask, rolebuf, sizeof(rolebuf));
		snprintf(change, sizeof(change), "revoked %s", rolebuf);
	}
	if (status != EXIT_OK)
		goto out;
	role_format(have, rolebuf, sizeof(rolebuf));
	free(a.roles);
	a.roles = strdup(rolebuf);
	if (!a.roles) {
		status = log_error(EXIT_FAILURE_, "out of memory");
		goto out;
	}
	r = store_account_update(c->store, &a);
	if (r == 0 && (have & ROLE_BIT(ROLE_ADMINISTRATOR)) && !disable)
		r = account_close_bootstrap(c->store, clock_now_ns());
	if (r < 0) {
		store_tx_rollback(c->store);
		status = log_error(EXIT_STORE, "cannot update the account: %s", strerror(-r));
		goto out;
	}
	status = journal_account(c, disable ? "account.disabled" : "account.roles", &who, &a, change);
	if (status == EXIT_OK && c->verbosity >= 0)
		printf("account %s: %s; roles now: %s\n", a.name, change,
		       a.roles[0] ? a.roles : "(none)");
out:
	store_account_release(&a);
	return status;
}

static int print_account(void *ud, const struct store_account *a)
{
	struct cli *c = ud;

	if (c->json) {
		struct buf b;
		struct json_writer w;

		buf_init(&b, 0);
		jw_init(&w, &b);
		account_json(&w, a);
		if (!w.err)
			puts(b.data);
		buf_release(&b);
		return w.err;
	}
	printf("%-20s %-16s %-8s %s\n", a->name, a->unix_user, a->disabled_ns ? "disabled" : "active",
	       a->roles);
	return 0;
}

static int account_list(struct cli *c, int argc, char **argv, bool show)
{
	struct account_who who;
	struct store_account a = { 0 };
	int status = parse_opts(argc, argv, NULL, NULL);
	int r;

	if (status != EXIT_OK)
		return status < 0 ? EXIT_OK : status;
	if (optind != argc - (show ? 1 : 0))
		return log_error(EXIT_USAGE, show ? "usage: vigil account show NAME"
						  : "usage: vigil account list");
	status = cli_open_all(c, false);
	if (status == EXIT_OK)
		status = cli_whoami(c, ROLE__COUNT, &who);
	if (status != EXIT_OK)
		return status;
	if (!show) {
		if (!c->json)
			printf("%-20s %-16s %-8s %s\n", "ACCOUNT", "UNIX USER", "STATE", "ROLES");
		r = store_account_each(c->store, print_account, c);
		return r < 0 ? log_error(EXIT_STORE, "cannot read accounts: %s", strerror(-r))
			     : EXIT_OK;
	}
	r = store_account_get(c->store, argv[optind], false, &a);
	if (r <= 0)
		return r < 0 ? log_error(EXIT_STORE, "cannot read accounts: %s", strerror(-r))
			     : log_error(EXIT_USAGE, "no account '%s'", argv[optind]);
	if (c->json) {
		print_account(c, &a);
	} else {
		char t[RFC3339_MAX];

		time_format_rfc3339(a.created_ns, t, sizeof(t));
		printf("account:   %s\nunix user: %s\nroles:     %s\ncreated:   %s\n", a.name,
		       a.unix_user, a.roles[0] ? a.roles : "(none)", t);
		if (a.disabled_ns) {
			time_format_rfc3339(a.disabled_ns, t, sizeof(t));
			printf("disabled:  %s\n", t);
		}
	}
	store_account_release(&a);
	return EXIT_OK;
}

int cmd_account(struct cli *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (strcmp(sub, "add") == 0)
		return account_add(c, argc - 1, argv + 1);
	if (strcmp(sub, "grant") == 0 || strcmp(sub, "revoke") == 0 || strcmp(sub, "disable") == 0)
		return account_modify(c, argc - 1, argv + 1, sub);
	if (strcmp(sub, "list") == 0 || strcmp(sub, "show") == 0)
		return account_list(c, argc - 1, argv + 1, sub[0] == 's');
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		fputs(account_usage, stdout);
		return EXIT_OK;
	}
	fputs(account_usage, stderr);
	return log_error(EXIT_USAGE, sub[0] ? "unknown account command '%s'" : "%s",
			 sub[0] ? sub : "an account command is needed");
}

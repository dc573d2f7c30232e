/*
 * vigil(1): the command table and the global options.  Each command lives in its own
 * file (cmd-*.c); this file only parses the command line and dispatches.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/parse.h"
#include "cli/cli.h"
#include "crypto/hash.h"
#include "vigil-config.h"
#include "base/banned.h"

static const char usage_text[] =
	"usage: vigil [OPTIONS] COMMAND [ARGS]\n"
	"\n"
	"Commands:\n"
	"  config check        validate settings and rules\n"
	"  init [--force]      record the baseline of everything the rules select\n"
	"  check [--quick|--full] [--only KINDS]  compare the system with the baseline\n"
	"  journal tail [-n N] [--follow]      the latest journal entries\n"
	"  journal checkpoint                  sign and print a checkpoint now\n"
	"  journal key                         print the verifier key\n"
	"  journal verify [--from-export DIR] [--key FILE]\n"
	"  journal prove --index N [--size S]  inclusion proof\n"
	"  journal consistency --old S1 [--new S2]\n"
	"  journal export [--from T] [--to T] DIR\n"
	"  journal purge [--dry-run]           remove bodies past retention\n"
	"  daemon              watch in real time (foreground)\n"
	"  status              the running daemon's state, else the store's\n"
	"  changes [--since T] [--follow]      recorded changes\n"
	"  account add|list|show|disable|grant|revoke ...   accounts and roles\n"
	"  change new|submit|approve|reject|start|complete|review|close|cancel|\n"
	"         amend|show|list|import ...    change records (vigil change --help)\n"
	"  alert list|show|ack|respond|determine|incident|close|test ...   alerts (vigil alert --help)\n"
	"  notify test CHANNEL                 a test message through one alert channel\n"
	"  report KIND [--from T] [--to T] [--format F] [-o FILE] [--bundle DIR]\n"
	"                      audit evidence from the journal (vigil report --help)\n"
	"  help                show this help\n"
	"\n"
	"Options:\n"
	"  --config FILE       settings file (default " DEFAULT_CONFIG ")\n"
	"  --rules DIR         rules directory (default from settings, else " DEFAULT_RULES ")\n"
	"  --state-dir DIR     state directory (default " DEFAULT_STATE ")\n"
	"  --runtime-dir DIR   the daemon's control socket directory (default /run/vigil)\n"
	"  --json              JSON Lines output\n"
	"  -q, --quiet         only errors\n"
	"  -v, --verbose       debug messages\n"
	"  --version           print the version\n"
	"  -h, --help          show this help\n"
	"\n"
	"check: --quick (default) rehashes files whose size, times, inode or device\n"
	"changed; --full rehashes every file.  Exit status: 0 no differences, else the\n"
	"sum of 1 added, 2 removed, 4 modified; 14 some objects could not be examined,\n"
	"15 usage, 16 settings or rules, 17 store, 18 other errors, 19 journal\n"
	"verification failed.  See vigil(1).\n";

enum {
	OPT_CONFIG = 256, OPT_RULES, OPT_STATE, OPT_JSON, OPT_VERSION, OPT_FULL, OPT_QUICK,
	OPT_FORCE, OPT_FOLLOW, OPT_FROM_EXPORT, OPT_KEY, OPT_INDEX, OPT_SIZE, OPT_OLD, OPT_NEW,
	OPT_FROM, OPT_TO, OPT_DRY_RUN, OPT_RUNTIME, OPT_SINCE, OPT_ONLY,
};

static const struct option options[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "rules", required_argument, NULL, OPT_RULES },
	{ "state-dir", required_argument, NULL, OPT_STATE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, 'h' },
	{ "full", no_argument, NULL, OPT_FULL },
	{ "quick", no_argument, NULL, OPT_QUICK },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "follow", no_argument, NULL, OPT_FOLLOW },
	{ "from-export", required_argument, NULL, OPT_FROM_EXPORT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "index", required_argument, NULL, OPT_INDEX },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "old", required_argument, NULL, OPT_OLD },
	{ "new", required_argument, NULL, OPT_NEW },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "to", required_argument, NULL, OPT_TO },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "runtime-dir", required_argument, NULL, OPT_RUNTIME },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "only", required_argument, NULL, OPT_ONLY },
	{ 0 },
};

struct command {
	const char *name;
	const char *sub;	/* second word, or NULL */
	int (*fn)(struct cli *c, int argc, char **argv);
	bool takes_full, takes_force;
};

static const struct command commands[] = {
	{ "config", "check", cmd_config_check, false, false },
	{ "init", NULL, cmd_init, false, true },
	{ "check", NULL, cmd_check, true, false },
	{ "journal", NULL, cmd_journal, false, false },
	{ "daemon", NULL, cmd_daemon, false, false },
	{ "status", NULL, cmd_status, false, false },
	{ "changes", NULL, cmd_changes, false, false },
};

/* A non-negative whole number option, or -2 (reported) when malformed. */
static long long number_arg(const char *opt, const char *v)
{
	uint64_t n;

	if (parse_u64(v, &n) < 0 || n > INT64_MAX) {
		log_error(0, "%s takes a whole number, got '%s'", opt, v);
		return -2;
	}
	return (long long)n;
}

/* Commands that parse their own options: the global ones must come before them. */
static const struct {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
} own_options[] = {
	{ "account", cmd_account },
	{ "change", cmd_change },
	{ "alert", cmd_alert },
	{ "notify", cmd_notify },
	{ "report", cmd_report },
};

/* The position of the command word, skipping global options and their values. */
static int command_position(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			return i + 1 < argc ? i + 1 : -1;
		if (a[0] != '-')
			return i;
		if (strchr(a, '='))
			continue;
		if (strcmp(a, "--config") == 0 || strcmp(a, "--rules") == 0 ||
		    strcmp(a, "--state-dir") == 0 || strcmp(a, "--runtime-dir") == 0)
			i++;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct cli c = { .lines = -1, .index = -1, .size = -1, .old_size = -1, .new_size = -1 };
	const struct command *cmd = NULL;
	int opt, status, nargs, own = -1, pos;
	char **args;

	pos = command_position(argc, argv);
	for (size_t i = 0; pos > 0 && i < ARRAY_SIZE(own_options); i++)
		if (strcmp(argv[pos], own_options[i].name) == 0)
			own = (int)i;
	if (own >= 0)
		argc = pos; /* the command's own options are its business */
	while ((opt = getopt_long(argc, argv, "qvhn:", options, NULL)) != -1) {
		switch (opt) {
		case OPT_CONFIG:
			c.config_path = optarg;
			break;
		case OPT_RULES:
			c.rules_dir = optarg;
			break;
		case OPT_STATE:
			c.state_dir = optarg;
			break;
		case OPT_RUNTIME:
			c.runtime_dir = optarg;
			break;
		case OPT_SINCE:
			c.since = optarg;
			break;
		case OPT_JSON:
			c.json = true;
			break;
		case 'q':
			c.verbosity = -1;
			break;
		case 'v':
			c.verbosity = 1;
			break;
		case OPT_VERSION:
			printf("vigil %s\n", VIGIL_VERSION);
			return EXIT_OK;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		case OPT_FULL:
			c.full = true;
			break;
		case OPT_QUICK:
			c.quick = true;
			break;
		case OPT_FORCE:
			c.force = true;
			break;
		case OPT_FOLLOW:
			c.follow = true;
			break;
		case OPT_DRY_RUN:
			c.dry_run = true;
			break;
		case OPT_FROM_EXPORT:
			c.from_export = optarg;
			break;
		case OPT_KEY:
			c.key_file = optarg;
			break;
		case OPT_FROM:
			c.from = optarg;
			break;
		case OPT_ONLY:
			c.only = optarg;
			break;
		case OPT_TO:
			c.to = optarg;
			break;
		case 'n':
			if ((c.lines = (long)number_arg("-n", optarg)) < -1)
				return EXIT_USAGE;
			break;
		case OPT_INDEX:
			if ((c.index = number_arg("--index", optarg)) < -1)
				return EXIT_USAGE;
			break;
		case OPT_SIZE:
			if ((c.size = number_arg("--size", optarg)) < -1)
				return EXIT_USAGE;
			break;
		case OPT_OLD:
			if ((c.old_size = number_arg("--old", optarg)) < -1)
				return EXIT_USAGE;
			break;
		case OPT_NEW:
			if ((c.new_size = number_arg("--new", optarg)) < -1)
				return EXIT_USAGE;
			break;
		default:
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	log_set_level(c.verbosity < 0 ? LOG_LEVEL_ERROR
		      : c.verbosity == 0 ? LOG_LEVEL_INFO
					 : LOG_LEVEL_DEBUG);
	if (own >= 0) {
		if (optind != pos)
			return log_error(EXIT_USAGE, "unexpected argument '%s' before '%s'",
					 argv[optind], own_options[own].name);
		if (c.full || c.quick || c.force || c.follow || c.dry_run || c.since || c.from || c.only ||
		    c.to || c.from_export || c.key_file || c.lines >= 0 || c.index >= 0 ||
		    c.size >= 0 || c.old_size >= 0 || c.new_size >= 0)
			return log_error(EXIT_USAGE, "that option does not go before '%s'",
					 own_options[own].name);
		if (hash_global_init() < 0)
			return log_error(EXIT_FAILURE_, "OpenSSL lacks a required digest");
		for (args = argv + pos, nargs = 0; args[nargs]; nargs++)
			;
		status = own_options[own].fn(&c, nargs, args);
		cli_release(&c);
		return status;
	}
	args = argv + optind;
	nargs = argc - optind;
	if (nargs == 0) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(args[0], "help") == 0) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(commands[i].name, args[0]) != 0)
			continue;
		if (commands[i].sub && (nargs < 2 || strcmp(commands[i].sub, args[1]) != 0))
			continue;
		cmd = &commands[i];
		break;
	}
	if (!cmd) {
		log_error(0, "unknown command '%s' (see 'vigil --help')", args[0]);
		return EXIT_USAGE;
	}
	if (cmd->fn != cmd_journal && nargs > (cmd->sub ? 2 : 1)) {
		log_error(0, "'%s' takes no argument '%s'", args[0], args[cmd->sub ? 2 : 1]);
		return EXIT_USAGE;
	}
	if ((c.full || c.quick) && !cmd->takes_full)
		return log_error(EXIT_USAGE, "--full and --quick go with 'check' only");
	if (c.full && c.quick)
		return log_error(EXIT_USAGE, "--full and --quick exclude each other");
	if (c.force && !cmd->takes_force)
		return log_error(EXIT_USAGE, "--force goes with 'init' only");
	if (c.only && cmd->fn != cmd_check)
		return log_error(EXIT_USAGE, "--only goes with 'check' only");
	if (c.since && cmd->fn != cmd_changes)
		return log_error(EXIT_USAGE, "--since goes with 'changes' only");
	if (cmd->fn != cmd_journal &&
	    ((c.follow && cmd->fn != cmd_changes) || c.dry_run || c.from_export || c.key_file ||
	     c.from || c.to || c.lines >= 0 || c.index >= 0 || c.size >= 0 || c.old_size >= 0 ||
	     c.new_size >= 0))
		return log_error(EXIT_USAGE, "that option goes with 'journal' subcommands only");
	if (hash_global_init() < 0)
		return log_error(EXIT_FAILURE_, "OpenSSL lacks a required digest");
	status = cmd->fn(&c, nargs, args);
	cli_release(&c);
	return status;
}

/*
 * vigil(1): the command table and the global options.  Each command lives in its own
 * file (cmd-*.c); this file only parses the command line and dispatches.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
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
	"  check [--quick|--full]  compare the system with the baseline\n"
	"  help                show this help\n"
	"\n"
	"Options:\n"
	"  --config FILE       settings file (default " DEFAULT_CONFIG ")\n"
	"  --rules DIR         rules directory (default from settings, else " DEFAULT_RULES ")\n"
	"  --state-dir DIR     state directory (default " DEFAULT_STATE ")\n"
	"  --json              JSON Lines output\n"
	"  -q, --quiet         only errors\n"
	"  -v, --verbose       debug messages\n"
	"  --version           print the version\n"
	"  -h, --help          show this help\n"
	"\n"
	"check: --quick (default) rehashes files whose size, times, inode or device\n"
	"changed; --full rehashes every file.  Exit status: 0 no differences, else the\n"
	"sum of 1 added, 2 removed, 4 modified; 14 some objects could not be examined,\n"
	"15 usage, 16 settings or rules, 17 store, 18 other errors.  See vigil(1).\n";

enum { OPT_CONFIG = 256, OPT_RULES, OPT_STATE, OPT_JSON, OPT_VERSION, OPT_FULL, OPT_QUICK, OPT_FORCE };

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
};

int main(int argc, char **argv)
{
	struct cli c = { 0 };
	const struct command *cmd = NULL;
	int opt, status, nargs;
	char **args;

	while ((opt = getopt_long(argc, argv, "qvh", options, NULL)) != -1) {
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
		default:
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	log_set_level(c.verbosity < 0 ? LOG_LEVEL_ERROR
		      : c.verbosity == 0 ? LOG_LEVEL_INFO
					 : LOG_LEVEL_DEBUG);
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
	if (nargs > (cmd->sub ? 2 : 1)) {
		log_error(0, "'%s' takes no argument '%s'", args[0], args[cmd->sub ? 2 : 1]);
		return EXIT_USAGE;
	}
	if ((c.full || c.quick) && !cmd->takes_full)
		return log_error(EXIT_USAGE, "--full and --quick go with 'check' only");
	if (c.full && c.quick)
		return log_error(EXIT_USAGE, "--full and --quick exclude each other");
	if (c.force && !cmd->takes_force)
		return log_error(EXIT_USAGE, "--force goes with 'init' only");
	if (hash_global_init() < 0)
		return log_error(EXIT_FAILURE_, "OpenSSL lacks a required digest");
	status = cmd->fn(&c, nargs, args);
	cli_release(&c);
	return status;
}

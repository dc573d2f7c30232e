/*
 * What every command shares: the global options, where settings, rules and the store
 * are found, and the exit statuses of vigil(1).
 */
#ifndef VIGIL_CLI_CLI_H
#define VIGIL_CLI_CLI_H

#include <stdbool.h>

#include "alert/channel.h"
#include "base/json.h"
#include "change/account.h"
#include "conf/rules.h"
#include "conf/settings.h"
#include "journal/journal.h"
#include "policy/policy.h"
#include "store/store.h"

enum exit_status {
	EXIT_OK = 0,
	EXIT_ADDED = 1,
	EXIT_REMOVED = 2,
	EXIT_MODIFIED = 4,
	EXIT_INCOMPLETE = 14,	/* some objects could not be examined */
	EXIT_USAGE = 15,	/* bad command line */
	EXIT_CONFIG = 16,	/* bad settings or rules */
	EXIT_STORE = 17,	/* the store could not be used */
	EXIT_FAILURE_ = 18,	/* anything else */
	EXIT_TAMPERED = 19,	/* journal verification failed */
	EXIT_DENIED = 20,	/* refused: no account, a missing role, separation of duties,
				 * an illegal transition */
};

#define DEFAULT_CONFIG "/etc/vigil/vigil.conf"
#define DEFAULT_RULES "/etc/vigil/rules.d"
#define DEFAULT_STATE "/var/lib/vigil"

struct cli {
	/* global options */
	const char *config_path;	/* --config, NULL if not given */
	const char *rules_dir;		/* --rules */
	const char *state_dir;		/* --state-dir */
	const char *runtime_dir;	/* --runtime-dir */
	bool json;
	int verbosity;			/* -1 quiet, 0 normal, 1+ verbose */
	/* command options */
	bool full, quick, force, follow, dry_run;
	const char *only;	/* check --only: object kinds, comma-separated ("file" for files) */
	long lines;			/* journal tail -n */
	const char *from_export, *key_file;
	const char *from, *to;		/* RFC 3339 */
	const char *since;		/* changes --since */
	long long index, size, old_size, new_size;	/* -1: not given */
	/* loaded state */
	struct settings settings;
	const char *config_used;	/* NULL when running on built-in defaults */
	char *rules_used;
	struct ruleset rules;
	struct policy policy;
	bool policy_ready;
	struct store *store;
	char host_name[256];
	int64_t host_id;
	struct journal *journal;
	char origin[300];	/* the journal's origin and key name */
	/* DET-08: the exclusion rules read, and what approved each */
	struct cli_exclusion *excl;
	size_t n_excl;
	bool approve_all_exclusions;	/* init: the baseline approves the rules it is made by */
	bool settings_loaded;
	/* alert channels (cli_load_channels) */
	struct channel *channels;
	size_t n_channels;
	size_t *alert_channels, *escalation_channels;	/* indexes into channels */
	size_t n_alert_channels, n_escalation_channels;
	const char **alert_names, **escalation_names;	/* their names, for alert_ctx */
	/* collectors (cli_collect_setup) */
	struct cli_collect *collect;
};

struct cli_exclusion {
	char *pattern;
	char *file;
	unsigned line;
	char *approved_by;	/* "baseline", a record id, or NULL: not approved */
	bool applied;		/* false: not approved, so not applied */
};

struct coll_opts;
/* The collectors' options from the settings, built once (errors name the place). */
int cli_collect_setup(struct cli *c, const struct coll_opts **ret);
void cli_collect_free(struct cli *c);
/* --only: the object kinds (bit i: object_kinds[i]) and whether files are checked; NULL:
 * everything.  Returns an exit status (a usage error is printed). */
int cli_parse_kinds(const char *only, uint32_t *ret_kinds, bool *ret_files);

/* Loads settings and rules and compiles the policy; prints errors. Returns exit status. */
int cli_load(struct cli *c);
/* Loads the settings only (commands that do not walk). */
int cli_load_settings(struct cli *c);
/* Opens (create: creating) the store and the host row. Returns exit status. */
int cli_open_store(struct cli *c, bool create);
enum journal_access { JOURNAL_READ, JOURNAL_WRITE, JOURNAL_CREATE };
/* Opens the journal: to read (no private key), to write, or creating the key. */
int cli_open_journal(struct cli *c, enum journal_access access);
/* Journals the settings and rule files in effect, with their SHA-256. */
int cli_journal_config(struct cli *c);
/* Records the exclusions in force as approved by the baseline just made (init). */
int cli_save_baseline_exclusions(struct cli *c);
/* Issues a checkpoint when due and commits. Returns exit status. */
int cli_journal_finish(struct cli *c);
void cli_release(struct cli *c);
const char *cli_state_dir(const struct cli *c);
const char *cli_runtime_dir(const struct cli *c);

int cmd_config_check(struct cli *c, int argc, char **argv);
int cmd_init(struct cli *c, int argc, char **argv);
int cmd_check(struct cli *c, int argc, char **argv);
int cmd_journal(struct cli *c, int argc, char **argv);
int cmd_daemon(struct cli *c, int argc, char **argv);
int cmd_report(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_changes(struct cli *c, int argc, char **argv);
int cmd_account(struct cli *c, int argc, char **argv);
/* The person acting, when they hold role (ROLE__COUNT: any account); else refused with
 * a message. Exit status. */
int cli_whoami(struct cli *c, enum role role, struct account_who *ret);
/* "by": {account, roles, unix_user, uid} of a journal entry. */
void cli_who_json(struct json_writer *w, const struct account_who *who);
int cmd_change(struct cli *c, int argc, char **argv);
int cmd_alert(struct cli *c, int argc, char **argv);
int cmd_notify(struct cli *c, int argc, char **argv);
/* Configures the alert channels the settings give (or the two defaults). Exit status. */
int cli_load_channels(struct cli *c);
/* EXIT_CONFIG when alerts have fewer than two channels and no approved record says so. */
int cli_check_channel_count(struct cli *c);
void cli_channels_release(struct cli *c);
struct alert_ctx;
/* An alert context for this command: store, journal, host, policy and channels. */
void cli_alert_ctx(struct cli *c, struct alert_ctx *a);
/* Delivers what the outbox holds, when no daemon runs to do it (up to 60 s). */
void cli_work_outbox(struct cli *c, struct alert_ctx *a);
/* A check limited to paths (and what is below them), reconciled and alerting like
 * `vigil check`, printing nothing; loads the rules. Exit status (0, or an error). */
int cli_check_paths(struct cli *c, char **paths, size_t n);
/* An age: a whole number and s, m, h or d ("90s", "30m", "8h", "1d"), in ns. */
int cli_parse_age(const char *s, int64_t *ret_ns);
/* Loads the settings and opens the store and the journal (write: to append). */
int cli_open_all(struct cli *c, bool write);
/* Appends a journal entry for an action a person took, and commits. Exit status. */
int cli_journal_action(struct cli *c, const char *type, const char *fields_json);

#endif

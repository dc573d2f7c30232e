/*
 * The daemon (DESIGN §4): the watcher, the engine and the journal in one process, with
 * periodic checks, monitoring gaps and their rescans, and a control socket for the CLI.
 */
#ifndef VIGIL_DAEMON_DAEMON_H
#define VIGIL_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "conf/settings.h"
#include "journal/journal.h"
#include "policy/policy.h"
#include "store/store.h"

struct channel;

struct coll_opts;

struct daemon_config {
	const struct settings *settings;
	const struct policy *policy;
	struct store *store;
	struct journal *journal;
	int64_t host_id;
	const char *host_name;
	const char *state_dir;
	const char *runtime_dir;
	const char *config_digest;	/* of settings and rules, for the status */
	/* alert channels (ALR-02): all configured, and the names alerts and escalations
	 * go to */
	const struct channel *channels;
	size_t n_channels;
	const char *const *alert_names;
	size_t n_alert_names;
	const char *const *escalation_names;
	size_t n_escalation_names;
	/*
	 * Reloads settings and rules (SIGHUP): on success the callee fills *ret with the new
	 * configuration (policy and settings it keeps alive) and returns 0; on failure the
	 * daemon keeps running with the old one.
	 */
	int (*reload)(void *ud, struct daemon_config *ret);
	/* the collectors' options (objects beyond files), collected at every check and
	 * every [collect] interval */
	const struct coll_opts *collect;
	void *reload_ud;
};

/* Runs until SIGINT or SIGTERM.  Returns 0 after a clean stop or a negative errno. */
int daemon_run(struct daemon_config *cfg);

/* The control socket's path under a runtime directory. */
#define DAEMON_SOCKET "control"

#endif

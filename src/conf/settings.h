/*
 * Settings: vigil.conf and its drop-ins, INI style (vigil.conf(5)).
 *
 *	[vigil]
 *	host_name = ca1.example
 *	state_dir = /var/lib/vigil
 *	rules_dir = /etc/vigil/rules.d
 *	log_level = info
 *
 *	[scan]
 *	workers = 0
 *	one_filesystem = false
 *	hash_attempts = 3
 *
 *	[journal]
 *	key_file = /var/lib/vigil/journal.key
 *	origin = ca1.example/vigil-journal
 *	checkpoint_interval = 3600
 *	retention_days = 730
 *
 *	[daemon]
 *	mode = auto
 *	runtime_dir = /run/vigil
 *	quick_interval = 3600
 *	full_interval = 86400
 *	settle_ms = 20
 *	max_delay_ms = 1000
 *	max_pending = 65536
 *
 *	[collect]
 *	interval = 60
 *	timeout = 10
 *	sysctl_keys = kernel.*, net.ipv4.ip_forward
 *	pki_paths = /etc/ssl/ca
 *
 *	[exec.fw1]
 *	command = /usr/bin/ssh fw1 show running-config
 *
 * The main file is read first, then every "*.conf" of the drop-in directory in byte
 * order of their names; a later value replaces an earlier one.  Unknown sections and keys, bad
 * values and a key given twice in one file are errors that name file, line and column.
 */
#ifndef VIGIL_CONF_SETTINGS_H
#define VIGIL_CONF_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "base/log.h"

enum watch_mode_setting { WATCH_MODE_AUTO, WATCH_MODE_FANOTIFY, WATCH_MODE_INOTIFY };

/* One "key = value" of a [channel.NAME] section, kept as written (alert/ checks it). */
struct settings_kv {
	char *key, *value;
	unsigned line;
};

/* A [channel.NAME] section (ALR-02), or an [exec.NAME] one (a command to collect). */
struct settings_channel {
	char *name;
	char *file;
	unsigned line;
	struct settings_kv *kv;
	size_t n_kv;
};

#define SETTINGS_CHANNELS_MAX 64
#define SETTINGS_CHANNEL_KEYS_MAX 64

struct settings {
	char *host_name;	/* NULL: the kernel's host name */
	char *state_dir;	/* NULL: default */
	char *rules_dir;	/* NULL: default */
	enum log_level log_level;
	bool log_level_set;
	unsigned workers;	/* 0: one per online CPU */
	bool one_filesystem;
	unsigned hash_attempts;
	char *journal_key;	/* NULL: STATE_DIR/journal.key */
	char *journal_origin;	/* NULL: "<host_name>/vigil-journal" */
	unsigned checkpoint_interval;	/* seconds */
	unsigned retention_days;	/* at least SETTINGS_RETENTION_MIN */
	enum watch_mode_setting watch_mode;
	char *runtime_dir;	/* NULL: default */
	unsigned quick_interval, full_interval;	/* seconds; at most 7 days */
	unsigned settle_ms;	/* quiet time before an object that was written is read */
	unsigned max_delay_ms;	/* an object written without pause is read after this */
	unsigned max_pending;	/* objects waiting to be read; beyond: a gap and a rescan */
	unsigned emergency_deadline;	/* seconds from an emergency change's start to its
					 * retrospective approval and review (at most 24 h) */
	unsigned package_slack;	/* seconds between dpkg's work and a change it explains */
	char *import_keys;	/* verifier keys imports must be signed by; NULL: unsigned */
	unsigned alert_deadline;	/* seconds from an alert to its response deadline */
	unsigned alert_group_window;	/* seconds a change may join an alert after it */
	unsigned escalate[3];	/* seconds: unacknowledged, unanswered, unanswered again */
	char *alert_channels;	/* [alerts] channels: names, comma-separated; NULL: defaults */
	char *escalation_channels;	/* [alerts] escalation */
	struct settings_channel *channels;
	size_t n_channels;
	unsigned collect_interval;	/* [collect] seconds between the daemon's collections */
	unsigned collect_timeout;	/* seconds a collector's program may take */
	char *collect_sysctl;	/* sysctl keys, comma-separated; NULL: the defaults */
	char *collect_pki;	/* certificate files and directories, comma-separated */
	struct settings_channel *execs;	/* [exec.NAME] sections: commands to collect */
	size_t n_execs;
	char **files;		/* the files read, in order */
	size_t n_files;
};

#define SETTINGS_RETENTION_MIN 730	/* two years (LOG-04); settable only upward */

void settings_init(struct settings *s);
void settings_release(struct settings *s);
/*
 * Reads path (may be NULL: none) and then the drop-in directory dropin_dir (may be
 * NULL) into s, which keeps the defaults for what is not set.  A missing main file is an
 * error only when must_exist is set; a missing drop-in directory is never one.  Returns
 * 0 or a negative errno with err filled.
 */
int settings_load(struct settings *s, const char *path, const char *dropin_dir, bool must_exist,
		  struct vg_error *err);
/* Parses text as if it were file name (for tests and fuzzing). */
int settings_parse_text(struct settings *s, const char *name, const char *text, size_t len,
			struct vg_error *err);

#endif

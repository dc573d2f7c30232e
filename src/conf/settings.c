/*
 * The settings parser.  Strict on purpose: a typo in a monitoring configuration must
 * stop the program with the exact place of the typo, not silently select defaults.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/parse.h"
#include "conf/conffile.h"
#include "conf/settings.h"
#include "base/banned.h"

void settings_init(struct settings *s)
{
	memset(s, 0, sizeof(*s));
	s->log_level = LOG_LEVEL_INFO;
	s->hash_attempts = 3;
	s->checkpoint_interval = 3600;
	s->retention_days = SETTINGS_RETENTION_MIN;
	s->watch_mode = WATCH_MODE_AUTO;
	s->quick_interval = 3600;
	s->full_interval = 86400;
	s->settle_ms = 20;
	s->max_delay_ms = 1000;
	s->max_pending = 65536;
	s->emergency_deadline = 86400;
	s->alert_deadline = 86400;
	s->alert_group_window = 300;
	s->escalate[0] = 3600;
	s->escalate[1] = 8 * 3600;
	s->escalate[2] = 20 * 3600;
	s->package_slack = 3600;
	s->collect_interval = 60;
	s->collect_timeout = 10;
}

static void sections_release(struct settings_channel *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < v[i].n_kv; k++) {
			free(v[i].kv[k].key);
			/* values may be secrets (passwords, webhook keys) */
			if (v[i].kv[k].value)
				explicit_bzero(v[i].kv[k].value, strlen(v[i].kv[k].value));
			free(v[i].kv[k].value);
		}
		free(v[i].kv);
		free(v[i].name);
		free(v[i].file);
	}
	free(v);
}

void settings_release(struct settings *s)
{
	free(s->host_name);
	free(s->state_dir);
	free(s->rules_dir);
	free(s->journal_key);
	free(s->journal_origin);
	free(s->runtime_dir);
	free(s->import_keys);
	free(s->alert_channels);
	free(s->escalation_channels);
	sections_release(s->channels, s->n_channels);
	sections_release(s->execs, s->n_execs);
	free(s->collect_sysctl);
	free(s->collect_pki);
	for (size_t i = 0; i < s->n_files; i++)
		free(s->files[i]);
	free(s->files);
	settings_init(s);
}

enum key_type { K_STRING, K_PATH, K_UINT, K_BOOL, K_LEVEL, K_MODE };

struct key_def {
	const char *section;
	const char *key;
	enum key_type type;
	size_t offset;
	uint64_t min, max;
};

#define OFF(f) offsetof(struct settings, f)
static const struct key_def keys[] = {
	{ "vigil", "host_name", K_STRING, OFF(host_name), 0, 0 },
	{ "vigil", "state_dir", K_PATH, OFF(state_dir), 0, 0 },
	{ "vigil", "rules_dir", K_PATH, OFF(rules_dir), 0, 0 },
	{ "vigil", "log_level", K_LEVEL, OFF(log_level), 0, 0 },
	{ "scan", "workers", K_UINT, OFF(workers), 0, 256 },
	{ "scan", "one_filesystem", K_BOOL, OFF(one_filesystem), 0, 0 },
	{ "scan", "hash_attempts", K_UINT, OFF(hash_attempts), 1, 10 },
	{ "journal", "key_file", K_PATH, OFF(journal_key), 0, 0 },
	{ "journal", "origin", K_STRING, OFF(journal_origin), 0, 0 },
	{ "journal", "checkpoint_interval", K_UINT, OFF(checkpoint_interval), 1, 7 * 86400 },
	{ "journal", "retention_days", K_UINT, OFF(retention_days), SETTINGS_RETENTION_MIN,
	  100 * 366 },
	{ "daemon", "mode", K_MODE, OFF(watch_mode), 0, 0 },
	{ "daemon", "runtime_dir", K_PATH, OFF(runtime_dir), 0, 0 },
	/* DET-04: no selected object may go longer than 7 days without a full comparison */
	{ "daemon", "quick_interval", K_UINT, OFF(quick_interval), 60, 7 * 86400 },
	{ "daemon", "full_interval", K_UINT, OFF(full_interval), 60, 7 * 86400 },
	{ "daemon", "settle_ms", K_UINT, OFF(settle_ms), 0, 10000 },
	{ "daemon", "max_delay_ms", K_UINT, OFF(max_delay_ms), 1, 60000 },
	{ "daemon", "max_pending", K_UINT, OFF(max_pending), 16, 16u * 1024 * 1024 },
	/* CHG-05: retrospective approval and review within 24 h; a policy may only shorten it */
	{ "change", "emergency_deadline", K_UINT, OFF(emergency_deadline), 1, 86400 },
	{ "change", "package_slack", K_UINT, OFF(package_slack), 1, 86400 },
	{ "change", "import_keys", K_PATH, OFF(import_keys), 0, 0 },
	/* ALR-04: the deadline may only be shortened */
	{ "alerts", "deadline", K_UINT, OFF(alert_deadline), 60, 86400 },
	{ "alerts", "group_window", K_UINT, OFF(alert_group_window), 0, 86400 },
	{ "alerts", "escalate_unacknowledged", K_UINT, OFF(escalate[0]), 0, 86400 },
	{ "alerts", "escalate_unanswered", K_UINT, OFF(escalate[1]), 0, 86400 },
	{ "alerts", "escalate_unanswered_again", K_UINT, OFF(escalate[2]), 0, 86400 },
	{ "alerts", "channels", K_STRING, OFF(alert_channels), 0, 0 },
	{ "alerts", "escalation", K_STRING, OFF(escalation_channels), 0, 0 },
	{ "collect", "interval", K_UINT, OFF(collect_interval), 1, 86400 },
	{ "collect", "timeout", K_UINT, OFF(collect_timeout), 1, 600 },
	{ "collect", "sysctl_keys", K_STRING, OFF(collect_sysctl), 0, 0 },
	{ "collect", "pki_paths", K_STRING, OFF(collect_pki), 0, 0 },
};

#define CHANNEL_PREFIX "channel."
#define EXEC_PREFIX "exec."

/* "PREFIX.NAME" with NAME of a-z, 0-9, '-' and '_'. */
static bool named_section(const char *s, size_t n, const char *prefix)
{
	size_t pl = strlen(prefix);

	if (n <= pl || n - pl > 63 || memcmp(s, prefix, pl) != 0)
		return false;
	for (size_t i = pl; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '_'))
			return false;
	return true;
}

static bool channel_section(const char *s, size_t n)
{
	return named_section(s, n, CHANNEL_PREFIX) || named_section(s, n, EXEC_PREFIX);
}

static bool section_known(const char *s, size_t n)
{
	if (channel_section(s, n))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strlen(keys[i].section) == n && memcmp(keys[i].section, s, n) == 0)
			return true;
	return false;
}

static int set_value(struct settings *s, const struct key_def *k, const char *v,
		     const char *file, unsigned line, unsigned col, struct vg_error *err)
{
	char *p = (char *)s + k->offset;
	static const char *const levels[] = { "error", "warning", "info", "debug" };
	uint64_t u;
	bool b;

	switch (k->type) {
	case K_PATH:
		if (v[0] != '/')
			return vg_error_set(err, -EINVAL, file, line, col,
					    "'%s' must be an absolute path, got '%s'", k->key, v);
		/* fall through */
	case K_STRING: {
		char *d;

		if (!v[0])
			return vg_error_set(err, -EINVAL, file, line, col, "'%s' must not be empty",
					    k->key);
		d = strdup(v);
		if (!d)
			return -ENOMEM;
		free(*(char **)p);
		*(char **)p = d;
		return 0;
	}
	case K_UINT:
		if (parse_uint_range(v, k->min, k->max, &u) < 0)
			return vg_error_set(err, -EINVAL, file, line, col,
					    "'%s' must be a whole number from %llu to %llu, got '%s'%s",
					    k->key, (unsigned long long)k->min,
					    (unsigned long long)k->max, v,
					    strchr(v, '#') ? " (comments take a whole line)" : "");
		*(unsigned *)p = (unsigned)u;
		return 0;
	case K_BOOL:
		if (parse_bool(v, &b) < 0)
			return vg_error_set(err, -EINVAL, file, line, col,
					    "'%s' must be true or false, got '%s'%s", k->key, v,
					    strchr(v, '#') ? " (comments take a whole line)" : "");
		*(bool *)p = b;
		return 0;
	case K_LEVEL:
		for (unsigned i = 0; i < ARRAY_SIZE(levels); i++) {
			if (strcmp(v, levels[i]) == 0) {
				s->log_level = (enum log_level)i;
				s->log_level_set = true;
				return 0;
			}
		}
		return vg_error_set(err, -EINVAL, file, line, col,
				    "'log_level' must be error, warning, info or debug, got '%s'", v);
	case K_MODE: {
		static const char *const modes[] = { "auto", "fanotify", "inotify" };

		for (unsigned i = 0; i < ARRAY_SIZE(modes); i++) {
			if (strcmp(v, modes[i]) == 0) {
				s->watch_mode = (enum watch_mode_setting)i;
				return 0;
			}
		}
		return vg_error_set(err, -EINVAL, file, line, col,
				    "'mode' must be auto, fanotify or inotify, got '%s'", v);
	}
	}
	return -EINVAL;
}

struct ini_state {
	struct settings *s;
	char section[64];
	bool seen[ARRAY_SIZE(keys)];
};

static int ini_line(void *ud, const char *file, unsigned lineno, char *line, struct vg_error *err)
{
	struct ini_state *st = ud;
	char *p = line, *eq, *key_end, *v, *end;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#' || *p == ';')
		return 0;
	if (*p == '[') {
		char *close = strchr(p, ']');

		if (!close)
			return vg_error_set(err, -EINVAL, file, lineno, (unsigned)(p - line) + 1,
					    "missing ']' in section header");
		for (char *q = close + 1; *q; q++)
			if (*q != ' ' && *q != '\t')
				return vg_error_set(err, -EINVAL, file, lineno,
						    (unsigned)(q - line) + 1,
						    "unexpected text after section header");
		n = (size_t)(close - p - 1);
		if (!section_known(p + 1, n))
			return vg_error_set(err, -EINVAL, file, lineno, (unsigned)(p - line) + 2,
					    "unknown section '%.*s'", (int)n, p + 1);
		snprintf(st->section, sizeof(st->section), "%.*s", (int)n, p + 1);
		if (channel_section(p + 1, n)) {
			bool exec = named_section(p + 1, n, EXEC_PREFIX);
			const char *what = exec ? "exec collector" : "channel";
			const char *name = st->section + strlen(exec ? EXEC_PREFIX : CHANNEL_PREFIX);
			struct settings_channel **sv = exec ? &st->s->execs : &st->s->channels;
			size_t *nv_n = exec ? &st->s->n_execs : &st->s->n_channels;
			struct settings_channel *nv, *ch;

			for (size_t i = 0; i < *nv_n; i++)
				if (strcmp((*sv)[i].name, name) == 0)
					return vg_error_set(err, -EINVAL, file, lineno, 2,
							    "%s '%s' is defined twice (first in "
							    "%s:%u)",
							    what, name, (*sv)[i].file, (*sv)[i].line);
			if (*nv_n == SETTINGS_CHANNELS_MAX)
				return vg_error_set(err, -E2BIG, file, lineno, 2, "more than %d %ss",
						    SETTINGS_CHANNELS_MAX, what);
			nv = realloc(*sv, (*nv_n + 1) * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			*sv = nv;
			ch = &nv[*nv_n];
			*ch = (struct settings_channel){ .name = strdup(name), .file = strdup(file),
							 .line = lineno };
			(*nv_n)++;
			if (!ch->name || !ch->file)
				return -ENOMEM;
		}
		return 0;
	}
	eq = strchr(p, '=');
	if (!eq)
		return vg_error_set(err, -EINVAL, file, lineno, (unsigned)(p - line) + 1,
				    "expected 'key = value'");
	key_end = eq;
	while (key_end > p && (key_end[-1] == ' ' || key_end[-1] == '\t'))
		key_end--;
	n = (size_t)(key_end - p);
	if (n == 0)
		return vg_error_set(err, -EINVAL, file, lineno, (unsigned)(p - line) + 1,
				    "missing key before '='");
	if (!st->section[0])
		return vg_error_set(err, -EINVAL, file, lineno, (unsigned)(p - line) + 1,
				    "key '%.*s' outside of any section", (int)n, p);
	v = eq + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (channel_section(st->section, strlen(st->section))) {
		/* a channel's keys are checked by the channel (alert/channel.c), an exec
		 * collector's by the program that sets collectors up */
		struct settings_channel *ch =
			named_section(st->section, strlen(st->section), EXEC_PREFIX)
				? &st->s->execs[st->s->n_execs - 1]
				: &st->s->channels[st->s->n_channels - 1];
		struct settings_kv *nv;

		if (ch->n_kv == SETTINGS_CHANNEL_KEYS_MAX)
			return vg_error_set(err, -E2BIG, file, lineno, 1, "more than %d keys in [%s]",
					    SETTINGS_CHANNEL_KEYS_MAX, st->section);
		nv = realloc(ch->kv, (ch->n_kv + 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		ch->kv = nv;
		nv[ch->n_kv] = (struct settings_kv){ .key = strndup(p, n), .value = strdup(v),
						     .line = lineno };
		ch->n_kv++;
		return nv[ch->n_kv - 1].key && nv[ch->n_kv - 1].value ? 0 : -ENOMEM;
	}
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (strcmp(keys[i].section, st->section) != 0 || strlen(keys[i].key) != n ||
		    memcmp(keys[i].key, p, n) != 0)
			continue;
		if (st->seen[i])
			return vg_error_set(err, -EINVAL, file, lineno, (unsigned)(p - line) + 1,
					    "'%s' is set twice in [%s]", keys[i].key, st->section);
		st->seen[i] = true;
		return set_value(st->s, &keys[i], v, file, lineno, (unsigned)(v - line) + 1, err);
	}
	return vg_error_set(err, -EINVAL, file, lineno, (unsigned)(p - line) + 1,
			    "unknown key '%.*s' in [%s]", (int)n, p, st->section);
}

static int remember_file(struct settings *s, const char *path)
{
	char **f = realloc(s->files, (s->n_files + 1) * sizeof(*f));

	if (!f)
		return -ENOMEM;
	s->files = f;
	f[s->n_files] = strdup(path);
	if (!f[s->n_files])
		return -ENOMEM;
	s->n_files++;
	return 0;
}

int settings_parse_text(struct settings *s, const char *name, const char *text, size_t len,
			struct vg_error *err)
{
	struct ini_state st = { .s = s };

	return conffile_each_line(name, text, len, ini_line, &st, err);
}

static int load_one(struct settings *s, const char *path, struct vg_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	r = conffile_read(path, &text, &len, err);
	if (r < 0)
		return r;
	r = settings_parse_text(s, path, text, len, err);
	if (r < 0)
		return r;
	return remember_file(s, path);
}

int settings_load(struct settings *s, const char *path, const char *dropin_dir, bool must_exist,
		  struct vg_error *err)
{
	char **names = NULL;
	size_t n = 0;
	struct stat st;
	int r;

	if (path && stat(path, &st) < 0) {
		if (errno != ENOENT || must_exist)
			return vg_error_set(err, neg_errno(), path, 0, 0,
					    "cannot read settings: %s", strerror(errno));
	} else if (path) {
		r = load_one(s, path, err);
		if (r < 0)
			return r;
	}
	if (!dropin_dir)
		return 0;
	r = conffile_list_dir(dropin_dir, ".conf", &names, &n, err);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r >= 0; i++)
		r = load_one(s, names[i], err);
	conffile_free_list(names, n);
	return r < 0 ? r : 0;
}

/*
 * Locating and loading what every command needs.  The first file found wins: an
 * explicit option, then /etc/vigil, then the packaged defaults installed with Vigil,
 * so "vigil init && vigil check" works on a machine where nothing was configured.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/json-parse.h"
#include "base/json.h"
#include "base/log.h"
#include "base/parse.h"
#include "base/timeutil.h"
#include "change/approval.h"
#include "cli/cli.h"
#include "crypto/hash.h"
#include "crypto/note.h"
#include "vigil-config.h"
#include "base/banned.h"

static bool exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static void print_error(const struct vg_error *err)
{
	char msg[2048];

	vg_error_format(err, msg, sizeof(msg));
	log_error(0, "%s", msg);
}

const char *cli_state_dir(const struct cli *c)
{
	if (c->state_dir)
		return c->state_dir;
	if (c->settings.state_dir)
		return c->settings.state_dir;
	return DEFAULT_STATE;
}

static const char *const config_candidates[] = {
	DEFAULT_CONFIG,
	VIGIL_DATADIR "/vigil.conf",
	VIGIL_SOURCE_PACKAGING "/vigil.conf",
};

static const char *const rules_candidates[] = {
	DEFAULT_RULES,
	VIGIL_DATADIR "/rules.d",
	VIGIL_SOURCE_PACKAGING "/rules.d",
};

int cli_load_settings(struct cli *c)
{
	struct vg_error err;
	int r;

	vg_error_clear(&err);
	settings_init(&c->settings);
	ruleset_init(&c->rules);
	if (c->config_path) {
		c->config_used = c->config_path;
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(config_candidates); i++) {
			if (exists(config_candidates[i])) {
				c->config_used = config_candidates[i];
				break;
			}
		}
	}
	{
		/* drop-ins sit beside the file named on the command line, else always in
		 * /etc/vigil/vigil.conf.d, even when the main file is the packaged one */
		_cleanup_free_ char *dropins = NULL;

		if (asprintf(&dropins, "%s.d", c->config_path ? c->config_path : DEFAULT_CONFIG) < 0)
			return log_error(EXIT_FAILURE_, "out of memory");
		r = settings_load(&c->settings, c->config_used, dropins, true, &err);
		if (r < 0) {
			print_error(&err);
			return EXIT_CONFIG;
		}
	}
	if (c->verbosity == 0 && c->settings.log_level_set)
		log_set_level(c->settings.log_level);
	if (c->settings.host_name) {
		snprintf(c->host_name, sizeof(c->host_name), "%s", c->settings.host_name);
	} else if (gethostname(c->host_name, sizeof(c->host_name) - 1) < 0) {
		snprintf(c->host_name, sizeof(c->host_name), "localhost");
	}
	if (c->settings.journal_origin)
		snprintf(c->origin, sizeof(c->origin), "%s", c->settings.journal_origin);
	else
		snprintf(c->origin, sizeof(c->origin), "%s/vigil-journal", c->host_name);
	if (!note_name_valid(c->origin)) {
		log_error(0, "'%s' cannot be the journal's origin (no spaces or '+'); set [journal] origin",
			  c->origin);
		return EXIT_CONFIG;
	}
	c->settings_loaded = true;
	return EXIT_OK;
}

static bool in_json_list(const struct json_value *v, const char *s)
{
	if (!v || v->type != JSON_ARRAY)
		return false;
	for (size_t i = 0; i < v->arr.n; i++)
		if (v->arr.items[i]->type == JSON_STRING && strcmp(v->arr.items[i]->str.s, s) == 0)
			return true;
	return false;
}

/*
 * DET-08: an exclusion applies only when approved: by the baseline (the exclusions in
 * force when `vigil init` made it) or by a change record in force that names it
 * ("exclusion:PATTERN" in scope.config).  One that is not is dropped from the rules,
 * so what it would hide stays monitored, and it is reported.  Without a store (before
 * the first init) nothing can be judged and every exclusion applies.
 */
static int approve_exclusions(struct cli *c)
{
	struct store *s = NULL;
	struct json_value *base = NULL;
	struct vg_error err;
	char *meta = NULL;
	bool have_store, legacy = false;
	int64_t now = clock_now_ns();
	int status = EXIT_OK;

	vg_error_clear(&err);
	have_store = !c->approve_all_exclusions &&
		     store_open(cli_state_dir(c), STORE_READONLY, &s, &err) == 0;
	if (have_store) {
		int r = store_meta_get(s, APPROVAL_BASELINE_EXCLUSIONS, &meta);

		if (r == -ENOENT)
			legacy = true; /* a baseline from before exclusions were approved */
		else if (r < 0 || json_parse(meta, strlen(meta), NULL, "store", &base, &err) < 0)
			base = NULL;
	}
	for (size_t i = 0; i < c->rules.n;) {
		const struct rule *rule = &c->rules.rules[i];
		struct cli_exclusion *x, *nv;
		char key[4200], by[300];
		int r = 0;

		if (rule->kind != RULE_EXCLUDE) {
			i++;
			continue;
		}
		nv = realloc(c->excl, (c->n_excl + 1) * sizeof(*nv));
		if (!nv) {
			status = log_error(EXIT_FAILURE_, "out of memory");
			break;
		}
		c->excl = nv;
		x = &c->excl[c->n_excl++];
		*x = (struct cli_exclusion){ .pattern = strdup(rule->text), .file = strdup(rule->file),
					     .line = rule->line, .applied = true };
		if (!have_store) {
			x->approved_by = strdup(c->approve_all_exclusions ? "baseline" : "");
		} else if (legacy || in_json_list(base, rule->text)) {
			x->approved_by = strdup("baseline");
		} else {
			snprintf(key, sizeof(key), "exclusion:%s", rule->text);
			r = approval_find(s, c->host_name, key, now, by, sizeof(by));
			if (r == 1)
				x->approved_by = strdup(by);
		}
		if (r < 0) {
			status = log_error(EXIT_STORE, "cannot read change records: %s", strerror(-r));
			break;
		}
		if (!x->pattern || !x->file || (r == 1 && !x->approved_by)) {
			status = log_error(EXIT_FAILURE_, "out of memory");
			break;
		}
		if (have_store && !x->approved_by) {
			log_warning("%s:%u: exclusion '!%s' is not approved by a change record "
				    "(scope.config \"exclusion:%s\"): not applied",
				    rule->file, rule->line, rule->text, rule->text);
			x->applied = false;
			ruleset_remove(&c->rules, i);
			continue;
		}
		i++;
	}
	json_value_free(base);
	free(meta);
	store_close(s);
	return status;
}

int cli_load(struct cli *c)
{
	struct vg_error err;
	int r = c->settings_loaded ? EXIT_OK : cli_load_settings(c);

	if (r != EXIT_OK)
		return r;
	vg_error_clear(&err);
	if (c->rules_dir) {
		c->rules_used = strdup(c->rules_dir);
	} else if (c->settings.rules_dir) {
		c->rules_used = strdup(c->settings.rules_dir);
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(rules_candidates); i++) {
			if (exists(rules_candidates[i])) {
				c->rules_used = strdup(rules_candidates[i]);
				break;
			}
		}
		if (!c->rules_used) {
			log_error(0, "no rules: none of '%s', '%s' exists (use --rules DIR)",
				  rules_candidates[0], rules_candidates[1]);
			return EXIT_CONFIG;
		}
	}
	if (!c->rules_used)
		return log_error(EXIT_FAILURE_, "out of memory");
	r = ruleset_load_dir(&c->rules, c->rules_used, &err);
	if (r < 0) {
		print_error(&err);
		return EXIT_CONFIG;
	}
	if (c->rules.n == 0) {
		log_error(0, "'%s': no rules (a rules directory must select something to monitor)",
			  c->rules_used);
		return EXIT_CONFIG;
	}
	r = approve_exclusions(c);
	if (r != EXIT_OK)
		return r;
	/* a channel that cannot work is a configuration error, found before anything runs */
	r = cli_load_channels(c);
	if (r != EXIT_OK)
		return r;
	r = policy_compile(&c->rules, &c->policy);
	if (r < 0)
		return log_error(EXIT_FAILURE_, "cannot compile the rules: %s", strerror(-r));
	c->policy_ready = true;
	log_debug("settings: %s", c->config_used ? c->config_used : "(built-in defaults)");
	log_debug("rules: %zu from %s", c->rules.n, c->rules_used);
	return EXIT_OK;
}

int cli_open_store(struct cli *c, bool create)
{
	struct vg_error err;
	int r;

	vg_error_clear(&err);
	r = store_open(cli_state_dir(c), create ? STORE_CREATE : 0, &c->store, &err);
	if (r < 0) {
		print_error(&err);
		return EXIT_STORE;
	}
	r = store_host(c->store, c->host_name, &c->host_id);
	if (r < 0)
		return log_error(EXIT_STORE, "cannot record host '%s': %s", c->host_name,
				 store_errmsg(c->store));
	return EXIT_OK;
}

int cli_open_journal(struct cli *c, enum journal_access access)
{
	_cleanup_free_ char *key = NULL;
	struct journal_config cfg = { .create_key = access == JOURNAL_CREATE,
				       .read_only = access == JOURNAL_READ,
				       .origin = c->origin };
	struct vg_error err;
	int r;

	vg_error_clear(&err);
	if (c->settings.journal_key)
		key = strdup(c->settings.journal_key);
	else if (asprintf(&key, "%s/journal.key", cli_state_dir(c)) < 0)
		key = NULL;
	if (!key)
		return log_error(EXIT_FAILURE_, "out of memory");
	cfg.key_path = key;
	r = journal_open(c->store, &cfg, &c->journal, &err);
	if (r < 0) {
		print_error(&err);
		return r == -ENOENT ? EXIT_STORE : EXIT_FAILURE_;
	}
	if (access != JOURNAL_READ)
		journal_set_actor_from_process(c->journal);
	return EXIT_OK;
}

static int file_digest_json(struct json_writer *w, const char *path)
{
	char *data = NULL, hex[2 * SHA256_LEN + 1];
	uint8_t h[SHA256_LEN];
	size_t len;
	int r = file_read_all(path, NULL, 64u * 1024 * 1024, &data, &len);

	if (r < 0)
		return r;
	sha256_buf(data, len, h);
	free(data);
	hex_encode(h, sizeof(h), hex);
	jw_obj_open(w);
	jw_key(w, "path");
	jw_str_bytes(w, path, strlen(path));
	jw_key(w, "sha256");
	jw_str(w, hex);
	jw_obj_close(w);
	return 0;
}

int cli_journal_config(struct cli *c)
{
	struct buf b;
	struct json_writer w;
	int r = 0;

	buf_init(&b, 0);
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "settings");
	jw_arr_open(&w);
	for (size_t i = 0; r == 0 && i < c->settings.n_files; i++)
		r = file_digest_json(&w, c->settings.files[i]);
	jw_arr_close(&w);
	jw_key(&w, "rules");
	jw_arr_open(&w);
	for (size_t i = 0; r == 0 && i < c->rules.n_files; i++)
		r = file_digest_json(&w, c->rules.files[i]);
	jw_arr_close(&w);
	jw_key(&w, "rule_count");
	jw_u64(&w, c->rules.n);
	jw_key(&w, "exclusions");
	jw_arr_open(&w);
	for (size_t i = 0; i < c->n_excl; i++) {
		const struct cli_exclusion *x = &c->excl[i];

		jw_obj_open(&w);
		jw_key(&w, "pattern");
		jw_str_bytes(&w, x->pattern, strlen(x->pattern));
		jw_key(&w, "file");
		jw_str_bytes(&w, x->file, strlen(x->file));
		jw_key(&w, "line");
		jw_u64(&w, x->line);
		jw_key(&w, "approved_by");
		if (x->approved_by && x->approved_by[0])
			jw_str_bytes(&w, x->approved_by, strlen(x->approved_by));
		else
			jw_null(&w);
		jw_key(&w, "applied");
		jw_bool(&w, x->applied);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	jw_obj_close(&w);
	if (r == 0)
		r = w.err;
	if (r == 0)
		r = journal_append(c->journal, "config.loaded", b.data, NULL);
	if (r == 0)
		r = store_tx_commit(c->store);
	buf_release(&b);
	if (r < 0)
		return log_error(EXIT_STORE, "cannot journal the configuration: %s", strerror(-r));
	return EXIT_OK;
}

int cli_save_baseline_exclusions(struct cli *c)
{
	struct buf b;
	struct json_writer w;
	int r;

	buf_init(&b, 0);
	jw_init(&w, &b);
	jw_arr_open(&w);
	for (size_t i = 0; i < c->n_excl; i++)
		if (c->excl[i].applied)
			jw_str_bytes(&w, c->excl[i].pattern, strlen(c->excl[i].pattern));
	jw_arr_close(&w);
	r = w.err ? w.err : store_meta_set(c->store, APPROVAL_BASELINE_EXCLUSIONS, b.data);
	buf_release(&b);
	if (r < 0)
		return log_error(EXIT_STORE, "cannot record the baseline's exclusions: %s",
				 strerror(-r));
	return EXIT_OK;
}

int cli_journal_finish(struct cli *c)
{
	int r = journal_checkpoint_if_due(c->journal,
					  (int64_t)c->settings.checkpoint_interval * 1000000000, NULL);

	if (r == 0)
		r = store_tx_commit(c->store);
	if (r < 0)
		return log_error(EXIT_STORE, "cannot issue a checkpoint: %s", strerror(-r));
	return EXIT_OK;
}

int cli_parse_age(const char *s, int64_t *ret_ns)
{
	static const struct {
		char unit;
		int64_t ns;
	} units[] = { { 's', 1000000000LL },
		      { 'm', 60 * 1000000000LL },
		      { 'h', 3600 * 1000000000LL },
		      { 'd', 86400 * 1000000000LL } };
	size_t n = strlen(s);
	char num[16];
	uint64_t v;

	if (n < 2 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n - 1);
	num[n - 1] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (s[n - 1] == units[i].unit && parse_u64(num, &v) == 0 &&
		    v < (uint64_t)(INT64_MAX / units[i].ns)) {
			*ret_ns = (int64_t)v * units[i].ns;
			return 0;
		}
	return -EINVAL;
}

int cli_open_all(struct cli *c, bool write)
{
	int status = cli_load_settings(c);

	if (status == EXIT_OK)
		status = cli_open_store(c, false);
	if (status == EXIT_OK)
		status = cli_open_journal(c, write ? JOURNAL_WRITE : JOURNAL_READ);
	return status;
}

int cli_journal_action(struct cli *c, const char *type, const char *fields_json)
{
	int r = journal_append(c->journal, type, fields_json, NULL);

	if (r == 0)
		r = store_tx_commit(c->store);
	if (r < 0) {
		store_tx_rollback(c->store);
		return log_error(EXIT_STORE, "cannot record '%s': %s", type, strerror(-r));
	}
	return EXIT_OK;
}

void cli_release(struct cli *c)
{
	c->journal = journal_close(c->journal);
	c->store = store_close(c->store);
	if (c->policy_ready)
		policy_release(&c->policy);
	c->policy_ready = false;
	ruleset_release(&c->rules);
	cli_channels_release(c);
	cli_collect_free(c);
	for (size_t i = 0; i < c->n_excl; i++) {
		free(c->excl[i].pattern);
		free(c->excl[i].file);
		free(c->excl[i].approved_by);
	}
	free(c->excl);
	c->excl = NULL;
	c->n_excl = 0;
	settings_release(&c->settings);
	free(c->rules_used);
	c->rules_used = NULL;
}

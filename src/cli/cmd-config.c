/* vigil config check: load everything a run would load, and say what was found. */
#include <stdio.h>
#include <string.h>

#include "base/escape.h"
#include "base/json.h"
#include "cli/cli.h"
#include "base/banned.h"

int cmd_config_check(struct cli *c, int argc, char **argv)
{
	int status = cli_load(c);

	if (status == EXIT_OK)
		status = cli_load_channels(c);
	if (status == EXIT_OK) {
		/* an approval of a single channel lives in the store, when there is one */
		struct vg_error err;

		vg_error_clear(&err);
		if (store_open(cli_state_dir(c), STORE_READONLY, &c->store, &err) == 0 &&
		    store_host(c->store, c->host_name, &c->host_id) < 0)
			c->store = store_close(c->store);
		status = cli_check_channel_count(c);
	}
	if (status != EXIT_OK)
		return status;
	if (c->json) {
		struct buf b;
		struct json_writer w;

		buf_init(&b, 0);
		jw_init(&w, &b);
		jw_obj_open(&w);
		jw_key(&w, "settings");
		if (c->config_used)
			jw_str_bytes(&w, c->config_used, strlen(c->config_used));
		else
			jw_null(&w);
		jw_key(&w, "settings_files");
		jw_arr_open(&w);
		for (size_t i = 0; i < c->settings.n_files; i++)
			jw_str_bytes(&w, c->settings.files[i], strlen(c->settings.files[i]));
		jw_arr_close(&w);
		jw_key(&w, "rules_dir");
		jw_str_bytes(&w, c->rules_used, strlen(c->rules_used));
		jw_key(&w, "rules");
		jw_u64(&w, c->rules.n);
		jw_key(&w, "rule_files");
		jw_arr_open(&w);
		for (size_t i = 0; i < c->rules.n_files; i++)
			jw_str_bytes(&w, c->rules.files[i], strlen(c->rules.files[i]));
		jw_arr_close(&w);
		jw_key(&w, "roots");
		jw_arr_open(&w);
		for (size_t i = 0; i < c->policy.n_roots; i++)
			jw_str_bytes(&w, c->policy.roots[i], c->policy.root_lens[i]);
		jw_arr_close(&w);
		jw_key(&w, "state_dir");
		jw_str_bytes(&w, cli_state_dir(c), strlen(cli_state_dir(c)));
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
		puts(buf_str(&b));
		buf_release(&b);
		return EXIT_OK;
	}
	if (c->verbosity >= 0) {
		printf("settings: %s\n", c->config_used ? c->config_used : "(built-in defaults)");
		for (size_t i = 0; i < c->settings.n_files; i++)
			if (!c->config_used || strcmp(c->settings.files[i], c->config_used) != 0)
				printf("drop-in: %s\n", c->settings.files[i]);
		printf("rules: %zu rules in %zu files under %s\n", c->rules.n, c->rules.n_files,
		       c->rules_used);
		printf("state directory: %s\n", cli_state_dir(c));
		for (size_t i = 0; i < c->policy.n_roots; i++) {
			struct buf b;

			buf_init(&b, 0);
			escape_bytes(&b, c->policy.roots[i], c->policy.root_lens[i]);
			printf("walk root: %s\n", buf_str(&b));
			buf_release(&b);
		}
		for (size_t i = 0; i < c->n_excl; i++) {
			const struct cli_exclusion *x = &c->excl[i];
			struct buf b;

			buf_init(&b, 0);
			escape_bytes(&b, x->pattern, strlen(x->pattern));
			if (!x->applied)
				printf("exclusion: !%s (%s:%u) NOT APPROVED: not applied\n", buf_str(&b),
				       x->file, x->line);
			else if (x->approved_by && x->approved_by[0])
				printf("exclusion: !%s (%s:%u) approved by %s\n", buf_str(&b), x->file,
				       x->line, strcmp(x->approved_by, "baseline") == 0
							? "the baseline"
							: x->approved_by);
			else
				printf("exclusion: !%s (%s:%u) applies (no baseline yet)\n", buf_str(&b),
				       x->file, x->line);
			buf_release(&b);
		}
		for (size_t i = 0; i < c->n_alert_channels; i++) {
			const struct channel *ch = &c->channels[c->alert_channels[i]];

			printf("alert channel: %s (%s)%s\n", ch->name, channel_type_name(ch->type),
			       strcmp(ch->file, "(default)") == 0 ? " default" : "");
		}
		for (size_t i = 0; i < c->n_escalation_channels; i++) {
			const struct channel *ch = &c->channels[c->escalation_channels[i]];

			printf("escalation channel: %s (%s)\n", ch->name, channel_type_name(ch->type));
		}
		printf("configuration is valid\n");
	}
	return EXIT_OK;
}

/*
 * Alert channels as the settings give them (ALR-02), and `vigil notify test`.  The
 * [alerts] channels list names [channel.NAME] sections; without it, alerts go to two
 * defaults, as Debian's cron and AIDE jobs do: the local syslog, and mail to root
 * through the local mail transport.  Fewer than two channels for alerts is a
 * configuration error for `config check`, unless an approved change record in force
 * names "vigil:single-channel".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert/alert.h"
#include "alert/channel.h"
#include "daemon/control.h"
#include "base/json.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "base/uuid.h"
#include "change/approval.h"
#include "cli/cli.h"
#include "base/banned.h"

#define NS_PER_S 1000000000LL

static void channels_free(struct cli *c)
{
	for (size_t i = 0; i < c->n_channels; i++)
		channel_release(&c->channels[i]);
	free(c->channels);
	free(c->alert_channels);
	free(c->escalation_channels);
	free(c->alert_names);
	free(c->escalation_names);
	c->channels = NULL;
	c->alert_channels = c->escalation_channels = NULL;
	c->alert_names = c->escalation_names = NULL;
	c->n_channels = c->n_alert_channels = c->n_escalation_channels = 0;
}

void cli_channels_release(struct cli *c)
{
	channels_free(c);
}

static int configure_one(struct cli *c, const char *name, const char *type, const char *file,
			 unsigned line, const struct channel_kv *kv, size_t n)
{
	struct channel *nv, *ch;
	struct vg_error err;
	char msg[1400];

	nv = realloc(c->channels, (c->n_channels + 1) * sizeof(*nv));
	if (!nv)
		return log_error(EXIT_FAILURE_, "out of memory");
	c->channels = nv;
	ch = &nv[c->n_channels];
	memset(ch, 0, sizeof(*ch));
	ch->name = strdup(name);
	ch->file = strdup(file);
	ch->line = line;
	c->n_channels++;
	if (!ch->name || !ch->file)
		return log_error(EXIT_FAILURE_, "out of memory");
	if (channel_type_parse(type, &ch->type) < 0)
		return log_error(EXIT_CONFIG,
				 "%s:%u: channel '%s': unknown type '%s' (syslog, email, webhook, "
				 "pagerduty, exec)",
				 file, line, name, type);
	vg_error_clear(&err);
	if (channel_configure(ch, kv, n, &err) < 0) {
		vg_error_format(&err, msg, sizeof(msg));
		return log_error(EXIT_CONFIG, "%s", msg);
	}
	return EXIT_OK;
}

/* The channel named name, or -1. */
static ssize_t find(const struct cli *c, const char *name)
{
	for (size_t i = 0; i < c->n_channels; i++)
		if (strcmp(c->channels[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/* "a, b" into indexes of configured channels. */
static int resolve(struct cli *c, const char *list, const char *key, size_t **ret, size_t *ret_n)
{
	const char *p = list;

	while (*p) {
		char name[80];
		size_t n;
		ssize_t at;
		size_t *nv;

		while (*p == ' ' || *p == ',')
			p++;
		n = strcspn(p, ", ");
		if (!n)
			break;
		if (n >= sizeof(name))
			return log_error(EXIT_CONFIG, "[alerts] %s: a channel name is too long", key);
		memcpy(name, p, n);
		name[n] = '\0';
		p += n;
		at = find(c, name);
		if (at < 0)
			return log_error(EXIT_CONFIG, "[alerts] %s: no channel '%s' (no [channel.%s] "
						      "section)",
					 key, name, name);
		for (size_t i = 0; i < *ret_n; i++)
			if ((*ret)[i] == (size_t)at)
				return log_error(EXIT_CONFIG, "[alerts] %s: '%s' is listed twice", key,
						 name);
		nv = realloc(*ret, (*ret_n + 1) * sizeof(*nv));
		if (!nv)
			return log_error(EXIT_FAILURE_, "out of memory");
		*ret = nv;
		nv[(*ret_n)++] = (size_t)at;
	}
	return EXIT_OK;
}

int cli_load_channels(struct cli *c)
{
	const struct settings *s = &c->settings;
	int status = EXIT_OK;

	/* once per command: alert contexts point into what is loaded */
	if (c->alert_names)
		return EXIT_OK;
	channels_free(c);
	for (size_t i = 0; status == EXIT_OK && i < s->n_channels; i++) {
		const struct settings_channel *sc = &s->channels[i];
		struct channel_kv *kv = calloc(sc->n_kv ? sc->n_kv : 1, sizeof(*kv));
		const char *type = NULL;
		size_t n = 0;

		if (!kv)
			return log_error(EXIT_FAILURE_, "out of memory");
		for (size_t k = 0; k < sc->n_kv; k++) {
			if (strcmp(sc->kv[k].key, "type") == 0)
				type = sc->kv[k].value;
			else
				kv[n++] = (struct channel_kv){ .key = sc->kv[k].key,
							       .value = sc->kv[k].value,
							       .line = sc->kv[k].line };
		}
		if (!type)
			status = log_error(EXIT_CONFIG, "%s:%u: channel '%s': missing key 'type'",
					   sc->file, sc->line, sc->name);
		else
			status = configure_one(c, sc->name, type, sc->file, sc->line, kv, n);
		free(kv);
	}
	if (status != EXIT_OK)
		return status;
	if (!s->alert_channels) {
		/* the defaults: the local syslog and mail to root (unless a section took a name) */
		char host[256], from[300];
		bool has_sendmail = access("/usr/sbin/sendmail", X_OK) == 0;
		struct channel_kv sys[] = { { "target", "local", 0 } };
		struct channel_kv mail[] = {
			{ has_sendmail ? "sendmail" : "url",
			  has_sendmail ? "/usr/sbin/sendmail" : "smtp://localhost:25", 0 },
			{ "from", from, 0 },
			{ "to", "root@localhost", 0 },
		};

		if (gethostname(host, sizeof(host)) < 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		snprintf(from, sizeof(from), "vigil@%s", host);
		if (find(c, "syslog") < 0)
			status = configure_one(c, "syslog", "syslog", "(default)", 0, sys, 1);
		if (status == EXIT_OK && find(c, "mail") < 0)
			status = configure_one(c, "mail", "email", "(default)", 0, mail, 3);
		if (status == EXIT_OK)
			status = resolve(c, "syslog, mail", "channels", &c->alert_channels,
					 &c->n_alert_channels);
	} else {
		status = resolve(c, s->alert_channels, "channels", &c->alert_channels,
				 &c->n_alert_channels);
	}
	if (status == EXIT_OK && s->escalation_channels)
		status = resolve(c, s->escalation_channels, "escalation", &c->escalation_channels,
				 &c->n_escalation_channels);
	if (status == EXIT_OK) {
		c->alert_names = calloc(c->n_alert_channels + 1, sizeof(char *));
		c->escalation_names = calloc(c->n_escalation_channels + 1, sizeof(char *));
		if (!c->alert_names || !c->escalation_names)
			return log_error(EXIT_FAILURE_, "out of memory");
		for (size_t i = 0; i < c->n_alert_channels; i++)
			c->alert_names[i] = c->channels[c->alert_channels[i]].name;
		for (size_t i = 0; i < c->n_escalation_channels; i++)
			c->escalation_names[i] = c->channels[c->escalation_channels[i]].name;
	}
	return status;
}

void cli_alert_ctx(struct cli *c, struct alert_ctx *a)
{
	*a = (struct alert_ctx){
		.store = c->store,
		.journal = c->journal,
		.host_id = c->host_id,
		.host_name = c->host_name,
		.channels = c->alert_names,
		.n_channels = c->n_alert_channels,
		.escalation = c->escalation_names,
		.n_escalation = c->n_escalation_channels,
	};
	alert_policy_from_settings(&a->policy, &c->settings);
}

void cli_work_outbox(struct cli *c, struct alert_ctx *a)
{
	int fd = control_connect(cli_runtime_dir(c));
	int r;

	/* a running daemon works the outbox itself */
	if (fd >= 0) {
		close(fd);
		return;
	}
	r = alert_outbox_work(a, c->channels, c->n_channels, clock_monotonic_ns() + 60 * NS_PER_S);
	if (r < 0)
		log_error(0, "cannot deliver alerts: %s", strerror(-r));
	else if (r > 0)
		log_info("%d alert message(s) wait for a retry (vigil daemon, or the next "
			    "command, delivers them)",
			    r);
}

int cli_check_channel_count(struct cli *c)
{
	char by[300];
	int r;

	if (c->n_alert_channels >= 2)
		return EXIT_OK;
	/* a single channel is a decision someone approved, or an error */
	if (c->store) {
		r = approval_find(c->store, c->host_name, "vigil:single-channel", clock_now_ns(), by,
				  sizeof(by));
		if (r == 1) {
			log_info("fewer than two alert channels, as %s approved", by);
			return EXIT_OK;
		}
	}
	return log_error(EXIT_CONFIG,
			 "[alerts] channels: alerts need at least two independent channels (ALR-02), "
			 "%zu configured; or an approved change record naming "
			 "\"vigil:single-channel\" in scope.config",
			 c->n_alert_channels);
}

/* vigil notify test CHANNEL: one test message through one channel, now. */
int cmd_notify(struct cli *c, int argc, char **argv)
{
	struct account_who who;
	struct channel_result res;
	struct channel_message m;
	struct buf json, b;
	struct json_writer w;
	char alert_id[37], msg_id[37], host[256], subject[400];
	ssize_t at;
	int status, r;

	if (argc != 3 || strcmp(argv[1], "test") != 0)
		return log_error(EXIT_USAGE, "usage: vigil notify test CHANNEL");
	status = cli_load_settings(c);
	if (status == EXIT_OK)
		status = cli_open_store(c, false);
	if (status == EXIT_OK)
		status = cli_open_journal(c, JOURNAL_WRITE);
	if (status == EXIT_OK)
		status = cli_whoami(c, ROLE__COUNT, &who);
	if (status == EXIT_OK)
		status = cli_load_channels(c);
	if (status != EXIT_OK)
		return status;
	at = find(c, argv[2]);
	if (at < 0)
		return log_error(EXIT_USAGE, "no channel '%s'", argv[2]);
	if (uuid7_new(alert_id) < 0 || uuid7_new(msg_id) < 0)
		return log_error(EXIT_FAILURE_, "cannot make an id");
	snprintf(host, sizeof(host), "%s", c->host_name);
	snprintf(subject, sizeof(subject), "Vigil test message from %s (channel %s)", host,
		 argv[2]);
	buf_init(&json, 0);
	jw_init(&w, &json);
	jw_obj_open(&w);
	jw_key(&w, "event");
	jw_str(&w, "test");
	jw_key(&w, "channel");
	jw_str_bytes(&w, argv[2], strlen(argv[2]));
	jw_key(&w, "host");
	jw_str_bytes(&w, host, strlen(host));
	jw_key(&w, "by");
	jw_str(&w, account_label(&who));
	jw_obj_close(&w);
	m = (struct channel_message){
		.alert_id = alert_id,
		.message_id = msg_id,
		.event = "test",
		.severity = "low",
		.subject = subject,
		.text = "A test message: the channel works. No alert is behind it.",
		.json = json.data,
		.time_ns = clock_now_ns(),
		.host = host,
	};
	r = channel_deliver(&c->channels[at], &m, &res);
	buf_release(&json);
	if (r < 0)
		return log_error(EXIT_FAILURE_, "channel '%s': %s", argv[2], strerror(-r));
	buf_init(&b, 0);
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "notify");
	jw_obj_open(&w);
	jw_key(&w, "channel");
	jw_str_bytes(&w, argv[2], strlen(argv[2]));
	jw_key(&w, "type");
	jw_str(&w, channel_type_name(c->channels[at].type));
	jw_key(&w, "message_id");
	jw_str(&w, msg_id);
	jw_key(&w, "delivered");
	jw_bool(&w, res.delivered);
	jw_key(&w, "detail");
	jw_str_bytes(&w, res.detail, strlen(res.detail));
	jw_obj_close(&w);
	cli_who_json(&w, &who);
	jw_obj_close(&w);
	status = w.err ? log_error(EXIT_FAILURE_, "out of memory")
		       : cli_journal_action(c, "notify.test", b.data);
	buf_release(&b);
	if (status != EXIT_OK)
		return status;
	if (!res.delivered)
		return log_error(EXIT_FAILURE_, "channel '%s': not delivered: %s", argv[2], res.detail);
	if (c->verbosity >= 0)
		printf("channel %s: delivered (%s)\n", argv[2], res.detail);
	return EXIT_OK;
}

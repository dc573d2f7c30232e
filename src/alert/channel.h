/*
 * Alert delivery channels (ALR-02): one function per channel type that makes one
 * delivery attempt of one message and says what happened.  The outbox (retries,
 * backoff, recording each attempt) is the caller's business; a channel never retries
 * on its own and never blocks longer than its timeout.
 *
 * Types and their settings ([channel.NAME] sections of vigil.conf(5)):
 *
 *	syslog    target = local | tcp://HOST:PORT | tls://HOST:PORT
 *	          (local: the /dev/log datagram socket, or socket = PATH for tests);
 *	          RFC 5424 messages with structured data; over TCP and TLS, RFC 6587 /
 *	          RFC 5425 octet-counting framing; ca_file = PEM for tls.
 *	email     url = smtp://HOST:PORT | smtps://HOST:PORT, from, to (comma-separated),
 *	          starttls = yes|no (smtp:// only), username, password, ca_file;
 *	          or sendmail = PATH (the local mail transport, /usr/sbin/sendmail -oi -t).
 *	          RFC 5322 message; Message-ID per message, In-Reply-To and References
 *	          the alert's first message, so a mail client threads one alert.
 *	webhook   url, secret (whsec_BASE64, Standard Webhooks), format = json | slack |
 *	          mattermost | teams.
 *	pagerduty url (default https://events.pagerduty.com/v2/enqueue), routing_key.
 *	exec      command = argv split on spaces (no shell); the event JSON on stdin.
 *
 * All take timeout = seconds (default 10).
 */
#ifndef VIGIL_ALERT_CHANNEL_H
#define VIGIL_ALERT_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

enum channel_type {
	CHANNEL_SYSLOG,
	CHANNEL_EMAIL,
	CHANNEL_WEBHOOK,
	CHANNEL_PAGERDUTY,
	CHANNEL_EXEC,
	CHANNEL_TYPE__COUNT,
};

const char *channel_type_name(enum channel_type t);
int channel_type_parse(const char *s, enum channel_type *ret);

/* One key = value of a [channel.NAME] section, as read (the section's file and line
 * for errors). */
struct channel_kv {
	const char *key, *value;
	unsigned line;
};

/* A configured channel; every string owned by it. */
struct channel {
	char *name;
	enum channel_type type;
	char *file;		/* where it was configured, for errors */
	unsigned line;
	unsigned timeout_s;
	/* type-specific settings, parsed and checked by channel_configure() */
	char *target, *socket_path, *url, *from, *to, *username, *password, *ca_file;
	char *sendmail, *secret, *format, *routing_key;
	bool starttls;
	char **argv;		/* exec: the command split on spaces, NULL-terminated */
};

/*
 * Fills ch (name and type given by the caller) from the section's keys: unknown keys,
 * missing required ones and bad values are errors naming file:line and the key.
 */
int channel_configure(struct channel *ch, const struct channel_kv *kv, size_t n,
		      struct vg_error *err);
void channel_release(struct channel *ch);

/* What one delivery is about. */
struct channel_message {
	const char *alert_id;		/* UUIDv7 of the alert: receivers dedupe on it */
	const char *message_id;		/* UUIDv7 of this message (one per event of the alert) */
	const char *event;		/* "triggered", "escalated", "acknowledged", "resolved",
					 * "breached", "test", ... */
	const char *severity;		/* "critical", "high", "medium", "low" */
	const char *subject;		/* one line */
	const char *text;		/* people's text, several lines */
	const char *json;		/* the whole event as one JSON object */
	int64_t time_ns;		/* when the event happened (CLOCK_REALTIME) */
	const char *host;		/* the monitored host's name */
	bool control_test;		/* ALR-09: say so in every rendering */
};

struct channel_result {
	bool delivered;		/* the peer accepted it */
	bool permanent;		/* a failure that retrying will not fix (4xx but 408/429) */
	int64_t retry_after_s;	/* the peer asked to wait (Retry-After), else 0 */
	char detail[512];	/* what happened, one line: "HTTP 202", "250 2.0.0 Ok", ... */
};

/* One attempt.  Returns 0 with *res filled (delivered or not), or a negative errno
 * for failures of this machine (-ENOMEM). */
int channel_deliver(const struct channel *ch, const struct channel_message *m,
		    struct channel_result *res);

#endif

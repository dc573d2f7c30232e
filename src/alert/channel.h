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
 *	exec      command = argv split on spaces (no shell; argv[0] an absolute path, at
 *	          most 64 words); the event JSON on stdin; VIGIL_ALERT_ID, VIGIL_MESSAGE_ID,
 *	          VIGIL_EVENT, VIGIL_SEVERITY and VIGIL_CONTROL_TEST (0/1) in a minimal
 *	          environment.  Exit 0 is delivered, 75 (EX_TEMPFAIL) retryable, any other
 *	          status permanent; a timeout or a signal retryable.
 *
 * All take timeout = seconds (1 to 300, default 10): the whole attempt, connection
 * included; a command past it gets SIGTERM, then SIGKILL a second later (its whole
 * process group).
 *
 * Outcomes: syslog is "delivered" once the whole message was handed to the socket (a
 * syslog peer sends no receipt); e-mail once the SMTP server accepted the data (250) or
 * sendmail exited 0 (sendmail's 64, 65, 67, 68 are permanent, others retryable); HTTP
 * types on 2xx, with 408, 429 and 5xx retryable (Retry-After honoured, seconds or an
 * HTTP-date, at most 7 days) and every other status permanent.  Failures to connect are
 * retryable.  The detail of a failure is one line "PEER: REASON" ("smtp://127.0.0.1:2525:
 * connection refused", "HTTP 503 from http://127.0.0.1:9000/vigil"); a URL is shown
 * without user information or query, and a path of three or more segments only by its
 * first one, so secrets carried in webhook URLs stay out of records.
 *
 * channel_deliver() may run in several threads at once; it keeps no state between calls.
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

/* A configured channel; every string owned by it (malloc'ed).  The caller sets name,
 * type, file and line before channel_configure(). */
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
 * Fills ch's settings (replacing any it had) from the section's keys: unknown keys (a
 * key of another type included), keys given twice, missing required ones and bad values
 * are errors naming file:line (the key's line, or the section's for a missing key) and
 * the key, e.g. "vigil.conf:12: channel 'ops': unknown key 'colour' for type webhook".
 * Returns 0, -EINVAL with err set, or -ENOMEM; on failure no setting is left, but name
 * and file still are: channel_release() is needed either way.
 */
int channel_configure(struct channel *ch, const struct channel_kv *kv, size_t n,
		      struct vg_error *err);
/* Frees every string of ch (password, secret and routing_key zeroed first) and sets the
 * pointers to NULL.  Accepts a channel that was never configured. */
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
 * for failures of this machine (-ENOMEM), or -EINVAL when m lacks a subject or when
 * alert_id, message_id or event is not 1 to 128 printable ASCII characters without
 * spaces (they go into mail and HTTP headers as they are).  *res is cleared first in
 * every case. */
int channel_deliver(const struct channel *ch, const struct channel_message *m,
		    struct channel_result *res);

#endif

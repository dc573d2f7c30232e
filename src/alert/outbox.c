/*
 * The outbox: every message of every alert to every channel waits in the store until
 * a channel took it or it was given up.  Each attempt is committed right after it is
 * made, so nothing is lost across a restart and a crash between a delivery and its
 * record repeats that one message only, with the same id for the receiver to dedupe.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "alert/channel.h"
#include "base/json.h"
#include "base/timeutil.h"
#include "base/banned.h"

#define NS_PER_S 1000000000LL
#define BATCH 32
#define MAX_ATTEMPTS 8
#define BACKOFF_FIRST_S 30
#define BACKOFF_MAX_S 3600

struct due {
	int64_t id;
	int64_t attempts;
	bool control_test;
	int64_t created_ns;
	char *alert_uuid, *message_id, *channel, *event, *severity, *subject, *body, *json;
};

static void due_release(struct due *d)
{
	free(d->alert_uuid);
	free(d->message_id);
	free(d->channel);
	free(d->event);
	free(d->severity);
	free(d->subject);
	free(d->body);
	free(d->json);
}

struct collect {
	struct due items[BATCH];
	size_t n;
};

static int collect_one(void *ud, const struct store_outbox *o)
{
	struct collect *c = ud;
	struct due *d = &c->items[c->n];

	*d = (struct due){
		.id = o->id,
		.attempts = o->attempts,
		.control_test = o->control_test,
		.created_ns = o->created_ns,
		.alert_uuid = strdup(o->alert_uuid),
		.message_id = strdup(o->message_id),
		.channel = strdup(o->channel),
		.event = strdup(o->event),
		.severity = strdup(o->severity),
		.subject = strdup(o->subject),
		.body = strdup(o->body),
		.json = strdup(o->json),
	};
	c->n++;
	if (!d->alert_uuid || !d->message_id || !d->channel || !d->event || !d->severity ||
	    !d->subject || !d->body || !d->json)
		return -ENOMEM;
	return 0;
}

/* The wait before attempt number attempts + 1: doubling from 30 s up to an hour, with up
 * to a quarter more at random so that many failed messages do not retry at once. */
static int64_t backoff_ns(int64_t attempts, int64_t retry_after_s)
{
	int64_t s = BACKOFF_FIRST_S;
	uint8_t rnd = 0;
	FILE *f;

	for (int64_t i = 1; i < attempts && s < BACKOFF_MAX_S; i++)
		s *= 2;
	if (s > BACKOFF_MAX_S)
		s = BACKOFF_MAX_S;
	f = fopen("/dev/urandom", "re");
	if (f) {
		if (fread(&rnd, 1, 1, f) != 1)
			rnd = 0;
		fclose(f);
	}
	s += s * rnd / 1024;
	if (retry_after_s > s)
		s = retry_after_s;
	return s * NS_PER_S;
}

/* An attempt in the alert's history and the journal. */
static int record_attempt(struct alert_ctx *a, const struct due *d,
			  const struct channel_result *res, const char *outcome, int64_t now)
{
	struct store_alert al = { 0 };
	struct store_record_event e;
	struct buf b;
	struct json_writer w;
	int r = store_alert_get(a->store, d->alert_uuid, &al);

	if (r <= 0)
		return r;
	buf_init(&b, 0);
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "channel");
	jw_str_bytes(&w, d->channel, strlen(d->channel));
	jw_key(&w, "message_id");
	jw_str(&w, d->message_id);
	jw_key(&w, "event");
	jw_str(&w, d->event);
	jw_key(&w, "outcome");
	jw_str(&w, outcome);
	jw_key(&w, "attempt");
	jw_i64(&w, d->attempts + 1);
	jw_key(&w, "detail");
	jw_str_bytes(&w, res->detail, strlen(res->detail));
	jw_obj_close(&w);
	e = (struct store_record_event){
		.time_ns = now,
		.action = strcmp(outcome, "delivered") == 0 ? "deliver" : "deliver-failed",
		.from_state = al.state,
		.to_state = al.state,
		.account = "vigil",
		.roles = "",
		.detail = b.data,
	};
	r = w.err;
	if (r == 0)
		r = store_alert_event_add(a->store, al.id, &e);
	if (r == 0 && a->journal) {
		struct buf j;

		buf_init(&j, 0);
		r = buf_printf(&j, "{\"alert\":{\"id\":\"%s\"},\"delivery\":%s}", al.uuid, b.data);
		if (r == 0)
			r = journal_append(a->journal,
					   strcmp(outcome, "delivered") == 0 ? "alert.delivered"
					   : strcmp(outcome, "failed") == 0   ? "alert.delivery_failed"
									     : "alert.delivery_retry",
					   j.data, NULL);
		buf_release(&j);
	}
	buf_release(&b);
	store_alert_release(&al);
	return r;
}

static int attempt(struct alert_ctx *a, const struct channel *channels, size_t n, struct due *d)
{
	const struct channel *ch = NULL;
	struct channel_result res = { 0 };
	struct channel_message m;
	int64_t now = clock_now_ns();
	const char *state = "pending", *outcome;
	int64_t next = 0;
	int r;

	for (size_t i = 0; i < n && !ch; i++)
		if (strcmp(channels[i].name, d->channel) == 0)
			ch = &channels[i];
	if (!ch) {
		snprintf(res.detail, sizeof(res.detail), "channel '%s' is not configured any more",
			 d->channel);
		res.permanent = true;
	} else {
		m = (struct channel_message){
			.alert_id = d->alert_uuid,
			.message_id = d->message_id,
			.event = d->event,
			.severity = d->severity,
			.subject = d->subject,
			.text = d->body,
			.json = d->json,
			.time_ns = d->created_ns,
			.host = a->host_name,
			.control_test = d->control_test,
		};
		r = channel_deliver(ch, &m, &res);
		if (r < 0)
			return r;
	}
	if (res.delivered) {
		state = outcome = "delivered";
	} else if (res.permanent || d->attempts + 1 >= MAX_ATTEMPTS) {
		state = outcome = "failed";
	} else {
		outcome = "retry";
		next = now + backoff_ns(d->attempts + 1, res.retry_after_s);
	}
	r = store_outbox_update(a->store, d->id, state, next, d->attempts + 1, res.detail);
	if (r == 0)
		r = record_attempt(a, d, &res, outcome, now);
	/* a channel given up on is a monitoring failure, told on the other channels */
	if (r == 0 && strcmp(state, "failed") == 0) {
		char ref[120];

		snprintf(ref, sizeof(ref), "%s:%s", d->message_id, d->channel);
		r = alert_on_failure(a, "delivery", ref, "delivery", d->channel, now);
	}
	if (r == 0)
		r = store_tx_commit(a->store);
	else
		store_tx_rollback(a->store);
	return r;
}

int alert_outbox_work(struct alert_ctx *a, const struct channel *channels, size_t n,
		      int64_t budget_ns)
{
	uint64_t pending = 0;
	int r = 0;

	for (;;) {
		struct collect c = { .n = 0 };

		r = store_outbox_due(a->store, a->host_id, clock_now_ns(), BATCH, collect_one, &c);
		for (size_t i = 0; r == 0 && i < c.n; i++) {
			if (clock_monotonic_ns() >= budget_ns)
				break;
			r = attempt(a, channels, n, &c.items[i]);
		}
		for (size_t i = 0; i < c.n; i++)
			due_release(&c.items[i]);
		if (r < 0 || c.n < BATCH || clock_monotonic_ns() >= budget_ns)
			break;
	}
	if (r == 0)
		r = store_outbox_pending(a->store, a->host_id, &pending);
	return r < 0 ? r : (int)(pending > 1000000 ? 1000000 : pending);
}

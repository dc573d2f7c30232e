/*
 * Alerts (ALR-01..09): raised for unauthorized changes and monitoring failures, each
 * with a response deadline 24 hours (or less, by policy) after it was generated.
 *
 * States and actions (responder role for each; illegal ones are refused):
 *
 *	open -> acknowledged -> responded -> determined -> closed
 *	open -> responded                  (an initial response acknowledges too)
 *	determined -> determined           (an incident record attached)
 *
 * The initial response stops the clock.  An alert still without one at its deadline
 * is marked breached, once and for good: nothing clears breached_ns.  Escalation
 * points (by default one hour unacknowledged, eight and twenty hours unanswered) are
 * recorded as they pass.  alert_evaluate() does both, from whatever process reads the
 * clock first: the daemon's timer, or any command that reads alerts.
 *
 * Unauthorized changes are grouped: a change joins the alert raised for its directory
 * (the object itself for a directory) within the grouping window of its generation,
 * so a burst of changes in one directory is one alert listing them all; each change
 * stays recorded on its own.
 */
#ifndef VIGIL_ALERT_ALERT_H
#define VIGIL_ALERT_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal/journal.h"
#include "store/store.h"

enum alert_state {
	ALERT_OPEN,
	ALERT_ACKNOWLEDGED,
	ALERT_RESPONDED,
	ALERT_DETERMINED,
	ALERT_CLOSED,
	ALERT_STATE__COUNT,
};

enum alert_action {
	ALERT_ACK,
	ALERT_RESPOND,
	ALERT_DETERMINE,
	ALERT_INCIDENT,
	ALERT_CLOSE,
	ALERT_ACTION__COUNT,
};

const char *alert_state_name(enum alert_state s);
int alert_state_parse(const char *s, enum alert_state *ret);
const char *alert_action_name(enum alert_action a);
/* The state action leads to, or -1 when it is illegal in state s. */
int alert_next_state(enum alert_state s, enum alert_action a);

/* Categories (ALR-01). */
#define ALERT_UNAUTHORIZED "unauthorized-change"
#define ALERT_MONITORING "monitoring-failure"
#define ALERT_EMERGENCY "emergency-overdue"

/* Determinations (ALR-05). */
enum alert_determination {
	DET_CONFIRMED,
	DET_DEVIATION,
	DET_FALSE_POSITIVE,
	DET_CONTROL_TEST,
	DET__COUNT,
};
const char *alert_determination_name(enum alert_determination d);
int alert_determination_parse(const char *s, enum alert_determination *ret);

#define ALERT_ESCALATIONS 3

struct alert_policy {
	int64_t deadline_ns;		/* generated + this; at most 24 h */
	int64_t group_window_ns;	/* changes join an alert this long after it was raised */
	/* escalation points after generation; 0: off.  [0]: still unacknowledged;
	 * [1], [2]: still without an initial response */
	int64_t escalate_ns[ALERT_ESCALATIONS];
};

struct alert_ctx {
	struct store *store;
	struct journal *journal;	/* every alert action is journaled */
	int64_t host_id;
	const char *host_name;
	struct alert_policy policy;
	/* where messages go (ALR-02): every alert's, and escalations' (none: the same) */
	const char *const *channels;
	size_t n_channels;
	const char *const *escalation;
	size_t n_escalation;
	uint64_t queued;	/* messages queued so far (a process can tell when to deliver) */
};

/* The defaults: 24 h, 5 min, 1 h / 8 h / 20 h. */
void alert_policy_default(struct alert_policy *p);
struct settings;
/* The policy the [alerts] settings give. */
void alert_policy_from_settings(struct alert_policy *p, const struct settings *s);

/*
 * An unauthorized change was recorded (inside its transaction): it raises an alert or
 * joins the one of its group.  severity: the deciding rule's ("low" .. "critical");
 * actor_auid: the actor's login uid or -1.  *ret_uuid (may be NULL) gets the alert.
 */
int alert_on_change(struct alert_ctx *a, const char *change_uuid, const char *path, size_t len,
		    bool directory, const char *change, const char *severity, int64_t actor_auid,
		    int64_t detected_ns, char ret_uuid[37]);

/* A monitoring failure (a gap, an object that could not be read): grouped by reason and
 * scope within the window.  ref: the gap's uuid or the object's path. */
int alert_on_failure(struct alert_ctx *a, const char *kind, const char *ref, const char *reason,
		     const char *scope, int64_t time_ns);

/*
 * Marks what the clock says at now_ns: escalation points passed and deadlines missed
 * (breached, for good), each journaled once; raises an alert for each emergency change
 * whose retrospective approval is overdue (emergency_deadline_ns after its start).
 * Commits.  Returns the number of marks made, or a negative errno.
 */
int alert_evaluate(struct alert_ctx *a, int64_t now_ns, int64_t emergency_deadline_ns);

/*
 * Queues the message of one event of an alert ("triggered", "escalated", "breached",
 * "acknowledged", "resolved") for its channels in the outbox, inside the open
 * transaction; one message id for all channels, so receivers can dedupe on it.
 */
int alert_notify(struct alert_ctx *a, const struct store_alert *al, const char *event,
		 int64_t now_ns);

struct channel;
/*
 * Works the outbox: delivers the messages due, each attempt recorded in the alert's
 * history and journaled, retried with backoff and jitter (Retry-After honoured) until
 * delivered or given up (a permanent failure, or 8 attempts), when a "delivery" failure
 * alert goes to the channels.  Each message is committed on its own right after its
 * attempt, so a crash between the two repeats at most that message, with its id.
 * Stops at budget_ns (CLOCK_MONOTONIC) or when nothing is due.  Returns how many
 * messages are still pending, or a negative errno.
 */
int alert_outbox_work(struct alert_ctx *a, const struct channel *channels, size_t n,
		      int64_t budget_ns);

#endif

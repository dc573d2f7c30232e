/*
 * Alert records: raising and grouping, the clock's marks (escalations, breaches), and
 * the state machine the commands move alerts through.  Every mark is written to the
 * store and the journal in the transaction of what caused it, so an alert that exists
 * has been journaled, and a breach once recorded stays.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "base/json.h"
#include "base/macro.h"
#include "base/timeutil.h"
#include "base/uuid.h"
#include "change/record.h"
#include "conf/settings.h"
#include "base/banned.h"

#define NS_PER_S 1000000000LL

static const char *const state_names[ALERT_STATE__COUNT] = {
	"open", "acknowledged", "responded", "determined", "closed",
};
static const char *const action_names[ALERT_ACTION__COUNT] = {
	"acknowledge", "respond", "determine", "incident", "close",
};
static const char *const det_names[DET__COUNT] = {
	"confirmed", "deviation", "false-positive", "control-test",
};

const char *alert_state_name(enum alert_state s)
{
	return (unsigned)s < ALERT_STATE__COUNT ? state_names[s] : "unknown";
}

int alert_state_parse(const char *s, enum alert_state *ret)
{
	for (int i = 0; i < ALERT_STATE__COUNT; i++)
		if (strcmp(s, state_names[i]) == 0) {
			*ret = (enum alert_state)i;
			return 0;
		}
	return -EINVAL;
}

const char *alert_action_name(enum alert_action a)
{
	return (unsigned)a < ALERT_ACTION__COUNT ? action_names[a] : "unknown";
}

const char *alert_determination_name(enum alert_determination d)
{
	return (unsigned)d < DET__COUNT ? det_names[d] : "unknown";
}

int alert_determination_parse(const char *s, enum alert_determination *ret)
{
	for (int i = 0; i < DET__COUNT; i++)
		if (strcmp(s, det_names[i]) == 0) {
			*ret = (enum alert_determination)i;
			return 0;
		}
	return -EINVAL;
}

int alert_next_state(enum alert_state s, enum alert_action a)
{
	switch (a) {
	case ALERT_ACK:
		return s == ALERT_OPEN ? ALERT_ACKNOWLEDGED : -1;
	case ALERT_RESPOND:
		return s == ALERT_OPEN || s == ALERT_ACKNOWLEDGED ? ALERT_RESPONDED : -1;
	case ALERT_DETERMINE:
		return s == ALERT_RESPONDED ? ALERT_DETERMINED : -1;
	case ALERT_INCIDENT:
		return s == ALERT_DETERMINED ? ALERT_DETERMINED : -1;
	case ALERT_CLOSE:
		return s == ALERT_DETERMINED ? ALERT_CLOSED : -1;
	default:
		return -1;
	}
}

void alert_policy_default(struct alert_policy *p)
{
	p->deadline_ns = 24 * 3600 * NS_PER_S;
	p->group_window_ns = 300 * NS_PER_S;
	p->escalate_ns[0] = 3600 * NS_PER_S;
	p->escalate_ns[1] = 8 * 3600 * NS_PER_S;
	p->escalate_ns[2] = 20 * 3600 * NS_PER_S;
}

void alert_policy_from_settings(struct alert_policy *p, const struct settings *s)
{
	p->deadline_ns = (int64_t)s->alert_deadline * NS_PER_S;
	p->group_window_ns = (int64_t)s->alert_group_window * NS_PER_S;
	for (int i = 0; i < ALERT_ESCALATIONS; i++)
		p->escalate_ns[i] = (int64_t)s->escalate[i] * NS_PER_S;
}

static int severity_rank(const char *s)
{
	static const char *const order[] = { "low", "medium", "high", "critical" };

	for (size_t i = 0; s && i < ARRAY_SIZE(order); i++)
		if (strcmp(s, order[i]) == 0)
			return (int)i;
	return 1;
}

static void time_member(struct json_writer *w, const char *key, int64_t ns)
{
	char t[RFC3339_MAX];

	jw_key(w, key);
	if (ns && time_format_rfc3339(ns, t, sizeof(t)) == 0)
		jw_str(w, t);
	else
		jw_null(w);
}

/* {"alert": {...}, <extra members>} of a journal entry. */
static void alert_json(struct json_writer *w, const struct store_alert *al)
{
	jw_key(w, "alert");
	jw_obj_open(w);
	jw_key(w, "id");
	jw_str(w, al->uuid);
	jw_key(w, "category");
	jw_str(w, al->category);
	jw_key(w, "severity");
	jw_str(w, al->severity);
	jw_key(w, "state");
	jw_str(w, al->state);
	jw_key(w, "group");
	jw_str_bytes(w, al->group_key, strlen(al->group_key));
	jw_key(w, "title");
	jw_str_bytes(w, al->title, strlen(al->title));
	time_member(w, "generated", al->generated_ns);
	time_member(w, "deadline", al->deadline_ns);
	if (al->breached_ns)
		time_member(w, "breached", al->breached_ns);
	if (al->control_test) {
		jw_key(w, "control_test");
		jw_bool(w, true);
	}
	jw_obj_close(w);
}

static int journal_alert(struct alert_ctx *a, const char *type, const struct store_alert *al,
			 const char *kind, const char *ref, const char *extra_key,
			 const char *extra_json)
{
	struct buf b;
	struct json_writer w;
	int r;

	if (!a->journal)
		return 0;
	buf_init(&b, 0);
	jw_init(&w, &b);
	jw_obj_open(&w);
	alert_json(&w, al);
	if (kind) {
		jw_key(&w, "item");
		jw_obj_open(&w);
		jw_key(&w, "kind");
		jw_str(&w, kind);
		jw_key(&w, "ref");
		jw_str_bytes(&w, ref, strlen(ref));
		jw_obj_close(&w);
	}
	if (extra_key) {
		jw_key(&w, extra_key);
		jw_raw(&w, extra_json);
	}
	jw_obj_close(&w);
	r = w.err ? w.err : journal_append(a->journal, type, b.data, NULL);
	buf_release(&b);
	return r;
}

static int event_add(struct alert_ctx *a, const struct store_alert *al, const char *action,
		     const char *from, const char *detail, int64_t now)
{
	struct store_record_event e = {
		.time_ns = now,
		.action = action,
		.from_state = from,
		.to_state = al->state,
		.account = "vigil",
		.roles = "",
		.detail = detail,
	};

	return store_alert_event_add(a->store, al->id, &e);
}

/* Raises a new alert or adds the item to the open one of its group. */
static int raise_or_join(struct alert_ctx *a, const char *category, const char *group_key,
			 const char *title, const char *severity, int64_t actor_auid,
			 const char *kind, const char *ref, int64_t now, char ret_uuid[37])
{
	struct store_alert al = { 0 };
	char ctitle[4500], cdetail[80];
	/* changes group within the window; a failure joins its open alert, however old */
	int64_t since = strcmp(category, ALERT_UNAUTHORIZED) == 0 ? now - a->policy.group_window_ns
								  : 0;
	int r;

	r = store_alert_find_group(a->store, a->host_id, category, group_key, since, false, &al);
	if (r < 0)
		return r;
	if (r == 1) {
		r = store_alert_item_add(a->store, al.id, kind, ref, now);
		if (r == 0 && severity_rank(severity) > severity_rank(al.severity)) {
			free(al.severity);
			al.severity = strdup(severity);
			r = al.severity ? store_alert_update(a->store, &al) : -ENOMEM;
		}
		if (r == 0)
			r = journal_alert(a, "alert.grouped", &al, kind, ref, NULL, NULL);
		if (r == 0 && ret_uuid)
			memcpy(ret_uuid, al.uuid, sizeof(al.uuid));
		store_alert_release(&al);
		return r;
	}
	al = (struct store_alert){
		.host_id = a->host_id,
		.category = (char *)category,
		.severity = (char *)severity,
		.state = (char *)"open",
		.group_key = (char *)group_key,
		.title = (char *)title,
		.generated_ns = now,
		.deadline_ns = now + a->policy.deadline_ns,
		.actor_auid = actor_auid,
		.detail = (char *)"{}",
	};
	r = uuid7_new(al.uuid);
	if (r == 0) {
		/* ALR-09: the first alert while a control test is declared is that test's */
		char test_uuid[37];
		char *text = NULL;

		r = store_control_test_claim(a->store, a->host_id, now, al.uuid, test_uuid, &text);
		if (r == 1) {
			al.control_test = true;
			snprintf(ctitle, sizeof(ctitle), "[CONTROL TEST] %s", title);
			al.title = ctitle;
			snprintf(cdetail, sizeof(cdetail), "{\"control_test\":\"%s\"}", test_uuid);
			al.detail = cdetail;
			r = 0;
		}
		free(text);
	}
	if (r == 0)
		r = store_alert_add(a->store, &al, NULL);
	if (r == 0)
		r = store_alert_item_add(a->store, al.id, kind, ref, now);
	if (r == 0)
		r = event_add(a, &al, "raise", "none", NULL, now);
	if (r == 0)
		r = journal_alert(a, "alert.raised", &al, kind, ref, NULL, NULL);
	if (r == 0)
		r = alert_notify(a, &al, "triggered", now);
	if (r == 0 && ret_uuid)
		memcpy(ret_uuid, al.uuid, sizeof(al.uuid));
	return r;
}

int alert_on_change(struct alert_ctx *a, const char *change_uuid, const char *path, size_t len,
		    bool directory, const char *change, const char *severity, int64_t actor_auid,
		    int64_t detected_ns, char ret_uuid[37])
{
	char key[4200], title[4400];
	size_t dl = len;

	if (len >= sizeof(key) - 8)
		len = dl = sizeof(key) - 8;
	/* a collected object (KIND:KEY) groups with the other objects of its kind */
	if (len && path[0] != '/') {
		const char *colon = memchr(path, ':', len);

		dl = colon ? (size_t)(colon - path) + 1 : len;
		snprintf(key, sizeof(key), "%.*s", (int)dl, path);
		snprintf(title, sizeof(title), "unauthorized changes to %.*s objects", (int)dl - 1,
			 path);
		return raise_or_join(a, ALERT_UNAUTHORIZED, key, title,
				     severity ? severity : "medium", actor_auid, "change",
				     change_uuid, detected_ns, ret_uuid);
	}
	/* a directory groups with what changes in it; anything else with its siblings */
	if (!directory) {
		while (dl > 1 && path[dl - 1] != '/')
			dl--;
		if (dl > 1)
			dl--;
	}
	snprintf(key, sizeof(key), "%.*s", (int)dl, path);
	/* the group is what the alert is about: the first change is one of its items */
	snprintf(title, sizeof(title), "unauthorized changes in %s", key);
	(void)change;
	return raise_or_join(a, ALERT_UNAUTHORIZED, key, title, severity ? severity : "medium",
			     actor_auid, "change", change_uuid, detected_ns, ret_uuid);
}

int alert_on_failure(struct alert_ctx *a, const char *kind, const char *ref, const char *reason,
		     const char *scope, int64_t time_ns)
{
	char key[4200], title[4400];

	snprintf(key, sizeof(key), "%s:%s", reason, scope);
	snprintf(title, sizeof(title), "monitoring failure (%s): %s", reason, scope);
	return raise_or_join(a, ALERT_MONITORING, key, title, "high", -1, kind, ref, time_ns, NULL);
}

/* ---- the clock's marks ---- */

struct eval {
	struct alert_ctx *a;
	int64_t now;
	struct store_alert *due;
	size_t n;
	int err;
};

static int collect(void *ud, const struct store_alert *al)
{
	struct eval *ev = ud;
	struct store_alert *nv, *c;
	bool esc = false;

	for (int i = 0; i < ALERT_ESCALATIONS; i++) {
		int64_t at = ev->a->policy.escalate_ns[i];
		bool pending = i == 0 ? !al->acknowledged_ns && !al->responded_ns : !al->responded_ns;

		if (at && pending && !(al->escalated & (1 << i)) && al->generated_ns + at <= ev->now &&
		    al->generated_ns + at < al->deadline_ns)
			esc = true;
	}
	if (!esc && !(ev->now >= al->deadline_ns && !al->responded_ns && !al->breached_ns))
		return 0;
	if (ev->n >= 100000)
		return 0;
	nv = realloc(ev->due, (ev->n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	ev->due = nv;
	c = &ev->due[ev->n];
	*c = *al;
	/* take the strings: the caller of the callback releases al, so copy them */
	c->category = strdup(al->category);
	c->severity = strdup(al->severity);
	c->state = strdup(al->state);
	c->group_key = strdup(al->group_key);
	c->title = strdup(al->title);
	c->determination = al->determination ? strdup(al->determination) : NULL;
	c->incident = al->incident ? strdup(al->incident) : NULL;
	c->detail = strdup(al->detail ? al->detail : "{}");
	ev->n++;
	if (!c->category || !c->severity || !c->state || !c->group_key || !c->title || !c->detail)
		return -ENOMEM;
	return 0;
}

struct overdue_scan {
	struct alert_ctx *a;
	int64_t now, deadline;
	unsigned marks;
};

static int start_time(void *ud, const struct store_record_event *e)
{
	int64_t *t = ud;

	if (strcmp(e->action, "start") == 0 && !*t)
		*t = e->time_ns;
	return 0;
}

static int overdue_one(void *ud, const struct store_record *rec)
{
	struct overdue_scan *os = ud;
	struct store_alert al = { 0 };
	enum cr_state st;
	int64_t started = 0;
	char key[300], title[400];
	int r;

	if (strcmp(rec->type, "emergency") != 0 || cr_state_parse(rec->state, &st) < 0 ||
	    (st != CR_IN_PROGRESS && st != CR_IMPLEMENTED))
		return 0;
	r = store_record_event_each(os->a->store, rec->id, start_time, &started);
	if (r < 0)
		return r;
	if (!started)
		started = rec->created_ns;
	if (started + os->deadline > os->now)
		return 0;
	snprintf(key, sizeof(key), "record:%s/%s", rec->source, rec->ext_id);
	/* one alert per overdue record, however often the clock is read */
	r = store_alert_find_group(os->a->store, os->a->host_id, ALERT_EMERGENCY, key, 0, true, &al);
	store_alert_release(&al);
	if (r != 0)
		return r < 0 ? r : 0;
	snprintf(title, sizeof(title), "emergency change %s: retrospective approval overdue",
		 rec->ext_id);
	r = raise_or_join(os->a, ALERT_EMERGENCY, key, title, "high", -1, "record", rec->ext_id,
			  os->now, NULL);
	if (r == 0)
		os->marks++;
	return r;
}

int alert_evaluate(struct alert_ctx *a, int64_t now, int64_t emergency_deadline_ns)
{
	struct eval ev = { .a = a, .now = now };
	struct overdue_scan os = { .a = a, .now = now, .deadline = emergency_deadline_ns };
	int marks = 0, r;

	r = store_alert_each(a->store, a->host_id, true, collect, &ev);
	for (size_t k = 0; r == 0 && k < ev.n; k++) {
		struct store_alert *al = &ev.due[k];

		for (int i = 0; r == 0 && i < ALERT_ESCALATIONS; i++) {
			int64_t at = a->policy.escalate_ns[i];
			bool pending = i == 0 ? !al->acknowledged_ns && !al->responded_ns
					      : !al->responded_ns;
			char detail[160];

			if (!at || !pending || (al->escalated & (1 << i)) || al->generated_ns + at > now ||
			    al->generated_ns + at >= al->deadline_ns)
				continue;
			al->escalated |= 1 << i;
			snprintf(detail, sizeof(detail),
				 "{\"point\":%d,\"after_s\":%lld,\"reason\":\"%s\"}", i + 1,
				 (long long)(at / NS_PER_S), i == 0 ? "unacknowledged" : "unanswered");
			r = store_alert_update(a->store, al);
			if (r == 0)
				r = event_add(a, al, "escalate", al->state, detail, al->generated_ns + at);
			if (r == 0)
				r = journal_alert(a, "alert.escalated", al, NULL, NULL, "escalation",
						  detail);
			if (r == 0)
				r = alert_notify(a, al, "escalated", now);
			marks++;
		}
		/* ALR-04: no initial response by the deadline: breached, for good */
		if (r == 0 && now >= al->deadline_ns && !al->responded_ns && !al->breached_ns) {
			al->breached_ns = al->deadline_ns;
			r = store_alert_update(a->store, al);
			if (r == 0)
				r = event_add(a, al, "breach", al->state, NULL, al->deadline_ns);
			if (r == 0)
				r = journal_alert(a, "alert.breached", al, NULL, NULL, NULL, NULL);
			if (r == 0)
				r = alert_notify(a, al, "breached", now);
			marks++;
		}
	}
	for (size_t k = 0; k < ev.n; k++)
		store_alert_release(&ev.due[k]);
	free(ev.due);
	if (r == 0 && emergency_deadline_ns > 0) {
		r = store_record_each(a->store, overdue_one, &os);
		marks += (int)os.marks;
	}
	if (r == 0)
		r = store_tx_commit(a->store);
	else
		store_tx_rollback(a->store);
	return r < 0 ? r : marks;
}

/* ---- messages ---- */

int alert_notify(struct alert_ctx *a, const struct store_alert *al, const char *event,
		 int64_t now)
{
	const char *const *to = a->channels;
	size_t n = a->n_channels;
	char msg_id[37], subject[600], gen[RFC3339_MAX], dl[RFC3339_MAX];
	struct buf body, json;
	struct json_writer w;
	int r;

	/* escalations go to the escalation contacts, when there are some */
	if (strcmp(event, "escalated") == 0 && a->n_escalation) {
		to = a->escalation;
		n = a->n_escalation;
	}
	if (!n)
		return 0;
	r = uuid7_new(msg_id);
	if (r < 0)
		return r;
	if (time_format_rfc3339(al->generated_ns, gen, sizeof(gen)) < 0 ||
	    time_format_rfc3339(al->deadline_ns, dl, sizeof(dl)) < 0)
		return -EINVAL;
	snprintf(subject, sizeof(subject), "[vigil %s] %s %s: %s", a->host_name, al->severity, event,
		 al->title);
	buf_init(&body, 1 << 20);
	r = buf_printf(&body,
		       "%s\n\nalert:     %s\ncategory:  %s\nseverity:  %s\nstate:     %s\n"
		       "event:     %s\ngenerated: %s\ndeadline:  %s (an initial response is due "
		       "by then)\n%s\nvigil alert show %s\n",
		       al->title, al->uuid, al->category, al->severity, al->state, event, gen, dl,
		       al->breached_ns ? "BREACHED: no initial response by the deadline\n" : "",
		       al->uuid);
	buf_init(&json, 1 << 20);
	jw_init(&w, &json);
	jw_obj_open(&w);
	jw_key(&w, "event");
	jw_str(&w, event);
	jw_key(&w, "host");
	jw_str_bytes(&w, a->host_name, strlen(a->host_name));
	alert_json(&w, al);
	jw_obj_close(&w);
	if (r == 0)
		r = w.err;
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct store_outbox o = {
			.host_id = a->host_id,
			.alert_uuid = al->uuid,
			.message_id = msg_id,
			.channel = to[i],
			.event = event,
			.severity = al->severity,
			.subject = subject,
			.body = body.data,
			.json = json.data,
			.control_test = al->control_test,
			.created_ns = now,
			.next_ns = now,
		};

		r = store_outbox_add(a->store, &o);
		if (r == 0)
			a->queued++;
	}
	buf_release(&body);
	buf_release(&json);
	return r;
}

/*
 * The engine's "recorded" hook: an unauthorized change raises an alert (or joins its
 * group) in the transaction that records the change, with the deciding rule's
 * severity and the actor's login uid; an object that could not be examined is a
 * monitoring failure.  Authorized changes and unstable objects raise nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert-engine.h"
#include "base/json-canon.h"
#include "conf/rules.h"
#include "base/banned.h"

int alert_engine_hook(void *ud, const struct engine_event *ev)
{
	struct alert_ctx *a = ud;
	const struct object_state *s = ev->after ? ev->after : ev->before;
	char auid[24];
	int64_t actor = -1;

	if (ev->kind == ENGINE_ERROR) {
		char path[4200];

		snprintf(path, sizeof(path), "%.*s", (int)ev->path_len, ev->path);
		return alert_on_failure(a, "error", ev->uuid, "unreadable", path, ev->detected_ns);
	}
	if (ev->kind > ENGINE_MODIFIED || ev->authorized)
		return 0;
	if (json_path_string(ev->json, strlen(ev->json), "user.audit.id", auid, sizeof(auid)) == 0)
		actor = strtoll(auid, NULL, 10);
	return alert_on_change(a, ev->uuid, ev->path, ev->path_len, s && s->type == OBJ_DIR,
			       engine_event_name(ev->kind),
			       ev->rule && ev->rule->kind == RULE_SELECT ? severity_name(ev->rule->severity)
									 : "medium",
			       actor, ev->detected_ns, NULL);
}

int alert_gap_hook(void *ud, const char *uuid, const char *reason, const char *scope,
		   int64_t time_ns)
{
	return alert_on_failure(ud, "gap", uuid, reason, scope, time_ns);
}

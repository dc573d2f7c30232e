/*
 * Where the engine meets alerts: the engine's "recorded" hook, which raises an alert
 * for each unauthorized change and each object that could not be read.
 */
#ifndef VIGIL_ALERT_ALERT_ENGINE_H
#define VIGIL_ALERT_ALERT_ENGINE_H

#include "alert/alert.h"
#include "engine/engine.h"

/* engine_opts.recorded and engine_opts.gap, with a struct alert_ctx as ud. */
int alert_engine_hook(void *ud, const struct engine_event *ev);
int alert_gap_hook(void *ud, const char *uuid, const char *reason, const char *scope,
		   int64_t time_ns);

#endif

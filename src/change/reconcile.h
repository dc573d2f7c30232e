/*
 * Reconciliation (CHG-06, CHG-07): the disposition of every detected change.
 *
 * A change is authorized by a change record when the record is approved (or in
 * progress; an emergency record once started), the change falls in its window, the
 * host and the object are in its scope, and, when the record names implementers and
 * the actor's login uid is known, the actor's account is one of them.  It is
 * authorized by a standing authorization (an approved record of type standard, inside
 * its validity window) when the object is in its scope and, when the authorization
 * names repositories, the vendor-package provenance chain (change/provenance.h) holds
 * with the evidence level it demands.  Otherwise it is unauthorized, and the reasons
 * the nearest records did not cover it are kept with it.
 *
 * The reconciler keeps the records that can authorize anything in memory and reloads
 * them when the store's records change (another process may have approved one).
 */
#ifndef VIGIL_CHANGE_RECONCILE_H
#define VIGIL_CHANGE_RECONCILE_H

#include <stdint.h>

#include "engine/engine.h"
#include "store/store.h"

struct reconciler;

struct reconcile_opts {
	struct store *store;
	const char *host_name;
	const char *root;	/* where dpkg and apt state is read: "/" (NULL) or a test root */
	int64_t package_slack_ns; /* dpkg activity this close to a change counts; 0: 1 hour */
};

int reconciler_new(const struct reconcile_opts *o, struct reconciler **ret);
struct reconciler *reconciler_free(struct reconciler *r);

/* The engine's reconcile hook (engine_opts.reconcile, with the reconciler as ud). */
int reconciler_engine_hook(void *ud, struct engine_reconcile *rc);

#endif

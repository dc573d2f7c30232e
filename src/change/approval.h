/*
 * Configuration approved through change records (DET-08, CHG-04): an exclusion rule,
 * or a policy such as a relaxation of separation of duties, is in force only while a
 * record that names it in scope.config has been approved.  Keys:
 *
 *	exclusion:PATTERN		an exclusion rule ("!PATTERN" in a rules file)
 *	vigil:sod-relaxed		approvals by requesters or implementers allowed
 *
 * A record's scope.config entries are matched against the key with fnmatch(3), so
 * "exclusion:/var/cache/**" names that exclusion and "exclusion:*" every one.
 */
#ifndef VIGIL_CHANGE_APPROVAL_H
#define VIGIL_CHANGE_APPROVAL_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Meta key: the exclusions in force when the baseline was made (a JSON array of
 * patterns), approved by the baseline itself. */
#define APPROVAL_BASELINE_EXCLUSIONS "exclusions.baseline"

/*
 * The record in force at now_ns on host that approves key: one that has passed
 * approval (states approved, in_progress, implemented, retro_approved, reviewed,
 * closed; a standing authorization until it is closed), whose window (a standing
 * authorization's validity) holds now_ns, whose scope.hosts (none: every host) match
 * host, and one of whose scope.config entries matches key.  So a normal record
 * approves configuration for its window, a standing authorization for its validity.
 * Returns 1 with "SOURCE/ID" (or "ID" for local records) in out, 0 when none, or a
 * negative errno.
 */
/*
 * Whether the record passed approval: its history holds a move into approved or
 * retro_approved (by approvals, or by an import in such a state), and none into
 * rejected or cancelled.  The state's name alone never says so: an emergency record
 * reaches implemented, and a rejected one closed, without any approval.
 */
int approval_record_approved(struct store *s, const struct store_record *rec, bool *ret);

int approval_find(struct store *s, const char *host, const char *key, int64_t now_ns, char *out,
		  size_t size);

#endif

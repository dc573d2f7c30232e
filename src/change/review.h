/*
 * The review packet of a change record (CHG-07): what was planned against what was
 * detected.  It lists the changes the record authorized, and the discrepancies the
 * reviewer must acknowledge one by one before the review is accepted:
 *   - unexpected: changes to objects in the record's scope, during its window, that it
 *     did not authorize (someone else's change, or one outside what was approved);
 *   - unobserved: objects the record named exactly (a scope path without wildcards)
 *     that never changed.
 */
#ifndef VIGIL_CHANGE_REVIEW_H
#define VIGIL_CHANGE_REVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "change/record.h"
#include "store/store.h"

struct cr_discrepancy {
	char *key;		/* what --ack names: a change's uuid, or "expected:PATH" */
	char *text;		/* one line for people */
};

struct cr_packet {
	size_t n_matched;	/* changes the record authorized */
	struct cr_discrepancy *d;
	size_t n;
	size_t n_more;		/* discrepancies beyond the limit, not listed */
};

/* Builds the packet of the record (uuid, doc) for changes detected in [from, to]. */
int cr_review_packet(struct store *s, int64_t host, const char *record_uuid,
		     const struct cr_doc *doc, int64_t from_ns, int64_t to_ns,
		     struct cr_packet *ret);
void cr_packet_release(struct cr_packet *p);

#endif

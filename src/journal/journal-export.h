/*
 * Journal export (LOG-07): a directory that anyone can verify with the verifier key and
 * no Vigil state, laid out as a C2SP tlog-tiles log:
 *
 *	checkpoint               the checkpoint the export is cut at
 *	checkpoints/<id>         every checkpoint issued in the period, by issue number
 *	tile/<L>/<N>[.p/<W>]     hash tiles for the checkpoint's tree
 *	tile/entries/<N>[.p/<W>] entry bundles (big-endian uint16 length, then the entry)
 *	verifier-key             the verifier key, one line in signed-note form
 *	manifest                 a signed note listing the SHA-256 of every other file
 */
#ifndef VIGIL_JOURNAL_JOURNAL_EXPORT_H
#define VIGIL_JOURNAL_JOURNAL_EXPORT_H

#include <stdint.h>

#include "journal/journal.h"

struct journal_export_result {
	uint64_t size;		/* entries covered (the checkpoint's size) */
	uint64_t checkpoints;	/* checkpoints included from the period */
	uint64_t files;
};

/*
 * Writes the export into dir (created if missing; it must be empty).  The export is cut
 * at the latest checkpoint issued at or before to_ns; checkpoints issued in
 * [from_ns, to_ns] are included.  Entries are always exported from index 0 so that the
 * tree can be recomputed.
 */
int journal_export(struct journal *j, struct store *s, const char *dir, int64_t from_ns,
		   int64_t to_ns, struct journal_export_result *ret, struct vg_error *err);
/* The same, cut at checkpoint cut_id (its issue number) whatever its time; checkpoints
 * issued in [from_ns, to_ns] and no larger are included. */
int journal_export_at(struct journal *j, struct store *s, const char *dir, int64_t from_ns,
		      int64_t to_ns, int64_t cut_id, struct journal_export_result *ret,
		      struct vg_error *err);

#endif

/*
 * Verification of a journal, in the store or in an export directory, against a verifier
 * key: every entry's bytes against its leaf hash, the tree against every signed
 * checkpoint, checkpoints against each other.  The first problem is named: the entry
 * index, or the checkpoint and the range of entries it no longer matches.
 */
#ifndef VIGIL_JOURNAL_JOURNAL_VERIFY_H
#define VIGIL_JOURNAL_JOURNAL_VERIFY_H

#include <stdint.h>

#include "crypto/note.h"
#include "store/store.h"

struct journal_verify_result {
	uint64_t entries;	/* entries read */
	uint64_t purged;	/* entries whose bodies were purged (hash only) */
	uint64_t checkpoints;	/* checkpoints verified */
	uint64_t size;		/* size of the latest checkpoint */
	uint64_t bad_index;	/* first bad entry, UINT64_MAX when none or not known */
	char problem[1024];	/* empty when everything verified */
};

/* 0 when everything verified; -EBADMSG with res->problem set when not; other errors. */
int journal_verify_store(struct store *s, const struct note_verifier *v,
			 struct journal_verify_result *res);
int journal_verify_export(const char *dir, const struct note_verifier *v,
			  struct journal_verify_result *res);

/* Tile path "tile/<L>/<N>[.p/<W>]" (L < 0: "tile/entries/..."), C2SP tlog-tiles. */
int tile_path(struct buf *out, int level, uint64_t n, unsigned width);

#endif

/*
 * The journal: an append-only, tamper-evident record of everything Vigil sees and
 * decides (requirements LOG-01..07), kept as an RFC 6962 transparency log.
 *
 * Each entry is one canonical JSON object (base/json-canon.h: keys sorted, no
 * insignificant white space, UTF-8) with at least "index", "time", "type" and, when a person acted, "actor".  Its
 * leaf hash and the stored hashes of every completed subtree are kept beside it in the
 * store.  Checkpoints are C2SP tlog-checkpoint signed notes (Ed25519); their origin line
 * names the host and the log.  Entry types and their fields are listed in
 * vigil-journal(5).
 *
 * journal_append() writes into the store's open transaction; the caller commits
 * (store_tx_commit) before it reports what it appended, so nothing reaches a person
 * that is not already in the journal.
 */
#ifndef VIGIL_JOURNAL_JOURNAL_H
#define VIGIL_JOURNAL_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "crypto/note.h"
#include "journal/merkle.h"
#include "store/store.h"

#define JOURNAL_ENTRY_MAX 65535	/* entry bundles carry a 16-bit length */

struct journal;

struct journal_config {
	const char *key_path;	/* the Ed25519 signing key (PKCS#8 PEM, 0600) */
	const char *origin;	/* checkpoint origin and key name: "<host>/vigil-journal" */
	bool create_key;	/* create key_path when it does not exist */
	bool read_only;		/* no private key: reading, proofs and verification only;
				 * the verifier key is the one recorded in the store */
};

/* Opens the journal in s; loads the signing key (creating it when asked). */
int journal_open(struct store *s, const struct journal_config *cfg, struct journal **ret,
		 struct vg_error *err);
struct journal *journal_close(struct journal *j);

const struct note_verifier *journal_verifier(const struct journal *j);
uint64_t journal_size(const struct journal *j);

/*
 * Appends an entry of type whose other fields are the members of the JSON object
 * fields_json ("{}" for none).  index, time, type and actor are added by the journal;
 * fields_json must not contain them (a duplicate key is -EINVAL).
 * An entry larger than JOURNAL_ENTRY_MAX is replaced by a summary that names the
 * SHA-256 of the full entry.  Returns 0 with *ret_index (may be NULL) set.
 */
int journal_append(struct journal *j, const char *type, const char *fields_json,
		   uint64_t *ret_index);

/* Signs a checkpoint of the current size and stores it; the note goes to out (may be NULL). */
int journal_checkpoint(struct journal *j, struct buf *out);
/* Issues a checkpoint when the journal grew and the last one is older than interval_ns. */
int journal_checkpoint_if_due(struct journal *j, int64_t interval_ns, bool *ret_issued);

/* Signs text (ending in '\n') with the journal's key, as a signed note, into out. */
int journal_sign_note(struct journal *j, const char *text, size_t n, struct buf *out);

/* The tree head of size n from stored hashes. */
int journal_root(struct journal *j, uint64_t n, merkle_hash out);
int journal_prove_inclusion(struct journal *j, uint64_t index, uint64_t n, merkle_hash *proof,
			    size_t *ret_len);
int journal_prove_consistency(struct journal *j, uint64_t m, uint64_t n, merkle_hash *proof,
			      size_t *ret_len);

struct journal_purge_result {
	uint64_t from, to;	/* bodies of entries [from, to) were purged */
	int64_t cutoff_ns;	/* entries older than this were eligible */
	unsigned retention_days;	/* the retention applied */
};

/*
 * Retention (LOG-04/05): purges the bodies of entries older than retention_days, and
 * only those already covered by a checkpoint.  Their leaf hashes stay, so the tree and
 * every checkpoint still verify.  The retention applied is the largest ever used on
 * this store: lowering the setting never shortens it.  With dry_run nothing changes;
 * otherwise a "journal.purged" entry records the range, the cutoff and the tree head
 * at the end of the range.  Entries purged: res->to - res->from (0: nothing was due).
 */
int journal_purge(struct journal *j, unsigned retention_days, bool dry_run,
		  struct journal_purge_result *res);

/* The actor of entries appended by this process: a person through the CLI. */
void journal_set_actor_from_process(struct journal *j);

/* Parses a checkpoint note text: origin, size and root. */
int checkpoint_parse(const char *text, size_t n, char *origin, size_t origin_size,
		     uint64_t *ret_size, merkle_hash ret_root);

#endif

/*
 * RFC 6962 / RFC 9162 Merkle trees over SHA-256: leaf hash H(0x00 || entry), node hash
 * H(0x01 || left || right), tree heads, inclusion and consistency proofs.
 *
 * Trees are described by their *stored hashes*: the hash of every complete, aligned
 * subtree, addressed as (level, index) = the subtree of 2^level leaves starting at leaf
 * index * 2^level.  A tree of any size is a function of those (the right edge is
 * folded from complete subtrees), which is exactly what tlog tiles publish.
 */
#ifndef VIGIL_JOURNAL_MERKLE_H
#define VIGIL_JOURNAL_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH 32
#define MERKLE_MAX_PROOF 64

typedef uint8_t merkle_hash[MERKLE_HASH];

/* Reads the stored hash (level, index) into out; returns 0 or a negative errno. */
typedef int (*merkle_get_fn)(void *ud, unsigned level, uint64_t index, merkle_hash out);

void merkle_leaf_hash(const void *entry, size_t n, merkle_hash out);
void merkle_node_hash(const merkle_hash left, const merkle_hash right, merkle_hash out);

/* MTH(D[a:b]) from stored hashes; b > a. */
int merkle_subtree_hash(merkle_get_fn get, void *ud, uint64_t a, uint64_t b, merkle_hash out);
/* The tree head of size n (the hash of the empty string when n is 0). */
int merkle_root(merkle_get_fn get, void *ud, uint64_t n, merkle_hash out);

/* Inclusion proof of leaf index in a tree of size n; *ret_len hashes written. */
int merkle_prove_inclusion(merkle_get_fn get, void *ud, uint64_t index, uint64_t n,
			   merkle_hash proof[MERKLE_MAX_PROOF], size_t *ret_len);
/* Consistency proof from size m to size n (0 < m <= n). */
int merkle_prove_consistency(merkle_get_fn get, void *ud, uint64_t m, uint64_t n,
			     merkle_hash proof[MERKLE_MAX_PROOF], size_t *ret_len);

/* RFC 9162 2.1.3.2: returns 0 when the proof links leaf to root, else -EBADMSG. */
int merkle_verify_inclusion(uint64_t index, uint64_t n, const merkle_hash leaf,
			    const merkle_hash *proof, size_t len, const merkle_hash root);
/* RFC 9162 2.1.4.2: returns 0 when the proof links root m to root n, else -EBADMSG. */
int merkle_verify_consistency(uint64_t m, uint64_t n, const merkle_hash root_m,
			      const merkle_hash root_n, const merkle_hash *proof, size_t len);

/*
 * Incremental builder: append leaf hashes in order; it calls put for every stored hash
 * that becomes complete (the leaf itself at level 0, then each parent it completes).
 * Keeps O(log n) state.
 */
struct merkle_builder {
	uint64_t size;
	merkle_hash stack[64];	/* complete subtrees of the right edge, largest first */
	unsigned levels[64];
	unsigned depth;
};
typedef int (*merkle_put_fn)(void *ud, unsigned level, uint64_t index, const merkle_hash h);
void merkle_builder_init(struct merkle_builder *b);
int merkle_builder_add(struct merkle_builder *b, const merkle_hash leaf, merkle_put_fn put,
		       void *ud);
/* The tree head of everything added so far. */
void merkle_builder_root(const struct merkle_builder *b, merkle_hash out);

#endif

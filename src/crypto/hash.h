/*
 * Content hashing through OpenSSL EVP (SHA-NI and other CPU extensions are used when the
 * CPU has them).  One struct hasher computes any set of SHA-256, SHA-512, SHA3-256 and
 * BLAKE2b-512 in a single pass over the bytes, and can take a snapshot of the SHA-256
 * of the bytes seen so far (used to check that a growing file kept its old prefix).
 *
 * A hasher is not thread-safe; each worker owns one.  hash_global_init() fetches the
 * algorithms once and must be called before any hasher_new().
 */
#ifndef VIGIL_CRYPTO_HASH_H
#define VIGIL_CRYPTO_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "base/object.h"

struct hasher;

/* Fetches the digest implementations. Returns 0 or -ENOSYS if one is missing. */
int hash_global_init(void);

int hasher_new(struct hasher **ret);
struct hasher *hasher_free(struct hasher *h);
/* Starts hashing for the hash attributes in attrs (ATTR_MASK_HASHES bits). */
int hasher_start(struct hasher *h, uint32_t attrs);
int hasher_update(struct hasher *h, const void *p, size_t n);
/* SHA-256 of what was fed so far, without disturbing the running digests. */
int hasher_peek_sha256(struct hasher *h, uint8_t out[SHA256_LEN]);
/* Writes the digests into the matching fields of s and sets their bits in s->attrs. */
int hasher_finish(struct hasher *h, struct object_state *s);

/* One-shot SHA-256. */
int sha256_buf(const void *p, size_t n, uint8_t out[SHA256_LEN]);

#endif

/*
 * The Merkle tree arithmetic of RFC 6962 and RFC 9162, written once and shared by the
 * journal, its verifier and the export.  Proof generation follows the recursive
 * definitions (PATH and SUBPROOF) with subtree hashes taken from stored hashes;
 * verification follows the iterative algorithms of RFC 9162 sections 2.1.3.2 and
 * 2.1.4.2.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <string.h>

#include "journal/merkle.h"
#include "base/banned.h"

static void sha256_parts(const void *a, size_t an, const void *b, size_t bn, const void *c,
			 size_t cn, merkle_hash out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned len = 0;

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, a, an);
	if (bn)
		EVP_DigestUpdate(ctx, b, bn);
	if (cn)
		EVP_DigestUpdate(ctx, c, cn);
	EVP_DigestFinal_ex(ctx, out, &len);
	EVP_MD_CTX_free(ctx);
}

void merkle_leaf_hash(const void *entry, size_t n, merkle_hash out)
{
	static const uint8_t zero = 0x00;

	sha256_parts(&zero, 1, entry, n, NULL, 0, out);
}

void merkle_node_hash(const merkle_hash left, const merkle_hash right, merkle_hash out)
{
	static const uint8_t one = 0x01;

	sha256_parts(&one, 1, left, MERKLE_HASH, right, MERKLE_HASH, out);
}

/* Largest power of two strictly less than n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
	uint64_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

static unsigned log2_exact(uint64_t n)
{
	unsigned l = 0;

	while ((1ull << l) < n)
		l++;
	return l;
}

int merkle_subtree_hash(merkle_get_fn get, void *ud, uint64_t a, uint64_t b, merkle_hash out)
{
	uint64_t n = b - a, k;
	merkle_hash l, r;
	int rc;

	if (b <= a)
		return -EINVAL;
	if ((n & (n - 1)) == 0 && a % n == 0)
		return get(ud, log2_exact(n), a / n, out);
	k = split_point(n);
	rc = merkle_subtree_hash(get, ud, a, a + k, l);
	if (rc == 0)
		rc = merkle_subtree_hash(get, ud, a + k, b, r);
	if (rc == 0)
		merkle_node_hash(l, r, out);
	return rc;
}

int merkle_root(merkle_get_fn get, void *ud, uint64_t n, merkle_hash out)
{
	if (n == 0) {
		sha256_parts("", 0, NULL, 0, NULL, 0, out);
		return 0;
	}
	return merkle_subtree_hash(get, ud, 0, n, out);
}

static int path(merkle_get_fn get, void *ud, uint64_t m, uint64_t a, uint64_t b,
		merkle_hash *proof, size_t *len)
{
	uint64_t k;
	int rc;

	if (b - a == 1)
		return 0;
	k = split_point(b - a);
	if (m - a < k) {
		rc = path(get, ud, m, a, a + k, proof, len);
		if (rc == 0 && *len >= MERKLE_MAX_PROOF)
			rc = -E2BIG;
		if (rc == 0)
			rc = merkle_subtree_hash(get, ud, a + k, b, proof[(*len)++]);
	} else {
		rc = path(get, ud, m, a + k, b, proof, len);
		if (rc == 0 && *len >= MERKLE_MAX_PROOF)
			rc = -E2BIG;
		if (rc == 0)
			rc = merkle_subtree_hash(get, ud, a, a + k, proof[(*len)++]);
	}
	return rc;
}

int merkle_prove_inclusion(merkle_get_fn get, void *ud, uint64_t index, uint64_t n,
			   merkle_hash proof[MERKLE_MAX_PROOF], size_t *ret_len)
{
	size_t len = 0;
	int rc;

	if (index >= n)
		return -EINVAL;
	rc = path(get, ud, index, 0, n, proof, &len);
	if (rc == 0)
		*ret_len = len;
	return rc;
}

static int subproof(merkle_get_fn get, void *ud, uint64_t m, uint64_t a, uint64_t b, bool whole,
		    merkle_hash *proof, size_t *len)
{
	uint64_t n = b - a, k;
	int rc;

	if (m == n) {
		if (whole)
			return 0;
		if (*len >= MERKLE_MAX_PROOF)
			return -E2BIG;
		return merkle_subtree_hash(get, ud, a, b, proof[(*len)++]);
	}
	k = split_point(n);
	if (m <= k) {
		rc = subproof(get, ud, m, a, a + k, whole, proof, len);
		if (rc == 0 && *len >= MERKLE_MAX_PROOF)
			rc = -E2BIG;
		if (rc == 0)
			rc = merkle_subtree_hash(get, ud, a + k, b, proof[(*len)++]);
	} else {
		rc = subproof(get, ud, m - k, a + k, b, false, proof, len);
		if (rc == 0 && *len >= MERKLE_MAX_PROOF)
			rc = -E2BIG;
		if (rc == 0)
			rc = merkle_subtree_hash(get, ud, a, a + k, proof[(*len)++]);
	}
	return rc;
}

int merkle_prove_consistency(merkle_get_fn get, void *ud, uint64_t m, uint64_t n,
			     merkle_hash proof[MERKLE_MAX_PROOF], size_t *ret_len)
{
	size_t len = 0;
	int rc;

	if (m == 0 || m > n)
		return -EINVAL;
	rc = subproof(get, ud, m, 0, n, true, proof, &len);
	if (rc == 0)
		*ret_len = len;
	return rc;
}

int merkle_verify_inclusion(uint64_t index, uint64_t n, const merkle_hash leaf,
			    const merkle_hash *proof, size_t len, const merkle_hash root)
{
	uint64_t fn = index, sn = n - 1;
	merkle_hash r;

	if (index >= n)
		return -EBADMSG;
	memcpy(r, leaf, MERKLE_HASH);
	for (size_t i = 0; i < len; i++) {
		if (sn == 0)
			return -EBADMSG;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(proof[i], r, r);
			if (!(fn & 1))
				while (fn != 0 && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			merkle_node_hash(r, proof[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(r, root, MERKLE_HASH) == 0 ? 0 : -EBADMSG;
}

int merkle_verify_consistency(uint64_t m, uint64_t n, const merkle_hash root_m,
			      const merkle_hash root_n, const merkle_hash *proof, size_t len)
{
	uint64_t fn, sn;
	merkle_hash fr, sr;
	size_t i = 0;

	if (m == 0 || m > n)
		return -EBADMSG;
	if (m == n)
		return len == 0 && memcmp(root_m, root_n, MERKLE_HASH) == 0 ? 0 : -EBADMSG;
	if (len == 0)
		return -EBADMSG;
	fn = m - 1;
	sn = n - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	if ((m & (m - 1)) == 0) {
		/* a power of two: the old root is the implicit first element */
		memcpy(fr, root_m, MERKLE_HASH);
	} else {
		memcpy(fr, proof[0], MERKLE_HASH);
		i = 1;
	}
	memcpy(sr, fr, MERKLE_HASH);
	for (; i < len; i++) {
		if (sn == 0)
			return -EBADMSG;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(proof[i], fr, fr);
			merkle_node_hash(proof[i], sr, sr);
			if (!(fn & 1))
				while (fn != 0 && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			merkle_node_hash(sr, proof[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(fr, root_m, MERKLE_HASH) == 0 &&
			       memcmp(sr, root_n, MERKLE_HASH) == 0
		       ? 0
		       : -EBADMSG;
}

void merkle_builder_init(struct merkle_builder *b)
{
	memset(b, 0, sizeof(*b));
}

int merkle_builder_add(struct merkle_builder *b, const merkle_hash leaf, merkle_put_fn put,
		       void *ud)
{
	merkle_hash h;
	unsigned level = 0;
	uint64_t index = b->size;
	int rc;

	memcpy(h, leaf, MERKLE_HASH);
	if (put && (rc = put(ud, 0, index, h)) < 0)
		return rc;
	/* merge with equal-height subtrees on the right edge */
	while (b->depth > 0 && b->levels[b->depth - 1] == level) {
		merkle_node_hash(b->stack[b->depth - 1], h, h);
		b->depth--;
		level++;
		index >>= 1;
		if (put && (rc = put(ud, level, index, h)) < 0)
			return rc;
	}
	memcpy(b->stack[b->depth], h, MERKLE_HASH);
	b->levels[b->depth++] = level;
	b->size++;
	return 0;
}

void merkle_builder_root(const struct merkle_builder *b, merkle_hash out)
{
	merkle_hash h;

	if (b->depth == 0) {
		sha256_parts("", 0, NULL, 0, NULL, 0, out);
		return;
	}
	memcpy(h, b->stack[b->depth - 1], MERKLE_HASH);
	for (unsigned i = b->depth - 1; i > 0; i--)
		merkle_node_hash(b->stack[i - 1], h, h);
	memcpy(out, h, MERKLE_HASH);
}

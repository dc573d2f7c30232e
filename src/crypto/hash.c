/*
 * Digests for file contents.  Algorithms are fetched once (EVP_MD_fetch) so starting a
 * digest per file does not repeat the provider lookup, which matters at a million files.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "base/banned.h"

enum { H_SHA256, H_SHA512, H_SHA3_256, H_BLAKE2B512, H__COUNT };

static const struct {
	const char *name;
	enum attr attr;
} algs[H__COUNT] = {
	[H_SHA256] = { "SHA256", ATTR_SHA256 },
	[H_SHA512] = { "SHA512", ATTR_SHA512 },
	[H_SHA3_256] = { "SHA3-256", ATTR_SHA3_256 },
	[H_BLAKE2B512] = { "BLAKE2B-512", ATTR_BLAKE2B512 },
};

static EVP_MD *mds[H__COUNT];

struct hasher {
	EVP_MD_CTX *ctx[H__COUNT];
	EVP_MD_CTX *peek;
	uint32_t active;
};

int hash_global_init(void)
{
	for (int i = 0; i < H__COUNT; i++) {
		if (mds[i])
			continue;
		mds[i] = EVP_MD_fetch(NULL, algs[i].name, NULL);
		if (!mds[i])
			return -ENOSYS;
	}
	return 0;
}

int hasher_new(struct hasher **ret)
{
	struct hasher *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	for (int i = 0; i < H__COUNT; i++) {
		h->ctx[i] = EVP_MD_CTX_new();
		if (!h->ctx[i]) {
			hasher_free(h);
			return -ENOMEM;
		}
	}
	h->peek = EVP_MD_CTX_new();
	if (!h->peek) {
		hasher_free(h);
		return -ENOMEM;
	}
	*ret = h;
	return 0;
}

struct hasher *hasher_free(struct hasher *h)
{
	if (!h)
		return NULL;
	for (int i = 0; i < H__COUNT; i++)
		EVP_MD_CTX_free(h->ctx[i]);
	EVP_MD_CTX_free(h->peek);
	free(h);
	return NULL;
}

int hasher_start(struct hasher *h, uint32_t attrs)
{
	h->active = 0;
	for (int i = 0; i < H__COUNT; i++) {
		if (!(attrs & ATTR_BIT(algs[i].attr)))
			continue;
		if (!mds[i] || !EVP_DigestInit_ex2(h->ctx[i], mds[i], NULL))
			return -EIO;
		h->active |= 1u << i;
	}
	return 0;
}

int hasher_update(struct hasher *h, const void *p, size_t n)
{
	for (int i = 0; i < H__COUNT; i++)
		if ((h->active & (1u << i)) && !EVP_DigestUpdate(h->ctx[i], p, n))
			return -EIO;
	return 0;
}

int hasher_peek_sha256(struct hasher *h, uint8_t out[SHA256_LEN])
{
	unsigned len = 0;

	if (!(h->active & (1u << H_SHA256)))
		return -EINVAL;
	if (!EVP_MD_CTX_copy_ex(h->peek, h->ctx[H_SHA256]) ||
	    !EVP_DigestFinal_ex(h->peek, out, &len) || len != SHA256_LEN)
		return -EIO;
	return 0;
}

int hasher_finish(struct hasher *h, struct object_state *s)
{
	uint8_t *outs[H__COUNT] = { s->sha256, s->sha512, s->sha3_256, s->blake2b512 };

	for (int i = 0; i < H__COUNT; i++) {
		unsigned len = 0;

		if (!(h->active & (1u << i)))
			continue;
		if (!EVP_DigestFinal_ex(h->ctx[i], outs[i], &len))
			return -EIO;
		s->attrs |= ATTR_BIT(algs[i].attr);
	}
	h->active = 0;
	return 0;
}

int sha256_buf(const void *p, size_t n, uint8_t out[SHA256_LEN])
{
	unsigned len = 0;

	if (!EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) || len != SHA256_LEN)
		return -EIO;
	return 0;
}

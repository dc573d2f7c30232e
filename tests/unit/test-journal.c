/* Unit tests for journal/ and crypto/note: Merkle known answers, proofs, signed notes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/base64.h"
#include "base/fileio.h"
#include "crypto/hash.h"
#include "crypto/note.h"
#include "journal/merkle.h"

/* The RFC 6962 test leaves used across Certificate Transparency implementations. */
static const char *const leaves_hex[] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
	"606162636465666768696a6b6c6d6e6f",
};
static const char *const roots_hex[] = {
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

/* An in-memory store of complete-subtree hashes. */
#define MAXN 300
static merkle_hash stored[12][MAXN];

static int put(void *ud, unsigned level, uint64_t index, const merkle_hash h)
{
	assert_true(level < 12 && index < MAXN);
	memcpy(stored[level][index], h, MERKLE_HASH);
	return 0;
}

static int get(void *ud, unsigned level, uint64_t index, merkle_hash out)
{
	if (level >= 12 || index >= MAXN)
		return -ENOENT;
	memcpy(out, stored[level][index], MERKLE_HASH);
	return 0;
}

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = strlen(s) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;

		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return n;
}

static void hex_is(const uint8_t *h, const char *want)
{
	char hex[65];

	hex_encode(h, 32, hex);
	assert_string_equal(hex, want);
}

static void build(struct merkle_builder *b, uint64_t n)
{
	merkle_builder_init(b);
	for (uint64_t i = 0; i < n; i++) {
		uint8_t data[64];
		merkle_hash leaf;
		size_t len;

		if (i < ARRAY_SIZE(leaves_hex)) {
			len = unhex(leaves_hex[i], data);
		} else {
			len = (size_t)snprintf((char *)data, sizeof(data), "entry %llu",
					       (unsigned long long)i);
		}
		merkle_leaf_hash(data, len, leaf);
		assert_int_equal(merkle_builder_add(b, leaf, put, NULL), 0);
	}
}

static void test_known_roots(void **state)
{
	struct merkle_builder b;
	merkle_hash root;

	merkle_root(get, NULL, 0, root);
	hex_is(root, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	for (uint64_t n = 1; n <= ARRAY_SIZE(roots_hex); n++) {
		build(&b, n);
		merkle_builder_root(&b, root);
		hex_is(root, roots_hex[n - 1]);
		assert_int_equal(merkle_root(get, NULL, n, root), 0);
		hex_is(root, roots_hex[n - 1]);
	}
}

static void test_proofs_all_sizes(void **state)
{
	struct merkle_builder b;
	merkle_hash roots[MAXN + 1];

	build(&b, 70);
	for (uint64_t n = 1; n <= 70; n++)
		assert_int_equal(merkle_root(get, NULL, n, roots[n]), 0);
	for (uint64_t n = 1; n <= 70; n++) {
		for (uint64_t i = 0; i < n; i++) {
			merkle_hash proof[MERKLE_MAX_PROOF], leaf;
			size_t len;

			get(NULL, 0, i, leaf);
			assert_int_equal(merkle_prove_inclusion(get, NULL, i, n, proof, &len), 0);
			assert_int_equal(merkle_verify_inclusion(i, n, leaf, proof, len, roots[n]), 0);
			/* a wrong leaf, index or root fails */
			leaf[0] ^= 1;
			assert_int_equal(merkle_verify_inclusion(i, n, leaf, proof, len, roots[n]),
					 -EBADMSG);
			leaf[0] ^= 1;
			if (n > 1)
				assert_int_equal(merkle_verify_inclusion((i + 1) % n, n, leaf, proof,
									 len, roots[n]),
						 -EBADMSG);
		}
		for (uint64_t m = 1; m <= n; m++) {
			merkle_hash proof[MERKLE_MAX_PROOF];
			size_t len;

			assert_int_equal(merkle_prove_consistency(get, NULL, m, n, proof, &len), 0);
			assert_int_equal(
				merkle_verify_consistency(m, n, roots[m], roots[n], proof, len), 0);
			if (m < n) {
				merkle_hash bad;

				memcpy(bad, roots[m], MERKLE_HASH);
				bad[5] ^= 0x40;
				assert_int_equal(
					merkle_verify_consistency(m, n, bad, roots[n], proof, len),
					-EBADMSG);
				if (len > 0) {
					proof[len - 1][0] ^= 1;
					assert_int_equal(merkle_verify_consistency(m, n, roots[m], roots[n],
										   proof, len),
							 -EBADMSG);
				}
			}
		}
	}
}

static void test_base64(void **state)
{
	struct buf b;
	uint8_t out[16];

	buf_init(&b, 0);
	assert_int_equal(base64_encode(&b, "foobar", 6), 0);
	assert_string_equal(buf_str(&b), "Zm9vYmFy");
	buf_reset(&b);
	assert_int_equal(base64_encode(&b, "fo", 2), 0);
	assert_string_equal(buf_str(&b), "Zm8=");
	assert_int_equal(base64_decode("Zm8=", 4, out, sizeof(out)), 2);
	assert_memory_equal(out, "fo", 2);
	assert_int_equal(base64_decode("Zm9=", 4, out, sizeof(out)), -EINVAL); /* stray bits */
	assert_int_equal(base64_decode("Zm8", 3, out, sizeof(out)), -EINVAL);
	assert_int_equal(base64_decode("Zm=8", 4, out, sizeof(out)), -EINVAL);
	assert_int_equal(base64_decode("Zm9vYmFy", 8, out, 5), -E2BIG);
	buf_release(&b);
}

static const char *data_path(const char *name)
{
	static char p[1024];
	const char *d = getenv("TEST_DATA");

	snprintf(p, sizeof(p), "%s/%s", d ? d : "tests/data", name);
	return p;
}

static void test_note_known_answer(void **state)
{
	struct signer *s = NULL;
	struct vg_error err;
	struct buf k, note;
	struct note_verifier v;
	char *want = NULL, *want_key = NULL;
	size_t wl, kl;
	char *tmp = strdup("/tmp/vigil-key-XXXXXX");
	int fd = mkstemp(tmp);
	char *pem = NULL;
	size_t pl;

	/* the key file must be 0600: copy the test key to a private file */
	assert_true(fd >= 0);
	assert_int_equal(file_read_all(data_path("note-test.key"), NULL, 4096, &pem, &pl), 0);
	assert_int_equal(write(fd, pem, pl), (ssize_t)pl);
	close(fd);
	free(pem);
	assert_int_equal(signer_load(tmp, "example.com/vigil-test", &s, &err), 0);
	unlink(tmp);
	free(tmp);

	buf_init(&k, 0);
	assert_int_equal(note_verifier_format(signer_verifier(s), &k), 0);
	assert_int_equal(file_read_all(data_path("note-test.vkey"), NULL, 4096, &want_key, &kl), 0);
	while (kl && want_key[kl - 1] == '\n')
		want_key[--kl] = '\0';
	assert_string_equal(buf_str(&k), want_key);

	/* Ed25519 is deterministic: the same text gives the same signed note */
	buf_init(&note, 0);
	assert_int_equal(note_sign(s, "example.com/vigil-test\n3\nrW1F8/0J6LS5ZxR2hfq7bD4/x10LmBNnz3T4HcFnXkk=\n",
				   strlen("example.com/vigil-test\n3\nrW1F8/0J6LS5ZxR2hfq7bD4/x10LmBNnz3T4HcFnXkk=\n"),
				   &note),
			 0);
	assert_int_equal(file_read_all(data_path("note-test.checkpoint"), NULL, 4096, &want, &wl), 0);
	assert_string_equal(buf_str(&note), want);

	assert_int_equal(note_verifier_parse(want_key, kl, &v), 0);
	assert_true(note_open(note.data, note.len, &v) > 0);
	/* one changed byte of text, or of the signature, fails */
	note.data[25] ^= 1;
	assert_int_equal(note_open(note.data, note.len, &v), -EBADMSG);
	note.data[25] ^= 1;
	note.data[note.len - 5] = note.data[note.len - 5] == 'A' ? 'B' : 'A';
	assert_int_equal(note_open(note.data, note.len, &v), -EBADMSG);
	/* a key with another name is not a signer of this note */
	snprintf(v.name, sizeof(v.name), "other.example/key");
	assert_int_equal(note_open(want, wl, &v), -ENOKEY);
	/* malformed verifier keys are refused */
	assert_int_equal(note_verifier_parse("a+b+c", 5, &v), -EINVAL);
	assert_int_equal(note_verifier_parse("name+00000000+AQ==", 18, &v), -EINVAL);
	free(want);
	free(want_key);
	buf_release(&k);
	buf_release(&note);
	signer_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_roots),
		cmocka_unit_test(test_proofs_all_sizes),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_note_known_answer),
	};

	hash_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Signed notes: the format checkpoints and export manifests are signed in.  Key IDs,
 * verifier keys and signature lines follow c2sp.org/signed-note exactly, so any
 * conforming verifier checks what Vigil signs.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base64.h"
#include "crypto/hash.h"
#include "crypto/note.h"
#include "base/banned.h"

#define ALG_ED25519 0x01
static const char em_dash[] = "\xe2\x80\x94";

struct signer {
	EVP_PKEY *key;
	struct note_verifier v;
};

bool note_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= NOTE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= 0x20 || c == 0x7f || c == '+')
			return false;
	}
	return true;
}

uint32_t note_key_id(const char *name, const uint8_t pub[ED25519_PUB_LEN])
{
	size_t nl = strlen(name);
	uint8_t *m = malloc(nl + 2 + ED25519_PUB_LEN), h[SHA256_LEN];
	uint32_t id = 0;

	if (!m)
		return 0;
	memcpy(m, name, nl);
	m[nl] = '\n';
	m[nl + 1] = ALG_ED25519;
	memcpy(m + nl + 2, pub, ED25519_PUB_LEN);
	if (sha256_buf(m, nl + 2 + ED25519_PUB_LEN, h) == 0)
		id = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	free(m);
	return id;
}

int signer_create_file(const char *path, struct vg_error *err)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	FILE *f = NULL;
	int fd, r = 0;

	if (!key)
		return vg_error_set(err, -EIO, path, 0, 0, "cannot generate an Ed25519 key");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = vg_error_set(err, neg_errno(), path, 0, 0, "cannot create the signing key: %s",
				 strerror(errno));
		goto out;
	}
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		r = -ENOMEM;
		goto out;
	}
	if (!PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0)
		r = vg_error_set(err, -EIO, path, 0, 0, "cannot write the signing key");
	if (fclose(f) != 0 && r == 0)
		r = vg_error_set(err, -EIO, path, 0, 0, "cannot write the signing key");
	if (r < 0)
		unlink(path);
out:
	EVP_PKEY_free(key);
	return r;
}

int signer_load(const char *path, const char *name, struct signer **ret, struct vg_error *err)
{
	struct signer *s;
	struct stat st;
	size_t len = ED25519_PUB_LEN;
	FILE *f;
	int fd;

	if (!note_name_valid(name))
		return vg_error_set(err, -EINVAL, path, 0, 0,
				    "'%s' cannot name a key (no spaces or '+')", name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return vg_error_set(err, neg_errno(), path, 0, 0, "cannot open the signing key: %s",
				    strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		close(fd);
		return vg_error_set(err, -EPERM, path, 0, 0,
				    "the signing key must be a regular file readable by its owner only");
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		fclose(f);
		return -ENOMEM;
	}
	s->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!s->key || EVP_PKEY_get_base_id(s->key) != EVP_PKEY_ED25519 ||
	    !EVP_PKEY_get_raw_public_key(s->key, s->v.pub, &len) || len != ED25519_PUB_LEN) {
		signer_free(s);
		return vg_error_set(err, -EBADMSG, path, 0, 0, "not an Ed25519 private key");
	}
	snprintf(s->v.name, sizeof(s->v.name), "%s", name);
	s->v.key_id = note_key_id(name, s->v.pub);
	*ret = s;
	return 0;
}

struct signer *signer_free(struct signer *s)
{
	if (!s)
		return NULL;
	EVP_PKEY_free(s->key);
	free(s);
	return NULL;
}

const struct note_verifier *signer_verifier(const struct signer *s)
{
	return &s->v;
}

int note_verifier_format(const struct note_verifier *v, struct buf *out)
{
	uint8_t k[1 + ED25519_PUB_LEN];
	int r;

	k[0] = ALG_ED25519;
	memcpy(k + 1, v->pub, ED25519_PUB_LEN);
	r = buf_printf(out, "%s+%08x+", v->name, v->key_id);
	return r < 0 ? r : base64_encode(out, k, sizeof(k));
}

int note_verifier_parse(const char *s, size_t n, struct note_verifier *ret)
{
	const char *p1 = memchr(s, '+', n), *p2;
	uint8_t k[1 + ED25519_PUB_LEN + 4];
	char hex[9];
	struct note_verifier v = { 0 };
	int kl;

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	if (!p1 || (size_t)(p1 - s) >= NOTE_NAME_MAX)
		return -EINVAL;
	p2 = memchr(p1 + 1, '+', n - (size_t)(p1 + 1 - s));
	if (!p2 || p2 - p1 != 9)
		return -EINVAL;
	memcpy(v.name, s, (size_t)(p1 - s));
	v.name[p1 - s] = '\0';
	memcpy(hex, p1 + 1, 8);
	hex[8] = '\0';
	for (int i = 0; i < 8; i++)
		if (!strchr("0123456789abcdef", hex[i]))
			return -EINVAL;
	v.key_id = (uint32_t)strtoul(hex, NULL, 16);
	kl = base64_decode(p2 + 1, n - (size_t)(p2 + 1 - s), k, sizeof(k));
	if (kl != 1 + ED25519_PUB_LEN || k[0] != ALG_ED25519 || !note_name_valid(v.name))
		return -EINVAL;
	memcpy(v.pub, k + 1, ED25519_PUB_LEN);
	if (note_key_id(v.name, v.pub) != v.key_id)
		return -EINVAL;
	*ret = v;
	return 0;
}

int note_sign(const struct signer *s, const char *text, size_t n, struct buf *out)
{
	EVP_MD_CTX *ctx;
	uint8_t sig[4 + ED25519_SIG_LEN];
	size_t sl = ED25519_SIG_LEN;
	int r;

	if (n == 0 || text[n - 1] != '\n')
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x20 && text[i] != '\n')
			return -EINVAL;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (!EVP_DigestSignInit(ctx, NULL, NULL, NULL, s->key) ||
	    !EVP_DigestSign(ctx, sig + 4, &sl, (const uint8_t *)text, n) || sl != ED25519_SIG_LEN) {
		EVP_MD_CTX_free(ctx);
		return -EIO;
	}
	EVP_MD_CTX_free(ctx);
	sig[0] = (uint8_t)(s->v.key_id >> 24);
	sig[1] = (uint8_t)(s->v.key_id >> 16);
	sig[2] = (uint8_t)(s->v.key_id >> 8);
	sig[3] = (uint8_t)s->v.key_id;
	r = buf_append(out, text, n);
	if (r == 0)
		r = buf_printf(out, "\n%s %s ", em_dash, s->v.name);
	if (r == 0)
		r = base64_encode(out, sig, sizeof(sig));
	if (r == 0)
		r = buf_putc(out, '\n');
	return r;
}

static bool ed25519_verify(const uint8_t pub[ED25519_PUB_LEN], const void *msg, size_t n,
			   const uint8_t sig[ED25519_SIG_LEN])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, ED25519_PUB_LEN);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = false;

	if (k && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) == 1)
		ok = EVP_DigestVerify(ctx, sig, ED25519_SIG_LEN, msg, n) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	return ok;
}

int note_open(const char *note, size_t n, const struct note_verifier *v)
{
	size_t split = 0, nl = strlen(v->name);
	bool found = false;

	/* the text ends at the last blank line */
	for (size_t i = 1; i < n; i++)
		if (note[i] == '\n' && note[i - 1] == '\n')
			split = i;
	if (split == 0 || n == 0 || note[n - 1] != '\n')
		return -EBADMSG;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)note[i] < 0x20 && note[i] != '\n')
			return -EBADMSG;
	for (size_t off = split + 1; off < n;) {
		const char *line = note + off, *end = memchr(line, '\n', n - off);
		size_t ll = (size_t)(end - line);
		uint8_t sig[4 + ED25519_SIG_LEN + 8];
		const char *b64;
		int sl;

		if (!end || ll < 4 || memcmp(line, em_dash, 3) != 0 || line[3] != ' ')
			return -EBADMSG;
		off += ll + 1;
		if (ll < 4 + nl + 1 || memcmp(line + 4, v->name, nl) != 0 || line[4 + nl] != ' ')
			continue;
		b64 = line + 4 + nl + 1;
		sl = base64_decode(b64, (size_t)(end - b64), sig, sizeof(sig));
		if (sl < 4)
			return -EBADMSG;
		if (((uint32_t)sig[0] << 24 | (uint32_t)sig[1] << 16 | (uint32_t)sig[2] << 8 |
		     sig[3]) != v->key_id)
			continue;
		if (sl != 4 + ED25519_SIG_LEN || !ed25519_verify(v->pub, note, split, sig + 4))
			return -EBADMSG;
		found = true;
	}
	return found ? (int)split : -ENOKEY;
}

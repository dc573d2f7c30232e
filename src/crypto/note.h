/*
 * Ed25519 keys and C2SP signed notes (c2sp.org/signed-note).
 *
 * A struct signer holds a private key and the key name it signs under.  Its verifier key
 * is the one-line form "<name>+<8 hex digits key ID>+<base64(0x01 || public key)>" that
 * standard note verifiers (golang.org/x/mod/sumdb/note among them) accept.  The private
 * key lives in a PKCS#8 PEM file created 0600; it is never printed, exported or logged.
 */
#ifndef VIGIL_CRYPTO_NOTE_H
#define VIGIL_CRYPTO_NOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"

#define ED25519_PUB_LEN 32
#define ED25519_SIG_LEN 64
#define NOTE_NAME_MAX 256

struct signer;

struct note_verifier {
	char name[NOTE_NAME_MAX];
	uint32_t key_id;
	uint8_t pub[ED25519_PUB_LEN];
};

/* Creates a new key at path (which must not exist), mode 0600. */
int signer_create_file(const char *path, struct vg_error *err);
/* Loads the key at path to sign as name (no spaces, no '+'). */
int signer_load(const char *path, const char *name, struct signer **ret, struct vg_error *err);
struct signer *signer_free(struct signer *s);
const struct note_verifier *signer_verifier(const struct signer *s);

/* True when name is a valid key name: non-empty, printable, no spaces, no '+'. */
bool note_name_valid(const char *name);
uint32_t note_key_id(const char *name, const uint8_t pub[ED25519_PUB_LEN]);
/* Appends the verifier key line (without newline). */
int note_verifier_format(const struct note_verifier *v, struct buf *out);
/* Parses a verifier key line. Returns 0 or -EINVAL. */
int note_verifier_parse(const char *s, size_t n, struct note_verifier *ret);

/* Appends text (which must end in '\n'), a blank line and s's signature line. */
int note_sign(const struct signer *s, const char *text, size_t n, struct buf *out);
/*
 * Verifies a signed note against v: returns the length of the note text (which starts at
 * note[0]) when a signature by v verifies, -ENOKEY when v did not sign it, -EBADMSG when
 * v's signature is wrong or the note is malformed.
 */
int note_open(const char *note, size_t n, const struct note_verifier *v);

#endif

/* libFuzzer harness: what export verification parses from untrusted files — signed
 * notes, checkpoint bodies, verifier keys and canonical JSON. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/json-canon.h"
#include "crypto/note.h"
#include "journal/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char vkey[] = "example.com/vigil-test+230361de+AVnEx9+0fOTp6V2BYSapY8ZfqMG6F0ZYJK3kexuEZG2Y";
	struct note_verifier v, w;
	char origin[NOTE_NAME_MAX], top[64];
	uint64_t n;
	merkle_hash root;
	struct buf b;

	if (note_verifier_parse(vkey, strlen(vkey), &v) < 0)
		__builtin_trap();
	(void)note_open((const char *)data, size, &v);
	(void)note_verifier_parse((const char *)data, size, &w);
	(void)checkpoint_parse((const char *)data, size, origin, sizeof(origin), &n, root);
	(void)json_top_string((const char *)data, size, "type", top, sizeof(top));
	buf_init(&b, 1u << 20);
	(void)json_canonicalize((const char *)data, size, &b);
	buf_release(&b);
	return 0;
}

/* libFuzzer harness: the escape rule must round-trip every byte string, and the decoder
 * must accept exactly what the encoder can produce. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/escape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf e, d;

	buf_init(&e, 0);
	buf_init(&d, 0);
	if (escape_bytes(&e, data, size) == 0) {
		if (escape_decode(&d, buf_str(&e), e.len) != 0 || d.len != size ||
		    (size && memcmp(d.data, data, size) != 0))
			abort();
		/* apart from its backslashes the escaped form must be plain */
		size_t pn = 0;
		char *plain = malloc(e.len + 1);

		if (!plain)
			abort();
		for (size_t i = 0; i < e.len; i++)
			if (e.data[i] != '\\')
				plain[pn++] = e.data[i];
		if (!escape_is_plain(plain, pn))
			abort();
		free(plain);
	}
	buf_reset(&d);
	/* decoding arbitrary text must never crash */
	(void)escape_decode(&d, (const char *)data, size);
	buf_release(&e);
	buf_release(&d);
	return 0;
}

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
		if (!escape_is_plain(buf_str(&e), e.len) && memchr(buf_str(&e), '\\', e.len) == NULL)
			abort();
	}
	buf_reset(&d);
	/* decoding arbitrary text must never crash */
	(void)escape_decode(&d, (const char *)data, size);
	buf_release(&e);
	buf_release(&d);
	return 0;
}

/* UUIDv7 generation for events, runs and records. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>

#include "base/timeutil.h"
#include "base/uuid.h"
#include "base/banned.h"

int uuid7_new(char out[UUID_STR_LEN])
{
	uint8_t b[16];
	uint64_t ms = (uint64_t)(clock_now_ns() / 1000000);
	ssize_t n = getrandom(b + 6, 10, 0);

	if (n != 10)
		return n < 0 ? -errno : -EIO;
	for (int i = 0; i < 6; i++)
		b[i] = (uint8_t)(ms >> (40 - 8 * i));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x70);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, UUID_STR_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
	return 0;
}

/*
 * UUIDv7 (RFC 9562): 48 bits of Unix milliseconds from clock_now_ns(), then random bits.
 */
#ifndef VIGIL_BASE_UUID_H
#define VIGIL_BASE_UUID_H

#define UUID_STR_LEN 37	/* 36 characters and the NUL */

/* Writes a new UUIDv7 in lowercase text form.  Returns 0 or a negative errno. */
int uuid7_new(char out[UUID_STR_LEN]);

#endif

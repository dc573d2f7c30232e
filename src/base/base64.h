/*
 * Standard base64 (RFC 4648 section 4, with padding), as signed notes and checkpoints
 * use it.
 */
#ifndef VIGIL_BASE_BASE64_H
#define VIGIL_BASE_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Appends the encoding of p[0..n) to out. */
int base64_encode(struct buf *out, const void *p, size_t n);
/*
 * Decodes s[0..n) into out (capacity cap).  Strict: padding required, no white space,
 * no stray bits.  Returns the decoded length or -EINVAL / -E2BIG.
 */
int base64_decode(const char *s, size_t n, uint8_t *out, size_t cap);

#endif

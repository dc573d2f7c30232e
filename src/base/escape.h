/*
 * The one rule for showing arbitrary bytes (path names, link targets, xattr values) as
 * text, in human output and inside JSON strings alike.  It round-trips exactly.
 *
 *   - printable ASCII (0x20..0x7e) except '\' stands for itself;
 *   - '\' becomes "\\";
 *   - a well-formed UTF-8 sequence for a code point >= U+00A0 stands for itself;
 *   - every other byte (controls, DEL, C1 controls, bytes of malformed UTF-8) becomes
 *     "\xHH" with two lowercase hex digits.
 *
 * So a newline in a file name shows as "\x0a" and the byte 0xff as "\xff".  The result
 * is always valid UTF-8 without control characters.  escape_decode() inverts it.
 */
#ifndef VIGIL_BASE_ESCAPE_H
#define VIGIL_BASE_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

/* Appends the escaped form of p[0..n) to out. */
int escape_bytes(struct buf *out, const void *p, size_t n);
/* Appends the bytes that s[0..n) stands for.  -EINVAL on a malformed escape. */
int escape_decode(struct buf *out, const char *s, size_t n);
/* The value of a hexadecimal digit, or -1. */
int hex_digit(char c);

/* The length of the well-formed UTF-8 sequence at p[0..n) for a code point >= U+00A0
 * (what the rule keeps as it is), or 0. */
size_t escape_utf8_len(const void *p, size_t n);

/* True when p[0..n) escapes to itself. */
bool escape_is_plain(const void *p, size_t n);

#endif

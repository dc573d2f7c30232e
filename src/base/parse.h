/*
 * Safe parsing of numbers and booleans from text.  Every helper rejects empty input,
 * trailing garbage, signs where none belong and overflow, returning -EINVAL or -ERANGE
 * and writing *ret only on success.
 */
#ifndef VIGIL_BASE_PARSE_H
#define VIGIL_BASE_PARSE_H

#include <stdbool.h>
#include <stdint.h>

int parse_u64(const char *s, uint64_t *ret);
/* Parses an unsigned value and checks min <= value <= max. */
int parse_uint_range(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
/* "true/false, yes/no, on/off, 1/0" in any case. */
int parse_bool(const char *s, bool *ret);

#endif

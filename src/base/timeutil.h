/*
 * Time: one injectable clock and RFC 3339 text.
 *
 * All code that needs "now" calls clock_now_ns(); tests replace the source with
 * clock_set_source() so deadline logic can be driven without waiting.  Times are
 * nanoseconds since the Unix epoch, UTC.
 */
#ifndef VIGIL_BASE_TIMEUTIL_H
#define VIGIL_BASE_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t (*clock_source_fn)(void *userdata);

/* Current UTC time in ns, from the installed source (CLOCK_REALTIME by default). */
int64_t clock_now_ns(void);
/* Installs a source; NULL restores the system clock. */
void clock_set_source(clock_source_fn fn, void *userdata);
/* Monotonic time in ns, for durations only. */
int64_t clock_monotonic_ns(void);

#define RFC3339_MAX 40
/* "2026-11-27T04:11:12.123456Z" (microseconds, UTC). Returns 0 or -EINVAL. */
int time_format_rfc3339(int64_t ns, char *out, size_t size);
/* Parses RFC 3339 (Z or +hh:mm offset, optional fraction). Returns 0, -EINVAL. */
int time_parse_rfc3339(const char *s, int64_t *ret_ns);

#endif

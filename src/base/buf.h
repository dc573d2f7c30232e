/*
 * struct buf: a growable byte buffer with a mandatory cap.
 *
 * Every buffer filled from outside (file contents, kernel data, user text) has a limit;
 * appending past it fails with -E2BIG and leaves the buffer as it was.  The data is
 * always NUL-terminated (the NUL is not counted in len), so text can be used directly.
 *
 *	struct buf b;
 *	buf_init(&b, 4096);
 *	r = buf_printf(&b, "%s=%d", k, v);
 *	...
 *	buf_release(&b);
 */
#ifndef VIGIL_BASE_BUF_H
#define VIGIL_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macro.h"

struct buf {
	char *data;	/* NUL-terminated, or NULL while nothing was appended */
	size_t len;	/* bytes used, not counting the NUL */
	size_t alloc;	/* bytes allocated */
	size_t max;	/* cap on len */
};

#define BUF_MAX_DEFAULT (64u * 1024 * 1024)

/* Initialises an empty buffer that may grow to max bytes. */
void buf_init(struct buf *b, size_t max);
/* Frees the contents; the buffer may be reused after buf_init(). */
void buf_release(struct buf *b);
/* Empties the buffer, keeping its allocation. */
void buf_reset(struct buf *b);
/* Makes room for n more bytes. Returns 0, -E2BIG past the cap, -ENOMEM. */
int buf_reserve(struct buf *b, size_t n);
/* Appends bytes / a string / one byte. Same returns as buf_reserve(). */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) _printf_(2, 3);
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) _printf_(2, 0);
/* Hands the contents to the caller (malloc'ed, NUL-terminated, never NULL on success). */
int buf_detach(struct buf *b, char **ret, size_t *ret_len);
/* A pointer to the data, "" when empty. */
const char *buf_str(const struct buf *b);

static inline void buf_releasep(struct buf *b)
{
	buf_release(b);
}
#define _cleanup_buf_ _cleanup_(buf_releasep)

#endif

/*
 * struct vg_error: where a problem is and what it is.
 *
 * Functions that read user input (settings, rules, paths) fill one of these on failure
 * and return a negative errno.  The program prints it once with vg_error_format(), as
 * "FILE:LINE:COL: MESSAGE" (LINE and COL omitted when 0, FILE when empty).
 */
#ifndef VIGIL_BASE_ERROR_H
#define VIGIL_BASE_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#include "base/macro.h"

struct vg_error {
	char file[512];
	unsigned line;	/* 1-based, 0 when not about a line */
	unsigned col;	/* 1-based, 0 when not about a column */
	char msg[768];
};

/* Clears err (may be NULL). */
void vg_error_clear(struct vg_error *err);
/* Sets err (may be NULL) and returns code, which must be negative. */
int vg_error_set(struct vg_error *err, int code, const char *file, unsigned line, unsigned col,
		 const char *fmt, ...) _printf_(6, 7);
/* Writes "FILE:LINE:COL: MESSAGE" into out (always NUL-terminated). */
void vg_error_format(const struct vg_error *err, char *out, size_t size);

#endif

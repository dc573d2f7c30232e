/* Located error messages for everything that parses user input. */
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/banned.h"

void vg_error_clear(struct vg_error *err)
{
	if (!err)
		return;
	err->file[0] = '\0';
	err->line = 0;
	err->col = 0;
	err->msg[0] = '\0';
}

int vg_error_set(struct vg_error *err, int code, const char *file, unsigned line, unsigned col,
		 const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
	err->line = line;
	err->col = col;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void vg_error_format(const struct vg_error *err, char *out, size_t size)
{
	if (err->file[0] && err->line && err->col)
		snprintf(out, size, "%s:%u:%u: %s", err->file, err->line, err->col, err->msg);
	else if (err->file[0] && err->line)
		snprintf(out, size, "%s:%u: %s", err->file, err->line, err->msg);
	else if (err->file[0])
		snprintf(out, size, "%s: %s", err->file, err->msg);
	else
		snprintf(out, size, "%s", err->msg);
}

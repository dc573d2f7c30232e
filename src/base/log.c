/* stderr logging with a level; thread-safe through stdio's own locking. */
#include <stdarg.h>
#include <stdio.h>

#include "base/log.h"
#include "base/banned.h"

static enum log_level current = LOG_LEVEL_INFO;

void log_set_level(enum log_level level)
{
	current = level;
}

enum log_level log_get_level(void)
{
	return current;
}

int log_at(enum log_level level, int code, const char *fmt, ...)
{
	va_list ap;

	if (level > current)
		return code;
	flockfile(stderr);
	fputs("vigil: ", stderr);
	if (level == LOG_LEVEL_WARNING)
		fputs("warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
	return code;
}

/*
 * Logging for programs.  Library modules log at debug level at most; the program decides
 * what the user sees.  Messages go to stderr as "vigil: MESSAGE".
 */
#ifndef VIGIL_BASE_LOG_H
#define VIGIL_BASE_LOG_H

#include "base/macro.h"

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Prints when level is at or below the current level.  Returns code (for one-line returns). */
int log_at(enum log_level level, int code, const char *fmt, ...) _printf_(3, 4);

#define log_error(code, ...) log_at(LOG_LEVEL_ERROR, (code), __VA_ARGS__)
#define log_warning(...) log_at(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_info(...) log_at(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_at(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)

#endif

/*
 * Helpers shared by the settings and rules parsers: read a whole configuration file
 * (with a size cap), walk it line by line, and list a drop-in directory.
 */
#ifndef VIGIL_CONF_CONFFILE_H
#define VIGIL_CONF_CONFFILE_H

#include <stddef.h>

#include "base/error.h"

#define CONFFILE_MAX (4u * 1024 * 1024)
#define CONFFILE_LINE_MAX 8192

/* Reads path (at most CONFFILE_MAX bytes) into a NUL-terminated malloc'ed buffer. */
int conffile_read(const char *path, char **ret, size_t *ret_len, struct vg_error *err);

typedef int (*conffile_line_fn)(void *ud, const char *file, unsigned lineno, char *line,
				struct vg_error *err);
/*
 * Calls fn for each line of text (without its newline; a final line without newline is
 * passed too).  A NUL byte or a line longer than CONFFILE_LINE_MAX is an error.
 */
int conffile_each_line(const char *file, const char *text, size_t len, conffile_line_fn fn,
		       void *ud, struct vg_error *err);

/*
 * Lists the regular files (or links to them) in dir whose names end in suffix and do
 * not start with '.', as full paths sorted by name.  -ENOENT when dir does not exist.
 */
int conffile_list_dir(const char *dir, const char *suffix, char ***ret, size_t *ret_n,
		      struct vg_error *err);
void conffile_free_list(char **list, size_t n);

#endif

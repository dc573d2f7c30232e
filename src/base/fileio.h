/*
 * Whole-file reads with a cap, and file writes that create parent directories, for the
 * journal export and its verification.
 */
#ifndef VIGIL_BASE_FILEIO_H
#define VIGIL_BASE_FILEIO_H

#include <stddef.h>

/* Reads dir/rel (rel may be NULL: dir is the file) up to max bytes; NUL-terminated. */
int file_read_all(const char *dir, const char *rel, size_t max, char **ret, size_t *ret_len);
/* Writes data to dir/rel, creating missing directories (0755) and the file (mode). */
int file_write_all(const char *dir, const char *rel, const void *data, size_t n, unsigned mode);

#endif

/*
 * Reading one object the way every detector must (DESIGN §9): never follow a symlink,
 * never open a FIFO, socket or device, hash in one pass, and notice a file that was
 * replaced or modified while it was read.
 *
 * Only objects the walk saw as regular files come here.  They are opened with
 * O_NOFOLLOW|O_NONBLOCK|O_NOCTTY and checked with fstat() before a single byte is read:
 * a symlink swapped in between the walk's statx() and the open fails the open and is
 * described (never followed); a FIFO, socket or device swapped in within that window is
 * opened without blocking, never becomes a controlling terminal, is never read, and is
 * closed at once.  (Outside that race no such object is ever opened.)  The state
 * returned describes the object actually read: a file replaced since the walk is
 * reported with its new inode.  Metadata taken before and after hashing must agree,
 * else the read is retried (attempts times) and finally marked unstable.
 */
#ifndef VIGIL_SCAN_SCAN_FILE_H
#define VIGIL_SCAN_SCAN_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/object.h"
#include "crypto/hash.h"

/* Test hooks: called at fixed points of a read.  NULL members are skipped. */
struct scan_hooks {
	/* before the file is opened (between the walk's lstat and the open) */
	void (*before_open)(void *ud, const char *path);
	/* after each chunk that was hashed; off is the bytes hashed so far */
	void (*after_chunk)(void *ud, const char *path, uint64_t off);
	void *ud;
};

struct scan_reader {
	struct hasher *hasher;
	uint8_t *buf;
	size_t buf_size;
	unsigned attempts;
	bool no_atime;	/* O_NOATIME was refused once: not the owner, no CAP_FOWNER */
	const struct scan_hooks *hooks;
};

#define SCAN_READ_BUF (256u * 1024)

int scan_reader_init(struct scan_reader *rd, unsigned attempts, const struct scan_hooks *hooks);
void scan_reader_release(struct scan_reader *rd);

/*
 * Reads the regular file name in directory dirfd: content hashes and extra attributes
 * selected by attrs, into cur, which holds the walk's lstat() values on entry and the
 * values of what was actually read on return.  base (may be NULL) and growing ask for
 * the SHA-256 of the first base->size bytes to be compared with base->sha256
 * (cur->prefix_match).  path is for hooks only.
 *
 * Returns 0 (cur->unstable set when the file never held still), -ENOENT when it
 * vanished, or another negative errno when it could not be read.  If the object turned
 * into something other than a regular file, cur describes that object and nothing was
 * opened for reading.
 */
int scan_read_file(struct scan_reader *rd, int dirfd, const char *name, const char *path,
		   uint32_t attrs, const struct object_state *base, bool growing,
		   struct object_state *cur);

/* Reads a symlink's target and, as selected, extra attributes of a non-regular object. */
int scan_read_other(int dirfd, const char *name, uint32_t attrs, struct object_state *cur);

#endif

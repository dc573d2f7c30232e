/*
 * The scanner: walks what the policy selects, reads each object, and, when given a
 * baseline, pairs every observation with its baseline state.
 *
 * One walker thread visits directories depth first with directory descriptors (names
 * sorted, so objects come out in key order, the order the store keeps baselines in);
 * a pool of reader threads hashes file contents; the caller's thread receives every
 * item, in key order, through the emit callback.  Memory is bounded: at most
 * SCAN_WINDOW items are in flight, whatever the size of the tree.
 *
 * The scanner talks to the rest of Vigil only through these structs, so it can later
 * move into a separate privileged process unchanged.
 */
#ifndef VIGIL_SCAN_SCAN_H
#define VIGIL_SCAN_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/object.h"
#include "policy/policy.h"
#include "scan/scan-file.h"

#define SCAN_WINDOW 4096
#define SCAN_MAX_DEPTH 4096
#define SCAN_MAX_DIR_ENTRIES (16u * 1024 * 1024)

/* Baseline states in key order (path_cmp() in base/object.h). */
struct scan_baseline {
	/*
	 * Returns 1 with the next baseline object (path and state stay valid until the
	 * next call; the callee owns them), 0 at the end, or a negative errno.
	 */
	int (*next)(void *ud, const char **ret_path, size_t *ret_len, struct object_state **ret);
	void *ud;
};

struct scan_item {
	char *path;		/* NUL-terminated; may contain any byte but NUL */
	size_t path_len;
	const struct rule *rule;	/* the deciding rule; NULL for baseline-only items */
	bool has_cur;		/* the object exists now (cur is valid) */
	bool has_base;		/* the baseline has it (base is valid) */
	struct object_state cur;
	struct object_state base;
	int err;		/* negative errno: the object could not be examined */
	const char *err_op;	/* what failed ("lstat", "open", "read", "opendir") */
	bool err_below;		/* err was inherited from a directory that could not be read */
	/* private to the scanner */
	uint64_t seq;
	bool done;
	struct scan_dirref *dir;
	char *name;
	struct scan_item *next;
};

typedef int (*scan_emit_fn)(void *ud, struct scan_item *it);

struct scan_opts {
	const struct policy *policy;
	unsigned workers;	/* 0: one per online CPU */
	bool full;		/* rehash even when the metadata is unchanged */
	bool one_filesystem;	/* never cross a mount point below a root */
	unsigned hash_attempts;
	const struct scan_baseline *baseline;	/* NULL: no baseline (init) */
	const struct scan_hooks *hooks;
	/* walk these roots (sorted by path_cmp(), none below another) instead of the
	 * policy's; the baseline must then hold only what is at or below them */
	const char *const *roots;
	size_t n_roots;
};

struct scan_stats {
	uint64_t objects;	/* selected objects seen */
	uint64_t dirs;
	uint64_t hashed;	/* files read for content */
	uint64_t bytes;		/* bytes hashed */
	uint64_t errors;
	uint64_t unstable;
};

/*
 * Runs a scan, calling emit for each item in key order (selected objects that exist,
 * then baseline objects that were not seen, interleaved in key order).  emit may keep
 * nothing from the item after it returns.  A negative return from emit stops the scan.
 * Returns 0 or the first fatal error; per-object errors are reported in items.
 */
int scan_run(const struct scan_opts *o, scan_emit_fn emit, void *ud, struct scan_stats *ret);

/*
 * One object at a time, for the watcher: the same reading as a walk's (never a symlink
 * followed, not in the path either, never a FIFO or device opened for reading).
 */
struct scan_observer;
int scan_observer_new(unsigned hash_attempts, struct scan_observer **ret);
struct scan_observer *scan_observer_free(struct scan_observer *ob);
/* Forgets cached user and group names (after the account files changed). */
void scan_observer_forget_names(struct scan_observer *ob);
/*
 * Observes it->path with it->rule's attributes (it->base, when has_base, is used for
 * the growing-file prefix check).  On return has_cur says whether the object exists;
 * it->err (with err_op) is set when it could not be examined.  Returns 0, or a
 * negative errno for a failure of the observer itself (no memory).
 */
int scan_observe(struct scan_observer *ob, struct scan_item *it);
/* Calls fn with the path of every other entry of path's directory that is inode ino (the
 * other names of a hard link there). */
int scan_dir_links(const char *path, size_t len, uint64_t ino,
		   int (*fn)(void *ud, const char *path, size_t len), void *ud);

#endif

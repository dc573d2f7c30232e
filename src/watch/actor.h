/*
 * Who caused an event: read from /proc at the moment the event is read (DET-07).  A
 * process that has already exited is recorded as gone, with nothing guessed about it.
 */
#ifndef VIGIL_WATCH_ACTOR_H
#define VIGIL_WATCH_ACTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"

#define ACTOR_NO_ID UINT32_MAX	/* an id the kernel did not set (login uid, session) */

struct actor {
	pid_t pid;
	bool gone;		/* the process had exited before it could be read */
	bool exited;		/* it had exited but not yet been reaped: name and ids only */
	char name[16];		/* the kernel's short name (comm) */
	char *exe;		/* NULL: unknown */
	char *cmdline;		/* arguments joined by spaces; NULL: unknown */
	char **argv;
	size_t argc;
	uint32_t uid, euid, gid, auid, session;
	pid_t ppid;
	char *parent_exe;
	int64_t seen_ns;	/* when it was read (monotonic), for caches */
};

/* Reads what /proc says about pid into a (zeroed first).  Returns 0 or -ENOMEM; a
 * process that is gone is not an error (a->gone). */
int actor_read(pid_t pid, struct actor *a);
void actor_release(struct actor *a);
int actor_copy(struct actor *dst, const struct actor *src);
/* ECS "process" and "user" objects, each one JSON value. */
int actor_json(const struct actor *a, struct buf *process, struct buf *user);

#endif

/*
 * Runs a program with a deadline and captures what it writes (see proc.c).
 */
#ifndef VIGIL_BASE_PROC_H
#define VIGIL_BASE_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROC_CAPTURE_DEFAULT (64u * 1024)

struct proc_opts {
	char *const *argv;	/* argv[0] an absolute path */
	char *const *envp;	/* NULL: an empty environment */
	const void *in;		/* written to stdin (may be NULL with in_len 0) */
	size_t in_len;
	int64_t timeout_ns;	/* then SIGTERM to the group, a second later SIGKILL */
	size_t capture_max;	/* bytes of output kept (0: PROC_CAPTURE_DEFAULT); the rest dropped */
	bool stderr_null;	/* stderr to /dev/null instead of into the capture */
};

struct proc_result {
	int wait_status;	/* from waitpid(), valid unless timed_out */
	bool timed_out;
	bool truncated;		/* output beyond capture_max was dropped */
	char *output;		/* NUL-terminated, never NULL on success */
	size_t output_len;
};

/*
 * Returns 0 with *ret filled when the child ran (whatever its exit), a negative errno
 * when it could not be started (-ENOENT, -EACCES, ...) or for failures of this process.
 */
int proc_run(const struct proc_opts *o, struct proc_result *ret);
void proc_result_release(struct proc_result *r);

/*
 * A command line from the settings as an argv: words split on spaces and tabs, no shell,
 * no quoting.  Returns 0 with *ret (NULL-terminated, free with proc_argv_free) and
 * *ret_n, -ENODATA when empty, -E2BIG when more than max words, -EINVAL when the first
 * word is not an absolute path, -ENOMEM.
 */
int proc_argv_split(const char *cmd, size_t max, char ***ret, size_t *ret_n);
void proc_argv_free(char **argv);

#endif

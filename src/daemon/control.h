/*
 * The control socket: RUNTIME_DIR/control, a Unix stream socket.  A client sends one
 * request line ("status" or "follow"); the daemon answers with JSON lines: one object
 * for "status", and for "follow" every change as it is recorded, until either side
 * closes.  Only root and the daemon's own user are served (SO_PEERCRED).
 */
#ifndef VIGIL_DAEMON_CONTROL_H
#define VIGIL_DAEMON_CONTROL_H

#include <stdbool.h>
#include <sys/types.h>

/* Creates the runtime directory (0700) and listens on its socket.  Returns the fd or a
 * negative errno; -EADDRINUSE when another daemon answers there. */
int control_listen(const char *runtime_dir);
/* True when the peer of fd may be served. */
bool control_peer_allowed(int fd, uid_t *ret_uid);
/* Connects to the daemon of runtime_dir: the fd, or -ENOENT/-ECONNREFUSED when none. */
int control_connect(const char *runtime_dir);
/* Sends a request line and reads one line back (malloc'ed, without the newline). */
int control_request(int fd, const char *request, char **ret);
/* Reads one line of at most max bytes (malloc'ed); 0 at end of stream, 1 with a line, or a
 * negative errno (-E2BIG when longer). */
int control_read_line(int fd, size_t max, char **ret);

/* Takes STATE_DIR/daemon.lock for the daemon's life: the fd, or -EBUSY when another
 * daemon holds it. */
int control_lock_state(const char *state_dir);

#endif

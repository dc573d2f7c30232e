/* The control socket (control.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/macro.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "base/banned.h"

static int make_addr(const char *runtime_dir, struct sockaddr_un *sa, socklen_t *len)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", runtime_dir, DAEMON_SOCKET);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
	return 0;
}

int control_connect(const char *runtime_dir)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd, r;

	r = make_addr(runtime_dir, &sa, &len);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int control_listen(const char *runtime_dir)
{
	struct sockaddr_un sa;
	socklen_t len;
	struct stat st;
	mode_t old;
	int fd, r;

	if (mkdir(runtime_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(runtime_dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return -EPERM; /* not ours: a socket there could be anyone's */
	chmod(runtime_dir, 0700);
	r = make_addr(runtime_dir, &sa, &len);
	if (r < 0)
		return r;
	fd = control_connect(runtime_dir);
	if (fd >= 0) {
		close(fd);
		return -EADDRINUSE;
	}
	unlink(sa.sun_path); /* a socket left by a daemon that died */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, len);
	umask(old);
	if (r < 0 || listen(fd, 16) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

bool control_peer_allowed(int fd, uid_t *ret_uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	if (ret_uid)
		*ret_uid = cred.uid;
	return cred.uid == 0 || cred.uid == geteuid();
}

int control_read_line(int fd, size_t max, char **ret)
{
	struct buf b;
	char c;

	buf_init(&b, max);
	for (;;) {
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;

			buf_release(&b);
			return e;
		}
		if (n == 0) {
			if (b.len == 0) {
				buf_release(&b);
				return 0;
			}
			break;
		}
		if (c == '\n')
			break;
		if (buf_putc(&b, c) < 0) {
			buf_release(&b);
			return -ENOMEM;
		}
	}
	if (!b.data && buf_reserve(&b, 1) < 0)
		return -ENOMEM;
	*ret = b.data;
	return 1;
}

int control_request(int fd, const char *request, char **ret)
{
	struct timeval tv = { .tv_sec = 30 };
	size_t n = strlen(request);
	int r;

	/* a daemon deep in a check answers between objects; one that never does is stuck */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write(fd, request, n) != (ssize_t)n || write(fd, "\n", 1) != 1)
		return -errno ? -errno : -EIO;
	r = control_read_line(fd, 16u * 1024 * 1024, ret);
	return r == 0 ? -ECONNRESET : r < 0 ? r : 0;
}

int control_lock_state(const char *state_dir)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/daemon.lock", state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno == EWOULDBLOCK ? -EBUSY : -errno;

		close(fd);
		return e;
	}
	return fd;
}

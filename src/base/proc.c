/*
 * Child processes with a deadline: a fixed argv (no shell, no PATH search),
 * stdin fed from memory, stdout (and stderr, or /dev/null) captured up to a
 * cap, and the whole process group killed when the deadline passes.  Used by
 * the exec alert channel, the sendmail hand-off and the collectors that ask a
 * program (nft, systemctl, commands).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/banned.h"
#include "base/buf.h"
#include "base/error.h"
#include "base/macro.h"
#include "base/proc.h"
#include "base/timeutil.h"

#define KILL_GRACE_NS (1000LL * 1000 * 1000)

void proc_result_release(struct proc_result *r)
{
	free(r->output);
	memset(r, 0, sizeof(*r));
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Waits for pid until the monotonic deadline: 1 when reaped (*ret_status set), 0 when
 * still running, or a negative errno (-ECHILD where SIGCHLD is ignored: no status to
 * trust, so no exit 0 is made up). */
static int reap_until(pid_t pid, int64_t deadline, int *ret_status)
{
	for (;;) {
		int st;
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid) {
			*ret_status = st;
			return 1;
		}
		if (w < 0 && errno != EINTR)
			return neg_errno();
		if (clock_monotonic_ns() >= deadline)
			return 0;
		sleep_ms(10);
	}
}

/* Reads what the child wrote; the first cap->max bytes are kept. */
static int capture(int *fd, struct buf *cap, bool *dropped)
{
	char tmp[8192];
	ssize_t k = read(*fd, tmp, sizeof(tmp));

	if (k < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : neg_errno();
	if (k == 0) {
		close(*fd);
		*fd = -1;
		return 0;
	}
	if (cap->len + (size_t)k > cap->max)
		*dropped = true;
	if (cap->len < cap->max) {
		size_t room = cap->max - cap->len;

		return buf_append(cap, tmp, (size_t)k < room ? (size_t)k : room);
	}
	return 0;
}

/* Writes the next piece of the child's stdin, closing it at the end or when the child
 * stopped reading (not an error of ours: the exit status tells). */
static void feed(int *fd, const void *in, size_t in_len, size_t *off)
{
	size_t chunk = in_len - *off < 65536 ? in_len - *off : 65536;
	ssize_t k = send(*fd, (const char *)in + *off, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (k > 0)
		*off += (size_t)k;
	if ((k < 0 && errno != EINTR && errno != EAGAIN) || *off == in_len) {
		close(*fd);
		*fd = -1;
	}
}

int proc_run(const struct proc_opts *o, struct proc_result *ret)
{
	char *const *argv = o->argv;
	const void *in = o->in;
	size_t in_len = o->in_len;
	static const int defaults[] = { SIGPIPE, SIGTERM, SIGINT,  SIGHUP,
					SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD };
	int in_sp[2] = { -1, -1 }, out_p[2] = { -1, -1 };
	_cleanup_close_ int child_in = -1;
	_cleanup_close_ int child_out = -1;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	bool fa_init = false, attr_init = false, exited = false, timed_out = false;
	bool dropped = false;
	static char *const empty_env[] = { NULL };
	sigset_t none, dfl;
	struct buf cap;
	size_t in_off = 0;
	int64_t deadline;
	pid_t pid = -1;
	int r, wst = 0;

	buf_init(&cap, o->capture_max ? o->capture_max : PROC_CAPTURE_DEFAULT);
	memset(ret, 0, sizeof(*ret));
	/* a socket for stdin, so that a child that exits without reading it gives EPIPE
	 * through MSG_NOSIGNAL instead of SIGPIPE in this process */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_sp) < 0 ||
	    pipe2(out_p, O_CLOEXEC) < 0) {
		r = neg_errno();
		goto out;
	}
	/* above 2 first, so that the dup2s below really duplicate and clear FD_CLOEXEC */
	child_in = fcntl(in_sp[1], F_DUPFD_CLOEXEC, 10);
	child_out = fcntl(out_p[1], F_DUPFD_CLOEXEC, 10);
	if (child_in < 0 || child_out < 0) {
		r = neg_errno();
		goto out;
	}
	close(in_sp[1]);
	close(out_p[1]);
	in_sp[1] = out_p[1] = -1;

	r = -posix_spawn_file_actions_init(&fa);
	if (r < 0)
		goto out;
	fa_init = true;
	r = -posix_spawn_file_actions_adddup2(&fa, child_in, 0);
	if (r == 0)
		r = -posix_spawn_file_actions_adddup2(&fa, child_out, 1);
	if (r == 0 && o->stderr_null)
		r = -posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	else if (r == 0)
		r = -posix_spawn_file_actions_adddup2(&fa, child_out, 2);
	if (r < 0)
		goto out;
	r = -posix_spawnattr_init(&attr);
	if (r < 0)
		goto out;
	attr_init = true;
	sigemptyset(&none);
	sigemptyset(&dfl);
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
		sigaddset(&dfl, defaults[i]);
	/* its own process group, so a timeout reaches whatever the command started */
	r = -posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						     POSIX_SPAWN_SETSIGDEF);
	if (r == 0)
		r = -posix_spawnattr_setpgroup(&attr, 0);
	if (r == 0)
		r = -posix_spawnattr_setsigmask(&attr, &none);
	if (r == 0)
		r = -posix_spawnattr_setsigdefault(&attr, &dfl);
	if (r < 0)
		goto out;
	r = -posix_spawn(&pid, argv[0], &fa, &attr, argv, o->envp ? o->envp : empty_env);
	if (r < 0) {
		pid = -1;
		goto out;
	}
	close(child_in);
	close(child_out);
	child_in = child_out = -1;
	if (in_len == 0) {
		close(in_sp[0]);
		in_sp[0] = -1;
	}

	deadline = clock_monotonic_ns() + o->timeout_ns;
	while (!exited) {
		struct pollfd pfd[2];
		int64_t left = deadline - clock_monotonic_ns();
		nfds_t np = 0;
		int pr;

		if (left <= 0) {
			timed_out = true;
			break;
		}
		if (out_p[0] < 0 && in_sp[0] < 0) {
			r = reap_until(pid, deadline, &wst);
			if (r < 0) {
				pid = -1;
				goto out;
			}
			exited = r > 0;
			timed_out = !exited;
			break;
		}
		if (out_p[0] >= 0)
			pfd[np++] = (struct pollfd){ .fd = out_p[0], .events = POLLIN };
		if (in_sp[0] >= 0)
			pfd[np++] = (struct pollfd){ .fd = in_sp[0], .events = POLLOUT };
		pr = poll(pfd, np, (int)(left / 1000000) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			r = neg_errno();
			goto out;
		}
		for (nfds_t j = 0; j < np; j++) {
			if (!pfd[j].revents)
				continue;
			if (pfd[j].fd == out_p[0]) {
				r = capture(&out_p[0], &cap, &dropped);
				if (r < 0)
					goto out;
			} else if (pfd[j].fd == in_sp[0]) {
				feed(&in_sp[0], in, in_len, &in_off);
			}
		}
	}
	if (timed_out) {
		kill(-pid, SIGTERM);
		if (reap_until(pid, clock_monotonic_ns() + KILL_GRACE_NS, &wst) == 0) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &wst, 0) < 0 && errno == EINTR)
				;
		}
		/* stragglers of the group that outlived the leader */
		kill(-pid, SIGKILL);
	}
	pid = -1;
	if (!cap.data) {
		r = buf_puts(&cap, "");
		if (r < 0)
			goto out;
	}
	ret->wait_status = wst;
	ret->timed_out = timed_out;
	ret->truncated = dropped;
	r = buf_detach(&cap, &ret->output, &ret->output_len);
out:
	if (pid > 0) {
		kill(-pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_init)
		posix_spawnattr_destroy(&attr);
	for (int i = 0; i < 2; i++) {
		if (in_sp[i] >= 0)
			close(in_sp[i]);
		if (out_p[i] >= 0)
			close(out_p[i]);
	}
	buf_release(&cap);
	return r;
}

void proc_argv_free(char **argv)
{
	if (!argv)
		return;
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

int proc_argv_split(const char *cmd, size_t max, char ***ret, size_t *ret_n)
{
	char **argv = calloc(max + 1, sizeof(*argv));
	size_t n = 0;
	int r = 0;

	if (!argv)
		return -ENOMEM;
	for (const char *p = cmd; *p;) {
		size_t l;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		l = strcspn(p, " \t");
		if (n == max) {
			r = -E2BIG;
			break;
		}
		argv[n] = strndup(p, l);
		if (!argv[n]) {
			r = -ENOMEM;
			break;
		}
		n++;
		p += l;
	}
	if (r == 0 && n == 0)
		r = -ENODATA;
	else if (r == 0 && argv[0][0] != '/')
		r = -EINVAL;
	if (r < 0) {
		proc_argv_free(argv);
		return r;
	}
	*ret = argv;
	*ret_n = n;
	return 0;
}

/*
 * Signature checks through gpgv, the verify-only program apt itself uses.  gpgv runs
 * with a fixed argv (no shell), an empty environment but LC_ALL=C, stdin from
 * /dev/null, its machine-readable status on fd 3 and the signed text on stdout; both
 * are read with caps and a deadline, and the child is killed when either is passed.
 *
 * The text parsed afterwards is the one gpgv printed, i.e. exactly what the signature
 * covers: lines an attacker adds around the signed block of an InRelease never reach the
 * parsers.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/macro.h"
#include "base/timeutil.h"
#include "change/prov-int.h"
#include "base/banned.h"

#define STATUS_MAX (1u << 20)
#define DIAG_MAX 16384
#define KEYRINGS_MAX 64

void prov_gpgv_result_release(struct prov_gpgv_result *r)
{
	free(r->text);
	free(r->diag);
	memset(r, 0, sizeof(*r));
}

static bool fpr_copy(char *dst, const char *w, size_t len)
{
	if (len != 40)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = w[i];

		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f')))
			return false;
	}
	memcpy(dst, w, 40);
	dst[40] = '\0';
	return true;
}

void prov_gpgv_parse_status(const char *status, size_t len, struct prov_gpgv_result *r)
{
	const char *p = status, *end = status + len;
	bool last_good = false;

	r->good = r->bad = false;
	r->n_sigs = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *w[12];
		size_t wl[12], n = 0;

		for (const char *q = p; q < le && n < ARRAY_SIZE(w);) {
			const char *s;

			while (q < le && (*q == ' ' || *q == '\r'))
				q++;
			if (q >= le)
				break;
			s = q;
			while (q < le && *q != ' ' && *q != '\r')
				q++;
			w[n] = s;
			wl[n++] = (size_t)(q - s);
		}
		p = nl ? nl + 1 : end;
		if (n < 2 || wl[0] != 8 || memcmp(w[0], "[GNUPG:]", 8) != 0)
			continue;
#define IS(i, s) (wl[i] == sizeof(s) - 1 && memcmp(w[i], s, sizeof(s) - 1) == 0)
		if (IS(1, "NEWSIG")) {
			last_good = false;
		} else if (IS(1, "GOODSIG")) {
			last_good = true;
		} else if (IS(1, "BADSIG")) {
			/* the signed text was altered: nothing in this file is evidence */
			r->bad = true;
			last_good = false;
		} else if (IS(1, "EXPSIG") || IS(1, "EXPKEYSIG") || IS(1, "REVKEYSIG") ||
			   IS(1, "ERRSIG")) {
			last_good = false;
		} else if (IS(1, "VALIDSIG") && last_good && n >= 12 &&
			   r->n_sigs < PROV_SIGS_MAX) {
			/* VALIDSIG fpr date ts expire ver reserved pkalgo hashalgo class primary */
			if (fpr_copy(r->fpr[r->n_sigs], w[2], wl[2]) &&
			    fpr_copy(r->primary[r->n_sigs], w[11], wl[11]))
				r->n_sigs++;
			last_good = false;
		}
#undef IS
	}
	r->good = r->n_sigs > 0 && !r->bad;
}

struct sink {
	int fd;
	struct buf *b;
	bool discard_over; /* diagnostics: keep the start, drop the rest */
};

static void spawn_actions_release(posix_spawn_file_actions_t *fa)
{
	posix_spawn_file_actions_destroy(fa);
}

int prov_gpgv_verify(const char *gpgv, const char *const *keyrings, size_t n_keyrings,
		     const char *file, int timeout_ms, struct prov_gpgv_result *ret)
{
	static char *const envp[] = { (char *)"LC_ALL=C", NULL };
	int out_p[2] = { -1, -1 }, st_p[2] = { -1, -1 }, err_p[2] = { -1, -1 };
	int child_out = -1, child_st = -1, child_err = -1;
	_cleanup_free_ char **argv = NULL;
	struct buf text, status, diag;
	posix_spawn_file_actions_t fa;
	bool fa_init = false;
	struct prov_gpgv_result res = { 0 };
	int64_t deadline;
	pid_t pid = -1;
	int r = 0, wst = 0;
	size_t k = 0;

	buf_init(&text, PROV_INRELEASE_MAX);
	buf_init(&status, STATUS_MAX);
	buf_init(&diag, DIAG_MAX);
	if (n_keyrings == 0 || n_keyrings > KEYRINGS_MAX) {
		r = -EINVAL;
		goto out;
	}
	argv = calloc(2 * n_keyrings + 9, sizeof(*argv));
	if (!argv) {
		r = -ENOMEM;
		goto out;
	}
	argv[k++] = (char *)"gpgv";
	argv[k++] = (char *)"--status-fd";
	argv[k++] = (char *)"3";
	argv[k++] = (char *)"--output";
	argv[k++] = (char *)"-";
	for (size_t i = 0; i < n_keyrings; i++) {
		argv[k++] = (char *)"--keyring";
		argv[k++] = (char *)keyrings[i];
	}
	argv[k++] = (char *)"--";
	argv[k++] = (char *)file;
	argv[k] = NULL;

	if (pipe2(out_p, O_CLOEXEC) < 0 || pipe2(st_p, O_CLOEXEC) < 0 ||
	    pipe2(err_p, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	/* the child's ends are moved above 3 first, so that each dup2 below really
	 * duplicates (dup2 onto the same number would keep FD_CLOEXEC set) */
	child_out = fcntl(out_p[1], F_DUPFD_CLOEXEC, 10);
	child_st = fcntl(st_p[1], F_DUPFD_CLOEXEC, 10);
	child_err = fcntl(err_p[1], F_DUPFD_CLOEXEC, 10);
	if (child_out < 0 || child_st < 0 || child_err < 0) {
		r = -errno;
		goto out;
	}
	r = -posix_spawn_file_actions_init(&fa);
	if (r < 0)
		goto out;
	fa_init = true;
	r = -posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (r == 0)
		r = -posix_spawn_file_actions_adddup2(&fa, child_out, 1);
	if (r == 0)
		r = -posix_spawn_file_actions_adddup2(&fa, child_err, 2);
	if (r == 0)
		r = -posix_spawn_file_actions_adddup2(&fa, child_st, 3);
	if (r < 0)
		goto out;
	r = -posix_spawn(&pid, gpgv, &fa, NULL, argv, envp);
	if (r < 0) {
		pid = -1;
		goto out;
	}
	close(child_out);
	close(child_st);
	close(child_err);
	child_out = child_st = child_err = -1;
	close(out_p[1]);
	close(st_p[1]);
	close(err_p[1]);
	out_p[1] = st_p[1] = err_p[1] = -1;

	deadline = clock_monotonic_ns() + (int64_t)timeout_ms * 1000000;
	{
		struct sink sinks[3] = { { out_p[0], &text, false },
					 { st_p[0], &status, false },
					 { err_p[0], &diag, true } };
		size_t open_n = 3;

		while (open_n > 0) {
			struct pollfd pfd[3];
			size_t map[3], np = 0;
			int64_t left = deadline - clock_monotonic_ns();
			int pr;

			if (left <= 0) {
				r = -ETIMEDOUT;
				goto out;
			}
			for (size_t i = 0; i < 3; i++)
				if (sinks[i].fd >= 0) {
					pfd[np].fd = sinks[i].fd;
					pfd[np].events = POLLIN;
					pfd[np].revents = 0;
					map[np++] = i;
				}
			pr = poll(pfd, np, (int)(left / 1000000) + 1);
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr < 0) {
				r = -errno;
				goto out;
			}
			for (size_t j = 0; j < np; j++) {
				struct sink *s = &sinks[map[j]];
				char tmp[16384];
				ssize_t n;

				if (!pfd[j].revents)
					continue;
				n = read(s->fd, tmp, sizeof(tmp));
				if (n < 0 && (errno == EINTR || errno == EAGAIN))
					continue;
				if (n <= 0) {
					close(s->fd);
					s->fd = -1;
					if (map[j] == 0)
						out_p[0] = -1;
					else if (map[j] == 1)
						st_p[0] = -1;
					else
						err_p[0] = -1;
					open_n--;
					continue;
				}
				if (buf_append(s->b, tmp, (size_t)n) < 0 && !s->discard_over) {
					r = -E2BIG;
					goto out;
				}
			}
		}
	}
	for (;;) {
		pid_t w = waitpid(pid, &wst, 0);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			r = -errno;
			goto out;
		}
	}
	pid = -1;

	prov_gpgv_parse_status(buf_str(&status), status.len, &res);
	if (!(WIFEXITED(wst) && (WEXITSTATUS(wst) == 0 || WEXITSTATUS(wst) == 1 ||
				 WEXITSTATUS(wst) == 2)))
		res.good = false;
	if (diag.len) {
		const char *d = buf_str(&diag);
		size_t l = strcspn(d, "\n");

		/* the most telling line is usually the last one gpgv itself wrote */
		for (const char *q = d; *q;) {
			size_t ql = strcspn(q, "\n");

			if (ql > 6 && strncmp(q, "gpgv: ", 6) == 0) {
				d = q;
				l = ql;
			}
			q += ql + (q[ql] == '\n');
		}
		res.diag = strndup(d, l);
		if (!res.diag) {
			r = -ENOMEM;
			goto out;
		}
	}
	r = buf_detach(&text, &res.text, &res.text_len);
	if (r < 0)
		goto out;
	*ret = res;
	memset(&res, 0, sizeof(res));
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (fa_init)
		spawn_actions_release(&fa);
	for (int i = 0; i < 2; i++) {
		if (out_p[i] >= 0)
			close(out_p[i]);
		if (st_p[i] >= 0)
			close(st_p[i]);
		if (err_p[i] >= 0)
			close(err_p[i]);
	}
	if (child_out >= 0)
		close(child_out);
	if (child_st >= 0)
		close(child_st);
	if (child_err >= 0)
		close(child_err);
	prov_gpgv_result_release(&res);
	buf_release(&text);
	buf_release(&status);
	buf_release(&diag);
	return r;
}

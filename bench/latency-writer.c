/* Workload generator and analyser for bench/latency.sh (real-time detection
 * latency of vigil's daemon and Samhain's inotify mode).
 *
 *   latency-writer prepare DIR NFILES
 *       create DIR/f00000 .. DIR/f<NFILES-1> (small files, to be baselined)
 *   latency-writer rate DIR NFILES RATE SECONDS LOG [new]
 *       RATE changes per second for SECONDS seconds, each an open + write +
 *       close of one file: the prepared files in turn (file i is written
 *       again every NFILES/RATE seconds), or with "new" a new file
 *       DIR/n<seq> each time.  After each close() the CLOCK_REALTIME time is
 *       kept in memory, with the time just before open(); LOG gets
 *       "<close ns> <open ns> <path>" lines at the end.
 *   latency-writer noise DIR RATE SECONDS
 *       RATE file operations per second in DIR, alternately "write a temporary
 *       file" (open + write + close) and "rename it over its target", over
 *       1,000 targets; SECONDS = 0 runs until SIGTERM/SIGINT.
 *   latency-writer burst DIR COUNT
 *       create COUNT new files DIR/b<seq> as fast as possible; prints
 *       "<start ns> <end ns>" (CLOCK_REALTIME).
 *   latency-writer corpus ROOT NFILES NDIRS
 *       NFILES small files spread evenly over NDIRS leaf directories
 *       (ROOT/tNNN/dNNNNNN/fNNNNNNN, at most 1,000 leaf directories per tNNN).
 *   latency-writer follow OUT COMMAND [ARG...]
 *       run COMMAND and write each line of its standard output to OUT,
 *       prefixed with the CLOCK_REALTIME time (ns) at which it was read;
 *       on SIGTERM/SIGINT the command is terminated as well.
 *   latency-writer tail FILE
 *       follow FILE from its current end (inotify, like tail -F) and print
 *       each new line prefixed with the CLOCK_REALTIME time at which it was
 *       read; stops on SIGTERM/SIGINT.
 *   latency-writer match WRITES RECORDS TIMEOUT_MS
 *       WRITES holds "<close ns> <open ns> <path>" lines (as written by
 *       rate), RECORDS "<ns> <path>" lines.  For every write, the first
 *       record of the same path at or after the write's open() is its
 *       detection, and its latency is the record's time minus the close
 *       time; none within TIMEOUT_MS of the close makes the write lost.  A
 *       record can precede the end of close() by a few microseconds (the
 *       kernel reports the close before the system call returns): such
 *       latencies count as 0 and are counted in before_close.  Prints one
 *       line of key=value statistics (latencies in ms).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;	/* no SA_RESTART: blocking calls return EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "latency-writer: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "",
		strerror(errno));
	exit(1);
}

static int64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until(int64_t mono_ns)
{
	struct timespec ts = { .tv_sec = mono_ns / 1000000000, .tv_nsec = mono_ns % 1000000000 };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stop)
		;
}

static void write_file(const char *path, int flags, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0644);
	if (fd < 0)
		die("open", path);
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("write", path);
		}
		done += (size_t)w;
	}
	if (close(fd) != 0)
		die("close", path);
}

/* CPU time (user + system) this process has used so far, in ms. */
static double self_cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static unsigned long arg_ul(const char *s, const char *name)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || end == s) {
		fprintf(stderr, "latency-writer: bad %s: %s\n", name, s);
		exit(2);
	}
	return v;
}

/* ------------------------------------------------------------------------ */

static int cmd_prepare(const char *dir, unsigned long n)
{
	char path[4096], buf[64];
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		die("mkdir", dir);
	for (unsigned long i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/f%05lu", dir, i);
		int len = snprintf(buf, sizeof buf, "initial %010d of file %07lu\n", 0, i);
		write_file(path, O_CREAT | O_TRUNC, buf, (size_t)len);
	}
	return 0;
}

struct stamp_rec {
	int64_t open_ns, ns;
	unsigned long idx;
};

static int cmd_rate(const char *dir, unsigned long nfiles, unsigned long rate,
		    unsigned long seconds, const char *log, int fresh)
{
	unsigned long total = rate * seconds;
	struct stamp_rec *rec = calloc(total ? total : 1, sizeof *rec);
	if (!rec)
		die("calloc", NULL);
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	catch_signals();

	char path[4096], buf[64];
	int64_t period = 1000000000 / (int64_t)rate;
	int64_t start = now_ns(CLOCK_MONOTONIC) + 1000000;
	int64_t max_lag = 0, sum_lag = 0;
	unsigned long done = 0;
	for (unsigned long i = 0; i < total && !stop; i++) {
		int64_t target = start + (int64_t)i * period;
		int64_t t = now_ns(CLOCK_MONOTONIC);
		if (t < target)
			sleep_until(target);
		else if (t - target > max_lag)
			max_lag = t - target;
		if (t > target)
			sum_lag += t - target;
		int len = snprintf(buf, sizeof buf, "changed %010lu of file %07lu\n", i,
				   fresh ? i : i % nfiles);
		rec[i].open_ns = now_ns(CLOCK_REALTIME);
		if (fresh) {
			snprintf(path, sizeof path, "%s/n%07lu", dir, i);
			write_file(path, O_CREAT | O_EXCL, buf, (size_t)len);
		} else {
			snprintf(path, sizeof path, "%s/f%05lu", dir, i % nfiles);
			write_file(path, 0, buf, (size_t)len);	/* same length: no truncation */
		}
		rec[i].ns = now_ns(CLOCK_REALTIME);
		rec[i].idx = i;
		done++;
	}
	int64_t wall = now_ns(CLOCK_MONOTONIC) - start;

	FILE *f = fopen(log, "w");
	if (!f)
		die("fopen", log);
	for (unsigned long i = 0; i < done; i++) {
		if (fresh)
			fprintf(f, "%" PRId64 " %" PRId64 " %s/n%07lu\n", rec[i].ns, rec[i].open_ns, dir,
				rec[i].idx);
		else
			fprintf(f, "%" PRId64 " %" PRId64 " %s/f%05lu\n", rec[i].ns, rec[i].open_ns, dir,
				rec[i].idx % nfiles);
	}
	if (fclose(f) != 0)
		die("write", log);
	fprintf(stderr, "rate: %lu changes in %.3f s (%.1f/s), behind schedule: max %.3f ms, mean %.3f ms\n",
		done, wall / 1e9, done / (wall / 1e9), max_lag / 1e6, done ? sum_lag / 1e6 / done : 0.0);
	printf("changes=%lu wall_s=%.3f achieved_rate=%.1f max_behind_ms=%.3f cpu_ms=%.0f\n", done, wall / 1e9,
	       done / (wall / 1e9), max_lag / 1e6, self_cpu_ms());
	return done == total ? 0 : 1;
}

static int cmd_noise(const char *dir, unsigned long rate, unsigned long seconds)
{
	enum { TARGETS = 1000 };
	char a[4096], b[4096], buf[96];
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		die("mkdir", dir);
	/* Every target k exists under one of two names, a<k> or b<k>.  An
	 * operation pair writes it in place (open + write + close, same length,
	 * no truncation) and then renames it to its other name. */
	for (unsigned long k = 0; k < TARGETS; k++) {
		snprintf(a, sizeof a, "%s/a%04lu", dir, k);
		snprintf(b, sizeof b, "%s/b%04lu", dir, k);
		unlink(b);
		int len = snprintf(buf, sizeof buf, "noise operation %010d\n", 0);
		write_file(a, O_CREAT | O_TRUNC, buf, (size_t)len);
	}
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	catch_signals();
	/* Pace in 1 ms ticks: rate/1000 operations per tick. */
	const int64_t tick = 1000000;
	int64_t start = now_ns(CLOCK_MONOTONIC);
	int64_t end = seconds ? start + (int64_t)seconds * 1000000000 : INT64_MAX;
	unsigned long ops = 0;
	double per_tick = rate / 1000.0, owed = 0;
	int64_t next = start;
	while (!stop) {
		int64_t t = now_ns(CLOCK_MONOTONIC);
		if (t >= end)
			break;
		if (t < next)
			sleep_until(next);
		next += tick;
		owed += per_tick;
		while (owed >= 1.0) {
			unsigned long pair = ops / 2, k = pair % TARGETS;
			int flip = (int)((pair / TARGETS) % 2);	/* 0: a<k> holds it, 1: b<k> */
			snprintf(a, sizeof a, "%s/%c%04lu", dir, flip ? 'b' : 'a', k);
			if (ops % 2 == 0) {
				int len = snprintf(buf, sizeof buf, "noise operation %010lu\n", ops % 10000000000UL);
				write_file(a, 0, buf, (size_t)len);
			} else {
				snprintf(b, sizeof b, "%s/%c%04lu", dir, flip ? 'a' : 'b', k);
				if (rename(a, b) != 0)
					die("rename", a);
			}
			ops++;
			owed -= 1.0;
		}
	}
	int64_t wall = now_ns(CLOCK_MONOTONIC) - start;
	printf("noise_ops=%lu wall_s=%.3f achieved_rate=%.1f cpu_ms=%.0f\n", ops, wall / 1e9,
	       ops / (wall / 1e9), self_cpu_ms());
	return 0;
}

static int cmd_burst(const char *dir, unsigned long count)
{
	char path[4096], buf[64];
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		die("mkdir", dir);
	int64_t t0 = now_ns(CLOCK_REALTIME);
	for (unsigned long i = 0; i < count; i++) {
		snprintf(path, sizeof path, "%s/b%07lu", dir, i);
		int len = snprintf(buf, sizeof buf, "burst file %lu\n", i);
		write_file(path, O_CREAT | O_EXCL, buf, (size_t)len);
	}
	int64_t t1 = now_ns(CLOCK_REALTIME);
	printf("%" PRId64 " %" PRId64 "\n", t0, t1);
	return 0;
}

static void make_dir(const char *p)
{
	if (mkdir(p, 0755) != 0 && errno != EEXIST)
		die("mkdir", p);
}

static int cmd_corpus(const char *root, unsigned long nfiles, unsigned long ndirs)
{
	char path[4096], buf[64];
	if (ndirs == 0)
		ndirs = 1;
	make_dir(root);
	unsigned long written = 0;
	for (unsigned long d = 0; d < ndirs; d++) {
		snprintf(path, sizeof path, "%s/t%03lu", root, d / 1000);
		if (d % 1000 == 0)
			make_dir(path);
		snprintf(path, sizeof path, "%s/t%03lu/d%06lu", root, d / 1000, d);
		make_dir(path);
		/* files d*nfiles/ndirs .. (d+1)*nfiles/ndirs - 1 */
		unsigned long lo = (unsigned long)((unsigned long long)d * nfiles / ndirs);
		unsigned long hi = (unsigned long)((unsigned long long)(d + 1) * nfiles / ndirs);
		for (unsigned long i = lo; i < hi; i++) {
			snprintf(path, sizeof path, "%s/t%03lu/d%06lu/f%07lu", root, d / 1000, d, i);
			int len = snprintf(buf, sizeof buf, "corpus file %lu\n", i);
			write_file(path, O_CREAT | O_TRUNC, buf, (size_t)len);
			written++;
		}
	}
	printf("files=%lu dirs=%lu\n", written, ndirs);
	return 0;
}

/* Split buf[0..*len) into lines, print complete ones with the stamp, keep the
 * rest at the start of buf. */
static void emit_lines(char *buf, size_t *len, int64_t ns, FILE *out)
{
	size_t start = 0;
	for (size_t i = 0; i < *len; i++) {
		if (buf[i] == '\n') {
			fprintf(out, "%" PRId64 " %.*s\n", ns, (int)(i - start), buf + start);
			start = i + 1;
		}
	}
	memmove(buf, buf + start, *len - start);
	*len -= start;
	fflush(out);
}

enum { LINEBUF = 1 << 20 };

static int cmd_follow(const char *out_path, char **cmd)
{
	static char buf[LINEBUF];
	size_t len = 0;
	int pfd[2];
	FILE *out = fopen(out_path, "w");
	if (!out)
		die("fopen", out_path);
	if (pipe(pfd) != 0)
		die("pipe", NULL);
	pid_t child = fork();
	if (child < 0)
		die("fork", NULL);
	if (child == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execvp(cmd[0], cmd);
		die("exec", cmd[0]);
	}
	close(pfd[1]);
	catch_signals();
	while (!stop) {
		if (len == sizeof buf)
			len = 0;	/* absurdly long line: drop it */
		ssize_t r = read(pfd[0], buf + len, sizeof buf - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("read", "pipe");
		}
		if (r == 0)
			break;
		int64_t ns = now_ns(CLOCK_REALTIME);
		len += (size_t)r;
		emit_lines(buf, &len, ns, out);
	}
	kill(child, SIGTERM);
	int st;
	waitpid(child, &st, 0);
	/* whatever the child wrote before it ended */
	for (;;) {
		ssize_t r = read(pfd[0], buf + len, sizeof buf - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		emit_lines(buf, &len, now_ns(CLOCK_REALTIME), out);
	}
	fclose(out);
	return 0;
}

static int cmd_tail(const char *file)
{
	static char buf[LINEBUF];
	size_t len = 0;
	catch_signals();
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (in < 0)
		die("inotify_init1", NULL);
	int fd;
	while ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT || stop)
			die("open", file);
		usleep(10000);
	}
	if (lseek(fd, 0, SEEK_END) < 0)
		die("lseek", file);
	if (inotify_add_watch(in, file, IN_MODIFY) < 0)
		die("inotify_add_watch", file);
	/* Ready: the caller may start the workload once this line is printed. */
	fprintf(stderr, "tail: following %s\n", file);
	for (;;) {
		for (;;) {
			if (len == sizeof buf)
				len = 0;
			ssize_t r = read(fd, buf + len, sizeof buf - len);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				die("read", file);
			}
			if (r == 0)
				break;
			int64_t ns = now_ns(CLOCK_REALTIME);
			len += (size_t)r;
			emit_lines(buf, &len, ns, stdout);
		}
		if (stop)
			break;
		struct pollfd p = { .fd = in, .events = POLLIN };
		int pr = poll(&p, 1, 200);
		if (pr > 0) {
			char ev[4096];
			while (read(in, ev, sizeof ev) > 0)
				;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------ */

struct entry {
	int64_t ns, from_ns;	/* from_ns: the write's open() (writes only) */
	char *path;
};

static struct entry *read_entries(const char *file, size_t *n, int two_times)
{
	FILE *f = fopen(file, "r");
	if (!f)
		die("fopen", file);
	size_t cap = 1024, cnt = 0;
	struct entry *e = malloc(cap * sizeof *e);
	char *line = NULL;
	size_t lcap = 0;
	ssize_t l;
	while ((l = getline(&line, &lcap, f)) > 0) {
		if (line[l - 1] == '\n')
			line[--l] = 0;
		char *sp = strchr(line, ' ');
		if (!sp || !sp[1])
			continue;
		*sp = 0;
		char *end, *rest = sp + 1;
		long long ns = strtoll(line, &end, 10), from = ns;
		if (*end)
			continue;
		if (two_times) {
			char *sp2 = strchr(rest, ' ');
			if (!sp2 || !sp2[1])
				continue;
			*sp2 = 0;
			from = strtoll(rest, &end, 10);
			if (*end)
				continue;
			rest = sp2 + 1;
		}
		if (cnt == cap) {
			cap *= 2;
			e = realloc(e, cap * sizeof *e);
		}
		if (!e)
			die("realloc", NULL);
		e[cnt].ns = ns;
		e[cnt].from_ns = from;
		e[cnt].path = strdup(rest);
		cnt++;
	}
	free(line);
	fclose(f);
	*n = cnt;
	return e;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	if (c)
		return c;
	return (x->ns > y->ns) - (x->ns < y->ns);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static double pct(const int64_t *v, size_t n, double p)
{
	if (n == 0)
		return -1;
	size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);	/* nearest rank */
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1] / 1e6;
}

static int cmd_match(const char *writes_file, const char *records_file, unsigned long timeout_ms)
{
	size_t nw, nr;
	struct entry *w = read_entries(writes_file, &nw, 1);
	struct entry *r = read_entries(records_file, &nr, 0);
	qsort(r, nr, sizeof *r, cmp_entry);
	int64_t *lat = malloc((nw ? nw : 1) * sizeof *lat);
	int64_t timeout = (int64_t)timeout_ms * 1000000;
	size_t matched = 0, lost = 0, late = 0, before_close = 0;
	double sum = 0;
	for (size_t i = 0; i < nw; i++) {
		/* first record with path == w.path and ns >= the write's open() */
		size_t lo = 0, hi = nr;
		struct entry key = w[i];
		key.ns = w[i].from_ns;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (cmp_entry(&r[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < nr && strcmp(r[lo].path, w[i].path) == 0 && r[lo].ns - w[i].ns <= timeout) {
			int64_t d = r[lo].ns - w[i].ns;
			if (d < 0) {
				before_close++;
				d = 0;
			}
			lat[matched++] = d;
			sum += (double)d;
		} else {
			if (lo < nr && strcmp(r[lo].path, w[i].path) == 0)
				late++;
			lost++;
		}
	}
	qsort(lat, matched, sizeof *lat, cmp_i64);
	printf("changes=%zu records=%zu matched=%zu lost=%zu lost_but_seen_later=%zu before_close=%zu "
	       "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f mean_ms=%.3f\n",
	       nw, nr, matched, lost, late, before_close, pct(lat, matched, 50), pct(lat, matched, 90),
	       pct(lat, matched, 99), matched ? lat[matched - 1] / 1e6 : -1.0,
	       matched ? sum / 1e6 / matched : -1.0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "prepare"))
		return cmd_prepare(argv[2], arg_ul(argv[3], "NFILES"));
	if ((argc == 7 || argc == 8) && !strcmp(argv[1], "rate")) {
		int fresh = argc == 8 && !strcmp(argv[7], "new");
		unsigned long rate = arg_ul(argv[4], "RATE");
		if (rate == 0 || rate > 1000000000)
			return 2;
		return cmd_rate(argv[2], arg_ul(argv[3], "NFILES"), rate,
				arg_ul(argv[5], "SECONDS"), argv[6], fresh);
	}
	if (argc == 5 && !strcmp(argv[1], "noise"))
		return cmd_noise(argv[2], arg_ul(argv[3], "RATE"), arg_ul(argv[4], "SECONDS"));
	if (argc == 4 && !strcmp(argv[1], "burst"))
		return cmd_burst(argv[2], arg_ul(argv[3], "COUNT"));
	if (argc == 5 && !strcmp(argv[1], "corpus"))
		return cmd_corpus(argv[2], arg_ul(argv[3], "NFILES"), arg_ul(argv[4], "NDIRS"));
	if (argc >= 4 && !strcmp(argv[1], "follow"))
		return cmd_follow(argv[2], argv + 3);
	if (argc == 3 && !strcmp(argv[1], "tail"))
		return cmd_tail(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "match"))
		return cmd_match(argv[2], argv[3], arg_ul(argv[4], "TIMEOUT_MS"));
	fprintf(stderr,
		"usage: latency-writer prepare DIR NFILES\n"
		"       latency-writer rate DIR NFILES RATE SECONDS LOG [new]\n"
		"       latency-writer noise DIR RATE SECONDS\n"
		"       latency-writer burst DIR COUNT\n"
		"       latency-writer corpus ROOT NFILES NDIRS\n"
		"       latency-writer follow OUT COMMAND [ARG...]\n"
		"       latency-writer tail FILE\n"
		"       latency-writer match WRITES RECORDS TIMEOUT_MS\n");
	return 2;
}

/*
 * Unit tests for alert/channel: configuration errors with their place, and one delivery
 * of each type against a real peer on this machine: commands written by the test, a
 * UNIX datagram socket, TCP and TLS syslog collectors, an HTTP server that checks the
 * webhook signature with its own HMAC code, an SMTP server, and a fake sendmail.  The
 * peers run in threads of this process (or are spawned scripts) on 127.0.0.1 only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "alert/channel.h"
#include "base/json-parse.h"
#include "base/timeutil.h"

#define CONF "vigil.conf"
#define SECTION_LINE 7
#define ALERT_ID "01936f4e-8a4b-7c2d-9e1f-0a1b2c3d4e5f"
#define MSG_ID_1 "01936f4e-8a4b-7c2d-9e1f-111111111111"
#define MSG_ID_2 "01936f4e-9000-7000-8000-222222222222"
#define EVENT_JSON "{\"alert\":\"" ALERT_ID "\",\"path\":\"/etc/ssl/ca.cnf\"}"
#define TIME_NS 1795752672123456000LL /* 2026-11-27T04:11:12.123456Z, a Friday */

static char dir[64];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/vigil-chan-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	clock_set_source(NULL, NULL);
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- helpers ---- */

static char *path_in(const char *name)
{
	static char p[8][256];
	static unsigned k;
	char *s = p[k++ % 8];

	snprintf(s, 256, "%s/%s", dir, name);
	return s;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t n = 0;

	if (!f)
		return NULL;
	s = calloc(1, 1 << 22);
	assert_non_null(s);
	n = fread(s, 1, (1 << 22) - 1, f);
	s[n] = '\0';
	fclose(f);
	return s;
}

/* Configures a channel from "key", "value", ... pairs, keys on lines 8, 9, ... */
static int configure_v(struct channel *ch, enum channel_type t, struct vg_error *err,
		       const char *const *pairs)
{
	struct channel_kv kv[32];
	size_t n = 0;

	memset(ch, 0, sizeof(*ch));
	ch->name = strdup("ops");
	ch->file = strdup(CONF);
	ch->line = SECTION_LINE;
	ch->type = t;
	for (; pairs[2 * n]; n++)
		kv[n] = (struct channel_kv){ pairs[2 * n], pairs[2 * n + 1],
					     SECTION_LINE + 1 + (unsigned)n };
	memset(err, 0, sizeof(*err));
	return channel_configure(ch, kv, n, err);
}

#define CONFIGURE(ch, t, err, ...) \
	configure_v(ch, t, err, (const char *const[]){ __VA_ARGS__, NULL })

static void configure_ok_v(struct channel *ch, enum channel_type t, const char *const *pairs)
{
	struct vg_error err;
	int r = configure_v(ch, t, &err, pairs);

	if (r < 0)
		fail_msg("configure: %s:%u: %s", err.file, err.line, err.msg);
}
#define CONFIGURE_OK(ch, t, ...) \
	configure_ok_v(ch, t, (const char *const[]){ __VA_ARGS__, NULL })

static struct channel_message message(void)
{
	return (struct channel_message){
		.alert_id = ALERT_ID,
		.message_id = MSG_ID_1,
		.event = "triggered",
		.severity = "high",
		.subject = "Unauthorized change of /etc/ssl/ca.cnf",
		.text = "The file /etc/ssl/ca.cnf changed at 04:11 UTC.\n"
			"No change record covers it.",
		.json = EVENT_JSON,
		.time_ns = TIME_NS,
		.host = "ca1.example.org",
	};
}

static void expect_config_error(int r, const struct vg_error *err, unsigned line,
				const char *needle)
{
	char text[1400], where[64];

	assert_int_equal(r, -EINVAL);
	vg_error_format(err, text, sizeof(text));
	snprintf(where, sizeof(where), CONF ":%u:", line);
	if (strncmp(text, where, strlen(where)) != 0 || !strstr(text, needle))
		fail_msg("error '%s' lacks '%s' or '%s'", text, where, needle);
}

static int64_t fixed_clock(void *userdata)
{
	return *(int64_t *)userdata;
}

/* A port on 127.0.0.1 where nothing listens (bound then closed). */
static int dead_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* ---- a peer on 127.0.0.1 in a thread ---- */

struct msg {
	char *data;
	size_t len;
};

struct srv {
	int lfd, port;
	pthread_t th;
	atomic_bool stop;
	void (*handle)(struct srv *s, int fd);
	SSL_CTX *tls;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned done;		/* connections handled */
	/* HTTP: the answer to give */
	int status;
	char resp_headers[256];
	char resp_body[256];
	/* what arrived: HTTP requests or stream contents, SMTP messages */
	struct msg got[4];
	unsigned n_got;
	char envelope[1024];
};

static void srv_record(struct srv *s, const char *p, size_t n)
{
	pthread_mutex_lock(&s->mu);
	if (s->n_got < 4) {
		s->got[s->n_got].data = malloc(n + 1);
		memcpy(s->got[s->n_got].data, p, n);
		s->got[s->n_got].data[n] = '\0';
		s->got[s->n_got].len = n;
		s->n_got++;
	}
	pthread_mutex_unlock(&s->mu);
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	sigset_t pipe_set;

	/* a client that hung up must not kill the test: SIGPIPE goes to the writing thread */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
	while (!atomic_load(&s->stop)) {
		struct pollfd pfd = { .fd = s->lfd, .events = POLLIN };
		struct timeval tv = { 5, 0 };
		int fd;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		s->handle(s, fd);
		close(fd);
		pthread_mutex_lock(&s->mu);
		s->done++;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

static void srv_start(struct srv *s, void (*handle)(struct srv *, int))
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->handle = handle;
	s->status = 200;
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 8), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &sl), 0);
	s->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

/* Waits until n connections were handled (5 s at most). */
static void srv_wait(struct srv *s, unsigned n)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&s->mu);
	while (s->done < n)
		if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&s->mu);
	assert_true(s->done >= n);
}

static void srv_stop(struct srv *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->th, NULL);
	close(s->lfd);
	for (unsigned i = 0; i < s->n_got; i++)
		free(s->got[i].data);
	if (s->tls)
		SSL_CTX_free(s->tls);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
}

/* A stream peer (syslog over TCP): everything until EOF is one record. */
static void handle_stream(struct srv *s, int fd)
{
	char buf[65536];
	size_t n = 0;
	ssize_t k;

	while (n < sizeof(buf) && (k = read(fd, buf + n, sizeof(buf) - n)) > 0)
		n += (size_t)k;
	srv_record(s, buf, n);
}

/* The same over TLS. */
static void handle_tls(struct srv *s, int fd)
{
	SSL *ssl = SSL_new(s->tls);
	char buf[65536];
	size_t n = 0;
	int k;

	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) == 1) {
		while (n < sizeof(buf) && (k = SSL_read(ssl, buf + n, (int)(sizeof(buf) - n))) > 0)
			n += (size_t)k;
		srv_record(s, buf, n);
	}
	SSL_free(ssl);
}

/* One HTTP/1.1 request per connection; the answer is s->status and friends. */
static void handle_http(struct srv *s, int fd)
{
	char buf[1 << 20], resp[1024];
	size_t n = 0, need = 0;
	char *eoh = NULL;
	ssize_t k;
	int rl;

	while (n < sizeof(buf) - 1 && (k = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0) {
		n += (size_t)k;
		buf[n] = '\0';
		if (!eoh && (eoh = strstr(buf, "\r\n\r\n"))) {
			const char *cl = strcasestr(buf, "\r\ncontent-length:");

			need = (size_t)(eoh + 4 - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (eoh && n >= need)
			break;
	}
	srv_record(s, buf, n);
	rl = snprintf(resp, sizeof(resp),
		      "HTTP/1.1 %d Whatever\r\nContent-Length: %zu\r\n"
		      "Connection: close\r\n%s\r\n%s",
		      s->status, strlen(s->resp_body), s->resp_headers, s->resp_body);
	(void)!write(fd, resp, (size_t)rl);
}

/* The value of header name (lowercase) in the raw request, into out. */
static bool http_header(const char *req, const char *name, char *out, size_t size)
{
	const char *end = strstr(req, "\r\n\r\n");

	for (const char *p = strstr(req, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n")) {
		size_t nl = strlen(name);

		if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
			const char *v = p + 3 + nl, *e = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			snprintf(out, size, "%.*s", (int)(e - v), v);
			return true;
		}
	}
	return false;
}

static const char *http_body(const char *req)
{
	const char *e = strstr(req, "\r\n\r\n");

	return e ? e + 4 : "";
}

/* ---- configuration ---- */

static void test_type_names(void **state)
{
	enum channel_type t;

	for (unsigned i = 0; i < CHANNEL_TYPE__COUNT; i++) {
		assert_int_equal(channel_type_parse(channel_type_name(i), &t), 0);
		assert_int_equal(t, i);
	}
	assert_int_equal(channel_type_parse("sms", &t), -EINVAL);
	assert_null(channel_type_name(CHANNEL_TYPE__COUNT));
}

static void test_configure_errors(void **state)
{
	struct channel ch;
	struct vg_error err;
	int r;

	r = CONFIGURE(&ch, CHANNEL_WEBHOOK, &err, "url", "http://127.0.0.1/x", "colour", "red");
	expect_config_error(r, &err, SECTION_LINE + 2, "unknown key 'colour'");
	channel_release(&ch);
	/* a key of another type is unknown here too */
	r = CONFIGURE(&ch, CHANNEL_EXEC, &err, "command", "/bin/true", "url", "http://x/");
	expect_config_error(r, &err, SECTION_LINE + 2, "unknown key 'url'");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_WEBHOOK, &err, "format", "slack");
	expect_config_error(r, &err, SECTION_LINE, "missing key 'url'");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_EMAIL, &err, "url", "smtp://127.0.0.1", "from", "a@b.example");
	expect_config_error(r, &err, SECTION_LINE, "missing key 'to'");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_EMAIL, &err, "from", "a@b.example", "to", "c@d.example");
	expect_config_error(r, &err, SECTION_LINE, "missing key 'url'");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_EXEC, &err, "timeout", "5");
	expect_config_error(r, &err, SECTION_LINE, "missing key 'command'");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_EXEC, &err, "command", "notify-send x");
	expect_config_error(r, &err, SECTION_LINE + 1, "'notify-send' is not an absolute path");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_PAGERDUTY, &err, "url", "https://127.0.0.1/v2/enqueue");
	expect_config_error(r, &err, SECTION_LINE, "missing key 'routing_key'");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_WEBHOOK, &err, "url", "ftp://127.0.0.1/x");
	expect_config_error(r, &err, SECTION_LINE + 1, "key 'url': 'ftp://127.0.0.1/x'");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_EMAIL, &err, "url", "http://127.0.0.1", "from", "a@b.example",
		      "to", "c@d.example");
	expect_config_error(r, &err, SECTION_LINE + 1, "key 'url'");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_SYSLOG, &err, "target", "udp://127.0.0.1:514");
	expect_config_error(r, &err, SECTION_LINE + 1, "key 'target'");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_SYSLOG, &err, "target", "tcp://127.0.0.1:99999");
	expect_config_error(r, &err, SECTION_LINE + 1, "key 'target'");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_WEBHOOK, &err, "url", "http://127.0.0.1/x", "secret",
		      "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
	expect_config_error(r, &err, SECTION_LINE + 2, "key 'secret'");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_WEBHOOK, &err, "url", "http://127.0.0.1/x", "secret",
		      "whsec_not*base64");
	expect_config_error(r, &err, SECTION_LINE + 2, "key 'secret'");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_WEBHOOK, &err, "url", "http://127.0.0.1/x", "secret",
		      "whsec_c2hvcnQ=");
	expect_config_error(r, &err, SECTION_LINE + 2, "key 'secret'");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_WEBHOOK, &err, "url", "http://127.0.0.1/x", "format", "xml");
	expect_config_error(r, &err, SECTION_LINE + 2, "key 'format': 'xml'");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_EXEC, &err, "command", "/bin/true", "timeout", "0");
	expect_config_error(r, &err, SECTION_LINE + 2, "key 'timeout': '0'");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_EXEC, &err, "command", "/bin/true", "timeout", "301");
	expect_config_error(r, &err, SECTION_LINE + 2, "key 'timeout': '301'");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_EXEC, &err, "command", "/bin/true", "timeout", "ten");
	expect_config_error(r, &err, SECTION_LINE + 2, "key 'timeout'");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_EXEC, &err, "command", "/bin/true", "command", "/bin/false");
	expect_config_error(r, &err, SECTION_LINE + 2, "key 'command' given twice");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_EMAIL, &err, "url", "smtps://127.0.0.1", "starttls", "yes",
		      "from", "a@b.example", "to", "c@d.example");
	expect_config_error(r, &err, SECTION_LINE + 2, "key 'starttls'");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_EMAIL, &err, "url", "smtp://127.0.0.1", "from", "a@b.example",
		      "to", "c@d.example,,e@f.example");
	expect_config_error(r, &err, SECTION_LINE + 3, "key 'to'");
	channel_release(&ch);
	r = CONFIGURE(&ch, CHANNEL_EMAIL, &err, "url", "smtp://127.0.0.1", "from", "a@b.example",
		      "to", "c@d.example\r\nBcc: x@y");
	expect_config_error(r, &err, SECTION_LINE + 3, "control character");
	channel_release(&ch);
}

static void test_configure_ok(void **state)
{
	struct channel ch;

	CONFIGURE_OK(&ch, CHANNEL_EXEC, "command", "/usr/bin/logger  -t vigil", "timeout", "3");
	assert_int_equal(ch.timeout_s, 3);
	assert_string_equal(ch.argv[0], "/usr/bin/logger");
	assert_string_equal(ch.argv[1], "-t");
	assert_string_equal(ch.argv[2], "vigil");
	assert_null(ch.argv[3]);
	channel_release(&ch);
	CONFIGURE_OK(&ch, CHANNEL_SYSLOG, "timeout", "10");
	assert_string_equal(ch.target, "local");
	channel_release(&ch);
	CONFIGURE_OK(&ch, CHANNEL_PAGERDUTY, "routing_key", "R0UT1NGKEY");
	assert_string_equal(ch.url, "https://events.pagerduty.com/v2/enqueue");
	assert_int_equal(ch.timeout_s, 10);
	channel_release(&ch);
	CONFIGURE_OK(&ch, CHANNEL_WEBHOOK, "url", "https://example.org/hook");
	assert_string_equal(ch.format, "json");
	channel_release(&ch);
	CONFIGURE_OK(&ch, CHANNEL_EMAIL, "url", "smtp://[::1]:25", "starttls", "yes", "from",
		     "Vigil <vigil@example.org>", "to", "a@example.org, b@example.org");
	assert_true(ch.starttls);
	channel_release(&ch);
}

/* ---- exec ---- */

static void exec_with(const char *script, const char *timeout, struct channel_result *res,
		      int64_t *ret_ms)
{
	struct channel_message m = message();
	struct channel ch;
	char cmd[512];
	int64_t t0;

	write_file(path_in("hook.sh"), script, 0755);
	snprintf(cmd, sizeof(cmd), "%s %s", path_in("hook.sh"), path_in("stdin.json"));
	CONFIGURE_OK(&ch, CHANNEL_EXEC, "command", cmd, "timeout", timeout);
	unlink(path_in("stdin.json"));
	t0 = clock_monotonic_ns();
	assert_int_equal(channel_deliver(&ch, &m, res), 0);
	if (ret_ms)
		*ret_ms = (clock_monotonic_ns() - t0) / 1000000;
	channel_release(&ch);
}

static void test_exec(void **state)
{
	struct channel_result res;
	char want[256];
	char *got;
	int64_t ms;

	exec_with("#!/bin/sh\ncat > \"$1\"\necho \"queued $VIGIL_ALERT_ID $VIGIL_EVENT\"\n", "5",
		  &res, NULL);
	assert_true(res.delivered);
	assert_false(res.permanent);
	snprintf(want, sizeof(want), "%s: exit 0: queued " ALERT_ID " triggered",
		 path_in("hook.sh"));
	assert_string_equal(res.detail, want);
	got = read_all(path_in("stdin.json"));
	assert_non_null(got);
	assert_string_equal(got, EVENT_JSON);
	free(got);

	exec_with("#!/bin/sh\ncat > \"$1\"\necho 'queue full, later' >&2\nexit 75\n", "5", &res,
		  NULL);
	assert_false(res.delivered);
	assert_false(res.permanent);
	assert_non_null(strstr(res.detail, ": exit 75: queue full, later"));

	exec_with("#!/bin/sh\necho 'no such ticket queue'\nexit 2\n", "5", &res, NULL);
	assert_false(res.delivered);
	assert_true(res.permanent);
	assert_non_null(strstr(res.detail, ": exit 2: no such ticket queue"));

	/* the whole process group goes at the timeout, not only the shell */
	exec_with("#!/bin/sh\nsleep 30\n", "1", &res, &ms);
	assert_false(res.delivered);
	assert_false(res.permanent);
	assert_non_null(strstr(res.detail, ": timed out after 1 s"));
	assert_true(ms >= 900 && ms < 4000);

	/* output far past the cap, and a first line of it in the detail */
	exec_with("#!/bin/sh\nhead -c 300000 /dev/zero | tr '\\0' 'x'\nexit 3\n", "5", &res, NULL);
	assert_true(res.permanent);
	assert_non_null(strstr(res.detail, ": exit 3: xxxx"));
	assert_true(strlen(res.detail) < sizeof(res.detail));
}

static void test_exec_unread_stdin_and_missing(void **state)
{
	struct channel_message m = message();
	struct channel_result res;
	struct channel ch;
	char *big = malloc(2 << 20);

	/* 2 MiB on stdin to a command that never reads it: no SIGPIPE, exit status counts */
	assert_non_null(big);
	memset(big, ' ', 2 << 20);
	big[0] = '{';
	big[(2 << 20) - 2] = '}';
	big[(2 << 20) - 1] = '\0';
	m.json = big;
	write_file(path_in("quick.sh"), "#!/bin/sh\nexit 0\n", 0755);
	CONFIGURE_OK(&ch, CHANNEL_EXEC, "command", path_in("quick.sh"));
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	assert_true(res.delivered);
	channel_release(&ch);
	free(big);

	m = message();
	CONFIGURE_OK(&ch, CHANNEL_EXEC, "command", "/nonexistent/vigil-hook --x");
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	assert_false(res.delivered);
	assert_string_equal(res.detail, "/nonexistent/vigil-hook: no such file or directory");
	channel_release(&ch);
}

/* ---- webhook ---- */

static void webhook_channel(struct channel *ch, const struct srv *s, const char *path,
			    const char *secret, const char *format)
{
	char url[256];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
	if (secret)
		CONFIGURE_OK(ch, CHANNEL_WEBHOOK, "url", url, "secret", secret, "format", format,
			     "timeout", "5");
	else
		CONFIGURE_OK(ch, CHANNEL_WEBHOOK, "url", url, "format", format, "timeout", "5");
}

/* The Standard Webhooks specification's own example: the same key, id, timestamp and
 * body must give the signature it publishes. */
static void test_webhook_known_answer(void **state)
{
	struct channel_message m = message();
	int64_t now = 1614265330LL * 1000000000;
	struct channel_result res;
	struct channel ch;
	struct srv s;
	char v[256];

	srv_start(&s, handle_http);
	clock_set_source(fixed_clock, &now);
	webhook_channel(&ch, &s, "/vigil", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "json");
	m.message_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
	m.json = "{\"test\": 2432232314}";
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	clock_set_source(NULL, NULL);
	srv_wait(&s, 1);
	assert_true(res.delivered);
	assert_int_equal(s.n_got, 1);
	assert_true(http_header(s.got[0].data, "webhook-signature", v, sizeof(v)));
	assert_string_equal(v, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	assert_true(http_header(s.got[0].data, "webhook-timestamp", v, sizeof(v)));
	assert_string_equal(v, "1614265330");
	assert_true(http_header(s.got[0].data, "webhook-id", v, sizeof(v)));
	assert_string_equal(v, "msg_p5jXN8AQM9LWM0D4loKWxJek");
	assert_string_equal(http_body(s.got[0].data), "{\"test\": 2432232314}");
	channel_release(&ch);
	srv_stop(&s);
}

static void test_webhook_signed_delivery(void **state)
{
	struct channel_message m = message();
	unsigned char key[32], mac[32];
	char secret[128] = "whsec_", id[128], ts[64], sig[128], want[128], ctype[64];
	unsigned mac_len = 0;
	struct channel_result res;
	struct channel ch;
	struct srv s;
	char *signed_content;
	const char *body;
	int64_t before = time(NULL);

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 37 + 11);
	EVP_EncodeBlock((unsigned char *)secret + 6, key, sizeof(key));
	srv_start(&s, handle_http);
	s.status = 204;
	webhook_channel(&ch, &s, "/vigil", secret, "json");
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	srv_wait(&s, 1);
	assert_true(res.delivered);
	assert_false(res.permanent);
	assert_int_equal(res.retry_after_s, 0);
	assert_non_null(strstr(res.detail, "HTTP 204 from http://127.0.0.1:"));

	assert_int_equal(strncmp(s.got[0].data, "POST /vigil HTTP/1.1\r\n", 22), 0);
	assert_true(http_header(s.got[0].data, "content-type", ctype, sizeof(ctype)));
	assert_string_equal(ctype, "application/json");
	assert_true(http_header(s.got[0].data, "webhook-id", id, sizeof(id)));
	assert_string_equal(id, MSG_ID_1);
	assert_true(http_header(s.got[0].data, "webhook-timestamp", ts, sizeof(ts)));
	assert_true(strtoll(ts, NULL, 10) >= before && strtoll(ts, NULL, 10) <= time(NULL));
	body = http_body(s.got[0].data);
	assert_string_equal(body, EVENT_JSON);
	/* the receiver's own check, with OpenSSL's HMAC and base64 */
	assert_true(asprintf(&signed_content, "%s.%s.%s", id, ts, body) > 0);
	assert_non_null(HMAC(EVP_sha256(), key, sizeof(key), (unsigned char *)signed_content,
			     strlen(signed_content), mac, &mac_len));
	memcpy(want, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)want + 3, mac, (int)mac_len);
	assert_true(http_header(s.got[0].data, "webhook-signature", sig, sizeof(sig)));
	assert_string_equal(sig, want);
	free(signed_content);
	channel_release(&ch);
	srv_stop(&s);
}

static void test_webhook_status_mapping(void **state)
{
	struct channel_message m = message();
	int64_t now = TIME_NS;
	struct channel_result res;
	struct channel ch;
	struct srv s;
	char want[256], date[64];
	time_t later = (time_t)(TIME_NS / 1000000000) + 300;
	struct tm tm;

	srv_start(&s, handle_http);
	webhook_channel(&ch, &s, "/vigil", NULL, "json");

	s.status = 503;
	snprintf(s.resp_headers, sizeof(s.resp_headers), "Retry-After: 120\r\n");
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	assert_false(res.delivered);
	assert_false(res.permanent);
	assert_int_equal(res.retry_after_s, 120);
	snprintf(want, sizeof(want), "HTTP 503 from http://127.0.0.1:%d/vigil", s.port);
	assert_string_equal(res.detail, want);

	/* Retry-After as an HTTP-date, against the injected clock */
	s.status = 429;
	gmtime_r(&later, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(s.resp_headers, sizeof(s.resp_headers), "Retry-After: %s\r\n", date);
	clock_set_source(fixed_clock, &now);
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	clock_set_source(NULL, NULL);
	assert_false(res.delivered);
	assert_false(res.permanent);
	assert_int_equal(res.retry_after_s, 300);

	s.status = 408;
	s.resp_headers[0] = '\0';
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	assert_false(res.permanent);
	assert_int_equal(res.retry_after_s, 0);

	s.status = 400;
	snprintf(s.resp_body, sizeof(s.resp_body), "missing field\nsecond line");
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	assert_false(res.delivered);
	assert_true(res.permanent);
	snprintf(want, sizeof(want), "HTTP 400 from http://127.0.0.1:%d/vigil: missing field",
		 s.port);
	assert_string_equal(res.detail, want);
	channel_release(&ch);

	/* a secret in the path (Slack's way) stays out of the detail */
	s.status = 500;
	s.resp_body[0] = '\0';
	webhook_channel(&ch, &s, "/services/T000/B000/S3CR3TT0K3N?x=1", NULL, "slack");
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	assert_null(strstr(res.detail, "S3CR3T"));
	snprintf(want, sizeof(want), "HTTP 500 from http://127.0.0.1:%d/services/...", s.port);
	assert_string_equal(res.detail, want);
	channel_release(&ch);
	srv_wait(&s, 5);
	srv_stop(&s);

	/* nobody there */
	{
		char url[128];
		int port = dead_port();

		snprintf(url, sizeof(url), "http://127.0.0.1:%d/vigil", port);
		CONFIGURE_OK(&ch, CHANNEL_WEBHOOK, "url", url);
		assert_int_equal(channel_deliver(&ch, &m, &res), 0);
		assert_false(res.delivered);
		assert_false(res.permanent);
		snprintf(want, sizeof(want), "%s: connection refused", url);
		assert_string_equal(res.detail, want);
		channel_release(&ch);
	}
}

static struct json_value *post_json(struct srv *s, unsigned i)
{
	struct json_value *doc = NULL;
	struct vg_error err;
	const char *body = http_body(s->got[i].data);

	if (json_parse(body, strlen(body), NULL, "body", &doc, &err) < 0)
		fail_msg("not JSON: %s: %s", err.msg, body);
	return doc;
}

static const char *jstr(const struct json_value *v, const char *key)
{
	const struct json_value *x = json_get(v, key);

	assert_non_null(x);
	assert_int_equal(x->type, JSON_STRING);
	return x->str.s;
}

static void test_webhook_formats(void **state)
{
	struct channel_message m = message();
	const struct json_value *att, *card, *body;
	struct json_value *doc;
	struct channel_result res;
	struct channel ch;
	struct srv s;

	m.control_test = true;
	srv_start(&s, handle_http);
	webhook_channel(&ch, &s, "/slack", NULL, "slack");
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	assert_true(res.delivered);
	channel_release(&ch);
	webhook_channel(&ch, &s, "/mm", NULL, "mattermost");
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	channel_release(&ch);
	webhook_channel(&ch, &s, "/teams", NULL, "teams");
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	channel_release(&ch);
	srv_wait(&s, 3);

	doc = post_json(&s, 0);
	assert_string_equal(jstr(doc, "text"),
			    "*[CONTROL TEST] Unauthorized change of /etc/ssl/ca.cnf*\n"
			    "The file /etc/ssl/ca.cnf changed at 04:11 UTC.\n"
			    "No change record covers it.");
	assert_int_equal(doc->obj.n, 1);
	json_value_free(doc);

	doc = post_json(&s, 1);
	assert_non_null(strstr(jstr(doc, "text"), "[CONTROL TEST]"));
	assert_string_equal(jstr(doc, "username"), "vigil");
	json_value_free(doc);

	doc = post_json(&s, 2);
	assert_string_equal(jstr(doc, "type"), "message");
	att = json_get(doc, "attachments");
	assert_non_null(att);
	assert_int_equal(att->type, JSON_ARRAY);
	assert_int_equal(att->arr.n, 1);
	assert_string_equal(jstr(att->arr.items[0], "contentType"),
			    "application/vnd.microsoft.card.adaptive");
	card = json_get(att->arr.items[0], "content");
	assert_non_null(card);
	assert_string_equal(jstr(card, "type"), "AdaptiveCard");
	body = json_get(card, "body");
	assert_non_null(body);
	assert_int_equal(body->type, JSON_ARRAY);
	assert_true(body->arr.n >= 2);
	assert_string_equal(jstr(body->arr.items[0], "type"), "TextBlock");
	assert_string_equal(jstr(body->arr.items[0], "text"),
			    "[CONTROL TEST] Unauthorized change of /etc/ssl/ca.cnf");
	assert_string_equal(jstr(body->arr.items[1], "type"), "TextBlock");
	assert_non_null(strstr(jstr(body->arr.items[1], "text"), "No change record covers it."));
	json_value_free(doc);
	srv_stop(&s);
}

/* ---- pagerduty ---- */

static void test_pagerduty(void **state)
{
	struct channel_message m = message();
	const struct json_value *p, *cd;
	struct json_value *doc;
	struct channel_result res;
	struct channel ch;
	struct srv s;
	char url[128];

	srv_start(&s, handle_http);
	s.status = 202;
	snprintf(s.resp_body, sizeof(s.resp_body), "{\"status\":\"success\"}");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v2/enqueue", s.port);
	CONFIGURE_OK(&ch, CHANNEL_PAGERDUTY, "url", url, "routing_key", "R0UT1NGKEY0123456789");
	m.severity = "medium";
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	assert_true(res.delivered);
	m.event = "resolved";
	m.message_id = MSG_ID_2;
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	m.event = "acknowledged";
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	srv_wait(&s, 3);

	assert_int_equal(strncmp(s.got[0].data, "POST /v2/enqueue HTTP/1.1\r\n", 27), 0);
	doc = post_json(&s, 0);
	assert_string_equal(jstr(doc, "routing_key"), "R0UT1NGKEY0123456789");
	assert_string_equal(jstr(doc, "event_action"), "trigger");
	assert_string_equal(jstr(doc, "dedup_key"), ALERT_ID);
	p = json_get(doc, "payload");
	assert_non_null(p);
	assert_string_equal(jstr(p, "summary"), "Unauthorized change of /etc/ssl/ca.cnf");
	assert_string_equal(jstr(p, "source"), "ca1.example.org");
	assert_string_equal(jstr(p, "severity"), "warning");
	assert_string_equal(jstr(p, "timestamp"), "2026-11-27T04:11:12.123456Z");
	cd = json_get(p, "custom_details");
	assert_non_null(cd);
	assert_string_equal(jstr(cd, "path"), "/etc/ssl/ca.cnf");
	json_value_free(doc);

	doc = post_json(&s, 1);
	assert_string_equal(jstr(doc, "event_action"), "resolve");
	assert_string_equal(jstr(doc, "dedup_key"), ALERT_ID);
	json_value_free(doc);
	doc = post_json(&s, 2);
	assert_string_equal(jstr(doc, "event_action"), "acknowledge");
	json_value_free(doc);
	channel_release(&ch);
	srv_stop(&s);
}

/* ---- syslog ---- */

static void test_syslog_local(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct channel_message m = message();
	struct channel_result res;
	struct channel ch;
	struct timeval tv = { 5, 0 };
	char got[4096], want[1024];
	ssize_t n;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path_in("log.sock"));
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CONFIGURE_OK(&ch, CHANNEL_SYSLOG, "socket", path_in("log.sock"));

	m.control_test = true;
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	assert_true(res.delivered);
	n = recv(fd, got, sizeof(got) - 1, 0);
	assert_true(n > 0);
	got[n] = '\0';
	/* authpriv (10) * 8 + err (3) */
	snprintf(want, sizeof(want),
		 "<83>1 2026-11-27T04:11:12.123456Z ca1.example.org vigil %d triggered "
		 "[vigil@32473 alert=\"" ALERT_ID "\" message=\"" MSG_ID_1 "\" "
		 "event=\"triggered\" severity=\"high\" test=\"true\"] "
		 "[CONTROL TEST] Unauthorized change of /etc/ssl/ca.cnf",
		 (int)getpid());
	assert_string_equal(got, want);

	/* SD-PARAM escaping, an unknown severity, a host name that is not one */
	m = message();
	m.severity = "we\"ird]\\";
	m.event = "re]solved";
	m.host = "bad host";
	m.subject = "two\nlines";
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	n = recv(fd, got, sizeof(got) - 1, 0);
	assert_true(n > 0);
	got[n] = '\0';
	snprintf(want, sizeof(want),
		 "<86>1 2026-11-27T04:11:12.123456Z - vigil %d re]solved "
		 "[vigil@32473 alert=\"" ALERT_ID "\" message=\"" MSG_ID_1 "\" "
		 "event=\"re\\]solved\" severity=\"we\\\"ird\\]\\\\\"] two lines",
		 (int)getpid());
	assert_string_equal(got, want);
	close(fd);

	/* identifiers go into headers as they are: they must be tokens */
	m.event = "re solved";
	assert_int_equal(channel_deliver(&ch, &m, &res), -EINVAL);
	m.event = "triggered";
	m.alert_id = "a\r\nBcc: x@y";
	assert_int_equal(channel_deliver(&ch, &m, &res), -EINVAL);
	m = message();

	/* nobody listening */
	unlink(path_in("log.sock"));
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	assert_false(res.delivered);
	snprintf(want, sizeof(want), "%s: no such file or directory", path_in("log.sock"));
	assert_string_equal(res.detail, want);
	channel_release(&ch);
}

/* Splits octet-counted frames; returns how many, each checked to be whole. */
static unsigned check_frames(const char *p, size_t n, const char *prefix)
{
	unsigned k = 0;

	while (n > 0) {
		char *sp;
		unsigned long len = strtoul(p, &sp, 10);

		assert_true(sp > p && *sp == ' ');
		assert_true((size_t)(sp + 1 - p) + len <= n);
		assert_int_equal(strncmp(sp + 1, prefix, strlen(prefix)), 0);
		n -= (size_t)(sp + 1 - p) + len;
		p = sp + 1 + len;
		k++;
	}
	return k;
}

static void test_syslog_tcp(void **state)
{
	struct channel_message m = message();
	struct channel_result res;
	struct channel ch;
	struct srv s;
	char target[128], want[256];

	srv_start(&s, handle_stream);
	snprintf(target, sizeof(target), "tcp://127.0.0.1:%d", s.port);
	CONFIGURE_OK(&ch, CHANNEL_SYSLOG, "target", target, "timeout", "5");
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	assert_true(res.delivered);
	m.subject = "second";
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	srv_wait(&s, 2);
	assert_int_equal(s.n_got, 2);
	assert_int_equal(check_frames(s.got[0].data, s.got[0].len, "<83>1 2026-11-27T"), 1);
	assert_int_equal(check_frames(s.got[1].data, s.got[1].len, "<83>1 2026-11-27T"), 1);
	assert_non_null(strstr(s.got[1].data, "] second"));
	assert_int_equal(strtoul(s.got[1].data, NULL, 10),
			 s.got[1].len - (size_t)(strchr(s.got[1].data, ' ') + 1 - s.got[1].data));
	channel_release(&ch);
	srv_stop(&s);

	snprintf(target, sizeof(target), "tcp://127.0.0.1:%d", dead_port());
	CONFIGURE_OK(&ch, CHANNEL_SYSLOG, "target", target);
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	assert_false(res.delivered);
	snprintf(want, sizeof(want), "%s: connection refused", target);
	assert_string_equal(res.detail, want);
	channel_release(&ch);
}

/* A self-signed certificate for IP 127.0.0.1 (and no DNS name). */
static void make_cert(const char *cert_path, const char *key_path, long serial)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	X509_EXTENSION *ext;
	X509V3_CTX ctx;
	FILE *f;

	assert_non_null(pk);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pk);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"vigil test",
				   -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
	assert_non_null(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	f = fopen(cert_path, "w");
	assert_non_null(f);
	PEM_write_X509(f, x);
	fclose(f);
	if (key_path) {
		f = fopen(key_path, "w");
		assert_non_null(f);
		PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
		fclose(f);
	}
	X509_free(x);
	EVP_PKEY_free(pk);
}

static void test_syslog_tls(void **state)
{
	struct channel_message m = message();
	struct channel_result res;
	struct channel ch;
	struct srv s;
	char target[128];

	make_cert(path_in("server.pem"), path_in("server.key"), 1);
	make_cert(path_in("other.pem"), NULL, 2);
	srv_start(&s, handle_tls);
	s.tls = SSL_CTX_new(TLS_server_method());
	assert_non_null(s.tls);
	SSL_CTX_set_num_tickets(s.tls, 0);
	assert_int_equal(SSL_CTX_use_certificate_file(s.tls, path_in("server.pem"),
						      SSL_FILETYPE_PEM), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(s.tls, path_in("server.key"),
						     SSL_FILETYPE_PEM), 1);

	snprintf(target, sizeof(target), "tls://127.0.0.1:%d", s.port);
	CONFIGURE_OK(&ch, CHANNEL_SYSLOG, "target", target, "ca_file", path_in("server.pem"),
		     "timeout", "5");
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	if (!res.delivered)
		fail_msg("not delivered: %s", res.detail);
	srv_wait(&s, 1);
	assert_int_equal(s.n_got, 1);
	assert_int_equal(check_frames(s.got[0].data, s.got[0].len, "<83>1 2026-11-27T"), 1);
	assert_non_null(strstr(s.got[0].data, "] Unauthorized change of /etc/ssl/ca.cnf"));
	channel_release(&ch);

	/* a CA that did not sign the server's certificate */
	CONFIGURE_OK(&ch, CHANNEL_SYSLOG, "target", target, "ca_file", path_in("other.pem"),
		     "timeout", "5");
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	assert_false(res.delivered);
	assert_non_null(strstr(res.detail, "certificate verify failed"));
	assert_int_equal(strncmp(res.detail, target, strlen(target)), 0);
	channel_release(&ch);

	/* the right CA, but a name the certificate does not carry */
	snprintf(target, sizeof(target), "tls://localhost:%d", s.port);
	CONFIGURE_OK(&ch, CHANNEL_SYSLOG, "target", target, "ca_file", path_in("server.pem"),
		     "timeout", "5");
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	assert_false(res.delivered);
	assert_non_null(strstr(res.detail, "certificate verify failed"));
	channel_release(&ch);
	srv_wait(&s, 3);
	assert_int_equal(s.n_got, 1);
	srv_stop(&s);
}

/* ---- email ---- */

/* A minimal SMTP server: EHLO, MAIL, RCPT, DATA, QUIT; each message (dot-unstuffed) is
 * recorded, the envelope appended to s->envelope. */
static void handle_smtp(struct srv *s, int fd)
{
	FILE *in = fdopen(dup(fd), "r");
	char line[4096];
	char *msg = NULL;
	size_t mlen = 0;
	FILE *mf = NULL;
	bool data = false;

	dprintf(fd, "220 test.invalid ESMTP\r\n");
	while (fgets(line, sizeof(line), in)) {
		if (data) {
			if (strcmp(line, ".\r\n") == 0) {
				fclose(mf);
				mf = NULL;
				srv_record(s, msg, mlen);
				free(msg);
				msg = NULL;
				data = false;
				dprintf(fd, "250 2.0.0 queued\r\n");
			} else {
				fputs(line[0] == '.' ? line + 1 : line, mf);
			}
			continue;
		}
		if (strncasecmp(line, "EHLO", 4) == 0) {
			dprintf(fd, "250-test.invalid\r\n250 8BITMIME\r\n");
		} else if (strncasecmp(line, "MAIL FROM:", 10) == 0 ||
			   strncasecmp(line, "RCPT TO:", 8) == 0) {
			pthread_mutex_lock(&s->mu);
			snprintf(s->envelope + strlen(s->envelope),
				 sizeof(s->envelope) - strlen(s->envelope), "%s", line);
			pthread_mutex_unlock(&s->mu);
			dprintf(fd, "250 2.1.0 ok\r\n");
		} else if (strncasecmp(line, "DATA", 4) == 0) {
			mf = open_memstream(&msg, &mlen);
			data = true;
			dprintf(fd, "354 go ahead\r\n");
		} else if (strncasecmp(line, "QUIT", 4) == 0) {
			dprintf(fd, "221 bye\r\n");
			break;
		} else if (strncasecmp(line, "STARTTLS", 8) == 0) {
			dprintf(fd, "502 5.5.1 not here\r\n");
		} else {
			dprintf(fd, "250 ok\r\n");
		}
	}
	if (mf) {
		fclose(mf);
		free(msg);
	}
	fclose(in);
}

/* The header field's value (unfolded), or NULL. */
static char *mail_header(const char *msg, const char *name)
{
	const char *end = strstr(msg, "\r\n\r\n");
	size_t nl = strlen(name);

	for (const char *p = msg; p && p < end; p = strstr(p, "\r\n") + 2) {
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			const char *e = v;
			char *out;
			size_t k = 0;

			while (1) {
				e = strstr(e, "\r\n");
				if (e[2] != ' ' && e[2] != '\t')
					break;
				e += 2;
			}
			out = calloc(1, (size_t)(e - v) + 1);
			for (const char *q = v; q < e; q++)
				if (*q != '\r' && *q != '\n')
					out[k++] = *q;
			return out;
		}
		if (p == end)
			break;
	}
	return NULL;
}

/* Decodes a Subject made of "=?UTF-8?B?...?=" words separated by white space. */
static void decode_words(const char *v, char *out, size_t size)
{
	size_t k = 0;

	while (*v) {
		const char *b, *e;
		unsigned char tmp[256];
		int n;

		while (*v == ' ')
			v++;
		if (!*v)
			break;
		assert_int_equal(strncmp(v, "=?UTF-8?B?", 10), 0);
		b = v + 10;
		e = strstr(b, "?=");
		assert_non_null(e);
		assert_true(e + 2 - v <= 75);
		n = EVP_DecodeBlock(tmp, (const unsigned char *)b, (int)(e - b));
		assert_true(n >= 0);
		while (n > 0 && e[-1] == '=' && (e--, 1))
			n--;
		assert_true(k + (size_t)n < size);
		memcpy(out + k, tmp, (size_t)n);
		k += (size_t)n;
		v = strstr(v + 10, "?=") + 2;
	}
	out[k] = '\0';
}

static void test_email_smtp(void **state)
{
	struct channel_message m = message();
	struct channel_result res;
	struct channel ch;
	struct srv s;
	char url[128], want[256], subject[512];
	size_t env_len;
	char *h;

	srv_start(&s, handle_smtp);
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", s.port);
	CONFIGURE_OK(&ch, CHANNEL_EMAIL, "url", url, "from", "Vigil <vigil@ca1.example.org>", "to",
		     "security@example.org, Ops Desk <ops@example.org>", "timeout", "5");
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	if (!res.delivered)
		fail_msg("not delivered: %s", res.detail);
	snprintf(want, sizeof(want), "%s: 250 accepted", url);
	assert_string_equal(res.detail, want);

	m.message_id = MSG_ID_2;
	m.event = "acknowledged";
	m.subject = "Änderung an /etc/ssl/ca.cnf bestätigt — "
		    "ein längerer Betreff über 45 Bytes";
	m.control_test = true;
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	assert_true(res.delivered);
	srv_wait(&s, 2);
	assert_int_equal(s.n_got, 2);
	assert_string_equal(s.envelope,
			    "MAIL FROM:<vigil@ca1.example.org>\r\n"
			    "RCPT TO:<security@example.org>\r\nRCPT TO:<ops@example.org>\r\n"
			    "MAIL FROM:<vigil@ca1.example.org>\r\n"
			    "RCPT TO:<security@example.org>\r\nRCPT TO:<ops@example.org>\r\n");

	/* the first message of the alert */
	h = mail_header(s.got[0].data, "Date");
	assert_string_equal(h, " Fri, 27 Nov 2026 04:11:12 +0000");
	free(h);
	h = mail_header(s.got[0].data, "From");
	assert_string_equal(h, " Vigil <vigil@ca1.example.org>");
	free(h);
	h = mail_header(s.got[0].data, "To");
	assert_string_equal(h, " security@example.org, Ops Desk <ops@example.org>");
	free(h);
	h = mail_header(s.got[0].data, "Subject");
	assert_string_equal(h, " Unauthorized change of /etc/ssl/ca.cnf");
	free(h);
	h = mail_header(s.got[0].data, "Message-ID");
	assert_string_equal(h, " <" ALERT_ID "@ca1.example.org>");
	free(h);
	assert_null(mail_header(s.got[0].data, "In-Reply-To"));
	assert_null(mail_header(s.got[0].data, "References"));
	h = mail_header(s.got[0].data, "Content-Type");
	assert_string_equal(h, " text/plain; charset=utf-8");
	free(h);
	assert_non_null(strstr(s.got[0].data,
			       "\r\n\r\nThe file /etc/ssl/ca.cnf changed at 04:11 UTC.\r\n"
			       "No change record covers it.\r\n"));
	assert_non_null(strstr(s.got[0].data, "\r\n" EVENT_JSON "\r\n"));

	/* a later one threads under it */
	h = mail_header(s.got[1].data, "Message-ID");
	assert_string_equal(h, " <" MSG_ID_2 "@ca1.example.org>");
	free(h);
	h = mail_header(s.got[1].data, "In-Reply-To");
	assert_string_equal(h, " <" ALERT_ID "@ca1.example.org>");
	free(h);
	h = mail_header(s.got[1].data, "References");
	assert_string_equal(h, " <" ALERT_ID "@ca1.example.org>");
	free(h);
	h = mail_header(s.got[1].data, "Subject");
	decode_words(h, subject, sizeof(subject));
	free(h);
	assert_string_equal(subject, "[CONTROL TEST] Änderung an /etc/ssl/ca.cnf bestätigt — "
				     "ein längerer Betreff über 45 Bytes");
	assert_non_null(strstr(s.got[1].data, "\r\n\r\n[CONTROL TEST]"));
	channel_release(&ch);

	/* starttls = yes and a server without it: nothing goes out in the clear */
	env_len = strlen(s.envelope);
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", s.port);
	CONFIGURE_OK(&ch, CHANNEL_EMAIL, "url", url, "starttls", "yes", "from",
		     "vigil@ca1.example.org", "to", "security@example.org", "timeout", "5");
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	assert_false(res.delivered);
	assert_int_equal(strncmp(res.detail, url, strlen(url)), 0);
	srv_wait(&s, 3);
	assert_int_equal(s.n_got, 2);
	assert_int_equal(strlen(s.envelope), env_len);
	assert_non_null(strcasestr(res.detail, "starttls"));
	assert_int_not_equal(res.detail[strlen(res.detail) - 1], '.');
	channel_release(&ch);
	srv_stop(&s);

	/* nobody there: worth retrying */
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", dead_port());
	CONFIGURE_OK(&ch, CHANNEL_EMAIL, "url", url, "from", "vigil@ca1.example.org", "to",
		     "security@example.org");
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	assert_false(res.delivered);
	assert_false(res.permanent);
	snprintf(want, sizeof(want), "%s: connection refused", url);
	assert_string_equal(res.detail, want);
	channel_release(&ch);
}

static void test_email_sendmail(void **state)
{
	struct channel_message m = message();
	struct channel_result res;
	struct channel ch;
	char script[512], *args, *msg, *long_json;
	size_t max_line = 0, run = 0;

	snprintf(script, sizeof(script),
		 "#!/bin/sh\nprintf '%%s\\n' \"$@\" > %s\ncat > %s\n", path_in("sm-args"),
		 path_in("sm-msg"));
	write_file(path_in("sendmail"), script, 0755);
	CONFIGURE_OK(&ch, CHANNEL_EMAIL, "sendmail", path_in("sendmail"), "from",
		     "vigil@ca1.example.org", "to", "security@example.org");
	/* one JSON line longer than SMTP allows: the body goes quoted-printable */
	long_json = calloc(1, 3000);
	memcpy(long_json, "{\"pad\":\"", 8);
	memset(long_json + 8, 'a', 2500);
	memcpy(long_json + 2508, "=\"}", 4);
	m.json = long_json;
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	if (!res.delivered)
		fail_msg("not delivered: %s", res.detail);
	args = read_all(path_in("sm-args"));
	assert_string_equal(args, "-oi\n-t\n");
	msg = read_all(path_in("sm-msg"));
	assert_null(strchr(msg, '\r'));
	assert_non_null(strstr(msg, "\nTo: security@example.org\n"));
	assert_non_null(strstr(msg, "\nMessage-ID: <" ALERT_ID "@ca1.example.org>\n"));
	assert_non_null(strstr(msg, "\nContent-Transfer-Encoding: quoted-printable\n"));
	assert_non_null(strstr(msg, "=3D\"}"));
	for (const char *p = msg; *p; p++) {
		run = *p == '\n' ? 0 : run + 1;
		if (run > max_line)
			max_line = run;
	}
	assert_true(max_line <= 76);
	free(args);
	free(msg);
	free(long_json);
	channel_release(&ch);

	/* a transport that says "try later" */
	write_file(path_in("sendmail"), "#!/bin/sh\ncat >/dev/null\necho 'queue locked'\nexit 75\n",
		   0755);
	CONFIGURE_OK(&ch, CHANNEL_EMAIL, "sendmail", path_in("sendmail"), "from",
		     "vigil@ca1.example.org", "to", "security@example.org");
	m = message();
	assert_int_equal(channel_deliver(&ch, &m, &res), 0);
	assert_false(res.delivered);
	assert_false(res.permanent);
	assert_non_null(strstr(res.detail, "exit 75: queue locked"));
	channel_release(&ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_configure_errors),
		cmocka_unit_test(test_configure_ok),
		cmocka_unit_test_setup_teardown(test_exec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_unread_stdin_and_missing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_webhook_known_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_webhook_signed_delivery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_webhook_status_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_webhook_formats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pagerduty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syslog_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syslog_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syslog_tls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_email_smtp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_email_sendmail, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

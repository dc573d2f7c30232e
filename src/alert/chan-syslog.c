/*
 * The syslog channel: one RFC 5424 message per delivery, to the local syslog socket
 * (a datagram per message), or to a collector over TCP (RFC 6587 octet counting) or TLS
 * (RFC 5425, the same framing).  A connection per attempt: alerts are rare, and a fresh
 * connection never carries a half-written frame from an earlier failure.
 *
 *	<PRI>1 TIMESTAMP HOST vigil PID MSGID [vigil@32473 alert="..." message="..."
 *	      event="..." severity="..." test="true"] SUBJECT
 *
 * The facility is authpriv (10): the messages are about the security of the host and
 * belong with the logs only administrators read.  A stream peer sends no receipts, so
 * "delivered" means the whole frame was handed to the kernel (or TLS) in time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "alert/channel-int.h"
#include "base/timeutil.h"
#include "base/banned.h"

#define FACILITY_AUTHPRIV 10
/*
 * The SD-ID's private enterprise number.  32473 is the one RFC 5612 reserves for
 * documentation and examples; it must be replaced by Vigil's own number once IANA has
 * assigned one.
 */
#define SD_ID "vigil@32473"
#define DEV_LOG "/dev/log"
/* RFC 5424 §6.1: receivers should take 2048 octets; the subject is cut to stay near */
#define SUBJECT_MAX 1024
#define LINE_MAX_BYTES 8192
#define PARAM_MAX 128

static int severity_code(const char *s)
{
	if (!s)
		return 6;
	if (strcmp(s, "critical") == 0)
		return 2;
	if (strcmp(s, "high") == 0)
		return 3;
	if (strcmp(s, "medium") == 0)
		return 4;
	if (strcmp(s, "low") == 0)
		return 5;
	return 6;
}

/* PRINTUSASCII, at most max bytes, or "-" (RFC 5424 NILVALUE). */
static int put_token(struct buf *out, const char *s, size_t max)
{
	size_t n = 0;
	int r = 0;

	for (; s && s[n] && n < max && r == 0; n++)
		r = buf_putc(out, s[n] > 32 && s[n] < 127 ? s[n] : '_');
	if (n == 0 && r == 0)
		r = buf_putc(out, '-');
	return r;
}

/* An SD-PARAM value: '"', '\' and ']' escaped (§6.3.3), control characters dropped,
 * cut after PARAM_MAX bytes (on a character boundary). */
static int put_param(struct buf *out, const char *name, const char *v)
{
	int r = buf_printf(out, " %s=\"", name);
	size_t n = 0;

	for (const char *p = v ? v : ""; *p && r == 0; p++, n++) {
		if (n >= PARAM_MAX && ((unsigned char)*p & 0xc0) != 0x80)
			break;
		if (*p == '"' || *p == '\\' || *p == ']')
			r = buf_putc(out, '\\');
		if (r == 0 && (unsigned char)*p >= 0x20 && *p != 0x7f)
			r = buf_putc(out, *p);
	}
	if (r == 0)
		r = buf_putc(out, '"');
	return r;
}

static int build(const struct channel_message *m, struct buf *out)
{
	_cleanup_buf_ struct buf subject;
	char when[RFC3339_MAX];
	size_t cut;
	int r;

	buf_init(&subject, CHAN_MESSAGE_MAX);
	r = time_format_rfc3339(m->time_ns, when, sizeof(when));
	if (r == 0)
		r = buf_printf(out, "<%d>1 %s ", FACILITY_AUTHPRIV * 8 + severity_code(m->severity),
			       when);
	if (r == 0)
		r = put_token(out, chan_host(m, NULL), 255);
	if (r == 0)
		r = buf_printf(out, " vigil %d ", (int)getpid());
	if (r == 0)
		r = put_token(out, m->event, 32);
	if (r == 0)
		r = buf_puts(out, " [" SD_ID);
	if (r == 0)
		r = put_param(out, "alert", m->alert_id);
	if (r == 0)
		r = put_param(out, "message", m->message_id);
	if (r == 0)
		r = put_param(out, "event", m->event);
	if (r == 0)
		r = put_param(out, "severity", m->severity);
	if (r == 0 && m->control_test)
		r = put_param(out, "test", "true");
	if (r == 0)
		r = buf_puts(out, "] ");
	if (r == 0)
		r = chan_subject(&subject, m);
	if (r < 0)
		return r;
	/* MSG: one line, cut on a character boundary */
	cut = subject.len < SUBJECT_MAX ? subject.len : SUBJECT_MAX;
	while (cut > 0 && cut < subject.len && ((unsigned char)subject.data[cut] & 0xc0) == 0x80)
		cut--;
	for (size_t i = 0; i < cut && r == 0; i++) {
		unsigned char c = (unsigned char)subject.data[i];

		r = buf_putc(out, c < 0x20 || c == 0x7f ? ' ' : (char)c);
	}
	return r;
}

static int deliver_local(const struct channel *ch, const struct buf *line,
			 struct channel_result *res)
{
	const char *path = ch->socket_path ? ch->socket_path : DEV_LOG;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		chan_detail(res, "%s: socket path too long", path);
		return 0;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return neg_errno();
	if (sendto(fd, line->data, line->len, MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0) {
		chan_detail_errno(res, path, errno);
		return 0;
	}
	res->delivered = true;
	chan_detail(res, "%s: sent %zu bytes", path, line->len);
	return 0;
}

/* Splits "scheme://HOST:PORT" (checked by channel_configure()) into host and port. */
static void split_target(const char *target, char *host, size_t hsize, char *port,
			 size_t psize)
{
	const char *h = strstr(target, "://") + 3;
	const char *colon = strrchr(h, ':');
	size_t hl = (size_t)(colon - h);

	if (h[0] == '[') {
		h++;
		hl -= 2;
	}
	snprintf(host, hsize, "%.*s", (int)hl, h);
	snprintf(port, psize, "%s", colon + 1);
}

/* Connects within the deadline; leaves the socket blocking, with send and receive
 * timeouts of what is left.  0, or the errno that stopped the last address tried. */
static int connect_by(const char *host, const char *port, int64_t deadline, int *ret_fd)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *ai = NULL;
	int err = EHOSTUNREACH, g;

	g = getaddrinfo(host, port, &hints, &ai);
	if (g != 0)
		return g == EAI_SYSTEM ? errno : g == EAI_MEMORY ? ENOMEM : EHOSTUNREACH;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		_cleanup_close_ int fd = socket(a->ai_family,
						a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
						a->ai_protocol);
		struct pollfd pfd;
		int64_t left;
		socklen_t sl = sizeof(err);
		struct timeval tv;

		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
			if (errno != EINPROGRESS) {
				err = errno;
				continue;
			}
			left = deadline - clock_monotonic_ns();
			pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
			if (left <= 0 || poll(&pfd, 1, (int)(left / 1000000) + 1) <= 0) {
				err = ETIMEDOUT;
				continue;
			}
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
				err = errno;
			if (err != 0)
				continue;
		}
		left = deadline - clock_monotonic_ns();
		if (left <= 0) {
			err = ETIMEDOUT;
			continue;
		}
		tv.tv_sec = left / 1000000000;
		tv.tv_usec = (left % 1000000000) / 1000;
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
			err = errno;
			continue;
		}
		*ret_fd = TAKE_FD(fd);
		err = 0;
		break;
	}
	freeaddrinfo(ai);
	return err;
}

static int deliver_tcp(const struct channel *ch, const struct buf *frame, int64_t deadline,
		       struct channel_result *res)
{
	char host[256], port[8];
	_cleanup_close_ int fd = -1;
	size_t off = 0;
	int e;

	split_target(ch->target, host, sizeof(host), port, sizeof(port));
	e = connect_by(host, port, deadline, &fd);
	if (e != 0) {
		if (e == ENOMEM)
			return -ENOMEM;
		chan_detail_errno(res, ch->target, e);
		return 0;
	}
	while (off < frame->len) {
		ssize_t k = send(fd, frame->data + off, frame->len - off, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e2 = errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;

			chan_detail_errno(res, ch->target, e2);
			return 0;
		}
		off += (size_t)k;
	}
	res->delivered = true;
	chan_detail(res, "%s: sent %zu bytes", ch->target, frame->len);
	return 0;
}

/* The most telling reason of a failed handshake or write. */
static void tls_fail(struct channel_result *res, const char *target, SSL *ssl, int ret)
{
	long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	unsigned long e = ERR_peek_last_error();
	int sslerr = ssl ? SSL_get_error(ssl, ret) : SSL_ERROR_SSL;
	char why[256];

	if (v != X509_V_OK) {
		chan_detail(res, "%s: certificate verify failed: %s", target,
			    X509_verify_cert_error_string(v));
	} else if (sslerr == SSL_ERROR_SYSCALL && errno != 0) {
		chan_detail_errno(res, target,
				  errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno);
	} else if (e) {
		ERR_error_string_n(e, why, sizeof(why));
		chan_detail(res, "%s: tls: %s", target, ERR_reason_error_string(e) ?
			    ERR_reason_error_string(e) : why);
	} else {
		chan_detail(res, "%s: tls: connection closed", target);
	}
	ERR_clear_error();
}

static bool is_ip_literal(const char *host)
{
	unsigned char tmp[16];

	return inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
}

static int deliver_tls(const struct channel *ch, const struct buf *frame, int64_t deadline,
		       struct channel_result *res)
{
	char host[256], port[8];
	_cleanup_close_ int fd = -1;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	sigset_t pipe_set, old_set;
	bool masked = false;
	int e, k, r = 0;

	split_target(ch->target, host, sizeof(host), port, sizeof(port));
	e = connect_by(host, port, deadline, &fd);
	if (e != 0) {
		if (e == ENOMEM)
			return -ENOMEM;
		chan_detail_errno(res, ch->target, e);
		return 0;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		r = -ENOMEM;
		goto out;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (ch->ca_file ? SSL_CTX_load_verify_locations(ctx, ch->ca_file, NULL) != 1
			: SSL_CTX_set_default_verify_paths(ctx) != 1) {
		chan_detail(res, "%s: cannot load the trusted certificates%s%s%s", ch->target,
			    ch->ca_file ? " from '" : "", ch->ca_file ? ch->ca_file : "",
			    ch->ca_file ? "'" : "");
		ERR_clear_error();
		goto out;
	}
	ssl = SSL_new(ctx);
	if (!ssl) {
		r = -ENOMEM;
		goto out;
	}
	/* the name the certificate must carry: a DNS name, or the IP address given */
	if (is_ip_literal(host) ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1
				: (SSL_set1_host(ssl, host) != 1 ||
				   SSL_set_tlsext_host_name(ssl, host) != 1)) {
		r = -ENOMEM;
		goto out;
	}
	if (SSL_set_fd(ssl, fd) != 1) {
		r = -ENOMEM;
		goto out;
	}
	/* OpenSSL writes to the socket with write(): a peer that hung up must not raise
	 * SIGPIPE in this process, so it is blocked in this thread and any pending one
	 * taken back below */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	masked = pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set) == 0;
	k = SSL_connect(ssl);
	if (k != 1) {
		tls_fail(res, ch->target, ssl, k);
		goto out;
	}
	k = SSL_write(ssl, frame->data, (int)frame->len);
	if (k <= 0) {
		tls_fail(res, ch->target, ssl, k);
		goto out;
	}
	(void)SSL_shutdown(ssl);
	res->delivered = true;
	chan_detail(res, "%s: sent %zu bytes (%s)", ch->target, frame->len, SSL_get_version(ssl));
out:
	if (masked) {
		struct timespec zero = { 0, 0 };

		while (sigtimedwait(&pipe_set, NULL, &zero) > 0)
			;
		pthread_sigmask(SIG_SETMASK, &old_set, NULL);
	}
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

int chan_syslog_deliver(const struct channel *ch, const struct channel_message *m,
			struct channel_result *res)
{
	_cleanup_buf_ struct buf line;
	_cleanup_buf_ struct buf frame;
	int64_t deadline = clock_monotonic_ns() + (int64_t)ch->timeout_s * 1000000000;
	int r;

	buf_init(&line, LINE_MAX_BYTES);
	buf_init(&frame, LINE_MAX_BYTES + 16);
	r = build(m, &line);
	if (r < 0)
		return r;
	if (strcmp(ch->target, "local") == 0)
		return deliver_local(ch, &line, res);
	/* RFC 6587 §3.4.1, RFC 5425 §4.3: MSG-LEN SP SYSLOG-MSG */
	r = buf_printf(&frame, "%zu ", line.len);
	if (r == 0)
		r = buf_append(&frame, line.data, line.len);
	if (r < 0)
		return r;
	if (strncmp(ch->target, "tls://", 6) == 0)
		return deliver_tls(ch, &frame, deadline, res);
	return deliver_tcp(ch, &frame, deadline, res);
}

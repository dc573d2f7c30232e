/*
 * Alert channels: reading a [channel.NAME] section into a struct channel, handing one
 * delivery to the code of its type (alert/chan-*.c), and what those share: the wording
 * of a result's detail line, a runner for child processes (exec, sendmail) with a
 * deadline and a capped capture, and libcurl set-up (e-mail, webhook, pagerduty).
 *
 * Everything a channel is told at configuration time is checked here, so a delivery
 * never meets a setting it cannot use; what the peer answers is only ever worded into
 * the fixed-size detail, never kept.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "alert/channel-int.h"
#include "base/base64.h"
#include "base/parse.h"
#include "base/timeutil.h"
#include "base/banned.h"

#define TIMEOUT_DEFAULT 10
#define TIMEOUT_MAX 300
#define VALUE_MAX 4096
#define PAGERDUTY_URL "https://events.pagerduty.com/v2/enqueue"

static const char *const type_names[CHANNEL_TYPE__COUNT] = {
	[CHANNEL_SYSLOG] = "syslog",	   [CHANNEL_EMAIL] = "email",
	[CHANNEL_WEBHOOK] = "webhook",	   [CHANNEL_PAGERDUTY] = "pagerduty",
	[CHANNEL_EXEC] = "exec",
};

const char *channel_type_name(enum channel_type t)
{
	if ((unsigned)t >= CHANNEL_TYPE__COUNT)
		return NULL;
	return type_names[t];
}

int channel_type_parse(const char *s, enum channel_type *ret)
{
	for (unsigned i = 0; i < CHANNEL_TYPE__COUNT; i++)
		if (s && strcmp(s, type_names[i]) == 0) {
			*ret = (enum channel_type)i;
			return 0;
		}
	return -EINVAL;
}

/* ---- configuration ---- */

enum key_id {
	K_TIMEOUT,
	K_TARGET,
	K_SOCKET,
	K_URL,
	K_FROM,
	K_TO,
	K_STARTTLS,
	K_USERNAME,
	K_PASSWORD,
	K_CA_FILE,
	K_SENDMAIL,
	K_SECRET,
	K_FORMAT,
	K_ROUTING_KEY,
	K_COMMAND,
	K__COUNT,
};

#define T(t) (1u << (t))
static const struct {
	const char *name;
	unsigned types;
} keys[K__COUNT] = {
	[K_TIMEOUT] = { "timeout", ~0u },
	[K_TARGET] = { "target", T(CHANNEL_SYSLOG) },
	[K_SOCKET] = { "socket", T(CHANNEL_SYSLOG) },
	[K_URL] = { "url", T(CHANNEL_EMAIL) | T(CHANNEL_WEBHOOK) | T(CHANNEL_PAGERDUTY) },
	[K_FROM] = { "from", T(CHANNEL_EMAIL) },
	[K_TO] = { "to", T(CHANNEL_EMAIL) },
	[K_STARTTLS] = { "starttls", T(CHANNEL_EMAIL) },
	[K_USERNAME] = { "username", T(CHANNEL_EMAIL) },
	[K_PASSWORD] = { "password", T(CHANNEL_EMAIL) },
	[K_CA_FILE] = { "ca_file", T(CHANNEL_SYSLOG) | T(CHANNEL_EMAIL) | T(CHANNEL_WEBHOOK) |
					   T(CHANNEL_PAGERDUTY) },
	[K_SENDMAIL] = { "sendmail", T(CHANNEL_EMAIL) },
	[K_SECRET] = { "secret", T(CHANNEL_WEBHOOK) },
	[K_FORMAT] = { "format", T(CHANNEL_WEBHOOK) },
	[K_ROUTING_KEY] = { "routing_key", T(CHANNEL_PAGERDUTY) },
	[K_COMMAND] = { "command", T(CHANNEL_EXEC) },
};
#undef T

static void secret_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void settings_release(struct channel *ch)
{
	free(ch->target);
	free(ch->socket_path);
	free(ch->url);
	free(ch->from);
	free(ch->to);
	free(ch->username);
	secret_free(ch->password);
	free(ch->ca_file);
	free(ch->sendmail);
	secret_free(ch->secret);
	free(ch->format);
	secret_free(ch->routing_key);
	if (ch->argv)
		for (char **a = ch->argv; *a; a++)
			free(*a);
	free(ch->argv);
	ch->target = ch->socket_path = ch->url = ch->from = ch->to = NULL;
	ch->username = ch->password = ch->ca_file = ch->sendmail = ch->secret = NULL;
	ch->format = ch->routing_key = NULL;
	ch->argv = NULL;
	ch->starttls = false;
	ch->timeout_s = 0;
}

void channel_release(struct channel *ch)
{
	if (!ch)
		return;
	settings_release(ch);
	free(ch->name);
	free(ch->file);
	ch->name = ch->file = NULL;
}

/* Where a problem of this section is: the key's line, or the section's. */
struct cfg {
	struct channel *ch;
	struct vg_error *err;
};

static int cfg_fail(const struct cfg *c, unsigned line, const char *fmt, ...) _printf_(3, 4);
static int cfg_fail(const struct cfg *c, unsigned line, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vg_error_set(c->err, -EINVAL, c->ch->file ? c->ch->file : "", line, 0,
			    "channel '%s': %s", c->ch->name ? c->ch->name : "", msg);
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* "HOST:PORT" or "[V6]:PORT" with a non-empty host and a port 1..65535. */
static bool host_port_ok(const char *s)
{
	const char *colon;
	uint64_t port;

	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb == s + 1 || rb[1] != ':')
			return false;
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || colon == s || memchr(s, ':', (size_t)(colon - s)))
			return false;
	}
	for (const char *p = s; p < colon; p++)
		if (*p == '/' || *p == '@' || *p == ' ')
			return false;
	return parse_uint_range(colon + 1, 1, 65535, &port) == 0;
}

/* scheme://HOST[:PORT][/PATH]: the part after the scheme has a host. */
static bool url_ok(const char *url, const char *const *schemes)
{
	for (; *schemes; schemes++) {
		size_t n = strlen(*schemes);

		if (strncmp(url, *schemes, n) == 0 && strncmp(url + n, "://", 3) == 0) {
			const char *h = url + n + 3;

			return *h && *h != '/' && *h != ':' && !strpbrk(h, " \"<>\\^`{|}");
		}
	}
	return false;
}

static int split_command(const struct cfg *c, unsigned line, const char *cmd)
{
	char **argv = NULL;
	size_t n = 0;
	int r = proc_argv_split(cmd, CHAN_ARGV_MAX, &argv, &n);

	if (r == -E2BIG)
		return cfg_fail(c, line, "key 'command': more than %d words", CHAN_ARGV_MAX);
	if (r == -ENODATA)
		return cfg_fail(c, line, "key 'command' is empty");
	if (r == -EINVAL) {
		char first[256];

		snprintf(first, sizeof(first), "%.*s", (int)strcspn(cmd + strspn(cmd, " \t"), " \t"),
			 cmd + strspn(cmd, " \t"));
		return cfg_fail(c, line, "key 'command': '%s' is not an absolute path", first);
	}
	if (r < 0)
		return r;
	c->ch->argv = argv;
	return 0;
}

/* Addresses of "to": comma-separated, each with an '@'. */
static int check_to(const struct cfg *c, unsigned line, const char *to)
{
	size_t n = 0;

	for (const char *p = to;; p++) {
		size_t l = strcspn(p, ",");
		const char *at = memchr(p, '@', l);

		while (l && (*p == ' ' || *p == '\t')) {
			p++;
			l--;
		}
		while (l && (p[l - 1] == ' ' || p[l - 1] == '\t'))
			l--;
		if (l == 0 || !at)
			return cfg_fail(c, line, "key 'to': '%s' is not a list of addresses", to);
		if (++n > CHAN_RCPT_MAX)
			return cfg_fail(c, line, "key 'to': more than %d addresses",
					CHAN_RCPT_MAX);
		p += strcspn(p, ",");
		if (!*p)
			break;
	}
	return 0;
}

static int check_secret(const struct cfg *c, unsigned line, const char *s)
{
	uint8_t key[128];
	int n;

	if (!has_prefix(s, "whsec_"))
		return cfg_fail(c, line, "key 'secret' does not start with 'whsec_'");
	n = base64_decode(s + 6, strlen(s + 6), key, sizeof(key));
	explicit_bzero(key, sizeof(key));
	if (n < 0 || n < 24 || n > 64)
		return cfg_fail(c, line,
				"key 'secret': not base64 of 24 to 64 bytes after 'whsec_'");
	return 0;
}

int channel_configure(struct channel *ch, const struct channel_kv *kv, size_t n,
		      struct vg_error *err)
{
	static const char *const smtp_schemes[] = { "smtp", "smtps", NULL };
	static const char *const http_schemes[] = { "http", "https", NULL };
	struct cfg c = { ch, err };
	const struct channel_kv *seen[K__COUNT] = { 0 };
	char **slot[K__COUNT] = {
		[K_TARGET] = &ch->target,     [K_SOCKET] = &ch->socket_path,
		[K_URL] = &ch->url,	      [K_FROM] = &ch->from,
		[K_TO] = &ch->to,	      [K_USERNAME] = &ch->username,
		[K_PASSWORD] = &ch->password, [K_CA_FILE] = &ch->ca_file,
		[K_SENDMAIL] = &ch->sendmail, [K_SECRET] = &ch->secret,
		[K_FORMAT] = &ch->format,     [K_ROUTING_KEY] = &ch->routing_key,
	};
	unsigned tbit;
	uint64_t v;
	int r = 0;

	if ((unsigned)ch->type >= CHANNEL_TYPE__COUNT)
		return vg_error_set(err, -EINVAL, ch->file ? ch->file : "", ch->line, 0,
				    "channel '%s': unknown type", ch->name ? ch->name : "");
	tbit = 1u << ch->type;
	settings_release(ch);
	ch->timeout_s = TIMEOUT_DEFAULT;

	for (size_t i = 0; i < n; i++) {
		unsigned k;

		for (k = 0; k < K__COUNT; k++)
			if (strcmp(kv[i].key, keys[k].name) == 0)
				break;
		if (k == K__COUNT || !(keys[k].types & tbit)) {
			r = cfg_fail(&c, kv[i].line, "unknown key '%s' for type %s", kv[i].key,
				     type_names[ch->type]);
			goto fail;
		}
		if (seen[k]) {
			r = cfg_fail(&c, kv[i].line, "key '%s' given twice (first on line %u)",
				     kv[i].key, seen[k]->line);
			goto fail;
		}
		seen[k] = &kv[i];
		if (strnlen(kv[i].value, VALUE_MAX + 1) > VALUE_MAX) {
			r = cfg_fail(&c, kv[i].line, "key '%s': value longer than %d bytes",
				     kv[i].key, VALUE_MAX);
			goto fail;
		}
		for (const unsigned char *p = (const unsigned char *)kv[i].value; *p; p++)
			if (*p < 0x20 || *p == 0x7f) {
				r = cfg_fail(&c, kv[i].line,
					     "key '%s': control character in the value", kv[i].key);
				goto fail;
			}
		if (!kv[i].value[0]) {
			r = cfg_fail(&c, kv[i].line, "key '%s' is empty", kv[i].key);
			goto fail;
		}
		if (slot[k]) {
			*slot[k] = strdup(kv[i].value);
			if (!*slot[k]) {
				r = -ENOMEM;
				goto fail;
			}
		}
	}

#define LINE(k) (seen[k] ? seen[k]->line : ch->line)
	if (seen[K_TIMEOUT] &&
	    parse_uint_range(seen[K_TIMEOUT]->value, 1, TIMEOUT_MAX, &v) < 0) {
		r = cfg_fail(&c, LINE(K_TIMEOUT),
			     "key 'timeout': '%s' is not a number of seconds from 1 to %d",
			     seen[K_TIMEOUT]->value, TIMEOUT_MAX);
		goto fail;
	}
	if (seen[K_TIMEOUT])
		ch->timeout_s = (unsigned)v;

	switch (ch->type) {
	case CHANNEL_SYSLOG:
		if (!ch->target) {
			ch->target = strdup("local");
			if (!ch->target) {
				r = -ENOMEM;
				goto fail;
			}
		}
		if (strcmp(ch->target, "local") == 0) {
			if (ch->ca_file) {
				r = cfg_fail(&c, LINE(K_CA_FILE),
					     "key 'ca_file' needs target = tls://HOST:PORT");
				goto fail;
			}
		} else if ((has_prefix(ch->target, "tcp://") || has_prefix(ch->target, "tls://"))) {
			if (!host_port_ok(ch->target + 6)) {
				r = cfg_fail(&c, LINE(K_TARGET),
					     "key 'target': '%s' is not SCHEME://HOST:PORT",
					     ch->target);
				goto fail;
			}
			if (ch->socket_path) {
				r = cfg_fail(&c, LINE(K_SOCKET),
					     "key 'socket' needs target = local");
				goto fail;
			}
			if (ch->ca_file && has_prefix(ch->target, "tcp://")) {
				r = cfg_fail(&c, LINE(K_CA_FILE),
					     "key 'ca_file' needs target = tls://HOST:PORT");
				goto fail;
			}
		} else {
			r = cfg_fail(&c, LINE(K_TARGET),
				     "key 'target': '%s' is not local, tcp://HOST:PORT or "
				     "tls://HOST:PORT",
				     ch->target);
			goto fail;
		}
		if (ch->socket_path && ch->socket_path[0] != '/') {
			r = cfg_fail(&c, LINE(K_SOCKET),
				     "key 'socket': '%s' is not an absolute path", ch->socket_path);
			goto fail;
		}
		break;
	case CHANNEL_EMAIL:
		if (!!ch->url == !!ch->sendmail) {
			r = cfg_fail(&c, ch->url ? LINE(K_SENDMAIL) : ch->line,
				     ch->url ? "keys 'url' and 'sendmail' exclude each other"
					     : "missing key 'url' (or 'sendmail')");
			goto fail;
		}
		if (ch->url && !url_ok(ch->url, smtp_schemes)) {
			r = cfg_fail(&c, LINE(K_URL),
				     "key 'url': '%s' is not smtp://HOST[:PORT] or "
				     "smtps://HOST[:PORT]",
				     ch->url);
			goto fail;
		}
		if (ch->sendmail && ch->sendmail[0] != '/') {
			r = cfg_fail(&c, LINE(K_SENDMAIL),
				     "key 'sendmail': '%s' is not an absolute path", ch->sendmail);
			goto fail;
		}
		if (ch->sendmail &&
		    (ch->username || ch->password || ch->ca_file || seen[K_STARTTLS])) {
			r = cfg_fail(&c, LINE(K_SENDMAIL),
				     "key 'sendmail' excludes username, password, ca_file and "
				     "starttls");
			goto fail;
		}
		if (seen[K_STARTTLS] && parse_bool(seen[K_STARTTLS]->value, &ch->starttls) < 0) {
			r = cfg_fail(&c, LINE(K_STARTTLS), "key 'starttls': '%s' is not yes or no",
				     seen[K_STARTTLS]->value);
			goto fail;
		}
		if (ch->starttls && ch->url && !has_prefix(ch->url, "smtp://")) {
			r = cfg_fail(&c, LINE(K_STARTTLS), "key 'starttls' needs an smtp:// url");
			goto fail;
		}
		if (!!ch->username != !!ch->password) {
			r = cfg_fail(&c, ch->username ? LINE(K_USERNAME) : LINE(K_PASSWORD),
				     "keys 'username' and 'password' go together");
			goto fail;
		}
		if (!ch->from) {
			r = cfg_fail(&c, ch->line, "missing key 'from'");
			goto fail;
		}
		if (!strchr(ch->from, '@')) {
			r = cfg_fail(&c, LINE(K_FROM), "key 'from': '%s' is not an address",
				     ch->from);
			goto fail;
		}
		if (!ch->to) {
			r = cfg_fail(&c, ch->line, "missing key 'to'");
			goto fail;
		}
		r = check_to(&c, LINE(K_TO), ch->to);
		if (r < 0)
			goto fail;
		break;
	case CHANNEL_WEBHOOK:
		if (!ch->url) {
			r = cfg_fail(&c, ch->line, "missing key 'url'");
			goto fail;
		}
		if (!url_ok(ch->url, http_schemes)) {
			r = cfg_fail(&c, LINE(K_URL),
				     "key 'url': '%s' is not an http:// or https:// url", ch->url);
			goto fail;
		}
		if (ch->secret) {
			r = check_secret(&c, LINE(K_SECRET), ch->secret);
			if (r < 0)
				goto fail;
		}
		if (!ch->format) {
			ch->format = strdup("json");
			if (!ch->format) {
				r = -ENOMEM;
				goto fail;
			}
		}
		if (strcmp(ch->format, "json") != 0 && strcmp(ch->format, "slack") != 0 &&
		    strcmp(ch->format, "mattermost") != 0 && strcmp(ch->format, "teams") != 0) {
			r = cfg_fail(&c, LINE(K_FORMAT),
				     "key 'format': '%s' is not json, slack, mattermost or teams",
				     ch->format);
			goto fail;
		}
		break;
	case CHANNEL_PAGERDUTY:
		if (!ch->url) {
			ch->url = strdup(PAGERDUTY_URL);
			if (!ch->url) {
				r = -ENOMEM;
				goto fail;
			}
		}
		if (!url_ok(ch->url, http_schemes)) {
			r = cfg_fail(&c, LINE(K_URL),
				     "key 'url': '%s' is not an http:// or https:// url", ch->url);
			goto fail;
		}
		if (!ch->routing_key) {
			r = cfg_fail(&c, ch->line, "missing key 'routing_key'");
			goto fail;
		}
		break;
	case CHANNEL_EXEC:
		if (!seen[K_COMMAND]) {
			r = cfg_fail(&c, ch->line, "missing key 'command'");
			goto fail;
		}
		r = split_command(&c, LINE(K_COMMAND), seen[K_COMMAND]->value);
		if (r < 0)
			goto fail;
		break;
	default:
		break;
	}
#undef LINE
	return 0;
fail:
	settings_release(ch);
	return r;
}

/* ---- delivery ---- */

/* Identifiers go into mail and HTTP headers and syslog fields as they are: printable
 * ASCII without spaces, 1 to 128 bytes. */
static bool token_ok(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++)
		if (n >= 128 || s[n] <= ' ' || s[n] >= 127)
			return false;
	return n > 0;
}

int channel_deliver(const struct channel *ch, const struct channel_message *m,
		    struct channel_result *res)
{
	static int (*const fns[CHANNEL_TYPE__COUNT])(const struct channel *,
						     const struct channel_message *,
						     struct channel_result *) = {
		[CHANNEL_SYSLOG] = chan_syslog_deliver,
		[CHANNEL_EMAIL] = chan_email_deliver,
		[CHANNEL_WEBHOOK] = chan_webhook_deliver,
		[CHANNEL_PAGERDUTY] = chan_pagerduty_deliver,
		[CHANNEL_EXEC] = chan_exec_deliver,
	};

	memset(res, 0, sizeof(*res));
	if ((unsigned)ch->type >= CHANNEL_TYPE__COUNT || !token_ok(m->alert_id) ||
	    !token_ok(m->message_id) || !token_ok(m->event) || !m->subject)
		return -EINVAL;
	return fns[ch->type](ch, m, res);
}

/* Control characters become spaces; a UTF-8 sequence cut at the end is dropped. */
static void one_line(char *s, size_t len)
{
	size_t i = len, lead;

	for (size_t j = 0; j < len; j++)
		if ((unsigned char)s[j] < 0x20 || s[j] == 0x7f)
			s[j] = ' ';
	/* back up over continuation bytes to the last lead byte and check it is whole */
	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0 || (unsigned char)s[i - 1] < 0x80)
		return;
	lead = (unsigned char)s[i - 1];
	if ((lead >= 0xf0 && len - (i - 1) < 4) || (lead >= 0xe0 && len - (i - 1) < 3) ||
	    (lead >= 0xc0 && len - (i - 1) < 2))
		s[i - 1] = '\0';
}

void chan_detail(struct channel_result *res, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
	va_end(ap);
	if (n < 0)
		res->detail[0] = '\0';
	one_line(res->detail, strlen(res->detail));
}

const char *chan_strerror(int errnum, char *out, size_t size)
{
	char tmp[128];
	const char *s = strerror_r(errnum, tmp, sizeof(tmp));

	snprintf(out, size, "%s", s);
	/* "Connection refused" -> "connection refused", but "TLS ..." stays */
	if (isupper((unsigned char)out[0]) && !isupper((unsigned char)out[1]))
		out[0] = (char)tolower((unsigned char)out[0]);
	return out;
}

void chan_detail_errno(struct channel_result *res, const char *peer, int errnum)
{
	char why[128];

	chan_detail(res, "%s: %s", peer, chan_strerror(errnum, why, sizeof(why)));
}

void chan_peer(const char *url, char *out, size_t size)
{
	const char *sep = strstr(url, "://");
	const char *auth, *auth_end, *at, *path, *path_end, *seg2;
	unsigned segs = 0;

	if (!sep) {
		snprintf(out, size, "%s", url);
		return;
	}
	auth = sep + 3;
	auth_end = auth + strcspn(auth, "/?#");
	at = memrchr(auth, '@', (size_t)(auth_end - auth));
	path = auth_end;
	path_end = path + strcspn(path, "?#");
	seg2 = NULL;
	for (const char *p = path; p < path_end; p++)
		if (*p == '/' && p + 1 < path_end && ++segs == 2)
			seg2 = p;
	if (at)
		auth = at + 1;
	if (segs >= 3)
		snprintf(out, size, "%.*s%.*s%.*s/...", (int)(sep + 3 - url), url,
			 (int)(auth_end - auth), auth, (int)(seg2 - path), path);
	else
		snprintf(out, size, "%.*s%.*s%.*s", (int)(sep + 3 - url), url,
			 (int)(auth_end - auth), auth, (int)(path_end - path), path);
}

int chan_subject(struct buf *out, const struct channel_message *m)
{
	int r = 0;

	if (m->control_test)
		r = buf_puts(out, "[CONTROL TEST] ");
	if (r == 0)
		r = buf_puts(out, m->subject);
	return r;
}

const char *chan_host(const struct channel_message *m, const char *fallback)
{
	const char *h = m->host;
	size_t n;

	if (!h)
		return fallback;
	n = strlen(h);
	if (n == 0 || n > 255 || h[0] == '.' || h[0] == '-')
		return fallback;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.' && h[i] != '_')
			return fallback;
	return h;
}

/* ---- child processes ---- */

void chan_run_first_line(const struct proc_result *r, char *out, size_t size)
{
	const char *p = r->output ? r->output : "";
	size_t k = 0;

	while (*p == '\n' || *p == '\r' || *p == ' ')
		p++;
	for (; *p && *p != '\n' && k + 1 < size; p++)
		if ((unsigned char)*p >= 0x20 && *p != 0x7f)
			out[k++] = *p;
	out[k] = '\0';
	one_line(out, k);
}

/* ---- libcurl ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_code;

static void curl_init_once(void)
{
	curl_init_code = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int chan_curl_init(void)
{
	pthread_once(&curl_once, curl_init_once);
	return curl_init_code == CURLE_OK ? 0 : -ENOMEM;
}

int chan_curl_new(const struct channel *ch, const char *protocols, char *errbuf, CURL **ret,
		  CURLcode *ret_cc)
{
	CURLcode cc;
	CURL *c;
	int r = chan_curl_init();

	if (r < 0)
		return r;
	c = curl_easy_init();
	if (!c)
		return -ENOMEM;
	cc = curl_easy_setopt(c, CURLOPT_URL, ch->url);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)ch->timeout_s);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	*ret = c;
	*ret_cc = cc;
	return 0;
}

void chan_curl_fail(struct channel_result *res, const struct chan_curl_failure *f)
{
	char why[256];

	if (f->code == CURLE_OPERATION_TIMEDOUT)
		snprintf(why, sizeof(why), "timed out");
	else if (f->os_errno > 0 && (f->code == CURLE_COULDNT_CONNECT ||
				     f->code == CURLE_SEND_ERROR || f->code == CURLE_RECV_ERROR))
		chan_strerror((int)f->os_errno, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "%s",
			 f->errbuf && f->errbuf[0] ? f->errbuf
						   : curl_easy_strerror((CURLcode)f->code));
	if (isupper((unsigned char)why[0]) && !isupper((unsigned char)why[1]))
		why[0] = (char)tolower((unsigned char)why[0]);
	/* curl's messages may end in a period or a newline; a detail does not */
	for (size_t n = strlen(why);
	     n > 0 && (why[n - 1] == '.' || isspace((unsigned char)why[n - 1]));)
		why[--n] = '\0';
	chan_detail(res, "%s: %s", f->url, why);
}

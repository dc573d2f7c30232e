/*
 * The e-mail channel: one RFC 5322 message per delivery, submitted over SMTP through
 * libcurl (smtp:// with optional STARTTLS, smtps://) or handed to the local mail
 * transport as "sendmail -oi -t".
 *
 * Every message of one alert threads under its first one: the "triggered" message has
 * Message-ID <ALERT_ID@HOST>, every later one its own <MESSAGE_ID@HOST> with In-Reply-To
 * and References pointing at the first.  The body is text/plain UTF-8: the text for
 * people, then the event JSON for tools; it goes 8bit unless a line is too long for SMTP
 * (998 octets, RFC 5322 §2.1.1), then quoted-printable.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <curl/curl.h>

#include "alert/channel-int.h"
#include "base/base64.h"
#include "base/timeutil.h"
#include "base/banned.h"

#define SUBJECT_MAX 900
#define LINE_LIMIT 998
#define QP_LINE 76
#define ENCODED_CHUNK 45	/* bytes per encoded-word: 60 base64 characters, 72 in all */

/* sysexits.h codes a retry will not fix: bad usage, data, user, host */
static bool sendmail_permanent(int code)
{
	return code == 64 || code == 65 || code == 67 || code == 68;
}

/* "Fri, 27 Nov 2026 04:11:12 +0000" (RFC 5322 §3.3), in UTC. */
static int put_date(struct buf *out, int64_t ns)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)(ns / 1000000000 - (ns % 1000000000 < 0));
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		return -EINVAL;
	return buf_printf(out, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
			  tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
			  tm.tm_min, tm.tm_sec);
}

/* The subject as it is when plain ASCII, else RFC 2047 encoded-words ("B"), each on
 * its own folded line and each holding whole UTF-8 characters. */
static int put_subject(struct buf *out, const char *s, const char *eol)
{
	size_t n = strlen(s), i = 0;
	bool plain = true;
	int r = 0;

	if (n > SUBJECT_MAX) {
		n = SUBJECT_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (size_t k = 0; k < n; k++)
		if ((unsigned char)s[k] < 0x20 || (unsigned char)s[k] > 0x7e)
			plain = false;
	/* "=?" in plain text would read as an encoded-word */
	if (plain && !memmem(s, n, "=?", 2))
		return buf_append(out, s, n);
	while (i < n && r == 0) {
		size_t l = n - i < ENCODED_CHUNK ? n - i : ENCODED_CHUNK;

		while (i + l < n && l > 0 && ((unsigned char)s[i + l] & 0xc0) == 0x80)
			l--;
		if (i > 0)
			r = buf_printf(out, "%s ", eol);
		if (r == 0)
			r = buf_puts(out, "=?UTF-8?B?");
		if (r == 0)
			r = base64_encode(out, s + i, l);
		if (r == 0)
			r = buf_puts(out, "?=");
		i += l;
	}
	return r;
}

/* Text with its line ends made eol, lone CRs and other controls but tab dropped. */
static int put_text(struct buf *out, const char *s, const char *eol)
{
	int r = 0;

	for (; *s && r == 0; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n')
			r = buf_puts(out, eol);
		else if (c >= 0x20 || c == '\t')
			r = buf_putc(out, (char)c);
	}
	return r;
}

static bool has_long_line(const struct buf *b)
{
	size_t run = 0;

	for (size_t i = 0; i < b->len; i++) {
		if (b->data[i] == '\n')
			run = 0;
		else if (++run > LINE_LIMIT - 2)
			return true;
	}
	return false;
}

/* Quoted-printable (RFC 2045 §6.7) of LF-separated text, lines ended with eol. */
static int put_qp(struct buf *out, const struct buf *in, const char *eol)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;
	int r = 0;

	for (size_t i = 0; i < in->len && r == 0; i++) {
		unsigned char c = (unsigned char)in->data[i];
		bool last = i + 1 == in->len || in->data[i + 1] == '\n';
		char enc[4];
		size_t el;

		if (c == '\n') {
			r = buf_puts(out, eol);
			col = 0;
			continue;
		}
		if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last)) {
			enc[0] = (char)c;
			el = 1;
		} else {
			enc[0] = '=';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
			el = 3;
		}
		if (col + el > QP_LINE - 1) {
			r = buf_printf(out, "=%s", eol);
			col = 0;
		}
		if (r == 0)
			r = buf_append(out, enc, el);
		col += el;
	}
	return r;
}

static int build(const struct channel *ch, const struct channel_message *m, const char *eol,
		 struct buf *out)
{
	const char *host = chan_host(m, "vigil.invalid");
	bool first = strcmp(m->event, "triggered") == 0;
	_cleanup_buf_ struct buf subject;
	_cleanup_buf_ struct buf body;
	int r;

	buf_init(&subject, CHAN_MESSAGE_MAX);
	buf_init(&body, CHAN_MESSAGE_MAX);
	r = chan_subject(&subject, m);
	for (size_t i = 0; i < subject.len; i++)
		if ((unsigned char)subject.data[i] < 0x20 || subject.data[i] == 0x7f)
			subject.data[i] = ' ';
	if (r == 0 && m->control_test)
		r = buf_puts(&body, "[CONTROL TEST] This message is part of a declared control "
				    "test.\n\n");
	if (r == 0)
		r = put_text(&body, m->text ? m->text : "", "\n");
	if (r == 0 && body.len && body.data[body.len - 1] != '\n')
		r = buf_putc(&body, '\n');
	if (r == 0)
		r = buf_printf(&body, "\nEvent (JSON):\n");
	if (r == 0)
		r = put_text(&body, m->json ? m->json : "{}", "\n");
	if (r == 0)
		r = buf_putc(&body, '\n');

	if (r == 0)
		r = buf_puts(out, "Date: ");
	if (r == 0)
		r = put_date(out, m->time_ns);
	if (r == 0)
		r = buf_printf(out, "%sFrom: %s%sTo: %s%sSubject: ", eol, ch->from, eol, ch->to,
			       eol);
	if (r == 0)
		r = put_subject(out, buf_str(&subject), eol);
	if (r == 0)
		r = buf_printf(out, "%sMessage-ID: <%s@%s>%s", eol,
			       first ? m->alert_id : m->message_id, host, eol);
	if (r == 0 && !first)
		r = buf_printf(out, "In-Reply-To: <%s@%s>%sReferences: <%s@%s>%s", m->alert_id,
			       host, eol, m->alert_id, host, eol);
	if (r == 0)
		r = buf_printf(out,
			       "Auto-Submitted: auto-generated%s"
			       "X-Vigil-Alert-ID: %s%sX-Vigil-Event: %s%s"
			       "MIME-Version: 1.0%s"
			       "Content-Type: text/plain; charset=utf-8%s"
			       "Content-Transfer-Encoding: %s%s%s",
			       eol, m->alert_id, eol, m->event, eol, eol, eol,
			       has_long_line(&body) ? "quoted-printable" : "8bit", eol, eol);
	if (r < 0)
		return r;
	if (has_long_line(&body))
		return put_qp(out, &body, eol);
	return put_text(out, buf_str(&body), eol);
}

/* The address of "Name <addr>" or "addr", trimmed, into out ("<addr>" for curl). */
static void addr_spec(const char *s, size_t n, char *out, size_t size)
{
	const char *lt = memchr(s, '<', n);

	if (lt) {
		size_t rest = n - (size_t)(lt + 1 - s);
		const char *gt = memchr(lt + 1, '>', rest);

		s = lt + 1;
		n = gt ? (size_t)(gt - s) : rest;
	}
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	snprintf(out, size, "<%.*s>", (int)n, s);
}

struct upload {
	const char *p;
	size_t left;
};

static size_t on_read(char *dst, size_t size, size_t n, void *userdata)
{
	struct upload *u = userdata;
	size_t k = size * n < u->left ? size * n : u->left;

	memcpy(dst, u->p, k);
	u->p += k;
	u->left -= k;
	return k;
}

static int deliver_smtp(const struct channel *ch, const struct buf *msg,
			struct channel_result *res)
{
	char errbuf[CURL_ERROR_SIZE] = "", peer[256], from[512];
	struct upload up = { msg->data, msg->len };
	struct curl_slist *rcpt = NULL;
	CURL *c = NULL;
	CURLcode cc = CURLE_OK;
	long code = 0, os_errno = 0;
	int r = 0;

	chan_peer(ch->url, peer, sizeof(peer));
	addr_spec(ch->from, strlen(ch->from), from, sizeof(from));
	for (const char *p = ch->to; *p;) {
		size_t l = strcspn(p, ",");
		char a[512];
		struct curl_slist *nl;

		addr_spec(p, l, a, sizeof(a));
		nl = curl_slist_append(rcpt, a);
		if (!nl) {
			r = -ENOMEM;
			goto out;
		}
		rcpt = nl;
		p += l + (p[l] == ',');
	}
	r = chan_curl_new(ch, "smtp,smtps", errbuf, &c, &cc);
	if (r < 0)
		goto out;
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_READDATA, &up);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)msg->len);
	if (cc == CURLE_OK && ch->starttls)
		cc = curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (cc == CURLE_OK && ch->username)
		cc = curl_easy_setopt(c, CURLOPT_USERNAME, ch->username);
	if (cc == CURLE_OK && ch->password)
		cc = curl_easy_setopt(c, CURLOPT_PASSWORD, ch->password);
	if (cc == CURLE_OK && ch->ca_file)
		cc = curl_easy_setopt(c, CURLOPT_CAINFO, ch->ca_file);
	if (cc != CURLE_OK) {
		r = cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
		goto out;
	}
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cc != CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
		chan_curl_fail(res, &(struct chan_curl_failure){ peer, cc, os_errno, errbuf });
		res->permanent = cc == CURLE_LOGIN_DENIED || (code >= 500 && code < 600);
		r = cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : 0;
		goto out;
	}
	res->delivered = true;
	chan_detail(res, "%s: %ld accepted", peer, code);
out:
	if (c)
		curl_easy_cleanup(c);
	curl_slist_free_all(rcpt);
	return r;
}

static int deliver_sendmail(const struct channel *ch, const struct buf *msg,
			    struct channel_result *res)
{
	static char *const envp[] = { (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
				      (char *)"LC_ALL=C", NULL };
	char *argv[] = { ch->sendmail, (char *)"-oi", (char *)"-t", NULL };
	struct proc_result run = { 0 };
	char line[256];
	int r;

	r = proc_run(&(struct proc_opts){ .argv = argv,
					  .envp = envp,
					  .in = msg->data,
					  .in_len = msg->len,
					  .timeout_ns = (int64_t)ch->timeout_s * 1000000000,
					  .capture_max = CHAN_CAPTURE_MAX },
		     &run);
	if (r == -ENOMEM)
		goto out;
	if (r < 0) {
		chan_detail_errno(res, ch->sendmail, -r);
		r = 0;
		goto out;
	}
	chan_run_first_line(&run, line, sizeof(line));
	if (run.timed_out) {
		chan_detail(res, "%s: timed out after %u s", ch->sendmail, ch->timeout_s);
	} else if (WIFEXITED(run.wait_status)) {
		int code = WEXITSTATUS(run.wait_status);

		res->delivered = code == 0;
		res->permanent = sendmail_permanent(code);
		chan_detail(res, "%s: exit %d%s%s", ch->sendmail, code, line[0] ? ": " : "", line);
	} else {
		chan_detail(res, "%s: killed by signal %d", ch->sendmail,
			    WIFSIGNALED(run.wait_status) ? WTERMSIG(run.wait_status) : 0);
	}
out:
	proc_result_release(&run);
	return r;
}

int chan_email_deliver(const struct channel *ch, const struct channel_message *m,
		       struct channel_result *res)
{
	_cleanup_buf_ struct buf msg;
	int r;

	buf_init(&msg, CHAN_MESSAGE_MAX);
	/* SMTP wants CRLF; the local transport takes the local convention, LF */
	r = build(ch, m, ch->sendmail ? "\n" : "\r\n", &msg);
	if (r < 0)
		return r;
	if (ch->sendmail)
		return deliver_sendmail(ch, &msg, res);
	return deliver_smtp(ch, &msg, res);
}

/*
 * HTTP channels: a webhook (the event JSON, or a chat service's incoming-webhook shape)
 * and PagerDuty's Events API v2.  One POST per attempt through libcurl, no redirects
 * followed, http and https only.
 *
 * Webhooks are signed as the Standard Webhooks specification says: webhook-id is the
 * message's UUID (receivers dedupe on it), webhook-timestamp the Unix seconds of the
 * attempt, webhook-signature "v1," and the base64 HMAC-SHA256 of "id.timestamp.body"
 * under the key that follows "whsec_" in the secret.
 *
 * The answer decides: 2xx delivered; 408, 429 and 5xx worth retrying, after Retry-After
 * when the peer gave one; anything else refused for good.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "alert/channel-int.h"
#include "base/base64.h"
#include "base/json.h"
#include "base/parse.h"
#include "base/timeutil.h"
#include "vigil-config.h"
#include "base/banned.h"

#define BODY_KEEP 4096
#define RETRY_AFTER_MAX (7 * 86400)
#define SUMMARY_MAX 1024

struct response {
	struct buf body;	/* the first BODY_KEEP bytes */
	char retry_after[128];	/* of the last response */
};

static size_t on_body(char *p, size_t size, size_t n, void *userdata)
{
	struct response *rsp = userdata;
	size_t len = size * n;

	if (rsp->body.len < rsp->body.max) {
		size_t room = rsp->body.max - rsp->body.len;

		(void)buf_append(&rsp->body, p, len < room ? len : room);
	}
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *userdata)
{
	struct response *rsp = userdata;
	size_t len = size * n;
	static const char name[] = "retry-after:";

	/* a new status line (after 100 Continue, say) starts a new set of headers */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
		rsp->retry_after[0] = '\0';
	else if (len > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
		const char *v = p + sizeof(name) - 1, *e = p + len;

		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
			e--;
		snprintf(rsp->retry_after, sizeof(rsp->retry_after), "%.*s", (int)(e - v), v);
	}
	return len;
}

/* IMF-fixdate (RFC 9110 §5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT". */
static int parse_http_date(const char *s, int64_t *ret)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm = { 0 };
	char mon[4], tz[4];
	int day, year, hh, mm, ss, used = 0;
	const char *m;
	time_t t;

	if (strlen(s) != 29 || s[3] != ',' ||
	    sscanf(s + 4, " %2d %3s %4d %2d:%2d:%2d %3s%n", &day, mon, &year, &hh, &mm, &ss, tz,
		   &used) != 7 ||
	    s[4 + used] != '\0' || strcmp(tz, "GMT") != 0)
		return -EINVAL;
	m = strstr(months, mon);
	if (!m || (m - months) % 3 != 0 || day < 1 || day > 31 || hh > 23 || mm > 59 ||
	    ss > 60)
		return -EINVAL;
	tm.tm_year = year - 1900;
	tm.tm_mon = (int)((m - months) / 3);
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ret = (int64_t)t;
	return 0;
}

/* Retry-After: delay-seconds or an HTTP-date, as seconds from now (0 if unusable). */
static int64_t retry_after_seconds(const char *v)
{
	uint64_t secs;
	int64_t at;

	if (!v[0])
		return 0;
	if (parse_u64(v, &secs) == 0)
		return secs > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : (int64_t)secs;
	if (parse_http_date(v, &at) == 0) {
		int64_t d = at - clock_now_ns() / 1000000000;

		return d < 0 ? 0 : d > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : d;
	}
	return 0;
}

static int post(const struct channel *ch, struct curl_slist *headers, const struct buf *body,
		struct channel_result *res)
{
	char errbuf[CURL_ERROR_SIZE] = "", peer[256], line[200];
	struct response rsp = { 0 };
	CURL *c = NULL;
	CURLcode cc;
	long status = 0, os_errno = 0;
	int r;

	chan_peer(ch->url, peer, sizeof(peer));
	buf_init(&rsp.body, BODY_KEEP);
	r = chan_curl_new(ch, "http,https", errbuf, &c, &cc);
	if (r < 0)
		goto out;
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, buf_str(body));
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_USERAGENT, "vigil/" VIGIL_VERSION);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_WRITEDATA, &rsp);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c, CURLOPT_HEADERDATA, &rsp);
	if (cc == CURLE_OK && ch->ca_file)
		cc = curl_easy_setopt(c, CURLOPT_CAINFO, ch->ca_file);
	if (cc != CURLE_OK) {
		r = cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
		goto out;
	}

	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
		chan_curl_fail(res, &(struct chan_curl_failure){ peer, cc, os_errno, errbuf });
		r = cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : 0;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	{
		const char *b = buf_str(&rsp.body);
		size_t k = 0;

		while (*b && isspace((unsigned char)*b))
			b++;
		for (; *b && *b != '\n' && k + 1 < sizeof(line); b++)
			line[k++] = *b;
		line[k] = '\0';
	}
	if (status >= 200 && status < 300) {
		res->delivered = true;
		chan_detail(res, "HTTP %ld from %s", status, peer);
	} else {
		res->permanent =
			!(status == 408 || status == 429 || (status >= 500 && status < 600));
		if (!res->permanent)
			res->retry_after_s = retry_after_seconds(rsp.retry_after);
		chan_detail(res, "HTTP %ld from %s%s%s", status, peer, line[0] ? ": " : "", line);
	}
	r = 0;
out:
	if (c)
		curl_easy_cleanup(c);
	buf_release(&rsp.body);
	return r;
}

static int render(const struct channel *ch, const struct channel_message *m, struct buf *out)
{
	_cleanup_buf_ struct buf subject;
	struct json_writer w;
	const char *text = m->text ? m->text : "";
	int r;

	buf_init(&subject, CHAN_MESSAGE_MAX);
	if (strcmp(ch->format, "json") == 0)
		return buf_puts(out, m->json ? m->json : "{}");
	r = chan_subject(&subject, m);
	if (r < 0)
		return r;
	jw_init(&w, out);
	jw_obj_open(&w);
	if (strcmp(ch->format, "teams") == 0) {
		/* a Workflows ("When a Teams webhook request is received") message with one
		 * Adaptive Card: the subject in bold, the text, then the alert's facts */
		static const char *const facts[] = { "alert", "event", "severity", "host" };
		const char *vals[] = { m->alert_id, m->event, m->severity, m->host };

		jw_key(&w, "type");
		jw_str(&w, "message");
		jw_key(&w, "attachments");
		jw_arr_open(&w);
		jw_obj_open(&w);
		jw_key(&w, "contentType");
		jw_str(&w, "application/vnd.microsoft.card.adaptive");
		jw_key(&w, "contentUrl");
		jw_null(&w);
		jw_key(&w, "content");
		jw_obj_open(&w);
		jw_key(&w, "$schema");
		jw_str(&w, "http://adaptivecards.io/schemas/adaptive-card.json");
		jw_key(&w, "type");
		jw_str(&w, "AdaptiveCard");
		jw_key(&w, "version");
		jw_str(&w, "1.4");
		jw_key(&w, "body");
		jw_arr_open(&w);
		jw_obj_open(&w);
		jw_key(&w, "type");
		jw_str(&w, "TextBlock");
		jw_key(&w, "text");
		jw_str(&w, buf_str(&subject));
		jw_key(&w, "weight");
		jw_str(&w, "Bolder");
		jw_key(&w, "size");
		jw_str(&w, "Medium");
		jw_key(&w, "wrap");
		jw_bool(&w, true);
		jw_obj_close(&w);
		jw_obj_open(&w);
		jw_key(&w, "type");
		jw_str(&w, "TextBlock");
		jw_key(&w, "text");
		jw_str(&w, text);
		jw_key(&w, "wrap");
		jw_bool(&w, true);
		jw_obj_close(&w);
		jw_obj_open(&w);
		jw_key(&w, "type");
		jw_str(&w, "FactSet");
		jw_key(&w, "facts");
		jw_arr_open(&w);
		for (size_t i = 0; i < ARRAY_SIZE(facts); i++) {
			if (!vals[i])
				continue;
			jw_obj_open(&w);
			jw_key(&w, "title");
			jw_str(&w, facts[i]);
			jw_key(&w, "value");
			jw_str(&w, vals[i]);
			jw_obj_close(&w);
		}
		jw_arr_close(&w);
		jw_obj_close(&w);
		jw_arr_close(&w);
		jw_obj_close(&w);
		jw_obj_close(&w);
		jw_arr_close(&w);
	} else {
		/* slack and mattermost incoming webhooks: one markdown text */
		_cleanup_buf_ struct buf t;

		buf_init(&t, CHAN_MESSAGE_MAX);
		r = buf_printf(&t, "*%s*\n%s", buf_str(&subject), text);
		if (r < 0)
			return r;
		jw_key(&w, "text");
		jw_str(&w, buf_str(&t));
		if (strcmp(ch->format, "mattermost") == 0) {
			jw_key(&w, "username");
			jw_str(&w, "vigil");
		}
	}
	jw_obj_close(&w);
	return w.err;
}

/* "v1,BASE64" of HMAC-SHA256(key, "id.timestamp.body"), key from "whsec_BASE64". */
static int sign(const char *secret, const char *id, int64_t ts, const struct buf *body,
		struct buf *out)
{
	uint8_t key[128], mac[EVP_MAX_MD_SIZE];
	unsigned mac_len = 0;
	_cleanup_buf_ struct buf content;
	int klen, r;

	buf_init(&content, CHAN_MESSAGE_MAX + 128);
	klen = base64_decode(secret + 6, strlen(secret + 6), key, sizeof(key));
	if (klen < 0) {
		r = klen;
		goto out;
	}
	r = buf_printf(&content, "%s.%lld.", id, (long long)ts);
	if (r == 0)
		r = buf_append(&content, body->data ? body->data : "", body->len);
	if (r < 0)
		goto out;
	if (!HMAC(EVP_sha256(), key, klen, (const unsigned char *)content.data, content.len, mac,
		  &mac_len)) {
		r = -ENOMEM;
		goto out;
	}
	r = buf_puts(out, "webhook-signature: v1,");
	if (r == 0)
		r = base64_encode(out, mac, mac_len);
out:
	explicit_bzero(key, sizeof(key));
	return r;
}

static int add_header(struct curl_slist **l, const char *h)
{
	struct curl_slist *n = curl_slist_append(*l, h);

	if (!n)
		return -ENOMEM;
	*l = n;
	return 0;
}

int chan_webhook_deliver(const struct channel *ch, const struct channel_message *m,
			 struct channel_result *res)
{
	_cleanup_buf_ struct buf body;
	_cleanup_buf_ struct buf sig;
	struct curl_slist *headers = NULL;
	char h_id[128], h_ts[64];
	int64_t ts = clock_now_ns() / 1000000000;
	int r;

	buf_init(&body, CHAN_MESSAGE_MAX);
	buf_init(&sig, 256);
	r = render(ch, m, &body);
	if (r < 0)
		goto out;
	snprintf(h_id, sizeof(h_id), "webhook-id: %s", m->message_id);
	snprintf(h_ts, sizeof(h_ts), "webhook-timestamp: %lld", (long long)ts);
	r = add_header(&headers, "content-type: application/json");
	if (r == 0)
		r = add_header(&headers, h_id);
	if (r == 0)
		r = add_header(&headers, h_ts);
	if (r == 0 && ch->secret) {
		r = sign(ch->secret, m->message_id, ts, &body, &sig);
		if (r == 0)
			r = add_header(&headers, buf_str(&sig));
	}
	/* no "Expect: 100-continue" round trip for a small body */
	if (r == 0)
		r = add_header(&headers, "Expect:");
	if (r < 0)
		goto out;
	r = post(ch, headers, &body, res);
out:
	curl_slist_free_all(headers);
	return r;
}

static const char *pd_action(const char *event)
{
	if (strcmp(event, "acknowledged") == 0)
		return "acknowledge";
	if (strcmp(event, "resolved") == 0 || strcmp(event, "closed") == 0)
		return "resolve";
	return "trigger";
}

static const char *pd_severity(const char *s)
{
	if (!s || strcmp(s, "critical") == 0)
		return "critical";
	if (strcmp(s, "high") == 0)
		return "error";
	if (strcmp(s, "medium") == 0)
		return "warning";
	return "info";
}

/* At most max bytes of s, not cutting a UTF-8 sequence. */
static int put_utf8_prefix(struct buf *out, const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	return buf_append(out, s, n);
}

int chan_pagerduty_deliver(const struct channel *ch, const struct channel_message *m,
			   struct channel_result *res)
{
	_cleanup_buf_ struct buf body;
	_cleanup_buf_ struct buf subject;
	_cleanup_buf_ struct buf summary;
	struct curl_slist *headers = NULL;
	const char *action = pd_action(m->event);
	char when[RFC3339_MAX];
	struct json_writer w;
	int r;

	buf_init(&body, CHAN_MESSAGE_MAX);
	buf_init(&subject, CHAN_MESSAGE_MAX);
	buf_init(&summary, SUMMARY_MAX + 1);
	r = chan_subject(&subject, m);
	if (r == 0)
		r = put_utf8_prefix(&summary, buf_str(&subject), SUMMARY_MAX);
	if (r == 0)
		r = time_format_rfc3339(m->time_ns, when, sizeof(when));
	if (r < 0)
		goto out;
	jw_init(&w, &body);
	jw_obj_open(&w);
	jw_key(&w, "routing_key");
	jw_str(&w, ch->routing_key);
	jw_key(&w, "event_action");
	jw_str(&w, action);
	jw_key(&w, "dedup_key");
	jw_str(&w, m->alert_id);
	jw_key(&w, "client");
	jw_str(&w, "Vigil");
	if (strcmp(action, "trigger") == 0) {
		jw_key(&w, "payload");
		jw_obj_open(&w);
		jw_key(&w, "summary");
		jw_str(&w, buf_str(&summary));
		jw_key(&w, "source");
		jw_str(&w, chan_host(m, "vigil"));
		jw_key(&w, "severity");
		jw_str(&w, pd_severity(m->severity));
		jw_key(&w, "timestamp");
		jw_str(&w, when);
		jw_key(&w, "component");
		jw_str(&w, "vigil");
		jw_key(&w, "custom_details");
		jw_raw(&w, m->json ? m->json : "{}");
		jw_obj_close(&w);
	}
	jw_obj_close(&w);
	r = w.err;
	if (r == 0)
		r = add_header(&headers, "content-type: application/json");
	if (r == 0)
		r = add_header(&headers, "Expect:");
	if (r < 0)
		goto out;
	r = post(ch, headers, &body, res);
out:
	curl_slist_free_all(headers);
	return r;
}

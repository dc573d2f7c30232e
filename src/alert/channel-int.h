/*
 * Internals shared by the channel types (alert/chan-*.c): one delivery function per
 * type, the wording of results, a child-process runner with a deadline and a capped
 * capture, and the libcurl glue the e-mail and HTTP types have in common.
 */
#ifndef VIGIL_ALERT_CHANNEL_INT_H
#define VIGIL_ALERT_CHANNEL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <curl/curl.h>

#include "alert/channel.h"
#include "base/proc.h"
#include "base/buf.h"
#include "base/macro.h"

/* Capture of a child's stdout and stderr, and of an HTTP response body: the first bytes
 * are kept, the rest read and dropped. */
#define CHAN_CAPTURE_MAX (64u * 1024)
/* Any message a channel builds (e-mail, HTTP body, syslog line). */
#define CHAN_MESSAGE_MAX (4u * 1024 * 1024)
/* Recipients of one e-mail channel, words of one exec command. */
#define CHAN_RCPT_MAX 32
#define CHAN_ARGV_MAX 64

int chan_syslog_deliver(const struct channel *ch, const struct channel_message *m,
			struct channel_result *res);
int chan_email_deliver(const struct channel *ch, const struct channel_message *m,
		       struct channel_result *res);
int chan_webhook_deliver(const struct channel *ch, const struct channel_message *m,
			 struct channel_result *res);
int chan_pagerduty_deliver(const struct channel *ch, const struct channel_message *m,
			   struct channel_result *res);
int chan_exec_deliver(const struct channel *ch, const struct channel_message *m,
		      struct channel_result *res);

/*
 * Writes res->detail: one line (control characters become spaces), truncated to fit.
 * chan_detail_errno() writes "PEER: REASON" with the lowercased strerror() of errnum.
 */
void chan_detail(struct channel_result *res, const char *fmt, ...) _printf_(2, 3);
void chan_detail_errno(struct channel_result *res, const char *peer, int errnum);
/* strerror(errnum) with its first letter lowercased, into out. */
const char *chan_strerror(int errnum, char *out, size_t size);

/*
 * How a detail names a URL's peer: scheme://host[:port] and the path, without user
 * information, query or fragment, and with only the first segment of a path of three or
 * more ("/services/..."), since chat services put their secret in the path (Slack) or
 * the query (Teams workflows).
 */
void chan_peer(const char *url, char *out, size_t size);

/* The subject with "[CONTROL TEST] " in front for control tests, appended to out. */
int chan_subject(struct buf *out, const struct channel_message *m);

/* The message's host name when it is a plain DNS name (letters, digits, '-', '.', '_',
 * at most 255 bytes), safe in a Message-ID or an RFC 5424 HOSTNAME; else fallback. */
const char *chan_host(const struct channel_message *m, const char *fallback);

/* The first line of the capture, control characters dropped, at most size-1 bytes. */
void chan_run_first_line(const struct proc_result *r, char *out, size_t size);

/*
 * libcurl: chan_curl_init() runs curl_global_init() once for the process (thread-safe);
 * chan_curl_fail() words a failed transfer as "URL: REASON", from the socket's errno
 * when there was one ("connection refused"), else from curl's message.
 */
int chan_curl_init(void);
/* A transfer to ch->url limited to protocols ("http,https"), without signals, within
 * ch->timeout_s, errors written to errbuf (CURL_ERROR_SIZE): 0 with *ret (and in *ret_cc
 * the result of setting it up, which the caller's own options continue from), or
 * -ENOMEM. */
int chan_curl_new(const struct channel *ch, const char *protocols, char *errbuf, CURL **ret,
		  CURLcode *ret_cc);
struct chan_curl_failure {
	const char *url;
	int code;		/* CURLcode */
	long os_errno;		/* CURLINFO_OS_ERRNO */
	const char *errbuf;	/* CURLOPT_ERRORBUFFER, may be "" */
};
void chan_curl_fail(struct channel_result *res, const struct chan_curl_failure *f);

#endif

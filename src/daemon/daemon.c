/*
 * The daemon's main loop.  One thread (this one) owns the store and the journal: it
 * takes settled objects from the coalescing table, observes and records them, runs the
 * checks, answers the control socket and talks to systemd.  The watcher's thread only
 * reads kernel events into the table, so nothing it must read waits for a check.
 *
 * Order of start: arm the watcher, journal the start, record the gap since the last
 * run, then a quick check (offline changes), then READY=1.  Arming first means nothing
 * that changes during the check goes unseen.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "base/escape.h"
#include "base/json.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/timeutil.h"
#include "alert/alert-engine.h"
#include "change/reconcile.h"
#include "daemon/control.h"
#include "base/object.h"
#include "collect/collect.h"
#include "daemon/daemon.h"
#include "engine/engine.h"
#include "watch/watch.h"
#include "base/banned.h"

#define TAKE_BATCH 512
#define MAX_FOLLOWERS 64
#define NS_PER_S 1000000000LL
#define NS_PER_MS 1000000LL

enum { EP_SIGNAL, EP_NOTIFY, EP_LISTEN, EP_CLIENT };

struct daemon {
	struct daemon_config *cfg;
	struct engine_opts eo;
	struct engine_watch *ew;
	struct reconciler *rec;
	struct alert_ctx actx;
	bool outbox_due;	/* messages may wait in the outbox */
	uint64_t queued_seen;	/* actx.queued when the outbox was last looked at */
	int64_t next_outbox;	/* monotonic: when to work it next */
	struct watch *w;
	struct coalesce *table;
	int sig_fd, notify_fd, listen_fd, epoll_fd;
	int followers[MAX_FOLLOWERS];
	size_t n_followers;
	bool stop, reload;
	bool ready;		/* armed and the start check done */

	int64_t started_ns, started_mono;
	int64_t next_quick, next_full, next_checkpoint, next_watchdog, next_status;	/* monotonic */
	int64_t next_collect, last_collect;
	bool collect_soon;	/* a file behind collected objects changed */
	int64_t watchdog_ns;	/* 0: no watchdog */
	uint64_t changes, rescans, gaps, overflows, errors;
	char last_quick[RFC3339_MAX], last_full[RFC3339_MAX];
	int last_quick_status, last_full_status;
	char *ignore[4];
};

static int64_t mono(void)
{
	return clock_monotonic_ns();
}

/* ---- reporting: log line and followers ---- */

static void follower_drop(struct daemon *d, size_t i)
{
	epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, d->followers[i], NULL);
	close(d->followers[i]);
	d->followers[i] = d->followers[--d->n_followers];
}

static void broadcast(struct daemon *d, const char *line)
{
	size_t n = strlen(line);

	for (size_t i = 0; i < d->n_followers;) {
		ssize_t k = send(d->followers[i], line, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k == (ssize_t)n && send(d->followers[i], "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) {
			i++;
			continue;
		}
		/* a follower that cannot keep up is closed; it can reconnect with --since */
		log_warning("a 'changes --follow' client fell behind and was disconnected");
		follower_drop(d, i);
	}
}

/* A file behind collected objects (/etc/passwd behind user:*, a sudoers.d file behind
 * sudo:*) changed: collect again at once instead of at the next interval. */
static void collect_soon_if_behind(struct daemon *d, const struct engine_event *ev)
{
	if (ev->collected || ev->kind > ENGINE_MODIFIED)
		return;
	for (size_t i = 0; i < coll_table_n; i++) {
		for (const char *const *f = coll_table[i].files; f && *f; f++) {
			size_t n = strlen(*f);

			if (ev->path_len >= n && memcmp(ev->path, *f, n) == 0 &&
			    (ev->path_len == n || ev->path[n] == '/')) {
				d->collect_soon = true;
				return;
			}
		}
	}
}

static int on_change(void *ud, const struct engine_event *ev)
{
	struct daemon *d = ud;
	struct buf p;

	collect_soon_if_behind(d, ev);

	if (ev->kind == ENGINE_ERROR)
		d->errors++;
	else if (ev->kind <= ENGINE_MODIFIED)
		d->changes++;
	buf_init(&p, 0);
	escape_bytes(&p, ev->path, ev->path_len);
	if (ev->kind <= ENGINE_MODIFIED)
		log_info("%s %s: %s", engine_event_name(ev->kind), buf_str(&p),
			 ev->authorized ? "authorized" : "unauthorized");
	else
		log_info("%s %s", engine_event_name(ev->kind), buf_str(&p));
	/* a new alert's messages wait in the outbox (joining one queues nothing) */
	if (d->actx.queued != d->queued_seen) {
		d->queued_seen = d->actx.queued;
		d->outbox_due = true;
	}
	buf_release(&p);
	if (ev->kind <= ENGINE_MODIFIED)
		broadcast(d, ev->json);
	return 0;
}

/* ---- systemd ---- */

static void notify_status(struct daemon *d, bool force)
{
	struct watch_info wi;
	int64_t now = mono();

	if (!force && now < d->next_status)
		return;
	d->next_status = now + NS_PER_S;
	if (!d->w || watch_get_info(d->w, &wi) < 0)
		return;
	sd_notifyf(0,
		   "STATUS=%s: %zu filesystems marked, %zu directories watched, %zu pending,"
		   " %" PRIu64 " changes, %" PRIu64 " gaps",
		   wi.mode, wi.n_marked, wi.watches, coalesce_count(d->table), d->changes, d->gaps);
	watch_info_release(&wi);
}

static void watchdog(struct daemon *d)
{
	int64_t now = mono();

	if (!d->watchdog_ns || now < d->next_watchdog)
		return;
	sd_notify(0, "WATCHDOG=1");
	d->next_watchdog = now + d->watchdog_ns / 2;
}

static void handle_client(struct daemon *d);
static void read_signals(struct daemon *d);

/* Called during long checks: systemd's watchdog, status requests still answered, and a
 * stop request honoured at once (the next start's check does the rest). */
static int progress(void *ud)
{
	struct daemon *d = ud;
	struct pollfd p = { .fd = d->listen_fd, .events = POLLIN };

	watchdog(d);
	if (poll(&p, 1, 0) == 1)
		handle_client(d);
	read_signals(d);
	return d->stop ? -ECANCELED : 0;
}

/* ---- checks ---- */

static int run_check(struct daemon *d, const char *source, const char *kind, bool full,
		     const char *const *under, size_t n_under)
{
	struct engine_opts o = d->eo;
	struct engine_result res;
	int r;

	/* everything observed so far is committed (and told) before the check's run starts */
	r = engine_watch_flush(d->ew, on_change, d);
	if (r < 0)
		return r;
	o.source = source;
	o.run_kind = kind;
	o.full = full;
	o.under = under;
	o.n_under = n_under;
	o.report_changes = true;
	o.progress = progress;
	o.progress_ud = d;
	r = engine_check(&o, on_change, d, &res);
	if (r == -ECANCELED && d->stop) {
		log_info("%s: stopped before it ended", source);
		return 0;
	}
	if (r < 0)
		return r;
	if (n_under == 0) {
		char *dst = full ? d->last_full : d->last_quick;

		time_format_rfc3339(res.finished_ns, dst, RFC3339_MAX);
		if (full)
			d->last_full_status = res.errors ? 14 : 0;
		else
			d->last_quick_status = res.errors ? 14 : 0;
	}
	log_info("%s%s: %" PRIu64 " objects, %" PRIu64 " changes recorded, %" PRIu64
		 " errors in %.2f s",
		 full ? "full " : "", source, res.objects, res.recorded, res.errors,
		 (double)(res.finished_ns - res.started_ns) / 1e9);
	return 0;
}

static int rescan(struct daemon *d, char *const *given, size_t n)
{
	_cleanup_free_ char **scopes = NULL;
	bool all = false;

	for (size_t i = 0; i < n; i++)
		if (strcmp(given[i], "/") == 0)
			all = true;
	d->rescans++;
	if (all)
		return run_check(d, "rescan", "rescan", false, NULL, 0);
	/* sorted and deduplicated in a copy: the caller frees what it gave */
	scopes = calloc(n ? n : 1, sizeof(*scopes));
	if (!scopes)
		return -ENOMEM;
	memcpy(scopes, given, n * sizeof(*scopes));
	/* sorted and none below another, as the walker wants */
	for (size_t i = 0; i < n; i++) {
		for (size_t j = i + 1; j < n; j++) {
			if (path_cmp(scopes[j], strlen(scopes[j]), scopes[i], strlen(scopes[i])) < 0) {
				char *t = scopes[i];

				scopes[i] = scopes[j];
				scopes[j] = t;
			}
		}
	}
	{
		size_t k = 0;

		for (size_t i = 0; i < n; i++) {
			size_t l = k ? strlen(scopes[k - 1]) : 0;

			if (k && strncmp(scopes[i], scopes[k - 1], l) == 0 &&
			    (scopes[i][l] == '/' || scopes[i][l] == '\0'))
				continue;
			scopes[k++] = scopes[i];
		}
		n = k;
	}
	return run_check(d, "rescan", "rescan", false, (const char *const *)scopes, n);
}

/* ---- gaps and settled objects ---- */

static int handle_settled_at(struct daemon *d, int64_t now);

/* Records the gaps the watcher queued; with rescan, then reads what they could hide. */
static int record_gaps(struct daemon *d, bool rescan_after)
{
	struct watch_gap *g = NULL;
	size_t n = d->w ? watch_take_gaps(d->w, &g) : 0;
	char **scopes = NULL;
	size_t n_scopes = 0;
	bool lost = false, failed = false;
	int r = 0;

	if (n == 0)
		return 0;
	scopes = calloc(n, sizeof(*scopes));
	if (!scopes)
		r = -ENOMEM;
	for (size_t i = 0; i < n && r == 0; i++) {
		char id[UUID_STR_LEN];

		r = engine_watch_gap(d->ew, g[i].reason, g[i].scope, g[i].detail, id);
		d->outbox_due = true;
		if (r < 0)
			break;
		d->gaps++;
		if (strcmp(g[i].reason, "overflow") == 0)
			d->overflows++;
		if (strcmp(g[i].reason, "watcher-failed") == 0)
			failed = true;
		/* a weaker watcher from the start loses no event: nothing to rescan */
		if (strcmp(g[i].reason, "inotify-fallback") == 0) {
			log_warning("monitoring gap %s (%s): %s", id, g[i].reason,
				    g[i].detail ? g[i].detail : "");
			continue;
		}
		log_warning("monitoring gap %s (%s): %s; %s %s", id, g[i].reason,
			    g[i].detail ? g[i].detail : "", rescan_after ? "rescanning" : "not rescanned:",
			    g[i].scope);
		if (strcmp(g[i].reason, "pending-limit") == 0 || strcmp(g[i].reason, "overflow") == 0)
			lost = true;
		scopes[n_scopes++] = g[i].scope;
	}
	if (r == 0 && rescan_after && n_scopes) {
		if (lost) {
			/* events were lost: those still waiting tell only part of the story, and
			 * the rescan that follows reads everything they could name */
			coalesce_clear(d->table);
		} else {
			/* what waits was seen with its actor: recorded first, so the rescan does
			 * not take it over without one */
			r = handle_settled_at(d, INT64_MAX);
		}
	}
	/* at once: what could have been missed is looked at now */
	if (r == 0 && rescan_after && n_scopes)
		r = rescan(d, scopes, n_scopes);
	for (size_t i = 0; i < n; i++)
		watch_gap_release(&g[i]);
	free(g);
	free(scopes);
	/* a watcher that died cannot be trusted to come back: stop, and let systemd restart
	 * the daemon (whose start check and restart gap cover the time in between) */
	if (r == 0 && failed) {
		log_error(0, "the watcher failed; stopping so the daemon can be restarted");
		r = -EIO;
	}
	return r;
}

static int handle_gaps(struct daemon *d)
{
	return record_gaps(d, true);
}

static int origin_json(const struct pending_obj *p, struct buf *events, struct buf *process,
		       struct buf *user, struct engine_origin *o, const char *mode)
{
	struct json_writer w;
	int r;

	buf_reset(events);
	jw_init(&w, events);
	jw_arr_open(&w);
	for (unsigned b = 0; b < WEV__NAMES; b++)
		if (p->mask & (1u << b))
			jw_str(&w, wev_name(b));
	jw_arr_close(&w);
	if (w.err)
		return w.err;
	*o = (struct engine_origin){
		.source = mode,
		.events_json = events->data,
		.event_ns = p->first_real_ns,
	};
	if (p->has_actor) {
		r = actor_json(&p->actor, process, user);
		if (r < 0)
			return r;
		o->process_json = process->data;
		o->user_json = user->data;
		o->actor_exe = p->actor.exe;
		if (p->actor.auid != ACTOR_NO_ID) {
			o->has_auid = true;
			o->auid = p->actor.auid;
		}
	}
	return 0;
}

static int handle_settled(struct daemon *d)
{
	return handle_settled_at(d, mono());
}

static int handle_settled_at(struct daemon *d, int64_t now)
{
	struct pending_obj *batch[TAKE_BATCH];
	struct buf events, process, user;
	const char *mode = "fanotify";
	struct watch_info wi;
	unsigned rounds = 0;
	int r = 0;

	if (watch_get_info(d->w, &wi) == 0)
		mode = strcmp(wi.mode, "fanotify") == 0 ? "fanotify" : "inotify";
	watch_info_release(&wi);
	buf_init(&events, 0);
	buf_init(&process, 0);
	buf_init(&user, 0);
	for (;;) {
		int64_t next;
		size_t n = coalesce_take(d->table, now, batch, TAKE_BATCH, &next);
		char **subtrees = NULL;
		size_t n_sub = 0;

		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			struct pending_obj *p = batch[i];
			struct engine_origin o;
			/* fanotify gives every event a process; inotify none */
			const char *src = p->has_actor || strcmp(mode, "fanotify") == 0
						  ? "fanotify"
						  : "inotify";

			/* the object itself, with who moved or made it; then, for a directory
			 * moved in or out, what it holds (which no event announced) */
			if (r == 0)
				r = origin_json(p, &events, &process, &user, &o, src);
			if (r == 0) {
				r = engine_watch_observe(d->ew, p->path, p->len, &o);
				if (r > 0)
					r = 0;
			}
			if (r == 0 && p->subtree) {
				char **nv = realloc(subtrees, (n_sub + 1) * sizeof(*nv));

				if (!nv) {
					r = -ENOMEM;
				} else {
					subtrees = nv;
					subtrees[n_sub++] = p->path;
					p->path = NULL;
				}
			}
			pending_obj_free(p);
		}
		if (r == 0)
			r = engine_watch_flush(d->ew, on_change, d);
		if (r == 0 && n_sub)
			r = rescan(d, subtrees, n_sub);
		for (size_t i = 0; i < n_sub; i++)
			free(subtrees[i]);
		free(subtrees);
		/* back to the loop now and then: a gap waiting there makes the rest moot */
		if (r < 0 || n < TAKE_BATCH || ++rounds >= 8)
			break;
	}
	buf_release(&events);
	buf_release(&process);
	buf_release(&user);
	notify_status(d, false);
	return r;
}

/* ---- control socket ---- */

static void status_json(struct daemon *d, struct buf *out)
{
	struct json_writer w;
	struct watch_info wi = { 0 };
	struct store_baseline_info bi = { 0 };
	char t[RFC3339_MAX];

	watch_get_info(d->w, &wi);
	store_baseline_info(d->cfg->store, d->cfg->host_id, &bi);
	jw_init(&w, out);
	jw_obj_open(&w);
	jw_key(&w, "running");
	jw_bool(&w, true);
	jw_key(&w, "ready");
	jw_bool(&w, d->ready);
	jw_key(&w, "pid");
	jw_i64(&w, getpid());
	jw_key(&w, "host");
	jw_str_bytes(&w, d->cfg->host_name, strlen(d->cfg->host_name));
	jw_key(&w, "mode");
	jw_str(&w, wi.mode ? wi.mode : "none");
	jw_key(&w, "filesystems");
	jw_arr_open(&w);
	for (size_t i = 0; i < wi.n_marked; i++)
		jw_str_bytes(&w, wi.marked[i], strlen(wi.marked[i]));
	jw_arr_close(&w);
	jw_key(&w, "watches");
	jw_u64(&w, wi.watches);
	jw_key(&w, "periodic_only");
	jw_arr_open(&w);
	for (size_t i = 0; i < wi.n_uncovered; i++)
		jw_str_bytes(&w, wi.uncovered[i], strlen(wi.uncovered[i]));
	jw_arr_close(&w);
	jw_key(&w, "objects");
	jw_u64(&w, bi.objects);
	jw_key(&w, "pending");
	jw_u64(&w, coalesce_count(d->table));
	jw_key(&w, "last_quick_check");
	if (d->last_quick[0]) {
		jw_obj_open(&w);
		jw_key(&w, "time");
		jw_str(&w, d->last_quick);
		jw_key(&w, "status");
		jw_i64(&w, d->last_quick_status);
		jw_obj_close(&w);
	} else {
		jw_null(&w);
	}
	jw_key(&w, "last_full_check");
	if (d->last_full[0]) {
		jw_obj_open(&w);
		jw_key(&w, "time");
		jw_str(&w, d->last_full);
		jw_key(&w, "status");
		jw_i64(&w, d->last_full_status);
		jw_obj_close(&w);
	} else {
		jw_null(&w);
	}
	jw_key(&w, "events");
	jw_u64(&w, wi.events);
	jw_key(&w, "overflows");
	jw_u64(&w, d->overflows);
	jw_key(&w, "resolve_failures");
	jw_u64(&w, wi.resolve_failures);
	jw_key(&w, "rescans");
	jw_u64(&w, d->rescans);
	jw_key(&w, "gaps");
	jw_u64(&w, d->gaps);
	jw_key(&w, "changes");
	jw_u64(&w, d->changes);
	jw_key(&w, "errors");
	jw_u64(&w, d->errors);
	jw_key(&w, "started");
	time_format_rfc3339(d->started_ns, t, sizeof(t));
	jw_str(&w, t);
	jw_key(&w, "uptime_s");
	jw_u64(&w, (uint64_t)((mono() - d->started_mono) / NS_PER_S));
	jw_key(&w, "run");
	jw_str(&w, engine_watch_run_uuid(d->ew));
	jw_key(&w, "state_dir");
	jw_str_bytes(&w, d->cfg->state_dir, strlen(d->cfg->state_dir));
	if (d->cfg->config_digest) {
		jw_key(&w, "config_sha256");
		jw_str(&w, d->cfg->config_digest);
	}
	jw_obj_close(&w);
	watch_info_release(&wi);
}

static void handle_client(struct daemon *d)
{
	struct timeval tv = { .tv_usec = 500 * 1000 };
	_cleanup_free_ char *req = NULL;
	int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	uid_t uid = 0;

	if (fd < 0)
		return;
	if (!control_peer_allowed(fd, &uid)) {
		log_warning("control socket: refused a client with uid %u", (unsigned)uid);
		close(fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (control_read_line(fd, 256, &req) <= 0) {
		close(fd);
		return;
	}
	if (strcmp(req, "status") == 0) {
		struct buf b;

		buf_init(&b, 0);
		status_json(d, &b);
		if (buf_putc(&b, '\n') == 0 &&
		    send(fd, b.data, b.len, MSG_NOSIGNAL) != (ssize_t)b.len)
			log_debug("control socket: status not sent: %s", strerror(errno));
		buf_release(&b);
		close(fd);
		return;
	}
	if (strcmp(req, "follow") == 0 && d->n_followers >= MAX_FOLLOWERS) {
		dprintf(fd, "{\"error\":\"too many followers\"}\n");
		close(fd);
		return;
	}
	if (strcmp(req, "follow") == 0) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = EP_CLIENT };
		int sz = 4 * 1024 * 1024;

		/* room for bursts: a follower is dropped only when this fills */
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		if (send(fd, "{\"following\":true}\n", 19, MSG_NOSIGNAL) == 19 &&
		    epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &(struct epoll_event){
								      .events = ev.events,
								      .data.u64 = ((uint64_t)fd << 8) |
										  EP_CLIENT,
							      }) == 0) {
			d->followers[d->n_followers++] = fd;
			return;
		}
	}
	dprintf(fd, "{\"error\":\"unknown request\"}\n");
	close(fd);
}

static void client_event(struct daemon *d, int fd)
{
	/* followers only ever hang up (or send junk, which ends them too) */
	for (size_t i = 0; i < d->n_followers; i++) {
		if (d->followers[i] == fd) {
			follower_drop(d, i);
			return;
		}
	}
}

/* ---- start, reload, stop ---- */

static int arm(struct daemon *d)
{
	struct watch_opts wo = {
		.policy = d->cfg->policy,
		.mode = d->cfg->settings->watch_mode,
		.one_filesystem = d->cfg->settings->one_filesystem,
		.self = getpid(),
		.table = d->table,
		.notify_fd = d->notify_fd,
		.ignore = (const char *const *)d->ignore,
		.n_ignore = ARRAY_SIZE(d->ignore),
	};
	struct vg_error err = { 0 };
	struct watch_info wi;
	struct json_writer w;
	struct buf b;
	int r;

	r = watch_new(&wo, &d->w, &err);
	if (r < 0) {
		log_error(0, "cannot watch: %s", err.msg[0] ? err.msg : strerror(-r));
		vg_error_clear(&err);
		return r;
	}
	r = watch_start(d->w);
	if (r < 0)
		return r;
	r = watch_get_info(d->w, &wi);
	if (r < 0)
		return r;
	buf_init(&b, 0);
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "monitor");
	jw_obj_open(&w);
	jw_key(&w, "host");
	jw_str_bytes(&w, d->cfg->host_name, strlen(d->cfg->host_name));
	jw_key(&w, "mode");
	jw_str(&w, wi.mode);
	jw_key(&w, "filesystems");
	jw_arr_open(&w);
	for (size_t i = 0; i < wi.n_marked; i++)
		jw_str_bytes(&w, wi.marked[i], strlen(wi.marked[i]));
	jw_arr_close(&w);
	jw_key(&w, "watches");
	jw_u64(&w, wi.watches);
	jw_key(&w, "periodic_only");
	jw_arr_open(&w);
	for (size_t i = 0; i < wi.n_uncovered; i++)
		jw_str_bytes(&w, wi.uncovered[i], strlen(wi.uncovered[i]));
	jw_arr_close(&w);
	jw_key(&w, "pid");
	jw_i64(&w, getpid());
	jw_key(&w, "run");
	jw_str(&w, engine_watch_run_uuid(d->ew));
	jw_key(&w, "quick_interval");
	jw_u64(&w, d->cfg->settings->quick_interval);
	jw_key(&w, "full_interval");
	jw_u64(&w, d->cfg->settings->full_interval);
	jw_obj_close(&w);
	jw_obj_close(&w);
	r = w.err ? w.err : engine_watch_note(d->ew, "monitor.started", b.data);
	log_info("watching with %s: %zu filesystems marked, %zu directories watched%s", wi.mode,
		 wi.n_marked, wi.watches, wi.n_uncovered ? "; some paths by periodic checks only" : "");
	for (size_t i = 0; i < wi.n_marked; i++)
		log_debug("marked the filesystem at %s", wi.marked[i]);
	buf_release(&b);
	watch_info_release(&wi);
	return r;
}

static int do_reload(struct daemon *d)
{
	struct daemon_config nc = *d->cfg;
	char id[UUID_STR_LEN];
	int r;

	if (!d->cfg->reload)
		return 0;
	r = d->cfg->reload(d->cfg->reload_ud, &nc);
	if (r < 0) {
		log_error(0, "reload failed; the running configuration stays in force");
		return 0;
	}
	/* what the old watcher saw is recorded first; then it goes, before the policy it
	 * uses does */
	r = handle_settled_at(d, INT64_MAX);
	if (r == 0)
		r = record_gaps(d, false);
	if (r < 0)
		return r;
	d->w = watch_free(d->w);
	*d->cfg = nc;
	d->eo.policy = nc.policy;
	d->eo.collect = nc.collect;
	d->eo.workers = nc.settings->workers;
	d->eo.hash_attempts = nc.settings->hash_attempts;
	d->eo.one_filesystem = nc.settings->one_filesystem;
	engine_watch_set_policy(d->ew, nc.policy, nc.collect);
	alert_policy_from_settings(&d->actx.policy, nc.settings);
	d->cfg->channels = nc.channels;
	d->cfg->n_channels = nc.n_channels;
	d->actx.channels = nc.alert_names;
	d->actx.n_channels = nc.n_alert_names;
	d->actx.escalation = nc.escalation_names;
	d->actx.n_escalation = nc.n_escalation_names;
	/* a new table, with the settings' new bounds */
	d->table = coalesce_free(d->table);
	r = coalesce_new((int64_t)nc.settings->settle_ms * NS_PER_MS,
			 (int64_t)nc.settings->max_delay_ms * NS_PER_MS, nc.settings->max_pending,
			 &d->table);
	if (r < 0)
		return r;
	r = arm(d);
	if (r < 0)
		return r;
	r = engine_watch_gap(d->ew, "reload", "/",
			     "settings and rules were reloaded; the watcher was re-armed", id);
	if (r == 0)
		r = run_check(d, "rescan", "rescan", false, NULL, 0);
	log_info("reloaded settings and rules");
	return r;
}

/* Records the gap since the last daemon and closes runs a killed daemon left open. */
static int restart_gap(struct daemon *d, bool had_previous, uint64_t unclean,
		       const struct store_run_info *last)
{
	char detail[256], since[RFC3339_MAX] = "";
	char id[UUID_STR_LEN];

	if (!had_previous && !unclean)
		return 0;
	if (had_previous)
		time_format_rfc3339(last->finished_ns, since, sizeof(since));
	if (unclean)
		snprintf(detail, sizeof(detail),
			 "the previous daemon did not stop cleanly (%" PRIu64 " runs left open);"
			 " nothing was watched until now",
			 unclean);
	else
		snprintf(detail, sizeof(detail), "nothing was watched from %s until now", since);
	d->gaps++;
	return engine_watch_gap(d->ew, "restart", "/", detail, id);
}

static int setup_fds(struct daemon *d)
{
	sigset_t mask;
	struct epoll_event ev = { .events = EPOLLIN };

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	d->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	d->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sig_fd < 0 || d->notify_fd < 0 || d->epoll_fd < 0)
		return -errno;
	ev.data.u64 = EP_SIGNAL;
	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, d->sig_fd, &ev) < 0)
		return -errno;
	ev.data.u64 = EP_NOTIFY;
	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, d->notify_fd, &ev) < 0)
		return -errno;
	ev.data.u64 = EP_LISTEN;
	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, d->listen_fd, &ev) < 0)
		return -errno;
	return 0;
}

static void read_signals(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			d->reload = true;
		else
			d->stop = true;
	}
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int loop(struct daemon *d)
{
	int r = 0;

	while (!d->stop && r == 0) {
		struct epoll_event evs[16];
		const struct settings *st;
		int64_t now = mono(), next_settle = INT64_MAX, deadline;
		int timeout, n;

		{
			struct pending_obj *none[1];

			/* peek: taking nothing (max 0) tells when the next object settles */
			coalesce_take(d->table, now, none, 0, &next_settle);
		}
		deadline = min64(min64(d->next_quick, d->next_full), d->next_checkpoint);
		deadline = min64(deadline, d->next_collect);
		if (d->outbox_due)
			deadline = min64(deadline, d->next_outbox);
		deadline = min64(deadline, next_settle);
		if (d->watchdog_ns)
			deadline = min64(deadline, d->next_watchdog);
		if (deadline <= now)
			timeout = 0;
		else if ((deadline - now) / NS_PER_MS >= INT32_MAX)
			timeout = -1;
		else
			timeout = (int)((deadline - now + NS_PER_MS - 1) / NS_PER_MS);
		n = epoll_wait(d->epoll_fd, evs, ARRAY_SIZE(evs), timeout);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64 & 0xff;

			if (tag == EP_SIGNAL) {
				read_signals(d);
			} else if (tag == EP_NOTIFY) {
				uint64_t v;

				if (read(d->notify_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					log_debug("eventfd: %s", strerror(errno));
			} else if (tag == EP_LISTEN) {
				handle_client(d);
			} else {
				client_event(d, (int)(evs[i].data.u64 >> 8));
			}
		}
		if (d->stop)
			break;
		r = handle_gaps(d);
		if (r == 0)
			r = handle_settled(d);
		if (r == 0 && d->reload) {
			d->reload = false;
			r = do_reload(d);
		}
		/* after a reload the settings are new: never keep a pointer across one */
		st = d->cfg->settings;
		now = mono();
		if (r == 0 && now >= d->next_full) {
			r = run_check(d, "check", "check", true, NULL, 0);
			now = mono();
			d->next_full = now + (int64_t)st->full_interval * NS_PER_S;
			d->next_quick = now + (int64_t)st->quick_interval * NS_PER_S;
		} else if (r == 0 && now >= d->next_quick) {
			r = run_check(d, "check", "check", false, NULL, 0);
			d->next_quick = mono() + (int64_t)st->quick_interval * NS_PER_S;
		}
		/* objects beyond files, between checks (the checks collect too): at each
		 * interval, and soon after a file behind them changed (at most once a second) */
		if (r == 0 && d->collect_soon)
			d->next_collect = min64(d->next_collect, d->last_collect + NS_PER_S);
		if (r == 0 && mono() >= d->next_collect) {
			d->collect_soon = false;
			r = engine_watch_collect(d->ew, on_change, d);
			d->last_collect = mono();
			d->next_collect = d->last_collect + (int64_t)st->collect_interval * NS_PER_S;
		}
		if (r == 0 && now >= d->next_checkpoint) {
			bool issued = false;

			r = journal_checkpoint_if_due(d->cfg->journal,
						      (int64_t)st->checkpoint_interval * NS_PER_S,
						      &issued);
			if (r == 0)
				r = store_tx_commit(d->cfg->store);
			/* the clock's marks on alerts: escalations, breaches, overdue records */
			if (r == 0) {
				int m = alert_evaluate(&d->actx, clock_now_ns(),
						       (int64_t)st->emergency_deadline * NS_PER_S);

				r = m < 0 ? m : 0;
			}
			d->next_checkpoint = mono() + 60 * NS_PER_S;
			d->outbox_due = true; /* retries fall due with time */
		}
		/* alert messages: at most a few seconds per round, so events keep flowing */
		if (r == 0 && d->outbox_due && mono() >= d->next_outbox) {
			int left = alert_outbox_work(&d->actx, d->cfg->channels, d->cfg->n_channels,
						     mono() + 3 * NS_PER_S);

			if (left < 0)
				log_error(0, "cannot deliver alerts: %s", strerror(-left));
			d->outbox_due = left > 0;
			d->next_outbox = mono() + (left > 0 ? 5 : 1) * NS_PER_S;
		}
		watchdog(d);
	}
	return r;
}

int daemon_run(struct daemon_config *cfg)
{
	struct daemon d = { .cfg = cfg, .sig_fd = -1, .notify_fd = -1, .listen_fd = -1,
			    .epoll_fd = -1 };
	const struct settings *st = cfg->settings;
	struct store_run_info last = { 0 };
	uint64_t unclean = 0, usec = 0;
	bool had_previous;
	int r;

	d.eo = (struct engine_opts){
		.policy = cfg->policy,
		.store = cfg->store,
		.host_id = cfg->host_id,
		.host_name = cfg->host_name,
		.workers = st->workers,
		.hash_attempts = st->hash_attempts,
		.one_filesystem = st->one_filesystem,
		.journal = cfg->journal,
		.collect = cfg->collect,
		.kinds = (1u << OBJECT_KINDS_N) - 1,
	};
	{
		struct reconcile_opts ro = { .store = cfg->store, .host_name = cfg->host_name,
					   .package_slack_ns = (int64_t)st->package_slack * 1000000000 };

		r = reconciler_new(&ro, &d.rec);
		if (r < 0)
			return r;
		d.eo.reconcile = reconciler_engine_hook;
		d.eo.reconcile_ud = d.rec;
	}
	d.actx = (struct alert_ctx){ .store = cfg->store, .journal = cfg->journal,
				     .host_id = cfg->host_id, .host_name = cfg->host_name,
				     .channels = cfg->alert_names, .n_channels = cfg->n_alert_names,
				     .escalation = cfg->escalation_names,
				     .n_escalation = cfg->n_escalation_names };
	alert_policy_from_settings(&d.actx.policy, st);
	d.outbox_due = true; /* what an earlier run left is delivered now */
	d.eo.recorded = alert_engine_hook;
	d.eo.gap = alert_gap_hook;
	d.eo.recorded_ud = &d.actx;
	d.started_ns = clock_now_ns();
	d.started_mono = mono();
	d.last_quick_status = d.last_full_status = -1;
	/* the store's own files change with every commit: their events are never read */
	if (asprintf(&d.ignore[0], "%s/%s", cfg->state_dir, STORE_DB_NAME) < 0 ||
	    asprintf(&d.ignore[1], "%s/%s-wal", cfg->state_dir, STORE_DB_NAME) < 0 ||
	    asprintf(&d.ignore[2], "%s/%s-shm", cfg->state_dir, STORE_DB_NAME) < 0 ||
	    asprintf(&d.ignore[3], "%s/%s-journal", cfg->state_dir, STORE_DB_NAME) < 0)
		return -ENOMEM;
	d.listen_fd = control_listen(cfg->runtime_dir);
	if (d.listen_fd < 0) {
		r = d.listen_fd;
		log_error(0, "control socket in '%s': %s", cfg->runtime_dir,
			  r == -EADDRINUSE ? "another daemon answers there" : strerror(-r));
		goto out;
	}
	r = setup_fds(&d);
	if (r < 0)
		goto out;
	r = coalesce_new((int64_t)st->settle_ms * NS_PER_MS, (int64_t)st->max_delay_ms * NS_PER_MS,
			 st->max_pending, &d.table);
	if (r < 0)
		goto out;
	/* what the last daemon left behind */
	r = store_run_last(cfg->store, cfg->host_id, "watch", -1, &last);
	if (r < 0)
		goto out;
	had_previous = r == 1;
	r = store_run_close_unfinished(cfg->store, cfg->host_id, "watch", clock_now_ns(), 137,
				       &unclean);
	if (r == 0)
		r = store_tx_commit(cfg->store);
	if (r == 0)
		r = engine_watch_begin(&d.eo, &d.ew);
	if (r < 0)
		goto out;
	r = arm(&d);
	if (r == 0)
		r = restart_gap(&d, had_previous, unclean, &last);
	/* changes made while nothing watched */
	if (r == 0)
		r = run_check(&d, "start", "check", false, NULL, 0);
	if (r < 0)
		goto out;
	d.next_quick = mono() + (int64_t)st->quick_interval * NS_PER_S;
	d.next_full = mono() + (int64_t)st->full_interval * NS_PER_S;
	d.next_collect = mono() + (int64_t)st->collect_interval * NS_PER_S;
	d.next_checkpoint = mono();
	if (sd_watchdog_enabled(0, &usec) > 0)
		d.watchdog_ns = (int64_t)usec * 1000;
	d.ready = true;
	sd_notify(0, "READY=1");
	notify_status(&d, true);
	log_info("ready (pid %d, control socket %s/%s)", (int)getpid(), cfg->runtime_dir,
		 DAEMON_SOCKET);
	r = loop(&d);
	sd_notify(0, "STOPPING=1");
	/* what waits to settle is read now rather than left to the next start's check, and
	 * gaps not yet recorded are (the next start's check rescans everything) */
	if (r == 0)
		r = handle_settled_at(&d, INT64_MAX);
	if (r == 0)
		r = record_gaps(&d, false);
out:
	if (d.w)
		d.w = watch_free(d.w);
	if (d.ew) {
		int e = 0;

		if (r == 0)
			e = engine_watch_note(d.ew, "monitor.stopped",
					      "{\"monitor\":{\"stopped\":\"clean\"}}");
		if (e == 0)
			e = engine_watch_end(d.ew, r == 0 ? 0 : 18);
		if (r == 0)
			r = e;
	}
	for (size_t i = 0; i < d.n_followers; i++)
		close(d.followers[i]);
	coalesce_free(d.table);
	if (d.listen_fd >= 0) {
		char path[4200];

		snprintf(path, sizeof(path), "%s/%s", cfg->runtime_dir, DAEMON_SOCKET);
		unlink(path);
		close(d.listen_fd);
	}
	if (d.sig_fd >= 0)
		close(d.sig_fd);
	if (d.notify_fd >= 0)
		close(d.notify_fd);
	if (d.epoll_fd >= 0)
		close(d.epoll_fd);
	for (size_t i = 0; i < ARRAY_SIZE(d.ignore); i++)
		free(d.ignore[i]);
	reconciler_free(d.rec);
	return r;
}

/*
 * vigil daemon, vigil status and vigil changes: run the monitor, ask it how it is, and
 * list what it recorded.  status and changes talk to a running daemon over its control
 * socket and fall back to reading the store when none runs.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/escape.h"
#include "base/json-canon.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/parse.h"
#include "base/strmap.h"
#include "base/timeutil.h"
#include "cli/cli.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "base/banned.h"

#define DEFAULT_RUNTIME "/run/vigil"
#define EXIT_NOT_RUNNING 3

const char *cli_runtime_dir(const struct cli *c)
{
	if (c->runtime_dir)
		return c->runtime_dir;
	if (c->settings.runtime_dir)
		return c->settings.runtime_dir;
	return DEFAULT_RUNTIME;
}

/* ---- vigil daemon ---- */

struct reloader {
	struct cli *orig;	/* options, store and journal */
	struct cli *cur, *prev;	/* the configurations loaded by reloads */
};

static int reload(void *ud, struct daemon_config *ret)
{
	struct reloader *rl = ud;
	struct cli *nc = calloc(1, sizeof(*nc));
	int status;

	if (!nc)
		return -ENOMEM;
	nc->config_path = rl->orig->config_path;
	nc->rules_dir = rl->orig->rules_dir;
	nc->state_dir = rl->orig->state_dir;
	nc->runtime_dir = rl->orig->runtime_dir;
	nc->verbosity = rl->orig->verbosity;
	status = cli_load(nc);
	if (status == EXIT_OK)
		status = cli_collect_setup(nc, &ret->collect);
	if (status == EXIT_OK) {
		nc->store = rl->orig->store;
		nc->journal = rl->orig->journal;
		status = cli_journal_config(nc);
		nc->store = NULL;
		nc->journal = NULL;
	}
	if (status != EXIT_OK) {
		cli_release(nc);
		free(nc);
		return -EINVAL;
	}
	/* two generations back is no longer used by anything */
	if (rl->prev) {
		cli_release(rl->prev);
		free(rl->prev);
	}
	rl->prev = rl->cur;
	rl->cur = nc;
	ret->settings = &nc->settings;
	ret->policy = &nc->policy;
	ret->channels = nc->channels;
	ret->n_channels = nc->n_channels;
	ret->alert_names = nc->alert_names;
	ret->n_alert_names = nc->n_alert_channels;
	ret->escalation_names = nc->escalation_names;
	ret->n_escalation_names = nc->n_escalation_channels;
	return 0;
}

int cmd_daemon(struct cli *c, int argc, char **argv)
{
	struct store_baseline_info info;
	struct reloader rl = { .orig = c };
	const struct coll_opts *collect = NULL;
	struct daemon_config cfg;
	int status, r, lock_fd;

	status = cli_load(c);
	if (status == EXIT_OK)
		status = cli_collect_setup(c, &collect);
	if (status != EXIT_OK)
		return status;
	status = cli_open_store(c, false);
	if (status != EXIT_OK)
		return status;
	r = store_baseline_info(c->store, c->host_id, &info);
	if (r < 0)
		return log_error(EXIT_STORE, "cannot read the store: %s", store_errmsg(c->store));
	if (!info.exists || !info.complete)
		return log_error(EXIT_STORE,
				 "no complete baseline for host '%s' in '%s' (run 'vigil init')",
				 c->host_name, cli_state_dir(c));
	/* one daemon per state directory and per socket, found out before anything is written */
	lock_fd = control_lock_state(cli_state_dir(c));
	if (lock_fd < 0)
		return log_error(EXIT_FAILURE_, "'%s': %s", cli_state_dir(c),
				 lock_fd == -EBUSY ? "another daemon uses this state directory"
						   : strerror(-lock_fd));
	r = control_connect(cli_runtime_dir(c));
	if (r >= 0) {
		close(r);
		close(lock_fd);
		return log_error(EXIT_FAILURE_, "control socket in '%s': another daemon answers there",
				 cli_runtime_dir(c));
	}
	status = cli_open_journal(c, JOURNAL_WRITE);
	if (status == EXIT_OK)
		status = cli_journal_config(c);
	if (status != EXIT_OK) {
		close(lock_fd);
		return status;
	}
	cfg = (struct daemon_config){
		.settings = &c->settings,
		.policy = &c->policy,
		.store = c->store,
		.journal = c->journal,
		.host_id = c->host_id,
		.host_name = c->host_name,
		.state_dir = cli_state_dir(c),
		.runtime_dir = cli_runtime_dir(c),
		.reload = reload,
		.reload_ud = &rl,
		.collect = collect,
		.channels = c->channels,
		.n_channels = c->n_channels,
		.alert_names = c->alert_names,
		.n_alert_names = c->n_alert_channels,
		.escalation_names = c->escalation_names,
		.n_escalation_names = c->n_escalation_channels,
	};
	r = daemon_run(&cfg);
	close(lock_fd);
	if (rl.prev) {
		cli_release(rl.prev);
		free(rl.prev);
	}
	if (rl.cur) {
		cli_release(rl.cur);
		free(rl.cur);
	}
	if (r == -ENOMEM)
		return log_error(EXIT_FAILURE_, "out of memory");
	if (r == -EADDRINUSE || r == -EPERM)
		return EXIT_FAILURE_;
	if (r < 0)
		return log_error(EXIT_STORE, "the daemon stopped: %s (%s)", strerror(-r),
				 store_errmsg(c->store));
	log_info("stopped");
	return EXIT_OK;
}

/* ---- vigil status ---- */

static void print_status_line(const char *json, const char *key, const char *label)
{
	char v[512];

	if (json_path_string(json, strlen(json), key, v, sizeof(v)) == 0)
		printf("%-18s %s\n", label, v);
}

int cmd_status(struct cli *c, int argc, char **argv)
{
	_cleanup_free_ char *line = NULL;
	struct store_run_info quick, full;
	struct store_baseline_info info;
	uint64_t gaps = 0;
	int status, fd, r;

	status = cli_load_settings(c);
	if (status != EXIT_OK)
		return status;
	fd = control_connect(cli_runtime_dir(c));
	if (fd >= 0) {
		r = control_request(fd, "status", &line);
		close(fd);
		if (r < 0)
			return log_error(EXIT_FAILURE_, "the daemon did not answer: %s", strerror(-r));
		if (c->json) {
			puts(line);
			return EXIT_OK;
		}
		printf("%-18s %s\n", "state",
		       strstr(line, "\"ready\":true") ? "running" : "starting (the start check runs)");
		print_status_line(line, "pid", "pid");
		print_status_line(line, "mode", "mode");
		printf("%-18s ", "filesystems");
		{
			/* the array, as JSON: its members are paths and speak for themselves */
			const char *a = strstr(line, "\"filesystems\":");
			const char *e = a ? strchr(a, ']') : NULL;

			if (a && e)
				printf("%.*s\n", (int)(e - a - 13), a + 14);
			else
				printf("-\n");
		}
		print_status_line(line, "watches", "directories");
		{
			const char *a = strstr(line, "\"periodic_only\":[");

			if (a && a[17] != ']') {
				const char *e = strchr(a, ']');

				printf("%-18s %.*s\n", "periodic only", (int)(e - a - 16), a + 16);
			}
		}
		print_status_line(line, "objects", "objects");
		print_status_line(line, "pending", "pending events");
		print_status_line(line, "last_quick_check.time", "last quick check");
		print_status_line(line, "last_full_check.time", "last full check");
		print_status_line(line, "overflows", "overflows");
		print_status_line(line, "rescans", "rescans");
		print_status_line(line, "gaps", "gaps");
		print_status_line(line, "changes", "changes");
		print_status_line(line, "started", "started");
		print_status_line(line, "uptime_s", "uptime (s)");
		return EXIT_OK;
	}
	/* no daemon: what the store knows */
	{
		struct vg_error err;

		vg_error_clear(&err);
		r = store_open(cli_state_dir(c), STORE_READONLY, &c->store, &err);
		if (r < 0) {
			char msg[1024];

			vg_error_format(&err, msg, sizeof(msg));
			log_error(0, "no daemon answers in '%s', and %s", cli_runtime_dir(c), msg);
			return EXIT_STORE;
		}
	}
	if (store_host(c->store, c->host_name, &c->host_id) < 0 ||
	    store_baseline_info(c->store, c->host_id, &info) < 0 ||
	    store_run_last(c->store, c->host_id, "check", 0, &quick) < 0 ||
	    store_run_last(c->store, c->host_id, "check", 1, &full) < 0 ||
	    store_gap_count(c->store, c->host_id, NULL, &gaps) < 0)
		return log_error(EXIT_STORE, "cannot read the store: %s", store_errmsg(c->store));
	{
		char q[RFC3339_MAX] = "never", f[RFC3339_MAX] = "never";

		if (quick.finished_ns)
			time_format_rfc3339(quick.finished_ns, q, sizeof(q));
		if (full.finished_ns)
			time_format_rfc3339(full.finished_ns, f, sizeof(f));
		if (c->json) {
			printf("{\"running\":false,\"objects\":%" PRIu64 ",\"last_quick_check\":"
			       "\"%s\",\"last_full_check\":\"%s\",\"gaps\":%" PRIu64 "}\n",
			       info.objects, q, f, gaps);
		} else {
			printf("%-18s not running (no daemon answers in %s)\n", "state",
			       cli_runtime_dir(c));
			printf("%-18s %" PRIu64 "\n", "objects", info.objects);
			printf("%-18s %s\n", "last quick check", q);
			printf("%-18s %s\n", "last full check", f);
			printf("%-18s %" PRIu64 "\n", "gaps", gaps);
		}
	}
	return EXIT_NOT_RUNNING;
}

/* ---- vigil changes ---- */

/* RFC 3339, or an age before now. */
static int parse_since(const char *s, int64_t *ret)
{
	int64_t age;

	if (time_parse_rfc3339(s, ret) == 0)
		return 0;
	if (cli_parse_age(s, &age) < 0)
		return -EINVAL;
	*ret = clock_now_ns() - age;
	return 0;
}

struct lister {
	struct cli *c;
	struct strmap seen;	/* event ids printed (while following) */
	bool remember;
	int64_t last_id;	/* the last change printed from the store */
};

static void print_change(struct cli *c, const char *json, const char *path, size_t path_len,
			 uint32_t attrs)
{
	size_t n = strlen(json);
	char t[64] = "-", change[16] = "-", type[16] = "-", exe[1024] = "-", auid[16] = "-",
	     src[32] = "-";
	struct buf p;

	if (c->json) {
		puts(json);
		return;
	}
	json_path_string(json, n, "@timestamp", t, sizeof(t));
	json_path_string(json, n, "vigil.change", change, sizeof(change));
	/* a file's type, or a collected object's kind */
	if (json_path_string(json, n, "file.type", type, sizeof(type)) < 0)
		json_path_string(json, n, "vigil.kind", type, sizeof(type));
	if (json_path_string(json, n, "process.executable", exe, sizeof(exe)) < 0) {
		char name[32];

		if (json_path_string(json, n, "process.name", name, sizeof(name)) == 0)
			snprintf(exe, sizeof(exe), "%s (exited)", name);
	}
	json_path_string(json, n, "user.audit.id", auid, sizeof(auid));
	json_path_string(json, n, "vigil.detection.source", src, sizeof(src));
	buf_init(&p, 0);
	escape_bytes(&p, path, path_len);
	printf("%s %-8s %-7s %s", t, change, type, buf_str(&p));
	buf_release(&p);
	if (attrs) {
		const char *sep = " [";

		for (int a = 0; a < ATTR__COUNT; a++) {
			if (attrs & ATTR_BIT(a)) {
				printf("%s%s", sep, attr_name((enum attr)a));
				sep = ",";
			}
		}
		putchar(']');
	}
	{
		char pid[24] = "";

		json_path_string(json, n, "process.pid", pid, sizeof(pid));
		if (strstr(json, "\"gone\":true"))
			printf(" by pid %s (exited before it could be read)", pid);
		else if (pid[0])
			printf(" by %s (pid %s, auid %s)", exe,  pid,
			       strcmp(auid, "-") == 0 ? "unset" : auid);
	}
	printf(" via %s", src);
	{
		char disp[16] = "", rec[256] = "";

		json_path_string(json, n, "vigil.disposition", disp, sizeof(disp));
		json_path_string(json, n, "vigil.authorization.record.id", rec, sizeof(rec));
		if (disp[0])
			printf(" -- %s%s%s", disp, rec[0] ? " by " : "", rec);
	}
	putchar('\n');
}

static int list_one(void *ud, const struct store_change_row *row)
{
	struct lister *l = ud;

	print_change(l->c, row->event_json, row->path, row->path_len, row->attrs);
	l->last_id = row->id;
	if (l->remember)
		return strmap_put(&l->seen, row->uuid, strlen(row->uuid), (void *)1, NULL);
	return 0;
}

/* The attributes named in the event's "vigil.attributes" list. */
static uint32_t attrs_of(const char *json)
{
	const char *p = strstr(json, "\"attributes\":[");
	uint32_t m = 0;

	if (!p)
		return 0;
	for (p += 14; *p && *p != ']';) {
		const char *q;
		int a;

		if (*p != '"') {
			p++;
			continue;
		}
		q = strchr(p + 1, '"');
		if (!q)
			break;
		a = attr_from_name(p + 1, (size_t)(q - p - 1));
		if (a >= 0)
			m |= ATTR_BIT(a);
		p = q + 1;
	}
	return m;
}

/* Prints a change that arrived on the follow stream (unless the store listing had it). */
static void follow_line(struct lister *l, const char *line)
{
	size_t n = strlen(line);
	char id[64], path[4096];

	if (json_path_string(line, n, "event.id", id, sizeof(id)) < 0)
		return; /* the greeting, or something that is not a change */
	/* listed from the store already: once is enough */
	if (strmap_remove(&l->seen, id, strlen(id)) != NULL)
		return;
	if (l->c->json)
		puts(line);
	else if (json_path_string(line, n, "file.path", path, sizeof(path)) == 0)
		print_change(l->c, line, path, strlen(path), attrs_of(line));
	else
		puts(line); /* a path with escapes: the JSON says it exactly */
	fflush(stdout);
}

int cmd_changes(struct cli *c, int argc, char **argv)
{
	struct lister l = { .c = c };
	int64_t since = 0;
	FILE *follow = NULL;
	struct vg_error err;
	int status, r;

	status = cli_load_settings(c);
	if (status != EXIT_OK)
		return status;
	if (c->since && parse_since(c->since, &since) < 0)
		return log_error(EXIT_USAGE,
				 "--since takes a time (RFC 3339, e.g. 2026-11-27T09:00:00Z) or an"
				 " age (e.g. 10m, 2h, 1d), got '%s'",
				 c->since);
	if (c->follow) {
		/* subscribe first, so nothing recorded while the store is read is lost */
		int fd = control_connect(cli_runtime_dir(c));

		if (fd >= 0) {
			follow = fdopen(fd, "r+");
			if (!follow) {
				close(fd);
				return log_error(EXIT_FAILURE_, "out of memory");
			}
			if (fputs("follow\n", follow) < 0 || fflush(follow) != 0) {
				fclose(follow);
				return log_error(EXIT_FAILURE_, "the daemon did not answer");
			}
			l.remember = true;
		}
	}
	vg_error_clear(&err);
	r = store_open(cli_state_dir(c), STORE_READONLY, &c->store, &err);
	if (r < 0) {
		char msg[1024];

		vg_error_format(&err, msg, sizeof(msg));
		log_error(0, "%s", msg);
		if (follow)
			fclose(follow);
		return EXIT_STORE;
	}
	/* a store opened read-only cannot add the host: then it has no changes */
	if (store_host(c->store, c->host_name, &c->host_id) < 0)
		c->host_id = -1;
	r = store_changes_each(c->store, c->host_id, since, 0, list_one, &l);
	fflush(stdout);
	if (r < 0) {
		if (follow)
			fclose(follow);
		strmap_release(&l.seen, NULL);
		return log_error(EXIT_STORE, "cannot read the changes: %s", store_errmsg(c->store));
	}
	if (follow) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;

		while ((n = getline(&line, &cap, follow)) > 0) {
			if (line[n - 1] == '\n')
				line[n - 1] = '\0';
			follow_line(&l, line);
		}
		free(line);
		fclose(follow);
		strmap_release(&l.seen, NULL);
		log_info("the daemon closed the stream");
		return EXIT_OK;
	}
	strmap_release(&l.seen, NULL);
	if (!c->follow)
		return EXIT_OK;
	log_info("no daemon answers in '%s'; reading the store every second", cli_runtime_dir(c));
	for (;;) {
		sleep(1);
		r = store_changes_each(c->store, c->host_id, since, l.last_id, list_one, &l);
		if (r < 0)
			return log_error(EXIT_STORE, "cannot read the changes: %s",
					 store_errmsg(c->store));
		fflush(stdout);
	}
}

/* Reading an actor from /proc (actor.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/json.h"
#include "base/macro.h"
#include "watch/actor.h"
#include "base/banned.h"

#define ACTOR_READ_MAX 8192

/* Reads up to ACTOR_READ_MAX bytes of /proc/PID/NAME into buf; returns the length or a
 * negative errno. */
static ssize_t proc_read(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static char *proc_exe(pid_t pid)
{
	char path[64], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return NULL;
	target[n] = '\0';
	return strdup(target);
}

static uint32_t proc_id(pid_t pid, const char *name)
{
	char buf[32];
	unsigned long v;
	char *end;

	if (proc_read(pid, name, buf, sizeof(buf)) <= 0)
		return ACTOR_NO_ID;
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (errno || end == buf || v > UINT32_MAX)
		return ACTOR_NO_ID;
	return (uint32_t)v;
}

/* The numbers after "Key:" on a line of /proc/PID/status. */
static void status_field(const char *status, const char *key, uint32_t *out, size_t n)
{
	const char *p = strstr(status, key);

	for (size_t i = 0; i < n; i++)
		out[i] = ACTOR_NO_ID;
	if (!p)
		return;
	p += strlen(key);
	for (size_t i = 0; i < n; i++) {
		char *end;
		unsigned long v;

		while (*p == ' ' || *p == '\t')
			p++;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno || end == p)
			return;
		out[i] = (uint32_t)v;
		p = end;
	}
}

int actor_read(pid_t pid, struct actor *a)
{
	_cleanup_free_ char *buf = malloc(ACTOR_READ_MAX);
	uint32_t ids[4];
	ssize_t n;

	memset(a, 0, sizeof(*a));
	a->pid = pid;
	a->uid = a->euid = a->gid = a->auid = a->session = ACTOR_NO_ID;
	if (!buf)
		return -ENOMEM;
	n = proc_read(pid, "status", buf, ACTOR_READ_MAX);
	if (n < 0) {
		a->gone = true;
		return 0;
	}
	{
		/* "Name:\tmv\nState:\tZ (zombie)": what is left of a process that exited */
		const char *nm = strncmp(buf, "Name:", 5) == 0 ? buf + 5 : strstr(buf, "\nName:");
		const char *stt = strstr(buf, "\nState:");

		if (nm) {
			size_t l;

			nm += nm == buf + 5 ? 0 : 6;
			while (*nm == '\t' || *nm == ' ')
				nm++;
			l = strcspn(nm, "\n");
			if (l >= sizeof(a->name))
				l = sizeof(a->name) - 1;
			memcpy(a->name, nm, l);
			a->name[l] = '\0';
		}
		if (stt) {
			stt += 7;
			while (*stt == '\t' || *stt == ' ')
				stt++;
			a->exited = *stt == 'Z' || *stt == 'X';
		}
	}
	status_field(buf, "\nUid:", ids, 2);
	a->uid = ids[0];
	a->euid = ids[1];
	status_field(buf, "\nGid:", ids, 1);
	a->gid = ids[0];
	status_field(buf, "\nPPid:", ids, 1);
	a->ppid = ids[0] == ACTOR_NO_ID ? 0 : (pid_t)ids[0];
	a->auid = proc_id(pid, "loginuid");
	a->session = proc_id(pid, "sessionid");
	a->exe = proc_exe(pid);
	n = proc_read(pid, "cmdline", buf, ACTOR_READ_MAX);
	if (n > 0) {
		size_t count = 0;

		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\0')
				count++;
		if (buf[n - 1] != '\0')
			count++; /* truncated: the last argument is cut */
		a->argv = calloc(count, sizeof(*a->argv));
		if (!a->argv)
			return -ENOMEM;
		for (ssize_t i = 0; i < n && a->argc < count;) {
			size_t l = strnlen(buf + i, (size_t)(n - i));

			a->argv[a->argc] = strndup(buf + i, l);
			if (!a->argv[a->argc])
				return -ENOMEM;
			a->argc++;
			i += (ssize_t)l + 1;
		}
		for (ssize_t i = 0; i < n - 1; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		a->cmdline = strndup(buf, (size_t)n);
		if (!a->cmdline)
			return -ENOMEM;
	}
	if (a->ppid > 0)
		a->parent_exe = proc_exe(a->ppid);
	/* a process that exited while it was read leaves holes: say it is gone */
	if (!a->exe && proc_read(pid, "stat", buf, 64) < 0)
		a->gone = true;
	return 0;
}

void actor_release(struct actor *a)
{
	free(a->exe);
	free(a->cmdline);
	for (size_t i = 0; i < a->argc; i++)
		free(a->argv[i]);
	free(a->argv);
	free(a->parent_exe);
	memset(a, 0, sizeof(*a));
}

static int dup_or_null(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int actor_copy(struct actor *dst, const struct actor *src)
{
	*dst = *src;
	dst->exe = dst->cmdline = dst->parent_exe = NULL;
	dst->argv = NULL;
	dst->argc = 0;
	if (dup_or_null(&dst->exe, src->exe) < 0 || dup_or_null(&dst->cmdline, src->cmdline) < 0 ||
	    dup_or_null(&dst->parent_exe, src->parent_exe) < 0)
		goto fail;
	if (src->argc) {
		dst->argv = calloc(src->argc, sizeof(*dst->argv));
		if (!dst->argv)
			goto fail;
		for (; dst->argc < src->argc; dst->argc++)
			if (dup_or_null(&dst->argv[dst->argc], src->argv[dst->argc]) < 0)
				goto fail;
	}
	return 0;
fail:
	actor_release(dst);
	return -ENOMEM;
}

static void id_field(struct json_writer *w, const char *key, uint32_t id)
{
	char n[16];

	if (id == ACTOR_NO_ID)
		return;
	snprintf(n, sizeof(n), "%u", id);
	jw_key(w, key);
	jw_str(w, n);
}

int actor_json(const struct actor *a, struct buf *process, struct buf *user)
{
	struct json_writer w;

	buf_reset(process);
	jw_init(&w, process);
	jw_obj_open(&w);
	jw_key(&w, "pid");
	jw_i64(&w, a->pid);
	if (a->gone) {
		jw_key(&w, "gone");
		jw_bool(&w, true);
	}
	if (a->exited) {
		jw_key(&w, "exited");
		jw_bool(&w, true);
	}
	if (a->name[0]) {
		jw_key(&w, "name");
		jw_str_bytes(&w, a->name, strlen(a->name));
	}
	if (a->exe) {
		jw_key(&w, "executable");
		jw_str_bytes(&w, a->exe, strlen(a->exe));
	}
	if (a->cmdline) {
		jw_key(&w, "command_line");
		jw_str_bytes(&w, a->cmdline, strlen(a->cmdline));
		jw_key(&w, "args");
		jw_arr_open(&w);
		for (size_t i = 0; i < a->argc; i++)
			jw_str_bytes(&w, a->argv[i], strlen(a->argv[i]));
		jw_arr_close(&w);
	}
	if (!a->gone) {
		jw_key(&w, "user");
		jw_obj_open(&w);
		id_field(&w, "id", a->uid);
		jw_obj_close(&w);
		jw_key(&w, "real_user");
		jw_obj_open(&w);
		id_field(&w, "id", a->uid);
		jw_obj_close(&w);
		jw_key(&w, "effective_user");
		jw_obj_open(&w);
		id_field(&w, "id", a->euid);
		jw_obj_close(&w);
		jw_key(&w, "group");
		jw_obj_open(&w);
		id_field(&w, "id", a->gid);
		jw_obj_close(&w);
		if (a->session != ACTOR_NO_ID) {
			jw_key(&w, "session_id");
			jw_u64(&w, a->session);
		}
		if (a->ppid > 0) {
			jw_key(&w, "parent");
			jw_obj_open(&w);
			jw_key(&w, "pid");
			jw_i64(&w, a->ppid);
			if (a->parent_exe) {
				jw_key(&w, "executable");
				jw_str_bytes(&w, a->parent_exe, strlen(a->parent_exe));
			}
			jw_obj_close(&w);
		}
	}
	jw_obj_close(&w);
	if (w.err)
		return w.err;
	buf_reset(user);
	jw_init(&w, user);
	jw_obj_open(&w);
	if (!a->gone) {
		id_field(&w, "id", a->uid);
		jw_key(&w, "audit");
		jw_obj_open(&w);
		/* the login uid survives su and sudo: the person, not the account used */
		if (a->auid != ACTOR_NO_ID)
			id_field(&w, "id", a->auid);
		else
			jw_key(&w, "id"), jw_null(&w);
		jw_obj_close(&w);
	}
	jw_obj_close(&w);
	return w.err;
}

/*
 * The collectors' common parts: the item set (keys checked, states canonicalized), the
 * table of collectors, and reading files below the configured root.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/json-canon.h"
#include "base/macro.h"
#include "collect/collect.h"
#include "base/banned.h"

static const char *const account_files[] = { "/etc/passwd", "/etc/shadow", "/etc/group",
					     "/etc/gshadow", NULL };
static const char *const sudo_files[] = { "/etc/sudoers", "/etc/sudoers.d", NULL };
static const char *const package_files[] = { "/var/lib/dpkg/status", NULL };
static const char *const repo_files[] = { "/etc/apt/sources.list", "/etc/apt/sources.list.d",
					  "/etc/apt/trusted.gpg", "/etc/apt/trusted.gpg.d",
					  NULL };
static const char *const unit_files[] = { "/etc/systemd/system", NULL };
static const char *const cron_files[] = { "/etc/crontab", "/etc/cron.d",
					  "/var/spool/cron/crontabs", NULL };

const struct collector coll_table[] = {
	{ "package", coll_package_collect, package_files },
	{ "repo", coll_repo_collect, repo_files },
	{ "user", coll_user_collect, account_files },
	{ "group", coll_group_collect, account_files },
	{ "sudo", coll_sudo_collect, sudo_files },
	{ "module", coll_module_collect, NULL },
	{ "sysctl", coll_sysctl_collect, NULL },
	{ "socket", coll_socket_collect, NULL },
	{ "unit", coll_unit_collect, unit_files },
	{ "timer", coll_timer_collect, unit_files },
	{ "cron", coll_cron_collect, cron_files },
	{ "firewall", coll_firewall_collect, NULL },
	{ "mount", coll_mount_collect, NULL },
	{ "kernel", coll_kernel_collect, NULL },
	{ "certificate", coll_certificate_collect, NULL },
	{ "exec", coll_exec_collect, NULL },
};
const size_t coll_table_n = ARRAY_SIZE(coll_table);

const struct collector *collector_find(const char *kind, size_t len)
{
	for (size_t i = 0; i < coll_table_n; i++)
		if (strlen(coll_table[i].kind) == len && memcmp(coll_table[i].kind, kind, len) == 0)
			return &coll_table[i];
	return NULL;
}

static bool key_ok(const char *key)
{
	size_t n = strlen(key);

	if (n == 0 || n > 4096)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f)
			return false;
	return true;
}

int coll_set_add(struct coll_set *s, const char *key, const char *state_json, const char *text)
{
	struct buf canon;
	struct coll_item *it;
	int r;

	if (!key_ok(key) || !state_json)
		return -EINVAL;
	if (strlen(state_json) > COLL_STATE_MAX || (text && strlen(text) > COLL_TEXT_MAX))
		return -E2BIG;
	/* a set is small (thousands): a linear look for duplicates is not worth an index,
	 * but the caller's sort makes the last added key the one most likely repeated */
	for (size_t i = s->n; i-- > 0;)
		if (strcmp(s->items[i].key, key) == 0)
			return -EEXIST;
	buf_init(&canon, COLL_STATE_MAX);
	r = json_canonicalize(state_json, strlen(state_json), &canon);
	if (r == 0 && (canon.len == 0 || canon.data[0] != '{'))
		r = -EINVAL;
	if (r < 0) {
		buf_release(&canon);
		return r;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct coll_item *nv = realloc(s->items, cap * sizeof(*nv));

		if (!nv) {
			buf_release(&canon);
			return -ENOMEM;
		}
		s->items = nv;
		s->cap = cap;
	}
	it = &s->items[s->n];
	it->key = strdup(key);
	it->text = text ? strdup(text) : NULL;
	r = buf_detach(&canon, &it->state, NULL);
	if (r < 0 || !it->key || (text && !it->text)) {
		free(it->key);
		free(it->text);
		if (r == 0)
			free(it->state);
		buf_release(&canon);
		return -ENOMEM;
	}
	s->n++;
	return 0;
}

static int item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct coll_item *)a)->key, ((const struct coll_item *)b)->key);
}

void coll_set_sort(struct coll_set *s)
{
	if (s->n > 1)
		qsort(s->items, s->n, sizeof(*s->items), item_cmp);
}

void coll_set_release(struct coll_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->items[i].key);
		free(s->items[i].state);
		free(s->items[i].text);
	}
	free(s->items);
	memset(s, 0, sizeof(*s));
}

int coll_path(const struct coll_opts *o, const char *path, char *out, size_t size)
{
	int k = snprintf(out, size, "%s%s", o->root ? o->root : "", path);

	return k < 0 || (size_t)k >= size ? -ENAMETOOLONG : 0;
}

int coll_read(const struct coll_opts *o, const char *path, size_t max, char **ret, size_t *ret_len)
{
	char full[4096];
	int r = coll_path(o, path, full, sizeof(full));

	if (r < 0)
		return r;
	return file_read_all(full, NULL, max, ret, ret_len);
}

/* ---- shared by the collectors ---- */

char *const coll_envp[] = {
	(char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	(char *)"LC_ALL=C",
	NULL,
};

int coll_strv_push(struct coll_strv *l, const char *s, size_t n)
{
	char *c;

	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		char **nv = reallocarray(l->v, nc, sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	c = strndup(s, n);
	if (!c)
		return -ENOMEM;
	l->v[l->n++] = c;
	return 0;
}

void coll_strv_release(struct coll_strv *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int coll_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

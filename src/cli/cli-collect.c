/*
 * The collectors' options from the settings ([collect] and [exec.NAME], vigil.conf(5)),
 * checked with the place of each mistake, and the kinds a check is limited to (--only).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/object.h"
#include "base/parse.h"
#include "base/proc.h"
#include "cli/cli.h"
#include "collect/collect.h"
#include "base/banned.h"

#define EXEC_ARGV_MAX 64
#define LIST_MAX 256

struct cli_collect {
	struct coll_opts o;
	char **sysctl, **pki;
	size_t n_sysctl, n_pki;
	struct coll_exec *execs;
	size_t n_execs;
};

static void strv_release(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void cli_collect_free(struct cli *c)
{
	struct cli_collect *cc = c->collect;

	if (!cc)
		return;
	strv_release(cc->sysctl, cc->n_sysctl);
	strv_release(cc->pki, cc->n_pki);
	for (size_t i = 0; i < cc->n_execs; i++)
		proc_argv_free((char **)cc->execs[i].argv);
	free(cc->execs);
	free(cc);
	c->collect = NULL;
}

/* A comma-separated list of words (spaces around them dropped). */
static int split_list(const char *s, char ***ret, size_t *ret_n)
{
	char **v = NULL;
	size_t n = 0;

	for (const char *p = s; p && *p;) {
		size_t l;
		char **nv;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		l = strcspn(p, ",");
		while (l && (p[l - 1] == ' ' || p[l - 1] == '\t'))
			l--;
		if (!l)
			continue;
		if (n == LIST_MAX) {
			strv_release(v, n);
			return -E2BIG;
		}
		nv = realloc(v, (n + 1) * sizeof(*nv));
		if (!nv || !(nv[n] = strndup(p, l))) {
			strv_release(nv ? nv : v, n);
			return -ENOMEM;
		}
		v = nv;
		n++;
		p += l;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static int exec_from_section(const struct settings_channel *sec, unsigned default_timeout,
			     struct coll_exec *ret)
{
	const struct settings_kv *cmd = NULL;
	uint64_t timeout = default_timeout;
	bool secret = false;
	char **argv = NULL;
	size_t n;
	int r;

	for (size_t i = 0; i < sec->n_kv; i++) {
		const struct settings_kv *kv = &sec->kv[i];

		if (strcmp(kv->key, "command") == 0) {
			cmd = kv;
		} else if (strcmp(kv->key, "timeout") == 0) {
			if (parse_uint_range(kv->value, 1, 600, &timeout) < 0)
				return log_error(EXIT_CONFIG, "%s:%u: key 'timeout': '%s' is not a "
							      "number of seconds from 1 to 600",
						 sec->file, kv->line, kv->value);
		} else if (strcmp(kv->key, "secret") == 0) {
			if (parse_bool(kv->value, &secret) < 0)
				return log_error(EXIT_CONFIG, "%s:%u: key 'secret': '%s' is not yes or "
							      "no",
						 sec->file, kv->line, kv->value);
		} else {
			return log_error(EXIT_CONFIG, "%s:%u: unknown key '%s' in [exec.%s] "
						      "(command, timeout, secret)",
					 sec->file, kv->line, kv->key, sec->name);
		}
	}
	if (!cmd)
		return log_error(EXIT_CONFIG, "%s:%u: [exec.%s] needs 'command'", sec->file,
				 sec->line, sec->name);
	r = proc_argv_split(cmd->value, EXEC_ARGV_MAX, &argv, &n);
	if (r == -ENOMEM)
		return log_error(EXIT_FAILURE_, "out of memory");
	if (r < 0)
		return log_error(EXIT_CONFIG, "%s:%u: key 'command': %s", sec->file, cmd->line,
				 r == -ENODATA ? "it is empty"
				 : r == -E2BIG ? "more than 64 words"
					       : "the program is not an absolute path");
	*ret = (struct coll_exec){
		.name = sec->name,
		.argv = argv,
		.timeout_ns = (int64_t)timeout * 1000000000,
		.secret = secret,
	};
	return EXIT_OK;
}

int cli_collect_setup(struct cli *c, const struct coll_opts **ret)
{
	struct cli_collect *cc = c->collect;
	int r, status = EXIT_OK;

	if (cc) {
		*ret = &cc->o;
		return EXIT_OK;
	}
	cc = calloc(1, sizeof(*cc));
	if (!cc)
		return log_error(EXIT_FAILURE_, "out of memory");
	c->collect = cc;
	r = split_list(c->settings.collect_sysctl, &cc->sysctl, &cc->n_sysctl);
	if (r == 0)
		r = split_list(c->settings.collect_pki, &cc->pki, &cc->n_pki);
	if (r == -E2BIG)
		return log_error(EXIT_CONFIG, "[collect]: more than %d entries in a list", LIST_MAX);
	if (r < 0)
		return log_error(EXIT_FAILURE_, "out of memory");
	for (size_t i = 0; i < cc->n_pki; i++)
		if (cc->pki[i][0] != '/')
			return log_error(EXIT_CONFIG, "[collect] pki_paths: '%s' is not an absolute "
						      "path",
					 cc->pki[i]);
	if (c->settings.n_execs) {
		cc->execs = calloc(c->settings.n_execs, sizeof(*cc->execs));
		if (!cc->execs)
			return log_error(EXIT_FAILURE_, "out of memory");
	}
	for (size_t i = 0; status == EXIT_OK && i < c->settings.n_execs; i++) {
		status = exec_from_section(&c->settings.execs[i], c->settings.collect_timeout,
					   &cc->execs[i]);
		if (status == EXIT_OK)
			cc->n_execs++;
	}
	if (status != EXIT_OK)
		return status;
	cc->o = (struct coll_opts){
		.root = "",
		.timeout_ns = (int64_t)c->settings.collect_timeout * 1000000000,
		.sysctl_keys = cc->n_sysctl ? (const char *const *)cc->sysctl : NULL,
		.n_sysctl_keys = cc->n_sysctl,
		.pki_paths = (const char *const *)cc->pki,
		.n_pki_paths = cc->n_pki,
		.execs = cc->execs,
		.n_execs = cc->n_execs,
	};
	*ret = &cc->o;
	return EXIT_OK;
}

int cli_parse_kinds(const char *only, uint32_t *ret_kinds, bool *ret_files)
{
	uint32_t kinds = 0;
	bool files = false;

	if (!only) {
		*ret_kinds = (1u << OBJECT_KINDS_N) - 1;
		*ret_files = true;
		return EXIT_OK;
	}
	for (const char *p = only; *p;) {
		size_t l = strcspn(p, ",");
		int k = object_kind_find(p, l);

		if (l == 4 && strncmp(p, "file", 4) == 0)
			files = true;
		else if (k >= 0)
			kinds |= 1u << k;
		else
			return log_error(EXIT_USAGE, "--only: unknown object kind '%.*s' (file, "
						     "package, repo, user, group, sudo, module, sysctl, "
						     "socket, unit, timer, cron, firewall, mount, kernel, "
						     "certificate, exec)",
					 (int)l, p);
		p += l;
		if (*p == ',')
			p++;
	}
	if (!kinds && !files)
		return log_error(EXIT_USAGE, "--only needs at least one object kind");
	*ret_kinds = kinds;
	*ret_files = files;
	return EXIT_OK;
}

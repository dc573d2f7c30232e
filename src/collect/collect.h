/*
 * Collectors: what a host is beyond its files (DESIGN §2).  Each collector reads one
 * kind of configuration and returns its objects as items: the key names the object
 * within its kind ("alice", "kernel.dmesg_restrict", "tcp/0.0.0.0:22", "openssl:amd64"),
 * the state is one JSON object of its attributes, and text-like objects (a sudo rule, a
 * firewall chain, a command's output) also carry their text, which a change shows as a
 * unified diff.  Objects are named "KIND:KEY" everywhere outside this module.
 *
 * The engine compares the items with the baseline exactly as it compares files: the
 * same diff, reconciliation, alerts and journal.  A collector never records anything
 * itself, never logs above debug and never exits; a failure is a negative errno with
 * err saying what and where, and the engine records it as a monitoring gap.
 */
#ifndef VIGIL_COLLECT_COLLECT_H
#define VIGIL_COLLECT_COLLECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"

/* Caps: a state or a text above these is refused (-E2BIG) by coll_set_add. */
#define COLL_STATE_MAX (64u * 1024)
#define COLL_TEXT_MAX (256u * 1024)

struct coll_item {
	char *key;
	char *state;	/* canonical JSON object (keys sorted, no spaces) */
	char *text;	/* NULL, or the text a change of it shows as a diff */
};

struct coll_set {
	struct coll_item *items;
	size_t n, cap;
};

/*
 * Adds an item: key (non-empty UTF-8 without control characters), state (a JSON object,
 * canonicalized here; its keys need not be sorted), text (NULL or UTF-8).  Returns 0,
 * -EINVAL for a bad key or state, -EEXIST for a key already in the set, -E2BIG, -ENOMEM.
 */
int coll_set_add(struct coll_set *s, const char *key, const char *state_json, const char *text);
/* Sorts the items by key (byte order). */
void coll_set_sort(struct coll_set *s);
void coll_set_release(struct coll_set *s);

/* An exec collector: a configured command whose output is the object's state. */
struct coll_exec {
	const char *name;	/* the key: exec:NAME */
	char *const *argv;	/* argv[0] an absolute path; no shell */
	int64_t timeout_ns;
	bool secret;		/* the output is never kept as text, only its digest */
};

struct coll_opts {
	/* prefix of every file the collectors read, "/proc" and "/sys" included ("": the
	 * system itself); tests point it at a tree of fixtures */
	const char *root;
	int64_t timeout_ns;	/* for each program a collector runs (nft, systemctl) */
	const char *const *sysctl_keys;	/* NULL: the default set (coll_sysctl_defaults) */
	size_t n_sysctl_keys;
	const char *const *pki_paths;	/* certificate: files and directories (not recursive) */
	size_t n_pki_paths;
	const struct coll_exec *execs;
	size_t n_execs;
};

struct collector {
	const char *kind;
	/* Fills out with every object of the kind.  Returns 0 or a negative errno with err
	 * filled ("cannot read /etc/shadow: Permission denied"). */
	int (*collect)(const struct coll_opts *o, struct coll_set *out, struct vg_error *err);
	/* files whose change may change the kind's objects (under root), NULL-terminated;
	 * the daemon collects the kind again when one changes (NULL: interval only) */
	const char *const *files;
};

/* Every collector, in a fixed order; the kinds are the names rules and records use. */
extern const struct collector coll_table[];
extern const size_t coll_table_n;
/* The collector of kind[0..len), or NULL. */
const struct collector *collector_find(const char *kind, size_t len);

/* root + path, into out (a buffer of PATH_MAX). Returns 0 or -ENAMETOOLONG. */
int coll_path(const struct coll_opts *o, const char *path, char *out, size_t size);
/* Reads root + path whole (at most max bytes, NUL-terminated). -ENOENT when absent. */
int coll_read(const struct coll_opts *o, const char *path, size_t max, char **ret, size_t *ret_len);

/* ---- the collectors (one file each, see coll-*.c) ---- */

int coll_package_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err);
int coll_repo_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err);
int coll_user_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err);
int coll_group_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err);
int coll_sudo_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err);
int coll_module_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err);
int coll_sysctl_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err);
int coll_socket_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err);
int coll_unit_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err);
int coll_timer_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err);
int coll_cron_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err);
int coll_firewall_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err);
int coll_mount_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err);
int coll_kernel_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err);
int coll_certificate_collect(const struct coll_opts *o, struct coll_set *out,
			     struct vg_error *err);
int coll_exec_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err);

/* The sysctl keys collected when the settings name none. */
extern const char *const coll_sysctl_defaults[];

/* ---- text-like states (coll-text.c) ---- */

/*
 * Copies text to out with values that look like secrets replaced by "<redacted>":
 * the value after a key named like a secret (password, passwd, secret, token, key,
 * community, psk, credential...) in "key value", "key=value" and "key: value" forms,
 * PEM private key blocks, and long high-entropy words.
 */
int coll_redact(const char *text, size_t len, struct buf *out);
/*
 * A unified diff (3 lines of context, "--- before" / "+++ after" headers, "@@" hunks)
 * from a to b (either may be NULL: empty).  Appends nothing when they are equal.
 */
int coll_unified_diff(const char *a, const char *b, struct buf *out);

/* ---- shared by the collectors ---- */

/* How long a program a collector runs may take when no [collect] timeout is set. */
#define COLL_TIMEOUT_DEFAULT_NS (30LL * 1000 * 1000 * 1000)
/* The environment of the programs collectors run: a fixed PATH, the C locale. */
extern char *const coll_envp[];

/* A growable list of strings. */
struct coll_strv {
	char **v;
	size_t n, cap;
};
/* Appends a copy of s[0..n). */
int coll_strv_push(struct coll_strv *l, const char *s, size_t n);
void coll_strv_release(struct coll_strv *l);
/* qsort() comparison of char * elements. */
int coll_str_cmp(const void *a, const void *b);

#endif

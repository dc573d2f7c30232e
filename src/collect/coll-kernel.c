/*
 * The running kernel as configured: the loaded modules (/proc/modules, each with its
 * parameters from /sys/module and the digest of the file modules.dep says it comes
 * from), the sysctl settings named in the settings or a default set of security-relevant
 * ones (/proc/sys), the mounts of the daemon's mount namespace (/proc/self/mountinfo),
 * and a few facts about the kernel itself (command line, release, lockdown, Secure Boot,
 * taint).  A module loaded behind the package manager's back, a hardening switch turned
 * off or a file system mounted over /etc are changes no file scan sees.
 *
 * What moves by itself is left out so the same system gives the same states on every
 * run: module reference counts and load addresses, mount ids, device numbers and the
 * peer group numbers of shared mounts, autofs pipe descriptors.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/escape.h"
#include "base/json.h"
#include "base/macro.h"
#include "base/parse.h"
#include "base/strmap.h"
#include "collect/collect.h"
#include "base/banned.h"

#define PROC_MODULES_MAX (4u << 20)
#define MODULES_DEP_MAX (32u << 20)
#define MODULES_MAX 65536		/* lines of /proc/modules */
#define MODULE_FILE_MAX (512ull << 20)	/* a module file we digest */
#define PARAM_NAMES_MAX 4096		/* entries of one parameters directory */
#define PARAMS_MAX 128			/* parameters kept per module */
#define PARAM_VALUE_MAX 256		/* bytes kept of one value */
#define PARAM_READ_MAX (64u << 10)
#define PARAMS_JSON_MAX (40u << 10)	/* keeps a module's state below COLL_STATE_MAX */
#define SYSCTL_VALUE_MAX (64u << 10)
#define SYSCTL_KEY_MAX 512
#define SYSCTL_DEPTH_MAX 16
#define SYSCTL_DIR_MAX 4096		/* entries of one directory a glob looks at */
#define SYSCTL_OBJECTS_MAX 16384
#define MOUNTINFO_MAX (32u << 20)
#define MOUNTS_MAX 100000
#define MOUNT_FIELDS_MAX 64
#define MOUNT_OPTIONS_MAX 256
#define SMALL_FILE_MAX (64u << 10)

const char *const coll_sysctl_defaults[] = {
	"dev.tty.ldisc_autoload",
	"fs.protected_fifos",
	"fs.protected_hardlinks",
	"fs.protected_regular",
	"fs.protected_symlinks",
	"fs.suid_dumpable",
	"kernel.core_pattern",
	"kernel.dmesg_restrict",
	"kernel.io_uring_disabled",
	"kernel.kexec_load_disabled",
	"kernel.kptr_restrict",
	"kernel.modules_disabled",
	"kernel.perf_event_paranoid",
	"kernel.randomize_va_space",
	"kernel.sysrq",
	"kernel.unprivileged_bpf_disabled",
	"kernel.unprivileged_userns_clone",
	"kernel.yama.ptrace_scope",
	"net.core.bpf_jit_harden",
	"net.ipv4.conf.all.accept_redirects",
	"net.ipv4.conf.all.accept_source_route",
	"net.ipv4.conf.all.log_martians",
	"net.ipv4.conf.all.rp_filter",
	"net.ipv4.conf.all.secure_redirects",
	"net.ipv4.conf.all.send_redirects",
	"net.ipv4.conf.default.accept_redirects",
	"net.ipv4.icmp_echo_ignore_broadcasts",
	"net.ipv4.ip_forward",
	"net.ipv4.tcp_syncookies",
	"net.ipv6.conf.all.accept_redirects",
	"net.ipv6.conf.all.accept_source_route",
	"net.ipv6.conf.all.forwarding",
	"user.max_user_namespaces",
	"vm.mmap_min_addr",
	"vm.unprivileged_userfaultfd",
	NULL,
};

/* ---- reading and writing ---- */

static int fail_read(struct vg_error *err, const struct coll_opts *o, const char *path, int r)
{
	char full[PATH_MAX];

	if (coll_path(o, path, full, sizeof(full)) < 0)
		snprintf(full, sizeof(full), "%s", path);
	return vg_error_set(err, r, full, 0, 0, "cannot read: %s", strerror(-r));
}

static int fail_parse(struct vg_error *err, const struct coll_opts *o, const char *path,
		      unsigned line, const char *what)
{
	char full[PATH_MAX];

	if (coll_path(o, path, full, sizeof(full)) < 0)
		snprintf(full, sizeof(full), "%s", path);
	return vg_error_set(err, -EINVAL, full, line, 0, "%s", what);
}

/* Cuts the next line off *cur, NUL-terminating it in place; NULL at the end. */
static char *next_line(char **cur)
{
	char *l = *cur, *nl;

	if (!*l)
		return NULL;
	nl = strchr(l, '\n');
	if (nl) {
		*nl = '\0';
		*cur = nl + 1;
	} else {
		*cur = l + strlen(l);
	}
	return l;
}

/* Splits line at runs of blanks into at most max fields, NUL-terminating each.  Returns
 * the number of fields, max + 1 when there are more. */
static size_t split_fields(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			return n;
		if (n == max)
			return max + 1;
		f[n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
	}
}

static char *trim(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Every run of white space becomes one space; none at either end. */
static void squeeze(char *s)
{
	size_t w = 0;
	bool space = false;

	for (char *p = s; *p; p++) {
		if (isspace((unsigned char)*p)) {
			space = w > 0;
			continue;
		}
		if (space)
			s[w++] = ' ';
		space = false;
		s[w++] = *p;
	}
	s[w] = '\0';
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Adds key (arbitrary bytes, shown with the escape rule) with the state w wrote. */
static int add_item(struct coll_set *out, const char *key, size_t key_len,
		    const struct json_writer *w)
{
	_cleanup_buf_ struct buf k = { 0 };
	int r;

	if (w->err)
		return w->err;
	buf_init(&k, 4096);
	r = escape_bytes(&k, key, key_len);
	if (r < 0)
		return r;
	return coll_set_add(out, buf_str(&k), buf_str(w->out), NULL);
}

static int fail_add(struct vg_error *err, int r, const char *key)
{
	return vg_error_set(err, r, NULL, 0, 0, "cannot add the object '%s': %s", key,
			    strerror(-r));
}

/* ---- module ---- */

/* "kernel/fs/fat/vfat.ko.zst" -> "vfat" in out; false for a name that is not a module. */
static bool module_file_name(const char *path, size_t len, char *out, size_t size)
{
	static const char *const ext[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz" };
	const char *base = path;
	size_t n;

	for (size_t i = 0; i < len; i++)
		if (path[i] == '/')
			base = path + i + 1;
	n = len - (size_t)(base - path);
	for (size_t i = 0; i < ARRAY_SIZE(ext); i++) {
		size_t el = strlen(ext[i]);

		if (n > el && memcmp(base + n - el, ext[i], el) == 0) {
			n -= el;
			if (n >= size)
				return false;
			for (size_t j = 0; j < n; j++)
				out[j] = base[j] == '-' ? '_' : base[j];
			out[n] = '\0';
			return true;
		}
	}
	return false;
}

/*
 * Fills map with module name -> path of its file under root, from modules.dep of the
 * running release.  No release or no modules.dep leaves the map empty: every module then
 * has a null digest.
 */
static int modules_dep_load(const struct coll_opts *o, struct strmap *map, struct vg_error *err)
{
	_cleanup_free_ char *rel = NULL, *dep = NULL;
	char dir[PATH_MAX], path[PATH_MAX], name[256], *cur, *line;
	const char *release;
	unsigned lineno = 0;
	int r;

	r = coll_read(o, "/proc/sys/kernel/osrelease", SMALL_FILE_MAX, &rel, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return fail_read(err, o, "/proc/sys/kernel/osrelease", r);
	release = trim(rel);
	if (!*release || strchr(release, '/') || strcmp(release, "..") == 0)
		return fail_parse(err, o, "/proc/sys/kernel/osrelease", 1, "not a kernel release");
	if ((size_t)snprintf(dir, sizeof(dir), "/lib/modules/%s", release) >= sizeof(dir) ||
	    (size_t)snprintf(path, sizeof(path), "%s/modules.dep", dir) >= sizeof(path))
		return vg_error_set(err, -ENAMETOOLONG, NULL, 0, 0, "kernel release too long");
	r = coll_read(o, path, MODULES_DEP_MAX, &dep, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return fail_read(err, o, path, r);
	cur = dep;
	while ((line = next_line(&cur))) {
		char *colon = strchr(line, ':'), *file;
		int k;

		lineno++;
		if (!colon)
			continue;
		if (!module_file_name(line, (size_t)(colon - line), name, sizeof(name)))
			continue;
		*colon = '\0';
		/* old depmod wrote absolute paths, current depmod paths relative to dir */
		if (line[0] == '/')
			k = asprintf(&file, "%s", line);
		else
			k = asprintf(&file, "%s/%s", dir, line);
		if (k < 0)
			return -ENOMEM;
		if (strmap_get(map, name, strlen(name))) {
			free(file);	/* the first line for a name is the one depmod chose */
			continue;
		}
		r = strmap_put(map, name, strlen(name), file, NULL);
		if (r < 0) {
			free(file);
			return r;
		}
	}
	return 0;
}

/* SHA-256 of the file at path (under root) into hex.  Returns 1, 0 when there is no such
 * regular file, or a negative errno. */
static int file_sha256_hex(const struct coll_opts *o, const char *path, char hex[65],
			   struct vg_error *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ uint8_t *block = NULL;
	char full[PATH_MAX];
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	EVP_MD_CTX *ctx = NULL;
	struct stat st;
	int r;

	r = coll_path(o, path, full, sizeof(full));
	if (r < 0)
		return vg_error_set(err, r, path, 0, 0, "path too long");
	/* symlinks are followed: the digest is of what modprobe would load */
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		return fail_read(err, o, path, neg_errno());
	if (!S_ISREG(st.st_mode))
		return 0;
	if ((uint64_t)st.st_size > MODULE_FILE_MAX)
		return vg_error_set(err, -EFBIG, full, 0, 0, "module file larger than %llu MiB",
				    MODULE_FILE_MAX >> 20);
	block = malloc(65536);
	ctx = EVP_MD_CTX_new();
	if (!block || !ctx) {
		r = -ENOMEM;
		goto out;
	}
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		r = -EIO;
		goto out;
	}
	for (uint64_t total = 0;;) {
		ssize_t n = read(fd, block, 65536);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = fail_read(err, o, path, neg_errno());
			goto out;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > MODULE_FILE_MAX) {
			r = vg_error_set(err, -EFBIG, full, 0, 0, "module file grew while read");
			goto out;
		}
		if (!EVP_DigestUpdate(ctx, block, (size_t)n)) {
			r = -EIO;
			goto out;
		}
	}
	if (!EVP_DigestFinal_ex(ctx, md, &md_len) || md_len != 32) {
		r = -EIO;
		goto out;
	}
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	r = 1;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

/* Writes "parameters": {NAME: VALUE...} from /sys/module/NAME/parameters. */
static int module_params(const struct coll_opts *o, const char *module, struct json_writer *w,
			 struct vg_error *err)
{
	char rel[PATH_MAX], full[PATH_MAX];
	char **names = NULL;
	size_t n = 0, start;
	struct dirent *de;
	DIR *d = NULL;
	int r = 0;

	if ((size_t)snprintf(rel, sizeof(rel), "/sys/module/%s/parameters", module) >=
		    sizeof(rel) ||
	    coll_path(o, rel, full, sizeof(full)) < 0)
		return vg_error_set(err, -ENAMETOOLONG, NULL, 0, 0, "module name too long");
	jw_key(w, "parameters");
	jw_obj_open(w);
	d = opendir(full);
	if (!d && (errno == ENOENT || errno == ENOTDIR)) {
		jw_obj_close(w);
		return 0;
	}
	if (!d)
		return fail_read(err, o, rel, neg_errno());
	names = calloc(PARAM_NAMES_MAX, sizeof(*names));
	if (!names) {
		r = -ENOMEM;
		goto out;
	}
	while ((errno = 0, de = readdir(d))) {
		if (de->d_name[0] == '.' || !escape_is_plain(de->d_name, strlen(de->d_name)))
			continue;
		if (n == PARAM_NAMES_MAX) {
			r = vg_error_set(err, -E2BIG, full, 0, 0, "more than %d parameters",
					 PARAM_NAMES_MAX);
			goto out;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			r = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (errno) {
		r = fail_read(err, o, rel, neg_errno());
		goto out;
	}
	qsort(names, n, sizeof(*names), cmp_str);
	start = w->out->len;
	for (size_t i = 0, kept = 0; i < n && kept < PARAMS_MAX; i++) {
		_cleanup_free_ char *data = NULL;
		char prel[PATH_MAX], *v;

		if (w->out->len - start > PARAMS_JSON_MAX)
			break;
		if ((size_t)snprintf(prel, sizeof(prel), "%s/%s", rel, names[i]) >= sizeof(prel))
			continue;
		r = coll_read(o, prel, PARAM_READ_MAX, &data, NULL);
		if (r == -ENOMEM)
			goto out;
		r = 0;
		if (!data)
			continue;	/* write-only or refused by the module: skipped */
		v = trim(data);
		jw_key(w, names[i]);
		jw_str_bytes(w, v, strnlen(v, PARAM_VALUE_MAX));
		kept++;
	}
	jw_obj_close(w);
out:
	if (names)
		free_strv(names, n);
	closedir(d);
	return r;
}

static int module_line(const struct coll_opts *o, char *line, unsigned lineno,
		       const struct strmap *files, struct coll_set *out, struct vg_error *err)
{
	_cleanup_buf_ struct buf state = { 0 };
	struct json_writer w;
	char *f[8], hex[65], norm[256];
	const char *taint = "", *file;
	uint64_t size;
	size_t n = split_fields(line, f, 7), taint_len = 0, i;
	int r;

	if (n == 0)
		return 0;
	if (n < 6 || n > 7)
		return fail_parse(err, o, "/proc/modules", lineno,
				  "expected NAME SIZE REFCOUNT DEPS STATE ADDRESS [TAINTS]");
	if (strchr(f[0], '/') || f[0][0] == '.' || strlen(f[0]) > 255)
		return fail_parse(err, o, "/proc/modules", lineno, "not a module name");
	if (parse_u64(f[1], &size) < 0)
		return fail_parse(err, o, "/proc/modules", lineno, "the size is not a number");
	if (n == 7) {
		size_t tl = strlen(f[6]);

		if (tl < 2 || f[6][0] != '(' || f[6][tl - 1] != ')')
			return fail_parse(err, o, "/proc/modules", lineno,
					  "the taint flags are not in parentheses");
		taint = f[6] + 1;
		taint_len = tl - 2;
	}
	buf_init(&state, COLL_STATE_MAX);
	jw_init(&w, &state);
	jw_obj_open(&w);
	jw_key(&w, "size");
	jw_u64(&w, size);
	jw_key(&w, "state");
	jw_str_bytes(&w, f[4], strlen(f[4]));
	jw_key(&w, "taint");
	jw_str_bytes(&w, taint, taint_len);
	r = module_params(o, f[0], &w, err);
	if (r < 0)
		return r;
	jw_key(&w, "file_sha256");
	for (i = 0; f[0][i]; i++)
		norm[i] = f[0][i] == '-' ? '_' : f[0][i];
	norm[i] = '\0';
	file = strmap_get(files, norm, i);
	r = file ? file_sha256_hex(o, file, hex, err) : 0;
	if (r < 0)
		return r;
	if (r > 0)
		jw_str(&w, hex);
	else
		jw_null(&w);
	jw_obj_close(&w);
	r = add_item(out, f[0], strlen(f[0]), &w);
	if (r < 0)
		return r == -EEXIST ? fail_parse(err, o, "/proc/modules", lineno,
						 "the module is listed twice")
				    : fail_add(err, r, f[0]);
	return 0;
}

int coll_module_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	_cleanup_free_ char *data = NULL;
	struct strmap files = { 0 };
	char *cur, *line;
	unsigned lineno = 0;
	int r;

	r = coll_read(o, "/proc/modules", PROC_MODULES_MAX, &data, NULL);
	if (r == -ENOENT)
		return 0;	/* a kernel built without loadable modules */
	if (r < 0)
		return fail_read(err, o, "/proc/modules", r);
	r = modules_dep_load(o, &files, err);
	if (r < 0)
		goto out;
	cur = data;
	while ((line = next_line(&cur))) {
		if (++lineno > MODULES_MAX) {
			r = vg_error_set(err, -E2BIG, "/proc/modules", 0, 0,
					 "more than %d modules", MODULES_MAX);
			goto out;
		}
		r = module_line(o, line, lineno, &files, out, err);
		if (r < 0)
			goto out;
	}
out:
	strmap_release(&files, free);
	coll_set_sort(out);
	return r;
}

/* ---- sysctl ---- */

/* Kernel settings whose value is a secret: the state keeps only a digest of it. */
static const char *const sysctl_secret[] = { "stable_secret", "tcp_fastopen_key" };

struct sysctl_walk {
	const struct coll_opts *o;
	struct coll_set *out;
	struct vg_error *err;
	size_t found;
};

/* Read errors that concern one setting (write-only, or refused by the kernel when it has
 * no value): the object records the error instead of failing the whole kind. */
static bool sysctl_soft_error(int r)
{
	return r == -EACCES || r == -EPERM || r == -EIO || r == -EINVAL || r == -ENODEV ||
	       r == -ENXIO || r == -EOPNOTSUPP;
}

/* The error text of a setting's state, fixed whatever the locale. */
static const char *sysctl_error_text(int r)
{
	switch (r) {
	case -EACCES:
		return "Permission denied";
	case -EPERM:
		return "Operation not permitted";
	case -EIO:
		return "Input/output error";
	case -EINVAL:
		return "Invalid argument";
	case -ENODEV:
		return "No such device";
	case -ENXIO:
		return "No such device or address";
	default:
		return "Operation not supported";
	}
}

/* "/proc/sys/net/ipv4/conf/eth0.100/rp_filter" -> "net.ipv4.conf.eth0/100.rp_filter" */
static void sysctl_key_of(const char *rel, char *key)
{
	const char *p = rel + strlen("/proc/sys/");
	size_t i;

	for (i = 0; p[i]; i++)
		key[i] = p[i] == '/' ? '.' : p[i] == '.' ? '/' : p[i];
	key[i] = '\0';
}

static int sysctl_leaf(struct sysctl_walk *sw, const char *rel, bool glob)
{
	_cleanup_buf_ struct buf state = { 0 };
	_cleanup_free_ char *data = NULL;
	struct json_writer w;
	char full[PATH_MAX], key[PATH_MAX];
	const char *last = strrchr(rel, '/') + 1;
	struct stat st;
	bool secret = false;
	int r;

	r = coll_path(sw->o, rel, full, sizeof(full));
	if (r < 0)
		return vg_error_set(sw->err, r, rel, 0, 0, "path too long");
	if (stat(full, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;	/* not a setting of this kernel */
		return fail_read(sw->err, sw->o, rel, neg_errno());
	}
	if (!S_ISREG(st.st_mode))
		return 0;
	/* a glob passes over triggers (vm.drop_caches): they are actions, not settings */
	if (glob && !(st.st_mode & 0444))
		return 0;
	sysctl_key_of(rel, key);
	for (size_t i = 0; i < ARRAY_SIZE(sysctl_secret); i++)
		if (strcmp(last, sysctl_secret[i]) == 0)
			secret = true;
	r = coll_read(sw->o, rel, SYSCTL_VALUE_MAX, &data, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0 && !sysctl_soft_error(r))
		return fail_read(sw->err, sw->o, rel, r);
	buf_init(&state, COLL_STATE_MAX);
	jw_init(&w, &state);
	jw_obj_open(&w);
	jw_key(&w, "value");
	if (r < 0) {
		jw_null(&w);
		jw_key(&w, "error");
		jw_str(&w, sysctl_error_text(r));
	} else if (secret) {
		uint8_t md[32];
		char hex[65];

		squeeze(data);
		if (!EVP_Digest(data, strlen(data), md, NULL, EVP_sha256(), NULL))
			return -EIO;
		for (unsigned i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		jw_str(&w, "<redacted>");
		jw_key(&w, "value_sha256");
		jw_str(&w, hex);
	} else {
		squeeze(data);
		jw_str_bytes(&w, data, strlen(data));
	}
	jw_obj_close(&w);
	if (++sw->found > SYSCTL_OBJECTS_MAX)
		return vg_error_set(sw->err, -E2BIG, NULL, 0, 0,
				    "the sysctl keys name more than %d settings",
				    SYSCTL_OBJECTS_MAX);
	r = add_item(sw->out, key, strlen(key), &w);
	if (r == -EEXIST) {
		sw->found--;	/* named twice (a key and a glob): one object */
		return 0;
	}
	return r < 0 ? fail_add(sw->err, r, key) : 0;
}

static bool is_glob(const char *c)
{
	return strpbrk(c, "*?[") != NULL;
}

/* Walks comp[i..n) below rel (a buffer of PATH_MAX holding len bytes). */
static int sysctl_expand(struct sysctl_walk *sw, char *rel, size_t len, char **comp, size_t i,
			 size_t n, bool glob)
{
	char full[PATH_MAX];
	char **names = NULL;
	size_t nn = 0;
	struct dirent *de;
	DIR *d = NULL;
	int r = 0;

	if (i == n)
		return sysctl_leaf(sw, rel, glob);
	if (!is_glob(comp[i])) {
		if (len + 1 + strlen(comp[i]) >= PATH_MAX)
			return vg_error_set(sw->err, -ENAMETOOLONG, NULL, 0, 0,
					    "sysctl key too long");
		len += (size_t)snprintf(rel + len, PATH_MAX - len, "/%s", comp[i]);
		r = sysctl_expand(sw, rel, len, comp, i + 1, n, glob);
		return r;
	}
	r = coll_path(sw->o, rel, full, sizeof(full));
	if (r < 0)
		return vg_error_set(sw->err, r, rel, 0, 0, "path too long");
	d = opendir(full);
	if (!d && (errno == ENOENT || errno == ENOTDIR))
		return 0;
	if (!d)
		return fail_read(sw->err, sw->o, rel, neg_errno());
	names = calloc(SYSCTL_DIR_MAX, sizeof(*names));
	if (!names) {
		r = -ENOMEM;
		goto out;
	}
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    fnmatch(comp[i], de->d_name, 0) != 0)
			continue;
		if (nn == SYSCTL_DIR_MAX) {
			r = vg_error_set(sw->err, -E2BIG, full, 0, 0, "more than %d entries match",
					 SYSCTL_DIR_MAX);
			goto out;
		}
		names[nn] = strdup(de->d_name);
		if (!names[nn++]) {
			r = -ENOMEM;
			goto out;
		}
	}
	if (errno) {
		r = fail_read(sw->err, sw->o, rel, neg_errno());
		goto out;
	}
	qsort(names, nn, sizeof(*names), cmp_str);
	for (size_t k = 0; k < nn && r == 0; k++) {
		if (len + 1 + strlen(names[k]) >= PATH_MAX)
			continue;
		snprintf(rel + len, PATH_MAX - len, "/%s", names[k]);
		r = sysctl_expand(sw, rel, len + 1 + strlen(names[k]), comp, i + 1, n, true);
	}
	rel[len] = '\0';
out:
	if (names)
		free_strv(names, nn);
	closedir(d);
	return r;
}

/* Splits a key ("net.ipv4.conf.eth0/100.rp_filter") into directory names ("eth0.100"). */
static int sysctl_split(const char *key, char *copy, char **comp, size_t *ret_n,
			struct vg_error *err)
{
	size_t n = 0, kl = strlen(key);
	char *p = copy;

	if (kl == 0 || kl >= SYSCTL_KEY_MAX)
		return vg_error_set(err, -EINVAL, NULL, 0, 0, "invalid sysctl key '%.*s'",
				    SYSCTL_KEY_MAX, key);
	memcpy(copy, key, kl + 1);
	for (;;) {
		char *dot = strchr(p, '.');

		if (dot)
			*dot = '\0';
		/* sysctl(8) writes a '.' inside a name (a VLAN "eth0.100") as '/' */
		for (char *c = p; *c; c++) {
			if (*c == '/')
				*c = '.';
			else if ((unsigned char)*c <= 0x20 || *c == 0x7f)
				p = NULL;
			if (!p)
				break;
		}
		if (!p || n == SYSCTL_DEPTH_MAX || !*p || strcmp(p, ".") == 0 ||
		    strcmp(p, "..") == 0)
			return vg_error_set(err, -EINVAL, NULL, 0, 0, "invalid sysctl key '%s'",
					    key);
		comp[n++] = p;
		if (!dot)
			break;
		p = dot + 1;
	}
	*ret_n = n;
	return 0;
}

int coll_sysctl_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	struct sysctl_walk sw = { .o = o, .out = out, .err = err };
	const char *const *keys = o->sysctl_keys ? o->sysctl_keys : coll_sysctl_defaults;
	size_t n_keys = o->sysctl_keys ? o->n_sysctl_keys : SIZE_MAX;

	for (size_t k = 0; k < n_keys && keys[k]; k++) {
		char copy[SYSCTL_KEY_MAX], rel[PATH_MAX];
		char *comp[SYSCTL_DEPTH_MAX];
		size_t n = 0;
		int r;

		r = sysctl_split(keys[k], copy, comp, &n, err);
		if (r < 0)
			return r;
		snprintf(rel, sizeof(rel), "/proc/sys");
		r = sysctl_expand(&sw, rel, strlen(rel), comp, 0, n, false);
		if (r < 0)
			return r;
	}
	coll_set_sort(out);
	return 0;
}

/* ---- mount ---- */

/* Decodes the kernel's octal escapes ("\040") in place; returns the length. */
static size_t unescape_octal(char *s)
{
	size_t w = 0;

	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '\\' && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
		    s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			s[w++] = (char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) |
					(s[i + 3] - '0'));
			i += 3;
			continue;
		}
		s[w++] = s[i];
	}
	s[w] = '\0';
	return w;
}

/* Adds the comma-separated options of list to v, without those that change by
 * themselves (an autofs mount's pipe and process group). */
static int options_add(char *list, bool autofs, char **v, size_t *n)
{
	static const char *const autofs_unstable[] = { "fd=", "pgrp=", "pipe_ino=" };
	char *save = NULL;

	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		bool skip = false;

		for (size_t i = 0; autofs && i < ARRAY_SIZE(autofs_unstable); i++)
			if (strncmp(t, autofs_unstable[i], strlen(autofs_unstable[i])) == 0)
				skip = true;
		if (skip)
			continue;
		if (*n == MOUNT_OPTIONS_MAX)
			return -E2BIG;
		v[(*n)++] = t;
	}
	return 0;
}

/* Writes a sorted, duplicate-free, comma-joined list as a JSON string. */
static void write_joined(struct json_writer *w, char **v, size_t n)
{
	_cleanup_buf_ struct buf j = { 0 };

	buf_init(&j, COLL_STATE_MAX);
	qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
			continue;
		if (j.len && !w->err)
			w->err = buf_putc(&j, ',');
		if (!w->err)
			w->err = buf_puts(&j, v[i]);
	}
	jw_str_bytes(w, buf_str(&j), j.len);
}

static int mount_line(const struct coll_opts *o, char *line, unsigned lineno,
		      struct strmap *seen, struct coll_set *out, struct vg_error *err)
{
	static const char *const path = "/proc/self/mountinfo";
	_cleanup_buf_ struct buf state = { 0 };
	_cleanup_buf_ struct buf key = { 0 };
	struct json_writer w;
	char *f[MOUNT_FIELDS_MAX], *opts[MOUNT_OPTIONS_MAX], *prop[MOUNT_FIELDS_MAX];
	size_t n = split_fields(line, f, MOUNT_FIELDS_MAX), sep, nopt = 0, nprop = 0, len;
	uintptr_t count;
	bool autofs;
	int r;

	if (n == 0)
		return 0;
	if (n > MOUNT_FIELDS_MAX)
		return fail_parse(err, o, path, lineno, "too many fields");
	for (sep = 6; sep < n && strcmp(f[sep], "-") != 0; sep++)
		;
	if (sep + 3 >= n)
		return fail_parse(err, o, path, lineno,
				  "expected ID PARENT DEV ROOT MOUNTPOINT OPTIONS [TAGS] - TYPE "
				  "SOURCE SUPEROPTIONS");
	for (size_t i = 6; i < sep; i++) {
		char *colon = strchr(f[i], ':');

		if (colon)
			*colon = '\0';	/* the peer group number changes by itself */
		if (strcmp(f[i], "propagate_from") != 0)
			prop[nprop++] = f[i];
	}
	unescape_octal(f[sep + 1]);
	autofs = strcmp(f[sep + 1], "autofs") == 0;
	if (options_add(f[5], autofs, opts, &nopt) < 0 ||
	    options_add(f[sep + 3], autofs, opts, &nopt) < 0)
		return fail_parse(err, o, path, lineno, "too many mount options");

	buf_init(&state, COLL_STATE_MAX);
	jw_init(&w, &state);
	jw_obj_open(&w);
	jw_key(&w, "fstype");
	jw_str_bytes(&w, f[sep + 1], strlen(f[sep + 1]));
	jw_key(&w, "options");
	write_joined(&w, opts, nopt);
	jw_key(&w, "propagation");
	if (nprop)
		write_joined(&w, prop, nprop);
	else
		jw_str(&w, "private");
	jw_key(&w, "root");
	len = unescape_octal(f[3]);
	jw_str_bytes(&w, f[3], len);
	jw_key(&w, "source");
	len = unescape_octal(f[sep + 2]);
	jw_str_bytes(&w, f[sep + 2], len);
	jw_obj_close(&w);
	if (w.err)
		return w.err;

	/* the key: the mount point, then " #2", " #3" for mounts stacked on it */
	buf_init(&key, 8192);
	len = unescape_octal(f[4]);
	r = escape_bytes(&key, f[4], len);
	if (r < 0)
		return r;
	len = key.len;
	count = (uintptr_t)strmap_get(seen, key.data, len);
	for (unsigned tries = 0;; tries++) {
		count++;
		key.len = len;
		key.data[len] = '\0';
		if (count > 1)
			r = buf_printf(&key, " #%u", (unsigned)count);
		if (r == 0)
			r = coll_set_add(out, buf_str(&key), buf_str(&state), NULL);
		/* "/a #2" may also be a real mount point: then the next number */
		if (r != -EEXIST || tries == 64)
			break;
	}
	if (r < 0)
		return fail_add(err, r, buf_str(&key));
	key.data[len] = '\0';
	return strmap_put(seen, key.data, len, (void *)count, NULL);
}

int coll_mount_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	_cleanup_free_ char *data = NULL;
	struct strmap seen = { 0 };
	char *cur, *line;
	unsigned lineno = 0;
	int r;

	r = coll_read(o, "/proc/self/mountinfo", MOUNTINFO_MAX, &data, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return fail_read(err, o, "/proc/self/mountinfo", r);
	cur = data;
	while ((line = next_line(&cur))) {
		if (++lineno > MOUNTS_MAX) {
			r = vg_error_set(err, -E2BIG, "/proc/self/mountinfo", 0, 0,
					 "more than %d mounts", MOUNTS_MAX);
			break;
		}
		r = mount_line(o, line, lineno, &seen, out, err);
		if (r < 0)
			break;
	}
	strmap_release(&seen, NULL);
	coll_set_sort(out);
	return r;
}

/* ---- kernel ---- */

#define EFI_SECURE_BOOT "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"

/* Reads a small text file trimmed into *ret; *ret NULL when the file is absent. */
static int read_trimmed(const struct coll_opts *o, const char *path, char **ret,
			struct vg_error *err)
{
	_cleanup_free_ char *data = NULL;
	char *t;
	int r;

	*ret = NULL;
	r = coll_read(o, path, SMALL_FILE_MAX, &data, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return fail_read(err, o, path, r);
	t = trim(data);
	memmove(data, t, strlen(t) + 1);
	*ret = TAKE_PTR(data);
	return 0;
}

static void str_or_null(struct json_writer *w, const char *s)
{
	if (s)
		jw_str_bytes(w, s, strlen(s));
	else
		jw_null(w);
}

static int kernel_add(struct coll_set *out, const char *key, struct json_writer *w,
		      struct vg_error *err)
{
	int r;

	jw_obj_close(w);
	r = add_item(out, key, strlen(key), w);
	return r < 0 ? fail_add(err, r, key) : 0;
}

int coll_kernel_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	_cleanup_free_ char *cmdline = NULL, *release = NULL, *version = NULL, *lockdown = NULL;
	_cleanup_free_ char *taint = NULL, *efi = NULL;
	_cleanup_buf_ struct buf state = { 0 };
	struct json_writer w;
	const char *lock = NULL, *sb = NULL;
	uint64_t taint_v = 0;
	size_t efi_len = 0;
	int r;

	if ((r = read_trimmed(o, "/proc/cmdline", &cmdline, err)) < 0 ||
	    (r = read_trimmed(o, "/proc/sys/kernel/osrelease", &release, err)) < 0 ||
	    (r = read_trimmed(o, "/proc/sys/kernel/version", &version, err)) < 0 ||
	    (r = read_trimmed(o, "/sys/kernel/security/lockdown", &lockdown, err)) < 0 ||
	    (r = read_trimmed(o, "/proc/sys/kernel/tainted", &taint, err)) < 0)
		return r;
	if (lockdown) {
		/* "none [integrity] confidentiality": the bracketed word is in force */
		char *a = strchr(lockdown, '['), *b = a ? strchr(a, ']') : NULL;

		if (!b || b == a + 1)
			return fail_parse(err, o, "/sys/kernel/security/lockdown", 1,
					  "no mode in brackets");
		*b = '\0';
		lock = a + 1;
	}
	if (taint && parse_u64(taint, &taint_v) < 0)
		return fail_parse(err, o, "/proc/sys/kernel/tainted", 1, "not a number");
	/* an EFI variable: 4 bytes of attributes, then the value (1: enabled) */
	r = coll_read(o, EFI_SECURE_BOOT, SMALL_FILE_MAX, &efi, &efi_len);
	if (r < 0 && r != -ENOENT)
		return fail_read(err, o, EFI_SECURE_BOOT, r);
	if (r == 0) {
		if (efi_len != 5 || (efi[4] != 0 && efi[4] != 1))
			return fail_parse(err, o, EFI_SECURE_BOOT, 0,
					  "not a SecureBoot variable (4 attribute bytes, 0 or 1)");
		sb = efi[4] ? "enabled" : "disabled";
	}

	buf_init(&state, COLL_STATE_MAX);
	jw_init(&w, &state);
	jw_obj_open(&w);
	jw_key(&w, "value");
	str_or_null(&w, cmdline);
	if ((r = kernel_add(out, "cmdline", &w, err)) < 0)
		return r;

	buf_reset(&state);
	jw_init(&w, &state);
	jw_obj_open(&w);
	jw_key(&w, "release");
	str_or_null(&w, release);
	jw_key(&w, "version");
	str_or_null(&w, version);
	if ((r = kernel_add(out, "version", &w, err)) < 0)
		return r;

	buf_reset(&state);
	jw_init(&w, &state);
	jw_obj_open(&w);
	jw_key(&w, "value");
	str_or_null(&w, lock);
	if ((r = kernel_add(out, "lockdown", &w, err)) < 0)
		return r;

	buf_reset(&state);
	jw_init(&w, &state);
	jw_obj_open(&w);
	jw_key(&w, "value");
	str_or_null(&w, sb);
	if ((r = kernel_add(out, "secure_boot", &w, err)) < 0)
		return r;

	buf_reset(&state);
	jw_init(&w, &state);
	jw_obj_open(&w);
	jw_key(&w, "value");
	if (taint)
		jw_u64(&w, taint_v);
	else
		jw_null(&w);
	r = kernel_add(out, "taint", &w, err);
	coll_set_sort(out);
	return r;
}

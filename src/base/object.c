/*
 * Object states and their comparison.  Kept free of I/O: the scanner fills states,
 * the store persists them, and this file only names, compares and formats them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "base/escape.h"
#include "base/object.h"
#include "base/timeutil.h"
#include "base/banned.h"

static const char *const attr_names[ATTR__COUNT] = {
	[ATTR_TYPE] = "type",	      [ATTR_PERMS] = "perms",	     [ATTR_UID] = "uid",
	[ATTR_GID] = "gid",	      [ATTR_SIZE] = "size",	     [ATTR_INODE] = "inode",
	[ATTR_DEV] = "dev",	      [ATTR_NLINK] = "nlink",	     [ATTR_MTIME] = "mtime",
	[ATTR_CTIME] = "ctime",	      [ATTR_TARGET] = "target",	     [ATTR_RDEV] = "rdev",
	[ATTR_SHA256] = "sha256",     [ATTR_SHA512] = "sha512",	     [ATTR_SHA3_256] = "sha3-256",
	[ATTR_BLAKE2B512] = "blake2b-512", [ATTR_XATTRS] = "xattrs", [ATTR_ACL] = "acl",
	[ATTR_SELINUX] = "selinux",   [ATTR_CAPS] = "caps",	     [ATTR_FLAGS] = "flags",
};

static const char *const type_names[] = {
	[OBJ_NONE] = "none", [OBJ_FILE] = "file",	  [OBJ_DIR] = "dir",
	[OBJ_SYMLINK] = "symlink", [OBJ_FIFO] = "fifo",	  [OBJ_SOCKET] = "socket",
	[OBJ_CHARDEV] = "char",	   [OBJ_BLOCKDEV] = "block", [OBJ_OTHER] = "other",
};

const char *attr_name(enum attr a)
{
	return (unsigned)a < ATTR__COUNT ? attr_names[a] : NULL;
}

int attr_from_name(const char *name, size_t len)
{
	for (int a = 0; a < ATTR__COUNT; a++)
		if (strlen(attr_names[a]) == len && memcmp(attr_names[a], name, len) == 0)
			return a;
	return -EINVAL;
}

enum obj_type obj_type_from_mode(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG:
		return OBJ_FILE;
	case S_IFDIR:
		return OBJ_DIR;
	case S_IFLNK:
		return OBJ_SYMLINK;
	case S_IFIFO:
		return OBJ_FIFO;
	case S_IFSOCK:
		return OBJ_SOCKET;
	case S_IFCHR:
		return OBJ_CHARDEV;
	case S_IFBLK:
		return OBJ_BLOCKDEV;
	default:
		return OBJ_OTHER;
	}
}

const char *obj_type_name(enum obj_type t)
{
	return (unsigned)t < ARRAY_SIZE(type_names) ? type_names[t] : "other";
}

void object_state_init(struct object_state *s)
{
	memset(s, 0, sizeof(*s));
}

void object_state_release(struct object_state *s)
{
	free(s->target.p);
	free(s->xattrs.p);
	free(s->acl);
	free(s->selinux);
	free(s->caps);
	free(s->owner);
	free(s->group);
	object_state_init(s);
}

static int dup_blob(struct blob *dst, const struct blob *src)
{
	dst->p = NULL;
	dst->n = src->n;
	if (!src->p)
		return 0;
	dst->p = malloc(src->n ? src->n : 1);
	if (!dst->p)
		return -ENOMEM;
	memcpy(dst->p, src->p, src->n);
	return 0;
}

static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int object_state_copy(struct object_state *dst, const struct object_state *src)
{
	*dst = *src;
	dst->target.p = dst->xattrs.p = NULL;
	dst->acl = dst->selinux = dst->caps = dst->owner = dst->group = NULL;
	if (dup_blob(&dst->target, &src->target) < 0 || dup_blob(&dst->xattrs, &src->xattrs) < 0 ||
	    dup_str(&dst->acl, src->acl) < 0 || dup_str(&dst->selinux, src->selinux) < 0 ||
	    dup_str(&dst->caps, src->caps) < 0 || dup_str(&dst->owner, src->owner) < 0 ||
	    dup_str(&dst->group, src->group) < 0) {
		object_state_release(dst);
		return -ENOMEM;
	}
	return 0;
}

void object_state_from_stat(struct object_state *s, const struct stat *st)
{
	s->type = (uint8_t)obj_type_from_mode(st->st_mode);
	s->mode = st->st_mode & 07777;
	s->uid = st->st_uid;
	s->gid = st->st_gid;
	s->size = (uint64_t)st->st_size;
	s->ino = st->st_ino;
	s->dev = st->st_dev;
	s->nlink = st->st_nlink;
	s->rdev = (s->type == OBJ_CHARDEV || s->type == OBJ_BLOCKDEV) ? st->st_rdev : 0;
	s->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	s->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

void stat_from_statx(struct stat *st, const struct statx *x)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = x->stx_mode;
	st->st_uid = x->stx_uid;
	st->st_gid = x->stx_gid;
	st->st_size = (off_t)x->stx_size;
	st->st_ino = x->stx_ino;
	st->st_dev = makedev(x->stx_dev_major, x->stx_dev_minor);
	st->st_rdev = makedev(x->stx_rdev_major, x->stx_rdev_minor);
	st->st_nlink = x->stx_nlink;
	st->st_blocks = (blkcnt_t)x->stx_blocks;
	st->st_mtim.tv_sec = x->stx_mtime.tv_sec;
	st->st_mtim.tv_nsec = x->stx_mtime.tv_nsec;
	st->st_ctim.tv_sec = x->stx_ctime.tv_sec;
	st->st_ctim.tv_nsec = x->stx_ctime.tv_nsec;
}

void object_state_from_statx(struct object_state *s, const struct statx *x)
{
	struct stat st;

	stat_from_statx(&st, x);
	object_state_from_stat(s, &st);
	s->flags = (uint32_t)(x->stx_attributes & x->stx_attributes_mask) & OBJ_STATX_FLAGS;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool blob_eq(const struct blob *a, const struct blob *b)
{
	return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
}

static bool attr_equal(const struct object_state *x, const struct object_state *y, enum attr a)
{
	switch (a) {
	case ATTR_TYPE:
		return x->type == y->type;
	case ATTR_PERMS:
		return x->mode == y->mode;
	case ATTR_UID:
		return x->uid == y->uid;
	case ATTR_GID:
		return x->gid == y->gid;
	case ATTR_SIZE:
		return x->size == y->size;
	case ATTR_INODE:
		return x->ino == y->ino;
	case ATTR_DEV:
		return x->dev == y->dev;
	case ATTR_NLINK:
		return x->nlink == y->nlink;
	case ATTR_MTIME:
		return x->mtime_ns == y->mtime_ns;
	case ATTR_CTIME:
		return x->ctime_ns == y->ctime_ns;
	case ATTR_TARGET:
		return blob_eq(&x->target, &y->target);
	case ATTR_RDEV:
		return x->rdev == y->rdev;
	case ATTR_SHA256:
		return memcmp(x->sha256, y->sha256, SHA256_LEN) == 0;
	case ATTR_SHA512:
		return memcmp(x->sha512, y->sha512, SHA512_LEN) == 0;
	case ATTR_SHA3_256:
		return memcmp(x->sha3_256, y->sha3_256, SHA256_LEN) == 0;
	case ATTR_BLAKE2B512:
		return memcmp(x->blake2b512, y->blake2b512, SHA512_LEN) == 0;
	case ATTR_XATTRS:
		return blob_eq(&x->xattrs, &y->xattrs);
	case ATTR_ACL:
		return str_eq(x->acl, y->acl);
	case ATTR_SELINUX:
		return str_eq(x->selinux, y->selinux);
	case ATTR_CAPS:
		return str_eq(x->caps, y->caps);
	case ATTR_FLAGS:
		return x->flags == y->flags;
	default:
		return true;
	}
}

uint32_t attr_applicable(enum obj_type t)
{
	uint32_t m = ATTR_MASK_ALL;

	if (t != OBJ_FILE)
		m &= ~ATTR_MASK_HASHES;
	if (t != OBJ_SYMLINK)
		m &= ~ATTR_BIT(ATTR_TARGET);
	return m;
}

uint32_t object_state_diff(const struct object_state *base, const struct object_state *cur,
			   uint32_t mask, bool growing)
{
	uint32_t out = 0, common = mask & base->attrs & cur->attrs;

	if (base->type != cur->type)
		out |= ATTR_BIT(ATTR_TYPE);
	else
		out |= mask & cur->attrs & ~base->attrs & attr_applicable((enum obj_type)cur->type);
	if (growing && base->type == OBJ_FILE && cur->type == OBJ_FILE && cur->size >= base->size &&
	    cur->prefix_match)
		common &= ~(ATTR_BIT(ATTR_SIZE) | ATTR_BIT(ATTR_MTIME) | ATTR_BIT(ATTR_CTIME) |
			    ATTR_MASK_HASHES);
	for (int a = ATTR_PERMS; a < ATTR__COUNT; a++)
		if ((common & ATTR_BIT(a)) && !attr_equal(base, cur, (enum attr)a))
			out |= ATTR_BIT(a);
	return out;
}

int path_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t n = an < bn ? an : bn;

	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (x == y)
			continue;
		if (x == '/')
			return -1;
		if (y == '/')
			return 1;
		return x < y ? -1 : 1;
	}
	return an < bn ? -1 : an > bn ? 1 : 0;
}

void hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int format_hash(struct buf *out, const uint8_t *p, size_t n)
{
	char hex[2 * SHA512_LEN + 1];

	hex_encode(p, n, hex);
	return buf_puts(out, hex);
}

static int format_time(struct buf *out, int64_t ns)
{
	char t[RFC3339_MAX];
	char full[64];

	/* nanoseconds matter here: a forged time often differs only below a microsecond */
	if (time_format_rfc3339(ns - ns % 1000, t, sizeof(t)) < 0)
		return buf_printf(out, "%" PRId64 "ns", ns);
	snprintf(full, sizeof(full), "%.*s%03dZ", (int)strlen(t) - 1, t,
		 (int)((ns % 1000 + 1000) % 1000));
	return buf_puts(out, full);
}

/* xattrs as "name=value" pairs separated by ", " with values escaped. */
static int format_xattrs(struct buf *out, const struct blob *x)
{
	size_t off = 0;
	bool first = true;
	int r = 0;

	while (off < x->n && r == 0) {
		const char *name = (const char *)x->p + off;
		size_t nl = strnlen(name, x->n - off);
		uint32_t vl;

		if (off + nl + 5 > x->n)
			break;
		memcpy(&vl, x->p + off + nl + 1, 4);
		off += nl + 5;
		if (vl > x->n - off)
			break;
		if (!first)
			r = buf_puts(out, ", ");
		first = false;
		if (r == 0)
			r = escape_bytes(out, name, nl);
		if (r == 0)
			r = buf_putc(out, '=');
		if (r == 0)
			r = escape_bytes(out, x->p + off, vl);
		off += vl;
	}
	return r;
}

int object_attr_format(struct buf *out, const struct object_state *s, enum attr a)
{
	if (!(s->attrs & ATTR_BIT(a)))
		return buf_puts(out, "(not recorded)");
	switch (a) {
	case ATTR_TYPE:
		return buf_puts(out, obj_type_name(s->type));
	case ATTR_PERMS:
		return buf_printf(out, "%04o", s->mode);
	case ATTR_UID:
		return s->owner ? buf_printf(out, "%" PRIu32 " (%s)", s->uid, s->owner)
				: buf_printf(out, "%" PRIu32, s->uid);
	case ATTR_GID:
		return s->group ? buf_printf(out, "%" PRIu32 " (%s)", s->gid, s->group)
				: buf_printf(out, "%" PRIu32, s->gid);
	case ATTR_SIZE:
		return buf_printf(out, "%" PRIu64, s->size);
	case ATTR_INODE:
		return buf_printf(out, "%" PRIu64, s->ino);
	case ATTR_DEV:
		return buf_printf(out, "%u:%u", major(s->dev), minor(s->dev));
	case ATTR_NLINK:
		return buf_printf(out, "%" PRIu64, s->nlink);
	case ATTR_MTIME:
		return format_time(out, s->mtime_ns);
	case ATTR_CTIME:
		return format_time(out, s->ctime_ns);
	case ATTR_TARGET:
		return escape_bytes(out, s->target.p, s->target.n);
	case ATTR_RDEV:
		return buf_printf(out, "%u:%u", major(s->rdev), minor(s->rdev));
	case ATTR_SHA256:
		return format_hash(out, s->sha256, SHA256_LEN);
	case ATTR_SHA512:
		return format_hash(out, s->sha512, SHA512_LEN);
	case ATTR_SHA3_256:
		return format_hash(out, s->sha3_256, SHA256_LEN);
	case ATTR_BLAKE2B512:
		return format_hash(out, s->blake2b512, SHA512_LEN);
	case ATTR_XATTRS: {
		size_t start = out->len;
		int r = format_xattrs(out, &s->xattrs);

		if (r == 0 && out->len == start)
			r = buf_puts(out, "(none)");
		return r;
	}
	case ATTR_ACL:
		return buf_puts(out, s->acl ? s->acl : "(none)");
	case ATTR_SELINUX:
		return s->selinux ? escape_bytes(out, s->selinux, strlen(s->selinux))
				  : buf_puts(out, "(none)");
	case ATTR_CAPS:
		return buf_puts(out, s->caps ? s->caps : "(none)");
	case ATTR_FLAGS:
		return buf_printf(out, "0x%08" PRIx32, s->flags);
	default:
		return -EINVAL;
	}
}

void object_attr_json(struct json_writer *w, const struct object_state *s, enum attr a)
{
	struct buf tmp;

	if (!(s->attrs & ATTR_BIT(a))) {
		jw_null(w);
		return;
	}
	switch (a) {
	case ATTR_UID:
		jw_u64(w, s->uid);
		return;
	case ATTR_GID:
		jw_u64(w, s->gid);
		return;
	case ATTR_SIZE:
		jw_u64(w, s->size);
		return;
	case ATTR_INODE:
		jw_u64(w, s->ino);
		return;
	case ATTR_NLINK:
		jw_u64(w, s->nlink);
		return;
	case ATTR_FLAGS:
		jw_u64(w, s->flags);
		return;
	case ATTR_ACL:
	case ATTR_SELINUX:
	case ATTR_CAPS: {
		const char *v = a == ATTR_ACL ? s->acl : a == ATTR_SELINUX ? s->selinux : s->caps;

		if (v)
			jw_str_bytes(w, v, strlen(v));
		else
			jw_null(w);
		return;
	}
	default:
		break;
	}
	buf_init(&tmp, 0);
	if (a == ATTR_TARGET) {
		jw_str_bytes(w, s->target.p, s->target.n);
	} else if (object_attr_format(&tmp, s, a) == 0) {
		jw_str(w, buf_str(&tmp));
	} else {
		jw_null(w);
	}
	buf_release(&tmp);
}

const char *const object_kinds[OBJECT_KINDS_N] = {
	"package", "repo",     "user",	"group",  "sudo",	 "module", "sysctl", "socket",
	"unit",	   "timer",    "cron",	"firewall", "mount", "kernel", "certificate", "exec",
};

int object_kind_find(const char *kind, size_t len)
{
	for (int i = 0; i < OBJECT_KINDS_N; i++)
		if (strlen(object_kinds[i]) == len && memcmp(object_kinds[i], kind, len) == 0)
			return i;
	return -1;
}

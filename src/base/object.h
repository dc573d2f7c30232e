/*
 * The shared vocabulary of what Vigil monitors (DESIGN §2): object types, the
 * attributes that can be recorded for a file-system object, the state of one object,
 * and the comparison of two states.
 *
 * Every detector fills a struct object_state; the store persists it; the check and,
 * later, the daemon compare a baseline state with an observed one through
 * object_state_diff().  The attribute names are part of the rule grammar
 * (vigil.rules(5)) and of the JSON output, so they never change once released.
 */
#ifndef VIGIL_BASE_OBJECT_H
#define VIGIL_BASE_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/json.h"

enum obj_type {
	OBJ_NONE = 0,
	OBJ_FILE,
	OBJ_DIR,
	OBJ_SYMLINK,
	OBJ_FIFO,
	OBJ_SOCKET,
	OBJ_CHARDEV,
	OBJ_BLOCKDEV,
	OBJ_OTHER,
};

enum attr {
	ATTR_TYPE,
	ATTR_PERMS,
	ATTR_UID,
	ATTR_GID,
	ATTR_SIZE,
	ATTR_INODE,
	ATTR_DEV,
	ATTR_NLINK,
	ATTR_MTIME,
	ATTR_CTIME,
	ATTR_TARGET,
	ATTR_RDEV,
	ATTR_SHA256,
	ATTR_SHA512,
	ATTR_SHA3_256,
	ATTR_BLAKE2B512,
	ATTR_XATTRS,
	ATTR_ACL,
	ATTR_SELINUX,
	ATTR_CAPS,
	ATTR_FLAGS,
	ATTR__COUNT,
};

#define ATTR_BIT(a) (1u << (a))
#define ATTR_MASK_HASHES                                                                           \
	(ATTR_BIT(ATTR_SHA256) | ATTR_BIT(ATTR_SHA512) | ATTR_BIT(ATTR_SHA3_256) |                 \
	 ATTR_BIT(ATTR_BLAKE2B512))
#define ATTR_MASK_ALL ((1u << ATTR__COUNT) - 1)
/* What a rule without an attribute list records: everything but the device number and
 * the optional extra hashes. */
#define ATTR_MASK_DEFAULT                                                                          \
	(ATTR_MASK_ALL & ~(ATTR_BIT(ATTR_DEV) | ATTR_BIT(ATTR_SHA512) | ATTR_BIT(ATTR_SHA3_256) |  \
			   ATTR_BIT(ATTR_BLAKE2B512)))
/* Attributes read from extended attributes, not from statx(). */
#define ATTR_MASK_EXTRA                                                                            \
	(ATTR_BIT(ATTR_XATTRS) | ATTR_BIT(ATTR_ACL) | ATTR_BIT(ATTR_SELINUX) | ATTR_BIT(ATTR_CAPS))
/* The inode flags statx() reports (same bits as FS_IOC_GETFLAGS): compressed,
 * immutable, append-only, no-dump, encrypted, verity. */
#define OBJ_STATX_FLAGS (0x4u | 0x10u | 0x20u | 0x40u | 0x800u | 0x100000u)

#define SHA256_LEN 32
#define SHA512_LEN 64

struct blob {
	uint8_t *p;
	size_t n;
};

struct object_state {
	uint32_t attrs;	/* attributes recorded in this state */
	uint8_t type;	/* enum obj_type */
	bool unstable;	/* changed while it was read; values are from the last attempt */
	bool prefix_match; /* growing files: the first prefix_size bytes hash to prefix_sha256 */
	uint32_t mode;	/* permission bits, 07777 */
	uint32_t uid, gid;
	uint64_t size, ino, dev, nlink, rdev;
	int64_t mtime_ns, ctime_ns;
	uint32_t flags;	/* inode flags as statx() reports them (OBJ_STATX_FLAGS) */
	uint8_t sha256[SHA256_LEN];
	uint8_t sha512[SHA512_LEN];
	uint8_t sha3_256[SHA256_LEN];
	uint8_t blake2b512[SHA512_LEN];
	struct blob target;	/* symlink target bytes */
	struct blob xattrs;	/* serialised: sorted (name NUL, u32 length LE, value)* */
	char *acl;	/* POSIX ACL text, access then "default:" entries; NULL if none */
	char *selinux;	/* security label; NULL if none */
	char *caps;	/* file capabilities as text; NULL if none */
	char *owner;	/* user name of uid, NULL if unknown */
	char *group;	/* group name of gid, NULL if unknown */
};

void object_state_init(struct object_state *s);
/* Frees what the state owns and re-initialises it. */
void object_state_release(struct object_state *s);
/* Deep copy into dst (initialised). Returns 0 or -ENOMEM. */
int object_state_copy(struct object_state *dst, const struct object_state *src);
/* Fills type, mode, ids, size, times, inode, device, links and rdev from a stat. */
void object_state_from_stat(struct object_state *s, const struct stat *st);
struct statx;
/* The same from a statx (STATX_BASIC_STATS), plus the inode flags it reports. */
void object_state_from_statx(struct object_state *s, const struct statx *stx);
/* A struct stat with the fields a statx filled (for code that compares stats). */
void stat_from_statx(struct stat *st, const struct statx *stx);

enum obj_type obj_type_from_mode(mode_t m);
/* "file", "dir", "symlink", "fifo", "socket", "char", "block", "other". */
const char *obj_type_name(enum obj_type t);

/*
 * The kinds of object beyond files (DESIGN §2), in a fixed order: a collected object
 * is named "KIND:KEY" ("user:alice", "sysctl:kernel.dmesg_restrict").  Files have no
 * kind prefix: their names are absolute paths.
 */
#define OBJECT_KINDS_N 16
extern const char *const object_kinds[OBJECT_KINDS_N];
/* The index of kind[0..len) in object_kinds, or -1. */
int object_kind_find(const char *kind, size_t len);

/* The attribute's name in rules and output ("sha3-256"), or NULL. */
const char *attr_name(enum attr a);
/* Looks a name up; returns the attribute or -EINVAL. */
int attr_from_name(const char *name, size_t len);

/* The attributes an object of type t can have (hashes for files, targets for links). */
uint32_t attr_applicable(enum obj_type t);

/*
 * Attributes that differ between a baseline and an observation, limited to mask.  An
 * attribute the observation has but the baseline never recorded (the file could not
 * be read at init, or the rules now ask for more) is a difference.  A type change is
 * always reported.  With growing set, a file whose size did not shrink and whose prefix
 * matched (cur->prefix_match) reports no change of size, times or hashes.
 */
uint32_t object_state_diff(const struct object_state *base, const struct object_state *cur,
			   uint32_t mask, bool growing);

/* Appends the value of one attribute as display text. */
int object_attr_format(struct buf *out, const struct object_state *s, enum attr a);
/* Writes the value of one attribute as a JSON value. */
void object_attr_json(struct json_writer *w, const struct object_state *s, enum attr a);

/*
 * Compares two paths in key order: component by component, so '/' sorts before every
 * other byte ("/a/b" < "/a.b").  The walker, the walk roots and the store all use it.
 */
int path_cmp(const char *a, size_t an, const char *b, size_t bn);

/* Hex of n bytes into out (2n+1). */
void hex_encode(const uint8_t *p, size_t n, char *out);

#endif

/*
 * The careful read of one file: descriptor checks, one-pass hashing (holes of sparse
 * files fed from a zero page instead of being copied), the prefix digest for growing
 * files, and the before/after comparison that catches concurrent modification.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scan/scan-attr.h"
#include "scan/scan-file.h"
#include "base/banned.h"

static const uint8_t zeros[65536];

int scan_reader_init(struct scan_reader *rd, unsigned attempts, const struct scan_hooks *hooks)
{
	int r;

	memset(rd, 0, sizeof(*rd));
	r = hasher_new(&rd->hasher);
	if (r < 0)
		return r;
	rd->buf = malloc(SCAN_READ_BUF);
	if (!rd->buf) {
		rd->hasher = hasher_free(rd->hasher);
		return -ENOMEM;
	}
	rd->buf_size = SCAN_READ_BUF;
	rd->attempts = attempts ? attempts : 3;
	rd->hooks = hooks;
	return 0;
}

void scan_reader_release(struct scan_reader *rd)
{
	rd->hasher = hasher_free(rd->hasher);
	free(rd->buf);
	rd->buf = NULL;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	       (a->st_mode & S_IFMT) == (b->st_mode & S_IFMT);
}

static bool held_still(const struct stat *a, const struct stat *b)
{
	return same_file(a, b) && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Feeds [from, to) to the hasher, taking the prefix digest when crossing prefix_at. */
static int feed(struct scan_reader *rd, const uint8_t *p, uint64_t from, size_t n,
		uint64_t prefix_at, bool want_prefix, uint8_t prefix[SHA256_LEN], bool *have_prefix)
{
	int r;

	if (want_prefix && !*have_prefix && prefix_at >= from && prefix_at <= from + n) {
		size_t k = (size_t)(prefix_at - from);

		r = hasher_update(rd->hasher, p, k);
		if (r < 0)
			return r;
		r = hasher_peek_sha256(rd->hasher, prefix);
		if (r < 0)
			return r;
		*have_prefix = true;
		return hasher_update(rd->hasher, p + k, n - k);
	}
	return hasher_update(rd->hasher, p, n);
}

/*
 * Hashes fd from its start.  Returns bytes hashed or a negative errno.
 */
static int64_t hash_fd(struct scan_reader *rd, int fd, const struct stat *st, const char *path,
		       uint64_t prefix_at, bool want_prefix, uint8_t prefix[SHA256_LEN],
		       bool *have_prefix)
{
	uint64_t off = 0, size = (uint64_t)st->st_size;
	bool sparse = (uint64_t)st->st_blocks * 512 < size;
	int r;

	if (size > 4 * SCAN_READ_BUF)
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	/* never past the size fstat() gave: a file that keeps growing must not keep the
	 * reader busy; the metadata check afterwards notices the growth */
	while (off < size) {
		ssize_t n;
		size_t want = size - off < rd->buf_size ? (size_t)(size - off) : rd->buf_size;

		if (sparse) {
			off_t data = lseek(fd, (off_t)off, SEEK_DATA), hole;

			if (data < 0 && errno == ENXIO)
				data = (off_t)size;
			if (data < 0) {
				sparse = false; /* no SEEK_DATA here: plain reads */
			} else if ((uint64_t)data > off) {
				/* a hole: its bytes are zeros, no need to read them */
				while (off < (uint64_t)data) {
					size_t z = (uint64_t)data - off < sizeof(zeros)
							   ? (size_t)((uint64_t)data - off)
							   : sizeof(zeros);

					r = feed(rd, zeros, off, z, prefix_at, want_prefix, prefix,
						 have_prefix);
					if (r < 0)
						return r;
					off += z;
				}
				if (rd->hooks && rd->hooks->after_chunk)
					rd->hooks->after_chunk(rd->hooks->ud, path, off);
				continue;
			}
			if (sparse) {
				hole = lseek(fd, (off_t)off, SEEK_HOLE);
				if (hole > (off_t)off && (uint64_t)(hole - (off_t)off) < want)
					want = (size_t)(hole - (off_t)off);
				if (lseek(fd, (off_t)off, SEEK_SET) < 0)
					return -errno;
			}
		}
		n = read(fd, rd->buf, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		r = feed(rd, rd->buf, off, (size_t)n, prefix_at, want_prefix, prefix, have_prefix);
		if (r < 0)
			return r;
		off += (uint64_t)n;
		if (rd->hooks && rd->hooks->after_chunk)
			rd->hooks->after_chunk(rd->hooks->ud, path, off);
	}
	return (int64_t)off;
}

static int proc_path(char *out, size_t size, int dirfd, const char *name)
{
	int n = name ? snprintf(out, size, "/proc/self/fd/%d/%s", dirfd, name)
		     : snprintf(out, size, "/proc/self/fd/%d", dirfd);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int scan_read_other(int dirfd, const char *name, uint32_t attrs, struct object_state *cur)
{
	char lpath[320];
	int r;

	if (cur->type == OBJ_SYMLINK && (attrs & ATTR_BIT(ATTR_TARGET))) {
		char tbuf[4096];
		ssize_t n = readlinkat(dirfd, name, tbuf, sizeof(tbuf));

		if (n < 0)
			return -errno;
		free(cur->target.p);
		cur->target.p = malloc((size_t)n + 1);
		if (!cur->target.p)
			return -ENOMEM;
		memcpy(cur->target.p, tbuf, (size_t)n);
		cur->target.n = (size_t)n;
		cur->attrs |= ATTR_BIT(ATTR_TARGET);
	}
	if (!(attrs & ATTR_MASK_EXTRA))
		return 0;
	r = proc_path(lpath, sizeof(lpath), dirfd, name);
	if (r < 0)
		return r;
	return scan_attr_read(-1, lpath, attrs & ATTR_MASK_EXTRA, cur);
}

/* The object is not a regular file (any more): describe what is there instead. */
static int describe_other(int dirfd, const char *name, uint32_t attrs, const struct stat *st,
			  struct object_state *cur)
{
	uint32_t keep = cur->attrs & ~(ATTR_MASK_HASHES | ATTR_MASK_EXTRA);
	uint32_t flags = cur->flags;

	object_state_release(cur);
	object_state_from_stat(cur, st);
	cur->attrs = keep;
	cur->flags = flags;
	return scan_read_other(dirfd, name, attrs, cur);
}

static const int open_flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;

int scan_read_file(struct scan_reader *rd, int dirfd, const char *name, const char *path,
		   uint32_t attrs, const struct object_state *base, bool growing,
		   struct object_state *cur)
{
	uint32_t hashes = attrs & ATTR_MASK_HASHES;
	bool want_prefix = growing && base && (hashes & ATTR_BIT(ATTR_SHA256)) &&
			   base->type == OBJ_FILE && (base->attrs & ATTR_BIT(ATTR_SHA256));
	int r = 0;

	for (unsigned attempt = 0; attempt < rd->attempts; attempt++) {
		_cleanup_close_ int fd = -1;
		struct stat st0, st1, st2;
		uint8_t prefix[SHA256_LEN];
		bool have_prefix = false;
		int64_t got = 0;

		if (rd->hooks && rd->hooks->before_open)
			rd->hooks->before_open(rd->hooks->ud, path);
		/* O_NOFOLLOW: a symlink swapped in fails with ELOOP; O_NONBLOCK|O_NOCTTY: a
		 * FIFO or device swapped in neither blocks nor becomes a terminal, and is
		 * closed below without a single read */
		fd = openat(dirfd, name, open_flags | (rd->no_atime ? 0 : O_NOATIME));
		if (fd < 0 && errno == EPERM && !rd->no_atime) {
			rd->no_atime = true; /* not the owner and no CAP_FOWNER */
			fd = openat(dirfd, name, open_flags);
		}
		if (fd < 0 && errno == ELOOP) {
			/* now a symlink: describe it, never follow it */
			if (fstatat(dirfd, name, &st0, AT_SYMLINK_NOFOLLOW) < 0)
				return -errno;
			return describe_other(dirfd, name, attrs, &st0, cur);
		}
		if (fd < 0)
			return -errno;
		if (fstat(fd, &st0) < 0)
			return -errno;
		if (!S_ISREG(st0.st_mode)) {
			close(fd);
			fd = -1;
			return describe_other(dirfd, name, attrs, &st0, cur);
		}
		st1 = st0;
		object_state_from_stat(cur, &st1);
		if (attrs & ATTR_MASK_EXTRA) {
			r = scan_attr_read(fd, NULL, attrs & ATTR_MASK_EXTRA, cur);
			if (r < 0)
				return r;
		}
		if (hashes) {
			r = hasher_start(rd->hasher, hashes);
			if (r < 0)
				return r;
			got = hash_fd(rd, fd, &st1, path, want_prefix ? base->size : 0, want_prefix,
				      prefix, &have_prefix);
			if (got < 0)
				return (int)got;
			r = hasher_finish(rd->hasher, cur);
			if (r < 0)
				return r;
		}
		if (fstat(fd, &st2) < 0)
			return -errno;
		cur->prefix_match =
			want_prefix && have_prefix && memcmp(prefix, base->sha256, SHA256_LEN) == 0;
		if (held_still(&st1, &st2) && (!hashes || (uint64_t)got == (uint64_t)st1.st_size)) {
			cur->unstable = false;
			return 0;
		}
		/* modified while being read: the digest may mix two versions */
		object_state_from_stat(cur, &st2);
		cur->unstable = true;
	}
	return 0;
}

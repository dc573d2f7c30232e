/* Small file helpers with limits; no symlink is followed for the last component. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fileio.h"
#include "base/banned.h"

int file_read_all(const char *dir, const char *rel, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *p = NULL;
	_cleanup_close_ int fd = -1;
	struct buf b;
	struct stat st;
	int r;

	if (rel && asprintf(&p, "%s/%s", dir, rel) < 0)
		return -ENOMEM;
	fd = open(rel ? p : dir, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	buf_init(&b, max);
	r = buf_reserve(&b, (size_t)st.st_size);
	while (r == 0) {
		ssize_t n;

		if (b.alloc - b.len <= 1) {
			/* full up to the cap: one more byte tells the end from a file too large */
			if (b.len == max) {
				char probe;

				n = read(fd, &probe, 1);
				if (n < 0 && errno == EINTR)
					continue;
				r = n < 0 ? -errno : n > 0 ? -EFBIG : 0;
				break;
			}
			r = buf_reserve(&b, max - b.len < 65536 ? max - b.len : 65536);
		}
		if (r < 0)
			break;
		n = read(fd, b.data + b.len, b.alloc - b.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
		b.data[b.len] = '\0';
	}
	if (r < 0) {
		buf_release(&b);
		return r;
	}
	return buf_detach(&b, ret, ret_len);
}

static int mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			int e = -errno;

			*p = '/';
			return e;
		}
		*p = '/';
	}
	return 0;
}

int file_write_all(const char *dir, const char *rel, const void *data, size_t n, unsigned mode)
{
	_cleanup_free_ char *p = NULL;
	const char *c = data;
	int fd, r;

	if (asprintf(&p, "%s/%s", dir, rel) < 0)
		return -ENOMEM;
	r = mkdirs(p);
	if (r < 0)
		return r;
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			r = -errno;
			break;
		}
		c += w;
		n -= (size_t)w;
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/* Reading configuration text safely: bounded size, no NUL bytes, sorted drop-ins. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "conf/conffile.h"
#include "base/banned.h"

int conffile_read(const char *path, char **ret, size_t *ret_len, struct vg_error *err)
{
	_cleanup_close_ int fd = -1;
	struct buf b;
	struct stat st;
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return vg_error_set(err, neg_errno(), path, 0, 0, "cannot open: %s",
				    strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return vg_error_set(err, -EINVAL, path, 0, 0, "not a regular file");
	buf_init(&b, CONFFILE_MAX);
	for (;;) {
		ssize_t n;

		r = buf_reserve(&b, 65536);
		if (r == -E2BIG)
			r = buf_reserve(&b, CONFFILE_MAX - b.len);
		if (r < 0 || b.len == CONFFILE_MAX) {
			buf_release(&b);
			return vg_error_set(err, r < 0 && r != -E2BIG ? r : -EFBIG, path, 0, 0,
					    "file is larger than %u bytes", CONFFILE_MAX);
		}
		n = read(fd, b.data + b.len, b.alloc - b.len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = vg_error_set(err, neg_errno(), path, 0, 0, "cannot read: %s",
					 strerror(errno));
			buf_release(&b);
			return r;
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
		b.data[b.len] = '\0';
	}
	return buf_detach(&b, ret, ret_len);
}

int conffile_each_line(const char *file, const char *text, size_t len, conffile_line_fn fn,
		       void *ud, struct vg_error *err)
{
	char line[CONFFILE_LINE_MAX + 1];
	unsigned lineno = 0;
	size_t off = 0;

	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
		int r;

		lineno++;
		if (n > CONFFILE_LINE_MAX)
			return vg_error_set(err, -EINVAL, file, lineno, CONFFILE_LINE_MAX + 1,
					    "line longer than %u bytes", CONFFILE_LINE_MAX);
		memcpy(line, text + off, n);
		line[n] = '\0';
		if (strlen(line) != n)
			return vg_error_set(err, -EINVAL, file, lineno,
					    (unsigned)strlen(line) + 1, "NUL byte in line");
		if (n && line[n - 1] == '\r')
			line[n - 1] = '\0';
		r = fn(ud, file, lineno, line, err);
		if (r < 0)
			return r;
		off += n + (nl ? 1 : 0);
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void conffile_free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

int conffile_list_dir(const char *dir, const char *suffix, char ***ret, size_t *ret_n,
		      struct vg_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **list = NULL;
	size_t n = 0, sl = strlen(suffix);
	int r = 0;

	if (!d) {
		if (errno == ENOENT)
			return -ENOENT;
		return vg_error_set(err, neg_errno(), dir, 0, 0, "cannot open directory: %s",
				    strerror(errno));
	}
	while ((de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		struct stat st;
		char *path, **nlist;

		if (de->d_name[0] == '.' || nl <= sl || strcmp(de->d_name + nl - sl, suffix) != 0)
			continue;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
			r = vg_error_set(err, -EINVAL, path, 0, 0, "not a readable regular file");
			free(path);
			break;
		}
		nlist = realloc(list, (n + 1) * sizeof(*list));
		if (!nlist) {
			free(path);
			r = -ENOMEM;
			break;
		}
		list = nlist;
		list[n++] = path;
	}
	closedir(d);
	if (r < 0) {
		conffile_free_list(list, n);
		return r;
	}
	if (n)
		qsort(list, n, sizeof(*list), cmp_str);
	*ret = list;
	*ret_n = n;
	return 0;
}

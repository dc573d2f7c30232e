/*
 * Reading a .deb: an ar archive whose data.tar.{xz,gz,zst,bz2} member holds the files.
 * One pass over the file hashes the whole .deb (the Packages index names that digest)
 * while libarchive walks the ar members; the data tar is opened as a nested archive
 * that reads straight from the outer member, so nothing is unpacked to disk and memory
 * stays small whatever the package's size.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/macro.h"
#include "change/prov-int.h"
#include "base/banned.h"

#define DEB_BLOCK 65536

struct outer_io {
	int fd;
	EVP_MD_CTX *md;
	uint8_t block[DEB_BLOCK];
	int err;
};

/* libarchive's read callback: every byte handed to libarchive is hashed first.  No skip
 * or seek callback is registered, so libarchive sees (and the digest covers) every byte
 * in order. */
static la_ssize_t outer_read(struct archive *a, void *userdata, const void **buf)
{
	struct outer_io *io = userdata;
	ssize_t n;

	do
		n = read(io->fd, io->block, sizeof(io->block));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		io->err = -errno;
		archive_set_error(a, errno, "read failed");
		return -1;
	}
	if (n > 0 && !EVP_DigestUpdate(io->md, io->block, (size_t)n)) {
		io->err = -EIO;
		archive_set_error(a, EIO, "digest failed");
		return -1;
	}
	*buf = io->block;
	return n;
}

struct inner_io {
	struct archive *outer;
	uint8_t block[DEB_BLOCK];
};

static la_ssize_t inner_read(struct archive *a, void *userdata, const void **buf)
{
	struct inner_io *io = userdata;
	la_ssize_t n = archive_read_data(io->outer, io->block, sizeof(io->block));

	*buf = io->block;
	return n;
}

/* "./etc/foo", "etc/foo", "/etc/foo" -> "/etc/foo"; NULL for the root or ".." tricks. */
static char *member_path(const char *name)
{
	char *p;

	while (name[0] == '.' && name[1] == '/')
		name += 2;
	while (name[0] == '/')
		name++;
	if (!name[0] || strstr(name, "/../") || strncmp(name, "../", 3) == 0)
		return NULL;
	if (asprintf(&p, "/%s", name) < 0)
		return NULL;
	{
		size_t l = strlen(p);

		while (l > 1 && p[l - 1] == '/')
			p[--l] = '\0';
	}
	return p;
}

static int members_put(struct prov_deb *d, const char *path, const uint8_t *digest)
{
	uint8_t *v;
	void *old = NULL;
	int r;

	if (d->n_members >= PROV_DEB_MEMBERS_MAX) {
		d->truncated = true;
		return 0;
	}
	v = malloc(SHA256_LEN);
	if (!v)
		return -ENOMEM;
	memcpy(v, digest, SHA256_LEN);
	r = strmap_put(&d->members, path, strlen(path), v, &old);
	if (r < 0) {
		free(v);
		return r;
	}
	if (old)
		free(old);
	else
		d->n_members++;
	return 0;
}

static int data_tar_read(struct archive *outer, struct prov_deb *d, uint64_t *total)
{
	struct inner_io *io = malloc(sizeof(*io));
	struct archive *in = archive_read_new();
	struct archive_entry *e;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t *block = malloc(DEB_BLOCK);
	int r = 0, ar;

	if (!io || !in || !md || !block) {
		r = -ENOMEM;
		goto out;
	}
	io->outer = outer;
	archive_read_support_filter_all(in);
	archive_read_support_format_tar(in);
	if (archive_read_open(in, io, NULL, inner_read, NULL) != ARCHIVE_OK) {
		r = -EBADMSG;
		goto out;
	}
	while ((ar = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
		_cleanup_free_ char *path = NULL;
		const char *link = archive_entry_hardlink(e);
		uint8_t digest[SHA256_LEN];
		unsigned dl = 0;

		path = member_path(archive_entry_pathname(e) ?: "");
		if (!path)
			continue;
		if (link) {
			_cleanup_free_ char *target = member_path(link);
			const uint8_t *td = target ? prov_deb_member(d, target) : NULL;

			if (td) {
				memcpy(digest, td, SHA256_LEN);
				r = members_put(d, path, digest);
				if (r < 0)
					goto out;
			}
			continue;
		}
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		if (!EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
			r = -EIO;
			goto out;
		}
		for (;;) {
			la_ssize_t n = archive_read_data(in, block, DEB_BLOCK);

			if (n < 0) {
				r = -EBADMSG;
				goto out;
			}
			if (n == 0)
				break;
			*total += (uint64_t)n;
			if (*total > PROV_DEB_DATA_MAX) {
				r = -EFBIG;
				goto out;
			}
			if (!EVP_DigestUpdate(md, block, (size_t)n)) {
				r = -EIO;
				goto out;
			}
		}
		if (!EVP_DigestFinal_ex(md, digest, &dl) || dl != SHA256_LEN) {
			r = -EIO;
			goto out;
		}
		r = members_put(d, path, digest);
		if (r < 0)
			goto out;
	}
	if (ar != ARCHIVE_EOF)
		r = -EBADMSG;
out:
	if (in)
		archive_read_free(in);
	EVP_MD_CTX_free(md);
	free(block);
	free(io);
	return r;
}

static void member_free(void *p)
{
	free(p);
}

struct prov_deb *prov_deb_free(struct prov_deb *d)
{
	if (!d)
		return NULL;
	strmap_release(&d->members, member_free);
	free(d->path);
	free(d);
	return NULL;
}

DEFINE_CLEANUP_FUNC(struct prov_deb, prov_deb_free)

const uint8_t *prov_deb_member(const struct prov_deb *d, const char *path)
{
	return strmap_get(&d->members, path, strlen(path));
}

int prov_deb_read(const char *path, struct prov_deb **ret)
{
	__attribute__((cleanup(prov_deb_freep))) struct prov_deb *d = NULL;
	struct outer_io *io = NULL;
	struct archive *a = NULL;
	struct archive_entry *e;
	struct stat st;
	uint64_t total = 0;
	bool have_data = false;
	unsigned dl = 0;
	int r = 0, ar;

	d = calloc(1, sizeof(*d));
	io = calloc(1, sizeof(*io));
	if (!d || !io) {
		r = -ENOMEM;
		goto out;
	}
	io->fd = -1;
	d->path = strdup(path);
	io->md = EVP_MD_CTX_new();
	if (!d->path || !io->md) {
		r = -ENOMEM;
		goto out;
	}
	io->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (io->fd < 0) {
		r = -errno;
		goto out;
	}
	if (fstat(io->fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EBADMSG;
		goto out;
	}
	d->size = (uint64_t)st.st_size;
	d->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	if (!EVP_DigestInit_ex(io->md, EVP_sha256(), NULL)) {
		r = -EIO;
		goto out;
	}
	a = archive_read_new();
	if (!a) {
		r = -ENOMEM;
		goto out;
	}
	archive_read_support_format_ar(a);
	if (archive_read_open(a, io, NULL, outer_read, NULL) != ARCHIVE_OK) {
		r = io->err ? io->err : -EBADMSG;
		goto out;
	}
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e) ?: "";

		if (strncmp(name, "data.tar", 8) != 0 || have_data)
			continue;
		have_data = true;
		r = data_tar_read(a, d, &total);
		if (r < 0)
			goto out;
	}
	if (ar != ARCHIVE_EOF || !have_data) {
		r = io->err ? io->err : -EBADMSG;
		goto out;
	}
	/* the digest covers the file: hash what libarchive did not need to read */
	for (;;) {
		const void *p;
		la_ssize_t n = outer_read(a, io, &p);

		if (n < 0) {
			r = io->err ? io->err : -EIO;
			goto out;
		}
		if (n == 0)
			break;
	}
	if (!EVP_DigestFinal_ex(io->md, d->sha256, &dl) || dl != SHA256_LEN) {
		r = -EIO;
		goto out;
	}
	*ret = TAKE_PTR(d);
out:
	if (a)
		archive_read_free(a);
	if (io) {
		if (io->fd >= 0)
			close(io->fd);
		EVP_MD_CTX_free(io->md);
		free(io);
	}
	return r;
}

/*
 * libFuzzer harness: the collectors' parsers of system files.  The first byte picks a
 * file (passwd, group, shadow, sudoers, dpkg status, sources.list, a .sources file, a
 * crontab, a timer unit, mountinfo, /proc/modules); the rest is its content, written
 * into a scratch root that the collector then reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/collect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	const char *path;
	int (*collect)(const struct coll_opts *o, struct coll_set *out, struct vg_error *err);
} slots[] = {
	{ "/etc/passwd", coll_user_collect },
	{ "/etc/group", coll_group_collect },
	{ "/etc/shadow", coll_user_collect },
	{ "/etc/sudoers", coll_sudo_collect },
	{ "/var/lib/dpkg/status", coll_package_collect },
	{ "/etc/apt/sources.list", coll_repo_collect },
	{ "/etc/apt/sources.list.d/f.sources", coll_repo_collect },
	{ "/etc/cron.d/f", coll_cron_collect },
	{ "/etc/systemd/system/f.timer", coll_timer_collect },
	{ "/proc/self/mountinfo", coll_mount_collect },
	{ "/proc/modules", coll_module_collect },
};

static char root[64];

static void mkdirs(const char *path)
{
	char p[512];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
}

static void put(const char *rel, const uint8_t *data, size_t n)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s%s", root, rel);
	mkdirs(p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (n && write(fd, data, n) < 0)
		(void)0;
	close(fd);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static void cleanup(void)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct coll_opts o = { .root = root, .timeout_ns = 1000000000 };
	struct coll_set set = { 0 };
	struct vg_error err;
	size_t k;

	if (!root[0]) {
		snprintf(root, sizeof(root), "/tmp/vigil-fuzz-collect.%d", (int)getpid());
		mkdir(root, 0700);
		atexit(cleanup);
		/* what every slot's collector needs besides the file under test */
		put("/etc/passwd", (const uint8_t *)"root:x:0:0:root:/root:/bin/sh\n", 30);
		put("/etc/group", (const uint8_t *)"root:x:0:\n", 10);
	}
	if (size == 0)
		return 0;
	k = data[0] % (sizeof(slots) / sizeof(slots[0]));
	put(slots[k].path, data + 1, size - 1);
	(void)slots[k].collect(&o, &set, &err);
	coll_set_release(&set);
	/* the passwd and group every run starts from */
	if (k <= 2) {
		put("/etc/passwd", (const uint8_t *)"root:x:0:0:root:/root:/bin/sh\n", 30);
		put("/etc/group", (const uint8_t *)"root:x:0:\n", 10);
		put("/etc/shadow", (const uint8_t *)"", 0);
	} else {
		put(slots[k].path, (const uint8_t *)"", 0);
	}
	return 0;
}

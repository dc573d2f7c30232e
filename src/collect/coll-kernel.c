/* placeholder: replaced by the real collector */
#include <errno.h>

#include "collect/collect.h"
#include "base/banned.h"

const char *const coll_sysctl_defaults[] = { NULL };

int coll_module_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	return vg_error_set(err, -ENOSYS, NULL, 0, 0, "the module collector is not built");
}

int coll_sysctl_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	return vg_error_set(err, -ENOSYS, NULL, 0, 0, "the sysctl collector is not built");
}

int coll_mount_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	return vg_error_set(err, -ENOSYS, NULL, 0, 0, "the mount collector is not built");
}

int coll_kernel_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	return vg_error_set(err, -ENOSYS, NULL, 0, 0, "the kernel collector is not built");
}

/* placeholder: replaced by the real collector */
#include <errno.h>

#include "collect/collect.h"
#include "base/banned.h"

int coll_package_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	return vg_error_set(err, -ENOSYS, NULL, 0, 0, "the package collector is not built");
}

int coll_repo_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	return vg_error_set(err, -ENOSYS, NULL, 0, 0, "the repo collector is not built");
}

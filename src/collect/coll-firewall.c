/* placeholder: replaced by the real collector */
#include <errno.h>

#include "collect/collect.h"
#include "base/banned.h"

int coll_firewall_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	return vg_error_set(err, -ENOSYS, NULL, 0, 0, "the firewall collector is not built");
}

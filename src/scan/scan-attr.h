/*
 * Reading the attributes that statx() does not give: extended attributes, POSIX ACLs,
 * the SELinux label and file capabilities.
 *
 * An attribute source is either an open descriptor of a regular file or directory, or,
 * for objects Vigil never opens (symlinks, FIFOs, sockets, devices), a path whose last
 * component is not followed ("/proc/self/fd/DIRFD/NAME", so no path is ever longer than
 * a few dozen bytes and no symlink on the way is followed).
 */
#ifndef VIGIL_SCAN_SCAN_ATTR_H
#define VIGIL_SCAN_SCAN_ATTR_H

#include <stdint.h>

#include "base/object.h"

#define SCAN_XATTR_MAX (256u * 1024)	/* all names and values of one object together */

/*
 * Reads the extra attributes in attrs (ATTR_MASK_EXTRA bits) into s.  With fd >= 0 the
 * descriptor is used, else lpath.  Unsupported attributes (a file system without
 * xattrs, a file type without flags) read as empty.  Returns 0 or a negative errno.
 */
int scan_attr_read(int fd, const char *lpath, uint32_t attrs, struct object_state *s);

/* Decodes a system.posix_acl_* value into text ("user::rw-,user:1000:r--,..."). */
int scan_acl_to_text(const uint8_t *p, size_t n, const char *prefix, struct buf *out);
/* Decodes a security.capability value into text ("cap_net_raw,cap_net_admin=ep"). */
int scan_caps_to_text(const uint8_t *p, size_t n, struct buf *out);

#endif

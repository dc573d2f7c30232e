/*
 * Extended attributes, ACLs, labels and capabilities.  The kernel formats
 * are decoded here (ACL and capability values are small fixed layouts) so no extra
 * library is needed and every value is bounded before it is stored.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "base/buf.h"
#include "scan/scan-attr.h"
#include "base/banned.h"

#define XN_ACL_ACCESS "system.posix_acl_access"
#define XN_ACL_DEFAULT "system.posix_acl_default"
#define XN_SELINUX "security.selinux"
#define XN_CAPS "security.capability"

static ssize_t x_list(int fd, const char *lpath, char *buf, size_t size)
{
	return fd >= 0 ? flistxattr(fd, buf, size) : llistxattr(lpath, buf, size);
}

static ssize_t x_get(int fd, const char *lpath, const char *name, void *buf, size_t size)
{
	return fd >= 0 ? fgetxattr(fd, name, buf, size) : lgetxattr(lpath, name, buf, size);
}

static bool unsupported(int e)
{
	/* a refusal (EPERM, EACCES) is not "no attributes": it is reported */
	return e == ENOTSUP || e == ENOSYS || e == ENOTTY || e == EBADF;
}

int scan_acl_to_text(const uint8_t *p, size_t n, const char *prefix, struct buf *out)
{
	uint32_t version;
	int r = 0;

	if (n < 4 || (n - 4) % 8 != 0)
		return -EINVAL;
	memcpy(&version, p, 4);
	if (version != 2)
		return -EINVAL;
	for (size_t off = 4; off < n && r == 0; off += 8) {
		uint16_t tag, perm;
		uint32_t id;
		const char *t;
		bool with_id = false;

		memcpy(&tag, p + off, 2);
		memcpy(&perm, p + off + 2, 2);
		memcpy(&id, p + off + 4, 4);
		switch (tag) {
		case 0x01: t = "user"; break;
		case 0x02: t = "user"; with_id = true; break;
		case 0x04: t = "group"; break;
		case 0x08: t = "group"; with_id = true; break;
		case 0x10: t = "mask"; break;
		case 0x20: t = "other"; break;
		default: return -EINVAL;
		}
		if (out->len)
			r = buf_putc(out, ',');
		if (r == 0 && with_id)
			r = buf_printf(out, "%s%s:%u:", prefix, t, id);
		else if (r == 0)
			r = buf_printf(out, "%s%s::", prefix, t);
		if (r == 0)
			r = buf_printf(out, "%c%c%c", perm & 4 ? 'r' : '-', perm & 2 ? 'w' : '-',
				       perm & 1 ? 'x' : '-');
	}
	return r;
}

static const char *const cap_names[] = {
	"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid",
	"cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable",
	"cap_net_bind_service", "cap_net_broadcast", "cap_net_admin", "cap_net_raw",
	"cap_ipc_lock", "cap_ipc_owner", "cap_sys_module", "cap_sys_rawio", "cap_sys_chroot",
	"cap_sys_ptrace", "cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice",
	"cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease",
	"cap_audit_write", "cap_audit_control", "cap_setfcap", "cap_mac_override",
	"cap_mac_admin", "cap_syslog", "cap_wake_alarm", "cap_block_suspend", "cap_audit_read",
	"cap_perfmon", "cap_bpf", "cap_checkpoint_restore",
};

static int caps_list(uint64_t set, struct buf *out)
{
	bool first = true;
	int r = 0;

	for (unsigned i = 0; i < 64 && r == 0; i++) {
		if (!(set & (1ull << i)))
			continue;
		if (!first)
			r = buf_putc(out, ',');
		first = false;
		if (r == 0)
			r = i < ARRAY_SIZE(cap_names) ? buf_puts(out, cap_names[i])
						      : buf_printf(out, "cap_%u", i);
	}
	return r;
}

int scan_caps_to_text(const uint8_t *p, size_t n, struct buf *out)
{
	uint32_t magic, lo[2] = { 0 }, hi[2] = { 0 }, rootid = 0;
	uint64_t perm, inh;
	bool eff;
	int r;

	if (n < 4)
		return -EINVAL;
	memcpy(&magic, p, 4);
	eff = magic & 1;
	switch (magic & 0xff000000u) {
	case 0x01000000u: /* revision 1: one 32-bit word each */
		if (n != 12)
			return -EINVAL;
		memcpy(&lo[0], p + 4, 4);
		memcpy(&lo[1], p + 8, 4);
		break;
	case 0x02000000u:
	case 0x03000000u:
		if (n != 20 && n != 24)
			return -EINVAL;
		memcpy(&lo[0], p + 4, 4);
		memcpy(&lo[1], p + 8, 4);
		memcpy(&hi[0], p + 12, 4);
		memcpy(&hi[1], p + 16, 4);
		if (n == 24)
			memcpy(&rootid, p + 20, 4);
		break;
	default:
		return -EINVAL;
	}
	perm = (uint64_t)hi[0] << 32 | lo[0];
	inh = (uint64_t)hi[1] << 32 | lo[1];
	if (inh == 0 || inh == perm) {
		/* the common forms: "cap_x,cap_y=ep", "cap_x=eip" */
		r = caps_list(perm | inh, out);
		if (r == 0)
			r = buf_printf(out, "=%s%s%s", eff ? "e" : "", inh ? "i" : "",
				       perm ? "p" : "");
	} else {
		/* permitted and inheritable differ: "cap_x=ep cap_y=i" */
		r = caps_list(perm, out);
		if (r == 0)
			r = buf_printf(out, "=%sp ", eff ? "e" : "");
		if (r == 0)
			r = caps_list(inh, out);
		if (r == 0)
			r = buf_puts(out, "=i");
	}
	if (r == 0 && rootid)
		r = buf_printf(out, " rootid=%u", rootid);
	return r;
}

struct xent {
	const char *name;
	size_t nl;
};

static int cmp_xent(const void *a, const void *b)
{
	return strcmp(((const struct xent *)a)->name, ((const struct xent *)b)->name);
}

/* Reads one value, growing the buffer; returns length or negative errno. */
static ssize_t get_value(int fd, const char *lpath, const char *name, struct buf *v)
{
	for (int tries = 0; tries < 4; tries++) {
		ssize_t n = x_get(fd, lpath, name, NULL, 0);

		if (n < 0)
			return -errno;
		if ((size_t)n > SCAN_XATTR_MAX)
			return -E2BIG;
		buf_reset(v);
		if (buf_reserve(v, (size_t)n + 1) < 0)
			return -ENOMEM;
		n = x_get(fd, lpath, name, v->data, v->alloc - 1);
		if (n >= 0) {
			v->len = (size_t)n;
			v->data[n] = '\0';
			return n;
		}
		if (errno != ERANGE)
			return -errno;
	}
	return -EAGAIN;
}

static char *text_dup(struct buf *b)
{
	char *s;

	return buf_detach(b, &s, NULL) == 0 ? s : NULL;
}

int scan_attr_read(int fd, const char *lpath, uint32_t attrs, struct object_state *s)
{
	_cleanup_free_ char *names = NULL;
	_cleanup_free_ struct xent *ents = NULL;
	_cleanup_buf_ struct buf v = { 0 }, x = { 0 }, acl = { 0 };
	size_t n_ents = 0;
	uint32_t want;
	ssize_t ln;
	int r = 0;

	buf_init(&v, SCAN_XATTR_MAX + 1);
	buf_init(&x, SCAN_XATTR_MAX + 4096);
	buf_init(&acl, 65536);
	if (!(attrs & (ATTR_BIT(ATTR_XATTRS) | ATTR_BIT(ATTR_ACL) | ATTR_BIT(ATTR_SELINUX) |
		       ATTR_BIT(ATTR_CAPS))))
		return 0;
	/* the attributes count as recorded only once they were read (or cannot exist) */
	want = attrs & (ATTR_BIT(ATTR_XATTRS) | ATTR_BIT(ATTR_ACL) | ATTR_BIT(ATTR_SELINUX) |
			ATTR_BIT(ATTR_CAPS));
	for (int tries = 0;; tries++) {
		ln = x_list(fd, lpath, NULL, 0);
		if (ln < 0 && unsupported(errno)) {
			s->attrs |= want;
			return 0;
		}
		if (ln < 0)
			return -errno;
		if (ln == 0) {
			s->attrs |= want;
			return 0;
		}
		if ((size_t)ln > SCAN_XATTR_MAX)
			return -E2BIG;
		free(names);
		names = malloc((size_t)ln);
		if (!names)
			return -ENOMEM;
		ln = x_list(fd, lpath, names, (size_t)ln);
		if (ln >= 0)
			break;
		if (errno != ERANGE || tries > 3)
			return -errno;
	}
	ents = calloc((size_t)ln, sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	for (ssize_t off = 0; off < ln;) {
		size_t nl = strnlen(names + off, (size_t)(ln - off));

		if (nl == (size_t)(ln - off))
			break; /* unterminated: ignore the tail */
		ents[n_ents].name = names + off;
		ents[n_ents++].nl = nl;
		off += (ssize_t)nl + 1;
	}
	qsort(ents, n_ents, sizeof(*ents), cmp_xent);
	for (size_t i = 0; i < n_ents && r == 0; i++) {
		const char *nm = ents[i].name;
		bool is_acl = strcmp(nm, XN_ACL_ACCESS) == 0 || strcmp(nm, XN_ACL_DEFAULT) == 0;
		ssize_t vl;

		if (is_acl && !(attrs & ATTR_BIT(ATTR_ACL)))
			continue;
		if (strcmp(nm, XN_SELINUX) == 0 && !(attrs & ATTR_BIT(ATTR_SELINUX)))
			continue;
		if (strcmp(nm, XN_CAPS) == 0 && !(attrs & ATTR_BIT(ATTR_CAPS)))
			continue;
		if (!is_acl && strcmp(nm, XN_SELINUX) != 0 && strcmp(nm, XN_CAPS) != 0 &&
		    !(attrs & ATTR_BIT(ATTR_XATTRS)))
			continue;
		vl = get_value(fd, lpath, nm, &v);
		if (vl == -ENODATA)
			continue; /* removed since it was listed */
		if (vl < 0) {
			r = (int)vl;
			break;
		}
		if (is_acl) {
			int q = scan_acl_to_text((uint8_t *)v.data, v.len,
						 strcmp(nm, XN_ACL_DEFAULT) == 0 ? "default:" : "",
						 &acl);
			if (q < 0)
				r = q == -EINVAL ? buf_puts(&acl, "(unreadable acl)") : q;
		} else if (strcmp(nm, XN_SELINUX) == 0) {
			size_t l = v.len;

			while (l && v.data[l - 1] == '\0')
				l--;
			free(s->selinux);
			s->selinux = strndup(v.data, l);
			if (!s->selinux)
				r = -ENOMEM;
		} else if (strcmp(nm, XN_CAPS) == 0) {
			struct buf c;

			buf_init(&c, 4096);
			if (scan_caps_to_text((uint8_t *)v.data, v.len, &c) < 0) {
				buf_reset(&c);
				r = buf_puts(&c, "(unreadable capability set)");
			}
			free(s->caps);
			s->caps = text_dup(&c);
			buf_release(&c);
			if (!s->caps)
				r = -ENOMEM;
		} else {
			uint32_t l32 = (uint32_t)v.len;

			r = buf_append(&x, nm, ents[i].nl + 1);
			if (r == 0)
				r = buf_append(&x, &l32, 4);
			if (r == 0)
				r = buf_append(&x, v.data, v.len);
		}
	}
	if (r < 0)
		return r;
	if (acl.len) {
		free(s->acl);
		s->acl = text_dup(&acl);
		if (!s->acl)
			return -ENOMEM;
	}
	if (x.len) {
		free(s->xattrs.p);
		s->xattrs.n = x.len;
		s->xattrs.p = (uint8_t *)text_dup(&x);
		if (!s->xattrs.p)
			return -ENOMEM;
	}
	s->attrs |= want;
	return 0;
}

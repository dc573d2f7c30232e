/*
 * Who is acting: the login uid, the Unix user it names, the account mapped to that
 * user, and the account's roles at this moment.  Every refusal says who was refused
 * and what they lacked, since the message ends up in front of the person.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/parse.h"
#include "change/account.h"
#include "base/banned.h"

static const char *const role_names[ROLE__COUNT] = {
	"requester", "implementer", "approver", "reviewer", "responder", "administrator", "auditor",
};

const char *role_name(enum role r)
{
	return (unsigned)r < ROLE__COUNT ? role_names[r] : "unknown";
}

int role_parse(const char *s, enum role *ret)
{
	for (int i = 0; i < ROLE__COUNT; i++)
		if (strcmp(s, role_names[i]) == 0) {
			*ret = (enum role)i;
			return 0;
		}
	return -EINVAL;
}

int role_parse_list(const char *s, uint32_t *ret_mask, struct vg_error *err)
{
	uint32_t mask = 0;
	const char *p = s;

	if (!*s)
		return vg_error_set(err, -EINVAL, "", 0, 0, "no role given");
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char name[32];
		enum role r;

		if (n == 0 || n >= sizeof(name))
			return vg_error_set(err, -EINVAL, "", 0, 0, "bad role list '%s'", s);
		memcpy(name, p, n);
		name[n] = '\0';
		if (role_parse(name, &r) < 0)
			return vg_error_set(err, -EINVAL, "", 0, 0,
					    "unknown role '%s' (roles: requester, implementer, "
					    "approver, reviewer, responder, administrator, auditor)",
					    name);
		mask |= ROLE_BIT(r);
		p += n;
		if (*p == ',')
			p++;
	}
	*ret_mask = mask;
	return 0;
}

void role_format(uint32_t mask, char *out, size_t size)
{
	size_t at = 0;

	if (size == 0)
		return;
	out[0] = '\0';
	for (int i = 0; i < ROLE__COUNT; i++) {
		int n;

		if (!(mask & ROLE_BIT(i)))
			continue;
		n = snprintf(out + at, size - at, "%s%s", at ? "," : "", role_names[i]);
		if (n < 0 || (size_t)n >= size - at)
			return;
		at += (size_t)n;
	}
}

bool account_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			  (i > 0 && (ch == '.' || ch == '_' || ch == '-'));

		if (!ok)
			return false;
	}
	return true;
}

int account_user_of_uid(uint32_t uid, char *out, size_t size)
{
	struct passwd pw, *res = NULL;
	char stack[1024];
	int e;

	e = getpwuid_r((uid_t)uid, &pw, stack, sizeof(stack), &res);
	if (e != 0 || !res)
		return e == ERANGE ? -ERANGE : -ENOENT;
	if (snprintf(out, size, "%s", pw.pw_name) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

/* The login uid of this process, or -ENOENT when the kernel has none for it. */
static int login_uid(uint32_t *ret)
{
	char b[32];
	ssize_t n;
	uint64_t v;
	int fd = open("/proc/self/loginuid", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -ENOENT;
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n <= 0)
		return -ENOENT;
	b[n] = '\0';
	if (n > 0 && b[n - 1] == '\n')
		b[n - 1] = '\0';
	if (parse_u64(b, &v) < 0 || v >= UINT32_MAX)
		return -ENOENT; /* 4294967295: never set */
	*ret = (uint32_t)v;
	return 0;
}

int account_bootstrap_closed(struct store *s, bool *ret)
{
	char *v = NULL;
	int r = store_meta_get(s, ACCOUNT_BOOTSTRAP_KEY, &v);

	if (r < 0 && r != -ENOENT)
		return r;
	*ret = r == 0 && v;
	free(v);
	return 0;
}

int account_close_bootstrap(struct store *s, int64_t now_ns)
{
	char t[32];

	snprintf(t, sizeof(t), "%lld", (long long)now_ns);
	return store_meta_set(s, ACCOUNT_BOOTSTRAP_KEY, t);
}

int account_whoami(struct store *s, enum role role, struct account_who *ret,
		   struct vg_error *err)
{
	struct account_who w = { 0 };
	struct store_account a = { 0 };
	int r;

	if (login_uid(&w.uid) == 0)
		w.by_loginuid = true;
	else
		w.uid = (uint32_t)getuid();
	if (account_user_of_uid(w.uid, w.user, sizeof(w.user)) < 0)
		snprintf(w.user, sizeof(w.user), "uid %u", w.uid);
	r = store_account_get(s, w.user, true, &a);
	if (r < 0)
		return vg_error_set(err, r, "", 0, 0, "cannot read accounts: %s", strerror(-r));
	if (r == 1) {
		if (a.disabled_ns) {
			r = vg_error_set(err, -EACCES, "", 0, 0,
					 "account '%s' (Unix user '%s') is disabled", a.name, w.user);
			goto out;
		}
		snprintf(w.account, sizeof(w.account), "%s", a.name);
		if (role_parse_list(a.roles, &w.roles, NULL) < 0)
			w.roles = 0;
	} else if (w.uid == 0) {
		bool closed;

		r = account_bootstrap_closed(s, &closed);
		if (r < 0)
			return vg_error_set(err, r, "", 0, 0, "cannot read the store: %s",
					    strerror(-r));
		if (closed) {
			r = vg_error_set(err, -EACCES, "", 0, 0,
					 "the Unix user 'root' has no account (an administrator "
					 "account exists, so root acts only through its own account)");
			goto out;
		}
		w.bootstrap = true;
		w.roles = ROLE_BIT(ROLE_ADMINISTRATOR);
	} else {
		r = vg_error_set(err, -EACCES, "", 0, 0,
				 "the Unix user '%s' (%s %u) has no Vigil account", w.user,
				 w.by_loginuid ? "login uid" : "uid", w.uid);
		goto out;
	}
	if (role != ROLE__COUNT && !(w.roles & ROLE_BIT(role))) {
		if (w.bootstrap)
			r = vg_error_set(err, -EACCES, "", 0, 0,
					 "root acts only as administrator until an administrator "
					 "account exists; this needs an account with the %s role",
					 role_name(role));
		else
			r = vg_error_set(err, -EACCES, "", 0, 0,
					 "account '%s' lacks the %s role", w.account, role_name(role));
		goto out;
	}
	*ret = w;
	r = 0;
out:
	store_account_release(&a);
	return r;
}

bool account_has(const struct account_who *w, enum role role)
{
	return (w->roles & ROLE_BIT(role)) != 0;
}

const char *account_label(const struct account_who *w)
{
	return w->bootstrap ? "root" : w->account;
}

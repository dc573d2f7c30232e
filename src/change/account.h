/*
 * Accounts and who is acting (ACC-01, ACC-03, DESIGN §8).  A person is identified by
 * the kernel's login uid (/proc/self/loginuid, which survives sudo), else by the real
 * uid, mapped to a Unix user name and through it to one Vigil account.  Roles are
 * held by accounts, never by names typed on a command line.
 *
 * Bootstrap: until the first account with the administrator role is made, the Unix
 * root user acts as administrator (and only as that); from then on, root is only what
 * its own account says, even if every administrator is later disabled.
 */
#ifndef VIGIL_CHANGE_ACCOUNT_H
#define VIGIL_CHANGE_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "store/store.h"

enum role {
	ROLE_REQUESTER,
	ROLE_IMPLEMENTER,
	ROLE_APPROVER,
	ROLE_REVIEWER,
	ROLE_RESPONDER,
	ROLE_ADMINISTRATOR,
	ROLE_AUDITOR,
	ROLE__COUNT,
};
#define ROLE_BIT(r) (1u << (r))

const char *role_name(enum role r);
/* The role named s: 0 with *ret set, or -EINVAL. */
int role_parse(const char *s, enum role *ret);
/* "approver,reviewer" into a mask; on an unknown name, -EINVAL and err says which. */
int role_parse_list(const char *s, uint32_t *ret_mask, struct vg_error *err);
/* The mask as names in role order, comma-separated ("" for none). */
void role_format(uint32_t mask, char *out, size_t size);

/* The person behind this process. */
struct account_who {
	uint32_t uid;		/* login uid, else real uid */
	bool by_loginuid;
	char user[64];		/* their Unix user name ("uid N" when it has none) */
	char account[64];	/* their account name; "" when acting by the bootstrap rule */
	uint32_t roles;
	bool bootstrap;		/* root acting as administrator before any administrator */
};

/*
 * Who is acting, for an action needing role (ROLE__COUNT: any known person).  Refuses
 * with -EACCES and a message in err: a person without an account, a disabled account,
 * a missing role.  Returns 0 with *ret filled, or a negative errno.
 */
int account_whoami(struct store *s, enum role role, struct account_who *ret,
		   struct vg_error *err);
/* The bootstrap rule ends for good when the first administrator account is made:
 * disabling every administrator later does not bring it back. */
#define ACCOUNT_BOOTSTRAP_KEY "accounts.bootstrap_closed_ns"
int account_bootstrap_closed(struct store *s, bool *ret);
int account_close_bootstrap(struct store *s, int64_t now_ns);

/* Whether the person holds role right now. */
bool account_has(const struct account_who *w, enum role role);
/* The account name to record: the account, or "root" under the bootstrap rule. */
const char *account_label(const struct account_who *w);

/* The Unix user name of uid into out: 0, or -ENOENT when it has none. */
int account_user_of_uid(uint32_t uid, char *out, size_t size);

/* An account name: 1 to 63 characters of [a-z0-9._-], starting with a letter or digit. */
bool account_name_valid(const char *name);

#endif

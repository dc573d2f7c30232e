/*
 * Vendor-package provenance (CHG-06): proof that a file's current content is what a
 * Debian package shipped, that the package was installed or upgraded around the time
 * of the change, and that the package came from an allowed repository whose index is
 * signed by an allowed key.
 *
 * The evidence chain, strongest first:
 *   1. dpkg recorded the install or upgrade of the owning package near the change
 *      (/var/lib/dpkg/status, /var/log/dpkg.log, /var/log/apt/history.log);
 *   2. the file's SHA-256 equals the SHA-256 of the same member inside the package's
 *      .deb (read with libarchive), the .deb's SHA-256 equals the one in the
 *      repository's Packages index, and that index's SHA-256 is listed in an InRelease
 *      file whose signature gpgv verifies with a key whose fingerprint is allowed;
 *   3. the repository (URI, suite, component) is one the authorization allows.
 * MD5 from dpkg's .md5sums only ties a file to a package; it is never proof.
 *
 * Every path is read below the context's root ("/" on a real host; a directory in tests), so the
 * module can be tested against a throw-away dpkg database and apt state.
 */
#ifndef VIGIL_CHANGE_PROVENANCE_H
#define VIGIL_CHANGE_PROVENANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/object.h"

/* How far the chain could be followed for one file. */
enum prov_level {
	PROV_NONE = 0,	  /* no package owns the file, or its content matches nothing */
	PROV_OWNED,	  /* a package lists the file (and .md5sums may agree): weak, never proof */
	PROV_CONTENT,	  /* content equals the member of a .deb, but the .deb or its index
			   * could not be tied to a verified signature (e.g. .deb gone from cache) */
	PROV_SIGNED,	  /* the whole chain: member = file, .deb = index, index in a verified
			   * InRelease from an allowed key */
};

const char *prov_level_name(enum prov_level l); /* "none", "owned", "content", "signed" */

/* A repository an authorization allows: every field must match; NULL or empty
 * component matches any component of the suite. */
struct prov_repo {
	const char *uri;	/* archive URI as in sources.list, e.g. "file:/srv/repo" */
	const char *suite;	/* e.g. "bookworm-security" */
	const char *component;	/* e.g. "main"; NULL: any */
	const char *const *fingerprints; /* allowed signing key fingerprints (40 hex, any case) */
	size_t n_fingerprints;
};

struct prov_query {
	const char *path;	/* the file, absolute as seen on the host (no root prefix) */
	/* instead of a file, a package object: "NAME:ARCH" and the version now installed
	 * (NULL: the package was removed, which no repository proves) */
	const char *package;
	const char *version;
	const uint8_t *sha256;	/* the file's content digest now (SHA256_LEN bytes); NULL: a
				 * removed file (then only dpkg's record of removal counts) */
	int64_t change_ns;	/* when the change was detected (CLOCK_REALTIME) */
	int64_t slack_ns;	/* dpkg activity must lie within [change - slack, change + slack] */
	const struct prov_repo *allowed;
	size_t n_allowed;
	const char *const *keyrings; /* keyring files for gpgv (below root); NULL: each
				      * source's Signed-By, or for a source without one
				      * the .gpg files of trusted.gpg.d and trusted.gpg (binary
				      * keyrings only: armored .asc files are not read) */
	size_t n_keyrings;
	bool no_content;	/* a directory or symbolic link (sha256 is ignored): covered when
				 * the package that lists it has a proven chain and dpkg worked on
				 * it in the window; its level is at most PROV_OWNED */
	bool accept_weaker;	/* an authorization that accepts PROV_CONTENT / PROV_OWNED */
	bool cover_conffiles;	/* conffiles rewritten by maintainer scripts */
	bool cover_created;	/* files created by maintainer scripts (not in the .deb) */
};

/* What was found; every string is owned by the result (prov_result_release). */
struct prov_result {
	enum prov_level level;
	bool authorized;	/* the level and the repository satisfy the query */
	char *package, *arch, *version;
	char *action;		/* "install", "upgrade", "remove", ... from dpkg.log */
	int64_t dpkg_ns;	/* time of that dpkg action (CLOCK_REALTIME ns), 0 if none */
	char *deb_path;		/* the .deb that was read (below root), or NULL */
	char *deb_sha256;	/* hex */
	char *repo_uri, *suite, *component;
	char *key_fingerprint;	/* the key that signed the InRelease, as gpgv reported it */
	bool conffile;		/* the file is one of the package's conffiles */
	char *reason;		/* when not authorized: why, one line, for people */
};

void prov_result_release(struct prov_result *r);

/* What is worth keeping between queries: the parsed dpkg database and path index,
 * the members' digests of each .deb read, the verified InRelease files.  Each cache
 * entry is dropped when its file's size, mtime or inode changes.  Bounded memory.  A
 * context serves one thread at a time. */
struct prov_ctx;

/* root: "/" or a test root; every system path is read below it. */
int prov_ctx_new(const char *root, struct prov_ctx **ret);
struct prov_ctx *prov_ctx_free(struct prov_ctx *c);

/* Follows the chain for one file.  Returns 0 with *res filled (authorized or not, and
 * why), or a negative errno for failures of the machine itself (-ENOMEM, ...). A
 * missing or malformed dpkg/apt file is not an error: it lowers the level and says so
 * in res->reason.  *res is overwritten (not released) first; release it after use.
 *
 * How the result is decided:
 *   - every authorization needs a dpkg action on the owning package within the slack:
 *     install/upgrade (or configure, or "status installed") of the installed version in
 *     dpkg.log or dpkg.log.1, else an Install/Upgrade entry of apt's history.log whose
 *     run overlaps the window; and the package must be fully installed;
 *   - PROV_SIGNED is authorized; PROV_CONTENT and PROV_OWNED only with accept_weaker;
 *   - evidence against the file is never authorized, whatever the flags: content that
 *     differs from the package's .deb (outside the conffile rule), an index from a
 *     repository that is not allowed, an InRelease signed by a key that is not allowed,
 *     for another suite, or whose signature is bad;
 *   - a conffile that differs from the .deb, or a listed file the .deb does not hold
 *     (made by a maintainer script), gets level PROV_OWNED and is authorized when
 *     cover_conffiles / cover_created is set and the package's own chain is complete
 *     (or accept_weaker);
 *   - a removed file (sha256 NULL) must no longer be listed by any package; a remove,
 *     purge or upgrade in the window must name a version whose .deb (apt cache or file:
 *     repository) held the file.  The level is that .deb's chain; for an upgrade, also
 *     the new version's (an upgrade's new version from a disallowed repository or key is
 *     never authorized).
 * The .deb is looked for in <root>/var/cache/apt/archives and, for file: sources, in the
 * repository itself.  Signatures are checked by /usr/bin/gpgv (the host's, not the
 * root's). */
int prov_check(struct prov_ctx *c, const struct prov_query *q, struct prov_result *res);

#endif

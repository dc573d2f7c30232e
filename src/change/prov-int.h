/*
 * Internals of the provenance chain (provenance.h), shared by its files and its tests:
 * the parsers of dpkg's and apt's text formats, the reader of .deb archives and the gpgv
 * runner.  Nothing here is part of the module's API.
 *
 * Every parser takes text that comes from files an attacker may have written (a root
 * compromise is what the chain is meant to expose), so each one bounds what it keeps and
 * reports malformed input instead of guessing.
 */
#ifndef VIGIL_CHANGE_PROV_INT_H
#define VIGIL_CHANGE_PROV_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/object.h"
#include "base/strmap.h"

/* Limits on what is read from dpkg's and apt's files. */
#define PROV_STATUS_MAX (256u << 20)	 /* /var/lib/dpkg/status */
#define PROV_SMALL_FILE_MAX (4u << 20)	 /* sources, .list files, keyrings */
#define PROV_INRELEASE_MAX (32u << 20)	 /* InRelease, and what gpgv prints of it */
#define PROV_LINE_MAX 65536		 /* one line of a streamed file */
#define PROV_STANZA_MAX (1u << 20)	 /* one stanza of a Packages file */
#define PROV_SOURCES_MAX 1024		 /* sources, after expanding deb822 URIs x Suites */
#define PROV_SOURCE_WORDS_MAX 64	 /* components or keyrings of one source */
#define PROV_PACKAGES_MAX 200000	 /* packages in the dpkg status */
#define PROV_PATHS_MAX 4000000		 /* paths in the owner index */
#define PROV_CONFFILES_MAX 4096		 /* Conffiles of one package */
#define PROV_RELEASE_FILES_MAX 100000	 /* SHA256 entries of one InRelease */
#define PROV_DEB_MEMBERS_MAX 500000	 /* members of one .deb */
#define PROV_DEB_DATA_MAX (16ull << 30) /* bytes unpacked from one .deb */
#define PROV_CANDIDATES_MAX 16		 /* index entries tried for one package version */
#define PROV_EVENTS_MAX 64		 /* dpkg actions considered for one query */
#define PROV_SIGS_MAX 8			 /* signatures kept from one gpgv run */

/* ---- deb822 (dpkg status, Packages, Release, .sources, history.log) ---- */

struct prov_field {
	const char *name;
	size_t name_len;
	const char *value;	/* first line after "Name:" and its continuation lines, */
	size_t value_len;	/* outer white space trimmed; not NUL-terminated */
};

/* Called for each field; with f == NULL at the end of each stanza that had fields.  A
 * negative return stops the parse and is returned. */
typedef int (*prov_field_fn)(const struct prov_field *f, void *userdata);

/* Parses text as stanzas of "Name: value" lines separated by blank lines; lines that
 * start with white space continue the previous field, lines starting with '#' are
 * comments.  Lines that are none of these are skipped and counted in *ret_bad (may be
 * NULL).  Returns 0 or fn's negative return. */
int prov_deb822_parse(const char *text, size_t len, prov_field_fn fn, void *userdata,
		      unsigned *ret_bad);

/* True when the field's name is name (ASCII case-insensitive, as apt compares). */
bool prov_field_is(const struct prov_field *f, const char *name);

/* ---- sources.list ---- */

struct prov_source {
	char *uri;		/* as written, without a trailing '/' */
	char *suite;
	char **components;	/* empty for a flat repository */
	size_t n_components;
	char **signed_by;	/* keyring paths from signed-by (fingerprints and inline keys
				 * are not kept) */
	size_t n_signed_by;
	char *origin;		/* "FILE:LINE" it came from, for messages */
};

struct prov_source_list {
	struct prov_source *v;
	size_t n;
	unsigned bad;		/* lines or stanzas that were skipped as malformed */
};

/* Appends the "deb" lines of a one-line-style sources.list (deb-src lines and comments
 * are skipped).  origin names the file in the entries.  Returns 0, -ENOMEM, or -E2BIG
 * when the list is full (what fit is kept). */
int prov_sources_parse_oneline(const char *text, size_t len, const char *origin,
			       struct prov_source_list *l);
/* The same for a deb822 .sources file: one entry per URI x suite of each stanza whose
 * Types include "deb" and that is not "Enabled: no". */
int prov_sources_parse_deb822(const char *text, size_t len, const char *origin,
			      struct prov_source_list *l);
void prov_source_list_release(struct prov_source_list *l);

/* apt's file name for a URI in /var/lib/apt/lists (URItoFileName): the scheme, "//" and
 * any user:password@ are dropped, the characters apt quotes become %xx, '/' becomes '_'.
 * "file:/srv/repo/dists/stable/InRelease" -> "_srv_repo_dists_stable_InRelease". */
int prov_uri_to_filename(const char *uri, char **ret);

/* apt's name of a downloaded package in /var/cache/apt/archives: NAME_VERSION_ARCH.deb
 * with ':' (and '_') quoted, e.g. "foo_1%3a2.0-1_amd64.deb". */
int prov_deb_cache_name(const char *name, const char *version, const char *arch, char **ret);

/* Fingerprints are equal ignoring case and white space (both must hold 40 hex digits or
 * more, and only hex digits and blanks). */
bool prov_fpr_equal(const char *a, const char *b);

/* ---- dpkg.log ---- */

struct prov_dpkg_event {
	int64_t ns;		/* local time of the line, as CLOCK_REALTIME ns */
	char action[16];	/* install upgrade remove purge configure trigproc status */
	char state[24];		/* for "status": installed, unpacked, not-installed, ... */
	char package[128];
	char arch[32];		/* "" when the line has no ":arch" */
	char old_version[128];	/* "<none>" as written; for "status" empty */
	char new_version[128];	/* for "status": the version the state is about */
};

/* Parses one line of dpkg.log (without its newline).  Returns 0 with *ret filled,
 * -ENOMSG for lines about nothing a package went through ("startup", "conffile"), or
 * -EINVAL for a malformed line. */
int prov_dpkg_log_parse(const char *line, size_t len, struct prov_dpkg_event *ret);

/* "2026-11-27 10:01:02" (one or more spaces between date and time) in local time. */
int prov_local_time_parse(const char *s, size_t len, int64_t *ret_ns);

/* ---- .deb ---- */

struct prov_deb {
	char *path;
	uint64_t size;
	int64_t mtime_ns;
	dev_t dev;
	ino_t ino;
	uint8_t sha256[SHA256_LEN];	/* of the whole .deb */
	struct strmap members;		/* "/etc/foo" -> uint8_t[SHA256_LEN] (regular files) */
	size_t n_members;
	bool truncated;			/* more members than PROV_DEB_MEMBERS_MAX */
};

/* Reads the .deb at path: its SHA-256 and that of every regular file in its data.tar.*
 * (hard links get their target's digest).  Returns 0, -ENOENT, -EBADMSG when it is not
 * a readable .deb, -EFBIG past PROV_DEB_DATA_MAX, -ENOMEM. */
int prov_deb_read(const char *path, struct prov_deb **ret);
struct prov_deb *prov_deb_free(struct prov_deb *d);
/* The member's digest, or NULL when the .deb has no regular file at path ("/etc/foo"). */
const uint8_t *prov_deb_member(const struct prov_deb *d, const char *path);

/* ---- gpgv ---- */

struct prov_gpgv_result {
	bool good;		/* at least one good signature and no bad one */
	bool bad;		/* a signature did not verify: the text was altered */
	size_t n_sigs;
	char fpr[PROV_SIGS_MAX][41];	 /* signing (sub)key of each good signature */
	char primary[PROV_SIGS_MAX][41]; /* its primary key */
	char *text;		/* the signed text as gpgv wrote it, NUL-terminated */
	size_t text_len;
	char *diag;		/* gpgv's first line of complaint, for reasons; may be NULL */
};

/* Runs gpgv (the program at gpgv, no shell) on the clear-signed file with each keyring,
 * waiting at most timeout_ms.  Returns 0 with *ret filled (good or not), -ETIMEDOUT,
 * -E2BIG when gpgv printed too much, or another negative errno when it could not run. */
int prov_gpgv_verify(const char *gpgv, const char *const *keyrings, size_t n_keyrings,
		     const char *file, int timeout_ms, struct prov_gpgv_result *ret);
void prov_gpgv_result_release(struct prov_gpgv_result *r);

/* Parses gpgv's --status-fd lines into r (its signature fields only). */
void prov_gpgv_parse_status(const char *status, size_t len, struct prov_gpgv_result *r);

/* ---- small helpers ---- */

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void prov_hex(const uint8_t *p, size_t n, char *out);
/* Parses exactly 64 hex digits. Returns 0 or -EINVAL. */
int prov_unhex_sha256(const char *s, size_t len, uint8_t out[SHA256_LEN]);

#endif

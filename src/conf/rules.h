/*
 * Rule files (vigil.rules(5)): one selection per line.
 *
 *	/srv/app/**                                  the tree, default attributes
 *	/etc/ssh/**  perms+owner+content  @ssh  severity=high
 *	!/srv/app/cache/**                           exclude the tree
 *	=/srv/app                                    this object only
 *	/var/log/app.log   growing                   may only be appended to
 *	include /etc/vigil/extra.rules               read another file here
 *
 * This module parses and validates text into struct rule; policy/ compiles the rules
 * into a matcher.  Patterns are decoded here: "\\", "\*", "\?" and "\xHH" escapes give
 * literal bytes, unescaped '*', '?' and whole-component '**' are wildcards.
 */
#ifndef VIGIL_CONF_RULES_H
#define VIGIL_CONF_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

enum pat_meta { PM_LITERAL = 0, PM_STAR, PM_QMARK, PM_GLOBSTAR };

/* A decoded path pattern: byte i is a literal when meta[i] is PM_LITERAL. */
struct pattern {
	uint8_t *p;
	uint8_t *meta;
	size_t n;
	size_t literal_prefix;	/* bytes before the first wildcard (n when none); the '/'
				 * before a '**' is not counted, it may match nothing */
	size_t literal_count;	/* literal bytes in total */
};

enum severity { SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL };

enum rule_kind { RULE_SELECT, RULE_EXCLUDE };

struct rule {
	enum rule_kind kind;
	bool exact;		/* '=': this object only, not what is below it */
	struct pattern pat;
	char *text;		/* the pattern as written */
	uint32_t attrs;		/* ATTR_BIT mask; always includes ATTR_TYPE */
	bool growing;
	bool one_filesystem;
	bool diff;		/* small text files: keep the text, show changes as a diff */
	enum severity severity;
	char **tags;
	size_t n_tags;
	char *file;
	unsigned line;
	unsigned index;		/* position in the rule set */
	/* a rule for collected objects ("user:*", "!sysctl:net.ipv6.*"): 1 + the index of its
	 * kind in object_kinds, and the pattern of keys it matches (fnmatch(3) without
	 * flags: '*' matches any bytes, '/' and '.' included); 0 and NULL for files */
	int okind;
	char *glob;
};

struct ruleset {
	struct rule *rules;
	size_t n;
	char **files;		/* every file read, includes too */
	size_t n_files;
};

#define RULES_MAX 65536
#define RULES_INCLUDE_DEPTH 8

void ruleset_init(struct ruleset *rs);
void ruleset_release(struct ruleset *rs);
/* Removes rule i (later rules move up and are renumbered). */
void ruleset_remove(struct ruleset *rs, size_t i);
/* Reads every "*.rules" file of dir in name order.  A missing dir is an error. */
int ruleset_load_dir(struct ruleset *rs, const char *dir, struct vg_error *err);
int ruleset_load_file(struct ruleset *rs, const char *path, struct vg_error *err);
/* Parses text as if read from file name; includes are resolved relative to it. */
int ruleset_parse_text(struct ruleset *rs, const char *name, const char *text, size_t len,
		       struct vg_error *err);

const char *severity_name(enum severity s);
/* Parses an attribute expression such as "perms+owner+content-mtime" into a mask. */
int rules_parse_attrs(const char *s, size_t n, uint32_t *ret, size_t *ret_bad_off);

#endif

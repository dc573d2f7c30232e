/*
 * The compiled rule set: which objects are monitored, with which attributes, severity
 * and tags (vigil.rules(5)).
 *
 * Matching.  '*' matches any bytes but '/', '?' one byte but '/', and a '**' component
 * any number of whole components, including none (so "/srv/app/**" matches "/srv/app"
 * itself).  A rule without '=' also applies to everything below what it matches; a rule
 * with '=' applies to what it matches only.
 *
 * Precedence.  Of all rules that apply to a path, the most specific decides: the one
 * with the longer literal prefix (the bytes before its first wildcard), then the one
 * with more literal bytes, then an exclusion over a selection, then '=' over a tree
 * rule, then the later rule.  So "!/srv/app/cache/**" carves a hole in "/srv/app/**",
 * and "/srv/app/cache/keep" selects one file back out of the hole.
 *
 * Walkers evaluate incrementally: struct policy_dir holds what the rules say for the
 * entries of one directory (the best inherited tree rule and the rules that may still
 * match deeper), so deciding an entry costs only the few rules still alive there.
 */
#ifndef VIGIL_POLICY_POLICY_H
#define VIGIL_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/rules.h"

struct policy {
	const struct ruleset *rs;
	char **roots;		/* where walks start, sorted, none below another */
	size_t *root_lens;
	size_t n_roots;
};

struct policy_dir {
	const struct rule *inherited;	/* best tree rule matching the dir or an ancestor */
	uint32_t *live;			/* indexes of rules that may match below the dir */
	size_t n_live;
};

/* Compiles rs (which must outlive the policy). */
int policy_compile(const struct ruleset *rs, struct policy *ret);
void policy_release(struct policy *p);

/* True when pattern pat matches path s[0..n) exactly. */
bool pattern_match(const struct pattern *pat, const uint8_t *s, size_t n);
/* True when some path below directory s[0..n) might match pat (may over-approximate). */
bool pattern_may_match_below(const struct pattern *pat, const uint8_t *s, size_t n);

/* True when rule a takes precedence over rule b (b may be NULL). */
bool rule_beats(const struct rule *a, const struct rule *b);

/* The rule that decides path (NULL: no rule applies), evaluated from scratch. */
const struct rule *policy_decide(const struct policy *p, const char *path, size_t n);
/* True when the decision for path is a selection. */
static inline bool policy_selected(const struct rule *r)
{
	return r && r->kind == RULE_SELECT;
}

/* The matching state for the entries of directory path, evaluated from scratch. */
int policy_dir_at(const struct policy *p, const char *path, size_t n, struct policy_dir *ret);
/* The decision for entry path (a child of the directory d describes). */
const struct rule *policy_dir_decide(const struct policy *p, const struct policy_dir *d,
				     const char *path, size_t n);
/* The state for the entries of child directory path, from its parent's state. */
int policy_dir_enter(const struct policy *p, const struct policy_dir *parent, const char *path,
		     size_t n, struct policy_dir *ret);
/* True when something below the directory d describes may be selected. */
bool policy_dir_wanted(const struct policy *p, const struct policy_dir *d);
void policy_dir_release(struct policy_dir *d);

/*
 * Collected objects (kind: an index in object_kinds).  The rule that decides key: of the
 * rules for the kind whose key pattern matches, the one with the longer literal prefix,
 * then the longer pattern, then an exclusion over a selection, then the later rule.
 * NULL: no rule applies (the object is not monitored).
 */
const struct rule *policy_decide_object(const struct policy *p, int kind, const char *key);
/* True when some rule selects objects of the kind (its collector has work). */
bool policy_kind_wanted(const struct policy *p, int kind);

#endif

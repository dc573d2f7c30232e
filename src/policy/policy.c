/*
 * Rule matching and precedence.  The walker asks this module, for every directory it
 * enters, which rules are still alive below it; directories where nothing can be
 * selected are never opened.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "base/object.h"
#include "policy/policy.h"
#include "base/banned.h"

enum { M_NO, M_FULL, M_PREFIX };

/*
 * Matches pattern positions [pi, pn) against s[si, sn).  With below set, also succeeds
 * when s is used up first (some continuation of s could match).
 */
static bool match_from(const struct pattern *pat, size_t pi, const uint8_t *s, size_t si,
		       size_t sn, bool below)
{
	const uint8_t *p = pat->p, *meta = pat->meta;
	size_t pn = pat->n;

	while (pi < pn) {
		if (si == sn && below)
			return true;
		switch (meta[pi]) {
		case PM_LITERAL:
			/* "/**" : the slash before a globstar may match nothing at all */
			if (p[pi] == '/' && pi + 1 < pn && meta[pi + 1] == PM_GLOBSTAR) {
				/* globstar covering zero components: skip "/**" */
				if (match_from(pat, pi + 2, s, si, sn, below))
					return true;
				/* one or more components: '/' then anything, then the rest
				 * of the pattern (which starts with '/' or ends) */
				if (si == sn || s[si] != '/')
					return false;
				if (pi + 2 == pn)
					return true;
				for (size_t k = si + 1; k <= sn; k++) {
					if (k == sn) {
						if (below)
							return true;
						break;
					}
					if (s[k] == '/' && match_from(pat, pi + 2, s, k, sn, below))
						return true;
				}
				return false;
			}
			if (si == sn || s[si] != p[pi])
				return false;
			pi++;
			si++;
			break;
		case PM_QMARK:
			if (si == sn || s[si] == '/')
				return false;
			pi++;
			si++;
			break;
		case PM_STAR:
			for (size_t k = si;; k++) {
				if (match_from(pat, pi + 1, s, k, sn, below))
					return true;
				if (k == sn || s[k] == '/')
					return false;
			}
		case PM_GLOBSTAR:
		default:
			/* only reached through the '/' case above */
			return false;
		}
	}
	if (below)
		return false; /* pattern used up, but the path must go on below s */
	return si == sn;
}

bool pattern_match(const struct pattern *pat, const uint8_t *s, size_t n)
{
	/* fast reject on the literal prefix */
	size_t lp = pat->literal_prefix;

	if (lp > n || memcmp(pat->p, s, lp) != 0)
		return false;
	return match_from(pat, 0, s, 0, n, false);
}

bool pattern_may_match_below(const struct pattern *pat, const uint8_t *s, size_t n)
{
	size_t lp = pat->literal_prefix, cmp = lp < n ? lp : n;
	uint8_t tmp[4096];
	uint8_t *dir;
	bool r;

	if (memcmp(pat->p, s, cmp) != 0)
		return false;
	/* test the pattern against "s/" in below mode */
	dir = n + 1 <= sizeof(tmp) ? tmp : malloc(n + 1);
	if (!dir)
		return true; /* over-approximate rather than miss */
	memcpy(dir, s, n);
	dir[n] = '/';
	if (n == 1 && s[0] == '/')
		r = match_from(pat, 0, dir, 0, 1, true);
	else
		r = match_from(pat, 0, dir, 0, n + 1, true);
	if (dir != tmp)
		free(dir);
	return r;
}

bool rule_beats(const struct rule *a, const struct rule *b)
{
	if (!b)
		return true;
	if (a->pat.literal_prefix != b->pat.literal_prefix)
		return a->pat.literal_prefix > b->pat.literal_prefix;
	if (a->pat.literal_count != b->pat.literal_count)
		return a->pat.literal_count > b->pat.literal_count;
	if (a->kind != b->kind)
		return a->kind == RULE_EXCLUDE;
	if (a->exact != b->exact)
		return a->exact;
	return a->index > b->index;
}

static bool is_under_or_same(const char *root, size_t rn, const char *p, size_t pn)
{
	if (rn == 1 && root[0] == '/')
		return true;
	return pn >= rn && memcmp(root, p, rn) == 0 && (pn == rn || p[rn] == '/');
}

struct root_ent {
	char *s;
	size_t n;
};

static int cmp_root(const void *a, const void *b)
{
	const struct root_ent *x = a, *y = b;

	return path_cmp(x->s, x->n, y->s, y->n);
}

int policy_compile(const struct ruleset *rs, struct policy *ret)
{
	struct root_ent *ents = calloc(rs->n ? rs->n : 1, sizeof(*ents));
	size_t n = 0, kept = 0;
	int r = 0;

	if (!ents)
		return -ENOMEM;
	memset(ret, 0, sizeof(*ret));
	ret->rs = rs;
	for (size_t i = 0; i < rs->n; i++) {
		const struct rule *ru = &rs->rules[i];
		size_t len;

		if (ru->kind != RULE_SELECT || ru->okind)
			continue;
		len = ru->pat.literal_prefix;
		if (len + 1 < ru->pat.n && ru->pat.p[len] == '/' &&
		    ru->pat.meta[len + 1] == PM_GLOBSTAR) {
			/* "/a/**": the walk starts at "/a" itself */
		} else if (len < ru->pat.n) {
			/* cut back to the directory holding the first wildcard */
			while (len > 0 && ru->pat.p[len - 1] != '/')
				len--;
			if (len > 1)
				len--; /* drop the trailing '/' */
		}
		if (len == 0)
			len = 1;
		ents[n].s = strndup((const char *)ru->pat.p, len);
		if (!ents[n].s) {
			r = -ENOMEM;
			goto out;
		}
		ents[n++].n = len;
	}
	qsort(ents, n, sizeof(*ents), cmp_root);
	ret->roots = calloc(n ? n : 1, sizeof(char *));
	ret->root_lens = calloc(n ? n : 1, sizeof(size_t));
	if (!ret->roots || !ret->root_lens) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (kept && is_under_or_same(ret->roots[kept - 1], ret->root_lens[kept - 1],
					     ents[i].s, ents[i].n)) {
			free(ents[i].s);
			continue;
		}
		ret->roots[kept] = ents[i].s;
		ret->root_lens[kept++] = ents[i].n;
	}
	ret->n_roots = kept;
	n = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(ents[i].s);
	free(ents);
	if (r < 0)
		policy_release(ret);
	return r;
}

void policy_release(struct policy *p)
{
	for (size_t i = 0; p->roots && i < p->n_roots; i++)
		free(p->roots[i]);
	free(p->roots);
	free(p->root_lens);
	memset(p, 0, sizeof(*p));
}

const struct rule *policy_decide(const struct policy *p, const char *path, size_t n)
{
	const struct rule *best = NULL;
	const uint8_t *s = (const uint8_t *)path;

	for (size_t i = 0; i < p->rs->n; i++) {
		const struct rule *r = &p->rs->rules[i];

		if (r->okind || !rule_beats(r, best))
			continue;
		if (pattern_match(&r->pat, s, n)) {
			best = r;
			continue;
		}
		if (r->exact)
			continue;
		/* a tree rule applies when it matches an ancestor */
		for (size_t k = n; k > 1; k--) {
			if (s[k - 1] != '/')
				continue;
			if (pattern_match(&r->pat, s, k - 1 ? k - 1 : 1)) {
				best = r;
				break;
			}
		}
		if (best != r && n > 1 && s[0] == '/' && pattern_match(&r->pat, s, 1))
			best = r;
	}
	return best;
}

void policy_dir_release(struct policy_dir *d)
{
	free(d->live);
	d->live = NULL;
	d->n_live = 0;
	d->inherited = NULL;
}

static int fill_live(const struct policy *p, const uint32_t *cand, size_t n_cand, bool all,
		     const char *path, size_t n, struct policy_dir *d)
{
	size_t total = all ? p->rs->n : n_cand;

	d->live = malloc((total ? total : 1) * sizeof(uint32_t));
	if (!d->live)
		return -ENOMEM;
	d->n_live = 0;
	for (size_t i = 0; i < total; i++) {
		uint32_t idx = all ? (uint32_t)i : cand[i];
		const struct rule *r = &p->rs->rules[idx];

		if (r->okind || !rule_beats(r, d->inherited))
			continue;
		if (pattern_may_match_below(&r->pat, (const uint8_t *)path, n))
			d->live[d->n_live++] = idx;
	}
	return 0;
}

int policy_dir_at(const struct policy *p, const char *path, size_t n, struct policy_dir *ret)
{
	const uint8_t *s = (const uint8_t *)path;
	struct policy_dir d = { 0 };
	int r;

	/* the best tree rule matching path or one of its ancestors */
	for (size_t i = 0; i < p->rs->n; i++) {
		const struct rule *ru = &p->rs->rules[i];

		if (ru->okind || ru->exact || !rule_beats(ru, d.inherited))
			continue;
		if (pattern_match(&ru->pat, s, n)) {
			d.inherited = ru;
			continue;
		}
		for (size_t k = n; k > 1; k--) {
			if (s[k - 1] == '/' && pattern_match(&ru->pat, s, k - 1 > 0 ? k - 1 : 1)) {
				d.inherited = ru;
				break;
			}
		}
		if (d.inherited != ru && n > 1 && pattern_match(&ru->pat, s, 1))
			d.inherited = ru;
	}
	r = fill_live(p, NULL, 0, true, path, n, &d);
	if (r < 0)
		return r;
	*ret = d;
	return 0;
}

const struct rule *policy_dir_decide(const struct policy *p, const struct policy_dir *d,
				     const char *path, size_t n)
{
	const struct rule *best = d->inherited;

	for (size_t i = 0; i < d->n_live; i++) {
		const struct rule *r = &p->rs->rules[d->live[i]];

		if (rule_beats(r, best) && pattern_match(&r->pat, (const uint8_t *)path, n))
			best = r;
	}
	return best;
}

int policy_dir_enter(const struct policy *p, const struct policy_dir *parent, const char *path,
		     size_t n, struct policy_dir *ret)
{
	struct policy_dir d = { .inherited = parent->inherited };
	int r;

	for (size_t i = 0; i < parent->n_live; i++) {
		const struct rule *ru = &p->rs->rules[parent->live[i]];

		if (!ru->exact && rule_beats(ru, d.inherited) &&
		    pattern_match(&ru->pat, (const uint8_t *)path, n))
			d.inherited = ru;
	}
	r = fill_live(p, parent->live, parent->n_live, false, path, n, &d);
	if (r < 0)
		return r;
	*ret = d;
	return 0;
}

bool policy_dir_wanted(const struct policy *p, const struct policy_dir *d)
{
	if (policy_selected(d->inherited))
		return true;
	for (size_t i = 0; i < d->n_live; i++)
		if (p->rs->rules[d->live[i]].kind == RULE_SELECT)
			return true;
	return false;
}

/* ---- collected objects ---- */

/* Bytes of a key pattern before its first wildcard or escape. */
static size_t glob_prefix(const char *g)
{
	return strcspn(g, "*?[\\");
}

/* a beats b for a collected object: the longer literal prefix, then the longer pattern,
 * then an exclusion, then the later rule */
static bool object_rule_beats(const struct rule *a, const struct rule *b)
{
	size_t pa, pb, na, nb;

	if (!b)
		return true;
	pa = glob_prefix(a->glob);
	pb = glob_prefix(b->glob);
	if (pa != pb)
		return pa > pb;
	na = strlen(a->glob);
	nb = strlen(b->glob);
	if (na != nb)
		return na > nb;
	if (a->kind != b->kind)
		return a->kind == RULE_EXCLUDE;
	return a->index > b->index;
}

const struct rule *policy_decide_object(const struct policy *p, int kind, const char *key)
{
	const struct rule *best = NULL;

	for (size_t i = 0; i < p->rs->n; i++) {
		const struct rule *r = &p->rs->rules[i];

		if (r->okind != kind + 1 || !object_rule_beats(r, best))
			continue;
		if (fnmatch(r->glob, key, 0) == 0)
			best = r;
	}
	return best;
}

bool policy_kind_wanted(const struct policy *p, int kind)
{
	for (size_t i = 0; i < p->rs->n; i++)
		if (p->rs->rules[i].okind == kind + 1 && p->rs->rules[i].kind == RULE_SELECT)
			return true;
	return false;
}

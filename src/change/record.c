/*
 * The change record document and its state machine.  Records arrive from people
 * (flags, files) and from ticketing systems (imports), so every field is checked with
 * the place of the problem named; what the store keeps is written back in one fixed
 * shape so a stored record reads the same way every time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/macro.h"
#include "base/timeutil.h"
#include "change/record.h"
#include "base/banned.h"

#define CR_MAX_LIST 1000	/* entries of one list in a record */
#define CR_MAX_TEXT 65536	/* bytes of one text field */

static const char *const type_names[CR_TYPE__COUNT] = { "normal", "standard", "emergency" };
static const char *const state_names[CR_STATE__COUNT] = {
	"draft",       "submitted",	 "approved", "rejected", "in_progress",
	"implemented", "retro_approved", "reviewed", "closed",	 "cancelled",
};
static const char *const action_names[CR_ACTION__COUNT] = {
	"submit", "approve", "reject", "start", "complete", "review", "close", "cancel",
};

const char *cr_type_name(enum cr_type t)
{
	return (unsigned)t < CR_TYPE__COUNT ? type_names[t] : "unknown";
}

const char *cr_state_name(enum cr_state s)
{
	return (unsigned)s < CR_STATE__COUNT ? state_names[s] : "unknown";
}

const char *cr_action_name(enum cr_action a)
{
	return (unsigned)a < CR_ACTION__COUNT ? action_names[a] : "unknown";
}

int cr_type_parse(const char *s, enum cr_type *ret)
{
	for (int i = 0; i < CR_TYPE__COUNT; i++)
		if (strcmp(s, type_names[i]) == 0) {
			*ret = (enum cr_type)i;
			return 0;
		}
	return -EINVAL;
}

int cr_state_parse(const char *s, enum cr_state *ret)
{
	for (int i = 0; i < CR_STATE__COUNT; i++)
		if (strcmp(s, state_names[i]) == 0) {
			*ret = (enum cr_state)i;
			return 0;
		}
	return -EINVAL;
}

/* ---- the state machine ---- */

int cr_next_state(enum cr_type t, enum cr_state s, enum cr_action a)
{
	bool em = t == CR_EMERGENCY;

	switch (a) {
	case CR_SUBMIT:
		return s == CR_DRAFT ? CR_SUBMITTED : -1;
	case CR_APPROVE:
		if (em)
			return s == CR_IMPLEMENTED ? CR_RETRO_APPROVED : -1;
		return s == CR_SUBMITTED ? CR_APPROVED : -1;
	case CR_REJECT:
		if (em)
			return s == CR_IMPLEMENTED ? CR_REJECTED : -1;
		return s == CR_SUBMITTED ? CR_REJECTED : -1;
	case CR_START:
		if (em)
			return s == CR_DRAFT || s == CR_SUBMITTED ? CR_IN_PROGRESS : -1;
		return s == CR_APPROVED && t == CR_NORMAL ? CR_IN_PROGRESS : -1;
	case CR_COMPLETE:
		return s == CR_IN_PROGRESS ? CR_IMPLEMENTED : -1;
	case CR_REVIEW:
		if (em)
			return s == CR_RETRO_APPROVED || s == CR_REJECTED ? CR_REVIEWED : -1;
		return s == CR_IMPLEMENTED ? CR_REVIEWED : -1;
	case CR_CLOSE:
		/* a standing authorization is retired by closing it */
		if (t == CR_STANDARD && s == CR_APPROVED)
			return CR_CLOSED;
		return s == CR_REVIEWED || (s == CR_REJECTED && !em) ? CR_CLOSED : -1;
	case CR_CANCEL:
		return s == CR_DRAFT || s == CR_SUBMITTED || (s == CR_APPROVED && !em) ? CR_CANCELLED
										      : -1;
	default:
		return -1;
	}
}

void cr_allowed_actions(enum cr_type t, enum cr_state s, char *out, size_t size)
{
	size_t at = 0;

	if (size)
		out[0] = '\0';
	for (int a = 0; a < CR_ACTION__COUNT; a++) {
		int n;

		if (cr_next_state(t, s, (enum cr_action)a) < 0)
			continue;
		n = snprintf(out + at, size - at, "%s%s", at ? ", " : "", action_names[a]);
		if (n < 0 || (size_t)n >= size - at)
			return;
		at += (size_t)n;
	}
	if (at == 0)
		snprintf(out, size, "none");
}

/* ---- patterns ---- */

bool cr_pattern_literal(const char *p)
{
	return strpbrk(p, "*?") == NULL;
}

static bool match_here(const char *p0, const char *p, const char *s, const char *end)
{
	while (*p) {
		if (p[0] == '*' && p[1] == '*' && (p == p0 || p[-1] == '/') &&
		    (p[2] == '/' || p[2] == '\0')) {
			/* any number of whole components, including none */
			const char *rest = p[2] == '/' ? p + 3 : p + 2;

			if (!*rest)
				return true;
			for (const char *q = s; q <= end; q++) {
				if ((q == s || q[-1] == '/') && match_here(p0, rest, q, end))
					return true;
			}
			return false;
		}
		if (*p == '*') {
			for (const char *q = s;; q++) {
				if (match_here(p0, p + 1, q, end))
					return true;
				if (q == end || *q == '/')
					return false;
			}
		}
		/* "/dir/**" also names dir itself */
		if (s == end && p[0] == '/' && p[1] == '*' && p[2] == '*' &&
		    (p[3] == '\0' || p[3] == '/')) {
			p += 3;
			continue;
		}
		if (s == end)
			return false;
		if (*p == '?') {
			if (*s == '/')
				return false;
		} else if (*p != *s) {
			return false;
		}
		p++;
		s++;
	}
	return s == end;
}

bool cr_path_match(const char *pattern, const char *path, size_t len)
{
	return match_here(pattern, pattern, path, path + len);
}

/* ---- lists ---- */

bool cr_list_has(const struct cr_list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

static void list_release(struct cr_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void cr_doc_release(struct cr_doc *d)
{
	char **texts[] = { &d->id,	    &d->title,	 &d->description, &d->reason,
			   &d->risk,	    &d->rollback, &d->test_evidence, &d->expected,
			   &d->justification, &d->requester, &d->evidence, &d->source,
			   &d->state };

	for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
		free(*texts[i]);
	list_release(&d->implementers);
	list_release(&d->hosts);
	list_release(&d->paths);
	list_release(&d->packages);
	list_release(&d->units);
	list_release(&d->config);
	for (size_t i = 0; i < d->n_repos; i++) {
		free(d->repos[i].uri);
		free(d->repos[i].suite);
		free(d->repos[i].component);
		list_release(&d->repos[i].keys);
	}
	free(d->repos);
	for (size_t i = 0; i < d->n_approvals; i++) {
		free(d->approvals[i].account);
		free(d->approvals[i].role);
	}
	free(d->approvals);
	memset(d, 0, sizeof(*d));
}

/* ---- parsing ---- */

struct pctx {
	const char *file;
	struct vg_error *err;
};

_printf_(3, 4) static int bad(struct pctx *p, const struct json_value *v, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vg_error_set(p->err, -EINVAL, p->file ? p->file : "", v ? v->line : 0,
			    v ? v->col : 0, "%s", msg);
}

static bool text_ok(const char *s, size_t n)
{
	/* one-line identifiers and free text alike: no NUL inside */
	return strlen(s) == n;
}

static int get_text(struct pctx *p, const struct json_value *v, const char *field, size_t max,
		    char **dst)
{
	if (v->type != JSON_STRING)
		return bad(p, v, "'%s' must be a string, not %s", field, json_type_name(v->type));
	if (v->str.len > max)
		return bad(p, v, "'%s' is longer than %zu bytes", field, max);
	if (!text_ok(v->str.s, v->str.len))
		return bad(p, v, "'%s' contains a NUL character", field);
	free(*dst);
	*dst = strdup(v->str.s);
	return *dst ? 0 : -ENOMEM;
}

/* A one-line name: no control characters, no spaces at either end, not empty. */
static int get_name(struct pctx *p, const struct json_value *v, const char *field, char **dst)
{
	int r = get_text(p, v, field, 255, dst);

	if (r < 0)
		return r;
	if (!**dst)
		return bad(p, v, "'%s' must not be empty", field);
	for (const char *c = *dst; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return bad(p, v, "'%s' contains a control character", field);
	if ((*dst)[0] == ' ' || (*dst)[strlen(*dst) - 1] == ' ')
		return bad(p, v, "'%s' must not start or end with a space", field);
	return 0;
}

static int get_time(struct pctx *p, const struct json_value *v, const char *field, int64_t *ns)
{
	if (v->type != JSON_STRING)
		return bad(p, v, "'%s' must be a UTC time string (RFC 3339), not %s", field,
			   json_type_name(v->type));
	if (time_parse_rfc3339(v->str.s, ns) < 0)
		return bad(p, v, "'%s' is not an RFC 3339 UTC time: '%s'", field, v->str.s);
	return 0;
}

typedef int (*item_check_fn)(struct pctx *p, const struct json_value *v, const char *field);

static int get_list(struct pctx *p, const struct json_value *v, const char *field,
		    item_check_fn check, struct cr_list *l)
{
	if (v->type != JSON_ARRAY)
		return bad(p, v, "'%s' must be an array of strings, not %s", field,
			   json_type_name(v->type));
	if (v->arr.n > CR_MAX_LIST)
		return bad(p, v, "'%s' has more than %d entries", field, CR_MAX_LIST);
	list_release(l);
	l->v = calloc(v->arr.n ? v->arr.n : 1, sizeof(*l->v));
	if (!l->v)
		return -ENOMEM;
	for (size_t i = 0; i < v->arr.n; i++) {
		const struct json_value *it = v->arr.items[i];
		char *s = NULL;
		int r = get_name(p, it, field, &s);

		if (r == 0 && check)
			r = check(p, it, field);
		if (r == 0 && cr_list_has(l, s))
			r = bad(p, it, "'%s' lists '%s' twice", field, s);
		if (r < 0) {
			free(s);
			return r;
		}
		l->v[l->n++] = s;
	}
	return 0;
}

static int check_path(struct pctx *p, const struct json_value *v, const char *field)
{
	const char *s = v->str.s;
	unsigned stars = 0;

	if (s[0] != '/')
		return bad(p, v, "'%s': '%s' is not an absolute path pattern", field, s);
	/* matching backtracks over wildcards: a few are all a scope needs */
	for (const char *c = s; *c; c++)
		stars += *c == '*';
	if (stars > 8 || strstr(s, "/**/**"))
		return bad(p, v, "'%s': '%s' has too many wildcards (at most 8 '*', no '**/**')",
			   field, s);
	for (const char *c = s; *c; c++) {
		if (c[0] == '*' && c[1] == '*' && !((c == s || c[-1] == '/') &&
						    (c[2] == '/' || c[2] == '\0')))
			return bad(p, v, "'%s': '**' must be a whole path component in '%s'", field,
				   s);
		if (c[0] == '*' && c[1] == '*')
			c++;
	}
	return 0;
}

static int check_config(struct pctx *p, const struct json_value *v, const char *field)
{
	const char *colon = strchr(v->str.s, ':');

	if (!colon || colon == v->str.s || !colon[1])
		return bad(p, v, "'%s': '%s' is not KIND:KEY (e.g. 'sysctl:net.ipv4.*')", field,
			   v->str.s);
	return 0;
}

static int check_account(struct pctx *p, const struct json_value *v, const char *field)
{
	if (!account_name_valid(v->str.s))
		return bad(p, v, "'%s': '%s' is not an account name", field, v->str.s);
	return 0;
}

static int check_fpr(struct pctx *p, const struct json_value *v, const char *field)
{
	size_t n = 0;

	for (const char *c = v->str.s; *c; c++) {
		if (*c == ' ')
			continue;
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') || (*c >= 'A' && *c <= 'F')))
			return bad(p, v, "'%s': '%s' is not a key fingerprint (hex digits)", field,
				   v->str.s);
		n++;
	}
	if (n != 40 && n != 64)
		return bad(p, v, "'%s': '%s' is not a 40- or 64-digit key fingerprint", field,
			   v->str.s);
	return 0;
}

/* Fingerprints are kept upper case without spaces. */
static void normalize_fprs(struct cr_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		char *w = l->v[i];

		for (const char *c = l->v[i]; *c; c++)
			if (*c != ' ')
				*w++ = (*c >= 'a' && *c <= 'f') ? (char)(*c - 32) : *c;
		*w = '\0';
	}
}

static int expect_object(struct pctx *p, const struct json_value *v, const char *field)
{
	if (v->type != JSON_OBJECT)
		return bad(p, v, "'%s' must be an object, not %s", field, json_type_name(v->type));
	return 0;
}

static int parse_window(struct pctx *p, const struct json_value *v, struct cr_doc *d)
{
	const struct json_value *s, *e;
	int r = expect_object(p, v, "window");

	if (r < 0)
		return r;
	for (size_t i = 0; i < v->obj.n; i++)
		if (strcmp(v->obj.members[i].key, "start") && strcmp(v->obj.members[i].key, "end"))
			return bad(p, v->obj.members[i].value,
				   "unknown field 'window.%s' (fields: start, end)",
				   v->obj.members[i].key);
	s = json_get(v, "start");
	e = json_get(v, "end");
	if (!s || !e)
		return bad(p, v, "'window' needs both 'start' and 'end'");
	if ((r = get_time(p, s, "window.start", &d->window_start)) < 0 ||
	    (r = get_time(p, e, "window.end", &d->window_end)) < 0)
		return r;
	if (d->window_end <= d->window_start)
		return bad(p, e, "'window.end' must be after 'window.start'");
	d->has_window = true;
	return 0;
}

static int parse_scope(struct pctx *p, const struct json_value *v, struct cr_doc *d)
{
	static const char *const names[] = { "hosts", "paths", "packages", "units", "config" };
	struct cr_list *lists[] = { &d->hosts, &d->paths, &d->packages, &d->units, &d->config };
	item_check_fn checks[] = { NULL, check_path, NULL, NULL, check_config };
	int r = expect_object(p, v, "scope");

	if (r < 0)
		return r;
	for (size_t i = 0; i < v->obj.n; i++) {
		const struct json_member *m = &v->obj.members[i];
		size_t k;
		char field[40];

		for (k = 0; k < ARRAY_SIZE(names); k++)
			if (strcmp(m->key, names[k]) == 0)
				break;
		if (k == ARRAY_SIZE(names))
			return bad(p, m->value,
				   "unknown field 'scope.%s' (fields: hosts, paths, packages, units, "
				   "config)",
				   m->key);
		snprintf(field, sizeof(field), "scope.%s", names[k]);
		r = get_list(p, m->value, field, checks[k], lists[k]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_approvers(struct pctx *p, const struct json_value *v, struct cr_doc *d)
{
	int r = expect_object(p, v, "approvers");

	if (r < 0)
		return r;
	for (size_t i = 0; i < v->obj.n; i++) {
		const struct json_member *m = &v->obj.members[i];

		if (strcmp(m->key, "count") == 0) {
			if (m->value->type != JSON_INT || m->value->i < 1 || m->value->i > 10)
				return bad(p, m->value, "'approvers.count' must be a whole number "
							"from 1 to 10");
			d->approvals_needed = (unsigned)m->value->i;
		} else if (strcmp(m->key, "role") == 0) {
			/* CHG-03: only a role meant to approve can be asked to */
			if (m->value->type != JSON_STRING ||
			    role_parse(m->value->str.s, &d->approver_role) < 0 ||
			    (d->approver_role != ROLE_APPROVER &&
			     d->approver_role != ROLE_ADMINISTRATOR))
				return bad(p, m->value,
					   "'approvers.role' must be approver or administrator");
		} else {
			return bad(p, m->value, "unknown field 'approvers.%s' (fields: count, role)",
				   m->key);
		}
	}
	return 0;
}

static int parse_standing(struct pctx *p, const struct json_value *v, struct cr_doc *d)
{
	int r = expect_object(p, v, "standing");

	if (r < 0)
		return r;
	for (size_t i = 0; i < v->obj.n; i++) {
		const struct json_member *m = &v->obj.members[i];
		const struct json_value *x = m->value;

		if (strcmp(m->key, "evidence") == 0) {
			r = get_name(p, x, "standing.evidence", &d->evidence);
			if (r == 0 && strcmp(d->evidence, "signed") && strcmp(d->evidence, "content") &&
			    strcmp(d->evidence, "owned"))
				r = bad(p, x, "'standing.evidence' must be signed, content or owned");
		} else if (strcmp(m->key, "conffiles") == 0 || strcmp(m->key, "created") == 0) {
			if (x->type != JSON_BOOL)
				return bad(p, x, "'standing.%s' must be true or false", m->key);
			if (m->key[1] == 'o')
				d->conffiles = x->b;
			else
				d->created = x->b;
		} else if (strcmp(m->key, "repositories") == 0) {
			if (x->type != JSON_ARRAY || x->arr.n > CR_MAX_LIST)
				return bad(p, x, "'standing.repositories' must be an array of objects");
			d->repos = calloc(x->arr.n ? x->arr.n : 1, sizeof(*d->repos));
			if (!d->repos)
				return -ENOMEM;
			for (size_t k = 0; k < x->arr.n; k++) {
				const struct json_value *o = x->arr.items[k];
				struct cr_repo *rp = &d->repos[d->n_repos++];

				r = expect_object(p, o, "standing.repositories[]");
				for (size_t j = 0; r == 0 && j < o->obj.n; j++) {
					const struct json_member *f = &o->obj.members[j];

					if (strcmp(f->key, "uri") == 0)
						r = get_name(p, f->value, "uri", &rp->uri);
					else if (strcmp(f->key, "suite") == 0)
						r = get_name(p, f->value, "suite", &rp->suite);
					else if (strcmp(f->key, "component") == 0)
						r = get_name(p, f->value, "component", &rp->component);
					else if (strcmp(f->key, "keys") == 0)
						r = get_list(p, f->value, "keys", check_fpr, &rp->keys);
					else
						r = bad(p, f->value,
							"unknown field '%s' in a repository (fields: "
							"uri, suite, component, keys)",
							f->key);
				}
				if (r < 0)
					return r;
				if (!rp->uri || !rp->suite || rp->keys.n == 0)
					return bad(p, o, "a repository needs 'uri', 'suite' and at least "
							 "one signing key in 'keys'");
				normalize_fprs(&rp->keys);
			}
		} else {
			return bad(p, x,
				   "unknown field 'standing.%s' (fields: repositories, evidence, "
				   "conffiles, created)",
				   m->key);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_approvals(struct pctx *p, const struct json_value *v, struct cr_doc *d)
{
	if (v->type != JSON_ARRAY || v->arr.n > CR_MAX_LIST)
		return bad(p, v, "'approvals' must be an array of objects");
	d->approvals = calloc(v->arr.n ? v->arr.n : 1, sizeof(*d->approvals));
	if (!d->approvals)
		return -ENOMEM;
	for (size_t k = 0; k < v->arr.n; k++) {
		const struct json_value *o = v->arr.items[k];
		struct cr_approval *a = &d->approvals[d->n_approvals++];
		int r = expect_object(p, o, "approvals[]");

		for (size_t j = 0; r == 0 && j < o->obj.n; j++) {
			const struct json_member *f = &o->obj.members[j];

			if (strcmp(f->key, "account") == 0) {
				r = get_name(p, f->value, "approvals[].account", &a->account);
				if (r == 0)
					r = check_account(p, f->value, "approvals[].account");
			} else if (strcmp(f->key, "role") == 0) {
				enum role role;

				r = get_name(p, f->value, "approvals[].role", &a->role);
				if (r == 0 && role_parse(a->role, &role) < 0)
					r = bad(p, f->value, "'approvals[].role': unknown role '%s'",
						a->role);
			} else if (strcmp(f->key, "time") == 0) {
				r = get_time(p, f->value, "approvals[].time", &a->time_ns);
			} else {
				r = bad(p, f->value,
					"unknown field '%s' in an approval (fields: account, role, time)",
					f->key);
			}
		}
		if (r < 0)
			return r;
		if (!a->account || !a->time_ns)
			return bad(p, o, "an approval needs 'account' and 'time'");
		if (!a->role) {
			a->role = strdup("approver");
			if (!a->role)
				return -ENOMEM;
		}
	}
	return 0;
}

int cr_doc_parse(const struct json_value *v, enum cr_parse_mode mode, const char *file,
		 struct cr_doc *d, struct vg_error *err)
{
	struct pctx p = { .file = file, .err = err };
	static const struct {
		const char *name;
		size_t off;
		size_t max;
	} texts[] = {
		{ "title", offsetof(struct cr_doc, title), 200 },
		{ "description", offsetof(struct cr_doc, description), CR_MAX_TEXT },
		{ "reason", offsetof(struct cr_doc, reason), CR_MAX_TEXT },
		{ "risk", offsetof(struct cr_doc, risk), CR_MAX_TEXT },
		{ "rollback", offsetof(struct cr_doc, rollback), CR_MAX_TEXT },
		{ "test_evidence", offsetof(struct cr_doc, test_evidence), CR_MAX_TEXT },
		{ "expected", offsetof(struct cr_doc, expected), CR_MAX_TEXT },
		{ "justification", offsetof(struct cr_doc, justification), CR_MAX_TEXT },
	};
	int r = 0;

	memset(d, 0, sizeof(*d));
	d->approvals_needed = 1;
	d->approver_role = ROLE_APPROVER;
	if (v->type != JSON_OBJECT)
		return bad(&p, v, "a change record must be a JSON object, not %s",
			   json_type_name(v->type));
	for (size_t i = 0; r == 0 && i < v->obj.n; i++) {
		const struct json_member *m = &v->obj.members[i];
		const struct json_value *x = m->value;
		size_t k;

		for (k = 0; k < ARRAY_SIZE(texts); k++)
			if (strcmp(m->key, texts[k].name) == 0)
				break;
		if (k < ARRAY_SIZE(texts)) {
			r = get_text(&p, x, texts[k].name, texts[k].max,
				     (char **)((char *)d + texts[k].off));
		} else if (strcmp(m->key, "id") == 0) {
			r = get_name(&p, x, "id", &d->id);
			for (const char *c = d->id; r == 0 && *c; c++)
				if (*c == ' ' || *c == '/')
					r = bad(&p, x, "'id' must not contain spaces or '/'");
		} else if (strcmp(m->key, "type") == 0) {
			if (x->type != JSON_STRING || cr_type_parse(x->str.s, &d->type) < 0)
				r = bad(&p, x, "'type' must be normal, standard or emergency");
		} else if (strcmp(m->key, "window") == 0) {
			r = parse_window(&p, x, d);
		} else if (strcmp(m->key, "implementers") == 0) {
			r = get_list(&p, x, "implementers", check_account, &d->implementers);
		} else if (strcmp(m->key, "approvers") == 0) {
			r = parse_approvers(&p, x, d);
		} else if (strcmp(m->key, "scope") == 0) {
			r = parse_scope(&p, x, d);
		} else if (strcmp(m->key, "significant") == 0) {
			if (x->type != JSON_BOOL)
				r = bad(&p, x, "'significant' must be true or false");
			else
				d->significant = x->b;
		} else if (strcmp(m->key, "standing") == 0) {
			r = parse_standing(&p, x, d);
		} else if (mode != CR_PARSE_NEW && strcmp(m->key, "requester") == 0) {
			r = get_name(&p, x, "requester", &d->requester);
			if (r == 0)
				r = check_account(&p, x, "requester");
		} else if (mode != CR_PARSE_NEW && strcmp(m->key, "source") == 0) {
			r = get_name(&p, x, "source", &d->source);
			if (r == 0 && (strcmp(d->source, "local") == 0 || strcmp(d->source, "uuid") == 0 ||
				       strchr(d->source, '/') || strchr(d->source, ' ')))
				r = bad(&p, x, "'source' must name the system the record comes from "
					       "(not 'local' or 'uuid'; no spaces or '/')");
		} else if (mode != CR_PARSE_NEW && strcmp(m->key, "revision") == 0) {
			if (x->type != JSON_INT || x->i < 1)
				r = bad(&p, x, "'revision' must be a whole number from 1");
			else
				d->revision = x->i;
		} else if (mode != CR_PARSE_NEW && strcmp(m->key, "state") == 0) {
			enum cr_state st;

			r = get_name(&p, x, "state", &d->state);
			if (r == 0 && cr_state_parse(d->state, &st) < 0)
				r = bad(&p, x, "'state': unknown state '%s'", d->state);
		} else if (mode != CR_PARSE_NEW && strcmp(m->key, "approvals") == 0) {
			r = parse_approvals(&p, x, d);
		} else {
			r = bad(&p, x,
				mode == CR_PARSE_NEW && (strcmp(m->key, "source") == 0 ||
							 strcmp(m->key, "revision") == 0 ||
							 strcmp(m->key, "approvals") == 0 ||
							 strcmp(m->key, "state") == 0 ||
							 strcmp(m->key, "requester") == 0)
					? "field '%s' belongs to imported records (vigil change import)"
					: "unknown field '%s'",
				m->key);
		}
	}
	if (r == 0 && mode == CR_PARSE_IMPORT) {
		static const char *const need[] = { "source", "id", "revision", "state", "requester" };
		const void *have[] = { d->source, d->id, d->revision ? d : NULL, d->state,
				       d->requester };

		for (size_t i = 0; r == 0 && i < ARRAY_SIZE(need); i++)
			if (!have[i])
				r = bad(&p, v, "an imported record needs '%s'", need[i]);
	}
	if (r < 0)
		cr_doc_release(d);
	return r;
}

int cr_doc_parse_text(const char *text, size_t n, enum cr_parse_mode mode, const char *file,
		      struct cr_doc *d, struct vg_error *err)
{
	struct json_value *v = NULL;
	int r = json_parse(text, n, NULL, file, &v, err);

	if (r == 0)
		r = cr_doc_parse(v, mode, file, d, err);
	json_value_free(v);
	return r;
}

int cr_doc_validate(const struct cr_doc *d, const char *file, struct vg_error *err)
{
	const char *f = file ? file : "";

	if (!d->title || !*d->title)
		return vg_error_set(err, -EINVAL, f, 0, 0, "a change record needs a 'title'");
	if (d->type != CR_EMERGENCY && !d->has_window)
		return vg_error_set(err, -EINVAL, f, 0, 0,
				    "a %s change record needs a 'window' (UTC start and end)",
				    cr_type_name(d->type));
	if (d->paths.n + d->packages.n + d->units.n + d->config.n == 0)
		return vg_error_set(err, -EINVAL, f, 0, 0,
				    "a change record needs a scope: at least one of 'scope.paths', "
				    "'scope.packages', 'scope.units' or 'scope.config'");
	if (d->type == CR_EMERGENCY && (!d->justification || !*d->justification))
		return vg_error_set(err, -EINVAL, f, 0, 0,
				    "an emergency change needs a 'justification', recorded before "
				    "it is implemented");
	if (d->type != CR_STANDARD && (d->n_repos || d->evidence || d->conffiles || d->created))
		return vg_error_set(err, -EINVAL, f, 0, 0,
				    "'standing' belongs to standard records (standing "
				    "authorizations) only");
	return 0;
}

/* ---- the stored form ---- */

static void jw_opt_str(struct json_writer *w, const char *key, const char *v)
{
	if (!v)
		return;
	jw_key(w, key);
	jw_str(w, v);
}

static void jw_list(struct json_writer *w, const char *key, const struct cr_list *l)
{
	jw_key(w, key);
	jw_arr_open(w);
	for (size_t i = 0; i < l->n; i++)
		jw_str(w, l->v[i]);
	jw_arr_close(w);
}

static void jw_time(struct json_writer *w, const char *key, int64_t ns)
{
	char t[RFC3339_MAX];

	jw_key(w, key);
	if (time_format_rfc3339(ns, t, sizeof(t)) == 0)
		jw_str(w, t);
	else
		jw_null(w);
}

int cr_doc_json(const struct cr_doc *d, struct buf *out)
{
	struct json_writer w;

	jw_init(&w, out);
	jw_obj_open(&w);
	jw_opt_str(&w, "id", d->id);
	jw_opt_str(&w, "source", d->source);
	if (d->revision) {
		jw_key(&w, "revision");
		jw_i64(&w, d->revision);
	}
	jw_opt_str(&w, "state", d->state);
	jw_opt_str(&w, "title", d->title);
	jw_key(&w, "type");
	jw_str(&w, cr_type_name(d->type));
	jw_opt_str(&w, "description", d->description);
	jw_opt_str(&w, "reason", d->reason);
	jw_opt_str(&w, "risk", d->risk);
	jw_opt_str(&w, "rollback", d->rollback);
	jw_opt_str(&w, "test_evidence", d->test_evidence);
	jw_opt_str(&w, "justification", d->justification);
	if (d->has_window) {
		jw_key(&w, "window");
		jw_obj_open(&w);
		jw_time(&w, "start", d->window_start);
		jw_time(&w, "end", d->window_end);
		jw_obj_close(&w);
	}
	jw_opt_str(&w, "requester", d->requester);
	jw_list(&w, "implementers", &d->implementers);
	jw_key(&w, "approvers");
	jw_obj_open(&w);
	jw_key(&w, "count");
	jw_u64(&w, d->approvals_needed);
	jw_key(&w, "role");
	jw_str(&w, role_name(d->approver_role));
	jw_obj_close(&w);
	jw_key(&w, "scope");
	jw_obj_open(&w);
	jw_list(&w, "hosts", &d->hosts);
	jw_list(&w, "paths", &d->paths);
	jw_list(&w, "packages", &d->packages);
	jw_list(&w, "units", &d->units);
	jw_list(&w, "config", &d->config);
	jw_obj_close(&w);
	jw_opt_str(&w, "expected", d->expected);
	jw_key(&w, "significant");
	jw_bool(&w, d->significant);
	if (d->type == CR_STANDARD) {
		jw_key(&w, "standing");
		jw_obj_open(&w);
		jw_key(&w, "repositories");
		jw_arr_open(&w);
		for (size_t i = 0; i < d->n_repos; i++) {
			jw_obj_open(&w);
			jw_opt_str(&w, "uri", d->repos[i].uri);
			jw_opt_str(&w, "suite", d->repos[i].suite);
			jw_opt_str(&w, "component", d->repos[i].component);
			jw_list(&w, "keys", &d->repos[i].keys);
			jw_obj_close(&w);
		}
		jw_arr_close(&w);
		jw_key(&w, "evidence");
		jw_str(&w, d->evidence ? d->evidence : "signed");
		jw_key(&w, "conffiles");
		jw_bool(&w, d->conffiles);
		jw_key(&w, "created");
		jw_bool(&w, d->created);
		jw_obj_close(&w);
	}
	if (d->n_approvals) {
		jw_key(&w, "approvals");
		jw_arr_open(&w);
		for (size_t i = 0; i < d->n_approvals; i++) {
			jw_obj_open(&w);
			jw_opt_str(&w, "account", d->approvals[i].account);
			jw_opt_str(&w, "role", d->approvals[i].role);
			jw_time(&w, "time", d->approvals[i].time_ns);
			jw_obj_close(&w);
		}
		jw_arr_close(&w);
	}
	jw_obj_close(&w);
	return w.err;
}

/* ---- amendments ---- */

static bool list_within(const struct cr_list *old, const struct cr_list *nw, const char *name,
			char *what, size_t size)
{
	for (size_t i = 0; i < nw->n; i++)
		if (!cr_list_has(old, nw->v[i])) {
			snprintf(what, size, "%s gains '%s'", name, nw->v[i]);
			return false;
		}
	return true;
}

bool cr_doc_widens(const struct cr_doc *old, const struct cr_doc *d, char *what, size_t size)
{
	snprintf(what, size, "nothing");
	if (d->type != old->type) {
		snprintf(what, size, "the type changes from %s to %s", cr_type_name(old->type),
			 cr_type_name(d->type));
		return true;
	}
	if (old->has_window && (!d->has_window || d->window_start < old->window_start ||
				d->window_end > old->window_end)) {
		snprintf(what, size, "the window reaches outside the approved one");
		return true;
	}
	/* an empty host list means every host */
	if (old->hosts.n && (d->hosts.n == 0 || !list_within(&old->hosts, &d->hosts,
							       "scope.hosts", what, size))) {
		if (d->hosts.n == 0)
			snprintf(what, size, "scope.hosts now covers every host");
		return true;
	}
	if (!list_within(&old->paths, &d->paths, "scope.paths", what, size) ||
	    !list_within(&old->packages, &d->packages, "scope.packages", what, size) ||
	    !list_within(&old->units, &d->units, "scope.units", what, size) ||
	    !list_within(&old->config, &d->config, "scope.config", what, size))
		return true;
	/* no implementers means anyone may implement: naming some narrows it */
	if ((old->implementers.n && d->implementers.n == 0) ||
	    (old->implementers.n &&
	     !list_within(&old->implementers, &d->implementers, "implementers", what, size))) {
		if (d->implementers.n == 0)
			snprintf(what, size, "implementers no longer limited");
		return true;
	}
	if (d->approvals_needed < old->approvals_needed || d->approver_role != old->approver_role) {
		snprintf(what, size, "the approvals required change");
		return true;
	}
	if (d->type == CR_STANDARD) {
		/* no repositories: any change in the paths; no paths: any file of a package */
		if ((old->n_repos && !d->n_repos) || (old->paths.n && !d->paths.n)) {
			snprintf(what, size, "the authorization drops its %s",
				 old->n_repos && !d->n_repos ? "repositories" : "paths");
			return true;
		}
		for (size_t i = 0; i < d->n_repos; i++) {
			bool found = false;

			for (size_t k = 0; k < old->n_repos && !found; k++) {
				const struct cr_repo *a = &old->repos[k], *b = &d->repos[i];
				char tmp[512];

				found = strcmp(a->uri, b->uri) == 0 && strcmp(a->suite, b->suite) == 0 &&
					((!a->component && !b->component) ||
					 (a->component && b->component &&
					  strcmp(a->component, b->component) == 0)) &&
					list_within(&a->keys, &b->keys, "keys", tmp, sizeof(tmp));
			}
			if (!found) {
				snprintf(what, size, "a repository or signing key is added");
				return true;
			}
		}
		if ((d->conffiles && !old->conffiles) || (d->created && !old->created)) {
			snprintf(what, size, "the authorization covers more package files");
			return true;
		}
		if (strcmp(d->evidence ? d->evidence : "signed",
			   old->evidence ? old->evidence : "signed") != 0) {
			snprintf(what, size, "the evidence required changes");
			return true;
		}
	}
	return false;
}

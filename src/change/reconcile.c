/*
 * The disposition of each change.  Called from the engine for every change before it
 * is recorded, so it must be cheap when nothing matches: the records that can
 * authorize anything are held parsed in memory, reloaded only when the store says the
 * records moved, and a path is compared with their scopes before anything else is
 * looked at.  The package provenance chain runs only for changes a standing
 * authorization with repositories could cover.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/timeutil.h"
#include "change/account.h"
#include "change/approval.h"
#include "change/provenance.h"
#include "base/json-canon.h"
#include "change/reconcile.h"
#include "change/record.h"
#include "base/banned.h"

#define MAX_ACTIVE 10000	/* records that can authorize at one time */
#define MAX_REASONS 5		/* why the nearest records did not cover a change */

struct active {
	char uuid[37];
	char *source, *ext_id;
	enum cr_state state;
	int64_t revision;
	int64_t started_ns;	/* emergency: when it was started */
	struct cr_doc doc;
};

struct reconciler {
	struct reconcile_opts o;
	char *host_name;
	struct prov_ctx *prov;
	struct active *act;
	size_t n_act;
	int64_t version;
	bool loaded;
};

static void active_clear(struct reconciler *r)
{
	for (size_t i = 0; i < r->n_act; i++) {
		free(r->act[i].source);
		free(r->act[i].ext_id);
		cr_doc_release(&r->act[i].doc);
	}
	free(r->act);
	r->act = NULL;
	r->n_act = 0;
}

int reconciler_new(const struct reconcile_opts *o, struct reconciler **ret)
{
	struct reconciler *r = calloc(1, sizeof(*r));
	int e;

	if (!r)
		return -ENOMEM;
	r->o = *o;
	if (!r->o.package_slack_ns)
		r->o.package_slack_ns = 3600LL * 1000000000;
	r->host_name = strdup(o->host_name ? o->host_name : "");
	if (!r->host_name) {
		free(r);
		return -ENOMEM;
	}
	e = prov_ctx_new(o->root ? o->root : "/", &r->prov);
	if (e < 0) {
		free(r->host_name);
		free(r);
		return e;
	}
	*ret = r;
	return 0;
}

struct reconciler *reconciler_free(struct reconciler *r)
{
	if (!r)
		return NULL;
	active_clear(r);
	prov_ctx_free(r->prov);
	free(r->host_name);
	free(r);
	return NULL;
}

struct start_find {
	int64_t ns;
};

static int find_start(void *ud, const struct store_record_event *e)
{
	struct start_find *sf = ud;

	if (strcmp(e->action, "start") == 0 && !sf->ns)
		sf->ns = e->time_ns;
	return 0;
}

/* Whether a record in state st can authorize changes at all. */
static bool can_authorize(enum cr_type t, enum cr_state st)
{
	if (t == CR_EMERGENCY)
		return st == CR_IN_PROGRESS;
	if (t == CR_STANDARD)
		return st == CR_APPROVED;
	return st == CR_APPROVED || st == CR_IN_PROGRESS;
}

struct load_ctx {
	struct reconciler *r;
	int err;
};

static int load_one(void *ud, const struct store_record *rec)
{
	struct load_ctx *lc = ud;
	struct reconciler *r = lc->r;
	struct active *a;
	enum cr_state st;
	enum cr_type t;
	struct vg_error err;

	if (cr_state_parse(rec->state, &st) < 0 || cr_type_parse(rec->type, &t) < 0 ||
	    !can_authorize(t, st))
		return 0;
	/* an emergency record authorizes once started; any other only once approved */
	if (t != CR_EMERGENCY) {
		bool ok;
		int e = approval_record_approved(r->o.store, rec, &ok);

		if (e < 0)
			return e;
		if (!ok)
			return 0;
	}
	if (r->n_act >= MAX_ACTIVE)
		return -E2BIG;
	if (r->n_act % 16 == 0) {
		struct active *nv = realloc(r->act, (r->n_act + 16) * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		r->act = nv;
	}
	a = &r->act[r->n_act];
	memset(a, 0, sizeof(*a));
	if (cr_doc_parse_text(rec->doc, strlen(rec->doc), CR_PARSE_STORED, "store", &a->doc, &err) <
	    0)
		return 0; /* a stored document that does not parse authorizes nothing */
	memcpy(a->uuid, rec->uuid, sizeof(a->uuid));
	a->state = st;
	a->revision = rec->revision;
	a->source = strdup(rec->source);
	a->ext_id = strdup(rec->ext_id);
	r->n_act++;
	if (!a->source || !a->ext_id)
		return -ENOMEM;
	if (t == CR_EMERGENCY) {
		struct start_find sf = { 0 };
		int e = store_record_event_each(r->o.store, rec->id, find_start, &sf);

		if (e < 0)
			return e;
		a->started_ns = sf.ns;
	}
	return 0;
}

static int refresh(struct reconciler *r)
{
	struct load_ctx lc = { .r = r };
	int64_t v;
	int e = store_record_version(r->o.store, &v);

	if (e < 0)
		return e;
	if (r->loaded && v == r->version)
		return 0;
	active_clear(r);
	e = store_record_each(r->o.store, load_one, &lc);
	if (e < 0) {
		active_clear(r);
		return e;
	}
	r->version = v;
	r->loaded = true;
	return 0;
}

static bool host_in_scope(const struct reconciler *r, const struct cr_doc *d)
{
	if (d->hosts.n == 0)
		return true;
	for (size_t i = 0; i < d->hosts.n; i++)
		if (fnmatch(d->hosts.v[i], r->host_name, 0) == 0)
			return true;
	return false;
}

/* A collected object (KIND:KEY) named by the scope: an entry of scope.config matching
 * it (fnmatch(3), "package:NAME" also of any architecture), a package of scope.packages
 * ("package:NAME:ARCH"), or a unit of scope.units ("unit:NAME", "timer:NAME"). */
static const char *object_in_scope(const struct cr_doc *d, const char *name, size_t len)
{
	for (size_t i = 0; i < d->config.n; i++) {
		const char *e = d->config.v[i];
		size_t el = strlen(e);

		if (fnmatch(e, name, 0) == 0)
			return e;
		if (strncmp(e, "package:", 8) == 0 && !strchr(e + 8, ':') && len > el &&
		    strncmp(name, e, el) == 0 && name[el] == ':')
			return e;
	}
	for (size_t i = 0; i < d->packages.n; i++) {
		size_t pl = strlen(d->packages.v[i]);

		if (len > 8 + pl && strncmp(name, "package:", 8) == 0 &&
		    strncmp(name + 8, d->packages.v[i], pl) == 0 && name[8 + pl] == ':')
			return d->packages.v[i];
	}
	for (size_t i = 0; i < d->units.n; i++) {
		const char *colon = memchr(name, ':', len);

		if (colon && ((colon - name == 4 && strncmp(name, "unit", 4) == 0) ||
			      (colon - name == 5 && strncmp(name, "timer", 5) == 0)) &&
		    strcmp(colon + 1, d->units.v[i]) == 0)
			return d->units.v[i];
	}
	return NULL;
}

static bool is_collected(const char *path, size_t len)
{
	return len && path[0] != '/';
}

static const char *path_in_scope(const struct cr_doc *d, const char *path, size_t len)
{
	if (is_collected(path, len))
		return object_in_scope(d, path, len);
	for (size_t i = 0; i < d->paths.n; i++)
		if (cr_path_match(d->paths.v[i], path, len))
			return d->paths.v[i];
	return NULL;
}

struct verdict {
	struct buf reasons;	/* JSON strings, comma-separated */
	unsigned n_reasons;
};

static void why_not(struct verdict *v, const struct active *a, const char *fmt, ...)
	_printf_(3, 4);

static void why_not(struct verdict *v, const struct active *a, const char *fmt, ...)
{
	char msg[400], line[512];
	struct json_writer w;
	va_list ap;

	if (v->n_reasons >= MAX_REASONS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "%s: %s", a->ext_id, msg);
	if (v->n_reasons)
		buf_puts(&v->reasons, ",");
	jw_init(&w, &v->reasons);
	jw_str(&w, line);
	v->n_reasons++;
}

static void record_ref(struct json_writer *w, const struct active *a)
{
	jw_key(w, "record");
	jw_obj_open(w);
	jw_key(w, "id");
	jw_str(w, a->ext_id);
	jw_key(w, "source");
	jw_str(w, a->source);
	jw_key(w, "uuid");
	jw_str(w, a->uuid);
	jw_key(w, "type");
	jw_str(w, cr_type_name(a->doc.type));
	jw_key(w, "state");
	jw_str(w, cr_state_name(a->state));
	jw_key(w, "revision");
	jw_i64(w, a->revision);
	jw_obj_close(w);
}

static void time_member(struct json_writer *w, const char *key, int64_t ns)
{
	char t[RFC3339_MAX];

	jw_key(w, key);
	if (ns && time_format_rfc3339(ns, t, sizeof(t)) == 0)
		jw_str(w, t);
	else
		jw_null(w);
}

static void prov_json(struct json_writer *w, const struct prov_result *p)
{
	jw_key(w, "package");
	jw_obj_open(w);
	jw_key(w, "evidence");
	jw_str(w, prov_level_name(p->level));
	if (p->package) {
		jw_key(w, "name");
		jw_str(w, p->package);
	}
	if (p->version) {
		jw_key(w, "version");
		jw_str(w, p->version);
	}
	if (p->arch) {
		jw_key(w, "architecture");
		jw_str(w, p->arch);
	}
	if (p->action) {
		jw_key(w, "dpkg_action");
		jw_str(w, p->action);
		time_member(w, "dpkg_time", p->dpkg_ns);
	}
	if (p->deb_path) {
		jw_key(w, "deb");
		jw_str_bytes(w, p->deb_path, strlen(p->deb_path));
	}
	if (p->deb_sha256) {
		jw_key(w, "deb_sha256");
		jw_str(w, p->deb_sha256);
	}
	if (p->repo_uri) {
		jw_key(w, "repository");
		jw_obj_open(w);
		jw_key(w, "uri");
		jw_str_bytes(w, p->repo_uri, strlen(p->repo_uri));
		if (p->suite) {
			jw_key(w, "suite");
			jw_str(w, p->suite);
		}
		if (p->component) {
			jw_key(w, "component");
			jw_str(w, p->component);
		}
		jw_obj_close(w);
	}
	if (p->key_fingerprint) {
		jw_key(w, "signed_by");
		jw_str(w, p->key_fingerprint);
	}
	if (p->conffile) {
		jw_key(w, "conffile");
		jw_bool(w, true);
	}
	jw_obj_close(w);
}

/* The account of a login uid, for the implementer check: 1 found (name in out). */
static int account_of_uid(struct reconciler *r, uint32_t uid, char *out, size_t size)
{
	struct store_account a = { 0 };
	char user[64];
	int e;

	if (account_user_of_uid(uid, user, sizeof(user)) < 0)
		return 0;
	e = store_account_get(r->o.store, user, true, &a);
	if (e == 1 && a.disabled_ns)
		e = 0; /* a disabled account implements nothing */
	if (e == 1)
		snprintf(out, size, "%s", a.name);
	store_account_release(&a);
	return e;
}

static int check_package(struct reconciler *r, const struct active *a,
			 const struct engine_reconcile *rc, const struct prov_repo *repos,
			 size_t n_repos, struct prov_result *pr)
{
	const char *ev = a->doc.evidence ? a->doc.evidence : "signed";
	const uint8_t *sha = NULL;
	char path[4096];
	struct prov_query q = {
		.path = path,
		.change_ns = rc->detected_ns,
		.slack_ns = r->o.package_slack_ns,
		.allowed = repos,
		.n_allowed = n_repos,
		.accept_weaker = strcmp(ev, "signed") != 0,
		.cover_conffiles = a->doc.conffiles,
		.cover_created = a->doc.created,
	};

	if (rc->path_len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, rc->path, rc->path_len);
	path[rc->path_len] = '\0';
	if (is_collected(rc->path, rc->path_len)) {
		/* a package object: the version now installed, proven from the repositories */
		char version[256];

		q.package = path + 8;
		if (rc->state_after &&
		    json_top_string(rc->state_after, strlen(rc->state_after), "version", version,
				    sizeof(version)) == 0)
			q.version = version;
		return prov_check(r->prov, &q, pr);
	}
	if (rc->after && (rc->after->type == OBJ_DIR || rc->after->type == OBJ_SYMLINK)) {
		q.no_content = true;
	} else if (rc->after) {
		if (!(rc->after->attrs & ATTR_BIT(ATTR_SHA256)) && rc->after->type == OBJ_FILE) {
			pr->reason = strdup("the rule does not hash this file's content (sha256), so "
					    "package content cannot be compared");
			return pr->reason ? 0 : -ENOMEM;
		}
		if (rc->after->type == OBJ_FILE)
			sha = rc->after->sha256;
	}
	q.sha256 = sha;
	return prov_check(r->prov, &q, pr);
}

/* Whether standing authorization a covers the change; fills the evidence when so. */
static int try_standing(struct reconciler *r, const struct active *a, struct engine_reconcile *rc,
			struct verdict *v, bool *ret)
{
	const struct cr_doc *d = &a->doc;
	const char *pattern = path_in_scope(d, rc->path, rc->path_len);
	struct prov_result pr = { 0 };
	struct prov_repo *repos = NULL;
	struct json_writer w;
	int e = 0;

	bool collected = is_collected(rc->path, rc->path_len);
	/* a package object is proven from the authorization's repositories */
	bool package = collected && rc->path_len > 8 && strncmp(rc->path, "package:", 8) == 0;

	*ret = false;
	if (collected && !pattern && !(package && d->n_repos))
		return 0;
	if (!collected && d->paths.n && !pattern)
		return 0;
	if (!collected && !d->paths.n && !d->n_repos)
		return 0;
	if (d->has_window && (rc->detected_ns < d->window_start || rc->detected_ns > d->window_end)) {
		why_not(v, a, "outside the authorization's validity");
		return 0;
	}
	if (d->n_repos && (!collected || package)) {
		repos = calloc(d->n_repos, sizeof(*repos));
		if (!repos)
			return -ENOMEM;
		for (size_t i = 0; i < d->n_repos; i++)
			repos[i] = (struct prov_repo){
				.uri = d->repos[i].uri,
				.suite = d->repos[i].suite,
				.component = d->repos[i].component,
				.fingerprints = (const char *const *)d->repos[i].keys.v,
				.n_fingerprints = d->repos[i].keys.n,
			};
		e = check_package(r, a, rc, repos, d->n_repos, &pr);
		if (e < 0)
			goto out;
		/* "content" accepts a missing signature, never unproven content: a file whose
		 * level stayed "owned" is covered only by a fully signed chain (a covered
		 * conffile or a file made by a maintainer script) or by "owned" itself */
		if (pr.authorized && d->evidence && strcmp(d->evidence, "content") == 0 &&
		    pr.level < PROV_CONTENT && !(pr.key_fingerprint && pr.deb_path) &&
		    !(rc->after && (rc->after->type == OBJ_DIR || rc->after->type == OBJ_SYMLINK))) {
			pr.authorized = false;
			free(pr.reason);
			pr.reason = strdup("the authorization asks for content evidence; only the "
					   "package's ownership of the file is proven");
		}
		if (!pr.authorized) {
			/* the evidence level is kept either way */
			if (pr.package || pattern)
				why_not(v, a, "package evidence '%s': %s", prov_level_name(pr.level),
					pr.reason ? pr.reason : "insufficient");
			goto out;
		}
	}
	*ret = true;
	snprintf(rc->record_uuid, sizeof(rc->record_uuid), "%s", a->uuid);
	jw_init(&w, rc->evidence);
	jw_obj_open(&w);
	jw_key(&w, "by");
	jw_str(&w, "standing_authorization");
	record_ref(&w, a);
	if (pattern) {
		jw_key(&w, collected ? "scope_entry" : "path_pattern");
		jw_str(&w, pattern);
	}
	if (d->n_repos && (!collected || package))
		prov_json(&w, &pr);
	jw_obj_close(&w);
	e = w.err;
out:
	free(repos);
	prov_result_release(&pr);
	return e;
}

/* Whether record a (normal or emergency) covers the change. */
static int try_record(struct reconciler *r, const struct active *a, struct engine_reconcile *rc,
		      struct verdict *v, bool *ret)
{
	const struct cr_doc *d = &a->doc;
	const char *pattern = path_in_scope(d, rc->path, rc->path_len);
	bool collected = is_collected(rc->path, rc->path_len);
	char who[64] = "";
	struct prov_result pr = { 0 };
	bool by_package = false;
	struct json_writer w;
	int e;

	*ret = false;
	if (!pattern && d->packages.n && !collected) {
		/* a file of a package the record names */
		e = check_package(r, a, rc, NULL, 0, &pr);
		if (e < 0)
			return e;
		by_package = pr.package && cr_list_has(&d->packages, pr.package);
		if (!by_package) {
			prov_result_release(&pr);
			return 0;
		}
		/* a file of the package changes because dpkg worked on the package: without
		 * that, the record does not explain it */
		if (!pr.dpkg_ns) {
			why_not(v, a, "a file of package '%s', but dpkg did not install, upgrade or "
				      "remove it near the change",
				pr.package);
			goto out;
		}
	} else if (!pattern) {
		return 0;
	}
	if (d->has_window && (rc->detected_ns < d->window_start || rc->detected_ns > d->window_end)) {
		why_not(v, a, "in scope but outside its window");
		goto out;
	}
	if (d->type == CR_EMERGENCY && !a->started_ns && !d->has_window) {
		/* imported in progress without a start or a window: no time to hold it to */
		why_not(v, a, "in scope but the emergency change has no recorded start or window");
		goto out;
	}
	if (d->type == CR_EMERGENCY && a->started_ns && rc->detected_ns < a->started_ns) {
		why_not(v, a, "in scope but before the emergency change was started");
		goto out;
	}
	if (d->implementers.n && rc->auid != ENGINE_NO_AUID) {
		e = account_of_uid(r, rc->auid, who, sizeof(who));
		if (e < 0) {
			prov_result_release(&pr);
			return e;
		}
		if (e == 0 || !cr_list_has(&d->implementers, who)) {
			char user[64];

			if (account_user_of_uid(rc->auid, user, sizeof(user)) < 0)
				snprintf(user, sizeof(user), "uid %u", rc->auid);
			why_not(v, a, "in scope and window, but made by %s%s%s, not an implementer",
				e ? "account '" : "Unix user '", e ? who : user, "'");
			goto out;
		}
	}
	*ret = true;
	snprintf(rc->record_uuid, sizeof(rc->record_uuid), "%s", a->uuid);
	jw_init(&w, rc->evidence);
	jw_obj_open(&w);
	jw_key(&w, "by");
	jw_str(&w, "change_record");
	record_ref(&w, a);
	if (pattern) {
		jw_key(&w, collected ? "scope_entry" : "path_pattern");
		jw_str(&w, pattern);
	}
	if (by_package)
		prov_json(&w, &pr);
	if (d->has_window) {
		jw_key(&w, "window");
		jw_obj_open(&w);
		time_member(&w, "start", d->window_start);
		time_member(&w, "end", d->window_end);
		jw_obj_close(&w);
	}
	jw_key(&w, "implementer");
	if (who[0])
		jw_str(&w, who);
	else
		jw_null(&w);
	if (rc->auid == ENGINE_NO_AUID) {
		jw_key(&w, "actor_known");
		jw_bool(&w, false);
	}
	jw_obj_close(&w);
	prov_result_release(&pr);
	return w.err;
out:
	prov_result_release(&pr);
	return 0;
}

int reconciler_engine_hook(void *ud, struct engine_reconcile *rc)
{
	struct reconciler *r = ud;
	struct verdict v = { 0 };
	bool ok = false;
	int e;

	rc->authorized = false;
	e = refresh(r);
	if (e < 0)
		return e;
	buf_init(&v.reasons, 64 * 1024);
	/* change records first, then standing authorizations: a record names a person */
	for (int pass = 0; pass < 2 && !ok; pass++)
		for (size_t i = 0; i < r->n_act && !ok; i++) {
			const struct active *a = &r->act[i];

			if ((a->doc.type == CR_STANDARD) != (pass == 1) || !host_in_scope(r, &a->doc))
				continue;
			e = pass ? try_standing(r, a, rc, &v, &ok) : try_record(r, a, rc, &v, &ok);
			if (e < 0)
				goto out;
		}
	rc->authorized = ok;
	if (!ok) {
		struct json_writer w;

		buf_reset(rc->evidence);
		jw_init(&w, rc->evidence);
		jw_obj_open(&w);
		jw_key(&w, "checked");
		jw_u64(&w, r->n_act);
		jw_key(&w, "reasons");
		jw_arr_open(&w);
		if (v.reasons.len)
			jw_raw(&w, v.reasons.data);
		jw_arr_close(&w);
		jw_obj_close(&w);
		e = w.err;
	}
out:
	buf_release(&v.reasons);
	return e;
}

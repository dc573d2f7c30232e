/*
 * Which record approves a piece of configuration.  Read at load time (rules, policies),
 * so a plain walk over the records is enough: there are few of them.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "change/approval.h"
#include "change/record.h"
#include "base/banned.h"

struct find {
	struct store *s;
	const char *host;
	const char *key;
	int64_t now;
	char *out;
	size_t size;
	bool found;
};

struct hist {
	bool approved, refused;
};

static int hist_one(void *ud, const struct store_record_event *e)
{
	struct hist *h = ud;
	enum cr_state st;

	if (cr_state_parse(e->to_state, &st) < 0)
		return 0;
	if (st == CR_REJECTED || st == CR_CANCELLED)
		h->refused = true;
	/* an import counts when it brought approvals, checked then (a signed document) */
	if (st == CR_APPROVED || st == CR_RETRO_APPROVED ||
	    (strcmp(e->action, "import") == 0 && strstr(e->detail, "\"approved\":true")))
		h->approved = true;
	return 0;
}

int approval_record_approved(struct store *s, const struct store_record *rec, bool *ret)
{
	struct hist h = { 0 };
	int r = store_record_event_each(s, rec->id, hist_one, &h);

	if (r < 0)
		return r;
	*ret = h.approved && !h.refused;
	return 0;
}

static bool in_force(enum cr_type t, enum cr_state st)
{
	switch (st) {
	case CR_APPROVED:
	case CR_RETRO_APPROVED:
		return true;
	case CR_IN_PROGRESS:
	case CR_IMPLEMENTED:
	case CR_REVIEWED:
	case CR_CLOSED:
		/* an emergency change in progress has not been approved yet */
		return t != CR_EMERGENCY || st != CR_IN_PROGRESS;
	default:
		return false;
	}
}

static int one(void *ud, const struct store_record *rec)
{
	struct find *f = ud;
	struct cr_doc d;
	struct vg_error err;
	enum cr_state st;
	enum cr_type t;

	if (f->found || cr_state_parse(rec->state, &st) < 0 || cr_type_parse(rec->type, &t) < 0 ||
	    !in_force(t, st))
		return 0;
	/* a closed standing authorization was retired */
	if (t == CR_STANDARD && st == CR_CLOSED)
		return 0;
	{
		bool ok;
		int r = approval_record_approved(f->s, rec, &ok);

		if (r < 0)
			return r;
		if (!ok)
			return 0;
	}
	if (cr_doc_parse_text(rec->doc, strlen(rec->doc), CR_PARSE_STORED, "store", &d, &err) < 0)
		return 0;
	if (d.has_window && (f->now < d.window_start || f->now > d.window_end)) {
		cr_doc_release(&d);
		return 0;
	}
	if (d.hosts.n) {
		bool here = false;

		for (size_t i = 0; i < d.hosts.n && !here; i++)
			here = fnmatch(d.hosts.v[i], f->host, 0) == 0;
		if (!here) {
			cr_doc_release(&d);
			return 0;
		}
	}
	for (size_t i = 0; i < d.config.n && !f->found; i++)
		if (fnmatch(d.config.v[i], f->key, 0) == 0) {
			if (strcmp(rec->source, "local") == 0)
				snprintf(f->out, f->size, "%s", rec->ext_id);
			else
				snprintf(f->out, f->size, "%s/%s", rec->source, rec->ext_id);
			f->found = true;
		}
	cr_doc_release(&d);
	return 0;
}

int approval_find(struct store *s, const char *host, const char *key, int64_t now_ns, char *out,
		  size_t size)
{
	struct find f = { .s = s, .host = host, .key = key, .now = now_ns, .out = out, .size = size };
	int r = store_record_each(s, one, &f);

	if (r < 0)
		return r;
	return f.found ? 1 : 0;
}

/*
 * The review packet: matched changes from the store's link between changes and
 * records, unexpected ones from the changes of the window compared with the scope,
 * unobserved ones from the literal paths of the scope.  Bounded: a packet lists at
 * most CR_PACKET_MAX discrepancies and counts the rest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/escape.h"
#include "change/review.h"
#include "base/banned.h"

#define CR_PACKET_MAX 1000

struct walk {
	const char *uuid;
	const struct cr_doc *doc;
	int64_t to_ns;
	struct cr_packet *p;
	char **seen;		/* paths the record authorized a change of */
	size_t n_seen;
};

static int add(struct cr_packet *p, const char *key, const char *text)
{
	struct cr_discrepancy *d;

	if (p->n >= CR_PACKET_MAX) {
		p->n_more++;
		return 0;
	}
	if (p->n % 32 == 0) {
		struct cr_discrepancy *nv = realloc(p->d, (p->n + 32) * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		p->d = nv;
	}
	d = &p->d[p->n];
	d->key = strdup(key);
	d->text = strdup(text);
	if (!d->key || !d->text) {
		free(d->key);
		free(d->text);
		return -ENOMEM;
	}
	p->n++;
	return 0;
}

static int on_matched(void *ud, const struct store_change_row *c)
{
	struct walk *w = ud;
	char **nv;

	w->p->n_matched++;
	if (w->n_seen >= 100000)
		return 0;
	nv = realloc(w->seen, (w->n_seen + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	w->seen = nv;
	w->seen[w->n_seen] = strndup(c->path, c->path_len);
	if (!w->seen[w->n_seen])
		return -ENOMEM;
	w->n_seen++;
	return 0;
}

static int on_window(void *ud, const struct store_change_row *c)
{
	struct walk *w = ud;
	struct buf path;
	char text[1200];
	bool in_scope = false;
	int r;

	if (c->detected_ns > w->to_ns)
		return 0;
	if (c->record_uuid && strcmp(c->record_uuid, w->uuid) == 0)
		return 0;
	for (size_t i = 0; i < w->doc->paths.n && !in_scope; i++)
		in_scope = cr_path_match(w->doc->paths.v[i], c->path, c->path_len);
	if (!in_scope)
		return 0;
	buf_init(&path, 8192);
	r = escape_bytes(&path, c->path, c->path_len);
	if (r == 0) {
		snprintf(text, sizeof(text), "unexpected: %s %s (%s%s)", c->change, buf_str(&path),
			 c->disposition,
			 c->record_uuid ? ", by another record" : ", not covered by this record");
		r = add(w->p, c->uuid, text);
	}
	buf_release(&path);
	return r;
}

int cr_review_packet(struct store *s, int64_t host, const char *record_uuid,
		     const struct cr_doc *doc, int64_t from_ns, int64_t to_ns,
		     struct cr_packet *ret)
{
	struct cr_packet p = { 0 };
	struct walk w = { .uuid = record_uuid, .doc = doc, .to_ns = to_ns, .p = &p };
	int r;

	r = store_changes_by_record(s, host, record_uuid, on_matched, &w);
	if (r == 0)
		r = store_changes_each(s, host, from_ns, 0, on_window, &w);
	for (size_t i = 0; r == 0 && i < doc->paths.n; i++) {
		const char *pat = doc->paths.v[i];
		bool seen = false;
		char key[4200], text[4300];

		if (!cr_pattern_literal(pat))
			continue;
		for (size_t k = 0; k < w.n_seen && !seen; k++)
			seen = strcmp(w.seen[k], pat) == 0;
		if (seen)
			continue;
		snprintf(key, sizeof(key), "expected:%s", pat);
		snprintf(text, sizeof(text), "unobserved: %s was expected to change but no change "
					     "to it was authorized by this record", pat);
		r = add(&p, key, text);
	}
	for (size_t i = 0; i < w.n_seen; i++)
		free(w.seen[i]);
	free(w.seen);
	if (r < 0) {
		cr_packet_release(&p);
		return r;
	}
	*ret = p;
	return 0;
}

void cr_packet_release(struct cr_packet *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->d[i].key);
		free(p->d[i].text);
	}
	free(p->d);
	memset(p, 0, sizeof(*p));
}

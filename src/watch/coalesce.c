/* The coalescing table of coalesce.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/macro.h"
#include "base/strmap.h"
#include "watch/coalesce.h"
#include "base/banned.h"

#define CLOSE_GRACE_NS (4 * 1000 * 1000LL)

struct coalesce {
	pthread_mutex_t mu;
	struct strmap map;	/* path -> pending_obj */
	struct pending_obj *head, *tail;	/* in order of first event */
	int64_t settle_ns, max_delay_ns;
	size_t limit;
};

const char *wev_name(unsigned bit)
{
	static const char *const names[] = { "create",	 "delete", "moved_from", "moved_to",
					     "modify",	 "close_write", "attrib" };

	return bit < ARRAY_SIZE(names) ? names[bit] : "other";
}

int coalesce_new(int64_t settle_ns, int64_t max_delay_ns, size_t limit, struct coalesce **ret)
{
	struct coalesce *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	c->settle_ns = settle_ns;
	c->max_delay_ns = max_delay_ns;
	c->limit = limit;
	*ret = c;
	return 0;
}

void pending_obj_free(struct pending_obj *p)
{
	if (!p)
		return;
	if (p->has_actor)
		actor_release(&p->actor);
	free(p->path);
	free(p);
}

static void unlink_obj(struct coalesce *c, struct pending_obj *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		c->head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		c->tail = p->prev;
	p->prev = p->next = NULL;
}

size_t coalesce_clear(struct coalesce *c)
{
	size_t n;

	pthread_mutex_lock(&c->mu);
	n = c->map.n;
	strmap_release(&c->map, NULL);
	while (c->head) {
		struct pending_obj *p = c->head;

		unlink_obj(c, p);
		pending_obj_free(p);
	}
	pthread_mutex_unlock(&c->mu);
	return n;
}

struct coalesce *coalesce_free(struct coalesce *c)
{
	if (!c)
		return NULL;
	coalesce_clear(c);
	pthread_mutex_destroy(&c->mu);
	free(c);
	return NULL;
}

static bool settled(const struct coalesce *c, const struct pending_obj *p, int64_t now,
		    int64_t *when)
{
	int64_t t;

	if (p->mask & WEV_CLOSE_WRITE && !p->written) {
		/* a closed write is read at once, but for a moment's grace: programs such as
		 * install and cp -p set the mode, owner or times right after closing */
		t = p->last_ns + (c->settle_ns < CLOSE_GRACE_NS ? c->settle_ns : CLOSE_GRACE_NS);
		*when = t;
		return t <= now;
	}
	t = p->last_ns + c->settle_ns;
	if (p->first_ns + c->max_delay_ns < t)
		t = p->first_ns + c->max_delay_ns;
	*when = t;
	return t <= now;
}

int coalesce_add(struct coalesce *c, const char *path, size_t len, uint32_t mask, bool subtree,
		 const struct actor *actor, int64_t now_ns, int64_t real_ns)
{
	struct pending_obj *p;
	int64_t when;
	int r = 0;

	pthread_mutex_lock(&c->mu);
	p = strmap_get(&c->map, path, len);
	if (!p) {
		if (c->map.n >= c->limit) {
			r = -ENOSPC;
			goto out;
		}
		p = calloc(1, sizeof(*p));
		if (!p || !(p->path = strndup(path, len))) {
			free(p);
			r = -ENOMEM;
			goto out;
		}
		p->len = len;
		p->first_ns = now_ns;
		p->first_real_ns = real_ns;
		r = strmap_put(&c->map, path, len, p, NULL);
		if (r < 0) {
			pending_obj_free(p);
			goto out;
		}
		p->prev = c->tail;
		if (c->tail)
			c->tail->next = p;
		else
			c->head = p;
		c->tail = p;
	}
	p->mask |= mask;
	p->subtree |= subtree;
	p->last_ns = now_ns;
	if (mask & WEV_MODIFY)
		p->written = true;
	if (mask & WEV_CLOSE_WRITE)
		p->written = false;
	if (actor) {
		struct actor copy;

		if (actor_copy(&copy, actor) == 0) {
			if (p->has_actor)
				actor_release(&p->actor);
			p->actor = copy;
			p->has_actor = true;
		}
	}
	r = settled(c, p, now_ns, &when) ? 1 : 0;
out:
	pthread_mutex_unlock(&c->mu);
	return r;
}

size_t coalesce_take(struct coalesce *c, int64_t now_ns, struct pending_obj **out, size_t max,
		     int64_t *next_ns)
{
	size_t n = 0;

	*next_ns = INT64_MAX;
	pthread_mutex_lock(&c->mu);
	for (struct pending_obj *p = c->head, *nx; p; p = nx) {
		int64_t when;

		nx = p->next;
		if (!settled(c, p, now_ns, &when)) {
			if (when < *next_ns)
				*next_ns = when;
			continue;
		}
		if (n == max) {
			*next_ns = now_ns;
			break;
		}
		unlink_obj(c, p);
		strmap_remove(&c->map, p->path, p->len);
		out[n++] = p;
	}
	pthread_mutex_unlock(&c->mu);
	return n;
}

size_t coalesce_count(struct coalesce *c)
{
	size_t n;

	pthread_mutex_lock(&c->mu);
	n = c->map.n;
	pthread_mutex_unlock(&c->mu);
	return n;
}

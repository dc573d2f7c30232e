/* The string map of strmap.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/macro.h"
#include "base/strmap.h"
#include "base/banned.h"

uint64_t strmap_hash(const void *key, size_t len)
{
	/* FNV-1a, then a final mix so the low bits (the slot index) depend on every byte */
	const uint8_t *p = key;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static struct strmap_slot *find(const struct strmap *m, const void *key, size_t len, uint64_t h)
{
	size_t mask = m->cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct strmap_slot *s = &m->slots[i];

		if (!s->key)
			return s;
		if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
			return s;
	}
}

void *strmap_get(const struct strmap *m, const void *key, size_t len)
{
	struct strmap_slot *s;

	if (m->n == 0)
		return NULL;
	s = find(m, key, len, strmap_hash(key, len));
	return s->key ? s->value : NULL;
}

static int grow(struct strmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct strmap_slot *old = m->slots, *nv = calloc(cap, sizeof(*nv));
	size_t oldcap = m->cap;

	if (!nv)
		return -ENOMEM;
	m->slots = nv;
	m->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			*find(m, old[i].key, old[i].len, old[i].hash) = old[i];
	free(old);
	return 0;
}

int strmap_put(struct strmap *m, const void *key, size_t len, void *value, void **old)
{
	uint64_t h = strmap_hash(key, len);
	struct strmap_slot *s;

	if (old)
		*old = NULL;
	if ((m->n + 1) * 4 > m->cap * 3) {
		int r = grow(m);

		if (r < 0)
			return r;
	}
	s = find(m, key, len, h);
	if (s->key) {
		if (old)
			*old = s->value;
		s->value = value;
		return 0;
	}
	s->key = malloc(len + 1);
	if (!s->key)
		return -ENOMEM;
	memcpy(s->key, key, len);
	s->key[len] = '\0';
	s->len = len;
	s->hash = h;
	s->value = value;
	m->n++;
	return 0;
}

void *strmap_remove(struct strmap *m, const void *key, size_t len)
{
	size_t mask = m->cap - 1, i, j;
	struct strmap_slot *s;
	void *v;

	if (m->n == 0)
		return NULL;
	s = find(m, key, len, strmap_hash(key, len));
	if (!s->key)
		return NULL;
	v = s->value;
	free(s->key);
	s->key = NULL;
	m->n--;
	/* shift back the entries of the probe run that follows, so no lookup stops early */
	i = (size_t)(s - m->slots);
	for (j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
		size_t home = m->slots[j].hash & mask;

		/* the entry at j may move to i when i lies cyclically in [home, j) */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			m->slots[i] = m->slots[j];
			m->slots[j].key = NULL;
			i = j;
		}
	}
	return v;
}

void strmap_release(struct strmap *m, void (*free_value)(void *))
{
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->slots[i].key)
			continue;
		free(m->slots[i].key);
		if (free_value)
			free_value(m->slots[i].value);
	}
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}

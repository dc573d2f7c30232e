/*
 * A hash map from byte strings to pointers: open addressing with linear probing and
 * backward-shift deletion, so lookups never allocate and a map that shrank holds no
 * tombstones.  Keys are copied in; values are the caller's.
 */
#ifndef VIGIL_BASE_STRMAP_H
#define VIGIL_BASE_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap_slot {
	uint64_t hash;
	char *key;	/* NULL: empty slot */
	size_t len;
	void *value;
};

struct strmap {
	struct strmap_slot *slots;
	size_t cap;	/* a power of two, or 0 */
	size_t n;
};

uint64_t strmap_hash(const void *key, size_t len);
void *strmap_get(const struct strmap *m, const void *key, size_t len);
/* Adds or replaces; the previous value (or NULL) goes to *old when old is given. */
int strmap_put(struct strmap *m, const void *key, size_t len, void *value, void **old);
/* Removes key and returns its value (NULL when absent). */
void *strmap_remove(struct strmap *m, const void *key, size_t len);
/* Frees the map's memory (and each value with free_value, when given). */
void strmap_release(struct strmap *m, void (*free_value)(void *));

#endif

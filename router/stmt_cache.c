/*
 * stmt_cache — chained hash table plus an LRU list, bounded in entries and bytes.
 *
 * An entry is one allocation: header, value (8-byte aligned), key. The full
 * 64-bit hash is kept so a chain walk compares texts only on a real hash
 * match. The bucket array is sized once for max_entries (capped), so the
 * table never rehashes while a worker is serving.
 */
#include "router/stmt_cache.h"

#include <stdlib.h>
#include <string.h>

/* Buckets beyond this many would be mostly empty memory; chains just grow. */
#define MAX_BUCKETS (1u << 20)

struct entry {
	struct entry *chain;  /* next in the bucket */
	struct entry *newer;  /* LRU neighbours; the list runs newest -> oldest */
	struct entry *older;
	uint64_t hash;
	size_t klen;
	size_t vlen;
	size_t bytes;         /* what this entry counts against max_bytes */
};

struct stmt_cache {
	struct entry **buckets;
	size_t mask;
	struct entry *newest;
	struct entry *oldest;
	size_t entries, bytes;
	size_t max_entries, max_bytes, max_entry_bytes;
	uint64_t seed;
};

static size_t round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static unsigned char *entry_value(struct entry *e)
{
	return (unsigned char *)(e + 1);
}

static char *entry_key(struct entry *e)
{
	return (char *)entry_value(e) + round8(e->vlen);
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ULL;
	h ^= h >> 32;
	return h;
}

/* Two independent lanes over 16-byte strides keep the multiplier pipeline busy. */
static uint64_t hash_bytes(uint64_t seed, const char *s, size_t n)
{
	uint64_t a = seed ^ 0x9e3779b97f4a7c15ULL, b = seed + n * 0xbf58476d1ce4e5b9ULL;
	while (n >= 16) {
		uint64_t x, y;
		memcpy(&x, s, 8);
		memcpy(&y, s + 8, 8);
		a = (a ^ x) * 0x94d049bb133111ebULL;
		b = (b ^ y) * 0xbf58476d1ce4e5b9ULL;
		a ^= a >> 29;
		b ^= b >> 31;
		s += 16;
		n -= 16;
	}
	uint64_t x = 0, y = 0;
	memcpy(&x, s, n < 8 ? n : 8);
	if (n > 8)
		memcpy(&y, s + 8, n - 8);
	a = (a ^ x) * 0x94d049bb133111ebULL;
	b = (b ^ y) * 0xbf58476d1ce4e5b9ULL;
	return mix(a ^ (b >> 1) ^ (b << 63));
}

struct stmt_cache *stmt_cache_new(size_t max_entries, size_t max_bytes, uint64_t seed)
{
	if (max_entries == 0 || max_bytes == 0)
		return NULL;
	struct stmt_cache *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	size_t nb = 16;
	while (nb < max_entries && nb < MAX_BUCKETS)
		nb *= 2;
	c->buckets = calloc(nb, sizeof(*c->buckets));
	if (c->buckets == NULL) {
		free(c);
		return NULL;
	}
	c->mask = nb - 1;
	c->max_entries = max_entries;
	c->max_bytes = max_bytes;
	c->max_entry_bytes = max_bytes / 16;
	c->seed = mix(seed) ^ seed;
	return c;
}

static void lru_unlink(struct stmt_cache *c, struct entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void lru_push(struct stmt_cache *c, struct entry *e)
{
	e->newer = NULL;
	e->older = c->newest;
	if (c->newest)
		c->newest->newer = e;
	c->newest = e;
	if (c->oldest == NULL)
		c->oldest = e;
}

static void entry_remove(struct stmt_cache *c, struct entry *e)
{
	struct entry **pp = &c->buckets[e->hash & c->mask];
	while (*pp != e)
		pp = &(*pp)->chain;
	*pp = e->chain;
	lru_unlink(c, e);
	c->entries--;
	c->bytes -= e->bytes;
	free(e);
}

void stmt_cache_free(struct stmt_cache *c)
{
	if (c == NULL)
		return;
	struct entry *e = c->newest;
	while (e != NULL) {
		struct entry *next = e->older;
		free(e);
		e = next;
	}
	free(c->buckets);
	free(c);
}

static struct entry *lookup(struct stmt_cache *c, uint64_t h, const char *key, size_t klen)
{
	for (struct entry *e = c->buckets[h & c->mask]; e != NULL; e = e->chain) {
		if (e->hash == h && e->klen == klen && memcmp(entry_key(e), key, klen) == 0)
			return e;
	}
	return NULL;
}

const void *stmt_cache_get(struct stmt_cache *c, const char *key, size_t klen, size_t *vlen)
{
	struct entry *e = lookup(c, hash_bytes(c->seed, key, klen), key, klen);
	if (e == NULL)
		return NULL;
	if (c->newest != e) {
		lru_unlink(c, e);
		lru_push(c, e);
	}
	*vlen = e->vlen;
	return entry_value(e);
}

const void *stmt_cache_put(struct stmt_cache *c, const char *key, size_t klen, const void *val,
			   size_t vlen)
{
	if (klen > c->max_entry_bytes || vlen > c->max_entry_bytes)
		return NULL;
	size_t bytes = sizeof(struct entry) + round8(vlen) + klen;
	if (bytes > c->max_entry_bytes)
		return NULL;
	uint64_t h = hash_bytes(c->seed, key, klen);
	struct entry *old = lookup(c, h, key, klen);
	if (old != NULL)
		entry_remove(c, old);
	while (c->oldest != NULL && (c->entries >= c->max_entries || c->bytes + bytes > c->max_bytes))
		entry_remove(c, c->oldest);
	struct entry *e = malloc(bytes);
	if (e == NULL)
		return NULL;
	e->hash = h;
	e->klen = klen;
	e->vlen = vlen;
	e->bytes = bytes;
	memcpy(entry_value(e), val, vlen);
	memcpy(entry_key(e), key, klen);
	struct entry **bucket = &c->buckets[h & c->mask];
	e->chain = *bucket;
	*bucket = e;
	lru_push(c, e);
	c->entries++;
	c->bytes += bytes;
	return entry_value(e);
}

size_t stmt_cache_entries(const struct stmt_cache *c)
{
	return c ? c->entries : 0;
}

size_t stmt_cache_bytes(const struct stmt_cache *c)
{
	return c ? c->bytes : 0;
}

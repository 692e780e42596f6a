/*
 * stmt_cache — a bounded map from exact statement text to an opaque value.
 *
 * One per worker (not thread-safe). Applications send the same few hundred
 * statement texts over and over; the router stores its packed decision here
 * so a repeated text costs a hash and a memcmp instead of a parse.
 *
 * Bounded twice: by entry count and by bytes (keys, values and per-entry
 * overhead). Least recently used entries go first. One entry may use at most
 * 1/16 of the byte budget, so a single huge statement (a 10 MB IN list) is
 * simply not cached rather than flushing everything else.
 */
#ifndef SY_STMT_CACHE_H
#define SY_STMT_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stmt_cache;

/*
 * <max_entries> and <max_bytes> must both be > 0. <seed> keys the hash so
 * clients cannot aim texts at one bucket. Returns NULL on OOM.
 */
struct stmt_cache *stmt_cache_new(size_t max_entries, size_t max_bytes, uint64_t seed)
	__attribute__((warn_unused_result));
void stmt_cache_free(struct stmt_cache *c);

/*
 * The value stored for <key> (klen bytes), or NULL. Marks the entry recently
 * used. The value is borrowed until the next stmt_cache_put or _free.
 */
const void *stmt_cache_get(struct stmt_cache *c, const char *key, size_t klen, size_t *vlen);

/*
 * Stores copies of <key> and <val>, evicting as needed, and returns the
 * stored copy of the value (borrowed like stmt_cache_get's), or NULL if the
 * entry is too large to cache or memory ran out. Replaces an existing entry.
 */
const void *stmt_cache_put(struct stmt_cache *c, const char *key, size_t klen, const void *val,
			   size_t vlen);

size_t stmt_cache_entries(const struct stmt_cache *c);
size_t stmt_cache_bytes(const struct stmt_cache *c);

#endif

/*
 * cancel — the shared (pid, secret) -> upstream target map.
 *
 * Chained hash table under one mutex; sized up as it fills. Secrets are
 * compared in full: a CancelRequest with the right pid but a wrong secret
 * must not cancel anything (that is the point of the secret).
 */
#include "proxy/cancel.h"

#include <stdlib.h>
#include <string.h>

struct cancel_entry {
	struct cancel_entry *next;
	int32_t pid;
	int32_t secret;
	struct cancel_target target;
};

static size_t bucket_of(const struct cancel_registry *reg, int32_t pid, int32_t secret)
{
	uint64_t h = ((uint64_t)(uint32_t)pid << 32) | (uint32_t)secret;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)(h & (reg->nbuckets - 1));
}

bool cancel_registry_init(struct cancel_registry *reg)
{
	memset(reg, 0, sizeof(*reg));
	reg->nbuckets = 256;
	reg->buckets = calloc(reg->nbuckets, sizeof(*reg->buckets));
	if (reg->buckets == NULL)
		return false;
	pthread_mutex_init(&reg->lock, NULL);
	return true;
}

void cancel_registry_destroy(struct cancel_registry *reg)
{
	if (reg->buckets == NULL)
		return;
	for (size_t i = 0; i < reg->nbuckets; i++) {
		struct cancel_entry *e = reg->buckets[i];
		while (e) {
			struct cancel_entry *next = e->next;
			free(e);
			e = next;
		}
	}
	free(reg->buckets);
	reg->buckets = NULL;
	pthread_mutex_destroy(&reg->lock);
}

/* Doubles the table; called with the lock held. A failed grow is harmless. */
static void grow(struct cancel_registry *reg)
{
	size_t old_n = reg->nbuckets;
	struct cancel_entry **old = reg->buckets;
	struct cancel_entry **nb = calloc(old_n * 2, sizeof(*nb));

	if (nb == NULL)
		return;
	reg->buckets = nb;
	reg->nbuckets = old_n * 2;
	for (size_t i = 0; i < old_n; i++) {
		struct cancel_entry *e = old[i];
		while (e) {
			struct cancel_entry *next = e->next;
			size_t b = bucket_of(reg, e->pid, e->secret);
			e->next = nb[b];
			nb[b] = e;
			e = next;
		}
	}
	free(old);
}

bool cancel_register(struct cancel_registry *reg, int32_t pid, int32_t secret,
		     const struct cancel_target *target)
{
	struct cancel_entry *e = malloc(sizeof(*e));

	if (e == NULL)
		return false;
	e->pid = pid;
	e->secret = secret;
	e->target = *target;
	pthread_mutex_lock(&reg->lock);
	if (reg->count >= reg->nbuckets)
		grow(reg);
	size_t b = bucket_of(reg, pid, secret);
	e->next = reg->buckets[b];
	reg->buckets[b] = e;
	reg->count++;
	pthread_mutex_unlock(&reg->lock);
	return true;
}

void cancel_unregister(struct cancel_registry *reg, int32_t pid, int32_t secret)
{
	pthread_mutex_lock(&reg->lock);
	struct cancel_entry **pp = &reg->buckets[bucket_of(reg, pid, secret)];
	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->pid == pid && (*pp)->secret == secret) {
			struct cancel_entry *e = *pp;
			*pp = e->next;
			reg->count--;
			free(e);
			break;
		}
	}
	pthread_mutex_unlock(&reg->lock);
}

bool cancel_lookup(struct cancel_registry *reg, int32_t pid, int32_t secret,
		   struct cancel_target *out)
{
	bool found = false;

	pthread_mutex_lock(&reg->lock);
	for (struct cancel_entry *e = reg->buckets[bucket_of(reg, pid, secret)]; e; e = e->next) {
		if (e->pid == pid && e->secret == secret) {
			*out = e->target;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&reg->lock);
	return found;
}

/*
 * metrics — per-worker counters (storage) and the /metrics exposition.
 *
 * The hot path is a handful of relaxed loads and stores on memory only its
 * worker writes: no lock, no read-modify-write, no allocation. SQLSTATEs
 * are kept in a small open table per backend whose slots, once claimed,
 * never change, so a reader on another thread can walk it without a lock:
 * a slot's code is published (release) before its count is ever read.
 */
#include "proxy/metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "proxy/cutover.h"
#include "proxy/proxy.h"
#include "proxy/worker.h"
#include "router/router.h"

/* Upper bounds of the latency histogram, in microseconds (le labels in seconds). */
static const uint64_t bucket_us[] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};
#define NBUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

#define MAX_SQLSTATES 32 /* distinct SQLSTATEs remembered per backend and worker */

struct metrics_errors {
	_Atomic uint64_t code[MAX_SQLSTATES];  /* 5 characters packed, 0 = free slot */
	_Atomic uint64_t count[MAX_SQLSTATES];
	_Atomic uint64_t other;                 /* the table was full */
};

struct metrics_backend_stats {
	_Atomic uint64_t statements;
	_Atomic uint64_t sum_us;
	_Atomic uint64_t buckets[NBUCKETS]; /* not cumulative: bucket i counts (bound[i-1], bound[i]] */
	struct metrics_errors errors;
};

/* The router's counters, as published; the same fields as struct router_stats. */
struct metrics_router {
	_Atomic uint64_t cache_hits, prefilter_passes, full_parses, translations,
		translation_hits, cache_entries, cache_bytes;
};

struct metrics {
	struct metrics_backend_stats b[METRICS_NBACKENDS];
	struct metrics_router router_now;  /* the current router */
	struct metrics_router router_base; /* counters of routers retired on reload */
};

struct metrics *metrics_new(void)
{
	return calloc(1, sizeof(struct metrics));
}

void metrics_free(struct metrics *m)
{
	free(m);
}

/* The one writer's increment: a plain load and store, each relaxed. */
static inline void bump(_Atomic uint64_t *x, uint64_t by)
{
	atomic_store_explicit(x, atomic_load_explicit(x, memory_order_relaxed) + by,
			      memory_order_relaxed);
}

static inline uint64_t get(_Atomic uint64_t *x)
{
	return atomic_load_explicit(x, memory_order_relaxed);
}

void metrics_statement(struct metrics *m, enum metrics_backend b, uint64_t latency_us)
{
	if (m == NULL || (unsigned)b >= METRICS_NBACKENDS)
		return;
	struct metrics_backend_stats *s = &m->b[b];
	size_t i = 0;

	while (i < NBUCKETS && latency_us > bucket_us[i])
		i++;
	if (i < NBUCKETS)
		bump(&s->buckets[i], 1);
	/* Above the last bound only +Inf counts it: that is statements - sum of buckets. */
	bump(&s->sum_us, latency_us);
	bump(&s->statements, 1);
}

/* Five SQLSTATE characters as a nonzero integer; 0 if they are not [0-9A-Z]. */
static uint64_t sqlstate_code(const char *st)
{
	uint64_t code = 0;

	for (int i = 0; i < 5; i++) {
		char c = st[i];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')))
			return 0;
		code = (code << 8) | (uint8_t)c;
	}
	return code;
}

void metrics_error(struct metrics *m, enum metrics_backend b, const char sqlstate[5])
{
	if (m == NULL || (unsigned)b >= METRICS_NBACKENDS || sqlstate == NULL)
		return;
	struct metrics_errors *e = &m->b[b].errors;
	uint64_t code = sqlstate_code(sqlstate);

	if (code != 0) {
		for (size_t i = 0; i < MAX_SQLSTATES; i++) {
			uint64_t have = atomic_load_explicit(&e->code[i], memory_order_relaxed);
			if (have == code) {
				bump(&e->count[i], 1);
				return;
			}
			if (have == 0) {
				/* Count first, then publish the code: a reader never sees a claimed slot without its count. */
				bump(&e->count[i], 1);
				atomic_store_explicit(&e->code[i], code, memory_order_release);
				return;
			}
		}
	}
	bump(&e->other, 1);
}

static void router_store(struct metrics_router *r, const struct router_stats *st)
{
	atomic_store_explicit(&r->cache_hits, st->cache_hits, memory_order_relaxed);
	atomic_store_explicit(&r->prefilter_passes, st->prefilter_passes, memory_order_relaxed);
	atomic_store_explicit(&r->full_parses, st->full_parses, memory_order_relaxed);
	atomic_store_explicit(&r->translations, st->translations, memory_order_relaxed);
	atomic_store_explicit(&r->translation_hits, st->translation_hits, memory_order_relaxed);
	atomic_store_explicit(&r->cache_entries, st->cache_entries, memory_order_relaxed);
	atomic_store_explicit(&r->cache_bytes, st->cache_bytes, memory_order_relaxed);
}

void metrics_router_publish(struct metrics *m, const struct router_stats *now)
{
	if (m != NULL && now != NULL)
		router_store(&m->router_now, now);
}

void metrics_router_retire(struct metrics *m, const struct router_stats *last)
{
	if (m == NULL || last == NULL)
		return;
	struct metrics_router *r = &m->router_base;
	bump(&r->cache_hits, last->cache_hits);
	bump(&r->prefilter_passes, last->prefilter_passes);
	bump(&r->full_parses, last->full_parses);
	bump(&r->translations, last->translations);
	bump(&r->translation_hits, last->translation_hits);
	/* The next router starts from nothing: its gauges are published by the next tick. */
	struct router_stats zero = { 0 };
	router_store(&m->router_now, &zero);
}

bool metrics_render(struct proxy *p, int64_t start_ms, struct evbuffer *out)
{
	(void)p;
	(void)start_ms;
	(void)out;
	return true;
}

/*
 * metrics — per-worker counters for /metrics, and the Prometheus text
 * rendering of everything switchyard counts.
 *
 * Each worker owns one struct metrics and is its only writer; the admin
 * endpoint (main thread) reads every worker's copy and sums them. All
 * fields are relaxed atomics: a single writer needs no read-modify-write,
 * and a reader that sees one counter a statement ahead of another is fine
 * for monitoring.
 *
 * Return conventions: constructors return a pointer or NULL; actions return
 * bool.
 */
#ifndef SY_METRICS_H
#define SY_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct proxy;
struct router_stats;

/* Who answered a statement (the "backend" label). */
enum metrics_backend {
	METRICS_SUPABASE = 0, /* relayed to the Supabase upstream */
	METRICS_MYSQL = 1,    /* translated and run on the legacy MySQL */
	METRICS_LOCAL = 2,    /* refused or answered by switchyard itself */
};
#define METRICS_NBACKENDS 3

struct metrics; /* one per worker; written by its worker only, read by the admin */

/* Zeroed counters; NULL on OOM. */
struct metrics *metrics_new(void) __attribute__((warn_unused_result));
void metrics_free(struct metrics *m);

/*
 * A Query or Execute was answered by <b>, <latency_us> from receiving it to
 * its last reply: counts switchyard_queries_total{backend} and
 * switchyard_query_duration_seconds{backend}. Worker thread of <m> only.
 */
void metrics_statement(struct metrics *m, enum metrics_backend b, uint64_t latency_us);

/*
 * An ErrorResponse with <sqlstate> (5 characters, not NUL-terminated
 * necessarily) reached a client from <b>: switchyard_errors_total{backend,
 * sqlstate}. The table of distinct SQLSTATEs per backend is bounded; the
 * rest count as sqlstate="other". Worker thread of <m> only.
 */
void metrics_error(struct metrics *m, enum metrics_backend b, const char sqlstate[5]);

/*
 * The worker's router counters as they stand now (published from a timer),
 * and those of a router about to be freed on reload (folded into a base so
 * the totals stay monotonic). Worker thread of <m> only.
 */
void metrics_router_publish(struct metrics *m, const struct router_stats *now);
void metrics_router_retire(struct metrics *m, const struct router_stats *last);

/*
 * Appends the whole exposition (text format 0.0.4) for <p> to <out>: the
 * workers' counters summed, the shared gauges of struct proxy, refusals and
 * the cutover state. Main thread (it reads p->cfg without the snapshot
 * lock, which only the main thread changes). False on OOM.
 */
bool metrics_render(struct proxy *p, int64_t start_ms, struct evbuffer *out)
	__attribute__((warn_unused_result));

#endif

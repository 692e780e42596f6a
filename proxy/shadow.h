/*
 * shadow — verification of the cutover: a share of legacy reads
 * ([cutover] shadow_percent) run again on both MySQL and the Supabase copy
 * after the client has its answer, and compared (DESIGN.md rule 6).
 *
 * Off the client's path: the relay builds a request while it routes a read
 * (shadow_sample says whether to), keeps it with the read's pipeline entry
 * and hands it over when the client's answer is complete. One runner thread
 * for the process, at the lowest scheduling priority, takes them from a
 * bounded queue (SHADOW_QUEUE_MAX per worker; a full queue drops the request
 * and counts it) and runs one at a time on connections of its own: one to
 * MySQL, outside any client transaction and the pool, and one to Supabase
 * as [supabase] user. A shadow never delays, fails or holds open anything
 * of a client's; on a machine without spare CPU shadows are dropped.
 *
 * Both sides run with the same fixed value settings (TimeZone UTC,
 * DateStyle ISO, IntervalStyle postgres, extra_float_digits 1, bytea_output
 * hex), so the comparison is of Postgres text values, whatever formats the
 * client asked for: the column count, the row count, and the rows — in
 * order when the statement has a total ORDER BY, else as a multiset. A
 * statement whose rows are not determined (a LIMIT without a total order)
 * or whose result is too large (SHADOW_MAX_ROWS) is skipped, as is one that
 * fails on both sides or cannot reach a side. Outcomes count per table
 * (cutover_note_shadow, which also judges rollback) and per fingerprint
 * (cutover_note_fingerprint); the first mismatch of a fingerprint is logged
 * with both row counts and the first differing row, values redacted unless
 * log_level = "debug".
 *
 * Return conventions: pointers or NULL (out of memory) for constructors,
 * bool for actions.
 */
#ifndef SY_SHADOW_H
#define SY_SHADOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/cutover.h"

#define SHADOW_QUEUE_MAX 64      /* requests waiting per worker; more are dropped */
#define SHADOW_MAX_ROWS 100000   /* a side returning more: skipped */
#define SHADOW_KEEP_ROWS 1000    /* rows kept per side to show the first difference */
#define SHADOW_MAX_BIND 65536    /* a Bind larger than this is not shadowed */
#define SHADOW_TIMEOUT_MS 30000  /* per side */

struct worker;
struct proxy;
struct shadow;
struct shadow_req;
struct shadow_runner;

/*
 * The process's runner thread, for <nworkers> workers' requests; it works
 * with <p>'s newest snapshot. Main thread, before the workers. NULL on failure.
 */
struct shadow_runner *shadow_runner_start(struct proxy *p, int nworkers)
	__attribute__((warn_unused_result));
/* Stops the thread (a running Supabase statement is cancelled); queued requests are dropped. */
void shadow_runner_stop(struct shadow_runner *rn);

/* Worker <w>'s handle on the runner (w->proxy->shadow, which may be NULL: no shadows). */
struct shadow *shadow_new(struct worker *w) __attribute__((warn_unused_result));
void shadow_free(struct shadow *sh);

/* Should the read being routed now be shadowed? (shadow_percent of the worker's snapshot) */
bool shadow_sample(struct shadow *sh);

/*
 * A request for the read of legacy table <table> (its name) that <served> answered: statement text sql[0, len), its
 * Parse parameter types (may be NULL) and its fingerprint. No parameters
 * until shadow_req_bind. NULL on OOM.
 */
struct shadow_req *shadow_req_new(const char *table, enum cutover_side served, uint64_t fingerprint,
				  const char *sql, size_t len, const uint32_t *types,
				  uint16_t ntypes) __attribute__((warn_unused_result));
/*
 * Takes the parameter values of Bind body <body> (len bytes), text or
 * binary, as they are. False when the Bind cannot be shadowed (a format
 * other than 0 or 1, malformed): the caller frees the request.
 */
bool shadow_req_bind(struct shadow_req *r, const uint8_t *body, size_t len)
	__attribute__((warn_unused_result));
void shadow_req_free(struct shadow_req *r);

/* The client has its answer: takes ownership of <r> and queues it (or drops and counts it). */
void shadow_submit(struct shadow *sh, struct shadow_req *r);

#endif

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
#include <time.h>

#include <event2/buffer.h>

#include "proxy/cutover.h"
#include "proxy/proxy.h"
#include "proxy/verify.h"
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

/* ---- rendering ---- */

/* A label value with \, " and newline escaped, as the text format wants. */
static const char *label(char *buf, size_t cap, const char *v)
{
	size_t o = 0;

	for (; *v != '\0' && o + 3 < cap; v++) {
		if (*v == '\\' || *v == '"') {
			buf[o++] = '\\';
			buf[o++] = *v;
		} else if (*v == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *v;
		}
	}
	buf[o] = '\0';
	return buf;
}

static void head(struct evbuffer *out, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void gauge1(struct evbuffer *out, const char *name, const char *help, double v)
{
	head(out, name, "gauge", help);
	evbuffer_add_printf(out, "%s %.17g\n", name, v);
}

static const char *const backend_name[METRICS_NBACKENDS] = { "supabase", "mysql", "local" };
static const char *const side_name[2] = { "mysql", "supabase" }; /* by enum cutover_side */

/* Sums of every worker's counters. */
struct metrics_sum {
	uint64_t statements[METRICS_NBACKENDS], sum_us[METRICS_NBACKENDS];
	uint64_t buckets[METRICS_NBACKENDS][NBUCKETS];
	struct { uint64_t code, count; } err[METRICS_NBACKENDS][64 * MAX_SQLSTATES];
	size_t nerr[METRICS_NBACKENDS];
	uint64_t err_other[METRICS_NBACKENDS];
	uint64_t router[7];
};

static void add_error(struct metrics_sum *s, int b, uint64_t code, uint64_t count)
{
	for (size_t i = 0; i < s->nerr[b]; i++) {
		if (s->err[b][i].code == code) {
			s->err[b][i].count += count;
			return;
		}
	}
	if (s->nerr[b] < sizeof(s->err[b]) / sizeof(s->err[b][0])) {
		s->err[b][s->nerr[b]].code = code;
		s->err[b][s->nerr[b]++].count = count;
	} else {
		s->err_other[b] += count;
	}
}

static void sum_router(uint64_t *acc, struct metrics_router *r)
{
	acc[0] += get(&r->cache_hits);
	acc[1] += get(&r->prefilter_passes);
	acc[2] += get(&r->full_parses);
	acc[3] += get(&r->translations);
	acc[4] += get(&r->translation_hits);
	acc[5] += get(&r->cache_entries);
	acc[6] += get(&r->cache_bytes);
}

static void sum_workers(struct proxy *p, struct metrics_sum *s)
{
	for (int w = 0; w < p->nworkers; w++) {
		struct metrics *m = p->workers[w].metrics;
		if (m == NULL)
			continue;
		for (int b = 0; b < METRICS_NBACKENDS; b++) {
			struct metrics_backend_stats *bs = &m->b[b];
			s->statements[b] += get(&bs->statements);
			s->sum_us[b] += get(&bs->sum_us);
			for (size_t i = 0; i < NBUCKETS; i++)
				s->buckets[b][i] += get(&bs->buckets[i]);
			for (size_t i = 0; i < MAX_SQLSTATES; i++) {
				uint64_t code = atomic_load_explicit(&bs->errors.code[i],
								     memory_order_acquire);
				if (code == 0)
					break;
				add_error(s, b, code, get(&bs->errors.count[i]));
			}
			s->err_other[b] += get(&bs->errors.other);
		}
		sum_router(s->router, &m->router_now);
		/* Gauges (entries, bytes) have no base: only counters are folded on retire. */
		uint64_t base[7] = { 0 };
		sum_router(base, &m->router_base);
		for (int i = 0; i < 5; i++)
			s->router[i] += base[i];
	}
}

static void render_statements(struct evbuffer *out, const struct metrics_sum *s)
{
	head(out, "switchyard_queries_total", "counter",
	     "Queries and Executes answered, by who answered them.");
	for (int b = 0; b < METRICS_NBACKENDS; b++)
		evbuffer_add_printf(out, "switchyard_queries_total{backend=\"%s\"} %llu\n",
				    backend_name[b], (unsigned long long)s->statements[b]);
	head(out, "switchyard_query_duration_seconds", "histogram",
	     "From receiving a Query or Execute to its last reply.");
	for (int b = 0; b < METRICS_NBACKENDS; b++) {
		uint64_t cum = 0;
		for (size_t i = 0; i < NBUCKETS; i++) {
			cum += s->buckets[b][i];
			evbuffer_add_printf(out,
					    "switchyard_query_duration_seconds_bucket{backend=\"%s\",le=\"%g\"} %llu\n",
					    backend_name[b], (double)bucket_us[i] / 1e6,
					    (unsigned long long)cum);
		}
		/* Read apart from the buckets: never let +Inf fall below the last bucket. */
		uint64_t count = s->statements[b] > cum ? s->statements[b] : cum;
		evbuffer_add_printf(out,
				    "switchyard_query_duration_seconds_bucket{backend=\"%s\",le=\"+Inf\"} %llu\n"
				    "switchyard_query_duration_seconds_sum{backend=\"%s\"} %.6f\n"
				    "switchyard_query_duration_seconds_count{backend=\"%s\"} %llu\n",
				    backend_name[b], (unsigned long long)count, backend_name[b],
				    (double)s->sum_us[b] / 1e6, backend_name[b], (unsigned long long)count);
	}
	head(out, "switchyard_errors_total", "counter",
	     "ErrorResponses sent to clients, by backend and SQLSTATE (rare SQLSTATEs beyond a bounded table as \"other\").");
	for (int b = 0; b < METRICS_NBACKENDS; b++) {
		for (size_t i = 0; i < s->nerr[b]; i++) {
			char st[6];
			for (int k = 0; k < 5; k++)
				st[k] = (char)(s->err[b][i].code >> (8 * (4 - k)));
			st[5] = '\0';
			evbuffer_add_printf(out, "switchyard_errors_total{backend=\"%s\",sqlstate=\"%s\"} %llu\n",
					    backend_name[b], st, (unsigned long long)s->err[b][i].count);
		}
		if (s->err_other[b] > 0)
			evbuffer_add_printf(out, "switchyard_errors_total{backend=\"%s\",sqlstate=\"other\"} %llu\n",
					    backend_name[b], (unsigned long long)s->err_other[b]);
	}
}

static void render_router(struct evbuffer *out, const struct metrics_sum *s)
{
	static const struct { const char *name, *type, *help; } r[7] = {
		{ "switchyard_router_cache_hits_total", "counter", "Statements whose routing came from the router's cache." },
		{ "switchyard_router_prefilter_passes_total", "counter", "Statements that named no legacy table and needed no parse." },
		{ "switchyard_router_parses_total", "counter", "Statements parsed with libpg_query." },
		{ "switchyard_router_translations_total", "counter", "MySQL translations made (cache misses)." },
		{ "switchyard_router_translation_hits_total", "counter", "MySQL translations served from the cache." },
		{ "switchyard_router_cache_entries", "gauge", "Entries in the routers' caches, all workers." },
		{ "switchyard_router_cache_bytes", "gauge", "Bytes held by the routers' caches, all workers." },
	};
	for (int i = 0; i < 7; i++) {
		head(out, r[i].name, r[i].type, r[i].help);
		evbuffer_add_printf(out, "%s %llu\n", r[i].name, (unsigned long long)s->router[i]);
	}
}

static void render_refusals(struct proxy *p, struct evbuffer *out)
{
	static struct refusal_count counts[REFUSALS_MAX_TABLES]; /* main thread only */
	size_t n = refusals_snapshot(&p->refusals, counts, REFUSALS_MAX_TABLES);
	char t[160];

	head(out, "switchyard_refusals_total", "counter",
	     "Statements switchyard refused, by legacy table (\"\" when not about one) and SQLSTATE.");
	for (size_t i = 0; i < n; i++)
		evbuffer_add_printf(out, "switchyard_refusals_total{table=\"%s\",sqlstate=\"%s\"} %llu\n",
				    label(t, sizeof(t), counts[i].table), counts[i].sqlstate,
				    (unsigned long long)counts[i].count);
}

/* One line per group, labelled by its first table. */
#define PER_GROUP(fmt, ...)                                                                  \
	for (size_t g = 0; g < n; g++)                                                       \
		evbuffer_add_printf(out, fmt, label(t, sizeof(t),                            \
						    cfg->legacy.tables[st[g].first_table]),  \
				    __VA_ARGS__)

/* What the last `switchyard verify` of each legacy table found (its results file). */
static void render_verify(const struct config *cfg, struct evbuffer *out)
{
	struct verify_result *v = calloc(cfg->legacy.ntables ? cfg->legacy.ntables : 1, sizeof(*v));
	if (v == NULL)
		return;
	for (size_t i = 0; i < cfg->legacy.ntables; i++)
		verify_last(cfg, cfg->legacy.tables[i], &v[i]);
	head(out, "switchyard_verify_mismatched_rows", "gauge",
	     "Rows the last switchyard verify found missing, extra or changed in the table's copy.");
	for (size_t i = 0; i < cfg->legacy.ntables; i++) {
		char t[160];
		if (v[i].found && (strcmp(v[i].status, "match") == 0 || strcmp(v[i].status, "differ") == 0))
			evbuffer_add_printf(out, "switchyard_verify_mismatched_rows{table=\"%s\"} %llu\n",
					    label(t, sizeof(t), cfg->legacy.tables[i]),
					    (unsigned long long)(v[i].missing + v[i].extra + v[i].changed));
	}
	head(out, "switchyard_verify_ok", "gauge",
	     "1 when the last switchyard verify of the table found its copy the same, else 0.");
	for (size_t i = 0; i < cfg->legacy.ntables; i++) {
		char t[160];
		if (v[i].found)
			evbuffer_add_printf(out, "switchyard_verify_ok{table=\"%s\"} %d\n",
					    label(t, sizeof(t), cfg->legacy.tables[i]),
					    strcmp(v[i].status, "match") == 0);
	}
	head(out, "switchyard_verify_last_run_timestamp_seconds", "gauge",
	     "When the last switchyard verify of the table finished (seconds since the epoch).");
	for (size_t i = 0; i < cfg->legacy.ntables; i++) {
		char t[160];
		if (v[i].found)
			evbuffer_add_printf(out,
					    "switchyard_verify_last_run_timestamp_seconds{table=\"%s\"} %lld\n",
					    label(t, sizeof(t), cfg->legacy.tables[i]), (long long)v[i].at_s);
	}
	free(v);
}

/* Shadow comparisons that could not be made, and the outcomes per statement fingerprint. */
static void render_shadow(struct proxy *p, struct evbuffer *out)
{
	head(out, "switchyard_shadow_skipped_total", "counter",
	     "Shadow reads not compared: a side unreachable or timed out, both failed, rows not "
	     "determined (LIMIT without a total ORDER BY), or a result too large.");
	evbuffer_add_printf(out, "switchyard_shadow_skipped_total %llu\n",
			    (unsigned long long)atomic_load(&p->shadow_skipped));
	struct cutover_fp_stats *fp = malloc(CUTOVER_FINGERPRINTS * sizeof(*fp));
	if (fp == NULL)
		return;
	size_t n = cutover_fingerprints(p->cutover, fp, CUTOVER_FINGERPRINTS);
	head(out, "switchyard_shadow_fingerprint_total", "counter",
	     "Shadow comparisons per statement fingerprint and table (fingerprint 0: the rest).");
	for (size_t i = 0; i < n; i++) {
		char t[160];
		label(t, sizeof(t), fp[i].table);
		evbuffer_add_printf(out,
				    "switchyard_shadow_fingerprint_total{table=\"%s\",fingerprint=\"%016llx\","
				    "result=\"match\"} %llu\n"
				    "switchyard_shadow_fingerprint_total{table=\"%s\",fingerprint=\"%016llx\","
				    "result=\"mismatch\"} %llu\n",
				    t, (unsigned long long)fp[i].fingerprint, (unsigned long long)fp[i].match,
				    t, (unsigned long long)fp[i].fingerprint,
				    (unsigned long long)fp[i].mismatch);
	}
	free(fp);
}

static void render_cutover(struct proxy *p, const struct config *cfg, struct evbuffer *out,
			   struct cutover_group_status *st, size_t n)
{
	char t[160];

	head(out, "switchyard_cutover_weight", "gauge",
	     "Percent of the table's reads served by its Supabase copy (a group's members carry the group's weight).");
	for (size_t g = 0; g < n; g++) {
		const struct config_cutover_group *grp = &cfg->cutover.groups[g];
		for (size_t i = 0; i < grp->ntables; i++)
			evbuffer_add_printf(out, "switchyard_cutover_weight{table=\"%s\"} %d\n",
					    label(t, sizeof(t), cfg->legacy.tables[grp->tables[i]]),
					    st[g].weight);
	}
	head(out, "switchyard_cutover_rolled_back", "gauge",
	     "1 while the table's group is rolled back (weight 0 until an operator raises it).");
	for (size_t g = 0; g < n; g++) {
		const struct config_cutover_group *grp = &cfg->cutover.groups[g];
		for (size_t i = 0; i < grp->ntables; i++)
			evbuffer_add_printf(out, "switchyard_cutover_rolled_back{table=\"%s\"} %d\n",
					    label(t, sizeof(t), cfg->legacy.tables[grp->tables[i]]),
					    st[g].state == CUTOVER_ROLLED_BACK ? 1 : 0);
	}
	head(out, "switchyard_cutover_rollbacks_total", "counter",
	     "Automatic rollbacks of the group (labelled by its first table) since start.");
	PER_GROUP("switchyard_cutover_rollbacks_total{table=\"%s\"} %llu\n",
		  (unsigned long long)st[g].rollbacks);
	head(out, "switchyard_cutover_reads_total", "counter",
	     "Legacy reads of the group (labelled by its first table) by the side that served them.");
	for (int sd = 0; sd < 2; sd++)
		PER_GROUP("switchyard_cutover_reads_total{table=\"%s\",backend=\"%s\"} %llu\n",
			  side_name[sd], (unsigned long long)st[g].total_reads[sd]);
	head(out, "switchyard_cutover_errors_total", "counter",
	     "Legacy reads of the group that failed, by side.");
	for (int sd = 0; sd < 2; sd++)
		PER_GROUP("switchyard_cutover_errors_total{table=\"%s\",backend=\"%s\"} %llu\n",
			  side_name[sd], (unsigned long long)st[g].total_errors[sd]);
	head(out, "switchyard_shadow_total", "counter",
	     "Shadow comparisons of the group's reads: matched, mismatched, or dropped (queue full).");
	PER_GROUP("switchyard_shadow_total{table=\"%s\",result=\"match\"} %llu\n",
		  (unsigned long long)st[g].total_shadow_match);
	PER_GROUP("switchyard_shadow_total{table=\"%s\",result=\"mismatch\"} %llu\n",
		  (unsigned long long)st[g].total_shadow_mismatch);
	PER_GROUP("switchyard_shadow_total{table=\"%s\",result=\"dropped\"} %llu\n",
		  (unsigned long long)st[g].total_shadow_dropped);
	head(out, "switchyard_cutover_window_reads", "gauge",
	     "Reads of the group in the rollback window, by side.");
	for (int sd = 0; sd < 2; sd++)
		PER_GROUP("switchyard_cutover_window_reads{table=\"%s\",backend=\"%s\"} %llu\n",
			  side_name[sd], (unsigned long long)st[g].window.reads[sd]);
	head(out, "switchyard_cutover_window_errors", "gauge",
	     "Failed reads of the group in the rollback window, by side.");
	for (int sd = 0; sd < 2; sd++)
		PER_GROUP("switchyard_cutover_window_errors{table=\"%s\",backend=\"%s\"} %llu\n",
			  side_name[sd], (unsigned long long)st[g].window.errors[sd]);
	head(out, "switchyard_cutover_window_p99_seconds", "gauge",
	     "Upper bound of the 99th percentile read latency in the rollback window (0 without reads).");
	for (int sd = 0; sd < 2; sd++)
		PER_GROUP("switchyard_cutover_window_p99_seconds{table=\"%s\",backend=\"%s\"} %.6f\n",
			  side_name[sd], (double)st[g].window.p99_us[sd] / 1e6);
	head(out, "switchyard_cutover_window_max_seconds", "gauge",
	     "Slowest read in the rollback window.");
	for (int sd = 0; sd < 2; sd++)
		PER_GROUP("switchyard_cutover_window_max_seconds{table=\"%s\",backend=\"%s\"} %.6f\n",
			  side_name[sd], (double)st[g].window.max_us[sd] / 1e6);
	(void)p;
}

bool metrics_render(struct proxy *p, int64_t start_ms, struct evbuffer *out)
{
	const struct config *cfg = p->cfg;
	struct metrics_sum *s = calloc(1, sizeof(*s));
	struct cutover_group_status *st = calloc(cfg->cutover.ngroups + 1, sizeof(*st));

	if (s == NULL || st == NULL) {
		free(s);
		free(st);
		return false;
	}
	size_t n = cutover_status(p->cutover, cfg, st, cfg->cutover.ngroups);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	double now_s = (double)now.tv_sec + (double)now.tv_nsec / 1e9;

	head(out, "switchyard_build_info", "gauge", "Always 1; the version is a label.");
	evbuffer_add_printf(out, "switchyard_build_info{version=\"%s\"} 1\n", SY_VERSION);
	gauge1(out, "switchyard_start_time_seconds", "When this process started (seconds since the epoch).",
	       (double)start_ms / 1000.0);
	gauge1(out, "switchyard_uptime_seconds", "Seconds since this process started.",
	       now_s - (double)start_ms / 1000.0);
	gauge1(out, "switchyard_workers", "Worker threads.", p->nworkers);
	gauge1(out, "switchyard_clients", "Client connections.", atomic_load(&p->clients));
	gauge1(out, "switchyard_upstream_connections", "Supabase connections open or opening.",
	       atomic_load(&p->pool_total));
	gauge1(out, "switchyard_upstream_pool_size", "Configured Supabase pool size.",
	       cfg->supabase.pool_size);
	gauge1(out, "switchyard_upstream_waiters", "Sessions waiting for a Supabase connection.",
	       atomic_load(&p->pool_waiters));
	gauge1(out, "switchyard_mysql_connections", "Legacy MySQL connections open or opening.",
	       atomic_load(&p->mysql_total));
	gauge1(out, "switchyard_mysql_waiters", "Jobs waiting for a MySQL connection.",
	       atomic_load(&p->mysql_waiters));
	head(out, "switchyard_pins_total", "counter",
	     "Clients pinned to their upstream by session state (transaction pooling).");
	evbuffer_add_printf(out, "switchyard_pins_total %llu\n",
			    (unsigned long long)atomic_load(&p->pins));
	sum_workers(p, s);
	render_statements(out, s);
	render_router(out, s);
	render_refusals(p, out);
	render_cutover(p, cfg, out, st, n);
	render_shadow(p, out);
	render_verify(cfg, out);
	free(s);
	free(st);
	return true;
}

/*
 * micro_router — what routing one statement costs, per path the router takes.
 *
 * Prints nanoseconds per statement for: a cache hit, a pre-filter pass (no
 * parse), and a full parse + classify + route, each on a short statement and
 * on a ~2 KB one, plus the "typical 3-table join" the targets are set for
 * (cache hit <= 1 us, full classify of the join <= 40 us). No server needed.
 *
 * Usage: micro_router [seconds-per-case]   (default 0.3)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "router/router.h"

static const char *const tables[] = { "customers", "subscriptions", "payments" };

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static struct router *make(size_t entries, size_t bytes)
{
	struct router_legacy legacy = {
		.schema = "public", .tables = tables, .ntables = 3, .mysql_configured = true,
	};
	struct router *r = router_new(&legacy, entries, bytes);
	if (r == NULL) {
		fprintf(stderr, "router_new failed\n");
		exit(1);
	}
	return r;
}

/* Routes <sql> repeatedly for about <seconds>; returns ns per call. */
static double measure(struct router *r, const char *sql, double seconds, unsigned *sink)
{
	size_t len = strlen(sql);
	struct route_decision d;
	router_route(r, sql, len, NULL, &d); /* warm: caches, scratch buffers */
	long iters = 1;
	for (;;) {
		double t0 = now_ns();
		for (long i = 0; i < iters; i++) {
			router_route(r, sql, len, NULL, &d);
			*sink += d.target + d.flags;
		}
		double dt = now_ns() - t0;
		if (dt >= seconds * 1e9)
			return dt / (double)iters;
		iters = dt < 1e6 ? iters * 10 : (long)((double)iters * (seconds * 1e9 / dt) * 1.1) + 1;
	}
}

/* A realistic wide statement of about 2 KB over <from>. */
static char *long_statement(const char *from)
{
	size_t cap = 4096, len = 0;
	char *s = malloc(cap);
	if (s == NULL)
		exit(1);
	len += (size_t)snprintf(s, cap, "SELECT t.id");
	for (int i = 0; i < 30; i++)
		len += (size_t)snprintf(s + len, cap - len,
					", CASE WHEN t.status = %d THEN t.col_%d ELSE NULL END AS c%d", i, i, i);
	len += (size_t)snprintf(s + len, cap - len, " FROM %s t WHERE t.id IN (", from);
	for (int i = 0; len < 1950; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s%d", i ? ", " : "", 1000 + i);
	snprintf(s + len, cap - len, ") ORDER BY t.id LIMIT 100");
	return s;
}

static void report(const char *what, const char *sql, double ns)
{
	printf("%-52s %6zu B %10.0f ns/stmt\n", what, strlen(sql), ns);
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0.3;
	unsigned sink = 0;
	const char *short_platform = "SELECT * FROM workflows WHERE id = $1";
	const char *short_legacy = "SELECT * FROM customers WHERE id = $1";
	const char *join_legacy =
		"SELECT c.id, c.email, s.plan, p.amount FROM customers c "
		"JOIN subscriptions s ON s.customer_id = c.id "
		"JOIN payments p ON p.customer_id = c.id "
		"WHERE c.id = $1 AND p.created_at > now() - interval '30 days' "
		"ORDER BY p.created_at DESC LIMIT 20";
	/* The leading comment defeats the pre-filter, so this one is fully parsed too. */
	const char *join_platform =
		"/* dashboard */ SELECT w.id, r.status, l.body FROM workflows w "
		"JOIN workflow_runs r ON r.workflow_id = w.id "
		"LEFT JOIN message_logs l ON l.run_id = r.id "
		"WHERE w.owner_id = $1 AND r.created_at > now() - interval '1 day' "
		"ORDER BY r.created_at DESC LIMIT 50";
	char *long_platform = long_statement("workflows");
	char *long_legacy = long_statement("customers");

	struct router *cached = make(4096, 16u << 20);
	struct router *uncached = make(0, 0);

	printf("switchyard router micro-benchmark (%.1f s per case)\n", secs);
	report("cache hit, short", short_legacy, measure(cached, short_legacy, secs, &sink));
	report("cache hit, ~2 KB", long_legacy, measure(cached, long_legacy, secs, &sink));
	report("cache hit, 3-table join", join_legacy, measure(cached, join_legacy, secs, &sink));
	report("pre-filter pass, short", short_platform,
	       measure(uncached, short_platform, secs, &sink));
	report("pre-filter pass, ~2 KB", long_platform,
	       measure(uncached, long_platform, secs, &sink));
	report("full parse+classify+route, short", short_legacy,
	       measure(uncached, short_legacy, secs, &sink));
	report("full parse+classify+route, ~2 KB", long_legacy,
	       measure(uncached, long_legacy, secs, &sink));
	report("full parse+classify+route, 3-table join (legacy)", join_legacy,
	       measure(uncached, join_legacy, secs, &sink));
	report("full parse+classify+route, 3-table join (platform)", join_platform,
	       measure(uncached, join_platform, secs, &sink));

	struct router_stats st;
	router_get_stats(uncached, &st);
	printf("(uncached router: %llu pre-filter passes, %llu full parses; sink %u)\n",
	       (unsigned long long)st.prefilter_passes, (unsigned long long)st.full_parses, sink);
	router_free(cached);
	router_free(uncached);
	free(long_platform);
	free(long_legacy);
	return 0;
}

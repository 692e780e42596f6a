/*
 * micro_translate — what a legacy read costs switchyard per statement before
 * anything reaches MySQL, and per row on the way back. No server needed.
 *
 * Legacy tables customers, subscriptions, payments with mysql_configured =
 * true; customers has the shape of bench/legacy/crm.sql (what
 * bench/legacy_reads.py serves). The statements are that benchmark's: the
 * point lookup and the 100-row range read, as pgbench -M extended / prepared
 * sends them ($n parameters) and as a simple query with the id inlined.
 *
 * Cases (nanoseconds per call, same output format as micro_router):
 *   cache hit            router_route + router_translate on the same text:
 *                        what every execution of a prepared statement and
 *                        every repeated text costs (target <= 2 us); route
 *                        alone for comparison.
 *   MySQL text, hit      the cached translation made executable: each slot
 *                        filled with the bound parameter as a MySQL literal
 *                        (pgv_param_literal) into the final MySQL text, alone
 *                        and with the route + translate before it. Printed
 *                        only when the translator translates.
 *   values, one row      the point read's six values turned into Postgres text
 *                        (pgv_text), per row.
 *   cache miss           the same statement through a router without a cache
 *                        (parse + classify + route + translate); a new
 *                        inlined id on every call through the cached router
 *                        (each text misses, is inserted, evicts); the
 *                        translator alone (xlate_read).
 * The router's decision is printed once per statement (target, flags), so
 * the figures can be read knowing what the router did with it.
 *
 * Usage: micro_translate [seconds-per-case]   (default 0.3)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "router/catalog.h"
#include "router/pgvalue.h"
#include "router/router.h"
#include "router/translate.h"

static const char *const tables[] = { "customers", "subscriptions", "payments" };

#define COLS "customer_id, name, email, status, balance, created_at"
static const char *const point_sql = "SELECT " COLS " FROM customers WHERE customer_id = $1";
static const char *const range_sql =
	"SELECT " COLS " FROM customers WHERE customer_id BETWEEN $1 AND $2 ORDER BY customer_id";
static const char *const point_literal_sql = "SELECT " COLS " FROM customers WHERE customer_id = 4242";

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static struct router *make(size_t entries, size_t bytes, const struct legacy_catalog *cat)
{
	struct router_legacy legacy = {
		.schema = "public", .tables = tables, .ntables = 3, .mysql_configured = true,
		.catalog = cat,
	};
	struct router *r = router_new(&legacy, entries, bytes);
	if (r == NULL) {
		fprintf(stderr, "router_new failed\n");
		exit(1);
	}
	return r;
}

static void must(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "micro_translate: %s failed\n", what);
		exit(1);
	}
}

/* The catalog information_schema gives for bench/legacy/crm.sql. */
static struct legacy_catalog *make_catalog(void)
{
	struct legacy_catalog *c = catalog_new("crm", "public", true);
	must(c != NULL, "catalog_new");
	const struct catalog_column_row customers[] = {
		{ "customer_id", "int", "int(10) unsigned", "NO", NULL, "10", "0", NULL, NULL, "PRI" },
		{ "name", "varchar", "varchar(100)", "NO", "100", NULL, NULL, NULL, "utf8mb4_general_ci", "" },
		{ "phone", "varchar", "varchar(20)", "YES", "20", NULL, NULL, NULL, "utf8mb4_general_ci", "" },
		{ "email", "varchar", "varchar(255)", "YES", "255", NULL, NULL, NULL, "utf8mb4_general_ci", "" },
		{ "status", "enum", "enum('active','inactive','suspended')", "NO", "9", NULL, NULL, NULL,
		  "utf8mb4_general_ci", "" },
		{ "balance", "decimal", "decimal(12,2)", "NO", NULL, "12", "2", NULL, NULL, "" },
		{ "created_at", "datetime", "datetime", "NO", NULL, NULL, NULL, "0", NULL, "" },
	};
	const struct catalog_column_row subscriptions[] = {
		{ "subscription_id", "int", "int(10) unsigned", "NO", NULL, "10", "0", NULL, NULL, "PRI" },
		{ "customer_id", "int", "int(10) unsigned", "NO", NULL, "10", "0", NULL, NULL, "MUL" },
		{ "plan", "varchar", "varchar(20)", "NO", "20", NULL, NULL, NULL, "utf8mb4_general_ci", "" },
	};
	const struct catalog_column_row payments[] = {
		{ "payment_id", "int", "int(10) unsigned", "NO", NULL, "10", "0", NULL, NULL, "PRI" },
		{ "subscription_id", "int", "int(10) unsigned", "NO", NULL, "10", "0", NULL, NULL, "MUL" },
		{ "amount", "decimal", "decimal(12,2)", "NO", NULL, "12", "2", NULL, NULL, "" },
		{ "paid_at", "datetime", "datetime", "NO", NULL, NULL, NULL, "0", NULL, "" },
	};
	must(catalog_add_table(c, "customers", "customers"), "catalog_add_table");
	for (size_t i = 0; i < sizeof(customers) / sizeof(customers[0]); i++)
		must(catalog_add_column(c, &customers[i]), "catalog_add_column");
	must(catalog_add_index_column(c, "customers", "PRIMARY", 1, "customer_id"), "index");
	must(catalog_add_table(c, "subscriptions", "subscriptions"), "catalog_add_table");
	for (size_t i = 0; i < sizeof(subscriptions) / sizeof(subscriptions[0]); i++)
		must(catalog_add_column(c, &subscriptions[i]), "catalog_add_column");
	must(catalog_add_index_column(c, "subscriptions", "PRIMARY", 1, "subscription_id"), "index");
	must(catalog_add_index_column(c, "subscriptions", "customer_id", 1, "customer_id"), "index");
	must(catalog_add_table(c, "payments", "payments"), "catalog_add_table");
	for (size_t i = 0; i < sizeof(payments) / sizeof(payments[0]); i++)
		must(catalog_add_column(c, &payments[i]), "catalog_add_column");
	must(catalog_add_index_column(c, "payments", "PRIMARY", 1, "payment_id"), "index");
	must(catalog_add_index_column(c, "payments", "subscription_id", 1, "subscription_id"), "index");
	catalog_finish(c);
	return c;
}

/* Runs fn(arg) repeatedly for about <seconds>; returns ns per call. */
static double measure(void (*fn)(void *), void *arg, double seconds)
{
	fn(arg); /* warm: caches, scratch buffers */
	long iters = 1;
	for (;;) {
		double t0 = now_ns();
		for (long i = 0; i < iters; i++)
			fn(arg);
		double dt = now_ns() - t0;
		if (dt >= seconds * 1e9)
			return dt / (double)iters;
		iters = dt < 1e6 ? iters * 10 : (long)((double)iters * (seconds * 1e9 / dt) * 1.1) + 1;
	}
}

static unsigned sink;

struct route_case {
	struct router *r;
	const char *sql;
	size_t len;
};

static void do_route(void *arg)
{
	struct route_case *c = arg;
	struct route_decision d;
	router_route(c->r, c->sql, c->len, NULL, &d);
	sink += d.target + d.flags;
}

/* What a legacy read costs the router per statement: the decision and the MySQL translation. */
static void do_route_translate(void *arg)
{
	struct route_case *c = arg;
	struct route_decision d;
	struct xlate_result x;
	router_route(c->r, c->sql, c->len, NULL, &d);
	router_translate(c->r, c->sql, c->len, NULL, 0, &x);
	sink += d.target + (unsigned)x.status + (unsigned)x.sql_len;
}

/* A point read with a new inlined id on every call (ids cycle over 1M texts). */
struct literal_case {
	struct router *r;
	char buf[256];
	unsigned long id;
};

static void do_route_literal(void *arg)
{
	struct literal_case *c = arg;
	int n = snprintf(c->buf, sizeof(c->buf), "SELECT " COLS " FROM customers WHERE customer_id = %lu",
			 1 + c->id++ % 1000000);
	struct route_decision d;
	struct xlate_result x;
	router_route(c->r, c->buf, (size_t)n, NULL, &d);
	router_translate(c->r, c->buf, (size_t)n, NULL, 0, &x);
	sink += d.target + d.flags + (unsigned)x.status;
}

struct xlate_case {
	struct xlate *x;
	struct xlate_input in;
	struct xlate_result res;
};

static void do_xlate(void *arg)
{
	struct xlate_case *c = arg;
	xlate_read(c->x, &c->in, &c->res);
	sink += (unsigned)c->res.status;
}

/* The MySQL text of a translated read with its slots filled by one execution's parameters. */
struct fill_case {
	const struct xlate_result *res; /* XLATE_OK */
	const char *const *params;      /* text-format parameter values */
	struct pgv_buf out;
	struct pgv_session s;
};

static void do_fill(void *arg)
{
	struct fill_case *c = arg;
	const struct xlate_result *r = c->res;
	struct pgv_error err;
	size_t at = 0;
	c->out.len = 0;
	for (size_t i = 0; i < r->nslots; i++) {
		const struct xlate_slot *sl = &r->slots[i];
		pgv_buf_put(&c->out, r->sql + at, sl->at - at);
		at = sl->at;
		if (sl->kind == XLATE_S_PARAM) {
			const char *v = c->params[sl->param];
			uint32_t oid = sl->param < r->nparams ? r->param_types[sl->param] : PG_OID_INT8;
			if (pgv_param_literal(&c->out, oid, 0, v, strlen(v), &c->s, &err) != PGV_OK)
				c->out.failed = true;
		} else if (sl->kind == XLATE_S_TZ_OFFSET) {
			pgv_buf_put(&c->out, "0", 1); /* UTC */
		} else {
			static const int32_t utc[1] = { 0 }; /* UTC's steps: no breakpoint */
			char steps[32];
			size_t n = xlate_tz_steps_text(steps, sizeof(steps), NULL, utc, 0);
			pgv_buf_put(&c->out, steps, n);
		}
	}
	pgv_buf_put(&c->out, r->sql + at, r->sql_len - at);
	sink += (unsigned)c->out.len;
}

struct fill_route_case {
	struct route_case route;
	struct fill_case fill;
};

static void do_route_and_fill(void *arg)
{
	struct fill_route_case *c = arg;
	do_route_translate(&c->route);
	do_fill(&c->fill);
}

/* One point-read row, as MySQL's text protocol sends it, turned into Postgres text values. */
struct values_case {
	const struct legacy_table *t;
	const char *const *names;
	const char *const *values;
	size_t n;
	struct pgv_buf out;
	struct pgv_session s;
	int bad;
};

static void do_values(void *arg)
{
	struct values_case *c = arg;
	struct pgv_error err;
	c->out.len = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct legacy_column *col = catalog_column(c->t, c->names[i]);
		if (col == NULL || pgv_text(&c->out, col->conv, col->pg_type, col->pg_typmod, c->values[i],
					    strlen(c->values[i]), &c->s, &err) != PGV_OK)
			c->bad = 1;
	}
	sink += (unsigned)c->out.len;
}

static void report(const char *what, const char *sql, double ns)
{
	printf("%-52s %6zu B %10.0f ns/stmt\n", what, sql ? strlen(sql) : 0, ns);
}

static void report_row(const char *what, size_t bytes, double ns)
{
	printf("%-52s %6zu B %10.0f ns/row\n", what, bytes, ns);
}

static const char *target_name(enum route_target t)
{
	return t == ROUTE_MYSQL ? "MYSQL" : t == ROUTE_REJECT ? "REJECT" : "SUPABASE";
}

static void describe(struct router *r, const char *label, const char *sql)
{
	struct route_decision d;
	router_route(r, sql, strlen(sql), NULL, &d);
	printf("  %-12s -> %s%s%s\n", label, target_name(d.target), d.sqlstate ? " " : "",
	       d.sqlstate ? d.sqlstate : "");
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0.3;
	struct legacy_catalog *cat = make_catalog();
	struct router *cached = make(4096, 16u << 20, cat);
	struct router *uncached = make(0, 0, cat);
	struct xlate *x = xlate_new();
	must(x != NULL, "xlate_new");

	printf("switchyard legacy-read micro-benchmark (%.1f s per case)\n", secs);
	printf("router decisions:\n");
	describe(cached, "point $1", point_sql);
	describe(cached, "range $1 $2", range_sql);
	describe(cached, "point 4242", point_literal_sql);

	/* The translation once, to show it and to fill its slots below. */
	struct xlate_result tr;
	router_translate(cached, point_sql, strlen(point_sql), NULL, 0, &tr);
	unsigned char *blob = NULL;
	struct xlate_result point_res;
	if (tr.status == XLATE_OK) {
		/* Copy the result: the next router_translate reuses the router's memory. */
		size_t n = xlate_packed_size(&tr);
		blob = aligned_alloc(8, (n + 7) & ~(size_t)7);
		must(blob != NULL, "malloc");
		xlate_pack(&tr, blob);
		xlate_unpack(blob, &point_res);
		printf("  MySQL text of the point read: %s (%zu slots)\n", point_res.sql,
		       point_res.nslots);
		struct xlate_result rr;
		router_translate(cached, range_sql, strlen(range_sql), NULL, 0, &rr);
		if (rr.status == XLATE_OK)
			printf("  MySQL text of the range read: %s (%zu slots)\n", rr.sql, rr.nslots);
	} else {
		printf("  translator: %s %s\n", tr.sqlstate, tr.message);
	}

	struct route_case hp = { cached, point_sql, strlen(point_sql) };
	struct route_case hr = { cached, range_sql, strlen(range_sql) };
	struct route_case hl = { cached, point_literal_sql, strlen(point_literal_sql) };
	report("cache hit, route only, point read ($1)", point_sql, measure(do_route, &hp, secs));
	double hit_point = measure(do_route_translate, &hp, secs);
	report("cache hit, route + translate, point read ($1)", point_sql, hit_point);
	double hit_range = measure(do_route_translate, &hr, secs);
	report("cache hit, route + translate, range ($1, $2)", range_sql, hit_range);
	double hit_literal = measure(do_route_translate, &hl, secs);
	report("cache hit, route + translate, point (id inlined)", point_literal_sql, hit_literal);
	double worst = hit_point > hit_range ? hit_point : hit_range;
	worst = worst > hit_literal ? worst : hit_literal;
	if (tr.status == XLATE_OK) {
		static const char *const params[] = { "4242", "4341" };
		struct fill_route_case fr = { .route = hp, .fill = { .res = &point_res, .params = params } };
		pgv_session_init(&fr.fill.s);
		report("MySQL text on a hit, point read (slots filled)", point_sql,
		       measure(do_fill, &fr.fill, secs));
		printf("  filled: %.*s%s\n", (int)fr.fill.out.len, fr.fill.out.p,
		       fr.fill.out.failed ? " (a literal FAILED)" : "");
		double both = measure(do_route_and_fill, &fr, secs);
		report("cache hit, route + translate + slots, point read", point_sql, both);
		worst = worst > both ? worst : both;
		pgv_buf_free(&fr.fill.out);
	}
	printf("  target: per statement on a cache hit <= 2000 ns: %s (worst %.0f ns%s%s)\n",
	       worst <= 2000 ? "pass" : "FAIL", worst,
	       tr.status == XLATE_OK ? "" : "; the point read was refused, so only routing and cache "
					    "lookups were timed: ",
	       tr.status == XLATE_OK ? "" : tr.message);

	/* Values of one point-read row. */
	const struct legacy_table *ct = catalog_table(cat, "customers");
	static const char *const names[] = { "customer_id", "name", "email", "status", "balance",
					     "created_at" };
	static const char *const values[] = { "4242", "\xea\xb3\xa0\xea\xb0\x9d 4242", "c4242@example.com",
					      "active", "3359.98", "2020-01-31 03:14:15" };
	struct values_case vc = { ct, names, values, 6, { 0 }, { 0 }, 0 };
	pgv_session_init(&vc.s);
	double per_row = measure(do_values, &vc, secs);
	size_t row_bytes = 0;
	for (size_t i = 0; i < 6; i++)
		row_bytes += strlen(values[i]);
	report_row(vc.bad ? "values, one point-read row (6 columns; some BAD)"
			  : "values, one point-read row (6 columns)", row_bytes, per_row);
	pgv_buf_free(&vc.out);

	/* Misses: no cache, so every call parses, classifies, routes and translates. */
	struct route_case mp = { uncached, point_sql, strlen(point_sql) };
	struct route_case mr = { uncached, range_sql, strlen(range_sql) };
	report("cache miss (no cache), route + translate, point", point_sql,
	       measure(do_route_translate, &mp, secs));
	report("cache miss (no cache), route + translate, range", range_sql,
	       measure(do_route_translate, &mr, secs));
	struct literal_case lc = { .r = cached };
	report("cache miss, new inlined id every call", point_literal_sql,
	       measure(do_route_literal, &lc, secs));
	static const uint32_t int8_params[] = { PG_OID_INT8, PG_OID_INT8 };
	struct xlate_case xp = { .x = x, .in = { point_sql, strlen(point_sql), NULL, 0, cat } };
	struct xlate_case xr = { .x = x, .in = { range_sql, strlen(range_sql), int8_params, 2, cat } };
	double tp = measure(do_xlate, &xp, secs);
	report(xp.res.status == XLATE_OK ? "translation alone (xlate_read), point read"
					 : "translation alone (xlate_read, refuses), point", point_sql, tp);
	double trr = measure(do_xlate, &xr, secs);
	report(xr.res.status == XLATE_OK ? "translation alone (xlate_read), range read"
					 : "translation alone (xlate_read, refuses), range", range_sql, trr);

	struct router_stats st;
	router_get_stats(cached, &st);
	printf("(cached router: %llu hits, %llu full parses, %llu translations, %llu translation "
	       "hits, %llu entries; sink %u)\n",
	       (unsigned long long)st.cache_hits, (unsigned long long)st.full_parses,
	       (unsigned long long)st.translations, (unsigned long long)st.translation_hits,
	       (unsigned long long)st.cache_entries, sink);
	free(blob);
	xlate_free(x);
	router_free(cached);
	router_free(uncached);
	catalog_free(cat);
	return 0;
}

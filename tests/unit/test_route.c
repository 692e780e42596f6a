/*
 * test_route — the router end to end: decisions per DESIGN.md rules 1-8,
 * flags and names, and that the cache and the pre-filter never change an
 * answer; plus the bounds (cache entries/bytes, text length, zero bytes).
 *
 * Table-driven from corpus/router.txt: every statement is routed through a
 * cold cache, a warm cache and no cache, and all three must match the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/classify.h"
#include "router/route.h"
#include "router/router.h"
#include "tests/unit/corpus/corpus.h"

static const char *const legacy_tables[] = { "customers", "subscriptions", "payments" };

static struct router *new_router(bool mysql, size_t entries, size_t bytes)
{
	struct router_legacy legacy = {
		.schema = "public",
		.tables = legacy_tables,
		.ntables = 3,
		.mysql_configured = mysql,
	};
	struct router *r = router_new(&legacy, entries, bytes);
	assert_non_null(r);
	return r;
}

static struct route_decision route_str(struct router *r, const char *sql)
{
	struct route_decision d;
	router_route(r, sql, strlen(sql), NULL, &d);
	return d;
}

static const char *target_name(enum route_target t)
{
	return t == ROUTE_SUPABASE ? "SUPABASE" : t == ROUTE_MYSQL ? "MYSQL" : "REJECT";
}

static unsigned parse_flags(const char *s)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
		{ "TXN_CONTROL", ROUTE_F_TXN_CONTROL }, { "SESSION_STATE", ROUTE_F_SESSION_STATE },
		{ "PREPARE", ROUTE_F_PREPARE },         { "EXECUTE", ROUTE_F_EXECUTE },
		{ "DEALLOCATE", ROUTE_F_DEALLOCATE },   { "MULTI", ROUTE_F_MULTI },
		{ "EMPTY", ROUTE_F_EMPTY },             { "SET_ONLY", ROUTE_F_SET_ONLY },
		{ "ROLE_CHANGE", ROUTE_F_ROLE_CHANGE },
		{ "PIN_LISTEN", ROUTE_PIN_LISTEN << ROUTE_PIN_SHIFT },
		{ "PIN_LOCK", ROUTE_PIN_LOCK << ROUTE_PIN_SHIFT },
		{ "PIN_TEMP", ROUTE_PIN_TEMP << ROUTE_PIN_SHIFT },
		{ "PIN_HOLD", ROUTE_PIN_HOLD << ROUTE_PIN_SHIFT },
		{ "PIN_ROLE", ROUTE_PIN_ROLE << ROUTE_PIN_SHIFT },
		{ "PIN_PREPARE", ROUTE_PIN_PREPARE << ROUTE_PIN_SHIFT },
		{ "PIN_DISCARD", ROUTE_PIN_DISCARD << ROUTE_PIN_SHIFT },
		{ "PIN_OTHER", ROUTE_PIN_OTHER << ROUTE_PIN_SHIFT },
	};
	unsigned f = 0;
	char *copy = strdup(s), *save = NULL;
	assert_non_null(copy);
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		bool known = strcmp(t, "-") == 0;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (strcmp(t, names[i].name) == 0) {
				f |= names[i].bit;
				known = true;
			}
		}
		if (!known)
			fail_msg("unknown flag %s", t);
	}
	free(copy);
	return f;
}

static bool same_str(const char *want, const char *got)
{
	if (strcmp(want, "-") == 0)
		return got == NULL;
	return got != NULL && strcmp(want, got) == 0;
}

static const char *decision_name(const struct route_decision *d)
{
	if (d->flags & ROUTE_F_PREPARE)
		return d->prepare_name;
	if (d->flags & ROUTE_F_EXECUTE)
		return d->execute_name;
	return d->deallocate_name;
}

/* Checks one decision against a corpus case; prints and counts mismatches. */
static int check(const struct corpus_case *cc, const struct route_decision *d, const char *how)
{
	int bad = 0;
	char why[512] = "";
	if (strcmp(cc->route, target_name(d->target)) != 0)
		snprintf(why, sizeof(why), "route %s", target_name(d->target));
	else if (d->target == ROUTE_REJECT &&
		 (d->sqlstate == NULL || cc->sqlstate == NULL || strcmp(cc->sqlstate, d->sqlstate)))
		snprintf(why, sizeof(why), "sqlstate %s", d->sqlstate ? d->sqlstate : "(null)");
	else if (d->target == ROUTE_REJECT && (d->message == NULL || d->message[0] == '\0'))
		snprintf(why, sizeof(why), "no message");
	else if (d->target != ROUTE_REJECT && (d->sqlstate || d->message))
		snprintf(why, sizeof(why), "error fields on a %s", target_name(d->target));
	else if (cc->table != NULL && !same_str(cc->table, d->table))
		snprintf(why, sizeof(why), "table %s", d->table ? d->table : "(null)");
	else if (cc->flags != NULL && parse_flags(cc->flags) != d->flags)
		snprintf(why, sizeof(why), "flags %#x want %#x", d->flags, parse_flags(cc->flags));
	else if (cc->name != NULL && !same_str(cc->name, decision_name(d)))
		snprintf(why, sizeof(why), "name %s", decision_name(d) ? decision_name(d) : "(null)");
	if (why[0] != '\0') {
		fprintf(stderr, "corpus line %d (%s): want %s %s, got %s\n  sql: %s\n  msg: %s\n",
			cc->line, how, cc->route, cc->sqlstate ? cc->sqlstate : "", why, cc->sql,
			d->message ? d->message : "-");
		bad++;
	}
	return bad;
}

/* Route a copy without a terminator, so reading past <len> trips ASan. */
static struct route_decision route_exact(struct router *r, const char *sql, size_t len)
{
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, sql, len);
	struct route_decision d;
	router_route(r, copy, len, NULL, &d);
	free(copy);
	return d;
}

static void test_corpus_routes(void **state)
{
	(void)state;
	struct corpus cp;
	assert_true(corpus_load("corpus/router.txt", &cp));
	assert_true(cp.n >= 200);
	struct router *cached = new_router(true, 4096, 16u << 20);
	struct router *uncached = new_router(true, 0, 0);
	int bad = 0;
	for (size_t i = 0; i < cp.n; i++) {
		const struct corpus_case *cc = &cp.cases[i];
		struct route_decision d;
		router_route(cached, cc->sql, cc->sql_len, NULL, &d);
		bad += check(cc, &d, "cold cache");
		router_route(cached, cc->sql, cc->sql_len, NULL, &d);
		bad += check(cc, &d, "warm cache");
		d = route_exact(uncached, cc->sql, cc->sql_len);
		bad += check(cc, &d, "no cache");
	}
	struct router_stats st;
	router_get_stats(cached, &st);
	printf("route corpus: %zu statements, %d mismatches; cache hits %llu, pre-filter %llu, "
	       "parses %llu\n", cp.n, bad, (unsigned long long)st.cache_hits,
	       (unsigned long long)st.prefilter_passes, (unsigned long long)st.full_parses);
	assert_int_equal(bad, 0);
	router_free(cached);
	router_free(uncached);
	corpus_free(&cp);
}

/*
 * The pre-filter may only skip a parse whose answer it can prove: Supabase,
 * no flags. Checked over every corpus text and case-changed variants of it.
 */
static void test_prefilter_is_sound(void **state)
{
	(void)state;
	struct corpus cp;
	assert_true(corpus_load("corpus/router.txt", &cp));
	struct router_legacy legacy = { .schema = "public", .tables = legacy_tables, .ntables = 3,
					.mysql_configured = true };
	struct route_policy *p = route_policy_new(&legacy);
	struct classify *c = classify_new(legacy_tables, 3);
	assert_non_null(p);
	assert_non_null(c);
	size_t passes = 0;
	/* Corpus texts, upper-cased, lower-cased, and with legacy names renamed. */
	for (size_t i = 0; i < cp.n; i++) {
		for (int variant = 0; variant < 4; variant++) {
			char *sql = strdup(cp.cases[i].sql);
			assert_non_null(sql);
			for (char *s = sql; *s && (variant == 1 || variant == 2); s++)
				*s = (char)(variant == 1 ? toupper((unsigned char)*s)
							 : tolower((unsigned char)*s));
			/* Variant 3 renames the legacy tables so many more texts qualify. */
			for (char *s = sql; variant == 3 && *s; s++) {
				if (strncmp(s, "customers", 9) == 0 || strncmp(s, "payments", 8) == 0)
					s[1] = 'x';
				else if (strncmp(s, "subscriptions", 13) == 0)
					s[1] = 'x';
			}
			size_t len = strlen(sql);
			if (classify_prefilter(c, sql, len)) {
				passes++;
				struct classify_result facts;
				struct route_result res;
				assert_true(classify_text(c, sql, len, &facts));
				route_decide(p, &facts, &res);
				if (res.target != ROUTE_SUPABASE || res.flags != 0)
					fail_msg("pre-filter passed \"%s\" but the parse says %s %#x",
						 sql, target_name(res.target), res.flags);
			}
			free(sql);
		}
	}
	printf("pre-filter soundness: %zu texts skipped the parse, all proven\n", passes);
	assert_true(passes > 60);
	classify_free(c);
	route_policy_free(p);
	corpus_free(&cp);
}

static void test_messages(void **state)
{
	(void)state;
	struct router *r = new_router(true, 16, 1u << 16);
	struct route_decision d = route_str(r, "DELETE FROM customers WHERE id = 1");
	assert_int_equal(d.target, ROUTE_REJECT);
	assert_string_equal(d.sqlstate, "25006");
	assert_string_equal(d.message,
			    "cannot write to \"customers\": legacy table served read-only from MySQL");
	assert_string_equal(d.table, "customers");
	assert_non_null(d.detail);
	assert_non_null(d.hint);
	assert_int_equal(d.fingerprint != 0, 1);

	d = route_str(r, "SELECT * FROM customers c JOIN workflows w ON true");
	assert_string_equal(d.sqlstate, "0A000");
	assert_non_null(strstr(d.message, "\"customers\" lives in MySQL and has no copy"));
	assert_non_null(strstr(d.detail, "Legacy tables without a Supabase copy: customers."));

	d = route_str(r, "SELEC * FROM payments");
	assert_string_equal(d.sqlstate, "42601");
	assert_non_null(strstr(d.message, "cannot parse"));
	assert_non_null(strstr(d.detail, "syntax error"));
	assert_int_equal(d.fingerprint, 0);

	/* A statement's position is given when a multi-statement text is refused. */
	d = route_str(r, "SELECT 1; SELECT 2; TRUNCATE payments");
	assert_non_null(strstr(d.detail, "Statement 3 of 3"));
	router_free(r);
}

/* A context for the cutover tests: fixed answers, and what was asked. */
struct fake_ctx {
	uint64_t supabase, copied;
	uint64_t asked;
	int calls;
};

static uint64_t fake_on_supabase(void *arg, uint64_t tables)
{
	struct fake_ctx *f = arg;
	f->asked |= tables;
	f->calls++;
	return f->supabase & tables;
}

static uint64_t fake_copied(void *arg)
{
	return ((struct fake_ctx *)arg)->copied;
}

static struct route_decision route_ctx(struct router *r, const char *sql, struct fake_ctx *f)
{
	struct route_context ctx = { fake_on_supabase, fake_copied, f };
	struct route_decision d;
	f->asked = 0;
	f->calls = 0;
	router_route(r, sql, strlen(sql), &ctx, &d);
	return d;
}

enum { CUST = 1, SUBS = 2, PAY = 4 }; /* legacy_tables order */

static void test_cutover_context(void **state)
{
	(void)state;
	struct router *r = new_router(true, 64, 1u << 16);
	struct fake_ctx f = { 0 };
	/* twice each: the parse, then the cache hit, must agree */
	for (int round = 0; round < 2; round++) {
		f.supabase = 0;
		f.copied = 0;
		struct route_decision d = route_ctx(r, "SELECT * FROM customers WHERE id = 1", &f);
		assert_int_equal(d.target, ROUTE_MYSQL);
		assert_int_equal(d.legacy_tables, CUST);
		assert_int_equal(f.asked, CUST);
		assert_false(d.flags & ROUTE_F_CUTOVER);

		f.supabase = CUST;
		d = route_ctx(r, "SELECT * FROM customers WHERE id = 1", &f);
		assert_int_equal(d.target, ROUTE_SUPABASE);
		assert_true(d.flags & ROUTE_F_CUTOVER);

		/* two groups on different sides: Supabase when the other has a copy ... */
		f.supabase = CUST;
		f.copied = PAY;
		d = route_ctx(r, "SELECT * FROM customers JOIN payments USING (id)", &f);
		assert_int_equal(d.target, ROUTE_SUPABASE);
		assert_int_equal(d.legacy_tables, CUST | PAY);
		/* ... else refused, naming both sides */
		f.copied = 0;
		d = route_ctx(r, "SELECT * FROM customers JOIN payments USING (id)", &f);
		assert_int_equal(d.target, ROUTE_REJECT);
		assert_string_equal(d.sqlstate, "0A000");
		assert_string_equal(d.table, "payments");
		assert_non_null(strstr(d.message, "\"customers\" is read from its Supabase copy, "
					"\"payments\" from MySQL"));
		assert_non_null(d.hint);

		/* legacy with platform tables: Supabase once every legacy table has a copy */
		f.supabase = 0;
		f.copied = CUST;
		d = route_ctx(r, "SELECT * FROM customers c JOIN workflows w ON true", &f);
		assert_int_equal(d.target, ROUTE_SUPABASE);
		assert_int_equal(f.calls, 0); /* no side needed: it runs on Supabase anyway */
		d = route_ctx(r, "SELECT * FROM customers c JOIN payments p USING (id) "
				 "JOIN workflows w ON true", &f);
		assert_int_equal(d.target, ROUTE_REJECT);
		assert_string_equal(d.table, "payments");
		assert_non_null(strstr(d.detail, "without a Supabase copy: payments."));

		/* writes are refused whatever the context */
		f.copied = CUST | SUBS | PAY;
		f.supabase = CUST | SUBS | PAY;
		d = route_ctx(r, "UPDATE customers SET name = 'x'", &f);
		assert_string_equal(d.sqlstate, "25006");

		/* platform-only text: the context is never asked */
		d = route_ctx(r, "SELECT * FROM workflows", &f);
		assert_int_equal(d.target, ROUTE_SUPABASE);
		assert_int_equal(f.calls, 0);

		/* a multi-statement text: whole on Supabase when all its reads are */
		d = route_ctx(r, "BEGIN; SELECT * FROM customers; SELECT * FROM payments; COMMIT", &f);
		assert_int_equal(d.target, ROUTE_SUPABASE);
		assert_true(d.flags & ROUTE_F_MULTI);
		f.supabase = CUST;
		d = route_ctx(r, "BEGIN; SELECT * FROM customers; SELECT * FROM payments; COMMIT", &f);
		assert_int_equal(d.target, ROUTE_MYSQL);
		assert_true(d.flags & ROUTE_F_CUTOVER);
	}
	/* ... whose pieces then go each to its side */
	struct router_piece pieces[8];
	struct route_context ctx = { fake_on_supabase, fake_copied, &f };
	const char *text = "BEGIN; SELECT * FROM customers; SELECT * FROM payments; COMMIT";
	f.supabase = CUST;
	f.copied = 0;
	size_t n = router_pieces(r, text, strlen(text), &ctx, pieces, 8);
	assert_int_equal(n, 4);
	assert_int_equal(pieces[1].target, ROUTE_SUPABASE);
	assert_int_equal(pieces[1].legacy_tables, CUST);
	assert_int_equal(pieces[2].target, ROUTE_MYSQL);
	assert_int_equal(pieces[2].legacy_tables, PAY);
	router_free(r);
}

static void test_mysql_not_configured(void **state)
{
	(void)state;
	struct router *r = new_router(false, 16, 1u << 16);
	struct route_decision d = route_str(r, "SELECT * FROM customers");
	assert_int_equal(d.target, ROUTE_REJECT);
	assert_string_equal(d.sqlstate, "0A000");
	assert_non_null(strstr(d.message, "MySQL backend is not configured"));
	assert_string_equal(d.table, "customers");
	d = route_str(r, "UPDATE customers SET a = 1");
	assert_string_equal(d.sqlstate, "25006");
	d = route_str(r, "SELECT * FROM workflows");
	assert_int_equal(d.target, ROUTE_SUPABASE);
	router_free(r);
}

/* Unqualified names resolve to the configured legacy schema, whatever it is. */
static void test_other_legacy_schema(void **state)
{
	(void)state;
	static const char *const tables[] = { "Orders", "items" };
	struct router_legacy legacy = { .schema = "shop", .tables = tables, .ntables = 2,
					.mysql_configured = true };
	struct router *r = router_new(&legacy, 0, 0);
	assert_non_null(r);
	assert_int_equal(route_str(r, "SELECT * FROM items").target, ROUTE_MYSQL);
	assert_int_equal(route_str(r, "SELECT * FROM shop.items").target, ROUTE_MYSQL);
	assert_int_equal(route_str(r, "SELECT * FROM public.items").target, ROUTE_SUPABASE);
	/* Names compare exactly after folding: Orders needs quotes. */
	assert_int_equal(route_str(r, "SELECT * FROM \"Orders\"").target, ROUTE_MYSQL);
	assert_int_equal(route_str(r, "SELECT * FROM Orders").target, ROUTE_SUPABASE);
	assert_int_equal(route_str(r, "GRANT SELECT ON ALL TABLES IN SCHEMA shop TO x").target,
			 ROUTE_REJECT);
	assert_int_equal(route_str(r, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO x").target,
			 ROUTE_SUPABASE);
	router_free(r);

	/* No schema given means public; no tables means nothing is legacy. */
	struct router_legacy empty = { 0 };
	r = router_new(&empty, 8, 4096);
	assert_non_null(r);
	assert_int_equal(route_str(r, "DELETE FROM customers").target, ROUTE_SUPABASE);
	assert_int_equal(route_str(r, "DROP SCHEMA public").target, ROUTE_SUPABASE);
	router_free(r);
	router_free(NULL);
}

static void test_stats_and_cache(void **state)
{
	(void)state;
	struct router *r = new_router(true, 16, 1u << 16);
	struct router_stats st;
	struct route_decision d = route_str(r, "SELECT * FROM workflows WHERE id = $1");
	assert_int_equal(d.target, ROUTE_SUPABASE);
	d = route_str(r, "SELECT * FROM workflows WHERE id = $1");
	d = route_str(r, "SELECT * FROM customers WHERE id = $1");
	assert_int_equal(d.target, ROUTE_MYSQL);
	d = route_str(r, "SELECT * FROM customers WHERE id = $1");
	assert_int_equal(d.target, ROUTE_MYSQL);
	router_get_stats(r, &st);
	/* Pre-filter passes are not cached: the scan is as cheap as a lookup. */
	assert_int_equal(st.prefilter_passes, 2);
	assert_int_equal(st.full_parses, 1);
	assert_int_equal(st.cache_hits, 1);
	assert_int_equal(st.cache_entries, 1);
	assert_true(st.cache_bytes > 0);

	/* Refusals are cached too, with every string intact. */
	d = route_str(r, "PREPARE p AS DELETE FROM payments");
	char message[256];
	snprintf(message, sizeof(message), "%s", d.message);
	d = route_str(r, "PREPARE p AS DELETE FROM payments");
	assert_string_equal(d.message, message);
	assert_string_equal(d.prepare_name, "p");
	assert_int_equal(d.flags, ROUTE_F_PREPARE | ROUTE_F_SESSION_STATE);
	router_get_stats(r, &st);
	assert_int_equal(st.cache_hits, 2);
	router_free(r);
}

/* Bounded in entries and bytes; a huge statement is answered but not cached. */
static void test_cache_bounds(void **state)
{
	(void)state;
	size_t max_entries = 64, max_bytes = 64u << 10;
	struct router *r = new_router(true, max_entries, max_bytes);
	struct router_stats st;
	char sql[128];
	for (int i = 0; i < 2000; i++) {
		snprintf(sql, sizeof(sql), "SELECT * FROM %s WHERE id = %d",
			 i % 2 ? "customers" : "workflows", i);
		struct route_decision d = route_str(r, sql);
		assert_int_equal(d.target, i % 2 ? ROUTE_MYSQL : ROUTE_SUPABASE);
		router_get_stats(r, &st);
		assert_true(st.cache_entries <= max_entries);
		assert_true(st.cache_bytes <= max_bytes);
	}
	size_t n = 100000, len = 0, cap = n * 8 + 64; /* ~700 KB: parsed, too big to cache */
	char *huge = malloc(cap);
	assert_non_null(huge);
	len += (size_t)snprintf(huge, cap, "SELECT * FROM customers WHERE id IN (0");
	for (size_t i = 1; i < n; i++)
		len += (size_t)snprintf(huge + len, cap - len, ",%zu", i);
	len += (size_t)snprintf(huge + len, cap - len, ")");
	size_t before_bytes;
	router_get_stats(r, &st);
	before_bytes = st.cache_bytes;
	struct route_decision d;
	router_route(r, huge, len, NULL, &d);
	assert_int_equal(d.target, ROUTE_MYSQL);
	router_get_stats(r, &st);
	assert_true(st.cache_bytes <= before_bytes);
	free(huge);
	router_free(r);
}

static void test_length_is_honoured(void **state)
{
	(void)state;
	struct router *r = new_router(true, 16, 1u << 16);
	const char *sql = "SELECT * FROM workflows; DELETE FROM customers";
	struct route_decision d = route_exact(r, sql, 23);
	assert_int_equal(d.target, ROUTE_SUPABASE);
	d = route_exact(r, sql, strlen(sql));
	assert_int_equal(d.target, ROUTE_REJECT);
	d = route_exact(r, "SELECT * FROM customers", 23);
	assert_int_equal(d.target, ROUTE_MYSQL);
	/* A zero byte could make a backend read less than switchyard checked. */
	static const char nul[] = "SELECT 1\0; DELETE FROM customers";
	router_route(r, nul, sizeof(nul) - 1, NULL, &d);
	assert_int_equal(d.target, ROUTE_REJECT);
	assert_string_equal(d.sqlstate, "08P01");
	router_route(r, NULL, 0, NULL, &d);
	assert_int_equal(d.target, ROUTE_SUPABASE);
	assert_int_equal(d.flags, ROUTE_F_EMPTY);
	d = route_str(r, "   \n\t ");
	assert_int_equal(d.flags, ROUTE_F_EMPTY);
	router_free(r);
}

/* Past CLASSIFY_MAX_TEXT nothing is parsed: rule 7 on the raw bytes. */
static void test_too_long(void **state)
{
	(void)state;
	struct router *r = new_router(true, 16, 1u << 16);
	size_t len = CLASSIFY_MAX_TEXT + 100;
	char *sql = malloc(len);
	assert_non_null(sql);
	memset(sql, ' ', len);
	memcpy(sql, "BEGIN;", 6);
	memcpy(sql + len - 24, "SELECT * FROM workflows", 23);
	struct route_decision d;
	router_route(r, sql, len, NULL, &d);
	assert_int_equal(d.target, ROUTE_SUPABASE);
	memcpy(sql + len - 24, "SELECT * FROM customers", 23);
	router_route(r, sql, len, NULL, &d);
	assert_int_equal(d.target, ROUTE_REJECT);
	assert_string_equal(d.sqlstate, "54000");
	assert_string_equal(d.table, "customers");
	free(sql);
	router_free(r);
}

/* Out of memory cannot be provoked here; the decision it leads to can. */
static void test_unchecked_decisions(void **state)
{
	(void)state;
	struct router_legacy legacy = { .schema = "public", .tables = legacy_tables, .ntables = 3 };
	struct route_policy *p = route_policy_new(&legacy);
	assert_non_null(p);
	struct route_result res;
	route_unchecked(p, ROUTE_U_OOM, true, "customers", 10, &res);
	assert_int_equal(res.target, ROUTE_REJECT);
	assert_string_equal(res.sqlstate, "53200");
	assert_string_equal(res.table, "customers");
	route_unchecked(p, ROUTE_U_OOM, true, NULL, 10, &res);
	assert_int_equal(res.target, ROUTE_REJECT);
	assert_non_null(strstr(res.message, "escapes"));
	route_unchecked(p, ROUTE_U_OOM, false, NULL, 10, &res);
	assert_int_equal(res.target, ROUTE_SUPABASE);
	assert_true(route_is_legacy(p, NULL, "payments"));
	assert_true(route_is_legacy(p, "public", "payments"));
	assert_false(route_is_legacy(p, "Public", "payments"));
	assert_false(route_is_legacy(p, NULL, "Payments"));
	route_policy_free(p);
	route_policy_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_routes),
		cmocka_unit_test(test_prefilter_is_sound),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_cutover_context),
		cmocka_unit_test(test_mysql_not_configured),
		cmocka_unit_test(test_other_legacy_schema),
		cmocka_unit_test(test_stats_and_cache),
		cmocka_unit_test(test_cache_bounds),
		cmocka_unit_test(test_length_is_honoured),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_unchecked_decisions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

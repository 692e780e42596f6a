/*
 * test_classify — statement facts: kinds, relations read/written/mentioned,
 * doubts, flags, identifier rules, depth limits and the pre-filter.
 *
 * The bulk is table-driven from corpus/router.txt (shared with
 * test_route.c); the functions below cover what a table row cannot: exact
 * strings of decoded names, statement offsets, pathological sizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/classify.h"
#include "tests/unit/corpus/corpus.h"

static const char *const legacy[] = { "customers", "subscriptions", "payments" };

static struct classify *new_classifier(void)
{
	struct classify *c = classify_new(legacy, 3);
	assert_non_null(c);
	return c;
}

static const struct classify_result *run(struct classify *c, const char *sql,
					 struct classify_result *res)
{
	assert_true(classify_text(c, sql, strlen(sql), res));
	return res;
}

/* "schema.name" lists of the relations with <role>, canonical (sorted). */
static void rel_list(const struct classify_result *res, unsigned role, char *out, size_t cap)
{
	char joined[8192] = "";
	size_t len = 0;
	for (size_t i = 0; i < res->nstmts; i++) {
		for (size_t k = 0; k < res->stmts[i].nrels; k++) {
			const struct classify_rel *r = &res->stmts[i].rels[k];
			if (!(r->roles & role) || len >= sizeof(joined))
				continue;
			len += (size_t)snprintf(joined + len, sizeof(joined) - len, "%s%s%s%s",
						len ? "," : "", r->schema ? r->schema : "",
						r->schema ? "." : "", r->name ? r->name : "*");
		}
	}
	corpus_canon(joined, out, cap);
}

/* Kinds in statement order; a kind's own spaces become '_' ("COPY_TO"). */
static void kind_list(const struct classify_result *res, char *out, size_t cap)
{
	size_t len = 0;
	for (size_t i = 0; i < res->nstmts && len + 1 < cap; i++) {
		if (i > 0)
			out[len++] = ' ';
		for (const char *k = classify_kind_name(res->stmts[i].kind); *k && len + 1 < cap; k++)
			out[len++] = *k == ' ' ? '_' : *k;
	}
	out[len] = '\0';
	if (res->nstmts == 0)
		snprintf(out, cap, "-");
}

static const char *doubt_name(enum classify_doubt d)
{
	switch (d) {
	case CLASSIFY_D_NONE: return "NONE";
	case CLASSIFY_D_UNPARSEABLE: return "UNPARSEABLE";
	case CLASSIFY_D_DYNAMIC_SQL: return "DYNAMIC_SQL";
	case CLASSIFY_D_TOO_COMPLEX: return "TOO_COMPLEX";
	case CLASSIFY_D_UNKNOWN_STMT: return "UNKNOWN_STMT";
	case CLASSIFY_D_INTERNAL: return "INTERNAL";
	}
	return "?";
}

static const char *first_doubt(const struct classify_result *res)
{
	for (size_t i = 0; i < res->nstmts; i++) {
		if (res->stmts[i].doubt != CLASSIFY_D_NONE)
			return doubt_name(res->stmts[i].doubt);
	}
	return "NONE";
}

static int check_list(const struct corpus_case *cc, const char *what, const char *expected,
		      const char *actual)
{
	char want[8192];
	if (expected == NULL)
		return 0;
	corpus_canon(expected, want, sizeof(want));
	if (strcmp(want, actual) == 0)
		return 0;
	fprintf(stderr, "corpus line %d: %s: want [%s] got [%s]\n  sql: %s\n", cc->line, what,
		want, actual, cc->sql);
	return 1;
}

static int check_case(struct classify *c, const struct corpus_case *cc)
{
	struct classify_result res;
	if (!classify_text(c, cc->sql, cc->sql_len, &res)) {
		fprintf(stderr, "corpus line %d: out of memory\n", cc->line);
		return 1;
	}
	char got[8192];
	int bad = 0;
	if (cc->kind != NULL) {
		kind_list(&res, got, sizeof(got));
		if (strcmp(got, cc->kind) != 0) {
			fprintf(stderr, "corpus line %d: kind: want [%s] got [%s]\n  sql: %s\n",
				cc->line, cc->kind, got, cc->sql);
			bad++;
		}
	}
	rel_list(&res, CLASSIFY_R_READ, got, sizeof(got));
	bad += check_list(cc, "reads", cc->reads, got);
	rel_list(&res, CLASSIFY_R_WRITE, got, sizeof(got));
	bad += check_list(cc, "writes", cc->writes, got);
	rel_list(&res, CLASSIFY_R_MENTION, got, sizeof(got));
	bad += check_list(cc, "mentions", cc->mentions, got);
	if (cc->doubt != NULL && strcmp(cc->doubt, first_doubt(&res)) != 0) {
		fprintf(stderr, "corpus line %d: doubt: want %s got %s\n  sql: %s\n", cc->line,
			cc->doubt, first_doubt(&res), cc->sql);
		bad++;
	}
	return bad;
}

static void test_corpus_facts(void **state)
{
	(void)state;
	struct corpus cp;
	assert_true(corpus_load("corpus/router.txt", &cp));
	assert_true(cp.n >= 200);
	struct classify *c = new_classifier();
	int bad = 0;
	for (size_t i = 0; i < cp.n; i++)
		bad += check_case(c, &cp.cases[i]);
	printf("classify corpus: %zu statements, %d mismatches\n", cp.n, bad);
	assert_int_equal(bad, 0);
	classify_free(c);
	corpus_free(&cp);
}

/* Decoded identifiers keep their exact bytes: quotes doubled, case kept, escapes undone. */
static void test_identifier_rules(void **state)
{
	(void)state;
	struct classify *c = new_classifier();
	struct classify_result res;
	run(c, "SELECT * FROM \"Sch\".\"Na\"\"me\", U&\"d\\0061t\\+000061\" , MiXeD", &res);
	assert_int_equal(res.nstmts, 1);
	assert_int_equal(res.stmts[0].nrels, 3);
	assert_string_equal(res.stmts[0].rels[0].schema, "Sch");
	assert_string_equal(res.stmts[0].rels[0].name, "Na\"me");
	assert_null(res.stmts[0].rels[1].schema);
	assert_string_equal(res.stmts[0].rels[1].name, "data");
	assert_string_equal(res.stmts[0].rels[2].name, "mixed");
	classify_free(c);
}

static void test_statement_spans(void **state)
{
	(void)state;
	struct classify *c = new_classifier();
	struct classify_result res;
	const char *sql = "SELECT 1; DELETE FROM customers ;  SELEC 2";
	run(c, sql, &res);
	assert_int_equal(res.nstmts, 3);
	assert_int_equal(res.stmts[0].offset, 0);
	assert_int_equal(res.stmts[1].offset, 9);
	assert_memory_equal(sql + res.stmts[1].offset + 1, "DELETE", 6);
	assert_int_equal(res.stmts[2].doubt, CLASSIFY_D_UNPARSEABLE);
	assert_non_null(res.stmts[2].error);
	assert_int_equal(res.fingerprint, 0); /* the text as a whole does not parse */
	run(c, "SELECT 1; SELECT 2", &res);
	assert_int_equal(res.nstmts, 2);
	assert_int_not_equal(res.fingerprint, 0);
	classify_free(c);
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * n + tl + 1);
	assert_non_null(s);
	memcpy(s, head, hl);
	for (size_t i = 0; i < n; i++)
		memcpy(s + hl + i * ul, unit, ul);
	memcpy(s + hl + ul * n, tail, tl + 1);
	return s;
}

/* Beyond the depth limit the facts are in doubt, and the text decides (rule 7). */
static void test_deep_nesting(void **state)
{
	(void)state;
	struct classify *c = new_classifier();
	struct classify_result res;
	char *open = repeat("SELECT * FROM ", "(SELECT * FROM ", 300, "customers");
	char *sql = repeat(open, ") s", 300, "");
	assert_true(classify_text(c, sql, strlen(sql), &res));
	assert_int_equal(res.nstmts, 1);
	assert_int_equal(res.stmts[0].doubt, CLASSIFY_D_TOO_COMPLEX);
	bool mentioned = false;
	for (size_t i = 0; i < res.stmts[0].nrels; i++)
		mentioned |= strcmp(res.stmts[0].rels[i].name, "customers") == 0;
	assert_true(mentioned);
	free(open);
	free(sql);

	/* Wide but shallow shapes stay exact: a long UNION chain and a long expression. */
	sql = repeat("SELECT 1 FROM workflows", " UNION ALL SELECT 1 FROM payments", 3000, "");
	run(c, sql, &res);
	assert_int_equal(res.stmts[0].doubt, CLASSIFY_D_NONE);
	assert_int_equal(res.stmts[0].nrels, 2);
	free(sql);
	sql = repeat("SELECT 1", " + 1", 20000, " FROM customers");
	run(c, sql, &res);
	assert_int_equal(res.stmts[0].doubt, CLASSIFY_D_NONE);
	assert_int_equal(res.stmts[0].nrels, 1);
	free(sql);
	classify_free(c);
}

/* Thousands of distinct relations: deduplicated through the hash index. */
static void test_many_relations(void **state)
{
	(void)state;
	struct classify *c = new_classifier();
	size_t n = 3000, cap = n * 48 + 64, len = 0;
	char *sql = malloc(cap);
	assert_non_null(sql);
	len += (size_t)snprintf(sql, cap, "SELECT 1 FROM t0");
	for (size_t i = 1; i < n; i++)
		len += (size_t)snprintf(sql + len, cap - len, " UNION SELECT 1 FROM t%zu, t%zu", i,
					i - 1);
	struct classify_result res;
	run(c, sql, &res);
	assert_int_equal(res.stmts[0].nrels, n);
	free(sql);
	classify_free(c);
}

/* A text of thousands of statements, then a small one: scratch is released, results intact. */
static void test_many_statements(void **state)
{
	(void)state;
	struct classify *c = new_classifier();
	char *sql = repeat("SELECT 1", "; SELECT * FROM workflows", 5000, "; DELETE FROM payments");
	struct classify_result res;
	run(c, sql, &res);
	assert_int_equal(res.nstmts, 5002);
	assert_int_equal(res.stmts[5001].kind, CLASSIFY_K_DELETE);
	assert_string_equal(res.stmts[5001].rels[0].name, "payments");
	free(sql);
	run(c, "SELECT 1", &res);
	assert_int_equal(res.nstmts, 1);
	assert_int_equal(res.stmts[0].kind, CLASSIFY_K_SELECT);
	classify_free(c);
}

static void test_prefilter(void **state)
{
	(void)state;
	struct classify *c = new_classifier();
	static const char *const pass[] = {
		"SELECT * FROM workflows",
		"  select 1;  ",
		"INSERT INTO message_logs VALUES ($1, $2)",
		"UPDATE workflow_runs SET status = 'x' WHERE id = $1",
		"WITH x AS (SELECT 1) SELECT * FROM x",
		"DELETE FROM daily_statistics",
		"VALUES (1)",
	};
	static const char *const fail[] = {
		"SELECT * FROM customers",            /* names a legacy table */
		"SELECT * FROM workflows -- PAYMENTS", /* even in a comment, any case */
		"SELECT * FROM U&\"\\0063ustomers\"", /* escape */
		"SELECT E'\\x41'",                    /* escape */
		"SELECT 1; SELECT 2",                 /* two statements */
		"SELECT set_config('a', 'b', false)", /* session state */
		"SELECT pg_advisory_lock(1)",         /* session state */
		"SELECT * INTO TEMP x FROM workflows", /* creates a table */
		"BEGIN",                              /* not a plain statement */
		"/* c */ SELECT 1",                   /* starts with a comment */
		"SELECT 'cust'\n'omers'",             /* literal continued across a newline */
		"",
	};
	for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++)
		assert_true(classify_prefilter(c, pass[i], strlen(pass[i])));
	for (size_t i = 0; i < sizeof(fail) / sizeof(fail[0]); i++)
		assert_false(classify_prefilter(c, fail[i], strlen(fail[i])));
	/* Length is honoured: the legacy name sits past <len>. */
	const char *cut = "SELECT 1 FROM workflows customers";
	assert_true(classify_prefilter(c, cut, 23));
	char nul[] = "SELECT 1\0customers";
	assert_false(classify_prefilter(c, nul, sizeof(nul) - 1));
	classify_free(c);
}

static void test_raw_mentions(void **state)
{
	(void)state;
	struct classify *c = new_classifier();
	const char *first = NULL;
	assert_true(classify_raw_mentions(c, "xx PAYMENTS yy", 14, &first));
	assert_string_equal(first, "payments");
	assert_true(classify_raw_mentions(c, "U&\"x\"", 5, &first));
	assert_null(first);
	assert_false(classify_raw_mentions(c, "SELECT 1", 8, &first));
	classify_free(c);
}

static void test_reuse_and_kinds(void **state)
{
	(void)state;
	struct classify *c = new_classifier();
	struct classify_result res;
	for (int round = 0; round < 200; round++) {
		run(c, "WITH d AS (DELETE FROM customers RETURNING *) SELECT * FROM d, workflows",
		    &res);
		assert_int_equal(res.stmts[0].nrels, 2);
	}
	for (int k = 0; k < CLASSIFY_K_COUNT; k++)
		assert_non_null(classify_kind_name((enum classify_kind)k));
	assert_string_equal(classify_kind_name((enum classify_kind)999), "UNKNOWN");
	/* No watched names at all: nothing is ever mentioned. */
	struct classify *none = classify_new(NULL, 0);
	assert_non_null(none);
	run(none, "DO $$BEGIN DELETE FROM customers; END$$", &res);
	assert_int_equal(res.stmts[0].nrels, 0);
	classify_free(none);
	classify_free(c);
	classify_free(NULL);
}

/* Bytes that are not SQL at all must not crash the scanner paths. */
static void test_garbage(void **state)
{
	(void)state;
	struct classify *c = new_classifier();
	struct classify_result res;
	static const char *const junk[] = {
		"\xff\xfe\xfd", "'", "\"", "$$", "$a$", "U&\"\\", "E'\\", "/*", "--",
		"SELECT U&'\\D800' FROM customers", "DO $$ $$", "DO 'x' LANGUAGE",
		"SELECT \"\xc3\x28\" FROM customers", "COPY", ";;;;", "(((((", "SELECT $1customers",
	};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		assert_true(classify_text(c, junk[i], strlen(junk[i]), &res));
	classify_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_facts),
		cmocka_unit_test(test_identifier_rules),
		cmocka_unit_test(test_statement_spans),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_many_relations),
		cmocka_unit_test(test_many_statements),
		cmocka_unit_test(test_prefilter),
		cmocka_unit_test(test_raw_mentions),
		cmocka_unit_test(test_reuse_and_kinds),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_pipeline — the request queue against the reply sequences Postgres
 * really produces (each case's replies were taken from a PostgreSQL 15
 * server answering the same client messages; tests/integration/
 * test_pipeline_order.py replays them through switchyard end to end).
 *
 * A case is written as: the client messages ("PBES" = Parse Bind Execute
 * Sync, lower-case l = a local entry, q = a Query carrying a refusal
 * substitution), then the upstream replies, each followed by what the queue
 * said: p pass, d drop, s substitute, x desync, and the entries that became
 * ready after it in brackets (kind letter, upper case when local).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/pipeline.h"

static const char kind_letter[] = {
	[PL_PARSE] = 'P', [PL_BIND] = 'B', [PL_DESCRIBE] = 'D', [PL_EXECUTE] = 'E',
	[PL_CLOSE] = 'C', [PL_SYNC] = 'S', [PL_FLUSH] = 'H', [PL_QUERY] = 'Q',
	[PL_FUNCTION] = 'F', [PL_COPY_END] = 'c',
};

static enum pl_kind kind_of(char c)
{
	switch (c) {
	case 'P': return PL_PARSE;
	case 'B': return PL_BIND;
	case 'D': return PL_DESCRIBE;
	case 'E': return PL_EXECUTE;
	case 'C': return PL_CLOSE;
	case 'S': return PL_SYNC;
	case 'H': return PL_FLUSH;
	case 'Q': case 'q': return PL_QUERY;
	case 'F': return PL_FUNCTION;
	case 'c': return PL_COPY_END;
	default: fail_msg("bad client letter %c", c); return PL_PARSE;
	}
}

static void push_all(struct pipeline *q, const char *client)
{
	for (const char *c = client; *c; c++) {
		bool local = *c == 'l';
		enum pl_kind k = local ? kind_of(*++c) : kind_of(*c);
		uint8_t *msg = NULL;
		if (*c == 'q' || local) {
			msg = malloc(4);
			memcpy(msg, "ERR", 4);
		}
		struct pl_entry *e = pipeline_push(q, k, local ? PL_LOCAL : PL_UPSTREAM, 0, msg,
						   msg ? 4 : 0);
		assert_non_null(e);
	}
}

/* Pops what is ready, appending "[..]" to <out> if anything was. */
static void pop_ready(struct pipeline *q, char *out, size_t cap)
{
	struct pl_entry e;
	bool local;
	char buf[64];
	size_t n = 0;

	while (pipeline_pop_ready(q, &e, &local) && n + 2 < sizeof(buf)) {
		char l = kind_letter[e.kind];
		buf[n++] = local ? l : (char)(l | 0x20);
		free(e.msg);
	}
	buf[n] = '\0';
	if (n > 0) {
		strncat(out, "[", cap - strlen(out) - 1);
		strncat(out, buf, cap - strlen(out) - 1);
		strncat(out, "]", cap - strlen(out) - 1);
	}
}

/*
 * Replies: a type letter; after 'Z' the status; 'E' is a plain error, '!' a
 * marker error (the refusal's SQLSTATE), '#' a FATAL.
 */
static void feed(struct pipeline *q, const char *replies, char *out, size_t cap)
{
	static const char verdict[] = { [PL_V_PASS] = 'p', [PL_V_DROP] = 'd', [PL_V_SUBST] = 's',
					[PL_V_DESYNC] = 'x' };
	out[0] = '\0';
	pop_ready(q, out, cap);
	for (const char *c = replies; *c; c++) {
		struct pl_reply r = { .type = (uint8_t)*c };
		struct pl_result res;
		if (*c == '!' || *c == '#') {
			r.type = 'E';
			r.marker_error = *c == '!';
			r.fatal = *c == '#';
		}
		if (*c == 'Z')
			r.status = *++c;
		pipeline_upstream(q, &r, &res);
		free(res.entry.msg);
		char v[2] = { verdict[res.verdict], 0 };
		strncat(out, v, cap - strlen(out) - 1);
		pop_ready(q, out, cap);
	}
}

static void check(const char *client, const char *replies, const char *want, size_t left)
{
	struct pipeline q;
	char got[256];

	pipeline_init(&q);
	push_all(&q, client);
	feed(&q, replies, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("client %s replies %s: got %s, want %s", client, replies, got, want);
	assert_int_equal(q.n, left);
	pipeline_free(&q);
}

static void test_extended_happy_path(void **state)
{
	(void)state;
	/* libpq's PQexecParams: P B D E S -> 1 2 T D C Z */
	check("PBDES", "12TDCZI", "pppppp", 0);
	/* Describe of a statement: ParameterDescription then RowDescription or NoData. */
	check("PDS", "1tnZI", "pppp", 0);
	/* Execute with a row limit: PortalSuspended ends it; the next Execute goes on. */
	check("PBEES", "12DsDCZT", "ppppppp", 0);
}

static void test_error_skips_to_sync(void **state)
{
	(void)state;
	/*
	 * The issue's first reproduction: P("SELECT 1/0") B E Q("SELECT 2") S. Bind
	 * fails (constant folding), Postgres ignores E and the Query, answers the Sync.
	 */
	check("PBEQS", "1EZI", "pp[eq]p", 0);
	/* The next pipeline is placed normally again. */
	check("PBEQSQ", "1EZITCZI", "pp[eq]pppp", 0);
	/* An error with no Sync queued yet: what the client sends next is skipped too. */
	struct pipeline q;
	char got[64];
	pipeline_init(&q);
	push_all(&q, "PB");
	feed(&q, "E", got, sizeof(got));
	assert_string_equal(got, "p[b]");
	assert_true(q.upstream_skipping);
	push_all(&q, "EQS");
	feed(&q, "ZE", got, sizeof(got));
	assert_string_equal(got, "[eq]p");
	assert_true(pipeline_empty(&q));
	assert_int_equal(q.txn, PL_TXN_FAILED);
	pipeline_free(&q);
}

static void test_query_results(void **state)
{
	(void)state;
	/* A multi-statement Query: results, then one ReadyForQuery; errors stop it there. */
	check("Q", "TDCTDDCZI", "pppppppp", 0);
	check("QQ", "TDCEZIZI", "pppppp", 0);
	/* Empty query string. */
	check("Q", "IZI", "pp", 0);
	/* A Query between extended messages gets its own ReadyForQuery. */
	check("PBEQS", "12CTDCZIZI", "pppppppp", 0);
}

static void test_copy_in(void **state)
{
	(void)state;
	/*
	 * libpq's extended COPY FROM STDIN: P B E S, then after CopyInResponse the
	 * data, CopyDone and another Sync. The first Sync is read as COPY data.
	 */
	struct pipeline q;
	char got[64];
	pipeline_init(&q);
	push_all(&q, "PBES");
	feed(&q, "12G", got, sizeof(got));
	assert_string_equal(got, "ppp");
	assert_true(q.copy_in);
	push_all(&q, "cS");
	feed(&q, "CZI", got, sizeof(got));
	assert_string_equal(got, "p[sc]p");
	assert_true(pipeline_empty(&q));
	pipeline_free(&q);
	/* Simple-query COPY: Syncs and Flushes sent inside it are data; CopyDone ends it. */
	check("QHSc", "GCZI", "ppp[hsc]", 0);
	/* COPY fails before CopyDone: the upstream skips to the Sync the client sends next. */
	check("PBESc", "12GE", "pppp[sc]", 0);
}

static void test_copy_in_error_then_sync(void **state)
{
	(void)state;
	check("PBEScS", "12GEZI", "pppp[sc]p", 0);
}

static void test_copy_out(void **state)
{
	(void)state;
	check("Q", "HddcCZI", "pppppp", 0);
	check("PBES", "12HdcCZI", "ppppppp", 0);
}

static void test_refusal_substitution(void **state)
{
	(void)state;
	/* A marker Query: its error is replaced; Z still follows. */
	check("q", "!ZT", "sp", 0);
	/* In an aborted transaction the marker earns 25P02, which passes unchanged. */
	check("q", "EZE", "pp", 0);
	/* A client's own error that looks like the marker's is never replaced. */
	check("Q", "!ZI", "pp", 0);
	/* An earlier error makes the upstream skip the marker: no answer at all. */
	check("PBEqS", "1EZI", "pp[eq]p", 0);
}

static void test_local_waits_for_head(void **state)
{
	(void)state;
	/* A local answer behind upstream work is written only when its turn comes. */
	check("QlQ", "TDC", "ppp", 2);
	check("QlQ", "TDCZI", "pppp[Q]", 0);
	/* A local entry at the head is ready at once. */
	check("lQQ", "TCZI", "[Q]ppp", 0);
	/* Skipped by an earlier error: the local answer is dropped with the rest. */
	check("PBlPS", "E", "p[bp]", 1);
}

static void test_desync_and_async(void **state)
{
	(void)state;
	/* Replies that answer nothing, or a kind that cannot answer the head. */
	check("", "1", "x", 0);
	check("Q", "1", "x", 1);
	check("S", "ZX", "x", 1);
	check("P", "2", "x", 1);
	/* Notices, notifications and ParameterStatus can come any time, even idle. */
	check("", "NAS", "ppp", 0);
	check("Q", "NSTDNCZI", "ppppppp", 0);
	/* A FATAL passes whatever the queue holds, and retires nothing. */
	check("", "#", "p", 0);
	check("PBES", "#", "p", 4);
}

static void test_hidden_entries(void **state)
{
	(void)state;
	struct pipeline q;
	char got[64];
	pipeline_init(&q);
	/* An injected Parse: its ParseComplete is swallowed, its error is not. */
	assert_non_null(pipeline_push(&q, PL_PARSE, PL_UPSTREAM, PL_F_HIDE_OK, NULL, 0));
	push_all(&q, "BES");
	feed(&q, "12CZI", got, sizeof(got));
	assert_string_equal(got, "dppp");
	assert_non_null(pipeline_push(&q, PL_PARSE, PL_UPSTREAM, PL_F_HIDE_OK, NULL, 0));
	push_all(&q, "BES");
	feed(&q, "EZI", got, sizeof(got));
	assert_string_equal(got, "p[be]p");
	/* An injected Query (SET replay): nothing of it reaches the client. */
	assert_non_null(pipeline_push(&q, PL_QUERY, PL_UPSTREAM, PL_F_HIDE_ALL, NULL, 0));
	push_all(&q, "Q");
	feed(&q, "CSZITCZI", got, sizeof(got));
	assert_string_equal(got, "dddppp");
	assert_true(pipeline_empty(&q));
	pipeline_free(&q);
}

static void test_mysql_entries(void **state)
{
	(void)state;
	struct pipeline q;
	struct pl_entry e;
	bool local;
	pipeline_init(&q);
	/* An upstream Query, then a MySQL answer: it waits behind the Query's replies. */
	assert_non_null(pipeline_push(&q, PL_QUERY, PL_UPSTREAM, 0, NULL, 0));
	struct pl_entry *m = pipeline_push(&q, PL_QUERY, PL_MYSQL, 0, NULL, 0);
	assert_non_null(m);
	assert_false(pipeline_pop_ready(&q, &e, &local));
	struct pl_reply z = { .type = 'Z', .status = 'I' };
	struct pl_result res;
	pipeline_upstream(&q, &z, &res);
	assert_true(res.retired);
	/* At the head now, but never "ready": it retires when its work ends. */
	assert_false(pipeline_pop_ready(&q, &e, &local));
	assert_int_equal(pipeline_head(&q)->producer, PL_MYSQL);
	assert_int_equal(pipeline_upstream_owed(&q), 0);
	/* An upstream reply has nothing to answer while it is the head. */
	struct pl_reply c = { .type = 'C' };
	pipeline_upstream(&q, &c, &res);
	assert_int_equal(res.verdict, PL_V_DESYNC);
	assert_true(pipeline_pop_head(&q, &e));
	assert_true(pipeline_empty(&q));
	/* seg_upstream: only extended messages the upstream reads, reset at Sync. */
	assert_non_null(pipeline_push(&q, PL_PARSE, PL_LOCAL, 0, NULL, 0));
	assert_false(q.seg_upstream);
	assert_non_null(pipeline_push(&q, PL_FLUSH, PL_UPSTREAM, 0, NULL, 0));
	assert_false(q.seg_upstream);
	assert_non_null(pipeline_push(&q, PL_BIND, PL_UPSTREAM, 0, NULL, 0));
	assert_true(q.seg_upstream);
	assert_non_null(pipeline_push(&q, PL_SYNC, PL_UPSTREAM, 0, NULL, 0));
	assert_false(q.seg_upstream);
	pipeline_free(&q);
	/* A split Query: rows and errors pass, its ReadyForQuery does not. */
	pipeline_init(&q);
	assert_non_null(pipeline_push(&q, PL_QUERY, PL_UPSTREAM, PL_F_HIDE_Z, NULL, 0));
	struct pl_reply t = { .type = 'T' };
	pipeline_upstream(&q, &t, &res);
	assert_int_equal(res.verdict, PL_V_PASS);
	struct pl_reply err = { .type = 'E' };
	pipeline_upstream(&q, &err, &res);
	assert_int_equal(res.verdict, PL_V_PASS);
	struct pl_reply ze = { .type = 'Z', .status = 'E' };
	pipeline_upstream(&q, &ze, &res);
	assert_int_equal(res.verdict, PL_V_DROP);
	assert_true(res.retired);
	assert_true(res.entry.flags & PL_F_ERRORED);
	assert_int_equal(q.txn, PL_TXN_FAILED);
	pipeline_free(&q);
}

static void test_flush_is_silent(void **state)
{
	(void)state;
	/* Flush without Sync: replies come, and the Flush retires with them. */
	check("PBDEH", "12TDC", "ppppp[h]", 0);
	check("H", "", "[h]", 0);
}

static void test_ring_grows_in_order(void **state)
{
	(void)state;
	struct pipeline q;
	pipeline_init(&q);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 100; i++)
			assert_non_null(pipeline_push(&q, PL_QUERY, PL_UPSTREAM, 0, NULL, 0));
		for (int i = 0; i < 100; i++) {
			struct pl_reply r = { .type = 'Z', .status = 'I' };
			struct pl_result res;
			pipeline_upstream(&q, &r, &res);
			assert_int_equal(res.verdict, PL_V_PASS);
			assert_true(res.retired);
		}
		assert_true(pipeline_empty(&q));
	}
	assert_int_equal(q.pushed, 300);
	assert_int_equal(q.retired, 300);
	pipeline_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_extended_happy_path),
		cmocka_unit_test(test_error_skips_to_sync),
		cmocka_unit_test(test_query_results),
		cmocka_unit_test(test_copy_in),
		cmocka_unit_test(test_copy_in_error_then_sync),
		cmocka_unit_test(test_copy_out),
		cmocka_unit_test(test_refusal_substitution),
		cmocka_unit_test(test_local_waits_for_head),
		cmocka_unit_test(test_desync_and_async),
		cmocka_unit_test(test_hidden_entries),
		cmocka_unit_test(test_flush_is_silent),
		cmocka_unit_test(test_mysql_entries),
		cmocka_unit_test(test_ring_grows_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The router's readings of single utility statements the session acts on
 * itself: FETCH/MOVE/CLOSE of cursors (legacy cursors are switchyard's) and
 * SET/RESET of settings legacy values depend on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "router/router.h"

static struct router *new_router(void)
{
	static const char *const tables[] = { "customers" };
	struct router_legacy l = { .schema = "public", .tables = tables, .ntables = 1 };
	struct router *r = router_new(&l, 0, 0);
	assert_non_null(r);
	return r;
}

static void cursor(struct router *r, const char *sql, enum router_cursor_kind kind, int64_t count,
		   const char *name)
{
	struct router_cursor_op op;
	router_cursor_op(r, sql, strlen(sql), &op);
	if (op.kind != kind || op.count != count || strcmp(op.name, name) != 0)
		fail_msg("%s: got kind %d count %lld name \"%s\"", sql, op.kind, (long long)op.count,
			 op.name);
}

static void test_cursor_ops(void **state)
{
	(void)state;
	struct router *r = new_router();
	cursor(r, "FETCH FORWARD 100 FROM \"nc\"", ROUTER_CURSOR_FETCH, 100, "nc");
	cursor(r, "fetch all in c", ROUTER_CURSOR_FETCH, INT64_MAX, "c");
	cursor(r, "FETCH c", ROUTER_CURSOR_FETCH, 1, "c");
	cursor(r, "FETCH NEXT FROM \"Mixed Case\"", ROUTER_CURSOR_FETCH, 1, "Mixed Case");
	cursor(r, "MOVE 5 c", ROUTER_CURSOR_MOVE, 5, "c");
	cursor(r, "CLOSE ALL", ROUTER_CURSOR_CLOSE, 0, "");
	cursor(r, "CLOSE x", ROUTER_CURSOR_CLOSE, 0, "x");
	/* Directions a forward-only cursor cannot go, and FETCH 0 (the current row). */
	cursor(r, "FETCH BACKWARD 1 FROM c", ROUTER_CURSOR_OTHER, 1, "c");
	cursor(r, "FETCH ABSOLUTE 3 FROM c", ROUTER_CURSOR_OTHER, 3, "c");
	cursor(r, "FETCH 0 FROM c", ROUTER_CURSOR_OTHER, 0, "c");
	/* Anything else, or more than one statement, is none of these. */
	cursor(r, "SELECT 1", ROUTER_CURSOR_NONE, 0, "");
	cursor(r, "FETCH 1 FROM c; FETCH 1 FROM c", ROUTER_CURSOR_NONE, 0, "");
	cursor(r, "FETCH FROM", ROUTER_CURSOR_NONE, 0, "");
	router_free(r);
}

static void set(struct router *r, const char *sql, bool ok, const char *name, const char *value,
		bool reset)
{
	char n[64], v[128];
	bool rs;
	bool got = router_set_value(r, sql, strlen(sql), n, sizeof(n), v, sizeof(v), &rs);
	if (got != ok || (ok && (strcmp(n, name) != 0 || strcmp(v, value) != 0 || rs != reset)))
		fail_msg("%s: got %d [%s] [%s] %d", sql, got, n, v, rs);
}

static void test_set_values(void **state)
{
	(void)state;
	struct router *r = new_router();
	set(r, "SET extra_float_digits = 3", true, "extra_float_digits", "3", false);
	set(r, "SET extra_float_digits TO -2", true, "extra_float_digits", "-2", false);
	set(r, "SET statement_timeout TO '5s'", true, "statement_timeout", "5s", false);
	set(r, "set bytea_output=escape", true, "bytea_output", "escape", false);
	set(r, "SET SESSION statement_timeout = 1500", true, "statement_timeout", "1500", false);
	set(r, "RESET statement_timeout", true, "statement_timeout", "", true);
	set(r, "SET statement_timeout TO DEFAULT", true, "statement_timeout", "", true);
	set(r, "RESET ALL", true, "all", "", true);
	set(r, "SET TIME ZONE 'Asia/Seoul'", true, "timezone", "Asia/Seoul", false);
	/* A list value, or not a SET at all. */
	set(r, "SET search_path = a, b", false, "", "", false);
	set(r, "SELECT set_config('statement_timeout', '1', false)", false, "", "", false);
	set(r, "SET statement_timeout = 1; SET extra_float_digits = 3", false, "", "", false);
	router_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cursor_ops),
		cmocka_unit_test(test_set_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

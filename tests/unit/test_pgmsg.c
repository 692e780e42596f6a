/*
 * test_pgmsg — the wire codec: every builder round-trips through its reader,
 * and every reader refuses truncated, overlong and malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/pgmsg.h"

/* Frames the single message in <w> and returns a pointer to its body. */
static const uint8_t *body_of(const struct pgmsg_writer *w, uint8_t expect_type, uint32_t *blen)
{
	uint8_t type;

	assert_false(w->failed);
	ssize_t n = pgmsg_frame(w->buf, w->len, PGMSG_MAX_LEN, &type, blen);
	assert_int_equal(n, (ssize_t)w->len);
	assert_int_equal(type, expect_type);
	return w->buf + PGMSG_HEADER_LEN;
}

static void test_frame(void **state)
{
	uint8_t type;
	uint32_t blen;
	const uint8_t ok[] = { 'Q', 0, 0, 0, 5, 0 };
	const uint8_t short_len[] = { 'Q', 0, 0, 0, 3 };
	const uint8_t huge[] = { 'Q', 0x7f, 0xff, 0xff, 0xff };

	(void)state;
	assert_int_equal(pgmsg_frame(ok, 4, PGMSG_MAX_LEN, &type, &blen), 0);
	assert_int_equal(pgmsg_frame(ok, sizeof(ok), PGMSG_MAX_LEN, &type, &blen), 6);
	assert_int_equal(type, 'Q');
	assert_int_equal(blen, 1);
	/* The header alone frames: the body may still be on its way. */
	assert_int_equal(pgmsg_frame(ok, 5, PGMSG_MAX_LEN, &type, &blen), 6);
	assert_true(pgmsg_frame(short_len, sizeof(short_len), PGMSG_MAX_LEN, &type, &blen) < 0);
	assert_true(pgmsg_frame(huge, sizeof(huge), PGMSG_MAX_LEN, &type, &blen) < 0);
	assert_true(pgmsg_frame(ok, sizeof(ok), 0, &type, &blen) < 0);
}

static void test_startup_frame(void **state)
{
	uint32_t code;
	const uint8_t ssl[] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };
	const uint8_t tiny[] = { 0, 0, 0, 7, 0, 0, 0 };
	const uint8_t big[] = { 0, 0, 0x27, 0x11, 0, 3, 0, 0 }; /* 10001 */

	(void)state;
	assert_int_equal(pgmsg_startup_frame(ssl, 3, &code), 0);
	assert_int_equal(pgmsg_startup_frame(ssl, 7, &code), 0);
	assert_int_equal(pgmsg_startup_frame(ssl, 8, &code), 8);
	assert_int_equal(code, PGMSG_SSL_REQUEST_CODE);
	assert_true(pgmsg_startup_frame(tiny, sizeof(tiny), &code) < 0);
	assert_true(pgmsg_startup_frame(big, sizeof(big), &code) < 0);
}

static void test_startup_roundtrip(void **state)
{
	struct pgmsg_writer w;
	struct pgmsg_startup st;
	uint32_t code;
	const char *names[] = { "user", "database", "application_name" };
	const char *values[] = { "app", "platform", "psql" };

	(void)state;
	pgmsg_writer_init(&w);
	pgmsg_write_startup(&w, names, values, 3);
	assert_false(w.failed);
	assert_int_equal(pgmsg_startup_frame(w.buf, w.len, &code), (ssize_t)w.len);
	assert_int_equal(code, PGMSG_PROTOCOL_3_0);
	assert_true(pgmsg_parse_startup(w.buf, w.len, &st));
	assert_int_equal(st.nparams, 3);
	assert_string_equal(pgmsg_startup_get(&st, "database"), "platform");
	assert_string_equal(pgmsg_startup_get(&st, "application_name"), "psql");
	assert_null(pgmsg_startup_get(&st, "options"));
	/* Cut anywhere: never accepted. */
	for (size_t cut = 8; cut < w.len; cut++)
		assert_false(pgmsg_parse_startup(w.buf, cut, &st));
	pgmsg_writer_free(&w);
}

static void test_startup_rejects_duplicates_and_trailing(void **state)
{
	struct pgmsg_writer w;
	struct pgmsg_startup st;
	const char *names[] = { "user", "user" };
	const char *values[] = { "a", "b" };

	(void)state;
	pgmsg_writer_init(&w);
	pgmsg_write_startup(&w, names, values, 2);
	assert_false(pgmsg_parse_startup(w.buf, w.len, &st));
	pgmsg_writer_reset(&w);
	/* A terminator followed by more bytes is malformed. */
	pgmsg_begin(&w, 0);
	pgmsg_put_int32(&w, PGMSG_PROTOCOL_3_0);
	pgmsg_put_string(&w, "user");
	pgmsg_put_string(&w, "a");
	pgmsg_put_byte(&w, 0);
	pgmsg_put_byte(&w, 'x');
	pgmsg_end(&w);
	assert_false(pgmsg_parse_startup(w.buf, w.len, &st));
	pgmsg_writer_free(&w);
}

static void test_startup_param_limit(void **state)
{
	struct pgmsg_writer w;
	struct pgmsg_startup st;
	char name[16];

	(void)state;
	pgmsg_writer_init(&w);
	pgmsg_begin(&w, 0);
	pgmsg_put_int32(&w, PGMSG_PROTOCOL_3_0);
	for (int i = 0; i <= PGMSG_STARTUP_MAX_PARAMS; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		pgmsg_put_string(&w, name);
		pgmsg_put_string(&w, "v");
	}
	pgmsg_put_byte(&w, 0);
	pgmsg_end(&w);
	assert_false(pgmsg_parse_startup(w.buf, w.len, &st));
	pgmsg_writer_free(&w);
}

static void test_cancel(void **state)
{
	struct pgmsg_writer w;
	int32_t pid, key;

	(void)state;
	pgmsg_writer_init(&w);
	pgmsg_write_cancel(&w, 4242, -7);
	assert_int_equal(w.len, 16);
	assert_true(pgmsg_parse_cancel(w.buf, w.len, &pid, &key));
	assert_int_equal(pid, 4242);
	assert_int_equal(key, -7);
	assert_false(pgmsg_parse_cancel(w.buf, 15, &pid, &key));
	pgmsg_writer_free(&w);
}

static void test_query(void **state)
{
	struct pgmsg_writer w;
	const char *sql;
	size_t len;
	uint32_t blen;

	(void)state;
	pgmsg_writer_init(&w);
	pgmsg_write_query(&w, "SELECT 1");
	const uint8_t *body = body_of(&w, 'Q', &blen);
	assert_true(pgmsg_parse_query(body, blen, &sql, &len));
	assert_int_equal(len, 8);
	assert_memory_equal(sql, "SELECT 1", 8);
	/* No terminator, or bytes after it: malformed. */
	assert_false(pgmsg_parse_query(body, blen - 1, &sql, &len));
	const uint8_t embedded[] = { 'a', 0, 'b', 0 };
	assert_false(pgmsg_parse_query(embedded, sizeof(embedded), &sql, &len));
	pgmsg_writer_free(&w);
}

static void test_parse(void **state)
{
	struct pgmsg_writer w;
	struct pgmsg_parse p;
	uint32_t blen;

	(void)state;
	pgmsg_writer_init(&w);
	pgmsg_begin(&w, 'P');
	pgmsg_put_string(&w, "s1");
	pgmsg_put_string(&w, "SELECT $1::int");
	pgmsg_put_int16(&w, 1);
	pgmsg_put_int32(&w, 23);
	pgmsg_end(&w);
	const uint8_t *body = body_of(&w, 'P', &blen);
	assert_true(pgmsg_parse_parse(body, blen, &p));
	assert_string_equal(p.name, "s1");
	assert_int_equal(p.sql_len, strlen("SELECT $1::int"));
	assert_int_equal(p.nparams, 1);
	for (uint32_t cut = 0; cut < blen; cut++)
		assert_false(pgmsg_parse_parse(body, cut, &p));
	pgmsg_writer_free(&w);

	/* A negative parameter count is malformed, not a huge allocation. */
	pgmsg_writer_init(&w);
	pgmsg_begin(&w, 'P');
	pgmsg_put_string(&w, "");
	pgmsg_put_string(&w, "SELECT 1");
	pgmsg_put_int16(&w, -1);
	pgmsg_end(&w);
	body = body_of(&w, 'P', &blen);
	assert_false(pgmsg_parse_parse(body, blen, &p));
	pgmsg_writer_free(&w);
}

static void test_bind(void **state)
{
	struct pgmsg_writer w;
	const char *portal, *stmt;
	uint32_t blen;

	(void)state;
	pgmsg_writer_init(&w);
	pgmsg_begin(&w, 'B');
	pgmsg_put_string(&w, "p1");
	pgmsg_put_string(&w, "s1");
	pgmsg_put_int16(&w, 1);
	pgmsg_put_int16(&w, 1);  /* binary */
	pgmsg_put_int16(&w, 2);  /* two values */
	pgmsg_put_int32(&w, 4);
	pgmsg_put_int32(&w, 42);
	pgmsg_put_int32(&w, -1); /* NULL */
	pgmsg_put_int16(&w, 0);
	pgmsg_end(&w);
	const uint8_t *body = body_of(&w, 'B', &blen);
	assert_true(pgmsg_parse_bind(body, blen, &portal, &stmt));
	assert_string_equal(portal, "p1");
	assert_string_equal(stmt, "s1");
	for (uint32_t cut = 0; cut < blen; cut++)
		assert_false(pgmsg_parse_bind(body, cut, &portal, &stmt));
	pgmsg_writer_free(&w);

	/* A value length running past the end. */
	pgmsg_writer_init(&w);
	pgmsg_begin(&w, 'B');
	pgmsg_put_string(&w, "");
	pgmsg_put_string(&w, "");
	pgmsg_put_int16(&w, 0);
	pgmsg_put_int16(&w, 1);
	pgmsg_put_int32(&w, 0x7fffffff);
	pgmsg_put_int16(&w, 0);
	pgmsg_end(&w);
	body = body_of(&w, 'B', &blen);
	assert_false(pgmsg_parse_bind(body, blen, &portal, &stmt));
	pgmsg_writer_free(&w);
}

static void test_describe_close_execute(void **state)
{
	const uint8_t describe[] = { 'S', 's', '1', 0 };
	const uint8_t bad_kind[] = { 'X', 0 };
	const uint8_t execute[] = { 'p', 0, 0, 0, 0, 10 };
	char kind;
	const char *name;
	int32_t rows;

	(void)state;
	assert_true(pgmsg_parse_target(describe, sizeof(describe), &kind, &name));
	assert_int_equal(kind, 'S');
	assert_string_equal(name, "s1");
	assert_false(pgmsg_parse_target(bad_kind, sizeof(bad_kind), &kind, &name));
	assert_false(pgmsg_parse_target(describe, 3, &kind, &name));
	assert_true(pgmsg_parse_execute(execute, sizeof(execute), &name, &rows));
	assert_string_equal(name, "p");
	assert_int_equal(rows, 10);
	assert_false(pgmsg_parse_execute(execute, 5, &name, &rows));
}

static void test_auth_messages(void **state)
{
	struct pgmsg_writer w;
	int32_t code;
	const uint8_t *data;
	size_t dlen;
	uint32_t blen;
	static const char mechs[] = "SCRAM-SHA-256\0SCRAM-SHA-256-PLUS\0";

	(void)state;
	pgmsg_writer_init(&w);
	pgmsg_write_auth(&w, PGMSG_AUTH_SASL, mechs, sizeof(mechs));
	const uint8_t *body = body_of(&w, 'R', &blen);
	assert_true(pgmsg_parse_auth(body, blen, &code, &data, &dlen));
	assert_int_equal(code, PGMSG_AUTH_SASL);
	assert_true(pgmsg_sasl_offers(data, dlen, "SCRAM-SHA-256"));
	assert_true(pgmsg_sasl_offers(data, dlen, "SCRAM-SHA-256-PLUS"));
	assert_false(pgmsg_sasl_offers(data, dlen, "SCRAM-SHA-1"));
	/* An unterminated list offers nothing. */
	assert_false(pgmsg_sasl_offers(data, 5, "SCRAM-SHA-256"));
	assert_false(pgmsg_parse_auth(body, 3, &code, &data, &dlen));
	pgmsg_writer_reset(&w);

	const char *mech;
	pgmsg_write_sasl_initial(&w, "SCRAM-SHA-256", "n,,n=,r=abc");
	body = body_of(&w, 'p', &blen);
	assert_true(pgmsg_parse_sasl_initial(body, blen, &mech, &data, &dlen));
	assert_string_equal(mech, "SCRAM-SHA-256");
	assert_int_equal(dlen, strlen("n,,n=,r=abc"));
	assert_memory_equal(data, "n,,n=,r=abc", dlen);
	for (uint32_t cut = 0; cut < blen; cut++)
		assert_false(pgmsg_parse_sasl_initial(body, cut, &mech, &data, &dlen));
	pgmsg_writer_reset(&w);

	const char *password;
	pgmsg_write_password(&w, "md5abc");
	body = body_of(&w, 'p', &blen);
	assert_true(pgmsg_parse_password(body, blen, &password));
	assert_string_equal(password, "md5abc");
	pgmsg_writer_free(&w);
}

static void test_server_messages(void **state)
{
	struct pgmsg_writer w;
	uint32_t blen;
	int32_t pid, key;
	const char *name, *value;
	char status;

	(void)state;
	pgmsg_writer_init(&w);
	pgmsg_write_backend_key(&w, 1234, 5678);
	const uint8_t *body = body_of(&w, 'K', &blen);
	assert_true(pgmsg_parse_backend_key(body, blen, &pid, &key));
	assert_int_equal(pid, 1234);
	assert_int_equal(key, 5678);
	pgmsg_writer_reset(&w);

	pgmsg_write_param_status(&w, "TimeZone", "Asia/Seoul");
	body = body_of(&w, 'S', &blen);
	assert_true(pgmsg_parse_param_status(body, blen, &name, &value));
	assert_string_equal(name, "TimeZone");
	assert_string_equal(value, "Asia/Seoul");
	assert_false(pgmsg_parse_param_status(body, blen - 1, &name, &value));
	pgmsg_writer_reset(&w);

	pgmsg_write_ready(&w, 'T');
	body = body_of(&w, 'Z', &blen);
	assert_true(pgmsg_parse_ready(body, blen, &status));
	assert_int_equal(status, 'T');
	const uint8_t bad_status = 'X';
	assert_false(pgmsg_parse_ready(&bad_status, 1, &status));
	pgmsg_writer_free(&w);
}

static void test_error_roundtrip(void **state)
{
	struct pgmsg_writer w;
	struct pgmsg_error e;
	uint32_t blen;

	(void)state;
	pgmsg_writer_init(&w);
	pgmsg_write_error(&w, false, "25006", "cannot write to \"customers\"", "detail", NULL);
	const uint8_t *body = body_of(&w, 'E', &blen);
	assert_true(pgmsg_parse_error(body, blen, &e));
	assert_string_equal(e.severity, "ERROR");
	assert_string_equal(e.sqlstate, "25006");
	assert_string_equal(e.message, "cannot write to \"customers\"");
	assert_string_equal(e.detail, "detail");
	assert_null(e.hint);
	/* Missing the final zero byte: malformed. */
	assert_false(pgmsg_parse_error(body, blen - 1, &e));
	pgmsg_writer_reset(&w);
	pgmsg_write_error(&w, true, "08P01", "bad", NULL, "hint");
	body = body_of(&w, 'E', &blen);
	assert_true(pgmsg_parse_error(body, blen, &e));
	assert_string_equal(e.severity, "FATAL");
	assert_string_equal(e.hint, "hint");
	pgmsg_writer_free(&w);

	/* Without a code or message it is not an error we can act on. */
	const uint8_t no_code[] = { 'S', 'E', 'R', 'R', 'O', 'R', 0, 'M', 'x', 0, 0 };
	assert_false(pgmsg_parse_error(no_code, sizeof(no_code), &e));
}

static void test_reader_sticky(void **state)
{
	struct pgmsg_reader r;
	const uint8_t data[] = { 0, 1, 'a', 'b' };

	(void)state;
	pgmsg_reader_init(&r, data, sizeof(data));
	assert_int_equal(pgmsg_get_int16(&r), 1);
	assert_string_equal(pgmsg_get_string(&r), ""); /* no terminator */
	assert_true(r.bad);
	assert_int_equal(pgmsg_get_int32(&r), 0);
	assert_null(pgmsg_get_bytes(&r, 1));
	assert_false(pgmsg_reader_ok(&r));

	pgmsg_reader_init(&r, data, sizeof(data));
	assert_non_null(pgmsg_get_bytes(&r, 2));
	assert_false(pgmsg_reader_ok(&r)); /* bytes left over */
	assert_null(pgmsg_get_bytes(&r, SIZE_MAX));
	assert_false(pgmsg_reader_ok(&r));
}

static void test_writer_misuse(void **state)
{
	struct pgmsg_writer w;

	(void)state;
	pgmsg_writer_init(&w);
	pgmsg_begin(&w, 'Q');
	pgmsg_begin(&w, 'Q'); /* nested: a bug, reported once */
	assert_true(w.failed);
	pgmsg_writer_reset(&w);
	assert_false(w.failed);
	pgmsg_end(&w); /* end without begin */
	assert_true(w.failed);
	pgmsg_writer_reset(&w);
	pgmsg_put_bytes(&w, "x", SIZE_MAX); /* impossible size: fails, does not wrap */
	assert_true(w.failed);
	pgmsg_writer_free(&w);
	pgmsg_writer_free(&w); /* a freed writer is a zeroed writer */
}

static void test_multiple_messages(void **state)
{
	struct pgmsg_writer w;
	uint8_t type;
	uint32_t blen;

	(void)state;
	pgmsg_writer_init(&w);
	pgmsg_write_parse(&w, "", "SELECT 1");
	pgmsg_write_sync(&w);
	pgmsg_write_terminate(&w);
	size_t off = 0;
	const uint8_t expect[] = { 'P', 'S', 'X' };
	for (int i = 0; i < 3; i++) {
		ssize_t n = pgmsg_frame(w.buf + off, w.len - off, PGMSG_MAX_LEN, &type, &blen);
		assert_true(n > 0);
		assert_int_equal(type, expect[i]);
		off += (size_t)n;
	}
	assert_int_equal(off, w.len);
	pgmsg_writer_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_startup_frame),
		cmocka_unit_test(test_startup_roundtrip),
		cmocka_unit_test(test_startup_rejects_duplicates_and_trailing),
		cmocka_unit_test(test_startup_param_limit),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_bind),
		cmocka_unit_test(test_describe_close_execute),
		cmocka_unit_test(test_auth_messages),
		cmocka_unit_test(test_server_messages),
		cmocka_unit_test(test_error_roundtrip),
		cmocka_unit_test(test_reader_sticky),
		cmocka_unit_test(test_writer_misuse),
		cmocka_unit_test(test_multiple_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_pgvalue — the value mapping against PostgreSQL 15 itself.
 *
 * pgvalue/text.tsv, binary.tsv and param.tsv hold what a real Postgres 15
 * printed, sent or refused for each case (pgvalue/gen.py regenerates them):
 * every line is asserted here, under the line's own session settings, with
 * zones loaded from the TZif copies in pgvalue/zoneinfo. Hand-written cases
 * follow for what Postgres cannot tell us: MySQL's zero dates, malformed
 * MySQL values, our own refusals, settings parsing, encoding errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/pgvalue.h"
#include "router/tz.h"

#define VEC_MAX_FIELDS 12

/* One line split at tabs, each field unescaped (\\ \t \n \xHH) in place; lengths kept. */
struct vec_line {
	char *f[VEC_MAX_FIELDS];
	size_t n[VEC_MAX_FIELDS];
	int nf;
};

static size_t vec_unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r != '\\' || r[1] == '\0') {
			*w++ = *r;
			continue;
		}
		r++;
		if (*r == 't')
			*w++ = '\t';
		else if (*r == 'n')
			*w++ = '\n';
		else if (*r == 'x' && r[1] && r[2]) {
			char h[3] = { r[1], r[2], 0 };
			*w++ = (char)strtol(h, NULL, 16);
			r += 2;
		} else
			*w++ = *r;
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* Reads the next vector line (comments skipped); false at the end. <buf> holds the fields. */
static bool vec_next(FILE *f, char *buf, size_t cap, struct vec_line *l)
{
	while (fgets(buf, (int)cap, f) != NULL) {
		size_t len = strlen(buf);
		if (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		if (len == 0 || buf[0] == '#')
			continue;
		l->nf = 0;
		char *p = buf;
		for (;;) {
			char *tab = strchr(p, '\t');
			if (tab)
				*tab = '\0';
			if (l->nf < VEC_MAX_FIELDS) {
				l->f[l->nf] = p;
				l->n[l->nf] = vec_unescape(p);
				l->nf++;
			}
			if (!tab)
				break;
			p = tab + 1;
		}
		return true;
	}
	return false;
}

/* Zones by name: the TZif copy under pgvalue/zoneinfo, else tz_fixed. */
struct vec_zones {
	char name[32][64];
	struct tz_zone *z[32];
	int n;
};

static struct tz_zone *vec_load_file(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "pgvalue/zoneinfo/%s", name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	static uint8_t data[1 << 16];
	size_t len = fread(data, 1, sizeof(data), f);
	fclose(f);
	return tz_from_tzif(name, data, len);
}

static const struct tz_zone *vec_zone(struct vec_zones *zs, const char *name)
{
	for (int i = 0; i < zs->n; i++)
		if (strcmp(zs->name[i], name) == 0)
			return zs->z[i];
	if (zs->n == 32)
		return NULL;
	/* Postgres looks for a zone file first; what has none is a fixed or POSIX zone. */
	struct tz_zone *z = vec_load_file(name);
	if (z == NULL)
		z = tz_fixed(name);
	if (z == NULL)
		return NULL;
	snprintf(zs->name[zs->n], sizeof(zs->name[0]), "%s", name);
	zs->z[zs->n] = z;
	return zs->z[zs->n++];
}

static void vec_zones_free(struct vec_zones *zs)
{
	for (int i = 0; i < zs->n; i++)
		tz_free(zs->z[i]);
	zs->n = 0;
}


static struct vec_zones zones;

static void hex_of(const char *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[(unsigned char)p[i] >> 4];
		out[2 * i + 1] = hx[(unsigned char)p[i] & 15];
	}
	out[2 * n] = '\0';
}

static size_t unhex(const char *h, char *out)
{
	size_t n = strlen(h) / 2;
	for (size_t i = 0; i < n; i++) {
		char b[3] = { h[2 * i], h[2 * i + 1], 0 };
		out[i] = (char)strtol(b, NULL, 16);
	}
	return n;
}

static void session_for(struct pgv_session *s, const char *tz, const char *ds, const char *is,
			const char *efd, const char *bo)
{
	pgv_session_init(s);
	const struct tz_zone *z = vec_zone(&zones, tz);
	if (z == NULL)
		fail_msg("zone %s does not load", tz);
	pgv_session_set_tz(s, z, tz);
	assert_true(pgv_session_set(s, "DateStyle", ds));
	assert_true(pgv_session_set(s, "IntervalStyle", is));
	assert_true(pgv_session_set(s, "extra_float_digits", efd));
	assert_true(pgv_session_set(s, "bytea_output", bo));
}

static FILE *open_vectors(const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "pgvalue/%s", name);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s (tests run in tests/unit)", path);
	return f;
}

static void test_text_vectors(void **state)
{
	(void)state;
	FILE *f = open_vectors("text.tsv");
	static char line[1 << 18];
	struct vec_line l;
	int n = 0, bad = 0;
	while (vec_next(f, line, sizeof(line), &l)) {
		assert_int_equal(l.nf, 10);
		struct pgv_session s;
		session_for(&s, l.f[3], l.f[4], l.f[5], l.f[6], l.f[7]);
		struct pgv_buf out = { 0 };
		struct pgv_error err = { 0 };
		enum pgv_status st = pgv_text(&out, (enum pgv_conv)atoi(l.f[0]), (uint32_t)atoi(l.f[1]),
					      atoi(l.f[2]), l.f[8], l.n[8], &s, &err);
		if (st != PGV_OK || out.len != l.n[9] || memcmp(out.p, l.f[9], out.len) != 0) {
			if (bad++ < 20)
				print_message("text: conv %s oid %s %s/%s/%s/efd %s/%s [%.*s]: want [%.*s] got %d [%.*s] %s\n",
					      l.f[0], l.f[1], l.f[3], l.f[4], l.f[5], l.f[6], l.f[7],
					      (int)l.n[8], l.f[8], (int)l.n[9], l.f[9], st, (int)out.len,
					      out.p ? out.p : "", err.message);
		}
		pgv_buf_free(&out);
		n++;
	}
	fclose(f);
	print_message("text vectors: %d checked against Postgres, %d wrong\n", n, bad);
	assert_true(n > 1000);
	assert_int_equal(bad, 0);
}

static void test_binary_vectors(void **state)
{
	(void)state;
	FILE *f = open_vectors("binary.tsv");
	static char line[1 << 16];
	struct vec_line l;
	int n = 0, bad = 0;
	struct pgv_session s;
	pgv_session_init(&s);
	while (vec_next(f, line, sizeof(line), &l)) {
		assert_int_equal(l.nf, 5);
		struct pgv_buf out = { 0 };
		struct pgv_error err = { 0 };
		enum pgv_status st = pgv_binary(&out, (enum pgv_conv)atoi(l.f[0]),
						(uint32_t)atoi(l.f[1]), atoi(l.f[2]), l.f[3], l.n[3],
						&s, &err);
		static char hex[1 << 16];
		hex_of(out.p ? out.p : "", out.len, hex);
		if (st != PGV_OK || strcmp(hex, l.f[4]) != 0) {
			if (bad++ < 20)
				print_message("binary: conv %s oid %s [%.*s]: want %s got %d %s %s\n",
					      l.f[0], l.f[1], (int)l.n[3], l.f[3], l.f[4], st, hex,
					      err.message);
		}
		pgv_buf_free(&out);
		n++;
	}
	fclose(f);
	print_message("binary vectors: %d checked against Postgres, %d wrong\n", n, bad);
	assert_true(n > 300);
	assert_int_equal(bad, 0);
}

static void test_param_vectors(void **state)
{
	(void)state;
	FILE *f = open_vectors("param.tsv");
	static char line[1 << 18];
	struct vec_line l;
	int n = 0, bad = 0;
	while (vec_next(f, line, sizeof(line), &l)) {
		assert_int_equal(l.nf, 5);
		struct pgv_session s;
		session_for(&s, l.f[2], "ISO, MDY", "postgres", "1", "hex");
		int format = atoi(l.f[1]);
		static char bin[1 << 12];
		const char *v = l.f[3];
		size_t vlen = l.n[3];
		if (format == 1) {
			vlen = unhex(l.f[3], bin);
			v = bin;
		}
		struct pgv_buf out = { 0 };
		struct pgv_error err = { 0 };
		enum pgv_status st = pgv_param_literal(&out, (uint32_t)atoi(l.f[0]), format, v, vlen,
						       &s, &err);
		const char *want = l.f[4];
		bool ok;
		if (strncmp(want, "OK ", 3) == 0)
			ok = st == PGV_OK && out.len == l.n[4] - 3 && memcmp(out.p, want + 3, out.len) == 0;
		else if (strncmp(want, "REFUSED ", 8) == 0)
			ok = st == PGV_BAD && strcmp(err.sqlstate, want + 8) == 0;
		else
			ok = st == PGV_BAD && strncmp(want + 4, err.sqlstate, 5) == 0 &&
			     strcmp(want + 10, err.message) == 0;
		if (!ok && bad++ < 20)
			print_message("param: oid %s fmt %s tz %s [%.*s]: want [%s] got %d [%.*s] %s %s\n",
				      l.f[0], l.f[1], l.f[2], (int)l.n[3], l.f[3], want, st,
				      (int)out.len, out.p ? out.p : "", err.sqlstate, err.message);
		pgv_buf_free(&out);
		n++;
	}
	fclose(f);
	print_message("param vectors: %d checked against Postgres, %d wrong\n", n, bad);
	assert_true(n > 200);
	assert_int_equal(bad, 0);
}

/* Hand-written cases. */

static enum pgv_status text_of(enum pgv_conv conv, uint32_t oid, int32_t typmod, const char *v,
			       const struct pgv_session *s, char *got, size_t cap,
			       struct pgv_error *err)
{
	struct pgv_buf out = { 0 };
	enum pgv_status st = pgv_text(&out, conv, oid, typmod, v, strlen(v), s, err);
	snprintf(got, cap, "%.*s", (int)out.len, out.p ? out.p : "");
	pgv_buf_free(&out);
	return st;
}

static void test_zero_dates(void **state)
{
	(void)state;
	struct pgv_session s;
	pgv_session_init(&s);
	char got[128];
	struct pgv_error err;
	assert_int_equal(text_of(PGV_C_DATE, PG_OID_DATE, -1, "0000-00-00", &s, got, sizeof(got), &err),
			 PGV_NULL);
	assert_int_equal(text_of(PGV_C_TIMESTAMP, PG_OID_TIMESTAMP, -1, "0000-00-00 00:00:00", &s, got,
				 sizeof(got), &err), PGV_NULL);
	assert_int_equal(text_of(PGV_C_TIMESTAMPTZ, PG_OID_TIMESTAMPTZ, -1,
				 "0000-00-00 00:00:00.000000", &s, got, sizeof(got), &err), PGV_NULL);
	assert_int_equal(text_of(PGV_C_DATE, PG_OID_DATE, -1, "2026-00-15", &s, got, sizeof(got), &err),
			 PGV_NULL);
	struct pgv_buf out = { 0 };
	assert_int_equal(pgv_binary(&out, PGV_C_DATE, PG_OID_DATE, -1, "0000-00-00", 10, &s, &err),
			 PGV_NULL);
	assert_int_equal(out.len, 0);
	pgv_buf_free(&out);
}

static void test_bad_mysql_values(void **state)
{
	(void)state;
	struct pgv_session s;
	pgv_session_init(&s);
	char got[128];
	struct pgv_error err;
	static const struct {
		enum pgv_conv conv;
		uint32_t oid;
		const char *v;
	} bad[] = {
		{ PGV_C_INT, PG_OID_INT2, "32768" },        { PGV_C_INT, PG_OID_INT4, "2147483648" },
		{ PGV_C_INT, PG_OID_INT8, "9223372036854775808" }, { PGV_C_INT, PG_OID_INT4, "" },
		{ PGV_C_INT, PG_OID_INT4, "1.5" },          { PGV_C_INT, PG_OID_INT4, " 1" },
		{ PGV_C_NUMERIC, PG_OID_NUMERIC, "1e5" },   { PGV_C_NUMERIC, PG_OID_NUMERIC, "abc" },
		{ PGV_C_FLOAT8, PG_OID_FLOAT8, "0x10" },    { PGV_C_FLOAT8, PG_OID_FLOAT8, "inf" },
		{ PGV_C_FLOAT8, PG_OID_FLOAT8, "1e400" },   { PGV_C_FLOAT4, PG_OID_FLOAT4, "1e39" },
		{ PGV_C_DATE, PG_OID_DATE, "2026-02-30" },  { PGV_C_DATE, PG_OID_DATE, "2026-1-1" },
		{ PGV_C_TIMESTAMP, PG_OID_TIMESTAMP, "2026-01-01 24:00:00" },
		{ PGV_C_TIMESTAMP, PG_OID_TIMESTAMP, "2026-01-01 12:00:00.1234567" },
		{ PGV_C_TIMESTAMP, PG_OID_TIMESTAMP, "2026-01-01T12:00:00" },
		{ PGV_C_INTERVAL, PG_OID_INTERVAL, "12:60:00" }, { PGV_C_INTERVAL, PG_OID_INTERVAL, "-" },
		{ PGV_C_BOOL, PG_OID_BOOL, "yes" },         { PGV_C_BIT_BOOL, PG_OID_BOOL, "\x02" },
		/* fuzz_pgvalue found these read past the value's end. */
		{ PGV_C_TIMESTAMP, PG_OID_TIMESTAMP, "2026-03-08 0" },
		{ PGV_C_TIMESTAMPTZ, PG_OID_TIMESTAMPTZ, "2026-03-08 12:3" },
		{ PGV_C_COUNT, PG_OID_TEXT, "x" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		enum pgv_status st = text_of(bad[i].conv, bad[i].oid, -1, bad[i].v, &s, got, sizeof(got),
					     &err);
		if (st != PGV_BAD)
			fail_msg("%zu: [%s] gave %d [%s]", i, bad[i].v, st, got);
		assert_int_equal(strlen(err.sqlstate), 5);
		assert_true(err.message[0] != '\0');
	}
}

static void test_hand_text(void **state)
{
	(void)state;
	struct pgv_session s;
	pgv_session_init(&s);
	char got[256];
	struct pgv_error err;
	assert_int_equal(text_of(PGV_C_BIT_BOOL, PG_OID_BOOL, -1, "\x01", &s, got, sizeof(got), &err),
			 PGV_OK);
	assert_string_equal(got, "t");
	struct pgv_buf out = { 0 };
	assert_int_equal(pgv_text(&out, PGV_C_BIT_BOOL, PG_OID_BOOL, -1, "\0", 1, &s, &err), PGV_OK);
	assert_int_equal(out.len, 1);
	assert_int_equal(out.p[0], 'f');
	pgv_buf_free(&out);
	/* MySQL ZEROFILL and unsigned BIGINT served as numeric. */
	assert_int_equal(text_of(PGV_C_INT, PG_OID_NUMERIC, -1, "18446744073709551615", &s, got,
				 sizeof(got), &err), PGV_OK);
	assert_string_equal(got, "18446744073709551615");
	assert_int_equal(text_of(PGV_C_INT, PG_OID_INT4, -1, "-0042", &s, got, sizeof(got), &err),
			 PGV_OK);
	assert_string_equal(got, "-42");
	/* bpchar pads characters, not bytes. */
	assert_int_equal(text_of(PGV_C_BPCHAR, PG_OID_BPCHAR, 4 + 4, "한국", &s, got, sizeof(got),
				 &err), PGV_OK);
	assert_string_equal(got, "한국  ");
	assert_int_equal(text_of(PGV_C_BPCHAR, PG_OID_BPCHAR, -1, "ab", &s, got, sizeof(got), &err),
			 PGV_OK);
	assert_string_equal(got, "ab");
	/* No zone set: UTC. */
	assert_int_equal(text_of(PGV_C_TIMESTAMPTZ, PG_OID_TIMESTAMPTZ, -1, "2026-03-01 03:34:56.5",
				 &s, got, sizeof(got), &err), PGV_OK);
	assert_string_equal(got, "2026-03-01 03:34:56.5+00");
	/* A NULL pointer is SQL NULL. */
	assert_int_equal(pgv_text(&out, PGV_C_TEXT, PG_OID_TEXT, -1, NULL, 0, &s, &err), PGV_NULL);
	pgv_buf_free(&out);
}

/* The conversions the translator picks for values MySQL cannot spell (xlate2). */
static void test_computed_values(void **state)
{
	(void)state;
	struct pgv_session s;
	pgv_session_init(&s);
	char got[512];
	struct pgv_error err;
	static const struct {
		const char *style, *v, *want;
	} iv[] = {
		/* -1 day +10 hours (TIME 08:00 - interval '1 day 2 hours'), as Postgres 15 prints it */
		{ "postgres", "-999964000000000", "-1 days +10:00:00" },
		{ "postgres_verbose", "-999964000000000", "@ 1 day -10 hours ago" },
		{ "sql_standard", "-999964000000000", "+0-0 -1 +10:00:00" },
		{ "iso_8601", "-999964000000000", "P-1DT10H" },
		/* timestamp - timestamp: 1 day 02:03:04.5 (justified, no months) */
		{ "postgres", "1000007384500000", "1 day 02:03:04.5" },
		{ "postgres_verbose", "1000007384500000", "@ 1 day 2 hours 3 mins 4.5 secs" },
		{ "sql_standard", "1000007384500000", "1 2:03:04.5" },
		{ "iso_8601", "1000007384500000", "P1DT2H3M4.5S" },
		{ "postgres", "-2000003600000000", "-2 days -01:00:00" },
		{ "postgres_verbose", "-2000003600000000", "@ 2 days 1 hour ago" },
		{ "sql_standard", "-2000003600000000", "-2 1:00:00" },
		{ "iso_8601", "-2000003600000000", "P-2DT-1H" },
		{ "postgres", "3600000000", "01:00:00" },
		{ "postgres", "0", "00:00:00" },
	};
	for (size_t i = 0; i < sizeof(iv) / sizeof(iv[0]); i++) {
		assert_true(pgv_session_set(&s, "IntervalStyle", iv[i].style));
		assert_int_equal(text_of(PGV_C_INTERVAL_DT, PG_OID_INTERVAL, -1, iv[i].v, &s, got,
					 sizeof(got), &err), PGV_OK);
		assert_string_equal(got, iv[i].want);
	}
	/* float8_numeric (%.15g) and float4_numeric (%.6g), read back by numeric_in. */
	assert_int_equal(text_of(PGV_C_NUMERIC_OF_FLOAT8, PG_OID_NUMERIC, -1, "0.30000000000000004", &s,
				 got, sizeof(got), &err), PGV_OK);
	assert_string_equal(got, "0.3");
	assert_int_equal(text_of(PGV_C_NUMERIC_OF_FLOAT8, PG_OID_NUMERIC, -1, "1.5e-7", &s, got,
				 sizeof(got), &err), PGV_OK);
	assert_string_equal(got, "0.00000015");
	assert_int_equal(text_of(PGV_C_NUMERIC_OF_FLOAT8, PG_OID_NUMERIC, -1, "-1234567.25", &s, got,
				 sizeof(got), &err), PGV_OK);
	assert_string_equal(got, "-1234567.25");
	assert_int_equal(text_of(PGV_C_NUMERIC_OF_FLOAT8, PG_OID_NUMERIC, -1, "1e20", &s, got,
				 sizeof(got), &err), PGV_OK);
	assert_string_equal(got, "100000000000000000000");
	assert_int_equal(text_of(PGV_C_NUMERIC_OF_FLOAT4, PG_OID_NUMERIC, -1, "0.10000000149011612", &s,
				 got, sizeof(got), &err), PGV_OK);
	assert_string_equal(got, "0.1");
	assert_int_equal(text_of(PGV_C_NUMERIC_OF_FLOAT4, PG_OID_NUMERIC, -1, "16777216", &s, got,
				 sizeof(got), &err), PGV_OK);
	assert_string_equal(got, "16777200");
	/* float::text: float4out / float8out. */
	assert_int_equal(text_of(PGV_C_FLOAT4_TEXT, PG_OID_TEXT, -1, "16777216", &s, got, sizeof(got),
				 &err), PGV_OK);
	assert_string_equal(got, "1.6777216e+07");
	assert_int_equal(text_of(PGV_C_FLOAT8_TEXT, PG_OID_TEXT, -1, "1e300", &s, got, sizeof(got),
				 &err), PGV_OK);
	assert_string_equal(got, "1e+300");
	/* -0 from the translator's display of round/ceil. */
	assert_int_equal(text_of(PGV_C_FLOAT8, PG_OID_FLOAT8, -1, "-0", &s, got, sizeof(got), &err),
			 PGV_OK);
	assert_string_equal(got, "-0");
}

static void test_session_settings(void **state)
{
	(void)state;
	struct pgv_session s;
	pgv_session_init(&s);
	assert_int_equal(s.datestyle, PGV_DS_ISO);
	assert_int_equal(s.dateorder, PGV_DO_MDY);
	assert_int_equal(s.extra_float_digits, 1);
	assert_true(s.bytea_hex);
	assert_true(pgv_session_set(&s, "datestyle", "German"));
	assert_int_equal(s.datestyle, PGV_DS_GERMAN);
	assert_int_equal(s.dateorder, PGV_DO_DMY);
	assert_true(pgv_session_set(&s, "DATESTYLE", "sql"));   /* the order stays */
	assert_int_equal(s.datestyle, PGV_DS_SQL);
	assert_int_equal(s.dateorder, PGV_DO_DMY);
	assert_true(pgv_session_set(&s, "DateStyle", " US "));
	assert_int_equal(s.dateorder, PGV_DO_MDY);
	assert_true(pgv_session_set(&s, "DateStyle", "postgres, european"));
	assert_int_equal(s.datestyle, PGV_DS_POSTGRES);
	assert_int_equal(s.dateorder, PGV_DO_DMY);
	assert_true(pgv_session_set(&s, "DateStyle", "ymd,\"iso\""));
	assert_int_equal(s.datestyle, PGV_DS_ISO);
	assert_int_equal(s.dateorder, PGV_DO_YMD);
	assert_true(pgv_session_set(&s, "DateStyle", "default"));
	assert_int_equal(s.datestyle, PGV_DS_ISO);
	assert_int_equal(s.dateorder, PGV_DO_MDY);
	assert_true(pgv_session_set(&s, "DateStyle", "German, MDY"));
	assert_int_equal(s.dateorder, PGV_DO_MDY);
	/* Refused, nothing changed. */
	assert_false(pgv_session_set(&s, "DateStyle", "ISO, SQL"));
	assert_false(pgv_session_set(&s, "DateStyle", "DMY, MDY"));
	assert_false(pgv_session_set(&s, "DateStyle", "ISO MDY"));
	assert_false(pgv_session_set(&s, "DateStyle", "klingon"));
	assert_false(pgv_session_set(&s, "DateStyle", ""));
	assert_false(pgv_session_set(&s, "DateStyle", "ISO,"));
	assert_int_equal(s.datestyle, PGV_DS_GERMAN);
	assert_int_equal(s.dateorder, PGV_DO_MDY);
	assert_true(pgv_session_set(&s, "IntervalStyle", "SQL_STANDARD"));
	assert_int_equal(s.intervalstyle, PGV_IS_SQL_STANDARD);
	assert_false(pgv_session_set(&s, "IntervalStyle", "sql"));
	assert_true(pgv_session_set(&s, "extra_float_digits", "-15"));
	assert_int_equal(s.extra_float_digits, -15);
	assert_true(pgv_session_set(&s, "extra_float_digits", " 3 "));
	assert_false(pgv_session_set(&s, "extra_float_digits", "4"));
	assert_false(pgv_session_set(&s, "extra_float_digits", "-16"));
	assert_false(pgv_session_set(&s, "extra_float_digits", "1x"));
	assert_int_equal(s.extra_float_digits, 3);
	assert_true(pgv_session_set(&s, "bytea_output", "Escape"));
	assert_false(s.bytea_hex);
	assert_false(pgv_session_set(&s, "bytea_output", "base64"));
	assert_true(pgv_session_set(&s, "work_mem", "whatever"));
}

static enum pgv_status lit_of(uint32_t oid, int format, const char *v, size_t len, char *got,
			      size_t cap, struct pgv_error *err)
{
	struct pgv_session s;
	pgv_session_init(&s);
	struct pgv_buf out = { 0 };
	enum pgv_status st = pgv_param_literal(&out, oid, format, v, len, &s, err);
	snprintf(got, cap, "%.*s", (int)out.len, out.p ? out.p : "");
	pgv_buf_free(&out);
	return st;
}

static void test_param_hand(void **state)
{
	(void)state;
	char got[256];
	struct pgv_error err;
	assert_int_equal(lit_of(PG_OID_TEXT, 0, NULL, 0, got, sizeof(got), &err), PGV_OK);
	assert_string_equal(got, "NULL");
	assert_int_equal(lit_of(PG_OID_INT4, 2, "1", 1, got, sizeof(got), &err), PGV_BAD);
	assert_string_equal(err.sqlstate, "08P01");
	/* Quotes are doubled, backslashes stay (NO_BACKSLASH_ESCAPES). */
	assert_int_equal(lit_of(PG_OID_TEXT, 0, "\\'; DROP TABLE x; --", 20, got, sizeof(got), &err),
			 PGV_OK);
	assert_string_equal(got, "'\\''; DROP TABLE x; --'");
	assert_int_equal(lit_of(0, 0, "x'y", 3, got, sizeof(got), &err), PGV_OK);
	assert_string_equal(got, "'x''y'");
	/* UTF-8 as pg_verify_mbstr reports it. */
	static const struct {
		const char *v;
		size_t len;
		const char *msg;
	} enc[] = {
		{ "a\xc3\x28", 3, "invalid byte sequence for encoding \"UTF8\": 0xc3 0x28" },
		{ "\xe3\x81", 2, "invalid byte sequence for encoding \"UTF8\": 0xe3 0x81" },
		{ "\x80z", 2, "invalid byte sequence for encoding \"UTF8\": 0x80" },
		{ "a\0b", 3, "invalid byte sequence for encoding \"UTF8\": 0x00" },
		{ "\xed\xa0\x80", 3, "invalid byte sequence for encoding \"UTF8\": 0xed 0xa0 0x80" },
		{ "\xf4\x90\x80\x80", 4, "invalid byte sequence for encoding \"UTF8\": 0xf4 0x90 0x80 0x80" },
		{ "\xc0\xaf", 2, "invalid byte sequence for encoding \"UTF8\": 0xc0 0xaf" },
		{ "\xff", 1, "invalid byte sequence for encoding \"UTF8\": 0xff" },
	};
	for (size_t i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
		assert_int_equal(lit_of(PG_OID_TEXT, 0, enc[i].v, enc[i].len, got, sizeof(got), &err),
				 PGV_BAD);
		assert_string_equal(err.sqlstate, "22021");
		assert_string_equal(err.message, enc[i].msg);
	}
	/* Every text-format parameter is checked, whatever its type; binary text too. */
	assert_int_equal(lit_of(PG_OID_INT4, 0, "1\xff", 2, got, sizeof(got), &err), PGV_BAD);
	assert_string_equal(err.sqlstate, "22021");
	assert_int_equal(lit_of(PG_OID_TEXT, 1, "\xff", 1, got, sizeof(got), &err), PGV_BAD);
	assert_string_equal(err.sqlstate, "22021");
	assert_int_equal(lit_of(PG_OID_TEXT, 0, "한국어", strlen("한국어"), got, sizeof(got), &err),
			 PGV_OK);
	/* Binary: wrong lengths; bytea. */
	assert_int_equal(lit_of(PG_OID_INT4, 1, "\0\0\1", 3, got, sizeof(got), &err), PGV_BAD);
	assert_string_equal(err.sqlstate, "22P03");
	assert_int_equal(lit_of(PG_OID_BYTEA, 1, "\0'\xff", 3, got, sizeof(got), &err), PGV_OK);
	assert_string_equal(got, "X'0027ff'");
	/* Binary dates and timestamps at and past Postgres' range ends (fuzz_pgvalue: overflowed). */
	assert_int_equal(lit_of(PG_OID_DATE, 1, "\x7f\xff\xff\xf0", 4, got, sizeof(got), &err), PGV_BAD);
	assert_string_equal(err.sqlstate, "22008");
	assert_int_equal(lit_of(PG_OID_DATE, 1, "\x80\0\0\0", 4, got, sizeof(got), &err), PGV_BAD);
	assert_string_equal(err.sqlstate, "0A000");
	assert_int_equal(lit_of(PG_OID_TIMESTAMP, 1, "\x7f\xff\xff\xff\xff\xff\xff\xfe", 8, got,
				sizeof(got), &err), PGV_BAD);
	assert_string_equal(err.sqlstate, "22008");
	assert_int_equal(lit_of(PG_OID_TIMESTAMP, 1, "\x7f\xff\xff\xff\xff\xff\xff\xff", 8, got,
				sizeof(got), &err), PGV_BAD);
	assert_string_equal(err.sqlstate, "0A000");
	/* numeric_recv: digits dscale hides are dropped; bad sign, scale, digit, length refused. */
	assert_int_equal(lit_of(PG_OID_NUMERIC, 1, "\0\1\xff\xff\0\0\0\2\x04\xd2", 10, got,
				sizeof(got), &err), PGV_OK);
	assert_string_equal(got, "0.12");
	assert_int_equal(lit_of(PG_OID_NUMERIC, 1, "\0\1\xff\xff\x40\0\0\0\x04\xd2", 10, got,
				sizeof(got), &err), PGV_OK);
	assert_string_equal(got, "0");  /* -0.1234 at scale 0 is zero, and zero has no sign */
	assert_int_equal(lit_of(PG_OID_NUMERIC, 1, "\0\1\0\0\x12\0\0\0\0\1", 10, got,
				sizeof(got), &err), PGV_BAD);
	assert_string_equal(err.message, "invalid sign in external \"numeric\" value");
	assert_int_equal(lit_of(PG_OID_NUMERIC, 1, "\0\1\0\0\0\0\0\0\x27\x10", 10, got,
				sizeof(got), &err), PGV_BAD);
	assert_string_equal(err.message, "invalid digit in external \"numeric\" value");
	assert_int_equal(lit_of(PG_OID_NUMERIC, 1, "\0\1\0\0\0\0\x40\0\0\1", 10, got,
				sizeof(got), &err), PGV_BAD);
	assert_string_equal(err.message, "invalid scale in external \"numeric\" value");
	assert_int_equal(lit_of(PG_OID_NUMERIC, 1, "\0\2\0\0\0\0\0\0\0\1", 10, got,
				sizeof(got), &err), PGV_BAD);
	assert_string_equal(err.sqlstate, "22P03");
	/* numeric's limits: 131072 digits before the point, 16383 after (Postgres takes both). */
	struct pgv_session ss;
	pgv_session_init(&ss);
	struct pgv_buf big = { 0 };
	assert_int_equal(pgv_param_literal(&big, PG_OID_NUMERIC, 0, "9999e131068", 11, &ss, &err),
			 PGV_OK);
	assert_int_equal(big.len, 131072);
	big.len = 0;
	assert_int_equal(pgv_param_literal(&big, PG_OID_NUMERIC, 0, "1e-16383", 8, &ss, &err), PGV_OK);
	assert_int_equal(big.len, 16385);
	pgv_buf_free(&big);
	/* json nesting: an explicit stack, 6400 deep. */
	static char deep[2 * 6401 + 1];
	memset(deep, '[', 6400);
	memset(deep + 6400, ']', 6400);
	assert_int_equal(lit_of(PG_OID_JSON, 0, deep, 12800, got, sizeof(got), &err), PGV_OK);
	memset(deep, '[', 6401);
	memset(deep + 6401, ']', 6401);
	assert_int_equal(lit_of(PG_OID_JSON, 0, deep, 12802, got, sizeof(got), &err), PGV_BAD);
	assert_int_equal(lit_of(PG_OID_INTERVAL, 0, "1 day", 5, got, sizeof(got), &err), PGV_BAD);
	assert_string_equal(err.sqlstate, "0A000");
	assert_int_equal(lit_of(PG_OID_JSON, 0, "{\"k\":\"it's\"}", 12, got, sizeof(got), &err),
			 PGV_OK);
	assert_string_equal(got, "'{\"k\":\"it''s\"}'");
}

static void test_buf(void **state)
{
	(void)state;
	struct pgv_buf b = { 0 };
	for (int i = 0; i < 1000; i++)
		assert_true(pgv_buf_put(&b, "0123456789", 10));
	assert_int_equal(b.len, 10000);
	assert_false(b.failed);
	pgv_buf_free(&b);
	assert_null(b.p);
	pgv_buf_free(&b);
}

static int teardown(void **state)
{
	(void)state;
	vec_zones_free(&zones);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_vectors),
		cmocka_unit_test(test_binary_vectors),
		cmocka_unit_test(test_param_vectors),
		cmocka_unit_test(test_zero_dates),
		cmocka_unit_test(test_bad_mysql_values),
		cmocka_unit_test(test_hand_text),
		cmocka_unit_test(test_computed_values),
		cmocka_unit_test(test_session_settings),
		cmocka_unit_test(test_param_hand),
		cmocka_unit_test(test_buf),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}

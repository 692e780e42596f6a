/*
 * fuzz_pgvalue — libFuzzer target for the value mapping and time zones.
 *
 * The first byte picks what is fed: a MySQL value into pgv_text or
 * pgv_binary (with a conversion, type, typmod and session settings taken
 * from the next bytes), a client parameter into pgv_param_literal, TZif
 * bytes into tz_from_tzif, or a TimeZone string into tz_fixed; the zones
 * are then asked for offsets at instants taken from the input. Nothing may
 * crash or leak, and what comes out must hold:
 *   - a literal has no unescaped quote: quotes pair up, and a text
 *     parameter's literal unquotes back to the parameter's bytes;
 *   - shortest floats (extra_float_digits > 0) read back as the value;
 *   - a status is one of the four, and PGV_BAD comes with a SQLSTATE.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/pgvalue.h"
#include "router/tz.h"

static void check(bool ok)
{
	if (!ok)
		abort();
}

static const uint32_t oids[] = {
	PG_OID_BOOL, PG_OID_BYTEA, PG_OID_INT8, PG_OID_INT2, PG_OID_INT4, PG_OID_TEXT,
	PG_OID_JSON, PG_OID_FLOAT4, PG_OID_FLOAT8, PG_OID_UNKNOWN, PG_OID_BPCHAR, PG_OID_VARCHAR,
	PG_OID_DATE, PG_OID_TIME, PG_OID_TIMESTAMP, PG_OID_TIMESTAMPTZ, PG_OID_INTERVAL,
	PG_OID_NUMERIC, PG_OID_NAME, 0, 12345,
};

static const char *const zone_specs[] = {
	"UTC", "KST-9", "UTC+9", "+09:00", "-3.5", "EST5EDT", "CET-1CEST,M3.5.0,M10.5.0/3",
	"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
	"IST-2IDT,M3.4.4/26,M10.5.0",
};
#define NZONES (sizeof(zone_specs) / sizeof(zone_specs[0]))
static struct tz_zone *zones[NZONES];

static void status_ok(enum pgv_status st, const struct pgv_error *err)
{
	check(st == PGV_OK || st == PGV_NULL || st == PGV_BAD || st == PGV_OOM);
	if (st == PGV_BAD)
		check(strlen(err->sqlstate) == 5 && err->message[0] != '\0');
}

static void session_from(struct pgv_session *s, const uint8_t *b)
{
	pgv_session_init(s);
	s->datestyle = (enum pgv_datestyle)(b[0] % 4);
	s->dateorder = (enum pgv_dateorder)(b[0] / 4 % 3);
	s->intervalstyle = (enum pgv_intervalstyle)(b[0] / 12 % 4);
	s->extra_float_digits = b[1] % 19 - 15;
	s->bytea_hex = b[1] & 0x80;
	size_t z = b[2] % (NZONES + 1);
	pgv_session_set_tz(s, z < NZONES ? zones[z] : NULL, z < NZONES ? zone_specs[z] : "UTC");
}

/* Quotes pair up: '' inside a string, one quote opens and one closes. */
static void check_quotes(const char *p, size_t n)
{
	bool in = false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\'')
			continue;
		if (in && i + 1 < n && p[i + 1] == '\'')
			i++;
		else
			in = !in;
	}
	check(!in);
}

static void check_text_literal(const char *p, size_t n, const uint8_t *v, size_t len)
{
	check(n >= 2 && p[0] == '\'' && p[n - 1] == '\'');
	size_t k = 0;
	for (size_t i = 1; i + 1 < n; i++, k++) {
		if (p[i] == '\'') {
			check(p[i + 1] == '\'');
			i++;
		}
		check(k < len && (uint8_t)p[i] == v[k]);
	}
	check(k == len);
}

static void one_value(int mode, const uint8_t *data, size_t size)
{
	if (size < 6)
		return;
	enum pgv_conv conv = (enum pgv_conv)(data[0] % (PGV_C_COUNT + 1));
	uint32_t oid = oids[data[1] % (sizeof(oids) / sizeof(oids[0]))];
	int32_t typmod = (int32_t)(data[2] % 24) - 1;
	struct pgv_session s;
	session_from(&s, data + 3);
	const char *v = (const char *)data + 6;
	size_t len = size - 6;
	struct pgv_buf out = { 0 };
	struct pgv_error err = { 0 };
	enum pgv_status st;
	if (mode == 0) {
		st = pgv_text(&out, conv, oid, typmod, v, len, &s, &err);
		status_ok(st, &err);
		if (st == PGV_OK && (conv == PGV_C_FLOAT8 || conv == PGV_C_FLOAT4) &&
		    s.extra_float_digits > 0 && len < 100) {
			char a[128], b[128];
			memcpy(a, v, len);
			a[len] = '\0';
			check(out.len < sizeof(b));
			memcpy(b, out.p, out.len);
			b[out.len] = '\0';
			if (conv == PGV_C_FLOAT8)
				check(strtod(a, NULL) == strtod(b, NULL));
			else
				check(strtof(a, NULL) == strtof(b, NULL));
		}
	} else if (mode == 1) {
		st = pgv_binary(&out, conv, oid, typmod, v, len, &s, &err);
		status_ok(st, &err);
	} else {
		int format = data[0] & 1;
		if ((data[0] & 0x7e) == 0x7e)
			format = 2;
		st = pgv_param_literal(&out, oid, format, (data[2] & 0x10) ? v : NULL, len, &s, &err);
		status_ok(st, &err);
		check(st != PGV_NULL);
		if (st == PGV_OK) {
			check(out.len > 0);
			check_quotes(out.p, out.len);
			bool textual = oid == PG_OID_TEXT || oid == PG_OID_VARCHAR ||
				       oid == PG_OID_BPCHAR || oid == PG_OID_NAME ||
				       oid == PG_OID_UNKNOWN || oid == PG_OID_JSON || oid == 0;
			if (textual && (data[2] & 0x10))
				check_text_literal(out.p, out.len, (const uint8_t *)v, len);
		}
	}
	pgv_buf_free(&out);
}

static int64_t rd64(const uint8_t *p)
{
	uint64_t x = 0;
	for (int i = 0; i < 8; i++)
		x = x << 8 | p[i];
	return (int64_t)x;
}

static void ask_zone(const struct tz_zone *z, const uint8_t *data, size_t size)
{
	static const int64_t fixed[] = { 0, -1, 1772323200, 4102444800, -62135596800,
					 INT64_C(9000000000000), -INT64_C(9000000000000) };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		const char *a = NULL;
		bool dst;
		int32_t off = tz_offset_at(z, fixed[i], &a, &dst);
		check(a != NULL && off > -200 * 3600 && off < 200 * 3600);
		off = tz_offset_for_local(z, fixed[i]);
		check(off > -200 * 3600 && off < 200 * 3600);
	}
	/* Instants from the input's tail, kept within Postgres' range of years. */
	for (size_t i = 0; i + 8 <= size && i < 64; i += 8) {
		int64_t t = rd64(data + size - 8 - i) % INT64_C(9000000000000);
		const char *a = NULL;
		(void)tz_offset_at(z, t, &a, NULL);
		check(a != NULL);
		(void)tz_offset_for_local(z, t);
	}
	check(tz_name(z) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (zones[0] == NULL)
		for (size_t i = 0; i < NZONES; i++)
			check((zones[i] = tz_fixed(zone_specs[i])) != NULL);
	if (size < 1)
		return 0;
	int mode = data[0] % 5;
	data++, size--;
	if (mode <= 2) {
		one_value(mode, data, size);
	} else if (mode == 3) {
		struct tz_zone *z = tz_from_tzif("fuzz", data, size);
		if (z != NULL) {
			ask_zone(z, data, size);
			tz_free(z);
		}
	} else {
		char name[80];
		size_t n = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
		memcpy(name, data, n);
		name[n] = '\0';
		struct tz_zone *z = tz_fixed(name);
		if (z != NULL) {
			ask_zone(z, data, size);
			tz_free(z);
		}
		char out[64];
		if (tz_file_name(name, out, sizeof(out)))
			check(strstr(out, "..") == NULL && out[0] != '/');
	}
	return 0;
}

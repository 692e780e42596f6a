/*
 * pgvalue — values between MySQL and Postgres: a MySQL result value (text
 * protocol) as the Postgres text or binary value a client of Supabase would
 * get, and a client's bound parameter as a MySQL literal.
 *
 * Formatting follows the session's own settings exactly as Postgres does:
 * TimeZone (IANA names such as Asia/Seoul through tz.h, offsets, POSIX
 * strings), DateStyle (ISO/Postgres/SQL/German with DMY/MDY/YMD),
 * IntervalStyle, extra_float_digits (shortest round-trip floats when > 0,
 * the default 1), bytea_output. The proxy keeps one struct pgv_session per
 * client session and feeds it the startup parameters, the ParameterStatus
 * messages Supabase sends (TimeZone, DateStyle, IntervalStyle) and the
 * session's own SETs of extra_float_digits / bytea_output.
 *
 * Pure: no I/O. Time zones are handed in already loaded (tz.h); the proxy
 * reads the TZif files. Return conventions: enum pgv_status per function.
 */
#ifndef SY_PGVALUE_H
#define SY_PGVALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "router/catalog.h"

struct tz_zone;

/* A growable byte buffer with a sticky failure flag (OOM). Zero-initialised is empty. */
struct pgv_buf {
	char *p;
	size_t len;
	size_t cap;
	bool failed;
};
bool pgv_buf_put(struct pgv_buf *b, const void *p, size_t n);
void pgv_buf_free(struct pgv_buf *b);

enum pgv_status {
	PGV_OK = 0,   /* the value was appended */
	PGV_NULL,     /* the value is SQL NULL (a MySQL zero date); nothing appended */
	PGV_BAD,      /* the input is not a value of its type: see the error fields */
	PGV_OOM,      /* out of memory */
};

enum pgv_datestyle {
	PGV_DS_ISO = 0,
	PGV_DS_POSTGRES,
	PGV_DS_SQL,
	PGV_DS_GERMAN,
};

enum pgv_dateorder {
	PGV_DO_MDY = 0,
	PGV_DO_DMY,
	PGV_DO_YMD,
};

enum pgv_intervalstyle {
	PGV_IS_POSTGRES = 0,
	PGV_IS_POSTGRES_VERBOSE,
	PGV_IS_SQL_STANDARD,
	PGV_IS_ISO_8601,
};

/* The session settings values depend on. pgv_session_init gives Postgres' defaults. */
struct pgv_session {
	const struct tz_zone *tz;   /* borrowed; NULL means UTC */
	char tz_name[64];           /* as the session named it, for messages */
	enum pgv_datestyle datestyle;
	enum pgv_dateorder dateorder;
	enum pgv_intervalstyle intervalstyle;
	int extra_float_digits;     /* -15 .. 3, default 1 */
	bool bytea_hex;             /* bytea_output = hex (default) or escape */
};

void pgv_session_init(struct pgv_session *s);

/*
 * Applies a setting by its Postgres name (case-insensitive: "DateStyle",
 * "IntervalStyle", "extra_float_digits", "bytea_output"; TimeZone is set
 * with pgv_session_set_tz, as its zone must be loaded first). Values are
 * parsed as Postgres parses them ("ISO, DMY", "sql_standard", "3").
 * Returns false (and changes nothing) for a value Postgres would refuse;
 * other names are ignored (true).
 */
bool pgv_session_set(struct pgv_session *s, const char *name, const char *value)
	__attribute__((warn_unused_result));
void pgv_session_set_tz(struct pgv_session *s, const struct tz_zone *tz, const char *name);

/* Error details for PGV_BAD, as Postgres words them. */
struct pgv_error {
	char sqlstate[6];  /* e.g. "22P02", "22003", "22007", "22008" */
	char message[200];
};

/*
 * Appends the Postgres text form of MySQL value v[0, len) under conversion
 * <conv> (catalog.h) for a column of type <oid> and <typmod> to <out>.
 * PGV_BAD means MySQL sent something its type cannot hold (the proxy answers
 * XX000 naming the column). A date with a zero part ('0000-00-00',
 * '2026-00-15') is PGV_NULL; MySQL's year 0 is 1 BC.
 */
enum pgv_status pgv_text(struct pgv_buf *out, enum pgv_conv conv, uint32_t oid, int32_t typmod,
			 const char *v, size_t len, const struct pgv_session *s,
			 struct pgv_error *err) __attribute__((warn_unused_result));

/*
 * The same value in Postgres' binary format (what a client gets with result
 * format 1): bool, int2/4/8, float4/8, numeric, text/varchar/bpchar/json,
 * bytea, date, timestamp, timestamptz, interval. PGV_BAD with 0A000 for
 * another type.
 */
enum pgv_status pgv_binary(struct pgv_buf *out, enum pgv_conv conv, uint32_t oid, int32_t typmod,
			   const char *v, size_t len, const struct pgv_session *s,
			   struct pgv_error *err) __attribute__((warn_unused_result));

/*
 * Appends a client's bound parameter — Postgres type <oid>, format 0 (text)
 * or 1 (binary), bytes v[0, len), or SQL NULL when <v> is NULL — as a MySQL
 * literal for the fixed sql_mode (translate.h): NULL, numbers as validated
 * digits, strings as '...' with quotes doubled, timestamps in UTC, bytea as
 * X'..', booleans as TRUE/FALSE. Input Postgres would reject gets Postgres'
 * error (22P02 invalid input syntax, 22003 out of range, 22007/22008 dates,
 * 22021 bad UTF-8): PGV_BAD. Floats become their shortest digits with an
 * exponent (a MySQL DOUBLE literal, "1.5e-7"), dates 'YYYY-MM-DD',
 * timestamps 'YYYY-MM-DD HH:MM:SS.ffffff' (timestamptz converted to UTC).
 * Values Postgres takes but MySQL has no equivalent for are PGV_BAD with
 * 0A000: NaN and Infinity, 'now'/'today'/'infinity', years outside 1-9999,
 * time zone names inside a timestamp (numeric offsets are fine).
 */
enum pgv_status pgv_param_literal(struct pgv_buf *out, uint32_t oid, int format, const char *v,
				  size_t len, const struct pgv_session *s, struct pgv_error *err)
	__attribute__((warn_unused_result));

#endif

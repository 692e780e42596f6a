/*
 * translate — a Postgres-dialect read of legacy tables, turned into MySQL SQL
 * that answers exactly what Postgres would (DESIGN.md rules 3, 7, 8).
 *
 * Input: the text of ONE statement (the router splits multi-statement texts)
 * that the router decided is a legacy read, the parameter types a Parse gave,
 * and the legacy catalog. The text is parsed again here (tree.h); the MySQL
 * SQL is generated from the parse tree alone, never copied from the client's
 * text, so MySQL can never run something the Postgres parser did not see
 * (MySQL executable comments "/\*! ... *\/", backslash escapes).
 *
 * Output: the MySQL text with slots where the proxy inserts, per execution,
 * a bound parameter as a MySQL literal (pgvalue.c) or a value of the
 * session; the parameters' Postgres types (inferred from context as
 * Postgres does: `id = $1` takes the column's type); the output columns with
 * Postgres names, types and the conversion of each MySQL value; and what
 * wraps the read (DECLARE CURSOR, COPY TO).
 *
 * The MySQL session the text runs in is set up by xlate_session_setup()'s
 * statement (proxy/mysql.c runs it on every new connection): utf8mb4,
 * time_zone '+00:00', a fixed sql_mode with NO_BACKSLASH_ESCAPES and without
 * ANSI_QUOTES, and whatever else the generated SQL relies on.
 * Identifiers are `backticked` (ANSI_QUOTES is off); string literals are
 * '...' with quotes doubled and backslashes literal (NO_BACKSLASH_ESCAPES).
 * Only SQL that both MariaDB 10.11 and MySQL 8.0 understand is generated.
 *
 * Postgres semantics win where the engines differ: text compares, sorts and
 * groups byte-wise (Supabase's C.UTF-8), also on case-insensitive MySQL
 * columns (equality keeps a plain comparison beside the byte-wise one so
 * the index is still used); NULLs sort last ascending; integer division
 * truncates; booleans are booleans; aggregates have Postgres' result types.
 *
 * Whatever is not translated is refused with 0A000 naming the construct;
 * names that do not resolve get Postgres' own errors (42P01, 42703, 42883,
 * 42702, ...). Nothing is ever sent half-translated.
 *
 * Pure: no I/O. A struct xlate is per worker thread and keeps its memory
 * between calls.
 */
#ifndef SY_TRANSLATE_H
#define SY_TRANSLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "router/catalog.h"

enum xlate_status {
	XLATE_OK = 0,       /* *out describes the MySQL read */
	XLATE_REFUSED,      /* sqlstate/message say why: 0A000 for a construct not
			       translated, Postgres' analysis errors for bad names */
	XLATE_OOM,          /* out of memory */
};

/* What wraps the SELECT. */
enum xlate_wrap {
	XLATE_W_NONE = 0,   /* a plain SELECT / VALUES / TABLE */
	XLATE_W_DECLARE,    /* DECLARE <cursor> [NO SCROLL] CURSOR [WITHOUT HOLD] FOR SELECT ... */
	XLATE_W_COPY,       /* COPY (SELECT ...) TO STDOUT [WITH (FORMAT text|csv, HEADER, ...)] */
};

/*
 * What the proxy inserts at a slot of the MySQL text, per execution.
 *
 * The session TimeZone's offset is looked up per row where it depends on the
 * value's own date (DST, a zone's history such as Seoul's LMT before 1908):
 * the translator writes
 *     ELT(INTERVAL(TIMESTAMPDIFF(SECOND, '0001-01-01', <v>)<slot>)
 * and the proxy fills the slot with xlate_tz_steps_text() of the session
 * zone's tz_steps (router/tz.h):
 *     , t_1, ..., t_n) + 1, o_0, o_1, ..., o_n
 * t_i the ascending breakpoints in seconds since 0001-01-01 (so every row's
 * count is >= 0 and truncates like a floor), o_0 the offset before t_1, o_i
 * from t_i on. INTERVAL() finds the step (by binary search, its list being
 * constant), ELT() its offset; a NULL <v> gives INTERVAL -1 and ELT(0) NULL.
 * A zone with one offset is written as one breakpoint with o_0 = o_1. The
 * MySQL text before filling stays independent of the session, so the
 * translation cache serves every zone.
 */
enum xlate_slot_kind {
	XLATE_S_PARAM = 0,     /* parameter $<param+1> as a MySQL literal of its Postgres type */
	XLATE_S_TZ_OFFSET,     /* the session TimeZone's UTC offset now, in seconds (integer):
				  current_date, localtimestamp */
	XLATE_S_TZ_UTC_STEPS,  /* <v> a UTC instant; o_i its offset (TZ_STEPS_UTC):
				  timestamptz -> local (extract, date_trunc, ::date, ::timestamp) */
	XLATE_S_TZ_LOCAL_STEPS, /* <v> a local time; o_i its offset as Postgres resolves gaps and
				  overlaps (TZ_STEPS_LOCAL): local -> timestamptz */
};

/* At most this many XLATE_S_TZ_*_STEPS slots in one statement (more is refused, 0A000). */
#define XLATE_MAX_TZ_STEPS 256

/*
 * The text of a XLATE_S_TZ_UTC_STEPS or XLATE_S_TZ_LOCAL_STEPS slot for the
 * steps at[0, n) (seconds since the epoch, after 0001-01-01, ascending) and
 * off[0, n] (seconds east): writes at most <cap> bytes to <out> (nothing
 * when out is NULL) and returns the length of the whole text, as snprintf
 * does (no NUL is written).
 */
size_t xlate_tz_steps_text(char *out, size_t cap, const int64_t *at, const int32_t *off, size_t n);

struct xlate_slot {
	uint32_t at;        /* byte offset in sql where the value goes */
	uint16_t kind;      /* enum xlate_slot_kind */
	uint16_t param;     /* XLATE_S_PARAM: 0-based parameter index */
};

/* One output column, as RowDescription describes it. */
struct xlate_col {
	const char *name;   /* Postgres' column name: "id", "count", "?column?", ... */
	uint32_t type_oid;  /* enum pg_oid */
	int32_t typmod;     /* -1 if none */
	uint8_t conv;       /* enum pgv_conv: how the MySQL text value becomes the Postgres one */
};

/* COPY ... TO STDOUT options (XLATE_W_COPY). */
struct xlate_copy {
	bool csv;           /* FORMAT csv (else text) */
	bool header;
	char delimiter;     /* default '\t' (text) or ',' (csv) */
	char quote;         /* csv, default '"' */
	char escape;        /* csv, default = quote */
	const char *null_string; /* default "\\N" (text) or "" (csv) */
};

struct xlate_result {
	enum xlate_status status;
	char sqlstate[6];          /* XLATE_REFUSED */
	char message[256];
	char detail[256];          /* "" if none */

	const char *sql;           /* MySQL text without the slot values (NUL-terminated) */
	size_t sql_len;
	const struct xlate_slot *slots; /* in increasing <at> order */
	size_t nslots;
	const uint32_t *param_types; /* Postgres type of each $n (n = index + 1) */
	uint16_t nparams;
	const struct xlate_col *cols;
	uint16_t ncols;
	enum xlate_wrap wrap;
	const char *cursor_name;   /* XLATE_W_DECLARE */
	struct xlate_copy copy;    /* XLATE_W_COPY */
	bool total_order;          /* the ORDER BY determines the row order completely */
	bool limited;              /* a LIMIT/OFFSET somewhere: without total_order, which rows
				      come back is not determined (shadow reads skip it) */
};

struct xlate_input {
	const char *sql;           /* one statement, NUL-terminated at sql[len] */
	size_t len;
	const uint32_t *param_types; /* from Parse (0 = unspecified), may be NULL */
	uint16_t nparam_types;
	const struct legacy_catalog *cat;
};

struct xlate;

/*
 * The one SET statement every MySQL session runs before any translated read:
 * SET NAMES utf8mb4, time_zone = '+00:00', sql_mode = 'NO_BACKSLASH_ESCAPES,
 * STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,
 * NO_UNSIGNED_SUBTRACTION',
 * group_concat_max_len = 1073741824 (translate.c
 * says what the generated SQL relies on). Division by zero yields NULL with
 * warning 1365 in MySQL: the proxy turns that warning into 22012.
 */
const char *xlate_session_setup(void);

struct xlate *xlate_new(void) __attribute__((warn_unused_result));
void xlate_free(struct xlate *x);

/*
 * Translates one statement. Always fills *out (status says how it went);
 * everything it points to is borrowed until the next xlate_read or
 * xlate_free on <x>.
 */
void xlate_read(struct xlate *x, const struct xlate_input *in, struct xlate_result *out);

/*
 * A result as one flat blob, for the router's statement cache: the bytes
 * xlate_pack needs, and the packing itself (into <buf> of at least that
 * size). xlate_unpack points *out into <buf>, which must stay alive (and be
 * 8-byte aligned) while *out is read.
 */
size_t xlate_packed_size(const struct xlate_result *r);
void xlate_pack(const struct xlate_result *r, unsigned char *buf);
void xlate_unpack(const unsigned char *buf, struct xlate_result *out);

#endif

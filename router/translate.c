/*
 * translate — Postgres-dialect reads of legacy tables as MySQL SQL (the
 * contract is in translate.h).
 *
 * The walk reads libpg_query's tree (tree.h) once and writes MySQL text into
 * one growing buffer. Every expression handler appends its text and reports
 * the expression's Postgres type (struct ty, a small OID + typmod + what is
 * known of its MySQL side). A parent that learns only afterwards how its
 * operands must look (a byte-wise comparison, a literal that takes the other
 * side's type) takes their texts back out (operand, cut) and writes the
 * combination. A SELECT writes its FROM clause first, because the select
 * list can only be resolved against it, and then rotates the select list in
 * front of it (buf_rotate). Slots are markers in the text while it is built
 * (add_slot), so every edit carries them; finish_slots turns them into
 * offsets. Everything of one result lives in the struct tree_arena.
 *
 * The MySQL session runs xlate_session_setup()'s one statement:
 *   SET NAMES utf8mb4, time_zone = '+00:00',
 *   sql_mode = 'NO_BACKSLASH_ESCAPES,STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,
 *               NO_ENGINE_SUBSTITUTION,NO_UNSIGNED_SUBTRACTION',
 *   group_concat_max_len = 1073741824
 * and the generated SQL relies on exactly that:
 *   - identifiers in backticks (ANSI_QUOTES off), strings '...' with quotes
 *     doubled and backslashes literal (NO_BACKSLASH_ESCAPES); a "/" before
 *     a "*" inside a string is split into two adjacent literals, so the text
 *     never holds a comment opener;
 *   - NO_UNSIGNED_SUBTRACTION: Postgres has no unsigned types, so
 *     `2024 - birth_year` (a YEAR or UNSIGNED operand) is a signed result,
 *     not MySQL's error 1690;
 *   - '||' is never emitted (CONCAT), so PIPES_AS_CONCAT is not needed;
 *   - ONLY_FULL_GROUP_BY is off: MariaDB's version of it rejects columns that
 *     Postgres accepts through a primary key's functional dependency; the
 *     translator itself enforces Postgres' rule (42803);
 *   - group_concat_max_len: string_agg has no length limit in Postgres
 *     (GROUP_CONCAT truncates at 1024 bytes by default); 1 GiB is MariaDB's
 *     maximum (a larger value warns, and the proxy raises warnings), and
 *     max_allowed_packet still bounds one value;
 *   - no generated text may raise a warning in normal operation: the proxy
 *     turns MySQL's data warnings into Postgres errors (so varchar(n) casts
 *     are LEFT(), not CAST AS CHAR(n), which warns when it truncates);
 *   - time_zone '+00:00': TIMESTAMP columns and NOW() read as UTC; the
 *     session's own TimeZone enters through slots: XLATE_S_TZ_OFFSET (the
 *     offset now) and the per-row XLATE_S_TZ_UTC_STEPS/_LOCAL_STEPS.
 *
 * Postgres semantics that are emulated:
 *   - text compares, LIKE, ORDER BY, GROUP BY, DISTINCT, min/max, set
 *     operations work on CAST(x AS BINARY) (byte-wise, no PAD SPACE), LIKE
 *     on `x COLLATE utf8mb4_bin` (character-wise, and LIKE never pads);
 *     equality and IN against a plain indexed column keep a plain comparison
 *     beside the byte-wise one so the index is still used;
 *   - ENUM columns sort and compare as their text;
 *   - NULLs sort last ascending, first descending (an `x IS NULL` key before
 *     a nullable key);
 *   - int / int is DIV (truncates toward zero, like Postgres); % keeps the
 *     dividend's sign in both engines;
 *   - concat() skips NULLs (CONCAT_WS('', ...)); greatest/least skip NULLs;
 *   - result types and names as Postgres reports them (checked against
 *     PostgreSQL 15 by tests/unit/translate/check_postgres.py), including
 *     count/sum/avg's (avg's scale too, div_pg_scale);
 *   - extract/date_trunc/::date/::timestamp of a timestamptz take each
 *     value's own offset in the session TimeZone (out_local, slot
 *     XLATE_S_TZ_UTC_STEPS); a timestamp, date or literal made a
 *     timestamptz (a cast, date_trunc's result, timestamptz - timestamp,
 *     a literal without a zone) takes the offset Postgres resolves for that
 *     local time, gaps and overlaps included (out_utc,
 *     XLATE_S_TZ_LOCAL_STEPS); timestamptz ± interval adds months and days
 *     to the local time (out_tstz_add); current_date and localtimestamp
 *     take the offset now (XLATE_S_TZ_OFFSET);
 *   - FLOAT columns are read as CAST(col AS DOUBLE) (emit_col): MySQL prints
 *     FLOAT with 6 digits; the double is the float's exact value;
 *   - a MySQL zero date (or one with a zero month/day) IS NULL;
 *   - intervals: a TIME column is a time-only interval; timestamp -
 *     timestamp and interval ± interval literal are computed as days *
 *     10^15 + microseconds (TY_IVENC, PGV_C_INTERVAL_DT), allowed only as a
 *     whole select-list item (emit_expr refuses them elsewhere);
 *   - what MySQL cannot spell is printed by the value mapper from a
 *     "display" text of a whole select-list item: float::text and
 *     float::numeric (PGV_C_FLOAT*_TEXT, PGV_C_NUMERIC_OF_FLOAT*), -0 of
 *     round/trunc/ceil, each value's own scale in a numeric CASE,
 *     GREATEST and LEAST, avg()'s and division's scale.
 * Left alone (known differences):
 *   - division by zero: MySQL yields NULL with warning 1365 where Postgres
 *     raises 22012; the proxy turns warning 1365 into 22012 (it must read
 *     the warning count of every legacy read);
 *   - integer overflow: MySQL computes in 64 bits (or DECIMAL) where Postgres
 *     raises 22003 for int4; results out of the column's range reach the
 *     value mapper, which reports 22003;
 *   - numeric scale of division: MySQL gives the dividend's scale + 4
 *     (div_precision_increment), Postgres at least 16 significant digits;
 *     a division or avg() that is a whole select-list item of the
 *     statement's own level prints Postgres' digits (div_pg_scale), one
 *     inside a larger expression or a subquery keeps MySQL's scale;
 *   - TINYINT(1) values other than 0/1 are true, but group and sort apart;
 *   - now()/current_timestamp are the statement's time, not the transaction's;
 *   - per-row offsets are exact for every transition in the zone's table
 *     and its rule carried to 2100 (tz.h, tz_steps); later times keep the
 *     offset of December 2099;
 *   - sum(real) adds doubles (Postgres rounds to float4 at each step);
 *   - float::numeric inside a larger expression is refused (float8_numeric's
 *     %.15g has no MySQL spelling);
 *   - AT TIME ZONE and = ANY($1) with an array parameter are refused.
 */
#include "router/translate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "router/tree.h"

/* Deeper expressions than this are refused rather than risking the stack. */
#define MAX_DEPTH 200
/* Postgres' own limit on $n. */
#define MAX_PARAMS 65535
/* Slot markers in the text being built (see add_slot). */
#define SLOT_MARK '\x01'
#define SLOT_LEN 7
/* Output buffer kept between statements; a larger one is released after use. */
#define KEEP_BUF (256u << 10)

/* ---- types ---- */

enum ty_flag {
	TY_UNKNOWN = 1 << 0,  /* an untyped string literal: takes its context's type */
	TY_NULL = 1 << 1,     /* the NULL literal */
	TY_PARAM = 1 << 2,    /* a bare $n whose type is not known yet */
	TY_ENUM = 1 << 3,     /* a MySQL ENUM/SET column: sorts by index unless cast */
	TY_BINARY = 1 << 4,   /* already a byte string in MySQL (CAST AS BINARY) */
	TY_AGG = 1 << 5,      /* contains an aggregate */
	TY_IVENC = 1 << 6,    /* an interval MySQL holds as days * 10^15 + microseconds
				 (PGV_C_INTERVAL_DT), only as a whole select-list item */
	TY_WASLIT = 1 << 7,   /* a select-list string literal closed as text: a set
				 operation gives it the other branch's type */
};

/* The Postgres type of an expression, and what the walk knows about its MySQL side. */
struct ty {
	uint32_t oid;       /* enum pg_oid; 0 while unknown (literal, parameter, NULL) */
	int32_t typmod;
	uint8_t flags;      /* enum ty_flag */
	uint16_t param;     /* TY_PARAM: 0-based index */
	const struct legacy_column *col; /* a plain column reference, else NULL */
	bool nullable;      /* may be NULL (a column's nullability, outer joins) */
	const char *lit;    /* TY_UNKNOWN: the decoded literal */
};

/* ---- scopes ---- */

/* A column of a FROM item. */
struct rcol {
	const char *name;     /* Postgres name */
	const char *my_name;  /* MySQL name (a table column's, or the alias a subquery wrote) */
	struct ty ty;
};

/* A FROM item: a legacy table, a CTE or a derived table. */
struct range {
	const char *name;     /* what the query calls it (alias or table name) */
	const char *qual;     /* how MySQL qualifies its columns */
	const struct legacy_table *table; /* NULL for CTEs and subqueries */
	struct rcol *cols;
	size_t ncols;
};

/* A column merged by JOIN USING / NATURAL: unqualified, it is the one of range <use>. */
struct merged {
	const char *name;
	size_t use;           /* index in the scope's ranges */
	size_t other;
};

/* A CTE visible to a query. */
struct cte {
	const char *name;
	struct rcol *cols;
	size_t ncols;
	struct cte *next;
};

/* The FROM items of one query level, with its parent for correlated names. */
struct scope {
	struct scope *parent;
	struct range *ranges;
	size_t nranges, cap;
	struct merged *merged;
	size_t nmerged, mcap;
	struct cte *ctes;          /* visible CTEs, innermost first */
	/*
	 * The Postgres grouping rule, checked when the level is done: every
	 * column of this level used outside an aggregate (ug) must be grouped.
	 */
	bool in_agg;               /* inside an aggregate's arguments */
	bool track_ug;             /* in the select list, HAVING or ORDER BY (not WHERE, ON) */
	bool has_agg;              /* an aggregate of this level was written */
	struct ugref *ug;
	size_t nug, ugcap;
	struct group_item *groups;
	size_t ngroups, gcap;
	uint32_t windows;          /* the level's WINDOW clause (a list of WindowDef), or 0 */
};

/* A column used outside an aggregate. */
struct ugref {
	size_t range, col;
	bool ok;                  /* found to be part of a grouped expression */
};

/* A GROUP BY item: its MySQL text, and the column if it is a plain one. */
struct group_item {
	const char *text;
	size_t range, col;        /* SIZE_MAX when not a plain column */
	bool textual;             /* grouped byte-wise too */
};

/* One output column of a query level. */
struct ocol {
	const char *name;
	struct ty ty;
	const char *text;         /* its expression's MySQL text (before any byte-wise wrap) */
	const char *display;      /* what the select list writes instead, or NULL (avg_pg_scale) */
	uint8_t display_conv;     /* with a display: its enum pgv_conv + 1, or 0 (conv_of) */
	size_t start, end;        /* where it was written */
	const char *alias;        /* the alias written for it in MySQL */
	uint32_t node;            /* its expression node (0 for a * expansion) */
	size_t range, col;        /* a plain column: where it comes from, else SIZE_MAX */
	size_t ug_from, ug_to;    /* the columns it uses outside aggregates (scope's ug) */
};

struct olist {
	struct ocol *v;
	size_t n, cap;
};

/* ---- the translator ---- */

struct xlate {
	struct tree doc;
	struct tree_arena arena;
	char *buf;
	size_t n, cap;
	struct xlate_slot *slots;
	size_t nslots, slots_cap;
	uint32_t *ptypes;
	size_t nparams, ptypes_cap;

	const struct xlate_input *in;
	const struct legacy_catalog *cat;
	bool want_display;         /* a top-level select-list avg() or division: div_pg_scale */
	const char *display;       /* what it prints as, if it was one */
	uint8_t display_conv;      /* the display's enum pgv_conv + 1, or 0 */
	bool want_cast_display;    /* a top-level select-list cast: a float's ::text or ::numeric */
	unsigned depth;
	unsigned ivenc_at;         /* the depth whose expression may be a TY_IVENC interval, + 1 */
	bool limited;              /* some level has a LIMIT/OFFSET (xlate_result.limited) */
	bool failed;
	bool oom;
	char sqlstate[6];
	char message[256];
	char detail[256];
};

static bool fail(struct xlate *x, const char *state, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool fail(struct xlate *x, const char *state, const char *fmt, ...)
{
	if (x->failed)
		return false;
	x->failed = true;
	memcpy(x->sqlstate, state, 6);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->message, sizeof(x->message), fmt, ap);
	va_end(ap);
	return false;
}

static bool refuse(struct xlate *x, const char *what)
{
	return fail(x, "0A000", "%s is not supported for legacy tables", what);
}

static bool oom(struct xlate *x)
{
	x->oom = true;
	return fail(x, "53200", "out of memory");
}

static void *xalloc(struct xlate *x, size_t n)
{
	void *p = tree_arena_alloc(&x->arena, n ? n : 1);
	if (p == NULL)
		oom(x);
	else
		memset(p, 0, n ? n : 1);
	return p;
}

static char *xdup(struct xlate *x, const char *s)
{
	char *d = tree_arena_strndup(&x->arena, s, strlen(s));
	if (d == NULL)
		oom(x);
	return d;
}

/* The decoded string <v>, or NULL (OOM or not a string: both fail). */
static const char *xstr(struct xlate *x, uint32_t v)
{
	if (!tree_is(&x->doc, v, TREE_STR)) {
		fail(x, "XX000", "unexpected parse tree");
		return NULL;
	}
	char *s = tree_decode(&x->arena, &x->doc, v);
	if (s == NULL)
		oom(x);
	return s;
}

/* ---- the output buffer ---- */

static bool buf_reserve(struct xlate *x, size_t more)
{
	if (x->n + more + 1 <= x->cap)
		return true;
	size_t cap = x->cap ? x->cap : 1024;
	while (cap < x->n + more + 1)
		cap *= 2;
	char *b = realloc(x->buf, cap);
	if (b == NULL)
		return oom(x);
	x->buf = b;
	x->cap = cap;
	return true;
}

static bool outn(struct xlate *x, const char *s, size_t n)
{
	if (x->failed || !buf_reserve(x, n))
		return false;
	memcpy(x->buf + x->n, s, n);
	x->n += n;
	x->buf[x->n] = '\0';
	return true;
}

static bool out(struct xlate *x, const char *s)
{
	return outn(x, s, strlen(s));
}

static bool outf(struct xlate *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool outf(struct xlate *x, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return fail(x, "XX000", "internal formatting error");
	return outn(x, tmp, (size_t)n);
}

/* Identifiers: backticked, backticks doubled; "/\*" can never be sent. */
static bool out_ident(struct xlate *x, const char *s)
{
	if (strstr(s, "/*") != NULL || strstr(s, "*/") != NULL || strlen(s) > 64 ||
	    strchr(s, SLOT_MARK) != NULL)
		return fail(x, "0A000", "identifier \"%.64s\" cannot be sent to MySQL", s);
	if (!out(x, "`"))
		return false;
	for (const char *p = s; *p; p++) {
		if (!outn(x, p, 1) || (*p == '`' && !outn(x, "`", 1)))
			return false;
	}
	return out(x, "`");
}

/*
 * A string literal: quotes doubled, backslashes literal (NO_BACKSLASH_ESCAPES).
 * A "/" followed by "*" is split into two adjacent literals ('a/' '*b'), which
 * MySQL joins, so the text never carries a comment opener.
 */
static bool out_strlit(struct xlate *x, const char *s)
{
	if (strchr(s, SLOT_MARK) != NULL)
		return fail(x, "0A000", "a string with the control character U+0001 cannot be sent to MySQL");
	if (!out(x, "'"))
		return false;
	for (const char *p = s; *p; p++) {
		if (!outn(x, p, 1))
			return false;
		if (*p == '\'' && !outn(x, "'", 1))
			return false;
		if (*p == '/' && p[1] == '*' && !out(x, "' '"))
			return false;
	}
	return out(x, "'");
}

/*
 * A slot is written as a marker, SLOT_MARK, a kind letter and five digits,
 * while the text is being built, so that every later edit (wrap, copy,
 * rotate) carries it along as plain bytes; finish_slots() takes the markers
 * out and records their offsets. Literals and identifiers never contain the
 * marker byte (they are refused).
 */

static const char slot_letter[] = { [XLATE_S_PARAM] = 'P', [XLATE_S_TZ_OFFSET] = 'T',
				     [XLATE_S_TZ_UTC_STEPS] = 'U', [XLATE_S_TZ_LOCAL_STEPS] = 'L' };

static bool add_slot(struct xlate *x, uint16_t kind, uint16_t param)
{
	return outf(x, "%c%c%05u", SLOT_MARK, slot_letter[kind], (unsigned)param);
}

static uint16_t slot_kind(char letter)
{
	for (uint16_t k = 0; k < sizeof(slot_letter); k++) {
		if (slot_letter[k] == letter)
			return k;
	}
	return XLATE_S_PARAM; /* not reached: only add_slot writes markers */
}

static bool cut(struct xlate *x, size_t start, char **text);

/* The session TimeZone's offset now (current_date, localtimestamp). */
static bool out_tz(struct xlate *x)
{
	return add_slot(x, XLATE_S_TZ_OFFSET, 0);
}

/*
 * The session TimeZone's offset at <text>'s own time, looked up per row in
 * the steps the proxy fills in (translate.h): <kind> says whether <text>
 * is a UTC instant or a local time.
 */
static bool out_tz_steps(struct xlate *x, uint16_t kind, const char *text)
{
	return out(x, "ELT(INTERVAL(TIMESTAMPDIFF(SECOND, '0001-01-01', ") && out(x, text) &&
	       out(x, ")") && add_slot(x, kind, 0) && out(x, ")");
}

/* <text>, a MySQL DATETIME holding a UTC instant, as local time in the session TimeZone. */
static bool out_local(struct xlate *x, const char *text)
{
	return out(x, "DATE_ADD(") && out(x, text) && out(x, ", INTERVAL ") &&
	       out_tz_steps(x, XLATE_S_TZ_UTC_STEPS, text) && out(x, " SECOND)");
}

/*
 * <text>, local time in the session TimeZone (a MySQL DATETIME or DATE), as
 * the UTC instant Postgres' timestamp -> timestamptz makes of it.
 */
static bool out_utc(struct xlate *x, const char *text)
{
	return out(x, "DATE_SUB(") && out(x, text) && out(x, ", INTERVAL ") &&
	       out_tz_steps(x, XLATE_S_TZ_LOCAL_STEPS, text) && out(x, " SECOND)");
}

/* Moves buf[m, e) in front of buf[a, m). */
static bool buf_rotate(struct xlate *x, size_t a, size_t m, size_t e)
{
	if (x->failed || a == m || m == e)
		return !x->failed;
	char *tmp = tree_arena_alloc(&x->arena, m - a);
	if (tmp == NULL)
		return oom(x);
	memcpy(tmp, x->buf + a, m - a);
	memmove(x->buf + a, x->buf + m, e - m);
	memcpy(x->buf + a + (e - m), tmp, m - a);
	return true;
}

/* Takes the slot markers out of the text, recording where each was. */
static bool finish_slots(struct xlate *x)
{
	size_t w = 0, steps = 0;
	x->nslots = 0;
	for (size_t r = 0; r < x->n;) {
		if (x->buf[r] != SLOT_MARK) {
			x->buf[w++] = x->buf[r++];
			continue;
		}
		if (x->nslots == x->slots_cap) {
			size_t cap = x->slots_cap ? x->slots_cap * 2 : 16;
			struct xlate_slot *s = realloc(x->slots, cap * sizeof(*s));
			if (s == NULL)
				return oom(x);
			x->slots = s;
			x->slots_cap = cap;
		}
		unsigned v = 0;
		for (size_t k = 2; k < SLOT_LEN; k++)
			v = v * 10 + (unsigned)(x->buf[r + k] - '0');
		struct xlate_slot *sl = &x->slots[x->nslots++];
		*sl = (struct xlate_slot){
			.at = (uint32_t)w,
			.kind = slot_kind(x->buf[r + 1]),
			.param = (uint16_t)v,
		};
		steps += sl->kind == XLATE_S_TZ_UTC_STEPS || sl->kind == XLATE_S_TZ_LOCAL_STEPS;
		r += SLOT_LEN;
	}
	x->n = w;
	x->buf[w] = '\0';
	/* Each is a zone's whole history once filled in (some KB for America/New_York). */
	if (steps > XLATE_MAX_TZ_STEPS)
		return fail(x, "0A000", "more than %d time zone conversions in one statement are not "
			    "supported for legacy tables", XLATE_MAX_TZ_STEPS);
	return true;
}

/* Writes <v> in decimal at out + *len (while it fits in <cap>), advancing *len. */
static void steps_put_int(char *out, size_t cap, size_t *len, int64_t v)
{
	char tmp[24];
	size_t n = 0;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		tmp[n++] = '-';
	for (size_t i = 0; i < n; i++, (*len)++) {
		if (out != NULL && *len < cap)
			out[*len] = tmp[n - 1 - i];
	}
}

static void steps_put(char *out, size_t cap, size_t *len, const char *s)
{
	for (; *s; s++, (*len)++) {
		if (out != NULL && *len < cap)
			out[*len] = *s;
	}
}

size_t xlate_tz_steps_text(char *out, size_t cap, const int64_t *at, const int32_t *off, size_t n)
{
	/* Seconds since 0001-01-01, what out_tz_steps() counts. */
	const int64_t base = -62135596800LL;
	size_t len = 0;
	if (n == 0) {
		steps_put(out, cap, &len, ", 0) + 1, ");
		steps_put_int(out, cap, &len, off[0]);
		steps_put(out, cap, &len, ", ");
		steps_put_int(out, cap, &len, off[0]);
		return len;
	}
	for (size_t i = 0; i < n; i++) {
		steps_put(out, cap, &len, ", ");
		steps_put_int(out, cap, &len, at[i] - base);
	}
	steps_put(out, cap, &len, ") + 1");
	for (size_t i = 0; i <= n; i++) {
		steps_put(out, cap, &len, ", ");
		steps_put_int(out, cap, &len, off[i]);
	}
	return len;
}



/* ---- types ---- */

static struct ty ty_of(uint32_t oid)
{
	return (struct ty){ .oid = oid, .typmod = -1, .nullable = true };
}

static bool ty_int(const struct ty *t)
{
	return t->oid == PG_OID_INT2 || t->oid == PG_OID_INT4 || t->oid == PG_OID_INT8;
}

static bool ty_float(const struct ty *t)
{
	return t->oid == PG_OID_FLOAT4 || t->oid == PG_OID_FLOAT8;
}

static bool ty_number(const struct ty *t)
{
	return ty_int(t) || ty_float(t) || t->oid == PG_OID_NUMERIC;
}

static bool ty_textual(const struct ty *t)
{
	return t->oid == PG_OID_TEXT || t->oid == PG_OID_VARCHAR || t->oid == PG_OID_BPCHAR ||
	       t->oid == PG_OID_NAME;
}

static bool ty_datetime(const struct ty *t)
{
	return t->oid == PG_OID_DATE || t->oid == PG_OID_TIMESTAMP || t->oid == PG_OID_TIMESTAMPTZ;
}

/* An expression whose type still comes from its context. */
static bool ty_open(const struct ty *t)
{
	return t->oid == 0;
}

/* The conversion of a MySQL value of an expression of type <t>. */
static uint8_t conv_of(const struct ty *t)
{
	if (t->col != NULL && t->col->pg_type == t->oid)
		return (uint8_t)t->col->conv;
	switch (t->oid) {
	case PG_OID_BOOL: return PGV_C_BOOL;
	case PG_OID_INT2:
	case PG_OID_INT4:
	case PG_OID_INT8: return PGV_C_INT;
	case PG_OID_NUMERIC: return PGV_C_NUMERIC;
	case PG_OID_FLOAT4: return PGV_C_FLOAT4;
	case PG_OID_FLOAT8: return PGV_C_FLOAT8;
	case PG_OID_DATE: return PGV_C_DATE;
	case PG_OID_TIMESTAMP: return PGV_C_TIMESTAMP;
	case PG_OID_TIMESTAMPTZ: return PGV_C_TIMESTAMPTZ;
	case PG_OID_INTERVAL: return (t->flags & TY_IVENC) ? PGV_C_INTERVAL_DT : PGV_C_INTERVAL;
	case PG_OID_BYTEA: return PGV_C_BYTEA;
	case PG_OID_BPCHAR: return PGV_C_BPCHAR;
	default: return PGV_C_TEXT;
	}
}

/* format_type()'s spelling, for Postgres' messages. */
static const char *ty_pg_name(uint32_t oid)
{
	switch (oid) {
	case 0: return "unknown";
	case PG_OID_BOOL: return "boolean";
	case PG_OID_INT2: return "smallint";
	case PG_OID_INT4: return "integer";
	case PG_OID_INT8: return "bigint";
	case PG_OID_VARCHAR: return "character varying";
	case PG_OID_BPCHAR: return "character";
	case PG_OID_FLOAT4: return "real";
	case PG_OID_FLOAT8: return "double precision";
	case PG_OID_TIMESTAMP: return "timestamp without time zone";
	case PG_OID_TIMESTAMPTZ: return "timestamp with time zone";
	default: return catalog_type_name(oid);
	}
}

/* The type of an arithmetic result: Postgres' promotion int2 < int4 < int8 < numeric < float8. */
static uint32_t ty_promote(const struct ty *a, const struct ty *b)
{
	static const uint32_t order[] = { PG_OID_INT2, PG_OID_INT4, PG_OID_INT8, PG_OID_NUMERIC,
					  PG_OID_FLOAT4, PG_OID_FLOAT8 };
	int ra = -1, rb = -1;
	for (int i = 0; i < 6; i++) {
		if (a->oid == order[i])
			ra = i;
		if (b->oid == order[i])
			rb = i;
	}
	if (ra < 0 && rb < 0)
		return PG_OID_NUMERIC;
	if (ra < 0)
		return order[rb] == PG_OID_INT2 ? PG_OID_INT4 : order[rb];
	if (rb < 0)
		return order[ra] == PG_OID_INT2 ? PG_OID_INT4 : order[ra];
	uint32_t r = order[ra > rb ? ra : rb];
	/* int2 op int2 is int2 in Postgres only for some operators; int4 is what + gives. */
	return r == PG_OID_INT2 ? PG_OID_INT4 : (r == PG_OID_FLOAT4 ? PG_OID_FLOAT8 : r);
}

/* ---- parameters ---- */

static bool param_note(struct xlate *x, uint16_t idx)
{
	if (idx >= x->nparams) {
		if (idx >= x->ptypes_cap) {
			size_t cap = x->ptypes_cap ? x->ptypes_cap : 16;
			while (cap <= idx)
				cap *= 2;
			uint32_t *p = realloc(x->ptypes, cap * sizeof(*p));
			if (p == NULL)
				return oom(x);
			x->ptypes = p;
			x->ptypes_cap = cap;
		}
		for (size_t i = x->nparams; i <= idx; i++) {
			const struct xlate_input *in = x->in;
			x->ptypes[i] = in->param_types && i < in->nparam_types ? in->param_types[i] : 0;
		}
		x->nparams = (size_t)idx + 1;
	}
	return true;
}

/* Gives an open parameter the type its context asks for (the first context wins). */
static void param_resolve(struct xlate *x, struct ty *t, uint32_t oid)
{
	if (!(t->flags & TY_PARAM) || oid == 0)
		return;
	if (t->param < x->nparams && x->ptypes[t->param] == 0)
		x->ptypes[t->param] = oid;
	t->oid = x->ptypes[t->param];
	t->flags &= (uint8_t)~TY_PARAM;
}

/* ---- literals ---- */

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* s as an integer literal (spaces around, a sign, digits): the digits into out[cap]. */
static bool lit_integer(const char *s, char *out, size_t cap)
{
	while (is_space(*s))
		s++;
	size_t n = 0;
	if (*s == '+' || *s == '-') {
		if (*s == '-')
			out[n++] = '-';
		s++;
	}
	size_t digits = 0;
	while (*s >= '0' && *s <= '9' && n + 1 < cap) {
		out[n++] = *s++;
		digits++;
	}
	while (is_space(*s))
		s++;
	out[n] = '\0';
	return digits > 0 && *s == '\0' && digits <= 19;
}

/* s as a decimal literal (digits, one point, an exponent): a copy into out[cap]. */
static bool lit_decimal(const char *s, char *out, size_t cap)
{
	while (is_space(*s))
		s++;
	size_t n = 0, digits = 0;
	bool point = false, exp = false;
	if (*s == '+' || *s == '-') {
		if (*s == '-')
			out[n++] = '-';
		s++;
	}
	for (; *s && !is_space(*s) && n + 1 < cap; s++) {
		if (*s >= '0' && *s <= '9')
			digits++;
		else if (*s == '.' && !point && !exp)
			point = true;
		else if ((*s == 'e' || *s == 'E') && digits && !exp)
			exp = true;
		else if ((*s == '-' || *s == '+') && exp && (s[-1] == 'e' || s[-1] == 'E'))
			;
		else
			return false;
		out[n++] = *s;
	}
	while (is_space(*s))
		s++;
	out[n] = '\0';
	return digits > 0 && *s == '\0' && (n == 0 || (out[n - 1] != 'e' && out[n - 1] != 'E'));
}

static bool ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char ca = (*a >= 'A' && *a <= 'Z') ? (char)(*a + 32) : *a;
		if (ca != *b)
			return false;
	}
	return *a == *b;
}

/* Postgres' boolin: 1 true, 0 false, -1 invalid. */
static int lit_bool(const char *s)
{
	while (is_space(*s))
		s++;
	char w[8];
	size_t n = 0;
	while (*s && !is_space(*s) && n + 1 < sizeof(w))
		w[n++] = *s++;
	w[n] = '\0';
	while (is_space(*s))
		s++;
	if (*s || n == 0)
		return -1;
	static const char *const yes[] = { "t", "tr", "tru", "true", "y", "ye", "yes", "on", "1" };
	static const char *const no[] = { "f", "fa", "fal", "fals", "false", "n", "no", "of",
					  "off", "0" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (ieq(w, yes[i]))
			return 1;
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (ieq(w, no[i]) && strcmp(no[i], "of") != 0)
			return 0;
	}
	return -1;
}

/*
 * A timestamptz literal without a zone is local time in the session's
 * TimeZone; one with a numeric offset or Z/UTC is exact. Writes the
 * MySQL expression of the UTC instant.
 */
static bool emit_tstz_literal(struct xlate *x, const char *s)
{
	char local[64];
	size_t n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		n--;
	long off = 0;
	bool fixed = false;
	size_t end = n;
	if (n >= 1 && (s[n - 1] == 'Z' || s[n - 1] == 'z')) {
		fixed = true;
		end = n - 1;
	} else if (n >= 3 && ieq(s + n - 3, "utc")) {
		fixed = true;
		end = n - 3;
	} else {
		/* [+-]HH, [+-]HHMM or [+-]HH:MM after the time part. */
		size_t i = n;
		while (i > 0 && ((s[i - 1] >= '0' && s[i - 1] <= '9') || s[i - 1] == ':'))
			i--;
		if (i > 10 && (s[i - 1] == '+' || s[i - 1] == '-') && n - i >= 2 && n - i <= 5) {
			int d[4] = { 0 }, nd = 0;
			for (size_t k = i; k < n; k++) {
				if (s[k] != ':' && nd < 4)
					d[nd++] = s[k] - '0';
			}
			if (nd != 2 && nd != 4)
				return fail(x, "22007", "invalid input syntax for type timestamp with time zone: \"%s\"", s);
			off = (d[0] * 10 + d[1]) * 3600L + (d[2] * 10 + d[3]) * 60L;
			if (s[i - 1] == '-')
				off = -off;
			fixed = true;
			end = i - 1;
		}
	}
	while (end > 0 && is_space(s[end - 1]))
		end--;
	if (end == 0 || end >= sizeof(local))
		return refuse(x, "this timestamp with time zone literal");
	for (size_t k = 0; k < end; k++) {
		if ((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z')) {
			if (!(k == 10 && (s[k] == 'T' || s[k] == 't')))
				return refuse(x, "a timestamp with time zone literal with a named zone");
		}
	}
	memcpy(local, s, end);
	local[end] = '\0';
	size_t s0 = x->n;
	char *dt;
	if (!out(x, "CAST(") || !out_strlit(x, local) || !out(x, " AS DATETIME(6))") || !cut(x, s0, &dt))
		return false;
	if (!fixed)
		return out_utc(x, dt);
	return out(x, "DATE_SUB(") && out(x, dt) && outf(x, ", INTERVAL %ld SECOND)", off);
}

/* Rejects Postgres' special date/time inputs MySQL does not know. */
static bool check_datetime_literal(struct xlate *x, const char *s, uint32_t oid)
{
	static const char *const special[] = { "now", "today", "tomorrow", "yesterday", "epoch",
						"infinity", "-infinity", "allballs" };
	const char *p = s;
	while (is_space(*p))
		p++;
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
		size_t n = strlen(special[i]);
		if (strncasecmp(p, special[i], n) == 0)
			return fail(x, "0A000", "the %s input '%s' is not supported for legacy tables",
				    ty_pg_name(oid), special[i]);
	}
	return true;
}

/* A Postgres interval as its three fields (months, days, microseconds). */
struct interval {
	int64_t months, days, usec;
};

static bool parse_interval(const char *s, struct interval *iv);

/*
 * Postgres' datetime input needs a number in every value it accepts (the
 * special words aside, checked above); MySQL would warn and compare NULL.
 */
static bool check_datetime_digits(struct xlate *x, const char *s, uint32_t oid)
{
	for (const char *p = s; *p; p++)
		if (*p >= '0' && *p <= '9')
			return true;
	return fail(x, "22007", "invalid input syntax for type %s: \"%s\"",
		    oid == PG_OID_TIMESTAMP ? "timestamp" : ty_pg_name(oid), s);
}

/*
 * An unknown-type literal written at buf[start, n) takes type <to>: its text
 * is rewritten as MySQL needs it for that type, or Postgres' input error.
 */
static bool coerce_literal(struct xlate *x, size_t start, struct ty *t, uint32_t to)
{
	char num[80];
	const char *s = t->lit;
	x->n = start;
	x->buf[start] = '\0';
	t->flags &= (uint8_t)~TY_UNKNOWN;
	t->oid = to;
	switch (to) {
	case PG_OID_INT2:
	case PG_OID_INT4:
	case PG_OID_INT8:
		if (!lit_integer(s, num, sizeof(num)))
			return fail(x, "22P02", "invalid input syntax for type %s: \"%s\"",
				    ty_pg_name(to), s);
		return out(x, num);
	case PG_OID_NUMERIC:
	case PG_OID_FLOAT4:
	case PG_OID_FLOAT8:
		if (!lit_decimal(s, num, sizeof(num)))
			return fail(x, "22P02", "invalid input syntax for type %s: \"%s\"",
				    ty_pg_name(to), s);
		return out(x, num);
	case PG_OID_BOOL: {
		int b = lit_bool(s);
		if (b < 0)
			return fail(x, "22P02", "invalid input syntax for type boolean: \"%s\"", s);
		return out(x, b ? "TRUE" : "FALSE");
	}
	case PG_OID_TIMESTAMPTZ:
		return check_datetime_literal(x, s, to) && check_datetime_digits(x, s, to) &&
		       emit_tstz_literal(x, s);
	case PG_OID_DATE:
	case PG_OID_TIMESTAMP:
		if (!check_datetime_literal(x, s, to) || !check_datetime_digits(x, s, to))
			return false;
		return out(x, to == PG_OID_DATE ? "CAST(" : "CAST(") && out_strlit(x, s) &&
		       out(x, to == PG_OID_DATE ? " AS DATE)" : " AS DATETIME(6))");
	case PG_OID_BYTEA: {
		/* byteain's hex format, \x then pairs of hex digits (blanks between pairs). */
		if (s[0] != '\\' || (s[1] != 'x' && s[1] != 'X'))
			return refuse(x, "a bytea literal in the escape format");
		if (!out(x, "X'"))
			return false;
		for (const char *p = s + 2; *p;) {
			if (is_space(*p)) {
				p++;
				continue;
			}
			bool h0 = (p[0] >= '0' && p[0] <= '9') || (p[0] >= 'a' && p[0] <= 'f') || (p[0] >= 'A' && p[0] <= 'F');
			bool h1 = p[1] != '\0' && ((p[1] >= '0' && p[1] <= '9') || (p[1] >= 'a' && p[1] <= 'f') ||
						   (p[1] >= 'A' && p[1] <= 'F'));
			if (!h0)
				return fail(x, "22023", "invalid hexadecimal digit: \"%c\"", p[0]);
			if (!h1)
				return fail(x, "22023", p[1] == '\0' ? "invalid hexadecimal data: odd number of digits"
								      : "invalid hexadecimal digit: \"%c\"", p[1]);
			if (!outn(x, p, 2))
				return false;
			p += 2;
		}
		return out(x, "'");
	}
	case PG_OID_INTERVAL: {
		/* A time-only interval is a MySQL TIME, which compares and prints as one. */
		struct interval iv;
		int64_t a;
		if (!parse_interval(s, &iv))
			return fail(x, "22007", "invalid input syntax for type interval: \"%s\"", s);
		if (iv.months != 0 || iv.days != 0 || (a = iv.usec < 0 ? -iv.usec : iv.usec) >= INT64_C(838) * 3600 * 1000000)
			return refuse(x, "an interval value with days, months or more than 838 hours outside date arithmetic");
		return outf(x, "CAST('%s%lld:%02lld:%02lld.%06lld' AS TIME)", iv.usec < 0 ? "-" : "",
			    (long long)(a / 3600000000), (long long)(a / 60000000 % 60),
			    (long long)(a / 1000000 % 60), (long long)(a % 1000000));
	}
	default:
		t->oid = to == 0 ? PG_OID_TEXT : to;
		return out_strlit(x, s);
	}
}

/* <t>, written at buf[start, n), takes the type of <other> if it is still open. */
static bool coerce_to(struct xlate *x, size_t start, struct ty *t, const struct ty *other)
{
	if (other->oid == 0)
		return true;
	if (t->flags & TY_UNKNOWN)
		return coerce_literal(x, start, t, other->oid);
	if (t->flags & TY_PARAM)
		param_resolve(x, t, other->oid);
	else if (t->flags & TY_NULL)
		t->oid = other->oid;
	return true;
}

/* An expression left open at the end takes Postgres' fallback: text. */
static void close_type(struct xlate *x, struct ty *t)
{
	if (t->flags & TY_PARAM)
		param_resolve(x, t, PG_OID_TEXT);
	if (t->oid == 0) {
		if (t->flags & TY_UNKNOWN)
			t->flags |= TY_WASLIT;
		t->oid = PG_OID_TEXT;
		t->flags &= (uint8_t)~(TY_UNKNOWN | TY_NULL);
	}
}

/* ---- names and scopes ---- */

static const char *node_type(struct xlate *x, uint32_t node, uint32_t *fields, uint32_t *tlen)
{
	const char *type = NULL;
	*tlen = 0;
	*fields = tree_unwrap(&x->doc, node, &type, tlen);
	return *fields ? type : NULL;
}

#define NODE_IS(type, tlen, lit) ((type) != NULL && tree_type_is((type), (tlen), lit))

/* The sval of a {"String": {"sval": ...}} node, or NULL (fails unless absent). */
static const char *string_node(struct xlate *x, uint32_t node)
{
	uint32_t f, tl;
	const char *type = node_type(x, node, &f, &tl);
	if (!NODE_IS(type, tl, "String")) {
		fail(x, "XX000", "unexpected parse tree");
		return NULL;
	}
	uint32_t v = tree_get(&x->doc, f, "sval");
	if (v == 0)
		return xdup(x, "");
	return xstr(x, v);
}

/* The last String of a name list (funcname, type names). */
static const char *last_name(struct xlate *x, uint32_t list, size_t *count)
{
	const char *name = NULL;
	size_t n = 0;
	for (uint32_t e = tree_first(&x->doc, list); e; e = tree_next(&x->doc, list, e)) {
		name = string_node(x, e);
		n++;
		if (name == NULL)
			return NULL;
	}
	if (count)
		*count = n;
	return name;
}

static size_t list_len(struct xlate *x, uint32_t list)
{
	size_t n = 0;
	for (uint32_t e = tree_first(&x->doc, list); e; e = tree_next(&x->doc, list, e))
		n++;
	return n;
}

static uint32_t list_at(struct xlate *x, uint32_t list, size_t i)
{
	for (uint32_t e = tree_first(&x->doc, list); e; e = tree_next(&x->doc, list, e)) {
		if (i-- == 0)
			return e;
	}
	return 0;
}

static bool scope_add(struct xlate *x, struct scope *sc, const struct range *r)
{
	if (sc->nranges == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 8;
		struct range *v = xalloc(x, cap * sizeof(*v));
		if (v == NULL)
			return false;
		if (sc->nranges)
			memcpy(v, sc->ranges, sc->nranges * sizeof(*v));
		sc->ranges = v;
		sc->cap = cap;
	}
	sc->ranges[sc->nranges++] = *r;
	return true;
}

static bool scope_merge(struct xlate *x, struct scope *sc, const char *name, size_t use,
			size_t other)
{
	if (sc->nmerged == sc->mcap) {
		size_t cap = sc->mcap ? sc->mcap * 2 : 8;
		struct merged *v = xalloc(x, cap * sizeof(*v));
		if (v == NULL)
			return false;
		if (sc->nmerged)
			memcpy(v, sc->merged, sc->nmerged * sizeof(*v));
		sc->merged = v;
		sc->mcap = cap;
	}
	sc->merged[sc->nmerged++] = (struct merged){ .name = name, .use = use, .other = other };
	return true;
}

static const struct merged *merged_of(const struct scope *sc, const char *name)
{
	for (size_t i = 0; i < sc->nmerged; i++) {
		if (strcmp(sc->merged[i].name, name) == 0)
			return &sc->merged[i];
	}
	return NULL;
}

static bool merged_hides(const struct scope *sc, size_t ri, const char *name)
{
	const struct merged *m = merged_of(sc, name);
	return m != NULL && (m->use == ri || m->other == ri);
}

static const struct rcol *range_col(const struct range *r, const char *name, size_t *ci)
{
	for (size_t i = 0; i < r->ncols; i++) {
		if (strcmp(r->cols[i].name, name) == 0) {
			*ci = i;
			return &r->cols[i];
		}
	}
	return NULL;
}

static size_t range_col_count(const struct range *r, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < r->ncols; i++)
		n += strcmp(r->cols[i].name, name) == 0;
	return n;
}

/* Where a column reference points. */
struct colref {
	struct scope *sc;
	size_t range, col;
};

static bool find_qualified(struct xlate *x, struct scope *sc, const char *qual, const char *name,
			   struct colref *ref)
{
	for (struct scope *s = sc; s; s = s->parent) {
		for (size_t i = 0; i < s->nranges; i++) {
			if (strcmp(s->ranges[i].name, qual) != 0)
				continue;
			if (range_col(&s->ranges[i], name, &ref->col) == NULL)
				return fail(x, "42703", "column %s.%s does not exist", qual, name);
			if (range_col_count(&s->ranges[i], name) > 1)
				return fail(x, "42702", "column reference \"%s\" is ambiguous", name);
			ref->sc = s;
			ref->range = i;
			return true;
		}
	}
	return fail(x, "42P01", "missing FROM-clause entry for table \"%s\"", qual);
}

static bool find_unqualified(struct xlate *x, struct scope *sc, const char *name,
			     struct colref *ref)
{
	for (struct scope *s = sc; s; s = s->parent) {
		const struct merged *m = merged_of(s, name);
		if (m != NULL) {
			ref->sc = s;
			ref->range = m->use;
			return range_col(&s->ranges[m->use], name, &ref->col) != NULL ||
			       fail(x, "XX000", "lost merged column");
		}
		size_t found = 0;
		for (size_t i = 0; i < s->nranges; i++) {
			size_t ci;
			if (range_col(&s->ranges[i], name, &ci) == NULL)
				continue;
			found += range_col_count(&s->ranges[i], name);
			if (found > 1)
				return fail(x, "42702", "column reference \"%s\" is ambiguous", name);
			ref->sc = s;
			ref->range = i;
			ref->col = ci;
		}
		if (found)
			return true;
	}
	return fail(x, "42703", "column \"%s\" does not exist", name);
}

/* Notes a column of this level used outside an aggregate (checked in check_grouping). */
static void note_ungrouped(struct xlate *x, struct scope *sc, const struct colref *ref)
{
	if (sc->in_agg || !sc->track_ug || ref->sc != sc)
		return;
	if (sc->nug == sc->ugcap) {
		size_t cap = sc->ugcap ? sc->ugcap * 2 : 16;
		struct ugref *v = xalloc(x, cap * sizeof(*v));
		if (v == NULL)
			return;
		if (sc->nug)
			memcpy(v, sc->ug, sc->nug * sizeof(*v));
		sc->ug = v;
		sc->ugcap = cap;
	}
	sc->ug[sc->nug++] = (struct ugref){ .range = ref->range, .col = ref->col };
}

static bool col_grouped(const struct scope *sc, size_t range, size_t col)
{
	for (size_t i = 0; i < sc->ngroups; i++) {
		if (sc->groups[i].range == range && sc->groups[i].col == col)
			return true;
	}
	return false;
}

/* Postgres: a grouped level's columns must be grouped, or their table's primary key is. */
static bool check_grouping(struct xlate *x, struct scope *sc)
{
	if (sc->ngroups == 0 && !sc->has_agg)
		return true;
	for (size_t i = 0; i < sc->nug; i++) {
		const struct ugref *u = &sc->ug[i];
		if (u->ok || col_grouped(sc, u->range, u->col))
			continue;
		const struct range *r = &sc->ranges[u->range];
		bool pk = r->table != NULL && r->table->npkey > 0;
		for (size_t k = 0; pk && k < r->table->npkey; k++)
			pk = col_grouped(sc, u->range, r->table->pkey[k]);
		if (!pk)
			return fail(x, "42803",
				    "column \"%s.%s\" must appear in the GROUP BY clause or be used in an aggregate function",
				    r->name, r->cols[u->col].name);
	}
	return true;
}

/*
 * A FLOAT column of a table is read as CAST(col AS DOUBLE): MySQL's text
 * protocol prints FLOAT with 6 significant digits (1.67772e+07 for
 * 16777216), and the double holds the float's exact value, which the value
 * mapper rounds back to float4's shortest form. Comparisons see the same
 * widened value, as Postgres compares float4 with a numeric literal in
 * float8.
 */
static bool col_widened(const struct range *r, const struct rcol *c)
{
	return r->table != NULL && c->ty.col != NULL && c->ty.col->my_type == MY_T_FLOAT;
}

static bool emit_col(struct xlate *x, const struct range *r, const struct rcol *c)
{
	bool w = col_widened(r, c);
	return (!w || out(x, "CAST(")) && out_ident(x, r->qual) && out(x, ".") &&
	       out_ident(x, c->my_name) && (!w || out(x, " AS DOUBLE)"));
}

static bool col_servable(struct xlate *x, const struct rcol *c)
{
	if (c->ty.col != NULL && c->ty.col->pg_type == 0)
		return fail(x, "0A000", "column \"%s\" has MySQL type %s, which is not supported for legacy tables",
			    c->name, c->ty.col->column_type ? c->ty.col->column_type
							     : catalog_my_type_name(c->ty.col->my_type));
	return true;
}

/* ---- expressions ---- */

static bool emit_expr(struct xlate *x, struct scope *sc, uint32_t node, struct ty *t);
static char *join(struct xlate *x, const char *first, ...);
static char *div_pg_scale(struct xlate *x, const char *num, const char *den, const char *divisor,
			  int da, int db);

/* Takes buf[start, n) back out of the buffer as a string. */
static bool cut(struct xlate *x, size_t start, char **text)
{
	if (x->failed)
		return false;
	*text = tree_arena_strndup(&x->arena, x->buf + start, x->n - start);
	if (*text == NULL)
		return oom(x);
	x->n = start;
	x->buf[start] = '\0';
	return true;
}

/* Writes <node>, then takes its text out for the caller to place. */
static bool operand(struct xlate *x, struct scope *sc, uint32_t node, struct ty *t, char **text)
{
	size_t start = x->n;
	return emit_expr(x, sc, node, t) && cut(x, start, text);
}

/* An operand still open takes the type of <other> (its text is rewritten). */
static bool settle(struct xlate *x, char **text, struct ty *t, const struct ty *other)
{
	if (!(t->flags & TY_UNKNOWN))
		return coerce_to(x, x->n, t, other);
	if (other->oid == 0)
		return true;
	size_t start = x->n;
	return coerce_literal(x, start, t, other->oid) && cut(x, start, text);
}

/*
 * An operand of an operator settles on the other's type; varchar has no
 * operators of its own, so a parameter facing one is resolved as text.
 */
static bool settle_op(struct xlate *x, char **text, struct ty *t, const struct ty *other)
{
	struct ty o = *other;
	if ((t->flags & TY_PARAM) && o.oid == PG_OID_VARCHAR)
		o.oid = PG_OID_TEXT;
	return settle(x, text, t, &o);
}

/* Both operands of a binary operator settle on one type (Postgres' unknown rule). */
static bool settle_pair(struct xlate *x, char **lt, struct ty *l, char **rt, struct ty *r)
{
	if (ty_open(l) && !ty_open(r))
		return settle_op(x, lt, l, r);
	if (ty_open(r) && !ty_open(l))
		return settle_op(x, rt, r, l);
	if (ty_open(l) && ty_open(r)) {
		/* Two unknowns compare as text, like Postgres. */
		struct ty text = ty_of(PG_OID_TEXT);
		return settle(x, lt, l, &text) && settle(x, rt, r, &text);
	}
	return true;
}

/* A text operand as bytes: byte-wise like the C collation, no PAD SPACE. */
static bool out_binary(struct xlate *x, const char *text, const struct ty *t)
{
	if (t->flags & TY_BINARY)
		return out(x, text);
	/* bpchar ignores trailing blanks in Postgres (MySQL strips them from CHAR columns). */
	if (t->oid == PG_OID_BPCHAR)
		return out(x, "CAST(TRIM(TRAILING ' ' FROM ") && out(x, text) && out(x, ") AS BINARY)");
	return out(x, "CAST(") && out(x, text) && out(x, " AS BINARY)");
}

/* A text operand in a character-wise, case-sensitive collation (LIKE, LOCATE). */
static bool out_bincoll(struct xlate *x, const char *text)
{
	return out(x, "CONVERT(") && out(x, text) && out(x, " USING utf8mb4) COLLATE utf8mb4_bin");
}

/*
 * A boolean column as 1/0: TINYINT(1) may hold 2, which is true for Postgres
 * (and for the value mapper) but not equal to TRUE in MySQL.
 */
static bool out_bool(struct xlate *x, const char *text, const struct ty *t)
{
	if (t->col == NULL || t->col->conv != PGV_C_BOOL)
		return out(x, text);
	return out(x, "(") && out(x, text) && out(x, " <> 0)");
}

static bool indexed_col(const struct ty *t)
{
	return t->col != NULL && t->col->indexed;
}

/* Comparison operators Postgres and MySQL spell alike (!= is <>). */
static const char *cmp_op(const char *op)
{
	static const char *const ops[] = { "=", "<>", "<", ">", "<=", ">=" };
	if (strcmp(op, "!=") == 0)
		return "<>";
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(op, ops[i]) == 0)
			return ops[i];
	}
	return NULL;
}

static bool can_compare(const struct ty *l, const struct ty *r)
{
	bool ok = l->oid == r->oid || (ty_number(l) && ty_number(r)) ||
		  (ty_textual(l) && ty_textual(r)) || (ty_datetime(l) && ty_datetime(r)) ||
		  (l->flags & TY_NULL) || (r->flags & TY_NULL);
	return ok && l->oid != PG_OID_JSON;
}

static bool comparable(struct xlate *x, const char *op, const struct ty *l, const struct ty *r)
{
	if (can_compare(l, r))
		return true;
	return fail(x, "42883", "operator does not exist: %s %s %s", ty_pg_name(l->oid), op,
		    ty_pg_name(r->oid));
}

/*
 * l op r with Postgres' comparison semantics: text compares byte-wise;
 * equality against an indexed column keeps the plain comparison too, which
 * the index serves (it finds a superset: case and pad folding only merge).
 */
static bool out_compare(struct xlate *x, const char *op, const char *lt, const struct ty *l,
			const char *rt, const struct ty *r)
{
	if (!comparable(x, op, l, r))
		return false;
	if (l->oid == PG_OID_BOOL && r->oid == PG_OID_BOOL)
		return out(x, "(") && out_bool(x, lt, l) && outf(x, " %s ", op) && out_bool(x, rt, r) &&
		       out(x, ")");
	if (!ty_textual(l) && !ty_textual(r))
		return out(x, "(") && out(x, lt) && outf(x, " %s ", op) && out(x, rt) && out(x, ")");
	bool plain = strcmp(op, "=") == 0 && (indexed_col(l) || indexed_col(r));
	if (!out(x, "("))
		return false;
	if (plain && !(out(x, lt) && out(x, " = ") && out(x, rt) && out(x, " AND ")))
		return false;
	return out_binary(x, lt, l) && outf(x, " %s ", op) && out_binary(x, rt, r) && out(x, ")");
}

static bool emit_compare(struct xlate *x, struct scope *sc, uint32_t ln, const char *op,
			 uint32_t rn, struct ty *t)
{
	struct ty l, r;
	char *lt, *rt;
	if (!operand(x, sc, ln, &l, &lt) || !operand(x, sc, rn, &r, &rt))
		return false;
	/* Postgres names an unknown literal "unknown" when no operator fits. */
	uint32_t lo = l.flags & TY_UNKNOWN ? 0 : l.oid, ro = r.flags & TY_UNKNOWN ? 0 : r.oid;
	if (!settle_pair(x, &lt, &l, &rt, &r))
		return false;
	if (!can_compare(&l, &r))
		return fail(x, "42883", "operator does not exist: %s %s %s", ty_pg_name(lo), op,
			    ty_pg_name(ro));
	*t = ty_of(PG_OID_BOOL);
	return out_compare(x, op, lt, &l, rt, &r);
}

/* ---- leaves ---- */

/* Reads an integer constant from the statement text (libpg_query's JSON drops negatives). */
static bool const_from_text(struct xlate *x, uint32_t f, char *num, size_t cap)
{
	int64_t loc = tree_int(&x->doc, tree_get(&x->doc, f, "location"));
	const char *s = x->in->sql;
	if (!tree_is(&x->doc, tree_get(&x->doc, f, "location"), TREE_NUM) || loc < 0 ||
	    (size_t)loc >= x->in->len)
		return fail(x, "0A000", "an integer constant without a position is not supported for legacy tables");
	size_t i = (size_t)loc, n = 0;
	if (s[i] == '-') {
		num[n++] = '-';
		i++;
		while (i < x->in->len && is_space(s[i]))
			i++;
	}
	size_t d0 = n;
	while (i < x->in->len && s[i] >= '0' && s[i] <= '9' && n + 1 < cap)
		num[n++] = s[i++];
	num[n] = '\0';
	if (n == d0)
		return fail(x, "0A000", "this integer constant is not supported for legacy tables");
	return true;
}

static bool handle_const(struct xlate *x, uint32_t f, struct ty *t)
{
	const struct tree *d = &x->doc;
	char num[80];
	uint32_t v;
	if (tree_true(d, tree_get(d, f, "isnull"))) {
		*t = ty_of(0);
		t->flags = TY_NULL;
		return out(x, "NULL");
	}
	if ((v = tree_get(d, f, "ival")) != 0) {
		*t = ty_of(PG_OID_INT4);
		t->nullable = false;
		uint32_t iv = tree_get(d, v, "ival");
		if (iv != 0)
			return outf(x, "%lld", (long long)tree_int(d, iv));
		return const_from_text(x, f, num, sizeof(num)) && out(x, num);
	}
	if ((v = tree_get(d, f, "fval")) != 0) {
		const char *s = xstr(x, tree_get(d, v, "fval"));
		if (s == NULL)
			return false;
		if (!lit_decimal(s, num, sizeof(num)))
			return refuse(x, "this numeric constant");
		*t = ty_of(strchr(num, '.') || strchr(num, 'e') || strchr(num, 'E') || strlen(num) > 19
				   ? PG_OID_NUMERIC : PG_OID_INT8);
		t->nullable = false;
		return out(x, num);
	}
	if ((v = tree_get(d, f, "boolval")) != 0) {
		*t = ty_of(PG_OID_BOOL);
		t->nullable = false;
		return out(x, tree_true(d, tree_get(d, v, "boolval")) ? "TRUE" : "FALSE");
	}
	if ((v = tree_get(d, f, "sval")) != 0) {
		uint32_t sv = tree_get(d, v, "sval");
		const char *s = sv ? xstr(x, sv) : xdup(x, "");
		if (s == NULL)
			return false;
		*t = ty_of(0);
		t->flags = TY_UNKNOWN;
		t->lit = s;
		t->nullable = false;
		return out_strlit(x, s);
	}
	return refuse(x, "a bit-string constant");
}

static bool handle_param(struct xlate *x, uint32_t f, struct ty *t)
{
	int64_t n = tree_int(&x->doc, tree_get(&x->doc, f, "number"));
	if (n < 1 || n > MAX_PARAMS)
		return fail(x, "42P02", "there is no parameter $%lld", (long long)n);
	uint16_t idx = (uint16_t)(n - 1);
	if (!param_note(x, idx))
		return false;
	*t = ty_of(x->ptypes[idx]);
	if (t->oid == 0) {
		t->flags = TY_PARAM;
		t->param = idx;
	}
	return add_slot(x, XLATE_S_PARAM, idx);
}

static bool handle_columnref(struct xlate *x, struct scope *sc, uint32_t f, struct ty *t)
{
	uint32_t fields = tree_get(&x->doc, f, "fields");
	size_t n = list_len(x, fields);
	const char *names[4] = { 0 };
	if (n == 0 || n > 3)
		return refuse(x, "this column reference");
	for (size_t i = 0; i < n; i++) {
		uint32_t e = list_at(x, fields, i);
		uint32_t ff, tl;
		const char *type = node_type(x, e, &ff, &tl);
		if (NODE_IS(type, tl, "A_Star"))
			return refuse(x, "\"*\" in this position");
		if ((names[i] = string_node(x, e)) == NULL)
			return false;
	}
	struct colref ref;
	const char *name = names[n - 1];
	bool ok = n == 1 ? find_unqualified(x, sc, name, &ref)
			 : find_qualified(x, sc, names[n - 2], name, &ref);
	if (!ok)
		return false;
	const struct range *r = &ref.sc->ranges[ref.range];
	const struct rcol *c = &r->cols[ref.col];
	if (!col_servable(x, c))
		return false;
	note_ungrouped(x, ref.sc, &ref);
	*t = c->ty;
	return emit_col(x, r, c);
}

/* ---- intervals ---- */


static bool interval_unit(const char *w, struct interval *iv, double amount)
{
	static const struct {
		const char *name;
		int kind;      /* 0 months, 1 days, 2 usec */
		double scale;
	} units[] = {
		{ "microsecond", 2, 1 }, { "microseconds", 2, 1 }, { "us", 2, 1 },
		{ "millisecond", 2, 1e3 }, { "milliseconds", 2, 1e3 }, { "ms", 2, 1e3 },
		{ "second", 2, 1e6 }, { "seconds", 2, 1e6 }, { "sec", 2, 1e6 }, { "secs", 2, 1e6 },
		{ "s", 2, 1e6 }, { "minute", 2, 6e7 }, { "minutes", 2, 6e7 }, { "min", 2, 6e7 },
		{ "mins", 2, 6e7 }, { "m", 2, 6e7 }, { "hour", 2, 3.6e9 }, { "hours", 2, 3.6e9 },
		{ "hr", 2, 3.6e9 }, { "hrs", 2, 3.6e9 }, { "h", 2, 3.6e9 }, { "day", 1, 1 },
		{ "days", 1, 1 }, { "d", 1, 1 }, { "week", 1, 7 }, { "weeks", 1, 7 }, { "w", 1, 7 },
		{ "month", 0, 1 }, { "months", 0, 1 }, { "mon", 0, 1 }, { "mons", 0, 1 },
		{ "year", 0, 12 }, { "years", 0, 12 }, { "yr", 0, 12 }, { "yrs", 0, 12 },
		{ "y", 0, 12 },
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!ieq(w, units[i].name))
			continue;
		double v = amount * units[i].scale;
		/* Also false for NaN; the bound keeps every sum of fields far from overflow. */
		if (!(v >= -1e15 && v <= 1e15))
			return false;
		if (units[i].kind != 2 && v != (double)(int64_t)v)
			return false; /* fractional days/months spill into smaller units in Postgres */
		int64_t *field = units[i].kind == 0 ? &iv->months : units[i].kind == 1 ? &iv->days : &iv->usec;
		*field += units[i].kind == 2 ? (int64_t)(v < 0 ? v - 0.5 : v + 0.5) : (int64_t)v;
		return *field >= -(int64_t)1e17 && *field <= (int64_t)1e17;
	}
	return false;
}

/* "[-]H:MM[:SS[.f]]" as microseconds. */
static bool interval_clock(const char *w, int64_t *usec)
{
	int sign = 1;
	if (*w == '-' || *w == '+')
		sign = *w++ == '-' ? -1 : 1;
	double parts[3] = { 0 };
	int np = 0;
	char *end;
	while (np < 3) {
		parts[np++] = strtod(w, &end);
		if (end == w)
			return false;
		w = end;
		if (*w != ':')
			break;
		w++;
	}
	if (*w != '\0' || np < 2)
		return false;
	double us = (parts[0] * 3600 + parts[1] * 60 + parts[2]) * 1e6;
	if (!(us >= 0 && us <= 1e15))
		return false;
	*usec = sign * (int64_t)(us + 0.5);
	return true;
}

/* Postgres' interval input, the forms applications write: '1 day 2 hours', '@ 3 mins ago', '01:30:00'. */
static bool parse_interval(const char *s, struct interval *iv)
{
	memset(iv, 0, sizeof(*iv));
	char w[64];
	bool any = false, ago = false;
	double pending = 0;
	bool have_num = false;
	while (*s) {
		while (is_space(*s))
			s++;
		size_t n = 0;
		while (*s && !is_space(*s) && n + 1 < sizeof(w))
			w[n++] = *s++;
		w[n] = '\0';
		if (n == 0)
			break;
		if (strcmp(w, "@") == 0)
			continue;
		char *end;
		double v = strtod(w, &end);
		if (strchr(w, ':') != NULL) {
			int64_t us;
			if (have_num || !interval_clock(w, &us))
				return false;
			iv->usec += us;
			if (iv->usec > (int64_t)1e17 || iv->usec < -(int64_t)1e17)
				return false;
			any = true;
		} else if (end != w && *end == '\0') {
			if (have_num)
				return false;
			pending = v;
			have_num = true;
		} else if (end != w) {
			/* "2h", "3days" */
			if (have_num || !interval_unit(end, iv, v))
				return false;
			any = true;
		} else if (ieq(w, "ago")) {
			ago = true;
		} else {
			if (!have_num || !interval_unit(w, iv, pending))
				return false;
			have_num = false;
			any = true;
		}
	}
	if (have_num || !any)
		return false;
	if (ago) {
		iv->months = -iv->months;
		iv->days = -iv->days;
		iv->usec = -iv->usec;
	}
	return true;
}

/* The interval literal of node <n> (a cast of a string to interval), or false. */
static bool interval_node(struct xlate *x, uint32_t n, struct interval *iv, bool *is)
{
	uint32_t f, tl;
	*is = false;
	const char *type = node_type(x, n, &f, &tl);
	if (!NODE_IS(type, tl, "TypeCast"))
		return true;
	uint32_t tn = tree_get(&x->doc, f, "typeName");
	const char *name = last_name(x, tree_get(&x->doc, tn, "names"), NULL);
	if (name == NULL || strcmp(name, "interval") != 0)
		return !x->failed;
	*is = true;
	if (tree_get(&x->doc, tn, "typmods") != 0)
		return refuse(x, "an interval with a field restriction");
	uint32_t af, atl;
	const char *at = node_type(x, tree_get(&x->doc, f, "arg"), &af, &atl);
	uint32_t sv = tree_get(&x->doc, tree_get(&x->doc, af, "sval"), "sval");
	if (!NODE_IS(at, atl, "A_Const") || sv == 0)
		return refuse(x, "an interval that is not a constant");
	const char *s = xstr(x, sv);
	if (s == NULL)
		return false;
	if (!parse_interval(s, iv))
		return fail(x, "0A000", "the interval '%s' is not supported for legacy tables", s);
	return true;
}

/* DATE_ADD(...) of <text> (a date/time) by ±<iv>, months, then days, then time, as Postgres adds. */
static bool out_interval_part(struct xlate *x, const char *factor, int64_t v, const char *unit)
{
	if (factor == NULL)
		return outf(x, ", INTERVAL %lld %s)", (long long)v, unit);
	return out(x, ", INTERVAL ((") && out(x, factor) && outf(x, ") * %lld) %s)", (long long)v, unit);
}

/*
 * DATE_ADD(...) of <text> (a date/time) by ±<iv> (times <factor>, an integer
 * expression, when not NULL): months, then days, then time, the order in
 * which Postgres adds an interval's fields.
 */
static bool out_date_add(struct xlate *x, const char *text, const struct interval *iv, int sign,
			 const char *factor)
{
	int64_t v[3] = { iv->months * sign, iv->days * sign, iv->usec * sign };
	int k = 0;
	for (int i = 0; i < 3; i++)
		k += v[i] != 0;
	if (k == 0)
		return out(x, text);
	for (int i = 0; i < k; i++) {
		if (!out(x, "DATE_ADD("))
			return false;
	}
	if (!out(x, text))
		return false;
	if (v[0] && !out_interval_part(x, factor, v[0], "MONTH"))
		return false;
	if (v[1] && !out_interval_part(x, factor, v[1], "DAY"))
		return false;
	if (v[2] && v[2] % 1000000 == 0)
		return out_interval_part(x, factor, v[2] / 1000000, "SECOND");
	return !v[2] || out_interval_part(x, factor, v[2], "MICROSECOND");
}

/*
 * timestamptz ± interval as Postgres' timestamptz_pl_interval adds it: the
 * months, then the days, each to the local time in the session TimeZone,
 * made a timestamptz again (a day stays a calendar day across a DST
 * change); then the time part to the instant.
 */
static bool out_tstz_add(struct xlate *x, const char *text, const struct interval *iv, int sign,
			 const char *factor)
{
	const struct interval part[2] = { { iv->months, 0, 0 }, { 0, iv->days, 0 } };
	const struct interval rest = { 0, 0, iv->usec };
	const char *cur = text;
	for (int i = 0; i < 2; i++) {
		if (part[i].months == 0 && part[i].days == 0)
			continue;
		size_t s0 = x->n;
		char *local, *moved, *utc;
		if (!out_local(x, cur) || !cut(x, s0, &local) ||
		    !out_date_add(x, local, &part[i], sign, factor) || !cut(x, s0, &moved) ||
		    !out_utc(x, moved) || !cut(x, s0, &utc))
			return false;
		cur = utc;
	}
	return out_date_add(x, cur, &rest, sign, factor);
}

/* n * interval '...' (or the other way round): the literal's node and the factor's, else false. */
static bool scaled_interval(struct xlate *x, uint32_t n, uint32_t *lit, uint32_t *factor)
{
	const struct tree *d = &x->doc;
	uint32_t f, tl;
	if (!NODE_IS(node_type(x, n, &f, &tl), tl, "A_Expr") ||
	    !tree_str_is(d, tree_get(d, f, "kind"), "AEXPR_OP"))
		return false;
	uint32_t names = tree_get(d, f, "name"), first = tree_first(d, names), sf, stl;
	if (first == 0 || tree_next(d, names, first) != 0 ||
	    !NODE_IS(node_type(x, first, &sf, &stl), stl, "String") ||
	    !tree_str_is(d, tree_get(d, sf, "sval"), "*"))
		return false;
	struct interval iv;
	bool is = false;
	uint32_t l = tree_get(d, f, "lexpr"), r = tree_get(d, f, "rexpr");
	if (interval_node(x, r, &iv, &is) && is) {
		*lit = r;
		*factor = l;
		return true;
	}
	if (!x->failed && interval_node(x, l, &iv, &is) && is) {
		*lit = l;
		*factor = r;
		return true;
	}
	return false;
}

/* The interval side of date arithmetic: a literal, or an integer times one. */
static bool interval_operand(struct xlate *x, struct scope *sc, uint32_t n, struct interval *iv,
			     char **factor, bool *is)
{
	uint32_t lit, fn;
	*factor = NULL;
	if (!scaled_interval(x, n, &lit, &fn))
		return !x->failed && interval_node(x, n, iv, is);
	if (!interval_node(x, lit, iv, is))
		return false;
	struct ty ft, i4 = ty_of(PG_OID_INT4);
	if (!operand(x, sc, fn, &ft, factor) || !settle(x, factor, &ft, &i4))
		return false;
	if (!ty_int(&ft))
		return refuse(x, "an interval multiplied by a non-integer");
	return true;
}


/* ---- operators ---- */

/* A value as Postgres' text output would spell it, for || and ::text (booleans differ). */
static bool out_as_text(struct xlate *x, const char *text, const struct ty *t)
{
	if (t->oid == PG_OID_BOOL)
		return out(x, "IF(") && out(x, text) && out(x, ", 'true', 'false')");
	return out(x, text);
}

/*
 * An interval value's MySQL form for interval arithmetic: days * 10^15 +
 * microseconds (TY_IVENC, printed by PGV_C_INTERVAL_DT). A TIME value is
 * all microseconds (Postgres reads TIME as a time-only interval).
 */
static bool out_ivenc(struct xlate *x, const char *text, const struct ty *t)
{
	if (t->flags & TY_IVENC)
		return out(x, text);
	return out(x, "ROUND(TIME_TO_SEC(") && out(x, text) && out(x, ") * 1000000)");
}

/*
 * interval ± interval literal (times <factor>): Postgres adds the fields
 * one by one, without justifying: days to days, time to time. Months are
 * not held by the MySQL form.
 */
static bool out_interval_arith(struct xlate *x, const char *lt, const struct ty *l,
			       const struct interval *iv, int sign, const char *factor, struct ty *t)
{
	if (iv->months != 0)
		return refuse(x, "interval arithmetic with months or years");
	*t = ty_of(PG_OID_INTERVAL);
	t->flags |= TY_IVENC;
	t->nullable = l->nullable;
	if (!out(x, "(") || !out_ivenc(x, lt, l) || !out(x, sign < 0 ? " - " : " + "))
		return false;
	if (factor != NULL && (!out(x, "(") || !out(x, factor) || !out(x, ") * ")))
		return false;
	return outf(x, "(CAST(%lld AS DECIMAL(38,0)) * 1000000000000000 + %lld))",
		    (long long)iv->days, (long long)iv->usec);
}

/*
 * timestamp - timestamp: Postgres' timestamp_mi gives the microseconds
 * justified into days (interval_justify_hours: whole days of 24 hours, the
 * rest as time, both of the difference's sign) and no months.
 */
static bool out_timestamp_diff(struct xlate *x, const char *lt, const struct ty *l, const char *rt,
			       const struct ty *r, struct ty *t)
{
	*t = ty_of(PG_OID_INTERVAL);
	t->flags |= TY_IVENC;
	t->nullable = l->nullable || r->nullable;
	const char *a[2] = { lt, rt };
	const struct ty *ta[2] = { l, r };
	char *w[2];
	for (int i = 0; i < 2; i++) {
		size_t s0 = x->n;
		/* Mixed with a timestamptz, a timestamp is local time made a timestamptz (as Postgres casts it). */
		bool utc = ta[i]->oid != PG_OID_TIMESTAMPTZ && ta[1 - i]->oid == PG_OID_TIMESTAMPTZ;
		if (!(utc ? out_utc(x, a[i]) : out(x, a[i])) || !cut(x, s0, &w[i]))
			return false;
	}
	size_t s0 = x->n;
	char *us;
	if (!out(x, "TIMESTAMPDIFF(MICROSECOND, ") || !out(x, w[1]) || !out(x, ", ") ||
	    !out(x, w[0]) || !out(x, ")") || !cut(x, s0, &us))
		return false;
	return out(x, "(CAST(") && out(x, us) &&
	       out(x, " DIV 86400000000 AS DECIMAL(38,0)) * 1000000000000000 + MOD(") && out(x, us) &&
	       out(x, ", 86400000000))");
}

/* datetime ± interval, date ± integer, date - date. */
static bool emit_date_arith(struct xlate *x, struct scope *sc, uint32_t f, const char *op,
			    struct ty *t)
{
	const struct tree *d = &x->doc;
	uint32_t ln = tree_get(d, f, "lexpr"), rn = tree_get(d, f, "rexpr");
	struct interval iv;
	bool liv = false, riv;
	char *factor;
	if (!interval_operand(x, sc, rn, &iv, &factor, &riv))
		return false;
	if (!riv && !interval_operand(x, sc, ln, &iv, &factor, &liv))
		return false;
	if (!riv && liv && strcmp(op, "+") == 0) {
		uint32_t tmp = ln;
		ln = rn;
		rn = tmp;
		riv = true;
	} else if (!riv && liv) {
		return refuse(x, "interval minus a date/time");
	}
	struct ty l;
	char *lt;
	unsigned iv0 = x->ivenc_at;
	x->ivenc_at = x->depth + 1; /* (a - b) + interval '1 day' */
	bool lok = operand(x, sc, ln, &l, &lt);
	x->ivenc_at = iv0;
	if (!lok)
		return false;
	if (riv) {
		if (l.flags & TY_UNKNOWN) {
			struct ty ts = ty_of(PG_OID_TIMESTAMP);
			if (!settle(x, &lt, &l, &ts))
				return false;
		}
		if (l.oid == PG_OID_INTERVAL)
			return out_interval_arith(x, lt, &l, &iv, strcmp(op, "-") == 0 ? -1 : 1, factor, t);
		if (!ty_datetime(&l))
			return fail(x, "42883", "operator does not exist: %s %s interval",
				    ty_pg_name(l.oid), op);
		*t = ty_of(l.oid == PG_OID_DATE ? PG_OID_TIMESTAMP : l.oid);
		if (l.oid == PG_OID_DATE) {
			char *cast = NULL;
			size_t s0 = x->n;
			if (!out(x, "CAST(") || !out(x, lt) || !out(x, " AS DATETIME)") || !cut(x, s0, &cast))
				return false;
			lt = cast;
		}
		if (l.oid == PG_OID_TIMESTAMPTZ)
			return out_tstz_add(x, lt, &iv, strcmp(op, "-") == 0 ? -1 : 1, factor);
		return out_date_add(x, lt, &iv, strcmp(op, "-") == 0 ? -1 : 1, factor);
	}
	return refuse(x, "this date/time arithmetic");
}

/* date ± integer, date - date, on operands already written. */
static bool out_date_arith(struct xlate *x, const char *op, const char *lt, const struct ty *l,
			   const char *rt, const struct ty *r, struct ty *t)
{
	if (l->oid == PG_OID_DATE && ty_int(r)) {
		*t = ty_of(PG_OID_DATE);
		return out(x, strcmp(op, "+") == 0 ? "DATE_ADD(" : "DATE_SUB(") && out(x, lt) &&
		       out(x, ", INTERVAL ") && out(x, rt) && out(x, " DAY)");
	}
	if (ty_int(l) && r->oid == PG_OID_DATE && strcmp(op, "+") == 0) {
		*t = ty_of(PG_OID_DATE);
		return out(x, "DATE_ADD(") && out(x, rt) && out(x, ", INTERVAL ") && out(x, lt) &&
		       out(x, " DAY)");
	}
	if (l->oid == PG_OID_DATE && r->oid == PG_OID_DATE && strcmp(op, "-") == 0) {
		*t = ty_of(PG_OID_INT4);
		return out(x, "DATEDIFF(") && out(x, lt) && out(x, ", ") && out(x, rt) && out(x, ")");
	}
	if (ty_datetime(l) && ty_datetime(r) && strcmp(op, "-") == 0 &&
	    (l->oid != PG_OID_DATE || r->oid != PG_OID_DATE))
		return out_timestamp_diff(x, lt, l, rt, r, t);
	if (ty_datetime(l) && ty_datetime(r))
		return refuse(x, "subtracting timestamps (an interval result)");
	return fail(x, "42883", "operator does not exist: %s %s %s", ty_pg_name(l->oid), op,
		    ty_pg_name(r->oid));
}

/* The operand types that make + and - date arithmetic. */
static bool is_date_arith(struct xlate *x, uint32_t f)
{
	const struct tree *d = &x->doc;
	struct interval iv;
	bool a = false, b = false;
	uint32_t lit, fn;
	if (scaled_interval(x, tree_get(d, f, "rexpr"), &lit, &fn) ||
	    scaled_interval(x, tree_get(d, f, "lexpr"), &lit, &fn))
		return true;
	if (x->failed || !interval_node(x, tree_get(d, f, "rexpr"), &iv, &a) ||
	    !interval_node(x, tree_get(d, f, "lexpr"), &iv, &b))
		return false;
	return a || b;
}

/* The display scale Postgres knows for a numeric operand, or -1 (an expression). */
static int numeric_dscale(const struct ty *t, const char *text)
{
	if (ty_int(t))
		return 0;
	if (t->oid != PG_OID_NUMERIC)
		return -1;
	if (t->col != NULL && t->col->my_type == MY_T_BIGINT)
		return 0; /* BIGINT UNSIGNED: numeric of scale 0 */
	if (t->typmod >= 4)
		return (int)((t->typmod - 4) & 0xffff);
	const char *p = text[0] == '-' ? text + 1 : text;
	size_t n = strspn(p, "0123456789");
	if (n == 0 || (p[n] != '.' && p[n] != '\0'))
		return -1;
	if (p[n] == '\0')
		return 0;
	size_t f = strspn(p + n + 1, "0123456789");
	return p[n + 1 + f] == '\0' ? (int)f : -1;
}

/*
 * An UNSIGNED column in arithmetic computes as Postgres' int8 or numeric
 * does: MySQL keeps an unsigned operand's result unsigned and fails with
 * 1690 when it would be negative or beyond 2^64.
 */
static bool signed_operand(struct xlate *x, char **text, const struct ty *t)
{
	if (t->col == NULL || !t->col->is_unsigned || !ty_number(t) || ty_float(t))
		return true;
	size_t s0 = x->n;
	return out(x, "CAST(") && out(x, *text) &&
	       out(x, t->oid == PG_OID_NUMERIC ? " AS DECIMAL(21,0))" : " AS SIGNED)") &&
	       cut(x, s0, text);
}

static bool emit_arith(struct xlate *x, struct scope *sc, uint32_t f, const char *op, struct ty *t)
{
	const struct tree *d = &x->doc;
	struct ty l, r;
	char *lt, *rt;
	bool want = x->want_display; /* for this division, not for one in its operands */
	x->want_display = false;
	if (!operand(x, sc, tree_get(d, f, "lexpr"), &l, &lt) ||
	    !operand(x, sc, tree_get(d, f, "rexpr"), &r, &rt))
		return false;
	if ((ty_datetime(&l) || ty_datetime(&r)) && (strcmp(op, "+") == 0 || strcmp(op, "-") == 0)) {
		struct ty i4 = ty_of(PG_OID_INT4);
		if (!settle(x, &lt, &l, ty_datetime(&l) ? &i4 : &r) ||
		    !settle(x, &rt, &r, ty_datetime(&r) ? &i4 : &l))
			return false;
		return out_date_arith(x, op, lt, &l, rt, &r, t);
	}
	if (!settle_pair(x, &lt, &l, &rt, &r))
		return false;
	if ((!ty_number(&l) && !(l.flags & TY_NULL)) || (!ty_number(&r) && !(r.flags & TY_NULL)))
		return fail(x, "42883", "operator does not exist: %s %s %s", ty_pg_name(l.oid), op,
			    ty_pg_name(r.oid));
	if (!signed_operand(x, &lt, &l) || !signed_operand(x, &rt, &r))
		return false;
	*t = ty_of(ty_promote(&l, &r));
	if (strcmp(op, "^") == 0) {
		*t = ty_of(t->oid == PG_OID_NUMERIC ? PG_OID_NUMERIC : PG_OID_FLOAT8);
		return out(x, "POWER(") && out(x, lt) && out(x, ", ") && out(x, rt) && out(x, ")");
	}
	if (strcmp(op, "/") == 0 && ty_int(t))
		op = "DIV"; /* Postgres' integer division truncates toward zero, as DIV does */
	if (want && strcmp(op, "/") == 0 && t->oid == PG_OID_NUMERIC) {
		int da = numeric_dscale(&l, lt), db = numeric_dscale(&r, rt);
		if (da >= 0 && db >= 0 && (x->display = div_pg_scale(x, lt, rt, rt, da, db)) == NULL)
			return false;
	}
	return out(x, "(") && out(x, lt) && outf(x, " %s ", op) && out(x, rt) && out(x, ")");
}

static bool emit_concat(struct xlate *x, struct scope *sc, uint32_t f, struct ty *t)
{
	const struct tree *d = &x->doc;
	struct ty l, r, text = ty_of(PG_OID_TEXT);
	char *lt, *rt;
	if (!operand(x, sc, tree_get(d, f, "lexpr"), &l, &lt) || !settle(x, &lt, &l, &text) ||
	    !operand(x, sc, tree_get(d, f, "rexpr"), &r, &rt) || !settle(x, &rt, &r, &text))
		return false;
	*t = ty_of(PG_OID_TEXT);
	/* Postgres' || is NULL when either side is, as CONCAT is. */
	return out(x, "CONCAT(") && out_as_text(x, lt, &l) && out(x, ", ") && out_as_text(x, rt, &r) &&
	       out(x, ")");
}

static bool emit_unary(struct xlate *x, struct scope *sc, uint32_t f, const char *op, struct ty *t)
{
	char *rt;
	if (!operand(x, sc, tree_get(&x->doc, f, "rexpr"), t, &rt))
		return false;
	if (!ty_number(t))
		return fail(x, "42883", "operator does not exist: %s %s", op, ty_pg_name(t->oid));
	t->col = NULL;
	t->typmod = -1;
	return strcmp(op, "-") == 0 ? out(x, "(- ") && out(x, rt) && out(x, ")") : out(x, rt);
}

static bool emit_like(struct xlate *x, struct scope *sc, uint32_t ln, uint32_t rn, bool ilike,
		      bool negate, struct ty *t);

static bool handle_op(struct xlate *x, struct scope *sc, uint32_t f, struct ty *t)
{
	const struct tree *d = &x->doc;
	size_t nn;
	const char *op = last_name(x, tree_get(d, f, "name"), &nn);
	if (op == NULL)
		return false;
	if (tree_get(d, f, "lexpr") == 0) {
		if (strcmp(op, "-") == 0 || strcmp(op, "+") == 0)
			return emit_unary(x, sc, f, op, t);
		return fail(x, "0A000", "the operator %s is not supported for legacy tables", op);
	}
	const char *cmp = cmp_op(op);
	if (cmp != NULL)
		return emit_compare(x, sc, tree_get(d, f, "lexpr"), cmp, tree_get(d, f, "rexpr"), t);
	if (strcmp(op, "||") == 0)
		return emit_concat(x, sc, f, t);
	if (strcmp(op, "~~") == 0 || strcmp(op, "!~~") == 0 || strcmp(op, "~~*") == 0 ||
	    strcmp(op, "!~~*") == 0)
		return emit_like(x, sc, tree_get(d, f, "lexpr"), tree_get(d, f, "rexpr"),
				 strchr(op, '*') != NULL, op[0] == '!', t);
	if (strcmp(op, "+") == 0 || strcmp(op, "-") == 0) {
		if (is_date_arith(x, f))
			return emit_date_arith(x, sc, f, op, t);
		if (x->failed)
			return false;
		return emit_arith(x, sc, f, op, t);
	}
	if (strcmp(op, "*") == 0 || strcmp(op, "/") == 0 || strcmp(op, "%") == 0 ||
	    strcmp(op, "^") == 0)
		return emit_arith(x, sc, f, op, t);
	return fail(x, "0A000", "the operator %s is not supported for legacy tables", op);
}

/* ---- predicates ---- */

/* A LIKE pattern must not end in its escape character (Postgres: 22025). */
static bool check_like_pattern(struct xlate *x, const struct ty *p, char esc)
{
	if (!(p->flags & TY_UNKNOWN) || esc == '\0')
		return true;
	size_t n = strlen(p->lit), run = 0;
	while (run < n && p->lit[n - 1 - run] == esc)
		run++;
	if (run % 2 == 1)
		return fail(x, "22025", "LIKE pattern must not end with escape character");
	return true;
}

static bool emit_like(struct xlate *x, struct scope *sc, uint32_t ln, uint32_t rn, bool ilike,
		      bool negate, struct ty *t)
{
	const struct tree *d = &x->doc;
	struct ty l, r, text = ty_of(PG_OID_TEXT);
	char *lt, *rt, esc[2] = "\\";
	uint32_t f, tl;
	const char *type = node_type(x, rn, &f, &tl);
	if (NODE_IS(type, tl, "FuncCall")) {
		const char *fn = last_name(x, tree_get(d, f, "funcname"), NULL);
		uint32_t args = tree_get(d, f, "args");
		if (fn != NULL && strcmp(fn, "like_escape") == 0 && list_len(x, args) == 2) {
			struct ty et;
			char *etext;
			if (!operand(x, sc, list_at(x, args, 1), &et, &etext))
				return false;
			if (!(et.flags & TY_UNKNOWN) || strlen(et.lit) > 1)
				return refuse(x, "a LIKE escape that is not one constant character");
			esc[0] = et.lit[0];
			rn = list_at(x, args, 0);
		}
	}
	if (!operand(x, sc, ln, &l, &lt) || !settle(x, &lt, &l, &text) ||
	    !operand(x, sc, rn, &r, &rt) || !check_like_pattern(x, &r, esc[0]) ||
	    !settle(x, &rt, &r, &text))
		return false;
	if (!ty_textual(&l) || !ty_textual(&r))
		return fail(x, "42883", "operator does not exist: %s %s %s", ty_pg_name(l.oid),
			    ilike ? "~~*" : "~~", ty_pg_name(r.oid));
	*t = ty_of(PG_OID_BOOL);
	if (!out(x, negate ? "(NOT (" : "(("))
		return false;
	if (!ilike && indexed_col(&l)) {
		if (!out(x, lt) || !out(x, " LIKE ") || !out(x, rt) || !out(x, " ESCAPE ") ||
		    !out_strlit(x, esc) || !out(x, " AND "))
			return false;
	}
	if (ilike) {
		char *low;
		size_t s0 = x->n;
		if (!out(x, "LOWER(") || !out(x, lt) || !out(x, ")") || !cut(x, s0, &low))
			return false;
		lt = low;
		if (!out(x, ""))
			return false;
	}
	if (!out_bincoll(x, lt) || !out(x, " LIKE "))
		return false;
	if (ilike ? !(out(x, "LOWER(") && out(x, rt) && out(x, ")")) : !out(x, rt))
		return false;
	return out(x, " ESCAPE ") && out_strlit(x, esc) && out(x, "))");
}

/* l IN (items): the items settle on l's type; text compares byte-wise. */
/*
 * <array>: = ANY(ARRAY[...]), whose elements meet the left side through the
 * operator (a varchar makes parameters text); IN resolves one common type
 * over all first (a varchar stays varchar).
 */
static bool out_in_list(struct xlate *x, struct scope *sc, uint32_t ln, uint32_t items,
			bool negate, bool array, struct ty *t)
{
	struct ty l;
	char *lt;
	size_t n = list_len(x, items);
	if (n == 0)
		return fail(x, "42601", "syntax error at or near \")\"");
	if (!operand(x, sc, ln, &l, &lt))
		return false;
	char **it = xalloc(x, n * sizeof(*it));
	struct ty *ity = xalloc(x, n * sizeof(*ity));
	if (it == NULL || ity == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!operand(x, sc, list_at(x, items, i), &ity[i], &it[i]))
			return false;
		if (ty_open(&l) && !ty_open(&ity[i]) &&
		    !(array ? settle_op(x, &lt, &l, &ity[i]) : settle(x, &lt, &l, &ity[i])))
			return false;
	}
	if (ty_open(&l)) {
		struct ty text = ty_of(PG_OID_TEXT);
		if (!settle(x, &lt, &l, &text))
			return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (!(array ? settle_op(x, &it[i], &ity[i], &l) : settle(x, &it[i], &ity[i], &l)) ||
		    !comparable(x, "=", &l, &ity[i]))
			return false;
	}
	*t = ty_of(PG_OID_BOOL);
	bool text = ty_textual(&l);
	if (!out(x, negate ? "(NOT (" : "(("))
		return false;
	if (!text || indexed_col(&l)) {
		if (!out(x, lt) || !out(x, " IN ("))
			return false;
		for (size_t i = 0; i < n; i++) {
			if ((i && !out(x, ", ")) || !out(x, it[i]))
				return false;
		}
		if (!out(x, ")") || (text && !out(x, " AND ")))
			return false;
	}
	if (text) {
		if (!out_binary(x, lt, &l) || !out(x, " IN ("))
			return false;
		for (size_t i = 0; i < n; i++) {
			if ((i && !out(x, ", ")) || !out_binary(x, it[i], &ity[i]))
				return false;
		}
		if (!out(x, ")"))
			return false;
	}
	return out(x, "))");
}

static bool handle_in(struct xlate *x, struct scope *sc, uint32_t f, struct ty *t)
{
	const struct tree *d = &x->doc;
	const char *op = last_name(x, tree_get(d, f, "name"), NULL);
	if (op == NULL)
		return false;
	uint32_t rf, tl;
	const char *type = node_type(x, tree_get(d, f, "rexpr"), &rf, &tl);
	if (!NODE_IS(type, tl, "List"))
		return refuse(x, "this IN expression");
	return out_in_list(x, sc, tree_get(d, f, "lexpr"), tree_get(d, rf, "items"),
			   strcmp(op, "<>") == 0, false, t);
}

/* = ANY(ARRAY[...]) is IN (...); <> ALL(ARRAY[...]) is NOT IN (...). */
static bool handle_any(struct xlate *x, struct scope *sc, uint32_t f, bool all, struct ty *t)
{
	const struct tree *d = &x->doc;
	const char *op = last_name(x, tree_get(d, f, "name"), NULL);
	if (op == NULL)
		return false;
	uint32_t rf, tl;
	const char *type = node_type(x, tree_get(d, f, "rexpr"), &rf, &tl);
	if (NODE_IS(type, tl, "ParamRef"))
		return refuse(x, all ? "op ALL with an array parameter" : "= ANY with an array parameter");
	if (!NODE_IS(type, tl, "A_ArrayExpr"))
		return refuse(x, all ? "op ALL over a non-literal array" : "op ANY over a non-literal array");
	bool in = !all && strcmp(op, "=") == 0, notin = all && (strcmp(op, "<>") == 0 || strcmp(op, "!=") == 0);
	if (!in && !notin)
		return fail(x, "0A000", "%s %s (ARRAY[...]) is not supported for legacy tables", op,
			    all ? "ALL" : "ANY");
	uint32_t elems = tree_get(d, rf, "elements");
	if (list_len(x, elems) == 0) {
		/* Empty: = ANY is false, <> ALL is true (also for a NULL left side, as in Postgres). */
		*t = ty_of(PG_OID_BOOL);
		return out(x, in ? "FALSE" : "TRUE");
	}
	return out_in_list(x, sc, tree_get(d, f, "lexpr"), elems, notin, true, t);
}

static bool handle_between(struct xlate *x, struct scope *sc, uint32_t f, bool negate, struct ty *t)
{
	const struct tree *d = &x->doc;
	uint32_t rf, tl;
	const char *type = node_type(x, tree_get(d, f, "rexpr"), &rf, &tl);
	uint32_t items = tree_get(d, rf, "items");
	if (!NODE_IS(type, tl, "List") || list_len(x, items) != 2)
		return refuse(x, "this BETWEEN expression");
	struct ty l, a, b;
	char *lt, *at, *bt;
	if (!operand(x, sc, tree_get(d, f, "lexpr"), &l, &lt) ||
	    !operand(x, sc, list_at(x, items, 0), &a, &at) ||
	    !operand(x, sc, list_at(x, items, 1), &b, &bt) || !settle_pair(x, &lt, &l, &at, &a) ||
	    !settle_pair(x, &lt, &l, &bt, &b) || !comparable(x, ">=", &l, &a) ||
	    !comparable(x, "<=", &l, &b))
		return false;
	*t = ty_of(PG_OID_BOOL);
	const char *kw = negate ? " NOT BETWEEN " : " BETWEEN ";
	if (!ty_textual(&l))
		return out(x, "(") && out(x, lt) && out(x, kw) && out(x, at) && out(x, " AND ") &&
		       out(x, bt) && out(x, ")");
	return out(x, "(") && out_binary(x, lt, &l) && out(x, kw) && out_binary(x, at, &a) &&
	       out(x, " AND ") && out_binary(x, bt, &b) && out(x, ")");
}

static bool handle_distinct(struct xlate *x, struct scope *sc, uint32_t f, bool negate, struct ty *t)
{
	const struct tree *d = &x->doc;
	struct ty l, r;
	char *lt, *rt;
	if (!operand(x, sc, tree_get(d, f, "lexpr"), &l, &lt) ||
	    !operand(x, sc, tree_get(d, f, "rexpr"), &r, &rt) || !settle_pair(x, &lt, &l, &rt, &r) ||
	    !comparable(x, "=", &l, &r))
		return false;
	*t = ty_of(PG_OID_BOOL);
	t->nullable = false;
	if (!out(x, negate ? "(NOT (" : "(("))
		return false;
	if (ty_textual(&l)) {
		if (!out_binary(x, lt, &l) || !out(x, " <=> ") || !out_binary(x, rt, &r))
			return false;
	} else if (!out(x, lt) || !out(x, " <=> ") || !out(x, rt)) {
		return false;
	}
	return out(x, "))");
}

static bool handle_nullif(struct xlate *x, struct scope *sc, uint32_t f, struct ty *t)
{
	const struct tree *d = &x->doc;
	struct ty l, r;
	char *lt, *rt;
	if (!operand(x, sc, tree_get(d, f, "lexpr"), &l, &lt) ||
	    !operand(x, sc, tree_get(d, f, "rexpr"), &r, &rt) || !settle_pair(x, &lt, &l, &rt, &r) ||
	    !comparable(x, "=", &l, &r))
		return false;
	*t = l;
	t->col = NULL;
	t->nullable = true;
	if (t->oid == PG_OID_VARCHAR) {
		/* The result takes the = operator's input type: text for varchar. */
		t->oid = PG_OID_TEXT;
		t->typmod = -1;
	}
	if (!ty_textual(&l))
		return out(x, "NULLIF(") && out(x, lt) && out(x, ", ") && out(x, rt) && out(x, ")");
	return out(x, "IF(") && out_binary(x, lt, &l) && out(x, " = ") && out_binary(x, rt, &r) &&
	       out(x, ", NULL, ") && out(x, lt) && out(x, ")");
}

static bool handle_aexpr(struct xlate *x, struct scope *sc, uint32_t f, struct ty *t)
{
	const struct tree *d = &x->doc;
	uint32_t k = tree_get(d, f, "kind");
	if (tree_str_is(d, k, "AEXPR_OP"))
		return handle_op(x, sc, f, t);
	if (tree_str_is(d, k, "AEXPR_IN"))
		return handle_in(x, sc, f, t);
	if (tree_str_is(d, k, "AEXPR_OP_ANY"))
		return handle_any(x, sc, f, false, t);
	if (tree_str_is(d, k, "AEXPR_OP_ALL"))
		return handle_any(x, sc, f, true, t);
	if (tree_str_is(d, k, "AEXPR_BETWEEN") || tree_str_is(d, k, "AEXPR_NOT_BETWEEN"))
		return handle_between(x, sc, f, tree_str_is(d, k, "AEXPR_NOT_BETWEEN"), t);
	if (tree_str_is(d, k, "AEXPR_DISTINCT") || tree_str_is(d, k, "AEXPR_NOT_DISTINCT"))
		return handle_distinct(x, sc, f, tree_str_is(d, k, "AEXPR_DISTINCT"), t);
	if (tree_str_is(d, k, "AEXPR_NULLIF"))
		return handle_nullif(x, sc, f, t);
	if (tree_str_is(d, k, "AEXPR_LIKE") || tree_str_is(d, k, "AEXPR_ILIKE")) {
		const char *op = last_name(x, tree_get(d, f, "name"), NULL);
		return op != NULL && emit_like(x, sc, tree_get(d, f, "lexpr"), tree_get(d, f, "rexpr"),
					       tree_str_is(d, k, "AEXPR_ILIKE"), op[0] == '!', t);
	}
	if (tree_str_is(d, k, "AEXPR_SIMILAR"))
		return refuse(x, "SIMILAR TO");
	if (tree_str_is(d, k, "AEXPR_BETWEEN_SYM") || tree_str_is(d, k, "AEXPR_NOT_BETWEEN_SYM"))
		return refuse(x, "BETWEEN SYMMETRIC");
	return refuse(x, "this operator form");
}

/* A condition operand must be boolean; an unknown literal becomes one. */
static bool bool_operand(struct xlate *x, struct scope *sc, uint32_t n, const char *what,
			 char **text)
{
	struct ty t, b = ty_of(PG_OID_BOOL);
	if (!operand(x, sc, n, &t, text) || !settle(x, text, &t, &b))
		return false;
	if (t.oid != PG_OID_BOOL && !(t.flags & TY_NULL))
		return fail(x, "42804", "argument of %s must be type boolean, not type %s", what,
			    ty_pg_name(t.oid));
	return true;
}

static bool handle_boolexpr(struct xlate *x, struct scope *sc, uint32_t f, struct ty *t)
{
	const struct tree *d = &x->doc;
	uint32_t op = tree_get(d, f, "boolop"), args = tree_get(d, f, "args");
	const char *what = tree_str_is(d, op, "AND_EXPR") ? "AND"
			   : tree_str_is(d, op, "OR_EXPR") ? "OR" : "NOT";
	*t = ty_of(PG_OID_BOOL);
	char *text;
	if (strcmp(what, "NOT") == 0)
		return bool_operand(x, sc, tree_first(d, args), "NOT", &text) && out(x, "(NOT ") &&
		       out(x, text) && out(x, ")");
	if (!out(x, "("))
		return false;
	bool first = true;
	for (uint32_t e = tree_first(d, args); e; e = tree_next(d, args, e)) {
		if (!bool_operand(x, sc, e, what, &text) || (!first && !outf(x, " %s ", what)) ||
		    !out(x, text))
			return false;
		first = false;
	}
	return out(x, ")");
}

static bool handle_nulltest(struct xlate *x, struct scope *sc, uint32_t f, struct ty *t)
{
	const struct tree *d = &x->doc;
	struct ty a;
	char *text;
	if (!operand(x, sc, tree_get(d, f, "arg"), &a, &text))
		return false;
	close_type(x, &a);
	*t = ty_of(PG_OID_BOOL);
	t->nullable = false;
	bool neg = tree_str_is(d, tree_get(d, f, "nulltesttype"), "IS_NOT_NULL");
	/* A MySQL zero date (or one with a zero month or day) is NULL to clients. */
	if (a.col != NULL && (a.col->my_type == MY_T_DATE || a.col->my_type == MY_T_DATETIME ||
			      a.col->my_type == MY_T_TIMESTAMP))
		return out(x, "(") && out(x, text) && out(x, neg ? " IS NOT NULL AND MONTH(" : " IS NULL OR MONTH(") &&
		       out(x, text) && out(x, neg ? ") <> 0 AND DAYOFMONTH(" : ") = 0 OR DAYOFMONTH(") &&
		       out(x, text) && out(x, neg ? ") <> 0)" : ") = 0)");
	return out(x, "(") && out(x, text) && out(x, neg ? " IS NOT NULL)" : " IS NULL)");
}

static bool handle_booltest(struct xlate *x, struct scope *sc, uint32_t f, struct ty *t)
{
	static const struct {
		const char *pg, *my;
	} tests[] = {
		{ "IS_TRUE", " IS TRUE" },       { "IS_NOT_TRUE", " IS NOT TRUE" },
		{ "IS_FALSE", " IS FALSE" },     { "IS_NOT_FALSE", " IS NOT FALSE" },
		{ "IS_UNKNOWN", " IS NULL" },    { "IS_NOT_UNKNOWN", " IS NOT NULL" },
	};
	const struct tree *d = &x->doc;
	uint32_t kind = tree_get(d, f, "booltesttype");
	char *text;
	if (!bool_operand(x, sc, tree_get(d, f, "arg"), "IS TRUE", &text))
		return false;
	*t = ty_of(PG_OID_BOOL);
	t->nullable = false;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (tree_span_eqn(d, kind, tests[i].pg, strlen(tests[i].pg)))
			return out(x, "(") && out(x, text) && out(x, tests[i].my) && out(x, ")");
	}
	return refuse(x, "this boolean test");
}

/* ---- conditional expressions ---- */

/* Postgres' select_common_type, reduced: numbers promote, open members follow the rest. */
static bool common_type(struct xlate *x, char **texts, struct ty *tys, size_t n, const char *ctx,
			struct ty *out_ty)
{
	struct ty c = ty_of(0);
	bool have = false;
	for (size_t i = 0; i < n; i++) {
		if (ty_open(&tys[i]))
			continue;
		if (!have) {
			c = tys[i];
			have = true;
		} else if (ty_number(&c) && ty_number(&tys[i]) && c.oid != tys[i].oid) {
			uint32_t a = c.oid;
			c = ty_of(ty_promote(&c, &tys[i]));
			/* select_common_type: real accepts integers implicitly and stays real. */
			if ((a == PG_OID_FLOAT4 && tys[i].oid != PG_OID_FLOAT8) ||
			    (tys[i].oid == PG_OID_FLOAT4 && a != PG_OID_FLOAT8))
				c.oid = PG_OID_FLOAT4;
		} else if (ty_textual(&c) && ty_textual(&tys[i]) && c.oid != tys[i].oid) {
			c = ty_of(PG_OID_TEXT);
		} else if (c.oid == tys[i].oid && c.typmod != tys[i].typmod) {
			c.typmod = -1;
		} else if (ty_datetime(&c) && ty_datetime(&tys[i]) && c.oid != tys[i].oid) {
			/* timestamptz is the preferred type of the category, then timestamp. */
			uint32_t o = c.oid == PG_OID_TIMESTAMPTZ || tys[i].oid == PG_OID_TIMESTAMPTZ
					     ? PG_OID_TIMESTAMPTZ : PG_OID_TIMESTAMP;
			c = ty_of(o);
		} else if (c.oid != tys[i].oid) {
			return fail(x, "42804", "%s types %s and %s cannot be matched", ctx,
				    ty_pg_name(c.oid), ty_pg_name(tys[i].oid));
		}
	}
	if (!have)
		c = ty_of(PG_OID_TEXT);
	c.col = NULL;
	c.nullable = true;
	c.flags &= (uint8_t)(TY_ENUM | TY_BINARY);
	for (size_t i = 0; i < n; i++) {
		if (!settle(x, &texts[i], &tys[i], &c))
			return false;
		if (!(tys[i].flags & TY_BINARY))
			c.flags &= (uint8_t)~TY_BINARY;
	}
	*out_ty = c;
	return true;
}

/*
 * A numeric CASE or GREATEST/LEAST gets one DECIMAL scale for all rows in
 * MySQL (5.00); in Postgres each value keeps its own (an integer branch
 * prints 5). As a whole select-list item (want_display) each chosen value
 * is printed as its own text.
 */
static char *numeric_each_display(struct xlate *x, char **conds, char **res, size_t n, bool has_def)
{
	char *d = join(x, "CASE", NULL);
	for (size_t i = 0; d != NULL && i < n; i++)
		d = join(x, d, " WHEN ", conds[i], " THEN CAST(", res[i], " AS CHAR)", NULL);
	if (d != NULL && has_def)
		d = join(x, d, " ELSE CAST(", res[n], " AS CHAR)", NULL);
	return d ? join(x, d, " END", NULL) : NULL;
}

static bool handle_case(struct xlate *x, struct scope *sc, uint32_t f, struct ty *t)
{
	const struct tree *d = &x->doc;
	bool want = x->want_display; /* for this CASE, not for its branches */
	x->want_display = false;
	uint32_t args = tree_get(d, f, "args"), argn = tree_get(d, f, "arg");
	uint32_t defn = tree_get(d, f, "defresult");
	size_t n = list_len(x, args);
	char **conds = xalloc(x, (n + 1) * sizeof(char *));
	char **res = xalloc(x, (n + 1) * sizeof(char *));
	struct ty *rty = xalloc(x, (n + 1) * sizeof(struct ty));
	if (conds == NULL || res == NULL || rty == NULL)
		return false;
	struct ty at;
	char *atext = NULL;
	if (argn && !operand(x, sc, argn, &at, &atext))
		return false;
	size_t i = 0;
	for (uint32_t e = tree_first(d, args); e; e = tree_next(d, args, e), i++) {
		uint32_t wf, tl;
		node_type(x, e, &wf, &tl);
		uint32_t expr = tree_get(d, wf, "expr");
		if (argn) {
			/* CASE a WHEN v: a = v with Postgres' comparison (text byte-wise). */
			struct ty vt, a2 = at;
			char *vtext, *a2text = atext;
			if (!operand(x, sc, expr, &vt, &vtext) ||
			    !settle_pair(x, &a2text, &a2, &vtext, &vt))
				return false;
			size_t s0 = x->n;
			if (!out_compare(x, "=", a2text, &a2, vtext, &vt) || !cut(x, s0, &conds[i]))
				return false;
		} else if (!bool_operand(x, sc, expr, "CASE/WHEN", &conds[i])) {
			return false;
		}
		if (!operand(x, sc, tree_get(d, wf, "result"), &rty[i], &res[i]))
			return false;
	}
	bool has_def = defn != 0;
	if (has_def && !operand(x, sc, defn, &rty[n], &res[n]))
		return false;
	if (!common_type(x, res, rty, n + has_def, "CASE", t))
		return false;
	if (!out(x, "CASE"))
		return false;
	for (i = 0; i < n; i++) {
		if (!out(x, " WHEN ") || !out(x, conds[i]) || !out(x, " THEN ") || !out(x, res[i]))
			return false;
	}
	if (has_def && (!out(x, " ELSE ") || !out(x, res[n])))
		return false;
	if (want && t->oid == PG_OID_NUMERIC &&
	    (x->display = numeric_each_display(x, conds, res, n, has_def)) == NULL)
		return false;
	return out(x, " END");
}

/* Writes every element of <list> and settles them on one type. */
static bool emit_list_common(struct xlate *x, struct scope *sc, uint32_t list, const char *ctx,
			     char ***texts, struct ty **tys, size_t *n, struct ty *common)
{
	*n = list_len(x, list);
	*texts = xalloc(x, (*n + 1) * sizeof(char *));
	*tys = xalloc(x, (*n + 1) * sizeof(struct ty));
	if (*texts == NULL || *tys == NULL)
		return false;
	size_t i = 0;
	for (uint32_t e = tree_first(&x->doc, list); e; e = tree_next(&x->doc, list, e), i++) {
		if (!operand(x, sc, e, &(*tys)[i], &(*texts)[i]))
			return false;
	}
	return common_type(x, *texts, *tys, *n, ctx, common);
}

static bool handle_coalesce(struct xlate *x, struct scope *sc, uint32_t f, struct ty *t)
{
	char **texts;
	struct ty *tys;
	size_t n;
	if (!emit_list_common(x, sc, tree_get(&x->doc, f, "args"), "COALESCE", &texts, &tys, &n, t))
		return false;
	if (!out(x, "COALESCE("))
		return false;
	for (size_t i = 0; i < n; i++) {
		if ((i && !out(x, ", ")) || !out(x, texts[i]))
			return false;
	}
	return out(x, ")");
}

/*
 * GREATEST/LEAST skip NULLs in Postgres; MySQL's return NULL if any is.
 * Each argument i becomes COALESCE(a_i, a_i+1, ..., a_i-1): itself, or
 * another non-NULL argument, which never changes the extreme.
 */
static bool handle_minmax(struct xlate *x, struct scope *sc, uint32_t f, struct ty *t)
{
	const struct tree *d = &x->doc;
	bool greatest = tree_str_is(d, tree_get(d, f, "op"), "IS_GREATEST");
	char **texts;
	struct ty *tys;
	size_t n;
	bool want = x->want_display; /* for this call, not for its arguments */
	x->want_display = false;
	if (!emit_list_common(x, sc, tree_get(d, f, "args"), greatest ? "GREATEST" : "LEAST",
			      &texts, &tys, &n, t))
		return false;
	bool text = ty_textual(t);
	size_t s0 = x->n;
	if ((text && !out(x, "CONVERT(")) || !out(x, greatest ? "GREATEST(" : "LEAST("))
		return false;
	for (size_t i = 0; i < n; i++) {
		if ((i && !out(x, ", ")) || (n > 1 && !out(x, "COALESCE(")))
			return false;
		for (size_t k = 0; k < n; k++) {
			size_t j = (i + k) % n;
			if ((k && !out(x, ", ")) || (text ? !out_binary(x, texts[j], &tys[j]) : !out(x, texts[j])))
				return false;
		}
		if (n > 1 && !out(x, ")"))
			return false;
	}
	if (n == 1 && !(out(x, ", ") && (text ? out_binary(x, texts[0], &tys[0]) : out(x, texts[0]))))
		return false;
	if (!out(x, ")") || (text && !out(x, " USING utf8mb4)")))
		return false;
	if (want && t->oid == PG_OID_NUMERIC) {
		/* Postgres keeps the first argument that reaches the extreme: its own text. */
		char *m = tree_arena_strndup(&x->arena, x->buf + s0, x->n - s0);
		char **conds = xalloc(x, (n + 1) * sizeof(char *));
		if (m == NULL || conds == NULL)
			return m == NULL ? oom(x) : false;
		for (size_t i = 0; i < n; i++)
			if ((conds[i] = join(x, "(", texts[i], ") = (", m, ")", NULL)) == NULL)
				return false;
		if ((x->display = numeric_each_display(x, conds, texts, n, false)) == NULL)
			return false;
	}
	return true;
}

/* ---- casts ---- */

/* A type name as the parser gives it (pg_catalog.int4, varchar, ...) and its OID. */
static uint32_t cast_target(const char *name)
{
	static const struct {
		const char *name;
		uint32_t oid;
	} names[] = {
		{ "int2", PG_OID_INT2 },       { "smallint", PG_OID_INT2 },
		{ "int4", PG_OID_INT4 },       { "int", PG_OID_INT4 },
		{ "integer", PG_OID_INT4 },    { "int8", PG_OID_INT8 },
		{ "bigint", PG_OID_INT8 },     { "numeric", PG_OID_NUMERIC },
		{ "decimal", PG_OID_NUMERIC }, { "float4", PG_OID_FLOAT4 },
		{ "real", PG_OID_FLOAT4 },     { "float8", PG_OID_FLOAT8 },
		{ "text", PG_OID_TEXT },       { "varchar", PG_OID_VARCHAR },
		{ "bpchar", PG_OID_BPCHAR },   { "char", PG_OID_BPCHAR },
		{ "bool", PG_OID_BOOL },       { "boolean", PG_OID_BOOL },
		{ "date", PG_OID_DATE },       { "timestamp", PG_OID_TIMESTAMP },
		{ "timestamptz", PG_OID_TIMESTAMPTZ }, { "bytea", PG_OID_BYTEA },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(names[i].name, name) == 0)
			return names[i].oid;
	}
	return 0;
}

/* The typmod Postgres records for type <oid> with modifiers mods[0, n). */
static bool cast_typmod(struct xlate *x, uint32_t oid, const int64_t *mods, size_t n, int32_t *typmod)
{
	*typmod = -1;
	if (n == 0)
		return true;
	switch (oid) {
	case PG_OID_VARCHAR:
	case PG_OID_BPCHAR:
		if (n != 1 || mods[0] < 1 || mods[0] > 10485760)
			return fail(x, "22023", "length for type %s must be at least 1", ty_pg_name(oid));
		*typmod = (int32_t)mods[0] + 4;
		return true;
	case PG_OID_NUMERIC: {
		int64_t p = mods[0], sc = n > 1 ? mods[1] : 0;
		if (n > 2 || p < 1 || p > 65 || sc < 0 || sc > p || sc > 30)
			return refuse(x, "this numeric precision");
		*typmod = (int32_t)(((p << 16) | sc) + 4);
		return true;
	}
	case PG_OID_TIMESTAMP:
	case PG_OID_TIMESTAMPTZ:
		if (n != 1 || mods[0] < 0 || mods[0] > 6)
			return refuse(x, "this timestamp precision");
		*typmod = (int32_t)mods[0];
		return true;
	default:
		return fail(x, "42601", "type modifier is not allowed for type \"%s\"", catalog_type_name(oid));
	}
}

/* MySQL's CAST target for a Postgres type with its typmod. */
static bool out_my_cast_type(struct xlate *x, uint32_t oid, int32_t typmod)
{
	switch (oid) {
	case PG_OID_INT2:
	case PG_OID_INT4:
	case PG_OID_INT8: return out(x, "SIGNED");
	case PG_OID_NUMERIC:
		if (typmod < 4)
			return out(x, "DECIMAL(65,0)");
		return outf(x, "DECIMAL(%d,%d)", (typmod - 4) >> 16, (typmod - 4) & 0xffff);
	case PG_OID_FLOAT4: return out(x, "FLOAT");
	case PG_OID_FLOAT8: return out(x, "DOUBLE");
	case PG_OID_DATE: return out(x, "DATE");
	case PG_OID_TIMESTAMP:
	case PG_OID_TIMESTAMPTZ:
		return typmod >= 0 ? outf(x, "DATETIME(%d)", typmod) : out(x, "DATETIME(6)");
	default:
		return typmod >= 4 ? outf(x, "CHAR(%d)", typmod - 4) : out(x, "CHAR");
	}
}

static bool out_cast(struct xlate *x, const char *text, uint32_t oid, int32_t typmod)
{
	return out(x, "CAST(") && out(x, text) && out(x, " AS ") && out_my_cast_type(x, oid, typmod) &&
	       out(x, ")");
}

/* An explicit cast to varchar(n)/char(n) truncates silently in Postgres, as LEFT does. */
static bool out_truncated(struct xlate *x, const char *text, int32_t typmod)
{
	if (typmod < 4)
		return out(x, text);
	return out(x, "LEFT(") && out(x, text) && outf(x, ", %d)", typmod - 4);
}

static bool cast_to_text(struct xlate *x, const char *text, const struct ty *a, int32_t typmod)
{
	if (a->oid == PG_OID_TIMESTAMPTZ || a->oid == PG_OID_INTERVAL || a->oid == PG_OID_BYTEA)
		return fail(x, "0A000", "casting %s to text is not supported for legacy tables",
			    ty_pg_name(a->oid));
	size_t s0 = x->n;
	char *inner;
	if (a->oid == PG_OID_BOOL) {
		if (!out_as_text(x, text, a))
			return false;
	} else if (ty_textual(a) && !(a->flags & TY_ENUM)) {
		if (!out(x, text))
			return false;
	} else if (!out_cast(x, text, PG_OID_TEXT, -1)) {
		return false;
	}
	return cut(x, s0, &inner) && out_truncated(x, inner, typmod);
}

/*
 * text::boolean as Postgres' boolin reads it: blanks trimmed, any case, a
 * prefix of true/yes/false/no, on/off (two letters at least), 1/0. Any
 * other value must fail with 22P02: the ELSE branch casts a text that is
 * no integer, which MySQL answers with warning 1292 (truncated incorrect
 * value) and the proxy turns into 22P02.
 */
static bool cast_text_to_bool(struct xlate *x, const char *text)
{
	return out(x, "(CASE WHEN (") && out(x, text) &&
	       out(x, ") IS NULL THEN NULL WHEN CAST(LOWER(TRIM(") && out(x, text) &&
	       out(x, ")) AS BINARY) IN ('t', 'tr', 'tru', 'true', 'y', 'ye', 'yes', 'on', '1') THEN TRUE"
		      " WHEN CAST(LOWER(TRIM(") && out(x, text) &&
	       out(x, ")) AS BINARY) IN ('f', 'fa', 'fal', 'fals', 'false', 'n', 'no', 'of', 'off', '0')"
		      " THEN FALSE ELSE CAST(CONCAT('invalid input syntax for type boolean: ', ") &&
	       out(x, text) && out(x, ") AS SIGNED) <> 0 END)");
}

/* expr::type for a typed expression <a> written as <text>. */
static bool cast_value(struct xlate *x, const char *text, struct ty *a, uint32_t oid, int32_t typmod)
{
	switch (oid) {
	case PG_OID_INT2:
	case PG_OID_INT4:
	case PG_OID_INT8:
		if (ty_int(a))
			return out(x, text);
		if (a->oid == PG_OID_BOOL)
			return out(x, "(") && out(x, text) && out(x, " <> 0)");
		if (ty_number(a) || ty_textual(a))
			return out_cast(x, text, oid, typmod);
		break;
	case PG_OID_NUMERIC:
		if (a->oid == PG_OID_NUMERIC && typmod < 0)
			return out(x, text);
		if (ty_int(a) || (ty_number(a) && typmod >= 0) || (ty_textual(a) && typmod >= 0))
			return out_cast(x, text, oid, typmod);
		if (ty_float(a) || ty_textual(a))
			return refuse(x, "a cast to numeric without a precision from this type");
		break;
	case PG_OID_FLOAT4:
	case PG_OID_FLOAT8:
		if (ty_number(a) || ty_textual(a))
			return out_cast(x, text, oid, typmod);
		break;
	case PG_OID_TEXT:
	case PG_OID_VARCHAR:
	case PG_OID_BPCHAR:
		return cast_to_text(x, text, a, typmod);
	case PG_OID_BOOL:
		if (a->oid == PG_OID_BOOL)
			return out(x, text);
		if (a->oid == PG_OID_INT4)
			return out(x, "(") && out(x, text) && out(x, " <> 0)");
		if (ty_textual(a))
			return cast_text_to_bool(x, text);
		break;
	case PG_OID_DATE:
		if (a->oid == PG_OID_DATE)
			return out(x, text);
		if (a->oid == PG_OID_TIMESTAMPTZ)
			return out(x, "CAST(") && out_local(x, text) && out(x, " AS DATE)");
		if (a->oid == PG_OID_TIMESTAMP || ty_textual(a))
			return out_cast(x, text, oid, typmod);
		break;
	case PG_OID_TIMESTAMP:
		if (a->oid == PG_OID_TIMESTAMP && typmod < 0)
			return out(x, text);
		if (a->oid == PG_OID_TIMESTAMPTZ)
			return out_local(x, text);
		if (ty_datetime(a) || ty_textual(a))
			return out_cast(x, text, oid, typmod);
		break;
	case PG_OID_TIMESTAMPTZ:
		if (a->oid == PG_OID_TIMESTAMPTZ)
			return out(x, text);
		if (a->oid == PG_OID_DATE || a->oid == PG_OID_TIMESTAMP || ty_textual(a)) {
			size_t s0 = x->n;
			char *local;
			return out_cast(x, text, PG_OID_TIMESTAMP, typmod) && cut(x, s0, &local) &&
			       out_utc(x, local);
		}
		break;
	case PG_OID_INTERVAL:
	case PG_OID_BYTEA:
		if (a->oid == oid)
			return out(x, text);
		break;
	default:
		break;
	}
	return fail(x, "42846", "cannot cast type %s to %s", ty_pg_name(a->oid), ty_pg_name(oid));
}

/* Reads a TypeName: its OID (0 when not served), typmod and the name Postgres' FigureColname uses. */
static bool type_name(struct xlate *x, uint32_t tn, uint32_t *oid, int32_t *typmod, const char **last)
{
	const struct tree *d = &x->doc;
	*last = last_name(x, tree_get(d, tn, "names"), NULL);
	if (*last == NULL)
		return false;
	if (tree_get(d, tn, "arrayBounds") != 0)
		return refuse(x, "a cast to an array type");
	*oid = cast_target(*last);
	if (*oid == 0) {
		if (strcmp(*last, "interval") == 0) {
			/* interval 'time-only literal' (coerce_literal), or a TIME value as it is. */
			if (tree_get(d, tn, "typmods") != 0)
				return refuse(x, "an interval with fields or a precision");
			*oid = PG_OID_INTERVAL;
			*typmod = -1;
			return true;
		}
		return fail(x, "0A000", "casting to type %s is not supported for legacy tables", *last);
	}
	int64_t mods[3];
	size_t n = 0;
	uint32_t list = tree_get(d, tn, "typmods");
	for (uint32_t e = tree_first(d, list); e; e = tree_next(d, list, e)) {
		uint32_t f, tl;
		const char *type = node_type(x, e, &f, &tl);
		uint32_t iv = tree_get(d, f, "ival");
		if (!NODE_IS(type, tl, "A_Const") || iv == 0 || n == 3)
			return refuse(x, "this type modifier");
		mods[n++] = tree_int(d, tree_get(d, iv, "ival"));
	}
	return cast_typmod(x, *oid, mods, n, typmod);
}

static bool emit_cast(struct xlate *x, struct scope *sc, uint32_t argn, uint32_t tn, struct ty *t)
{
	uint32_t oid = 0;
	int32_t typmod = -1;
	const char *last = NULL;
	bool want = x->want_cast_display; /* for this cast, not for one in its operand */
	x->want_cast_display = false;
	if (!type_name(x, tn, &oid, &typmod, &last))
		return false;
	struct ty a;
	char *text;
	if (!operand(x, sc, argn, &a, &text))
		return false;
	struct ty target = ty_of(oid);
	/*
	 * float::text and float::numeric print as Postgres' float8out (per
	 * extra_float_digits) and float8_numeric (%.15g; %.6g for real) do,
	 * which MySQL cannot spell: as a whole select-list item the double goes
	 * out as it is and the value mapper formats it (PGV_C_FLOAT*_TEXT,
	 * PGV_C_NUMERIC_OF_FLOAT*). Elsewhere ::text keeps MySQL's spelling and
	 * ::numeric is refused.
	 */
	if (want && ty_float(&a) && typmod < 0 &&
	    (oid == PG_OID_TEXT || oid == PG_OID_NUMERIC || oid == PG_OID_VARCHAR)) {
		bool f4 = a.oid == PG_OID_FLOAT4;
		x->display = text;
		x->display_conv = (uint8_t)(1 + (oid == PG_OID_NUMERIC
							 ? (f4 ? PGV_C_NUMERIC_OF_FLOAT4 : PGV_C_NUMERIC_OF_FLOAT8)
							 : (f4 ? PGV_C_FLOAT4_TEXT : PGV_C_FLOAT8_TEXT)));
		*t = target;
		t->nullable = a.nullable;
		/* What ORDER BY / GROUP BY by position see: numeric order is the double's. */
		return oid == PG_OID_NUMERIC ? out(x, text) : cast_value(x, text, &a, oid, typmod);
	}
	if (a.flags & (TY_UNKNOWN | TY_PARAM | TY_NULL)) {
		bool lit = (a.flags & TY_UNKNOWN) != 0;
		if (!settle(x, &text, &a, &target))
			return false;
		if (!lit || typmod < 0 || (oid != PG_OID_VARCHAR && oid != PG_OID_BPCHAR &&
					   oid != PG_OID_NUMERIC)) {
			*t = target;
			t->typmod = typmod;
			t->nullable = a.nullable;
			return out(x, text);
		}
		a.oid = oid == PG_OID_NUMERIC ? PG_OID_NUMERIC : PG_OID_TEXT;
	}
	bool noop_col = a.col != NULL && a.oid == oid && typmod < 0;
	if (!cast_value(x, text, &a, oid, typmod))
		return false;
	*t = target;
	t->typmod = typmod;
	t->nullable = a.nullable;
	t->col = noop_col ? a.col : NULL;
	return true;
}

static bool handle_typecast(struct xlate *x, struct scope *sc, uint32_t f, struct ty *t)
{
	const struct tree *d = &x->doc;
	return emit_cast(x, sc, tree_get(d, f, "arg"), tree_get(d, f, "typeName"), t);
}

/* ---- sort keys ---- */

/*
 * One ORDER BY key with Postgres' rules: text byte-wise, ENUMs as text,
 * NULLs last ascending and first descending unless NULLS FIRST/LAST says
 * otherwise (MySQL puts them first ascending: an `x IS NULL` key fixes it,
 * and is left out when the key cannot be NULL).
 */
static bool out_sort_key(struct xlate *x, const char *text, const struct ty *t, uint32_t sortby)
{
	const struct tree *d = &x->doc;
	uint32_t dir = tree_get(d, sortby, "sortby_dir"), nulls = tree_get(d, sortby, "sortby_nulls");
	if (tree_str_is(d, dir, "SORTBY_USING"))
		return refuse(x, "ORDER BY ... USING");
	bool desc = tree_str_is(d, dir, "SORTBY_DESC");
	if (t->oid == PG_OID_JSON)
		return fail(x, "42883", "could not identify an ordering operator for type json");
	bool nulls_first = tree_str_is(d, nulls, "SORTBY_NULLS_FIRST") ||
			   (desc && !tree_str_is(d, nulls, "SORTBY_NULLS_LAST"));
	if (t->nullable && nulls_first == desc) {
		if (!out(x, text) || !out(x, nulls_first ? " IS NULL DESC, " : " IS NULL, "))
			return false;
	}
	if (ty_textual(t) ? !out_binary(x, text, t) : !out(x, text))
		return false;
	return !desc || out(x, " DESC");
}

/* ORDER BY items of a window or an aggregate (not the output-name rules of a query's). */
static bool out_sort_list(struct xlate *x, struct scope *sc, uint32_t list)
{
	const struct tree *d = &x->doc;
	bool first = true;
	for (uint32_t e = tree_first(d, list); e; e = tree_next(d, list, e)) {
		uint32_t f, tl;
		node_type(x, e, &f, &tl);
		struct ty kt;
		char *kt_text;
		if (!operand(x, sc, tree_get(d, f, "node"), &kt, &kt_text))
			return false;
		close_type(x, &kt);
		if ((!first && !out(x, ", ")) || !out_sort_key(x, kt_text, &kt, f))
			return false;
		first = false;
	}
	return true;
}

/* ---- functions ---- */

struct fargs {
	size_t n;
	char **text;
	struct ty *ty;
};

static bool emit_args(struct xlate *x, struct scope *sc, uint32_t list, struct fargs *a)
{
	a->n = list_len(x, list);
	a->text = xalloc(x, (a->n + 1) * sizeof(char *));
	a->ty = xalloc(x, (a->n + 1) * sizeof(struct ty));
	if (a->text == NULL || a->ty == NULL)
		return false;
	size_t i = 0;
	for (uint32_t e = tree_first(&x->doc, list); e; e = tree_next(&x->doc, list, e), i++) {
		if (!operand(x, sc, e, &a->ty[i], &a->text[i]))
			return false;
	}
	return true;
}

/* Postgres' "function f(integer, text) does not exist". */
static bool no_function(struct xlate *x, const char *name, const struct fargs *a)
{
	char sig[200];
	size_t n = 0;
	for (size_t i = 0; i < a->n && n < sizeof(sig); i++)
		n += (size_t)snprintf(sig + n, sizeof(sig) - n, "%s%s", i ? ", " : "",
				      ty_pg_name(a->ty[i].oid));
	if (n >= sizeof(sig))
		n = sizeof(sig) - 1;
	sig[n] = '\0';
	return fail(x, "42883", "function %s(%s) does not exist", name, sig);
}

/* Argument i settles on <oid> (unknown literals and parameters). */
static bool arg_as(struct xlate *x, struct fargs *a, size_t i, uint32_t oid)
{
	struct ty want = ty_of(oid);
	return settle(x, &a->text[i], &a->ty[i], &want);
}

static bool args_text(struct xlate *x, struct fargs *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++) {
		if (!arg_as(x, a, i, PG_OID_TEXT))
			return false;
		if (!ty_textual(&a->ty[i]) && !(a->ty[i].flags & TY_NULL))
			return no_function(x, name, a);
		if (a->ty[i].flags & TY_BINARY) {
			/* Bytes from a byte-wise DISTINCT/UNION: string functions need characters again. */
			size_t s0 = x->n;
			if (!out(x, "CONVERT(") || !out(x, a->text[i]) || !out(x, " USING utf8mb4)") ||
			    !cut(x, s0, &a->text[i]))
				return false;
			a->ty[i].flags &= (uint8_t)~TY_BINARY;
		}
	}
	return true;
}

static bool args_int(struct xlate *x, struct fargs *a, size_t from, const char *name)
{
	for (size_t i = from; i < a->n; i++) {
		if (!arg_as(x, a, i, PG_OID_INT4))
			return false;
		if (!ty_int(&a->ty[i]) && !(a->ty[i].flags & TY_NULL))
			return no_function(x, name, a);
	}
	return true;
}

static bool args_number(struct xlate *x, struct fargs *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++) {
		if (!arg_as(x, a, i, PG_OID_NUMERIC))
			return false;
		if (!ty_number(&a->ty[i]) && !(a->ty[i].flags & TY_NULL))
			return no_function(x, name, a);
	}
	return true;
}

/* NAME(arg, arg, ...) */
static bool out_call(struct xlate *x, const char *my, const struct fargs *a)
{
	if (!out(x, my) || !out(x, "("))
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if ((i && !out(x, ", ")) || !out(x, a->text[i]))
			return false;
	}
	return out(x, ")");
}

static bool fn_case(struct xlate *x, struct fargs *a, const char *name, struct ty *t)
{
	if (a->n != 1 || !args_text(x, a, name))
		return a->n != 1 ? no_function(x, name, a) : false;
	*t = ty_of(PG_OID_TEXT);
	return out_call(x, strcmp(name, "lower") == 0 ? "LOWER" : "UPPER", a);
}

static bool fn_length(struct xlate *x, struct fargs *a, const char *name, struct ty *t)
{
	bool octets = strcmp(name, "octet_length") == 0;
	if (a->n == 1 && octets && a->ty[0].oid == PG_OID_BYTEA) {
		*t = ty_of(PG_OID_INT4);
		return out_call(x, "LENGTH", a);
	}
	/* A char(n) value has its padding in Postgres (MySQL strips it): octet_length counts it. */
	const struct legacy_column *c = a->n == 1 ? a->ty[0].col : NULL;
	if (octets && c != NULL && c->my_type == MY_T_CHAR && a->ty[0].oid == PG_OID_BPCHAR &&
	    c->char_length > 0) {
		*t = ty_of(PG_OID_INT4);
		return out(x, "LENGTH(RPAD(") && out(x, a->text[0]) &&
		       outf(x, ", %u, ' '))", (unsigned)c->char_length);
	}
	if (a->n != 1 || !args_text(x, a, name))
		return a->n != 1 ? no_function(x, name, a) : false;
	*t = ty_of(PG_OID_INT4);
	return out_call(x, strcmp(name, "octet_length") == 0 ? "LENGTH" : "CHAR_LENGTH", a);
}

/* An int argument that is a constant >= 1 (MySQL and Postgres agree on it). */
static bool const_positive(const struct fargs *a, size_t i)
{
	const char *s = a->text[i];
	if (*s == '\0')
		return false;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
	}
	return strcmp(s, "0") != 0 && s[0] != '0';
}

/*
 * substring(s from a for n): Postgres counts positions before 1 against the
 * length, MySQL returns '' for a < 1; clamp unless the start is a constant >= 1.
 */
static bool fn_substring(struct xlate *x, struct fargs *a, const char *name, struct ty *t)
{
	if (a->n < 2 || a->n > 3)
		return no_function(x, name, a);
	if (!arg_as(x, a, 0, PG_OID_TEXT))
		return false;
	if (a->n == 2 && (ty_textual(&a->ty[1]) || (a->ty[1].flags & TY_UNKNOWN)))
		return refuse(x, "substring with a regular expression");
	if (!args_int(x, a, 1, name) || !ty_textual(&a->ty[0]))
		return x->failed ? false : no_function(x, name, a);
	*t = ty_of(PG_OID_TEXT);
	if (const_positive(a, 1))
		return out_call(x, "SUBSTRING", a);
	const char *s = a->text[0], *st = a->text[1];
	if (!out(x, "SUBSTRING(") || !out(x, s) || !out(x, ", GREATEST(") || !out(x, st) ||
	    !out(x, ", 1)"))
		return false;
	if (a->n == 2)
		return out(x, ")");
	return out(x, ", GREATEST(") && out(x, st) && out(x, " + ") && out(x, a->text[2]) &&
	       out(x, ", 1) - GREATEST(") && out(x, st) && out(x, ", 1))");
}

static bool fn_trim(struct xlate *x, struct fargs *a, const char *name, struct ty *t)
{
	if (a->n < 1 || a->n > 2 || !args_text(x, a, name))
		return x->failed ? false : no_function(x, name, a);
	*t = ty_of(PG_OID_TEXT);
	const char *side = strcmp(name, "ltrim") == 0 ? "LEADING" : strcmp(name, "rtrim") == 0 ? "TRAILING" : "BOTH";
	if (a->n == 1)
		return out(x, "TRIM(") && out(x, side) && out(x, " ' ' FROM ") && out(x, a->text[0]) &&
		       out(x, ")");
	/* Postgres trims a set of characters, MySQL a substring: the same for one character. */
	if (!(a->ty[1].flags & TY_UNKNOWN) && !(a->ty[1].lit != NULL))
		return refuse(x, "trim with characters that are not a constant");
	const char *chars = a->ty[1].lit;
	if (chars == NULL) {
		/* settled already: the text holds the literal */
		return refuse(x, "trim with characters that are not a constant");
	}
	size_t n = strlen(chars);
	size_t cp = 0;
	for (size_t i = 0; i < n; i++)
		cp += ((unsigned char)chars[i] & 0xc0) != 0x80;
	if (cp != 1)
		return refuse(x, "trim with more than one character to remove");
	return out(x, "TRIM(") && out(x, side) && out(x, " ") && out(x, a->text[1]) &&
	       out(x, " FROM ") && out(x, a->text[0]) && out(x, ")");
}

static bool fn_replace(struct xlate *x, struct fargs *a, const char *name, struct ty *t)
{
	if (a->n != 3 || !args_text(x, a, name))
		return x->failed ? false : no_function(x, name, a);
	*t = ty_of(PG_OID_TEXT);
	return out_call(x, "REPLACE", a);
}

/* position(sub in s) is pg_catalog.position(s, sub); strpos(s, sub). Case-sensitive. */
static bool fn_position(struct xlate *x, struct fargs *a, const char *name, struct ty *t)
{
	if (a->n != 2 || !args_text(x, a, name))
		return x->failed ? false : no_function(x, name, a);
	*t = ty_of(PG_OID_INT4);
	return out(x, "LOCATE(") && out_bincoll(x, a->text[1]) && out(x, ", ") && out(x, a->text[0]) &&
	       out(x, ")");
}

/* concat() and concat_ws() skip NULLs, as CONCAT_WS does; booleans print as t/f. */
static bool fn_concat(struct xlate *x, struct fargs *a, const char *name, struct ty *t)
{
	bool ws = strcmp(name, "concat_ws") == 0;
	if (a->n < (ws ? 2u : 1u))
		return no_function(x, name, a);
	for (size_t i = 0; i < a->n; i++) {
		if (!arg_as(x, a, i, PG_OID_TEXT))
			return false;
	}
	*t = ty_of(PG_OID_TEXT);
	if (!out(x, ws ? "CONCAT_WS(" : "CONCAT_WS('', "))
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (i && !out(x, ", "))
			return false;
		/* concat's "any" arguments print through bpcharout: char(n) keeps its padding. */
		if (a->ty[i].oid == PG_OID_BPCHAR && a->ty[i].typmod > 4) {
			if (!out(x, "RPAD(") || !out(x, a->text[i]) ||
			    !outf(x, ", %d, ' ')", (int)(a->ty[i].typmod - 4)))
				return false;
			continue;
		}
		if (a->ty[i].oid == PG_OID_BOOL ? !(out(x, "IF(") && out(x, a->text[i]) && out(x, ", 't', 'f')"))
						  : !out(x, a->text[i]))
			return false;
	}
	return out(x, ")");
}

/* left/right with a negative count mean "all but the last/first n" in Postgres. */
static bool fn_leftright(struct xlate *x, struct fargs *a, const char *name, struct ty *t)
{
	if (a->n != 2 || !arg_as(x, a, 0, PG_OID_TEXT) || !args_int(x, a, 1, name))
		return x->failed ? false : no_function(x, name, a);
	*t = ty_of(PG_OID_TEXT);
	const char *my = strcmp(name, "left") == 0 ? "LEFT" : "RIGHT";
	if (const_positive(a, 1) || strcmp(a->text[1], "0") == 0)
		return out_call(x, my, a);
	const char *s = a->text[0], *n = a->text[1];
	return out(x, my) && out(x, "(") && out(x, s) && out(x, ", IF(") && out(x, n) &&
	       out(x, " < 0, GREATEST(CHAR_LENGTH(") && out(x, s) && out(x, ") + ") && out(x, n) &&
	       out(x, ", 0), ") && out(x, n) && out(x, "))");
}

static bool fn_pad(struct xlate *x, struct fargs *a, const char *name, struct ty *t)
{
	if (a->n < 2 || a->n > 3 || !arg_as(x, a, 0, PG_OID_TEXT) || !arg_as(x, a, 1, PG_OID_INT4) ||
	    (a->n == 3 && !arg_as(x, a, 2, PG_OID_TEXT)))
		return x->failed ? false : no_function(x, name, a);
	*t = ty_of(PG_OID_TEXT);
	if (!out(x, strcmp(name, "lpad") == 0 ? "LPAD(" : "RPAD(") || !out(x, a->text[0]) ||
	    !out(x, ", ") || !out(x, a->text[1]) || !out(x, ", "))
		return false;
	return out(x, a->n == 3 ? a->text[2] : "' '") && out(x, ")");
}

static bool fn_abs(struct xlate *x, struct fargs *a, const char *name, struct ty *t)
{
	if (a->n != 1 || !args_number(x, a, name))
		return x->failed ? false : no_function(x, name, a);
	*t = ty_of(a->ty[0].oid);
	return out_call(x, "ABS", a);
}

/* round/ceil/floor/trunc of an integer resolve to the float8 versions in Postgres. */
static uint32_t rounding_type(const struct ty *a)
{
	return a->oid == PG_OID_NUMERIC ? PG_OID_NUMERIC : PG_OID_FLOAT8;
}

/*
 * round/trunc/ceil of a float in (-1, 0) is -0 in Postgres (rint, trunc,
 * ceil), which MySQL cannot produce: as a whole select-list item
 * (want_display) the value is printed as '-0' there, which the value mapper
 * reads back as a negative zero.
 */
static bool out_signed_zero(struct xlate *x, const struct fargs *a, size_t s0)
{
	if (!x->want_display || !ty_float(&a->ty[0]))
		return true;
	char *f = tree_arena_strndup(&x->arena, x->buf + s0, x->n - s0);
	if (f == NULL)
		return oom(x);
	x->display = join(x, "IF(", a->text[0], " < 0 AND ", f, " = 0, '-0', ", f, ")", NULL);
	return x->display != NULL;
}

static bool fn_round(struct xlate *x, struct fargs *a, const char *name, struct ty *t)
{
	bool trunc = strcmp(name, "trunc") == 0;
	if (a->n < 1 || a->n > 2 || !args_number(x, a, name) || (a->n == 2 && !args_int(x, a, 1, name)))
		return x->failed ? false : no_function(x, name, a);
	if (a->n == 1) {
		*t = ty_of(rounding_type(&a->ty[0]));
		size_t s0 = x->n;
		return out(x, trunc ? "TRUNCATE(" : "ROUND(") && out(x, a->text[0]) &&
		       out(x, trunc ? ", 0)" : ")") && out_signed_zero(x, a, s0);
	}
	/* round(x, n) is numeric with exactly n decimals (n >= 0) in Postgres. */
	*t = ty_of(PG_OID_NUMERIC);
	bool fixed = const_positive(a, 1) || strcmp(a->text[1], "0") == 0;
	if (fixed && strlen(a->text[1]) <= 2 && atoi(a->text[1]) <= 30)
		return out(x, "CAST(") && out_call(x, trunc ? "TRUNCATE" : "ROUND", a) &&
		       outf(x, " AS DECIMAL(65,%d))", atoi(a->text[1]));
	return out_call(x, trunc ? "TRUNCATE" : "ROUND", a);
}

static bool fn_ceil_floor(struct xlate *x, struct fargs *a, const char *name, struct ty *t)
{
	if (a->n != 1 || !args_number(x, a, name))
		return x->failed ? false : no_function(x, name, a);
	*t = ty_of(rounding_type(&a->ty[0]));
	bool floor = strcmp(name, "floor") == 0;
	size_t s0 = x->n;
	return out_call(x, floor ? "FLOOR" : "CEILING", a) && (floor || out_signed_zero(x, a, s0));
}

static bool fn_mod(struct xlate *x, struct fargs *a, const char *name, struct ty *t)
{
	if (a->n != 2 || !args_number(x, a, name))
		return x->failed ? false : no_function(x, name, a);
	*t = ty_of(ty_promote(&a->ty[0], &a->ty[1]));
	return out_call(x, "MOD", a);
}

static bool fn_math(struct xlate *x, struct fargs *a, const char *name, struct ty *t)
{
	static const struct {
		const char *pg, *my;
		size_t n;
	} fns[] = {
		{ "power", "POWER", 2 }, { "pow", "POWER", 2 }, { "sqrt", "SQRT", 1 },
		{ "exp", "EXP", 1 },     { "ln", "LN", 1 },     { "log", "LOG10", 1 },
		{ "log10", "LOG10", 1 }, { "sign", "SIGN", 1 },
	};
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		if (strcmp(fns[i].pg, name) != 0)
			continue;
		if (a->n != fns[i].n || !args_number(x, a, name))
			return x->failed ? false : no_function(x, name, a);
		bool numeric = false;
		for (size_t k = 0; k < a->n; k++)
			numeric |= a->ty[k].oid == PG_OID_NUMERIC;
		*t = ty_of(numeric ? PG_OID_NUMERIC : PG_OID_FLOAT8);
		return out_call(x, fns[i].my, a);
	}
	return no_function(x, name, a);
}

static bool fn_now(struct xlate *x, struct fargs *a, const char *name, struct ty *t)
{
	if (a->n != 0)
		return no_function(x, name, a);
	*t = ty_of(PG_OID_TIMESTAMPTZ);
	t->nullable = false;
	return out(x, strcmp(name, "clock_timestamp") == 0 ? "SYSDATE(6)" : "NOW(6)");
}

static bool fn_md5(struct xlate *x, struct fargs *a, const char *name, struct ty *t)
{
	if (a->n != 1 || !args_text(x, a, name))
		return x->failed ? false : no_function(x, name, a);
	*t = ty_of(PG_OID_TEXT);
	return out_call(x, "MD5", a);
}

/* The date/time argument i, settled (a literal is a timestamp), in local time if it is a timestamptz. */
static bool datetime_arg(struct xlate *x, struct fargs *a, size_t i, const char *name, char **local)
{
	if (!arg_as(x, a, i, PG_OID_TIMESTAMP))
		return false;
	if (!ty_datetime(&a->ty[i]) && !(a->ty[i].flags & TY_NULL))
		return no_function(x, name, a);
	*local = a->text[i];
	if (a->ty[i].oid != PG_OID_TIMESTAMPTZ)
		return true;
	size_t s0 = x->n;
	return out_local(x, a->text[i]) && cut(x, s0, local);
}

/* The constant field/unit argument of extract/date_part/date_trunc, lower-cased. */
static bool field_arg(struct xlate *x, const struct fargs *a, const char *name, char *out_f, size_t cap)
{
	if (a->n < 1 || a->ty[0].lit == NULL)
		return fail(x, "0A000", "%s with a field that is not a constant is not supported for legacy tables", name);
	size_t n = 0;
	for (const char *p = a->ty[0].lit; *p && n + 1 < cap; p++)
		out_f[n++] = (*p >= 'A' && *p <= 'Z') ? (char)(*p + 32) : *p;
	out_f[n] = '\0';
	return true;
}

/* extract(field from x) is numeric, date_part('field', x) float8 (Postgres 14+). */
static bool fn_extract(struct xlate *x, struct fargs *a, const char *name, struct ty *t)
{
	static const struct {
		const char *field, *pre, *post;
	} fields[] = {
		{ "year", "YEAR(", ")" },           { "month", "MONTH(", ")" },
		{ "day", "DAYOFMONTH(", ")" },      { "hour", "HOUR(", ")" },
		{ "minute", "MINUTE(", ")" },       { "dow", "(DAYOFWEEK(", ") - 1)" },
		{ "isodow", "(WEEKDAY(", ") + 1)" }, { "doy", "DAYOFYEAR(", ")" },
		{ "week", "WEEK(", ", 3)" },        { "quarter", "QUARTER(", ")" },
		{ "isoyear", "(YEARWEEK(", ", 3) DIV 100)" },
	};
	char field[32];
	if (a->n != 2)
		return no_function(x, name, a);
	if (!field_arg(x, a, name, field, sizeof(field)))
		return false;
	char *v;
	if (!datetime_arg(x, a, 1, name, &v))
		return false;
	*t = ty_of(strcmp(name, "date_part") == 0 ? PG_OID_FLOAT8 : PG_OID_NUMERIC);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (strcmp(fields[i].field, field) == 0)
			return out(x, fields[i].pre) && out(x, v) && out(x, fields[i].post);
	}
	if (strcmp(field, "second") == 0)
		return out(x, "CAST(SECOND(") && out(x, v) && out(x, ") + MICROSECOND(") && out(x, v) &&
		       out(x, ") / 1000000 AS DECIMAL(8,6))");
	if (strcmp(field, "epoch") == 0) {
		const char *src = a->text[1];
		/* UNIX_TIMESTAMP stops in 2038 (MariaDB) and reads the session zone. */
		if (a->ty[1].oid == PG_OID_DATE)
			return out(x, "CAST(TIMESTAMPDIFF(SECOND, '1970-01-01', ") && out(x, src) &&
			       out(x, ") AS DECIMAL(20,0))");
		return out(x, "(CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01', ") && out(x, src) &&
		       out(x, ") AS DECIMAL(26,0)) * 0.000001)");
	}
	return fail(x, "0A000", "%s of field \"%s\" is not supported for legacy tables", name, field);
}

/* date_trunc('unit', x) of a local MySQL DATETIME <v>. */
static bool out_trunc(struct xlate *x, const char *unit, const char *v)
{
	static const struct {
		const char *unit, *format;
	} units[] = {
		{ "second", "%Y-%m-%d %H:%i:%s" }, { "minute", "%Y-%m-%d %H:%i:00" },
		{ "hour", "%Y-%m-%d %H:00:00" },   { "day", "%Y-%m-%d 00:00:00" },
		{ "month", "%Y-%m-01 00:00:00" },  { "year", "%Y-01-01 00:00:00" },
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(units[i].unit, unit) == 0)
			return out(x, "CAST(DATE_FORMAT(") && out(x, v) && out(x, ", ") &&
			       out_strlit(x, units[i].format) && out(x, ") AS DATETIME)");
	}
	if (strcmp(unit, "week") == 0)
		return out(x, "CAST(DATE_SUB(DATE(") && out(x, v) && out(x, "), INTERVAL WEEKDAY(") &&
		       out(x, v) && out(x, ") DAY) AS DATETIME)");
	if (strcmp(unit, "quarter") == 0)
		return out(x, "CAST(DATE_ADD(MAKEDATE(YEAR(") && out(x, v) &&
		       out(x, "), 1), INTERVAL (QUARTER(") && out(x, v) &&
		       out(x, ") - 1) QUARTER) AS DATETIME)");
	return fail(x, "0A000", "date_trunc to \"%s\" is not supported for legacy tables", unit);
}

/*
 * date_trunc of a timestamp is a timestamp; of a timestamptz (and of a date,
 * which Postgres takes as local midnight) it is truncated in the session
 * TimeZone and back to UTC.
 */
static bool fn_date_trunc(struct xlate *x, struct fargs *a, const char *name, struct ty *t)
{
	char unit[32];
	if (a->n != 2)
		return a->n == 3 ? refuse(x, "date_trunc with a time zone") : no_function(x, name, a);
	if (!field_arg(x, a, name, unit, sizeof(unit)))
		return false;
	char *v;
	if (!datetime_arg(x, a, 1, name, &v))
		return false;
	uint32_t in = a->ty[1].oid;
	*t = ty_of(in == PG_OID_TIMESTAMP ? PG_OID_TIMESTAMP : PG_OID_TIMESTAMPTZ);
	if (in == PG_OID_TIMESTAMP)
		return out_trunc(x, unit, v);
	size_t s0 = x->n;
	char *local;
	return out_trunc(x, unit, v) && cut(x, s0, &local) && out_utc(x, local);
}

/* reverse(text): MySQL's REVERSE is character-wise in utf8mb4, as Postgres'. */
static bool fn_reverse(struct xlate *x, struct fargs *a, const char *name, struct ty *t)
{
	if (a->n != 1 || !args_text(x, a, name))
		return a->n != 1 ? no_function(x, name, a) : false;
	*t = ty_of(PG_OID_TEXT);
	return out_call(x, "REVERSE", a);
}

/* repeat(text, int): both engines answer '' for a count below 1. */
static bool fn_repeat(struct xlate *x, struct fargs *a, const char *name, struct ty *t)
{
	if (a->n != 2 || !arg_as(x, a, 0, PG_OID_TEXT) || !arg_as(x, a, 1, PG_OID_INT4))
		return a->n != 2 ? no_function(x, name, a) : false;
	if (!ty_textual(&a->ty[0]) && !(a->ty[0].flags & TY_NULL))
		return no_function(x, name, a);
	if (!ty_int(&a->ty[1]) && !(a->ty[1].flags & TY_NULL))
		return no_function(x, name, a);
	*t = ty_of(PG_OID_TEXT);
	return out_call(x, "REPEAT", a);
}

typedef bool (*fn_handler)(struct xlate *x, struct fargs *a, const char *name, struct ty *t);

static const struct {
	const char *name;
	fn_handler fn;
} scalar_fns[] = {
	{ "lower", fn_case },         { "upper", fn_case },
	{ "reverse", fn_reverse },    { "repeat", fn_repeat },
	{ "length", fn_length },      { "char_length", fn_length },
	{ "character_length", fn_length }, { "octet_length", fn_length },
	{ "substring", fn_substring }, { "substr", fn_substring },
	{ "btrim", fn_trim },         { "ltrim", fn_trim },
	{ "rtrim", fn_trim },         { "replace", fn_replace },
	{ "position", fn_position },  { "concat", fn_concat },
	{ "concat_ws", fn_concat },   { "left", fn_leftright },
	{ "right", fn_leftright },    { "lpad", fn_pad },
	{ "rpad", fn_pad },           { "abs", fn_abs },
	{ "round", fn_round },        { "trunc", fn_round },
	{ "ceil", fn_ceil_floor },    { "ceiling", fn_ceil_floor },
	{ "floor", fn_ceil_floor },   { "mod", fn_mod },
	{ "power", fn_math },         { "pow", fn_math },
	{ "sqrt", fn_math },          { "exp", fn_math },
	{ "ln", fn_math },            { "log", fn_math },
	{ "log10", fn_math },         { "sign", fn_math },
	{ "now", fn_now },            { "transaction_timestamp", fn_now },
	{ "statement_timestamp", fn_now }, { "clock_timestamp", fn_now },
	{ "extract", fn_extract },    { "date_part", fn_extract },
	{ "date_trunc", fn_date_trunc }, { "md5", fn_md5 },
};

/* strpos(s, sub) is position(sub in s) with the arguments in the same order as pg_catalog.position. */
static fn_handler scalar_fn(const char *name)
{
	if (strcmp(name, "strpos") == 0)
		return fn_position;
	for (size_t i = 0; i < sizeof(scalar_fns) / sizeof(scalar_fns[0]); i++) {
		if (strcmp(scalar_fns[i].name, name) == 0)
			return scalar_fns[i].fn;
	}
	return NULL;
}

/* ---- aggregates and window functions ---- */

static bool is_aggregate(const char *name)
{
	static const char *const aggs[] = { "count", "sum", "avg", "min", "max", "string_agg",
					    "bool_and", "bool_or", "every" };
	for (size_t i = 0; i < sizeof(aggs) / sizeof(aggs[0]); i++) {
		if (strcmp(aggs[i], name) == 0)
			return true;
	}
	return false;
}

/* Postgres' result type of aggregate <name> over <a> (count(*) when a->n == 0). */
static bool agg_type(struct xlate *x, const char *name, struct fargs *a, struct ty *t)
{
	const struct ty *in = a->n ? &a->ty[0] : NULL;
	if (strcmp(name, "count") == 0) {
		*t = ty_of(PG_OID_INT8);
		t->nullable = false;
		return true;
	}
	if (in == NULL)
		return no_function(x, name, a);
	if (strcmp(name, "sum") == 0 || strcmp(name, "avg") == 0) {
		if (!arg_as(x, a, 0, PG_OID_NUMERIC))
			return false;
		if (!ty_number(in))
			return no_function(x, name, a);
		bool sum = strcmp(name, "sum") == 0;
		if (ty_float(in))
			*t = ty_of(sum ? in->oid : PG_OID_FLOAT8);
		else if (sum && (in->oid == PG_OID_INT2 || in->oid == PG_OID_INT4))
			*t = ty_of(PG_OID_INT8);
		else
			*t = ty_of(PG_OID_NUMERIC);
		return true;
	}
	if (strcmp(name, "min") == 0 || strcmp(name, "max") == 0) {
		if (!arg_as(x, a, 0, PG_OID_TEXT))
			return false;
		if (in->oid == PG_OID_BOOL || in->oid == PG_OID_JSON)
			return no_function(x, name, a);
		*t = *in;
		t->col = NULL;
		t->nullable = true;
		t->typmod = -1;
		t->flags &= (uint8_t)~TY_ENUM;
		/* varchar has no min/max of its own: Postgres uses text's. */
		if (t->oid == PG_OID_VARCHAR)
			t->oid = PG_OID_TEXT;
		return true;
	}
	if (strcmp(name, "string_agg") == 0) {
		*t = ty_of(PG_OID_TEXT);
		return true;
	}
	/* bool_and, bool_or, every */
	if (!arg_as(x, a, 0, PG_OID_BOOL))
		return false;
	if (in->oid != PG_OID_BOOL)
		return no_function(x, name, a);
	*t = ty_of(PG_OID_BOOL);
	return true;
}

/* GROUP_CONCAT(x ORDER BY ... SEPARATOR 'sep'): the separator must be a constant in MySQL. */
static bool out_string_agg(struct xlate *x, struct scope *sc, uint32_t f, struct fargs *a,
			   bool distinct, const char *arg)
{
	const struct tree *d = &x->doc;
	if (a->n != 2)
		return no_function(x, "string_agg", a);
	/*
	 * SEPARATOR takes a string literal only: a constant, or a bare $n, whose
	 * slot the proxy fills with one (a NULL separator then fails in MySQL
	 * rather than answering wrongly).
	 */
	bool param = (a->ty[1].flags & TY_PARAM) != 0;
	if (a->ty[1].lit == NULL && !param)
		return refuse(x, "string_agg with a separator that is not a constant");
	if (!args_text(x, a, "string_agg"))
		return false;
	if ((distinct && !out(x, "CONVERT(")) || !out(x, "GROUP_CONCAT(") ||
	    (distinct && !out(x, "DISTINCT ")) || !out(x, arg))
		return false;
	uint32_t order = tree_get(d, f, "agg_order");
	if (order && (!out(x, " ORDER BY ") || !out_sort_list(x, sc, order)))
		return false;
	return out(x, " SEPARATOR ") && (param ? out(x, a->text[1]) : out_strlit(x, a->ty[1].lit)) &&
	       out(x, ")") && (!distinct || out(x, " USING utf8mb4)"));
}

/* The concatenation of the NULL-terminated strings, in the arena (NULL on OOM, failed). */
static char *join(struct xlate *x, const char *first, ...)
{
	va_list ap;
	size_t n = 0;
	va_start(ap, first);
	for (const char *p = first; p; p = va_arg(ap, const char *))
		n += strlen(p);
	va_end(ap);
	char *out_s = tree_arena_alloc(&x->arena, n + 1);
	if (out_s == NULL) {
		oom(x);
		return NULL;
	}
	size_t at = 0;
	va_start(ap, first);
	for (const char *p = first; p; p = va_arg(ap, const char *)) {
		memcpy(out_s + at, p, strlen(p));
		at += strlen(p);
	}
	va_end(ap);
	out_s[at] = '\0';
	return out_s;
}

/* The weight and first digit of a numeric in base 10000, as Postgres stores it. */
static bool numeric_weight(struct xlate *x, const char *v, char **w, char **fd)
{
	char *is = join(x, "CAST(FLOOR(", v, ") AS CHAR)", NULL);
	char *l = is ? join(x, "CHAR_LENGTH(", is, ")", NULL) : NULL;
	char *w1 = l ? join(x, "((", l, " - 1) DIV 4)", NULL) : NULL;
	char *fd1 = w1 ? join(x, "CAST(LEFT(", is, ", ", l, " - 4 * ", w1, ") AS UNSIGNED)", NULL) : NULL;
	char *f = fd1 ? join(x, "SUBSTRING(CAST(CAST(", v, " AS DECIMAL(65,30)) AS CHAR), 3)", NULL) : NULL;
	char *z = f ? join(x, "(CHAR_LENGTH(", f, ") - CHAR_LENGTH(TRIM(LEADING '0' FROM ", f, ")))", NULL)
		    : NULL;
	char *w0 = z ? join(x, "(-(", z, " DIV 4) - 1)", NULL) : NULL;
	char *fd0 = w0 ? join(x, "CAST(RPAD(SUBSTRING(", f, ", 4 * (", z, " DIV 4) + 1, 4), 4, '0') AS UNSIGNED)",
			      NULL) : NULL;
	if (fd0 == NULL)
		return false;
	*w = join(x, "(CASE WHEN ", v, " >= 1 THEN ", w1, " WHEN ", v, " > 0 THEN ", w0, " ELSE 0 END)", NULL);
	*fd = join(x, "(CASE WHEN ", v, " >= 1 THEN ", fd1, " WHEN ", v, " > 0 THEN ", fd0, " ELSE 0 END)",
		   NULL);
	return *w != NULL && *fd != NULL;
}

/*
 * num / den printed with Postgres' numeric scale (select_div_scale: at least
 * 16 significant digits, never fewer decimals than either operand's, <da>
 * and <db>), where MySQL prints the dividend's scale + 4. The digits are
 * computed with 30 decimals and cut to that scale as text; only the select
 * list of the statement's own level uses this (sorting and comparing keep
 * the number). <divisor> is what the division uses (avg guards its count
 * with NULLIF; a plain division keeps MySQL's division-by-zero warning,
 * which the proxy raises as 22012).
 */
static char *div_pg_scale(struct xlate *x, const char *num, const char *den, const char *divisor,
			  int da, int db)
{
	char sc[16];
	snprintf(sc, sizeof(sc), "%d", da > db ? da : db);
	char *vn = join(x, "ABS(", num, ")", NULL);
	char *vd = join(x, "ABS(", den, ")", NULL);
	char *ws, *fds, *wn, *fdn;
	if (vn == NULL || vd == NULL || !numeric_weight(x, vn, &ws, &fds) ||
	    !numeric_weight(x, vd, &wn, &fdn))
		return NULL;
	char *q = join(x, "(", ws, " - ", wn, " - IF(", fds, " <= ", fdn, ", 1, 0))", NULL);
	char *r = q ? join(x, "LEAST(GREATEST(16 - 4 * ", q, ", ", sc, "), 30)", NULL) : NULL;
	char *t = r ? join(x, "CAST(ROUND(CAST(", num, " AS DECIMAL(65,30)) / ", divisor, ", ", r,
			   ") AS CHAR)", NULL) : NULL;
	return t ? join(x, "TRIM(TRAILING '.' FROM SUBSTRING(", t, ", 1, LOCATE('.', ", t, ") + ", r, "))",
			NULL) : NULL;
}

/* avg(integer or numeric) as Postgres prints it: sum / count with div_pg_scale's rule. */
static char *avg_pg_scale(struct xlate *x, const char *arg, bool distinct, int scale)
{
	const char *dis = distinct ? "DISTINCT " : "";
	char *sum = join(x, "SUM(", dis, arg, ")", NULL);
	char *cnt = join(x, "COUNT(", dis, arg, ")", NULL);
	char *guarded = cnt ? join(x, "NULLIF(", cnt, ", 0)", NULL) : NULL;
	return guarded && sum ? div_pg_scale(x, sum, cnt, guarded, scale, 0) : NULL;
}

/*
 * An aggregate call. FILTER (WHERE c) becomes CASE WHEN c THEN arg END
 * inside it. Text min/max and DISTINCT work on bytes and convert back.
 */
static bool out_aggregate(struct xlate *x, struct scope *sc, uint32_t f, const char *name,
			  struct fargs *a, const char *filter, struct ty *t)
{
	const struct tree *d = &x->doc;
	bool star = tree_true(d, tree_get(d, f, "agg_star"));
	bool distinct = tree_true(d, tree_get(d, f, "agg_distinct"));
	if (!agg_type(x, name, a, t))
		return false;
	char *arg = NULL;
	if (a->n) {
		bool bytes = ty_textual(&a->ty[0]) &&
			     (distinct || strcmp(name, "min") == 0 || strcmp(name, "max") == 0);
		size_t s0 = x->n;
		if (filter && (!out(x, "CASE WHEN ") || !out(x, filter) || !out(x, " THEN ")))
			return false;
		if (bytes ? !out_binary(x, a->text[0], &a->ty[0]) : !out(x, a->text[0]))
			return false;
		if ((filter && !out(x, " END")) || !cut(x, s0, &arg))
			return false;
	} else if (!star) {
		return no_function(x, name, a);
	}
	if (strcmp(name, "string_agg") == 0)
		return out_string_agg(x, sc, f, a, distinct, arg);
	if (a->n > 1)
		return no_function(x, name, a);
	bool ubig = a->ty[0].col != NULL && a->ty[0].col->my_type == MY_T_BIGINT &&
		    a->ty[0].oid == PG_OID_NUMERIC; /* BIGINT UNSIGNED: scale 0 */
	if (x->want_display && strcmp(name, "avg") == 0 && t->oid == PG_OID_NUMERIC &&
	    (ty_int(&a->ty[0]) || ubig || (a->ty[0].oid == PG_OID_NUMERIC && a->ty[0].typmod >= 4))) {
		int scale = ty_int(&a->ty[0]) || ubig ? 0 : (int)((a->ty[0].typmod - 4) & 0xffff);
		x->display = avg_pg_scale(x, arg, distinct, scale);
		if (x->display == NULL)
			return false;
	}
	bool back = a->n && ty_textual(&a->ty[0]) && (strcmp(name, "min") == 0 || strcmp(name, "max") == 0);
	const char *my = strcmp(name, "bool_and") == 0 || strcmp(name, "every") == 0 ? "MIN"
			 : strcmp(name, "bool_or") == 0 ? "MAX" : name;
	char upper[16];
	size_t n = 0;
	for (; my[n] && n + 1 < sizeof(upper); n++)
		upper[n] = (my[n] >= 'a' && my[n] <= 'z') ? (char)(my[n] - 32) : my[n];
	upper[n] = '\0';
	if ((back && !out(x, "CONVERT(")) || !out(x, upper) || !out(x, "(") ||
	    (distinct && !out(x, "DISTINCT ")))
		return false;
	if (star ? !out(x, filter ? "CASE WHEN " : "*") : !out(x, arg))
		return false;
	if (star && filter && (!out(x, filter) || !out(x, " THEN 1 END")))
		return false;
	return out(x, ")") && (!back || out(x, " USING utf8mb4)"));
}

static bool emit_aggregate(struct xlate *x, struct scope *sc, uint32_t f, const char *name,
			   struct ty *t)
{
	const struct tree *d = &x->doc;
	if (sc->in_agg)
		return fail(x, "42803", "aggregate function calls cannot be nested");
	sc->in_agg = true;
	struct fargs a;
	char *filter = NULL;
	uint32_t fl = tree_get(d, f, "agg_filter");
	bool want = x->want_display; /* for this call, not for one in its arguments */
	x->want_display = false;
	bool ok = emit_args(x, sc, tree_get(d, f, "args"), &a) &&
		  (fl == 0 || bool_operand(x, sc, fl, "FILTER", &filter));
	x->want_display = want;
	if (ok && tree_get(d, f, "agg_order") && strcmp(name, "string_agg") != 0) {
		/* Order does not change count/sum/avg/min/max/bool_*; it is checked, then dropped. */
		size_t s0 = x->n;
		ok = out_sort_list(x, sc, tree_get(d, f, "agg_order"));
		x->n = s0;
		x->buf[s0] = '\0';
	}
	ok = ok && out_aggregate(x, sc, f, name, &a, filter, t);
	sc->in_agg = false;
	sc->has_agg = true;
	return ok;
}

static bool window_type(struct xlate *x, const char *name, struct fargs *a, struct ty *t)
{
	if (strcmp(name, "row_number") == 0 || strcmp(name, "rank") == 0 ||
	    strcmp(name, "dense_rank") == 0) {
		*t = ty_of(PG_OID_INT8);
		return a->n == 0 || no_function(x, name, a);
	}
	if (strcmp(name, "percent_rank") == 0 || strcmp(name, "cume_dist") == 0) {
		*t = ty_of(PG_OID_FLOAT8);
		return a->n == 0 || no_function(x, name, a);
	}
	if (strcmp(name, "ntile") == 0) {
		*t = ty_of(PG_OID_INT4);
		return (a->n == 1 && args_int(x, a, 0, name)) || (!x->failed && no_function(x, name, a));
	}
	if (strcmp(name, "lag") == 0 || strcmp(name, "lead") == 0 ||
	    strcmp(name, "first_value") == 0 || strcmp(name, "last_value") == 0) {
		size_t max = strcmp(name, "lag") == 0 || strcmp(name, "lead") == 0 ? 3 : 1;
		if (a->n < 1 || a->n > max)
			return no_function(x, name, a);
		if (!arg_as(x, a, 0, PG_OID_TEXT) || (a->n > 1 && !arg_as(x, a, 1, PG_OID_INT4)))
			return false;
		if (a->n > 1 && !ty_int(&a->ty[1]))
			return no_function(x, name, a);
		if (a->n == 3)
			return refuse(x, "lag/lead with a default value (MariaDB has no third argument)");
		*t = a->ty[0];
		t->col = NULL;
		t->nullable = true;
		t->typmod = -1;
		return true;
	}
	return fail(x, "42883", "function %s does not exist", name);
}

/* Window frame options (Postgres' FRAMEOPTION_* bits). */
enum {
	FO_NONDEFAULT = 0x1, FO_RANGE = 0x2, FO_ROWS = 0x4, FO_GROUPS = 0x8, FO_BETWEEN = 0x10,
	FO_START_UNBOUNDED_PRECEDING = 0x20, FO_END_UNBOUNDED_FOLLOWING = 0x100,
	FO_START_CURRENT_ROW = 0x200, FO_END_CURRENT_ROW = 0x400,
	FO_START_OFFSET_PRECEDING = 0x800, FO_END_OFFSET_PRECEDING = 0x1000,
	FO_START_OFFSET_FOLLOWING = 0x2000, FO_END_OFFSET_FOLLOWING = 0x4000,
	FO_EXCLUDE = 0x8000 | 0x10000 | 0x20000,
};

/* One frame bound: UNBOUNDED/CURRENT ROW/n PRECEDING|FOLLOWING (n a constant). */
static bool frame_bound(struct xlate *x, uint32_t over, int64_t fo, bool start, char *buf, size_t cap)
{
	const struct tree *d = &x->doc;
	int64_t unb = start ? FO_START_UNBOUNDED_PRECEDING : FO_END_UNBOUNDED_FOLLOWING;
	int64_t cur = start ? FO_START_CURRENT_ROW : FO_END_CURRENT_ROW;
	int64_t pre = start ? FO_START_OFFSET_PRECEDING : FO_END_OFFSET_PRECEDING;
	int64_t fol = start ? FO_START_OFFSET_FOLLOWING : FO_END_OFFSET_FOLLOWING;
	if (fo & unb)
		return snprintf(buf, cap, "UNBOUNDED %s", start ? "PRECEDING" : "FOLLOWING") > 0;
	if (fo & cur)
		return snprintf(buf, cap, "CURRENT ROW") > 0;
	if (!(fo & (pre | fol)))
		return refuse(x, "this window frame");
	uint32_t off = start ? tree_get(d, over, "startOffset") : tree_get(d, over, "endOffset"), f, tl;
	uint32_t iv = NODE_IS(node_type(x, off, &f, &tl), tl, "A_Const") ? tree_get(d, f, "ival") : 0;
	if (iv == 0 || (fo & FO_RANGE))
		return refuse(x, "a window frame offset that is not a constant row count");
	int64_t n = tree_int(d, tree_get(d, iv, "ival"));
	return snprintf(buf, cap, "%lld %s", (long long)n, fo & pre ? "PRECEDING" : "FOLLOWING") > 0;
}

/* Postgres' default frame is MySQL's too; ROWS and RANGE frames are written out. */
static bool window_frame(struct xlate *x, uint32_t over, const char **frame)
{
	int64_t fo = tree_int(&x->doc, tree_get(&x->doc, over, "frameOptions"));
	*frame = "";
	if (!(fo & FO_NONDEFAULT))
		return true;
	if (fo & (FO_GROUPS | FO_EXCLUDE))
		return refuse(x, "a GROUPS or EXCLUDE window frame");
	char a[48], b[48];
	if (!frame_bound(x, over, fo, true, a, sizeof(a)))
		return false;
	const char *kind = fo & FO_ROWS ? " ROWS " : " RANGE ";
	if (!(fo & FO_BETWEEN))
		return (*frame = join(x, kind, a, NULL)) != NULL;
	if (!frame_bound(x, over, fo, false, b, sizeof(b)))
		return false;
	return (*frame = join(x, kind, "BETWEEN ", a, " AND ", b, NULL)) != NULL;
}

/* fn(...) OVER (PARTITION BY ... ORDER BY ... [frame]). */
static bool emit_window(struct xlate *x, struct scope *sc, uint32_t f, const char *name, struct ty *t)
{
	const struct tree *d = &x->doc;
	uint32_t over = tree_get(d, f, "over");
	if (tree_get(d, over, "refname"))
		return refuse(x, "a window that refers to a named window");
	if (tree_get(d, over, "name")) {
		/* OVER w: the definition of the level's WINDOW clause, written in place. */
		const char *wn = xstr(x, tree_get(d, over, "name"));
		uint32_t def = 0;
		for (uint32_t e = tree_first(d, sc->windows); e && def == 0; e = tree_next(d, sc->windows, e)) {
			uint32_t wf, wtl;
			node_type(x, e, &wf, &wtl);
			const char *n = tree_get(d, wf, "name") ? xstr(x, tree_get(d, wf, "name")) : NULL;
			if (n != NULL && wn != NULL && strcmp(n, wn) == 0)
				def = wf;
		}
		if (def == 0)
			return fail(x, "42704", "window \"%s\" does not exist", wn ? wn : "");
		over = def;
	}
	const char *frame;
	if (!window_frame(x, over, &frame))
		return false;
	bool want = x->want_display; /* a whole select-list avg() OVER: Postgres' scale */
	x->want_display = false;
	bool distinct = tree_get(d, f, "agg_distinct") != 0;
	uint32_t filtered = tree_get(d, f, "agg_filter");
	struct fargs a;
	if (is_aggregate(name)) {
		if (sc->in_agg)
			return fail(x, "42803", "aggregate function calls cannot be nested");
		char *filter = NULL;
		uint32_t fl = tree_get(d, f, "agg_filter");
		if (!emit_args(x, sc, tree_get(d, f, "args"), &a) ||
		    (fl && !bool_operand(x, sc, fl, "FILTER", &filter)))
			return false;
		if (strcmp(name, "string_agg") == 0)
			return refuse(x, "string_agg as a window function");
		if (!out_aggregate(x, sc, f, name, &a, filter, t))
			return false;
	} else {
		if (!emit_args(x, sc, tree_get(d, f, "args"), &a) || !window_type(x, name, &a, t))
			return false;
		char upper[32];
		size_t n = 0;
		for (; name[n] && n + 1 < sizeof(upper); n++)
			upper[n] = (name[n] >= 'a' && name[n] <= 'z') ? (char)(name[n] - 32) : name[n];
		upper[n] = '\0';
		if (!out_call(x, upper, &a))
			return false;
	}
	size_t s_over = x->n;
	if (!out(x, " OVER ("))
		return false;
	uint32_t part = tree_get(d, over, "partitionClause");
	bool first = true;
	for (uint32_t e = tree_first(d, part); e; e = tree_next(d, part, e)) {
		struct ty pt;
		char *ptext;
		if (!operand(x, sc, e, &pt, &ptext))
			return false;
		close_type(x, &pt);
		if (!out(x, first ? "PARTITION BY " : ", ") ||
		    (ty_textual(&pt) ? !out_binary(x, ptext, &pt) : !out(x, ptext)))
			return false;
		first = false;
	}
	uint32_t order = tree_get(d, over, "orderClause");
	if (order && (!out(x, first ? "ORDER BY " : " ORDER BY ") || !out_sort_list(x, sc, order)))
		return false;
	if (!out(x, frame) || !out(x, ")"))
		return false;
	if (want && strcmp(name, "avg") == 0 && !distinct && filtered == 0 && a.n == 1 &&
	    t->oid == PG_OID_NUMERIC &&
	    (ty_int(&a.ty[0]) || (a.ty[0].oid == PG_OID_NUMERIC && a.ty[0].typmod >= 4))) {
		int scale = ty_int(&a.ty[0]) ? 0 : (int)((a.ty[0].typmod - 4) & 0xffff);
		char *ov = tree_arena_strndup(&x->arena, x->buf + s_over, x->n - s_over);
		if (ov == NULL)
			return oom(x);
		char *sum = join(x, "SUM(", a.text[0], ")", ov, NULL);
		char *cnt = join(x, "COUNT(", a.text[0], ")", ov, NULL);
		char *guarded = cnt ? join(x, "NULLIF(", cnt, ", 0)", NULL) : NULL;
		if (sum == NULL || guarded == NULL ||
		    (x->display = div_pg_scale(x, sum, cnt, guarded, scale, 0)) == NULL)
			return false;
	}
	return true;
}

/*
 * Postgres built-ins that are not translated: refused as such (0A000), not
 * reported as missing (42883), which is what any other name gets.
 */
static bool pg_builtin(const char *name)
{
	static const char *const names[] = {
		"to_char", "to_date", "to_timestamp", "to_number", "age", "generate_series",
		"regexp_replace", "regexp_match", "regexp_matches", "regexp_split_to_array",
		"regexp_split_to_table", "split_part", "initcap", "repeat", "reverse", "translate",
		"array_agg", "json_agg", "jsonb_agg", "json_build_object", "jsonb_build_object",
		"json_object_agg", "jsonb_object_agg", "to_json", "to_jsonb", "row_to_json",
		"json_extract_path", "json_extract_path_text", "jsonb_extract_path_text",
		"json_array_length", "jsonb_array_length", "random", "setseed", "nextval", "currval",
		"format", "quote_ident", "quote_literal", "quote_nullable", "encode", "decode",
		"string_to_array", "array_to_string", "unnest", "array_length", "cardinality",
		"make_date", "make_timestamp", "make_timestamptz", "make_interval", "justify_days",
		"justify_hours", "justify_interval", "date_bin", "timezone", "chr", "ascii",
		"starts_with", "width_bucket", "cbrt", "degrees", "radians", "pi", "gcd", "lcm",
		"factorial", "div", "scale", "min_scale", "trim_scale", "sin", "cos", "tan", "asin",
		"acos", "atan", "atan2", "log2", "isfinite", "overlay", "bit_length", "sha256",
		"gen_random_uuid", "uuid_generate_v4", "pg_typeof", "current_setting", "version",
		"percentile_cont", "percentile_disc", "mode", "stddev", "stddev_pop",
		"stddev_samp", "variance", "var_pop", "var_samp", "corr", "covar_pop", "covar_samp",
		"bit_and", "bit_or", "nth_value", "num_nonnulls", "num_nulls",
		"timeofday", "to_hex",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(names[i], name) == 0)
			return true;
	}
	return false;
}

static bool handle_funccall(struct xlate *x, struct scope *sc, uint32_t f, struct ty *t)
{
	const struct tree *d = &x->doc;
	size_t nn;
	uint32_t fname = tree_get(d, f, "funcname");
	const char *name = last_name(x, fname, &nn);
	if (name == NULL)
		return false;
	if (nn > 2 || (nn == 2 && strcmp(string_node(x, list_at(x, fname, 0)), "pg_catalog") != 0))
		return fail(x, "0A000", "the function %s.%s is not supported for legacy tables",
			    string_node(x, list_at(x, fname, 0)), name);
	if (tree_true(d, tree_get(d, f, "agg_within_group")) || tree_true(d, tree_get(d, f, "func_variadic")))
		return refuse(x, "WITHIN GROUP / VARIADIC");
	if (tree_get(d, f, "over"))
		return emit_window(x, sc, f, name, t);
	if (is_aggregate(name))
		return emit_aggregate(x, sc, f, name, t);
	if (tree_true(d, tree_get(d, f, "agg_star")) || tree_true(d, tree_get(d, f, "agg_distinct")) ||
	    tree_get(d, f, "agg_order") || tree_get(d, f, "agg_filter"))
		return fail(x, "42809", "%s is not an aggregate function", name);
	struct fargs a;
	bool want = x->want_display; /* for this call (round/ceil of a float), not its arguments */
	x->want_display = false;
	if (!emit_args(x, sc, tree_get(d, f, "args"), &a))
		return false;
	x->want_display = want;
	fn_handler fn = scalar_fn(name);
	if (fn == NULL) {
		static const char *const window_only[] = { "row_number", "rank", "dense_rank", "lag",
							   "lead", "ntile", "first_value", "last_value",
							   "percent_rank", "cume_dist" };
		for (size_t i = 0; i < sizeof(window_only) / sizeof(window_only[0]); i++) {
			if (strcmp(window_only[i], name) == 0)
				return fail(x, "42809", "window function %s requires an OVER clause", name);
		}
		/*
		 * x AT TIME ZONE 'zone' parses as timezone('zone', x): a named zone's
		 * rules live in the proxy's zone files, not here (see the report on
		 * per-row offsets).
		 */
		if (strcmp(name, "timezone") == 0)
			return refuse(x, "AT TIME ZONE");
		if (pg_builtin(name))
			return fail(x, "0A000", "function %s is not supported for legacy tables", name);
		return no_function(x, name, &a);
	}
	bool ok = fn(x, &a, name, t);
	x->want_display = false;
	return ok;
}

/* ---- subqueries, special values ---- */

/* Options of one query level's translation. */
struct select_opts {
	const char *const *colnames; /* output names forced by an alias list, or NULL */
	size_t ncolnames;
	bool binary_text;           /* text outputs as bytes (IN (SELECT ...), set operations) */
	bool top;                   /* the statement's own level */
};

static bool emit_select(struct xlate *x, struct scope *parent, uint32_t sel,
			const struct select_opts *o, struct olist *cols);

static bool handle_sublink(struct xlate *x, struct scope *sc, uint32_t f, struct ty *t)
{
	const struct tree *d = &x->doc;
	uint32_t kind = tree_get(d, f, "subLinkType"), sub = tree_get(d, f, "subselect");
	struct olist cols = { 0 };
	struct select_opts o = { 0 };
	if (tree_str_is(d, kind, "EXISTS_SUBLINK")) {
		*t = ty_of(PG_OID_BOOL);
		t->nullable = false;
		return out(x, "EXISTS (") && emit_select(x, sc, sub, &o, &cols) && out(x, ")");
	}
	if (tree_str_is(d, kind, "EXPR_SUBLINK")) {
		if (!out(x, "(") || !emit_select(x, sc, sub, &o, &cols))
			return false;
		if (cols.n != 1)
			return fail(x, "42601", "subquery must return only one column");
		*t = cols.v[0].ty;
		t->col = NULL;
		t->nullable = true;
		return out(x, ")");
	}
	bool any = tree_str_is(d, kind, "ANY_SUBLINK"), all = tree_str_is(d, kind, "ALL_SUBLINK");
	if (!any && !all)
		return refuse(x, "this kind of subquery");
	const char *op = tree_get(d, f, "operName") ? last_name(x, tree_get(d, f, "operName"), NULL) : "=";
	if (op == NULL)
		return false;
	bool in = any && strcmp(op, "=") == 0;
	bool notin = all && (strcmp(op, "<>") == 0 || strcmp(op, "!=") == 0);
	/* Other comparisons: MySQL's op ANY/ALL (subquery) has the standard's semantics too. */
	const char *my_op = in || notin ? NULL : cmp_op(op);
	if (!in && !notin && my_op == NULL)
		return fail(x, "0A000", "%s %s (subquery) is not supported for legacy tables", op,
			    any ? "ANY" : "ALL");
	struct ty l;
	char *lt;
	if (!operand(x, sc, tree_get(d, f, "testexpr"), &l, &lt))
		return false;
	/* The subquery's column decides an open left side; text compares as bytes on both sides. */
	size_t s0 = x->n;
	o.binary_text = true;
	/* MySQL and MariaDB refuse LIMIT inside IN (subquery): a derived table takes it. */
	uint32_t sf, stl;
	node_type(x, sub, &sf, &stl);
	bool limited = tree_get(d, sf, "limitCount") || tree_get(d, sf, "limitOffset");
	if ((limited && !out(x, "SELECT * FROM (")) || !emit_select(x, sc, sub, &o, &cols) ||
	    (limited && !out(x, ") AS `_s`")))
		return false;
	if (cols.n != 1)
		return fail(x, "42601", "subquery has too %s columns", cols.n > 1 ? "many" : "few");
	char *subtext;
	if (!cut(x, s0, &subtext) || !settle(x, &lt, &l, &cols.v[0].ty) ||
	    !comparable(x, "=", &l, &cols.v[0].ty))
		return false;
	*t = ty_of(PG_OID_BOOL);
	bool text = ty_textual(&l);
	if (my_op != NULL)
		return out(x, "(") && (text ? out_binary(x, lt, &l) : out(x, lt)) &&
		       outf(x, " %s %s (", my_op, any ? "ANY" : "ALL") && out(x, subtext) && out(x, "))");
	return out(x, "(") && (text ? out_binary(x, lt, &l) : out(x, lt)) &&
	       out(x, notin ? " NOT IN (" : " IN (") && out(x, subtext) && out(x, "))");
}

static bool handle_svf(struct xlate *x, uint32_t f, struct ty *t)
{
	const struct tree *d = &x->doc;
	uint32_t op = tree_get(d, f, "op");
	if (tree_str_is(d, op, "SVFOP_CURRENT_DATE")) {
		*t = ty_of(PG_OID_DATE);
		t->nullable = false;
		return out(x, "DATE(DATE_ADD(UTC_TIMESTAMP(6), INTERVAL ") && out_tz(x) &&
		       out(x, " SECOND))");
	}
	if (tree_str_is(d, op, "SVFOP_CURRENT_TIMESTAMP") ||
	    tree_str_is(d, op, "SVFOP_CURRENT_TIMESTAMP_N")) {
		*t = ty_of(PG_OID_TIMESTAMPTZ);
		t->nullable = false;
		return out(x, "NOW(6)");
	}
	if (tree_str_is(d, op, "SVFOP_LOCALTIMESTAMP") || tree_str_is(d, op, "SVFOP_LOCALTIMESTAMP_N")) {
		*t = ty_of(PG_OID_TIMESTAMP);
		t->nullable = false;
		return out(x, "DATE_ADD(UTC_TIMESTAMP(6), INTERVAL ") && out_tz(x) && out(x, " SECOND)");
	}
	return refuse(x, "this SQL value function");
}

/* COLLATE "C" (or POSIX) is what every text operation does here already. */
static bool handle_collate(struct xlate *x, struct scope *sc, uint32_t f, struct ty *t)
{
	const char *coll = last_name(x, tree_get(&x->doc, f, "collname"), NULL);
	if (coll == NULL)
		return false;
	if (strcmp(coll, "C") != 0 && strcmp(coll, "POSIX") != 0 && strcmp(coll, "default") != 0 &&
	    strcmp(coll, "ucs_basic") != 0)
		return fail(x, "0A000", "COLLATE \"%s\" is not supported for legacy tables", coll);
	return emit_expr(x, sc, tree_get(&x->doc, f, "arg"), t);
}

static bool dispatch_expr(struct xlate *x, struct scope *sc, uint32_t node, struct ty *t)
{
	uint32_t f, tl;
	const char *type = node_type(x, node, &f, &tl);
	if (type == NULL)
		return fail(x, "XX000", "unexpected parse tree");
	if (NODE_IS(type, tl, "ColumnRef"))
		return handle_columnref(x, sc, f, t);
	if (NODE_IS(type, tl, "A_Const"))
		return handle_const(x, f, t);
	if (NODE_IS(type, tl, "ParamRef"))
		return handle_param(x, f, t);
	if (NODE_IS(type, tl, "A_Expr"))
		return handle_aexpr(x, sc, f, t);
	if (NODE_IS(type, tl, "BoolExpr"))
		return handle_boolexpr(x, sc, f, t);
	if (NODE_IS(type, tl, "NullTest"))
		return handle_nulltest(x, sc, f, t);
	if (NODE_IS(type, tl, "BooleanTest"))
		return handle_booltest(x, sc, f, t);
	if (NODE_IS(type, tl, "CaseExpr"))
		return handle_case(x, sc, f, t);
	if (NODE_IS(type, tl, "CoalesceExpr"))
		return handle_coalesce(x, sc, f, t);
	if (NODE_IS(type, tl, "MinMaxExpr"))
		return handle_minmax(x, sc, f, t);
	if (NODE_IS(type, tl, "TypeCast"))
		return handle_typecast(x, sc, f, t);
	if (NODE_IS(type, tl, "FuncCall"))
		return handle_funccall(x, sc, f, t);
	if (NODE_IS(type, tl, "SubLink"))
		return handle_sublink(x, sc, f, t);
	if (NODE_IS(type, tl, "SQLValueFunction"))
		return handle_svf(x, f, t);
	if (NODE_IS(type, tl, "CollateClause"))
		return handle_collate(x, sc, f, t);
	char what[80];
	snprintf(what, sizeof(what), "the expression %.*s", (int)(tl > 60 ? 60 : tl), type);
	return refuse(x, what);
}

/*
 * Every expression passes here: the depth guard, and the grouping rule's
 * exception: columns inside an expression that is itself a GROUP BY item
 * are grouped.
 */
static bool emit_expr(struct xlate *x, struct scope *sc, uint32_t node, struct ty *t)
{
	if (x->failed)
		return false;
	if (++x->depth > MAX_DEPTH) {
		x->depth--;
		return fail(x, "54001", "statement is too deeply nested for legacy tables");
	}
	*t = ty_of(0);
	size_t start = x->n, ug = sc->nug;
	unsigned here = x->depth;
	bool ok = dispatch_expr(x, sc, node, t);
	x->depth--;
	/*
	 * An interval held as days and microseconds (TY_IVENC) is printed right
	 * but neither compares, sorts nor computes as Postgres' interval: only a
	 * whole select-list item or an operand of interval ± interval literal
	 * may be one.
	 */
	if (ok && (t->flags & TY_IVENC) && x->ivenc_at != here)
		return refuse(x, "an interval result inside a larger expression");
	if (ok && sc->nug > ug) {
		for (size_t i = 0; i < sc->ngroups; i++) {
			const char *g = sc->groups[i].text;
			if (strlen(g) == x->n - start && memcmp(g, x->buf + start, x->n - start) == 0) {
				for (size_t k = ug; k < sc->nug; k++)
					sc->ug[k].ok = true;
				break;
			}
		}
	}
	return ok;
}

/* ---- output names (Postgres' FigureColname) ---- */

/* Returns the strength Postgres gives the name: 0 none ("?column?"), 1 weak, 2 strong. */
static int figure_colname(struct xlate *x, uint32_t node, const char **name)
{
	const struct tree *d = &x->doc;
	uint32_t f, tl;
	const char *type = node_type(x, node, &f, &tl);
	if (NODE_IS(type, tl, "ColumnRef")) {
		uint32_t fields = tree_get(d, f, "fields");
		uint32_t last = list_at(x, fields, list_len(x, fields) - 1);
		uint32_t lf, ltl;
		if (!NODE_IS(node_type(x, last, &lf, &ltl), ltl, "String"))
			return 0;
		*name = string_node(x, last);
		return *name ? 2 : 0;
	}
	if (NODE_IS(type, tl, "FuncCall")) {
		*name = last_name(x, tree_get(d, f, "funcname"), NULL);
		return *name ? 2 : 0;
	}
	if (NODE_IS(type, tl, "TypeCast")) {
		int s = figure_colname(x, tree_get(d, f, "arg"), name);
		if (s <= 1) {
			const char *tn = last_name(x, tree_get(d, tree_get(d, f, "typeName"), "names"), NULL);
			if (tn != NULL) {
				*name = tn;
				return 1;
			}
		}
		return s;
	}
	if (NODE_IS(type, tl, "CollateClause"))
		return figure_colname(x, tree_get(d, f, "arg"), name);
	if (NODE_IS(type, tl, "A_Expr") && tree_str_is(d, tree_get(d, f, "kind"), "AEXPR_NULLIF")) {
		*name = "nullif";
		return 2;
	}
	if (NODE_IS(type, tl, "CaseExpr")) {
		*name = "case";
		return 1;
	}
	if (NODE_IS(type, tl, "CoalesceExpr")) {
		*name = "coalesce";
		return 2;
	}
	if (NODE_IS(type, tl, "MinMaxExpr")) {
		*name = tree_str_is(d, tree_get(d, f, "op"), "IS_GREATEST") ? "greatest" : "least";
		return 2;
	}
	if (NODE_IS(type, tl, "SubLink")) {
		uint32_t k = tree_get(d, f, "subLinkType");
		if (tree_str_is(d, k, "EXISTS_SUBLINK")) {
			*name = "exists";
			return 2;
		}
		if (tree_str_is(d, k, "EXPR_SUBLINK")) {
			/* The subquery's single column's name (resolved by the caller from its olist). */
			return 0;
		}
		return 0;
	}
	if (NODE_IS(type, tl, "SQLValueFunction")) {
		uint32_t op = tree_get(d, f, "op");
		*name = tree_str_is(d, op, "SVFOP_CURRENT_DATE") ? "current_date"
			: tree_str_is(d, op, "SVFOP_LOCALTIMESTAMP") || tree_str_is(d, op, "SVFOP_LOCALTIMESTAMP_N")
				? "localtimestamp" : "current_timestamp";
		return 2;
	}
	return 0;
}

/* ---- FROM ---- */

static bool olist_add(struct xlate *x, struct olist *l, const struct ocol *c)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct ocol *v = xalloc(x, cap * sizeof(*v));
		if (v == NULL)
			return false;
		if (l->n)
			memcpy(v, l->v, l->n * sizeof(*v));
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *c;
	return true;
}

/* Alias column names ("AS t(a, b)") as an array. */
static bool alias_colnames(struct xlate *x, uint32_t alias, const char ***names, size_t *n)
{
	uint32_t list = tree_get(&x->doc, alias, "colnames");
	*n = list_len(x, list);
	*names = NULL;
	if (*n == 0)
		return true;
	const char **v = xalloc(x, *n * sizeof(*v));
	if (v == NULL)
		return false;
	for (size_t i = 0; i < *n; i++) {
		if ((v[i] = string_node(x, list_at(x, list, i))) == NULL)
			return false;
	}
	*names = v;
	return true;
}

static bool add_range(struct xlate *x, struct scope *sc, struct range *r)
{
	for (size_t i = 0; i < sc->nranges; i++) {
		if (strcmp(sc->ranges[i].name, r->name) == 0)
			return fail(x, "42712", "table name \"%s\" specified more than once", r->name);
	}
	return scope_add(x, sc, r);
}

static const struct cte *find_cte(const struct scope *sc, const char *name)
{
	for (const struct scope *s = sc; s; s = s->parent) {
		for (const struct cte *c = s->ctes; c; c = c->next) {
			if (strcmp(c->name, name) == 0)
				return c;
		}
	}
	return NULL;
}

static bool table_range(struct xlate *x, const struct legacy_table *t, struct range *r)
{
	r->table = t;
	r->ncols = t->ncols;
	r->cols = xalloc(x, (t->ncols + 1) * sizeof(struct rcol));
	if (r->cols == NULL)
		return false;
	for (size_t i = 0; i < t->ncols; i++) {
		const struct legacy_column *c = &t->cols[i];
		struct rcol *rc = &r->cols[i];
		rc->name = c->pg_name;
		rc->my_name = c->my_name;
		rc->ty = ty_of(c->pg_type);
		rc->ty.typmod = c->pg_typmod;
		rc->ty.col = c;
		rc->ty.nullable = c->nullable;
		if (c->my_type == MY_T_ENUM || c->my_type == MY_T_SET)
			rc->ty.flags = TY_ENUM;
	}
	return true;
}

static bool rename_cols(struct xlate *x, struct range *r, const char **names, size_t n)
{
	if (n > r->ncols)
		return fail(x, "42P10", "table \"%s\" has %zu columns available but %zu columns specified",
			    r->name, r->ncols, n);
	for (size_t i = 0; i < n; i++)
		r->cols[i].name = names[i];
	return true;
}

static bool handle_rangevar(struct xlate *x, struct scope *sc, uint32_t f)
{
	const struct tree *d = &x->doc;
	uint32_t sn = tree_get(d, f, "schemaname"), alias = tree_get(d, f, "alias");
	if (tree_get(d, f, "catalogname"))
		return refuse(x, "a catalog-qualified table name");
	const char *schema = sn ? xstr(x, sn) : NULL, *rel = xstr(x, tree_get(d, f, "relname"));
	const char *aname = alias ? xstr(x, tree_get(d, alias, "aliasname")) : NULL;
	if (rel == NULL || (sn && schema == NULL) || (alias && aname == NULL))
		return false;
	struct range r = { .name = aname ? aname : rel };
	const struct cte *c = schema ? NULL : find_cte(sc, rel);
	if (c != NULL) {
		r.qual = r.name;
		r.ncols = c->ncols;
		r.cols = xalloc(x, (c->ncols + 1) * sizeof(struct rcol));
		if (r.cols == NULL)
			return false;
		memcpy(r.cols, c->cols, c->ncols * sizeof(struct rcol));
		if (!out_ident(x, c->name) || (aname && (!out(x, " AS ") || !out_ident(x, aname))))
			return false;
	} else {
		const struct legacy_table *t = NULL;
		if (schema == NULL || strcmp(schema, catalog_pg_schema(x->cat)) == 0)
			t = catalog_table(x->cat, rel);
		if (t == NULL)
			return schema ? fail(x, "42P01", "relation \"%s.%s\" does not exist", schema, rel)
				      : fail(x, "42P01", "relation \"%s\" does not exist", rel);
		if (!table_range(x, t, &r))
			return false;
		r.qual = aname ? aname : t->my_name;
		if (!out_ident(x, catalog_my_database(x->cat)) || !out(x, ".") ||
		    !out_ident(x, t->my_name) || (aname && (!out(x, " AS ") || !out_ident(x, aname))))
			return false;
	}
	const char **names;
	size_t n;
	return alias_colnames(x, alias, &names, &n) && rename_cols(x, &r, names, n) &&
	       add_range(x, sc, &r);
}

/* The columns of a subquery's output as a range's. */
static bool olist_cols(struct xlate *x, const struct olist *l, struct rcol **cols, size_t *n)
{
	*n = l->n;
	*cols = xalloc(x, (l->n + 1) * sizeof(struct rcol));
	if (*cols == NULL)
		return false;
	for (size_t i = 0; i < l->n; i++) {
		(*cols)[i].name = l->v[i].name;
		(*cols)[i].my_name = l->v[i].alias;
		(*cols)[i].ty = l->v[i].ty;
	}
	return true;
}

static bool handle_rangesubselect(struct xlate *x, struct scope *sc, uint32_t f)
{
	const struct tree *d = &x->doc;
	if (tree_true(d, tree_get(d, f, "lateral")))
		return refuse(x, "LATERAL");
	uint32_t alias = tree_get(d, f, "alias");
	if (alias == 0)
		return fail(x, "42601", "subquery in FROM must have an alias");
	const char *aname = xstr(x, tree_get(d, alias, "aliasname"));
	const char **names;
	size_t n;
	if (aname == NULL || !alias_colnames(x, alias, &names, &n))
		return false;
	/* Not LATERAL: the subquery sees outer levels and CTEs, not its FROM siblings. */
	struct scope outer = { .parent = sc->parent, .ctes = sc->ctes };
	struct select_opts o = { .colnames = names, .ncolnames = n };
	struct olist cols = { 0 };
	struct range r = { .name = aname, .qual = aname };
	if (!out(x, "(") || !emit_select(x, &outer, tree_get(d, f, "subquery"), &o, &cols) ||
	    !out(x, ") AS ") || !out_ident(x, aname) || !olist_cols(x, &cols, &r.cols, &r.ncols))
		return false;
	return add_range(x, sc, &r);
}

static bool emit_from_item(struct xlate *x, struct scope *sc, uint32_t node);

static void mark_nullable(struct scope *sc, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		for (size_t k = 0; k < sc->ranges[i].ncols; k++)
			sc->ranges[i].cols[k].ty.nullable = true;
	}
}

/* The one range in [from, to) with column <name>. */
static bool side_col(struct xlate *x, struct scope *sc, size_t from, size_t to, const char *name,
		     const char *side, size_t *ri)
{
	size_t found = 0, ci;
	for (size_t i = from; i < to; i++) {
		if (range_col(&sc->ranges[i], name, &ci) != NULL && !merged_hides(sc, i, name)) {
			*ri = i;
			found++;
		}
		if (merged_hides(sc, i, name) && merged_of(sc, name)->use == i) {
			*ri = i;
			found++;
		}
	}
	if (found == 0)
		return fail(x, "42703", "column \"%s\" specified in USING clause does not exist in %s table",
			    name, side);
	if (found > 1)
		return fail(x, "42702", "common column name \"%s\" appears more than once in %s table",
			    name, side);
	return true;
}

/* JOIN ... USING (a, b): ON l.a = r.a AND ..., compared as Postgres does; the names merge. */
static bool emit_using(struct xlate *x, struct scope *sc, const char **names, size_t n, size_t r0,
		       size_t r1, size_t r2, bool right)
{
	if (!out(x, " ON ("))
		return false;
	for (size_t i = 0; i < n; i++) {
		size_t li, ri, lc, rc;
		if (!side_col(x, sc, r0, r1, names[i], "left", &li) ||
		    !side_col(x, sc, r1, r2, names[i], "right", &ri))
			return false;
		const struct rcol *l = range_col(&sc->ranges[li], names[i], &lc);
		const struct rcol *r = range_col(&sc->ranges[ri], names[i], &rc);
		char *lt, *rt;
		size_t s0 = x->n;
		if (!emit_col(x, &sc->ranges[li], l) || !cut(x, s0, &lt) ||
		    !emit_col(x, &sc->ranges[ri], r) || !cut(x, s0, &rt))
			return false;
		if ((i && !out(x, " AND ")) || !out_compare(x, "=", lt, &l->ty, rt, &r->ty))
			return false;
		if (!scope_merge(x, sc, names[i], right ? ri : li, right ? li : ri))
			return false;
	}
	return out(x, ")");
}

/* NATURAL JOIN: USING the names both sides have. */
static bool natural_names(struct xlate *x, struct scope *sc, size_t r0, size_t r1, size_t r2,
			  const char ***names, size_t *n)
{
	size_t cap = 0;
	for (size_t i = r0; i < r1; i++)
		cap += sc->ranges[i].ncols;
	*names = xalloc(x, (cap + 1) * sizeof(char *));
	*n = 0;
	if (*names == NULL)
		return false;
	for (size_t i = r0; i < r1; i++) {
		for (size_t k = 0; k < sc->ranges[i].ncols; k++) {
			const char *nm = sc->ranges[i].cols[k].name;
			size_t ci;
			bool right = false, dup = false;
			for (size_t j = r1; j < r2 && !right; j++)
				right = range_col(&sc->ranges[j], nm, &ci) != NULL;
			for (size_t j = 0; j < *n && !dup; j++)
				dup = strcmp((*names)[j], nm) == 0;
			if (right && !dup)
				(*names)[(*n)++] = nm;
		}
	}
	return true;
}

static bool handle_join(struct xlate *x, struct scope *sc, uint32_t f)
{
	const struct tree *d = &x->doc;
	uint32_t jt = tree_get(d, f, "jointype"), quals = tree_get(d, f, "quals");
	uint32_t usingl = tree_get(d, f, "usingClause");
	bool natural = tree_true(d, tree_get(d, f, "isNatural"));
	if (tree_get(d, f, "alias") || tree_get(d, f, "join_using_alias"))
		return refuse(x, "an alias on a JOIN");
	bool left = tree_str_is(d, jt, "JOIN_LEFT"), right = tree_str_is(d, jt, "JOIN_RIGHT");
	if (tree_str_is(d, jt, "JOIN_FULL"))
		return refuse(x, "FULL JOIN");
	if (!left && !right && !tree_str_is(d, jt, "JOIN_INNER"))
		return refuse(x, "this kind of JOIN");
	size_t r0 = sc->nranges;
	if (!emit_from_item(x, sc, tree_get(d, f, "larg")))
		return false;
	size_t r1 = sc->nranges;
	bool cross = !quals && !usingl && !natural;
	if (!out(x, left ? " LEFT JOIN " : right ? " RIGHT JOIN " : cross ? " CROSS JOIN " : " JOIN "))
		return false;
	uint32_t rf, tl;
	bool nested = NODE_IS(node_type(x, tree_get(d, f, "rarg"), &rf, &tl), tl, "JoinExpr");
	if ((nested && !out(x, "(")) || !emit_from_item(x, sc, tree_get(d, f, "rarg")) ||
	    (nested && !out(x, ")")))
		return false;
	size_t r2 = sc->nranges;
	if (left)
		mark_nullable(sc, r1, r2);
	if (right)
		mark_nullable(sc, r0, r1);
	if (quals) {
		char *qt;
		return bool_operand(x, sc, quals, "JOIN/ON", &qt) && out(x, " ON ") && out(x, qt);
	}
	const char **names = NULL;
	size_t n = 0;
	if (natural) {
		if (!natural_names(x, sc, r0, r1, r2, &names, &n))
			return false;
		if (n == 0)
			return (left || right) ? out(x, " ON TRUE") : true;
		return emit_using(x, sc, names, n, r0, r1, r2, right);
	}
	if (usingl) {
		n = list_len(x, usingl);
		names = xalloc(x, (n + 1) * sizeof(char *));
		if (names == NULL)
			return false;
		for (size_t i = 0; i < n; i++) {
			if ((names[i] = string_node(x, list_at(x, usingl, i))) == NULL)
				return false;
		}
		return emit_using(x, sc, names, n, r0, r1, r2, right);
	}
	return true;
}

static bool emit_from_item(struct xlate *x, struct scope *sc, uint32_t node)
{
	uint32_t f, tl;
	const char *type = node_type(x, node, &f, &tl);
	if (NODE_IS(type, tl, "RangeVar"))
		return handle_rangevar(x, sc, f);
	if (NODE_IS(type, tl, "JoinExpr"))
		return handle_join(x, sc, f);
	if (NODE_IS(type, tl, "RangeSubselect"))
		return handle_rangesubselect(x, sc, f);
	if (NODE_IS(type, tl, "RangeFunction"))
		return refuse(x, "a function in FROM");
	return refuse(x, "this FROM item");
}

/* ---- the select list ---- */

/* avg(...) itself (not inside an expression, not a window function). */
/* CASE, GREATEST, LEAST: a numeric result prints each value's own scale (numeric_each_display). */
static bool is_bare_case_minmax(struct xlate *x, uint32_t node)
{
	uint32_t f, tl;
	const char *type = node_type(x, node, &f, &tl);
	return NODE_IS(type, tl, "CaseExpr") || NODE_IS(type, tl, "MinMaxExpr");
}

/* round/trunc/ceil/ceiling(x): a float argument's -0 needs a display (out_signed_zero). */
static bool is_bare_rounding(struct xlate *x, uint32_t node)
{
	uint32_t f, tl;
	if (!NODE_IS(node_type(x, node, &f, &tl), tl, "FuncCall") || tree_get(&x->doc, f, "over"))
		return false;
	const char *name = last_name(x, tree_get(&x->doc, f, "funcname"), NULL);
	return name != NULL && (strcmp(name, "round") == 0 || strcmp(name, "trunc") == 0 ||
				strcmp(name, "ceil") == 0 || strcmp(name, "ceiling") == 0);
}

static bool is_bare_avg(struct xlate *x, uint32_t node)
{
	uint32_t f, tl;
	if (!NODE_IS(node_type(x, node, &f, &tl), tl, "FuncCall"))
		return false;
	const char *name = last_name(x, tree_get(&x->doc, f, "funcname"), NULL);
	return name != NULL && strcmp(name, "avg") == 0;
}

/* a / b itself, at the top of a select-list item. */
static bool is_bare_division(struct xlate *x, uint32_t node)
{
	uint32_t f, tl;
	if (!NODE_IS(node_type(x, node, &f, &tl), tl, "A_Expr") ||
	    !tree_str_is(&x->doc, tree_get(&x->doc, f, "kind"), "AEXPR_OP") ||
	    tree_get(&x->doc, f, "lexpr") == 0)
		return false;
	const char *op = last_name(x, tree_get(&x->doc, f, "name"), NULL);
	return op != NULL && strcmp(op, "/") == 0;
}

/* Writes one output column: `expr AS alias`, the alias being what outer levels use. */
static bool out_target(struct xlate *x, struct scope *sc, const struct select_opts *o,
		       struct olist *cols, bool distinct, const char *text, struct ocol *c)
{
	size_t idx = cols->n;
	if (o->colnames != NULL && idx < o->ncolnames)
		c->name = o->colnames[idx];
	c->alias = c->name;
	/*
	 * Postgres lets a subquery, CTE or set operation branch have two columns
	 * of one name (SELECT 1, 2 UNION ...); MySQL's derived tables do not, so
	 * the MySQL alias of a repeated name gets a suffix (outer levels refer to
	 * columns by their MySQL alias anyway).
	 */
	for (size_t k = 0; !o->top && k < idx; k++) {
		if (strcasecmp(cols->v[k].alias, c->alias) != 0)
			continue;
		char *a = xalloc(x, strlen(c->name) + 16);
		if (a == NULL)
			return false;
		snprintf(a, strlen(c->name) + 16, "%s~%zu", c->name, idx + 1);
		c->alias = a;
		break;
	}
	c->text = text;
	if ((idx && !out(x, ", ")))
		return false;
	bool bytes = (o->binary_text || distinct) && ty_textual(&c->ty) && !(c->ty.flags & TY_BINARY);
	c->start = x->n;
	if (bytes) {
		if (!out_binary(x, text, &c->ty))
			return false;
		c->ty.flags |= TY_BINARY;
	} else if (!out(x, c->display ? c->display : text)) {
		return false;
	}
	c->end = x->n;
	/* A plain column already carries the name MySQL should give it. */
	bool plain = c->range != SIZE_MAX && !bytes &&
		     !col_widened(&sc->ranges[c->range], &sc->ranges[c->range].cols[c->col]) &&
		     strcmp(sc->ranges[c->range].cols[c->col].my_name, c->alias) == 0;
	if (!plain && (!out(x, " AS ") || !out_ident(x, c->alias)))
		return false;
	return olist_add(x, cols, c);
}

/* `*` or `t.*`: every column, USING-merged ones once and first. */
static bool expand_star(struct xlate *x, struct scope *sc, const struct select_opts *o,
			struct olist *cols, bool distinct, const char *qual)
{
	if (sc->nranges == 0)
		return fail(x, "42601", "SELECT * with no tables specified is not valid");
	bool found = qual == NULL;
	for (size_t pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < sc->nranges; i++) {
			const struct range *r = &sc->ranges[i];
			if (qual != NULL && strcmp(r->name, qual) != 0)
				continue;
			found = true;
			for (size_t k = 0; k < r->ncols; k++) {
				const struct merged *m = qual ? NULL : merged_of(sc, r->cols[k].name);
				bool merged_here = m != NULL && m->use == i;
				if (qual == NULL && ((pass == 0) != merged_here))
					continue;
				if (qual == NULL && m != NULL && !merged_here)
					continue;
				if (qual != NULL && pass == 1)
					continue;
				if (!col_servable(x, &r->cols[k]))
					return false;
				struct colref ref = { .sc = sc, .range = i, .col = k };
				size_t ug0 = sc->nug;
				note_ungrouped(x, sc, &ref);
				char *text;
				size_t s0 = x->n;
				if (!emit_col(x, r, &r->cols[k]) || !cut(x, s0, &text))
					return false;
				struct ocol c = { .name = r->cols[k].name, .ty = r->cols[k].ty, .range = i,
						  .col = k, .ug_from = ug0, .ug_to = sc->nug };
				if (!out_target(x, sc, o, cols, distinct, text, &c))
					return false;
			}
		}
	}
	if (!found)
		return fail(x, "42P01", "missing FROM-clause entry for table \"%s\"", qual);
	return true;
}

/* The column a plain ColumnRef names in this very scope, if any. */
static bool plain_col(struct xlate *x, struct scope *sc, uint32_t node, size_t *range, size_t *col)
{
	uint32_t f, tl;
	*range = *col = SIZE_MAX;
	if (!NODE_IS(node_type(x, node, &f, &tl), tl, "ColumnRef"))
		return false;
	uint32_t fields = tree_get(&x->doc, f, "fields");
	size_t n = list_len(x, fields);
	if (n < 1 || n > 3)
		return false;
	const char *name = NULL, *qual = NULL;
	uint32_t lf, ltl;
	if (!NODE_IS(node_type(x, list_at(x, fields, n - 1), &lf, &ltl), ltl, "String"))
		return false;
	name = string_node(x, list_at(x, fields, n - 1));
	if (n > 1)
		qual = string_node(x, list_at(x, fields, n - 2));
	if (name == NULL || (n > 1 && qual == NULL))
		return false;
	const struct merged *m = qual ? NULL : merged_of(sc, name);
	for (size_t i = 0; i < sc->nranges; i++) {
		if (qual ? strcmp(sc->ranges[i].name, qual) != 0 : (m != NULL && m->use != i))
			continue;
		size_t ci;
		if (range_col(&sc->ranges[i], name, &ci) != NULL) {
			*range = i;
			*col = ci;
			return true;
		}
	}
	return false;
}

static bool emit_targets(struct xlate *x, struct scope *sc, uint32_t list,
			 const struct select_opts *o, bool distinct, struct olist *cols)
{
	const struct tree *d = &x->doc;
	for (uint32_t e = tree_first(d, list); e; e = tree_next(d, list, e)) {
		uint32_t f, tl;
		node_type(x, e, &f, &tl);
		uint32_t val = tree_get(d, f, "val"), vf, vtl;
		uint32_t rn = tree_get(d, f, "name");
		if (NODE_IS(node_type(x, val, &vf, &vtl), vtl, "ColumnRef")) {
			uint32_t fields = tree_get(d, vf, "fields");
			size_t nf = list_len(x, fields);
			uint32_t lf, ltl;
			if (NODE_IS(node_type(x, list_at(x, fields, nf - 1), &lf, &ltl), ltl, "A_Star")) {
				const char *qual = nf >= 2 ? string_node(x, list_at(x, fields, nf - 2)) : NULL;
				if ((nf >= 2 && qual == NULL) || !expand_star(x, sc, o, cols, distinct, qual))
					return false;
				continue;
			}
		}
		struct ocol c = { .node = val, .ug_from = sc->nug };
		char *text;
		x->want_display = o->top && (is_bare_avg(x, val) || is_bare_division(x, val) ||
					     is_bare_rounding(x, val) || is_bare_case_minmax(x, val));
		x->display = NULL;
		x->display_conv = 0;
		x->want_cast_display = o->top && NODE_IS(node_type(x, val, &vf, &vtl), vtl, "TypeCast");
		unsigned iv0 = x->ivenc_at;
		x->ivenc_at = x->depth + 1;
		bool ok = operand(x, sc, val, &c.ty, &text);
		x->ivenc_at = iv0;
		x->want_display = false;
		x->want_cast_display = false;
		if (!ok)
			return false;
		if ((c.ty.flags & TY_IVENC) && distinct)
			return refuse(x, "DISTINCT over an interval result");
		c.display = x->display;
		c.display_conv = x->display_conv;
		c.ug_to = sc->nug;
		close_type(x, &c.ty);
		plain_col(x, sc, val, &c.range, &c.col);
		if (x->failed)
			return false;
		if (rn != 0) {
			c.name = xstr(x, rn);
		} else if (figure_colname(x, val, &c.name) == 0) {
			c.name = "?column?";
			uint32_t sf, stl;
			if (NODE_IS(node_type(x, val, &sf, &stl), stl, "SubLink") &&
			    tree_str_is(d, tree_get(d, sf, "subLinkType"), "EXPR_SUBLINK")) {
				/* The name of the subquery's own column: look at its target list. */
				uint32_t sub = tree_get(d, sf, "subselect"), ssf, sstl;
				node_type(x, sub, &ssf, &sstl);
				uint32_t t0 = tree_first(d, tree_get(d, ssf, "targetList")), tf, ttl;
				node_type(x, t0, &tf, &ttl);
				if (tree_get(d, tf, "name"))
					c.name = xstr(x, tree_get(d, tf, "name"));
				else if (figure_colname(x, tree_get(d, tf, "val"), &c.name) == 0)
					c.name = "?column?";
			}
		}
		if (c.name == NULL || !out_target(x, sc, o, cols, distinct, text, &c))
			return false;
	}
	return true;
}

/* ---- GROUP BY, ORDER BY, LIMIT ---- */

static bool add_group(struct xlate *x, struct scope *sc, const struct group_item *g)
{
	if (sc->ngroups == sc->gcap) {
		size_t cap = sc->gcap ? sc->gcap * 2 : 8;
		struct group_item *v = xalloc(x, cap * sizeof(*v));
		if (v == NULL)
			return false;
		if (sc->ngroups)
			memcpy(v, sc->groups, sc->ngroups * sizeof(*v));
		sc->groups = v;
		sc->gcap = cap;
	}
	sc->groups[sc->ngroups++] = *g;
	return true;
}

/* A GROUP BY/ORDER BY item that is an integer constant: its position, else 0. */
static long position_of(struct xlate *x, uint32_t node)
{
	uint32_t f, tl;
	if (!NODE_IS(node_type(x, node, &f, &tl), tl, "A_Const"))
		return 0;
	uint32_t iv = tree_get(&x->doc, f, "ival");
	if (iv == 0)
		return 0;
	if (tree_get(&x->doc, iv, "ival") == 0)
		return -1; /* 0 or negative: never a position */
	return (long)tree_int(&x->doc, tree_get(&x->doc, iv, "ival"));
}

/* A bare name (one-field ColumnRef), else NULL. */
static const char *bare_name(struct xlate *x, uint32_t node)
{
	uint32_t f, tl, lf, ltl;
	if (!NODE_IS(node_type(x, node, &f, &tl), tl, "ColumnRef"))
		return NULL;
	uint32_t fields = tree_get(&x->doc, f, "fields");
	if (list_len(x, fields) != 1 ||
	    !NODE_IS(node_type(x, tree_first(&x->doc, fields), &lf, &ltl), ltl, "String"))
		return NULL;
	return string_node(x, tree_first(&x->doc, fields));
}

static bool name_is_input(struct scope *sc, const char *name)
{
	if (merged_of(sc, name) != NULL)
		return true;
	for (size_t i = 0; i < sc->nranges; i++) {
		size_t ci;
		if (range_col(&sc->ranges[i], name, &ci) != NULL)
			return true;
	}
	return false;
}

/* GROUP BY items that are expressions of the input; positions and output names wait (deferred). */
static bool collect_groups(struct xlate *x, struct scope *sc, uint32_t list, uint32_t *deferred,
			   size_t *ndeferred)
{
	const struct tree *d = &x->doc;
	*ndeferred = 0;
	for (uint32_t e = tree_first(d, list); e; e = tree_next(d, list, e)) {
		uint32_t f, tl;
		const char *type = node_type(x, e, &f, &tl);
		if (NODE_IS(type, tl, "GroupingSet"))
			return refuse(x, "GROUPING SETS, ROLLUP and CUBE");
		const char *bare = bare_name(x, e);
		if (position_of(x, e) != 0 || (bare != NULL && !name_is_input(sc, bare))) {
			deferred[(*ndeferred)++] = e;
			continue;
		}
		struct group_item g;
		struct ty t;
		char *text;
		sc->in_agg = true; /* its columns are grouped by definition */
		bool ok = operand(x, sc, e, &t, &text);
		sc->in_agg = false;
		if (!ok)
			return false;
		if (t.flags & TY_AGG)
			return fail(x, "42803", "aggregate functions are not allowed in GROUP BY");
		close_type(x, &t);
		if (t.oid == PG_OID_JSON)
			return fail(x, "42883", "could not identify an equality operator for type json");
		g.text = text;
		g.textual = ty_textual(&t);
		plain_col(x, sc, e, &g.range, &g.col);
		if (!add_group(x, sc, &g))
			return false;
	}
	return true;
}

/* GROUP BY 2 / GROUP BY alias: the output column's expression. */
static bool resolve_deferred_groups(struct xlate *x, struct scope *sc, const uint32_t *deferred,
				    size_t n, struct olist *cols)
{
	for (size_t i = 0; i < n; i++) {
		long pos = position_of(x, deferred[i]);
		const struct ocol *c = NULL;
		if (pos != 0) {
			if (pos < 1 || (size_t)pos > cols->n)
				return fail(x, "42P10", "GROUP BY position %ld is not in select list", pos);
			c = &cols->v[pos - 1];
		} else {
			const char *name = bare_name(x, deferred[i]);
			for (size_t k = 0; name && k < cols->n && c == NULL; k++) {
				if (strcmp(cols->v[k].name, name) == 0)
					c = &cols->v[k];
			}
			if (c == NULL)
				return fail(x, "42703", "column \"%s\" does not exist", name ? name : "?");
		}
		for (size_t k = c->ug_from; k < c->ug_to; k++)
			sc->ug[k].ok = true;
		struct group_item g = { .text = c->text, .range = c->range, .col = c->col,
					.textual = ty_textual(&c->ty) };
		if (!add_group(x, sc, &g))
			return false;
	}
	return true;
}

/* Text groups byte-wise: the plain item keeps MySQL's grouping check happy, the bytes split 'a'/'A'. */
static bool out_group_by(struct xlate *x, struct scope *sc, const struct olist *cols)
{
	(void)cols;
	if (sc->ngroups == 0)
		return true;
	if (!out(x, " GROUP BY "))
		return false;
	for (size_t i = 0; i < sc->ngroups; i++) {
		const struct group_item *g = &sc->groups[i];
		if ((i && !out(x, ", ")) || !out(x, g->text))
			return false;
		if (g->textual && (!out(x, ", CAST(") || !out(x, g->text) || !out(x, " AS BINARY)")))
			return false;
	}
	return true;
}

/* What total_order needs to know about one level's ORDER BY. */
struct order_cover {
	bool *outputs;  /* output column i is a key */
	bool *cols;     /* plain column (range, col) is a key: index range * 256 + col, bounded */
	size_t ncols;
};

static void cover_col(struct order_cover *oc, size_t range, size_t col)
{
	if (range != SIZE_MAX && oc->cols != NULL && range * 256 + col < oc->ncols && col < 256)
		oc->cols[range * 256 + col] = true;
}

/* One ORDER BY item of a plain SELECT: Postgres looks at output names and positions first. */
static bool out_order_item(struct xlate *x, struct scope *sc, uint32_t sortby, const struct olist *cols,
			   bool distinct, struct order_cover *oc)
{
	const struct tree *d = &x->doc;
	uint32_t node = tree_get(d, sortby, "node");
	long pos = position_of(x, node);
	const char *bare = pos == 0 ? bare_name(x, node) : NULL;
	const struct ocol *c = NULL;
	if (pos != 0) {
		if (pos < 1 || (size_t)pos > cols->n)
			return fail(x, "42P10", "ORDER BY position %ld is not in select list", pos);
		c = &cols->v[pos - 1];
	}
	for (size_t k = 0; bare && k < cols->n && c == NULL; k++) {
		if (strcmp(cols->v[k].name, bare) == 0)
			c = &cols->v[k];
	}
	struct ty t;
	char *text;
	if (c == NULL) {
		if (!operand(x, sc, node, &t, &text))
			return false;
		close_type(x, &t);
		for (size_t k = 0; k < cols->n && c == NULL; k++) {
			if (strcmp(cols->v[k].text, text) == 0)
				c = &cols->v[k];
		}
		if (c == NULL && distinct)
			return fail(x, "42P10", "for SELECT DISTINCT, ORDER BY expressions must appear in select list");
		size_t r, col;
		if (plain_col(x, sc, node, &r, &col))
			cover_col(oc, r, col);
	}
	if (c != NULL) {
		t = c->ty;
		if (t.flags & TY_IVENC)
			return refuse(x, "ORDER BY an interval result");
		oc->outputs[c - cols->v] = true;
		cover_col(oc, c->range, c->col);
		if (distinct) {
			size_t s0 = x->n;
			if (!out_ident(x, c->alias) || !cut(x, s0, &text))
				return false;
		} else {
			text = (char *)c->text;
			t.flags &= (uint8_t)~TY_BINARY;
		}
	}
	return out_sort_key(x, text, &t, sortby);
}

static bool total_order_of(const struct scope *sc, const struct olist *cols,
			   const struct order_cover *oc)
{
	bool all = cols->n > 0;
	for (size_t i = 0; i < cols->n; i++)
		all = all && oc->outputs[i];
	if (all)
		return true;
	if (sc->nranges != 1 || sc->ranges[0].table == NULL || sc->ranges[0].table->npkey == 0)
		return false;
	const struct legacy_table *t = sc->ranges[0].table;
	for (size_t k = 0; k < t->npkey; k++) {
		if (t->pkey[k] >= 256 || !oc->cols[t->pkey[k]])
			return false;
	}
	return true;
}

static bool out_order_by(struct xlate *x, struct scope *sc, uint32_t list, const struct olist *cols,
			 bool distinct, bool *total)
{
	const struct tree *d = &x->doc;
	*total = false;
	if (list == 0)
		return true;
	struct order_cover oc = { .ncols = (sc->nranges ? sc->nranges : 1) * 256 };
	oc.outputs = xalloc(x, (cols->n + 1) * sizeof(bool));
	oc.cols = xalloc(x, oc.ncols * sizeof(bool));
	if (oc.outputs == NULL || oc.cols == NULL || !out(x, " ORDER BY "))
		return false;
	bool first = true;
	for (uint32_t e = tree_first(d, list); e; e = tree_next(d, list, e)) {
		uint32_t f, tl;
		node_type(x, e, &f, &tl);
		if ((!first && !out(x, ", ")) || !out_order_item(x, sc, f, cols, distinct, &oc))
			return false;
		first = false;
	}
	*total = total_order_of(sc, cols, &oc);
	return true;
}

/* A LIMIT/OFFSET value: a constant, NULL (none) or a parameter (int8). */
static bool limit_value(struct xlate *x, uint32_t node, const char *what, char **text)
{
	*text = NULL;
	if (node == 0)
		return true;
	uint32_t f, tl;
	const char *type = node_type(x, node, &f, &tl);
	struct ty t;
	size_t s0 = x->n;
	if (NODE_IS(type, tl, "A_Const")) {
		if (tree_true(&x->doc, tree_get(&x->doc, f, "isnull")))
			return true;
		if (!handle_const(x, f, &t) || !cut(x, s0, text))
			return false;
		if (!ty_number(&t) || strchr(*text, '.') != NULL)
			return refuse(x, "a LIMIT that is not an integer");
		if ((*text)[0] == '-')
			return fail(x, "2201W", "%s must not be negative", what);
		return true;
	}
	if (NODE_IS(type, tl, "ParamRef")) {
		if (!handle_param(x, f, &t))
			return false;
		param_resolve(x, &t, PG_OID_INT8);
		return cut(x, s0, text);
	}
	return fail(x, "0A000", "a %s that is not a constant or a parameter is not supported for legacy tables", what);
}

static bool out_limit(struct xlate *x, uint32_t f)
{
	const struct tree *d = &x->doc;
	if (tree_str_is(d, tree_get(d, f, "limitOption"), "LIMIT_OPTION_WITH_TIES"))
		return refuse(x, "FETCH ... WITH TIES");
	char *count, *offset;
	if (!limit_value(x, tree_get(d, f, "limitCount"), "LIMIT", &count) ||
	    !limit_value(x, tree_get(d, f, "limitOffset"), "OFFSET", &offset))
		return false;
	if (count == NULL && offset == NULL)
		return true;
	x->limited = true;
	/* MySQL has no OFFSET without LIMIT: the largest count stands for "all". */
	if (!out(x, " LIMIT ") || !out(x, count ? count : "18446744073709551615"))
		return false;
	return offset == NULL || (out(x, " OFFSET ") && out(x, offset));
}

/* ---- query levels ---- */

static bool refuse_clauses(struct xlate *x, uint32_t f)
{
	const struct tree *d = &x->doc;
	if (tree_get(d, f, "valuesLists"))
		return refuse(x, "VALUES");
	if (tree_get(d, f, "intoClause"))
		return refuse(x, "SELECT INTO");
	if (tree_get(d, f, "lockingClause"))
		return refuse(x, "FOR UPDATE/SHARE");
	uint32_t wl = tree_get(d, f, "windowClause");
	for (uint32_t e = tree_first(d, wl); e; e = tree_next(d, wl, e)) {
		uint32_t wf, wtl;
		node_type(x, e, &wf, &wtl);
		if (tree_get(d, wf, "refname"))
			return refuse(x, "a WINDOW definition based on another window");
	}
	uint32_t dc = tree_get(d, f, "distinctClause");
	uint32_t first = tree_first(d, dc);
	if (first && (tree_next(d, dc, first) || d->t[first].next != first + 1))
		return refuse(x, "DISTINCT ON");
	return true;
}

static bool emit_simple_select(struct xlate *x, struct scope *sc, uint32_t f,
			       const struct select_opts *o, struct olist *cols, bool *total)
{
	const struct tree *d = &x->doc;
	if (!refuse_clauses(x, f))
		return false;
	sc->windows = tree_get(d, f, "windowClause");
	bool distinct = tree_get(d, f, "distinctClause") != 0;
	/* FROM first: the select list resolves against it; it is moved in front afterwards. */
	size_t p0 = x->n;
	uint32_t from = tree_get(d, f, "fromClause");
	bool first = true;
	for (uint32_t e = tree_first(d, from); e; e = tree_next(d, from, e)) {
		if (!out(x, first ? " FROM " : ", ") || !emit_from_item(x, sc, e))
			return false;
		first = false;
	}
	size_t p1 = x->n;
	uint32_t groups = tree_get(d, f, "groupClause");
	size_t ng = list_len(x, groups), ndeferred;
	uint32_t *deferred = xalloc(x, (ng + 1) * sizeof(uint32_t));
	if (deferred == NULL || !collect_groups(x, sc, groups, deferred, &ndeferred))
		return false;
	sc->track_ug = true;
	if (!out(x, distinct ? "SELECT DISTINCT " : "SELECT ") ||
	    !emit_targets(x, sc, tree_get(d, f, "targetList"), o, distinct, cols) ||
	    !buf_rotate(x, p0, p1, x->n))
		return false;
	sc->track_ug = false;
	uint32_t where = tree_get(d, f, "whereClause");
	char *text;
	if (where) {
		bool agg = sc->has_agg;
		sc->has_agg = false;
		if (!bool_operand(x, sc, where, "WHERE", &text) || !out(x, " WHERE ") || !out(x, text))
			return false;
		if (sc->has_agg)
			return fail(x, "42803", "aggregate functions are not allowed in WHERE");
		sc->has_agg = agg;
	}
	if (!resolve_deferred_groups(x, sc, deferred, ndeferred, cols) || !out_group_by(x, sc, cols))
		return false;
	uint32_t having = tree_get(d, f, "havingClause");
	sc->track_ug = true;
	if (having) {
		if (!bool_operand(x, sc, having, "HAVING", &text) || !out(x, " HAVING ") || !out(x, text))
			return false;
		sc->has_agg = true; /* HAVING makes the level grouped, like an aggregate does */
	}
	return out_order_by(x, sc, tree_get(d, f, "sortClause"), cols, distinct, total) &&
	       out_limit(x, f) && check_grouping(x, sc);
}

/* ORDER BY of a set operation: output columns only (Postgres' rule too). */
static bool out_setop_order(struct xlate *x, uint32_t list, const struct olist *cols, bool *total)
{
	const struct tree *d = &x->doc;
	*total = false;
	if (list == 0)
		return true;
	bool *seen = xalloc(x, (cols->n + 1) * sizeof(bool));
	if (seen == NULL || !out(x, " ORDER BY "))
		return false;
	bool first = true;
	for (uint32_t e = tree_first(d, list); e; e = tree_next(d, list, e)) {
		uint32_t f, tl;
		node_type(x, e, &f, &tl);
		uint32_t node = tree_get(d, f, "node");
		long pos = position_of(x, node);
		const char *bare = pos == 0 ? bare_name(x, node) : NULL;
		const struct ocol *c = NULL;
		if (pos >= 1 && (size_t)pos <= cols->n)
			c = &cols->v[pos - 1];
		for (size_t k = 0; bare && k < cols->n && c == NULL; k++) {
			if (strcmp(cols->v[k].name, bare) == 0)
				c = &cols->v[k];
		}
		if (c == NULL)
			return pos != 0 ? fail(x, "42P10", "ORDER BY position %ld is not in select list", pos)
					: fail(x, "0A000", "invalid UNION/INTERSECT/EXCEPT ORDER BY clause");
		seen[c - cols->v] = true;
		char *text;
		size_t s0 = x->n;
		if (!out_ident(x, c->alias) || !cut(x, s0, &text) || (!first && !out(x, ", ")) ||
		    !out_sort_key(x, text, &c->ty, f))
			return false;
		first = false;
	}
	*total = true;
	for (size_t i = 0; i < cols->n; i++)
		*total = *total && seen[i];
	return true;
}

/* Column i of a set operation: Postgres resolves one type over the branches. */
static bool setop_types(struct xlate *x, struct olist *l, const struct olist *r, const char *op)
{
	if (l->n != r->n)
		return fail(x, "42601", "each %s query must have the same number of columns", op);
	for (size_t i = 0; i < l->n; i++) {
		struct ty *a = &l->v[i].ty;
		const struct ty *b = &r->v[i].ty;
		if ((a->flags | b->flags) & TY_IVENC)
			return refuse(x, "a set operation over an interval result");
		bool al = (a->flags & TY_WASLIT) != 0, bl = (b->flags & TY_WASLIT) != 0;
		if (ty_number(a) && ty_number(b) && a->oid != b->oid) {
			*a = ty_of(ty_promote(a, b));
		} else if (ty_textual(a) && ty_textual(b) && a->oid != b->oid && al != bl &&
			   (al ? b->oid : a->oid) == PG_OID_VARCHAR) {
			/* select_common_type: an unknown literal takes the other branch's type. */
			uint32_t o = al ? b->oid : a->oid;
			uint8_t keep = (uint8_t)(a->flags & TY_BINARY);
			*a = ty_of(o);
			a->flags |= keep;
			a->typmod = -1;
		} else if (ty_textual(a) && ty_textual(b) && a->oid != b->oid) {
			*a = ty_of(PG_OID_TEXT);
		}
		else if (a->oid != b->oid && !(ty_datetime(a) && ty_datetime(b)))
			return fail(x, "42804", "%s types %s and %s cannot be matched", op,
				    ty_pg_name(a->oid), ty_pg_name(b->oid));
		if (a->typmod != b->typmod)
			a->typmod = -1;
		if (!(al && bl))
			a->flags &= (uint8_t)~TY_WASLIT;
		a->flags |= b->flags & TY_BINARY;
		a->nullable = a->nullable || b->nullable;
		a->col = NULL;
		l->v[i].range = SIZE_MAX;
	}
	return true;
}

/*
 * (left) UNION [ALL] (right). Without ALL, text columns go through as bytes
 * so that duplicates are found byte-wise. An ORDER BY or LIMIT wraps the
 * whole in a derived table, whose columns are the output names.
 */
static bool emit_setop(struct xlate *x, struct scope *sc, uint32_t f, const struct select_opts *o,
		       struct olist *cols, bool *total)
{
	const struct tree *d = &x->doc;
	uint32_t op = tree_get(d, f, "op");
	bool all = tree_true(d, tree_get(d, f, "all"));
	const char *kw = tree_str_is(d, op, "SETOP_UNION") ? "UNION"
			 : tree_str_is(d, op, "SETOP_INTERSECT") ? "INTERSECT" : "EXCEPT";
	if (!refuse_clauses(x, f))
		return false;
	uint32_t sort = tree_get(d, f, "sortClause");
	bool wrap = sort || tree_get(d, f, "limitCount") || tree_get(d, f, "limitOffset");
	struct select_opts lo = { .colnames = o->colnames, .ncolnames = o->ncolnames,
				  .binary_text = o->binary_text || !all };
	struct select_opts ro = { .binary_text = lo.binary_text };
	struct olist right = { 0 };
	if ((wrap && !out(x, "SELECT * FROM (")) || !out(x, "(") ||
	    !emit_select(x, sc, tree_get(d, f, "larg"), &lo, cols) || !outf(x, ") %s ", kw) ||
	    (all && !out(x, "ALL ")) || !out(x, "(") ||
	    !emit_select(x, sc, tree_get(d, f, "rarg"), &ro, &right) || !out(x, ")") ||
	    !setop_types(x, cols, &right, kw))
		return false;
	*total = false;
	if (!wrap)
		return true;
	return out(x, ") AS `_u`") && out_setop_order(x, sort, cols, total) && out_limit(x, f);
}

static bool emit_with(struct xlate *x, struct scope *sc, uint32_t with)
{
	const struct tree *d = &x->doc;
	if (tree_true(d, tree_get(d, with, "recursive")))
		return refuse(x, "WITH RECURSIVE");
	uint32_t ctes = tree_get(d, with, "ctes");
	bool first = true;
	for (uint32_t e = tree_first(d, ctes); e; e = tree_next(d, ctes, e)) {
		uint32_t f, tl;
		node_type(x, e, &f, &tl);
		const char *name = xstr(x, tree_get(d, f, "ctename"));
		uint32_t q = tree_get(d, f, "ctequery"), qf, qtl;
		if (name == NULL)
			return false;
		if (!NODE_IS(node_type(x, q, &qf, &qtl), qtl, "SelectStmt"))
			return refuse(x, "a data-modifying WITH");
		uint32_t alist = tree_get(d, f, "aliascolnames");
		size_t n = list_len(x, alist);
		const char **names = xalloc(x, (n + 1) * sizeof(char *));
		if (names == NULL)
			return false;
		for (size_t i = 0; i < n; i++) {
			if ((names[i] = string_node(x, list_at(x, alist, i))) == NULL)
				return false;
		}
		for (const struct cte *c = sc->ctes; c; c = c->next) {
			if (strcmp(c->name, name) == 0)
				return fail(x, "42712", "WITH query name \"%s\" specified more than once", name);
		}
		struct select_opts o = { .colnames = names, .ncolnames = n };
		struct olist cols = { 0 };
		struct cte *c = xalloc(x, sizeof(*c));
		if (c == NULL || !out(x, first ? "WITH " : ", ") || !out_ident(x, name) ||
		    !out(x, " AS (") || !emit_select(x, sc, q, &o, &cols) || !out(x, ")"))
			return false;
		if (n > cols.n)
			return fail(x, "42P10", "WITH query \"%s\" has %zu columns available but %zu columns specified",
				    name, cols.n, n);
		c->name = name;
		if (!olist_cols(x, &cols, &c->cols, &c->ncols))
			return false;
		c->next = sc->ctes;
		sc->ctes = c;
		first = false;
	}
	return out(x, " ");
}

static bool emit_select_total(struct xlate *x, struct scope *parent, uint32_t sel,
			      const struct select_opts *o, struct olist *cols, bool *total)
{
	uint32_t f = sel, tl;
	const char *type = node_type(x, sel, &f, &tl);
	if (type != NULL && !NODE_IS(type, tl, "SelectStmt"))
		return refuse(x, "this kind of subquery");
	if (type == NULL)
		f = sel; /* set operation branches are bare fields objects */
	if (!tree_is(&x->doc, f, TREE_OBJ))
		return fail(x, "XX000", "unexpected parse tree");
	if (++x->depth > MAX_DEPTH) {
		x->depth--;
		return fail(x, "54001", "statement is too deeply nested for legacy tables");
	}
	struct scope sc = { .parent = parent };
	uint32_t with = tree_get(&x->doc, f, "withClause");
	bool ok = (with == 0 || emit_with(x, &sc, with));
	if (ok && !tree_str_is(&x->doc, tree_get(&x->doc, f, "op"), "SETOP_NONE"))
		ok = emit_setop(x, &sc, f, o, cols, total);
	else if (ok)
		ok = emit_simple_select(x, &sc, f, o, cols, total);
	x->depth--;
	return ok;
}

static bool emit_select(struct xlate *x, struct scope *parent, uint32_t sel,
			const struct select_opts *o, struct olist *cols)
{
	bool total;
	return emit_select_total(x, parent, sel, o, cols, &total);
}

/* ---- statements ---- */

/* COPY options: FORMAT text|csv, HEADER, DELIMITER, NULL, QUOTE, ESCAPE, ENCODING 'utf8'. */
static bool copy_option(struct xlate *x, uint32_t f, struct xlate_copy *c)
{
	const struct tree *d = &x->doc;
	const char *name = xstr(x, tree_get(d, f, "defname"));
	uint32_t arg = tree_get(d, f, "arg"), af, atl;
	const char *type = node_type(x, arg, &af, &atl);
	const char *val = NULL;
	char num[24];
	if (NODE_IS(type, atl, "String")) {
		val = string_node(x, arg);
	} else if (NODE_IS(type, atl, "Integer")) {
		snprintf(num, sizeof(num), "%lld", (long long)tree_int(d, tree_get(d, af, "ival")));
		val = num;
	} else if (NODE_IS(type, atl, "Boolean")) {
		val = tree_true(d, tree_get(d, af, "boolval")) ? "true" : "false";
	} else if (arg != 0) {
		return refuse(x, "this COPY option value");
	}
	if (name == NULL || (arg && val == NULL))
		return false;
	if (strcmp(name, "format") == 0) {
		if (val == NULL || (!ieq(val, "text") && !ieq(val, "csv")))
			return fail(x, "0A000", "COPY format \"%s\" is not supported for legacy tables", val ? val : "");
		c->csv = ieq(val, "csv");
		return true;
	}
	if (strcmp(name, "header") == 0) {
		int b = val ? lit_bool(val) : 1;
		if (b < 0)
			return refuse(x, "COPY HEADER MATCH");
		c->header = b == 1;
		return true;
	}
	if (strcmp(name, "delimiter") == 0 || strcmp(name, "quote") == 0 || strcmp(name, "escape") == 0) {
		if (val == NULL || strlen(val) != 1)
			return fail(x, "22023", "COPY %s must be a single one-byte character", name);
		if (name[0] == 'd')
			c->delimiter = val[0];
		else if (name[0] == 'q')
			c->quote = val[0];
		else
			c->escape = val[0];
		return true;
	}
	if (strcmp(name, "null") == 0) {
		c->null_string = val ? val : "";
		return true;
	}
	if (strcmp(name, "encoding") == 0 && val && (ieq(val, "utf8") || ieq(val, "utf-8")))
		return true;
	return fail(x, "0A000", "COPY option %s is not supported for legacy tables", name);
}

static bool copy_options(struct xlate *x, uint32_t list, struct xlate_copy *c)
{
	const struct tree *d = &x->doc;
	memset(c, 0, sizeof(*c));
	for (uint32_t e = tree_first(d, list); e; e = tree_next(d, list, e)) {
		uint32_t f, tl;
		node_type(x, e, &f, &tl);
		if (!copy_option(x, f, c))
			return false;
	}
	if (c->delimiter == 0)
		c->delimiter = c->csv ? ',' : '\t';
	if (c->csv && c->quote == 0)
		c->quote = '"';
	if (c->csv && c->escape == 0)
		c->escape = c->quote;
	if (c->null_string == NULL)
		c->null_string = c->csv ? "" : "\\N";
	return true;
}

/* COPY table [(cols)] TO STDOUT: SELECT cols FROM table. */
static bool emit_copy_relation(struct xlate *x, uint32_t rel, uint32_t attlist, struct olist *cols)
{
	const struct tree *d = &x->doc;
	struct scope sc = { 0 };
	struct select_opts o = { .top = true };
	size_t p0 = x->n;
	if (!out(x, " FROM ") || !handle_rangevar(x, &sc, rel))
		return false;
	size_t p1 = x->n;
	if (!out(x, "SELECT "))
		return false;
	const struct range *r = &sc.ranges[0];
	if (attlist == 0)
		return expand_star(x, &sc, &o, cols, false, NULL) && buf_rotate(x, p0, p1, x->n);
	for (uint32_t e = tree_first(d, attlist); e; e = tree_next(d, attlist, e)) {
		const char *name = string_node(x, e);
		size_t ci;
		if (name == NULL)
			return false;
		const struct rcol *c = range_col(r, name, &ci);
		if (c == NULL)
			return fail(x, "42703", "column \"%s\" of relation \"%s\" does not exist", name, r->name);
		char *text;
		size_t s0 = x->n;
		if (!col_servable(x, c) || !emit_col(x, r, c) || !cut(x, s0, &text))
			return false;
		struct ocol oc = { .name = c->name, .ty = c->ty, .range = 0, .col = ci };
		if (!out_target(x, &sc, &o, cols, false, text, &oc))
			return false;
	}
	return buf_rotate(x, p0, p1, x->n);
}

static bool handle_copy(struct xlate *x, uint32_t f, struct xlate_result *res, struct olist *cols,
			bool *total)
{
	const struct tree *d = &x->doc;
	if (tree_true(d, tree_get(d, f, "is_from")))
		return refuse(x, "COPY FROM");
	if (tree_true(d, tree_get(d, f, "is_program")) || tree_get(d, f, "filename"))
		return refuse(x, "COPY to a file or program");
	if (tree_get(d, f, "whereClause"))
		return refuse(x, "COPY ... WHERE");
	if (!copy_options(x, tree_get(d, f, "options"), &res->copy))
		return false;
	res->wrap = XLATE_W_COPY;
	uint32_t q = tree_get(d, f, "query"), rel = tree_get(d, f, "relation");
	struct select_opts o = { .top = true };
	if (q)
		return emit_select_total(x, NULL, q, &o, cols, total);
	*total = false;
	return rel != 0 ? emit_copy_relation(x, rel, tree_get(d, f, "attlist"), cols)
			: fail(x, "XX000", "unexpected parse tree");
}

/* DECLARE c [NO SCROLL] CURSOR [WITHOUT HOLD] FOR SELECT: the cursor is the proxy's. */
static bool handle_declare(struct xlate *x, uint32_t f, struct xlate_result *res,
			   struct olist *cols, bool *total)
{
	const struct tree *d = &x->doc;
	int64_t opts = tree_int(d, tree_get(d, f, "options"));
	if (opts & 0x01)
		return refuse(x, "DECLARE BINARY");
	if (opts & 0x02)
		return refuse(x, "DECLARE SCROLL");
	if (opts & 0x20)
		return refuse(x, "DECLARE ... WITH HOLD");
	res->wrap = XLATE_W_DECLARE;
	res->cursor_name = xstr(x, tree_get(d, f, "portalname"));
	struct select_opts o = { .top = true };
	return res->cursor_name != NULL &&
	       emit_select_total(x, NULL, tree_get(d, f, "query"), &o, cols, total);
}

static bool handle_stmt(struct xlate *x, struct xlate_result *res, struct olist *cols, bool *total)
{
	const struct tree *d = &x->doc;
	uint32_t stmts = tree_member(d, 0, "stmts", 5);
	uint32_t first = tree_first(d, stmts);
	if (first == 0 || tree_next(d, stmts, first) != 0)
		return fail(x, "42601", "expected exactly one statement");
	uint32_t stmt = tree_get(d, first, "stmt"), f, tl;
	const char *type = node_type(x, stmt, &f, &tl);
	struct select_opts o = { .top = true };
	if (NODE_IS(type, tl, "SelectStmt"))
		return emit_select_total(x, NULL, stmt, &o, cols, total);
	if (NODE_IS(type, tl, "DeclareCursorStmt"))
		return handle_declare(x, f, res, cols, total);
	if (NODE_IS(type, tl, "CopyStmt"))
		return handle_copy(x, f, res, cols, total);
	if (NODE_IS(type, tl, "ExplainStmt"))
		return refuse(x, "EXPLAIN");
	char what[80];
	snprintf(what, sizeof(what), "the statement %.*s", (int)(tl > 60 ? 60 : tl), type ? type : "?");
	return refuse(x, what);
}

/* ---- the interface ---- */

const char *xlate_session_setup(void)
{
	return "SET NAMES utf8mb4, time_zone = '+00:00', "
	       "sql_mode = 'NO_BACKSLASH_ESCAPES,STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,"
	       "NO_ENGINE_SUBSTITUTION,NO_UNSIGNED_SUBTRACTION', "
	       "group_concat_max_len = 1073741824";
}

struct xlate *xlate_new(void)
{
	return calloc(1, sizeof(struct xlate));
}

void xlate_free(struct xlate *x)
{
	if (x == NULL)
		return;
	tree_free(&x->doc);
	tree_arena_free(&x->arena);
	free(x->buf);
	free(x->slots);
	free(x->ptypes);
	free(x);
}

static void reset(struct xlate *x, const struct xlate_input *in)
{
	tree_arena_reset(&x->arena);
	x->n = 0;
	if (x->buf)
		x->buf[0] = '\0';
	x->nslots = 0;
	x->nparams = 0;
	x->in = in;
	x->cat = in->cat;
	x->depth = 0;
	x->limited = false;
	x->failed = false;
	x->oom = false;
	x->sqlstate[0] = '\0';
	x->message[0] = '\0';
	x->detail[0] = '\0';
}

static void refused(struct xlate *x, struct xlate_result *out)
{
	memset(out, 0, sizeof(*out));
	out->status = x->oom ? XLATE_OOM : XLATE_REFUSED;
	memcpy(out->sqlstate, x->sqlstate[0] ? x->sqlstate : "XX000", 6);
	memcpy(out->message, x->message, sizeof(out->message));
	memcpy(out->detail, x->detail, sizeof(out->detail));
	out->sql = "";
}

/* Copies what *out points to into the arena (it outlives the buffers' next growth). */
static bool publish(struct xlate *x, struct xlate_result *out, const struct olist *cols)
{
	/* Parameters Parse declared count even when unused; unresolved ones are text, as Postgres. */
	if (x->in->nparam_types > 0 && !param_note(x, (uint16_t)(x->in->nparam_types - 1)))
		return false;
	for (size_t i = 0; i < x->nparams; i++) {
		if (x->ptypes[i] == 0)
			x->ptypes[i] = PG_OID_TEXT;
	}
	if (!finish_slots(x))
		return false;
	char *sql = tree_arena_strndup(&x->arena, x->buf ? x->buf : "", x->n);
	struct xlate_slot *slots = xalloc(x, (x->nslots + 1) * sizeof(*slots));
	uint32_t *pt = xalloc(x, (x->nparams + 1) * sizeof(*pt));
	struct xlate_col *c = xalloc(x, (cols->n + 1) * sizeof(*c));
	if (sql == NULL || slots == NULL || pt == NULL || c == NULL)
		return oom(x);
	if (x->nslots)
		memcpy(slots, x->slots, x->nslots * sizeof(*slots));
	if (x->nparams)
		memcpy(pt, x->ptypes, x->nparams * sizeof(*pt));
	if (cols->n > UINT16_MAX)
		return fail(x, "54011", "target lists can have at most 1664 entries");
	for (size_t i = 0; i < cols->n; i++) {
		const struct ty *t = &cols->v[i].ty;
		c[i].name = cols->v[i].name;
		c[i].type_oid = t->oid;
		c[i].typmod = t->typmod;
		c[i].conv = cols->v[i].display_conv ? (uint8_t)(cols->v[i].display_conv - 1) : conv_of(t);
	}
	out->status = XLATE_OK;
	out->sql = sql;
	out->sql_len = x->n;
	out->slots = slots;
	out->nslots = x->nslots;
	out->param_types = pt;
	out->nparams = (uint16_t)x->nparams;
	out->cols = c;
	out->ncols = (uint16_t)cols->n;
	return true;
}

void xlate_read(struct xlate *x, const struct xlate_input *in, struct xlate_result *out)
{
	reset(x, in);
	memset(out, 0, sizeof(*out));
	struct tree_error perr = { 0 };
	enum tree_status ts = tree_parse(&x->doc, &x->arena, in->sql, &perr);
	if (ts == TREE_SYNTAX) {
		fail(x, "42601", "%s", perr.message ? perr.message : "syntax error");
	} else if (ts == TREE_OOM) {
		oom(x);
	} else if (ts != TREE_OK) {
		fail(x, "XX000", "the statement could not be read");
	} else {
		struct olist cols = { 0 };
		bool total = false;
		if (handle_stmt(x, out, &cols, &total) && publish(x, out, &cols)) {
			out->total_order = total;
			out->limited = x->limited;
		}
		tree_release(&x->doc);
	}
	if (x->failed)
		refused(x, out);
	tree_trim(&x->doc);
	/* One huge statement must not pin its buffer for the worker's lifetime (the result is in the arena). */
	if (x->cap > KEEP_BUF) {
		free(x->buf);
		x->buf = NULL;
		x->cap = 0;
		x->n = 0;
	}
}

/* ---- the cache blob ---- */

/*
 * Layout, each part 8-byte aligned: the struct, slots, parameter types,
 * columns, then every string (sql, column names, cursor name, COPY NULL
 * string). Pointers are stored as offsets from the blob's start and
 * rebuilt by xlate_unpack.
 */
static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static size_t str_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

size_t xlate_packed_size(const struct xlate_result *r)
{
	size_t n = align8(sizeof(*r));
	n += align8(r->nslots * sizeof(*r->slots));
	n += align8(r->nparams * sizeof(*r->param_types));
	n += align8(r->ncols * sizeof(*r->cols));
	n += align8(r->sql ? r->sql_len + 1 : 1);
	for (size_t i = 0; i < r->ncols; i++)
		n += align8(str_size(r->cols[i].name));
	n += align8(str_size(r->cursor_name)) + align8(str_size(r->copy.null_string));
	return n;
}

/* Copies n bytes to buf + *at, returns their offset (stored in place of a pointer). */
static uintptr_t put(unsigned char *buf, size_t *at, const void *p, size_t n)
{
	uintptr_t off = *at;
	if (n)
		memcpy(buf + *at, p, n);
	*at += align8(n);
	return off;
}

void xlate_pack(const struct xlate_result *r, unsigned char *buf)
{
	struct xlate_result h = *r;
	size_t at = align8(sizeof(h));
	h.slots = (const void *)put(buf, &at, r->slots, r->nslots * sizeof(*r->slots));
	h.param_types = (const void *)put(buf, &at, r->param_types, r->nparams * sizeof(*r->param_types));
	size_t cols_at = at;
	h.cols = (const void *)put(buf, &at, r->cols, r->ncols * sizeof(*r->cols));
	h.sql = (const void *)put(buf, &at, r->sql ? r->sql : "", r->sql ? r->sql_len + 1 : 1);
	for (size_t i = 0; i < r->ncols; i++) {
		struct xlate_col *c = (struct xlate_col *)(buf + cols_at) + i;
		c->name = r->cols[i].name ? (const void *)put(buf, &at, r->cols[i].name, str_size(r->cols[i].name))
					  : NULL;
	}
	h.cursor_name = r->cursor_name ? (const void *)put(buf, &at, r->cursor_name, str_size(r->cursor_name))
				       : NULL;
	h.copy.null_string = r->copy.null_string
				     ? (const void *)put(buf, &at, r->copy.null_string,
							 str_size(r->copy.null_string))
				     : NULL;
	memcpy(buf, &h, sizeof(h));
}

static const void *rebase(const unsigned char *buf, const void *off, bool present)
{
	return present ? buf + (uintptr_t)off : NULL;
}

void xlate_unpack(const unsigned char *buf, struct xlate_result *out)
{
	memcpy(out, buf, sizeof(*out));
	out->slots = rebase(buf, out->slots, true);
	out->param_types = rebase(buf, out->param_types, true);
	out->cols = rebase(buf, out->cols, true);
	out->sql = rebase(buf, out->sql, true);
	struct xlate_col *cols = (struct xlate_col *)(uintptr_t)out->cols;
	for (size_t i = 0; i < out->ncols; i++)
		cols[i].name = rebase(buf, cols[i].name, cols[i].name != NULL);
	out->cursor_name = rebase(buf, out->cursor_name, out->cursor_name != NULL);
	out->copy.null_string = rebase(buf, out->copy.null_string, out->copy.null_string != NULL);
}

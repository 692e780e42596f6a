/*
 * router — what the proxy asks about a statement, and the answer it gets.
 *
 * This is the proxy-facing surface of router/: tree.c (libpg_query's parse,
 * indexed), classify.c (statement facts from it), route.c (policy: facts +
 * legacy set -> decision) and stmt_cache.c (per-worker cache keyed by exact
 * statement text) sit behind it. One struct router per worker thread; it is not thread-safe and needs
 * no locks. It is rebuilt when the configuration is reloaded.
 *
 * Pure: no I/O, no libevent, no sockets.
 */
#ifndef SY_ROUTER_H
#define SY_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum route_target {
	ROUTE_SUPABASE = 0, /* forward unchanged to the upstream Postgres */
	ROUTE_MYSQL,        /* legacy read: translate and run on MySQL */
	ROUTE_REJECT,       /* refuse: answer ErrorResponse, send nothing anywhere */
};

/* Facts about the routed text that the proxy's session logic needs. */
enum route_flags {
	ROUTE_F_TXN_CONTROL = 1u << 0,  /* BEGIN/COMMIT/ROLLBACK/SAVEPOINT/... */
	ROUTE_F_SESSION_STATE = 1u << 1, /* SET/RESET/DISCARD/LISTEN/PREPARE/... */
	ROUTE_F_PREPARE = 1u << 2,      /* SQL-level PREPARE: prepare_name is set */
	ROUTE_F_EXECUTE = 1u << 3,      /* SQL-level EXECUTE: execute_name is set */
	ROUTE_F_DEALLOCATE = 1u << 4,   /* SQL-level DEALLOCATE (name, or NULL = ALL) */
	ROUTE_F_MULTI = 1u << 5,        /* more than one statement in the text */
	ROUTE_F_EMPTY = 1u << 6,        /* no statement at all (only comments/whitespace) */
	ROUTE_F_SET_ONLY = 1u << 7,     /* only SET/RESET statements that a replay can carry
					   to another connection (RESET ALL undoes them) */
	ROUTE_F_CUTOVER = 1u << 8,      /* legacy reads the cutover sends to their Supabase
					   copies (all of them, or with MULTI some pieces) */
	ROUTE_F_ROLE_CHANGE = 1u << 9,  /* changes (or may change: a DO block) the role or
					   session authorization: refused for a client with
					   upstream_role */
};

/* Legacy tables a decision can name in its masks (bit i = table i of the configuration). */
#define ROUTE_MAX_TABLES 64

/*
 * What routing depends on besides the text: the cutover's side for this
 * session and which legacy tables have a Supabase copy. Asked only for
 * texts that read legacy tables. A NULL context: nothing copied, every
 * legacy read on MySQL.
 */
struct route_context {
	/*
	 * Of <tables>, those whose reads go to Supabase for this session now.
	 * Sides a transaction has not fixed yet are fixed by the call.
	 */
	uint64_t (*on_supabase)(void *arg, uint64_t tables);
	uint64_t (*copied)(void *arg); /* tables with a Supabase copy now */
	void *arg;
};

/*
 * Why a statement's effects cannot move to another upstream connection
 * (transaction pooling pins the client), kept in bits ROUTE_PIN_SHIFT.. of
 * route_decision.flags; route_pin_of() reads it.
 */
enum route_pin {
	ROUTE_PIN_NONE = 0, /* nothing stays behind in the session */
	ROUTE_PIN_LISTEN,   /* LISTEN/UNLISTEN */
	ROUTE_PIN_LOCK,     /* a session advisory lock or set_config(..., false) */
	ROUTE_PIN_TEMP,     /* a temporary table */
	ROUTE_PIN_HOLD,     /* a WITH HOLD cursor */
	ROUTE_PIN_ROLE,     /* SET ROLE / SET SESSION AUTHORIZATION */
	ROUTE_PIN_PREPARE,  /* SQL-level PREPARE or DEALLOCATE */
	ROUTE_PIN_DISCARD,  /* DISCARD */
	ROUTE_PIN_OTHER,    /* LOAD and other session state */
};
#define ROUTE_PIN_SHIFT 12
#define ROUTE_PIN_MASK (0xfu << ROUTE_PIN_SHIFT)

static inline enum route_pin route_pin_of(unsigned flags)
{
	return (enum route_pin)((flags & ROUTE_PIN_MASK) >> ROUTE_PIN_SHIFT);
}
/* "LISTEN", "temporary table", ... for logs. */
const char *route_pin_name(enum route_pin pin);

/* What the legacy side looks like; strings are copied by router_new. */
struct router_legacy {
	const char *schema;         /* schema clients use for legacy tables, e.g. "public" */
	const char *const *tables;  /* legacy table names (lower case) */
	size_t ntables;
	bool mysql_configured;      /* false: legacy reads are refused with 0A000 */
	/* The legacy tables' MySQL definitions (borrowed for the router's life), NULL without MySQL. */
	const struct legacy_catalog *catalog;
};

/*
 * The answer. Every pointer is borrowed from the router and stays valid until
 * the next call on the same router (the proxy writes its ErrorResponse or
 * log line before asking again).
 */
struct route_decision {
	enum route_target target;
	unsigned flags;             /* enum route_flags */
	uint64_t fingerprint;       /* statement shape (pg_query fingerprint), 0 if unparseable */
	uint64_t legacy_tables;     /* legacy tables the text reads (masks as route_context) */

	/* ROUTE_REJECT only */
	const char *sqlstate;       /* five characters, e.g. "25006" */
	const char *message;
	const char *detail;         /* NULL if none */
	const char *hint;           /* NULL if none */
	const char *table;          /* the legacy table the refusal is about, NULL if none */

	const char *prepare_name;   /* ROUTE_F_PREPARE */
	const char *execute_name;   /* ROUTE_F_EXECUTE */
	const char *deallocate_name; /* ROUTE_F_DEALLOCATE; NULL means ALL */
};

struct router;

/*
 * Builds a router for one worker. <cache_entries>/<cache_bytes> bound the
 * statement cache (0 disables it). Returns NULL on OOM.
 */
struct router *router_new(const struct router_legacy *legacy, size_t cache_entries,
			  size_t cache_bytes) __attribute__((warn_unused_result));
void router_free(struct router *r);

/*
 * Routes the text of a simple Query message or a Parse message. <sql> need
 * not be NUL-terminated; <len> excludes any terminator. A multi-statement
 * text is split and every statement classified: one refused statement
 * refuses the whole text. Never fails: out-of-memory or unparseable input
 * yields a decision per the routing rules (rule 7).
 */
void router_route(struct router *r, const char *sql, size_t len, const struct route_context *ctx,
		  struct route_decision *out);

/* One statement of a multi-statement text, with its own side. */
struct router_piece {
	uint32_t offset;   /* where it sits in the text */
	uint32_t len;
	uint8_t target;    /* enum route_target: ROUTE_SUPABASE or ROUTE_MYSQL, for <ctx> */
	uint64_t legacy_tables; /* legacy tables it reads */
	bool txn_control;  /* BEGIN, COMMIT, SAVEPOINT, ... */
};

/*
 * The statements of a text router_route sent to ROUTE_MYSQL with
 * ROUTE_F_MULTI, each with the side it runs on, in order. Returns how many
 * were written to out[0, max); 0 when the text has more than <max>
 * statements, one is refused, or memory ran out.
 */
size_t router_pieces(struct router *r, const char *sql, size_t len,
		     const struct route_context *ctx, struct router_piece *out, size_t max);

/* FETCH, MOVE and CLOSE of a cursor, as router_cursor_op reads them. */
enum router_cursor_kind {
	ROUTER_CURSOR_NONE = 0, /* not one of these statements */
	ROUTER_CURSOR_FETCH,    /* FETCH [FORWARD|NEXT] [n|ALL] [FROM|IN] name */
	ROUTER_CURSOR_MOVE,     /* MOVE, the same forms */
	ROUTER_CURSOR_CLOSE,    /* CLOSE name | CLOSE ALL */
	ROUTER_CURSOR_OTHER,    /* FETCH/MOVE in another direction (BACKWARD, ABSOLUTE, ...) */
};

struct router_cursor_op {
	enum router_cursor_kind kind;
	int64_t count;    /* FETCH/MOVE: rows; INT64_MAX for ALL */
	char name[64];    /* the cursor; "" for CLOSE ALL */
};

/*
 * Reads <sql> as one FETCH, MOVE or CLOSE statement into *out (kind NONE
 * for anything else, also several statements). Parses each time: only
 * sessions with cursors of their own ask.
 */
void router_cursor_op(struct router *r, const char *sql, size_t len, struct router_cursor_op *out);

/*
 * A single SET/RESET statement's setting and value, as text ("3", "5s",
 * "hex"); *reset for RESET, SET ... TO DEFAULT and RESET ALL (name "all").
 * False for anything else (also several statements or a list value).
 */
bool router_set_value(struct router *r, const char *sql, size_t len, char *name, size_t name_cap,
		      char *value, size_t value_cap, bool *reset) __attribute__((warn_unused_result));

/* A SQL-level PREPARE: its name and where the prepared statement sits in the text. */
struct router_sql_prepare {
	char name[64];
	uint32_t inner_off;
	uint32_t inner_len;
};

/* Reads <sql> as one PREPARE name [(types)] AS statement; false for anything else. */
bool router_sql_prepare(struct router *r, const char *sql, size_t len,
			struct router_sql_prepare *out) __attribute__((warn_unused_result));

#define ROUTER_EXECUTE_MAX_ARGS 64

/*
 * A SQL-level EXECUTE name [(args)] whose arguments are all constants (a
 * cast of one counts): their text (vals[i] NULL for NULL), borrowed until
 * the next call on the router. False for anything else.
 */
struct router_sql_execute {
	char name[64];
	uint16_t nargs;
	const char *vals[ROUTER_EXECUTE_MAX_ARGS];
	size_t lens[ROUTER_EXECUTE_MAX_ARGS];
};
bool router_sql_execute(struct router *r, const char *sql, size_t len,
			struct router_sql_execute *out) __attribute__((warn_unused_result));

struct xlate_result;

/*
 * The MySQL translation of one statement the router sent to ROUTE_MYSQL
 * (translate.h), for the parameter types a Parse gave (may be NULL/0).
 * Cached by text and types like decisions; *out is borrowed until the next
 * router_translate on the same router. Never fails: out of memory is an
 * XLATE_OOM result.
 */
void router_translate(struct router *r, const char *sql, size_t len, const uint32_t *param_types,
		      uint16_t nparam_types, struct xlate_result *out);

/* Counters for benchmarks and status. */
struct router_stats {
	uint64_t cache_hits;
	uint64_t prefilter_passes; /* text named no legacy table: no parse needed */
	uint64_t full_parses;
	uint64_t translations;       /* MySQL translations made (cache misses) */
	uint64_t translation_hits;   /* ... and served from the cache */
	uint64_t cache_entries;
	uint64_t cache_bytes;
};
void router_get_stats(const struct router *r, struct router_stats *out);

#endif

/*
 * router — what the proxy asks about a statement, and the answer it gets.
 *
 * This is the proxy-facing surface of router/: classify.c (statement facts
 * from libpg_query), route.c (policy: facts + legacy set -> decision) and
 * stmt_cache.c (per-worker cache keyed by exact statement text) sit behind
 * it. One struct router per worker thread; it is not thread-safe and needs
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
};

/* What the legacy side looks like; strings are copied by router_new. */
struct router_legacy {
	const char *schema;         /* schema clients use for legacy tables, e.g. "public" */
	const char *const *tables;  /* legacy table names (lower case) */
	size_t ntables;
	bool mysql_configured;      /* false: legacy reads are refused with 0A000 */
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
void router_route(struct router *r, const char *sql, size_t len, struct route_decision *out);

/* Counters for benchmarks and status. */
struct router_stats {
	uint64_t cache_hits;
	uint64_t prefilter_passes; /* text named no legacy table: no parse needed */
	uint64_t full_parses;
	uint64_t cache_entries;
	uint64_t cache_bytes;
};
void router_get_stats(const struct router *r, struct router_stats *out);

#endif

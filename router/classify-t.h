/*
 * classify-t — the facts classify.c extracts from a statement, as types only.
 *
 * route.c consumes these without needing the classifier's functions, so they
 * live apart from classify.h (HAProxy's x-t.h habit: this header includes no
 * other project header and declares no function).
 *
 * A fact is what the statement itself says, before any policy: which tables
 * it reads, which it writes, which names appear in code the classifier cannot
 * analyse, and what kind of statement it is. Whether a table is "legacy" is
 * route.c's question, not this one.
 */
#ifndef SY_CLASSIFY_T_H
#define SY_CLASSIFY_T_H

#include <stddef.h>
#include <stdint.h>

enum classify_kind {
	CLASSIFY_K_UNKNOWN = 0, /* unparseable, or a statement type this code does not know */
	CLASSIFY_K_SELECT,      /* SELECT, VALUES, TABLE (possibly with writing CTEs) */
	CLASSIFY_K_INSERT,      /* INSERT, also INSERT ... ON CONFLICT */
	CLASSIFY_K_UPDATE,      /* UPDATE */
	CLASSIFY_K_DELETE,      /* DELETE */
	CLASSIFY_K_MERGE,       /* MERGE */
	CLASSIFY_K_COPY_FROM,   /* COPY ... FROM: loads rows into a table */
	CLASSIFY_K_COPY_TO,     /* COPY ... TO: exports a table or a query */
	CLASSIFY_K_TRUNCATE,    /* TRUNCATE */
	CLASSIFY_K_LOCK,        /* LOCK TABLE */
	CLASSIFY_K_MAINTENANCE, /* VACUUM, ANALYZE, CLUSTER, REINDEX, REFRESH, CHECKPOINT */
	CLASSIFY_K_DDL,         /* CREATE/ALTER/DROP/COMMENT/SECURITY LABEL, SELECT INTO */
	CLASSIFY_K_GRANT,       /* GRANT/REVOKE, ALTER DEFAULT PRIVILEGES */
	CLASSIFY_K_TXN,         /* BEGIN/COMMIT/ROLLBACK/SAVEPOINT/PREPARE TRANSACTION/... */
	CLASSIFY_K_SESSION,     /* SET/RESET/DISCARD/LISTEN/UNLISTEN/LOAD */
	CLASSIFY_K_PREPARE,     /* SQL-level PREPARE name AS ... */
	CLASSIFY_K_EXECUTE,     /* SQL-level EXECUTE name */
	CLASSIFY_K_DEALLOCATE,  /* SQL-level DEALLOCATE */
	CLASSIFY_K_EXPLAIN,     /* EXPLAIN [ANALYZE] */
	CLASSIFY_K_CALL,        /* CALL procedure */
	CLASSIFY_K_DO,          /* DO block */
	CLASSIFY_K_CURSOR,      /* DECLARE/FETCH/MOVE/CLOSE */
	CLASSIFY_K_UTILITY,     /* SHOW, NOTIFY and other statements that touch no table */
	CLASSIFY_K_COUNT,       /* number of kinds; not a kind */
};

/* How a statement touches a relation; a relation can collect several. */
enum classify_role {
	CLASSIFY_R_READ = 1u << 0,    /* rows are read */
	CLASSIFY_R_WRITE = 1u << 1,   /* rows, definition, privileges or locks change */
	CLASSIFY_R_MENTION = 1u << 2, /* named in code or text the classifier cannot analyse */
};

/*
 * One relation. Names are as Postgres resolves them: unquoted identifiers
 * folded to lower case, quoted ones kept, U& escapes decoded.
 */
struct classify_rel {
	const char *schema; /* NULL: unqualified (resolved by search_path) */
	const char *name;   /* NULL: every table of <schema>; both NULL: every table */
	unsigned roles;     /* enum classify_role */
};

enum classify_flag {
	CLASSIFY_F_LOCKING = 1u << 0,       /* SELECT ... FOR UPDATE/NO KEY UPDATE/SHARE/KEY SHARE */
	CLASSIFY_F_EXECUTES = 1u << 1,      /* runs other code: EXECUTE, DO, CALL, EXPLAIN ANALYZE,
					       functions that run SQL text */
	CLASSIFY_F_TXN_CONTROL = 1u << 2,   /* transaction control statement */
	CLASSIFY_F_SESSION_STATE = 1u << 3, /* leaves state in the session (SET, PREPARE, temp tables,
					       advisory locks, WITH HOLD cursors, ...) */
	CLASSIFY_F_PREPARE = 1u << 4,       /* SQL-level PREPARE; classify_stmt.name is set */
	CLASSIFY_F_EXECUTE = 1u << 5,       /* SQL-level EXECUTE (anywhere); name is set */
	CLASSIFY_F_DEALLOCATE = 1u << 6,    /* SQL-level DEALLOCATE; name NULL means ALL */
	CLASSIFY_F_BODY = 1u << 7,          /* carries code: DO block, function or procedure body */
	CLASSIFY_F_SET = 1u << 8,           /* SET/RESET of a setting that RESET ALL undoes (so it can
					       be replayed on another connection); not ROLE or
					       SESSION AUTHORIZATION, which RESET ALL leaves alone */
	CLASSIFY_F_ROLE_CHANGE = 1u << 9,   /* SET/RESET ROLE or SESSION AUTHORIZATION (LOCAL too),
					       set_config() of either (or of a name not known
					       until run time), or a DO block (its code could) */
};

/* Why the facts of a statement may be incomplete (rule 7 of DESIGN.md). */
enum classify_doubt {
	CLASSIFY_D_NONE = 0,     /* facts are complete */
	CLASSIFY_D_UNPARSEABLE,  /* libpg_query rejected it; rels are the names its tokens carry */
	CLASSIFY_D_DYNAMIC_SQL,  /* it runs SQL text computed at run time */
	CLASSIFY_D_TOO_COMPLEX,  /* nesting beyond the walker's depth limit */
	CLASSIFY_D_UNKNOWN_STMT, /* a statement type this code does not know */
	CLASSIFY_D_INTERNAL,     /* the parse tree had a shape this code did not expect */
};

struct classify_stmt {
	enum classify_kind kind;
	enum classify_kind inner_kind; /* PREPARE/EXPLAIN/DECLARE/COPY (query): the statement
					  inside; otherwise equal to kind */
	unsigned flags;                /* enum classify_flag */
	enum classify_doubt doubt;
	const struct classify_rel *rels; /* in order of first appearance, one per relation */
	size_t nrels;
	const char *tag;      /* the command ("ALTER TABLE", "COPY", ...); NULL if unparseable */
	const char *name;     /* PREPARE/EXECUTE/DEALLOCATE statement name; NULL if none/ALL */
	const char *error;    /* parser message when unparseable, else NULL */
	const char *dynamic;  /* D_DYNAMIC_SQL: the function that runs SQL text, else NULL */
	size_t offset, len;   /* where the statement sits in the classified text */
};

struct classify_result {
	const struct classify_stmt *stmts;
	size_t nstmts;        /* 0: only comments and whitespace */
	uint64_t fingerprint; /* pg_query fingerprint of the whole text, 0 if unparseable */
};

#endif

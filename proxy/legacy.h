/*
 * legacy — a session's reads of legacy tables, answered by switchyard from
 * MySQL in Postgres wire format.
 *
 * relay.c decides that a client message is a legacy read (the router said
 * ROUTE_MYSQL and translated it) and queues a PL_MYSQL entry whose work is
 * built here; when that entry reaches the head of the session's queue,
 * relay.c calls legacy_start, the MySQL job runs (mysql.h), rows stream to
 * the client as DataRows converted by pgvalue.h, and when the job ends the
 * entry is answered (CommandComplete, PortalSuspended or ErrorResponse) and
 * relay_local_done() is called.
 *
 * For the extended protocol this module keeps the session's legacy
 * prepared statements (Parse of a legacy read: its translation) and portals
 * (Bind: the MySQL text with the parameters in it), answering Parse, Bind,
 * Describe and Close for them itself. A portal executed with a row limit
 * keeps its MySQL result open (the job paused) until the next Execute,
 * Close or the end of the transaction.
 *
 * Inside a client transaction block the first legacy read pins one MySQL
 * connection with a consistent snapshot (mysqlb_query's pin) until the
 * transaction ends (legacy_txn_ended).
 *
 * Return conventions: pointers or NULL (out of memory) for constructors,
 * bool for actions (false = out of memory unless said otherwise).
 */
#ifndef SY_LEGACY_H
#define SY_LEGACY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct session;
struct xlate_result;
struct pgmsg_writer;
struct legacy_work;

/*
 * A simple Query's legacy read of translation <xr>: RowDescription, rows,
 * CommandComplete (no ReadyForQuery: the caller's entry says so). NULL on OOM.
 */
struct legacy_work *legacy_work_query(struct session *s, const struct xlate_result *xr)
	__attribute__((warn_unused_result));

/* CommandComplete <tag> (a string literal), answered in order like a read: PREPARE, DEALLOCATE. */
struct legacy_work *legacy_work_tag(struct session *s, const char *tag)
	__attribute__((warn_unused_result));

struct router_sql_execute;
/*
 * A SQL-level EXECUTE of a legacy statement PREPAREd in SQL: its arguments
 * bound as parameters, answered as a simple Query's read. Errors (unknown
 * name, wrong count, bad value) come back as a work that answers them.
 * NULL on OOM.
 */
struct legacy_work *legacy_work_sql_execute(struct session *s, const struct router_sql_execute *ex)
	__attribute__((warn_unused_result));

/* The error a read gets in an aborted transaction block (25P02), as a work with no job. */
struct legacy_work *legacy_work_error(struct session *s, const char *sqlstate, const char *message)
	__attribute__((warn_unused_result));

/* Starts the work's job (its entry reached the head). Never calls back synchronously. */
void legacy_start(struct session *s, struct legacy_work *lw);
/* Frees a work that never ran or has finished (its job, if still running, is abandoned). */
void legacy_work_free(struct legacy_work *lw);
/* Did the finished work end with an error? */
bool legacy_work_failed(const struct legacy_work *lw);

struct pgv_session;
/*
 * The MySQL text of translation <xr>: parameter i's literal lits[i]
 * (litlen[i] bytes; lits NULL: every parameter NULL) and the zone slots of
 * <pv> filled in. Owned by the caller, *len its length; NULL on OOM.
 */
char *legacy_fill_sql(const struct xlate_result *xr, char *const *lits, const size_t *litlen,
		      const struct pgv_session *pv, size_t *len) __attribute__((warn_unused_result));

/* ---- extended protocol ---- */

/*
 * Parse of a legacy read named <name>: keeps the translation. False with
 * *dup set when a named statement of that name exists already (42P05), or
 * on OOM (*dup false).
 */
bool legacy_parse(struct session *s, const char *name, const struct xlate_result *xr, bool *dup)
	__attribute__((warn_unused_result));
struct router_cursor_op;

/*
 * Parse of FETCH/MOVE/CLOSE of a legacy cursor named by <op>: kept as
 * statement <name>. As legacy_parse otherwise.
 */
bool legacy_parse_cursor_op(struct session *s, const char *name, const struct router_cursor_op *op,
			    bool *dup) __attribute__((warn_unused_result));
/* A simple Query's FETCH/MOVE/CLOSE of a legacy cursor. NULL on OOM. */
struct legacy_work *legacy_work_cursor_op(struct session *s, const struct router_cursor_op *op)
	__attribute__((warn_unused_result));
/* Does the session have legacy cursors (DECLAREd)? Is <name> one? */
bool legacy_has_cursors(const struct session *s);
bool legacy_is_cursor(const struct session *s, const char *name);
/* CLOSE ALL went to Supabase: the legacy cursors close too. */
void legacy_drop_cursors(struct session *s);

/* Is <name> a legacy statement of the session? */
bool legacy_has_stmt(const struct session *s, const char *name);
/* Is <name> a legacy portal of the session? */
bool legacy_has_portal(const struct session *s, const char *name);
/* DEALLOCATE ALL: every legacy statement is gone. */
void legacy_forget_stmts(struct session *s);
/* A Parse of <name> went to Supabase: a legacy statement of that name is gone. */
void legacy_forget_stmt(struct session *s, const char *name);
/* A Bind to a Supabase statement created portal <name>: a legacy one of that name is gone. */
void legacy_forget_portal(struct session *s, const char *name);

/*
 * Bind (its body) to a legacy statement: builds the portal. On a client
 * error (wrong parameter count, bad value) returns false with the
 * ErrorResponse in <err>; OOM returns false with *oom set.
 */
bool legacy_bind(struct session *s, const uint8_t *body, size_t len, struct pgmsg_writer *err,
		 bool *oom) __attribute__((warn_unused_result));

/* Describe of a legacy statement ('S') or portal ('P'): the answer into <out>. */
void legacy_describe(struct session *s, char kind, const char *name, struct pgmsg_writer *out);

/* Execute of legacy portal <portal> with row limit <max_rows> (0: all). NULL on OOM. */
struct legacy_work *legacy_work_execute(struct session *s, const char *portal, int32_t max_rows)
	__attribute__((warn_unused_result));

/* Close of a legacy statement or portal. */
void legacy_close(struct session *s, char kind, const char *name);

/*
 * Sync number <seg> (session.seg_no) was answered: outside a transaction
 * block the portals made before it end with the implicit transaction.
 */
void legacy_sync(struct session *s, bool in_block, uint32_t seg);

/*
 * A transaction ended with the answer to client Query/Sync <seg>: the
 * snapshot connection goes, and with <portals> the portals and cursors made
 * up to then (later ones, pipelined behind it, stay).
 */
void legacy_txn_ended(struct session *s, uint32_t seg, bool portals);

/*
 * The session SET (or RESET: <reset>) a setting legacy values depend on
 * that Supabase does not report: extra_float_digits, bytea_output,
 * statement_timeout. Taken when sent (a SET that fails or is rolled back
 * is not undone here).
 */
void legacy_note_set(struct session *s, const char *name, const char *value, bool reset);

/* Resumes the client's input (relay_resume_client) from a callback of its own. */
void legacy_defer_resume(struct session *s);

/* The client's output drained: a paused result may go on. */
void legacy_client_drained(struct session *s);

/* CancelRequest for this session: the running MySQL query is killed. True if one ran. */
bool legacy_cancel(struct session *s);

/* The session is closing: every MySQL job it has is abandoned, nothing more is written. */
void legacy_session_closing(struct session *s);

/* Everything the session holds goes (the session is freed). */
void legacy_session_free(struct session *s);

#endif

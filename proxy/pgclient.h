/*
 * pgclient — switchyard's own connection to Supabase, for work that is not a
 * client's: shadow reads (shadow.h) and the cutover control table
 * (control.h).
 *
 * One connection, one statement at a time, driven by libpq's non-blocking
 * API on a libevent base: the connection is opened on first use with
 * [supabase] of the snapshot given (user, password, TLS as configured),
 * reopened on the next statement after it failed, and every statement has
 * a deadline after which the connection is dropped and the statement fails.
 * Only pgclient.c includes libpq's header.
 *
 * Return conventions: pointers or NULL (out of memory) for constructors,
 * bool for actions.
 */
#ifndef SY_PGCLIENT_H
#define SY_PGCLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct config;
struct pgclient;
struct pgclient_result;
struct pg_conn; /* libpq's PGconn */

/*
 * The value settings both sides of a comparison run with (shadow reads,
 * switchyard verify), as libpq "options": Postgres text then reads as
 * switchyard's conversions of MySQL values write it (pgv_session_init).
 */
#define PGCLIENT_FIXED_SETTINGS                                                             \
	"-c TimeZone=UTC -c DateStyle=ISO,MDY -c IntervalStyle=postgres -c extra_float_digits=1 " \
	"-c bytea_output=hex"

/*
 * A blocking connection with [supabase] of <cfg> as <application_name>,
 * with libpq "options" <options> (NULL for none): for threads and commands
 * that may block (the shadow runner, verify, --init-control-table). NULL
 * with the reason in err[0, n).
 */
struct pg_conn *pgclient_connect_sync(const struct config *cfg, const char *application_name,
				      const char *options, char *err, size_t n)
	__attribute__((warn_unused_result));

/*
 * A statement's outcome, borrowed for the callback only. ok false: the
 * statement failed (sqlstate and message say why; "08006" when the
 * connection could not be made or was lost, "57014" at the deadline).
 */
typedef void (*pgclient_done_fn)(void *arg, const struct pgclient_result *res);

/*
 * A client that connects as <application_name>, with [supabase] of the
 * snapshot given to the statement that opens the connection (libpq keeps
 * its own copy of the settings).
 */
struct pgclient *pgclient_new(struct event_base *base, const char *application_name)
	__attribute__((warn_unused_result));
/*
 * Session settings for every connection it opens, as libpq's "options"
 * (e.g. "-c TimeZone=UTC"); taken at the next connect. False on OOM.
 */
bool pgclient_set_options(struct pgclient *c, const char *options)
	__attribute__((warn_unused_result));
/* Closes the connection; a statement in flight ends without its callback. */
void pgclient_free(struct pgclient *c);

/* Is a statement in flight? */
bool pgclient_busy(const struct pgclient *c);

/*
 * Runs <sql> with <nparams> text parameters (values[i] NULL for SQL NULL)
 * and text results, in its own implicit transaction, connecting first
 * with [supabase] of <cfg> if needed. <done> runs later from the event loop
 * (never inside this call); the client is free again when it runs, so it
 * may start the next statement. False if a statement is in flight or on
 * OOM: <done> will not run.
 */
bool pgclient_query(struct pgclient *c, const struct config *cfg, const char *sql, int nparams,
		    const char *const *values, int timeout_ms, pgclient_done_fn done, void *arg)
	__attribute__((warn_unused_result));

/*
 * As pgclient_query, with the parameters as a client's Bind carries them:
 * type OIDs (types NULL or types[i] 0: the server infers), lengths and
 * formats (0 text, 1 binary; formats NULL: all text).
 */
bool pgclient_query_params(struct pgclient *c, const struct config *cfg, const char *sql,
			   int nparams, const unsigned *types, const char *const *values,
			   const int *lengths, const int *formats, int timeout_ms,
			   pgclient_done_fn done, void *arg) __attribute__((warn_unused_result));

/* ---- reading a result ---- */
bool pgclient_ok(const struct pgclient_result *res);
const char *pgclient_sqlstate(const struct pgclient_result *res);
const char *pgclient_message(const struct pgclient_result *res);
/* Rows and columns of a successful result (0 for a statement without rows). */
int pgclient_nrows(const struct pgclient_result *res);
int pgclient_ncols(const struct pgclient_result *res);
const char *pgclient_col_name(const struct pgclient_result *res, int col);
/* Value at (row, col) as Postgres text, NULL for SQL NULL; *len its length. */
const char *pgclient_value(const struct pgclient_result *res, int row, int col, size_t *len);
/* The command tag ("SELECT 3", "UPDATE 1"). */
const char *pgclient_tag(const struct pgclient_result *res);

#endif

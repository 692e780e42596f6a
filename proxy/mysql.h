/*
 * mysql — the MySQL backend: the legacy database that serves legacy reads.
 *
 * Two halves. At start-up and on SIGHUP, mysqlb_load_catalog connects once
 * (blocking, on the main thread, before anything is served), checks the
 * account's grants and reads the legacy tables' definitions from
 * information_schema into a catalog (router/catalog.h). While serving, every
 * worker has a pool of connections driven through MariaDB Connector/C's
 * non-blocking API (mysql_*_start / _cont, waiting on mysql_get_socket()
 * with libevent), so a slow MySQL query never stalls the other sessions of
 * the worker. Only this file's .c includes mysql.h.
 *
 * A query is a job: the caller hands over the MySQL text and callbacks, and
 * gets the result set column count, then one callback per row as rows
 * arrive (the caller may pause the job when its client's output backs up),
 * then the outcome. Callbacks never run inside the call that started or
 * resumed the job.
 *
 * Pool: connections open on demand up to [mysql] pool_size across all
 * workers (an atomic count in struct proxy; a worker that needs one while
 * others hold idle ones asks them to close one), reconnect with exponential
 * backoff after a failure (jobs asked for meanwhile fail at once with
 * 08006), and are pinged before reuse after MYSQLB_IDLE_PING_MS idle.
 * Cancel and timeouts send KILL QUERY on a connection of their own.
 *
 * Return conventions: pointers or NULL for constructors, bool for actions.
 */
#ifndef SY_MYSQL_H
#define SY_MYSQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct legacy_catalog;
struct worker;

/* Idle this long, a connection is pinged before it is handed out again. */
#define MYSQLB_IDLE_PING_MS 30000

/*
 * Connects with [mysql] of <cfg>, checks SHOW GRANTS (with
 * require_read_only: any privilege beyond SELECT, SHOW VIEW and USAGE is
 * an error that names all of them) and reads every [legacy] table's
 * columns and indexes. Returns the finished catalog, or NULL with the
 * reason in err[0, n) (every missing table named). Blocking: start-up and
 * reload only. <unreachable> tells a failure to connect from a check that
 * failed.
 */
struct legacy_catalog *mysqlb_load_catalog(const struct config *cfg, char *err, size_t n,
					   bool *unreachable) __attribute__((warn_unused_result));

/* How a job ended, when it did not succeed. */
struct mysqlb_error {
	unsigned code;       /* MySQL's error number, 0 for switchyard's own */
	char sqlstate[6];    /* Postgres SQLSTATE the client gets */
	char message[400];
	char detail[160];    /* "" if none */
	bool lost;           /* the connection is gone (08006 for what was in flight) */
};

enum mysqlb_row_verdict {
	MYSQLB_ROW_MORE = 0, /* go on fetching */
	MYSQLB_ROW_PAUSE,    /* stop until mysqlb_job_resume */
	MYSQLB_ROW_STOP,     /* the caller failed (out of memory): end the job, no more callbacks
				but done */
};

struct mysqlb_ops {
	/* The result set has <ncols> columns (not called for a statement without one). */
	bool (*columns)(void *arg, unsigned ncols);
	/* One row: vals[i] is NULL for SQL NULL, lens[i] its length. */
	enum mysqlb_row_verdict (*row)(void *arg, char **vals, unsigned long *lens, unsigned ncols);
	/* The end: err is NULL on success. <warnings>: MySQL's warning count. */
	void (*done)(void *arg, const struct mysqlb_error *err, unsigned warnings);
	/*
	 * Optional: the job waits for the socket now, so the rows so far are
	 * all there is for a while (the owner writes out what it batched).
	 */
	void (*waiting)(void *arg);
};

struct mysqlb_pool;
struct mysqlb_conn;
struct mysqlb_job;

/* The worker's pool; reads [mysql] from the worker's config at each connect. NULL on OOM. */
struct mysqlb_pool *mysqlb_pool_new(struct worker *w) __attribute__((warn_unused_result));
/* Closes every connection; jobs still running end without callbacks. */
void mysqlb_pool_free(struct mysqlb_pool *p);
/* The configuration changed: connections opened with other [mysql] settings close when idle. */
void mysqlb_pool_reconfigured(struct mysqlb_pool *p);
/* Another worker needs a slot: close one idle connection if there is one. */
void mysqlb_pool_trim(struct mysqlb_pool *p);
/* A slot may have been freed on another worker: waiting jobs try again. */
void mysqlb_pool_retry(struct mysqlb_pool *p);

/*
 * Runs <sql> (len bytes). <pin>: NULL for a connection from the pool,
 * returned when the job ends; otherwise the caller's slot for a connection
 * held across jobs — empty (*pin NULL): a connection is taken, a
 * `START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT` runs before the
 * query, and on success the connection stays in *pin; full: that connection
 * is used. The backend empties *pin itself when the pinned connection is lost.
 * <timeout_ms> > 0: KILL QUERY after that long (the job ends with 57014).
 * Returns the job (owned by the backend until done() ran) or NULL on OOM.
 */
struct mysqlb_job *mysqlb_query(struct mysqlb_pool *p, struct mysqlb_conn **pin, const char *sql,
				size_t len, int timeout_ms, const struct mysqlb_ops *ops, void *arg)
	__attribute__((warn_unused_result));

/* Fetching goes on after a MYSQLB_ROW_PAUSE. */
void mysqlb_job_resume(struct mysqlb_job *j);

/*
 * CancelRequest: KILL QUERY for the job; it ends with 57014 through done()
 * (or normally, if it finished first).
 */
void mysqlb_job_cancel(struct mysqlb_job *j);

/*
 * The caller goes away: no callback runs any more; the query is killed and
 * the connection drained and reused (or closed).
 */
void mysqlb_job_abandon(struct mysqlb_job *j);

/* Ends the snapshot of a pinned connection (ROLLBACK) and gives it back; *pin is emptied. */
void mysqlb_unpin(struct mysqlb_conn **pin);

/* ---- blocking sessions, for `switchyard verify` (never on a worker) ---- */

struct mysqlb_sync;

/*
 * Connects with [mysql] of <cfg> and runs the session set-up every legacy
 * read relies on (xlate_session_setup). <read_timeout_s> > 0: a read that
 * waits longer fails (the connection is then unusable). NULL with the
 * reason in err[0, n).
 */
struct mysqlb_sync *mysqlb_sync_open(const struct config *cfg, int read_timeout_s, char *err,
				     size_t n) __attribute__((warn_unused_result));
void mysqlb_sync_close(struct mysqlb_sync *s);

/* Runs a statement without a result set (START TRANSACTION, COMMIT). */
bool mysqlb_sync_exec(struct mysqlb_sync *s, const char *sql, char *err, size_t n)
	__attribute__((warn_unused_result));

/*
 * Runs <sql> and streams its rows to <row> (vals[i] NULL for SQL NULL) until
 * the end or until <row> returns false. False
 * with the reason in <err> when MySQL failed (not when <row> stopped).
 */
typedef bool (*mysqlb_sync_row_fn)(void *arg, char **vals, unsigned long *lens, unsigned ncols);
bool mysqlb_sync_query(struct mysqlb_sync *s, const char *sql, size_t len, mysqlb_sync_row_fn row,
		       void *arg, char *err, size_t n) __attribute__((warn_unused_result));

#endif

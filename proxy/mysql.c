/*
 * mysql — the MySQL backend (see mysql.h): the start-up check and catalog,
 * and the per-worker pool of non-blocking connections that runs jobs.
 *
 * Every connection is a small state machine driven by one libevent event on
 * its socket. Connector/C's non-blocking calls return the events they wait
 * for (MYSQL_WAIT_READ/WRITE/TIMEOUT); advance() arms the event for them and
 * is called again with what happened, until the operation completes. A job
 * walks a connection through: connect and session set-up (new connections),
 * ping (connections idle for long), START TRANSACTION (a new pin), the
 * query, the rows, freeing the result. Callbacks to the job's owner run from
 * the event callback only, never from the call that started a job.
 */
#include "proxy/clock.h"
#include "proxy/mysql.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include <event2/event.h>

#include "proxy/config.h"
#include "proxy/list.h"
#include "proxy/log.h"
#include "proxy/proxy.h"
#include "proxy/worker.h"
#include "router/catalog.h"
#include "router/translate.h"

/* Reconnect backoff after a failed connect: doubles from MIN to MAX. */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

/* ---- options shared by both halves ---- */

static void set_options(MYSQL *m, const struct config *cfg, bool nonblock)
{
	const int secs = (cfg->mysql.connect_timeout_ms + 999) / 1000;
	unsigned int timeout = secs > 0 ? (unsigned)secs : 1;
	my_bool yes = 1, no = 0;

	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (nonblock)
		mysql_options(m, MYSQL_OPT_NONBLOCK, 0);
	switch (cfg->mysql.tls) {
	case CONFIG_MYSQL_TLS_DISABLE:
		mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &no);
		break;
	case CONFIG_MYSQL_TLS_REQUIRE:
		mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &yes);
		mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &no);
		break;
	case CONFIG_MYSQL_TLS_VERIFY_CA:
	case CONFIG_MYSQL_TLS_VERIFY_FULL:
		/* Connector/C checks the chain and the host name together. */
		mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &yes);
		mysql_options(m, MYSQL_OPT_SSL_CA, cfg->mysql.ssl_ca);
		mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &yes);
		break;
	}
}

/* ---- the start-up check ---- */

/* Runs a query and returns its stored result, or NULL with err set. */
static MYSQL_RES *query_all(MYSQL *m, const char *sql, char *err, size_t n)
{
	if (mysql_query(m, sql) != 0) {
		snprintf(err, n, "MySQL query failed: %s", mysql_error(m));
		return NULL;
	}
	MYSQL_RES *res = mysql_store_result(m);
	if (res == NULL)
		snprintf(err, n, "MySQL query returned no result: %s", mysql_error(m));
	return res;
}

static bool priv_allowed(const char *p, size_t len)
{
	static const char *const ok[] = { "SELECT", "SHOW VIEW", "USAGE" };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (strlen(ok[i]) == len && strncasecmp(ok[i], p, len) == 0)
			return true;
	}
	return false;
}

/* Appends s[0, len) to the list in buf[0, n), after a separator; what does not fit is cut. */
static void append_sep(char *buf, size_t n, const char *s, size_t len, const char *sep)
{
	size_t at = strlen(buf), seplen = strlen(sep);
	if (at + len + seplen + 1 >= n)
		return;
	if (at > 0) {
		memcpy(buf + at, sep, seplen);
		at += seplen;
	}
	memcpy(buf + at, s, len);
	buf[at + len] = '\0';
}

static void append(char *buf, size_t n, const char *s, size_t len)
{
	append_sep(buf, n, s, len, ", ");
}

/*
 * One SHOW GRANTS line: "GRANT SELECT, SHOW VIEW ON `crm`.* TO ..." gives
 * its privileges; "GRANT `role` TO user" (no ON) grants a role, whose
 * privileges are not visible here: it counts as an extra privilege. What is
 * beyond SELECT, SHOW VIEW and USAGE is appended as "INSERT, UPDATE ON
 * `crm`.*" (MariaDB's PUBLIC grants on `test` databases show up here too:
 * they are real write rights of the account).
 */
static void grant_extras(const char *line, char *extras, size_t n)
{
	if (strncasecmp(line, "GRANT ", 6) != 0)
		return;
	const char *p = line + 6;
	const char *on = NULL;
	for (const char *q = p; *q; q++) {
		if (strncasecmp(q, " ON ", 4) == 0) {
			on = q;
			break;
		}
	}
	const char *to = strstr(on ? on : p, " TO ");
	if (on == NULL) {
		size_t len = to ? (size_t)(to - p) : strlen(p);
		char what[200];
		snprintf(what, sizeof(what), "role %.*s", (int)(len > 150 ? 150 : len), p);
		append(extras, n, what, strlen(what));
		return;
	}
	char privs[600] = "";
	while (p < on) {
		while (p < on && (*p == ' ' || *p == ','))
			p++;
		const char *start = p;
		int depth = 0;
		/* A column privilege "SELECT (a, b)" keeps its list in one piece. */
		while (p < on && (depth > 0 || *p != ',')) {
			depth += *p == '(';
			depth -= *p == ')';
			p++;
		}
		const char *end = p;
		while (end > start && end[-1] == ' ')
			end--;
		const char *name_end = start;
		while (name_end < end && *name_end != '(')
			name_end++;
		while (name_end > start && name_end[-1] == ' ')
			name_end--;
		if (end > start && !priv_allowed(start, (size_t)(name_end - start)))
			append(privs, sizeof(privs), start, (size_t)(end - start));
	}
	if (strstr(on, " WITH GRANT OPTION") != NULL)
		append(privs, sizeof(privs), "GRANT OPTION", 12);
	if (privs[0] == '\0')
		return;
	const char *obj = on + 4;
	size_t objlen = to ? (size_t)(to - obj) : strlen(obj);
	char what[800];
	snprintf(what, sizeof(what), "%s ON %.*s", privs, (int)(objlen > 150 ? 150 : objlen), obj);
	append_sep(extras, n, what, strlen(what), "; ");
}

static bool check_grants(MYSQL *m, const struct config *cfg, char *err, size_t n)
{
	MYSQL_RES *res = query_all(m, "SHOW GRANTS", err, n);
	if (res == NULL)
		return false;
	char extras[1500] = "";
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res)) != NULL) {
		if (row[0] != NULL)
			grant_extras(row[0], extras, sizeof(extras));
	}
	mysql_free_result(res);
	if (extras[0] == '\0' || !cfg->mysql.require_read_only)
		return true;
	snprintf(err, n,
		 "MySQL account \"%s\" can do more than read: %s (require_read_only = true "
		 "allows only SELECT, SHOW VIEW and USAGE)",
		 cfg->mysql.user, extras);
	return false;
}

/* The legacy table whose MySQL name is <name> (case-insensitively), or -1. */
static long legacy_index(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->legacy.ntables; i++) {
		if (strcasecmp(cfg->legacy.tables[i], name) == 0)
			return (long)i;
	}
	return -1;
}

/* MariaDB's JSON is LONGTEXT with a json_valid(`col`) CHECK: "table\ncol" keys of those. */
static char *json_columns(MYSQL *m, const char *db_lit)
{
	if (strstr(mysql_get_server_info(m), "MariaDB") == NULL)
		return strdup("");
	char sql[600];
	char err[256];
	snprintf(sql, sizeof(sql),
		 "SELECT TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
		 "WHERE CONSTRAINT_SCHEMA = '%s' AND CHECK_CLAUSE LIKE 'json_valid(%%'",
		 db_lit);
	MYSQL_RES *res = query_all(m, sql, err, sizeof(err));
	if (res == NULL)
		return strdup("");
	size_t cap = 256, len = 0;
	char *keys = malloc(cap);
	if (keys == NULL) {
		mysql_free_result(res);
		return NULL;
	}
	keys[0] = '\0';
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res)) != NULL) {
		if (row[0] == NULL || row[1] == NULL)
			continue;
		const char *a = strchr(row[1], '`');
		const char *b = a ? strchr(a + 1, '`') : NULL;
		if (b == NULL)
			continue;
		size_t need = strlen(row[0]) + (size_t)(b - a) + 4;
		if (len + need >= cap) {
			cap = (len + need) * 2;
			char *k = realloc(keys, cap);
			if (k == NULL) {
				free(keys);
				mysql_free_result(res);
				return NULL;
			}
			keys = k;
		}
		len += (size_t)snprintf(keys + len, cap - len, "%s\n%.*s\n", row[0], (int)(b - a - 1),
					a + 1);
	}
	mysql_free_result(res);
	return keys;
}

static bool is_json_column(const char *keys, const char *table, const char *col)
{
	char key[300];
	snprintf(key, sizeof(key), "%s\n%s\n", table, col);
	for (const char *p = keys; (p = strstr(p, key)) != NULL; p++) {
		if (p == keys || p[-1] == '\n')
			return true;
	}
	return false;
}

static bool read_columns(MYSQL *m, const struct config *cfg, struct legacy_catalog *cat,
			 const char *db_lit, char *err, size_t n)
{
	char sql[800];
	snprintf(sql, sizeof(sql),
		 "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, "
		 "CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, "
		 "COLLATION_NAME, COLUMN_KEY FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
		 "'%s' ORDER BY TABLE_NAME, ORDINAL_POSITION",
		 db_lit);
	MYSQL_RES *res = query_all(m, sql, err, n);
	if (res == NULL)
		return false;
	char *json = json_columns(m, db_lit);
	bool *seen = calloc(cfg->legacy.ntables + 1, sizeof(*seen));
	bool ok = json != NULL && seen != NULL;
	long current = -1;
	MYSQL_ROW row;
	while (ok && (row = mysql_fetch_row(res)) != NULL) {
		if (row[0] == NULL || row[1] == NULL)
			continue;
		long t = legacy_index(cfg, row[0]);
		if (t < 0)
			continue;
		if (t != current) {
			if (seen[t]) {
				/* Same name in two letter cases (a case-sensitive file system). */
				snprintf(err, n, "MySQL database \"%s\" has more than one table named \"%s\"",
					 cfg->mysql.database, cfg->legacy.tables[t]);
				ok = false;
				break;
			}
			seen[t] = true;
			current = t;
			ok = catalog_add_table(cat, cfg->legacy.tables[t], row[0]);
		}
		struct catalog_column_row c = {
			.name = row[1],
			.data_type = is_json_column(json ? json : "", row[0], row[1]) ? "json" : row[2],
			.column_type = row[3],
			.is_nullable = row[4],
			.char_max_length = row[5],
			.numeric_precision = row[6],
			.numeric_scale = row[7],
			.datetime_precision = row[8],
			.collation = row[9],
			.column_key = row[10],
		};
		if (ok)
			ok = catalog_add_column(cat, &c);
		if (!ok)
			snprintf(err, n, "out of memory reading the legacy catalog");
	}
	mysql_free_result(res);
	if (ok) {
		char missing[600] = "";
		for (size_t i = 0; i < cfg->legacy.ntables; i++) {
			if (!seen[i])
				append(missing, sizeof(missing), cfg->legacy.tables[i],
				       strlen(cfg->legacy.tables[i]));
		}
		if (missing[0] != '\0') {
			snprintf(err, n, "legacy table(s) not found in MySQL database \"%s\": %s",
				 cfg->mysql.database, missing);
			ok = false;
		}
	}
	free(json);
	free(seen);
	return ok;
}

static bool read_indexes(MYSQL *m, const struct config *cfg, struct legacy_catalog *cat,
			 const char *db_lit, char *err, size_t n)
{
	char sql[600];
	snprintf(sql, sizeof(sql),
		 "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME FROM "
		 "information_schema.STATISTICS WHERE TABLE_SCHEMA = '%s' "
		 "ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
		 db_lit);
	MYSQL_RES *res = query_all(m, sql, err, n);
	if (res == NULL)
		return false;
	bool ok = true;
	MYSQL_ROW row;
	while (ok && (row = mysql_fetch_row(res)) != NULL) {
		if (row[0] == NULL || row[2] == NULL || row[3] == NULL)
			continue;
		long t = legacy_index(cfg, row[0]);
		if (t < 0)
			continue;
		ok = catalog_add_index_column(cat, cfg->legacy.tables[t], row[1],
					      (unsigned)strtoul(row[2], NULL, 10), row[3]);
	}
	mysql_free_result(res);
	if (!ok)
		snprintf(err, n, "out of memory reading the legacy indexes");
	return ok;
}

struct legacy_catalog *mysqlb_load_catalog(const struct config *cfg, char *err, size_t n,
					   bool *unreachable)
{
	*unreachable = false;
	MYSQL *m = mysql_init(NULL);
	if (m == NULL) {
		snprintf(err, n, "out of memory");
		return NULL;
	}
	set_options(m, cfg, false);
	if (mysql_real_connect(m, cfg->mysql.host, cfg->mysql.user, cfg->mysql.password,
			       cfg->mysql.database, cfg->mysql.port, NULL, 0) == NULL) {
		snprintf(err, n, "cannot connect to MySQL at %s:%u as \"%s\": %s", cfg->mysql.host,
			 cfg->mysql.port, cfg->mysql.user, mysql_error(m));
		*unreachable = mysql_errno(m) == CR_CONNECTION_ERROR ||
			       mysql_errno(m) == CR_CONN_HOST_ERROR ||
			       mysql_errno(m) == CR_SERVER_LOST || mysql_errno(m) == CR_SERVER_GONE_ERROR;
		mysql_close(m);
		return NULL;
	}
	struct legacy_catalog *cat = NULL;
	char db_lit[2 * 64 + 1];
	mysql_real_escape_string(m, db_lit, cfg->mysql.database, strlen(cfg->mysql.database));
	if (check_grants(m, cfg, err, n)) {
		cat = catalog_new(cfg->mysql.database, cfg->legacy.schema, cfg->mysql.tinyint1_as_bool);
		if (cat == NULL)
			snprintf(err, n, "out of memory");
	}
	if (cat != NULL && (!read_columns(m, cfg, cat, db_lit, err, n) ||
			    !read_indexes(m, cfg, cat, db_lit, err, n))) {
		catalog_free(cat);
		cat = NULL;
	}
	if (cat != NULL)
		catalog_finish(cat);
	mysql_close(m);
	return cat;
}

/* ---- errors ---- */

static bool lost_error(unsigned code)
{
	return code == CR_SERVER_GONE_ERROR || code == CR_SERVER_LOST ||
	       code == CR_CONNECTION_ERROR || code == CR_CONN_HOST_ERROR ||
	       code == CR_SERVER_LOST_EXTENDED || code == ER_CONNECTION_KILLED ||
	       code == ER_SERVER_SHUTDOWN;
}

/* Postgres' SQLSTATE for a MySQL error; MySQL's own when it is a standard class. */
static void map_sqlstate(unsigned code, const char *mystate, char out[6])
{
	static const struct {
		unsigned code;
		const char *state;
	} map[] = {
		{ ER_NO_SUCH_TABLE, "42P01" },      { ER_BAD_FIELD_ERROR, "42703" },
		{ ER_QUERY_INTERRUPTED, "57014" },  { ER_DIVISION_BY_ZERO, "22012" },
		{ ER_LOCK_WAIT_TIMEOUT, "55P03" },  { ER_LOCK_DEADLOCK, "40P01" },
		{ ER_TABLEACCESS_DENIED_ERROR, "42501" }, { ER_COLUMNACCESS_DENIED_ERROR, "42501" },
		{ ER_DBACCESS_DENIED_ERROR, "42501" }, { ER_CON_COUNT_ERROR, "53300" },
		{ ER_TOO_MANY_USER_CONNECTIONS, "53300" }, { ER_OUT_OF_RESOURCES, "53200" },
		{ ER_WARN_DATA_OUT_OF_RANGE, "22003" }, { ER_DATA_OUT_OF_RANGE, "22003" },
		{ ER_TRUNCATED_WRONG_VALUE, "22P02" },
		{ ER_STATEMENT_TIMEOUT, "57014" },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (map[i].code == code) {
			memcpy(out, map[i].state, 6);
			return;
		}
	}
	if (lost_error(code)) {
		memcpy(out, "08006", 6);
		return;
	}
	/* MySQL's SQLSTATEs of classes Postgres shares (22, 23, 40, 42) mean the same there. */
	if (mystate != NULL && strlen(mystate) == 5 && strcmp(mystate, "HY000") != 0 &&
	    strncmp(mystate, "42S", 3) != 0) {
		memcpy(out, mystate, 6);
		return;
	}
	memcpy(out, "XX000", 6);
}

static void error_from(MYSQL *m, const struct config *cfg, struct mysqlb_error *e)
{
	memset(e, 0, sizeof(*e));
	e->code = mysql_errno(m);
	e->lost = lost_error(e->code);
	map_sqlstate(e->code, mysql_sqlstate(m), e->sqlstate);
	if (e->lost)
		snprintf(e->message, sizeof(e->message),
			 "lost the connection to the legacy MySQL at %s:%u: %s", cfg->mysql.host,
			 cfg->mysql.port, mysql_error(m));
	else
		snprintf(e->message, sizeof(e->message), "%s", mysql_error(m));
	snprintf(e->detail, sizeof(e->detail), "MySQL error %u (%s)", e->code, mysql_sqlstate(m));
}

static void error_own(struct mysqlb_error *e, const char *sqlstate, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void error_own(struct mysqlb_error *e, const char *sqlstate, const char *fmt, ...)
{
	va_list ap;
	memset(e, 0, sizeof(*e));
	memcpy(e->sqlstate, sqlstate, 6);
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

/* ---- connections and jobs ---- */

enum conn_state {
	CONN_ST_CONNECTING = 0, /* connect and session set-up, for a job */
	CONN_ST_IDLE,           /* in the pool's idle list */
	CONN_ST_BUSY,           /* running a job */
	CONN_ST_PINNED,         /* held by a session between its jobs (a snapshot is open) */
	CONN_ST_DRAINING,       /* its job was abandoned: finishing the result, then reused */
	CONN_ST_CLOSING,        /* mysql_close in progress */
};

/* The non-blocking operation in progress. */
enum conn_op {
	OP_NONE = 0,
	OP_CONNECT,   /* mysql_real_connect */
	OP_SETUP,     /* the session set-up statement */
	OP_PING,      /* mysql_ping before reuse */
	OP_BEGIN,     /* START TRANSACTION for a new pin */
	OP_QUERY,     /* the job's statement, sent ... */
	OP_RESULT,    /* ... and its answer, read once the socket has it */
	OP_FETCH,     /* the next row */
	OP_FREE,      /* mysql_free_result (reads what is left of the result) */
	OP_WARNINGS,  /* SHOW WARNINGS after a result that had some ... */
	OP_WARN_STORE, /* ... and its (small) result */
	OP_ROLLBACK,  /* ending a pin */
	OP_CLOSE,     /* mysql_close */
	OP_KILL,      /* killer connection: connect ... */
	OP_KILL_QUERY, /* ... then KILL QUERY */
};

TAILQ_HEAD(mysqlb_conn_list, mysqlb_conn);
TAILQ_HEAD(mysqlb_job_list, mysqlb_job);

struct mysqlb_conn {
	MYSQL mysql;
	struct mysqlb_pool *pool;
	struct event *ev;      /* a wait for writing or with a timeout (connecting) */
	/*
	 * Waits for reading alone — nearly all of them once connected — use a
	 * persistent read event that stays registered between queries: no
	 * epoll_ctl per wait. Readable while nothing waits means the server
	 * closed or gave up on the connection.
	 */
	struct event *rev;
	bool rev_armed;
	bool waiting;          /* an operation waits for the socket */
	enum conn_state state;
	enum conn_op op;
	bool started;          /* op's _start ran; _cont continues it */
	bool counted;          /* holds a slot of pool_size */
	bool in_txn;           /* a START TRANSACTION is open on it */
	unsigned gen;          /* pool generation it was opened under */
	int64_t idle_since_ms;
	MYSQL_RES *res;
	struct mysqlb_job *job;
	struct mysqlb_conn **pin;  /* the owner's slot while pinned (or pinning) */
	unsigned long kill_id;    /* OP_KILL: the thread to kill */
	TAILQ_ENTRY(mysqlb_conn) link;
};

struct mysqlb_job {
	struct mysqlb_pool *pool;
	struct mysqlb_conn *conn;   /* NULL while waiting for one */
	const struct mysqlb_ops *ops;
	void *arg;
	char *sql;
	size_t len;
	struct mysqlb_conn **pin;
	bool new_pin;               /* take a connection and START TRANSACTION first */
	bool paused;
	bool abandoned;
	bool cancelled;             /* KILL QUERY was asked for */
	bool timed_out;
	bool warnings_read;         /* SHOW WARNINGS ran for it */
	bool queued;                /* on the pool's waiting list */
	int timeout_ms;
	struct event *timer;        /* statement_timeout */
	struct event *kick;         /* runs the first step / a failure outside the caller */
	struct event *wait_timer;   /* pool_timeout_ms while it waits for a connection */
	struct mysqlb_error err;
	bool failed;
	TAILQ_ENTRY(mysqlb_job) link;
};

struct mysqlb_pool {
	struct worker *w;
	struct mysqlb_conn_list idle;
	struct mysqlb_conn_list all;  /* busy, pinned, draining, connecting, closing */
	struct mysqlb_job_list waiting;
	int open;                     /* this worker's connections counted in proxy.mysql_total */
	unsigned gen;                 /* bumped when [mysql] changes */
	int64_t retry_at_ms;          /* no connects before this (backoff) */
	struct event *retry_ev;       /* serve_waiting from a callback of its own (a slot freed) */
	int backoff_ms;
	struct log_ratelimit down_rl;
};

static const struct config *cfg_of(const struct mysqlb_pool *p)
{
	return p->w->cfg;
}

static void advance(struct mysqlb_conn *c, int ready);
static void job_finish(struct mysqlb_job *j);
static void conn_release(struct mysqlb_conn *c);
static void serve_waiting(struct mysqlb_pool *p);

static void conn_drop(struct mysqlb_conn *c);

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct mysqlb_conn *c = arg;

	(void)fd;
	(void)what;
	if (c->waiting) {
		c->waiting = false;
		advance(c, MYSQL_WAIT_READ);
		return;
	}
	/* Nothing asked: an idle (or pinned, between jobs) connection the server closed. */
	if (c->job == NULL && (c->state == CONN_ST_IDLE || c->state == CONN_ST_PINNED)) {
		log_info(c->pool->w->id, -1, "MySQL closed an idle connection", NULL);
		struct mysqlb_pool *p = c->pool;
		conn_drop(c);
		serve_waiting(p);
		return;
	}
	/* A paused result: more rows wait in the socket until the job resumes. */
	event_del(c->rev);
	c->rev_armed = false;
}

static void rev_off(struct mysqlb_conn *c)
{
	if (c->rev_armed) {
		event_del(c->rev);
		c->rev_armed = false;
	}
}

static void on_event(evutil_socket_t fd, short what, void *arg)
{
	struct mysqlb_conn *c = arg;
	int ready = 0;

	(void)fd;
	c->waiting = false;
	if (what & EV_READ)
		ready |= MYSQL_WAIT_READ;
	if (what & EV_WRITE)
		ready |= MYSQL_WAIT_WRITE;
	if (what & EV_TIMEOUT)
		ready |= MYSQL_WAIT_TIMEOUT;
	advance(c, ready);
}

/* Arms the connection's event for what Connector/C waits for. */
static void wait_for(struct mysqlb_conn *c, int status)
{
	short what = 0;
	struct timeval tv, *tvp = NULL;
	struct mysqlb_job *j = c->job;

	if (j != NULL && !j->abandoned && j->ops->waiting != NULL)
		j->ops->waiting(j->arg);

	if (status == MYSQL_WAIT_READ && c->rev != NULL) {
		c->waiting = true;
		if (!c->rev_armed) {
			event_add(c->rev, NULL);
			c->rev_armed = true;
		}
		return;
	}
	rev_off(c);
	c->waiting = true;
	if (status & MYSQL_WAIT_READ)
		what |= EV_READ;
	if (status & MYSQL_WAIT_WRITE)
		what |= EV_WRITE;
	if (status & MYSQL_WAIT_TIMEOUT) {
		unsigned ms = mysql_get_timeout_value_ms(&c->mysql);
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		tvp = &tv;
	}
	event_del(c->ev);
	event_assign(c->ev, c->pool->w->base, mysql_get_socket(&c->mysql), what, on_event, c);
	event_add(c->ev, tvp);
}

static void conn_free(struct mysqlb_conn *c)
{
	struct mysqlb_pool *p = c->pool;

	if (c->state == CONN_ST_IDLE)
		TAILQ_REMOVE(&p->idle, c, link);
	else
		TAILQ_REMOVE(&p->all, c, link);
	if (c->pin != NULL && *c->pin == c)
		*c->pin = NULL;
	if (c->counted) {
		p->open--;
		atomic_fetch_sub(&p->w->proxy->mysql_total, 1);
		/* A slot is free: jobs waiting here or on other workers may take it. */
		if (atomic_load(&p->w->proxy->mysql_waiters) > 0)
			proxy_wake_all(p->w->proxy, PROXY_WAKE_MYSQL, p->w);
		if (!TAILQ_EMPTY(&p->waiting) && p->retry_ev != NULL)
			event_active(p->retry_ev, 0, 0);
	}
	event_free(c->ev);
	if (c->rev != NULL)
		event_free(c->rev);
	free(c);
}

/* Closes without a goodbye (the connection is broken or the pool goes away). */
static void conn_drop(struct mysqlb_conn *c)
{
	if (c->res != NULL)
		mysql_free_result(c->res);
	c->res = NULL;
	mysql_close(&c->mysql);
	conn_free(c);
}

static struct mysqlb_conn *conn_new(struct mysqlb_pool *p, bool counted)
{
	struct mysqlb_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->ev = event_new(p->w->base, -1, 0, on_event, c);
	if (c->ev == NULL || mysql_init(&c->mysql) == NULL) {
		if (c->ev)
			event_free(c->ev);
		free(c);
		return NULL;
	}
	c->pool = p;
	c->gen = p->gen;
	c->counted = counted;
	set_options(&c->mysql, cfg_of(p), true);
	TAILQ_INSERT_TAIL(&p->all, c, link);
	if (counted) {
		p->open++;
		atomic_fetch_add(&p->w->proxy->mysql_total, 1);
	}
	return c;
}

static void start_op(struct mysqlb_conn *c, enum conn_op op)
{
	c->op = op;
	c->started = false;
}

/* ---- the kill connection ---- */

/* KILL QUERY <thread> from a connection of its own (not counted in pool_size). */
static void send_kill(struct mysqlb_pool *p, unsigned long thread)
{
	struct mysqlb_conn *k = conn_new(p, false);
	if (k == NULL) {
		log_warn(p->w->id, -1, "cannot kill a MySQL query: out of memory", NULL);
		return;
	}
	k->state = CONN_ST_BUSY;
	k->kill_id = thread;
	start_op(k, OP_KILL);
	advance(k, 0);
}

/* ---- the state machine ---- */

/*
 * Runs the current op; returns true when it completed (ok tells how),
 * false when it waits for the socket (the event is armed).
 */
static bool run_op(struct mysqlb_conn *c, int ready, bool *ok)
{
	MYSQL *m = &c->mysql;
	const struct config *cfg = cfg_of(c->pool);
	int st = 0, ret = 0;
	MYSQL *mret = NULL;
	MYSQL_ROW row = NULL;
	bool first = !c->started;
	c->started = true;

	switch (c->op) {
	case OP_CONNECT:
	case OP_KILL:
		st = first ? mysql_real_connect_start(&mret, m, cfg->mysql.host, cfg->mysql.user,
						      cfg->mysql.password, cfg->mysql.database,
						      cfg->mysql.port, NULL, 0)
			   : mysql_real_connect_cont(&mret, m, ready);
		if (st != 0)
			break;
		*ok = mret != NULL;
		return true;
	case OP_KILL_QUERY: {
		char sql[64];
		snprintf(sql, sizeof(sql), "KILL QUERY %lu", c->kill_id);
		st = first ? mysql_real_query_start(&ret, m, sql, strlen(sql))
			   : mysql_real_query_cont(&ret, m, ready);
		if (st != 0)
			break;
		*ok = ret == 0;
		return true;
	}
	case OP_SETUP:
	case OP_BEGIN:
	case OP_ROLLBACK: {
		const char *sql;
		size_t len;
		if (c->op == OP_SETUP)
			sql = xlate_session_setup(), len = strlen(sql);
		else if (c->op == OP_BEGIN)
			sql = "START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT", len = strlen(sql);
		else
			sql = "ROLLBACK", len = 8;
		st = first ? mysql_real_query_start(&ret, m, sql, (unsigned long)len)
			   : mysql_real_query_cont(&ret, m, ready);
		if (st != 0)
			break;
		*ok = ret == 0;
		return true;
	}
	case OP_QUERY:
		st = first ? mysql_send_query_start(&ret, m, c->job->sql, (unsigned long)c->job->len)
			   : mysql_send_query_cont(&ret, m, ready);
		if (st != 0)
			break;
		*ok = ret == 0;
		return true;
	case OP_RESULT: {
		my_bool failed = 1;
		st = first ? mysql_read_query_result_start(&failed, m)
			   : mysql_read_query_result_cont(&failed, m, ready);
		if (st != 0)
			break;
		*ok = failed == 0;
		return true;
	}
	case OP_PING:
		st = first ? mysql_ping_start(&ret, m) : mysql_ping_cont(&ret, m, ready);
		if (st != 0)
			break;
		*ok = ret == 0;
		return true;
	case OP_FETCH:
		st = first ? mysql_fetch_row_start(&row, c->res) : mysql_fetch_row_cont(&row, c->res, ready);
		if (st != 0)
			break;
		*ok = row != NULL;
		if (row != NULL && c->job != NULL && !c->job->abandoned && !c->job->failed) {
			unsigned long *lens = mysql_fetch_lengths(c->res);
			enum mysqlb_row_verdict v =
				c->job->ops->row(c->job->arg, row, lens, mysql_num_fields(c->res));
			if (v == MYSQLB_ROW_PAUSE)
				c->job->paused = true;
			else if (v == MYSQLB_ROW_STOP)
				error_own(&c->job->err, "53200", "out of memory"), c->job->failed = true;
		}
		return true;
	case OP_FREE:
		st = first ? mysql_free_result_start(c->res) : mysql_free_result_cont(c->res, ready);
		if (st != 0)
			break;
		c->res = NULL;
		*ok = true;
		return true;
	case OP_WARNINGS:
		st = first ? mysql_real_query_start(&ret, m, "SHOW WARNINGS", 13)
			   : mysql_real_query_cont(&ret, m, ready);
		if (st != 0)
			break;
		*ok = ret == 0;
		return true;
	case OP_WARN_STORE: {
		MYSQL_RES *res = NULL;
		st = first ? mysql_store_result_start(&res, m) : mysql_store_result_cont(&res, m, ready);
		if (st != 0)
			break;
		c->res = res;
		*ok = res != NULL;
		return true;
	}
	case OP_CLOSE:
		st = first ? mysql_close_start(m) : mysql_close_cont(m, ready);
		if (st != 0)
			break;
		*ok = true;
		return true;
	case OP_NONE:
		*ok = true;
		return true;
	}
	wait_for(c, st);
	return false;
}

/* The job's connection failed at the MySQL level: fail the job, drop or keep the connection. */
static void job_fail_mysql(struct mysqlb_job *j, struct mysqlb_conn *c)
{
	if (!j->failed) {
		error_from(&c->mysql, cfg_of(j->pool), &j->err);
		if (j->timed_out && j->err.code == ER_QUERY_INTERRUPTED)
			snprintf(j->err.message, sizeof(j->err.message),
				 "canceling statement due to statement timeout");
		else if (j->cancelled && j->err.code == ER_QUERY_INTERRUPTED)
			snprintf(j->err.message, sizeof(j->err.message),
				 "canceling statement due to user request");
		j->failed = true;
	}
}

/* The first warning Postgres would have raised as an error fails the job. */
static void warnings_to_error(struct mysqlb_job *j, MYSQL_RES *res)
{
	static const struct {
		unsigned code;
		const char *state;
		const char *message; /* Postgres' own wording, or NULL for MySQL's */
	} map[] = {
		{ ER_DIVISION_BY_ZERO, "22012", "division by zero" },
		{ ER_WARN_DATA_OUT_OF_RANGE, "22003", NULL },
		{ ER_TRUNCATED_WRONG_VALUE, "22P02", NULL },
		{ ER_TRUNCATED_WRONG_VALUE_FOR_FIELD, "22P02", NULL },
		{ ER_DATA_OUT_OF_RANGE, "22003", NULL },
		{ ER_WRONG_VALUE_FOR_TYPE, "22007", NULL },
	};
	MYSQL_ROW row;
	while (res != NULL && (row = mysql_fetch_row(res)) != NULL) {
		unsigned code = row[1] ? (unsigned)strtoul(row[1], NULL, 10) : 0;
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
			if (map[i].code != code)
				continue;
			error_own(&j->err, map[i].state, "%s",
				  map[i].message ? map[i].message : row[2] ? row[2] : "data exception");
			snprintf(j->err.detail, sizeof(j->err.detail), "MySQL warning %u", code);
			j->failed = true;
			return;
		}
	}
}

/* Picks the next op after <c->op> completed with <ok>; false when the connection is gone. */
static bool next_op(struct mysqlb_conn *c, bool ok)
{
	struct mysqlb_pool *p = c->pool;
	struct mysqlb_job *j = c->job;

	switch (c->op) {
	case OP_KILL:
		if (ok) {
			start_op(c, OP_KILL_QUERY);
			return true;
		}
		log_warn(p->w->id, -1, "cannot kill a MySQL query: no connection", NULL);
		conn_drop(c);
		return false;
	case OP_KILL_QUERY:
		conn_drop(c);
		return false;
	case OP_CONNECT:
		if (!ok) {
			char q[200];
			uint64_t suppressed = 0;
			p->retry_at_ms = clock_ms() + p->backoff_ms;
			p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
									   : p->backoff_ms * 2;
			if (log_ratelimit_take(&p->down_rl, &suppressed))
				log_warn(p->w->id, -1, "cannot connect to MySQL",
					 "host=%s port=%u error=%s retry_ms=%d count=%llu",
					 cfg_of(p)->mysql.host, cfg_of(p)->mysql.port,
					 log_quote(q, sizeof(q), mysql_error(&c->mysql)), p->backoff_ms,
					 (unsigned long long)suppressed);
			if (j != NULL) {
				error_from(&c->mysql, cfg_of(p), &j->err);
				j->err.lost = true;
				memcpy(j->err.sqlstate, "08006", 6);
				snprintf(j->err.message, sizeof(j->err.message),
					 "cannot connect to the legacy MySQL at %s:%u: %s",
					 cfg_of(p)->mysql.host, cfg_of(p)->mysql.port,
					 mysql_error(&c->mysql));
				j->failed = true;
				j->conn = NULL;
				c->job = NULL;
				job_finish(j);
			}
			conn_drop(c);
			serve_waiting(p); /* the others fail fast until the retry */
			return false;
		}
		p->backoff_ms = BACKOFF_MIN_MS;
		/* The socket exists now: waits for reading get their persistent event. */
		c->rev = event_new(p->w->base, mysql_get_socket(&c->mysql), EV_READ | EV_PERSIST,
				   on_readable, c);
		start_op(c, OP_SETUP);
		return true;
	case OP_SETUP:
	case OP_PING:
		if (!ok)
			break;
		if (c->op == OP_SETUP)
			c->state = CONN_ST_BUSY;
		if (j == NULL) { /* a drained connection's ping: back to idle */
			conn_release(c);
			return false;
		}
		start_op(c, j->new_pin ? OP_BEGIN : OP_QUERY);
		return true;
	case OP_BEGIN:
		if (!ok)
			break;
		*j->pin = c;
		c->pin = j->pin;
		c->in_txn = true;
		j->new_pin = false;
		start_op(c, OP_QUERY);
		return true;
	case OP_QUERY:
		if (!ok)
			break;
		/*
		 * The answer cannot be there yet: wait for it before the first
		 * read (mysql_real_query would try one at once, in vain, every time).
		 */
		start_op(c, OP_RESULT);
		wait_for(c, MYSQL_WAIT_READ);
		return false;
	case OP_RESULT:
		if (!ok)
			break;
		if (mysql_field_count(&c->mysql) == 0) {
			start_op(c, OP_NONE);
			c->job = NULL;
			j->conn = NULL;
			job_finish(j);
			conn_release(c);
			return false;
		}
		c->res = mysql_use_result(&c->mysql);
		if (c->res == NULL)
			break;
		if (!j->abandoned && !j->failed && !j->ops->columns(j->arg, mysql_num_fields(c->res))) {
			error_own(&j->err, "53200", "out of memory");
			j->failed = true;
		}
		start_op(c, OP_FETCH);
		return true;
	case OP_FETCH:
		if (!ok) { /* no row: the end, or an error */
			if (mysql_errno(&c->mysql) != 0)
				job_fail_mysql(j, c);
			start_op(c, OP_FREE);
			return true;
		}
		if (j->failed || j->abandoned) { /* read the rest quickly: freeing does it */
			start_op(c, OP_FREE);
			return true;
		}
		start_op(c, OP_FETCH);
		if (j->paused)
			rev_off(c); /* the rows that come meanwhile wait in the socket */
		return !j->paused;
	case OP_WARNINGS:
		if (!ok)
			break;
		start_op(c, OP_WARN_STORE);
		return true;
	case OP_WARN_STORE:
		if (!ok)
			break;
		if (j != NULL)
			warnings_to_error(j, c->res);
		mysql_free_result(c->res); /* stored: no I/O left */
		c->res = NULL;
		start_op(c, OP_FREE);
		c->started = true; /* OP_FREE below finds no result and finishes the job */
		return next_op(c, true);
	case OP_FREE: {
		/*
		 * MySQL answers some errors Postgres raises (division by zero, bad
		 * casts) with NULL and a warning: those warnings fail the job.
		 */
		if (j != NULL && !j->failed && !j->abandoned && !j->warnings_read &&
		    mysql_warning_count(&c->mysql) > 0) {
			j->warnings_read = true;
			start_op(c, OP_WARNINGS);
			return true;
		}
		start_op(c, OP_NONE);
		/*
		 * A KILL QUERY sent for a cancel may still be on its way: the
		 * connection must not run anyone else's query it could hit.
		 */
		bool lost = j != NULL && ((j->failed && j->err.lost) || j->cancelled);
		if (j != NULL) {
			c->job = NULL;
			j->conn = NULL;
			job_finish(j);
		}
		if (lost) {
			conn_drop(c);
			return false;
		}
		conn_release(c);
		return false;
	}
	case OP_ROLLBACK:
		if (!ok)
			break;
		c->in_txn = false;
		start_op(c, OP_NONE);
		conn_release(c);
		return false;
	case OP_CLOSE:
		conn_free(c);
		return false;
	case OP_NONE:
		return false;
	}
	/* A MySQL error in a step of a job. */
	unsigned code = mysql_errno(&c->mysql);
	bool cancelled = j != NULL && j->cancelled;
	if (j != NULL) {
		job_fail_mysql(j, c);
		c->job = NULL;
		j->conn = NULL;
		job_finish(j);
	}
	if (lost_error(code) || cancelled || c->op == OP_SETUP || c->op == OP_PING ||
	    c->op == OP_BEGIN || c->op == OP_ROLLBACK) {
		conn_drop(c);
		return false;
	}
	start_op(c, OP_NONE);
	conn_release(c);
	return false;
}

static void advance(struct mysqlb_conn *c, int ready)
{
	for (;;) {
		bool ok = false;
		if (!run_op(c, ready, &ok))
			return;
		ready = 0;
		if (!next_op(c, ok))
			return;
	}
}

/* ---- the pool ---- */

/*
 * A connection with nothing to do: a session's pin keeps it; otherwise it
 * serves the next waiting job or goes idle (or closes when it was opened
 * under other settings).
 */
static void conn_release(struct mysqlb_conn *c)
{
	struct mysqlb_pool *p = c->pool;

	if (c->pin != NULL) {
		c->state = CONN_ST_PINNED;
		return;
	}
	if (c->in_txn) {
		/* Its session let go while a job still ran: end the snapshot first. */
		c->state = CONN_ST_BUSY;
		start_op(c, OP_ROLLBACK);
		advance(c, 0);
		return;
	}
	if (c->gen != p->gen || !c->counted) {
		conn_drop(c);
		serve_waiting(p);
		return;
	}
	TAILQ_REMOVE(&p->all, c, link);
	c->state = CONN_ST_IDLE;
	c->idle_since_ms = clock_ms();
	TAILQ_INSERT_HEAD(&p->idle, c, link);
	if (!TAILQ_EMPTY(&p->waiting))
		serve_waiting(p);
	else if (atomic_load(&p->w->proxy->mysql_waiters) > 0)
		mysqlb_pool_trim(p); /* another worker waits for a slot this one does not need */
}

/* Puts job <j> on connection <c> (idle or new) and starts it. */
static void assign(struct mysqlb_job *j, struct mysqlb_conn *c, bool fresh)
{
	j->conn = c;
	c->job = j;
	if (fresh) {
		c->state = CONN_ST_CONNECTING;
		start_op(c, OP_CONNECT);
	} else {
		if (c->state == CONN_ST_IDLE) {
			TAILQ_REMOVE(&c->pool->idle, c, link);
			TAILQ_INSERT_TAIL(&c->pool->all, c, link);
		}
		bool stale = c->state == CONN_ST_IDLE &&
			     clock_ms() - c->idle_since_ms > MYSQLB_IDLE_PING_MS;
		c->state = CONN_ST_BUSY;
		start_op(c, stale ? OP_PING : j->new_pin ? OP_BEGIN : OP_QUERY);
	}
	advance(c, 0);
}

static void waiting_remove(struct mysqlb_pool *p, struct mysqlb_job *j)
{
	if (j->wait_timer)
		event_del(j->wait_timer);
	j->queued = false;
	TAILQ_REMOVE(&p->waiting, j, link);
	atomic_fetch_sub(&p->w->proxy->mysql_waiters, 1);
}

/* Gives waiting jobs a connection: an idle one, or a new one within pool_size. */
static void serve_waiting(struct mysqlb_pool *p)
{
	struct mysqlb_job *j;

	while ((j = TAILQ_FIRST(&p->waiting)) != NULL) {
		struct mysqlb_conn *c = TAILQ_FIRST(&p->idle);
		bool fresh = false;
		if (c == NULL) {
			int total = atomic_load(&p->w->proxy->mysql_total);
			if (total >= cfg_of(p)->mysql.pool_size) {
				proxy_wake_all(p->w->proxy, PROXY_WAKE_MYSQL_TRIM, p->w);
				return;
			}
			if (clock_ms() < p->retry_at_ms) {
				waiting_remove(p, j);
				error_own(&j->err, "08006",
					  "the legacy MySQL at %s:%u is unreachable (retrying)",
					  cfg_of(p)->mysql.host, cfg_of(p)->mysql.port);
				j->err.lost = true;
				j->failed = true;
				job_finish(j);
				continue;
			}
			c = conn_new(p, true);
			if (c == NULL)
				return;
			fresh = true;
		}
		waiting_remove(p, j);
		assign(j, c, fresh);
	}
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	serve_waiting(arg);
}

struct mysqlb_pool *mysqlb_pool_new(struct worker *w)
{
	struct mysqlb_pool *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->retry_ev = event_new(w->base, -1, 0, on_retry, p);
	if (p->retry_ev == NULL) {
		free(p);
		return NULL;
	}
	p->w = w;
	TAILQ_INIT(&p->idle);
	TAILQ_INIT(&p->all);
	TAILQ_INIT(&p->waiting);
	p->backoff_ms = BACKOFF_MIN_MS;
	return p;
}

static void job_free(struct mysqlb_job *j)
{
	if (j->wait_timer)
		event_free(j->wait_timer);
	if (j->timer)
		event_free(j->timer);
	if (j->kick)
		event_free(j->kick);
	free(j->sql);
	free(j);
}

void mysqlb_pool_free(struct mysqlb_pool *p)
{
	if (p == NULL)
		return;
	struct mysqlb_job *j;
	while ((j = TAILQ_FIRST(&p->waiting)) != NULL) {
		waiting_remove(p, j);
		job_free(j);
	}
	struct mysqlb_conn *c;
	while ((c = TAILQ_FIRST(&p->idle)) != NULL)
		conn_drop(c);
	while ((c = TAILQ_FIRST(&p->all)) != NULL) {
		if (c->job != NULL)
			job_free(c->job);
		conn_drop(c);
	}
	event_free(p->retry_ev);
	free(p);
}

void mysqlb_pool_reconfigured(struct mysqlb_pool *p)
{
	p->gen++;
	struct mysqlb_conn *c;
	while ((c = TAILQ_FIRST(&p->idle)) != NULL)
		conn_drop(c);
	p->retry_at_ms = 0;
	p->backoff_ms = BACKOFF_MIN_MS;
}

void mysqlb_pool_trim(struct mysqlb_pool *p)
{
	struct mysqlb_conn *c = TAILQ_LAST(&p->idle, mysqlb_conn_list);
	if (c != NULL)
		conn_drop(c); /* the slot is free: conn_free wakes whoever waits for one */
	serve_waiting(p);
}

void mysqlb_pool_retry(struct mysqlb_pool *p)
{
	serve_waiting(p);
}

/* ---- jobs ---- */

/* Calls done() (unless abandoned) and frees the job. */
static void job_finish(struct mysqlb_job *j)
{
	if (j->timer)
		event_del(j->timer);
	if (!j->abandoned) {
		unsigned warnings = 0;
		j->ops->done(j->arg, j->failed ? &j->err : NULL, warnings);
	}
	job_free(j);
}

static void abandon_now(struct mysqlb_job *j);

static void on_wait_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct mysqlb_job *j = arg;
	struct mysqlb_pool *p = j->pool;

	(void)fd;
	(void)what;
	if (!j->queued)
		return;
	waiting_remove(p, j);
	error_own(&j->err, "53300",
		  "no connection to the legacy MySQL came free within pool_timeout_ms (%d ms)",
		  p->w->cfg->proxy.pool_timeout_ms);
	snprintf(j->err.detail, sizeof(j->err.detail), "[mysql] pool_size = %d, all in use",
		 p->w->cfg->mysql.pool_size);
	j->failed = true;
	job_finish(j);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct mysqlb_job *j = arg;
	struct mysqlb_pool *p = j->pool;

	(void)fd;
	(void)what;
	if (j->abandoned) {
		if (j->conn != NULL)
			abandon_now(j);
		else
			job_free(j);
		return;
	}
	if (j->failed) {
		job_finish(j);
		return;
	}
	if (j->pin != NULL && *j->pin != NULL) {
		struct mysqlb_conn *c = *j->pin;
		if (c->state != CONN_ST_PINNED || c->job != NULL) {
			/*
			 * A cursor or suspended portal of the block still holds its result
			 * open on the snapshot's connection, and MySQL reads one result at
			 * a time per connection: no other connection can share the snapshot.
			 */
			error_own(&j->err, "0A000",
				  "another legacy read of this transaction is still open (a cursor or "
				  "a portal suspended at a row limit): MySQL answers one at a time per "
				  "transaction");
			snprintf(j->err.detail, sizeof(j->err.detail),
				 "Fetch the open one to its end or close it first.");
			j->failed = true;
			job_finish(j);
			return;
		}
		assign(j, c, false);
		return;
	}
	/* As for Supabase's pool: a slot within pool_timeout_ms, or 53300. */
	int ms = p->w->cfg->proxy.pool_timeout_ms;
	j->wait_timer = evtimer_new(p->w->base, on_wait_timeout, j);
	if (j->wait_timer != NULL) {
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
		evtimer_add(j->wait_timer, &tv);
	}
	j->queued = true;
	TAILQ_INSERT_TAIL(&p->waiting, j, link);
	atomic_fetch_add(&p->w->proxy->mysql_waiters, 1);
	serve_waiting(p);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct mysqlb_job *j = arg;

	(void)fd;
	(void)what;
	j->timed_out = true;
	mysqlb_job_cancel(j);
}

struct mysqlb_job *mysqlb_query(struct mysqlb_pool *p, struct mysqlb_conn **pin, const char *sql,
				size_t len, int timeout_ms, const struct mysqlb_ops *ops, void *arg)
{
	struct mysqlb_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return NULL;
	j->pool = p;
	j->ops = ops;
	j->arg = arg;
	j->pin = pin;
	j->new_pin = pin != NULL && *pin == NULL;
	j->timeout_ms = timeout_ms;
	j->sql = malloc(len + 1);
	j->kick = event_new(p->w->base, -1, 0, on_kick, j);
	if (timeout_ms > 0)
		j->timer = event_new(p->w->base, -1, 0, on_timeout, j);
	if (j->sql == NULL || j->kick == NULL || (timeout_ms > 0 && j->timer == NULL)) {
		job_free(j);
		return NULL;
	}
	memcpy(j->sql, sql, len);
	j->sql[len] = '\0';
	j->len = len;
	if (j->timer != NULL) {
		struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
		event_add(j->timer, &tv);
	}
	event_active(j->kick, 0, 0);
	return j;
}

void mysqlb_job_resume(struct mysqlb_job *j)
{
	if (!j->paused)
		return;
	j->paused = false;
	if (j->conn != NULL && j->conn->op == OP_FETCH && !j->conn->started)
		advance(j->conn, 0);
}

void mysqlb_job_cancel(struct mysqlb_job *j)
{
	if (j->cancelled)
		return;
	j->cancelled = true;
	if (j->conn == NULL) {
		/* Still waiting for a connection: it ends here. */
		if (!j->failed) {
			error_own(&j->err, "57014", "%s",
				  j->timed_out ? "canceling statement due to statement timeout"
					       : "canceling statement due to user request");
			j->failed = true;
		}
		if (j->queued) {
			waiting_remove(j->pool, j);
			job_finish(j);
		}
		return; /* otherwise the kick event finishes it */
	}
	send_kill(j->pool, mysql_thread_id(&j->conn->mysql));
}

void mysqlb_job_abandon(struct mysqlb_job *j)
{
	j->abandoned = true;
	if (j->timer)
		event_del(j->timer);
	if (j->queued) {
		waiting_remove(j->pool, j);
		job_free(j);
		return;
	}
	/* Acted on from the job's own callback (the caller may be inside this connection's). */
	event_active(j->kick, 0, 0);
}

/*
 * An abandoned job on a connection. A KILL QUERY would race with the next
 * query the connection runs, so: a connection of the pool is closed (MySQL
 * drops the query with it); the snapshot connection of a transaction that
 * goes on is drained instead, reading what is left of the result.
 */
static void abandon_now(struct mysqlb_job *j)
{
	struct mysqlb_conn *c = j->conn;
	if (c->pin == NULL && !c->in_txn) {
		struct mysqlb_pool *p = c->pool;
		c->job = NULL;
		j->conn = NULL;
		job_free(j);
		conn_drop(c);
		serve_waiting(p);
		return;
	}
	if (j->paused) {
		j->paused = false;
		if (c->op == OP_FETCH && !c->started)
			advance(c, 0);
	}
}

void mysqlb_unpin(struct mysqlb_conn **pin)
{
	struct mysqlb_conn *c = *pin;
	if (c == NULL)
		return;
	*pin = NULL;
	c->pin = NULL;
	if (c->state != CONN_ST_PINNED) {
		/* A job is still running on it (abandoned): it is released when done. */
		return;
	}
	c->state = CONN_ST_BUSY;
	start_op(c, OP_ROLLBACK);
	advance(c, 0);
}

/* ---- blocking sessions ---- */

struct mysqlb_sync {
	MYSQL *m;
};

struct mysqlb_sync *mysqlb_sync_open(const struct config *cfg, int read_timeout_s, char *err,
				     size_t n)
{
	struct mysqlb_sync *s = calloc(1, sizeof(*s));
	if (s == NULL || (s->m = mysql_init(NULL)) == NULL) {
		free(s);
		snprintf(err, n, "out of memory");
		return NULL;
	}
	set_options(s->m, cfg, false);
	if (read_timeout_s > 0) {
		unsigned t = (unsigned)read_timeout_s;
		mysql_options(s->m, MYSQL_OPT_READ_TIMEOUT, &t);
	}
	if (mysql_real_connect(s->m, cfg->mysql.host, cfg->mysql.user, cfg->mysql.password,
			       cfg->mysql.database, cfg->mysql.port, NULL, 0) == NULL) {
		snprintf(err, n, "cannot connect to MySQL at %s:%u as \"%s\": %s", cfg->mysql.host,
			 cfg->mysql.port, cfg->mysql.user, mysql_error(s->m));
		mysqlb_sync_close(s);
		return NULL;
	}
	if (!mysqlb_sync_exec(s, xlate_session_setup(), err, n)) {
		mysqlb_sync_close(s);
		return NULL;
	}
	return s;
}

void mysqlb_sync_close(struct mysqlb_sync *s)
{
	if (s == NULL)
		return;
	if (s->m)
		mysql_close(s->m);
	free(s);
}

bool mysqlb_sync_exec(struct mysqlb_sync *s, const char *sql, char *err, size_t n)
{
	if (mysql_real_query(s->m, sql, strlen(sql)) != 0) {
		snprintf(err, n, "MySQL: %s (error %u)", mysql_error(s->m), mysql_errno(s->m));
		return false;
	}
	MYSQL_RES *res = mysql_store_result(s->m);
	if (res)
		mysql_free_result(res);
	return true;
}

bool mysqlb_sync_query(struct mysqlb_sync *s, const char *sql, size_t len, mysqlb_sync_row_fn row,
		       void *arg, char *err, size_t n)
{
	if (mysql_real_query(s->m, sql, len) != 0) {
		snprintf(err, n, "MySQL: %s (error %u)", mysql_error(s->m), mysql_errno(s->m));
		return false;
	}
	/* Streamed: memory stays bounded whatever the result's size. */
	MYSQL_RES *res = mysql_use_result(s->m);
	if (res == NULL) {
		if (mysql_field_count(s->m) == 0)
			return true;
		snprintf(err, n, "MySQL: %s (error %u)", mysql_error(s->m), mysql_errno(s->m));
		return false;
	}
	unsigned ncols = mysql_num_fields(res);
	MYSQL_ROW r;
	bool more = true;
	while (more && (r = mysql_fetch_row(res)) != NULL)
		more = row(arg, r, mysql_fetch_lengths(res), ncols);
	bool ok = true;
	if (more && mysql_errno(s->m) != 0) {
		snprintf(err, n, "MySQL: %s (error %u)", mysql_error(s->m), mysql_errno(s->m));
		ok = false;
	}
	mysql_free_result(res); /* fetches and drops what a stopped caller left */
	return ok;
}

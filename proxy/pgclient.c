/*
 * pgclient — one libpq connection driven by libevent (see pgclient.h).
 *
 * libpq's non-blocking cycle: PQconnectStartParams then PQconnectPoll each
 * time the socket it names is ready (the socket may change between polls,
 * so the event is made again each time); PQsendQueryParams, PQflush until
 * it returns 0, then PQconsumeInput on readability until PQisBusy is false
 * and PQgetResult has handed over every result. One timer covers the whole
 * statement, connecting included.
 */
#include "proxy/pgclient.h"

#include <event2/event.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/config.h"

enum pgclient_state {
	PGC_ST_CLOSED = 0, /* no connection */
	PGC_ST_CONNECTING, /* PQconnectPoll in progress */
	PGC_ST_IDLE,       /* connected, nothing in flight */
	PGC_ST_SENDING,    /* the statement is being flushed */
	PGC_ST_READING,    /* waiting for results */
};

struct pgclient_result {
	PGresult *res;     /* the statement's result, NULL if it never came */
	bool ok;
	char sqlstate[6];
	char message[300];
};

struct pgclient {
	struct event_base *base;
	char *application_name;
	char *options;           /* libpq "options", NULL for none */
	enum pgclient_state state;
	PGconn *conn;
	struct event *io_ev;
	struct event *deadline_ev;
	struct event *later_ev;  /* delivers an outcome from the loop, not inside pgclient_query */

	/* The statement in flight (state > IDLE, or CONNECTING with one queued). */
	bool pending;
	char *sql;
	int nparams;
	char **values;
	Oid *types;              /* NULL: every type inferred */
	int *lengths;            /* per parameter (binary ones need it) */
	int *formats;            /* NULL: all text */
	int timeout_ms;
	pgclient_done_fn done;
	void *arg;
	struct pgclient_result out;
};

static void on_io(evutil_socket_t fd, short what, void *arg);

static void drop_conn(struct pgclient *c)
{
	if (c->io_ev) {
		event_free(c->io_ev);
		c->io_ev = NULL;
	}
	if (c->conn) {
		PQfinish(c->conn);
		c->conn = NULL;
	}
	c->state = PGC_ST_CLOSED;
}

static void clear_statement(struct pgclient *c)
{
	free(c->sql);
	c->sql = NULL;
	for (int i = 0; i < c->nparams; i++)
		free(c->values[i]);
	free(c->values);
	c->values = NULL;
	free(c->types);
	c->types = NULL;
	free(c->lengths);
	c->lengths = NULL;
	free(c->formats);
	c->formats = NULL;
	c->nparams = 0;
	if (c->out.res) {
		PQclear(c->out.res);
		c->out.res = NULL;
	}
	c->pending = false;
}

/*
 * Ends the statement in flight: the client is free again before its
 * callback runs (which may start the next statement, or free the client);
 * the result lives until the callback returns.
 */
static void finish(struct pgclient *c)
{
	event_del(c->deadline_ev);
	pgclient_done_fn done = c->done;
	void *arg = c->arg;
	struct pgclient_result out = c->out;
	c->out.res = NULL;
	c->done = NULL;
	clear_statement(c);
	if (done)
		done(arg, &out);
	if (out.res)
		PQclear(out.res);
}

static void fail(struct pgclient *c, const char *sqlstate, const char *fmt, const char *what)
{
	c->out.ok = false;
	snprintf(c->out.sqlstate, sizeof(c->out.sqlstate), "%s", sqlstate);
	snprintf(c->out.message, sizeof(c->out.message), fmt, what ? what : "");
	/* libpq's messages end with a newline; logs want one line. */
	size_t n = strlen(c->out.message);
	while (n > 0 && (c->out.message[n - 1] == '\n' || c->out.message[n - 1] == ' '))
		c->out.message[--n] = '\0';
	drop_conn(c);
	finish(c);
}

/* As fail, but the callback runs from the loop: for failures inside pgclient_query. */
static void fail_later(struct pgclient *c, const char *fmt, const char *what)
{
	c->out.ok = false;
	snprintf(c->out.sqlstate, sizeof(c->out.sqlstate), "08006");
	snprintf(c->out.message, sizeof(c->out.message), fmt, what ? what : "");
	drop_conn(c);
	struct timeval now = {0, 0};
	event_add(c->later_ev, &now);
}

static bool watch(struct pgclient *c, short what)
{
	if (c->io_ev)
		event_free(c->io_ev);
	c->io_ev = event_new(c->base, PQsocket(c->conn), what, on_io, c);
	if (c->io_ev == NULL || event_add(c->io_ev, NULL) != 0)
		return false;
	return true;
}

/* libpq's keywords for [supabase] of <cfg>: what every connection switchyard opens itself uses. */
struct conn_params {
	const char *keys[12];
	const char *vals[12];
	char port[8];
	char timeout[16];
};

static void params_of(struct conn_params *pp, const struct config *cfg, const char *app,
		      const char *options)
{
	int n = 0;
	snprintf(pp->port, sizeof(pp->port), "%u", (unsigned)cfg->supabase.port);
	int secs = (cfg->supabase.connect_timeout_ms + 999) / 1000;
	snprintf(pp->timeout, sizeof(pp->timeout), "%d", secs < 2 ? 2 : secs);
	pp->keys[n] = "host", pp->vals[n++] = cfg->supabase.host;
	pp->keys[n] = "port", pp->vals[n++] = pp->port;
	pp->keys[n] = "dbname", pp->vals[n++] = cfg->supabase.database;
	pp->keys[n] = "user", pp->vals[n++] = cfg->supabase.user;
	pp->keys[n] = "password", pp->vals[n++] = cfg->supabase.password;
	pp->keys[n] = "sslmode", pp->vals[n++] = config_sslmode_name(cfg->supabase.sslmode);
	if (cfg->supabase.sslrootcert[0])
		pp->keys[n] = "sslrootcert", pp->vals[n++] = cfg->supabase.sslrootcert;
	pp->keys[n] = "connect_timeout", pp->vals[n++] = pp->timeout;
	pp->keys[n] = "application_name", pp->vals[n++] = app;
	if (options)
		pp->keys[n] = "options", pp->vals[n++] = options;
	pp->keys[n] = NULL, pp->vals[n] = NULL;
}

struct pg_conn *pgclient_connect_sync(const struct config *cfg, const char *application_name,
				      const char *options, char *err, size_t n)
{
	struct conn_params pp;
	params_of(&pp, cfg, application_name, options);
	PGconn *pg = PQconnectdbParams(pp.keys, pp.vals, 0);
	if (pg != NULL && PQstatus(pg) == CONNECTION_OK)
		return pg;
	snprintf(err, n, "cannot connect to Supabase at %s:%u (database %s, user %s): %s",
		 cfg->supabase.host, (unsigned)cfg->supabase.port, cfg->supabase.database,
		 cfg->supabase.user, pg ? PQerrorMessage(pg) : "out of memory");
	size_t l = strlen(err);
	while (l > 0 && (err[l - 1] == '\n' || err[l - 1] == ' '))
		err[--l] = '\0';
	PQfinish(pg);
	return NULL;
}

static bool start_connect(struct pgclient *c, const struct config *cfg)
{
	struct conn_params pp;
	params_of(&pp, cfg, c->application_name, c->options);
	c->conn = PQconnectStartParams(pp.keys, pp.vals, 0);
	if (c->conn == NULL)
		return false;
	if (PQstatus(c->conn) == CONNECTION_BAD) {
		fail_later(c, "could not connect to Supabase: %s", PQerrorMessage(c->conn));
		return true;
	}
	c->state = PGC_ST_CONNECTING;
	/* The first poll wants the socket writable, per libpq's contract. */
	if (!watch(c, EV_WRITE))
		fail_later(c, "could not connect to Supabase: %s", "no event");
	return true;
}

static void send_statement(struct pgclient *c)
{
	if (!PQsendQueryParams(c->conn, c->sql, c->nparams, c->types, (const char *const *)c->values,
			       c->lengths, c->formats, 0)) {
		fail(c, "08006", "Supabase: %s", PQerrorMessage(c->conn));
		return;
	}
	c->state = PGC_ST_SENDING;
	on_io(PQsocket(c->conn), EV_WRITE, c);
}

static void poll_connect(struct pgclient *c)
{
	switch (PQconnectPoll(c->conn)) {
	case PGRES_POLLING_READING:
		if (!watch(c, EV_READ))
			fail(c, "08006", "could not connect to Supabase: %s", "no event");
		return;
	case PGRES_POLLING_WRITING:
		if (!watch(c, EV_WRITE))
			fail(c, "08006", "could not connect to Supabase: %s", "no event");
		return;
	case PGRES_POLLING_OK:
		if (PQsetnonblocking(c->conn, 1) != 0) {
			fail(c, "08006", "Supabase: %s", PQerrorMessage(c->conn));
			return;
		}
		c->state = PGC_ST_IDLE;
		if (c->pending)
			send_statement(c);
		return;
	case PGRES_POLLING_FAILED:
	default:
		fail(c, "08006", "could not connect to Supabase: %s", PQerrorMessage(c->conn));
		return;
	}
}

/* Takes every result there is; the last one with rows (or the first error) is kept. */
static void read_results(struct pgclient *c)
{
	if (!PQconsumeInput(c->conn)) {
		fail(c, "08006", "Supabase: %s", PQerrorMessage(c->conn));
		return;
	}
	while (!PQisBusy(c->conn)) {
		PGresult *r = PQgetResult(c->conn);
		if (r == NULL) {
			c->state = PGC_ST_IDLE;
			/* Idle, still watched: a server that closes the connection is noticed. */
			if (!watch(c, EV_READ)) {
				fail(c, "08006", "Supabase: %s", "no event");
				return;
			}
			if (c->out.res == NULL && c->out.ok)
				fail(c, "08006", "Supabase: %s", "no result");
			else
				finish(c);
			return;
		}
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_FATAL_ERROR && c->out.ok) {
			c->out.ok = false;
			const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
			const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
			snprintf(c->out.sqlstate, sizeof(c->out.sqlstate), "%s", code ? code : "XX000");
			snprintf(c->out.message, sizeof(c->out.message), "%s", msg ? msg : "error");
		}
		if (c->out.ok || c->out.res == NULL) {
			if (c->out.res)
				PQclear(c->out.res);
			c->out.res = r;
		} else {
			PQclear(r);
		}
	}
	if (!watch(c, EV_READ))
		fail(c, "08006", "Supabase: %s", "no event");
}

static void on_io(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct pgclient *c = arg;
	switch (c->state) {
	case PGC_ST_CONNECTING:
		poll_connect(c);
		return;
	case PGC_ST_SENDING: {
		int f = PQflush(c->conn);
		if (f < 0) {
			fail(c, "08006", "Supabase: %s", PQerrorMessage(c->conn));
		} else if (f > 0) {
			/* Both: libpq may need to read to make room for writing. */
			if (!watch(c, EV_WRITE | EV_READ))
				fail(c, "08006", "Supabase: %s", "no event");
			else if (what & EV_READ)
				PQconsumeInput(c->conn);
		} else {
			c->state = PGC_ST_READING;
			read_results(c);
		}
		return;
	}
	case PGC_ST_READING:
		read_results(c);
		return;
	case PGC_ST_IDLE:
		/* The server spoke unasked: a notice, or it closed the connection. */
		if (!PQconsumeInput(c->conn) || PQstatus(c->conn) == CONNECTION_BAD || !watch(c, EV_READ))
			drop_conn(c);
		return;
	case PGC_ST_CLOSED:
		return;
	}
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct pgclient *c = arg;
	/* Dropping the connection ends the statement on the server too (it notices the close). */
	fail(c, "57014", "Supabase did not answer within the deadline%s", "");
}

static void on_later(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct pgclient *c = arg;
	if (c->pending && c->state == PGC_ST_CLOSED && c->done)
		finish(c);
}

struct pgclient *pgclient_new(struct event_base *base, const char *application_name)
{
	struct pgclient *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->base = base;
	c->application_name = strdup(application_name);
	c->deadline_ev = evtimer_new(base, on_deadline, c);
	c->later_ev = evtimer_new(base, on_later, c);
	if (c->application_name == NULL || c->deadline_ev == NULL || c->later_ev == NULL) {
		pgclient_free(c);
		return NULL;
	}
	return c;
}

void pgclient_free(struct pgclient *c)
{
	if (c == NULL)
		return;
	c->done = NULL;
	clear_statement(c);
	drop_conn(c);
	if (c->deadline_ev)
		event_free(c->deadline_ev);
	if (c->later_ev)
		event_free(c->later_ev);
	free(c->application_name);
	free(c->options);
	free(c);
}

bool pgclient_busy(const struct pgclient *c)
{
	return c->pending;
}

bool pgclient_set_options(struct pgclient *c, const char *options)
{
	char *o = options ? strdup(options) : NULL;
	if (options && o == NULL)
		return false;
	free(c->options);
	c->options = o;
	return true;
}

static bool copy_statement(struct pgclient *c, const char *sql, int nparams,
			   const unsigned *types, const char *const *values, const int *lengths,
			   const int *formats)
{
	c->sql = strdup(sql);
	if (c->sql == NULL)
		return false;
	if (nparams > 0) {
		c->values = calloc((size_t)nparams, sizeof(*c->values));
		if (c->values == NULL)
			return false;
	}
	c->nparams = nparams;
	if (types != NULL && nparams > 0) {
		c->types = calloc((size_t)nparams, sizeof(*c->types));
		if (c->types == NULL)
			return false;
		for (int i = 0; i < nparams; i++)
			c->types[i] = (Oid)types[i];
	}
	if (nparams > 0 && ((c->lengths = calloc((size_t)nparams, sizeof(int))) == NULL ||
			    (formats && (c->formats = calloc((size_t)nparams, sizeof(int))) == NULL)))
		return false;
	for (int i = 0; i < nparams; i++) {
		if (values[i] == NULL)
			continue;
		/* Binary values may hold NULs: their length says where they end. */
		size_t n = lengths ? (size_t)lengths[i] : strlen(values[i]);
		if ((c->values[i] = malloc(n + 1)) == NULL)
			return false;
		memcpy(c->values[i], values[i], n);
		c->values[i][n] = '\0';
		c->lengths[i] = (int)n;
		if (formats)
			c->formats[i] = formats[i];
	}
	return true;
}

bool pgclient_query(struct pgclient *c, const struct config *cfg, const char *sql, int nparams,
		    const char *const *values, int timeout_ms, pgclient_done_fn done, void *arg)
{
	return pgclient_query_params(c, cfg, sql, nparams, NULL, values, NULL, NULL, timeout_ms,
				     done, arg);
}

bool pgclient_query_params(struct pgclient *c, const struct config *cfg, const char *sql,
			   int nparams, const unsigned *types, const char *const *values,
			   const int *lengths, const int *formats, int timeout_ms,
			   pgclient_done_fn done, void *arg)
{
	if (c->pending)
		return false;
	if (!copy_statement(c, sql, nparams, types, values, lengths, formats)) {
		clear_statement(c);
		return false;
	}
	c->pending = true;
	c->done = done;
	c->arg = arg;
	memset(&c->out, 0, sizeof(c->out));
	c->out.ok = true;
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	event_add(c->deadline_ev, &tv);
	if (c->state == PGC_ST_IDLE && PQstatus(c->conn) == CONNECTION_BAD)
		drop_conn(c);
	if (c->state == PGC_ST_CLOSED) {
		if (!start_connect(c, cfg)) {
			event_del(c->deadline_ev);
			clear_statement(c);
			c->done = NULL;
			return false;
		}
		return true;
	}
	/* Idle: sending now; results (and errors) always come from the loop. */
	if (!PQsendQueryParams(c->conn, c->sql, c->nparams, c->types, (const char *const *)c->values,
			       c->lengths, c->formats, 0)) {
		fail_later(c, "Supabase: %s", PQerrorMessage(c->conn));
		return true;
	}
	c->state = PGC_ST_SENDING;
	if (!watch(c, EV_WRITE | EV_READ))
		fail_later(c, "Supabase: %s", "no event");
	return true;
}

bool pgclient_ok(const struct pgclient_result *res)
{
	return res->ok;
}

const char *pgclient_sqlstate(const struct pgclient_result *res)
{
	return res->ok ? "00000" : res->sqlstate;
}

const char *pgclient_message(const struct pgclient_result *res)
{
	return res->ok ? "" : res->message;
}

int pgclient_nrows(const struct pgclient_result *res)
{
	return res->ok && res->res ? PQntuples(res->res) : 0;
}

int pgclient_ncols(const struct pgclient_result *res)
{
	return res->ok && res->res ? PQnfields(res->res) : 0;
}

const char *pgclient_col_name(const struct pgclient_result *res, int col)
{
	const char *n = res->res ? PQfname(res->res, col) : NULL;
	return n ? n : "?";
}

const char *pgclient_value(const struct pgclient_result *res, int row, int col, size_t *len)
{
	if (PQgetisnull(res->res, row, col)) {
		*len = 0;
		return NULL;
	}
	*len = (size_t)PQgetlength(res->res, row, col);
	return PQgetvalue(res->res, row, col);
}

const char *pgclient_tag(const struct pgclient_result *res)
{
	return res->res ? PQcmdStatus(res->res) : "";
}

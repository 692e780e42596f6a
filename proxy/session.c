/*
 * session — a client connection from accept to close.
 *
 * This file owns the lifecycle and the startup phase: the first packet
 * (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage), the switch to
 * TLS, handing over to authentication (session_auth.c), taking an upstream
 * from the pool and, once linked, handing the bytes to relay.c. A session is
 * closed in exactly one place (session_close) and freed by the worker's
 * reaper after the callback that closed it has returned.
 */
#include "proxy/clock.h"
#include "proxy/session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/rand.h>

#include "protocol/scram.h"
#include "proxy/conn.h"
#include "proxy/legacy.h"
#include "proxy/log.h"
#include "proxy/metrics.h"
#include "proxy/relay.h"
#include "proxy/server.h"
#include "proxy/session_auth.h"
#include "proxy/worker.h"

static void client_read_cb(struct conn *c, void *arg);
static void client_drain_cb(struct conn *c, void *arg);
static void client_event_cb(struct conn *c, unsigned events, void *arg);
static void close_when_flushed(struct session *s, const char *reason, bool reusable);

/* A client that does not read its FATAL within this long is not waited for. */
#define FATAL_FLUSH_MS 5000
/*
 * A client idle between transactions this long gives its empty buffers back
 * (conn_trim). Not at once: a busy client would then pay a malloc and a free
 * of its input buffer for every transaction.
 */
#define IDLE_TRIM_MS 1000

/* ---- deadlines: a worker clock per kind, one timer each (worker.h) ---- */

static struct session_clock *clock_of(struct worker *w, enum session_clock_kind kind)
{
	switch (kind) {
	case SESSION_CLOCK_LOGIN: return &w->login_clock;
	case SESSION_CLOCK_FLUSH: return &w->flush_clock;
	default: return &w->idle_clock;
	}
}

/* Makes <clk>'s timer fire by its earliest deadline; nothing when none is left. */
static void clock_arm(struct session_clock *clk, int64_t now)
{
	struct session *head = TAILQ_FIRST(&clk->due);

	/* Already due to fire no later: it will find what is due then, and re-arm. */
	if (head == NULL || (clk->armed && clk->armed_ms <= head->deadline_ms))
		return;
	int64_t ms = head->deadline_ms > now ? head->deadline_ms - now : 0;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	clk->armed = evtimer_add(clk->timer, &tv) == 0;
	clk->armed_ms = head->deadline_ms;
}

/* Takes the session off its clock, if it is on one (the timer stays as it is). */
static void clock_stop(struct session *s)
{
	if (s->clock == SESSION_CLOCK_NONE)
		return;
	TAILQ_REMOVE(&clock_of(s->w, s->clock)->due, s, clock_link);
	s->clock = SESSION_CLOCK_NONE;
}

/*
 * Gives the session a deadline <ms> from now on clock <kind>, replacing any
 * it had. It joins at the tail, unless a reload shortened the delay: then it
 * goes before the sessions that were given the longer one.
 */
static void clock_start(struct session *s, enum session_clock_kind kind, int ms)
{
	struct session_clock *clk = clock_of(s->w, kind);
	int64_t now = clock_ms();

	clock_stop(s);
	s->deadline_ms = now + ms;
	s->clock = (uint8_t)kind;
	struct session *before = TAILQ_LAST(&clk->due, session_list);
	while (before != NULL && before->deadline_ms > s->deadline_ms)
		before = TAILQ_PREV(before, session_list, clock_link);
	if (before != NULL) {
		TAILQ_INSERT_AFTER(&clk->due, before, s, clock_link);
		return;
	}
	TAILQ_INSERT_HEAD(&clk->due, s, clock_link);
	clock_arm(clk, now); /* the earliest deadline is now this one */
}

static void deadline_passed(struct session *s, enum session_clock_kind kind)
{
	switch (kind) {
	case SESSION_CLOCK_LOGIN:
		session_fatal(s, "57014", "canceling authentication due to timeout",
			      "The client did not complete authentication within login_timeout_ms.");
		break;
	case SESSION_CLOCK_FLUSH:
		session_close(s, s->close_reason ? s->close_reason : "closing");
		break;
	case SESSION_CLOCK_IDLE:
		if (s->state == SESSION_ST_IDLE)
			conn_trim(s->conn);
		break;
	default:
		break;
	}
}

static void clock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session_clock *clk = arg;
	struct session *s;
	int64_t now = clock_ms();

	(void)fd;
	(void)what;
	clk->armed = false;
	/* Each turn takes the head off first, whatever handling it then does to the lists. */
	while ((s = TAILQ_FIRST(&clk->due)) != NULL && s->deadline_ms <= now) {
		enum session_clock_kind kind = (enum session_clock_kind)s->clock;
		clock_stop(s);
		deadline_passed(s, kind);
	}
	clock_arm(clk, now);
}

static bool clock_init(struct worker *w, struct session_clock *clk)
{
	TAILQ_INIT(&clk->due);
	clk->armed = false;
	clk->timer = evtimer_new(w->base, clock_cb, clk);
	return clk->timer != NULL;
}

static void clock_free(struct session_clock *clk)
{
	if (clk->timer != NULL)
		event_free(clk->timer);
	clk->timer = NULL;
}

bool session_clocks_init(struct worker *w)
{
	return clock_init(w, &w->login_clock) && clock_init(w, &w->flush_clock) &&
	       clock_init(w, &w->idle_clock);
}

void session_clocks_free(struct worker *w)
{
	clock_free(&w->login_clock);
	clock_free(&w->flush_clock);
	clock_free(&w->idle_clock);
}

/* ---- states ---- */

static const char *const state_names[] = {
	[SESSION_ST_STARTUP] = "startup",
	[SESSION_ST_TLS] = "tls",
	[SESSION_ST_AUTH] = "auth",
	[SESSION_ST_WAIT_SERVER] = "wait_server",
	[SESSION_ST_ACTIVE] = "active",
	[SESSION_ST_IDLE] = "idle",
	[SESSION_ST_CLOSED] = "closed",
};

const char *session_state_name(enum session_state st)
{
	return state_names[st];
}

/* Legal moves: forward through the phases, TLS back to STARTUP, anything to CLOSED. */
bool session_set_state(struct session *s, enum session_state st)
{
	bool ok;

	switch (st) {
	case SESSION_ST_STARTUP: ok = s->state == SESSION_ST_TLS; break;
	case SESSION_ST_TLS: ok = s->state == SESSION_ST_STARTUP; break;
	case SESSION_ST_AUTH: ok = s->state == SESSION_ST_STARTUP; break;
	case SESSION_ST_WAIT_SERVER:
		ok = s->state == SESSION_ST_AUTH || s->state == SESSION_ST_IDLE;
		break;
	case SESSION_ST_ACTIVE: ok = s->state == SESSION_ST_WAIT_SERVER; break;
	case SESSION_ST_IDLE:
		ok = s->state == SESSION_ST_ACTIVE || s->state == SESSION_ST_AUTH;
		break;
	case SESSION_ST_CLOSED: ok = s->state != SESSION_ST_CLOSED; break;
	default: ok = false; break;
	}
	if (!ok) {
		log_error(s->w->id, s->id, "bad session state change", "from=%s to=%s",
			  session_state_name(s->state), session_state_name(st));
		return false;
	}
	/* Authenticated (the login clock stops), or no longer idle (nothing to trim). */
	if ((st == SESSION_ST_WAIT_SERVER || st == SESSION_ST_IDLE) &&
	    (s->clock == SESSION_CLOCK_LOGIN || s->clock == SESSION_CLOCK_IDLE))
		clock_stop(s);
	s->state = st;
	return true;
}

struct session *session_new(struct worker *w, int fd, const struct sockaddr *addr, int addrlen)
{
	struct session *s = calloc(1, sizeof(*s));

	(void)addrlen;
	if (s == NULL) {
		close(fd);
		return NULL;
	}
	s->w = w;
	s->id = atomic_fetch_add(&w->proxy->next_session_id, 1);
	s->state = SESSION_ST_STARTUP;
	pipeline_init(&s->q);
	s->txn_pool = w->cfg->proxy.pool_mode == CONFIG_POOL_TRANSACTION;
	char addr_buf[64];
	log_format_addr(addr, addr_buf, sizeof(addr_buf));
	s->addr = strdup(addr_buf);
	s->conn = conn_new(w->base, client_read_cb, client_drain_cb, client_event_cb, s);
	if (s->addr == NULL || s->conn == NULL || !conn_attach(s->conn, fd)) {
		close(fd);
		conn_free(s->conn);
		free(s->addr);
		free(s);
		return NULL;
	}
	/* Nothing is read yet: the first bytes make the input buffer. */
	conn_trim(s->conn);
	/* Idle or slow sockets must not hold max_client_conn slots forever. */
	clock_start(s, SESSION_CLOCK_LOGIN, w->cfg->proxy.login_timeout_ms);
	atomic_fetch_add(&w->proxy->clients, 1);
	TAILQ_INSERT_TAIL(&w->sessions, s, link);
	conn_read_enable(s->conn, true);
	log_debug(w->id, s->id, "client connected", "addr=%s", s->addr);
	return s;
}

bool session_send_built(struct session *s)
{
	struct pgmsg_writer *out = &s->w->out;

	if (out->failed)
		return false;
	return conn_write(s->conn, out->buf, out->len);
}

/*
 * Unlinks the upstream and hands it to the pool. It can be reused only if the
 * session left it between requests: every reply received, no extended-query
 * segment open, no COPY, nothing half relayed.
 */
void session_detach_server(struct session *s, bool reusable)
{
	struct server *srv = s->server;

	if (s->opening != NULL) {
		/* Still connecting: let it finish into the pool, unless nobody will want it. */
		struct server *opening = s->opening;
		s->opening = NULL;
		opening->session = NULL;
		if (s->w->draining)
			server_close(opening, "client left while connecting, shutting down");
	}
	if (srv == NULL)
		return;
	if (s->cancel_registered) {
		cancel_unregister(&s->w->proxy->cancels, s->cancel_pid, s->cancel_secret);
		s->cancel_registered = false;
	}
	bool clean = reusable && session_is_idle(s);
	s->server = NULL;
	srv->session = NULL;
	pool_release(s->w, srv, clean);
}

void session_close(struct session *s, const char *reason)
{
	struct worker *w = s->w;

	if (s->state == SESSION_ST_CLOSED)
		return;
	char q_reason[200];
	log_info(w->id, s->id, "client disconnected", "reason=%s user=%s state=%s",
		 log_quote(q_reason, sizeof(q_reason), reason), s->log_user ? s->log_user : "-",
		 session_state_name(s->state));
	if (s->waiting)
		pool_forget_waiter(w, s);
	if (s->timer)
		evtimer_del(s->timer);
	clock_stop(s);
	legacy_session_closing(s);
	session_detach_server(s, true);
	conn_set_callbacks(s->conn, NULL, NULL, NULL, NULL);
	conn_close(s->conn);
	(void)session_set_state(s, SESSION_ST_CLOSED);
	atomic_fetch_sub(&w->proxy->clients, 1);
	TAILQ_REMOVE(&w->sessions, s, link);
	TAILQ_INSERT_TAIL(&w->doomed, s, link);
	event_active(w->reaper_ev, EV_READ, 0);
}

void session_free(struct session *s)
{
	if (s == NULL)
		return;
	conn_free(s->conn);
	if (s->timer)
		event_free(s->timer);
	scram_server_free(s->scram);
	relay_session_free(s);
	stmt_table_free(&s->stmts);
	stmt_table_free(&s->cut_stmts);
	client_stmt_free(s->unnamed);
	free(s->sets);
	free(s->set_portal);
	free(s->set_portal_sql);
	free(s->param_names); /* the StartupMessage's block: every string in it */
	free(s->addr);
	free(s->close_reason);
	free(s);
}

void session_fatal(struct session *s, const char *sqlstate, const char *message,
		   const char *detail)
{
	struct pgmsg_writer *out = worker_writer(s->w);

	/* One FATAL per session: a second would only queue behind the first. */
	if (s->state == SESSION_ST_CLOSED || s->closing)
		return;
	log_info(s->w->id, s->id, "fatal error sent to client", "sqlstate=%s state=%s", sqlstate,
		 session_state_name(s->state));
	pgmsg_write_error(out, true, sqlstate, message, detail, NULL);
	if (!session_send_built(s)) {
		session_close(s, message);
		return;
	}
	/* Give the upstream back now (reusable if clean): nothing more will be relayed. */
	close_when_flushed(s, message, true);
}

/*
 * Stops reading; the drain callback closes once the output already queued
 * is written (bounded by FATAL_FLUSH_MS). The upstream is released now.
 */
static void close_when_flushed(struct session *s, const char *reason, bool reusable)
{
	conn_uncork(s->conn); /* what waits for a MySQL answer to complete goes now */
	if (conn_out_pending(s->conn) == 0) {
		session_close(s, reason);
		return;
	}
	conn_read_enable(s->conn, false);
	conn_notify_drain(s->conn, 0);
	s->closing = true;
	clock_start(s, SESSION_CLOCK_FLUSH, FATAL_FLUSH_MS);
	if (s->waiting)
		pool_forget_waiter(s->w, s);
	session_detach_server(s, reusable);
	free(s->close_reason);
	s->close_reason = strdup(reason);
}

void session_close_after_flush(struct session *s, const char *reason)
{
	if (s->state == SESSION_ST_CLOSED || s->closing)
		return;
	close_when_flushed(s, reason, false);
}

/* ---- startup phase ---- */

/* One byte answer to SSLRequest/GSSENCRequest; false unless it went out at once. */
static bool send_byte(struct session *s, char c)
{
	/* A TLS handshake may follow: the byte must not still be queued then. */
	return conn_write(s->conn, &c, 1) && conn_out_pending(s->conn) == 0;
}

static void start_tls(struct session *s)
{
	SSL *ssl = SSL_new(s->w->client_tls);

	if (ssl == NULL) {
		session_close(s, "cannot create TLS state");
		return;
	}
	if (!send_byte(s, 'S')) {
		SSL_free(ssl);
		session_close(s, "write failed");
		return;
	}
	if (!conn_start_tls(s->conn, ssl, true)) {
		session_close(s, "cannot start TLS");
		return;
	}
	s->tls = true;
	(void)session_set_state(s, SESSION_ST_TLS);
}

static void handle_ssl_request(struct session *s, struct evbuffer *in)
{
	if (s->tls) {
		session_fatal(s, "08P01", "SSLRequest received on an encrypted connection", NULL);
		return;
	}
	if (s->w->client_tls != NULL) {
		/* Bytes after the SSLRequest would be read as if encrypted: refuse (CVE-2021-23214). */
		if (evbuffer_get_length(in) > 0) {
			session_fatal(s, "08P01", "received unencrypted data after SSL request", NULL);
			return;
		}
		start_tls(s);
		return;
	}
	if (!send_byte(s, 'N'))
		session_close(s, "write failed");
}

static void handle_cancel(struct session *s, const uint8_t *pkt, size_t len)
{
	int32_t pid, key;
	struct cancel_target target;

	if (!pgmsg_parse_cancel(pkt, len, &pid, &key)) {
		session_close(s, "malformed CancelRequest");
		return;
	}
	if (cancel_lookup(&s->w->proxy->cancels, pid, key, &target)) {
		log_info(s->w->id, s->id, "cancel request forwarded", "pid=%d", pid);
		server_send_cancel(s->w, &target);
		/* The session may be waiting for MySQL rather than Supabase: its worker looks. */
		if (target.session != 0 && target.worker >= 0 &&
		    target.worker < s->w->proxy->nworkers)
			worker_post_cancel(&s->w->proxy->workers[target.worker], target.session);
	} else {
		log_info(s->w->id, s->id, "cancel request for unknown key ignored", "pid=%d", pid);
	}
	/* As Postgres: no reply, the connection just ends. */
	session_close(s, "cancel request");
}

/* Answers unsupported minor versions / _pq_ options like Postgres does. */
static bool negotiate_protocol(struct session *s, const struct pgmsg_startup *st)
{
	const char *unknown[PGMSG_STARTUP_MAX_PARAMS];
	size_t nunknown = 0;

	for (size_t i = 0; i < st->nparams; i++)
		if (strncmp(st->names[i], "_pq_.", 5) == 0)
			unknown[nunknown++] = st->names[i];
	if ((st->protocol & 0xffff) == 0 && nunknown == 0)
		return true;
	struct pgmsg_writer *out = worker_writer(s->w);
	pgmsg_begin(out, 'v');
	pgmsg_put_int32(out, PGMSG_PROTOCOL_3_0);
	pgmsg_put_int32(out, (int32_t)nunknown);
	for (size_t i = 0; i < nunknown; i++)
		pgmsg_put_string(out, unknown[i]);
	pgmsg_end(out);
	return session_send_built(s);
}

/*
 * What is kept of the StartupMessage is one allocation (s->param_names):
 *
 *   char *names[n], char *values[n]     the parameters for the upstream
 *   user, database                      NUL-terminated, in this order
 *   name, value, ... (n pairs)          what names[] and values[] point at
 *   upstream user, password, role       who the client is on Supabase
 *   pool key                            "\1user\1role\n" then "name=value\n" sorted
 *   log user, log application           only when quoting changed them
 *
 * One malloc instead of one per string: an idle client keeps these for its
 * whole life.
 */
const char *session_user(const struct session *s)
{
	return s->param_names != NULL ? (const char *)(s->param_values + s->nparams) : "";
}

const char *session_database(const struct session *s)
{
	const char *user = session_user(s);

	return s->param_names != NULL ? user + strlen(user) + 1 : "";
}

/* The startup parameters passed on: everything but user, database and protocol options. */
static bool passed_upstream(const char *name)
{
	return strcmp(name, "user") != 0 && strcmp(name, "database") != 0 &&
	       strncmp(name, "_pq_.", 5) != 0;
}

static int cmp_param_name(const void *a, const void *b, void *arg)
{
	const struct pgmsg_startup *st = arg;

	return strcmp(st->names[*(const size_t *)a], st->names[*(const size_t *)b]);
}

/* Copies <len> bytes to *at and moves it on; returns where they went. */
static char *put_bytes(char **at, const char *p, size_t len)
{
	char *dst = memcpy(*at, p, len);

	*at += len;
	return dst;
}

static char *put_string(char **at, const char *str)
{
	return put_bytes(at, str, strlen(str) + 1);
}

/*
 * The pool's reuse key: the upstream login and role (connections of one
 * are never handed to a client of another), then parameters <keep>
 * (indices into <st>), see pool.h.
 */
static char *put_pool_key(char **at, const struct pgmsg_startup *st, const size_t *keep,
			  size_t n, const char *up_user, const char *up_role)
{
	size_t order[PGMSG_STARTUP_MAX_PARAMS];
	char *key = *at;

	put_bytes(at, "\1", 1);
	put_bytes(at, up_user, strlen(up_user));
	put_bytes(at, "\1", 1);
	put_bytes(at, up_role, strlen(up_role));
	put_bytes(at, "\n", 1);

	memcpy(order, keep, n * sizeof(order[0]));
	qsort_r(order, n, sizeof(order[0]), cmp_param_name, (void *)st);
	for (size_t i = 0; i < n; i++) {
		put_bytes(at, st->names[order[i]], strlen(st->names[order[i]]));
		put_bytes(at, "=", 1);
		put_bytes(at, st->values[order[i]], strlen(st->values[order[i]]));
		put_bytes(at, "\n", 1);
	}
	put_bytes(at, "", 1);
	return key;
}

/* The parameters and strings of <st> that a session keeps (the layout above). */
struct startup_strings {
	const char *user;
	const char *database;
	const char *app;      /* application_name, or NULL */
	char log_user[96];    /* log_quote()d */
	char log_app[96];
	size_t keep[PGMSG_STARTUP_MAX_PARAMS]; /* indices of the parameters passed on */
	size_t n;
	size_t params_len;    /* their names and values with NULs (the key is one byte more) */
	const char *up_user, *up_password, *up_role;
};

static void collect_startup(const struct config *cfg, const struct pgmsg_startup *st,
			    struct startup_strings *k)
{
	const char *db = pgmsg_startup_get(st, "database");

	k->user = pgmsg_startup_get(st, "user");
	/* Postgres defaults the database to the user name. */
	k->database = db && db[0] ? db : k->user;
	k->app = pgmsg_startup_get(st, "application_name");
	log_quote(k->log_user, sizeof(k->log_user), k->user);
	log_quote(k->log_app, sizeof(k->log_app), k->app && k->app[0] ? k->app : "-");
	k->n = k->params_len = 0;
	for (size_t i = 0; i < st->nparams; i++) {
		if (!passed_upstream(st->names[i]))
			continue;
		k->keep[k->n++] = i;
		k->params_len += strlen(st->names[i]) + strlen(st->values[i]) + 2;
	}
	/* An unknown user fails authentication later; until then it would be [supabase] user. */
	const struct config_user *u = k->user ? config_find_user(cfg, k->user) : NULL;
	k->up_user = u && u->upstream_user ? u->upstream_user : cfg->supabase.user;
	k->up_password = u && u->upstream_user ? u->upstream_password : cfg->supabase.password;
	k->up_role = u && u->upstream_role ? u->upstream_role : "";
}

static size_t startup_block_size(const struct startup_strings *k)
{
	size_t ids = strlen(k->up_user) + strlen(k->up_password) + strlen(k->up_role) + 3;
	size_t len = 2 * k->n * sizeof(char *) + strlen(k->user) + 1 + strlen(k->database) + 1 +
		     k->params_len + ids + (strlen(k->up_user) + strlen(k->up_role) + 3) +
		     k->params_len + 1;

	if (strcmp(k->log_user, k->user) != 0)
		len += strlen(k->log_user) + 1;
	if (k->app == NULL || strcmp(k->log_app, k->app) != 0)
		len += strlen(k->log_app) + 1;
	return len;
}

static bool take_startup_params(struct session *s, const struct pgmsg_startup *st)
{
	struct startup_strings k;

	collect_startup(s->w->cfg, st, &k);
	char **names = malloc(startup_block_size(&k));
	if (names == NULL)
		return false;
	char **values = names + k.n;
	char *at = (char *)(values + k.n);
	const char *user = put_string(&at, k.user);
	put_string(&at, k.database);
	const char *app = NULL;
	for (size_t i = 0; i < k.n; i++) {
		names[i] = put_string(&at, st->names[k.keep[i]]);
		values[i] = put_string(&at, st->values[k.keep[i]]);
		if (strcmp(names[i], "application_name") == 0)
			app = values[i];
	}
	s->param_names = names;
	s->param_values = values;
	s->nparams = (uint32_t)k.n;
	s->up_user = put_string(&at, k.up_user);
	s->up_password = put_string(&at, k.up_password);
	s->up_role = put_string(&at, k.up_role);
	s->pool_key = put_pool_key(&at, st, k.keep, k.n, s->up_user, s->up_role);
	/* A plain name is logged as it is: the copy above serves. */
	s->log_user = strcmp(k.log_user, user) == 0 ? user : put_string(&at, k.log_user);
	s->log_app = app != NULL && strcmp(k.log_app, app) == 0 ? app
							       : put_string(&at, k.log_app);
	return true;
}

/*
 * With upstream_role, the client's own startup options go to Supabase ahead
 * of "-c role=...": they must not set a role themselves (-c role=, --role=,
 * session_authorization), nor end in a backslash that would escape the space
 * before ours and swallow it; and no startup parameter may be named role or
 * session_authorization (in any case). Without upstream_role anything goes.
 */
static bool options_keep_role(const struct session *s)
{
	if (s->up_role == NULL || s->up_role[0] == '\0')
		return true;
	for (uint32_t i = 0; i < s->nparams; i++) {
		/* A startup parameter is a setting too, applied after options: ROLE=x wins. */
		if (strcasecmp(s->param_names[i], "role") == 0 ||
		    strcasecmp(s->param_names[i], "session_authorization") == 0)
			return false;
		if (strcmp(s->param_names[i], "options") != 0)
			continue;
		const char *v = s->param_values[i];
		size_t n = strlen(v), slashes = 0;
		for (size_t k = 0; k + 4 <= n; k++) {
			if (strncasecmp(v + k, "role", 4) == 0 ||
			    (k + 13 <= n && strncasecmp(v + k, "authorization", 13) == 0))
				return false;
		}
		while (slashes < n && v[n - 1 - slashes] == '\\')
			slashes++;
		if (slashes % 2 == 1)
			return false;
	}
	return true;
}

static void handle_startup(struct session *s, const uint8_t *pkt, size_t len)
{
	struct pgmsg_startup st;
	const struct config *cfg = s->w->cfg;

	if (!pgmsg_parse_startup(pkt, len, &st)) {
		session_fatal(s, "08P01", "invalid startup packet layout", NULL);
		return;
	}
	if (st.protocol >> 16 != 3) {
		char msg[128];
		snprintf(msg, sizeof(msg),
			 "unsupported frontend protocol %u.%u: server supports 3.0 to 3.0",
			 st.protocol >> 16, st.protocol & 0xffff);
		session_fatal(s, "0A000", msg, NULL);
		return;
	}
	const char *user = pgmsg_startup_get(&st, "user");
	if (user == NULL || user[0] == '\0') {
		session_fatal(s, "28000", "no PostgreSQL user name specified in startup packet", NULL);
		return;
	}
	if (pgmsg_startup_get(&st, "replication") != NULL &&
	    strcmp(pgmsg_startup_get(&st, "replication"), "false") != 0) {
		session_fatal(s, "0A000", "replication connections are not supported by switchyard",
			      NULL);
		return;
	}
	if (s->w->draining) {
		session_fatal(s, "57P03", "the database system is shutting down", NULL);
		return;
	}
	if (atomic_load(&s->w->proxy->clients) > cfg->proxy.max_client_conn) {
		session_fatal(s, "53300", "sorry, too many clients already",
			      "switchyard's max_client_conn is reached.");
		return;
	}
	if (!s->tls && cfg->proxy.client_tls == CONFIG_CLIENT_TLS_REQUIRE) {
		session_fatal(s, "28000", "switchyard requires an encrypted connection",
			      "client_tls = \"require\": connect with sslmode=require or stronger.");
		return;
	}
	if (!negotiate_protocol(s, &st) || !take_startup_params(s, &st)) {
		session_close(s, "out of memory");
		return;
	}
	if (!options_keep_role(s)) {
		char msg[160];
		snprintf(msg, sizeof(msg), "startup parameters may not name a role: this client runs as "
					   "role \"%.64s\"", s->up_role);
		session_fatal(s, "42501", msg,
			      "[[users]] upstream_role fixes the role; remove role settings from options.");
		return;
	}
	log_debug(s->w->id, s->id, "startup", "user=%s tls=%d", s->log_user, s->tls);
	(void)session_set_state(s, SESSION_ST_AUTH);
	session_auth_start(s);
}

/*
 * Reads one untyped packet of the startup phase; true if another may follow
 * (the session is still in STARTUP and nothing went wrong).
 */
static bool read_startup_packet(struct session *s)
{
	struct evbuffer *in = s->conn->in;
	uint8_t head[8];
	uint32_t code;

	if (evbuffer_copyout(in, head, sizeof(head)) < (ev_ssize_t)sizeof(head))
		return false;
	uint32_t need = (uint32_t)head[0] << 24 | head[1] << 16 | head[2] << 8 | head[3];
	if (need < 8 || need > PGMSG_STARTUP_MAX) {
		session_fatal(s, "08P01", "invalid length of startup packet", NULL);
		return false;
	}
	if (evbuffer_get_length(in) < need)
		return false;
	const uint8_t *pkt = evbuffer_pullup(in, need);
	ssize_t n = pkt ? pgmsg_startup_frame(pkt, need, &code) : -1;
	if (n <= 0) {
		session_fatal(s, "08P01", "invalid startup packet", NULL);
		return false;
	}
	/* Each encryption negotiation happens at most once (as in Postgres). */
	bool *asked = code == PGMSG_SSL_REQUEST_CODE ? &s->ssl_asked
		    : code == PGMSG_GSSENC_REQUEST_CODE ? &s->gss_asked : NULL;
	if (asked != NULL && *asked) {
		session_fatal(s, "08P01", "encryption negotiation requested twice", NULL);
		return false;
	}
	if (asked != NULL)
		*asked = true;
	switch (code) {
	case PGMSG_SSL_REQUEST_CODE:
		evbuffer_drain(in, need);
		handle_ssl_request(s, in);
		break;
	case PGMSG_GSSENC_REQUEST_CODE:
		evbuffer_drain(in, need);
		if (!send_byte(s, 'N'))
			session_close(s, "write failed");
		break;
	case PGMSG_CANCEL_REQUEST_CODE:
		handle_cancel(s, pkt, need);
		return false;
	default:
		handle_startup(s, pkt, need);
		evbuffer_drain(in, need);
		break;
	}
	return s->state == SESSION_ST_STARTUP && !s->closing;
}

/* Every complete packet is handled now: a packet pipelined behind another must not wait. */
static void read_startup_packets(struct session *s)
{
	while (read_startup_packet(s))
		;
}

/* ---- linking with an upstream ---- */

static bool send_welcome(struct session *s, struct server *srv)
{
	struct pgmsg_writer *out = worker_writer(s->w);

	for (size_t i = 0; i < srv->nreported; i++)
		pgmsg_write_param_status(out, srv->reported[i].name, srv->reported[i].value);
	pgmsg_write_backend_key(out, s->cancel_pid, s->cancel_secret);
	pgmsg_write_ready(out, 'I');
	return session_send_built(s);
}

/* A CancelRequest with the client's key now reaches <srv>. */
static void register_cancel(struct session *s, struct server *srv)
{
	struct cancel_target t = srv->cancel;

	t.worker = s->w->id;
	t.session = s->id;
	if (cancel_register(&s->w->proxy->cancels, s->cancel_pid, s->cancel_secret, &t))
		s->cancel_registered = true;
}

/*
 * The first ParameterStatus set, BackendKeyData and ReadyForQuery: the
 * parameters are <srv>'s, the upstream linked to the session or (transaction
 * pooling) any open one with the same startup parameters.
 */
static void welcome(struct session *s, struct server *srv, bool linked)
{
	if (RAND_bytes((unsigned char *)&s->cancel_secret, sizeof(s->cancel_secret)) != 1) {
		session_fatal(s, "58000", "could not generate a cancel key", NULL);
		return;
	}
	/*
	 * Session pooling gives the client the upstream's own pid (what
	 * pg_backend_pid() says); under transaction pooling the client meets
	 * many upstreams, so the key is switchyard's.
	 */
	s->cancel_pid = s->txn_pool ? (int32_t)(s->id & 0x7fffffff) : srv->cancel.pid;
	if (linked)
		register_cancel(s, srv);
	pipeline_set_txn(&s->q, PL_TXN_IDLE);
	if (!send_welcome(s, srv)) {
		session_close(s, "out of memory");
		return;
	}
	s->welcomed = true;
	log_info(s->w->id, s->id, "session ready", "user=%s addr=%s app=%s upstream_pid=%d tls=%d",
		 s->log_user, s->addr, s->log_app, linked ? srv->cancel.pid : 0, s->tls);
}

void session_authenticated(struct session *s)
{
	struct server *known = s->txn_pool ? pool_find_params(s->w, s->pool_key) : NULL;

	if (known == NULL) {
		(void)session_set_state(s, SESSION_ST_WAIT_SERVER);
		pool_acquire(s->w, s);
		return;
	}
	if (!session_set_state(s, SESSION_ST_IDLE))
		return;
	welcome(s, known, false);
	if (s->state != SESSION_ST_IDLE || s->closing)
		return;
	/* Some drivers pipeline their first query behind the startup packet. */
	if (conn_in_pending(s->conn) > 0)
		relay_client_read(s);
	else
		conn_trim(s->conn); /* idle until its first query */
}

void session_server_ready(struct session *s, struct server *srv)
{
	if (s->timer)
		evtimer_del(s->timer);
	s->opening = NULL;
	s->server = srv;
	srv->session = s;
	(void)server_set_state(srv, SERVER_ST_ACTIVE);
	(void)session_set_state(s, SESSION_ST_ACTIVE);
	if (!s->welcomed) {
		welcome(s, srv, true);
		if (s->state != SESSION_ST_ACTIVE || s->closing)
			return;
	} else {
		register_cancel(s, srv);
		if (!relay_link_again(s))
			return;
	}
	conn_read_enable(s->conn, true);
	/* Some drivers pipeline their first query behind the startup packet. */
	if (conn_in_pending(s->conn) > 0)
		relay_client_read(s);
	else
		relay_release_if_idle(s);
}

void session_server_failed(struct session *s, const char *sqlstate, const char *message,
			   const char *detail)
{
	s->opening = NULL;
	/* Supabase unreachable, or no slot in time: counted, so that alerts can see it. */
	metrics_error(s->w->metrics, METRICS_SUPABASE, sqlstate);
	session_fatal(s, sqlstate, message, detail);
}

bool session_is_idle(const struct session *s)
{
	return pipeline_empty(&s->q) && s->q.txn == PL_TXN_IDLE && !s->q.copy_in && !s->legacy_hold &&
	       !s->q.in_segment &&
	       !s->q.upstream_skipping && !s->skip_to_sync && s->c2s_pass == 0 && s->s2c_pass == 0;
}

bool session_drain_if_idle(struct session *s)
{
	switch (s->state) {
	case SESSION_ST_IDLE:
		break;
	case SESSION_ST_ACTIVE:
		if (!session_is_idle(s))
			return false;
		break;
	case SESSION_ST_CLOSED:
		return true;
	default:
		break;
	}
	session_fatal(s, "57P01", "terminating connection: switchyard is shutting down",
		      "The session was idle; reconnect to another instance.");
	return true;
}

void session_need_upstream(struct session *s)
{
	if (!session_set_state(s, SESSION_ST_WAIT_SERVER))
		return;
	pool_acquire(s->w, s);
	/*
	 * Still waiting (no idle upstream at hand): the bytes stay in the input
	 * buffer until one is linked. When one was, reads never went off: two
	 * epoll_ctl calls per transaction saved.
	 */
	if (s->state == SESSION_ST_WAIT_SERVER)
		conn_read_enable(s->conn, false);
}

void session_release_upstream(struct session *s)
{
	struct server *srv = s->server;

	if (s->cancel_registered) {
		cancel_unregister(&s->w->proxy->cancels, s->cancel_pid, s->cancel_secret);
		s->cancel_registered = false;
	}
	s->c2s_paused = s->c2s_self_paused = s->s2c_paused = false;
	conn_notify_drain(s->conn, SIZE_MAX);
	s->server = NULL;
	srv->session = NULL;
	(void)session_set_state(s, SESSION_ST_IDLE);
	pipeline_trim(&s->q);
	/* Idle between transactions, maybe for long: its buffers go if it stays so. */
	clock_start(s, SESSION_CLOCK_IDLE, IDLE_TRIM_MS);
	pool_release_between_transactions(s->w, srv);
	conn_read_enable(s->conn, true);
}

/* ---- callbacks ---- */

static void client_read_cb(struct conn *c, void *arg)
{
	struct session *s = arg;

	(void)c;
	if (s->closing)
		return;
	switch (s->state) {
	case SESSION_ST_STARTUP:
		read_startup_packets(s);
		break;
	case SESSION_ST_AUTH:
		session_auth_read(s);
		break;
	case SESSION_ST_ACTIVE:
	case SESSION_ST_IDLE:
		relay_client_read(s);
		break;
	case SESSION_ST_WAIT_SERVER:
		/* Early pipelined bytes stay buffered until the upstream is ready. */
		conn_read_enable(s->conn, false);
		break;
	default:
		break;
	}
}

static void client_drain_cb(struct conn *c, void *arg)
{
	struct session *s = arg;

	(void)c;
	if (s->closing) {
		session_close(s, s->close_reason ? s->close_reason : "closing");
		return;
	}
	if (s->state == SESSION_ST_ACTIVE)
		relay_client_drained(s);
}

static void client_event_cb(struct conn *c, unsigned events, void *arg)
{
	struct session *s = arg;

	if (events & CONN_EV_CONNECTED) {
		/* The TLS handshake finished: the startup packet comes next. */
		if (s->state == SESSION_ST_TLS)
			(void)session_set_state(s, SESSION_ST_STARTUP);
		return;
	}
	if (events & CONN_EV_EOF)
		session_close(s, "client closed the connection");
	else
		session_close(s, c->error_text[0] ? c->error_text : "client socket error");
}

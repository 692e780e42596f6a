/*
 * server — upstream connections: from a host name to an authenticated,
 * ready Postgres session, and back to the pool after each client.
 *
 * Real Supabase hosts shape this code: the direct host resolves to IPv6 only
 * and the pooler hosts take "postgres.<ref>" users behind TLS with SNI. So the
 * name is resolved with evdns (never blocking the loop), every address is
 * tried in order, the host name goes out as SNI as libpq sends it, and one
 * deadline (connect_timeout_ms) bounds resolve + connect + TLS + auth.
 */
#include "proxy/server.h"

#include <errno.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "protocol/md5auth.h"
#include "protocol/pgmsg.h"
#include "protocol/scram.h"
#include "proxy/conn.h"
#include "proxy/log.h"
#include "proxy/relay.h"
#include "proxy/session.h"
#include "proxy/tls.h"
#include "proxy/worker.h"

/* Startup-phase messages from the server are small; bigger ones are hostile. */
#define STARTUP_MAX_BODY 65536
#define CANCEL_TIMEOUT_MS 5000

static _Atomic uint64_t next_server_id = 1;

static void startup_read_cb(struct conn *c, void *arg);
static void connect_event_cb(struct conn *c, unsigned events, void *arg);
static void try_next_address(struct server *srv);

static const char *const state_names[] = {
	[SERVER_ST_RESOLVING] = "resolving",
	[SERVER_ST_CONNECTING] = "connecting",
	[SERVER_ST_SSL_REQUEST] = "ssl_request",
	[SERVER_ST_TLS] = "tls",
	[SERVER_ST_AUTH] = "auth",
	[SERVER_ST_STARTUP] = "startup",
	[SERVER_ST_ACTIVE] = "active",
	[SERVER_ST_RESET] = "reset",
	[SERVER_ST_IDLE] = "idle",
	[SERVER_ST_MOVING] = "moving",
	[SERVER_ST_CLOSED] = "closed",
};

const char *server_state_name(enum server_state st)
{
	return state_names[st];
}

static const struct config *cfg_of(const struct server *srv)
{
	return srv->w->cfg;
}

/* ---- failure and closing ---- */

/*
 * Gives up on connecting: the requesting session (if still there) gets 08006
 * naming the upstream, the connection is closed.
 */
static void server_fail(struct server *srv, const char *detail, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void server_fail(struct server *srv, const char *detail, const char *fmt, ...)
{
	char reason[200];
	char msg[400];
	va_list ap;
	const struct config *cfg = cfg_of(srv);

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "could not connect to upstream \"%s:%u\": %s", cfg->supabase.host,
		 (unsigned)cfg->supabase.port, reason);
	snprintf(srv->error, sizeof(srv->error), "%s", reason);
	log_warn(srv->w->id, srv->session ? srv->session->id : -1, "upstream connection failed",
		 "upstream=%s:%u reason=\"%s\"", cfg->supabase.host, (unsigned)cfg->supabase.port,
		 reason);
	struct session *s = srv->session;
	srv->session = NULL;
	server_close(srv, reason);
	if (s != NULL)
		session_server_failed(s, "08006", msg, detail);
}

void server_close(struct server *srv, const char *reason)
{
	struct worker *w = srv->w;

	if (srv->state == SERVER_ST_CLOSED)
		return;
	log_debug(w->id, -1, "upstream closed", "server=%llu state=%s reason=\"%s\"",
		  (unsigned long long)srv->id, server_state_name(srv->state), reason);
	if (srv->state == SERVER_ST_IDLE) {
		TAILQ_REMOVE(&w->pool.idle, srv, link);
		w->pool.nidle--;
		TAILQ_INSERT_TAIL(&w->pool.others, srv, link);
	}
	if (srv->timer)
		evtimer_del(srv->timer);
	if (srv->conn != NULL) {
		conn_set_callbacks(srv->conn, NULL, NULL, NULL, NULL);
		conn_close(srv->conn);
	}
	(void)server_set_state(srv, SERVER_ST_CLOSED);
	srv->session = NULL;
	/* dns_cb still runs (with EVUTIL_EAI_CANCEL) and lets the reaper free us. */
	if (srv->dns_req != NULL)
		evdns_getaddrinfo_cancel(srv->dns_req);
	pool_server_gone(w, srv);
	event_active(w->reaper_ev, EV_READ, 0);
}

void server_free(struct server *srv)
{
	/* An evdns request still out holds <srv> as its argument: free when it answers. */
	if (srv == NULL || srv->dns_req != NULL)
		return;
	TAILQ_REMOVE(&srv->w->pool.others, srv, link);
	conn_free(srv->conn);
	if (srv->timer)
		event_free(srv->timer);
	if (srv->addrs)
		evutil_freeaddrinfo(srv->addrs);
	scram_client_free(srv->scram);
	for (size_t i = 0; i < srv->nparams; i++) {
		free(srv->param_names[i]);
		free(srv->param_values[i]);
	}
	free(srv->param_names);
	free(srv->param_values);
	for (size_t i = 0; i < srv->nreported; i++) {
		free(srv->reported[i].name);
		free(srv->reported[i].value);
	}
	free(srv->reported);
	free(srv->key);
	free(srv->login_user);
	if (srv->login_password != NULL) {
		OPENSSL_cleanse(srv->login_password, strlen(srv->login_password));
		free(srv->login_password);
	}
	free(srv->role);
	free(srv->slot_user);
	server_stmts_free(&srv->stmts);
	free(srv);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	server_fail(srv, NULL, "timeout after %d ms (connect_timeout_ms) while %s",
		    cfg_of(srv)->supabase.connect_timeout_ms, server_state_name(srv->state));
}

/* ---- parameters ---- */

/* Shared by every worker's servers, so that no two of them ever show the same generation. */
static _Atomic uint64_t params_gen_seq;

void server_note_param(struct server *srv, const char *name, const char *value)
{
	srv->params_gen = atomic_fetch_add(&params_gen_seq, 1) + 1;
	for (size_t i = 0; i < srv->nreported; i++) {
		if (strcmp(srv->reported[i].name, name) == 0) {
			char *v = strdup(value);
			if (v != NULL) {
				free(srv->reported[i].value);
				srv->reported[i].value = v;
			}
			return;
		}
	}
	struct server_param *p = realloc(srv->reported, (srv->nreported + 1) * sizeof(*p));
	if (p == NULL)
		return;
	srv->reported = p;
	p[srv->nreported].name = strdup(name);
	p[srv->nreported].value = strdup(value);
	if (p[srv->nreported].name == NULL || p[srv->nreported].value == NULL) {
		free(p[srv->nreported].name);
		free(p[srv->nreported].value);
		return;
	}
	srv->nreported++;
}

static bool copy_session_params(struct server *srv, const struct session *s)
{
	srv->key = strdup(s->pool_key);
	srv->login_user = strdup(s->up_user);
	srv->login_password = strdup(s->up_password);
	srv->role = strdup(s->up_role);
	srv->param_names = calloc(s->nparams + 1, sizeof(char *));
	srv->param_values = calloc(s->nparams + 1, sizeof(char *));
	if (!srv->key || !srv->login_user || !srv->login_password || !srv->role ||
	    !srv->param_names || !srv->param_values)
		return false;
	for (size_t i = 0; i < s->nparams; i++) {
		srv->param_names[i] = strdup(s->param_names[i]);
		srv->param_values[i] = strdup(s->param_values[i]);
		srv->nparams++;
		if (!srv->param_names[i] || !srv->param_values[i])
			return false;
	}
	return true;
}

/* ---- startup and authentication ---- */

static bool send_built(struct server *srv)
{
	struct pgmsg_writer *out = &srv->w->out;

	return !out->failed && conn_write(srv->conn, out->buf, out->len);
}

/*
 * "-c role=<role>" appended to the client's options (spaces and backslashes
 * escaped as libpq's options are): the role becomes the session's default,
 * which DISCARD ALL and RESET ROLE return to. Owned by the caller; NULL on OOM.
 */
static char *options_with_role(const char *client, const char *role)
{
	size_t n = strlen(client), r = strlen(role);
	char *out = malloc(n + 1 + 8 + 2 * r + 1);
	if (out == NULL)
		return NULL;
	size_t at = 0;
	memcpy(out, client, n);
	at = n;
	if (n > 0)
		out[at++] = ' ';
	memcpy(out + at, "-c role=", 8);
	at += 8;
	for (size_t i = 0; i < r; i++) {
		if (role[i] == ' ' || role[i] == '\\')
			out[at++] = '\\';
		out[at++] = role[i];
	}
	out[at] = '\0';
	return out;
}

static void send_startup(struct server *srv)
{
	const struct config *cfg = cfg_of(srv);
	const char *names[PGMSG_STARTUP_MAX_PARAMS + 3];
	const char *values[PGMSG_STARTUP_MAX_PARAMS + 3];
	size_t n = 0;
	const char *options = NULL;

	names[n] = "user";
	values[n++] = srv->login_user;
	names[n] = "database";
	values[n++] = cfg->supabase.database;
	for (size_t i = 0; i < srv->nparams && n < PGMSG_STARTUP_MAX_PARAMS + 2; i++) {
		if (srv->role[0] && strcmp(srv->param_names[i], "options") == 0) {
			options = srv->param_values[i];
			continue;
		}
		names[n] = srv->param_names[i];
		values[n++] = srv->param_values[i];
	}
	char *with_role = NULL;
	if (srv->role[0]) {
		with_role = options_with_role(options ? options : "", srv->role);
		if (with_role == NULL) {
			server_fail(srv, NULL, "out of memory");
			return;
		}
		names[n] = "options";
		values[n++] = with_role;
	}
	struct pgmsg_writer *out = worker_writer(srv->w);
	pgmsg_write_startup(out, names, values, n);
	free(with_role);
	(void)server_set_state(srv, SERVER_ST_AUTH);
	conn_set_callbacks(srv->conn, startup_read_cb, NULL, connect_event_cb, srv);
	conn_read_enable(srv->conn, true);
	if (!send_built(srv))
		server_fail(srv, NULL, "out of memory");
}

static bool handle_sasl(struct server *srv, int32_t code, const uint8_t *data, size_t len)
{
	struct pgmsg_writer *out = worker_writer(srv->w);
	char *msg = NULL;

	switch (code) {
	case PGMSG_AUTH_SASL:
		if (!pgmsg_sasl_offers(data, len, "SCRAM-SHA-256")) {
			server_fail(srv, NULL, "server offers no SASL mechanism switchyard supports");
			return false;
		}
		srv->scram = scram_client_new(srv->login_password);
		msg = srv->scram ? scram_client_first(srv->scram) : NULL;
		if (msg == NULL)
			break;
		pgmsg_write_sasl_initial(out, "SCRAM-SHA-256", msg);
		free(msg);
		return send_built(srv);
	case PGMSG_AUTH_SASL_CONTINUE:
		if (srv->scram == NULL ||
		    !scram_client_handle_first(srv->scram, (const char *)data, len, &msg)) {
			server_fail(srv, NULL, "invalid SCRAM message from server");
			return false;
		}
		pgmsg_write_sasl_response(out, msg);
		free(msg);
		return send_built(srv);
	case PGMSG_AUTH_SASL_FINAL:
		if (srv->scram == NULL ||
		    !scram_client_verify_final(srv->scram, (const char *)data, len)) {
			server_fail(srv, NULL, "server's SCRAM signature is invalid");
			return false;
		}
		scram_client_free(srv->scram);
		srv->scram = NULL;
		return true;
	default:
		break;
	}
	server_fail(srv, NULL, "out of memory");
	return false;
}

/* Answers one Authentication request. False if the server was failed. */
static bool handle_auth(struct server *srv, const uint8_t *body, size_t len)
{
	int32_t code;
	const uint8_t *data;
	size_t dlen;
	struct pgmsg_writer *out;

	if (!pgmsg_parse_auth(body, len, &code, &data, &dlen)) {
		server_fail(srv, NULL, "malformed authentication request");
		return false;
	}
	switch (code) {
	case PGMSG_AUTH_OK:
		/* A server that skips SCRAM's final message has not proved it knows the password. */
		if (srv->scram != NULL) {
			server_fail(srv, NULL, "server ended SCRAM authentication without its signature");
			return false;
		}
		(void)server_set_state(srv, SERVER_ST_STARTUP);
		return true;
	case PGMSG_AUTH_CLEARTEXT:
		out = worker_writer(srv->w);
		pgmsg_write_password(out, srv->login_password);
		return send_built(srv);
	case PGMSG_AUTH_MD5: {
		char resp[MD5AUTH_RESPONSE_LEN + 1];
		if (dlen != 4) {
			server_fail(srv, NULL, "malformed md5 request");
			return false;
		}
		md5auth_response(srv->login_user, srv->login_password, data, resp);
		out = worker_writer(srv->w);
		pgmsg_write_password(out, resp);
		return send_built(srv);
	}
	case PGMSG_AUTH_SASL:
	case PGMSG_AUTH_SASL_CONTINUE:
	case PGMSG_AUTH_SASL_FINAL:
		return handle_sasl(srv, code, data, dlen);
	default:
		server_fail(srv, NULL, "server asks for authentication method %d, which switchyard does not support",
			    code);
		return false;
	}
}

static void server_error_fail(struct server *srv, const uint8_t *body, size_t len)
{
	struct pgmsg_error e;
	char detail[300];

	if (!pgmsg_parse_error(body, len, &e)) {
		server_fail(srv, NULL, "malformed error from server");
		return;
	}
	snprintf(detail, sizeof(detail), "Upstream said: %s (SQLSTATE %s)", e.message, e.sqlstate);
	server_fail(srv, detail, "%s", e.message);
}

static void became_ready(struct server *srv)
{
	/* The connect deadline is over; a server without a timer can move between workers. */
	event_free(srv->timer);
	srv->timer = NULL;
	scram_client_free(srv->scram);
	srv->scram = NULL;
	srv->txn_status = 'I';
	log_debug(srv->w->id, srv->session ? srv->session->id : -1, "upstream ready",
		  "server=%llu pid=%d", (unsigned long long)srv->id, srv->cancel.pid);
	if (srv->session != NULL)
		session_server_ready(srv->session, srv);
	else
		pool_server_idle(srv->w, srv);
}

/* Handles one startup-phase message. False if the server was failed or is ready. */
static bool handle_startup_msg(struct server *srv, uint8_t type, const uint8_t *body, size_t len)
{
	const char *name, *value;

	switch (type) {
	case 'R':
		if (srv->state != SERVER_ST_AUTH) {
			server_fail(srv, NULL, "unexpected authentication request");
			return false;
		}
		return handle_auth(srv, body, len);
	case 'E':
		server_error_fail(srv, body, len);
		return false;
	case 'S':
		if (pgmsg_parse_param_status(body, len, &name, &value))
			server_note_param(srv, name, value);
		return true;
	case 'K':
		if (!pgmsg_parse_backend_key(body, len, &srv->cancel.pid, &srv->cancel.key)) {
			server_fail(srv, NULL, "malformed BackendKeyData");
			return false;
		}
		return true;
	case 'N':
	case 'v': /* NegotiateProtocolVersion: we ask for 3.0 only, nothing to adjust */
		return true;
	case 'Z':
		if (srv->state != SERVER_ST_STARTUP) {
			server_fail(srv, NULL, "ReadyForQuery before authentication");
			return false;
		}
		became_ready(srv);
		return false;
	default:
		server_fail(srv, NULL, "unexpected message '%c' during startup", type);
		return false;
	}
}

static void startup_read_cb(struct conn *c, void *arg)
{
	struct server *srv = arg;
	struct evbuffer *in = c->in;

	for (;;) {
		uint8_t head[PGMSG_HEADER_LEN];
		uint8_t type;
		uint32_t blen;
		if (evbuffer_copyout(in, head, sizeof(head)) < (ev_ssize_t)sizeof(head))
			return;
		ssize_t total = pgmsg_frame(head, sizeof(head), STARTUP_MAX_BODY, &type, &blen);
		if (total < 0) {
			server_fail(srv, NULL, "invalid message from server during startup");
			return;
		}
		if (evbuffer_get_length(in) < (size_t)total)
			return;
		/*
		 * Taken out of the buffer before it is handled: ReadyForQuery hands
		 * the connection to a session, which must find only what follows.
		 */
		uint8_t *body = worker_scratch(srv->w, blen ? blen : 1);
		if (body == NULL) {
			server_fail(srv, NULL, "out of memory during startup");
			return;
		}
		evbuffer_drain(in, PGMSG_HEADER_LEN);
		evbuffer_remove(in, body, blen);
		if (!handle_startup_msg(srv, type, body, blen))
			return;
		if (srv->state == SERVER_ST_CLOSED)
			return;
	}
}

/* ---- TLS ---- */

static void start_tls(struct server *srv)
{
	const struct config *cfg = cfg_of(srv);
	SSL *ssl = tls_upstream_ssl_new(srv->w->upstream_tls, cfg->supabase.host,
					cfg->supabase.sslmode);

	if (ssl == NULL) {
		server_fail(srv, NULL, "cannot create TLS state");
		return;
	}
	(void)server_set_state(srv, SERVER_ST_TLS);
	conn_set_callbacks(srv->conn, NULL, NULL, connect_event_cb, srv);
	if (!conn_start_tls(srv->conn, ssl, false))
		server_fail(srv, NULL, "cannot start TLS");
}

static void ssl_response_cb(struct conn *c, void *arg)
{
	struct server *srv = arg;
	char r;

	if (evbuffer_remove(c->in, &r, 1) != 1)
		return;
	if (r == 'S') {
		/* Plaintext after 'S' would be spliced into the TLS stream (CVE-2021-23222). */
		if (evbuffer_get_length(c->in) > 0) {
			server_fail(srv, NULL, "received unencrypted data after SSL response");
			return;
		}
		start_tls(srv);
	} else if (r == 'N' && cfg_of(srv)->supabase.sslmode == CONFIG_SSLMODE_PREFER) {
		send_startup(srv);
	} else if (r == 'N') {
		server_fail(srv, NULL, "server does not support SSL, but sslmode = \"%s\" requires it",
			    config_sslmode_name(cfg_of(srv)->supabase.sslmode));
	} else {
		server_fail(srv, NULL, "invalid response to SSL negotiation: '%c'", r);
	}
}

/* ---- connecting ---- */

static void connected(struct server *srv)
{
	memcpy(&srv->cancel.addr, srv->cur_addr->ai_addr, srv->cur_addr->ai_addrlen);
	srv->cancel.addrlen = (socklen_t)srv->cur_addr->ai_addrlen;
	int one = 1;
	setsockopt(srv->conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (srv->w->upstream_tls == NULL) {
		send_startup(srv);
		return;
	}
	struct pgmsg_writer *out = worker_writer(srv->w);
	pgmsg_write_ssl_request(out);
	(void)server_set_state(srv, SERVER_ST_SSL_REQUEST);
	conn_set_callbacks(srv->conn, ssl_response_cb, NULL, connect_event_cb, srv);
	conn_read_enable(srv->conn, true);
	if (!send_built(srv))
		server_fail(srv, NULL, "out of memory");
}

static void connect_event_cb(struct conn *c, unsigned events, void *arg)
{
	struct server *srv = arg;

	if (events & CONN_EV_CONNECTED) {
		if (srv->state == SERVER_ST_CONNECTING)
			connected(srv);
		else if (srv->state == SERVER_ST_TLS)
			send_startup(srv);
		return;
	}
	if (srv->state == SERVER_ST_CONNECTING) {
		char addr[64];
		log_format_addr(srv->cur_addr->ai_addr, addr, sizeof(addr));
		log_debug(srv->w->id, srv->session ? srv->session->id : -1,
			  "upstream address failed, trying the next", "addr=%s error=\"%s\"", addr,
			  c->error_text);
		snprintf(srv->error, sizeof(srv->error), "%s", c->error_text);
		conn_close(c);
		srv->cur_addr = srv->cur_addr->ai_next;
		try_next_address(srv);
		return;
	}
	if (events & CONN_EV_EOF)
		server_fail(srv, NULL, "server closed the connection while %s",
			    server_state_name(srv->state));
	else
		server_fail(srv, NULL, "%s", c->error_text[0] ? c->error_text : "socket error");
}

/* Tries addresses from cur_addr on; fails once none is left. */
static void try_next_address(struct server *srv)
{
	for (; srv->cur_addr != NULL; srv->cur_addr = srv->cur_addr->ai_next) {
		struct addrinfo *ai = srv->cur_addr;
		(void)server_set_state(srv, SERVER_ST_CONNECTING);
		conn_set_callbacks(srv->conn, NULL, NULL, connect_event_cb, srv);
		if (conn_connect(srv->conn, ai->ai_addr, ai->ai_addrlen))
			return;
		snprintf(srv->error, sizeof(srv->error), "%s", strerror(errno));
		char addr[64];
		log_format_addr(ai->ai_addr, addr, sizeof(addr));
		log_debug(srv->w->id, srv->session ? srv->session->id : -1,
			  "upstream address failed, trying the next", "addr=%s error=\"%s\"", addr,
			  srv->error);
	}
	server_fail(srv, NULL, "%s", srv->error[0] ? srv->error : "no address to connect to");
}

static void dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct server *srv = arg;

	srv->dns_req = NULL;
	if (srv->state == SERVER_ST_CLOSED) {
		/* Closed while resolving: the reaper could not free it until now. */
		if (res)
			evutil_freeaddrinfo(res);
		event_active(srv->w->reaper_ev, EV_READ, 0);
		return;
	}
	if (result != 0) {
		server_fail(srv, NULL, "could not resolve host name: %s", evutil_gai_strerror(result));
		return;
	}
	srv->addrs = res;
	srv->cur_addr = res;
	try_next_address(srv);
}

struct server *server_connect(struct worker *w, struct session *s)
{
	const struct config *cfg = w->cfg;
	struct server *srv = calloc(1, sizeof(*srv));
	char port[8];

	if (srv == NULL)
		return NULL;
	srv->id = atomic_fetch_add(&next_server_id, 1);
	srv->w = w;
	/* calloc: state 0 is SERVER_ST_RESOLVING, where every connection starts */
	srv->txn_status = 'I';
	srv->session = s;
	s->opening = srv;
	TAILQ_INSERT_TAIL(&w->pool.others, srv, link);
	srv->timer = evtimer_new(w->base, deadline_cb, srv);
	srv->conn = conn_new(w->base, NULL, NULL, NULL, srv);
	if (srv->timer == NULL || srv->conn == NULL || !copy_session_params(srv, s)) {
		/* Closing gives the pool slot back; the session hears it like any failure. */
		srv->session = NULL;
		s->opening = NULL;
		server_close(srv, "out of memory");
		session_server_failed(s, "53200", "out of memory opening an upstream connection",
				      NULL);
		return srv;
	}
	struct timeval tv = { cfg->supabase.connect_timeout_ms / 1000,
			      (cfg->supabase.connect_timeout_ms % 1000) * 1000 };
	evtimer_add(srv->timer, &tv);
	/* No AI_ADDRCONFIG: every address is tried; unreachable families fail fast. */
	struct evutil_addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
					 .ai_protocol = IPPROTO_TCP };
	snprintf(port, sizeof(port), "%u", (unsigned)cfg->supabase.port);
	/* The callback may run before this returns (literal addresses). */
	struct evdns_getaddrinfo_request *req =
		evdns_getaddrinfo(w->dns, cfg->supabase.host, port, &hints, dns_cb, srv);
	if (req != NULL && srv->state == SERVER_ST_RESOLVING)
		srv->dns_req = req;
	return srv;
}

/* ---- after the session ---- */

static void reset_read_cb(struct conn *c, void *arg)
{
	struct server *srv = arg;
	struct evbuffer *in = c->in;

	for (;;) {
		uint8_t head[PGMSG_HEADER_LEN];
		uint8_t type;
		uint32_t blen;
		char status;
		if (evbuffer_copyout(in, head, sizeof(head)) < (ev_ssize_t)sizeof(head))
			return;
		ssize_t total = pgmsg_frame(head, sizeof(head), STARTUP_MAX_BODY, &type, &blen);
		if (total < 0 || type == 'E') {
			server_close(srv, "reset failed");
			return;
		}
		if (evbuffer_get_length(in) < (size_t)total)
			return;
		const uint8_t *msg = evbuffer_pullup(in, total);
		const char *name, *value;
		if (type == 'S' && pgmsg_parse_param_status(msg + 5, blen, &name, &value))
			server_note_param(srv, name, value);
		if (type == 'C' && blen == sizeof("DISCARD ALL") &&
		    memcmp(msg + 5, "DISCARD ALL", sizeof("DISCARD ALL")) == 0)
			srv->reset_done = true;
		bool ready = type == 'Z' && pgmsg_parse_ready(msg + 5, blen, &status);
		evbuffer_drain(in, (size_t)total);
		if (type == 'Z' && !srv->reset_done) {
			/* A reply still due to the last client: its protocol position was not clean. */
			server_close(srv, "unexpected ReadyForQuery before the reset completed");
			return;
		}
		if (ready) {
			if (status != 'I' || evbuffer_get_length(in) > 0) {
				server_close(srv, "not idle after reset");
				return;
			}
			srv->txn_status = 'I';
			pool_server_idle(srv->w, srv);
			return;
		}
	}
}

static void idle_read_cb(struct conn *c, void *arg)
{
	(void)c;
	/* An idle server speaks only to say it is going away (e.g. terminated by an admin). */
	server_close(arg, "upstream sent data while idle");
}

static void idle_event_cb(struct conn *c, unsigned events, void *arg)
{
	(void)c;
	(void)events;
	server_close(arg, "upstream connection lost");
}

static void active_read_cb(struct conn *c, void *arg)
{
	struct server *srv = arg;

	(void)c;
	relay_server_read(srv->session);
}

static void active_drain_cb(struct conn *c, void *arg)
{
	struct server *srv = arg;

	(void)c;
	relay_server_drained(srv->session);
}

static void active_event_cb(struct conn *c, unsigned events, void *arg)
{
	struct server *srv = arg;
	struct session *s = srv->session;
	const struct config *cfg = cfg_of(srv);
	char msg[300];

	/* Whatever the server said before going away (a FATAL, say) is relayed first. */
	if (s != NULL && evbuffer_get_length(c->in) > 0)
		relay_server_read(s);
	s = srv->session;
	snprintf(msg, sizeof(msg), "lost connection to upstream \"%s:%u\"%s%s", cfg->supabase.host,
		 (unsigned)cfg->supabase.port, (events & CONN_EV_EOF) ? "" : ": ",
		 (events & CONN_EV_EOF) ? "" : c->error_text);
	if (s != NULL && s->upstream_fatal) {
		/* Postgres said why in its FATAL, already relayed: the close is all that follows. */
		session_detach_server(s, false);
		session_close_after_flush(s, "upstream ended the session with FATAL");
	} else if (s != NULL) {
		session_detach_server(s, false);
		session_fatal(s, "08006", msg, NULL);
	} else {
		server_close(srv, "upstream connection lost");
	}
}

/*
 * Legal moves: through the connect phases (any of them back to CONNECTING for
 * the next address), then ACTIVE <-> RESET/IDLE, out of the pool to another
 * worker's (MOVING) and IDLE there, anything to CLOSED.
 */
static bool server_move_ok(enum server_state from, enum server_state to)
{
	switch (to) {
	case SERVER_ST_RESOLVING: return false;
	case SERVER_ST_CONNECTING: return from <= SERVER_ST_AUTH;
	case SERVER_ST_SSL_REQUEST: return from == SERVER_ST_CONNECTING;
	case SERVER_ST_TLS: return from == SERVER_ST_SSL_REQUEST;
	case SERVER_ST_AUTH:
		return from == SERVER_ST_CONNECTING || from == SERVER_ST_SSL_REQUEST ||
		       from == SERVER_ST_TLS;
	case SERVER_ST_STARTUP: return from == SERVER_ST_AUTH;
	case SERVER_ST_ACTIVE: return from == SERVER_ST_STARTUP || from == SERVER_ST_IDLE;
	case SERVER_ST_RESET: return from == SERVER_ST_ACTIVE;
	case SERVER_ST_IDLE:
		return from == SERVER_ST_STARTUP || from == SERVER_ST_RESET ||
		       from == SERVER_ST_ACTIVE || from == SERVER_ST_MOVING;
	case SERVER_ST_MOVING:
		return from == SERVER_ST_STARTUP || from == SERVER_ST_RESET ||
		       from == SERVER_ST_ACTIVE || from == SERVER_ST_IDLE;
	case SERVER_ST_CLOSED: return from != SERVER_ST_CLOSED;
	default: return false;
	}
}

bool server_set_state(struct server *srv, enum server_state st)
{
	if (!server_move_ok(srv->state, st)) {
		log_error(srv->w->id, -1, "bad upstream state change", "server=%llu from=%s to=%s",
			  (unsigned long long)srv->id, server_state_name(srv->state),
			  server_state_name(st));
		return false;
	}
	srv->state = st;
	switch (st) {
	case SERVER_ST_ACTIVE:
		conn_set_callbacks(srv->conn, active_read_cb, active_drain_cb, active_event_cb, srv);
		conn_read_enable(srv->conn, true);
		break;
	case SERVER_ST_RESET:
		conn_set_callbacks(srv->conn, reset_read_cb, NULL, idle_event_cb, srv);
		conn_read_enable(srv->conn, true);
		break;
	case SERVER_ST_IDLE:
		conn_set_callbacks(srv->conn, idle_read_cb, NULL, idle_event_cb, srv);
		conn_read_enable(srv->conn, true);
		break;
	case SERVER_ST_MOVING:
		/* No loop of its own until the next worker takes it in. */
		conn_set_callbacks(srv->conn, NULL, NULL, NULL, NULL);
		conn_read_enable(srv->conn, false);
		break;
	default:
		break;
	}
	return true;
}

void server_reset(struct server *srv)
{
	struct pgmsg_writer *out = worker_writer(srv->w);

	/* Backpressure set while relaying must not outlive the session. */
	conn_notify_drain(srv->conn, SIZE_MAX);
	srv->reset_done = false;
	/* DISCARD ALL drops prepared statements and settings: nothing is left of earlier clients. */
	server_stmts_clear(&srv->stmts);
	srv->unnamed_owner = 0;
	srv->set_owner = 0;
	(void)server_set_state(srv, SERVER_ST_RESET);
	pgmsg_write_query(out, "DISCARD ALL");
	if (!send_built(srv))
		server_close(srv, "out of memory");
}

/* ---- cancel forwarding ---- */

/* A short-lived connection that carries one CancelRequest; on worker->cancel_conns. */
struct cancel_conn {
	TAILQ_ENTRY(cancel_conn) link;
	struct worker *w;
	struct conn *conn;
	struct event *timer;
};

static void cancel_conn_free(struct cancel_conn *c)
{
	struct worker *w = c->w;

	TAILQ_REMOVE(&w->cancel_conns, c, link);
	conn_free(c->conn);
	if (c->timer)
		event_free(c->timer);
	free(c);
	/* A draining worker may have been waiting only for this. */
	event_active(w->reaper_ev, EV_READ, 0);
}

void server_cancels_free(struct worker *w)
{
	struct cancel_conn *c;

	while ((c = TAILQ_FIRST(&w->cancel_conns)) != NULL)
		cancel_conn_free(c);
}

/* Closes now; the timer fires at once and frees outside the conn's callback. */
static void cancel_finish(struct cancel_conn *c)
{
	struct timeval now = { 0, 0 };

	conn_close(c->conn);
	evtimer_add(c->timer, &now);
}

static void cancel_event_cb(struct conn *conn, unsigned events, void *arg)
{
	struct cancel_conn *c = arg;

	(void)conn;
	/* Connected: the queued request goes out by itself; then wait for the server's close. */
	if (events & CONN_EV_CONNECTED)
		return;
	cancel_finish(c);
}

static void cancel_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cancel_conn *c = arg;

	(void)fd;
	(void)what;
	if (c->conn->state != CONN_ST_CLOSED) {
		cancel_finish(c);
		return;
	}
	cancel_conn_free(c);
}

void server_send_cancel(struct worker *w, const struct cancel_target *target)
{
	struct cancel_conn *c = calloc(1, sizeof(*c));
	struct pgmsg_writer *out = worker_writer(w);
	struct timeval tv = { CANCEL_TIMEOUT_MS / 1000, 0 };

	if (c == NULL)
		return;
	c->w = w;
	TAILQ_INSERT_TAIL(&w->cancel_conns, c, link);
	c->conn = conn_new(w->base, NULL, NULL, cancel_event_cb, c);
	c->timer = evtimer_new(w->base, cancel_timeout_cb, c);
	if (c->conn == NULL || c->timer == NULL) {
		cancel_conn_free(c);
		return;
	}
	/* Postgres reads a CancelRequest before any TLS or hba check: plaintext works. */
	pgmsg_write_cancel(out, target->pid, target->key);
	if (!conn_connect(c->conn, (const struct sockaddr *)&target->addr, target->addrlen) ||
	    !conn_write(c->conn, out->buf, out->len)) {
		cancel_conn_free(c);
		return;
	}
	/* The server closes after reading it; reading shows us that EOF. */
	conn_read_enable(c->conn, true);
	evtimer_add(c->timer, &tv);
}

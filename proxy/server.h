/*
 * server — one upstream connection to Supabase (Postgres): resolve without
 * blocking (evdns), try every address, TLS per sslmode with SNI, startup,
 * authentication (SCRAM-SHA-256, md5 or cleartext, as the server asks), and
 * the ParameterStatus/BackendKeyData it reports.
 *
 * A server is owned by its worker's pool; while linked to a session the
 * session relays its bytes (relay.c) and the server only keeps the protocol
 * facts (ParameterStatus values) it needs for the next session.
 */
#ifndef SY_SERVER_H
#define SY_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include "proxy/list.h"
#include <netdb.h>
#include <sys/socket.h>

#include "proxy/cancel.h"
#include "proxy/stmts.h"

struct worker;
struct session;
struct conn;
struct event;
struct evdns_getaddrinfo_request;

struct scram_client;

enum server_state {
	SERVER_ST_RESOLVING = 0, /* waiting for evdns to answer for [supabase] host */
	SERVER_ST_CONNECTING,    /* TCP connect to the current address in flight */
	SERVER_ST_SSL_REQUEST,   /* SSLRequest sent, waiting for 'S' or 'N' */
	SERVER_ST_TLS,           /* TLS handshake in flight */
	SERVER_ST_AUTH,          /* StartupMessage sent, authentication exchange */
	SERVER_ST_STARTUP,       /* authenticated, collecting parameters until ReadyForQuery */
	SERVER_ST_ACTIVE,        /* linked to a session, relaying */
	SERVER_ST_RESET,         /* session left; DISCARD ALL in flight */
	SERVER_ST_IDLE,          /* in the pool, ready for a session */
	SERVER_ST_MOVING,        /* handed to another worker's pool, in its inbox (pool.c) */
	SERVER_ST_CLOSED,        /* dead; freed after the current callback */
};

/* One ParameterStatus value as the server last reported it. */
struct server_param {
	char *name;
	char *value;
};

struct server {
	uint64_t id;
	struct worker *w;
	enum server_state state;
	TAILQ_ENTRY(server) link; /* pool idle or others list */

	struct conn *conn;
	struct event *timer; /* connect deadline, then unused */
	struct evdns_getaddrinfo_request *dns_req;
	struct addrinfo *addrs;      /* evdns answer (evutil_addrinfo is addrinfo here) */
	struct addrinfo *cur_addr;

	/* Startup parameters this connection was opened with (pool key). */
	char *key;     /* the login and role, then "name=value\n..." sorted, as matched by the pool */
	char *login_user;     /* who it logs in as (the session's up_user) */
	char *login_password;
	char *role;           /* given as "-c role=..." at startup; "" for none */
	char *slot_user;      /* the client user whose [[users]] pool_size counts it, or NULL */
	int64_t last_session; /* transaction pooling: the session it last served (relay.c) */
	char **param_names;
	char **param_values;
	size_t nparams;

	struct server_param *reported; /* ParameterStatus set, kept current */
	size_t nreported;
	/*
	 * Changes with every server_note_param, to a value no other server has
	 * had (0: nothing reported yet): a cache of what <reported> says is
	 * current while it holds the same number (legacy.c's session settings).
	 */
	uint64_t params_gen;

	struct cancel_target cancel;  /* address + the server's BackendKeyData */
	struct scram_client *scram;
	char txn_status;              /* last ReadyForQuery status */
	bool reset_done;              /* CommandComplete "DISCARD ALL" seen during SERVER_ST_RESET */
	struct session *session;      /* linked/requesting session, or NULL */

	/* Transaction pooling: what earlier clients left on this connection. */
	struct server_stmts stmts;    /* bodies prepared here as sy_<id> */
	int64_t unnamed_owner;        /* session whose unnamed statement this holds; 0 none */
	uint32_t unnamed_gen;         /* ...and which of its unnamed Parses */
	int64_t set_owner;            /* session whose SETs this carries; 0 = none (defaults) */
	uint32_t set_gen;
	char error[256];              /* why connecting failed (for the client) */
};

/*
 * Starts a new connection for <s> with <s>'s startup parameters; <s>->opening
 * points at it until it is ready. The server is registered with the worker's
 * pool; it calls session_server_ready()/session_server_failed() on <s> when
 * done, or goes idle in the pool if <s> has left by then. Takes over the
 * pool slot the caller reserved, and gives it back when it closes. NULL only
 * if nothing could be allocated (the slot is then still the caller's).
 */
struct server *server_connect(struct worker *w, struct session *s)
	__attribute__((warn_unused_result));

/* Closes the connection; the free happens after the current callback. */
void server_close(struct server *srv, const char *reason);

/* Frees a closed server (called by the worker's reaper). */
void server_free(struct server *srv);

/* Records a ParameterStatus from the server (relay path calls this too). */
void server_note_param(struct server *srv, const char *name, const char *value);

/* Sends the reset query and moves to SERVER_ST_RESET. */
void server_reset(struct server *srv);

/*
 * Forwards a CancelRequest to the upstream named by <target> on a short-lived
 * connection of its own (fire and forget, bounded by a timeout).
 */
void server_send_cancel(struct worker *w, const struct cancel_target *target);
/* Frees the worker's cancel connections that are still out (worker teardown). */
void server_cancels_free(struct worker *w);

/*
 * Sets the state if the move is legal (else logs and returns false) and
 * points the connection's callbacks at the relay (ACTIVE) or the pool (RESET, IDLE).
 */
bool server_set_state(struct server *srv, enum server_state st);
const char *server_state_name(enum server_state st);

#endif

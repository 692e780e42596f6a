/*
 * pool — session pooling of upstream connections.
 *
 * Each worker keeps its own idle upstream connections (a connection is
 * driven by one worker's event_base at a time). [supabase] pool_size caps
 * connections across all workers through one atomic counter in struct proxy.
 * When the cap is reached, a client waits (pool_timeout_ms) in its worker's
 * FIFO; other workers are asked to give up an idle connection, which moves
 * to the waiting worker still logged in, and every connection that closes
 * wakes the workers that have waiters.
 *
 * An idle connection is reused only by a client whose startup parameters
 * (application_name, options, client_encoding, …) are exactly those it was
 * opened with: Postgres makes startup parameters the session defaults that
 * DISCARD ALL returns to, so reusing across different ones would leak one
 * client's settings into another's session.
 */
#ifndef SY_POOL_H
#define SY_POOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "proxy/list.h"

struct worker;
struct session;
struct server;

TAILQ_HEAD(server_list, server);
TAILQ_HEAD(session_waitq, session);

struct pool {
	struct server_list idle;     /* SERVER_ST_IDLE, most recently used first */
	struct server_list others;   /* every other live server of this worker */
	struct session_waitq waiters; /* sessions waiting for a slot, oldest first */
	int nidle;
	int nwaiting;
	/* When the oldest waiter started waiting (monotonic ms), 0 if none; read by other workers. */
	_Atomic int64_t oldest_wait_ms;
	bool handing_over;    /* a slot is being closed for another worker: not ours to take */
	/* Servers other workers moved here, not yet taken in; the only cross-thread list. */
	pthread_mutex_t inbox_lock;
	struct server_list inbox;
	bool inbox_open;      /* under inbox_lock; false once the worker is being destroyed */
	struct event *tick;   /* while clients wait: retry and nudge other workers (lazy) */
};

void pool_init(struct pool *pool);
/* Frees the pool's timer (worker teardown). */
void pool_destroy(struct pool *pool);

/*
 * Finds an upstream for <s>: an idle one with the same startup parameters, a
 * new connection if the cap allows, or a place in the wait queue. Completes
 * later (or before returning) through session_server_ready() or
 * session_server_failed().
 */
void pool_acquire(struct worker *w, struct session *s);

/*
 * An open connection of this worker opened with startup parameters <key>
 * (its ParameterStatus set is what a new client of that key is told), or NULL.
 */
struct server *pool_find_params(struct worker *w, const char *key);

/* Removes <s> from the wait queue (it is closing or timed out). */
void pool_forget_waiter(struct worker *w, struct session *s);

/*
 * The session is done with <srv>: it is reset (DISCARD ALL) and kept when
 * <clean> (the session saw every reply it asked for, no COPY in progress) and
 * the server is outside a transaction; otherwise it is closed.
 */
void pool_release(struct worker *w, struct server *srv, bool clean);

/*
 * Transaction pooling: the client is between transactions; <srv> (idle, no
 * reset: it keeps its prepared statements) serves the next client.
 */
void pool_release_between_transactions(struct worker *w, struct server *srv);

/* A server finished its reset or its first startup and has no session. */
void pool_server_idle(struct worker *w, struct server *srv);

/* Accounting when a server of this worker is freed. */
void pool_server_gone(struct worker *w, struct server *srv);

/* Reacts to PROXY_WAKE_POOL / PROXY_WAKE_TRIM. */
void pool_on_wake(struct worker *w, unsigned flags);

/*
 * Takes no more moved servers, and takes in those already moved (worker
 * teardown: they are then closed and freed with the worker's own).
 */
void pool_close_inbox(struct worker *w);

/* Closes every idle server (shutdown, or a config change that obsoletes them). */
void pool_close_idle(struct worker *w);

#endif

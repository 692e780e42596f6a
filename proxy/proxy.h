/*
 * proxy — the one context struct every worker is handed: what the workers
 * share. Everything here is either immutable after start, atomic, or guarded
 * by a lock that is never taken on the per-message path (reload, pool
 * pressure, cancel registration).
 */
#ifndef SY_PROXY_H
#define SY_PROXY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "proxy/cancel.h"
#include "proxy/config.h"
#include "proxy/log.h"
#include "proxy/refusals.h"

struct worker;
struct control;

/* Bits of worker->wake_flags: why another thread woke this worker. */
enum proxy_wake {
	PROXY_WAKE_RELOAD = 1u << 0,   /* a new config snapshot is published */
	PROXY_WAKE_SHUTDOWN = 1u << 1, /* stop accepting, drain sessions */
	PROXY_WAKE_POOL = 1u << 2,     /* an upstream slot may have been freed */
	PROXY_WAKE_TRIM = 1u << 3,     /* someone waits for a slot: close an idle upstream */
	PROXY_WAKE_MYSQL_TRIM = 1u << 4, /* someone waits for a MySQL slot: close an idle one */
	PROXY_WAKE_CANCEL = 1u << 5,   /* CancelRequests for this worker's sessions (worker.h) */
	PROXY_WAKE_MYSQL = 1u << 6,    /* a MySQL slot may have been freed: waiting jobs retry */
};

struct proxy {
	struct worker *workers;
	int nworkers;

	/* The newest snapshot; workers copy it (with refs) when woken with RELOAD. */
	pthread_mutex_t snap_lock;
	struct config *cfg;
	SSL_CTX *client_tls;   /* NULL when clients cannot use TLS */
	SSL_CTX *upstream_tls; /* NULL when sslmode = disable */

	/* Keys the salts of mock SCRAM exchanges for unknown users (session_auth.c). */
	uint8_t mock_secret[32];

	_Atomic int64_t next_session_id;
	_Atomic int clients;       /* client connections, for max_client_conn */
	_Atomic int pool_total;    /* upstream connections open or opening, all workers */
	_Atomic int pool_waiters;  /* sessions waiting for an upstream slot, all workers */
	_Atomic bool shutting_down;
	_Atomic uint64_t pins;     /* clients pinned to their upstream (transaction pooling) */
	_Atomic int mysql_total;   /* MySQL connections open or opening, all workers */
	_Atomic int mysql_waiters; /* MySQL jobs waiting for a connection, all workers */
	struct log_ratelimit pool_timeout_rl; /* "pool wait timed out": once per interval, counted */

	/*
	 * Upstream connections per client user, for [[users]] pool_size (pool.c):
	 * rare changes (a connection opens or closes), so one mutex.
	 */
	pthread_mutex_t user_slots_lock;
	struct proxy_user_slots {
		char name[64];
		int used;
	} user_slots[256];
	size_t nuser_slots;

	struct cancel_registry cancels;
	struct refusals refusals;
	struct cutover *cutover; /* live weights and rollback state (cutover.h) */
	struct shadow_runner *shadow; /* the thread that runs shadow reads (shadow.h) */
	_Atomic uint64_t shadow_skipped; /* shadow reads that could not be compared */
	struct control *control; /* the control table follower (control.h): main thread only */
};

/* Wakes worker <w> from any thread with the given enum proxy_wake bits. */
void proxy_wake_worker(struct worker *w, unsigned flags);
/* Wakes every worker except <except> (may be NULL). */
void proxy_wake_all(struct proxy *p, unsigned flags, const struct worker *except);
/* A worker thread's loop ended (main waits for all of them). */
void proxy_worker_exited(void);

#endif

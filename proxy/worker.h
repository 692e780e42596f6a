/*
 * worker — one event-loop thread: its event_base, its SO_REUSEPORT listener,
 * its sessions, its upstream pool and its router. Nothing here is shared with
 * other workers except through struct proxy; the per-message path takes no
 * lock.
 */
#ifndef SY_WORKER_H
#define SY_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "proxy/list.h"

#include <openssl/ssl.h>

#include "proxy/log.h"
#include "proxy/pool.h"
#include "proxy/proxy.h"
#include "protocol/pgmsg.h"
#include "protocol/scram.h"

struct event_base;
struct evdns_base;
struct evconnlistener;
struct event;
struct router;
struct mysqlb_pool;
struct session;
struct metrics;
struct shadow;

TAILQ_HEAD(session_list, session);
TAILQ_HEAD(cancel_conn_list, cancel_conn);

/*
 * Sessions waiting for one kind of deadline, earliest first, and the one
 * timer that serves them all (session.c). Every session of a kind gets the
 * same delay, so sessions expire in the order they join and joining is
 * O(1); a session costs a list link instead of a libevent timer of its own.
 * The timer is armed for the head and re-armed when it fires, not when the
 * head leaves (it then just fires early, finds nothing due, and re-arms).
 */
struct session_clock {
	struct session_list due; /* by deadline_ms, earliest first */
	struct event *timer;
	bool armed;              /* <timer> is pending, for <armed_ms> or earlier */
	int64_t armed_ms;
};

struct worker {
	int id;
	struct proxy *proxy;
	pthread_t thread;
	struct event_base *base;
	struct evdns_base *dns;
	struct evconnlistener *listener;

	/* Cross-thread wake-ups: enum proxy_wake bits, signalled through an eventfd. */
	int wake_fd;
	struct event *wake_ev;
	_Atomic unsigned wake_flags;

	/* This worker's view of the configuration; refs held, swapped on reload. */
	struct config *cfg;
	SSL_CTX *client_tls;
	SSL_CTX *upstream_tls;
	struct router *router;
	/* Per legacy table of <cfg>: the cutover state its group's weight is read through. */
	struct cutover_table *cut[64];
	struct metrics *metrics;       /* this worker's /metrics counters (metrics.h) */
	struct event *metrics_ev;      /* publishes the router's counters every second */

	struct session_list sessions;  /* every live session */
	struct session_list doomed;    /* closed; freed after the current callback */
	struct event *reaper_ev;       /* frees <doomed> */
	struct event *drain_ev;        /* shutdown grace deadline */
	struct session_clock login_clock; /* sessions not yet authenticated */
	struct session_clock flush_clock; /* sessions writing a FATAL before they close */
	struct session_clock idle_clock;  /* transaction pooling: sessions between transactions */
	bool draining;

	struct pool pool;
	struct mysqlb_pool *mysql;     /* the legacy MySQL's connections (mysql.h) */
	struct shadow *shadow;         /* shadow reads of the cutover (shadow.h) */
	struct cancel_conn_list cancel_conns; /* CancelRequests on their way upstream */
	/* Sessions of this worker a CancelRequest named (any worker appends, under the lock). */
	pthread_mutex_t cancel_lock;
	int64_t *cancel_ids;
	size_t ncancel_ids;
	size_t cancel_ids_cap;

	/* Scratch space for messages switchyard builds itself. */
	struct pgmsg_writer out;
	/* Scratch space for message bodies that straddle evbuffer chains. */
	uint8_t *scratch;
	size_t scratch_cap;

	/*
	 * Out of descriptors (EMFILE and friends) the listener stays readable and
	 * every loop turn would fail accept() again: instead it is disabled and
	 * re-enabled by <accept_retry_ev> after <accept_backoff_ms> (doubling up
	 * to a second, back to 0 on the next accepted connection). Waiting
	 * clients sit in the kernel's listen backlog meanwhile.
	 */
	struct event *accept_retry_ev;
	int accept_backoff_ms;          /* 0: accepting normally */
	uint64_t accept_failures;       /* failed accepts since accepting last worked */
	struct log_ratelimit accept_rl; /* "accept failed" lines */
	struct log_ratelimit resume_rl; /* "accepting connections again" lines */
};

/* Creates worker <id> (listener bound, not yet running). NULL on failure, logged. */
bool worker_init(struct worker *w, struct proxy *p, int id) __attribute__((warn_unused_result));
/* Starts the thread. */
bool worker_start(struct worker *w) __attribute__((warn_unused_result));
void worker_join(struct worker *w);
void worker_destroy(struct worker *w);

/*
 * A CancelRequest named session <id> of worker <w> (called from any worker):
 * a MySQL query it runs is killed, from <w>'s own thread.
 */
void worker_post_cancel(struct worker *w, int64_t id);

/* The message builder scratch: reset and ready. Valid until the next call. */
struct pgmsg_writer *worker_writer(struct worker *w);
/* <n> bytes of scratch memory, valid until the next call; NULL on OOM. */
uint8_t *worker_scratch(struct worker *w, size_t n);

#endif

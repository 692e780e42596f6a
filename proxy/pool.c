/*
 * pool — who gets an upstream connection, and when.
 *
 * The cap is global (pool_size across workers) but connections are local to
 * a worker, so the two meet through atomics: pool_total counts every live or
 * opening connection; a worker reserves a slot with a compare-and-swap before
 * opening one. Waiting clients are per worker (FIFO). When a worker has
 * waiters and no slot, it asks the other workers to close an idle connection
 * (PROXY_WAKE_TRIM); whenever a connection closes, workers with waiters are
 * woken (PROXY_WAKE_POOL) to try again. None of this runs per message.
 *
 * A connection that another worker's client needs more moves there: it
 * leaves this loop, goes into that worker's inbox (the one lock here) and
 * joins that loop, logged in, TLS and prepared statements intact. Only a
 * connection that cannot move (bytes in flight) is closed instead, so that
 * the other worker can open one in its slot: a login, which moving avoids.
 */
#include "proxy/clock.h"
#include "proxy/pool.h"

#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <string.h>

#include <event2/event.h>

#include "proxy/conn.h"
#include "proxy/log.h"
#include "proxy/server.h"
#include "proxy/session.h"
#include "proxy/worker.h"

/*
 * A connection moves to another worker when a client there waits and none
 * here does, or when the client there has waited this much longer than any
 * here: under even load both workers keep their connections, under uneven
 * load nobody starves.
 */
#define POOL_HANDOVER_MS 50

/* Publishes when the oldest local waiter started waiting. */
static void note_oldest(struct worker *w)
{
	struct session *first = TAILQ_FIRST(&w->pool.waiters);

	atomic_store(&w->pool.oldest_wait_ms, first ? first->wait_since_ms : 0);
}

/*
 * The worker whose client should have this worker's next free connection, or
 * NULL: the one with the oldest waiter, if nobody waits here or it has waited
 * POOL_HANDOVER_MS longer than anyone here.
 */
static struct worker *worker_in_need(struct worker *w)
{
	if (atomic_load(&w->proxy->pool_waiters) <= w->pool.nwaiting)
		return NULL;
	struct worker *best = NULL;
	int64_t best_since = 0;
	for (int i = 0; i < w->proxy->nworkers; i++) {
		struct worker *o = &w->proxy->workers[i];
		int64_t since = o == w ? 0 : atomic_load(&o->pool.oldest_wait_ms);
		if (since != 0 && (best == NULL || since < best_since)) {
			best = o;
			best_since = since;
		}
	}
	if (best == NULL || w->pool.nwaiting == 0)
		return best;
	return best_since + POOL_HANDOVER_MS < atomic_load(&w->pool.oldest_wait_ms) ? best : NULL;
}

/*
 * Gives <srv> (idle, or on this worker's others list with no session) to
 * worker <to>. False if it cannot move (bytes in flight) or <to> takes no
 * more servers.
 */
static bool move_to(struct worker *w, struct server *srv, struct worker *to)
{
	if (srv->session != NULL || srv->timer != NULL || !conn_can_move(srv->conn))
		return false;
	pthread_mutex_lock(&to->pool.inbox_lock);
	bool open = to->pool.inbox_open;
	if (open) {
		if (srv->state == SERVER_ST_IDLE) {
			TAILQ_REMOVE(&w->pool.idle, srv, link);
			w->pool.nidle--;
		} else {
			TAILQ_REMOVE(&w->pool.others, srv, link);
		}
		(void)server_set_state(srv, SERVER_ST_MOVING);
		conn_leave_loop(srv->conn);
		TAILQ_INSERT_TAIL(&to->pool.inbox, srv, link);
	}
	pthread_mutex_unlock(&to->pool.inbox_lock);
	if (!open)
		return false;
	log_debug(w->id, -1, "upstream moved", "server=%llu to_worker=%d",
		  (unsigned long long)srv->id, to->id);
	proxy_wake_worker(to, PROXY_WAKE_POOL);
	return true;
}

/*
 * Another worker's client needs <srv> more: it moves there, or, when it
 * cannot move and that client has waited long, closes so that its slot opens
 * there. True if <srv> is no longer this worker's to use.
 */
static bool give_away(struct worker *w, struct server *srv)
{
	struct worker *to = worker_in_need(w);

	if (to == NULL)
		return false;
	if (move_to(w, srv, to))
		return true;
	int64_t mine = atomic_load(&w->pool.oldest_wait_ms);
	int64_t theirs = atomic_load(&to->pool.oldest_wait_ms);
	if (theirs == 0 || theirs + POOL_HANDOVER_MS >= (mine != 0 ? mine : clock_ms()))
		return false;
	w->pool.handing_over = true;
	server_close(srv, "slot handed to another worker's client");
	w->pool.handing_over = false;
	return true;
}

/* Takes in the servers other workers moved here. */
static void adopt_moved(struct worker *w)
{
	struct server_list moved = TAILQ_HEAD_INITIALIZER(moved);
	struct server *srv;

	pthread_mutex_lock(&w->pool.inbox_lock);
	TAILQ_CONCAT(&moved, &w->pool.inbox, link);
	pthread_mutex_unlock(&w->pool.inbox_lock);
	while ((srv = TAILQ_FIRST(&moved)) != NULL) {
		TAILQ_REMOVE(&moved, srv, link);
		srv->w = w;
		conn_join_loop(srv->conn, w->base);
		TAILQ_INSERT_TAIL(&w->pool.others, srv, link);
		pool_server_idle(w, srv);
	}
}

void pool_close_inbox(struct worker *w)
{
	pthread_mutex_lock(&w->pool.inbox_lock);
	w->pool.inbox_open = false;
	pthread_mutex_unlock(&w->pool.inbox_lock);
	adopt_moved(w);
}

void pool_destroy(struct pool *pool)
{
	if (pool->tick != NULL)
		event_free(pool->tick);
	pool->tick = NULL;
	pthread_mutex_destroy(&pool->inbox_lock);
}

static void serve_waiters(struct worker *w);

/*
 * While clients wait, every POOL_TICK_MS the worker tries again and asks the
 * others to give up an idle connection. Wake-ups between workers can cross
 * (a freed slot taken back by its own worker); this makes waiting converge
 * whatever the interleaving.
 */
#define POOL_TICK_MS 100

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct timeval tv = { 0, POOL_TICK_MS * 1000 };

	(void)fd;
	(void)what;
	if (w->pool.nwaiting == 0)
		return;
	serve_waiters(w);
	if (w->pool.nwaiting == 0)
		return;
	proxy_wake_all(w->proxy, PROXY_WAKE_TRIM, w);
	evtimer_add(w->pool.tick, &tv);
}

static void arm_tick(struct worker *w)
{
	struct timeval tv = { 0, POOL_TICK_MS * 1000 };

	if (w->pool.tick == NULL)
		w->pool.tick = evtimer_new(w->base, tick_cb, w);
	if (w->pool.tick != NULL && !evtimer_pending(w->pool.tick, NULL))
		evtimer_add(w->pool.tick, &tv);
}

void pool_init(struct pool *pool)
{
	TAILQ_INIT(&pool->idle);
	TAILQ_INIT(&pool->others);
	TAILQ_INIT(&pool->waiters);
	pool->nidle = 0;
	pool->nwaiting = 0;
	TAILQ_INIT(&pool->inbox);
	pool->inbox_open = true;
	pthread_mutex_init(&pool->inbox_lock, NULL);
}

/* The slot counter of client user <name>, created at 0; NULL when the table is full. Locked. */
static struct proxy_user_slots *user_slots_of(struct proxy *p, const char *name)
{
	for (size_t i = 0; i < p->nuser_slots; i++) {
		if (strcmp(p->user_slots[i].name, name) == 0)
			return &p->user_slots[i];
	}
	if (p->nuser_slots == sizeof(p->user_slots) / sizeof(p->user_slots[0]) ||
	    strlen(name) >= sizeof(p->user_slots[0].name))
		return NULL;
	struct proxy_user_slots *u = &p->user_slots[p->nuser_slots++];
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->used = 0;
	return u;
}

/*
 * [[users]] pool_size: a slot of <s>'s user, when it has a cap. True when
 * it has none or one is free (s->user_slot then says to count the new
 * connection); false at its cap (s->user_capped).
 */
static bool reserve_user_slot(struct worker *w, struct session *s)
{
	const struct config_user *u = config_find_user(w->cfg, session_user(s));
	if (u == NULL || u->pool_size <= 0)
		return true;
	struct proxy *p = w->proxy;
	pthread_mutex_lock(&p->user_slots_lock);
	struct proxy_user_slots *us = user_slots_of(p, session_user(s));
	/* A table full of user names (over 256 capped users) caps nobody further. */
	bool ok = us == NULL || us->used < u->pool_size;
	if (us != NULL && ok)
		us->used++;
	pthread_mutex_unlock(&p->user_slots_lock);
	s->user_slot = us != NULL && ok;
	s->user_capped = !ok;
	return ok;
}

static void release_user_slot(struct proxy *p, const char *name)
{
	pthread_mutex_lock(&p->user_slots_lock);
	struct proxy_user_slots *us = user_slots_of(p, name);
	if (us != NULL && us->used > 0)
		us->used--;
	pthread_mutex_unlock(&p->user_slots_lock);
}

/* Takes a slot under the global cap and the user's; false when either is reached. */
static bool reserve_slot(struct worker *w, struct session *s)
{
	int cap = w->cfg->supabase.pool_size;
	int cur = atomic_load(&w->proxy->pool_total);

	while (cur < cap) {
		if (atomic_compare_exchange_weak(&w->proxy->pool_total, &cur, cur + 1)) {
			if (reserve_user_slot(w, s))
				return true;
			atomic_fetch_sub(&w->proxy->pool_total, 1);
			return false;
		}
	}
	s->user_capped = false;
	return false;
}

static void take_idle(struct worker *w, struct server *srv)
{
	TAILQ_REMOVE(&w->pool.idle, srv, link);
	w->pool.nidle--;
	TAILQ_INSERT_TAIL(&w->pool.others, srv, link);
}

static struct server *find_idle(struct worker *w, const char *key)
{
	struct server *srv;

	TAILQ_FOREACH(srv, &w->pool.idle, link)
		if (strcmp(srv->key, key) == 0)
			return srv;
	return NULL;
}

struct server *pool_find_params(struct worker *w, const char *key)
{
	struct server *srv = find_idle(w, key);

	if (srv != NULL)
		return srv;
	TAILQ_FOREACH(srv, &w->pool.others, link)
		if (srv->state == SERVER_ST_ACTIVE && strcmp(srv->key, key) == 0)
			return srv;
	return NULL;
}

static void link_idle(struct worker *w, struct session *s, struct server *srv)
{
	take_idle(w, srv);
	session_server_ready(s, srv);
}

/* Opens a new connection for <s> in a slot already reserved (the server owns it from then on). */
static void open_for(struct worker *w, struct session *s)
{
	bool user_slot = s->user_slot;
	s->user_slot = false;
	struct server *srv = server_connect(w, s);
	if (user_slot) {
		/* The slot goes with the connection (pool_server_gone gives it back)... */
		if (srv != NULL && srv->state != SERVER_ST_CLOSED)
			srv->slot_user = strdup(session_user(s));
		/* ... unless there is none to carry it. */
		if (srv == NULL || srv->slot_user == NULL)
			release_user_slot(w->proxy, session_user(s));
	}
	if (srv == NULL) {
		atomic_fetch_sub(&w->proxy->pool_total, 1);
		session_server_failed(s, "53200", "out of memory opening an upstream connection",
				      NULL);
	}
}

static void wait_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	char detail[200];

	(void)fd;
	(void)what;
	pool_forget_waiter(s->w, s);
	const struct config_user *u = config_find_user(s->w->cfg, session_user(s));
	if (s->user_capped && u != NULL && u->pool_size > 0)
		snprintf(detail, sizeof(detail),
			 "All %d upstream connections of user \"%.64s\" ([[users]] pool_size) stayed "
			 "busy for pool_timeout_ms = %d.",
			 u->pool_size, session_user(s), s->w->cfg->proxy.pool_timeout_ms);
	else
		snprintf(detail, sizeof(detail),
			 "All %d upstream connections (pool_size) stayed busy for pool_timeout_ms = %d.",
			 s->w->cfg->supabase.pool_size, s->w->cfg->proxy.pool_timeout_ms);
	/* Thousands of clients can time out together: one line per interval, with the count. */
	log_ratelimited_warn(&s->w->proxy->pool_timeout_rl, s->w->id, s->id, "pool wait timed out",
			     "user=%s waited_ms=%d", s->log_user, s->w->cfg->proxy.pool_timeout_ms);
	session_server_failed(s, "53300", "no upstream connection available", detail);
}

static void enqueue(struct worker *w, struct session *s)
{
	struct timeval tv = { w->cfg->proxy.pool_timeout_ms / 1000,
			      (w->cfg->proxy.pool_timeout_ms % 1000) * 1000 };

	if (s->timer == NULL)
		s->timer = evtimer_new(w->base, wait_timeout_cb, s);
	if (s->timer == NULL) {
		session_server_failed(s, "53200", "out of memory", NULL);
		return;
	}
	evtimer_add(s->timer, &tv);
	TAILQ_INSERT_TAIL(&w->pool.waiters, s, wait_link);
	s->waiting = true;
	s->wait_since_ms = clock_ms();
	w->pool.nwaiting++;
	note_oldest(w);
	atomic_fetch_add(&w->proxy->pool_waiters, 1);
	log_debug(w->id, s->id, "waiting for an upstream slot", "pool_total=%d",
		  atomic_load(&w->proxy->pool_total));
	/* Someone else may be sitting on idle connections we cannot use. */
	proxy_wake_all(w->proxy, PROXY_WAKE_TRIM, w);
	arm_tick(w);
}

void pool_acquire(struct worker *w, struct session *s)
{
	struct server *srv = find_idle(w, s->pool_key);

	if (srv != NULL) {
		link_idle(w, s, srv);
		return;
	}
	if (reserve_slot(w, s)) {
		open_for(w, s);
		return;
	}
	/* At the cap: an idle connection with other startup parameters can make room (not
	   when the cap is this user's own). */
	srv = s->user_capped ? NULL : TAILQ_LAST(&w->pool.idle, server_list);
	if (srv != NULL) {
		server_close(srv, "making room for a client with other startup parameters");
		if (reserve_slot(w, s)) {
			open_for(w, s);
			return;
		}
	}
	enqueue(w, s);
}

void pool_forget_waiter(struct worker *w, struct session *s)
{
	if (!s->waiting)
		return;
	TAILQ_REMOVE(&w->pool.waiters, s, wait_link);
	s->waiting = false;
	w->pool.nwaiting--;
	note_oldest(w);
	atomic_fetch_sub(&w->proxy->pool_waiters, 1);
	if (s->timer)
		evtimer_del(s->timer);
}

/* Serves the oldest local waiter if a slot or a matching idle server exists. */
/*
 * Serves the oldest local waiter that can be: a matching idle server, or a
 * new slot. A waiter held back by its own [[users]] pool_size is passed
 * over (those behind it may still get theirs); one held back by the global
 * cap stops the scan (nobody behind it would get a new slot either).
 */
static bool serve_one_waiter(struct worker *w)
{
	struct session *s, *next;

	TAILQ_FOREACH_SAFE(s, &w->pool.waiters, wait_link, next) {
		struct server *srv = find_idle(w, s->pool_key);
		if (srv != NULL) {
			pool_forget_waiter(w, s);
			link_idle(w, s, srv);
			return true;
		}
		if (reserve_slot(w, s)) {
			pool_forget_waiter(w, s);
			open_for(w, s);
			return true;
		}
		if (!s->user_capped)
			return false;
	}
	return false;
}

/* Does a waiter need a new slot that closing an idle server of other parameters would give? */
static bool waiter_wants_slot(struct worker *w)
{
	struct session *s;

	TAILQ_FOREACH(s, &w->pool.waiters, wait_link)
		if (!s->user_capped)
			return true;
	return false;
}

static void serve_waiters(struct worker *w)
{
	while (serve_one_waiter(w))
		;
}

void pool_server_idle(struct worker *w, struct server *srv)
{
	/* Over the cap after a reload that shrank pool_size: retire it. */
	if (atomic_load(&w->proxy->pool_total) > w->cfg->supabase.pool_size || w->draining) {
		server_close(srv, "pool shrank or shutting down");
		return;
	}
	if (give_away(w, srv))
		return;
	TAILQ_REMOVE(&w->pool.others, srv, link);
	TAILQ_INSERT_HEAD(&w->pool.idle, srv, link);
	w->pool.nidle++;
	(void)server_set_state(srv, SERVER_ST_IDLE);
	if (w->pool.nwaiting == 0 || serve_one_waiter(w) || !waiter_wants_slot(w))
		return;
	/* A waiter needs other startup parameters: trade this one for a new slot. */
	server_close(srv, "making room for a waiting client");
}

void pool_release(struct worker *w, struct server *srv, bool clean)
{
	(void)w;
	/* Reuse needs a known protocol position outside any transaction. */
	if (!clean || srv->state != SERVER_ST_ACTIVE || srv->txn_status != 'I') {
		server_close(srv, "session ended mid-protocol or in a transaction");
		return;
	}
	server_reset(srv);
}

void pool_release_between_transactions(struct worker *w, struct server *srv)
{
	if (srv->state != SERVER_ST_ACTIVE || srv->txn_status != 'I') {
		server_close(srv, "released mid-protocol or in a transaction");
		return;
	}
	conn_notify_drain(srv->conn, SIZE_MAX);
	pool_server_idle(w, srv);
}

void pool_server_gone(struct worker *w, struct server *srv)
{
	atomic_fetch_sub(&w->proxy->pool_total, 1);
	if (srv->slot_user != NULL) {
		release_user_slot(w->proxy, srv->slot_user);
		free(srv->slot_user);
		srv->slot_user = NULL;
	}
	if (w->pool.nwaiting > 0 && !w->pool.handing_over)
		serve_waiters(w);
	if (atomic_load(&w->proxy->pool_waiters) > w->pool.nwaiting)
		proxy_wake_all(w->proxy, PROXY_WAKE_POOL, w);
}

void pool_on_wake(struct worker *w, unsigned flags)
{
	adopt_moved(w);
	struct server *srv = TAILQ_LAST(&w->pool.idle, server_list);
	if ((flags & PROXY_WAKE_TRIM) && srv != NULL)
		(void)give_away(w, srv);
	if (w->pool.nwaiting > 0)
		serve_waiters(w);
}

void pool_close_idle(struct worker *w)
{
	struct server *srv;

	while ((srv = TAILQ_FIRST(&w->pool.idle)) != NULL)
		server_close(srv, "closing idle connections");
}

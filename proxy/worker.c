/*
 * worker — an event-loop thread and what it owns.
 *
 * Each worker binds its own listener on the same address with SO_REUSEPORT,
 * so the kernel spreads new connections across workers and no accept lock
 * exists. Other threads reach a worker only through wake_flags and an
 * eventfd the worker's loop watches, and hand it upstream connections
 * through its pool's inbox (a mutex-protected list, see pool.c); libevent
 * calls on a base happen only on its own thread, so the event_bases are
 * built without libevent's locks (no evthread), which keeps a mutex pair off
 * every event_add/del and loop turn.
 */
#include "proxy/worker.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "proxy/cutover.h"
#include "proxy/log.h"
#include "proxy/legacy.h"
#include "proxy/metrics.h"
#include "proxy/mysql.h"
#include "proxy/shadow.h"
#include "proxy/server.h"
#include "proxy/session.h"
#include "router/router.h"

void proxy_wake_worker(struct worker *w, unsigned flags)
{
	uint64_t one = 1;

	atomic_fetch_or(&w->wake_flags, flags);
	/* Can only fail if the counter would overflow: then a wake-up is pending anyway. */
	ssize_t n = write(w->wake_fd, &one, sizeof(one));
	(void)n;
}

void proxy_wake_all(struct proxy *p, unsigned flags, const struct worker *except)
{
	for (int i = 0; i < p->nworkers; i++)
		if (&p->workers[i] != except)
			proxy_wake_worker(&p->workers[i], flags);
}

struct pgmsg_writer *worker_writer(struct worker *w)
{
	pgmsg_writer_reset(&w->out);
	return &w->out;
}

uint8_t *worker_scratch(struct worker *w, size_t n)
{
	if (n > w->scratch_cap) {
		size_t cap = w->scratch_cap ? w->scratch_cap : 4096;
		while (cap < n)
			cap *= 2;
		uint8_t *p = realloc(w->scratch, cap);
		if (p == NULL)
			return NULL;
		w->scratch = p;
		w->scratch_cap = cap;
	}
	return w->scratch;
}

/* ---- configuration snapshot ---- */

static struct router *router_for(const struct config *cfg)
{
	struct router_legacy legacy = {
		.schema = cfg->legacy.schema,
		.tables = (const char *const *)cfg->legacy.tables,
		.ntables = cfg->legacy.ntables,
		.mysql_configured = cfg->catalog != NULL,
		.catalog = cfg->catalog,
	};
	/* Bounded so that huge generated statements cannot grow a worker without limit. */
	return router_new(&legacy, 4096, 16u << 20);
}

static bool str_differ(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") != 0;
}

/* Connections opened under <a> cannot serve <b>. */
static bool mysql_changed(const struct config_mysql *a, const struct config_mysql *b)
{
	return str_differ(a->host, b->host) || a->port != b->port ||
	       str_differ(a->database, b->database) || str_differ(a->user, b->user) ||
	       str_differ(a->password, b->password) || a->tls != b->tls ||
	       str_differ(a->ssl_ca, b->ssl_ca);
}

/* Takes the newest snapshot from struct proxy; keeps the old one if anything fails. */
static void adopt_snapshot(struct worker *w)
{
	struct proxy *p = w->proxy;

	pthread_mutex_lock(&p->snap_lock);
	struct config *cfg = config_ref(p->cfg);
	SSL_CTX *ctls = p->client_tls;
	SSL_CTX *utls = p->upstream_tls;
	if (ctls)
		SSL_CTX_up_ref(ctls);
	if (utls)
		SSL_CTX_up_ref(utls);
	pthread_mutex_unlock(&p->snap_lock);

	struct router *router = router_for(cfg);
	if (router == NULL) {
		log_error(w->id, -1, "reload failed: out of memory building the router", NULL);
		config_unref(cfg);
		SSL_CTX_free(ctls);
		SSL_CTX_free(utls);
		return;
	}
	if (w->router != NULL) {
		struct router_stats st;
		router_get_stats(w->router, &st);
		metrics_router_retire(w->metrics, &st);
	}
	router_free(w->router);
	w->router = router;
	SSL_CTX_free(w->client_tls);
	SSL_CTX_free(w->upstream_tls);
	w->client_tls = ctls;
	w->upstream_tls = utls;
	struct config *old = w->cfg;
	w->cfg = cfg;
	if (!cutover_bind(p->cutover, cfg, w->cut))
		log_error(w->id, -1, "cutover state missing for a legacy table", NULL);
	/* Idle upstreams were opened with the old [supabase] settings: retire them. */
	if (old != NULL && (strcmp(old->supabase.host, cfg->supabase.host) != 0 ||
			    old->supabase.port != cfg->supabase.port ||
			    strcmp(old->supabase.user, cfg->supabase.user) != 0 ||
			    strcmp(old->supabase.password, cfg->supabase.password) != 0 ||
			    strcmp(old->supabase.database, cfg->supabase.database) != 0 ||
			    old->supabase.sslmode != cfg->supabase.sslmode))
		pool_close_idle(w);
	if (old != NULL && w->mysql != NULL && mysql_changed(&old->mysql, &cfg->mysql))
		mysqlb_pool_reconfigured(w->mysql);
	config_unref(old);
}

/* ---- shutdown ---- */

static void maybe_exit(struct worker *w)
{
	if (w->draining && TAILQ_EMPTY(&w->sessions) && TAILQ_EMPTY(&w->pool.others) &&
	    TAILQ_EMPTY(&w->cancel_conns))
		event_base_loopexit(w->base, NULL);
}

/* The grace period is over: everyone goes, whatever they were doing. */
static void drain_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct session *s;
	struct server *srv, *stmp;

	(void)fd;
	(void)what;
	/* Each turn removes the head (and maybe more): no iterator to invalidate. */
	while ((s = TAILQ_FIRST(&w->sessions)) != NULL) {
		session_fatal(s, "57P01", "terminating connection: switchyard is shutting down",
			      "The shutdown grace period (shutdown_timeout_ms) has passed.");
		/* A client that does not read its error is not waited for either. */
		if (s->state != SESSION_ST_CLOSED)
			session_close(s, "shutdown deadline");
	}
	pool_close_idle(w);
	TAILQ_FOREACH_SAFE(srv, &w->pool.others, link, stmp)
		server_close(srv, "shutdown deadline");
	maybe_exit(w);
}

/*
 * Closes the sessions that sit idle between transactions. Closing one can
 * close another (its freed pool slot fails a waiter), so the walk starts
 * over whenever the next session went away under it.
 */
static void drain_idle_sessions(struct worker *w)
{
	struct session *s, *next;

restart:
	for (s = TAILQ_FIRST(&w->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, link);
		(void)session_drain_if_idle(s);
		if (next != NULL && next->state == SESSION_ST_CLOSED)
			goto restart;
	}
}

static void start_drain(struct worker *w)
{
	if (w->draining)
		return;
	w->draining = true;
	evtimer_del(w->accept_retry_ev);
	if (w->listener) {
		evconnlistener_free(w->listener);
		w->listener = NULL;
	}
	log_info(w->id, -1, "draining", "sessions=%d", w->proxy->clients);
	drain_idle_sessions(w);
	pool_close_idle(w);
	struct timeval tv = { w->cfg->proxy.shutdown_timeout_ms / 1000,
			      (w->cfg->proxy.shutdown_timeout_ms % 1000) * 1000 };
	evtimer_add(w->drain_ev, &tv);
}

/* ---- cancel requests for MySQL queries ---- */

void worker_post_cancel(struct worker *w, int64_t id)
{
	pthread_mutex_lock(&w->cancel_lock);
	if (w->ncancel_ids == w->cancel_ids_cap) {
		size_t cap = w->cancel_ids_cap ? w->cancel_ids_cap * 2 : 8;
		int64_t *ids = realloc(w->cancel_ids, cap * sizeof(*ids));
		if (ids == NULL) {
			pthread_mutex_unlock(&w->cancel_lock);
			return;
		}
		w->cancel_ids = ids;
		w->cancel_ids_cap = cap;
	}
	w->cancel_ids[w->ncancel_ids++] = id;
	pthread_mutex_unlock(&w->cancel_lock);
	proxy_wake_worker(w, PROXY_WAKE_CANCEL);
}

/* Cancels are rare: a walk over the sessions finds each one. */
static void run_cancels(struct worker *w)
{
	int64_t ids[64];
	size_t n;

	pthread_mutex_lock(&w->cancel_lock);
	n = w->ncancel_ids < 64 ? w->ncancel_ids : 64;
	memcpy(ids, w->cancel_ids, n * sizeof(ids[0]));
	memmove(w->cancel_ids, w->cancel_ids + n, (w->ncancel_ids - n) * sizeof(ids[0]));
	w->ncancel_ids -= n;
	bool more = w->ncancel_ids > 0;
	pthread_mutex_unlock(&w->cancel_lock);
	for (size_t i = 0; i < n; i++) {
		struct session *s;
		TAILQ_FOREACH(s, &w->sessions, link) {
			if (s->id == ids[i]) {
				if (legacy_cancel(s))
					log_info(w->id, s->id, "cancel request: MySQL query killed", NULL);
				break;
			}
		}
	}
	if (more)
		proxy_wake_worker(w, PROXY_WAKE_CANCEL);
}

/* ---- event callbacks ---- */

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	uint64_t count;

	(void)what;
	ssize_t n = read(fd, &count, sizeof(count));
	(void)n; /* EAGAIN: another wake-up's read got it first; the flags tell all */
	unsigned flags = atomic_exchange(&w->wake_flags, 0);

	if (flags & PROXY_WAKE_RELOAD)
		adopt_snapshot(w);
	if (flags & PROXY_WAKE_SHUTDOWN)
		start_drain(w);
	if (flags & (PROXY_WAKE_POOL | PROXY_WAKE_TRIM))
		pool_on_wake(w, flags);
	if ((flags & PROXY_WAKE_MYSQL_TRIM) && w->mysql != NULL)
		mysqlb_pool_trim(w->mysql);
	if ((flags & PROXY_WAKE_MYSQL) && w->mysql != NULL)
		mysqlb_pool_retry(w->mysql);
	if (flags & PROXY_WAKE_CANCEL)
		run_cancels(w);
	maybe_exit(w);
}

/* The router is not thread safe: its counters reach /metrics as a copy. */
static void metrics_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct router_stats st;

	(void)fd;
	(void)what;
	router_get_stats(w->router, &st);
	metrics_router_publish(w->metrics, &st);
}

static void reaper_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct session *s;

	(void)fd;
	(void)what;
	while ((s = TAILQ_FIRST(&w->doomed)) != NULL) {
		TAILQ_REMOVE(&w->doomed, s, link);
		session_free(s);
	}
	struct server *srv, *tmp;
	TAILQ_FOREACH_SAFE(srv, &w->pool.others, link, tmp)
		if (srv->state == SERVER_ST_CLOSED)
			server_free(srv);
	maybe_exit(w);
}

/*
 * Accept backoff. Out of descriptors or kernel memory, accept() fails while
 * the connection stays queued, so the listener stays readable: left enabled,
 * the loop would spin on it at full CPU. The bounds: quick enough that service
 * resumes within a second of descriptors freeing, slow enough to cost nothing.
 */
#define ACCEPT_BACKOFF_MIN_MS 10
#define ACCEPT_BACKOFF_MAX_MS 500

/* Errors that retrying at once would only repeat (the rest drop one connection). */
static bool accept_error_is_resource(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

/* Accepting worked again: the next failure starts a new episode from the short delay. */
static void accept_resumed(struct worker *w)
{
	log_ratelimited_info(&w->resume_rl, w->id, -1, "accepting connections again",
			     "failures=%llu", (unsigned long long)w->accept_failures);
	w->accept_backoff_ms = 0;
	w->accept_failures = 0;
}

static void accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	/* Draining freed the listener while the timer ran: nothing to resume. */
	if (w->listener == NULL || w->draining)
		return;
	/* If even that fails, the loop is short of memory too: try again later. */
	if (evconnlistener_enable(w->listener) != 0) {
		struct timeval tv = { ACCEPT_BACKOFF_MAX_MS / 1000, 0 };
		evtimer_add(w->accept_retry_ev, &tv);
	}
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *addr,
		      int addrlen, void *arg)
{
	struct worker *w = arg;
	int one = 1;

	(void)l;
	if (w->accept_backoff_ms != 0)
		accept_resumed(w);
	/* Every message is a request or a reply someone waits for: never delay it. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (session_new(w, fd, addr, addrlen) == NULL)
		log_error(w->id, -1, "cannot create session", "errno=%d", errno);
}

/*
 * libevent calls this after accept() failed with anything but EAGAIN, EINTR
 * or ECONNABORTED; errno is still accept's.
 */
static void accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct worker *w = arg;
	int err = EVUTIL_SOCKET_ERROR();
	char q[128];
	const char *why = log_quote(q, sizeof(q), evutil_socket_error_to_string(err));

	if (!accept_error_is_resource(err)) {
		/* That one connection is gone (e.g. EPERM from a firewall); the next may work. */
		log_ratelimited_error(&w->accept_rl, w->id, -1, "accept failed", "error=%s", why);
		return;
	}
	w->accept_failures++;
	w->accept_backoff_ms = w->accept_backoff_ms == 0 ? ACCEPT_BACKOFF_MIN_MS
							 : w->accept_backoff_ms * 2;
	if (w->accept_backoff_ms > ACCEPT_BACKOFF_MAX_MS)
		w->accept_backoff_ms = ACCEPT_BACKOFF_MAX_MS;
	evconnlistener_disable(l);
	struct timeval tv = { w->accept_backoff_ms / 1000, (w->accept_backoff_ms % 1000) * 1000 };
	evtimer_add(w->accept_retry_ev, &tv);
	log_ratelimited_error(&w->accept_rl, w->id, -1, "accept failed",
			      "error=%s retry_ms=%d clients=%d", why, w->accept_backoff_ms,
			      atomic_load(&w->proxy->clients));
}

/* ---- setup ---- */

static struct evconnlistener *bind_listener(struct worker *w)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char port[8];
	const char *host = w->cfg->proxy.listen_host;

	snprintf(port, sizeof(port), "%u", (unsigned)w->cfg->proxy.listen_port);
	if (strcmp(host, "*") == 0)
		host = NULL;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		log_error(w->id, -1, "cannot resolve listen address", "listen=%s error=\"%s\"",
			  w->cfg->proxy.listen_host, gai_strerror(rc));
		return NULL;
	}
	struct evconnlistener *l = evconnlistener_new_bind(
		w->base, accept_cb, w,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_EXEC,
		1024, res->ai_addr, (int)res->ai_addrlen);
	if (l == NULL)
		log_error(w->id, -1, "cannot listen", "listen=%s:%u error=\"%s\"",
			  w->cfg->proxy.listen_host, (unsigned)w->cfg->proxy.listen_port,
			  strerror(errno));
	else
		evconnlistener_set_error_cb(l, accept_error_cb);
	freeaddrinfo(res);
	return l;
}

bool worker_init(struct worker *w, struct proxy *p, int id)
{
	memset(w, 0, sizeof(*w));
	w->wake_fd = -1;
	w->id = id;
	w->proxy = p;
	TAILQ_INIT(&w->sessions);
	TAILQ_INIT(&w->doomed);
	TAILQ_INIT(&w->cancel_conns);
	pthread_mutex_init(&w->cancel_lock, NULL);
	pool_init(&w->pool);
	pgmsg_writer_init(&w->out);
	w->base = event_base_new();
	if (w->base == NULL)
		return false;
	w->dns = evdns_base_new(w->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
						  EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (w->dns == NULL) {
		/* No resolv.conf (minimal containers): literal addresses and hosts still work. */
		w->dns = evdns_base_new(w->base, 0);
		if (w->dns == NULL)
			return false;
		evdns_base_load_hosts(w->dns, NULL);
	}
	w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->wake_fd < 0)
		return false;
	w->wake_ev = event_new(w->base, w->wake_fd, EV_READ | EV_PERSIST, wake_cb, w);
	w->reaper_ev = event_new(w->base, -1, 0, reaper_cb, w);
	w->drain_ev = evtimer_new(w->base, drain_deadline_cb, w);
	w->accept_retry_ev = evtimer_new(w->base, accept_retry_cb, w);
	if (w->wake_ev == NULL || w->reaper_ev == NULL || w->drain_ev == NULL ||
	    w->accept_retry_ev == NULL || !session_clocks_init(w) ||
	    event_add(w->wake_ev, NULL) != 0)
		return false;
	w->mysql = mysqlb_pool_new(w);
	w->metrics = metrics_new();
	w->shadow = shadow_new(w);
	w->metrics_ev = event_new(w->base, -1, EV_PERSIST, metrics_tick_cb, w);
	if (w->mysql == NULL || w->metrics == NULL || w->shadow == NULL || w->metrics_ev == NULL ||
	    event_add(w->metrics_ev, &(struct timeval){ 1, 0 }) != 0)
		return false;
	adopt_snapshot(w);
	if (w->router == NULL)
		return false;
	w->listener = bind_listener(w);
	return w->listener != NULL;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	log_debug(w->id, -1, "worker started", NULL);
	event_base_dispatch(w->base);
	log_debug(w->id, -1, "worker stopped", NULL);
	proxy_worker_exited();
	return NULL;
}

bool worker_start(struct worker *w)
{
	return pthread_create(&w->thread, NULL, worker_main, w) == 0;
}

void worker_join(struct worker *w)
{
	pthread_join(w->thread, NULL);
}

void worker_destroy(struct worker *w)
{
	struct session *s;
	struct server *srv;

	if (w->listener)
		evconnlistener_free(w->listener);
	while ((s = TAILQ_FIRST(&w->sessions)) != NULL)
		session_close(s, "worker destroyed");
	while ((s = TAILQ_FIRST(&w->doomed)) != NULL) {
		TAILQ_REMOVE(&w->doomed, s, link);
		session_free(s);
	}
	pool_close_inbox(w);
	pool_close_idle(w);
	struct server *stmp;
	TAILQ_FOREACH_SAFE(srv, &w->pool.others, link, stmp)
		server_close(srv, "worker destroyed");
	/* Let cancelled DNS lookups call back, so those servers can be freed too. */
	event_base_loop(w->base, EVLOOP_NONBLOCK);
	TAILQ_FOREACH_SAFE(srv, &w->pool.others, link, stmp)
		server_free(srv);
	server_cancels_free(w);
	pool_destroy(&w->pool);
	shadow_free(w->shadow); /* before the pool: it abandons its MySQL job */
	mysqlb_pool_free(w->mysql);
	router_free(w->router);
	if (w->metrics_ev)
		event_free(w->metrics_ev);
	metrics_free(w->metrics);
	SSL_CTX_free(w->client_tls);
	SSL_CTX_free(w->upstream_tls);
	config_unref(w->cfg);
	pgmsg_writer_free(&w->out);
	free(w->scratch);
	free(w->cancel_ids);
	pthread_mutex_destroy(&w->cancel_lock);
	if (w->wake_ev)
		event_free(w->wake_ev);
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	if (w->reaper_ev)
		event_free(w->reaper_ev);
	if (w->drain_ev)
		event_free(w->drain_ev);
	if (w->accept_retry_ev)
		event_free(w->accept_retry_ev);
	session_clocks_free(w);
	if (w->dns)
		evdns_base_free(w->dns, 0);
	if (w->base)
		event_base_free(w->base);
}

/*
 * relay — the per-message path between a client and its upstream.
 *
 * Every client message that earns a reply becomes an entry of the session's
 * request queue (pipeline.h) before it is forwarded or answered here, and
 * every upstream reply is placed against that queue: the queue, not this
 * file, knows who answers what and in which order replies leave.
 *
 * Both directions scan the input evbuffer message by message without moving
 * bytes: consecutive messages that go through unchanged accumulate into one
 * "run" that is handed over with a single evbuffer_remove_buffer (which moves
 * whole chains instead of copying when it can). The run is flushed early only
 * when switchyard must put something of its own in the stream (a refusal, a
 * substituted error) or drop something. A message whose tail has not arrived
 * yet streams through as far as it goes (c2s_pass/s2c_pass), so large rows
 * and COPY data never need to be buffered whole; only Query and Parse, which
 * the router must see complete, are held until they are (max_message_bytes).
 *
 * Refusals. A refused statement never leaves switchyard. If nothing is in
 * flight and no transaction is open, the ErrorResponse (and, for a simple
 * query, ReadyForQuery) is a local entry, answered right here. Otherwise the
 * upstream's own state must change the way Postgres' would on an error — the
 * transaction becomes aborted, the pipeline skips to Sync — so a statement
 * that cannot parse (REFUSAL_MARKER) is sent in its place. Its entry carries
 * the refusal: the syntax error the marker earns is replaced by it, and
 * whatever else answers it (25P02 in an aborted transaction, nothing at all
 * when an earlier error made the upstream skip) is what Postgres would have
 * said to the refused statement too.
 */
#include "proxy/relay.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "proxy/clock.h"
#include "proxy/conn.h"
#include "proxy/cutover.h"
#include "proxy/legacy.h"
#include "proxy/log.h"
#include "proxy/metrics.h"
#include "proxy/pipeline.h"
#include "proxy/refusals.h"
#include "proxy/server.h"
#include "proxy/session.h"
#include "proxy/shadow.h"
#include "proxy/worker.h"
#include "router/router.h"
#include "router/translate.h"

/* Output above HIGH pauses the other side's reads until it drains below LOW. */
#define RELAY_HIGH_WATER (512u * 1024)
#define RELAY_LOW_WATER (128u * 1024)
/* Upstream messages we look inside (ParameterStatus, errors) are small; bigger ones just pass. */
#define RELAY_INSPECT_MAX (1u << 20)

/*
 * Sent in place of a refused statement. It parses, so an aborted transaction
 * answers it with Postgres' own 25P02 exactly as it would the refused one; and
 * it always fails parse analysis (the empty derived table has no such column,
 * whatever the catalog holds) with REFUSAL_MARKER_SQLSTATE, which the entry's
 * refusal replaces. It can never run anything.
 */
#define REFUSAL_MARKER "SELECT switchyard_refused_statement FROM (SELECT) AS switchyard"
#define REFUSAL_MARKER_SQLSTATE "42703"
#define REFUSAL_STMT_NAME "switchyard_refused_statement"

/* A cursor over an input evbuffer: the scan position and the run ready to forward. */
struct scan {
	struct evbuffer *in;
	struct conn *out;
	struct evbuffer_ptr pos; /* start of the next message */
	size_t off;              /* == pos.pos, kept to avoid calls */
	size_t avail;
	bool failed;             /* out of memory moving bytes */
};

static void scan_start(struct scan *sc, struct evbuffer *in, struct conn *out)
{
	sc->in = in;
	sc->out = out;
	sc->failed = false;
	sc->avail = evbuffer_get_length(in);
	sc->off = 0;
	evbuffer_ptr_set(in, &sc->pos, 0, EVBUFFER_PTR_SET);
}

/* Hands the run (everything before pos) to the output, and restarts at 0. */
static void scan_flush(struct scan *sc)
{
	/* Only an allocation failure can refuse; the bytes then stay and the scan stops. */
	if (sc->off > 0 && !conn_write_from(sc->out, sc->in, sc->off))
		sc->failed = true;
	sc->avail = evbuffer_get_length(sc->in);
	sc->off = 0;
	evbuffer_ptr_set(sc->in, &sc->pos, 0, EVBUFFER_PTR_SET);
}

/* Adds <n> bytes at pos to the run. */
static void scan_take(struct scan *sc, size_t n)
{
	sc->off += n;
	evbuffer_ptr_set(sc->in, &sc->pos, n, EVBUFFER_PTR_ADD);
}

/* Flushes the run, then drops <n> bytes at the front (the message at pos). */
static void scan_drop(struct scan *sc, size_t n)
{
	scan_flush(sc);
	evbuffer_drain(sc->in, n);
	sc->avail = evbuffer_get_length(sc->in);
	/* An evbuffer_ptr points into a chain; the drain may have freed it. */
	evbuffer_ptr_set(sc->in, &sc->pos, 0, EVBUFFER_PTR_SET);
}

/* Reads the header at pos: 0 need more, <0 bad length, else the message's total size. */
static ssize_t scan_header(struct scan *sc, uint8_t *type, uint32_t *blen)
{
	uint8_t head[PGMSG_HEADER_LEN];

	if (sc->avail - sc->off < PGMSG_HEADER_LEN)
		return 0;
	evbuffer_copyout_from(sc->in, &sc->pos, head, sizeof(head));
	return pgmsg_frame(head, sizeof(head), PGMSG_MAX_LEN, type, blen);
}

/*
 * The body of the (complete) message at pos as contiguous bytes: in place if
 * it lies in one chain, else copied to <scratch> (grown as needed).
 */
static const uint8_t *scan_body(struct scan *sc, uint32_t blen, struct worker *w)
{
	struct evbuffer_ptr at = sc->pos;
	struct evbuffer_iovec vec;

	if (blen == 0)
		return (const uint8_t *)"";
	evbuffer_ptr_set(sc->in, &at, PGMSG_HEADER_LEN, EVBUFFER_PTR_ADD);
	if (evbuffer_peek(sc->in, blen, &at, &vec, 1) == 1 && vec.iov_len >= blen)
		return vec.iov_base;
	uint8_t *buf = worker_scratch(w, blen);
	if (buf == NULL || evbuffer_copyout_from(sc->in, &at, buf, blen) != (ev_ssize_t)blen)
		return NULL;
	return buf;
}

/* What happened to the message at the scan position. */
enum step {
	STEP_NEXT = 0, /* handled; look at the next one */
	STEP_WAIT,     /* the rest has not arrived yet (or a MySQL answer holds it back) */
	STEP_STOP,     /* the session is closing: touch nothing more */
	STEP_NOT_MINE, /* legacy_ref: not a legacy statement or portal, handle as usual */
};

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/*
 * Puts the message at pos into the run, or, if only part of it is here, the
 * part, remembering how much more is to follow (*pass).
 */
static enum step scan_pass(struct scan *sc, size_t total, size_t *pass)
{
	size_t here = sc->avail - sc->off;

	if (here >= total) {
		scan_take(sc, total);
		return STEP_NEXT;
	}
	scan_take(sc, here);
	*pass = total - here;
	return STEP_WAIT;
}

/* Continues a message whose head went through in an earlier read. */
static bool continue_pass(struct evbuffer *in, struct conn *out, size_t *pass, bool drop)
{
	size_t n = min_size(evbuffer_get_length(in), *pass);

	if (drop)
		evbuffer_drain(in, n);
	else if (!conn_write_from(out, in, n))
		return false;
	*pass -= n;
	return *pass == 0;
}

/* ---- the queue ---- */

static void apply_effect(struct session *s, const struct pl_entry *e);

static bool out_of_memory(struct session *s)
{
	session_close(s, "out of memory");
	return false;
}

/* A copy of the message in the worker's writer (owned by the caller); NULL on OOM. */
static uint8_t *copy_built(struct session *s, size_t *len)
{
	const struct pgmsg_writer *out = &s->w->out;
	uint8_t *m = out->failed ? NULL : malloc(out->len);

	if (m != NULL) {
		memcpy(m, out->buf, out->len);
		*len = out->len;
	}
	return m;
}

/* Appends an entry; NULL (session closed) on OOM. Takes ownership of <msg>. */
static struct pl_entry *push(struct session *s, enum pl_kind kind, enum pl_producer producer,
			     uint8_t *msg, size_t len)
{
	struct pl_entry *e = pipeline_push(&s->q, kind, producer, 0, msg, len);

	if (e == NULL)
		out_of_memory(s);
	else
		e->seg = s->seg_no;
	if (e != NULL && (kind == PL_QUERY || kind == PL_EXECUTE))
		e->t0_us = clock_us();
	/* A client's Query or Sync ends what came before it: legacy portals count by these. */
	if (kind == PL_QUERY || kind == PL_SYNC)
		s->seg_no++;
	return e;
}

/*
 * Writes the answers of local entries that reached the head and retires
 * silent ones. Upstream bytes still in <sc>'s run go first, so the order
 * holds. False if the session was closed.
 */
static bool emit_ready(struct session *s, struct scan *sc)
{
	struct pl_entry e;
	bool local;

	for (;;) {
		if (!pipeline_pop_ready(&s->q, &e, &local)) {
			struct pl_entry *h = pipeline_head(&s->q);
			/* A MySQL answer at the head: what came before it is out, so it may start. */
			if (h != NULL && h->producer == PL_MYSQL && !(h->flags & PL_F_RUNNING)) {
				if (sc != NULL)
					scan_flush(sc);
				h->flags |= PL_F_RUNNING;
				legacy_start(s, h->work);
			}
			return s->state != SESSION_ST_CLOSED;
		}
		if (e.work != NULL) {
			/*
			 * Skipped after an upstream error, as Postgres skips to Sync: it
			 * never ran, and the client input it held back goes on.
			 */
			legacy_work_free(e.work);
			e.work = NULL;
			if (s->legacy_hold && s->script == NULL) {
				s->legacy_hold = false;
				legacy_defer_resume(s);
			}
		}
		bool ok = true;
		if (local) {
			if (sc != NULL)
				scan_flush(sc);
			if (e.msg != NULL)
				ok = conn_write(s->conn, e.msg, e.len);
			if (ok && e.ready_after) {
				pgmsg_write_ready(worker_writer(s->w), (char)s->q.txn);
				ok = session_send_built(s);
			}
		}
		free(e.msg);
		shadow_req_free(e.shadow); /* skipped, or a local answer: nothing was read */
		apply_effect(s, &e);
		if (!ok)
			return out_of_memory(s);
	}
}

/* Nothing in flight, no transaction open: a refusal can be answered here. */
static bool can_answer_locally(const struct session *s)
{
	return session_is_idle(s);
}

static bool send_to_server(struct session *s)
{
	struct pgmsg_writer *out = &s->w->out;

	return !out->failed && conn_write(s->server->conn, out->buf, out->len);
}

/* ---- the cutover's context for this session ---- */

/* The client key the configuration asks for (cutover_client_key). */
static size_t client_key(struct session *s, char *out, size_t cap)
{
	const char *app = NULL;
	char ip[64];

	for (uint32_t i = 0; s->param_names != NULL && i < s->nparams; i++) {
		if (strcmp(s->param_names[i], "application_name") == 0)
			app = s->param_values[i];
	}
	/* s->addr is "ip:port" or "[ip]:port": the port changes every connection */
	snprintf(ip, sizeof(ip), "%s", s->addr ? s->addr : "");
	char *colon = strrchr(ip, ':');
	if (colon != NULL)
		*colon = '\0';
	if (ip[0] == '[') {
		size_t n = strlen(ip);
		memmove(ip, ip + 1, n);
		if (n >= 2 && ip[n - 2] == ']')
			ip[n - 2] = '\0';
	}
	return cutover_client_key(s->w->cfg->cutover.key, session_user(s), app, ip, out, cap);
}

/*
 * Of <tables>, those this session reads from Supabase: a group's side is
 * fixed for the transaction when it first touches it (route() forgets the
 * sides between transactions), from the client's point and the weight now.
 */
static uint64_t cut_on_supabase(void *arg, uint64_t tables)
{
	struct session *s = arg;
	const struct config *cfg = s->w->cfg;
	char key[512];
	size_t klen = 0;

	for (size_t t = 0; t < cfg->legacy.ntables && t < ROUTE_MAX_TABLES; t++) {
		uint64_t bit = (uint64_t)1 << t;
		if (!(tables & bit) || (s->cut_fixed & bit))
			continue;
		const struct config_cutover_group *g = &cfg->cutover.groups[cfg->cutover.group_of[t]];
		int weight = s->w->cut[t] ? cutover_weight(s->w->cut[t]) : 0;
		bool supa = false;
		if (weight >= 100) {
			supa = true;
		} else if (weight > 0) {
			if (klen == 0)
				klen = client_key(s, key, sizeof(key));
			supa = cutover_point(key, klen, g->name) < (unsigned)weight;
		}
		for (size_t i = 0; i < g->ntables; i++) {
			uint64_t m = (uint64_t)1 << g->tables[i];
			s->cut_fixed |= m;
			if (supa)
				s->cut_supabase |= m;
		}
	}
	return s->cut_supabase & tables;
}

/* Legacy tables with a Supabase copy now: [cutover] copied, or a weight above 0. */
static uint64_t cut_copied(void *arg)
{
	struct session *s = arg;
	const struct config *cfg = s->w->cfg;
	uint64_t m = 0;

	for (size_t t = 0; t < cfg->legacy.ntables && t < ROUTE_MAX_TABLES; t++) {
		if (cfg->cutover.copied[t] || (s->w->cut[t] && cutover_weight(s->w->cut[t]) > 0))
			m |= (uint64_t)1 << t;
	}
	return m;
}

static int first_table(uint64_t tables)
{
	return tables ? __builtin_ctzll(tables) : -1;
}

/* The next Execute (or this Query) of the segment reads <tables> on <side>. */
static void cut_pending(struct session *s, uint64_t tables, enum cutover_side side)
{
	s->cut_pending = tables;
	s->cut_pending_side = (uint8_t)side;
	s->cut_pending_us = clock_us();
}

/* Marks entry <e> as a legacy read of <tables> on <side>, for the cutover's accounting. */
static void cut_mark(struct pl_entry *e, uint64_t tables, enum cutover_side side)
{
	if (e == NULL || tables == 0)
		return;
	e->cut_table = (uint8_t)(first_table(tables) + 1);
	e->cut_side = (uint8_t)side;
	e->t0_us = clock_us();
}

/*
 * A shadow request for a read of <tables> that <side> serves: text
 * sql[0, len), Parse types (may be NULL). NULL on OOM or without a table.
 */
static struct shadow_req *shadow_build(struct session *s, uint64_t tables, enum cutover_side side,
				       uint64_t fp, const char *sql, size_t len,
				       const uint32_t *types, uint16_t ntypes)
{
	int t = first_table(tables);
	const struct config *cfg = s->w->cfg;

	if (t < 0 || (size_t)t >= cfg->legacy.ntables)
		return NULL;
	return shadow_req_new(cfg->legacy.tables[t], side, fp, sql, len, types, ntypes);
}

/* As shadow_build, if this read is sampled (NULL if not). */
static struct shadow_req *shadow_for(struct session *s, uint64_t tables, enum cutover_side side,
				     uint64_t fp, const char *sql, size_t len,
				     const uint32_t *types, uint16_t ntypes)
{
	if (!shadow_sample(s->w->shadow))
		return NULL;
	return shadow_build(s, tables, side, fp, sql, len, types, ntypes);
}

/* The parameter types after the text in a Parse body without its name; *n of them. */
static const uint32_t *parse_types_after(const uint8_t *rest, size_t len, uint16_t *n,
					 uint32_t *buf, size_t cap)
{
	const uint8_t *nul = memchr(rest, '\0', len);
	*n = 0;
	if (nul == NULL || (size_t)(nul - rest) + 3 > len)
		return NULL;
	const uint8_t *p = nul + 1;
	uint16_t k = (uint16_t)((p[0] << 8) | p[1]);
	p += 2;
	if (k == 0 || k > cap || (size_t)(p - rest) + (size_t)k * 4 > len)
		return NULL;
	for (uint16_t i = 0; i < k; i++, p += 4)
		buf[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	*n = k;
	return buf;
}

/*
 * A sampled Bind (whole body <body>, see shadow_wants_bind) of a legacy read
 * whose Parse body after the name is rest[0, rlen): the request waits in
 * s->shadow_pending for the Execute that runs it.
 */
static void shadow_bind(struct session *s, const uint8_t *body, size_t blen, const uint8_t *rest,
			size_t rlen, uint64_t tables, enum cutover_side side, uint64_t fp)
{
	uint32_t types[256];
	uint16_t ntypes;

	shadow_req_free(s->shadow_pending);
	s->shadow_pending = NULL;
	const uint32_t *tp = parse_types_after(rest, rlen, &ntypes, types, 256);
	struct shadow_req *r = shadow_build(s, tables, side, fp, (const char *)rest,
					    strnlen((const char *)rest, rlen), tp, ntypes);
	if (r != NULL && !shadow_req_bind(r, body, blen)) {
		shadow_req_free(r);
		r = NULL;
	}
	s->shadow_pending = r;
}

/* Entry <e> runs the read that s->shadow_pending shadows: it takes the request. */
static void shadow_attach(struct session *s, struct pl_entry *e)
{
	if (e != NULL) {
		shadow_req_free(e->shadow);
		e->shadow = s->shadow_pending;
		s->shadow_pending = NULL;
	}
}

/*
 * Is this Bind (of <blen> bytes) of a legacy read sampled for a shadow? Only
 * then is it looked at whole; the others stream through as before. (A Bind
 * not all there yet is asked again when the rest arrives.)
 */
static bool shadow_wants_bind(const struct session *s, uint32_t blen)
{
	const struct config *cfg = s->w->cfg;
	return cfg->cutover.shadow_percent > 0 && blen <= SHADOW_MAX_BIND &&
	       blen <= (uint32_t)cfg->proxy.max_message_bytes && shadow_sample(s->w->shadow);
}

/* Keeps the unnamed legacy Parse (after its name) while shadowing is on. */
static void shadow_keep_unnamed(struct session *s, const uint8_t *body, uint32_t blen,
				const struct route_decision *d)
{
	free(s->shadow_unnamed);
	s->shadow_unnamed = NULL;
	s->shadow_unnamed_len = 0;
	if (s->w->cfg->cutover.shadow_percent <= 0 || blen < 1 || body[0] != '\0')
		return;
	if ((s->shadow_unnamed = malloc(blen - 1)) == NULL)
		return; /* not shadowed: nothing else depends on it */
	memcpy(s->shadow_unnamed, body + 1, blen - 1);
	s->shadow_unnamed_len = blen - 1;
	s->shadow_unnamed_tables = d->legacy_tables;
	s->shadow_unnamed_fp = d->fingerprint;
}

/*
 * A marked entry retired: its latency and outcome count for its group, and
 * its shadow read (if sampled) goes to the worker's queue — the client has
 * its answer now.
 */
static void cut_note(struct session *s, struct pl_entry *e, bool failed)
{
	struct cutover_table *t;

	if (e->shadow != NULL) {
		if (failed)
			shadow_req_free(e->shadow);
		else
			shadow_submit(s->w->shadow, e->shadow);
		e->shadow = NULL;
	}
	if (e->cut_table == 0 || (t = s->w->cut[e->cut_table - 1]) == NULL)
		return;
	int64_t us = clock_us() - e->t0_us;
	cutover_note_read(s->w->proxy->cutover, s->w->cfg, t, (enum cutover_side)e->cut_side,
			  us > 0 ? (uint64_t)us : 0, failed);
}

/* A client's Query or Execute was answered: its time counts for /metrics. */
static void note_statement(struct session *s, const struct pl_entry *e, enum metrics_backend b)
{
	if ((e->kind != PL_QUERY && e->kind != PL_EXECUTE) || e->t0_us == 0 ||
	    (e->flags & (PL_F_HIDE_OK | PL_F_HIDE_ALL | PL_F_SKIPPED)))
		return;
	int64_t us = clock_us() - e->t0_us;
	metrics_statement(s->w->metrics, b, us > 0 ? (uint64_t)us : 0);
}

/*
 * A client mapped to an upstream_role may not leave it (issue 10): SET/RESET
 * ROLE, SET SESSION AUTHORIZATION and set_config() of either are refused
 * with 42501 before anything reaches Supabase.
 */
static void refuse_role_change(struct session *s, struct route_decision *d)
{
	static _Thread_local char msg[200], detail[300];

	if (!(d->flags & ROUTE_F_ROLE_CHANGE) || s->up_role == NULL || s->up_role[0] == '\0' ||
	    d->target == ROUTE_REJECT)
		return;
	snprintf(msg, sizeof(msg), "permission denied to change the role: this client runs as "
				   "role \"%.64s\"", s->up_role);
	snprintf(detail, sizeof(detail), "[[users]] upstream_role of \"%.64s\" fixes the role for "
					 "the whole session (SET ROLE, RESET ROLE, SET SESSION "
					 "AUTHORIZATION and set_config('role', ...) are refused).",
		 session_user(s));
	d->target = ROUTE_REJECT;
	d->sqlstate = "42501";
	d->message = msg;
	d->detail = detail;
	d->hint = "Connect as a user mapped to the role you need.";
	d->table = NULL;
}

/* Asks the router about the text of a Query or Parse. */
static void route(struct session *s, const char *sql, size_t len, struct route_decision *d)
{
#ifdef SY_BENCH_NO_ROUTER
	/* Benchmark builds only (cmake -DSY_BENCH_NO_ROUTER=ON): what routing costs. */
	(void)s;
	(void)sql;
	(void)len;
	memset(d, 0, sizeof(*d));
	d->target = ROUTE_SUPABASE;
#else
	struct route_context ctx = { cut_on_supabase, cut_copied, s };
	/* Between transactions the sides are taken afresh: a weight applies to new ones. */
	if (session_is_idle(s))
		s->cut_fixed = s->cut_supabase = 0;
	router_route(s->w->router, sql, len, &ctx, d);
	refuse_role_change(s, d);
#endif
}

/* The refusal's ErrorResponse, owned by the caller; NULL on OOM. */
static uint8_t *build_refusal(struct session *s, const struct route_decision *d, size_t *len)
{
	struct pgmsg_writer *out = worker_writer(s->w);

	refusals_note(&s->w->proxy->refusals, s->w->id, s->id, d->fingerprint, d->table,
		      d->sqlstate, d->message, s->log_user, s->log_app);
	metrics_statement(s->w->metrics, METRICS_LOCAL, 0);
	metrics_error(s->w->metrics, METRICS_LOCAL, d->sqlstate);
	pgmsg_write_error(out, false, d->sqlstate, d->message, d->detail, d->hint);
	return copy_built(s, len);
}

/*
 * Queues an error answer to a Query or Parse (already dropped from the
 * input): a local answer when nothing is in flight, else a marker whose error
 * it replaces. Takes ownership of <err>. *local tells which.
 */
static enum step queue_error(struct session *s, enum pl_kind kind, uint8_t *err, size_t len,
			     bool *local)
{
	if (err == NULL)
		return out_of_memory(s), STEP_STOP;
	*local = can_answer_locally(s);
	struct pl_entry *e = push(s, kind, *local ? PL_LOCAL : PL_UPSTREAM, err, len);
	if (e == NULL)
		return STEP_STOP;
	if (*local) {
		e->ready_after = kind == PL_QUERY;
		return emit_ready(s, NULL) ? STEP_NEXT : STEP_STOP;
	}
	if (kind == PL_QUERY)
		pgmsg_write_query(worker_writer(s->w), REFUSAL_MARKER);
	else /* a named marker, so a failed Parse leaves the client's unnamed statement alone */
		pgmsg_write_parse(worker_writer(s->w), REFUSAL_STMT_NAME, REFUSAL_MARKER);
	if (!send_to_server(s))
		return out_of_memory(s), STEP_STOP;
	return STEP_NEXT;
}

static enum step refuse(struct session *s, enum pl_kind kind, const struct route_decision *d,
			bool *local)
{
	size_t len = 0;
	uint8_t *err = build_refusal(s, d, &len);

	return queue_error(s, kind, err, len, local);
}

/* What a retired entry asks of the session (pl_effect.what). */
enum relay_effect {
	EFF_NONE = 0,      /* nothing */
	EFF_PARSE,         /* a client Parse sent as sy_<n>: undo it (and the cache) if it failed */
	EFF_PARSE_LOCAL,   /* a client Parse answered here: undo the client statement if skipped */
	EFF_CLOSE,         /* a client Close answered here: frees the statement it unlinked */
	EFF_SET,           /* a SET/RESET text: remember it if it ran outside a transaction */
	EFF_UNNAMED,       /* an unnamed Parse (arg: its generation): forget it if it failed */
	EFF_PREPARED_HERE, /* an injected Parse of a cached body (arg: id): uncache if it failed */
	EFF_SCRIPT,        /* a statement of a split Query ended (arg non-NULL: it failed here) */
	EFF_LEGACY_SYNC,   /* a Sync was answered: legacy portals outside a block end */
};

/* ---- legacy reads answered from MySQL ---- */

/* A refusal for a translation that did not succeed (0A000, 42703, ...). */
static enum step refuse_translation(struct session *s, enum pl_kind kind,
				    const struct xlate_result *xr, const struct route_decision *d,
				    bool *local)
{
	struct route_decision rd = *d;

	rd.target = ROUTE_REJECT;
	rd.sqlstate = xr->sqlstate;
	rd.message = xr->message;
	rd.detail = xr->detail[0] ? xr->detail : NULL;
	rd.hint = NULL;
	return refuse(s, kind, &rd, local);
}

/*
 * Local work must not wait for upstream replies that Postgres sends only at
 * Sync or Flush: a Flush, which earns no reply, makes the upstream send
 * what it owes for the segment so far.
 */
static bool flush_upstream_segment(struct session *s)
{
	struct pgmsg_writer *out;

	if (!s->q.seg_upstream)
		return true;
	out = worker_writer(s->w);
	pgmsg_begin(out, 'H');
	pgmsg_end(out);
	if (pipeline_push(&s->q, PL_FLUSH, PL_UPSTREAM, 0, NULL, 0) == NULL || !send_to_server(s))
		return out_of_memory(s);
	return true;
}

/*
 * Queues the MySQL answer <lw> (taken over) for the message just taken from
 * the input. Later client messages wait until it is done (relay_local_done):
 * an error in it decides whether they run at all, as in Postgres.
 */
static enum step queue_mysql(struct session *s, struct scan *sc, enum pl_kind kind,
			     struct legacy_work *lw, bool ready_after)
{
	if (lw == NULL)
		return out_of_memory(s), STEP_STOP;
	scan_flush(sc);
	if (!flush_upstream_segment(s)) {
		legacy_work_free(lw);
		return STEP_STOP;
	}
	struct pl_entry *e = pipeline_push(&s->q, kind, PL_MYSQL, 0, NULL, 0);
	if (e == NULL) {
		legacy_work_free(lw);
		return out_of_memory(s), STEP_STOP;
	}
	e->work = lw;
	e->ready_after = ready_after;
	e->seg = s->seg_no;
	e->t0_us = clock_us();
	if (s->cut_pending != 0 && s->cut_pending_side == CUTOVER_MYSQL &&
	    (kind == PL_QUERY || kind == PL_EXECUTE)) {
		cut_mark(e, s->cut_pending, CUTOVER_MYSQL);
		e->t0_us = s->cut_pending_us;
		s->cut_pending = 0;
		shadow_attach(s, e);
	}
	if (kind == PL_QUERY)
		s->seg_no++;
	if (e->flags & PL_F_SILENT) /* skipped after an upstream error: it will never run */
		return emit_ready(s, NULL) ? STEP_NEXT : STEP_STOP;
	/* Reads go on (toggling them costs two system calls per read): see relay_client_read. */
	s->legacy_hold = true;
	if (!emit_ready(s, NULL))
		return STEP_STOP;
	return STEP_WAIT;
}

/*
 * A multi-statement Query with legacy reads runs statement by statement,
 * each on its side: Supabase's as Queries of their own whose ReadyForQuery
 * the client does not see, MySQL's as MySQL answers; an error stops the
 * rest, and the client gets one ReadyForQuery at the end. Outside a
 * transaction block, when no statement controls transactions itself, a
 * hidden BEGIN ... COMMIT (ROLLBACK after an error) keeps Postgres' rule
 * that the statements of one Query string commit or fail together.
 */
#define SCRIPT_MAX_PIECES 64

struct relay_script {
	char *text;
	size_t n, next;
	bool wrapped;
	bool failed;
	struct router_piece pieces[SCRIPT_MAX_PIECES];
};

static void script_step(struct session *s);

static bool send_hidden_query(struct session *s, const char *sql, uint16_t flags)
{
	pgmsg_write_query(worker_writer(s->w), sql);
	struct pl_entry *e = pipeline_push(&s->q, PL_QUERY, PL_UPSTREAM, flags, NULL, 0);
	if (e == NULL || !send_to_server(s))
		return out_of_memory(s);
	e->seg = s->seg_no; /* part of the client's Query being run */
	return true;
}

static void script_free(struct session *s)
{
	if (s->script != NULL) {
		free(s->script->text);
		free(s->script);
		s->script = NULL;
	}
}

/* The last statement ended (or one failed): COMMIT/ROLLBACK if wrapped, then the one ReadyForQuery. */
static void script_finish(struct session *s)
{
	struct relay_script *sc = s->script;
	bool wrapped = sc->wrapped, failed = sc->failed;

	script_free(s);
	/* The client never sent it: COMMIT's success is not shown, its failure is. */
	if (wrapped && !send_hidden_query(s, failed ? "ROLLBACK" : "COMMIT",
					  failed ? PL_F_HIDE_ALL : PL_F_HIDE_OK))
		return;
	struct pl_entry *e = push(s, PL_QUERY, PL_LOCAL, NULL, 0);
	if (e == NULL)
		return;
	e->ready_after = true;
	s->legacy_hold = false;
	if (emit_ready(s, NULL))
		legacy_defer_resume(s);
}

static void script_piece_done(struct session *s, bool failed)
{
	if (s->script == NULL)
		return;
	s->script->failed |= failed;
	script_step(s);
}

/* Runs the next statement of the script. */
static void script_step(struct session *s)
{
	struct relay_script *sc = s->script;

	if (sc->failed || sc->next == sc->n) {
		script_finish(s);
		return;
	}
	const struct router_piece *p = &sc->pieces[sc->next++];
	const char *text = sc->text + p->offset;
	struct pgmsg_writer *out = worker_writer(s->w);
	if (p->target == ROUTE_SUPABASE) {
		pgmsg_begin(out, 'Q');
		pgmsg_put_bytes(out, text, p->len);
		pgmsg_put_byte(out, 0);
		pgmsg_end(out);
		struct pl_entry *e = pipeline_push(&s->q, PL_QUERY, PL_UPSTREAM, PL_F_HIDE_Z, NULL, 0);
		if (e == NULL || !send_to_server(s)) {
			out_of_memory(s);
			return;
		}
		e->effect.what = EFF_SCRIPT;
		return;
	}
	struct xlate_result xr;
	router_translate(s->w->router, text, p->len, NULL, 0, &xr);
	if (xr.status != XLATE_OK) {
		pgmsg_write_error(out, false, xr.sqlstate, xr.message, xr.detail[0] ? xr.detail : NULL,
				  NULL);
		size_t len = 0;
		uint8_t *err = copy_built(s, &len);
		struct pl_entry *e = err ? push(s, PL_QUERY, PL_LOCAL, err, len) : NULL;
		if (e == NULL) {
			if (err == NULL)
				out_of_memory(s);
			return;
		}
		e->effect.what = EFF_SCRIPT;
		e->effect.arg = (void *)1;
		(void)emit_ready(s, NULL);
		return;
	}
	struct legacy_work *lw = legacy_work_query(s, &xr);
	struct pl_entry *e = lw ? pipeline_push(&s->q, PL_QUERY, PL_MYSQL, 0, NULL, 0) : NULL;
	if (e == NULL) {
		legacy_work_free(lw);
		out_of_memory(s);
		return;
	}
	e->work = lw;
	(void)emit_ready(s, NULL);
}

static enum step script_start(struct session *s, struct scan *sc, size_t total, const char *sql,
			      size_t len, const struct route_decision *d)
{
	struct relay_script *script = calloc(1, sizeof(*script));
	bool local;

	if (script == NULL || (script->text = malloc(len + 1)) == NULL) {
		free(script);
		return out_of_memory(s), STEP_STOP;
	}
	memcpy(script->text, sql, len);
	script->text[len] = '\0';
	struct route_context ctx = { cut_on_supabase, cut_copied, s };
	script->n = router_pieces(s->w->router, sql, len, &ctx, script->pieces, SCRIPT_MAX_PIECES);
	scan_drop(sc, total);
	if (script->n == 0) {
		free(script->text);
		free(script);
		struct route_decision rd = *d;
		rd.target = ROUTE_REJECT;
		rd.sqlstate = "54000";
		rd.message = "a query string that reads legacy tables may hold at most 64 statements";
		rd.detail = NULL;
		rd.hint = NULL;
		return refuse(s, PL_QUERY, &rd, &local);
	}
	bool controls = false, supabase = false;
	for (size_t i = 0; i < script->n; i++) {
		controls |= script->pieces[i].txn_control;
		supabase |= script->pieces[i].target == ROUTE_SUPABASE;
	}
	script->wrapped = supabase && !controls && s->q.txn == PL_TXN_IDLE && pipeline_empty(&s->q);
	s->script = script;
	s->legacy_hold = true;
	if (!flush_upstream_segment(s))
		return STEP_STOP;
	if (script->wrapped && !send_hidden_query(s, "BEGIN", PL_F_HIDE_ALL))
		return STEP_STOP;
	script_step(s);
	return s->state == SESSION_ST_CLOSED ? STEP_STOP : STEP_WAIT;
}

/* A SET of a setting legacy values depend on (only with a MySQL backend). */
static void note_set(struct session *s, const char *sql, size_t len)
{
	char name[64], value[128];
	bool reset;

	if (s->w->cfg->catalog == NULL)
		return;
	if (router_set_value(s->w->router, sql, len, name, sizeof(name), value, sizeof(value),
			     &reset))
		legacy_note_set(s, name, value, reset);
}

/*
 * PREPARE name AS <legacy read>: kept as a legacy statement of that name, so
 * EXECUTE name reaches it (and not Supabase, which never saw it).
 */
static enum step sql_prepare(struct session *s, struct scan *sc, size_t total, const char *sql,
			     size_t len, const struct route_decision *d)
{
	struct router_sql_prepare prep;
	struct xlate_result xr;
	bool local, dup;

	if (!router_sql_prepare(s->w->router, sql, len, &prep)) {
		scan_drop(sc, total);
		struct route_decision rd = *d;
		rd.target = ROUTE_REJECT;
		rd.sqlstate = "0A000";
		rd.message = "this PREPARE of a legacy read could not be read";
		rd.detail = NULL;
		rd.hint = "Use the extended protocol's prepared statements (every driver does).";
		return refuse(s, PL_QUERY, &rd, &local);
	}
	router_translate(s->w->router, sql + prep.inner_off, prep.inner_len, NULL, 0, &xr);
	scan_drop(sc, total); /* <sql> points into the input: not used after this */
	if (xr.status == XLATE_OK && xr.wrap != XLATE_W_NONE) {
		xr.status = XLATE_REFUSED;
		memcpy(xr.sqlstate, "0A000", 6);
		snprintf(xr.message, sizeof(xr.message), "PREPARE of a DECLARE or COPY is not supported");
		xr.detail[0] = '\0';
	}
	if (xr.status != XLATE_OK)
		return refuse_translation(s, PL_QUERY, &xr, d, &local);
	if (!legacy_parse(s, prep.name, &xr, &dup)) {
		if (!dup)
			return out_of_memory(s), STEP_STOP;
		char msg[200];
		snprintf(msg, sizeof(msg), "prepared statement \"%s\" already exists", prep.name);
		return queue_mysql(s, sc, PL_QUERY, legacy_work_error(s, "42P05", msg), true);
	}
	return queue_mysql(s, sc, PL_QUERY, legacy_work_tag(s, "PREPARE"), true);
}

/*
 * EXECUTE and DEALLOCATE of a statement PREPAREd as a legacy read are
 * answered here; STEP_NOT_MINE for every other statement.
 */
static enum step sql_prepared_ref(struct session *s, struct scan *sc, size_t total,
				  const char *sql, size_t len, const struct route_decision *d)
{
	if (d->flags & ROUTE_F_MULTI)
		return STEP_NOT_MINE;
	/* One namespace, as in Postgres: a Supabase PREPARE cannot take a legacy statement's name. */
	if ((d->flags & ROUTE_F_PREPARE) && d->prepare_name != NULL &&
	    legacy_has_stmt(s, d->prepare_name)) {
		char msg[200];
		snprintf(msg, sizeof(msg), "prepared statement \"%s\" already exists", d->prepare_name);
		scan_drop(sc, total);
		return queue_mysql(s, sc, PL_QUERY, legacy_work_error(s, "42P05", msg), true);
	}
	if ((d->flags & ROUTE_F_EXECUTE) && d->execute_name != NULL &&
	    legacy_has_stmt(s, d->execute_name)) {
		struct router_sql_execute ex;
		struct legacy_work *lw;
		if (router_sql_execute(s->w->router, sql, len, &ex))
			lw = legacy_work_sql_execute(s, &ex);
		else
			lw = legacy_work_error(s, "0A000",
					       "EXECUTE of a legacy read takes constant arguments only");
		scan_drop(sc, total);
		return queue_mysql(s, sc, PL_QUERY, lw, true);
	}
	if (!(d->flags & ROUTE_F_DEALLOCATE))
		return STEP_NOT_MINE;
	if (d->deallocate_name == NULL) {
		legacy_forget_stmts(s); /* DEALLOCATE ALL: Supabase's go there */
		return STEP_NOT_MINE;
	}
	if (!legacy_has_stmt(s, d->deallocate_name))
		return STEP_NOT_MINE;
	legacy_forget_stmt(s, d->deallocate_name);
	scan_drop(sc, total);
	return queue_mysql(s, sc, PL_QUERY, legacy_work_tag(s, "DEALLOCATE"), true);
}

/* A simple Query that reads legacy tables only. */
static enum step legacy_query(struct session *s, struct scan *sc, size_t total, const char *sql,
			      size_t len, const struct route_decision *d)
{
	struct xlate_result xr;
	bool local;

	if (d->flags & ROUTE_F_MULTI)
		return script_start(s, sc, total, sql, len, d);
	if (d->flags & ROUTE_F_PREPARE)
		return sql_prepare(s, sc, total, sql, len, d);
	router_translate(s->w->router, sql, len, NULL, 0, &xr);
	shadow_req_free(s->shadow_pending);
	/* Before the drop below: <sql> points into the client's input. */
	s->shadow_pending = xr.status == XLATE_OK && xr.wrap == XLATE_W_NONE
				    ? shadow_for(s, d->legacy_tables, CUTOVER_MYSQL, d->fingerprint, sql,
						 len, NULL, 0)
				    : NULL;
	scan_drop(sc, total);
	if (xr.status != XLATE_OK)
		return refuse_translation(s, PL_QUERY, &xr, d, &local);
	cut_pending(s, d->legacy_tables, CUTOVER_MYSQL);
	return queue_mysql(s, sc, PL_QUERY, legacy_work_query(s, &xr), true);
}

/* The parameter types of a Parse body (after the name and the text); NULL when there are none. */
static const uint32_t *parse_param_types(struct session *s, const uint8_t *body, uint32_t blen,
					 uint16_t *n)
{
	struct pgmsg_reader r;

	*n = 0;
	pgmsg_reader_init(&r, body, blen);
	(void)pgmsg_get_string(&r);
	(void)pgmsg_get_string(&r);
	int16_t count = pgmsg_get_int16(&r);
	if (r.bad || count <= 0 || (size_t)count * 4 > pgmsg_reader_left(&r))
		return NULL;
	uint32_t *types = (uint32_t *)worker_scratch(s->w, (size_t)count * sizeof(uint32_t));
	if (types == NULL)
		return NULL;
	for (int16_t i = 0; i < count; i++)
		types[i] = (uint32_t)pgmsg_get_int32(&r);
	*n = (uint16_t)count;
	return types;
}

static enum step duplicate_statement(struct session *s, struct scan *sc, size_t total,
				     const char *name);
static const uint8_t parse_complete[] = { '1', 0, 0, 0, 4 };
static const uint8_t bind_complete[] = { '2', 0, 0, 0, 4 };
static const uint8_t close_complete[] = { '3', 0, 0, 0, 4 };
static enum step answer_here(struct session *s, enum pl_kind kind, const uint8_t *bytes,
			     size_t n, int what, void *arg);

/* A Parse of a legacy read: translated now, answered here. */
/*
 * Every named legacy read keeps its Parse body: each Bind takes the side in
 * force then (cut_bind), so a weight change or a rollback reaches prepared
 * statements too.
 */
static bool remember_legacy_stmt(struct session *s, const uint8_t *body, uint32_t blen,
				 const char *name)
{
	size_t skip = strlen(name) + 1;
	struct client_stmt *old = stmt_table_find(&s->cut_stmts, name);

	if (old != NULL) {
		stmt_table_unlink(&s->cut_stmts, old);
		client_stmt_free(old);
	}
	return skip <= blen && stmt_table_add(&s->cut_stmts, name, body + skip, blen - skip) != NULL;
}

static void forget_legacy_stmt(struct session *s, const char *name)
{
	struct client_stmt *old = name[0] ? stmt_table_find(&s->cut_stmts, name) : NULL;

	if (old != NULL) {
		stmt_table_unlink(&s->cut_stmts, old);
		client_stmt_free(old);
	}
}

/*
 * <fallback>: the read would run on Supabase now (a named statement the
 * cutover moved); a translation MySQL cannot take is then not refused but
 * left to Supabase (STEP_NOT_MINE).
 */
static enum step legacy_parse_msg(struct session *s, struct scan *sc, size_t total,
				  const uint8_t *body, uint32_t blen, const struct pgmsg_parse *p,
				  const struct route_decision *d, bool fallback)
{
	struct xlate_result xr;
	uint16_t ntypes;
	bool dup;
	const uint32_t *types = parse_param_types(s, body, blen, &ntypes);

	router_translate(s->w->router, p->sql, p->sql_len, types, ntypes, &xr);
	if (xr.status == XLATE_OK && xr.wrap == XLATE_W_COPY) {
		xr.status = XLATE_REFUSED;
		memcpy(xr.sqlstate, "0A000", 6);
		snprintf(xr.message, sizeof(xr.message),
			 "COPY of a legacy read is supported in a simple Query only");
		xr.detail[0] = '\0';
	}
	if (xr.status != XLATE_OK && fallback)
		return STEP_NOT_MINE;
	if (xr.status != XLATE_OK) {
		scan_drop(sc, total);
		enum step st = refuse_translation(s, PL_PARSE, &xr, d, &s->skip_local);
		s->skip_to_sync = true;
		return st;
	}
	if (!legacy_parse(s, p->name, &xr, &dup)) {
		if (dup)
			return duplicate_statement(s, sc, total, p->name);
		return out_of_memory(s), STEP_STOP;
	}
	if (p->name[0] == '\0') {
		s->cut_unnamed = d->legacy_tables;
		shadow_keep_unnamed(s, body, blen, d);
	} else if (!remember_legacy_stmt(s, body, blen, p->name))
		return out_of_memory(s), STEP_STOP;
	s->legacy_seg = true;
	scan_drop(sc, total);
	return answer_here(s, PL_PARSE, parse_complete, sizeof(parse_complete), 0, NULL);
}

/* A Parse of FETCH/MOVE/CLOSE naming a legacy cursor: answered here. */
static enum step legacy_cursor_parse(struct session *s, struct scan *sc, size_t total,
				     const char *name, const struct router_cursor_op *op)
{
	bool dup;

	if (!legacy_parse_cursor_op(s, name, op, &dup)) {
		if (dup)
			return duplicate_statement(s, sc, total, name);
		return out_of_memory(s), STEP_STOP;
	}
	s->legacy_seg = true;
	scan_drop(sc, total);
	return answer_here(s, PL_PARSE, parse_complete, sizeof(parse_complete), 0, NULL);
}

/* An error answering a legacy Bind: the rest of the segment is skipped, as after any error. */
static enum step legacy_bind_error(struct session *s, struct scan *sc, size_t total)
{
	size_t len = 0;
	uint8_t *err = copy_built(s, &len);
	scan_drop(sc, total);
	enum step st = queue_error(s, PL_BIND, err, len, &s->skip_local);
	s->skip_to_sync = true;
	return st;
}

/*
 * Bind, Describe, Execute and Close that name a legacy statement or portal
 * are answered here; STEP_NOT_MINE for the others (which may retire a
 * legacy name: a Supabase portal of the same name replaces it).
 */
static ssize_t bind_names_end(struct scan *sc, size_t total);
static const char *bind_names(struct session *s, struct scan *sc, size_t head, const char **stmt);
static enum step need_whole(struct session *s, struct scan *sc, size_t total, uint32_t blen);
static enum step cut_bind(struct session *s, struct scan *sc, size_t total, size_t head,
			  const char *portal, const struct client_stmt *cs);
static enum step legacy_ref(struct session *s, struct scan *sc, size_t total, uint32_t blen,
			    uint8_t type)
{
	const char *name;
	char kind = 'P';
	int32_t max_rows = 0;

	if (type == 'B') {
		ssize_t head = bind_names_end(sc, total);
		if (head < 0)
			return STEP_NOT_MINE; /* the usual path reports it */
		if (head == 0)
			return need_whole(s, sc, total, blen) == STEP_STOP ? STEP_STOP : STEP_WAIT;
		const char *stmt;
		const char *portal = bind_names(s, sc, (size_t)head, &stmt);
		if (portal == NULL)
			return out_of_memory(s), STEP_STOP;
		if (!legacy_has_stmt(s, stmt)) {
			legacy_forget_portal(s, portal);
			return STEP_NOT_MINE;
		}
		bool unnamed = stmt[0] == '\0';
		uint64_t tables = unnamed ? s->cut_unnamed : 0;
		struct client_stmt *cs = unnamed ? NULL : stmt_table_find(&s->cut_stmts, stmt);
		uint64_t fp = s->shadow_unnamed_fp;
		if (cs != NULL) {
			struct route_decision rd;
			route(s, (const char *)cs->body, strnlen((const char *)cs->body, cs->len), &rd);
			tables = rd.legacy_tables;
			fp = rd.fingerprint;
			if (rd.target == ROUTE_SUPABASE && (rd.flags & ROUTE_F_CUTOVER) &&
			    s->server != NULL) {
				if (shadow_wants_bind(s, blen)) {
					enum step st = need_whole(s, sc, total, blen);
					if (st != STEP_NEXT)
						return st;
					const uint8_t *body = scan_body(sc, blen, s->w);
					if (body != NULL)
						shadow_bind(s, body, blen, cs->body, cs->len, tables,
							    CUTOVER_SUPABASE, fp);
					/* scan_body may have reused the scratch the names were in. */
					portal = bind_names(s, sc, (size_t)head, &stmt);
					if (portal == NULL)
						return out_of_memory(s), STEP_STOP;
				}
				legacy_forget_portal(s, portal);
				cut_pending(s, tables, CUTOVER_SUPABASE);
				return cut_bind(s, sc, total, (size_t)head, portal, cs);
			}
		}
		enum step st = need_whole(s, sc, total, blen);
		if (st != STEP_NEXT)
			return st;
		cut_pending(s, tables, CUTOVER_MYSQL);
		const uint8_t *body = scan_body(sc, blen, s->w);
		if (body == NULL)
			return out_of_memory(s), STEP_STOP;
		const uint8_t *rest = cs ? cs->body : unnamed ? s->shadow_unnamed : NULL;
		if (rest != NULL && shadow_wants_bind(s, blen))
			shadow_bind(s, body, blen, rest, cs ? cs->len : s->shadow_unnamed_len, tables,
				    CUTOVER_MYSQL, fp);
		bool oom;
		struct pgmsg_writer *err = worker_writer(s->w);
		s->legacy_seg = true;
		if (!legacy_bind(s, body, blen, err, &oom)) {
			if (oom)
				return out_of_memory(s), STEP_STOP;
			return legacy_bind_error(s, sc, total);
		}
		scan_drop(sc, total);
		return answer_here(s, PL_BIND, bind_complete, sizeof(bind_complete), 0, NULL);
	}
	enum step st = need_whole(s, sc, total, blen);
	if (st != STEP_NEXT)
		return st;
	const uint8_t *body = scan_body(sc, blen, s->w);
	if (body == NULL)
		return out_of_memory(s), STEP_STOP;
	bool ok = type == 'E' ? pgmsg_parse_execute(body, blen, &name, &max_rows)
			      : pgmsg_parse_target(body, blen, &kind, &name);
	if (!ok)
		return STEP_NOT_MINE; /* the usual path reports it */
	bool mine = kind == 'S' ? legacy_has_stmt(s, name) : legacy_has_portal(s, name);
	if (!mine)
		return STEP_NOT_MINE;
	s->legacy_seg = true;
	/* <name> points into the input, which the drop below frees. */
	char copy[256];
	snprintf(copy, sizeof(copy), "%s", name);
	name = copy;
	scan_drop(sc, total);
	if (type == 'E')
		return queue_mysql(s, sc, PL_EXECUTE, legacy_work_execute(s, name, max_rows), false);
	if (type == 'C') {
		if (kind == 'S')
			forget_legacy_stmt(s, name);
		legacy_close(s, kind, name);
		return answer_here(s, PL_CLOSE, close_complete, sizeof(close_complete), 0, NULL);
	}
	struct pgmsg_writer *out = worker_writer(s->w);
	legacy_describe(s, kind, name, out);
	size_t len = 0;
	uint8_t *m = copy_built(s, &len);
	if (m == NULL || push(s, PL_DESCRIBE, PL_LOCAL, m, len) == NULL)
		return out_of_memory(s), STEP_STOP;
	return emit_ready(s, NULL) ? STEP_NEXT : STEP_STOP;
}

/* A MySQL error happened where Postgres would abort the transaction or skip to Sync. */
static bool after_mysql_error(struct session *s, enum pl_kind kind)
{
	struct pgmsg_writer *out = worker_writer(s->w);

	if (kind == PL_QUERY) {
		if (s->q.txn != PL_TXN_BLOCK)
			return true;
		/* Supabase's side of the block fails too, as the client's does. */
		pipeline_set_txn(&s->q, PL_TXN_FAILED);
		pgmsg_write_query(out, REFUSAL_MARKER);
		if (pipeline_push(&s->q, PL_QUERY, PL_UPSTREAM, PL_F_HIDE_ALL, NULL, 0) == NULL ||
		    !send_to_server(s))
			return out_of_memory(s);
		return true;
	}
	s->skip_to_sync = true;
	s->skip_local = s->q.txn != PL_TXN_BLOCK && !s->q.seg_upstream;
	if (s->skip_local)
		return true;
	pgmsg_write_parse(out, REFUSAL_STMT_NAME, REFUSAL_MARKER);
	if (pipeline_push(&s->q, PL_PARSE, PL_UPSTREAM, PL_F_HIDE_ALL, NULL, 0) == NULL ||
	    !send_to_server(s))
		return out_of_memory(s);
	return true;
}

void relay_local_done(struct session *s)
{
	struct pl_entry *h = pipeline_head(&s->q);
	struct pl_entry e;

	if (s->state == SESSION_ST_CLOSED || h == NULL || h->producer != PL_MYSQL)
		return;
	(void)pipeline_pop_head(&s->q, &e);
	bool failed = legacy_work_failed(e.work);
	cut_note(s, &e, failed);
	note_statement(s, &e, METRICS_MYSQL);
	legacy_work_free(e.work);
	if (failed && !after_mysql_error(s, (enum pl_kind)e.kind))
		return;
	if (s->script != NULL) {
		script_piece_done(s, failed);
		return;
	}
	if (e.ready_after) {
		pgmsg_write_ready(worker_writer(s->w), (char)s->q.txn);
		if (!session_send_built(s)) {
			out_of_memory(s);
			return;
		}
	}
	if (!emit_ready(s, NULL))
		return;
	s->legacy_hold = false;
	relay_resume_client(s);
	if (s->state != SESSION_ST_CLOSED && !s->legacy_hold)
		conn_uncork(s->conn);
}

void relay_resume_client(struct session *s)
{
	if (s->state == SESSION_ST_CLOSED || s->closing || s->legacy_hold)
		return;
	if (!s->c2s_paused && !s->c2s_self_paused)
		conn_read_enable(s->conn, true);
	relay_client_read(s);
}

/* ---- transaction pooling: statements, SETs, pins ---- */


/* Sets of one client bigger than this pin it instead of being replayed. */
#define RELAY_SETS_MAX (64u << 10)

static void pin(struct session *s, const char *reason)
{
	if (!s->txn_pool || s->pinned)
		return;
	s->pinned = true;
	atomic_fetch_add(&s->w->proxy->pins, 1);
	log_info(s->w->id, s->id, "client pinned to its upstream", "reason=\"%s\" user=%s app=%s",
		 reason, s->log_user, s->log_app);
}

static void uncache_body(struct session *s, const uint8_t *body, size_t len)
{
	struct server_stmt *ss;

	if (s->server != NULL &&
	    (ss = server_stmts_find(&s->server->stmts, stmts_hash(body, len), body, len)) != NULL)
		server_stmts_remove(&s->server->stmts, ss);
}

static void uncache_id(struct session *s, uint32_t id)
{
	struct server_stmts *c = s->server ? &s->server->stmts : NULL;

	for (size_t i = 0; c != NULL && i < c->nbuckets; i++)
		for (struct server_stmt *e = c->buckets[i]; e; e = e->next)
			if (e->id == id) {
				server_stmts_remove(c, e);
				return;
			}
}

static void remember_set(struct session *s, char *sql)
{
	size_t n = strlen(sql);

	if (s->q.txn != PL_TXN_IDLE || s->sets_len + n + 2 > RELAY_SETS_MAX) {
		/* Inside a block a SET lasts only if the block commits: keep the connection. */
		pin(s, s->q.txn != PL_TXN_IDLE ? "SET inside a transaction block" : "too many SETs");
		return;
	}
	char *sets = realloc(s->sets, s->sets_len + n + 3);
	if (sets == NULL) {
		pin(s, "out of memory remembering a SET");
		return;
	}
	if (s->sets_len > 0) {
		memcpy(sets + s->sets_len, "; ", 2);
		s->sets_len += 2;
	}
	memcpy(sets + s->sets_len, sql, n + 1);
	s->sets = sets;
	s->sets_len += n;
	s->set_gen++;
	if (s->server != NULL) {
		s->server->set_owner = s->id;
		s->server->set_gen = s->set_gen;
	}
}

/* Applies what a retired entry asks for; frees its effect's argument. */
static void script_piece_done(struct session *s, bool failed);

static void apply_effect(struct session *s, const struct pl_entry *e)
{
	bool failed = (e->flags & (PL_F_ERRORED | PL_F_SKIPPED)) != 0;
	struct client_stmt *st = e->effect.arg;

	switch ((enum relay_effect)e->effect.what) {
	case EFF_NONE:
		break;
	case EFF_PARSE:
	case EFF_PARSE_LOCAL:
		if (failed && stmt_table_find(&s->stmts, st->name) == st) {
			stmt_table_unlink(&s->stmts, st);
			if (e->effect.what == EFF_PARSE)
				uncache_body(s, st->body, st->len);
			client_stmt_free(st);
		}
		break;
	case EFF_CLOSE:
		client_stmt_free(st);
		break;
	case EFF_SET:
		if (!failed)
			remember_set(s, e->effect.arg);
		free(e->effect.arg);
		break;
	case EFF_UNNAMED:
		if (failed && s->unnamed != NULL &&
		    s->unnamed_gen == (uint32_t)(uintptr_t)e->effect.arg) {
			client_stmt_free(s->unnamed);
			s->unnamed = NULL;
		}
		break;
	case EFF_PREPARED_HERE:
		if (failed)
			uncache_id(s, (uint32_t)(uintptr_t)e->effect.arg);
		break;
	case EFF_SCRIPT:
		script_piece_done(s, failed || e->effect.arg != NULL);
		break;
	case EFF_LEGACY_SYNC:
		legacy_sync(s, s->q.txn != PL_TXN_IDLE, e->seg);
		break;
	}
}

/* Undoes nothing, frees the arguments of effects that die with the session. */
static void drop_effect(struct pl_entry *e)
{
	if (e->effect.what == EFF_CLOSE)
		client_stmt_free(e->effect.arg);
	else if (e->effect.what == EFF_SET)
		free(e->effect.arg);
}

void relay_session_free(struct session *s)
{
	struct pl_entry e;
	bool local;

	/* Entries still queued: silent or not, nothing will answer them now. */
	while (s->q.n > 0) {
		struct pl_entry *h = pipeline_head(&s->q);
		h->flags |= PL_F_SILENT;
		if (!pipeline_pop_ready(&s->q, &e, &local))
			break;
		drop_effect(&e);
		legacy_work_free(e.work);
		shadow_req_free(e.shadow);
		free(e.msg);
	}
	shadow_req_free(s->shadow_pending);
	s->shadow_pending = NULL;
	free(s->shadow_unnamed);
	s->shadow_unnamed = NULL;
	pipeline_free(&s->q);
	script_free(s);
	legacy_session_free(s);
}

/* ---- client to upstream ---- */

/* ---- transaction pooling: rewriting statement names ---- */

static enum step protocol_violation(struct session *s, const char *message)
{
	session_fatal(s, "08P01", message, NULL);
	return STEP_STOP;
}

/* Makes the complete Query/Parse at pos available, or says why not. */
static enum step need_whole(struct session *s, struct scan *sc, size_t total, uint32_t blen)
{
	if (blen > (uint32_t)s->w->cfg->proxy.max_message_bytes) {
		char msg[160];
		snprintf(msg, sizeof(msg), "message of %u bytes exceeds max_message_bytes (%d)", blen,
			 s->w->cfg->proxy.max_message_bytes);
		return protocol_violation(s, msg);
	}
	return sc->avail - sc->off < total ? STEP_WAIT : STEP_NEXT;
}

/* ---- transaction pooling: statement names follow the client ---- */

static enum step forward(struct session *s, struct scan *sc, size_t total, enum pl_kind kind);
static void note_set_portal(struct session *s, const char *portal, const struct client_stmt *st);

static uint8_t *copy_bytes(const uint8_t *p, size_t n)
{
	uint8_t *m = malloc(n);

	if (m != NULL)
		memcpy(m, p, n);
	return m;
}

/* A local answer of fixed bytes (ParseComplete, CloseComplete) with an effect. */
static enum step answer_here(struct session *s, enum pl_kind kind, const uint8_t *bytes,
			     size_t n, int what, void *arg)
{
	uint8_t *m = copy_bytes(bytes, n);
	struct pl_entry *e = m ? push(s, kind, PL_LOCAL, m, n) : NULL;

	if (e == NULL) {
		if (m == NULL)
			out_of_memory(s);
		return STEP_STOP;
	}
	e->effect.what = (uint16_t)what;
	e->effect.arg = arg;
	return emit_ready(s, NULL) ? STEP_NEXT : STEP_STOP;
}

static void write_parse_body(struct pgmsg_writer *out, const char *name, const uint8_t *body,
			     size_t len)
{
	pgmsg_begin(out, 'P');
	pgmsg_put_string(out, name);
	pgmsg_put_bytes(out, body, len);
	pgmsg_end(out);
}

/* An injected message whose success reply the client must not see. */
static bool push_hidden(struct session *s, enum pl_kind kind, enum relay_effect what, void *arg)
{
	struct pl_entry *e = pipeline_push(&s->q, kind, PL_UPSTREAM, PL_F_HIDE_OK, NULL, 0);

	if (e == NULL)
		return out_of_memory(s);
	e->effect.what = (uint16_t)what;
	e->effect.arg = arg;
	return true;
}

/*
 * The connection's entry for a Parse body, prepared there first if needed:
 * Close of the least recently used one when the cache is full, then Parse,
 * appended to <out> with hidden entries. NULL (session closed) on OOM.
 */
static struct server_stmt *prepare_here(struct session *s, struct pgmsg_writer *out,
					const uint8_t *body, size_t len, uint64_t hash,
					bool hidden)
{
	struct server_stmts *c = &s->server->stmts;
	struct server_stmt *ss = server_stmts_find(c, hash, body, len);
	char name[STMTS_NAME_MAX];

	if (ss != NULL)
		return ss;
	if (c->n >= STMTS_SERVER_MAX) {
		struct server_stmt *old = server_stmts_oldest(c);
		server_stmt_name(old, name);
		pgmsg_begin(out, 'C');
		pgmsg_put_byte(out, 'S');
		pgmsg_put_string(out, name);
		pgmsg_end(out);
		server_stmts_remove(c, old);
		if (!push_hidden(s, PL_CLOSE, EFF_NONE, NULL))
			return NULL;
	}
	ss = server_stmts_add(c, hash, body, len);
	if (ss == NULL) {
		out_of_memory(s);
		return NULL;
	}
	server_stmt_name(ss, name);
	write_parse_body(out, name, body, len);
	if (hidden && !push_hidden(s, PL_PARSE, EFF_PREPARED_HERE, (void *)(uintptr_t)ss->id))
		return NULL;
	return ss;
}

/* Re-sends the client's unnamed statement if this connection holds another one. */
static bool ensure_unnamed(struct session *s, struct pgmsg_writer *out)
{
	struct server *srv = s->server;

	if (s->unnamed == NULL || (srv->unnamed_owner == s->id && srv->unnamed_gen == s->unnamed_gen))
		return true;
	write_parse_body(out, "", s->unnamed->body, s->unnamed->len);
	srv->unnamed_owner = s->id;
	srv->unnamed_gen = s->unnamed_gen;
	return push_hidden(s, PL_PARSE, EFF_NONE, NULL);
}

/* Sends what the writer holds (after the run), then lets the message at pos through. */
static enum step inject_then_forward(struct session *s, struct scan *sc, size_t total,
				     enum pl_kind kind)
{
	if (s->w->out.len > 0) {
		scan_flush(sc);
		if (!send_to_server(s))
			return out_of_memory(s), STEP_STOP;
	}
	if (push(s, kind, PL_UPSTREAM, NULL, 0) == NULL)
		return STEP_STOP;
	return scan_pass(sc, total, &s->c2s_pass);
}

/* Sends what the writer holds in place of the message at pos. */
static enum step replace_message(struct session *s, struct scan *sc, size_t total,
				 enum pl_kind kind, enum relay_effect what, void *arg)
{
	scan_drop(sc, total);
	struct pl_entry *e = push(s, kind, PL_UPSTREAM, NULL, 0);
	if (e == NULL)
		return STEP_STOP;
	e->effect.what = (uint16_t)what;
	e->effect.arg = arg;
	if (!send_to_server(s))
		return out_of_memory(s), STEP_STOP;
	return STEP_NEXT;
}

static enum step duplicate_statement(struct session *s, struct scan *sc, size_t total,
				     const char *name)
{
	char msg[200];
	size_t len = 0;
	bool local = false;

	snprintf(msg, sizeof(msg), "prepared statement \"%s\" already exists", name);
	pgmsg_write_error(worker_writer(s->w), false, "42P05", msg, NULL, NULL);
	uint8_t *err = copy_built(s, &len);
	scan_drop(sc, total);
	enum step st = queue_error(s, PL_PARSE, err, len, &local);
	if (st == STEP_STOP)
		return st; /* out of memory: the session is closing */
	s->skip_to_sync = true;
	s->skip_local = local;
	return st;
}

/* Parse under transaction pooling: the client's name becomes the connection's. */
static enum step txn_parse(struct session *s, struct scan *sc, size_t total, const uint8_t *body,
			   uint32_t blen, const char *name, bool is_set)
{
	size_t skip = strlen(name) + 1;
	const uint8_t *pbody = body + skip;
	size_t plen = blen - skip;

	if (name[0] == '\0') {
		struct client_stmt *st = client_stmt_new("", pbody, plen);
		if (st == NULL)
			return out_of_memory(s), STEP_STOP;
		st->is_set = is_set;
		client_stmt_free(s->unnamed);
		s->unnamed = st;
		s->server->unnamed_owner = s->id;
		s->server->unnamed_gen = ++s->unnamed_gen;
		struct pl_entry *e = push(s, PL_PARSE, PL_UPSTREAM, NULL, 0);
		if (e == NULL)
			return STEP_STOP;
		e->effect.what = EFF_UNNAMED;
		e->effect.arg = (void *)(uintptr_t)s->unnamed_gen;
		scan_take(sc, total);
		return STEP_NEXT;
	}
	if (stmt_table_find(&s->stmts, name) != NULL)
		return duplicate_statement(s, sc, total, name);
	struct client_stmt *st = stmt_table_add(&s->stmts, name, pbody, plen);
	if (st == NULL)
		return out_of_memory(s), STEP_STOP;
	st->is_set = is_set;
	if (server_stmts_find(&s->server->stmts, st->hash, st->body, st->len) != NULL) {
		/* Prepared here already (by this client or another): nothing to send. */
		scan_drop(sc, total);
		return answer_here(s, PL_PARSE, parse_complete, sizeof(parse_complete),
				   EFF_PARSE_LOCAL, st);
	}
	struct pgmsg_writer *out = worker_writer(s->w);
	if (prepare_here(s, out, st->body, st->len, st->hash, false) == NULL)
		return STEP_STOP;
	return replace_message(s, sc, total, PL_PARSE, EFF_PARSE, st);
}

/* An unnamed Parse of <text> (no parameters) in place of the one at pos. */
static enum step txn_parse_text(struct session *s, struct scan *sc, size_t total, const char *text)
{
	struct pgmsg_writer *out = &s->w->out;
	size_t n = strlen(text) + 1;
	uint8_t body[80];

	if (n + 2 > sizeof(body))
		return protocol_violation(s, "statement rewrite too long");
	memcpy(body, text, n);
	body[n] = body[n + 1] = 0; /* no parameter types */
	struct client_stmt *st = client_stmt_new("", body, n + 2);
	if (st == NULL)
		return out_of_memory(s), STEP_STOP;
	client_stmt_free(s->unnamed);
	s->unnamed = st;
	s->server->unnamed_owner = s->id;
	s->server->unnamed_gen = ++s->unnamed_gen;
	write_parse_body(out, "", body, n + 2);
	return replace_message(s, sc, total, PL_PARSE, EFF_UNNAMED,
			       (void *)(uintptr_t)s->unnamed_gen);
}

/*
 * Describe of statement <name>: rewritten to the connection's name (the
 * statement prepared there first if needed). Unknown names go through
 * unchanged, so Postgres answers them with its own 26000.
 */
static enum step txn_describe(struct session *s, struct scan *sc, size_t total, const char *name)
{
	struct pgmsg_writer *out = worker_writer(s->w);
	char sname[STMTS_NAME_MAX];

	if (name[0] == '\0') {
		if (!ensure_unnamed(s, out))
			return STEP_STOP;
		return inject_then_forward(s, sc, total, PL_DESCRIBE);
	}
	struct client_stmt *st = stmt_table_find(&s->stmts, name);
	if (st == NULL)
		return inject_then_forward(s, sc, total, PL_DESCRIBE);
	struct server_stmt *ss = prepare_here(s, out, st->body, st->len, st->hash, true);
	if (ss == NULL)
		return STEP_STOP;
	server_stmt_name(ss, sname);
	pgmsg_begin(out, 'D');
	pgmsg_put_byte(out, 'S');
	pgmsg_put_string(out, sname);
	pgmsg_end(out);
	return replace_message(s, sc, total, PL_DESCRIBE, EFF_NONE, NULL);
}

static enum step txn_close(struct session *s, struct scan *sc, size_t total, const char *name)
{
	if (name[0] == '\0') {
		client_stmt_free(s->unnamed);
		s->unnamed = NULL;
		if (s->server->unnamed_owner == s->id)
			s->server->unnamed_owner = 0;
		return inject_then_forward(s, sc, total, PL_CLOSE);
	}
	/* The connection keeps the body for whoever sends it next; the name is the client's. */
	struct client_stmt *st = stmt_table_find(&s->stmts, name);
	if (st != NULL)
		stmt_table_unlink(&s->stmts, st);
	scan_drop(sc, total);
	return answer_here(s, PL_CLOSE, close_complete, sizeof(close_complete), EFF_CLOSE, st);
}

/*
 * Where the Bind at pos has its two names: the length of header + portal +
 * statement name, 0 if that has not all arrived, <0 if the message holds no
 * such names.
 */
static ssize_t bind_names_end(struct scan *sc, size_t total)
{
	struct evbuffer_ptr at = sc->pos, z;
	size_t end = sc->off + (sc->avail - sc->off < total ? sc->avail - sc->off : total);

	evbuffer_ptr_set(sc->in, &at, PGMSG_HEADER_LEN, EVBUFFER_PTR_ADD);
	for (int i = 0; i < 2; i++) {
		z = evbuffer_search(sc->in, "", 1, &at);
		if (z.pos < 0 || (size_t)z.pos >= end)
			return end == sc->off + total ? -1 : 0;
		at = z;
		evbuffer_ptr_set(sc->in, &at, 1, EVBUFFER_PTR_ADD);
	}
	return (ssize_t)((size_t)at.pos - sc->off);
}

/*
 * The portal and statement names of the Bind at pos, copied out of the input
 * (<head> bytes from bind_names_end) into the worker's scratch, valid until
 * it is used again; NULL on OOM.
 */
static const char *bind_names(struct session *s, struct scan *sc, size_t head, const char **stmt)
{
	uint8_t *names = worker_scratch(s->w, head);
	struct evbuffer_ptr at = sc->pos;

	if (names == NULL || evbuffer_copyout_from(sc->in, &at, names, head) != (ev_ssize_t)head)
		return NULL;
	const char *portal = (const char *)names + PGMSG_HEADER_LEN;
	*stmt = portal + strlen(portal) + 1;
	return portal;
}

/*
 * Bind under transaction pooling. Only its two names are looked at (and the
 * statement's rewritten); the parameters, which can be large, stream through.
 */
static enum step bind_as(struct session *s, struct scan *sc, size_t total, size_t head,
			 const char *portal, const struct server_stmt *ss);
static enum step txn_bind(struct session *s, struct scan *sc, size_t total, uint32_t blen)
{
	ssize_t head = bind_names_end(sc, total);

	if (head < 0)
		return protocol_violation(s, "invalid Bind message");
	if (head == 0)
		return need_whole(s, sc, total, blen) == STEP_STOP ? STEP_STOP : STEP_WAIT;
	const char *name;
	const char *portal = bind_names(s, sc, (size_t)head, &name);
	if (portal == NULL)
		return out_of_memory(s), STEP_STOP;
	struct pgmsg_writer *out = worker_writer(s->w);
	struct client_stmt *st = name[0] ? stmt_table_find(&s->stmts, name) : NULL;
	note_set_portal(s, portal, name[0] ? st : s->unnamed);
	if (st == NULL) {
		if (name[0] == '\0' && !ensure_unnamed(s, out))
			return STEP_STOP;
		return inject_then_forward(s, sc, total, PL_BIND);
	}
	struct server_stmt *ss = prepare_here(s, out, st->body, st->len, st->hash, true);
	if (ss == NULL)
		return STEP_STOP;
	return bind_as(s, sc, total, (size_t)head, portal, ss);
}

/*
 * Sends the Bind at pos for statement <ss> of the connection (prepared there
 * already, in <out>): its header rewritten, the parameters streamed through.
 */
static enum step bind_as(struct session *s, struct scan *sc, size_t total, size_t head,
			 const char *portal, const struct server_stmt *ss)
{
	struct pgmsg_writer *out = &s->w->out; /* appended to what prepare_here wrote */
	char sname[STMTS_NAME_MAX];

	server_stmt_name(ss, sname);
	size_t rest = total - head;
	size_t newlen = 4 + strlen(portal) + 1 + strlen(sname) + 1 + rest;
	if (newlen > PGMSG_MAX_LEN)
		return protocol_violation(s, "Bind message too long");
	pgmsg_put_byte(out, 'B');
	pgmsg_put_int32(out, (int32_t)newlen);
	pgmsg_put_string(out, portal);
	pgmsg_put_string(out, sname);
	if (push(s, PL_BIND, PL_UPSTREAM, NULL, 0) == NULL)
		return STEP_STOP;
	scan_drop(sc, (size_t)head);
	if (!send_to_server(s))
		return out_of_memory(s), STEP_STOP;
	return scan_pass(sc, rest, &s->c2s_pass);
}

/*
 * A Bind of a named legacy read whose side is now Supabase: the statement is
 * prepared on the upstream connection (once per connection, as sy_<n>) and
 * the Bind goes there; its portal is Supabase's.
 */
static enum step cut_bind(struct session *s, struct scan *sc, size_t total, size_t head,
			  const char *portal, const struct client_stmt *cs)
{
	struct server_stmt *ss = prepare_here(s, worker_writer(s->w), cs->body, cs->len, cs->hash,
					      true);
	if (ss == NULL)
		return STEP_STOP;
	return bind_as(s, sc, total, head, portal, ss);
}

/* Describe and Close need the whole (small) message under transaction pooling. */
static enum step handle_txn_ref(struct session *s, struct scan *sc, size_t total, uint32_t blen,
				uint8_t type)
{
	const char *name;
	char kind = 'S';
	enum step st = type == 'B' ? STEP_NEXT : need_whole(s, sc, total, blen);

	if (type == 'B')
		return txn_bind(s, sc, total, blen);
	if (st != STEP_NEXT)
		return st;
	const uint8_t *body = scan_body(sc, blen, s->w);
	bool ok = body != NULL && pgmsg_parse_target(body, blen, &kind, &name);
	if (!ok)
		return protocol_violation(s, "invalid Describe or Close message");
	if (kind == 'P')
		return forward(s, sc, total, type == 'D' ? PL_DESCRIBE : PL_CLOSE);
	if (type == 'D')
		return txn_describe(s, sc, total, name);
	return txn_close(s, sc, total, name);
}

/* What a Query or Parse leaves behind in the session, under transaction pooling. */
static void note_session_effects(struct session *s, const struct route_decision *d)
{
	enum route_pin why = route_pin_of(d->flags);

	/* DEALLOCATE alone moves nothing; PREPARE (which pins) made what it drops. */
	if (why == ROUTE_PIN_PREPARE && !(d->flags & ROUTE_F_PREPARE) && !(d->flags & ROUTE_F_MULTI))
		why = ROUTE_PIN_NONE;
	if (why != ROUTE_PIN_NONE)
		pin(s, route_pin_name(why));
	/* Our sy_<n> statements do not survive DEALLOCATE ALL or DISCARD on the connection. */
	bool all = (d->flags & ROUTE_F_DEALLOCATE) && d->deallocate_name == NULL;
	if (all || why == ROUTE_PIN_DISCARD) {
		server_stmts_clear(&s->server->stmts);
		s->server->unnamed_owner = 0;
	}
}

/*
 * Session pooling: the sy_<n> statements a cutover Bind prepared do not
 * survive a client's DEALLOCATE ALL or DISCARD either.
 */
static void forget_server_stmts(struct session *s, const struct route_decision *d)
{
	bool all = (d->flags & ROUTE_F_DEALLOCATE) && d->deallocate_name == NULL;
	if (s->server != NULL && (all || route_pin_of(d->flags) == ROUTE_PIN_DISCARD))
		server_stmts_clear(&s->server->stmts);
}

/*
 * A Bind of a SET statement (extended protocol): its portal carries the text,
 * remembered when an Execute of that portal completes.
 */
static void note_set_portal(struct session *s, const char *portal, const struct client_stmt *st)
{
	bool replaced = s->set_portal != NULL && strcmp(portal, s->set_portal) == 0;

	if (replaced || (s->set_portal != NULL && st != NULL && st->is_set)) {
		free(s->set_portal);
		free(s->set_portal_sql);
		s->set_portal = s->set_portal_sql = NULL;
	}
	if (st == NULL || !st->is_set)
		return;
	s->set_portal = strdup(portal);
	s->set_portal_sql = strdup((const char *)st->body);
	if (s->set_portal == NULL || s->set_portal_sql == NULL)
		pin(s, "out of memory remembering a SET");
}

/* Execute under transaction pooling: a SET portal's text is remembered if it succeeds. */
static enum step txn_execute(struct session *s, struct scan *sc, size_t total, uint32_t blen)
{
	const char *portal;
	int32_t max_rows;
	enum step st = need_whole(s, sc, total, blen);

	if (st != STEP_NEXT)
		return st;
	const uint8_t *body = scan_body(sc, blen, s->w);
	if (body == NULL || !pgmsg_parse_execute(body, blen, &portal, &max_rows))
		return protocol_violation(s, "invalid Execute message");
	struct pl_entry *e = push(s, PL_EXECUTE, PL_UPSTREAM, NULL, 0);
	if (e == NULL)
		return STEP_STOP;
	if (strcmp(portal, s->set_portal) == 0) {
		e->effect.what = EFF_SET;
		e->effect.arg = strdup(s->set_portal_sql);
		if (e->effect.arg == NULL)
			pin(s, "out of memory remembering a SET");
	}
	scan_take(sc, total);
	return STEP_NEXT;
}

/*
 * DEALLOCATE under transaction pooling names the client's statements (psycopg
 * drops its protocol-level ones this way): the client forgets the name, and
 * the connection deallocates its sy_<n> copy (prepared first if it had none,
 * so the reply is Postgres' own). The text to send instead goes to <text>;
 * false when the statement goes as it is (DEALLOCATE ALL, which also clears
 * the connection's cache; unknown names, which get Postgres' 26000).
 */
static bool txn_deallocate(struct session *s, const struct route_decision *d,
			   struct pgmsg_writer *out, char *text, size_t cap)
{
	const char *name = d->deallocate_name;
	char sname[STMTS_NAME_MAX];

	if (!(d->flags & ROUTE_F_DEALLOCATE) || (d->flags & ROUTE_F_MULTI))
		return false;
	if (name == NULL) {
		stmt_table_free(&s->stmts);
		return false;
	}
	struct client_stmt *st = stmt_table_find(&s->stmts, name);
	if (st == NULL)
		return false;
	struct server_stmt *ss = prepare_here(s, out, st->body, st->len, st->hash, true);
	if (ss == NULL)
		return false;
	server_stmt_name(ss, sname);
	snprintf(text, cap, "DEALLOCATE %s", sname);
	server_stmts_remove(&s->server->stmts, ss);
	stmt_table_unlink(&s->stmts, st);
	client_stmt_free(st);
	return true;
}

/* Sends a simple Query of <text> (after whatever the writer holds) in place of the one at pos. */
static enum step replace_query(struct session *s, struct scan *sc, size_t total, const char *text)
{
	struct pgmsg_writer *out = &s->w->out;

	/* An injected Parse opened a segment: close it unseen before the Query. */
	if (out->len > 0) {
		pgmsg_write_sync(out);
		if (pipeline_push(&s->q, PL_SYNC, PL_UPSTREAM, PL_F_HIDE_ALL, NULL, 0) == NULL)
			return out_of_memory(s), STEP_STOP;
	}
	pgmsg_write_query(out, text);
	return replace_message(s, sc, total, PL_QUERY, EFF_NONE, NULL);
}

static enum step handle_query(struct session *s, struct scan *sc, size_t total, uint32_t blen)
{
	const char *sql;
	size_t len;
	struct route_decision d;
	bool local;
	enum step st = need_whole(s, sc, total, blen);

	if (st != STEP_NEXT)
		return st;
	const uint8_t *body = scan_body(sc, blen, s->w);
	if (body == NULL || !pgmsg_parse_query(body, blen, &sql, &len))
		return protocol_violation(s, "invalid Query message");
	route(s, sql, len, &d);
	if (d.target == ROUTE_REJECT) {
		scan_drop(sc, total);
		return refuse(s, PL_QUERY, &d, &local);
	}
	if (d.target == ROUTE_MYSQL)
		return legacy_query(s, sc, total, sql, len, &d);
	if (!s->txn_pool && (d.flags & (ROUTE_F_DEALLOCATE | ROUTE_F_SESSION_STATE)))
		forget_server_stmts(s, &d);
	if ((d.flags & ROUTE_F_SET_ONLY) && !(d.flags & ROUTE_F_MULTI))
		note_set(s, sql, len);
	if (s->legacy != NULL && (d.flags & (ROUTE_F_PREPARE | ROUTE_F_EXECUTE | ROUTE_F_DEALLOCATE))) {
		enum step st = sql_prepared_ref(s, sc, total, sql, len, &d);
		if (st != STEP_NOT_MINE)
			return st;
	}
	if (legacy_has_cursors(s)) {
		struct router_cursor_op op;
		router_cursor_op(s->w->router, sql, len, &op);
		if (op.kind == ROUTER_CURSOR_CLOSE && op.name[0] == '\0') {
			legacy_drop_cursors(s); /* CLOSE ALL: Supabase's cursors close there */
		} else if (op.kind != ROUTER_CURSOR_NONE && legacy_is_cursor(s, op.name)) {
			scan_drop(sc, total);
			return queue_mysql(s, sc, PL_QUERY, legacy_work_cursor_op(s, &op), true);
		}
	}
	char text[64];
	if (s->txn_pool && txn_deallocate(s, &d, worker_writer(s->w), text, sizeof(text)))
		return replace_query(s, sc, total, text);
	if (s->state != SESSION_ST_ACTIVE || s->closing)
		return STEP_STOP;
	struct pl_entry *e = push(s, PL_QUERY, PL_UPSTREAM, NULL, 0);
	if (e == NULL)
		return STEP_STOP;
	if ((d.flags & ROUTE_F_CUTOVER) && !(d.flags & ROUTE_F_MULTI)) {
		cut_mark(e, d.legacy_tables, CUTOVER_SUPABASE);
		e->shadow = shadow_for(s, d.legacy_tables, CUTOVER_SUPABASE, d.fingerprint, sql, len,
				       NULL, 0);
	} else if (d.flags & ROUTE_F_CUTOVER) {
		cut_mark(e, d.legacy_tables, CUTOVER_SUPABASE);
	}
	if (s->txn_pool) {
		note_session_effects(s, &d);
		if ((d.flags & ROUTE_F_SET_ONLY) && !s->pinned) {
			e->effect.what = EFF_SET;
			e->effect.arg = strndup(sql, len);
			if (e->effect.arg == NULL)
				pin(s, "out of memory remembering a SET");
		}
	}
	scan_take(sc, total);
	return STEP_NEXT;
}

static enum step handle_parse(struct session *s, struct scan *sc, size_t total, uint32_t blen)
{
	struct pgmsg_parse p;
	struct route_decision d;
	enum step st = need_whole(s, sc, total, blen);

	if (st != STEP_NEXT)
		return st;
	const uint8_t *body = scan_body(sc, blen, s->w);
	if (body == NULL || !pgmsg_parse_parse(body, blen, &p))
		return protocol_violation(s, "invalid Parse message");
	route(s, p.sql, p.sql_len, &d);
	if (d.target == ROUTE_REJECT) {
		/* As Postgres does after an error: everything up to Sync is skipped. */
		scan_drop(sc, total);
		st = refuse(s, PL_PARSE, &d, &s->skip_local);
		s->skip_to_sync = true;
		return st;
	}
	forget_legacy_stmt(s, p.name);
	if (p.name[0] == '\0') {
		s->cut_unnamed = 0;
		free(s->shadow_unnamed);
		s->shadow_unnamed = NULL;
	}
	if (d.target == ROUTE_MYSQL)
		return legacy_parse_msg(s, sc, total, body, blen, &p, &d, false);
	if ((d.flags & ROUTE_F_CUTOVER) && !(d.flags & ROUTE_F_MULTI)) {
		/* A legacy read on its Supabase copy: named ones decide at each Bind. */
		if (p.name[0] != '\0') {
			enum step ls = legacy_parse_msg(s, sc, total, body, blen, &p, &d, true);
			if (ls != STEP_NOT_MINE)
				return ls;
		} else {
			cut_pending(s, d.legacy_tables, CUTOVER_SUPABASE);
			shadow_keep_unnamed(s, body, blen, &d);
		}
	}
	if ((d.flags & ROUTE_F_SET_ONLY) && !(d.flags & ROUTE_F_MULTI))
		note_set(s, p.sql, p.sql_len);
	if (legacy_has_cursors(s)) {
		struct router_cursor_op op;
		router_cursor_op(s->w->router, p.sql, p.sql_len, &op);
		if (op.kind != ROUTER_CURSOR_NONE && op.name[0] != '\0' && legacy_is_cursor(s, op.name))
			return legacy_cursor_parse(s, sc, total, p.name, &op);
	}
	/* One namespace, as in Postgres: a named legacy statement's name is taken. */
	if (p.name[0] != '\0' && legacy_has_stmt(s, p.name))
		return duplicate_statement(s, sc, total, p.name);
	if (s->legacy != NULL)
		legacy_forget_stmt(s, p.name); /* the unnamed one is replaced */
	if (s->txn_pool) {
		char text[64];
		note_session_effects(s, &d);
		if (p.name[0] == '\0' && p.nparams == 0 &&
		    txn_deallocate(s, &d, worker_writer(s->w), text, sizeof(text)))
			return txn_parse_text(s, sc, total, text);
		if (s->state != SESSION_ST_ACTIVE || s->closing)
			return STEP_STOP;
		return txn_parse(s, sc, total, body, blen, p.name, (d.flags & ROUTE_F_SET_ONLY) != 0);
	}
	if (push(s, PL_PARSE, PL_UPSTREAM, NULL, 0) == NULL)
		return STEP_STOP;
	scan_take(sc, total);
	return STEP_NEXT;
}

static enum step handle_sync(struct session *s, struct scan *sc, size_t total)
{
	/* Also local: a segment answered from MySQL alone (nothing of it went upstream). */
	bool local = s->skip_to_sync ? s->skip_local : s->legacy_seg && !s->q.seg_upstream;
	/*
	 * Legacy portals end with the implicit transaction, known only when this
	 * Sync is answered (a BEGIN earlier in the segment may still be owed).
	 */
	uint16_t effect = s->legacy != NULL ? EFF_LEGACY_SYNC : EFF_NONE;

	s->legacy_seg = false;
	s->skip_to_sync = false;
	s->skip_local = false;
	s->cut_pending = 0;
	shadow_req_free(s->shadow_pending);
	s->shadow_pending = NULL;
	if (local) {
		/* The whole segment was refused here: so is its ReadyForQuery. */
		scan_drop(sc, total);
		struct pl_entry *e = push(s, PL_SYNC, PL_LOCAL, NULL, 0);
		if (e == NULL)
			return STEP_STOP;
		e->ready_after = true;
		e->effect.what = effect;
		return emit_ready(s, NULL) ? STEP_NEXT : STEP_STOP;
	}
	struct pl_entry *e = push(s, PL_SYNC, PL_UPSTREAM, NULL, 0);
	if (e == NULL)
		return STEP_STOP;
	e->effect.what = effect;
	scan_take(sc, total);
	return STEP_NEXT;
}

/* Drops the message at pos (skipping to Sync after a refused Parse). */
static enum step drop_message(struct session *s, struct scan *sc, size_t total)
{
	size_t here = sc->avail - sc->off;

	if (here >= total) {
		scan_drop(sc, total);
		return STEP_NEXT;
	}
	scan_drop(sc, here);
	s->c2s_pass = total - here;
	s->c2s_drop = true;
	return STEP_WAIT;
}

/* A message forwarded as it is, with its entry. */
static enum step forward(struct session *s, struct scan *sc, size_t total, enum pl_kind kind)
{
	struct pl_entry *e = push(s, kind, PL_UPSTREAM, NULL, 0);

	if (e == NULL)
		return STEP_STOP;
	if (kind == PL_EXECUTE && s->cut_pending != 0 && s->cut_pending_side == CUTOVER_SUPABASE) {
		cut_mark(e, s->cut_pending, CUTOVER_SUPABASE);
		e->t0_us = s->cut_pending_us;
		s->cut_pending = 0;
		shadow_attach(s, e);
	}
	/* Nothing will answer a Flush or CopyDone: at the head it is done already. */
	if ((e->flags & PL_F_SILENT) && !emit_ready(s, NULL))
		return STEP_STOP;
	return scan_pass(sc, total, &s->c2s_pass);
}

/*
 * A Bind of the unnamed statement while it is a legacy read on its Supabase
 * copy: looked at whole (when small) so that a sampled read is shadowed.
 */
static enum step shadow_unnamed_bind(struct session *s, struct scan *sc, size_t total,
				     uint32_t blen)
{
	if (!shadow_wants_bind(s, blen))
		return STEP_NEXT;
	enum step st = need_whole(s, sc, total, blen);
	if (st != STEP_NEXT)
		return st;
	const uint8_t *body = scan_body(sc, blen, s->w);
	if (body == NULL)
		return STEP_NEXT;
	const uint8_t *portal_end = memchr(body, '\0', blen);
	/* Only a Bind of the unnamed statement: after the portal name, an empty name. */
	if (portal_end != NULL && (size_t)(portal_end - body) + 1 < blen && portal_end[1] == '\0')
		shadow_bind(s, body, blen, s->shadow_unnamed, s->shadow_unnamed_len,
			    s->shadow_unnamed_tables, CUTOVER_SUPABASE, s->shadow_unnamed_fp);
	return STEP_NEXT;
}

/*
 * The FunctionCall message calls a function by OID (set_config among them)
 * with nothing for the router to read: a client with upstream_role may not
 * use it. Answered like a Query (ErrorResponse, ReadyForQuery).
 */
static enum step refuse_function_call(struct session *s, struct scan *sc, size_t total,
				      uint32_t blen)
{
	enum step st = need_whole(s, sc, total, blen);
	bool local;

	if (st != STEP_NEXT)
		return st;
	scan_drop(sc, total);
	struct route_decision d = { .target = ROUTE_REJECT, .sqlstate = "42501",
				    .message = "the FunctionCall message is not available to a client "
					       "with upstream_role",
				    .detail = "Its function is not visible to switchyard, which keeps "
					      "the client's role fixed.",
				    .hint = "Call the function in a SELECT." };
	return refuse(s, PL_QUERY, &d, &local);
}

static enum step client_message(struct session *s, struct scan *sc)
{
	uint8_t type;
	uint32_t blen;
	ssize_t total = scan_header(sc, &type, &blen);

	if (total == 0)
		return STEP_WAIT;
	if (total < 0)
		return protocol_violation(s, "invalid message length");
	if (s->skip_to_sync && type != 'S' && type != 'X')
		return drop_message(s, sc, (size_t)total);
	if (s->legacy != NULL && (type == 'B' || type == 'D' || type == 'E' || type == 'C')) {
		enum step st = legacy_ref(s, sc, (size_t)total, blen, type);
		if (st != STEP_NOT_MINE)
			return st;
	}
	switch (type) {
	case 'Q':
		return handle_query(s, sc, (size_t)total, blen);
	case 'P':
		return handle_parse(s, sc, (size_t)total, blen);
	case 'S':
		return handle_sync(s, sc, (size_t)total);
	case 'X':
		scan_flush(sc);
		session_close(s, "client sent Terminate");
		return STEP_STOP;
	case 'B':
		if (s->shadow_unnamed != NULL && s->cut_pending != 0 &&
		    s->cut_pending_side == CUTOVER_SUPABASE) {
			enum step st = shadow_unnamed_bind(s, sc, (size_t)total, blen);
			if (st != STEP_NEXT)
				return st;
		}
		if (s->txn_pool)
			return handle_txn_ref(s, sc, (size_t)total, blen, type);
		return forward(s, sc, (size_t)total, PL_BIND);
	case 'D':
		if (s->txn_pool)
			return handle_txn_ref(s, sc, (size_t)total, blen, type);
		return forward(s, sc, (size_t)total, PL_DESCRIBE);
	case 'E':
		if (s->txn_pool && s->set_portal != NULL)
			return txn_execute(s, sc, (size_t)total, blen);
		return forward(s, sc, (size_t)total, PL_EXECUTE);
	case 'C':
		if (s->txn_pool)
			return handle_txn_ref(s, sc, (size_t)total, blen, type);
		return forward(s, sc, (size_t)total, PL_CLOSE);
	case 'H':
		return forward(s, sc, (size_t)total, PL_FLUSH);
	case 'F':
		if (s->up_role != NULL && s->up_role[0] != '\0')
			return refuse_function_call(s, sc, (size_t)total, blen);
		return forward(s, sc, (size_t)total, PL_FUNCTION);
	case 'c':
	case 'f':
		return forward(s, sc, (size_t)total, PL_COPY_END);
	case 'd':
		return scan_pass(sc, (size_t)total, &s->c2s_pass);
	default: {
		char msg[64];
		snprintf(msg, sizeof(msg), "invalid frontend message type %d", type);
		return protocol_violation(s, msg);
	}
	}
}

/*
 * Backpressure. Client reads stop while the upstream's output holds more than
 * the high-water mark (requests not yet taken by Supabase: c2s_paused) or the
 * client's own output does (answers switchyard wrote itself, e.g. refusals,
 * to a client that sends without reading: c2s_self_paused). Upstream reads
 * stop while the client's output is backed up (s2c_paused). Each resumes when
 * the output in question drains below the low-water mark.
 */
static void pause_client_if_backed_up(struct session *s)
{
	if (!s->c2s_paused && conn_out_pending(s->server->conn) > RELAY_HIGH_WATER) {
		s->c2s_paused = true;
		conn_notify_drain(s->server->conn, RELAY_LOW_WATER);
	}
	if (!s->c2s_self_paused && conn_out_pending(s->conn) > RELAY_HIGH_WATER) {
		s->c2s_self_paused = true;
		conn_notify_drain(s->conn, RELAY_LOW_WATER);
	}
	if (s->c2s_paused || s->c2s_self_paused)
		conn_read_enable(s->conn, false);
}

static void pause_server_if_backed_up(struct session *s)
{
	if (s->s2c_paused || conn_out_pending(s->conn) <= RELAY_HIGH_WATER)
		return;
	s->s2c_paused = true;
	conn_notify_drain(s->conn, RELAY_LOW_WATER);
	conn_read_enable(s->server->conn, false);
}

static void resume_client(struct session *s)
{
	if (s->c2s_paused || s->c2s_self_paused || s->legacy_hold)
		return;
	conn_read_enable(s->conn, true);
	relay_client_read(s);
}

/* Transaction pooling: a client between transactions sent something. */
static void client_read_idle(struct session *s)
{
	uint8_t type;

	if (evbuffer_copyout(s->conn->in, &type, 1) != 1)
		return;
	if (type == 'X') {
		session_close(s, "client sent Terminate");
		return;
	}
	session_need_upstream(s);
}

static void client_read(struct session *s);

/*
 * The client's own output is corked while its messages are read, and while
 * a MySQL answer is under way: what switchyard answers itself (ParseComplete,
 * BindComplete, descriptions, rows, ReadyForQuery) leaves in one write
 * instead of one system call — and one wake-up of the client — per message.
 */
void relay_client_read(struct session *s)
{
	if (s->legacy_hold) {
		/* relay_local_done reads on; meanwhile the input may only grow so far. */
		if (s->conn->in != NULL && evbuffer_get_length(s->conn->in) > RELAY_HIGH_WATER)
			conn_read_enable(s->conn, false);
		return;
	}
	conn_cork(s->conn);
	client_read(s);
	if (s->state != SESSION_ST_CLOSED && !s->legacy_hold)
		conn_uncork(s->conn);
}

static void client_read(struct session *s)
{
	struct scan sc;
	enum step st = STEP_NEXT;

	if (s->state == SESSION_ST_IDLE && !s->closing) {
		client_read_idle(s);
		return;
	}
	if (s->state != SESSION_ST_ACTIVE || s->closing || s->c2s_paused || s->c2s_self_paused)
		return;
	struct evbuffer *in = s->conn->in;
	struct conn *out = s->server->conn;
	if (s->c2s_pass > 0 && !continue_pass(in, out, &s->c2s_pass, s->c2s_drop))
		goto done;
	s->c2s_drop = false;
	/*
	 * Transaction pooling rewrites messages (Bind to the connection's
	 * statement name, a Parse first where the connection lacks it): what
	 * the client sent in one piece goes upstream in one piece.
	 */
	if (s->txn_pool)
		conn_cork(out);
	scan_start(&sc, in, out);
	while (st == STEP_NEXT)
		st = client_message(s, &sc);
	if (st == STEP_STOP) {
		conn_uncork(out);
		return;
	}
	scan_flush(&sc);
	conn_uncork(out);
	if (sc.failed) {
		session_close(s, "out of memory");
		return;
	}
	/* A refusal answered here may have been the last thing owed. */
	if (s->w->draining && session_drain_if_idle(s))
		return;
	relay_release_if_idle(s);
	if (s->server == NULL)
		return;
done:
	pause_client_if_backed_up(s);
}

void relay_server_drained(struct session *s)
{
	if (s == NULL || s->server == NULL || !s->c2s_paused ||
	    conn_out_pending(s->server->conn) > RELAY_LOW_WATER)
		return;
	s->c2s_paused = false;
	conn_notify_drain(s->server->conn, SIZE_MAX);
	resume_client(s);
}

/* ---- upstream to client ---- */

static enum step upstream_garbage(struct session *s, const char *what)
{
	log_warn(s->w->id, s->id, "upstream out of step", "what=\"%s\"", what);
	session_detach_server(s, false);
	session_fatal(s, "08006", "invalid message from upstream", NULL);
	return STEP_STOP;
}

/* Only rows, COPY data and notices may be big; they stream through unseen. */
static bool may_stream(uint8_t type)
{
	return type == 'D' || type == 'd' || type == 'N' || type == 'A' || type == 'V';
}

/* Fills in what the queue needs to know about the (complete) message at pos. */
static bool inspect(struct session *s, struct scan *sc, uint32_t blen, struct pl_reply *r)
{
	const uint8_t *body;
	struct pgmsg_error e;
	const char *name, *value;

	switch (r->type) {
	case 'Z':
		body = scan_body(sc, blen, s->w);
		return body != NULL && pgmsg_parse_ready(body, blen, &r->status);
	case 'E':
		body = scan_body(sc, blen, s->w);
		if (body == NULL || !pgmsg_parse_error(body, blen, &e))
			return true; /* relayed as it is; the queue only needs its type */
		r->marker_error = strcmp(e.sqlstate, REFUSAL_MARKER_SQLSTATE) == 0;
		if (!r->marker_error && strlen(e.sqlstate) == 5)
			metrics_error(s->w->metrics, METRICS_SUPABASE, e.sqlstate);
		r->fatal = strcmp(e.severity, "FATAL") == 0 || strcmp(e.severity, "PANIC") == 0;
		s->upstream_fatal |= r->fatal;
		return true;
	case 'S':
		body = scan_body(sc, blen, s->w);
		if (body != NULL && pgmsg_parse_param_status(body, blen, &name, &value))
			server_note_param(s->server, name, value);
		return true;
	default:
		return true;
	}
}

static enum step server_message(struct session *s, struct scan *sc)
{
	uint8_t type;
	uint32_t blen;
	ssize_t total = scan_header(sc, &type, &blen);
	struct pl_reply r = { .type = 0 };
	struct pl_result res;
	enum step st = STEP_NEXT;
	bool written;

	if (total == 0)
		return STEP_WAIT;
	if (total < 0)
		return upstream_garbage(s, "bad length");
	bool whole = sc->avail - sc->off >= (size_t)total;
	if (blen > RELAY_INSPECT_MAX) {
		if (!may_stream(type))
			return upstream_garbage(s, "oversized message");
	} else if (!whole) {
		return STEP_WAIT;
	}
	r.type = type;
	if (!emit_ready(s, sc))
		return STEP_STOP;
	if (whole && !inspect(s, sc, blen, &r))
		return upstream_garbage(s, "malformed message");
	pipeline_upstream(&s->q, &r, &res);
	switch (res.verdict) {
	case PL_V_PASS:
		st = scan_pass(sc, (size_t)total, &s->s2c_pass);
		break;
	case PL_V_DROP:
		if (!whole)
			return upstream_garbage(s, "oversized reply to an injected message");
		scan_drop(sc, (size_t)total);
		break;
	case PL_V_SUBST:
		scan_drop(sc, (size_t)total);
		written = conn_write(s->conn, res.entry.msg, res.entry.len);
		free(res.entry.msg);
		res.entry.msg = NULL;
		if (!written)
			return out_of_memory(s), STEP_STOP;
		break;
	case PL_V_DESYNC:
	default: {
		char what[96];
		const struct pl_entry *h = pipeline_head(&s->q);
		snprintf(what, sizeof(what), "unexpected message '%c' for %s",
			 type > 31 && type < 127 ? type : '?',
			 h ? pipeline_kind_name((enum pl_kind)h->kind) : "nothing");
		return upstream_garbage(s, what);
	}
	}
	if (res.retired) {
		free(res.entry.msg);
		cut_note(s, &res.entry, (res.entry.flags & (PL_F_ERRORED | PL_F_SKIPPED)) != 0);
		note_statement(s, &res.entry, METRICS_SUPABASE);
		apply_effect(s, &res.entry);
	}
	if (type == 'Z') {
		s->server->txn_status = r.status;
		/* Hidden replays and markers end no client's portals, but a snapshot ends anyway. */
		if (r.status == PL_TXN_IDLE && s->legacy != NULL)
			legacy_txn_ended(s, res.retired ? res.entry.seg : 0,
					 res.retired && !(res.entry.flags & PL_F_HIDE_ALL));
	}
	if (!emit_ready(s, sc))
		return STEP_STOP;
	return st;
}

void relay_server_read(struct session *s)
{
	struct scan sc;
	enum step st = STEP_NEXT;

	if (s == NULL || s->closing || s->s2c_paused || s->server == NULL)
		return;
	struct evbuffer *in = s->server->conn->in;
	struct conn *out = s->conn;
	if (s->s2c_pass > 0 && !continue_pass(in, out, &s->s2c_pass, false))
		goto done;
	scan_start(&sc, in, out);
	while (st == STEP_NEXT)
		st = server_message(s, &sc);
	if (st == STEP_STOP)
		return;
	scan_flush(&sc);
	if (sc.failed) {
		session_close(s, "out of memory");
		return;
	}
	if (s->w->draining && session_drain_if_idle(s))
		return;
	relay_release_if_idle(s);
	if (s->server == NULL)
		return;
done:
	pause_server_if_backed_up(s);
}

void relay_release_if_idle(struct session *s)
{
	if (!s->txn_pool || s->pinned || s->server == NULL || s->state != SESSION_ST_ACTIVE ||
	    s->closing || !session_is_idle(s))
		return;
	/* More from the client, or an upstream notice still unread: keep the link for it. */
	if (evbuffer_get_length(s->conn->in) > 0 || evbuffer_get_length(s->server->conn->in) > 0)
		return;
	session_release_upstream(s);
}

bool relay_link_again(struct session *s)
{
	struct server *srv = s->server;
	struct pgmsg_writer *out;

	/*
	 * upstream_role (issue 10): RESET ALL leaves the role alone, so a
	 * connection another client used also gets RESET ROLE, back to the
	 * startup role — whatever that client might have found to change it.
	 */
	bool role_reset = srv->role != NULL && srv->role[0] != '\0' && srv->last_session != s->id;
	srv->last_session = s->id;
	if (!role_reset && srv->set_owner == s->id && srv->set_gen == s->set_gen)
		return true;
	if (!role_reset && s->sets == NULL && srv->set_owner == 0)
		return true;
	/* Another client's settings (or none) are on this connection: make them this one's. */
	out = worker_writer(s->w);
	pgmsg_begin(out, 'Q');
	if (role_reset)
		pgmsg_put_bytes(out, srv->set_owner != 0 || s->sets != NULL ? "RESET ROLE; " : "RESET ROLE",
				srv->set_owner != 0 || s->sets != NULL ? 12 : 10);
	if (srv->set_owner != 0)
		pgmsg_put_bytes(out, "RESET ALL", 9);
	if (srv->set_owner != 0 && s->sets != NULL)
		pgmsg_put_bytes(out, "; ", 2);
	if (s->sets != NULL)
		pgmsg_put_bytes(out, s->sets, s->sets_len);
	pgmsg_put_byte(out, 0);
	pgmsg_end(out);
	if (pipeline_push(&s->q, PL_QUERY, PL_UPSTREAM, PL_F_HIDE_ALL, NULL, 0) == NULL ||
	    !send_to_server(s))
		return out_of_memory(s);
	srv->set_owner = s->sets != NULL ? s->id : 0;
	srv->set_gen = s->set_gen;
	return true;
}

void relay_client_drained(struct session *s)
{
	legacy_client_drained(s);
	if (s->server == NULL || conn_out_pending(s->conn) > RELAY_LOW_WATER)
		return;
	bool server_paused = s->s2c_paused, self_paused = s->c2s_self_paused;
	if (!server_paused && !self_paused)
		return;
	s->s2c_paused = false;
	s->c2s_self_paused = false;
	conn_notify_drain(s->conn, SIZE_MAX);
	if (server_paused) {
		conn_read_enable(s->server->conn, true);
		relay_server_read(s);
		if (s->state != SESSION_ST_ACTIVE)
			return;
	}
	if (self_paused)
		resume_client(s);
}

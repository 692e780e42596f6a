/*
 * relay — the per-message path between a client and its upstream.
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
 * query, ReadyForQuery) is answered right here. Otherwise the upstream's own
 * state must change the way Postgres' would on an error — the transaction
 * becomes aborted, the pipeline skips to Sync — so a statement that cannot
 * parse (REFUSAL_MARKER) is sent in its place and the syntax error it earns
 * is replaced by the refusal's ErrorResponse on the way back.
 */
#include "proxy/relay.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "proxy/conn.h"
#include "proxy/log.h"
#include "proxy/refusals.h"
#include "proxy/server.h"
#include "proxy/session.h"
#include "proxy/worker.h"
#include "router/router.h"

/* Output above HIGH pauses the other side's reads until it drains below LOW. */
#define RELAY_HIGH_WATER (512u * 1024)
#define RELAY_LOW_WATER (128u * 1024)
/* Upstream messages we look inside (ParameterStatus, errors) are small; bigger ones just pass. */
#define RELAY_INSPECT_MAX (1u << 20)

/* Not valid SQL, and recognisable in the syntax error Postgres reports for it. */
#define REFUSAL_MARKER "switchyard_refused_statement"
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
	STEP_WAIT,     /* the rest has not arrived yet */
	STEP_STOP,     /* the session is closing: touch nothing more */
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

static bool send_to_server(struct session *s)
{
	struct pgmsg_writer *out = &s->w->out;

	return !out->failed && conn_write(s->server->conn, out->buf, out->len);
}

/* ---- refusals ---- */

void relay_forget_refusals(struct session *s)
{
	while (s->refusals != NULL) {
		struct session_refusal *r = s->refusals;
		s->refusals = r->next;
		free(r);
	}
	s->refusals_tail = &s->refusals;
}

/* Nothing in flight, no transaction open: a refusal can be answered here. */
static bool can_answer_locally(const struct session *s)
{
	return s->segments_sent == s->segments_done && !s->in_segment && s->txn_status == 'I' &&
	       s->s2c_pass == 0 && s->refusals == NULL && !s->sync_uncertain;
}

/* Copies the ErrorResponse in the worker's writer into the substitution queue. */
static bool queue_substitution(struct session *s, uint64_t segment)
{
	const struct pgmsg_writer *err = &s->w->out;
	struct session_refusal *r = malloc(sizeof(*r) + err->len);

	if (r == NULL || err->failed) {
		free(r);
		return false;
	}
	r->next = NULL;
	r->segment = segment;
	r->msg = (uint8_t *)(r + 1);
	r->len = err->len;
	memcpy(r->msg, err->buf, err->len);
	*s->refusals_tail = r;
	s->refusals_tail = &r->next;
	return true;
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
	router_route(s->w->router, sql, len, d);
	/* No MySQL backend exists yet: a legacy read can only be refused. */
	if (d->target == ROUTE_MYSQL) {
		d->target = ROUTE_REJECT;
		d->sqlstate = "0A000";
		d->message = "legacy tables are served by the MySQL backend, which is not configured";
		d->detail = NULL;
		d->hint = "Add a [mysql] section to proxy.toml, or read a migrated copy in Supabase.";
	}
#endif
}

static void build_refusal(struct session *s, const struct route_decision *d)
{
	struct pgmsg_writer *out = worker_writer(s->w);

	refusals_note(&s->w->proxy->refusals, s->w->id, s->id, d->fingerprint, d->table,
		      d->sqlstate, d->message, s->log_user, s->log_app);
	pgmsg_write_error(out, false, d->sqlstate, d->message, d->detail, d->hint);
}

/* Refuses the simple Query at pos; it is dropped, never forwarded. */
static enum step refuse_query(struct session *s, struct scan *sc, size_t total,
			      const struct route_decision *d)
{
	scan_drop(sc, total);
	build_refusal(s, d);
	if (can_answer_locally(s)) {
		pgmsg_write_ready(&s->w->out, 'I');
		return session_send_built(s) ? STEP_NEXT : STEP_STOP;
	}
	if (!queue_substitution(s, s->segments_sent + 1)) {
		session_close(s, "out of memory");
		return STEP_STOP;
	}
	pgmsg_write_query(worker_writer(s->w), REFUSAL_MARKER);
	s->segments_sent++;
	s->last_exec_extended = false;
	if (!send_to_server(s)) {
		session_close(s, "out of memory");
		return STEP_STOP;
	}
	return STEP_NEXT;
}

/* Refuses the Parse at pos; then, as Postgres does, drops messages until Sync. */
static enum step refuse_parse(struct session *s, struct scan *sc, size_t total,
			      const struct route_decision *d)
{
	scan_drop(sc, total);
	build_refusal(s, d);
	s->skip_to_sync = true;
	if (can_answer_locally(s)) {
		s->local_segment = true;
		return session_send_built(s) ? STEP_NEXT : STEP_STOP;
	}
	s->local_segment = false;
	if (!queue_substitution(s, s->segments_sent + 1)) {
		session_close(s, "out of memory");
		return STEP_STOP;
	}
	/* A named marker statement, so a failed Parse leaves the client's statements alone. */
	pgmsg_write_parse(worker_writer(s->w), REFUSAL_STMT_NAME, REFUSAL_MARKER);
	s->in_segment = true;
	if (!send_to_server(s)) {
		session_close(s, "out of memory");
		return STEP_STOP;
	}
	return STEP_NEXT;
}

/* ---- client to upstream ---- */

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

static enum step handle_query(struct session *s, struct scan *sc, size_t total, uint32_t blen)
{
	const char *sql;
	size_t len;
	struct route_decision d;
	enum step st = need_whole(s, sc, total, blen);

	if (st != STEP_NEXT)
		return st;
	const uint8_t *body = scan_body(sc, blen, s->w);
	if (body == NULL || !pgmsg_parse_query(body, blen, &sql, &len))
		return protocol_violation(s, "invalid Query message");
	route(s, sql, len, &d);
	if (d.target == ROUTE_REJECT)
		return refuse_query(s, sc, total, &d);
	s->segments_sent++;
	s->last_exec_extended = false;
	s->copy_done_sent = false;
	s->syncs_after_exec = 0;
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
	if (d.target == ROUTE_REJECT)
		return refuse_parse(s, sc, total, &d);
	s->in_segment = true;
	scan_take(sc, total);
	return STEP_NEXT;
}

static enum step handle_sync(struct session *s, struct scan *sc, size_t total)
{
	if (s->skip_to_sync) {
		s->skip_to_sync = false;
		if (s->local_segment) {
			/* The whole segment was refused here: so is its ReadyForQuery. */
			s->local_segment = false;
			s->in_segment = false;
			scan_drop(sc, total);
			pgmsg_write_ready(worker_writer(s->w), s->txn_status);
			return session_send_built(s) ? STEP_NEXT : STEP_STOP;
		}
	}
	s->execs_since_sync = 0;
	/* In COPY FROM STDIN the upstream ignores Sync: no ReadyForQuery will answer it. */
	if (!s->copy_in) {
		s->segments_sent++;
		if (!s->copy_done_sent)
			s->syncs_after_exec++;
	}
	s->in_segment = false;
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
	case 'E':
		s->last_exec_extended = true;
		s->copy_done_sent = false;
		s->syncs_after_exec = 0;
		s->exec_alone = ++s->execs_since_sync == 1;
		/* fall through */
	case 'B':
	case 'D':
	case 'C':
		s->in_segment = true;
		return scan_pass(sc, (size_t)total, &s->c2s_pass);
	case 'F':
		s->segments_sent++;
		return scan_pass(sc, (size_t)total, &s->c2s_pass);
	case 'c':
	case 'f':
		s->copy_in = false;
		s->copy_done_sent = true;
		return scan_pass(sc, (size_t)total, &s->c2s_pass);
	case 'H':
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
	if (s->c2s_paused || s->c2s_self_paused)
		return;
	conn_read_enable(s->conn, true);
	relay_client_read(s);
}

void relay_client_read(struct session *s)
{
	struct scan sc;
	enum step st = STEP_NEXT;

	if (s->state != SESSION_ST_ACTIVE || s->closing || s->c2s_paused || s->c2s_self_paused)
		return;
	struct evbuffer *in = s->conn->in;
	struct conn *out = s->server->conn;
	if (s->c2s_pass > 0 && !continue_pass(in, out, &s->c2s_pass, s->c2s_drop))
		goto done;
	s->c2s_drop = false;
	scan_start(&sc, in, out);
	while (st == STEP_NEXT)
		st = client_message(s, &sc);
	if (st == STEP_STOP)
		return;
	scan_flush(&sc);
	if (sc.failed) {
		session_close(s, "out of memory");
		return;
	}
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

static void on_ready(struct session *s, char status)
{
	s->txn_status = status;
	s->server->txn_status = status;
	if (s->segments_done < s->segments_sent)
		s->segments_done++;
	s->copy_in = false;
	/* A substitution whose segment is over was never needed: an earlier error skipped it. */
	while (s->refusals != NULL && s->refusals->segment <= s->segments_done) {
		struct session_refusal *r = s->refusals;
		s->refusals = r->next;
		free(r);
	}
	if (s->refusals == NULL)
		s->refusals_tail = &s->refusals;
}

/*
 * CopyInResponse: the upstream now ignores Sync until CopyDone/CopyFail. Syncs
 * the client pipelined behind the Execute that started the COPY (and before
 * its CopyDone) were read in that mode, so they will get no ReadyForQuery.
 */
static void on_copy_in(struct session *s)
{
	/*
	 * Exact only if the COPY's Execute is the last one and nothing else is
	 * outstanding: it was alone in its segment and every reply still due is
	 * one of the Syncs behind it (libpq's Parse/Bind/Execute/Sync). Anything
	 * else is left over-counted: that only costs local refusal answers and
	 * reuse of the upstream, while under-counting would let a stray
	 * ReadyForQuery reach the client. (Postgres ends the session with FATAL
	 * 08P01 on any non-COPY message during COPY FROM STDIN, so the inexact
	 * case rarely outlives its connection.)
	 */
	bool exact = s->last_exec_extended && s->exec_alone &&
		     s->segments_sent - s->segments_done == s->syncs_after_exec;
	if (exact)
		s->segments_sent -= s->syncs_after_exec;
	else if (s->last_exec_extended)
		s->sync_uncertain = true;
	s->syncs_after_exec = 0;
	s->copy_in = !s->copy_done_sent;
}

static bool is_marker_error(const uint8_t *body, uint32_t blen)
{
	struct pgmsg_error e;

	return pgmsg_parse_error(body, blen, &e) && strcmp(e.sqlstate, "42601") == 0 &&
	       strstr(e.message, REFUSAL_MARKER) != NULL;
}

/* An ErrorResponse: replaced by the pending refusal if it answers our marker. */
static enum step handle_server_error(struct session *s, struct scan *sc, size_t total,
				     uint32_t blen)
{
	struct session_refusal *r = s->refusals;

	s->copy_in = false;
	if (r == NULL || r->segment != s->segments_done + 1 || blen > RELAY_INSPECT_MAX)
		return scan_pass(sc, total, &s->s2c_pass);
	if (sc->avail - sc->off < total)
		return STEP_WAIT;
	const uint8_t *body = scan_body(sc, blen, s->w);
	if (body == NULL || !is_marker_error(body, blen)) {
		scan_take(sc, total);
		return STEP_NEXT;
	}
	scan_drop(sc, total);
	s->refusals = r->next;
	if (s->refusals == NULL)
		s->refusals_tail = &s->refusals;
	bool ok = conn_write(s->conn, r->msg, r->len);
	free(r);
	if (!ok) {
		session_close(s, "out of memory");
		return STEP_STOP;
	}
	return STEP_NEXT;
}

static enum step handle_param_status(struct session *s, struct scan *sc, size_t total,
				     uint32_t blen)
{
	const char *name, *value;

	if (blen > RELAY_INSPECT_MAX)
		return scan_pass(sc, total, &s->s2c_pass);
	if (sc->avail - sc->off < total)
		return STEP_WAIT;
	const uint8_t *body = scan_body(sc, blen, s->w);
	if (body != NULL && pgmsg_parse_param_status(body, blen, &name, &value))
		server_note_param(s->server, name, value);
	scan_take(sc, total);
	return STEP_NEXT;
}

static enum step upstream_garbage(struct session *s)
{
	session_detach_server(s, false);
	session_fatal(s, "08006", "invalid message from upstream", NULL);
	return STEP_STOP;
}

static enum step server_message(struct session *s, struct scan *sc)
{
	uint8_t type;
	uint32_t blen;
	ssize_t total = scan_header(sc, &type, &blen);
	char status;

	if (total == 0)
		return STEP_WAIT;
	if (total < 0)
		return upstream_garbage(s);
	switch (type) {
	case 'Z':
		if (blen != 1)
			return upstream_garbage(s);
		if (sc->avail - sc->off < (size_t)total)
			return STEP_WAIT;
		struct evbuffer_ptr at = sc->pos;
		evbuffer_ptr_set(sc->in, &at, PGMSG_HEADER_LEN, EVBUFFER_PTR_ADD);
		evbuffer_copyout_from(sc->in, &at, &status, 1);
		on_ready(s, status);
		scan_take(sc, (size_t)total);
		return STEP_NEXT;
	case 'S':
		return handle_param_status(s, sc, (size_t)total, blen);
	case 'E':
		return handle_server_error(s, sc, (size_t)total, blen);
	case 'G':
		on_copy_in(s);
		return scan_pass(sc, (size_t)total, &s->s2c_pass);
	default:
		return scan_pass(sc, (size_t)total, &s->s2c_pass);
	}
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
done:
	pause_server_if_backed_up(s);
}

void relay_client_drained(struct session *s)
{
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

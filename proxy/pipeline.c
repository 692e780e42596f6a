/*
 * pipeline — the request queue's bookkeeping (see pipeline.h).
 *
 * The entries live in a ring that doubles when full, so the per-message
 * path allocates nothing once a session has reached its usual pipeline
 * depth. The rules for placing upstream replies follow PostgresMain() in
 * postgres.c: after an error in an extended-protocol message everything up
 * to the next Sync is ignored (ignore_till_sync, which also swallows Query
 * and FunctionCall); COPY FROM STDIN reads Sync and Flush as nothing
 * (CopyGetData); a simple Query or FunctionCall ends with ReadyForQuery
 * whatever happened inside it.
 */
#include "proxy/pipeline.h"

#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {
	[PL_PARSE] = "parse",     [PL_BIND] = "bind",         [PL_DESCRIBE] = "describe",
	[PL_EXECUTE] = "execute", [PL_CLOSE] = "close",       [PL_SYNC] = "sync",
	[PL_FLUSH] = "flush",     [PL_QUERY] = "query",       [PL_FUNCTION] = "function",
	[PL_COPY_END] = "copy_end",
};

const char *pipeline_kind_name(enum pl_kind k)
{
	return (unsigned)k < PL_KIND_COUNT ? kind_names[k] : "?";
}

void pipeline_init(struct pipeline *q)
{
	memset(q, 0, sizeof(*q));
	q->txn = PL_TXN_IDLE;
}

static struct pl_entry *at(const struct pipeline *q, size_t i)
{
	return &q->ring[(q->head + i) & (q->cap - 1)];
}

void pipeline_free(struct pipeline *q)
{
	for (size_t i = 0; i < q->n; i++)
		free(at(q, i)->msg);
	free(q->ring);
	q->ring = NULL;
	q->cap = q->n = q->head = 0;
}

void pipeline_trim(struct pipeline *q)
{
	if (q->n == 0) {
		free(q->ring);
		q->ring = NULL;
		q->cap = q->head = 0;
	}
}

static bool grow(struct pipeline *q)
{
	size_t cap = q->cap ? q->cap * 2 : 8;
	struct pl_entry *ring = malloc(cap * sizeof(*ring));

	if (ring == NULL)
		return false;
	for (size_t i = 0; i < q->n; i++)
		ring[i] = *at(q, i);
	free(q->ring);
	q->ring = ring;
	q->cap = cap;
	q->head = 0;
	return true;
}

/* Flags an entry pushed now gets from what the upstream is known to be doing. */
static uint16_t push_flags(struct pipeline *q, enum pl_kind kind, uint16_t flags)
{
	if (kind == PL_FLUSH || kind == PL_COPY_END)
		flags |= PL_F_SILENT;
	if (kind == PL_COPY_END) {
		q->copy_in = false;
		return flags;
	}
	/* COPY FROM STDIN reads Sync and Flush as if they were not there. */
	if (q->copy_in && (kind == PL_SYNC || kind == PL_FLUSH))
		return flags | PL_F_SILENT;
	if (q->upstream_skipping) {
		if (kind != PL_SYNC)
			return flags | PL_F_SKIPPED | PL_F_SILENT;
		q->upstream_skipping = false; /* this Sync ends the skip */
	}
	return flags;
}

struct pl_entry *pipeline_push(struct pipeline *q, enum pl_kind kind, enum pl_producer producer,
			       uint16_t flags, uint8_t *msg, size_t len)
{
	if (q->n == q->cap && !grow(q)) {
		free(msg);
		return NULL;
	}
	struct pl_entry *e = at(q, q->n);
	memset(e, 0, sizeof(*e));
	e->kind = (uint8_t)kind;
	e->producer = (uint8_t)producer;
	e->flags = push_flags(q, kind, flags);
	if (kind == PL_SYNC) {
		q->in_segment = false;
		q->seg_upstream = false;
	} else if (kind != PL_QUERY && kind != PL_FUNCTION && kind != PL_COPY_END) {
		q->in_segment = true;
		if (producer == PL_UPSTREAM && kind != PL_FLUSH)
			q->seg_upstream = true;
	}
	e->msg = msg;
	e->len = len;
	q->n++;
	q->pushed++;
	return e;
}

struct pl_entry *pipeline_head(struct pipeline *q)
{
	return q->n ? at(q, 0) : NULL;
}

struct pl_entry *pipeline_tail(struct pipeline *q)
{
	return q->n ? at(q, q->n - 1) : NULL;
}

size_t pipeline_upstream_owed(const struct pipeline *q)
{
	size_t owed = 0;

	for (size_t i = 0; i < q->n; i++) {
		const struct pl_entry *e = at(q, i);
		owed += e->producer == PL_UPSTREAM && !(e->flags & PL_F_SILENT);
	}
	return owed;
}

static bool live_upstream(const struct pl_entry *e)
{
	return e->producer == PL_UPSTREAM && !(e->flags & PL_F_SILENT);
}

bool pipeline_head_is_upstream(const struct pipeline *q)
{
	return q->n > 0 && live_upstream(at(q, 0));
}

bool pipeline_head_has_subst(const struct pipeline *q)
{
	return pipeline_head_is_upstream(q) && at(q, 0)->msg != NULL;
}

void pipeline_set_txn(struct pipeline *q, enum pl_txn t)
{
	q->txn = t;
}

/* Removes the head into <out> (which then owns its bytes). */
static void retire(struct pipeline *q, struct pl_entry *out)
{
	*out = *at(q, 0);
	q->head = (q->head + 1) & (q->cap - 1);
	q->n--;
	q->retired++;
}

bool pipeline_pop_ready(struct pipeline *q, struct pl_entry *out, bool *local)
{
	if (q->n == 0)
		return false;
	const struct pl_entry *h = at(q, 0);
	if (h->flags & PL_F_SILENT) {
		*local = false;
		retire(q, out);
		return true;
	}
	if (h->producer != PL_LOCAL)
		return false;
	*local = true;
	retire(q, out);
	return true;
}

bool pipeline_pop_head(struct pipeline *q, struct pl_entry *out)
{
	if (q->n == 0)
		return false;
	retire(q, out);
	return true;
}

/*
 * An error in an extended-protocol message: the upstream now ignores every
 * message up to the next Sync it reads (one read as COPY data does not count).
 */
static void skip_segment(struct pipeline *q)
{
	for (size_t i = 1; i < q->n; i++) {
		struct pl_entry *e = at(q, i);
		if (e->kind == PL_SYNC && !(e->flags & PL_F_SILENT))
			return;
		e->flags |= PL_F_SKIPPED | PL_F_SILENT;
	}
	q->upstream_skipping = true;
}

/* COPY FROM STDIN began for the head: queued Syncs/Flushes up to CopyDone are data. */
static void start_copy_in(struct pipeline *q)
{
	at(q, 0)->flags |= PL_F_COPY;
	for (size_t i = 1; i < q->n; i++) {
		struct pl_entry *e = at(q, i);
		if (e->kind == PL_COPY_END)
			return;
		if (e->kind == PL_SYNC || e->kind == PL_FLUSH)
			e->flags |= PL_F_SILENT;
	}
	q->copy_in = true;
}

static enum pl_verdict relayed(struct pl_entry *h)
{
	if (h->flags & (PL_F_HIDE_OK | PL_F_HIDE_ALL))
		return PL_V_DROP;
	h->flags |= PL_F_REPLIED;
	return PL_V_PASS;
}

static void finish(struct pipeline *q, struct pl_result *out)
{
	uint8_t *subst = out->entry.msg;
	size_t len = out->entry.len;

	out->retired = true;
	retire(q, &out->entry);
	if (subst != NULL) {
		out->entry.msg = subst;
		out->entry.len = len;
	}
}

static bool valid_status(char c)
{
	return c == PL_TXN_IDLE || c == PL_TXN_BLOCK || c == PL_TXN_FAILED;
}

static void on_error(struct pipeline *q, const struct pl_reply *r, struct pl_result *out)
{
	struct pl_entry *h = at(q, 0);

	q->copy_in = false;
	if (h->msg != NULL && r->marker_error) {
		out->verdict = PL_V_SUBST;
		out->entry.msg = h->msg;
		out->entry.len = h->len;
		h->msg = NULL;
	} else
		out->verdict = (h->flags & PL_F_HIDE_ALL) ? PL_V_DROP : PL_V_PASS;
	h->flags |= PL_F_ERRORED;
	if (h->kind == PL_QUERY || h->kind == PL_FUNCTION || h->kind == PL_SYNC)
		return; /* ReadyForQuery still follows */
	skip_segment(q);
	finish(q, out);
}

/* Types that answer the head entry of the given kinds, and whether they retire it. */
static bool fits(enum pl_kind k, uint8_t type, bool *ends)
{
	*ends = false;
	switch (type) {
	case '1': *ends = true; return k == PL_PARSE;
	case '2': *ends = true; return k == PL_BIND;
	case '3': *ends = true; return k == PL_CLOSE;
	case 't': return k == PL_DESCRIBE;
	case 'n': *ends = true; return k == PL_DESCRIBE;
	case 'T':
		*ends = k == PL_DESCRIBE;
		return k == PL_DESCRIBE || k == PL_QUERY;
	case 'D': case 'G': case 'H': case 'W': case 'd': case 'c':
		return k == PL_EXECUTE || k == PL_QUERY;
	case 'C': case 'I':
		*ends = k == PL_EXECUTE;
		return k == PL_EXECUTE || k == PL_QUERY;
	case 's': *ends = true; return k == PL_EXECUTE;
	case 'V': return k == PL_FUNCTION;
	case 'Z': *ends = true; return k == PL_QUERY || k == PL_FUNCTION || k == PL_SYNC;
	default: return false;
	}
}

void pipeline_upstream(struct pipeline *q, const struct pl_reply *r, struct pl_result *out)
{
	bool ends;

	memset(out, 0, sizeof(*out));
	/*
	 * A FATAL ends the connection whatever was asked (an administrator's
	 * pg_terminate_backend, lost protocol sync): the client gets it as it is.
	 */
	if (r->type == 'E' && r->fatal) {
		out->verdict = PL_V_PASS;
		return;
	}
	/* Notices, notifications and parameter changes can come at any time. */
	if (r->type == 'N' || r->type == 'A' || r->type == 'S') {
		bool hidden = q->n > 0 && (at(q, 0)->flags & PL_F_HIDE_ALL) && live_upstream(at(q, 0));
		out->verdict = hidden ? PL_V_DROP : PL_V_PASS;
		return;
	}
	if (!pipeline_head_is_upstream(q)) {
		out->verdict = PL_V_DESYNC;
		return;
	}
	struct pl_entry *h = at(q, 0);
	if (r->type == 'E') {
		on_error(q, r, out);
		return;
	}
	if (!fits((enum pl_kind)h->kind, r->type, &ends) || (r->type == 'Z' && !valid_status(r->status))) {
		out->verdict = PL_V_DESYNC;
		return;
	}
	if (r->type == 'G')
		start_copy_in(q);
	else if (r->type == 'C' || r->type == 'I')
		q->copy_in = false;
	out->verdict = relayed(h);
	if (r->type == 'Z') {
		pipeline_set_txn(q, (enum pl_txn)r->status);
		q->copy_in = false;
		q->upstream_skipping = false;
		if (h->flags & (PL_F_HIDE_ALL | PL_F_HIDE_Z))
			out->verdict = PL_V_DROP;
	}
	if (ends)
		finish(q, out);
}

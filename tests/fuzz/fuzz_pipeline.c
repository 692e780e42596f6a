/*
 * fuzz_pipeline — random interleavings of client messages and upstream
 * replies fed to the request queue (pure, no sockets). Each input byte is
 * one event: the low bit picks a side, the rest the message. Whatever the
 * order, entries must retire strictly first-in first-out, the counts must
 * add up, and nothing may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/pipeline.h"

static const uint8_t reply_types[] = { '1', '2', '3', 't', 'T', 'n', 'D', 'C', 'I', 's', 'G',
				       'H', 'd', 'c', 'V', 'E', 'Z', 'N', 'A', 'S', 'K', 'x' };
static const char statuses[] = { 'I', 'T', 'E', '?' };

struct order {
	uint64_t next_push;
	uint64_t next_retire;
};

static void retired_one(const struct pl_entry *e, struct order *o)
{
	uint64_t seq = (uint64_t)(uintptr_t)e->effect.arg;

	if (seq != o->next_retire)
		abort(); /* out of order */
	o->next_retire++;
}

static void drain_ready(struct pipeline *q, struct order *o)
{
	struct pl_entry e;
	bool local;

	while (pipeline_pop_ready(q, &e, &local)) {
		retired_one(&e, o);
		free(e.msg);
	}
}

/* A MySQL answer at the head finished (the relay's relay_local_done). */
static void mysql_done(struct pipeline *q, struct order *o)
{
	struct pl_entry *h = pipeline_head(q);
	struct pl_entry e;

	if (h == NULL || h->producer != PL_MYSQL)
		return;
	if (!pipeline_pop_head(q, &e))
		abort();
	retired_one(&e, o);
	free(e.msg);
}

static void client_event(struct pipeline *q, uint8_t b, struct order *o)
{
	enum pl_kind kind = (enum pl_kind)((b >> 1) % PL_KIND_COUNT);
	enum pl_producer producer = (b & 0x80) ? ((b & 0x08) ? PL_MYSQL : PL_LOCAL) : PL_UPSTREAM;
	uint16_t flags = (b & 0x40) ? PL_F_HIDE_OK : (b & 0x20) ? PL_F_HIDE_ALL
			 : (b & 0x04) ? PL_F_HIDE_Z : 0;
	uint8_t *msg = NULL;

	if (b & 0x10) {
		msg = malloc(3);
		if (msg != NULL)
			memcpy(msg, "err", 3);
	}
	struct pl_entry *e = pipeline_push(q, kind, producer, flags, msg, msg ? 3 : 0);
	if (e == NULL)
		return;
	e->effect.arg = (void *)(uintptr_t)o->next_push++;
}

static void upstream_event(struct pipeline *q, uint8_t b, struct order *o)
{
	struct pl_reply r = { .type = reply_types[(b >> 1) % sizeof(reply_types)] };
	struct pl_result res;

	r.status = statuses[(b >> 6) & 3];
	r.marker_error = (b & 0x40) != 0;
	r.fatal = r.type == 'E' && (b & 0x80) && (b & 0x20);
	drain_ready(q, o);
	pipeline_upstream(q, &r, &res);
	if (res.retired)
		retired_one(&res.entry, o);
	else if (res.entry.msg != NULL && res.verdict != PL_V_SUBST)
		abort(); /* bytes handed over without a reason */
	free(res.entry.msg);
	if (res.verdict == PL_V_SUBST && !r.marker_error)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pipeline q;
	struct order o = { 0, 0 };

	pipeline_init(&q);
	for (size_t i = 0; i < size; i++) {
		if (data[i] == 0xfe)
			mysql_done(&q, &o);
		else if (data[i] & 1)
			upstream_event(&q, data[i], &o);
		else
			client_event(&q, data[i], &o);
		drain_ready(&q, &o);
		if (q.n != o.next_push - o.next_retire || q.pushed - q.retired != q.n)
			abort();
	}
	pipeline_free(&q);
	return 0;
}

/*
 * refusals — per-table refusal counters and once-per-shape logging.
 */
#include "proxy/refusals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/log.h"

#define SHAPE_SLOTS (REFUSALS_MAX_SHAPES * 2) /* load factor <= 0.5 */

bool refusals_init(struct refusals *r)
{
	memset(r, 0, sizeof(*r));
	r->shapes = calloc(SHAPE_SLOTS, sizeof(uint64_t));
	if (r->shapes == NULL)
		return false;
	pthread_mutex_init(&r->lock, NULL);
	return true;
}

void refusals_destroy(struct refusals *r)
{
	if (r->shapes == NULL)
		return;
	free(r->shapes);
	r->shapes = NULL;
	pthread_mutex_destroy(&r->lock);
}

/* FNV-1a over a string, continuing from <h>. */
static uint64_t mix(uint64_t h, const char *s)
{
	for (; s && *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	h ^= 0xff; /* separator, so ("ab","c") != ("a","bc") */
	h *= 0x100000001b3ULL;
	return h;
}

/* Adds <h> to the set; true if it was not there. Called with the lock held. */
static bool shape_is_new(struct refusals *r, uint64_t h)
{
	if (h == 0)
		h = 1;
	if (r->nshapes >= REFUSALS_MAX_SHAPES)
		return true; /* full: better to log too much than to go quiet */
	for (size_t i = h % SHAPE_SLOTS;; i = (i + 1) % SHAPE_SLOTS) {
		if (r->shapes[i] == h)
			return false;
		if (r->shapes[i] == 0) {
			r->shapes[i] = h;
			r->nshapes++;
			return true;
		}
	}
}

static void count(struct refusals *r, const char *table, const char *sqlstate)
{
	const char *t = table ? table : "";

	r->total++;
	for (size_t i = 0; i < r->ncounts; i++) {
		if (strcmp(r->counts[i].table, t) == 0 && strcmp(r->counts[i].sqlstate, sqlstate) == 0) {
			r->counts[i].count++;
			return;
		}
	}
	if (r->ncounts == REFUSALS_MAX_TABLES)
		return;
	struct refusal_count *c = &r->counts[r->ncounts++];
	snprintf(c->table, sizeof(c->table), "%s", t);
	snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", sqlstate);
	c->count = 1;
}

void refusals_note(struct refusals *r, int worker, int64_t session, uint64_t fingerprint,
		   const char *table, const char *sqlstate, const char *message, const char *user,
		   const char *app)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ fingerprint;

	h = mix(mix(mix(h, user), app), table);
	pthread_mutex_lock(&r->lock);
	count(r, table, sqlstate);
	bool fresh = shape_is_new(r, h);
	pthread_mutex_unlock(&r->lock);
	if (!fresh)
		return;
	char q_msg[300], q_table[96];
	log_warn(worker, session, "statement refused",
		 "sqlstate=%s table=%s fingerprint=%016llx user=%s app=%s reason=%s", sqlstate,
		 log_quote(q_table, sizeof(q_table), table ? table : "-"),
		 (unsigned long long)fingerprint, user, app,
		 log_quote(q_msg, sizeof(q_msg), message));
	/* user and app arrive already quoted by the session. */
}

size_t refusals_snapshot(struct refusals *r, struct refusal_count *out, size_t max)
{
	pthread_mutex_lock(&r->lock);
	size_t n = r->ncounts < max ? r->ncounts : max;
	memcpy(out, r->counts, n * sizeof(*out));
	pthread_mutex_unlock(&r->lock);
	return n;
}

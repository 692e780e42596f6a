/*
 * stmts — the client statement table and the per-connection prepared
 * statement cache (see stmts.h). Both are chained hash tables that double
 * when they hold as many entries as buckets.
 */
#include "proxy/stmts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t stmts_hash(const uint8_t *body, size_t len)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++) {
		h ^= body[i];
		h *= 1099511628211ull;
	}
	return h;
}

static uint64_t name_hash(const char *name)
{
	return stmts_hash((const uint8_t *)name, strlen(name));
}

/* Grows <*buckets> to twice its size and rehashes with <key>(entry); false on OOM. */
#define REHASH(type, t, key)                                                               \
	do {                                                                               \
		size_t nb = (t)->nbuckets ? (t)->nbuckets * 2 : 16;                        \
		type **b = calloc(nb, sizeof(*b));                                         \
		if (b == NULL)                                                             \
			return false;                                                      \
		for (size_t i = 0; i < (t)->nbuckets; i++) {                               \
			type *e = (t)->buckets[i];                                         \
			while (e != NULL) {                                                \
				type *next = e->next;                                      \
				size_t at = (size_t)(key(e)) & (nb - 1);                   \
				e->next = b[at];                                           \
				b[at] = e;                                                 \
				e = next;                                                  \
			}                                                                  \
		}                                                                          \
		free((t)->buckets);                                                        \
		(t)->buckets = b;                                                          \
		(t)->nbuckets = nb;                                                        \
	} while (0)

/* ---- client statements ---- */

#define CLIENT_KEY(e) name_hash((e)->name)

static bool table_grow(struct stmt_table *t)
{
	REHASH(struct client_stmt, t, CLIENT_KEY);
	return true;
}

void client_stmt_free(struct client_stmt *st)
{
	if (st == NULL)
		return;
	free(st->name);
	free(st->body);
	free(st);
}

void stmt_table_free(struct stmt_table *t)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct client_stmt *e = t->buckets[i];
		while (e != NULL) {
			struct client_stmt *next = e->next;
			client_stmt_free(e);
			e = next;
		}
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

struct client_stmt *stmt_table_find(const struct stmt_table *t, const char *name)
{
	if (t->nbuckets == 0)
		return NULL;
	for (struct client_stmt *e = t->buckets[name_hash(name) & (t->nbuckets - 1)]; e; e = e->next)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

bool stmt_table_relink(struct stmt_table *t, struct client_stmt *st)
{
	if (stmt_table_find(t, st->name) != NULL)
		return false;
	if (t->n >= t->nbuckets && !table_grow(t))
		return false;
	size_t at = name_hash(st->name) & (t->nbuckets - 1);
	st->next = t->buckets[at];
	t->buckets[at] = st;
	t->n++;
	return true;
}

struct client_stmt *client_stmt_new(const char *name, const uint8_t *body, size_t len)
{
	struct client_stmt *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	st->name = strdup(name);
	st->body = malloc(len ? len : 1);
	if (st->name == NULL || st->body == NULL) {
		client_stmt_free(st);
		return NULL;
	}
	memcpy(st->body, body, len);
	st->len = len;
	st->hash = stmts_hash(body, len);
	return st;
}

struct client_stmt *stmt_table_add(struct stmt_table *t, const char *name, const uint8_t *body,
				   size_t len)
{
	struct client_stmt *st = client_stmt_new(name, body, len);

	if (st == NULL)
		return NULL;
	if (!stmt_table_relink(t, st)) {
		client_stmt_free(st);
		return NULL;
	}
	return st;
}

void stmt_table_unlink(struct stmt_table *t, struct client_stmt *st)
{
	struct client_stmt **p = &t->buckets[name_hash(st->name) & (t->nbuckets - 1)];

	for (; *p != NULL; p = &(*p)->next) {
		if (*p == st) {
			*p = st->next;
			st->next = NULL;
			t->n--;
			return;
		}
	}
}

/* ---- per-connection cache ---- */

#define SERVER_KEY(e) ((e)->hash)

static bool cache_grow(struct server_stmts *c)
{
	REHASH(struct server_stmt, c, SERVER_KEY);
	return true;
}

static void server_stmt_free(struct server_stmt *ss)
{
	free(ss->body);
	free(ss);
}

void server_stmts_clear(struct server_stmts *c)
{
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct server_stmt *e = c->buckets[i];
		while (e != NULL) {
			struct server_stmt *next = e->next;
			server_stmt_free(e);
			e = next;
		}
		c->buckets[i] = NULL;
	}
	c->n = 0;
}

void server_stmts_free(struct server_stmts *c)
{
	server_stmts_clear(c);
	free(c->buckets);
	memset(c, 0, sizeof(*c));
}

struct server_stmt *server_stmts_find(struct server_stmts *c, uint64_t hash, const uint8_t *body,
				      size_t len)
{
	if (c->nbuckets == 0)
		return NULL;
	for (struct server_stmt *e = c->buckets[hash & (c->nbuckets - 1)]; e; e = e->next) {
		if (e->hash == hash && e->len == len && memcmp(e->body, body, len) == 0) {
			e->used = ++c->clock;
			return e;
		}
	}
	return NULL;
}

struct server_stmt *server_stmts_add(struct server_stmts *c, uint64_t hash, const uint8_t *body,
				     size_t len)
{
	if (c->n >= c->nbuckets && !cache_grow(c))
		return NULL;
	struct server_stmt *ss = calloc(1, sizeof(*ss));
	if (ss == NULL || (ss->body = malloc(len ? len : 1)) == NULL) {
		free(ss);
		return NULL;
	}
	memcpy(ss->body, body, len);
	ss->len = len;
	ss->hash = hash;
	ss->id = c->next_id++;
	ss->used = ++c->clock;
	size_t at = hash & (c->nbuckets - 1);
	ss->next = c->buckets[at];
	c->buckets[at] = ss;
	c->n++;
	return ss;
}

struct server_stmt *server_stmts_oldest(const struct server_stmts *c)
{
	struct server_stmt *oldest = NULL;

	for (size_t i = 0; i < c->nbuckets; i++)
		for (struct server_stmt *e = c->buckets[i]; e; e = e->next)
			if (oldest == NULL || e->used < oldest->used)
				oldest = e;
	return oldest;
}

void server_stmts_remove(struct server_stmts *c, struct server_stmt *ss)
{
	struct server_stmt **p = &c->buckets[ss->hash & (c->nbuckets - 1)];

	for (; *p != NULL; p = &(*p)->next) {
		if (*p == ss) {
			*p = ss->next;
			c->n--;
			server_stmt_free(ss);
			return;
		}
	}
}

void server_stmt_name(const struct server_stmt *ss, char *out)
{
	snprintf(out, STMTS_NAME_MAX, "sy_%u", ss->id);
}

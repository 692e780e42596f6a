/*
 * stmts — prepared statements under transaction pooling.
 *
 * A client's protocol-level statements (Parse with a name) belong to the
 * client, not to whichever upstream connection it holds right now. The
 * client's table keeps each statement's Parse body (query text and
 * parameter types); each upstream connection keeps a bounded cache of the
 * bodies it has prepared, under names switchyard makes ("sy_<n>"), shared by
 * every client that sends the same text. A Bind or Describe of a client
 * statement is rewritten to the connection's name, preparing it there first
 * if the connection has not seen that body yet.
 *
 * Pure data structures: no I/O, no libevent.
 */
#ifndef SY_STMTS_H
#define SY_STMTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One client statement. */
struct client_stmt {
	struct client_stmt *next; /* hash chain */
	char *name;               /* the client's name, never "" */
	uint8_t *body;            /* Parse body after the name: query\0 int16 n int32[n] */
	size_t len;
	uint64_t hash;            /* of body */
	bool is_set;              /* its query is only SETs a replay can carry (body is the text) */
};

struct stmt_table {
	struct client_stmt **buckets;
	size_t nbuckets; /* power of two, or 0 */
	size_t n;
};

/* FNV-1a over a Parse body: the key both tables agree on. */
uint64_t stmts_hash(const uint8_t *body, size_t len);

void stmt_table_free(struct stmt_table *t);
struct client_stmt *stmt_table_find(const struct stmt_table *t, const char *name);
/*
 * Adds a statement (copies name and body); NULL on OOM or when the name is
 * taken (check with stmt_table_find first).
 */
struct client_stmt *stmt_table_add(struct stmt_table *t, const char *name, const uint8_t *body,
				   size_t len) __attribute__((warn_unused_result));
/* Unlinks <st> (the caller frees it with client_stmt_free, or re-adds it). */
void stmt_table_unlink(struct stmt_table *t, struct client_stmt *st);
/* Links a statement unlinked before; false if its name was taken since. */
bool stmt_table_relink(struct stmt_table *t, struct client_stmt *st)
	__attribute__((warn_unused_result));
/* A statement outside any table (the unnamed one); NULL on OOM. */
struct client_stmt *client_stmt_new(const char *name, const uint8_t *body, size_t len)
	__attribute__((warn_unused_result));
void client_stmt_free(struct client_stmt *st);

/* One body an upstream connection has prepared, as "sy_<id>". */
struct server_stmt {
	struct server_stmt *next; /* hash chain */
	uint64_t hash;
	uint8_t *body;
	size_t len;
	uint32_t id;
	uint64_t used;            /* clock of the last use, for eviction */
};

struct server_stmts {
	struct server_stmt **buckets;
	size_t nbuckets;
	size_t n;
	uint32_t next_id;
	uint64_t clock;
};

/* Most statements one upstream connection keeps prepared. */
#define STMTS_SERVER_MAX 256
/* "sy_" + a 32-bit number + NUL. */
#define STMTS_NAME_MAX 16

void server_stmts_free(struct server_stmts *c);
/* Forgets everything (the connection ran DISCARD ALL or DEALLOCATE ALL). */
void server_stmts_clear(struct server_stmts *c);
/* The entry for <body>, marked used; NULL if the connection has not prepared it. */
struct server_stmt *server_stmts_find(struct server_stmts *c, uint64_t hash, const uint8_t *body,
				      size_t len);
/* Adds <body> (copied) under a new id; NULL on OOM. The caller evicts first when full. */
struct server_stmt *server_stmts_add(struct server_stmts *c, uint64_t hash, const uint8_t *body,
				     size_t len) __attribute__((warn_unused_result));
/* The least recently used entry (to close before adding past STMTS_SERVER_MAX). */
struct server_stmt *server_stmts_oldest(const struct server_stmts *c);
void server_stmts_remove(struct server_stmts *c, struct server_stmt *ss);
/* Writes "sy_<id>" into <out> (STMTS_NAME_MAX bytes). */
void server_stmt_name(const struct server_stmt *ss, char *out);

#endif

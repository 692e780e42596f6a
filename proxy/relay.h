/*
 * relay — moving Postgres messages between a linked client and upstream.
 *
 * Client to upstream: every message is framed; Query and Parse are routed
 * (router/) before they are forwarded, refused statements are answered with
 * an ErrorResponse and never sent; everything else streams through. Upstream
 * to client: messages stream through, while ReadyForQuery, ParameterStatus,
 * CopyInResponse and ErrorResponse are looked at to keep the session's
 * protocol state (transaction status, outstanding syncs, COPY).
 */
#ifndef SY_RELAY_H
#define SY_RELAY_H

#include <stdbool.h>

struct session;

/*
 * Transaction pooling: link_again prepares a new upstream for the client
 * (replays its SETs) — false if the session closed; release_if_idle gives the
 * upstream back when the client is between transactions and not pinned.
 */
bool relay_link_again(struct session *s) __attribute__((warn_unused_result));
void relay_release_if_idle(struct session *s);
/* Held client input goes on (called back by legacy_defer_resume). */
void relay_resume_client(struct session *s);
/* The MySQL work at the head of the queue ended (legacy.c): the queue moves on. */
void relay_local_done(struct session *s);
/* Frees what the queue still holds (the session is being freed). */
void relay_session_free(struct session *s);

/* Client bytes arrived (or were already buffered when the link formed). */
void relay_client_read(struct session *s);
/* Upstream bytes arrived. */
void relay_server_read(struct session *s);
/* The client's output drained: resume reading the upstream if paused. */
void relay_client_drained(struct session *s);
/* The upstream's output drained: resume reading the client if paused. */
void relay_server_drained(struct session *s);

#endif

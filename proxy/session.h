/*
 * session — one client connection: startup (SSLRequest, GSSENCRequest,
 * CancelRequest, StartupMessage), authentication against [[users]], waiting
 * for an upstream, then relaying (relay.c) until the client leaves.
 *
 * Lifecycle: session_new() on accept; session_close() is the one way out —
 * it moves the session to its worker's doomed list, and the memory is freed
 * after the current callback returns, never inside it.
 */
#ifndef SY_SESSION_H
#define SY_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proxy/list.h"
#include "proxy/pipeline.h"
#include "proxy/stmts.h"
#include <sys/socket.h>

struct worker;
struct server;
struct conn;
struct event;
struct scram_server;
struct legacy_state;
struct shadow_req;
struct relay_script;

enum session_state {
	SESSION_ST_STARTUP = 0, /* waiting for the first packet (or the one after SSLRequest) */
	SESSION_ST_TLS,         /* TLS handshake after SSLRequest */
	SESSION_ST_AUTH,        /* password / SASL exchange with the client */
	SESSION_ST_WAIT_SERVER, /* authenticated; the pool is finding an upstream */
	SESSION_ST_ACTIVE,      /* linked to an upstream, relaying */
	SESSION_ST_IDLE,        /* transaction pooling: between transactions, no upstream */
	SESSION_ST_CLOSED,      /* on the doomed list; freed after the current callback */
};

/* Which of its worker's session clocks (worker.h) a session waits on. */
enum session_clock_kind {
	SESSION_CLOCK_NONE = 0, /* no deadline */
	SESSION_CLOCK_LOGIN,    /* login_timeout_ms from connect, until authenticated */
	SESSION_CLOCK_FLUSH,    /* FATAL_FLUSH_MS to write a FATAL, then closed anyway */
	SESSION_CLOCK_IDLE,     /* IDLE_TRIM_MS between transactions, then its empty buffers go */
};

/*
 * Thousands of these sit idle, so the fields are ordered to leave no holes
 * (8-byte fields, then 4-byte, then the flags) and what only one phase needs
 * is allocated for that phase, or not at all.
 */
struct session {
	int64_t id;
	struct worker *w;
	TAILQ_ENTRY(session) link;      /* worker sessions or doomed */
	TAILQ_ENTRY(session) wait_link; /* pool waiters while WAIT_SERVER */
	int64_t wait_since_ms;          /* monotonic ms when it joined the pool's wait queue */
	TAILQ_ENTRY(session) clock_link; /* on a worker clock while <clock> is not NONE */
	int64_t deadline_ms;            /* ...and when it runs out (monotonic ms) */

	struct conn *conn;
	char *close_reason;       /* why, for the log line of that close (owned, may be NULL) */
	char *addr;               /* the client's address for logs (owned) */

	/*
	 * From the StartupMessage: one allocation, owned, starting at
	 * <param_names> (NULL before the startup packet). Everything else points
	 * into it; session_user() and session_database() find those two.
	 */
	char **param_names;  /* passed to the upstream: everything but user/database */
	char **param_values;
	const char *pool_key; /* the upstream login and role, then the sorted "name=value\n"
				 list, see pool.h */
	/* Who the client is on Supabase ([[users]] upstream_*, else [supabase] user). */
	const char *up_user;
	const char *up_password;
	const char *up_role;  /* "" when the login's own role */
	const char *log_user; /* user and application_name quoted for logfmt, so a client */
	const char *log_app;  /* cannot forge log fields */

	/* Authentication. */
	struct scram_server *scram;

	struct server *server;
	struct server *opening; /* an upstream being opened for this session, not linked yet */
	struct event *timer; /* pool wait deadline */

	/* Transaction pooling (pool_mode = "transaction"). */
	struct stmt_table stmts;    /* the client's named prepared statements */
	struct client_stmt *unnamed; /* the client's unnamed statement (name ""), or NULL */
	char *sets;             /* SET/RESET texts run outside transactions, "; "-joined */
	size_t sets_len;
	char *set_portal;       /* portal bound from a SET statement (extended protocol), or NULL */
	char *set_portal_sql;   /* ...and that SET's text, remembered when the portal runs */

	/*
	 * The cutover (relay.c): the sides this transaction fixed per legacy
	 * table (bit i = table i), the legacy tables behind the unnamed statement
	 * and portal (for accounting their Executes), and every named legacy
	 * read's Parse body, so that each Bind can take the side in force.
	 */
	uint64_t cut_fixed, cut_supabase;
	uint64_t cut_unnamed;   /* legacy tables of the unnamed statement, when MySQL's */
	uint64_t cut_pending;   /* a legacy read's tables, accounted at the segment's Execute */
	uint8_t cut_pending_side; /* enum cutover_side */
	int64_t cut_pending_us; /* when its Parse or Bind came */
	struct stmt_table cut_stmts;
	/*
	 * Shadow reads (shadow.h): the request of a sampled read until its
	 * Execute's entry takes it, and — while shadow_percent > 0 — the
	 * unnamed legacy Parse's body after its name (text, types), its tables
	 * and fingerprint, for a Bind of it to build a request from.
	 */
	struct shadow_req *shadow_pending;
	uint8_t *shadow_unnamed;
	size_t shadow_unnamed_len;
	uint64_t shadow_unnamed_tables, shadow_unnamed_fp;

	/* Legacy reads answered from MySQL (legacy.c); NULL until the first. */
	struct legacy_state *legacy;
	struct relay_script *script; /* a multi-statement Query run statement by statement */

	/* Relay state (relay.c). */
	struct pipeline q;      /* every client message still owed a reply, in order */
	size_t c2s_pass;        /* bytes of the current client message still to stream */
	size_t s2c_pass;        /* bytes of the current server message still to stream */

	enum session_state state;
	uint32_t nparams;
	uint8_t md5_salt[4];
	int32_t cancel_pid;     /* the BackendKeyData the client got: upstream pid (session */
	int32_t cancel_secret;  /* pooling) or switchyard's own (transaction pooling) */
	uint32_t unnamed_gen;   /* bumped by every unnamed Parse */
	uint32_t seg_no;        /* client Queries and Syncs queued so far (pl_entry.seg) */
	uint32_t set_gen;       /* bumped by every remembered SET */
	uint8_t auth_step;
	uint8_t clock;          /* enum session_clock_kind */

	bool waiting;
	bool user_slot;       /* took a [[users]] pool_size slot the next server_connect carries */
	bool user_capped;     /* its wait is for its [[users]] pool_size, not [supabase]'s */
	bool tls;
	bool ssl_asked;           /* SSLRequest seen (allowed once) */
	bool gss_asked;           /* GSSENCRequest seen (allowed once) */
	bool closing;             /* a FATAL is being flushed; close when written */
	bool user_known;     /* false: mock exchange, always fails like Postgres */
	bool cancel_registered;
	bool txn_pool;          /* fixed at login: the upstream is held only for transactions */
	bool welcomed;          /* the client has had its ParameterStatus/BackendKeyData */
	bool pinned;            /* state that cannot move: keeps its upstream until it leaves */
	bool c2s_drop;          /* the c2s_pass bytes are dropped (skipping to Sync), not forwarded */
	bool c2s_paused;        /* client reads off while the upstream's output drains */
	bool c2s_self_paused;   /* client reads off while its own output drains */
	bool s2c_paused;        /* upstream reads off while the client's output drains */
	bool skip_to_sync;      /* after a refused Parse: drop client messages until Sync */
	bool skip_local;        /* ...and answer that Sync here: nothing of the segment went up */
	bool upstream_fatal;    /* the upstream sent a FATAL: relay it, then close, add nothing */
	bool legacy_hold;       /* a MySQL answer is under way: later client messages wait */
	bool legacy_seg;        /* legacy messages were answered here since the last Sync */
};

/* The StartupMessage's user and database (the user's name if none was given); "" before it. */
const char *session_user(const struct session *s);
const char *session_database(const struct session *s);

/*
 * The worker's session clocks (login_timeout_ms, FATAL flush, idle trim),
 * each one timer for all its sessions. init: false on OOM; free: after every session
 * of the worker is freed.
 */
bool session_clocks_init(struct worker *w) __attribute__((warn_unused_result));
void session_clocks_free(struct worker *w);

/* Takes ownership of <fd>. Returns NULL (fd closed) on failure. */
struct session *session_new(struct worker *w, int fd, const struct sockaddr *addr,
			    int addrlen) __attribute__((warn_unused_result));

/* The one way out: logs <reason>, releases the upstream, frees later. */
void session_close(struct session *s, const char *reason);
/* Sends a FATAL ErrorResponse and closes once it is flushed. */
void session_fatal(struct session *s, const char *sqlstate, const char *message,
		   const char *detail);
/* Frees a closed session (called by the worker's reaper). */
void session_free(struct session *s);

/*
 * Authentication succeeded: an upstream is requested, or (transaction pooling,
 * when a connection with the same startup parameters is open on this worker)
 * the client is welcomed with that connection's parameters and waits IDLE.
 */
void session_authenticated(struct session *s);

/* Called by the pool/server when an upstream is ready for <s> or cannot be had. */
void session_server_ready(struct session *s, struct server *srv);
void session_server_failed(struct session *s, const char *sqlstate, const char *message,
			   const char *detail);

/*
 * Unlinks the session's upstream and gives it to the pool, which reuses it
 * only if <reusable> and the session left it at a clean protocol boundary.
 */
void session_detach_server(struct session *s, bool reusable);

/*
 * Transaction pooling. need_upstream: the client sent something while IDLE;
 * an upstream is requested and the bytes wait. release_upstream: the
 * session is idle between transactions; its upstream goes back to the pool
 * as it is (no reset) and the session becomes IDLE.
 */
void session_need_upstream(struct session *s);
void session_release_upstream(struct session *s);

/* Sends bytes built in the worker's writer to the client; false if the writer failed. */
bool session_send_built(struct session *s) __attribute__((warn_unused_result));

/*
 * Idle: nothing owed in either direction (queue empty, no message half
 * relayed, no COPY, no transaction). The one question behind upstream reuse,
 * transaction pooling and SIGTERM drain.
 */
bool session_is_idle(const struct session *s);

/* Stops reading and closes once the output already queued is written (no message added). */
void session_close_after_flush(struct session *s, const char *reason);

/* Drain: close now if idle between transactions; true if it was closed. */
bool session_drain_if_idle(struct session *s);

bool session_set_state(struct session *s, enum session_state st);
const char *session_state_name(enum session_state st);

#endif

/*
 * conn — one non-blocking socket (plain or TLS) with an input and an output
 * evbuffer, driven by two libevent events.
 *
 * Why not bufferevents: a bufferevent never writes when asked to; it arms a
 * write event and writes on the next loop turn, which costs an epoll round
 * and two epoll_ctl calls per direction per request, and its socket reads
 * start with a FIONREAD ioctl. A proxy forwards one request and one reply per
 * transaction, so those are most of its system calls. conn writes at once and
 * arms the write event only when the kernel pushes back (as PgBouncer's sbuf
 * does), and reads with plain read()/SSL_read().
 *
 * Callbacks run from the event loop only, never from inside a conn_* call the
 * owner makes (failures found while writing are reported on the next turn).
 * The owner may call conn_close() from any callback; memory stays valid until
 * conn_free(), which the owner calls at a safe point.
 */
#ifndef SY_CONN_H
#define SY_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event_struct.h>
#include <openssl/ssl.h>

struct evbuffer;
struct event_base;
struct conn;

enum conn_state {
	CONN_ST_IDLE = 0,   /* no socket yet (or after conn_close) */
	CONN_ST_CONNECTING, /* TCP connect in flight */
	CONN_ST_HANDSHAKE,  /* TLS handshake in flight */
	CONN_ST_OPEN,       /* bytes flow */
	CONN_ST_CLOSED,     /* closed by the owner or after an error */
};

enum conn_event {
	CONN_EV_CONNECTED = 1u << 0, /* TCP connect or TLS handshake completed */
	CONN_EV_EOF = 1u << 1,       /* the peer closed */
	CONN_EV_ERROR = 1u << 2,     /* socket or TLS failure; see conn->error_text */
};

typedef void (*conn_data_cb)(struct conn *c, void *arg);
typedef void (*conn_event_cb)(struct conn *c, unsigned events, void *arg);

/*
 * A conn costs what an idle socket needs and little more: one embedded event
 * (reads), the input evbuffer, and 224 bytes with this struct's malloc
 * header. The write event, the output evbuffer and the error text exist only
 * once they are needed, so thousands of idle clients do not each carry them;
 * an owner whose connection goes idle gives the buffers back with
 * conn_trim(). (The event_base is the read event's; the small fields are
 * packed.)
 */
struct conn {
	enum conn_state state;
	int fd;
	SSL *ssl;
	struct evbuffer *in;     /* valid until conn_trim(), then NULL until bytes arrive: */
				 /* always valid in on_read; else see conn_in_pending() */
	struct evbuffer *out;    /* NULL until output must wait (plain: again once written); */
				 /* use conn_out_pending() for its length */
	/*
	 * "" until a failure, then why it failed; valid until the next
	 * conn_connect/conn_attach or conn_free (points at memory conn owns).
	 */
	const char *error_text;

	conn_data_cb on_read;   /* new bytes in <in> */
	conn_data_cb on_drain;  /* <out> shrank to drain_below after waiting on the kernel */
	conn_event_cb on_event;
	void *arg;
	struct event *wev;      /* allocated the first time the conn waits for writability */

	uint32_t drain_below;   /* UINT32_MAX: no on_drain (conn_notify_drain) */
	uint16_t tls_retry_len; /* OpenSSL wants a blocked SSL_write repeated with this length */
	bool rev_added : 1;
	bool wev_added : 1;
	bool want_read : 1;         /* the owner wants input (conn_read_enable) */
	bool failed : 1;            /* an error is waiting to be reported */
	bool tls_read_on_write : 1; /* SSL_read needs the socket writable first */
	bool tls_write_on_read : 1; /* SSL_write needs the socket readable first */
	bool corked : 1;            /* conn_cork: writes are queued until conn_uncork */
	struct event rev;       /* also holds the event_base the conn lives on */
};

/* A conn without a socket; NULL on OOM. Callbacks may be NULL. */
struct conn *conn_new(struct event_base *base, conn_data_cb on_read, conn_data_cb on_drain,
		      conn_event_cb on_event, void *arg) __attribute__((warn_unused_result));
/* Closes if needed and frees everything. conn_free(NULL) is a no-op. */
void conn_free(struct conn *c);

/* Takes ownership of a connected non-blocking socket: state OPEN. */
bool conn_attach(struct conn *c, int fd) __attribute__((warn_unused_result));
/*
 * Starts a non-blocking connect to <sa>; CONN_EV_CONNECTED or CONN_EV_ERROR
 * follows from the loop. False (errno set, nothing to close) if it cannot start.
 */
bool conn_connect(struct conn *c, const struct sockaddr *sa, socklen_t len)
	__attribute__((warn_unused_result));
/*
 * Starts TLS on the open socket; takes ownership of <ssl>. CONN_EV_CONNECTED
 * follows when the handshake is done, CONN_EV_ERROR if it fails.
 */
bool conn_start_tls(struct conn *c, SSL *ssl, bool accepting) __attribute__((warn_unused_result));
/* Closes the socket (and TLS); buffered output is discarded. Idempotent. */
void conn_close(struct conn *c);

void conn_set_callbacks(struct conn *c, conn_data_cb on_read, conn_data_cb on_drain,
			conn_event_cb on_event, void *arg);
/*
 * Whether on_read is delivered. Off only stops delivery to the owner: a TLS
 * write that waits for the socket to become readable still gets to finish.
 */
void conn_read_enable(struct conn *c, bool on);
/*
 * on_drain fires when output falls to <= <below> bytes after a wait; SIZE_MAX
 * disables it (and so does any level of 4 GiB or more: it is stored in 32 bits).
 */
void conn_notify_drain(struct conn *c, size_t below);

/* Queues bytes and writes what the kernel takes now. False on OOM. */
bool conn_write(struct conn *c, const void *data, size_t len) __attribute__((warn_unused_result));
/* Same, moving <len> bytes from the front of <src> (no copy when it can write them directly). */
bool conn_write_from(struct conn *c, struct evbuffer *src, size_t len)
	__attribute__((warn_unused_result));
/* Bytes queued for the kernel (0 when everything has been written). */
size_t conn_out_pending(const struct conn *c);

/*
 * Between conn_cork and conn_uncork, writes are only queued; conn_uncork
 * sends them together (one TLS record, one system call) — for a caller that
 * writes several pieces of what the peer reads as one request.
 */
void conn_cork(struct conn *c);
void conn_uncork(struct conn *c);
/* Bytes read and not yet taken from <in> (0 also while there is no <in>). */
size_t conn_in_pending(const struct conn *c);
/*
 * Frees <in> and <out> while they are empty: for a connection that goes idle,
 * whose owner reads c->in only from on_read (or after conn_in_pending() says
 * it holds bytes) until then. Both are made again when bytes come or must
 * wait. Costs a malloc and a free for the next use of each.
 */
void conn_trim(struct conn *c);

/*
 * Moving an open connection to another worker's event loop: a conn with
 * nothing in flight either way (conn_can_move) leaves its loop on the old
 * loop's thread (conn_leave_loop: no event of it is pending there any more)
 * and, handed over under a lock, joins the new loop on the new loop's thread
 * (conn_join_loop: reading resumes as conn_read_enable last said).
 */
bool conn_can_move(const struct conn *c);
void conn_leave_loop(struct conn *c);
void conn_join_loop(struct conn *c, struct event_base *base);

#endif

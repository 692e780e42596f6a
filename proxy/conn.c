/*
 * conn — non-blocking socket I/O with immediate writes, plain or TLS.
 *
 * The read event is persistent while the owner wants input (or a handshake,
 * or a TLS write, needs it); the write event is added only while output waits
 * for the kernel (or a connect/handshake waits for writability). Writes go
 * straight from the caller's bytes to the kernel; only what the kernel does
 * not take is queued. Reads of a burst go into reserved evbuffer space; the
 * first read of an idle socket goes into the stack, so a wake-up with a few
 * bytes (or none) does not allocate or keep a full read chunk. TLS follows
 * OpenSSL's non-blocking rules: a blocked SSL_write is repeated with the same
 * length, and reads or writes that need the opposite readiness are resumed
 * from the other event.
 *
 * Memory is spent when needed, because most connections of a proxy are idle:
 * the write event, the output evbuffer and the error text are allocated on
 * first use (on a plain socket the output buffer is freed again when it
 * empties), and OpenSSL releases a client connection's record buffers
 * between records.
 */
#include "proxy/conn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/x509.h>

/*
 * Read space asked for at a time: with libevent's 48-byte chain header, a
 * chain of exactly 16 KiB (asking for 16384 would round up to 32 KiB).
 */
#define CONN_READ_CHUNK (16384u - 64u)
#define CONN_READ_BUDGET (256u * 1024) /* per callback, so one busy peer cannot starve others */
#define CONN_TLS_WRITE_MAX 16384u      /* largest TLS record payload */
_Static_assert(CONN_TLS_WRITE_MAX <= UINT16_MAX, "tls_retry_len holds a record's length");

static void rev_cb(evutil_socket_t fd, short what, void *arg);
static void write_cb(evutil_socket_t fd, short what, void *arg);
static void fail_later(struct conn *c, const char *what, int err);

/* ---- error text ---- */

static const char no_error[] = "";
static const char oom_error[] = "out of memory";

static void error_clear(struct conn *c)
{
	if (c->error_text != NULL && c->error_text != no_error && c->error_text != oom_error)
		free((void *)c->error_text);
	c->error_text = no_error;
}

static void error_set(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Replaces the error text; on OOM the text says so instead. */
static void error_set(struct conn *c, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	error_clear(c);
	char *text = strdup(buf);
	c->error_text = text != NULL ? text : oom_error;
}

/* ---- event bookkeeping ---- */

static struct event_base *base_of(const struct conn *c)
{
	return event_get_base(&c->rev);
}

static void rev_set(struct conn *c, bool on)
{
	if (on && !c->rev_added) {
		event_add(&c->rev, NULL);
		c->rev_added = true;
	} else if (!on && c->rev_added) {
		event_del(&c->rev);
		c->rev_added = false;
	}
}

/* Adding the write event allocates it the first time; a failure is reported from the loop. */
static void wev_set(struct conn *c, bool on)
{
	if (on && !c->wev_added) {
		if (c->wev == NULL) {
			c->wev = event_new(base_of(c), c->fd, EV_WRITE | EV_PERSIST, write_cb, c);
			if (c->wev == NULL) {
				error_set(c, "out of memory");
				fail_later(c, NULL, 0);
				return;
			}
		}
		event_add(c->wev, NULL);
		c->wev_added = true;
	} else if (!on && c->wev_added) {
		event_del(c->wev);
		c->wev_added = false;
	}
}

/* True while queued output waits for the kernel to take it (not for input). */
static bool write_waits_for_kernel(const struct conn *c)
{
	return c->out != NULL && evbuffer_get_length(c->out) > 0 && !c->tls_write_on_read;
}

/*
 * Reports a failure from the loop, not from inside the owner's call. The read
 * event carries it (activated with EV_WRITE, which rev_cb tells apart from
 * input), so no write event has to exist for it.
 */
static void fail_later(struct conn *c, const char *what, int err)
{
	if (c->failed)
		return;
	c->failed = true;
	if (what != NULL)
		error_set(c, "%s: %s", what, strerror(err));
	event_active(&c->rev, EV_WRITE, 1);
}

static void tls_error_text(struct conn *c, const char *what)
{
	unsigned long e = ERR_get_error();
	long vr = c->ssl ? SSL_get_verify_result(c->ssl) : X509_V_OK;
	char ebuf[160];

	if (vr != X509_V_OK)
		error_set(c, "TLS certificate verification failed: %s",
			  X509_verify_cert_error_string(vr));
	else if (e != 0)
		error_set(c, "%s: %s", what, ERR_error_string(e, ebuf));
	else if (errno != 0)
		error_set(c, "%s: %s", what, strerror(errno));
	else
		error_set(c, "%s: connection closed", what);
	ERR_clear_error();
}

/* ---- lifecycle ---- */

struct conn *conn_new(struct event_base *base, conn_data_cb on_read, conn_data_cb on_drain,
		      conn_event_cb on_event, void *arg)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->fd = -1;
	c->drain_below = UINT32_MAX;
	c->error_text = no_error;
	/* Assigned now so that it holds <base> until a socket comes. */
	event_assign(&c->rev, base, -1, EV_READ | EV_PERSIST, rev_cb, c);
	c->in = evbuffer_new();
	if (c->in == NULL) {
		free(c);
		return NULL;
	}
	conn_set_callbacks(c, on_read, on_drain, on_event, arg);
	return c;
}

void conn_set_callbacks(struct conn *c, conn_data_cb on_read, conn_data_cb on_drain,
			conn_event_cb on_event, void *arg)
{
	c->on_read = on_read;
	c->on_drain = on_drain;
	c->on_event = on_event;
	c->arg = arg;
}

static void out_discard(struct conn *c)
{
	if (c->out != NULL) {
		evbuffer_free(c->out);
		c->out = NULL;
	}
	c->tls_retry_len = 0;
}

void conn_close(struct conn *c)
{
	if (c->fd < 0) {
		c->state = CONN_ST_CLOSED;
		return;
	}
	rev_set(c, false);
	wev_set(c, false);
	/* A pending event_active must not fire on a closed conn. */
	event_del(&c->rev);
	if (c->wev != NULL)
		event_del(c->wev);
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	close(c->fd);
	c->fd = -1;
	c->state = CONN_ST_CLOSED;
	out_discard(c);
}

void conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	conn_close(c);
	if (c->wev != NULL)
		event_free(c->wev);
	if (c->in != NULL)
		evbuffer_free(c->in);
	error_clear(c);
	free(c);
}

static void arm(struct conn *c, int fd)
{
	c->fd = fd;
	c->failed = false;
	c->tls_read_on_write = false;
	c->tls_write_on_read = false;
	error_clear(c);
	/* Neither is pending: conn_close deleted them with the previous socket. */
	event_assign(&c->rev, base_of(c), fd, EV_READ | EV_PERSIST, rev_cb, c);
	if (c->wev != NULL)
		event_assign(c->wev, base_of(c), fd, EV_WRITE | EV_PERSIST, write_cb, c);
	if (c->in != NULL)
		evbuffer_drain(c->in, evbuffer_get_length(c->in));
	out_discard(c);
}

bool conn_attach(struct conn *c, int fd)
{
	if (c->fd >= 0)
		return false;
	arm(c, fd);
	c->state = CONN_ST_OPEN;
	rev_set(c, c->want_read);
	return true;
}

bool conn_connect(struct conn *c, const struct sockaddr *sa, socklen_t len)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || c->fd >= 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	arm(c, fd);
	c->state = CONN_ST_CONNECTING;
	if (connect(fd, sa, len) == 0 || errno == EINPROGRESS) {
		/* Either way the write event says when it is done (or failed). */
		wev_set(c, true);
		if (c->wev_added)
			return true;
		errno = ENOMEM;
	}
	int err = errno;
	c->failed = false;
	event_del(&c->rev);
	close(fd);
	c->fd = -1;
	c->state = CONN_ST_IDLE;
	errno = err;
	return false;
}

bool conn_start_tls(struct conn *c, SSL *ssl, bool accepting)
{
	if (c->state != CONN_ST_OPEN || c->ssl != NULL || SSL_set_fd(ssl, c->fd) != 1) {
		SSL_free(ssl);
		return false;
	}
	c->ssl = ssl;
	if (accepting) {
		/*
		 * Clients sit idle by the thousands: none should keep OpenSSL's
		 * two ~17 KiB record buffers between requests. Released when
		 * empty, allocated again for the next record (as nginx does),
		 * which costs about 1,400 instructions per request. Upstream
		 * connections are few (pool_size) and busy, so they keep theirs.
		 */
		SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
		SSL_set_accept_state(ssl);
	} else {
		SSL_set_connect_state(ssl);
	}
	c->state = CONN_ST_HANDSHAKE;
	/* The handshake starts from the loop, like every callback. */
	event_active(&c->rev, EV_WRITE, 1);
	return true;
}

void conn_read_enable(struct conn *c, bool on)
{
	c->want_read = on;
	if (c->state != CONN_ST_OPEN)
		return;
	/*
	 * A TLS write that waits for input keeps the read event whatever the
	 * owner wants, or it would never resume; rev_cb then retries the write
	 * without delivering input.
	 */
	rev_set(c, on || c->tls_write_on_read);
	/*
	 * A TLS read that waits for writability resumes only while input is
	 * wanted; otherwise the write event would fire for nothing.
	 */
	if (c->tls_read_on_write)
		wev_set(c, on || write_waits_for_kernel(c));
	/* OpenSSL may hold decrypted bytes the socket will never signal again. */
	if (on && c->ssl != NULL && SSL_has_pending(c->ssl))
		event_active(&c->rev, EV_READ, 1);
}

void conn_notify_drain(struct conn *c, size_t below)
{
	c->drain_below = below >= UINT32_MAX ? UINT32_MAX : (uint32_t)below;
}

size_t conn_out_pending(const struct conn *c)
{
	return c->out != NULL ? evbuffer_get_length(c->out) : 0;
}

size_t conn_in_pending(const struct conn *c)
{
	return c->in != NULL ? evbuffer_get_length(c->in) : 0;
}

void conn_trim(struct conn *c)
{
	if (c->in != NULL && evbuffer_get_length(c->in) == 0) {
		evbuffer_free(c->in);
		c->in = NULL;
	}
	/* A TLS record that blocked is repeated from <out>: only an idle one goes. */
	if (c->out != NULL && evbuffer_get_length(c->out) == 0 && c->tls_retry_len == 0)
		out_discard(c);
}

/* ---- writing ---- */

/*
 * One SSL_write of <len> bytes (a record at most): >0 bytes written, 0 blocked
 * (retry length and direction noted), <0 failed (error text set).
 */
static int tls_write_once(struct conn *c, const void *p, size_t len)
{
	ERR_clear_error();
	errno = 0;
	int r = SSL_write(c->ssl, p, (int)len);
	if (r > 0) {
		c->tls_retry_len = 0;
		return r;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_WRITE:
		c->tls_retry_len = (uint16_t)len;
		return 0;
	case SSL_ERROR_WANT_READ:
		c->tls_retry_len = (uint16_t)len;
		c->tls_write_on_read = true;
		return 0;
	default:
		tls_error_text(c, "TLS write");
		return -1;
	}
}

/*
 * Writes from <p> while the kernel takes it. Returns the bytes written (a TLS
 * record that blocked is not counted: it is repeated from the queue), or
 * SIZE_MAX on failure (error text set).
 */
static size_t send_flat(struct conn *c, const uint8_t *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		if (c->ssl != NULL) {
			size_t n = len - done < CONN_TLS_WRITE_MAX ? len - done : CONN_TLS_WRITE_MAX;
			int r = tls_write_once(c, p + done, n);
			if (r < 0)
				return SIZE_MAX;
			if (r == 0)
				break;
			done += (size_t)r;
			continue;
		}
		ssize_t n = write(c->fd, p + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		error_set(c, "write: %s", strerror(errno));
		return SIZE_MAX;
	}
	return done;
}

/* Writes <out> over TLS until it is empty or OpenSSL blocks. False on error. */
static bool flush_tls(struct conn *c)
{
	size_t left;

	while ((left = evbuffer_get_length(c->out)) > 0) {
		size_t len = c->tls_retry_len ? c->tls_retry_len
					      : (left < CONN_TLS_WRITE_MAX ? left : CONN_TLS_WRITE_MAX);
		/* One contiguous SSL_write per record: fewer records, fewer syscalls. */
		unsigned char *p = evbuffer_pullup(c->out, (ev_ssize_t)len);
		if (p == NULL) {
			error_set(c, "out of memory");
			return false;
		}
		int r = tls_write_once(c, p, len);
		if (r < 0)
			return false;
		if (r == 0)
			return true;
		evbuffer_drain(c->out, (size_t)r);
	}
	return true;
}

/* Writes <out> to the socket until it is empty or the kernel pushes back. */
static bool flush_plain(struct conn *c)
{
	while (evbuffer_get_length(c->out) > 0) {
		int n = evbuffer_write(c->out, c->fd);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			if (errno == EINTR)
				continue;
			error_set(c, "write: %s", strerror(errno));
			return false;
		}
	}
	return true;
}

/*
 * Arms the events to match the write side after an attempt: the write event
 * while the kernel pushes back, the read event while a TLS write waits for
 * input. An empty queue is freed on a plain socket, where it is needed only
 * when the kernel pushes back; over TLS every relayed run passes through it
 * (one SSL_write per record), so it is kept rather than made for each one.
 */
static void after_write(struct conn *c, bool was_on_read)
{
	if (c->out != NULL && c->ssl == NULL && evbuffer_get_length(c->out) == 0)
		out_discard(c);
	wev_set(c, write_waits_for_kernel(c) || (c->tls_read_on_write && c->want_read));
	if (c->tls_write_on_read)
		rev_set(c, true);
	else if (was_on_read && !c->want_read)
		rev_set(c, false); /* it was kept only for the write */
}

/* Writes what it can now; arms or disarms the events to match. */
static void flush(struct conn *c)
{
	if (c->state != CONN_ST_OPEN || c->failed)
		return; /* kept until connected; a failure is already on its way */
	bool was_on_read = c->tls_write_on_read;
	c->tls_write_on_read = false;
	bool ok = c->out == NULL || (c->ssl ? flush_tls(c) : flush_plain(c));
	if (!ok) {
		fail_later(c, NULL, 0);
		return;
	}
	after_write(c, was_on_read);
}

/* Queues <len> bytes of <data> behind what is already queued. False on OOM. */
static bool queue(struct conn *c, const void *data, size_t len)
{
	if (c->out == NULL && (c->out = evbuffer_new()) == NULL)
		return false;
	return evbuffer_add(c->out, data, len) == 0;
}

bool conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->state == CONN_ST_CLOSED)
		return true; /* nobody to write to; the close is being handled */
	/* Nothing queued and nothing blocked: straight from <data> to the kernel. */
	if (conn_out_pending(c) == 0 && c->state == CONN_ST_OPEN && !c->failed &&
	    !c->tls_write_on_read && !c->corked) {
		size_t done = send_flat(c, data, len);
		if (done == SIZE_MAX) {
			fail_later(c, NULL, 0);
			return true;
		}
		if (done < len && !queue(c, (const uint8_t *)data + done, len - done))
			return false;
		after_write(c, false);
		return true;
	}
	if (!queue(c, data, len))
		return false;
	if (!c->corked)
		flush(c);
	return true;
}

bool conn_write_from(struct conn *c, struct evbuffer *src, size_t len)
{
	if (c->state == CONN_ST_CLOSED) {
		evbuffer_drain(src, len);
		return true;
	}
	/* Plain socket, nothing queued: straight from <src> to the kernel. */
	if (c->ssl == NULL && c->state == CONN_ST_OPEN && !c->failed && !c->corked &&
	    conn_out_pending(c) == 0) {
		int n = evbuffer_write_atmost(src, c->fd, (ev_ssize_t)len);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			error_set(c, "write: %s", strerror(errno));
			evbuffer_drain(src, len);
			fail_later(c, NULL, 0);
			return true;
		}
		if (n > 0)
			len -= (size_t)n;
		if (len == 0)
			return true;
	}
	if (c->out == NULL && (c->out = evbuffer_new()) == NULL)
		return false;
	if (evbuffer_remove_buffer(src, c->out, len) != (int)len)
		return false;
	if (!c->corked)
		flush(c);
	return true;
}

void conn_cork(struct conn *c)
{
	c->corked = true;
}

void conn_uncork(struct conn *c)
{
	if (!c->corked)
		return;
	c->corked = false;
	if (conn_out_pending(c) > 0)
		flush(c);
}

/* ---- reading ---- */

/* One read of at most <len> bytes: >0 read, 0 nothing now; *ev gets EOF/ERROR. */
static ssize_t recv_plain(struct conn *c, void *buf, size_t len, unsigned *ev)
{
	for (;;) {
		ssize_t n = read(c->fd, buf, len);
		if (n > 0)
			return n;
		if (n == 0)
			*ev = CONN_EV_EOF;
		else if (errno == EINTR)
			continue;
		else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			error_set(c, "read: %s", strerror(errno));
			*ev = CONN_EV_ERROR;
		}
		return 0;
	}
}

static ssize_t recv_tls(struct conn *c, void *buf, size_t len, unsigned *ev)
{
	ERR_clear_error();
	errno = 0;
	int r = SSL_read(c->ssl, buf, (int)(len > INT32_MAX ? INT32_MAX : len));
	if (r > 0)
		return r;
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return 0;
	case SSL_ERROR_WANT_WRITE:
		c->tls_read_on_write = true;
		wev_set(c, true);
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		*ev = CONN_EV_EOF;
		return 0;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0 && errno == 0) {
			*ev = CONN_EV_EOF; /* closed without close_notify */
			return 0;
		}
		/* fall through */
	default:
		tls_error_text(c, "TLS read");
		*ev = CONN_EV_ERROR;
		return 0;
	}
}

/* <in>, made again if conn_trim() gave it back; false on OOM. */
static bool input_buffer(struct conn *c)
{
	if (c->in == NULL)
		c->in = evbuffer_new();
	return c->in != NULL;
}

/* Reads into <in>; returns CONN_EV_* bits for EOF/ERROR, and adds to *got. */
static unsigned read_input(struct conn *c, size_t *got)
{
	unsigned char first[CONN_READ_CHUNK];

	if (c->ssl != NULL)
		c->tls_read_on_write = false;
	while (*got < CONN_READ_BUDGET) {
		/*
		 * Into <in> directly once it holds bytes (a burst). Into the stack
		 * while it is empty: an idle socket's wake-up then allocates a chain
		 * the size of what came, and a read that finds nothing (EAGAIN, half
		 * a TLS record) leaves no empty reserved chain behind.
		 */
		bool direct = conn_in_pending(c) > 0;
		struct evbuffer_iovec vec = { first, sizeof(first) };
		if (direct && evbuffer_reserve_space(c->in, CONN_READ_CHUNK, &vec, 1) < 1) {
			error_set(c, "out of memory");
			return CONN_EV_ERROR;
		}
		unsigned ev = 0;
		ssize_t n = c->ssl ? recv_tls(c, vec.iov_base, vec.iov_len, &ev)
				   : recv_plain(c, vec.iov_base, vec.iov_len, &ev);
		if (n <= 0)
			return ev;
		if (direct) {
			vec.iov_len = (size_t)n;
			evbuffer_commit_space(c->in, &vec, 1);
		} else if (!input_buffer(c) || evbuffer_add(c->in, first, (size_t)n) != 0) {
			error_set(c, "out of memory");
			return CONN_EV_ERROR;
		}
		*got += (size_t)n;
		/*
		 * A short plain read: the socket is empty. Nothing left inside
		 * OpenSSL: another SSL_read would only earn an EAGAIN. If the socket
		 * has more, epoll says so again.
		 */
		if (c->ssl ? !SSL_has_pending(c->ssl) : (size_t)n < vec.iov_len)
			return 0;
	}
	/* Budget spent with data maybe still inside OpenSSL: come back next turn. */
	if (c->ssl != NULL && SSL_has_pending(c->ssl))
		event_active(&c->rev, EV_READ, 1);
	return 0;
}

/* Reads, hands the bytes to the owner, then reports EOF/errors. */
static void do_read(struct conn *c)
{
	size_t got = 0;
	unsigned ev = read_input(c, &got);

	if (got > 0 && c->on_read) {
		c->on_read(c, c->arg);
		if (c->state == CONN_ST_CLOSED)
			return;
	}
	if (ev != 0) {
		rev_set(c, false);
		if (c->on_event)
			c->on_event(c, ev, c->arg);
	}
}

/* ---- handshake and connect ---- */

static void handshake_step(struct conn *c)
{
	ERR_clear_error();
	errno = 0;
	int r = SSL_do_handshake(c->ssl);

	if (r == 1) {
		c->state = CONN_ST_OPEN;
		wev_set(c, false);
		rev_set(c, c->want_read);
		if (c->on_event)
			c->on_event(c, CONN_EV_CONNECTED, c->arg);
		if (c->state != CONN_ST_OPEN)
			return;
		flush(c);
		if (SSL_has_pending(c->ssl))
			event_active(&c->rev, EV_READ, 1);
		return;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		wev_set(c, false);
		rev_set(c, true);
		return;
	case SSL_ERROR_WANT_WRITE:
		wev_set(c, true);
		return;
	default:
		tls_error_text(c, "TLS handshake");
		c->state = CONN_ST_CLOSED;
		rev_set(c, false);
		wev_set(c, false);
		if (c->on_event)
			c->on_event(c, CONN_EV_ERROR, c->arg);
	}
}

static void connect_done(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	wev_set(c, false);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0) {
		error_set(c, "%s", strerror(err));
		c->state = CONN_ST_CLOSED;
		if (c->on_event)
			c->on_event(c, CONN_EV_ERROR, c->arg);
		return;
	}
	c->state = CONN_ST_OPEN;
	rev_set(c, c->want_read);
	if (c->on_event)
		c->on_event(c, CONN_EV_CONNECTED, c->arg);
	if (c->state == CONN_ST_OPEN)
		flush(c);
}

/* ---- event callbacks ---- */

/* Tells the owner its output shrank to the level it asked to hear about. */
static void maybe_drained(struct conn *c)
{
	if (c->failed || c->drain_below == UINT32_MAX || c->on_drain == NULL ||
	    conn_out_pending(c) > c->drain_below)
		return;
	c->on_drain(c, c->arg);
}

/* The socket is readable (or OpenSSL holds input). */
static void readable(struct conn *c)
{
	if (c->tls_write_on_read) {
		flush(c); /* keeps or drops the read event as the write needs */
		maybe_drained(c);
		if (c->state != CONN_ST_OPEN)
			return;
	}
	/* The event may be armed for a write's sake only: input is not delivered then. */
	if (!c->want_read) {
		rev_set(c, c->tls_write_on_read);
		return;
	}
	do_read(c);
}

static void rev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	/*
	 * EV_WRITE on the read event is conn's own activation (a deferred
	 * failure, the first handshake step): handled like the write event.
	 */
	if (what & EV_WRITE) {
		write_cb(fd, EV_WRITE, c);
		if (!(what & EV_READ))
			return;
	}
	if (c->state == CONN_ST_HANDSHAKE) {
		handshake_step(c);
		return;
	}
	if (c->state != CONN_ST_OPEN || c->failed)
		return;
	readable(c);
}

static void report_failure(struct conn *c)
{
	rev_set(c, false);
	wev_set(c, false);
	c->state = CONN_ST_CLOSED;
	if (c->on_event)
		c->on_event(c, CONN_EV_ERROR, c->arg);
}

static void write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->failed) {
		if (c->state != CONN_ST_CLOSED)
			report_failure(c);
		return;
	}
	switch (c->state) {
	case CONN_ST_CONNECTING:
		connect_done(c);
		return;
	case CONN_ST_HANDSHAKE:
		handshake_step(c);
		return;
	case CONN_ST_OPEN:
		break;
	default:
		return;
	}
	/* A TLS read waiting for writability resumes only while input is wanted. */
	if (c->tls_read_on_write && c->want_read) {
		do_read(c);
		if (c->state != CONN_ST_OPEN)
			return;
	}
	flush(c);
	maybe_drained(c);
}

/* ---- moving between event loops ---- */

bool conn_can_move(const struct conn *c)
{
	return c->state == CONN_ST_OPEN && !c->failed && conn_out_pending(c) == 0 &&
	       (c->in == NULL || evbuffer_get_length(c->in) == 0) && !c->tls_read_on_write &&
	       !c->tls_write_on_read;
}

void conn_leave_loop(struct conn *c)
{
	/* Unlike rev_set(false), this also drops an event_active still pending. */
	event_del(&c->rev);
	c->rev_added = false;
	if (c->wev != NULL) {
		event_free(c->wev);
		c->wev = NULL;
		c->wev_added = false;
	}
}

void conn_join_loop(struct conn *c, struct event_base *base)
{
	event_assign(&c->rev, base, c->fd, EV_READ | EV_PERSIST, rev_cb, c);
	rev_set(c, c->want_read);
}

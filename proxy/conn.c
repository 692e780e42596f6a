/*
 * conn — non-blocking socket I/O with immediate writes, plain or TLS.
 *
 * The read event is persistent while the owner wants input (or a handshake
 * needs it); the write event is added only while output waits for the kernel
 * (or a connect/handshake waits for writability). Reads go straight into
 * reserved evbuffer space. TLS follows OpenSSL's non-blocking rules: a
 * blocked SSL_write is repeated with the same length, and reads or writes that
 * need the opposite readiness are resumed from the other event.
 */
#include "proxy/conn.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#define CONN_READ_CHUNK 16384          /* one TLS record's worth */
#define CONN_READ_BUDGET (256u * 1024) /* per callback, so one busy peer cannot starve others */
#define CONN_TLS_WRITE_MAX 16384       /* largest TLS record payload */

static void read_cb(evutil_socket_t fd, short what, void *arg);
static void write_cb(evutil_socket_t fd, short what, void *arg);

/* ---- event bookkeeping ---- */

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

static void wev_set(struct conn *c, bool on)
{
	if (on && !c->wev_added) {
		event_add(&c->wev, NULL);
		c->wev_added = true;
	} else if (!on && c->wev_added) {
		event_del(&c->wev);
		c->wev_added = false;
	}
}

/* Reports a failure from the loop, not from inside the owner's call. */
static void fail_later(struct conn *c, const char *what, int err)
{
	if (c->failed)
		return;
	c->failed = true;
	if (what != NULL)
		snprintf(c->error_text, sizeof(c->error_text), "%s: %s", what, strerror(err));
	event_active(&c->wev, EV_WRITE, 1);
}

static void tls_error_text(struct conn *c, const char *what)
{
	unsigned long e = ERR_get_error();
	long vr = c->ssl ? SSL_get_verify_result(c->ssl) : X509_V_OK;
	char ebuf[160];

	if (vr != X509_V_OK)
		snprintf(c->error_text, sizeof(c->error_text),
			 "TLS certificate verification failed: %s", X509_verify_cert_error_string(vr));
	else if (e != 0)
		snprintf(c->error_text, sizeof(c->error_text), "%s: %s", what,
			 ERR_error_string(e, ebuf));
	else if (errno != 0)
		snprintf(c->error_text, sizeof(c->error_text), "%s: %s", what, strerror(errno));
	else
		snprintf(c->error_text, sizeof(c->error_text), "%s: connection closed", what);
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
	c->base = base;
	c->drain_below = SIZE_MAX;
	c->in = evbuffer_new();
	c->out = evbuffer_new();
	if (c->in == NULL || c->out == NULL) {
		conn_free(c);
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
	event_del(&c->wev);
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	close(c->fd);
	c->fd = -1;
	c->state = CONN_ST_CLOSED;
	evbuffer_drain(c->out, evbuffer_get_length(c->out));
}

void conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	conn_close(c);
	if (c->in)
		evbuffer_free(c->in);
	if (c->out)
		evbuffer_free(c->out);
	free(c);
}

static void arm(struct conn *c, int fd)
{
	c->fd = fd;
	c->failed = false;
	c->tls_read_on_write = false;
	c->tls_write_on_read = false;
	c->tls_retry_len = 0;
	c->error_text[0] = '\0';
	event_assign(&c->rev, c->base, fd, EV_READ | EV_PERSIST, read_cb, c);
	event_assign(&c->wev, c->base, fd, EV_WRITE | EV_PERSIST, write_cb, c);
	evbuffer_drain(c->in, evbuffer_get_length(c->in));
	evbuffer_drain(c->out, evbuffer_get_length(c->out));
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
		return true;
	}
	int err = errno;
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
	if (accepting)
		SSL_set_accept_state(ssl);
	else
		SSL_set_connect_state(ssl);
	c->state = CONN_ST_HANDSHAKE;
	/* The handshake starts from the loop, like every callback. */
	event_active(&c->wev, EV_WRITE, 1);
	return true;
}

void conn_read_enable(struct conn *c, bool on)
{
	c->want_read = on;
	if (c->state != CONN_ST_OPEN)
		return;
	rev_set(c, on);
	/* OpenSSL may hold decrypted bytes the socket will never signal again. */
	if (on && c->ssl != NULL && SSL_has_pending(c->ssl))
		event_active(&c->rev, EV_READ, 1);
}

void conn_notify_drain(struct conn *c, size_t below)
{
	c->drain_below = below;
}

size_t conn_out_pending(const struct conn *c)
{
	return evbuffer_get_length(c->out);
}

/* ---- writing ---- */

/* Writes <out> over TLS until it is empty or OpenSSL blocks. False on error. */
static bool flush_tls(struct conn *c)
{
	size_t left;

	while ((left = evbuffer_get_length(c->out)) > 0) {
		size_t len = c->tls_retry_len ? c->tls_retry_len
					      : (left < CONN_TLS_WRITE_MAX ? left : CONN_TLS_WRITE_MAX);
		/* One contiguous SSL_write per record: fewer records, fewer syscalls. */
		unsigned char *p = evbuffer_pullup(c->out, (ev_ssize_t)len);
		if (p == NULL)
			return false;
		ERR_clear_error();
		int r = SSL_write(c->ssl, p, (int)len);
		if (r > 0) {
			evbuffer_drain(c->out, (size_t)r);
			c->tls_retry_len = 0;
			continue;
		}
		switch (SSL_get_error(c->ssl, r)) {
		case SSL_ERROR_WANT_WRITE:
			c->tls_retry_len = len;
			wev_set(c, true);
			return true;
		case SSL_ERROR_WANT_READ:
			c->tls_retry_len = len;
			c->tls_write_on_read = true;
			rev_set(c, true);
			return true;
		default:
			tls_error_text(c, "TLS write");
			return false;
		}
	}
	return true;
}

/* Writes <out> to the socket until it is empty or the kernel pushes back. */
static bool flush_plain(struct conn *c)
{
	while (evbuffer_get_length(c->out) > 0) {
		int n = evbuffer_write(c->out, c->fd);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				wev_set(c, true);
				return true;
			}
			if (errno == EINTR)
				continue;
			snprintf(c->error_text, sizeof(c->error_text), "write: %s", strerror(errno));
			return false;
		}
	}
	return true;
}

/* Writes what it can now; arms or disarms the write event to match. */
static bool flush(struct conn *c)
{
	if (c->state != CONN_ST_OPEN || c->failed)
		return true; /* kept until connected; a failure is already on its way */
	bool ok = c->ssl ? flush_tls(c) : flush_plain(c);
	if (!ok) {
		fail_later(c, NULL, 0);
		return true;
	}
	if (evbuffer_get_length(c->out) == 0 && !c->tls_read_on_write)
		wev_set(c, false);
	return true;
}

bool conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->state == CONN_ST_CLOSED)
		return true; /* nobody to write to; the close is being handled */
	if (evbuffer_add(c->out, data, len) != 0)
		return false;
	return flush(c);
}

bool conn_write_from(struct conn *c, struct evbuffer *src, size_t len)
{
	if (c->state == CONN_ST_CLOSED) {
		evbuffer_drain(src, len);
		return true;
	}
	/* Plain socket, nothing queued: straight from <src> to the kernel. */
	if (c->ssl == NULL && c->state == CONN_ST_OPEN && !c->failed &&
	    evbuffer_get_length(c->out) == 0) {
		int n = evbuffer_write_atmost(src, c->fd, (ev_ssize_t)len);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			snprintf(c->error_text, sizeof(c->error_text), "write: %s", strerror(errno));
			evbuffer_drain(src, len);
			fail_later(c, NULL, 0);
			return true;
		}
		if (n > 0)
			len -= (size_t)n;
		if (len == 0)
			return true;
	}
	if (evbuffer_remove_buffer(src, c->out, len) != (int)len)
		return false;
	return flush(c);
}

/* ---- reading ---- */

/* Reads into <in>; returns CONN_EV_* bits for EOF/ERROR, and sets *got. */
static unsigned read_plain(struct conn *c, size_t *got)
{
	struct evbuffer_iovec vec;

	while (*got < CONN_READ_BUDGET) {
		if (evbuffer_reserve_space(c->in, CONN_READ_CHUNK, &vec, 1) < 1)
			return CONN_EV_ERROR;
		ssize_t n = read(c->fd, vec.iov_base, vec.iov_len);
		if (n > 0) {
			vec.iov_len = (size_t)n;
			evbuffer_commit_space(c->in, &vec, 1);
			*got += (size_t)n;
			if ((size_t)n < CONN_READ_CHUNK)
				return 0; /* a short read: the socket is empty */
			continue;
		}
		if (n == 0)
			return CONN_EV_EOF;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == EINTR)
			continue;
		snprintf(c->error_text, sizeof(c->error_text), "read: %s", strerror(errno));
		return CONN_EV_ERROR;
	}
	return 0;
}

static unsigned read_tls(struct conn *c, size_t *got)
{
	struct evbuffer_iovec vec;

	c->tls_read_on_write = false;
	while (*got < CONN_READ_BUDGET) {
		if (evbuffer_reserve_space(c->in, CONN_READ_CHUNK, &vec, 1) < 1)
			return CONN_EV_ERROR;
		ERR_clear_error();
		errno = 0;
		int r = SSL_read(c->ssl, vec.iov_base, (int)(vec.iov_len > INT32_MAX ? INT32_MAX : vec.iov_len));
		if (r > 0) {
			vec.iov_len = (size_t)r;
			evbuffer_commit_space(c->in, &vec, 1);
			*got += (size_t)r;
			/*
			 * Nothing left inside OpenSSL: another SSL_read would only
			 * earn an EAGAIN. If the socket has more, epoll says so again.
			 */
			if (!SSL_has_pending(c->ssl))
				return 0;
			continue;
		}
		switch (SSL_get_error(c->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			return 0;
		case SSL_ERROR_WANT_WRITE:
			c->tls_read_on_write = true;
			wev_set(c, true);
			return 0;
		case SSL_ERROR_ZERO_RETURN:
			return CONN_EV_EOF;
		case SSL_ERROR_SYSCALL:
			if (ERR_peek_error() == 0 && errno == 0)
				return CONN_EV_EOF; /* closed without close_notify */
			/* fall through */
		default:
			tls_error_text(c, "TLS read");
			return CONN_EV_ERROR;
		}
	}
	/* Budget spent with data maybe still inside OpenSSL: come back next turn. */
	if (SSL_has_pending(c->ssl))
		event_active(&c->rev, EV_READ, 1);
	return 0;
}

/* Reads, hands the bytes to the owner, then reports EOF/errors. */
static void do_read(struct conn *c)
{
	size_t got = 0;
	unsigned ev = c->ssl ? read_tls(c, &got) : read_plain(c, &got);

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
		(void)flush(c);
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
		snprintf(c->error_text, sizeof(c->error_text), "%s", strerror(err));
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
		(void)flush(c);
}

/* ---- event callbacks ---- */

/* Tells the owner its output shrank to the level it asked to hear about. */
static void maybe_drained(struct conn *c)
{
	if (c->failed || c->drain_below == SIZE_MAX || c->on_drain == NULL ||
	    evbuffer_get_length(c->out) > c->drain_below)
		return;
	c->on_drain(c, c->arg);
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->state == CONN_ST_HANDSHAKE) {
		handshake_step(c);
		return;
	}
	if (c->state != CONN_ST_OPEN)
		return;
	if (c->tls_write_on_read) {
		c->tls_write_on_read = false;
		(void)flush(c);
		maybe_drained(c);
		if (c->state != CONN_ST_OPEN)
			return;
		/* Still blocked the same way: keep watching for input. */
		rev_set(c, c->want_read || c->tls_write_on_read);
		if (!c->want_read)
			return;
	}
	do_read(c);
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
	if (c->tls_read_on_write) {
		do_read(c);
		if (c->state != CONN_ST_OPEN)
			return;
	}
	(void)flush(c);
	maybe_drained(c);
}

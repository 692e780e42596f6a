/*
 * log — logfmt lines on stderr, one write(2) each, and the rate limiter that
 * keeps a repeated event from becoming a flood of identical lines.
 */
#include "proxy/clock.h"
#include "proxy/log.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int log_level = CONFIG_LOG_INFO;

static const char *const level_names[] = {
	[CONFIG_LOG_ERROR] = "error",
	[CONFIG_LOG_WARN] = "warn",
	[CONFIG_LOG_INFO] = "info",
	[CONFIG_LOG_DEBUG] = "debug",
};

void log_set_level(enum config_log_level level)
{
	atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
}

bool log_enabled(enum config_log_level level)
{
	return (int)level <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

const char *log_quote(char *buf, size_t size, const char *value)
{
	bool plain = value[0] != '\0';
	for (const char *p = value; *p && plain; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
			plain = false;
	if (plain) {
		snprintf(buf, size, "%s", value);
		return buf;
	}
	size_t o = 0;
	if (size < 3) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)value; *p && o + 5 < size; p++) {
		if (*p == '"' || *p == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)*p;
		} else if (*p == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else if (*p < ' ' || *p == 0x7f) {
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", *p);
		} else {
			buf[o++] = (char)*p;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/*
 * Formats and writes one line. <tail> (may be NULL) is appended after the
 * caller's key=value pairs: the rate limiter's " count=N".
 */
static __attribute__((format(printf, 6, 0))) void
log_vemit(enum config_log_level level, int worker, int64_t session, const char *msg,
	  const char *tail, const char *kv_fmt, va_list ap)
{
	char line[2048];
	char quoted[512];
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ level=%s", ts.tv_nsec / 1000000,
			      level_names[level]);
	if (worker >= 0)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " worker=%d", worker);
	if (session >= 0 && n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n, " session=%lld", (long long)session);
	if (n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n, " msg=%s",
				      log_quote(quoted, sizeof(quoted), msg));
	if (kv_fmt != NULL && kv_fmt[0] != '\0' && n + 1 < sizeof(line)) {
		line[n++] = ' ';
		n += (size_t)vsnprintf(line + n, sizeof(line) - n, kv_fmt, ap);
	}
	if (tail != NULL && n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s", tail);
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2; /* truncated: keep the line a line */
	line[n++] = '\n';
	ssize_t wr = write(STDERR_FILENO, line, n);
	(void)wr; /* nowhere to report a failing stderr */
}

void log_event(enum config_log_level level, int worker, int64_t session, const char *msg,
	       const char *kv_fmt, ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, kv_fmt);
	log_vemit(level, worker, session, msg, NULL, kv_fmt, ap);
	va_end(ap);
}

/* ---- rate-limited lines ---- */

bool log_ratelimit_take(struct log_ratelimit *rl, uint64_t *count)
{
	int interval = rl->interval_ms > 0 ? rl->interval_ms : LOG_RATELIMIT_DEFAULT_MS;

	/* Counted first, so an occurrence racing with the winner lands in this line or the next. */
	atomic_fetch_add_explicit(&rl->pending, 1, memory_order_relaxed);
	int64_t now = clock_ms();
	int64_t next = atomic_load_explicit(&rl->next_ms, memory_order_relaxed);
	if (now < next)
		return false;
	/* Several threads may see the interval over: the one that moves next_ms logs. */
	if (!atomic_compare_exchange_strong(&rl->next_ms, &next, now + interval))
		return false;
	*count = atomic_exchange(&rl->pending, 0);
	/* A concurrent flush can have taken ours: still a line, but count it as one. */
	if (*count == 0)
		*count = 1;
	return true;
}

uint64_t log_ratelimit_flush(struct log_ratelimit *rl)
{
	return atomic_exchange(&rl->pending, 0);
}

void log_ratelimited(enum config_log_level level, struct log_ratelimit *rl, int worker,
		     int64_t session, const char *msg, const char *kv_fmt, ...)
{
	char tail[32];
	uint64_t count;
	va_list ap;

	if (!log_enabled(level) || !log_ratelimit_take(rl, &count))
		return;
	snprintf(tail, sizeof(tail), " count=%llu", (unsigned long long)count);
	va_start(ap, kv_fmt);
	log_vemit(level, worker, session, msg, tail, kv_fmt, ap);
	va_end(ap);
}

void log_format_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(buf, len, "%s:%u", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(buf, len, "[%s]:%u", host, port);
	} else {
		snprintf(buf, len, "unix");
	}
}

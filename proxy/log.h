/*
 * log — one logfmt line per event on stderr:
 *   ts=2026-11-26T04:00:00.123Z level=info worker=1 session=42 msg="client connected" user=app
 *
 * Each line is formatted into a local buffer and written with one write(2),
 * so lines from different workers never interleave. The level is a process
 * global read on every call: it is the one piece of state that must change on
 * SIGHUP without a snapshot swap, and an atomic int is cheaper than plumbing.
 * Never pass a password or secret to these functions.
 */
#ifndef SY_LOG_H
#define SY_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/config.h"

void log_set_level(enum config_log_level level);
bool log_enabled(enum config_log_level level);

/*
 * Logs <msg> with optional extra key=value pairs given as a printf format
 * (already logfmt, e.g. "user=%s addr=%s"). Values that may contain spaces or
 * quotes must go through log_quote(). worker/session < 0 are omitted.
 */
void log_event(enum config_log_level level, int worker, int64_t session, const char *msg,
	       const char *kv_fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Quotes <value> for logfmt into <buf> (always NUL-terminated, truncated to
 * fit) and returns buf: plain words pass through, anything with spaces,
 * quotes, '=' or control bytes is wrapped in "..." with escapes.
 */
const char *log_quote(char *buf, size_t size, const char *value);

struct sockaddr;

/* "1.2.3.4:5432" or "[::1]:5432" into <buf> (always NUL-terminated). */
void log_format_addr(const struct sockaddr *sa, char *buf, size_t len);

/*
 * Rate-limited lines, for events that can repeat thousands of times a second
 * (accept failing with EMFILE, 5,000 clients timing out of the pool at once):
 * the first occurrence is logged at once, later ones at most once per
 * interval, each line carrying count=N — the occurrences since the previous
 * line, itself included, suppressed ones counted.
 *
 * One struct log_ratelimit per call site. All-zero is a valid initial state
 * (interval 5 s), so a static, a field of a memset struct or
 * LOG_RATELIMIT_INIT(ms) all work. The fields are atomics: one instance may
 * be shared by every worker thread (e.g. in struct proxy) — exactly one
 * thread wins each interval and no occurrence is lost or counted twice.
 * Occurrences after the last line stay counted until the next line, or until
 * log_ratelimit_flush() hands them to the caller.
 *
 *   static struct log_ratelimit rl;  // or a field of struct worker / proxy
 *   log_ratelimited_warn(&rl, w->id, s->id, "pool wait timed out", "waited_ms=%d", ms);
 *   -> ... msg="pool wait timed out" waited_ms=10000 count=4980
 */
#define LOG_RATELIMIT_DEFAULT_MS 5000

struct log_ratelimit {
	int interval_ms;            /* 0: LOG_RATELIMIT_DEFAULT_MS; set before first use */
	_Atomic int64_t next_ms;    /* CLOCK_MONOTONIC ms before which lines are held back */
	_Atomic uint64_t pending;   /* occurrences not yet reported in a line */
};

#define LOG_RATELIMIT_INIT(ms) { .interval_ms = (ms) }

/*
 * Counts one occurrence. True when the caller should log it now, with
 * *count set to the occurrences to report (this one included); false while
 * the interval runs (the occurrence stays counted). For callers that build
 * their own line; most want log_ratelimited() below.
 */
bool log_ratelimit_take(struct log_ratelimit *rl, uint64_t *count)
	__attribute__((warn_unused_result));

/*
 * Returns the occurrences counted but not yet logged and forgets them, so a
 * caller can report them itself (e.g. "accepting again" after a flood).
 */
uint64_t log_ratelimit_flush(struct log_ratelimit *rl);

/*
 * log_event() through <rl>: logged only when log_ratelimit_take() says so,
 * with " count=N" appended to the key=value pairs. Not counted at all when
 * <level> is disabled.
 */
void log_ratelimited(enum config_log_level level, struct log_ratelimit *rl, int worker,
		     int64_t session, const char *msg, const char *kv_fmt, ...)
	__attribute__((format(printf, 6, 7)));

#define log_error(w, s, msg, ...) log_event(CONFIG_LOG_ERROR, w, s, msg, __VA_ARGS__)
#define log_warn(w, s, msg, ...) log_event(CONFIG_LOG_WARN, w, s, msg, __VA_ARGS__)
#define log_info(w, s, msg, ...) log_event(CONFIG_LOG_INFO, w, s, msg, __VA_ARGS__)
#define log_debug(w, s, msg, ...) log_event(CONFIG_LOG_DEBUG, w, s, msg, __VA_ARGS__)

#define log_ratelimited_error(rl, w, s, msg, ...) \
	log_ratelimited(CONFIG_LOG_ERROR, rl, w, s, msg, __VA_ARGS__)
#define log_ratelimited_warn(rl, w, s, msg, ...) \
	log_ratelimited(CONFIG_LOG_WARN, rl, w, s, msg, __VA_ARGS__)
#define log_ratelimited_info(rl, w, s, msg, ...) \
	log_ratelimited(CONFIG_LOG_INFO, rl, w, s, msg, __VA_ARGS__)

#endif

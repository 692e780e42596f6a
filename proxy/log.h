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

#define log_error(w, s, msg, ...) log_event(CONFIG_LOG_ERROR, w, s, msg, __VA_ARGS__)
#define log_warn(w, s, msg, ...) log_event(CONFIG_LOG_WARN, w, s, msg, __VA_ARGS__)
#define log_info(w, s, msg, ...) log_event(CONFIG_LOG_INFO, w, s, msg, __VA_ARGS__)
#define log_debug(w, s, msg, ...) log_event(CONFIG_LOG_DEBUG, w, s, msg, __VA_ARGS__)

#endif

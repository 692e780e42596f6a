/*
 * admin — the HTTP endpoint of [admin]: /metrics, /status, the status page,
 * PUT /cutover/<table> and POST /reload.
 *
 * It runs on the main thread's event_base (evhttp), the thread that owns
 * reloads and is the only writer of proxy->cfg, so it reads the running
 * snapshot without the snapshot lock and calls the reload path directly.
 *
 * Changes (PUT, POST) are allowed, when [admin] token is "", only from the
 * addresses of the host's loopback interface (what getifaddrs lists on an
 * IFF_LOOPBACK interface: 127.0.0.1 and ::1 on Linux — not all of
 * 127.0.0.0/8, which the kernel routes locally but which no interface
 * holds); with a token, only with "Authorization: Bearer <token>", from
 * anywhere. GETs are always allowed.
 */
#ifndef SY_ADMIN_H
#define SY_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct proxy;
struct admin;

/*
 * The reload path (main.c): true if the file was loaded and published;
 * otherwise false with why in <why>.
 */
typedef bool (*admin_reload_fn)(void *arg, char *why, size_t why_cap);

/*
 * Binds p->cfg->admin's address on <base>. <start_ms> is the process start
 * (wall clock, ms since the epoch). NULL on failure, logged. <p> is borrowed
 * for the admin's lifetime.
 */
struct admin *admin_new(struct event_base *base, struct proxy *p, int64_t start_ms,
			admin_reload_fn reload, void *reload_arg) __attribute__((warn_unused_result));
void admin_free(struct admin *a);

#endif

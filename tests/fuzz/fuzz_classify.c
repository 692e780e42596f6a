/*
 * fuzz_classify — libFuzzer target for the router: arbitrary bytes through
 * router_route with the statement cache on (so cache, pre-filter, parse,
 * classification, lexical scans and routing all see the input).
 *
 * The first input byte picks the routing options, so the fuzzer also reaches
 * the "MySQL not configured" and no-cache paths; every decision string is
 * read back so a dangling or unterminated one shows up under ASan. Each
 * input is routed twice: the second answer (from the cache) must equal the
 * first.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/router.h"

static const char *const tables[] = { "customers", "subscriptions", "payments" };

/* Routers live for the whole run: the cache must stay bounded across inputs. */
static struct router *routers[2];

static struct router *router_for(unsigned variant)
{
	unsigned i = variant & 1u;
	if (routers[i] == NULL) {
		struct router_legacy legacy = {
			.schema = "public",
			.tables = tables,
			.ntables = 3,
			.mysql_configured = i == 0,
		};
		routers[i] = router_new(&legacy, i == 0 ? 512 : 0, i == 0 ? (1u << 20) : 0);
		if (routers[i] == NULL)
			abort();
	}
	return routers[i];
}

static size_t touch(const char *s)
{
	return s ? strlen(s) : 0;
}

static size_t touch_all(const struct route_decision *d)
{
	return touch(d->sqlstate) + touch(d->message) + touch(d->detail) + touch(d->hint) +
	       touch(d->table) + touch(d->prepare_name) + touch(d->execute_name) +
	       touch(d->deallocate_name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	struct router *r = router_for(data[0]);
	const char *sql = (const char *)data + 1;
	size_t len = size - 1;
	struct route_decision first, again;
	router_route(r, sql, len, NULL, &first);
	size_t n1 = touch_all(&first);
	enum route_target target = first.target;
	unsigned flags = first.flags;
	router_route(r, sql, len, NULL, &again);
	if (again.target != target || again.flags != flags || touch_all(&again) != n1)
		abort();
	if (again.target == ROUTE_REJECT && (again.sqlstate == NULL || strlen(again.sqlstate) != 5))
		abort();
	struct router_stats st;
	router_get_stats(r, &st);
	if (st.cache_bytes > (1u << 20) || st.cache_entries > 512)
		abort();
	return 0;
}

/*
 * classify — statement facts from libpg_query.
 *
 * Turns SQL text into one struct classify_stmt per statement: its kind, every
 * relation read and written (with CTE scoping, locking clauses, writing CTEs,
 * DDL targets), session and transaction effects, and the names of watched
 * tables that appear inside code it cannot analyse (DO blocks, function
 * bodies, SQL passed as text, unparseable statements). It also offers the
 * cheap checks router.c runs before paying for a parse.
 *
 * Pure: no I/O. The parse and the lexical scan come from tree.h (only tree.c
 * includes pg_query.h). A struct classify is per worker thread and not
 * thread-safe; it keeps its scratch memory between calls so steady-state
 * classification does little allocation.
 */
#ifndef SY_CLASSIFY_H
#define SY_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "router/classify-t.h"

/*
 * Texts longer than this are not parsed at all (see classify_raw_mentions).
 * Classification costs ~100 ns and ~40 bytes of transient memory per input
 * byte (libpg_query's tree and JSON plus the token index), on the worker's
 * event loop: 1 MiB bounds one statement at ~100 ms and ~40 MB.
 */
#define CLASSIFY_MAX_TEXT (1u << 20)

struct classify;

/*
 * Builds a classifier that reports mentions of the <watch> names (the legacy
 * tables; copied). A decoded identifier must equal a name exactly; inside
 * strings, bodies and raw text names match in any letter case. Returns NULL
 * on OOM.
 */
struct classify *classify_new(const char *const *watch, size_t nwatch)
	__attribute__((warn_unused_result));
void classify_free(struct classify *c);

/*
 * Classifies <sql> (<len> bytes, NUL-terminated at sql[len], no NUL before;
 * len <= CLASSIFY_MAX_TEXT). A multi-statement text yields one stmt per
 * statement. Returns false on out-of-memory; *out and everything it points
 * to is borrowed until the next classify_text or classify_free.
 */
bool classify_text(struct classify *c, const char *sql, size_t len, struct classify_result *out)
	__attribute__((warn_unused_result));

/*
 * The pre-filter: true when <sql> (need not be NUL-terminated) provably is one
 * plain SELECT/INSERT/UPDATE/DELETE/MERGE/VALUES/TABLE/WITH statement that
 * names no watched table, has no session or transaction effect and so would
 * be classified as touching no watched table. False means "parse it", never
 * "it is dangerous". Costs one pass over the bytes.
 */
bool classify_prefilter(const struct classify *c, const char *sql, size_t len)
	__attribute__((warn_unused_result));

/*
 * The no-parse fallback (out of memory, over-long text): true when <sql> may
 * name a watched table — a watched name occurs anywhere, in any letter case,
 * or an escape (backslash, U&) could spell one. *first gets the first watched
 * name found, or NULL if only an escape was seen. Allocates nothing.
 */
bool classify_raw_mentions(const struct classify *c, const char *sql, size_t len,
			   const char **first) __attribute__((warn_unused_result));

/* "SELECT", "INSERT", ... for messages and tests. */
const char *classify_kind_name(enum classify_kind kind);

#endif

/*
 * router — the proxy-facing entry point: cache, pre-filter, classify, route.
 *
 * Owns one worker's routing machinery and the order in which it is tried,
 * cheapest first:
 *   1. the statement cache, keyed by the exact text (a hash and a memcmp);
 *   2. the pre-filter, a byte scan that proves a text names no legacy table
 *      and needs no parse;
 *   3. the full parse and classification, then the routing rules.
 * Every decision is packed into one flat blob: stored in the cache, or kept
 * in the router's scratch space, and route_decision points into it. That is
 * why decision strings stay valid exactly until the next call.
 */
#include "router/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/classify.h"
#include "router/route.h"
#include "router/stmt_cache.h"
#include "router/translate.h"
#include "router/tree.h"

/* The NUL-terminated copy of the text is kept between calls up to this size. */
#define KEEP_TEXT (64u << 10)

/* The strings of a decision, in packed order. */
enum packed_field {
	PK_SQLSTATE = 0, /* route_result.sqlstate */
	PK_MESSAGE,      /* .message */
	PK_DETAIL,       /* .detail */
	PK_HINT,         /* .hint */
	PK_TABLE,        /* .table */
	PK_PREPARE,      /* .prepare_name */
	PK_EXECUTE,      /* .execute_name */
	PK_DEALLOCATE,   /* .deallocate_name */
	PK_PLATFORM,     /* .platform */
	PK_COUNT,        /* number of fields */
};

#define PK_NONE 0xFFFFu

/* Followed by the NUL-terminated strings; off[] are offsets from the blob start. */
struct packed_head {
	uint64_t fingerprint;
	uint64_t reads;      /* route_result.reads */
	uint64_t needs_copy; /* route_result.needs_copy */
	uint32_t flags;
	uint32_t target;
	uint16_t off[PK_COUNT];
};

#define PACKED_MAX                                                                          \
	(sizeof(struct packed_head) + 6 + ROUTE_MESSAGE_MAX + ROUTE_DETAIL_MAX +            \
	 ROUTE_HINT_MAX + 5 * ROUTE_NAME_MAX)

struct router {
	struct route_policy *policy;
	struct classify *classify;
	struct stmt_cache *cache; /* NULL: caching disabled */
	char *text;               /* NUL-terminated copy handed to libpg_query */
	size_t text_cap;
	struct route_result result;
	unsigned char packed[PACKED_MAX];
	struct router_stats stats;

	/* MySQL translations (NULL without a catalog). */
	const struct legacy_catalog *catalog;
	struct xlate *xlate;
	struct stmt_cache *xcache; /* by text + parameter types */
	char *xkey;                /* that key */
	size_t xkey_cap;
	uint64_t *xblob;           /* an aligned copy of a cached translation */
	size_t xblob_cap;          /* in uint64_t */
	struct tree_arena args;    /* router_sql_execute's argument texts */
};

struct router *router_new(const struct router_legacy *legacy, size_t cache_entries,
			  size_t cache_bytes)
{
	struct router *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->policy = route_policy_new(legacy);
	if (r->policy == NULL)
		goto fail;
	size_t n;
	const char *const *tables = route_policy_tables(r->policy, &n);
	r->classify = classify_new(tables, n);
	if (r->classify == NULL)
		goto fail;
	/* Addresses differ per process (ASLR): an unguessable seed without I/O. */
	uint64_t seed = (uint64_t)(uintptr_t)r ^ ((uint64_t)(uintptr_t)&n << 17) ^
			(uint64_t)(uintptr_t)&router_new;
	if (cache_entries > 0 && cache_bytes > 0) {
		r->cache = stmt_cache_new(cache_entries, cache_bytes, seed);
		if (r->cache == NULL)
			goto fail;
	}
	r->catalog = legacy->catalog;
	if (r->catalog != NULL) {
		r->xlate = xlate_new();
		if (r->xlate == NULL)
			goto fail;
		if (cache_entries > 0 && cache_bytes > 0) {
			r->xcache = stmt_cache_new(cache_entries, cache_bytes, seed * 31 + 7);
			if (r->xcache == NULL)
				goto fail;
		}
	}
	return r;
fail:
	router_free(r);
	return NULL;
}

void router_free(struct router *r)
{
	if (r == NULL)
		return;
	stmt_cache_free(r->cache);
	stmt_cache_free(r->xcache);
	xlate_free(r->xlate);
	free(r->xkey);
	free(r->xblob);
	tree_arena_free(&r->args);
	classify_free(r->classify);
	route_policy_free(r->policy);
	free(r->text);
	free(r);
}

/* ---- packing ---- */

static size_t pack_str(unsigned char *blob, size_t at, struct packed_head *h,
		       enum packed_field f, const char *s)
{
	size_t n = strlen(s);
	if (n == 0) {
		h->off[f] = PK_NONE;
		return at;
	}
	h->off[f] = (uint16_t)at;
	memcpy(blob + at, s, n + 1);
	return at + n + 1;
}

/* Fits by construction: every string is bounded by its route_result buffer. */
static size_t pack(const struct route_result *res, unsigned char *blob)
{
	struct packed_head h = {
		.fingerprint = res->fingerprint,
		.reads = res->reads,
		.needs_copy = res->needs_copy,
		.flags = res->flags,
		.target = (uint32_t)res->target,
	};
	size_t at = sizeof(h);
	at = pack_str(blob, at, &h, PK_SQLSTATE, res->sqlstate);
	at = pack_str(blob, at, &h, PK_MESSAGE, res->message);
	at = pack_str(blob, at, &h, PK_DETAIL, res->detail);
	at = pack_str(blob, at, &h, PK_HINT, res->hint);
	at = pack_str(blob, at, &h, PK_TABLE, res->table);
	at = pack_str(blob, at, &h, PK_PREPARE, res->prepare_name);
	at = pack_str(blob, at, &h, PK_EXECUTE, res->execute_name);
	at = pack_str(blob, at, &h, PK_DEALLOCATE, res->deallocate_name);
	at = pack_str(blob, at, &h, PK_PLATFORM, res->platform);
	memcpy(blob, &h, sizeof(h));
	return at;
}

static const char *unpack_str(const unsigned char *blob, const struct packed_head *h,
			      enum packed_field f)
{
	return h->off[f] == PK_NONE ? NULL : (const char *)blob + h->off[f];
}

/*
 * <blob> is borrowed: the decision's strings point into it. The facts the
 * context decides on come back in *h.
 */
static void unpack(const unsigned char *blob, struct route_decision *out, struct packed_head *hp,
		   const char **platform)
{
	struct packed_head h;
	memcpy(&h, blob, sizeof(h));
	*hp = h;
	out->legacy_tables = h.reads | h.needs_copy;
	out->target = (enum route_target)h.target;
	out->flags = h.flags;
	out->fingerprint = h.fingerprint;
	out->sqlstate = unpack_str(blob, &h, PK_SQLSTATE);
	out->message = unpack_str(blob, &h, PK_MESSAGE);
	out->detail = unpack_str(blob, &h, PK_DETAIL);
	out->hint = unpack_str(blob, &h, PK_HINT);
	out->table = unpack_str(blob, &h, PK_TABLE);
	out->prepare_name = unpack_str(blob, &h, PK_PREPARE);
	out->execute_name = unpack_str(blob, &h, PK_EXECUTE);
	out->deallocate_name = unpack_str(blob, &h, PK_DEALLOCATE);
	*platform = unpack_str(blob, &h, PK_PLATFORM);
}

/* ---- deciding ---- */

static bool text_copy(struct router *r, const char *sql, size_t len)
{
	if (len + 1 > r->text_cap) {
		size_t cap = r->text_cap ? r->text_cap : 1024;
		while (cap < len + 1)
			cap *= 2;
		char *t = realloc(r->text, cap);
		if (t == NULL)
			return false;
		r->text = t;
		r->text_cap = cap;
	}
	memcpy(r->text, sql, len);
	r->text[len] = '\0';
	return true;
}

static void text_trim(struct router *r)
{
	if (r->text_cap > KEEP_TEXT) {
		free(r->text);
		r->text = NULL;
		r->text_cap = 0;
	}
}

static void decide_unchecked(struct router *r, enum route_unchecked why, const char *sql,
			     size_t len)
{
	const char *table = NULL;
	bool may = classify_raw_mentions(r->classify, sql, len, &table);
	route_unchecked(r->policy, why, may, table, len, &r->result);
}

/* Fills r->result for text the pre-filter did not pass; false when it must not be cached (OOM). */
static bool decide(struct router *r, const char *sql, size_t len)
{
	if (memchr(sql, '\0', len) != NULL) {
		decide_unchecked(r, ROUTE_U_NUL, sql, len);
		return true;
	}
	if (len > CLASSIFY_MAX_TEXT) {
		decide_unchecked(r, ROUTE_U_TOO_LONG, sql, len);
		return true;
	}
	struct classify_result facts;
	bool ok = text_copy(r, sql, len) && classify_text(r->classify, r->text, len, &facts);
	text_trim(r);
	if (!ok) {
		decide_unchecked(r, ROUTE_U_OOM, sql, len);
		return false;
	}
	r->stats.full_parses++;
	route_decide(r->policy, &facts, &r->result);
	return true;
}

/* The cached facts under the session's context: a refusal is written into r->result. */
static void apply_context(struct router *r, const struct packed_head *h, const char *platform,
			  const struct route_context *ctx, struct route_decision *out)
{
	enum route_target target = out->target;
	unsigned flags = out->flags;

	if ((h->reads | h->needs_copy) == 0)
		return;
	/* the refusal is written into r->result: the name must not point there */
	char where[ROUTE_NAME_MAX] = "";
	if (h->needs_copy != 0 && platform != NULL)
		snprintf(where, sizeof(where), "%s", platform);
	route_apply_context(r->policy, h->reads, h->needs_copy, where, ctx, &target, &flags,
			    &r->result);
	out->flags = flags;
	if (target == ROUTE_REJECT && out->target != ROUTE_REJECT) {
		out->sqlstate = r->result.sqlstate;
		out->message = r->result.message;
		out->detail = r->result.detail[0] ? r->result.detail : NULL;
		out->hint = r->result.hint[0] ? r->result.hint : NULL;
		out->table = r->result.table[0] ? r->result.table : NULL;
	}
	out->target = target;
}

void router_route(struct router *r, const char *sql, size_t len, const struct route_context *ctx,
		  struct route_decision *out)
{
	struct packed_head h;
	const char *platform;

	if (sql == NULL) {
		sql = "";
		len = 0;
	}
	if (r->cache != NULL) {
		size_t vlen;
		const unsigned char *v = stmt_cache_get(r->cache, sql, len, &vlen);
		if (v != NULL) {
			r->stats.cache_hits++;
			unpack(v, out, &h, &platform);
			apply_context(r, &h, platform, ctx, out);
			return;
		}
	}
	/*
	 * Text that names no legacy table: a byte scan settles it, and the answer
	 * is the same constant for all of it. It is not cached: the scan costs no
	 * more than a lookup saves, and unique literals (pgbench's "WHERE aid =
	 * 12345" never repeats) would churn the cache and evict the parsed
	 * decisions it exists for.
	 */
	if (classify_prefilter(r->classify, sql, len)) {
		r->stats.prefilter_passes++;
		memset(out, 0, sizeof(*out));
		out->target = ROUTE_SUPABASE;
		return;
	}
	bool cacheable = decide(r, sql, len);
	size_t n = pack(&r->result, r->packed);
	const unsigned char *stored = NULL;
	if (r->cache != NULL && cacheable)
		stored = stmt_cache_put(r->cache, sql, len, r->packed, n);
	unpack(stored ? stored : r->packed, out, &h, &platform);
	apply_context(r, &h, platform, ctx, out);
}

void router_get_stats(const struct router *r, struct router_stats *out)
{
	*out = r->stats;
	out->cache_entries = stmt_cache_entries(r->cache);
	out->cache_bytes = stmt_cache_bytes(r->cache);
}

/* ---- translating ---- */

static bool grow_to(void **p, size_t *cap, size_t need, size_t unit)
{
	if (need <= *cap)
		return true;
	size_t c = *cap ? *cap : 256;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * unit);
	if (q == NULL)
		return false;
	*p = q;
	*cap = c;
	return true;
}

static void translate_oom(struct xlate_result *out)
{
	memset(out, 0, sizeof(*out));
	out->status = XLATE_OOM;
	memcpy(out->sqlstate, "53200", 6);
	snprintf(out->message, sizeof(out->message), "out of memory translating a legacy read");
}

void router_translate(struct router *r, const char *sql, size_t len, const uint32_t *param_types,
		      uint16_t nparam_types, struct xlate_result *out)
{
	if (r->xlate == NULL) {
		memset(out, 0, sizeof(*out));
		out->status = XLATE_REFUSED;
		memcpy(out->sqlstate, "0A000", 6);
		snprintf(out->message, sizeof(out->message),
			 "legacy tables are served by the MySQL backend, which is not configured");
		return;
	}
	if (param_types == NULL)
		nparam_types = 0;
	/* The key: the text, a NUL (never inside a routed text), the types as bytes. */
	size_t tbytes = (size_t)nparam_types * sizeof(uint32_t);
	size_t klen = len + 1 + tbytes;
	if (!grow_to((void **)&r->xkey, &r->xkey_cap, klen, 1)) {
		translate_oom(out);
		return;
	}
	memcpy(r->xkey, sql, len);
	r->xkey[len] = '\0';
	if (tbytes)
		memcpy(r->xkey + len + 1, param_types, tbytes);
	size_t vlen;
	const void *v = r->xcache ? stmt_cache_get(r->xcache, r->xkey, klen, &vlen) : NULL;
	if (v != NULL) {
		/* Cached bytes need not be aligned: xlate_unpack wants 8. */
		if (!grow_to((void **)&r->xblob, &r->xblob_cap, (vlen + 7) / 8, sizeof(uint64_t))) {
			translate_oom(out);
			return;
		}
		memcpy(r->xblob, v, vlen);
		xlate_unpack((const unsigned char *)r->xblob, out);
		r->stats.translation_hits++;
		return;
	}
	if (!text_copy(r, sql, len)) {
		translate_oom(out);
		return;
	}
	struct xlate_input in = {
		.sql = r->text,
		.len = len,
		.param_types = param_types,
		.nparam_types = nparam_types,
		.cat = r->catalog,
	};
	xlate_read(r->xlate, &in, out);
	r->stats.translations++;
	if (out->status == XLATE_OOM || r->xcache == NULL)
		return;
	size_t need = xlate_packed_size(out);
	if (!grow_to((void **)&r->xblob, &r->xblob_cap, (need + 7) / 8, sizeof(uint64_t)))
		return;
	xlate_pack(out, (unsigned char *)r->xblob);
	(void)stmt_cache_put(r->xcache, r->xkey, klen, r->xblob, need);
	/* *out still points into the translator's memory, valid until the next call. */
	text_trim(r);
}

/* ---- multi-statement texts ---- */

size_t router_pieces(struct router *r, const char *sql, size_t len,
		     const struct route_context *ctx, struct router_piece *out, size_t max)
{
	struct classify_result facts;

	if (len > CLASSIFY_MAX_TEXT || memchr(sql, '\0', len) != NULL || !text_copy(r, sql, len))
		return 0;
	bool ok = classify_text(r->classify, r->text, len, &facts);
	text_trim(r);
	if (!ok || facts.nstmts > max)
		return 0;
	for (size_t i = 0; i < facts.nstmts; i++) {
		const struct classify_stmt *st = &facts.stmts[i];
		enum route_target t = route_stmt_target(r->policy, st, ctx, &out[i].legacy_tables);
		if (t == ROUTE_REJECT || st->offset > len || st->len > len - st->offset)
			return 0;
		out[i].offset = (uint32_t)st->offset;
		out[i].len = (uint32_t)st->len;
		out[i].target = (uint8_t)t;
		out[i].txn_control = (st->flags & CLASSIFY_F_TXN_CONTROL) != 0;
	}
	return facts.nstmts;
}

/* ---- single utility statements the session looks into ---- */

/*
 * Parses short text <sql> holding one statement into <d>: the fields of
 * that statement's node and its type, or 0 (not one parseable statement).
 */
static uint32_t parse_one(struct router *r, const char *sql, size_t len, struct tree *d,
			  struct tree_arena *a, const char **type, uint32_t *tlen)
{
	struct tree_error err;

	if (len > 4096 || memchr(sql, '\0', len) != NULL || !text_copy(r, sql, len))
		return 0;
	if (tree_parse(d, a, r->text, &err) != TREE_OK)
		return 0;
	uint32_t stmts = tree_member(d, 0, "stmts", 5);
	uint32_t first = tree_first(d, stmts);
	if (first == 0 || tree_next(d, stmts, first) != 0)
		return 0;
	return tree_unwrap(d, tree_get(d, first, "stmt"), type, tlen);
}

static void cursor_name_of(const struct tree *d, uint32_t fields, struct tree_arena *a,
			   struct router_cursor_op *out)
{
	uint32_t v = tree_get(d, fields, "portalname");
	char *name = tree_is(d, v, TREE_STR) ? tree_decode(a, d, v) : NULL;
	if (name != NULL)
		snprintf(out->name, sizeof(out->name), "%s", name);
}

void router_cursor_op(struct router *r, const char *sql, size_t len, struct router_cursor_op *out)
{
	struct tree d = { 0 };
	struct tree_arena a = { 0 };
	const char *type;
	uint32_t tlen;

	memset(out, 0, sizeof(*out));
	uint32_t f = parse_one(r, sql, len, &d, &a, &type, &tlen);
	if (f != 0) {
		{
			if (tree_type_is(type, tlen, "FetchStmt")) {
				uint32_t dir = tree_get(&d, f, "direction");
				bool forward = dir == 0 || tree_str_is(&d, dir, "FETCH_FORWARD");
				out->count = tree_int(&d, tree_get(&d, f, "howMany"));
				/* FETCH ALL is LONG_MAX (tree_int clamps it a little lower). */
				if (out->count > INT64_MAX / 100)
					out->count = INT64_MAX;
				out->kind = !forward || out->count <= 0 ? ROUTER_CURSOR_OTHER
					    : tree_true(&d, tree_get(&d, f, "ismove")) ? ROUTER_CURSOR_MOVE
										      : ROUTER_CURSOR_FETCH;
				cursor_name_of(&d, f, &a, out);
			} else if (tree_type_is(type, tlen, "ClosePortalStmt")) {
				out->kind = ROUTER_CURSOR_CLOSE;
				cursor_name_of(&d, f, &a, out);
			}
		}
	}
	tree_free(&d);
	tree_arena_free(&a);
	text_trim(r);
}

/* ---- SET statements ---- */

/*
 * The text of one constant of a SET's argument list: 3, 1.5, 'hex'. <sql>
 * is the parsed text: libpg_query writes a negative integer there as an
 * empty "ival" (found at its location in the text instead).
 */
static bool const_text(const struct tree *d, uint32_t arg, struct tree_arena *a, const char *sql,
		       char *out, size_t cap)
{
	const char *type;
	uint32_t tlen;
	uint32_t f = tree_unwrap(d, arg, &type, &tlen);
	if (f == 0)
		return false;
	if (tree_type_is(type, tlen, "TypeCast"))
		f = tree_unwrap(d, tree_get(d, f, "arg"), &type, &tlen);
	if (f == 0 || !tree_type_is(type, tlen, "A_Const"))
		return false;
	uint32_t v, iv = tree_get(d, f, "ival");
	if ((v = tree_get(d, iv, "ival")) != 0) {
		snprintf(out, cap, "%lld", (long long)tree_int(d, v));
		return true;
	}
	if (iv != 0) {
		int64_t at = tree_int(d, tree_get(d, f, "location"));
		if (at < 0 || (size_t)at >= strlen(sql))
			return false;
		char *end;
		long long n = strtoll(sql + at, &end, 10);
		snprintf(out, cap, "%lld", end == sql + at ? 0LL : n);
		return true;
	}
	if ((v = tree_get(d, tree_get(d, f, "fval"), "fval")) != 0 ||
	    (v = tree_get(d, tree_get(d, f, "sval"), "sval")) != 0) {
		char *t = tree_is(d, v, TREE_STR) ? tree_decode(a, d, v) : NULL;
		if (t == NULL)
			return false;
		snprintf(out, cap, "%s", t);
		return true;
	}
	return false;
}

bool router_set_value(struct router *r, const char *sql, size_t len, char *name, size_t name_cap,
		      char *value, size_t value_cap, bool *reset)
{
	struct tree d = { 0 };
	struct tree_arena a = { 0 };
	bool ok = false;

	const char *type;
	uint32_t tlen;

	*reset = false;
	name[0] = value[0] = '\0';
	uint32_t f = parse_one(r, sql, len, &d, &a, &type, &tlen);
	if (f != 0) {
		if (tree_type_is(type, tlen, "VariableSetStmt")) {
			uint32_t kind = tree_get(&d, f, "kind");
			uint32_t nv = tree_get(&d, f, "name");
			char *n = tree_is(&d, nv, TREE_STR) ? tree_decode(&a, &d, nv) : NULL;
			if (tree_str_is(&d, kind, "VAR_RESET_ALL")) {
				snprintf(name, name_cap, "all");
				*reset = ok = true;
			} else if (n != NULL && (tree_str_is(&d, kind, "VAR_RESET") ||
						 tree_str_is(&d, kind, "VAR_SET_DEFAULT"))) {
				snprintf(name, name_cap, "%s", n);
				*reset = ok = true;
			} else if (n != NULL && (kind == 0 || tree_str_is(&d, kind, "VAR_SET_VALUE"))) {
				uint32_t args = tree_get(&d, f, "args");
				uint32_t a0 = tree_first(&d, args);
				if (a0 != 0 && tree_next(&d, args, a0) == 0 &&
				    const_text(&d, a0, &a, r->text, value, value_cap)) {
					snprintf(name, name_cap, "%s", n);
					ok = true;
				}
			}
		}
	}
	tree_free(&d);
	tree_arena_free(&a);
	text_trim(r);
	return ok;
}

/* ---- SQL-level PREPARE and EXECUTE ---- */

static bool token_is(const char *sql, const struct tree_token *t, const char *word)
{
	size_t n = strlen(word);
	return t->end - t->start == (int32_t)n && strncasecmp(sql + t->start, word, n) == 0;
}

bool router_sql_prepare(struct router *r, const char *sql, size_t len,
			struct router_sql_prepare *out)
{
	struct tree d = { 0 };
	struct tree_arena a = { 0 };
	const char *type;
	uint32_t tlen;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	uint32_t f = parse_one(r, sql, len, &d, &a, &type, &tlen);
	if (f != 0 && tree_type_is(type, tlen, "PrepareStmt")) {
		uint32_t nv = tree_get(&d, f, "name");
		char *name = tree_is(&d, nv, TREE_STR) ? tree_decode(&a, &d, nv) : NULL;
		struct tree_token *toks;
		size_t ntoks;
		/* The statement starts after the first AS outside the parenthesised types. */
		if (name != NULL && tree_scan(&a, r->text, &toks, &ntoks) == TREE_OK) {
			int depth = 0;
			for (size_t i = 2; i + 1 < ntoks; i++) {
				const struct tree_token *t = &toks[i];
				if (t->start < 0 || t->end < t->start || (size_t)t->end > len)
					break;
				depth += token_is(r->text, t, "(") - token_is(r->text, t, ")");
				if (depth == 0 && token_is(r->text, t, "AS")) {
					int32_t at = toks[i + 1].start;
					if (at < 0 || (size_t)at >= len)
						break;
					snprintf(out->name, sizeof(out->name), "%s", name);
					out->inner_off = (uint32_t)at;
					out->inner_len = (uint32_t)(len - (size_t)at);
					ok = strlen(name) < sizeof(out->name);
					break;
				}
			}
		}
	}
	tree_free(&d);
	tree_arena_free(&a);
	text_trim(r);
	return ok;
}

/* One EXECUTE argument's text into the router's arena; false if it is not a constant. */
static bool arg_text(struct router *r, const struct tree *d, struct tree_arena *a, uint32_t arg,
		     const char **val, size_t *vlen)
{
	const char *type;
	uint32_t tlen;
	uint32_t f = tree_unwrap(d, arg, &type, &tlen);
	if (f != 0 && tree_type_is(type, tlen, "TypeCast"))
		f = tree_unwrap(d, tree_get(d, f, "arg"), &type, &tlen);
	if (f == 0 || !tree_type_is(type, tlen, "A_Const"))
		return false;
	*val = NULL;
	*vlen = 0;
	if (tree_true(d, tree_get(d, f, "isnull")))
		return true;
	char buf[64];
	const char *text = NULL;
	uint32_t v, iv = tree_get(d, f, "ival"), bv = tree_get(d, f, "boolval");
	if (iv != 0) {
		if ((v = tree_get(d, iv, "ival")) != 0) {
			snprintf(buf, sizeof(buf), "%lld", (long long)tree_int(d, v));
		} else {
			/* libpg_query writes a negative integer (and 0) empty: read it from the text. */
			int64_t at = tree_int(d, tree_get(d, f, "location"));
			char *end;
			long long n = at >= 0 && (size_t)at < strlen(r->text)
					      ? strtoll(r->text + at, &end, 10) : 0;
			snprintf(buf, sizeof(buf), "%lld", n);
		}
		text = buf;
	} else if (bv != 0) {
		text = tree_true(d, tree_get(d, bv, "boolval")) ? "t" : "f";
	} else if ((v = tree_get(d, tree_get(d, f, "fval"), "fval")) != 0 ||
		   (v = tree_get(d, tree_get(d, f, "sval"), "sval")) != 0 ||
		   (v = tree_get(d, tree_get(d, f, "bsval"), "bsval")) != 0) {
		text = tree_is(d, v, TREE_STR) ? tree_decode(a, d, v) : NULL;
	} else if (tree_get(d, f, "sval") != 0) {
		text = ""; /* '' */
	}
	if (text == NULL)
		return false;
	*vlen = strlen(text);
	char *copy = tree_arena_strndup(&r->args, text, *vlen);
	*val = copy;
	return copy != NULL;
}

bool router_sql_execute(struct router *r, const char *sql, size_t len,
			struct router_sql_execute *out)
{
	struct tree d = { 0 };
	struct tree_arena a = { 0 };
	const char *type;
	uint32_t tlen;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	tree_arena_reset(&r->args);
	uint32_t f = parse_one(r, sql, len, &d, &a, &type, &tlen);
	if (f != 0 && tree_type_is(type, tlen, "ExecuteStmt")) {
		uint32_t nv = tree_get(&d, f, "name");
		char *name = tree_is(&d, nv, TREE_STR) ? tree_decode(&a, &d, nv) : NULL;
		ok = name != NULL && strlen(name) < sizeof(out->name);
		if (ok)
			snprintf(out->name, sizeof(out->name), "%s", name);
		uint32_t params = tree_get(&d, f, "params");
		for (uint32_t e = tree_first(&d, params); ok && e != 0; e = tree_next(&d, params, e)) {
			if (out->nargs == ROUTER_EXECUTE_MAX_ARGS ||
			    !arg_text(r, &d, &a, e, &out->vals[out->nargs], &out->lens[out->nargs]))
				ok = false;
			else
				out->nargs++;
		}
	}
	tree_free(&d);
	tree_arena_free(&a);
	text_trim(r);
	return ok;
}

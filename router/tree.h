/*
 * tree — one parsed statement list from libpg_query, indexed for random access.
 *
 * Owns every call into libpg_query: the parse (its JSON output, indexed here
 * into a flat token array, struct tree), the lexical scan, the statement
 * splitter and the fingerprint. Also the arena that the strings and arrays of
 * one classification live in, and the decoding of JSON strings. classify.c
 * walks the tree for facts; the MySQL translator will read the same tree.
 *
 * Values are token indexes (uint32_t). Token 0 is the root object, never a
 * member value, so 0 doubles as "absent" and lookups chain safely:
 * tree_get(d, tree_get(d, o, "alias"), "aliasname") is 0 when there is no
 * alias. The accessors are inline: the walk calls them for nearly every token.
 *
 * Pure: no I/O. Only tree.c includes pg_query.h. Nothing here is thread-safe;
 * each worker's classifier owns its own struct tree and struct tree_arena and
 * keeps their memory between calls.
 */
#ifndef SY_TREE_H
#define SY_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Outcome of building something from text; each function says which it returns. */
enum tree_status {
	TREE_OK = 0,      /* done */
	TREE_OOM,         /* out of memory */
	TREE_MALFORMED,   /* not the JSON libpg_query writes, or its output could not be read */
	TREE_SYNTAX,      /* libpg_query rejected the SQL: see struct tree_error */
};

/* ---- the arena: every string and array of one result ---- */

struct tree_arena_chunk;

/* Zero-initialised is empty. */
struct tree_arena {
	struct tree_arena_chunk *head;
};

/* <n> bytes aligned to 8, or NULL on OOM. Valid until tree_arena_reset/free. */
void *tree_arena_alloc(struct tree_arena *a, size_t n) __attribute__((warn_unused_result));
/* A NUL-terminated copy of s[0, n), or NULL on OOM. */
char *tree_arena_strndup(struct tree_arena *a, const char *s, size_t n)
	__attribute__((warn_unused_result));
/* Forgets every allocation; keeps one standard chunk so the next call needs no malloc. */
void tree_arena_reset(struct tree_arena *a);
/* Releases everything; the arena is empty (and reusable) afterwards. */
void tree_arena_free(struct tree_arena *a);

/* ---- the flat JSON index ---- */

enum tree_type {
	TREE_OBJ = 0, /* object: members are key, value, key, value, ... */
	TREE_ARR,     /* array */
	TREE_STR,     /* string: start/end exclude the quotes, escapes not decoded */
	TREE_NUM,     /* number */
	TREE_LIT,     /* true, false, null */
};

/* One token; a container's subtree is the tokens up to (excluding) next. */
struct tree_tok {
	uint32_t start; /* byte offsets into tree.s */
	uint32_t end;
	uint32_t next;  /* the token after this one's subtree */
	uint8_t type;   /* enum tree_type */
	uint8_t key;    /* a string in key position */
};

/*
 * An indexed document. Zero-initialised is empty; release with tree_free.
 * <s> is the indexed text (libpg_query's, after tree_parse); t[0, n) its tokens.
 */
struct tree {
	const char *s;
	struct tree_tok *t;
	uint32_t n;
	uint32_t cap;
	char *pg_json;   /* libpg_query's output that <s> points into (tree_parse) */
	char *pg_stderr; /* and what came with it; both freed by tree_release */
};

/* Tokens kept between calls; tree_trim releases a larger token array. */
#define TREE_KEEP_TOKENS (64u << 10)

/*
 * Indexes the JSON in s[0, n) (need not be NUL-terminated; borrowed for as
 * long as <d> is read). Any bytes are safe: TREE_MALFORMED for anything but
 * an object at the top, TREE_OOM. Iterative: nesting depth costs no stack.
 * Only after TREE_OK may the accessors below be used.
 */
enum tree_status tree_index(struct tree *d, const char *s, size_t n)
	__attribute__((warn_unused_result));

/* Releases the token array if it grew beyond TREE_KEEP_TOKENS (the next index reallocates). */
void tree_trim(struct tree *d);

/*
 * Done reading: releases libpg_query's output (it can be large) but keeps the
 * token array for the next parse. <d> holds no tokens afterwards.
 */
void tree_release(struct tree *d);

/* Releases everything <d> holds; <d> is empty (and reusable) afterwards. */
void tree_free(struct tree *d);

/*
 * True when token <k> spans exactly lit[0, n). Names spelled in the code use
 * tree_span_eq and friends, which take the length from the literal at compile
 * time (the "" lit trick rejects anything but a literal): the walk compares
 * keys for nearly every token, so strlen would dominate.
 */
static inline bool tree_span_eqn(const struct tree *d, uint32_t k, const char *lit, size_t n)
{
	const struct tree_tok *t = &d->t[k];
	return t->end - t->start == n && memcmp(d->s + t->start, lit, n) == 0;
}
#define tree_span_eq(d, k, lit) tree_span_eqn((d), (k), "" lit, sizeof(lit) - 1)

/* The value of member key[0, n) of object <obj> (any index), or 0. */
static inline uint32_t tree_member(const struct tree *d, uint32_t obj, const char *key, size_t n)
{
	if (obj >= d->n || d->t[obj].type != TREE_OBJ)
		return 0;
	uint32_t end = d->t[obj].next;
	for (uint32_t k = obj + 1; k + 1 < end; k = d->t[k + 1].next) {
		if (tree_span_eqn(d, k, key, n))
			return k + 1;
	}
	return 0;
}

/*
 * The value of member key[0, n) of <obj>, or 0; 0 (absent) in, 0 out. The
 * root is token 0 too, so its members are read with tree_member.
 */
static inline uint32_t tree_getn(const struct tree *d, uint32_t obj, const char *key, size_t n)
{
	return obj == 0 ? 0 : tree_member(d, obj, key, n);
}
#define tree_get(d, obj, key) tree_getn((d), (obj), "" key, sizeof(key) - 1)

/* True when <v> is present and of <type> (enum tree_type). */
static inline bool tree_is(const struct tree *d, uint32_t v, uint8_t type)
{
	return v != 0 && v < d->n && d->t[v].type == type;
}

/* True when <v> is a string whose raw (undecoded) bytes are lit[0, n). */
static inline bool tree_str_isn(const struct tree *d, uint32_t v, const char *lit, size_t n)
{
	return tree_is(d, v, TREE_STR) && tree_span_eqn(d, v, lit, n);
}
#define tree_str_is(d, v, lit) tree_str_isn((d), (v), "" lit, sizeof(lit) - 1)

/* True when <v> is the literal true. */
static inline bool tree_true(const struct tree *d, uint32_t v)
{
	return tree_is(d, v, TREE_LIT) && tree_span_eq(d, v, "true");
}

/* The integer <v> holds (its leading digits, clamped), 0 if it is not a number. */
static inline int64_t tree_int(const struct tree *d, uint32_t v)
{
	if (!tree_is(d, v, TREE_NUM))
		return 0;
	const struct tree_tok *t = &d->t[v];
	int64_t x = 0;
	bool neg = false;
	for (uint32_t i = t->start; i < t->end; i++) {
		char ch = d->s[i];
		if (ch == '-' && i == t->start)
			neg = true;
		else if (ch >= '0' && ch <= '9' && x < INT64_MAX / 10 - 10)
			x = x * 10 + (ch - '0');
		else
			break;
	}
	return neg ? -x : x;
}

/*
 * A Node is written as {"TypeName": {fields}}. Returns the fields object and
 * the type name (borrowed from d->s, not NUL-terminated) through <type> and
 * <tlen>, or 0 when <v> is not a wrapped node.
 */
static inline uint32_t tree_unwrap(const struct tree *d, uint32_t v, const char **type,
				   uint32_t *tlen)
{
	if (!tree_is(d, v, TREE_OBJ) || v + 2 >= d->t[v].next)
		return 0;
	uint32_t k = v + 1, val = v + 2;
	if (d->t[val].next != d->t[v].next || d->t[val].type != TREE_OBJ)
		return 0;
	const char *s = d->s + d->t[k].start;
	if (d->t[k].end == d->t[k].start || s[0] < 'A' || s[0] > 'Z')
		return 0;
	*type = s;
	*tlen = d->t[k].end - d->t[k].start;
	return val;
}

/* True when a node type name from tree_unwrap is lit[0, n); tree_type_is takes a literal. */
static inline bool tree_type_isn(const char *type, uint32_t tlen, const char *lit, size_t n)
{
	return tlen == n && memcmp(type, lit, tlen) == 0;
}
#define tree_type_is(type, tlen, lit) tree_type_isn((type), (tlen), "" lit, sizeof(lit) - 1)

/* Elements of an array: for (e = tree_first(d, a); e; e = tree_next(d, a, e)). */
static inline uint32_t tree_first(const struct tree *d, uint32_t arr)
{
	if (!tree_is(d, arr, TREE_ARR) || arr + 1 >= d->t[arr].next)
		return 0;
	return arr + 1;
}

static inline uint32_t tree_next(const struct tree *d, uint32_t arr, uint32_t e)
{
	uint32_t n = d->t[e].next;
	return n < d->t[arr].next ? n : 0;
}

/*
 * Decodes string token <v> (JSON's escapes: \" \\ \/ \b \f \n \r \t and
 * \uXXXX, surrogate pairs joined) into a NUL-terminated UTF-8 copy in <a>;
 * NULL on OOM. \u0000 and \u escapes of surrogate halves, which
 * libpg_query never writes (it writes UTF-8 as is), lose only their "\u".
 * <v> must be a TREE_STR token.
 */
char *tree_decode(struct tree_arena *a, const struct tree *d, uint32_t v)
	__attribute__((warn_unused_result));

/* ---- decoding helpers shared with the SQL-lexical decoders ---- */

/* The value of hex digit <ch>, or -1. */
int tree_hexval(char ch);
/* The <digits> hex digits at s[i]; *ok false if they do not all fit in s[0, n) and parse. */
uint32_t tree_hex_run(const char *s, size_t n, size_t i, size_t digits, bool *ok);
/* Writes code point <cp> as UTF-8 to out[0, 4); returns its length. */
size_t tree_utf8_put(char *out, uint32_t cp);

/* ---- libpg_query ---- */

/* Why a text did not parse. */
struct tree_error {
	const char *message; /* libpg_query's message, copied into the arena */
	int cursorpos;       /* 1-based character position of the error in the text, 0 if none */
};

/*
 * Parses <sql> (NUL-terminated) and indexes the result into <d>, replacing
 * what <d> held. TREE_OK: <d> holds the statement list ({"version":..,
 * "stmts":[{"stmt":{..},"stmt_location":..,"stmt_len":..},..]}) until the
 * next tree_parse, tree_release or tree_free. TREE_SYNTAX: *err is set (message in <a>).
 * TREE_MALFORMED: libpg_query's output did not index (nothing is held).
 * TREE_OOM: out of memory (nothing is held).
 */
enum tree_status tree_parse(struct tree *d, struct tree_arena *a, const char *sql,
			    struct tree_error *err) __attribute__((warn_unused_result));

/* Token kinds of the lexical scan that callers tell apart; every other token is TREE_TOK_OTHER. */
enum tree_token_kind {
	TREE_TOK_OTHER = 0, /* keywords (but UESCAPE), operators, numbers, parameters, ... */
	TREE_TOK_IDENT,     /* identifier, plain or "quoted" */
	TREE_TOK_UIDENT,    /* U&"..." identifier */
	TREE_TOK_SCONST,    /* string constant: '..', E'..', N'..', $$..$$ */
	TREE_TOK_USCONST,   /* U&'...' string constant */
	TREE_TOK_UESCAPE,   /* the UESCAPE keyword */
};

/* Keyword category of a token (Postgres' kwlist.h), TREE_KW_NONE for non-keywords. */
enum tree_keyword_kind {
	TREE_KW_NONE = 0,    /* not a keyword */
	TREE_KW_UNRESERVED,  /* unreserved keyword */
	TREE_KW_COL_NAME,    /* reserved except as a column name */
	TREE_KW_TYPE_FUNC,   /* reserved except as a type or function name */
	TREE_KW_RESERVED,    /* reserved */
};

/* One token of the lexical scan. */
struct tree_token {
	int32_t start;   /* byte offset of its first byte (libpg_query's; check it before use) */
	int32_t end;     /* as libpg_query reports it: just past the token, but not for U& ones */
	uint8_t kind;    /* enum tree_token_kind */
	uint8_t keyword; /* enum tree_keyword_kind */
};

/*
 * Splits <sql> (NUL-terminated) into tokens as Postgres' scanner does.
 * TREE_OK: *toks (in <a>) and *ntoks are set. TREE_MALFORMED: the scanner
 * failed or its output could not be read. TREE_OOM: the arena is full.
 * Otherwise *toks is NULL and *ntoks 0.
 */
enum tree_status tree_scan(struct tree_arena *a, const char *sql, struct tree_token **toks,
			   size_t *ntoks) __attribute__((warn_unused_result));

/* Where one statement sits in a text, as the splitter reports it (unchecked). */
struct tree_span {
	int location;
	int len;
};

/*
 * Splits <sql> (NUL-terminated) into statements with the scanner (works on
 * text that does not parse). TREE_OK: *spans (in <a>) and *nspans are set,
 * possibly none. TREE_MALFORMED: the splitter failed. TREE_OOM: the arena is
 * full. Otherwise *spans is NULL and *nspans 0. Pieces without a keyword
 * ("SELECT 1; payments") are left out, not reported.
 */
enum tree_status tree_split(struct tree_arena *a, const char *sql, struct tree_span **spans,
			    size_t *nspans) __attribute__((warn_unused_result));

/* libpg_query's fingerprint of <sql> (NUL-terminated) into *out; false if it has none. */
bool tree_fingerprint(const char *sql, uint64_t *out) __attribute__((warn_unused_result));

#endif

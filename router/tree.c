/*
 * tree — one parsed statement list from libpg_query, indexed for random access.
 *
 * Why the JSON tree and not pg_query_parse_protobuf: with the protobuf-c
 * bundled in Debian's libpg_query 15-4.0, packing and unpacking a Node costs
 * time linear in the ~250 members of its oneof, for every node. Measured on
 * a typical 3-table join: protobuf parse + unpack ~65 us, JSON parse ~10 us.
 * The JSON carries the same tree (field names are the proto's json_name), so
 * callers read it through a flat token index built in one pass (struct
 * tree): no allocation per node, random access to an object's fields, and
 * subtrees skipped in O(1). Only the scanner's output is protobuf (tokens
 * have no oneof, so it is cheap).
 *
 * This is the one file that includes pg_query.h.
 */
#include "router/tree.h"

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK (16u << 10)

/* ---- arena: every string and array of one result ---- */

/* An arena is a list of chunks, newest first; allocations come from the head. */
struct tree_arena_chunk {
	struct tree_arena_chunk *next;
	size_t size;
	size_t used;
};

void *tree_arena_alloc(struct tree_arena *a, size_t n)
{
	if (n > SIZE_MAX / 2)
		return NULL;
	n = (n + 7) & ~(size_t)7;
	struct tree_arena_chunk *ch = a->head;
	if (ch == NULL || ch->size - ch->used < n) {
		size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		ch = malloc(sizeof(*ch) + size);
		if (ch == NULL)
			return NULL;
		ch->size = size;
		ch->used = 0;
		ch->next = a->head;
		a->head = ch;
	}
	void *p = (unsigned char *)(ch + 1) + ch->used;
	ch->used += n;
	return p;
}

/* Keeps one standard chunk so the next call starts without malloc. */
void tree_arena_reset(struct tree_arena *a)
{
	struct tree_arena_chunk *keep = NULL;
	struct tree_arena_chunk *ch = a->head;
	while (ch != NULL) {
		struct tree_arena_chunk *next = ch->next;
		if (keep == NULL && ch->size == ARENA_CHUNK) {
			keep = ch;
			keep->used = 0;
			keep->next = NULL;
		} else {
			free(ch);
		}
		ch = next;
	}
	a->head = keep;
}

void tree_arena_free(struct tree_arena *a)
{
	tree_arena_reset(a);
	free(a->head);
	a->head = NULL;
}

char *tree_arena_strndup(struct tree_arena *a, const char *s, size_t n)
{
	char *p = tree_arena_alloc(a, n + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* ---- the flat JSON index ---- */

static bool index_push(struct tree *d, uint8_t type, uint32_t start)
{
	if (d->n == d->cap) {
		uint32_t cap = d->cap ? d->cap * 2 : 1024;
		if (cap <= d->cap)
			return false;
		struct tree_tok *t = realloc(d->t, (size_t)cap * sizeof(*t));
		if (t == NULL)
			return false;
		d->t = t;
		d->cap = cap;
	}
	struct tree_tok *k = &d->t[d->n++];
	k->start = start;
	k->end = start;
	k->next = d->n;
	k->type = type;
	k->key = 0;
	return true;
}

/*
 * While a container is open its <end> counts its direct children and its
 * <next> links to the enclosing container; both get their final values when
 * it closes. Returns the new token's key flag through the parent's count.
 */
static void index_child(struct tree *d, uint32_t open, struct tree_tok *k)
{
	if (open == UINT32_MAX)
		return;
	struct tree_tok *p = &d->t[open];
	if (p->type == TREE_OBJ && (p->end % 2) == 0)
		k->key = 1;
	p->end++;
}

/* The closing quote of a string starting at s[i]: a quote after an even run of backslashes. */
static size_t json_string_end(const char *s, size_t n, size_t i)
{
	while (i < n) {
		const char *q = memchr(s + i, '"', n - i);
		if (q == NULL)
			return n;
		size_t at = (size_t)(q - s), bs = 0;
		while (at - bs > i && s[at - bs - 1] == '\\')
			bs++;
		if (bs % 2 == 0)
			return at;
		i = at + 1;
	}
	return n;
}

static bool json_delim(char ch)
{
	return ch == ',' || ch == '}' || ch == ']' || ch == ':' || ch == ' ' || ch == '\n' ||
	       ch == '\t' || ch == '\r';
}

static enum tree_status json_open(struct tree *d, uint32_t *open, uint8_t type, size_t i)
{
	if (*open == UINT32_MAX && d->n != 0)
		return TREE_MALFORMED;
	if (!index_push(d, type, (uint32_t)i))
		return TREE_OOM;
	uint32_t me = d->n - 1;
	index_child(d, *open, &d->t[me]);
	d->t[me].key = 0;
	d->t[me].end = 0;
	d->t[me].next = *open;
	*open = me;
	return TREE_OK;
}

static enum tree_status json_close(struct tree *d, uint32_t *open, uint8_t type, size_t i)
{
	if (*open == UINT32_MAX || d->t[*open].type != type)
		return TREE_MALFORMED;
	struct tree_tok *k = &d->t[*open];
	uint32_t parent = k->next;
	k->next = d->n;
	k->end = (uint32_t)i + 1;
	*open = parent;
	return TREE_OK;
}

static enum tree_status json_scalar(struct tree *d, uint32_t open, const char *s, size_t n,
				    size_t *i)
{
	if (open == UINT32_MAX)
		return TREE_MALFORMED;
	size_t start = *i, end;
	uint8_t type;
	if (s[start] == '"') {
		end = json_string_end(s, n, start + 1);
		if (end >= n)
			return TREE_MALFORMED;
		type = TREE_STR;
		start++;
		*i = end + 1;
	} else {
		end = start;
		while (end < n && !json_delim(s[end]))
			end++;
		bool num = s[start] == '-' || (s[start] >= '0' && s[start] <= '9');
		type = num ? TREE_NUM : TREE_LIT;
		*i = end;
	}
	if (!index_push(d, type, (uint32_t)start))
		return TREE_OOM;
	struct tree_tok *k = &d->t[d->n - 1];
	k->end = (uint32_t)end;
	index_child(d, open, k);
	return TREE_OK;
}

/* Indexes libpg_query's JSON (tree.h). Iterative: nesting depth costs no stack. */
enum tree_status tree_index(struct tree *d, const char *s, size_t n)
{
	d->s = s;
	d->n = 0;
	if (n >= UINT32_MAX - 1)
		return TREE_MALFORMED;
	uint32_t open = UINT32_MAX;
	size_t i = 0;
	enum tree_status st = TREE_OK;
	while (i < n && st == TREE_OK) {
		char ch = s[i];
		if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r' || ch == ',' || ch == ':') {
			i++;
		} else if (ch == '{' || ch == '[') {
			st = json_open(d, &open, ch == '{' ? TREE_OBJ : TREE_ARR, i);
			i++;
		} else if (ch == '}' || ch == ']') {
			st = json_close(d, &open, ch == '}' ? TREE_OBJ : TREE_ARR, i);
			i++;
		} else {
			st = json_scalar(d, open, s, n, &i);
		}
	}
	if (st == TREE_OK && (open != UINT32_MAX || d->n == 0 || d->t[0].type != TREE_OBJ))
		st = TREE_MALFORMED;
	return st;
}

void tree_trim(struct tree *d)
{
	if (d->cap > TREE_KEEP_TOKENS) {
		free(d->t);
		d->t = NULL;
		d->cap = 0;
	}
}

void tree_release(struct tree *d)
{
	if (d->pg_json != NULL || d->pg_stderr != NULL) {
		PgQueryParseResult pr = { .parse_tree = d->pg_json, .stderr_buffer = d->pg_stderr };
		pg_query_free_parse_result(pr);
	}
	d->pg_json = NULL;
	d->pg_stderr = NULL;
	d->s = NULL;
	d->n = 0;
}

void tree_free(struct tree *d)
{
	tree_release(d);
	free(d->t);
	d->t = NULL;
	d->cap = 0;
}

int tree_hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

size_t tree_utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

uint32_t tree_hex_run(const char *s, size_t n, size_t i, size_t digits, bool *ok)
{
	uint32_t cp = 0;
	*ok = i + digits <= n;
	for (size_t k = 0; *ok && k < digits; k++) {
		int h = tree_hexval(s[i + k]);
		if (h < 0)
			*ok = false;
		cp = cp * 16 + (uint32_t)(h < 0 ? 0 : h);
	}
	return cp;
}

/* Decodes a JSON string value into the arena (the output is never longer). */
char *tree_decode(struct tree_arena *a, const struct tree *d, uint32_t v)
{
	const char *s = d->s + d->t[v].start;
	size_t n = d->t[v].end - d->t[v].start;
	if (memchr(s, '\\', n) == NULL)
		return tree_arena_strndup(a, s, n);
	char *out = tree_arena_alloc(a, n + 1);
	if (out == NULL)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\' || i + 1 >= n) {
			out[o++] = s[i];
			continue;
		}
		char e = s[++i];
		bool ok;
		uint32_t cp;
		switch (e) {
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u':
			cp = tree_hex_run(s, n, i + 1, 4, &ok);
			if (ok && cp != 0 && (cp < 0xD800 || cp > 0xDFFF)) {
				o += tree_utf8_put(out + o, cp);
				i += 4;
			}
			break;
		default: out[o++] = e; break;
		}
	}
	out[o] = '\0';
	return out;
}

/* ---- libpg_query ---- */

enum tree_status tree_parse(struct tree *d, struct tree_arena *a, const char *sql,
			    struct tree_error *err)
{
	tree_release(d);
	PgQueryParseResult pr = pg_query_parse(sql);
	if (pr.error != NULL) {
		const char *msg = pr.error->message ? pr.error->message : "syntax error";
		err->message = tree_arena_strndup(a, msg, strlen(msg));
		err->cursorpos = pr.error->cursorpos;
		pg_query_free_parse_result(pr);
		return err->message ? TREE_SYNTAX : TREE_OOM;
	}
	enum tree_status st = tree_index(d, pr.parse_tree, strlen(pr.parse_tree));
	if (st != TREE_OK) {
		d->n = 0;
		pg_query_free_parse_result(pr);
		return st;
	}
	/* The index points into libpg_query's text: it lives until tree_release. */
	d->pg_json = pr.parse_tree;
	d->pg_stderr = pr.stderr_buffer;
	return TREE_OK;
}

static uint8_t token_kind(PgQuery__Token token)
{
	switch (token) {
	case PG_QUERY__TOKEN__IDENT: return TREE_TOK_IDENT;
	case PG_QUERY__TOKEN__UIDENT: return TREE_TOK_UIDENT;
	case PG_QUERY__TOKEN__SCONST: return TREE_TOK_SCONST;
	case PG_QUERY__TOKEN__USCONST: return TREE_TOK_USCONST;
	case PG_QUERY__TOKEN__UESCAPE: return TREE_TOK_UESCAPE;
	default: return TREE_TOK_OTHER;
	}
}

/* Any keyword libpg_query might add later still reads as a keyword. */
static uint8_t keyword_kind(PgQuery__KeywordKind kind)
{
	if (kind == PG_QUERY__KEYWORD_KIND__NO_KEYWORD)
		return TREE_KW_NONE;
	if (kind >= PG_QUERY__KEYWORD_KIND__UNRESERVED_KEYWORD &&
	    kind <= PG_QUERY__KEYWORD_KIND__RESERVED_KEYWORD)
		return (uint8_t)kind;
	return TREE_KW_RESERVED;
}

enum tree_status tree_scan(struct tree_arena *a, const char *sql, struct tree_token **toks,
			   size_t *ntoks)
{
	*toks = NULL;
	*ntoks = 0;
	PgQueryScanResult r = pg_query_scan(sql);
	PgQuery__ScanResult *sr = NULL;
	if (r.error == NULL)
		sr = pg_query__scan_result__unpack(NULL, r.pbuf.len, (const uint8_t *)r.pbuf.data);
	enum tree_status st = TREE_MALFORMED;
	if (sr != NULL) {
		struct tree_token *t = NULL;
		if (sr->n_tokens <= SIZE_MAX / sizeof(*t))
			t = tree_arena_alloc(a, sr->n_tokens * sizeof(*t));
		st = t != NULL ? TREE_OK : TREE_OOM;
		for (size_t k = 0; t != NULL && k < sr->n_tokens; k++) {
			const PgQuery__ScanToken *pt = sr->tokens[k];
			t[k] = (struct tree_token){ .start = pt->start, .end = pt->end,
						    .kind = token_kind(pt->token),
						    .keyword = keyword_kind(pt->keyword_kind) };
		}
		if (t != NULL) {
			*toks = t;
			*ntoks = sr->n_tokens;
		}
		pg_query__scan_result__free_unpacked(sr, NULL);
	}
	pg_query_free_scan_result(r);
	return st;
}

enum tree_status tree_split(struct tree_arena *a, const char *sql, struct tree_span **spans,
			    size_t *nspans)
{
	*spans = NULL;
	*nspans = 0;
	PgQuerySplitResult sp = pg_query_split_with_scanner(sql);
	enum tree_status st = TREE_MALFORMED;
	if (sp.error == NULL) {
		size_t n = sp.n_stmts > 0 ? (size_t)sp.n_stmts : 0;
		struct tree_span *out = tree_arena_alloc(a, n * sizeof(*out));
		st = out != NULL ? TREE_OK : TREE_OOM;
		for (size_t i = 0; out != NULL && i < n; i++)
			out[i] = (struct tree_span){ .location = sp.stmts[i]->stmt_location,
						     .len = sp.stmts[i]->stmt_len };
		if (out != NULL) {
			*spans = out;
			*nspans = n;
		}
	}
	pg_query_free_split_result(sp);
	return st;
}

bool tree_fingerprint(const char *sql, uint64_t *out)
{
	PgQueryFingerprintResult fp = pg_query_fingerprint(sql);
	bool ok = fp.error == NULL;
	if (ok)
		*out = fp.fingerprint;
	pg_query_free_fingerprint_result(fp);
	return ok;
}

/*
 * classify — statement facts from libpg_query's parse tree.
 *
 * This file owns what the facts need to know of Postgres syntax: the walk of
 * the tree (parsed and indexed by tree.c: struct tree), the reading of code
 * the tree only holds as text (DO blocks, function bodies, SQL passed to
 * functions, unparseable statements) from the tokens of tree_scan, and the
 * byte-level pre-filter that lets router.c skip the parse.
 *
 * The walk is context-driven where context matters (SELECT and DML: CTE
 * scopes, FROM items, locking clauses, write targets) and a linear token scan
 * everywhere else, which finds any RangeVar, FuncCall or nested statement in
 * an expression however deep without recursing through it.
 */
#include "router/classify.h"
#include "router/tree.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Nested queries deeper than this are not walked (the statement is "too complex"). */
#define MAX_DEPTH 256
/* How many times SQL text inside SQL text (string in a body in a string) is unwrapped. */
#define MAX_MENTION_DEPTH 3
/* Postgres truncates identifiers to NAMEDATALEN - 1 bytes. */
#define IDENT_MAX 63
/* Scratch kept between calls; anything larger is released after the call. */
#define KEEP_RELS 1024u
#define KEEP_STMTS 256u
/* DECLARE ... WITH HOLD (CURSOR_OPT_HOLD in parsenodes.h). */
#define CURSOR_OPT_HOLD 0x0020

/* ---- the classifier context ---- */

struct watched {
	char *name;  /* as configured: identifiers compare exactly */
	char *lower; /* for the case-insensitive searches in text */
	size_t len;
};

struct rule;

struct classify {
	struct watched *watch;
	size_t nwatch;
	bool first[256]; /* some watched name starts with this (lower-case) byte */
	uint8_t cls[256]; /* byte classes for the pre-filter's single pass (PF_*) */
	uint8_t bigram[8192]; /* bit (lower a, lower b): a watched name or marker starts "ab" */

	struct tree_arena arena;
	struct tree doc;

	struct classify_stmt *stmts;
	size_t nstmts, stmts_cap;

	/* relations of the statement being walked, with a hash index once large */
	struct classify_rel *rels;
	size_t nrels, rels_cap;
	uint32_t *rel_idx; /* slot: index + 1, 0 empty */
	size_t rel_idx_cap;
	bool rel_idx_live;

	const char **scope; /* CTE names visible at this point of the walk */
	size_t nscope, scope_cap;

	uint8_t rule_idx[256]; /* statement type name hash -> index into rules + 1 */
};

struct walk {
	struct classify *c;
	const struct tree *d;
	struct classify_stmt *st;
	enum classify_kind kind;    /* kind of the statement being dispatched */
	const char *default_schema; /* CREATE SCHEMA s CREATE TABLE t: t is s.t */
	unsigned depth;
	unsigned explain_plain; /* inside EXPLAIN without ANALYZE: nothing is executed */
	unsigned body;          /* inside a function body: relations are mentions */
	bool stop;              /* give up walking (depth or OOM) */
	bool oom;
};

static void walk_oom(struct walk *w)
{
	w->oom = true;
	w->stop = true;
}

static void walk_doubt(struct walk *w, enum classify_doubt why)
{
	if (w->st->doubt == CLASSIFY_D_NONE)
		w->st->doubt = why;
}

static char *wdup(struct walk *w, uint32_t v)
{
	if (!tree_is(w->d, v, TREE_STR))
		return NULL;
	char *s = tree_decode(&w->c->arena, w->d, v);
	if (s == NULL)
		walk_oom(w);
	return s;
}

/* ---- watched names ---- */

static unsigned char lc(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') ? (unsigned char)(ch + 32) : ch;
}

static bool ident_char(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '$' || ch >= 0x80;
}

static const char *watch_exact(const struct classify *c, const char *s, size_t n)
{
	for (size_t i = 0; i < c->nwatch; i++) {
		if (c->watch[i].len == n && memcmp(c->watch[i].name, s, n) == 0)
			return c->watch[i].name;
	}
	return NULL;
}

static bool ci_eq(const char *a, const char *lower, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (lc((unsigned char)a[i]) != (unsigned char)lower[i])
			return false;
	}
	return true;
}

static const char *watch_ci(const struct classify *c, const char *s, size_t n)
{
	if (n == 0 || !c->first[lc((unsigned char)s[0])])
		return NULL;
	for (size_t i = 0; i < c->nwatch; i++) {
		if (c->watch[i].len == n && ci_eq(s, c->watch[i].lower, n))
			return c->watch[i].name;
	}
	return NULL;
}

/* First watched name occurring anywhere in <s>, in any letter case. */
static const char *watch_substr_ci(const struct classify *c, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!c->first[lc((unsigned char)s[i])])
			continue;
		for (size_t k = 0; k < c->nwatch; k++) {
			const struct watched *wn = &c->watch[k];
			if (wn->len <= n - i && ci_eq(s + i, wn->lower, wn->len))
				return wn->name;
		}
	}
	return NULL;
}

/* ---- relations of the current statement ---- */

static uint64_t str_hash(uint64_t h, const char *s)
{
	if (s == NULL)
		return h * 31 + 7;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static bool str_same(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static size_t rel_slot(const struct classify *c, const char *schema, const char *name)
{
	uint64_t h = str_hash(str_hash(0xcbf29ce484222325ULL, schema), name);
	return (size_t)(h ^ (h >> 29)) & (c->rel_idx_cap - 1);
}

static bool rel_index_build(struct classify *c)
{
	size_t cap = c->rel_idx_cap ? c->rel_idx_cap : 64;
	while (cap < c->nrels * 4)
		cap *= 2;
	if (cap != c->rel_idx_cap) {
		uint32_t *idx = realloc(c->rel_idx, cap * sizeof(*idx));
		if (idx == NULL)
			return false;
		c->rel_idx = idx;
		c->rel_idx_cap = cap;
	}
	memset(c->rel_idx, 0, c->rel_idx_cap * sizeof(*c->rel_idx));
	for (size_t i = 0; i < c->nrels; i++) {
		size_t s = rel_slot(c, c->rels[i].schema, c->rels[i].name);
		while (c->rel_idx[s] != 0)
			s = (s + 1) & (c->rel_idx_cap - 1);
		c->rel_idx[s] = (uint32_t)(i + 1);
	}
	c->rel_idx_live = true;
	return true;
}

/* Finds (schema, name) among the statement's relations; returns its index or nrels. */
static size_t rel_find(struct classify *c, const char *schema, const char *name)
{
	if (!c->rel_idx_live) {
		for (size_t i = 0; i < c->nrels; i++) {
			if (str_same(c->rels[i].name, name) && str_same(c->rels[i].schema, schema))
				return i;
		}
		return c->nrels;
	}
	for (size_t s = rel_slot(c, schema, name); c->rel_idx[s] != 0;
	     s = (s + 1) & (c->rel_idx_cap - 1)) {
		const struct classify_rel *r = &c->rels[c->rel_idx[s] - 1];
		if (str_same(r->name, name) && str_same(r->schema, schema))
			return c->rel_idx[s] - 1;
	}
	return c->nrels;
}

static bool rel_append(struct classify *c, const char *schema, const char *name, unsigned roles)
{
	if (c->nrels == c->rels_cap) {
		size_t cap = c->rels_cap ? c->rels_cap * 2 : 32;
		struct classify_rel *r = realloc(c->rels, cap * sizeof(*r));
		if (r == NULL)
			return false;
		c->rels = r;
		c->rels_cap = cap;
	}
	c->rels[c->nrels++] = (struct classify_rel){ .schema = schema, .name = name, .roles = roles };
	if (c->nrels == 16 || (c->rel_idx_live && c->nrels * 2 > c->rel_idx_cap))
		return rel_index_build(c);
	if (c->rel_idx_live) {
		size_t s = rel_slot(c, schema, name);
		while (c->rel_idx[s] != 0)
			s = (s + 1) & (c->rel_idx_cap - 1);
		c->rel_idx[s] = (uint32_t)c->nrels;
	}
	return true;
}

/*
 * Records that the statement touches (schema, name) in <role>. Strings must
 * outlive the result (arena or watched names).
 */
static void note_rel(struct walk *w, const char *schema, const char *name, unsigned role)
{
	if (w->body && role != CLASSIFY_R_MENTION)
		role = CLASSIFY_R_MENTION;
	else if (w->explain_plain && role == CLASSIFY_R_WRITE)
		role = CLASSIFY_R_READ;
	struct classify *c = w->c;
	size_t i = rel_find(c, schema, name);
	if (i < c->nrels)
		c->rels[i].roles |= role;
	else if (!rel_append(c, schema, name, role))
		walk_oom(w);
}

static void note_mention(struct walk *w, const char *watched)
{
	if (watched != NULL)
		note_rel(w, NULL, watched, CLASSIFY_R_MENTION);
}

/* ---- lexical decoding, for text the parse tree does not open ---- */

static size_t clip_ident(const char *s, size_t n)
{
	if (n <= IDENT_MAX)
		return n;
	n = IDENT_MAX;
	/* Postgres clips on a character boundary (pg_mbcliplen). */
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/*
 * Undoes U& escapes in place (str_udeescape): <esc>XXXX, <esc>+XXXXXX,
 * <esc><esc>. The result is never longer. False on an invalid escape, which
 * Postgres would reject too.
 */
static bool unicode_unescape(char *s, size_t *len, char esc)
{
	size_t n = *len, o = 0;
	uint32_t hi = 0;
	for (size_t i = 0; i < n;) {
		if (s[i] != esc) {
			s[o++] = s[i++];
			continue;
		}
		bool ok = false;
		uint32_t cp = 0;
		if (i + 1 < n && s[i + 1] == esc) {
			s[o++] = esc;
			i += 2;
			continue;
		}
		if (i + 1 < n && s[i + 1] == '+') {
			cp = tree_hex_run(s, n, i + 2, 6, &ok);
			i += 8;
		} else {
			cp = tree_hex_run(s, n, i + 1, 4, &ok);
			i += 5;
		}
		if (!ok || cp == 0 || cp > 0x10FFFF)
			return false;
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			hi = cp;
			continue;
		}
		if (cp >= 0xDC00 && cp <= 0xDFFF) {
			if (hi == 0)
				return false;
			cp = 0x10000 + ((hi - 0xD800) << 10) + (cp - 0xDC00);
			hi = 0;
		}
		o += tree_utf8_put(s + o, cp);
	}
	*len = o;
	return hi == 0;
}

/* Length of the backslash escape at s[i] (after the backslash) in an E'' string. */
static size_t e_escape(const char *s, size_t n, size_t i, char *out, size_t *olen)
{
	char e = s[i];
	bool ok;
	uint32_t cp;
	size_t k;
	*olen = 1;
	switch (e) {
	case 'b': *out = '\b'; return 1;
	case 'f': *out = '\f'; return 1;
	case 'n': *out = '\n'; return 1;
	case 'r': *out = '\r'; return 1;
	case 't': *out = '\t'; return 1;
	case 'x':
		for (k = 1, cp = 0; k <= 2 && i + k < n && tree_hexval(s[i + k]) >= 0; k++)
			cp = cp * 16 + (uint32_t)tree_hexval(s[i + k]);
		*out = (char)cp;
		*olen = k > 1 ? 1 : 0;
		return k;
	case 'u':
	case 'U':
		cp = tree_hex_run(s, n, i + 1, e == 'u' ? 4 : 8, &ok);
		*olen = (ok && cp != 0 && cp <= 0x10FFFF) ? tree_utf8_put(out, cp) : 0;
		return ok ? (e == 'u' ? 5 : 9) : 1;
	default:
		if (e >= '0' && e <= '7') {
			for (k = 0, cp = 0; k < 3 && i + k < n && s[i + k] >= '0' && s[i + k] <= '7'; k++)
				cp = cp * 8 + (uint32_t)(s[i + k] - '0');
			*out = (char)cp;
			return k;
		}
		*out = e;
		return 1;
	}
}

/*
 * Whitespace between two quoted literals that makes them one ('a' newline
 * 'b' is 'ab' in SQL). Returns the position of the next quote, or 0 if the
 * literal does not continue.
 */
static size_t quote_continues(const char *s, size_t n, size_t i)
{
	bool newline = false;
	while (i < n) {
		char ch = s[i];
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v') {
			i++;
		} else if (ch == '\n') {
			newline = true;
			i++;
		} else if (ch == '-' && i + 1 < n && s[i + 1] == '-') {
			while (i < n && s[i] != '\n')
				i++;
		} else {
			break;
		}
	}
	return (newline && i < n && s[i] == '\'') ? i : 0;
}

/*
 * Reads a quoted literal whose opening quote <q> is at s[i]. With <out>
 * NULL only measures. Doubled quotes stand for one; <e_mode> honours
 * backslash escapes; single quotes continue across newlines. Returns the
 * decoded length; *end gets the position after the literal.
 */
static size_t read_quoted(const char *s, size_t n, size_t i, char q, bool e_mode, char *out,
			  size_t *end)
{
	size_t o = 0;
	char tmp[4];
	i++;
	while (i < n) {
		if (s[i] == q) {
			if (i + 1 < n && s[i + 1] == q) {
				if (out)
					out[o] = q;
				o++;
				i += 2;
				continue;
			}
			size_t next = q == '\'' ? quote_continues(s, n, i + 1) : 0;
			if (next == 0) {
				i++;
				break;
			}
			i = next + 1;
			continue;
		}
		if (e_mode && s[i] == '\\' && i + 1 < n) {
			size_t olen;
			size_t used = e_escape(s, n, i + 1, out ? out + o : tmp, &olen);
			o += olen;
			i += 1 + used;
			continue;
		}
		if (out)
			out[o] = s[i];
		o++;
		i++;
	}
	*end = i;
	return o;
}

/* Decodes the identifier token at s[i]; NULL if there is none (or on OOM, flagged). */
static char *decode_ident(struct walk *w, const char *s, size_t n, size_t i, char esc)
{
	if (i >= n)
		return NULL;
	bool uni = (s[i] == 'U' || s[i] == 'u') && i + 2 < n && s[i + 1] == '&' && s[i + 2] == '"';
	if (uni || s[i] == '"') {
		size_t q = uni ? i + 2 : i, end;
		size_t len = read_quoted(s, n, q, '"', false, NULL, &end);
		char *out = tree_arena_alloc(&w->c->arena, len + 1);
		if (out == NULL) {
			walk_oom(w);
			return NULL;
		}
		read_quoted(s, n, q, '"', false, out, &end);
		if (uni && !unicode_unescape(out, &len, esc))
			return NULL;
		out[clip_ident(out, len)] = '\0';
		return out;
	}
	size_t end = i;
	while (end < n && ident_char((unsigned char)s[end]))
		end++;
	size_t len = clip_ident(s + i, end - i);
	char *out = tree_arena_alloc(&w->c->arena, len + 1);
	if (out == NULL) {
		walk_oom(w);
		return NULL;
	}
	for (size_t k = 0; k < len; k++)
		out[k] = (char)lc((unsigned char)s[i + k]);
	out[len] = '\0';
	return len ? out : NULL;
}

/* $tag$ at s[i]: returns the tag length including both dollars, 0 if not a tag. */
static size_t dollar_tag(const char *s, size_t n, size_t i)
{
	size_t k = i + 1;
	while (k < n && s[k] != '$') {
		unsigned char ch = (unsigned char)s[k];
		if (!ident_char(ch) || ch == '$' || (k == i + 1 && ch >= '0' && ch <= '9'))
			return 0;
		k++;
	}
	return k < n ? k - i + 1 : 0;
}

static char *decode_dollar(struct walk *w, const char *s, size_t n, size_t i, size_t *len)
{
	size_t tag = dollar_tag(s, n, i);
	if (tag == 0)
		return NULL;
	size_t from = i + tag, to = from;
	while (to + tag <= n && memcmp(s + to, s + i, tag) != 0)
		to++;
	if (to + tag > n)
		to = n;
	*len = to - from;
	char *out = tree_arena_strndup(&w->c->arena, s + from, *len);
	if (out == NULL)
		walk_oom(w);
	return out;
}

/* Decodes the string-constant token at s[i] ('..', E'..', U&'..', N'..', $$..$$). */
static char *decode_string(struct walk *w, const char *s, size_t n, size_t i, char esc, size_t *len)
{
	if (i >= n)
		return NULL;
	if (s[i] == '$')
		return decode_dollar(w, s, n, i, len);
	bool e_mode = false, uni = false;
	if ((s[i] == 'E' || s[i] == 'e') && i + 1 < n && s[i + 1] == '\'') {
		e_mode = true;
		i++;
	} else if ((s[i] == 'U' || s[i] == 'u') && i + 2 < n && s[i + 1] == '&') {
		uni = true;
		i += 2;
	} else if ((s[i] == 'N' || s[i] == 'n') && i + 1 < n && s[i + 1] == '\'') {
		i++;
	}
	if (i >= n || s[i] != '\'')
		return NULL;
	size_t end;
	*len = read_quoted(s, n, i, '\'', e_mode, NULL, &end);
	char *out = tree_arena_alloc(&w->c->arena, *len + 1);
	if (out == NULL) {
		walk_oom(w);
		return NULL;
	}
	read_quoted(s, n, i, '\'', e_mode, out, &end);
	if (uni && !unicode_unescape(out, len, esc))
		return NULL;
	out[*len] = '\0';
	return out;
}

/* ---- mentions: watched names in text the tree does not open ---- */

/* Every watched name standing as a whole word in <s>, in any letter case. */
static void mention_words(struct walk *w, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (!ident_char((unsigned char)s[i])) {
			i++;
			continue;
		}
		size_t start = i;
		while (i < n && ident_char((unsigned char)s[i]))
			i++;
		note_mention(w, watch_ci(w->c, s + start, i - start));
	}
}

/* The escape character of a UESCAPE 'c' clause whose string token starts at s[i]. */
static char uescape_char(const char *s, size_t n, size_t i)
{
	return (i + 2 < n && s[i] == '\'') ? s[i + 1] : '\\';
}

static char token_escape(const struct tree_token *toks, size_t ntoks, size_t k, const char *s,
			 size_t n)
{
	if (k + 2 < ntoks && toks[k + 1].kind == TREE_TOK_UESCAPE &&
	    toks[k + 2].kind == TREE_TOK_SCONST && toks[k + 2].start >= 0)
		return uescape_char(s, n, (size_t)toks[k + 2].start);
	return '\\';
}

static void mention_scan(struct walk *w, const char *s, size_t n, int depth);

static void mention_token(struct walk *w, const struct tree_token *toks, size_t ntoks, size_t k,
			  const char *s, size_t n, int depth)
{
	const struct tree_token *t = &toks[k];
	if (t->start < 0 || (size_t)t->start >= n)
		return;
	size_t at = (size_t)t->start;
	if (t->kind == TREE_TOK_IDENT || t->kind == TREE_TOK_UIDENT || t->keyword != TREE_KW_NONE) {
		char *id = decode_ident(w, s, n, at, token_escape(toks, ntoks, k, s, n));
		if (id != NULL)
			note_mention(w, watch_exact(w->c, id, strlen(id)));
	} else if (t->kind == TREE_TOK_SCONST || t->kind == TREE_TOK_USCONST) {
		size_t len = 0;
		char *str = decode_string(w, s, n, at, token_escape(toks, ntoks, k, s, n), &len);
		if (str == NULL)
			return;
		/* A string may be SQL that runs later (EXECUTE in a body): look inside. */
		mention_words(w, str, len);
		if (depth < MAX_MENTION_DEPTH)
			mention_scan(w, str, len, depth + 1);
	}
}

/*
 * Watched names among the tokens of <s> as Postgres' scanner splits it:
 * identifiers and keywords decoded and folded, compared exactly; string
 * constants decoded and searched word by word (in any case, and recursively as
 * SQL). When the scanner fails the whole text is searched word by word.
 */
static void mention_scan(struct walk *w, const char *s, size_t n, int depth)
{
	char *buf = tree_arena_strndup(&w->c->arena, s, n);
	if (buf == NULL) {
		walk_oom(w);
		return;
	}
	struct tree_token *toks;
	size_t ntoks;
	enum tree_status ts = tree_scan(&w->c->arena, buf, &toks, &ntoks);
	if (ts == TREE_OOM) {
		walk_oom(w);
	} else if (ts != TREE_OK) {
		mention_words(w, s, n);
	} else {
		for (size_t k = 0; k < ntoks && !w->oom; k++)
			mention_token(w, toks, ntoks, k, buf, n, depth);
	}
}

/* Code in another language: no SQL scanner applies, every word counts. */
static void mention_body(struct walk *w, const char *lang, const char *body)
{
	if (body == NULL)
		return;
	if (lang != NULL && (strcmp(lang, "c") == 0 || strcmp(lang, "internal") == 0))
		return; /* the "body" is a library symbol, not code */
	size_t n = strlen(body);
	if (lang == NULL || strcmp(lang, "plpgsql") == 0 || strcmp(lang, "sql") == 0)
		mention_scan(w, body, n, 1);
	else
		mention_words(w, body, n);
}

/* ---- the tree walk ---- */

static bool enter(struct walk *w)
{
	if (w->stop)
		return false;
	if (w->depth >= MAX_DEPTH) {
		walk_doubt(w, CLASSIFY_D_TOO_COMPLEX);
		w->stop = true;
		return false;
	}
	w->depth++;
	return true;
}

static void leave(struct walk *w)
{
	w->depth--;
}

static bool scope_push(struct walk *w, const char *name)
{
	struct classify *c = w->c;
	if (c->nscope == c->scope_cap) {
		size_t cap = c->scope_cap ? c->scope_cap * 2 : 16;
		const char **s = realloc(c->scope, cap * sizeof(*s));
		if (s == NULL) {
			walk_oom(w);
			return false;
		}
		c->scope = s;
		c->scope_cap = cap;
	}
	c->scope[c->nscope++] = name;
	return true;
}

static bool scope_has(const struct walk *w, const char *name)
{
	for (size_t i = w->c->nscope; i > 0; i--) {
		if (strcmp(w->c->scope[i - 1], name) == 0)
			return true;
	}
	return false;
}

/* Where a RangeVar sits decides whether a CTE name can stand for it. */
enum rv_place {
	RV_TARGET = 0, /* DML/DDL target: always a table */
	RV_FROM,       /* FROM item: an unqualified name may be a CTE in scope */
};

/* Records a RangeVar; returns its decoded relname (NULL if it was a CTE or on error). */
static const char *note_rangevar(struct walk *w, uint32_t rv, unsigned role, enum rv_place place)
{
	const struct tree *d = w->d;
	const char *schema = wdup(w, tree_get(d, rv, "schemaname"));
	const char *name = wdup(w, tree_get(d, rv, "relname"));
	if (name == NULL) {
		if (!w->oom)
			walk_doubt(w, CLASSIFY_D_INTERNAL);
		return NULL;
	}
	if (place == RV_FROM && schema == NULL && scope_has(w, name))
		return NULL;
	if (schema == NULL)
		schema = w->default_schema;
	/* Only CREATE TEMP ... spells a RangeVar with persistence 't'. */
	if (tree_str_is(d, tree_get(d, rv, "relpersistence"), "t"))
		w->st->flags |= CLASSIFY_F_SESSION_STATE;
	note_rel(w, schema, name, role);
	return name;
}

enum node_tag {
	N_OTHER = 0,  /* nothing to do: keep scanning inside */
	N_SELECT,     /* SelectStmt */
	N_INSERT,     /* InsertStmt */
	N_UPDATE,     /* UpdateStmt */
	N_DELETE,     /* DeleteStmt */
	N_MERGE,      /* MergeStmt */
	N_EXECUTE,    /* ExecuteStmt */
	N_RANGEVAR,   /* RangeVar */
	N_FUNCCALL,   /* FuncCall */
	N_TABLELIKE,  /* TableLikeClause: CREATE TABLE (LIKE t) reads t's definition */
};

static enum node_tag node_tag(const char *s, uint32_t n)
{
	switch (n) {
	case 8:
		if (memcmp(s, "RangeVar", 8) == 0)
			return N_RANGEVAR;
		if (memcmp(s, "FuncCall", 8) == 0)
			return N_FUNCCALL;
		break;
	case 9:
		if (memcmp(s, "MergeStmt", 9) == 0)
			return N_MERGE;
		break;
	case 10:
		if (memcmp(s, "SelectStmt", 10) == 0)
			return N_SELECT;
		if (memcmp(s, "InsertStmt", 10) == 0)
			return N_INSERT;
		if (memcmp(s, "UpdateStmt", 10) == 0)
			return N_UPDATE;
		if (memcmp(s, "DeleteStmt", 10) == 0)
			return N_DELETE;
		break;
	case 11:
		if (memcmp(s, "ExecuteStmt", 11) == 0)
			return N_EXECUTE;
		break;
	case 15:
		if (memcmp(s, "TableLikeClause", 15) == 0)
			return N_TABLELIKE;
		break;
	}
	return N_OTHER;
}

/*
 * Fields whose type is RangeVar itself, written without the {"RangeVar": }
 * wrapper (pg_query.proto: rel, relation, view, sequence, constrrel, typevar,
 * table, pktable, PartitionCmd.name, identitySequence).
 */
static bool bare_rangevar_key(const char *s, uint32_t n)
{
	switch (n) {
	case 3: return memcmp(s, "rel", 3) == 0;
	case 4: return memcmp(s, "view", 4) == 0 || memcmp(s, "name", 4) == 0;
	case 5: return memcmp(s, "table", 5) == 0;
	case 7: return memcmp(s, "typevar", 7) == 0 || memcmp(s, "pktable", 7) == 0;
	case 8: return memcmp(s, "relation", 8) == 0 || memcmp(s, "sequence", 8) == 0;
	case 9: return memcmp(s, "constrrel", 9) == 0;
	case 16: return memcmp(s, "identitySequence", 16) == 0;
	default: return false;
	}
}

struct lockset {
	bool all;          /* every relation of the FROM list is locked */
	uint32_t clauses;  /* lockingClause array of this query level, 0 if none */
};

static void walk_select(struct walk *w, uint32_t obj, const struct lockset *inherited);
static void walk_insert(struct walk *w, uint32_t obj);
static void walk_update(struct walk *w, uint32_t obj);
static void walk_delete(struct walk *w, uint32_t obj);
static void walk_merge(struct walk *w, uint32_t obj);
static void walk_execute(struct walk *w, uint32_t obj);
static void note_funccall(struct walk *w, uint32_t fc);

static void walk_tagged(struct walk *w, enum node_tag tag, uint32_t obj, unsigned role)
{
	switch (tag) {
	case N_SELECT: walk_select(w, obj, NULL); break;
	case N_INSERT: walk_insert(w, obj); break;
	case N_UPDATE: walk_update(w, obj); break;
	case N_DELETE: walk_delete(w, obj); break;
	case N_MERGE: walk_merge(w, obj); break;
	case N_EXECUTE: walk_execute(w, obj); break;
	case N_RANGEVAR: note_rangevar(w, obj, role, RV_FROM); break;
	case N_TABLELIKE: {
		uint32_t rel = tree_get(w->d, obj, "relation");
		if (rel)
			note_rangevar(w, rel, CLASSIFY_R_READ, RV_TARGET);
		break;
	}
	case N_FUNCCALL:
	case N_OTHER: break;
	}
}

/*
 * The generic walk: tokens [from, to) in order. Statements, RangeVars and
 * LIKE clauses are handed to their handler and skipped; a FuncCall is
 * checked and then scanned into (its arguments may hold subqueries).
 * Everything else is just passed over, so expression depth costs no stack.
 */
static void scan(struct walk *w, uint32_t from, uint32_t to, unsigned role)
{
	const struct tree *d = w->d;
	uint32_t i = from;
	while (i < to && i < d->n && !w->stop) {
		const struct tree_tok *k = &d->t[i];
		if (!k->key || i + 1 >= d->n) {
			i++;
			continue;
		}
		const char *ks = d->s + k->start;
		uint32_t kn = k->end - k->start, v = i + 1;
		if (kn > 0 && ks[0] >= 'A' && ks[0] <= 'Z') {
			enum node_tag tag = node_tag(ks, kn);
			if (tag == N_FUNCCALL && tree_is(d, v, TREE_OBJ))
				note_funccall(w, v);
			if (tag != N_OTHER && tag != N_FUNCCALL && tree_is(d, v, TREE_OBJ)) {
				walk_tagged(w, tag, v, role);
				i = d->t[v].next;
				continue;
			}
		} else if (bare_rangevar_key(ks, kn) && tree_is(d, v, TREE_OBJ) &&
			   tree_get(d, v, "relname")) {
			note_rangevar(w, v, role, RV_TARGET);
			i = d->t[v].next;
			continue;
		}
		i++;
	}
}

static void scan_value(struct walk *w, uint32_t v, unsigned role)
{
	if (v != 0 && v < w->d->n)
		scan(w, v, w->d->t[v].next, role);
}

static bool key_in(const struct tree *d, uint32_t k, const char *const *skip)
{
	char first = d->s[d->t[k].start];
	for (; *skip != NULL; skip++) {
		if ((*skip)[0] == first && tree_span_eqn(d, k, *skip, strlen(*skip)))
			return true;
	}
	return false;
}

/* Scans every member of <obj> except those named in <skip> (NULL-terminated). */
static void scan_members(struct walk *w, uint32_t obj, unsigned role, const char *const *skip)
{
	const struct tree *d = w->d;
	if (!tree_is(d, obj, TREE_OBJ))
		return;
	uint32_t end = d->t[obj].next;
	for (uint32_t k = obj + 1; k + 1 < end && !w->stop; k = d->t[k + 1].next) {
		if (!key_in(d, k, skip))
			scan_value(w, k + 1, role);
	}
}

/* Walks a wrapped statement node found inside another (CTE body, EXPLAIN, ...). */
static void walk_nested(struct walk *w, uint32_t wrapped, unsigned role)
{
	const char *type;
	uint32_t tlen;
	uint32_t obj = tree_unwrap(w->d, wrapped, &type, &tlen);
	enum node_tag tag = obj ? node_tag(type, tlen) : N_OTHER;
	if (tag != N_OTHER && tag != N_FUNCCALL)
		walk_tagged(w, tag, obj, role);
	else
		scan_value(w, wrapped, role);
}

/* ---- WITH: CTE scopes ---- */

/*
 * Walks the CTE bodies and leaves their names in scope (the caller pops).
 * Non-recursive: a CTE sees the ones before it. Recursive: all of them.
 */
static void push_with(struct walk *w, uint32_t with)
{
	const struct tree *d = w->d;
	bool recursive = tree_true(d, tree_get(d, with, "recursive"));
	uint32_t ctes = tree_get(d, with, "ctes");
	for (int pass = recursive ? 0 : 1; pass < 2 && !w->stop; pass++) {
		for (uint32_t e = tree_first(d, ctes); e && !w->stop; e = tree_next(d, ctes, e)) {
			const char *type;
			uint32_t tlen;
			uint32_t cte = tree_unwrap(d, e, &type, &tlen);
			char *name = wdup(w, tree_get(d, cte, "ctename"));
			if (name == NULL) {
				if (!w->oom)
					walk_doubt(w, CLASSIFY_D_INTERNAL);
				continue;
			}
			if (pass == 0) {
				scope_push(w, name);
				continue;
			}
			walk_nested(w, tree_get(d, cte, "ctequery"), CLASSIFY_R_READ);
			if (!recursive)
				scope_push(w, name);
		}
	}
}

/* ---- SELECT ---- */

static const char *alias_of(struct walk *w, uint32_t obj)
{
	return wdup(w, tree_get(w->d, tree_get(w->d, obj, "alias"), "aliasname"));
}

/* Does a FOR UPDATE OF list of this query level name <name>? */
static bool lock_names(struct walk *w, const struct lockset *lk, const char *name)
{
	const struct tree *d = w->d;
	if (lk == NULL || name == NULL)
		return false;
	if (lk->all)
		return true;
	for (uint32_t e = tree_first(d, lk->clauses); e; e = tree_next(d, lk->clauses, e)) {
		const char *type;
		uint32_t tlen;
		uint32_t lc_obj = tree_unwrap(d, e, &type, &tlen);
		uint32_t rels = tree_get(d, lc_obj, "lockedRels");
		for (uint32_t r = tree_first(d, rels); r; r = tree_next(d, rels, r)) {
			uint32_t rv = tree_unwrap(d, r, &type, &tlen);
			char *locked = wdup(w, tree_get(d, rv, "relname"));
			if (locked != NULL && strcmp(locked, name) == 0)
				return true;
		}
	}
	return false;
}

static void walk_from(struct walk *w, uint32_t item, const struct lockset *lk);

static void from_rangevar(struct walk *w, uint32_t rv, const struct lockset *lk)
{
	const char *name = note_rangevar(w, rv, CLASSIFY_R_READ, RV_FROM);
	if (name == NULL || lk == NULL)
		return;
	const char *alias = alias_of(w, rv);
	if (lock_names(w, lk, alias ? alias : name)) {
		w->st->flags |= CLASSIFY_F_LOCKING;
		const struct tree *d = w->d;
		char *schema = wdup(w, tree_get(d, rv, "schemaname"));
		note_rel(w, schema ? schema : w->default_schema, name, CLASSIFY_R_WRITE);
	}
}

static void from_join(struct walk *w, uint32_t je, const struct lockset *lk)
{
	const struct tree *d = w->d;
	struct lockset all = { .all = true, .clauses = 0 };
	const char *alias = alias_of(w, je);
	const struct lockset *inner = (alias != NULL && lock_names(w, lk, alias)) ? &all : lk;
	/* Join chains nest one level per JOIN: they count against the depth limit. */
	if (!enter(w))
		return;
	walk_from(w, tree_get(d, je, "larg"), inner);
	walk_from(w, tree_get(d, je, "rarg"), inner);
	scan_value(w, tree_get(d, je, "quals"), CLASSIFY_R_READ);
	leave(w);
}

static void from_subselect(struct walk *w, uint32_t rs, const struct lockset *lk)
{
	const struct tree *d = w->d;
	/* A lock on a subquery in FROM locks every table it reads (PG applies it with "all"). */
	struct lockset all = { .all = true, .clauses = 0 };
	const char *alias = alias_of(w, rs);
	bool locked = lk != NULL && (lk->all || (alias != NULL && lock_names(w, lk, alias)));
	const char *type;
	uint32_t tlen;
	uint32_t sub = tree_unwrap(d, tree_get(d, rs, "subquery"), &type, &tlen);
	if (sub && tree_type_is(type, tlen, "SelectStmt"))
		walk_select(w, sub, locked ? &all : NULL);
	else
		scan_value(w, tree_get(d, rs, "subquery"), CLASSIFY_R_READ);
}

/* One FROM item (wrapped node). */
static void walk_from(struct walk *w, uint32_t item, const struct lockset *lk)
{
	const struct tree *d = w->d;
	const char *type;
	uint32_t tlen;
	uint32_t obj = tree_unwrap(d, item, &type, &tlen);
	if (obj == 0) {
		scan_value(w, item, CLASSIFY_R_READ);
	} else if (tree_type_is(type, tlen, "RangeVar")) {
		from_rangevar(w, obj, lk);
	} else if (tree_type_is(type, tlen, "JoinExpr")) {
		from_join(w, obj, lk);
	} else if (tree_type_is(type, tlen, "RangeSubselect")) {
		from_subselect(w, obj, lk);
	} else if (tree_type_is(type, tlen, "RangeTableSample")) {
		walk_from(w, tree_get(d, obj, "relation"), lk);
		static const char *const skip[] = { "relation", NULL };
		scan_members(w, obj, CLASSIFY_R_READ, skip);
	} else {
		scan_value(w, item, CLASSIFY_R_READ);
	}
}

static void walk_from_list(struct walk *w, uint32_t list, const struct lockset *lk)
{
	for (uint32_t e = tree_first(w->d, list); e && !w->stop; e = tree_next(w->d, list, e))
		walk_from(w, e, lk);
}

/* A SELECT without set operation. */
static void walk_simple(struct walk *w, uint32_t obj, const struct lockset *inherited)
{
	const struct tree *d = w->d;
	struct lockset lk = { .all = inherited != NULL && inherited->all, .clauses = 0 };
	uint32_t locking = tree_get(d, obj, "lockingClause");
	for (uint32_t e = tree_first(d, locking); e; e = tree_next(d, locking, e)) {
		const char *type;
		uint32_t tlen;
		uint32_t lc_obj = tree_unwrap(d, e, &type, &tlen);
		if (tree_first(d, tree_get(d, lc_obj, "lockedRels")) == 0)
			lk.all = true;
		lk.clauses = locking;
	}
	if (lk.all || lk.clauses)
		w->st->flags |= CLASSIFY_F_LOCKING;
	uint32_t into = tree_get(d, obj, "intoClause");
	if (into) {
		/* SELECT INTO creates a table; only a top-level SELECT can carry it. */
		if (w->kind == CLASSIFY_K_SELECT) {
			w->kind = CLASSIFY_K_DDL;
			w->st->tag = "SELECT INTO";
		}
		scan_value(w, into, CLASSIFY_R_WRITE);
	}
	walk_from_list(w, tree_get(d, obj, "fromClause"), (lk.all || lk.clauses) ? &lk : NULL);
	static const char *const skip[] = { "withClause", "fromClause", "lockingClause",
					    "intoClause", "larg", "rarg", NULL };
	scan_members(w, obj, CLASSIFY_R_READ, skip);
}

/*
 * SELECT, VALUES, set operations. Left-deep UNION chains (the common shape
 * of generated SQL) are followed in a loop, not by recursion.
 */
static void walk_select(struct walk *w, uint32_t obj, const struct lockset *inherited)
{
	const struct tree *d = w->d;
	if (!enter(w))
		return;
	size_t saved = w->c->nscope;
	uint32_t cur = obj;
	while (cur != 0 && !w->stop) {
		uint32_t with = tree_get(d, cur, "withClause");
		if (with)
			push_with(w, with);
		uint32_t op = tree_get(d, cur, "op");
		if (op == 0 || tree_str_is(d, op, "SETOP_NONE")) {
			walk_simple(w, cur, inherited);
			break;
		}
		uint32_t rarg = tree_get(d, cur, "rarg");
		if (rarg)
			walk_select(w, rarg, inherited);
		/* A locking clause on a set operation is an error in Postgres: nothing to lock. */
		static const char *const skip[] = { "withClause", "larg", "rarg", "lockingClause",
						    NULL };
		scan_members(w, cur, CLASSIFY_R_READ, skip);
		cur = tree_get(d, cur, "larg");
	}
	w->c->nscope = saved;
	leave(w);
}

/* ---- INSERT / UPDATE / DELETE / MERGE ---- */

/* Shared frame of the DML statements: WITH scope, target, the rest read. */
static void walk_dml(struct walk *w, uint32_t obj, const char *from_key,
		     const char *const *skip)
{
	const struct tree *d = w->d;
	if (!enter(w))
		return;
	size_t saved = w->c->nscope;
	uint32_t with = tree_get(d, obj, "withClause");
	if (with)
		push_with(w, with);
	uint32_t target = tree_get(d, obj, "relation");
	if (target)
		note_rangevar(w, target, CLASSIFY_R_WRITE, RV_TARGET);
	else
		walk_doubt(w, CLASSIFY_D_INTERNAL);
	if (from_key != NULL) {
		uint32_t from = tree_getn(d, obj, from_key, strlen(from_key));
		if (tree_is(d, from, TREE_ARR))
			walk_from_list(w, from, NULL);
		else if (from)
			walk_from(w, from, NULL);
	}
	scan_members(w, obj, CLASSIFY_R_READ, skip);
	w->c->nscope = saved;
	leave(w);
}

static void walk_insert(struct walk *w, uint32_t obj)
{
	static const char *const skip[] = { "withClause", "relation", NULL };
	walk_dml(w, obj, NULL, skip);
}

static void walk_update(struct walk *w, uint32_t obj)
{
	static const char *const skip[] = { "withClause", "relation", "fromClause", NULL };
	walk_dml(w, obj, "fromClause", skip);
}

static void walk_delete(struct walk *w, uint32_t obj)
{
	static const char *const skip[] = { "withClause", "relation", "usingClause", NULL };
	walk_dml(w, obj, "usingClause", skip);
}

static void walk_merge(struct walk *w, uint32_t obj)
{
	static const char *const skip[] = { "withClause", "relation", "sourceRelation", NULL };
	walk_dml(w, obj, "sourceRelation", skip);
}

static void walk_execute(struct walk *w, uint32_t obj)
{
	w->st->flags |= CLASSIFY_F_EXECUTE | CLASSIFY_F_EXECUTES;
	if (w->st->name == NULL)
		w->st->name = wdup(w, tree_get(w->d, obj, "name"));
	scan_value(w, tree_get(w->d, obj, "params"), CLASSIFY_R_READ);
}

/* ---- function calls with effects the tree cannot show ---- */

static bool name_in(const char *s, uint32_t n, const char *const *list)
{
	for (; *list != NULL; list++) {
		if (strlen(*list) == n && memcmp(*list, s, n) == 0)
			return true;
	}
	return false;
}

/* Session-level locks and settings made by function call. */
static const char *const session_fns[] = {
	"set_config", "pg_advisory_lock", "pg_advisory_lock_shared", "pg_try_advisory_lock",
	"pg_try_advisory_lock_shared", "pg_advisory_unlock", "pg_advisory_unlock_shared",
	"pg_advisory_unlock_all", NULL,
};

/* Functions whose text arguments are SQL they run. */
static const char *const sql_text_fns[] = {
	"query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema", "ts_stat", "ts_rewrite",
	"dblink", "dblink_exec", "dblink_open", "dblink_send_query", NULL,
};

/* The A_Const behind <arg>, looking through casts; 0 if it is not a constant. */
static uint32_t const_of(const struct tree *d, uint32_t arg)
{
	const char *type;
	uint32_t tlen;
	uint32_t obj = tree_unwrap(d, arg, &type, &tlen);
	for (int hops = 0; obj && hops < 8 && tree_type_is(type, tlen, "TypeCast"); hops++)
		obj = tree_unwrap(d, tree_get(d, obj, "arg"), &type, &tlen);
	return (obj && tree_type_is(type, tlen, "A_Const")) ? obj : 0;
}

/* set_config(name, value, is_local): only a constant true is_local leaves no session state. */
static bool set_config_local(const struct tree *d, uint32_t args)
{
	uint32_t third = tree_first(d, args);
	for (int i = 0; i < 2 && third; i++)
		third = tree_next(d, args, third);
	uint32_t k = const_of(d, third);
	if (k == 0)
		return false;
	if (tree_true(d, tree_get(d, tree_get(d, k, "boolval"), "boolval")))
		return true;
	uint32_t sv = tree_get(d, tree_get(d, k, "sval"), "sval");
	return tree_str_is(d, sv, "true") || tree_str_is(d, sv, "on") || tree_str_is(d, sv, "t");
}

/*
 * set_config(name, ...): does <name> say role or session_authorization (in
 * any case), or is it not a constant (then it might)?
 */
static bool set_config_names_role(const struct tree *d, uint32_t args)
{
	uint32_t k = const_of(d, tree_first(d, args));
	uint32_t sv = k ? tree_get(d, tree_get(d, k, "sval"), "sval") : 0;
	if (!tree_is(d, sv, TREE_STR))
		return true;
	const char *v = d->s + d->t[sv].start;
	uint32_t n = d->t[sv].end - d->t[sv].start;
	return (n == 4 && ci_eq(v, "role", 4)) || (n == 21 && ci_eq(v, "session_authorization", 21));
}

static void sql_text_args(struct walk *w, uint32_t args, const char *fn, uint32_t fnlen)
{
	const struct tree *d = w->d;
	w->st->flags |= CLASSIFY_F_EXECUTES;
	/*
	 * The SQL it runs in this session may call set_config('role', ...):
	 * query_to_xml('select set_config(...)'). dblink's runs in a session of
	 * its own.
	 */
	if (!(fnlen >= 6 && memcmp(fn, "dblink", 6) == 0))
		w->st->flags |= CLASSIFY_F_ROLE_CHANGE;
	for (uint32_t a = tree_first(d, args); a && !w->stop; a = tree_next(d, args, a)) {
		uint32_t k = const_of(d, a);
		uint32_t sv = tree_get(d, tree_get(d, k, "sval"), "sval");
		if (k != 0 && sv == 0)
			continue; /* a number, boolean or NULL */
		if (k == 0) {
			walk_doubt(w, CLASSIFY_D_DYNAMIC_SQL);
			if (w->st->dynamic == NULL)
				w->st->dynamic = tree_arena_strndup(&w->c->arena, fn, fnlen);
			continue;
		}
		char *text = wdup(w, sv);
		if (text != NULL) {
			mention_words(w, text, strlen(text));
			mention_scan(w, text, strlen(text), 1);
		}
	}
}

static void note_funccall(struct walk *w, uint32_t fc)
{
	const struct tree *d = w->d;
	uint32_t names = tree_get(d, fc, "funcname");
	uint32_t last = 0;
	for (uint32_t e = tree_first(d, names); e; e = tree_next(d, names, e))
		last = e;
	const char *type;
	uint32_t tlen;
	uint32_t sv = tree_get(d, tree_unwrap(d, last, &type, &tlen), "sval");
	if (!tree_is(d, sv, TREE_STR))
		return;
	const char *fn = d->s + d->t[sv].start;
	uint32_t fnlen = d->t[sv].end - d->t[sv].start;
	uint32_t args = tree_get(d, fc, "args");
	if (name_in(fn, fnlen, session_fns)) {
		bool set_config = fnlen == 10 && memcmp(fn, "set_config", 10) == 0;
		if (set_config && set_config_names_role(d, args))
			w->st->flags |= CLASSIFY_F_ROLE_CHANGE;
		if (!(set_config && set_config_local(d, args)))
			w->st->flags |= CLASSIFY_F_SESSION_STATE;
	} else if (name_in(fn, fnlen, sql_text_fns)) {
		sql_text_args(w, args, fn, fnlen);
	}
}

/* ---- utility statements ---- */

static void h_select(struct walk *w, uint32_t obj)
{
	walk_select(w, obj, NULL);
}

static void h_insert(struct walk *w, uint32_t obj)
{
	walk_insert(w, obj);
}

static void h_update(struct walk *w, uint32_t obj)
{
	walk_update(w, obj);
}

static void h_delete(struct walk *w, uint32_t obj)
{
	walk_delete(w, obj);
}

static void h_merge(struct walk *w, uint32_t obj)
{
	walk_merge(w, obj);
}

static enum classify_kind walk_stmt(struct walk *w, uint32_t wrapped);

/* Walks the statement inside PREPARE/EXPLAIN/DECLARE/COPY and remembers its kind. */
static void walk_inner(struct walk *w, uint32_t wrapped)
{
	if (wrapped == 0)
		return;
	enum classify_kind inner = walk_stmt(w, wrapped);
	if (w->st->inner_kind == CLASSIFY_K_UNKNOWN)
		w->st->inner_kind = inner;
}

static void h_copy(struct walk *w, uint32_t obj)
{
	const struct tree *d = w->d;
	bool from = tree_true(d, tree_get(d, obj, "is_from"));
	w->kind = from ? CLASSIFY_K_COPY_FROM : CLASSIFY_K_COPY_TO;
	uint32_t rel = tree_get(d, obj, "relation");
	if (rel)
		note_rangevar(w, rel, from ? CLASSIFY_R_WRITE : CLASSIFY_R_READ, RV_TARGET);
	walk_inner(w, tree_get(d, obj, "query"));
	static const char *const skip[] = { "relation", "query", NULL };
	scan_members(w, obj, CLASSIFY_R_READ, skip);
}

/* defGetBoolean: no argument or anything but false/off/0/no means true. */
static bool def_true(const struct tree *d, uint32_t defelem)
{
	uint32_t arg = tree_get(d, defelem, "arg");
	if (arg == 0)
		return true;
	const char *type;
	uint32_t tlen;
	uint32_t obj = tree_unwrap(d, arg, &type, &tlen);
	uint32_t sv = tree_get(d, obj, "sval");
	if (sv)
		return !(tree_str_is(d, sv, "false") || tree_str_is(d, sv, "off") ||
			 tree_str_is(d, sv, "no"));
	uint32_t iv = tree_get(d, obj, "ival");
	if (obj && tree_type_is(type, tlen, "Integer"))
		return iv != 0 && tree_int(d, iv) != 0;
	if (obj && tree_type_is(type, tlen, "Boolean"))
		return tree_true(d, tree_get(d, obj, "boolval"));
	return true;
}

/* The DefElem named <name> in a list of wrapped DefElems, or 0. */
static uint32_t defelem(const struct tree *d, uint32_t list, const char *name)
{
	for (uint32_t e = tree_first(d, list); e; e = tree_next(d, list, e)) {
		const char *type;
		uint32_t tlen;
		uint32_t de = tree_unwrap(d, e, &type, &tlen);
		if (de && tree_str_isn(d, tree_get(d, de, "defname"), name, strlen(name)))
			return de;
	}
	return 0;
}

static void h_explain(struct walk *w, uint32_t obj)
{
	const struct tree *d = w->d;
	uint32_t an = defelem(d, tree_get(d, obj, "options"), "analyze");
	bool analyze = an != 0 && def_true(d, an);
	if (analyze)
		w->st->flags |= CLASSIFY_F_EXECUTES;
	else
		w->explain_plain++;
	walk_inner(w, tree_get(d, obj, "query"));
	if (!analyze)
		w->explain_plain--;
}

static void h_prepare(struct walk *w, uint32_t obj)
{
	w->st->name = wdup(w, tree_get(w->d, obj, "name"));
	walk_inner(w, tree_get(w->d, obj, "query"));
}

static void h_execute(struct walk *w, uint32_t obj)
{
	walk_execute(w, obj);
}

static void h_deallocate(struct walk *w, uint32_t obj)
{
	w->st->name = wdup(w, tree_get(w->d, obj, "name"));
}

/* Is string node <v> <lower> in any case? (Settings are named case-insensitively: SET "Role".) */
static bool str_ci_is(const struct tree *d, uint32_t v, const char *lower)
{
	if (!tree_is(d, v, TREE_STR))
		return false;
	size_t n = d->t[v].end - d->t[v].start;
	return n == strlen(lower) && ci_eq(d->s + d->t[v].start, lower, n);
}

static bool names_role(const struct tree *d, uint32_t v)
{
	return str_ci_is(d, v, "role") || str_ci_is(d, v, "session_authorization");
}

static void h_set(struct walk *w, uint32_t obj)
{
	const struct tree *d = w->d;
	uint32_t setting = tree_get(d, obj, "name");
	if (names_role(d, setting))
		w->st->flags |= CLASSIFY_F_ROLE_CHANGE;
	/* SET LOCAL and SET TRANSACTION end with the transaction. */
	bool local = tree_true(d, tree_get(d, obj, "is_local")) ||
		     (tree_str_is(d, tree_get(d, obj, "kind"), "VAR_SET_MULTI") &&
		      tree_str_is(d, tree_get(d, obj, "name"), "TRANSACTION"));
	if (local)
		return;
	w->st->flags |= CLASSIFY_F_SESSION_STATE;
	uint32_t name = tree_get(d, obj, "name");
	/* GUC_NO_RESET_ALL settings: RESET ALL leaves them, so a replay could not undo them. */
	if (!names_role(d, name))
		w->st->flags |= CLASSIFY_F_SET;
}

static void h_declare(struct walk *w, uint32_t obj)
{
	if (tree_int(w->d, tree_get(w->d, obj, "options")) & CURSOR_OPT_HOLD)
		w->st->flags |= CLASSIFY_F_SESSION_STATE;
	walk_inner(w, tree_get(w->d, obj, "query"));
}

static char *defelem_string(struct walk *w, uint32_t de)
{
	const char *type;
	uint32_t tlen;
	uint32_t arg = tree_unwrap(w->d, tree_get(w->d, de, "arg"), &type, &tlen);
	return wdup(w, tree_get(w->d, arg, "sval"));
}

static void h_do(struct walk *w, uint32_t obj)
{
	uint32_t args = tree_get(w->d, obj, "args");
	/* Its code may SET ROLE in ways no reading can rule out ('RO' || 'LE'). */
	w->st->flags |= CLASSIFY_F_ROLE_CHANGE;
	char *lang = defelem_string(w, defelem(w->d, args, "language"));
	mention_body(w, lang, defelem_string(w, defelem(w->d, args, "as")));
}

static void h_create_function(struct walk *w, uint32_t obj)
{
	const struct tree *d = w->d;
	/* Its body (pg_temp.f() needs no privilege) could change the role when called. */
	w->st->flags |= CLASSIFY_F_ROLE_CHANGE;
	uint32_t opts = tree_get(d, obj, "options");
	char *lang = defelem_string(w, defelem(d, opts, "language"));
	uint32_t as = tree_get(d, defelem(d, opts, "as"), "arg");
	const char *type;
	uint32_t tlen;
	uint32_t list = tree_get(d, tree_unwrap(d, as, &type, &tlen), "items");
	for (uint32_t e = tree_first(d, list); e && !w->stop; e = tree_next(d, list, e))
		mention_body(w, lang ? lang : "sql",
			     wdup(w, tree_get(d, tree_unwrap(d, e, &type, &tlen), "sval")));
	if (list == 0 && as != 0)
		mention_body(w, lang ? lang : "sql", defelem_string(w, defelem(d, opts, "as")));
	uint32_t body = tree_get(d, obj, "sql_body");
	if (body) {
		w->body++;
		scan_value(w, body, CLASSIFY_R_MENTION);
		w->body--;
	}
}

static void h_write(struct walk *w, uint32_t obj)
{
	scan_value(w, obj, CLASSIFY_R_WRITE);
}

static void h_read(struct walk *w, uint32_t obj)
{
	scan_value(w, obj, CLASSIFY_R_READ);
}

static void h_none(struct walk *w, uint32_t obj)
{
	(void)w;
	(void)obj;
}

/* Every table (schema NULL) or every table of one schema is affected. */
static void note_schema_wide(struct walk *w, const char *schema)
{
	note_rel(w, schema, NULL, CLASSIFY_R_WRITE);
}

static void h_all_tables(struct walk *w, uint32_t obj)
{
	(void)obj;
	note_schema_wide(w, NULL);
}

enum objshape {
	OBJ_NONE = 0,  /* not a relation */
	OBJ_REL,       /* [catalog.][schema.]relation */
	OBJ_REL_ITEM,  /* [schema.]relation.item: a column, constraint, trigger, rule or policy */
	OBJ_SCHEMA,    /* a schema */
};

static enum objshape objshape(const struct tree *d, uint32_t objtype)
{
	static const char *const rel[] = { "OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW",
					   "OBJECT_FOREIGN_TABLE", "OBJECT_SEQUENCE",
					   "OBJECT_INDEX", NULL };
	static const char *const item[] = { "OBJECT_COLUMN", "OBJECT_TABCONSTRAINT",
					    "OBJECT_TRIGGER", "OBJECT_RULE", "OBJECT_POLICY",
					    NULL };
	if (!tree_is(d, objtype, TREE_STR))
		return OBJ_NONE;
	const char *s = d->s + d->t[objtype].start;
	uint32_t n = d->t[objtype].end - d->t[objtype].start;
	if (name_in(s, n, rel))
		return OBJ_REL;
	if (name_in(s, n, item))
		return OBJ_REL_ITEM;
	if (n == 13 && memcmp(s, "OBJECT_SCHEMA", 13) == 0)
		return OBJ_SCHEMA;
	return OBJ_NONE;
}

/* A name written as a List of String nodes (DROP, COMMENT ON, ...). */
static void note_name_list(struct walk *w, uint32_t object, enum objshape shape)
{
	const struct tree *d = w->d;
	const char *type;
	uint32_t tlen;
	uint32_t inner = tree_unwrap(d, object, &type, &tlen);
	char *parts[4] = { NULL, NULL, NULL, NULL };
	size_t n = 0;
	if (inner && tree_type_is(type, tlen, "String")) {
		parts[n++] = wdup(w, tree_get(d, inner, "sval"));
	} else if (inner && tree_type_is(type, tlen, "List")) {
		uint32_t items = tree_get(d, inner, "items");
		for (uint32_t e = tree_first(d, items); e; e = tree_next(d, items, e)) {
			char *s = wdup(w, tree_get(d, tree_unwrap(d, e, &type, &tlen), "sval"));
			if (n == 4)
				memmove(parts, parts + 1, 3 * sizeof(parts[0]));
			parts[n < 4 ? n++ : 3] = s;
		}
	}
	if (shape == OBJ_REL_ITEM && n > 0)
		n--;
	if (n == 0 || parts[n - 1] == NULL) {
		if (!w->oom)
			walk_doubt(w, CLASSIFY_D_INTERNAL);
		return;
	}
	if (shape == OBJ_SCHEMA)
		note_schema_wide(w, parts[n - 1]);
	else
		note_rel(w, n >= 2 ? parts[n - 2] : w->default_schema, parts[n - 1], CLASSIFY_R_WRITE);
}

static void note_object(struct walk *w, uint32_t objtype, uint32_t object)
{
	enum objshape shape = objshape(w->d, objtype);
	if (shape != OBJ_NONE && object != 0)
		note_name_list(w, object, shape);
}

/* COMMENT ON, SECURITY LABEL, ALTER ... OWNER, ALTER EXTENSION ... ADD. */
static void h_object(struct walk *w, uint32_t obj)
{
	const struct tree *d = w->d;
	uint32_t objtype = tree_get(d, obj, "objtype");
	if (objtype == 0)
		objtype = tree_get(d, obj, "objectType");
	if (objshape(d, objtype) != OBJ_SCHEMA) /* a schema's owner or comment is not its tables */
		note_object(w, objtype, tree_get(d, obj, "object"));
	static const char *const skip[] = { "object", NULL };
	scan_members(w, obj, CLASSIFY_R_WRITE, skip);
}

static void h_drop(struct walk *w, uint32_t obj)
{
	const struct tree *d = w->d;
	uint32_t type = tree_get(d, obj, "removeType");
	uint32_t objects = tree_get(d, obj, "objects");
	for (uint32_t e = tree_first(d, objects); e && !w->stop; e = tree_next(d, objects, e))
		note_object(w, type, e);
}

/* A relation renamed or moved keeps being a relation under its new name. */
static void note_new_name(struct walk *w, uint32_t rel, const char *schema, const char *name)
{
	if (rel == 0 || name == NULL)
		return;
	char *old_schema = wdup(w, tree_get(w->d, rel, "schemaname"));
	note_rel(w, schema ? schema : (old_schema ? old_schema : w->default_schema), name,
		 CLASSIFY_R_WRITE);
}

static void h_rename(struct walk *w, uint32_t obj)
{
	const struct tree *d = w->d;
	uint32_t type = tree_get(d, obj, "renameType");
	uint32_t rel = tree_get(d, obj, "relation");
	if (rel)
		note_rangevar(w, rel, CLASSIFY_R_WRITE, RV_TARGET);
	enum objshape shape = objshape(d, type);
	if (shape == OBJ_SCHEMA)
		note_schema_wide(w, wdup(w, tree_get(d, obj, "subname")));
	else if (rel == 0)
		note_object(w, type, tree_get(d, obj, "object"));
	if (shape == OBJ_REL)
		note_new_name(w, rel, NULL, wdup(w, tree_get(d, obj, "newname")));
}

static void h_set_schema(struct walk *w, uint32_t obj)
{
	const struct tree *d = w->d;
	uint32_t type = tree_get(d, obj, "objectType");
	uint32_t rel = tree_get(d, obj, "relation");
	if (rel) {
		const char *name = note_rangevar(w, rel, CLASSIFY_R_WRITE, RV_TARGET);
		note_new_name(w, rel, wdup(w, tree_get(d, obj, "newschema")), name);
	} else {
		note_object(w, type, tree_get(d, obj, "object"));
	}
}

static void h_index(struct walk *w, uint32_t obj)
{
	const struct tree *d = w->d;
	scan_value(w, obj, CLASSIFY_R_WRITE);
	/* Indexes share the relation namespace: CREATE INDEX customers ... creates one. */
	note_new_name(w, tree_get(d, obj, "relation"), NULL, wdup(w, tree_get(d, obj, "idxname")));
}

static void h_grant(struct walk *w, uint32_t obj)
{
	const struct tree *d = w->d;
	if (tree_str_is(d, tree_get(d, obj, "targtype"), "ACL_TARGET_ALL_IN_SCHEMA") &&
	    tree_str_is(d, tree_get(d, obj, "objtype"), "OBJECT_TABLE")) {
		uint32_t objects = tree_get(d, obj, "objects");
		const char *type;
		uint32_t tlen;
		for (uint32_t e = tree_first(d, objects); e; e = tree_next(d, objects, e))
			note_schema_wide(w,
					 wdup(w, tree_get(d, tree_unwrap(d, e, &type, &tlen), "sval")));
		return;
	}
	scan_value(w, obj, CLASSIFY_R_WRITE);
}

static void h_reindex(struct walk *w, uint32_t obj)
{
	const struct tree *d = w->d;
	if (tree_str_is(d, tree_get(d, obj, "kind"), "REINDEX_OBJECT_SCHEMA"))
		note_schema_wide(w, wdup(w, tree_get(d, obj, "name")));
	else
		scan_value(w, obj, CLASSIFY_R_WRITE);
}

static void h_publication(struct walk *w, uint32_t obj)
{
	const struct tree *d = w->d;
	if (tree_true(d, tree_get(d, obj, "for_all_tables")))
		note_schema_wide(w, NULL);
	uint32_t objs = tree_get(d, obj, "pubobjects");
	for (uint32_t e = tree_first(d, objs); e; e = tree_next(d, objs, e)) {
		const char *type;
		uint32_t tlen;
		uint32_t spec = tree_unwrap(d, e, &type, &tlen);
		uint32_t kind = tree_get(d, spec, "pubobjtype");
		if (tree_str_is(d, kind, "PUBLICATIONOBJ_TABLES_IN_SCHEMA"))
			note_schema_wide(w, wdup(w, tree_get(d, spec, "name")));
		else if (tree_str_is(d, kind, "PUBLICATIONOBJ_TABLES_IN_CUR_SCHEMA"))
			note_schema_wide(w, NULL);
	}
	scan_value(w, obj, CLASSIFY_R_WRITE);
}

static void h_import(struct walk *w, uint32_t obj)
{
	/* The listed names are remote; what matters is the local schema they land in. */
	note_schema_wide(w, wdup(w, tree_get(w->d, obj, "local_schema")));
}

static void h_create_schema(struct walk *w, uint32_t obj)
{
	const char *saved = w->default_schema;
	char *schema = wdup(w, tree_get(w->d, obj, "schemaname"));
	if (schema != NULL)
		w->default_schema = schema;
	scan_value(w, tree_get(w->d, obj, "schemaElts"), CLASSIFY_R_WRITE);
	w->default_schema = saved;
}

/* ---- statement dispatch ---- */

typedef void (*stmt_handler)(struct walk *w, uint32_t obj);

struct rule {
	const char *type;     /* parse node name */
	enum classify_kind kind;
	unsigned flags;       /* enum classify_flag set by the statement itself */
	stmt_handler fn;
	const char *tag;      /* the command as messages name it */
};

#define K(x) CLASSIFY_K_##x
#define F(x) CLASSIFY_F_##x
static const struct rule rules[] = {
	{ "SelectStmt", K(SELECT), 0, h_select, "SELECT" },
	{ "InsertStmt", K(INSERT), 0, h_insert, "INSERT" },
	{ "UpdateStmt", K(UPDATE), 0, h_update, "UPDATE" },
	{ "DeleteStmt", K(DELETE), 0, h_delete, "DELETE" },
	{ "MergeStmt", K(MERGE), 0, h_merge, "MERGE" },
	{ "CopyStmt", K(COPY_TO), 0, h_copy, "COPY" },
	{ "ExplainStmt", K(EXPLAIN), 0, h_explain, "EXPLAIN" },
	{ "PrepareStmt", K(PREPARE), F(PREPARE) | F(SESSION_STATE), h_prepare, "PREPARE" },
	{ "ExecuteStmt", K(EXECUTE), 0, h_execute, "EXECUTE" },
	{ "DeallocateStmt", K(DEALLOCATE), F(DEALLOCATE) | F(SESSION_STATE), h_deallocate, "DEALLOCATE" },
	{ "TransactionStmt", K(TXN), F(TXN_CONTROL), h_none, "transaction control" },
	{ "VariableSetStmt", K(SESSION), 0, h_set, "SET" },
	{ "VariableShowStmt", K(UTILITY), 0, h_none, "SHOW" },
	{ "DiscardStmt", K(SESSION), F(SESSION_STATE), h_none, "DISCARD" },
	{ "ListenStmt", K(SESSION), F(SESSION_STATE), h_none, "LISTEN" },
	{ "UnlistenStmt", K(SESSION), F(SESSION_STATE), h_none, "UNLISTEN" },
	{ "LoadStmt", K(SESSION), F(SESSION_STATE), h_none, "LOAD" },
	{ "NotifyStmt", K(UTILITY), 0, h_none, "NOTIFY" },
	/* SET CONSTRAINTS names constraints (as RangeVars), not tables. */
	{ "ConstraintsSetStmt", K(UTILITY), 0, h_none, "SET CONSTRAINTS" },
	{ "DeclareCursorStmt", K(CURSOR), 0, h_declare, "DECLARE CURSOR" },
	{ "FetchStmt", K(CURSOR), 0, h_none, "FETCH" },
	{ "ClosePortalStmt", K(CURSOR), 0, h_none, "CLOSE" },
	{ "DoStmt", K(DO), F(EXECUTES) | F(BODY), h_do, "DO" },
	{ "CallStmt", K(CALL), F(EXECUTES), h_read, "CALL" },
	{ "CreateFunctionStmt", K(DDL), F(BODY), h_create_function, "CREATE FUNCTION" },
	{ "CreateStmt", K(DDL), 0, h_write, "CREATE TABLE" },
	{ "CreateTableAsStmt", K(DDL), 0, h_write, "CREATE TABLE AS" },
	{ "CreateForeignTableStmt", K(DDL), 0, h_write, "CREATE FOREIGN TABLE" },
	{ "ViewStmt", K(DDL), 0, h_write, "CREATE VIEW" },
	{ "CreateSeqStmt", K(DDL), 0, h_write, "CREATE SEQUENCE" },
	{ "AlterSeqStmt", K(DDL), 0, h_write, "ALTER SEQUENCE" },
	{ "AlterTableStmt", K(DDL), 0, h_write, "ALTER TABLE" },
	{ "IndexStmt", K(DDL), 0, h_index, "CREATE INDEX" },
	{ "CompositeTypeStmt", K(DDL), 0, h_write, "CREATE TYPE" },
	{ "CreateTrigStmt", K(DDL), 0, h_write, "CREATE TRIGGER" },
	{ "RuleStmt", K(DDL), 0, h_write, "CREATE RULE" },
	{ "CreatePolicyStmt", K(DDL), 0, h_write, "CREATE POLICY" },
	{ "AlterPolicyStmt", K(DDL), 0, h_write, "ALTER POLICY" },
	{ "AlterObjectDependsStmt", K(DDL), 0, h_write, "ALTER ... DEPENDS ON" },
	{ "CreateStatsStmt", K(DDL), 0, h_write, "CREATE STATISTICS" },
	{ "AlterStatsStmt", K(DDL), 0, h_write, "ALTER STATISTICS" },
	{ "CreatePublicationStmt", K(DDL), 0, h_publication, "CREATE PUBLICATION" },
	{ "AlterPublicationStmt", K(DDL), 0, h_publication, "ALTER PUBLICATION" },
	{ "ImportForeignSchemaStmt", K(DDL), 0, h_import, "IMPORT FOREIGN SCHEMA" },
	{ "CreateSchemaStmt", K(DDL), 0, h_create_schema, "CREATE SCHEMA" },
	{ "DropStmt", K(DDL), 0, h_drop, "DROP" },
	{ "RenameStmt", K(DDL), 0, h_rename, "ALTER ... RENAME" },
	{ "AlterObjectSchemaStmt", K(DDL), 0, h_set_schema, "ALTER ... SET SCHEMA" },
	{ "AlterOwnerStmt", K(DDL), 0, h_object, "ALTER ... OWNER" },
	{ "CommentStmt", K(DDL), 0, h_object, "COMMENT" },
	{ "SecLabelStmt", K(DDL), 0, h_object, "SECURITY LABEL" },
	{ "AlterExtensionContentsStmt", K(DDL), 0, h_object, "ALTER EXTENSION" },
	{ "DropOwnedStmt", K(DDL), 0, h_all_tables, "DROP OWNED" },
	{ "ReassignOwnedStmt", K(DDL), 0, h_all_tables, "REASSIGN OWNED" },
	{ "AlterTableMoveAllStmt", K(DDL), 0, h_all_tables, "ALTER TABLE ALL IN TABLESPACE" },
	{ "GrantStmt", K(GRANT), 0, h_grant, "GRANT/REVOKE" },
	{ "GrantRoleStmt", K(GRANT), 0, h_none, "GRANT/REVOKE ROLE" },
	{ "AlterDefaultPrivilegesStmt", K(GRANT), 0, h_none, "ALTER DEFAULT PRIVILEGES" },
	{ "LockStmt", K(LOCK), 0, h_write, "LOCK" },
	{ "TruncateStmt", K(TRUNCATE), 0, h_write, "TRUNCATE" },
	{ "VacuumStmt", K(MAINTENANCE), 0, h_write, "VACUUM/ANALYZE" },
	{ "ClusterStmt", K(MAINTENANCE), 0, h_write, "CLUSTER" },
	{ "ReindexStmt", K(MAINTENANCE), 0, h_reindex, "REINDEX" },
	{ "RefreshMatViewStmt", K(MAINTENANCE), 0, h_write, "REFRESH MATERIALIZED VIEW" },
	{ "CheckPointStmt", K(MAINTENANCE), 0, h_none, "CHECKPOINT" },
	/* DDL on objects that are not relations: a scan finds nothing, by design. */
	{ "AlterDomainStmt", K(DDL), 0, h_write, "DDL" },
	{ "DefineStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterFunctionStmt", K(DDL), 0, h_write, "DDL" },
	{ "CreateDomainStmt", K(DDL), 0, h_write, "DDL" },
	{ "CreatedbStmt", K(DDL), 0, h_write, "DDL" },
	{ "DropdbStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterDatabaseStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterDatabaseRefreshCollStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterDatabaseSetStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterRoleSetStmt", K(DDL), 0, h_write, "DDL" },
	{ "CreatePLangStmt", K(DDL), 0, h_write, "DDL" },
	{ "CreateRoleStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterRoleStmt", K(DDL), 0, h_write, "DDL" },
	{ "DropRoleStmt", K(DDL), 0, h_write, "DDL" },
	{ "CreateConversionStmt", K(DDL), 0, h_write, "DDL" },
	{ "CreateCastStmt", K(DDL), 0, h_write, "DDL" },
	{ "CreateOpClassStmt", K(DDL), 0, h_write, "DDL" },
	{ "CreateOpFamilyStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterOpFamilyStmt", K(DDL), 0, h_write, "DDL" },
	{ "CreateTableSpaceStmt", K(DDL), 0, h_write, "DDL" },
	{ "DropTableSpaceStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterTableSpaceOptionsStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterOperatorStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterTypeStmt", K(DDL), 0, h_write, "DDL" },
	{ "CreateEnumStmt", K(DDL), 0, h_write, "DDL" },
	{ "CreateRangeStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterEnumStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterTSDictionaryStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterTSConfigurationStmt", K(DDL), 0, h_write, "DDL" },
	{ "CreateFdwStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterFdwStmt", K(DDL), 0, h_write, "DDL" },
	{ "CreateForeignServerStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterForeignServerStmt", K(DDL), 0, h_write, "DDL" },
	{ "CreateUserMappingStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterUserMappingStmt", K(DDL), 0, h_write, "DDL" },
	{ "DropUserMappingStmt", K(DDL), 0, h_write, "DDL" },
	{ "CreateExtensionStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterExtensionStmt", K(DDL), 0, h_write, "DDL" },
	{ "CreateEventTrigStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterEventTrigStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterSystemStmt", K(DDL), 0, h_write, "DDL" },
	{ "CreateTransformStmt", K(DDL), 0, h_write, "DDL" },
	{ "CreateAmStmt", K(DDL), 0, h_write, "DDL" },
	{ "CreateSubscriptionStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterSubscriptionStmt", K(DDL), 0, h_write, "DDL" },
	{ "DropSubscriptionStmt", K(DDL), 0, h_write, "DDL" },
	{ "AlterCollationStmt", K(DDL), 0, h_write, "DDL" },
};
#undef K
#undef F

#define NRULES (sizeof(rules) / sizeof(rules[0]))

static unsigned rule_hash(const char *s, size_t n)
{
	unsigned h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static void rules_index(struct classify *c)
{
	memset(c->rule_idx, 0, sizeof(c->rule_idx));
	for (size_t i = 0; i < NRULES; i++) {
		unsigned s = rule_hash(rules[i].type, strlen(rules[i].type)) & 255u;
		while (c->rule_idx[s] != 0)
			s = (s + 1) & 255u;
		c->rule_idx[s] = (uint8_t)(i + 1);
	}
}

static const struct rule *rule_find(const struct classify *c, const char *type, uint32_t tlen)
{
	for (unsigned s = rule_hash(type, tlen) & 255u; c->rule_idx[s] != 0; s = (s + 1) & 255u) {
		const struct rule *r = &rules[c->rule_idx[s] - 1];
		if (tree_type_isn(type, tlen, r->type, strlen(r->type)))
			return r;
	}
	return NULL;
}

/* Walks one wrapped statement; returns its kind. */
static enum classify_kind walk_stmt(struct walk *w, uint32_t wrapped)
{
	const char *type;
	uint32_t tlen;
	uint32_t obj = tree_unwrap(w->d, wrapped, &type, &tlen);
	if (obj == 0) {
		walk_doubt(w, CLASSIFY_D_INTERNAL);
		return CLASSIFY_K_UNKNOWN;
	}
	const struct rule *r = rule_find(w->c, type, tlen);
	enum classify_kind saved = w->kind, kind;
	if (r == NULL) {
		/* Unknown: anything it names might be written; rule 7 decides from the text. */
		walk_doubt(w, CLASSIFY_D_UNKNOWN_STMT);
		scan_value(w, obj, CLASSIFY_R_WRITE);
		kind = CLASSIFY_K_UNKNOWN;
	} else {
		w->kind = r->kind;
		w->st->flags |= r->flags;
		if (w->st->tag == NULL)
			w->st->tag = r->tag;
		r->fn(w, obj);
		kind = w->kind;
	}
	w->kind = saved;
	return kind;
}

/* ---- statements of a text ---- */

static struct classify_stmt *stmt_new(struct classify *c, size_t offset, size_t len)
{
	if (c->nstmts == c->stmts_cap) {
		size_t cap = c->stmts_cap ? c->stmts_cap * 2 : 8;
		struct classify_stmt *s = realloc(c->stmts, cap * sizeof(*s));
		if (s == NULL)
			return NULL;
		c->stmts = s;
		c->stmts_cap = cap;
	}
	struct classify_stmt *st = &c->stmts[c->nstmts++];
	memset(st, 0, sizeof(*st));
	st->offset = offset;
	st->len = len;
	c->nrels = 0;
	if (c->rel_idx_live)
		c->rel_idx_live = false;
	c->nscope = 0;
	return st;
}

/* Moves the statement's relations into the arena. */
static bool stmt_finish(struct classify *c, struct classify_stmt *st)
{
	if (c->nrels == 0)
		return true;
	struct classify_rel *r = tree_arena_alloc(&c->arena, c->nrels * sizeof(*r));
	if (r == NULL)
		return false;
	memcpy(r, c->rels, c->nrels * sizeof(*r));
	st->rels = r;
	st->nrels = c->nrels;
	return true;
}

static void walk_init(struct walk *w, struct classify *c, struct classify_stmt *st)
{
	memset(w, 0, sizeof(*w));
	w->c = c;
	w->d = &c->doc;
	w->st = st;
}

/* A statement that did not parse: its facts are the watched names its tokens carry. */
static bool classify_unparseable(struct classify *c, const char *sql, size_t off, size_t len,
				 const char *error)
{
	struct classify_stmt *st = stmt_new(c, off, len);
	if (st == NULL)
		return false;
	struct walk w;
	walk_init(&w, c, st);
	st->doubt = CLASSIFY_D_UNPARSEABLE;
	st->error = error ? tree_arena_strndup(&c->arena, error, strlen(error)) : NULL;
	mention_scan(&w, sql + off, len, 0);
	return !w.oom && stmt_finish(c, st);
}

static bool classify_one(struct classify *c, uint32_t wrapped, const char *sql, size_t off,
			 size_t len)
{
	struct classify_stmt *st = stmt_new(c, off, len);
	if (st == NULL)
		return false;
	struct walk w;
	walk_init(&w, c, st);
	st->kind = walk_stmt(&w, wrapped);
	if (st->inner_kind == CLASSIFY_K_UNKNOWN)
		st->inner_kind = st->kind;
	/* Incomplete facts: whatever the text names may be touched (rule 7). */
	if (!w.oom && st->doubt != CLASSIFY_D_NONE) {
		w.stop = false;
		mention_scan(&w, sql + off, len, 0);
	}
	return !w.oom && stmt_finish(c, st);
}

/* Statements of one parsed text; <base> is where that text starts inside <sql>. */
static bool classify_doc(struct classify *c, const char *sql, size_t base, size_t len)
{
	const struct tree *d = &c->doc;
	uint32_t stmts = tree_member(d, 0, "stmts", 5);
	for (uint32_t e = tree_first(d, stmts); e; e = tree_next(d, stmts, e)) {
		int64_t loc = tree_int(d, tree_get(d, e, "stmt_location"));
		int64_t slen = tree_int(d, tree_get(d, e, "stmt_len"));
		if (loc < 0 || (size_t)loc > len)
			loc = 0;
		if (slen <= 0 || (size_t)slen > len - (size_t)loc)
			slen = (int64_t)(len - (size_t)loc);
		if (!classify_one(c, tree_get(d, e, "stmt"), sql, base + (size_t)loc, (size_t)slen))
			return false;
	}
	return true;
}

enum parse_status {
	PARSE_OK = 0,  /* parsed and classified */
	PARSE_FAILED,  /* libpg_query rejected the text */
	PARSE_OOM,     /* out of memory */
};

/* Parses sql[base, base+len) (NUL-terminated there) and classifies its statements. */
static enum parse_status parse_and_classify(struct classify *c, const char *sql, size_t base,
					    size_t len, const char **error)
{
	struct tree_error perr;
	enum tree_status ts = tree_parse(&c->doc, &c->arena, sql + base, &perr);
	enum parse_status status = PARSE_OK;
	if (ts == TREE_SYNTAX) {
		*error = perr.message;
		status = PARSE_FAILED;
	} else if (ts == TREE_OOM) {
		status = PARSE_OOM;
	} else if (ts == TREE_MALFORMED) {
		status = classify_unparseable(c, sql, base, len, "unexpected parse tree")
				 ? PARSE_OK : PARSE_OOM;
		if (status == PARSE_OK)
			c->stmts[c->nstmts - 1].doubt = CLASSIFY_D_INTERNAL;
	} else if (!classify_doc(c, sql, base, len)) {
		status = PARSE_OOM;
	}
	tree_release(&c->doc);
	return status;
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != ' ' && s[i] != '\n' && s[i] != '\t' && s[i] != '\r' && s[i] != ';')
			return false;
	}
	return true;
}

/* One piece of a text that did not parse as a whole. */
static bool classify_piece(struct classify *c, const char *sql, size_t loc, size_t len)
{
	char *piece = tree_arena_strndup(&c->arena, sql + loc, len);
	if (piece == NULL)
		return false;
	const char *perr = NULL;
	size_t before = c->nstmts;
	enum parse_status ps = parse_and_classify(c, piece, 0, len, &perr);
	/* classify_doc saw offsets inside the piece; make them offsets in <sql>. */
	for (size_t k = before; k < c->nstmts; k++)
		c->stmts[k].offset += loc;
	if (ps == PARSE_FAILED)
		return classify_unparseable(c, sql, loc, len, perr);
	return ps == PARSE_OK;
}

/*
 * The whole text did not parse. Split it with the scanner and classify each
 * piece on its own, so one statement in newer syntax does not hide what the
 * others are. The splitter silently drops pieces without a keyword
 * ("SELECT 1; payments"), so every byte it did not hand back is classified
 * too: rule 7 looks at all of the text's tokens.
 */
static bool classify_pieces(struct classify *c, const char *sql, size_t len, const char *error)
{
	struct tree_span *sp;
	size_t nsp;
	enum tree_status ts = tree_split(&c->arena, sql, &sp, &nsp);
	if (ts == TREE_OOM)
		return false;
	if (ts != TREE_OK || nsp == 0)
		return classify_unparseable(c, sql, 0, len, error);
	bool ok = true;
	size_t done = 0;
	for (size_t i = 0; i <= nsp && ok; i++) {
		size_t loc = len, slen = 0;
		if (i < nsp) {
			int l = sp[i].location, n = sp[i].len;
			if (l < 0 || (size_t)l < done || (size_t)l > len || n < 0 ||
			    (size_t)n > len - (size_t)l) {
				ok = classify_unparseable(c, sql, done, len - done, error);
				break;
			}
			loc = (size_t)l;
			slen = (size_t)n;
		}
		if (!blank(sql + done, loc - done))
			ok = classify_unparseable(c, sql, done, loc - done, error);
		if (ok && slen > 0)
			ok = classify_piece(c, sql, loc, slen);
		done = loc + slen;
	}
	return ok;
}

/* Releases oversized scratch that the result does not point into. */
static void classify_trim(struct classify *c)
{
	tree_trim(&c->doc);
	if (c->rels_cap > KEEP_RELS) {
		free(c->rels);
		c->rels = NULL;
		c->rels_cap = 0;
		free(c->rel_idx);
		c->rel_idx = NULL;
		c->rel_idx_cap = 0;
		c->rel_idx_live = false;
	}
}

bool classify_text(struct classify *c, const char *sql, size_t len, struct classify_result *out)
{
	memset(out, 0, sizeof(*out));
	/* The previous result is no longer borrowed: its memory can go. */
	tree_arena_reset(&c->arena);
	if (c->stmts_cap > KEEP_STMTS) {
		free(c->stmts);
		c->stmts = NULL;
		c->stmts_cap = 0;
	}
	c->nstmts = 0;
	c->rel_idx_live = false;
	const char *error = NULL;
	enum parse_status ps = parse_and_classify(c, sql, 0, len, &error);
	bool ok = ps != PARSE_OOM;
	if (ps == PARSE_FAILED)
		ok = classify_pieces(c, sql, len, error);
	if (ok && ps == PARSE_OK) {
		uint64_t fp;
		if (tree_fingerprint(sql, &fp))
			out->fingerprint = fp;
	}
	classify_trim(c);
	out->stmts = c->stmts;
	out->nstmts = ok ? c->nstmts : 0;
	return ok;
}

/* ---- the pre-filter and the no-parse fallback ---- */

/* Could decoding spell a name that is not in the raw bytes? (backslash, U&, 'a' newline 'b') */
static bool has_escape(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '\\' || (ch == '&' && i > 0 && (s[i - 1] == 'u' || s[i - 1] == 'U')) ||
		    (ch == '\'' && quote_continues(s, n, i + 1) != 0))
			return true;
	}
	return false;
}

static bool word_at(const char *s, size_t n, const char *word)
{
	size_t k = strlen(word);
	return n >= k && ci_eq(s, word, k) && (n == k || !ident_char((unsigned char)s[k]));
}

/* Byte classes of the pre-filter pass. */
enum prefilter_class {
	PF_WATCH = 1u << 0,   /* may start a watched name (either case) */
	PF_MARKER = 1u << 1,  /* may start set_config, advisory, into or an SQL-text function */
	PF_SPECIAL = 1u << 2, /* backslash, &, zero byte, semicolon, quote */
};

static void bigram_set(struct classify *c, const char *word)
{
	unsigned bit = ((unsigned)lc((unsigned char)word[0]) << 8) | lc((unsigned char)word[1]);
	c->bigram[bit >> 3] |= (uint8_t)(1u << (bit & 7));
}

static bool bigram_has(const struct classify *c, const char *s, size_t n)
{
	if (n < 2)
		return n == 1; /* a one-letter watched name has no second letter to test */
	unsigned bit = ((unsigned)lc((unsigned char)s[0]) << 8) | lc((unsigned char)s[1]);
	return (c->bigram[bit >> 3] >> (bit & 7)) & 1u;
}

static void prefilter_classes(struct classify *c)
{
	memset(c->cls, 0, sizeof(c->cls));
	memset(c->bigram, 0, sizeof(c->bigram));
	for (size_t k = 0; k < c->nwatch; k++) {
		if (c->watch[k].len >= 2)
			bigram_set(c, c->watch[k].lower);
		else
			memset(c->bigram, 0xff, sizeof(c->bigram)); /* one letter: no shortcut */
	}
	bigram_set(c, "set_config");
	bigram_set(c, "advisory");
	bigram_set(c, "into");
	bigram_set(c, "query_to_xml");
	bigram_set(c, "ts_stat");
	for (int ch = 0; ch < 256; ch++) {
		if (c->first[lc((unsigned char)ch)])
			c->cls[ch] |= PF_WATCH;
	}
	static const char markers[] = "sSaAiIqQtT";
	for (const char *m = markers; *m; m++)
		c->cls[(unsigned char)*m] |= PF_MARKER;
	static const char specials[] = "\\&;'";
	for (const char *m = specials; *m; m++)
		c->cls[(unsigned char)*m] |= PF_SPECIAL;
	c->cls[0] |= PF_SPECIAL;
}

/*
 * Substrings that give a plain statement session effects (see note_funccall;
 * SELECT INTO [TEMP] creates a table, which only SELECT and WITH can do).
 */
static bool marker_at(const char *s, size_t n, bool selectish)
{
	return (n >= 10 && ci_eq(s, "set_config", 10)) || (n >= 8 && ci_eq(s, "advisory", 8)) ||
	       (selectish && n >= 4 && ci_eq(s, "into", 4)) ||
	       /* functions that run SQL text (sql_text_fns): it could change the role */
	       (n >= 8 && ci_eq(s, "query_to", 8)) || (n >= 7 && ci_eq(s, "ts_stat", 7)) ||
	       (n >= 10 && ci_eq(s, "ts_rewrite", 10));
}

static bool watched_at(const struct classify *c, const char *s, size_t n)
{
	for (size_t k = 0; k < c->nwatch; k++) {
		const struct watched *wn = &c->watch[k];
		if (wn->len <= n && ci_eq(s, wn->lower, wn->len))
			return true;
	}
	return false;
}

/* s[i] is a special byte: does it force a parse? <end> is where a final ';' may sit. */
static bool special_blocks(const char *s, size_t n, size_t i, size_t end)
{
	switch (s[i]) {
	case '\\':
	case '\0':
		return true;
	case '&':
		return i > 0 && (s[i - 1] == 'u' || s[i - 1] == 'U');
	case ';':
		return i < end;
	default: /* a quote: 'a' newline 'b' is one literal and could spell a name */
		return quote_continues(s, n, i + 1) != 0;
	}
}

bool classify_prefilter(const struct classify *c, const char *sql, size_t len)
{
	size_t i = 0;
	while (i < len && (sql[i] == ' ' || sql[i] == '\n' || sql[i] == '\t' || sql[i] == '\r'))
		i++;
	const char *s = sql + i;
	size_t n = len - i;
	bool selectish = word_at(s, n, "select") || word_at(s, n, "with") ||
			 word_at(s, n, "values") || word_at(s, n, "table");
	bool dml = !selectish && (word_at(s, n, "insert") || word_at(s, n, "update") ||
				  word_at(s, n, "delete") || word_at(s, n, "merge"));
	if (!selectish && !dml)
		return false;
	size_t end = len;
	while (end > 0 && (sql[end - 1] == ' ' || sql[end - 1] == '\n' || sql[end - 1] == '\t' ||
			   sql[end - 1] == '\r'))
		end--;
	if (end > 0 && sql[end - 1] == ';')
		end--;
	/* One pass; almost every byte is class 0 and costs one table lookup. */
	for (size_t k = 0; k < len; k++) {
		uint8_t cl = c->cls[(unsigned char)sql[k]];
		if (cl == 0)
			continue;
		if ((cl & PF_SPECIAL) && special_blocks(sql, len, k, end))
			return false;
		if (!(cl & (PF_MARKER | PF_WATCH)) || !bigram_has(c, sql + k, len - k))
			continue;
		if ((cl & PF_MARKER) && marker_at(sql + k, len - k, selectish))
			return false;
		if ((cl & PF_WATCH) && watched_at(c, sql + k, len - k))
			return false;
	}
	return true;
}

bool classify_raw_mentions(const struct classify *c, const char *sql, size_t len,
			   const char **first)
{
	*first = watch_substr_ci(c, sql, len);
	return *first != NULL || has_escape(sql, len);
}

/* ---- constructors ---- */

struct classify *classify_new(const char *const *watch, size_t nwatch)
{
	struct classify *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->watch = calloc(nwatch ? nwatch : 1, sizeof(*c->watch));
	if (c->watch == NULL) {
		free(c);
		return NULL;
	}
	for (size_t i = 0; i < nwatch; i++) {
		size_t n = watch[i] ? strlen(watch[i]) : 0;
		if (n == 0)
			continue;
		char *copy = malloc(2 * (n + 1));
		if (copy == NULL) {
			classify_free(c);
			return NULL;
		}
		char *lower = copy + n + 1;
		for (size_t k = 0; k <= n; k++) {
			copy[k] = watch[i][k];
			lower[k] = (char)lc((unsigned char)watch[i][k]);
		}
		c->watch[c->nwatch++] = (struct watched){ .name = copy, .lower = lower, .len = n };
		c->first[(unsigned char)lower[0]] = true;
	}
	rules_index(c);
	prefilter_classes(c);
	return c;
}

void classify_free(struct classify *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nwatch; i++)
		free(c->watch[i].name);
	free(c->watch);
	tree_arena_free(&c->arena);
	tree_free(&c->doc);
	free(c->stmts);
	free(c->rels);
	free(c->rel_idx);
	free(c->scope);
	free(c);
}

const char *classify_kind_name(enum classify_kind kind)
{
	static const char *const names[CLASSIFY_K_COUNT] = {
		[CLASSIFY_K_UNKNOWN] = "UNKNOWN",     [CLASSIFY_K_SELECT] = "SELECT",
		[CLASSIFY_K_INSERT] = "INSERT",       [CLASSIFY_K_UPDATE] = "UPDATE",
		[CLASSIFY_K_DELETE] = "DELETE",       [CLASSIFY_K_MERGE] = "MERGE",
		[CLASSIFY_K_COPY_FROM] = "COPY FROM", [CLASSIFY_K_COPY_TO] = "COPY TO",
		[CLASSIFY_K_TRUNCATE] = "TRUNCATE",   [CLASSIFY_K_LOCK] = "LOCK",
		[CLASSIFY_K_MAINTENANCE] = "MAINTENANCE", [CLASSIFY_K_DDL] = "DDL",
		[CLASSIFY_K_GRANT] = "GRANT",         [CLASSIFY_K_TXN] = "TRANSACTION",
		[CLASSIFY_K_SESSION] = "SESSION",     [CLASSIFY_K_PREPARE] = "PREPARE",
		[CLASSIFY_K_EXECUTE] = "EXECUTE",     [CLASSIFY_K_DEALLOCATE] = "DEALLOCATE",
		[CLASSIFY_K_EXPLAIN] = "EXPLAIN",     [CLASSIFY_K_CALL] = "CALL",
		[CLASSIFY_K_DO] = "DO",               [CLASSIFY_K_CURSOR] = "CURSOR",
		[CLASSIFY_K_UTILITY] = "UTILITY",
	};
	if ((unsigned)kind >= CLASSIFY_K_COUNT)
		return "UNKNOWN";
	return names[kind];
}

/*
 * test_tree — the parse tree index on its own: member lookup, array
 * iteration, string decoding, libpg_query's parse (and its error position),
 * the lexical scan, the splitter, the arena, and inputs that are not the
 * JSON libpg_query writes (truncated, malformed, random bytes) — which must
 * be refused, never read out of bounds (ASan build).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/tree.h"

/* Members of the root: tree_get reads index 0 as "absent", so the root takes tree_member. */
#define root_get(d, key) tree_member((d), 0, "" key, sizeof(key) - 1)

/* One test's document: the index and the exact-size copy it points into. */
struct doc {
	struct tree d;
	char *copy;
};

/* Indexes <json> from an exact-size copy (no NUL after it), so ASan sees any over-read. */
static enum tree_status doc_index(struct doc *doc, const char *json)
{
	size_t n = strlen(json);
	free(doc->copy);
	doc->copy = malloc(n ? n : 1);
	assert_non_null(doc->copy);
	memcpy(doc->copy, json, n);
	return tree_index(&doc->d, doc->copy, n);
}

static void doc_free(struct doc *doc)
{
	tree_free(&doc->d);
	free(doc->copy);
	doc->copy = NULL;
}

static void test_members(void **state)
{
	(void)state;
	const char *json = "{\"x\": \"y\", \"y\": 5, \"b\": {\"c\": \"in b\", \"d\": [1, 2, 3]},"
			   " \"e\": true, \"f\": false, \"g\": null, \"neg\": -42, \"big\": "
			   "99999999999999999999999}";
	struct doc doc = { 0 };
	struct tree *d = &doc.d;
	assert_int_equal(doc_index(&doc, json), TREE_OK);
	assert_true(tree_is(d, 0, TREE_OBJ) == false); /* 0 is "absent", even for the root */
	assert_int_equal(d->t[0].type, TREE_OBJ);

	/* Keys match, values that spell a key do not. */
	uint32_t y = root_get(d, "y");
	assert_true(tree_is(d, y, TREE_NUM));
	assert_int_equal(tree_int(d, y), 5);
	assert_true(tree_str_is(d, tree_member(d, 0, "x", 1), "y"));

	/* Lookups see direct members only, and chain through absence. */
	uint32_t b = root_get(d, "b");
	assert_true(tree_is(d, b, TREE_OBJ));
	assert_int_equal(root_get(d, "c"), 0);
	assert_int_equal(tree_get(d, 0, "y"), 0); /* see root_get */
	assert_true(tree_str_is(d, tree_get(d, b, "c"), "in b"));
	assert_int_equal(tree_get(d, root_get(d, "nope"), "c"), 0);
	assert_int_equal(tree_get(d, y, "c"), 0); /* not an object */
	assert_int_equal(root_get(d, ""), 0);

	assert_true(tree_true(d, root_get(d, "e")));
	assert_false(tree_true(d, root_get(d, "f")));
	assert_false(tree_true(d, root_get(d, "g")));
	assert_true(tree_is(d, root_get(d, "g"), TREE_LIT));
	assert_int_equal(tree_int(d, root_get(d, "neg")), -42);
	assert_true(tree_int(d, root_get(d, "big")) > 0); /* clamped, not wrapped */
	assert_int_equal(tree_int(d, root_get(d, "x")), 0); /* a string is no number */

	/* The subtree of "b" ends where "e" begins. */
	uint32_t e_key = root_get(d, "e") - 1;
	assert_int_equal(d->t[b].next, e_key);
	assert_true(d->t[e_key].key);
	doc_free(&doc);
}

static void test_arrays(void **state)
{
	(void)state;
	const char *json = "{\"a\":[1,2,3],\"empty\":[],\"objs\":[{\"k\":1,\"deep\":[[[7]]]},"
			   "{\"k\":2},{\"k\":3}],\"s\":\"[1,2]\"}";
	struct doc doc = { 0 };
	struct tree *d = &doc.d;
	assert_int_equal(doc_index(&doc, json), TREE_OK);
	uint32_t a = root_get(d, "a");
	int64_t sum = 0;
	int count = 0;
	for (uint32_t e = tree_first(d, a); e; e = tree_next(d, a, e)) {
		sum += tree_int(d, e);
		count++;
	}
	assert_int_equal(sum, 6);
	assert_int_equal(count, 3);
	assert_int_equal(tree_first(d, root_get(d, "empty")), 0);
	assert_int_equal(tree_first(d, root_get(d, "s")), 0); /* a string is no array */
	assert_int_equal(tree_first(d, 0), 0);

	/* Elements that are containers are skipped whole. */
	uint32_t objs = root_get(d, "objs");
	sum = 0;
	count = 0;
	for (uint32_t e = tree_first(d, objs); e; e = tree_next(d, objs, e)) {
		assert_true(tree_is(d, e, TREE_OBJ));
		sum += tree_int(d, tree_get(d, e, "k"));
		count++;
	}
	assert_int_equal(sum, 6);
	assert_int_equal(count, 3);
	doc_free(&doc);
}

static void test_unwrap(void **state)
{
	(void)state;
	const char *json = "{\"n\":{\"RangeVar\":{\"relname\":\"t\"}},\"two\":{\"A\":{},\"B\":{}},"
			   "\"lower\":{\"rangeVar\":{}},\"scalar\":{\"X\":1}}";
	struct doc doc = { 0 };
	struct tree *d = &doc.d;
	assert_int_equal(doc_index(&doc, json), TREE_OK);
	const char *type = NULL;
	uint32_t tlen = 0;
	uint32_t rv = tree_unwrap(d, root_get(d, "n"), &type, &tlen);
	assert_true(rv != 0);
	assert_true(tree_type_is(type, tlen, "RangeVar"));
	assert_false(tree_type_is(type, tlen, "Range"));
	assert_true(tree_str_is(d, tree_get(d, rv, "relname"), "t"));
	assert_int_equal(tree_unwrap(d, root_get(d, "two"), &type, &tlen), 0);
	assert_int_equal(tree_unwrap(d, root_get(d, "lower"), &type, &tlen), 0);
	assert_int_equal(tree_unwrap(d, root_get(d, "scalar"), &type, &tlen), 0);
	assert_int_equal(tree_unwrap(d, 0, &type, &tlen), 0);
	doc_free(&doc);
}

static void test_decode(void **state)
{
	(void)state;
	static const struct {
		const char *json; /* the value of "v" */
		const char *want;
	} cases[] = {
		{ "\"plain\"", "plain" },
		{ "\"\"", "" },
		{ "\"a\\nb\\tc\\rd\\be\\ff\"", "a\nb\tc\rd\be\ff" },
		{ "\"q\\\"q\\\\ \\/\"", "q\"q\\ /" },
		{ "\"\\u0041\\u00e9\\u20ac\"", "A\xc3\xa9\xe2\x82\xac" },
		{ "\"caf\xc3\xa9\"", "caf\xc3\xa9" },          /* UTF-8 passes as is */
		{ "\"x\\u0000y\"", "x0000y" },                  /* never written: only \u goes */
		{ "\"\\ud83d\"", "d83d" },                      /* a surrogate half likewise */
		{ "\"\\u12\"", "12" },                      /* too short: digits kept */
		{ "\"end\\\\\"", "end\\" },                     /* escaped backslash before the quote */
	};
	struct tree_arena a = { 0 };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char json[256];
		snprintf(json, sizeof(json), "{\"v\":%s}", cases[i].json);
		struct doc doc = { 0 };
		struct tree *d = &doc.d;
		assert_int_equal(doc_index(&doc, json), TREE_OK);
		uint32_t v = root_get(d, "v");
		assert_true(tree_is(d, v, TREE_STR));
		char *got = tree_decode(&a, d, v);
		assert_non_null(got);
		assert_string_equal(got, cases[i].want);
		doc_free(&doc);
	}
	tree_arena_free(&a);
}

static void test_parse(void **state)
{
	(void)state;
	struct doc doc = { 0 };
	struct tree *d = &doc.d;
	struct tree_arena a = { 0 };
	struct tree_error err = { 0 };
	assert_int_equal(tree_parse(d, &a, "SELECT a FROM t; SELECT 2", &err), TREE_OK);
	uint32_t stmts = root_get(d, "stmts");
	uint32_t first = tree_first(d, stmts), second = tree_next(d, stmts, first);
	assert_true(first != 0 && second != 0);
	assert_int_equal(tree_next(d, stmts, second), 0);
	assert_int_equal(tree_int(d, tree_get(d, first, "stmt_len")), 15);
	assert_int_equal(tree_int(d, tree_get(d, second, "stmt_location")), 16);
	const char *type = NULL;
	uint32_t tlen = 0;
	uint32_t sel = tree_unwrap(d, tree_get(d, first, "stmt"), &type, &tlen);
	assert_true(tree_type_is(type, tlen, "SelectStmt"));
	uint32_t from = tree_get(d, sel, "fromClause");
	uint32_t rv = tree_unwrap(d, tree_first(d, from), &type, &tlen);
	assert_true(tree_type_is(type, tlen, "RangeVar"));
	assert_string_equal(tree_decode(&a, d, tree_get(d, rv, "relname")), "t");
	tree_release(d);
	assert_int_equal(d->n, 0);
	assert_null(d->pg_json);

	/* A parse error says where (1-based, in characters: the é counts once). */
	assert_int_equal(tree_parse(d, &a, "SELECT 1 FROM WHERE x", &err), TREE_SYNTAX);
	assert_string_equal(err.message, "syntax error at or near \"WHERE\"");
	assert_int_equal(err.cursorpos, 15);
	assert_int_equal(tree_parse(d, &a, "SELECT '\xc3\xa9' FROM WHERE", &err), TREE_SYNTAX);
	assert_int_equal(err.cursorpos, 17);
	assert_int_equal(d->n, 0);

	/* Parsing again replaces the tree; freeing after a failure is fine. */
	assert_int_equal(tree_parse(d, &a, "", &err), TREE_OK);
	assert_int_equal(tree_first(d, root_get(d, "stmts")), 0);
	assert_int_equal(tree_parse(d, &a, "VALUES (1)", &err), TREE_OK);
	doc_free(&doc);
	tree_free(d); /* empty: a no-op */
	tree_arena_free(&a);
}

static void test_scan(void **state)
{
	(void)state;
	struct tree_arena a = { 0 };
	const char *sql = "SELECT \"Ab\", E'x\\n' FROM t WHERE a = $1";
	struct tree_token *toks;
	size_t n;
	assert_int_equal(tree_scan(&a, sql, &toks, &n), TREE_OK);
	static const struct {
		const char *text;
		uint8_t kind, keyword;
	} want[] = {
		{ "SELECT", TREE_TOK_OTHER, TREE_KW_RESERVED },
		{ "\"Ab\"", TREE_TOK_IDENT, TREE_KW_NONE },
		{ ",", TREE_TOK_OTHER, TREE_KW_NONE },
		{ "E'x\\n'", TREE_TOK_SCONST, TREE_KW_NONE },
		{ "FROM", TREE_TOK_OTHER, TREE_KW_RESERVED },
		{ "t", TREE_TOK_IDENT, TREE_KW_NONE },
		{ "WHERE", TREE_TOK_OTHER, TREE_KW_RESERVED },
		{ "a", TREE_TOK_IDENT, TREE_KW_NONE },
		{ "=", TREE_TOK_OTHER, TREE_KW_NONE },
		{ "$1", TREE_TOK_OTHER, TREE_KW_NONE },
	};
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t k = 0; k < n; k++) {
		size_t len = strlen(want[k].text);
		assert_true(toks[k].start >= 0 && toks[k].end == toks[k].start + (int32_t)len);
		assert_memory_equal(sql + toks[k].start, want[k].text, len);
		assert_int_equal(toks[k].kind, want[k].kind);
		assert_int_equal(toks[k].keyword, want[k].keyword);
	}

	/* U& identifiers and strings, UESCAPE, and keyword categories. */
	const char *uni = "SELECT U&\"d!0061t\" UESCAPE '!', U&'x', name FROM ONLY t";
	assert_int_equal(tree_scan(&a, uni, &toks, &n), TREE_OK);
	assert_int_equal(n, 11);
	assert_int_equal(toks[1].kind, TREE_TOK_UIDENT);
	assert_int_equal(toks[1].start, 7);
	assert_int_equal(toks[2].kind, TREE_TOK_UESCAPE);
	assert_int_equal(toks[2].keyword, TREE_KW_UNRESERVED);
	assert_int_equal(toks[3].kind, TREE_TOK_SCONST);
	assert_int_equal(toks[5].kind, TREE_TOK_USCONST);
	assert_int_equal(toks[7].kind, TREE_TOK_OTHER); /* "name" is a keyword ... */
	assert_int_equal(toks[7].keyword, TREE_KW_UNRESERVED);
	assert_int_equal(toks[9].keyword, TREE_KW_RESERVED);

	/* The scanner refuses an unterminated literal; nothing is handed back. */
	assert_int_equal(tree_scan(&a, "SELECT 'open", &toks, &n), TREE_MALFORMED);
	assert_null(toks);
	assert_int_equal(n, 0);
	assert_int_equal(tree_scan(&a, "", &toks, &n), TREE_OK);
	assert_int_equal(n, 0);
	tree_arena_free(&a);
}

static void test_split_and_fingerprint(void **state)
{
	(void)state;
	struct tree_arena a = { 0 };
	struct tree_span *sp;
	size_t n;
	/* The splitter works on text that does not parse, and skips "SELEC 2". */
	assert_int_equal(tree_split(&a, "SELECT 1; SELEC 2; SELECT 3", &sp, &n), TREE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(sp[0].location, 0);
	assert_int_equal(sp[0].len, 8);
	assert_int_equal(sp[1].location, 18);
	assert_int_equal(sp[1].len, 9);
	assert_int_equal(tree_split(&a, "SELECT 'open", &sp, &n), TREE_MALFORMED);
	assert_null(sp);

	uint64_t f1 = 0, f2 = 0, f3 = 0;
	assert_true(tree_fingerprint("SELECT * FROM t WHERE id = 1", &f1));
	assert_true(tree_fingerprint("select * from t where id = 42", &f2));
	assert_true(tree_fingerprint("SELECT * FROM u WHERE id = 1", &f3));
	assert_true(f1 != 0);
	assert_true(f1 == f2);
	assert_true(f1 != f3);
	assert_false(tree_fingerprint("SELECT FROM WHERE", &f3));
	tree_arena_free(&a);
}

static void test_arena(void **state)
{
	(void)state;
	struct tree_arena a = { 0 };
	char *s = tree_arena_strndup(&a, "hello world", 5);
	assert_string_equal(s, "hello");
	for (size_t n = 1; n < 100; n += 7) {
		void *p = tree_arena_alloc(&a, n);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 8, 0);
		memset(p, 0xab, n);
	}
	char *big = tree_arena_alloc(&a, 1u << 20); /* larger than a chunk */
	assert_non_null(big);
	memset(big, 1, 1u << 20);
	assert_string_equal(s, "hello"); /* earlier allocations stay put */
	assert_null(tree_arena_alloc(&a, SIZE_MAX - 3));
	tree_arena_reset(&a);
	assert_non_null(a.head); /* one standard chunk kept */
	assert_non_null(tree_arena_alloc(&a, 64));
	tree_arena_free(&a);
	assert_null(a.head);
	tree_arena_free(&a);
}

/* Every token of an index that said TREE_OK, through every accessor. */
static void walk_all(const struct tree *d, struct tree_arena *a)
{
	for (uint32_t i = 0; i < d->n; i++) {
		assert_true(d->t[i].next > i && d->t[i].next <= d->n);
		assert_true(d->t[i].start <= d->t[i].end);
		const char *type = NULL;
		uint32_t tlen = 0;
		(void)tree_unwrap(d, i, &type, &tlen);
		(void)tree_get(d, i, "stmts");
		(void)tree_int(d, i);
		(void)tree_true(d, i);
		for (uint32_t e = tree_first(d, i); e; e = tree_next(d, i, e))
			assert_true(e > i && e < d->t[i].next);
		if (d->t[i].type == TREE_STR)
			assert_non_null(tree_decode(a, d, i));
	}
}

static void test_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", " ", "{", "}", "]", "[]", "[1]", "\"s\"", "1", "true", "{]", "[}", "{}}",
		"{} {}", "{}[]", "{\"a\":", "{\"a\":\"open", "{\"a\":\"esc\\\"}", "{\"a\":[1,2}",
		"{\"a\":{\"b\":1}", "x{}", ",{", ":",
	};
	struct doc doc = { 0 };
	struct tree *d = &doc.d;
	struct tree_arena a = { 0 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(doc_index(&doc, bad[i]), TREE_MALFORMED);
	/* Odd but well nested: indexed, and the accessors stay in bounds. */
	static const char *const odd[] = {
		"{}", "{\"a\"}", "{1:2}", "{{}:[]}", "{\"a\" \"b\" \"c\"}", "{\"\":\"\"}",
		"{\"k\":-}", "{\"\\\\\":\"\\\\\\\\\\\"\"}", "{\"a\":\"\\u\"}", "{\"u\":\"\\uZZZZ\\\\\"}",
	};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		assert_int_equal(doc_index(&doc, odd[i]), TREE_OK);
		walk_all(d, &a);
	}

	/* Every prefix of a real tree: only the whole is an index. */
	struct tree_error err;
	assert_int_equal(tree_parse(d, &a,
				    "WITH x AS (SELECT 'a\"b\\c' AS q) SELECT * FROM x, "
				    "\"U\xc3\xa9\" WHERE q ~ E'\\n' FOR UPDATE", &err), TREE_OK);
	size_t len = strlen(d->s);
	char *json = malloc(len);
	assert_non_null(json);
	memcpy(json, d->s, len);
	tree_release(d);
	struct tree p = { 0 };
	for (size_t n = 0; n <= len; n++) {
		enum tree_status st = tree_index(&p, json, n);
		assert_int_equal(st, n == len ? TREE_OK : TREE_MALFORMED);
		if (st == TREE_OK)
			walk_all(&p, &a);
	}
	/* Random bytes, and the real tree with bytes flipped: refused or indexed, never a crash. */
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (int round = 0; round < 4000; round++) {
		char *buf = malloc(len);
		assert_non_null(buf);
		memcpy(buf, json, len);
		size_t flips = 1 + round % 4;
		for (size_t f = 0; f < flips; f++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			static const char pick[] = "{}[]\",:\\ 1a";
			buf[x % len] = round % 2 ? pick[(x >> 32) % (sizeof(pick) - 1)] : (char)(x >> 40);
		}
		if (tree_index(&p, buf, len) == TREE_OK)
			walk_all(&p, &a);
		free(buf);
		tree_arena_reset(&a);
	}
	free(json);
	tree_free(&p);
	doc_free(&doc);
	tree_arena_free(&a);
}

static void test_scratch_kept(void **state)
{
	(void)state;
	struct doc doc = { 0 };
	struct tree *d = &doc.d;
	assert_int_equal(doc_index(&doc, "{\"a\":[1,2,3]}"), TREE_OK);
	uint32_t cap = d->cap;
	assert_true(cap > 0);
	tree_trim(d); /* small: kept */
	assert_int_equal(d->cap, cap);

	/* More tokens than TREE_KEEP_TOKENS: trimmed after use. */
	size_t elems = TREE_KEEP_TOKENS + 10, len = 0;
	char *big = malloc(elems * 2 + 16);
	assert_non_null(big);
	memcpy(big, "{\"a\":[", 6);
	len = 6;
	for (size_t i = 0; i < elems; i++) {
		big[len++] = '1';
		big[len++] = ',';
	}
	big[len - 1] = ']';
	big[len++] = '}';
	assert_int_equal(tree_index(d, big, len), TREE_OK);
	assert_true(d->cap > TREE_KEEP_TOKENS);
	assert_int_equal(d->n, elems + 3);
	tree_trim(d);
	assert_int_equal(d->cap, 0);
	assert_null(d->t);
	assert_int_equal(tree_index(d, big, len), TREE_OK); /* and it grows again */
	free(big);
	doc_free(&doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members),
		cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_unwrap),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_split_and_fingerprint),
		cmocka_unit_test(test_arena),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_scratch_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * fuzz_tree — libFuzzer target for the parse tree index: arbitrary bytes
 * straight into tree_index (which must refuse or index them, never read
 * outside them), then, when it says TREE_OK, every token through every
 * accessor and every string through tree_decode. The invariants the walkers
 * rely on are checked: each token's subtree ends after it and inside the
 * index, byte ranges lie inside the input, array elements lie inside their
 * array.
 *
 * The index and the arena live for the whole run, as a classifier's do, so
 * their reuse between inputs is exercised too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/tree.h"

static struct tree doc;
static struct tree_arena arena;

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void walk(const struct tree *d, size_t size)
{
	for (uint32_t i = 0; i < d->n; i++) {
		const struct tree_tok *t = &d->t[i];
		check(t->next > i && t->next <= d->n);
		check(t->start <= t->end && t->end <= size);
		const char *type = NULL;
		uint32_t tlen = 0;
		uint32_t fields = tree_unwrap(d, i, &type, &tlen);
		check(fields == 0 || (fields > i && fields < t->next && tlen > 0));
		uint32_t v = tree_member(d, i, "stmts", 5);
		check(v == 0 || (v > i && v < t->next));
		(void)tree_int(d, i);
		(void)tree_true(d, i);
		(void)tree_str_is(d, i, "relname");
		for (uint32_t e = tree_first(d, i); e; e = tree_next(d, i, e))
			check(e > i && e < t->next);
		if (t->type == TREE_STR) {
			char *s = tree_decode(&arena, d, i);
			check(s != NULL && strlen(s) <= t->end - t->start);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum tree_status st = tree_index(&doc, (const char *)data, size);
	check(st == TREE_OK || st == TREE_MALFORMED);
	if (st == TREE_OK) {
		check(doc.n > 0 && doc.t[0].type == TREE_OBJ && doc.t[0].next == doc.n);
		walk(&doc, size);
	}
	tree_trim(&doc);
	tree_arena_reset(&arena);
	return 0;
}

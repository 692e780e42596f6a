/*
 * corpus — reader for tests/unit/corpus/router.txt, shared by test_classify.c
 * and test_route.c (header-only: each test is its own program).
 *
 * The file format is described at the top of router.txt. Expectation keys
 * that a case does not give are NULL and not checked.
 */
#ifndef SY_TEST_CORPUS_H
#define SY_TEST_CORPUS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct corpus_case {
	int line;        /* of the sql: line, for failure messages */
	char *sql;
	size_t sql_len;
	char *route;     /* SUPABASE, MYSQL or REJECT */
	char *sqlstate;  /* REJECT only */
	char *kind;
	char *reads;
	char *writes;
	char *mentions;
	char *doubt;
	char *table;
	char *flags;
	char *name;
};

struct corpus {
	struct corpus_case *cases;
	size_t n, cap;
};

static inline char *corpus_strdup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p == NULL)
		abort();
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static inline char *corpus_trim(char *s)
{
	while (*s == ' ')
		s++;
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == ' ')
		s[--n] = '\0';
	return s;
}

static inline void corpus_expect(struct corpus_case *c, char *line)
{
	char *save = NULL;
	char *part = strtok_r(line, "|", &save);
	char *first = corpus_trim(part);
	char *sp = strchr(first, ' ');
	if (sp != NULL) {
		*sp = '\0';
		c->sqlstate = corpus_strdup(sp + 1, strlen(sp + 1));
	}
	c->route = corpus_strdup(first, strlen(first));
	while ((part = strtok_r(NULL, "|", &save)) != NULL) {
		char *kv = corpus_trim(part);
		char *val = strchr(kv, ' ');
		const char *v = val ? corpus_trim(val + 1) : "";
		if (val)
			*val = '\0';
		char *copy = corpus_strdup(v, strlen(v));
		char **slot = strcmp(kv, "kind") == 0       ? &c->kind
			      : strcmp(kv, "reads") == 0    ? &c->reads
			      : strcmp(kv, "writes") == 0   ? &c->writes
			      : strcmp(kv, "mentions") == 0 ? &c->mentions
			      : strcmp(kv, "doubt") == 0    ? &c->doubt
			      : strcmp(kv, "table") == 0    ? &c->table
			      : strcmp(kv, "flags") == 0    ? &c->flags
			      : strcmp(kv, "name") == 0     ? &c->name
							    : NULL;
		if (slot == NULL) {
			fprintf(stderr, "corpus line %d: unknown key %s\n", c->line, kv);
			abort();
		}
		*slot = copy;
	}
}

static inline struct corpus_case *corpus_add(struct corpus *cp, int line, const char *sql)
{
	if (cp->n == cp->cap) {
		cp->cap = cp->cap ? cp->cap * 2 : 256;
		cp->cases = realloc(cp->cases, cp->cap * sizeof(*cp->cases));
		if (cp->cases == NULL)
			abort();
	}
	struct corpus_case *c = &cp->cases[cp->n++];
	memset(c, 0, sizeof(*c));
	c->line = line;
	c->sql = corpus_strdup(sql, strlen(sql));
	c->sql_len = strlen(sql);
	return c;
}

static inline void corpus_append(struct corpus_case *c, const char *more)
{
	size_t n = strlen(more);
	c->sql = realloc(c->sql, c->sql_len + n + 2);
	if (c->sql == NULL)
		abort();
	c->sql[c->sql_len++] = '\n';
	memcpy(c->sql + c->sql_len, more, n + 1);
	c->sql_len += n;
}

static inline bool corpus_load(const char *path, struct corpus *cp)
{
	memset(cp, 0, sizeof(*cp));
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	char buf[8192];
	int lineno = 0;
	struct corpus_case *cur = NULL;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		lineno++;
		size_t n = strlen(buf);
		if (n > 0 && buf[n - 1] == '\n')
			buf[--n] = '\0';
		if (strncmp(buf, "sql:", 4) == 0) {
			cur = corpus_add(cp, lineno, buf[4] == ' ' ? buf + 5 : buf + 4);
		} else if (cur != NULL && buf[0] == '+' && (buf[1] == ' ' || buf[1] == '\0')) {
			corpus_append(cur, buf[1] ? buf + 2 : "");
		} else if (cur != NULL && strncmp(buf, "=>", 2) == 0) {
			corpus_expect(cur, buf + 2);
			cur = NULL;
		}
	}
	fclose(f);
	return true;
}

static inline void corpus_free(struct corpus *cp)
{
	for (size_t i = 0; i < cp->n; i++) {
		struct corpus_case *c = &cp->cases[i];
		char *fields[] = { c->sql,	c->route, c->sqlstate, c->kind,	c->reads, c->writes,
				   c->mentions, c->doubt, c->table,    c->flags, c->name };
		for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++)
			free(fields[k]);
	}
	free(cp->cases);
	memset(cp, 0, sizeof(*cp));
}

static inline int corpus_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts a comma-separated list in place into <out> ("-" for empty). */
static inline void corpus_canon(const char *list, char *out, size_t cap)
{
	char *copy = corpus_strdup(list, strlen(list));
	char *items[256];
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t && n < 256; t = strtok_r(NULL, ",", &save)) {
		t = corpus_trim(t);
		if (strcmp(t, "-") != 0 && t[0] != '\0')
			items[n++] = t;
	}
	qsort(items, n, sizeof(items[0]), corpus_cmp);
	out[0] = '\0';
	size_t len = 0;
	for (size_t i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "," : "", items[i]);
	if (n == 0)
		snprintf(out, cap, "-");
	free(copy);
}

#endif

/*
 * test_translate — the MySQL dialect translator against golden files.
 *
 * Each file under tests/unit/translate/ ending in .golden is a list of cases:
 *
 *   == SELECT name FROM customers WHERE customer_id = $1
 *   types: 20             (optional: Parse parameter types, 0 = unspecified)
 *   sql: SELECT ... {$1}  (the MySQL text; {$n}, {tz}, {tz:utc} and {tz:local}
 *                          mark the slots)
 *   params: int8
 *   cols: name:varchar(104):text
 *   total: yes
 *
 * or, for a refusal, "error: 0A000 DISTINCT ON is not supported ...".
 * Lines starting with '#' and blank lines between cases are kept as they
 * are. Run with UPDATE_GOLDEN=1 to rewrite every file with what the
 * translator produces now (then review the diff: it is the test).
 *
 * Every translation is also checked for the invariants the proxy relies
 * on (no comment opener, balanced quotes and backticks, slots in order and
 * in range) and survives xlate_pack/xlate_unpack unchanged.
 *
 * Two scripts beside the golden files check them against real servers (as
 * root; each starts and stops its own throwaway server):
 * translate/check_mariadb.py runs every golden MySQL text on MariaDB 10.11
 * (it must execute without a warning the proxy raises as an error, use the
 * name index for indexed equality, and give Postgres' rows for
 * 17_semantics.golden); translate/check_postgres.py asks PostgreSQL 15 for
 * the output names and types, the parameter types and the errors of every
 * input, which must be what the golden file says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/catalog.h"
#include "router/translate.h"

#define GOLDEN_DIR "translate"

/* ---- the legacy catalog the platform has ---- */

struct coldef {
	const char *name, *data_type, *column_type, *nullable, *len, *prec, *scale, *coll, *key;
};

static void add_table(struct legacy_catalog *c, const char *name, const struct coldef *cols,
		      size_t n)
{
	assert_true(catalog_add_table(c, name, name));
	for (size_t i = 0; i < n; i++) {
		const struct coldef *d = &cols[i];
		struct catalog_column_row row = {
			.name = d->name, .data_type = d->data_type, .column_type = d->column_type,
			.is_nullable = d->nullable, .char_max_length = d->len,
			.numeric_precision = d->prec, .numeric_scale = d->scale,
			.collation = d->coll, .column_key = d->key,
		};
		assert_true(catalog_add_column(c, &row));
	}
}

#define CI "utf8mb4_general_ci"

static struct legacy_catalog *platform_catalog(void)
{
	struct legacy_catalog *c = catalog_new("crm", "public", true);
	assert_non_null(c);
	static const struct coldef customers[] = {
		{ "customer_id", "int", "int(10) unsigned", "NO", NULL, "10", "0", NULL, "PRI" },
		{ "name", "varchar", "varchar(100)", "NO", "100", NULL, NULL, CI, "MUL" },
		{ "phone", "varchar", "varchar(20)", "YES", "20", NULL, NULL, CI, "" },
		{ "email", "varchar", "varchar(255)", "YES", "255", NULL, NULL, CI, "" },
		{ "status", "enum", "enum('active','inactive','suspended')", "NO", "9", NULL, NULL, CI, "" },
		{ "grade", "tinyint", "tinyint(1)", "NO", NULL, "3", "0", NULL, "" },
		{ "balance", "decimal", "decimal(12,2)", "NO", NULL, "12", "2", NULL, "" },
		{ "created_at", "datetime", "datetime", "NO", NULL, NULL, NULL, NULL, "" },
		{ "updated_at", "timestamp", "timestamp", "YES", NULL, NULL, NULL, NULL, "" },
	};
	static const struct coldef subscriptions[] = {
		{ "subscription_id", "int", "int(10) unsigned", "NO", NULL, "10", "0", NULL, "PRI" },
		{ "customer_id", "int", "int(10) unsigned", "NO", NULL, "10", "0", NULL, "MUL" },
		{ "plan", "varchar", "varchar(50)", "NO", "50", NULL, NULL, CI, "" },
		{ "status", "enum", "enum('active','cancelled','expired')", "NO", "9", NULL, NULL, CI, "" },
		{ "started_at", "date", "date", "NO", NULL, NULL, NULL, NULL, "" },
		{ "ends_at", "date", "date", "YES", NULL, NULL, NULL, NULL, "" },
		{ "price", "decimal", "decimal(10,2)", "NO", NULL, "10", "2", NULL, "" },
		{ "auto_renew", "tinyint", "tinyint(1)", "NO", NULL, "3", "0", NULL, "" },
	};
	static const struct coldef payments[] = {
		{ "payment_id", "bigint", "bigint(20) unsigned", "NO", NULL, "20", "0", NULL, "PRI" },
		{ "subscription_id", "int", "int(10) unsigned", "NO", NULL, "10", "0", NULL, "MUL" },
		{ "amount", "decimal", "decimal(12,2)", "NO", NULL, "12", "2", NULL, "" },
		{ "currency", "char", "char(3)", "NO", "3", NULL, NULL, CI, "" },
		{ "paid_at", "timestamp", "timestamp", "NO", NULL, NULL, NULL, NULL, "" },
		{ "memo", "text", "text", "YES", "65535", NULL, NULL, CI, "" },
		{ "meta", "json", "json", "YES", NULL, NULL, NULL, NULL, "" },
	};
	static const struct coldef regions[] = {
		{ "region_id", "int", "int(11)", "NO", NULL, "10", "0", NULL, "PRI" },
		{ "shape", "geometry", "geometry", "YES", NULL, NULL, NULL, NULL, "" },
	};
	add_table(c, "customers", customers, sizeof(customers) / sizeof(customers[0]));
	add_table(c, "subscriptions", subscriptions, sizeof(subscriptions) / sizeof(subscriptions[0]));
	add_table(c, "payments", payments, sizeof(payments) / sizeof(payments[0]));
	add_table(c, "regions", regions, sizeof(regions) / sizeof(regions[0]));
	assert_true(catalog_add_index_column(c, "customers", "PRIMARY", 1, "customer_id"));
	assert_true(catalog_add_index_column(c, "customers", "idx_name", 1, "name"));
	assert_true(catalog_add_index_column(c, "subscriptions", "PRIMARY", 1, "subscription_id"));
	assert_true(catalog_add_index_column(c, "subscriptions", "idx_customer", 1, "customer_id"));
	assert_true(catalog_add_index_column(c, "payments", "PRIMARY", 1, "payment_id"));
	assert_true(catalog_add_index_column(c, "payments", "idx_sub", 1, "subscription_id"));
	assert_true(catalog_add_index_column(c, "regions", "PRIMARY", 1, "region_id"));
	catalog_finish(c);
	return c;
}

/* ---- rendering a result as golden lines ---- */

struct sbuf {
	char *p;
	size_t n, cap;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->n + n + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		assert_non_null(b->p);
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void sb_put(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(tmp));
	sb_putn(b, tmp, (size_t)n);
}

static const char *conv_name(uint8_t conv)
{
	static const char *const names[] = { "text", "bpchar", "bool", "bitbool", "int", "numeric",
					     "float4", "float8", "date", "timestamp", "timestamptz",
					     "interval", "bytea", "interval_dt", "float4_text", "float8_text",
					     "numeric_of_float4", "numeric_of_float8" };
	return conv < sizeof(names) / sizeof(names[0]) ? names[conv] : "?";
}

static void render(const struct xlate_result *r, struct sbuf *b)
{
	if (r->status != XLATE_OK) {
		sb_printf(b, "error: %s %s\n", r->sqlstate, r->message);
		return;
	}
	sb_put(b, "sql: ");
	size_t at = 0;
	for (size_t i = 0; i < r->nslots; i++) {
		sb_putn(b, r->sql + at, r->slots[i].at - at);
		at = r->slots[i].at;
		if (r->slots[i].kind == XLATE_S_PARAM)
			sb_printf(b, "{$%u}", (unsigned)r->slots[i].param + 1);
		else if (r->slots[i].kind == XLATE_S_TZ_UTC_STEPS)
			sb_put(b, "{tz:utc}");
		else if (r->slots[i].kind == XLATE_S_TZ_LOCAL_STEPS)
			sb_put(b, "{tz:local}");
		else
			sb_put(b, "{tz}");
	}
	sb_put(b, r->sql + at);
	sb_put(b, "\n");
	if (r->nparams) {
		sb_put(b, "params:");
		for (size_t i = 0; i < r->nparams; i++)
			sb_printf(b, " %s", catalog_type_name(r->param_types[i]));
		sb_put(b, "\n");
	}
	sb_put(b, "cols:");
	for (size_t i = 0; i < r->ncols; i++) {
		const struct xlate_col *c = &r->cols[i];
		sb_printf(b, "%s %s:%s", i ? " |" : "", c->name, catalog_type_name(c->type_oid));
		if (c->typmod != -1)
			sb_printf(b, "(%d)", c->typmod);
		sb_printf(b, ":%s", conv_name(c->conv));
	}
	sb_put(b, "\n");
	if (r->total_order)
		sb_put(b, "total: yes\n");
	if (r->wrap == XLATE_W_DECLARE)
		sb_printf(b, "declare: %s\n", r->cursor_name);
	if (r->wrap == XLATE_W_COPY)
		sb_printf(b, "copy: %s header=%d delimiter=%c quote=%c escape=%c null='%s'\n",
			  r->copy.csv ? "csv" : "text", r->copy.header, r->copy.delimiter,
			  r->copy.quote ? r->copy.quote : '-', r->copy.escape ? r->copy.escape : '-',
			  r->copy.null_string);
}

/* The invariants the proxy relies on for every translated text. */
static void check_invariants(const struct xlate_result *r)
{
	if (r->status != XLATE_OK)
		return;
	assert_int_equal(strlen(r->sql), r->sql_len);
	assert_null(strstr(r->sql, "/*"));
	char in = 0;
	for (const char *p = r->sql; *p; p++) {
		if (in == 0 && (*p == '\'' || *p == '`'))
			in = *p;
		else if (in != 0 && *p == in)
			in = p[1] == in ? (p++, in) : 0;
	}
	assert_int_equal(in, 0);
	for (size_t i = 0; i < r->nslots; i++) {
		assert_true(r->slots[i].at <= r->sql_len);
		if (i)
			assert_true(r->slots[i].at >= r->slots[i - 1].at);
		if (r->slots[i].kind == XLATE_S_PARAM)
			assert_true(r->slots[i].param < r->nparams);
	}
}

static void check_pack(const struct xlate_result *r, const char *rendered)
{
	size_t n = xlate_packed_size(r);
	unsigned char *blob = aligned_alloc(8, (n + 7) & ~(size_t)7);
	assert_non_null(blob);
	xlate_pack(r, blob);
	struct xlate_result u;
	xlate_unpack(blob, &u);
	struct sbuf b = { 0 };
	render(&u, &b);
	assert_string_equal(b.p, rendered);
	free(b.p);
	free(blob);
}

/* ---- golden files ---- */

static uint16_t parse_types(const char *s, uint32_t *types)
{
	uint16_t n = 0;
	while (*s && n < 16) {
		char *end;
		types[n++] = (uint32_t)strtoul(s, &end, 10);
		s = *end == ',' ? end + 1 : end;
		if (end == s && *s != '\0')
			break;
	}
	return n;
}

/* Translates every case of one file; returns the file as it should read. */
static void run_file(struct xlate *x, const struct legacy_catalog *cat, const char *text,
		     struct sbuf *out, size_t *ncases, size_t *nfailed, const char *fname)
{
	const char *p = text;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (len < 3 || strncmp(p, "== ", 3) != 0) {
			sb_putn(out, p, len);
			sb_put(out, "\n");
			p += len + (eol != NULL);
			continue;
		}
		char *sql = strndup(p + 3, len - 3);
		assert_non_null(sql);
		sb_putn(out, p, len);
		sb_put(out, "\n");
		p += len + (eol != NULL);
		uint32_t types[16];
		uint16_t ntypes = 0;
		if (strncmp(p, "types: ", 7) == 0) {
			eol = strchr(p, '\n');
			len = eol ? (size_t)(eol - p) : strlen(p);
			char *t = strndup(p + 7, len - 7);
			ntypes = parse_types(t, types);
			free(t);
			sb_putn(out, p, len);
			sb_put(out, "\n");
			p += len + (eol != NULL);
		}
		/* The expected block: up to a blank line, a comment or the next case. */
		const char *exp_start = p;
		while (*p && *p != '\n' && *p != '#' && strncmp(p, "== ", 3) != 0) {
			eol = strchr(p, '\n');
			p = eol ? eol + 1 : p + strlen(p);
		}
		struct xlate_input in = { .sql = sql, .len = strlen(sql), .param_types = types,
					  .nparam_types = ntypes, .cat = cat };
		struct xlate_result r;
		xlate_read(x, &in, &r);
		check_invariants(&r);
		struct sbuf got = { 0 };
		render(&r, &got);
		check_pack(&r, got.p);
		(*ncases)++;
		if (strlen(got.p) != (size_t)(p - exp_start) ||
		    memcmp(got.p, exp_start, (size_t)(p - exp_start)) != 0) {
			(*nfailed)++;
			fprintf(stderr, "%s: %s\n  expected:\n%.*s  got:\n%s", fname, sql,
				(int)(p - exp_start), exp_start, got.p);
		}
		sb_put(out, got.p);
		free(got.p);
		free(sql);
	}
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The text the proxy fills a per-row zone slot with (translate.h). */
static void test_tz_steps_text(void **state)
{
	(void)state;
	char buf[128];
	const int64_t at[2] = { -62135596799LL, 0 };
	const int32_t off[3] = { 30472, -18000, 32400 };
	size_t n = xlate_tz_steps_text(buf, sizeof(buf), at, off, 2);
	assert_int_equal(n, strlen(", 1, 62135596800) + 1, 30472, -18000, 32400"));
	buf[n] = '\0';
	assert_string_equal(buf, ", 1, 62135596800) + 1, 30472, -18000, 32400");
	/* One offset: one breakpoint, the same offset on both sides. */
	n = xlate_tz_steps_text(buf, sizeof(buf), NULL, off + 1, 0);
	buf[n] = '\0';
	assert_string_equal(buf, ", 0) + 1, -18000, -18000");
	/* Measuring, and a buffer too small: nothing past cap is written. */
	assert_int_equal(xlate_tz_steps_text(NULL, 0, at, off, 2), 43);
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(xlate_tz_steps_text(buf, 5, at, off, 2), 43);
	assert_memory_equal(buf, ", 1, x", 6);
}

static void test_golden(void **state)
{
	(void)state;
	struct legacy_catalog *cat = platform_catalog();
	struct xlate *x = xlate_new();
	assert_non_null(x);
	bool update = getenv("UPDATE_GOLDEN") != NULL && strcmp(getenv("UPDATE_GOLDEN"), "1") == 0;
	DIR *dir = opendir(GOLDEN_DIR);
	assert_non_null(dir);
	char *names[256];
	size_t nnames = 0;
	struct dirent *de;
	while ((de = readdir(dir)) != NULL && nnames < 256) {
		size_t n = strlen(de->d_name);
		if (n > 7 && strcmp(de->d_name + n - 7, ".golden") == 0)
			names[nnames++] = strdup(de->d_name);
	}
	closedir(dir);
	qsort(names, nnames, sizeof(names[0]), name_cmp);
	size_t ncases = 0, nfailed = 0;
	for (size_t i = 0; i < nnames; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, names[i]);
		char *text = read_all(path);
		struct sbuf out = { 0 };
		run_file(x, cat, text, &out, &ncases, &nfailed, names[i]);
		/* run_file writes a newline after the last line: keep the file's own ending. */
		if (out.n && (strlen(text) == 0 || text[strlen(text) - 1] != '\n'))
			out.p[--out.n] = '\0';
		if (update && strcmp(out.p ? out.p : "", text) != 0) {
			FILE *f = fopen(path, "wb");
			assert_non_null(f);
			fwrite(out.p, 1, out.n, f);
			fclose(f);
		}
		free(out.p);
		free(text);
		free(names[i]);
	}
	fprintf(stderr, "translate golden: %zu cases, %zu differ%s\n", ncases, nfailed,
		update ? " (files updated)" : "");
	assert_true(ncases >= 150);
	if (!update)
		assert_int_equal(nfailed, 0);
	xlate_free(x);
	catalog_free(cat);
}

/* The session statement is what the generated SQL is written against. */
static void test_session_setup(void **state)
{
	(void)state;
	const char *s = xlate_session_setup();
	assert_non_null(strstr(s, "NO_BACKSLASH_ESCAPES"));
	assert_null(strstr(s, "ANSI_QUOTES"));
	assert_non_null(strstr(s, "time_zone = '+00:00'"));
	assert_non_null(strstr(s, "utf8mb4"));
	assert_non_null(strstr(s, "group_concat_max_len"));
}

/* Parse types win over context; parameters never referenced still count. */
static void test_param_types(void **state)
{
	(void)state;
	struct legacy_catalog *cat = platform_catalog();
	struct xlate *x = xlate_new();
	uint32_t types[3] = { 25, 0, 0 };
	struct xlate_input in = { .sql = "SELECT name FROM customers WHERE customer_id = $2",
				  .param_types = types, .nparam_types = 3, .cat = cat };
	in.len = strlen(in.sql);
	struct xlate_result r;
	xlate_read(x, &in, &r);
	assert_int_equal(r.status, XLATE_OK);
	assert_int_equal(r.nparams, 3);
	assert_int_equal(r.param_types[0], PG_OID_TEXT);
	assert_int_equal(r.param_types[1], PG_OID_INT8);
	assert_int_equal(r.param_types[2], PG_OID_TEXT);
	assert_int_equal(r.nslots, 1);
	assert_int_equal(r.slots[0].param, 1);
	xlate_free(x);
	catalog_free(cat);
}

/* One struct xlate for many statements, as a worker uses it; and hostile inputs. */
static void test_reuse_and_garbage(void **state)
{
	(void)state;
	struct legacy_catalog *cat = platform_catalog();
	struct xlate *x = xlate_new();
	static const char *const inputs[] = {
		"", ";", "SELECT", "SELECT 1; SELECT 2", "\xff\xfe", "SELECT '/*' FROM customers",
		"SELECT * FROM customers WHERE name = 'a/*b*/'", "DELETE FROM customers",
		"SELECT \"a/*b\" FROM customers", "SELECT $0", "SELECT $70000",
		"SELECT ((((((((((((((((((((1))))))))))))))))))))",
	};
	for (size_t k = 0; k < 3; k++) {
		for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
			struct xlate_input in = { .sql = inputs[i], .len = strlen(inputs[i]), .cat = cat };
			struct xlate_result r;
			xlate_read(x, &in, &r);
			assert_true(r.status == XLATE_OK || r.status == XLATE_REFUSED);
			check_invariants(&r);
		}
	}
	/* Deep nesting is refused, not a stack overflow. */
	struct sbuf deep = { 0 };
	sb_put(&deep, "SELECT ");
	for (int i = 0; i < 5000; i++)
		sb_put(&deep, "(1 + ");
	sb_put(&deep, "1");
	for (int i = 0; i < 5000; i++)
		sb_put(&deep, ")");
	sb_put(&deep, " FROM customers");
	struct xlate_input in = { .sql = deep.p, .len = deep.n, .cat = cat };
	struct xlate_result r;
	xlate_read(x, &in, &r);
	assert_int_equal(r.status, XLATE_REFUSED);
	free(deep.p);
	xlate_free(x);
	xlate_free(NULL);
	catalog_free(cat);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_setup),
		cmocka_unit_test(test_param_types),
		cmocka_unit_test(test_reuse_and_garbage),
		cmocka_unit_test(test_tz_steps_text),
		cmocka_unit_test(test_golden),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

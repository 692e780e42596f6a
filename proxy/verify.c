/*
 * verify — `switchyard verify` (see verify.h).
 *
 * Keyed tables (one integer primary-key column) are read in chunks: MySQL
 * gives the next <chunk_rows> rows after the last key (through the same
 * translation a client's read gets, values converted by pgvalue as when
 * served), and Supabase the rows of the same key range; the two sorted
 * lists are merged by key. Both reads run inside a snapshot (MySQL's
 * START TRANSACTION WITH CONSISTENT SNAPSHOT, Supabase's REPEATABLE READ),
 * so a table being written is compared as of one moment on each side; the
 * keys that differed are read again, outside the snapshots, once the retry
 * delay has passed, and only those that still differ count.
 *
 * Other tables are read whole on each side and compared as multisets of
 * row hashes (16 bytes a row in memory); a second pass shows the rows.
 */
#include "proxy/verify.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proxy/config.h"
#include "proxy/legacy.h"
#include "proxy/mysql.h"
#include "proxy/pgclient.h"
#include "router/catalog.h"
#include "router/pgvalue.h"
#include "router/router.h"
#include "router/translate.h"

#define RECHECK_MAX 10000   /* differing keys read again; more count as they are */
#define MAX_COLS 1024

struct opts {
	const char *config;
	int chunk_rows;
	double max_rows_per_s;  /* 0: no cap */
	int retry_delay_ms;
	int show;               /* examples of each kind */
	bool json;
	char **tables;
	int ntables;
};

/* Rows of one side, values as (int32 length or -1, bytes) per column. */
struct rows {
	unsigned ncols;
	struct pgv_buf buf;
	size_t *at;
	size_t n, cap;
	bool failed;           /* out of memory */
};

/* One row's values, pointed into a struct rows. */
struct view {
	const char *v[MAX_COLS];
	int32_t len[MAX_COLS];
};

/* A key that differed in the snapshot, to be read again. */
struct cand {
	char kind;             /* 'm' missing from the copy, 'e' extra in it, 'c' changed */
	char *key;
};

struct example {
	char kind;
	char *key;
	json_t *columns;       /* changed: [{column, mysql, supabase}] */
};

/* What one table's run found. */
struct outcome {
	const char *table;
	const char *status;    /* "match", "differ", "schema", "error" */
	char error[600];
	json_t *warnings;      /* array of strings */
	json_t *schema;        /* array of strings: schema differences */
	uint64_t rows_mysql, rows_supabase, chunks;
	uint64_t missing, extra, changed, settled;
	json_t *examples;      /* array */
	double seconds;
	bool keyed;
};

/* Everything a table's run needs. */
struct run {
	const struct opts *o;
	const struct config *cfg;
	struct router *router;
	struct mysqlb_sync *my;
	PGconn *pg;
	const struct legacy_table *t;
	struct pgv_session pv;
	/* the columns compared, in catalog order */
	unsigned ncols;
	const struct legacy_column *cols[MAX_COLS];
	int key;               /* index in cols of the key column, -1 for a full scan */
	char select_list[8192];
	char qualified[300];   /* "schema"."table" */
	/* the translation's column conversions, copied */
	struct xlate_col xcols[MAX_COLS];
	struct rows myrows, pgrows;
	struct cand *cands;
	size_t ncands, cands_cap;
	uint64_t cands_over;
	struct timespec first_cand;
	struct timespec started;
	uint64_t rows_total_estimate;
	bool tty;
	struct timespec last_progress;
	uint64_t last_printed, last_chunks; /* what the last progress line said */
};

/* ---- small things ---- */

static double since(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void sleep_s(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void quote_ident(char *out, size_t cap, const char *name)
{
	size_t at = 0;
	if (cap < 3)
		return;
	out[at++] = '"';
	for (const char *p = name; *p && at + 3 < cap; p++) {
		if (*p == '"')
			out[at++] = '"';
		out[at++] = *p;
	}
	out[at++] = '"';
	out[at] = '\0';
}

static void rows_reset(struct rows *r, unsigned ncols)
{
	r->ncols = ncols;
	r->buf.len = 0;
	r->buf.failed = false;
	r->n = 0;
	r->failed = false;
}

static void rows_free(struct rows *r)
{
	pgv_buf_free(&r->buf);
	free(r->at);
	memset(r, 0, sizeof(*r));
}

static bool rows_begin(struct rows *r)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		size_t *at = realloc(r->at, cap * sizeof(*at));
		if (at == NULL) {
			r->failed = true;
			return false;
		}
		r->at = at;
		r->cap = cap;
	}
	r->at[r->n++] = r->buf.len;
	return true;
}

static void rows_value(struct rows *r, const char *v, size_t len)
{
	int32_t n = v == NULL ? -1 : (int32_t)len;
	pgv_buf_put(&r->buf, &n, sizeof(n));
	if (v != NULL && len)
		pgv_buf_put(&r->buf, v, len);
	if (r->buf.failed)
		r->failed = true;
}

static void rows_view(const struct rows *r, size_t i, struct view *out)
{
	const char *p = r->buf.p + r->at[i];
	for (unsigned c = 0; c < r->ncols; c++) {
		int32_t n;
		memcpy(&n, p, sizeof(n));
		p += sizeof(n);
		out->len[c] = n;
		out->v[c] = n < 0 ? NULL : p;
		if (n > 0)
			p += n;
	}
}

/* Integer texts as Postgres prints them (no leading zeros): numeric order. */
static int cmp_int_text(const char *a, int32_t la, const char *b, int32_t lb)
{
	bool na = la > 0 && a[0] == '-', nb = lb > 0 && b[0] == '-';
	if (na != nb)
		return na ? -1 : 1;
	int sign = na ? -1 : 1;
	if (la != lb)
		return la < lb ? -sign : sign;
	int c = memcmp(a, b, (size_t)la);
	return c == 0 ? 0 : (c < 0 ? -sign : sign);
}

static bool same_value(const struct view *a, const struct view *b, unsigned c)
{
	if (a->len[c] != b->len[c])
		return false;
	return a->len[c] <= 0 || memcmp(a->v[c], b->v[c], (size_t)a->len[c]) == 0;
}

static json_t *value_json(const struct view *v, unsigned c)
{
	return v->v[c] == NULL ? json_null() : json_stringn(v->v[c], (size_t)v->len[c]);
}

/* ---- reading MySQL through the translation ---- */

struct my_fill {
	struct run *r;
	struct rows *out;
	char err[300];
};

static bool my_row(void *arg, char **vals, unsigned long *lens, unsigned ncols)
{
	struct my_fill *f = arg;
	struct run *r = f->r;
	if (ncols != r->ncols) {
		snprintf(f->err, sizeof(f->err), "MySQL returned %u columns, expected %u", ncols,
			 r->ncols);
		return false;
	}
	if (!rows_begin(f->out))
		return false;
	struct pgv_buf val = { 0 };
	for (unsigned c = 0; c < ncols; c++) {
		if (vals[c] == NULL) {
			rows_value(f->out, NULL, 0);
			continue;
		}
		const struct xlate_col *xc = &r->xcols[c];
		struct pgv_error perr = { .sqlstate = "22P02" };
		val.len = 0;
		val.failed = false;
		enum pgv_status ps = pgv_text(&val, (enum pgv_conv)xc->conv, xc->type_oid, xc->typmod,
					      vals[c], lens[c], &r->pv, &perr);
		if (ps == PGV_NULL) {
			rows_value(f->out, NULL, 0);
		} else if (ps == PGV_OK && !val.failed) {
			rows_value(f->out, val.p ? val.p : "", val.len);
		} else {
			snprintf(f->err, sizeof(f->err), "column \"%s\": %s", r->cols[c]->pg_name,
				 ps == PGV_OOM ? "out of memory" : perr.message);
			pgv_buf_free(&val);
			return false;
		}
	}
	pgv_buf_free(&val);
	return !f->out->failed;
}

/*
 * Runs Postgres text <sql> (one parameter of the key's type when <param>
 * is not NULL) on MySQL through the translator, the rows into <out>.
 */
static bool mysql_rows(struct run *r, const char *sql, const char *param, struct rows *out,
		       char *err, size_t n)
{
	struct xlate_result xr;
	uint32_t ptype = r->key >= 0 ? r->cols[r->key]->pg_type : 0;
	router_translate(r->router, sql, strlen(sql), param ? &ptype : NULL, param ? 1 : 0, &xr);
	if (xr.status != XLATE_OK) {
		snprintf(err, n, "switchyard cannot translate its own read of the table: %s",
			 xr.message);
		return false;
	}
	if (xr.ncols != r->ncols) {
		snprintf(err, n, "the translation has %u columns, expected %u", xr.ncols, r->ncols);
		return false;
	}
	memcpy(r->xcols, xr.cols, xr.ncols * sizeof(*xr.cols));
	char *lit = NULL;
	size_t litlen = 0;
	if (param != NULL) {
		struct pgv_buf b = { 0 };
		struct pgv_error perr = { .sqlstate = "22P02" };
		if (pgv_param_literal(&b, xr.param_types[0], 0, param, strlen(param), &r->pv, &perr) !=
		    PGV_OK) {
			pgv_buf_free(&b);
			snprintf(err, n, "key %s: %s", param, perr.message);
			return false;
		}
		lit = b.p;
		litlen = b.len;
	}
	size_t len;
	char *my = legacy_fill_sql(&xr, param ? &lit : NULL, param ? &litlen : NULL, &r->pv, &len);
	free(lit);
	if (my == NULL) {
		snprintf(err, n, "out of memory");
		return false;
	}
	rows_reset(out, r->ncols);
	struct my_fill f = { .r = r, .out = out };
	bool ok = mysqlb_sync_query(r->my, my, len, my_row, &f, err, n);
	free(my);
	if (ok && f.err[0]) {
		snprintf(err, n, "%s", f.err);
		return false;
	}
	if (ok && out->failed) {
		snprintf(err, n, "out of memory");
		return false;
	}
	return ok;
}

/* ---- reading Supabase ---- */

static bool pg_rows(struct run *r, const char *sql, int nparams, const char *const *params,
		    struct rows *out, char *err, size_t n)
{
	PGresult *res = PQexecParams(r->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, n, "Supabase: %s", PQresultErrorMessage(res));
		size_t l = strlen(err);
		while (l && (err[l - 1] == '\n'))
			err[--l] = '\0';
		PQclear(res);
		return false;
	}
	rows_reset(out, r->ncols);
	int nr = PQntuples(res);
	if ((unsigned)PQnfields(res) != r->ncols) {
		snprintf(err, n, "Supabase returned %d columns, expected %u", PQnfields(res), r->ncols);
		PQclear(res);
		return false;
	}
	for (int i = 0; i < nr && !out->failed; i++) {
		if (!rows_begin(out))
			break;
		for (unsigned c = 0; c < r->ncols; c++)
			rows_value(out, PQgetisnull(res, i, (int)c) ? NULL : PQgetvalue(res, i, (int)c),
				   (size_t)PQgetlength(res, i, (int)c));
	}
	PQclear(res);
	if (out->failed) {
		snprintf(err, n, "out of memory");
		return false;
	}
	return true;
}

static bool pg_exec(PGconn *pg, const char *sql, char *err, size_t n)
{
	PGresult *res = PQexec(pg, sql);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		snprintf(err, n, "Supabase: %s", PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

/* ---- schema ---- */

/* Types whose values print alike enough to compare row by row (a warning, not a difference). */
static int type_class(uint32_t oid, char typtype)
{
	if (oid == PG_OID_INT2 || oid == PG_OID_INT4 || oid == PG_OID_INT8 || oid == PG_OID_NUMERIC)
		return 1;
	if (oid == PG_OID_TEXT || oid == PG_OID_VARCHAR || oid == PG_OID_BPCHAR ||
	    oid == PG_OID_NAME || typtype == 'e')
		return 2;
	return 0;
}

static void served_type(const struct legacy_column *c, char *out, size_t cap)
{
	const char *name = catalog_type_name(c->pg_type);
	if (c->pg_typmod >= 4 && (c->pg_type == PG_OID_VARCHAR || c->pg_type == PG_OID_BPCHAR))
		snprintf(out, cap, "%s(%d)", name, c->pg_typmod - 4);
	else if (c->pg_typmod >= 4 && c->pg_type == PG_OID_NUMERIC)
		snprintf(out, cap, "numeric(%d,%d)", ((c->pg_typmod - 4) >> 16) & 0xffff,
			 (c->pg_typmod - 4) & 0xffff);
	else
		snprintf(out, cap, "%s", name ? name : "?");
}

/*
 * Checks the copy's columns against the type map; fills r->cols with the
 * columns to compare. False when there is a schema difference (listed in
 * o->schema) or an error (o->error).
 */
static bool check_schema(struct run *r, struct outcome *o)
{
	char err[600];
	const char *sql =
		"SELECT a.attname, a.atttypid::int8, format_type(a.atttypid, a.atttypmod), "
		"t.typtype, a.atttypmod FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
		"WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped "
		"ORDER BY a.attnum";
	const char *params[] = { r->qualified };
	PGresult *res = PQexecParams(r->pg, sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, sizeof(err), "Supabase: %s", PQresultErrorMessage(res));
		snprintf(o->error, sizeof(o->error), "%s", err);
		PQclear(res);
		return false;
	}
	int n = PQntuples(res);
	if (n == 0) {
		json_array_append_new(o->schema,
				      json_sprintf("the copy %s does not exist in Supabase", r->qualified));
		PQclear(res);
		return false;
	}
	bool *seen = calloc((size_t)n, 1);
	r->ncols = 0;
	r->key = -1;
	for (size_t i = 0; i < r->t->ncols; i++) {
		const struct legacy_column *c = &r->t->cols[i];
		int at = -1;
		for (int k = 0; k < n && at < 0; k++) {
			if (strcmp(PQgetvalue(res, k, 0), c->pg_name) == 0)
				at = k;
		}
		if (c->pg_type == 0) {
			json_array_append_new(o->warnings,
					      json_sprintf("column %s (MySQL %s) is not served by switchyard: "
							   "not compared", c->pg_name, c->column_type));
			if (at >= 0 && seen)
				seen[at] = true;
			continue;
		}
		if (at < 0) {
			json_array_append_new(o->schema,
					      json_sprintf("column %s is missing from the copy", c->pg_name));
			continue;
		}
		if (seen)
			seen[at] = true;
		uint32_t oid = (uint32_t)strtoul(PQgetvalue(res, at, 1), NULL, 10);
		const char *copy_type = PQgetvalue(res, at, 2);
		char typtype = PQgetvalue(res, at, 3)[0];
		int32_t typmod = (int32_t)strtol(PQgetvalue(res, at, 4), NULL, 10);
		char mine[64];
		served_type(c, mine, sizeof(mine));
		if (oid != c->pg_type) {
			int a = type_class(c->pg_type, 'b'), b = type_class(oid, typtype);
			if (a == 0 || a != b) {
				json_array_append_new(o->schema,
						      json_sprintf("column %s: switchyard serves %s, the copy has "
								   "%s: values cannot be compared",
								   c->pg_name, mine, copy_type));
				continue;
			}
			json_array_append_new(o->warnings,
					      json_sprintf("column %s: switchyard serves %s, the copy has %s "
							   "(values compared as text)",
							   c->pg_name, mine, copy_type));
		} else if (typmod != c->pg_typmod && c->pg_typmod >= 0) {
			json_array_append_new(o->warnings,
					      json_sprintf("column %s: switchyard serves %s, the copy has %s",
							   c->pg_name, mine, copy_type));
		}
		if (r->ncols < MAX_COLS)
			r->cols[r->ncols++] = c;
	}
	for (int k = 0; k < n; k++) {
		if (seen && !seen[k])
			json_array_append_new(o->schema,
					      json_sprintf("column %s exists only in the copy",
							   PQgetvalue(res, k, 0)));
	}
	free(seen);
	PQclear(res);
	if (json_array_size(o->schema) > 0)
		return false;
	/* Keyed reads need one integer primary-key column. */
	if (r->t->npkey == 1) {
		const struct legacy_column *k = &r->t->cols[r->t->pkey[0]];
		for (unsigned i = 0; i < r->ncols; i++) {
			/* Keys up to 20 digits: the chunk bounds are kept in 64-byte buffers. */
			if (r->cols[i] == k && type_class(k->pg_type, 'b') == 1 &&
			    (k->pg_type != PG_OID_NUMERIC || (k->scale == 0 && k->precision <= 20)))
				r->key = (int)i;
		}
	}
	if (r->key < 0)
		json_array_append_new(o->warnings,
				      json_string(r->t->npkey == 0
							  ? "no primary key: compared by a full scan of both "
							    "sides as a multiset of rows (a changed row shows "
							    "as one missing and one extra)"
							  : "the primary key is not one integer column: compared "
							    "by a full scan as a multiset of rows"));
	size_t at = 0;
	for (unsigned i = 0; i < r->ncols; i++) {
		char q[200];
		quote_ident(q, sizeof(q), r->cols[i]->pg_name);
		at += (size_t)snprintf(r->select_list + at, sizeof(r->select_list) - at, "%s%s",
				       i ? ", " : "", q);
		if (at >= sizeof(r->select_list)) {
			snprintf(o->error, sizeof(o->error), "too many columns");
			return false;
		}
	}
	return true;
}

/* ---- differences ---- */

static void add_cand(struct run *r, char kind, const char *key, int32_t len)
{
	if (r->ncands == 0)
		clock_gettime(CLOCK_MONOTONIC, &r->first_cand);
	if (r->ncands >= RECHECK_MAX) {
		r->cands_over++;
		return;
	}
	if (r->ncands == r->cands_cap) {
		size_t cap = r->cands_cap ? r->cands_cap * 2 : 64;
		struct cand *c = realloc(r->cands, cap * sizeof(*c));
		if (c == NULL) {
			r->cands_over++;
			return;
		}
		r->cands = c;
		r->cands_cap = cap;
	}
	char *k = strndup(key, (size_t)len);
	if (k == NULL) {
		r->cands_over++;
		return;
	}
	r->cands[r->ncands].kind = kind;
	r->cands[r->ncands++].key = k;
}

static void add_example(struct run *r, struct outcome *o, char kind, const char *key,
			const struct view *my, const struct view *sb)
{
	size_t have = 0;
	for (size_t i = 0; i < json_array_size(o->examples); i++) {
		json_t *e = json_array_get(o->examples, i);
		if (json_string_value(json_object_get(e, "kind"))[0] == kind)
			have++;
	}
	if (have >= (size_t)r->o->show)
		return;
	const char *kn = kind == 'm' ? "missing" : kind == 'e' ? "extra" : "changed";
	json_t *e = json_pack("{s:s}", "kind", kn);
	if (key != NULL)
		json_object_set_new(e, "key", json_pack("{s:s}", r->cols[r->key]->pg_name, key));
	if (kind == 'c') {
		json_t *cols = json_array();
		for (unsigned c = 0; c < r->ncols; c++) {
			if (!same_value(my, sb, c))
				json_array_append_new(cols, json_pack("{s:s,s:o,s:o}", "column",
								      r->cols[c]->pg_name, "mysql",
								      value_json(my, c), "supabase",
								      value_json(sb, c)));
		}
		json_object_set_new(e, "columns", cols);
	} else {
		const struct view *v = kind == 'm' ? my : sb;
		json_t *row = json_object();
		for (unsigned c = 0; v && c < r->ncols; c++)
			json_object_set_new(row, r->cols[c]->pg_name, value_json(v, c));
		json_object_set_new(e, "row", row);
	}
	json_array_append_new(o->examples, e);
}

/* Merges one chunk of each side by key; differences become candidates. */
static void merge_chunk(struct run *r, struct outcome *o)
{
	struct view *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	size_t i = 0, j = 0;
	int k = r->key;
	while (a && b && (i < r->myrows.n || j < r->pgrows.n)) {
		int c;
		if (i < r->myrows.n)
			rows_view(&r->myrows, i, a);
		if (j < r->pgrows.n)
			rows_view(&r->pgrows, j, b);
		if (i >= r->myrows.n)
			c = 1;
		else if (j >= r->pgrows.n)
			c = -1;
		else
			c = cmp_int_text(a->v[k], a->len[k], b->v[k], b->len[k]);
		if (c == 0) {
			bool same = true;
			for (unsigned col = 0; col < r->ncols && same; col++)
				same = same_value(a, b, col);
			if (!same)
				add_cand(r, 'c', a->v[k], a->len[k]);
			i++, j++;
		} else if (c < 0) {
			add_cand(r, 'm', a->v[k], a->len[k]);
			i++;
		} else {
			add_cand(r, 'e', b->v[k], b->len[k]);
			j++;
		}
	}
	(void)o;
	free(a);
	free(b);
}

/* ---- progress ---- */

static void progress(struct run *r, struct outcome *o, bool final)
{
	double el = since(&r->started);
	if (!final && since(&r->last_progress) < (r->tty ? 0.2 : 5.0))
		return;
	clock_gettime(CLOCK_MONOTONIC, &r->last_progress);
	uint64_t done = o->rows_mysql > o->rows_supabase ? o->rows_mysql : o->rows_supabase;
	if (r->tty) {
		double pct = r->rows_total_estimate ? 100.0 * (double)done / (double)r->rows_total_estimate
						    : 0.0;
		if (pct > 100)
			pct = 100;
		int bar = (int)(pct / 5);
		double rate = el > 0 ? (double)done / el : 0;
		double eta = rate > 0 && r->rows_total_estimate > done
				     ? (double)(r->rows_total_estimate - done) / rate
				     : 0;
		fprintf(stderr, "\r%-16.16s [%-20.*s] %3.0f%% %10llu rows %7llu chunks  ETA %4.0fs ",
			r->t->pg_name, bar, "####################", pct, (unsigned long long)done,
			(unsigned long long)o->chunks, eta);
		if (final)
			fputc('\n', stderr);
	} else {
		/* The last line already said it (a table done in one chunk). */
		if (final && done == r->last_printed && o->chunks == r->last_chunks)
			return;
		r->last_printed = done;
		r->last_chunks = o->chunks;
		fprintf(stderr, "verify: %s: %llu of about %llu rows, %llu chunks, %.1f s\n",
			r->t->pg_name, (unsigned long long)done,
			(unsigned long long)r->rows_total_estimate, (unsigned long long)o->chunks, el);
	}
}

/* Sleeps as long as --max-rows-per-s asks after <done> rows in <elapsed> seconds. */
static void pace(struct run *r, uint64_t done)
{
	if (r->o->max_rows_per_s <= 0)
		return;
	double want = (double)done / r->o->max_rows_per_s;
	sleep_s(want - since(&r->started));
}

/* ---- keyed tables ---- */

/*
 * The chunk queries: MySQL's next rows after the last key (none for the
 * first chunk: a key may be the type's minimum), Supabase's rows of the
 * same key range (unbounded above at the end, to see extra rows there).
 */
static void chunk_sql(struct run *r, bool first, bool final, char *my, size_t mycap, char *pg,
		      size_t pgcap)
{
	char k[200];
	quote_ident(k, sizeof(k), r->cols[r->key]->pg_name);
	snprintf(my, mycap, "SELECT %s FROM %s%s%s%s ORDER BY %s LIMIT %d", r->select_list,
		 r->qualified, first ? "" : " WHERE ", first ? "" : k, first ? "" : " > $1", k,
		 r->o->chunk_rows);
	const char *lo = first ? "" : " > $1";
	const char *hi = final ? "" : first ? " <= $1" : " <= $2";
	snprintf(pg, pgcap, "SELECT %s FROM %s%s%s%s%s%s%s ORDER BY %s", r->select_list,
		 r->qualified, first && final ? "" : " WHERE ", first ? "" : k, lo,
		 !first && !final ? " AND " : "", final ? "" : k, hi, k);
}

static bool scan_keyed(struct run *r, struct outcome *o, char *err, size_t n)
{
	char myq[10000], pgq[10000];
	char last[64] = "";
	for (bool first = true;; first = false) {
		chunk_sql(r, first, false, myq, sizeof(myq), pgq, sizeof(pgq));
		if (!mysql_rows(r, myq, first ? NULL : last, &r->myrows, err, n))
			return false;
		bool final = r->myrows.n < (size_t)r->o->chunk_rows;
		char upper[64] = "";
		if (!final) {
			struct view *v = malloc(sizeof(*v));
			if (v == NULL)
				return false;
			rows_view(&r->myrows, r->myrows.n - 1, v);
			snprintf(upper, sizeof(upper), "%.*s", (int)v->len[r->key], v->v[r->key]);
			free(v);
		}
		chunk_sql(r, first, final, myq, sizeof(myq), pgq, sizeof(pgq));
		const char *params[2];
		int np = 0;
		if (!first)
			params[np++] = last;
		if (!final)
			params[np++] = upper;
		if (!pg_rows(r, pgq, np, params, &r->pgrows, err, n))
			return false;
		o->rows_mysql += r->myrows.n;
		o->rows_supabase += r->pgrows.n;
		o->chunks++;
		merge_chunk(r, o);
		progress(r, o, false);
		if (final)
			return true;
		snprintf(last, sizeof(last), "%s", upper);
		pace(r, o->rows_mysql > o->rows_supabase ? o->rows_mysql : o->rows_supabase);
	}
}

/* Reads the differing keys again (outside the snapshots) and counts what still differs. */
static bool recheck(struct run *r, struct outcome *o, char *err, size_t n)
{
	char myq[10000], keyq[200];
	quote_ident(keyq, sizeof(keyq), r->cols[r->key]->pg_name);
	snprintf(myq, sizeof(myq), "SELECT %s FROM %s WHERE %s = $1", r->select_list, r->qualified,
		 keyq);
	if (r->ncands > 0 && r->o->retry_delay_ms > 0)
		sleep_s((double)r->o->retry_delay_ms / 1000.0 - since(&r->first_cand));
	struct view *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	if (a == NULL || b == NULL) {
		free(a);
		free(b);
		snprintf(err, n, "out of memory");
		return false;
	}
	bool ok = true;
	for (size_t i = 0; ok && i < r->ncands; i++) {
		const char *key = r->cands[i].key;
		const char *params[] = { key };
		if (!(ok = mysql_rows(r, myq, key, &r->myrows, err, n)) ||
		    !(ok = pg_rows(r, myq, 1, params, &r->pgrows, err, n)))
			break;
		bool inm = r->myrows.n > 0, ins = r->pgrows.n > 0;
		if (inm)
			rows_view(&r->myrows, 0, a);
		if (ins)
			rows_view(&r->pgrows, 0, b);
		if (inm && ins) {
			bool same = true;
			for (unsigned c = 0; c < r->ncols && same; c++)
				same = same_value(a, b, c);
			if (same) {
				o->settled++;
				continue;
			}
			o->changed++;
			add_example(r, o, 'c', key, a, b);
		} else if (inm) {
			o->missing++;
			add_example(r, o, 'm', key, a, NULL);
		} else if (ins) {
			o->extra++;
			add_example(r, o, 'e', key, NULL, b);
		} else {
			o->settled++; /* gone from both: it was being deleted */
		}
	}
	free(a);
	free(b);
	/* Beyond RECHECK_MAX: counted as found, by kind unknown: as changed. */
	o->changed += r->cands_over;
	return ok;
}

/* ---- full scans ---- */

struct hashed {
	uint64_t h;
	uint64_t index;
};

static uint64_t row_hash(const struct view *v, unsigned ncols)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (unsigned c = 0; c < ncols; c++) {
		int32_t n = v->len[c];
		const unsigned char *p = (const unsigned char *)&n;
		for (size_t i = 0; i < sizeof(n); i++)
			h = (h ^ p[i]) * 0x100000001b3ULL;
		for (int32_t i = 0; i < n; i++)
			h = (h ^ (unsigned char)v->v[c][i]) * 0x100000001b3ULL;
	}
	h ^= h >> 31;
	h *= 0x7fb5d329728ea185ULL;
	return h ^ (h >> 29);
}

static int cmp_hashed(const void *x, const void *y)
{
	const struct hashed *a = x, *b = y;
	return a->h < b->h ? -1 : a->h > b->h;
}

static bool hash_all(struct rows *rows, unsigned ncols, struct hashed **out)
{
	*out = malloc((rows->n ? rows->n : 1) * sizeof(**out));
	struct view *v = malloc(sizeof(*v));
	if (*out == NULL || v == NULL) {
		free(v);
		return false;
	}
	for (size_t i = 0; i < rows->n; i++) {
		rows_view(rows, i, v);
		(*out)[i].h = row_hash(v, ncols);
		(*out)[i].index = i;
	}
	free(v);
	qsort(*out, rows->n, sizeof(**out), cmp_hashed);
	return true;
}

/*
 * Both sides whole. The rows are held in memory once per side (a table
 * without a usable key is expected to be small; the warning says how it
 * was compared).
 */
static bool scan_full(struct run *r, struct outcome *o, char *err, size_t n)
{
	char q[10000];
	snprintf(q, sizeof(q), "SELECT %s FROM %s", r->select_list, r->qualified);
	if (!mysql_rows(r, q, NULL, &r->myrows, err, n) || !pg_rows(r, q, 0, NULL, &r->pgrows, err, n))
		return false;
	o->rows_mysql = r->myrows.n;
	o->rows_supabase = r->pgrows.n;
	o->chunks = 1;
	struct hashed *a, *b;
	if (!hash_all(&r->myrows, r->ncols, &a) || !hash_all(&r->pgrows, r->ncols, &b)) {
		snprintf(err, n, "out of memory");
		return false;
	}
	struct view *va = malloc(sizeof(*va)), *vb = malloc(sizeof(*vb));
	size_t i = 0, j = 0;
	while (va && vb && (i < r->myrows.n || j < r->pgrows.n)) {
		if (i < r->myrows.n && j < r->pgrows.n && a[i].h == b[j].h) {
			i++, j++;
		} else if (j >= r->pgrows.n || (i < r->myrows.n && a[i].h < b[j].h)) {
			o->missing++;
			rows_view(&r->myrows, a[i].index, va);
			add_example(r, o, 'm', NULL, va, NULL);
			i++;
		} else {
			o->extra++;
			rows_view(&r->pgrows, b[j].index, vb);
			add_example(r, o, 'e', NULL, NULL, vb);
			j++;
		}
	}
	free(va);
	free(vb);
	free(a);
	free(b);
	return true;
}

/* ---- one table ---- */

static bool count_rows(struct run *r, char *err, size_t n)
{
	char q[400];
	snprintf(q, sizeof(q), "SELECT count(*) FROM %s", r->qualified);
	unsigned saved = r->ncols;
	const struct legacy_column *c0 = r->cols[0];
	(void)c0;
	/* count(*) has one column: translate and read it with a one-column view. */
	r->ncols = 1;
	bool ok = mysql_rows(r, q, NULL, &r->myrows, err, n);
	if (ok && r->myrows.n == 1) {
		struct view *v = malloc(sizeof(*v));
		if (v) {
			rows_view(&r->myrows, 0, v);
			r->rows_total_estimate = v->v[0] ? strtoull(v->v[0], NULL, 10) : 0;
			free(v);
		}
	}
	r->ncols = saved;
	return ok;
}

static void verify_table(struct run *r, struct outcome *o)
{
	char err[600] = "";
	clock_gettime(CLOCK_MONOTONIC, &r->started);
	r->last_progress.tv_sec = 0;
	r->last_printed = r->last_chunks = UINT64_MAX;
	char qs[150], qt[150];
	quote_ident(qs, sizeof(qs), r->cfg->legacy.schema);
	quote_ident(qt, sizeof(qt), r->t->pg_name);
	snprintf(r->qualified, sizeof(r->qualified), "%s.%s", qs, qt);
	if (!check_schema(r, o)) {
		o->status = o->error[0] ? "error" : "schema";
		return;
	}
	bool ok = mysqlb_sync_exec(r->my, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
				   err, sizeof(err)) &&
		  pg_exec(r->pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, sizeof(err)) &&
		  pg_exec(r->pg, "SELECT 1", err, sizeof(err)) /* takes the snapshot now */ &&
		  count_rows(r, err, sizeof(err));
	if (ok) {
		o->keyed = r->key >= 0;
		ok = r->key >= 0 ? scan_keyed(r, o, err, sizeof(err)) : scan_full(r, o, err, sizeof(err));
	}
	char e2[300];
	/* Read-only snapshots: ending them cannot lose anything, and a failure shows up next. */
	bool ended = mysqlb_sync_exec(r->my, "COMMIT", e2, sizeof(e2));
	ended = pg_exec(r->pg, "COMMIT", e2, sizeof(e2)) && ended;
	(void)ended;
	progress(r, o, true);
	if (ok && r->key >= 0 && r->ncands > 0) {
		fprintf(stderr, "verify: %s: %zu row(s) differ; reading them again in %d ms\n",
			r->t->pg_name, r->ncands, r->o->retry_delay_ms);
		ok = recheck(r, o, err, sizeof(err));
	}
	for (size_t i = 0; i < r->ncands; i++)
		free(r->cands[i].key);
	r->ncands = 0;
	r->cands_over = 0;
	o->seconds = since(&r->started);
	if (!ok) {
		snprintf(o->error, sizeof(o->error), "%s", err);
		o->status = "error";
		return;
	}
	o->status = o->missing + o->extra + o->changed == 0 ? "match" : "differ";
}

/* ---- output and the results file ---- */

static json_t *outcome_json(const struct outcome *o)
{
	json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:s,s:O,s:O,s:O}",
			      "table", o->table, "status", o->status,
			      "rows_mysql", (json_int_t)o->rows_mysql,
			      "rows_supabase", (json_int_t)o->rows_supabase,
			      "chunks", (json_int_t)o->chunks, "missing", (json_int_t)o->missing,
			      "extra", (json_int_t)o->extra, "changed", (json_int_t)o->changed,
			      "settled", (json_int_t)o->settled, "seconds", o->seconds,
			      "mode", o->keyed ? "keyed" : "full-scan", "warnings", o->warnings,
			      "schema_differences", o->schema, "examples", o->examples);
	if (o->error[0])
		json_object_set_new(j, "error", json_string(o->error));
	return j;
}

/* Merges this run's results into the results file (written whole, then renamed). */
static bool save_results(const struct config *cfg, json_t *tables, int64_t at_s, char *err,
			 size_t n)
{
	char path[4200], tmp[4300];
	verify_results_path(cfg, path, sizeof(path));
	json_t *all = json_load_file(path, 0, NULL);
	if (!json_is_object(all)) {
		json_decref(all);
		all = json_object();
	}
	json_t *byname = json_object_get(all, "tables");
	if (!json_is_object(byname)) {
		byname = json_object();
		json_object_set_new(all, "tables", byname);
	}
	size_t i;
	json_t *t;
	json_array_foreach(tables, i, t) {
		json_t *copy = json_deep_copy(t);
		json_object_set_new(copy, "at", json_integer(at_s));
		json_object_set_new(byname, json_string_value(json_object_get(t, "table")), copy);
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	bool ok = json_dump_file(all, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) == 0 &&
		  rename(tmp, path) == 0;
	if (!ok)
		snprintf(err, n, "cannot write %.900s: %s", path, strerror(errno));
	json_decref(all);
	return ok;
}

static void print_summary(FILE *f, json_t *tables)
{
	fprintf(f, "%-20s %-9s %12s %12s %9s %9s %9s %8s\n", "table", "status", "rows mysql",
		"rows copy", "missing", "extra", "changed", "seconds");
	size_t i;
	json_t *t;
	json_array_foreach(tables, i, t) {
		fprintf(f, "%-20s %-9s %12lld %12lld %9lld %9lld %9lld %8.1f\n",
			json_string_value(json_object_get(t, "table")),
			json_string_value(json_object_get(t, "status")),
			(long long)json_integer_value(json_object_get(t, "rows_mysql")),
			(long long)json_integer_value(json_object_get(t, "rows_supabase")),
			(long long)json_integer_value(json_object_get(t, "missing")),
			(long long)json_integer_value(json_object_get(t, "extra")),
			(long long)json_integer_value(json_object_get(t, "changed")),
			json_real_value(json_object_get(t, "seconds")));
	}
	json_array_foreach(tables, i, t) {
		const char *name = json_string_value(json_object_get(t, "table"));
		json_t *e = json_object_get(t, "error");
		if (e)
			fprintf(f, "%s: error: %s\n", name, json_string_value(e));
		size_t k;
		json_t *w;
		json_array_foreach(json_object_get(t, "schema_differences"), k, w)
			fprintf(f, "%s: schema difference: %s\n", name, json_string_value(w));
		json_array_foreach(json_object_get(t, "warnings"), k, w)
			fprintf(f, "%s: warning: %s\n", name, json_string_value(w));
		json_array_foreach(json_object_get(t, "examples"), k, w) {
			char *s = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
			fprintf(f, "%s: %s\n", name, s ? s : "?");
			free(s);
		}
		json_t *settled = json_object_get(t, "settled");
		if (json_integer_value(settled) > 0)
			fprintf(f, "%s: %lld row(s) differed at first and matched when read again "
				   "(a copy catching up)\n",
				name, (long long)json_integer_value(settled));
	}
}

/* ---- the command ---- */

static void usage(FILE *f)
{
	fprintf(f, "usage: switchyard verify -c proxy.toml [TABLE ...] [--chunk-rows N]\n"
		   "                        [--max-rows-per-s N] [--retry-delay-ms N] [--show N] "
		   "[--json]\n"
		   "Compares each legacy table (all when none is named) with its Supabase copy.\n"
		   "Exit 0: the same; 1: differences; 2: error.\n");
}

static bool parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "chunk-rows", required_argument, NULL, 'n' },
		{ "max-rows-per-s", required_argument, NULL, 'r' },
		{ "retry-delay-ms", required_argument, NULL, 'd' },
		{ "show", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	*o = (struct opts){ .chunk_rows = 1000, .retry_delay_ms = 2000, .show = 10 };
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", lo, NULL)) != -1) {
		char *end = NULL;
		switch (ch) {
		case 'c': o->config = optarg; break;
		case 'n': o->chunk_rows = (int)strtol(optarg, &end, 10); break;
		case 'r': o->max_rows_per_s = strtod(optarg, &end); break;
		case 'd': o->retry_delay_ms = (int)strtol(optarg, &end, 10); break;
		case 's': o->show = (int)strtol(optarg, &end, 10); break;
		case 'j': o->json = true; break;
		case 'h': usage(stdout); exit(0);
		default: return false;
		}
		if (end != NULL && (*end != '\0' || end == optarg)) {
			fprintf(stderr, "switchyard verify: not a number: %s\n", optarg);
			return false;
		}
	}
	if (o->config == NULL || o->chunk_rows < 1 || o->chunk_rows > 1000000 ||
	    o->max_rows_per_s < 0 || o->retry_delay_ms < 0 || o->show < 0)
		return false;
	o->tables = argv + optind;
	o->ntables = argc - optind;
	return true;
}

static int run_all(const struct opts *o, struct config *cfg)
{
	char err[1200];
	bool unreachable;
	cfg->catalog = mysqlb_load_catalog(cfg, err, sizeof(err), &unreachable);
	if (cfg->catalog == NULL) {
		fprintf(stderr, "switchyard verify: %s\n", err);
		return 2;
	}
	for (int i = 0; i < o->ntables; i++) {
		if (config_legacy_index(cfg, o->tables[i]) < 0) {
			fprintf(stderr, "switchyard verify: %s is not a [legacy] table of %s\n",
				o->tables[i], cfg->path);
			return 2;
		}
	}
	struct router_legacy legacy = {
		.schema = cfg->legacy.schema,
		.tables = (const char *const *)cfg->legacy.tables,
		.ntables = cfg->legacy.ntables,
		.mysql_configured = true,
		.catalog = cfg->catalog,
	};
	struct run r = { .o = o, .cfg = cfg, .tty = isatty(2) };
	pgv_session_init(&r.pv);
	r.router = router_new(&legacy, 0, 0);
	r.my = mysqlb_sync_open(cfg, 0, err, sizeof(err));
	if (r.router == NULL || r.my == NULL) {
		fprintf(stderr, "switchyard verify: %s\n", r.my ? "out of memory" : err);
		router_free(r.router);
		mysqlb_sync_close(r.my);
		return 2;
	}
	r.pg = pgclient_connect_sync(cfg, "switchyard verify", PGCLIENT_FIXED_SETTINGS, err,
				     sizeof(err));
	if (r.pg == NULL) {
		fprintf(stderr, "switchyard verify: %s\n", err);
		router_free(r.router);
		mysqlb_sync_close(r.my);
		return 2;
	}
	json_t *results = json_array();
	int code = 0;
	for (size_t i = 0; i < cfg->legacy.ntables; i++) {
		const char *name = cfg->legacy.tables[i];
		bool wanted = o->ntables == 0;
		for (int k = 0; k < o->ntables; k++)
			wanted = wanted || strcmp(o->tables[k], name) == 0;
		if (!wanted)
			continue;
		struct outcome out = { .table = name, .warnings = json_array(), .schema = json_array(),
				       .examples = json_array() };
		r.t = catalog_table(cfg->catalog, name);
		if (r.t == NULL) {
			snprintf(out.error, sizeof(out.error), "not in the legacy catalog");
			out.status = "error";
		} else {
			verify_table(&r, &out);
		}
		json_array_append_new(results, outcome_json(&out));
		json_decref(out.warnings);
		json_decref(out.schema);
		json_decref(out.examples);
		int c = strcmp(out.status, "match") == 0 ? 0 : strcmp(out.status, "error") == 0 ? 2 : 1;
		code = c > code ? c : code;
		if (PQstatus(r.pg) != CONNECTION_OK)
			PQreset(r.pg);
	}
	if (!save_results(cfg, results, (int64_t)time(NULL), err, sizeof(err))) {
		fprintf(stderr, "switchyard verify: %s\n", err);
		code = 2;
	}
	if (o->json) {
		json_t *doc = json_pack("{s:O,s:b}", "tables", results, "ok", code == 0);
		json_dumpf(doc, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(doc);
	} else {
		print_summary(stdout, results);
	}
	json_decref(results);
	rows_free(&r.myrows);
	rows_free(&r.pgrows);
	free(r.cands);
	PQfinish(r.pg);
	mysqlb_sync_close(r.my);
	router_free(r.router);
	return code;
}

int verify_main(int argc, char **argv)
{
	struct opts o;
	if (!parse(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	struct config_errors errs = { 0 };
	struct config *cfg = config_load(o.config, &errs);
	if (cfg == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.lines[i]);
		config_errors_clear(&errs);
		return 2;
	}
	int code = 2;
	if (!cfg->mysql.configured)
		fprintf(stderr, "switchyard verify: %s has no [mysql] section: nothing to compare\n",
			cfg->path);
	else
		code = run_all(&o, cfg);
	config_unref(cfg);
	return code;
}

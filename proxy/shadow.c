/*
 * shadow — shadow reads of the cutover (see shadow.h).
 *
 * One runner thread for the process, at the lowest priority (nice 19): on a
 * busy machine it gets a sliver of the CPU, shadows wait, the queue fills,
 * and the excess is dropped — the clients' latency is what is protected. It takes requests from a bounded queue and
 * runs each one blocking: MySQL first (translated again with the fixed
 * settings, so its text does not depend on the client's session), then —
 * if MySQL's answer was comparable — the statement as the client wrote it
 * on Supabase; then the two results are compared and counted. Each side's
 * rows become a hash per row (its text values, length-prefixed) and the
 * first SHADOW_KEEP_ROWS rows are kept to show a difference.
 */
#include "proxy/shadow.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "protocol/pgmsg.h"
#include "proxy/config.h"
#include "proxy/legacy.h"
#include "proxy/log.h"
#include "proxy/mysql.h"
#include "proxy/pgclient.h"
#include "proxy/proxy.h"
#include "proxy/worker.h"
#include "router/pgvalue.h"
#include "router/router.h"
#include "router/translate.h"

/* What both sides run with, so their text values compare (shadow.h). */
#define SHADOW_PG_OPTIONS PGCLIENT_FIXED_SETTINGS " -c statement_timeout=30000"
#define SHADOW_RECONNECT_S 5   /* after a failed connect, that side is not tried for this long */

struct shadow_req {
	struct shadow_req *next;
	char *table;              /* the legacy table's name (indexes change on reload) */
	enum cutover_side served;
	uint64_t fingerprint;
	char *sql;                /* NUL-terminated */
	size_t len;
	uint32_t *types;
	uint16_t ntypes;
	uint16_t nparams;
	char **params;            /* as the Bind carried them, NULL for SQL NULL */
	int *plens;
	int *pfmts;               /* 0 text, 1 binary */
};

/* One side's answer. */
struct side {
	bool failed;              /* the statement failed there */
	bool unusable;            /* no comparison possible: unreachable, timed out, too large */
	char sqlstate[6];
	char message[400];
	unsigned ncols;
	uint64_t nrows;
	struct row_ref { uint64_t hash; uint64_t index; } *rows;
	size_t cap;
	struct pgv_buf kept;      /* the first rows: per value int32 length (-1 NULL) + bytes */
	size_t *kept_at;          /* offset of row i in <kept>, i < nkept */
	size_t nkept;
	char **names;             /* column names (for the log) */
};

struct shadow_runner {
	struct proxy *p;
	pthread_t thread;
	bool started;

	/* Under <lock>: the queue. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct shadow_req *head, *tail;
	size_t queued, cap;
	bool stop;
	PGcancel *cancel;         /* the running Supabase statement's, for stopping */

	/* The thread's own. */
	struct config *cfg;       /* a reference to the snapshot it works with */
	struct router *router;
	struct mysqlb_sync *my;
	PGconn *pg;
	time_t my_retry_at, pg_retry_at;
	struct shadow_req *cur;
	struct xlate_col *cols;   /* the MySQL side's columns (conversion), ncols of them */
	char *names;              /* their names, one block */
	uint16_t ncols;
	bool total_order;
	struct pgv_session pv;    /* the fixed settings */
	struct pgv_buf val;
	struct side my_side, sb_side;
};

struct shadow {
	struct worker *w;
	struct shadow_runner *runner;
	uint64_t rng;
};

/* ---- requests ---- */

struct shadow_req *shadow_req_new(const char *table, enum cutover_side served,
				  uint64_t fingerprint, const char *sql, size_t len,
				  const uint32_t *types, uint16_t ntypes)
{
	struct shadow_req *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	if ((r->table = strdup(table)) == NULL) {
		free(r);
		return NULL;
	}
	r->served = served;
	r->fingerprint = fingerprint;
	r->sql = malloc(len + 1);
	if (r->sql == NULL) {
		shadow_req_free(r);
		return NULL;
	}
	memcpy(r->sql, sql, len);
	r->sql[len] = '\0';
	r->len = len;
	if (types != NULL && ntypes > 0) {
		r->types = malloc((size_t)ntypes * sizeof(*types));
		if (r->types == NULL) {
			shadow_req_free(r);
			return NULL;
		}
		memcpy(r->types, types, (size_t)ntypes * sizeof(*types));
		r->ntypes = ntypes;
	}
	return r;
}

void shadow_req_free(struct shadow_req *r)
{
	if (r == NULL)
		return;
	for (uint16_t i = 0; i < r->nparams; i++)
		free(r->params[i]);
	free(r->params);
	free(r->plens);
	free(r->pfmts);
	free(r->types);
	free(r->sql);
	free(r->table);
	free(r);
}

/* Bind: portal, statement, formats, values, result formats. */
bool shadow_req_bind(struct shadow_req *r, const uint8_t *body, size_t len)
{
	struct pgmsg_reader rd;
	pgmsg_reader_init(&rd, body, len);
	(void)pgmsg_get_string(&rd);
	(void)pgmsg_get_string(&rd);
	int16_t nfmt = pgmsg_get_int16(&rd);
	if (rd.bad || nfmt < 0 || (size_t)nfmt * 2 > pgmsg_reader_left(&rd))
		return false;
	const uint8_t *fmts = pgmsg_get_bytes(&rd, (size_t)nfmt * 2);
	int16_t n = pgmsg_get_int16(&rd);
	if (rd.bad || n < 0 || (nfmt > 1 && nfmt != n))
		return false;
	r->params = calloc(n ? (size_t)n : 1, sizeof(*r->params));
	r->plens = calloc(n ? (size_t)n : 1, sizeof(*r->plens));
	r->pfmts = calloc(n ? (size_t)n : 1, sizeof(*r->pfmts));
	if (r->params == NULL || r->plens == NULL || r->pfmts == NULL)
		return false;
	r->nparams = (uint16_t)n;
	for (int16_t i = 0; i < n; i++) {
		int at = nfmt == 0 ? -1 : nfmt == 1 ? 0 : i;
		int fmt = at < 0 ? 0 : (fmts[2 * at] << 8 | fmts[2 * at + 1]);
		if (fmt != 0 && fmt != 1)
			return false;
		r->pfmts[i] = fmt;
		int32_t vlen = pgmsg_get_int32(&rd);
		if (vlen < 0)
			continue;
		const uint8_t *v = pgmsg_get_bytes(&rd, (size_t)vlen);
		if (v == NULL || (fmt == 0 && memchr(v, '\0', (size_t)vlen) != NULL))
			return false;
		if ((r->params[i] = malloc((size_t)vlen + 1)) == NULL)
			return false;
		memcpy(r->params[i], v, (size_t)vlen);
		r->params[i][vlen] = '\0';
		r->plens[i] = vlen;
	}
	return !rd.bad;
}

/* ---- one side's rows ---- */

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 31;
	h *= 0x7fb5d329728ea185ULL;
	h ^= h >> 27;
	h *= 0x81dadef4bc2dd44dULL;
	return h ^ (h >> 33);
}

/* Row accounting: start a row. False when the side has too many rows (unusable). */
static bool row_begin(struct side *sd)
{
	if (sd->nrows >= SHADOW_MAX_ROWS) {
		sd->unusable = true;
		snprintf(sd->message, sizeof(sd->message), "more than %d rows", SHADOW_MAX_ROWS);
		return false;
	}
	if (sd->nrows == sd->cap) {
		size_t cap = sd->cap ? sd->cap * 2 : 64;
		struct row_ref *rows = realloc(sd->rows, cap * sizeof(*rows));
		if (rows == NULL)
			return false;
		sd->rows = rows;
		sd->cap = cap;
	}
	if (sd->nkept < SHADOW_KEEP_ROWS) {
		if (sd->kept_at == NULL && (sd->kept_at = calloc(SHADOW_KEEP_ROWS, sizeof(size_t))) == NULL)
			return false;
		sd->kept_at[sd->nkept] = sd->kept.len;
	}
	sd->rows[sd->nrows].hash = 0xcbf29ce484222325ULL;
	sd->rows[sd->nrows].index = sd->nrows;
	return true;
}

static void row_value(struct side *sd, const char *v, size_t len)
{
	struct row_ref *r = &sd->rows[sd->nrows];
	int32_t n = v == NULL ? -1 : (int32_t)len;
	r->hash = hash_bytes(r->hash, &n, sizeof(n));
	if (v != NULL)
		r->hash = hash_bytes(r->hash, v, len);
	if (sd->nkept < SHADOW_KEEP_ROWS) {
		pgv_buf_put(&sd->kept, &n, sizeof(n));
		if (v != NULL)
			pgv_buf_put(&sd->kept, v, len);
	}
}

static void row_end(struct side *sd)
{
	sd->rows[sd->nrows].hash = mix(sd->rows[sd->nrows].hash);
	sd->nrows++;
	if (sd->nkept < SHADOW_KEEP_ROWS)
		sd->nkept++;
}

static void side_fail(struct side *sd, bool unusable, const char *sqlstate, const char *msg)
{
	sd->failed = !unusable;
	sd->unusable = unusable;
	snprintf(sd->sqlstate, sizeof(sd->sqlstate), "%s", sqlstate);
	snprintf(sd->message, sizeof(sd->message), "%s", msg);
}

/* ---- comparing ---- */

static int cmp_ref(const void *a, const void *b)
{
	const struct row_ref *x = a, *y = b;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * The first difference: in order, the first position where the rows
 * differ; as multisets (sorted by hash), the first row of one side the
 * other lacks. *mi / *si: row indexes on each side, UINT64_MAX for none.
 */
static bool differs(struct shadow_runner *rn, uint64_t *mi, uint64_t *si)
{
	struct side *a = &rn->my_side, *b = &rn->sb_side;
	*mi = *si = UINT64_MAX;
	if (rn->total_order) {
		uint64_t n = a->nrows < b->nrows ? a->nrows : b->nrows;
		for (uint64_t i = 0; i < n; i++) {
			if (a->rows[i].hash != b->rows[i].hash) {
				*mi = *si = i;
				return true;
			}
		}
		if (a->nrows == b->nrows)
			return false;
		if (a->nrows > n)
			*mi = n;
		else
			*si = n;
		return true;
	}
	if (a->nrows)
		qsort(a->rows, a->nrows, sizeof(*a->rows), cmp_ref);
	if (b->nrows)
		qsort(b->rows, b->nrows, sizeof(*b->rows), cmp_ref);
	uint64_t i = 0, j = 0;
	while (i < a->nrows && j < b->nrows) {
		if (a->rows[i].hash == b->rows[j].hash) {
			i++, j++;
		} else if (a->rows[i].hash < b->rows[j].hash) {
			*mi = a->rows[i].index;
			return true;
		} else {
			*si = b->rows[j].index;
			return true;
		}
	}
	if (i < a->nrows)
		*mi = a->rows[i].index;
	else if (j < b->nrows)
		*si = b->rows[j].index;
	return *mi != UINT64_MAX || *si != UINT64_MAX;
}

/* Row <i> of side <sd> as "(col=value, ...)", values redacted unless <reveal>. */
static void show_row(const struct side *sd, uint64_t i, bool reveal, char *buf, size_t cap)
{
	size_t at = 0;
	if (i == UINT64_MAX) {
		snprintf(buf, cap, "(none)");
		return;
	}
	if (i >= sd->nkept) {
		snprintf(buf, cap, "(row %llu, not kept)", (unsigned long long)i + 1);
		return;
	}
	const unsigned char *p = (const unsigned char *)sd->kept.p + sd->kept_at[i];
	at += (size_t)snprintf(buf + at, cap - at, "(");
	for (unsigned c = 0; c < sd->ncols && at < cap; c++) {
		int32_t n;
		memcpy(&n, p, sizeof(n));
		p += sizeof(n);
		const char *name = sd->names && sd->names[c] ? sd->names[c] : "?";
		if (n < 0)
			at += (size_t)snprintf(buf + at, cap - at, "%s%s=NULL", c ? ", " : "", name);
		else if (reveal)
			at += (size_t)snprintf(buf + at, cap - at, "%s%s=%.*s", c ? ", " : "", name,
					       n > 200 ? 200 : (int)n, (const char *)p);
		else
			at += (size_t)snprintf(buf + at, cap - at, "%s%s=<%d bytes>", c ? ", " : "",
					       name, (int)n);
		if (n > 0)
			p += n;
	}
	if (at < cap)
		snprintf(buf + at, cap - at, ")");
}


static void side_reset(struct side *sd)
{
	free(sd->rows);
	free(sd->kept_at);
	pgv_buf_free(&sd->kept);
	if (sd->names) {
		for (unsigned i = 0; i < sd->ncols; i++)
			free(sd->names[i]);
		free(sd->names);
	}
	memset(sd, 0, sizeof(*sd));
}

/* The live state of <table>'s group in <cfg>, or NULL. */
static struct cutover_table *group_state(struct cutover *c, const struct config *cfg,
					 const char *table)
{
	int at = config_legacy_index(cfg, table);
	if (at < 0)
		return NULL;
	const struct config_cutover_group *g = &cfg->cutover.groups[cfg->cutover.group_of[at]];
	return cutover_find(c, cfg->legacy.tables[g->tables[0]]);
}

static void log_mismatch(struct shadow_runner *rn, const char *what, uint64_t mi, uint64_t si)
{
	bool reveal = log_enabled(CONFIG_LOG_DEBUG);
	char mrow[1024], srow[1024], q1[1200], q2[1200], qs[600];
	show_row(&rn->my_side, mi, reveal, mrow, sizeof(mrow));
	show_row(&rn->sb_side, si, reveal, srow, sizeof(srow));
	char stmt[500];
	snprintf(stmt, sizeof(stmt), "%.*s", (int)(rn->cur->len > 400 ? 400 : rn->cur->len),
		 rn->cur->sql);
	log_event(CONFIG_LOG_WARN, -1, -1, "shadow read mismatch",
		  "table=%s fingerprint=%016llx served_by=%s difference=%s mysql_rows=%llu "
		  "supabase_rows=%llu mysql_row=%s supabase_row=%s statement=%s",
		  rn->cur->table, (unsigned long long)rn->cur->fingerprint,
		  rn->cur->served == CUTOVER_SUPABASE ? "supabase" : "mysql", what,
		  (unsigned long long)rn->my_side.nrows, (unsigned long long)rn->sb_side.nrows,
		  log_quote(q1, sizeof(q1), mrow), log_quote(q2, sizeof(q2), srow),
		  reveal ? log_quote(qs, sizeof(qs), stmt) : "<redacted>");
}

/* Both sides are in: compare, count, log. */
static void conclude(struct shadow_runner *rn)
{
	struct shadow_req *r = rn->cur;
	struct side *a = &rn->my_side, *b = &rn->sb_side;
	const char *what = NULL;
	uint64_t mi = UINT64_MAX, si = UINT64_MAX;
	bool skip = a->unusable || b->unusable || (a->failed && b->failed);

	if (!skip) {
		if (a->failed || b->failed)
			what = a->failed ? "mysql-error" : "supabase-error";
		else if (a->ncols != b->ncols)
			what = "column-count";
		else if (differs(rn, &mi, &si))
			what = a->nrows != b->nrows ? "row-count" : "rows";
	}
	struct cutover *c = rn->p->cutover;
	struct cutover_table *t = group_state(c, rn->cfg, r->table);
	if (skip) {
		atomic_fetch_add_explicit(&rn->p->shadow_skipped, 1, memory_order_relaxed);
		log_debug(-1, -1, "shadow read skipped", "table=%s mysql=%s supabase=%s", r->table,
			  a->message[0] ? a->message : "ok", b->message[0] ? b->message : "ok");
	} else if (t != NULL) {
		bool mismatch = what != NULL;
		if (cutover_note_fingerprint(c, r->fingerprint, r->table, mismatch) && mismatch) {
			if (a->failed || b->failed) {
				char q[500];
				log_event(CONFIG_LOG_WARN, -1, -1, "shadow read mismatch",
					  "table=%s fingerprint=%016llx difference=%s sqlstate=%s error=%s",
					  r->table, (unsigned long long)r->fingerprint, what,
					  a->failed ? a->sqlstate : b->sqlstate,
					  log_quote(q, sizeof(q), a->failed ? a->message : b->message));
			} else {
				log_mismatch(rn, what, mi, si);
			}
		}
		cutover_note_shadow(c, rn->cfg, t,
				    mismatch ? CUTOVER_SHADOW_MISMATCH : CUTOVER_SHADOW_MATCH);
	}
}

/* Errors that say nothing about the data: the side could not be asked. */
static bool unreachable_state(const char *sqlstate)
{
	return strncmp(sqlstate, "08", 2) == 0 || strcmp(sqlstate, "57014") == 0 ||
	       strncmp(sqlstate, "53", 2) == 0 || strcmp(sqlstate, "57P01") == 0;
}

/* ---- Supabase ---- */

/* The Supabase connection goes (its cancel handle first: stop may be using it). */
static void drop_pg(struct shadow_runner *rn)
{
	pthread_mutex_lock(&rn->lock);
	PQfreeCancel(rn->cancel);
	rn->cancel = NULL;
	pthread_mutex_unlock(&rn->lock);
	PQfinish(rn->pg);
	rn->pg = NULL;
}

static void run_supabase(struct shadow_runner *rn)
{
	struct shadow_req *r = rn->cur;
	struct side *sd = &rn->sb_side;
	char err[400];
	if (rn->pg == NULL) {
		if (time(NULL) < rn->pg_retry_at) {
			side_fail(sd, true, "08006", "Supabase unreachable (waiting to reconnect)");
			return;
		}
		rn->pg = pgclient_connect_sync(rn->cfg, "switchyard shadow", SHADOW_PG_OPTIONS, err,
					       sizeof(err));
		if (rn->pg == NULL) {
			rn->pg_retry_at = time(NULL) + SHADOW_RECONNECT_S;
			log_warn(-1, -1, "shadow reads: cannot connect to Supabase", "error=%s", err);
			side_fail(sd, true, "08006", err);
			return;
		}
		PGcancel *cancel = PQgetCancel(rn->pg);
		pthread_mutex_lock(&rn->lock);
		rn->cancel = cancel;
		pthread_mutex_unlock(&rn->lock);
	}
	/* The client's Parse types, as it gave them (0: the server infers, as for the client). */
	Oid *types = NULL;
	if (r->ntypes > 0 && r->nparams > 0 && (types = calloc(r->nparams, sizeof(*types))) != NULL) {
		for (uint16_t i = 0; i < r->nparams && i < r->ntypes; i++)
			types[i] = r->types[i];
	}
	PGresult *res = PQexecParams(rn->pg, r->sql, r->nparams, types,
				     (const char *const *)r->params, r->plens, r->pfmts, 0);
	free(types);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		if (code == NULL)
			code = "08006";
		side_fail(sd, unreachable_state(code), code, msg ? msg : PQerrorMessage(rn->pg));
		PQclear(res);
		if (PQstatus(rn->pg) != CONNECTION_OK)
			drop_pg(rn);
		return;
	}
	int nrows = PQntuples(res), ncols = PQnfields(res);
	sd->ncols = (unsigned)ncols;
	sd->names = calloc(ncols ? (size_t)ncols : 1, sizeof(*sd->names));
	for (int c = 0; sd->names != NULL && c < ncols; c++)
		sd->names[c] = strdup(PQfname(res, c));
	for (int i = 0; i < nrows; i++) {
		if (!row_begin(sd)) {
			if (!sd->unusable)
				side_fail(sd, true, "53200", "out of memory");
			break;
		}
		for (int c = 0; c < ncols; c++)
			row_value(sd, PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c),
				  (size_t)PQgetlength(res, i, c));
		row_end(sd);
	}
	PQclear(res);
	if (sd->kept.failed)
		side_fail(sd, true, "53200", "out of memory");
}

/* ---- MySQL ---- */

static bool my_row(void *arg, char **vals, unsigned long *lens, unsigned ncols)
{
	struct shadow_runner *rn = arg;
	struct side *sd = &rn->my_side;
	if (sd->ncols == 0) {
		sd->ncols = ncols;
		sd->names = calloc(ncols ? ncols : 1, sizeof(*sd->names));
		for (unsigned c = 0; sd->names != NULL && c < ncols && c < rn->ncols; c++)
			sd->names[c] = strdup(rn->cols[c].name ? rn->cols[c].name : "?");
	}
	if (!row_begin(sd)) {
		if (!sd->unusable)
			side_fail(sd, true, "53200", "out of memory");
		return false;
	}
	for (unsigned c = 0; c < ncols; c++) {
		if (vals[c] == NULL || c >= rn->ncols) {
			row_value(sd, vals[c], vals[c] ? lens[c] : 0);
			continue;
		}
		const struct xlate_col *col = &rn->cols[c];
		struct pgv_error perr = { .sqlstate = "22P02" };
		rn->val.len = 0;
		rn->val.failed = false;
		enum pgv_status ps = pgv_text(&rn->val, (enum pgv_conv)col->conv, col->type_oid,
					      col->typmod, vals[c], lens[c], &rn->pv, &perr);
		if (ps == PGV_NULL) {
			row_value(sd, NULL, 0);
		} else if (ps == PGV_OK && !rn->val.failed) {
			row_value(sd, rn->val.p ? rn->val.p : "", rn->val.len);
		} else {
			/* The client got this error too (the same conversion): the side failed. */
			side_fail(sd, ps == PGV_OOM, perr.sqlstate, perr.message);
			return false;
		}
	}
	row_end(sd);
	return true;
}

/* The MySQL text of the request with the fixed settings; NULL when it cannot be shadowed. */
static char *mysql_text(struct shadow_runner *rn, size_t *len, const char **why)
{
	struct shadow_req *r = rn->cur;
	struct xlate_result xr;
	router_translate(rn->router, r->sql, r->len, r->types, r->ntypes, &xr);
	if (xr.status != XLATE_OK || xr.wrap != XLATE_W_NONE) {
		*why = "not translatable with the fixed settings";
		return NULL;
	}
	if (xr.limited && !xr.total_order) {
		*why = "LIMIT without a total ORDER BY: the rows are not determined";
		return NULL;
	}
	if (xr.nparams != r->nparams) {
		*why = "parameter count";
		return NULL;
	}
	rn->total_order = xr.total_order;
	rn->ncols = xr.ncols;
	size_t names = 0;
	for (uint16_t c = 0; c < xr.ncols; c++)
		names += strlen(xr.cols[c].name ? xr.cols[c].name : "?") + 1;
	rn->cols = calloc(xr.ncols ? xr.ncols : 1, sizeof(*rn->cols));
	rn->names = malloc(names ? names : 1);
	char **lits = calloc(xr.nparams ? xr.nparams : 1, sizeof(*lits));
	size_t *llens = calloc(xr.nparams ? xr.nparams : 1, sizeof(*llens));
	char *sql = NULL;
	*why = "out of memory";
	if (rn->cols == NULL || rn->names == NULL || lits == NULL || llens == NULL)
		goto out;
	size_t at = 0;
	for (uint16_t c = 0; c < xr.ncols; c++) {
		const char *n = xr.cols[c].name ? xr.cols[c].name : "?";
		rn->cols[c] = xr.cols[c];
		memcpy(rn->names + at, n, strlen(n) + 1);
		rn->cols[c].name = rn->names + at;
		at += strlen(n) + 1;
	}
	for (uint16_t i = 0; i < xr.nparams; i++) {
		if (r->params[i] == NULL) {
			lits[i] = strdup("NULL");
			llens[i] = 4;
			if (lits[i] == NULL)
				goto out;
			continue;
		}
		struct pgv_buf b = { 0 };
		struct pgv_error perr = { .sqlstate = "22P02" };
		enum pgv_status ps = pgv_param_literal(&b, xr.param_types[i], r->pfmts[i], r->params[i],
						       (size_t)r->plens[i], &rn->pv, &perr);
		if (ps != PGV_OK || b.failed) {
			pgv_buf_free(&b);
			*why = ps == PGV_OOM ? "out of memory" : "a parameter MySQL cannot take";
			goto out;
		}
		lits[i] = b.p ? b.p : strdup("");
		llens[i] = b.len;
		if (lits[i] == NULL)
			goto out;
	}
	sql = legacy_fill_sql(&xr, lits, llens, &rn->pv, len);
out:
	for (uint16_t i = 0; lits != NULL && i < xr.nparams; i++)
		free(lits[i]);
	free(lits);
	free(llens);
	return sql;
}

static void run_mysql(struct shadow_runner *rn)
{
	struct side *sd = &rn->my_side;
	const char *why = NULL;
	size_t len = 0;
	char err[400];
	char *sql = rn->router ? mysql_text(rn, &len, &why) : NULL;
	if (sql == NULL) {
		side_fail(sd, true, "0A000", why ? why : "no MySQL backend");
		return;
	}
	if (rn->my == NULL) {
		if (time(NULL) < rn->my_retry_at) {
			free(sql);
			side_fail(sd, true, "08006", "MySQL unreachable (waiting to reconnect)");
			return;
		}
		rn->my = mysqlb_sync_open(rn->cfg, SHADOW_TIMEOUT_MS / 1000, err, sizeof(err));
		if (rn->my == NULL) {
			rn->my_retry_at = time(NULL) + SHADOW_RECONNECT_S;
			log_warn(-1, -1, "shadow reads: cannot connect to MySQL", "error=%s", err);
			free(sql);
			side_fail(sd, true, "08006", err);
			return;
		}
	}
	bool ok = mysqlb_sync_query(rn->my, sql, len, my_row, rn, err, sizeof(err));
	free(sql);
	/* No rows: the columns are the translation's (my_row counts them on the first row). */
	if (ok && sd->nrows == 0 && sd->ncols == 0)
		sd->ncols = rn->ncols;
	if (!ok && !sd->failed && !sd->unusable) {
		/* A failed statement or a lost connection: either way the next one gets a new one. */
		bool lost = strstr(err, "(error 20") != NULL; /* client errors 2000-2099 */
		side_fail(sd, lost, lost ? "08006" : "XX000", err);
		mysqlb_sync_close(rn->my);
		rn->my = NULL;
	}
	if (sd->kept.failed && !sd->unusable)
		side_fail(sd, true, "53200", "out of memory");
}

/* ---- the thread ---- */

static void clear_current(struct shadow_runner *rn)
{
	shadow_req_free(rn->cur);
	rn->cur = NULL;
	free(rn->cols);
	free(rn->names);
	rn->cols = NULL;
	rn->names = NULL;
	rn->ncols = 0;
	side_reset(&rn->my_side);
	side_reset(&rn->sb_side);
}

static void drop_connections(struct shadow_runner *rn)
{
	mysqlb_sync_close(rn->my);
	rn->my = NULL;
	drop_pg(rn);
}

/* The proxy's newest snapshot: a new one gets a new router and new connections. */
static void adopt_snapshot(struct shadow_runner *rn)
{
	struct proxy *p = rn->p;
	pthread_mutex_lock(&p->snap_lock);
	struct config *cfg = p->cfg;
	if (cfg == rn->cfg) {
		pthread_mutex_unlock(&p->snap_lock);
		return;
	}
	config_ref(cfg);
	pthread_mutex_unlock(&p->snap_lock);
	drop_connections(rn);
	router_free(rn->router);
	rn->router = NULL;
	config_unref(rn->cfg);
	rn->cfg = cfg;
	rn->my_retry_at = rn->pg_retry_at = 0;
	if (cfg->catalog != NULL) {
		struct router_legacy legacy = {
			.schema = cfg->legacy.schema,
			.tables = (const char *const *)cfg->legacy.tables,
			.ntables = cfg->legacy.ntables,
			.mysql_configured = true,
			.catalog = cfg->catalog,
		};
		rn->router = router_new(&legacy, 256, 4u << 20);
	}
}

static void *runner_main(void *arg)
{
	struct shadow_runner *rn = arg;
	/*
	 * Nice 19: a sliver of the CPU when the clients want it all (shadow.h).
	 * Not SCHED_IDLE, which could leave it holding the queue's or the
	 * cutover's lock for as long as the machine stays busy.
	 */
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
	for (;;) {
		pthread_mutex_lock(&rn->lock);
		while (!rn->stop && rn->head == NULL)
			pthread_cond_wait(&rn->cond, &rn->lock);
		if (rn->stop) {
			pthread_mutex_unlock(&rn->lock);
			break;
		}
		rn->cur = rn->head;
		rn->head = rn->cur->next;
		if (rn->head == NULL)
			rn->tail = NULL;
		rn->queued--;
		pthread_mutex_unlock(&rn->lock);
		adopt_snapshot(rn);
		run_mysql(rn);
		pthread_mutex_lock(&rn->lock);
		bool stopping = rn->stop;
		pthread_mutex_unlock(&rn->lock);
		if (stopping) {
			clear_current(rn);
			break;
		}
		if (rn->my_side.unusable || (rn->my_side.failed && rn->cur->served == CUTOVER_MYSQL))
			rn->sb_side.unusable = true; /* nothing to compare with */
		else
			run_supabase(rn);
		conclude(rn);
		clear_current(rn);
	}
	drop_connections(rn);
	return NULL;
}

struct shadow_runner *shadow_runner_start(struct proxy *p, int nworkers)
{
	struct shadow_runner *rn = calloc(1, sizeof(*rn));
	if (rn == NULL)
		return NULL;
	rn->p = p;
	rn->cap = (size_t)(nworkers > 0 ? nworkers : 1) * SHADOW_QUEUE_MAX;
	pgv_session_init(&rn->pv);
	pthread_mutex_init(&rn->lock, NULL);
	pthread_cond_init(&rn->cond, NULL);
	if (pthread_create(&rn->thread, NULL, runner_main, rn) != 0) {
		shadow_runner_stop(rn);
		return NULL;
	}
	rn->started = true;
	return rn;
}

void shadow_runner_stop(struct shadow_runner *rn)
{
	if (rn == NULL)
		return;
	pthread_mutex_lock(&rn->lock);
	rn->stop = true;
	if (rn->cancel != NULL) {
		char err[128];
		(void)PQcancel(rn->cancel, err, sizeof(err));
	}
	pthread_cond_broadcast(&rn->cond);
	pthread_mutex_unlock(&rn->lock);
	if (rn->started)
		pthread_join(rn->thread, NULL);
	while (rn->head != NULL) {
		struct shadow_req *r = rn->head;
		rn->head = r->next;
		shadow_req_free(r);
	}
	router_free(rn->router);
	config_unref(rn->cfg);
	pgv_buf_free(&rn->val);
	pthread_mutex_destroy(&rn->lock);
	pthread_cond_destroy(&rn->cond);
	free(rn);
}

/* ---- a worker's handle ---- */

static uint64_t next_random(struct shadow *sh)
{
	/* xorshift64*: sampling needs no more. */
	sh->rng ^= sh->rng >> 12;
	sh->rng ^= sh->rng << 25;
	sh->rng ^= sh->rng >> 27;
	return sh->rng * 0x2545F4914F6CDD1DULL;
}

struct shadow *shadow_new(struct worker *w)
{
	struct shadow *sh = calloc(1, sizeof(*sh));
	if (sh == NULL)
		return NULL;
	sh->w = w;
	sh->runner = w->proxy->shadow;
	sh->rng = ((uint64_t)time(NULL) << 16) ^ (uint64_t)(w->id + 1) * 0x9E3779B97F4A7C15ULL;
	if (sh->rng == 0)
		sh->rng = 1;
	return sh;
}

void shadow_free(struct shadow *sh)
{
	free(sh);
}

bool shadow_sample(struct shadow *sh)
{
	int pct = sh->w->cfg->cutover.shadow_percent;
	if (pct <= 0 || sh->runner == NULL)
		return false;
	return pct >= 100 || next_random(sh) % 100 < (uint64_t)pct;
}

/* A drop, counted from the worker: its own table of group states, no lock. */
static void drop(struct shadow *sh, struct shadow_req *r)
{
	int at = config_legacy_index(sh->w->cfg, r->table);
	struct cutover_table *t = at >= 0 && at < 64 ? sh->w->cut[at] : NULL;
	if (t != NULL)
		cutover_note_shadow(sh->w->proxy->cutover, sh->w->cfg, t, CUTOVER_SHADOW_DROPPED);
	shadow_req_free(r);
}

void shadow_submit(struct shadow *sh, struct shadow_req *r)
{
	struct shadow_runner *rn = sh->runner;
	/* A client's worker never waits for the runner: a busy lock drops the shadow. */
	if (pthread_mutex_trylock(&rn->lock) != 0) {
		drop(sh, r);
		return;
	}
	bool full = rn->queued >= rn->cap || rn->stop;
	if (!full) {
		r->next = NULL;
		if (rn->tail)
			rn->tail->next = r;
		else
			rn->head = r;
		rn->tail = r;
		rn->queued++;
		pthread_cond_signal(&rn->cond);
	}
	size_t queued = rn->queued;
	pthread_mutex_unlock(&rn->lock);
	if (full) {
		drop(sh, r);
		return;
	}
	log_debug(sh->w->id, -1, "shadow read queued", "queued=%zu", queued);
}

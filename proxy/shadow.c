/*
 * shadow — a worker's shadow reads (see shadow.h).
 *
 * One request at a time: MySQL first (translated again with the fixed
 * settings, so its text does not depend on the client's session), then —
 * if MySQL's answer was comparable — the statement as the client wrote it
 * on Supabase; then the two results are compared and counted. Each side's
 * rows become a hash per row (its text values, length-prefixed) and the
 * first SHADOW_KEEP_ROWS rows are kept to show a difference.
 */
#include "proxy/shadow.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol/pgmsg.h"
#include "proxy/config.h"
#include "proxy/legacy.h"
#include "proxy/log.h"
#include "proxy/metrics.h"
#include "proxy/mysql.h"
#include "proxy/pgclient.h"
#include "proxy/proxy.h"
#include "proxy/worker.h"
#include "router/pgvalue.h"
#include "router/router.h"
#include "router/translate.h"

/* What both sides run with, so their text values compare (shadow.h). */
#define SHADOW_PG_OPTIONS                                                                   \
	"-c TimeZone=UTC -c DateStyle=ISO,MDY -c IntervalStyle=postgres -c extra_float_digits=1 " \
	"-c bytea_output=hex"

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
	bool done;
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

struct shadow {
	struct worker *w;
	struct shadow_req *head, *tail;
	size_t queued;
	struct shadow_req *cur;   /* running */
	uint64_t rng;

	struct pgclient *pg;
	struct mysqlb_job *job;
	struct xlate_col *cols;   /* the MySQL side's columns (conversion), ncols of them */
	char *names;              /* their names, one block */
	uint16_t ncols;
	bool total_order;
	struct pgv_session pv;    /* the fixed settings */
	struct pgv_buf val;
	struct side my, sb;
	struct event *next_ev;    /* starts the next request from the loop */
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

/* ---- the runner ---- */

static uint64_t next_random(struct shadow *sh)
{
	/* xorshift64*: sampling needs no more. */
	sh->rng ^= sh->rng >> 12;
	sh->rng ^= sh->rng << 25;
	sh->rng ^= sh->rng >> 27;
	return sh->rng * 0x2545F4914F6CDD1DULL;
}

bool shadow_sample(struct shadow *sh)
{
	int pct = sh->w->cfg->cutover.shadow_percent;
	if (pct <= 0)
		return false;
	return pct >= 100 || next_random(sh) % 100 < (uint64_t)pct;
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

static void start_next(struct shadow *sh);

static void on_next(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	start_next(arg);
}

struct shadow *shadow_new(struct worker *w)
{
	struct shadow *sh = calloc(1, sizeof(*sh));
	if (sh == NULL)
		return NULL;
	sh->w = w;
	sh->rng = ((uint64_t)time(NULL) << 16) ^ (uint64_t)(w->id + 1) * 0x9E3779B97F4A7C15ULL;
	if (sh->rng == 0)
		sh->rng = 1;
	pgv_session_init(&sh->pv);
	sh->next_ev = evtimer_new(w->base, on_next, sh);
	if (sh->next_ev == NULL) {
		free(sh);
		return NULL;
	}
	return sh;
}

static void clear_current(struct shadow *sh)
{
	if (sh->job != NULL) {
		mysqlb_job_abandon(sh->job);
		sh->job = NULL;
	}
	shadow_req_free(sh->cur);
	sh->cur = NULL;
	free(sh->cols);
	free(sh->names);
	sh->cols = NULL;
	sh->names = NULL;
	sh->ncols = 0;
	side_reset(&sh->my);
	side_reset(&sh->sb);
}

void shadow_free(struct shadow *sh)
{
	if (sh == NULL)
		return;
	clear_current(sh);
	while (sh->head != NULL) {
		struct shadow_req *r = sh->head;
		sh->head = r->next;
		shadow_req_free(r);
	}
	pgclient_free(sh->pg);
	pgv_buf_free(&sh->val);
	event_free(sh->next_ev);
	free(sh);
}

/* The group's live state of table <name> in the worker's snapshot, or NULL. */
static struct cutover_table *group_of(struct shadow *sh, const char *name)
{
	int at = config_legacy_index(sh->w->cfg, name);
	return at < 0 || at >= 64 ? NULL : sh->w->cut[at];
}

void shadow_submit(struct shadow *sh, struct shadow_req *r)
{
	if (sh->queued >= SHADOW_QUEUE_MAX) {
		struct cutover_table *t = group_of(sh, r->table);
		if (t != NULL)
			cutover_note_shadow(sh->w->proxy->cutover, sh->w->cfg, t, CUTOVER_SHADOW_DROPPED);
		shadow_req_free(r);
		return;
	}
	log_debug(sh->w->id, -1, "shadow read queued", "table=%s queued=%zu", r->table, sh->queued + 1);
	r->next = NULL;
	if (sh->tail)
		sh->tail->next = r;
	else
		sh->head = r;
	sh->tail = r;
	sh->queued++;
	if (sh->cur == NULL) {
		struct timeval now = {0, 0};
		event_add(sh->next_ev, &now);
	}
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

/* Errors that say nothing about the data: the side could not be asked. */
static bool unreachable_state(const char *sqlstate)
{
	return strncmp(sqlstate, "08", 2) == 0 || strcmp(sqlstate, "57014") == 0 ||
	       strncmp(sqlstate, "53", 2) == 0 || strcmp(sqlstate, "57P01") == 0;
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
static bool differs(struct shadow *sh, uint64_t *mi, uint64_t *si)
{
	struct side *a = &sh->my, *b = &sh->sb;
	*mi = *si = UINT64_MAX;
	if (sh->total_order) {
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

static void log_mismatch(struct shadow *sh, const char *what, uint64_t mi, uint64_t si)
{
	bool reveal = log_enabled(CONFIG_LOG_DEBUG);
	char mrow[1024], srow[1024], q1[1200], q2[1200], qs[600];
	show_row(&sh->my, mi, reveal, mrow, sizeof(mrow));
	show_row(&sh->sb, si, reveal, srow, sizeof(srow));
	char stmt[500];
	snprintf(stmt, sizeof(stmt), "%.*s", (int)(sh->cur->len > 400 ? 400 : sh->cur->len),
		 sh->cur->sql);
	log_event(CONFIG_LOG_WARN, sh->w->id, -1, "shadow read mismatch",
		  "table=%s fingerprint=%016llx served_by=%s difference=%s mysql_rows=%llu "
		  "supabase_rows=%llu mysql_row=%s supabase_row=%s statement=%s",
		  sh->cur->table, (unsigned long long)sh->cur->fingerprint,
		  sh->cur->served == CUTOVER_SUPABASE ? "supabase" : "mysql", what,
		  (unsigned long long)sh->my.nrows, (unsigned long long)sh->sb.nrows,
		  log_quote(q1, sizeof(q1), mrow), log_quote(q2, sizeof(q2), srow),
		  reveal ? log_quote(qs, sizeof(qs), stmt) : "<redacted>");
}

/* Both sides are in: compare, count, log, and go on with the next request. */
static void conclude(struct shadow *sh)
{
	struct shadow_req *r = sh->cur;
	struct side *a = &sh->my, *b = &sh->sb;
	const char *what = NULL;
	uint64_t mi = UINT64_MAX, si = UINT64_MAX;
	bool skip = a->unusable || b->unusable || (a->failed && b->failed);

	if (!skip) {
		if (a->failed || b->failed)
			what = a->failed ? "mysql-error" : "supabase-error";
		else if (a->ncols != b->ncols)
			what = "column-count";
		else if (differs(sh, &mi, &si))
			what = a->nrows != b->nrows ? "row-count" : "rows";
	}
	struct cutover_table *t = group_of(sh, r->table);
	if (skip) {
		metrics_shadow_skipped(sh->w->metrics);
		log_debug(sh->w->id, -1, "shadow read skipped", "table=%s mysql=%s supabase=%s",
			  r->table, a->message[0] ? a->message : "ok",
			  b->message[0] ? b->message : "ok");
	} else if (t != NULL) {
		bool mismatch = what != NULL;
		if (cutover_note_fingerprint(sh->w->proxy->cutover, r->fingerprint, r->table, mismatch) &&
		    mismatch) {
			if (a->failed || b->failed) {
				char q[400];
				log_event(CONFIG_LOG_WARN, sh->w->id, -1, "shadow read mismatch",
					  "table=%s fingerprint=%016llx difference=%s sqlstate=%s error=%s",
					  r->table, (unsigned long long)r->fingerprint, what,
					  a->failed ? a->sqlstate : b->sqlstate,
					  log_quote(q, sizeof(q), a->failed ? a->message : b->message));
			} else {
				log_mismatch(sh, what, mi, si);
			}
		}
		cutover_note_shadow(sh->w->proxy->cutover, sh->w->cfg, t,
				    mismatch ? CUTOVER_SHADOW_MISMATCH : CUTOVER_SHADOW_MATCH);
	}
	clear_current(sh);
	struct timeval now = {0, 0};
	event_add(sh->next_ev, &now);
}

/* ---- Supabase ---- */

static void sb_done(void *arg, const struct pgclient_result *res)
{
	struct shadow *sh = arg;
	struct side *sd = &sh->sb;
	sd->done = true;
	if (!pgclient_ok(res)) {
		const char *st = pgclient_sqlstate(res);
		side_fail(sd, unreachable_state(st), st, pgclient_message(res));
		conclude(sh);
		return;
	}
	int nrows = pgclient_nrows(res), ncols = pgclient_ncols(res);
	sd->ncols = (unsigned)ncols;
	sd->names = calloc(ncols ? (size_t)ncols : 1, sizeof(*sd->names));
	for (int c = 0; sd->names != NULL && c < ncols; c++)
		sd->names[c] = strdup(pgclient_col_name(res, c));
	for (int i = 0; i < nrows; i++) {
		if (!row_begin(sd)) {
			if (!sd->unusable)
				side_fail(sd, true, "53200", "out of memory");
			break;
		}
		for (int c = 0; c < ncols; c++) {
			size_t len;
			const char *v = pgclient_value(res, i, c, &len);
			row_value(sd, v, len);
		}
		row_end(sd);
	}
	if (sd->kept.failed)
		side_fail(sd, true, "53200", "out of memory");
	conclude(sh);
}

static void run_supabase(struct shadow *sh)
{
	struct shadow_req *r = sh->cur;
	if (sh->pg == NULL) {
		sh->pg = pgclient_new(sh->w->base, "switchyard shadow");
		if (sh->pg != NULL && !pgclient_set_options(sh->pg, SHADOW_PG_OPTIONS)) {
			pgclient_free(sh->pg);
			sh->pg = NULL;
		}
	}
	/* The client's Parse types, as it gave them (0: the server infers, as for the client). */
	unsigned *types = NULL;
	if (r->ntypes > 0 && r->nparams > 0 && (types = calloc(r->nparams, sizeof(*types))) != NULL) {
		for (uint16_t i = 0; i < r->nparams && i < r->ntypes; i++)
			types[i] = r->types[i];
	}
	bool sent = sh->pg != NULL && (r->ntypes == 0 || r->nparams == 0 || types != NULL) &&
		    pgclient_query_params(sh->pg, sh->w->cfg, r->sql, r->nparams, types,
					  (const char *const *)r->params, r->plens, r->pfmts,
					  SHADOW_TIMEOUT_MS, sb_done, sh);
	free(types);
	if (!sent) {
		side_fail(&sh->sb, true, "53200", "out of memory");
		conclude(sh);
	}
}

/* ---- MySQL ---- */

static bool my_columns(void *arg, unsigned ncols)
{
	struct shadow *sh = arg;
	sh->my.ncols = ncols;
	if (ncols != sh->ncols)
		return true; /* conclude() tells the column counts apart */
	sh->my.names = calloc(ncols ? ncols : 1, sizeof(*sh->my.names));
	for (unsigned c = 0; sh->my.names != NULL && c < ncols; c++)
		sh->my.names[c] = strdup(sh->cols[c].name ? sh->cols[c].name : "?");
	return true;
}

static enum mysqlb_row_verdict my_row(void *arg, char **vals, unsigned long *lens, unsigned ncols)
{
	struct shadow *sh = arg;
	struct side *sd = &sh->my;
	if (!row_begin(sd)) {
		if (!sd->unusable)
			side_fail(sd, true, "53200", "out of memory");
		return MYSQLB_ROW_STOP;
	}
	for (unsigned c = 0; c < ncols; c++) {
		if (vals[c] == NULL || c >= sh->ncols) {
			row_value(sd, vals[c], vals[c] ? lens[c] : 0);
			continue;
		}
		const struct xlate_col *col = &sh->cols[c];
		struct pgv_error perr = { .sqlstate = "22P02" };
		sh->val.len = 0;
		sh->val.failed = false;
		enum pgv_status ps = pgv_text(&sh->val, (enum pgv_conv)col->conv, col->type_oid,
					      col->typmod, vals[c], lens[c], &sh->pv, &perr);
		if (ps == PGV_NULL) {
			row_value(sd, NULL, 0);
		} else if (ps == PGV_OK && !sh->val.failed) {
			row_value(sd, sh->val.p ? sh->val.p : "", sh->val.len);
		} else {
			/* The client got this error too (the same conversion): the side failed. */
			side_fail(sd, ps == PGV_OOM, perr.sqlstate, perr.message);
			return MYSQLB_ROW_STOP;
		}
	}
	row_end(sd);
	return MYSQLB_ROW_MORE;
}

static void my_done(void *arg, const struct mysqlb_error *err, unsigned warnings)
{
	(void)warnings;
	struct shadow *sh = arg;
	struct side *sd = &sh->my;
	sh->job = NULL;
	sd->done = true;
	if (err != NULL && !sd->failed && !sd->unusable)
		side_fail(sd, err->lost || unreachable_state(err->sqlstate), err->sqlstate, err->message);
	if (sd->kept.failed && !sd->unusable)
		side_fail(sd, true, "53200", "out of memory");
	if (sd->unusable || (sd->failed && sh->cur->served == CUTOVER_MYSQL)) {
		/* Nothing to compare with: the client's own side failed, or MySQL could not be asked. */
		sh->sb.unusable = true;
		conclude(sh);
		return;
	}
	run_supabase(sh);
}

static const struct mysqlb_ops my_ops = {
	.columns = my_columns,
	.row = my_row,
	.done = my_done,
};

/* The MySQL text of the request with the fixed settings; NULL when it cannot be shadowed. */
static char *mysql_text(struct shadow *sh, size_t *len, const char **why)
{
	struct shadow_req *r = sh->cur;
	struct xlate_result xr;
	router_translate(sh->w->router, r->sql, r->len, r->types, r->ntypes, &xr);
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
	sh->total_order = xr.total_order;
	sh->ncols = xr.ncols;
	size_t names = 0;
	for (uint16_t c = 0; c < xr.ncols; c++)
		names += strlen(xr.cols[c].name ? xr.cols[c].name : "?") + 1;
	sh->cols = calloc(xr.ncols ? xr.ncols : 1, sizeof(*sh->cols));
	sh->names = malloc(names ? names : 1);
	char **lits = calloc(xr.nparams ? xr.nparams : 1, sizeof(*lits));
	size_t *llens = calloc(xr.nparams ? xr.nparams : 1, sizeof(*llens));
	char *sql = NULL;
	*why = "out of memory";
	if (sh->cols == NULL || sh->names == NULL || lits == NULL || llens == NULL)
		goto out;
	size_t at = 0;
	for (uint16_t c = 0; c < xr.ncols; c++) {
		const char *n = xr.cols[c].name ? xr.cols[c].name : "?";
		sh->cols[c] = xr.cols[c];
		memcpy(sh->names + at, n, strlen(n) + 1);
		sh->cols[c].name = sh->names + at;
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
						       (size_t)r->plens[i], &sh->pv, &perr);
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
	sql = legacy_fill_sql(&xr, lits, llens, &sh->pv, len);
out:
	for (uint16_t i = 0; lits != NULL && i < xr.nparams; i++)
		free(lits[i]);
	free(lits);
	free(llens);
	return sql;
}

static void start_next(struct shadow *sh)
{
	if (sh->cur != NULL || sh->head == NULL)
		return;
	sh->cur = sh->head;
	sh->head = sh->cur->next;
	if (sh->head == NULL)
		sh->tail = NULL;
	sh->queued--;
	const char *why = NULL;
	size_t len = 0;
	char *sql = sh->w->mysql ? mysql_text(sh, &len, &why) : NULL;
	if (sql == NULL) {
		side_fail(&sh->my, true, "0A000", why ? why : "no MySQL backend");
		sh->sb.unusable = true;
		conclude(sh);
		return;
	}
	/* The job keeps a copy of the text. */
	sh->job = mysqlb_query(sh->w->mysql, NULL, sql, len, SHADOW_TIMEOUT_MS, &my_ops, sh);
	free(sql);
	if (sh->job == NULL) {
		side_fail(&sh->my, true, "53200", "out of memory");
		sh->sb.unusable = true;
		conclude(sh);
	}
}

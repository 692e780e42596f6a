/*
 * legacy — legacy reads answered from MySQL (see legacy.h).
 *
 * A stream is one MySQL result on its way to the client: the job, the
 * columns, the formats and the row count. A simple Query's work owns its
 * stream; a portal owns its stream across Executes, so a row limit pauses
 * the job and the next Execute resumes it. A work is what one queue entry
 * owes: the stream it answers from and what ends it (CommandComplete,
 * PortalSuspended or an error).
 */
#include "proxy/legacy.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/conn.h"
#include "proxy/log.h"
#include "proxy/mysql.h"
#include "proxy/relay.h"
#include "proxy/server.h"
#include "proxy/session.h"
#include "proxy/worker.h"
#include "protocol/pgmsg.h"
#include <event2/event.h>
#include "router/catalog.h"
#include "router/pgvalue.h"
#include "router/translate.h"
#include "router/tz.h"

/* Output above HIGH pauses the MySQL result until it drains below LOW (as relay.c). */
#define LEGACY_HIGH_WATER (512u * 1024)
#define LEGACY_LOW_WATER (128u * 1024)

/* ---- time zones, shared by every worker ---- */

struct zone {
	char name[64];
	struct tz_zone *tz; /* NULL: unknown here (served as UTC, logged once) */
	struct zone *next;
};

static pthread_mutex_t zones_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zone *zones;

static struct tz_zone *load_zone(const char *name)
{
	struct tz_zone *z = tz_fixed(name);
	if (z != NULL)
		return z;
	char rel[128], path[192];
	if (!tz_file_name(name, rel, sizeof(rel)))
		return NULL;
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", rel);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	uint8_t buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return tz_from_tzif(name, buf, n);
}

/* The zone named <name>, loaded once per process; NULL means UTC. */
static const struct tz_zone *zone_get(int wid, const char *name)
{
	const struct tz_zone *found = NULL;
	bool known = false;

	pthread_mutex_lock(&zones_lock);
	for (struct zone *z = zones; z != NULL; z = z->next) {
		if (strcmp(z->name, name) == 0) {
			found = z->tz;
			known = true;
			break;
		}
	}
	if (!known && strlen(name) < sizeof(zones->name)) {
		struct zone *z = calloc(1, sizeof(*z));
		if (z != NULL) {
			snprintf(z->name, sizeof(z->name), "%s", name);
			z->tz = load_zone(name);
			z->next = zones;
			zones = z;
			found = z->tz;
			if (z->tz == NULL && strcasecmp(name, "UTC") != 0)
				log_warn(wid, -1, "time zone not found: legacy values shown in UTC",
					 "zone=\"%s\"", z->name);
		}
	}
	pthread_mutex_unlock(&zones_lock);
	return found;
}

/* ---- per-session state ---- */

struct legacy_stmt {
	char *name;
	uint64_t *blob;          /* packed translation (8-byte aligned) */
	struct xlate_result xr;  /* points into blob */
	struct legacy_stmt *next;
};

struct stream;

struct legacy_portal {
	char *name;
	char *sql;
	size_t len;
	struct xlate_col *cols; /* copies, names in <names> */
	char *names;
	int16_t *formats;       /* one per column */
	uint16_t ncols;
	struct stream *stream;  /* the open result after an Execute with a row limit */
	bool done;              /* the result ended: later Executes answer "SELECT 0" */
	struct legacy_portal *next;
};

struct legacy_state {
	struct legacy_stmt *stmts;
	struct legacy_portal *portals;
	struct mysqlb_conn *pin;   /* the transaction block's snapshot connection */
	struct stream *running;    /* the stream whose job runs now */
	struct pgv_buf val;        /* one converted value */
	/*
	 * A work that ended tells relay.c from here, a callback of its own:
	 * the end comes from inside a MySQL callback (or the call that
	 * started the work), where the queue must not move yet.
	 */
	struct event *done_ev;
	struct event *resume_ev;   /* legacy_defer_resume */
	bool closing;              /* the session is closing: nothing more is written */
};

/* One MySQL result on its way to the client. */
struct stream {
	struct session *s;
	struct mysqlb_job *job;     /* NULL before start and after done */
	struct legacy_work *work;   /* the entry being answered now, NULL while suspended */
	struct legacy_portal *portal; /* owner, or NULL (owned by its work) */
	char *sql;                  /* owned when owned by a work */
	size_t len;
	const struct xlate_col *cols;
	const int16_t *formats;     /* NULL: all text */
	uint16_t ncols;
	bool describe;              /* RowDescription before the rows (simple Query) */
	bool described;
	bool ended;                 /* done() ran */
	bool paused_for_client;     /* waiting for the client's output to drain */
	bool suspended;             /* paused at a row limit */
	struct pgv_session pv;
	uint64_t rows;              /* rows sent for the current work */
	struct legacy_portal *portal_owned_copy; /* unused */
};

struct legacy_work {
	struct session *s;
	struct stream *stream;      /* NULL: a fixed answer (msg) */
	bool owns_stream;
	int32_t max_rows;
	bool failed;
	bool finished;
	uint8_t *msg;               /* fixed answer (errors known before any job) */
	size_t msg_len;
	/* A simple Query's columns and text, owned. */
	struct xlate_col *cols;
	char *names;
	char *sql;
	size_t len;
};

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	if (s->legacy != NULL && !s->legacy->closing)
		relay_local_done(s);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	if (s->legacy != NULL && !s->legacy->closing)
		relay_resume_client(s);
}

static struct legacy_state *state_of(struct session *s)
{
	if (s->legacy != NULL)
		return s->legacy;
	struct legacy_state *ls = calloc(1, sizeof(*ls));
	if (ls == NULL)
		return NULL;
	ls->done_ev = event_new(s->w->base, -1, 0, on_done, s);
	ls->resume_ev = event_new(s->w->base, -1, 0, on_resume, s);
	if (ls->done_ev == NULL || ls->resume_ev == NULL) {
		if (ls->done_ev)
			event_free(ls->done_ev);
		free(ls);
		return NULL;
	}
	s->legacy = ls;
	return ls;
}

/* ---- session settings ---- */

static const char *server_param(const struct session *s, const char *name)
{
	const struct server *srv = s->server;
	if (srv == NULL)
		return NULL;
	for (size_t i = 0; i < srv->nreported; i++) {
		if (strcasecmp(srv->reported[i].name, name) == 0)
			return srv->reported[i].value;
	}
	return NULL;
}

static const char *startup_param(const struct session *s, const char *name)
{
	for (uint32_t i = 0; i < s->nparams; i++) {
		if (strcasecmp(s->param_names[i], name) == 0)
			return s->param_values[i];
	}
	return NULL;
}

/*
 * The settings values are formatted with: what Supabase last reported
 * (TimeZone, DateStyle and IntervalStyle are reported on every change, also
 * after a SET), and the startup packet for the two it does not report.
 */
static void settings_of(struct session *s, struct pgv_session *pv)
{
	pgv_session_init(pv);
	static const char *const reported[] = { "DateStyle", "IntervalStyle" };
	for (size_t i = 0; i < 2; i++) {
		const char *v = server_param(s, reported[i]);
		if (v != NULL && !pgv_session_set(pv, reported[i], v))
			log_debug(s->w->id, s->id, "setting not understood", "name=%s", reported[i]);
	}
	static const char *const startup[] = { "extra_float_digits", "bytea_output" };
	for (size_t i = 0; i < 2; i++) {
		const char *v = startup_param(s, startup[i]);
		if (v != NULL && !pgv_session_set(pv, startup[i], v))
			log_debug(s->w->id, s->id, "setting not understood", "name=%s", startup[i]);
	}
	const char *tz = server_param(s, "TimeZone");
	if (tz != NULL)
		pgv_session_set_tz(pv, zone_get(s->w->id, tz), tz);
}

/* ---- SQL with its slots filled ---- */

/* The offset in seconds of the session's zone now. */
static int32_t offset_now(const struct pgv_session *pv)
{
	if (pv->tz == NULL)
		return 0;
	return tz_offset_at(pv->tz, (int64_t)time(NULL), NULL, NULL);
}

/*
 * xr's SQL with every slot filled: parameters from lits[] (literals already
 * made), the zone offset from <pv>. Owned by the caller; NULL on OOM.
 */
static char *fill_slots(const struct xlate_result *xr, char *const *lits, const size_t *litlen,
			const struct pgv_session *pv, size_t *len)
{
	struct pgv_buf b = { 0 };
	size_t at = 0;
	for (size_t i = 0; i < xr->nslots; i++) {
		const struct xlate_slot *sl = &xr->slots[i];
		pgv_buf_put(&b, xr->sql + at, sl->at - at);
		at = sl->at;
		if (sl->kind == XLATE_S_TZ_OFFSET) {
			char num[16];
			int n = snprintf(num, sizeof(num), "%d", (int)offset_now(pv));
			pgv_buf_put(&b, num, (size_t)n);
		} else if (lits != NULL && sl->param < xr->nparams) {
			pgv_buf_put(&b, lits[sl->param], litlen[sl->param]);
		} else {
			pgv_buf_put(&b, "NULL", 4);
		}
	}
	pgv_buf_put(&b, xr->sql + at, xr->sql_len - at);
	pgv_buf_put(&b, "", 1);
	if (b.failed) {
		pgv_buf_free(&b);
		return NULL;
	}
	*len = b.len - 1;
	return b.p;
}

/* Copies of the columns with their names in one block. */
static bool copy_cols(const struct xlate_col *src, uint16_t n, struct xlate_col **cols,
		      char **names)
{
	size_t bytes = 1;
	for (uint16_t i = 0; i < n; i++)
		bytes += strlen(src[i].name) + 1;
	*cols = calloc(n ? n : 1, sizeof(**cols));
	*names = malloc(bytes);
	if (*cols == NULL || *names == NULL) {
		free(*cols);
		free(*names);
		*cols = NULL;
		*names = NULL;
		return false;
	}
	char *p = *names;
	for (uint16_t i = 0; i < n; i++) {
		size_t l = strlen(src[i].name) + 1;
		memcpy(p, src[i].name, l);
		(*cols)[i] = src[i];
		(*cols)[i].name = p;
		p += l;
	}
	return true;
}

/* ---- answers ---- */

static void write_row_description(struct pgmsg_writer *out, const struct xlate_col *cols,
				  uint16_t n, const int16_t *formats)
{
	pgmsg_begin(out, 'T');
	pgmsg_put_int16(out, (int16_t)n);
	for (uint16_t i = 0; i < n; i++) {
		pgmsg_put_string(out, cols[i].name);
		pgmsg_put_int32(out, 0); /* table oid: not a Postgres table */
		pgmsg_put_int16(out, 0);
		pgmsg_put_int32(out, (int32_t)cols[i].type_oid);
		pgmsg_put_int16(out, catalog_type_len(cols[i].type_oid));
		pgmsg_put_int32(out, cols[i].typmod);
		pgmsg_put_int16(out, formats ? formats[i] : 0);
	}
	pgmsg_end(out);
}

static bool send_built(struct session *s)
{
	return session_send_built(s);
}

static void write_error(struct pgmsg_writer *out, const char *sqlstate, const char *message,
			const char *detail)
{
	pgmsg_write_error(out, false, sqlstate, message, detail && detail[0] ? detail : NULL, NULL);
}

/* ---- streams ---- */

static void stream_done(void *arg, const struct mysqlb_error *err, unsigned warnings);

/* Finishes the stream's current work: its last message, then the queue moves on. */
static void work_finish(struct legacy_work *lw, bool failed)
{
	struct session *s = lw->s;
	lw->finished = true;
	lw->failed = failed;
	if (lw->stream != NULL)
		lw->stream->work = NULL;
	event_active(s->legacy->done_ev, 0, 0);
}

static bool stream_columns(void *arg, unsigned ncols)
{
	struct stream *st = arg;
	struct session *s = st->s;
	if (ncols != st->ncols) {
		log_error(s->w->id, s->id, "MySQL result has another shape than translated",
			  "expected=%u got=%u", st->ncols, ncols);
		return false;
	}
	if (st->describe && !st->described) {
		st->described = true;
		write_row_description(worker_writer(s->w), st->cols, st->ncols, st->formats);
		return send_built(s);
	}
	return true;
}

static enum mysqlb_row_verdict stream_row(void *arg, char **vals, unsigned long *lens,
					  unsigned ncols)
{
	struct stream *st = arg;
	struct session *s = st->s;
	struct legacy_state *ls = s->legacy;
	struct pgmsg_writer *out = worker_writer(s->w);
	struct pgv_error perr;

	pgmsg_begin(out, 'D');
	pgmsg_put_int16(out, (int16_t)ncols);
	for (unsigned i = 0; i < ncols && i < st->ncols; i++) {
		if (vals[i] == NULL) {
			pgmsg_put_int32(out, -1);
			continue;
		}
		const struct xlate_col *c = &st->cols[i];
		bool binary = st->formats != NULL && st->formats[i] == 1;
		ls->val.len = 0;
		enum pgv_status ps =
			binary ? pgv_binary(&ls->val, (enum pgv_conv)c->conv, c->type_oid, c->typmod,
					    vals[i], lens[i], &st->pv, &perr)
			       : pgv_text(&ls->val, (enum pgv_conv)c->conv, c->type_oid, c->typmod,
					  vals[i], lens[i], &st->pv, &perr);
		if (ps == PGV_NULL) {
			pgmsg_put_int32(out, -1);
		} else if (ps == PGV_OK) {
			pgmsg_put_int32(out, (int32_t)ls->val.len);
			pgmsg_put_bytes(out, ls->val.p, ls->val.len);
		} else {
			if (ps == PGV_OOM)
				return MYSQLB_ROW_STOP;
			/* A value its column type cannot hold: the statement fails here. */
			pgmsg_writer_reset(out);
			char msg[300];
			snprintf(msg, sizeof(msg), "column \"%s\": %s", c->name, perr.message);
			write_error(out, perr.sqlstate[0] ? perr.sqlstate : "XX000", msg, NULL);
			if (st->work != NULL) {
				st->work->failed = true;
				if (!send_built(s))
					return MYSQLB_ROW_STOP;
			}
			return MYSQLB_ROW_STOP;
		}
	}
	pgmsg_end(out);
	if (!send_built(s))
		return MYSQLB_ROW_STOP;
	st->rows++;
	if (st->work != NULL && st->work->max_rows > 0 && st->rows >= (uint64_t)st->work->max_rows) {
		/* The row limit: PortalSuspended, the result stays open for the next Execute. */
		st->suspended = true;
		static const uint8_t suspended[] = { 's', 0, 0, 0, 4 };
		if (!conn_write(s->conn, suspended, sizeof(suspended)))
			return MYSQLB_ROW_STOP;
		struct legacy_work *lw = st->work;
		st->rows = 0;
		ls->running = NULL;
		work_finish(lw, false);
		return MYSQLB_ROW_PAUSE;
	}
	if (conn_out_pending(s->conn) > LEGACY_HIGH_WATER) {
		st->paused_for_client = true;
		conn_notify_drain(s->conn, LEGACY_LOW_WATER);
		return MYSQLB_ROW_PAUSE;
	}
	return MYSQLB_ROW_MORE;
}

static const struct mysqlb_ops stream_ops = {
	.columns = stream_columns,
	.row = stream_row,
	.done = stream_done,
};

static void stream_free(struct stream *st)
{
	if (st == NULL)
		return;
	if (st->job != NULL)
		mysqlb_job_abandon(st->job);
	if (st->s->legacy != NULL && st->s->legacy->running == st)
		st->s->legacy->running = NULL;
	free(st);
}

static void stream_done(void *arg, const struct mysqlb_error *err, unsigned warnings)
{
	struct stream *st = arg;
	struct session *s = st->s;
	struct pgmsg_writer *out = worker_writer(s->w);
	struct legacy_work *lw = st->work;

	(void)warnings;
	st->job = NULL;
	st->ended = true;
	if (s->legacy != NULL && s->legacy->running == st)
		s->legacy->running = NULL;
	if (st->portal != NULL)
		st->portal->done = true;
	if (lw == NULL)
		return; /* suspended at a row limit: the next Execute finds it ended */
	bool failed = lw->failed || err != NULL;
	if (err != NULL) {
		write_error(out, err->sqlstate, err->message, err->detail);
	} else if (!lw->failed) {
		if (st->describe && !st->described) {
			write_row_description(out, st->cols, st->ncols, st->formats);
			st->described = true;
			if (!send_built(s))
				return;
			out = worker_writer(s->w);
		}
		char tag[40];
		snprintf(tag, sizeof(tag), "SELECT %llu", (unsigned long long)st->rows);
		pgmsg_begin(out, 'C');
		pgmsg_put_string(out, tag);
		pgmsg_end(out);
	}
	if (out->len > 0 && !send_built(s))
		return;
	work_finish(lw, failed);
}

static struct stream *stream_new(struct session *s)
{
	struct stream *st = calloc(1, sizeof(*st));
	if (st != NULL)
		st->s = s;
	return st;
}

/* ---- works ---- */

struct legacy_work *legacy_work_query(struct session *s, const struct xlate_result *xr)
{
	struct legacy_work *lw = calloc(1, sizeof(*lw));
	struct legacy_state *ls = state_of(s);
	if (lw == NULL || ls == NULL) {
		free(lw);
		return NULL;
	}
	lw->s = s;
	struct pgv_session pv;
	settings_of(s, &pv);
	lw->sql = fill_slots(xr, NULL, NULL, &pv, &lw->len);
	lw->stream = stream_new(s);
	if (lw->sql == NULL || lw->stream == NULL || !copy_cols(xr->cols, xr->ncols, &lw->cols, &lw->names)) {
		legacy_work_free(lw);
		return NULL;
	}
	lw->owns_stream = true;
	lw->stream->work = lw;
	lw->stream->cols = lw->cols;
	lw->stream->ncols = xr->ncols;
	lw->stream->describe = true;
	lw->stream->sql = lw->sql;
	lw->stream->len = lw->len;
	return lw;
}

struct legacy_work *legacy_work_error(struct session *s, const char *sqlstate, const char *message)
{
	struct legacy_work *lw = calloc(1, sizeof(*lw));
	if (lw == NULL)
		return NULL;
	lw->s = s;
	struct pgmsg_writer *out = worker_writer(s->w);
	write_error(out, sqlstate, message, NULL);
	lw->msg = out->failed ? NULL : malloc(out->len);
	if (lw->msg == NULL) {
		free(lw);
		return NULL;
	}
	memcpy(lw->msg, out->buf, out->len);
	lw->msg_len = out->len;
	return lw;
}

bool legacy_work_failed(const struct legacy_work *lw)
{
	return lw->failed;
}

void legacy_work_free(struct legacy_work *lw)
{
	if (lw == NULL)
		return;
	if (lw->stream != NULL) {
		if (lw->owns_stream)
			stream_free(lw->stream);
		else
			lw->stream->work = NULL;
	}
	free(lw->cols);
	free(lw->names);
	free(lw->sql);
	free(lw->msg);
	free(lw);
}

/* How long the session lets a statement run (statement_timeout, from the startup packet). */
static int timeout_of(const struct session *s)
{
	const char *v = startup_param(s, "statement_timeout");
	if (v == NULL)
		return 0;
	char *end;
	long ms = strtol(v, &end, 10);
	if (ms <= 0 || ms > 86400000L)
		return 0;
	if (strncmp(end, "s", 1) == 0 && end[1] == '\0')
		ms *= 1000;
	else if (strcmp(end, "min") == 0)
		ms *= 60000;
	return (int)ms;
}

void legacy_start(struct session *s, struct legacy_work *lw)
{
	struct legacy_state *ls = s->legacy;
	if (lw->msg != NULL) {
		bool ok = conn_write(s->conn, lw->msg, lw->msg_len);
		lw->failed = true;
		if (!ok) {
			session_close(s, "out of memory");
			return;
		}
		work_finish(lw, true);
		return;
	}
	struct stream *st = lw->stream;
	st->rows = 0;
	if (st->job != NULL) {
		/* A suspended portal: the next rows come from where it stopped. */
		st->suspended = false;
		ls->running = st;
		mysqlb_job_resume(st->job);
		return;
	}
	if (st->ended) {
		/* The result ended before: nothing more, as Postgres answers a finished portal. */
		static const uint8_t done[] = { 'C', 0, 0, 0, 13, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '0', 0 };
		if (!conn_write(s->conn, done, sizeof(done))) {
			session_close(s, "out of memory");
			return;
		}
		work_finish(lw, false);
		return;
	}
	settings_of(s, &st->pv);
	bool in_block = s->q.txn != PL_TXN_IDLE;
	st->job = mysqlb_query(s->w->mysql, in_block ? &ls->pin : NULL, st->sql, st->len,
			       timeout_of(s), &stream_ops, st);
	if (st->job == NULL) {
		session_close(s, "out of memory");
		return;
	}
	ls->running = st;
}

void legacy_client_drained(struct session *s)
{
	struct legacy_state *ls = s->legacy;
	if (ls == NULL || ls->running == NULL || !ls->running->paused_for_client ||
	    conn_out_pending(s->conn) > LEGACY_LOW_WATER)
		return;
	ls->running->paused_for_client = false;
	conn_notify_drain(s->conn, SIZE_MAX);
	if (ls->running->job != NULL)
		mysqlb_job_resume(ls->running->job);
}

bool legacy_cancel(struct session *s)
{
	struct legacy_state *ls = s->legacy;
	if (ls == NULL || ls->running == NULL || ls->running->job == NULL)
		return false;
	mysqlb_job_cancel(ls->running->job);
	return true;
}

/* ---- statements ---- */

static struct legacy_stmt **find_stmt(struct legacy_state *ls, const char *name)
{
	struct legacy_stmt **p = &ls->stmts;
	while (*p != NULL && strcmp((*p)->name, name) != 0)
		p = &(*p)->next;
	return p;
}

static struct legacy_portal **find_portal(struct legacy_state *ls, const char *name)
{
	struct legacy_portal **p = &ls->portals;
	while (*p != NULL && strcmp((*p)->name, name) != 0)
		p = &(*p)->next;
	return p;
}

static void stmt_free(struct legacy_stmt *st)
{
	free(st->name);
	free(st->blob);
	free(st);
}

static void portal_free(struct legacy_portal *po)
{
	if (po->stream != NULL) {
		po->stream->portal = NULL;
		if (po->stream->work == NULL)
			stream_free(po->stream);
		else
			po->stream->work->owns_stream = true; /* its entry frees it when done */
	}
	free(po->name);
	free(po->sql);
	free(po->cols);
	free(po->names);
	free(po->formats);
	free(po);
}

bool legacy_has_stmt(const struct session *s, const char *name)
{
	return s->legacy != NULL && *find_stmt(s->legacy, name) != NULL;
}

bool legacy_has_portal(const struct session *s, const char *name)
{
	return s->legacy != NULL && *find_portal(s->legacy, name) != NULL;
}

void legacy_forget_stmt(struct session *s, const char *name)
{
	if (s->legacy == NULL)
		return;
	struct legacy_stmt **p = find_stmt(s->legacy, name);
	if (*p != NULL) {
		struct legacy_stmt *st = *p;
		*p = st->next;
		stmt_free(st);
	}
}

void legacy_forget_portal(struct session *s, const char *name)
{
	if (s->legacy == NULL)
		return;
	struct legacy_portal **p = find_portal(s->legacy, name);
	if (*p != NULL) {
		struct legacy_portal *po = *p;
		*p = po->next;
		portal_free(po);
	}
}

bool legacy_parse(struct session *s, const char *name, const struct xlate_result *xr, bool *dup)
{
	*dup = false;
	struct legacy_state *ls = state_of(s);
	if (ls == NULL)
		return false;
	struct legacy_stmt **p = find_stmt(ls, name);
	if (*p != NULL) {
		if (name[0] != '\0') {
			*dup = true;
			return false;
		}
		struct legacy_stmt *old = *p;
		*p = old->next;
		stmt_free(old);
	}
	struct legacy_stmt *st = calloc(1, sizeof(*st));
	size_t n = xlate_packed_size(xr);
	if (st == NULL || (st->name = strdup(name)) == NULL ||
	    (st->blob = malloc((n + 7) / 8 * 8)) == NULL) {
		if (st)
			stmt_free(st);
		return false;
	}
	xlate_pack(xr, (unsigned char *)st->blob);
	xlate_unpack((const unsigned char *)st->blob, &st->xr);
	st->next = ls->stmts;
	ls->stmts = st;
	return true;
}

/* ---- Bind ---- */

static void bind_error(struct pgmsg_writer *err, const char *sqlstate, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void bind_error(struct pgmsg_writer *err, const char *sqlstate, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pgmsg_writer_reset(err);
	write_error(err, sqlstate, msg, NULL);
}

/* The literals of a Bind's parameters, one allocation each. */
struct bind_values {
	char **lits;
	size_t *lens;
	uint16_t n;
};

static void values_free(struct bind_values *bv)
{
	for (uint16_t i = 0; i < bv->n; i++)
		free(bv->lits[i]);
	free(bv->lits);
	free(bv->lens);
}

bool legacy_bind(struct session *s, const uint8_t *body, size_t len, struct pgmsg_writer *err,
		 bool *oom)
{
	struct pgmsg_reader r;
	struct legacy_state *ls = s->legacy;
	*oom = false;
	pgmsg_reader_init(&r, body, len);
	const char *portal = pgmsg_get_string(&r);
	const char *name = pgmsg_get_string(&r);
	struct legacy_stmt *st = ls ? *find_stmt(ls, name) : NULL;
	if (st == NULL) {
		bind_error(err, "26000", "prepared statement \"%s\" does not exist", name);
		return false;
	}
	const struct xlate_result *xr = &st->xr;
	int16_t nfmt = pgmsg_get_int16(&r);
	if (nfmt < 0 || (size_t)nfmt * 2 > pgmsg_reader_left(&r)) {
		bind_error(err, "08P01", "invalid Bind message");
		return false;
	}
	const uint8_t *fmts = pgmsg_get_bytes(&r, (size_t)nfmt * 2);
	int16_t nvals = pgmsg_get_int16(&r);
	if (r.bad || nvals < 0) {
		bind_error(err, "08P01", "invalid Bind message");
		return false;
	}
	if (nvals != (int16_t)xr->nparams) {
		bind_error(err, "08P01",
			   "bind message supplies %d parameters, but prepared statement \"%s\" "
			   "requires %u",
			   nvals, name, (unsigned)xr->nparams);
		return false;
	}
	if (nfmt > 1 && nfmt != nvals) {
		bind_error(err, "08P01", "bind message has %d parameter formats but %d parameters",
			   nfmt, nvals);
		return false;
	}
	struct bind_values bv = { 0 };
	struct pgv_session pv;
	settings_of(s, &pv);
	bv.lits = calloc(nvals ? (size_t)nvals : 1, sizeof(*bv.lits));
	bv.lens = calloc(nvals ? (size_t)nvals : 1, sizeof(*bv.lens));
	if (bv.lits == NULL || bv.lens == NULL) {
		values_free(&bv);
		*oom = true;
		return false;
	}
	bv.n = (uint16_t)nvals;
	for (int16_t i = 0; i < nvals; i++) {
		int32_t vlen = pgmsg_get_int32(&r);
		const char *v = NULL;
		if (vlen >= 0) {
			v = (const char *)pgmsg_get_bytes(&r, (size_t)vlen);
			if (v == NULL) {
				values_free(&bv);
				bind_error(err, "08P01", "invalid Bind message");
				return false;
			}
		}
		int f = nfmt == 0 ? 0 : nfmt == 1 ? (fmts[0] << 8 | fmts[1]) : (fmts[2 * i] << 8 | fmts[2 * i + 1]);
		struct pgv_buf b = { 0 };
		struct pgv_error perr = { .sqlstate = "22P02" };
		enum pgv_status ps = pgv_param_literal(&b, xr->param_types[i], f, v,
						       vlen < 0 ? 0 : (size_t)vlen, &pv, &perr);
		if (ps == PGV_OOM || (ps == PGV_OK && b.failed)) {
			pgv_buf_free(&b);
			values_free(&bv);
			*oom = true;
			return false;
		}
		if (ps != PGV_OK) {
			pgv_buf_free(&b);
			values_free(&bv);
			bind_error(err, perr.sqlstate, "%s", perr.message);
			return false;
		}
		bv.lits[i] = b.p ? b.p : strdup("");
		bv.lens[i] = b.len;
		if (bv.lits[i] == NULL) {
			values_free(&bv);
			*oom = true;
			return false;
		}
	}
	int16_t nres = pgmsg_get_int16(&r);
	if (nres < 0 || (size_t)nres * 2 > pgmsg_reader_left(&r)) {
		values_free(&bv);
		bind_error(err, "08P01", "invalid Bind message");
		return false;
	}
	const uint8_t *rfmts = pgmsg_get_bytes(&r, (size_t)nres * 2);
	if (!pgmsg_reader_ok(&r) || (nres > 1 && nres != (int16_t)xr->ncols)) {
		values_free(&bv);
		bind_error(err, "08P01", "bind message has %d result formats but query has %u columns",
			   nres, (unsigned)xr->ncols);
		return false;
	}
	struct legacy_portal *po = calloc(1, sizeof(*po));
	if (po == NULL || (po->name = strdup(portal)) == NULL ||
	    !copy_cols(xr->cols, xr->ncols, &po->cols, &po->names) ||
	    (po->formats = calloc(xr->ncols ? xr->ncols : 1, sizeof(int16_t))) == NULL ||
	    (po->sql = fill_slots(xr, bv.lits, bv.lens, &pv, &po->len)) == NULL) {
		if (po)
			portal_free(po);
		values_free(&bv);
		*oom = true;
		return false;
	}
	values_free(&bv);
	po->ncols = xr->ncols;
	for (uint16_t i = 0; i < xr->ncols; i++) {
		const uint8_t *f = nres == 0 ? NULL : nres == 1 ? rfmts : rfmts + 2 * i;
		po->formats[i] = f ? (int16_t)(f[0] << 8 | f[1]) : 0;
	}
	legacy_forget_portal(s, portal); /* a portal of the same name is replaced */
	po->next = ls->portals;
	ls->portals = po;
	return true;
}

/* ---- Describe, Execute, Close ---- */

void legacy_describe(struct session *s, char kind, const char *name, struct pgmsg_writer *out)
{
	struct legacy_state *ls = s->legacy;
	if (kind == 'S') {
		struct legacy_stmt *st = *find_stmt(ls, name);
		pgmsg_begin(out, 't');
		pgmsg_put_int16(out, (int16_t)st->xr.nparams);
		for (uint16_t i = 0; i < st->xr.nparams; i++)
			pgmsg_put_int32(out, (int32_t)st->xr.param_types[i]);
		pgmsg_end(out);
		write_row_description(out, st->xr.cols, st->xr.ncols, NULL);
		return;
	}
	struct legacy_portal *po = *find_portal(ls, name);
	write_row_description(out, po->cols, po->ncols, po->formats);
}

struct legacy_work *legacy_work_execute(struct session *s, const char *portal, int32_t max_rows)
{
	struct legacy_state *ls = s->legacy;
	struct legacy_portal *po = *find_portal(ls, portal);
	struct legacy_work *lw = calloc(1, sizeof(*lw));
	if (lw == NULL)
		return NULL;
	lw->s = s;
	lw->max_rows = max_rows;
	if (po->stream == NULL) {
		po->stream = stream_new(s);
		if (po->stream == NULL) {
			free(lw);
			return NULL;
		}
		po->stream->portal = po;
		po->stream->cols = po->cols;
		po->stream->ncols = po->ncols;
		po->stream->formats = po->formats;
		po->stream->sql = po->sql;
		po->stream->len = po->len;
	}
	lw->stream = po->stream;
	lw->stream->work = lw;
	return lw;
}

void legacy_close(struct session *s, char kind, const char *name)
{
	if (kind == 'S')
		legacy_forget_stmt(s, name);
	else
		legacy_forget_portal(s, name);
}

static void drop_portals(struct legacy_state *ls)
{
	while (ls->portals != NULL) {
		struct legacy_portal *po = ls->portals;
		ls->portals = po->next;
		portal_free(po);
	}
}

void legacy_sync(struct session *s, bool in_block)
{
	if (s->legacy != NULL && !in_block)
		drop_portals(s->legacy);
}

void legacy_txn_ended(struct session *s)
{
	struct legacy_state *ls = s->legacy;
	if (ls == NULL)
		return;
	drop_portals(ls);
	if (ls->pin != NULL)
		mysqlb_unpin(&ls->pin);
}

void legacy_session_free(struct session *s)
{
	struct legacy_state *ls = s->legacy;
	if (ls == NULL)
		return;
	drop_portals(ls);
	while (ls->stmts != NULL) {
		struct legacy_stmt *st = ls->stmts;
		ls->stmts = st->next;
		stmt_free(st);
	}
	if (ls->pin != NULL)
		mysqlb_unpin(&ls->pin);
	pgv_buf_free(&ls->val);
	event_free(ls->done_ev);
	event_free(ls->resume_ev);
	free(ls);
	s->legacy = NULL;
}

void legacy_defer_resume(struct session *s)
{
	struct legacy_state *ls = state_of(s);
	if (ls == NULL) {
		session_close(s, "out of memory");
		return;
	}
	event_active(ls->resume_ev, 0, 0);
}

void legacy_session_closing(struct session *s)
{
	struct legacy_state *ls = s->legacy;
	if (ls == NULL)
		return;
	ls->closing = true;
	event_del(ls->done_ev);
	event_del(ls->resume_ev);
	if (ls->running != NULL && ls->running->job != NULL) {
		mysqlb_job_abandon(ls->running->job);
		ls->running->job = NULL;
	}
	ls->running = NULL;
	for (struct legacy_portal *po = ls->portals; po != NULL; po = po->next) {
		if (po->stream != NULL && po->stream->job != NULL) {
			mysqlb_job_abandon(po->stream->job);
			po->stream->job = NULL;
		}
	}
	if (ls->pin != NULL)
		mysqlb_unpin(&ls->pin);
}

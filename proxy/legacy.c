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
#include "proxy/metrics.h"
#include "proxy/mysql.h"
#include "proxy/relay.h"
#include "proxy/server.h"
#include "proxy/session.h"
#include "proxy/worker.h"
#include "protocol/pgmsg.h"
#include <event2/event.h>
#include "router/catalog.h"
#include "router/pgvalue.h"
#include "router/router.h"
#include "router/translate.h"
#include "router/tz.h"

/* Output above HIGH pauses the MySQL result until it drains below LOW (as relay.c). */
#define LEGACY_HIGH_WATER (512u * 1024)
#define LEGACY_LOW_WATER (128u * 1024)
/* Rows of a corked answer are written out once this much is waiting. */
#define LEGACY_FLUSH_AT (32u * 1024)
/* DataRows are batched (legacy_state.rows) up to this much before they go to the connection. */
#define LEGACY_ROWS_BATCH (8u * 1024)

/* ---- time zones, shared by every worker ---- */

struct zone {
	char name[64];
	struct tz_zone *tz; /* NULL: unknown here (served as UTC, logged once) */
	struct zone *next;
};

static pthread_mutex_t zones_lock = PTHREAD_MUTEX_INITIALIZER;
static struct zone *zones;

/* As Postgres: a zone file of that name first (UTC, EST5EDT have one), then a fixed zone. */
static struct tz_zone *load_zone(const char *name)
{
	char rel[128], path[192];
	if (tz_file_name(name, rel, sizeof(rel))) {
		snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", rel);
		FILE *f = fopen(path, "rb");
		if (f != NULL) {
			static uint8_t buf[1 << 17]; /* under zones_lock */
			size_t n = fread(buf, 1, sizeof(buf), f);
			fclose(f);
			struct tz_zone *z = tz_from_tzif(name, buf, n);
			if (z != NULL)
				return z;
		}
	}
	return tz_fixed(name);
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

/* What a legacy statement (and the portals bound from it) does when executed. */
enum lstmt_kind {
	LS_READ = 0, /* a translated SELECT (or COPY TO in a simple Query) */
	LS_DECLARE,  /* DECLARE c CURSOR FOR a translated SELECT: creates cursor c */
	LS_FETCH,    /* FETCH n FROM a legacy cursor */
	LS_MOVE,     /* MOVE n IN a legacy cursor */
	LS_CLOSE,    /* CLOSE a legacy cursor */
};

struct legacy_stmt {
	char *name;
	enum lstmt_kind kind;
	uint64_t *blob;          /* READ/DECLARE: packed translation (8-byte aligned) */
	struct xlate_result xr;  /* points into blob */
	char cursor[64];         /* FETCH/MOVE/CLOSE: the cursor */
	int64_t count;           /* FETCH/MOVE: rows */
	struct legacy_stmt *next;
};

struct stream;

struct legacy_portal {
	char *name;
	enum lstmt_kind kind;   /* LS_READ for a cursor made by DECLARE */
	bool cursor;            /* made by DECLARE: FETCH/MOVE/CLOSE reach it */
	char target[64];        /* FETCH/MOVE/CLOSE portals: the cursor they work on */
	int64_t count;
	char *sql;
	size_t len;
	struct xlate_col *cols; /* copies, names in <names> */
	char *names;
	int16_t *formats;       /* one per column */
	uint16_t ncols;
	struct stream *stream;  /* its result: open between Executes (or FETCHes) with a limit */
	uint32_t gen;           /* session.seg_no when it was made: ends with the transaction
				   of that Query or Sync */
	struct legacy_portal *next;
};

struct legacy_state {
	struct legacy_stmt *stmts;
	struct legacy_portal *portals;
	struct mysqlb_conn *pin;   /* the transaction block's snapshot connection */
	struct stream *running;    /* the stream whose job runs now */
	struct pgv_buf val;        /* one converted value */
	/*
	 * DataRows not yet handed to the connection: written out before
	 * anything else is (send_built), at LEGACY_ROWS_BATCH, when the
	 * MySQL job waits for its socket and when a work ends, so it is
	 * empty whenever control goes back to the event loop.
	 */
	struct pgmsg_writer rows;
	/*
	 * A work that ended tells relay.c from here, a callback of its own:
	 * the end comes from inside a MySQL callback (or the call that
	 * started the work), where the queue must not move yet.
	 */
	struct event *done_ev;
	struct event *resume_ev;   /* legacy_defer_resume */
	/* Settings the session SET itself ("" = as at startup). */
	char extra_float_digits[16];
	char bytea_output[16];
	char statement_timeout[32];
	/*
	 * settings_of's last answer, kept while nothing it reads changed: the
	 * session's own SETs (legacy_note_set clears pv_valid) and what the
	 * upstream reported (server.params_gen); startup values never change.
	 */
	struct pgv_session pv;
	uint64_t pv_gen;
	bool pv_valid;
	bool closing;              /* the session is closing: nothing more is written */
};

/* One MySQL result on its way to the client. */
struct stream {
	struct session *s;
	struct mysqlb_job *job;     /* NULL before start and after done */
	struct legacy_work *work;   /* the entry being answered now, NULL while suspended */
	struct legacy_portal *portal; /* owner, or NULL (owned by its work) */
	const char *sql;            /* the owner's */
	size_t len;
	const struct xlate_col *cols;
	const int16_t *formats;     /* this work's result formats; NULL: all text */
	uint16_t ncols;
	bool ended;                 /* done() ran */
	bool paused_for_client;     /* waiting for the client's output to drain */
	struct pgv_session pv;
	uint64_t rows;              /* rows of the current work */
	/*
	 * Another read of the transaction needs the snapshot's connection this
	 * stream's open result holds (MySQL reads one result at a time per
	 * connection): the rest of the result is read into memory, then the
	 * other read runs. Rows are kept as MySQL sent them: per column an int32
	 * length (-1 NULL) and the bytes.
	 */
	bool materializing;
	struct legacy_work *after;  /* the read that waits for the connection */
	struct pgv_buf mem;
	size_t mem_at;              /* the next row to serve */
	bool in_memory;             /* the result ended: what is left is in <mem> */
};

/* A suspended result read into memory may take at most this much. */
#define LEGACY_MATERIALIZE_MAX (64u << 20)

/* What a work does when its entry reaches the head. */
enum work_kind {
	W_ERROR = 0, /* writes its prebuilt ErrorResponse */
	W_READ,      /* a simple Query's read (or COPY TO): its own stream */
	W_PORTAL,    /* Execute of a bound legacy portal */
	W_CURSOR,    /* FETCH/MOVE on a legacy cursor, found by name when it starts */
	W_DECLARE,   /* makes a cursor */
	W_CLOSE,     /* drops a cursor ("" = all) */
	W_TAG,       /* answers CommandComplete <tag> (PREPARE, DEALLOCATE of a legacy read) */
};

struct legacy_work {
	struct session *s;
	enum work_kind kind;
	struct stream *stream;      /* W_READ: owned; W_PORTAL/W_CURSOR: the portal's */
	bool owns_stream;
	int64_t max_rows;           /* 0: all */
	bool fetch;                 /* FETCH/MOVE: the limit ends with CommandComplete */
	bool describe;              /* RowDescription first (simple Query reads and FETCH) */
	bool no_rows;               /* MOVE */
	const char *tag;            /* "SELECT", "FETCH", "MOVE", "COPY" */
	const int16_t *formats;     /* result formats; NULL: text */
	bool is_copy;
	struct xlate_copy copy;
	char *copy_null;            /* copy.null_string, owned */
	char name[64];              /* W_CURSOR/W_CLOSE: the cursor */
	uint32_t gen;               /* session.seg_no when it was queued */
	struct legacy_portal *declare; /* W_DECLARE: the cursor to add (owned until added) */
	bool failed;
	bool finished;
	uint8_t *msg;               /* W_ERROR */
	size_t msg_len;
	/* W_READ: the columns and text, owned. */
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
/*
 * A setting given in the startup packet's "options" ("-c name=value",
 * "--name=value", as libpq's PGOPTIONS), copied into buf[0, n); NULL if absent.
 */
static const char *startup_option(const struct session *s, const char *name, char *buf, size_t n)
{
	const char *opts = startup_param(s, "options");
	size_t nlen = strlen(name);
	const char *found = NULL;
	for (const char *p = opts; p != NULL && *p;) {
		while (*p == ' ')
			p++;
		if (strncmp(p, "-c", 2) == 0) {
			p += 2;
			while (*p == ' ')
				p++;
		} else if (strncmp(p, "--", 2) == 0) {
			p += 2;
		} else {
			while (*p && *p != ' ')
				p++;
			continue;
		}
		const char *end = p;
		while (*end && *end != ' ')
			end++;
		if ((size_t)(end - p) > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == '=') {
			size_t vlen = (size_t)(end - p) - nlen - 1;
			snprintf(buf, n, "%.*s", (int)(vlen < n ? vlen : n - 1), p + nlen + 1);
			found = buf;
		}
		p = end;
	}
	return found;
}

/* What the session SET, else its startup packet's value. */
static const char *setting(const struct session *s, const char *name)
{
	const struct legacy_state *ls = s->legacy;
	const char *v = NULL;
	if (ls != NULL && strcmp(name, "extra_float_digits") == 0)
		v = ls->extra_float_digits;
	else if (ls != NULL && strcmp(name, "bytea_output") == 0)
		v = ls->bytea_output;
	else if (ls != NULL && strcmp(name, "statement_timeout") == 0)
		v = ls->statement_timeout;
	if (v != NULL && v[0] != '\0')
		return v;
	if ((v = startup_param(s, name)) != NULL)
		return v;
	/* One per thread: settings_of and timeout_of use the value before the next call. */
	static _Thread_local char opt[64];
	return startup_option(s, name, opt, sizeof(opt));
}

static void settings_read(struct session *s, struct pgv_session *pv)
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
		const char *v = setting(s, startup[i]);
		if (v != NULL && !pgv_session_set(pv, startup[i], v))
			log_debug(s->w->id, s->id, "setting not understood", "name=%s", startup[i]);
	}
	const char *tz = server_param(s, "TimeZone");
	if (tz != NULL)
		pgv_session_set_tz(pv, zone_get(s->w->id, tz), tz);
}

/* The session's value settings; read once and kept until one of them changes. */
static void settings_of(struct session *s, struct pgv_session *pv)
{
	struct legacy_state *ls = s->legacy;
	uint64_t gen = s->server != NULL ? s->server->params_gen : 0;
	if (ls != NULL && ls->pv_valid && ls->pv_gen == gen) {
		*pv = ls->pv;
		return;
	}
	settings_read(s, pv);
	if (ls != NULL) {
		ls->pv = *pv;
		ls->pv_gen = gen;
		ls->pv_valid = true;
	}
}

/* ---- SQL with its slots filled ---- */

/* The offset in seconds of the session's zone now. */
static int32_t offset_now(const struct pgv_session *pv)
{
	if (pv->tz == NULL)
		return 0;
	return tz_offset_at(pv->tz, (int64_t)time(NULL), NULL, NULL);
}

/* A per-row zone offset slot: the session zone's steps as translate.h spells them. */
static void put_tz_steps(struct pgv_buf *b, uint16_t kind, const struct pgv_session *pv)
{
	struct tz_steps st;
	tz_steps(pv->tz, kind == XLATE_S_TZ_LOCAL_STEPS ? TZ_STEPS_LOCAL : TZ_STEPS_UTC, &st);
	size_t n = xlate_tz_steps_text(NULL, 0, st.at, st.off, st.n);
	char *text = malloc(n);
	if (text == NULL) {
		b->failed = true;
		return;
	}
	xlate_tz_steps_text(text, n, st.at, st.off, st.n);
	pgv_buf_put(b, text, n);
	free(text);
}

/*
 * xr's SQL with every slot filled: parameters from lits[] (literals already
 * made), the zone offsets from <pv>. Owned by the caller; NULL on OOM.
 */
char *legacy_fill_sql(const struct xlate_result *xr, char *const *lits, const size_t *litlen,
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
		} else if (sl->kind == XLATE_S_TZ_UTC_STEPS || sl->kind == XLATE_S_TZ_LOCAL_STEPS) {
			put_tz_steps(&b, sl->kind, pv);
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

/* The batched DataRows to the connection; false when the connection refused them. */
static bool flush_rows(struct session *s)
{
	struct legacy_state *ls = s->legacy;
	if (ls == NULL || (ls->rows.len == 0 && !ls->rows.failed))
		return true;
	bool ok = !ls->rows.failed && conn_write(s->conn, ls->rows.buf, ls->rows.len);
	pgmsg_writer_reset(&ls->rows);
	return ok;
}

static bool send_built(struct session *s)
{
	return flush_rows(s) && session_send_built(s);
}

static void write_error(struct pgmsg_writer *out, const char *sqlstate, const char *message,
			const char *detail)
{
	pgmsg_write_error(out, false, sqlstate, message, detail && detail[0] ? detail : NULL, NULL);
}

/* ---- streams ---- */

static void stream_done(void *arg, const struct mysqlb_error *err, unsigned warnings);

/* The work's entry is answered: the queue moves on (from a callback of its own). */
static void work_finish(struct legacy_work *lw, bool failed)
{
	struct session *s = lw->s;
	(void)flush_rows(s); /* a refusal closes the session: the error shows there */
	lw->finished = true;
	lw->failed |= failed;
	if (lw->stream != NULL && lw->stream->work == lw)
		lw->stream->work = NULL;
	event_active(s->legacy->done_ev, 0, 0);
}

static bool stream_columns(void *arg, unsigned ncols)
{
	struct stream *st = arg;
	if (ncols == st->ncols)
		return true;
	log_error(st->s->w->id, st->s->id, "MySQL result has another shape than translated",
		  "expected=%u got=%u", st->ncols, ncols);
	return false;
}

/* COPY's text format escapes (copy.c CopyAttributeOutText), or CSV quoting. */
static void copy_value(struct pgmsg_writer *out, const struct xlate_copy *c, const char *v,
		       size_t n)
{
	if (!c->csv) {
		for (size_t i = 0; i < n; i++) {
			char ch = v[i], e = 0;
			switch (ch) {
			case '\\': e = '\\'; break;
			case '\b': e = 'b'; break;
			case '\f': e = 'f'; break;
			case '\n': e = 'n'; break;
			case '\r': e = 'r'; break;
			case '\t': e = 't'; break;
			case '\v': e = 'v'; break;
			default: e = ch == c->delimiter ? ch : 0; break;
			}
			if (e) {
				pgmsg_put_byte(out, '\\');
				pgmsg_put_byte(out, (uint8_t)e);
			} else {
				pgmsg_put_byte(out, (uint8_t)ch);
			}
		}
		return;
	}
	/* As CopyAttributeOutCSV: quoted when it holds the delimiter, the quote, CR or LF, or
	 * reads as the NULL string (an empty string, by default) — and only then. */
	const char *null = c->null_string ? c->null_string : "";
	bool quote = strlen(null) == n && memcmp(null, v, n) == 0;
	for (size_t i = 0; i < n && !quote; i++)
		quote = v[i] == c->delimiter || v[i] == c->quote || v[i] == '\n' || v[i] == '\r';
	if (!quote) {
		pgmsg_put_bytes(out, v, n);
		return;
	}
	pgmsg_put_byte(out, (uint8_t)c->quote);
	for (size_t i = 0; i < n; i++) {
		if (v[i] == c->quote || v[i] == c->escape)
			pgmsg_put_byte(out, (uint8_t)c->escape);
		pgmsg_put_byte(out, (uint8_t)v[i]);
	}
	pgmsg_put_byte(out, (uint8_t)c->quote);
}

static void copy_null(struct pgmsg_writer *out, const struct xlate_copy *c)
{
	const char *null = c->null_string ? c->null_string : (c->csv ? "" : "\\N");
	pgmsg_put_bytes(out, null, strlen(null));
}

/* Converts value i of a MySQL row; PGV_NULL, PGV_OK (in ls->val) or an error. */
static enum pgv_status convert(struct stream *st, unsigned i, const char *v, unsigned long len,
			       bool binary, struct pgv_error *perr)
{
	const struct xlate_col *c = &st->cols[i];
	struct pgv_buf *b = &st->s->legacy->val;
	b->len = 0;
	b->failed = false;
	if (binary)
		return pgv_binary(b, (enum pgv_conv)c->conv, c->type_oid, c->typmod, v, len, &st->pv,
				  perr);
	return pgv_text(b, (enum pgv_conv)c->conv, c->type_oid, c->typmod, v, len, &st->pv, perr);
}

/* A value the column's type cannot hold ends the statement with an error. */
static enum mysqlb_row_verdict value_error(struct stream *st, unsigned i, enum pgv_status ps,
					   const struct pgv_error *perr)
{
	struct session *s = st->s;
	pgmsg_abandon(&s->legacy->rows); /* the row this value was for */
	if (ps == PGV_OOM || st->work == NULL)
		return MYSQLB_ROW_STOP;
	struct pgmsg_writer *out = worker_writer(s->w);
	char msg[300];
	snprintf(msg, sizeof(msg), "column \"%s\": %s", st->cols[i].name, perr->message);
	write_error(out, perr->sqlstate[0] ? perr->sqlstate : "XX000", msg, NULL);
	metrics_error(s->w->metrics, METRICS_MYSQL, perr->sqlstate[0] ? perr->sqlstate : "XX000");
	st->work->failed = true;
	(void)send_built(s);
	return MYSQLB_ROW_STOP;
}

/* One row of a materializing stream into its memory; false when it would grow too large. */
static bool keep_row(struct stream *st, char **vals, unsigned long *lens, unsigned ncols)
{
	for (unsigned i = 0; i < ncols; i++) {
		int32_t n = vals[i] == NULL ? -1 : (int32_t)lens[i];
		pgv_buf_put(&st->mem, &n, sizeof(n));
		if (n > 0)
			pgv_buf_put(&st->mem, vals[i], (size_t)n);
	}
	return !st->mem.failed && st->mem.len <= LEGACY_MATERIALIZE_MAX;
}

static enum mysqlb_row_verdict emit_row(struct stream *st, char **vals, unsigned long *lens,
					unsigned ncols);

static enum mysqlb_row_verdict stream_row(void *arg, char **vals, unsigned long *lens,
					  unsigned ncols)
{
	struct stream *st = arg;

	if (st->materializing)
		return keep_row(st, vals, lens, ncols) ? MYSQLB_ROW_MORE : MYSQLB_ROW_STOP;
	if (st->work == NULL)
		return MYSQLB_ROW_PAUSE; /* suspended: not fetched for anyone (cannot happen) */
	return emit_row(st, vals, lens, ncols);
}

/*
 * Writes one row for the stream's work: a DataRow (or COPY line), then the
 * limit's end or a pause for a backed-up client.
 */
static enum mysqlb_row_verdict emit_row(struct stream *st, char **vals, unsigned long *lens,
					unsigned ncols)
{
	struct session *s = st->s;
	struct legacy_work *lw = st->work;
	struct pgv_error perr;

	if (!lw->no_rows) {
		struct pgmsg_writer *out = worker_writer(s->w);
		if (lw->is_copy) {
			pgmsg_begin(out, 'd');
			for (unsigned i = 0; i < ncols && i < st->ncols; i++) {
				if (i > 0)
					pgmsg_put_byte(out, (uint8_t)lw->copy.delimiter);
				if (vals[i] == NULL) {
					copy_null(out, &lw->copy);
					continue;
				}
				enum pgv_status ps = convert(st, i, vals[i], lens[i], false, &perr);
				if (ps == PGV_NULL)
					copy_null(out, &lw->copy);
				else if (ps == PGV_OK)
					copy_value(out, &lw->copy, s->legacy->val.p, s->legacy->val.len);
				else
					return value_error(st, i, ps, &perr);
			}
			pgmsg_put_byte(out, '\n');
			pgmsg_end(out);
		} else {
			out = &s->legacy->rows;
			pgmsg_begin(out, 'D');
			pgmsg_put_int16(out, (int16_t)ncols);
			for (unsigned i = 0; i < ncols && i < st->ncols; i++) {
				if (vals[i] == NULL) {
					pgmsg_put_int32(out, -1);
					continue;
				}
				bool binary = st->formats != NULL && st->formats[i] == 1;
				enum pgv_status ps = convert(st, i, vals[i], lens[i], binary, &perr);
				if (ps == PGV_NULL) {
					pgmsg_put_int32(out, -1);
				} else if (ps == PGV_OK) {
					pgmsg_put_int32(out, (int32_t)s->legacy->val.len);
					pgmsg_put_bytes(out, s->legacy->val.p, s->legacy->val.len);
				} else {
					return value_error(st, i, ps, &perr);
				}
			}
			pgmsg_end(out);
		}
		if (lw->is_copy ? !send_built(s)
				: s->legacy->rows.len >= LEGACY_ROWS_BATCH && !flush_rows(s))
			return MYSQLB_ROW_STOP;
	}
	st->rows++;
	if (lw->max_rows > 0 && st->rows >= (uint64_t)lw->max_rows) {
		/*
		 * The limit: the result stays open for the next Execute or FETCH.
		 * An Execute's ends with PortalSuspended, a FETCH's with its tag.
		 */
		struct pgmsg_writer *out = worker_writer(s->w);
		if (lw->fetch) {
			char tag[40];
			snprintf(tag, sizeof(tag), "%s %llu", lw->tag, (unsigned long long)st->rows);
			pgmsg_begin(out, 'C');
			pgmsg_put_string(out, tag);
			pgmsg_end(out);
		} else {
			pgmsg_begin(out, 's');
			pgmsg_end(out);
		}
		if (!send_built(s))
			return MYSQLB_ROW_STOP;
		s->legacy->running = NULL;
		work_finish(lw, false);
		return MYSQLB_ROW_PAUSE;
	}
	/* The output is corked for the whole answer (relay.c): large ones go out as they grow. */
	if (conn_out_pending(s->conn) > LEGACY_FLUSH_AT) {
		conn_uncork(s->conn);
		conn_cork(s->conn);
	}
	if (conn_out_pending(s->conn) > LEGACY_HIGH_WATER && !st->in_memory) {
		if (!flush_rows(s))
			return MYSQLB_ROW_STOP;
		st->paused_for_client = true;
		conn_notify_drain(s->conn, LEGACY_LOW_WATER);
		return MYSQLB_ROW_PAUSE;
	}
	return MYSQLB_ROW_MORE;
}

static void stream_waiting(void *arg)
{
	struct stream *st = arg;
	(void)flush_rows(st->s); /* a refusal closes the session */
}

static const struct mysqlb_ops stream_ops = {
	.columns = stream_columns,
	.row = stream_row,
	.done = stream_done,
	.waiting = stream_waiting,
};

static void stream_free(struct stream *st)
{
	if (st == NULL)
		return;
	if (st->job != NULL)
		mysqlb_job_abandon(st->job);
	if (st->after != NULL)
		st->after->stream = NULL; /* cannot happen: a waiting read is at the head */
	pgv_buf_free(&st->mem);
	if (st->s->legacy != NULL && st->s->legacy->running == st)
		st->s->legacy->running = NULL;
	free(st);
}

/* The work's last messages when its rows ended: CopyDone for COPY, then the tag. */
static bool write_complete(struct session *s, const struct legacy_work *lw, uint64_t rows)
{
	struct pgmsg_writer *out = worker_writer(s->w);
	char tag[40];
	if (lw->is_copy) {
		pgmsg_begin(out, 'c');
		pgmsg_end(out);
	}
	snprintf(tag, sizeof(tag), "%s %llu", lw->tag, (unsigned long long)rows);
	pgmsg_begin(out, 'C');
	pgmsg_put_string(out, tag);
	pgmsg_end(out);
	return send_built(s);
}

static void answer_fixed(struct session *s, struct legacy_work *lw, const char *sqlstate,
			 const char *message, const char *tag);

/* A materializing stream's result ended: the read that waited for the connection runs. */
static void materialized(struct stream *st, const struct mysqlb_error *err)
{
	struct session *s = st->s;
	struct legacy_work *next = st->after;

	st->materializing = false;
	st->after = NULL;
	if (err == NULL) {
		st->in_memory = true;
		legacy_start(s, next);
		return;
	}
	/* The open result could not be kept: it is gone, and the waiting read says why. */
	pgv_buf_free(&st->mem);
	bool big = strcmp(err->sqlstate, "53200") == 0;
	answer_fixed(s, next, big ? "0A000" : err->sqlstate,
		     big ? "another legacy read of this transaction is still open and too large to "
			   "keep in memory: MySQL answers one read at a time per transaction"
			 : err->message,
		     NULL);
}

static void stream_done(void *arg, const struct mysqlb_error *err, unsigned warnings)
{
	struct stream *st = arg;
	struct session *s = st->s;
	struct legacy_work *lw = st->work;

	(void)warnings;
	st->job = NULL;
	st->ended = true;
	if (s->legacy != NULL && s->legacy->running == st)
		s->legacy->running = NULL;
	if (st->materializing) {
		materialized(st, err);
		return;
	}
	if (lw == NULL)
		return; /* suspended at a limit: the next Execute or FETCH finds it ended */
	if (lw->failed) {
		/* the error is written already */
	} else if (err != NULL) {
		write_error(worker_writer(s->w), err->sqlstate, err->message, err->detail);
		metrics_error(s->w->metrics, METRICS_MYSQL, err->sqlstate);
		if (!send_built(s))
			return;
		lw->failed = true;
	} else if (!write_complete(s, lw, st->rows)) {
		return;
	}
	work_finish(lw, lw->failed);
}

static struct stream *stream_new(struct session *s)
{
	struct stream *st = calloc(1, sizeof(*st));
	if (st != NULL)
		st->s = s;
	return st;
}

/* ---- works ---- */

static struct legacy_work *work_new(struct session *s, enum work_kind kind)
{
	struct legacy_work *lw = calloc(1, sizeof(*lw));
	if (lw != NULL) {
		lw->s = s;
		lw->gen = s->seg_no;
		lw->kind = kind;
		lw->tag = "SELECT";
	}
	return lw;
}

/*
 * A cursor portal (not yet added) named <name> over columns cols[0, n) with
 * the MySQL text sql[0, len) (taken, also on failure).
 */
static struct legacy_portal *cursor_new(const char *name, const struct xlate_col *cols,
					uint16_t ncols, char *sql, size_t len)
{
	struct legacy_portal *po = calloc(1, sizeof(*po));
	if (po == NULL || (po->name = strdup(name ? name : "")) == NULL ||
	    !copy_cols(cols, ncols, &po->cols, &po->names)) {
		free(sql);
		if (po != NULL) {
			free(po->name);
			free(po);
		}
		return NULL;
	}
	po->cursor = true;
	po->sql = sql;
	po->len = len;
	po->ncols = ncols;
	return po;
}

static void portal_free(struct legacy_portal *po);

/* A read of translation <xr> with parameter literals lits[] (NULL: none), as a simple Query answers. */
static struct legacy_work *work_read(struct session *s, const struct xlate_result *xr,
				     char *const *lits, const size_t *lens)
{
	struct legacy_state *ls = state_of(s);
	struct pgv_session pv;
	size_t len;

	if (ls == NULL)
		return NULL;
	settings_of(s, &pv);
	char *sql = legacy_fill_sql(xr, lits, lens, &pv, &len);
	if (sql == NULL)
		return NULL;
	if (xr->wrap == XLATE_W_DECLARE) {
		struct legacy_work *lw = work_new(s, W_DECLARE);
		if (lw == NULL || (lw->declare = cursor_new(xr->cursor_name, xr->cols, xr->ncols, sql, len)) == NULL) {
			free(lw);
			return NULL;
		}
		return lw;
	}
	struct legacy_work *lw = work_new(s, W_READ);
	if (lw == NULL) {
		free(sql);
		return NULL;
	}
	lw->sql = sql;
	lw->len = len;
	lw->stream = stream_new(s);
	if (lw->stream == NULL || !copy_cols(xr->cols, xr->ncols, &lw->cols, &lw->names)) {
		legacy_work_free(lw);
		return NULL;
	}
	lw->owns_stream = true;
	lw->describe = true;
	if (xr->wrap == XLATE_W_COPY) {
		lw->is_copy = true;
		lw->describe = false;
		lw->tag = "COPY";
		lw->copy = xr->copy;
		if (xr->copy.null_string != NULL) {
			lw->copy_null = strdup(xr->copy.null_string);
			if (lw->copy_null == NULL) {
				legacy_work_free(lw);
				return NULL;
			}
			lw->copy.null_string = lw->copy_null;
		}
	}
	struct stream *st = lw->stream;
	st->cols = lw->cols;
	st->ncols = xr->ncols;
	st->sql = lw->sql;
	st->len = lw->len;
	return lw;
}

struct legacy_work *legacy_work_query(struct session *s, const struct xlate_result *xr)
{
	return work_read(s, xr, NULL, NULL);
}

struct legacy_work *legacy_work_tag(struct session *s, const char *tag)
{
	struct legacy_work *lw = work_new(s, W_TAG);
	if (lw != NULL)
		lw->tag = tag;
	return lw;
}

struct legacy_work *legacy_work_error(struct session *s, const char *sqlstate, const char *message)
{
	struct legacy_work *lw = work_new(s, W_ERROR);
	if (lw == NULL)
		return NULL;
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
		else if (lw->stream->work == lw)
			lw->stream->work = NULL;
	}
	if (lw->declare != NULL)
		portal_free(lw->declare);
	free(lw->cols);
	free(lw->names);
	free(lw->sql);
	free(lw->msg);
	free(lw->copy_null);
	free(lw);
}

/* How long the session lets a statement run (statement_timeout, from the startup packet). */
static int timeout_of(const struct session *s)
{
	const char *v = setting(s, "statement_timeout");
	if (v == NULL)
		return 0;
	char *end;
	long ms = strtol(v, &end, 10);
	if (ms <= 0 || ms > 86400000L)
		return 0;
	while (*end == ' ')
		end++;
	/* Postgres' units for a time setting whose base unit is ms. */
	if (strcmp(end, "s") == 0)
		ms *= 1000;
	else if (strcmp(end, "min") == 0)
		ms *= 60000;
	else if (strcmp(end, "h") == 0)
		ms *= 3600000;
	else if (strcmp(end, "d") == 0)
		ms = 86400000L;
	return ms > 86400000L ? 86400000 : (int)ms;
}

static struct legacy_portal **find_portal(struct legacy_state *ls, const char *name);

/* Writes a fixed answer (an error or a tag) and finishes the work. */
static void answer_fixed(struct session *s, struct legacy_work *lw, const char *sqlstate,
			 const char *message, const char *tag)
{
	struct pgmsg_writer *out = worker_writer(s->w);
	if (sqlstate != NULL) {
		write_error(out, sqlstate, message, NULL);
		metrics_error(s->w->metrics, METRICS_LOCAL, sqlstate);
	} else {
		pgmsg_begin(out, 'C');
		pgmsg_put_string(out, tag);
		pgmsg_end(out);
	}
	if (!send_built(s))
		return;
	work_finish(lw, sqlstate != NULL);
}

static void start_declare(struct session *s, struct legacy_work *lw)
{
	struct legacy_state *ls = s->legacy;
	char msg[160];
	if (s->q.txn != PL_TXN_BLOCK) {
		answer_fixed(s, lw, "25P01", "DECLARE CURSOR can only be used in transaction blocks",
			     NULL);
		return;
	}
	if (*find_portal(ls, lw->declare->name) != NULL) {
		snprintf(msg, sizeof(msg), "cursor \"%s\" already exists", lw->declare->name);
		answer_fixed(s, lw, "42P03", msg, NULL);
		return;
	}
	struct legacy_portal *po = lw->declare;
	lw->declare = NULL;
	po->gen = lw->gen;
	po->next = ls->portals;
	ls->portals = po;
	answer_fixed(s, lw, NULL, NULL, "DECLARE CURSOR");
}

static void drop_cursors(struct legacy_state *ls, const char *name);

static void start_close(struct session *s, struct legacy_work *lw)
{
	struct legacy_state *ls = s->legacy;
	if (lw->name[0] != '\0' && *find_portal(ls, lw->name) == NULL) {
		char msg[160];
		snprintf(msg, sizeof(msg), "cursor \"%s\" does not exist", lw->name);
		answer_fixed(s, lw, "34000", msg, NULL);
		return;
	}
	drop_cursors(ls, lw->name);
	answer_fixed(s, lw, NULL, NULL, "CLOSE CURSOR");
}

/* The stream of portal <po>, made on its first use. */
static struct stream *portal_stream(struct session *s, struct legacy_portal *po)
{
	if (po->stream != NULL)
		return po->stream;
	po->stream = stream_new(s);
	if (po->stream != NULL) {
		po->stream->portal = po;
		po->stream->cols = po->cols;
		po->stream->ncols = po->ncols;
		po->stream->sql = po->sql;
		po->stream->len = po->len;
	}
	return po->stream;
}

/* Another stream whose open (suspended) result holds the snapshot's connection, or NULL. */
static struct stream *pin_holder(struct legacy_state *ls, const struct stream *self)
{
	for (struct legacy_portal *po = ls->portals; po != NULL; po = po->next) {
		struct stream *st = po->stream;
		if (st != NULL && st != self && st->job != NULL && st->work == NULL)
			return st;
	}
	return NULL;
}

/* Serves the work from the rows a materialized stream kept; synchronous. */
static void serve_from_memory(struct session *s, struct legacy_work *lw)
{
	struct stream *st = lw->stream;
	unsigned n = st->ncols;
	char **vals = calloc(n ? n : 1, sizeof(*vals));
	unsigned long *lens = calloc(n ? n : 1, sizeof(*lens));
	if (vals == NULL || lens == NULL) {
		free(vals);
		free(lens);
		session_close(s, "out of memory");
		return;
	}
	while (st->mem_at < st->mem.len) {
		for (unsigned i = 0; i < n; i++) {
			int32_t len;
			memcpy(&len, st->mem.p + st->mem_at, sizeof(len));
			st->mem_at += sizeof(len);
			vals[i] = len < 0 ? NULL : st->mem.p + st->mem_at;
			lens[i] = len < 0 ? 0 : (unsigned long)len;
			st->mem_at += len > 0 ? (size_t)len : 0;
		}
		enum mysqlb_row_verdict v = emit_row(st, vals, lens, n);
		if (st->work == NULL || v == MYSQLB_ROW_STOP) {
			/* The limit ended the work, or a value failed it (the error is written). */
			if (v == MYSQLB_ROW_STOP && st->work == lw)
				work_finish(lw, true);
			free(vals);
			free(lens);
			return;
		}
	}
	free(vals);
	free(lens);
	pgv_buf_free(&st->mem);
	st->mem_at = 0;
	st->in_memory = false; /* all served: the stream is plainly ended now */
	if (write_complete(s, lw, st->rows))
		work_finish(lw, false);
}

void legacy_start(struct session *s, struct legacy_work *lw)
{
	struct legacy_state *ls = state_of(s);
	if (ls == NULL) {
		session_close(s, "out of memory");
		return;
	}
	if (lw->kind == W_ERROR) {
		if (!conn_write(s->conn, lw->msg, lw->msg_len)) {
			session_close(s, "out of memory");
			return;
		}
		work_finish(lw, true);
		return;
	}
	/* In an aborted block every statement gets 25P02 until it ends, as in Postgres. */
	if (s->q.txn == PL_TXN_FAILED) {
		answer_fixed(s, lw, "25P02",
			     "current transaction is aborted, commands ignored until end of "
			     "transaction block",
			     NULL);
		return;
	}
	if (lw->kind == W_DECLARE) {
		start_declare(s, lw);
		return;
	}
	if (lw->kind == W_CLOSE) {
		start_close(s, lw);
		return;
	}
	if (lw->kind == W_TAG) {
		answer_fixed(s, lw, NULL, NULL, lw->tag);
		return;
	}
	if (lw->kind == W_PORTAL) {
		struct legacy_portal *po = *find_portal(ls, lw->name);
		if (po == NULL) {
			char msg[160];
			snprintf(msg, sizeof(msg), "portal \"%s\" does not exist", lw->name);
			answer_fixed(s, lw, "34000", msg, NULL);
			return;
		}
		lw->stream = portal_stream(s, po);
		lw->formats = po->formats;
		if (lw->stream == NULL) {
			session_close(s, "out of memory");
			return;
		}
	}
	if (lw->kind == W_CURSOR) {
		struct legacy_portal *po = *find_portal(ls, lw->name);
		if (po == NULL || !po->cursor) {
			char msg[160];
			snprintf(msg, sizeof(msg), "cursor \"%s\" does not exist", lw->name);
			answer_fixed(s, lw, "34000", msg, NULL);
			return;
		}
		lw->stream = portal_stream(s, po);
		if (lw->stream == NULL) {
			session_close(s, "out of memory");
			return;
		}
	}
	struct stream *st = lw->stream;
	/*
	 * One snapshot for a transaction block, and for an implicit one: a
	 * segment whose other messages went to Supabase (a BEGIN among them,
	 * perhaps, whose ReadyForQuery has not come yet).
	 */
	bool in_block = s->q.txn != PL_TXN_IDLE || s->q.seg_upstream;
	if (st->job == NULL && !st->ended && in_block && ls->pin != NULL) {
		struct stream *holder = pin_holder(ls, st);
		if (holder != NULL) {
			/* The snapshot's connection is busy with an open result: keep its rest first. */
			holder->materializing = true;
			holder->after = lw;
			ls->running = holder;
			mysqlb_job_resume(holder->job);
			return;
		}
	}
	st->work = lw;
	st->rows = 0;
	st->formats = lw->formats;
	if (lw->describe) {
		/* The columns are known from the translation: described before MySQL answers. */
		write_row_description(worker_writer(s->w), st->cols, st->ncols, st->formats);
		if (!send_built(s))
			return;
	}
	if (lw->is_copy) {
		struct pgmsg_writer *out = worker_writer(s->w);
		pgmsg_begin(out, 'H');
		pgmsg_put_byte(out, 0);
		pgmsg_put_int16(out, (int16_t)st->ncols);
		for (uint16_t i = 0; i < st->ncols; i++)
			pgmsg_put_int16(out, 0);
		pgmsg_end(out);
		if (lw->copy.header) {
			pgmsg_begin(out, 'd');
			for (uint16_t i = 0; i < st->ncols; i++) {
				if (i > 0)
					pgmsg_put_byte(out, (uint8_t)lw->copy.delimiter);
				copy_value(out, &lw->copy, st->cols[i].name, strlen(st->cols[i].name));
			}
			pgmsg_put_byte(out, '\n');
			pgmsg_end(out);
		}
		if (!send_built(s))
			return;
	}
	if (st->in_memory) {
		serve_from_memory(s, lw);
		return;
	}
	if (st->job != NULL) {
		/* Open from an earlier Execute or FETCH: the next rows come from where it stopped. */
		ls->running = st;
		mysqlb_job_resume(st->job);
		return;
	}
	if (st->ended) {
		/* Its rows are all out: nothing more, as Postgres answers an exhausted portal. */
		if (write_complete(s, lw, 0))
			work_finish(lw, false);
		return;
	}
	settings_of(s, &st->pv);
	if (log_enabled(CONFIG_LOG_DEBUG)) {
		/* Values in it are the client's: only at debug level. */
		char q[2048];
		log_debug(s->w->id, s->id, "legacy read sent to MySQL", "snapshot=%s sql=%s",
			  in_block ? "yes" : "no", log_quote(q, sizeof(q), st->sql));
	}
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

/* ---- statements and portals ---- */

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
		if (po->stream->work == NULL) {
			stream_free(po->stream);
		} else {
			/* Its entry still runs: the entry takes the stream, its text and columns. */
			struct legacy_work *lw = po->stream->work;
			lw->owns_stream = true;
			free(lw->cols);
			free(lw->names);
			free(lw->sql);
			lw->cols = po->cols;
			lw->names = po->names;
			lw->sql = po->sql;
			po->cols = NULL;
			po->names = NULL;
			po->sql = NULL;
		}
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

bool legacy_has_cursors(const struct session *s)
{
	if (s->legacy == NULL)
		return false;
	for (struct legacy_portal *po = s->legacy->portals; po != NULL; po = po->next) {
		if (po->cursor)
			return true;
	}
	return false;
}

bool legacy_is_cursor(const struct session *s, const char *name)
{
	struct legacy_portal *po = s->legacy ? *find_portal(s->legacy, name) : NULL;
	return po != NULL && po->cursor;
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

void legacy_forget_stmts(struct session *s)
{
	while (s->legacy != NULL && s->legacy->stmts != NULL) {
		struct legacy_stmt *st = s->legacy->stmts;
		s->legacy->stmts = st->next;
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

/* Adds statement <st> as <name>: false with *dup for a taken named one. */
static bool stmt_add(struct legacy_state *ls, struct legacy_stmt *st, const char *name, bool *dup)
{
	struct legacy_stmt **p = find_stmt(ls, name);
	if (*p != NULL) {
		if (name[0] != '\0') {
			*dup = true;
			stmt_free(st);
			return false;
		}
		struct legacy_stmt *old = *p;
		*p = old->next;
		stmt_free(old);
	}
	st->next = ls->stmts;
	ls->stmts = st;
	return true;
}

bool legacy_parse(struct session *s, const char *name, const struct xlate_result *xr, bool *dup)
{
	*dup = false;
	struct legacy_state *ls = state_of(s);
	if (ls == NULL)
		return false;
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
	st->kind = xr->wrap == XLATE_W_DECLARE ? LS_DECLARE : LS_READ;
	return stmt_add(ls, st, name, dup);
}

static enum lstmt_kind op_kind(const struct router_cursor_op *op)
{
	return op->kind == ROUTER_CURSOR_CLOSE ? LS_CLOSE
	       : op->kind == ROUTER_CURSOR_MOVE ? LS_MOVE : LS_FETCH;
}

bool legacy_parse_cursor_op(struct session *s, const char *name, const struct router_cursor_op *op,
			    bool *dup)
{
	*dup = false;
	struct legacy_state *ls = state_of(s);
	struct legacy_stmt *st = ls ? calloc(1, sizeof(*st)) : NULL;
	if (st == NULL || (st->name = strdup(name)) == NULL) {
		free(st);
		return false;
	}
	st->kind = op_kind(op);
	snprintf(st->cursor, sizeof(st->cursor), "%s", op->name);
	st->count = op->kind == ROUTER_CURSOR_OTHER ? -1 : op->count;
	return stmt_add(ls, st, name, dup);
}

/* A FETCH/MOVE/CLOSE work on cursor <name> (count -1: a direction it cannot go). */
static struct legacy_work *cursor_work(struct session *s, enum lstmt_kind kind, const char *name,
				       int64_t count, bool describe, const int16_t *formats)
{
	if (kind == LS_FETCH || kind == LS_MOVE) {
		if (count < 0)
			return legacy_work_error(s, "55000", "cursor can only scan forward");
	}
	struct legacy_work *lw = work_new(s, kind == LS_CLOSE ? W_CLOSE : W_CURSOR);
	if (lw == NULL)
		return NULL;
	snprintf(lw->name, sizeof(lw->name), "%s", name);
	lw->fetch = true;
	lw->max_rows = count == INT64_MAX ? 0 : count;
	lw->tag = kind == LS_MOVE ? "MOVE" : "FETCH";
	lw->no_rows = kind == LS_MOVE;
	lw->describe = describe && kind == LS_FETCH;
	lw->formats = formats;
	return lw;
}

struct legacy_work *legacy_work_cursor_op(struct session *s, const struct router_cursor_op *op)
{
	return cursor_work(s, op_kind(op), op->name, op->kind == ROUTER_CURSOR_OTHER ? -1 : op->count,
			   true, NULL);
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

static int format_at(const uint8_t *fmts, int16_t nfmt, int16_t i)
{
	if (nfmt == 0)
		return 0;
	const uint8_t *f = nfmt == 1 ? fmts : fmts + 2 * i;
	return (int16_t)(f[0] << 8 | f[1]);
}

/* Reads the parameter values of a Bind as MySQL literals; false with the error in <err>. */
static bool bind_params(const struct pgv_session *pv, struct pgmsg_reader *r,
			const struct xlate_result *xr, const char *name, struct bind_values *bv,
			struct pgmsg_writer *err, bool *oom)
{
	int16_t nfmt = pgmsg_get_int16(r);
	if (nfmt < 0 || (size_t)nfmt * 2 > pgmsg_reader_left(r)) {
		bind_error(err, "08P01", "invalid Bind message");
		return false;
	}
	const uint8_t *fmts = pgmsg_get_bytes(r, (size_t)nfmt * 2);
	int16_t nvals = pgmsg_get_int16(r);
	uint16_t want = xr ? xr->nparams : 0;
	if (r->bad || nvals < 0) {
		bind_error(err, "08P01", "invalid Bind message");
		return false;
	}
	if (nvals != (int16_t)want) {
		bind_error(err, "08P01",
			   "bind message supplies %d parameters, but prepared statement \"%s\" "
			   "requires %u",
			   nvals, name, (unsigned)want);
		return false;
	}
	if (nfmt > 1 && nfmt != nvals) {
		bind_error(err, "08P01", "bind message has %d parameter formats but %d parameters",
			   nfmt, nvals);
		return false;
	}
	bv->lits = calloc(nvals ? (size_t)nvals : 1, sizeof(*bv->lits));
	bv->lens = calloc(nvals ? (size_t)nvals : 1, sizeof(*bv->lens));
	if (bv->lits == NULL || bv->lens == NULL) {
		*oom = true;
		return false;
	}
	bv->n = (uint16_t)nvals;
	for (int16_t i = 0; i < nvals; i++) {
		int32_t vlen = pgmsg_get_int32(r);
		const char *v = NULL;
		if (vlen >= 0 && (v = (const char *)pgmsg_get_bytes(r, (size_t)vlen)) == NULL) {
			bind_error(err, "08P01", "invalid Bind message");
			return false;
		}
		struct pgv_buf b = { 0 };
		struct pgv_error perr = { .sqlstate = "22P02" };
		enum pgv_status ps = pgv_param_literal(&b, xr->param_types[i], format_at(fmts, nfmt, i),
						       v, vlen < 0 ? 0 : (size_t)vlen, pv, &perr);
		if (ps == PGV_OOM || b.failed) {
			pgv_buf_free(&b);
			*oom = true;
			return false;
		}
		if (ps != PGV_OK) {
			pgv_buf_free(&b);
			bind_error(err, perr.sqlstate, "%s", perr.message);
			return false;
		}
		bv->lits[i] = b.p ? b.p : strdup("");
		bv->lens[i] = b.len;
		if (bv->lits[i] == NULL) {
			*oom = true;
			return false;
		}
	}
	return true;
}

bool legacy_bind(struct session *s, const uint8_t *body, size_t len, struct pgmsg_writer *err,
		 bool *oom)
{
	struct pgmsg_reader r;
	struct legacy_state *ls = s->legacy;
	struct bind_values bv = { 0 };
	*oom = false;
	pgmsg_reader_init(&r, body, len);
	const char *portal = pgmsg_get_string(&r);
	const char *name = pgmsg_get_string(&r);
	struct legacy_stmt *st = ls ? *find_stmt(ls, name) : NULL;
	if (st == NULL) {
		bind_error(err, "26000", "prepared statement \"%s\" does not exist", name);
		return false;
	}
	bool has_xr = st->kind == LS_READ || st->kind == LS_DECLARE;
	const struct xlate_result *xr = has_xr ? &st->xr : NULL;
	struct pgv_session pv;
	settings_of(s, &pv); /* once per Bind: the literals and the zone slots share it */
	if (!bind_params(&pv, &r, xr, name, &bv, err, oom)) {
		values_free(&bv);
		return false;
	}
	int16_t nres = pgmsg_get_int16(&r);
	if (nres < 0 || (size_t)nres * 2 > pgmsg_reader_left(&r)) {
		values_free(&bv);
		bind_error(err, "08P01", "invalid Bind message");
		return false;
	}
	const uint8_t *rfmts = pgmsg_get_bytes(&r, (size_t)nres * 2);
	if (!pgmsg_reader_ok(&r)) {
		values_free(&bv);
		bind_error(err, "08P01", "invalid Bind message");
		return false;
	}
	/* FETCH's result columns are its cursor's. */
	const struct legacy_portal *cur = NULL;
	if (st->kind == LS_FETCH) {
		cur = *find_portal(ls, st->cursor);
		if (cur != NULL && !cur->cursor)
			cur = NULL;
	}
	uint16_t ncols = xr ? xr->ncols : cur ? cur->ncols : 0;
	if (nres > 1 && nres != (int16_t)ncols) {
		values_free(&bv);
		bind_error(err, "08P01", "bind message has %d result formats but query has %u columns",
			   nres, (unsigned)ncols);
		return false;
	}
	struct legacy_portal *po = calloc(1, sizeof(*po));
	bool ok = po != NULL && (po->name = strdup(portal)) != NULL &&
		  (po->formats = calloc(ncols ? ncols : 1, sizeof(int16_t))) != NULL;
	if (ok && xr != NULL) {
		ok = copy_cols(xr->cols, xr->ncols, &po->cols, &po->names) &&
		     (po->sql = legacy_fill_sql(xr, bv.lits, bv.lens, &pv, &po->len)) != NULL;
	} else if (ok && cur != NULL) {
		ok = copy_cols(cur->cols, cur->ncols, &po->cols, &po->names);
	}
	values_free(&bv);
	if (!ok) {
		if (po)
			portal_free(po);
		*oom = true;
		return false;
	}
	po->kind = st->kind;
	po->ncols = ncols;
	po->count = st->count;
	snprintf(po->target, sizeof(po->target), "%s", st->cursor);
	if (st->kind == LS_DECLARE && st->xr.cursor_name != NULL)
		snprintf(po->target, sizeof(po->target), "%s", st->xr.cursor_name);
	for (uint16_t i = 0; i < ncols; i++)
		po->formats[i] = (int16_t)format_at(rfmts, nres, (int16_t)i);
	po->gen = s->seg_no;
	legacy_forget_portal(s, portal); /* a portal of the same name is replaced */
	po->next = ls->portals;
	ls->portals = po;
	return true;
}

/* ---- SQL-level EXECUTE ---- */

struct legacy_work *legacy_work_sql_execute(struct session *s, const struct router_sql_execute *ex)
{
	struct legacy_state *ls = s->legacy;
	struct legacy_stmt *st = ls ? *find_stmt(ls, ex->name) : NULL;
	char msg[200];

	if (st == NULL || st->kind != LS_READ) {
		snprintf(msg, sizeof(msg), "prepared statement \"%s\" does not exist", ex->name);
		return legacy_work_error(s, "26000", msg);
	}
	const struct xlate_result *xr = &st->xr;
	if (ex->nargs != xr->nparams) {
		/* Postgres' message; its DETAIL says "Expected n parameters but got m." */
		snprintf(msg, sizeof(msg), "wrong number of parameters for prepared statement \"%s\"",
			 ex->name);
		return legacy_work_error(s, "42601", msg);
	}
	struct bind_values bv = { 0 };
	struct pgv_session pv;
	settings_of(s, &pv);
	bv.lits = calloc(ex->nargs ? ex->nargs : 1, sizeof(*bv.lits));
	bv.lens = calloc(ex->nargs ? ex->nargs : 1, sizeof(*bv.lens));
	if (bv.lits == NULL || bv.lens == NULL) {
		values_free(&bv);
		return NULL;
	}
	bv.n = ex->nargs;
	for (uint16_t i = 0; i < ex->nargs; i++) {
		struct pgv_buf b = { 0 };
		struct pgv_error perr = { .sqlstate = "22P02" };
		enum pgv_status ps = pgv_param_literal(&b, xr->param_types[i], 0, ex->vals[i],
						       ex->lens[i], &pv, &perr);
		if (ps != PGV_OK || b.failed) {
			pgv_buf_free(&b);
			values_free(&bv);
			return ps == PGV_BAD ? legacy_work_error(s, perr.sqlstate, perr.message) : NULL;
		}
		bv.lits[i] = b.p ? b.p : strdup("");
		bv.lens[i] = b.len;
		if (bv.lits[i] == NULL) {
			values_free(&bv);
			return NULL;
		}
	}
	struct legacy_work *lw = work_read(s, xr, bv.lits, bv.lens);
	values_free(&bv);
	return lw;
}

/* ---- Describe, Execute, Close ---- */

static void write_no_data(struct pgmsg_writer *out)
{
	pgmsg_begin(out, 'n');
	pgmsg_end(out);
}

void legacy_describe(struct session *s, char kind, const char *name, struct pgmsg_writer *out)
{
	struct legacy_state *ls = s->legacy;
	if (kind == 'S') {
		struct legacy_stmt *st = *find_stmt(ls, name);
		bool has_xr = st->kind == LS_READ || st->kind == LS_DECLARE;
		pgmsg_begin(out, 't');
		pgmsg_put_int16(out, has_xr ? (int16_t)st->xr.nparams : 0);
		for (uint16_t i = 0; has_xr && i < st->xr.nparams; i++)
			pgmsg_put_int32(out, (int32_t)st->xr.param_types[i]);
		pgmsg_end(out);
		const struct legacy_portal *cur = st->kind == LS_FETCH ? *find_portal(ls, st->cursor) : NULL;
		if (st->kind == LS_READ)
			write_row_description(out, st->xr.cols, st->xr.ncols, NULL);
		else if (cur != NULL && cur->cursor)
			write_row_description(out, cur->cols, cur->ncols, NULL);
		else
			write_no_data(out);
		return;
	}
	struct legacy_portal *po = *find_portal(ls, name);
	if (po->cursor || po->kind == LS_READ || (po->kind == LS_FETCH && po->cols != NULL))
		write_row_description(out, po->cols, po->ncols, po->cursor ? NULL : po->formats);
	else
		write_no_data(out);
}

struct legacy_work *legacy_work_execute(struct session *s, const char *portal, int32_t max_rows)
{
	struct legacy_state *ls = s->legacy;
	struct legacy_portal *po = *find_portal(ls, portal);
	struct legacy_work *lw;

	switch (po->kind) {
	case LS_DECLARE: {
		lw = work_new(s, W_DECLARE);
		char *sql = lw != NULL && po->sql != NULL ? malloc(po->len + 1) : NULL;
		if (sql == NULL) {
			free(lw);
			return NULL;
		}
		memcpy(sql, po->sql, po->len); /* by length: the text is not read as a C string */
		sql[po->len] = '\0';
		lw->declare = cursor_new(po->target, po->cols, po->ncols, sql, po->len);
		if (lw->declare == NULL) {
			free(lw);
			return NULL;
		}
		return lw;
	}
	case LS_FETCH:
	case LS_MOVE:
	case LS_CLOSE:
		return cursor_work(s, po->kind, po->target, po->count, false, po->formats);
	case LS_READ:
		break;
	}
	if (po->cursor) /* Execute of a cursor's own portal: as FETCH ALL */
		return cursor_work(s, LS_FETCH, po->name, INT64_MAX, false, NULL);
	/*
	 * Found again by name when it starts: a Sync queued before it may end
	 * the portal's implicit transaction first (Postgres then says 34000).
	 */
	lw = work_new(s, W_PORTAL);
	if (lw == NULL)
		return NULL;
	snprintf(lw->name, sizeof(lw->name), "%s", portal);
	lw->max_rows = max_rows > 0 ? max_rows : 0;
	return lw;
}

void legacy_close(struct session *s, char kind, const char *name)
{
	if (kind == 'S')
		legacy_forget_stmt(s, name);
	else
		legacy_forget_portal(s, name);
}

/*
 * Drops portals: the cursor <name> ("" = every cursor), or with name NULL
 * every portal made up to Query/Sync <upto>.
 */
static void drop_matching(struct legacy_state *ls, const char *name, bool cursors_only,
			  uint32_t upto)
{
	struct legacy_portal **p = &ls->portals;
	while (*p != NULL) {
		struct legacy_portal *po = *p;
		bool match = name == NULL ? (!cursors_only || po->cursor) && po->gen <= upto
					  : po->cursor && (name[0] == '\0' || strcmp(po->name, name) == 0);
		if (match) {
			*p = po->next;
			portal_free(po);
		} else {
			p = &po->next;
		}
	}
}

static void drop_cursors(struct legacy_state *ls, const char *name)
{
	drop_matching(ls, name, true, 0);
}

void legacy_drop_cursors(struct session *s)
{
	if (s->legacy != NULL)
		drop_matching(s->legacy, "", true, 0);
}

void legacy_sync(struct session *s, bool in_block, uint32_t seg)
{
	if (s->legacy != NULL && !in_block)
		drop_matching(s->legacy, NULL, false, seg);
}

void legacy_txn_ended(struct session *s, uint32_t seg, bool portals)
{
	struct legacy_state *ls = s->legacy;
	if (ls == NULL)
		return;
	if (portals)
		drop_matching(ls, NULL, false, seg);
	if (ls->pin != NULL)
		mysqlb_unpin(&ls->pin);
}

void legacy_session_free(struct session *s)
{
	struct legacy_state *ls = s->legacy;
	if (ls == NULL)
		return;
	drop_matching(ls, NULL, false, UINT32_MAX);
	while (ls->stmts != NULL) {
		struct legacy_stmt *st = ls->stmts;
		ls->stmts = st->next;
		stmt_free(st);
	}
	if (ls->pin != NULL)
		mysqlb_unpin(&ls->pin);
	pgv_buf_free(&ls->val);
	pgmsg_writer_free(&ls->rows);
	event_free(ls->done_ev);
	event_free(ls->resume_ev);
	free(ls);
	s->legacy = NULL;
}

void legacy_note_set(struct session *s, const char *name, const char *value, bool reset)
{
	struct legacy_state *ls;
	bool all = reset && strcmp(name, "all") == 0;

	if (!all && strcasecmp(name, "extra_float_digits") != 0 &&
	    strcasecmp(name, "bytea_output") != 0 && strcasecmp(name, "statement_timeout") != 0)
		return;
	if ((ls = state_of(s)) == NULL)
		return;
	ls->pv_valid = false;
	const char *v = reset ? "" : value;
	if (all || strcasecmp(name, "extra_float_digits") == 0)
		snprintf(ls->extra_float_digits, sizeof(ls->extra_float_digits), "%s", v);
	if (all || strcasecmp(name, "bytea_output") == 0)
		snprintf(ls->bytea_output, sizeof(ls->bytea_output), "%s", v);
	if (all || strcasecmp(name, "statement_timeout") == 0)
		snprintf(ls->statement_timeout, sizeof(ls->statement_timeout), "%s", v);
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

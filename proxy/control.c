/*
 * control — following and writing the cutover control table (control.h).
 *
 * What this file owns: the follower's queue of writes (local changes the
 * fleet has not been told of yet), what this instance last saw of each row,
 * and the blocking `--init-control-table` command. The follower's reads
 * and writes share one pgclient and so run strictly one after another; a
 * kick event starts the next statement once the previous callback has
 * returned (pgclient runs a callback before it is ready for the next
 * statement). Rollbacks arrive from worker threads through an inbox and an
 * eventfd: the main base has no libevent locks, so other threads never
 * touch its events.
 *
 * libpq's header is included here only for the blocking command; the
 * running proxy talks to Supabase through pgclient.
 */
#include "proxy/control.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "proxy/config.h"
#include "proxy/cutover.h"
#include "proxy/list.h"
#include "proxy/log.h"
#include "proxy/pgclient.h"

/* A statement's deadline, connecting included: well inside the 5 s the fleet has to follow. */
#define CONTROL_TIMEOUT_MS 4000
/* "schema"."table" with every character doubled at worst. */
#define CONTROL_REL_MAX (4 * 64 + 8)

/* What this instance last knew of one row of the control table. */
struct control_seen {
	TAILQ_ENTRY(control_seen) link;
	char *name;
	bool have;            /* weight and at hold a row read or written */
	char weight[24];      /* as text: a bad value is remembered too, and warned once */
	char at[64];          /* updated_at as text */
	unsigned writes;      /* queued or in-flight writes covering it: its reads are ignored */
	bool warned_unknown;  /* "not a legacy table" said once */
	bool warned_no_row;   /* "a write found no row" said once */
};

/* One local change to write: the rows of a group's members. */
struct control_write {
	TAILQ_ENTRY(control_write) link;
	char *table;          /* as handed in: the group's first table (rollback) or any member */
	int weight;
	char *by;             /* updated_by */
	char *reason;         /* NULL for SQL NULL */
	char **members;       /* resolved on the main thread; NULL while in the inbox */
	size_t nmembers;
};

TAILQ_HEAD(control_write_list, control_write);
TAILQ_HEAD(control_seen_list, control_seen);

/* What the one pgclient is doing for us. */
enum control_op {
	CONTROL_OP_NONE = 0, /* nothing in flight */
	CONTROL_OP_READ,     /* SELECT of every row */
	CONTROL_OP_WRITE,    /* UPDATE of c->inflight's rows */
};

struct control {
	struct event_base *base;
	struct cutover *cutover;
	struct config *cfg;          /* referenced; NULL before the first apply */
	bool enabled;                /* cfg names a control table */
	char rel[CONTROL_REL_MAX];   /* it, quoted */

	struct pgclient *pg;         /* NULL while disabled */
	enum control_op op;
	struct control_write *inflight;
	struct control_write_list queue;
	bool read_due;               /* the timer fired since the last read was sent */
	bool hold_writes;            /* a write failed: the next try waits for the timer */
	bool read_failing;           /* the last read failed (for "readable again") */
	bool first_read_done;        /* for the one "following" line */
	struct control_seen_list seen;

	struct event *timer;
	struct event *kick;          /* starts the next statement, from the loop */

	/* Rollbacks from any thread; drained on the main thread. */
	pthread_mutex_t inbox_lock;
	struct control_write_list inbox;
	int wake_fd;
	struct event *wake_ev;

	struct log_ratelimit read_rl;
	struct log_ratelimit write_rl;
};

/* ---- small helpers ---- */

static void write_free(struct control_write *w)
{
	if (w == NULL)
		return;
	free(w->table);
	free(w->by);
	free(w->reason);
	for (size_t i = 0; i < w->nmembers; i++)
		free(w->members[i]);
	free(w->members);
	free(w);
}

static struct control_write *write_new(const char *table, int weight, const char *by,
				       const char *reason)
{
	struct control_write *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->weight = weight;
	w->table = strdup(table);
	w->by = strdup(by);
	w->reason = reason ? strdup(reason) : NULL;
	if (w->table == NULL || w->by == NULL || (reason != NULL && w->reason == NULL)) {
		write_free(w);
		return NULL;
	}
	return w;
}

/*
 * <name> ("table" or "schema.table", already checked by config.c to be
 * plain lower-case identifiers) as a quoted SQL name. Quoting anyway keeps
 * the SQL right whatever the check allows later.
 */
static bool quote_ident(const char *s, size_t n, char *out, size_t cap, size_t *at)
{
	if (*at + 1 >= cap)
		return false;
	out[(*at)++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (*at + 2 >= cap)
			return false;
		if (s[i] == '"')
			out[(*at)++] = '"';
		out[(*at)++] = s[i];
	}
	if (*at + 1 >= cap)
		return false;
	out[(*at)++] = '"';
	out[*at] = '\0';
	return true;
}

static bool quote_relation(const char *name, char *out, size_t cap)
{
	const char *dot = strchr(name, '.');
	size_t at = 0;

	out[0] = '\0';
	if (dot != NULL) {
		if (!quote_ident(name, (size_t)(dot - name), out, cap, &at) || at + 1 >= cap)
			return false;
		out[at++] = '.';
		name = dot + 1;
	}
	return quote_ident(name, strlen(name), out, cap, &at);
}

/* A weight as the table holds it: an integer 0..100 in text, nothing else. */
static bool parse_weight(const char *s, int *out)
{
	char *end;

	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > 100)
		return false;
	*out = (int)v;
	return true;
}

/* A text[] literal of <names>, for "= ANY($n::text[])". NULL on OOM. */
static char *array_literal(char *const *names, size_t n)
{
	size_t cap = 3;
	for (size_t i = 0; i < n; i++)
		cap += 2 * strlen(names[i]) + 3;
	char *out = malloc(cap);
	if (out == NULL)
		return NULL;
	size_t at = 0;
	out[at++] = '{';
	for (size_t i = 0; i < n; i++) {
		if (i)
			out[at++] = ',';
		out[at++] = '"';
		for (const char *p = names[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				out[at++] = '\\';
			out[at++] = *p;
		}
		out[at++] = '"';
	}
	out[at++] = '}';
	out[at] = '\0';
	return out;
}

/* ---- what was seen ---- */

static struct control_seen *seen_find(struct control *c, const char *name, bool add)
{
	struct control_seen *s;

	TAILQ_FOREACH(s, &c->seen, link)
		if (strcmp(s->name, name) == 0)
			return s;
	if (!add)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->name = strdup(name)) == NULL) {
		free(s);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&c->seen, s, link);
	return s;
}

static void seen_clear(struct control *c)
{
	struct control_seen *s;

	while ((s = TAILQ_FIRST(&c->seen)) != NULL) {
		TAILQ_REMOVE(&c->seen, s, link);
		free(s->name);
		free(s);
	}
}

static void seen_record(struct control_seen *s, const char *weight, const char *at)
{
	s->have = true;
	snprintf(s->weight, sizeof(s->weight), "%s", weight ? weight : "NULL");
	snprintf(s->at, sizeof(s->at), "%s", at ? at : "NULL");
}

/* Counts <w> as covering its members (delta +1) or no longer (-1). */
static void seen_mark(struct control *c, const struct control_write *w, int delta)
{
	for (size_t i = 0; i < w->nmembers; i++) {
		struct control_seen *s = seen_find(c, w->members[i], delta > 0);
		if (s == NULL)
			continue; /* OOM on +1: its reads are not held back, the write still goes */
		if (delta > 0)
			s->writes++;
		else if (s->writes > 0)
			s->writes--;
	}
}

/* ---- the queue of writes ---- */

/*
 * The rows a write for <table> sets: its group's members in the running
 * snapshot (a table no longer legacy: just itself, so the row still
 * follows what this instance did).
 */
static bool resolve_members(const struct config *cfg, struct control_write *w)
{
	int t = config_legacy_index(cfg, w->table);
	size_t n = 1;
	const struct config_cutover_group *grp = NULL;

	if (t >= 0) {
		grp = &cfg->cutover.groups[cfg->cutover.group_of[t]];
		n = grp->ntables;
	}
	w->members = calloc(n, sizeof(*w->members));
	if (w->members == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *name = grp ? cfg->legacy.tables[grp->tables[i]] : w->table;
		if ((w->members[i] = strdup(name)) == NULL)
			return false;
		w->nmembers = i + 1;
	}
	return true;
}

static bool same_group(const struct control_write *a, const struct control_write *b)
{
	return a->nmembers > 0 && b->nmembers > 0 && strcmp(a->members[0], b->members[0]) == 0;
}

/*
 * Queues <w> (owned from here on), resolved and counted. A queued write
 * for the same group is replaced: only the newest local change matters.
 */
static void enqueue(struct control *c, struct control_write *w)
{
	struct control_write *q, *tmp;

	if (!resolve_members(c->cfg, w)) {
		log_error(-1, -1, "control table: out of memory, a change is not written", "table=%s",
			  w->table);
		write_free(w);
		return;
	}
	TAILQ_FOREACH_SAFE(q, &c->queue, link, tmp) {
		if (same_group(q, w)) {
			TAILQ_REMOVE(&c->queue, q, link);
			seen_mark(c, q, -1);
			write_free(q);
		}
	}
	seen_mark(c, w, +1);
	TAILQ_INSERT_TAIL(&c->queue, w, link);
}

static void queue_clear(struct control_write_list *l)
{
	struct control_write *w;

	while ((w = TAILQ_FIRST(l)) != NULL) {
		TAILQ_REMOVE(l, w, link);
		write_free(w);
	}
}

/* Moves the rollbacks handed in by other threads onto the queue (main thread). */
static void drain_inbox(struct control *c)
{
	struct control_write_list got;
	struct control_write *w;

	TAILQ_INIT(&got);
	pthread_mutex_lock(&c->inbox_lock);
	TAILQ_CONCAT(&got, &c->inbox, link);
	pthread_mutex_unlock(&c->inbox_lock);
	while ((w = TAILQ_FIRST(&got)) != NULL) {
		TAILQ_REMOVE(&got, w, link);
		if (c->enabled)
			enqueue(c, w);
		else
			write_free(w);
	}
}

/* ---- running statements ---- */

static void pump(struct control *c);

static void kick_later(struct control *c)
{
	event_active(c->kick, 0, 0);
}

/* Connection trouble, worth trying again; anything else is the statement's fault. */
static bool transient(const char *sqlstate)
{
	return strncmp(sqlstate, "08", 2) == 0 || strncmp(sqlstate, "57", 2) == 0 ||
	       strncmp(sqlstate, "53", 2) == 0 || strcmp(sqlstate, "40001") == 0 ||
	       strcmp(sqlstate, "40P01") == 0;
}

static void read_failed(struct control *c, const char *sqlstate, const char *why)
{
	char q[400];

	c->read_failing = true;
	log_ratelimited_warn(&c->read_rl, -1, -1,
			     "control table unreadable: keeping the weights in force",
			     "table=%s sqlstate=%s reason=%s", c->cfg->cutover.control_table,
			     sqlstate, log_quote(q, sizeof(q), why));
}

/* One row of a read: follows it if it changed since this instance last saw it. */
static void follow_row(struct control *c, const char *name, const char *wtext, const char *at)
{
	char q[96], err[256];
	int weight;

	struct control_seen *s = seen_find(c, name, true);
	if (s == NULL)
		return;
	if (s->writes > 0)
		return; /* a local change is on its way there: this read predates it */
	if (s->have && strcmp(s->weight, wtext ? wtext : "NULL") == 0 &&
	    strcmp(s->at, at ? at : "NULL") == 0)
		return;
	seen_record(s, wtext, at);
	if (config_legacy_index(c->cfg, name) < 0) {
		if (!s->warned_unknown)
			log_warn(-1, -1, "control table names a table that is not a legacy table: ignored",
				 "table=%s row=%s", c->cfg->cutover.control_table,
				 log_quote(q, sizeof(q), name));
		s->warned_unknown = true;
		return;
	}
	if (!parse_weight(wtext, &weight)) {
		char qw[64];
		log_warn(-1, -1, "control table: weight is not an integer from 0 to 100: ignored",
			 "table=%s row=%s weight=%s", c->cfg->cutover.control_table,
			 log_quote(q, sizeof(q), name),
			 log_quote(qw, sizeof(qw), wtext ? wtext : "NULL"));
		return;
	}
	struct cutover_table *t = cutover_find(c->cutover, name);
	/* Already in force (also: the first read of a row the file agrees with): nothing to do. */
	if (t != NULL && cutover_weight(t) == weight)
		return;
	if (!cutover_set_weight(c->cutover, c->cfg, name, weight, "control table", err,
				sizeof(err)))
		log_warn(-1, -1, "control table: weight not applied", "row=%s reason=%s",
			 log_quote(q, sizeof(q), name), err);
	else
		log_info(-1, -1, "control table: weight followed", "row=%s weight=%d updated_at=%s",
			 log_quote(q, sizeof(q), name), weight, at ? at : "NULL");
}

static void on_read(void *arg, const struct pgclient_result *res)
{
	struct control *c = arg;

	c->op = CONTROL_OP_NONE;
	kick_later(c);
	/* Rollbacks handed in meanwhile count before the rows: they are newer than this read. */
	drain_inbox(c);
	if (!pgclient_ok(res)) {
		read_failed(c, pgclient_sqlstate(res), pgclient_message(res));
		return;
	}
	if (pgclient_ncols(res) < 3) {
		read_failed(c, "42703", "expected the columns table_name, weight, updated_at");
		return;
	}
	int n = pgclient_nrows(res);
	for (int r = 0; r < n; r++) {
		size_t len;
		const char *name = pgclient_value(res, r, 0, &len);
		const char *weight = pgclient_value(res, r, 1, &len);
		const char *at = pgclient_value(res, r, 2, &len);
		if (name != NULL)
			follow_row(c, name, weight, at);
	}
	if (c->read_failing || !c->first_read_done) {
		/* Failures not yet logged belong to the outage that just ended, not the next one. */
		(void)log_ratelimit_flush(&c->read_rl);
		log_info(-1, -1, c->first_read_done ? "control table readable again: following it"
						    : "following the control table",
			 "table=%s rows=%d interval_ms=%d", c->cfg->cutover.control_table, n,
			 CONTROL_POLL_MS);
	}
	c->read_failing = false;
	c->first_read_done = true;
}

/* For logs: the group a write is for ("customers+subscriptions"). */
static const char *group_name(const struct control *c, const struct control_write *w)
{
	int t = config_legacy_index(c->cfg, w->table);
	return t >= 0 ? c->cfg->cutover.groups[c->cfg->cutover.group_of[t]].name : w->table;
}

static void wrote_rows(struct control *c, struct control_write *w, const struct pgclient_result *res)
{
	int n = pgclient_nrows(res);
	char q[96];

	for (int r = 0; r < n && pgclient_ncols(res) >= 3; r++) {
		size_t len;
		const char *name = pgclient_value(res, r, 0, &len);
		struct control_seen *s = name ? seen_find(c, name, true) : NULL;
		if (s != NULL)
			seen_record(s, pgclient_value(res, r, 1, &len), pgclient_value(res, r, 2, &len));
	}
	for (size_t i = 0; i < w->nmembers; i++) {
		struct control_seen *s = seen_find(c, w->members[i], false);
		bool found = false;
		for (int r = 0; r < n && !found; r++) {
			size_t len;
			const char *name = pgclient_value(res, r, 0, &len);
			found = name != NULL && strcmp(name, w->members[i]) == 0;
		}
		if (!found && s != NULL && !s->warned_no_row) {
			s->warned_no_row = true;
			log_warn(-1, -1,
				 "control table has no row for the table: the fleet does not follow "
				 "this change (switchyard --init-control-table adds it)",
				 "table=%s row=%s", c->cfg->cutover.control_table,
				 log_quote(q, sizeof(q), w->members[i]));
		}
	}
	log_info(-1, -1, "control table written", "table=%s group=%s weight=%d by=%s rows=%d",
		 c->cfg->cutover.control_table, group_name(c, w), w->weight, w->by, n);
}

static void on_write(void *arg, const struct pgclient_result *res)
{
	struct control *c = arg;
	struct control_write *w = c->inflight, *q;
	char qr[400];

	c->op = CONTROL_OP_NONE;
	c->inflight = NULL;
	kick_later(c);
	if (w == NULL)
		return;
	if (pgclient_ok(res)) {
		/* Counts first, so that the rows just written count as seen and not as pending. */
		seen_mark(c, w, -1);
		wrote_rows(c, w, res);
		write_free(w);
		return;
	}
	const char *state = pgclient_sqlstate(res);
	bool replaced = false;
	TAILQ_FOREACH(q, &c->queue, link)
		replaced = replaced || same_group(q, w);
	if (transient(state) && !replaced) {
		/* The change is still in force here: it goes out once Supabase answers again. */
		log_ratelimited_warn(&c->write_rl, -1, -1,
				     "control table write failed: trying again",
				     "table=%s group=%s weight=%d by=%s sqlstate=%s reason=%s",
				     c->cfg->cutover.control_table, group_name(c, w), w->weight, w->by, state,
				     log_quote(qr, sizeof(qr), pgclient_message(res)));
		TAILQ_INSERT_HEAD(&c->queue, w, link);
		c->hold_writes = true;
		return;
	}
	if (!replaced)
		log_error(-1, -1, "control table write failed: the fleet does not follow this change",
			  "table=%s group=%s weight=%d by=%s sqlstate=%s reason=%s",
			  c->cfg->cutover.control_table, group_name(c, w), w->weight, w->by, state,
			  log_quote(qr, sizeof(qr), pgclient_message(res)));
	seen_mark(c, w, -1);
	write_free(w);
}

static bool send_write(struct control *c, struct control_write *w)
{
	char sql[CONTROL_REL_MAX + 256], weight[16];
	char *arr = array_literal(w->members, w->nmembers);

	if (arr == NULL)
		return false;
	snprintf(weight, sizeof(weight), "%d", w->weight);
	snprintf(sql, sizeof(sql),
		 "UPDATE %s SET weight = $1::integer, updated_at = now(), updated_by = $2, "
		 "reason = $3 WHERE table_name = ANY($4::text[]) "
		 "RETURNING table_name, weight, updated_at",
		 c->rel);
	const char *values[4] = { weight, w->by, w->reason, arr };
	bool ok = pgclient_query(c->pg, c->cfg, sql, 4, values, CONTROL_TIMEOUT_MS, on_write, c);
	free(arr);
	return ok;
}

static bool send_read(struct control *c)
{
	char sql[CONTROL_REL_MAX + 96];

	snprintf(sql, sizeof(sql),
		 "SELECT table_name, weight, updated_at FROM %s ORDER BY updated_at, table_name",
		 c->rel);
	return pgclient_query(c->pg, c->cfg, sql, 0, NULL, CONTROL_TIMEOUT_MS, on_read, c);
}

/* Starts the next statement if none is in flight: writes first, then a due read. */
static void pump(struct control *c)
{
	if (!c->enabled || c->pg == NULL || c->op != CONTROL_OP_NONE || pgclient_busy(c->pg))
		return;
	struct control_write *w = TAILQ_FIRST(&c->queue);
	if (w != NULL && !c->hold_writes) {
		TAILQ_REMOVE(&c->queue, w, link);
		if (send_write(c, w)) {
			c->op = CONTROL_OP_WRITE;
			c->inflight = w;
			return;
		}
		/* OOM: back at the head, tried again at the next tick. */
		TAILQ_INSERT_HEAD(&c->queue, w, link);
		c->hold_writes = true;
	}
	if (c->read_due) {
		if (send_read(c)) {
			c->op = CONTROL_OP_READ;
			c->read_due = false;
		}
	}
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pump(arg);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;

	(void)fd;
	(void)what;
	c->read_due = true;
	c->hold_writes = false;
	pump(c);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;
	uint64_t count;

	(void)what;
	ssize_t n = read(fd, &count, sizeof(count));
	(void)n;
	drain_inbox(c);
	pump(c);
}

/* ---- the rollback hook: any thread ---- */

static void on_rollback(void *arg, const char *table, const char *reason)
{
	struct control *c = arg;
	uint64_t one = 1;
	struct control_write *w = write_new(table, 0, "rollback", reason);

	if (w == NULL) {
		log_error(-1, -1, "control table: out of memory, a rollback is not written", "table=%s",
			  table);
		return;
	}
	pthread_mutex_lock(&c->inbox_lock);
	TAILQ_INSERT_TAIL(&c->inbox, w, link);
	pthread_mutex_unlock(&c->inbox_lock);
	ssize_t n = write(c->wake_fd, &one, sizeof(one));
	(void)n; /* the counter cannot overflow at one write per rollback */
}

/* ---- lifecycle ---- */

struct control *control_new(struct event_base *base, struct cutover *cutover)
{
	struct control *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->base = base;
	c->cutover = cutover;
	c->wake_fd = -1;
	TAILQ_INIT(&c->queue);
	TAILQ_INIT(&c->inbox);
	TAILQ_INIT(&c->seen);
	pthread_mutex_init(&c->inbox_lock, NULL);
	c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	c->timer = event_new(base, -1, EV_PERSIST, on_tick, c);
	c->kick = event_new(base, -1, 0, on_kick, c);
	if (c->wake_fd >= 0)
		c->wake_ev = event_new(base, c->wake_fd, EV_READ | EV_PERSIST, on_wake, c);
	if (c->timer == NULL || c->kick == NULL || c->wake_ev == NULL ||
	    event_add(c->wake_ev, NULL) != 0) {
		control_free(c);
		return NULL;
	}
	cutover_on_rollback(cutover, on_rollback, c);
	return c;
}

/* Stops following: the connection and what is queued go, the timer stops. */
static void stop(struct control *c)
{
	pgclient_free(c->pg);
	c->pg = NULL;
	write_free(c->inflight);
	c->inflight = NULL;
	c->op = CONTROL_OP_NONE;
	queue_clear(&c->queue);
	seen_clear(c);
	if (c->timer)
		event_del(c->timer);
	c->enabled = false;
}

void control_free(struct control *c)
{
	if (c == NULL)
		return;
	if (c->cutover)
		cutover_on_rollback(c->cutover, NULL, NULL);
	stop(c);
	queue_clear(&c->inbox);
	if (c->timer)
		event_free(c->timer);
	if (c->kick)
		event_free(c->kick);
	if (c->wake_ev)
		event_free(c->wake_ev);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	pthread_mutex_destroy(&c->inbox_lock);
	config_unref(c->cfg);
	free(c);
}

static bool same_supabase(const struct config *a, const struct config *b)
{
	return strcmp(a->supabase.host, b->supabase.host) == 0 &&
	       a->supabase.port == b->supabase.port &&
	       strcmp(a->supabase.database, b->supabase.database) == 0 &&
	       strcmp(a->supabase.user, b->supabase.user) == 0 &&
	       strcmp(a->supabase.password, b->supabase.password) == 0 &&
	       a->supabase.sslmode == b->supabase.sslmode &&
	       strcmp(a->supabase.sslrootcert, b->supabase.sslrootcert) == 0;
}

/*
 * Same table, other Supabase settings: a new connection and a first read,
 * but local changes not yet written stay queued (they are still in force
 * here), the one in flight first.
 */
static void reconnect(struct control *c)
{
	struct control_write *w;

	pgclient_free(c->pg);
	c->pg = NULL;
	if (c->inflight != NULL)
		TAILQ_INSERT_HEAD(&c->queue, c->inflight, link);
	c->inflight = NULL;
	c->op = CONTROL_OP_NONE;
	seen_clear(c);
	TAILQ_FOREACH(w, &c->queue, link)
		seen_mark(c, w, +1);
}

bool control_apply_config(struct control *c, struct config *cfg)
{
	const char *name = cfg->cutover.control_table;
	struct config *old = c->cfg;
	bool was = c->enabled;
	bool same_table = was && strcmp(old->cutover.control_table, name) == 0;

	c->cfg = config_ref(cfg);
	if (name[0] == '\0' || !quote_relation(name, c->rel, sizeof(c->rel))) {
		stop(c);
		if (was)
			log_info(-1, -1, "control table no longer configured: weights stay as they are",
				 "was=%s", old->cutover.control_table);
		config_unref(old);
		return true;
	}
	if (!same_table) {
		if (was)
			log_info(-1, -1, "control table changed: reading the new one from scratch",
				 "was=%s table=%s", old->cutover.control_table, name);
		stop(c);
	} else if (!same_supabase(old, cfg)) {
		reconnect(c);
	}
	config_unref(old);
	c->enabled = true;
	if (c->pg == NULL) {
		c->pg = pgclient_new(c->base, "switchyard control table");
		if (c->pg == NULL) {
			stop(c);
			return false;
		}
		c->first_read_done = false;
		c->read_failing = false;
	}
	struct timeval every = { CONTROL_POLL_MS / 1000, (CONTROL_POLL_MS % 1000) * 1000 };
	if (!event_pending(c->timer, EV_TIMEOUT, NULL) && event_add(c->timer, &every) != 0) {
		stop(c);
		return false;
	}
	/* The first read at once: an instance takes the fleet's weights before the first tick. */
	c->read_due = true;
	kick_later(c);
	return true;
}

void control_weight_set(struct control *c, const char *table, int weight, const char *by,
			const char *reason)
{
	if (c == NULL || !c->enabled)
		return;
	struct control_write *w = write_new(table, weight, by, reason);
	if (w == NULL) {
		log_error(-1, -1, "control table: out of memory, a change is not written", "table=%s",
			  table);
		return;
	}
	drain_inbox(c); /* keeps the order: rollbacks handed in before this change go first */
	enqueue(c, w);
	kick_later(c);
}

/* ---- switchyard --init-control-table (blocking) ---- */

/* One statement; its result, or NULL after printing why to <err>. */
static PGresult *run_sql(PGconn *conn, FILE *err, const char *what, const char *sql, int nparams,
			 const char *const *values)
{
	PGresult *r = PQexecParams(conn, sql, nparams, NULL, values, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	const char *msg = PQresultErrorMessage(r);
	fprintf(err, "switchyard: %s failed: %s", what, msg && msg[0] ? msg : PQerrorMessage(conn));
	PQclear(r);
	return NULL;
}

static bool exec_ok(PGconn *conn, FILE *err, const char *what, const char *sql, int nparams,
		    const char *const *values)
{
	PGresult *r = run_sql(conn, err, what, sql, nparams, values);
	PQclear(r);
	return r != NULL;
}

/* Does <sql> (one row, one boolean) say true? -1 on failure. */
static int ask(PGconn *conn, FILE *err, const char *what, const char *sql, const char *param)
{
	PGresult *r = run_sql(conn, err, what, sql, 1, &param);
	if (r == NULL)
		return -1;
	int yes = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return yes;
}

/* The schema part: created if it is missing (CREATE SCHEMA needs a privilege even when it exists). */
static bool init_schema(PGconn *conn, const char *name, FILE *out, FILE *err)
{
	const char *dot = strchr(name, '.');
	char schema[128], qs[CONTROL_REL_MAX], sql[CONTROL_REL_MAX + 64];
	size_t at = 0;

	if (dot == NULL)
		return true; /* unqualified: the first schema of the search path, as for any table */
	snprintf(schema, sizeof(schema), "%.*s", (int)(dot - name), name);
	int exists = ask(conn, err, "looking for the schema",
			 "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema);
	if (exists < 0)
		return false;
	if (exists)
		return true;
	if (!quote_ident(schema, strlen(schema), qs, sizeof(qs), &at))
		return false;
	snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS %s", qs);
	if (!exec_ok(conn, err, "CREATE SCHEMA", sql, 0, NULL))
		return false;
	fprintf(out, "created schema %s\n", qs);
	return true;
}

/*
 * Whoever can UPDATE the table moves the fleet's weights, past the admin
 * token and the verify guard: only its owner (switchyard's [supabase] user)
 * may, not PUBLIC nor Supabase's API roles, to which Supabase's default
 * privileges grant everything on a new table in public.
 */
static bool revoke_others(PGconn *conn, const char *rel, FILE *out, FILE *err)
{
	static const char *const api_roles[] = { "anon", "authenticated" };
	char sql[CONTROL_REL_MAX + 100];

	snprintf(sql, sizeof(sql), "REVOKE ALL ON %s FROM PUBLIC", rel);
	if (!exec_ok(conn, err, "REVOKE", sql, 0, NULL))
		return false;
	for (size_t i = 0; i < sizeof(api_roles) / sizeof(api_roles[0]); i++) {
		int has = ask(conn, err, "looking for a role",
			      "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", api_roles[i]);
		if (has < 0)
			return false;
		if (!has)
			continue;
		snprintf(sql, sizeof(sql), "REVOKE ALL ON %s FROM %s", rel, api_roles[i]);
		if (!exec_ok(conn, err, "REVOKE", sql, 0, NULL))
			return false;
	}
	fprintf(out, "only its owner may change %s (REVOKE ALL FROM PUBLIC, anon, authenticated)\n",
		rel);
	return true;
}

static bool init_table(PGconn *conn, const char *rel, FILE *out, FILE *err)
{
	char sql[CONTROL_REL_MAX + 400];

	int exists = ask(conn, err, "looking for the table", "SELECT to_regclass($1) IS NOT NULL",
			 rel);
	if (exists < 0)
		return false;
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE IF NOT EXISTS %s ("
		 "table_name text PRIMARY KEY, "
		 "weight integer NOT NULL CHECK (weight BETWEEN 0 AND 100), "
		 "updated_at timestamptz NOT NULL DEFAULT now(), "
		 "updated_by text, "
		 "reason text)",
		 rel);
	if (!exec_ok(conn, err, "CREATE TABLE", sql, 0, NULL))
		return false;
	fprintf(out, exists ? "table %s exists\n" : "created table %s\n", rel);
	return revoke_others(conn, rel, out, err);
}

/* One row per legacy table with the file's weight; rows already there stay as they are. */
static bool init_rows(PGconn *conn, const struct config *cfg, const char *rel, FILE *out,
		      FILE *err)
{
	char ins[CONTROL_REL_MAX + 300], sel[CONTROL_REL_MAX + 100];

	snprintf(ins, sizeof(ins),
		 "INSERT INTO %s (table_name, weight, updated_by, reason) "
		 "VALUES ($1, $2::integer, 'init', 'switchyard --init-control-table') "
		 "ON CONFLICT (table_name) DO NOTHING RETURNING weight",
		 rel);
	snprintf(sel, sizeof(sel), "SELECT weight, updated_at, updated_by FROM %s WHERE table_name = $1",
		 rel);
	for (size_t i = 0; i < cfg->legacy.ntables; i++) {
		const char *name = cfg->legacy.tables[i];
		char weight[16];
		snprintf(weight, sizeof(weight), "%d",
			 cfg->cutover.groups[cfg->cutover.group_of[i]].weight);
		const char *values[2] = { name, weight };
		PGresult *r = run_sql(conn, err, "INSERT", ins, 2, values);
		if (r == NULL)
			return false;
		bool added = PQntuples(r) == 1;
		PQclear(r);
		if (added) {
			fprintf(out, "  %s: added with weight %s (from the file)\n", name, weight);
			continue;
		}
		r = run_sql(conn, err, "SELECT", sel, 1, values);
		if (r == NULL)
			return false;
		if (PQntuples(r) == 1)
			fprintf(out, "  %s: kept (weight %s, updated %s by %s)\n", name,
				PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1),
				PQgetisnull(r, 0, 2) ? "-" : PQgetvalue(r, 0, 2));
		PQclear(r);
	}
	return true;
}

int control_init_table(const struct config *cfg, FILE *out, FILE *err)
{
	const char *name = cfg->cutover.control_table;
	char rel[CONTROL_REL_MAX];

	if (name[0] == '\0') {
		fprintf(err,
			"%s: [cutover] control_table is not set: there is no control table to create "
			"(e.g. control_table = \"switchyard.cutover\")\n",
			cfg->path);
		return 1;
	}
	if (!quote_relation(name, rel, sizeof(rel))) {
		fprintf(err, "%s: [cutover] control_table is too long\n", cfg->path);
		return 1;
	}
	char why[600];
	PGconn *conn = pgclient_connect_sync(cfg, "switchyard --init-control-table", NULL, why,
					     sizeof(why));
	if (conn == NULL) {
		fprintf(err, "switchyard: %s\n", why);
		return 1;
	}
	fprintf(out, "control table %s in Supabase %s:%u, database %s\n", rel, cfg->supabase.host,
		(unsigned)cfg->supabase.port, cfg->supabase.database);
	/* One transaction: a failure half-way leaves nothing behind. */
	bool ok = exec_ok(conn, err, "BEGIN", "BEGIN", 0, NULL) && init_schema(conn, name, out, err) &&
		  init_table(conn, rel, out, err) && init_rows(conn, cfg, rel, out, err) &&
		  exec_ok(conn, err, "COMMIT", "COMMIT", 0, NULL);
	PQfinish(conn);
	if (!ok) {
		fprintf(err, "switchyard: the control table was not changed\n");
		return 1;
	}
	fprintf(out, "done: switchyard instances with control_table = \"%s\" follow it every %d ms\n",
		name, CONTROL_POLL_MS);
	return 0;
}

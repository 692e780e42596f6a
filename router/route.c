/*
 * route — DESIGN.md's routing rules over classify.c's facts.
 *
 * Owns the legacy set (schema + table names + whether MySQL is configured)
 * and every refusal the router produces: SQLSTATE, message, detail, hint.
 * Messages name the table and say why, because the application developer
 * reading them did not write this proxy.
 *
 * Each statement gets a side (neutral, Supabase, MySQL, refused); a text's
 * decision combines them. "Neutral" statements (SELECT 1, BEGIN) run on
 * whichever side the rest of the text goes to.
 */
#include "router/route.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/classify.h"

/* A legacy table's name and its place in the configuration (its mask bit). */
struct named {
	const char *name; /* first: bsearch compares it through cmp_str */
	size_t index;
};

struct route_policy {
	char *schema;
	char **tables;        /* configuration order */
	struct named *sorted; /* the same strings, sorted for bsearch */
	size_t ntables;
	bool mysql;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct route_policy *route_policy_new(const struct router_legacy *legacy)
{
	struct route_policy *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	const char *schema = (legacy->schema && legacy->schema[0]) ? legacy->schema : "public";
	size_t n = legacy->tables ? legacy->ntables : 0;
	p->schema = strdup(schema);
	p->tables = calloc(n ? n : 1, sizeof(*p->tables));
	p->sorted = calloc(n ? n : 1, sizeof(*p->sorted));
	p->mysql = legacy->mysql_configured;
	if (p->schema == NULL || p->tables == NULL || p->sorted == NULL) {
		route_policy_free(p);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (legacy->tables[i] == NULL || legacy->tables[i][0] == '\0')
			continue;
		char *t = strdup(legacy->tables[i]);
		if (t == NULL) {
			route_policy_free(p);
			return NULL;
		}
		p->sorted[p->ntables].name = t;
		p->sorted[p->ntables].index = p->ntables;
		p->tables[p->ntables++] = t;
	}
	qsort(p->sorted, p->ntables, sizeof(*p->sorted), cmp_str);
	return p;
}

void route_policy_free(struct route_policy *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->ntables; i++)
		free(p->tables[i]);
	free(p->tables);
	free(p->sorted);
	free(p->schema);
	free(p);
}

const char *const *route_policy_tables(const struct route_policy *p, size_t *n)
{
	*n = p->ntables;
	return (const char *const *)p->tables;
}

static const struct named *find_legacy(const struct route_policy *p, const char *schema,
				       const char *name)
{
	if (name == NULL || (schema != NULL && strcmp(schema, p->schema) != 0))
		return NULL;
	return bsearch(&name, p->sorted, p->ntables, sizeof(*p->sorted), cmp_str);
}

bool route_is_legacy(const struct route_policy *p, const char *schema, const char *name)
{
	return find_legacy(p, schema, name) != NULL;
}

/* ---- text helpers ---- */

static void fmt(char *buf, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));

/* snprintf that may truncate: messages are bounded on purpose. */
static void fmt(char *buf, size_t cap, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(buf, cap, f, ap);
	va_end(ap);
	if (n < 0)
		buf[0] = '\0';
}

static void copy(char *buf, size_t cap, const char *s)
{
	fmt(buf, cap, "%s", s ? s : "");
}

/* Is <item> already an element of the ", "-separated list in <buf>? */
static bool list_has(const char *buf, const char *item)
{
	size_t k = strlen(item);
	for (const char *at = buf; (at = strstr(at, item)) != NULL; at++) {
		bool starts = at == buf || (at - buf >= 2 && at[-1] == ' ' && at[-2] == ',');
		if (starts && (at[k] == '\0' || at[k] == ','))
			return true;
	}
	return false;
}

/* Appends to a bounded ", "-separated list, once per item; marks truncation with "...". */
static void list_add(char *buf, size_t cap, const char *item)
{
	size_t len = strlen(buf);
	if (len + 4 >= cap || list_has(buf, item))
		return;
	int n = snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", item);
	if (n < 0 || (size_t)n >= cap - len)
		copy(buf + cap - 4, 4, "...");
}

static void reject(struct route_result *out, const char *sqlstate, const char *table)
{
	out->target = ROUTE_REJECT;
	copy(out->sqlstate, sizeof(out->sqlstate), sqlstate);
	copy(out->table, sizeof(out->table), table);
}

/* How a statement is named in messages. */
static const char *stmt_label(const struct classify_stmt *st)
{
	return st->tag ? st->tag : classify_kind_name(st->kind);
}

/* ---- relations against the legacy set ---- */

static bool is_legacy(const struct route_policy *p, const struct classify_rel *r)
{
	return route_is_legacy(p, r->schema, r->name);
}

/* A write to every table of the legacy schema (or of every schema). */
static bool is_schema_wide(const struct route_policy *p, const struct classify_rel *r)
{
	return r->name == NULL && (r->roles & CLASSIFY_R_WRITE) && p->ntables > 0 &&
	       (r->schema == NULL || strcmp(r->schema, p->schema) == 0);
}

static const struct classify_rel *first_legacy(const struct route_policy *p,
					       const struct classify_stmt *st, unsigned roles)
{
	for (size_t i = 0; i < st->nrels; i++) {
		if ((st->rels[i].roles & roles) && is_legacy(p, &st->rels[i]))
			return &st->rels[i];
	}
	return NULL;
}

static const struct classify_rel *first_schema_wide(const struct route_policy *p,
						    const struct classify_stmt *st)
{
	for (size_t i = 0; i < st->nrels; i++) {
		if (is_schema_wide(p, &st->rels[i]))
			return &st->rels[i];
	}
	return NULL;
}

static const struct classify_rel *first_platform(const struct route_policy *p,
						 const struct classify_stmt *st)
{
	for (size_t i = 0; i < st->nrels; i++) {
		const struct classify_rel *r = &st->rels[i];
		if (r->name != NULL && (r->roles & (CLASSIFY_R_READ | CLASSIFY_R_WRITE)) &&
		    !is_legacy(p, r))
			return r;
	}
	return NULL;
}

/* The legacy tables the statement reads, one bit per configuration index. */
static uint64_t legacy_mask(const struct route_policy *p, const struct classify_stmt *st)
{
	uint64_t m = 0;
	for (size_t i = 0; i < st->nrels; i++) {
		const struct classify_rel *r = &st->rels[i];
		const struct named *n = (r->roles & CLASSIFY_R_READ) ? find_legacy(p, r->schema, r->name)
								     : NULL;
		if (n != NULL && n->index < ROUTE_MAX_TABLES)
			m |= (uint64_t)1 << n->index;
	}
	return m;
}

/* ---- refusals of one statement ---- */

/* Effects MySQL cannot reproduce: running other code, Postgres session state. */
static unsigned pg_only_effects(const struct classify_stmt *st)
{
	unsigned f = st->flags & (CLASSIFY_F_EXECUTES | CLASSIFY_F_SESSION_STATE);
	/* PREPARE's own session state is the prepared statement, which the proxy tracks. */
	if (st->kind == CLASSIFY_K_PREPARE)
		f &= ~CLASSIFY_F_SESSION_STATE;
	return f;
}

enum side {
	SIDE_NEUTRAL = 0, /* touches no table and runs anywhere (SELECT 1, BEGIN) */
	SIDE_SUPABASE,    /* must run on Supabase */
	SIDE_MYSQL,       /* a legacy read for MySQL */
	SIDE_REJECT,      /* refused; *out holds the error */
};

static const char HINT_READ_ONLY[] =
	"Legacy tables are read-only through switchyard until their migration to Supabase "
	"is complete.";

static enum side refuse_write(const struct route_policy *p, const struct classify_stmt *st,
			      const struct classify_rel *r, struct route_result *out)
{
	(void)p;
	reject(out, "25006", r->name);
	fmt(out->message, sizeof(out->message),
	    "cannot write to \"%s\": legacy table served read-only from MySQL", r->name);
	if (st->flags & CLASSIFY_F_LOCKING)
		fmt(out->detail, sizeof(out->detail),
		    "The %s statement would change or lock rows of \"%s\" (a locking clause "
		    "counts as a write); nothing was sent to any backend.",
		    stmt_label(st), r->name);
	else
		fmt(out->detail, sizeof(out->detail),
		    "The %s statement would change \"%s\"; nothing was sent to any backend.",
		    stmt_label(st), r->name);
	copy(out->hint, sizeof(out->hint), HINT_READ_ONLY);
	return SIDE_REJECT;
}

static enum side refuse_mention(const struct classify_stmt *st, const struct classify_rel *r,
				struct route_result *out)
{
	reject(out, "25006", r->name);
	fmt(out->message, sizeof(out->message),
	    "cannot write to \"%s\": legacy table served read-only from MySQL", r->name);
	fmt(out->detail, sizeof(out->detail),
	    "The %s statement names \"%s\" in code switchyard cannot check (a DO block, a "
	    "function body, or SQL text run by a function), so it is refused.",
	    stmt_label(st), r->name);
	copy(out->hint, sizeof(out->hint), HINT_READ_ONLY);
	return SIDE_REJECT;
}

static enum side refuse_schema(const struct route_policy *p, const struct classify_stmt *st,
			       const struct classify_rel *r, struct route_result *out)
{
	reject(out, "25006", p->tables[0]);
	if (r->schema != NULL)
		fmt(out->message, sizeof(out->message),
		    "cannot write to schema \"%s\": it holds legacy tables served read-only "
		    "from MySQL", r->schema);
	else
		copy(out->message, sizeof(out->message),
		     "cannot write to every table: legacy tables are served read-only from MySQL");
	if (r->schema != NULL)
		fmt(out->detail, sizeof(out->detail),
		    "The %s statement affects all tables in schema \"%s\", including legacy "
		    "table \"%s\".", stmt_label(st), r->schema, p->tables[0]);
	else
		fmt(out->detail, sizeof(out->detail),
		    "The %s statement affects tables in every schema, including legacy table "
		    "\"%s\".", stmt_label(st), p->tables[0]);
	copy(out->hint, sizeof(out->hint),
	     "Name the Supabase tables explicitly instead of a whole schema.");
	return SIDE_REJECT;
}

static enum side refuse_unparseable(const struct classify_stmt *st, const struct classify_rel *r,
				    struct route_result *out)
{
	reject(out, "42601", r->name);
	fmt(out->message, sizeof(out->message),
	    "cannot parse a statement that names legacy table \"%s\"; it is refused rather than "
	    "sent where it may not belong", r->name);
	fmt(out->detail, sizeof(out->detail), "Parser error: %s.",
	    st->error ? st->error : "syntax error");
	copy(out->hint, sizeof(out->hint),
	     "Statements that name legacy tables are routed only when switchyard can parse them "
	     "(PostgreSQL 15 grammar).");
	return SIDE_REJECT;
}

static enum side refuse_doubt(const struct classify_stmt *st, const struct classify_rel *r,
			      struct route_result *out)
{
	switch (st->doubt) {
	case CLASSIFY_D_DYNAMIC_SQL:
		reject(out, "0A000", r->name);
		fmt(out->message, sizeof(out->message),
		    "cannot tell which tables the statement touches (it runs SQL text through %s) "
		    "and it names legacy table \"%s\"", st->dynamic ? st->dynamic : "a function",
		    r->name);
		break;
	case CLASSIFY_D_TOO_COMPLEX:
		reject(out, "54001", r->name);
		fmt(out->message, sizeof(out->message),
		    "statement is nested too deeply for switchyard to check and it names legacy "
		    "table \"%s\"", r->name);
		break;
	default:
		reject(out, "0A000", r->name);
		fmt(out->message, sizeof(out->message),
		    "switchyard cannot fully analyse this %s statement and it names legacy table "
		    "\"%s\"", stmt_label(st), r->name);
		break;
	}
	copy(out->detail, sizeof(out->detail),
	     "Statements that switchyard cannot classify with certainty go to Supabase only when "
	     "they name no legacy table.");
	return SIDE_REJECT;
}

static enum side refuse_kind(const struct classify_stmt *st, const struct classify_rel *r,
			     struct route_result *out)
{
	reject(out, "0A000", r->name);
	unsigned effects = pg_only_effects(st);
	if (effects != 0)
		fmt(out->message, sizeof(out->message),
		    "a %s that %s cannot read legacy table \"%s\": it is served from MySQL, which "
		    "answers only plain SELECT and COPY TO", stmt_label(st),
		    (effects & CLASSIFY_F_EXECUTES) ? "runs other code" : "changes session state",
		    r->name);
	else
		fmt(out->message, sizeof(out->message),
		    "%s cannot be used with legacy table \"%s\": it is served from MySQL, which "
		    "answers only plain SELECT and COPY TO", stmt_label(st), r->name);
	copy(out->hint, sizeof(out->hint), "Read legacy tables with a plain SELECT.");
	return SIDE_REJECT;
}

static enum side refuse_unconfigured(const struct classify_rel *r, struct route_result *out)
{
	reject(out, "0A000", r->name);
	fmt(out->message, sizeof(out->message),
	    "legacy table \"%s\" is served from MySQL, but the MySQL backend is not configured",
	    r->name);
	copy(out->hint, sizeof(out->hint),
	     "Add a [mysql] section to the switchyard configuration.");
	return SIDE_REJECT;
}

/* ---- one statement ---- */

/* Statement kinds whose legacy reads MySQL can answer. */
static bool mysql_can_serve(const struct classify_stmt *st)
{
	if (pg_only_effects(st) != 0)
		return false;
	switch (st->kind) {
	case CLASSIFY_K_SELECT:
		return true;
	case CLASSIFY_K_PREPARE:
		return st->inner_kind == CLASSIFY_K_SELECT;
	case CLASSIFY_K_COPY_TO:
		return st->inner_kind == CLASSIFY_K_COPY_TO || st->inner_kind == CLASSIFY_K_SELECT;
	case CLASSIFY_K_CURSOR: /* DECLARE ... CURSOR FOR SELECT (WITH HOLD is session state) */
		return st->inner_kind == CLASSIFY_K_SELECT;
	default:
		return false;
	}
}

/*
 * A read of legacy tables. Together with platform tables it can only run on
 * Supabase, on copies: which tables have one is known per call
 * (route_resolve), so the statement is kept as "Supabase if copied" with the
 * tables it needs; the refusal for when they are not is written then.
 */
static enum side legacy_read(const struct route_policy *p, const struct classify_stmt *st,
			     const struct classify_rel *r, struct route_result *out)
{
	const struct classify_rel *platform = first_platform(p, st);
	if (platform != NULL) {
		if (out->needs_copy == 0) {
			char where[ROUTE_NAME_MAX];
			if (platform->schema != NULL)
				fmt(where, sizeof(where), "%s.%s", platform->schema, platform->name);
			else
				copy(where, sizeof(where), platform->name);
			copy(out->platform, sizeof(out->platform), where);
		}
		out->needs_copy |= legacy_mask(p, st);
		return SIDE_SUPABASE;
	}
	if (!mysql_can_serve(st))
		return refuse_kind(st, r, out);
	if (!p->mysql)
		return refuse_unconfigured(r, out);
	out->reads |= legacy_mask(p, st);
	return SIDE_MYSQL;
}

static bool neutral(const struct classify_stmt *st)
{
	unsigned effects = CLASSIFY_F_SESSION_STATE | CLASSIFY_F_EXECUTES | CLASSIFY_F_PREPARE |
			   CLASSIFY_F_EXECUTE | CLASSIFY_F_DEALLOCATE | CLASSIFY_F_LOCKING;
	return st->nrels == 0 && !(st->flags & effects) &&
	       (st->kind == CLASSIFY_K_SELECT || st->kind == CLASSIFY_K_TXN);
}

static enum side decide_stmt(const struct route_policy *p, const struct classify_stmt *st,
			     struct route_result *out)
{
	const struct classify_rel *r;
	if (st->doubt == CLASSIFY_D_UNPARSEABLE) {
		r = first_legacy(p, st, ~0u);
		return r ? refuse_unparseable(st, r, out) : SIDE_SUPABASE;
	}
	if ((r = first_schema_wide(p, st)) != NULL)
		return refuse_schema(p, st, r, out);
	if ((r = first_legacy(p, st, CLASSIFY_R_WRITE)) != NULL)
		return refuse_write(p, st, r, out);
	if (st->doubt != CLASSIFY_D_NONE) {
		r = first_legacy(p, st, ~0u);
		return r ? refuse_doubt(st, r, out) : SIDE_SUPABASE;
	}
	if ((r = first_legacy(p, st, CLASSIFY_R_MENTION)) != NULL)
		return refuse_mention(st, r, out);
	if ((r = first_legacy(p, st, CLASSIFY_R_READ)) != NULL)
		return legacy_read(p, st, r, out);
	return neutral(st) ? SIDE_NEUTRAL : SIDE_SUPABASE;
}

/* ---- a whole text ---- */

static unsigned route_flags_of(unsigned cf)
{
	unsigned f = 0;
	if (cf & CLASSIFY_F_TXN_CONTROL)
		f |= ROUTE_F_TXN_CONTROL;
	if (cf & CLASSIFY_F_SESSION_STATE)
		f |= ROUTE_F_SESSION_STATE;
	if (cf & CLASSIFY_F_PREPARE)
		f |= ROUTE_F_PREPARE;
	if (cf & CLASSIFY_F_EXECUTE)
		f |= ROUTE_F_EXECUTE;
	if (cf & CLASSIFY_F_DEALLOCATE)
		f |= ROUTE_F_DEALLOCATE;
	if (cf & CLASSIFY_F_ROLE_CHANGE)
		f |= ROUTE_F_ROLE_CHANGE;
	return f;
}

/* Records the SQL-level statement name the proxy must track (the first of each kind). */
static void note_names(const struct classify_stmt *st, struct route_result *out)
{
	unsigned f = route_flags_of(st->flags);
	if ((f & ROUTE_F_PREPARE) && !(out->flags & ROUTE_F_PREPARE))
		copy(out->prepare_name, sizeof(out->prepare_name), st->name);
	if ((f & ROUTE_F_EXECUTE) && !(out->flags & ROUTE_F_EXECUTE))
		copy(out->execute_name, sizeof(out->execute_name), st->name);
	if ((f & ROUTE_F_DEALLOCATE) && !(out->flags & ROUTE_F_DEALLOCATE))
		copy(out->deallocate_name, sizeof(out->deallocate_name), st->name);
	out->flags |= f;
}

static void locate(struct route_result *out, size_t i, size_t n)
{
	char detail[ROUTE_DETAIL_MAX];
	fmt(detail, sizeof(detail), "Statement %zu of %zu. %s", i + 1, n, out->detail);
	copy(out->detail, sizeof(out->detail), detail);
}

static void refuse_named_multi(struct route_result *out)
{
	const char *what = (out->flags & ROUTE_F_PREPARE) ? "PREPARE"
			   : (out->flags & ROUTE_F_EXECUTE) ? "EXECUTE" : "DEALLOCATE";
	reject(out, "0A000", NULL);
	fmt(out->message, sizeof(out->message),
	    "%s must be sent as a query string of its own through switchyard", what);
	copy(out->detail, sizeof(out->detail),
	     "switchyard tracks on which backend each SQL-level prepared statement lives, one "
	     "statement per query string.");
	copy(out->hint, sizeof(out->hint), "Send it in a separate query.");
}

static enum route_pin pin_reason(const struct classify_stmt *st)
{
	const char *tag = st->tag ? st->tag : "";

	switch (st->kind) {
	case CLASSIFY_K_SESSION:
		if (strcmp(tag, "LISTEN") == 0 || strcmp(tag, "UNLISTEN") == 0)
			return ROUTE_PIN_LISTEN;
		if (strcmp(tag, "DISCARD") == 0)
			return ROUTE_PIN_DISCARD;
		if (strcmp(tag, "SET") == 0)
			return ROUTE_PIN_ROLE;
		return ROUTE_PIN_OTHER;
	case CLASSIFY_K_PREPARE:
	case CLASSIFY_K_DEALLOCATE:
		return ROUTE_PIN_PREPARE;
	case CLASSIFY_K_CURSOR:
		return ROUTE_PIN_HOLD;
	case CLASSIFY_K_DDL:
		return ROUTE_PIN_TEMP;
	case CLASSIFY_K_SELECT:
	case CLASSIFY_K_INSERT:
	case CLASSIFY_K_UPDATE:
	case CLASSIFY_K_DELETE:
		return ROUTE_PIN_LOCK;
	default:
		return ROUTE_PIN_OTHER;
	}
}

/* What the text leaves in the session: replayable SETs only, or a reason to pin. */
static void note_session_effects(const struct classify_result *facts, struct route_result *out)
{
	size_t sets = 0;

	for (size_t i = 0; i < facts->nstmts; i++) {
		const struct classify_stmt *st = &facts->stmts[i];
		if (st->flags & CLASSIFY_F_SET) {
			sets++;
			continue;
		}
		if ((st->flags & CLASSIFY_F_SESSION_STATE) && route_pin_of(out->flags) == ROUTE_PIN_NONE)
			out->flags |= (unsigned)pin_reason(st) << ROUTE_PIN_SHIFT;
	}
	if (sets > 0 && sets == facts->nstmts)
		out->flags |= ROUTE_F_SET_ONLY;
}

const char *route_pin_name(enum route_pin pin)
{
	static const char *const names[] = {
		[ROUTE_PIN_NONE] = "none",
		[ROUTE_PIN_LISTEN] = "LISTEN",
		[ROUTE_PIN_LOCK] = "session advisory lock or set_config",
		[ROUTE_PIN_TEMP] = "temporary table",
		[ROUTE_PIN_HOLD] = "WITH HOLD cursor",
		[ROUTE_PIN_ROLE] = "SET ROLE or SESSION AUTHORIZATION",
		[ROUTE_PIN_PREPARE] = "SQL-level PREPARE",
		[ROUTE_PIN_DISCARD] = "DISCARD",
		[ROUTE_PIN_OTHER] = "session state",
	};
	return (unsigned)pin <= ROUTE_PIN_OTHER ? names[pin] : "?";
}

void route_decide(const struct route_policy *p, const struct classify_result *facts,
		  struct route_result *out)
{
	memset(out, 0, sizeof(*out));
	out->target = ROUTE_SUPABASE;
	out->fingerprint = facts->fingerprint;
	size_t n = facts->nstmts, named = 0, mysql_at = 0, supa_at = 0;
	const char *legacy = NULL;
	bool refused = false;
	if (n == 0)
		out->flags |= ROUTE_F_EMPTY;
	if (n > 1)
		out->flags |= ROUTE_F_MULTI;
	for (size_t i = 0; i < n; i++) {
		const struct classify_stmt *st = &facts->stmts[i];
		note_names(st, out);
		if (route_flags_of(st->flags) &
		    (ROUTE_F_PREPARE | ROUTE_F_EXECUTE | ROUTE_F_DEALLOCATE))
			named++;
		if (refused)
			continue;
		enum side side = decide_stmt(p, st, out);
		if (side == SIDE_REJECT) {
			refused = true;
			if (n > 1)
				locate(out, i, n);
		} else if (side == SIDE_MYSQL && mysql_at == 0) {
			mysql_at = i + 1;
			legacy = first_legacy(p, st, CLASSIFY_R_READ)->name;
		} else if (side == SIDE_SUPABASE && supa_at == 0) {
			supa_at = i + 1;
		}
	}
	if (refused)
		return;
	note_session_effects(facts, out);
	if (n > 1 && named > 0)
		refuse_named_multi(out);
	else if (mysql_at != 0)
		out->target = ROUTE_MYSQL; /* with MULTI, the proxy runs each statement on its side */
	(void)supa_at;
	(void)legacy;
}

enum route_target route_stmt_target(const struct route_policy *p, const struct classify_stmt *st,
				    const struct route_context *ctx, uint64_t *tables)
{
	struct route_result scratch, resolved;

	memset(&scratch, 0, sizeof(scratch));
	*tables = 0;
	switch (decide_stmt(p, st, &scratch)) {
	case SIDE_MYSQL:
		scratch.target = ROUTE_MYSQL;
		break;
	case SIDE_REJECT:
		return ROUTE_REJECT;
	default:
		scratch.target = ROUTE_SUPABASE;
		break;
	}
	enum route_target t = scratch.target;
	unsigned flags = scratch.flags;
	*tables = scratch.reads | scratch.needs_copy;
	route_apply_context(p, scratch.reads, scratch.needs_copy, scratch.platform, ctx, &t, &flags,
			    &resolved);
	return t;
}

/* ---- the cutover's context ---- */

/* The first table of <mask> in configuration order, for messages. */
static const char *first_of(const struct route_policy *p, uint64_t mask)
{
	for (size_t i = 0; i < p->ntables && i < ROUTE_MAX_TABLES; i++) {
		if (mask & ((uint64_t)1 << i))
			return p->tables[i];
	}
	return "?";
}

/* "a, b, c" of the tables in <mask>. */
static void mask_list(const struct route_policy *p, uint64_t mask, char *buf, size_t cap)
{
	buf[0] = '\0';
	for (size_t i = 0; i < p->ntables && i < ROUTE_MAX_TABLES; i++) {
		if (mask & ((uint64_t)1 << i))
			list_add(buf, cap, p->tables[i]);
	}
}

static void refuse_uncopied(const struct route_policy *p, uint64_t missing, const char *platform,
			    struct route_result *out)
{
	char list[ROUTE_DETAIL_MAX / 2];
	const char *t = first_of(p, missing);

	mask_list(p, missing, list, sizeof(list));
	reject(out, "0A000", t);
	fmt(out->message, sizeof(out->message),
	    "cannot combine legacy and Supabase tables in one statement: \"%s\" lives in MySQL "
	    "and has no copy in Supabase, \"%s\" in Supabase", t,
	    platform && platform[0] ? platform : "?");
	fmt(out->detail, sizeof(out->detail),
	    "Legacy tables without a Supabase copy: %s. A statement that reads legacy tables "
	    "together with Supabase tables runs on Supabase, and only when every legacy table in "
	    "it has a copy there (listed in [cutover] copied, or a weight above 0).", list);
	copy(out->hint, sizeof(out->hint),
	     "Query the legacy and the Supabase tables in separate statements and combine the "
	     "results in the application.");
}

static void refuse_split(const struct route_policy *p, uint64_t supa, uint64_t missing,
			 struct route_result *out)
{
	char on[ROUTE_DETAIL_MAX / 4], off[ROUTE_DETAIL_MAX / 4];
	const char *t = first_of(p, missing);

	mask_list(p, supa, on, sizeof(on));
	mask_list(p, missing, off, sizeof(off));
	reject(out, "0A000", t);
	fmt(out->message, sizeof(out->message),
	    "legacy tables on different sides for this client: \"%s\" is read from its Supabase "
	    "copy, \"%s\" from MySQL", first_of(p, supa), t);
	fmt(out->detail, sizeof(out->detail),
	    "The cutover serves %s from Supabase for this client; %s has no copy in Supabase, so "
	    "one statement cannot read them together.", on, off);
	copy(out->hint, sizeof(out->hint),
	     "Read them in separate statements, or put the tables in one [cutover] group so that "
	     "they move together.");
}

void route_apply_context(const struct route_policy *p, uint64_t reads, uint64_t needs_copy,
			 const char *platform, const struct route_context *ctx,
			 enum route_target *target, unsigned *flags, struct route_result *refusal)
{
	if (*target == ROUTE_REJECT || (reads | needs_copy) == 0)
		return;
	uint64_t copied = (ctx && ctx->copied) ? ctx->copied(ctx->arg) : 0;
	if (needs_copy & ~copied) {
		memset(refusal, 0, sizeof(*refusal));
		refuse_uncopied(p, needs_copy & ~copied, platform, refusal);
		*target = ROUTE_REJECT;
		return;
	}
	if (*target != ROUTE_MYSQL || reads == 0)
		return;
	uint64_t supa = (ctx && ctx->on_supabase) ? ctx->on_supabase(ctx->arg, reads) : 0;
	supa &= reads;
	if (supa == 0)
		return;
	*flags |= ROUTE_F_CUTOVER;
	if (*flags & ROUTE_F_MULTI) {
		/* Whole on Supabase, or statement by statement (router_pieces decides each). */
		if (supa == reads)
			*target = ROUTE_SUPABASE;
		return;
	}
	uint64_t missing = reads & ~(supa | copied);
	if (missing != 0) {
		memset(refusal, 0, sizeof(*refusal));
		refuse_split(p, supa, missing, refusal);
		*target = ROUTE_REJECT;
		*flags &= ~(unsigned)ROUTE_F_CUTOVER;
		return;
	}
	*target = ROUTE_SUPABASE;
}

void route_supabase(struct route_result *out)
{
	memset(out, 0, sizeof(*out));
	out->target = ROUTE_SUPABASE;
}

void route_unchecked(const struct route_policy *p, enum route_unchecked why,
		     bool may_name_legacy, const char *table, size_t len, struct route_result *out)
{
	(void)p;
	route_supabase(out);
	const char *what = table ? table : "(spelled with escapes)";
	switch (why) {
	case ROUTE_U_NUL:
		reject(out, "08P01", NULL);
		copy(out->message, sizeof(out->message), "statement text contains a zero byte");
		copy(out->detail, sizeof(out->detail),
		     "A query string ends at its first zero byte; switchyard refuses text whose "
		     "parts a backend and switchyard could read differently.");
		return;
	case ROUTE_U_TOO_LONG:
		if (!may_name_legacy)
			return;
		reject(out, "54000", table);
		fmt(out->message, sizeof(out->message),
		    "statement of %zu bytes is too long for switchyard to check (limit %u bytes) and "
		    "it may name legacy table \"%s\"", len, (unsigned)CLASSIFY_MAX_TEXT, what);
		copy(out->hint, sizeof(out->hint), "Split the statement into smaller ones.");
		return;
	case ROUTE_U_OOM:
		if (!may_name_legacy)
			return;
		reject(out, "53200", table);
		fmt(out->message, sizeof(out->message),
		    "out of memory while checking a statement that may name legacy table \"%s\"",
		    what);
		return;
	}
}

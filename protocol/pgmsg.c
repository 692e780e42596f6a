/*
 * pgmsg — Postgres v3 wire framing, readers and writers.
 *
 * Everything that arrives here is untrusted: every length is checked against
 * what is actually available before it is used, and a reader that runs off
 * the end of its body turns "bad" instead of reading further. Writers never
 * partially fail: once an allocation fails, every later put is a no-op and
 * the caller sees one "failed" flag.
 */
#include "protocol/pgmsg.h"

#include <stdlib.h>
#include <string.h>

static uint32_t load_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* ---- framing ---- */

ssize_t pgmsg_frame(const uint8_t *buf, size_t avail, size_t max_body, uint8_t *type,
		    uint32_t *body_len)
{
	if (avail < PGMSG_HEADER_LEN)
		return 0;
	uint32_t len = load_be32(buf + 1);
	/* The length counts itself; anything below 4 cannot be a message. */
	if (len < 4 || len - 4 > max_body || len - 4 > PGMSG_MAX_LEN)
		return -1;
	*type = buf[0];
	*body_len = len - 4;
	return (ssize_t)len + 1;
}

ssize_t pgmsg_startup_frame(const uint8_t *buf, size_t avail, uint32_t *code)
{
	if (avail < 4)
		return 0;
	uint32_t len = load_be32(buf);
	if (len < 8 || len > PGMSG_STARTUP_MAX)
		return -1;
	if (avail < len)
		return 0;
	*code = load_be32(buf + 4);
	return (ssize_t)len;
}

/* ---- reading ---- */

void pgmsg_reader_init(struct pgmsg_reader *r, const void *body, size_t len)
{
	r->p = body;
	r->len = len;
	r->pos = 0;
	r->bad = false;
}

static bool reader_has(struct pgmsg_reader *r, size_t n)
{
	if (r->bad || r->len - r->pos < n) {
		r->bad = true;
		return false;
	}
	return true;
}

uint8_t pgmsg_get_byte(struct pgmsg_reader *r)
{
	if (!reader_has(r, 1))
		return 0;
	return r->p[r->pos++];
}

int16_t pgmsg_get_int16(struct pgmsg_reader *r)
{
	if (!reader_has(r, 2))
		return 0;
	uint16_t v = (uint16_t)((r->p[r->pos] << 8) | r->p[r->pos + 1]);
	r->pos += 2;
	return (int16_t)v;
}

int32_t pgmsg_get_int32(struct pgmsg_reader *r)
{
	if (!reader_has(r, 4))
		return 0;
	uint32_t v = load_be32(r->p + r->pos);
	r->pos += 4;
	return (int32_t)v;
}

const char *pgmsg_get_string(struct pgmsg_reader *r)
{
	if (r->bad)
		return "";
	const uint8_t *start = r->p + r->pos;
	const uint8_t *nul = memchr(start, '\0', r->len - r->pos);
	if (nul == NULL) {
		r->bad = true;
		return "";
	}
	r->pos += (size_t)(nul - start) + 1;
	return (const char *)start;
}

const uint8_t *pgmsg_get_bytes(struct pgmsg_reader *r, size_t n)
{
	if (!reader_has(r, n))
		return NULL;
	const uint8_t *p = r->p + r->pos;
	r->pos += n;
	return p;
}

size_t pgmsg_reader_left(const struct pgmsg_reader *r)
{
	return r->bad ? 0 : r->len - r->pos;
}

bool pgmsg_reader_ok(const struct pgmsg_reader *r)
{
	return !r->bad && r->pos == r->len;
}

/* ---- decoded messages ---- */

bool pgmsg_parse_startup(const uint8_t *pkt, size_t len, struct pgmsg_startup *out)
{
	struct pgmsg_reader r;

	if (len < 8)
		return false;
	pgmsg_reader_init(&r, pkt + 8, len - 8);
	out->protocol = load_be32(pkt + 4);
	out->nparams = 0;
	for (;;) {
		const char *name = pgmsg_get_string(&r);
		if (r.bad)
			return false;
		if (name[0] == '\0')
			break; /* the list ends with an empty name */
		const char *value = pgmsg_get_string(&r);
		if (r.bad || out->nparams == PGMSG_STARTUP_MAX_PARAMS)
			return false;
		if (pgmsg_startup_get(out, name) != NULL)
			return false;
		out->names[out->nparams] = name;
		out->values[out->nparams] = value;
		out->nparams++;
	}
	return pgmsg_reader_ok(&r);
}

const char *pgmsg_startup_get(const struct pgmsg_startup *st, const char *name)
{
	for (size_t i = 0; i < st->nparams; i++)
		if (strcmp(st->names[i], name) == 0)
			return st->values[i];
	return NULL;
}

bool pgmsg_parse_cancel(const uint8_t *pkt, size_t len, int32_t *pid, int32_t *key)
{
	if (len != 16 || load_be32(pkt + 4) != PGMSG_CANCEL_REQUEST_CODE)
		return false;
	*pid = (int32_t)load_be32(pkt + 8);
	*key = (int32_t)load_be32(pkt + 12);
	return true;
}

bool pgmsg_parse_query(const uint8_t *body, size_t len, const char **sql, size_t *sql_len)
{
	struct pgmsg_reader r;

	pgmsg_reader_init(&r, body, len);
	*sql = pgmsg_get_string(&r);
	*sql_len = r.bad ? 0 : len - 1;
	return pgmsg_reader_ok(&r);
}

bool pgmsg_parse_parse(const uint8_t *body, size_t len, struct pgmsg_parse *out)
{
	struct pgmsg_reader r;

	pgmsg_reader_init(&r, body, len);
	out->name = pgmsg_get_string(&r);
	size_t sql_start = r.pos;
	out->sql = pgmsg_get_string(&r);
	out->sql_len = r.bad ? 0 : r.pos - sql_start - 1;
	out->nparams = pgmsg_get_int16(&r);
	if (out->nparams < 0)
		return false;
	(void)pgmsg_get_bytes(&r, (size_t)out->nparams * 4);
	return pgmsg_reader_ok(&r);
}

/* Skips an int16 count followed by that many int16 values (format codes). */
static void skip_int16_array(struct pgmsg_reader *r)
{
	int16_t n = pgmsg_get_int16(r);
	if (n < 0)
		r->bad = true;
	else
		(void)pgmsg_get_bytes(r, (size_t)n * 2);
}

bool pgmsg_parse_bind(const uint8_t *body, size_t len, const char **portal, const char **stmt)
{
	struct pgmsg_reader r;

	pgmsg_reader_init(&r, body, len);
	*portal = pgmsg_get_string(&r);
	*stmt = pgmsg_get_string(&r);
	skip_int16_array(&r); /* parameter format codes */
	int16_t nvalues = pgmsg_get_int16(&r);
	if (nvalues < 0)
		return false;
	for (int i = 0; i < nvalues && !r.bad; i++) {
		int32_t vlen = pgmsg_get_int32(&r);
		if (vlen < -1)
			return false;
		if (vlen > 0)
			(void)pgmsg_get_bytes(&r, (size_t)vlen);
	}
	skip_int16_array(&r); /* result format codes */
	return pgmsg_reader_ok(&r);
}

bool pgmsg_parse_target(const uint8_t *body, size_t len, char *kind, const char **name)
{
	struct pgmsg_reader r;

	pgmsg_reader_init(&r, body, len);
	*kind = (char)pgmsg_get_byte(&r);
	*name = pgmsg_get_string(&r);
	return pgmsg_reader_ok(&r) && (*kind == 'S' || *kind == 'P');
}

bool pgmsg_parse_execute(const uint8_t *body, size_t len, const char **portal, int32_t *max_rows)
{
	struct pgmsg_reader r;

	pgmsg_reader_init(&r, body, len);
	*portal = pgmsg_get_string(&r);
	*max_rows = pgmsg_get_int32(&r);
	return pgmsg_reader_ok(&r);
}

bool pgmsg_parse_sasl_initial(const uint8_t *body, size_t len, const char **mechanism,
			      const uint8_t **data, size_t *data_len)
{
	struct pgmsg_reader r;

	pgmsg_reader_init(&r, body, len);
	*mechanism = pgmsg_get_string(&r);
	int32_t n = pgmsg_get_int32(&r);
	/* -1 means "no initial response"; SCRAM always has one. */
	if (n < 0)
		return false;
	*data = pgmsg_get_bytes(&r, (size_t)n);
	*data_len = (size_t)n;
	return pgmsg_reader_ok(&r);
}

bool pgmsg_parse_password(const uint8_t *body, size_t len, const char **password)
{
	struct pgmsg_reader r;

	pgmsg_reader_init(&r, body, len);
	*password = pgmsg_get_string(&r);
	return pgmsg_reader_ok(&r);
}

bool pgmsg_parse_auth(const uint8_t *body, size_t len, int32_t *code, const uint8_t **data,
		      size_t *data_len)
{
	struct pgmsg_reader r;

	pgmsg_reader_init(&r, body, len);
	*code = pgmsg_get_int32(&r);
	if (r.bad)
		return false;
	*data_len = pgmsg_reader_left(&r);
	*data = pgmsg_get_bytes(&r, *data_len);
	return pgmsg_reader_ok(&r);
}

bool pgmsg_sasl_offers(const uint8_t *data, size_t len, const char *mech)
{
	struct pgmsg_reader r;

	pgmsg_reader_init(&r, data, len);
	for (;;) {
		const char *m = pgmsg_get_string(&r);
		if (r.bad || m[0] == '\0')
			return false;
		if (strcmp(m, mech) == 0)
			return true;
	}
}

bool pgmsg_parse_backend_key(const uint8_t *body, size_t len, int32_t *pid, int32_t *key)
{
	struct pgmsg_reader r;

	pgmsg_reader_init(&r, body, len);
	*pid = pgmsg_get_int32(&r);
	*key = pgmsg_get_int32(&r);
	return pgmsg_reader_ok(&r);
}

bool pgmsg_parse_param_status(const uint8_t *body, size_t len, const char **name,
			      const char **value)
{
	struct pgmsg_reader r;

	pgmsg_reader_init(&r, body, len);
	*name = pgmsg_get_string(&r);
	*value = pgmsg_get_string(&r);
	return pgmsg_reader_ok(&r);
}

bool pgmsg_parse_ready(const uint8_t *body, size_t len, char *status)
{
	if (len != 1)
		return false;
	*status = (char)body[0];
	return *status == 'I' || *status == 'T' || *status == 'E';
}

bool pgmsg_parse_error(const uint8_t *body, size_t len, struct pgmsg_error *out)
{
	struct pgmsg_reader r;
	const char *severity_local = NULL;

	memset(out, 0, sizeof(*out));
	pgmsg_reader_init(&r, body, len);
	for (;;) {
		uint8_t field = pgmsg_get_byte(&r);
		if (r.bad)
			return false;
		if (field == 0)
			break;
		const char *value = pgmsg_get_string(&r);
		switch (field) {
		case 'S': severity_local = value; break;
		case 'V': out->severity = value; break;
		case 'C': out->sqlstate = value; break;
		case 'M': out->message = value; break;
		case 'D': out->detail = value; break;
		case 'H': out->hint = value; break;
		default: break;
		}
	}
	if (out->severity == NULL)
		out->severity = severity_local;
	return pgmsg_reader_ok(&r) && out->severity && out->sqlstate && out->message;
}

/* ---- writing ---- */

void pgmsg_writer_init(struct pgmsg_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void pgmsg_writer_free(struct pgmsg_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

void pgmsg_writer_reset(struct pgmsg_writer *w)
{
	w->len = 0;
	w->open = false;
	w->failed = false;
}

static bool writer_reserve(struct pgmsg_writer *w, size_t n)
{
	if (w->failed)
		return false;
	if (n > PGMSG_MAX_LEN || w->len > PGMSG_MAX_LEN - n) {
		w->failed = true;
		return false;
	}
	if (w->len + n <= w->cap)
		return true;
	size_t cap = w->cap ? w->cap : 256;
	while (cap < w->len + n)
		cap *= 2;
	uint8_t *buf = realloc(w->buf, cap);
	if (buf == NULL) {
		w->failed = true;
		return false;
	}
	w->buf = buf;
	w->cap = cap;
	return true;
}

void pgmsg_put_raw(struct pgmsg_writer *w, const void *p, size_t n)
{
	if (n == 0 || !writer_reserve(w, n))
		return;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void pgmsg_put_bytes(struct pgmsg_writer *w, const void *p, size_t n)
{
	pgmsg_put_raw(w, p, n);
}

void pgmsg_put_byte(struct pgmsg_writer *w, uint8_t v)
{
	pgmsg_put_raw(w, &v, 1);
}

void pgmsg_put_int16(struct pgmsg_writer *w, int16_t v)
{
	uint8_t b[2] = { (uint8_t)((uint16_t)v >> 8), (uint8_t)v };
	pgmsg_put_raw(w, b, 2);
}

void pgmsg_put_int32(struct pgmsg_writer *w, int32_t v)
{
	uint32_t u = (uint32_t)v;
	uint8_t b[4] = { (uint8_t)(u >> 24), (uint8_t)(u >> 16), (uint8_t)(u >> 8), (uint8_t)u };
	pgmsg_put_raw(w, b, 4);
}

void pgmsg_put_string(struct pgmsg_writer *w, const char *s)
{
	pgmsg_put_raw(w, s, strlen(s) + 1);
}

void pgmsg_begin(struct pgmsg_writer *w, uint8_t type)
{
	if (w->open)
		w->failed = true; /* a builder bug: messages never nest */
	w->msg_start = w->len;
	w->open = true;
	w->typed = type != 0;
	if (w->typed)
		pgmsg_put_byte(w, type);
	pgmsg_put_int32(w, 0); /* the length, patched by pgmsg_end */
}

void pgmsg_end(struct pgmsg_writer *w)
{
	if (!w->open) {
		w->failed = true;
		return;
	}
	w->open = false;
	if (w->failed)
		return;
	/* The length counts itself but not the type byte. */
	size_t at = w->msg_start + (w->typed ? 1 : 0);
	uint32_t len = (uint32_t)(w->len - at);
	w->buf[at] = (uint8_t)(len >> 24);
	w->buf[at + 1] = (uint8_t)(len >> 16);
	w->buf[at + 2] = (uint8_t)(len >> 8);
	w->buf[at + 3] = (uint8_t)len;
}

void pgmsg_abandon(struct pgmsg_writer *w)
{
	if (!w->open)
		return;
	w->open = false;
	w->len = w->msg_start;
}

/* ---- whole-message builders ---- */

static void put_field(struct pgmsg_writer *w, uint8_t field, const char *value)
{
	if (value == NULL)
		return;
	pgmsg_put_byte(w, field);
	pgmsg_put_string(w, value);
}

void pgmsg_write_error(struct pgmsg_writer *w, bool fatal, const char *sqlstate,
		       const char *message, const char *detail, const char *hint)
{
	const char *severity = fatal ? "FATAL" : "ERROR";

	pgmsg_begin(w, 'E');
	put_field(w, 'S', severity);
	put_field(w, 'V', severity);
	put_field(w, 'C', sqlstate);
	put_field(w, 'M', message);
	put_field(w, 'D', detail);
	put_field(w, 'H', hint);
	pgmsg_put_byte(w, 0);
	pgmsg_end(w);
}

void pgmsg_write_notice(struct pgmsg_writer *w, const char *sqlstate, const char *message)
{
	pgmsg_begin(w, 'N');
	put_field(w, 'S', "NOTICE");
	put_field(w, 'V', "NOTICE");
	put_field(w, 'C', sqlstate);
	put_field(w, 'M', message);
	pgmsg_put_byte(w, 0);
	pgmsg_end(w);
}

void pgmsg_write_ready(struct pgmsg_writer *w, char status)
{
	pgmsg_begin(w, 'Z');
	pgmsg_put_byte(w, (uint8_t)status);
	pgmsg_end(w);
}

void pgmsg_write_auth(struct pgmsg_writer *w, int32_t code, const void *data, size_t len)
{
	pgmsg_begin(w, 'R');
	pgmsg_put_int32(w, code);
	pgmsg_put_bytes(w, data, len);
	pgmsg_end(w);
}

void pgmsg_write_backend_key(struct pgmsg_writer *w, int32_t pid, int32_t key)
{
	pgmsg_begin(w, 'K');
	pgmsg_put_int32(w, pid);
	pgmsg_put_int32(w, key);
	pgmsg_end(w);
}

void pgmsg_write_param_status(struct pgmsg_writer *w, const char *name, const char *value)
{
	pgmsg_begin(w, 'S');
	pgmsg_put_string(w, name);
	pgmsg_put_string(w, value);
	pgmsg_end(w);
}

void pgmsg_write_query(struct pgmsg_writer *w, const char *sql)
{
	pgmsg_begin(w, 'Q');
	pgmsg_put_string(w, sql);
	pgmsg_end(w);
}

void pgmsg_write_parse(struct pgmsg_writer *w, const char *name, const char *sql)
{
	pgmsg_begin(w, 'P');
	pgmsg_put_string(w, name);
	pgmsg_put_string(w, sql);
	pgmsg_put_int16(w, 0);
	pgmsg_end(w);
}

void pgmsg_write_sync(struct pgmsg_writer *w)
{
	pgmsg_begin(w, 'S');
	pgmsg_end(w);
}

void pgmsg_write_terminate(struct pgmsg_writer *w)
{
	pgmsg_begin(w, 'X');
	pgmsg_end(w);
}

void pgmsg_write_password(struct pgmsg_writer *w, const char *password)
{
	pgmsg_begin(w, 'p');
	pgmsg_put_string(w, password);
	pgmsg_end(w);
}

void pgmsg_write_sasl_initial(struct pgmsg_writer *w, const char *mechanism, const char *data)
{
	size_t n = strlen(data);

	pgmsg_begin(w, 'p');
	pgmsg_put_string(w, mechanism);
	pgmsg_put_int32(w, (int32_t)n);
	pgmsg_put_bytes(w, data, n);
	pgmsg_end(w);
}

void pgmsg_write_sasl_response(struct pgmsg_writer *w, const char *data)
{
	pgmsg_begin(w, 'p');
	pgmsg_put_bytes(w, data, strlen(data));
	pgmsg_end(w);
}

void pgmsg_write_ssl_request(struct pgmsg_writer *w)
{
	pgmsg_begin(w, 0);
	pgmsg_put_int32(w, PGMSG_SSL_REQUEST_CODE);
	pgmsg_end(w);
}

void pgmsg_write_cancel(struct pgmsg_writer *w, int32_t pid, int32_t key)
{
	pgmsg_begin(w, 0);
	pgmsg_put_int32(w, PGMSG_CANCEL_REQUEST_CODE);
	pgmsg_put_int32(w, pid);
	pgmsg_put_int32(w, key);
	pgmsg_end(w);
}

void pgmsg_write_startup(struct pgmsg_writer *w, const char *const *names,
			 const char *const *values, size_t n)
{
	pgmsg_begin(w, 0);
	pgmsg_put_int32(w, PGMSG_PROTOCOL_3_0);
	for (size_t i = 0; i < n; i++) {
		pgmsg_put_string(w, names[i]);
		pgmsg_put_string(w, values[i]);
	}
	pgmsg_put_byte(w, 0);
	pgmsg_end(w);
}

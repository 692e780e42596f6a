/*
 * pgvalue — stub until the value mapping lands.
 */
#include "router/pgvalue.h"

#include <stdlib.h>
#include <string.h>

bool pgv_buf_put(struct pgv_buf *b, const void *p, size_t n)
{
	if (b->failed)
		return false;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (q == NULL) {
			b->failed = true;
			return false;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return true;
}

void pgv_buf_free(struct pgv_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void pgv_session_init(struct pgv_session *s)
{
	memset(s, 0, sizeof(*s));
	s->extra_float_digits = 1;
	s->bytea_hex = true;
}

bool pgv_session_set(struct pgv_session *s, const char *name, const char *value)
{
	(void)s;
	(void)name;
	(void)value;
	return true;
}

void pgv_session_set_tz(struct pgv_session *s, const struct tz_zone *tz, const char *name)
{
	(void)name;
	s->tz = tz;
}

enum pgv_status pgv_text(struct pgv_buf *out, enum pgv_conv conv, uint32_t oid, int32_t typmod,
			 const char *v, size_t len, const struct pgv_session *s,
			 struct pgv_error *err)
{
	(void)conv, (void)oid, (void)typmod, (void)s, (void)err;
	return pgv_buf_put(out, v, len) ? PGV_OK : PGV_OOM;
}

enum pgv_status pgv_binary(struct pgv_buf *out, enum pgv_conv conv, uint32_t oid, int32_t typmod,
			   const char *v, size_t len, const struct pgv_session *s,
			   struct pgv_error *err)
{
	(void)out, (void)conv, (void)oid, (void)typmod, (void)v, (void)len, (void)s;
	memcpy(err->sqlstate, "0A000", 6);
	strcpy(err->message, "binary results are not implemented yet");
	return PGV_BAD;
}

enum pgv_status pgv_param_literal(struct pgv_buf *out, uint32_t oid, int format, const char *v,
				  size_t len, const struct pgv_session *s, struct pgv_error *err)
{
	(void)oid, (void)format, (void)s, (void)err;
	if (v == NULL)
		return pgv_buf_put(out, "NULL", 4) ? PGV_OK : PGV_OOM;
	pgv_buf_put(out, "'", 1);
	for (size_t i = 0; i < len; i++) {
		pgv_buf_put(out, &v[i], 1);
		if (v[i] == '\'')
			pgv_buf_put(out, "'", 1);
	}
	return pgv_buf_put(out, "'", 1) ? PGV_OK : PGV_OOM;
}

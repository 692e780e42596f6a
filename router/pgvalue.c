/*
 * pgvalue — values between MySQL and Postgres.
 *
 * Out (pgv_text, pgv_binary): a value MySQL sent in its text protocol is
 * parsed by its conversion (catalog.h) and written the way Postgres 15's
 * output or send function writes that type under the session's settings:
 * datetime.c's EncodeDateOnly/EncodeDateTime/EncodeInterval, float.c's
 * float4out/float8out (shortest round-trip digits when extra_float_digits
 * > 0, %.*g otherwise), byteaout, numeric_send and the *_send functions.
 *
 * In (pgv_param_literal): a client's bound parameter, checked the way the
 * type's input or receive function checks it (same SQLSTATEs and messages),
 * becomes a MySQL literal for sql_mode NO_BACKSLASH_ESCAPES without
 * ANSI_QUOTES, where only a quote needs escaping inside '...'.
 *
 * Shortest floats: Postgres prints them with Ryu. Here the shortest digit
 * count is found by binary search over correctly rounded %.*e renderings
 * checked by strtod/strtof (both exact in glibc, and switchyard runs in the
 * C locale), with Ryu's wider upper interval at powers of two handled
 * separately; the digits are the ones Ryu picks (the shortest, closest to
 * the exact value).
 *
 * No allocation per value beyond the output buffer; values are parsed from
 * (pointer, length) and never need a terminating NUL.
 */
#include "router/pgvalue.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/tz.h"

#define USECS_PER_SEC INT64_C(1000000)
#define USECS_PER_DAY INT64_C(86400000000)
#define SECS_PER_DAY 86400
#define EPOCH_2000_DAYS 10957   /* 2000-01-01 - 1970-01-01 in days */
#define MAXTZLEN 10             /* datetime.h: abbreviations are printed up to this */

/* Buffer. */

/* Room for n more bytes at the end (the caller advances len); NULL on OOM. */
static char *buf_room(struct pgv_buf *b, size_t n)
{
	if (b->failed)
		return NULL;
	if (n > SIZE_MAX / 4 - b->len) {
		b->failed = true;
		return NULL;
	}
	if (b->p == NULL || b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (q == NULL) {
			b->failed = true;
			return NULL;
		}
		b->p = q;
		b->cap = cap;
	}
	return b->p + b->len;
}

bool pgv_buf_put(struct pgv_buf *b, const void *p, size_t n)
{
	char *q = buf_room(b, n);
	if (q == NULL)
		return false;
	if (n > 0)
		memcpy(q, p, n);
	b->len += n;
	return true;
}

void pgv_buf_free(struct pgv_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static enum pgv_status put(struct pgv_buf *b, const void *p, size_t n)
{
	return pgv_buf_put(b, p, n) ? PGV_OK : PGV_OOM;
}

static enum pgv_status put_str(struct pgv_buf *b, const char *s)
{
	return put(b, s, strlen(s));
}

/* Errors. */

static enum pgv_status fail(struct pgv_error *err, const char *state, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum pgv_status fail(struct pgv_error *err, const char *state, const char *fmt, ...)
{
	if (err != NULL) {
		memcpy(err->sqlstate, state, 5);
		err->sqlstate[5] = '\0';
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return PGV_BAD;
}

/* At most this many bytes of a value are quoted in a message. */
#define QLEN(len) ((int)((len) > 120 ? 120 : (len)))

/* Calendar (proleptic Gregorian; astronomical years, 0 = 1 BC). */

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int month_days(int64_t y, int m)
{
	static const int md[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return md[m - 1] + (m == 2 && leap);
}

/* Broken-down local time. */
struct dt {
	int64_t year;
	int mon, mday, hour, min, sec;
	int32_t usec;
};

/* Day <days> since 1970 plus <rem> microseconds into it (0 <= rem < a day). */
static void dt_from_parts(int64_t days, int64_t rem, struct dt *t)
{
	civil_from_days(days, &t->year, &t->mon, &t->mday);
	t->hour = (int)(rem / (3600 * USECS_PER_SEC));
	t->min = (int)(rem / (60 * USECS_PER_SEC) % 60);
	t->sec = (int)(rem / USECS_PER_SEC % 60);
	t->usec = (int32_t)(rem % USECS_PER_SEC);
}

static void dt_from_usecs(int64_t us, struct dt *t)
{
	int64_t days = floor_div(us, USECS_PER_DAY);
	dt_from_parts(days, us - days * USECS_PER_DAY, t);
}

static int64_t dt_to_usecs(const struct dt *t)
{
	return days_from_civil(t->year, t->mon, t->mday) * USECS_PER_DAY +
	       ((int64_t)t->hour * 3600 + t->min * 60 + t->sec) * USECS_PER_SEC + t->usec;
}

/* Small writers into a char array; callers size them for the worst case. */

/* v in decimal, zero-padded to <width> digits: counted first, then written back to front. */
static char *put_uint(char *p, uint64_t v, int width)
{
	int n = 1;
	for (uint64_t t = v; t >= 10; t /= 10)
		n++;
	if (n < width)
		n = width;
	char *end = p + n;
	for (char *q = end; q > p; v /= 10)
		*--q = (char)('0' + v % 10);
	return end;
}

static char *put_int(char *p, int64_t v)
{
	if (v < 0) {
		*p++ = '-';
		return put_uint(p, (uint64_t)0 - (uint64_t)v, 1);
	}
	return put_uint(p, (uint64_t)v, 1);
}

static char *put_cstr(char *p, const char *s, size_t max)
{
	for (size_t i = 0; s[i] && i < max; i++)
		*p++ = s[i];
	return p;
}

/* AppendSeconds: seconds, then the fraction without trailing zeros. */
static char *put_seconds(char *p, int sec, int32_t usec, bool fillzeros)
{
	p = put_uint(p, (uint64_t)(sec < 0 ? -sec : sec), fillzeros ? 2 : 1);
	if (usec == 0)
		return p;
	uint32_t f = (uint32_t)(usec < 0 ? -usec : usec);
	int n = 6;
	while (f % 10 == 0)
		f /= 10, n--;
	*p++ = '.';
	return put_uint(p, f, n);
}

/* EncodeTimezone: +hh, +hh:mm, +hh:mm:ss from seconds east. */
static char *put_tz_offset(char *p, int32_t east)
{
	int32_t a = east < 0 ? -east : east;
	*p++ = east >= 0 ? '+' : '-';
	p = put_uint(p, (uint64_t)(a / 3600), 2);
	if (a % 60) {
		*p++ = ':';
		p = put_uint(p, (uint64_t)(a / 60 % 60), 2);
		*p++ = ':';
		p = put_uint(p, (uint64_t)(a % 60), 2);
	} else if (a / 60 % 60) {
		*p++ = ':';
		p = put_uint(p, (uint64_t)(a / 60 % 60), 2);
	}
	return p;
}

static uint64_t shown_year(int64_t y)
{
	return (uint64_t)(y > 0 ? y : -(y - 1));
}

static const char *const month_names[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *const day_names[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

/* EncodeDateOnly. */
static char *put_date(char *p, const struct dt *t, const struct pgv_session *s)
{
	bool dmy = s->dateorder == PGV_DO_DMY;
	switch (s->datestyle) {
	case PGV_DS_ISO:
		p = put_uint(p, shown_year(t->year), 4);
		*p++ = '-';
		p = put_uint(p, (uint64_t)t->mon, 2);
		*p++ = '-';
		p = put_uint(p, (uint64_t)t->mday, 2);
		break;
	case PGV_DS_SQL:
	case PGV_DS_POSTGRES: {
		char sep = s->datestyle == PGV_DS_SQL ? '/' : '-';
		p = put_uint(p, (uint64_t)(dmy ? t->mday : t->mon), 2);
		*p++ = sep;
		p = put_uint(p, (uint64_t)(dmy ? t->mon : t->mday), 2);
		*p++ = sep;
		p = put_uint(p, shown_year(t->year), 4);
		break;
	}
	case PGV_DS_GERMAN:
	default:
		p = put_uint(p, (uint64_t)t->mday, 2);
		*p++ = '.';
		p = put_uint(p, (uint64_t)t->mon, 2);
		*p++ = '.';
		p = put_uint(p, shown_year(t->year), 4);
		break;
	}
	if (t->year <= 0)
		p = put_cstr(p, " BC", 3);
	return p;
}

static char *put_hms(char *p, const struct dt *t)
{
	p = put_uint(p, (uint64_t)t->hour, 2);
	*p++ = ':';
	p = put_uint(p, (uint64_t)t->min, 2);
	*p++ = ':';
	return put_seconds(p, t->sec, t->usec, true);
}

/* EncodeDateTime; <abbr> NULL means no zone is printed (timestamp without time zone). */
static char *put_datetime(char *p, const struct dt *t, int32_t east, const char *abbr,
			  const struct pgv_session *s)
{
	bool dmy = s->dateorder == PGV_DO_DMY;
	switch (s->datestyle) {
	case PGV_DS_ISO:
		p = put_uint(p, shown_year(t->year), 4);
		*p++ = '-';
		p = put_uint(p, (uint64_t)t->mon, 2);
		*p++ = '-';
		p = put_uint(p, (uint64_t)t->mday, 2);
		*p++ = ' ';
		p = put_hms(p, t);
		if (abbr)
			p = put_tz_offset(p, east);
		break;
	case PGV_DS_SQL:
	case PGV_DS_GERMAN: {
		bool sql = s->datestyle == PGV_DS_SQL;
		bool dfirst = !sql || dmy;
		p = put_uint(p, (uint64_t)(dfirst ? t->mday : t->mon), 2);
		*p++ = sql ? '/' : '.';
		p = put_uint(p, (uint64_t)(dfirst ? t->mon : t->mday), 2);
		*p++ = sql ? '/' : '.';
		p = put_uint(p, shown_year(t->year), 4);
		*p++ = ' ';
		p = put_hms(p, t);
		if (abbr) {
			*p++ = ' ';
			p = put_cstr(p, abbr, MAXTZLEN);
		}
		break;
	}
	case PGV_DS_POSTGRES:
	default: {
		int64_t days = days_from_civil(t->year, t->mon, t->mday);
		p = put_cstr(p, day_names[(int)((days % 7 + 7 + 4) % 7)], 3);
		*p++ = ' ';
		if (dmy) {
			p = put_uint(p, (uint64_t)t->mday, 2);
			*p++ = ' ';
			p = put_cstr(p, month_names[t->mon - 1], 3);
		} else {
			p = put_cstr(p, month_names[t->mon - 1], 3);
			*p++ = ' ';
			p = put_uint(p, (uint64_t)t->mday, 2);
		}
		*p++ = ' ';
		p = put_hms(p, t);
		*p++ = ' ';
		p = put_uint(p, shown_year(t->year), 4);
		if (abbr) {
			*p++ = ' ';
			p = put_cstr(p, abbr, MAXTZLEN);
		}
		break;
	}
	}
	if (t->year <= 0)
		p = put_cstr(p, " BC", 3);
	return p;
}

/* Session settings. */

void pgv_session_init(struct pgv_session *s)
{
	memset(s, 0, sizeof(*s));
	s->datestyle = PGV_DS_ISO;
	s->dateorder = PGV_DO_MDY;
	s->intervalstyle = PGV_IS_POSTGRES;
	s->extra_float_digits = 1;
	s->bytea_hex = true;
	memcpy(s->tz_name, "UTC", 4);
}

static bool c_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static char c_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static bool eq_ci(const char *a, size_t n, const char *b)
{
	size_t i = 0;
	for (; i < n && b[i]; i++)
		if (c_lower(a[i]) != c_lower(b[i]))
			return false;
	return i == n && b[i] == '\0';
}

static bool prefix_ci(const char *a, size_t n, const char *b)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] == '\0' || c_lower(a[i]) != c_lower(b[i]))
			return false;
	return true;
}

/* check_datestyle: a comma-separated list of style and order keywords. */
static bool set_datestyle(struct pgv_session *s, const char *v)
{
	enum pgv_datestyle style = s->datestyle;
	enum pgv_dateorder order = s->dateorder;
	bool have_style = false, have_order = false;
	const char *p = v;
	for (;;) {
		while (c_isspace(*p))
			p++;
		const char *w = p;
		bool quoted = *p == '"';
		if (quoted) {
			w = ++p;
			while (*p && *p != '"')
				p++;
			if (*p != '"')
				return false;
		} else {
			while (*p && *p != ',' && !c_isspace(*p))
				p++;
		}
		size_t n = (size_t)(p - w);
		if (quoted)
			p++;
		while (c_isspace(*p))
			p++;
		if (n == 0 || (*p != ',' && *p != '\0'))
			return false;
		enum pgv_datestyle ns = style;
		int no = -1;
		if (eq_ci(w, n, "ISO"))
			ns = PGV_DS_ISO;
		else if (eq_ci(w, n, "SQL"))
			ns = PGV_DS_SQL;
		else if (n >= 8 && prefix_ci(w, 8, "POSTGRES"))
			ns = PGV_DS_POSTGRES;
		else if (eq_ci(w, n, "GERMAN"))
			ns = PGV_DS_GERMAN;
		else if (eq_ci(w, n, "YMD"))
			no = PGV_DO_YMD;
		else if (eq_ci(w, n, "DMY") || (n >= 4 && prefix_ci(w, 4, "EURO")))
			no = PGV_DO_DMY;
		else if (eq_ci(w, n, "MDY") || eq_ci(w, n, "US") || (n >= 7 && prefix_ci(w, 7, "NONEURO")))
			no = PGV_DO_MDY;
		else if (eq_ci(w, n, "DEFAULT")) {
			if (!have_style)
				style = PGV_DS_ISO;
			if (!have_order)
				order = PGV_DO_MDY;
			goto next;
		} else
			return false;
		if (no < 0) {
			if (have_style && ns != style)
				return false;
			style = ns;
			have_style = true;
			/* GERMAN also sets DMY, unless explicitly overridden. */
			if (ns == PGV_DS_GERMAN && !have_order)
				order = PGV_DO_DMY;
		} else {
			if (have_order && (enum pgv_dateorder)no != order)
				return false;
			order = (enum pgv_dateorder)no;
			have_order = true;
		}
next:
		if (*p == '\0')
			break;
		p++;
	}
	s->datestyle = style;
	s->dateorder = order;
	return true;
}

/* parse_int for a GUC: optional spaces, sign, decimal digits, spaces. */
static bool parse_guc_int(const char *v, int *out)
{
	const char *p = v;
	while (c_isspace(*p))
		p++;
	int sign = 1;
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (*p < '0' || *p > '9')
		return false;
	long n = 0;
	while (*p >= '0' && *p <= '9') {
		n = n * 10 + (*p++ - '0');
		if (n > 1000000)
			return false;
	}
	while (c_isspace(*p))
		p++;
	if (*p != '\0')
		return false;
	*out = (int)(sign * n);
	return true;
}

bool pgv_session_set(struct pgv_session *s, const char *name, const char *value)
{
	if (name == NULL || value == NULL)
		return false;
	size_t n = strlen(name), vn = strlen(value);
	if (eq_ci(name, n, "DateStyle"))
		return set_datestyle(s, value);
	if (eq_ci(name, n, "IntervalStyle")) {
		static const char *const names[] = { "postgres", "postgres_verbose", "sql_standard",
						     "iso_8601" };
		for (int i = 0; i < 4; i++)
			if (eq_ci(value, vn, names[i])) {
				s->intervalstyle = (enum pgv_intervalstyle)i;
				return true;
			}
		return false;
	}
	if (eq_ci(name, n, "extra_float_digits")) {
		int d;
		if (!parse_guc_int(value, &d) || d < -15 || d > 3)
			return false;
		s->extra_float_digits = d;
		return true;
	}
	if (eq_ci(name, n, "bytea_output")) {
		if (eq_ci(value, vn, "hex"))
			s->bytea_hex = true;
		else if (eq_ci(value, vn, "escape"))
			s->bytea_hex = false;
		else
			return false;
		return true;
	}
	return true;
}

void pgv_session_set_tz(struct pgv_session *s, const struct tz_zone *tz, const char *name)
{
	s->tz = tz;
	const char *nm = name ? name : tz ? tz_name(tz) : "UTC";
	size_t n = strlen(nm);
	if (n >= sizeof(s->tz_name))
		n = sizeof(s->tz_name) - 1;
	memcpy(s->tz_name, nm, n);
	s->tz_name[n] = '\0';
}

/* Numbers. */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * A decimal number as digits S = int part then fraction part, with the
 * decimal point after <point> digits of S (exponent applied; may lie
 * outside S). Points into the input: nothing is copied.
 */
struct dec {
	bool neg;
	const char *ip;  /* integer digits, leading zeros skipped */
	size_t ilen;
	const char *fp;  /* fraction digits */
	size_t flen;
	int64_t point;   /* ilen + exponent */
};

static char dec_digit(const struct dec *d, int64_t i)
{
	if (i < 0 || i >= (int64_t)(d->ilen + d->flen))
		return '0';
	return (size_t)i < d->ilen ? d->ip[i] : d->fp[(size_t)i - d->ilen];
}

static int64_t dec_scale(const struct dec *d)
{
	int64_t sc = (int64_t)(d->ilen + d->flen) - d->point;
	return sc > 0 ? sc : 0;
}

static bool dec_is_zero(const struct dec *d)
{
	for (size_t i = 0; i < d->ilen; i++)
		if (d->ip[i] != '0')
			return false;
	for (size_t i = 0; i < d->flen; i++)
		if (d->fp[i] != '0')
			return false;
	return true;
}

/*
 * [+-]digits[.digits] (also ".5", "5.") with an optional exponent when
 * <exp_ok>, exactly v[0, len). False on anything else.
 */
static bool dec_parse(const char *v, size_t len, bool exp_ok, struct dec *d)
{
	size_t i = 0;
	memset(d, 0, sizeof(*d));
	if (i < len && (v[i] == '+' || v[i] == '-'))
		d->neg = v[i++] == '-';
	while (i < len && v[i] == '0' && i + 1 < len && is_digit(v[i + 1]))
		i++;
	d->ip = v + i;
	while (i < len && is_digit(v[i]))
		i++;
	d->ilen = (size_t)(v + i - d->ip);
	if (i < len && v[i] == '.') {
		d->fp = v + ++i;
		while (i < len && is_digit(v[i]))
			i++;
		d->flen = (size_t)(v + i - d->fp);
	}
	if (d->ilen + d->flen == 0)
		return false;
	/* One leading "0" of "0.5" carries nothing. */
	if (d->ilen == 1 && d->ip[0] == '0')
		d->ilen = 0;
	int64_t e = 0;
	if (exp_ok && i < len && (v[i] == 'e' || v[i] == 'E')) {
		i++;
		int sign = 1;
		if (i < len && (v[i] == '+' || v[i] == '-'))
			sign = v[i++] == '-' ? -1 : 1;
		if (i >= len || !is_digit(v[i]))
			return false;
		/* Saturates: callers refuse what Postgres cannot hold anyway. */
		while (i < len && is_digit(v[i]))
			if ((e = e * 10 + (v[i++] - '0')) > INT64_C(4000000000))
				e = INT64_C(4000000000);
		e *= sign;
	}
	d->point = (int64_t)d->ilen + e;
	return i == len;
}

/* The plain decimal form with the number's own scale ("-12.50", "0.001", "0"). */
static enum pgv_status dec_put(struct pgv_buf *out, const struct dec *d)
{
	int64_t scale = dec_scale(d);
	/* Leading zeros are skipped within S only: a zero's exponent may be huge ("0e100000"). */
	int64_t first = 0, slen = (int64_t)(d->ilen + d->flen);
	while (first < slen && dec_digit(d, first) == '0')
		first++;
	if (first == slen || first > d->point)
		first = d->point > 0 ? d->point : 0;
	size_t n = (size_t)((d->point > first ? d->point - first : 1) + scale + 3);
	char *p = buf_room(out, n), *p0 = p;
	if (p == NULL)
		return PGV_OOM;
	if (d->neg && !dec_is_zero(d))
		*p++ = '-';
	if (first >= d->point)
		*p++ = '0';
	for (int64_t i = first; i < d->point; i++)
		*p++ = dec_digit(d, i);
	if (scale > 0) {
		*p++ = '.';
		for (int64_t i = d->point; i < d->point + scale; i++)
			*p++ = dec_digit(d, i);
	}
	out->len += (size_t)(p - p0);
	return PGV_OK;
}

static void be16(char *p, uint16_t v)
{
	p[0] = (char)(v >> 8);
	p[1] = (char)v;
}

static void be32w(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24);
	p[1] = (char)(v >> 16);
	p[2] = (char)(v >> 8);
	p[3] = (char)v;
}

static void be64w(char *p, uint64_t v)
{
	be32w(p, (uint32_t)(v >> 32));
	be32w(p + 4, (uint32_t)v);
}

/* numeric_send: ndigits, weight, sign, dscale, then base-10000 digits, all int16. */
static enum pgv_status dec_send(struct pgv_buf *out, const struct dec *d, struct pgv_error *err)
{
	int64_t n = (int64_t)(d->ilen + d->flen), lo = 0, hi = n - 1;
	while (lo < n && dec_digit(d, lo) == '0')
		lo++;
	while (hi >= lo && dec_digit(d, hi) == '0')
		hi--;
	int64_t scale = dec_scale(d);
	if (scale > 0x3FFF)
		return fail(err, "22003", "value overflows numeric format");
	char h[8];
	if (lo > hi) {
		be16(h, 0), be16(h + 2, 0), be16(h + 4, 0), be16(h + 6, (uint16_t)scale);
		return put(out, h, 8);
	}
	/* The decimal digit at S index i has exponent point - 1 - i; group w holds 4w .. 4w+3. */
	int64_t wmax = floor_div(d->point - 1 - lo, 4), wmin = floor_div(d->point - 1 - hi, 4);
	int64_t ndig = wmax - wmin + 1;
	if (wmax > 32767 || wmax < -32768 || ndig > 32767)
		return fail(err, "22003", "value overflows numeric format");
	be16(h, (uint16_t)ndig);
	be16(h + 2, (uint16_t)(int16_t)wmax);
	be16(h + 4, d->neg ? 0x4000 : 0);
	be16(h + 6, (uint16_t)scale);
	char *p = buf_room(out, 8 + (size_t)ndig * 2);
	if (p == NULL)
		return PGV_OOM;
	memcpy(p, h, 8);
	for (int64_t w = wmax, k = 0; w >= wmin; w--, k++) {
		int v = 0;
		for (int x = 3; x >= 0; x--)
			v = v * 10 + (dec_digit(d, d->point - 1 - (4 * w + x)) - '0');
		be16(p + 8 + 2 * k, (uint16_t)v);
	}
	out->len += 8 + (size_t)ndig * 2;
	return PGV_OK;
}

/* Integers: [-]digits (MySQL ZEROFILL may add leading zeros). */
static bool parse_int64(const char *v, size_t len, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	if (i < len && (v[i] == '-' || v[i] == '+'))
		neg = v[i++] == '-';
	if (i >= len)
		return false;
	uint64_t n = 0;
	for (; i < len; i++) {
		if (!is_digit(v[i]))
			return false;
		uint64_t dg = (uint64_t)(v[i] - '0');
		if (n > (UINT64_C(9223372036854775808) - dg) / 10)
			return false;
		n = n * 10 + dg;
	}
	if (!neg && n > INT64_MAX)
		return false;
	*out = neg ? (int64_t)(0 - n) : (int64_t)n;
	return true;
}

static bool int_fits(uint32_t oid, int64_t n)
{
	if (oid == PG_OID_INT2)
		return n >= INT16_MIN && n <= INT16_MAX;
	if (oid == PG_OID_INT4)
		return n >= INT32_MIN && n <= INT32_MAX;
	return true;
}

/* Floats. */

/* MySQL prints [-]d[.d][e[+-]d]; strtod would take more (hex, "inf", spaces). */
static bool parse_float(const char *v, size_t len, bool single, double *out, struct dec *dp)
{
	struct dec d0, *d = dp ? dp : &d0;
	char tmp[512]; /* MySQL prints ROUND(1e300) as 301 digits */
	if (len >= sizeof(tmp) || !dec_parse(v, len, true, d))
		return false;
	memcpy(tmp, v, len);
	tmp[len] = '\0';
	if (single) {
		float f = strtof(tmp, NULL);
		if (isinf(f))
			return false;
		*out = f;
	} else {
		*out = strtod(tmp, NULL);
		if (isinf(*out))
			return false;
	}
	return true;
}

/* Renders v with <ndig> significant digits: digits into d, the exponent of the first. */
static int render_e(double v, int ndig, char *d, int *e10)
{
	char b[40];
	int n = snprintf(b, sizeof(b), "%.*e", ndig - 1, v);
	int k = 0, i = 0;
	if (n <= 0 || n >= (int)sizeof(b))
		return 0;
	if (b[i] == '-')
		i++;
	for (; b[i] && b[i] != 'e'; i++)
		if (is_digit(b[i]))
			d[k++] = b[i];
	*e10 = b[i] == 'e' ? atoi(b + i + 1) : 0;
	return k;
}

/* Significant digits (trailing zeros dropped) and exponent of a %e rendering. */
static int e_digits(const char *b, char *d, size_t cap, int *e10)
{
	int k = 0;
	for (; *b && *b != 'e'; b++)
		if (is_digit(*b) && (size_t)k < cap)
			d[k++] = *b;
	*e10 = *b == 'e' ? atoi(b + 1) : 0;
	while (k > 1 && d[k - 1] == '0')
		k--;
	return k;
}

/*
 * Whether decimal <b> lies exactly midway between v and a neighbour. strtod
 * rounds such a number to the even mantissa, but Ryu treats the interval as
 * open there (Postgres prints 1e23 as 9.999999999999999e+22), so it must not
 * count as reading back. The midpoint needs 54 bits: a long double holds it
 * exactly, and its exact decimal expansion confirms a match.
 */
static bool on_boundary(const char *b, double v, bool single)
{
	long double c = strtold(b, NULL), mid[2];
	if (single) {
		float f = (float)v;
		mid[0] = ((long double)f + nextafterf(f, -INFINITY)) / 2;
		mid[1] = ((long double)f + nextafterf(f, INFINITY)) / 2;
	} else {
		mid[0] = ((long double)v + nextafter(v, -INFINITY)) / 2;
		mid[1] = ((long double)v + nextafter(v, INFINITY)) / 2;
	}
	for (int i = 0; i < 2; i++) {
		if (c != mid[i] || isinf(mid[i]))
			continue;
		char m[80], dm[48], db[48];
		snprintf(m, sizeof(m), "%.40Le", mid[i]);
		int em, eb;
		int nm = e_digits(m, dm, sizeof(dm), &em), nb = e_digits(b, db, sizeof(db), &eb);
		if (nm == nb && em == eb && memcmp(dm, db, (size_t)nm) == 0)
			return true;
	}
	return false;
}

static bool reads_back(const char *d, int n, int e10, double v, bool single)
{
	char b[48];
	int k = 0;
	if (v < 0)
		b[k++] = '-';
	b[k++] = d[0];
	b[k++] = '.';
	for (int i = 1; i < n; i++)
		b[k++] = d[i];
	b[k++] = 'e';
	k += snprintf(b + k, sizeof(b) - (size_t)k, "%d", e10);
	if (single ? strtof(b, NULL) != (float)v : strtod(b, NULL) != v)
		return false;
	/*
	 * A midpoint below 2^52 (2^23 for float) has more significant digits
	 * than any candidate: (2m+1) * 5^k with 2m+1 past 2^53 (2^24).
	 */
	if (fabs(v) < (single ? 0x1p23 : 0x1p52))
		return true;
	return !on_boundary(b, v, single);
}

/*
 * The significant digits of a decimal (no leading or trailing zeros) into
 * d[0, 17), with the exponent of the first; 0 when there are none or more
 * than 17.
 */
static int dec_sig_digits(const struct dec *src, char *d, int *e10)
{
	int64_t n = (int64_t)(src->ilen + src->flen), lo = 0, hi = n - 1;
	while (lo < n && dec_digit(src, lo) == '0')
		lo++;
	while (hi >= lo && dec_digit(src, hi) == '0')
		hi--;
	if (lo > hi || hi - lo + 1 > 17)
		return 0;
	for (int64_t i = lo; i <= hi; i++)
		d[i - lo] = dec_digit(src, i);
	*e10 = (int)(src->point - 1 - lo);
	return (int)(hi - lo + 1);
}

/*
 * The shortest digits that read back as v (v finite, non-zero): Ryu's
 * answer. Returns the digit count; *e10 is the exponent of the first digit.
 */
static int shortest_digits(double v, bool single, char *d, int *e10, int hint)
{
	int lo = 1, hi = single ? 9 : 17, have = 0; /* have: d holds the rendering at hi */
	/*
	 * The input had <hint> digits; MySQL prints shortest digits too, so most
	 * often one fewer does not read back, and the search starts there. (The
	 * input's own length may still be too short: Ryu refuses a midpoint.)
	 */
	if (hint > 1 && hint < hi) {
		int n = render_e(v, hint - 1, d, e10);
		if (n > 0 && reads_back(d, n, *e10, v, single))
			hi = hint - 1, have = n;
		else
			lo = hint;
	}
	while (lo < hi) {
		char c[24];
		int mid = (lo + hi) / 2, e;
		int n = render_e(v, mid, c, &e);
		if (n > 0 && reads_back(c, n, e, v, single)) {
			hi = mid, have = n;
			memcpy(d, c, (size_t)n);
			*e10 = e;
		} else {
			lo = mid + 1;
		}
	}
	int n = have && lo == hi ? have : render_e(v, lo, d, e10);
	/*
	 * At a power of two the interval below v is half as wide as above, so a
	 * shorter number just above v may read back although the nearest one
	 * (below v) does not: Ryu finds it, the binary search cannot.
	 */
	int ex;
	double m = single ? frexpf((float)v, &ex) : frexp(v, &ex);
	if (fabs(m) == 0.5 && n > 1) {
		char c[20];
		for (int k = n - 1; k >= 1; k--) {
			int e;
			int cn = render_e(v, k, c, &e);
			if (cn != k)
				break;
			int j = cn - 1;
			while (j >= 0 && c[j] == '9')
				c[j--] = '0';
			if (j < 0) {
				memmove(c + 1, c, (size_t)cn - 1);
				c[0] = '1';
				e++;
			} else {
				c[j]++;
			}
			if (!reads_back(c, cn, e, v, single))
				break;
			memcpy(d, c, (size_t)cn);
			n = cn;
			*e10 = e;
		}
		while (n > 1 && d[n - 1] == '0')
			n--;
	}
	return n;
}

/* Ryu's to_chars: fixed notation for exponents in [-4, fixed_hi), else d.ddde+XX. */
static char *put_ryu(char *p, const char *d, int n, int e, int fixed_hi)
{
	if (e >= -4 && e < fixed_hi) {
		if (e < 0) {
			*p++ = '0';
			*p++ = '.';
			for (int i = 0; i < -e - 1; i++)
				*p++ = '0';
			memcpy(p, d, (size_t)n);
			return p + n;
		}
		for (int i = 0; i <= e || i < n; i++) {
			if (i == e + 1)
				*p++ = '.';
			*p++ = i < n ? d[i] : '0';
		}
		return p;
	}
	*p++ = d[0];
	if (n > 1) {
		*p++ = '.';
		memcpy(p, d + 1, (size_t)n - 1);
		p += n - 1;
	}
	*p++ = 'e';
	*p++ = e < 0 ? '-' : '+';
	return put_uint(p, (uint64_t)(e < 0 ? -e : e), 2);
}

/*
 * float4out / float8out. <src> (may be NULL) is the decimal v was read
 * from: up to 15 significant digits (6 for float4) below 2^53 (2^24), it is
 * v's shortest form itself — such a decimal survives the round trip, and
 * two of them are further apart than v's rounding interval is wide.
 */
static enum pgv_status put_float(struct pgv_buf *out, double v, bool single, int efd,
				 const struct dec *src)
{
	char b[64], *p = b;
	if (isnan(v))
		return put_str(out, "NaN");
	if (isinf(v))
		return put_str(out, v < 0 ? "-Infinity" : "Infinity");
	if (efd > 0) {
		if (v == 0)
			return put_str(out, signbit(v) ? "-0" : "0");
		char d[20];
		int e, n = src ? dec_sig_digits(src, d, &e) : 0;
		double a = fabs(v);
		bool normal = single ? a >= FLT_MIN : a >= DBL_MIN;
		if (n == 0 || n > (single ? FLT_DIG : DBL_DIG) || !normal ||
		    a >= (single ? 0x1p24 : 0x1p53))
			n = shortest_digits(v, single, d, &e, n);
		if (v < 0)
			*p++ = '-';
		p = put_ryu(p, d, n, e, single ? 6 : 15);
		return put(out, b, (size_t)(p - b));
	}
	int ndig = (single ? FLT_DIG : DBL_DIG) + efd;
	int n = snprintf(b, sizeof(b), "%.*g", ndig < 1 ? 1 : ndig, v);
	return put(out, b, (size_t)n);
}

/* Dates and times from MySQL. */

enum parsed {
	PARSED_OK = 0,  /* a value */
	PARSED_ZERO,    /* MySQL's zero date or a date with a zero part: NULL */
	PARSED_BAD,     /* not a value of the type */
};

static bool digits_at(const char *v, size_t len, size_t at, size_t n, int *out)
{
	if (at + n > len)
		return false;
	int x = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(v[at + i]))
			return false;
		x = x * 10 + (v[at + i] - '0');
	}
	*out = x;
	return true;
}

/* Microseconds from ".f{1,6}" at v[*i]; advances *i. */
static bool parse_usec(const char *v, size_t len, size_t *i, int32_t *usec)
{
	*usec = 0;
	if (*i >= len || v[*i] != '.')
		return true;
	size_t k = 0;
	int32_t u = 0;
	for ((*i)++; *i < len && is_digit(v[*i]); (*i)++, k++) {
		if (k >= 6)
			return false;
		u = u * 10 + (v[*i] - '0');
	}
	if (k == 0)
		return false;
	while (k++ < 6)
		u *= 10;
	*usec = u;
	return true;
}

/* 'YYYY-MM-DD' or, with <with_time>, 'YYYY-MM-DD HH:MM:SS[.ffffff]'. */
static enum parsed parse_my_datetime(const char *v, size_t len, bool with_time, struct dt *t)
{
	int y, h = 0, mi = 0, se = 0;
	memset(t, 0, sizeof(*t));
	if (!digits_at(v, len, 0, 4, &y) || len < 10 || v[4] != '-' || v[7] != '-' ||
	    !digits_at(v, len, 5, 2, &t->mon) || !digits_at(v, len, 8, 2, &t->mday))
		return PARSED_BAD;
	size_t i = 10;
	if (with_time && len > 10) {
		if (len < 19 || v[10] != ' ' || v[13] != ':' || v[16] != ':' ||
		    !digits_at(v, len, 11, 2, &h) || !digits_at(v, len, 14, 2, &mi) ||
		    !digits_at(v, len, 17, 2, &se))
			return PARSED_BAD;
		i = 19;
		if (!parse_usec(v, len, &i, &t->usec))
			return PARSED_BAD;
	}
	if (i != len)
		return PARSED_BAD;
	t->year = y;
	t->hour = h, t->min = mi, t->sec = se;
	if (t->mon == 0 || t->mday == 0)
		return PARSED_ZERO;
	if (t->mon > 12 || t->mday > month_days(y, t->mon) || h > 23 || mi > 59 || se > 59)
		return PARSED_BAD;
	return PARSED_OK;
}

/* MySQL TIME '[-]H+:MM:SS[.ffffff]' as signed microseconds. */
static bool parse_my_time(const char *v, size_t len, int64_t *us)
{
	size_t i = 0;
	bool neg = false;
	if (i < len && v[i] == '-')
		neg = true, i++;
	int64_t h = 0;
	size_t h0 = i;
	while (i < len && is_digit(v[i]) && i - h0 < 7)
		h = h * 10 + (v[i++] - '0');
	int mi, se;
	int32_t usec;
	if (i == h0 || i + 6 > len || v[i] != ':' || !digits_at(v, len, i + 1, 2, &mi) ||
	    v[i + 3] != ':' || !digits_at(v, len, i + 4, 2, &se) || mi > 59 || se > 59)
		return false;
	i += 6;
	if (!parse_usec(v, len, &i, &usec) || i != len)
		return false;
	int64_t t = ((h * 60 + mi) * 60 + se) * USECS_PER_SEC + usec;
	*us = neg ? -t : t;
	return true;
}

/* EncodeInterval for a pure time interval (no months, no days). */
static char *put_interval(char *p, int64_t us, enum pgv_intervalstyle style)
{
	int64_t a = us < 0 ? -us : us;
	int64_t hour = a / (3600 * USECS_PER_SEC);
	int min = (int)(a / (60 * USECS_PER_SEC) % 60);
	int sec = (int)(a / USECS_PER_SEC % 60);
	int32_t usec = (int32_t)(a % USECS_PER_SEC);
	bool neg = us < 0;
	switch (style) {
	case PGV_IS_POSTGRES:
		if (neg)
			*p++ = '-';
		p = put_uint(p, (uint64_t)hour, 2);
		*p++ = ':';
		p = put_uint(p, (uint64_t)min, 2);
		*p++ = ':';
		return put_seconds(p, sec, usec, true);
	case PGV_IS_POSTGRES_VERBOSE:
		*p++ = '@';
		if (hour) {
			*p++ = ' ';
			p = put_uint(p, (uint64_t)hour, 1);
			p = put_cstr(p, hour == 1 ? " hour" : " hours", 6);
		}
		if (min) {
			*p++ = ' ';
			p = put_uint(p, (uint64_t)min, 1);
			p = put_cstr(p, min == 1 ? " min" : " mins", 5);
		}
		if (sec || usec) {
			*p++ = ' ';
			p = put_seconds(p, sec, usec, false);
			p = put_cstr(p, sec != 1 || usec ? " secs" : " sec", 5);
		}
		if (us == 0)
			p = put_cstr(p, " 0", 2);
		if (neg)
			p = put_cstr(p, " ago", 4);
		return p;
	case PGV_IS_SQL_STANDARD:
		if (us == 0) {
			*p++ = '0';
			return p;
		}
		if (neg)
			*p++ = '-';
		p = put_uint(p, (uint64_t)hour, 1);
		*p++ = ':';
		p = put_uint(p, (uint64_t)min, 2);
		*p++ = ':';
		return put_seconds(p, sec, usec, true);
	case PGV_IS_ISO_8601:
	default:
		p = put_cstr(p, us == 0 ? "PT0S" : "PT", 4);
		if (hour) {
			p = put_int(p, neg ? -hour : hour);
			*p++ = 'H';
		}
		if (min) {
			p = put_int(p, neg ? -min : min);
			*p++ = 'M';
		}
		if (sec || usec) {
			if (neg)
				*p++ = '-';
			p = put_seconds(p, sec, usec, false);
			*p++ = 'S';
		}
		return p;
	}
}

/*
 * PGV_C_INTERVAL_DT's MySQL value: the integer days * 10^15 + microseconds,
 * split with the microseconds nearest zero (|usec| < 5 * 10^14).
 */
static bool parse_interval_dt(const char *v, size_t len, int64_t *days, int64_t *us)
{
	size_t i = 0;
	bool neg = false;
	if (i < len && (v[i] == '-' || v[i] == '+'))
		neg = v[i++] == '-';
	/* MySQL may print a DECIMAL(38,0) result as "n" or "n.000". */
	size_t end = len;
	for (size_t k = i; k < len; k++) {
		if (v[k] == '.') {
			for (size_t z = k + 1; z < len; z++)
				if (v[z] != '0')
					return false;
			end = k;
			break;
		}
	}
	if (i >= end || end - i > 30)
		return false;
	__int128 n = 0;
	for (; i < end; i++) {
		if (!is_digit(v[i]))
			return false;
		n = n * 10 + (v[i] - '0');
	}
	if (neg)
		n = -n;
	const __int128 k = (__int128)1000000000000000LL;
	__int128 d = n / k, r = n % k;
	if (r >= k / 2) {
		r -= k;
		d++;
	} else if (r <= -k / 2) {
		r += k;
		d--;
	}
	if (d > INT32_MAX || d < INT32_MIN)
		return false;
	*days = (int64_t)d;
	*us = (int64_t)r;
	return true;
}

static char *put_pg_part(char *p, int64_t v, const char *unit, bool *is_zero, bool *is_before)
{
	if (v == 0)
		return p;
	if (!*is_zero)
		*p++ = ' ';
	if (*is_before && v > 0)
		*p++ = '+';
	p = put_int(p, v);
	*p++ = ' ';
	p = put_cstr(p, unit, 8);
	if (v != 1)
		*p++ = 's';
	*is_before = v < 0;
	*is_zero = false;
	return p;
}

static char *put_verbose_part(char *p, int64_t v, const char *unit, bool *is_zero, bool *is_before)
{
	if (v == 0)
		return p;
	if (*is_zero) {
		*is_before = v < 0;
		v = v < 0 ? -v : v;
	} else if (*is_before) {
		v = -v;
	}
	*p++ = ' ';
	p = put_int(p, v);
	*p++ = ' ';
	p = put_cstr(p, unit, 8);
	if (v != 1)
		*p++ = 's';
	*is_zero = false;
	return p;
}

/* EncodeInterval (no months) for <days> and <us> microseconds of time. */
static char *put_interval_dt(char *p, int64_t days, int64_t us, enum pgv_intervalstyle style)
{
	if (days == 0)
		return put_interval(p, us, style);
	int64_t hour = us / (3600 * USECS_PER_SEC);
	int64_t min = us / (60 * USECS_PER_SEC) % 60;
	int64_t sec = us / USECS_PER_SEC % 60;
	int32_t fsec = (int32_t)(us % USECS_PER_SEC);
	int64_t ah = hour < 0 ? -hour : hour, am = min < 0 ? -min : min, as = sec < 0 ? -sec : sec;
	int32_t af = fsec < 0 ? -fsec : fsec;
	bool is_zero = true, is_before = false;
	switch (style) {
	case PGV_IS_POSTGRES:
		p = put_pg_part(p, days, "day", &is_zero, &is_before);
		if (us != 0) {
			*p++ = ' ';
			if (us < 0)
				*p++ = '-';
			else if (is_before)
				*p++ = '+';
			p = put_uint(p, (uint64_t)ah, 2);
			*p++ = ':';
			p = put_uint(p, (uint64_t)am, 2);
			*p++ = ':';
			p = put_seconds(p, (int)as, af, true);
		}
		return p;
	case PGV_IS_POSTGRES_VERBOSE:
		*p++ = '@';
		p = put_verbose_part(p, days, "day", &is_zero, &is_before);
		p = put_verbose_part(p, hour, "hour", &is_zero, &is_before);
		p = put_verbose_part(p, min, "min", &is_zero, &is_before);
		if (sec != 0 || fsec != 0) {
			*p++ = ' ';
			if (sec < 0 || (sec == 0 && fsec < 0)) {
				if (is_zero)
					is_before = true;
				else if (!is_before)
					*p++ = '-';
			} else if (is_before) {
				*p++ = '-';
			}
			p = put_seconds(p, (int)as, af, false);
			p = put_cstr(p, as != 1 || fsec != 0 ? " secs" : " sec", 5);
			is_zero = false;
		}
		if (is_before)
			p = put_cstr(p, " ago", 4);
		return p;
	case PGV_IS_SQL_STANDARD: {
		bool neg = days < 0 || us < 0, pos = days > 0 || us > 0;
		if (neg && pos) {
			p = put_cstr(p, "+0-0 ", 5);
			*p++ = days < 0 ? '-' : '+';
			p = put_uint(p, (uint64_t)(days < 0 ? -days : days), 1);
			*p++ = ' ';
			*p++ = us < 0 ? '-' : '+';
		} else {
			if (neg)
				*p++ = '-';
			p = put_uint(p, (uint64_t)(days < 0 ? -days : days), 1);
			*p++ = ' ';
		}
		p = put_uint(p, (uint64_t)ah, 1);
		*p++ = ':';
		p = put_uint(p, (uint64_t)am, 2);
		*p++ = ':';
		return put_seconds(p, (int)as, af, true);
	}
	case PGV_IS_ISO_8601:
	default:
		*p++ = 'P';
		p = put_int(p, days);
		*p++ = 'D';
		if (us != 0)
			*p++ = 'T';
		if (hour) {
			p = put_int(p, hour);
			*p++ = 'H';
		}
		if (min) {
			p = put_int(p, min);
			*p++ = 'M';
		}
		if (sec || fsec) {
			if (sec < 0 || fsec < 0)
				*p++ = '-';
			p = put_seconds(p, (int)as, af, false);
			*p++ = 'S';
		}
		return p;
	}
}

/* Text and bytea. */

static size_t utf8_chars(const char *v, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)v[i] & 0xC0) != 0x80;
	return n;
}

/* CHAR(n): Postgres pads to n characters, MySQL strips the blanks. */
static enum pgv_status put_bpchar(struct pgv_buf *out, int32_t typmod, const char *v, size_t len)
{
	if (!pgv_buf_put(out, v, len))
		return PGV_OOM;
	if (typmod < 4)
		return PGV_OK;
	size_t want = (size_t)typmod - 4, have = utf8_chars(v, len);
	if (have >= want)
		return PGV_OK;
	char *p = buf_room(out, want - have);
	if (p == NULL)
		return PGV_OOM;
	memset(p, ' ', want - have);
	out->len += want - have;
	return PGV_OK;
}

static const char hexdig[] = "0123456789abcdef";

/* byteaout: "\x" hex, or the escape format (\\ and \ooo for bytes outside 0x20..0x7e). */
static enum pgv_status put_bytea(struct pgv_buf *out, const char *v, size_t len, bool hex)
{
	if (hex) {
		char *p = buf_room(out, 2 + len * 2);
		if (p == NULL)
			return PGV_OOM;
		*p++ = '\\';
		*p++ = 'x';
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)v[i];
			*p++ = hexdig[c >> 4];
			*p++ = hexdig[c & 15];
		}
		out->len += 2 + len * 2;
		return PGV_OK;
	}
	char *p = buf_room(out, len * 4), *p0 = p;
	if (p == NULL)
		return PGV_OOM;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == '\\') {
			*p++ = '\\';
			*p++ = '\\';
		} else if (c < 0x20 || c > 0x7e) {
			*p++ = '\\';
			*p++ = (char)('0' + (c >> 6));
			*p++ = (char)('0' + ((c >> 3) & 7));
			*p++ = (char)('0' + (c & 7));
		} else {
			*p++ = (char)c;
		}
	}
	out->len += (size_t)(p - p0);
	return PGV_OK;
}

/* Results: MySQL text -> Postgres text. */

static enum pgv_status bad_value(struct pgv_error *err, const char *what, const char *v,
				 size_t len)
{
	return fail(err, "22P02", "MySQL sent an invalid %s value: \"%.*s\"", what, QLEN(len), v);
}

static enum pgv_status text_bool(struct pgv_buf *out, enum pgv_conv conv, const char *v,
				 size_t len, struct pgv_error *err)
{
	if (conv == PGV_C_BIT_BOOL) {
		if (len != 1 || (v[0] != 0 && v[0] != 1))
			return fail(err, "22P02", "MySQL sent an invalid BIT(1) value");
		return put(out, v[0] ? "t" : "f", 1);
	}
	struct dec d;
	if (!dec_parse(v, len, false, &d))
		return bad_value(err, "boolean", v, len);
	return put(out, dec_is_zero(&d) ? "f" : "t", 1);
}

static enum pgv_status text_int(struct pgv_buf *out, uint32_t oid, const char *v, size_t len,
				struct pgv_error *err)
{
	int64_t n;
	if (oid == PG_OID_NUMERIC) {
		/* BIGINT UNSIGNED and other integers served as numeric. */
		struct dec d;
		if (!dec_parse(v, len, false, &d) || d.flen != 0 || (len > 0 && v[len - 1] == '.'))
			return bad_value(err, "integer", v, len);
		return dec_put(out, &d);
	}
	if (!parse_int64(v, len, &n) || !int_fits(oid, n))
		return fail(err, "22003", "MySQL sent a value out of range for type %s: \"%.*s\"",
			    catalog_type_name(oid), QLEN(len), v);
	char b[24];
	return put(out, b, (size_t)(put_int(b, n) - b));
}

static enum pgv_status text_numeric(struct pgv_buf *out, const char *v, size_t len,
				    struct pgv_error *err)
{
	struct dec d;
	if (!dec_parse(v, len, false, &d))
		return bad_value(err, "numeric", v, len);
	return dec_put(out, &d);
}

static enum pgv_status text_datetime(struct pgv_buf *out, enum pgv_conv conv, const char *v,
				     size_t len, const struct pgv_session *s,
				     struct pgv_error *err)
{
	struct dt t;
	enum parsed r = parse_my_datetime(v, len, conv != PGV_C_DATE, &t);
	if (r == PARSED_ZERO)
		return PGV_NULL;
	if (r == PARSED_BAD)
		return fail(err, "22007", "MySQL sent an invalid %s value: \"%.*s\"",
			    conv == PGV_C_DATE ? "date" : "datetime", QLEN(len), v);
	char b[96], *p = b;
	if (conv == PGV_C_DATE) {
		p = put_date(p, &t, s);
	} else if (conv == PGV_C_TIMESTAMP) {
		p = put_datetime(p, &t, 0, NULL, s);
	} else {
		int64_t us = dt_to_usecs(&t);
		const char *abbr;
		int32_t off = tz_offset_at(s->tz, floor_div(us, USECS_PER_SEC), &abbr, NULL);
		dt_from_usecs(us + off * USECS_PER_SEC, &t);
		p = put_datetime(p, &t, off, abbr, s);
	}
	return put(out, b, (size_t)(p - b));
}

/*
 * float4_numeric / float8_numeric: the value printed with %.6g / %.15g, read
 * back by numeric_in (the exponent expanded; the scale is the digits after
 * the point). <plain> receives the digits, at most 340 + 8 bytes.
 */
static bool float_numeric_text(const char *v, size_t len, bool single, char *plain, size_t cap,
			       size_t *n, struct pgv_error *err)
{
	double d;
	if (!parse_float(v, len, single, &d, NULL)) {
		bad_value(err, "floating-point", v, len);
		return false;
	}
	if (isnan(d)) {
		*n = (size_t)snprintf(plain, cap, "NaN");
		return true;
	}
	char g[40];
	int gl = snprintf(g, sizeof(g), "%.*g", single ? FLT_DIG : DBL_DIG, d);
	struct dec dc;
	if (gl <= 0 || !dec_parse(g, (size_t)gl, true, &dc) || dc.point > 330 || dc.point < -330) {
		fail(err, "22003", "value overflows numeric format");
		return false;
	}
	int64_t nd = (int64_t)(dc.ilen + dc.flen), point = dc.point;
	bool zero = true;
	for (int64_t i = 0; i < nd; i++)
		zero = zero && dec_digit(&dc, i) == '0';
	size_t k = 0;
	if (dc.neg && !zero)
		plain[k++] = '-';
	if (point <= 0)
		plain[k++] = '0';
	for (int64_t i = 0; i < point && k + 1 < cap; i++)
		plain[k++] = dec_digit(&dc, i);
	if (nd > point) {
		plain[k++] = '.';
		for (int64_t i = point; i < nd && k + 1 < cap; i++)
			plain[k++] = dec_digit(&dc, i);
	}
	plain[k] = '\0';
	*n = k;
	return true;
}

enum pgv_status pgv_text(struct pgv_buf *out, enum pgv_conv conv, uint32_t oid, int32_t typmod,
			 const char *v, size_t len, const struct pgv_session *s,
			 struct pgv_error *err)
{
	if (v == NULL)
		return PGV_NULL;
	switch (conv) {
	case PGV_C_TEXT:
		return put(out, v, len);
	case PGV_C_BPCHAR:
		return put_bpchar(out, typmod, v, len);
	case PGV_C_BOOL:
	case PGV_C_BIT_BOOL:
		return text_bool(out, conv, v, len, err);
	case PGV_C_INT:
		return text_int(out, oid, v, len, err);
	case PGV_C_NUMERIC:
		return text_numeric(out, v, len, err);
	case PGV_C_FLOAT4:
	case PGV_C_FLOAT8: {
		double d;
		struct dec src;
		if (!parse_float(v, len, conv == PGV_C_FLOAT4, &d, &src))
			return bad_value(err, "floating-point", v, len);
		return put_float(out, d, conv == PGV_C_FLOAT4, s->extra_float_digits, &src);
	}
	case PGV_C_DATE:
	case PGV_C_TIMESTAMP:
	case PGV_C_TIMESTAMPTZ:
		return text_datetime(out, conv, v, len, s, err);
	case PGV_C_INTERVAL: {
		int64_t us;
		if (!parse_my_time(v, len, &us))
			return fail(err, "22007", "MySQL sent an invalid time value: \"%.*s\"",
				    QLEN(len), v);
		char b[96];
		return put(out, b, (size_t)(put_interval(b, us, s->intervalstyle) - b));
	}
	case PGV_C_FLOAT4_TEXT:
	case PGV_C_FLOAT8_TEXT:
		return pgv_text(out, conv == PGV_C_FLOAT4_TEXT ? PGV_C_FLOAT4 : PGV_C_FLOAT8, oid, typmod,
				v, len, s, err);
	case PGV_C_NUMERIC_OF_FLOAT4:
	case PGV_C_NUMERIC_OF_FLOAT8: {
		char plain[400];
		size_t n;
		if (!float_numeric_text(v, len, conv == PGV_C_NUMERIC_OF_FLOAT4, plain, sizeof(plain), &n, err))
			return PGV_BAD;
		return put(out, plain, n);
	}
	case PGV_C_INTERVAL_DT: {
		int64_t days, us;
		if (!parse_interval_dt(v, len, &days, &us))
			return fail(err, "22008", "interval out of range");
		char b[160];
		return put(out, b, (size_t)(put_interval_dt(b, days, us, s->intervalstyle) - b));
	}
	case PGV_C_BYTEA:
		return put_bytea(out, v, len, s->bytea_hex);
	case PGV_C_COUNT:
	default:
		return fail(err, "0A000", "no conversion %d for type %s", (int)conv,
			    catalog_type_name(oid));
	}
}

/* Results: MySQL text -> Postgres binary (the type's send function). */

static enum pgv_status bin_int(struct pgv_buf *out, uint32_t oid, const char *v, size_t len,
			       struct pgv_error *err)
{
	if (oid == PG_OID_NUMERIC) {
		struct dec d;
		if (!dec_parse(v, len, false, &d) || d.flen != 0)
			return bad_value(err, "integer", v, len);
		return dec_send(out, &d, err);
	}
	int64_t n;
	if (!parse_int64(v, len, &n) || !int_fits(oid, n))
		return fail(err, "22003", "MySQL sent a value out of range for type %s: \"%.*s\"",
			    catalog_type_name(oid), QLEN(len), v);
	char b[8];
	if (oid == PG_OID_INT2) {
		be16(b, (uint16_t)(int16_t)n);
		return put(out, b, 2);
	}
	if (oid == PG_OID_INT4) {
		be32w(b, (uint32_t)(int32_t)n);
		return put(out, b, 4);
	}
	be64w(b, (uint64_t)n);
	return put(out, b, 8);
}

static enum pgv_status bin_datetime(struct pgv_buf *out, enum pgv_conv conv, const char *v,
				    size_t len, struct pgv_error *err)
{
	struct dt t;
	enum parsed r = parse_my_datetime(v, len, conv != PGV_C_DATE, &t);
	if (r == PARSED_ZERO)
		return PGV_NULL;
	if (r == PARSED_BAD)
		return fail(err, "22007", "MySQL sent an invalid %s value: \"%.*s\"",
			    conv == PGV_C_DATE ? "date" : "datetime", QLEN(len), v);
	char b[8];
	if (conv == PGV_C_DATE) {
		int64_t days = days_from_civil(t.year, t.mon, t.mday) - EPOCH_2000_DAYS;
		be32w(b, (uint32_t)(int32_t)days);
		return put(out, b, 4);
	}
	/* timestamptz is already UTC (the MySQL session runs with time_zone '+00:00'). */
	be64w(b, (uint64_t)(dt_to_usecs(&t) - (int64_t)EPOCH_2000_DAYS * USECS_PER_DAY));
	return put(out, b, 8);
}

enum pgv_status pgv_binary(struct pgv_buf *out, enum pgv_conv conv, uint32_t oid, int32_t typmod,
			   const char *v, size_t len, const struct pgv_session *s,
			   struct pgv_error *err)
{
	(void)s;
	if (v == NULL)
		return PGV_NULL;
	char b[16];
	switch (conv) {
	case PGV_C_TEXT:
		return put(out, v, len);
	case PGV_C_BPCHAR:
		return put_bpchar(out, typmod, v, len);
	case PGV_C_BOOL:
	case PGV_C_BIT_BOOL: {
		struct pgv_buf t = { b, 0, sizeof(b), false };
		enum pgv_status st = text_bool(&t, conv, v, len, err);
		if (st != PGV_OK)
			return st;
		return put(out, b[0] == 't' ? "\1" : "\0", 1);
	}
	case PGV_C_INT:
		return bin_int(out, oid, v, len, err);
	case PGV_C_NUMERIC: {
		struct dec d;
		if (!dec_parse(v, len, false, &d))
			return bad_value(err, "numeric", v, len);
		return dec_send(out, &d, err);
	}
	case PGV_C_FLOAT4:
	case PGV_C_FLOAT8: {
		double d;
		if (!parse_float(v, len, conv == PGV_C_FLOAT4, &d, NULL))
			return bad_value(err, "floating-point", v, len);
		if (conv == PGV_C_FLOAT4) {
			float f = (float)d;
			uint32_t u;
			memcpy(&u, &f, 4);
			be32w(b, u);
			return put(out, b, 4);
		}
		uint64_t u;
		memcpy(&u, &d, 8);
		be64w(b, u);
		return put(out, b, 8);
	}
	case PGV_C_DATE:
	case PGV_C_TIMESTAMP:
	case PGV_C_TIMESTAMPTZ:
		return bin_datetime(out, conv, v, len, err);
	case PGV_C_INTERVAL: {
		int64_t us;
		if (!parse_my_time(v, len, &us))
			return fail(err, "22007", "MySQL sent an invalid time value: \"%.*s\"",
				    QLEN(len), v);
		be64w(b, (uint64_t)us);
		be32w(b + 8, 0);
		be32w(b + 12, 0);
		return put(out, b, 16);
	}
	case PGV_C_FLOAT4_TEXT:
	case PGV_C_FLOAT8_TEXT: /* a text value: its binary form is its text */
		return pgv_text(out, conv, oid, typmod, v, len, s, err);
	case PGV_C_NUMERIC_OF_FLOAT4:
	case PGV_C_NUMERIC_OF_FLOAT8: {
		char plain[400];
		size_t n;
		if (!float_numeric_text(v, len, conv == PGV_C_NUMERIC_OF_FLOAT4, plain, sizeof(plain), &n, err))
			return PGV_BAD;
		if (strcmp(plain, "NaN") == 0)
			return fail(err, "0A000", "binary format of numeric NaN is not supported");
		struct dec d;
		if (!dec_parse(plain, n, false, &d))
			return bad_value(err, "numeric", plain, n);
		return dec_send(out, &d, err);
	}
	case PGV_C_INTERVAL_DT: {
		int64_t days, us;
		if (!parse_interval_dt(v, len, &days, &us))
			return fail(err, "22008", "interval out of range");
		be64w(b, (uint64_t)us);
		be32w(b + 8, (uint32_t)(int32_t)days);
		be32w(b + 12, 0);
		return put(out, b, 16);
	}
	case PGV_C_BYTEA:
		return put(out, v, len);
	case PGV_C_COUNT:
	default:
		return fail(err, "0A000", "binary format is not supported for type %s",
			    catalog_type_name(oid));
	}
}

/* Parameters: a client's value -> a MySQL literal. */

/*
 * pg_verify_mbstr for UTF-8: Postgres checks every text-format parameter
 * this way before its input function runs; NUL is refused too.
 */
static enum pgv_status check_utf8(const char *v, size_t len, struct pgv_error *err)
{
	const unsigned char *s = (const unsigned char *)v;
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		if (c >= 0x01 && c < 0x80) {
			i++;
			continue;
		}
		size_t l = c == 0 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 :
			   (c & 0xF8) == 0xF0 ? 4 : 1;
		bool ok = c != 0 && l > 1 && l <= len - i && c >= 0xC2 && c <= 0xF4;
		if (ok) {
			unsigned char c1 = s[i + 1];
			unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
			unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
			ok = c1 >= lo && c1 <= hi;
			for (size_t k = 2; ok && k < l; k++)
				ok = s[i + k] >= 0x80 && s[i + k] <= 0xBF;
		}
		if (!ok) {
			char hex[8 * 5 + 1], *p = hex;
			size_t n = l < len - i ? l : len - i;
			for (size_t k = 0; k < n; k++) {
				if (k)
					*p++ = ' ';
				*p++ = '0';
				*p++ = 'x';
				*p++ = hexdig[s[i + k] >> 4];
				*p++ = hexdig[s[i + k] & 15];
			}
			*p = '\0';
			return fail(err, "22021", "invalid byte sequence for encoding \"UTF8\": %s", hex);
		}
		i += l;
	}
	return PGV_OK;
}

/* '...' with every quote doubled (NO_BACKSLASH_ESCAPES: nothing else is special). */
static enum pgv_status put_quoted(struct pgv_buf *out, const char *v, size_t len)
{
	char *p = buf_room(out, len * 2 + 2), *p0 = p;
	if (p == NULL)
		return PGV_OOM;
	*p++ = '\'';
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '\'')
			*p++ = '\'';
		*p++ = v[i];
	}
	*p++ = '\'';
	out->len += (size_t)(p - p0);
	return PGV_OK;
}

static enum pgv_status put_hex_literal(struct pgv_buf *out, const unsigned char *v, size_t len)
{
	char *p = buf_room(out, len * 2 + 3);
	if (p == NULL)
		return PGV_OOM;
	*p++ = 'X';
	*p++ = '\'';
	for (size_t i = 0; i < len; i++) {
		*p++ = hexdig[v[i] >> 4];
		*p++ = hexdig[v[i] & 15];
	}
	*p++ = '\'';
	out->len += len * 2 + 3;
	return PGV_OK;
}

static void trim(const char **v, size_t *len)
{
	while (*len > 0 && c_isspace(**v))
		(*v)++, (*len)--;
	while (*len > 0 && c_isspace((*v)[*len - 1]))
		(*len)--;
}

static const char *int_type_name(uint32_t oid)
{
	return oid == PG_OID_INT2 ? "smallint" : oid == PG_OID_INT8 ? "bigint" : "integer";
}

/* pg_strtoint16/32/64: spaces, sign, digits, spaces; overflow is seen before trailing junk. */
static enum pgv_status param_int_text(struct pgv_buf *out, uint32_t oid, const char *v, size_t len,
				      struct pgv_error *err)
{
	size_t i = 0;
	while (i < len && c_isspace(v[i]))
		i++;
	bool neg = false;
	if (i < len && (v[i] == '-' || v[i] == '+'))
		neg = v[i++] == '-';
	if (i >= len || !is_digit(v[i]))
		goto syntax;
	uint64_t max = oid == PG_OID_INT2 ? 32767 : oid == PG_OID_INT8 ? INT64_MAX : INT32_MAX;
	uint64_t n = 0;
	for (; i < len && is_digit(v[i]); i++) {
		n = n * 10 + (uint64_t)(v[i] - '0');
		if (n > max + neg)
			return fail(err, "22003", "value \"%.*s\" is out of range for type %s",
				    QLEN(len), v, int_type_name(oid));
	}
	while (i < len && c_isspace(v[i]))
		i++;
	if (i != len)
		goto syntax;
	char b[24];
	neg = neg && n != 0;
	*b = '-';
	char *p = put_uint(b + neg, n, 1);
	return put(out, b, (size_t)(p - b));
syntax:
	return fail(err, "22P02", "invalid input syntax for type %s: \"%.*s\"", int_type_name(oid),
		    QLEN(len), v);
}

static enum pgv_status no_special(struct pgv_error *err, const char *what)
{
	return fail(err, "0A000", "%s cannot be passed to a legacy table: MySQL has no such value",
		    what);
}

/* numeric_in. */
static enum pgv_status param_numeric_text(struct pgv_buf *out, const char *v, size_t len,
					  struct pgv_error *err)
{
	const char *t = v;
	size_t n = len;
	trim(&t, &n);
	const char *u = n > 0 && (*t == '+' || *t == '-') ? t + 1 : t;
	size_t un = n - (size_t)(u - t);
	if (eq_ci(t, n, "NaN"))
		return no_special(err, "numeric NaN");
	if (eq_ci(u, un, "Infinity") || eq_ci(u, un, "inf"))
		return no_special(err, "numeric Infinity");
	struct dec d;
	if (!dec_parse(t, n, true, &d))
		return fail(err, "22P02", "invalid input syntax for type numeric: \"%.*s\"", QLEN(len),
			    v);
	/* set_var_from_str's exponent bound, then make_result's: dscale 0x3FFF, weight an int16. */
	int64_t e = d.point - (int64_t)d.ilen;
	if (e >= 1073741823 || e <= -1073741823)
		return fail(err, "22003", "value overflows numeric format");
	int64_t lo = 0, n_all = (int64_t)(d.ilen + d.flen);
	while (lo < n_all && dec_digit(&d, lo) == '0')
		lo++;
	if (dec_scale(&d) > 0x3FFF || (lo < n_all && d.point - lo > 131072))
		return fail(err, "22003", "value overflows numeric format");
	return dec_put(out, &d);
}

/* A finite double as a MySQL DOUBLE literal: shortest digits in exponent form. */
static enum pgv_status put_double_literal(struct pgv_buf *out, double v, bool single)
{
	char b[48], *p = b;
	if (isnan(v))
		return PGV_BAD;
	if (v == 0)
		return put_str(out, signbit(v) ? "-0e0" : "0e0");
	char d[20];
	int e, n = shortest_digits(v, single, d, &e, 0);
	if (v < 0)
		*p++ = '-';
	*p++ = d[0];
	if (n > 1) {
		*p++ = '.';
		memcpy(p, d + 1, (size_t)n - 1);
		p += n - 1;
	}
	*p++ = 'e';
	p = put_int(p, e);
	return put(out, b, (size_t)(p - b));
}

/* float4in / float8in: strtod's syntax (glibc: also hex, inf, nan), spaces around. */
static enum pgv_status param_float_text(struct pgv_buf *out, bool single, const char *v,
					size_t len, struct pgv_error *err)
{
	const char *type = single ? "real" : "double precision";
	char tmp[512];
	const char *t = v;
	size_t n = len;
	while (n > 0 && c_isspace(*t))
		t++, n--;
	if (n == 0 || n >= sizeof(tmp))
		goto syntax;
	memcpy(tmp, t, n);
	tmp[n] = '\0';
	char *end;
	errno = 0;
	double d;
	if (single) {
		float f = strtof(tmp, &end);
		d = f;
	} else {
		d = strtod(tmp, &end);
	}
	if (end == tmp)
		goto syntax;
	bool range = errno == ERANGE && (d == 0 || isinf(d));
	while (c_isspace(*end))
		end++;
	if (*end != '\0')
		goto syntax;
	if (range)
		return fail(err, "22003", "\"%.*s\" is out of range for type %s", QLEN(len), v, type);
	if (isnan(d))
		return no_special(err, "NaN");
	if (isinf(d))
		return no_special(err, "Infinity");
	return put_double_literal(out, d, single);
syntax:
	return fail(err, "22P02", "invalid input syntax for type %s: \"%.*s\"", type, QLEN(len), v);
}

/* boolin: parse_bool_with_len after trimming; unique prefixes of the words. */
static enum pgv_status param_bool_text(struct pgv_buf *out, const char *v, size_t len,
				       struct pgv_error *err)
{
	const char *t = v;
	size_t n = len;
	trim(&t, &n);
	int r = -1;
	if (n > 0) {
		switch (c_lower(*t)) {
		case 't':
			r = prefix_ci(t, n, "true") ? 1 : -1;
			break;
		case 'f':
			r = prefix_ci(t, n, "false") ? 0 : -1;
			break;
		case 'y':
			r = prefix_ci(t, n, "yes") ? 1 : -1;
			break;
		case 'n':
			r = prefix_ci(t, n, "no") ? 0 : -1;
			break;
		case 'o':
			r = n < 2 ? -1 : prefix_ci(t, n, "on") ? 1 : prefix_ci(t, n, "off") ? 0 : -1;
			break;
		case '1':
			r = n == 1 ? 1 : -1;
			break;
		case '0':
			r = n == 1 ? 0 : -1;
			break;
		default:
			break;
		}
	}
	if (r < 0)
		return fail(err, "22P02", "invalid input syntax for type boolean: \"%.*s\"",
			    QLEN(len), v);
	return put_str(out, r ? "TRUE" : "FALSE");
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = c_lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* byteain: "\x" hex (blanks between pairs) or the escape format; decoded into X'..'. */
static enum pgv_status param_bytea_text(struct pgv_buf *out, const char *v, size_t len,
					struct pgv_error *err)
{
	char *p = buf_room(out, len * 2 + 3), *p0 = p;
	if (p == NULL)
		return PGV_OOM;
	*p++ = 'X';
	*p++ = '\'';
	if (len >= 2 && v[0] == '\\' && v[1] == 'x') {
		for (size_t i = 2; i < len;) {
			char c = v[i];
			if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
				i++;
				continue;
			}
			int hi = hex_val(c);
			if (hi < 0)
				return fail(err, "22023", "invalid hexadecimal digit: \"%c\"", c);
			if (++i >= len)
				return fail(err, "22023", "invalid hexadecimal data: odd number of digits");
			int lo = hex_val(v[i]);
			if (lo < 0)
				return fail(err, "22023", "invalid hexadecimal digit: \"%c\"", v[i]);
			i++;
			*p++ = hexdig[hi];
			*p++ = hexdig[lo];
		}
	} else {
		for (size_t i = 0; i < len;) {
			unsigned char c = (unsigned char)v[i];
			if (c != '\\') {
				i++;
			} else if (i + 3 < len && v[i + 1] >= '0' && v[i + 1] <= '3' &&
				   v[i + 2] >= '0' && v[i + 2] <= '7' && v[i + 3] >= '0' &&
				   v[i + 3] <= '7') {
				c = (unsigned char)((v[i + 1] - '0') << 6 | (v[i + 2] - '0') << 3 |
						    (v[i + 3] - '0'));
				i += 4;
			} else if (i + 1 < len && v[i + 1] == '\\') {
				i += 2;
			} else {
				return fail(err, "22P02", "invalid input syntax for type bytea");
			}
			*p++ = hexdig[c >> 4];
			*p++ = hexdig[c & 15];
		}
	}
	*p++ = '\'';
	out->len += (size_t)(p - p0);
	return PGV_OK;
}

/*
 * Dates and timestamps a client sends: the ISO forms Postgres reads —
 * Y-M-D, then [ T]H:M[:S[.f]], then a zone (Z, UTC, GMT, +h, +hh:mm,
 * +hhmm), then BC/AD — and "epoch". What needs a clock or has no MySQL
 * value ("now", "today", "infinity") or names a zone is refused with 0A000.
 */
struct ts_in {
	struct dt t;      /* local fields as written (astronomical year) */
	bool has_zone;
	int32_t east;     /* the zone written, seconds east */
};

static enum pgv_status ts_syntax(struct pgv_error *err, const char *type, const char *v, size_t len)
{
	return fail(err, "22007", "invalid input syntax for type %s: \"%.*s\"", type, QLEN(len), v);
}

static enum pgv_status ts_range(struct pgv_error *err, const char *v, size_t len)
{
	return fail(err, "22008", "date/time field value out of range: \"%.*s\"", QLEN(len), v);
}

static size_t read_num(const char *v, size_t len, size_t i, int64_t *n, size_t maxd)
{
	size_t k = 0;
	*n = 0;
	while (i + k < len && is_digit(v[i + k]) && k < maxd)
		*n = *n * 10 + (v[i + k] - '0'), k++;
	return k;
}

/* The zone after a time: +h, +hh:mm[:ss], +hhmm[ss], Z, UTC, GMT; other names are refused. */
static enum pgv_status parse_ts_zone(const char *t, size_t n, size_t *ip, const char *type,
				     const char *v, size_t len, struct ts_in *r, struct pgv_error *err)
{
	size_t i = *ip, k;
	if (i < n && (t[i] == '+' || t[i] == '-')) {
		int sign = t[i] == '-' ? -1 : 1;
		int64_t zh, zm = 0, zs = 0;
		i++;
		k = read_num(t, n, i, &zh, 6);
		if (k == 0)
			return ts_syntax(err, type, v, len);
		if (k == 4 || k == 6) {
			/* +hhmm, +hhmmss */
			int64_t all = zh;
			zh = k == 4 ? all / 100 : all / 10000;
			zm = k == 4 ? all % 100 : all / 100 % 100;
			zs = k == 6 ? all % 100 : 0;
		} else if (k > 2) {
			return ts_syntax(err, type, v, len);
		}
		i += k;
		if (k <= 2 && i < n && t[i] == ':') {
			if ((k = read_num(t, n, i + 1, &zm, 2)) != 2)
				return ts_syntax(err, type, v, len);
			i += 3;
			if (i < n && t[i] == ':') {
				if ((k = read_num(t, n, i + 1, &zs, 2)) != 2)
					return ts_syntax(err, type, v, len);
				i += 3;
			}
		}
		if (zh > 15 || zm > 59 || zs > 59)
			return fail(err, "22009", "time zone displacement out of range: \"%.*s\"",
				    QLEN(len), v);
		r->has_zone = true;
		r->east = (int32_t)(sign * (zh * 3600 + zm * 60 + zs));
	} else if (i < n && is_digit(t[i]) == false && t[i] != ' ') {
		size_t j = i;
		while (j < n && t[j] != ' ')
			j++;
		if (eq_ci(t + i, j - i, "Z") || eq_ci(t + i, j - i, "UTC") ||
		    eq_ci(t + i, j - i, "GMT")) {
			r->has_zone = true;
			i = j;
		} else if (!eq_ci(t + i, j - i, "BC") && !eq_ci(t + i, j - i, "AD")) {
			return fail(err, "0A000",
				    "time zone names in %s parameters for legacy tables are not supported; use a numeric offset",
				    type);
		}
	}
	*ip = i;
	return PGV_OK;
}

static enum pgv_status parse_ts_in(const char *v, size_t len, const char *type,
				   struct ts_in *r, struct pgv_error *err)
{
	const char *t = v;
	size_t n = len;
	trim(&t, &n);
	memset(r, 0, sizeof(*r));
	if (eq_ci(t, n, "epoch")) {
		r->t.year = 1970, r->t.mon = 1, r->t.mday = 1;
		r->has_zone = true;
		return PGV_OK;
	}
	static const char *const special[] = { "now", "today", "tomorrow", "yesterday", "infinity",
					       "-infinity", "+infinity", "allballs" };
	for (size_t k = 0; k < sizeof(special) / sizeof(special[0]); k++)
		if (eq_ci(t, n, special[k]))
			return fail(err, "0A000",
				    "%s '%s' cannot be passed to a legacy table: send the value itself",
				    type, special[k]);
	int64_t y, mo, d, h = 0, mi = 0, se = 0;
	size_t i = 0, k;
	if ((k = read_num(t, n, i, &y, 9)) == 0 || k + i >= n || t[i + k] != '-')
		return ts_syntax(err, type, v, len);
	i += k + 1;
	if ((k = read_num(t, n, i, &mo, 2)) == 0 || k + i >= n || t[i + k] != '-')
		return ts_syntax(err, type, v, len);
	i += k + 1;
	if ((k = read_num(t, n, i, &d, 2)) == 0)
		return ts_syntax(err, type, v, len);
	i += k;
	int32_t usec = 0;
	if (i < n && (t[i] == 'T' || t[i] == ' ')) {
		size_t j = i + 1;
		while (j < n && t[j] == ' ')
			j++;
		if (j < n && is_digit(t[j])) {
			i = j;
			if ((k = read_num(t, n, i, &h, 2)) == 0 || i + k >= n || t[i + k] != ':')
				return ts_syntax(err, type, v, len);
			i += k + 1;
			if ((k = read_num(t, n, i, &mi, 2)) == 0)
				return ts_syntax(err, type, v, len);
			i += k;
			if (i < n && t[i] == ':') {
				if ((k = read_num(t, n, i + 1, &se, 2)) == 0)
					return ts_syntax(err, type, v, len);
				i += k + 1;
				if (i < n && t[i] == '.') {
					/* ParseFractionalSecond: strtod, then rint to microseconds. */
					char fr[40] = "0.";
					size_t f = 2;
					for (i++; i < n && is_digit(t[i]); i++)
						if (f + 1 < sizeof(fr))
							fr[f++] = t[i];
					fr[f] = '\0';
					usec = (int32_t)rint(strtod(fr, NULL) * 1e6);
				}
			}
		}
	}
	while (i < n && t[i] == ' ')
		i++;
	enum pgv_status st = parse_ts_zone(t, n, &i, type, v, len, r, err);
	if (st != PGV_OK)
		return st;
	while (i < n && t[i] == ' ')
		i++;
	bool bc = false;
	if (i + 2 <= n && (eq_ci(t + i, 2, "BC") || eq_ci(t + i, 2, "AD"))) {
		bc = c_lower(t[i]) == 'b';
		i += 2;
	}
	if (i != n)
		return ts_syntax(err, type, v, len);
	if (bc && y == 0)
		return ts_range(err, v, len);
	if (mo < 1 || mo > 12 || d < 1 || y > 294276 || (y == 0 && !bc) ||
	    d > month_days(bc ? 1 - y : y, (int)mo))
		return ts_range(err, v, len);
	if (h > 24 || mi > 59 || se > 60 || (h == 24 && (mi || se || usec)))
		return ts_range(err, v, len);
	r->t.year = bc ? 1 - y : y;
	r->t.mon = (int)mo, r->t.mday = (int)d;
	/* 24:00:00 and a leap second roll over, as Postgres' tm2timestamp does. */
	int64_t us = dt_to_usecs(&r->t) + ((h * 60 + mi) * 60 + se) * USECS_PER_SEC + usec;
	dt_from_usecs(us, &r->t);
	return PGV_OK;
}

/* MySQL DATE/DATETIME hold years 1000..9999 (0..9999 in practice); others have no MySQL value. */
static enum pgv_status check_mysql_year(const struct dt *t, const char *type, struct pgv_error *err)
{
	if (t->year < 1 || t->year > 9999)
		return fail(err, "0A000",
			    "%s values outside the years 1-9999 cannot be passed to a legacy table", type);
	return PGV_OK;
}

static enum pgv_status put_ts_literal(struct pgv_buf *out, const struct dt *t, bool date_only)
{
	char b[40], *p = b;
	*p++ = '\'';
	p = put_uint(p, (uint64_t)t->year, 4);
	*p++ = '-';
	p = put_uint(p, (uint64_t)t->mon, 2);
	*p++ = '-';
	p = put_uint(p, (uint64_t)t->mday, 2);
	if (!date_only) {
		*p++ = ' ';
		p = put_uint(p, (uint64_t)t->hour, 2);
		*p++ = ':';
		p = put_uint(p, (uint64_t)t->min, 2);
		*p++ = ':';
		p = put_uint(p, (uint64_t)t->sec, 2);
		*p++ = '.';
		p = put_uint(p, (uint64_t)t->usec, 6);
	}
	*p++ = '\'';
	return put(out, b, (size_t)(p - b));
}

static enum pgv_status param_ts_text(struct pgv_buf *out, uint32_t oid, const char *v, size_t len,
				     const struct pgv_session *s, struct pgv_error *err)
{
	const char *type = oid == PG_OID_DATE ? "date" :
			   oid == PG_OID_TIMESTAMP ? "timestamp" : "timestamp with time zone";
	struct ts_in r;
	enum pgv_status st = parse_ts_in(v, len, type, &r, err);
	if (st != PGV_OK)
		return st;
	struct dt t = r.t;
	if (oid == PG_OID_TIMESTAMPTZ) {
		/* To UTC: the offset written, or the session zone's for that local time. */
		int64_t us = dt_to_usecs(&t);
		int32_t east = r.has_zone ? r.east :
			       tz_offset_for_local(s->tz, floor_div(us, USECS_PER_SEC));
		dt_from_usecs(us - east * USECS_PER_SEC, &t);
	}
	if ((st = check_mysql_year(&t, type, err)) != PGV_OK)
		return st;
	if (oid == PG_OID_DATE) {
		/* date_in drops the time of day. */
		return put_ts_literal(out, &t, true);
	}
	return put_ts_literal(out, &t, false);
}

/* JSON (json_in): RFC 8259 syntax, any value at the top; nesting kept on an explicit stack. */

static size_t json_ws(const char *p, size_t n, size_t i)
{
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
		i++;
	return i;
}

/* The end of the string starting at p[i] == '"', or 0 when it is not one. */
static size_t json_string(const char *p, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '"')
			return i + 1;
		if (c < 0x20)
			return 0;
		if (c != '\\')
			continue;
		if (++i >= n)
			return 0;
		if (p[i] == 'u') {
			for (int k = 1; k <= 4; k++)
				if (i + (size_t)k >= n || hex_val(p[i + (size_t)k]) < 0)
					return 0;
			i += 4;
		} else if (!strchr("\"\\/bfnrt", p[i])) {
			return 0;
		}
	}
	return 0;
}

/* The end of the number, literal, or string at p[i]; 0 when there is none. */
static size_t json_scalar(const char *p, size_t n, size_t i)
{
	if (p[i] == '"')
		return json_string(p, n, i);
	static const char *const words[] = { "true", "false", "null" };
	for (int w = 0; w < 3; w++) {
		size_t wl = strlen(words[w]);
		if (n - i >= wl && memcmp(p + i, words[w], wl) == 0)
			return i + wl;
	}
	size_t j = i;
	if (j < n && p[j] == '-')
		j++;
	if (j < n && p[j] == '0')
		j++;
	else if (j < n && p[j] >= '1' && p[j] <= '9')
		while (j < n && is_digit(p[j]))
			j++;
	else
		return 0;
	if (j < n && p[j] == '.') {
		if (++j >= n || !is_digit(p[j]))
			return 0;
		while (j < n && is_digit(p[j]))
			j++;
	}
	if (j < n && (p[j] == 'e' || p[j] == 'E')) {
		if (++j < n && (p[j] == '+' || p[j] == '-'))
			j++;
		if (j >= n || !is_digit(p[j]))
			return 0;
		while (j < n && is_digit(p[j]))
			j++;
	}
	/* A literal or number runs into no identifier characters ("truex", "1x"). */
	if (j < n && ((p[j] >= 'a' && p[j] <= 'z') || (p[j] >= 'A' && p[j] <= 'Z') ||
		      is_digit(p[j]) || p[j] == '_'))
		return 0;
	return j;
}

#define JSON_MAX_DEPTH 6400

static bool json_valid(const char *p, size_t n)
{
	uint8_t in_obj[JSON_MAX_DEPTH / 8];
	int depth = 0;
	size_t i = json_ws(p, n, 0);
	for (;;) {
		/* A value. */
		if (i >= n)
			return false;
		if (p[i] == '{' || p[i] == '[') {
			if (depth == JSON_MAX_DEPTH)
				return false;
			bool obj = p[i] == '{';
			in_obj[depth / 8] = (uint8_t)((in_obj[depth / 8] & ~(1u << depth % 8)) |
						      (unsigned)obj << depth % 8);
			depth++;
			i = json_ws(p, n, i + 1);
			if (i < n && p[i] == (obj ? '}' : ']')) {
				depth--;
				i++;
			} else if (obj) {
				if (i >= n || p[i] != '"' || (i = json_string(p, n, i)) == 0)
					return false;
				i = json_ws(p, n, i);
				if (i >= n || p[i] != ':')
					return false;
				i = json_ws(p, n, i + 1);
				continue;
			} else {
				continue;
			}
		} else if ((i = json_scalar(p, n, i)) == 0) {
			return false;
		}
		/* After a value: the end, a separator, or a closing bracket. */
		for (;;) {
			i = json_ws(p, n, i);
			if (depth == 0)
				return i == n;
			bool obj = in_obj[(depth - 1) / 8] >> (depth - 1) % 8 & 1;
			if (i < n && p[i] == (obj ? '}' : ']')) {
				depth--;
				i++;
				continue;
			}
			if (i >= n || p[i] != ',')
				return false;
			i = json_ws(p, n, i + 1);
			if (obj) {
				if (i >= n || p[i] != '"' || (i = json_string(p, n, i)) == 0)
					return false;
				i = json_ws(p, n, i);
				if (i >= n || p[i] != ':')
					return false;
				i = json_ws(p, n, i + 1);
			}
			break;
		}
	}
}

/* Binary parameters (the receive functions). */

static uint64_t rd_be(const char *v, size_t n)
{
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++)
		x = x << 8 | (unsigned char)v[i];
	return x;
}

static enum pgv_status bin_format(struct pgv_error *err)
{
	return fail(err, "22P03", "incorrect binary data format in bind parameter");
}

/*
 * numeric_recv: int16 ndigits, weight, sign, dscale, then base-10000 digits;
 * digits past dscale are dropped (trunc_var), as Postgres does.
 */
static enum pgv_status param_numeric_binary(struct pgv_buf *out, const char *v, size_t len,
					    struct pgv_error *err)
{
	if (len < 8)
		return bin_format(err);
	size_t ndig = (size_t)rd_be(v, 2);
	int32_t weight = (int16_t)rd_be(v + 2, 2);
	uint32_t sign = (uint32_t)rd_be(v + 4, 2), dscale = (uint32_t)rd_be(v + 6, 2);
	if (sign == 0xC000)
		return no_special(err, "numeric NaN");
	if (sign == 0xD000 || sign == 0xF000)
		return no_special(err, "numeric Infinity");
	if (sign != 0 && sign != 0x4000)
		return fail(err, "22P03", "invalid sign in external \"numeric\" value");
	if (dscale > 0x3FFF)
		return fail(err, "22P03", "invalid scale in external \"numeric\" value");
	if (len != 8 + 2 * ndig)
		return bin_format(err);
	for (size_t i = 0; i < ndig; i++)
		if (rd_be(v + 8 + 2 * i, 2) >= 10000)
			return fail(err, "22P03", "invalid digit in external \"numeric\" value");
	size_t ipart = weight >= 0 ? (size_t)weight * 4 + 4 : 1;
	char *p = buf_room(out, ipart + dscale + 3), *p0 = p;
	if (p == NULL)
		return PGV_OOM;
	bool nonzero = false;
	*p++ = '-';  /* taken back below for a positive number or zero */
	char *digits = p;
	for (int32_t w = weight; w >= 0; w--) {
		int64_t idx = (int64_t)weight - w;
		unsigned g = idx < (int64_t)ndig ? (unsigned)rd_be(v + 8 + 2 * idx, 2) : 0;
		nonzero |= g != 0;
		if (p == digits && g == 0 && w > 0)
			continue;
		p = put_uint(p, g, p == digits ? 1 : 4);
	}
	if (p == digits)
		*p++ = '0';
	if (dscale > 0) {
		*p++ = '.';
		static const unsigned pow10[4] = { 1000, 100, 10, 1 };
		for (uint32_t k = 0; k < dscale; k++) {
			int64_t idx = (int64_t)weight + 1 + k / 4;
			unsigned g = idx >= 0 && idx < (int64_t)ndig ?
					     (unsigned)rd_be(v + 8 + 2 * idx, 2) : 0;
			unsigned dg = g / pow10[k % 4] % 10;
			nonzero |= dg != 0;
			*p++ = (char)('0' + dg);
		}
	}
	size_t n = (size_t)(p - p0);
	if (sign == 0 || !nonzero) {
		memmove(p0, p0 + 1, n - 1);
		n--;
	}
	out->len += n;
	return PGV_OK;
}

static enum pgv_status param_binary(struct pgv_buf *out, uint32_t oid, const char *v, size_t len,
				    struct pgv_error *err)
{
	char b[32];
	switch (oid) {
	case PG_OID_BOOL:
		if (len != 1)
			return bin_format(err);
		return put_str(out, v[0] ? "TRUE" : "FALSE");
	case PG_OID_INT2:
	case PG_OID_INT4:
	case PG_OID_INT8: {
		size_t w = oid == PG_OID_INT2 ? 2 : oid == PG_OID_INT4 ? 4 : 8;
		if (len != w)
			return bin_format(err);
		uint64_t x = rd_be(v, w);
		int64_t n = w == 2 ? (int16_t)x : w == 4 ? (int32_t)x : (int64_t)x;
		return put(out, b, (size_t)(put_int(b, n) - b));
	}
	case PG_OID_FLOAT4:
	case PG_OID_FLOAT8: {
		double d;
		if (len != (oid == PG_OID_FLOAT4 ? 4u : 8u))
			return bin_format(err);
		if (len == 4) {
			uint32_t u = (uint32_t)rd_be(v, 4);
			float f;
			memcpy(&f, &u, 4);
			d = f;
		} else {
			uint64_t u = rd_be(v, 8);
			memcpy(&d, &u, 8);
		}
		if (isnan(d))
			return no_special(err, "NaN");
		if (isinf(d))
			return no_special(err, "Infinity");
		return put_double_literal(out, d, len == 4);
	}
	case PG_OID_BYTEA:
		return put_hex_literal(out, (const unsigned char *)v, len);
	case PG_OID_NUMERIC:
		return param_numeric_binary(out, v, len, err);
	case PG_OID_DATE: {
		if (len != 4)
			return bin_format(err);
		int32_t days = (int32_t)rd_be(v, 4);
		if (days == INT32_MIN || days == INT32_MAX)
			return no_special(err, "date infinity");
		/* date_recv's range: 4714-11-24 BC .. 5874897 AD. */
		if (days < -2451545 || days >= 2147483494 - 2451545)
			return fail(err, "22008", "date out of range");
		struct dt t;
		dt_from_parts((int64_t)days + EPOCH_2000_DAYS, 0, &t);
		enum pgv_status st = check_mysql_year(&t, "date", err);
		return st != PGV_OK ? st : put_ts_literal(out, &t, true);
	}
	case PG_OID_TIMESTAMP:
	case PG_OID_TIMESTAMPTZ: {
		if (len != 8)
			return bin_format(err);
		int64_t us = (int64_t)rd_be(v, 8);
		if (us == INT64_MIN || us == INT64_MAX)
			return no_special(err, "timestamp infinity");
		/* Postgres' range ends at 294276 AD; anything past it is not a timestamp. */
		if (us > INT64_C(9223371331200000000) || us < INT64_C(-211813488000000000))
			return fail(err, "22008", "timestamp out of range");
		struct dt t;
		int64_t days = floor_div(us, USECS_PER_DAY);
		dt_from_parts(days + EPOCH_2000_DAYS, us - days * USECS_PER_DAY, &t);
		enum pgv_status st = check_mysql_year(&t, "timestamp", err);
		return st != PGV_OK ? st : put_ts_literal(out, &t, false);
	}
	default:
		return fail(err, "0A000",
			    "binary parameters of type %s are not supported for legacy tables",
			    catalog_type_name(oid));
	}
}

enum pgv_status pgv_param_literal(struct pgv_buf *out, uint32_t oid, int format, const char *v,
				  size_t len, const struct pgv_session *s, struct pgv_error *err)
{
	if (v == NULL)
		return put_str(out, "NULL");
	if (format != 0 && format != 1)
		return fail(err, "08P01", "unsupported format code: %d", format);
	bool textual = oid == PG_OID_TEXT || oid == PG_OID_VARCHAR || oid == PG_OID_BPCHAR ||
		       oid == PG_OID_NAME || oid == PG_OID_UNKNOWN || oid == PG_OID_JSON || oid == 0;
	if (format == 1 && !textual)
		return param_binary(out, oid, v, len, err);
	/* Text format, and the text types' binary format (the same bytes): UTF-8 first. */
	enum pgv_status st = check_utf8(v, len, err);
	if (st != PGV_OK)
		return st;
	switch (oid) {
	case PG_OID_INT2:
	case PG_OID_INT4:
	case PG_OID_INT8:
		return param_int_text(out, oid, v, len, err);
	case PG_OID_NUMERIC:
		return param_numeric_text(out, v, len, err);
	case PG_OID_FLOAT4:
	case PG_OID_FLOAT8:
		return param_float_text(out, oid == PG_OID_FLOAT4, v, len, err);
	case PG_OID_BOOL:
		return param_bool_text(out, v, len, err);
	case PG_OID_BYTEA:
		return param_bytea_text(out, v, len, err);
	case PG_OID_DATE:
	case PG_OID_TIMESTAMP:
	case PG_OID_TIMESTAMPTZ:
		return param_ts_text(out, oid, v, len, s, err);
	case PG_OID_JSON:
		if (!json_valid(v, len))
			return fail(err, "22P02", "invalid input syntax for type json");
		return put_quoted(out, v, len);
	default:
		if (textual)
			return put_quoted(out, v, len);
		return fail(err, "0A000", "parameters of type %s are not supported for legacy tables",
			    catalog_type_name(oid));
	}
}

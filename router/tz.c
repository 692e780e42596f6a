/*
 * tz — time zones as Postgres knows them.
 *
 * A zone is a transition table (from TZif data, RFC 8536) and/or a POSIX TZ
 * rule (the TZif footer, or the whole zone for names like "KST-9"). Times
 * before the first transition use local time type 0 (what zic has written
 * since 2018, and what Postgres' localtime.c infers); times after the last
 * one follow the rule. Local times are resolved the way Postgres'
 * DetermineTimeZoneOffset does: find the first transition after
 * (local - 24h), try the offsets on both sides, and in a gap or an overlap
 * prefer the interpretation with the later UTC instant when the clocks
 * went forward, the earlier-offset ("after") one when they went back.
 *
 * Everything read from TZif bytes is bounds-checked before use; a zone is
 * one allocation (and one per step function, tz_steps) and immutable once
 * built.
 */
#include "router/tz.h"

#include <stdlib.h>
#include <string.h>

#define TZ_ABBR_MAX 32          /* a POSIX abbreviation, NUL included */
#define TZ_MAX_TIMES 4096       /* localtime.c allows 2000; fat files have ~240 */
#define TZ_MAX_TYPES 256
#define TZ_MAX_CHARS 256
#define SECS_PER_DAY 86400

/* One end of a POSIX DST rule: when it happens, in local wall-clock seconds of that day. */
enum rule_kind {
	RULE_JULIAN = 0,  /* Jn: day 1..365, February 29 never counted */
	RULE_DAY,         /* n: day 0..365, February 29 counted */
	RULE_MONTH,       /* Mm.w.d: weekday d of week w (5 = last) of month m */
};

struct rule_date {
	enum rule_kind kind;
	int day;     /* Jn / n */
	int month;   /* Mm.w.d */
	int week;
	int wday;
	int32_t time; /* seconds after local midnight; may be negative or > 24h (RFC 8536 v3) */
};

struct tz_rule {
	int32_t std_off;   /* seconds east of UTC */
	int32_t dst_off;
	bool has_dst;
	char std_abbr[TZ_ABBR_MAX];
	char dst_abbr[TZ_ABBR_MAX];
	struct rule_date start; /* DST starts (local standard time) */
	struct rule_date end;   /* DST ends (local daylight time) */
};

struct tz_type {
	int32_t utoff;
	bool isdst;
	uint16_t abbr;   /* index into chars */
};

struct tz_zone {
	char name[64];
	uint32_t ntimes;
	uint32_t ntypes;
	const int64_t *times;   /* ascending */
	const uint8_t *idx;     /* type of each transition */
	const struct tz_type *types;
	const char *chars;      /* NUL-terminated abbreviations */
	bool has_rule;
	struct tz_rule rule;
	struct steps {       /* tz_steps, by enum tz_steps_kind; built with the zone */
		int64_t *at;
		int32_t *off;
		uint32_t n;
	} steps[2];
};

static bool build_steps(struct tz_zone *z);

/* Calendar arithmetic (proleptic Gregorian), days since 1970-01-01. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t year_of_days(int64_t z)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t m = mp + (mp < 10 ? 3 : -9);
	return yoe + era * 400 + (m <= 2);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int floor_mod(int64_t a, int b)
{
	int r = (int)(a % b);
	return r < 0 ? r + b : r;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The day (since the epoch) rule date <r> falls on in year <y>. */
static int64_t rule_day(const struct rule_date *r, int64_t y)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int64_t jan1 = days_from_civil(y, 1, 1);
	switch (r->kind) {
	case RULE_JULIAN:
		return jan1 + r->day - 1 + (is_leap(y) && r->day >= 60);
	case RULE_DAY:
		return jan1 + r->day;
	case RULE_MONTH:
	default: {
		int64_t first = days_from_civil(y, r->month, 1);
		int wd1 = floor_mod(first + 4, 7); /* 1970-01-01 was a Thursday */
		int d = 1 + floor_mod(r->wday - wd1, 7) + (r->week - 1) * 7;
		int len = mdays[r->month - 1] + (r->month == 2 && is_leap(y));
		while (d > len)
			d -= 7;
		return first + d - 1;
	}
	}
}

/* UTC instants DST starts and ends in year <y>. */
static void rule_year(const struct tz_rule *r, int64_t y, int64_t *start, int64_t *end)
{
	*start = rule_day(&r->start, y) * SECS_PER_DAY + r->start.time - r->std_off;
	*end = rule_day(&r->end, y) * SECS_PER_DAY + r->end.time - r->dst_off;
}

static bool rule_is_dst(const struct tz_rule *r, int64_t utc)
{
	if (!r->has_dst)
		return false;
	int64_t y = year_of_days(floor_div(utc + r->std_off, SECS_PER_DAY));
	int64_t s, e;
	rule_year(r, y, &s, &e);
	if (s < e)
		return utc >= s && utc < e;
	return !(utc >= e && utc < s);
}

/* The first rule transition after <t>, if the rule has DST. */
static bool rule_next(const struct tz_rule *r, int64_t t, int64_t *at)
{
	if (!r->has_dst)
		return false;
	int64_t y = year_of_days(floor_div(t + r->std_off, SECS_PER_DAY));
	bool found = false;
	for (int64_t yy = y - 1; yy <= y + 1; yy++) {
		int64_t s, e;
		rule_year(r, yy, &s, &e);
		if (s > t && (!found || s < *at))
			*at = s, found = true;
		if (e > t && (!found || e < *at))
			*at = e, found = true;
	}
	return found;
}

/* POSIX TZ strings: "std offset [dst [offset] [,start[/time],end[/time]]]". */

/*
 * An abbreviation as localtime.c's getzname/getqzname read it: <...> quoted,
 * or everything up to a digit, ',', '-', '+' or the end. An empty std name
 * is allowed (Postgres reads "+09:00" as a nameless zone 9 hours west).
 */
static const char *parse_abbr(const char *p, char *out, bool allow_empty)
{
	size_t n = 0;
	bool quoted = *p == '<';
	if (quoted)
		p++;
	while (*p != '\0' && (quoted ? *p != '>' :
		    !(*p >= '0' && *p <= '9') && *p != ',' && *p != '-' && *p != '+')) {
		if (n + 1 >= TZ_ABBR_MAX)
			return NULL;
		out[n++] = *p++;
	}
	if (quoted && *p++ != '>')
		return NULL;
	if (n == 0 && !allow_empty)
		return NULL;
	out[n] = '\0';
	return p;
}

static const char *parse_num(const char *p, int *v, int max)
{
	if (*p < '0' || *p > '9')
		return NULL;
	int n = 0;
	while (*p >= '0' && *p <= '9') {
		n = n * 10 + (*p++ - '0');
		if (n > max)
			return NULL;
	}
	*v = n;
	return p;
}

/* [+-]hh[:mm[:ss]] as seconds; <maxh> bounds the hours (24, or 167 for rule times). */
static const char *parse_hms(const char *p, int32_t *secs, int maxh)
{
	int sign = 1, h, m = 0, s = 0;
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if ((p = parse_num(p, &h, maxh)) == NULL)
		return NULL;
	if (*p == ':') {
		if ((p = parse_num(p + 1, &m, 59)) == NULL)
			return NULL;
		if (*p == ':' && (p = parse_num(p + 1, &s, 59)) == NULL)
			return NULL;
	}
	*secs = sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *parse_rule_date(const char *p, struct rule_date *d)
{
	if (*p == 'J') {
		d->kind = RULE_JULIAN;
		if ((p = parse_num(p + 1, &d->day, 365)) == NULL || d->day < 1)
			return NULL;
	} else if (*p == 'M') {
		d->kind = RULE_MONTH;
		if ((p = parse_num(p + 1, &d->month, 12)) == NULL || d->month < 1 || *p != '.')
			return NULL;
		if ((p = parse_num(p + 1, &d->week, 5)) == NULL || d->week < 1 || *p != '.')
			return NULL;
		if ((p = parse_num(p + 1, &d->wday, 6)) == NULL)
			return NULL;
	} else {
		d->kind = RULE_DAY;
		if ((p = parse_num(p, &d->day, 365)) == NULL)
			return NULL;
	}
	d->time = 7200;
	if (*p == '/')
		p = parse_hms(p + 1, &d->time, 167);
	return p;
}

/*
 * Parses a whole POSIX TZ string into <r>; false on any syntax error or
 * trailing bytes. <lenient> is Postgres' reading of a TimeZone setting: an
 * empty std abbreviation is allowed.
 */
static bool parse_posix(const char *p, struct tz_rule *r, bool lenient)
{
	memset(r, 0, sizeof(*r));
	int32_t off;
	if ((p = parse_abbr(p, r->std_abbr, lenient)) == NULL)
		return false;
	if ((p = parse_hms(p, &off, 167)) == NULL)
		return false;
	r->std_off = -off;  /* POSIX counts hours west */
	if (*p == '\0')
		return true;
	if ((p = parse_abbr(p, r->dst_abbr, false)) == NULL)
		return false;
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (*p != ',' && *p != ';' && *p != '\0') {
		if ((p = parse_hms(p, &off, 167)) == NULL)
			return false;
		r->dst_off = -off;
	}
	if (*p == '\0') {
		/* No rule: localtime.c's TZDEFRULESTRING, the US rule since 2007. */
		r->start = (struct rule_date){ RULE_MONTH, 0, 3, 2, 0, 7200 };
		r->end = (struct rule_date){ RULE_MONTH, 0, 11, 1, 0, 7200 };
		return true;
	}
	if ((*p != ',' && *p != ';') || (p = parse_rule_date(p + 1, &r->start)) == NULL)
		return false;
	if (*p != ',' || (p = parse_rule_date(p + 1, &r->end)) == NULL)
		return false;
	return *p == '\0';
}

static struct tz_zone *zone_alloc(const char *name, size_t extra)
{
	struct tz_zone *z = calloc(1, sizeof(*z) + extra);
	if (z == NULL)
		return NULL;
	size_t n = strlen(name);
	if (n >= sizeof(z->name))
		n = sizeof(z->name) - 1;
	memcpy(z->name, name, n);
	z->name[n] = '\0';
	return z;
}

static bool ascii_eq_ci(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a >= 'a' && *a <= 'z' ? *a - 32 : *a;
		char y = *b >= 'a' && *b <= 'z' ? *b - 32 : *b;
		if (x != y)
			return false;
	}
	return *a == *b;
}

/* "9", "+09", "-3.5": hours east, as Postgres' check_timezone reads a number. */
static bool parse_hours(const char *p, int32_t *secs)
{
	int sign = 1;
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	int64_t h = 0, frac = 0, scale = 1;
	bool digits = false;
	for (; *p >= '0' && *p <= '9'; p++, digits = true)
		if ((h = h * 10 + (*p - '0')) > 167)
			return false;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits = true)
			if (scale < 1000000)
				frac = frac * 10 + (*p - '0'), scale *= 10;
	}
	if (!digits || *p != '\0')
		return false;
	int64_t s = h * 3600 + (frac * 3600 + scale / 2) / scale;
	if (s > 167 * 3600)
		return false;
	*secs = (int32_t)(sign * s);
	return true;
}

/* pg_tzset_offset's abbreviation: "+09", "-03:30", "+05:45:10". */
static void offset_abbr(int32_t east, char *out)
{
	int32_t a = east < 0 ? -east : east;
	size_t n = 0;
	out[n++] = east < 0 ? '-' : '+';
	out[n++] = (char)('0' + a / 36000);
	out[n++] = (char)('0' + a / 3600 % 10);
	if (a % 3600) {
		out[n++] = ':';
		out[n++] = (char)('0' + a / 600 % 6);
		out[n++] = (char)('0' + a / 60 % 10);
		if (a % 60) {
			out[n++] = ':';
			out[n++] = (char)('0' + a % 60 / 10);
			out[n++] = (char)('0' + a % 10);
		}
	}
	out[n] = '\0';
}

struct tz_zone *tz_fixed(const char *name)
{
	if (name == NULL || strlen(name) >= 60)
		return NULL;
	struct tz_rule r;
	int32_t secs;
	memset(&r, 0, sizeof(r));
	if (ascii_eq_ci(name, "UTC") || ascii_eq_ci(name, "Z")) {
		memcpy(r.std_abbr, "UTC", 4);
	} else if (ascii_eq_ci(name, "GMT")) {
		memcpy(r.std_abbr, "GMT", 4);
	} else if (parse_hours(name, &secs)) {
		r.std_off = secs;
		offset_abbr(secs, r.std_abbr);
	} else {
		/* Postgres upper-cases a POSIX spec before parsing it ("kst-9" is KST). */
		char up[64];
		size_t i;
		for (i = 0; name[i]; i++)
			up[i] = name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i];
		up[i] = '\0';
		if (!parse_posix(up, &r, true))
			return NULL;
	}
	/*
	 * pg_tz_acceptable: an offset with seconds at 2000-01-01 would look like
	 * leap-second timekeeping, and Postgres refuses the zone.
	 */
	if ((rule_is_dst(&r, 946684800) ? r.dst_off : r.std_off) % 60 != 0)
		return NULL;
	struct tz_zone *z = zone_alloc(name, 0);
	if (z == NULL)
		return NULL;
	z->has_rule = true;
	z->rule = r;
	if (!build_steps(z)) {
		tz_free(z);
		return NULL;
	}
	return z;
}

bool tz_file_name(const char *name, char *out, size_t n)
{
	if (name == NULL || name[0] == '\0' || name[0] == '/')
		return false;
	size_t len = 0;
	for (const char *p = name; *p; p++, len++) {
		char c = *p;
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  c == '/' || c == '_' || c == '+' || c == '-';
		if (!ok)
			return false;  /* '.' is not allowed, so neither is ".." */
	}
	if (len + 1 > n)
		return false;
	memcpy(out, name, len + 1);
	return true;
}

/* TZif reading: a cursor over the bytes with checked big-endian reads. */
struct rd {
	const uint8_t *p;
	size_t left;
};

static bool rd_skip(struct rd *r, uint64_t n)
{
	if (n > r->left)
		return false;
	r->p += n;
	r->left -= (size_t)n;
	return true;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_hdr {
	char version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static bool read_hdr(struct rd *r, struct tzif_hdr *h)
{
	if (r->left < 44 || memcmp(r->p, "TZif", 4) != 0)
		return false;
	h->version = (char)r->p[4];
	const uint8_t *c = r->p + 20;
	h->isutcnt = be32(c);
	h->isstdcnt = be32(c + 4);
	h->leapcnt = be32(c + 8);
	h->timecnt = be32(c + 12);
	h->typecnt = be32(c + 16);
	h->charcnt = be32(c + 20);
	r->p += 44;
	r->left -= 44;
	return true;
}

/* The counts of the block we read (not the v1 block a v2+ file only skips). */
static bool hdr_valid(const struct tzif_hdr *h)
{
	if (h->typecnt == 0 || h->typecnt > TZ_MAX_TYPES || h->timecnt > TZ_MAX_TIMES ||
	    h->charcnt > TZ_MAX_CHARS)
		return false;
	/* isutcnt/isstdcnt are 0 or typecnt (RFC 8536 3.1). */
	if ((h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
	    (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
		return false;
	return true;
}

static uint64_t data_len(const struct tzif_hdr *h, unsigned tsize)
{
	return (uint64_t)h->timecnt * (tsize + 1) + (uint64_t)h->typecnt * 6 + h->charcnt +
	       (uint64_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

/* Fills the zone's tables from the data block at r (already length-checked). */
static bool read_data(const uint8_t *p, const struct tzif_hdr *h, unsigned tsize, struct tz_zone *z,
		      int64_t *times, uint8_t *idx, struct tz_type *types, char *chars)
{
	for (uint32_t i = 0; i < h->timecnt; i++, p += tsize) {
		times[i] = tsize == 8 ? be64(p) : (int64_t)(int32_t)be32(p);
		if (i > 0 && times[i] <= times[i - 1])
			return false;
	}
	for (uint32_t i = 0; i < h->timecnt; i++, p++) {
		if (*p >= h->typecnt)
			return false;
		idx[i] = *p;
	}
	for (uint32_t i = 0; i < h->typecnt; i++, p += 6) {
		int32_t off = (int32_t)be32(p);
		if (off < -89999 || off > 93599 || p[4] > 1 || p[5] >= h->charcnt)
			return false;
		types[i] = (struct tz_type){ off, p[4] == 1, p[5] };
	}
	memcpy(chars, p, h->charcnt);
	chars[h->charcnt] = '\0';
	z->ntimes = h->timecnt;
	z->ntypes = h->typecnt;
	return true;
}

struct tz_zone *tz_from_tzif(const char *name, const uint8_t *data, size_t len)
{
	struct rd r = { data, len };
	struct tzif_hdr h;
	if (data == NULL || !read_hdr(&r, &h))
		return NULL;
	unsigned tsize = 4;
	if (h.version >= '2') {
		/* Skip the 32-bit block (zic -b slim leaves it nearly empty): the 64-bit one is the truth. */
		if (!rd_skip(&r, data_len(&h, 4)) || !read_hdr(&r, &h))
			return NULL;
		tsize = 8;
	}
	if (!hdr_valid(&h))
		return NULL;
	/* Leap-second zones ("right/...") are refused, as pg_tz_acceptable does. */
	if (h.leapcnt != 0 || r.left < data_len(&h, tsize))
		return NULL;
	size_t ntimes = h.timecnt, ntypes = h.typecnt;
	size_t extra = ntimes * sizeof(int64_t) + ntypes * sizeof(struct tz_type) + ntimes +
		       h.charcnt + 1;
	struct tz_zone *z = zone_alloc(name ? name : "", extra);
	if (z == NULL)
		return NULL;
	int64_t *times = (int64_t *)(z + 1);
	struct tz_type *types = (struct tz_type *)(times + ntimes);
	uint8_t *idx = (uint8_t *)(types + ntypes);
	char *chars = (char *)(idx + ntimes);
	z->times = times;
	z->types = types;
	z->idx = idx;
	z->chars = chars;
	if (!read_data(r.p, &h, tsize, z, times, idx, types, chars))
		goto bad;
	rd_skip(&r, data_len(&h, tsize));
	if (tsize == 8) {
		/* The footer: "\n" TZ-string "\n"; an empty string means no rule. */
		if (r.left < 2 || r.p[0] != '\n')
			goto bad;
		const uint8_t *nl = memchr(r.p + 1, '\n', r.left - 1);
		size_t n = nl ? (size_t)(nl - r.p - 1) : 0;
		if (nl == NULL || n >= 64)
			goto bad;
		if (n > 0) {
			char tzs[64];
			memcpy(tzs, r.p + 1, n);
			tzs[n] = '\0';
			if (memchr(tzs, '\0', n) != NULL || !parse_posix(tzs, &z->rule, false))
				goto bad;
			z->has_rule = true;
		}
	}
	if (!build_steps(z)) {
		tz_free(z);
		return NULL;
	}
	return z;
bad:
	free(z);
	return NULL;
}

void tz_free(struct tz_zone *z)
{
	if (z == NULL)
		return;
	for (int k = 0; k < 2; k++) {
		free(z->steps[k].at);
		free(z->steps[k].off);
	}
	free(z);
}

const char *tz_name(const struct tz_zone *z)
{
	return z ? z->name : "UTC";
}

/* The offset in force at <utc>: from the table, or from the rule past its end. */
struct tz_at {
	int32_t off;
	bool isdst;
	const char *abbr;
};

static struct tz_at zone_at(const struct tz_zone *z, int64_t utc)
{
	if (z == NULL)
		return (struct tz_at){ 0, false, "UTC" };
	if (z->has_rule && (z->ntimes == 0 || utc >= z->times[z->ntimes - 1])) {
		bool dst = rule_is_dst(&z->rule, utc);
		return (struct tz_at){ dst ? z->rule.dst_off : z->rule.std_off, dst,
				       dst ? z->rule.dst_abbr : z->rule.std_abbr };
	}
	uint32_t t = 0;
	if (z->ntimes > 0 && utc >= z->times[0]) {
		uint32_t lo = 0, hi = z->ntimes - 1; /* largest i with times[i] <= utc */
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo + 1) / 2;
			if (z->times[mid] <= utc)
				lo = mid;
			else
				hi = mid - 1;
		}
		t = z->idx[lo];
	}
	const struct tz_type *ty = &z->types[t];
	return (struct tz_at){ ty->utoff, ty->isdst, z->chars + ty->abbr };
}

int32_t tz_offset_at(const struct tz_zone *z, int64_t utc, const char **abbrev, bool *is_dst)
{
	struct tz_at a = zone_at(z, utc);
	if (abbrev)
		*abbrev = a.abbr;
	if (is_dst)
		*is_dst = a.isdst;
	return a.off;
}

/*
 * The first transition after <t>: its instant and the offsets on either
 * side (pg_next_dst_boundary). False when none follows.
 */
static bool next_boundary(const struct tz_zone *z, int64_t t, int64_t *at, int32_t *before,
			  int32_t *after)
{
	if (z->ntimes > 0 && t < z->times[z->ntimes - 1]) {
		if (t < z->times[0]) {
			/* Before the table: localtime.c takes the first standard-time type. */
			uint32_t i = 0;
			while (i < z->ntypes && z->types[i].isdst)
				i++;
			*before = z->types[i < z->ntypes ? i : 0].utoff;
			*at = z->times[0];
			*after = z->types[z->idx[0]].utoff;
			return true;
		}
		uint32_t lo = 1, hi = z->ntimes - 1; /* smallest i with t < times[i] */
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (t < z->times[mid])
				hi = mid;
			else
				lo = mid + 1;
		}
		*before = z->types[z->idx[lo - 1]].utoff;
		*at = z->times[lo];
		*after = z->types[z->idx[lo]].utoff;
		return true;
	}
	*before = zone_at(z, t).off;
	if (!z->has_rule || !rule_next(&z->rule, t, at))
		return false;
	*after = zone_at(z, *at).off;
	return true;
}

int32_t tz_offset_for_local(const struct tz_zone *z, int64_t local)
{
	if (z == NULL)
		return 0;
	int64_t prev = local - SECS_PER_DAY;
	int64_t boundary = 0;
	int32_t before = 0, after = 0;
	if (!next_boundary(z, prev, &boundary, &before, &after))
		return before;
	int64_t bt = local - before, at = local - after;
	if (bt < boundary && at < boundary)
		return before;
	if (bt >= boundary && at >= boundary)
		return after;
	/* A gap (clocks forward) takes "before", an overlap (clocks back) "after". */
	return bt > at ? before : after;
}

/* ---- step functions (tz_steps) ---- */

/* A step function being built: off[0..n], at[0..n). */
struct steps_b {
	struct steps s;
	uint32_t cap;
	bool failed;
};

static void steps_init(struct steps_b *b, int32_t off0)
{
	memset(b, 0, sizeof(*b));
	b->cap = 16;
	b->s.at = malloc(b->cap * sizeof(*b->s.at));
	b->s.off = malloc((b->cap + 1) * sizeof(*b->s.off));
	b->failed = b->s.at == NULL || b->s.off == NULL;
	if (!b->failed)
		b->s.off[0] = off0;
}

/* From <at> on (after every breakpoint so far), <off>; nothing when the offset stays. */
static void steps_add(struct steps_b *b, int64_t at, int32_t off)
{
	if (b->failed || off == b->s.off[b->s.n])
		return;
	if (b->s.n == b->cap) {
		uint32_t cap = b->cap * 2;
		int64_t *a = realloc(b->s.at, cap * sizeof(*a));
		if (a != NULL)
			b->s.at = a;
		int32_t *o = a != NULL ? realloc(b->s.off, (cap + 1) * sizeof(*o)) : NULL;
		if (o == NULL) {
			b->failed = true;
			return;
		}
		b->s.off = o;
		b->cap = cap;
	}
	b->s.at[b->s.n++] = at;
	b->s.off[b->s.n] = off;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/*
 * Where the exact range starts: the zone's table covers history from its
 * first type on; a rule alone is carried back to 1900 only.
 */
static int64_t steps_start(const struct tz_zone *z)
{
	return z->ntimes > 0 ? TZ_STEPS_FIRST : TZ_STEPS_RULE_FROM;
}

/*
 * The offset of a UTC instant changes only at the zone's transitions: the
 * table's, then the rule's (next_boundary walks both, as zone_at reads them).
 */
static bool build_utc_steps(const struct tz_zone *z, struct steps *out)
{
	int64_t t = steps_start(z), at;
	int32_t before, after;
	struct steps_b b;
	steps_init(&b, zone_at(z, t).off);
	while (!b.failed && next_boundary(z, t, &at, &before, &after) && at < TZ_STEPS_END) {
		steps_add(&b, at, zone_at(z, at).off);
		t = at;
	}
	*out = b.s;
	return !b.failed;
}

/*
 * tz_offset_for_local(L) looks at the first transition after L - 24h and at
 * L minus the offsets on both sides of it, so its answer can only change
 * where L - 24h passes a transition T (L = T + 24h) or L passes T + before
 * or T + after. Those candidates, each answered by tz_offset_for_local
 * itself, give the whole step function.
 */
static bool build_local_steps(const struct tz_zone *z, struct steps *out)
{
	int64_t start = steps_start(z), t = start - 2 * SECS_PER_DAY, at;
	int32_t before, after;
	size_t n = 0, cap = 0;
	int64_t *c = NULL;
	bool ok = true;
	while (next_boundary(z, t, &at, &before, &after) && at < TZ_STEPS_END + 2 * SECS_PER_DAY) {
		if (n + 3 > cap) {
			cap = cap ? cap * 2 : 64;
			int64_t *nc = realloc(c, cap * sizeof(*c));
			if (nc == NULL) {
				ok = false;
				break;
			}
			c = nc;
		}
		c[n++] = at + before;
		c[n++] = at + after;
		c[n++] = at + SECS_PER_DAY;
		t = at;
	}
	struct steps_b b;
	steps_init(&b, tz_offset_for_local(z, start));
	if (n > 0)
		qsort(c, n, sizeof(*c), cmp_i64);
	for (size_t i = 0; ok && i < n; i++) {
		if (c[i] <= start || (i > 0 && c[i] == c[i - 1]))
			continue;
		if (c[i] >= TZ_STEPS_END)
			break;
		steps_add(&b, c[i], tz_offset_for_local(z, c[i]));
	}
	free(c);
	*out = b.s;
	return ok && !b.failed;
}

static bool build_steps(struct tz_zone *z)
{
	bool ok = build_utc_steps(z, &z->steps[TZ_STEPS_UTC]);
	return build_local_steps(z, &z->steps[TZ_STEPS_LOCAL]) && ok;
}

void tz_steps(const struct tz_zone *z, enum tz_steps_kind kind, struct tz_steps *out)
{
	static const int32_t utc_off[1] = { 0 };
	if (z == NULL) {
		*out = (struct tz_steps){ .at = NULL, .off = utc_off, .n = 0 };
		return;
	}
	const struct steps *s = &z->steps[kind == TZ_STEPS_LOCAL];
	*out = (struct tz_steps){ .at = s->at, .off = s->off, .n = s->n };
}

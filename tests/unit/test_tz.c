/*
 * test_tz — time zones against PostgreSQL 15: pgvalue/tz.tsv holds, per
 * zone, the offset and abbreviation Postgres shows at UTC instants (around
 * DST changes, in the distant past, past the transition tables where the
 * TZif footer rule decides) and how it resolves local times, gaps and
 * overlaps included (pgvalue/gen.py regenerates it). Then by hand: fixed and
 * POSIX zones, zone file names, and TZif bytes that are cut, flipped or
 * hand-built (v1 only, v3 footers). Last, the step functions (tz_steps)
 * the proxy writes into SQL, against tz_offset_at and tz_offset_for_local.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/tz.h"

#define VEC_MAX_FIELDS 12

/* One line split at tabs, each field unescaped (\\ \t \n \xHH) in place; lengths kept. */
struct vec_line {
	char *f[VEC_MAX_FIELDS];
	size_t n[VEC_MAX_FIELDS];
	int nf;
};

static size_t vec_unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r != '\\' || r[1] == '\0') {
			*w++ = *r;
			continue;
		}
		r++;
		if (*r == 't')
			*w++ = '\t';
		else if (*r == 'n')
			*w++ = '\n';
		else if (*r == 'x' && r[1] && r[2]) {
			char h[3] = { r[1], r[2], 0 };
			*w++ = (char)strtol(h, NULL, 16);
			r += 2;
		} else
			*w++ = *r;
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* Reads the next vector line (comments skipped); false at the end. <buf> holds the fields. */
static bool vec_next(FILE *f, char *buf, size_t cap, struct vec_line *l)
{
	while (fgets(buf, (int)cap, f) != NULL) {
		size_t len = strlen(buf);
		if (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		if (len == 0 || buf[0] == '#')
			continue;
		l->nf = 0;
		char *p = buf;
		for (;;) {
			char *tab = strchr(p, '\t');
			if (tab)
				*tab = '\0';
			if (l->nf < VEC_MAX_FIELDS) {
				l->f[l->nf] = p;
				l->n[l->nf] = vec_unescape(p);
				l->nf++;
			}
			if (!tab)
				break;
			p = tab + 1;
		}
		return true;
	}
	return false;
}

/* Zones by name: the TZif copy under pgvalue/zoneinfo, else tz_fixed. */
struct vec_zones {
	char name[32][64];
	struct tz_zone *z[32];
	int n;
};

static struct tz_zone *vec_load_file(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "pgvalue/zoneinfo/%s", name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	static uint8_t data[1 << 16];
	size_t len = fread(data, 1, sizeof(data), f);
	fclose(f);
	return tz_from_tzif(name, data, len);
}

static const struct tz_zone *vec_zone(struct vec_zones *zs, const char *name)
{
	for (int i = 0; i < zs->n; i++)
		if (strcmp(zs->name[i], name) == 0)
			return zs->z[i];
	if (zs->n == 32)
		return NULL;
	/* Postgres looks for a zone file first; what has none is a fixed or POSIX zone. */
	struct tz_zone *z = vec_load_file(name);
	if (z == NULL)
		z = tz_fixed(name);
	if (z == NULL)
		return NULL;
	snprintf(zs->name[zs->n], sizeof(zs->name[0]), "%s", name);
	zs->z[zs->n] = z;
	return zs->z[zs->n++];
}

static void vec_zones_free(struct vec_zones *zs)
{
	for (int i = 0; i < zs->n; i++)
		tz_free(zs->z[i]);
	zs->n = 0;
}


static struct vec_zones zones;

static void test_tz_vectors(void **state)
{
	(void)state;
	FILE *f = fopen("pgvalue/tz.tsv", "r");
	assert_non_null(f);
	static char line[4096];
	struct vec_line l;
	int n = 0, bad = 0;
	while (vec_next(f, line, sizeof(line), &l)) {
		const struct tz_zone *z = vec_zone(&zones, l.f[1]);
		if (z == NULL)
			fail_msg("zone %s does not load", l.f[1]);
		int64_t t = strtoll(l.f[2], NULL, 10);
		if (strcmp(l.f[0], "at") == 0) {
			assert_int_equal(l.nf, 5);
			const char *abbr = NULL;
			int32_t off = tz_offset_at(z, t, &abbr, NULL);
			if (off != atoi(l.f[3]) || strcmp(abbr, l.f[4]) != 0) {
				if (bad++ < 20)
					print_message("at %s %s: want %s %s got %d %s\n", l.f[1], l.f[2],
						      l.f[3], l.f[4], off, abbr);
			}
		} else {
			assert_int_equal(l.nf, 4);
			int64_t utc = t - tz_offset_for_local(z, t);
			if (utc != strtoll(l.f[3], NULL, 10) && bad++ < 20)
				print_message("local %s %s: want %s got %lld\n", l.f[1], l.f[2], l.f[3],
					      (long long)utc);
		}
		n++;
	}
	fclose(f);
	print_message("tz vectors: %d checked against Postgres, %d wrong\n", n, bad);
	assert_true(n > 1500);
	assert_int_equal(bad, 0);
}

static void check_fixed(const char *name, int32_t off, const char *abbr)
{
	struct tz_zone *z = tz_fixed(name);
	if (z == NULL)
		fail_msg("tz_fixed(%s) refused", name);
	const char *a = NULL;
	bool dst = true;
	assert_int_equal(tz_offset_at(z, 1772323200, &a, &dst), off);
	assert_string_equal(a, abbr);
	assert_false(dst);
	assert_int_equal(tz_offset_for_local(z, 1772323200), off);
	assert_string_equal(tz_name(z), name);
	tz_free(z);
}

static void test_fixed(void **state)
{
	(void)state;
	check_fixed("UTC", 0, "UTC");
	check_fixed("utc", 0, "UTC");
	check_fixed("Z", 0, "UTC");
	check_fixed("GMT", 0, "GMT");
	/* A number is hours east (SQL sign), named as pg_tzset_offset names it. */
	check_fixed("9", 9 * 3600, "+09");
	check_fixed("+09", 9 * 3600, "+09");
	check_fixed("-3.5", -12600, "-03:30");
	check_fixed("0", 0, "+00");
	check_fixed("5.75", 20700, "+05:45");
	/* Anything else is POSIX: hours west. */
	check_fixed("UTC+9", -9 * 3600, "UTC");
	check_fixed("KST-9", 9 * 3600, "KST");
	check_fixed("kst-9", 9 * 3600, "KST");
	check_fixed("+09:00", -9 * 3600, "");
	check_fixed("-03:30", 12600, "");
	check_fixed("<+0330>-3:30", 12600, "+0330");
	check_fixed("<-03>3", -3 * 3600, "-03");
	check_fixed("A+1:02", -3720, "A");
	check_fixed("25", 25 * 3600, "+25");   /* Postgres takes up to 167 hours */
	check_fixed("UTC+167", -167 * 3600, "UTC");
	check_fixed("UTC+9x", -9 * 3600, "UTC"); /* DST "X" on the US rule, not yet in March */
	static const char *const refused[] = {
		"", "Asia/Seoul", "Japan", "KST", "UTC+", "+", "10000", "168", "A+1:02:03",
		"<KST-9", "KST-9DST,M3", "KST-9KDT,M13.1.0,M10.5.0", "KST-9KDT,M3.6.0,M10.5.0",
		"KST-9KDT,M3.1.7,M10.5.0", "KST-9KDT,J0,J365", "KST-9KDT,366,1", "KST-9KDT,M3.2.0",
		"KST-9KDT,M3.2.0/2,M11.1.0/x", "UTC+168",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct tz_zone *z = tz_fixed(refused[i]);
		if (z != NULL)
			fail_msg("tz_fixed(%s) accepted", refused[i]);
	}
	assert_null(tz_fixed(NULL));
}

static void test_posix_rules(void **state)
{
	(void)state;
	/* The US rule by default; isdst; 2026-07-01 12:00 UTC and 2026-01-15 12:00 UTC. */
	struct tz_zone *z = tz_fixed("EST5EDT");
	assert_non_null(z);
	const char *a;
	bool dst;
	assert_int_equal(tz_offset_at(z, 1782907200, &a, &dst), -4 * 3600);
	assert_string_equal(a, "EDT");
	assert_true(dst);
	assert_int_equal(tz_offset_at(z, 1768478400, &a, &dst), -5 * 3600);
	assert_string_equal(a, "EST");
	assert_false(dst);
	tz_free(z);
	/* Jn and n forms: J60 is March 1 (no leap day), 59 is March 1 only in leap years. */
	z = tz_fixed("AAA0BBB,J60/0,J305/0");
	assert_non_null(z);
	/* 2028 (leap): J60 = March 1. 2028-02-29 23:59:59 UTC is standard, 2028-03-01 00:00 daylight. */
	assert_int_equal(tz_offset_at(z, 1835481599, NULL, NULL), 0);
	assert_int_equal(tz_offset_at(z, 1835481600, NULL, NULL), 3600);
	tz_free(z);
	z = tz_fixed("AAA0BBB,59/0,304/0");
	assert_non_null(z);
	/* 2028: day 59 is February 29. */
	assert_int_equal(tz_offset_at(z, 1835395199, NULL, NULL), 0);
	assert_int_equal(tz_offset_at(z, 1835395200, NULL, NULL), 3600);
	tz_free(z);
	/* Southern hemisphere (DST across New Year), negative and >24h rule times (RFC 8536 v3). */
	z = tz_fixed("<+10>-10<+11>,M10.1.0/-1,M4.1.0/26");
	assert_non_null(z);
	assert_int_equal(tz_offset_at(z, 1767225600, &a, &dst), 11 * 3600); /* 2026-01-01 */
	assert_string_equal(a, "+11");
	assert_true(dst);
	assert_int_equal(tz_offset_at(z, 1782907200, &a, &dst), 10 * 3600); /* 2026-07-01 */
	assert_false(dst);
	/* 2026-10-04 is the first Sunday of October; -1 means 23:00 of Saturday 10-03 (+10). */
	assert_int_equal(tz_offset_at(z, 1791032400 - 1, NULL, NULL), 10 * 3600);
	assert_int_equal(tz_offset_at(z, 1791032400, NULL, NULL), 11 * 3600);
	tz_free(z);
	/* Permanent DST, the v3 way. */
	z = tz_fixed("EST5EDT,0/0,J365/25");
	assert_non_null(z);
	assert_int_equal(tz_offset_at(z, 1768478400, NULL, NULL), -4 * 3600);
	assert_int_equal(tz_offset_at(z, 1782907200, NULL, NULL), -4 * 3600);
	tz_free(z);
}

static void test_file_name(void **state)
{
	(void)state;
	char out[64];
	assert_true(tz_file_name("Asia/Seoul", out, sizeof(out)));
	assert_string_equal(out, "Asia/Seoul");
	assert_true(tz_file_name("America/Argentina/Buenos_Aires", out, sizeof(out)));
	assert_true(tz_file_name("Etc/GMT+9", out, sizeof(out)));
	assert_true(tz_file_name("EST5EDT", out, sizeof(out)));
	static const char *const refused[] = { "", "/etc/passwd", "../etc/passwd", "Asia/../../x",
					       "..", "Asia/Seoul\n", "a b", "a.b", "Asia\\Seoul",
					       "Asia/Seoul%00" };
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		assert_false(tz_file_name(refused[i], out, sizeof(out)));
	assert_false(tz_file_name(NULL, out, sizeof(out)));
	assert_false(tz_file_name("Asia/Seoul", out, 10)); /* no room for the NUL */
	assert_true(tz_file_name("Asia/Seoul", out, 11));
}

static uint8_t *read_zone(const char *name, size_t *len)
{
	char path[256];
	snprintf(path, sizeof(path), "pgvalue/zoneinfo/%s", name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t *d = malloc(1 << 16);
	assert_non_null(d);
	*len = fread(d, 1, 1 << 16, f);
	fclose(f);
	return d;
}

static void test_tzif_cut_and_flipped(void **state)
{
	(void)state;
	size_t len;
	uint8_t *d = read_zone("America/New_York", &len);
	/* Every strict prefix lacks the footer's last newline at least: refused, never read past. */
	for (size_t n = 0; n < len; n++) {
		uint8_t *cut = malloc(n ? n : 1);
		memcpy(cut, d, n);
		struct tz_zone *z = tz_from_tzif("x", cut, n);
		assert_null(z);
		free(cut);
	}
	struct tz_zone *z = tz_from_tzif("America/New_York", d, len);
	assert_non_null(z);
	assert_string_equal(tz_name(z), "America/New_York");
	tz_free(z);
	/* Flipped bytes: refused or a zone that answers; ASan watches the reads. */
	size_t slen;
	uint8_t *s = read_zone("Asia/Seoul", &slen);
	for (size_t i = 0; i < slen; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			s[i] ^= (uint8_t)(1 << bit);
			z = tz_from_tzif("x", s, slen);
			if (z != NULL) {
				const char *a;
				(void)tz_offset_at(z, 0, &a, NULL);
				(void)tz_offset_at(z, INT64_MIN / 2, &a, NULL);
				(void)tz_offset_at(z, 4102444800, &a, NULL);
				(void)tz_offset_for_local(z, 1772323200);
				assert_non_null(a);
				tz_free(z);
			}
			s[i] ^= (uint8_t)(1 << bit);
		}
	}
	free(s);
	assert_null(tz_from_tzif("x", NULL, 0));
	free(d);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_tzif_v1_only(void **state)
{
	(void)state;
	size_t len;
	uint8_t *d = read_zone("America/New_York", &len);
	/* The v1 part alone, with version 0: 32-bit times, no footer. */
	uint32_t isut = rd32(d + 20), isstd = rd32(d + 24), leap = rd32(d + 28),
		 timecnt = rd32(d + 32), typecnt = rd32(d + 36), charcnt = rd32(d + 40);
	size_t v1 = 44 + timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
	d[4] = 0;
	struct tz_zone *z = tz_from_tzif("v1", d, v1);
	assert_non_null(z);
	const char *a;
	bool dst;
	assert_int_equal(tz_offset_at(z, 1782907200, &a, &dst), -4 * 3600); /* 2026-07-01 */
	assert_string_equal(a, "EDT");
	assert_true(dst);
	assert_int_equal(tz_offset_for_local(z, 1772937000), -5 * 3600); /* 2026-03-08 02:30: gap */
	assert_int_equal(tz_offset_for_local(z, 1793496600), -5 * 3600); /* 2026-11-01 01:30: overlap */
	tz_free(z);
	free(d);
}

/* A minimal v3 file: no transitions, one type, and a footer. */
static size_t build_v3(uint8_t *b, const char *footer)
{
	size_t n = 0;
	for (int part = 0; part < 2; part++) {
		memcpy(b + n, "TZif3", 5);
		memset(b + n + 5, 0, 39);
		b[n + 39] = 1;   /* typecnt */
		b[n + 43] = 4;   /* charcnt */
		n += 44;
		static const uint8_t type[6] = { 0xff, 0xff, 0xd5, 0xd0, 0, 0 }; /* -03:00 */
		memcpy(b + n, type, 6);
		memcpy(b + n + 6, "-03", 4);
		n += 10;
	}
	b[n++] = '\n';
	memcpy(b + n, footer, strlen(footer));
	n += strlen(footer);
	b[n++] = '\n';
	return n;
}

static void test_tzif_v3_footer(void **state)
{
	(void)state;
	uint8_t b[256];
	size_t n = build_v3(b, "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1");
	struct tz_zone *z = tz_from_tzif("v3", b, n);
	assert_non_null(z);
	const char *a;
	/* 2026-03-29 is the last Sunday of March; -2 is 22:00 on Saturday local (-03) = 01:00 UTC. */
	assert_int_equal(tz_offset_at(z, 1774746000 - 1, &a, NULL), -3 * 3600);
	assert_string_equal(a, "-03");
	assert_int_equal(tz_offset_at(z, 1774746000, &a, NULL), -2 * 3600);
	assert_string_equal(a, "-02");
	tz_free(z);
	/* An empty footer: the one type forever. */
	n = build_v3(b, "");
	z = tz_from_tzif("v3", b, n);
	assert_non_null(z);
	assert_int_equal(tz_offset_at(z, 1774746000, &a, NULL), -3 * 3600);
	tz_free(z);
	/* A bad footer, a footer without its newline, a NUL in it: refused. */
	n = build_v3(b, "<-03>3<-02>,M13.5.0,M10.5.0");
	assert_null(tz_from_tzif("v3", b, n));
	n = build_v3(b, "<-03>3");
	assert_null(tz_from_tzif("v3", b, n - 1));
	n = build_v3(b, "<-03>3");
	b[n - 3] = 0;
	assert_null(tz_from_tzif("v3", b, n));
	/* Bad counts and indexes. */
	n = build_v3(b, "<-03>3");
	b[54 + 39] = 0; /* typecnt 0 in the v2 header */
	assert_null(tz_from_tzif("v3", b, n));
	n = build_v3(b, "<-03>3");
	b[54 + 44 + 5] = 9; /* abbreviation index past charcnt */
	assert_null(tz_from_tzif("v3", b, n));
	n = build_v3(b, "<-03>3");
	b[54 + 44 + 4] = 2; /* isdst neither 0 nor 1 */
	assert_null(tz_from_tzif("v3", b, n));
}

/*
 * zic -b slim writes transitions only as far as the rules change (2007 for
 * the US) and leaves the rest to the footer; the fat file lists them to
 * 2037. Both must tell the same time, every three hours from 1970 to 2100.
 */
static void test_tzif_slim_vs_fat(void **state)
{
	(void)state;
	size_t flen, slen;
	uint8_t *fd = read_zone("America/New_York", &flen), *sd = read_zone("Test/Slim", &slen);
	struct tz_zone *fat = tz_from_tzif("fat", fd, flen), *slim = tz_from_tzif("slim", sd, slen);
	assert_non_null(fat);
	assert_non_null(slim);
	assert_true(slen < flen / 2);
	int n = 0;
	for (int64_t t = 0; t < 4102444800; t += 3 * 3600 + 7) {
		const char *fa, *sa;
		bool fdst, sdst;
		int32_t fo = tz_offset_at(fat, t, &fa, &fdst), so = tz_offset_at(slim, t, &sa, &sdst);
		if (fo != so || strcmp(fa, sa) != 0 || fdst != sdst)
			fail_msg("at %lld: fat %d %s %d, slim %d %s %d", (long long)t, fo, fa, fdst, so, sa,
				 sdst);
		if (tz_offset_for_local(fat, t) != tz_offset_for_local(slim, t))
			fail_msg("local %lld differs", (long long)t);
		n++;
	}
	assert_true(n > 300000);
	tz_free(fat);
	tz_free(slim);
	free(fd);
	free(sd);
}

/* The step function's value at <t>: what MySQL's ELT(INTERVAL(t, at...) + 1, off...) picks. */
static int32_t steps_eval(const struct tz_steps *st, int64_t t)
{
	uint32_t i = 0;
	while (i < st->n && st->at[i] <= t)
		i++;
	return st->off[i];
}

/* Every breakpoint of <st> in order, inside the documented range, each one a change. */
static void check_steps_shape(const char *zone, const struct tz_steps *st)
{
	for (uint32_t i = 0; i < st->n; i++) {
		if (st->at[i] <= TZ_STEPS_FIRST || st->at[i] >= TZ_STEPS_END ||
		    (i > 0 && st->at[i] <= st->at[i - 1]) || st->off[i] == st->off[i + 1])
			fail_msg("%s: breakpoint %u (%lld) out of order or no change", zone, i,
				 (long long)st->at[i]);
	}
}

/*
 * The steps answer what tz_offset_at / tz_offset_for_local answer (both
 * checked against Postgres by tz.tsv) at every sampled time of the exact
 * range, and at each breakpoint and a second either side of it.
 */
static void check_steps_zone(const char *zone, const struct tz_zone *z, int64_t from)
{
	struct tz_steps u, l;
	tz_steps(z, TZ_STEPS_UTC, &u);
	tz_steps(z, TZ_STEPS_LOCAL, &l);
	check_steps_shape(zone, &u);
	check_steps_shape(zone, &l);
	/* Sparse over the old centuries, dense from 1850 (-3786825600) on. */
	for (int64_t t = from; t < TZ_STEPS_END; t += t < -3786825600LL ? 30 * 86400 + 7 : 6 * 3600 + 7) {
		if (steps_eval(&u, t) != tz_offset_at(z, t, NULL, NULL))
			fail_msg("%s: utc %lld: steps %d, zone %d", zone, (long long)t, steps_eval(&u, t),
				 tz_offset_at(z, t, NULL, NULL));
		if (steps_eval(&l, t) != tz_offset_for_local(z, t))
			fail_msg("%s: local %lld: steps %d, zone %d", zone, (long long)t, steps_eval(&l, t),
				 tz_offset_for_local(z, t));
	}
	for (int k = 0; k < 2; k++) {
		const struct tz_steps *st = k ? &l : &u;
		for (uint32_t i = 0; i < st->n; i++) {
			for (int64_t d = -1; d <= 1; d++) {
				int64_t t = st->at[i] + d;
				int32_t want = k ? tz_offset_for_local(z, t) : tz_offset_at(z, t, NULL, NULL);
				if (steps_eval(st, t) != want)
					fail_msg("%s: %s %lld: steps %d, zone %d", zone, k ? "local" : "utc",
						 (long long)t, steps_eval(st, t), want);
			}
		}
	}
}

static void test_steps(void **state)
{
	(void)state;
	static const char *const files[] = {
		"America/New_York", "Asia/Seoul", "Asia/Jerusalem", "Asia/Kolkata", "Australia/Lord_Howe",
		"Europe/Berlin", "Europe/Dublin", "America/St_Johns", "America/Nuuk", "Pacific/Apia",
		"EST5EDT", "UTC", "Test/Slim",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t len;
		uint8_t *d = read_zone(files[i], &len);
		struct tz_zone *z = tz_from_tzif(files[i], d, len);
		assert_non_null(z);
		check_steps_zone(files[i], z, TZ_STEPS_FIRST + 1);
		tz_free(z);
		free(d);
	}
	/* A rule alone is exact from 1900 on. */
	static const char *const rules[] = { "EST5EDT", "<+10>-10<+11>,M10.1.0/-1,M4.1.0/26",
					     "AAA0BBB,J60/0,J305/0", "+09:30", "UTC", "KST-9" };
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		struct tz_zone *z = tz_fixed(rules[i]);
		assert_non_null(z);
		check_steps_zone(rules[i], z, TZ_STEPS_RULE_FROM);
		tz_free(z);
	}
}

/* What the range means for values outside it, and the first steps of two zones by hand. */
static void test_steps_edges(void **state)
{
	(void)state;
	size_t len;
	uint8_t *d = read_zone("America/New_York", &len);
	struct tz_zone *ny = tz_from_tzif("America/New_York", d, len);
	free(d);
	d = read_zone("Asia/Seoul", &len);
	struct tz_zone *seoul = tz_from_tzif("Asia/Seoul", d, len);
	free(d);
	assert_non_null(ny);
	assert_non_null(seoul);
	struct tz_steps st;
	tz_steps(ny, TZ_STEPS_UTC, &st);
	/* LMT -4:56:02 until 1883-11-18 17:00 UTC, then EST; December 2099 is EST, and so is later. */
	assert_int_equal(st.off[0], -17762);
	assert_int_equal(st.at[0], -2717650800LL);
	assert_int_equal(st.off[1], -18000);
	assert_int_equal(st.off[st.n], -18000);
	assert_true(st.at[st.n - 1] > 4096000000LL); /* November 2099 */
	assert_true(st.n > 300 && st.n < 400);
	assert_int_equal(steps_eval(&st, -62135596800LL), tz_offset_at(ny, -62135596800LL, NULL, NULL));
	/* Summer 2100 is past the range: the steps say EST where the rule says EDT. */
	assert_int_equal(tz_offset_at(ny, 4118083200LL, NULL, NULL), -14400);
	assert_int_equal(steps_eval(&st, 4118083200LL), -18000);
	/* Local 2024-03-10 02:30 (a gap) is taken as EST, 2024-11-03 01:30 (an overlap) as EST too. */
	tz_steps(ny, TZ_STEPS_LOCAL, &st);
	assert_int_equal(steps_eval(&st, 1710037800), -18000);
	assert_int_equal(steps_eval(&st, 1730597400), -18000);
	assert_int_equal(steps_eval(&st, 1710037800 + 3600), -14400);
	tz_steps(seoul, TZ_STEPS_UTC, &st);
	/* Seoul: LMT +8:27:52 until 1908-04-01 local, +8:30, then KST +9 from 1912. */
	assert_int_equal(st.off[0], 30472);
	assert_int_equal(st.at[0], -1948782472LL);
	assert_int_equal(st.off[1], 30600);
	assert_int_equal(st.off[2], 32400);
	assert_int_equal(st.off[st.n], 32400);
	tz_free(ny);
	tz_free(seoul);

	/* UTC (no zone) and a fixed offset: no breakpoints, one offset. */
	tz_steps(NULL, TZ_STEPS_LOCAL, &st);
	assert_int_equal(st.n, 0);
	assert_int_equal(st.off[0], 0);
	struct tz_zone *f = tz_fixed("+09:30");
	assert_non_null(f);
	tz_steps(f, TZ_STEPS_UTC, &st);
	assert_int_equal(st.n, 0);
	assert_int_equal(st.off[0], -34200);
	tz_free(f);
	/* A rule alone: 2 changes a year over 1900..2099, the offset of 1900-01-01 before. */
	f = tz_fixed("EST5EDT,M3.2.0,M11.1.0");
	assert_non_null(f);
	tz_steps(f, TZ_STEPS_UTC, &st);
	assert_int_equal(st.n, 400);
	assert_int_equal(st.off[0], -18000);
	assert_int_equal(steps_eval(&st, -3000000000LL), -18000);
	tz_free(f);
}

static void test_null_zone(void **state)
{
	(void)state;
	const char *a;
	bool dst = true;
	assert_int_equal(tz_offset_at(NULL, 0, &a, &dst), 0);
	assert_string_equal(a, "UTC");
	assert_false(dst);
	assert_int_equal(tz_offset_for_local(NULL, 0), 0);
	assert_string_equal(tz_name(NULL), "UTC");
	tz_free(NULL);
}

static int teardown(void **state)
{
	(void)state;
	vec_zones_free(&zones);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tz_vectors),
		cmocka_unit_test(test_fixed),
		cmocka_unit_test(test_posix_rules),
		cmocka_unit_test(test_file_name),
		cmocka_unit_test(test_tzif_cut_and_flipped),
		cmocka_unit_test(test_tzif_v1_only),
		cmocka_unit_test(test_tzif_v3_footer),
		cmocka_unit_test(test_tzif_slim_vs_fat),
		cmocka_unit_test(test_null_zone),
		cmocka_unit_test(test_steps),
		cmocka_unit_test(test_steps_edges),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}

/*
 * tz — time zones as Postgres knows them: IANA zones read from TZif data
 * (the bytes of /usr/share/zoneinfo/<name>, which Debian's Postgres uses
 * too), fixed offsets ("+09:00", "UTC", "Z") and POSIX-style strings
 * ("KST-9", "UTC+9" — with POSIX' inverted sign, as Postgres reads them).
 *
 * Pure: no I/O. The proxy reads the file (tz_file_name says which, refusing
 * names that could leave the zoneinfo directory) and hands the bytes to
 * tz_from_tzif. A zone is immutable once built and may be shared by threads.
 */
#ifndef SY_TZ_H
#define SY_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tz_zone;

/*
 * The zone a TimeZone setting names when it needs no file: "UTC", "GMT",
 * "Z", "+09", "-03:30", "UTC+9", "KST-9" (POSIX), numeric hours ("9");
 * NULL when <name> is not one of those (it may be an IANA name, or invalid).
 * As Postgres reads them: a number is hours east (SQL sign, named "+09"),
 * anything else POSIX, hours west ("+09:00" is 9 hours west, unnamed).
 * Postgres tries a zone file first ("EST5EDT" and "UTC" are files whose
 * history differs from the POSIX reading before 2007), so callers should try
 * tz_file_name/tz_from_tzif before this. "Z" is taken as UTC here although
 * Postgres' SET TimeZone refuses it.
 */
struct tz_zone *tz_fixed(const char *name) __attribute__((warn_unused_result));

/*
 * The path below the zoneinfo directory for IANA name <name> ("Asia/Seoul"
 * -> "Asia/Seoul") into out[0, n); false when the name could not be a zone
 * file (empty, "..", absolute, characters outside [A-Za-z0-9/_+-]).
 */
bool tz_file_name(const char *name, char *out, size_t n) __attribute__((warn_unused_result));

/* Builds a zone from TZif (v1, v2 or v3) bytes; NULL if malformed (any bytes are safe) or OOM. */
struct tz_zone *tz_from_tzif(const char *name, const uint8_t *data, size_t len)
	__attribute__((warn_unused_result));

void tz_free(struct tz_zone *z);

/* The zone's name as given. */
const char *tz_name(const struct tz_zone *z);

/*
 * UTC offset (seconds east of UTC) in force at <utc> (seconds since the
 * epoch), with the zone's abbreviation then ("KST", "+09") when <abbrev> is
 * not NULL. Times past the transition table follow the TZif footer's rule.
 */
int32_t tz_offset_at(const struct tz_zone *z, int64_t utc, const char **abbrev, bool *is_dst);

/*
 * UTC offset for local time <local> (seconds since the epoch as if local
 * were UTC), resolving gaps and overlaps as Postgres does (a time in a gap
 * is taken with the offset before the transition; in an overlap, the later
 * (standard-time) interpretation).
 */
int32_t tz_offset_for_local(const struct tz_zone *z, int64_t local);

/*
 * A zone's offset as a step function of a time, for the proxy to put into
 * the SQL of a legacy read so that MySQL finds each row's own offset
 * (translate.h, XLATE_S_TZ_UTC_STEPS and XLATE_S_TZ_LOCAL_STEPS):
 *   TZ_STEPS_UTC:   of a UTC instant, as tz_offset_at answers;
 *   TZ_STEPS_LOCAL: of a local time (seconds as if it were UTC), as
 *                   tz_offset_for_local answers, gaps and overlaps included.
 * off[0] holds before at[0], off[i] from at[i - 1] on; consecutive offsets
 * differ. The function is exact from TZ_STEPS_FIRST through every
 * transition of the zone's table and, past the table, its POSIX rule
 * carried to TZ_STEPS_END (a zone made of a rule alone — "EST5EDT,M3.2.0,
 * M11.1.0" — from TZ_STEPS_RULE_FROM). Before that start a time takes the
 * offset at the start (the table's first type, LMT, in a zone file; the
 * rule's offset on 1900-01-01 in a rule-only zone); from TZ_STEPS_END on,
 * the offset after the last breakpoint (for a DST rule: its standard or
 * daylight time of December 2099). A zone with one offset has no
 * breakpoints (n = 0) and is exact at every time.
 */
#define TZ_STEPS_FIRST (-62135596800LL)   /* 0001-01-01 00:00:00: every breakpoint is after it */
#define TZ_STEPS_RULE_FROM (-2208988800LL) /* 1900-01-01 00:00:00 */
#define TZ_STEPS_END 4102444800LL         /* 2100-01-01 00:00:00: every breakpoint is before it */

enum tz_steps_kind {
	TZ_STEPS_UTC = 0,   /* offset of a UTC instant */
	TZ_STEPS_LOCAL,     /* offset of a local time */
};

struct tz_steps {
	const int64_t *at;  /* n ascending breakpoints, seconds since the epoch */
	const int32_t *off; /* n + 1 offsets, seconds east of UTC */
	uint32_t n;
};

/*
 * The steps of <z> (NULL: UTC), built with the zone; borrowed until
 * tz_free(z), or static for NULL.
 */
void tz_steps(const struct tz_zone *z, enum tz_steps_kind kind, struct tz_steps *out);

#endif

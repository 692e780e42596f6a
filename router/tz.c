/*
 * tz — stub until time zones land: every zone is UTC.
 */
#include "router/tz.h"

#include <stdlib.h>

struct tz_zone {
	int unused;
};

struct tz_zone *tz_fixed(const char *name)
{
	(void)name;
	return NULL;
}

bool tz_file_name(const char *name, char *out, size_t n)
{
	(void)name, (void)out, (void)n;
	return false;
}

struct tz_zone *tz_from_tzif(const char *name, const uint8_t *data, size_t len)
{
	(void)name, (void)data, (void)len;
	return NULL;
}

void tz_free(struct tz_zone *z)
{
	free(z);
}

const char *tz_name(const struct tz_zone *z)
{
	(void)z;
	return "UTC";
}

int32_t tz_offset_at(const struct tz_zone *z, int64_t utc, const char **abbrev, bool *is_dst)
{
	(void)z, (void)utc;
	if (abbrev)
		*abbrev = "UTC";
	if (is_dst)
		*is_dst = false;
	return 0;
}

int32_t tz_offset_for_local(const struct tz_zone *z, int64_t local)
{
	(void)z, (void)local;
	return 0;
}

/*
 * translate — stub until the translator lands: every read is refused.
 */
#include "router/translate.h"

#include <stdio.h>
#include <string.h>

struct xlate {
	int unused;
};

static struct xlate the_stub;

const char *xlate_session_setup(void)
{
	return "SET NAMES utf8mb4, time_zone = '+00:00', "
	       "sql_mode = 'NO_BACKSLASH_ESCAPES,ONLY_FULL_GROUP_BY,STRICT_ALL_TABLES,"
	       "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'";
}

struct xlate *xlate_new(void)
{
	return &the_stub;
}

void xlate_free(struct xlate *x)
{
	(void)x;
}

void xlate_read(struct xlate *x, const struct xlate_input *in, struct xlate_result *out)
{
	(void)x;
	(void)in;
	memset(out, 0, sizeof(*out));
	out->status = XLATE_REFUSED;
	memcpy(out->sqlstate, "0A000", 6);
	snprintf(out->message, sizeof(out->message), "legacy reads are not translated yet");
}

size_t xlate_packed_size(const struct xlate_result *r)
{
	return sizeof(*r);
}

void xlate_pack(const struct xlate_result *r, unsigned char *buf)
{
	memcpy(buf, r, sizeof(*r));
}

void xlate_unpack(const unsigned char *buf, struct xlate_result *out)
{
	memcpy(out, buf, sizeof(*out));
}

/*
 * refusals — who still tries to write legacy tables, counted and logged.
 *
 * During a migration, operators need to see exactly which statement shapes,
 * from which users and applications, hit a refusal — once each, not once per
 * execution. Counts are kept per table; a log line is written the first time
 * a (fingerprint, user, application_name, table) combination is refused.
 * Shared by all workers; refusals are rare, so one mutex guards it.
 */
#ifndef SY_REFUSALS_H
#define SY_REFUSALS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REFUSALS_MAX_SHAPES 65536 /* distinct shapes remembered; then every refusal logs */
#define REFUSALS_MAX_TABLES 256

struct refusal_count {
	char table[64];   /* "" for refusals not about one table */
	char sqlstate[6];
	uint64_t count;
};

struct refusals {
	pthread_mutex_t lock;
	uint64_t *shapes; /* open-addressing set of shape hashes, 0 = empty */
	size_t nshapes;
	struct refusal_count counts[REFUSALS_MAX_TABLES];
	size_t ncounts;
	uint64_t total;
};

bool refusals_init(struct refusals *r) __attribute__((warn_unused_result));
void refusals_destroy(struct refusals *r);

/*
 * Counts one refusal and logs it if its shape is new. <table> may be NULL;
 * <user> and <app> come already quoted for logfmt (session log_user/log_app).
 * Strings are borrowed for the call.
 */
void refusals_note(struct refusals *r, int worker, int64_t session, uint64_t fingerprint,
		   const char *table, const char *sqlstate, const char *message, const char *user,
		   const char *app);

/* Copies up to <max> counters into <out>; returns how many. */
size_t refusals_snapshot(struct refusals *r, struct refusal_count *out, size_t max);

#endif

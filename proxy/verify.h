/*
 * verify — `switchyard verify`: proves a legacy table and its Supabase copy
 * hold the same rows, compared in the Postgres text form switchyard serves
 * (so "equal" means a client could not tell the two apart).
 *
 * Per table: the schema first (the copy's columns and types against the
 * type map), then the rows from a consistent snapshot on each side, in
 * primary-key chunks, each row rendered as Postgres text with fixed
 * settings (TimeZone UTC, DateStyle ISO, ...) and compared; rows that
 * differ are read again after a delay before they count, so a copy that
 * lags is told apart from one that is wrong. A table without a single
 * integer primary key is compared as a multiset of whole rows.
 *
 * Each run's result per table is written to [verify] results_file (JSON),
 * which the running proxy reads for /status, /metrics and the weight guard
 * (verify_guard). Blocking: the command runs on its own, never on a worker.
 */
#ifndef SY_VERIFY_H
#define SY_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;

/* `switchyard verify ...`: argv[0] is "verify". Returns the exit code (0 same, 1 differ, 2 error). */
int verify_main(int argc, char **argv);

/* The results file of <cfg>: [verify] results_file, relative to the config file's directory. */
void verify_results_path(const struct config *cfg, char *out, size_t cap);

/* The last result of one table, as the proxy reads it from the results file. */
struct verify_result {
	bool found;               /* the file has a result for the table */
	char status[16];          /* "match", "differ", "schema", "error" */
	int64_t at_s;             /* when the run finished (seconds since the epoch) */
	uint64_t rows_mysql, rows_supabase;
	uint64_t missing, extra, changed;
	char summary[200];        /* one line for people */
};

/* The last result for <table> in <cfg>'s results file (found false if none or unreadable). */
void verify_last(const struct config *cfg, const char *table, struct verify_result *out);

/*
 * May <table>'s weight be raised above 0? False with the reason in <why>
 * when its last verify found differences, or when [verify] max_age_s > 0
 * and it has no verify that recent.
 */
bool verify_guard(const struct config *cfg, const char *table, char *why, size_t cap);

#endif

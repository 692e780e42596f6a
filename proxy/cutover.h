/*
 * cutover — the live weights, statistics and rollback state of the legacy
 * tables, shared by every worker (DESIGN.md rule 6).
 *
 * The configuration snapshot says which legacy tables exist, how they are
 * grouped and what weight the file gives them; this module keeps what
 * outlives a snapshot: the weight in force (changed by the file on SIGHUP,
 * by the admin API, by a rollback), whether a group was rolled back and
 * why, and a sliding window of what its reads did on each side.
 *
 * State is kept per table, by name, and never freed before the process
 * ends, so a worker holding an older snapshot still points at live state.
 * The members of a group always carry the same weight: it is set on all of
 * them at once, and a group is read through its first member.
 *
 * Threads: the hot path (cutover_weight, cutover_note_*) is lock-free
 * atomics; changes (weights, rollback, reload) take a mutex that the hot
 * path never takes, except cutover_note_* when a bad sample makes it check
 * the group's thresholds.
 */
#ifndef SY_CUTOVER_H
#define SY_CUTOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/config.h"

struct cutover;
struct cutover_table; /* one legacy table's live state; stable for the process */

/* Which side served a read. */
enum cutover_side {
	CUTOVER_MYSQL = 0,
	CUTOVER_SUPABASE = 1,
};

/* A table group's state. */
enum cutover_state {
	CUTOVER_ACTIVE = 0,      /* the weight in force is what an operator or the file set */
	CUTOVER_ROLLED_BACK,     /* a threshold tripped: weight 0 until an operator raises it */
};

/* Empty state; NULL on OOM. */
struct cutover *cutover_new(void) __attribute__((warn_unused_result));
void cutover_free(struct cutover *c);

/*
 * Adopts snapshot <cfg> (main thread, before workers see it). A table seen
 * for the first time takes the file's weight. For a known table the file's
 * weight applies only when it differs from what the previous file said, so
 * an unrelated reload never undoes an admin change or a rollback; a group
 * whose file weight changed is active again. Groups whose members now
 * disagree (a table moved into a group) take the group's file weight.
 * False on OOM (nothing changed).
 */
bool cutover_apply_config(struct cutover *c, const struct config *cfg)
	__attribute__((warn_unused_result));

/* The live state of legacy table <name>, NULL if no applied snapshot named it. */
struct cutover_table *cutover_find(struct cutover *c, const char *name);

/*
 * Per legacy table of <cfg> (in cfg->legacy.tables order), its group's
 * first member's state: what a worker reads the group's weight through.
 * <out> has room for cfg->legacy.ntables pointers. False if <cfg> was not
 * applied.
 */
bool cutover_bind(struct cutover *c, const struct config *cfg, struct cutover_table **out);

/* The weight in force, 0..100. */
int cutover_weight(const struct cutover_table *t);

/*
 * A client's point in [0, 100) for a group: a stable hash of the client key
 * (cutover_client_key's bytes) and the group's name. The group is served by
 * Supabase for the client when point < weight. The same on every instance.
 */
unsigned cutover_point(const void *key, size_t key_len, const char *group_name);

/*
 * The client key the configuration asks for, as bytes to hash: the chosen
 * parts in a fixed order, each ended by a NUL. Returns the length written
 * (at most <cap>, truncated parts count as written).
 */
size_t cutover_client_key(unsigned key_bits, const char *user, const char *application,
			  const char *addr, char *out, size_t cap);

/*
 * Sets the weight of <table>'s group (every member) in snapshot <cfg>: the
 * group becomes active. <who> says where the change came from for the log
 * ("admin", "control table"). False with a message in <err> for an unknown
 * table or a weight outside 0..100 (nothing changed).
 */
bool cutover_set_weight(struct cutover *c, const struct config *cfg, const char *table,
			int weight, const char *who, char *err, size_t err_cap);

/* ---- what reads did, for rollback, /status and /metrics ---- */

/* One read finished on <side>: <latency_us> from sending to the last reply; <failed> on an error. */
void cutover_note_read(struct cutover *c, const struct config *cfg, struct cutover_table *t,
		       enum cutover_side side, uint64_t latency_us, bool failed);

/* A shadow comparison of a read of <t>'s group: matched or not, or dropped (queue full). */
enum cutover_shadow { CUTOVER_SHADOW_MATCH, CUTOVER_SHADOW_MISMATCH, CUTOVER_SHADOW_DROPPED };
void cutover_note_shadow(struct cutover *c, const struct config *cfg, struct cutover_table *t,
			 enum cutover_shadow what);

/*
 * Shadow comparisons per statement fingerprint (router's pg_query
 * fingerprint) and legacy table: up to CUTOVER_FINGERPRINTS of them, the
 * rest counted under fingerprint 0. Returns true for the first mismatch of
 * a fingerprint (the caller logs that one).
 */
#define CUTOVER_FINGERPRINTS 256
bool cutover_note_fingerprint(struct cutover *c, uint64_t fingerprint, const char *table,
			      bool mismatch);
struct cutover_fp_stats {
	uint64_t fingerprint;
	char table[64];
	uint64_t match, mismatch;
};
/* Every fingerprint counted so far into out[0, max); returns how many. */
size_t cutover_fingerprints(struct cutover *c, struct cutover_fp_stats *out, size_t max);

/* Window statistics of one group, over cfg->cutover.rollback.window_s. */
struct cutover_window {
	uint64_t reads[2];      /* by enum cutover_side */
	uint64_t errors[2];
	uint64_t p99_us[2];     /* upper bound of the 99th percentile; 0 without reads */
	uint64_t max_us[2];
	uint64_t shadow_match, shadow_mismatch, shadow_dropped;
};

/* A point of a group's history (one per bucket, oldest first), for the status page. */
#define CUTOVER_HISTORY 60
struct cutover_point_stats {
	int64_t at_ms;           /* wall-clock start of the bucket (ms since the epoch) */
	uint32_t reads[2], errors[2];
	uint32_t p99_us[2];
	uint32_t shadow_mismatch;
};

/* Everything /status says about one group. */
struct cutover_group_status {
	char name[256];               /* its tables joined with "+" */
	size_t first_table;           /* index in cfg->legacy.tables of its first member */
	int weight;
	int file_weight;
	bool copied;                  /* a Supabase copy exists (weight > 0 or [cutover] copied) */
	enum cutover_state state;
	char reason[256];             /* why it was rolled back ("" when active) */
	int64_t changed_ms;           /* wall clock of the last weight change, 0 if none */
	char changed_by[32];          /* "file", "admin", "rollback", "control table" */
	uint64_t rollbacks;           /* since start */
	struct cutover_window window;
	uint64_t total_reads[2];      /* since start */
	uint64_t total_errors[2];
	uint64_t total_shadow_match, total_shadow_mismatch, total_shadow_dropped;
	size_t nhistory;
	struct cutover_point_stats history[CUTOVER_HISTORY];
};

/*
 * One entry per group of <cfg> (cfg->cutover.ngroups of them, in its
 * order) into out[0, max). Returns how many were written.
 */
size_t cutover_status(struct cutover *c, const struct config *cfg,
		      struct cutover_group_status *out, size_t max);

/* Rollbacks since start, all groups: for /metrics. */
uint64_t cutover_rollbacks_total(struct cutover *c);

/*
 * Checks <t>'s group against cfg->cutover.rollback now and rolls it back
 * if a threshold is crossed (also called by cutover_note_* on a bad
 * sample). Returns true if it rolled back.
 */
bool cutover_check(struct cutover *c, const struct config *cfg, struct cutover_table *t);

/*
 * Called after every rollback, with the group's first table and the
 * reason, outside the lock (the control table writer hooks in here).
 */
typedef void (*cutover_rollback_fn)(void *arg, const char *table, const char *reason);
void cutover_on_rollback(struct cutover *c, cutover_rollback_fn fn, void *arg);

#endif

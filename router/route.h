/*
 * route — the routing policy: statement facts + the legacy set -> decision.
 *
 * Implements DESIGN.md "Routing rules (the contract)" 1-8 over the facts of
 * classify.c: writes to legacy tables are refused (25006), reads of legacy
 * tables alone go to MySQL, legacy and Supabase tables together are refused
 * (0A000), statements the classifier could not fully see go to Supabase only
 * when they name no legacy table. A multi-statement text is decided as a
 * whole: one refused statement refuses it all.
 *
 * Pure: no I/O and no parsing; everything here is a function of its inputs.
 */
#ifndef SY_ROUTE_H
#define SY_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "router/classify-t.h"
#include "router/router.h"

#define ROUTE_MESSAGE_MAX 256
#define ROUTE_DETAIL_MAX 512
#define ROUTE_HINT_MAX 256
#define ROUTE_NAME_MAX 128

/*
 * A decision with its own storage. Strings are "" when absent (router.c
 * turns them into NULL for struct route_decision).
 */
struct route_result {
	enum route_target target;
	unsigned flags;        /* enum route_flags */
	uint64_t fingerprint;
	char sqlstate[6];      /* REJECT only */
	char message[ROUTE_MESSAGE_MAX];
	char detail[ROUTE_DETAIL_MAX];
	char hint[ROUTE_HINT_MAX];
	char table[ROUTE_NAME_MAX];
	char prepare_name[ROUTE_NAME_MAX];
	char execute_name[ROUTE_NAME_MAX];
	char deallocate_name[ROUTE_NAME_MAX]; /* "" with ROUTE_F_DEALLOCATE means ALL */
	/* Facts the cutover's context decides on (bit i = legacy table i, config order). */
	uint64_t reads;        /* tables of statements that read legacy tables only */
	uint64_t needs_copy;   /* tables of statements that read them with platform tables:
				  Supabase when all have copies, else refused (route_apply_context) */
	char platform[ROUTE_NAME_MAX]; /* with needs_copy: the first platform table, for that
					  refusal's message */
};

struct route_policy;

/* Copies <legacy>; a NULL or empty schema means "public". NULL on OOM. */
struct route_policy *route_policy_new(const struct router_legacy *legacy)
	__attribute__((warn_unused_result));
void route_policy_free(struct route_policy *p);

/* The legacy table names in configuration order; borrowed for the policy's lifetime. */
const char *const *route_policy_tables(const struct route_policy *p, size_t *n);

/* Is (schema, name) a legacy table? Unqualified names resolve to the legacy schema. */
bool route_is_legacy(const struct route_policy *p, const char *schema, const char *name)
	__attribute__((warn_unused_result));

/* Decides for a classified text (rules 1-8); fills every field of *out. */
void route_decide(const struct route_policy *p, const struct classify_result *facts,
		  struct route_result *out);

/*
 * One statement's own side, as route_decide and route_apply_context would
 * see it alone: ROUTE_MYSQL for a legacy read served by MySQL, ROUTE_REJECT
 * for a refused one, ROUTE_SUPABASE for the rest (also statements that run
 * anywhere, such as BEGIN). *tables: the legacy tables it reads.
 */
enum route_target route_stmt_target(const struct route_policy *p, const struct classify_stmt *st,
				    const struct route_context *ctx, uint64_t *tables);

/*
 * Applies context <ctx> (may be NULL: nothing copied, every legacy read on
 * MySQL) to a decision with cached facts <reads>/<needs_copy>: a legacy
 * read may move to Supabase (ROUTE_F_CUTOVER), a statement over uncopied
 * tables, or over tables on both sides, is refused: then *target is
 * ROUTE_REJECT and *refusal holds the error.
 */
void route_apply_context(const struct route_policy *p, uint64_t reads, uint64_t needs_copy,
			 const char *platform, const struct route_context *ctx,
			 enum route_target *target, unsigned *flags, struct route_result *refusal);

/* The pre-filter's answer: Supabase, no flags, no fingerprint (nothing was parsed). */
void route_supabase(struct route_result *out);

/* Why a text was decided without classification. */
enum route_unchecked {
	ROUTE_U_NUL = 0, /* the text holds a zero byte: no backend would accept it */
	ROUTE_U_TOO_LONG, /* longer than CLASSIFY_MAX_TEXT */
	ROUTE_U_OOM,      /* classification ran out of memory */
};

/*
 * Decides without facts, from classify_raw_mentions: <may_name_legacy> and
 * the first legacy <table> it found (NULL if only an escape was seen).
 * <len> is the text's length, for the message.
 */
void route_unchecked(const struct route_policy *p, enum route_unchecked why,
		     bool may_name_legacy, const char *table, size_t len, struct route_result *out);

#endif

/*
 * control — the cutover control table: fleet-wide weights kept in Supabase
 * ([cutover] control_table), so that one UPDATE moves every instance.
 *
 * The table (table_name text PRIMARY KEY, weight integer 0..100,
 * updated_at timestamptz, updated_by text, reason text) is created only by
 * `switchyard --init-control-table` (control_init_table), never by the
 * running proxy. While it is configured the running proxy, on the main
 * thread's event base:
 *
 *  - follows it: every CONTROL_POLL_MS it reads every row; a row whose
 *    (weight, updated_at) changed since this instance last saw it (at the
 *    first read: whose weight differs from the weight in force) sets the
 *    weight of its table's group through cutover_set_weight. Rows are taken
 *    oldest updated_at first, so among a group's members the newest wins.
 *    An unreadable table (missing, unreachable) keeps the weights in force;
 *  - writes to it: a rollback (from any thread) and an admin change set the
 *    rows of the group's members, so the fleet follows them instead of the
 *    next read undoing them. While a write for a table is queued or in
 *    flight, rows read for it are ignored: a read that started before the
 *    write must not undo the change it carries.
 *
 * Everything goes through one pgclient, one statement at a time: writes
 * first, then the next read.
 *
 * Return conventions: pointer or NULL (out of memory) for constructors,
 * bool for actions, an exit status for the command.
 */
#ifndef SY_CONTROL_H
#define SY_CONTROL_H

#include <stdbool.h>
#include <stdio.h>

struct event_base;
struct config;
struct cutover;
struct control;

/* How often the running proxy reads the control table. */
#define CONTROL_POLL_MS 1000

/*
 * A follower on <base> (main thread) for the weights of <cutover>, which
 * must outlive it; it registers itself as <cutover>'s rollback hook. Idle
 * until control_apply_config gives it a snapshot naming a control table.
 */
struct control *control_new(struct event_base *base, struct cutover *cutover)
	__attribute__((warn_unused_result));
/*
 * Unregisters the rollback hook and drops what is queued or in flight. Call
 * only when no other thread can roll back (workers joined).
 * control_free(NULL) is a no-op.
 */
void control_free(struct control *c);

/*
 * Adopts snapshot <cfg> (main thread, at start and after each reload; a
 * reference is kept). A different control_table or [supabase] starts over:
 * queued writes are dropped and the next read is a first one. "" stops.
 * False on OOM (the follower is stopped).
 */
bool control_apply_config(struct control *c, struct config *cfg)
	__attribute__((warn_unused_result));

/*
 * <table>'s group was just set to <weight> on this instance by <by>
 * ("admin"): writes it to the control table, if one is configured, with
 * <reason> (may be NULL). Main thread. Queued: the write happens later.
 */
void control_weight_set(struct control *c, const char *table, int weight, const char *by,
			const char *reason);

/*
 * `switchyard --init-control-table`: connects to [supabase] of <cfg>
 * (blocking), creates the schema and the table if missing and adds a row
 * per legacy table with its weight from the file, leaving existing rows
 * alone. Says what it did on <out>, problems on <err>. Returns the exit
 * status: 0 done (also when nothing was missing), 1 on any problem
 * (control_table unset, Supabase unreachable, a statement failed: nothing
 * is changed then).
 */
int control_init_table(const struct config *cfg, FILE *out, FILE *err);

#endif

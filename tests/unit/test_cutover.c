/*
 * cutover: placement, weights through reloads and the admin path, and the
 * rollback thresholds over a real window.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxy/config.h"
#include "proxy/cutover.h"

static struct config *load(const char *extra)
{
	char path[] = "/tmp/sy-cutover-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	char text[4096];
	int n = snprintf(text, sizeof(text),
			 "[[users]]\nname = \"app\"\npassword = \"pw\"\n"
			 "[supabase]\nhost = \"h\"\ndatabase = \"d\"\nuser = \"u\"\n"
			 "[legacy]\ntables = [\"customers\", \"subscriptions\", \"payments\"]\n%s",
			 extra);
	assert_true(write(fd, text, (size_t)n) == n);
	close(fd);
	struct config_errors errs = { 0 };
	struct config *cfg = config_load(path, &errs);
	unlink(path);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.lines[i]);
	config_errors_clear(&errs);
	assert_non_null(cfg);
	return cfg;
}

#define GROUPED "[cutover]\ngroups = [[\"customers\", \"subscriptions\"]]\n"

static void test_placement(void **state)
{
	(void)state;
	char key[128];
	int on[101] = { 0 };
	/* 2000 distinct keys: the share below each weight is the weight, within a few points */
	for (int i = 0; i < 2000; i++) {
		char user[32];
		snprintf(user, sizeof(user), "user-%d", i);
		size_t n = cutover_client_key(CONFIG_CUTOVER_KEY_USER | CONFIG_CUTOVER_KEY_APPLICATION,
					      user, "app", "127.0.0.1", key, sizeof(key));
		unsigned p = cutover_point(key, n, "customers+subscriptions");
		assert_true(p < 100);
		assert_int_equal(p, cutover_point(key, n, "customers+subscriptions"));
		on[p]++;
	}
	int below = 0;
	for (int w = 0; w <= 100; w++) {
		if (w == 10 || w == 30 || w == 50)
			assert_true(abs(below * 100 / 2000 - w) <= 4);
		if (w < 100)
			below += on[w];
	}
	assert_int_equal(below, 2000);
	/* the parts are kept apart: ("ab", "c") is not ("a", "bc") */
	char k1[16], k2[16];
	size_t n1 = cutover_client_key(CONFIG_CUTOVER_KEY_USER | CONFIG_CUTOVER_KEY_APPLICATION,
				       "ab", "c", NULL, k1, sizeof(k1));
	size_t n2 = cutover_client_key(CONFIG_CUTOVER_KEY_USER | CONFIG_CUTOVER_KEY_APPLICATION,
				       "a", "bc", NULL, k2, sizeof(k2));
	assert_int_equal(n1, n2);
	assert_memory_not_equal(k1, k2, n1);
	/* only the chosen parts count */
	n1 = cutover_client_key(CONFIG_CUTOVER_KEY_ADDR, "x", "y", "10.0.0.1", k1, sizeof(k1));
	n2 = cutover_client_key(CONFIG_CUTOVER_KEY_ADDR, "z", "w", "10.0.0.1", k2, sizeof(k2));
	assert_int_equal(n1, n2);
	assert_memory_equal(k1, k2, n1);
	/* a key longer than the buffer is cut, never overrun */
	n1 = cutover_client_key(CONFIG_CUTOVER_KEY_USER, "a-very-long-user-name", NULL, NULL, k1, 8);
	assert_true(n1 <= 8);
}

static void test_weights_and_reload(void **state)
{
	(void)state;
	struct cutover *c = cutover_new();
	struct config *cfg = load(GROUPED "[cutover.weights]\ncustomers = 20\n");
	struct cutover_table *bound[3];
	char err[128];

	assert_true(cutover_apply_config(c, cfg));
	assert_true(cutover_bind(c, cfg, bound));
	assert_ptr_equal(bound[0], bound[1]); /* a group reads through its first member */
	assert_ptr_not_equal(bound[0], bound[2]);
	assert_int_equal(cutover_weight(bound[0]), 20);
	assert_int_equal(cutover_weight(cutover_find(c, "subscriptions")), 20);
	assert_int_equal(cutover_weight(bound[2]), 0);

	/* the admin path moves the whole group */
	assert_true(cutover_set_weight(c, cfg, "subscriptions", 40, "admin", err, sizeof(err)));
	assert_int_equal(cutover_weight(cutover_find(c, "customers")), 40);
	assert_false(cutover_set_weight(c, cfg, "orders", 10, "admin", err, sizeof(err)));
	assert_string_equal(err, "\"orders\" is not a legacy table");
	assert_false(cutover_set_weight(c, cfg, "payments", 150, "admin", err, sizeof(err)));
	assert_int_equal(cutover_weight(bound[2]), 0);

	/* a reload with the same file weights keeps the admin's change ... */
	struct config *same = load(GROUPED "[cutover.weights]\ncustomers = 20\n");
	assert_true(cutover_apply_config(c, same));
	assert_int_equal(cutover_weight(cutover_find(c, "customers")), 40);
	/* ... a changed file weight applies */
	struct config *more = load(GROUPED "[cutover.weights]\ncustomers = 60\n");
	assert_true(cutover_apply_config(c, more));
	assert_int_equal(cutover_weight(cutover_find(c, "customers")), 60);
	assert_int_equal(cutover_weight(cutover_find(c, "subscriptions")), 60);

	struct cutover_group_status st[4];
	size_t n = cutover_status(c, more, st, 4);
	assert_int_equal(n, 2);
	assert_string_equal(st[0].name, "customers+subscriptions");
	assert_int_equal(st[0].weight, 60);
	assert_string_equal(st[0].changed_by, "file");
	assert_true(st[0].copied);
	assert_false(st[1].copied);
	config_unref(cfg);
	config_unref(same);
	config_unref(more);
	cutover_free(c);
}

static int rollbacks_seen;
static char rollback_table[64];

static void on_rollback(void *arg, const char *table, const char *reason)
{
	(void)arg;
	(void)reason;
	rollbacks_seen++;
	snprintf(rollback_table, sizeof(rollback_table), "%s", table);
}

static void test_rollback_errors(void **state)
{
	(void)state;
	struct cutover *c = cutover_new();
	struct config *cfg = load(GROUPED "[cutover.weights]\ncustomers = 50\n"
				  "[cutover.rollback]\nmin_samples = 20\nmax_error_rate = 0.25\n");
	assert_true(cutover_apply_config(c, cfg));
	cutover_on_rollback(c, on_rollback, NULL);
	rollbacks_seen = 0;
	struct cutover_table *t = cutover_find(c, "subscriptions");

	/* MySQL-side failures never roll back */
	for (int i = 0; i < 100; i++)
		cutover_note_read(c, cfg, t, CUTOVER_MYSQL, 100, true);
	assert_int_equal(cutover_weight(t), 50);
	/* under min_samples: 5 failures of 5 reads is not enough */
	for (int i = 0; i < 5; i++)
		cutover_note_read(c, cfg, t, CUTOVER_SUPABASE, 100, true);
	assert_int_equal(cutover_weight(t), 50);
	/* 5 failed of 25 = 20 %: under 25 % */
	for (int i = 0; i < 20; i++)
		cutover_note_read(c, cfg, t, CUTOVER_SUPABASE, 100, false);
	assert_int_equal(cutover_weight(t), 50);
	for (int i = 0; i < 4; i++)
		cutover_note_read(c, cfg, t, CUTOVER_SUPABASE, 100, true);
	/* 9 of 29 = 31 % */
	assert_int_equal(cutover_weight(t), 0);
	assert_int_equal(cutover_weight(cutover_find(c, "customers")), 0);
	assert_int_equal(rollbacks_seen, 1);
	assert_string_equal(rollback_table, "customers");
	struct cutover_group_status st[2];
	assert_int_equal(cutover_status(c, cfg, st, 2), 2);
	assert_int_equal(st[0].state, CUTOVER_ROLLED_BACK);
	assert_non_null(strstr(st[0].reason, "error rate"));
	assert_string_equal(st[0].changed_by, "rollback");
	assert_int_equal(st[0].window.reads[CUTOVER_SUPABASE], 29);
	assert_int_equal(st[0].window.errors[CUTOVER_SUPABASE], 9);
	assert_int_equal(st[0].window.reads[CUTOVER_MYSQL], 100);
	assert_int_equal(cutover_rollbacks_total(c), 1);
	/* it stays at 0; a reload with the same file does not raise it */
	assert_true(cutover_apply_config(c, cfg));
	assert_int_equal(cutover_weight(t), 0);
	/* an operator raises it again */
	char err[64];
	assert_true(cutover_set_weight(c, cfg, "customers", 10, "admin", err, sizeof(err)));
	assert_int_equal(cutover_status(c, cfg, st, 2), 2);
	assert_int_equal(st[0].state, CUTOVER_ACTIVE);
	assert_string_equal(st[0].reason, "");
	config_unref(cfg);
	cutover_free(c);
}

static void test_rollback_latency_and_mismatch(void **state)
{
	(void)state;
	struct cutover *c = cutover_new();
	struct config *cfg = load("[cutover.weights]\npayments = 30\n"
				  "[cutover.rollback]\nmin_samples = 50\nmax_latency_ms = 100\n");
	assert_true(cutover_apply_config(c, cfg));
	struct cutover_table *t = cutover_find(c, "payments");

	/* one slow read in 200 is under 1 %: p99 holds */
	for (int i = 0; i < 199; i++)
		cutover_note_read(c, cfg, t, CUTOVER_SUPABASE, 2000, false);
	cutover_note_read(c, cfg, t, CUTOVER_SUPABASE, 900000, false);
	assert_int_equal(cutover_weight(t), 30);
	struct cutover_group_status st[3];
	assert_int_equal(cutover_status(c, cfg, st, 3), 3);
	assert_int_equal(st[2].window.max_us[CUTOVER_SUPABASE], 900000);
	assert_true(st[2].window.p99_us[CUTOVER_SUPABASE] >= 2000 &&
		    st[2].window.p99_us[CUTOVER_SUPABASE] < 2600);
	/* three slow reads of 202: 1.5 % */
	cutover_note_read(c, cfg, t, CUTOVER_SUPABASE, 150000, false);
	cutover_note_read(c, cfg, t, CUTOVER_SUPABASE, 150000, false);
	assert_int_equal(cutover_weight(t), 0);
	assert_int_equal(cutover_status(c, cfg, st, 3), 3);
	assert_non_null(strstr(st[2].reason, "p99 latency over 100 ms"));

	/* any mismatch trips with max_mismatch_rate = 0, whatever the sample count */
	char err[64];
	assert_true(cutover_set_weight(c, cfg, "payments", 30, "admin", err, sizeof(err)));
	struct config *cfg2 = config_ref(cfg);
	/* the earlier slow reads are before the change: they no longer count */
	cutover_note_read(c, cfg2, t, CUTOVER_SUPABASE, 150000, false);
	assert_int_equal(cutover_weight(t), 30);
	cutover_note_shadow(c, cfg2, t, CUTOVER_SHADOW_MATCH);
	cutover_note_shadow(c, cfg2, t, CUTOVER_SHADOW_DROPPED);
	assert_int_equal(cutover_weight(t), 30);
	cutover_note_shadow(c, cfg2, t, CUTOVER_SHADOW_MISMATCH);
	assert_int_equal(cutover_weight(t), 0);
	assert_int_equal(cutover_status(c, cfg2, st, 3), 3);
	assert_non_null(strstr(st[2].reason, "shadow mismatch"));
	assert_int_equal(st[2].total_shadow_dropped, 1);
	assert_int_equal(st[2].rollbacks, 2);
	/* the history has a point per bucket, the newest last */
	assert_int_equal(st[2].nhistory, CUTOVER_HISTORY);
	assert_true(st[2].history[CUTOVER_HISTORY - 1].reads[CUTOVER_SUPABASE] >= 1 ||
		    st[2].history[CUTOVER_HISTORY - 2].reads[CUTOVER_SUPABASE] >= 1);
	config_unref(cfg);
	config_unref(cfg2);
	cutover_free(c);
}

/* Shadow outcomes per fingerprint: the first mismatch is reported once; a full table pools the rest. */
static void test_fingerprints(void **state)
{
	(void)state;
	struct cutover *c = cutover_new();
	assert_non_null(c);
	assert_false(cutover_note_fingerprint(c, 0xabc, "customers", false));
	assert_true(cutover_note_fingerprint(c, 0xabc, "customers", true));
	assert_false(cutover_note_fingerprint(c, 0xabc, "customers", true));
	/* the same fingerprint on another table is another entry */
	assert_true(cutover_note_fingerprint(c, 0xabc, "payments", true));
	for (uint64_t f = 1; f <= 2 * CUTOVER_FINGERPRINTS; f++)
		(void)cutover_note_fingerprint(c, 0x10000 + f, "customers", false);
	struct cutover_fp_stats *fp = calloc(CUTOVER_FINGERPRINTS, sizeof(*fp));
	assert_non_null(fp);
	size_t n = cutover_fingerprints(c, fp, CUTOVER_FINGERPRINTS);
	assert_int_equal(n, CUTOVER_FINGERPRINTS);
	assert_int_equal(fp[0].fingerprint, 0xabc);
	assert_int_equal(fp[0].match, 1);
	assert_int_equal(fp[0].mismatch, 2);
	assert_string_equal(fp[1].table, "payments");
	/* the last slot counts every fingerprint that found no room */
	const struct cutover_fp_stats *other = &fp[CUTOVER_FINGERPRINTS - 1];
	assert_int_equal(other->fingerprint, 0);
	assert_string_equal(other->table, "other");
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += fp[i].match + fp[i].mismatch;
	assert_int_equal(total, 4 + 2 * CUTOVER_FINGERPRINTS);
	free(fp);
	cutover_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placement),
		cmocka_unit_test(test_weights_and_reload),
		cmocka_unit_test(test_rollback_errors),
		cmocka_unit_test(test_rollback_latency_and_mismatch),
		cmocka_unit_test(test_fingerprints),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

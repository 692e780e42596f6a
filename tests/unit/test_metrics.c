/*
 * metrics: the per-worker counters summed over workers and rendered — the
 * histogram's cumulative buckets, the bounded SQLSTATE table and its
 * overflow, the cutover series per table and per group — and, when promtool
 * is installed, the exposition with every series populated passes
 * `promtool check metrics`.
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
#include <event2/buffer.h>

#include "proxy/config.h"
#include "proxy/cutover.h"
#include "proxy/metrics.h"
#include "proxy/proxy.h"
#include "proxy/worker.h"
#include "router/router.h"

static struct config *load(const char *extra)
{
	char path[] = "/tmp/sy-metrics-XXXXXX";
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

static char *render(struct proxy *p)
{
	struct evbuffer *out = evbuffer_new();
	assert_true(metrics_render(p, 1700000000000, out));
	size_t n = evbuffer_get_length(out);
	char *text = malloc(n + 1);
	evbuffer_remove(out, text, n);
	text[n] = '\0';
	evbuffer_free(out);
	return text;
}

static void has(const char *text, const char *line)
{
	if (strstr(text, line) == NULL) {
		fprintf(stderr, "missing: %s\n--- in ---\n%s\n", line, text);
		fail();
	}
}

static void test_render(void **state)
{
	(void)state;
	struct proxy p;
	struct worker w[2];

	memset(&p, 0, sizeof(p));
	memset(w, 0, sizeof(w));
	p.cfg = load("[cutover]\ngroups = [[\"customers\", \"subscriptions\"]]\n"
		     "[cutover.weights]\ncustomers = 30\nsubscriptions = 30\n");
	p.cutover = cutover_new();
	assert_non_null(p.cutover);
	assert_true(cutover_apply_config(p.cutover, p.cfg));
	assert_true(refusals_init(&p.refusals));
	p.workers = w;
	p.nworkers = 2;
	w[0].metrics = metrics_new();
	w[1].metrics = metrics_new();

	metrics_statement(w[0].metrics, METRICS_SUPABASE, 300);      /* <= 0.5 ms */
	metrics_statement(w[1].metrics, METRICS_SUPABASE, 500);      /* on the bound: 0.0005 */
	metrics_statement(w[1].metrics, METRICS_SUPABASE, 2000);     /* 0.0025 */
	metrics_statement(w[0].metrics, METRICS_MYSQL, 60000000);    /* beyond 10 s: +Inf only */
	metrics_error(w[0].metrics, METRICS_SUPABASE, "42P01");
	metrics_error(w[1].metrics, METRICS_SUPABASE, "42P01");
	metrics_error(w[0].metrics, METRICS_LOCAL, "25006");
	/* 40 distinct SQLSTATEs on one worker: 32 are kept, 8 count as "other". */
	for (unsigned i = 0; i < 40; i++) {
		char st[6] = { 'X', 'X', '0', (char)('0' + i / 10), (char)('0' + i % 10), '\0' };
		metrics_error(w[1].metrics, METRICS_MYSQL, st);
	}
	metrics_error(w[1].metrics, METRICS_MYSQL, "bad!!"); /* not a SQLSTATE: "other" */
	struct router_stats rs = { .cache_hits = 5, .full_parses = 2, .cache_entries = 3 };
	metrics_router_publish(w[0].metrics, &rs);
	metrics_router_retire(w[1].metrics, &rs);

	struct cutover_table *t = cutover_find(p.cutover, "subscriptions");
	cutover_note_read(p.cutover, p.cfg, t, CUTOVER_SUPABASE, 1500, false);
	cutover_note_read(p.cutover, p.cfg, t, CUTOVER_MYSQL, 800, true);
	char *text = render(&p);
	has(text, "switchyard_cutover_weight{table=\"subscriptions\"} 30\n");
	free(text);
	cutover_note_shadow(p.cutover, p.cfg, t, CUTOVER_SHADOW_MISMATCH);

	text = render(&p);
	has(text, "switchyard_build_info{version=\"" SY_VERSION "\"} 1\n");
	has(text, "switchyard_start_time_seconds 1700000000\n");
	has(text, "switchyard_queries_total{backend=\"supabase\"} 3\n");
	has(text, "switchyard_query_duration_seconds_bucket{backend=\"supabase\",le=\"0.0005\"} 2\n");
	has(text, "switchyard_query_duration_seconds_bucket{backend=\"supabase\",le=\"0.001\"} 2\n");
	has(text, "switchyard_query_duration_seconds_bucket{backend=\"supabase\",le=\"0.0025\"} 3\n");
	has(text, "switchyard_query_duration_seconds_bucket{backend=\"supabase\",le=\"+Inf\"} 3\n");
	has(text, "switchyard_query_duration_seconds_sum{backend=\"supabase\"} 0.002800\n");
	has(text, "switchyard_query_duration_seconds_bucket{backend=\"mysql\",le=\"10\"} 0\n");
	has(text, "switchyard_query_duration_seconds_count{backend=\"mysql\"} 1\n");
	has(text, "switchyard_errors_total{backend=\"supabase\",sqlstate=\"42P01\"} 2\n");
	has(text, "switchyard_errors_total{backend=\"local\",sqlstate=\"25006\"} 1\n");
	has(text, "switchyard_errors_total{backend=\"mysql\",sqlstate=\"XX031\"} 1\n");
	assert_null(strstr(text, "sqlstate=\"XX032\""));
	has(text, "switchyard_errors_total{backend=\"mysql\",sqlstate=\"other\"} 9\n");
	has(text, "switchyard_router_cache_hits_total 10\n");
	has(text, "switchyard_router_parses_total 4\n");
	has(text, "switchyard_router_cache_entries 3\n");
	/* max_mismatch_rate 0: the one mismatch rolled the group back, both members show it. */
	has(text, "switchyard_cutover_weight{table=\"customers\"} 0\n");
	has(text, "switchyard_cutover_weight{table=\"subscriptions\"} 0\n");
	has(text, "switchyard_cutover_rolled_back{table=\"subscriptions\"} 1\n");
	has(text, "switchyard_cutover_rolled_back{table=\"payments\"} 0\n");
	has(text, "switchyard_cutover_rollbacks_total{table=\"customers\"} 1\n");
	has(text, "switchyard_cutover_weight{table=\"payments\"} 0\n");
	has(text, "switchyard_cutover_reads_total{table=\"customers\",backend=\"supabase\"} 1\n");
	has(text, "switchyard_cutover_errors_total{table=\"customers\",backend=\"mysql\"} 1\n");
	has(text, "switchyard_shadow_total{table=\"customers\",result=\"mismatch\"} 1\n");
	has(text, "switchyard_cutover_window_max_seconds{table=\"customers\",backend=\"supabase\"} 0.001500\n");
	assert_null(strstr(text, "table=\"subscriptions\",backend"));

	if (system("command -v promtool >/dev/null 2>&1") == 0) {
		char path[] = "/tmp/sy-metrics-out-XXXXXX";
		int fd = mkstemp(path);
		assert_true(fd >= 0);
		assert_true(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
		close(fd);
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
		int rc = system(cmd);
		unlink(path);
		assert_int_equal(rc, 0);
	}
	free(text);
	metrics_free(w[0].metrics);
	metrics_free(w[1].metrics);
	metrics_free(NULL);
	refusals_destroy(&p.refusals);
	cutover_free(p.cutover);
	config_unref(p.cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

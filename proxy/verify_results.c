/*
 * verify_results — what the running proxy reads of `switchyard verify`'s
 * results file (verify.h): /status, /metrics and the admin weight guard.
 * Apart from verify.c so that the proxy's readers do not pull in the
 * command (its MySQL and libpq sessions).
 */
#include "proxy/verify.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "proxy/config.h"

void verify_results_path(const struct config *cfg, char *out, size_t cap)
{
	const char *f = cfg->verify.results_file;
	if (f[0] == '/' || cfg->path == NULL || strchr(cfg->path, '/') == NULL) {
		snprintf(out, cap, "%s", f);
		return;
	}
	const char *slash = strrchr(cfg->path, '/');
	snprintf(out, cap, "%.*s/%s", (int)(slash - cfg->path), cfg->path, f);
}

void verify_last(const struct config *cfg, const char *table, struct verify_result *out)
{
	char path[4200];
	memset(out, 0, sizeof(*out));
	verify_results_path(cfg, path, sizeof(path));
	json_t *all = json_load_file(path, 0, NULL);
	json_t *t = json_object_get(json_object_get(all, "tables"), table);
	if (json_is_object(t)) {
		out->found = true;
		snprintf(out->status, sizeof(out->status), "%s",
			 json_string_value(json_object_get(t, "status")) ?: "error");
		out->at_s = json_integer_value(json_object_get(t, "at"));
		out->rows_mysql = (uint64_t)json_integer_value(json_object_get(t, "rows_mysql"));
		out->rows_supabase = (uint64_t)json_integer_value(json_object_get(t, "rows_supabase"));
		out->missing = (uint64_t)json_integer_value(json_object_get(t, "missing"));
		out->extra = (uint64_t)json_integer_value(json_object_get(t, "extra"));
		out->changed = (uint64_t)json_integer_value(json_object_get(t, "changed"));
		if (strcmp(out->status, "schema") == 0)
			snprintf(out->summary, sizeof(out->summary), "schema differs: %s",
				 json_string_value(json_array_get(
					 json_object_get(t, "schema_differences"), 0)) ?: "?");
		else if (strcmp(out->status, "error") == 0)
			snprintf(out->summary, sizeof(out->summary), "error: %s",
				 json_string_value(json_object_get(t, "error")) ?: "?");
		else
			snprintf(out->summary, sizeof(out->summary),
				 "%s: %llu missing, %llu extra, %llu changed of %llu rows", out->status,
				 (unsigned long long)out->missing, (unsigned long long)out->extra,
				 (unsigned long long)out->changed, (unsigned long long)out->rows_mysql);
	}
	json_decref(all);
}

bool verify_guard(const struct config *cfg, const char *table, char *why, size_t cap)
{
	struct verify_result v;
	verify_last(cfg, table, &v);
	if (v.found && strcmp(v.status, "match") != 0) {
		snprintf(why, cap, "the last `switchyard verify` of %s found differences (%s); "
				   "send {\"force\": true} to raise the weight anyway",
			 table, v.summary);
		return false;
	}
	if (cfg->verify.max_age_s > 0) {
		int64_t age = (int64_t)time(NULL) - v.at_s;
		if (!v.found || age > cfg->verify.max_age_s) {
			snprintf(why, cap, "%s has %s; [verify] max_age_s = %d asks for one within that "
					   "many seconds before its weight goes above 0; send {\"force\": "
					   "true} to raise it anyway",
				 table, v.found ? "no recent `switchyard verify`" : "never been verified",
				 cfg->verify.max_age_s);
			return false;
		}
	}
	return true;
}

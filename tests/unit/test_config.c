/*
 * test_config — loading proxy.toml: the shipped example, every default, every
 * kind of error with its exact file:line:column, all errors of a file
 * reported together, secrets kept out of messages, the reference count, and
 * SCRAM verifiers derived at load that really authenticate.
 *
 * Runs in tests/unit/; fixtures are in tests/unit/config/. Cases that vary
 * one value many times write a temporary file instead of a fixture each.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/scram.h"
#include "proxy/config.h"

/* ---- helpers ---- */

/* Loads <path>, expecting failure with exactly <expected> (NULL-terminated), in order. */
static void expect_errors(const char *path, const char *const *expected)
{
	struct config_errors errs = { 0 };
	struct config *cfg = config_load(path, &errs);
	size_t n = 0;
	while (expected[n])
		n++;
	if (cfg || errs.n != n) {
		for (size_t i = 0; i < errs.n; i++)
			print_message("got: %s\n", errs.lines[i]);
		config_unref(cfg);
		fail_msg("%s: expected %zu errors, got %zu%s", path, n, errs.n,
			 cfg ? " and a snapshot" : "");
	}
	for (size_t i = 0; i < n; i++)
		assert_string_equal(errs.lines[i], expected[i]);
	config_errors_clear(&errs);
}

static struct config *load_ok(const char *path)
{
	struct config_errors errs = { 0 };
	struct config *cfg = config_load(path, &errs);
	for (size_t i = 0; i < errs.n; i++)
		print_message("unexpected: %s\n", errs.lines[i]);
	assert_non_null(cfg);
	assert_int_equal(errs.n, 0);
	config_errors_clear(&errs);
	return cfg;
}

/* Everything a valid file needs besides what a case varies. */
#define BASE_USERS "[[users]]\nname = \"app\"\npassword = \"app-secret\"\n"
#define BASE_SUPABASE "[supabase]\nhost = \"h\"\ndatabase = \"d\"\nuser = \"u\"\n"

/* Writes <text> to a fresh temporary file; its name goes to path[64]. */
static void write_temp(const char *text, char path[64])
{
	snprintf(path, 64, "/tmp/sy_test_config_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* Loads <text>; returns the single error with the temporary path cut off, or "" if it loaded. */
static void load_text(const char *text, char *err, size_t errsize, struct config **out)
{
	char path[64];
	struct config_errors errs = { 0 };
	write_temp(text, path);
	struct config *cfg = config_load(path, &errs);
	unlink(path);
	err[0] = '\0';
	if (errs.n > 0) {
		assert_int_equal(errs.n, 1);
		assert_int_equal(strncmp(errs.lines[0], path, strlen(path)), 0);
		snprintf(err, errsize, "%s", errs.lines[0] + strlen(path));
	}
	config_errors_clear(&errs);
	if (out)
		*out = cfg;
	else
		config_unref(cfg);
}

/* Our SCRAM client against our SCRAM server holding <v>. */
static bool scram_login(const struct scram_verifier *v, const char *password)
{
	struct scram_server *s = scram_server_new(v);
	struct scram_client *c = scram_client_new(password);
	char *m1 = scram_client_first(c), *m2 = NULL, *m3 = NULL, *m4 = NULL;
	assert_non_null(m1);
	bool ok = scram_server_handle_first(s, m1, strlen(m1), &m2) &&
		  scram_client_handle_first(c, m2, strlen(m2), &m3) &&
		  scram_server_handle_final(s, m3, strlen(m3), &m4) &&
		  scram_client_verify_final(c, m4, strlen(m4));
	free(m1);
	free(m2);
	free(m3);
	free(m4);
	scram_server_free(s);
	scram_client_free(c);
	return ok;
}

/* ---- files that load ---- */

static void test_shipped_example(void **state)
{
	(void)state;
	struct config *cfg = load_ok("../../proxy.toml");
	assert_string_equal(cfg->path, "../../proxy.toml");
	assert_string_equal(cfg->proxy.listen_host, "127.0.0.1");
	assert_int_equal(cfg->proxy.listen_port, 6432);
	assert_int_equal(cfg->proxy.workers, 2);
	assert_int_equal(cfg->proxy.client_tls, CONFIG_CLIENT_TLS_ALLOW);
	assert_int_equal(cfg->nusers, 2);
	const struct config_user *app = config_find_user(cfg, "app");
	assert_non_null(app);
	assert_string_equal(app->password, "app-secret");
	assert_true(scram_login(&app->verifier, "app-secret"));
	assert_null(app->upstream_user);
	assert_null(app->upstream_role);
	assert_int_equal(app->pool_size, 0);
	const struct config_user *web = config_find_user(cfg, "web");
	assert_non_null(web);
	assert_string_equal(web->upstream_role, "anon");
	assert_null(web->upstream_user);
	assert_int_equal(web->pool_size, 5);
	assert_string_equal(cfg->supabase.host, "127.0.0.1");
	assert_int_equal(cfg->supabase.port, 5432);
	assert_string_equal(cfg->supabase.database, "platform");
	assert_string_equal(cfg->supabase.user, "platform_owner");
	assert_string_equal(cfg->supabase.password, "owner-secret");
	assert_int_equal(cfg->supabase.sslmode, CONFIG_SSLMODE_REQUIRE);
	assert_string_equal(cfg->legacy.schema, "public");
	assert_int_equal(cfg->legacy.ntables, 3);
	assert_string_equal(cfg->legacy.tables[0], "customers");
	assert_string_equal(cfg->legacy.tables[1], "subscriptions");
	assert_string_equal(cfg->legacy.tables[2], "payments");
	assert_true(cfg->mysql.configured);
	assert_string_equal(cfg->mysql.host, "127.0.0.1");
	assert_int_equal(cfg->mysql.port, 3306);
	assert_string_equal(cfg->mysql.database, "crm");
	assert_string_equal(cfg->mysql.user, "crm_readonly");
	assert_string_equal(cfg->mysql.password, "ro-secret");
	assert_int_equal(cfg->mysql.pool_size, 8);
	assert_int_equal(cfg->mysql.connect_timeout_ms, 5000);
	assert_int_equal(cfg->mysql.tls, CONFIG_MYSQL_TLS_DISABLE);
	assert_true(cfg->mysql.require_read_only);
	assert_true(cfg->mysql.tinyint1_as_bool);
	config_unref(cfg);
}

static void test_defaults(void **state)
{
	(void)state;
	struct config *cfg = load_ok("config/minimal.toml");
	assert_string_equal(cfg->proxy.listen_host, "127.0.0.1");
	assert_int_equal(cfg->proxy.listen_port, 6432);
	assert_int_equal(cfg->proxy.workers, 2);
	assert_int_equal(cfg->proxy.max_client_conn, 10000);
	assert_string_equal(cfg->proxy.tls_cert, "");
	assert_string_equal(cfg->proxy.tls_key, "");
	assert_int_equal(cfg->proxy.client_tls, CONFIG_CLIENT_TLS_ALLOW);
	assert_int_equal(cfg->proxy.auth_method, CONFIG_AUTH_SCRAM);
	assert_int_equal(cfg->proxy.log_level, CONFIG_LOG_INFO);
	assert_int_equal(cfg->proxy.pool_mode, CONFIG_POOL_SESSION);
	assert_int_equal(cfg->proxy.shutdown_timeout_ms, 30000);
	assert_int_equal(cfg->proxy.pool_timeout_ms, 10000);
	assert_int_equal(cfg->proxy.login_timeout_ms, 60000);
	assert_int_equal(cfg->proxy.max_message_bytes, 67108864);
	assert_string_equal(cfg->supabase.host, "db.internal");
	assert_int_equal(cfg->supabase.port, 5432);
	assert_string_equal(cfg->supabase.password, "");
	assert_int_equal(cfg->supabase.sslmode, CONFIG_SSLMODE_PREFER);
	assert_string_equal(cfg->supabase.sslrootcert, "");
	assert_int_equal(cfg->supabase.pool_size, 20);
	assert_int_equal(cfg->supabase.connect_timeout_ms, 5000);
	assert_string_equal(cfg->legacy.schema, "public");
	assert_int_equal(cfg->legacy.ntables, 0);
	config_unref(cfg);
}

static void test_tls_and_ipv6(void **state)
{
	(void)state;
	struct config *cfg = load_ok("config/tls_ok.toml");
	assert_string_equal(cfg->proxy.listen_host, "::1");
	assert_int_equal(cfg->proxy.listen_port, 7000);
	assert_string_equal(cfg->proxy.tls_cert, "config/dummy.pem");
	assert_int_equal(cfg->proxy.client_tls, CONFIG_CLIENT_TLS_REQUIRE);
	assert_int_equal(cfg->supabase.sslmode, CONFIG_SSLMODE_VERIFY_FULL);
	assert_string_equal(cfg->supabase.sslrootcert, "config/dummy.pem");
	config_unref(cfg);
}

static void test_verifiers_and_workers(void **state)
{
	(void)state;
	struct config *cfg = load_ok("config/verifiers.toml");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	assert_int_equal(cfg->proxy.workers, cpus < 1 ? 1 : cpus);
	assert_int_equal(cfg->proxy.auth_method, CONFIG_AUTH_MD5);

	/* given as a Postgres verifier: no plaintext kept */
	const struct config_user *stored = config_find_user(cfg, "stored");
	assert_non_null(stored);
	assert_null(stored->password);
	assert_int_equal(stored->verifier.iterations, 4096);
	assert_true(scram_login(&stored->verifier, "app-secret"));
	assert_false(scram_login(&stored->verifier, "app-secreT"));

	/* plaintext: verifier derived at load, plaintext kept for md5 */
	const struct config_user *plain = config_find_user(cfg, "plain");
	assert_non_null(plain);
	assert_string_equal(plain->password, "plain-secret");
	assert_int_equal(plain->verifier.iterations, SCRAM_DEFAULT_ITERATIONS);
	assert_int_equal(plain->verifier.salt_len, 16);
	assert_true(scram_login(&plain->verifier, "plain-secret"));
	assert_false(scram_login(&plain->verifier, "app-secret"));

	assert_null(config_find_user(cfg, "Plain"));
	assert_null(config_find_user(cfg, "nobody"));
	assert_null(config_find_user(cfg, NULL));
	config_unref(cfg);
}

static void test_listen_forms(void **state)
{
	(void)state;
	struct {
		const char *listen, *host;
		int port;
	} ok[] = {
		{ "localhost:6432", "localhost", 6432 },
		{ "0.0.0.0:1", "0.0.0.0", 1 },
		{ "[::]:65535", "::", 65535 },
		{ "[fe80::1]:5000", "fe80::1", 5000 },
		{ "db-1.example.com:7000", "db-1.example.com", 7000 },
	};
	char text[512], err[512];
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct config *cfg;
		snprintf(text, sizeof text, "[proxy]\nlisten = \"%s\"\n" BASE_USERS BASE_SUPABASE,
			 ok[i].listen);
		load_text(text, err, sizeof err, &cfg);
		assert_string_equal(err, "");
		assert_string_equal(cfg->proxy.listen_host, ok[i].host);
		assert_int_equal(cfg->proxy.listen_port, ok[i].port);
		config_unref(cfg);
	}
	struct {
		const char *listen, *why;
	} bad[] = {
		{ "localhost", "expected \"host:port\" or \"[ipv6]:port\"" },
		{ "[::1]6432", "expected \"host:port\" or \"[ipv6]:port\"" },
		{ "[::1:6432", "expected \"host:port\" or \"[ipv6]:port\"" },
		{ "::1:6432", "an IPv6 address needs brackets: \"[addr]:port\"" },
		{ "[1.2.3.4]:6432", "the bracketed host is not an IPv6 address" },
		{ "[]:6432", "the host part is empty or malformed" },
		{ ":6432", "the host part is empty or malformed" },
		{ "a b:6432", "the host part is empty or malformed" },
		{ "host:", "the port must be a number from 1 to 65535" },
		{ "host:0", "the port must be a number from 1 to 65535" },
		{ "host:65536", "the port must be a number from 1 to 65535" },
		{ "host:+80", "the port must be a number from 1 to 65535" },
		{ "host:80 ", "the port must be a number from 1 to 65535" },
		{ "host:123456", "the port must be a number from 1 to 65535" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char want[512];
		snprintf(text, sizeof text, "[proxy]\nlisten = \"%s\"\n" BASE_USERS BASE_SUPABASE,
			 bad[i].listen);
		load_text(text, err, sizeof err, NULL);
		snprintf(want, sizeof want, ":2:10: proxy.listen: \"%s\" is not usable: %s",
			 bad[i].listen, bad[i].why);
		assert_string_equal(err, want);
	}
}

static void test_inline_forms(void **state)
{
	(void)state;
	/* inline tables and arrays of inline tables are the same document to TOML */
	char err[512];
	struct config *cfg;
	load_text("users = [{ name = \"a\", password = \"x\" }, { name = \"b\", password = \"y\" }]\n"
		  "supabase = { host = \"h\", database = \"d\", user = \"u\" }\n"
		  "proxy.workers = 3\n",
		  err, sizeof err, &cfg);
	assert_string_equal(err, "");
	assert_int_equal(cfg->nusers, 2);
	assert_string_equal(cfg->users[1].name, "b");
	assert_int_equal(cfg->proxy.workers, 3);
	config_unref(cfg);
}

/* ---- errors, one kind per fixture ---- */

static void test_syntax_error(void **state)
{
	(void)state;
	const char *want[] = { "config/syntax.toml:3:11: TOML syntax error: Error while parsing "
			       "key-value pair: expected value, saw '\\n'",
			       NULL };
	expect_errors("config/syntax.toml", want);
}

static void test_unknown_names(void **state)
{
	(void)state;
	const char *want[] = {
		"config/unknown.toml:1:1: unknown key \"stray\" outside any section",
		"config/unknown.toml:5:1: unknown key \"worker\" in [proxy]",
		"config/unknown.toml:10:1: unknown key \"role\" in [[users]]",
		"config/unknown.toml:16:11: unknown key \"options\" in [supabase]",
		"config/unknown.toml:19:1: unknown section \"mysql_old\"",
		NULL,
	};
	expect_errors("config/unknown.toml", want);
}

static void test_wrong_types(void **state)
{
	(void)state;
	const char *want[] = {
		"config/types.toml:2:10: proxy.listen: expected a string, found an integer",
		"config/types.toml:3:11: proxy.workers: expected an integer, found a string",
		"config/types.toml:4:19: proxy.max_client_conn: expected an integer, found a float",
		"config/types.toml:5:12: proxy.tls_cert: expected a string, found a boolean",
		"config/types.toml:6:14: proxy.client_tls: expected a string, found an array",
		"config/types.toml:7:13: proxy.log_level: expected a string, found a table",
		"config/types.toml:8:23: proxy.shutdown_timeout_ms: expected an integer, found a "
		"date/time",
		"config/types.toml:11:8: users.name: expected a string, found an integer",
		"config/types.toml:20:10: legacy.tables: expected an array, found a string",
		NULL,
	};
	expect_errors("config/types.toml", want);
}

static void test_section_shapes(void **state)
{
	(void)state;
	const char *want[] = {
		"config/shape.toml:1:1: proxy must be a table, written [proxy]",
		"config/shape.toml:4:1: users must be written as [[users]] tables",
		NULL,
	};
	expect_errors("config/shape.toml", want);
}

static void test_ranges(void **state)
{
	(void)state;
	const char *want[] = {
		"config/ranges.toml:2:10: proxy.listen: \"127.0.0.1:0\" is not usable: the port must "
		"be a number from 1 to 65535",
		"config/ranges.toml:3:11: proxy.workers: must be between 0 and 1024, not -1",
		"config/ranges.toml:4:19: proxy.max_client_conn: must be between 1 and 1000000, not 0",
		"config/ranges.toml:5:23: proxy.shutdown_timeout_ms: must be between 0 and 86400000, "
		"not -5",
		"config/ranges.toml:6:19: proxy.pool_timeout_ms: must be between 1 and 86400000, not 0",
		"config/ranges.toml:7:21: proxy.max_message_bytes: must be between 1024 and "
		"1073741824, not 1023",
		"config/ranges.toml:15:8: supabase.port: must be between 1 and 65535, not 70000",
		"config/ranges.toml:18:13: supabase.pool_size: must be between 1 and 10000, not 0",
		"config/ranges.toml:19:22: supabase.connect_timeout_ms: must be between 1 and 600000, "
		"not 0",
		NULL,
	};
	expect_errors("config/ranges.toml", want);
}

static void test_enum_words(void **state)
{
	(void)state;
	const char *want[] = {
		"config/enums.toml:2:14: proxy.client_tls: unknown value \"required\" (expected "
		"disable, allow or require)",
		"config/enums.toml:3:15: proxy.auth_method: unknown value \"SCRAM-SHA-256\" (expected "
		"scram-sha-256 or md5)",
		"config/enums.toml:4:13: proxy.log_level: unknown value \"verbose\" (expected error, "
		"warn, info or debug)",
		"config/enums.toml:14:11: supabase.sslmode: unknown value \"verify_full\" (expected "
		"disable, prefer, require, verify-ca or verify-full)",
		NULL,
	};
	expect_errors("config/enums.toml", want);
}

static void test_tls_pairs(void **state)
{
	(void)state;
	const char *cert_only[] = {
		"config/tls_cert_only.toml:2:12: proxy.tls_cert is set but proxy.tls_key is not",
		"config/tls_cert_only.toml:3:14: proxy.client_tls = \"require\" needs proxy.tls_cert "
		"and proxy.tls_key",
		NULL,
	};
	expect_errors("config/tls_cert_only.toml", cert_only);
	const char *key_only[] = {
		"config/tls_key_only.toml:2:11: proxy.tls_key is set but proxy.tls_cert is not",
		"config/tls_key_only.toml:2:11: proxy.tls_key: cannot read "
		"\"config/missing-key.pem\": No such file or directory",
		NULL,
	};
	expect_errors("config/tls_key_only.toml", key_only);
	const char *require[] = {
		"config/require_no_cert.toml:2:14: proxy.client_tls = \"require\" needs "
		"proxy.tls_cert and proxy.tls_key",
		NULL,
	};
	expect_errors("config/require_no_cert.toml", require);
}

static void test_upstream_verification(void **state)
{
	(void)state;
	const char *no_root[] = {
		"config/verify_ca_no_root.toml:9:11: supabase.sslmode = \"verify-ca\" needs "
		"supabase.sslrootcert",
		NULL,
	};
	expect_errors("config/verify_ca_no_root.toml", no_root);
	const char *unreadable[] = {
		"config/verify_unreadable.toml:10:15: supabase.sslrootcert: cannot read "
		"\"config/missing-ca.pem\": No such file or directory",
		NULL,
	};
	expect_errors("config/verify_unreadable.toml", unreadable);

	/* a directory is not a certificate file */
	char text[512], err[512];
	snprintf(text, sizeof text,
		 BASE_USERS BASE_SUPABASE "sslmode = \"verify-ca\"\nsslrootcert = \"config\"\n");
	load_text(text, err, sizeof err, NULL);
	assert_string_equal(err, ":9:15: supabase.sslrootcert: \"config\" is not a regular file");
	/* with sslmode = "disable" the root certificate is not used, so not checked */
	snprintf(text, sizeof text,
		 BASE_USERS BASE_SUPABASE "sslmode = \"disable\"\nsslrootcert = \"config/nope\"\n");
	load_text(text, err, sizeof err, NULL);
	assert_string_equal(err, "");
}

static void test_users(void **state)
{
	(void)state;
	const char *want[] = {
		"config/users.toml:7:12: users.password: not a valid SCRAM-SHA-256 verifier (expected "
		"SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>)",
		"config/users.toml:10:8: users.name: \"app\" is already defined at line 2",
		"config/users.toml:13:1: users.name is required",
		"config/users.toml:16:1: users.password is required",
		"config/users.toml:20:8: users.name: must not be empty",
		"config/users.toml:21:12: users.password: must not be empty",
		NULL,
	};
	expect_errors("config/users.toml", want);
}

static void test_required(void **state)
{
	(void)state;
	const char *required[] = {
		"config/required.toml: at least one [[users]] entry is required",
		"config/required.toml:4:1: supabase.host is required",
		"config/required.toml:4:1: supabase.database is required",
		"config/required.toml:4:1: supabase.user is required",
		NULL,
	};
	expect_errors("config/required.toml", required);
	const char *empty[] = {
		"config/empty.toml: missing section [supabase]",
		"config/empty.toml: at least one [[users]] entry is required",
		NULL,
	};
	expect_errors("config/empty.toml", empty);
}

static void test_string_contents(void **state)
{
	(void)state;
	const char *want[] = {
		"config/strings.toml:6:8: supabase.host: must not contain NUL characters",
		"config/strings.toml:7:12: supabase.database: must not contain control characters",
		"config/strings.toml:8:8: supabase.user: longer than 63 bytes",
		NULL,
	};
	expect_errors("config/strings.toml", want);
}

static void test_legacy_tables(void **state)
{
	(void)state;
	const char *want[] = {
		"config/legacy.toml:11:10: legacy.schema: must not be empty",
		"config/legacy.toml:12:36: legacy.tables: \"CUSTOMERS\" is listed twice (names compare "
		"in lower case)",
		"config/legacy.toml:12:49: legacy.tables: \"public.orders\" has a '.': give the bare "
		"table name, the schema is [legacy] schema",
		"config/legacy.toml:12:66: legacy.tables: expected a string, found an integer",
		"config/legacy.toml:12:70: legacy.tables: a name must be 1 to 63 bytes long",
		"config/legacy.toml:12:74: legacy.tables: expected a string, found an array",
		NULL,
	};
	expect_errors("config/legacy.toml", want);

	/* folded to lower case */
	char err[512];
	struct config *cfg;
	load_text(BASE_USERS BASE_SUPABASE "[legacy]\ntables = [\"Customers\", \"PAYMENTS\"]\n", err,
		  sizeof err, &cfg);
	assert_string_equal(err, "");
	assert_string_equal(cfg->legacy.tables[0], "customers");
	assert_string_equal(cfg->legacy.tables[1], "payments");
	config_unref(cfg);
}

static void test_mysql_section(void **state)
{
	(void)state;
	const char *want[] = {
		"config/mysql.toml:10:1: mysql.host is required",
		"config/mysql.toml:10:1: mysql.database is required",
		"config/mysql.toml:10:1: mysql.user is required",
		"config/mysql.toml:11:8: mysql.port: must be between 1 and 65535, not 0",
		"config/mysql.toml:12:13: mysql.pool_size: must be between 1 and 10000, not 0",
		"config/mysql.toml:13:7: mysql.tls = \"verify-full\" needs mysql.ssl_ca",
		"config/mysql.toml:14:21: mysql.require_read_only: expected a boolean, found a string",
		"config/mysql.toml:15:20: mysql.tinyint1_as_bool: expected a boolean, found an integer",
		NULL,
	};
	expect_errors("config/mysql.toml", want);

	/* absent: not configured, no keys required */
	char err[512];
	struct config *cfg;
	load_text(BASE_USERS BASE_SUPABASE, err, sizeof err, &cfg);
	assert_string_equal(err, "");
	assert_false(cfg->mysql.configured);
	config_unref(cfg);

	/* present: defaults for what is not given */
	load_text(BASE_USERS BASE_SUPABASE
		  "[mysql]\nhost = \"legacy\"\ndatabase = \"crm\"\nuser = \"ro\"\n"
		  "tinyint1_as_bool = false\n",
		  err, sizeof err, &cfg);
	assert_string_equal(err, "");
	assert_true(cfg->mysql.configured);
	assert_string_equal(cfg->mysql.host, "legacy");
	assert_int_equal(cfg->mysql.port, 3306);
	assert_string_equal(cfg->mysql.database, "crm");
	assert_string_equal(cfg->mysql.user, "ro");
	assert_string_equal(cfg->mysql.password, "");
	assert_int_equal(cfg->mysql.pool_size, 8);
	assert_int_equal(cfg->mysql.connect_timeout_ms, 5000);
	assert_int_equal(cfg->mysql.tls, CONFIG_MYSQL_TLS_DISABLE);
	assert_string_equal(cfg->mysql.ssl_ca, "");
	assert_true(cfg->mysql.require_read_only);
	assert_false(cfg->mysql.tinyint1_as_bool);
	config_unref(cfg);
}

#define BASE_LEGACY "[legacy]\ntables = [\"customers\", \"subscriptions\", \"payments\"]\n"

static void test_cutover_section(void **state)
{
	(void)state;
	const char *want[] = {
		"config/cutover.toml:11:7: cutover.key: unknown part \"tenant\" (expected user, "
		"application_name or client_addr, separated by commas)",
		"config/cutover.toml:12:39: cutover.groups: \"payments\" is in more than one group",
		"config/cutover.toml:12:51: cutover.groups: \"orders\" is not a legacy table (see "
		"[legacy] tables)",
		"config/cutover.toml:13:18: cutover.shadow_percent: must be between 0 and 100, not 101",
		"config/cutover.toml:14:17: cutover.control_table: \"x; drop\" must be \"table\" or "
		"\"schema.table\" in lower-case letters, digits and _",
		"config/cutover.toml:17:1: cutover.weights: \"orders\" is not a legacy table (see "
		"[legacy] tables)",
		"config/cutover.toml:18:12: cutover.weights.payments: must be an integer from 0 to 100 "
		"(the percent of its reads served by Supabase)",
		"config/cutover.toml:20:18: cutover.rollback.max_error_rate: must be a fraction from 0 "
		"to 1 (0.10 = 10 %)",
		"config/cutover.toml:22:10: admin.listen: \"nowhere\" is not usable: expected "
		"\"host:port\" or \"[ipv6]:port\"",
		NULL,
	};
	expect_errors("config/cutover.toml", want);

	char err[512];
	struct config *cfg;
	/* absent: every table its own group at weight 0, admin off */
	load_text(BASE_USERS BASE_SUPABASE BASE_LEGACY, err, sizeof err, &cfg);
	assert_string_equal(err, "");
	assert_false(cfg->cutover.configured);
	assert_false(cfg->admin.configured);
	assert_int_equal(cfg->cutover.ngroups, 3);
	assert_int_equal(cfg->cutover.key, CONFIG_CUTOVER_KEY_USER | CONFIG_CUTOVER_KEY_APPLICATION);
	for (size_t t = 0; t < 3; t++) {
		assert_int_equal(cfg->cutover.group_of[t], t);
		assert_int_equal(cfg->cutover.groups[t].weight, 0);
		assert_false(cfg->cutover.copied[t]);
	}
	assert_string_equal(cfg->admin.listen_host, "127.0.0.1");
	assert_int_equal(cfg->admin.listen_port, 9930);
	assert_int_equal(cfg->cutover.rollback.max_latency_ms, 5000);
	assert_true(cfg->cutover.rollback.max_error_rate > 0.0999 &&
		    cfg->cutover.rollback.max_error_rate < 0.1001);
	config_unref(cfg);

	/* a group takes the weight one member gives; copied and key parts */
	load_text(BASE_USERS BASE_SUPABASE BASE_LEGACY
		  "[cutover]\nkey = \"client_addr, user\"\n"
		  "groups = [[\"Subscriptions\", \"customers\"]]\ncopied = [\"payments\"]\n"
		  "[cutover.weights]\ncustomers = 30\n"
		  "[cutover.rollback]\nmax_error_rate = 1\nmax_mismatch_rate = 0.5\n"
		  "[admin]\nlisten = \"127.0.0.1:19930\"\ntoken = \"t\"\n",
		  err, sizeof err, &cfg);
	assert_string_equal(err, "");
	assert_true(cfg->cutover.configured);
	assert_true(cfg->admin.configured);
	assert_int_equal(cfg->admin.listen_port, 19930);
	assert_string_equal(cfg->admin.token, "t");
	assert_int_equal(cfg->cutover.key, CONFIG_CUTOVER_KEY_USER | CONFIG_CUTOVER_KEY_ADDR);
	assert_int_equal(cfg->cutover.ngroups, 2);
	assert_string_equal(cfg->cutover.groups[0].name, "subscriptions+customers");
	assert_int_equal(cfg->cutover.groups[0].weight, 30);
	assert_int_equal(cfg->cutover.group_of[0], 0);
	assert_int_equal(cfg->cutover.group_of[1], 0);
	assert_int_equal(cfg->cutover.group_of[2], 1);
	assert_string_equal(cfg->cutover.groups[1].name, "payments");
	assert_int_equal(cfg->cutover.groups[1].weight, 0);
	assert_true(cfg->cutover.copied[2]);
	assert_false(cfg->cutover.copied[0]);
	assert_true(cfg->cutover.rollback.max_error_rate == 1.0);
	config_unref(cfg);

	/* members of a group that disagree */
	load_text(BASE_USERS BASE_SUPABASE BASE_LEGACY
		  "[cutover]\ngroups = [[\"customers\", \"subscriptions\"]]\n"
		  "[cutover.weights]\ncustomers = 30\nsubscriptions = 10\n",
		  err, sizeof err, &cfg);
	assert_string_equal(err, ":14:1: cutover.weights: subscriptions = 10 but customers = 30, "
			    "and both are in the group customers+subscriptions, which moves "
			    "together: give them one weight");
	assert_null(cfg);
}

static void test_file_errors(void **state)
{
	(void)state;
	const char *missing[] = {
		"config/does-not-exist.toml: cannot open: No such file or directory", NULL
	};
	expect_errors("config/does-not-exist.toml", missing);
	const char *dir[] = { "config: cannot read: Is a directory", NULL };
	expect_errors("config", dir);
	/* no errs list: still refused, nothing to report into */
	assert_null(config_load("config/empty.toml", NULL));
	struct config_errors errs = { 0 };
	assert_null(config_load(NULL, &errs));
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.lines[0], "config: no configuration file given");
	config_errors_clear(&errs);
}

/* ---- all errors at once ---- */

static void test_every_error_reported(void **state)
{
	(void)state;
	const char *want[] = {
		"config/many.toml:2:10: proxy.listen: \"localhost\" is not usable: expected "
		"\"host:port\" or \"[ipv6]:port\"",
		"config/many.toml:3:11: proxy.workers: must be between 0 and 1024, not -3",
		"config/many.toml:4:14: proxy.client_tls = \"require\" needs proxy.tls_cert and "
		"proxy.tls_key",
		"config/many.toml:5:1: unknown key \"colour\" in [proxy]",
		"config/many.toml:12:8: users.name: \"app\" is already defined at line 8",
		"config/many.toml:15:1: supabase.database is required",
		"config/many.toml:18:11: supabase.sslmode = \"verify-full\" needs supabase.sslrootcert",
		"config/many.toml:19:13: supabase.pool_size: must be between 1 and 10000, not 0",
		"config/many.toml:22:24: legacy.tables: \"customers\" is listed twice (names compare "
		"in lower case)",
		NULL,
	};
	expect_errors("config/many.toml", want);
}

static void test_errors_accumulate(void **state)
{
	(void)state;
	struct config_errors errs = { 0 };
	config_errors_add(&errs, "f.toml", 3, 7, "first %d", 1);
	config_errors_add(&errs, "f.toml", 0, 0, "no position");
	assert_null(config_load("config/empty.toml", &errs));
	assert_int_equal(errs.n, 4);
	assert_string_equal(errs.lines[0], "f.toml:3:7: first 1");
	assert_string_equal(errs.lines[1], "f.toml: no position");
	assert_string_equal(errs.lines[2], "config/empty.toml: missing section [supabase]");
	config_errors_clear(&errs);
	assert_int_equal(errs.n, 0);
	assert_null(errs.lines);
	config_errors_clear(&errs);
}

static void test_no_secret_in_messages(void **state)
{
	(void)state;
	const char *files[] = { "config/secrets.toml", "config/users.toml", "config/many.toml" };
	const char *secrets[] = { "hunter2", "app-secret", "not-base64", "nameless", "other" };
	for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
		struct config_errors errs = { 0 };
		assert_null(config_load(files[f], &errs));
		assert_true(errs.n > 0);
		for (size_t i = 0; i < errs.n; i++) {
			for (size_t s = 0; s < sizeof secrets / sizeof secrets[0]; s++) {
				if (strstr(errs.lines[i], secrets[s]))
					fail_msg("secret in: %s", errs.lines[i]);
			}
		}
		config_errors_clear(&errs);
	}
	const char *want[] = {
		"config/secrets.toml:3:12: users.password: not a valid SCRAM-SHA-256 verifier "
		"(expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>)",
		"config/secrets.toml:7:12: users.password: must not contain NUL characters",
		"config/secrets.toml:13:12: supabase.password: must not contain NUL characters",
		NULL,
	};
	expect_errors("config/secrets.toml", want);
}

/* A hostile value cannot forge extra lines or escape sequences in a message. */
static void test_echoed_values_escaped(void **state)
{
	(void)state;
	char err[512];
	load_text("[proxy]\nlog_level = \"x\\n\\u001b[31m\\\"\"\n" BASE_USERS BASE_SUPABASE, err,
		  sizeof err, NULL);
	assert_string_equal(err, ":2:13: proxy.log_level: unknown value \"x\\x0a\\x1b[31m\\x22\" "
				 "(expected error, warn, info or debug)");
}

/* ---- lifecycle ---- */

static void *ref_churn(void *arg)
{
	struct config *cfg = arg;
	for (int i = 0; i < 20000; i++)
		config_unref(config_ref(cfg));
	config_unref(cfg); /* the reference main() took for this thread */
	return NULL;
}

static void test_refcount(void **state)
{
	(void)state;
	struct config *cfg = load_ok("config/minimal.toml");
	assert_int_equal(atomic_load(&cfg->refs), 1);
	assert_ptr_equal(config_ref(cfg), cfg);
	assert_int_equal(atomic_load(&cfg->refs), 2);
	config_unref(cfg);
	assert_int_equal(atomic_load(&cfg->refs), 1);

	pthread_t threads[4];
	for (int i = 0; i < 4; i++) {
		config_ref(cfg);
		assert_int_equal(pthread_create(&threads[i], NULL, ref_churn, cfg), 0);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	assert_int_equal(atomic_load(&cfg->refs), 1);
	config_unref(cfg); /* the last one frees; LeakSanitizer checks that it all went */
	assert_null(config_ref(NULL));
	config_unref(NULL);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(config_sslmode_name(CONFIG_SSLMODE_DISABLE), "disable");
	assert_string_equal(config_sslmode_name(CONFIG_SSLMODE_VERIFY_FULL), "verify-full");
	assert_string_equal(config_sslmode_name((enum config_sslmode)99), "?");
	assert_string_equal(config_client_tls_name(CONFIG_CLIENT_TLS_REQUIRE), "require");
	assert_string_equal(config_log_level_name(CONFIG_LOG_DEBUG), "debug");
	assert_string_equal(config_log_level_name((enum config_log_level)-1), "?");
	assert_string_equal(config_pool_mode_name(CONFIG_POOL_TRANSACTION), "transaction");
	assert_string_equal(config_pool_mode_name(CONFIG_POOL_SESSION), "session");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_tls_and_ipv6),
		cmocka_unit_test(test_verifiers_and_workers),
		cmocka_unit_test(test_listen_forms),
		cmocka_unit_test(test_inline_forms),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_unknown_names),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_section_shapes),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_enum_words),
		cmocka_unit_test(test_tls_pairs),
		cmocka_unit_test(test_upstream_verification),
		cmocka_unit_test(test_users),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_string_contents),
		cmocka_unit_test(test_legacy_tables),
		cmocka_unit_test(test_mysql_section),
		cmocka_unit_test(test_cutover_section),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_every_error_reported),
		cmocka_unit_test(test_errors_accumulate),
		cmocka_unit_test(test_no_secret_in_messages),
		cmocka_unit_test(test_echoed_values_escaped),
		cmocka_unit_test(test_refcount),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

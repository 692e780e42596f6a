/*
 * config — loading, validating and reference-counting the configuration
 * snapshot.
 *
 * config_keys[] below is the one description of proxy.toml: every key's
 * section, type, limits, enum words, default and place in struct config.
 * Loading runs in stages that all report into one error list and none of
 * which stops at the first problem: read the file; flatten it with toml++
 * (config_toml.cpp); apply each entry against the schema; check what needs
 * several keys at once (required keys, TLS pairs, duplicate users,
 * verifiers); and only when all that is clean, do the expensive part,
 * deriving SCRAM verifiers from plaintext passwords. A snapshot exists only
 * if no stage found anything. Password values never appear in a message.
 */
#include "proxy/config.h"
#include "router/catalog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "proxy/config_toml.h"

#define CONFIG_MAX_FILE (4 * 1024 * 1024) /* thousands of users with verifiers fit */
#define CONFIG_MAX_WORKERS 1024
#define CONFIG_NAME_MAX 63   /* Postgres' NAMEDATALEN - 1: longer names get truncated there */
#define CONFIG_PATH_MAX 4096
#define CONFIG_QUOTE_MAX 80  /* echoed values are cut here */

/* ---- the schema ---- */

enum config_section_id {
	SEC_PROXY = 0, /* [proxy] */
	SEC_USERS,     /* [[users]], one struct config_user per entry */
	SEC_SUPABASE,  /* [supabase] */
	SEC_LEGACY,    /* [legacy] */
	SEC_MYSQL,     /* [mysql]: its presence turns the MySQL backend on */
	SEC_CUTOVER,   /* [cutover] */
	SEC_WEIGHTS,   /* [cutover.weights]: its keys are legacy table names */
	SEC_ROLLBACK,  /* [cutover.rollback] */
	SEC_ADMIN,     /* [admin]: its presence turns the HTTP endpoint on */
	SEC_VERIFY,    /* [verify]: where `switchyard verify` keeps results, the weight guard */
	SEC_COUNT,
};

struct config_section_def {
	const char *name;
	bool array;    /* written [[name]]: a record per entry */
	bool required; /* the file must have it */
};

static const struct config_section_def config_sections[SEC_COUNT] = {
	[SEC_PROXY] = { "proxy", false, false },
	[SEC_USERS] = { "users", true, true },
	[SEC_SUPABASE] = { "supabase", false, true },
	[SEC_LEGACY] = { "legacy", false, false },
	[SEC_MYSQL] = { "mysql", false, false },
	[SEC_CUTOVER] = { "cutover", false, false },
	[SEC_WEIGHTS] = { "cutover.weights", false, false },
	[SEC_ROLLBACK] = { "cutover.rollback", false, false },
	[SEC_ADMIN] = { "admin", false, false },
	[SEC_VERIFY] = { "verify", false, false },
};

enum config_key_type {
	KEY_STRING = 0, /* char *; min/max bound the length */
	KEY_INT,        /* int; min/max bound the value */
	KEY_PORT,       /* uint16_t, 1..65535 */
	KEY_ENUM,       /* an enum field; the value is one of <words> */
	KEY_LISTEN,     /* "host:port" or "[v6]:port": char * host at offset, uint16_t port at
			   count_offset */
	KEY_NAMES,      /* char ** + count: identifiers, folded to lower case, no repeats */
	KEY_BOOL,       /* bool */
	KEY_RATE,       /* double from 0 to 1 (a float, or the integers 0 and 1) */
	KEY_GROUPS,     /* [cutover] groups: an array of arrays of names, resolved later */
};

struct config_key_def {
	enum config_section_id section;
	const char *name;
	enum config_key_type type;
	size_t offset;             /* in struct config, or in struct config_user for [[users]] */
	size_t count_offset;       /* KEY_NAMES: where the element count goes */
	long long min, max;        /* see enum config_key_type */
	const char *const *words;  /* KEY_ENUM: NULL-terminated, in the enum's order */
	const char *def_str;       /* default for STRING, ENUM, LISTEN */
	long long def_int;         /* default for INT, PORT, BOOL (0/1) */
	double def_rate;           /* default for RATE */
	bool required;             /* no default: the file must set it */
	bool secret;               /* never echoed, may hold any byte but NUL */
};

static const char *const client_tls_words[] = { "disable", "allow", "require", NULL };
static const char *const sslmode_words[] = { "disable", "prefer", "require", "verify-ca",
					     "verify-full", NULL };
static const char *const auth_method_words[] = { "scram-sha-256", "md5", NULL };
static const char *const log_level_words[] = { "error", "warn", "info", "debug", NULL };
static const char *const pool_mode_words[] = { "session", "transaction", NULL };
static const char *const mysql_tls_words[] = { "disable", "require", "verify-ca", "verify-full",
					       NULL };

/* KEY_ENUM stores through an int: every enum it fills must be int-sized. */
_Static_assert(sizeof(enum config_client_tls) == sizeof(int), "enum size");
_Static_assert(sizeof(enum config_sslmode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum config_auth_method) == sizeof(int), "enum size");
_Static_assert(sizeof(enum config_log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(enum config_pool_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum config_mysql_tls) == sizeof(int), "enum size");

#define PX(f) offsetof(struct config, proxy.f)
#define SB(f) offsetof(struct config, supabase.f)
#define LG(f) offsetof(struct config, legacy.f)
#define MY(f) offsetof(struct config, mysql.f)
#define US(f) offsetof(struct config_user, f)
#define CO(f) offsetof(struct config, cutover.f)
#define AD(f) offsetof(struct config, admin.f)
#define VE(f) offsetof(struct config, verify.f)

static const struct config_key_def config_keys[] = {
	{ .section = SEC_PROXY, .name = "listen", .type = KEY_LISTEN, .offset = PX(listen_host),
	  .count_offset = PX(listen_port), .def_str = "127.0.0.1:6432" },
	{ .section = SEC_PROXY, .name = "workers", .type = KEY_INT, .offset = PX(workers),
	  .min = 0, .max = CONFIG_MAX_WORKERS, .def_int = 2 },
	{ .section = SEC_PROXY, .name = "max_client_conn", .type = KEY_INT,
	  .offset = PX(max_client_conn), .min = 1, .max = 1000000, .def_int = 10000 },
	{ .section = SEC_PROXY, .name = "tls_cert", .type = KEY_STRING, .offset = PX(tls_cert),
	  .max = CONFIG_PATH_MAX, .def_str = "" },
	{ .section = SEC_PROXY, .name = "tls_key", .type = KEY_STRING, .offset = PX(tls_key),
	  .max = CONFIG_PATH_MAX, .def_str = "" },
	{ .section = SEC_PROXY, .name = "client_tls", .type = KEY_ENUM, .offset = PX(client_tls),
	  .words = client_tls_words, .def_str = "allow" },
	{ .section = SEC_PROXY, .name = "auth_method", .type = KEY_ENUM, .offset = PX(auth_method),
	  .words = auth_method_words, .def_str = "scram-sha-256" },
	{ .section = SEC_PROXY, .name = "log_level", .type = KEY_ENUM, .offset = PX(log_level),
	  .words = log_level_words, .def_str = "info" },
	{ .section = SEC_PROXY, .name = "pool_mode", .type = KEY_ENUM, .offset = PX(pool_mode),
	  .words = pool_mode_words, .def_str = "session" },
	{ .section = SEC_PROXY, .name = "shutdown_timeout_ms", .type = KEY_INT,
	  .offset = PX(shutdown_timeout_ms), .min = 0, .max = 86400000, .def_int = 30000 },
	{ .section = SEC_PROXY, .name = "pool_timeout_ms", .type = KEY_INT,
	  .offset = PX(pool_timeout_ms), .min = 1, .max = 86400000, .def_int = 10000 },
	{ .section = SEC_PROXY, .name = "login_timeout_ms", .type = KEY_INT,
	  .offset = PX(login_timeout_ms), .min = 1, .max = 86400000, .def_int = 60000 },
	{ .section = SEC_PROXY, .name = "max_message_bytes", .type = KEY_INT,
	  .offset = PX(max_message_bytes), .min = 1024, .max = 1073741824,
	  .def_int = 67108864 },

	{ .section = SEC_USERS, .name = "name", .type = KEY_STRING, .offset = US(name), .min = 1,
	  .max = CONFIG_NAME_MAX, .required = true },
	{ .section = SEC_USERS, .name = "password", .type = KEY_STRING, .offset = US(password),
	  .min = 1, .max = 1024, .required = true, .secret = true },
	{ .section = SEC_USERS, .name = "upstream_user", .type = KEY_STRING,
	  .offset = US(upstream_user), .min = 1, .max = CONFIG_NAME_MAX },
	{ .section = SEC_USERS, .name = "upstream_password", .type = KEY_STRING,
	  .offset = US(upstream_password), .max = 1024, .secret = true },
	{ .section = SEC_USERS, .name = "upstream_role", .type = KEY_STRING,
	  .offset = US(upstream_role), .min = 1, .max = CONFIG_NAME_MAX },
	{ .section = SEC_USERS, .name = "pool_size", .type = KEY_INT, .offset = US(pool_size),
	  .min = 1, .max = 100000 },

	{ .section = SEC_SUPABASE, .name = "host", .type = KEY_STRING, .offset = SB(host),
	  .min = 1, .max = 255, .required = true },
	{ .section = SEC_SUPABASE, .name = "port", .type = KEY_PORT, .offset = SB(port),
	  .min = 1, .max = 65535, .def_int = 5432 },
	{ .section = SEC_SUPABASE, .name = "database", .type = KEY_STRING,
	  .offset = SB(database), .min = 1, .max = CONFIG_NAME_MAX, .required = true },
	{ .section = SEC_SUPABASE, .name = "user", .type = KEY_STRING, .offset = SB(user),
	  .min = 1, .max = CONFIG_NAME_MAX, .required = true },
	{ .section = SEC_SUPABASE, .name = "password", .type = KEY_STRING,
	  .offset = SB(password), .max = 1024, .def_str = "", .secret = true },
	{ .section = SEC_SUPABASE, .name = "sslmode", .type = KEY_ENUM, .offset = SB(sslmode),
	  .words = sslmode_words, .def_str = "prefer" },
	{ .section = SEC_SUPABASE, .name = "sslrootcert", .type = KEY_STRING,
	  .offset = SB(sslrootcert), .max = CONFIG_PATH_MAX, .def_str = "" },
	{ .section = SEC_SUPABASE, .name = "pool_size", .type = KEY_INT, .offset = SB(pool_size),
	  .min = 1, .max = 10000, .def_int = 20 },
	{ .section = SEC_SUPABASE, .name = "connect_timeout_ms", .type = KEY_INT,
	  .offset = SB(connect_timeout_ms), .min = 1, .max = 600000, .def_int = 5000 },

	{ .section = SEC_LEGACY, .name = "schema", .type = KEY_STRING, .offset = LG(schema),
	  .min = 1, .max = CONFIG_NAME_MAX, .def_str = "public" },
	{ .section = SEC_LEGACY, .name = "tables", .type = KEY_NAMES, .offset = LG(tables),
	  .count_offset = LG(ntables) },

	/* Required only when the section is there: without it legacy reads are refused. */
	{ .section = SEC_MYSQL, .name = "host", .type = KEY_STRING, .offset = MY(host),
	  .min = 1, .max = 255, .required = true },
	{ .section = SEC_MYSQL, .name = "port", .type = KEY_PORT, .offset = MY(port),
	  .min = 1, .max = 65535, .def_int = 3306 },
	{ .section = SEC_MYSQL, .name = "database", .type = KEY_STRING, .offset = MY(database),
	  .min = 1, .max = 64, .required = true },
	{ .section = SEC_MYSQL, .name = "user", .type = KEY_STRING, .offset = MY(user),
	  .min = 1, .max = 80, .required = true },
	{ .section = SEC_MYSQL, .name = "password", .type = KEY_STRING, .offset = MY(password),
	  .max = 1024, .def_str = "", .secret = true },
	{ .section = SEC_MYSQL, .name = "pool_size", .type = KEY_INT, .offset = MY(pool_size),
	  .min = 1, .max = 10000, .def_int = 8 },
	{ .section = SEC_MYSQL, .name = "connect_timeout_ms", .type = KEY_INT,
	  .offset = MY(connect_timeout_ms), .min = 1, .max = 600000, .def_int = 5000 },
	{ .section = SEC_MYSQL, .name = "tls", .type = KEY_ENUM, .offset = MY(tls),
	  .words = mysql_tls_words, .def_str = "disable" },
	{ .section = SEC_MYSQL, .name = "ssl_ca", .type = KEY_STRING, .offset = MY(ssl_ca),
	  .max = CONFIG_PATH_MAX, .def_str = "" },
	{ .section = SEC_MYSQL, .name = "require_read_only", .type = KEY_BOOL,
	  .offset = MY(require_read_only), .def_int = 1 },
	{ .section = SEC_MYSQL, .name = "tinyint1_as_bool", .type = KEY_BOOL,
	  .offset = MY(tinyint1_as_bool), .def_int = 1 },

	{ .section = SEC_CUTOVER, .name = "key", .type = KEY_STRING, .offset = CO(key_text),
	  .min = 1, .max = 128, .def_str = "user,application_name" },
	{ .section = SEC_CUTOVER, .name = "groups", .type = KEY_GROUPS },
	{ .section = SEC_CUTOVER, .name = "copied", .type = KEY_NAMES, .offset = CO(copied_names),
	  .count_offset = CO(ncopied_names) },
	{ .section = SEC_CUTOVER, .name = "shadow_percent", .type = KEY_INT,
	  .offset = CO(shadow_percent), .min = 0, .max = 100, .def_int = 0 },
	{ .section = SEC_CUTOVER, .name = "control_table", .type = KEY_STRING,
	  .offset = CO(control_table), .max = 2 * CONFIG_NAME_MAX + 1, .def_str = "" },
	{ .section = SEC_ROLLBACK, .name = "max_latency_ms", .type = KEY_INT,
	  .offset = CO(rollback.max_latency_ms), .min = 1, .max = 3600000, .def_int = 5000 },
	{ .section = SEC_ROLLBACK, .name = "max_error_rate", .type = KEY_RATE,
	  .offset = CO(rollback.max_error_rate), .def_rate = 0.10 },
	{ .section = SEC_ROLLBACK, .name = "max_mismatch_rate", .type = KEY_RATE,
	  .offset = CO(rollback.max_mismatch_rate), .def_rate = 0.0 },
	{ .section = SEC_ROLLBACK, .name = "window_s", .type = KEY_INT,
	  .offset = CO(rollback.window_s), .min = 1, .max = 3600, .def_int = 60 },
	{ .section = SEC_ROLLBACK, .name = "min_samples", .type = KEY_INT,
	  .offset = CO(rollback.min_samples), .min = 1, .max = 100000000, .def_int = 50 },

	{ .section = SEC_ADMIN, .name = "listen", .type = KEY_LISTEN, .offset = AD(listen_host),
	  .count_offset = AD(listen_port), .def_str = "127.0.0.1:9930" },
	{ .section = SEC_ADMIN, .name = "token", .type = KEY_STRING, .offset = AD(token),
	  .max = 1024, .def_str = "", .secret = true },

	{ .section = SEC_VERIFY, .name = "results_file", .type = KEY_STRING,
	  .offset = VE(results_file), .max = CONFIG_PATH_MAX, .def_str = "verify-results.json" },
	{ .section = SEC_VERIFY, .name = "max_age_s", .type = KEY_INT, .offset = VE(max_age_s),
	  .min = 0, .max = 365 * 86400, .def_int = 0 },
};

#define CONFIG_NKEYS (sizeof config_keys / sizeof config_keys[0])

/* ---- load state ---- */

struct pos {
	int line, col; /* 1-based; line 0 means "not in the file" */
};

/* Where one [[users]] entry and its keys were written. */
struct user_pos {
	struct pos at;
	struct pos key[CONFIG_NKEYS];
};

/* An error held back so that all of them can be reported in file order. */
struct pending_error {
	struct pos at;
	size_t seq; /* keeps the order of errors at one position */
	char *msg;
};

struct load {
	const char *file;
	struct pending_error *errors;
	size_t nerrors;
	bool failed; /* set by every error, also one that could not be recorded */
	struct config *cfg;
	struct pos section_at[SEC_COUNT];  /* headers; line 0 = section absent */
	bool section_misshapen[SEC_COUNT]; /* [x] where [[x]] belongs or the reverse */
	struct pos key_at[CONFIG_NKEYS];   /* values in plain sections; line 0 = default */
	struct user_pos *users;            /* parallel to cfg->users */
	/* [cutover] groups and [cutover.weights], resolved once the legacy tables are known. */
	const struct config_toml_value *groups; /* borrowed from the document */
	struct weight_entry {
		char name[CONFIG_NAME_MAX + 1];
		int weight;
		struct pos at;
	} *weights;
	size_t nweights;
};

static const struct pos no_pos = { 0, 0 };

static void load_error(struct load *ld, struct pos at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void load_error(struct load *ld, struct pos at, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ld->failed = true;
	char *copy = strdup(msg);
	struct pending_error *grown =
		copy ? realloc(ld->errors, (ld->nerrors + 1) * sizeof *grown) : NULL;
	if (!grown) {
		free(copy); /* the load fails all the same; flush_errors() says why */
		return;
	}
	ld->errors = grown;
	ld->errors[ld->nerrors] = (struct pending_error){ at, ld->nerrors, copy };
	ld->nerrors++;
}

static int pending_cmp(const void *a, const void *b)
{
	const struct pending_error *x = a, *y = b;
	if (x->at.line != y->at.line)
		return x->at.line < y->at.line ? -1 : 1;
	if (x->at.col != y->at.col)
		return x->at.col < y->at.col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Stages find problems out of file order (cross-key checks come last), so
 * they are sorted: errors without a position first, then by line and column.
 */
static void flush_errors(struct load *ld, struct config_errors *errs)
{
	if (ld->nerrors > 1)
		qsort(ld->errors, ld->nerrors, sizeof *ld->errors, pending_cmp);
	for (size_t i = 0; i < ld->nerrors; i++) {
		config_errors_add(errs, ld->file, ld->errors[i].at.line, ld->errors[i].at.col, "%s",
				  ld->errors[i].msg);
		free(ld->errors[i].msg);
	}
	if (ld->failed && ld->nerrors == 0)
		config_errors_add(errs, ld->file, 0, 0, "out of memory");
	free(ld->errors);
	ld->errors = NULL;
	ld->nerrors = 0;
}

/*
 * <s> in double quotes for a message: control bytes, quotes and
 * backslashes escaped so a hostile value cannot forge a line of output,
 * and cut at CONFIG_QUOTE_MAX bytes.
 */
static const char *quoted(const char *s, size_t len, char buf[CONFIG_QUOTE_MAX + 16])
{
	size_t o = 0;
	buf[o++] = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (o >= CONFIG_QUOTE_MAX) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\')
			o += (size_t)snprintf(buf + o, 5, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* ---- errors ---- */

void config_errors_add(struct config_errors *errs, const char *file, int line, int col,
		       const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	if (!errs)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!file)
		file = "config";
	int n = line > 0 ? snprintf(NULL, 0, "%s:%d:%d: %s", file, line, col, msg)
			 : snprintf(NULL, 0, "%s: %s", file, msg);
	char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
	char **grown = text ? realloc(errs->lines, (errs->n + 1) * sizeof *errs->lines) : NULL;
	if (!grown) {
		free(text); /* out of memory: the caller's load fails all the same */
		return;
	}
	if (line > 0)
		snprintf(text, (size_t)n + 1, "%s:%d:%d: %s", file, line, col, msg);
	else
		snprintf(text, (size_t)n + 1, "%s: %s", file, msg);
	errs->lines = grown;
	errs->lines[errs->n++] = text;
}

void config_errors_clear(struct config_errors *errs)
{
	if (!errs)
		return;
	for (size_t i = 0; i < errs->n; i++)
		free(errs->lines[i]);
	free(errs->lines);
	errs->lines = NULL;
	errs->n = 0;
}

/* ---- names ---- */

static const char *word_of(const char *const *words, size_t n, int value)
{
	return value >= 0 && (size_t)value < n ? words[value] : "?";
}

const char *config_sslmode_name(enum config_sslmode mode)
{
	return word_of(sslmode_words, sizeof sslmode_words / sizeof *sslmode_words - 1, (int)mode);
}

const char *config_client_tls_name(enum config_client_tls mode)
{
	return word_of(client_tls_words, sizeof client_tls_words / sizeof *client_tls_words - 1,
		       (int)mode);
}

const char *config_log_level_name(enum config_log_level level)
{
	return word_of(log_level_words, sizeof log_level_words / sizeof *log_level_words - 1,
		       (int)level);
}

const char *config_pool_mode_name(enum config_pool_mode mode)
{
	return word_of(pool_mode_words, sizeof pool_mode_words / sizeof *pool_mode_words - 1,
		       (int)mode);
}

const char *config_mysql_tls_name(enum config_mysql_tls mode)
{
	return word_of(mysql_tls_words, sizeof mysql_tls_words / sizeof *mysql_tls_words - 1,
		       (int)mode);
}

/* ---- lifecycle ---- */

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void free_secret(char *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

static void config_free(struct config *cfg)
{
	free(cfg->path);
	free(cfg->proxy.listen_host);
	free(cfg->proxy.tls_cert);
	free(cfg->proxy.tls_key);
	for (size_t i = 0; i < cfg->nusers; i++) {
		free(cfg->users[i].name);
		free_secret(cfg->users[i].password);
		OPENSSL_cleanse(&cfg->users[i].verifier, sizeof cfg->users[i].verifier);
		free(cfg->users[i].upstream_user);
		free_secret(cfg->users[i].upstream_password);
		free(cfg->users[i].upstream_role);
	}
	free(cfg->users);
	free(cfg->supabase.host);
	free(cfg->supabase.database);
	free(cfg->supabase.user);
	free_secret(cfg->supabase.password);
	free(cfg->supabase.sslrootcert);
	free(cfg->legacy.schema);
	for (size_t i = 0; i < cfg->legacy.ntables; i++)
		free(cfg->legacy.tables[i]);
	free(cfg->legacy.tables);
	free(cfg->mysql.host);
	free(cfg->mysql.database);
	free(cfg->mysql.user);
	free_secret(cfg->mysql.password);
	free(cfg->mysql.ssl_ca);
	free(cfg->cutover.key_text);
	for (size_t i = 0; i < cfg->cutover.ngroups; i++) {
		free(cfg->cutover.groups[i].name);
		free(cfg->cutover.groups[i].tables);
	}
	free(cfg->cutover.groups);
	free(cfg->cutover.group_of);
	free(cfg->cutover.copied);
	free_names(cfg->cutover.copied_names, cfg->cutover.ncopied_names);
	free(cfg->cutover.control_table);
	free(cfg->admin.listen_host);
	free_secret(cfg->admin.token);
	free(cfg->verify.results_file);
	catalog_free(cfg->catalog);
	free(cfg);
}

int config_legacy_index(const struct config *cfg, const char *name)
{
	for (size_t i = 0; name && i < cfg->legacy.ntables; i++) {
		if (strcmp(cfg->legacy.tables[i], name) == 0)
			return (int)i;
	}
	return -1;
}

struct config *config_ref(struct config *cfg)
{
	if (cfg)
		atomic_fetch_add_explicit(&cfg->refs, 1, memory_order_relaxed);
	return cfg;
}

/* acq_rel: the thread that frees must see every other holder's last use. */
void config_unref(struct config *cfg)
{
	if (cfg && atomic_fetch_sub_explicit(&cfg->refs, 1, memory_order_acq_rel) == 1)
		config_free(cfg);
}

const struct config_user *config_find_user(const struct config *cfg, const char *name)
{
	if (!cfg || !name)
		return NULL;
	for (size_t i = 0; i < cfg->nusers; i++) {
		if (strcmp(cfg->users[i].name, name) == 0)
			return &cfg->users[i];
	}
	return NULL;
}

/* ---- storing one value ---- */

static const char *kind_name(enum config_toml_kind kind)
{
	switch (kind) {
	case CONFIG_TOML_STRING:
		return "a string";
	case CONFIG_TOML_INTEGER:
		return "an integer";
	case CONFIG_TOML_FLOAT:
		return "a float";
	case CONFIG_TOML_BOOLEAN:
		return "a boolean";
	case CONFIG_TOML_DATETIME:
		return "a date/time";
	case CONFIG_TOML_ARRAY:
		return "an array";
	case CONFIG_TOML_TABLE:
		return "a table";
	}
	return "a value";
}

static struct pos value_pos(const struct config_toml_value *v)
{
	struct pos p = { v->line, v->col };
	return p;
}

static bool expect_kind(struct load *ld, const struct config_key_def *k,
			const struct config_toml_value *v, enum config_toml_kind want)
{
	if (v->kind == want)
		return true;
	load_error(ld, value_pos(v), "%s.%s: expected %s, found %s",
		   config_sections[k->section].name, k->name, kind_name(want), kind_name(v->kind));
	return false;
}

static bool has_control(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	}
	return false;
}

/* A string any key may hold: no NUL inside, no control bytes unless secret. */
static bool check_text(struct load *ld, const struct config_key_def *k,
		       const struct config_toml_value *v)
{
	const char *sec = config_sections[k->section].name;
	if (strlen(v->str) != v->len) {
		load_error(ld, value_pos(v), "%s.%s: must not contain NUL characters", sec, k->name);
		return false;
	}
	if (!k->secret && has_control(v->str)) {
		load_error(ld, value_pos(v), "%s.%s: must not contain control characters", sec,
			   k->name);
		return false;
	}
	return true;
}

static void *field(void *base, size_t offset)
{
	return (char *)base + offset;
}

static void set_string(struct load *ld, char **slot, const char *s)
{
	char *copy = strdup(s);
	if (!copy) {
		load_error(ld, no_pos, "out of memory");
		return;
	}
	free(*slot);
	*slot = copy;
}

static void store_string(struct load *ld, const struct config_key_def *k, void *base,
			 const struct config_toml_value *v)
{
	const char *sec = config_sections[k->section].name;
	if (!expect_kind(ld, k, v, CONFIG_TOML_STRING) || !check_text(ld, k, v))
		return;
	if (v->len < (size_t)k->min) {
		load_error(ld, value_pos(v), "%s.%s: must not be empty", sec, k->name);
		return;
	}
	if (v->len > (size_t)k->max) {
		load_error(ld, value_pos(v), "%s.%s: longer than %lld bytes", sec, k->name, k->max);
		return;
	}
	set_string(ld, field(base, k->offset), v->str);
}

static void store_int(struct load *ld, const struct config_key_def *k, void *base,
		      const struct config_toml_value *v)
{
	if (!expect_kind(ld, k, v, CONFIG_TOML_INTEGER))
		return;
	if (v->integer < k->min || v->integer > k->max) {
		load_error(ld, value_pos(v), "%s.%s: must be between %lld and %lld, not %lld",
			   config_sections[k->section].name, k->name, k->min, k->max,
			   (long long)v->integer);
		return;
	}
	if (k->type == KEY_PORT)
		*(uint16_t *)field(base, k->offset) = (uint16_t)v->integer;
	else
		*(int *)field(base, k->offset) = (int)v->integer;
}

/* "a, b or c" for a message. */
static void list_words(const char *const *words, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; words[i] && o < size; i++) {
		const char *sep = i == 0 ? "" : words[i + 1] ? ", " : " or ";
		int n = snprintf(buf + o, size - o, "%s%s", sep, words[i]);
		if (n < 0)
			return;
		o += (size_t)n;
	}
}

static void store_enum(struct load *ld, const struct config_key_def *k, void *base,
		       const struct config_toml_value *v)
{
	char q[CONFIG_QUOTE_MAX + 16], expected[128];
	if (!expect_kind(ld, k, v, CONFIG_TOML_STRING))
		return;
	for (int i = 0; k->words[i]; i++) {
		if (strlen(k->words[i]) == v->len && memcmp(k->words[i], v->str, v->len) == 0) {
			memcpy(field(base, k->offset), &i, sizeof i);
			return;
		}
	}
	list_words(k->words, expected, sizeof expected);
	load_error(ld, value_pos(v), "%s.%s: unknown value %s (expected %s)",
		   config_sections[k->section].name, k->name, quoted(v->str, v->len, q), expected);
}

/* Digits only, 1..65535. */
static bool parse_port(const char *s, uint16_t *port)
{
	long v = 0;
	size_t n = strlen(s);
	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

/*
 * "host:port" or "[v6addr]:port" into *host (malloc'd) and *port; on
 * failure *why says what is wrong. A bare IPv6 address cannot be split from
 * its port reliably, so it must be bracketed.
 */
static bool split_listen(const char *s, char **host, uint16_t *port, const char **why)
{
	const char *colon, *h = s;
	size_t hlen;
	struct in6_addr a6;

	*why = "expected \"host:port\" or \"[ipv6]:port\"";
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return false;
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return false;
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen)) {
			*why = "an IPv6 address needs brackets: \"[addr]:port\"";
			return false;
		}
	}
	if (hlen == 0 || memchr(h, ' ', hlen) || memchr(h, '[', hlen) || memchr(h, ']', hlen)) {
		*why = "the host part is empty or malformed";
		return false;
	}
	if (!parse_port(colon + 1, port)) {
		*why = "the port must be a number from 1 to 65535";
		return false;
	}
	*host = strndup(h, hlen);
	if (!*host) {
		*why = "out of memory";
		return false;
	}
	if (s[0] == '[' && inet_pton(AF_INET6, *host, &a6) != 1) {
		free(*host);
		*host = NULL;
		*why = "the bracketed host is not an IPv6 address";
		return false;
	}
	return true;
}

static void store_listen(struct load *ld, const struct config_key_def *k, void *base,
			 const struct config_toml_value *v)
{
	char q[CONFIG_QUOTE_MAX + 16];
	char *host = NULL;
	uint16_t port = 0;
	const char *why;

	if (!expect_kind(ld, k, v, CONFIG_TOML_STRING) || !check_text(ld, k, v))
		return;
	if (!split_listen(v->str, &host, &port, &why)) {
		load_error(ld, value_pos(v), "%s.%s: %s is not usable: %s",
			   config_sections[k->section].name, k->name, quoted(v->str, v->len, q), why);
		return;
	}
	char **slot = field(base, k->offset);
	free(*slot);
	*slot = host;
	*(uint16_t *)field(base, k->count_offset) = port;
}

/* One legacy table name, folded to lower case as Postgres folds unquoted identifiers. */
static char *checked_name(struct load *ld, const struct config_key_def *k,
			  const struct config_toml_value *v)
{
	const char *sec = config_sections[k->section].name;
	char q[CONFIG_QUOTE_MAX + 16];

	if (!expect_kind(ld, k, v, CONFIG_TOML_STRING) || !check_text(ld, k, v))
		return NULL;
	if (v->len == 0 || v->len > CONFIG_NAME_MAX) {
		load_error(ld, value_pos(v), "%s.%s: a name must be 1 to %d bytes long", sec, k->name,
			   CONFIG_NAME_MAX);
		return NULL;
	}
	if (strchr(v->str, '.')) {
		load_error(ld, value_pos(v), "%s.%s: %s has a '.': give the bare table name, "
			   "the schema is [legacy] schema", sec, k->name, quoted(v->str, v->len, q));
		return NULL;
	}
	char *name = strdup(v->str);
	if (!name) {
		load_error(ld, no_pos, "out of memory");
		return NULL;
	}
	for (char *p = name; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	return name;
}


static void store_names(struct load *ld, const struct config_key_def *k, void *base,
			const struct config_toml_value *v)
{
	char q[CONFIG_QUOTE_MAX + 16];
	size_t n = 0;
	bool ok = true;

	if (!expect_kind(ld, k, v, CONFIG_TOML_ARRAY))
		return;
	char **names = calloc(v->nelems + 1, sizeof *names);
	if (!names) {
		load_error(ld, no_pos, "out of memory");
		return;
	}
	for (size_t i = 0; i < v->nelems; i++) {
		char *name = checked_name(ld, k, &v->elems[i]);
		for (size_t j = 0; name && j < n; j++) {
			if (strcmp(names[j], name) == 0) {
				load_error(ld, value_pos(&v->elems[i]),
					   "%s.%s: %s is listed twice (names compare in lower case)",
					   config_sections[k->section].name, k->name,
					   quoted(v->elems[i].str, v->elems[i].len, q));
				free(name);
				name = NULL;
			}
		}
		if (name)
			names[n++] = name;
		else
			ok = false;
	}
	if (!ok) {
		free_names(names, n);
		return;
	}
	char ***slot = field(base, k->offset);
	size_t *count = field(base, k->count_offset);
	free_names(*slot, *count);
	*slot = names;
	*count = n;
}

static void store_bool(struct load *ld, const struct config_key_def *k, void *base,
		       const struct config_toml_value *v)
{
	if (expect_kind(ld, k, v, CONFIG_TOML_BOOLEAN))
		*(bool *)field(base, k->offset) = v->boolean;
}

static void store_rate(struct load *ld, const struct config_key_def *k, void *base,
		       const struct config_toml_value *v)
{
	double x;

	if (v->kind == CONFIG_TOML_INTEGER && (v->integer == 0 || v->integer == 1))
		x = (double)v->integer;
	else if (expect_kind(ld, k, v, CONFIG_TOML_FLOAT))
		x = v->number;
	else
		return;
	if (!(x >= 0.0 && x <= 1.0)) { /* also NaN */
		load_error(ld, value_pos(v), "%s.%s: must be a fraction from 0 to 1 (0.10 = 10 %%)",
			   config_sections[k->section].name, k->name);
		return;
	}
	*(double *)field(base, k->offset) = x;
}

/* Kept as written: the names are checked against the legacy tables in check_cutover. */
static void store_groups(struct load *ld, const struct config_key_def *k,
			 const struct config_toml_value *v)
{
	if (!expect_kind(ld, k, v, CONFIG_TOML_ARRAY))
		return;
	for (size_t i = 0; i < v->nelems; i++) {
		const struct config_toml_value *g = &v->elems[i];
		if (g->kind != CONFIG_TOML_ARRAY || g->nelems == 0) {
			load_error(ld, value_pos(g), "cutover.groups: each group is a non-empty array "
				   "of table names, e.g. [[\"customers\", \"subscriptions\"]]");
			return;
		}
	}
	ld->groups = v;
}

static void store_value(struct load *ld, const struct config_key_def *k, void *base,
			const struct config_toml_value *v)
{
	switch (k->type) {
	case KEY_RATE:
		store_rate(ld, k, base, v);
		break;
	case KEY_GROUPS:
		if (v->kind != CONFIG_TOML_STRING) /* the default is "none" */
			store_groups(ld, k, v);
		break;
	case KEY_BOOL:
		store_bool(ld, k, base, v);
		break;
	case KEY_STRING:
		store_string(ld, k, base, v);
		break;
	case KEY_INT:
	case KEY_PORT:
		store_int(ld, k, base, v);
		break;
	case KEY_ENUM:
		store_enum(ld, k, base, v);
		break;
	case KEY_LISTEN:
		store_listen(ld, k, base, v);
		break;
	case KEY_NAMES:
		store_names(ld, k, base, v);
		break;
	}
}

/* Defaults go through store_value like file values, so they obey the same limits. */
static void apply_defaults(struct load *ld)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key_def *k = &config_keys[i];
		struct config_toml_value v = { .kind = CONFIG_TOML_STRING };
		if (k->required || config_sections[k->section].array)
			continue;
		if (k->type == KEY_INT || k->type == KEY_PORT) {
			v.kind = CONFIG_TOML_INTEGER;
			v.integer = k->def_int;
		} else if (k->type == KEY_NAMES) {
			v.kind = CONFIG_TOML_ARRAY;
		} else if (k->type == KEY_BOOL) {
			v.kind = CONFIG_TOML_BOOLEAN;
			v.boolean = k->def_int != 0;
		} else if (k->type == KEY_RATE) {
			v.kind = CONFIG_TOML_FLOAT;
			v.number = k->def_rate;
		} else if (k->type == KEY_GROUPS) {
			continue;
		} else {
			v.str = (char *)k->def_str;
			v.len = strlen(k->def_str);
		}
		store_value(ld, k, ld->cfg, &v);
	}
}

/* ---- applying the document ---- */

static int find_section(const char *name)
{
	for (int i = 0; i < SEC_COUNT; i++) {
		if (strcmp(config_sections[i].name, name) == 0)
			return i;
	}
	return -1;
}

static const struct config_key_def *find_key(enum config_section_id sec, const char *name)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		if (config_keys[i].section == sec && strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	}
	return NULL;
}

static size_t key_index(enum config_section_id sec, const char *name)
{
	const struct config_key_def *k = find_key(sec, name);
	return k ? (size_t)(k - config_keys) : 0;
}

/* The record for the <index>-th [[users]] entry, growing the array to reach it. */
static struct config_user *user_record(struct load *ld, int index)
{
	struct config *cfg = ld->cfg;
	size_t need = (size_t)index + 1;
	if (need > cfg->nusers) {
		struct config_user *users = realloc(cfg->users, need * sizeof *users);
		if (users)
			cfg->users = users;
		struct user_pos *pos = realloc(ld->users, need * sizeof *pos);
		if (pos)
			ld->users = pos;
		if (!users || !pos) {
			load_error(ld, no_pos, "out of memory");
			return NULL;
		}
		memset(users + cfg->nusers, 0, (need - cfg->nusers) * sizeof *users);
		memset(pos + cfg->nusers, 0, (need - cfg->nusers) * sizeof *pos);
		cfg->nusers = need;
	}
	return &cfg->users[index];
}

static void top_level_key(struct load *ld, const struct config_toml_entry *e)
{
	char q[CONFIG_QUOTE_MAX + 16];
	struct pos at = { e->line, e->col };
	int sec = find_section(e->key);
	if (sec < 0) {
		load_error(ld, at, "unknown key %s outside any section",
			   quoted(e->key, strlen(e->key), q));
		return;
	}
	ld->section_misshapen[sec] = true;
	if (config_sections[sec].array)
		load_error(ld, at, "%s must be written as [[%s]] tables", e->key, e->key);
	else
		load_error(ld, at, "%s must be a table, written [%s]", e->key, e->key);
}

static void section_header(struct load *ld, enum config_section_id sec, int index, struct pos at)
{
	if (ld->section_at[sec].line == 0)
		ld->section_at[sec] = at;
	if (config_sections[sec].array && user_record(ld, index))
		ld->users[index].at = at;
}

/* A [cutover.weights] key: a legacy table's name, folded like the [legacy] names. */
static void apply_weight(struct load *ld, const struct config_toml_entry *e)
{
	char q[CONFIG_QUOTE_MAX + 16];
	struct pos at = { e->line, e->col };
	const struct config_toml_value *v = &e->value;
	size_t len = strlen(e->key);

	if (len == 0 || len > CONFIG_NAME_MAX || has_control(e->key)) {
		load_error(ld, at, "cutover.weights: %s is not a table name",
			   quoted(e->key, len, q));
		return;
	}
	if (v->kind != CONFIG_TOML_INTEGER || v->integer < 0 || v->integer > 100) {
		load_error(ld, value_pos(v), "cutover.weights.%s: must be an integer from 0 to 100 "
			   "(the percent of its reads served by Supabase)", e->key);
		return;
	}
	struct weight_entry *grown = realloc(ld->weights, (ld->nweights + 1) * sizeof *grown);
	if (!grown) {
		load_error(ld, no_pos, "out of memory");
		return;
	}
	ld->weights = grown;
	struct weight_entry *w = &ld->weights[ld->nweights++];
	for (size_t i = 0; i <= len; i++)
		w->name[i] = (e->key[i] >= 'A' && e->key[i] <= 'Z') ? (char)(e->key[i] - 'A' + 'a')
								   : e->key[i];
	w->weight = (int)v->integer;
	w->at = at;
}

static void apply_key(struct load *ld, enum config_section_id sec,
		      const struct config_toml_entry *e)
{
	char q[CONFIG_QUOTE_MAX + 16];
	struct pos at = { e->line, e->col };
	const struct config_section_def *sd = &config_sections[sec];
	if (sec == SEC_WEIGHTS) {
		apply_weight(ld, e);
		return;
	}
	const struct config_key_def *k = find_key(sec, e->key);

	if (!k) {
		load_error(ld, at, "unknown key %s in %s%s%s", quoted(e->key, strlen(e->key), q),
			   sd->array ? "[[" : "[", sd->name, sd->array ? "]]" : "]");
		return;
	}
	void *base = ld->cfg;
	struct pos *seen = &ld->key_at[k - config_keys];
	if (sd->array) {
		base = user_record(ld, e->index);
		if (!base)
			return;
		seen = &ld->users[e->index].key[k - config_keys];
	}
	*seen = value_pos(&e->value);
	store_value(ld, k, base, &e->value);
}

static void apply_entry(struct load *ld, const struct config_toml_entry *e)
{
	char q[CONFIG_QUOTE_MAX + 16];
	struct pos at = { e->line, e->col };

	if (!e->section) {
		top_level_key(ld, e);
		return;
	}
	int sec = find_section(e->section);
	bool header = e->key == NULL;
	/* Problems with a section are reported once, at its (first) header; its keys are skipped. */
	if (sec < 0) {
		const char *dot = strrchr(e->section, '.');
		char parent[64];
		if (!header || e->index > 0)
			return;
		if (dot && (size_t)(dot - e->section) < sizeof parent) {
			snprintf(parent, sizeof parent, "%.*s", (int)(dot - e->section), e->section);
			if (find_section(parent) >= 0) {
				load_error(ld, at, "unknown key %s in [%s]",
					   quoted(dot + 1, strlen(dot + 1), q), parent);
				return;
			}
		}
		load_error(ld, at, "unknown section %s", quoted(e->section, strlen(e->section), q));
		return;
	}
	const struct config_section_def *sd = &config_sections[sec];
	if (sd->array != (e->index >= 0)) {
		if (header && e->index <= 0) {
			ld->section_misshapen[sec] = true;
			if (sd->array)
				load_error(ld, at, "%s must be written as [[%s]] tables", sd->name, sd->name);
			else
				load_error(ld, at, "%s must be a table, written [%s]", sd->name, sd->name);
		}
		return;
	}
	if (header)
		section_header(ld, sec, e->index, at);
	else
		apply_key(ld, sec, e);
}

/* ---- checks across keys ---- */

static void check_required(struct load *ld)
{
	for (int sec = 0; sec < SEC_COUNT; sec++) {
		const struct config_section_def *sd = &config_sections[sec];
		if (sd->array || ld->section_misshapen[sec])
			continue;
		if (sd->required && ld->section_at[sec].line == 0) {
			load_error(ld, no_pos, "missing section [%s]", sd->name);
			continue;
		}
		/* An optional section's required keys are required only when it is there. */
		if (ld->section_at[sec].line == 0)
			continue;
		for (size_t i = 0; i < CONFIG_NKEYS; i++) {
			const struct config_key_def *k = &config_keys[i];
			if (k->section == (enum config_section_id)sec && k->required &&
			    ld->key_at[i].line == 0)
				load_error(ld, ld->section_at[sec], "%s.%s is required", sd->name, k->name);
		}
	}
	if (ld->cfg->nusers == 0 && !ld->section_misshapen[SEC_USERS])
		load_error(ld, no_pos, "at least one [[users]] entry is required");
	for (size_t u = 0; u < ld->cfg->nusers; u++) {
		for (size_t i = 0; i < CONFIG_NKEYS; i++) {
			const struct config_key_def *k = &config_keys[i];
			if (k->section == SEC_USERS && k->required && ld->users[u].key[i].line == 0)
				load_error(ld, ld->users[u].at, "users.%s is required", k->name);
		}
	}
}

/* A password that is a verifier is parsed here; plaintext ones are derived in finish(). */
static void check_verifiers(struct load *ld)
{
	size_t pw = key_index(SEC_USERS, "password");
	for (size_t u = 0; u < ld->cfg->nusers; u++) {
		struct config_user *user = &ld->cfg->users[u];
		if (!user->password || !scram_is_verifier(user->password))
			continue;
		if (!scram_verifier_parse(user->password, &user->verifier)) {
			load_error(ld, ld->users[u].key[pw],
				   "users.password: not a valid SCRAM-SHA-256 verifier (expected "
				   "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>)");
			continue;
		}
		free_secret(user->password);
		user->password = NULL;
	}
}

/* A login of its own needs both halves; a role needs none of them. */
static void check_upstream_logins(struct load *ld)
{
	size_t uu = key_index(SEC_USERS, "upstream_user"), up = key_index(SEC_USERS, "upstream_password");
	for (size_t u = 0; u < ld->cfg->nusers; u++) {
		const struct config_user *user = &ld->cfg->users[u];
		if (user->upstream_user != NULL && user->upstream_password == NULL)
			load_error(ld, ld->users[u].key[uu],
				   "users.upstream_user needs users.upstream_password (its password on "
				   "Supabase)");
		else if (user->upstream_user == NULL && user->upstream_password != NULL)
			load_error(ld, ld->users[u].key[up],
				   "users.upstream_password without users.upstream_user: whose password "
				   "is it?");
	}
}

/* Each repeat is reported at its own name, pointing back to the first. */
static void check_duplicate_users(struct load *ld)
{
	size_t name = key_index(SEC_USERS, "name");
	char q[CONFIG_QUOTE_MAX + 16];
	const struct config *cfg = ld->cfg;
	for (size_t u = 1; u < cfg->nusers; u++) {
		for (size_t first = 0; cfg->users[u].name && first < u; first++) {
			if (!cfg->users[first].name || strcmp(cfg->users[first].name, cfg->users[u].name))
				continue;
			load_error(ld, ld->users[u].key[name],
				   "users.name: %s is already defined at line %d",
				   quoted(cfg->users[u].name, strlen(cfg->users[u].name), q),
				   ld->users[first].key[name].line);
			break;
		}
	}
}

/* NULL only after running out of memory while applying defaults; treated as unset. */
static bool is_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* O_NONBLOCK so that a FIFO given by mistake cannot hang the load. */
static void check_readable(struct load *ld, const char *what, const char *path, struct pos at)
{
	char q[CONFIG_QUOTE_MAX + 16], err[128];
	struct stat st;
	if (!is_set(path))
		return;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		load_error(ld, at, "%s: cannot read %s: %s", what, quoted(path, strlen(path), q),
			   strerror_r(errno, err, sizeof err));
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		load_error(ld, at, "%s: %s is not a regular file", what,
			   quoted(path, strlen(path), q));
	close(fd);
}

static struct pos pos_of(const struct load *ld, enum config_section_id sec, const char *name)
{
	return ld->key_at[key_index(sec, name)];
}

static void check_tls(struct load *ld)
{
	const struct config *cfg = ld->cfg;
	bool cert = is_set(cfg->proxy.tls_cert), key = is_set(cfg->proxy.tls_key);
	enum config_sslmode mode = cfg->supabase.sslmode;

	if (cert && !key)
		load_error(ld, pos_of(ld, SEC_PROXY, "tls_cert"),
			   "proxy.tls_cert is set but proxy.tls_key is not");
	if (key && !cert)
		load_error(ld, pos_of(ld, SEC_PROXY, "tls_key"),
			   "proxy.tls_key is set but proxy.tls_cert is not");
	if (cfg->proxy.client_tls == CONFIG_CLIENT_TLS_REQUIRE && !(cert && key))
		load_error(ld, pos_of(ld, SEC_PROXY, "client_tls"),
			   "proxy.client_tls = \"require\" needs proxy.tls_cert and proxy.tls_key");
	check_readable(ld, "proxy.tls_cert", cfg->proxy.tls_cert, pos_of(ld, SEC_PROXY, "tls_cert"));
	check_readable(ld, "proxy.tls_key", cfg->proxy.tls_key, pos_of(ld, SEC_PROXY, "tls_key"));

	if ((mode == CONFIG_SSLMODE_VERIFY_CA || mode == CONFIG_SSLMODE_VERIFY_FULL) &&
	    !is_set(cfg->supabase.sslrootcert))
		load_error(ld, pos_of(ld, SEC_SUPABASE, "sslmode"),
			   "supabase.sslmode = \"%s\" needs supabase.sslrootcert",
			   config_sslmode_name(mode));
	if (ld->section_at[SEC_MYSQL].line != 0) {
		enum config_mysql_tls my = cfg->mysql.tls;
		if ((my == CONFIG_MYSQL_TLS_VERIFY_CA || my == CONFIG_MYSQL_TLS_VERIFY_FULL) &&
		    !is_set(cfg->mysql.ssl_ca))
			load_error(ld, pos_of(ld, SEC_MYSQL, "tls"),
				   "mysql.tls = \"%s\" needs mysql.ssl_ca", config_mysql_tls_name(my));
		if (my != CONFIG_MYSQL_TLS_DISABLE)
			check_readable(ld, "mysql.ssl_ca", cfg->mysql.ssl_ca,
				       pos_of(ld, SEC_MYSQL, "ssl_ca"));
	}
	/* Whenever TLS may be used upstream, a root certificate that is set must be readable. */
	if (mode != CONFIG_SSLMODE_DISABLE)
		check_readable(ld, "supabase.sslrootcert", cfg->supabase.sslrootcert,
			       pos_of(ld, SEC_SUPABASE, "sslrootcert"));
}

/* ---- [cutover] across keys ---- */

/* "user, application_name" -> bits; false with a message when a word is unknown. */
static bool parse_cutover_key(struct load *ld, const char *text, unsigned *bits)
{
	static const struct { const char *word; unsigned bit; } words[] = {
		{ "user", CONFIG_CUTOVER_KEY_USER },
		{ "application_name", CONFIG_CUTOVER_KEY_APPLICATION },
		{ "client_addr", CONFIG_CUTOVER_KEY_ADDR },
	};
	struct pos at = pos_of(ld, SEC_CUTOVER, "key");
	char q[CONFIG_QUOTE_MAX + 16];

	*bits = 0;
	for (const char *p = text; *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t n = strcspn(p, ", ");
		if (n == 0)
			break;
		unsigned bit = 0;
		for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
			if (strlen(words[i].word) == n && memcmp(words[i].word, p, n) == 0)
				bit = words[i].bit;
		}
		if (bit == 0) {
			load_error(ld, at, "cutover.key: unknown part %s (expected user, "
				   "application_name or client_addr, separated by commas)",
				   quoted(p, n, q));
			return false;
		}
		*bits |= bit;
		p += n;
	}
	if (*bits == 0) {
		load_error(ld, at, "cutover.key: name at least one of user, application_name, "
			   "client_addr");
		return false;
	}
	return true;
}

/* "schema.table" or "table", plain lower-case identifiers (it is spliced into SQL). */
static bool plain_relation(const char *s)
{
	int dots = 0;
	bool start = true;

	for (; *s; s++) {
		if (*s == '.') {
			if (start || ++dots > 1)
				return false;
			start = true;
			continue;
		}
		bool alpha = (*s >= 'a' && *s <= 'z') || *s == '_';
		if (!alpha && !(!start && *s >= '0' && *s <= '9'))
			return false;
		start = false;
	}
	return !start;
}

/* Appends a group to cfg->cutover; its name joins the tables with "+". */
static struct config_cutover_group *add_group(struct load *ld, const size_t *tables, size_t n)
{
	struct config_cutover *co = &ld->cfg->cutover;
	struct config_cutover_group *g = &co->groups[co->ngroups];
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		len += strlen(ld->cfg->legacy.tables[tables[i]]) + 1;
	g->name = malloc(len + 1);
	g->tables = malloc(n * sizeof *g->tables);
	if (!g->name || !g->tables) {
		free(g->name);
		free(g->tables);
		load_error(ld, no_pos, "out of memory");
		return NULL;
	}
	g->name[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(g->name, "+");
		strcat(g->name, ld->cfg->legacy.tables[tables[i]]);
		g->tables[i] = tables[i];
	}
	g->ntables = n;
	g->weight = -1;
	co->ngroups++;
	return g;
}

/* Reads [cutover] groups into cfg->cutover.groups; group_of[t] set for every member. */
static void resolve_groups(struct load *ld, size_t *tmp)
{
	struct config *cfg = ld->cfg;
	char q[CONFIG_QUOTE_MAX + 16];

	for (size_t gi = 0; ld->groups && gi < ld->groups->nelems; gi++) {
		const struct config_toml_value *g = &ld->groups->elems[gi];
		size_t n = 0;
		bool ok = true;
		for (size_t j = 0; j < g->nelems; j++) {
			const struct config_toml_value *v = &g->elems[j];
			char name[CONFIG_NAME_MAX + 1];
			if (v->kind != CONFIG_TOML_STRING || v->len > CONFIG_NAME_MAX ||
			    strlen(v->str) != v->len) {
				load_error(ld, value_pos(v), "cutover.groups: expected a table name");
				ok = false;
				continue;
			}
			for (size_t c = 0; c <= v->len; c++)
				name[c] = (v->str[c] >= 'A' && v->str[c] <= 'Z')
						  ? (char)(v->str[c] - 'A' + 'a') : v->str[c];
			int t = config_legacy_index(cfg, name);
			if (t < 0) {
				load_error(ld, value_pos(v), "cutover.groups: %s is not a legacy table "
					   "(see [legacy] tables)", quoted(v->str, v->len, q));
				ok = false;
			} else if (cfg->cutover.group_of[t] != SIZE_MAX) {
				load_error(ld, value_pos(v), "cutover.groups: %s is in more than one "
					   "group", quoted(v->str, v->len, q));
				ok = false;
			} else {
				cfg->cutover.group_of[t] = cfg->cutover.ngroups;
				tmp[n++] = (size_t)t;
			}
		}
		if (ok && add_group(ld, tmp, n) == NULL)
			return;
		if (!ok) /* keep group_of consistent with the groups that exist */
			for (size_t j = 0; j < n; j++)
				cfg->cutover.group_of[tmp[j]] = SIZE_MAX;
	}
}

/* Every group's weight from [cutover.weights]; members that disagree are an error. */
static void resolve_weights(struct load *ld)
{
	struct config_cutover *co = &ld->cfg->cutover;
	char q[CONFIG_QUOTE_MAX + 16];
	int *from = calloc(co->ngroups ? co->ngroups : 1, sizeof *from);

	if (!from) {
		load_error(ld, no_pos, "out of memory");
		return;
	}
	for (size_t i = 0; i < ld->nweights; i++) {
		const struct weight_entry *w = &ld->weights[i];
		int t = config_legacy_index(ld->cfg, w->name);
		if (t < 0) {
			load_error(ld, w->at, "cutover.weights: %s is not a legacy table (see "
				   "[legacy] tables)", quoted(w->name, strlen(w->name), q));
			continue;
		}
		if (co->group_of[t] == SIZE_MAX) /* out of memory earlier */
			continue;
		struct config_cutover_group *g = &co->groups[co->group_of[t]];
		if (g->weight >= 0 && g->weight != w->weight) {
			const struct weight_entry *first = &ld->weights[from[co->group_of[t]]];
			load_error(ld, w->at, "cutover.weights: %s = %d but %s = %d, and both are in "
				   "the group %s, which moves together: give them one weight",
				   w->name, w->weight, first->name, first->weight, g->name);
			continue;
		}
		g->weight = w->weight;
		from[co->group_of[t]] = (int)i;
	}
	free(from);
	for (size_t g = 0; g < co->ngroups; g++) {
		if (co->groups[g].weight < 0)
			co->groups[g].weight = 0;
	}
}

static void check_cutover(struct load *ld)
{
	struct config *cfg = ld->cfg;
	struct config_cutover *co = &cfg->cutover;
	size_t n = cfg->legacy.ntables;
	char q[CONFIG_QUOTE_MAX + 16];

	if (n > 64) /* the router's table masks (ROUTE_MAX_TABLES) */
		load_error(ld, pos_of(ld, SEC_LEGACY, "tables"),
			   "legacy.tables: at most 64 tables, not %zu", n);
	co->configured = ld->section_at[SEC_CUTOVER].line != 0 ||
			 ld->section_at[SEC_WEIGHTS].line != 0 ||
			 ld->section_at[SEC_ROLLBACK].line != 0;
	parse_cutover_key(ld, co->key_text, &co->key);
	if (co->control_table[0] != '\0' && !plain_relation(co->control_table))
		load_error(ld, pos_of(ld, SEC_CUTOVER, "control_table"),
			   "cutover.control_table: %s must be \"table\" or \"schema.table\" in "
			   "lower-case letters, digits and _", quoted(co->control_table,
								 strlen(co->control_table), q));
	co->groups = calloc(n ? n : 1, sizeof *co->groups);
	co->group_of = malloc((n ? n : 1) * sizeof *co->group_of);
	co->copied = calloc(n ? n : 1, sizeof *co->copied);
	size_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
	if (!co->groups || !co->group_of || !co->copied || !tmp) {
		free(tmp);
		load_error(ld, no_pos, "out of memory");
		return;
	}
	for (size_t t = 0; t < n; t++)
		co->group_of[t] = SIZE_MAX;
	resolve_groups(ld, tmp);
	for (size_t t = 0; t < n; t++) {
		if (co->group_of[t] != SIZE_MAX)
			continue;
		co->group_of[t] = co->ngroups;
		if (add_group(ld, &t, 1) == NULL)
			break;
	}
	free(tmp);
	for (size_t i = 0; i < co->ncopied_names; i++) {
		int t = config_legacy_index(cfg, co->copied_names[i]);
		if (t < 0)
			load_error(ld, pos_of(ld, SEC_CUTOVER, "copied"),
				   "cutover.copied: %s is not a legacy table (see [legacy] tables)",
				   quoted(co->copied_names[i], strlen(co->copied_names[i]), q));
		else
			co->copied[t] = true;
	}
	resolve_weights(ld);
}

/* The costly part, done only for a configuration with no error at all. */
static void finish(struct load *ld)
{
	struct config *cfg = ld->cfg;
	size_t pw = key_index(SEC_USERS, "password");

	cfg->mysql.configured = ld->section_at[SEC_MYSQL].line != 0;
	cfg->admin.configured = ld->section_at[SEC_ADMIN].line != 0;
	if (cfg->proxy.workers == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		cfg->proxy.workers = cpus < 1 ? 1 : cpus > CONFIG_MAX_WORKERS ? CONFIG_MAX_WORKERS
									       : (int)cpus;
	}
	for (size_t u = 0; u < cfg->nusers; u++) {
		struct config_user *user = &cfg->users[u];
		if (user->password &&
		    !scram_verifier_from_password(user->password, SCRAM_DEFAULT_ITERATIONS,
						  &user->verifier))
			load_error(ld, ld->users[u].key[pw],
				   "users.password: could not derive a SCRAM verifier");
	}
}

/* ---- loading ---- */

static char *read_file(struct load *ld, size_t *len)
{
	char err[128];
	char *buf = NULL;
	size_t cap = 0, n = 0;
	FILE *f = fopen(ld->file, "rb");

	if (!f) {
		load_error(ld, no_pos, "cannot open: %s", strerror_r(errno, err, sizeof err));
		return NULL;
	}
	for (;;) {
		if (n == cap) {
			if (n > CONFIG_MAX_FILE) {
				load_error(ld, no_pos, "larger than %d bytes", CONFIG_MAX_FILE);
				break;
			}
			size_t grow = cap ? cap * 2 : 8192;
			char *bigger = realloc(buf, grow > CONFIG_MAX_FILE ? CONFIG_MAX_FILE + 1 : grow);
			if (!bigger) {
				load_error(ld, no_pos, "out of memory");
				break;
			}
			buf = bigger;
			cap = grow > CONFIG_MAX_FILE ? CONFIG_MAX_FILE + 1 : grow;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (!ld->failed && ferror(f))
		load_error(ld, no_pos, "cannot read: %s", strerror_r(errno, err, sizeof err));
	fclose(f);
	if (ld->failed) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* toml++'s message, with anything unprintable replaced so it stays one line. */
static void report_syntax(struct load *ld, const struct config_toml_doc *doc)
{
	char msg[512];
	struct pos at = { doc->error_line, doc->error_col };
	snprintf(msg, sizeof msg, "%s", doc->error ? doc->error : "out of memory");
	for (char *p = msg; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	load_error(ld, at, "TOML syntax error: %s", msg);
}

static void load_document(struct load *ld, const char *text, size_t len)
{
	struct config_toml_doc doc = { 0 };
	if (!config_toml_parse(text, len, &doc)) {
		report_syntax(ld, &doc);
	} else {
		for (size_t i = 0; i < doc.n; i++)
			apply_entry(ld, &doc.entries[i]);
		check_required(ld);
		check_verifiers(ld);
		check_duplicate_users(ld);
		check_upstream_logins(ld);
		check_tls(ld);
		check_cutover(ld);
		if (!ld->failed)
			finish(ld);
	}
	config_toml_doc_clear(&doc);
}

struct config *config_load(const char *path, struct config_errors *errs)
{
	struct load ld = { .file = path ? path : "config" };
	size_t len = 0;

	ld.cfg = calloc(1, sizeof *ld.cfg);
	if (!ld.cfg) {
		load_error(&ld, no_pos, "out of memory");
		flush_errors(&ld, errs);
		return NULL;
	}
	atomic_init(&ld.cfg->refs, 1);
	ld.cfg->path = strdup(ld.file);
	if (!ld.cfg->path)
		load_error(&ld, no_pos, "out of memory");
	apply_defaults(&ld);
	if (!path)
		load_error(&ld, no_pos, "no configuration file given");
	char *text = path ? read_file(&ld, &len) : NULL;
	if (text) {
		load_document(&ld, text, len);
		OPENSSL_cleanse(text, len); /* it holds passwords */
		free(text);
	}
	free(ld.users);
	free(ld.weights);
	flush_errors(&ld, errs);
	if (ld.failed) {
		config_free(ld.cfg);
		return NULL;
	}
	return ld.cfg;
}

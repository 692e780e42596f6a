/*
 * config — the immutable configuration snapshot.
 *
 * A snapshot is loaded from proxy.toml, validated as a whole (every problem
 * is reported, not just the first), and then never changed: workers hold a
 * reference and swap to a new snapshot on SIGHUP. Loading is split in two:
 * config_toml.cpp walks the TOML document (toml++ is C++), everything else —
 * the key schema, defaults, cross-field checks, the struct — is C here.
 *
 * Return conventions: constructors return a pointer or NULL; actions return
 * bool.
 */
#ifndef SY_CONFIG_H
#define SY_CONFIG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/scram.h"

enum config_client_tls {
	CONFIG_CLIENT_TLS_DISABLE = 0, /* SSLRequest answered 'N' */
	CONFIG_CLIENT_TLS_ALLOW,       /* TLS if the client asks and a cert is set */
	CONFIG_CLIENT_TLS_REQUIRE,     /* plaintext startup refused with 28000 */
};

enum config_sslmode {
	CONFIG_SSLMODE_DISABLE = 0, /* never TLS upstream */
	CONFIG_SSLMODE_PREFER,      /* TLS if the server offers it, no verification */
	CONFIG_SSLMODE_REQUIRE,     /* TLS or fail; verify only if sslrootcert is set (libpq) */
	CONFIG_SSLMODE_VERIFY_CA,   /* TLS, chain checked against sslrootcert */
	CONFIG_SSLMODE_VERIFY_FULL, /* verify-ca plus host name check */
};

enum config_auth_method {
	CONFIG_AUTH_SCRAM = 0, /* SCRAM-SHA-256 for every user */
	CONFIG_AUTH_MD5,       /* md5 for users with a plaintext password, else SCRAM (as Postgres' "md5") */
};

enum config_pool_mode {
	CONFIG_POOL_SESSION = 0,     /* a client keeps its upstream until it leaves */
	CONFIG_POOL_TRANSACTION,     /* a client holds an upstream only inside a transaction */
};

enum config_mysql_tls {
	CONFIG_MYSQL_TLS_DISABLE = 0, /* plaintext */
	CONFIG_MYSQL_TLS_REQUIRE,     /* TLS or fail, certificate not checked */
	CONFIG_MYSQL_TLS_VERIFY_CA,   /* TLS, chain checked against ssl_ca */
	CONFIG_MYSQL_TLS_VERIFY_FULL, /* verify-ca plus host name check */
};

enum config_log_level {
	CONFIG_LOG_ERROR = 0, /* failures only */
	CONFIG_LOG_WARN,      /* plus refusals and recoverable trouble */
	CONFIG_LOG_INFO,      /* plus connection lifecycle */
	CONFIG_LOG_DEBUG,     /* plus protocol detail (never secrets) */
};

/* What identifies a client for the cutover ([cutover] key): any of these. */
enum config_cutover_key {
	CONFIG_CUTOVER_KEY_USER = 1u << 0,        /* the startup packet's user */
	CONFIG_CUTOVER_KEY_APPLICATION = 1u << 1, /* application_name at startup */
	CONFIG_CUTOVER_KEY_ADDR = 1u << 2,        /* the client's IP address (no port) */
};

/* One group of legacy tables that always move together ([cutover] groups). */
struct config_cutover_group {
	char *name;      /* its tables joined with "+", e.g. "customers+subscriptions" */
	size_t *tables;  /* indexes into legacy.tables, in file order */
	size_t ntables;
	int weight;      /* 0..100: percent of the group's reads served by Supabase */
};

/* One entry of [[users]]: who may connect to switchyard. */
struct config_user {
	char *name;
	char *password;                 /* plaintext, or NULL when a verifier was given */
	struct scram_verifier verifier; /* always valid: parsed, or derived from the plaintext */
	/*
	 * Who the client is on Supabase (NULL: unset). upstream_user logs in
	 * with its own password instead of [supabase] user; upstream_role is
	 * the role the session runs as (given at startup, so DISCARD ALL and
	 * RESET ROLE return to it) and that the client cannot leave.
	 */
	char *upstream_user;
	char *upstream_password;
	char *upstream_role;
	int pool_size;                  /* 0: only [supabase] pool_size caps this user */
};

struct config {
	_Atomic int refs;
	char *path; /* file this snapshot was loaded from */

	struct {
		char *listen_host;
		uint16_t listen_port;
		int workers;          /* resolved: 0 in the file means one per CPU */
		int max_client_conn;
		char *tls_cert;       /* "" when unset */
		char *tls_key;
		enum config_client_tls client_tls;
		enum config_auth_method auth_method;
		enum config_log_level log_level;
		enum config_pool_mode pool_mode;
		int shutdown_timeout_ms; /* SIGTERM grace period for sessions to finish */
		int pool_timeout_ms;     /* how long a client waits for an upstream slot */
		int login_timeout_ms;    /* connect to authenticated, else the client is dropped */
		int max_message_bytes;   /* largest client message buffered for inspection */
	} proxy;

	struct config_user *users;
	size_t nusers;

	struct {
		char *host;
		uint16_t port;
		char *database;
		char *user;
		char *password;
		enum config_sslmode sslmode;
		char *sslrootcert; /* "" when unset */
		int pool_size;
		int connect_timeout_ms;
	} supabase;

	struct {
		char *schema;  /* schema clients use for legacy tables */
		char **tables; /* lower-case names as written in the file */
		size_t ntables;
	} legacy;

	/* [mysql]: the legacy MySQL that serves legacy reads. */
	struct config_mysql {
		bool configured;      /* the file has a [mysql] section */
		char *host;
		uint16_t port;
		char *database;       /* where the legacy tables live */
		char *user;
		char *password;
		int pool_size;        /* connections across all workers */
		int connect_timeout_ms;
		enum config_mysql_tls tls;
		char *ssl_ca;         /* "" when unset */
		bool require_read_only; /* refuse to start if the account can write */
		bool tinyint1_as_bool;
	} mysql;

	/*
	 * [cutover]: shifting legacy reads to Supabase copies. Every legacy
	 * table is in exactly one group (a table no group names is a group
	 * of its own), so group_of is total even without the section.
	 */
	struct config_cutover {
		bool configured;         /* the file has a [cutover] section */
		unsigned key;            /* enum config_cutover_key bits, never 0 */
		char *key_text;          /* as written, e.g. "user,application_name" */
		struct config_cutover_group *groups;
		size_t ngroups;
		size_t *group_of;        /* per legacy table: its group */
		bool *copied;            /* per legacy table: a Supabase copy exists at weight 0 */
		char **copied_names;     /* [cutover] copied as written (lower case) */
		size_t ncopied_names;
		int shadow_percent;      /* 0..100 */
		char *control_table;     /* "" when unset, else "schema.table" or "table" */
		struct config_rollback {
			int max_latency_ms;
			double max_error_rate;    /* 0..1 */
			double max_mismatch_rate; /* 0..1 */
			int window_s;
			int min_samples;
		} rollback;
	} cutover;

	/* [admin]: the HTTP endpoint for metrics, status and weights. */
	struct {
		bool configured;   /* the file has an [admin] section: the endpoint runs */
		char *listen_host;
		uint16_t listen_port;
		char *token;       /* "" when unset: only loopback clients may change anything */
	} admin;

	/* [verify]: what `switchyard verify` found, and what raising a weight needs. */
	struct {
		char *results_file;  /* as written; relative to the config file's directory */
		int max_age_s;       /* > 0: a weight above 0 needs a verify this recent */
	} verify;

	/*
	 * The legacy tables as MySQL defines them (router/catalog.h), read at
	 * load time by the MySQL backend; NULL without [mysql]. Owned: freed
	 * with the snapshot.
	 */
	struct legacy_catalog *catalog;
};

/*
 * Problems found while loading: each is one line, already formatted as
 * "file:line:column: message" (or "file: message" when no position applies).
 */
struct config_errors {
	char **lines;
	size_t n;
};

void config_errors_add(struct config_errors *errs, const char *file, int line, int col,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void config_errors_clear(struct config_errors *errs);

/*
 * Loads and validates <path>. Returns a snapshot with one reference owned by
 * the caller, or NULL with every problem appended to <errs>.
 */
struct config *config_load(const char *path, struct config_errors *errs)
	__attribute__((warn_unused_result));

/* Reference counting; safe from any thread. config_unref(NULL) is a no-op. */
struct config *config_ref(struct config *cfg);
void config_unref(struct config *cfg);

/* Finds a user by exact name; borrowed for the snapshot's lifetime. */
const struct config_user *config_find_user(const struct config *cfg, const char *name);

const char *config_sslmode_name(enum config_sslmode mode);
const char *config_client_tls_name(enum config_client_tls mode);
const char *config_log_level_name(enum config_log_level level);
const char *config_pool_mode_name(enum config_pool_mode mode);
const char *config_mysql_tls_name(enum config_mysql_tls mode);

/* The index of legacy table <name> (lower case), or -1. */
int config_legacy_index(const struct config *cfg, const char *name);

#endif

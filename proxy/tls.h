/*
 * tls — OpenSSL contexts for both sides, built from a config snapshot.
 *
 * The client-side context serves switchyard's certificate to clients that
 * send SSLRequest; the upstream context carries the verification policy of
 * [supabase] sslmode. Contexts are reference counted by OpenSSL itself
 * (SSL_CTX_up_ref), so a reload can swap them while old sessions keep theirs.
 */
#ifndef SY_TLS_H
#define SY_TLS_H

#include <stdbool.h>

#include <openssl/ssl.h>

#include "proxy/config.h"

/*
 * Builds the client-side context, or sets *out = NULL when no certificate is
 * configured. Returns false (with a message in err) when files cannot be used.
 */
bool tls_client_ctx_new(const struct config *cfg, SSL_CTX **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Builds the upstream context, or *out = NULL for sslmode = disable. */
bool tls_upstream_ctx_new(const struct config *cfg, SSL_CTX **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * A new SSL for one upstream connection: SNI set to <host> (unless it is an
 * IP literal, as libpq does), and for verify-full the host name (or IP)
 * checked against the certificate. Returns NULL on failure.
 */
SSL *tls_upstream_ssl_new(SSL_CTX *ctx, const char *host, enum config_sslmode mode)
	__attribute__((warn_unused_result));

/* The last OpenSSL error as text (for logs and client messages). */
const char *tls_last_error(char *buf, size_t len);

#endif

/*
 * tls — OpenSSL contexts for clients and for the upstream.
 *
 * Both sides require TLS 1.2 or newer. Upstream verification follows libpq's
 * sslmode semantics: prefer/require encrypt without checking the chain
 * (require does check it when sslrootcert is set, as libpq does),
 * verify-ca checks the chain, verify-full also the host name.
 */
#include "proxy/tls.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

const char *tls_last_error(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, len, "unknown TLS error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/*
 * Settings proxy/conn.c relies on: partial writes and a write buffer that may
 * move between retries (it repeats a blocked SSL_write from its evbuffer), and
 * read-ahead so one read() fetches whole records instead of header then body.
 */
static void tls_tune(SSL_CTX *ctx)
{
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_read_ahead(ctx, 1);
}

bool tls_client_ctx_new(const struct config *cfg, SSL_CTX **out, char *err, size_t errlen)
{
	char ebuf[256];

	*out = NULL;
	if (cfg->proxy.tls_cert[0] == '\0' || cfg->proxy.client_tls == CONFIG_CLIENT_TLS_DISABLE)
		return true;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		snprintf(err, errlen, "TLS context: %s", tls_last_error(ebuf, sizeof(ebuf)));
		return false;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Session tickets and renegotiation buy nothing for long-lived DB connections. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	tls_tune(ctx);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->proxy.tls_cert) != 1) {
		snprintf(err, errlen, "tls_cert %s: %s", cfg->proxy.tls_cert,
			 tls_last_error(ebuf, sizeof(ebuf)));
		SSL_CTX_free(ctx);
		return false;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->proxy.tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "tls_key %s: %s", cfg->proxy.tls_key,
			 tls_last_error(ebuf, sizeof(ebuf)));
		SSL_CTX_free(ctx);
		return false;
	}
	*out = ctx;
	return true;
}

bool tls_upstream_ctx_new(const struct config *cfg, SSL_CTX **out, char *err, size_t errlen)
{
	char ebuf[256];
	enum config_sslmode mode = cfg->supabase.sslmode;
	const char *rootcert = cfg->supabase.sslrootcert;

	*out = NULL;
	if (mode == CONFIG_SSLMODE_DISABLE)
		return true;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		snprintf(err, errlen, "TLS context: %s", tls_last_error(ebuf, sizeof(ebuf)));
		return false;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	tls_tune(ctx);
	bool verify = mode >= CONFIG_SSLMODE_VERIFY_CA ||
		      (mode == CONFIG_SSLMODE_REQUIRE && rootcert[0] != '\0');
	if (verify) {
		int ok = rootcert[0] != '\0' ? SSL_CTX_load_verify_locations(ctx, rootcert, NULL)
					     : SSL_CTX_set_default_verify_paths(ctx);
		if (ok != 1) {
			snprintf(err, errlen, "sslrootcert %s: %s",
				 rootcert[0] ? rootcert : "(system default)",
				 tls_last_error(ebuf, sizeof(ebuf)));
			SSL_CTX_free(ctx);
			return false;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	*out = ctx;
	return true;
}

static bool is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

SSL *tls_upstream_ssl_new(SSL_CTX *ctx, const char *host, enum config_sslmode mode)
{
	SSL *ssl = SSL_new(ctx);
	bool ip = is_ip_literal(host);

	if (ssl == NULL)
		return NULL;
	/* RFC 6066 forbids IP literals in SNI; libpq skips them too. */
	if (!ip && SSL_set_tlsext_host_name(ssl, host) != 1)
		goto fail;
	if (mode == CONFIG_SSLMODE_VERIFY_FULL) {
		X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
		int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host)
			    : X509_VERIFY_PARAM_set1_host(param, host, 0);
		if (ok != 1)
			goto fail;
	}
	return ssl;
fail:
	SSL_free(ssl);
	return NULL;
}

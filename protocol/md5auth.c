/*
 * md5auth — the md5 password response Postgres has accepted since 7.2.
 *
 * This file owns the two-level digest and nothing else; the salt comes from
 * AuthenticationMD5Password and the response goes into PasswordMessage, both
 * handled by callers. MD5 goes through the EVP interface because OpenSSL 3
 * deprecates the MD5_* calls.
 */
#include "protocol/md5auth.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define MD5AUTH_DIGEST_LEN 16
#define MD5AUTH_HEX_LEN 32

/* md5(a || b) as 32 lower-case hex digits and a NUL; false if libcrypto fails. */
static bool md5_hex(const void *a, size_t alen, const void *b, size_t blen,
		    char out[MD5AUTH_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char digest[MD5AUTH_DIGEST_LEN];
	unsigned int dlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
		  EVP_DigestUpdate(ctx, a, alen) == 1 && EVP_DigestUpdate(ctx, b, blen) == 1 &&
		  EVP_DigestFinal_ex(ctx, digest, &dlen) == 1 && dlen == MD5AUTH_DIGEST_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return false;
	for (size_t i = 0; i < MD5AUTH_DIGEST_LEN; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[MD5AUTH_HEX_LEN] = '\0';
	return true;
}

/*
 * On a libcrypto failure (out of memory) <out> is the empty string, which no
 * server accepts and md5auth_check() never matches.
 */
void md5auth_response(const char *user, const char *password, const uint8_t salt[4],
		      char out[MD5AUTH_RESPONSE_LEN + 1])
{
	char inner[MD5AUTH_HEX_LEN + 1];

	out[0] = '\0';
	if (!md5_hex(password, strlen(password), user, strlen(user), inner))
		return;
	memcpy(out, "md5", 3);
	if (!md5_hex(inner, MD5AUTH_HEX_LEN, salt, 4, out + 3))
		out[0] = '\0';
	OPENSSL_cleanse(inner, sizeof inner);
}

bool md5auth_check(const char *user, const char *password, const uint8_t salt[4],
		   const char *response)
{
	char expected[MD5AUTH_RESPONSE_LEN + 1];

	if (!user || !password || !salt || !response)
		return false;
	md5auth_response(user, password, salt, expected);
	bool ok = expected[0] != '\0' &&
		  strnlen(response, MD5AUTH_RESPONSE_LEN + 1) == MD5AUTH_RESPONSE_LEN &&
		  CRYPTO_memcmp(expected, response, MD5AUTH_RESPONSE_LEN) == 0;
	OPENSSL_cleanse(expected, sizeof expected);
	return ok;
}

/*
 * md5auth — Postgres' legacy md5 password scheme, for old drivers and for
 * upstream servers that still ask for it.
 *
 * The wire value is "md5" + hex(md5(hex(md5(password + user)) + salt)).
 */
#ifndef SY_MD5AUTH_H
#define SY_MD5AUTH_H

#include <stdbool.h>
#include <stdint.h>

#define MD5AUTH_RESPONSE_LEN 35 /* "md5" + 32 hex digits */

/*
 * Writes the NUL-terminated response for <user>/<password>/<salt> into out[36];
 * the empty string if libcrypto fails (out of memory), which nothing accepts.
 */
void md5auth_response(const char *user, const char *password, const uint8_t salt[4],
		      char out[MD5AUTH_RESPONSE_LEN + 1]);

/* Constant-time check of a client's response against the expected one. */
bool md5auth_check(const char *user, const char *password, const uint8_t salt[4],
		   const char *response);

#endif

/*
 * test_scram — SCRAM-SHA-256 both ways: the RFC 7677 test vector on each
 * side, round trips between our own server and client, verifiers made by a
 * real PostgreSQL 15, and a catalogue of malformed messages that must be
 * refused without a crash (the sanitizer build checks the "without a crash").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "protocol/scram.h"

/* RFC 7677 section 3. */
#define RFC_PASSWORD "pencil"
#define RFC_CLIENT_NONCE "rOprNGfwEbeRWgbNEkqO"
#define RFC_SERVER_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_NONCE RFC_CLIENT_NONCE RFC_SERVER_NONCE
#define RFC_CLIENT_FIRST "n,,n=user,r=" RFC_CLIENT_NONCE
#define RFC_SERVER_FIRST "r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define RFC_CLIENT_FINAL "c=biws,r=" RFC_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
/* The verifier for the RFC's salt and count, computed independently (Python hashlib). */
#define RFC_VERIFIER                                                                       \
	"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=" \
	":wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="

/* Made by PostgreSQL 15: CREATE ROLE u1 PASSWORD 'pencil' with password_encryption=scram-sha-256. */
#define PG_VERIFIER_PENCIL                                                                 \
	"SCRAM-SHA-256$4096:Za8/dnRwzdHuAidiW7BgDA==$uxBXIcMaseniNoBbBdHgUWpv/PaBHdejMjhW0DbtvPU=" \
	":IuJodeFg68Gw+9kORGL41vn6nZH4CeeDcRoTGwtEn38="
/* Same for CREATE ROLE u2 PASSWORD 'app-secret'. */
#define PG_VERIFIER_APP                                                                    \
	"SCRAM-SHA-256$4096:t2gzi/pyaSL8L1wWWGu7Jg==$hvHhjp1gPL/2yjWj1lCTnnEjkuDM8O/PbNm46lO6R4M=" \
	":YiqV7OYDHS9n3BkUYTcuM1FwVpqVZcCVXJ2nPeCbbH8="

static const uint8_t rfc_salt[16] = { 0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12, 0x35, 0x8e,
				      0xec, 0xa0, 0x4b, 0x14, 0x12, 0x36, 0xfa, 0x81 };

static void rfc_verifier(struct scram_verifier *v)
{
	assert_true(scram_verifier_from_password_salt(RFC_PASSWORD, rfc_salt, sizeof rfc_salt,
						      4096, v));
}

/* A server that has already answered RFC_CLIENT_FIRST with RFC_SERVER_FIRST. */
static struct scram_server *rfc_server_challenged(void)
{
	struct scram_verifier v;
	char *out = NULL;
	rfc_verifier(&v);
	struct scram_server *s = scram_server_new(&v);
	assert_non_null(s);
	scram_server_set_nonce(s, RFC_SERVER_NONCE);
	assert_true(scram_server_handle_first(s, RFC_CLIENT_FIRST, strlen(RFC_CLIENT_FIRST), &out));
	assert_string_equal(out, RFC_SERVER_FIRST);
	free(out);
	return s;
}

/* A client that has sent RFC_CLIENT_FIRST. */
static struct scram_client *rfc_client_started(const char *password)
{
	struct scram_client *c = scram_client_new(password);
	assert_non_null(c);
	scram_client_set_nonce(c, RFC_CLIENT_NONCE);
	scram_client_set_username(c, "user");
	char *first = scram_client_first(c);
	assert_non_null(first);
	assert_string_equal(first, RFC_CLIENT_FIRST);
	free(first);
	return c;
}

/* Runs our client against our server; true if both sides accept. */
static bool exchange(const struct scram_verifier *v, const char *password)
{
	struct scram_server *s = scram_server_new(v);
	struct scram_client *c = scram_client_new(password);
	char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL;
	assert_non_null(s);
	assert_non_null(c);

	m1 = scram_client_first(c);
	assert_non_null(m1);
	assert_true(scram_server_handle_first(s, m1, strlen(m1), &m2));
	assert_true(scram_client_handle_first(c, m2, strlen(m2), &m3));
	bool ok = scram_server_handle_final(s, m3, strlen(m3), &m4);
	if (ok)
		ok = scram_client_verify_final(c, m4, strlen(m4));
	else
		assert_null(m4);
	free(m1);
	free(m2);
	free(m3);
	free(m4);
	scram_server_free(s);
	scram_client_free(c);
	return ok;
}

static void b64(const uint8_t *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/*
 * An independent client proof straight from RFC 5802's formulas, for
 * messages our client never sends (gs2 flag "y").
 */
static void reference_proof(const char *password, const uint8_t *salt, size_t salt_len,
			    const char *auth, char out[64])
{
	uint8_t salted[32], ck[32], sk[32], sig[32], proof[32];
	unsigned int len = 0;
	assert_int_equal(PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len,
					   4096, EVP_sha256(), 32, salted),
			 1);
	assert_non_null(HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Client Key", 10, ck,
			     &len));
	assert_int_equal(EVP_Digest(ck, 32, sk, NULL, EVP_sha256(), NULL), 1);
	assert_non_null(HMAC(EVP_sha256(), sk, 32, (const unsigned char *)auth, strlen(auth), sig,
			     &len));
	for (int i = 0; i < 32; i++)
		proof[i] = ck[i] ^ sig[i];
	b64(proof, 32, out);
}

/* ---- RFC 7677 ---- */

static void test_rfc7677_verifier(void **state)
{
	(void)state;
	struct scram_verifier v;
	rfc_verifier(&v);
	char *text = scram_verifier_format(&v);
	assert_non_null(text);
	assert_string_equal(text, RFC_VERIFIER);
	free(text);
}

static void test_rfc7677_server(void **state)
{
	(void)state;
	char *out = NULL;
	struct scram_server *s = rfc_server_challenged();
	assert_true(scram_server_handle_final(s, RFC_CLIENT_FINAL, strlen(RFC_CLIENT_FINAL), &out));
	assert_string_equal(out, RFC_SERVER_FINAL);
	free(out);
	/* The exchange is over: a replayed final is refused. */
	assert_false(scram_server_handle_final(s, RFC_CLIENT_FINAL, strlen(RFC_CLIENT_FINAL), &out));
	assert_null(out);
	scram_server_free(s);
}

static void test_rfc7677_client(void **state)
{
	(void)state;
	char *out = NULL;
	struct scram_client *c = rfc_client_started(RFC_PASSWORD);
	assert_true(scram_client_handle_first(c, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST), &out));
	assert_string_equal(out, RFC_CLIENT_FINAL);
	free(out);
	assert_true(scram_client_verify_final(c, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)));
	scram_client_free(c);
}

static void test_client_escapes_username(void **state)
{
	(void)state;
	struct scram_client *c = scram_client_new("pw");
	assert_non_null(c);
	scram_client_set_nonce(c, "abc");
	scram_client_set_username(c, "a,b=c");
	char *first = scram_client_first(c);
	assert_string_equal(first, "n,,n=a=2Cb=3Dc,r=abc");
	free(first);
	/* client-first is produced once per exchange */
	assert_null(scram_client_first(c));
	scram_client_free(c);
}

static void test_client_default_first(void **state)
{
	(void)state;
	struct scram_client *c = scram_client_new("pw");
	char *first = scram_client_first(c);
	assert_non_null(first);
	/* libpq's shape: no user name, a 24-character base64 nonce */
	assert_int_equal(strncmp(first, "n,,n=,r=", 8), 0);
	assert_int_equal(strlen(first), 8 + 24);
	free(first);
	scram_client_free(c);
}

/* ---- round trips ---- */

static void test_round_trip(void **state)
{
	(void)state;
	struct scram_verifier v;
	assert_true(scram_verifier_from_password("correct horse", SCRAM_DEFAULT_ITERATIONS, &v));
	assert_int_equal(v.iterations, SCRAM_DEFAULT_ITERATIONS);
	assert_int_equal(v.salt_len, 16);
	assert_true(exchange(&v, "correct horse"));
	assert_true(exchange(&v, "correct horse")); /* fresh nonces, same verifier */
}

static void test_fresh_salts_differ(void **state)
{
	(void)state;
	struct scram_verifier a, b;
	assert_true(scram_verifier_from_password("x", 1, &a));
	assert_true(scram_verifier_from_password("x", 1, &b));
	assert_memory_not_equal(a.salt, b.salt, a.salt_len);
	assert_memory_not_equal(a.stored_key, b.stored_key, SCRAM_KEY_LEN);
}

static void test_wrong_password(void **state)
{
	(void)state;
	struct scram_verifier v;
	assert_true(scram_verifier_from_password("right", 4096, &v));
	assert_false(exchange(&v, "wrong"));
	assert_false(exchange(&v, ""));
	assert_false(exchange(&v, "right ")); /* no trimming, no folding */
	assert_false(exchange(&v, "Right"));
}

static void test_wrong_password_rfc(void **state)
{
	(void)state;
	char *out = NULL;
	struct scram_client *c = rfc_client_started("pencil2");
	struct scram_server *s = rfc_server_challenged();
	assert_true(scram_client_handle_first(c, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST), &out));
	char *final = out;
	out = NULL;
	assert_false(scram_server_handle_final(s, final, strlen(final), &out));
	assert_null(out);
	free(final);
	scram_server_free(s);
	/* a server that does not know the password cannot produce a signature we accept */
	assert_false(scram_client_verify_final(c, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)));
	scram_client_free(c);
}

static void test_server_accepts_y_flag(void **state)
{
	(void)state;
	struct scram_verifier v;
	char *out = NULL, proof[64], auth[512], final[512];
	rfc_verifier(&v);
	struct scram_server *s = scram_server_new(&v);
	scram_server_set_nonce(s, RFC_SERVER_NONCE);
	const char *first = "y,,n=,r=" RFC_CLIENT_NONCE;
	assert_true(scram_server_handle_first(s, first, strlen(first), &out));
	assert_string_equal(out, RFC_SERVER_FIRST);
	free(out);
	snprintf(auth, sizeof auth, "n=,r=%s,%s,c=eSws,r=%s", RFC_CLIENT_NONCE, RFC_SERVER_FIRST,
		 RFC_NONCE);
	reference_proof(RFC_PASSWORD, rfc_salt, sizeof rfc_salt, auth, proof);
	snprintf(final, sizeof final, "c=eSws,r=%s,p=%s", RFC_NONCE, proof);
	assert_true(scram_server_handle_final(s, final, strlen(final), &out));
	assert_int_equal(strncmp(out, "v=", 2), 0);
	free(out);
	scram_server_free(s);
}

static void test_server_skips_extensions(void **state)
{
	(void)state;
	struct scram_verifier v;
	char *out = NULL, proof[64], auth[512], final[512];
	rfc_verifier(&v);
	struct scram_server *s = scram_server_new(&v);
	scram_server_set_nonce(s, RFC_SERVER_NONCE);
	const char *first = "n,,n=someone,r=" RFC_CLIENT_NONCE ",x=ext";
	assert_true(scram_server_handle_first(s, first, strlen(first), &out));
	free(out);
	snprintf(auth, sizeof auth, "%s,%s,c=biws,r=%s,z=9", first + 3, RFC_SERVER_FIRST, RFC_NONCE);
	reference_proof(RFC_PASSWORD, rfc_salt, sizeof rfc_salt, auth, proof);
	snprintf(final, sizeof final, "c=biws,r=%s,z=9,p=%s", RFC_NONCE, proof);
	assert_true(scram_server_handle_final(s, final, strlen(final), &out));
	free(out);
	scram_server_free(s);
}

/* ---- verifiers ---- */

static void test_postgres_verifier_round_trip(void **state)
{
	(void)state;
	const char *texts[] = { PG_VERIFIER_PENCIL, PG_VERIFIER_APP, RFC_VERIFIER };
	const char *passwords[] = { "pencil", "app-secret", "pencil" };
	for (size_t i = 0; i < 3; i++) {
		struct scram_verifier v, again;
		assert_true(scram_is_verifier(texts[i]));
		assert_true(scram_verifier_parse(texts[i], &v));
		assert_int_equal(v.iterations, 4096);
		assert_int_equal(v.salt_len, 16);
		char *text = scram_verifier_format(&v);
		assert_string_equal(text, texts[i]);
		free(text);
		/* our derivation agrees with Postgres' for the same salt */
		assert_true(scram_verifier_from_password_salt(passwords[i], v.salt, v.salt_len,
							      v.iterations, &again));
		assert_memory_equal(v.stored_key, again.stored_key, SCRAM_KEY_LEN);
		assert_memory_equal(v.server_key, again.server_key, SCRAM_KEY_LEN);
		assert_true(exchange(&v, passwords[i]));
		assert_false(exchange(&v, "not it"));
	}
}

#define VS "W22ZaJ0SNY7soEsUEjb6gQ=="
#define VK "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY="
#define VERIFIER(iter, salt, stored, server) "SCRAM-SHA-256$" iter ":" salt "$" stored ":" server

static void test_verifier_parse_rejects(void **state)
{
	(void)state;
	struct scram_verifier v;
	const char *bad[] = {
		"",
		"pencil",
		"md5a3556571e93b0d20722ba62be61e8c2d",
		"SCRAM-SHA-256",
		"SCRAM-SHA-256$",
		"scram-sha-256$4096:" VS "$" VK ":" VK,
		"SCRAM-SHA-1$4096:" VS "$" VK ":" VK,
		VERIFIER("0", VS, VK, VK),
		VERIFIER("-1", VS, VK, VK),
		VERIFIER("+4096", VS, VK, VK),
		VERIFIER(" 4096", VS, VK, VK),
		VERIFIER("4096 ", VS, VK, VK),
		VERIFIER("", VS, VK, VK),
		VERIFIER("2147483648", VS, VK, VK),
		VERIFIER("99999999999", VS, VK, VK),
		VERIFIER("4096", "", VK, VK),
		VERIFIER("4096", "W22ZaJ0SNY7soEsUEjb6gQ=", VK, VK),
		VERIFIER("4096", "W22Z aJ0S", VK, VK),
		VERIFIER("4096", "W22Z=aJ0", VK, VK),
		/* a 66-byte salt: longer than SCRAM_MAX_SALT_LEN */
		VERIFIER("4096",
			 "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB",
			 VK, VK),
		VERIFIER("4096", VS, "WG5d8oPm", VK),
		VERIFIER("4096", VS, VK, ""),
		VERIFIER("4096", VS, VK, "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY"),
		VERIFIER("4096", VS, VK, VK "\n"),
		VERIFIER("4096", VS, VK, "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qYA"), /* 33 bytes */
		VERIFIER("4096", VS, VK, "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4q=="), /* 31 bytes */
		VERIFIER("4096", VS, VK, VK "$extra"),
		VERIFIER("4096", VS, VK, VK ":extra"),
		"SCRAM-SHA-256$4096:" VS ":" VK ":" VK,
		"SCRAM-SHA-256$4096$" VS "$" VK ":" VK,
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (scram_verifier_parse(bad[i], &v))
			fail_msg("accepted: %s", bad[i]);
	}
	assert_false(scram_verifier_parse(NULL, &v));
	/* the well-formed one those were cut from parses */
	assert_true(scram_verifier_parse(VERIFIER("4096", VS, VK, VK), &v));
	assert_true(scram_verifier_parse(VERIFIER("1", VS, VK, VK), &v));
	assert_true(scram_verifier_parse(VERIFIER("2147483647", VS, VK, VK), &v));
}

static void test_verifier_from_password_rejects(void **state)
{
	(void)state;
	struct scram_verifier v;
	uint8_t salt[SCRAM_MAX_SALT_LEN + 1] = { 0 };
	assert_false(scram_verifier_from_password_salt("x", salt, 0, 4096, &v));
	assert_false(scram_verifier_from_password_salt("x", salt, sizeof salt, 4096, &v));
	assert_false(scram_verifier_from_password_salt("x", salt, 16, 0, &v));
	assert_false(scram_verifier_from_password_salt(NULL, salt, 16, 4096, &v));
	assert_false(scram_verifier_from_password("x", -1, &v));
	assert_true(scram_verifier_from_password_salt("", salt, SCRAM_MAX_SALT_LEN, 1, &v));
}

static void test_is_verifier(void **state)
{
	(void)state;
	assert_true(scram_is_verifier("SCRAM-SHA-256$anything"));
	assert_false(scram_is_verifier("SCRAM-SHA-256"));
	assert_false(scram_is_verifier("app-secret"));
	assert_false(scram_is_verifier(""));
	assert_false(scram_is_verifier(NULL));
}

/* ---- malformed input, server side ---- */

static void expect_first_refused(const char *msg, size_t len)
{
	struct scram_verifier v;
	char *out = (char *)"untouched";
	rfc_verifier(&v);
	struct scram_server *s = scram_server_new(&v);
	if (scram_server_handle_first(s, msg, len, &out))
		fail_msg("accepted client-first: %.*s", (int)len, msg);
	assert_null(out);
	/* refused once, refused for good */
	assert_false(scram_server_handle_first(s, RFC_CLIENT_FIRST, strlen(RFC_CLIENT_FIRST), &out));
	scram_server_free(s);
}

static void test_server_rejects_bad_first(void **state)
{
	(void)state;
	const char *bad[] = {
		"",
		"n",
		"n,",
		"n,,",
		"n,,n=",
		"n,,n=,",
		"n,,n=,r=",
		"n,,r=abc",
		"n,,n=,r=abc,",
		"n,,n=,r=abc,1=x",
		"n,,n=,r=abc,x",
		"n,,n=,r=ab c",
		"n,,n=,r=ab\x01",
		"n,,n=,r=ab\x7f",
		"n,,n=,r=ab\xc3\xa9",
		"n,,m=ext,n=,r=abc",
		"n,,n=,x=1,r=abc",
		"n,a=admin,n=,r=abc",
		"p=tls-server-end-point,,n=,r=abc",
		"p,,n=,r=abc",
		"N,,n=,r=abc",
		"y,n=,r=abc",
		"n,,,n=,r=abc",
		" n,,n=,r=abc",
		"n,,n=,r=abc ",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_first_refused(bad[i], strlen(bad[i]));

	/* a NUL hidden inside the length */
	static const char nul[] = "n,,n=,r=ab\0cd";
	expect_first_refused(nul, sizeof nul - 1);
	/* too long to be honest */
	size_t big = 70000;
	char *huge = malloc(big);
	memcpy(huge, "n,,n=,r=", 8);
	memset(huge + 8, 'a', big - 8);
	expect_first_refused(huge, big);
	free(huge);
	expect_first_refused(NULL, 0);
	expect_first_refused(NULL, 5);
}

static void expect_final_refused(const char *msg)
{
	char *out = (char *)"untouched";
	struct scram_server *s = rfc_server_challenged();
	if (scram_server_handle_final(s, msg, strlen(msg), &out))
		fail_msg("accepted client-final: %s", msg);
	assert_null(out);
	/* after a refusal even the right proof is refused */
	assert_false(scram_server_handle_final(s, RFC_CLIENT_FINAL, strlen(RFC_CLIENT_FINAL), &out));
	scram_server_free(s);
}

static void test_server_rejects_bad_final(void **state)
{
	(void)state;
	const char *proof = "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
	char buf[512];
	const char *bad[] = {
		"",
		"c=biws",
		"c=biws,r=" RFC_NONCE,
		"c=biws,r=" RFC_NONCE ",",
		"c=biws,r=" RFC_NONCE ",p=",
		"c=biws,r=" RFC_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ",
		"c=biws,r=" RFC_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ==",
		"c=biws,r=" RFC_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,x=1",
		"c=biws,r=" RFC_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,",
		"c=biws,r=" RFC_NONCE ",p=dHzbZapWIk4jUhN!Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=biws,r=" RFC_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVA=",
		"c=biws,r=" RFC_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=dHzb",
		"c=biws,r=" RFC_CLIENT_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=biws,r=" RFC_NONCE "x,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=eSws,r=" RFC_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=biwsAA==,r=" RFC_NONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"r=" RFC_NONCE ",c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,r=" RFC_NONCE,
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_final_refused(bad[i]);
	snprintf(buf, sizeof buf, "c=biws,r=%s,1=2,%s", RFC_NONCE, proof);
	expect_final_refused(buf);

	/* finals in the wrong order of the exchange */
	struct scram_verifier v;
	char *out = NULL;
	rfc_verifier(&v);
	struct scram_server *s = scram_server_new(&v);
	assert_false(scram_server_handle_final(s, RFC_CLIENT_FINAL, strlen(RFC_CLIENT_FINAL), &out));
	scram_server_free(s);
	assert_null(scram_server_new(NULL));
}

/* ---- malformed input, client side ---- */

static void expect_server_first_refused(const char *msg, size_t len)
{
	char *out = (char *)"untouched";
	struct scram_client *c = rfc_client_started(RFC_PASSWORD);
	if (scram_client_handle_first(c, msg, len, &out))
		fail_msg("accepted server-first: %.*s", (int)len, msg);
	assert_null(out);
	assert_false(scram_client_handle_first(c, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST), &out));
	scram_client_free(c);
}

static void test_client_rejects_bad_server_first(void **state)
{
	(void)state;
	const char *bad[] = {
		"",
		"r=" RFC_NONCE,
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-4096",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=+4096",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000001",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=2147483647",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999999999999",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096x",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,junk",
		"r=" RFC_NONCE ",s=,i=4096",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096",
		"r=" RFC_NONCE ",s=W22ZaJ0SNY7s*EsUEjb6gQ==,i=4096",
		"r=" RFC_NONCE ",i=4096,s=W22ZaJ0SNY7soEsUEjb6gQ==",
		"r=" RFC_CLIENT_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		"r=rOprNGfwEbeRWgbNEkqX%hvYDpWUa2RaTCAfuxFIlj,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		"r=%hvYDpWUa2RaTCAfuxFIlj,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		"r=" RFC_CLIENT_NONCE "ab\x01,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		"m=must,r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		"e=other-error",
		"s=W22ZaJ0SNY7soEsUEjb6gQ==,r=" RFC_NONCE ",i=4096",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_server_first_refused(bad[i], strlen(bad[i]));
	static const char nul[] = "r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096\0";
	expect_server_first_refused(nul, sizeof nul - 1);
	expect_server_first_refused(NULL, 3);

	/* server-first before client-first */
	char *out = NULL;
	struct scram_client *c = scram_client_new("x");
	assert_false(scram_client_handle_first(c, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST), &out));
	scram_client_free(c);
}

static void test_client_accepts_bound_and_extensions(void **state)
{
	(void)state;
	char *out = NULL;
	const char *first = "r=" RFC_NONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1,x=future";
	struct scram_client *c = rfc_client_started(RFC_PASSWORD);
	assert_true(scram_client_handle_first(c, first, strlen(first), &out));
	assert_int_equal(strncmp(out, "c=biws,r=" RFC_NONCE ",p=", 9 + strlen(RFC_NONCE) + 3), 0);
	free(out);
	scram_client_free(c);
}

static void expect_server_final_refused(const char *msg, size_t len)
{
	char *out = NULL;
	struct scram_client *c = rfc_client_started(RFC_PASSWORD);
	assert_true(scram_client_handle_first(c, RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST), &out));
	free(out);
	if (scram_client_verify_final(c, msg, len))
		fail_msg("accepted server-final: %.*s", (int)len, msg);
	assert_false(scram_client_verify_final(c, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)));
	scram_client_free(c);
}

static void test_client_rejects_bad_server_final(void **state)
{
	(void)state;
	const char *bad[] = {
		"",
		"v=",
		"e=invalid-proof",
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=",
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4",
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,x=1",
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4= ",
		"V=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
		"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=6rri",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_server_final_refused(bad[i], strlen(bad[i]));
	expect_server_final_refused(NULL, 0);

	/* final before the proof was sent */
	struct scram_client *c = rfc_client_started(RFC_PASSWORD);
	assert_false(scram_client_verify_final(c, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)));
	scram_client_free(c);
}

/*
 * Random bytes and random mutations of valid messages at every step: the
 * sanitizers turn any out-of-bounds read into a failure. The seed is fixed
 * so a failure reproduces.
 */
static void mutate(char *buf, size_t len, unsigned *seed)
{
	int edits = 1 + rand_r(seed) % 3;
	for (int i = 0; i < edits && len > 0; i++)
		buf[(size_t)rand_r(seed) % len] = (char)(rand_r(seed) % 256);
}

static void test_garbage_does_not_crash(void **state)
{
	(void)state;
	unsigned seed = 7677;
	char buf[256];
	for (int round = 0; round < 300; round++) {
		const char *tmpl[] = { RFC_CLIENT_FIRST, RFC_CLIENT_FINAL, RFC_SERVER_FIRST,
				       RFC_SERVER_FINAL };
		int which = round % 4;
		size_t len = strlen(tmpl[which]);
		memcpy(buf, tmpl[which], len);
		if (round % 8 < 4)
			mutate(buf, len, &seed);
		else
			for (size_t i = 0; i < len; i++)
				buf[i] = (char)(rand_r(&seed) % 256);
		len = (size_t)rand_r(&seed) % (len + 1);
		char *out = NULL;
		if (which == 0) {
			struct scram_verifier v;
			rfc_verifier(&v);
			struct scram_server *s = scram_server_new(&v);
			if (scram_server_handle_first(s, buf, len, &out))
				free(out);
			scram_server_free(s);
		} else if (which == 1) {
			struct scram_server *s = rfc_server_challenged();
			if (scram_server_handle_final(s, buf, len, &out))
				free(out);
			scram_server_free(s);
		} else {
			struct scram_client *c = rfc_client_started(RFC_PASSWORD);
			if (which == 2) {
				if (scram_client_handle_first(c, buf, len, &out))
					free(out);
			} else {
				assert_true(scram_client_handle_first(c, RFC_SERVER_FIRST,
								      strlen(RFC_SERVER_FIRST), &out));
				free(out);
				/* a random signature matching is a 2^-256 event */
				assert_false(scram_client_verify_final(c, buf, len) &&
					     memcmp(buf, RFC_SERVER_FINAL, len) != 0);
			}
			scram_client_free(c);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7677_verifier),
		cmocka_unit_test(test_rfc7677_server),
		cmocka_unit_test(test_rfc7677_client),
		cmocka_unit_test(test_client_escapes_username),
		cmocka_unit_test(test_client_default_first),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_fresh_salts_differ),
		cmocka_unit_test(test_wrong_password),
		cmocka_unit_test(test_wrong_password_rfc),
		cmocka_unit_test(test_server_accepts_y_flag),
		cmocka_unit_test(test_server_skips_extensions),
		cmocka_unit_test(test_postgres_verifier_round_trip),
		cmocka_unit_test(test_verifier_parse_rejects),
		cmocka_unit_test(test_verifier_from_password_rejects),
		cmocka_unit_test(test_is_verifier),
		cmocka_unit_test(test_server_rejects_bad_first),
		cmocka_unit_test(test_server_rejects_bad_final),
		cmocka_unit_test(test_client_rejects_bad_server_first),
		cmocka_unit_test(test_client_accepts_bound_and_extensions),
		cmocka_unit_test(test_client_rejects_bad_server_final),
		cmocka_unit_test(test_garbage_does_not_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

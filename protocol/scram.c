/*
 * scram — SCRAM-SHA-256 exchanges, server side and client side.
 *
 * This file owns the three things an exchange needs and nothing more: the
 * key derivations (PBKDF2, HMAC and SHA-256 from libcrypto), a strict base64
 * codec, and a bounds-checked reader for the "a=value,b=value" grammar of
 * RFC 5802 messages. Every message is treated as hostile: it is read only
 * within (msg, len), a NUL byte anywhere refuses it, and each decoded field
 * is checked for length before it is used. Any refusal moves the exchange
 * to a FAILED state so a confused caller cannot retry its way past a check.
 *
 * Passwords are used as raw bytes. Postgres first applies SASLprep, which is
 * the identity for printable ASCII; a non-ASCII password that SASLprep would
 * change (NFKC, mapped-to-nothing characters) will not interoperate.
 */
#include "protocol/scram.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define SCRAM_PREFIX "SCRAM-SHA-256$"
#define SCRAM_RAW_NONCE_LEN 18    /* what Postgres generates: 24 base64 characters */
#define SCRAM_NONCE_MAX 255       /* longest nonce a test hook may force */
#define SCRAM_DEFAULT_SALT_LEN 16 /* what Postgres generates */
#define SCRAM_MAX_MESSAGE 65535   /* Postgres' PG_MAX_AUTH_TOKEN_LENGTH */
#define SCRAM_B64_KEY_LEN 44      /* base64 of SCRAM_KEY_LEN bytes */

/* A borrowed (pointer, length) view into a message. */
struct scram_span {
	const char *p;
	size_t len;
};

/* ---- small helpers ---- */

/* vsnprintf into a buffer of the right size; NULL on OOM or encoding error. */
static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *str_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static void free_secret(char *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

static bool span_equals(struct scram_span sp, const char *s)
{
	size_t n = strlen(s);
	return sp.len == n && memcmp(sp.p, s, n) == 0;
}

/* RFC 5802 "printable": %x21-7E except ','. */
static bool nonce_ok(const char *p, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch < 0x21 || ch > 0x7e || ch == ',')
			return false;
	}
	return true;
}

/* Digits only (no sign, no blanks), value within [lo, hi]. */
static bool parse_count(const char *s, size_t len, long long lo, long long hi, int *out)
{
	long long v = 0;
	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

/* ---- base64 (RFC 4648, standard alphabet, padded) ---- */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* A macro, not a function, so that it can size arrays without making them VLAs. */
#define B64_LEN(n) (((n) + 2) / 3 * 4)

/* Writes B64_LEN(n) characters and a NUL to <out>. */
static void b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t acc = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			acc |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			acc |= in[i + 2];
		out[o++] = b64_alphabet[(acc >> 18) & 63];
		out[o++] = b64_alphabet[(acc >> 12) & 63];
		out[o++] = i + 1 < n ? b64_alphabet[(acc >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64_alphabet[acc & 63] : '=';
	}
	out[o] = '\0';
}

static int b64_value(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/*
 * Strict decoding: a multiple of four characters from the alphabet, with
 * '=' only as one or two final pad characters, no blanks, and only the one
 * canonical spelling of each value (RFC 4648 3.5). Refuses anything
 * that would decode to more than <cap> bytes. The decoded length goes to *n.
 */
static bool b64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *n)
{
	size_t pad = 0;
	if (len % 4 != 0)
		return false;
	if (len > 0 && in[len - 1] == '=')
		pad = (len > 1 && in[len - 2] == '=') ? 2 : 1;
	size_t need = len / 4 * 3 - pad;
	if (need > cap)
		return false;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t acc = 0;
		for (size_t k = i; k < i + 4; k++) {
			int v = k < len - pad ? b64_value(in[k]) : 0;
			if (v < 0)
				return false;
			acc = acc << 6 | (uint32_t)v;
		}
		/* Canonical form only: the bits padding leaves over must be zero. */
		if (i + 4 == len && (acc & ((1u << (8 * pad)) - 1)) != 0)
			return false;
		for (int shift = 16; shift >= 0 && o < need; shift -= 8)
			out[o++] = (uint8_t)(acc >> shift);
	}
	*n = need;
	return true;
}

/* Decodes a field that must be exactly SCRAM_KEY_LEN bytes. */
static bool b64_decode_key(const char *in, size_t len, uint8_t out[SCRAM_KEY_LEN])
{
	size_t n;
	return b64_decode(in, len, out, SCRAM_KEY_LEN, &n) && n == SCRAM_KEY_LEN;
}

/* ---- crypto ---- */

static bool hmac256(const uint8_t *key, const void *data, size_t len, uint8_t out[SCRAM_KEY_LEN])
{
	unsigned int olen = 0;
	return HMAC(EVP_sha256(), key, SCRAM_KEY_LEN, data, len, out, &olen) != NULL &&
	       olen == SCRAM_KEY_LEN;
}

static bool sha256(const uint8_t *in, size_t len, uint8_t out[SCRAM_KEY_LEN])
{
	return EVP_Digest(in, len, out, NULL, EVP_sha256(), NULL) == 1;
}

static bool salted_password(const char *password, const uint8_t *salt, size_t salt_len,
			    int iterations, uint8_t out[SCRAM_KEY_LEN])
{
	size_t plen = strlen(password);
	if (plen > INT_MAX || salt_len > INT_MAX || iterations < 1)
		return false;
	return PKCS5_PBKDF2_HMAC(password, (int)plen, salt, (int)salt_len, iterations,
				 EVP_sha256(), SCRAM_KEY_LEN, out) == 1;
}

/* RFC 5802 section 3: SaltedPassword -> ClientKey, StoredKey, ServerKey. */
static bool derive_keys(const uint8_t salted[SCRAM_KEY_LEN], uint8_t client_key[SCRAM_KEY_LEN],
			uint8_t stored_key[SCRAM_KEY_LEN], uint8_t server_key[SCRAM_KEY_LEN])
{
	return hmac256(salted, "Client Key", 10, client_key) &&
	       sha256(client_key, SCRAM_KEY_LEN, stored_key) &&
	       hmac256(salted, "Server Key", 10, server_key);
}

/* client-first-message-bare "," server-first-message "," client-final-message-without-proof */
static char *auth_message(struct scram_span first_bare, struct scram_span server_first,
			  struct scram_span final_wo_proof, size_t *len)
{
	*len = first_bare.len + 1 + server_first.len + 1 + final_wo_proof.len;
	char *m = malloc(*len);
	if (!m)
		return NULL;
	char *p = m;
	memcpy(p, first_bare.p, first_bare.len);
	p += first_bare.len;
	*p++ = ',';
	memcpy(p, server_first.p, server_first.len);
	p += server_first.len;
	*p++ = ',';
	memcpy(p, final_wo_proof.p, final_wo_proof.len);
	return m;
}

static struct scram_span span_of(const char *s)
{
	struct scram_span sp = { s, strlen(s) };
	return sp;
}

/* Fills <out> with <forced> if set, else with a fresh random nonce as Postgres makes them. */
static bool make_nonce(const char *forced, char out[SCRAM_NONCE_MAX + 1])
{
	uint8_t raw[SCRAM_RAW_NONCE_LEN];
	if (forced[0] != '\0') {
		snprintf(out, SCRAM_NONCE_MAX + 1, "%s", forced);
		return true;
	}
	if (RAND_bytes(raw, sizeof raw) != 1)
		return false;
	b64_encode(raw, sizeof raw, out);
	return true;
}

/* Test hooks accept only nonces that could appear on the wire. */
static void set_forced_nonce(char dst[SCRAM_NONCE_MAX + 1], const char *nonce)
{
	if (nonce && strlen(nonce) <= SCRAM_NONCE_MAX && nonce_ok(nonce, strlen(nonce)))
		snprintf(dst, SCRAM_NONCE_MAX + 1, "%s", nonce);
}

/* ---- message reader ---- */

/* A reader over one message: it never looks at or past <end>. */
struct scram_cursor {
	const char *p;
	const char *end;
};

static bool cur_at_end(const struct scram_cursor *c)
{
	return c->p == c->end;
}

static bool cur_eat(struct scram_cursor *c, char ch)
{
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

/*
 * Reads "<name>=<value>", the value running to the next ',' or the end; the
 * ',' is left for the caller. <name> 0 accepts any letter: an extension we
 * skip. On failure the cursor does not move. The value is borrowed.
 */
static bool cur_attr(struct scram_cursor *c, char name, struct scram_span *val)
{
	if (c->end - c->p < 2 || c->p[1] != '=')
		return false;
	char got = c->p[0];
	bool letter = (got >= 'a' && got <= 'z') || (got >= 'A' && got <= 'Z');
	if (name != 0 ? got != name : !letter)
		return false;
	const char *v = c->p + 2;
	const char *comma = memchr(v, ',', (size_t)(c->end - v));
	const char *vend = comma ? comma : c->end;
	val->p = v;
	val->len = (size_t)(vend - v);
	c->p = vend;
	return true;
}

/* Skips ",x=value" extensions to the end; false if anything else follows. */
static bool cur_skip_extensions(struct scram_cursor *c)
{
	struct scram_span ignored;
	while (!cur_at_end(c)) {
		if (!cur_eat(c, ',') || !cur_attr(c, 0, &ignored))
			return false;
	}
	return true;
}

/* What every incoming message must satisfy before it is parsed. */
static bool msg_ok(const char *msg, size_t len)
{
	return msg != NULL && len > 0 && len <= SCRAM_MAX_MESSAGE && memchr(msg, '\0', len) == NULL;
}

/* ---- verifiers ---- */

bool scram_is_verifier(const char *text)
{
	return text != NULL && strncmp(text, SCRAM_PREFIX, strlen(SCRAM_PREFIX)) == 0;
}

bool scram_verifier_from_password_salt(const char *password, const uint8_t *salt,
				       size_t salt_len, int iterations,
				       struct scram_verifier *out)
{
	struct scram_verifier v = { 0 };
	uint8_t salted[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN];

	if (!password || !salt || !out || salt_len == 0 || salt_len > SCRAM_MAX_SALT_LEN ||
	    iterations < 1)
		return false;
	bool ok = salted_password(password, salt, salt_len, iterations, salted) &&
		  derive_keys(salted, client_key, v.stored_key, v.server_key);
	OPENSSL_cleanse(salted, sizeof salted);
	OPENSSL_cleanse(client_key, sizeof client_key);
	if (!ok)
		return false;
	v.iterations = iterations;
	memcpy(v.salt, salt, salt_len);
	v.salt_len = salt_len;
	*out = v;
	return true;
}

bool scram_verifier_from_password(const char *password, int iterations,
				  struct scram_verifier *out)
{
	uint8_t salt[SCRAM_DEFAULT_SALT_LEN];
	if (RAND_bytes(salt, sizeof salt) != 1)
		return false;
	return scram_verifier_from_password_salt(password, salt, sizeof salt, iterations, out);
}

/*
 * "SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>". A separator found in
 * the wrong field leaves a stray '$' or ':' in a neighbour, which the digit
 * and base64 checks then refuse, so splitting on the first match is enough.
 */
bool scram_verifier_parse(const char *text, struct scram_verifier *out)
{
	struct scram_verifier v = { 0 };
	if (!out || !scram_is_verifier(text))
		return false;
	const char *iter = text + strlen(SCRAM_PREFIX);
	const char *colon1 = strchr(iter, ':');
	const char *dollar = colon1 ? strchr(colon1 + 1, '$') : NULL;
	const char *colon2 = dollar ? strchr(dollar + 1, ':') : NULL;
	if (!colon2)
		return false;
	const char *salt = colon1 + 1, *stored = dollar + 1, *server = colon2 + 1;
	if (!parse_count(iter, (size_t)(colon1 - iter), 1, INT_MAX, &v.iterations) ||
	    !b64_decode(salt, (size_t)(dollar - salt), v.salt, sizeof v.salt, &v.salt_len) ||
	    v.salt_len == 0 ||
	    !b64_decode_key(stored, (size_t)(colon2 - stored), v.stored_key) ||
	    !b64_decode_key(server, strlen(server), v.server_key))
		return false;
	*out = v;
	return true;
}

char *scram_verifier_format(const struct scram_verifier *v)
{
	char salt[B64_LEN(SCRAM_MAX_SALT_LEN) + 1];
	char stored[SCRAM_B64_KEY_LEN + 1], server[SCRAM_B64_KEY_LEN + 1];

	if (!v || v->iterations < 1 || v->salt_len == 0 || v->salt_len > SCRAM_MAX_SALT_LEN)
		return NULL;
	b64_encode(v->salt, v->salt_len, salt);
	b64_encode(v->stored_key, SCRAM_KEY_LEN, stored);
	b64_encode(v->server_key, SCRAM_KEY_LEN, server);
	return str_printf(SCRAM_PREFIX "%d:%s$%s:%s", v->iterations, salt, stored, server);
}

/* ---- server side ---- */

enum scram_server_state {
	SCRAM_SERVER_ST_START = 0,  /* waiting for client-first-message */
	SCRAM_SERVER_ST_CHALLENGED, /* server-first sent, waiting for client-final */
	SCRAM_SERVER_ST_DONE,       /* proof accepted, server-final produced */
	SCRAM_SERVER_ST_FAILED,     /* something was refused; every later call fails */
};

struct scram_server {
	enum scram_server_state state;
	struct scram_verifier v;
	char cbind_flag;         /* gs2 flag the client sent, 'n' or 'y' */
	char *client_first_bare; /* "n=...,r=..." as received */
	char *server_first;      /* as sent */
	char *nonce;             /* client nonce followed by ours */
	char forced_nonce[SCRAM_NONCE_MAX + 1]; /* test hook; "" means random */
};

/* Also NULL for a verifier no parse or derivation could have produced. */
struct scram_server *scram_server_new(const struct scram_verifier *v)
{
	if (!v || v->iterations < 1 || v->salt_len == 0 || v->salt_len > SCRAM_MAX_SALT_LEN)
		return NULL;
	struct scram_server *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->v = *v;
	return s;
}

void scram_server_free(struct scram_server *s)
{
	if (!s)
		return;
	free(s->client_first_bare);
	free(s->server_first);
	free(s->nonce);
	OPENSSL_cleanse(s, sizeof *s);
	free(s);
}

void scram_server_set_nonce(struct scram_server *s, const char *nonce)
{
	if (s)
		set_forced_nonce(s->forced_nonce, nonce);
}

static bool server_fail(struct scram_server *s)
{
	s->state = SCRAM_SERVER_ST_FAILED;
	return false;
}

/*
 * gs2 header "n,," or "y,," then client-first-message-bare
 * "n=<user>,r=<nonce>[,ext...]". "p=" (channel binding, which we do not
 * advertise) and an authzid are refused by the header match; a leading "m="
 * (mandatory extension) by the n= read. The user name is ignored, as
 * Postgres does: the startup packet already named the role.
 */
static bool parse_client_first(const char *msg, size_t len, char *flag,
			       struct scram_span *bare, struct scram_span *nonce)
{
	struct scram_cursor c = { msg, msg + len };
	struct scram_span user;

	if (cur_eat(&c, 'n'))
		*flag = 'n';
	else if (cur_eat(&c, 'y'))
		*flag = 'y';
	else
		return false;
	if (!cur_eat(&c, ',') || !cur_eat(&c, ','))
		return false;
	bare->p = c.p;
	bare->len = (size_t)(c.end - c.p);
	if (!cur_attr(&c, 'n', &user) || !cur_eat(&c, ',') || !cur_attr(&c, 'r', nonce))
		return false;
	return nonce_ok(nonce->p, nonce->len) && cur_skip_extensions(&c);
}

bool scram_server_handle_first(struct scram_server *s, const char *msg, size_t len, char **out)
{
	struct scram_span bare, cnonce;
	char snonce[SCRAM_NONCE_MAX + 1];
	char salt[B64_LEN(SCRAM_MAX_SALT_LEN) + 1];

	if (!s || !out)
		return false;
	*out = NULL;
	if (s->state != SCRAM_SERVER_ST_START || !msg_ok(msg, len) ||
	    !parse_client_first(msg, len, &s->cbind_flag, &bare, &cnonce) ||
	    !make_nonce(s->forced_nonce, snonce))
		return server_fail(s);
	b64_encode(s->v.salt, s->v.salt_len, salt);
	s->client_first_bare = strndup(bare.p, bare.len);
	s->nonce = str_printf("%.*s%s", (int)cnonce.len, cnonce.p, snonce);
	if (!s->client_first_bare || !s->nonce)
		return server_fail(s);
	s->server_first = str_printf("r=%s,s=%s,i=%d", s->nonce, salt, s->v.iterations);
	*out = s->server_first ? strdup(s->server_first) : NULL;
	if (!*out)
		return server_fail(s);
	s->state = SCRAM_SERVER_ST_CHALLENGED;
	return true;
}

/*
 * "c=<gs2 header, base64>,r=<nonce>[,ext...],p=<proof>". Our gs2 header
 * never has an authzid, so c= is exactly "biws" ("n,,") or "eSws" ("y,,")
 * and must repeat the flag of client-first. *wo_len is the length of the
 * part before ",p=": that is what the AuthMessage signs.
 */
static bool parse_client_final(const struct scram_server *s, const char *msg, size_t len,
			       struct scram_span *proof, size_t *wo_len)
{
	struct scram_cursor c = { msg, msg + len };
	struct scram_span cbind, nonce, ext;

	if (!cur_attr(&c, 'c', &cbind) || !span_equals(cbind, s->cbind_flag == 'y' ? "eSws" : "biws"))
		return false;
	if (!cur_eat(&c, ',') || !cur_attr(&c, 'r', &nonce) || !span_equals(nonce, s->nonce))
		return false;
	for (;;) {
		const char *sep = c.p;
		if (!cur_eat(&c, ','))
			return false; /* ran out before the proof */
		if (cur_attr(&c, 'p', proof)) {
			*wo_len = (size_t)(sep - msg);
			return cur_at_end(&c);
		}
		if (!cur_attr(&c, 0, &ext))
			return false;
	}
}

/* RFC 5802: ClientKey = proof XOR HMAC(StoredKey, AuthMessage); right iff H(ClientKey) = StoredKey. */
static bool proof_matches(const struct scram_verifier *v, const char *auth, size_t auth_len,
			  const uint8_t proof[SCRAM_KEY_LEN])
{
	uint8_t sig[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN], stored[SCRAM_KEY_LEN];
	if (!hmac256(v->stored_key, auth, auth_len, sig))
		return false;
	for (size_t i = 0; i < SCRAM_KEY_LEN; i++)
		client_key[i] = proof[i] ^ sig[i];
	bool ok = sha256(client_key, SCRAM_KEY_LEN, stored) &&
		  CRYPTO_memcmp(stored, v->stored_key, SCRAM_KEY_LEN) == 0;
	OPENSSL_cleanse(client_key, sizeof client_key);
	return ok;
}

/* "v=" base64(HMAC(ServerKey, AuthMessage)) */
static char *server_final(const struct scram_verifier *v, const char *auth, size_t auth_len)
{
	uint8_t sig[SCRAM_KEY_LEN];
	char sig64[SCRAM_B64_KEY_LEN + 1];
	if (!hmac256(v->server_key, auth, auth_len, sig))
		return NULL;
	b64_encode(sig, sizeof sig, sig64);
	return str_printf("v=%s", sig64);
}

bool scram_server_handle_final(struct scram_server *s, const char *msg, size_t len, char **out)
{
	struct scram_span proof64;
	uint8_t proof[SCRAM_KEY_LEN];
	size_t wo_len, auth_len;

	if (!s || !out)
		return false;
	*out = NULL;
	if (s->state != SCRAM_SERVER_ST_CHALLENGED || !msg_ok(msg, len) ||
	    !parse_client_final(s, msg, len, &proof64, &wo_len) ||
	    !b64_decode_key(proof64.p, proof64.len, proof))
		return server_fail(s);
	struct scram_span wo = { msg, wo_len };
	char *auth = auth_message(span_of(s->client_first_bare), span_of(s->server_first), wo,
				  &auth_len);
	if (!auth)
		return server_fail(s);
	if (proof_matches(&s->v, auth, auth_len, proof))
		*out = server_final(&s->v, auth, auth_len);
	free(auth);
	if (!*out)
		return server_fail(s);
	s->state = SCRAM_SERVER_ST_DONE;
	return true;
}

/* ---- client side ---- */

enum scram_client_state {
	SCRAM_CLIENT_ST_START = 0,  /* client-first not produced yet */
	SCRAM_CLIENT_ST_SENT_FIRST, /* waiting for server-first */
	SCRAM_CLIENT_ST_SENT_FINAL, /* proof sent, waiting for server-final */
	SCRAM_CLIENT_ST_DONE,       /* server signature verified */
	SCRAM_CLIENT_ST_FAILED,     /* something was refused; every later call fails */
};

struct scram_client {
	enum scram_client_state state;
	char *password;
	char *username;                   /* saslname-escaped; NULL sends "n=" */
	char nonce[SCRAM_NONCE_MAX + 1];  /* ours; forced by the test hook or random */
	char *client_first_bare;
	uint8_t server_signature[SCRAM_KEY_LEN]; /* what server-final must carry */
};

struct scram_client *scram_client_new(const char *password)
{
	if (!password)
		return NULL;
	struct scram_client *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->password = strdup(password);
	if (!c->password) {
		free(c);
		return NULL;
	}
	return c;
}

void scram_client_free(struct scram_client *c)
{
	if (!c)
		return;
	free_secret(c->password);
	free(c->username);
	free(c->client_first_bare);
	OPENSSL_cleanse(c, sizeof *c);
	free(c);
}

void scram_client_set_nonce(struct scram_client *c, const char *nonce)
{
	if (c)
		set_forced_nonce(c->nonce, nonce);
}

/* saslname (RFC 5802 5.1): ',' and '=' travel as "=2C" and "=3D". */
void scram_client_set_username(struct scram_client *c, const char *username)
{
	if (!c || !username)
		return;
	size_t n = strlen(username), extra = 0;
	for (size_t i = 0; i < n; i++)
		extra += (username[i] == ',' || username[i] == '=') ? 2 : 0;
	char *esc = malloc(n + extra + 1), *p = esc;
	if (!esc)
		return;
	for (size_t i = 0; i < n; i++) {
		if (username[i] == ',' || username[i] == '=') {
			memcpy(p, username[i] == ',' ? "=2C" : "=3D", 3);
			p += 3;
		} else {
			*p++ = username[i];
		}
	}
	*p = '\0';
	free(c->username);
	c->username = esc;
}

static bool client_fail(struct scram_client *c)
{
	c->state = SCRAM_CLIENT_ST_FAILED;
	return false;
}

char *scram_client_first(struct scram_client *c)
{
	if (!c || c->state != SCRAM_CLIENT_ST_START)
		return NULL;
	if (c->nonce[0] == '\0' && !make_nonce("", c->nonce)) {
		client_fail(c);
		return NULL;
	}
	c->client_first_bare = str_printf("n=%s,r=%s", c->username ? c->username : "", c->nonce);
	char *msg = c->client_first_bare ? str_printf("n,,%s", c->client_first_bare) : NULL;
	if (!msg) {
		client_fail(c);
		return NULL;
	}
	c->state = SCRAM_CLIENT_ST_SENT_FIRST;
	return msg;
}

/*
 * "r=<nonce>,s=<salt>,i=<count>[,ext...]"; a leading "m=" (mandatory
 * extension) fails the r= read. The server must extend our nonce with one
 * of its own: accepting a bare echo would let it replay an old exchange.
 */
static bool parse_server_first(const struct scram_client *c, const char *msg, size_t len,
			       struct scram_span *nonce, struct scram_span *salt, int *iterations)
{
	struct scram_cursor cur = { msg, msg + len };
	struct scram_span iter;
	size_t ours = strlen(c->nonce);

	if (!cur_attr(&cur, 'r', nonce) || !cur_eat(&cur, ',') || !cur_attr(&cur, 's', salt) ||
	    !cur_eat(&cur, ',') || !cur_attr(&cur, 'i', &iter))
		return false;
	if (nonce->len <= ours || memcmp(nonce->p, c->nonce, ours) != 0 ||
	    !nonce_ok(nonce->p, nonce->len))
		return false;
	return parse_count(iter.p, iter.len, 1, SCRAM_MAX_ITERATIONS, iterations) &&
	       cur_skip_extensions(&cur);
}

/*
 * Computes the proof for <auth> and remembers the ServerSignature that
 * server-final must carry. All intermediate keys are wiped.
 */
static bool client_prove(struct scram_client *c, const uint8_t *salt, size_t salt_len,
			 int iterations, const char *auth, size_t auth_len,
			 uint8_t proof[SCRAM_KEY_LEN])
{
	uint8_t salted[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN];
	uint8_t stored_key[SCRAM_KEY_LEN], server_key[SCRAM_KEY_LEN], sig[SCRAM_KEY_LEN];

	bool ok = salted_password(c->password, salt, salt_len, iterations, salted) &&
		  derive_keys(salted, client_key, stored_key, server_key) &&
		  hmac256(stored_key, auth, auth_len, sig) &&
		  hmac256(server_key, auth, auth_len, c->server_signature);
	for (size_t i = 0; ok && i < SCRAM_KEY_LEN; i++)
		proof[i] = client_key[i] ^ sig[i];
	OPENSSL_cleanse(salted, sizeof salted);
	OPENSSL_cleanse(client_key, sizeof client_key);
	OPENSSL_cleanse(stored_key, sizeof stored_key);
	OPENSSL_cleanse(server_key, sizeof server_key);
	return ok;
}

/* Builds "c=biws,r=<nonce>,p=<proof>" once the server-first fields are checked. */
static char *client_final(struct scram_client *c, const char *msg, size_t len,
			  struct scram_span nonce, const uint8_t *salt, size_t salt_len,
			  int iterations)
{
	uint8_t proof[SCRAM_KEY_LEN];
	char proof64[SCRAM_B64_KEY_LEN + 1];
	size_t auth_len;
	char *out = NULL;

	char *wo = str_printf("c=biws,r=%.*s", (int)nonce.len, nonce.p);
	struct scram_span server_first = { msg, len };
	char *auth = wo ? auth_message(span_of(c->client_first_bare), server_first, span_of(wo),
				       &auth_len)
			: NULL;
	if (auth && client_prove(c, salt, salt_len, iterations, auth, auth_len, proof)) {
		b64_encode(proof, sizeof proof, proof64);
		out = str_printf("%s,p=%s", wo, proof64);
	}
	free(wo);
	free(auth);
	return out;
}

bool scram_client_handle_first(struct scram_client *c, const char *msg, size_t len, char **out)
{
	struct scram_span nonce, salt64;
	int iterations;
	size_t salt_len;

	if (!c || !out)
		return false;
	*out = NULL;
	if (c->state != SCRAM_CLIENT_ST_SENT_FIRST || !msg_ok(msg, len) ||
	    !parse_server_first(c, msg, len, &nonce, &salt64, &iterations))
		return client_fail(c);
	uint8_t *salt = malloc(salt64.len / 4 * 3 + 1);
	if (!salt)
		return client_fail(c);
	if (b64_decode(salt64.p, salt64.len, salt, salt64.len / 4 * 3, &salt_len) && salt_len > 0)
		*out = client_final(c, msg, len, nonce, salt, salt_len, iterations);
	free(salt);
	if (!*out)
		return client_fail(c);
	c->state = SCRAM_CLIENT_ST_SENT_FINAL;
	return true;
}

/* Exactly "v=<ServerSignature>", as libpq insists; "e=<error>" is a refusal. */
bool scram_client_verify_final(struct scram_client *c, const char *msg, size_t len)
{
	struct scram_cursor cur;
	struct scram_span v;
	uint8_t sig[SCRAM_KEY_LEN];

	if (!c)
		return false;
	bool ok = c->state == SCRAM_CLIENT_ST_SENT_FINAL && msg_ok(msg, len);
	cur.p = msg;
	cur.end = ok ? msg + len : msg;
	ok = ok && cur_attr(&cur, 'v', &v) && cur_at_end(&cur) && b64_decode_key(v.p, v.len, sig) &&
		  CRYPTO_memcmp(sig, c->server_signature, SCRAM_KEY_LEN) == 0;
	c->state = ok ? SCRAM_CLIENT_ST_DONE : SCRAM_CLIENT_ST_FAILED;
	return ok;
}

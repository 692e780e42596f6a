/*
 * session_auth — the authentication exchange with a client.
 *
 * Messages in this phase are small; anything over AUTH_MAX_BODY is a protocol
 * violation, refused before it is buffered. After a successful exchange the
 * database name is checked (after, as Postgres does, so an unauthenticated
 * client learns nothing) and the pool is asked for an upstream.
 */
#include "proxy/session_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "protocol/md5auth.h"
#include "protocol/scram.h"
#include "proxy/conn.h"
#include "proxy/log.h"
#include "proxy/session.h"
#include "proxy/worker.h"

#define AUTH_MAX_BODY 16384
#define SCRAM_MECH "SCRAM-SHA-256"

enum auth_step {
	AUTH_STEP_SASL_FIRST = 0, /* waiting for SASLInitialResponse */
	AUTH_STEP_SASL_FINAL,     /* waiting for the client-final-message */
	AUTH_STEP_MD5,            /* waiting for the md5 PasswordMessage */
};

static void auth_failed(struct session *s)
{
	char msg[160];

	log_warn(s->w->id, s->id, "authentication failed", "user=%s addr=%s known=%d", s->log_user,
		 s->addr, s->user_known);
	snprintf(msg, sizeof(msg), "password authentication failed for user \"%.80s\"", session_user(s));
	session_fatal(s, "28P01", msg, NULL);
}

static void auth_succeeded(struct session *s)
{
	const struct config *cfg = s->w->cfg;

	if (strcmp(session_database(s), cfg->supabase.database) != 0) {
		char msg[160];
		snprintf(msg, sizeof(msg), "database \"%.100s\" does not exist", session_database(s));
		session_fatal(s, "3D000", msg, "switchyard serves only the database named in [supabase] database.");
		return;
	}
	struct pgmsg_writer *out = worker_writer(s->w);
	pgmsg_write_auth(out, PGMSG_AUTH_OK, NULL, 0);
	if (!session_send_built(s)) {
		session_close(s, "out of memory");
		return;
	}
	scram_server_free(s->scram);
	s->scram = NULL;
	session_authenticated(s);
}

/*
 * What an unknown user is challenged with. Like Postgres' mock authentication,
 * it must look like a real user's: the usual iteration count, and a salt that
 * is the same for the same name every time (derived from the name with a
 * per-process secret) yet unrelated across names. The keys are random: the
 * exchange fails at the end whatever the client proves.
 */
static bool mock_verifier(const struct session *s, struct scram_verifier *v)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	const uint8_t *secret = s->w->proxy->mock_secret;
	const char *user = session_user(s);

	memset(v, 0, sizeof(*v));
	v->iterations = SCRAM_DEFAULT_ITERATIONS;
	if (HMAC(EVP_sha256(), secret, 32, (const unsigned char *)user, strlen(user), mac,
		 &maclen) == NULL || maclen < 16)
		return false;
	v->salt_len = 16;
	memcpy(v->salt, mac, v->salt_len);
	return RAND_bytes(v->stored_key, SCRAM_KEY_LEN) == 1 &&
	       RAND_bytes(v->server_key, SCRAM_KEY_LEN) == 1;
}

static bool use_md5(const struct session *s, const struct config_user *u)
{
	if (s->w->cfg->proxy.auth_method != CONFIG_AUTH_MD5)
		return false;
	/* Postgres' "md5" method falls back to SCRAM for users stored as SCRAM. */
	return u == NULL || u->password != NULL;
}

void session_auth_start(struct session *s)
{
	const struct config_user *u = config_find_user(s->w->cfg, session_user(s));
	struct pgmsg_writer *out = worker_writer(s->w);

	s->user_known = u != NULL;
	if (use_md5(s, u)) {
		if (RAND_bytes(s->md5_salt, sizeof(s->md5_salt)) != 1) {
			session_fatal(s, "58000", "could not generate an authentication salt", NULL);
			return;
		}
		s->auth_step = AUTH_STEP_MD5;
		pgmsg_write_auth(out, PGMSG_AUTH_MD5, s->md5_salt, sizeof(s->md5_salt));
	} else {
		struct scram_verifier mock;
		if (u == NULL && !mock_verifier(s, &mock)) {
			session_fatal(s, "58000", "could not generate an authentication salt", NULL);
			return;
		}
		s->scram = scram_server_new(u ? &u->verifier : &mock);
		if (s->scram == NULL) {
			session_close(s, "out of memory");
			return;
		}
		s->auth_step = AUTH_STEP_SASL_FIRST;
		static const char mechs[] = SCRAM_MECH "\0"; /* list ends with an empty name */
		pgmsg_write_auth(out, PGMSG_AUTH_SASL, mechs, sizeof(mechs));
	}
	if (!session_send_built(s))
		session_close(s, "out of memory");
}

static void sasl_first(struct session *s, const uint8_t *body, size_t len)
{
	const char *mech;
	const uint8_t *data;
	size_t dlen;
	char *reply = NULL;

	if (!pgmsg_parse_sasl_initial(body, len, &mech, &data, &dlen)) {
		session_fatal(s, "08P01", "malformed SASLInitialResponse message", NULL);
		return;
	}
	if (strcmp(mech, SCRAM_MECH) != 0) {
		session_fatal(s, "28000", "client selected an invalid SASL authentication mechanism",
			      NULL);
		return;
	}
	if (!scram_server_handle_first(s->scram, (const char *)data, dlen, &reply)) {
		session_fatal(s, "08P01", "malformed SCRAM message", NULL);
		return;
	}
	struct pgmsg_writer *out = worker_writer(s->w);
	pgmsg_write_auth(out, PGMSG_AUTH_SASL_CONTINUE, reply, strlen(reply));
	free(reply);
	s->auth_step = AUTH_STEP_SASL_FINAL;
	if (!session_send_built(s))
		session_close(s, "out of memory");
}

static void sasl_final(struct session *s, const uint8_t *body, size_t len)
{
	char *reply = NULL;

	/* A wrong proof and a malformed message both fail as a wrong password. */
	if (!scram_server_handle_final(s->scram, (const char *)body, len, &reply) ||
	    !s->user_known) {
		free(reply);
		auth_failed(s);
		return;
	}
	struct pgmsg_writer *out = worker_writer(s->w);
	pgmsg_write_auth(out, PGMSG_AUTH_SASL_FINAL, reply, strlen(reply));
	free(reply);
	if (!session_send_built(s)) {
		session_close(s, "out of memory");
		return;
	}
	auth_succeeded(s);
}

static void md5_password(struct session *s, const uint8_t *body, size_t len)
{
	const char *response;
	const struct config_user *u = config_find_user(s->w->cfg, session_user(s));

	if (!pgmsg_parse_password(body, len, &response)) {
		session_fatal(s, "08P01", "malformed password message", NULL);
		return;
	}
	if (u == NULL || u->password == NULL ||
	    !md5auth_check(session_user(s), u->password, s->md5_salt, response)) {
		auth_failed(s);
		return;
	}
	auth_succeeded(s);
}

/* Handles one complete message; true if the exchange goes on and another may be buffered. */
static bool auth_read_one(struct session *s)
{
	struct evbuffer *in = s->conn->in;
	uint8_t head[PGMSG_HEADER_LEN];
	uint8_t type;
	uint32_t blen;

	if (evbuffer_copyout(in, head, sizeof(head)) < (ev_ssize_t)sizeof(head))
		return false;
	ssize_t total = pgmsg_frame(head, sizeof(head), AUTH_MAX_BODY, &type, &blen);
	if (total < 0 || type != 'p') {
		session_fatal(s, "08P01", "expected password response", NULL);
		return false;
	}
	if (evbuffer_get_length(in) < (size_t)total)
		return false;
	/*
	 * Taken out of the input before it is handled: success may link an idle
	 * upstream at once and start relaying whatever the client sent next.
	 */
	uint8_t *body = worker_scratch(s->w, blen ? blen : 1);
	if (body == NULL) {
		session_close(s, "out of memory");
		return false;
	}
	evbuffer_drain(in, PGMSG_HEADER_LEN);
	evbuffer_remove(in, body, blen);
	switch (s->auth_step) {
	case AUTH_STEP_SASL_FIRST: sasl_first(s, body, blen); break;
	case AUTH_STEP_SASL_FINAL: sasl_final(s, body, blen); break;
	case AUTH_STEP_MD5: md5_password(s, body, blen); break;
	default: break;
	}
	return s->state == SESSION_ST_AUTH && !s->closing;
}

void session_auth_read(struct session *s)
{
	/* Each message is bounded (AUTH_MAX_BODY), so what stays buffered is too. */
	while (auth_read_one(s))
		;
}

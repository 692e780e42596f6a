/*
 * pgmsg — the Postgres v3 wire protocol as bytes: framing, bounds-checked
 * readers for the messages switchyard inspects, and writers for the messages
 * it builds itself. Pure: no I/O, no libevent.
 *
 * Conventions (kept by every function here):
 * - Decoders return ssize_t: < 0 malformed, 0 need more bytes, > 0 the number
 *   of bytes the message occupies.
 * - Readers (struct pgmsg_reader) carry a sticky "bad" flag: a run of get_*
 *   calls is checked once at the end with pgmsg_reader_ok(), which also
 *   demands the whole body was consumed (as pqformat.c's pq_getmsgend).
 * - Writers (struct pgmsg_writer) carry a sticky "failed" flag (allocation
 *   failure or a message over the protocol's size limit) checked once.
 * - Strings returned by readers point into the caller's buffer; they are
 *   NUL-terminated because the wire format is, and the reader checked that
 *   the terminator lies inside the message.
 */
#ifndef SY_PGMSG_H
#define SY_PGMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PGMSG_HEADER_LEN 5               /* type byte + int32 length */
#define PGMSG_STARTUP_MAX 10000          /* Postgres' MAX_STARTUP_PACKET_LENGTH */
#define PGMSG_PROTOCOL_3_0 196608        /* 3 << 16 */
#define PGMSG_CANCEL_REQUEST_CODE 80877102
#define PGMSG_SSL_REQUEST_CODE 80877103
#define PGMSG_GSSENC_REQUEST_CODE 80877104
#define PGMSG_MAX_LEN 0x3fffffff         /* Postgres' MaxAllocSize - 1 */

/* Authentication request codes (the int32 after 'R'). */
enum pgmsg_auth_code {
	PGMSG_AUTH_OK = 0,
	PGMSG_AUTH_CLEARTEXT = 3,
	PGMSG_AUTH_MD5 = 5,
	PGMSG_AUTH_SASL = 10,
	PGMSG_AUTH_SASL_CONTINUE = 11,
	PGMSG_AUTH_SASL_FINAL = 12,
};

/* ---- framing ---- */

/*
 * Frames a regular (typed) message at the start of <buf>. On success stores
 * the type byte and the body length (without the 4 length bytes) and returns
 * the total size (PGMSG_HEADER_LEN + body). Returns 0 if fewer than
 * PGMSG_HEADER_LEN bytes are available (the body need not be present), < 0
 * if the length field is below 4 or the body is above <max_body>.
 */
ssize_t pgmsg_frame(const uint8_t *buf, size_t avail, size_t max_body, uint8_t *type,
		    uint32_t *body_len) __attribute__((warn_unused_result));

/*
 * Frames an untyped startup-phase packet (StartupMessage, SSLRequest,
 * GSSENCRequest, CancelRequest). Stores the code (protocol version or request
 * code) and returns the packet size once all of it is available; 0 if more
 * bytes are needed; < 0 if the length is outside 8..PGMSG_STARTUP_MAX.
 */
ssize_t pgmsg_startup_frame(const uint8_t *buf, size_t avail, uint32_t *code)
	__attribute__((warn_unused_result));

/* ---- reading ---- */

struct pgmsg_reader {
	const uint8_t *p;
	size_t len;
	size_t pos;
	bool bad;
};

/* Borrows <body> for the reader's lifetime. */
void pgmsg_reader_init(struct pgmsg_reader *r, const void *body, size_t len);
uint8_t pgmsg_get_byte(struct pgmsg_reader *r);
int16_t pgmsg_get_int16(struct pgmsg_reader *r);
int32_t pgmsg_get_int32(struct pgmsg_reader *r);
/* NUL-terminated string inside the body; "" once the reader is bad. */
const char *pgmsg_get_string(struct pgmsg_reader *r);
/* <n> raw bytes (n may come from the wire: checked); NULL once bad. */
const uint8_t *pgmsg_get_bytes(struct pgmsg_reader *r, size_t n);
size_t pgmsg_reader_left(const struct pgmsg_reader *r);
/* True if nothing went wrong and the whole body was consumed. */
bool pgmsg_reader_ok(const struct pgmsg_reader *r);

/* ---- decoded messages the proxy inspects ---- */

#define PGMSG_STARTUP_MAX_PARAMS 64

/* StartupMessage body after the protocol code: name/value pairs. */
struct pgmsg_startup {
	uint32_t protocol;
	size_t nparams;
	const char *names[PGMSG_STARTUP_MAX_PARAMS];  /* borrowed from the packet */
	const char *values[PGMSG_STARTUP_MAX_PARAMS];
};

/*
 * Decodes a whole startup packet (as framed by pgmsg_startup_frame) whose code
 * is a 3.x protocol version. Returns false if malformed, a name is empty or
 * repeated, or there are more than PGMSG_STARTUP_MAX_PARAMS pairs.
 */
bool pgmsg_parse_startup(const uint8_t *pkt, size_t len, struct pgmsg_startup *out)
	__attribute__((warn_unused_result));
/* Value of <name> or NULL. */
const char *pgmsg_startup_get(const struct pgmsg_startup *st, const char *name);

/* CancelRequest: process id and secret key. */
bool pgmsg_parse_cancel(const uint8_t *pkt, size_t len, int32_t *pid, int32_t *key)
	__attribute__((warn_unused_result));

/* Query ('Q'): the SQL text (without its terminator). */
bool pgmsg_parse_query(const uint8_t *body, size_t len, const char **sql, size_t *sql_len)
	__attribute__((warn_unused_result));

/* Parse ('P'): statement name and SQL text. Parameter types are checked, not returned. */
struct pgmsg_parse {
	const char *name;
	const char *sql;
	size_t sql_len;
	int16_t nparams;
};
bool pgmsg_parse_parse(const uint8_t *body, size_t len, struct pgmsg_parse *out)
	__attribute__((warn_unused_result));

/* Bind ('B'): portal and statement names (the rest is checked for framing only). */
bool pgmsg_parse_bind(const uint8_t *body, size_t len, const char **portal, const char **stmt)
	__attribute__((warn_unused_result));

/* Describe ('D') / Close ('C'): kind 'S' or 'P' and a name. */
bool pgmsg_parse_target(const uint8_t *body, size_t len, char *kind, const char **name)
	__attribute__((warn_unused_result));

/* Execute ('E'): portal name and row limit. */
bool pgmsg_parse_execute(const uint8_t *body, size_t len, const char **portal,
			 int32_t *max_rows) __attribute__((warn_unused_result));

/* SASLInitialResponse ('p' during SASL): mechanism and initial response. */
bool pgmsg_parse_sasl_initial(const uint8_t *body, size_t len, const char **mechanism,
			      const uint8_t **data, size_t *data_len)
	__attribute__((warn_unused_result));

/* PasswordMessage ('p' for cleartext/md5): the password string. */
bool pgmsg_parse_password(const uint8_t *body, size_t len, const char **password)
	__attribute__((warn_unused_result));

/* Authentication ('R'): the code, and the rest of the body as data. */
bool pgmsg_parse_auth(const uint8_t *body, size_t len, int32_t *code, const uint8_t **data,
		      size_t *data_len) __attribute__((warn_unused_result));

/* SASL mechanism list of AuthenticationSASL: true if <mech> is offered. */
bool pgmsg_sasl_offers(const uint8_t *data, size_t len, const char *mech);

/* BackendKeyData ('K'). */
bool pgmsg_parse_backend_key(const uint8_t *body, size_t len, int32_t *pid, int32_t *key)
	__attribute__((warn_unused_result));

/* ParameterStatus ('S'): name and value. */
bool pgmsg_parse_param_status(const uint8_t *body, size_t len, const char **name,
			      const char **value) __attribute__((warn_unused_result));

/* ReadyForQuery ('Z'): 'I', 'T' or 'E'. */
bool pgmsg_parse_ready(const uint8_t *body, size_t len, char *status)
	__attribute__((warn_unused_result));

/* ErrorResponse / NoticeResponse fields the proxy looks at (borrowed). */
struct pgmsg_error {
	const char *severity; /* 'V' if present, else 'S' */
	const char *sqlstate; /* 'C' */
	const char *message;  /* 'M' */
	const char *detail;   /* 'D' or NULL */
	const char *hint;     /* 'H' or NULL */
};
bool pgmsg_parse_error(const uint8_t *body, size_t len, struct pgmsg_error *out)
	__attribute__((warn_unused_result));

/* ---- writing ---- */

struct pgmsg_writer {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t msg_start; /* offset of the open message's type byte */
	bool open;
	bool typed;     /* the open message has a type byte */
	bool failed;
};

void pgmsg_writer_init(struct pgmsg_writer *w);
/* Releases the buffer. Safe on a zeroed writer. */
void pgmsg_writer_free(struct pgmsg_writer *w);
/* Forgets the content, keeps the allocation for reuse. */
void pgmsg_writer_reset(struct pgmsg_writer *w);

/* Starts a typed message; type 0 starts an untyped (startup-phase) packet. */
void pgmsg_begin(struct pgmsg_writer *w, uint8_t type);
void pgmsg_put_byte(struct pgmsg_writer *w, uint8_t v);
void pgmsg_put_int16(struct pgmsg_writer *w, int16_t v);
void pgmsg_put_int32(struct pgmsg_writer *w, int32_t v);
void pgmsg_put_string(struct pgmsg_writer *w, const char *s);
void pgmsg_put_bytes(struct pgmsg_writer *w, const void *p, size_t n);
/* Closes the open message, filling in its length. */
void pgmsg_end(struct pgmsg_writer *w);
/* Drops the open message (what was put since pgmsg_begin); the ones before it stay. */
void pgmsg_abandon(struct pgmsg_writer *w);
/* Appends raw, already-framed bytes. */
void pgmsg_put_raw(struct pgmsg_writer *w, const void *p, size_t n);

/* Whole-message builders (each begin..end). */
void pgmsg_write_error(struct pgmsg_writer *w, bool fatal, const char *sqlstate,
		       const char *message, const char *detail, const char *hint);
void pgmsg_write_notice(struct pgmsg_writer *w, const char *sqlstate, const char *message);
void pgmsg_write_ready(struct pgmsg_writer *w, char status);
void pgmsg_write_auth(struct pgmsg_writer *w, int32_t code, const void *data, size_t len);
void pgmsg_write_backend_key(struct pgmsg_writer *w, int32_t pid, int32_t key);
void pgmsg_write_param_status(struct pgmsg_writer *w, const char *name, const char *value);
void pgmsg_write_query(struct pgmsg_writer *w, const char *sql);
void pgmsg_write_parse(struct pgmsg_writer *w, const char *name, const char *sql);
void pgmsg_write_sync(struct pgmsg_writer *w);
void pgmsg_write_terminate(struct pgmsg_writer *w);
void pgmsg_write_password(struct pgmsg_writer *w, const char *password);
void pgmsg_write_sasl_initial(struct pgmsg_writer *w, const char *mechanism, const char *data);
void pgmsg_write_sasl_response(struct pgmsg_writer *w, const char *data);
void pgmsg_write_ssl_request(struct pgmsg_writer *w);
void pgmsg_write_cancel(struct pgmsg_writer *w, int32_t pid, int32_t key);
/* StartupMessage 3.0 with name/value pairs (arrays of n). */
void pgmsg_write_startup(struct pgmsg_writer *w, const char *const *names,
			 const char *const *values, size_t n);

#endif

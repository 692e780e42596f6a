/*
 * session_auth — authenticating a client against [[users]]: SCRAM-SHA-256
 * (default) or md5 (auth_method = "md5", for users with a plaintext
 * password). Unknown users go through a mock exchange that fails the same
 * way a wrong password does, so user names cannot be probed.
 */
#ifndef SY_SESSION_AUTH_H
#define SY_SESSION_AUTH_H

struct session;

/* Sends the authentication request; the session is in SESSION_ST_AUTH. */
void session_auth_start(struct session *s);
/* Handles the client's password/SASL messages as they arrive. */
void session_auth_read(struct session *s);

#endif

/*
 * fuzz_pgmsg — every wire decoder and the SCRAM message parsers on arbitrary
 * bytes. The first byte picks the decoder (so the fuzzer can specialise), the
 * rest is the message body. Nothing may crash, read out of bounds or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/pgmsg.h"
#include "protocol/scram.h"

static void decode_all(const uint8_t *p, size_t n, uint8_t which)
{
	uint8_t type;
	uint32_t u32;
	int32_t a, b;
	const char *s1, *s2;
	size_t len;
	const uint8_t *data;
	char c;
	struct pgmsg_startup st;
	struct pgmsg_parse parse;
	struct pgmsg_error err;

	switch (which % 16) {
	case 0: (void)pgmsg_frame(p, n, PGMSG_MAX_LEN, &type, &u32); break;
	case 1:
		if (pgmsg_startup_frame(p, n, &u32) > 0)
			(void)pgmsg_parse_startup(p, n, &st);
		break;
	case 2: (void)pgmsg_parse_cancel(p, n, &a, &b); break;
	case 3: (void)pgmsg_parse_query(p, n, &s1, &len); break;
	case 4: (void)pgmsg_parse_parse(p, n, &parse); break;
	case 5: (void)pgmsg_parse_bind(p, n, &s1, &s2); break;
	case 6: (void)pgmsg_parse_target(p, n, &c, &s1); break;
	case 7: (void)pgmsg_parse_execute(p, n, &s1, &a); break;
	case 8: (void)pgmsg_parse_sasl_initial(p, n, &s1, &data, &len); break;
	case 9: (void)pgmsg_parse_password(p, n, &s1); break;
	case 10:
		if (pgmsg_parse_auth(p, n, &a, &data, &len))
			(void)pgmsg_sasl_offers(data, len, "SCRAM-SHA-256");
		break;
	case 11: (void)pgmsg_parse_backend_key(p, n, &a, &b); break;
	case 12: (void)pgmsg_parse_param_status(p, n, &s1, &s2); break;
	case 13: (void)pgmsg_parse_ready(p, n, &c); break;
	case 14: (void)pgmsg_parse_error(p, n, &err); break;
	default: (void)pgmsg_parse_startup(p, n, &st); break;
	}
}

static void scram_exchange(const uint8_t *p, size_t n)
{
	static struct scram_verifier v;
	static int ready;
	char *out = NULL;

	if (!ready) {
		ready = scram_verifier_from_password("pencil", 16, &v);
		if (!ready)
			abort();
	}
	/* Server side: the bytes as client-first, then as client-final after a good first. */
	struct scram_server *s = scram_server_new(&v);
	if (scram_server_handle_first(s, (const char *)p, n, &out)) {
		free(out);
		out = NULL;
		if (scram_server_handle_final(s, (const char *)p, n, &out))
			free(out);
	}
	scram_server_free(s);
	s = scram_server_new(&v);
	if (scram_server_handle_first(s, "n,,n=,r=fyko+d2lbbFgONRv9qkxdawL", 32, &out)) {
		free(out);
		out = NULL;
		if (scram_server_handle_final(s, (const char *)p, n, &out))
			free(out);
	}
	scram_server_free(s);
	/* Client side: the bytes as server-first and server-final. */
	struct scram_client *cl = scram_client_new("pencil");
	char *first = scram_client_first(cl);
	free(first);
	out = NULL;
	if (scram_client_handle_first(cl, (const char *)p, n, &out)) {
		free(out);
		(void)scram_client_verify_final(cl, (const char *)p, n);
	}
	scram_client_free(cl);
	/* The bytes as verifier text. */
	char *text = malloc(n + 1);
	memcpy(text, p, n);
	text[n] = '\0';
	struct scram_verifier pv;
	(void)scram_verifier_parse(text, &pv);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	/* Copy so reads past the end are caught exactly. */
	uint8_t *copy = malloc(size - 1 ? size - 1 : 1);
	memcpy(copy, data + 1, size - 1);
	if (data[0] == 0xff)
		scram_exchange(copy, size - 1);
	else
		decode_all(copy, size - 1, data[0]);
	free(copy);
	return 0;
}

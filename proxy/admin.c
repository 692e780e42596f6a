/*
 * admin — evhttp handlers for metrics, status, weights and reload.
 *
 * Every handler answers in the callback: nothing here outlives a request.
 * Errors are JSON ({"error": "..."}) with a 4xx/5xx status, and a request
 * that fails any check changes nothing. Each change is logged at warn level
 * with the peer's address.
 */
#include "proxy/admin.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "proxy/control.h"
#include "proxy/cutover.h"
#include "proxy/log.h"
#include "proxy/metrics.h"
#include "proxy/verify.h"
#include "proxy/proxy.h"

/* proxy/status.html, embedded at build time (cmake/embed.cmake). */
extern const unsigned char admin_status_html[];
extern const size_t admin_status_html_len;

#define ADMIN_MAX_BODY (64 * 1024)
/* evhttp's own limit, above ours so that we, not evhttp, answer a 64 KiB+ body (with JSON). */
#define ADMIN_EVHTTP_MAX_BODY (1024 * 1024)
#define ADMIN_MAX_LOCAL 16

struct admin {
	struct proxy *proxy;
	struct evhttp *http;
	int64_t start_ms;
	admin_reload_fn reload;
	void *reload_arg;
	/* The loopback interface's addresses (16 bytes; IPv4 as v4-mapped IPv6). */
	struct in6_addr local[ADMIN_MAX_LOCAL];
	size_t nlocal;
};

/* ---- responses ---- */

static void reply_json(struct evhttp_request *req, int code, const char *reason, json_t *body)
{
	struct evbuffer *out = evbuffer_new();
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	if (out != NULL && text != NULL) {
		evbuffer_add(out, text, strlen(text));
		evbuffer_add(out, "\n", 1);
	}
	evhttp_send_reply(req, code, reason, out);
	free(text);
	if (out)
		evbuffer_free(out);
	json_decref(body);
}

static void reply_error(struct evhttp_request *req, int code, const char *reason, const char *msg)
{
	reply_json(req, code, reason, json_pack("{s:s}", "error", msg));
}

/* ---- who is asking ---- */

static void to_v6(const struct sockaddr *sa, struct in6_addr *out, bool *ok)
{
	*ok = true;
	if (sa->sa_family == AF_INET6) {
		*out = ((const struct sockaddr_in6 *)sa)->sin6_addr;
	} else if (sa->sa_family == AF_INET) {
		memset(out, 0, sizeof(*out));
		out->s6_addr[10] = 0xff;
		out->s6_addr[11] = 0xff;
		memcpy(&out->s6_addr[12], &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else {
		*ok = false;
	}
}

static void add_local(struct admin *a, const struct sockaddr *sa)
{
	struct in6_addr v6;
	bool ok;

	to_v6(sa, &v6, &ok);
	if (!ok || a->nlocal == ADMIN_MAX_LOCAL)
		return;
	for (size_t i = 0; i < a->nlocal; i++)
		if (memcmp(&a->local[i], &v6, sizeof(v6)) == 0)
			return;
	a->local[a->nlocal++] = v6;
}

/* The addresses the loopback interface holds; 127.0.0.1 and ::1 if none can be read. */
static void find_local_addresses(struct admin *a)
{
	struct ifaddrs *ifs, *i;

	if (getifaddrs(&ifs) == 0) {
		for (i = ifs; i != NULL; i = i->ifa_next)
			if (i->ifa_addr != NULL && (i->ifa_flags & IFF_LOOPBACK))
				add_local(a, i->ifa_addr);
		freeifaddrs(ifs);
	}
	if (a->nlocal == 0) {
		struct sockaddr_in v4 = { .sin_family = AF_INET };
		struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
		v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		add_local(a, (struct sockaddr *)&v4);
		add_local(a, (struct sockaddr *)&v6);
	}
}

static const struct sockaddr *peer_of(struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);

	return conn ? evhttp_connection_get_addr(conn) : NULL;
}

static bool peer_is_local(const struct admin *a, const struct sockaddr *sa)
{
	struct in6_addr v6;
	bool ok;

	if (sa == NULL)
		return false;
	to_v6(sa, &v6, &ok);
	for (size_t i = 0; ok && i < a->nlocal; i++)
		if (memcmp(&a->local[i], &v6, sizeof(v6)) == 0)
			return true;
	return false;
}

/* Constant time whatever the lengths: both sides are hashed first. */
static bool token_matches(const char *given, const char *token)
{
	unsigned char h1[SHA256_DIGEST_LENGTH], h2[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)given, strlen(given), h1);
	SHA256((const unsigned char *)token, strlen(token), h2);
	return CRYPTO_memcmp(h1, h2, sizeof(h1)) == 0;
}

/* May this request change anything? Answers it (401/403) when not. */
static bool authorized(struct admin *a, struct evhttp_request *req)
{
	const char *token = a->proxy->cfg->admin.token;

	if (token[0] == '\0') {
		if (peer_is_local(a, peer_of(req)))
			return true;
		reply_error(req, 403, "Forbidden",
			    "changes are allowed only from loopback when [admin] token is not set");
		return false;
	}
	const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req),
					      "Authorization");
	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0 && token_matches(auth + 7, token))
		return true;
	evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
			  "Bearer realm=\"switchyard\"");
	reply_error(req, 401, "Unauthorized", "a valid \"Authorization: Bearer <token>\" is required");
	return false;
}

static void peer_text(struct evhttp_request *req, char *buf, size_t cap)
{
	const struct sockaddr *sa = peer_of(req);

	if (sa != NULL)
		log_format_addr(sa, buf, cap);
	else
		snprintf(buf, cap, "unknown");
}

/* ---- /status ---- */

static json_t *iso_time(int64_t ms)
{
	if (ms <= 0)
		return json_null();
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	char buf[40], out[48];
	gmtime_r(&s, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, sizeof(out), "%s.%03dZ", buf, (int)(ms % 1000));
	return json_string(out);
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *const side_key[2] = { "mysql", "supabase" }; /* by enum cutover_side */

static json_t *group_json(const struct config *cfg, size_t g, const struct cutover_group_status *st)
{
	const struct config_cutover_group *grp = &cfg->cutover.groups[g];
	json_t *tables = json_array(), *win = json_object(), *tot = json_object(),
	       *hist = json_array();

	for (size_t i = 0; i < grp->ntables; i++)
		json_array_append_new(tables, json_string(cfg->legacy.tables[grp->tables[i]]));
	json_object_set_new(win, "seconds", json_integer(cfg->cutover.rollback.window_s));
	for (int sd = 0; sd < 2; sd++) {
		json_object_set_new(win, side_key[sd],
				    json_pack("{s:I,s:I,s:f,s:f}",
					      "reads", (json_int_t)st->window.reads[sd],
					      "errors", (json_int_t)st->window.errors[sd],
					      "p99_ms", (double)st->window.p99_us[sd] / 1000.0,
					      "max_ms", (double)st->window.max_us[sd] / 1000.0));
		json_object_set_new(tot, side_key[sd],
				    json_pack("{s:I,s:I}", "reads", (json_int_t)st->total_reads[sd],
					      "errors", (json_int_t)st->total_errors[sd]));
	}
	json_object_set_new(win, "shadow",
			    json_pack("{s:I,s:I,s:I}", "match", (json_int_t)st->window.shadow_match,
				      "mismatch", (json_int_t)st->window.shadow_mismatch,
				      "dropped", (json_int_t)st->window.shadow_dropped));
	json_object_set_new(tot, "shadow",
			    json_pack("{s:I,s:I,s:I}", "match", (json_int_t)st->total_shadow_match,
				      "mismatch", (json_int_t)st->total_shadow_mismatch,
				      "dropped", (json_int_t)st->total_shadow_dropped));
	for (size_t k = 0; k < st->nhistory; k++) {
		const struct cutover_point_stats *pt = &st->history[k];
		json_t *o = json_pack("{s:I,s:I}", "at_ms", (json_int_t)pt->at_ms,
				      "shadow_mismatch", (json_int_t)pt->shadow_mismatch);
		for (int sd = 0; sd < 2; sd++)
			json_object_set_new(o, side_key[sd],
					    json_pack("{s:I,s:I,s:f}", "reads", (json_int_t)pt->reads[sd],
						      "errors", (json_int_t)pt->errors[sd],
						      "p99_ms", (double)pt->p99_us[sd] / 1000.0));
		json_array_append_new(hist, o);
	}
	/* The last `switchyard verify` of each member, from the results file. */
	json_t *ver = json_object();
	for (size_t i = 0; i < grp->ntables; i++) {
		struct verify_result v;
		const char *name = cfg->legacy.tables[grp->tables[i]];
		verify_last(cfg, name, &v);
		json_object_set_new(ver, name,
				    v.found ? json_pack("{s:s,s:o,s:I,s:I,s:I,s:I,s:s}", "status", v.status,
							"at", iso_time(v.at_s * 1000), "rows",
							(json_int_t)v.rows_mysql, "missing",
							(json_int_t)v.missing, "extra", (json_int_t)v.extra,
							"changed", (json_int_t)v.changed, "summary",
							v.summary)
					    : json_null());
	}
	json_t *out = json_pack("{s:s,s:o,s:i,s:i,s:b,s:s,s:s,s:o,s:s,s:I,s:o,s:o,s:o}",
			 "name", st->name, "tables", tables, "weight", st->weight,
			 "file_weight", st->file_weight, "copied", st->copied,
			 "state", st->state == CUTOVER_ROLLED_BACK ? "rolled_back" : "active",
			 "reason", st->reason, "changed_at", iso_time(st->changed_ms),
			 "changed_by", st->changed_by, "rollbacks", (json_int_t)st->rollbacks,
			 "window", win, "totals", tot, "history", hist);
	json_object_set_new(out, "verify", ver);
	return out;
}

/* Every group's status, or NULL on OOM; *n gets how many. Free with free(). */
static struct cutover_group_status *groups_status(struct proxy *p, size_t *n)
{
	const struct config *cfg = p->cfg;
	struct cutover_group_status *st = calloc(cfg->cutover.ngroups + 1, sizeof(*st));

	*n = st ? cutover_status(p->cutover, cfg, st, cfg->cutover.ngroups) : 0;
	return st;
}

static void handle_status(struct admin *a, struct evhttp_request *req)
{
	struct proxy *p = a->proxy;
	const struct config *cfg = p->cfg;
	size_t n;
	struct cutover_group_status *st = groups_status(p, &n);

	if (st == NULL) {
		reply_error(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	json_t *groups = json_array();
	for (size_t g = 0; g < n; g++)
		json_array_append_new(groups, group_json(cfg, g, &st[g]));
	free(st);
	json_t *sb = json_pack("{s:s,s:i,s:i,s:i,s:i}", "host", cfg->supabase.host,
			       "port", (int)cfg->supabase.port, "pool_size", cfg->supabase.pool_size,
			       "connections", atomic_load(&p->pool_total),
			       "waiters", atomic_load(&p->pool_waiters));
	json_t *my = json_pack("{s:b,s:i,s:i,s:i}", "configured", cfg->mysql.configured,
			       "pool_size", cfg->mysql.configured ? cfg->mysql.pool_size : 0,
			       "connections", atomic_load(&p->mysql_total),
			       "waiters", atomic_load(&p->mysql_waiters));
	if (cfg->mysql.configured) {
		json_object_set_new(my, "host", json_string(cfg->mysql.host));
		json_object_set_new(my, "port", json_integer(cfg->mysql.port));
	}
	const struct config_rollback *rb = &cfg->cutover.rollback;
	json_t *rollback = json_pack("{s:i,s:f,s:f,s:i,s:i}", "max_latency_ms", rb->max_latency_ms,
				     "max_error_rate", rb->max_error_rate,
				     "max_mismatch_rate", rb->max_mismatch_rate,
				     "window_s", rb->window_s, "min_samples", rb->min_samples);
	int64_t now = wall_ms();
	json_t *body = json_pack("{s:s,s:i,s:I,s:o,s:o,s:i,s:I,s:{s:o,s:o},s:i,s:o,s:o}",
				 "version", SY_VERSION, "pid", (int)getpid(),
				 "uptime_s", (json_int_t)((now - a->start_ms) / 1000),
				 "started_at", iso_time(a->start_ms), "now", iso_time(now),
				 "clients", atomic_load(&p->clients),
				 "pins", (json_int_t)atomic_load(&p->pins),
				 "backends", "supabase", sb, "mysql", my,
				 "shadow_percent", cfg->cutover.shadow_percent,
				 "rollback", rollback, "groups", groups);
	if (body == NULL)
		reply_error(req, 500, "Internal Server Error", "out of memory");
	else
		reply_json(req, 200, "OK", body);
}

/* ---- /metrics and / ---- */

static void handle_metrics(struct admin *a, struct evhttp_request *req)
{
	struct evbuffer *out = evbuffer_new();

	if (out == NULL || !metrics_render(a->proxy, a->start_ms, out)) {
		if (out)
			evbuffer_free(out);
		reply_error(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static void handle_page(struct evhttp_request *req)
{
	struct evbuffer *out = evbuffer_new();

	if (out == NULL) {
		reply_error(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	evbuffer_add_reference(out, admin_status_html, admin_status_html_len, NULL, NULL);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/html; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

/* ---- changes ---- */

/* The request body as a NUL-terminated string, or NULL after answering 413/500. */
static char *read_body(struct evhttp_request *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);

	if (n > ADMIN_MAX_BODY) {
		reply_error(req, 413, "Payload Too Large", "request body over 64 KiB");
		return NULL;
	}
	char *body = malloc(n + 1);
	if (body == NULL) {
		reply_error(req, 500, "Internal Server Error", "out of memory");
		return NULL;
	}
	evbuffer_copyout(in, body, n);
	body[n] = '\0';
	*len = n;
	return body;
}

/* {"weight": 0..100, "force": bool?}: the weight, or -1 after answering 400. */
static int parse_weight(struct evhttp_request *req, const char *body, size_t len, bool *force)
{
	json_error_t jerr;
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	char msg[300];
	const char *key;
	json_t *v;
	int weight = -1;

	if (doc == NULL) {
		snprintf(msg, sizeof(msg), "bad JSON: %s", jerr.text);
		reply_error(req, 400, "Bad Request", msg);
		return -1;
	}
	if (!json_is_object(doc)) {
		reply_error(req, 400, "Bad Request", "the body must be a JSON object like {\"weight\": 25}");
		goto out;
	}
	json_object_foreach(doc, key, v) {
		if (strcmp(key, "weight") != 0 && strcmp(key, "force") != 0) {
			snprintf(msg, sizeof(msg), "unknown key \"%.200s\" (expected \"weight\", \"force\")", key);
			reply_error(req, 400, "Bad Request", msg);
			goto out;
		}
	}
	v = json_object_get(doc, "force");
	if (v != NULL && !json_is_boolean(v)) {
		reply_error(req, 400, "Bad Request", "\"force\" must be true or false");
		goto out;
	}
	*force = v != NULL && json_is_true(v);
	v = json_object_get(doc, "weight");
	if (v == NULL || !json_is_integer(v)) {
		reply_error(req, 400, "Bad Request", "\"weight\" must be an integer from 0 to 100");
		goto out;
	}
	if (json_integer_value(v) < 0 || json_integer_value(v) > 100) {
		snprintf(msg, sizeof(msg), "weight %lld is outside 0..100",
			 (long long)json_integer_value(v));
		reply_error(req, 400, "Bad Request", msg);
		goto out;
	}
	weight = (int)json_integer_value(v);
out:
	json_decref(doc);
	return weight;
}

/* The legacy table a /cutover/<name> path names (decoded, lower case), or -1. */
static int table_of_path(const struct config *cfg, const char *name)
{
	char *dec = evhttp_uridecode(name, 0, NULL);
	int idx = -1;

	if (dec == NULL)
		return -1;
	for (char *c = dec; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (strchr(dec, '/') == NULL)
		idx = config_legacy_index(cfg, dec);
	free(dec);
	return idx;
}

static void reply_group(struct admin *a, struct evhttp_request *req, int table)
{
	const struct config *cfg = a->proxy->cfg;
	size_t n, g = cfg->cutover.group_of[table];
	struct cutover_group_status *st = groups_status(a->proxy, &n);

	if (st == NULL || g >= n) {
		free(st);
		reply_error(req, 500, "Internal Server Error", "cutover state unavailable");
		return;
	}
	json_t *body = group_json(cfg, g, &st[g]);
	free(st);
	reply_json(req, 200, "OK", body);
}

static void handle_cutover(struct admin *a, struct evhttp_request *req, const char *name)
{
	struct proxy *p = a->proxy;
	const struct config *cfg = p->cfg;
	int table = table_of_path(cfg, name);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (cmd == EVHTTP_REQ_PUT && !authorized(a, req))
		return;
	if (table < 0) {
		reply_error(req, 404, "Not Found", "no such legacy table");
		return;
	}
	if (cmd == EVHTTP_REQ_GET) {
		reply_group(a, req, table);
		return;
	}
	size_t len;
	char *body = read_body(req, &len);
	if (body == NULL)
		return;
	bool force = false;
	int weight = parse_weight(req, body, len, &force);
	free(body);
	if (weight < 0)
		return;
	char err[512], peer[64];
	const char *tname = cfg->legacy.tables[table];
	size_t g = cfg->cutover.group_of[table];
	struct cutover_table *ct = cutover_find(p->cutover, tname);
	int before = ct ? cutover_weight(ct) : -1;
	/* Raising a weight needs a clean `switchyard verify` of every member (issue 9). */
	const struct config_cutover_group *grp = &cfg->cutover.groups[g];
	for (size_t i = 0; weight > 0 && weight > before && !force && i < grp->ntables; i++) {
		if (!verify_guard(cfg, cfg->legacy.tables[grp->tables[i]], err, sizeof(err))) {
			reply_error(req, 409, "Conflict", err);
			return;
		}
	}
	if (force && weight > before && weight > 0)
		log_warn(-1, -1, "admin: weight raised with force", "table=%s", tname);
	if (!cutover_set_weight(p->cutover, cfg, tname, weight, "admin", err, sizeof(err))) {
		reply_error(req, 400, "Bad Request", err);
		return;
	}
	peer_text(req, peer, sizeof(peer));
	log_warn(-1, -1, "admin: cutover weight set", "table=%s group=%s from=%d weight=%d peer=%s",
		 tname, cfg->cutover.groups[g].name, before, weight, peer);
	/* With a control table the fleet follows, and this instance's next read does not undo it. */
	char reason[128];
	snprintf(reason, sizeof(reason), "PUT /cutover/%s from %s", tname, peer);
	control_weight_set(p->control, tname, weight, "admin", reason);
	reply_group(a, req, table);
}

static void handle_reload(struct admin *a, struct evhttp_request *req)
{
	char why[1024] = "", peer[64];

	if (!authorized(a, req))
		return;
	peer_text(req, peer, sizeof(peer));
	log_warn(-1, -1, "admin: reload requested", "peer=%s", peer);
	if (!a->reload(a->reload_arg, why, sizeof(why))) {
		reply_json(req, 500, "Internal Server Error",
			   json_pack("{s:s,s:b}", "error", why[0] ? why : "reload rejected",
				     "reloaded", false));
		return;
	}
	reply_json(req, 200, "OK", json_pack("{s:b}", "reloaded", true));
}

/* ---- routing ---- */

static bool method_is(struct evhttp_request *req, int allowed, const char *allow_header)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (cmd & allowed)
		return true;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow_header);
	reply_error(req, 405, "Method Not Allowed", "method not allowed here");
	return false;
}

static void request_cb(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	int get = EVHTTP_REQ_GET | EVHTTP_REQ_HEAD;

	if (path == NULL || path[0] == '\0')
		path = "/";
	if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
		if (method_is(req, get, "GET, HEAD"))
			handle_page(req);
	} else if (strcmp(path, "/metrics") == 0) {
		if (method_is(req, get, "GET, HEAD"))
			handle_metrics(a, req);
	} else if (strcmp(path, "/status") == 0) {
		if (method_is(req, get, "GET, HEAD"))
			handle_status(a, req);
	} else if (strcmp(path, "/reload") == 0) {
		if (method_is(req, EVHTTP_REQ_POST, "POST"))
			handle_reload(a, req);
	} else if (strncmp(path, "/cutover/", 9) == 0 && path[9] != '\0') {
		if (method_is(req, EVHTTP_REQ_GET | EVHTTP_REQ_PUT, "GET, PUT"))
			handle_cutover(a, req, path + 9);
	} else {
		reply_error(req, 404, "Not Found", "no such endpoint (try /, /status, /metrics)");
	}
}

struct admin *admin_new(struct event_base *base, struct proxy *p, int64_t start_ms,
			admin_reload_fn reload, void *reload_arg)
{
	const struct config *cfg = p->cfg;
	struct admin *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->proxy = p;
	a->start_ms = start_ms;
	a->reload = reload;
	a->reload_arg = reload_arg;
	find_local_addresses(a);
	a->http = evhttp_new(base);
	if (a->http == NULL) {
		free(a);
		return NULL;
	}
	/* Every method reaches request_cb, so a wrong one gets our JSON 405, not evhttp's. */
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_body_size(a->http, ADMIN_EVHTTP_MAX_BODY);
	evhttp_set_max_headers_size(a->http, 16 * 1024);
	evhttp_set_timeout(a->http, 10);
	evhttp_set_gencb(a->http, request_cb, a);
	if (evhttp_bind_socket(a->http, cfg->admin.listen_host, cfg->admin.listen_port) != 0) {
		log_error(-1, -1, "cannot listen for admin HTTP", "listen=%s:%u",
			  cfg->admin.listen_host, (unsigned)cfg->admin.listen_port);
		admin_free(a);
		return NULL;
	}
	log_info(-1, -1, "admin HTTP listening", "listen=%s:%u token=%s", cfg->admin.listen_host,
		 (unsigned)cfg->admin.listen_port, cfg->admin.token[0] ? "set" : "none (loopback only)");
	return a;
}

void admin_free(struct admin *a)
{
	if (a == NULL)
		return;
	if (a->http)
		evhttp_free(a->http);
	free(a);
}

/*
 * mysql_direct — the "direct MariaDB" baseline of bench/legacy_reads.py.
 *
 * N client threads, each with its own connection, issue for T seconds the
 * same legacy reads that switchyard serves in the benchmark:
 *
 *   point  SELECT customer_id, name, email, status, balance, created_at
 *          FROM customers WHERE customer_id = <random id in 1..rows>
 *   range  the same columns WHERE customer_id BETWEEN <id> AND <id>+99
 *          ORDER BY customer_id   (id in 1..rows-99: always 100 rows)
 *
 * as text-protocol queries with the id inlined (--mode text, what a
 * translating proxy sends) or as server-side prepared statements executed
 * with a bound id (--mode prepared). Every row of every result is fetched.
 * One transaction = one statement with its whole result, as in pgbench.
 * All threads connect first and start together; latencies are recorded per
 * statement in memory (nothing is written during the run).
 *
 * Prints one JSON line:
 *   {"workload":"point","mode":"text","clients":8,"seconds":5.000,"txns":...,
 *    "tps":...,"rows":...,"errors":0,"lat_avg_ms":...,"lat_p50_ms":...,
 *    "lat_p99_ms":...,"lat_max_ms":...}
 * Exit status 0, or 1 when a connection or statement failed (the first error
 * is in "error" and on stderr).
 *
 * Build: gcc -O2 bench/mysql_direct.c $(pkg-config --cflags --libs libmariadb) -lpthread
 * Usage: mysql_direct [--host H] [--port P] [--socket S] [--user U] [--password PW]
 *                     [--database DB] [--clients N] [--seconds T] [--rows R]
 *                     [--workload point|range] [--mode text|prepared]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#define COLUMNS "customer_id, name, email, status, balance, created_at"
#define NCOLS 6
#define RANGE 100

struct opts {
	const char *host, *socket, *user, *password, *database;
	unsigned port;
	int clients;
	double seconds;
	long rows;
	bool range;
	bool prepared;
};

struct thread {
	pthread_t tid;
	int index;
	const struct opts *o;
	uint64_t rng;
	uint64_t *lat_ns; /* one per statement */
	size_t nlat, caplat;
	uint64_t rows;
	uint64_t errors;
	char error[512];
};

static pthread_barrier_t start_barrier;
static double t_start_ns, t_end_ns; /* set by the main thread between the barriers */
static volatile int go_failed;

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t next_rand(uint64_t *s) /* xorshift64* */
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void note_error(struct thread *t, const char *what, const char *msg)
{
	t->errors++;
	if (t->error[0] == '\0')
		snprintf(t->error, sizeof(t->error), "client %d: %s: %s", t->index, what, msg);
}

static bool record(struct thread *t, uint64_t ns)
{
	if (t->nlat == t->caplat) {
		size_t cap = t->caplat ? t->caplat * 2 : 65536;
		uint64_t *p = realloc(t->lat_ns, cap * sizeof(*p));
		if (p == NULL)
			return false;
		t->lat_ns = p;
		t->caplat = cap;
	}
	t->lat_ns[t->nlat++] = ns;
	return true;
}

static long pick_id(struct thread *t)
{
	long span = t->o->range ? t->o->rows - (RANGE - 1) : t->o->rows;
	if (span < 1)
		span = 1;
	return 1 + (long)(next_rand(&t->rng) % (uint64_t)span);
}

/* One text-protocol statement: the id inlined, every row fetched. */
static bool run_text(struct thread *t, MYSQL *db, char *q, size_t qcap)
{
	long id = pick_id(t);
	int n = t->o->range
		? snprintf(q, qcap, "SELECT " COLUMNS " FROM customers WHERE customer_id BETWEEN %ld AND %ld"
			   " ORDER BY customer_id", id, id + RANGE - 1)
		: snprintf(q, qcap, "SELECT " COLUMNS " FROM customers WHERE customer_id = %ld", id);
	if (mysql_real_query(db, q, (unsigned long)n) != 0) {
		note_error(t, "query", mysql_error(db));
		return false;
	}
	MYSQL_RES *res = mysql_store_result(db);
	if (res == NULL) {
		note_error(t, "store_result", mysql_error(db));
		return false;
	}
	MYSQL_ROW row;
	unsigned long sink = 0;
	while ((row = mysql_fetch_row(res)) != NULL) {
		unsigned long *lens = mysql_fetch_lengths(res);
		sink += lens[0]; /* touch the row as a client would */
		t->rows++;
	}
	(void)sink;
	mysql_free_result(res);
	return true;
}

struct prepared {
	MYSQL_STMT *stmt;
	MYSQL_BIND param[2];
	long long pv[2];
	MYSQL_BIND result[NCOLS];
	char buf[NCOLS][256];
	unsigned long len[NCOLS];
	my_bool null[NCOLS], err[NCOLS];
};

static bool prepare(struct thread *t, MYSQL *db, struct prepared *p)
{
	const char *sql = t->o->range
		? "SELECT " COLUMNS " FROM customers WHERE customer_id BETWEEN ? AND ? ORDER BY customer_id"
		: "SELECT " COLUMNS " FROM customers WHERE customer_id = ?";
	memset(p, 0, sizeof(*p));
	p->stmt = mysql_stmt_init(db);
	if (p->stmt == NULL) {
		note_error(t, "stmt_init", mysql_error(db));
		return false;
	}
	if (mysql_stmt_prepare(p->stmt, sql, (unsigned long)strlen(sql)) != 0) {
		note_error(t, "prepare", mysql_stmt_error(p->stmt));
		return false;
	}
	for (int i = 0; i < 2; i++) {
		p->param[i].buffer_type = MYSQL_TYPE_LONGLONG;
		p->param[i].buffer = &p->pv[i];
	}
	if (mysql_stmt_bind_param(p->stmt, p->param) != 0) {
		note_error(t, "bind_param", mysql_stmt_error(p->stmt));
		return false;
	}
	/* Every column as text, as a Postgres client reads it. */
	for (int i = 0; i < NCOLS; i++) {
		p->result[i].buffer_type = MYSQL_TYPE_STRING;
		p->result[i].buffer = p->buf[i];
		p->result[i].buffer_length = sizeof(p->buf[i]);
		p->result[i].length = &p->len[i];
		p->result[i].is_null = &p->null[i];
		p->result[i].error = &p->err[i];
	}
	if (mysql_stmt_bind_result(p->stmt, p->result) != 0) {
		note_error(t, "bind_result", mysql_stmt_error(p->stmt));
		return false;
	}
	return true;
}

static bool run_prepared(struct thread *t, struct prepared *p)
{
	long id = pick_id(t);
	p->pv[0] = id;
	p->pv[1] = id + RANGE - 1;
	if (mysql_stmt_execute(p->stmt) != 0) {
		note_error(t, "execute", mysql_stmt_error(p->stmt));
		return false;
	}
	if (mysql_stmt_store_result(p->stmt) != 0) {
		note_error(t, "stmt_store_result", mysql_stmt_error(p->stmt));
		return false;
	}
	int rc;
	while ((rc = mysql_stmt_fetch(p->stmt)) == 0 || rc == MYSQL_DATA_TRUNCATED)
		t->rows++;
	if (rc != MYSQL_NO_DATA) {
		note_error(t, "fetch", mysql_stmt_error(p->stmt));
		return false;
	}
	mysql_stmt_free_result(p->stmt);
	return true;
}

static void *client(void *arg)
{
	struct thread *t = arg;
	const struct opts *o = t->o;
	MYSQL *db = mysql_init(NULL);
	struct prepared p = { 0 };
	bool ready = false;
	char q[512];

	if (db == NULL) {
		note_error(t, "mysql_init", "out of memory");
	} else if (mysql_real_connect(db, o->host, o->user, o->password, o->database, o->port,
				      o->socket, 0) == NULL) {
		note_error(t, "connect", mysql_error(db));
	} else if (!o->prepared || prepare(t, db, &p)) {
		ready = true;
	}
	if (!ready)
		go_failed = 1;
	pthread_barrier_wait(&start_barrier); /* everyone connected (or failed) */
	pthread_barrier_wait(&start_barrier); /* main has set the clock */
	if (ready && !go_failed) {
		for (;;) {
			double t0 = now_ns();
			if (t0 >= t_end_ns)
				break;
			bool good = o->prepared ? run_prepared(t, &p) : run_text(t, db, q, sizeof(q));
			if (!good)
				break; /* a client with an error stops, like pgbench's aborted client */
			if (!record(t, (uint64_t)(now_ns() - t0))) {
				note_error(t, "latency buffer", "out of memory");
				break;
			}
		}
	}
	if (p.stmt != NULL)
		mysql_stmt_close(p.stmt);
	if (db != NULL)
		mysql_close(db);
	mysql_thread_end();
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: mysql_direct [--host H] [--port P] [--socket S] [--user U] [--password PW]\n"
		"                    [--database DB] [--clients N] [--seconds T] [--rows R]\n"
		"                    [--workload point|range] [--mode text|prepared]\n");
	exit(2);
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

int main(int argc, char **argv)
{
	struct opts o = { .host = "127.0.0.1", .user = "crm_readonly", .password = "ro-secret",
			  .database = "crm", .port = 3306, .clients = 8, .seconds = 5, .rows = 100000 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			usage();
		i++;
		if (!strcmp(a, "--host"))
			o.host = v;
		else if (!strcmp(a, "--port"))
			o.port = (unsigned)atoi(v);
		else if (!strcmp(a, "--socket"))
			o.socket = v;
		else if (!strcmp(a, "--user"))
			o.user = v;
		else if (!strcmp(a, "--password"))
			o.password = v;
		else if (!strcmp(a, "--database"))
			o.database = v;
		else if (!strcmp(a, "--clients"))
			o.clients = atoi(v);
		else if (!strcmp(a, "--seconds"))
			o.seconds = atof(v);
		else if (!strcmp(a, "--rows"))
			o.rows = atol(v);
		else if (!strcmp(a, "--workload") && (!strcmp(v, "point") || !strcmp(v, "range")))
			o.range = !strcmp(v, "range");
		else if (!strcmp(a, "--mode") && (!strcmp(v, "text") || !strcmp(v, "prepared")))
			o.prepared = !strcmp(v, "prepared");
		else
			usage();
	}
	if (o.clients < 1 || o.seconds <= 0 || o.rows < 1)
		usage();
	if (mysql_library_init(0, NULL, NULL) != 0) {
		fprintf(stderr, "mysql_direct: mysql_library_init failed\n");
		return 1;
	}

	struct thread *th = calloc((size_t)o.clients, sizeof(*th));
	if (th == NULL)
		return 1;
	pthread_barrier_init(&start_barrier, NULL, (unsigned)o.clients + 1);
	uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	for (int i = 0; i < o.clients; i++) {
		th[i].index = i;
		th[i].o = &o;
		th[i].rng = (seed + 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1)) | 1;
		if (pthread_create(&th[i].tid, NULL, client, &th[i]) != 0) {
			fprintf(stderr, "mysql_direct: pthread_create failed\n");
			return 1;
		}
	}
	pthread_barrier_wait(&start_barrier);
	t_start_ns = now_ns();
	t_end_ns = t_start_ns + o.seconds * 1e9;
	pthread_barrier_wait(&start_barrier);
	for (int i = 0; i < o.clients; i++)
		pthread_join(th[i].tid, NULL);
	double elapsed = (now_ns() - t_start_ns) / 1e9;

	size_t n = 0;
	uint64_t rows = 0, errors = 0;
	const char *first_error = NULL;
	for (int i = 0; i < o.clients; i++) {
		n += th[i].nlat;
		rows += th[i].rows;
		errors += th[i].errors;
		if (first_error == NULL && th[i].error[0])
			first_error = th[i].error;
	}
	uint64_t *all = malloc((n ? n : 1) * sizeof(*all));
	if (all == NULL)
		return 1;
	size_t k = 0;
	double sum = 0;
	for (int i = 0; i < o.clients; i++)
		for (size_t j = 0; j < th[i].nlat; j++) {
			all[k++] = th[i].lat_ns[j];
			sum += (double)th[i].lat_ns[j];
		}
	qsort(all, n, sizeof(*all), cmp_u64);
#define PCT(p) (n ? (double)all[(size_t)((double)(n - 1) * (p))] / 1e6 : 0.0)
	printf("{\"workload\":\"%s\",\"mode\":\"%s\",\"clients\":%d,\"seconds\":%.3f,"
	       "\"txns\":%zu,\"tps\":%.1f,\"rows\":%" PRIu64 ",\"errors\":%" PRIu64 ","
	       "\"lat_avg_ms\":%.4f,\"lat_p50_ms\":%.4f,\"lat_p99_ms\":%.4f,\"lat_max_ms\":%.4f",
	       o.range ? "range" : "point", o.prepared ? "prepared" : "text", o.clients, elapsed, n,
	       elapsed > 0 ? (double)n / elapsed : 0.0, rows, errors, n ? sum / (double)n / 1e6 : 0.0,
	       PCT(0.50), PCT(0.99), n ? (double)all[n - 1] / 1e6 : 0.0);
	if (first_error != NULL) {
		printf(",\"error\":");
		json_string(first_error);
		fprintf(stderr, "mysql_direct: %s\n", first_error);
	}
	printf("}\n");
	for (int i = 0; i < o.clients; i++)
		free(th[i].lat_ns);
	free(th);
	free(all);
	mysql_library_end();
	return first_error != NULL ? 1 : 0;
}

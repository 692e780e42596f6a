/*
 * main — command line, startup, signals, reload and shutdown.
 *
 * The main thread owns no client: it loads the configuration, starts the
 * workers, and then only waits for signals. SIGHUP loads the file again and,
 * if it is valid, publishes the new snapshot; SIGTERM/SIGINT start a graceful
 * drain (a second one exits at once).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "proxy/admin.h"
#include "proxy/control.h"
#include "proxy/cutover.h"
#include "proxy/log.h"
#include "proxy/mysql.h"
#include "proxy/proxy.h"
#include "proxy/tls.h"
#include "proxy/shadow.h"
#include "proxy/verify.h"
#include "proxy/worker.h"
#include "router/catalog.h"

struct cli {
	const char *config_path;
	bool check;
	bool init_control_table;
	int verbosity; /* -v adds one, -q subtracts one, relative to log_level */
};

static struct proxy the_proxy;
static struct cli cli;
static struct event *exit_ev;
static int exit_fd = -1; /* eventfd: a worker thread's loop ended */
static _Atomic int workers_running;

static void usage(FILE *f)
{
	fprintf(f, "usage: switchyard -c proxy.toml [--check | --init-control-table] [-v|-q] [--version]\n"
		   "  -c, --config FILE  configuration file (default: proxy.toml)\n"
		   "      --check        validate the configuration and exit 0 (valid) or 1\n"
		   "      --init-control-table\n"
		   "                     create [cutover] control_table in Supabase (if missing)\n"
		   "                     with a row per legacy table, and exit 0 or 1\n"
		   "  -v, --verbose      more log output (repeatable)\n"
		   "  -q, --quiet        less log output (repeatable)\n"
		   "      --version      print the version and exit\n"
		   "       switchyard verify -c proxy.toml [TABLE ...] [--chunk-rows N] "
		   "[--max-rows-per-s N] [--json]\n"
		   "                     compare legacy tables with their Supabase copies "
		   "(exit 0 same, 1 differ, 2 error)\n");
}

static bool parse_args(int argc, char **argv, struct cli *c)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'C' },
		{ "init-control-table", no_argument, NULL, 'I' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	c->config_path = "proxy.toml";
	while ((ch = getopt_long(argc, argv, "c:vqh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': c->config_path = optarg; break;
		case 'C': c->check = true; break;
		case 'I': c->init_control_table = true; break;
		case 'v': c->verbosity++; break;
		case 'q': c->verbosity--; break;
		case 'V': printf("switchyard %s\n", SY_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return false;
		}
	}
	if (optind < argc || (c->check && c->init_control_table)) {
		usage(stderr);
		return false;
	}
	return true;
}

static void apply_log_level(const struct config *cfg)
{
	int level = (int)cfg->proxy.log_level + cli.verbosity;

	if (level < CONFIG_LOG_ERROR)
		level = CONFIG_LOG_ERROR;
	if (level > CONFIG_LOG_DEBUG)
		level = CONFIG_LOG_DEBUG;
	log_set_level((enum config_log_level)level);
}

/*
 * Loads and validates; on failure prints every problem and returns NULL,
 * with the first one in <why> when given.
 */
static struct config *load_config(bool reloading, char *why, size_t why_cap)
{
	struct config_errors errs = { 0 };
	struct config *cfg = config_load(cli.config_path, &errs);

	if (cfg == NULL) {
		if (why != NULL)
			snprintf(why, why_cap, "%s%s", errs.n ? errs.lines[0] : "configuration invalid",
				 errs.n > 1 ? " (and more: see the log)" : "");
		for (size_t i = 0; i < errs.n; i++) {
			if (reloading) {
				char q[600];
				log_error(-1, -1, "config problem", "problem=%s",
					  log_quote(q, sizeof(q), errs.lines[i]));
			} else {
				fprintf(stderr, "%s\n", errs.lines[i]);
			}
		}
	}
	config_errors_clear(&errs);
	return cfg;
}

/*
 * With [mysql]: connects to the legacy MySQL, checks the account and reads
 * the legacy tables' definitions into cfg->catalog. At start-up any failure
 * stops the start. On reload a MySQL that cannot be reached keeps the
 * running catalog (when the running snapshot has one for the same database),
 * while a failed check (an account that can write, a table gone) rejects
 * the reload.
 */
static bool attach_catalog(struct config *cfg, const struct config *running)
{
	char err[1024];
	bool unreachable;

	if (!cfg->mysql.configured)
		return true;
	cfg->catalog = mysqlb_load_catalog(cfg, err, sizeof(err), &unreachable);
	if (cfg->catalog != NULL) {
		log_info(-1, -1, "legacy catalog loaded", "mysql=%s:%u database=%s tables=%zu",
			 cfg->mysql.host, (unsigned)cfg->mysql.port, cfg->mysql.database,
			 cfg->legacy.ntables);
		return true;
	}
	char q[1100];
	if (running == NULL) {
		fprintf(stderr, "%s: %s\n", cfg->path, err);
		log_error(-1, -1, "cannot start: legacy MySQL check failed", "problem=%s",
			  log_quote(q, sizeof(q), err));
		return false;
	}
	log_error(-1, -1, "legacy MySQL check failed", "problem=%s", log_quote(q, sizeof(q), err));
	if (unreachable && running->catalog != NULL &&
	    strcmp(running->mysql.database, cfg->mysql.database) == 0 &&
	    running->legacy.ntables == cfg->legacy.ntables) {
		/* Same tables, same database: the definitions read before still hold. */
		cfg->catalog = catalog_share(running->catalog);
		return cfg->catalog != NULL;
	}
	return false;
}

static bool build_tls(const struct config *cfg, SSL_CTX **client, SSL_CTX **upstream)
{
	char err[512];

	if (!tls_client_ctx_new(cfg, client, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", cfg->path, err);
		return false;
	}
	if (!tls_upstream_ctx_new(cfg, upstream, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", cfg->path, err);
		SSL_CTX_free(*client);
		return false;
	}
	return true;
}

/* ---- the open file limit ---- */

/*
 * Descriptors needed besides one per client and one per upstream connection:
 * stdio, the main loop (epoll, signal socketpair, exit eventfd), per worker
 * its epoll, wake eventfd, listener and DNS sockets, and headroom for
 * CancelRequests on their way upstream and clients refused at
 * max_client_conn (accepted first, then answered 53300).
 */
#define NOFILE_FIXED 32
#define NOFILE_PER_WORKER 8

struct nofile {
	rlim_t was;    /* soft limit at start */
	rlim_t soft;   /* soft limit now */
	rlim_t needed; /* what the configuration can use at once */
	int err;       /* errno of a failed raise, else 0 */
};

static rlim_t nofile_needed(const struct config *cfg)
{
	/* A [mysql] pool_size adds its connections here once the MySQL backend pools them. */
	return (rlim_t)cfg->proxy.max_client_conn + (rlim_t)cfg->supabase.pool_size + NOFILE_FIXED +
	       (rlim_t)NOFILE_PER_WORKER * (rlim_t)cfg->proxy.workers;
}

/* The most Linux lets a process open when the hard limit says "unlimited". */
static rlim_t nofile_ceiling(void)
{
	unsigned long long v = 1048576; /* the kernel's default fs.nr_open */
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");

	if (f != NULL) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 1048576;
		fclose(f);
	}
	return (rlim_t)v;
}

/*
 * Raises the soft RLIMIT_NOFILE to the hard limit — no privilege is needed
 * for that, and a proxy's clients are its descriptors: the 1024 most shells
 * and units default to would cap it far below max_client_conn. Fills <nf>.
 */
static void nofile_raise(const struct config *cfg, struct nofile *nf)
{
	struct rlimit rl;

	memset(nf, 0, sizeof(*nf));
	nf->needed = nofile_needed(cfg);
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		nf->err = errno;
		return;
	}
	nf->was = nf->soft = rl.rlim_cur;
	rlim_t target = rl.rlim_max == RLIM_INFINITY ? nofile_ceiling() : rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= target)
		return;
	rl.rlim_cur = target;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		nf->err = errno;
	else
		nf->soft = target;
}

static bool nofile_fits(const struct nofile *nf)
{
	return nf->soft == RLIM_INFINITY || nf->soft >= nf->needed;
}

/* At start: the raise at info, a limit that cannot fit the configuration at warn. */
static void nofile_log(const struct config *cfg, const struct nofile *nf)
{
	if (nf->err != 0)
		log_warn(-1, -1, "cannot raise the open file limit", "nofile=%llu error=%s",
			 (unsigned long long)nf->soft, strerror(nf->err));
	else if (nf->soft != nf->was)
		log_info(-1, -1, "raised the open file limit", "from=%llu nofile=%llu",
			 (unsigned long long)nf->was, (unsigned long long)nf->soft);
	if (!nofile_fits(nf))
		log_warn(-1, -1, "open file limit below what max_client_conn and the pools need",
			 "nofile=%llu needed=%llu max_client_conn=%d pool_size=%d workers=%d",
			 (unsigned long long)nf->soft, (unsigned long long)nf->needed,
			 cfg->proxy.max_client_conn, cfg->supabase.pool_size, cfg->proxy.workers);
}

/* With --check: the same finding, for a person at a terminal. */
static void nofile_print(const struct config *cfg, const struct nofile *nf)
{
	if (nofile_fits(nf))
		return;
	fprintf(stderr,
		"%s: warning: the open file limit (%llu) is below the %llu descriptors "
		"max_client_conn = %d and pool_size = %d can need; raise the hard limit "
		"(ulimit -Hn, systemd LimitNOFILE=) or lower max_client_conn\n",
		cli.config_path, (unsigned long long)nf->soft, (unsigned long long)nf->needed,
		cfg->proxy.max_client_conn, cfg->supabase.pool_size);
}

/*
 * One line per (table, SQLSTATE) with the refusals counted since start: the
 * operator's answer to "is anyone still writing legacy tables?". Logged on
 * every SIGHUP and at exit (metrics will expose the same counters).
 */
static void log_refusal_totals(void)
{
	struct refusal_count counts[REFUSALS_MAX_TABLES];
	size_t n = refusals_snapshot(&the_proxy.refusals, counts, REFUSALS_MAX_TABLES);
	char q[96];

	for (size_t i = 0; i < n; i++)
		log_info(-1, -1, "refusals since start", "table=%s sqlstate=%s count=%llu",
			 log_quote(q, sizeof(q), counts[i].table[0] ? counts[i].table : "-"),
			 counts[i].sqlstate, (unsigned long long)counts[i].count);
	/* Transaction pooling: how many clients state kept on one upstream. */
	if (atomic_load(&the_proxy.pins) > 0)
		log_info(-1, -1, "pins since start", "count=%llu",
			 (unsigned long long)atomic_load(&the_proxy.pins));
}

/*
 * SIGHUP and POST /reload: true if the file was loaded and published,
 * otherwise false with why in <why> (the running configuration stays).
 */
static bool reload(char *why, size_t why_cap)
{
	struct proxy *p = &the_proxy;
	SSL_CTX *ctls, *utls;
	struct config *cfg = load_config(true, why, why_cap);

	if (cfg != NULL && !attach_catalog(cfg, p->cfg)) {
		config_unref(cfg);
		cfg = NULL;
		snprintf(why, why_cap, "legacy MySQL check failed (see the log)");
	}
	if (cfg == NULL) {
		log_error(-1, -1, "reload rejected: keeping the running configuration", "file=%s",
			  cli.config_path);
		return false;
	}
	if (!build_tls(cfg, &ctls, &utls)) {
		log_error(-1, -1, "reload rejected: TLS files unusable", "file=%s", cli.config_path);
		snprintf(why, why_cap, "TLS files unusable (see the log)");
		config_unref(cfg);
		return false;
	}
	if (!cutover_apply_config(p->cutover, cfg)) {
		log_error(-1, -1, "reload rejected: out of memory for the cutover state", NULL);
		snprintf(why, why_cap, "out of memory for the cutover state");
		SSL_CTX_free(ctls);
		SSL_CTX_free(utls);
		config_unref(cfg);
		return false;
	}
	if (strcmp(cfg->proxy.listen_host, p->cfg->proxy.listen_host) != 0 ||
	    cfg->proxy.listen_port != p->cfg->proxy.listen_port ||
	    cfg->proxy.workers != p->cfg->proxy.workers)
		log_warn(-1, -1, "listen and workers changes take effect only after a restart", NULL);
	if (cfg->admin.configured != p->cfg->admin.configured ||
	    strcmp(cfg->admin.listen_host, p->cfg->admin.listen_host) != 0 ||
	    cfg->admin.listen_port != p->cfg->admin.listen_port)
		log_warn(-1, -1, "[admin] listen changes take effect only after a restart", NULL);
	pthread_mutex_lock(&p->snap_lock);
	struct config *old = p->cfg;
	SSL_CTX *old_c = p->client_tls, *old_u = p->upstream_tls;
	p->cfg = cfg;
	p->client_tls = ctls;
	p->upstream_tls = utls;
	pthread_mutex_unlock(&p->snap_lock);
	config_unref(old);
	SSL_CTX_free(old_c);
	SSL_CTX_free(old_u);
	apply_log_level(cfg);
	/* The control table's name or [supabase] may have changed (control.h says what restarts). */
	if (!control_apply_config(p->control, cfg))
		log_error(-1, -1, "out of memory for the control table: not following it", NULL);
	/* A larger max_client_conn or pool_size may no longer fit the limit. */
	struct nofile nf;
	nofile_raise(cfg, &nf);
	nofile_log(cfg, &nf);
	proxy_wake_all(p, PROXY_WAKE_RELOAD, NULL);
	log_info(-1, -1, "configuration reloaded", "users=%zu pool_size=%d log_level=%s",
		 cfg->nusers, cfg->supabase.pool_size, config_log_level_name(cfg->proxy.log_level));
	return true;
}

/* POST /reload: the same path as SIGHUP. */
static bool admin_reload(void *arg, char *why, size_t why_cap)
{
	(void)arg;
	bool ok = reload(why, why_cap);
	log_refusal_totals();
	return ok;
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;

	(void)what;
	if (sig == SIGHUP) {
		char why[1024];
		(void)reload(why, sizeof(why));
		log_refusal_totals();
		return;
	}
	if (atomic_exchange(&the_proxy.shutting_down, true)) {
		log_warn(-1, -1, "second shutdown signal: exiting now", NULL);
		exit(0);
	}
	log_info(-1, -1, "shutdown requested: draining", "grace_ms=%d",
		 the_proxy.cfg->proxy.shutdown_timeout_ms);
	proxy_wake_all(&the_proxy, PROXY_WAKE_SHUTDOWN, NULL);
	(void)base;
}

static void exit_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t count;

	(void)what;
	ssize_t n = read(fd, &count, sizeof(count));
	(void)n;
	if (atomic_load(&workers_running) == 0)
		event_base_loopexit(arg, NULL);
}

/* Called by a worker thread when its loop ends. */
void proxy_worker_exited(void)
{
	uint64_t one = 1;

	atomic_fetch_sub(&workers_running, 1);
	ssize_t n = write(exit_fd, &one, sizeof(one));
	(void)n;
}

static bool proxy_init(struct proxy *p, struct config *cfg)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->snap_lock, NULL);
	pthread_mutex_init(&p->user_slots_lock, NULL);
	p->cfg = cfg;
	atomic_store(&p->next_session_id, 1);
	if (RAND_bytes(p->mock_secret, sizeof(p->mock_secret)) != 1)
		return false;
	if (!build_tls(cfg, &p->client_tls, &p->upstream_tls))
		return false;
	p->cutover = cutover_new();
	if (p->cutover == NULL || !cutover_apply_config(p->cutover, cfg))
		return false;
	return cancel_registry_init(&p->cancels) && refusals_init(&p->refusals);
}

static int run(struct config *cfg)
{
	struct proxy *p = &the_proxy;
	struct event_base *base;
	struct admin *admin = NULL;
	struct timespec started;

	clock_gettime(CLOCK_REALTIME, &started);

	if (!proxy_init(p, cfg))
		return 1;
	p->nworkers = cfg->proxy.workers;
	p->workers = calloc((size_t)p->nworkers, sizeof(struct worker));
	base = event_base_new();
	if (p->workers == NULL || base == NULL)
		return 1;
	/* Before the workers: a rollback must find its hook in place. */
	p->control = control_new(base, p->cutover);
	if (p->control == NULL || !control_apply_config(p->control, cfg))
		return 1;
	exit_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (exit_fd < 0)
		return 1;
	exit_ev = event_new(base, exit_fd, EV_READ | EV_PERSIST, exit_cb, base);
	event_add(exit_ev, NULL);
	struct event *sig_hup = evsignal_new(base, SIGHUP, signal_cb, base);
	struct event *sig_term = evsignal_new(base, SIGTERM, signal_cb, base);
	struct event *sig_int = evsignal_new(base, SIGINT, signal_cb, base);
	evsignal_add(sig_hup, NULL);
	evsignal_add(sig_term, NULL);
	evsignal_add(sig_int, NULL);
	/*
	 * The admin runs on this thread's base: it reads p->cfg, which only this
	 * thread swaps. It is bound before the workers' listeners, so it answers
	 * by the time clients can connect.
	 */
	if (cfg->admin.configured) {
		admin = admin_new(base, p, (int64_t)started.tv_sec * 1000 + started.tv_nsec / 1000000,
				  admin_reload, NULL);
		if (admin == NULL)
			return 1;
	}
	p->shadow = shadow_runner_start(p, p->nworkers);
	if (p->shadow == NULL)
		return 1;
	for (int i = 0; i < p->nworkers; i++) {
		if (!worker_init(&p->workers[i], p, i)) {
			log_error(i, -1, "worker failed to start", NULL);
			return 1;
		}
	}
	atomic_store(&workers_running, p->nworkers);
	for (int i = 0; i < p->nworkers; i++)
		if (!worker_start(&p->workers[i]))
			return 1;
	log_info(-1, -1, "switchyard started",
		 "version=%s listen=%s:%u workers=%d upstream=%s:%u sslmode=%s pool_size=%d",
		 SY_VERSION, cfg->proxy.listen_host, (unsigned)cfg->proxy.listen_port, p->nworkers,
		 cfg->supabase.host, (unsigned)cfg->supabase.port,
		 config_sslmode_name(cfg->supabase.sslmode), cfg->supabase.pool_size);
	event_base_dispatch(base);
	for (int i = 0; i < p->nworkers; i++)
		worker_join(&p->workers[i]);
	for (int i = 0; i < p->nworkers; i++)
		worker_destroy(&p->workers[i]);
	/* No worker submits shadows any more, and none can roll back: both can go. */
	shadow_runner_stop(p->shadow);
	p->shadow = NULL;
	control_free(p->control);
	p->control = NULL;
	log_refusal_totals();
	admin_free(admin);
	event_free(sig_hup);
	event_free(sig_term);
	event_free(sig_int);
	event_free(exit_ev);
	close(exit_fd);
	event_base_free(base);
	free(p->workers);
	cancel_registry_destroy(&p->cancels);
	refusals_destroy(&p->refusals);
	SSL_CTX_free(p->client_tls);
	SSL_CTX_free(p->upstream_tls);
	config_unref(p->cfg);
	log_info(-1, -1, "switchyard stopped", NULL);
	return 0;
}

int main(int argc, char **argv)
{
	/* A subcommand of its own: blocking, one-shot, no workers. */
	if (argc > 1 && strcmp(argv[1], "verify") == 0)
		return verify_main(argc - 1, argv + 1);
	if (!parse_args(argc, argv, &cli))
		return 1;
	signal(SIGPIPE, SIG_IGN);
	struct config *cfg = load_config(false, NULL, 0);
	if (cfg == NULL)
		return 1;
	if (cli.init_control_table) {
		int rc = control_init_table(cfg, stdout, stderr);
		config_unref(cfg);
		return rc;
	}
	struct nofile nf;
	nofile_raise(cfg, &nf);
	if (cli.check) {
		SSL_CTX *c = NULL, *u = NULL;
		bool ok = build_tls(cfg, &c, &u);
		SSL_CTX_free(c);
		SSL_CTX_free(u);
		/* A warning, not a failure: the limit belongs to where it runs, not to the file. */
		nofile_print(cfg, &nf);
		config_unref(cfg);
		if (ok)
			printf("%s: configuration is valid\n", cli.config_path);
		return ok ? 0 : 1;
	}
	apply_log_level(cfg);
	nofile_log(cfg, &nf);
	if (!attach_catalog(cfg, NULL)) {
		config_unref(cfg);
		return 1;
	}
	return run(cfg);
}

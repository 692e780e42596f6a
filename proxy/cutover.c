/*
 * cutover — live weights, windows and rollback of the legacy table groups
 * (see cutover.h).
 *
 * Windows are rings of time buckets per table, written with relaxed
 * atomics by every worker. A bucket covers <width> seconds, width chosen so
 * that a rollback window spans about CUTOVER_HISTORY / 2 buckets; a writer
 * that finds a bucket from an older period resets it first. Two writers
 * racing over that reset can lose a sample at the boundary: these are
 * statistics, not accounts.
 *
 * The latency threshold is checked exactly: each bucket counts the reads
 * slower than the configured max_latency_ms, so "p99 over the threshold"
 * is "more than 1 % of the window's reads were slower". The histogram only
 * serves the p99 shown on /status (upper bound, within 19 %).
 */
#include "proxy/cutover.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/log.h"

#define RING (CUTOVER_HISTORY * 2)
#define HIST_MIN_SHIFT 6   /* 64 µs and below share the first bucket */
#define HIST_OCTAVES 22    /* up to 2^28 µs (268 s); slower reads count in the last */
#define HIST_SUB 4         /* buckets per power of two */
#define HIST_N (HIST_OCTAVES * HIST_SUB)

struct side_stats {
	_Atomic uint32_t reads, errors, slow;
	_Atomic uint32_t max_us;
	_Atomic uint32_t hist[HIST_N];
};

struct bucket {
	_Atomic int64_t start_s; /* wall-clock second the bucket began; 0 = never used */
	struct side_stats side[2];
	_Atomic uint32_t shadow_match, shadow_mismatch, shadow_dropped;
};

struct cutover_table {
	char *name;
	struct cutover_table *next;   /* all tables ever seen */
	_Atomic int weight;           /* in force; equal across a group's members */

	/* Under c->lock. */
	int file_weight;              /* what the last applied file said */
	enum cutover_state state;
	char reason[256];
	int64_t changed_ms;
	char changed_by[32];
	uint64_t rollbacks;
	/*
	 * Rollback judges only what happened since the weight last changed:
	 * buckets from before <from_s> do not count, and of the bucket
	 * starting at <from_s> only what came after (minus <base>).
	 */
	int64_t from_s;
	struct { uint32_t reads, errors, slow, match, mismatch; } base;

	_Atomic uint64_t total_reads[2], total_errors[2];
	_Atomic uint64_t total_shadow[3];
	struct bucket ring[RING];
};

struct cutover {
	pthread_mutex_t lock;
	struct cutover_table *tables;
	/* Shadow outcomes per fingerprint, under <lock> (a shadow is rare next to a read). */
	struct cutover_fp_stats fps[CUTOVER_FINGERPRINTS];
	size_t nfps;
	_Atomic uint64_t rollbacks;
	cutover_rollback_fn on_rollback;
	void *on_rollback_arg;
};

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t width_of(const struct config *cfg)
{
	int w = cfg->cutover.rollback.window_s;
	int64_t width = (w + CUTOVER_HISTORY / 2 - 1) / (CUTOVER_HISTORY / 2);
	return width < 1 ? 1 : width;
}

struct cutover *cutover_new(void)
{
	struct cutover *c = calloc(1, sizeof(*c));
	if (c != NULL)
		pthread_mutex_init(&c->lock, NULL);
	return c;
}

void cutover_free(struct cutover *c)
{
	if (c == NULL)
		return;
	while (c->tables != NULL) {
		struct cutover_table *t = c->tables;
		c->tables = t->next;
		free(t->name);
		free(t);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static struct cutover_table *find_locked(struct cutover *c, const char *name)
{
	for (struct cutover_table *t = c->tables; t != NULL; t = t->next) {
		if (strcmp(t->name, name) == 0)
			return t;
	}
	return NULL;
}

struct cutover_table *cutover_find(struct cutover *c, const char *name)
{
	pthread_mutex_lock(&c->lock);
	struct cutover_table *t = find_locked(c, name);
	pthread_mutex_unlock(&c->lock);
	return t;
}

static struct bucket *current(struct cutover_table *t, const struct config *cfg);

/* A new weight: the rollback window starts again from here. */
static void mark_changed(struct cutover_table *t, const struct config *cfg, const char *by)
{
	struct bucket *b = current(t, cfg);
	struct side_stats *ss = &b->side[CUTOVER_SUPABASE];

	t->changed_ms = wall_ms();
	snprintf(t->changed_by, sizeof(t->changed_by), "%s", by);
	t->from_s = atomic_load(&b->start_s);
	t->base.reads = atomic_load(&ss->reads);
	t->base.errors = atomic_load(&ss->errors);
	t->base.slow = atomic_load(&ss->slow);
	t->base.match = atomic_load(&b->shadow_match);
	t->base.mismatch = atomic_load(&b->shadow_mismatch);
}

/* Sets every member of group <g> of <cfg>, under the lock. */
static void set_group_locked(struct cutover *c, const struct config *cfg, size_t g, int weight,
			     enum cutover_state state, const char *reason, const char *by)
{
	const struct config_cutover_group *grp = &cfg->cutover.groups[g];
	for (size_t i = 0; i < grp->ntables; i++) {
		struct cutover_table *t = find_locked(c, cfg->legacy.tables[grp->tables[i]]);
		if (t == NULL)
			continue;
		atomic_store(&t->weight, weight);
		t->state = state;
		snprintf(t->reason, sizeof(t->reason), "%s", reason ? reason : "");
		mark_changed(t, cfg, by);
	}
}

bool cutover_apply_config(struct cutover *c, const struct config *cfg)
{
	const struct config_cutover *co = &cfg->cutover;
	size_t n = cfg->legacy.ntables;
	bool ok = true;

	pthread_mutex_lock(&c->lock);
	/* First every table exists, so a failure leaves weights untouched. */
	for (size_t i = 0; i < n && ok; i++) {
		if (find_locked(c, cfg->legacy.tables[i]) != NULL)
			continue;
		struct cutover_table *t = calloc(1, sizeof(*t));
		char *name = strdup(cfg->legacy.tables[i]);
		if (t == NULL || name == NULL) {
			free(t);
			free(name);
			ok = false;
			break;
		}
		t->name = name;
		t->file_weight = -1; /* never applied */
		t->next = c->tables;
		c->tables = t;
	}
	for (size_t g = 0; ok && g < co->ngroups; g++) {
		const struct config_cutover_group *grp = &co->groups[g];
		bool file_changed = false, disagree = false;
		int live = -1;
		for (size_t i = 0; i < grp->ntables; i++) {
			struct cutover_table *t = find_locked(c, cfg->legacy.tables[grp->tables[i]]);
			if (t->file_weight != grp->weight)
				file_changed = true;
			int w = atomic_load(&t->weight);
			if (live >= 0 && w != live)
				disagree = true;
			live = w;
		}
		if (file_changed || disagree) {
			for (size_t i = 0; i < grp->ntables; i++) {
				struct cutover_table *t =
					find_locked(c, cfg->legacy.tables[grp->tables[i]]);
				bool moved = atomic_load(&t->weight) != grp->weight;
				t->file_weight = grp->weight;
				if (!moved && t->state == CUTOVER_ACTIVE)
					continue;
				atomic_store(&t->weight, grp->weight);
				t->state = CUTOVER_ACTIVE;
				t->reason[0] = '\0';
				mark_changed(t, cfg, "file");
			}
			if (file_changed)
				log_event(CONFIG_LOG_INFO, -1, -1, "cutover weight from the file", "group=%s weight=%d",
					  grp->name, grp->weight);
		}
	}
	pthread_mutex_unlock(&c->lock);
	return ok;
}

bool cutover_bind(struct cutover *c, const struct config *cfg, struct cutover_table **out)
{
	bool ok = true;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < cfg->legacy.ntables; i++) {
		const struct config_cutover_group *grp = &cfg->cutover.groups[cfg->cutover.group_of[i]];
		out[i] = find_locked(c, cfg->legacy.tables[grp->tables[0]]);
		if (out[i] == NULL)
			ok = false;
	}
	pthread_mutex_unlock(&c->lock);
	return ok;
}

int cutover_weight(const struct cutover_table *t)
{
	return atomic_load_explicit(&t->weight, memory_order_relaxed);
}

/* FNV-1a 64 over the bytes, then a splitmix64 finish so that every bit counts. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ull;
	}
	return h;
}

unsigned cutover_point(const void *key, size_t key_len, const char *group_name)
{
	uint64_t h = hash_bytes(1469598103934665603ull, key, key_len);
	h = hash_bytes(h, "\xff", 1); /* keeps "ab"+"c" apart from "a"+"bc" */
	h = hash_bytes(h, group_name, strlen(group_name));
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return (unsigned)(h % 100u);
}

size_t cutover_client_key(unsigned key_bits, const char *user, const char *application,
			  const char *addr, char *out, size_t cap)
{
	const char *parts[3] = { user, application, addr };
	const unsigned bits[3] = { CONFIG_CUTOVER_KEY_USER, CONFIG_CUTOVER_KEY_APPLICATION,
				   CONFIG_CUTOVER_KEY_ADDR };
	size_t n = 0;

	for (size_t i = 0; i < 3; i++) {
		if (!(key_bits & bits[i]))
			continue;
		const char *p = parts[i] ? parts[i] : "";
		size_t len = strlen(p);
		if (n + len + 1 > cap)
			len = n + 1 > cap ? 0 : cap - n - 1;
		if (n + len + 1 > cap)
			break;
		memcpy(out + n, p, len);
		n += len;
		out[n++] = '\0';
	}
	return n;
}

bool cutover_set_weight(struct cutover *c, const struct config *cfg, const char *table,
			int weight, const char *who, char *err, size_t err_cap)
{
	int t = config_legacy_index(cfg, table);

	if (t < 0) {
		snprintf(err, err_cap, "\"%s\" is not a legacy table", table);
		return false;
	}
	if (weight < 0 || weight > 100) {
		snprintf(err, err_cap, "weight must be an integer from 0 to 100, not %d", weight);
		return false;
	}
	size_t g = cfg->cutover.group_of[t];
	pthread_mutex_lock(&c->lock);
	set_group_locked(c, cfg, g, weight, CUTOVER_ACTIVE, NULL, who);
	pthread_mutex_unlock(&c->lock);
	log_event(CONFIG_LOG_WARN, -1, -1, "cutover weight changed", "group=%s weight=%d by=%s",
		  cfg->cutover.groups[g].name, weight, who);
	return true;
}

/* ---- windows ---- */

static unsigned hist_index(uint64_t us)
{
	if (us < (1u << HIST_MIN_SHIFT))
		return 0;
	unsigned top = 63u - (unsigned)__builtin_clzll(us);
	unsigned sub = (unsigned)(us >> (top - 2)) & (HIST_SUB - 1);
	unsigned i = (top - HIST_MIN_SHIFT) * HIST_SUB + sub;
	return i >= HIST_N ? HIST_N - 1 : i;
}

/* The largest value of histogram bucket <i>. */
static uint64_t hist_upper(unsigned i)
{
	unsigned top = i / HIST_SUB + HIST_MIN_SHIFT, sub = i % HIST_SUB;
	return ((uint64_t)(HIST_SUB + sub + 1) << (top - 2)) - 1;
}

static void zero_bucket(struct bucket *b)
{
	for (int s = 0; s < 2; s++) {
		struct side_stats *ss = &b->side[s];
		atomic_store_explicit(&ss->reads, 0, memory_order_relaxed);
		atomic_store_explicit(&ss->errors, 0, memory_order_relaxed);
		atomic_store_explicit(&ss->slow, 0, memory_order_relaxed);
		atomic_store_explicit(&ss->max_us, 0, memory_order_relaxed);
		for (int i = 0; i < HIST_N; i++)
			atomic_store_explicit(&ss->hist[i], 0, memory_order_relaxed);
	}
	atomic_store_explicit(&b->shadow_match, 0, memory_order_relaxed);
	atomic_store_explicit(&b->shadow_mismatch, 0, memory_order_relaxed);
	atomic_store_explicit(&b->shadow_dropped, 0, memory_order_relaxed);
}

/* The bucket for now, reset when it still holds an older period. */
static struct bucket *current(struct cutover_table *t, const struct config *cfg)
{
	int64_t width = width_of(cfg);
	int64_t now_s = wall_ms() / 1000;
	int64_t start = now_s - now_s % width;
	struct bucket *b = &t->ring[(start / width) % RING];
	int64_t seen = atomic_load_explicit(&b->start_s, memory_order_acquire);

	if (seen != start &&
	    atomic_compare_exchange_strong(&b->start_s, &seen, start))
		zero_bucket(b);
	return b;
}

static void add(_Atomic uint32_t *x, uint32_t v)
{
	atomic_fetch_add_explicit(x, v, memory_order_relaxed);
}

static void raise_max(_Atomic uint32_t *x, uint32_t v)
{
	uint32_t old = atomic_load_explicit(x, memory_order_relaxed);
	while (v > old && !atomic_compare_exchange_weak(x, &old, v))
		;
}

void cutover_note_read(struct cutover *c, const struct config *cfg, struct cutover_table *t,
		       enum cutover_side side, uint64_t latency_us, bool failed)
{
	struct bucket *b = current(t, cfg);
	struct side_stats *ss = &b->side[side];
	uint64_t limit_us = (uint64_t)cfg->cutover.rollback.max_latency_ms * 1000u;
	bool slow = latency_us > limit_us;

	add(&ss->reads, 1);
	add(&ss->hist[hist_index(latency_us)], 1);
	raise_max(&ss->max_us, latency_us > UINT32_MAX ? UINT32_MAX : (uint32_t)latency_us);
	atomic_fetch_add_explicit(&t->total_reads[side], 1, memory_order_relaxed);
	if (slow)
		add(&ss->slow, 1);
	if (failed) {
		add(&ss->errors, 1);
		atomic_fetch_add_explicit(&t->total_errors[side], 1, memory_order_relaxed);
	}
	if (side == CUTOVER_SUPABASE && (failed || slow))
		cutover_check(c, cfg, t);
}

void cutover_note_shadow(struct cutover *c, const struct config *cfg, struct cutover_table *t,
			 enum cutover_shadow what)
{
	struct bucket *b = current(t, cfg);

	atomic_fetch_add_explicit(&t->total_shadow[what], 1, memory_order_relaxed);
	switch (what) {
	case CUTOVER_SHADOW_MATCH:
		add(&b->shadow_match, 1);
		break;
	case CUTOVER_SHADOW_MISMATCH:
		add(&b->shadow_mismatch, 1);
		cutover_check(c, cfg, t);
		break;
	case CUTOVER_SHADOW_DROPPED:
		add(&b->shadow_dropped, 1);
		break;
	}
}

bool cutover_note_fingerprint(struct cutover *c, uint64_t fingerprint, const char *table,
			      bool mismatch)
{
	bool first = false;
	pthread_mutex_lock(&c->lock);
	struct cutover_fp_stats *f = NULL;
	for (size_t i = 0; i < c->nfps && f == NULL; i++) {
		if (c->fps[i].fingerprint == fingerprint && strcmp(c->fps[i].table, table) == 0)
			f = &c->fps[i];
	}
	if (f == NULL && c->nfps < CUTOVER_FINGERPRINTS - 1) {
		f = &c->fps[c->nfps++];
		f->fingerprint = fingerprint;
		snprintf(f->table, sizeof(f->table), "%s", table);
	}
	if (f == NULL) {
		/* Full: the last slot counts every other fingerprint. */
		f = &c->fps[CUTOVER_FINGERPRINTS - 1];
		if (c->nfps < CUTOVER_FINGERPRINTS) {
			c->nfps = CUTOVER_FINGERPRINTS;
			f->fingerprint = 0;
			snprintf(f->table, sizeof(f->table), "%s", "other");
		}
	}
	if (mismatch) {
		first = f->mismatch == 0;
		f->mismatch++;
	} else {
		f->match++;
	}
	pthread_mutex_unlock(&c->lock);
	return first;
}

size_t cutover_fingerprints(struct cutover *c, struct cutover_fp_stats *out, size_t max)
{
	pthread_mutex_lock(&c->lock);
	size_t n = c->nfps < max ? c->nfps : max;
	memcpy(out, c->fps, n * sizeof(*out));
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* Sums of one group's buckets within the window. */
struct sums {
	struct cutover_window w;
	uint64_t hist[2][HIST_N];
	/* Supabase reads and shadows since the weight last changed, for rollback */
	uint64_t judged_reads, judged_errors, judged_slow, judged_match, judged_mismatch;
};

static bool in_window(int64_t start, int64_t now_s, int64_t window_s, int64_t width)
{
	return start != 0 && start <= now_s && start + width > now_s - window_s;
}

static void sum_table(struct cutover_table *t, const struct config *cfg, struct sums *s)
{
	int64_t width = width_of(cfg), now_s = wall_ms() / 1000;
	int64_t window = cfg->cutover.rollback.window_s;

	for (int i = 0; i < RING; i++) {
		struct bucket *b = &t->ring[i];
		if (!in_window(atomic_load(&b->start_s), now_s, window, width))
			continue;
		for (int sd = 0; sd < 2; sd++) {
			struct side_stats *ss = &b->side[sd];
			s->w.reads[sd] += atomic_load_explicit(&ss->reads, memory_order_relaxed);
			s->w.errors[sd] += atomic_load_explicit(&ss->errors, memory_order_relaxed);
			uint64_t mx = atomic_load_explicit(&ss->max_us, memory_order_relaxed);
			if (mx > s->w.max_us[sd])
				s->w.max_us[sd] = mx;
			for (int h = 0; h < HIST_N; h++)
				s->hist[sd][h] += atomic_load_explicit(&ss->hist[h], memory_order_relaxed);
		}
		uint32_t match = atomic_load_explicit(&b->shadow_match, memory_order_relaxed);
		uint32_t mismatch = atomic_load_explicit(&b->shadow_mismatch, memory_order_relaxed);
		s->w.shadow_match += match;
		s->w.shadow_mismatch += mismatch;
		s->w.shadow_dropped += atomic_load_explicit(&b->shadow_dropped, memory_order_relaxed);
		int64_t start = atomic_load(&b->start_s);
		if (start < t->from_s)
			continue;
		struct side_stats *ss = &b->side[CUTOVER_SUPABASE];
		uint32_t reads = atomic_load(&ss->reads), errors = atomic_load(&ss->errors);
		uint32_t slow = atomic_load(&ss->slow);
		if (start == t->from_s) { /* the bucket the change fell in: only what came after */
			reads = reads > t->base.reads ? reads - t->base.reads : 0;
			errors = errors > t->base.errors ? errors - t->base.errors : 0;
			slow = slow > t->base.slow ? slow - t->base.slow : 0;
			match = match > t->base.match ? match - t->base.match : 0;
			mismatch = mismatch > t->base.mismatch ? mismatch - t->base.mismatch : 0;
		}
		s->judged_reads += reads;
		s->judged_errors += errors;
		s->judged_slow += slow;
		s->judged_match += match;
		s->judged_mismatch += mismatch;
	}
}

static uint64_t p99_of(const uint64_t *hist, uint64_t n)
{
	if (n == 0)
		return 0;
	uint64_t want = n - n / 100, seen = 0; /* the rank of the 99th percentile */
	for (unsigned i = 0; i < HIST_N; i++) {
		seen += hist[i];
		if (seen >= want)
			return hist_upper(i);
	}
	return hist_upper(HIST_N - 1);
}

static void sum_group(struct cutover *c, const struct config *cfg, size_t g, struct sums *s)
{
	const struct config_cutover_group *grp = &cfg->cutover.groups[g];

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < grp->ntables; i++) {
		struct cutover_table *t = find_locked(c, cfg->legacy.tables[grp->tables[i]]);
		if (t != NULL)
			sum_table(t, cfg, s);
	}
	for (int sd = 0; sd < 2; sd++)
		s->w.p99_us[sd] = p99_of(s->hist[sd], s->w.reads[sd]);
}

/* The reason the window trips a threshold, or false. */
static bool tripped(const struct config *cfg, const struct sums *s, char *why, size_t cap)
{
	const struct config_rollback *rb = &cfg->cutover.rollback;
	uint64_t n = s->judged_reads;
	uint64_t shadows = s->judged_match + s->judged_mismatch;

	if (n >= (uint64_t)rb->min_samples) {
		double err = (double)s->judged_errors / (double)n;
		if (err > rb->max_error_rate) {
			snprintf(why, cap, "error rate %.1f %% over the last %d s (%llu of %llu reads "
				 "on Supabase failed; threshold %.1f %%)", err * 100.0, rb->window_s,
				 (unsigned long long)s->judged_errors,
				 (unsigned long long)n, rb->max_error_rate * 100.0);
			return true;
		}
		if (s->judged_slow * 100 > n) {
			snprintf(why, cap, "p99 latency over %d ms in the last %d s (%llu of %llu reads "
				 "on Supabase slower, slowest %llu ms)", rb->max_latency_ms, rb->window_s,
				 (unsigned long long)s->judged_slow, (unsigned long long)n,
				 (unsigned long long)(s->w.max_us[CUTOVER_SUPABASE] / 1000));
			return true;
		}
	}
	if (shadows >= (uint64_t)rb->min_samples ||
	    (rb->max_mismatch_rate == 0.0 && s->judged_mismatch > 0)) {
		double mm = shadows ? (double)s->judged_mismatch / (double)shadows : 0.0;
		if (mm > rb->max_mismatch_rate) {
			snprintf(why, cap, "shadow mismatch rate %.1f %% over the last %d s (%llu of %llu "
				 "compared reads differed; threshold %.1f %%)", mm * 100.0, rb->window_s,
				 (unsigned long long)s->judged_mismatch, (unsigned long long)shadows,
				 rb->max_mismatch_rate * 100.0);
			return true;
		}
	}
	return false;
}

bool cutover_check(struct cutover *c, const struct config *cfg, struct cutover_table *t)
{
	char why[256];
	struct sums *s = malloc(sizeof(*s));
	int at = config_legacy_index(cfg, t->name);
	bool rolled = false;

	if (s == NULL || at < 0) {
		free(s);
		return false;
	}
	size_t g = cfg->cutover.group_of[at];
	const struct config_cutover_group *grp = &cfg->cutover.groups[g];
	pthread_mutex_lock(&c->lock);
	struct cutover_table *first = find_locked(c, cfg->legacy.tables[grp->tables[0]]);
	if (first != NULL && atomic_load(&first->weight) > 0) {
		sum_group(c, cfg, g, s);
		if (tripped(cfg, s, why, sizeof(why))) {
			set_group_locked(c, cfg, g, 0, CUTOVER_ROLLED_BACK, why, "rollback");
			first->rollbacks++;
			atomic_fetch_add(&c->rollbacks, 1);
			rolled = true;
		}
	}
	cutover_rollback_fn fn = c->on_rollback;
	void *arg = c->on_rollback_arg;
	pthread_mutex_unlock(&c->lock);
	free(s);
	if (rolled) {
		char q[300];
		log_event(CONFIG_LOG_ERROR, -1, -1, "cutover rolled back: reads go to MySQL again",
			  "group=%s reason=%s", grp->name, log_quote(q, sizeof(q), why));
		if (fn != NULL)
			fn(arg, cfg->legacy.tables[grp->tables[0]], why);
	}
	return rolled;
}

void cutover_on_rollback(struct cutover *c, cutover_rollback_fn fn, void *arg)
{
	pthread_mutex_lock(&c->lock);
	c->on_rollback = fn;
	c->on_rollback_arg = arg;
	pthread_mutex_unlock(&c->lock);
}

uint64_t cutover_rollbacks_total(struct cutover *c)
{
	return atomic_load(&c->rollbacks);
}

/* The group's history, one point per bucket period, oldest first. */
static size_t history(struct cutover *c, const struct config *cfg, size_t g,
		      struct cutover_point_stats *out)
{
	const struct config_cutover_group *grp = &cfg->cutover.groups[g];
	int64_t width = width_of(cfg), now_s = wall_ms() / 1000;
	int64_t last = now_s - now_s % width;

	for (size_t k = 0; k < CUTOVER_HISTORY; k++) {
		int64_t start = last - (int64_t)(CUTOVER_HISTORY - 1 - k) * width;
		struct cutover_point_stats *p = &out[k];
		uint64_t hist[2][HIST_N];
		memset(p, 0, sizeof(*p));
		memset(hist, 0, sizeof(hist));
		p->at_ms = start * 1000;
		for (size_t i = 0; i < grp->ntables; i++) {
			struct cutover_table *t = find_locked(c, cfg->legacy.tables[grp->tables[i]]);
			if (t == NULL)
				continue;
			struct bucket *b = &t->ring[(start / width) % RING];
			if (atomic_load(&b->start_s) != start)
				continue;
			for (int sd = 0; sd < 2; sd++) {
				p->reads[sd] += atomic_load(&b->side[sd].reads);
				p->errors[sd] += atomic_load(&b->side[sd].errors);
				for (int h = 0; h < HIST_N; h++)
					hist[sd][h] += atomic_load(&b->side[sd].hist[h]);
			}
			p->shadow_mismatch += atomic_load(&b->shadow_mismatch);
		}
		for (int sd = 0; sd < 2; sd++) {
			uint64_t v = p99_of(hist[sd], p->reads[sd]);
			p->p99_us[sd] = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
		}
	}
	return CUTOVER_HISTORY;
}

size_t cutover_status(struct cutover *c, const struct config *cfg,
		      struct cutover_group_status *out, size_t max)
{
	size_t n = 0;
	struct sums *s = malloc(sizeof(*s));

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&c->lock);
	for (size_t g = 0; g < cfg->cutover.ngroups && n < max; g++) {
		const struct config_cutover_group *grp = &cfg->cutover.groups[g];
		struct cutover_table *first = find_locked(c, cfg->legacy.tables[grp->tables[0]]);
		if (first == NULL)
			continue;
		struct cutover_group_status *st = &out[n++];
		memset(st, 0, sizeof(*st));
		snprintf(st->name, sizeof(st->name), "%s", grp->name);
		st->first_table = grp->tables[0];
		st->weight = atomic_load(&first->weight);
		st->file_weight = grp->weight;
		st->state = first->state;
		snprintf(st->reason, sizeof(st->reason), "%s", first->reason);
		st->changed_ms = first->changed_ms;
		snprintf(st->changed_by, sizeof(st->changed_by), "%s", first->changed_by);
		st->rollbacks = first->rollbacks;
		st->copied = st->weight > 0;
		for (size_t i = 0; i < grp->ntables; i++) {
			struct cutover_table *t = find_locked(c, cfg->legacy.tables[grp->tables[i]]);
			if (cfg->cutover.copied[grp->tables[i]])
				st->copied = true;
			if (t == NULL)
				continue;
			for (int sd = 0; sd < 2; sd++) {
				st->total_reads[sd] += atomic_load(&t->total_reads[sd]);
				st->total_errors[sd] += atomic_load(&t->total_errors[sd]);
			}
			st->total_shadow_match += atomic_load(&t->total_shadow[CUTOVER_SHADOW_MATCH]);
			st->total_shadow_mismatch +=
				atomic_load(&t->total_shadow[CUTOVER_SHADOW_MISMATCH]);
			st->total_shadow_dropped += atomic_load(&t->total_shadow[CUTOVER_SHADOW_DROPPED]);
		}
		sum_group(c, cfg, g, s);
		st->window = s->w;
		st->nhistory = history(c, cfg, g, st->history);
	}
	pthread_mutex_unlock(&c->lock);
	free(s);
	return n;
}

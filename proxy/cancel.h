/*
 * cancel — CancelRequest routing across workers.
 *
 * A client's BackendKeyData (upstream pid + switchyard's own secret) maps to
 * the upstream connection its session is using. The map is shared by all
 * workers because a CancelRequest arrives on a new connection that the
 * kernel may hand to any worker (SO_REUSEPORT). It is touched when a session
 * gains or loses its upstream and when a cancel arrives — never per message —
 * so one mutex is enough.
 */
#ifndef SY_CANCEL_H
#define SY_CANCEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Where a cancel must go: the upstream address and the upstream's own key. */
struct cancel_target {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int32_t pid;
	int32_t key;
	/* The session the key belongs to: a MySQL query it runs is cancelled too. */
	int worker;
	int64_t session;
};

struct cancel_entry;

struct cancel_registry {
	pthread_mutex_t lock;
	struct cancel_entry **buckets;
	size_t nbuckets;
	size_t count;
};

bool cancel_registry_init(struct cancel_registry *reg) __attribute__((warn_unused_result));
void cancel_registry_destroy(struct cancel_registry *reg);

/* Registers the client-facing key (pid, secret) -> target (copied). */
bool cancel_register(struct cancel_registry *reg, int32_t pid, int32_t secret,
		     const struct cancel_target *target) __attribute__((warn_unused_result));
void cancel_unregister(struct cancel_registry *reg, int32_t pid, int32_t secret);
/* Copies the target for (pid, secret) into *out; false if unknown. */
bool cancel_lookup(struct cancel_registry *reg, int32_t pid, int32_t secret,
		   struct cancel_target *out);

#endif

/*
 * pipeline — a session's ordered request queue: who answers each client
 * message, and which upstream reply belongs to which message.
 *
 * Every client message that earns a reply (or may: Flush, CopyDone) is an
 * entry, in the order the client sent it. An entry is answered either by the
 * upstream (its bytes were forwarded) or locally (switchyard writes the
 * answer itself: a refusal now, MySQL next). Replies leave in request order:
 * a local answer is written only when its entry reaches the head, after the
 * upstream has answered everything before it.
 *
 * Upstream replies retire entries by their type, the way Postgres produces
 * them: ParseComplete answers a Parse, CommandComplete an Execute, an
 * ErrorResponse an extended-protocol message and marks the rest of its
 * segment (up to Sync) skipped, ReadyForQuery ends a Query, FunctionCall or
 * Sync. CopyInResponse marks exactly the Syncs and Flushes the upstream will
 * read as COPY data (and so never answer). Nothing is guessed: a reply the
 * queue cannot place is a desynchronised upstream.
 *
 * Pure: no I/O, no libevent; the fuzz target drives it directly.
 *
 * Return conventions: bool for actions (false = out of memory), pointers or
 * NULL for lookups.
 */
#ifndef SY_PIPELINE_H
#define SY_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pl_kind {
	PL_PARSE = 0,  /* 'P' -> ParseComplete */
	PL_BIND,       /* 'B' -> BindComplete */
	PL_DESCRIBE,   /* 'D' -> [ParameterDescription] RowDescription | NoData */
	PL_EXECUTE,    /* 'E' -> DataRow* CommandComplete | EmptyQuery | PortalSuspended | COPY */
	PL_CLOSE,      /* 'C' -> CloseComplete */
	PL_SYNC,       /* 'S' -> ReadyForQuery */
	PL_FLUSH,      /* 'H' -> nothing; kept so local answers behind it stay in order */
	PL_QUERY,      /* 'Q' -> (results)* ReadyForQuery */
	PL_FUNCTION,   /* 'F' -> FunctionCallResponse ReadyForQuery */
	PL_COPY_END,   /* 'c'/'f' -> nothing of its own; ends COPY FROM STDIN */
	PL_KIND_COUNT, /* not a kind */
};

enum pl_producer {
	PL_UPSTREAM = 0, /* forwarded; the upstream's reply is relayed */
	PL_LOCAL,        /* answered by switchyard when it reaches the head */
	PL_MYSQL,        /* answered by switchyard from MySQL: its work starts at the head and
			    the entry retires when the work ends (pipeline_pop_head) */
};

enum pl_flag {
	PL_F_SILENT = 1u << 0,   /* no reply will come (Flush, Sync read as COPY data, skipped) */
	PL_F_SKIPPED = 1u << 1,  /* an earlier error made the upstream (or us) skip it */
	PL_F_HIDE_OK = 1u << 2,  /* injected by switchyard: success replies are not relayed */
	PL_F_HIDE_ALL = 1u << 3, /* injected: no reply at all is relayed (errors are logged) */
	PL_F_ERRORED = 1u << 4,  /* an ErrorResponse answered it (Query/Sync: before Z) */
	PL_F_COPY = 1u << 5,     /* the upstream started COPY FROM STDIN for it */
	PL_F_REPLIED = 1u << 6,  /* some reply for it was relayed (rows, descriptions) */
	PL_F_RUNNING = 1u << 7,  /* PL_MYSQL: its work has started */
	PL_F_HIDE_Z = 1u << 8,   /* a Query of a split text: all but its ReadyForQuery is relayed */
};

/*
 * What a retired entry asks of the session (applied by the caller): a
 * statement table change to confirm or undo, a SET to remember, ...
 */
struct pl_effect {
	uint16_t what; /* caller's own code; 0 = none */
	void *arg;     /* owned by the caller's effect code */
};

struct pl_entry {
	uint8_t kind;     /* enum pl_kind */
	uint8_t producer; /* enum pl_producer */
	uint16_t flags;   /* enum pl_flag */
	bool ready_after; /* local: a ReadyForQuery (current status) follows <msg> */
	/*
	 * Upstream entry: an ErrorResponse that replaces the upstream's syntax
	 * error (a refused statement was sent as a marker that cannot parse).
	 * Local entry: the reply bytes. Owned; NULL if none.
	 */
	uint8_t *msg;
	size_t len;
	struct pl_effect effect;
	void *work;       /* PL_MYSQL: the caller's work (legacy.h), owned by the caller */
	uint32_t seg;     /* the caller's: which client Query or Sync this is (relay.c) */
	/* The caller's: a legacy read to account to the cutover (relay.c). */
	uint8_t cut_table; /* 1 + the legacy table's index; 0 = none */
	uint8_t cut_side;  /* enum cutover_side */
	int64_t t0_us;     /* when it was sent */
	void *shadow;      /* the caller's: a shadow read submitted when answered (relay.c), owned */
};

/* Transaction status as the client must see it ('I', 'T', 'E'). */
enum pl_txn {
	PL_TXN_IDLE = 'I',   /* not in a transaction block */
	PL_TXN_BLOCK = 'T',  /* in a transaction block */
	PL_TXN_FAILED = 'E', /* in a failed transaction block */
};

struct pipeline {
	struct pl_entry *ring; /* entries [head, head + n) modulo cap */
	size_t cap;            /* power of two, or 0 */
	size_t head;
	size_t n;
	enum pl_txn txn;
	bool upstream_skipping; /* upstream hit an error; skips until the next Sync it reads */
	bool copy_in;           /* upstream is reading COPY data: new Sync/Flush are data */
	bool in_segment;        /* extended-protocol messages pushed since the last Sync: an
				   implicit transaction may be open even with nothing owed */
	bool seg_upstream;      /* ...and some of them went to the upstream */
	uint64_t pushed;        /* entries ever pushed (for tests and the fuzzer) */
	uint64_t retired;       /* entries ever retired */
};

/* What to do with one upstream message. */
enum pl_verdict {
	PL_V_PASS = 0, /* relay it to the client */
	PL_V_DROP,     /* swallow it (a hidden entry's reply) */
	PL_V_SUBST,    /* write the head's substitution instead (taken with pipeline_take_subst) */
	PL_V_DESYNC,   /* it answers nothing the queue holds: the upstream is out of step */
};

/* Facts about an upstream message the queue needs (filled by the caller). */
struct pl_reply {
	uint8_t type;
	char status;       /* ReadyForQuery only */
	bool marker_error; /* ErrorResponse only: the SQLSTATE a refusal marker earns */
	bool fatal;        /* ErrorResponse only: FATAL or PANIC, the connection ends */
};

void pipeline_init(struct pipeline *q);
/* Gives back the ring of an empty queue (idle clients should cost little). */
void pipeline_trim(struct pipeline *q);
/* Frees every entry's bytes; effects are the caller's to undo first. */
void pipeline_free(struct pipeline *q);

/*
 * Appends an entry; returns it (valid until the next push or retire), NULL
 * on OOM. An upstream entry pushed while the upstream is known to skip, or
 * a Sync/Flush pushed while it reads COPY data, is marked accordingly.
 * Takes ownership of <msg> (even on failure).
 */
struct pl_entry *pipeline_push(struct pipeline *q, enum pl_kind kind, enum pl_producer producer,
			       uint16_t flags, uint8_t *msg, size_t len)
	__attribute__((warn_unused_result));

/* The oldest entry, or NULL when empty. */
struct pl_entry *pipeline_head(struct pipeline *q);
/* The newest entry, or NULL when empty. */
struct pl_entry *pipeline_tail(struct pipeline *q);
static inline bool pipeline_empty(const struct pipeline *q)
{
	return q->n == 0;
}
/* Entries still owed a reply by the upstream (not local, not silent). */
size_t pipeline_upstream_owed(const struct pipeline *q);

/* The outcome of placing one upstream message. */
struct pl_result {
	enum pl_verdict verdict;
	bool retired;          /* <entry> is the entry the message retired */
	struct pl_entry entry; /* copy of the retired entry, for its effect; with PL_V_SUBST
				  entry.msg/len are the substitution (then owned by the caller) */
};

/* Places one upstream message (see struct pl_reply) and says what to do with it. */
void pipeline_upstream(struct pipeline *q, const struct pl_reply *r, struct pl_result *out);

/*
 * Retires the head if nothing more will come for it from the upstream:
 * silent or skipped entries (returned with *local = false) and local ones
 * (returned with *local = true: the caller writes e->msg, then a
 * ReadyForQuery if e->ready_after). Returns false when the head is an
 * upstream entry still owed a reply, or the queue is empty. The caller owns
 * the returned entry's msg.
 */
bool pipeline_pop_ready(struct pipeline *q, struct pl_entry *out, bool *local);

/* Retires the head whatever it is (a PL_MYSQL entry whose work ended); false when empty. */
bool pipeline_pop_head(struct pipeline *q, struct pl_entry *out);

/* Does the head want to know whether an ErrorResponse is the marker's? */
bool pipeline_head_has_subst(const struct pipeline *q);
/* Is the head an upstream entry still owed a reply (so upstream bytes may be placed)? */
bool pipeline_head_is_upstream(const struct pipeline *q);

void pipeline_set_txn(struct pipeline *q, enum pl_txn t);
const char *pipeline_kind_name(enum pl_kind k);

#endif

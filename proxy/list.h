/*
 * list — <sys/queue.h> plus the _SAFE iterator glibc leaves out (BSD has it).
 */
#ifndef SY_LIST_H
#define SY_LIST_H

#include <sys/queue.h>

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)                                          \
	for ((var) = TAILQ_FIRST((head)); (var) && ((tvar) = TAILQ_NEXT((var), field), 1); \
	     (var) = (tvar))
#endif

#endif

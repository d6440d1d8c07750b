/* rt/sigdeliver.h: delivery of pending signals into guest handlers (rt/sigdeliver.c).
 * Calls: base/, kern/, sys/syscalls.h.        Called by: rt/epoch, threei/dispatch. */
#ifndef LIND_RT_SIGDELIVER_H
#define LIND_RT_SIGDELIVER_H

#include <stdint.h>

struct lind_call;

void signals_after_call(struct lind_call *c);   /* default actions and handlers of pending signals */
int signals_deliver(struct lind_call *c, int *restart); /* 1 if a handler ran */
int signals_restart(struct lind_call *c, int64_t ret); /* 1: re-issue a call that failed with EINTR */

#endif

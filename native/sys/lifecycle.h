/* sys/lifecycle.h: what the gateway (threei/dispatch.c) needs of the fork call: a fork a grate
 * forwarded is made when the grate has returned.
 * Calls:  nothing.  Called by: threei/dispatch. */
#ifndef LIND_SYS_LIFECYCLE_H
#define LIND_SYS_LIFECYCLE_H

#include <stdint.h>

struct lind_call;

int64_t lifecycle_deferred_fork(struct lind_call *c, int64_t grate_result);

#endif

/* sys/thread.h: what sys/sys_lifecycle.c (clone) needs of sys/sys_thread.c.
 * Calls:  nothing.  Called by: sys/sys_lifecycle. */
#ifndef LIND_SYS_THREAD_H
#define LIND_SYS_THREAD_H

#include <stdint.h>

struct lind_call;

int64_t thread_clone(struct lind_call *c); /* clone(CLONE_THREAD) */

#endif

/* rt/unwind.h: the Asyncify unwind of a cage thread's wasm stack (rt/unwind.c).
 * Calls: base/, kern/.        Called by: threei/dispatch (and sys/ through kern/upcalls.h). */
#ifndef LIND_RT_UNWIND_H
#define LIND_RT_UNWIND_H

#include <stdint.h>

struct lind_call;

int call_export(struct lind_call *c, const char *name, int nargs, int32_t arg);
int start_unwind(struct lind_call *c, int then);   /* then: an enum cage_pending */
int64_t lifecycle_resume_fork(struct lind_call *c);  /* the re-entry of a fork call after the unwind */

#endif

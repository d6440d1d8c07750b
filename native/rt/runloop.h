/* rt/runloop.h: the run loop of one cage thread's instance (setjmp and longjmp rounds in C).
 * Calls: base/, kern/, rt/.        Called by: rt/runner. */
#ifndef LIND_RT_RUNLOOP_H
#define LIND_RT_RUNLOOP_H

#include <stddef.h>
#include <stdint.h>

struct lind_thread;
struct run_ctx;

enum { RUN_RETURNED = 0, RUN_TRAPPED = 1, RUN_ERROR = 2, RUN_BAD_JUMP = 3 };
int lind_run_entry(struct lind_thread *th, struct run_ctx *r, int *code, char *msg, size_t cap);
int lind_stop_unwind(struct run_ctx *r);
int lind_start_rewind(struct run_ctx *r, uint32_t buf);

#endif

/* kern/upcalls.h: the few things kern/ and sys/ need done by the layers above them, as function
 * pointers those layers fill in: kern/ and sys/ never call rt/ or threei/ (native/README.md). A
 * clone of a thread starts a runner thread, a fork or setjmp starts an unwind of the wasm stack,
 * sigsuspend and the waits with a temporary signal mask run the signal handlers before the mask is
 * restored; and, for rt/, the end of a grate frees its workers and an instance imports the gateway.
 * lind_init (threei/dispatch.c) fills the table before any cage runs; nothing changes it later.
 * Calls: nothing.        Called by: sys/, rt/ (filled by threei/dispatch.c). */
#ifndef LIND_KERN_UPCALLS_H
#define LIND_KERN_UPCALLS_H

#include <stdint.h>

#include "base/wt_api.h"

struct lind_cage;
struct lind_thread;
struct lind_call;

struct upcalls {
    /* rt/runner.c: a new thread of the cage on a runner thread (0 or -EAGAIN), and posix_spawn's
     * child (clone with CLONE_VM|CLONE_VFORK: its pid or -errno) */
    int (*thread_start)(struct lind_cage *cage, struct lind_thread *th, uint32_t stack, uint32_t start);
    int64_t (*spawn_start)(struct lind_call *c, uint32_t stack, uint32_t start);
    /* rt/unwind.c: unwind the calling thread's wasm stack; the run loop then does `then` (an enum
     * cage_pending: fork, setjmp, longjmp) */
    int (*start_unwind)(struct lind_call *c, int then);
    /* rt/sigdeliver.c: act on the deliverable pending signals now (1 if a handler ran), and as at
     * the end of a call */
    int (*signals_deliver)(struct lind_call *c, int *restart);
    void (*signals_after_call)(struct lind_call *c);
    /* threei/grate.c: frees a grate's workers once it has ended (kern/grate.c: grate_ending) */
    void (*grate_free_workers)(struct lind_cage *grate);
    /* threei/dispatch.c: the gateway, which rt/instance.c gives every instance as lind.syscall and
     * lind.syscall_unwind */
    wasmtime_func_unchecked_callback_t syscall_entry, syscall_unwind_entry;
};

extern struct upcalls upcalls;

#endif

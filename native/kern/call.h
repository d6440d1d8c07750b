/* kern/call.h: one system call in flight (struct lind_call): the calling cage and thread, the
 * arguments and, for a grate acting on another cage, whose memory each one points into; and how
 * arguments are decoded, as the x86-64 kernel reads them.
 * Calls: base/.        Called by: kern/, sys/, rt/, threei/. */
#ifndef LIND_KERN_CALL_H
#define LIND_KERN_CALL_H

#include <stdint.h>

#include "base/wt_api.h"

struct lind_cage;
struct lind_thread;
struct fd_file;

/* One system call in flight. */
struct lind_call {
    struct lind_cage *cage;
    struct lind_thread *th;
    wasmtime_caller_t *caller;   /* NULL when the call comes from the epoch callback */
    wasmtime_context_t *ctx;     /* set when caller is NULL */
    uint32_t nr;
    uint64_t a[6];
    uint64_t ac[6];
    struct fd_file *borrowed[8];  /* host fds kept open until the call returns (threads only) */
    int nborrowed;
    /* a call made by a grate on behalf of another cage (acting): whose memory each argument
     * points into (NULL: the cage acted on) */
    int acting;
    struct lind_cage *argmem[6];
    /* the call came through an import whose call sites are instrumented by Asyncify (threei/dispatch.c):
     * only such a call may unwind the wasm stack (fork, setjmp) */
    int can_unwind;
};

/* argument decoding, as the x86-64 kernel reads them */
static inline int arg_int(const struct lind_call *c, int i) { return (int)(uint32_t)c->a[i]; }
static inline uint32_t arg_u32(const struct lind_call *c, int i) { return (uint32_t)c->a[i]; }
static inline int64_t arg_i64(const struct lind_call *c, int i) { return (int64_t)c->a[i]; }

/* The store context of a call (from the caller, or given directly by the epoch callback). */
static inline wasmtime_context_t *call_ctx(const struct lind_call *c)
{
    return c->caller ? wt.caller_context(c->caller) : c->ctx;
}

#endif

/* rt/unwind.c: unwinding a cage thread's wasm stack with Asyncify, for fork and setjmp/longjmp: the
 * system call starts the unwind into a buffer inside the cage and returns; the run loop (runloop.c,
 * runner.c) acts once the instance has returned, then rewinds, and the re-entered call stops the
 * rewind and returns its result.
 * Calls: base/, kern/.        Called by: sys/ (through kern/hooks.h), threei/dispatch. */
#include <errno.h>
#include <string.h>

#include "base/guest_abi.h"
#include "base/wt_api.h"
#include "kern/cage.h"
#include "kern/call.h"
#include "kern/mm.h"
#include "kern/thread.h"
#include "rt/unwind.h"

#define ASYNC_PAGES 64 /* 256 KiB for the unwound wasm stack (touched only as deep as it goes) */

int call_export(struct lind_call *c, const char *name, int nargs, int32_t arg)
{
    wasmtime_extern_t ext;
    if (!c->caller || !wt.caller_export_get(c->caller, name, strlen(name), &ext) || ext.kind != WASMTIME_EXTERN_FUNC ||
        !func_fits(wt.caller_context(c->caller), &ext.of.func, 1))
        return -ENOSYS;
    wasmtime_val_raw_t v[1];
    v[0].i32 = arg;
    wasm_trap_t *trap = NULL;
    wasmtime_error_t *err = wt.func_call_unchecked(wt.caller_context(c->caller), &ext.of.func, v, (size_t)nargs, &trap);
    if (err) {
        wt.error_delete(err);
        return -EFAULT;
    }
    if (trap) {
        wt.trap_delete(trap);
        return -EFAULT;
    }
    return 0;
}

/* Starts an asyncify unwind of the calling thread's instance into its buffer (made on first use,
 * inside the cage's memory, away from the stack); the run loop does `then` when it has unwound. */
int start_unwind(struct lind_call *c, int then)
{
    struct lind_thread *th = c->th;
    if (!th->async_buf) {
        cage_lock(c->cage);
        int64_t a = memory_alloc_pages(c->cage, ASYNC_PAGES);
        cage_unlock(c->cage);
        if (a < 0)
            return -ENOMEM;
        th->async_buf = (uint32_t)a;
        th->async_len = ASYNC_PAGES * LIND_PAGE;
    }
    uint32_t *d = (uint32_t *)(c->cage->base + th->async_buf);
    d[0] = th->async_buf + 8;
    d[1] = th->async_buf + th->async_len;
    if (call_export(c, "asyncify_start_unwind", 1, (int32_t)th->async_buf) < 0)
        return -ENOSYS; /* not built with asyncify */
    th->pending = then;
    return 0;
}

int64_t lifecycle_resume_fork(struct lind_call *c)
{
    struct lind_thread *th = c->th;
    th->rewinding = 0;
    call_export(c, "asyncify_stop_rewind", 0, 0);
    return th->fork_result;
}

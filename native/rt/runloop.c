/* The run loop of one cage thread's instance, in C: calls its entry function (_start or
 * __lind_thread_start) and does the unwind/rewind rounds of setjmp and longjmp itself, so that
 * they cost microseconds. It returns to runner.c for a fork, an exec or the end of the program.
 * Calls:  base/ (wt_api), kern/ (jmpbuf, thread), rt/ (instance).  Called by: rt/ (runner). */
#include <errno.h>
#include <string.h>

#include "base/wt_api.h"
#include "kern/jmpbuf.h"
#include "kern/thread.h"
#include "rt/instance.h"
#include "rt/runloop.h"
static int call0(struct run_ctx *r, const wasmtime_func_t *f, int nargs, int32_t arg)
{
    if (!f->store_id)
        return -1; /* the program lacks the export (not built with asyncify) */
    wasmtime_val_raw_t v[1];
    v[0].i32 = arg;
    wasm_trap_t *trap = NULL;
    wasmtime_error_t *err = wt.func_call_unchecked(r->ctx, f, v, (size_t)nargs, &trap);
    if (err)
        wt.error_delete(err);
    if (trap)
        wt.trap_delete(trap);
    return err || trap ? -1 : 0;
}

static void message(wasm_trap_t *trap, wasmtime_error_t *err, char *msg, size_t cap)
{
    struct { size_t n; char *d; } m = {0, NULL};
    if (trap)
        wt.trap_message(trap, &m);
    else
        wt.error_message(err, &m);
    size_t n = m.n < cap - 1 ? m.n : cap - 1;
    if (cap) {
        memcpy(msg, m.d, n);
        msg[n] = 0;
    }
    wt.byte_vec_delete(&m);
}

/* A longjmp: the stack and stack pointer saved at the setjmp are put back, and the rewind into it
 * started (the entry is called next). -1 when the jmp_buf is unknown. */
static int jump_to_setjmp(struct lind_thread *th, struct run_ctx *r)
{
    if (!run_ctx_can_unwind(r))
        return -1;
    int64_t saved = lind_longjmp_restore(th);
    if (saved < 0)
        return -1;
    wasmtime_val_t sp;
    memset(&sp, 0, sizeof sp);
    sp.kind = 0; /* WASMTIME_I32 */
    sp.of.i32 = (int32_t)(uint32_t)saved;
    wasmtime_error_t *e = wt.global_set(r->ctx, &r->sp, &sp);
    if (e) {
        wt.error_delete(e);
        return -1;
    }
    return call0(r, &r->start_rewind, 1, (int32_t)th->async_buf);
}

int lind_run_entry(struct lind_thread *th, struct run_ctx *r, int *code, char *msg, size_t cap)
{
    *code = -1;
    for (;;) {
        wasmtime_val_raw_t args[1];
        args[0].i32 = r->arg;
        wasm_trap_t *trap = NULL;
        wasmtime_error_t *err = wt.func_call_unchecked(r->ctx, &r->entry, args, (size_t)r->nargs, &trap);
        if ((err || trap) && th->abandon_for_longjmp) {
            /* a longjmp that could not unwind (sys/sys_setjmp.c), e.g. out of a signal handler: the wasm
             * stack is gone; rewind into the setjmp */
            if (err)
                wt.error_delete(err);
            if (trap)
                wt.trap_delete(trap);
            th->abandon_for_longjmp = 0;
            if (jump_to_setjmp(th, r) < 0)
                return RUN_BAD_JUMP;
            continue;
        }
        if (err || trap) {
            message(trap, err, msg, cap);
            if (trap) {
                uint8_t c;
                if (wt.trap_code(trap, &c))
                    *code = c;
                wt.trap_delete(trap);
                return RUN_TRAPPED;
            }
            wt.error_delete(err);
            return RUN_ERROR;
        }
        if (th->pending == PENDING_SETJMP) {
            wasmtime_val_t sp;
            if (!run_ctx_can_unwind(r))
                return RUN_ERROR; /* a hostile module with part of the asyncify exports */
            if (call0(r, &r->stop_unwind, 0, 0) < 0)
                return RUN_ERROR;
            wt.global_get(r->ctx, &r->sp, &sp);
            if (lind_setjmp_save(th, (uint32_t)sp.of.i32) < 0)
                return RUN_ERROR;
        } else if (th->pending == PENDING_LONGJMP) {
            if (call0(r, &r->stop_unwind, 0, 0) < 0)
                return RUN_ERROR;
            if (jump_to_setjmp(th, r) < 0)
                return RUN_BAD_JUMP;
            continue;
        } else {
            return RUN_RETURNED; /* finished, or a fork/exec for runner.c */
        }
        if (call0(r, &r->start_rewind, 1, (int32_t)th->async_buf) < 0)
            return RUN_ERROR;
    }
}

/* The asyncify steps of a fork (runner.c). */
int lind_stop_unwind(struct run_ctx *r) { return call0(r, &r->stop_unwind, 0, 0); }

int lind_start_rewind(struct run_ctx *r, uint32_t buf) { return call0(r, &r->start_rewind, 1, (int32_t)buf); }

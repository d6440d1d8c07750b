/* The run loop of one cage thread's instance, in C: calls its entry function (_start or
 * __lind_thread_start) and does the unwind/rewind rounds of setjmp and longjmp itself, so that
 * they cost microseconds rather than a trip through Python. It returns to Python for what needs
 * Python (a fork, an exec, the end of the program). */
#include <errno.h>
#include <string.h>

#include "lind.h"

typedef struct wasmtime_global {
    uint64_t store_id;
    uint32_t private1, private2, private3;
} wasmtime_global_t;

/* Filled by Python for each instance (lind_aot/vmm/cage.py: _RunCtx). */
struct run_ctx {
    wasmtime_context_t *ctx;
    wasmtime_func_t entry;
    int32_t nargs;
    int32_t arg;
    wasmtime_func_t stop_unwind;
    wasmtime_func_t start_rewind;
    wasmtime_global_t sp;
};

enum { RUN_RETURNED = 0, RUN_TRAPPED = 1, RUN_ERROR = 2, RUN_BAD_JUMP = 3 };

static int call0(struct run_ctx *r, const wasmtime_func_t *f, int nargs, int32_t arg)
{
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

int lind_run_entry(struct lind_thread *th, struct run_ctx *r, int *code, char *msg, size_t cap)
{
    *code = -1;
    for (;;) {
        wasmtime_val_raw_t args[1];
        args[0].i32 = r->arg;
        wasm_trap_t *trap = NULL;
        wasmtime_error_t *err = wt.func_call_unchecked(r->ctx, &r->entry, args, (size_t)r->nargs, &trap);
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
            if (call0(r, &r->stop_unwind, 0, 0) < 0)
                return RUN_ERROR;
            wt.global_get(r->ctx, &r->sp, &sp);
            if (lind_setjmp_save(th, (uint32_t)sp.of.i32) < 0)
                return RUN_ERROR;
        } else if (th->pending == PENDING_LONGJMP) {
            if (call0(r, &r->stop_unwind, 0, 0) < 0)
                return RUN_ERROR;
            int64_t saved = lind_longjmp_restore(th);
            if (saved < 0)
                return RUN_BAD_JUMP;
            wasmtime_val_t sp;
            memset(&sp, 0, sizeof sp);
            sp.kind = 0; /* WASMTIME_I32 */
            sp.of.i32 = (int32_t)(uint32_t)saved;
            wasmtime_error_t *e = wt.global_set(r->ctx, &r->sp, &sp);
            if (e) {
                wt.error_delete(e);
                return RUN_ERROR;
            }
        } else {
            return RUN_RETURNED; /* finished, or a fork/exec for Python */
        }
        if (call0(r, &r->start_rewind, 1, (int32_t)th->async_buf) < 0)
            return RUN_ERROR;
    }
}

/* The run loop's helpers for fork (Python's half): asyncify steps on an instance, and copying a
 * global (the stack pointer, the TLS base) from the parent's instance to the child's. */
int lind_stop_unwind(struct run_ctx *r) { return call0(r, &r->stop_unwind, 0, 0); }

int lind_start_rewind(struct run_ctx *r, uint32_t buf) { return call0(r, &r->start_rewind, 1, (int32_t)buf); }

int lind_global_copy(wasmtime_context_t *from_ctx, const wasmtime_global_t *from, wasmtime_context_t *to_ctx,
                     const wasmtime_global_t *to)
{
    wasmtime_val_t v;
    wt.global_get(from_ctx, from, &v);
    wasmtime_error_t *e = wt.global_set(to_ctx, to, &v);
    if (e) {
        wt.error_delete(e);
        return -1;
    }
    return 0;
}

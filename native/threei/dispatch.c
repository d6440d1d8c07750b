/* The system call entry point (the wasm import lind.syscall) and 3i dispatch: the call goes to the
 * grate the cage's table names (threei/grate.c), to another cage a grate acts on, or to the
 * microvisor's handler (sys/syscall_table.c); then pending signals, a deferred fork or longjmp, and
 * the end or exec of the cage are acted on. And lind_init, which fills kern/upcalls.h.
 * Calls:  base/ (guest_abi, wt_api), kern/, sys/ (lifecycle, syscalls), rt/ (engine, runner,
 *         sigdeliver, unwind), threei/ (grate).
 * Called by: Python. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "base/guest_abi.h"
#include "base/util.h"
#include "base/wt_api.h"
#include "kern/cage.h"
#include "kern/call.h"
#include "kern/fdtable.h"
#include "kern/grate.h"
#include "kern/path.h"
#include "kern/proc.h"
#include "kern/signal.h"
#include "kern/thread.h"
#include "kern/upcalls.h"
#include "sys/lifecycle.h"
#include "sys/syscalls.h"
#include "rt/engine.h"
#include "rt/runner.h"
#include "rt/sigdeliver.h"
#include "rt/unwind.h"
#include "threei/grate.h"

static const char EXIT_TRAP[] = "lind: cage exited";
static const char EXEC_TRAP[] = "lind: cage exec";
static const char HANDLER_LONGJMP_TRAP[] = "lind: longjmp out of a signal handler";
static const char LONGJMP_TRAP[] = "lind: longjmp";

/* A call a grate makes on behalf of `target` (make_threei_call with a target cage): it applies to
 * the target (its fds, memory map, cwd...), pointer arguments point into the target's memory or,
 * flagged, into the grate's. Allowed on descendants only. */
static int64_t call_on_behalf(struct lind_call *c, uint64_t target)
{
    struct lind_cage *me = c->cage;
    struct lind_thread *my_th = c->th;
    if (target > INT32_MAX || !proc_is_ancestor((int)me->id, (int)target))
        return target > INT32_MAX ? -ESRCH : -EPERM;
    struct lind_cage *t = cage_get((int)target);
    if (!t)
        return -ESRCH;
    c->cage = t;
    c->acting = 1;
    for (int i = 0; i < 6; i++) {
        uint64_t owner = c->ac[i] & ~GRATE_MEMORY_FLAG;
        c->argmem[i] = owner == me->id ? me : NULL;
    }
    /* when the grate serves this very cage's call, the call belongs to that thread */
    if (my_th->origin && my_th->origin->cage == t)
        c->th = my_th->origin;
    int64_t ret = lind_handlers[c->nr] ? lind_handlers[c->nr](c) : -ENOSYS;
    if (c->nborrowed)
        fd_release(c);
    c->cage = me;
    c->th = my_th;
    c->acting = 0;
    cage_put(t);
    return ret;
}

/* The jump a signal handler asked for, made when the system call it interrupted returns. */
static void setjmp_deferred_longjmp(struct lind_call *c)
{
    c->th->deferred_longjmp = 0;
    c->th->abandon_for_longjmp = 1;
}

/* Import signature: (i32 nr, i64 self, i64 target, 6 x (i64 value, i64 cage)) -> i64.
 * The calling cage is the import's own (env): ids passed by the guest grant nothing.
 * A program has the gateway under two names (docs/abi.md): lind.syscall_unwind for the calls that
 * may unwind the wasm stack (only the functions that can reach it are instrumented by Asyncify), and
 * lind.syscall for the rest, which must not unwind. */
static inline wasm_trap_t *syscall_entry(struct lind_thread *th, wasmtime_caller_t *caller,
                                         wasmtime_val_raw_t *args, size_t nargs, int can_unwind)
{
    struct lind_cage *cage = th->cage;
    struct lind_call c;
    int64_t ret;

    if (nargs < 15) {
        return wt.trap_new("lind: bad syscall import", 24);
    }
    c.cage = cage;
    c.th = th;
    c.caller = caller;
    c.ctx = NULL;
    c.nborrowed = 0;
    c.acting = 0;
    c.can_unwind = can_unwind;
    c.nr = (uint32_t)args[0].i32;
    th->nsyscalls++;
    uint64_t target = (uint64_t)args[2].i64;
    for (int i = 0; i < 6; i++) {
        c.a[i] = (uint64_t)args[3 + 2 * i].i64;
        c.ac[i] = (uint64_t)args[4 + 2 * i].i64;
    }
again:
    if (c.nr >= LIND_NCALLS) {
        ret = -ENOSYS;
    } else if (th->rewinding) {
        ret = lifecycle_resume_fork(&c); /* the re-entry of a fork call after the unwind */
    } else {
        struct threei_entry e = cage->table[c.nr];
        if (e.pool)
            ret = threei_call_grate(&c, e);
        else if (target && target != cage->id)
            ret = call_on_behalf(&c, target); /* 3i calls too: a grate forwards a register_handler */
        else if (lind_handlers[c.nr])
            ret = lind_handlers[c.nr](&c);
        else
            ret = -ENOSYS;
    }
    if (c.nborrowed)
        fd_release(&c);
    if (th->deferred_fork) /* a grate forwarded our fork: do it now, the parent sees ret */
        ret = lifecycle_deferred_fork(&c, ret);
    if (th->deferred_longjmp && th->in_handler) /* longjmp out of a signal handler: end it */
        return wt.trap_new(HANDLER_LONGJMP_TRAP, sizeof HANDLER_LONGJMP_TRAP - 1);
    /* (the flags other threads set are read relaxed here: acting on them takes the locks) */
    if (((RELAXED(th->sig_pending) | RELAXED(cage->sig_pending)) || RELAXED(cage->stopped)) &&
        !RELAXED(cage->exited) && RELAXED(th->pending) == PENDING_NONE) {
        if (signals_restart(&c, ret))
            goto again;
        signals_after_call(&c);
    }
    if (th->deferred_longjmp && !th->in_handler && RELAXED(th->pending) == PENDING_NONE)
        setjmp_deferred_longjmp(&c);
    if (th->abandon_for_longjmp) /* the run loop rewinds into the setjmp */
        return wt.trap_new(LONGJMP_TRAP, sizeof LONGJMP_TRAP - 1);
    if (RELAXED(cage->exited) || RELAXED(th->exited))
        return wt.trap_new(EXIT_TRAP, sizeof EXIT_TRAP - 1);
    if (RELAXED(th->pending) == PENDING_EXEC)
        return wt.trap_new(EXEC_TRAP, sizeof EXEC_TRAP - 1);
    args[0].i64 = ret;
    return NULL;
}

wasm_trap_t *lind_syscall_entry(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *args, size_t nargs)
{
    return syscall_entry(env, caller, args, nargs, 0);
}

wasm_trap_t *lind_syscall_unwind_entry(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *args, size_t nargs)
{
    return syscall_entry(env, caller, args, nargs, 1);
}


int lind_init(const char *libwasmtime_path)
{
    void *wasmtime;
    if (wt_api_load(libwasmtime_path, &wasmtime) != 0 || engine_api_load(wasmtime) != 0)
        return -1;
    path_init(); /* (the host's umask is the embedder's: read, never changed) */
    /* what kern/ and sys/ need done by the layers above them (kern/upcalls.h) */
    upcalls.thread_start = thread_start;
    upcalls.spawn_start = spawn_start;
    upcalls.start_unwind = start_unwind;
    upcalls.signals_deliver = signals_deliver;
    upcalls.signals_after_call = signals_after_call;
    upcalls.grate_free_workers = threei_free_workers;
    upcalls.syscall_entry = lind_syscall_entry;
    upcalls.syscall_unwind_entry = lind_syscall_unwind_entry;
    signal_init();
    return 0;
}

/* rt/sigdeliver.c: delivery of pending signals when a system call returns or an epoch tick
 * interrupts computation: default actions end, stop or ignore; handlers are called through the
 * guest's function table on the guest's own stack (or its alternate stack), then the interrupted
 * call returns EINTR or is restarted (SA_RESTART). A stopped cage's threads wait here for SIGCONT.
 * Calls: base/, kern/, sys/syscalls.h.        Called by: threei/dispatch, rt/epoch, sys/ (through
 * kern/hooks.h: sigsuspend and the calls that wait with a temporary signal mask). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "base/wt_api.h"
#include "kern/cage.h"
#include "kern/call.h"
#include "kern/mm.h"
#include "kern/proc.h"
#include "kern/siginfo.h"
#include "kern/signal.h"
#include "kern/thread.h"
#include "sys/syscalls.h"
#include "rt/sigdeliver.h"

/* A stopped cage's threads sleep here until SIGCONT, SIGKILL or the end of the cage. */
static void wait_while_stopped(struct lind_thread *th)
{
    struct lind_cage *cage = th->cage;
    while (__atomic_load_n(&cage->stopped, __ATOMIC_ACQUIRE) && !cage->exited && !th->exited &&
           !(signal_deliverable(th) & SIG_BIT(9))) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL); /* cut short by the kick of SIGCONT/SIGKILL */
    }
}

/* What an SA_SIGINFO handler gets, one frame per nesting level of handlers (signals_after_call
 * nests at most 9 deep), in guest pages of the thread: siginfo_t (128 bytes: siginfo_fill) and
 * ucontext_t (920 bytes; uc_sigmask at 280: docs/abi.md), zeroed but for the mask. */
#define SIGFRAME_SIZE 1152u
#define SIGFRAME_PAGES 3u
#define UC_OFFSET 128u
#define UC_SIGMASK_OFFSET 280u
#define UC_SIZE 920u

/* Calls the guest handler `fn` (function-table index) for sig, on the calling thread's instance.
 * *mask: the mask the handler interrupted; on return, the mask to restore (an SA_SIGINFO handler
 * may change it through its ucontext's uc_sigmask, as on Linux). */
/* Moves the instance's stack pointer to the top of the thread's alternate stack (SA_ONSTACK), unless
 * there is none or a handler already runs on it; returns 1 and the pointer to restore if it did. */
static int enter_altstack(struct lind_thread *th, wasmtime_context_t *ctx, int32_t *saved)
{
    if (!th->altstack_size || th->on_altstack || !th->has_sp)
        return 0;
    wasmtime_val_t v;
    wt.global_get(ctx, &th->sp_global, &v);
    *saved = v.of.i32;
    v.of.i32 = (int32_t)((th->altstack_sp + th->altstack_size) & ~15u);
    wasmtime_error_t *e = wt.global_set(ctx, &th->sp_global, &v);
    if (e) {
        wt.error_delete(e);
        return 0;
    }
    th->on_altstack++;
    return 1;
}

static void leave_altstack(struct lind_thread *th, wasmtime_context_t *ctx, int32_t saved)
{
    wasmtime_val_t v;
    memset(&v, 0, sizeof v);
    v.kind = 0; /* WASMTIME_I32 */
    v.of.i32 = saved;
    wasmtime_error_t *e = wt.global_set(ctx, &th->sp_global, &v);
    if (e)
        wt.error_delete(e);
    th->on_altstack--;
}

static int call_handler(struct lind_call *c, int sig, const struct signal_taken *t, uint64_t *mask)
{
    uint32_t fn = t->act.handler;
    int siginfo = !!(t->act.flags & L_SA_SIGINFO), onstack = !!(t->act.flags & L_SA_ONSTACK);
    struct lind_thread *th = c->th;
    wasmtime_val_t fval;
    if (!th->has_table)
        return -1;
    wasmtime_context_t *ctx = call_ctx(c);
    if (!ctx || !wt.table_get(ctx, &th->functable, fn, &fval) || fval.kind != WASMTIME_FUNCREF ||
        !func_fits(ctx, &fval.of.funcref, 3))
        return -1;
    wasmtime_val_raw_t args[3];
    args[0].i32 = sig;
    args[1].i32 = 0;
    args[2].i32 = 0;
    uint32_t frame = 0;
    if (siginfo) {
        if (!th->siginfo_buf) {
            cage_lock(c->cage);
            int64_t a = memory_alloc_pages(c->cage, SIGFRAME_PAGES);
            cage_unlock(c->cage);
            if (a < 0)
                return -1;
            th->siginfo_buf = (uint32_t)a;
        }
        frame = th->siginfo_buf + (uint32_t)th->in_handler * SIGFRAME_SIZE;
        uint8_t *f = c->cage->base + frame;
        memset(f, 0, UC_OFFSET + UC_SIZE);
        siginfo_fill(c->cage, sig, t->has_origin ? &t->origin : NULL, f);
        memcpy(f + UC_OFFSET + UC_SIGMASK_OFFSET, mask, 8);
        args[1].i32 = (int32_t)frame;
        args[2].i32 = (int32_t)(frame + UC_OFFSET);
    }
    wasm_trap_t *trap = NULL;
    int32_t saved_sp = 0;
    int alt = onstack && enter_altstack(th, ctx, &saved_sp);
    th->in_handler++;
    wasmtime_error_t *err = wt.func_call_unchecked(ctx, &fval.of.funcref, args, 3, &trap);
    th->in_handler--;
    if (alt)
        leave_altstack(th, ctx, saved_sp);
    if (err)
        wt.error_delete(err);
    if (trap) {
        /* the handler called exit(), longjmp'ed out, or trapped: in the last case the cage ends */
        wt.trap_delete(trap);
        if (!c->cage->exited && !th->exited && !th->deferred_longjmp) {
            cage_lock(c->cage);
            if (!c->cage->exited) {
                c->cage->exited = 1;
                c->cage->term_signal = 11;
            }
            cage_unlock(c->cage);
        }
    } else if (siginfo && c->cage->base && (uint64_t)frame + UC_OFFSET + UC_SIZE <= c->cage->size) {
        memcpy(mask, c->cage->base + frame + UC_OFFSET + UC_SIGMASK_OFFSET, 8);
        *mask &= ~SIG_UNBLOCKABLE;
    }
    return 0;
}

static void terminate(struct lind_call *c, int sig)
{
    struct lind_cage *cage = c->cage;
    cage_lock(cage);
    if (!cage->exited) {
        cage->exited = 1;
        cage->term_signal = sig;
    }
    cage_kick_threads(cage, c->th);
    pthread_cond_broadcast(&cage->threads_cond); /* a main thread waiting in exit for the others */
    cage_unlock(cage);
}

/* Acts on deliverable pending signals. Returns 1 if a handler ran; *restart tells whether every
 * handler that ran asked for SA_RESTART. */
int signals_deliver(struct lind_call *c, int *restart)
{
    struct lind_cage *cage = c->cage;
    struct lind_thread *th = c->th;
    int ran = 0;
    *restart = 1;
    uint64_t d;
    while (!cage->exited && !th->exited && !th->deferred_longjmp && (d = signal_deliverable(th)) != 0) {
        int sig = __builtin_ctzll(d) + 1;
        struct signal_taken t;
        if (!signal_take(th, sig, &t))
            continue;
        struct lind_sigaction act = t.act;
        if (act.handler == L_SIG_IGN)
            continue;
        if (act.handler == L_SIG_DFL || sig == 9 || sig == 19) {
            enum sig_default def = signal_default_action(sig);
            if (def == DEF_TERM || def == DEF_CORE)
                terminate(c, sig);
            else if (def == DEF_STOP && !__atomic_exchange_n(&cage->stopped, 1, __ATOMIC_ACQ_REL))
                proc_note_stop(cage, sig);
            continue;
        }
        uint64_t saved = th->sig_mask;
        th->sig_mask |= act.mask | ((act.flags & L_SA_NODEFER) ? 0 : SIG_BIT(sig));
        if (call_handler(c, sig, &t, &saved) < 0)
            terminate(c, sig); /* a handler that cannot be called: as if the signal killed */
        th->sig_mask = saved;
        ran = 1;
        if (!(act.flags & L_SA_RESTART))
            *restart = 0;
    }
    return ran;
}

void signals_after_call(struct lind_call *c)
{
    int restart;
    if (c->th->in_handler > 8)
        return; /* bounded nesting of handlers */
    signals_deliver(c, &restart);
    if (c->cage->stopped) {
        wait_while_stopped(c->th);
        signals_deliver(c, &restart); /* SIGCONT's handler, or the SIGKILL that ended the stop */
    }
}

/* Calls that are never restarted after a handler, whatever SA_RESTART says (signal(7)). */
static int never_restarted(uint32_t nr)
{
    switch (nr) {
    case LIND_NR_pause:
    case LIND_NR_rt_sigsuspend:
    case LIND_NR_nanosleep:
    case LIND_NR_clock_nanosleep:
    case LIND_NR_poll:
    case LIND_NR_select:
    case LIND_NR_pselect6:
    case LIND_NR_ppoll:
    case LIND_NR_epoll_wait:
    case LIND_NR_epoll_pwait:
    case LIND_NR_rt_sigtimedwait:
    case LIND_NR_futex: /* (musl loops itself) */
        return 1;
    default:
        return 0;
    }
}

/* After a handler ran, an EINTR result is restarted if all handlers asked for it. */
int signals_restart(struct lind_call *c, int64_t ret)
{
    int restart;
    if (ret != -EINTR || c->th->in_handler > 8)
        return 0;
    int ran = signals_deliver(c, &restart);
    return ran && restart && !never_restarted(c->nr) && !c->cage->exited && !c->th->exited;
}

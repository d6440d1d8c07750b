/* Signals: dispositions, masks, pending sets, default actions, and delivery to guest handlers.
 *
 * A signal sent to a cage sets a bit in its pending set and kicks the OS thread running it out of
 * a blocking host call (a real-time host signal with an empty handler, so the call fails with
 * EINTR). Pending signals are acted on when a system call returns: default actions end or ignore,
 * handlers are called through the guest's function table on the guest's own stack, then the
 * interrupted call returns EINTR or is restarted (SA_RESTART). CPU-bound code is interrupted by
 * the epoch callback (epoch.c). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "lind.h"

#define KICK_SIGNAL (SIGRTMIN + 3)
#define L_SIG_DFL 0
#define L_SIG_IGN 1
#define L_SA_SIGINFO 4
#define L_SA_RESTART 0x10000000
#define L_SA_NODEFER 0x40000000
#define L_SA_RESETHAND 0x80000000u
#define BIT(sig) (1ull << ((sig) - 1))
#define UNBLOCKABLE (BIT(9) | BIT(19)) /* SIGKILL, SIGSTOP */

static void kick_handler(int sig) { (void)sig; }

void signal_init(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = kick_handler; /* no SA_RESTART: blocking calls return EINTR */
    sigaction(KICK_SIGNAL, &sa, NULL);
    /* EPIPE is turned into the cage's own SIGPIPE; the host process must not die of it */
    signal(SIGPIPE, SIG_IGN);
}

enum sig_default { DEF_TERM, DEF_IGN, DEF_STOP, DEF_CONT, DEF_CORE };

static enum sig_default default_action(int sig)
{
    switch (sig) {
    case 17: case 23: case 28: /* SIGCHLD SIGURG SIGWINCH */
        return DEF_IGN;
    case 18: /* SIGCONT */
        return DEF_CONT;
    case 19: case 20: case 21: case 22: /* SIGSTOP SIGTSTP SIGTTIN SIGTTOU */
        return DEF_STOP;
    case 3: case 4: case 5: case 6: case 7: case 8: case 11: case 24: case 25: case 31:
        return DEF_CORE;
    default:
        return DEF_TERM;
    }
}

static int ignored(struct lind_cage *cage, int sig)
{
    if (sig == 9 || sig == 19)
        return 0;
    uint32_t h = cage->sigact[sig].handler;
    return h == L_SIG_IGN || (h == L_SIG_DFL && (default_action(sig) == DEF_IGN));
}

void cage_post_signal(struct lind_cage *cage, int sig)
{
    if (sig <= 0 || sig > 64 || ignored(cage, sig))
        return;
    if (default_action(sig) == DEF_CONT || default_action(sig) == DEF_STOP) {
        /* stop/continue: bookkeeping only, a cage is never really stopped */
        if (cage->sigact[sig].handler == L_SIG_DFL && sig != 19)
            return;
        if (sig == 19)
            return;
    }
    atomic_fetch_or((_Atomic uint64_t *)&cage->sig_pending, BIT(sig));
    if (cage->thread_set && !pthread_equal((pthread_t)cage->thread, pthread_self()))
        pthread_kill((pthread_t)cage->thread, KICK_SIGNAL);
}

static uint64_t deliverable(struct lind_cage *cage)
{
    return atomic_load((_Atomic uint64_t *)&cage->sig_pending) & ~(cage->sig_mask & ~UNBLOCKABLE);
}

int cage_interrupted(struct lind_cage *cage) { return deliverable(cage) != 0 || cage->exited; }

/* Calls the guest handler `fn` (function-table index) for sig. */
static int call_handler(struct lind_call *c, int sig, uint32_t fn, int siginfo)
{
    wasmtime_val_t fval;
    if (!c->cage->has_table)
        return -1;
    wasmtime_context_t *ctx = c->caller ? wt.caller_context(c->caller) : c->ctx;
    if (!ctx || !wt.table_get(ctx, &c->cage->functable, fn, &fval) || fval.kind != WASMTIME_FUNCREF ||
        !fval.of.funcref.store_id)
        return -1;
    wasmtime_val_raw_t args[3];
    args[0].i32 = sig;
    args[1].i32 = 0;
    args[2].i32 = 0;
    if (siginfo) {
        if (!c->cage->siginfo_buf) {
            int64_t a = memory_alloc_pages(c, 1);
            if (a < 0)
                return -1;
            c->cage->siginfo_buf = (uint32_t)a;
        }
        int32_t *si = (int32_t *)(c->cage->base + c->cage->siginfo_buf);
        memset(si, 0, 128);
        si[0] = sig;
        args[1].i32 = (int32_t)c->cage->siginfo_buf;
    }
    wasm_trap_t *trap = NULL;
    c->cage->in_handler++;
    wasmtime_error_t *err = wt.func_call_unchecked(ctx, &fval.of.funcref, args, 3, &trap);
    c->cage->in_handler--;
    if (err)
        wt.error_delete(err);
    if (trap) {
        /* the handler called exit() or trapped: the cage ends (exit info is already set if exit) */
        wt.trap_delete(trap);
        if (!c->cage->exited) {
            c->cage->exited = 1;
            c->cage->term_signal = 11;
        }
    }
    return 0;
}

/* Acts on deliverable pending signals. Returns 1 if a handler ran (so EINTR may be restarted when
 * every handler that ran had SA_RESTART: *restart). */
static int handle_pending(struct lind_call *c, int *restart)
{
    struct lind_cage *cage = c->cage;
    int ran = 0;
    *restart = 1;
    uint64_t d;
    while (!cage->exited && (d = deliverable(cage)) != 0) {
        int sig = __builtin_ctzll(d) + 1;
        atomic_fetch_and((_Atomic uint64_t *)&cage->sig_pending, ~BIT(sig));
        struct lind_sigaction act = cage->sigact[sig];
        if (act.handler == L_SIG_IGN)
            continue;
        if (act.handler == L_SIG_DFL || sig == 9 || sig == 19) {
            enum sig_default def = default_action(sig);
            if (def == DEF_TERM || def == DEF_CORE) {
                cage->exited = 1;
                cage->term_signal = sig;
            }
            continue;
        }
        uint64_t saved = cage->sig_mask;
        cage->sig_mask |= act.mask | ((act.flags & L_SA_NODEFER) ? 0 : BIT(sig));
        if (act.flags & L_SA_RESETHAND)
            cage->sigact[sig].handler = L_SIG_DFL;
        if (call_handler(c, sig, act.handler, !!(act.flags & L_SA_SIGINFO)) < 0) {
            cage->exited = 1; /* a handler that cannot be called: as if the signal killed */
            cage->term_signal = sig;
        }
        cage->sig_mask = saved;
        ran = 1;
        if (!(act.flags & L_SA_RESTART))
            *restart = 0;
    }
    return ran;
}

void signals_after_call(struct lind_call *c)
{
    int restart;
    if (c->cage->in_handler > 8)
        return; /* bounded nesting of handlers */
    handle_pending(c, &restart);
}

/* After a handler ran, an EINTR result is restarted if all handlers asked for it. */
int signals_restart(struct lind_call *c, int64_t ret)
{
    int restart;
    if (ret != -EINTR || c->cage->in_handler > 8)
        return 0;
    int ran = handle_pending(c, &restart);
    return ran && restart && !c->cage->exited;
}

/* rt_sigaction(sig, const struct k_sigaction *act, struct k_sigaction *old, size_t sigsetsize).
 * The guest's k_sigaction: u32 handler, u32 flags, u32 restorer, u32 mask[2]. */
static int64_t sys_rt_sigaction(struct lind_call *c)
{
    int sig = arg_int(c, 0), efault;
    if (sig < 1 || sig > 64 || arg_u32(c, 3) != 8)
        return -EINVAL;
    const uint32_t *act = guest_ptr_or_null(c, c->a[1], 20, &efault);
    if (efault)
        return -EFAULT;
    uint32_t *old = guest_ptr_or_null(c, c->a[2], 20, &efault);
    if (efault)
        return -EFAULT;
    if (act && (sig == 9 || sig == 19))
        return -EINVAL;
    struct lind_sigaction prev = c->cage->sigact[sig];
    if (act) {
        struct lind_sigaction *a = &c->cage->sigact[sig];
        a->handler = act[0];
        a->flags = act[1];
        a->mask = ((uint64_t)act[4] << 32 | act[3]) & ~UNBLOCKABLE;
        if (ignored(c->cage, sig))
            atomic_fetch_and((_Atomic uint64_t *)&c->cage->sig_pending, ~BIT(sig));
    }
    if (old) {
        old[0] = prev.handler;
        old[1] = prev.flags;
        old[2] = 0;
        old[3] = (uint32_t)prev.mask;
        old[4] = (uint32_t)(prev.mask >> 32);
    }
    return 0;
}

static int64_t sys_rt_sigprocmask(struct lind_call *c)
{
    int how = arg_int(c, 0), efault;
    if (arg_u32(c, 3) != 8)
        return -EINVAL;
    const uint64_t *set = guest_ptr_or_null(c, c->a[1], 8, &efault);
    if (efault)
        return -EFAULT;
    uint64_t *old = guest_ptr_or_null(c, c->a[2], 8, &efault);
    if (efault)
        return -EFAULT;
    uint64_t prev = c->cage->sig_mask;
    if (set) {
        uint64_t s = *set & ~UNBLOCKABLE;
        if (how == 0)
            c->cage->sig_mask |= s;
        else if (how == 1)
            c->cage->sig_mask &= ~s;
        else if (how == 2)
            c->cage->sig_mask = s;
        else
            return -EINVAL;
    }
    if (old)
        *old = prev;
    return 0;
}

static int64_t sys_rt_sigpending(struct lind_call *c)
{
    uint64_t *g = guest_ptr(c, c->a[0], 8);
    if (!g)
        return -EFAULT;
    *g = atomic_load((_Atomic uint64_t *)&c->cage->sig_pending) & c->cage->sig_mask;
    return 0;
}

/* Sleeps until a signal is deliverable; used by sigsuspend and pause. */
static void wait_for_signal(struct lind_cage *cage)
{
    sigset_t none;
    sigemptyset(&none);
    while (!cage_interrupted(cage)) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL); /* interrupted early by the kick signal */
    }
}

static int64_t sys_rt_sigsuspend(struct lind_call *c)
{
    const uint64_t *set = guest_ptr(c, c->a[0], 8);
    if (!set)
        return -EFAULT;
    uint64_t saved = c->cage->sig_mask;
    c->cage->sig_mask = *set & ~UNBLOCKABLE;
    wait_for_signal(c->cage);
    int restart;
    handle_pending(c, &restart);
    c->cage->sig_mask = saved;
    return -EINTR;
}

static int64_t sys_pause(struct lind_call *c)
{
    wait_for_signal(c->cage);
    return -EINTR;
}

static int64_t sys_kill(struct lind_call *c) { return proc_kill(c->cage, arg_int(c, 0), arg_int(c, 1)); }

static int64_t sys_tkill(struct lind_call *c)
{
    int tid = arg_int(c, 0);
    if (tid <= 0)
        return -EINVAL;
    return proc_kill(c->cage, tid, arg_int(c, 1));
}

static int64_t sys_tgkill(struct lind_call *c)
{
    int tgid = arg_int(c, 0), tid = arg_int(c, 1);
    if (tgid <= 0 || tid <= 0)
        return -EINVAL;
    if (tgid != tid)
        return -ESRCH; /* one thread per cage */
    return proc_kill(c->cage, tid, arg_int(c, 2));
}

void register_handlers_signal(void)
{
    lind_handlers[13] = sys_rt_sigaction;
    lind_handlers[14] = sys_rt_sigprocmask;
    lind_handlers[127] = sys_rt_sigpending;
    lind_handlers[130] = sys_rt_sigsuspend;
    lind_handlers[34] = sys_pause;
    lind_handlers[62] = sys_kill;
    lind_handlers[200] = sys_tkill;
    lind_handlers[234] = sys_tgkill;
}

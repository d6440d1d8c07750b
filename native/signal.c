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
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "lind.h"

#define KICK_SIGNAL (SIGRTMIN + 3)
#define L_SIG_DFL 0
#define L_SIG_IGN 1
#define L_SA_SIGINFO 4
#define L_SA_ONSTACK 0x08000000
#define L_SS_ONSTACK 1
#define L_SS_DISABLE 2
#define L_SS_AUTODISARM (1u << 31)
#define L_MINSIGSTKSZ 2048
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

/* SIGCONT with the default action does nothing but continue (done when it is posted). */
static int stop_or_cont_default(struct lind_cage *cage, int sig)
{
    return default_action(sig) == DEF_CONT && cage->sigact[sig].handler == L_SIG_DFL;
}

static void continue_cage(struct lind_cage *cage)
{
    if (__atomic_exchange_n(&cage->stopped, 0, __ATOMIC_ACQ_REL)) {
        /* pending stop signals are discarded by SIGCONT, as on Linux */
        uint64_t stops = BIT(19) | BIT(20) | BIT(21) | BIT(22);
        atomic_fetch_and(&cage->sig_pending, ~stops);
        proc_note_stop(cage, 0);
    }
}

/* os_thread is read by kickers while its OS thread binds and unbinds: a kick must never reach an
 * OS thread that has moved on (a runner thread runs other cages, or exits when idle). A spin
 * lock, held for a pthread_kill at most. */
static void kick_lock(struct lind_thread *th)
{
    while (__atomic_exchange_n(&th->kick_lock, 1, __ATOMIC_ACQUIRE))
        sched_yield();
}

static void kick_unlock(struct lind_thread *th) { __atomic_store_n(&th->kick_lock, 0, __ATOMIC_RELEASE); }

/* Marks th as run by the calling OS thread (bound) or by none. */
void thread_set_os_thread(struct lind_thread *th, int bound)
{
    kick_lock(th);
    th->os_thread = bound ? (unsigned long)pthread_self() : 0;
    th->os_thread_set = bound;
    kick_unlock(th);
}

void thread_kick(struct lind_thread *th)
{
    kick_lock(th);
    if (th->os_thread_set && !pthread_equal((pthread_t)th->os_thread, pthread_self()))
        pthread_kill((pthread_t)th->os_thread, KICK_SIGNAL);
    kick_unlock(th);
}

/* Interrupts every thread of the cage but `except` (cage lock held). */
void cage_kick_threads(struct lind_cage *cage, struct lind_thread *except)
{
    if (cage->main && cage->main != except)
        thread_kick(cage->main);
    for (struct lind_thread *t = cage->others; t; t = t->next)
        if (t != except)
            thread_kick(t);
}

/* Whether a signal whose action is to be ignored must still be kept pending, as Linux keeps it:
 * when it is blocked (its action may change before it is unblocked) or awaited by sigwait. */
static int kept_if_ignored(struct lind_thread *th, int sig)
{
    return th && ((th->sig_mask | th->sigwait_set) & BIT(sig));
}

/* Posting a signal has two halves. Continuing a stopped cage (SIGCONT, whatever its disposition)
 * reports to its parent's waits, under proc_lock, which is taken before any cage's lock: so it is
 * done first, with no cage lock held (sig_continue). The rest is done under the cage's lock. */
static void sig_continue(struct lind_cage *cage, int sig)
{
    if (sig == 18)
        continue_cage(cage);
}

/* (cage lock held) */
static void cage_post_locked(struct lind_cage *cage, int sig)
{
    if (sig == 9) { /* ends it now: every thread, wherever it waits */
        cage_doom(cage);
        return;
    }
    if (sig == 18)
        cage_kick_threads(cage, NULL);
    if (sig <= 0 || sig > 64 || stop_or_cont_default(cage, sig))
        return;
    struct lind_thread *waiter = NULL; /* a thread waiting for it in rt_sigtimedwait */
    if (cage->main && (cage->main->sigwait_set & BIT(sig)))
        waiter = cage->main;
    for (struct lind_thread *t = cage->others; t && !waiter; t = t->next)
        if (t->sigwait_set & BIT(sig))
            waiter = t;
    if (ignored(cage, sig) && !waiter && !kept_if_ignored(cage->main, sig))
        return;
    atomic_fetch_or(&cage->sig_pending, BIT(sig));
    /* wake a thread that waits for it, else one that does not block it: the main thread first,
     * unless it has called exit and only waits for the others (as a zombie leader on Linux) */
    struct lind_thread *target = waiter;
    if (!target && cage->main && !(cage->main->sig_mask & BIT(sig)) && !cage->main->exiting)
        target = cage->main;
    for (struct lind_thread *t = cage->others; t && !target; t = t->next)
        if (!(t->sig_mask & BIT(sig)) && !t->exited)
            target = t;
    if (target)
        thread_kick(target);
}

/* A process-directed signal (no cage lock held). */
void cage_post_signal(struct lind_cage *cage, int sig)
{
    sig_continue(cage, sig);
    cage_lock(cage);
    cage_post_locked(cage, sig);
    cage_unlock(cage);
}

/* A thread-directed signal (cage lock held; sig_continue done). */
void thread_post_signal(struct lind_thread *th, int sig)
{
    if (sig == 9) { /* SIGKILL to a thread ends its whole cage */
        cage_doom(th->cage);
        return;
    }
    if (sig == 18)
        cage_kick_threads(th->cage, NULL);
    if (sig <= 0 || sig > 64 || stop_or_cont_default(th->cage, sig) ||
        (ignored(th->cage, sig) && !kept_if_ignored(th, sig)))
        return;
    atomic_fetch_or(&th->sig_pending, BIT(sig));
    thread_kick(th);
}

/* The thread of the cage with that tid (cage lock held), or NULL. */
static struct lind_thread *thread_by_tid_locked(struct lind_cage *cage, int tid)
{
    if (cage->main && cage->main->tid == tid)
        return cage->main;
    for (struct lind_thread *t = cage->others; t; t = t->next)
        if (t->tid == tid)
            return t;
    return NULL;
}

int cage_has_thread(struct lind_cage *cage, int tid)
{
    cage_lock(cage);
    int r = thread_by_tid_locked(cage, tid) != NULL;
    cage_unlock(cage);
    return r;
}

/* signal_post_from with the cage lock held (and sig_continue done), to thread th (NULL: the cage). */
static int post_from_locked(struct lind_cage *cage, struct lind_thread *th, int sig, const struct sig_origin *o)
{
    uint64_t pending = atomic_load(&cage->sig_pending) |
                       (th ? atomic_load(&th->sig_pending) : 0);
    if (pending & BIT(sig))
        return 1;
    cage->sig_origin[sig] = *o;
    atomic_fetch_or(&cage->sig_origins, BIT(sig));
    if (th)
        thread_post_signal(th, sig);
    else
        cage_post_locked(cage, sig);
    return 0;
}

int signal_post_from(struct lind_cage *cage, int tid, int sig, const struct sig_origin *o)
{
    if (sig <= 0 || sig > 64)
        return 0;
    sig_continue(cage, sig);
    cage_lock(cage);
    int r = post_from_locked(cage, tid ? thread_by_tid_locked(cage, tid) : NULL, sig, o);
    cage_unlock(cage);
    return r;
}

/* The siginfo_t (128 bytes, docs/abi.md) of signal sig as it is taken: its sender's (SI_USER with
 * pid 0 when it is not known). */
#define L_SI_TIMER (-2)
#define L_SI_TKILL (-6)
#define L_SI_QUEUE (-1)
static void siginfo_fill(struct lind_cage *cage, int sig, const struct sig_origin *o, uint8_t *si)
{
    int32_t f[6] = {sig, 0, 0, 0, 0, 0};
    if (o) { /* (no cage lock held: the timers' thread takes the two locks the other way) */
        f[2] = o->code;
        if (o->code == L_SI_TIMER) {
            f[3] = o->timerid;
            f[4] = timer_take_overrun(cage, o->timerid);
            f[5] = (int32_t)o->value;
        } else {
            f[3] = o->pid;
            f[4] = (int32_t)o->uid;
            f[5] = o->code > 0 ? o->status : (int32_t)o->value; /* CLD_*: si_status; else si_value */
        }
    }
    memset(si, 0, 128);
    memcpy(si, f, sizeof f);
}

static uint64_t deliverable(struct lind_thread *th)
{
    uint64_t pending = atomic_load(&th->sig_pending) |
                       atomic_load(&th->cage->sig_pending);
    return pending & ~(th->sig_mask & ~UNBLOCKABLE);
}

int thread_interrupted(struct lind_thread *th)
{
    return deliverable(th) != 0 || th->cage->exited || th->exited || th->cage->stopped ||
           __atomic_load_n(&th->pending, __ATOMIC_ACQUIRE) == PENDING_EXEC; /* another thread's exec */
}

int thread_doomed(struct lind_thread *th)
{
    return (deliverable(th) & BIT(9)) || th->cage->exited || th->exited;
}

/* A stopped cage's threads sleep here until SIGCONT, SIGKILL or the end of the cage. */
static void wait_while_stopped(struct lind_thread *th)
{
    struct lind_cage *cage = th->cage;
    while (__atomic_load_n(&cage->stopped, __ATOMIC_ACQUIRE) && !cage->exited && !th->exited &&
           !(deliverable(th) & BIT(9))) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL); /* cut short by the kick of SIGCONT/SIGKILL */
    }
}

/* A signal taken off the pending sets, with what came with it. */
struct taken {
    struct lind_sigaction act; /* its disposition as it was taken */
    int has_origin;            /* its sender is known: */
    struct sig_origin origin;
};

/* Takes signal sig off the pending sets (the thread's own first); 0 if another thread took it.
 * Under the cage lock, so that its origin is the one posted with it, not the next one's (a
 * timer that fires again as it is taken), and SA_RESETHAND is done as it is taken. */
static int take(struct lind_thread *th, int sig, struct taken *t)
{
    struct lind_cage *cage = th->cage;
    cage_lock(cage);
    int got = (atomic_fetch_and(&th->sig_pending, ~BIT(sig)) & BIT(sig)) ||
              (atomic_fetch_and(&cage->sig_pending, ~BIT(sig)) & BIT(sig));
    if (got) {
        t->act = cage->sigact[sig];
        t->has_origin = (atomic_fetch_and(&cage->sig_origins, ~BIT(sig)) & BIT(sig)) != 0;
        if (t->has_origin)
            t->origin = cage->sig_origin[sig];
        if ((t->act.flags & L_SA_RESETHAND) && t->act.handler > L_SIG_IGN && sig != 9 && sig != 19)
            cage->sigact[sig].handler = L_SIG_DFL;
    }
    cage_unlock(cage);
    return got;
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

static int call_handler(struct lind_call *c, int sig, const struct taken *t, uint64_t *mask)
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
            int64_t a = memory_alloc_pages(c, SIGFRAME_PAGES);
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
        *mask &= ~UNBLOCKABLE;
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
static int handle_pending(struct lind_call *c, int *restart)
{
    struct lind_cage *cage = c->cage;
    struct lind_thread *th = c->th;
    int ran = 0;
    *restart = 1;
    uint64_t d;
    while (!cage->exited && !th->exited && !th->deferred_longjmp && (d = deliverable(th)) != 0) {
        int sig = __builtin_ctzll(d) + 1;
        struct taken t;
        if (!take(th, sig, &t))
            continue;
        struct lind_sigaction act = t.act;
        if (act.handler == L_SIG_IGN)
            continue;
        if (act.handler == L_SIG_DFL || sig == 9 || sig == 19) {
            enum sig_default def = default_action(sig);
            if (def == DEF_TERM || def == DEF_CORE)
                terminate(c, sig);
            else if (def == DEF_STOP && !__atomic_exchange_n(&cage->stopped, 1, __ATOMIC_ACQ_REL))
                proc_note_stop(cage, sig);
            continue;
        }
        uint64_t saved = th->sig_mask;
        th->sig_mask |= act.mask | ((act.flags & L_SA_NODEFER) ? 0 : BIT(sig));
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
    handle_pending(c, &restart);
    if (c->cage->stopped) {
        wait_while_stopped(c->th);
        handle_pending(c, &restart); /* SIGCONT's handler, or the SIGKILL that ended the stop */
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
    int ran = handle_pending(c, &restart);
    return ran && restart && !never_restarted(c->nr) && !c->cage->exited && !c->th->exited;
}

/* rt_sigaction(sig, const struct k_sigaction *act, struct k_sigaction *old, size_t sigsetsize).
 * The guest's k_sigaction: u32 handler, u32 flags, u32 restorer, u32 mask[2]. */
int64_t sys_rt_sigaction(struct lind_call *c)
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
    cage_lock(c->cage); /* (signal posters read the dispositions under it) */
    struct lind_sigaction prev = c->cage->sigact[sig];
    if (act) {
        struct lind_sigaction *a = &c->cage->sigact[sig];
        a->handler = act[0];
        a->flags = act[1];
        a->mask = ((uint64_t)act[4] << 32 | act[3]) & ~UNBLOCKABLE;
        if (ignored(c->cage, sig)) {
            atomic_fetch_and(&c->cage->sig_pending, ~BIT(sig));
            atomic_fetch_and(&c->th->sig_pending, ~BIT(sig));
        }
    }
    cage_unlock(c->cage);
    if (old) {
        old[0] = prev.handler;
        old[1] = prev.flags;
        old[2] = 0;
        old[3] = (uint32_t)prev.mask;
        old[4] = (uint32_t)(prev.mask >> 32);
    }
    return 0;
}

int64_t sys_rt_sigprocmask(struct lind_call *c)
{
    int how = arg_int(c, 0), efault;
    if (arg_u32(c, 3) != 8)
        return -EINVAL;
    /* (guest sigsets are 4-byte aligned: read and written with memcpy) */
    const uint8_t *set = guest_ptr_or_null(c, c->a[1], 8, &efault);
    if (efault)
        return -EFAULT;
    uint8_t *old = guest_ptr_or_null(c, c->a[2], 8, &efault);
    if (efault)
        return -EFAULT;
    uint64_t prev = c->th->sig_mask;
    if (set) {
        uint64_t s;
        memcpy(&s, set, 8);
        s &= ~UNBLOCKABLE;
        if (how == 0)
            c->th->sig_mask |= s;
        else if (how == 1)
            c->th->sig_mask &= ~s;
        else if (how == 2)
            c->th->sig_mask = s;
        else
            return -EINVAL;
    }
    if (old)
        memcpy(old, &prev, 8);
    return 0;
}

int64_t sys_rt_sigpending(struct lind_call *c)
{
    uint64_t *g = guest_ptr(c, c->a[0], 8);
    if (!g)
        return -EFAULT;
    *g = (atomic_load(&c->cage->sig_pending) |
          atomic_load(&c->th->sig_pending)) & c->th->sig_mask;
    return 0;
}

/* Sleeps until a signal is deliverable; used by sigsuspend and pause. */
static void wait_for_signal(struct lind_thread *th)
{
    while (!thread_interrupted(th)) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL); /* interrupted early by the kick signal */
    }
}

int64_t sys_rt_sigsuspend(struct lind_call *c)
{
    const uint8_t *set = guest_ptr(c, c->a[0], 8);
    if (!set)
        return -EFAULT;
    uint64_t saved = c->th->sig_mask;
    uint64_t mask;
    memcpy(&mask, set, 8);
    c->th->sig_mask = mask & ~UNBLOCKABLE;
    wait_for_signal(c->th);
    int restart;
    handle_pending(c, &restart);
    c->th->sig_mask = saved;
    return -EINTR;
}

/* rt_sigtimedwait(set, info, timeout, sigsetsize) (sigwait, sigwaitinfo, sigtimedwait): takes a
 * pending signal of set, blocked or not, or waits for one; EAGAIN when the timeout passes, EINTR
 * when another signal's handler runs. info: siginfo_fill. */
int64_t sys_rt_sigtimedwait(struct lind_call *c)
{
    struct lind_thread *th = c->th;
    struct lind_cage *cage = c->cage;
    int efault;
    if (arg_u32(c, 3) != 8)
        return -EINVAL;
    const uint8_t *setp = guest_ptr(c, c->a[0], 8);
    if (!setp)
        return -EFAULT;
    uint64_t set;
    memcpy(&set, setp, 8);
    set &= ~UNBLOCKABLE;
    uint8_t *info = guest_ptr_or_null(c, c->a[1], 128, &efault);
    if (efault)
        return -EFAULT;
    const uint8_t *tsp = guest_ptr_or_null(c, c->a[2], 16, &efault);
    if (efault)
        return -EFAULT;
    int64_t deadline = INT64_MAX;
    if (tsp) {
        struct timespec ts;
        guest_timespec(tsp, &ts);
        if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000)
            return -EINVAL;
        deadline = monotonic_ns() + (ts.tv_sec > INT32_MAX ? (int64_t)INT32_MAX : ts.tv_sec) * 1000000000 + ts.tv_nsec;
    }
    __atomic_store_n(&th->sigwait_set, set, __ATOMIC_RELEASE); /* cage_post_signal wakes us for these */
    int64_t r;
    struct taken t = {.has_origin = 0};
    for (;;) {
        uint64_t ready = (atomic_load(&th->sig_pending) |
                          atomic_load(&cage->sig_pending)) & set;
        if (ready) {
            int sig = __builtin_ctzll(ready) + 1;
            if (!take(th, sig, &t))
                continue; /* another thread took it */
            r = sig;
            break;
        }
        if ((deliverable(th) & ~set) || cage->exited || th->exited || cage->stopped ||
            __atomic_load_n(&th->pending, __ATOMIC_ACQUIRE) == PENDING_EXEC) {
            r = -EINTR; /* a handler runs (or the cage stops or ends) as the call returns */
            break;
        }
        int64_t now = monotonic_ns();
        if (now >= deadline) {
            r = -EAGAIN;
            break;
        }
        int64_t ns = deadline - now < 50000000 ? deadline - now : 50000000;
        struct timespec ts = {0, (long)ns};
        nanosleep(&ts, NULL); /* cut short by the kick of a signal */
    }
    __atomic_store_n(&th->sigwait_set, 0, __ATOMIC_RELEASE);
    if (r > 0 && info)
        siginfo_fill(cage, (int)r, t.has_origin ? &t.origin : NULL, info);
    return r;
}

/* sigaltstack(ss, old_ss), stack_t being {u32 sp, int flags, u32 size} (ILP32). */
int64_t sys_sigaltstack(struct lind_call *c)
{
    struct lind_thread *th = c->th;
    int efault;
    const uint32_t *ss = guest_ptr_or_null(c, c->a[0], 12, &efault);
    if (efault)
        return -EFAULT;
    uint32_t *old = guest_ptr_or_null(c, c->a[1], 12, &efault);
    if (efault)
        return -EFAULT;
    uint32_t prev[3] = {th->altstack_sp, th->altstack_size ? 0 : L_SS_DISABLE, th->altstack_size};
    if (th->on_altstack)
        prev[1] = L_SS_ONSTACK;
    if (ss) {
        uint32_t flags = ss[1] & ~L_SS_AUTODISARM;
        if (flags != 0 && flags != L_SS_DISABLE)
            return -EINVAL;
        if (th->on_altstack)
            return -EPERM;
        if (flags == L_SS_DISABLE) {
            th->altstack_sp = th->altstack_size = 0;
        } else {
            if (ss[2] < L_MINSIGSTKSZ)
                return -ENOMEM;
            if (!guest_ptr(c, ss[0], ss[2]))
                return -EFAULT; /* (Linux accepts any address; a stack outside the memory is of no use) */
            th->altstack_sp = ss[0];
            th->altstack_size = ss[2];
        }
    }
    if (old)
        memcpy(old, prev, sizeof prev);
    return 0;
}

int64_t sys_pause(struct lind_call *c)
{
    wait_for_signal(c->th);
    return -EINTR;
}

int64_t sys_kill(struct lind_call *c) { return proc_kill(c->cage, arg_int(c, 0), arg_int(c, 1)); }

/* rt_sigqueueinfo(pid, sig, siginfo *) (sigqueue): the caller's si_code (which must say a user
 * sent it: negative and not SI_TKILL, unless to itself, as Linux demands) and si_value; the
 * sender's pid and uid are its own, whatever the siginfo claims. */
int64_t sys_rt_sigqueueinfo(struct lind_call *c)
{
    int pid = arg_int(c, 0), sig = arg_int(c, 1);
    const int32_t *si = guest_ptr(c, c->a[2], 128);
    if (!si)
        return -EFAULT;
    if ((si[2] >= 0 || si[2] == L_SI_TKILL) && (uint64_t)pid != c->cage->id)
        return -EPERM;
    if (pid <= 0)
        return -ESRCH; /* (Linux: a process, not a group) */
    struct sig_origin o = {si[2], (int32_t)c->cage->id, c->cage->uid, 0, 0, (uint32_t)si[5]};
    return proc_kill_from(c->cage, pid, sig, &o);
}

/* A signal to one thread: a thread of the caller's own cage, or (tid == pid) another cage. */
static int64_t kill_thread(struct lind_call *c, int tgid, int tid, int sig)
{
    struct lind_cage *cage = c->cage;
    if (tid <= 0 || sig < 0 || sig > 64)
        return -EINVAL;
    if (tgid <= 0 || (uint64_t)tgid == cage->id) {
        if (cage_has_thread(cage, tid))
            sig_continue(cage, sig);
        cage_lock(cage);
        struct lind_thread *found = thread_by_tid_locked(cage, tid);
        if (found && sig) {
            struct sig_origin o = {L_SI_TKILL, (int32_t)cage->id, cage->uid, 0, 0, 0};
            post_from_locked(cage, found, sig, &o);
        }
        cage_unlock(cage);
        if (found)
            return 0;
        if (tgid > 0)
            return -ESRCH;
    }
    if (tgid > 0 && tgid != tid)
        return -ESRCH;
    return proc_kill(cage, tid, sig);
}

int64_t sys_tkill(struct lind_call *c) { return kill_thread(c, -1, arg_int(c, 0), arg_int(c, 1)); }

int64_t sys_tgkill(struct lind_call *c)
{
    if (arg_int(c, 0) <= 0)
        return -EINVAL;
    return kill_thread(c, arg_int(c, 0), arg_int(c, 1), arg_int(c, 2));
}

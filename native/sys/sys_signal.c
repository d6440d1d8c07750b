/* sys/sys_signal.c: the signal calls: sigaction, sigprocmask, sigpending, sigsuspend, pause,
 * sigtimedwait, sigaltstack, and the senders kill, tkill, tgkill, rt_sigqueueinfo.
 * Calls: base/, kern/, rt/ through kern/hooks.h.        Called by: sys/syscall_table.c. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "base/guest_abi.h"
#include "base/util.h"
#include "kern/cage.h"
#include "kern/call.h"
#include "kern/mm.h"
#include "kern/proc.h"
#include "kern/siginfo.h"
#include "kern/signal.h"
#include "kern/thread.h"
#include "kern/upcalls.h"
#include "sys/syscalls.h"

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
        a->mask = ((uint64_t)act[4] << 32 | act[3]) & ~SIG_UNBLOCKABLE;
        if (signal_ignored(c->cage, sig)) {
            atomic_fetch_and(&c->cage->sig_pending, ~SIG_BIT(sig));
            atomic_fetch_and(&c->th->sig_pending, ~SIG_BIT(sig));
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
        s &= ~SIG_UNBLOCKABLE;
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
    uint8_t *g = guest_ptr(c, c->a[0], 8);
    if (!g)
        return -EFAULT;
    uint64_t set = (atomic_load(&c->cage->sig_pending) | atomic_load(&c->th->sig_pending)) & c->th->sig_mask;
    memcpy(g, &set, 8); /* (guest sigsets are 4-byte aligned) */
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
    c->th->sig_mask = mask & ~SIG_UNBLOCKABLE;
    wait_for_signal(c->th);
    int restart;
    upcalls.signals_deliver(c, &restart);
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
    set &= ~SIG_UNBLOCKABLE;
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
    struct signal_taken t = {.has_origin = 0};
    for (;;) {
        uint64_t ready = (atomic_load(&th->sig_pending) |
                          atomic_load(&cage->sig_pending)) & set;
        if (ready) {
            int sig = __builtin_ctzll(ready) + 1;
            if (!signal_take(th, sig, &t))
                continue; /* another thread took it */
            r = sig;
            break;
        }
        if ((signal_deliverable(th) & ~set) || cage->exited || th->exited || cage->stopped ||
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
            proc_signal_continue(cage, sig);
        cage_lock(cage);
        struct lind_thread *found = thread_by_tid_locked(cage, tid);
        if (found && sig) {
            struct sig_origin o = {L_SI_TKILL, (int32_t)cage->id, cage->uid, 0, 0, 0};
            signal_post_from_locked(cage, found, sig, &o);
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

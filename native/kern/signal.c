/* Signals: dispositions' defaults, masks, pending sets, posting, and kicking threads.
 *
 * A signal sent to a cage sets a bit in its pending set and kicks the OS thread running it out of
 * a blocking host call (a real-time host signal with an empty handler, so the call fails with
 * EINTR). Pending signals are acted on when a system call returns (rt/sigdeliver.c: default actions
 * end or ignore, handlers are called through the guest's function table on the guest's own stack,
 * then the interrupted call returns EINTR or is restarted, SA_RESTART). CPU-bound code is
 * interrupted by the epoch callback (rt/epoch.c).
 * Calls:  kern/ (cage, thread).
 * Called by: kern/ (proc, thread, tree), sys/, rt/ (epoch, sigdeliver), threei/ (dispatch). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "kern/cage.h"
#include "kern/signal.h"
#include "kern/thread.h"

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

enum sig_default signal_default_action(int sig)
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

int signal_ignored(struct lind_cage *cage, int sig)
{
    if (sig == 9 || sig == 19)
        return 0;
    uint32_t h = cage->sigact[sig].handler;
    return h == L_SIG_IGN || (h == L_SIG_DFL && (signal_default_action(sig) == DEF_IGN));
}

/* SIGCONT with the default action does nothing but continue (done when it is posted). */
static int stop_or_cont_default(struct lind_cage *cage, int sig)
{
    return signal_default_action(sig) == DEF_CONT && cage->sigact[sig].handler == L_SIG_DFL;
}

/* Continues a stopped cage (SIGCONT); 1 if it was stopped: its parent's waits must then hear of it
 * (proc_note_stop, which cage_post_signal and signal_post_from of kern/proc.c call). */
int signal_continue(struct lind_cage *cage)
{
    if (__atomic_exchange_n(&cage->stopped, 0, __ATOMIC_ACQ_REL)) {
        /* pending stop signals are discarded by SIGCONT, as on Linux */
        uint64_t stops = SIG_BIT(19) | SIG_BIT(20) | SIG_BIT(21) | SIG_BIT(22);
        atomic_fetch_and(&cage->sig_pending, ~stops);
        return 1;
    }
    return 0;
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

/* Ends the cage as SIGKILL does: it is marked ended and every thread is interrupted, wherever it
 * waits (a host call, the end of its other threads). */
void cage_doom(struct lind_cage *cage)
{
    cage_lock(cage);
    if (!cage->exited) {
        cage->exited = 1;
        cage->term_signal = 9;
    }
    cage_kick_threads(cage, NULL);
    pthread_cond_broadcast(&cage->threads_cond);
    cage_unlock(cage);
}

/* Whether a signal whose action is to be ignored must still be kept pending, as Linux keeps it:
 * when it is blocked (its action may change before it is unblocked) or awaited by sigwait. */
static int kept_if_ignored(struct lind_thread *th, int sig)
{
    return th && ((th->sig_mask | th->sigwait_set) & SIG_BIT(sig));
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
    if (cage->main && (cage->main->sigwait_set & SIG_BIT(sig)))
        waiter = cage->main;
    for (struct lind_thread *t = cage->others; t && !waiter; t = t->next)
        if (t->sigwait_set & SIG_BIT(sig))
            waiter = t;
    if (signal_ignored(cage, sig) && !waiter && !kept_if_ignored(cage->main, sig))
        return;
    atomic_fetch_or(&cage->sig_pending, SIG_BIT(sig));
    /* wake a thread that waits for it, else one that does not block it: the main thread first,
     * unless it has called exit and only waits for the others (as a zombie leader on Linux) */
    struct lind_thread *target = waiter;
    if (!target && cage->main && !(cage->main->sig_mask & SIG_BIT(sig)) && !cage->main->exiting)
        target = cage->main;
    for (struct lind_thread *t = cage->others; t && !target; t = t->next)
        if (!(t->sig_mask & SIG_BIT(sig)) && !t->exited)
            target = t;
    if (target)
        thread_kick(target);
}

/* Posting a signal has two halves. Continuing a stopped cage (SIGCONT, whatever its disposition)
 * reports to its parent's waits, under proc_lock, which is taken before any cage's lock: so it is
 * done first, with no cage lock held (proc_signal_continue, kern/proc.c). The rest is done under
 * the cage's lock, here. */

/* A process-directed signal, its continue half done (no cage lock held). */
void signal_post(struct lind_cage *cage, int sig)
{
    cage_lock(cage);
    cage_post_locked(cage, sig);
    cage_unlock(cage);
}

/* A thread-directed signal (cage lock held; proc_signal_continue done). */
void thread_post_signal(struct lind_thread *th, int sig)
{
    if (sig == 9) { /* SIGKILL to a thread ends its whole cage */
        cage_doom(th->cage);
        return;
    }
    if (sig == 18)
        cage_kick_threads(th->cage, NULL);
    if (sig <= 0 || sig > 64 || stop_or_cont_default(th->cage, sig) ||
        (signal_ignored(th->cage, sig) && !kept_if_ignored(th, sig)))
        return;
    atomic_fetch_or(&th->sig_pending, SIG_BIT(sig));
    thread_kick(th);
}

/* The thread of the cage with that tid (cage lock held), or NULL. */
struct lind_thread *thread_by_tid_locked(struct lind_cage *cage, int tid)
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

/* signal_post_from with the cage lock held (and proc_signal_continue done), to thread th (NULL: the
 * cage). */
int signal_post_from_locked(struct lind_cage *cage, struct lind_thread *th, int sig, const struct sig_origin *o)
{
    uint64_t pending = atomic_load(&cage->sig_pending) |
                       (th ? atomic_load(&th->sig_pending) : 0);
    if (pending & SIG_BIT(sig))
        return 1;
    cage->sig_origin[sig] = *o;
    atomic_fetch_or(&cage->sig_origins, SIG_BIT(sig));
    if (th)
        thread_post_signal(th, sig);
    else
        cage_post_locked(cage, sig);
    return 0;
}

/* signal_post_from's second half (kern/proc.c), its continue half done. */
int signal_post_origin(struct lind_cage *cage, int tid, int sig, const struct sig_origin *o)
{
    cage_lock(cage);
    int r = signal_post_from_locked(cage, tid ? thread_by_tid_locked(cage, tid) : NULL, sig, o);
    cage_unlock(cage);
    return r;
}

/* The pending signals th may take now (its own and its cage's, but those it blocks). */
uint64_t signal_deliverable(struct lind_thread *th)
{
    uint64_t pending = atomic_load(&th->sig_pending) |
                       atomic_load(&th->cage->sig_pending);
    return pending & ~(th->sig_mask & ~SIG_UNBLOCKABLE);
}

int thread_interrupted(struct lind_thread *th)
{
    return signal_deliverable(th) != 0 || th->cage->exited || th->exited || th->cage->stopped ||
           __atomic_load_n(&th->pending, __ATOMIC_ACQUIRE) == PENDING_EXEC; /* another thread's exec */
}

int thread_doomed(struct lind_thread *th)
{
    return (signal_deliverable(th) & SIG_BIT(9)) || th->cage->exited || th->exited;
}

/* Takes signal sig off the pending sets (the thread's own first); 0 if another thread took it.
 * Under the cage lock, so that its origin is the one posted with it, not the next one's (a
 * timer that fires again as it is taken), and SA_RESETHAND is done as it is taken. */
int signal_take(struct lind_thread *th, int sig, struct signal_taken *t)
{
    struct lind_cage *cage = th->cage;
    cage_lock(cage);
    int got = (atomic_fetch_and(&th->sig_pending, ~SIG_BIT(sig)) & SIG_BIT(sig)) ||
              (atomic_fetch_and(&cage->sig_pending, ~SIG_BIT(sig)) & SIG_BIT(sig));
    if (got) {
        t->act = cage->sigact[sig];
        t->has_origin = (atomic_fetch_and(&cage->sig_origins, ~SIG_BIT(sig)) & SIG_BIT(sig)) != 0;
        if (t->has_origin)
            t->origin = cage->sig_origin[sig];
        if ((t->act.flags & L_SA_RESETHAND) && t->act.handler > L_SIG_IGN && sig != 9 && sig != 19)
            cage->sigact[sig].handler = L_SIG_DFL;
    }
    cage_unlock(cage);
    return got;
}

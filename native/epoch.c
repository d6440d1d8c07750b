/* Interrupting CPU-bound cages. The engine is built with epoch interruption; a ticker thread
 * advances the epoch every EPOCH_MS and each store's deadline callback (this file) runs the
 * pending signals of its cage: default actions end it (the callback returns an error, which traps
 * the instance), handlers run right there on the cage's stack. The ticker also enforces wall-time
 * limits. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "lind.h"

#define EPOCH_MS 10

static void (*engine_increment_epoch)(wasm_engine_t *);
static wasm_engine_t *ticking_engine;
static pthread_once_t ticker_once = PTHREAD_ONCE_INIT;

static void *ticker(void *arg);
static void start_ticker_once(void) { start_service_thread(ticker, 1); }

/* ---- wall-time limits: the ticker also ends the cage trees whose time is up ---- */

struct wall_limit {
    struct lind_cage *cage; /* a tree's root cage; the entry goes before the cage does */
    int pid;
    int64_t ms;
    int64_t deadline_ns;    /* CLOCK_MONOTONIC; 0 until the cage starts running */
    int fired;
    struct wall_limit *next;
};

static pthread_mutex_t wall_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wall_limit *wall_limits;


/* Python: the tree started by this (root) cage gets SIGKILL, its process group and itself, once
 * it has run for ms milliseconds (to within EPOCH_MS). */
int lind_cage_set_wall_limit(struct lind_cage *cage, uint64_t ms)
{
    struct wall_limit *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    w->cage = cage;
    w->pid = (int)cage->id;
    w->ms = (int64_t)ms;
    pthread_mutex_lock(&wall_lock);
    w->next = wall_limits;
    wall_limits = w;
    cage->wall_limited = 1;
    pthread_mutex_unlock(&wall_lock);
    return 0;
}

/* The root cage starts running (runner.c): its time counts from now. */
void wall_limit_start(struct lind_cage *cage)
{
    if (!cage->wall_limited)
        return;
    pthread_mutex_lock(&wall_lock);
    for (struct wall_limit *w = wall_limits; w; w = w->next)
        if (w->cage == cage)
            w->deadline_ns = monotonic_ns() + w->ms * 1000000;
    pthread_mutex_unlock(&wall_lock);
}

/* The root cage has ended (runner.c): its limit goes. */
void wall_limit_remove(struct lind_cage *cage)
{
    if (!cage->wall_limited)
        return;
    pthread_mutex_lock(&wall_lock);
    for (struct wall_limit **pp = &wall_limits; *pp; pp = &(*pp)->next)
        if ((*pp)->cage == cage) {
            struct wall_limit *w = *pp;
            *pp = w->next;
            free(w);
            break;
        }
    cage->wall_limited = 0;
    pthread_mutex_unlock(&wall_lock);
}

static void wall_limits_check(void)
{
    int expired[64], n = 0;
    int64_t now = monotonic_ns();
    pthread_mutex_lock(&wall_lock);
    for (struct wall_limit *w = wall_limits; w && n < 64; w = w->next)
        if (w->deadline_ns && !w->fired && now >= w->deadline_ns) {
            w->fired = 1; /* once; the entry stays until the cage ends */
            w->cage->wall_exceeded = 1;
            expired[n++] = w->pid;
        }
    pthread_mutex_unlock(&wall_lock);
    for (int i = 0; i < n; i++) { /* by pid: safe if the tree ended meanwhile */
        proc_kill_group(expired[i], 9);
        lind_kill(expired[i], 9);
    }
}

/* ---- `lind run`: signals sent to the host process go to the cage tree ---- */

static const int FORWARDED[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM};
static _Atomic uint32_t forward_pending; /* bit n: host signal n arrived */
static int forward_pid;

static void note_forwarded(int sig) { atomic_fetch_or(&forward_pending, 1u << sig); }

/* Python (`lind run`, before it runs the tree's root cage on the calling thread): SIGHUP, SIGINT,
 * SIGQUIT and SIGTERM to the host process go to the tree's process group (or its root cage, if it
 * left the group), as a shell's foreground job gets them. The calling thread, and so every runner
 * thread it starts, blocks them: the ticker, which does not, receives them and forwards them
 * outside the signal handler. (Python's own handlers could not run while the main thread is in C.) */
int lind_forward_signals(int pid)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = note_forwarded;
    sa.sa_flags = SA_RESTART;
    sigset_t set;
    sigemptyset(&set);
    forward_pid = pid;
    for (size_t i = 0; i < sizeof FORWARDED / sizeof FORWARDED[0]; i++) {
        sigaddset(&set, FORWARDED[i]);
        if (sigaction(FORWARDED[i], &sa, NULL) < 0)
            return -errno;
    }
    return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void forward_signals(uint32_t sigs)
{
    for (int sig = 1; sig < 32; sig++)
        if (sigs & (1u << sig) && proc_kill_group(forward_pid, sig) < 0)
            lind_kill(forward_pid, sig);
}

static void *ticker(void *arg)
{
    (void)arg;
    struct timespec ts = {0, EPOCH_MS * 1000 * 1000};
    for (;;) {
        nanosleep(&ts, NULL); /* (a forwarded signal ends it early) */
        uint32_t sigs = atomic_exchange(&forward_pending, 0);
        if (sigs)
            forward_signals(sigs);
        engine_increment_epoch(ticking_engine);
        if (__atomic_load_n(&wall_limits, __ATOMIC_RELAXED))
            wall_limits_check();
    }
    return NULL;
}

/* The engine cages run on (engine.c), whose epoch the ticker advances. */
int epoch_ticker_start(wasm_engine_t *engine)
{
    if (ticking_engine)
        return 0;
    ticking_engine = engine;
    engine_increment_epoch = wt.engine_increment_epoch;
    pthread_once(&ticker_once, start_ticker_once);
    return 0;
}

static const char KILLED[] = "lind: cage killed by a signal";
static const char LONGJMP[] = "lind: longjmp out of a signal handler";

/* RLIMIT_CPU, as Linux enforces it: SIGXCPU at the soft limit, SIGKILL at the hard one. The
 * cage's CPU time is the CPU time of the OS thread running it (one per cage thread). */
static void cpu_limit_check(struct lind_thread *th)
{
    struct lind_cage *cage = th->cage;
    uint64_t soft = cage->rlim[RLIMIT_CPU].cur, hard = cage->rlim[RLIMIT_CPU].max;
    if (soft == RLIM_INFINITY && hard == RLIM_INFINITY)
        return;
    uint64_t sec = (uint64_t)(thread_cpu_ns(th) / 1000000000);
    if (sec >= hard)
        cage_post_signal(cage, 9);
    else if (sec >= soft && !cage->xcpu_sent) {
        cage->xcpu_sent = 1;
        cage_post_signal(cage, 24); /* SIGXCPU */
    }
}

/* wasmtime_store_epoch_deadline_callback: data is the thread. */
wasmtime_error_t *lind_epoch_callback(wasmtime_context_t *ctx, void *data, uint64_t *delta,
                                      wasmtime_update_deadline_kind_t *kind)
{
    struct lind_thread *th = data;
    struct lind_cage *cage = th->cage;
    *delta = 1;
    *kind = WASMTIME_UPDATE_DEADLINE_CONTINUE;
    cpu_limit_check(th);
    if (!thread_interrupted(th))
        return NULL;
    struct lind_call c;
    /* a handler called from here runs wasm: it needs a deadline in the future first */
    wt.context_set_epoch_deadline(ctx, 1);
    memset(&c, 0, sizeof c);
    c.cage = cage;
    c.th = th;
    c.ctx = ctx;
    signals_after_call(&c);
    if (cage->exited || th->exited || __atomic_load_n(&th->pending, __ATOMIC_ACQUIRE) == PENDING_EXEC)
        return wt.error_new(KILLED); /* (an exec by another thread: the run loop does it) */
    if (th->deferred_longjmp && !th->in_handler) {
        /* a handler that interrupted computation longjmp'ed out: there is no call to unwind from,
         * so the whole wasm stack is abandoned and the run loop rewinds into the setjmp */
        th->deferred_longjmp = 0;
        th->abandon_for_longjmp = 1;
        return wt.error_new(LONGJMP);
    }
    return NULL;
}

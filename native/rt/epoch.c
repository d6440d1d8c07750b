/* Interrupting CPU-bound cages. The engine is built with epoch interruption; a ticker thread
 * advances the epoch every EPOCH_MS and each store's deadline callback (this file) runs the
 * pending signals of its cage: default actions end it (the callback returns an error, which traps
 * the instance), handlers run right there on the cage's stack. The ticker also enforces wall-time
 * limits.
 * Calls:  base/ (util, wt_api), kern/, rt/ (sigdeliver).
 * Called by: rt/ (engine, instance), Python. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/util.h"
#include "base/wt_api.h"
#include "kern/cage.h"
#include "kern/call.h"
#include "kern/proc.h"
#include "kern/signal.h"
#include "kern/thread.h"
#include "kern/tree.h"
#include "rt/epoch.h"
#include "rt/sigdeliver.h"

#define EPOCH_MS 10

static void (*engine_increment_epoch)(wasm_engine_t *);
static wasm_engine_t *ticking_engine;
static pthread_once_t ticker_once = PTHREAD_ONCE_INIT;

static void *ticker(void *arg);
static void start_ticker_once(void) { start_service_thread(ticker, 1); }

/* ---- `lind run`: signals sent to the host process go to the cage tree ---- */

static const int FORWARDED[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM};
static _Atomic uint32_t forward_pending; /* bit n: host signal n arrived */
static _Atomic int forward_pid;          /* 0: the root is still being loaded (no pid yet) */
static _Atomic int forwarding;           /* lind_forward_signals was called */
/* `lind run`'s tree while its root is loaded (its wasm start function may loop): a forwarded
 * signal kills it. Its lock is taken before proc_lock (tree_kill). */
static pthread_mutex_t loading_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lind_tree *loading_tree;

static void note_forwarded(int sig) { atomic_fetch_or(&forward_pending, 1u << sig); }

/* Python (`lind run`, before it runs the tree's root cage on the calling thread): SIGHUP, SIGINT,
 * SIGQUIT and SIGTERM to the host process go to the tree's process group (or its root cage, if it
 * left the group), as a shell's foreground job gets them; with pid 0 (before the root is made, which
 * runs its start function), the tree being loaded is killed. The calling thread, and so every runner
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
    forwarding = 1;
    for (size_t i = 0; i < sizeof FORWARDED / sizeof FORWARDED[0]; i++) {
        sigaddset(&set, FORWARDED[i]);
        if (sigaction(FORWARDED[i], &sa, NULL) < 0)
            return -errno;
    }
    return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

#define FORWARD_GRACE_MS 500
static int64_t forward_kill_at; /* the ticker's: when the tree goes if the signals did not end it */

/* The tree gets the signals; whatever is left of it FORWARD_GRACE_MS later is killed (a cage may
 * handle SIGINT to clean up, but it cannot keep `lind run` from ending). */
static void forward_signals(uint32_t sigs)
{
    if (forward_pid == 0) {
        pthread_mutex_lock(&loading_lock);
        if (loading_tree)
            tree_kill(loading_tree, TREE_KILLED);
        else
            atomic_fetch_or(&forward_pending, sigs); /* (kept until the tree is there) */
        pthread_mutex_unlock(&loading_lock);
        return;
    }
    for (int sig = 1; sig < 32; sig++)
        if (sigs & (1u << sig) && proc_kill_group(forward_pid, sig) < 0)
            lind_kill(forward_pid, sig);
    if (!forward_kill_at)
        forward_kill_at = monotonic_ns() + FORWARD_GRACE_MS * 1000000ll;
}

/* rt/runner.c, around the loading of a root cage: the tree `lind run`'s signals go to meanwhile
 * (NULL: none). Only `lind run` forwards signals; for everyone else this does nothing. */
void epoch_loading(struct lind_tree *t)
{
    if (!forwarding)
        return;
    pthread_mutex_lock(&loading_lock);
    loading_tree = t;
    pthread_mutex_unlock(&loading_lock);
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
        if (forward_kill_at && monotonic_ns() >= forward_kill_at) {
            forward_kill_at = 0;
            lind_tree_kill(forward_pid);
        }
        engine_increment_epoch(ticking_engine);
        trees_tick();
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
    thread_charge_cpu(th);
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

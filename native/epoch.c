/* Interrupting CPU-bound cages. The engine is built with epoch interruption; a ticker thread
 * advances the epoch every EPOCH_MS and each store's deadline callback (this file) runs the
 * pending signals of its cage: default actions end it (the callback returns an error, which traps
 * the instance), handlers run right there on the cage's stack. */
#include <errno.h>
#include <pthread.h>
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
static void start_ticker_once(void) { start_service_thread(ticker); }

static void *ticker(void *arg)
{
    (void)arg;
    struct timespec ts = {0, EPOCH_MS * 1000 * 1000};
    for (;;) {
        nanosleep(&ts, NULL);
        engine_increment_epoch(ticking_engine);
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
    return NULL;
}

/* Threads of a cage: a thread's record (its tid, signal mask, name, fork and setjmp state), its end
 * (the tid word cleared and woken, its figures added to its cage's), its OS thread and CPU time, and
 * the wait of a cage's main thread for the others. The calls of threads are sys/sys_thread.c.
 * Calls:  base/ (util), kern/ (cage, jmpbuf, signal).
 * Called by: kern/ (cage, tree), sys/ (sys_lifecycle, sys_misc, sys_thread), rt/ (epoch, runner), threei/ (grate). */
#include <errno.h>
#include <sched.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "kern/cage.h"
#include "kern/jmpbuf.h"
#include "kern/pids.h"
#include "kern/signal.h"
#include "kern/thread.h"

/* Called on the OS thread that runs a cage thread, before running it. */
void lind_thread_bind(struct lind_thread *th)
{
    struct timespec ts;
    thread_set_os_thread(th, 1);
    /* OS threads are reused for many cages: CPU time counts from here */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    th->cpu_base_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    th->cpu_charged = 0; /* (a root is bound once to be loaded, then to run) */
}

int64_t thread_cpu_ns(const struct lind_thread *th)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    return now > th->cpu_base_ns ? now - th->cpu_base_ns : 0;
}

void lind_thread_unbind(struct lind_thread *th) { thread_set_os_thread(th, 0); }

/* Its name as Linux sets it at exec (prctl PR_GET_NAME): the file name, cut to 15 bytes. */
void thread_name_from_path(struct lind_thread *th, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    memset(th->name, 0, sizeof th->name);
    strncpy(th->name, base, sizeof th->name - 1);
}

struct lind_thread *thread_new(struct lind_cage *cage, int tid)
{
    struct lind_thread *th = calloc(1, sizeof *th);
    if (th) {
        th->cage = cage;
        th->tid = tid;
    }
    return th;
}

/* The thread's run loop has ended. Clears the tid word (pthread_join waits on it), drops
 * the thread from its cage and frees it. Not for the main thread. */
void lind_thread_finish(struct lind_thread *th)
{
    struct lind_cage *cage = th->cage;
    if (th->clear_tid && cage->base && (uint64_t)th->clear_tid + 4 <= cage->size && !(th->clear_tid & 3)) {
        int32_t *p = (int32_t *)(cage->base + th->clear_tid);
        __atomic_store_n(p, 0, __ATOMIC_SEQ_CST);
        syscall(SYS_futex, p, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    }
    __atomic_add_fetch(&cage->nsyscalls, th->nsyscalls, __ATOMIC_RELAXED);
    __atomic_add_fetch(&cage->threads_cpu_ns, (uint64_t)thread_cpu_ns(th), __ATOMIC_RELAXED);
    cage_lock(cage);
    struct lind_thread **pp = &cage->others;
    while (*pp && *pp != th)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = th->next;
        cage->nthreads--;
    }
    pthread_cond_broadcast(&cage->threads_cond);
    cage_unlock(cage);
    jmp_records_free(th);
    pid_release(th->tid);
    free(th);
}

/* The main thread's run loop has ended: wait until the other threads are gone (they are told to
 * end by exit_group, a fatal signal or exec). */
void lind_cage_wait_threads(struct lind_cage *cage)
{
    cage_lock(cage);
    while (cage->nthreads > 1) {
        if (!cage->exited) { /* the main thread ended alone: end the others too */
            cage->exited = 1;
        }
        cage_kick_threads(cage, cage->main);
        struct timespec ts;
        deadline_after_ms(&ts, 20);
        pthread_cond_timedwait(&cage->threads_cond, &cage->lock, &ts);
    }
    cage_unlock(cage);
}

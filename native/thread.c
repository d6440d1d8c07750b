/* Threads of a cage: clone(CLONE_THREAD), thread exit, futex, gettid.
 *
 * A thread is a new instance of the cage's module over the same shared memory, run on a runner
 * thread (runner.c: thread_start); it starts in the exported __lind_thread_start. */
#include <errno.h>
#include <sched.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "instance.h"

#define L_CLONE_VM 0x100
#define L_CLONE_SETTLS 0x80000
#define L_CLONE_PARENT_SETTID 0x100000
#define L_CLONE_CHILD_CLEARTID 0x200000
#define L_CLONE_CHILD_SETTID 0x1000000
#define L_CLONE_THREAD 0x10000

void cage_lock(struct lind_cage *cage) { pthread_mutex_lock(&cage->lock); }

/* CLOCK_REALTIME ms from now, for pthread_cond_timedwait. */
void deadline_after_ms(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

struct service_start {
    void *(*fn)(void *);
    int own_fds;
};

static void *service_main(void *arg)
{
    struct service_start s = *(struct service_start *)arg;
    free(arg);
    if (s.own_fds && unshare(CLONE_FILES) == 0)
        close_range(0, ~0U, 0); /* its copy would keep files open that the cages close */
    return s.fn(NULL);
}

/* A detached host thread with a small stack, for the microvisor's own services (epoch ticker,
 * timers, capture hub). With own_fds (a service that never touches a host fd), the thread gets an
 * empty fd table of its own: the kernel then takes its cheap path for every fd a cage uses (no
 * reference counting per call) while the cage's thread is the only one sharing the table. */
void start_service_thread(void *(*fn)(void *), int own_fds)
{
    struct service_start *s = malloc(sizeof *s);
    if (!s)
        return;
    s->fn = fn;
    s->own_fds = own_fds;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    if (pthread_create(&t, &attr, service_main, s) != 0)
        free(s);
    pthread_attr_destroy(&attr);
}
void cage_unlock(struct lind_cage *cage) { pthread_mutex_unlock(&cage->lock); }

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

int64_t thread_clone(struct lind_call *c)
{
    struct lind_cage *cage = c->cage;
    uint64_t flags = c->a[0];
    uint32_t stack = arg_u32(c, 1), ptid = arg_u32(c, 2), ctid = arg_u32(c, 3), start = arg_u32(c, 5);
    if (!(flags & L_CLONE_VM) || !(flags & L_CLONE_THREAD) || !stack || !start)
        return -EINVAL;
    int tid = proc_alloc_tid();
    if (tid < 0)
        return tid;
    struct lind_thread *th = thread_new(cage, tid);
    if (!th) {
        proc_free_tid(tid);
        return -EAGAIN;
    }
    th->sig_mask = c->th->sig_mask;
    memcpy(th->name, c->th->name, sizeof th->name);
    if (flags & L_CLONE_CHILD_CLEARTID)
        th->clear_tid = ctid;
    if ((flags & L_CLONE_PARENT_SETTID) && ptid) {
        int32_t *p = guest_ptr(c, ptid, 4);
        if (!p) {
            proc_free_tid(tid);
            free(th);
            return -EFAULT;
        }
        *p = tid;
    }
    if ((flags & L_CLONE_CHILD_SETTID) && ctid) {
        int32_t *p = guest_ptr(c, ctid, 4);
        if (p)
            *p = tid;
    }
    cage_lock(cage);
    th->next = cage->others;
    cage->others = th;
    cage->nthreads++;
    cage_unlock(cage);
    if (thread_start(cage, th, stack, start) < 0) {
        lind_thread_finish(th);
        return -EAGAIN;
    }
    return tid;
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
    proc_free_tid(th->tid);
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

/* exit(2) of one thread. The main thread waits for the others and then ends the process with the
 * status of the last one (as Linux does when the last thread exits). */
int64_t sys_exit(struct lind_call *c)
{
    struct lind_cage *cage = c->cage;
    int code = arg_int(c, 0) & 0xff;
    if (c->th->cage != cage) { /* a grate acting on another cage: that cage's thread is unknown */
        cage_lock(cage);
        cage->exit_code = code;
        cage->exited = 1;
        cage_kick_threads(cage, NULL);
        cage_unlock(cage);
        return 0;
    }
    if (c->th != cage->main) {
        c->th->exited = 1;
        cage_lock(cage);
        cage->exit_code = code;
        cage_unlock(cage);
        return 0;
    }
    cage_lock(cage);
    cage->exit_code = code;
    c->th->exiting = 1; /* process-directed signals go to the other threads now */
    while (cage->nthreads > 1 && !cage->exited)
        pthread_cond_wait(&cage->threads_cond, &cage->lock);
    if (!cage->exited)
        cage->exited = 1;
    cage_unlock(cage);
    return 0;
}

int64_t sys_exit_group(struct lind_call *c)
{
    struct lind_cage *cage = c->cage;
    cage_lock(cage);
    if (!cage->exited) {
        cage->exit_code = arg_int(c, 0) & 0xff;
        cage->exited = 1;
    }
    cage_kick_threads(cage, c->th);
    cage_unlock(cage);
    return 0;
}

int64_t sys_gettid(struct lind_call *c) { return c->th->tid; }

int64_t sys_set_tid_address(struct lind_call *c)
{
    c->th->clear_tid = arg_u32(c, 0);
    return c->th->tid;
}

/* futex on the cage's shared memory: the host futex works on the host address as is (all threads
 * of a cage are threads of this host process). */
int64_t sys_futex(struct lind_call *c)
{
    uint32_t uaddr = arg_u32(c, 0);
    int op = arg_int(c, 1), cmd = op & FUTEX_CMD_MASK;
    uint32_t val = arg_u32(c, 2);
    if (uaddr & 3)
        return -EINVAL;
    uint32_t *p = guest_ptr(c, uaddr, 4);
    if (!p)
        return -EFAULT;
    int hop = cmd | FUTEX_PRIVATE_FLAG | (op & FUTEX_CLOCK_REALTIME);
    struct timespec ts, *tp = NULL;
    long r;
    switch (cmd) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET:
        if ((uint32_t)c->a[3]) {
            const uint8_t *g = guest_ptr(c, c->a[3], 16);
            if (!g)
                return -EFAULT;
            guest_timespec(g, &ts);
            tp = &ts;
        }
        if (thread_interrupted(c->th))
            return -EINTR;
        r = syscall(SYS_futex, p, hop, val, tp, NULL, cmd == FUTEX_WAIT_BITSET ? arg_u32(c, 5) : 0);
        break;
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET:
        r = syscall(SYS_futex, p, hop, val, NULL, NULL, cmd == FUTEX_WAKE_BITSET ? arg_u32(c, 5) : 0);
        break;
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE: {
        uint32_t a2 = arg_u32(c, 4);
        if (a2 & 3)
            return -EINVAL;
        uint32_t *p2 = guest_ptr(c, a2, 4);
        if (!p2)
            return -EFAULT;
        r = syscall(SYS_futex, p, hop, val, (void *)(uintptr_t)arg_u32(c, 3), p2, arg_u32(c, 5));
        break;
    }
    default:
        return -ENOSYS;
    }
    return r < 0 ? -errno : r;
}

int64_t sys_set_robust_list(struct lind_call *c)
{
    /* robust mutexes are not recovered when a thread dies; the list is accepted */
    return arg_u32(c, 1) == 12 ? 0 : -EINVAL;
}

/* sys/sys_thread.c: the calls of threads: clone(CLONE_THREAD), exit and exit_group, futex, gettid,
 * set_tid_address, set_robust_list.
 *
 * A thread is a new instance of the cage's module over the same shared memory, run on a runner
 * thread (rt/runner.c: thread_start); it starts in the exported __lind_thread_start.
 * Calls: base/, kern/, rt/ through kern/hooks.h.        Called by: sys/syscall_table.c. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/guest_abi.h"
#include "kern/cage.h"
#include "kern/call.h"
#include "kern/mm.h"
#include "kern/pids.h"
#include "kern/proc.h"
#include "kern/signal.h"
#include "kern/thread.h"
#include "kern/upcalls.h"
#include "sys/syscalls.h"
#include "sys/thread.h"

#define L_CLONE_VM 0x100
#define L_CLONE_SETTLS 0x80000
#define L_CLONE_PARENT_SETTID 0x100000
#define L_CLONE_CHILD_CLEARTID 0x200000
#define L_CLONE_CHILD_SETTID 0x1000000
#define L_CLONE_THREAD 0x10000

int64_t thread_clone(struct lind_call *c)
{
    struct lind_cage *cage = c->cage;
    uint64_t flags = c->a[0];
    uint32_t stack = arg_u32(c, 1), ptid = arg_u32(c, 2), ctid = arg_u32(c, 3), start = arg_u32(c, 5);
    if (!(flags & L_CLONE_VM) || !(flags & L_CLONE_THREAD) || !stack || !start)
        return -EINVAL;
    int tid = pid_take();
    if (tid < 0)
        return tid;
    struct lind_thread *th = thread_new(cage, tid);
    if (!th) {
        pid_release(tid);
        return -EAGAIN;
    }
    th->sig_mask = c->th->sig_mask;
    memcpy(th->name, c->th->name, sizeof th->name);
    if (flags & L_CLONE_CHILD_CLEARTID)
        th->clear_tid = ctid;
    if ((flags & L_CLONE_PARENT_SETTID) && ptid) {
        int32_t *p = guest_ptr(c, ptid, 4);
        if (!p) {
            pid_release(tid);
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
    if (upcalls.thread_start(cage, th, stack, start) < 0) {
        lind_thread_finish(th);
        return -EAGAIN;
    }
    return tid;
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

/* Cage trees: a tree is the root cage an embedder started and every cage forked from it.
 *
 * The tree is what the embedder limits and stops: its size (--max-cages), its wall-time and CPU-time
 * limits, its memory accounting, and its kill. Killing a tree marks it dying: no cage can join it
 * from then on (a fork's child is refused under the same lock that enrols it), and every cage of it
 * ends as by SIGKILL, which no cage can block, ignore or outrun by forking. When the root ends, the
 * rest of the tree is killed too, as when the init of a Linux pid namespace dies (isolate and nsjail
 * do the same); but a root that served as a grate leaves its cages running (they fall back to the
 * microvisor, docs/abi.md), and the tree then ends with its last cage or a limit. The ticker
 * (rt/epoch.c) kills trees whose wall time is up and kicks the threads of dying trees again every
 * DOOM_RETRY_MS: a thread that was about to block when the first kick came cannot sleep through the
 * kill. A tree can also be given programs by name before it runs (the grates and
 * program of a stack: lind_aot/threei/grates.py), which an exec of that name runs.
 *
 * Locks: proc_lock (defined here; the process table's too, kern/proc.c) protects the list of trees,
 * each tree's members, live, refs, dying and end_reason; cpu_ns and the memory counters are atomic.
 * proc_lock is taken before a cage's lock.
 * Calls:  base/ (util), kern/ (cage, module, proc, signal, thread).
 * Called by: kern/ (cage, mm, proc), sys/ (sys_lifecycle), rt/ (epoch, instance, runner), Python. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "kern/cage.h"
#include "kern/module.h"
#include "kern/proc.h"
#include "kern/signal.h"
#include "kern/thread.h"
#include "kern/tree.h"

#define DOOM_RETRY_MS 50

/* The lock of the process table (kern/proc.c) and of the trees, defined here, in the lower of the
 * two files. Recursive: signals posted under it (kill) can note a stop/continue, which takes it
 * again (kern/proc.c: proc_signal_continue). */
pthread_mutex_t proc_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
pthread_cond_t proc_cond = PTHREAD_COND_INITIALIZER; /* broadcast when a cage ends or stops */

static struct lind_tree *trees; /* every tree (proc_lock) */

/* A new tree (its root is enrolled by proc_new); NULL without memory. */
struct lind_tree *tree_new(void)
{
    struct lind_tree *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_mutex_lock(&proc_lock);
    t->next = trees;
    if (trees)
        trees->prev = t;
    trees = t;
    t->refs = 1; /* the creator's, given to the root's proc entry */
    pthread_mutex_unlock(&proc_lock);
    return t;
}

void tree_get_locked(struct lind_tree *t) { t->refs++; }

void tree_put_locked(struct lind_tree *t)
{
    if (--t->refs > 0)
        return;
    if (t->prev)
        t->prev->next = t->next;
    else
        trees = t->next;
    if (t->next)
        t->next->prev = t->prev;
    while (t->programs) {
        struct tree_program *p = t->programs;
        t->programs = p->next;
        module_put(p->module);
        free(p->name);
        free(p);
    }
    free(t);
}

void tree_put(struct lind_tree *t)
{
    pthread_mutex_lock(&proc_lock);
    tree_put_locked(t);
    pthread_mutex_unlock(&proc_lock);
}

/* The tree whose root has pid `root`, referenced, or NULL (it has ended and nobody holds it). */
struct lind_tree *tree_find(int root)
{
    pthread_mutex_lock(&proc_lock);
    struct lind_tree *t = trees;
    while (t && t->root_pid != root)
        t = t->next;
    if (t)
        tree_get_locked(t);
    pthread_mutex_unlock(&proc_lock);
    return t;
}

static void doom_members_locked(struct lind_tree *t)
{
    for (struct lind_proc *p = t->members; p; p = p->tree_next)
        if (p->cage)
            cage_doom(p->cage);
    t->doomed_ns = monotonic_ns();
}

/* Kills every cage of the tree, now and for good (proc_lock held). The first reason is kept. */
void tree_kill_locked(struct lind_tree *t, int reason)
{
    if (!t->dying) {
        __atomic_store_n(&t->dying, 1, __ATOMIC_RELEASE);
        t->end_reason = reason;
    }
    doom_members_locked(t);
}

void tree_kill(struct lind_tree *t, int reason)
{
    pthread_mutex_lock(&proc_lock);
    tree_kill_locked(t, reason);
    pthread_mutex_unlock(&proc_lock);
}

/* Python: kills the tree whose root has pid `root`; 0, or -ESRCH when it has no live cage. */
int lind_tree_kill(int root)
{
    int r = -ESRCH;
    pthread_mutex_lock(&proc_lock);
    for (struct lind_tree *t = trees; t; t = t->next)
        if (t->root_pid == root && t->live > 0) {
            tree_kill_locked(t, TREE_KILLED);
            r = 0;
            break;
        }
    pthread_mutex_unlock(&proc_lock);
    return r;
}

/* Python, for debugging: the pids of the live cages of the tree whose root has pid `root`, at most
 * cap of them in pids; their number, or -ESRCH when the tree has ended. */
int lind_tree_cages(int root, int32_t *pids, int cap)
{
    struct lind_tree *t = tree_find(root);
    if (!t)
        return -ESRCH;
    int n = 0;
    pthread_mutex_lock(&proc_lock);
    for (struct lind_proc *p = t->members; p; p = p->tree_next)
        if (p->cage) {
            if (n < cap)
                pids[n] = p->pid;
            n++;
        }
    tree_put_locked(t);
    pthread_mutex_unlock(&proc_lock);
    return n;
}

/* Gives the tree program m under name (before the tree runs): 0 or -ENOMEM. */
int tree_add_program(struct lind_tree *t, const char *name, struct lind_module *m)
{
    struct tree_program *p = calloc(1, sizeof *p);
    if (!p || !(p->name = strdup(name))) {
        free(p);
        return -ENOMEM;
    }
    p->module = module_get(m);
    p->next = t->programs;
    t->programs = p;
    return 0;
}

/* The program the tree was given under exactly this name, referenced; NULL if none. */
struct lind_module *tree_program(struct lind_tree *t, const char *name)
{
    for (struct tree_program *p = t->programs; p; p = p->next)
        if (strcmp(p->name, name) == 0)
            return module_get(p->module);
    return NULL;
}

/* The root is being loaded (its start function may run): its wall time counts from now. */
void tree_start_clock(struct lind_tree *t)
{
    pthread_mutex_lock(&proc_lock);
    t->started_ns = monotonic_ns();
    if (t->wall_ms > 0)
        t->wall_deadline_ns = t->started_ns + t->wall_ms * 1000000;
    pthread_mutex_unlock(&proc_lock);
}

/* Why the tree was killed (TREE_RUNNING: it was not). */
int tree_end_reason(struct lind_tree *t)
{
    pthread_mutex_lock(&proc_lock);
    int r = t->dying ? t->end_reason : TREE_RUNNING;
    pthread_mutex_unlock(&proc_lock);
    return r;
}

/* The ticker, every tick: wall-time limits, and dying trees' threads kicked again. */
void trees_tick(void)
{
    int64_t now = monotonic_ns();
    pthread_mutex_lock(&proc_lock);
    for (struct lind_tree *t = trees; t; t = t->next) {
        if (t->live == 0)
            continue;
        if (!t->dying && t->wall_deadline_ns && now >= t->wall_deadline_ns)
            tree_kill_locked(t, TREE_WALL_LIMIT);
        else if (t->dying && now - t->doomed_ns >= DOOM_RETRY_MS * 1000000ll)
            doom_members_locked(t);
    }
    pthread_mutex_unlock(&proc_lock);
}

/* CPU time used by a thread of the tree since its last charge; kills the tree at its limit. */
void tree_charge_cpu(struct lind_tree *t, uint64_t ns)
{
    uint64_t total = __atomic_add_fetch(&t->cpu_ns, ns, __ATOMIC_RELAXED);
    if (t->cpu_limit_ns && total >= t->cpu_limit_ns && !__atomic_load_n(&t->dying, __ATOMIC_ACQUIRE))
        tree_kill(t, TREE_CPU_LIMIT);
}

/* A cage's linear memory is now `size` bytes (0: it ended): the tree's total and peak follow. */
void tree_account_memory(struct lind_cage *cage, uint64_t size)
{
    struct lind_tree *t = cage->tree;
    if (!t || size == cage->mem_accounted)
        return;
    uint64_t now;
    if (size > cage->mem_accounted)
        now = __atomic_add_fetch(&t->mem_now, size - cage->mem_accounted, __ATOMIC_RELAXED);
    else
        now = __atomic_sub_fetch(&t->mem_now, cage->mem_accounted - size, __ATOMIC_RELAXED);
    cage->mem_accounted = size;
    uint64_t peak = __atomic_load_n(&t->mem_peak, __ATOMIC_RELAXED);
    while (now > peak && !__atomic_compare_exchange_n(&t->mem_peak, &peak, now, 1, __ATOMIC_RELAXED,
                                                      __ATOMIC_RELAXED))
        ;
}

/* Waits until no cage of the tree is alive (timeout_ms < 0: for ever); 1 if so, 0 on timeout. */
int tree_wait_empty(struct lind_tree *t, int timeout_ms)
{
    struct timespec until;
    if (timeout_ms >= 0)
        deadline_after_ms(&until, timeout_ms);
    pthread_mutex_lock(&proc_lock);
    int r = 1;
    while (t->live > 0 && r) {
        if (timeout_ms < 0)
            pthread_cond_wait(&proc_cond, &proc_lock);
        else if (pthread_cond_timedwait(&proc_cond, &proc_lock, &until) == ETIMEDOUT)
            r = t->live == 0;
    }
    pthread_mutex_unlock(&proc_lock);
    return r;
}

/* (On th's own OS thread. Grate workers are never bound: their time is their caller's thread's.) */
void thread_charge_cpu(struct lind_thread *th)
{
    if (!th->os_thread_set)
        return;
    uint64_t now = (uint64_t)thread_cpu_ns(th);
    if (now > th->cpu_charged) {
        tree_charge_cpu(th->cage->tree, now - th->cpu_charged);
        th->cpu_charged = now;
    }
}

/* Python: the cage's tree is killed once it has run for ms milliseconds (to within a tick of the
 * ticker, rt/epoch.c: it calls trees_tick), counted from the start of its root. */
int lind_cage_set_wall_limit(struct lind_cage *cage, uint64_t ms)
{
    cage->tree->wall_ms = ms > 0 ? (int64_t)ms : 1;
    return 0;
}

/* Python: the cage's tree is killed once its threads, every cage's, have used ms milliseconds of
 * CPU time (charged every epoch tick of a running thread and when a thread ends). */
void lind_cage_set_cpu_limit(struct lind_cage *cage, uint64_t ms)
{
    cage->tree->cpu_limit_ns = (ms > 0 ? ms : 1) * 1000000ull;
}

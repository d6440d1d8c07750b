/* The process table: pids, parents, process groups, sessions, exit status and the wait family.
 *
 * Cages of one microvisor share this table. A cage that ends becomes a zombie until its parent
 * reaps it; its children are re-parented to the root cage of its tree. Blocking waits sleep on a
 * condition variable (never a busy loop).
 *
 * Lock order (outermost first): timer_lock (timer.c: a timer fires under it), proc_lock (this
 * table and the trees, tree.c), a cage's lock, then the leaf locks (pools, capture, ...). So
 * nothing that holds a cage's lock may take proc_lock: a SIGCONT's report to the parent
 * (proc_note_stop) is made before the cage's lock is taken (signal.c: sig_continue). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "lind.h"

#define NBUCKETS 4096

/* recursive: signals posted under it (kill) can note a stop/continue, which takes it again */
pthread_mutex_t proc_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
pthread_cond_t proc_cond = PTHREAD_COND_INITIALIZER;
static struct lind_proc *buckets[NBUCKETS];
static int nprocs;

/* Pids and tids share one space, as on Linux, and are drawn at random from it, each unique while
 * in use: their values tell a cage nothing of other tenants (how many cages the process has made,
 * when), which sequential numbers would. A pid is in use while its entry exists, a tid while its
 * thread does. */
#define PID_MIN 300
#define PID_MAX (1 << 22) /* Linux's pid_max on 64-bit hosts */
static uint64_t pid_used[PID_MAX / 64];
static uint64_t pid_rng;

static int pid_is_used(int pid) { return (pid_used[pid / 64] >> (pid % 64)) & 1; }

/* A free pid, taken (proc_lock held); -EAGAIN when every one is in use. */
static int pid_take_locked(void)
{
    while (!pid_rng && getrandom(&pid_rng, sizeof pid_rng, 0) != (ssize_t)sizeof pid_rng)
        pid_rng = (uint64_t)monotonic_ns() | 1;
    pid_rng ^= pid_rng << 13; /* xorshift64 */
    pid_rng ^= pid_rng >> 7;
    pid_rng ^= pid_rng << 17;
    int start = PID_MIN + (int)(pid_rng % (PID_MAX - PID_MIN));
    for (int i = 0; i < PID_MAX - PID_MIN; i++) {
        int pid = PID_MIN + (start - PID_MIN + i) % (PID_MAX - PID_MIN);
        if (!pid_is_used(pid)) {
            pid_used[pid / 64] |= 1ull << (pid % 64);
            return pid;
        }
    }
    return -EAGAIN;
}

static void pid_release_locked(int pid)
{
    if (pid >= PID_MIN && pid < PID_MAX)
        pid_used[pid / 64] &= ~(1ull << (pid % 64));
}

static struct lind_proc *find_locked(int pid)
{
    for (struct lind_proc *p = buckets[(unsigned)pid % NBUCKETS]; p; p = p->next)
        if (p->pid == pid)
            return p;
    return NULL;
}

/* The entry of pid as seen from tree t: a cage sees only the cages of its own tree, as a process
 * sees only its pid namespace (t NULL: the embedder, who sees every tree). */
static struct lind_proc *find_visible_locked(const struct lind_tree *t, int pid)
{
    struct lind_proc *p = find_locked(pid);
    return p && (!t || p->tree == t) ? p : NULL;
}

/* An entry has two references (proc_lock): the table's, until it is reaped or nobody can reap it,
 * and its cage's, until the cage is freed (lind_cage_free: proc_detach). The cage's thread still
 * reads its entry after proc_exit, while its parent may already have reaped it. */
static void put_locked(struct lind_proc *proc)
{
    if (--proc->refs > 0)
        return;
    struct lind_tree *t = proc->tree;
    if (proc->tree_prev)
        proc->tree_prev->tree_next = proc->tree_next;
    else
        t->members = proc->tree_next;
    if (proc->tree_next)
        proc->tree_next->tree_prev = proc->tree_prev;
    tree_put_locked(t);
    pid_release_locked(proc->pid);
    free(proc);
}

/* Takes the entry out of the table and drops the table's reference. */
static void unlink_locked(struct lind_proc *proc)
{
    struct lind_proc **pp = &buckets[(unsigned)proc->pid % NBUCKETS];
    while (*pp && *pp != proc)
        pp = &(*pp)->next;
    if (!*pp)
        return;
    *pp = proc->next;
    nprocs--;
    put_locked(proc);
}

/* A new process entry for cage, in cage->tree (ppid 0: the tree's root). */
struct lind_proc *proc_new(struct lind_cage *cage, int ppid) { return proc_new_with_pid(cage, ppid, 0); }

/* ... with a pid reserved earlier by proc_alloc_tid (0: a new one). NULL when the tree is dying or
 * full (--max-cages), checked under the lock that enrols it, so that a kill or a limit cannot be
 * outrun by forks in flight, or when no pid is free. */
struct lind_proc *proc_new_with_pid(struct lind_cage *cage, int ppid, int pid)
{
    struct lind_tree *t = cage->tree;
    struct lind_proc *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_mutex_lock(&proc_lock);
    if (!pid)
        pid = pid_take_locked();
    if (pid < 0 || t->dying || (t->max_cages > 0 && t->live >= t->max_cages)) {
        if (pid > 0)
            pid_release_locked(pid);
        pthread_mutex_unlock(&proc_lock);
        free(p);
        return NULL;
    }
    p->tree = t;
    tree_get_locked(t);
    t->live++;
    p->tree_next = t->members;
    if (t->members)
        t->members->tree_prev = p;
    t->members = p;
    p->pid = pid;
    if (!ppid)
        t->root_pid = p->pid;
    p->ppid = ppid;
    struct lind_proc *parent = ppid ? find_locked(ppid) : NULL;
    p->pgid = parent ? parent->pgid : p->pid;
    p->sid = parent ? parent->sid : p->pid;
    p->tree_root = parent ? parent->tree_root : p->pid;
    p->cage = cage;
    p->refs = cage ? 2 : 1;
    p->next = buckets[(unsigned)p->pid % NBUCKETS];
    buckets[(unsigned)p->pid % NBUCKETS] = p;
    nprocs++;
    pthread_mutex_unlock(&proc_lock);
    return p;
}

void proc_children_usage(struct lind_cage *cage, uint64_t *cpu_ns, uint64_t *maxrss_kb)
{
    pthread_mutex_lock(&proc_lock);
    *cpu_ns = cage->proc->children_cpu_ns;
    *maxrss_kb = cage->proc->children_maxrss_kb;
    pthread_mutex_unlock(&proc_lock);
}

/* A thread id from the pid space (threads other than a cage's main one), or -EAGAIN. */
int proc_alloc_tid(void)
{
    pthread_mutex_lock(&proc_lock);
    int tid = pid_take_locked();
    pthread_mutex_unlock(&proc_lock);
    return tid;
}

/* A thread id no longer in use (its thread is freed). */
void proc_free_tid(int tid)
{
    pthread_mutex_lock(&proc_lock);
    pid_release_locked(tid);
    pthread_mutex_unlock(&proc_lock);
}

/* The live cage with that pid as tree t sees it (NULL t: every tree), referenced, or NULL. */
static struct lind_cage *get_visible(const struct lind_tree *t, int pid)
{
    struct lind_cage *c = NULL;
    pthread_mutex_lock(&proc_lock);
    struct lind_proc *p = pid > 0 ? find_visible_locked(t, pid) : NULL;
    if (p && p->cage) {
        c = p->cage;
        __atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
    }
    pthread_mutex_unlock(&proc_lock);
    return c;
}

/* cage_get for a cage of `from`'s tree only (ESRCH for the others: another tenant's cages). */
struct lind_cage *cage_get_visible(const struct lind_cage *from, int pid) { return get_visible(from->tree, pid); }

struct lind_cage *cage_get(int pid) { return get_visible(NULL, pid); }

void cage_put(struct lind_cage *cage) { __atomic_sub_fetch(&cage->refs, 1, __ATOMIC_ACQ_REL); }

/* Is `ancestor` pid (or equal to) an ancestor of pid in the cage tree? */
int proc_is_ancestor(int ancestor, int pid)
{
    int r = 0;
    pthread_mutex_lock(&proc_lock);
    for (struct lind_proc *p = find_locked(pid); p; p = p->ppid ? find_locked(p->ppid) : NULL) {
        if (p->pid == ancestor) {
            r = 1;
            break;
        }
        if (!p->ppid)
            break;
    }
    pthread_mutex_unlock(&proc_lock);
    return r;
}

void proc_forget_pool(struct grate_pool *pool)
{
    pthread_mutex_lock(&proc_lock);
    for (int b = 0; b < NBUCKETS; b++)
        for (struct lind_proc *p = buckets[b]; p; p = p->next) {
            struct lind_cage *cage = p->cage;
            if (!cage)
                continue;
            cage_lock(cage);
            for (int i = 0; i < LIND_NCALLS; i++)
                if (cage->table[i].pool == pool) {
                    cage->table[i].pool = NULL;
                    cage->table[i].fnptr = 0;
                }
            cage_unlock(cage);
        }
    pthread_mutex_unlock(&proc_lock);
}

/* Python: waits until no cage of the tree rooted at pid is alive; 1 if so, 0 on timeout. */
int lind_tree_wait(int root, int timeout_ms)
{
    struct lind_tree *t = tree_find(root);
    if (!t)
        return 1;
    int r = tree_wait_empty(t, timeout_ms);
    tree_put(t);
    return r;
}

int proc_count(void)
{
    pthread_mutex_lock(&proc_lock);
    int n = nprocs;
    pthread_mutex_unlock(&proc_lock);
    return n;
}

/* The cage of proc is gone: it becomes a zombie with wait status `wstatus`. Its children go to the
 * root of the tree (or are forgotten when there is no live root). Entries nobody can reap are
 * freed at once. */
void proc_exit(struct lind_proc *proc, int wstatus)
{
    pthread_mutex_lock(&proc_lock);
    uint32_t uid = proc->cage ? proc->cage->uid : 0;
    proc->zombie = 1;
    proc->wstatus = wstatus;
    proc->cage = NULL;
    proc->tree->live--;
    /* the rest of the tree goes with its root (a pid namespace's init), but for a grate's cages,
     * which fall back to the microvisor and live on */
    if (proc->pid == proc->tree_root && !__atomic_load_n(&proc->tree->root_is_grate, __ATOMIC_ACQUIRE))
        tree_kill_locked(proc->tree, TREE_ROOT_ENDED);
    struct lind_proc *root = find_locked(proc->tree_root);
    int new_parent = (root && root != proc && !root->zombie) ? root->pid : 0;
    for (int b = 0; b < NBUCKETS; b++) {
        struct lind_proc *c = buckets[b];
        while (c) {
            struct lind_proc *next = c->next;
            if (c->ppid == proc->pid) {
                __atomic_store_n(&c->ppid, new_parent, __ATOMIC_RELAXED); /* (proc_getppid reads it unlocked) */
                if (!new_parent && c->zombie)
                    unlink_locked(c);
            }
            c = next;
        }
    }
    struct lind_proc *parent = proc->ppid ? find_locked(proc->ppid) : NULL;
    if (parent && parent->cage) { /* SIGCHLD: CLD_EXITED, CLD_KILLED or CLD_DUMPED */
        int sig = wstatus & 0x7f;
        struct sig_origin o = {sig ? ((wstatus & 0x80) ? 3 : 2) : 1, proc->pid, uid, 0,
                               sig ? sig : (wstatus >> 8) & 0xff, 0};
        signal_post_from(parent->cage, 0, 17, &o);
    }
    if (!parent || parent->zombie) {
        __atomic_store_n(&proc->ppid, 0, __ATOMIC_RELAXED);
        if (proc->pid != proc->tree_root) /* the tree root stays for its embedder to read */
            unlink_locked(proc);
    }
    pthread_cond_broadcast(&proc_cond);
    pthread_mutex_unlock(&proc_lock);
}

/* Takes a tree root's entry out of the table once its embedder has read the status. */
void proc_release(struct lind_proc *proc)
{
    pthread_mutex_lock(&proc_lock);
    if (find_locked(proc->pid) == proc)
        unlink_locked(proc);
    pthread_mutex_unlock(&proc_lock);
}

/* The cage of proc is being freed: it drops its reference to the entry. */
void proc_detach(struct lind_proc *proc)
{
    pthread_mutex_lock(&proc_lock);
    proc->cage = NULL;
    put_locked(proc);
    pthread_mutex_unlock(&proc_lock);
}

static int matches(const struct lind_proc *child, const struct lind_proc *me, int pid)
{
    if (child->ppid != me->pid)
        return 0;
    if (pid > 0)
        return child->pid == pid;
    if (pid == -1)
        return 1;
    if (pid == 0)
        return child->pgid == me->pgid;
    return child->pgid == -pid;
}

#define L_WNOHANG 1
#define L_WUNTRACED 2
#define L_WCONTINUED 8
#define L_WNOWAIT 0x1000000
#define L_WEXITED 4
#define L_WSTOPPED 2

/* Waits for a child; returns its pid (0 with WNOHANG when none is ready) or -errno.
 * *wstatus receives the status. With nowait the zombie stays. */
/* The usage of the child a wait reaped (its own and its reaped descendants'). */
struct child_usage {
    uint64_t cpu_ns, maxrss_kb;
};

static int do_wait(struct lind_call *c, int pid, int options, int *wstatus, int nowait, struct child_usage *u)
{
    struct lind_cage *cage = c->cage;
    pthread_mutex_lock(&proc_lock);
    struct lind_proc *me = cage->proc;
    for (;;) {
        int any = 0;
        struct lind_proc *found = NULL;
        int report = 0;
        for (int b = 0; b < NBUCKETS && !found; b++)
            for (struct lind_proc *c = buckets[b]; c; c = c->next)
                if (matches(c, me, pid)) {
                    any = 1;
                    if (c->zombie) {
                        found = c;
                        break;
                    }
                    if ((options & L_WUNTRACED) && c->stop_report) {
                        found = c;
                        report = (c->stop_report << 8) | 0x7f;
                        break;
                    }
                    if ((options & L_WCONTINUED) && c->cont_report) {
                        found = c;
                        report = 0xffff;
                        break;
                    }
                }
        if (found && report) { /* a stop or a continue, not an end */
            int r = found->pid;
            *wstatus = report;
            if (!nowait) {
                if (report == 0xffff)
                    found->cont_report = 0;
                else
                    found->stop_report = 0;
            }
            pthread_mutex_unlock(&proc_lock);
            return r;
        }
        if (found) {
            int r = found->pid;
            *wstatus = found->wstatus;
            uint64_t cpu = found->cpu_ns + found->children_cpu_ns;
            uint64_t rss = found->maxrss_kb > found->children_maxrss_kb ? found->maxrss_kb : found->children_maxrss_kb;
            if (u) {
                u->cpu_ns = cpu;
                u->maxrss_kb = rss;
            }
            if (!nowait) {
                me->children_cpu_ns += cpu;
                if (rss > me->children_maxrss_kb)
                    me->children_maxrss_kb = rss;
                unlink_locked(found);
            }
            pthread_mutex_unlock(&proc_lock);
            return r;
        }
        if (!any) {
            pthread_mutex_unlock(&proc_lock);
            return -ECHILD;
        }
        if (options & L_WNOHANG) {
            pthread_mutex_unlock(&proc_lock);
            return 0;
        }
        if (thread_interrupted(c->th)) {
            pthread_mutex_unlock(&proc_lock);
            return -EINTR;
        }
        /* wake up now and then to notice signals sent to us */
        struct timespec ts;
        deadline_after_ms(&ts, 50);
        pthread_cond_timedwait(&proc_cond, &proc_lock, &ts);
    }
}

int64_t sys_wait4(struct lind_call *c)
{
    int pid = arg_int(c, 0), options = arg_int(c, 2), efault, st = 0;
    int *gstatus = guest_ptr_or_null(c, c->a[1], 4, &efault);
    if (efault)
        return -EFAULT;
    if (options & ~(L_WNOHANG | L_WUNTRACED | L_WCONTINUED | 0x40000000 | 0x80000000 | 0x20000000))
        return -EINVAL;
    if (pid == INT32_MIN)
        return -ESRCH;
    void *ru = guest_ptr_or_null(c, c->a[3], 144, &efault);
    if (efault)
        return -EFAULT;
    struct child_usage u = {0, 0};
    int r = do_wait(c, pid, options, &st, 0, &u);
    if (r > 0 && gstatus)
        *gstatus = st;
    if (r >= 0 && ru) {
        int64_t *k = ru; /* struct rusage of the x86-64 kernel: 18 x int64 */
        memset(ru, 0, 144);
        k[0] = (int64_t)(u.cpu_ns / 1000000000);
        k[1] = (int64_t)(u.cpu_ns % 1000000000) / 1000;
        k[4] = (int64_t)u.maxrss_kb;
    }
    return r;
}

/* waitid(idtype, id, siginfo_t *, options, rusage *) */
int64_t sys_waitid(struct lind_call *c)
{
    int idtype = arg_int(c, 0), id = arg_int(c, 1), options = arg_int(c, 3), efault, st = 0;
    uint8_t *si = guest_ptr_or_null(c, c->a[2], 128, &efault);
    if (efault)
        return -EFAULT;
    int pid;
    if (idtype == 0) /* P_ALL */
        pid = -1;
    else if (idtype == 1) /* P_PID */
        pid = id > 0 ? id : INT32_MIN;
    else if (idtype == 2) /* P_PGID */
        pid = id > 0 ? -id : 0;
    else
        return -EINVAL;
    if (!(options & (L_WEXITED | L_WSTOPPED | L_WCONTINUED)))
        return -EINVAL;
    if (pid == INT32_MIN)
        return -EINVAL;
    int r = do_wait(c, pid, options, &st, !!(options & L_WNOWAIT), NULL);
    if (r < 0)
        return r;
    if (si) {
        memset(si, 0, 128);
        if (r > 0) {
            int32_t f[6] = {17 /* SIGCHLD */, 0, 0, r, (int32_t)c->cage->uid, 0};
            int exited = (st & 0x7f) == 0;
            f[2] = exited ? 1 /* CLD_EXITED */ : ((st & 0x80) ? 3 /* CLD_DUMPED */ : 2 /* CLD_KILLED */);
            f[5] = exited ? (st >> 8) & 0xff : st & 0x7f;
            if (st == 0xffff) {
                f[2] = 6; /* CLD_CONTINUED */
                f[5] = 18;
            } else if ((st & 0xff) == 0x7f) {
                f[2] = 5; /* CLD_STOPPED */
                f[5] = (st >> 8) & 0xff;
            }
            /* the guest's (ILP32) siginfo_t: signo, errno, code, then pid at 12, uid at 16, status at 20 */
            memcpy(si, f, sizeof f);
        }
    }
    return 0;
}

int64_t sys_getpgid(struct lind_call *c)
{
    int pid = arg_int(c, 0), r;
    pthread_mutex_lock(&proc_lock);
    struct lind_proc *p = pid == 0 ? c->cage->proc : find_visible_locked(c->cage->tree, pid);
    r = (p && !p->zombie) ? p->pgid : -ESRCH;
    pthread_mutex_unlock(&proc_lock);
    return r;
}

int64_t sys_getpgrp(struct lind_call *c) { return c->cage->proc->pgid; }

int64_t sys_getsid(struct lind_call *c)
{
    int pid = arg_int(c, 0), r;
    pthread_mutex_lock(&proc_lock);
    struct lind_proc *p = pid == 0 ? c->cage->proc : find_visible_locked(c->cage->tree, pid);
    r = (p && !p->zombie) ? p->sid : -ESRCH;
    pthread_mutex_unlock(&proc_lock);
    return r;
}

int64_t sys_setpgid(struct lind_call *c)
{
    int pid = arg_int(c, 0), pgid = arg_int(c, 1), r = 0;
    struct lind_proc *me = c->cage->proc;
    if (pgid < 0)
        return -EINVAL;
    pthread_mutex_lock(&proc_lock);
    struct lind_proc *p = pid == 0 ? me : find_visible_locked(c->cage->tree, pid);
    if (!p || (p != me && p->ppid != me->pid))
        r = -ESRCH;
    else if (p->sid != me->sid || p->pid == p->sid)
        r = -EPERM;
    else {
        if (pgid == 0)
            pgid = p->pid;
        if (pgid != p->pid) { /* joining an existing group of the same session */
            int ok = 0;
            for (int b = 0; b < NBUCKETS && !ok; b++)
                for (struct lind_proc *q = buckets[b]; q; q = q->next)
                    if (!q->zombie && q->pgid == pgid && q->sid == me->sid && q->tree == me->tree) {
                        ok = 1;
                        break;
                    }
            if (!ok)
                r = -EPERM;
        }
        if (r == 0)
            p->pgid = pgid;
    }
    pthread_mutex_unlock(&proc_lock);
    return r;
}

int64_t sys_setsid(struct lind_call *c)
{
    struct lind_proc *me = c->cage->proc;
    int r;
    pthread_mutex_lock(&proc_lock);
    int leader = 0;
    for (int b = 0; b < NBUCKETS && !leader; b++)
        for (struct lind_proc *q = buckets[b]; q; q = q->next)
            if (!q->zombie && q != me && q->pgid == me->pid) {
                leader = 1;
                break;
            }
    if (me->pgid == me->pid || leader) {
        r = -EPERM;
    } else {
        me->sid = me->pgid = me->pid;
        r = me->pid;
    }
    pthread_mutex_unlock(&proc_lock);
    return r;
}

/* Delivers sig to every live cage of process group pgid; 0 or -ESRCH. */
int proc_kill_group(int pgid, int sig)
{
    int found = 0;
    if (sig < 0 || sig > 64)
        return -EINVAL;
    pthread_mutex_lock(&proc_lock);
    for (int b = 0; b < NBUCKETS; b++)
        for (struct lind_proc *q = buckets[b]; q; q = q->next)
            if (q->pgid == pgid && !q->zombie) {
                found = 1;
                if (q->cage && sig)
                    cage_post_signal(q->cage, sig);
            }
    pthread_mutex_unlock(&proc_lock);
    return found ? 0 : -ESRCH;
}

/* A cage stopped (sig) or continued (0): reported to its parent's waits, with SIGCHLD unless the
 * parent asked for SA_NOCLDSTOP. */
void proc_note_stop(struct lind_cage *cage, int sig)
{
    pthread_mutex_lock(&proc_lock);
    struct lind_proc *p = cage->proc;
    if (sig) {
        p->stop_report = sig;
        p->cont_report = 0;
    } else {
        p->cont_report = 1;
        p->stop_report = 0;
    }
    struct lind_proc *parent = p->ppid ? find_locked(p->ppid) : NULL;
    if (parent && parent->cage && !(parent->cage->sigact[17].flags & 1 /* SA_NOCLDSTOP */))
        cage_post_signal(parent->cage, 17);
    pthread_cond_broadcast(&proc_cond);
    pthread_mutex_unlock(&proc_lock);
}

/* Lock-free: ppid is an int changed only under proc_lock (re-parenting). */
int proc_getppid(struct lind_cage *cage) { return __atomic_load_n(&cage->proc->ppid, __ATOMIC_RELAXED); }

/* Delivers sig to every live cage selected by pid (kill(2) semantics), with the siginfo `from`
 * (NULL: SI_USER from the sender). */
int proc_kill_from(struct lind_cage *sender, int pid, int sig, const struct sig_origin *origin)
{
    int found = 0;
    if (sig < 0 || sig > 64)
        return -EINVAL;
    pthread_mutex_lock(&proc_lock);
    struct lind_proc *me = sender->proc;
    struct sig_origin from = {0 /* SI_USER */, me->pid > 0 ? me->pid : 0, sender->uid, 0, 0, 0};
    if (origin)
        from = *origin;
    const struct lind_tree *t = sender->tree; /* (NULL: the embedder) */
    if (pid > 0) {
        struct lind_proc *p = find_visible_locked(t, pid);
        if (p && p->cage) {
            found = 1;
            if (sig)
                signal_post_from(p->cage, 0, sig, &from);
        } else if (p) {
            found = 1; /* a zombie: accepted, no effect */
        }
    } else {
        int pgid = pid == 0 ? me->pgid : -pid;
        for (int b = 0; b < NBUCKETS; b++)
            for (struct lind_proc *q = buckets[b]; q; q = q->next) {
                if ((t && q->tree != t) || (q->tree_root != me->tree_root && pid == -1))
                    continue; /* only the sender's own tree, never another tenant's cages */
                if (pid == -1 ? (q == me || q->pid == q->tree_root) : q->pgid != pgid)
                    continue;
                found = 1;
                if (q->cage && sig)
                    signal_post_from(q->cage, 0, sig, &from);
            }
    }
    pthread_mutex_unlock(&proc_lock);
    return found ? 0 : -ESRCH;
}

/* getpriority/setpriority(which, who[, nice]): the nice value of cages, chosen as Linux chooses its
 * processes (PRIO_PROCESS: a pid; PRIO_PGRP: a process group; PRIO_USER: the cages of a uid), among
 * the cages of the caller's own tree; 0 for who means the caller's. Raising another cage's nice
 * value needs the same effective uid (or 0); lowering any needs 0 (EACCES otherwise). The value is
 * the cage's: it does not change how the host schedules its threads. */
#define L_PRIO_PROCESS 0
#define L_PRIO_PGRP 1
#define L_PRIO_USER 2
static int64_t priority(struct lind_call *c, int set)
{
    int which = arg_int(c, 0), who = arg_int(c, 1), value = set ? arg_int(c, 2) : 0;
    struct lind_cage *me = c->cage;
    if (which < L_PRIO_PROCESS || which > L_PRIO_USER || who < 0)
        return -EINVAL;
    value = value < -20 ? -20 : value > 19 ? 19 : value;
    int found = 0, best = 20, err = 0;
    pthread_mutex_lock(&proc_lock);
    int key = who ? who : which == L_PRIO_PROCESS ? me->proc->pid : which == L_PRIO_PGRP ? me->proc->pgid : (int)me->uid;
    for (int b = 0; b < NBUCKETS; b++)
        for (struct lind_proc *q = buckets[b]; q; q = q->next) {
            struct lind_cage *t = q->cage;
            if (!t || q->zombie || q->tree != me->tree) /* (another tenant's cages do not exist here) */
                continue;
            if (which == L_PRIO_PROCESS ? q->pid != key : which == L_PRIO_PGRP ? q->pgid != key : (int)t->uid != key)
                continue;
            found = 1;
            if (!set) {
                best = t->nice < best ? t->nice : best;
            } else if (me->euid != 0 && me->euid != t->euid && me->euid != t->uid) {
                err = -EPERM;
            } else if (value < t->nice && me->euid != 0) {
                err = -EACCES;
            } else {
                t->nice = value;
            }
        }
    pthread_mutex_unlock(&proc_lock);
    if (!found)
        return -ESRCH;
    return set ? err : 20 - best; /* the kernel's getpriority answers 20 - nice (1..40) */
}

int64_t sys_getpriority(struct lind_call *c) { return priority(c, 0); }
int64_t sys_setpriority(struct lind_call *c) { return priority(c, 1); }

int proc_kill(struct lind_cage *sender, int pid, int sig) { return proc_kill_from(sender, pid, sig, NULL); }

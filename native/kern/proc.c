/* The process table: pids, parents, process groups, sessions, exit status and the wait family.
 *
 * Cages of one microvisor share this table. A cage that ends becomes a zombie until its parent
 * reaps it; its children are re-parented to the root cage of its tree. Blocking waits sleep on a
 * condition variable (never a busy loop).
 *
 * Lock order (native/README.md): timer_lock, proc_lock (this table and the trees, kern/tree.c), a
 * cage's lock, then the leaf locks. So nothing that holds a cage's lock may take proc_lock: a
 * SIGCONT's report to the parent (proc_note_stop) is made before the cage's lock is taken
 * (proc_signal_continue).
 * Calls:  base/ (guest_abi, util), kern/ (cage, call, grate, signal, tree).
 * Called by: kern/ (cage, grate, timer), sys/, rt/ (epoch, sigdeliver), threei/, Python. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/guest_abi.h"
#include "base/util.h"
#include "kern/cage.h"
#include "kern/call.h"
#include "kern/grate.h"
#include "kern/pids.h"
#include "kern/proc.h"
#include "kern/signal.h"
#include "kern/tree.h"

#define NBUCKETS 4096

static struct lind_proc *buckets[NBUCKETS];
static int nprocs;

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
    pid_release(proc->pid);
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

/* ... with a pid reserved earlier by pid_take (0: a new one). NULL when the tree is dying or
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
        pid = pid_take();
    if (pid < 0 || t->dying || (t->max_cages > 0 && t->live >= t->max_cages)) {
        if (pid > 0)
            pid_release(pid);
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

/* Waits for a child; returns its pid (0 with WNOHANG when none is ready) or -errno.
 * *wstatus receives the status. With nowait the zombie stays. */
int proc_wait(struct lind_call *c, int pid, int options, int *wstatus, int nowait, struct child_usage *u)
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

/* getpgid(pid): the process group of pid (0: the caller's). */
int proc_getpgid(struct lind_cage *cage, int pid)
{
    int r;
    pthread_mutex_lock(&proc_lock);
    struct lind_proc *p = pid == 0 ? cage->proc : find_visible_locked(cage->tree, pid);
    r = (p && !p->zombie) ? p->pgid : -ESRCH;
    pthread_mutex_unlock(&proc_lock);
    return r;
}

/* getsid(pid): the session of pid (0: the caller's). */
int proc_getsid(struct lind_cage *cage, int pid)
{
    int r;
    pthread_mutex_lock(&proc_lock);
    struct lind_proc *p = pid == 0 ? cage->proc : find_visible_locked(cage->tree, pid);
    r = (p && !p->zombie) ? p->sid : -ESRCH;
    pthread_mutex_unlock(&proc_lock);
    return r;
}

/* setpgid(pid, pgid), by cage: pid is the caller or a child of its session. */
int proc_setpgid(struct lind_cage *cage, int pid, int pgid)
{
    int r = 0;
    struct lind_proc *me = cage->proc;
    if (pgid < 0)
        return -EINVAL;
    pthread_mutex_lock(&proc_lock);
    struct lind_proc *p = pid == 0 ? me : find_visible_locked(cage->tree, pid);
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

/* setsid() by cage: its new session's id, or -EPERM for a process group leader. */
int proc_setsid(struct lind_cage *cage)
{
    struct lind_proc *me = cage->proc;
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

/* Signals to cages, with what they mean for the process table: a SIGCONT continues a stopped cage,
 * whatever its disposition, and its parent's waits hear of it (proc_note_stop). That takes
 * proc_lock, which comes before any cage's lock: so it is done first, with no cage lock held; the
 * rest is posted under the cage's lock (kern/signal.c). */
void proc_signal_continue(struct lind_cage *cage, int sig)
{
    if (sig == 18 && signal_continue(cage))
        proc_note_stop(cage, 0);
}

/* A process-directed signal (no cage lock held). */
void cage_post_signal(struct lind_cage *cage, int sig)
{
    proc_signal_continue(cage, sig);
    signal_post(cage, sig);
}

/* Sends sig to the cage (tid 0) or its thread tid (a thread that is gone: to the cage) with the
 * siginfo its receiver will get. Returns 1 if sig was pending already: then nothing changes (a
 * pending signal keeps its first siginfo, as on Linux; for a timer, an overrun). */
int signal_post_from(struct lind_cage *cage, int tid, int sig, const struct sig_origin *o)
{
    if (sig <= 0 || sig > 64)
        return 0;
    proc_signal_continue(cage, sig);
    return signal_post_origin(cage, tid, sig, o);
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
int64_t proc_priority(struct lind_cage *me, int which, int who, int value, int set)
{
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

int proc_kill(struct lind_cage *sender, int pid, int sig) { return proc_kill_from(sender, pid, sig, NULL); }

/* Sends sig to a process group (from outside, e.g. Ctrl-C on `lind run`). */
int lind_kill_group(int pgid, int sig) { return proc_kill_group(pgid, sig); }

/* Sends sig to the cage (as kill() from outside, e.g. Ctrl-C on `lind run`). */
int lind_kill(int pid, int sig)
{
    struct lind_cage dummy;
    struct lind_proc me = {0};
    memset(&dummy, 0, sizeof dummy);
    me.pid = -1;
    me.tree_root = -1;
    dummy.proc = &me;
    return proc_kill(&dummy, pid, sig);
}

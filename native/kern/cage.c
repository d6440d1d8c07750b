/* Cage lifecycle as seen from Python: create, set up (root, cwd, fds, argv/env, limits), free.
 * Calls:  base/ (guest_abi), kern/ (fdtable, grate, jmpbuf, mm, module, netpolicy, path, proc,
 *         signal, thread, timer, tree).
 * Called by: sys/ (sys_lifecycle), rt/ (runner), Python. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "base/guest_abi.h"
#include "kern/cage.h"
#include "kern/fdtable.h"
#include "kern/grate.h"
#include "kern/jmpbuf.h"
#include "kern/mm.h"
#include "kern/module.h"
#include "kern/netpolicy.h"
#include "kern/path.h"
#include "kern/proc.h"
#include "kern/signal.h"
#include "kern/thread.h"
#include "kern/timer.h"
#include "kern/tree.h"

/* A new cage's lock (recursive) and the condition its main thread waits on for the others. */
static void cage_init_locks(struct lind_cage *cage)
{
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&cage->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_cond_init(&cage->threads_cond, NULL);
}

/* A new cage, the root of a new tree of cages (its pid comes from the process table). */
struct lind_cage *lind_cage_new(const char *root)
{
    struct lind_cage *cage = calloc(1, sizeof *cage);
    if (!cage)
        return NULL;
    if (!realpath(root, cage->root_path)) {
        free(cage);
        return NULL;
    }
    cage->root_len = strlen(cage->root_path);
    if (cage->root_len == 1) /* "/" */
        cage->root_len = 0;
    cage->root_fd = open(cage->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (cage->root_fd < 0) {
        free(cage);
        return NULL;
    }
    strcpy(cage->cwd, "/");
    cage->cwd_fd = -1;
    cage->cow_fd = -1;
    cage->umask = 022;
    cage->uid = cage->euid = cage->suid = (uint32_t)getuid();
    cage->gid = cage->egid = cage->sgid = (uint32_t)getgid();
    gid_t groups[LIND_NGROUPS];
    int n = getgroups(LIND_NGROUPS, groups); /* (more than that: none) */
    for (int i = 0; i < n; i++)
        cage->groups[i] = (uint32_t)groups[i];
    cage->ngroups = n > 0 ? n : 0;
    for (int r = 0; r < LIND_NRLIMITS; r++) {
        struct rlimit rl;
        if (getrlimit(r, &rl) == 0) {
            cage->rlim[r].cur = rl.rlim_cur;
            cage->rlim[r].max = rl.rlim_max;
        } else {
            cage->rlim[r].cur = cage->rlim[r].max = RLIM_INFINITY;
        }
    }
    /* The fd table is ours, not the host's: its own limit, independent of the host process, which
     * the cage cannot raise (every cage's fds are the host process's). */
    cage->rlim[RLIMIT_NOFILE].cur = cage->rlim[RLIMIT_NOFILE].max = 1024;
    cage->mem_limit = cage->mem_cap = LIND_MAX_MEM;
    cage_init_locks(cage);
    cage->nthreads = 1;
    cage->tree = tree_new();
    cage->proc = cage->tree ? proc_new(cage, 0) : NULL;
    if (cage->tree)
        tree_put(cage->tree); /* (its proc entry holds it from here on) */
    if (cage->proc)
        cage->main = thread_new(cage, cage->proc->pid);
    if (!cage->proc || !cage->main) {
        if (cage->proc) {
            proc_exit(cage->proc, 0);
            proc_release(cage->proc);
            proc_detach(cage->proc);
        }
        free(cage->main);
        close(cage->root_fd);
        free(cage);
        return NULL;
    }
    cage->id = (uint64_t)cage->proc->pid;
    return cage;
}

uint64_t lind_cage_pid(const struct lind_cage *cage) { return cage->id; }

/* The cage's program has ended (exit, a fatal signal or a trap): it becomes a zombie for its
 * parent, its fds are closed now (so pipe readers see EOF), its parent gets SIGCHLD.
 * Returns the Linux wait status. */
int lind_cage_finish(struct lind_cage *cage)
{
    int wstatus = cage->term_signal ? (cage->term_signal & 0x7f) : (cage->exit_code & 0xff) << 8;
    grate_ending(cage); /* if it served as a grate: its cages fall back to the microvisor */
    timer_cancel(cage);
    shared_maps_flush(cage);
    fd_close_all(cage);
    /* its usage, for its parent's wait4/getrusage(RUSAGE_CHILDREN) (called on the cage's thread) */
    thread_charge_cpu(cage->main);
    tree_account_memory(cage, 0);
    cage->proc->cpu_ns = (uint64_t)thread_cpu_ns(cage->main) + cage->threads_cpu_ns;
    cage->proc->maxrss_kb = (cage->peak_mem > cage->size ? cage->peak_mem : cage->size) / 1024;
    thread_set_os_thread(cage->main, 0);
    proc_exit(cage->proc, wstatus);
    return wstatus;
}

/* The cage's starting directory (cage-visible absolute path); -errno if it is not a directory. */
int lind_cage_set_cwd(struct lind_cage *cage, const char *path)
{
    if (path[0] != '/' || strlen(path) >= PATH_MAX)
        return -EINVAL;
    int fd = path_open(cage, path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0, 0);
    if (fd < 0)
        return fd;
    return cage_chdir_fd(cage, fd);
}

/* Installs host fd `host` (dup'ed) as cage fd `fd`. */
int lind_cage_set_fd(struct lind_cage *cage, int fd, int host)
{
    int h = fcntl(host, F_DUPFD_CLOEXEC, 3);
    if (h < 0)
        return -errno;
    int r = fd_install(cage, h, 0, fd);
    if (r >= 0 && r != fd) {
        fd_close(cage, r);
        return -EBUSY;
    }
    if (r >= 0)
        fd_set_foreign(cage, r); /* the embedder's object: the cage uses it, never changes it */
    return r;
}

int lind_cage_set_args(struct lind_cage *cage, const char *blob, uint32_t len, uint32_t argc, uint32_t envc)
{
    free(cage->args);
    cage->args = malloc(len ? len : 1);
    if (!cage->args)
        return -ENOMEM;
    memcpy(cage->args, blob, len);
    cage->args_len = len;
    if (argc > 0 && memchr(blob, 0, len))
        thread_name_from_path(cage->main, blob); /* argv[0] */
    cage->argc = argc;
    cage->envc = envc;
    return 0;
}

/* A resource limit as setrlimit sets it (the cage can lower it, not raise it past max). */
int lind_cage_set_rlimit(struct lind_cage *cage, int res, uint64_t cur, uint64_t max)
{
    if (res < 0 || res >= LIND_NRLIMITS || cur > max)
        return -EINVAL;
    cage->rlim[res].cur = cur;
    cage->rlim[res].max = max;
    return 0;
}


void lind_cage_set_mem_limit(struct lind_cage *cage, uint64_t bytes)
{
    cage->mem_limit = cage->mem_cap = bytes < LIND_MAX_MEM ? bytes : LIND_MAX_MEM;
}

/* Resource usage: out[0] system calls, out[1] peak linear-memory bytes. */
void lind_cage_usage(const struct lind_cage *cage, uint64_t *out)
{
    out[0] = __atomic_load_n(&cage->nsyscalls, __ATOMIC_RELAXED) + (cage->main ? cage->main->nsyscalls : 0);
    out[1] = cage->peak_mem > cage->size ? cage->peak_mem : cage->size;
}

/* Records how a cage ended when it did not call exit (a trap): as if killed by `sig`. */
void lind_cage_set_killed(struct lind_cage *cage, int sig)
{
    cage_lock(cage);
    if (!cage->exited) {
        cage->exited = 1;
        cage->term_signal = sig;
    }
    cage_unlock(cage);
}

/* Frees the cage (after lind_cage_finish). A tree root's process entry goes too. */
void lind_cage_free(struct lind_cage *cage)
{
    if (!cage)
        return;
    if (cage->proc && cage->proc->pid == cage->proc->tree_root)
        proc_release(cage->proc);
    if (cage->proc)
        proc_detach(cage->proc);
    /* other cages' calls in flight on this one (a grate acting on it) finish first */
    while (__atomic_load_n(&cage->refs, __ATOMIC_ACQUIRE) > 0) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    shared_maps_flush(cage);
    memory_release(cage);
    fd_close_all(cage);
    net_policy_release(cage);
    if (cage->cwd_fd >= 0)
        close(cage->cwd_fd);
    close(cage->root_fd);
    free(cage->args);
    module_put(cage->module);
    jmp_records_free(cage->main);
    free(cage->main);
    pthread_mutex_destroy(&cage->lock);
    pthread_cond_destroy(&cage->threads_cond);
    free(cage);
}

/* What exec clears: close-on-exec fds, handlers, the memory map, th's own state. */
void cage_exec_reset(struct lind_cage *cage, struct lind_thread *th)
{
    timers_exec(cage); /* POSIX timers do not survive exec (alarm and setitimer's do) */
    fd_close_on_exec(cage);
    cage_lock(cage); /* (signal posters read the dispositions under it) */
    for (int s = 1; s <= 64; s++) /* handlers go back to default; ignored stays ignored */
        if (cage->sigact[s].handler > 1) {
            cage->sigact[s].handler = 0;
            cage->sigact[s].flags = 0;
            cage->sigact[s].mask = 0;
        }
    cage_unlock(cage);
    shared_maps_flush(cage);
    memory_release(cage);
    cage->base = NULL;
    cage->size = 0;
    cage->mem = NULL;
    tree_account_memory(cage, 0);
    th->async_buf = th->siginfo_buf = 0;
    th->has_table = th->has_sp = 0;
    th->altstack_sp = th->altstack_size = 0; /* exec: no alternate stack (the memory is gone) */
    jmp_records_free(th);
}

/* The parent's struct as it is (its lock held). The copy also reads the counters and flags that
 * other threads and cages change atomically without that lock (tests/stress/tsan.supp): each of
 * them is set anew for the child by lind_cage_fork. (Not inlined: the suppression names it.) */
__attribute__((noinline)) static void cage_copy_for_fork(struct lind_cage *child, const struct lind_cage *parent)
{
    memcpy(child, parent, sizeof *child);
}

/* The bookkeeping half of fork by thread th: a new cage sharing the parent's open files, whose
 * only thread is a copy of th. */
struct lind_cage *lind_cage_fork(struct lind_cage *parent, struct lind_thread *th)
{
    /* (--max-cages: proc_new refuses the child, and the fork gets EAGAIN.) In a dying tree the
     * parent dies now, as a Linux fork with SIGKILL pending does not return: it must not see
     * EAGAIN and exit with its own status before the kill reaches it. */
    if (__atomic_load_n(&parent->tree->dying, __ATOMIC_ACQUIRE)) {
        cage_doom(parent);
        return NULL;
    }
    struct lind_cage *child = calloc(1, sizeof *child);
    if (!child)
        return NULL;
    cage_lock(parent);
    cage_copy_for_fork(child, parent);
    cage_unlock(parent);
    child->refs = 0;
    child->exited = child->exit_code = child->term_signal = child->stopped = 0;
    child->sig_pending = child->sig_origins = 0;
    child->nsyscalls = child->threads_cpu_ns = child->peak_mem = 0;
    child->xcpu_sent = 0;
    cage_init_locks(child);
    child->pages = NULL;
    child->fds = NULL;
    child->nfds = 0;
    child->shared_maps = NULL; /* the parent keeps writing its MAP_SHARED files back */
    child->module = NULL;      /* set by the run loop with the child's instance */
    child->mem_accounted = 0;
    child->cow_fd = -1;
    child->cow_len = 0;
    child->args = NULL;
    child->others = NULL;
    child->nthreads = 1;
    child->main = NULL;
    child->proc = NULL;
    child->root_fd = fcntl(parent->root_fd, F_DUPFD_CLOEXEC, 3);
    child->cwd_fd = parent->cwd_fd >= 0 ? fcntl(parent->cwd_fd, F_DUPFD_CLOEXEC, 3) : -1;
    if (child->root_fd < 0 || memory_clone_state(child, parent) < 0)
        goto fail;
    if (parent->args_len) {
        child->args = malloc(parent->args_len);
        if (!child->args)
            goto fail;
        memcpy(child->args, parent->args, parent->args_len);
    }
    if (fd_table_clone(child, parent) < 0)
        goto fail;
    child->pool = NULL;
    child->proc = proc_new_with_pid(child, (int)parent->id, th->reserved_pid);
    if (!child->proc) {
        if (__atomic_load_n(&parent->tree->dying, __ATOMIC_ACQUIRE))
            cage_doom(parent); /* (as above: the kill came while the child was being made) */
        goto fail;
    }
    child->id = (uint64_t)child->proc->pid;
    child->parent = parent->id;
    net_policy_fork(parent, child);
    /* the child is in its tree now (a tree kill may doom it): its main thread is made whole
     * first, then published under its lock */
    struct lind_thread *m = thread_new(child, (int)child->id);
    if (!m)
        goto fail;
    m->sig_mask = th->sig_mask;
    memcpy(m->name, th->name, sizeof th->name);
    m->altstack_sp = th->altstack_sp; /* fork keeps the alternate signal stack */
    m->altstack_size = th->altstack_size;
    m->async_buf = th->async_buf;
    m->async_len = th->async_len;
    m->siginfo_buf = th->siginfo_buf;
    if (jmp_records_clone(m, th) < 0) {
        jmp_records_free(m);
        free(m);
        goto fail;
    }
    cage_lock(child);
    child->main = m;
    cage_unlock(child);
    return child;
fail:
    if (child->proc) {
        child->proc->cage = NULL;
        proc_exit(child->proc, 0);
        proc_detach(child->proc);
    }
    if (child->main) {
        jmp_records_free(child->main);
        free(child->main);
    }
    net_policy_release(child);
    fd_close_all(child);
    free(child->pages);
    free(child->args);
    if (child->root_fd >= 0)
        close(child->root_fd);
    if (child->cwd_fd >= 0)
        close(child->cwd_fd);
    free(child);
    return NULL;
}

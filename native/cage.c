/* Cage lifecycle as seen from Python: create, set up (root, cwd, fds, argv/env, limits), free. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "instance.h"
#include "net.h"

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
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&cage->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_cond_init(&cage->threads_cond, NULL);
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

/* The cage's program has ended (exit, a fatal signal or a trap): it becomes a zombie for its
 * parent, its fds are closed now (so pipe readers see EOF), its parent gets SIGCHLD.
 * Returns the Linux wait status. */
int lind_cage_finish(struct lind_cage *cage)
{
    int wstatus = cage->term_signal ? (cage->term_signal & 0x7f) : (cage->exit_code & 0xff) << 8;
    threei_grate_ending(cage); /* if it served as a grate: its cages fall back to the microvisor */
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

/* lind_args_sizes(uint32_t out[4]): argc, envc, string bytes, vector entries */
#define AUXV_PAIRS 8
int64_t sys_lind_args_sizes(struct lind_call *c)
{
    uint32_t *out = guest_ptr(c, c->a[0], 16);
    if (!out)
        return -EFAULT;
    out[0] = c->cage->argc;
    out[1] = c->cage->envc;
    out[2] = c->cage->args_len + 16; /* + AT_RANDOM bytes */
    out[3] = c->cage->argc + 1 + c->cage->envc + 1 + 2 * AUXV_PAIRS;
    return 0;
}

/* lind_args_get(uint32_t *vec, char *strings) */
int64_t sys_lind_args_get(struct lind_call *c)
{
    struct lind_cage *cage = c->cage;
    uint32_t nvec = cage->argc + 1 + cage->envc + 1 + 2 * AUXV_PAIRS;
    uint32_t *vec = guest_ptr(c, c->a[0], (uint64_t)nvec * 4);
    char *str = guest_ptr(c, c->a[1], (uint64_t)cage->args_len + 16);
    uint32_t gstr = arg_u32(c, 1), off = 0, k = 0;
    if (!vec || !str)
        return -EFAULT;
    memcpy(str, cage->args, cage->args_len);
    for (uint32_t i = 0; i < cage->argc + cage->envc; i++) {
        if (i == cage->argc)
            vec[k++] = 0;
        vec[k++] = gstr + off;
        off += (uint32_t)strnlen(cage->args + off, cage->args_len - off) + 1;
    }
    if (cage->argc == cage->argc + cage->envc)
        vec[k++] = 0;
    vec[k++] = 0;
    if (getentropy(str + cage->args_len, 16) != 0)
        return -EIO;
    uint32_t aux[2 * AUXV_PAIRS] = {
        6, LIND_PAGE,                      /* AT_PAGESZ */
        25, gstr + cage->args_len,         /* AT_RANDOM */
        11, cage->uid, 12, cage->euid,     /* AT_UID, AT_EUID */
        13, cage->gid, 14, cage->egid,     /* AT_GID, AT_EGID */
        23, 0,                             /* AT_SECURE */
        0, 0,                              /* AT_NULL */
    };
    memcpy(vec + k, aux, sizeof aux);
    return 0;
}

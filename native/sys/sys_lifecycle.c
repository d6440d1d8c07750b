/* fork, exec and exit: the system calls. The run loop (runner.c) does the rest when the instance
 * returns (fork: after the asyncify unwind) or traps (exec, exit).
 *
 * fork: the first entry starts an asyncify unwind into a buffer inside the cage and asks the run
 * loop for a fork; the loop makes the child (lind_cage_fork + a copy of the memory), then rewinds
 * both; the second entry stops the rewind and returns the child's pid, or 0 in the child.
 * Calls:  kern/, sys/ (lifecycle, syscalls, thread).
 * Called by: sys/ (syscall_table), threei/ (dispatch), Python. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kern/cage.h"
#include "kern/call.h"
#include "kern/fdtable.h"
#include "kern/mm.h"
#include "kern/module.h"
#include "kern/path.h"
#include "kern/pids.h"
#include "kern/proc.h"
#include "kern/signal.h"
#include "kern/thread.h"
#include "kern/tree.h"
#include "kern/upcalls.h"
#include "sys/lifecycle.h"
#include "sys/syscalls.h"
#include "sys/thread.h"

#define L_CLONE_VM 0x100
#define L_CLONE_VFORK 0x4000
#define L_CLONE_THREAD 0x10000
#define L_AT_FDCWD (-100)
#define MAX_SCRIPT_DEPTH 4
#define ARG_MAX_BYTES (2u << 20)

/* Python loads the program an exec names from the AOT cache: 0 and a module, or -errno. */
typedef int (*exec_load_fn)(uint64_t pid, int host_fd, struct lind_module **out);
static exec_load_fn py_exec_load;

void lind_set_callbacks(exec_load_fn exec_load) { py_exec_load = exec_load; }

static int64_t do_fork(struct lind_call *c)
{
    struct lind_thread *th = c->th;
    if (c->acting) {
        /* a grate forwards the fork of the cage it serves: the cage's own instance must unwind,
         * which happens when the grate has returned (lifecycle_deferred_fork); the pid is chosen
         * now so that the grate sees it */
        if (th->cage != c->cage || th->deferred_fork)
            return -EINVAL;
        int pid = pid_take();
        if (pid < 0)
            return pid;
        th->deferred_fork = 1;
        th->reserved_pid = pid;
        return pid;
    }
    if (th->in_handler)
        return -EAGAIN; /* cannot unwind through the host frame of a signal delivery */
    if (!c->can_unwind)
        return -ENOSYS; /* a fork through the plain gateway: its callers are not instrumented */
    return upcalls.start_unwind(c, PENDING_FORK);
}

int64_t sys_fork(struct lind_call *c) { return do_fork(c); }

int64_t lifecycle_deferred_fork(struct lind_call *c, int64_t grate_result)
{
    struct lind_thread *th = c->th;
    th->deferred_fork = 0;
    th->has_visible = 1;
    th->visible = grate_result;
    int64_t r = do_fork(c);
    if (r < 0) {
        th->has_visible = 0;
        th->reserved_pid = 0;
    }
    return r;
}

int64_t sys_clone(struct lind_call *c)
{
    uint64_t flags = c->a[0];
    if (c->th->rewinding)
        return do_fork(c);
    if (flags & L_CLONE_THREAD)
        return thread_clone(c);
    if ((flags & L_CLONE_VM) && (flags & L_CLONE_VFORK))
        return upcalls.spawn_start(c, arg_u32(c, 1), arg_u32(c, 5)); /* posix_spawn's child */
    if (flags & L_CLONE_VM)
        return -ENOSYS; /* a process sharing memory without being a thread: not supported */
    return do_fork(c);
}

/* ---- exec ---- */

/* Copies a NULL-terminated guest vector of strings into blob; returns the count or -errno. */
static int copy_vector(struct lind_call *c, uint64_t vec, char **blob, size_t *len, size_t *cap)
{
    int n = 0;
    if ((uint32_t)vec == 0)
        return 0;
    for (;;) {
        uint32_t *slot = guest_ptr(c, vec + 4ull * (uint64_t)n, 4);
        if (!slot)
            return -EFAULT;
        if (*slot == 0)
            return n;
        uint64_t a = *slot;
        if (a >= c->cage->size)
            return -EFAULT;
        const char *s = (const char *)c->cage->base + a;
        size_t sl = strnlen(s, c->cage->size - a);
        if (sl == c->cage->size - a)
            return -EFAULT;
        if (*len + sl + 1 > ARG_MAX_BYTES)
            return -E2BIG;
        if (*len + sl + 1 > *cap) {
            size_t nc = (*cap ? *cap * 2 : 4096);
            while (nc < *len + sl + 1)
                nc *= 2;
            char *nb = realloc(*blob, nc);
            if (!nb)
                return -ENOMEM;
            *blob = nb;
            *cap = nc;
        }
        memcpy(*blob + *len, s, sl + 1);
        *len += sl + 1;
        n++;
    }
}

static int blob_prepend(char **blob, size_t *len, const char *s)
{
    size_t sl = strlen(s) + 1;
    char *nb = malloc(*len + sl);
    if (!nb)
        return -ENOMEM;
    memcpy(nb, s, sl);
    memcpy(nb + sl, *blob, *len);
    free(*blob);
    *blob = nb;
    *len += sl;
    return 0;
}

/* Drops the first string of the blob (argv[0], replaced by a script's own path). */
static void blob_drop_first(char **blob, size_t *len)
{
    size_t first = strlen(*blob) + 1;
    memmove(*blob, *blob + first, *len - first);
    *len -= first;
}

/* exec ends every other thread first (they trap at their next entry or epoch tick). */
static void exec_end_other_threads(struct lind_cage *cage)
{
    cage_lock(cage);
    for (struct lind_thread *t = cage->others; t; t = t->next)
        t->exited = 1;
    cage_kick_threads(cage, cage->main);
    while (cage->nthreads > 1) {
        cage_unlock(cage);
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
        cage_lock(cage);
        cage_kick_threads(cage, cage->main);
    }
    cage_unlock(cage);
}

/* exec from a thread other than the main one: the other threads end, the main thread's run loop
 * does the exec (the cage keeps its pid, as the exec'ing thread takes it on Linux) and the calling
 * thread ends. The memory is replaced only once the main thread's instance has stopped. */
static void exec_by_main_thread(struct lind_call *c, struct lind_module *m)
{
    struct lind_cage *cage = c->cage;
    struct lind_thread *th = c->th, *main = cage->main;
    cage_lock(cage);
    for (struct lind_thread *t = cage->others; t; t = t->next)
        if (t != th) {
            t->exited = 1;
            thread_kick(t);
        }
    while (cage->nthreads > 2) { /* all but the main thread and this one */
        cage_unlock(cage);
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
        cage_lock(cage);
        for (struct lind_thread *t = cage->others; t; t = t->next)
            if (t != th)
                thread_kick(t);
    }
    th->clear_tid = 0; /* nobody is left to join this thread, and the memory is about to go */
    main->sig_mask = th->sig_mask;
    main->exec_module = m;
    main->exec_takeover = 1;
    __atomic_store_n(&main->pending, PENDING_EXEC, __ATOMIC_RELEASE);
    cage_unlock(cage);
    thread_kick(main);
    th->exited = 1; /* this call ends the thread */
}

static int64_t do_exec(struct lind_call *c, int dirfd, uint64_t path, uint64_t argv, uint64_t envp, int flags)
{
    struct lind_cage *cage = c->cage;
    char abs[PATH_MAX], shown[PATH_MAX];
    char *args = NULL, *envs = NULL;
    size_t alen = 0, acap = 0, elen = 0, ecap = 0;
    int fd = -1, r;
    struct lind_module *loaded = NULL;

    if (!py_exec_load)
        return -ENOSYS;
    if (c->th != cage->main && (c->acting || cage->main->exited))
        return c->acting ? -EINVAL : -ENOTSUP; /* (a main thread that called pthread_exit runs no loop) */
    if (flags & AT_EMPTY_PATH) {
        char tmp[2];
        r = guest_string(c, path, tmp, sizeof tmp);
        if (r == 0 && tmp[0] == 0) {
            int h = fd_host(c, dirfd);
            if (h < 0)
                return h;
            fd = fcntl(h, F_DUPFD_CLOEXEC, 3);
            if (fd < 0)
                return -errno;
            strcpy(abs, "/dev/fd/exec");
        }
    }
    /* a program the embedder gave the tree under this very name (a stack of grates, where each
     * grate execs the name it was given in argv), rather than a file of the root */
    if (fd < 0 && cage->tree->programs && guest_string(c, path, shown, sizeof shown) == 0)
        loaded = tree_program(cage->tree, shown);
    if (fd < 0 && !loaded) {
        r = path_from_guest(c, dirfd, path, abs);
        if (r < 0)
            return r;
    }
    r = guest_string(c, path, shown, sizeof shown);
    if (r < 0 && fd < 0)
        return r;
    char comm[PATH_MAX]; /* the name the program gets (its file's, before any #! interpreter) */
    strcpy(comm, r < 0 ? "exec" : shown);
    int argc = copy_vector(c, argv, &args, &alen, &acap);
    if (argc < 0) {
        r = argc;
        goto out;
    }
    int envc = copy_vector(c, envp, &envs, &elen, &ecap);
    if (envc < 0) {
        r = envc;
        goto out;
    }
    for (int depth = 0; !loaded; depth++) {
        if (depth > MAX_SCRIPT_DEPTH) {
            r = -ELOOP;
            goto out;
        }
        if (fd < 0) {
            fd = path_open(cage, abs, O_RDONLY, 0, 0);
            if (fd < 0) {
                r = fd == -EISDIR ? -EACCES : fd;
                goto out;
            }
        }
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
            r = -EACCES;
            goto out;
        }
        if (syscall(SYS_faccessat2, fd, "", X_OK, AT_EMPTY_PATH) < 0) {
            r = -EACCES;
            goto out;
        }
        char head[256];
        ssize_t n = pread(fd, head, sizeof head - 1, 0);
        if (n < 0) {
            r = -errno;
            goto out;
        }
        head[n] = 0;
        if (n >= 4 && memcmp(head, "\0asm", 4) == 0) {
            r = py_exec_load(cage->id, fd, &loaded);
            if (r < 0)
                goto out;
            if (!loaded) {
                r = -ENOEXEC;
                goto out;
            }
            break;
        }
        if (n >= 2 && head[0] == '#' && head[1] == '!') {
            /* "#!interp [one optional argument]", as Linux parses it */
            char *p = head + 2, *e = memchr(head, '\n', (size_t)n);
            if (!e) {
                if (n == (ssize_t)sizeof head - 1) {
                    r = -ENOEXEC;
                    goto out;
                }
                e = head + n;
            }
            *e = 0;
            while (*p == ' ' || *p == '\t')
                p++;
            char *interp = p;
            while (*p && *p != ' ' && *p != '\t')
                p++;
            char *iarg = NULL;
            if (*p) {
                *p++ = 0;
                while (*p == ' ' || *p == '\t')
                    p++;
                char *end = p + strlen(p);
                while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
                    *--end = 0;
                if (*p)
                    iarg = p;
            }
            if (!*interp) {
                r = -ENOEXEC;
                goto out;
            }
            /* argv becomes: interp [iarg] script argv[1..] */
            if (argc > 0)
                blob_drop_first(&args, &alen);
            else
                argc = 1;
            if ((r = blob_prepend(&args, &alen, shown)) < 0)
                goto out;
            if (iarg) {
                if ((r = blob_prepend(&args, &alen, iarg)) < 0)
                    goto out;
                argc++;
            }
            if ((r = blob_prepend(&args, &alen, interp)) < 0)
                goto out;
            argc++;
            strcpy(shown, interp);
            close(fd);
            fd = -1;
            if (interp[0] == '/') {
                strcpy(abs, interp);
            } else {
                char cwd[PATH_MAX];
                if ((r = cage_cwd(cage, cwd)) < 0)
                    goto out;
                size_t cl = strlen(cwd);
                if (cl + 1 + strlen(interp) >= PATH_MAX) {
                    r = -ENAMETOOLONG;
                    goto out;
                }
                memcpy(abs, cwd, cl);
                abs[cl] = '/';
                strcpy(abs + cl + 1, interp);
            }
            continue;
        }
        r = -ENOEXEC;
        goto out;
    }
    /* point of no return: the new program is loaded */
    {
        char *blob = malloc(alen + elen + 1);
        if (!blob) {
            r = -ENOMEM;
            goto out;
        }
        if (alen)
            memcpy(blob, args, alen);
        if (elen) /* (envs is NULL for an empty environment) */
            memcpy(blob + alen, envs, elen);
        free(cage->args);
        cage->args = blob;
        cage->args_len = (uint32_t)(alen + elen);
        cage->argc = (uint32_t)argc;
        cage->envc = (uint32_t)envc;
    }
    thread_name_from_path(cage->main, comm);
    if (c->th == cage->main) {
        exec_end_other_threads(cage);
        cage_exec_reset(cage, c->th);
        c->th->pending = PENDING_EXEC;
        c->th->exec_module = loaded;
    } else {
        exec_by_main_thread(c, loaded);
    }
    loaded = NULL;
    r = 0;
out:
    module_put(loaded);
    if (fd >= 0)
        close(fd);
    free(args);
    free(envs);
    return r;
}

int64_t sys_execve(struct lind_call *c) { return do_exec(c, L_AT_FDCWD, c->a[0], c->a[1], c->a[2], 0); }
int64_t sys_execveat(struct lind_call *c)
{
    return do_exec(c, arg_int(c, 0), c->a[1], c->a[2], c->a[3], arg_int(c, 4));
}

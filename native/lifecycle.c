/* fork, exec and exit: the system calls. The run loop (runner.c) does the rest when the instance
 * returns (fork: after the asyncify unwind) or traps (exec, exit).
 *
 * fork: the first entry starts an asyncify unwind into a buffer inside the cage and asks the run
 * loop for a fork; the loop makes the child (lind_cage_fork + a copy of the memory), then rewinds
 * both; the second entry stops the rewind and returns the child's pid, or 0 in the child. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "instance.h"
#include "net.h"

#define ASYNC_PAGES 64 /* 256 KiB for the unwound wasm stack (touched only as deep as it goes) */
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

int call_export(struct lind_call *c, const char *name, int nargs, int32_t arg)
{
    wasmtime_extern_t ext;
    if (!c->caller || !wt.caller_export_get(c->caller, name, strlen(name), &ext) || ext.kind != WASMTIME_EXTERN_FUNC ||
        !func_fits(wt.caller_context(c->caller), &ext.of.func, 1))
        return -ENOSYS;
    wasmtime_val_raw_t v[1];
    v[0].i32 = arg;
    wasm_trap_t *trap = NULL;
    wasmtime_error_t *err = wt.func_call_unchecked(wt.caller_context(c->caller), &ext.of.func, v, (size_t)nargs, &trap);
    if (err) {
        wt.error_delete(err);
        return -EFAULT;
    }
    if (trap) {
        wt.trap_delete(trap);
        return -EFAULT;
    }
    return 0;
}

int64_t lifecycle_resume_fork(struct lind_call *c)
{
    struct lind_thread *th = c->th;
    th->rewinding = 0;
    call_export(c, "asyncify_stop_rewind", 0, 0);
    return th->fork_result;
}

static int64_t do_fork(struct lind_call *c)
{
    struct lind_thread *th = c->th;
    if (c->acting) {
        /* a grate forwards the fork of the cage it serves: the cage's own instance must unwind,
         * which happens when the grate has returned (lifecycle_deferred_fork); the pid is chosen
         * now so that the grate sees it */
        if (th->cage != c->cage || th->deferred_fork)
            return -EINVAL;
        int pid = proc_alloc_tid();
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
    return start_unwind(c, PENDING_FORK);
}

/* Starts an asyncify unwind of the calling thread's instance into its buffer (made on first use,
 * inside the cage's memory, away from the stack); the run loop does `then` when it has unwound. */
int start_unwind(struct lind_call *c, enum cage_pending then)
{
    struct lind_thread *th = c->th;
    if (!th->async_buf) {
        cage_lock(c->cage);
        int64_t a = memory_alloc_pages(c, ASYNC_PAGES);
        cage_unlock(c->cage);
        if (a < 0)
            return -ENOMEM;
        th->async_buf = (uint32_t)a;
        th->async_len = ASYNC_PAGES * LIND_PAGE;
    }
    uint32_t *d = (uint32_t *)(c->cage->base + th->async_buf);
    d[0] = th->async_buf + 8;
    d[1] = th->async_buf + th->async_len;
    if (call_export(c, "asyncify_start_unwind", 1, (int32_t)th->async_buf) < 0)
        return -ENOSYS; /* not built with asyncify */
    th->pending = then;
    return 0;
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
        return spawn_start(c, arg_u32(c, 1), arg_u32(c, 5)); /* posix_spawn's child */
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

/* What exec clears: close-on-exec fds, handlers, the memory map, th's own state. */
void lifecycle_exec_reset(struct lind_cage *cage, struct lind_thread *th)
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
    if (fd < 0) {
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
    for (int depth = 0;; depth++) {
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
        lifecycle_exec_reset(cage, c->th);
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

/* ---- the run loop's half of fork (runner.c) ---- */

void lind_thread_set_rewind(struct lind_thread *th, int64_t result)
{
    if (th->has_visible && result > 0)
        result = th->visible; /* the grate that forwarded the fork chose the parent's value */
    th->has_visible = 0;
    th->reserved_pid = 0;
    th->pending = PENDING_NONE;
    th->rewinding = 1;
    th->fork_result = result;
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
    memcpy(child, parent, sizeof *child);
    cage_unlock(parent);
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&child->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_cond_init(&child->threads_cond, NULL);
    child->pages = NULL;
    child->fds = NULL;
    child->nfds = 0;
    child->shared_maps = NULL; /* the parent keeps writing its MAP_SHARED files back */
    child->module = NULL;      /* set by the run loop with the child's instance */
    child->mem_accounted = 0;
    child->cow_fd = -1;
    child->cow_len = 0;
    child->args = NULL;
    child->sig_pending = 0;
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
    child->refs = 0;
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

/* Copies the parent's memory into the child's (already at least as large). */
int lind_cage_fork_memory(struct lind_cage *parent, struct lind_cage *child, const wasmtime_sharedmemory_t *mem)
{
    uint8_t *base = wt.sharedmemory_data(mem);
    uint64_t size = wt.sharedmemory_data_size(mem);
    child->mem = mem;
    child->base = base;
    child->size = size;
    tree_account_memory(child, size);
    if (size > parent->size) {
        /* the child instance may start larger than the parent grew: those pages are free */
        uint32_t np = (uint32_t)(size / LIND_PAGE);
        uint8_t *p = realloc(child->pages, np);
        if (!p)
            return -ENOMEM;
        memset(p + child->npages, PAGE_FREE, np - child->npages);
        child->pages = p;
        child->npages = np;
    }
    int r = cow_fork_memory(parent, child);
    if (r != 0)
        return r < 0 ? r : 0;
    return memory_copy_to(parent, base, size);
}

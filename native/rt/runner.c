/* Running cages, in C: the run loop of each cage thread (fork, exec), the end of a cage, and the
 * pool of OS threads that run fork children and cage threads. Python starts a tree (a cage and
 * its first instance) and calls lind_cage_run_many on a thread of its choice; everything after that,
 * forks and threads included, stays in C. Only exec calls back into Python, to load the new
 * program from the AOT cache.
 * Calls:  base/ (util, wt_api), kern/, rt/ (capture, instance, runloop).
 * Called by: threei/ (dispatch), Python. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "base/util.h"
#include "base/wt_api.h"
#include "kern/cage.h"
#include "kern/call.h"
#include "kern/grate.h"
#include "kern/mm.h"
#include "kern/module.h"
#include "kern/netpolicy.h"
#include "kern/thread.h"
#include "kern/tree.h"
#include "kern/upcalls.h"
#include "rt/capture.h"
#include "rt/epoch.h"
#include "rt/instance.h"
#include "rt/runloop.h"
#include "rt/runner.h"

#define RUNNER_IDLE_MS 30000 /* an idle runner thread ends after this */

/* How a cage ended, for Python (lind_aot/vmm/cage.py: _Result). */
struct lind_result {
    int32_t exited;      /* 0: _start returned */
    int32_t exit_code;
    int32_t signal;      /* killed by this signal (a trap counts as the signal it stands for) */
    int32_t end_reason;  /* enum tree_end: what killed its tree (TREE_RUNNING: nothing did) */
    int32_t not_started; /* lind_cage_create_run_many: it could not start (see its setup's error) */
    int32_t pid;         /* its pid (a tree's root: also its process group) */
    uint64_t syscalls;   /* made by all its threads */
    uint64_t peak_memory;
    uint64_t cpu_ns;     /* CPU time of the OS thread that ran its main thread */
    uint64_t wall_ns;    /* from its start to its end (and its captured streams' close) */
    uint64_t tree_cpu_ns;      /* CPU time of every thread of every cage of its tree */
    uint64_t tree_peak_memory; /* the most linear memory its tree's live cages had at once */
    int32_t mem_limit_hit;     /* a cage of the tree was refused memory by the limit */
    int32_t tree_complete;     /* its tree had ended when the result was taken (always, now) */
    char trap[512];      /* the trap's message, if one ended it */
};

/* The run loop's half of fork: th's instance is rewound into its fork call, which returns result. */
static void lind_thread_set_rewind(struct lind_thread *th, int64_t result)
{
    if (th->has_visible && result > 0)
        result = th->visible; /* the grate that forwarded the fork chose the parent's value */
    th->has_visible = 0;
    th->reserved_pid = 0;
    th->pending = PENDING_NONE;
    th->rewinding = 1;
    th->fork_result = result;
}

/* ---- the pool of runner threads ---- */

struct task {
    void (*fn)(void *);
    void *arg;
    struct task *next;
};

static pthread_mutex_t runner_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t runner_cond = PTHREAD_COND_INITIALIZER;
static struct task *queue_head, *queue_tail;
static int nqueued, nidle;

static void *runner_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&runner_lock);
    for (;;) {
        while (!queue_head) {
            struct timespec ts;
            deadline_after_ms(&ts, RUNNER_IDLE_MS);
            nidle++;
            int r = pthread_cond_timedwait(&runner_cond, &runner_lock, &ts);
            nidle--;
            if (r == ETIMEDOUT && !queue_head) {
                pthread_mutex_unlock(&runner_lock);
                return NULL;
            }
        }
        struct task *t = queue_head;
        queue_head = t->next;
        if (!queue_head)
            queue_tail = NULL;
        nqueued--;
        pthread_mutex_unlock(&runner_lock);
        t->fn(t->arg);
        free(t);
        pthread_mutex_lock(&runner_lock);
    }
}

/* Runs fn(arg) on an idle runner thread, or a new one (starting a thread costs as much as the
 * rest of a fork). Returns -EAGAIN if neither is possible. */
static int runner_submit(void (*fn)(void *), void *arg)
{
    struct task *t = malloc(sizeof *t);
    if (!t)
        return -EAGAIN;
    t->fn = fn;
    t->arg = arg;
    t->next = NULL;
    pthread_mutex_lock(&runner_lock);
    if (queue_tail)
        queue_tail->next = t;
    else
        queue_head = t;
    queue_tail = t;
    nqueued++;
    int r = 0;
    if (nidle >= nqueued) {
        pthread_cond_signal(&runner_cond);
    } else {
        pthread_t tid;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&tid, &attr, runner_main, NULL) != 0 && nidle == 0) {
            /* no thread to run it: take it back */
            struct task **pp = &queue_head, *prev = NULL;
            while (*pp != t) {
                prev = *pp;
                pp = &(*pp)->next;
            }
            *pp = NULL;
            queue_tail = prev;
            nqueued--;
            free(t);
            r = -EAGAIN;
        }
        pthread_attr_destroy(&attr);
    }
    pthread_mutex_unlock(&runner_lock);
    return r;
}

/* ---- one cage thread ---- */

static int trap_signal(int code)
{
    switch (code) {
    case 0: /* stack overflow */
    case 1: /* memory out of bounds */
    case 3: /* table out of bounds */
    case 4: /* indirect call to null */
    case 5: /* bad signature */
        return SIGSEGV;
    case 2: /* misaligned atomic */
        return SIGBUS;
    case 6: /* integer overflow */
    case 7: /* integer division by zero */
    case 8: /* bad conversion to integer */
        return SIGFPE;
    case 9: /* unreachable */
        return SIGILL;
    default:
        return code < 0 ? SIGSEGV : SIGILL;
    }
}

static void fork_child(struct lind_thread *th, struct lind_instance *inst);

/* Runs the thread's instance until its program or thread ends, doing the forks and execs it
 * asks for. Returns the last instance (exec replaces it); *sig is the signal a trap stands for,
 * 0 when the program returned or exited. */
static struct lind_instance *run_thread(struct lind_thread *th, struct lind_instance *inst, char *msg, size_t cap,
                                        int *sig)
{
    struct lind_cage *cage = th->cage;
    *sig = 0;
    for (;;) {
        int code = -1;
        msg[0] = 0;
        int rc = lind_run_entry(th, &inst->run, &code, msg, cap);
        if (rc == RUN_BAD_JUMP) {
            snprintf(msg, cap, "longjmp to an unknown jmp_buf");
            *sig = SIGSEGV;
            return inst;
        }
        if (th->pending == PENDING_FORK && rc == RUN_RETURNED) {
            if (!run_ctx_can_unwind(&inst->run)) {
                snprintf(msg, cap, "fork: the program lacks the asyncify exports (build it with `lind cc`)");
                *sig = SIGSEGV;
                return inst;
            }
            fork_child(th, inst);
            continue;
        }
        if (th->pending == PENDING_EXEC) {
            /* the new program was loaded by the exec call (exec_load_module): swap the instance */
            struct lind_module *m = th->exec_module;
            th->exec_module = NULL;
            th->pending = PENDING_NONE;
            if (th->exec_takeover) { /* another thread called exec: what it could not reset */
                th->exec_takeover = 0;
                cage_exec_reset(cage, th);
            }
            struct lind_instance *next = m ? instance_new(m, th, NULL, "_start", 0, 0, msg, cap) : NULL;
            module_put(m);
            if (!next) {
                *sig = SIGKILL;
                return inst;
            }
            if (cage->pool) {
                /* it served as a grate: its handlers and workers belong to the old program and
                 * memory (which goes back to the pool): its cages fall back to the microvisor */
                grate_ending(cage);
                upcalls.grate_free_workers(cage);
                cage->pool = NULL; /* (pools are never freed; a new one is made if it registers again) */
            }
            int r = instance_attach(cage, next);
            instance_free(inst, 1);
            inst = next;
            if (r < 0) {
                snprintf(msg, cap, "exec: bad memory layout (%s)", strerror(-r));
                *sig = SIGKILL;
                return inst;
            }
            continue;
        }
        if (rc == RUN_TRAPPED) {
            *sig = trap_signal(code);
            return inst;
        }
        if (rc != RUN_RETURNED)
            *sig = SIGSEGV;
        return inst;
    }
}

/* ---- cages ---- */

struct cage_start {
    struct lind_cage *cage;
    struct lind_thread *th;
    struct lind_instance *inst;
};

/* Runs the cage's main thread to its end on the calling OS thread, then ends the cage: waits for
 * its other threads, makes it a zombie for its parent, frees it. */
static void cage_main(struct lind_cage *cage, struct lind_instance *inst, struct lind_result *out)
{
    struct lind_thread *th = cage->main;
    char msg[sizeof out->trap];
    int sig;
    lind_thread_bind(th);
    inst = run_thread(th, inst, msg, sizeof msg, &sig);
    if (sig)
        lind_cage_set_killed(cage, sig);
    lind_cage_wait_threads(cage);
    if (out) {
        uint64_t usage[2];
        lind_cage_usage(cage, usage);
        out->pid = (int32_t)cage->id;
        out->exited = cage->exited;
        out->exit_code = cage->exit_code;
        out->signal = cage->term_signal;
        out->syscalls = usage[0];
        out->peak_memory = usage[1];
        out->cpu_ns = (uint64_t)thread_cpu_ns(th);
        snprintf(out->trap, sizeof out->trap, "%s", sig ? msg : "");
    }
    lind_cage_finish(cage);
    upcalls.grate_free_workers(cage);
    lind_cage_free(cage);
    instance_free(inst, 1);
}

static void child_main(void *arg)
{
    struct cage_start *s = arg;
    cage_main(s->cage, s->inst, NULL);
    free(s);
}

/* A new cage tree's first instance. */
static int cage_load(struct lind_cage *cage, struct lind_module *m, struct lind_instance **out, char *msg, size_t cap)
{
    struct lind_instance *inst = instance_new(m, cage->main, NULL, "_start", 0, 0, msg, cap);
    if (!inst)
        return -ENOEXEC;
    int r = instance_attach(cage, inst);
    if (r < 0) {
        snprintf(msg, cap, "bad memory layout (%s)", strerror(-r));
        instance_free(inst, 1);
        return r;
    }
    *out = inst;
    return 0;
}

/* Python: the root cage of a new tree, set up, with its first instance; NULL with s->error. */
struct lind_cage *lind_cage_create(struct lind_cage_setup *s, struct lind_instance **inst)
{
    struct stat st;
    struct lind_cage *cage = lind_cage_new(s->root);
    if (!cage) {
        int is_dir = stat(s->root, &st) == 0 && S_ISDIR(st.st_mode);
        snprintf(s->error, sizeof s->error, "%s: %s", s->root,
                 is_dir ? "cannot open the root directory" : "root is not a directory");
        return NULL;
    }
    int r = lind_cage_set_cwd(cage, s->cwd);
    if (r < 0) {
        snprintf(s->error, sizeof s->error, "--cwd %s: %s (inside the root)", s->cwd, strerror(-r));
        goto fail;
    }
    for (int i = 0; i < 3; i++)
        if (lind_cage_set_fd(cage, i, s->stdio[i]) < 0) {
            snprintf(s->error, sizeof s->error, "cannot give fd %d to the cage", s->stdio[i]);
            goto fail;
        }
    if (lind_cage_set_args(cage, s->args, s->args_len, s->argc, s->envc) < 0) {
        snprintf(s->error, sizeof s->error, "out of memory");
        goto fail;
    }
    if (s->net >= 0)
        lind_set_net_policy(cage, s->net);
    if (s->mem_limit)
        lind_cage_set_mem_limit(cage, s->mem_limit);
    if (s->cpu_ms >= 0)
        lind_cage_set_cpu_limit(cage, (uint64_t)s->cpu_ms);
    if (s->max_fds >= 0)
        lind_cage_set_rlimit(cage, RLIMIT_NOFILE, (uint64_t)s->max_fds, (uint64_t)s->max_fds);
    cage->tree->max_cages = (int)s->max_cages;
    if (s->wall_ms >= 0 && lind_cage_set_wall_limit(cage, (uint64_t)s->wall_ms) < 0) {
        snprintf(s->error, sizeof s->error, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < s->nprograms; i++)
        if (tree_add_program(cage->tree, s->program_names[i], s->program_modules[i]) < 0) {
            snprintf(s->error, sizeof s->error, "out of memory");
            goto fail;
        }
    /* Instantiating runs the module's start function, which may loop: the tree's clock starts
     * first, and the thread is bound, so that its limits and kills reach it there too (Python's
     * lock is not held: native.py BLOCKING). */
    tree_start_clock(cage->tree);
    lind_thread_bind(cage->main);
    epoch_loading(cage->tree);
    r = cage_load(cage, s->module, inst, s->error, sizeof s->error);
    epoch_loading(NULL);
    thread_charge_cpu(cage->main);
    lind_thread_unbind(cage->main);
    if (r < 0) {
        int reason = tree_end_reason(cage->tree);
        if (reason != TREE_RUNNING)
            snprintf(s->error, sizeof s->error, "killed while being loaded, in the module's start function (%s)",
                     reason == TREE_WALL_LIMIT ? "wall-time limit" : reason == TREE_CPU_LIMIT ? "CPU-time limit"
                                                                                              : "killed");
        goto fail;
    }
    return cage;
fail:
    lind_cage_finish(cage);
    lind_cage_free(cage);
    return NULL;
}


/* Runs a loaded cage to its end on the calling thread (without Python's lock) and frees it; its
 * children run on runner threads. With a capture, it then waits until the capture's streams are
 * closed (one call for both: each return to Python costs a short job dearly). */
#define TREE_END_WAIT_MS 10000 /* a killed tree still alive after this is a bug: say so */

static void cage_run(struct lind_cage *cage, struct lind_instance *inst, struct lind_result *out,
                   struct capture *cap)
{
    memset(out, 0, sizeof *out);
    int64_t t0 = monotonic_ns();
    struct lind_tree *tree = cage->tree;
    pthread_mutex_lock(&proc_lock);
    tree_get_locked(tree); /* for its figures once every cage of it has ended */
    pthread_mutex_unlock(&proc_lock);
    cage_main(cage, inst, out);
    /* the root's end killed the rest of the tree (but for a grate's cages, which live on): its
     * figures are complete once it is empty */
    while (!tree_wait_empty(tree, TREE_END_WAIT_MS))
        if (__atomic_load_n(&tree->dying, __ATOMIC_ACQUIRE) && !out->tree_complete++)
            fprintf(stderr, "lind: cage tree %d: still not ended %d ms after its kill\n", (int)out->pid,
                    TREE_END_WAIT_MS);
    out->tree_complete = 1;
    if (cap)
        lind_capture_wait(cap, -1);
    out->wall_ns = (uint64_t)(monotonic_ns() - t0);
    pthread_mutex_lock(&proc_lock);
    out->end_reason = tree->end_reason == TREE_ROOT_ENDED ? TREE_RUNNING : tree->end_reason;
    pthread_mutex_unlock(&proc_lock);
    out->tree_cpu_ns = __atomic_load_n(&tree->cpu_ns, __ATOMIC_RELAXED);
    out->tree_peak_memory = __atomic_load_n(&tree->mem_peak, __ATOMIC_RELAXED);
    out->mem_limit_hit = __atomic_load_n(&tree->mem_limit_hit, __ATOMIC_RELAXED);
    tree_put(tree);
}

/* A root cage run on a runner thread for Python (spawn): Python waits on it, then reads how the
 * cage ended. Freed when both the runner and Python are done with it. */
struct run_handle {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done, refs;
    struct lind_cage *cage;
    struct lind_instance *inst;
    struct lind_result res;
};

static void handle_put(struct run_handle *h)
{
    pthread_mutex_lock(&h->lock);
    int last = --h->refs == 0;
    pthread_mutex_unlock(&h->lock);
    if (last) {
        pthread_mutex_destroy(&h->lock);
        pthread_cond_destroy(&h->cond);
        free(h);
    }
}

static void handle_main(void *arg)
{
    struct run_handle *h = arg;
    cage_run(h->cage, h->inst, &h->res, NULL);
    pthread_mutex_lock(&h->lock);
    h->done = 1;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    handle_put(h);
}

/* Python: runs a loaded cage on a runner thread. NULL if no thread could run it (the cage is
 * then freed). */
struct run_handle *lind_cage_start(struct lind_cage *cage, struct lind_instance *inst)
{
    struct run_handle *h = calloc(1, sizeof *h);
    if (h) {
        pthread_mutex_init(&h->lock, NULL);
        pthread_cond_init(&h->cond, NULL);
        h->refs = 2;
        h->cage = cage;
        h->inst = inst;
    }
    if (!h || runner_submit(handle_main, h) < 0) {
        free(h);
        lind_cage_finish(cage);
        lind_cage_free(cage);
        instance_free(inst, 1);
        return NULL;
    }
    return h;
}

/* Python: waits until the cage has ended (timeout_ms < 0: for ever); 1 when it has, with its
 * result copied to out. */
int lind_handle_wait(struct run_handle *h, int timeout_ms, struct lind_result *out)
{
    struct timespec ts, *until = NULL;
    if (timeout_ms >= 0)
        deadline_after_ms(until = &ts, timeout_ms);
    pthread_mutex_lock(&h->lock);
    int r = 0;
    while (!h->done && r == 0)
        r = cond_wait_until(&h->cond, &h->lock, until);
    int done = h->done;
    if (done)
        *out = h->res;
    pthread_mutex_unlock(&h->lock);
    return done;
}

void lind_handle_free(struct run_handle *h) { handle_put(h); }

/* Python: lind_cage_create and lind_cage_run_many for n jobs in one call: for short jobs the
 * set-up is as long as the run, and done here it does not hold Python's lock. A job that cannot
 * start gets outs[i].not_started with the reason in setups[i].error. */
void lind_cage_create_run_many(int n, struct lind_cage_setup *setups, struct lind_result *outs,
                               struct capture **caps)
{
    for (int i = 0; i < n; i++) {
        struct lind_instance *inst = NULL;
        struct lind_cage *cage = lind_cage_create(&setups[i], &inst);
        if (caps[i])
            lind_capture_close_cage_ends(caps[i]); /* the cage holds its own copies (or failed) */
        if (cage) {
            cage_run(cage, inst, &outs[i], caps[i]);
        } else {
            memset(&outs[i], 0, sizeof outs[i]);
            outs[i].not_started = 1;
        }
    }
}

/* Python: n loaded cages run one after another, each as by cage_run (caps[i] may be NULL).
 * One call for many short jobs: each return to Python costs such a job more than itself. */
void lind_cage_run_many(int n, struct lind_cage **cages, struct lind_instance **insts, struct lind_result *outs,
                        struct capture **caps)
{
    for (int i = 0; i < n; i++)
        cage_run(cages[i], insts[i], &outs[i], caps[i]);
}


/* ---- children of fork and posix_spawn ---- */

static void child_discard(struct lind_cage *child, struct lind_instance *ci)
{
    lind_cage_finish(child);
    lind_cage_free(child);
    instance_free(ci, 1);
}

/* A child of th's cage (lind_cage_fork) with an instance of m that starts at entry(arg), over a
 * copy of the parent's memory; NULL on failure. */
static struct lind_cage *child_new(struct lind_cage *cage, struct lind_thread *th, struct lind_module *m,
                                   const char *entry, int32_t nargs, int32_t arg, struct lind_instance **ci)
{
    char msg[256];
    *ci = NULL;
    struct lind_cage *child = lind_cage_fork(cage, th);
    if (!child)
        return NULL;
    *ci = instance_new(m, child->main, NULL, entry, nargs, arg, msg, sizeof msg);
    if (*ci && instance_grow_to(*ci, wt.sharedmemory_data_size(cage->mem)) == 0 &&
        lind_cage_fork_memory(cage, child, (*ci)->mem) == 0)
        return child;
    child_discard(child, *ci);
    *ci = NULL;
    return NULL;
}

/* Runs a child made by child_new on a runner thread: its pid, or -EAGAIN (the child discarded). */
static int64_t child_submit(struct lind_cage *child, struct lind_instance *ci)
{
    int64_t pid = (int64_t)child->id;
    struct cage_start *s = malloc(sizeof *s);
    if (s) {
        child->module = module_get(ci->mod);
        s->cage = child;
        s->th = child->main;
        s->inst = ci;
        if (runner_submit(child_main, s) == 0)
            return pid;
    }
    free(s);
    child_discard(child, ci);
    return -EAGAIN;
}

/* The rest of a fork, after the parent's instance has unwound into its buffer: the child cage,
 * its instance over a copy of the memory, both rewound into the fork call. */
static void fork_child(struct lind_thread *th, struct lind_instance *inst)
{
    lind_stop_unwind(&inst->run);
    uint32_t buf = th->async_buf;
    int64_t result = -EAGAIN;
    struct lind_instance *ci;
    struct lind_cage *child = child_new(th->cage, th, inst->mod, inst->entry, inst->run.nargs, inst->run.arg, &ci);
    if (child) {
        /* the instance's own state that lives outside memory: its stack pointer and TLS block */
        if (instance_global_copy(ci, inst, "__stack_pointer") == 0 && instance_global_copy(ci, inst, "__tls_base") == 0) {
            lind_thread_set_rewind(child->main, 0);
            lind_start_rewind(&ci->run, buf);
            result = child_submit(child, ci);
        } else {
            child_discard(child, ci);
        }
    }
    lind_thread_set_rewind(th, result);
    lind_start_rewind(&inst->run, buf);
}

/* ---- threads of a cage ---- */

static void thread_main(void *arg)
{
    struct cage_start *s = arg;
    struct lind_instance *inst = s->inst;
    struct lind_thread *th = s->th;
    free(s);
    char msg[256];
    int sig;
    lind_thread_bind(th);
    inst = run_thread(th, inst, msg, sizeof msg, &sig);
    struct lind_cage *cage = th->cage;
    if (sig && !cage->exited && !th->exited)
        lind_cage_set_killed(cage, sig); /* a fault in a thread ends the whole cage */
    thread_charge_cpu(th);
    lind_thread_unbind(th);
    instance_free(inst, 0);
    lind_thread_finish(th);
}

/* clone(CLONE_VM|CLONE_VFORK), which posix_spawn makes: a child cage with a copy of the memory and
 * fds (as a fork makes it) whose one thread starts in __lind_thread_start(start) with its stack
 * pointer at stack and its parent's TLS block (struct lind_clone at start: {fn, arg, tls_block, tp,
 * parent_tls_base}), instead of returning from the call like a fork. No stack is unwound, so
 * spawning (system, popen) needs no Asyncify instrumentation. The parent does not wait for the
 * child's exec: posix_spawn learns how it went from its close-on-exec pipe. */
int64_t spawn_start(struct lind_call *c, uint32_t stack, uint32_t start)
{
    struct lind_cage *cage = c->cage;
    if (!cage->module || !cage->mem || !stack || !start)
        return -EINVAL;
    if (c->acting)
        return -ENOSYS; /* a grate forwarding posix_spawn's clone: not yet (with it, a test run
                         * aborted the host twice in ~90 runs on a corrupted heap: not understood) */
    const uint32_t *rec = guest_ptr(c, start, 5 * sizeof(uint32_t));
    if (!rec)
        return -EFAULT;
    int32_t parent_tls_base = (int32_t)rec[4];
    struct lind_instance *ci;
    struct lind_cage *child = child_new(cage, c->th, cage->module, "__lind_thread_start", 1, (int32_t)start, &ci);
    if (!child)
        return -EAGAIN;
    if (instance_global_set(ci, "__stack_pointer", (int32_t)stack) < 0 ||
        instance_global_set(ci, "__tls_base", parent_tls_base) < 0) {
        child_discard(child, ci);
        return -EAGAIN;
    }
    return child_submit(child, ci);
}

/* clone(CLONE_THREAD): a new instance over the cage's memory, started in __lind_thread_start(start)
 * with its stack pointer at stack, on a runner thread. */
int thread_start(struct lind_cage *cage, struct lind_thread *th, uint32_t stack, uint32_t start)
{
    char msg[256];
    if (!cage->module || !cage->mem)
        return -EAGAIN;
    struct lind_instance *inst =
        instance_new(cage->module, th, cage->mem, "__lind_thread_start", 1, (int32_t)start, msg, sizeof msg);
    if (!inst)
        return -EAGAIN;
    struct cage_start *s = malloc(sizeof *s);
    if (s) {
        s->cage = cage;
        s->th = th;
        s->inst = inst;
    }
    if (!s || instance_global_set(inst, "__stack_pointer", (int32_t)stack) < 0 ||
        runner_submit(thread_main, s) < 0) {
        free(s);
        instance_free(inst, 0);
        return -EAGAIN;
    }
    return 0;
}

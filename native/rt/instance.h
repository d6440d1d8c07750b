/* Wasm instances of cage programs, made in C (instance.c), and the run loop that drives them
 * (runloop.c, runner.c). Python only loads modules from the AOT cache and hands them over. */
#ifndef LIND_INSTANCE_H
#define LIND_INSTANCE_H

#include "lind.h"
#include "kern/module.h"


/* What the run loop needs to run an instance. */
struct run_ctx {
    wasmtime_context_t *ctx;
    wasmtime_func_t entry;
    int32_t nargs;
    int32_t arg;
    wasmtime_func_t stop_unwind;
    wasmtime_func_t start_rewind;
    wasmtime_global_t sp;
};

/* Whether the instance has what unwinding and rewinding its stack needs (fork, setjmp): the
 * asyncify exports and __stack_pointer. A module may lack them; using them would abort the host. */
static inline int run_ctx_can_unwind(const struct run_ctx *r)
{
    return r->stop_unwind.store_id && r->start_rewind.store_id && r->sp.store_id;
}

/* One instance of a cage thread (its own Store) over the cage's shared memory. */
struct lind_instance {
    struct lind_module *mod;
    wasmtime_store_t *store;
    wasmtime_instance_t instance;
    wasmtime_sharedmemory_t *mem; /* this instance's handle on the cage's memory */
    const char *entry;            /* the name of run.entry (a string constant) */
    struct run_ctx run;
};

void instances_init(wasm_engine_t *engine, const wasm_functype_t *syscall_type);
/* engine.c: the part of the wasmtime API the engine uses, from the library wt_api_load opened. */
int engine_api_load(void *handle);

/* A new instance of m for thread th, over mem (a new handle is taken) or, when mem is NULL, over a
 * memory from the pool or a fresh one. entry is the outermost function (_start, or
 * __lind_thread_start with one argument). NULL with a message in err on failure. */
struct lind_instance *instance_new(struct lind_module *m, struct lind_thread *th, const wasmtime_sharedmemory_t *mem,
                                   const char *entry, int nargs, int32_t arg, char *err, size_t cap);
/* Drops the instance; its memory goes back to the pool when give_memory and it is the last user. */
void instance_free(struct lind_instance *inst, int give_memory);
int instance_export(struct lind_instance *inst, const char *name, uint8_t kind, wasmtime_extern_t *out);
int instance_global_get(struct lind_instance *inst, const char *name, int32_t *out);
int instance_global_set(struct lind_instance *inst, const char *name, int32_t value);
int instance_global_copy(struct lind_instance *to, struct lind_instance *from, const char *name);
int instance_call(struct lind_instance *inst, const char *name, int nargs, int32_t arg);
/* Grows the instance's memory to at least bytes. */
int instance_grow_to(struct lind_instance *inst, uint64_t bytes);
/* Attaches the instance's memory and program to its cage (the first instance, or after exec). */
int instance_attach(struct lind_cage *cage, struct lind_instance *inst);

/* runloop.c */
enum { RUN_RETURNED = 0, RUN_TRAPPED = 1, RUN_ERROR = 2, RUN_BAD_JUMP = 3 };
int lind_run_entry(struct lind_thread *th, struct run_ctx *r, int *code, char *msg, size_t cap);
int lind_stop_unwind(struct run_ctx *r);
int lind_start_rewind(struct run_ctx *r, uint32_t buf);

/* How to make the root cage of a new tree (lind_aot/vmm/cage.py: _Setup); runner.c. */
struct lind_cage_setup {
    const char *root;          /* host directory the cage sees as / */
    const char *cwd;           /* inside the root */
    int32_t stdio[3];          /* host fds, dup'ed */
    int32_t net;               /* network policy; -1: the process default */
    const char *args;          /* argv then environment strings, each NUL-terminated */
    uint32_t args_len, argc, envc;
    uint32_t max_cages;        /* 0: no limit */
    uint64_t mem_limit;        /* bytes; 0: no limit */
    int64_t cpu_ms;            /* CPU-time limit of the tree; -1: none */
    int64_t max_fds;           /* RLIMIT_NOFILE; -1: the default */
    int64_t wall_ms;           /* -1: none */
    struct lind_module *module;
    char error[256];           /* why it failed */
};

/* kern/cage.c, kern/mm.c: the bookkeeping of a fork */
struct lind_cage *lind_cage_fork(struct lind_cage *parent, struct lind_thread *th);
int lind_cage_fork_memory(struct lind_cage *parent, struct lind_cage *child, const wasmtime_sharedmemory_t *mem);

/* cage.c (with epoch.c's wall-time limit and netpolicy.c's policy: a root cage's settings) */
struct lind_cage *lind_cage_new(const char *root);
int lind_cage_set_cwd(struct lind_cage *cage, const char *path);
int lind_cage_set_fd(struct lind_cage *cage, int fd, int host);
int lind_cage_set_args(struct lind_cage *cage, const char *blob, uint32_t len, uint32_t argc, uint32_t envc);
int lind_cage_set_rlimit(struct lind_cage *cage, int res, uint64_t cur, uint64_t max);
void lind_cage_set_mem_limit(struct lind_cage *cage, uint64_t bytes);
int lind_cage_set_wall_limit(struct lind_cage *cage, uint64_t ms);
void lind_cage_set_cpu_limit(struct lind_cage *cage, uint64_t ms);
void lind_set_net_policy(struct lind_cage *cage, int mode);
void lind_thread_bind(struct lind_thread *th);
void lind_thread_unbind(struct lind_thread *th);
int lind_cage_finish(struct lind_cage *cage);
void lind_cage_free(struct lind_cage *cage);
void lind_cage_set_killed(struct lind_cage *cage, int sig);
void lind_cage_usage(const struct lind_cage *cage, uint64_t *out);
void lind_cage_wait_threads(struct lind_cage *cage);

/* capture.c: what the run loop waits for */
struct capture;
int lind_capture_wait(struct capture *cap, int timeout_ms);
void lind_capture_close_cage_ends(struct capture *cap);

/* runner.c */
int thread_start(struct lind_cage *cage, struct lind_thread *th, uint32_t stack, uint32_t start);
int64_t spawn_start(struct lind_call *c, uint32_t stack, uint32_t start);

#endif

/* rt/runner.h: running cages: a tree's root cage for Python, fork children, posix_spawn's children
 * and threads on runner threads.
 * Calls: base/, kern/, rt/.        Called by: threei/dispatch (fills kern/upcalls.h), Python. */
#ifndef LIND_RT_RUNNER_H
#define LIND_RT_RUNNER_H

#include <stdint.h>

struct lind_cage;
struct lind_thread;
struct lind_call;
struct lind_module;

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
    /* programs the tree is given by name (a stack of grates: kern/tree.c, tree_add_program) */
    uint32_t nprograms;
    const char *const *program_names;
    struct lind_module *const *program_modules;
    char error[256];           /* why it failed */
};

int thread_start(struct lind_cage *cage, struct lind_thread *th, uint32_t stack, uint32_t start);
int64_t spawn_start(struct lind_call *c, uint32_t stack, uint32_t start);

#endif

/* kern/cage.h: a cage (struct lind_cage: its threads, signal dispositions, memory, file system
 * view, credentials, limits, fd table, argv and 3i table), its lock, and its life: made as the
 * root of a tree (set up by the embedder) or by fork, reset by exec, finished, freed.
 * The lock order of the data plane (the cage's lock among the others): native/README.md.
 * Calls: base/, kern/.        Called by: kern/, sys/, rt/, threei/. */
#ifndef LIND_KERN_CAGE_H
#define LIND_KERN_CAGE_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "base/guest_abi.h"
#include "base/wt_api.h"
#include "kern/grate.h"
#include "kern/signal.h"

#define LIND_NGROUPS 64         /* supplementary groups a cage can have */
#define LIND_NRLIMITS 16

struct lind_thread;
struct lind_proc;
struct lind_tree;
struct lind_module;
struct lind_fd;
struct shared_map;

struct lind_cage {
    uint64_t id;
    uint64_t parent;
    struct lind_proc *proc;  /* valid until the cage is freed (proc_detach) */
    struct lind_tree *tree;  /* its proc entry's tree */
    uint64_t mem_accounted;  /* its memory as counted in its tree's (tree_account_memory) */

    /* threads: main is the thread whose tid is the pid; others are listed under lock */
    struct lind_thread *main;
    struct lind_thread *others;
    _Atomic int nthreads;    /* (changed under lock, read without it for fast paths) */
    pthread_mutex_t lock;    /* fd table, memory map, cwd, dispositions, thread list (>1 thread) */
    pthread_cond_t threads_cond;

    /* signals */
    _Atomic uint64_t sig_pending; /* process-directed */
    struct lind_sigaction sigact[65];

    _Atomic int stopped;     /* SIGSTOP & co: threads wait at their next entry/tick for SIGCONT */

    /* set by exit_group or a fatal signal; every thread's next entry returns a trap */
    _Atomic int exited;
    _Atomic int exit_code;
    _Atomic int term_signal;

    /* linear memory: shared by the cage's threads, created by the host; its base never moves */
    uint8_t *_Atomic base;
    _Atomic uint64_t size;   /* grows (memory.grow by any thread); read without lock (guest_ptr) */
    const wasmtime_sharedmemory_t *mem;
    struct lind_module *module; /* the program it runs (threads and grate workers instantiate it) */
    int cow_fd;              /* fork base file mapped privately over [0, cow_len) (cowfork.c); -1 */
    uint64_t cow_len;
    uint64_t mem_limit;      /* bytes the cage may grow to */
    uint64_t mem_cap;        /* the embedder's limit: mem_limit never goes above it (inherited) */
    uint32_t brk_start;      /* page aligned end of static data + stack */
    uint32_t brk;            /* current break as returned to the guest */
    uint8_t *pages;          /* enum page_state per guest page of [0, size) */
    uint32_t npages;
    uint32_t free_hint;      /* no free page below this index */
    struct shared_map *shared_maps;

    /* file system view */
    int root_fd;             /* O_PATH directory: the cage's "/" */
    char root_path[PATH_MAX];
    size_t root_len;
    char cwd[PATH_MAX];      /* cage-visible, absolute: the last value cage_cwd computed */
    int cwd_fd;              /* O_PATH fd of the working directory (follows renames) */
    uint32_t umask;
    uint32_t uid, euid, suid;   /* real, effective, saved: in this order (kern/creds.c) */
    uint32_t gid, egid, sgid;
    uint32_t groups[LIND_NGROUPS];
    int ngroups;
    int nice;                /* getpriority/setpriority (proc.c) */
    _Atomic uint64_t sig_origins; /* pending signals whose sender is known: their siginfo is below */
    struct sig_origin sig_origin[65];
    struct { uint64_t cur, max; } rlim[LIND_NRLIMITS];

    struct lind_fd *fds;
    int nfds;                /* allocated entries */

    /* argv/env for crt1: NUL-terminated strings, argc then envc of them */
    char *args;
    uint32_t args_len, argc, envc;

    struct threei_entry table[LIND_NCALLS];
    struct grate_pool *pool; /* when this cage serves as a grate */
    int refs;                /* references from other cages' calls (cage_get): free waits for 0 */
    uint64_t nsyscalls;      /* system calls made by threads that ended (atomic) */
    uint64_t threads_cpu_ns; /* CPU time of its threads that ended (atomic) */
    uint64_t peak_mem;       /* largest linear-memory size seen */
    int xcpu_sent;           /* RLIMIT_CPU soft limit reached once */
};

/* The cage's lock (struct lind_cage: lock). */
static inline void cage_lock(struct lind_cage *cage) { pthread_mutex_lock(&cage->lock); }
static inline void cage_unlock(struct lind_cage *cage) { pthread_mutex_unlock(&cage->lock); }

/* kern/cage.c (a root cage's settings: with kern/tree.c's wall and CPU limits and
 * kern/netpolicy.c's policy) */
struct lind_cage *lind_cage_new(const char *root);
uint64_t lind_cage_pid(const struct lind_cage *cage);
int lind_cage_set_cwd(struct lind_cage *cage, const char *path);
int lind_cage_set_fd(struct lind_cage *cage, int fd, int host);
int lind_cage_set_args(struct lind_cage *cage, const char *blob, uint32_t len, uint32_t argc, uint32_t envc);
int lind_cage_set_rlimit(struct lind_cage *cage, int res, uint64_t cur, uint64_t max);
void lind_cage_set_mem_limit(struct lind_cage *cage, uint64_t bytes);
int lind_cage_finish(struct lind_cage *cage);
void lind_cage_free(struct lind_cage *cage);
void lind_cage_set_killed(struct lind_cage *cage, int sig);
void lind_cage_usage(const struct lind_cage *cage, uint64_t *out);
/* the bookkeeping of a fork by thread th, and what exec clears */
struct lind_cage *lind_cage_fork(struct lind_cage *parent, struct lind_thread *th);
void cage_exec_reset(struct lind_cage *cage, struct lind_thread *th);

#endif

/* kern/tree.h: cage trees (struct lind_tree): what the embedder limits and stops; and the lock of
 * the trees and the process table, proc_lock.
 * Calls: base/, kern/.        Called by: kern/, sys/, rt/. */
#ifndef LIND_KERN_TREE_H
#define LIND_KERN_TREE_H

#include <pthread.h>
#include <stdint.h>

struct lind_cage;
struct lind_thread;
struct lind_proc;
struct lind_module;

/* A program the embedder gave a tree by name (the grates and program of a stack, lind_aot/threei):
 * an exec of exactly that name by a cage of the tree runs it (sys/sys_lifecycle.c). */
struct tree_program {
    char *name;
    struct lind_module *module; /* referenced */
    struct tree_program *next;
};

/* A tree of cages: a root the embedder started and every cage forked from it (tree.c). */
enum tree_end { TREE_RUNNING = 0, TREE_ROOT_ENDED, TREE_KILLED, TREE_WALL_LIMIT, TREE_CPU_LIMIT };

struct lind_tree {
    int root_pid;
    int refs;                /* its proc entries' and holders' (proc_lock) */
    int live;                /* cages of it that have not ended (proc_lock) */
    int max_cages;           /* 0: no limit on live */
    int dying;               /* killed: no cage may join, every cage ends (set under proc_lock; atomic reads) */
    int end_reason;          /* enum tree_end: why it was killed, the first reason (proc_lock) */
    int mem_limit_hit;       /* a cage of it was refused memory by its limit (atomic) */
    int root_is_grate;       /* its root served as a grate: its end does not end the tree (atomic) */
    int64_t wall_ms;         /* wall-time limit; 0: none */
    int64_t started_ns, wall_deadline_ns, doomed_ns; /* CLOCK_MONOTONIC (proc_lock) */
    uint64_t cpu_limit_ns;   /* CPU-time limit of the whole tree; 0: none */
    uint64_t cpu_ns;         /* CPU time its threads used (atomic) */
    uint64_t mem_now, mem_peak; /* linear memory of its live cages, now and at most (atomic) */
    struct lind_proc *members; /* its proc entries, zombies included (proc_lock) */
    struct tree_program *programs; /* given by the embedder before it runs; then read only */
    struct lind_tree *next, *prev; /* every tree (proc_lock) */
};

/* the lock of the process table (kern/proc.c) and of the trees, recursive; proc_cond is broadcast
 * when a cage ends or stops */
extern pthread_mutex_t proc_lock;
extern pthread_cond_t proc_cond;

struct lind_tree *tree_new(void);
struct lind_tree *tree_find(int root);
void tree_get_locked(struct lind_tree *t);
void tree_put_locked(struct lind_tree *t);
void tree_put(struct lind_tree *t);
void tree_kill(struct lind_tree *t, int reason);
void tree_kill_locked(struct lind_tree *t, int reason);
void tree_start_clock(struct lind_tree *t);
int tree_end_reason(struct lind_tree *t);      /* TREE_RUNNING, or why it was killed */
void trees_tick(void);
void tree_charge_cpu(struct lind_tree *t, uint64_t ns);
void tree_account_memory(struct lind_cage *cage, uint64_t size);
int tree_wait_empty(struct lind_tree *t, int timeout_ms);
int lind_tree_kill(int root);
int lind_tree_cages(int root, int32_t *pids, int cap);
int tree_add_program(struct lind_tree *t, const char *name, struct lind_module *m);
struct lind_module *tree_program(struct lind_tree *t, const char *name); /* referenced, or NULL */
void thread_charge_cpu(struct lind_thread *th); /* its CPU time since the last charge, to its tree */
int lind_cage_set_wall_limit(struct lind_cage *cage, uint64_t ms);
void lind_cage_set_cpu_limit(struct lind_cage *cage, uint64_t ms);

#endif

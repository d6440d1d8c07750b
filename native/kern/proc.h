/* kern/proc.h: the process table (struct lind_proc): pids, parents, process groups, sessions,
 * zombies and waits; signals to processes (kill and its kin, and posting with the continue of a
 * stopped cage); references to live cages by pid.
 * Calls: base/, kern/.        Called by: kern/, sys/, rt/, threei/. */
#ifndef LIND_KERN_PROC_H
#define LIND_KERN_PROC_H

#include <stdint.h>

struct lind_cage;
struct lind_call;
struct lind_tree;
struct sig_origin;
struct grate_pool;

/* An entry of the process table (proc.c); outlives its cage as a zombie. */
struct lind_proc {
    int pid, ppid, pgid, sid;
    int tree_root;           /* pid of the cage that started this tree */
    int zombie;
    int wstatus;             /* Linux wait status once zombie */
    int stop_report;         /* stopped by this signal, not yet reported to a WUNTRACED wait */
    uint64_t cpu_ns;         /* CPU time it used (set when it ends) */
    uint64_t maxrss_kb;      /* its largest memory, KiB */
    uint64_t children_cpu_ns; /* of the children it reaped (and theirs), as RUSAGE_CHILDREN */
    uint64_t children_maxrss_kb;
    int cont_report;         /* continued, not yet reported to a WCONTINUED wait */
    int refs;                /* the table's and the cage's (proc.c) */
    struct lind_tree *tree;  /* referenced while the entry exists */
    struct lind_proc *tree_next, *tree_prev; /* its tree's members (proc_lock) */
    struct lind_cage *cage;  /* NULL once the cage has ended */
    struct lind_proc *next;  /* hash chain */
};

struct lind_proc *proc_new(struct lind_cage *cage, int ppid);
struct lind_proc *proc_new_with_pid(struct lind_cage *cage, int ppid, int pid);
int proc_is_ancestor(int ancestor, int pid);
void proc_exit(struct lind_proc *proc, int wstatus);
void proc_release(struct lind_proc *proc);
void proc_detach(struct lind_proc *proc);
int proc_count(void);
int proc_getppid(struct lind_cage *cage);
void proc_children_usage(struct lind_cage *cage, uint64_t *cpu_ns, uint64_t *maxrss_kb);
void proc_note_stop(struct lind_cage *cage, int sig); /* 0: continued */
struct lind_cage *cage_get(int pid);     /* the live cage with that pid, referenced, or NULL */
struct lind_cage *cage_get_visible(const struct lind_cage *from, int pid); /* ... of from's tree */
void cage_put(struct lind_cage *cage);
void proc_forget_pool(struct grate_pool *pool);  /* clears every table entry pointing at pool */
int lind_tree_wait(int root, int timeout_ms);

/* signals to processes */
int proc_kill(struct lind_cage *sender, int pid, int sig);
int proc_kill_group(int pgid, int sig);
int proc_kill_from(struct lind_cage *sender, int pid, int sig, const struct sig_origin *origin);
int lind_kill(int pid, int sig);
int lind_kill_group(int pgid, int sig);
void proc_signal_continue(struct lind_cage *cage, int sig);
void cage_post_signal(struct lind_cage *cage, int sig); /* process-directed (no cage lock held) */
/* Sends sig to the cage (tid 0) or its thread tid (a thread that is gone: to the cage) with the
 * siginfo its receiver will get. Returns 1 if sig was pending already: then nothing changes (a
 * pending signal keeps its first siginfo, as on Linux; for a timer, an overrun). */
int signal_post_from(struct lind_cage *cage, int tid, int sig, const struct sig_origin *o);

/* the wait family, groups, sessions and nice values (their calls: sys/sys_proc.c) */
#define L_WNOHANG 1
#define L_WUNTRACED 2
#define L_WCONTINUED 8
#define L_WNOWAIT 0x1000000
#define L_WEXITED 4
#define L_WSTOPPED 2
/* The usage of the child a wait reaped (its own and its reaped descendants'). */
struct child_usage {
    uint64_t cpu_ns, maxrss_kb;
};
int proc_wait(struct lind_call *c, int pid, int options, int *wstatus, int nowait, struct child_usage *u);
int proc_getpgid(struct lind_cage *cage, int pid);
int proc_getsid(struct lind_cage *cage, int pid);
int proc_setpgid(struct lind_cage *cage, int pid, int pgid);
int proc_setsid(struct lind_cage *cage);
#define L_PRIO_PROCESS 0
#define L_PRIO_PGRP 1
#define L_PRIO_USER 2
int64_t proc_priority(struct lind_cage *me, int which, int who, int value, int set);

#endif

/* kern/thread.h: a thread of a cage (struct lind_thread): its record, its OS thread and CPU time,
 * its end, and what the run loop must do when its instance returns (enum cage_pending).
 * Calls: base/, kern/.        Called by: kern/, sys/, rt/, threei/. */
#ifndef LIND_KERN_THREAD_H
#define LIND_KERN_THREAD_H

#include <stdint.h>

#include "base/wt_api.h"

struct lind_cage;
struct jmp_record;  /* kern/jmpbuf.c */
struct lind_module; /* kern/module.h */

/* What the run loop (runner.c) must do when the instance returns or traps. */
enum cage_pending { PENDING_NONE = 0, PENDING_FORK = 1, PENDING_EXEC = 2, PENDING_SETJMP = 3, PENDING_LONGJMP = 4 };

/* A thread of a cage: its own wasm instance (and Store), OS thread, signal mask and fork state. */
struct lind_thread {
    struct lind_cage *cage;
    int tid;

    /* lifecycle requests to the run loop (runner.c; fork unwinds the wasm stack with asyncify) */
    _Atomic int pending;     /* (set by another thread for exec) */
    int rewinding;           /* re-entering the fork call after the unwind */
    int64_t fork_result;
    uint32_t async_buf, async_len;

    /* read by the threads that post signals to it: atomic (the poster reads, the thread writes) */
    _Atomic uint64_t sig_pending; /* thread-directed signals: bit (n-1) for signal n */
    _Atomic uint64_t sig_mask;
    _Atomic uint64_t sigwait_set; /* the signals it waits for in rt_sigtimedwait (0: not waiting) */
    char name[16];           /* prctl(PR_SET_NAME) */
    int in_handler;          /* nesting depth of guest signal handlers being run */
    unsigned long os_thread; /* pthread_t of the OS thread running it, to interrupt it */
    int os_thread_set;       /* os_thread is bound: both under kick_lock (kern/signal.c thread_kick) */
    int kick_lock;
    wasmtime_table_t functable; /* this instance's function table, to call signal handlers */
    int has_table;
    wasmtime_global_t sp_global; /* this instance's __stack_pointer, to run handlers on an alternate stack */
    int has_sp;
    uint32_t altstack_sp, altstack_size; /* sigaltstack; size 0: none (SS_DISABLE) */
    int on_altstack;         /* handlers running on it */
    uint32_t siginfo_buf;    /* guest pages for the siginfo_t and ucontext_t of SA_SIGINFO handlers */

    uint32_t clear_tid;      /* CLONE_CHILD_CLEARTID: zeroed and futex-woken at thread exit */
    int deferred_fork;       /* a grate forwarded this thread's fork: done when the grate returns */
    int reserved_pid;        /* the pid the child of that fork will get */
    int has_visible;         /* the grate chose what the parent's fork returns */
    int64_t visible;
    struct jmp_record *jmps; /* saved stacks of this thread's jmp_bufs (kern/jmpbuf.c) */
    int njmps;
    uint32_t jmp_env;        /* the jmp_buf of the setjmp/longjmp in progress */
    int jmp_val;
    uint32_t jmp_sp;         /* __stack_pointer at setjmp */
    int deferred_longjmp;    /* longjmp out of a signal handler: done when the interrupted call returns */
    int abandon_for_longjmp; /* a longjmp: the wasm stack is abandoned (a trap), the run loop rewinds into the setjmp */
    uint64_t nsyscalls;      /* system calls made by this thread (added to the cage's at exit) */
    int64_t cpu_base_ns;     /* CPU time of its OS thread when it started running this thread */
    uint64_t cpu_charged;    /* of its CPU time (thread_cpu_ns), what is charged to its tree */
    struct lind_thread *origin; /* for a grate worker: the cage thread whose call it serves */
    _Atomic int exited;      /* this thread called exit */
    _Atomic int exiting;     /* the main thread called exit and waits for the others */
    struct lind_module *exec_module; /* the program an exec loaded, for the run loop */
    int exec_takeover;       /* another thread of the cage called that exec (sys/sys_lifecycle.c) */
    struct lind_thread *next;
};

struct lind_thread *thread_new(struct lind_cage *cage, int tid);
void lind_thread_finish(struct lind_thread *th); /* its run loop has ended (not the main thread) */
void lind_cage_wait_threads(struct lind_cage *cage); /* the main thread's: until the others are gone */
void lind_thread_bind(struct lind_thread *th);   /* on the OS thread that runs it, before it runs */
void lind_thread_unbind(struct lind_thread *th);
int64_t thread_cpu_ns(const struct lind_thread *th); /* CPU time used by this cage thread */
void thread_name_from_path(struct lind_thread *th, const char *path);

#endif

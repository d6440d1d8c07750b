/* The microvisor's C data plane: shared declarations.
 * Python (lind_aot/vmm) creates cages and registers lind_syscall_entry as the wasm import
 * lind.syscall; every system call of every cage enters here and most are answered here. */
#ifndef LIND_H
#define LIND_H

#include <limits.h>
#include <pthread.h>
#include <time.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "syscalls.h"
#include "wt_api.h"

#define LIND_NCALLS 1100       /* 3i table size: Linux x86-64 numbers < 1000, lind calls 1001.. */
#define LIND_NGROUPS 64         /* supplementary groups a cage can have */
#define LIND_PAGE 4096u        /* guest page size (AT_PAGESZ) */
#define LIND_WASM_PAGE 65536u  /* memory.grow unit */
#define LIND_MAX_MEM (1ull << 32)
#define LIND_NRLIMITS 16

/* A grate's pool of worker instances (threei.c); never freed, marked dead when the grate ends. */
struct grate_pool;

/* One entry of a cage's 3i table: pool NULL means the microvisor answers. */
struct threei_entry {
    struct grate_pool *pool;
    uint64_t fnptr;
};

/* A virtual fd refers to a host fd, a dup of the open file description, so offsets and status
 * flags are shared between dup'ed fds exactly as on Linux. The host fd is reference counted: a
 * system call in flight in one thread keeps it open while another thread closes the virtual fd
 * (otherwise the host could reuse the number for another cage's file). */
/* Who sent a pending signal, for its siginfo (si_code and what goes with it: signal.c). */
struct sig_origin {
    int32_t code;            /* SI_USER, SI_TKILL, SI_QUEUE, SI_TIMER, CLD_* */
    int32_t pid;             /* sender (CLD_*: the child) */
    uint32_t uid;
    int32_t timerid;         /* SI_TIMER */
    int32_t status;          /* CLD_*: exit code or signal */
    uint32_t value;          /* SI_QUEUE, SI_TIMER: sigval */
};

struct fd_file {
    int host;
    int refs;
    struct dir_positions *dirpos; /* a directory read by getdents64: dirpos.c */
    int foreign;             /* a host object outside the root (stdio the embedder gave, a host device):
                              * its data is the cage's to use, its metadata is not (EPERM) */
};

struct lind_fd {
    struct fd_file *f;  /* NULL: unused */
    int cloexec;
};

/* A MAP_SHARED, writable file mapping: written back to the file on msync/munmap/exit. */
struct shared_map {
    uint32_t start; /* guest address, page aligned */
    uint32_t len;   /* bytes, page multiple */
    int host_fd;
    int64_t offset;
    struct shared_map *next;
};

enum page_state { PAGE_FREE = 0, PAGE_STATIC = 1, PAGE_MMAP = 2 };

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
    struct lind_tree *next, *prev; /* every tree (proc_lock) */
};

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

/* What the run loop (runner.c) must do when the instance returns or traps. */
enum cage_pending { PENDING_NONE = 0, PENDING_FORK = 1, PENDING_EXEC = 2, PENDING_SETJMP = 3, PENDING_LONGJMP = 4 };

struct jmp_record; /* setjmp.c */
struct lind_module; /* instance.h */

struct lind_sigaction {
    uint32_t handler;        /* 0 SIG_DFL, 1 SIG_IGN, else a function-table index */
    uint32_t flags;
    uint64_t mask;
};

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
    int os_thread_set;       /* os_thread is bound: both under kick_lock (signal.c thread_kick) */
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
    struct jmp_record *jmps; /* saved stacks of this thread's jmp_bufs (setjmp.c) */
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
    int exec_takeover;       /* another thread of the cage called that exec (lifecycle.c) */
    struct lind_thread *next;
};

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
    uint32_t uid, euid, suid;   /* real, effective, saved: in this order (creds.c) */
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

/* One system call in flight. */
struct lind_call {
    struct lind_cage *cage;
    struct lind_thread *th;
    wasmtime_caller_t *caller;   /* NULL when the call comes from the epoch callback */
    wasmtime_context_t *ctx;     /* set when caller is NULL */
    uint32_t nr;
    uint64_t a[6];
    uint64_t ac[6];
    struct fd_file *borrowed[8];  /* host fds kept open until the call returns (threads only) */
    int nborrowed;
    /* a call made by a grate on behalf of another cage (acting): whose memory each argument
     * points into (NULL: the cage acted on) */
    int acting;
    struct lind_cage *argmem[6];
    /* the call came through an import whose call sites are instrumented by Asyncify (dispatch.c):
     * only such a call may unwind the wasm stack (fork, setjmp) */
    int can_unwind;
};

typedef int64_t (*lind_handler_t)(struct lind_call *c);

/* argument decoding, as the x86-64 kernel reads them */
static inline int arg_int(const struct lind_call *c, int i) { return (int)(uint32_t)c->a[i]; }
static inline uint32_t arg_u32(const struct lind_call *c, int i) { return (uint32_t)c->a[i]; }
static inline int64_t arg_i64(const struct lind_call *c, int i) { return (int64_t)c->a[i]; }

/* The store context of a call (from the caller, or given directly by the epoch callback). */
static inline wasmtime_context_t *call_ctx(const struct lind_call *c)
{
    return c->caller ? wt.caller_context(c->caller) : c->ctx;
}

/* CLOCK_MONOTONIC in nanoseconds (deadlines of timers, waits, wall-time limits). */
static inline int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* memory.c: guest pointers. NULL means EFAULT. */
void *guest_ptr(struct lind_call *c, uint64_t addr, uint64_t len);
void *guest_ptr_or_null(struct lind_call *c, uint64_t addr, uint64_t len, int *efault);
/* Copies a NUL-terminated guest string into out (cap bytes); 0, -EFAULT or -ENAMETOOLONG. */
int guest_string(struct lind_call *c, uint64_t addr, char *out, size_t cap);
#define LIND_IOV_MAX 1024
struct iovec;
int guest_iovec(struct lind_call *c, uint64_t addr, uint32_t cnt, struct iovec *out);
/* Guest timespec at g (16 bytes): {int64 sec; int32 nsec; 4 bytes padding}; the padding is not read. */
static inline void guest_timespec(const uint8_t *g, struct timespec *ts)
{
    int64_t sec;
    int32_t nsec;
    memcpy(&sec, g, 8);
    memcpy(&nsec, g + 8, 4);
    ts->tv_sec = sec;
    ts->tv_nsec = nsec;
}
int memory_attach(struct lind_cage *cage, uint32_t heap_base);
void memory_release(struct lind_cage *cage);
void shared_maps_flush(struct lind_cage *cage);

/* fdtable.c */
int fd_host(struct lind_call *c, int fd);
int fd_host_file(struct lind_call *c, int fd, struct fd_file **file); /* fd_host, and its open file */
int fd_host_owned(struct lind_call *c, int fd); /* fd_host for a change of metadata: -EPERM if foreign */
void fd_set_foreign(struct lind_cage *cage, int fd);
int64_t dirpos_to_guest(struct fd_file *f, int64_t real);   /* directory positions: dirpos.c */
int dirpos_to_real(struct fd_file *f, int64_t guest, int64_t *real);
int dirpos_used(struct fd_file *f);
void dirpos_free(struct fd_file *f);    /* host fd, valid until the call returns, or -EBADF */
void fd_release(struct lind_call *c);
void fd_close_on_exec(struct lind_cage *cage);
int fd_table_clone(struct lind_cage *child, struct lind_cage *parent);
int fd_install(struct lind_cage *cage, int host, int cloexec, int min_fd); /* takes ownership */
int fd_install_at(struct lind_cage *cage, int fd, int host, int cloexec);
int fd_close(struct lind_cage *cage, int fd);
void fd_close_all(struct lind_cage *cage);

/* path.c: resolution inside the cage's root */
#define RES_NOFOLLOW 1
int path_from_guest(struct lind_call *c, int dirfd, uint64_t addr, char *out);
int path_open(struct lind_cage *cage, const char *abs, int flags, int mode, int resolve_flags);
void path_init(void);
int path_is_host_device(const char *abs);
int path_fd_outside_root(struct lind_cage *cage, int host_fd);
int path_fd_is_root(struct lind_cage *cage, int host_fd);
int chown_allowed(int host_fd, uint32_t uid, uint32_t gid); /* 0, or -EPERM: no CAP_CHOWN (fs.c) */
void path_mode_fixup(int dirfd, const char *base, uint32_t perm, int always);
int path_parent(struct lind_cage *cage, const char *abs, char *base_out);
int path_of_fd(struct lind_cage *cage, int host_fd, char *out);
int cage_cwd(struct lind_cage *cage, char *out);              /* current cwd path, or -ENOENT */
int cage_chdir_fd(struct lind_cage *cage, int host_fd);       /* takes ownership of an O_PATH fd */

/* proc.c: the process table; its lock also guards the trees (tree.c) */
extern pthread_mutex_t proc_lock;
extern pthread_cond_t proc_cond; /* broadcast when a cage ends or stops */
struct lind_proc *proc_new(struct lind_cage *cage, int ppid);
struct lind_proc *proc_new_with_pid(struct lind_cage *cage, int ppid, int pid);
int proc_is_ancestor(int ancestor, int pid);
void proc_exit(struct lind_proc *proc, int wstatus);
void proc_release(struct lind_proc *proc);
void proc_detach(struct lind_proc *proc);
int proc_kill(struct lind_cage *sender, int pid, int sig);
int proc_kill_group(int pgid, int sig);
int proc_kill_from(struct lind_cage *sender, int pid, int sig, const struct sig_origin *origin);
int proc_getppid(struct lind_cage *cage);
void proc_children_usage(struct lind_cage *cage, uint64_t *cpu_ns, uint64_t *maxrss_kb);
void proc_note_stop(struct lind_cage *cage, int sig); /* 0: continued */
int proc_count(void);

/* tree.c */
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
void cage_doom(struct lind_cage *cage);
int lind_tree_kill(int root);
void thread_charge_cpu(struct lind_thread *th); /* its CPU time since the last charge, to its tree */

/* signal.c */
void cage_post_signal(struct lind_cage *cage, int sig);           /* process-directed */
void thread_post_signal(struct lind_thread *th, int sig);         /* thread-directed */
int thread_interrupted(struct lind_thread *th);  /* a signal is pending that should end a wait */
void thread_name_from_path(struct lind_thread *th, const char *path);
/* Sends sig to the cage (tid 0) or its thread tid (a thread that is gone: to the cage) with the
 * siginfo its receiver will get. Returns 1 if sig was pending already: then nothing changes (a
 * pending signal keeps its first siginfo, as on Linux; for a timer, an overrun). */
int signal_post_from(struct lind_cage *cage, int tid, int sig, const struct sig_origin *o);
int cage_has_thread(struct lind_cage *cage, int tid);
void timers_exec(struct lind_cage *cage); /* exec deletes the cage's POSIX timers */
int timer_take_overrun(struct lind_cage *cage, int id); /* as its signal is taken: for the siginfo */
int thread_doomed(struct lind_thread *th);       /* SIGKILL is pending or the cage has ended: stop work */
void cage_kick_threads(struct lind_cage *cage, struct lind_thread *except);
void thread_kick(struct lind_thread *th);  /* interrupts its blocking host call, if any */
void thread_set_os_thread(struct lind_thread *th, int bound); /* bound: run by the calling OS thread */
void signals_after_call(struct lind_call *c);   /* default actions and handlers of pending signals */
int signals_restart(struct lind_call *c, int64_t ret); /* 1: re-issue a call that failed with EINTR */
void signal_init(void);

/* memory.c: a region of fresh pages inside the cage (for the host's own use); guest address */
int64_t memory_alloc_pages(struct lind_call *c, uint32_t npages);
int memory_copy_to(struct lind_cage *from, uint8_t *to_base, uint64_t to_size);
int memory_clone_state(struct lind_cage *child, const struct lind_cage *parent);
uint8_t *host_pages(const uint8_t *base, uint64_t size, int dirty_only, size_t *n);
int memory_scrub(uint8_t *base, uint64_t size); /* zeroes what was written, keeps pages resident */

/* The next run of selected pages at or after *h (moved to its start); returns its end, == *h when
 * there is none:  for (size_t h = 0, e; (e = page_run(sel, n, &h)) > h; h = e) ... */
static inline size_t page_run(const uint8_t *sel, size_t n, size_t *h)
{
    while (*h < n && !sel[*h])
        (*h)++;
    size_t e = *h;
    while (e < n && sel[e])
        e++;
    return e;
}
int cow_fork_memory(struct lind_cage *parent, struct lind_cage *child); /* 1 done, 0 not applicable, <0 */
void cow_release(struct lind_cage *cage);

/* setjmp.c */
void setjmp_deferred_longjmp(struct lind_call *c);
int lind_setjmp_save(struct lind_thread *th, uint32_t sp);
int64_t lind_longjmp_restore(struct lind_thread *th);
void jmp_records_free(struct lind_thread *th);
int jmp_records_clone(struct lind_thread *to, const struct lind_thread *from);
int call_export(struct lind_call *c, const char *name, int nargs, int32_t arg);
int start_unwind(struct lind_call *c, enum cage_pending then);

/* lifecycle.c */
int64_t lifecycle_resume_fork(struct lind_call *c);
void lifecycle_exec_reset(struct lind_cage *cage, struct lind_thread *th);
int64_t lifecycle_deferred_fork(struct lind_call *c, int64_t grate_result);

/* thread.c */
struct lind_thread *thread_new(struct lind_cage *cage, int tid);
int64_t thread_clone(struct lind_call *c);
void lind_thread_finish(struct lind_thread *th);
int proc_alloc_tid(void);
void proc_free_tid(int tid);    /* its thread is freed */
void cage_lock(struct lind_cage *cage);
void deadline_after_ms(struct timespec *ts, long ms);
/* pthread_cond_wait, or pthread_cond_timedwait until *deadline (deadline_after_ms) when given. */
static inline int cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *deadline)
{
    return deadline ? pthread_cond_timedwait(c, m, deadline) : pthread_cond_wait(c, m);
}
void start_service_thread(void *(*fn)(void *), int own_fds);
int64_t thread_cpu_ns(const struct lind_thread *th); /* CPU time used by this cage thread */
void cage_unlock(struct lind_cage *cage);

/* threei.c */
int64_t threei_call_grate(struct lind_call *c, struct threei_entry e);
void threei_table_clone(struct lind_cage *child, const struct lind_cage *parent);
struct lind_cage *cage_get(int pid);     /* the live cage with that pid, referenced, or NULL */
struct lind_cage *cage_get_visible(const struct lind_cage *from, int pid); /* ... of from's tree */
void cage_put(struct lind_cage *cage);
void threei_grate_ending(struct lind_cage *grate);
void threei_free_workers(struct lind_cage *grate); /* after threei_grate_ending */
void proc_forget_pool(struct grate_pool *pool);  /* clears every table entry pointing at pool */

/* syscall_table.c (from syscalls.def) */
extern const lind_handler_t lind_handlers[LIND_NCALLS];
const char *lind_call_name(uint64_t nr); /* "?" for a number syscalls.def does not list */
void timer_cancel(struct lind_cage *cage);
/* epoch.c */
int lind_kill(int pid, int sig);

#endif

/* Process identity, scheduling, limits, resource usage, system information, prctl; the clocks and
 * sleeps are sys/sys_time.c.
 * Calls:  base/ (guest_abi, util), kern/ (cage, call, mm, proc, thread), sys/ (syscalls).
 * Called by: sys/ (syscall_table). */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "base/guest_abi.h"
#include "base/util.h"
#include "kern/cage.h"
#include "kern/call.h"
#include "kern/mm.h"
#include "kern/proc.h"
#include "kern/thread.h"
#include "sys/syscalls.h"

int64_t sys_getpid(struct lind_call *c) { return (int64_t)c->cage->id; }
/* the parent in the process table: an orphan is re-parented to its tree's root (or 0) */
int64_t sys_getppid(struct lind_call *c) { return proc_getppid(c->cage); }
int64_t sys_sched_yield(struct lind_call *c) { (void)c; sched_yield(); return 0; }

/* sched_getaffinity(pid, len, mask): the CPUs the host process may run on, where every cage thread
 * runs; for the caller (pid 0) or another live cage. The kernel checks len and returns the size of
 * the mask it wrote, as it does natively. */
int64_t sys_sched_getaffinity(struct lind_call *c)
{
    int pid = arg_int(c, 0);
    uint32_t len = arg_u32(c, 1);
    if (pid < 0)
        return -EINVAL;
    if (pid != 0 && (uint64_t)pid != c->cage->id) {
        struct lind_cage *other = cage_get_visible(c->cage, pid);
        if (!other)
            return -ESRCH;
        cage_put(other);
    }
    void *mask = len ? guest_ptr(c, c->a[2], len) : NULL;
    if (len && !mask)
        return -EFAULT;
    long r = syscall(SYS_sched_getaffinity, 0, len, mask);
    return r < 0 ? -errno : r;
}

/* getcpu(cpu *, node *, unused): the host CPU (and NUMA node) the calling thread runs on. */
int64_t sys_getcpu(struct lind_call *c)
{
    int efault;
    uint32_t *cpu = guest_ptr_or_null(c, c->a[0], 4, &efault);
    if (efault)
        return -EFAULT;
    uint32_t *node = guest_ptr_or_null(c, c->a[1], 4, &efault);
    if (efault)
        return -EFAULT;
    unsigned hc = 0, hn = 0;
    if (syscall(SYS_getcpu, &hc, &hn, NULL) < 0)
        return -errno;
    if (cpu)
        *cpu = hc;
    if (node)
        *node = hn;
    return 0;
}

/* prctl: a thread's name (PR_SET_NAME, PR_GET_NAME: 16 bytes with the NUL, truncated as Linux
 * does); other options are not supported (EINVAL, as Linux answers an unknown option). */
#define L_PR_SET_NAME 15
#define L_PR_GET_NAME 16
int64_t sys_prctl(struct lind_call *c)
{
    char *name = c->th->name;
    switch (arg_int(c, 0)) {
    case L_PR_SET_NAME: {
        char buf[16];
        int r = guest_string(c, c->a[1], buf, sizeof buf);
        if (r == -ENAMETOOLONG) { /* longer names are cut, not refused */
            const char *g = guest_ptr(c, c->a[1], sizeof buf - 1);
            if (!g)
                return -EFAULT;
            memcpy(buf, g, sizeof buf - 1);
            buf[sizeof buf - 1] = 0;
        } else if (r < 0) {
            return r;
        }
        memcpy(name, buf, sizeof buf);
        return 0;
    }
    case L_PR_GET_NAME: {
        char *g = guest_ptr(c, c->a[1], 16);
        if (!g)
            return -EFAULT;
        memcpy(g, name, 16);
        return 0;
    }
    default:
        return -EINVAL;
    }
}

int64_t sys_getrandom(struct lind_call *c)
{
    uint32_t n = arg_u32(c, 1);
    void *g = n ? guest_ptr(c, c->a[0], n) : c->cage->base;
    if (!g)
        return -EFAULT;
    ssize_t r = getrandom(g, n, arg_u32(c, 2));
    return r < 0 ? -errno : r;
}

int64_t sys_uname(struct lind_call *c)
{
    struct utsname *g = guest_ptr(c, c->a[0], sizeof(struct utsname));
    if (!g)
        return -EFAULT;
    if (uname(g) < 0)
        return -errno;
    strcpy(g->machine, "wasm32");
    return 0;
}

static int64_t do_prlimit(struct lind_call *c, int res, uint64_t newp, uint64_t oldp)
{
    int efault;
    if (res < 0 || res >= LIND_NRLIMITS)
        return -EINVAL;
    uint64_t *nv = guest_ptr_or_null(c, newp, 16, &efault);
    if (efault)
        return -EFAULT;
    uint64_t *ov = guest_ptr_or_null(c, oldp, 16, &efault);
    if (efault)
        return -EFAULT;
    uint64_t cur = c->cage->rlim[res].cur, max = c->cage->rlim[res].max;
    if (nv) {
        if (nv[0] > nv[1])
            return -EINVAL;
        if (nv[1] > max)
            return -EPERM; /* the cage's root holds no CAP_SYS_RESOURCE: the embedder's limits stay */
        if (res == RLIMIT_NOFILE && nv[1] > (1u << 20))
            return -EPERM; /* as Linux: beyond fs.nr_open */
    }
    if (ov) {
        ov[0] = cur;
        ov[1] = max;
    }
    if (nv) {
        c->cage->rlim[res].cur = nv[0];
        c->cage->rlim[res].max = nv[1];
        if (res == RLIMIT_AS || res == RLIMIT_DATA) /* never above the embedder's memory limit */
            c->cage->mem_limit = nv[0] < c->cage->mem_cap ? nv[0] : c->cage->mem_cap;
    }
    return 0;
}

int64_t sys_getrlimit(struct lind_call *c) { return do_prlimit(c, arg_int(c, 0), 0, c->a[1]); }
int64_t sys_setrlimit(struct lind_call *c) { return do_prlimit(c, arg_int(c, 0), c->a[1], 0); }
int64_t sys_prlimit64(struct lind_call *c)
{
    int pid = arg_int(c, 0);
    if (pid != 0 && (uint64_t)pid != c->cage->id)
        return -ESRCH;
    return do_prlimit(c, arg_int(c, 1), c->a[2], c->a[3]);
}

/* As on x32, the guest libc converts from the x86-64 kernel's struct sysinfo, which we fill. */
int64_t sys_sysinfo(struct lind_call *c)
{
    struct sysinfo *g = guest_ptr(c, c->a[0], sizeof(struct sysinfo));
    if (!g)
        return -EFAULT;
    return sysinfo(g) < 0 ? -errno : 0;
}

/* getrusage: the x86-64 kernel's struct rusage (18 x int64), which the libc converts. The CPU
 * time (counted as user time) and the peak memory are accounted: of the cage (its threads), of one
 * thread, or of the children it reaped. */
/* The calling cage's CPU time as RUSAGE_SELF counts it: its thread's, plus, asked from the main
 * thread, that of its threads that have ended. */
static uint64_t self_cpu_ns(struct lind_call *c)
{
    uint64_t ns = (uint64_t)thread_cpu_ns(c->th);
    if (c->th == c->cage->main)
        ns += __atomic_load_n(&c->cage->threads_cpu_ns, __ATOMIC_RELAXED);
    return ns;
}

int64_t sys_getrusage(struct lind_call *c)
{
    int who = arg_int(c, 0);
    int64_t *g = guest_ptr(c, c->a[1], 18 * 8);
    if (who != 0 && who != -1 && who != 1)
        return -EINVAL;
    if (!g)
        return -EFAULT;
    memset(g, 0, 18 * 8);
    uint64_t ns, kb;
    if (who == -1) {
        proc_children_usage(c->cage, &ns, &kb);
    } else {
        ns = who == 0 ? self_cpu_ns(c) : (uint64_t)thread_cpu_ns(c->th);
        kb = (c->cage->peak_mem > c->cage->size ? c->cage->peak_mem : c->cage->size) / 1024;
    }
    g[0] = (int64_t)(ns / 1000000000);
    g[1] = (int64_t)(ns % 1000000000) / 1000;
    g[4] = (int64_t)kb; /* ru_maxrss, KiB */
    return 0;
}

/* times(struct tms *): clock ticks (100 per second) of CPU time, as 4 32-bit clock_t (x32's
 * struct tms, docs/abi.md): the cage's threads' user time (user and system time are not told
 * apart: all of it is counted as user time), and that of its waited-for children; returns the
 * ticks of a monotonic clock. */
int64_t sys_times(struct lind_call *c)
{
    int efault;
    int32_t *g = guest_ptr_or_null(c, c->a[0], 16, &efault);
    if (efault)
        return -EFAULT;
    if (g) {
        uint64_t self = self_cpu_ns(c), children, kb;
        proc_children_usage(c->cage, &children, &kb);
        g[0] = (int32_t)(self / 10000000);
        g[1] = 0;
        g[2] = (int32_t)(children / 10000000);
        g[3] = 0;
    }
    return (int64_t)(uint32_t)(monotonic_ns() / 10000000);
}

/* Clocks and sleeps: clock_gettime, clock_getres, gettimeofday, nanosleep, clock_nanosleep. A
 * cage's CPU-time clocks are its own thread's, not the host process's.
 * Calls:  base/ (guest_abi), kern/ (call, mm, thread), sys/ (syscalls).
 * Called by: sys/ (syscall_table). */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "base/guest_abi.h"
#include "kern/call.h"
#include "kern/mm.h"
#include "kern/thread.h"
#include "sys/syscalls.h"

/* A guest timespec that must be a valid duration or time: 0, -EFAULT or -EINVAL. */
static int timespec_read(struct lind_call *c, uint64_t addr, struct timespec *ts)
{
    const uint8_t *g = guest_ptr(c, addr, 16);
    if (!g)
        return -EFAULT;
    guest_timespec(g, ts);
    if (ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000 || ts->tv_sec < 0)
        return -EINVAL;
    return 0;
}

static int timespec_write(struct lind_call *c, uint64_t addr, const struct timespec *ts)
{
    uint8_t *g = guest_ptr(c, addr, 16);
    if (!g)
        return -EFAULT;
    int64_t v[2] = {ts->tv_sec, ts->tv_nsec};
    memcpy(g, v, 16);
    return 0;
}

/* The cage runs on one OS thread: its CPU time is that thread's, not the host process's. */
static clockid_t host_clock(int clk)
{
    if (clk == CLOCK_PROCESS_CPUTIME_ID)
        return CLOCK_THREAD_CPUTIME_ID;
    return clk;
}

static int valid_clock(int clk)
{
    return clk == CLOCK_REALTIME || clk == CLOCK_MONOTONIC || clk == CLOCK_PROCESS_CPUTIME_ID ||
           clk == CLOCK_THREAD_CPUTIME_ID || clk == CLOCK_MONOTONIC_RAW || clk == CLOCK_REALTIME_COARSE ||
           clk == CLOCK_MONOTONIC_COARSE || clk == CLOCK_BOOTTIME;
}

int64_t sys_clock_gettime(struct lind_call *c)
{
    struct timespec ts;
    int clk = arg_int(c, 0);
    if (!valid_clock(clk))
        return -EINVAL;
    if (clk == CLOCK_PROCESS_CPUTIME_ID || clk == CLOCK_THREAD_CPUTIME_ID) {
        /* the cage's own CPU time, not that of earlier cages run by the same OS thread */
        int64_t ns = thread_cpu_ns(c->th);
        ts.tv_sec = ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        return timespec_write(c, c->a[1], &ts);
    }
    if (clock_gettime(host_clock(clk), &ts) < 0)
        return -errno;
    return timespec_write(c, c->a[1], &ts);
}

int64_t sys_clock_getres(struct lind_call *c)
{
    struct timespec ts;
    int clk = arg_int(c, 0);
    if (!valid_clock(clk))
        return -EINVAL;
    if (clock_getres(host_clock(clk), &ts) < 0)
        return -errno;
    return (uint32_t)c->a[1] ? timespec_write(c, c->a[1], &ts) : 0;
}

/* struct timeval is {int64, int64} in the guest, as in the kernel. */
int64_t sys_gettimeofday(struct lind_call *c)
{
    int efault;
    int64_t *tv = guest_ptr_or_null(c, c->a[0], 16, &efault);
    if (efault)
        return -EFAULT;
    if (tv) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        tv[0] = ts.tv_sec;
        tv[1] = ts.tv_nsec / 1000;
    }
    int32_t *tz = guest_ptr_or_null(c, c->a[1], 8, &efault);
    if (efault)
        return -EFAULT;
    if (tz)
        tz[0] = tz[1] = 0;
    return 0;
}

static int64_t do_sleep(struct lind_call *c, int clk, int flags, uint64_t req, uint64_t rem)
{
    struct timespec ts, left;
    int r = timespec_read(c, req, &ts);
    if (r < 0)
        return r;
    r = clock_nanosleep(host_clock(clk), flags, &ts, &left);
    if (r == EINTR && (uint32_t)rem && !(flags & TIMER_ABSTIME))
        timespec_write(c, rem, &left);
    return -r;
}

int64_t sys_nanosleep(struct lind_call *c) { return do_sleep(c, CLOCK_MONOTONIC, 0, c->a[0], c->a[1]); }

int64_t sys_clock_nanosleep(struct lind_call *c)
{
    int clk = arg_int(c, 0);
    if (clk == CLOCK_THREAD_CPUTIME_ID)
        return -EINVAL;
    if (!valid_clock(clk))
        return -EINVAL;
    return do_sleep(c, clk, arg_int(c, 1), c->a[2], c->a[3]);
}

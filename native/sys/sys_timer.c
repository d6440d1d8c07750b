/* sys/sys_timer.c: the timer calls: alarm, setitimer and getitimer (ITIMER_REAL), and the POSIX
 * timers (timer_create & co.); the guest's itimerval, itimerspec and sigevent are read and written
 * here, the timers themselves are kern/timer.c.
 * Calls: base/, kern/.        Called by: sys/syscall_table.c. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include "base/guest_abi.h"
#include "kern/cage.h"
#include "kern/call.h"
#include "kern/mm.h"
#include "kern/signal.h"
#include "kern/timer.h"
#include "sys/syscalls.h"

#define L_SIGALRM 14
#define NS 1000000000ll
#define L_SIGEV_SIGNAL 0
#define L_SIGEV_NONE 1
#define L_SIGEV_THREAD_ID 4
#define L_TIMER_ABSTIME 1

/* struct itimerval as the x86-64 kernel has it: interval sec, usec, value sec, usec (rounded up). */
static void itimerval_out(int64_t *ov, int64_t value, int64_t interval)
{
    ov[0] = interval / NS;
    ov[1] = (interval % NS) / 1000;
    ov[2] = value / NS;
    ov[3] = (value % NS + 999) / 1000;
}

/* struct itimerval as the x86-64 kernel has it: 4 x int64 (interval sec, usec, value sec, usec) */
int64_t sys_setitimer(struct lind_call *c)
{
    int which = arg_int(c, 0), efault;
    if (which != 0)
        return which == 1 || which == 2 ? -ENOSYS : -EINVAL; /* ITIMER_VIRTUAL/PROF: not yet */
    const int64_t *nv = guest_ptr_or_null(c, c->a[1], 32, &efault);
    if (efault)
        return -EFAULT;
    int64_t *ov = guest_ptr_or_null(c, c->a[2], 32, &efault);
    if (efault)
        return -EFAULT;
    int64_t value = 0, interval = 0, oval, oint;
    if (nv) {
        if (nv[1] < 0 || nv[1] >= 1000000 || nv[3] < 0 || nv[3] >= 1000000 || nv[0] < 0 || nv[2] < 0)
            return -EINVAL;
        interval = nv[0] * NS + nv[1] * 1000;
        value = nv[2] * NS + nv[3] * 1000;
    }
    int r = timer_real_set(c->cage, value, interval, &oval, &oint);
    if (r < 0)
        return r;
    if (ov)
        itimerval_out(ov, oval, oint);
    return 0;
}

int64_t sys_getitimer(struct lind_call *c)
{
    int which = arg_int(c, 0);
    if (which != 0)
        return which == 1 || which == 2 ? -ENOSYS : -EINVAL;
    int64_t *ov = guest_ptr(c, c->a[1], 32);
    if (!ov)
        return -EFAULT;
    int64_t val, intv;
    timer_real_get(c->cage, &val, &intv);
    itimerval_out(ov, val, intv);
    return 0;
}

int64_t sys_alarm(struct lind_call *c)
{
    int64_t oval, oint;
    int r = timer_real_set(c->cage, (int64_t)arg_u32(c, 0) * NS, 0, &oval, &oint);
    if (r < 0)
        return r;
    return oval ? (oval + NS / 2) / NS + ((oval + NS / 2) / NS == 0) : 0;
}

/* timer_create(clock, struct sigevent *, int *id): sigevent is {u32 value, int signo, int notify,
 * int tid} (docs/abi.md); CLOCK_REALTIME, CLOCK_MONOTONIC and CLOCK_BOOTTIME (the CPU-time clocks:
 * EINVAL, not supported); no sigevent: SIGALRM with the timer's id as value. */
int64_t sys_timer_create(struct lind_call *c)
{
    struct lind_cage *cage = c->cage;
    int clock = arg_int(c, 0), efault;
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME)
        return -EINVAL;
    const int32_t *sev = guest_ptr_or_null(c, c->a[1], 16, &efault);
    if (efault)
        return -EFAULT;
    int32_t *idp = guest_ptr(c, c->a[2], 4);
    if (!idp)
        return -EFAULT;
    int signo = L_SIGALRM, tid = 0, notify = sev ? sev[2] : L_SIGEV_SIGNAL;
    uint32_t value = 0;
    if (sev) {
        value = (uint32_t)sev[0];
        signo = sev[1];
        if (notify == L_SIGEV_NONE)
            signo = 0;
        else if (notify != L_SIGEV_SIGNAL && notify != L_SIGEV_THREAD_ID)
            return -EINVAL;
        else if (signo < 1 || signo > 64)
            return -EINVAL;
        if (notify == L_SIGEV_THREAD_ID && (sev[3] <= 0 || !cage_has_thread(cage, sev[3])))
            return -EINVAL;
        if (notify == L_SIGEV_THREAD_ID)
            tid = sev[3];
    }
    int id = timer_posix_create(cage, clock, signo, tid, value, sev != NULL);
    if (id < 0)
        return id;
    *idp = id;
    return 0;
}

/* struct itimerspec in the guest: interval then value, each {int64 sec, int32 nsec, pad} */
static int itimerspec_in(const uint8_t *g, int64_t *interval, int64_t *value)
{
    struct timespec i, v;
    guest_timespec(g, &i);
    guest_timespec(g + 16, &v);
    if (i.tv_sec < 0 || i.tv_nsec < 0 || i.tv_nsec >= NS || v.tv_sec < 0 || v.tv_nsec < 0 || v.tv_nsec >= NS)
        return -EINVAL;
    *interval = (i.tv_sec > INT32_MAX ? INT32_MAX : i.tv_sec) * NS + i.tv_nsec;
    *value = (v.tv_sec > INT32_MAX ? INT32_MAX : v.tv_sec) * NS + v.tv_nsec;
    return 0;
}

static void itimerspec_out(uint8_t *g, int64_t value, int64_t interval)
{
    int64_t f[4] = {interval / NS, interval % NS, value / NS, value % NS};
    memset(g, 0, 32);
    memcpy(g, &f[0], 8);
    memcpy(g + 8, &(int32_t){(int32_t)f[1]}, 4);
    memcpy(g + 16, &f[2], 8);
    memcpy(g + 24, &(int32_t){(int32_t)f[3]}, 4);
}

/* timer_settime(id, flags, new, old) */
int64_t sys_timer_settime(struct lind_call *c)
{
    int flags = arg_int(c, 1), efault;
    const uint8_t *nv = guest_ptr(c, c->a[2], 32);
    if (!nv)
        return -EFAULT;
    uint8_t *ov = guest_ptr_or_null(c, c->a[3], 32, &efault);
    if (efault)
        return -EFAULT;
    int64_t interval, value;
    if (itimerspec_in(nv, &interval, &value) < 0 || (flags & ~L_TIMER_ABSTIME))
        return -EINVAL;
    int64_t oval, oint;
    int r = timer_posix_settime(c->cage, (int64_t)c->a[0], flags, value, interval, &oval, &oint);
    if (r < 0)
        return r;
    if (ov)
        itimerspec_out(ov, oval, oint);
    return 0;
}

int64_t sys_timer_gettime(struct lind_call *c)
{
    uint8_t *g = guest_ptr(c, c->a[1], 32);
    if (!g)
        return -EFAULT;
    int64_t value = 0, interval = 0;
    int r = timer_posix_gettime(c->cage, (int64_t)c->a[0], &value, &interval);
    if (r < 0)
        return r;
    itimerspec_out(g, value, interval);
    return 0;
}

int64_t sys_timer_getoverrun(struct lind_call *c) { return timer_posix_getoverrun(c->cage, (int64_t)c->a[0]); }

int64_t sys_timer_delete(struct lind_call *c) { return timer_posix_delete(c->cage, (int64_t)c->a[0]); }

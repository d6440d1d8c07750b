/* I/O multiplexing: poll, ppoll, select, pselect6, epoll, and eventfd/timerfd.
 *
 * poll and select translate cage fds to host fds and wait with the host's ppoll. epoll instances
 * are host epoll instances watching host fds; the 64-bit data of an event is the guest's and passes
 * through, and the guest's packed 12-byte struct epoll_event is the x86-64 kernel's, so events are
 * written straight into guest memory.
 *
 * A blocking wait ends with EINTR when a signal for the cage arrives: signal.c kicks the cage's OS
 * thread with a host signal. To close the window between checking for a pending signal and
 * entering the host wait, the kick signal is blocked while we check and unblocked atomically by the
 * host call (ppoll/epoll_pwait with a signal mask). A kick for a signal the cage blocks resumes the
 * wait with the time left. Like Linux, these calls are never restarted after a handler.
 * Calls:  base/ (util), kern/, sys/ (net, syscalls).  Called by: sys/ (syscall_table). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "kern/cage.h"
#include "kern/call.h"
#include "kern/fdtable.h"
#include "kern/mm.h"
#include "kern/signal.h"
#include "kern/thread.h"
#include "kern/upcalls.h"
#include "sys/net.h"
#include "sys/syscalls.h"

#define NS 1000000000ll
#define POLL_STACK 64
#define FDSET_BITS 1024
/* marks a pollfd whose host fd is our dup (net_hold_fd): a bit poll neither reports nor uses */
#define DUP_MARK ((short)0x8000)


/* A guest timespec/timeval (two int64s) -> ns; -EINVAL if out of range. unit: 1 (ns) or 1000 (us) */
static int64_t guest_time_ns(const uint8_t *g, int64_t unit)
{
    int64_t sec, frac;
    memcpy(&sec, g, 8);
    memcpy(&frac, g + 8, 8);
    if (sec < 0 || frac < 0 || frac >= NS / unit)
        return -EINVAL;
    if (sec > INT64_MAX / NS - 1)
        return INT64_MAX;
    return sec * NS + frac * unit;
}

/* An optional timeout argument (argument i, a guest timespec or timeval of `unit`): *ns is -1
 * without one (wait forever), *g points at it (for writing back what is left). 0 or -errno. */
static int opt_timeout(struct lind_call *c, int i, int64_t unit, uint8_t **g, int64_t *ns)
{
    *ns = -1;
    *g = NULL;
    if (!arg_u32(c, i))
        return 0;
    *g = guest_ptr(c, c->a[i], 16);
    if (!*g)
        return -EFAULT;
    *ns = guest_time_ns(*g, unit);
    return *ns < 0 ? (int)*ns : 0;
}

static void put_guest_time(uint8_t *g, int64_t ns, int64_t unit)
{
    int64_t sec = ns / NS, frac = (ns % NS) / unit;
    memcpy(g, &sec, 8);
    memcpy(g + 8, &frac, 8);
}

/* The wait: timeout_ns < 0 waits forever. Returns the host result or -errno (-EINTR when a signal
 * for the cage arrived). epfd >= 0: epoll_pwait on it into events/maxev, else ppoll on pfds. */
struct waiter {
    struct pollfd *pfds;
    nfds_t n;
    int epfd;
    struct epoll_event *events;
    int maxev;
};

static int do_wait(struct lind_thread *th, struct waiter *w, int64_t timeout_ns)
{
    int64_t deadline = timeout_ns > 0 ? monotonic_ns() + timeout_ns : 0;
    sigset_t kick, old, during;
    sigemptyset(&kick);
    sigaddset(&kick, KICK_SIGNAL);
    for (;;) {
        int blocking = timeout_ns != 0;
        if (blocking) {
            pthread_sigmask(SIG_BLOCK, &kick, &old);
            if (thread_interrupted(th)) {
                pthread_sigmask(SIG_SETMASK, &old, NULL);
                return -EINTR;
            }
            during = old;
            sigdelset(&during, KICK_SIGNAL);
        }
        int64_t left = timeout_ns;
        if (timeout_ns > 0) {
            left = deadline - monotonic_ns();
            if (left < 0)
                left = 0;
        }
        int r, e;
        if (w->epfd >= 0) {
            int ms = left < 0 ? -1 : (int)((left + 999999) / 1000000 > 0x7fffffff ? 0x7fffffff : (left + 999999) / 1000000);
            r = epoll_pwait(w->epfd, w->events, w->maxev, ms, blocking ? &during : NULL);
        } else {
            struct timespec ts = {left / NS, left % NS};
            r = ppoll(w->pfds, w->n, left < 0 ? NULL : &ts, blocking ? &during : NULL);
        }
        e = errno;
        if (blocking)
            pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r >= 0)
            return r;
        if (e != EINTR)
            return -e;
        if (thread_interrupted(th))
            return -EINTR;
        /* a kick for a signal the cage blocks, or a host signal: wait on */
    }
}

/* Applies a guest sigmask (ppoll, pselect6, epoll_pwait) for the wait; see finish_masked. */
static int mask_begin(struct lind_call *c, uint32_t maskaddr, uint32_t size, uint64_t *saved, int *masked)
{
    *masked = 0;
    if (!maskaddr)
        return 0;
    if (size != 8)
        return -EINVAL;
    const uint8_t *g = guest_ptr(c, maskaddr, 8);
    if (!g)
        return -EFAULT;
    uint64_t m;
    memcpy(&m, g, 8);
    *saved = c->th->sig_mask;
    c->th->sig_mask = m & ~((1ull << 8) | (1ull << 18)); /* SIGKILL, SIGSTOP */
    *masked = 1;
    return 0;
}

/* After the wait. On EINTR the handlers run now, with the temporary mask still in force (as Linux
 * runs them before the mask is restored), so that no SA_RESTART restarts the call. Guest memory
 * must not be touched after this (a handler may have grown it). */
static int64_t mask_end(struct lind_call *c, int64_t ret, uint64_t saved, int masked)
{
    if (ret == -EINTR && c->th->in_handler <= 8)
        upcalls.signals_after_call(c);
    if (masked)
        c->th->sig_mask = saved;
    return ret;
}

/* ---- poll ---- */

static int64_t do_poll(struct lind_call *c, uint32_t fdsaddr, uint32_t nfds, int64_t timeout_ns, uint8_t *tsout,
                       uint32_t maskaddr, uint32_t masksize)
{
    struct lind_cage *cage = c->cage;
    if ((uint64_t)nfds > cage->rlim[7].cur || nfds > 1u << 20)
        return -EINVAL;
    uint8_t *g = nfds ? guest_ptr(c, fdsaddr, (uint64_t)nfds * 8) : NULL;
    if (nfds && !g)
        return -EFAULT;
    uint64_t saved = 0;
    int masked;
    int r = mask_begin(c, maskaddr, masksize, &saved, &masked);
    if (r < 0)
        return r;
    struct pollfd stack[POLL_STACK], *p = stack;
    if (nfds > POLL_STACK) {
        p = malloc(sizeof *p * nfds);
        if (!p) {
            if (masked)
                c->th->sig_mask = saved;
            return -ENOMEM;
        }
    }
    int nval = 0;
    for (uint32_t i = 0; i < nfds; i++) {
        int fd;
        short ev;
        memcpy(&fd, g + 8 * i, 4);
        memcpy(&ev, g + 8 * i + 4, 2);
        p[i].fd = -1;
        p[i].events = (short)(ev & ~DUP_MARK);
        p[i].revents = 0;
        if (fd < 0)
            continue;
        int dup;
        int h = net_hold_fd(c, fd, &dup);
        if (h < 0) {
            p[i].revents = POLLNVAL;
            nval++;
        } else {
            p[i].fd = h;
            if (dup)
                p[i].events |= DUP_MARK;
        }
    }
    int64_t start = monotonic_ns();
    struct waiter w = {.pfds = p, .n = nfds, .epfd = -1};
    int64_t ret = do_wait(c->th, &w, nval ? 0 : timeout_ns);
    if (ret >= 0) {
        ret = 0;
        for (uint32_t i = 0; i < nfds; i++) {
            int fd;
            memcpy(&fd, g + 8 * i, 4);
            short rev = fd >= 0 && p[i].fd < 0 ? POLLNVAL : (short)(p[i].revents & ~DUP_MARK);
            memcpy(g + 8 * i + 6, &rev, 2);
            if (rev)
                ret++;
        }
    }
    if (tsout && timeout_ns > 0) {
        int64_t left = timeout_ns - (monotonic_ns() - start);
        put_guest_time(tsout, left > 0 ? left : 0, 1);
    }
    for (uint32_t i = 0; i < nfds; i++)
        if (p[i].fd >= 0 && (p[i].events & DUP_MARK))
            close(p[i].fd);
    if (p != stack)
        free(p);
    return mask_end(c, ret, saved, masked);
}

int64_t sys_poll(struct lind_call *c)
{
    int t = arg_int(c, 2);
    return do_poll(c, arg_u32(c, 0), arg_u32(c, 1), t < 0 ? -1 : (int64_t)t * 1000000, NULL, 0, 0);
}

/* ppoll(fds, nfds, const struct timespec *tmo, const sigset_t *mask, size_t sigsetsize) */
int64_t sys_ppoll(struct lind_call *c)
{
    int64_t t;
    uint8_t *ts;
    int r = opt_timeout(c, 2, 1, &ts, &t);
    if (r < 0)
        return r;
    return do_poll(c, arg_u32(c, 0), arg_u32(c, 1), t, ts, arg_u32(c, 3), arg_u32(c, 4));
}

/* ---- select ---- */

#define SEL_IN (POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR)
#define SEL_OUT (POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR)
#define SEL_EX (POLLPRI)

static void close_dups(struct pollfd *p, int n)
{
    for (int i = 0; i < n; i++)
        if (p[i].events & DUP_MARK) {
            close(p[i].fd);
            p[i].events = (short)(p[i].events & ~DUP_MARK);
        }
}

static int64_t do_select(struct lind_call *c, int n, uint32_t in_a, uint32_t out_a, uint32_t ex_a, int64_t timeout_ns,
                         uint8_t *tout, int64_t unit, uint32_t maskaddr, uint32_t masksize)
{
    if (n < 0)
        return -EINVAL;
    if (n > FDSET_BITS)
        n = FDSET_BITS;
    uint32_t bytes = (uint32_t)((n + 31) / 32 * 4); /* the guest's fd_set is an array of 32-bit longs */
    uint8_t *sets[3] = {NULL, NULL, NULL};
    uint32_t addrs[3] = {in_a, out_a, ex_a};
    uint8_t copy[3][FDSET_BITS / 8];
    for (int k = 0; k < 3; k++) {
        memset(copy[k], 0, sizeof copy[k]);
        if (!addrs[k] || !bytes)
            continue;
        sets[k] = guest_ptr(c, addrs[k], bytes);
        if (!sets[k])
            return -EFAULT;
        memcpy(copy[k], sets[k], bytes);
    }
    struct pollfd p[FDSET_BITS];
    int idx[FDSET_BITS];
    int np = 0;
    for (int fd = 0; fd < n; fd++) {
        short ev = 0;
        int bit = 1 << (fd & 7);
        if (copy[0][fd >> 3] & bit)
            ev |= SEL_IN;
        if (copy[1][fd >> 3] & bit)
            ev |= SEL_OUT;
        if (copy[2][fd >> 3] & bit)
            ev |= SEL_EX;
        if (!ev)
            continue;
        int dup;
        int h = net_hold_fd(c, fd, &dup);
        if (h < 0) {
            close_dups(p, np);
            return -EBADF;
        }
        p[np].fd = h;
        p[np].events = (short)(ev | (dup ? DUP_MARK : 0));
        p[np].revents = 0;
        idx[np++] = fd;
    }
    uint64_t saved = 0;
    int masked;
    int r = mask_begin(c, maskaddr, masksize, &saved, &masked);
    if (r < 0) {
        close_dups(p, np);
        return r;
    }
    int64_t start = monotonic_ns();
    struct waiter w = {.pfds = p, .n = (nfds_t)np, .epfd = -1};
    int64_t ret = do_wait(c->th, &w, timeout_ns);
    if (ret >= 0) {
        uint8_t res[3][FDSET_BITS / 8];
        memset(res, 0, sizeof res);
        ret = 0;
        for (int i = 0; i < np; i++) {
            int fd = idx[i], bit = 1 << (fd & 7);
            short rev = p[i].revents;
            if (rev & POLLNVAL)
                continue;
            if ((copy[0][fd >> 3] & bit) && (rev & SEL_IN)) {
                res[0][fd >> 3] |= (uint8_t)bit;
                ret++;
            }
            if ((copy[1][fd >> 3] & bit) && (rev & SEL_OUT)) {
                res[1][fd >> 3] |= (uint8_t)bit;
                ret++;
            }
            if ((copy[2][fd >> 3] & bit) && (rev & SEL_EX)) {
                res[2][fd >> 3] |= (uint8_t)bit;
                ret++;
            }
        }
        for (int k = 0; k < 3; k++)
            if (sets[k])
                memcpy(sets[k], res[k], bytes);
    }
    close_dups(p, np);
    if (tout && timeout_ns > 0) {
        int64_t left = timeout_ns - (monotonic_ns() - start);
        put_guest_time(tout, left > 0 ? left : 0, unit);
    }
    return mask_end(c, ret, saved, masked);
}

/* select(n, in, out, ex, struct timeval *) with the kernel's 16-byte timeval */
int64_t sys_select(struct lind_call *c)
{
    int64_t t;
    uint8_t *tv;
    int r = opt_timeout(c, 4, 1000, &tv, &t);
    if (r < 0)
        return r;
    return do_select(c, arg_int(c, 0), arg_u32(c, 1), arg_u32(c, 2), arg_u32(c, 3), t, tv, 1000, 0, 0);
}

/* pselect6(n, in, out, ex, struct timespec *, {u64 sigmask ptr, u64 size} *) */
int64_t sys_pselect6(struct lind_call *c)
{
    int64_t t;
    uint8_t *ts;
    uint32_t maskaddr = 0, masksize = 0;
    int r = opt_timeout(c, 4, 1, &ts, &t);
    if (r < 0)
        return r;
    if (arg_u32(c, 5)) {
        const uint8_t *d = guest_ptr(c, c->a[5], 16);
        if (!d)
            return -EFAULT;
        uint64_t mp, sz;
        memcpy(&mp, d, 8);
        memcpy(&sz, d + 8, 8);
        if (mp > UINT32_MAX)
            return -EFAULT;
        maskaddr = (uint32_t)mp;
        masksize = sz > UINT32_MAX ? UINT32_MAX : (uint32_t)sz;
    }
    return do_select(c, arg_int(c, 0), arg_u32(c, 1), arg_u32(c, 2), arg_u32(c, 3), t, ts, 1, maskaddr, masksize);
}

/* ---- epoll ---- */

static int64_t new_epoll(struct lind_call *c, int cloexec)
{
    int h = epoll_create1(EPOLL_CLOEXEC);
    if (h < 0)
        return -errno;
    return fd_install(c->cage, h, cloexec, 0);
}

int64_t sys_epoll_create(struct lind_call *c)
{
    if (arg_int(c, 0) <= 0)
        return -EINVAL;
    return new_epoll(c, 0);
}

int64_t sys_epoll_create1(struct lind_call *c)
{
    int flags = arg_int(c, 0);
    if (flags & ~EPOLL_CLOEXEC)
        return -EINVAL;
    return new_epoll(c, !!(flags & EPOLL_CLOEXEC));
}

int64_t sys_epoll_ctl(struct lind_call *c)
{
    int ep = fd_host(c, arg_int(c, 0));
    if (ep < 0)
        return ep;
    int op = arg_int(c, 1);
    int h = fd_host(c, arg_int(c, 2));
    if (h < 0)
        return h;
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    if (op != EPOLL_CTL_DEL || arg_u32(c, 3)) {
        const void *g = guest_ptr(c, c->a[3], sizeof ev);
        if (!g)
            return -EFAULT;
        memcpy(&ev, g, sizeof ev); /* packed, 12 bytes, like the guest's */
    }
    return epoll_ctl(ep, op, h, &ev) < 0 ? -errno : 0;
}

static int64_t do_epoll_wait(struct lind_call *c, int64_t timeout_ns, uint32_t maskaddr, uint32_t masksize)
{
    int ep = fd_host(c, arg_int(c, 0));
    if (ep < 0)
        return ep;
    int maxev = arg_int(c, 2);
    if (maxev <= 0 || maxev > (int)(0x7fffffff / sizeof(struct epoll_event)))
        return -EINVAL;
    struct epoll_event *g = guest_ptr(c, c->a[1], (uint64_t)maxev * sizeof(struct epoll_event));
    if (!g)
        return -EFAULT;
    uint64_t saved = 0;
    int masked;
    int r = mask_begin(c, maskaddr, masksize, &saved, &masked);
    if (r < 0)
        return r;
    struct waiter w = {.epfd = ep, .events = g, .maxev = maxev};
    int64_t ret = do_wait(c->th, &w, timeout_ns);
    return mask_end(c, ret, saved, masked);
}

static int64_t ms_to_ns(int ms) { return ms < 0 ? -1 : (int64_t)ms * 1000000; }

int64_t sys_epoll_wait(struct lind_call *c) { return do_epoll_wait(c, ms_to_ns(arg_int(c, 3)), 0, 0); }

int64_t sys_epoll_pwait(struct lind_call *c)
{
    return do_epoll_wait(c, ms_to_ns(arg_int(c, 3)), arg_u32(c, 4), arg_u32(c, 5));
}

/* epoll_pwait2(epfd, events, maxevents, const struct timespec *, sigmask, sigsetsize) */
int64_t sys_epoll_pwait2(struct lind_call *c)
{
    int64_t t;
    uint8_t *ts;
    int r = opt_timeout(c, 3, 1, &ts, &t);
    if (r < 0)
        return r;
    return do_epoll_wait(c, t, arg_u32(c, 4), arg_u32(c, 5));
}

/* ---- eventfd, timerfd ---- */

static int64_t do_eventfd(struct lind_call *c, unsigned initval, int flags)
{
    if (flags & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE))
        return -EINVAL;
    int h = eventfd(initval, flags | EFD_CLOEXEC);
    if (h < 0)
        return -errno;
    return fd_install(c->cage, h, !!(flags & EFD_CLOEXEC), 0);
}

int64_t sys_eventfd(struct lind_call *c) { return do_eventfd(c, arg_u32(c, 0), 0); }
int64_t sys_eventfd2(struct lind_call *c) { return do_eventfd(c, arg_u32(c, 0), arg_int(c, 1)); }

int64_t sys_timerfd_create(struct lind_call *c)
{
    int clock = arg_int(c, 0), flags = arg_int(c, 1);
    if (flags & ~(TFD_CLOEXEC | TFD_NONBLOCK))
        return -EINVAL;
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME)
        return -EINVAL;
    int h = timerfd_create(clock, flags | TFD_CLOEXEC);
    if (h < 0)
        return -errno;
    return fd_install(c->cage, h, !!(flags & TFD_CLOEXEC), 0);
}

/* struct itimerspec is two 16-byte timespecs in the guest, as in the kernel */
int64_t sys_timerfd_settime(struct lind_call *c)
{
    int h = fd_host(c, arg_int(c, 0));
    if (h < 0)
        return h;
    int flags = arg_int(c, 1), efault;
    const void *nv = guest_ptr(c, c->a[2], sizeof(struct itimerspec));
    if (!nv)
        return -EFAULT;
    void *ov = guest_ptr_or_null(c, c->a[3], sizeof(struct itimerspec), &efault);
    if (efault)
        return -EFAULT;
    struct itimerspec n, o;
    memcpy(&n, nv, sizeof n);
    if (timerfd_settime(h, flags, &n, &o) < 0)
        return -errno;
    if (ov)
        memcpy(ov, &o, sizeof o);
    return 0;
}

int64_t sys_timerfd_gettime(struct lind_call *c)
{
    int h = fd_host(c, arg_int(c, 0));
    if (h < 0)
        return h;
    void *g = guest_ptr(c, c->a[1], sizeof(struct itimerspec));
    if (!g)
        return -EFAULT;
    struct itimerspec cur;
    if (timerfd_gettime(h, &cur) < 0)
        return -errno;
    memcpy(g, &cur, sizeof cur);
    return 0;
}

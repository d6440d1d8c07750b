/* Random system calls with hostile arguments; the host must survive all of them. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <lind_syscall.h>

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }
static char buf[8192];

static uint64_t arg(void)
{
    switch (next() % 10) {
    case 0: return 0;
    case 1: return (uint64_t)(uintptr_t)buf;               /* valid memory */
    case 2: return (uint64_t)(uintptr_t)buf + sizeof buf - 1;
    case 3: return 0xfffffff0u;                            /* past the end of memory */
    case 4: return next();                                 /* anything, 64 bits */
    case 5: return (uint32_t)next();
    case 6: return next() % 64;                            /* small ints, fds */
    case 7: return (uint64_t)-1;
    case 8: return 4096;
    default: return (uint64_t)(uintptr_t)"/tmp/fuzz-file"; /* a path */
    }
}

static int forbidden(unsigned nr)
{
    switch (nr) {
    case 56: case 57: case 58: case 59: case 322:  /* fork/clone/exec */
    case 60: case 231:                             /* exit */
    case 62: case 200: case 234: case 129: case 297: /* kill & co (could hit the whole group) */
    case 34: case 130: case 35: case 230:          /* pause, sigsuspend, sleeps */
    case 0: case 17: case 19: case 295:            /* reads (stdin would block) */
    case 7: case 23: case 270: case 271: case 232: case 281: /* poll/select/epoll waits */
    case 61: case 247:                             /* waits */
    case 202:                                      /* futex wait */
    case 43: case 288: case 45: case 47: case 299: /* accept/recv */
    case 1021:                                     /* longjmp */
    case 13: case 14:                              /* dispositions/masks: a random handler would trap */
    case 37: case 38: case 222: case 223:          /* alarms and timers would kill us */
    case 101:                                      /* ptrace */
    /* calls that can block a lone process for ever (natively too): a signal wait without timeout,
     * a lock held by another of its own open files, reads of what nobody writes */
    case 128: case 73: case 327: case 441: case 449: /* sigtimedwait, flock, preadv2, epoll_pwait2, futex_waitv */
    case 65: case 70: case 220: case 243:          /* semop, msgrcv, semtimedop, mq_timedreceive */
    case 133: case 259:                            /* mknod: a FIFO, which a later open waits on */
        return 1;
    }
    return 0;
}

/* fcntl's waiting lock requests (F_SETLKW, F_OFD_SETLKW): an OFD lock of another of its own open
 * files blocks for ever */
static int waits(unsigned nr, uint64_t a1)
{
    return nr == 72 && ((uint32_t)a1 == 7 || (uint32_t)a1 == 38);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    rng ^= argc > 2 ? (uint64_t)atoll(argv[2]) : 0;
    signal(SIGPIPE, SIG_IGN);
    long done = 0;
    for (long i = 0; i < n; i++) {
        unsigned nr = next() % 2 ? next() % 460 : 1000 + next() % 40;
        if (forbidden(nr))
            continue;
        uint64_t a[6];
        for (int k = 0; k < 6; k++) a[k] = arg();
        if (waits(nr, a[1]))
            continue;
        __lind_syscall(nr, 0, 0, a[0], next() % 4 ? 0 : next(), a[1], 0, a[2], 0, a[3], 0, a[4], 0, a[5], 0);
        done++;
    }
    (void)done;
    return 42; /* stdout may have been closed by the calls themselves */
}

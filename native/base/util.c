/* base/util.c: deadlines and the microvisor's service threads.
 * Calls: libc only.        Called by: every folder. */
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/util.h"

/* CLOCK_REALTIME ms from now, for pthread_cond_timedwait. */
void deadline_after_ms(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

struct service_start {
    void *(*fn)(void *);
    int own_fds;
};

static void *service_main(void *arg)
{
    struct service_start s = *(struct service_start *)arg;
    free(arg);
    if (s.own_fds && unshare(CLONE_FILES) == 0)
        close_range(0, ~0U, 0); /* its copy would keep files open that the cages close */
    return s.fn(NULL);
}

/* A detached host thread with a small stack, for the microvisor's own services (epoch ticker,
 * timers, capture hub). With own_fds (a service that never touches a host fd), the thread gets an
 * empty fd table of its own: the kernel then takes its cheap path for every fd a cage uses (no
 * reference counting per call) while the cage's thread is the only one sharing the table. */
void start_service_thread(void *(*fn)(void *), int own_fds)
{
    struct service_start *s = malloc(sizeof *s);
    if (!s)
        return;
    s->fn = fn;
    s->own_fds = own_fds;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    if (pthread_create(&t, &attr, service_main, s) != 0)
        free(s);
    pthread_attr_destroy(&attr);
}

/* base/util.h: small helpers every layer uses: clocks and deadlines, waits with a deadline, and the
 * microvisor's own service threads (epoch ticker, timers, capture hub).
 * Calls: libc only.        Called by: every folder. */
#ifndef LIND_BASE_UTIL_H
#define LIND_BASE_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

/* A relaxed read of a flag other threads set (an _Atomic field), where a stale value is harmless:
 * a fast path whose slow path takes the locks. */
#define RELAXED(x) atomic_load_explicit(&(x), memory_order_relaxed)

/* CLOCK_MONOTONIC in nanoseconds (deadlines of timers, waits, wall-time limits). */
static inline int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CLOCK_REALTIME ms from now, for pthread_cond_timedwait. */
void deadline_after_ms(struct timespec *ts, long ms);

/* pthread_cond_wait, or pthread_cond_timedwait until *deadline (deadline_after_ms) when given. */
static inline int cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *deadline)
{
    return deadline ? pthread_cond_timedwait(c, m, deadline) : pthread_cond_wait(c, m);
}

/* A detached host thread with a small stack running fn(NULL); own_fds: with an empty fd table. */
void start_service_thread(void *(*fn)(void *), int own_fds);

#endif

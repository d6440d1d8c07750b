/* ITIMER_REAL (alarm, setitimer, getitimer): one timer thread for all cages. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lind.h"

#define L_SIGALRM 14
#define NS 1000000000ll

struct timer {
    struct lind_cage *cage;
    int64_t deadline; /* CLOCK_MONOTONIC ns */
    int64_t interval; /* ns, 0: one shot */
    struct timer *next;
};

static pthread_mutex_t timer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timer_cond;
static pthread_once_t timer_once = PTHREAD_ONCE_INIT;
static struct timer *timers;


static void *timer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&timer_lock);
    for (;;) {
        int64_t now = monotonic_ns(), next = INT64_MAX;
        for (struct timer **pp = &timers; *pp;) {
            struct timer *t = *pp;
            if (t->deadline <= now) {
                cage_post_signal(t->cage, L_SIGALRM);
                if (t->interval) {
                    while (t->deadline <= now)
                        t->deadline += t->interval;
                } else {
                    *pp = t->next;
                    free(t);
                    continue;
                }
            }
            if (t->deadline < next)
                next = t->deadline;
            pp = &t->next;
        }
        if (next == INT64_MAX) {
            pthread_cond_wait(&timer_cond, &timer_lock);
        } else {
            struct timespec ts = {next / NS, next % NS};
            pthread_cond_timedwait(&timer_cond, &timer_lock, &ts);
        }
    }
    return NULL;
}

static void timer_start(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&timer_cond, &ca);
    start_service_thread(timer_main, 1);
}

/* What is left of timer t (value 0: disarmed; a due timer not yet fired reads 1 ns, not 0). */
static void timer_left(const struct timer *t, int64_t now, int64_t *value, int64_t *interval)
{
    *value = t ? (t->deadline > now ? t->deadline - now : 1) : 0;
    *interval = t ? t->interval : 0;
}

/* struct itimerval as the x86-64 kernel has it: interval sec, usec, value sec, usec (rounded up). */
static void itimerval_out(int64_t *ov, int64_t value, int64_t interval)
{
    ov[0] = interval / NS;
    ov[1] = (interval % NS) / 1000;
    ov[2] = value / NS;
    ov[3] = (value % NS + 999) / 1000;
}

static struct timer **find_locked(struct lind_cage *cage)
{
    struct timer **pp = &timers;
    while (*pp && (*pp)->cage != cage)
        pp = &(*pp)->next;
    return pp;
}

/* Replaces the cage's timer; old (value, interval) in ns, value 0 when disarmed. */
static int timer_set(struct lind_cage *cage, int64_t value, int64_t interval, int64_t *old_value, int64_t *old_interval)
{
    pthread_once(&timer_once, timer_start);
    pthread_mutex_lock(&timer_lock);
    struct timer **pp = find_locked(cage), *t = *pp;
    int64_t now = monotonic_ns();
    if (old_value)
        timer_left(t, now, old_value, old_interval);
    if (value > 0) {
        if (!t) {
            t = calloc(1, sizeof *t);
            if (!t) {
                pthread_mutex_unlock(&timer_lock);
                return -ENOMEM;
            }
            t->cage = cage;
            t->next = timers;
            timers = t;
        }
        t->deadline = now + value;
        t->interval = interval;
    } else if (t) {
        *pp = t->next;
        free(t);
    }
    pthread_cond_signal(&timer_cond);
    pthread_mutex_unlock(&timer_lock);
    return 0;
}

void timer_cancel(struct lind_cage *cage)
{
    pthread_mutex_lock(&timer_lock);
    struct timer **pp = find_locked(cage), *t = *pp;
    if (t) {
        *pp = t->next;
        free(t);
    }
    pthread_mutex_unlock(&timer_lock);
}

/* struct itimerval as the x86-64 kernel has it: 4 x int64 (interval sec, usec, value sec, usec) */
static int64_t sys_setitimer(struct lind_call *c)
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
    int r = timer_set(c->cage, value, interval, &oval, &oint);
    if (r < 0)
        return r;
    if (ov)
        itimerval_out(ov, oval, oint);
    return 0;
}

static int64_t sys_getitimer(struct lind_call *c)
{
    int which = arg_int(c, 0);
    if (which != 0)
        return which == 1 || which == 2 ? -ENOSYS : -EINVAL;
    int64_t *ov = guest_ptr(c, c->a[1], 32);
    if (!ov)
        return -EFAULT;
    pthread_mutex_lock(&timer_lock);
    struct timer *t = *find_locked(c->cage);
    int64_t val, intv;
    timer_left(t, monotonic_ns(), &val, &intv);
    pthread_mutex_unlock(&timer_lock);
    itimerval_out(ov, val, intv);
    return 0;
}

static int64_t sys_alarm(struct lind_call *c)
{
    int64_t oval, oint;
    int r = timer_set(c->cage, (int64_t)arg_u32(c, 0) * NS, 0, &oval, &oint);
    if (r < 0)
        return r;
    return oval ? (oval + NS / 2) / NS + ((oval + NS / 2) / NS == 0) : 0;
}

void register_handlers_timer(void)
{
    lind_handlers[38] = sys_setitimer;
    lind_handlers[36] = sys_getitimer;
    lind_handlers[37] = sys_alarm;
}

/* Timers: ITIMER_REAL (alarm, setitimer, getitimer) and POSIX timers (timer_create & co.), one
 * timer thread for all cages. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lind.h"

#define L_SIGALRM 14
#define NS 1000000000ll
#define L_SIGEV_SIGNAL 0
#define L_SIGEV_NONE 1
#define L_SIGEV_THREAD_ID 4
#define L_TIMER_ABSTIME 1
#define MAX_TIMERS 256 /* POSIX timers per cage (then EAGAIN) */

struct timer {
    struct lind_cage *cage;
    int id;            /* -1: the cage's ITIMER_REAL; >= 0: a POSIX timer */
    int clock;         /* POSIX timers: CLOCK_REALTIME or CLOCK_MONOTONIC (for absolute times) */
    int signo;         /* POSIX timers: the signal it sends, 0 for none (SIGEV_NONE) */
    int tid;           /* SIGEV_THREAD_ID: the thread it goes to; 0: the cage */
    uint32_t value;    /* sigev_value, in the siginfo */
    int overrun;       /* expirations not signalled since its last signal was taken */
    int last_overrun;  /* timer_getoverrun: the overrun of the signal taken last */
    int64_t deadline;  /* CLOCK_MONOTONIC ns; 0: disarmed (a POSIX timer stays listed) */
    int64_t interval;  /* ns, 0: one shot */
    struct timer *next;
};

static pthread_mutex_t timer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timer_cond;
static pthread_once_t timer_once = PTHREAD_ONCE_INIT;
static struct timer *timers;

static struct timer **find_locked(struct lind_cage *cage, int id);

static void fire(struct timer *t, int missed)
{
    if (t->id < 0) {
        cage_post_signal(t->cage, L_SIGALRM);
        return;
    }
    t->overrun = t->overrun > INT_MAX - missed - 1 ? INT_MAX - 1 : t->overrun + missed;
    if (!t->signo)
        return;
    struct sig_origin o = {-2 /* SI_TIMER */, 0, 0, t->id, 0, t->value};
    if (signal_post_from(t->cage, t->tid, t->signo, &o))
        t->overrun++; /* its last signal is still pending */
}

int timer_take_overrun(struct lind_cage *cage, int id)
{
    pthread_mutex_lock(&timer_lock);
    struct timer *t = *find_locked(cage, id);
    int n = 0;
    if (t) {
        n = t->last_overrun = t->overrun;
        t->overrun = 0;
    }
    pthread_mutex_unlock(&timer_lock);
    return n;
}

static void *timer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&timer_lock);
    for (;;) {
        int64_t now = monotonic_ns(), next = INT64_MAX;
        for (struct timer **pp = &timers; *pp;) {
            struct timer *t = *pp;
            if (t->deadline && t->deadline <= now) {
                int missed = 0;
                if (t->interval) {
                    t->deadline += t->interval;
                    if (t->deadline <= now) { /* periods that passed unseen count as overruns */
                        int64_t n = (now - t->deadline) / t->interval + 1;
                        missed = n > INT_MAX ? INT_MAX : (int)n;
                        t->deadline += n * t->interval;
                    }
                }
                fire(t, missed);
                if (!t->interval) {
                    if (t->id < 0) {
                        *pp = t->next;
                        free(t);
                        continue;
                    }
                    t->deadline = 0;
                }
            }
            if (t->deadline && t->deadline < next)
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
    *value = t && t->deadline ? (t->deadline > now ? t->deadline - now : 1) : 0;
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

/* The cage's timer with that id (-1: its ITIMER_REAL), or where it would be linked in. */
static struct timer **find_locked(struct lind_cage *cage, int id)
{
    struct timer **pp = &timers;
    while (*pp && ((*pp)->cage != cage || (*pp)->id != id))
        pp = &(*pp)->next;
    return pp;
}

/* Replaces the cage's timer; old (value, interval) in ns, value 0 when disarmed. */
static int timer_set(struct lind_cage *cage, int64_t value, int64_t interval, int64_t *old_value, int64_t *old_interval)
{
    pthread_once(&timer_once, timer_start);
    pthread_mutex_lock(&timer_lock);
    struct timer **pp = find_locked(cage, -1), *t = *pp;
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
            t->id = -1;
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

/* Deletes the cage's timers: all of them (its end), or its POSIX ones (exec). */
static void timers_drop(struct lind_cage *cage, int posix_only)
{
    pthread_mutex_lock(&timer_lock);
    for (struct timer **pp = &timers; *pp;) {
        struct timer *t = *pp;
        if (t->cage == cage && (!posix_only || t->id >= 0)) {
            *pp = t->next;
            free(t);
        } else {
            pp = &t->next;
        }
    }
    pthread_mutex_unlock(&timer_lock);
}

void timer_cancel(struct lind_cage *cage) { timers_drop(cage, 0); }
void timers_exec(struct lind_cage *cage) { timers_drop(cage, 1); }

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
    int r = timer_set(c->cage, value, interval, &oval, &oint);
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
    pthread_mutex_lock(&timer_lock);
    struct timer *t = *find_locked(c->cage, -1);
    int64_t val, intv;
    timer_left(t, monotonic_ns(), &val, &intv);
    pthread_mutex_unlock(&timer_lock);
    itimerval_out(ov, val, intv);
    return 0;
}

int64_t sys_alarm(struct lind_call *c)
{
    int64_t oval, oint;
    int r = timer_set(c->cage, (int64_t)arg_u32(c, 0) * NS, 0, &oval, &oint);
    if (r < 0)
        return r;
    return oval ? (oval + NS / 2) / NS + ((oval + NS / 2) / NS == 0) : 0;
}

/* ---- POSIX timers ---- */

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
    struct timer *t = calloc(1, sizeof *t);
    if (!t)
        return -EAGAIN;
    pthread_once(&timer_once, timer_start);
    pthread_mutex_lock(&timer_lock);
    int id = 0;
    while (id < MAX_TIMERS && *find_locked(cage, id))
        id++;
    if (id == MAX_TIMERS) {
        pthread_mutex_unlock(&timer_lock);
        free(t);
        return -EAGAIN;
    }
    t->cage = cage;
    t->id = id;
    t->clock = clock;
    t->signo = signo;
    t->tid = tid;
    t->value = sev ? value : (uint32_t)id;
    t->next = timers;
    timers = t;
    pthread_mutex_unlock(&timer_lock);
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

/* The calling cage's POSIX timer named by the first argument (timer lock held): where it is
 * linked, or NULL when there is no such timer. */
static struct timer **posix_timer_locked(struct lind_call *c)
{
    int64_t id = (int64_t)c->a[0];
    if (id < 0 || id >= MAX_TIMERS)
        return NULL;
    struct timer **pp = find_locked(c->cage, (int)id);
    return *pp ? pp : NULL;
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
    pthread_mutex_lock(&timer_lock);
    struct timer **pp = posix_timer_locked(c), *t = pp ? *pp : NULL;
    if (!t) {
        pthread_mutex_unlock(&timer_lock);
        return -EINVAL;
    }
    int64_t now = monotonic_ns(), oval, oint;
    timer_left(t, now, &oval, &oint);
    if (value && (flags & L_TIMER_ABSTIME)) { /* an absolute time on the timer's clock */
        struct timespec cl;
        clock_gettime(t->clock == CLOCK_REALTIME ? CLOCK_REALTIME : CLOCK_MONOTONIC, &cl);
        int64_t left = value - ((int64_t)cl.tv_sec * NS + cl.tv_nsec);
        value = left > 0 ? left : 1;
    }
    t->deadline = value ? now + value : 0;
    t->interval = value ? interval : 0;
    t->overrun = 0;
    pthread_cond_signal(&timer_cond);
    pthread_mutex_unlock(&timer_lock);
    if (ov)
        itimerspec_out(ov, oval, oint);
    return 0;
}

int64_t sys_timer_gettime(struct lind_call *c)
{
    uint8_t *g = guest_ptr(c, c->a[1], 32);
    if (!g)
        return -EFAULT;
    pthread_mutex_lock(&timer_lock);
    struct timer **pp = posix_timer_locked(c), *t = pp ? *pp : NULL;
    int64_t value = 0, interval = 0;
    if (t)
        timer_left(t, monotonic_ns(), &value, &interval);
    pthread_mutex_unlock(&timer_lock);
    if (!t)
        return -EINVAL;
    itimerspec_out(g, value, interval);
    return 0;
}

int64_t sys_timer_getoverrun(struct lind_call *c)
{
    pthread_mutex_lock(&timer_lock);
    struct timer **pp = posix_timer_locked(c), *t = pp ? *pp : NULL;
    int r = t ? t->last_overrun : -EINVAL;
    pthread_mutex_unlock(&timer_lock);
    return r;
}

int64_t sys_timer_delete(struct lind_call *c)
{
    pthread_mutex_lock(&timer_lock);
    struct timer **pp = posix_timer_locked(c), *t = pp ? *pp : NULL;
    if (t)
        *pp = t->next;
    pthread_mutex_unlock(&timer_lock);
    free(t);
    return t ? 0 : -EINVAL;
}

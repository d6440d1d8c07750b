/* Timers: ITIMER_REAL (alarm, setitimer, getitimer) and POSIX timers (timer_create & co.), one
 * timer thread for all cages. Their calls (the guest structs) are sys/sys_timer.c.
 * Calls:  base/ (util), kern/ (cage, proc, signal).
 * Called by: kern/ (cage, siginfo), sys/ (sys_timer). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "kern/cage.h"
#include "kern/proc.h"
#include "kern/signal.h"
#include "kern/timer.h"

#define L_SIGALRM 14
#define NS 1000000000ll
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

/* The cage's timer with that id (-1: its ITIMER_REAL), or where it would be linked in. */
static struct timer **find_locked(struct lind_cage *cage, int id)
{
    struct timer **pp = &timers;
    while (*pp && ((*pp)->cage != cage || (*pp)->id != id))
        pp = &(*pp)->next;
    return pp;
}

/* Replaces the cage's ITIMER_REAL (value 0: disarms it); old (value, interval) in ns, value 0 when
 * it was disarmed. */
int timer_real_set(struct lind_cage *cage, int64_t value, int64_t interval, int64_t *old_value, int64_t *old_interval)
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

/* What is left of the cage's ITIMER_REAL (value 0: disarmed) and its interval, in ns. */
void timer_real_get(struct lind_cage *cage, int64_t *value, int64_t *interval)
{
    pthread_mutex_lock(&timer_lock);
    struct timer *t = *find_locked(cage, -1);
    timer_left(t, monotonic_ns(), value, interval);
    pthread_mutex_unlock(&timer_lock);
}

void timer_cancel(struct lind_cage *cage) { timers_drop(cage, 0); }
void timers_exec(struct lind_cage *cage) { timers_drop(cage, 1); }

/* ---- POSIX timers ---- */

/* The cage's POSIX timer id (timer lock held): where it is linked, or NULL when there is no such
 * timer. */
static struct timer **posix_timer_locked(struct lind_cage *cage, int64_t id)
{
    if (id < 0 || id >= MAX_TIMERS)
        return NULL;
    struct timer **pp = find_locked(cage, (int)id);
    return *pp ? pp : NULL;
}

/* A new POSIX timer of the cage on clock, disarmed, that sends signo (0: none, SIGEV_NONE) to its
 * thread tid (0: the cage) with value (no value given: its id); its id, or -EAGAIN. */
int timer_posix_create(struct lind_cage *cage, int clock, int signo, int tid, uint32_t value, int has_value)
{
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
    t->value = has_value ? value : (uint32_t)id;
    t->next = timers;
    timers = t;
    pthread_mutex_unlock(&timer_lock);
    return id;
}

/* timer_settime: arms the timer for value ns (0: disarms it; flags TIMER_ABSTIME: value is a time
 * on the timer's clock), then every interval ns; what was left, in *oval and *oint. -EINVAL when
 * there is no such timer. */
int timer_posix_settime(struct lind_cage *cage, int64_t id, int flags, int64_t value, int64_t interval,
                        int64_t *oval, int64_t *oint)
{
    pthread_mutex_lock(&timer_lock);
    struct timer **pp = posix_timer_locked(cage, id), *t = pp ? *pp : NULL;
    if (!t) {
        pthread_mutex_unlock(&timer_lock);
        return -EINVAL;
    }
    int64_t now = monotonic_ns();
    timer_left(t, now, oval, oint);
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
    return 0;
}

/* timer_gettime: what is left of the timer and its interval, in ns; -EINVAL when there is none. */
int timer_posix_gettime(struct lind_cage *cage, int64_t id, int64_t *value, int64_t *interval)
{
    pthread_mutex_lock(&timer_lock);
    struct timer **pp = posix_timer_locked(cage, id), *t = pp ? *pp : NULL;
    if (t)
        timer_left(t, monotonic_ns(), value, interval);
    pthread_mutex_unlock(&timer_lock);
    return t ? 0 : -EINVAL;
}

int timer_posix_getoverrun(struct lind_cage *cage, int64_t id)
{
    pthread_mutex_lock(&timer_lock);
    struct timer **pp = posix_timer_locked(cage, id), *t = pp ? *pp : NULL;
    int r = t ? t->last_overrun : -EINVAL;
    pthread_mutex_unlock(&timer_lock);
    return r;
}

int timer_posix_delete(struct lind_cage *cage, int64_t id)
{
    pthread_mutex_lock(&timer_lock);
    struct timer **pp = posix_timer_locked(cage, id), *t = pp ? *pp : NULL;
    if (t)
        *pp = t->next;
    pthread_mutex_unlock(&timer_lock);
    free(t);
    return t ? 0 : -EINVAL;
}

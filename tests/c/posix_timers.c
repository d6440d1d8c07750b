/* POSIX timers: SIGEV_SIGNAL to an SA_SIGINFO handler (SI_TIMER, the sigev_value), SIGEV_NONE read
 * with timer_gettime, SIGEV_THREAD (musl runs the function on a helper thread), an absolute time
 * on CLOCK_REALTIME taken with sigwaitinfo, overruns while the signal is blocked, errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int ticks, bad_info;
static sem_t notified;

static void on_tick(int sig, siginfo_t *si, void *ctx)
{
    (void)sig, (void)ctx;
    if (si->si_code != SI_TIMER || si->si_value.sival_int != 42)
        bad_info++;
    ticks++;
}

static void notify(union sigval v)
{
    if (v.sival_int == 7)
        sem_post(&notified);
}

static struct itimerspec every(long first_ns, long period_ns)
{
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_nsec = first_ns;
    its.it_interval.tv_nsec = period_ns;
    return its;
}

int main(void)
{
    timer_t t;
    struct sigevent sev;
    struct itimerspec its;

    /* SIGEV_SIGNAL, periodic */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_SIGINFO;
    sa.sa_sigaction = on_tick;
    sigaction(SIGRTMIN, &sa, NULL);
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGRTMIN;
    sev.sigev_value.sival_int = 42;
    printf("timer_create: %d\n", timer_create(CLOCK_MONOTONIC, &sev, &t));
    its = every(10000000, 10000000);
    printf("timer_settime: %d\n", timer_settime(t, 0, &its, NULL));
    while (ticks < 5)
        pause();
    printf("timer_delete: %d\n", timer_delete(t));
    printf("5 ticks, siginfo right: %d\n", bad_info == 0);
    int r = timer_settime(t, 0, &its, NULL);
    printf("settime after delete: %d %s\n", r, strerror(errno));

    /* SIGEV_NONE: nothing is sent, the time left can be read */
    sev.sigev_notify = SIGEV_NONE;
    timer_create(CLOCK_MONOTONIC, &sev, &t);
    its = every(0, 0);
    its.it_value.tv_sec = 10;
    timer_settime(t, 0, &its, NULL);
    struct itimerspec left;
    timer_gettime(t, &left);
    printf("SIGEV_NONE left: between 9 and 10 s: %d\n", left.it_value.tv_sec == 9 || left.it_value.tv_sec == 10);
    its = every(0, 0);
    struct itimerspec old;
    timer_settime(t, 0, &its, &old); /* (Linux then reports a disarmed SIGEV_NONE timer's stale time left) */
    printf("disarmed, old value ~10 s: %d\n", old.it_value.tv_sec >= 9);
    timer_delete(t);

    /* SIGEV_THREAD */
    sem_init(&notified, 0, 0);
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD;
    sev.sigev_notify_function = notify;
    sev.sigev_value.sival_int = 7;
    printf("SIGEV_THREAD timer_create: %d\n", timer_create(CLOCK_MONOTONIC, &sev, &t));
    its = every(10000000, 10000000);
    timer_settime(t, 0, &its, NULL);
    for (int i = 0; i < 3; i++)
        sem_wait(&notified);
    printf("SIGEV_THREAD: 3 notifications\n");
    timer_delete(t);

    /* absolute CLOCK_REALTIME, taken by sigwaitinfo; then overruns while blocked */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    sev.sigev_value.sival_int = 5;
    timer_create(CLOCK_REALTIME, &sev, &t);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    its = every(0, 0);
    its.it_value = now;
    its.it_value.tv_nsec += 30000000;
    if (its.it_value.tv_nsec >= 1000000000) {
        its.it_value.tv_sec++;
        its.it_value.tv_nsec -= 1000000000;
    }
    timer_settime(t, TIMER_ABSTIME, &its, NULL);
    siginfo_t si;
    int sig = sigwaitinfo(&set, &si);
    printf("absolute: sig %s code SI_TIMER %d value %d\n", sig == SIGUSR1 ? "SIGUSR1" : "other",
           si.si_code == SI_TIMER, si.si_value.sival_int);
    its = every(2000000, 2000000);
    timer_settime(t, 0, &its, NULL);
    usleep(100000);
    sig = sigwaitinfo(&set, &si);
    int over = timer_getoverrun(t);
    printf("blocked 100 ms at 2 ms: overrun > 10: %d (siginfo agrees: %d)\n", over > 10, si.si_overrun == over);
    timer_delete(t);

    r = timer_create(12345, NULL, &t);
    printf("bad clock: %d %s\n", r, strerror(errno));
    return 0;
}

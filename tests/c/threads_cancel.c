/* pthread_cancel: deferred cancellation of threads blocked in cancellation points (read of an empty
 * pipe, nanosleep, a condition wait), of a pthread_testcancel loop, a request held off by
 * PTHREAD_CANCEL_DISABLE until it is enabled again, asynchronous cancellation of a busy loop, and
 * the cleanup handlers each runs. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int fds[2];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static volatile int started;

static void note(void *what) { printf("  cleanup: %s\n", (const char *)what); }
static void unlock(void *m) { pthread_mutex_unlock(m); printf("  cleanup: unlocked\n"); }

static void *reader(void *arg)
{
    char c;
    (void)arg;
    pthread_cleanup_push(note, "reader");
    started = 1;
    read(fds[0], &c, 1);
    pthread_cleanup_pop(0);
    return (void *)1;
}

static void *sleeper(void *arg)
{
    struct timespec ts = {60, 0};
    (void)arg;
    pthread_cleanup_push(note, "sleeper");
    started = 1;
    nanosleep(&ts, NULL);
    pthread_cleanup_pop(0);
    return (void *)1;
}

static void *waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    pthread_cleanup_push(unlock, &lock);
    started = 1;
    for (;;)
        pthread_cond_wait(&cond, &lock);
    pthread_cleanup_pop(1);
    return (void *)1;
}

static void *tester(void *arg)
{
    (void)arg;
    pthread_cleanup_push(note, "tester");
    started = 1;
    for (;;)
        pthread_testcancel();
    pthread_cleanup_pop(0);
    return (void *)1;
}

static void *disabled(void *arg)
{
    struct timespec ts = {0, 300 * 1000 * 1000};
    int old;
    (void)arg;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    started = 1;
    nanosleep(&ts, NULL); /* not a cancellation point while disabled: sleeps to its end */
    printf("  disabled: slept through the request\n");
    pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
    pthread_testcancel();
    printf("  disabled: not cancelled (wrong)\n");
    return (void *)1;
}

static void *busy(void *arg)
{
    volatile unsigned long n = 0;
    int old;
    (void)arg;
    pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old);
    started = 1;
    for (;;)
        n++;
    return (void *)1;
}

static void run(const char *name, void *(*fn)(void *))
{
    pthread_t t;
    void *res;
    struct timespec ts = {0, 100 * 1000 * 1000};
    started = 0;
    printf("%s:\n", name);
    fflush(stdout);
    pthread_create(&t, NULL, fn, NULL);
    while (!started)
        sched_yield();
    nanosleep(&ts, NULL); /* let it block */
    int r = pthread_cancel(t);
    pthread_join(t, &res);
    printf("  pthread_cancel %d, joined: %s\n", r, res == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "returned");
    fflush(stdout);
}

int main(void)
{
    pipe(fds);
    run("read of an empty pipe", reader);
    run("nanosleep", sleeper);
    run("pthread_cond_wait", waiter);
    pthread_mutex_lock(&lock); /* the cancelled waiter gave the mutex back */
    printf("mutex free again\n");
    pthread_mutex_unlock(&lock);
    run("pthread_testcancel loop", tester);
    run("cancellation disabled, then enabled", disabled);
    run("asynchronous, busy loop", busy);
    return 0;
}

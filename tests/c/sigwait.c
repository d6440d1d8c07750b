/* sigwait and friends (rt_sigtimedwait): a signal another thread sends while this one waits, one
 * already pending, sigwaitinfo's si_signo, a timeout (EAGAIN), a blocked SIGCHLD (whose default
 * action is to ignore it) kept for sigwait; and sched_getaffinity, sched_getcpu, prctl's thread name. (A handled
 * signal during sigtimedwait: glibc returns EINTR, musl waits on.) */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_t main_thread;

static void *send_later(void *arg)
{
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    pthread_kill(main_thread, (int)(long)arg);
    return NULL;
}

static void *name_thread(void *arg)
{
    char name[16] = {0};
    (void)arg;
    prctl(PR_GET_NAME, name);
    printf("new thread inherits the name: %s\n", name);
    return NULL;
}

int main(void)
{
    sigset_t set;
    int sig = 0;
    pthread_t t;
    main_thread = pthread_self();
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);

    pthread_create(&t, NULL, send_later, (void *)(long)SIGUSR1);
    int r = sigwait(&set, &sig);
    pthread_join(t, NULL);
    printf("sigwait for a later signal: %d, sig %s\n", r, sig == SIGUSR1 ? "SIGUSR1" : "other");

    raise(SIGUSR1);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    r = sigwaitinfo(&set, &si);
    printf("sigwaitinfo, already pending: %s, si_signo %s\n", r == SIGUSR1 ? "SIGUSR1" : "other",
           si.si_signo == SIGUSR1 ? "SIGUSR1" : "other");

    struct timespec to = {0, 20 * 1000 * 1000};
    r = sigtimedwait(&set, NULL, &to);
    printf("sigtimedwait, nothing comes: %d %s\n", r, r < 0 && errno == EAGAIN ? "EAGAIN" : strerror(errno));

    pid_t child = fork();
    if (child == 0)
        _exit(3);
    r = sigwait(&set, &sig);
    printf("blocked SIGCHLD waited for: %d, sig %s\n", r, sig == SIGCHLD ? "SIGCHLD" : "other");
    int st;
    waitpid(child, &st, 0);
    printf("child status %d\n", WEXITSTATUS(st));

    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    r = sched_getaffinity(0, sizeof cpus, &cpus);
    printf("sched_getaffinity: %d, some cpu %d\n", r, CPU_COUNT(&cpus) > 0);
    r = sched_getaffinity(0, 1, &cpus);
    printf("sched_getaffinity, mask too small: %d %s\n", r, r < 0 && errno == EINVAL ? "EINVAL" : strerror(errno));
    sched_getaffinity(0, sizeof cpus, &cpus);
    int cpu = sched_getcpu();
    printf("sched_getcpu: %d\n", cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &cpus));

    char name[16] = {0};
    r = prctl(PR_SET_NAME, "a-rather-long-thread-name");
    prctl(PR_GET_NAME, name);
    printf("prctl name: %d %s\n", r, name);
    pthread_create(&t, NULL, name_thread, NULL);
    pthread_join(t, NULL);
    r = prctl(12345, 0, 0, 0, 0);
    printf("prctl unknown option: %d %s\n", r, r < 0 && errno == EINVAL ? "EINVAL" : strerror(errno));
    return 0;
}

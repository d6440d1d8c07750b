/* What an SA_SIGINFO handler learns of the sender: kill (SI_USER, its pid and uid), raise (SI_TKILL),
 * sigqueue (SI_QUEUE and the value), a child's end (SIGCHLD: CLD_EXITED with its status, CLD_KILLED
 * with the signal). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int code, from_me, uid_ok, value, status, child_pid_ok;
static pid_t child;

static void handler(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    code = si->si_code;
    if (sig == SIGCHLD) {
        child_pid_ok = si->si_pid == child;
        status = si->si_status;
        return;
    }
    from_me = si->si_pid == getpid();
    uid_ok = si->si_uid == getuid();
    value = si->si_value.sival_int;
}

static const char *name(int c)
{
    switch (c) {
    case SI_USER: return "SI_USER";
    case SI_TKILL: return "SI_TKILL";
    case SI_QUEUE: return "SI_QUEUE";
    case CLD_EXITED: return "CLD_EXITED";
    case CLD_KILLED: return "CLD_KILLED";
    default: return "other";
    }
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_SIGINFO;
    sa.sa_sigaction = handler;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    kill(getpid(), SIGUSR1);
    printf("kill: %s, from me %d, uid %d\n", name(code), from_me, uid_ok);
    raise(SIGUSR1);
    printf("raise: %s, from me %d\n", name(code), from_me);
    sigqueue(getpid(), SIGUSR1, (union sigval){.sival_int = 99});
    printf("sigqueue: %s, from me %d, value %d\n", name(code), from_me, value);

    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old); /* the handler runs at sigsuspend, after child is set */
    child = fork();
    if (child == 0)
        _exit(3);
    sigsuspend(&old);
    printf("child exit: %s, its pid %d, status %d\n", name(code), child_pid_ok, status);
    waitpid(child, NULL, 0);
    child = fork();
    if (child == 0) {
        for (;;)
            pause();
    }
    kill(child, SIGKILL);
    sigsuspend(&old);
    printf("child killed: %s, its pid %d, status %d\n", name(code), child_pid_ok, status);
    waitpid(child, NULL, 0);
    return 0;
}

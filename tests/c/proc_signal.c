/* Signals: handlers, masks, sigsuspend, kill, alarm/setitimer, EINTR and SA_RESTART.
 * usage: proc_signal MODE */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static volatile sig_atomic_t hits, depth, max_depth, last_sig, info_signo;

static void on_sig(int sig)
{
    hits++;
    last_sig = sig;
}

static void on_info(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    hits++;
    last_sig = sig;
    info_signo = si ? si->si_signo : -1;
}

static void on_nested(int sig)
{
    depth++;
    if (depth > max_depth)
        max_depth = depth;
    hits++;
    if (hits == 1)
        raise(sig); /* with SA_NODEFER this nests; without, it waits until we return */
    depth--;
}

static void set(int sig, void (*fn)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static void status_line(const char *what, int st)
{
    if (WIFEXITED(st))
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else
        printf("%s: killed by signal %d\n", what, WTERMSIG(st));
}

static void handlers(void)
{
    signal(SIGUSR1, on_sig);
    raise(SIGUSR1);
    printf("signal(): handler ran %d time(s), sig=%d\n", (int)hits, (int)last_sig);
    kill(getpid(), SIGUSR1);
    printf("kill(self): handler ran %d time(s)\n", (int)hits);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_info;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &sa, NULL);
    hits = 0;
    kill(getpid(), SIGUSR2);
    printf("SA_SIGINFO: ran=%d si_signo==SIGUSR2=%d\n", (int)hits, info_signo == SIGUSR2);

    struct sigaction old;
    sigaction(SIGUSR2, NULL, &old);
    printf("sigaction query: SA_SIGINFO set=%d handler is ours=%d\n", !!(old.sa_flags & SA_SIGINFO),
           old.sa_sigaction == on_info);

    /* SA_RESETHAND: the first delivery resets to SIG_DFL; the second (default: terminate) kills */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        hits = 0;
        set(SIGUSR1, on_sig, SA_RESETHAND);
        raise(SIGUSR1);
        struct sigaction now;
        sigaction(SIGUSR1, NULL, &now);
        printf("SA_RESETHAND: ran=%d, now SIG_DFL=%d\n", (int)hits, now.sa_handler == SIG_DFL);
        fflush(stdout);
        raise(SIGUSR1);
        printf("not reached\n");
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    status_line("SA_RESETHAND child after the second signal", st);

    hits = depth = max_depth = 0;
    set(SIGUSR1, on_nested, 0);
    raise(SIGUSR1);
    printf("without SA_NODEFER: ran=%d max nesting=%d\n", (int)hits, (int)max_depth);
    hits = depth = max_depth = 0;
    set(SIGUSR1, on_nested, SA_NODEFER);
    raise(SIGUSR1);
    printf("with SA_NODEFER: ran=%d max nesting=%d\n", (int)hits, (int)max_depth);

    /* sa_mask: SIGUSR2 blocked while the SIGUSR1 handler runs */
    errno = 0;
    int r = sigaction(SIGKILL, &sa, NULL);
    int e = errno;
    printf("sigaction(SIGKILL): %d EINVAL=%d\n", r, e == EINVAL);
    errno = 0;
    r = sigaction(SIGSTOP, &sa, NULL);
    e = errno;
    printf("sigaction(SIGSTOP): %d EINVAL=%d\n", r, e == EINVAL);
    signal(SIGUSR1, SIG_IGN);
    raise(SIGUSR1);
    printf("SIG_IGN: still running\n");
    printf("signal() returns the previous handler SIG_IGN=%d\n", signal(SIGUSR1, SIG_DFL) == SIG_IGN);
}

static void mask(void)
{
    signal(SIGUSR1, on_sig);
    sigset_t s, old, pend;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, &old);
    printf("SIGUSR1 blocked before=%d\n", sigismember(&old, SIGUSR1));
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1); /* standard signals do not queue */
    sigpending(&pend);
    printf("blocked: handler ran=%d pending SIGUSR1=%d pending SIGUSR2=%d\n", (int)hits, sigismember(&pend, SIGUSR1),
           sigismember(&pend, SIGUSR2));
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    printf("after unblock: handler ran=%d\n", (int)hits);
    sigpending(&pend);
    printf("pending SIGUSR1 after delivery=%d\n", sigismember(&pend, SIGUSR1));
    /* SIG_SETMASK and reading the mask back */
    sigset_t all, cur;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    sigprocmask(SIG_SETMASK, NULL, &cur);
    printf("fill mask: SIGUSR2 blocked=%d SIGKILL blocked=%d SIGSTOP blocked=%d\n", sigismember(&cur, SIGUSR2),
           sigismember(&cur, SIGKILL), sigismember(&cur, SIGSTOP));
    sigemptyset(&cur);
    sigprocmask(SIG_SETMASK, &cur, NULL);
    errno = 0;
    int r = sigprocmask(12345, &s, NULL);
    int e = errno;
    printf("sigprocmask bad how: %d EINVAL=%d\n", r, e == EINVAL);
    /* a blocked signal whose disposition becomes SIG_IGN is discarded */
    sigprocmask(SIG_BLOCK, &s, NULL);
    raise(SIGUSR1);
    signal(SIGUSR1, SIG_IGN);
    sigpending(&pend);
    printf("pending after SIG_IGN=%d\n", sigismember(&pend, SIGUSR1));
    /* the mask is inherited across fork, the pending set is not */
    signal(SIGUSR1, on_sig);
    raise(SIGUSR1);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        sigset_t m, p;
        sigprocmask(SIG_BLOCK, NULL, &m);
        sigpending(&p);
        printf("child: SIGUSR1 blocked=%d pending=%d\n", sigismember(&m, SIGUSR1), sigismember(&p, SIGUSR1));
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    hits = 0;
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    printf("parent: delivered after unblock=%d\n", (int)hits);
}

static void suspend(void)
{
    signal(SIGUSR1, on_sig);
    sigset_t s, empty, cur;
    sigemptyset(&s);
    sigemptyset(&empty);
    sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, NULL);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        msleep(50);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    errno = 0;
    int r = sigsuspend(&empty);
    int e = errno;
    printf("sigsuspend returned %d EINTR=%d handler ran=%d\n", r, e == EINTR, (int)hits);
    sigprocmask(SIG_BLOCK, NULL, &cur);
    printf("mask restored (SIGUSR1 blocked)=%d\n", sigismember(&cur, SIGUSR1));
    waitpid(c, NULL, 0);
    /* a signal pending before sigsuspend is delivered at once */
    raise(SIGUSR1);
    r = sigsuspend(&empty);
    printf("sigsuspend with one already pending: %d handler ran=%d\n", r, (int)hits);
    /* pause() after signal() (which sets SA_RESTART: pause is never restarted) */
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    c = fork();
    if (c == 0) {
        msleep(50);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    errno = 0;
    r = pause();
    e = errno;
    printf("pause returned %d EINTR=%d handler ran=%d\n", r, e == EINTR, (int)hits);
    waitpid(c, NULL, 0);
}

static int sync_pipe[2];

static void on_usr1_child(int sig)
{
    (void)sig;
    write(sync_pipe[1], "h", 1);
}

static void killchild(void)
{
    pipe(sync_pipe);
    int ready[2];
    pipe(ready);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        signal(SIGUSR1, on_usr1_child);
        write(ready[1], "r", 1);
        for (;;)
            pause();
    }
    char ch;
    read(ready[0], &ch, 1);
    kill(c, SIGUSR1);
    read(sync_pipe[0], &ch, 1);
    printf("child's handler ran: %c\n", ch);
    kill(c, SIGUSR1);
    read(sync_pipe[0], &ch, 1);
    printf("child's handler ran again: %c\n", ch);
    printf("kill(child, 0)=%d\n", kill(c, 0));
    kill(c, SIGTERM);
    int st;
    waitpid(c, &st, 0);
    status_line("child after SIGTERM", st);
    /* a CPU-bound child (no system calls) runs its handler too */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        signal(SIGUSR1, on_usr1_child);
        write(ready[1], "r", 1);
        volatile unsigned long n = 0;
        for (;;)
            n++;
    }
    read(ready[0], &ch, 1);
    kill(c, SIGUSR1);
    read(sync_pipe[0], &ch, 1);
    printf("busy child's handler ran: %c\n", ch);
    kill(c, SIGKILL);
    waitpid(c, &st, 0);
    status_line("busy child after SIGKILL", st);
}

static void on_alarm_exit(int sig)
{
    (void)sig;
    write(1, "alarm handler: leaving with _exit(0)\n", 37);
    _exit(0);
}

static void alarm_loop(void)
{
    signal(SIGALRM, on_alarm_exit);
    printf("alarm(1), then while(1);\n");
    fflush(stdout);
    alarm(1);
    while (1)
        ;
}

static void alarm_default(void)
{
    printf("alarm(1) with the default action\n");
    fflush(stdout);
    alarm(1);
    while (1)
        ;
}

static void itimer(void)
{
    set(SIGALRM, on_sig, 0); /* no SA_RESTART: pause() is never restarted anyway */
    printf("alarm(5) then alarm(0) returns ~5: %d\n", alarm(5) == 0 && alarm(0) >= 4);
    struct itimerval it = {{0, 20000}, {0, 20000}}, cur;
    setitimer(ITIMER_REAL, &it, NULL);
    getitimer(ITIMER_REAL, &cur);
    printf("getitimer: interval 20 ms=%d value set=%d\n", cur.it_interval.tv_usec == 20000 && cur.it_interval.tv_sec == 0,
           cur.it_value.tv_sec > 0 || cur.it_value.tv_usec > 0);
    while (hits < 5)
        pause();
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, &cur);
    printf("periodic timer fired at least 5 times=%d\n", hits >= 5);
    int before = hits;
    msleep(100);
    printf("no more after disarming=%d\n", hits == before);
    /* busy loop interrupted by the periodic timer */
    hits = 0;
    setitimer(ITIMER_REAL, &it, NULL);
    volatile unsigned long n = 0;
    while (hits < 3)
        n++;
    setitimer(ITIMER_REAL, &off, NULL);
    printf("busy loop saw 3 timer signals\n");
}

static void eintr(int restart)
{
    set(SIGALRM, on_sig, restart ? SA_RESTART : 0);
    struct itimerval once = {{0, 0}, {0, 100000}};
    const char *tag = restart ? "SA_RESTART" : "no SA_RESTART";

    setitimer(ITIMER_REAL, &once, NULL);
    struct timespec ts = {2, 0}, rem = {0, 0};
    errno = 0;
    int r = nanosleep(&ts, &rem);
    int e = errno;
    printf("%s: nanosleep=%d EINTR=%d remaining > 1s=%d handler ran=%d\n", tag, r, e == EINTR, rem.tv_sec >= 1,
           (int)hits);

    int p[2];
    pipe(p);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        struct timespec t = {0, 400000000};
        nanosleep(&t, NULL);
        write(p[1], "d", 1);
        _exit(0);
    }
    close(p[1]);
    hits = 0;
    setitimer(ITIMER_REAL, &once, NULL);
    char ch = '-';
    errno = 0;
    ssize_t n = read(p[0], &ch, 1);
    e = errno;
    printf("%s: read on a pipe=%zd EINTR=%d data=%c handler ran=%d\n", tag, n, e == EINTR, n == 1 ? ch : '-',
           (int)hits);

    hits = 0;
    setitimer(ITIMER_REAL, &once, NULL);
    int st;
    errno = 0;
    pid_t w = waitpid(c, &st, 0);
    e = errno;
    if (w < 0) {
        printf("%s: waitpid=-1 EINTR=%d handler ran=%d\n", tag, e == EINTR, (int)hits);
        waitpid(c, &st, 0);
    } else {
        /* the child may already have ended (after its 400 ms) */
        printf("%s: waitpid returned the child\n", tag);
    }
    fflush(stdout);
    c = fork();
    if (c == 0) {
        struct timespec t = {0, 400000000};
        nanosleep(&t, NULL);
        _exit(3);
    }
    hits = 0;
    setitimer(ITIMER_REAL, &once, NULL);
    errno = 0;
    w = waitpid(c, &st, 0);
    e = errno;
    if (w < 0) {
        printf("%s: waitpid on a running child=-1 EINTR=%d handler ran=%d\n", tag, e == EINTR, (int)hits);
        waitpid(c, &st, 0);
    } else {
        printf("%s: waitpid on a running child returned it, code %d, handler ran=%d\n", tag, WEXITSTATUS(st),
               (int)hits);
    }
}

static void hostint(void)
{
    set(SIGINT, on_sig, 0);
    printf("ready\n");
    fflush(stdout);
    while (!hits)
        pause();
    printf("got SIGINT=%d\n", last_sig == SIGINT);
}

static void hostterm(void)
{
    /* a tree: two children, one grandchild, all waiting forever */
    for (int i = 0; i < 2; i++) {
        if (fork() == 0) {
            if (i == 1 && fork() == 0) {
                for (;;)
                    pause();
            }
            for (;;)
                pause();
        }
    }
    printf("ready\n");
    fflush(stdout);
    for (;;)
        pause();
}

/* SA_SIGINFO handlers' ucontext: uc_sigmask is the mask the handler interrupted, and what the handler
 * leaves there is the mask after it returns; a nested handler gets its own siginfo and ucontext. */
static volatile int outer_signo_after_nested, nested_saw_usr1_blocked, outer_saw_usr2, outer_saw_usr1;

static void uc_inner(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    (void)sig, (void)si;
    nested_saw_usr1_blocked = sigismember(&uc->uc_sigmask, SIGUSR1); /* blocked while the outer runs */
}

static void uc_outer(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    (void)sig;
    outer_saw_usr2 = sigismember(&uc->uc_sigmask, SIGUSR2);
    outer_saw_usr1 = sigismember(&uc->uc_sigmask, SIGUSR1);
    raise(SIGALRM); /* nested handler */
    outer_signo_after_nested = si->si_signo;
    sigdelset(&uc->uc_sigmask, SIGUSR2); /* unblocked after the return */
    sigaddset(&uc->uc_sigmask, SIGINT);  /* blocked after the return */
}

static void ucontext_mode(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_SIGINFO;
    sa.sa_sigaction = uc_outer;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_sigaction = uc_inner;
    sigaction(SIGALRM, &sa, NULL);
    sigset_t set, now;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    raise(SIGUSR1);
    sigprocmask(SIG_BLOCK, NULL, &now);
    printf("interrupted mask seen by the handler: SIGUSR2 %d, SIGUSR1 %d\n", outer_saw_usr2, outer_saw_usr1);
    printf("nested handler: SIGUSR1 blocked %d; outer si_signo after it %d\n", nested_saw_usr1_blocked,
           outer_signo_after_nested);
    printf("after the return: SIGUSR2 blocked %d, SIGINT blocked %d\n", sigismember(&now, SIGUSR2),
           sigismember(&now, SIGINT));
}

int main(int argc, char **argv)
{
    if (getenv("PROC_UNBUFFERED"))
        setvbuf(stdout, NULL, _IONBF, 0);
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "handlers"))
        handlers();
    else if (!strcmp(m, "mask"))
        mask();
    else if (!strcmp(m, "suspend"))
        suspend();
    else if (!strcmp(m, "killchild"))
        killchild();
    else if (!strcmp(m, "alarm_loop"))
        alarm_loop();
    else if (!strcmp(m, "alarm_default"))
        alarm_default();
    else if (!strcmp(m, "itimer"))
        itimer();
    else if (!strcmp(m, "eintr"))
        eintr(0);
    else if (!strcmp(m, "restart"))
        eintr(1);
    else if (!strcmp(m, "hostint"))
        hostint();
    else if (!strcmp(m, "hostterm"))
        hostterm();
    else if (!strcmp(m, "ucontext"))
        ucontext_mode();
    else
        return 2;
    return 0;
}

/* The wait family: specific/any child, WNOHANG, ECHILD, status encoding, waitid, process-group
 * waits, zombies, orphans.  usage: proc_wait MODE */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static pid_t child_exit(int code, int delay_ms)
{
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        if (delay_ms)
            msleep(delay_ms);
        _exit(code);
    }
    return p;
}

static void describe(const char *what, int st)
{
    if (WIFEXITED(st))
        printf("%s: WIFEXITED, WEXITSTATUS=%d, raw=0x%x\n", what, WEXITSTATUS(st), st);
    else if (WIFSIGNALED(st))
        printf("%s: WIFSIGNALED, WTERMSIG=%d (%s)\n", what, WTERMSIG(st),
               WTERMSIG(st) == SIGKILL ? "SIGKILL" : WTERMSIG(st) == SIGTERM ? "SIGTERM"
               : WTERMSIG(st) == SIGABRT ? "SIGABRT" : "other");
    else
        printf("%s: other status\n", what);
}

/* prints what=r and whether errno is e, reading errno only after the call */
static void show(const char *what, long r, int e, const char *ename)
{
    int err = errno;
    printf("%s: %ld %s=%d\n", what, r, ename, err == e);
}
#define SHOW(what, call, e) do { errno = 0; long r_ = (long)(call); show(what, r_, e, #e); } while (0)

static void basic(void)
{
    pid_t a = child_exit(1, 30), b = child_exit(2, 0), c = child_exit(3, 60);
    int st;
    pid_t w = waitpid(b, &st, 0);
    printf("waitpid(b) returned b=%d code=%d\n", w == b, WEXITSTATUS(st));
    int got[2] = {0, 0}, codes = 0;
    for (int i = 0; i < 2; i++) {
        w = wait(&st);
        got[i] = (w == a || w == c);
        codes += WEXITSTATUS(st);
    }
    printf("wait() twice returned the other children=%d,%d, code sum=%d\n", got[0], got[1], codes);
    SHOW("wait() again", wait(&st), ECHILD);
}

static void nohang(void)
{
    int pfd[2];
    pipe(pfd);
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        char c;
        close(pfd[1]);
        read(pfd[0], &c, 1); /* runs until the parent writes */
        _exit(4);
    }
    close(pfd[0]);
    int st = -1;
    printf("WNOHANG while the child runs: %d\n", (int)waitpid(p, &st, WNOHANG));
    printf("WNOHANG any while the child runs: %d\n", (int)waitpid(-1, &st, WNOHANG));
    write(pfd[1], "x", 1);
    pid_t w;
    int spins = 0;
    while ((w = waitpid(p, &st, WNOHANG)) == 0 && spins < 5000) {
        msleep(1);
        spins++;
    }
    printf("WNOHANG after the child ended returned the child=%d code=%d\n", w == p, WEXITSTATUS(st));
}

static void echild(void)
{
    int st;
    SHOW("wait with no children", wait(&st), ECHILD);
    SHOW("waitpid(-1, WNOHANG) with no children", waitpid(-1, &st, WNOHANG), ECHILD);
    pid_t p = child_exit(0, 0);
    waitpid(p, &st, 0);
    SHOW("waitpid of a reaped child", waitpid(p, &st, 0), ECHILD);
    SHOW("waitpid of our own pid", waitpid(getpid(), &st, 0), ECHILD);
    SHOW("waitpid bad options", waitpid(-1, &st, 0x4000), EINVAL);
}

static void status(void)
{
    int codes[] = {0, 1, 255, 256 + 7};
    for (int i = 0; i < 4; i++) {
        int st;
        pid_t p = child_exit(codes[i], 0);
        char what[32];
        snprintf(what, sizeof what, "_exit(%d)", codes[i]);
        if (waitpid(p, &st, 0) == p)
            describe(what, st);
    }
    int sigs[] = {SIGKILL, SIGTERM};
    for (int i = 0; i < 2; i++) {
        fflush(stdout);
        pid_t p = fork();
        if (p == 0) {
            for (;;)
                pause();
        }
        msleep(20);
        kill(p, sigs[i]);
        int st;
        if (waitpid(p, &st, 0) == p)
            describe(sigs[i] == SIGKILL ? "kill SIGKILL" : "kill SIGTERM", st);
    }
    /* a busy child (no system calls) killed by SIGKILL */
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        volatile unsigned long n = 0;
        for (;;)
            n++;
    }
    msleep(20);
    kill(p, SIGKILL);
    int st;
    if (waitpid(p, &st, 0) == p)
        describe("busy child SIGKILL", st);
    p = fork();
    if (p == 0)
        abort();
    if (waitpid(p, &st, 0) == p)
        describe("abort()", st);
    p = fork();
    if (p == 0) {
        raise(SIGTERM);
        _exit(0);
    }
    if (waitpid(p, &st, 0) == p)
        describe("raise(SIGTERM)", st);
    p = fork();
    if (p == 0) {
        kill(getpid(), SIGUSR1);
        _exit(0);
    }
    if (waitpid(p, &st, 0) == p)
        printf("kill(self, SIGUSR1): signaled=%d sig is SIGUSR1=%d\n", WIFSIGNALED(st), WTERMSIG(st) == SIGUSR1);
}

static void do_waitid(void)
{
    siginfo_t si;
    pid_t p = child_exit(7, 0);
    memset(&si, 0, sizeof si);
    int r = waitid(P_PID, p, &si, WEXITED | WNOWAIT);
    printf("waitid P_PID WNOWAIT: r=%d signo SIGCHLD=%d code CLD_EXITED=%d pid is child=%d status=%d\n", r,
           si.si_signo == SIGCHLD, si.si_code == CLD_EXITED, si.si_pid == p, si.si_status);
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, p, &si, WEXITED);
    printf("waitid P_PID again (reaps): r=%d pid is child=%d status=%d\n", r, si.si_pid == p, si.si_status);
    SHOW("waitid P_PID after reaping", waitid(P_PID, p, &si, WEXITED), ECHILD);

    fflush(stdout);
    p = fork();
    if (p == 0) {
        for (;;)
            pause();
    }
    memset(&si, 0, sizeof si);
    r = waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
    printf("waitid P_ALL WNOHANG while running: r=%d si_pid=%d\n", r, (int)si.si_pid);
    kill(p, SIGKILL);
    memset(&si, 0, sizeof si);
    r = waitid(P_ALL, 0, &si, WEXITED);
    printf("waitid P_ALL killed: r=%d code CLD_KILLED=%d pid is child=%d status=%d\n", r, si.si_code == CLD_KILLED,
           si.si_pid == p, si.si_status);
    p = child_exit(3, 0);
    memset(&si, 0, sizeof si);
    r = waitid(P_PGID, getpgrp(), &si, WEXITED);
    printf("waitid P_PGID: r=%d pid is child=%d status=%d\n", r, si.si_pid == p, si.si_status);
    SHOW("waitid without WEXITED", waitid(P_ALL, 0, &si, 0), EINVAL);
}

static void pgroups(void)
{
    int go[2];
    pipe(go);
    fflush(stdout);
    pid_t a = fork();
    if (a == 0) {
        char c;
        setpgid(0, 0);
        close(go[1]);
        read(go[0], &c, 1);
        _exit(10);
    }
    setpgid(a, a); /* both sides, as a shell does */
    pid_t b = fork();
    if (b == 0) {
        char c;
        close(go[1]);
        read(go[0], &c, 1);
        _exit(20);
    }
    close(go[0]);
    printf("child a leads its own group=%d, b in ours=%d\n", getpgid(a) == a, getpgid(b) == getpgrp());
    write(go[1], "xx", 2);
    close(go[1]);
    int st;
    pid_t w = waitpid(0, &st, 0);
    printf("waitpid(0) returned b=%d code=%d\n", w == b, WEXITSTATUS(st));
    SHOW("waitpid(0) again", waitpid(0, &st, WNOHANG), ECHILD);
    w = waitpid(-a, &st, 0);
    printf("waitpid(-pgid of a) returned a=%d code=%d\n", w == a, WEXITSTATUS(st));
}

static void zombie(void)
{
    pid_t p = child_exit(5, 0);
    msleep(100); /* the child is a zombie now */
    printf("kill(zombie, 0)=%d\n", kill(p, 0));
    siginfo_t si;
    memset(&si, 0, sizeof si);
    waitid(P_PID, p, &si, WEXITED | WNOHANG | WNOWAIT);
    printf("zombie visible with WNOHANG|WNOWAIT: pid is child=%d\n", si.si_pid == p);
    int st;
    int same = waitpid(p, &st, 0) == p;
    printf("reaped the zombie=%d code=%d\n", same, WEXITSTATUS(st));
}

static void orphan(void)
{
    int out[2], ready[2];
    pipe(out);
    pipe(ready);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        pid_t me = getpid();
        pid_t g = fork();
        if (g == 0) {
            close(out[0]);
            pid_t first = getppid();
            write(ready[1], "r", 1);
            int same = first == me;
            int spins = 0;
            while (getppid() == me && spins < 5000) {
                msleep(1);
                spins++;
            }
            char line[128];
            int n = snprintf(line, sizeof line, "grandchild: first ppid was its parent=%d, re-parented=%d\n", same,
                             getppid() != me);
            write(out[1], line, n);
            _exit(0);
        }
        char r;
        read(ready[0], &r, 1); /* the grandchild has seen us as its parent */
        _exit(g > 0 ? 0 : 1);
    }
    close(out[1]);
    close(ready[1]);
    int st;
    int same = waitpid(c, &st, 0) == c;
    printf("parent reaped the middle child=%d code=%d\n", same, WEXITSTATUS(st));
    fflush(stdout);
    char buf[256];
    ssize_t n;
    while ((n = read(out[0], buf, sizeof buf)) > 0)
        fwrite(buf, 1, n, stdout);
    printf("grandchild's pipe closed\n");
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "basic"))
        basic();
    else if (!strcmp(m, "nohang"))
        nohang();
    else if (!strcmp(m, "echild"))
        echild();
    else if (!strcmp(m, "status"))
        status();
    else if (!strcmp(m, "waitid"))
        do_waitid();
    else if (!strcmp(m, "pgroups"))
        pgroups();
    else if (!strcmp(m, "zombie"))
        zombie();
    else if (!strcmp(m, "orphan"))
        orphan();
    else
        return 2;
    return 0;
}

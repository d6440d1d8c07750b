/* Process groups and sessions: getpgid/setpgid/getsid/setsid, their errors, kill(-pgid).
 * usage: proc_pgrp MODE */
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

static const char *ename(int e)
{
    return e == 0 ? "ok" : e == EPERM ? "EPERM" : e == ESRCH ? "ESRCH" : e == EINVAL ? "EINVAL"
         : e == EACCES ? "EACCES" : "other";
}

#define TRY(what, call) do { errno = 0; long r_ = (long)(call); int e_ = errno; \
    printf("%s: %s\n", what, r_ < 0 ? ename(e_) : "ok"); } while (0)

static void semantics(void)
{
    /* the test runs us as a process-group leader (lind run: root cage; natively: setsid before) */
    pid_t me = getpid();
    printf("getpgid(0)==getpgrp()=%d getpgid(me)==getpgrp()=%d\n", getpgid(0) == getpgrp(), getpgid(me) == getpgrp());
    printf("getsid(0)==getsid(me)=%d\n", getsid(0) == getsid(me));
    int sync[2], back[2];
    pipe(sync);
    pipe(back);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        char ch;
        close(sync[1]);
        printf("child: inherits pgid=%d sid=%d\n", getpgrp() == getpgid(getppid()), getsid(0) == getsid(getppid()));
        TRY("child: setsid while not a group leader", setsid());
        printf("child: after setsid pgid==pid=%d sid==pid=%d\n", getpgrp() == getpid(), getsid(0) == getpid());
        TRY("child: setsid again (now a group leader)", setsid());
        TRY("child: setpgid(0,0) as session leader", setpgid(0, 0));
        fflush(stdout);
        write(back[1], "s", 1);
        read(sync[0], &ch, 1);
        _exit(0);
    }
    char ch;
    read(back[0], &ch, 1);
    TRY("parent: setpgid(child in another session)", setpgid(c, c));
    printf("parent: child's sid is the child=%d\n", getsid(c) == c);
    TRY("parent: setpgid(0, nonexistent group)", setpgid(0, 999999));
    TRY("parent: setpgid(-1 pgid)", setpgid(0, -1));
    TRY("parent: setpgid(not our child)", setpgid(999999, 0));
    TRY("getpgid(nonexistent)", getpgid(999999));
    TRY("getsid(nonexistent)", getsid(999999));
    write(sync[1], "x", 1);
    waitpid(c, NULL, 0);

    /* a child moved to its own group, then back into ours */
    int g[2];
    pipe(g);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        char ch2;
        close(g[1]);
        read(g[0], &ch2, 1);
        printf("child2: in its own group=%d\n", getpgrp() == getpid());
        fflush(stdout);
        read(g[0], &ch2, 1);
        printf("child2: back in the parent's group=%d\n", getpgrp() == getpgid(getppid()));
        fflush(stdout);
        _exit(0);
    }
    TRY("parent: setpgid(child, 0)", setpgid(c, 0));
    printf("parent: getpgid(child)==child=%d\n", getpgid(c) == c);
    write(g[1], "1", 1);
    msleep(50);
    TRY("parent: setpgid(child, our pgrp)", setpgid(c, getpgrp()));
    write(g[1], "2", 1);
    waitpid(c, NULL, 0);
    TRY("setsid in the group leader", setsid());
}

static void killgroup(void)
{
    /* three children in a new group (the first child leads it), one child in ours; kill(-pgid)
     * ends exactly the three */
    pid_t kids[4];
    pid_t pg = 0;
    fflush(stdout);
    for (int i = 0; i < 4; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            if (i < 3)
                setpgid(0, pg);
            for (int n = 0; n < 100; n++)
                msleep(20);
            _exit(7);
        }
        if (i < 3) {
            setpgid(kids[i], pg);
            if (i == 0)
                pg = kids[0];
        }
    }
    for (int i = 0; i < 4; i++)
        printf("child %d in the new group=%d\n", i, getpgid(kids[i]) == pg);
    TRY("kill(-pgid, SIGTERM)", kill(-pg, SIGTERM));
    for (int i = 0; i < 4; i++) {
        int st;
        waitpid(kids[i], &st, 0);
        if (WIFSIGNALED(st))
            printf("child %d: killed by signal %d\n", i, WTERMSIG(st));
        else
            printf("child %d: exited %d\n", i, WEXITSTATUS(st));
    }
    TRY("kill(-pgid) of an empty group", kill(-pg, SIGTERM));
    TRY("kill(bad signal)", kill(getpid(), 1000));
    TRY("kill(self, 0)", kill(getpid(), 0));
    /* kill(0, sig) reaches our own group, ourselves included */
    signal(SIGUSR1, SIG_IGN);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        signal(SIGUSR1, SIG_DFL);
        for (int n = 0; n < 100; n++)
            msleep(20);
        _exit(0);
    }
    msleep(50);
    TRY("kill(0, SIGUSR1)", kill(0, SIGUSR1));
    int st;
    waitpid(c, &st, 0);
    printf("child in our group: signaled=%d by SIGUSR1=%d\n", WIFSIGNALED(st), WTERMSIG(st) == SIGUSR1);
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";
    if (argc > 2 && !strcmp(argv[2], "leader") && getpgrp() != getpid())
        setsid(); /* native runs: become a session and group leader like a root cage */
    if (!strcmp(m, "semantics"))
        semantics();
    else if (!strcmp(m, "killgroup"))
        killgroup();
    else
        return 2;
    return 0;
}

/* Helper program exec'd by the process tests (native and cage builds share the same source).
 * usage: proc_child MODE [args...]; installed under the name of a mode (lecho, upper, count, exit) it
 * runs that mode with all its arguments
 *   argv            print argc/argv and the PROC_* environment variables
 *   fds N...        report for each fd N whether it is open
 *   chain N PROG    exec PROG chain N-1 PROG until N == 0, then exit 0
 *   exit N          exit with status N
 *   upper           copy stdin to stdout in upper case
 *   lecho ARGS      print ARGS separated by spaces
 *   count           count stdin bytes and lines
 *   sleep MS        sleep MS milliseconds
 *   sigdisp         print the disposition and blocked state of SIGUSR1, SIGUSR2, SIGTERM
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    /* installed as "lecho", "upper", "count" or "exit", the program name is the mode */
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    if (!strcmp(base, "lecho") || !strcmp(base, "upper") || !strcmp(base, "count") || !strcmp(base, "exit")) {
        char **nargv = calloc((size_t)argc + 2, sizeof *nargv);
        nargv[0] = argv[0];
        nargv[1] = (char *)base;
        for (int i = 1; i < argc; i++)
            nargv[i + 1] = argv[i];
        argv = nargv;
        argc++;
    }
    const char *mode = argc > 1 ? argv[1] : "argv";
    if (!strcmp(mode, "argv")) {
        printf("child argc=%d\n", argc);
        for (int i = 1; i < argc; i++)
            printf("child argv[%d]=[%s]\n", i, argv[i]);
        int n = 0;
        for (char **e = environ; *e; e++)
            if (!strncmp(*e, "PROC_", 5)) {
                printf("child env %s\n", *e);
                n++;
            }
        printf("child PROC_ vars=%d\n", n);
        return 0;
    }
    if (!strcmp(mode, "fds")) {
        for (int i = 2; i < argc; i++) {
            int fd = atoi(argv[i]);
            int r = fcntl(fd, F_GETFD);
            printf("child fd %s: %s\n", argv[i], r >= 0 ? "open" : (errno == EBADF ? "closed (EBADF)" : "?"));
        }
        return 0;
    }
    if (!strcmp(mode, "chain")) {
        long n = strtol(argv[2], NULL, 10);
        if (n == 0)
            return 0;
        char buf[32];
        snprintf(buf, sizeof buf, "%ld", n - 1);
        char *nargv[] = {argv[0], "chain", buf, argv[3], NULL};
        execv(argv[3], nargv);
        perror("execv");
        return 100;
    }
    if (!strcmp(mode, "exit"))
        return atoi(argv[2]);
    if (!strcmp(mode, "upper") || !strcmp(mode, "count")) {
        int c;
        long bytes = 0, lines = 0;
        while ((c = getchar()) != EOF) {
            bytes++;
            lines += c == '\n';
            if (mode[0] == 'u')
                putchar(toupper(c));
        }
        if (mode[0] == 'c')
            printf("%ld bytes %ld lines\n", bytes, lines);
        return 0;
    }
    if (!strcmp(mode, "lecho")) {
        for (int i = 2; i < argc; i++)
            printf("%s%s", argv[i], i + 1 < argc ? " " : "");
        printf("\n");
        return 0;
    }
    if (!strcmp(mode, "sleep")) {
        struct timespec ts = {atoi(argv[2]) / 1000, (atoi(argv[2]) % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        return 0;
    }
    if (!strcmp(mode, "sigdisp")) {
        int sigs[] = {SIGUSR1, SIGUSR2, SIGTERM};
        sigset_t mask;
        sigprocmask(SIG_BLOCK, NULL, &mask);
        for (int i = 0; i < 3; i++) {
            struct sigaction sa;
            sigaction(sigs[i], NULL, &sa);
            printf("child signal %d: %s, %s\n", sigs[i],
                   sa.sa_handler == SIG_IGN ? "ignored" : sa.sa_handler == SIG_DFL ? "default" : "handler",
                   sigismember(&mask, sigs[i]) ? "blocked" : "not blocked");
        }
        return 0;
    }
    fprintf(stderr, "proc_child: unknown mode %s\n", mode);
    return 99;
}

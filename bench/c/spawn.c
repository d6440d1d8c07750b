/* fork + exec of a program (hello) + wait, N times. usage: spawn PROG N
 * Prints spawns per second. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *prog = argv[1];
    int n = argc > 2 ? atoi(argv[2]) : 100;
    int devnull = open("/dev/null", O_WRONLY);
    double t0 = now();
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) {
            if (devnull >= 0)
                dup2(devnull, 1);
            char *args[] = {"hello", NULL};
            execv(prog, args);
            _exit(127);
        }
        int st;
        if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "spawn %d failed\n", i);
            return 1;
        }
    }
    printf("%.1f\n", n / (now() - t0));
    return 0;
}

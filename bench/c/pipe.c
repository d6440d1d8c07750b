/* Pipe ping-pong between two processes: 1 byte there and back. usage: pipe N
 * Prints the mean microseconds per round trip. */
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
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    int ping[2], pong[2];
    if (pipe(ping) < 0 || pipe(pong) < 0)
        return 1;
    pid_t p = fork();
    if (p == 0) {
        char c;
        close(ping[1]);
        close(pong[0]);
        while (read(ping[0], &c, 1) == 1)
            if (write(pong[1], &c, 1) != 1)
                _exit(1);
        _exit(0);
    }
    close(ping[0]);
    close(pong[1]);
    char c = 'x';
    for (int i = 0; i < n / 10; i++) { /* warm up */
        if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
            return 1;
    }
    double t0 = now();
    for (int i = 0; i < n; i++) {
        if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
            return 1;
    }
    double dt = now() - t0;
    close(ping[1]);
    waitpid(p, NULL, 0);
    printf("%.2f\n", dt / n * 1e6);
    return 0;
}

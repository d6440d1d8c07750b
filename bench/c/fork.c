/* fork + _exit + waitpid latency with MIB MiB of touched heap. usage: fork N [MIB]
 * Prints the median over 5 batches of the mean microseconds per fork+exit+wait. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    size_t mib = argc > 2 ? (size_t)atoi(argv[2]) : 4;
    char *mem = malloc(mib << 20);
    memset(mem, 1, mib << 20); /* touched: the child gets a real copy */
    double batch[5];
    for (int b = 0; b < 5; b++) {
        double t0 = now();
        for (int i = 0; i < n; i++) {
            pid_t p = fork();
            if (p == 0)
                _exit(mem[i % (mib << 20)]);
            if (p < 0 || waitpid(p, NULL, 0) != p) {
                perror("fork/wait");
                return 1;
            }
        }
        batch[b] = (now() - t0) / n * 1e6;
    }
    qsort(batch, 5, sizeof batch[0], cmp);
    printf("%.1f\n", batch[2]);
    return 0;
}

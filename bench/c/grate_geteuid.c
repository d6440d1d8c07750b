/* geteuid N times (argv[1]); prints the mean ns per call. Native, in a cage, or in a cage under a
 * grate that answers geteuid (grates/fakeid.c). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    volatile long sink = 0;
    struct timespec a, b;
    for (long i = 0; i < n / 10; i++) /* warm up (grate workers, caches) */
        sink += geteuid();
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++)
        sink += geteuid();
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.2f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
    return 0;
}

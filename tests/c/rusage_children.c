/* wait4's rusage and getrusage(RUSAGE_CHILDREN) report the CPU time of reaped children. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static double secs(struct timeval tv) { return tv.tv_sec + tv.tv_usec / 1e6; }

int main(void)
{
    struct rusage before;
    getrusage(RUSAGE_CHILDREN, &before);
    pid_t p = fork();
    if (p == 0) {
        volatile unsigned long x = 0;
        for (unsigned long i = 0; i < 400000000UL; i++)
            x += i;
        _exit(0);
    }
    int st;
    struct rusage ru;
    wait4(p, &st, 0, &ru);
    struct rusage after;
    getrusage(RUSAGE_CHILDREN, &after);
    printf("children before: %d\n", secs(before.ru_utime) < 0.01);
    printf("wait4 rusage counts the child: %d\n", secs(ru.ru_utime) + secs(ru.ru_stime) > 0.05);
    printf("RUSAGE_CHILDREN counts it: %d\n", secs(after.ru_utime) + secs(after.ru_stime) > 0.05);
    printf("maxrss > 0: %d\n", ru.ru_maxrss > 0);
    return 0;
}

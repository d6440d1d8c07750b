/* NTHREADS threads x NCALLS calls of geteuid through grate_testgrate --mode euid, each passing its
 * own token in a1: the answer must be (token * 7 + our cage id) & 0x3fffffff every time. */
#include <lind_syscall.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int ncalls = 100000;
static long pid;

static void *run(void *arg)
{
    long t = (long)arg, bad = 0;
    for (long k = 0; k < ncalls; k++) {
        unsigned long long token = (unsigned long long)t * 1000003ull + (unsigned long long)k;
        long long r = __lind_syscall(107, 0, 0, token, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        if (r != (long long)((token * 7 + (unsigned long long)pid) & 0x3fffffff)) {
            if (bad++ < 3)
                printf("thread %ld call %ld: got %lld\n", t, k, r);
        }
    }
    return (void *)bad;
}

int main(int argc, char **argv)
{
    int nthreads = argc > 1 ? atoi(argv[1]) : 20;
    if (argc > 2)
        ncalls = atoi(argv[2]);
    pid = getpid();
    pthread_t th[64];
    for (long t = 0; t < nthreads; t++)
        if (pthread_create(&th[t], NULL, run, (void *)t) != 0) {
            printf("pthread_create failed\n");
            return 2;
        }
    long bad = 0;
    for (int t = 0; t < nthreads; t++) {
        void *r;
        pthread_join(th[t], &r);
        bad += (long)r;
    }
    printf("threads=%d calls=%d bad=%ld\n", nthreads, ncalls, bad);
    return bad != 0;
}

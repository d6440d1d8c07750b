/* Calls geteuid in a loop for MS milliseconds (argv[1]) in THREADS threads (argv[4], default 1)
 * and checks how the answers change: the grate's WANT (argv[2], 777) then, once the grate is gone,
 * the microvisor's REAL (argv[3], 0), never back and never anything else. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double end;
static int want = 777, real;

struct result {
    long n_grate, n_real, switches;
    int failed;
};

static void *loop(void *arg)
{
    struct result *res = arg;
    long n_grate = 0, n_real = 0, switches = 0;
    int last = -1;
    while (now() < end) {
        for (int k = 0; k < 1000; k++) {
            int v = (int)geteuid();
            if (v != want && v != real) {
                printf("bad value %d\n", v);
                res->failed = 1;
                return NULL;
            }
            if (v == real && last == want)
                switches++;
            if (v == want && last == real) {
                printf("went back to the grate\n");
                res->failed = 1;
                return NULL;
            }
            last = v;
            if (v == want)
                n_grate++;
            else
                n_real++;
        }
    }
    *res = (struct result){n_grate, n_real, switches, 0};
    return NULL;
}

int main(int argc, char **argv)
{
    end = now() + (argc > 1 ? atoi(argv[1]) : 500) / 1000.0;
    if (argc > 2)
        want = atoi(argv[2]);
    if (argc > 3)
        real = atoi(argv[3]);
    int nthreads = argc > 4 ? atoi(argv[4]) : 1;
    if (nthreads == 0) { /* no call in flight when the grate exits: sleep through it */
        int before = (int)geteuid();
        struct timespec ts = {0, 400 * 1000000L};
        nanosleep(&ts, NULL);
        printf("before=%d after=%d\n", before, (int)geteuid());
        return 0;
    }
    pthread_t th[32];
    struct result res[32] = {0};
    for (int t = 1; t < nthreads; t++)
        pthread_create(&th[t], NULL, loop, &res[t]);
    loop(&res[0]);
    int failed = res[0].failed, all_grate = 1, all_real = 1, all_one = 1;
    for (int t = 0; t < nthreads; t++) {
        if (t)
            pthread_join(th[t], NULL);
        failed |= res[t].failed;
        all_grate &= res[t].n_grate > 0;
        all_real &= res[t].n_real > 0;
        all_one &= res[t].switches == 1;
    }
    if (failed)
        return 1;
    printf("grate=%s real=%s switches=%s\n", all_grate ? "yes" : "no", all_real ? "yes" : "no",
           all_one ? "1" : "other");
    return 0;
}

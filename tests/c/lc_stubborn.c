/* A cage that resists: it blocks and ignores every signal it can, then argv[1] decides what it does
 * for ever: "spin" (CPU loop), "read" (blocks reading a pipe nobody writes), "sleep" (nanosleep),
 * "futex" (waits on a condition variable nobody signals), "poll" (poll on a pipe with no timeout). */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "spin";
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    for (int s = 1; s < 65; s++)
        signal(s, SIG_IGN);
    int p[2];
    if (pipe(p) < 0)
        return 2;
    printf("ready\n");
    fflush(stdout);
    if (strcmp(mode, "read") == 0) {
        char c;
        read(p[0], &c, 1);
    } else if (strcmp(mode, "sleep") == 0) {
        struct timespec ts = {100000, 0};
        nanosleep(&ts, NULL);
    } else if (strcmp(mode, "futex") == 0) {
        pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
        pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
        pthread_mutex_lock(&m);
        for (;;)
            pthread_cond_wait(&cv, &m);
    } else if (strcmp(mode, "poll") == 0) {
        struct pollfd pf = {p[0], POLLIN, 0};
        poll(&pf, 1, -1);
    }
    for (volatile unsigned long x = 0;; x++)
        ;
}

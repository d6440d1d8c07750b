/* Prints its pid, then the pids of 50 children it forks (one at a time, each reaped) and the tids
 * of 10 threads it starts (at once), one per line. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_barrier_t all_up;

static void *report_tid(void *arg)
{
    *(long *)arg = syscall(SYS_gettid);
    pthread_barrier_wait(&all_up); /* (alive at once: their tids are in use together) */
    return NULL;
}

int main(void)
{
    printf("%d\n", getpid());
    for (int i = 0; i < 50; i++) {
        fflush(stdout);
        pid_t p = fork();
        if (p == 0)
            _exit(0);
        waitpid(p, NULL, 0);
        printf("%d\n", p);
    }
    pthread_t t[10];
    long tids[10];
    pthread_barrier_init(&all_up, NULL, 11);
    for (int i = 0; i < 10; i++)
        pthread_create(&t[i], NULL, report_tid, &tids[i]);
    pthread_barrier_wait(&all_up);
    for (int i = 0; i < 10; i++) {
        pthread_join(t[i], NULL);
        printf("%ld\n", tids[i]);
    }
    return 0;
}

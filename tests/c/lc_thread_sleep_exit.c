/* The main thread ends with SYS_exit (only itself) while another thread sleeps for ever: the
 * process lives on in the sleeper, as on Linux. argv[1] "wake" makes the sleeper print and exit
 * after 200 ms instead. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int wake;

static void *sleeper(void *arg)
{
    (void)arg;
    struct timespec ts = {wake ? 0 : 100000, wake ? 200000000 : 0};
    clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
    printf("sleeper woke\n");
    fflush(stdout);
    _exit(7);
}

int main(int argc, char **argv)
{
    wake = argc > 1 && strcmp(argv[1], "wake") == 0;
    pthread_t t;
    pthread_create(&t, NULL, sleeper, NULL);
    usleep(20000);
    printf("main leaves\n");
    fflush(stdout);
    syscall(SYS_exit, 0);
    return 1;
}

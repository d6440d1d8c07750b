/* exec from a thread other than the main one: the other threads end, the program is replaced, the
 * process keeps its pid, and the new program starts with one thread.
 * usage: thread_exec PROG (PROG is this program, installed in the working directory) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *prog;
static char pid_arg[32];

static void *sleeper(void *arg)
{
    (void)arg;
    for (;;)
        sleep(1);
    return NULL;
}

static void *spinner(void *arg)
{
    (void)arg;
    for (volatile unsigned long i = 0;; i++)
        ;
    return NULL;
}

static void *execer(void *arg)
{
    (void)arg;
    usleep(50 * 1000); /* the main thread is blocked in pthread_join by now */
    execl(prog, prog, "replaced", pid_arg, (char *)NULL);
    perror("execl");
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "replaced")) {
        printf("replaced: same pid %d\n", atoi(argv[2]) == (int)getpid());
        /* a fresh program: threads work again */
        pthread_t t;
        printf("new thread: %d\n", pthread_create(&t, NULL, sleeper, NULL) == 0);
        return 7;
    }
    if (argc < 2)
        return 2;
    prog = argv[1];
    snprintf(pid_arg, sizeof pid_arg, "%d", (int)getpid());
    printf("before exec\n");
    fflush(stdout);
    pthread_t s, p, e;
    pthread_create(&s, NULL, sleeper, NULL);
    pthread_create(&p, NULL, spinner, NULL);
    pthread_create(&e, NULL, execer, NULL);
    pthread_join(e, NULL);
    printf("not reached\n");
    return 1;
}

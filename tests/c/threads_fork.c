#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
static volatile int stop;
static volatile long spins;
static void *spin(void *a) { (void)a; while (!stop) spins++; return NULL; }
int main(void) {
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, spin, NULL);
    usleep(10000);
    pid_t p = fork();
    if (p == 0) { printf("child: alone, spins visible=%d\n", spins > 0); fflush(stdout); _exit(3); }
    int st; waitpid(p, &st, 0);
    stop = 1;
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    printf("parent: child status %d, threads joined\n", WEXITSTATUS(st));
    return 0;
}

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter;
static int ready;
static __thread int tls_val;

static void *worker(void *arg)
{
    long id = (long)arg;
    tls_val = (int)id * 10;
    for (int i = 0; i < 100000; i++) {
        pthread_mutex_lock(&mu);
        counter++;
        pthread_mutex_unlock(&mu);
    }
    pthread_mutex_lock(&mu);
    ready++;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    return (void *)(long)(tls_val + 1);
}

int main(void)
{
    pthread_t t[4];
    tls_val = -1;
    for (long i = 0; i < 4; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i) != 0) { perror("pthread_create"); return 1; }
    pthread_mutex_lock(&mu);
    while (ready < 4) pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    long sum = 0;
    for (int i = 0; i < 4; i++) { void *r; pthread_join(t[i], &r); sum += (long)r; }
    printf("counter=%ld sum=%ld main_tls=%d\n", counter, sum, tls_val);
    return 0;
}

/* Burns CPU in several places at once: argv[1] "fork" (the root and 2 children spin) or
 * "threads" (4 threads spin). It never ends by itself. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static void *spin(void *arg)
{
    (void)arg;
    for (volatile unsigned long x = 0;; x++)
        ;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "threads") == 0) {
        pthread_t t[3];
        for (int i = 0; i < 3; i++)
            pthread_create(&t[i], NULL, spin, NULL);
    } else {
        for (int i = 0; i < 2; i++)
            if (fork() == 0)
                break;
    }
    spin(NULL);
    return 0;
}

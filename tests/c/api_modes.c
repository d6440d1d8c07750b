/* A probe for the embedding API (tests/test_api.py, test_batch.py, test_http_example.py).
 * usage: api_modes MODE [ARG]
 *   echo          copy stdin to stdout, then print "bytes=N" on stderr
 *   exit N        exit with status N after writing "out" / "err"
 *   crash         write through a wild pointer (a trap: SIGSEGV)
 *   mem           malloc 1 MiB blocks until malloc returns NULL; print how many MiB it got
 *   cpu           busy loop forever (a CPU-time limit ends it with SIGXCPU)
 *   sleep N       sleep N seconds, then print "woke"
 *   fds           open /dev/null until it fails; print the count and the errno name
 *   forkbomb      fork until fork fails; print the errno name; children sleep, then exit
 *   binary        write 256 bytes 0..255 to stdout
 *   big N         write N KiB of 'x' to stdout
 *   env NAME      print the value of the environment variable NAME */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "echo";
    const char *arg = argc > 2 ? argv[2] : "0";
    if (!strcmp(mode, "echo")) {
        char buf[4096];
        long total = 0;
        ssize_t n;
        while ((n = read(0, buf, sizeof buf)) > 0) {
            fwrite(buf, 1, (size_t)n, stdout);
            total += n;
        }
        fflush(stdout);
        fprintf(stderr, "bytes=%ld\n", total);
        return 0;
    }
    if (!strcmp(mode, "exit")) {
        printf("out\n");
        fprintf(stderr, "err\n");
        return atoi(arg);
    }
    if (!strcmp(mode, "crash")) {
        printf("about to crash\n");
        fflush(stdout);
        *(volatile int *)0xfffffff0u = 1;
        return 0;
    }
    if (!strcmp(mode, "mem")) {
        long mib = 0;
        for (;;) {
            char *volatile p = malloc(1 << 20);
            if (p == NULL)
                break;
            p[0] = 1; /* used, so the compiler keeps the allocation */
            mib++;
        }
        printf("malloc failed after %ld MiB\n", mib);
        return 0;
    }
    if (!strcmp(mode, "cpu")) {
        volatile unsigned long x = 0;
        for (;;)
            x++;
    }
    if (!strcmp(mode, "sleep")) {
        sleep((unsigned)atoi(arg));
        printf("woke\n");
        return 0;
    }
    if (!strcmp(mode, "fds")) {
        int n = 0;
        while (open("/dev/null", O_RDONLY) >= 0)
            n++;
        printf("opened %d, then %s\n", n, errno == EMFILE ? "EMFILE" : strerror(errno));
        return 0;
    }
    if (!strcmp(mode, "forkbomb")) {
        int n = 0;
        for (;;) {
            pid_t p = fork();
            if (p == 0) {
                sleep(1);
                _exit(0);
            }
            if (p < 0)
                break;
            n++;
        }
        printf("forked %d, then %s\n", n, errno == EAGAIN ? "EAGAIN" : strerror(errno));
        fflush(stdout);
        while (wait(NULL) > 0)
            ;
        return 0;
    }
    if (!strcmp(mode, "binary")) {
        unsigned char b[256];
        for (int i = 0; i < 256; i++)
            b[i] = (unsigned char)i;
        fwrite(b, 1, sizeof b, stdout);
        return 0;
    }
    if (!strcmp(mode, "big")) {
        static char k[1024];
        memset(k, 'x', sizeof k);
        for (int i = 0; i < atoi(arg); i++)
            fwrite(k, 1, sizeof k, stdout);
        return 0;
    }
    if (!strcmp(mode, "env")) {
        const char *v = getenv(arg);
        printf("%s\n", v ? v : "(unset)");
        return 0;
    }
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
}

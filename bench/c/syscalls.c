/* Per-call cost of a few system calls: syscalls <name> <iterations>; prints ns per call. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: syscalls getppid|close|pread1|pread4k|write1 N\n");
        return 2;
    }
    const char *what = argv[1];
    long n = atol(argv[2]);
    static char buf[4096];
    int fd = -1;
    if (strncmp(what, "pread", 5) == 0) {
        fd = open("bench-data.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
        memset(buf, 'x', sizeof buf);
        if (fd < 0 || write(fd, buf, sizeof buf) != sizeof buf) {
            perror("bench-data.bin");
            return 1;
        }
    } else if (strcmp(what, "write1") == 0) {
        fd = open("/dev/null", O_WRONLY);
    }
    size_t len = strcmp(what, "pread4k") == 0 ? 4096 : 1;
    volatile long sink = 0;
    double t0 = now_ns();
    if (strcmp(what, "getppid") == 0)
        for (long i = 0; i < n; i++)
            sink += getppid();
    else if (strcmp(what, "close") == 0)
        for (long i = 0; i < n; i++)
            sink += close(-1);
    else if (strncmp(what, "pread", 5) == 0)
        for (long i = 0; i < n; i++)
            sink += pread(fd, buf, len, 0);
    else if (strcmp(what, "write1") == 0)
        for (long i = 0; i < n; i++)
            sink += write(fd, buf, 1);
    else
        return 2;
    double t1 = now_ns();
    printf("%.1f\n", (t1 - t0) / n);
    if (fd >= 0 && strncmp(what, "pread", 5) == 0)
        unlink("bench-data.bin");
    return 0;
}

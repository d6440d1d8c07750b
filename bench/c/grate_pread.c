/* pread of SIZE bytes (argv[2]) at offset 0 of FILE (argv[1], created with 8 KiB of data), N times
 * (argv[3]); prints the mean ns per call. Run natively on a real file, in a cage on a real file,
 * or in a cage under grates/imfs.c on a file under its prefix. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    size_t size = (size_t)atol(argv[2]);
    long n = atol(argv[3]);
    static char buf[8192];
    memset(buf, 'x', sizeof buf);
    int fd = open(argv[1], O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0 || write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) {
        perror(argv[1]);
        return 1;
    }
    for (long i = 0; i < n / 10; i++)
        if (pread(fd, buf, size, 0) != (ssize_t)size)
            return 1;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++)
        if (pread(fd, buf, size, 0) != (ssize_t)size)
            return 1;
    clock_gettime(CLOCK_MONOTONIC, &b);
    close(fd);
    unlink(argv[1]);
    printf("%.2f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
    return 0;
}

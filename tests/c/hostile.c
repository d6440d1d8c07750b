/* A cage-side probe for tests/test_hostile.py: wild pointers, wild fds, and faults.
 * usage: hostile efault | badfd | oob_write | oob_read | trap | div0 | recurse
 * Raw syscall() is used for the pointer cases so that libc wrappers (which may copy through their own
 * buffers) do not touch the wild pointers first: what is tested is the host's EFAULT checking. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define WILD ((void *)0xfffffff0u)

static const char *en(int e)
{
    static char other[32];
    switch (e) {
    case 0: return "OK";
    case EFAULT: return "EFAULT";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    default:
        snprintf(other, sizeof other, "errno%d", e);
        return other;
    }
}

#define T(label, expr)                                                                                            \
    do {                                                                                                          \
        errno = 0;                                                                                                \
        long _r = (long)(expr);                                                                                   \
        printf("%s: %s\n", label, _r < 0 ? en(errno) : "OK");                                                     \
    } while (0)

static volatile int depth_sink;
static int recurse(int n)
{
    volatile char pad[256];
    pad[n & 255] = (char)n;
    depth_sink = pad[(n * 7) & 255];
    return recurse(n + 1) + pad[0];
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "efault";
    uintptr_t mem_end = (uintptr_t)__builtin_wasm_memory_size(0) * 65536u;
    if (strcmp(mode, "efault") == 0) {
        int fd = open("f", O_CREAT | O_RDWR | O_TRUNC, 0644);
        write(fd, "0123456789", 10);
        char ok[16];
        /* our own page at the very end of linear memory, for buffers and strings that run off it */
        if (__builtin_wasm_memory_grow(0, 1) == (size_t)-1) {
            printf("memory.grow failed\n");
            return 2;
        }
        mem_end = (uintptr_t)__builtin_wasm_memory_size(0) * 65536u;
        char *tail = (char *)(mem_end - 64);
        memset(tail, 'A', 64); /* no NUL before the end of memory */
        printf("memory end is page aligned: %d\n", mem_end % 65536 == 0);

        T("read wild", syscall(SYS_read, fd, WILD, 100));
        T("read NULL", syscall(SYS_read, fd, NULL, 10));
        T("read straddling end", syscall(SYS_pread64, fd, tail + 60, 8, 0));
        T("read huge len", syscall(SYS_read, fd, ok, 0xfffffff0u));
        T("read valid", syscall(SYS_pread64, fd, ok, 10, 0));
        T("write wild", syscall(SYS_write, 1, WILD, 16));
        T("write past end", syscall(SYS_write, 1, (void *)mem_end, 4));
        T("write huge len", syscall(SYS_write, 1, ok, 0x7fffffffu));
        T("pwrite wild", syscall(SYS_pwrite64, fd, WILD, 4, 0));
        T("open wild path", syscall(SYS_open, WILD, O_RDONLY));
        T("open NULL path", syscall(SYS_open, NULL, O_RDONLY));
        T("open path off the end", syscall(SYS_open, tail, O_RDONLY));
        T("openat path off the end", syscall(SYS_openat, AT_FDCWD, tail, O_RDONLY));
        T("stat wild buf", syscall(SYS_stat, "f", WILD));
        T("stat wild path", syscall(SYS_stat, WILD, ok));
        T("stat path off the end", syscall(SYS_stat, tail, ok));
        T("fstat wild buf", syscall(SYS_fstat, fd, WILD));
        T("newfstatat wild", syscall(SYS_newfstatat, AT_FDCWD, "f", WILD, 0));
        T("mkdir path off the end", syscall(SYS_mkdir, tail, 0755));
        T("unlink wild", syscall(SYS_unlink, WILD));
        T("rename wild", syscall(SYS_rename, "f", WILD));
        T("symlink wild target", syscall(SYS_symlink, WILD, "lnk"));
        T("readlink wild buf", syscall(SYS_readlink, "f", WILD, 100));
        T("chdir wild", syscall(SYS_chdir, WILD));
        T("getcwd wild", syscall(SYS_getcwd, WILD, 100));
        T("getcwd straddling", syscall(SYS_getcwd, tail + 63, 100));
        T("clock_gettime wild", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, WILD));
        T("clock_gettime NULL", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, NULL));
        T("clock_getres wild", syscall(SYS_clock_getres, CLOCK_MONOTONIC, WILD));
        T("gettimeofday wild", syscall(SYS_gettimeofday, WILD, NULL));
        T("nanosleep wild", syscall(SYS_nanosleep, WILD, NULL));
        T("uname wild", syscall(SYS_uname, WILD));
        T("getrandom wild", syscall(SYS_getrandom, WILD, 32, 0));
        T("sysinfo wild", syscall(SYS_sysinfo, WILD));
        T("getrlimit wild", syscall(SYS_getrlimit, RLIMIT_NOFILE, WILD));
        T("statfs wild", syscall(SYS_statfs, "f", WILD));
        T("utimensat wild", syscall(SYS_utimensat, AT_FDCWD, "f", WILD, 0));
        T("getdents64 wild", syscall(SYS_getdents64, fd, WILD, 4096));
        T("fcntl F_GETLK wild", syscall(SYS_fcntl, fd, F_GETLK, WILD));
        T("ioctl TIOCGWINSZ wild", syscall(SYS_ioctl, 1, 0x5413, WILD));

        uint32_t iov[4];
        iov[0] = (uint32_t)(uintptr_t)ok;
        iov[1] = 4;
        iov[2] = 0xfffffff0u;
        iov[3] = 16;
        T("readv entry out of bounds", syscall(SYS_readv, fd, iov, 2));
        T("writev entry out of bounds", syscall(SYS_writev, 1, iov, 2));
        T("preadv entry out of bounds", syscall(SYS_preadv, fd, iov, 2, 0));
        iov[2] = (uint32_t)(uintptr_t)ok;
        iov[3] = 0xfffffff0u;
        T("readv entry huge len", syscall(SYS_readv, fd, iov, 2));
        T("readv iov array wild", syscall(SYS_readv, fd, WILD, 2));
        T("writev iov array off the end", syscall(SYS_writev, 1, tail + 60, 1));
        T("readv iovcnt huge", syscall(SYS_readv, fd, iov, 100000));
        iov[3] = 4;
        T("readv valid", syscall(SYS_preadv, fd, iov, 2, 0));
        close(fd);
        printf("survived\n");
        return 7;
    }
    if (strcmp(mode, "badfd") == 0) {
        char buf[4];
        int fds[] = {-1, 1000000, INT_MAX, 3, 1023, 1024, -100};
        for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++) {
            char l[64];
            snprintf(l, sizeof l, "close(%d)", fds[i]);
            T(l, close(fds[i]));
            snprintf(l, sizeof l, "read(%d)", fds[i]);
            T(l, read(fds[i], buf, sizeof buf));
            snprintf(l, sizeof l, "write(%d)", fds[i]);
            T(l, write(fds[i], "x", 1));
            snprintf(l, sizeof l, "fcntl(%d)", fds[i]);
            T(l, fcntl(fds[i], F_GETFD));
            snprintf(l, sizeof l, "dup(%d)", fds[i]);
            T(l, dup(fds[i]));
            snprintf(l, sizeof l, "lseek(%d)", fds[i]);
            T(l, lseek(fds[i], 0, SEEK_SET));
        }
        T("dup2(1, -1)", dup2(1, -1));
        T("dup2(1, INT_MAX)", dup2(1, INT_MAX));
        T("dup2(1, 1000000)", dup2(1, 1000000));
        T("openat bad dirfd", openat(1000000, "x", O_RDONLY));
        printf("survived\n");
        return 9;
    }
    if (strcmp(mode, "oob_write") == 0) {
        printf("before\n");
        fflush(stdout);
        *(volatile int *)(uintptr_t)0xfffffff0u = 1;
        printf("after\n");
        return 0;
    }
    if (strcmp(mode, "oob_read") == 0) {
        printf("before\n");
        fflush(stdout);
        volatile int v = *(volatile int *)(mem_end + 4096);
        printf("after %d\n", v);
        return 0;
    }
    if (strcmp(mode, "trap") == 0) {
        printf("before\n");
        fflush(stdout);
        __builtin_trap();
    }
    if (strcmp(mode, "div0") == 0) {
        volatile int zero = 0, x = 42;
        printf("before\n");
        fflush(stdout);
        printf("after %d\n", x / zero);
        return 0;
    }
    if (strcmp(mode, "recurse") == 0) {
        printf("before\n");
        fflush(stdout);
        printf("after %d\n", recurse(0));
        return 0;
    }
    printf("unknown mode\n");
    return 1;
}

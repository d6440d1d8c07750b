/* flock (between two opens, and against a child), mkfifo/mknod, fallocate, posix_fadvise, sendfile,
 * copy_file_range, memfd_create, times. usage: fs_more [devnode] */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err(int r) { return r < 0 ? strerror(errno) : "ok"; }

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "devnode") == 0) {
        int r = mknod("null2", S_IFCHR | 0666, makedev(1, 3));
        printf("mknod of a character device: %s\n", err(r));
        return 0;
    }
    int a = open("lock.txt", O_CREAT | O_RDWR, 0644), b = open("lock.txt", O_RDWR);
    printf("flock a LOCK_EX: %s\n", err(flock(a, LOCK_EX)));
    printf("flock b LOCK_EX|LOCK_NB: %s\n", err(flock(b, LOCK_EX | LOCK_NB)));
    printf("flock b LOCK_SH|LOCK_NB: %s\n", err(flock(b, LOCK_SH | LOCK_NB)));
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) { /* a new open in the child conflicts too; the inherited one shares the lock */
        int c = open("lock.txt", O_RDWR);
        printf("child: own open LOCK_EX|LOCK_NB: %s\n", err(flock(c, LOCK_EX | LOCK_NB)));
        printf("child: inherited LOCK_EX|LOCK_NB: %s\n", err(flock(a, LOCK_EX | LOCK_NB)));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("flock a LOCK_UN: %s\n", err(flock(a, LOCK_UN)));
    printf("flock b LOCK_EX|LOCK_NB: %s\n", err(flock(b, LOCK_EX | LOCK_NB)));
    printf("flock bad op: %s\n", err(flock(b, 12345)));
    close(a);
    close(b);

    printf("mkfifo: %s\n", err(mkfifo("fifo", 0600)));
    struct stat st;
    stat("fifo", &st);
    printf("is a fifo: %d\n", S_ISFIFO(st.st_mode));
    int rfd = open("fifo", O_RDONLY | O_NONBLOCK), wfd = open("fifo", O_WRONLY);
    write(wfd, "through the fifo", 16);
    char buf[64] = {0};
    printf("fifo read: %zd %s\n", read(rfd, buf, sizeof buf), buf);
    close(rfd);
    close(wfd);
    printf("mkfifo again: %s\n", err(mkfifo("fifo", 0600)));
    printf("mknod regular: %s\n", err(mknod("plain", S_IFREG | 0644, 0)));
    stat("plain", &st);
    printf("is regular, size %lld\n", (long long)st.st_size);

    int f = open("data.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
    printf("fallocate: %s\n", err(fallocate(f, 0, 0, 100000)));
    fstat(f, &st);
    printf("size after fallocate: %lld\n", (long long)st.st_size);
    printf("posix_fadvise: %d, bad advice: %d\n", posix_fadvise(f, 0, 0, POSIX_FADV_SEQUENTIAL),
           posix_fadvise(f, 0, 0, 999) == EINVAL);
    pwrite(f, "0123456789abcdef", 16, 0);
    int g = open("copy.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
    off_t off = 4;
    ssize_t n = sendfile(g, f, &off, 6);
    printf("sendfile: %zd, offset now %lld\n", n, (long long)off);
    loff_t in = 10, out = 6;
    n = copy_file_range(f, &in, g, &out, 6, 0);
    printf("copy_file_range: %zd, offsets %lld %lld\n", n, (long long)in, (long long)out);
    memset(buf, 0, sizeof buf);
    pread(g, buf, sizeof buf - 1, 0);
    printf("copy.bin: %s\n", buf);
    printf("sendfile from a bad fd: %s\n", err((int)sendfile(g, 999, NULL, 1)));
    close(f);
    close(g);

    int m = memfd_create("scratch", MFD_CLOEXEC);
    printf("memfd_create: %d, cloexec %d\n", m >= 0, (fcntl(m, F_GETFD) & FD_CLOEXEC) != 0);
    write(m, "in memory", 9);
    memset(buf, 0, sizeof buf);
    pread(m, buf, sizeof buf - 1, 0);
    fstat(m, &st);
    printf("memfd: %s, size %lld\n", buf, (long long)st.st_size);
    printf("memfd bad flags: %s\n", err(memfd_create("x", 0x1000)));

    struct tms t;
    clock_t now = times(&t);
    printf("times: %s\n", now != (clock_t)-1 && t.tms_utime >= 0 && t.tms_cutime >= 0 ? "ok" : "failed");
    return 0;
}

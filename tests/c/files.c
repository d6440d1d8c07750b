#define _GNU_SOURCE
/* File I/O system calls on regular files and their error cases. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *en(int e)
{
    switch (e) {
    case 0: return "OK";
    case ENOENT: return "ENOENT";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case EISDIR: return "EISDIR";
    case ENOTDIR: return "ENOTDIR";
    case EINVAL: return "EINVAL";
    case EACCES: return "EACCES";
    case ESPIPE: return "ESPIPE";
    case EFAULT: return "EFAULT";
    case EMFILE: return "EMFILE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ELOOP: return "ELOOP";
    case EFBIG: return "EFBIG";
    default: return "E?";
    }
}

#define CHECK(label, expr)                                                                                        \
    do {                                                                                                          \
        errno = 0;                                                                                                \
        long _r = (long)(expr);                                                                                   \
        printf("%s -> %ld %s\n", label, _r < 0 ? -1L : _r, _r < 0 ? en(errno) : "");                            \
    } while (0)

static void show_file(const char *name)
{
    char buf[256];
    int fd = open(name, O_RDONLY);
    if (fd < 0) {
        printf("[%s: %s]\n", name, en(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    printf("[%s = \"%s\" (%zd)]\n", name, buf, n);
}

static void show_stat(const char *label, int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        printf("%s: fstat %s\n", label, en(errno));
        return;
    }
    const char *type = S_ISREG(st.st_mode) ? "reg" : S_ISDIR(st.st_mode) ? "dir" : S_ISCHR(st.st_mode) ? "chr"
                       : S_ISLNK(st.st_mode) ? "lnk" : S_ISFIFO(st.st_mode) ? "fifo" : "other";
    /* a directory's size depends on the file system: printed for regular files only */
    printf("%s: type=%s perm=%03o size=%lld nlink=%ld\n", label, type, (unsigned)(st.st_mode & 07777),
           S_ISREG(st.st_mode) ? (long long)st.st_size : -1LL, (long)st.st_nlink);
}

int main(void)
{
    umask(022);
    char buf[128];

    /* create, write, read, lseek */
    int fd = open("a.txt", O_CREAT | O_RDWR | O_TRUNC, 0666);
    printf("open a.txt fd>=3: %d\n", fd >= 3);
    CHECK("write hello", write(fd, "hello world", 11));
    show_stat("a.txt", fd);
    CHECK("lseek cur", lseek(fd, 0, SEEK_CUR));
    CHECK("lseek set 6", lseek(fd, 6, SEEK_SET));
    memset(buf, 0, sizeof buf);
    CHECK("read", read(fd, buf, sizeof buf));
    printf("buf=%s\n", buf);
    CHECK("read at eof", read(fd, buf, sizeof buf));
    CHECK("lseek end -5", lseek(fd, -5, SEEK_END));
    CHECK("lseek negative", lseek(fd, -100, SEEK_SET));
    CHECK("lseek whence 99", lseek(fd, 0, 99));
    CHECK("lseek past end", lseek(fd, 100, SEEK_SET));
    CHECK("write past end", write(fd, "!", 1));
    show_stat("sparse", fd);
    char hole[4];
    CHECK("pread hole", pread(fd, hole, 4, 20));
    printf("hole zero=%d\n", hole[0] == 0 && hole[3] == 0);
    CHECK("write 0 bytes", write(fd, buf, 0));

    /* pread / pwrite do not move the offset */
    CHECK("lseek 0", lseek(fd, 0, SEEK_SET));
    CHECK("pwrite", pwrite(fd, "HELLO", 5, 0));
    memset(buf, 0, sizeof buf);
    CHECK("pread 6", pread(fd, buf, 5, 6));
    printf("pread buf=%s\n", buf);
    CHECK("offset still", lseek(fd, 0, SEEK_CUR));
    CHECK("pread negative", pread(fd, buf, 5, -1));

    /* writev / readv / pwritev / preadv */
    CHECK("ftruncate 0", ftruncate(fd, 0));
    CHECK("lseek 0", lseek(fd, 0, SEEK_SET));
    struct iovec wv[3] = {{"one,", 4}, {"two,", 4}, {"three", 5}};
    CHECK("writev", writev(fd, wv, 3));
    char r1[5] = {0}, r2[3] = {0}, r3[20] = {0};
    struct iovec rv[3] = {{r1, 4}, {r2, 2}, {r3, 19}};
    CHECK("lseek 0", lseek(fd, 0, SEEK_SET));
    CHECK("readv", readv(fd, rv, 3));
    printf("readv parts=[%s][%s][%s]\n", r1, r2, r3);
    struct iovec pw[2] = {{"AB", 2}, {"CD", 2}};
    CHECK("pwritev at 4", pwritev(fd, pw, 2, 4));
    memset(r1, 0, sizeof r1);
    memset(r3, 0, sizeof r3);
    struct iovec pr[2] = {{r1, 3}, {r3, 10}};
    CHECK("preadv at 2", preadv(fd, pr, 2, 2));
    printf("preadv parts=[%s][%s]\n", r1, r3);
    CHECK("offset after vec", lseek(fd, 0, SEEK_CUR));
    CHECK("writev 0 iov", writev(fd, wv, 0));
    volatile int neg = -1;
    CHECK("writev -1 iov", writev(fd, wv, neg));
    CHECK("fsync", fsync(fd));
    CHECK("fdatasync", fdatasync(fd));
    CHECK("ftruncate grow", ftruncate(fd, 100));
    show_stat("grown", fd);
    CHECK("ftruncate negative", ftruncate(fd, -1));
    CHECK("close", close(fd));
    show_file("a.txt");
    CHECK("truncate path", truncate("a.txt", 3));
    show_file("a.txt");
    CHECK("truncate missing", truncate("missing.txt", 3));

    /* O_APPEND */
    fd = open("a.txt", O_WRONLY | O_APPEND);
    CHECK("lseek 0 (append)", lseek(fd, 0, SEEK_SET));
    CHECK("append write", write(fd, "+app", 4));
    CHECK("offset after append", lseek(fd, 0, SEEK_CUR));
    CHECK("pwrite append", pwrite(fd, "Z", 1, 0));
    close(fd);
    show_file("a.txt");

    /* O_EXCL, O_TRUNC, creat */
    CHECK("O_EXCL existing", open("a.txt", O_CREAT | O_EXCL | O_WRONLY, 0644));
    fd = open("b.txt", O_CREAT | O_EXCL | O_WRONLY, 0600);
    printf("O_EXCL new ok=%d\n", fd >= 0);
    show_stat("b.txt", fd);
    close(fd);
    fd = open("a.txt", O_WRONLY | O_TRUNC);
    show_stat("truncated", fd);
    close(fd);
    fd = creat("c.txt", 0640);
    CHECK("creat write", write(fd, "creat", 5));
    CHECK("creat read (O_WRONLY)", read(fd, buf, 5));
    show_stat("c.txt", fd);
    close(fd);
    fd = open("c.txt", O_RDONLY);
    CHECK("write to O_RDONLY", write(fd, "x", 1));
    close(fd);

    /* error cases */
    CHECK("open missing", open("nope.txt", O_RDONLY));
    CHECK("open missing dir", open("nodir/x.txt", O_CREAT | O_WRONLY, 0644));
    CHECK("ENOTDIR", open("c.txt/x", O_RDONLY));
    CHECK("read closed fd", read(fd, buf, 1));
    CHECK("write closed fd", write(fd, "x", 1));
    CHECK("close closed fd", close(fd));
    CHECK("fstat closed fd", fstat(fd, &(struct stat){0}));
    CHECK("lseek closed fd", lseek(fd, 0, SEEK_SET));
    mkdir("d", 0755);
    CHECK("open dir O_WRONLY", open("d", O_WRONLY));
    CHECK("open dir O_RDWR", open("d", O_RDWR));
    fd = open("d", O_RDONLY);
    printf("open dir O_RDONLY ok=%d\n", fd >= 0);
    CHECK("read dir", read(fd, buf, sizeof buf));
    show_stat("d", fd);
    close(fd);
    CHECK("O_DIRECTORY on file", open("c.txt", O_RDONLY | O_DIRECTORY));
    CHECK("open empty path", open("", O_RDONLY));
    char longname[400];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    CHECK("ENAMETOOLONG", open(longname, O_RDONLY));

    /* dup family shares the offset and status flags */
    fd = open("dup.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(fd, "0123456789", 10);
    int d1 = dup(fd);
    printf("dup is lowest free=%d\n", d1 == fd + 1);
    CHECK("lseek via orig", lseek(fd, 2, SEEK_SET));
    CHECK("offset via dup", lseek(d1, 0, SEEK_CUR));
    CHECK("dup2 to 20", dup2(fd, 20));
    CHECK("read via 20", read(20, buf, 3));
    CHECK("offset via orig", lseek(fd, 0, SEEK_CUR));
    CHECK("dup2 same fd", dup2(fd, fd));
    CHECK("dup2 bad old", dup2(99, 21));
    CHECK("dup2 over open fd", dup2(d1, 20));
    CHECK("dup3 same", dup3(fd, fd, 0));
    CHECK("dup3 cloexec", dup3(fd, 22, O_CLOEXEC));
    CHECK("F_GETFD 22", fcntl(22, F_GETFD));
    CHECK("F_GETFD 20", fcntl(20, F_GETFD));
    CHECK("dup3 bad flags", dup3(fd, 23, O_CLOEXEC | 0x40000000));
    CHECK("dup bad", dup(-1));
    CHECK("F_SETFD", fcntl(fd, F_SETFD, FD_CLOEXEC));
    CHECK("F_GETFD", fcntl(fd, F_GETFD));
    CHECK("F_SETFD 0", fcntl(fd, F_SETFD, 0));
    CHECK("F_GETFD", fcntl(fd, F_GETFD));
    int fl = fcntl(fd, F_GETFL);
    printf("F_GETFL accmode=%s append=%d\n", (fl & O_ACCMODE) == O_RDWR ? "RDWR" : "?", !!(fl & O_APPEND));
    CHECK("F_SETFL append", fcntl(fd, F_SETFL, fl | O_APPEND));
    fl = fcntl(d1, F_GETFL);
    printf("F_GETFL via dup append=%d\n", !!(fl & O_APPEND));
    CHECK("write appends", write(d1, "X", 1));
    CHECK("offset", lseek(fd, 0, SEEK_CUR));
    int f10 = fcntl(fd, F_DUPFD, 10), f10b = fcntl(fd, F_DUPFD, 10);
    printf("F_DUPFD 10: >=10 %d, again higher %d\n", f10 >= 10, f10b > f10);
    CHECK("F_DUPFD_CLOEXEC 30", fcntl(fd, F_DUPFD_CLOEXEC, 30));
    CHECK("F_GETFD 30", fcntl(30, F_GETFD));
    CHECK("F_GETFD f10", fcntl(f10, F_GETFD));
    CHECK("F_DUPFD negative", fcntl(fd, F_DUPFD, -1));
    CHECK("fcntl bad fd", fcntl(77, F_GETFD));
    for (int i = 3; i < 40; i++)
        close(i);
    show_file("dup.txt");

    /* modes with umask 022; chmod-independent checks of fstat sizes */
    fd = open("m1", O_CREAT | O_WRONLY, 0777);
    show_stat("m1 0777", fd);
    close(fd);
    umask(077);
    fd = open("m2", O_CREAT | O_WRONLY, 0666);
    show_stat("m2 0666 umask077", fd);
    close(fd);
    umask(0);
    fd = open("m3", O_CREAT | O_WRONLY, 0751);
    show_stat("m3 0751 umask0", fd);
    close(fd);
    umask(022);
    fd = open("big", O_CREAT | O_RDWR | O_TRUNC, 0644);
    static char block[65536];
    for (int i = 0; i < 16; i++) {
        memset(block, 'a' + i, sizeof block);
        if (write(fd, block, sizeof block) != (ssize_t)sizeof block)
            printf("short write\n");
    }
    show_stat("big", fd);
    unsigned sum = 0;
    lseek(fd, 0, SEEK_SET);
    ssize_t n;
    long total = 0;
    while ((n = read(fd, block, 7000)) > 0) {
        total += n;
        for (ssize_t i = 0; i < n; i++)
            sum = sum * 33 + (unsigned char)block[i];
    }
    printf("big read total=%ld sum=%u\n", total, sum);
    close(fd);
    struct stat st;
    CHECK("stat big", stat("big", &st));
    printf("stat size=%lld blocks>0=%d\n", (long long)st.st_size, st.st_blocks > 0);
    return 0;
}

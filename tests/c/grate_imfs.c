/* Files under /mem through the imfs grate: write, read, seek, pread/pwrite, stat, append, dup,
 * readdir, unlink while open, fork inheritance, stdio; plus a real file outside /mem. Prints one
 * line per check and exits non-zero on the first failure. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("FAIL line %d: %s (errno %d %s)\n", __LINE__, #cond, errno, strerror(errno));   \
            fflush(stdout);                                                                        \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

int main(void)
{
    char buf[256];
    struct stat st;

    int fd = open("/mem/a.txt", O_CREAT | O_RDWR | O_TRUNC, 0640);
    CHECK(fd >= 3);
    int real = open("/real.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(real >= 0 && real != fd);
    CHECK(write(fd, "hello world", 11) == 11);
    CHECK(write(real, "on disk", 7) == 7);
    CHECK(lseek(fd, 0, SEEK_CUR) == 11);
    CHECK(lseek(fd, 6, SEEK_SET) == 6);
    CHECK(read(fd, buf, sizeof buf) == 5 && memcmp(buf, "world", 5) == 0);
    CHECK(read(fd, buf, sizeof buf) == 0);
    CHECK(pread(fd, buf, 5, 0) == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 11); /* pread does not move the offset */
    CHECK(pwrite(fd, "HELLO", 5, 0) == 5);
    CHECK(lseek(fd, -2, SEEK_END) == 9);
    CHECK(read(fd, buf, 2) == 2 && memcmp(buf, "ld", 2) == 0);
    CHECK(lseek(fd, -100, SEEK_SET) == -1 && errno == EINVAL);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 11 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0640);
    printf("write/read/seek ok\n");

    /* sparse write past the end */
    CHECK(pwrite(fd, "!", 1, 20) == 1);
    CHECK(stat("/mem/a.txt", &st) == 0 && st.st_size == 21);
    CHECK(pread(fd, buf, 32, 0) == 21 && memcmp(buf, "HELLO world\0\0\0\0\0\0\0\0\0!", 21) == 0);
    CHECK(ftruncate(fd, 5) == 0 && fstat(fd, &st) == 0 && st.st_size == 5);
    printf("sparse/truncate ok\n");

    /* O_APPEND, O_EXCL, dup shares the offset */
    int ap = open("/mem/a.txt", O_WRONLY | O_APPEND);
    CHECK(ap >= 0);
    CHECK(write(ap, "+tail", 5) == 5);
    CHECK(open("/mem/a.txt", O_CREAT | O_EXCL | O_WRONLY, 0600) == -1 && errno == EEXIST);
    CHECK(open("/mem/none", O_RDONLY) == -1 && errno == ENOENT);
    CHECK(read(ap, buf, 1) == -1 && errno == EBADF);
    int d = dup(fd);
    CHECK(d >= 0 && d != fd);
    CHECK(lseek(fd, 1, SEEK_SET) == 1);
    CHECK(read(d, buf, 4) == 4 && memcmp(buf, "ELLO", 4) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 5);
    CHECK(dup2(fd, 30) == 30);
    CHECK(pread(30, buf, 10, 0) == 10 && memcmp(buf, "HELLO+tail", 10) == 0);
    CHECK(close(30) == 0 && close(d) == 0 && close(ap) == 0);
    CHECK(read(30, buf, 1) == -1 && errno == EBADF);
    printf("append/excl/dup ok\n");

    /* stdio (readv/writev) */
    FILE *f = fopen("/mem/b.txt", "w");
    CHECK(f);
    for (int i = 0; i < 1000; i++)
        fprintf(f, "line %d\n", i);
    CHECK(fclose(f) == 0);
    f = fopen("/mem/b.txt", "r");
    CHECK(f);
    int lines = 0, last = -1;
    while (fgets(buf, sizeof buf, f)) {
        CHECK(sscanf(buf, "line %d", &last) == 1 && last == lines);
        lines++;
    }
    fclose(f);
    CHECK(lines == 1000);
    printf("stdio ok\n");

    /* readdir of /mem, access */
    DIR *dir = opendir("/mem");
    CHECK(dir);
    int seen = 0;
    struct dirent *e;
    while ((e = readdir(dir)))
        seen += !strcmp(e->d_name, "a.txt") + !strcmp(e->d_name, "b.txt") * 2;
    closedir(dir);
    CHECK(seen == 3);
    CHECK(access("/mem/b.txt", R_OK) == 0);
    CHECK(access("/mem/zz", R_OK) == -1 && errno == ENOENT);
    CHECK(stat("/mem", &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(rename("/mem/b.txt", "/mem/c.txt") == 0);
    CHECK(stat("/mem/b.txt", &st) == -1 && errno == ENOENT);
    CHECK(stat("/mem/c.txt", &st) == 0 && st.st_size > 5000);
    printf("readdir/access/rename ok\n");

    /* fork: the child shares the open file (and its offset) */
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        char b[3];
        if (read(fd, b, 3) != 3 || memcmp(b, "HEL", 3) != 0)
            _exit(1);
        int g = open("/mem/child.txt", O_CREAT | O_WRONLY, 0600);
        _exit(g >= 0 && write(g, "from child", 10) == 10 ? 0 : 2);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 3);
    CHECK(stat("/mem/child.txt", &st) == 0 && st.st_size == 10);
    printf("fork ok\n");

    /* unlink while open: the data stays readable through the fd */
    CHECK(unlink("/mem/a.txt") == 0);
    CHECK(stat("/mem/a.txt", &st) == -1 && errno == ENOENT);
    CHECK(pread(fd, buf, 5, 0) == 5 && memcmp(buf, "HELLO", 5) == 0);
    CHECK(close(fd) == 0);
    CHECK(unlink("/mem/a.txt") == -1 && errno == ENOENT);
    printf("unlink ok\n");

    /* the real file works as before */
    CHECK(pread(real, buf, 7, 0) == 7 && memcmp(buf, "on disk", 7) == 0);
    CHECK(close(real) == 0);
    printf("real file ok\n");
    return 0;
}

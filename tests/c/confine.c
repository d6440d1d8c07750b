/* A cage-side probe for tests/test_confinement.py. Each argument is one operation:
 *   cat:PATH          open + read, prints the first line of the content or the errno
 *   write:PATH        open(O_CREAT|O_WRONLY) + write "escaped\n"
 *   stat:PATH         stat, prints the type
 *   ls:PATH           lists a directory (sorted)
 *   up:N              chdir("..") N times, then prints getcwd
 *   cd:PATH           chdir, then prints getcwd
 *   openat:DIR:REL    opens DIR as a dirfd, then openat(dirfd, REL) and reads
 *   readlink:PATH     prints the link target
 *   link:OLD:NEW      hard link
 *   symlink:T:NEW     creates a symlink
 *   rename:OLD:NEW    rename
 *   dev:PATH          opens a device read/write and reports what it did */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *en(int e)
{
    static char other[32];
    switch (e) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOTDIR: return "ENOTDIR";
    case ELOOP: return "ELOOP";
    case EXDEV: return "EXDEV";
    case EEXIST: return "EEXIST";
    case EISDIR: return "EISDIR";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    default:
        snprintf(other, sizeof other, "errno%d", e);
        return other;
    }
}

static void read_fd(const char *label, int fd)
{
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n < 0) {
        printf("%s: read %s\n", label, en(errno));
        return;
    }
    buf[n] = 0;
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = 0;
    printf("%s: READ %s\n", label, buf);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void op(char *arg)
{
    char *cmd = arg, *a = strchr(arg, ':'), *b = NULL;
    if (!a) {
        printf("%s: bad op\n", arg);
        return;
    }
    *a++ = 0;
    char label[512];
    if (strcmp(cmd, "openat") == 0 || strcmp(cmd, "link") == 0 || strcmp(cmd, "symlink") == 0 ||
        strcmp(cmd, "rename") == 0) {
        b = strchr(a, ':');
        if (b)
            *b++ = 0;
        snprintf(label, sizeof label, "%s %s %s", cmd, a, b ? b : "");
    } else {
        snprintf(label, sizeof label, "%s %s", cmd, a);
    }
    errno = 0;
    if (strcmp(cmd, "cat") == 0) {
        int fd = open(a, O_RDONLY);
        if (fd < 0)
            printf("%s: %s\n", label, en(errno));
        else {
            read_fd(label, fd);
            close(fd);
        }
    } else if (strcmp(cmd, "write") == 0) {
        int fd = open(a, O_CREAT | O_WRONLY | O_TRUNC, 0644);
        if (fd < 0)
            printf("%s: %s\n", label, en(errno));
        else {
            printf("%s: WROTE %zd\n", label, write(fd, "escaped\n", 8));
            close(fd);
        }
    } else if (strcmp(cmd, "stat") == 0) {
        struct stat st;
        if (stat(a, &st) < 0)
            printf("%s: %s\n", label, en(errno));
        else
            printf("%s: %s\n", label, S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "reg" : S_ISCHR(st.st_mode) ? "chr" : "other");
    } else if (strcmp(cmd, "ls") == 0) {
        DIR *d = opendir(a);
        if (!d) {
            printf("%s: %s\n", label, en(errno));
            return;
        }
        char *names[512];
        int n = 0;
        struct dirent *e;
        while ((e = readdir(d)) && n < 512)
            names[n++] = strdup(e->d_name);
        closedir(d);
        qsort(names, n, sizeof names[0], cmp_str);
        printf("%s:", label);
        for (int i = 0; i < n; i++)
            printf(" %s", names[i]);
        printf("\n");
    } else if (strcmp(cmd, "up") == 0 || strcmp(cmd, "cd") == 0) {
        int r = 0;
        if (strcmp(cmd, "up") == 0) {
            for (int i = 0; i < atoi(a) && r == 0; i++)
                r = chdir("..");
        } else {
            r = chdir(a);
        }
        char cwd[4096];
        if (r < 0)
            printf("%s: %s\n", label, en(errno));
        else
            printf("%s: CWD %s\n", label, getcwd(cwd, sizeof cwd) ? cwd : en(errno));
    } else if (strcmp(cmd, "openat") == 0) {
        int dfd = open(a, O_RDONLY | O_DIRECTORY);
        if (dfd < 0) {
            printf("%s: dir %s\n", label, en(errno));
            return;
        }
        int fd = openat(dfd, b ? b : "", O_RDONLY);
        if (fd < 0)
            printf("%s: %s\n", label, en(errno));
        else {
            read_fd(label, fd);
            close(fd);
        }
        close(dfd);
    } else if (strcmp(cmd, "readlink") == 0) {
        char t[4096];
        ssize_t n = readlink(a, t, sizeof t - 1);
        if (n < 0)
            printf("%s: %s\n", label, en(errno));
        else {
            t[n] = 0;
            printf("%s: TARGET %s\n", label, t);
        }
    } else if (strcmp(cmd, "link") == 0) {
        printf("%s: %s\n", label, link(a, b ? b : "") < 0 ? en(errno) : "LINKED");
    } else if (strcmp(cmd, "symlink") == 0) {
        printf("%s: %s\n", label, symlink(a, b ? b : "") < 0 ? en(errno) : "CREATED");
    } else if (strcmp(cmd, "rename") == 0) {
        printf("%s: %s\n", label, rename(a, b ? b : "") < 0 ? en(errno) : "RENAMED");
    } else if (strcmp(cmd, "dev") == 0) {
        int fd = open(a, O_RDWR);
        if (fd < 0) {
            printf("%s: %s\n", label, en(errno));
            return;
        }
        unsigned char buf[64];
        memset(buf, 0xee, sizeof buf);
        ssize_t w = write(fd, "x", 1);
        ssize_t r = read(fd, buf, sizeof buf);
        int zeros = 0, distinct = 0;
        for (int i = 0; i < 64; i++) {
            zeros += buf[i] == 0;
            distinct += i && buf[i] != buf[i - 1];
        }
        struct stat st;
        fstat(fd, &st);
        printf("%s: chr=%d write=%zd read=%zd zeros=%d distinct=%d\n", label, S_ISCHR(st.st_mode) != 0, w, r,
               zeros, distinct);
        close(fd);
    } else {
        printf("%s: unknown op\n", label);
    }
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        op(argv[i]);
    return 0;
}

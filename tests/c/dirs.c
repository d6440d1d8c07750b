/* Directories, names, links, metadata: everything path-based. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
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
    case ENOTEMPTY: return "ENOTEMPTY";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ELOOP: return "ELOOP";
    case EBUSY: return "EBUSY";
    case EXDEV: return "EXDEV";
    case ERANGE: return "ERANGE";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "E?";
    }
}

#define CHECK(label, expr)                                                                                        \
    do {                                                                                                          \
        errno = 0;                                                                                                \
        long _r = (long)(expr);                                                                                   \
        printf("%s -> %ld %s\n", label, _r < 0 ? -1L : _r, _r < 0 ? en(errno) : "");                            \
    } while (0)

static char start_cwd[4096];

/* The cwd relative to where the program started: natively a temp dir, in a cage "/". */
static void show_cwd(const char *label)
{
    char buf[4096];
    if (!getcwd(buf, sizeof buf)) {
        printf("%s: getcwd %s\n", label, en(errno));
        return;
    }
    size_t n = strlen(start_cwd);
    if (strcmp(start_cwd, "/") == 0)
        n = 0;
    if (strncmp(buf, start_cwd, n) != 0) {
        printf("%s: outside the start directory\n", label);
        return;
    }
    printf("%s: cwd=%s\n", label, buf[n] ? buf + n : "/");
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void list_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        printf("opendir %s: %s\n", path, en(errno));
        return;
    }
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 256) {
        char t = e->d_type == DT_DIR ? 'd' : e->d_type == DT_REG ? 'f' : e->d_type == DT_LNK ? 'l'
                 : e->d_type == DT_UNKNOWN ? '?' : 'o';
        char *s = malloc(strlen(e->d_name) + 3);
        sprintf(s, "%s:%c", e->d_name, t);
        names[n++] = s;
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    printf("ls %s:", path);
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

static void touch(const char *p, const char *content)
{
    int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) {
        printf("touch %s: %s\n", p, en(errno));
        return;
    }
    if (content && write(fd, content, strlen(content)) < 0)
        printf("write %s failed\n", p);
    close(fd);
}

static void cat(const char *p)
{
    char buf[128];
    int fd = open(p, O_RDONLY);
    if (fd < 0) {
        printf("cat %s: %s\n", p, en(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    printf("cat %s: %s\n", p, buf);
}

static const char *ftype(mode_t m)
{
    return S_ISREG(m) ? "reg" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "lnk" : S_ISCHR(m) ? "chr" : "other";
}

static void show_stat(const char *p, int follow)
{
    struct stat st;
    int r = follow ? stat(p, &st) : lstat(p, &st);
    if (r < 0) {
        printf("%s %s: %s\n", follow ? "stat" : "lstat", p, en(errno));
        return;
    }
    printf("%s %s: %s perm=%03o nlink=%ld size=%lld\n", follow ? "stat" : "lstat", p, ftype(st.st_mode),
           (unsigned)(st.st_mode & 07777), (long)st.st_nlink,
           S_ISDIR(st.st_mode) ? -1LL : (long long)st.st_size);
}

int main(void)
{
    umask(022);
    if (!getcwd(start_cwd, sizeof start_cwd)) {
        printf("getcwd failed\n");
        return 1;
    }
    show_cwd("start");

    /* mkdir / rmdir */
    CHECK("mkdir d1", mkdir("d1", 0755));
    CHECK("mkdir d1 again", mkdir("d1", 0755));
    CHECK("mkdir d1/sub", mkdir("d1/sub", 0700));
    CHECK("mkdir missing parent", mkdir("nope/sub", 0755));
    CHECK("mkdir trailing slash", mkdir("d2/", 0755));
    CHECK("mkdir .", mkdir(".", 0755));
    touch("d1/file", "data");
    CHECK("mkdir under file", mkdir("d1/file/x", 0755));
    CHECK("rmdir nonempty", rmdir("d1"));
    CHECK("rmdir file", rmdir("d1/file"));
    CHECK("rmdir missing", rmdir("d3"));
    CHECK("rmdir d2", rmdir("d2"));
    CHECK("rmdir .", rmdir("."));
    CHECK("unlink dir", unlink("d1/sub"));
    show_stat("d1", 1);
    show_stat("d1/sub", 1);

    /* readdir */
    mkdir("ls", 0755);
    touch("ls/b", "");
    touch("ls/a", "");
    mkdir("ls/c", 0755);
    symlink("a", "ls/link");
    for (int i = 0; i < 50; i++) {
        char p[64];
        snprintf(p, sizeof p, "ls/many%02d", i);
        touch(p, "");
    }
    list_dir("ls/c");
    list_dir("d1");
    DIR *d = opendir("ls");
    int cnt = 0;
    while (readdir(d))
        cnt++;
    printf("ls entries=%d\n", cnt);
    rewinddir(d);
    cnt = 0;
    while (readdir(d))
        cnt++;
    printf("after rewind entries=%d\n", cnt);
    closedir(d);
    list_dir("nope");
    list_dir("d1/file");

    /* rename / renameat2 */
    touch("r1", "one");
    touch("r2", "two");
    CHECK("rename r1 r3", rename("r1", "r3"));
    cat("r1");
    cat("r3");
    CHECK("rename over existing", rename("r3", "r2"));
    cat("r2");
    cat("r3");
    CHECK("rename missing", rename("r9", "r8"));
    mkdir("rd", 0755);
    CHECK("rename file into dir", rename("r2", "rd/r2"));
    cat("rd/r2");
    CHECK("rename dir", rename("rd", "rd2"));
    cat("rd2/r2");
    mkdir("rd3", 0755);
    touch("rd3/x", "");
    CHECK("rename dir over nonempty dir", rename("rd2", "rd3"));
    CHECK("rename file over dir", rename("rd2/r2", "rd3"));
    CHECK("rename dir into itself", rename("rd2", "rd2/sub"));
    touch("n1", "n1");
    touch("n2", "n2");
    CHECK("renameat2 NOREPLACE exists", syscall(SYS_renameat2, AT_FDCWD, "n1", AT_FDCWD, "n2", 1));
    CHECK("renameat2 NOREPLACE new", syscall(SYS_renameat2, AT_FDCWD, "n1", AT_FDCWD, "n3", 1));
    CHECK("renameat2 EXCHANGE", syscall(SYS_renameat2, AT_FDCWD, "n2", AT_FDCWD, "n3", 2));
    cat("n2");
    cat("n3");

    /* link / symlink / readlink / lstat */
    touch("orig", "original");
    CHECK("link", link("orig", "hard"));
    show_stat("orig", 1);
    show_stat("hard", 1);
    CHECK("link exists", link("orig", "hard"));
    CHECK("link missing", link("nope", "hard2"));
    CHECK("link dir", link("d1", "d1link"));
    CHECK("unlink hard", unlink("hard"));
    show_stat("orig", 1);
    CHECK("symlink", symlink("orig", "sym"));
    CHECK("symlink dangling", symlink("nowhere", "dang"));
    CHECK("symlink exists", symlink("orig", "sym"));
    CHECK("symlink dir", symlink("d1", "dsym"));
    char lbuf[64];
    memset(lbuf, 0, sizeof lbuf);
    CHECK("readlink sym", readlink("sym", lbuf, sizeof lbuf));
    printf("target=%s\n", lbuf);
    memset(lbuf, 0, sizeof lbuf);
    CHECK("readlink short buf", readlink("sym", lbuf, 2));
    printf("target=%s\n", lbuf);
    CHECK("readlink regular", readlink("orig", lbuf, sizeof lbuf));
    CHECK("readlink missing", readlink("nope", lbuf, sizeof lbuf));
    show_stat("sym", 1);
    show_stat("sym", 0);
    show_stat("dang", 1);
    show_stat("dang", 0);
    cat("sym");
    cat("dsym/file");
    CHECK("symlink loop a", symlink("loopb", "loopa"));
    CHECK("symlink loop b", symlink("loopa", "loopb"));
    CHECK("open loop", open("loopa", O_RDONLY));
    CHECK("O_NOFOLLOW on link", open("sym", O_RDONLY | O_NOFOLLOW));
    CHECK("link to symlink (no follow)", linkat(AT_FDCWD, "sym", AT_FDCWD, "symhard", 0));
    show_stat("symhard", 0);
    CHECK("link follow", linkat(AT_FDCWD, "sym", AT_FDCWD, "symhard2", AT_SYMLINK_FOLLOW));
    show_stat("symhard2", 0);
    CHECK("unlink sym", unlink("sym"));
    cat("orig");
    CHECK("unlink missing", unlink("sym"));
    CHECK("unlink dangling", unlink("dang"));

    /* chdir / getcwd / fchdir */
    mkdir("d1/sub/deep", 0755);
    CHECK("chdir d1/sub", chdir("d1/sub"));
    show_cwd("after chdir");
    CHECK("chdir deep/..", chdir("deep/.."));
    show_cwd("after deep/..");
    CHECK("chdir ../..", chdir("../.."));
    show_cwd("back");
    CHECK("chdir file", chdir("orig"));
    CHECK("chdir missing", chdir("missing"));
    CHECK("chdir via symlink", chdir("dsym"));
    show_cwd("via symlink");
    cat("file");
    int dfd = open("sub", O_RDONLY | O_DIRECTORY);
    CHECK("chdir ..", chdir(".."));
    CHECK("fchdir", fchdir(dfd));
    show_cwd("fchdir");
    close(dfd);
    int ffd = open("../../orig", O_RDONLY);
    CHECK("fchdir file", fchdir(ffd));
    close(ffd);
    CHECK("fchdir bad", fchdir(99));
    char small[2];
    errno = 0;
    char *gp = getcwd(small, sizeof small);
    printf("getcwd small: %s %s\n", gp ? "ok" : "NULL", en(errno));
    char *dyn = getcwd(NULL, 0);
    printf("getcwd(NULL,0) ok=%d\n", dyn != NULL);
    free(dyn);
    CHECK("chdir back", chdir("../.."));
    show_cwd("home");

    /* access / faccessat */
    CHECK("access F_OK", access("orig", F_OK));
    CHECK("access R_OK|W_OK", access("orig", R_OK | W_OK));
    CHECK("access X_OK on 0644", access("orig", X_OK));
    CHECK("access missing", access("nope", F_OK));
    CHECK("access bad mode", access("orig", 0100));
    CHECK("faccessat", faccessat(AT_FDCWD, "d1/file", R_OK, 0));

    /* chmod / fchmod */
    CHECK("chmod 0600", chmod("orig", 0600));
    show_stat("orig", 1);
    CHECK("chmod 04755", chmod("orig", 04755));
    show_stat("orig", 1);
    CHECK("access X_OK on 0755", access("orig", X_OK));
    int fd = open("orig", O_RDONLY);
    CHECK("fchmod 0444", fchmod(fd, 0444));
    show_stat("orig", 1);
    close(fd);
    CHECK("chmod missing", chmod("nope", 0644));
    CHECK("fchmodat", fchmodat(AT_FDCWD, "orig", 0640, 0));
    show_stat("orig", 1);

    /* utimensat with fixed times */
    struct timespec ts[2] = {{1000000000, 123456789}, {1234567890, 500}};
    CHECK("utimensat", utimensat(AT_FDCWD, "orig", ts, 0));
    struct stat st;
    stat("orig", &st);
    printf("atime=%lld.%09ld mtime=%lld.%09ld\n", (long long)st.st_atim.tv_sec, (long)st.st_atim.tv_nsec,
           (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {42, 0}};
    CHECK("utimensat omit", utimensat(AT_FDCWD, "orig", omit, 0));
    stat("orig", &st);
    printf("atime=%lld mtime=%lld\n", (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
    fd = open("orig", O_RDONLY);
    struct timespec ft[2] = {{7, 0}, {8, 0}};
    CHECK("futimens", futimens(fd, ft));
    fstat(fd, &st);
    printf("atime=%lld mtime=%lld\n", (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
    close(fd);
    CHECK("utimensat now", utimensat(AT_FDCWD, "orig", NULL, 0));
    stat("orig", &st);
    printf("mtime now > 1e9: %d\n", st.st_mtim.tv_sec > 1000000000);
    CHECK("utimensat missing", utimensat(AT_FDCWD, "nope", ts, 0));

    /* statfs */
    struct statfs sfs;
    CHECK("statfs .", statfs(".", &sfs));
    printf("statfs bsize>0=%d\n", sfs.f_bsize > 0);
    CHECK("statfs missing", statfs("nope", &sfs));

    /* *at calls with a dirfd */
    int dirfd = open("d1", O_RDONLY | O_DIRECTORY);
    CHECK("mkdirat", mkdirat(dirfd, "atdir", 0750));
    show_stat("d1/atdir", 1);
    fd = openat(dirfd, "atdir/f", O_CREAT | O_WRONLY, 0600);
    printf("openat ok=%d\n", fd >= 0);
    write(fd, "at!", 3);
    close(fd);
    cat("d1/atdir/f");
    CHECK("openat relative to dirfd", openat(dirfd, "orig", O_RDONLY));
    CHECK("openat bad dirfd", openat(99, "x", O_RDONLY));
    int ffd2 = open("orig", O_RDONLY);
    CHECK("openat file dirfd", openat(ffd2, "x", O_RDONLY));
    CHECK("fstatat", fstatat(dirfd, "atdir/f", &st, 0));
    printf("fstatat size=%lld perm=%03o\n", (long long)st.st_size, (unsigned)(st.st_mode & 0777));
    CHECK("symlinkat", symlinkat("atdir/f", dirfd, "atlink"));
    CHECK("newfstatat NOFOLLOW", fstatat(dirfd, "atlink", &st, AT_SYMLINK_NOFOLLOW));
    printf("  type=%s\n", ftype(st.st_mode));
    CHECK("newfstatat follow", fstatat(dirfd, "atlink", &st, 0));
    printf("  type=%s size=%lld\n", ftype(st.st_mode), (long long)st.st_size);
    CHECK("AT_EMPTY_PATH on file fd", fstatat(ffd2, "", &st, AT_EMPTY_PATH));
    printf("  type=%s perm=%03o\n", ftype(st.st_mode), (unsigned)(st.st_mode & 0777));
    CHECK("AT_EMPTY_PATH on dirfd", fstatat(dirfd, "", &st, AT_EMPTY_PATH));
    printf("  type=%s\n", ftype(st.st_mode));
    CHECK("empty path without flag", fstatat(dirfd, "", &st, 0));
    CHECK("fstatat bad flags", fstatat(dirfd, "atlink", &st, 0x40000000));
    memset(lbuf, 0, sizeof lbuf);
    CHECK("readlinkat", readlinkat(dirfd, "atlink", lbuf, sizeof lbuf));
    printf("target=%s\n", lbuf);
    CHECK("renameat", renameat(dirfd, "atlink", AT_FDCWD, "moved_link"));
    show_stat("moved_link", 0);
    CHECK("faccessat dirfd", faccessat(dirfd, "atdir/f", R_OK, 0));
    CHECK("linkat dirfd", linkat(dirfd, "atdir/f", dirfd, "atdir/g", 0));
    show_stat("d1/atdir/g", 1);
    CHECK("unlinkat file", unlinkat(dirfd, "atdir/f", 0));
    CHECK("unlinkat dir nonempty", unlinkat(dirfd, "atdir", AT_REMOVEDIR));
    CHECK("unlinkat g", unlinkat(dirfd, "atdir/g", 0));
    CHECK("unlinkat dir without flag", unlinkat(dirfd, "atdir", 0));
    CHECK("unlinkat dir", unlinkat(dirfd, "atdir", AT_REMOVEDIR));
    CHECK("unlinkat bad flag", unlinkat(dirfd, "file", 0x1234));
    list_dir("d1");
    close(ffd2);
    close(dirfd);
    show_cwd("end");
    return 0;
}

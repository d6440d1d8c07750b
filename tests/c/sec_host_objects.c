/* Attacks on the host objects behind a cage's inherited fds and on the root's nosuid rule; each
 * line prints what the call gave (0 or the errno's name). fds 0-2 are host files the embedder gave. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *what, long r)
{
    const char *e = errno == EPERM ? "EPERM" : errno == ENXIO ? "ENXIO" : errno == EACCES ? "EACCES" : strerror(errno);
    fprintf(stderr, "%s: %s\n", what, r < 0 ? e : "0");
}

int main(void)
{
    show("fchmod stdin", fchmod(0, 04777));
    show("fchown stdout", fchown(1, 12345, 12345));
    show("ftruncate stdout", ftruncate(1, 1ll << 40));
    show("fallocate stdout", fallocate(1, 0, 0, 1 << 20));
    show("futimens stdout", futimens(1, NULL));
    show("link stdin", linkat(0, "", AT_FDCWD, "/stolen", AT_EMPTY_PATH));
    show("chown via fd path", fchownat(1, "", 0, 0, AT_EMPTY_PATH));
    show("utimensat via fd path", utimensat(1, "", NULL, AT_EMPTY_PATH));
    int dup1 = dup(1);
    show("fchmod dup of stdout", fchmod(dup1, 0777));
    int dn = open("/dev/null", O_RDWR);
    show("fchmod /dev/null", fchmod(dn, 0));
    show("open /dev/tty", open("/dev/tty", O_RDWR));
    int f = open("/suid", O_CREAT | O_WRONLY, 04755);
    show("create 04755", f);
    show("fchmod 06755", fchmod(f, 06755));
    show("chmod 04755", chmod("/suid", 04755));
    struct stat st;
    stat("/suid", &st);
    fprintf(stderr, "suid file mode: %o\n", st.st_mode & 07777);
    /* the root directory is the embedder's; files are not given to other host users */
    show("chown /", chown("/", 1234, 5678));
    show("chmod / 0777", chmod("/", 0777));
    show("chown ..", chown("..", 999, 999));
    show("utimensat /", utimensat(AT_FDCWD, "/", NULL, 0));
    int rd = open("/", O_RDONLY | O_DIRECTORY);
    show("fchmod fd of /", fchmod(rd, 0777));
    show("fchown file", fchown(f, 4321, 8765));
    show("chown file to its owner", chown("/suid", st.st_uid, st.st_gid));
    show("chown file -1 -1", chown("/suid", -1, -1));
    show("chmod file 0600", chmod("/suid", 0600));
    struct rlimit rl = {1 << 16, 1 << 16};
    show("raise RLIMIT_NOFILE", setrlimit(RLIMIT_NOFILE, &rl));
    return 0;
}

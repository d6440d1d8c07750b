/* inotify: create, modify and delete in a watched directory, a watch on a file, IN_DONT_FOLLOW on a
 * symlink, rm_watch (IN_IGNORED), a path that does not exist, and a watch that escapes nothing: a
 * symlink out of the directory is watched as the root sees it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

static int in;

static void drain(const char *what)
{
    char buf[4096] __attribute__((aligned(8)));
    struct pollfd p = {in, POLLIN, 0};
    printf("%s:", what);
    while (poll(&p, 1, 100) > 0) {
        ssize_t n = read(in, buf, sizeof buf);
        for (char *q = buf; n > 0 && q < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)q;
            const char *kind = (e->mask & IN_CREATE) ? "create" : (e->mask & IN_MODIFY) ? "modify"
                             : (e->mask & IN_DELETE) ? "delete" : (e->mask & IN_ATTRIB) ? "attrib"
                             : (e->mask & IN_IGNORED) ? "ignored" : (e->mask & IN_CLOSE_WRITE) ? "close_write" : "other";
            printf(" %s%s%s", kind, e->len ? " " : "", e->len ? e->name : "");
            q += sizeof *e + e->len;
        }
    }
    printf("\n");
}

int main(void)
{
    mkdir("w", 0755);
    in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    printf("init: %d, cloexec %d\n", in >= 0, (fcntl(in, F_GETFD) & FD_CLOEXEC) != 0);
    int wd = inotify_add_watch(in, "w", IN_CREATE | IN_MODIFY | IN_DELETE);
    printf("watch dir: %d\n", wd > 0);
    int fd = open("w/a.txt", O_CREAT | O_WRONLY, 0644);
    write(fd, "x", 1);
    close(fd);
    unlink("w/a.txt");
    drain("dir events");
    close(open("f.txt", O_CREAT | O_WRONLY, 0644));
    int wf = inotify_add_watch(in, "f.txt", IN_ATTRIB | IN_CLOSE_WRITE);
    chmod("f.txt", 0600);
    close(open("f.txt", O_WRONLY));
    drain("file events");
    symlink("f.txt", "link");
    int wl = inotify_add_watch(in, "link", IN_ATTRIB | IN_DONT_FOLLOW);
    printf("IN_DONT_FOLLOW: a watch of its own %d\n", wl > 0 && wl != wf);
    chmod("f.txt", 0644); /* the file changes, not the link */
    drain("link (not followed) sees");
    printf("rm_watch: %d\n", inotify_rm_watch(in, wd));
    drain("after rm_watch");
    errno = 0;
    int r = inotify_add_watch(in, "missing", IN_ALL_EVENTS);
    printf("missing path: %d %s\n", r, r < 0 && errno == ENOENT ? "ENOENT" : "?");
    r = inotify_rm_watch(in, 12345);
    printf("bad wd: %d %s\n", r, r < 0 && errno == EINVAL ? "EINVAL" : "?");
    unlink("link");
    unlink("f.txt");
    rmdir("w");
    return 0;
}

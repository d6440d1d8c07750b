#define _GNU_SOURCE
/* AF_UNIX stream and datagram sockets at paths (relative and absolute) between two processes. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static socklen_t mkaddr(struct sockaddr_un *u, const char *path)
{
    memset(u, 0, sizeof *u);
    u->sun_family = AF_UNIX;
    strcpy(u->sun_path, path);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

static void show(const char *what, struct sockaddr_un *u, socklen_t l)
{
    if (l <= offsetof(struct sockaddr_un, sun_path))
        printf("%s: unnamed (len %d)\n", what, (int)l);
    else
        printf("%s: '%s' (len %d)\n", what, u->sun_path, (int)l);
}

static int stream_test(const char *path)
{
    struct sockaddr_un u, v;
    socklen_t l = mkaddr(&u, path), vl;
    unlink(path);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(ls, (struct sockaddr *)&u, l) < 0 || listen(ls, 4) < 0) {
        perror("bind");
        return 1;
    }
    struct stat st;
    printf("%s is a socket: %d\n", path, stat(path, &st) == 0 && S_ISSOCK(st.st_mode));
    vl = sizeof v;
    getsockname(ls, (struct sockaddr *)&v, &vl);
    show("getsockname", &v, vl);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&u, l) < 0)
            _exit(2);
        struct sockaddr_un p;
        socklen_t pl = sizeof p;
        getpeername(c, (struct sockaddr *)&p, &pl);
        if (pl != l || strcmp(p.sun_path, path) != 0)
            _exit(3);
        write(c, "ping", 4);
        char b[8];
        if (read(c, b, sizeof b) != 4 || memcmp(b, "pong", 4))
            _exit(4);
        _exit(0);
    }
    vl = sizeof v;
    int c = accept(ls, (struct sockaddr *)&v, &vl);
    show("accept peer", &v, vl);
    char b[8];
    int n = read(c, b, sizeof b);
    printf("server read '%.*s'\n", n, b);
    write(c, "pong", 4);
    int status;
    waitpid(pid, &status, 0);
    printf("client exit %d\n", WEXITSTATUS(status));
    close(c);
    close(ls);
    /* connecting to a path that does not exist, and to one that is no socket */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    l = mkaddr(&u, "no-such.sock");
    printf("connect missing: %s\n", connect(s, (struct sockaddr *)&u, l) < 0 && errno == ENOENT ? "ENOENT" : "?");
    close(open("plain.txt", 0101, 0644));
    l = mkaddr(&u, "plain.txt");
    printf("connect non-socket: %s\n",
           connect(s, (struct sockaddr *)&u, l) < 0 && errno == ECONNREFUSED ? "ECONNREFUSED" : "?");
    l = mkaddr(&u, path);
    printf("bind in use: %s\n", bind(s, (struct sockaddr *)&u, l) < 0 && errno == EADDRINUSE ? "EADDRINUSE" : "?");
    close(s);
    return 0;
}

static int dgram_test(void)
{
    struct sockaddr_un a, b, f;
    socklen_t al = mkaddr(&a, "dgram-a.sock"), bl = mkaddr(&b, "dgram-b.sock"), fl;
    unlink("dgram-a.sock");
    unlink("dgram-b.sock");
    int sa = socket(AF_UNIX, SOCK_DGRAM, 0), sb = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (bind(sa, (struct sockaddr *)&a, al) < 0 || bind(sb, (struct sockaddr *)&b, bl) < 0) {
        perror("bind dgram");
        return 1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char buf[32];
        struct sockaddr_un from;
        socklen_t froml = sizeof from;
        int n = recvfrom(sb, buf, sizeof buf, 0, (struct sockaddr *)&from, &froml);
        if (n != 5 || strcmp(from.sun_path, "dgram-a.sock"))
            _exit(2);
        sendto(sb, "reply", 5, 0, (struct sockaddr *)&from, froml);
        _exit(0);
    }
    sendto(sa, "hello", 5, 0, (struct sockaddr *)&b, bl);
    char buf[32];
    fl = sizeof f;
    int n = recvfrom(sa, buf, sizeof buf, 0, (struct sockaddr *)&f, &fl);
    printf("dgram got '%.*s'\n", n, buf);
    show("dgram from", &f, fl);
    int st;
    waitpid(pid, &st, 0);
    printf("dgram child exit %d\n", WEXITSTATUS(st));
    /* abstract names are used as they are */
    struct sockaddr_un ab = {.sun_family = AF_UNIX};
    memcpy(ab.sun_path, "\0lind-net-test-abstract", 23);
    int sc = socket(AF_UNIX, SOCK_DGRAM, 0);
    socklen_t abl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 23);
    if (bind(sc, (struct sockaddr *)&ab, abl) == 0) {
        struct sockaddr_un g;
        socklen_t gl = sizeof g;
        getsockname(sc, (struct sockaddr *)&g, &gl);
        printf("abstract: len ok %d, name ok %d\n", gl == abl, memcmp(g.sun_path, ab.sun_path, 23) == 0);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int r = stream_test(argc > 1 ? argv[1] : "stream.sock");
    if (!r)
        r = dgram_test();
    return r;
}

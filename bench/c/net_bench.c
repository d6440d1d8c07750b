#define _GNU_SOURCE
/* Socket micro-benchmarks between two processes (two cages under lind):
 *   net_bench rtt tcp|unix N     N round trips of 64 bytes; prints microseconds per round trip
 *   net_bench tput tcp|unix MB   MB megabytes in 64 KiB writes; prints MB/s */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int full(int fd, char *b, int n)
{
    int got = 0;
    while (got < n) {
        int k = read(fd, b + got, n - got);
        if (k <= 0)
            return -1;
        got += k;
    }
    return got;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    int rtt = strcmp(argv[1], "rtt") == 0, tcp = strcmp(argv[2], "tcp") == 0;
    long n = atol(argv[3]);
    int ls;
    struct sockaddr_in a = {.sin_family = AF_INET};
    struct sockaddr_un u = {.sun_family = AF_UNIX};
    socklen_t al;
    if (tcp) {
        ls = socket(AF_INET, SOCK_STREAM, 0);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(ls, (struct sockaddr *)&a, sizeof a);
        al = sizeof a;
        getsockname(ls, (struct sockaddr *)&a, &al);
    } else {
        ls = socket(AF_UNIX, SOCK_STREAM, 0);
        snprintf(u.sun_path, sizeof u.sun_path, "bench-%d.sock", (int)getpid());
        unlink(u.sun_path);
        bind(ls, (struct sockaddr *)&u, sizeof u);
    }
    listen(ls, 1);
    pid_t pid = fork();
    if (pid == 0) {
        int c = socket(tcp ? AF_INET : AF_UNIX, SOCK_STREAM, 0);
        if (tcp ? connect(c, (struct sockaddr *)&a, sizeof a) : connect(c, (struct sockaddr *)&u, sizeof u))
            _exit(1);
        int one = 1;
        if (tcp)
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        static char buf[65536];
        if (rtt) {
            for (long i = 0; i < n; i++) {
                if (full(c, buf, 64) < 0)
                    _exit(3);
                write(c, buf, 64);
            }
        } else {
            long long total = (long long)n << 20;
            while (total > 0) {
                int k = write(c, buf, total < (long long)sizeof buf ? (int)total : (int)sizeof buf);
                if (k <= 0)
                    _exit(4);
                total -= k;
            }
        }
        _exit(0);
    }
    int c = accept(ls, NULL, NULL);
    int one = 1;
    if (tcp)
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    static char buf[65536];
    memset(buf, 'x', sizeof buf);
    double t0 = now();
    if (rtt) {
        for (long i = 0; i < n; i++) {
            write(c, buf, 64);
            if (full(c, buf, 64) < 0)
                return 3;
        }
        printf("%.3f\n", (now() - t0) * 1e6 / n);
    } else {
        long long total = (long long)n << 20, got = 0;
        while (got < total) {
            int k = read(c, buf, sizeof buf);
            if (k <= 0)
                return 4;
            got += k;
        }
        printf("%.1f\n", n / (now() - t0));
    }
    int st;
    waitpid(pid, &st, 0);
    if (!tcp)
        unlink(u.sun_path);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

#define _GNU_SOURCE
/* What the network policy lets through: bind to the wildcard, connect to loopback (port argv[1])
 * and to an outside address, UDP sendto outside, listen without bind, AF_UNIX. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char *res(int r)
{
    static char b[64];
    if (r >= 0)
        return "ok";
    snprintf(b, sizeof b, "%s", errno == EACCES ? "EACCES" : strerror(errno));
    return b;
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 9;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    printf("socket: %s\n", res(s));
    struct sockaddr_in a = {.sin_family = AF_INET};
    int r = bind(s, (struct sockaddr *)&a, sizeof a);
    socklen_t al = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &al);
    printf("bind 0.0.0.0: %s -> %s\n", res(r), inet_ntoa(a.sin_addr));
    close(s);
    s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_port = htons(port)};
    lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    printf("connect 127.0.0.1: %s\n", res(connect(s, (struct sockaddr *)&lo, sizeof lo)));
    close(s);
    s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in out = {.sin_family = AF_INET, .sin_port = htons(9)};
    inet_pton(AF_INET, "192.0.2.1", &out.sin_addr);
    r = connect(s, (struct sockaddr *)&out, sizeof out);
    printf("connect 192.0.2.1: %s\n", r < 0 && errno == EACCES ? "EACCES" : "not denied");
    close(s);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    r = sendto(u, "x", 1, 0, (struct sockaddr *)&out, sizeof out);
    printf("sendto 192.0.2.1: %s\n", r < 0 && errno == EACCES ? "EACCES" : "not denied");
    close(u);
    int s6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    r = bind(s6, (struct sockaddr *)&a6, sizeof a6);
    char b6[64] = "?";
    al = sizeof a6;
    getsockname(s6, (struct sockaddr *)&a6, &al);
    inet_ntop(AF_INET6, &a6.sin6_addr, b6, sizeof b6);
    printf("bind [::]: %s -> %s\n", res(r), r == 0 ? b6 : "-");
    close(s6);
    s = socket(AF_INET, SOCK_STREAM, 0);
    r = listen(s, 1);
    al = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &al);
    printf("listen unbound: %s -> %s\n", res(r), r == 0 ? inet_ntoa(a.sin_addr) : "-");
    close(s);
    int sv[2];
    printf("unix socketpair: %s\n", res(socketpair(AF_UNIX, SOCK_STREAM, 0, sv)));
    return 0;
}

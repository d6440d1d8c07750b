#define _GNU_SOURCE
/* TCP echo: a server (poll loop) and several client processes (fork) on 127.0.0.1. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define NCLIENTS 4
#define ROUNDS 50

static int client(int port, int id)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0)
        return 2;
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (int r = 0; r < ROUNDS; r++) {
        char msg[64], back[64];
        int n = snprintf(msg, sizeof msg, "client %d round %d", id, r);
        if (send(s, msg, n, 0) != n)
            return 3;
        int got = 0;
        while (got < n) {
            int k = recv(s, back + got, n - got, 0);
            if (k <= 0)
                return 4;
            got += k;
        }
        if (memcmp(msg, back, n) != 0)
            return 5;
    }
    close(s);
    return 0;
}

int main(void)
{
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1, type = 0;
    socklen_t tl = sizeof type;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    getsockopt(ls, SOL_SOCKET, SO_TYPE, &type, &tl);
    printf("SO_TYPE stream %d len %d\n", type == SOCK_STREAM, (int)tl);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 16) < 0) {
        perror("bind/listen");
        return 1;
    }
    socklen_t al = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &al);
    int port = ntohs(a.sin_port);
    printf("listening on %s, port set %d, len %d\n", inet_ntoa(a.sin_addr), port != 0, (int)al);
    fflush(stdout);
    for (int i = 0; i < NCLIENTS; i++)
        if (fork() == 0)
            _exit(client(port, i));

    struct pollfd p[NCLIENTS + 1];
    int n = 1, done = 0, accepted = 0;
    p[0].fd = ls;
    p[0].events = POLLIN;
    while (done < NCLIENTS) {
        if (poll(p, n, 10000) <= 0) {
            printf("poll timeout\n");
            return 1;
        }
        if (p[0].revents & POLLIN) {
            struct sockaddr_in peer;
            socklen_t pl = sizeof peer;
            int c = accept(ls, (struct sockaddr *)&peer, &pl);
            if (c < 0) {
                perror("accept");
                return 1;
            }
            if (peer.sin_addr.s_addr != htonl(INADDR_LOOPBACK) || pl != sizeof peer)
                printf("bad peer address\n");
            struct sockaddr_in pn;
            socklen_t pnl = sizeof pn;
            getpeername(c, (struct sockaddr *)&pn, &pnl);
            if (pn.sin_port != peer.sin_port)
                printf("getpeername mismatch\n");
            p[n].fd = c;
            p[n].events = POLLIN;
            p[n].revents = 0;
            n++;
            accepted++;
        }
        for (int i = 1; i < n; i++) {
            if (!p[i].revents)
                continue;
            char buf[256];
            int k = recv(p[i].fd, buf, sizeof buf, 0);
            if (k <= 0) {
                close(p[i].fd);
                p[i] = p[--n];
                i--;
                done++;
                continue;
            }
            send(p[i].fd, buf, k, 0);
        }
    }
    int ok = 0;
    for (int i = 0; i < NCLIENTS; i++) {
        int st;
        wait(&st);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            ok++;
        else
            printf("client status %d\n", st);
    }
    printf("accepted %d, clients ok %d\n", accepted, ok);
    /* shutdown and ENOTCONN */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    printf("shutdown unconnected: %s\n", shutdown(s, SHUT_RDWR) < 0 && errno == ENOTCONN ? "ENOTCONN" : "?");
    printf("getpeername unconnected: %s\n",
           getpeername(s, (struct sockaddr *)&a, &al) < 0 && errno == ENOTCONN ? "ENOTCONN" : "?");
    printf("bad fd: %s\n", send(99, "x", 1, 0) < 0 && errno == EBADF ? "EBADF" : "?");
    printf("not a socket: %s\n", listen(1, 1) < 0 && errno == ENOTSOCK ? "ENOTSOCK" : "?");
    return 0;
}

#define _GNU_SOURCE
/* Garbage pointers, lengths, fds and control messages: every call must fail cleanly. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define BAD ((void *)0xfffffff0u)
static int fails;

static void expect(const char *what, long r)
{
    if (r >= 0) {
        printf("%s: unexpectedly succeeded (%ld)\n", what, r);
        fails++;
    }
}

int main(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    char big[512];
    memset(big, 'A', sizeof big);
    expect("socket bad domain", socket(AF_PACKET, SOCK_RAW, 0));
    expect("socket raw", socket(AF_INET, SOCK_RAW, 1));
    expect("bind bad ptr", bind(s, BAD, 16));
    expect("bind huge len", bind(s, (void *)big, 100000));
    expect("bind negative len", bind(s, (void *)big, (socklen_t)-1));
    expect("connect null", connect(s, NULL, 16));
    expect("connect short", connect(s, (void *)big, 1));
    struct sockaddr_un u = {.sun_family = AF_UNIX};
    memset(u.sun_path, 'B', sizeof u.sun_path);
    int us = socket(AF_UNIX, SOCK_STREAM, 0);
    expect("unix bind unterminated 108", bind(us, (void *)&u, sizeof u) == 0 ? -1 : -1);
    expect("unix connect too long", connect(us, (void *)&u, sizeof u + 20));
    expect("accept bad addr", accept(s, BAD, (socklen_t *)BAD));
    socklen_t l = 16;
    expect("getsockname bad buf", getsockname(s, BAD, &l));
    expect("getsockname bad len", getsockname(s, (void *)big, (socklen_t *)BAD));
    expect("sendto bad buf", sendto(sv[0], BAD, 100, 0, NULL, 0));
    expect("recvfrom bad len ptr", recvfrom(sv[0], big, 10, MSG_DONTWAIT, (void *)big, (socklen_t *)BAD));
    expect("sendmsg bad msghdr", sendmsg(sv[0], BAD, 0));
    struct iovec iov = {big, 10};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 100000};
    expect("sendmsg huge iovlen", sendmsg(sv[0], &m, 0));
    m.msg_iovlen = 1;
    m.msg_iov = BAD;
    expect("sendmsg bad iov", sendmsg(sv[0], &m, 0));
    m.msg_iov = &iov;
    uint32_t ctl[8] = {0xffffff00u, SOL_SOCKET, SCM_RIGHTS, 0};
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    expect("sendmsg cmsg_len too big", sendmsg(sv[0], &m, 0));
    ctl[0] = 3;
    expect("sendmsg cmsg_len too small", sendmsg(sv[0], &m, 0));
    ctl[0] = 16;
    ctl[3] = 9999;
    m.msg_controllen = 16;
    expect("sendmsg SCM_RIGHTS bad fd", sendmsg(sv[0], &m, 0));
    m.msg_controllen = 0xfffffff0u;
    expect("sendmsg huge controllen", sendmsg(sv[0], &m, 0));
    m.msg_control = BAD;
    m.msg_controllen = 64;
    expect("sendmsg bad control", sendmsg(sv[0], &m, 0));
    struct msghdr rm = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = BAD, .msg_controllen = 64};
    send(sv[1], "x", 1, 0);
    expect("recvmsg bad control", recvmsg(sv[0], &rm, MSG_DONTWAIT));
    rm.msg_control = NULL;
    rm.msg_controllen = 0;
    rm.msg_name = BAD;
    rm.msg_namelen = 64;
    expect("recvmsg bad name", recvmsg(sv[0], &rm, MSG_DONTWAIT));
    expect("setsockopt bad ptr", setsockopt(s, SOL_SOCKET, SO_RCVBUF, BAD, 4));
    expect("setsockopt filter", setsockopt(s, SOL_SOCKET, 26 /* SO_ATTACH_FILTER */, big, 8));
    expect("getsockopt bad len", getsockopt(s, SOL_SOCKET, SO_TYPE, big, (socklen_t *)BAD));
    l = 64;
    expect("getsockopt bad buf", getsockopt(s, SOL_SOCKET, SO_TYPE, BAD, &l));
    expect("poll bad ptr", poll(BAD, 4, 0));
    expect("poll too many", poll((void *)big, 1u << 30, 0));
    expect("select negative", select(-1, NULL, NULL, NULL, NULL));
    expect("select bad set", select(64, BAD, NULL, NULL, NULL));
    int ep = epoll_create1(0);
    expect("epoll_wait bad buf", epoll_wait(ep, BAD, 10, 0));
    expect("epoll_wait huge max", epoll_wait(ep, (void *)big, 0x7fffffff, 0));
    expect("epoll_ctl bad event", epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], BAD));
    expect("epoll_ctl self", epoll_ctl(ep, EPOLL_CTL_ADD, ep, (void *)big));
    expect("epoll_create1 bad flags", epoll_create1(12345));
    expect("socketpair bad ptr", socketpair(AF_UNIX, SOCK_STREAM, 0, BAD));
    printf("hostile net calls: %d unexpected successes\n", fails);
    return fails != 0;
}

#define _GNU_SOURCE
/* poll/select/epoll on pipes and sockets, timeouts, non-blocking connect, eventfd, timerfd. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pipes(void)
{
    int p[2];
    pipe(p);
    struct pollfd f[3] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {-1, POLLIN, 0}};
    int r = poll(f, 3, 0);
    printf("poll empty pipe: %d, in %d out %d\n", r, f[0].revents, f[1].revents);
    write(p[1], "x", 1);
    r = poll(f, 1, 1000);
    printf("poll after write: %d, revents %d\n", r, f[0].revents);
    double t0 = now();
    char c;
    read(p[0], &c, 1);
    r = poll(f, 1, 150);
    double dt = now() - t0;
    printf("poll timeout: %d, waited enough %d\n", r, dt > 0.12 && dt < 2);
    struct pollfd bad = {99, POLLIN, 0};
    r = poll(&bad, 1, 0);
    printf("poll bad fd: %d, POLLNVAL %d\n", r, bad.revents == POLLNVAL);
    close(p[1]);
    r = poll(f, 1, 0);
    printf("poll hup: %d, POLLHUP %d\n", r, !!(f[0].revents & POLLHUP));
    close(p[0]);
}

static void selects(void)
{
    int p[2];
    pipe(p);
    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(p[0], &rd);
    FD_SET(p[1], &wr);
    int r = select(p[1] + 1, &rd, &wr, NULL, NULL);
    printf("select: %d, rd %d wr %d\n", r, FD_ISSET(p[0], &rd), FD_ISSET(p[1], &wr));
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    struct timeval tv = {0, 200000};
    double t0 = now();
    r = select(p[0] + 1, &rd, NULL, NULL, &tv);
    double dt = now() - t0;
    printf("select timeout: %d, waited enough %d, rd %d\n", r, dt > 0.17 && dt < 2, FD_ISSET(p[0], &rd));
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    FD_SET(p[0], &rd);
    write(p[1], "y", 1);
    r = select(p[0] + 1, &rd, NULL, NULL, &tv);
    printf("select ready: %d, rd %d\n", r, FD_ISSET(p[0], &rd));
    struct timespec ts = {0, 50000000};
    FD_SET(p[0], &rd);
    r = pselect(p[0] + 1, &rd, NULL, NULL, &ts, NULL);
    printf("pselect: %d\n", r);
    FD_ZERO(&rd);
    /* Linux only checks fds below the size of the process's fd table (at least 64, larger when the
       parent that forked us had many fds open), so the bad fd must be below 64 to be seen natively. */
    FD_SET(40, &rd);
    printf("select bad fd: %s\n", select(41, &rd, NULL, NULL, &tv) < 0 && errno == EBADF ? "EBADF" : "?");
    tv.tv_usec = -1;
    printf("select bad timeout: %s\n", select(1, NULL, NULL, NULL, &tv) < 0 && errno == EINVAL ? "EINVAL" : "?");
    close(p[0]);
    close(p[1]);
}

static void nonblocking_connect(void)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(ls, (struct sockaddr *)&a, sizeof a);
    listen(ls, 4);
    socklen_t al = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &al);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int r = connect(s, (struct sockaddr *)&a, sizeof a);
    printf("nb connect: %s\n", r == 0 ? "0" : errno == EINPROGRESS ? "EINPROGRESS" : strerror(errno));
    struct pollfd f = {s, POLLOUT, 0};
    r = poll(&f, 1, 5000);
    int err = -1;
    socklen_t el = sizeof err;
    getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el);
    printf("writable %d, SO_ERROR %d\n", r == 1 && (f.revents & POLLOUT), err);
    int c = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    printf("accept4: ok %d, nonblock %d, cloexec %d\n", c >= 0, !!(fcntl(c, F_GETFL) & O_NONBLOCK),
           fcntl(c, F_GETFD) == FD_CLOEXEC);
    char b;
    printf("nb read: %s\n", read(c, &b, 1) < 0 && errno == EAGAIN ? "EAGAIN" : "?");
    close(c);
    close(s);
    /* a closed port: the listener's port after it is closed */
    close(ls);
    s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    r = connect(s, (struct sockaddr *)&a, sizeof a);
    if (r < 0 && errno == EINPROGRESS) {
        f.fd = s;
        f.events = POLLOUT;
        poll(&f, 1, 5000);
        getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el);
        printf("closed port: SO_ERROR %s\n", err == ECONNREFUSED ? "ECONNREFUSED" : strerror(err));
    } else {
        printf("closed port: SO_ERROR %s\n", r < 0 && errno == ECONNREFUSED ? "ECONNREFUSED" : "?");
    }
    close(s);
    s = socket(AF_INET, SOCK_STREAM, 0);
    r = connect(s, (struct sockaddr *)&a, sizeof a);
    printf("blocking connect to closed port: %s\n", r < 0 && errno == ECONNREFUSED ? "ECONNREFUSED" : "?");
    close(s);
}

static void epolls(void)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int p[2];
    pipe(p);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1122334455667788ull};
    printf("epoll_ctl add: %d\n", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    printf("epoll_ctl again: %s\n", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) < 0 && errno == EEXIST ? "EEXIST" : "?");
    struct epoll_event out[4];
    double t0 = now();
    int r = epoll_wait(ep, out, 4, 100);
    printf("epoll_wait timeout: %d, waited enough %d\n", r, now() - t0 > 0.08);
    write(p[1], "z", 1);
    r = epoll_wait(ep, out, 4, 1000);
    printf("epoll_wait: %d, events %u, data ok %d\n", r, out[0].events, out[0].data.u64 == 0x1122334455667788ull);
    ev.events = EPOLLOUT;
    ev.data.fd = p[1];
    epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev);
    r = epoll_wait(ep, out, 4, 0);
    printf("epoll_wait two: %d\n", r);
    printf("epoll_ctl del: %d\n", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
    r = epoll_wait(ep, out, 4, 0);
    printf("after del: %d, fd ok %d\n", r, out[0].data.fd == p[1]);
    printf("epoll bad maxevents: %s\n", epoll_wait(ep, out, 0, 0) < 0 && errno == EINVAL ? "EINVAL" : "?");
    /* eventfd in epoll */
    int efd = eventfd(0, EFD_NONBLOCK);
    ev.events = EPOLLIN;
    ev.data.u32 = 7;
    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
    uint64_t one = 3, got = 0;
    write(efd, &one, 8);
    r = epoll_wait(ep, out, 4, 0);
    read(efd, &got, 8);
    printf("eventfd: ready %d, value %llu\n", r, (unsigned long long)got);
    printf("eventfd empty: %s\n", read(efd, &got, 8) < 0 && errno == EAGAIN ? "EAGAIN" : "?");
    /* timerfd */
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec its = {{0, 0}, {0, 30000000}}, cur;
    timerfd_settime(tfd, 0, &its, NULL);
    timerfd_gettime(tfd, &cur);
    printf("timerfd armed %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0);
    uint64_t exp = 0;
    read(tfd, &exp, 8);
    printf("timerfd expirations %llu\n", (unsigned long long)exp);
    close(ep);
}

int main(void)
{
    pipes();
    selects();
    nonblocking_connect();
    epolls();
    return 0;
}

#define _GNU_SOURCE
/* A blocking poll/select/epoll_wait/accept ends with EINTR when a signal handler runs (even with
 * SA_RESTART for poll/select/epoll, which Linux never restarts). */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static volatile int hits;
static void on_alarm(int sig) { (void)sig; hits++; }

static void arm(int restart)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 100000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

int main(void)
{
    int p[2];
    pipe(p);
    struct pollfd f = {p[0], POLLIN, 0};
    arm(0);
    int r = poll(&f, 1, -1);
    printf("poll: %d %s, hits %d\n", r, r < 0 && errno == EINTR ? "EINTR" : "?", hits);
    arm(1);
    r = poll(&f, 1, 5000);
    printf("poll SA_RESTART: %d %s, hits %d\n", r, r < 0 && errno == EINTR ? "EINTR" : "?", hits);
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    arm(0);
    r = select(p[0] + 1, &rd, NULL, NULL, NULL);
    printf("select: %d %s, hits %d\n", r, r < 0 && errno == EINTR ? "EINTR" : "?", hits);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    arm(1);
    r = epoll_wait(ep, &out, 1, -1);
    printf("epoll_wait: %d %s, hits %d\n", r, r < 0 && errno == EINTR ? "EINTR" : "?", hits);
    /* ppoll with a mask that unblocks SIGALRM, blocked otherwise */
    sigset_t blk, old;
    sigemptyset(&blk);
    sigaddset(&blk, SIGALRM);
    sigprocmask(SIG_BLOCK, &blk, &old);
    arm(0);
    usleep(200000); /* the alarm is now pending, blocked */
    printf("pending before ppoll: hits %d\n", hits);
    sigset_t none;
    sigemptyset(&none);
    r = ppoll(&f, 1, NULL, &none);
    printf("ppoll: %d %s, hits %d\n", r, r < 0 && errno == EINTR ? "EINTR" : "?", hits);
    sigprocmask(SIG_SETMASK, &old, NULL);
    /* a blocked signal does not end the wait: the timeout does */
    sigprocmask(SIG_BLOCK, &blk, NULL);
    arm(0);
    r = poll(&f, 1, 300);
    printf("poll with SIGALRM blocked: %d, hits %d\n", r, hits);
    sigprocmask(SIG_UNBLOCK, &blk, NULL);
    printf("after unblock: hits %d\n", hits);
    /* accept */
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(ls, (struct sockaddr *)&a, sizeof a);
    listen(ls, 1);
    arm(0);
    r = accept(ls, NULL, NULL);
    printf("accept: %d %s, hits %d\n", r, r < 0 && errno == EINTR ? "EINTR" : "?", hits);
    return 0;
}

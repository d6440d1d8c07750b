#define _GNU_SOURCE
/* An epoll echo server on 127.0.0.1: prints its port, echoes lines until argv[1] connections have
 * come and gone, then prints how many it served. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int want = argc > 1 ? atoi(argv[1]) : 1;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 1024) < 0) {
        perror("bind/listen");
        return 1;
    }
    socklen_t al = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &al);
    printf("%d\n", ntohs(a.sin_port));
    fflush(stdout);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    int served = 0, closed = 0, maxopen = 0, open_ = 0;
    struct epoll_event evs[64];
    while (closed < want) {
        int n = epoll_wait(ep, evs, 64, 30000);
        if (n <= 0) {
            fprintf(stderr, "epoll_wait: %d\n", n);
            return 1;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                for (;;) {
                    int c = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
                    if (c < 0)
                        break;
                    struct epoll_event ce = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                    served++;
                    if (++open_ > maxopen)
                        maxopen = open_;
                }
                continue;
            }
            char buf[4096];
            int k = read(fd, buf, sizeof buf);
            if (k > 0) {
                write(fd, buf, k);
            } else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
                closed++;
                open_--;
            }
        }
    }
    printf("served %d, max open %d\n", served, maxopen > 1);
    return 0;
}

#define _GNU_SOURCE
/* A TCP client: connects to argv[1] port argv[2], sends argv[3], prints the reply. Exit 3 on
 * connect failure (printing the error name). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &a.sin_addr);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        printf("connect: %s\n", errno == EACCES ? "EACCES" : errno == ECONNREFUSED ? "ECONNREFUSED" : strerror(errno));
        return 3;
    }
    size_t n = strlen(argv[3]);
    if (write(s, argv[3], n) != (ssize_t)n)
        return 4;
    shutdown(s, SHUT_WR);
    char buf[256];
    int got = 0, k;
    while ((k = read(s, buf + got, sizeof buf - 1 - got)) > 0)
        got += k;
    buf[got] = 0;
    printf("reply: %s\n", buf);
    return 0;
}

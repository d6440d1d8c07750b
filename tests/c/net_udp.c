#define _GNU_SOURCE
/* UDP echo between two processes; recvfrom addresses, connected UDP, MSG_PEEK, MSG_TRUNC. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("bind");
        return 1;
    }
    socklen_t al = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &al);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int c = socket(AF_INET, SOCK_DGRAM, 0);
        for (int i = 0; i < 5; i++) {
            char msg[32], back[32];
            int n = snprintf(msg, sizeof msg, "datagram %d", i);
            if (sendto(c, msg, n, 0, (struct sockaddr *)&a, sizeof a) != n)
                _exit(2);
            struct sockaddr_in from;
            socklen_t fl = sizeof from;
            int k = recvfrom(c, back, sizeof back, 0, (struct sockaddr *)&from, &fl);
            if (k != n || memcmp(msg, back, n) || from.sin_port != a.sin_port)
                _exit(3);
        }
        /* connected UDP */
        connect(c, (struct sockaddr *)&a, sizeof a);
        send(c, "connected", 9, 0);
        char b[16];
        if (recv(c, b, sizeof b, 0) != 9)
            _exit(4);
        send(c, "quit", 4, 0);
        _exit(0);
    }
    for (;;) {
        char buf[64];
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        int k = recvfrom(s, buf, sizeof buf, MSG_PEEK, (struct sockaddr *)&from, &fl);
        char small[4];
        int t = recv(s, small, sizeof small, MSG_PEEK | MSG_TRUNC);
        k = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        printf("got '%.*s' (trunc len %d) from %s len %d\n", k, buf, t, inet_ntoa(from.sin_addr), (int)fl);
        if (k == 4 && memcmp(buf, "quit", 4) == 0)
            break;
        sendto(s, buf, k, 0, (struct sockaddr *)&from, fl);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("child exit %d\n", WEXITSTATUS(st));
    char b[4];
    printf("dontwait: %s\n", recv(s, b, sizeof b, MSG_DONTWAIT) < 0 && errno == EAGAIN ? "EAGAIN" : "?");
    return 0;
}

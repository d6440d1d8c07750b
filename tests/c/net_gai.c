#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
int main(int argc, char **argv) {
    const char *names[] = {"localhost", "127.0.0.1", "::1", "example.invalid"};
    for (int i = 0; i < 4; i++) {
        struct addrinfo hints = {0}, *res; hints.ai_socktype = SOCK_STREAM;
        int r = getaddrinfo(names[i], "80", &hints, &res);
        if (r) { printf("%s: %s\n", names[i], gai_strerror(r)); continue; }
        char buf[64]; void *a = res->ai_family == AF_INET ? (void*)&((struct sockaddr_in*)res->ai_addr)->sin_addr : (void*)&((struct sockaddr_in6*)res->ai_addr)->sin6_addr;
        printf("%s -> %s\n", names[i], inet_ntop(res->ai_family, a, buf, sizeof buf)); freeaddrinfo(res);
    }
    return 0;
}

/* Run under the policy grate with --allow-read /prog --allow-read /ro --allow /data
 * --allow-net 127.0.0.1:7 --allow-net 127.0.0.0/8:17: checks what is allowed and what is denied. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <lind_syscall.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("FAIL line %d: %s (errno %d %s)\n", __LINE__, #cond, errno, strerror(errno));   \
            fflush(stdout);                                                                        \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define DENIED(call) CHECK((call) == -1 && errno == EACCES)

static struct sockaddr_in addr(const char *ip, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

int main(void)
{
    struct stat st;
    int fd;

    /* allowed: read and write under /data, read under /ro */
    CHECK((fd = open("/data/ok.txt", O_RDONLY)) >= 0 && close(fd) == 0);
    CHECK((fd = open("/data/new.txt", O_CREAT | O_WRONLY, 0644)) >= 0 && write(fd, "x", 1) == 1 && close(fd) == 0);
    CHECK(stat("/data/ok.txt", &st) == 0);
    CHECK(stat("/data/missing", &st) == -1 && errno == ENOENT);
    CHECK((fd = open("/ro/r.txt", O_RDONLY)) >= 0 && close(fd) == 0);
    CHECK(mkdir("/data/sub", 0755) == 0 && rmdir("/data/sub") == 0);
    printf("allowed ok\n");

    /* denied: outside, and writing read-only paths */
    DENIED(open("/secret.txt", O_RDONLY));
    DENIED(stat("/secret.txt", &st));
    DENIED(lstat("/secret.txt", &st));
    DENIED(access("/secret.txt", R_OK));
    DENIED(stat("/does-not-exist", &st));
    DENIED(open("/database/x", O_RDONLY)); /* a sibling with /data as its name's prefix */
    DENIED(open("/ro/r.txt", O_WRONLY));
    DENIED(open("/ro/new", O_CREAT | O_RDONLY, 0644));
    DENIED(unlink("/ro/r.txt"));
    DENIED(mkdir("/ro/d", 0755));
    DENIED(rename("/data/new.txt", "/moved.txt"));
    DENIED(unlink("/secret.txt"));
    DENIED(symlink("/secret.txt", "/data/link"));
    DENIED(symlink("../secret.txt", "/data/link"));
    CHECK(symlink("ok.txt", "/data/link2") == 0);
    CHECK(access("/secret.txt", F_OK) == -1);
    printf("denied ok\n");

    /* relative paths are resolved against the cwd */
    CHECK(chdir("/data") == 0);
    CHECK((fd = open("ok.txt", O_RDONLY)) >= 0 && close(fd) == 0);
    DENIED(open("../secret.txt", O_RDONLY));
    DENIED(open("/data/../secret.txt", O_RDONLY));
    DENIED(open("./../../secret.txt", O_RDONLY));
    DENIED(chdir("/"));
    int dir = open("/data", O_RDONLY | O_DIRECTORY);
    CHECK(dir >= 0);
    DENIED(openat(dir, "ok.txt", O_RDONLY)); /* relative to a directory fd */
    CHECK((fd = openat(AT_FDCWD, "/data/ok.txt", O_RDONLY)) >= 0 && close(fd) == 0);
    CHECK(fstat(dir, &st) == 0 && S_ISDIR(st.st_mode));
    printf("relative ok\n");

    /* network */
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(u >= 0);
    struct sockaddr_in a = addr("127.0.0.1", 7);
    CHECK(sendto(u, "x", 1, 0, (struct sockaddr *)&a, sizeof a) == 1);
    a = addr("127.0.0.1", 9);
    DENIED(sendto(u, "x", 1, 0, (struct sockaddr *)&a, sizeof a));
    DENIED(connect(u, (struct sockaddr *)&a, sizeof a));
    a = addr("127.0.0.5", 17); /* 127.0.0.0/8:17 */
    CHECK(sendto(u, "x", 1, 0, (struct sockaddr *)&a, sizeof a) == 1);
    a = addr("10.1.2.3", 17);
    DENIED(sendto(u, "x", 1, 0, (struct sockaddr *)&a, sizeof a));
    int t = socket(AF_INET, SOCK_STREAM, 0);
    a = addr("127.0.0.1", 7);
    CHECK(connect(t, (struct sockaddr *)&a, sizeof a) == -1 && errno == ECONNREFUSED); /* allowed: goes below */
    close(t);
    t = socket(AF_INET, SOCK_STREAM, 0);
    a = addr("127.0.0.1", 9);
    DENIED(connect(t, (struct sockaddr *)&a, sizeof a));
    printf("network ok\n");

    /* the cage cannot drop the policy from its table */
    CHECK(register_handler(getpid(), 2, 500, 0) == -1 && errno == EPERM);
    CHECK(register_handler(getpid(), 2, getppid(), 1) == -1 && errno == EPERM);
    CHECK(copy_handler_table_to_cage(getppid(), getpid()) == -1 && errno == EPERM);
    DENIED(open("/secret.txt", O_RDONLY));
    printf("table ok\n");
    return 0;
}

#define _GNU_SOURCE
/* socketpair, sendmsg/recvmsg with iovecs, MSG_PEEK/MSG_DONTWAIT, SCM_RIGHTS between processes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static int send_fds(int s, const int *fds, int n, const char *tag)
{
    char ctl[CMSG_SPACE(sizeof(int) * 4)];
    memset(ctl, 0, sizeof ctl);
    struct iovec iov = {.iov_base = (void *)tag, .iov_len = strlen(tag)};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                       .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
    return sendmsg(s, &m, 0);
}

static int recv_fds(int s, int *fds, int max, char *tag, int tagcap, int *flags)
{
    char ctl[CMSG_SPACE(sizeof(int) * 4)];
    struct iovec iov = {.iov_base = tag, .iov_len = tagcap};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    int n = recvmsg(s, &m, 0);
    if (n < 0)
        return -1;
    tag[n] = 0;
    *flags = m.msg_flags;
    int k = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            int cnt = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (int i = 0; i < cnt && k < max; i++)
                memcpy(&fds[k++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
        }
    return k;
}

int main(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        perror("socketpair");
        return 1;
    }
    /* scatter/gather */
    struct iovec out[3] = {{"abc", 3}, {"", 0}, {"defgh", 5}};
    struct msghdr m = {.msg_iov = out, .msg_iovlen = 3};
    printf("sendmsg %d\n", (int)sendmsg(sv[0], &m, 0));
    char p1[2], p2[16];
    struct iovec in[2] = {{p1, 2}, {p2, sizeof p2}};
    struct msghdr r = {.msg_iov = in, .msg_iovlen = 2};
    char peek[4];
    printf("peek %d\n", (int)recv(sv[1], peek, 4, MSG_PEEK));
    int n = recvmsg(sv[1], &r, 0);
    printf("recvmsg %d: '%.2s' '%.*s' flags %d\n", n, p1, n - 2, p2, r.msg_flags);
    printf("dontwait: %s\n", recv(sv[1], p2, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN ? "EAGAIN" : "?");

    /* SCM_RIGHTS: the parent passes an open file and a pipe end to a child */
    int f = open("secret.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
    write(f, "file contents via fd passing\n", 29);
    lseek(f, 0, SEEK_SET);
    int pp[2];
    pipe(pp);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        int fds[4], flags = 0;
        char tag[32];
        int k = recv_fds(sv[1], fds, 4, tag, sizeof tag - 1, &flags);
        printf("child: tag '%s', %d fds, flags %d, distinct %d\n", tag, k, flags, k == 2 && fds[0] != fds[1]);
        char buf[64];
        int got = read(fds[0], buf, sizeof buf);
        printf("child read: %.*s", got, buf);
        write(fds[1], "via pipe", 8);
        printf("child: fcntl ok %d\n", fcntl(fds[0], F_GETFD) >= 0);
        fflush(stdout);
        _exit(0);
    }
    int fds[2] = {f, pp[1]};
    printf("parent: sendmsg %d\n", send_fds(sv[0], fds, 2, "two fds"));
    close(f);
    close(pp[1]);
    int st;
    waitpid(pid, &st, 0);
    char buf[16];
    n = read(pp[0], buf, sizeof buf);
    printf("parent: pipe says '%.*s', child exit %d\n", n, buf, WEXITSTATUS(st));
    int bad = 77;
    printf("bad fd: %s\n", send_fds(sv[0], &bad, 1, "x") < 0 && errno == EBADF ? "EBADF" : "?");
    /* receive buffer too small for the fds: MSG_CTRUNC */
    int three[3] = {0, 1, 2};
    send_fds(sv[0], three, 3, "three");
    char ctl[CMSG_SPACE(sizeof(int))];
    char t[8];
    struct iovec iv = {t, sizeof t};
    struct msghdr mm = {.msg_iov = &iv, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    n = recvmsg(sv[1], &mm, 0);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mm);
    /* how many fit depends on the ABI's header size; at least one, never all three */
    int got = cm ? (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int)) : 0;
    printf("ctrunc: %d bytes, MSG_CTRUNC %d, some fds %d\n", n, !!(mm.msg_flags & MSG_CTRUNC), got >= 1 && got < 3);
    return 0;
}

/* Pipes between processes: EOF, pipelines, EPIPE/SIGPIPE, pipe2 flags, PIPE_BUF atomicity, FIONREAD.
 * usage: proc_pipe MODE [CHILD]  (CHILD: path of the proc_child program) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void status_line(const char *what, int st)
{
    if (WIFEXITED(st))
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else
        printf("%s: killed by signal %d\n", what, WTERMSIG(st));
}

static void eof(void)
{
    int p[2];
    pipe(p);
    fflush(stdout);
    pid_t a = fork();
    if (a == 0) {
        close(p[0]);
        dprintf(p[1], "from a: 1\nfrom a: 2\n");
        _exit(0);
    }
    pid_t b = fork();
    if (b == 0) {
        close(p[0]);
        msleep(100); /* a has ended; the pipe still has a writer */
        dprintf(p[1], "from b: late\n");
        _exit(0);
    }
    close(p[1]);
    char buf[256];
    size_t len = 0;
    ssize_t n;
    while ((n = read(p[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = 0;
    printf("read until EOF (%zu bytes):\n%s", len, buf);
    printf("read at EOF again: %zd\n", read(p[0], buf, 1));
    int st;
    waitpid(a, &st, 0);
    waitpid(b, &st, 0);
}

static void pipeline(const char *child)
{
    /* producer (a forked child) | upper (exec) | count (exec) > file, then cat the file */
    int p1[2], p2[2];
    pipe(p1);
    pipe(p2);
    fflush(stdout);
    pid_t prod = fork();
    if (prod == 0) {
        dup2(p1[1], 1);
        close(p1[0]); close(p1[1]); close(p2[0]); close(p2[1]);
        for (int i = 0; i < 1000; i++)
            printf("line %d of the producer\n", i);
        exit(0);
    }
    pid_t filt = fork();
    if (filt == 0) {
        dup2(p1[0], 0);
        dup2(p2[1], 1);
        close(p1[0]); close(p1[1]); close(p2[0]); close(p2[1]);
        execl(child, "upper", "upper", (char *)NULL);
        _exit(127);
    }
    int out[2];
    pipe(out);
    pid_t cons = fork();
    if (cons == 0) {
        dup2(p2[0], 0);
        dup2(out[1], 1);
        close(p1[0]); close(p1[1]); close(p2[0]); close(p2[1]); close(out[0]); close(out[1]);
        execl(child, "count", "count", (char *)NULL);
        _exit(127);
    }
    close(p1[0]); close(p1[1]); close(p2[0]); close(p2[1]); close(out[1]);
    char buf[128];
    ssize_t n = read(out[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("consumer says: %s", buf);
    int st;
    waitpid(prod, &st, 0);
    status_line("producer", st);
    waitpid(filt, &st, 0);
    status_line("upper", st);
    waitpid(cons, &st, 0);
    status_line("count", st);
    /* the same pipeline once more, through the filter: check the content is upper case */
    pipe(p1);
    pipe(p2);
    fflush(stdout);
    if (fork() == 0) {
        dup2(p1[0], 0);
        dup2(p2[1], 1);
        close(p1[0]); close(p1[1]); close(p2[0]); close(p2[1]);
        execl(child, "upper", "upper", (char *)NULL);
        _exit(127);
    }
    close(p1[0]);
    close(p2[1]);
    write(p1[1], "hello, pipe\n", 12);
    close(p1[1]);
    n = read(p2[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("filtered: %s", buf);
    wait(NULL);
}

static void sigpipe(void)
{
    int p[2];
    pipe(p);
    close(p[0]);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        write(p[1], "x", 1); /* no reader: SIGPIPE, default action ends the process */
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("writer with default SIGPIPE: signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        signal(SIGPIPE, SIG_IGN);
        errno = 0;
        ssize_t r = write(p[1], "x", 1);
        int e = errno;
        printf("writer with SIGPIPE ignored: write=%zd EPIPE=%d\n", r, e == EPIPE);
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, &st, 0);
    status_line("ignoring writer", st);
    /* a reader that goes away while the writer is blocked on a full pipe */
    int q[2];
    pipe(q);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        signal(SIGPIPE, SIG_IGN);
        close(q[0]);
        char big[4096];
        memset(big, 'b', sizeof big);
        long total = 0;
        ssize_t r;
        while ((r = write(q[1], big, sizeof big)) > 0)
            total += r;
        int e = errno;
        printf("blocked writer: wrote >= 4096=%d, then EPIPE=%d\n", total >= 4096, e == EPIPE);
        fflush(stdout);
        _exit(0);
    }
    close(q[1]);
    msleep(100);
    close(q[0]);
    waitpid(c, &st, 0);
    status_line("blocked writer", st);
}

static void sigpipe_self(void)
{
    int p[2];
    pipe(p);
    close(p[0]);
    printf("about to write to a pipe without readers\n");
    fflush(stdout);
    write(p[1], "x", 1);
    printf("not reached\n");
}

static void flags(void)
{
    int p[2];
    printf("pipe2(O_CLOEXEC|O_NONBLOCK)=%d\n", pipe2(p, O_CLOEXEC | O_NONBLOCK));
    printf("cloexec: r=%d w=%d\n", !!(fcntl(p[0], F_GETFD) & FD_CLOEXEC), !!(fcntl(p[1], F_GETFD) & FD_CLOEXEC));
    printf("nonblock: r=%d w=%d\n", !!(fcntl(p[0], F_GETFL) & O_NONBLOCK), !!(fcntl(p[1], F_GETFL) & O_NONBLOCK));
    printf("access mode: r is O_RDONLY=%d w is O_WRONLY=%d\n", (fcntl(p[0], F_GETFL) & O_ACCMODE) == O_RDONLY,
           (fcntl(p[1], F_GETFL) & O_ACCMODE) == O_WRONLY);
    char buf[4096];
    errno = 0;
    ssize_t r = read(p[0], buf, 1);
    int e = errno;
    printf("read on empty nonblocking pipe: %zd EAGAIN=%d\n", r, e == EAGAIN);
    memset(buf, 'z', sizeof buf);
    long total = 0;
    while ((r = write(p[1], buf, sizeof buf)) > 0)
        total += r;
    e = errno;
    printf("filled the pipe: more than PIPE_BUF=%d, then EAGAIN=%d\n", total > PIPE_BUF, e == EAGAIN);
    int avail = -1;
    ioctl(p[0], FIONREAD, &avail);
    printf("FIONREAD equals bytes written=%d\n", avail == total);
    close(p[1]);
    long got = 0;
    while ((r = read(p[0], buf, sizeof buf)) > 0)
        got += r;
    printf("drained all=%d, then read returns %zd (EOF)\n", got == total, r);
    close(p[0]);
    errno = 0;
    r = pipe2(p, 0x12345678);
    e = errno;
    printf("pipe2 bad flags: %zd EINVAL=%d\n", r, e == EINVAL);
    pipe(p);
    printf("plain pipe: cloexec=%d nonblock=%d\n", !!(fcntl(p[0], F_GETFD) & FD_CLOEXEC),
           !!(fcntl(p[0], F_GETFL) & O_NONBLOCK));
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    errno = 0;
    r = read(p[0], buf, 1);
    e = errno;
    printf("after F_SETFL O_NONBLOCK: read=%zd EAGAIN=%d\n", r, e == EAGAIN);
}

static void atomic(void)
{
    enum { WRITERS = 4, MSGS = 100 };
    int p[2];
    pipe(p);
    fflush(stdout);
    for (int w = 0; w < WRITERS; w++) {
        if (fork() == 0) {
            close(p[0]);
            char msg[PIPE_BUF];
            memset(msg, 'A' + w, sizeof msg);
            for (int i = 0; i < MSGS; i++)
                if (write(p[1], msg, sizeof msg) != (ssize_t)sizeof msg)
                    _exit(1);
            _exit(0);
        }
    }
    close(p[1]);
    static char msg[PIPE_BUF];
    int counts[WRITERS] = {0}, torn = 0;
    for (;;) {
        size_t got = 0;
        ssize_t n = 0;
        while (got < sizeof msg && (n = read(p[0], msg + got, sizeof msg - got)) > 0)
            got += (size_t)n;
        if (got == 0)
            break;
        if (got < sizeof msg) {
            torn++;
            break;
        }
        int w = msg[0] - 'A';
        for (size_t i = 1; i < sizeof msg; i++)
            if (msg[i] != msg[0]) {
                torn++;
                break;
            }
        if (w >= 0 && w < WRITERS)
            counts[w]++;
    }
    for (int w = 0; w < WRITERS; w++)
        printf("writer %c: %d whole messages\n", 'A' + w, counts[w]);
    printf("torn messages: %d\n", torn);
    int st, ok = 0;
    while (wait(&st) > 0)
        ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
    printf("writers ok: %d\n", ok);
}

static void fionread(void)
{
    int p[2];
    pipe(p);
    int n = -1;
    ioctl(p[0], FIONREAD, &n);
    printf("FIONREAD empty: %d\n", n);
    write(p[1], "0123456789", 10);
    ioctl(p[0], FIONREAD, &n);
    printf("FIONREAD after 10 bytes: %d\n", n);
    char b[4];
    read(p[0], b, 4);
    ioctl(p[0], FIONREAD, &n);
    printf("FIONREAD after reading 4: %d\n", n);
    fflush(stdout);
    if (fork() == 0) {
        write(p[1], "abcdefghij", 10);
        _exit(0);
    }
    wait(NULL);
    ioctl(p[0], FIONREAD, &n);
    printf("FIONREAD after a child wrote 10: %d\n", n);
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "eof"))
        eof();
    else if (!strcmp(m, "pipeline"))
        pipeline(argv[2]);
    else if (!strcmp(m, "sigpipe"))
        sigpipe();
    else if (!strcmp(m, "sigpipe_self"))
        sigpipe_self();
    else if (!strcmp(m, "flags"))
        flags();
    else if (!strcmp(m, "atomic"))
        atomic();
    else if (!strcmp(m, "fionread"))
        fionread();
    else
        return 2;
    return 0;
}

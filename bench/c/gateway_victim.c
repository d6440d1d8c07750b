/* The victim tenant of bench/gateway_fuzz.py: known work that must keep succeeding while other
 * tenants of the same host process fuzz the gateway.
 *
 *     gateway_victim SECONDS TAG
 *
 * Each round: writes v/data-TAG with a pattern of the round, reads it back, checks its stat;
 * sends a block through a pipe it holds for its whole life and reads it back; checks its pid,
 * parent pid, umask, working directory, a file it wrote at the start (v/static-TAG) and a canary in
 * its memory. Prints "victim TAG rounds N ok" at the end (exit 0) or "victim TAG FAIL round N: what"
 * (exit 1) at the first failure. Any signal that reaches it ends it (nothing is ignored). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char canary[1 << 16];
static char block[4096], back[4096];
static long round_no;
static const char *tag;

static int fail(const char *what)
{
    printf("victim %s FAIL round %ld: %s (errno %d)\n", tag, round_no, what, errno);
    fflush(stdout);
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fill(char *b, size_t n, long seed)
{
    for (size_t i = 0; i < n; i++) b[i] = (char)(seed * 31 + (long)i * 7 + (long)(i >> 8));
}

static int readall(int fd, char *b, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 10;
    tag = argc > 2 ? argv[2] : "0";
    char data[64], stat_name[64], tmp[64];
    snprintf(data, sizeof data, "v/data-%s", tag);
    snprintf(stat_name, sizeof stat_name, "v/static-%s", tag);
    snprintf(tmp, sizeof tmp, "v/data-%s.tmp", tag);
    pid_t me = getpid(), parent = getppid();
    umask(022);
    mkdir("v", 0755);
    fill(canary, sizeof canary, 12345);
    fill(block, sizeof block, 777);
    int fd = open(stat_name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, block, sizeof block) != sizeof block || close(fd) != 0)
        fail("write static");
    int p[2];
    if (pipe(p) != 0)
        fail("pipe");
    double end = now() + seconds;
    for (round_no = 1; ; round_no++) {
        fill(block, sizeof block, round_no);
        fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) fail("open data");
        if (write(fd, block, sizeof block) != sizeof block) fail("write data");
        if (fsync(fd) != 0) fail("fsync");
        if (lseek(fd, 0, SEEK_SET) != 0) fail("lseek");
        memset(back, 0, sizeof back);
        if (readall(fd, back, sizeof back) != 0 || memcmp(block, back, sizeof back) != 0) fail("read data back");
        struct stat st;
        if (fstat(fd, &st) != 0 || st.st_size != (off_t)sizeof block || (st.st_mode & 07777) != 0644
            || !S_ISREG(st.st_mode))
            fail("fstat data");
        if (close(fd) != 0) fail("close data");
        if (rename(tmp, data) != 0) fail("rename data");
        if (write(p[1], block, 1024) != 1024) fail("pipe write");
        if (readall(p[0], back, 1024) != 0 || memcmp(block, back, 1024) != 0) fail("pipe read");
        if (getpid() != me) fail("pid changed");
        if (getppid() != parent) fail("ppid changed");
        mode_t m = umask(022);
        if (m != 022) fail("umask changed");
        char cwd[256];
        if (!getcwd(cwd, sizeof cwd) || strcmp(cwd, "/") != 0) fail("cwd changed");
        fd = open(stat_name, O_RDONLY);
        fill(block, sizeof block, 777);
        if (fd < 0 || readall(fd, back, sizeof back) != 0 || memcmp(block, back, sizeof back) != 0
            || read(fd, back, 1) != 0 || close(fd) != 0)
            fail("static file changed");
        for (size_t i = 0; i < sizeof canary; i += 97)
            if (canary[i] != (char)(12345 * 31 + (long)i * 7 + (long)(i >> 8))) fail("memory canary");
        if (now() >= end) break;
        if (round_no % 64 == 0) { struct timespec ts = {0, 1000000}; nanosleep(&ts, NULL); }
    }
    printf("victim %s rounds %ld ok\n", tag, round_no);
    return 0;
}

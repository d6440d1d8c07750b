/* Identity, limits, randomness, system information, clocks. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static const char *en(int e)
{
    switch (e) {
    case 0: return "OK";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case EPERM: return "EPERM";
    case EBADF: return "EBADF";
    default: return "E?";
    }
}

int main(void)
{
    struct utsname u;
    int r = uname(&u);
    printf("uname=%d sysname=%s nodename set=%d\n", r, u.sysname, u.nodename[0] != 0);

    struct rlimit rl;
    r = getrlimit(RLIMIT_NOFILE, &rl);
    printf("getrlimit NOFILE=%d cur>=64=%d cur<=max=%d\n", r, rl.rlim_cur >= 64, rl.rlim_cur <= rl.rlim_max);
    struct rlimit lower = {20, rl.rlim_max};
    r = setrlimit(RLIMIT_NOFILE, &lower);
    printf("setrlimit 20=%d\n", r);
    getrlimit(RLIMIT_NOFILE, &rl);
    printf("now cur=%llu\n", (unsigned long long)rl.rlim_cur);
    int last = -1, fd;
    errno = 0;
    while ((fd = open("/dev/null", O_RDONLY)) >= 0)
        last = fd;
    printf("opened up to fd %d, then %s\n", last, en(errno));
    errno = 0;
    r = dup(0);
    printf("dup at limit=%d %s\n", r, en(errno));
    errno = 0;
    r = dup2(0, 25);
    printf("dup2 beyond limit=%d %s\n", r, en(errno));
    errno = 0;
    r = fcntl(0, F_DUPFD, 30);
    printf("F_DUPFD beyond limit=%d %s\n", r, en(errno));
    for (int i = 3; i <= last; i++)
        close(i);
    struct rlimit bad = {100, 50};
    errno = 0;
    r = setrlimit(RLIMIT_NOFILE, &bad);
    printf("setrlimit cur>max=%d %s\n", r, en(errno));
    getrlimit(RLIMIT_STACK, &rl);
    printf("getrlimit STACK ok cur>0=%d\n", rl.rlim_cur > 0);
    errno = 0;
    r = getrlimit(9999, &rl);
    printf("getrlimit bad resource=%d %s\n", r, en(errno));

    unsigned char rnd[64] = {0}, rnd2[64] = {0};
    ssize_t n = getrandom(rnd, sizeof rnd, 0);
    ssize_t n2 = getrandom(rnd2, sizeof rnd2, GRND_NONBLOCK);
    int nonzero = 0;
    for (int i = 0; i < 64; i++)
        nonzero += rnd[i] != 0;
    printf("getrandom=%zd %zd filled=%d differ=%d zero-len=%zd\n", n, n2, nonzero > 32,
           memcmp(rnd, rnd2, 64) != 0, getrandom(rnd, 0, 0));
    unsigned char big[100000];
    n = getrandom(big, sizeof big, 0);
    printf("getrandom big ok=%d\n", n > 0);

    struct sysinfo si;
    r = sysinfo(&si);
    printf("sysinfo=%d totalram>0=%d freeram<=totalram=%d mem_unit>0=%d uptime>0=%d\n", r,
           si.totalram > 0, (unsigned long long)si.freeram * si.mem_unit <= (unsigned long long)si.totalram * si.mem_unit,
           si.mem_unit > 0, si.uptime > 0);
    printf("sysinfo totalram >= 64MiB=%d\n", (unsigned long long)si.totalram * si.mem_unit >= (64ull << 20));

    printf("sched_yield=%d\n", sched_yield());

    struct timespec res;
    r = clock_getres(CLOCK_MONOTONIC, &res);
    printf("clock_getres mono=%d fine=%d\n", r, res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 1000000);
    r = clock_getres(CLOCK_REALTIME, &res);
    printf("clock_getres real=%d fine=%d\n", r, res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 1000000);
    printf("clock_getres NULL=%d\n", clock_getres(CLOCK_MONOTONIC, NULL));
    errno = 0;
    r = clock_getres((clockid_t)12345, &res);
    printf("clock_getres bad=%d %s\n", r, en(errno));

    struct timeval tv;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r = gettimeofday(&tv, NULL);
    long long d_us = ((long long)tv.tv_sec * 1000000 + tv.tv_usec) - ((long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
    printf("gettimeofday=%d close=%d\n", r, d_us >= 0 && d_us < 1000000);

    printf("getuid==geteuid=%d getgid==getegid=%d\n", getuid() == geteuid(), getgid() == getegid());
    printf("getpid>0=%d getppid>=0=%d\n", getpid() > 0, getppid() >= 0);

    umask(022);
    mode_t old = umask(077);
    mode_t old2 = umask(0);
    mode_t old3 = umask(022);
    printf("umask prev=%03o %03o %03o\n", (unsigned)old, (unsigned)old2, (unsigned)old3);
    printf("umask masks to 0777: %03o\n", (unsigned)(umask(07777), umask(022)));

    long pg = sysconf(_SC_PAGESIZE);
    printf("sysconf pagesize=%ld open_max=%d nprocs>0=%d\n", pg, sysconf(_SC_OPEN_MAX) > 0,
           sysconf(_SC_NPROCESSORS_ONLN) > 0);
    char host[256];
    printf("gethostname=%d\n", gethostname(host, sizeof host));
    errno = 0;
    r = isatty(99);
    printf("isatty(99)=%d %s\n", r, en(errno));
    return 0;
}

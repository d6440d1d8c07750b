/* time.h: broken-down time, formatting, clocks, sleeping. Run with TZ=UTC. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static double ts_diff(struct timespec a, struct timespec b)
{
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

int main(void)
{
    const time_t epochs[] = {0, 86399, 951782400 /* 2000-02-29 */, 1234567890, 2147483647, 2147483648LL,
                             4102444800LL /* 2100-01-01 */, -86400};
    char buf[256];
    for (unsigned i = 0; i < sizeof epochs / sizeof epochs[0]; i++) {
        struct tm tm;
        if (!gmtime_r(&epochs[i], &tm)) {
            printf("gmtime(%lld) failed\n", (long long)epochs[i]);
            continue;
        }
        strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %a %A %b %B %j %U %W %u %w %y %e %C %D %T %R %p %I %%", &tm);
        printf("%lld: %s | wday=%d yday=%d isdst=%d\n", (long long)epochs[i], buf, tm.tm_wday, tm.tm_yday,
               tm.tm_isdst);
        time_t back = timegm(&tm);
        printf("  timegm round trip=%d\n", back == epochs[i]);
    }
    struct tm tm = {0};
    tm.tm_year = 2024 - 1900;
    tm.tm_mon = 1;
    tm.tm_mday = 29;
    tm.tm_hour = 12;
    tm.tm_min = 30;
    tm.tm_sec = 15;
    tm.tm_isdst = 0;
    time_t t = mktime(&tm);
    printf("mktime 2024-02-29 12:30:15 UTC = %lld wday=%d yday=%d\n", (long long)t, tm.tm_wday, tm.tm_yday);
    /* normalization: Jan 32nd, 25:61 */
    struct tm n = {0};
    n.tm_year = 123;
    n.tm_mon = 0;
    n.tm_mday = 32;
    n.tm_hour = 25;
    n.tm_min = 61;
    t = mktime(&n);
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &n);
    printf("mktime normalized=%lld %s\n", (long long)t, buf);
    struct tm lt;
    time_t fixed = 1700000000;
    localtime_r(&fixed, &lt);
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &lt);
    printf("localtime(UTC)=%s\n", buf);
    printf("asctime=%s", asctime(gmtime(&fixed)));
    printf("difftime=%.1f %.1f\n", difftime(1700000000, 1600000000), difftime(0, 60));
    size_t z = strftime(buf, 5, "%Y-%m-%d", &lt);
    printf("strftime too small=%zu\n", z);

    /* clocks */
    struct timespec prev, cur;
    int mono_ok = 1;
    clock_gettime(CLOCK_MONOTONIC, &prev);
    for (int i = 0; i < 10000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &cur);
        if (ts_diff(prev, cur) < 0 || cur.tv_nsec < 0 || cur.tv_nsec >= 1000000000)
            mono_ok = 0;
        prev = cur;
    }
    printf("monotonic non-decreasing=%d\n", mono_ok);
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    time_t now = time(NULL);
    printf("realtime sane=%d time() close=%d\n", rt.tv_sec > 1600000000, (now - rt.tv_sec) <= 1 && now >= rt.tv_sec);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    printf("gettimeofday close=%d usec ok=%d\n", tv.tv_sec - rt.tv_sec <= 1 && tv.tv_sec >= rt.tv_sec,
           tv.tv_usec >= 0 && tv.tv_usec < 1000000);

    struct timespec a, b, req = {0, 10 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &a);
    int r = nanosleep(&req, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double dt = ts_diff(a, b);
    printf("nanosleep r=%d slept>=10ms=%d <2s=%d\n", r, dt >= 0.010, dt < 2.0);
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct timespec abs_ = a;
    abs_.tv_nsec += 20 * 1000 * 1000;
    if (abs_.tv_nsec >= 1000000000) {
        abs_.tv_nsec -= 1000000000;
        abs_.tv_sec++;
    }
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs_, NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("clock_nanosleep abs r=%d slept>=20ms=%d\n", r, ts_diff(a, b) >= 0.020);
    struct timespec bad = {0, 1000000000};
    r = nanosleep(&bad, NULL);
    printf("nanosleep bad nsec r=%d\n", r);
    clock_t c0 = clock();
    volatile double x = 0;
    for (int i = 0; i < 3000000; i++)
        x += i * 0.5;
    clock_t c1 = clock();
    printf("clock() advances=%d\n", c1 >= c0 && c0 != (clock_t)-1);
    struct timespec cpu;
    printf("cputime ok=%d\n", clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0);
    printf("bad clock=%d\n", clock_gettime((clockid_t)999, &cpu));
    return 0;
}

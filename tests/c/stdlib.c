/* stdlib.h: sorting, searching, number parsing, the allocator, the environment. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t seed = 12345;
static uint32_t lcg(void)
{
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static const char *ename(int e)
{
    switch (e) {
    case 0: return "0";
    case ERANGE: return "ERANGE";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    default: return "other";
    }
}

static void t_strtod(const char *s)
{
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    printf("strtod(\"%s\") = %.17g end=%d errno=%s\n", s, d, (int)(end - s), end == s ? "noconv" : ename(errno));
}

static void t_strtol(const char *s, int base)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, base);
    printf("strtol(\"%s\",%d) = %ld end=%d errno=%s\n", s, base, v, (int)(end - s), end == s ? "noconv" : ename(errno));
}

static void t_strtoll(const char *s, int base)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, base);
    printf("strtoll(\"%s\",%d) = %lld end=%d errno=%s\n", s, base, v, (int)(end - s), end == s ? "noconv" : ename(errno));
}

static void t_strtoull(const char *s, int base)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    printf("strtoull(\"%s\",%d) = %llu end=%d errno=%s\n", s, base, v, (int)(end - s), end == s ? "noconv" : ename(errno));
}

int main(void)
{
    /* qsort of 100000 ints */
    enum { N = 100000 };
    int *a = malloc(N * sizeof *a);
    for (int i = 0; i < N; i++)
        a[i] = (int)(lcg() % 2000001) - 1000000;
    qsort(a, N, sizeof *a, cmp_int);
    int sorted = 1;
    uint64_t ck = 0;
    for (int i = 0; i < N; i++) {
        if (i && a[i - 1] > a[i])
            sorted = 0;
        ck = ck * 1000003u + (uint32_t)a[i];
    }
    printf("qsort sorted=%d min=%d max=%d checksum=%llu\n", sorted, a[0], a[N - 1], (unsigned long long)ck);
    int key = a[N / 2];
    int *hit = bsearch(&key, a, N, sizeof *a, cmp_int);
    printf("bsearch found=%d value_ok=%d\n", hit != NULL, hit && *hit == key);
    key = 5000000;
    printf("bsearch missing=%d\n", bsearch(&key, a, N, sizeof *a, cmp_int) == NULL);
    free(a);

    const char *words[] = {"pear", "apple", "fig", "banana", "cherry", "apple"};
    qsort(words, 6, sizeof words[0], cmp_str);
    printf("sorted words:");
    for (int i = 0; i < 6; i++)
        printf(" %s", words[i]);
    printf("\n");

    t_strtod("3.14159");
    t_strtod("  -0.0");
    t_strtod("1e308");
    t_strtod("1e400");
    t_strtod("-1e400");
    t_strtod("1e-400");
    t_strtod("0x1p4");
    t_strtod("0x1.8p-1xyz");
    t_strtod("inf");
    t_strtod("-Infinity");
    t_strtod("nan");
    t_strtod("abc");
    t_strtod("12.5e");
    t_strtod(".5");
    t_strtod("2.2250738585072014e-308");
    t_strtod("123456789012345678901234567890");

    t_strtol("  -123abc", 10);
    t_strtol("0x1F", 16);
    t_strtol("0x1F", 0);
    t_strtol("077", 0);
    t_strtol("zz", 36);
    t_strtol("", 10);
    t_strtol("+", 10);
    t_strtol("2147483647", 10);
    t_strtol("-2147483648", 10);
    t_strtoll("9223372036854775807", 10);
    t_strtoll("9223372036854775808", 10);
    t_strtoll("-9223372036854775809", 10);
    t_strtoll("-0x8000000000000000", 0);
    t_strtoull("18446744073709551615", 10);
    t_strtoull("18446744073709551616", 10);
    t_strtoull("-1", 10);
    t_strtoull("ffffffffffffffff", 16);
    t_strtoull("  +42", 0);

    printf("atoi=%d %d %d %d\n", atoi("42"), atoi("  -17xyz"), atoi("abc"), atoi("+0"));
    printf("atol=%ld atoll=%lld atof=%g\n", atol("-99999"), atoll("1234567890123"), atof("6.25e2"));
    printf("abs=%d labs=%ld llabs=%lld\n", abs(-5), labs(-6L), llabs(-7LL));
    div_t dv = div(-17, 5);
    lldiv_t ldv = lldiv(100000000000LL, 7);
    printf("div=%d,%d lldiv=%lld,%lld\n", dv.quot, dv.rem, ldv.quot, ldv.rem);

    /* big allocations: grow by realloc up to 256 MiB, touching every page */
    size_t sz = 1 << 20;
    unsigned char *big = malloc(sz);
    memset(big, 0xa5, sz);
    int okgrow = 1;
    while (sz < (256u << 20)) {
        size_t nsz = sz * 2;
        unsigned char *nb = realloc(big, nsz);
        if (!nb) {
            okgrow = 0;
            break;
        }
        big = nb;
        if (big[0] != 0xa5 || big[sz - 1] != 0xa5)
            okgrow = 0;
        memset(big + sz, 0xa5, nsz - sz);
        sz = nsz;
    }
    uint64_t bsum = 0;
    for (size_t i = 0; i < sz; i += 4093)
        bsum += big[i] + (i & 0xff);
    printf("realloc to %zu MiB ok=%d sum=%llu\n", sz >> 20, okgrow, (unsigned long long)bsum);
    big = realloc(big, 4096);
    printf("shrink ok=%d first=%02x\n", big != NULL, big[4095]);
    free(big);

    unsigned char *m256 = malloc(256u << 20);
    printf("malloc 256MiB=%d\n", m256 != NULL);
    if (m256) {
        for (size_t i = 0; i < (256u << 20); i += 4096)
            m256[i] = (unsigned char)(i >> 12);
        uint64_t s = 0;
        for (size_t i = 0; i < (256u << 20); i += 4096)
            s += m256[i];
        printf("touched sum=%llu\n", (unsigned long long)s);
        free(m256);
    }

    /* calloc zeroes, even for memory reused after free */
    unsigned char *dirty = malloc(1 << 16);
    memset(dirty, 0xff, 1 << 16);
    free(dirty);
    int zero_ok = 1;
    for (int r = 0; r < 20; r++) {
        size_t n = 1 + (lcg() % 70000);
        unsigned char *c = calloc(n, 1);
        for (size_t i = 0; i < n; i++)
            if (c[i])
                zero_ok = 0;
        memset(c, 0xee, n);
        free(c);
    }
    unsigned *cz = calloc(3 << 20, sizeof *cz);
    for (size_t i = 0; i < (3u << 20); i += 1024)
        if (cz[i])
            zero_ok = 0;
    free(cz);
    printf("calloc zero=%d\n", zero_ok);
    errno = 0;
    /* through volatile pointers: clang knows malloc and may assume it neither fails nor sets errno */
    void *(*volatile calloc_)(size_t, size_t) = calloc;
    void *(*volatile malloc_)(size_t) = malloc;
    volatile size_t half = (size_t)-1 / 2;
    void *ov = calloc_(half, 4);
    printf("calloc overflow=%s errno=%s\n", ov ? "non-NULL" : "NULL", ename(errno));
    errno = 0;
    volatile size_t hsz = (size_t)-1 - 4096;
    void *huge = malloc_(hsz);
    printf("malloc huge=%s errno=%s\n", huge ? "non-NULL" : "NULL", ename(errno));
    free(ov);
    free(huge);

    /* many small allocations freed in random order */
    enum { M = 20000 };
    unsigned char **ptrs = malloc(M * sizeof *ptrs);
    size_t *lens = malloc(M * sizeof *lens);
    for (int i = 0; i < M; i++) {
        lens[i] = 1 + lcg() % 300;
        ptrs[i] = malloc(lens[i]);
        memset(ptrs[i], i & 0xff, lens[i]);
    }
    int intact = 1;
    for (int i = M - 1; i > 0; i--) { /* Fisher-Yates over indices, swap both arrays */
        int j = (int)(lcg() % (uint32_t)(i + 1));
        unsigned char *tp = ptrs[i];
        ptrs[i] = ptrs[j];
        ptrs[j] = tp;
        size_t tl = lens[i];
        lens[i] = lens[j];
        lens[j] = tl;
    }
    for (int i = 0; i < M; i++) {
        unsigned char v = ptrs[i][0];
        for (size_t k = 0; k < lens[i]; k++)
            if (ptrs[i][k] != v)
                intact = 0;
        free(ptrs[i]);
        if (i % 3 == 0) { /* interleave fresh allocations */
            void *q = malloc(lcg() % 500 + 1);
            free(q);
        }
    }
    printf("small allocs intact=%d\n", intact);
    free(ptrs);
    free(lens);
    void *z = malloc(0);
    free(z);
    free(NULL);
    void *r0 = realloc(NULL, 100);
    printf("realloc(NULL)=%d\n", r0 != NULL);
    free(r0);
    void *al = aligned_alloc(4096, 8192);
    printf("aligned_alloc aligned=%d\n", al && ((uintptr_t)al & 4095) == 0);
    free(al);
    void *pm = NULL;
    printf("posix_memalign=%d aligned=%d\n", posix_memalign(&pm, 256, 1000), ((uintptr_t)pm & 255) == 0);
    free(pm);

    printf("getenv HOME=%s\n", getenv("HOME") ? getenv("HOME") : "(null)");
    printf("getenv NOPE=%s\n", getenv("LIND_TEST_NOPE") ? "set" : "(null)");
    int rc = setenv("LIND_X", "one", 0);
    printf("setenv=%d getenv=%s\n", rc, getenv("LIND_X"));
    rc = setenv("LIND_X", "two", 0);
    printf("setenv noover=%d getenv=%s\n", rc, getenv("LIND_X"));
    rc = setenv("LIND_X", "three", 1);
    printf("setenv over=%d getenv=%s\n", rc, getenv("LIND_X"));
    rc = unsetenv("LIND_X");
    printf("unsetenv=%d getenv=%s\n", rc, getenv("LIND_X") ? "set" : "(null)");
    return 0;
}

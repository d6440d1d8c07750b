/* mmap & co: anonymous and file mappings, mremap, madvise, mprotect, msync, brk. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *en(int e)
{
    switch (e) {
    case 0: return "OK";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case EBADF: return "EBADF";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EEXIST: return "EEXIST";
    default: return "E?";
    }
}

static int all_is(const unsigned char *p, size_t n, unsigned char v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

int main(void)
{
    /* brk first, before stdio allocates anything */
    uintptr_t b0 = (uintptr_t)syscall(SYS_brk, 0);
    uintptr_t b1 = (uintptr_t)syscall(SYS_brk, b0 + 65536);
    int brk_grew = b1 == b0 + 65536;
    int brk_rw = 0;
    if (brk_grew) {
        unsigned char *p = (unsigned char *)b0;
        memset(p, 0x5c, 65536);
        brk_rw = all_is(p, 65536, 0x5c);
    }
    uintptr_t b2 = (uintptr_t)syscall(SYS_brk, b0);
    void *sb = sbrk(0);
    printf("brk grew=%d rw=%d shrink=%d sbrk(0)==brk=%d\n", brk_grew, brk_rw, b2 == b0, (uintptr_t)sb == b0);

    long ps = sysconf(_SC_PAGESIZE);
    printf("pagesize=%ld\n", ps);

    unsigned char *p1 = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap 1 page ok=%d aligned=%d zero=%d\n", p1 != MAP_FAILED, ((uintptr_t)p1 % ps) == 0,
           all_is(p1, ps, 0));
    memset(p1, 0xab, ps);
    printf("written=%d\n", all_is(p1, ps, 0xab));
    size_t n100 = 100 * ps;
    unsigned char *p100 = mmap(NULL, n100, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap 100 pages ok=%d zero=%d overlap=%d\n", p100 != MAP_FAILED, all_is(p100, n100, 0),
           p100 < p1 + ps && p1 < p100 + n100);
    for (size_t i = 0; i < n100; i++)
        p100[i] = (unsigned char)(i * 13 + 1);
    unsigned sum = 0;
    for (size_t i = 0; i < n100; i++)
        sum = sum * 31 + p100[i];
    printf("sum=%u\n", sum);
    printf("munmap 1 = %d\n", munmap(p1, ps));
    printf("munmap 100 = %d\n", munmap(p100, n100));
    /* map again: fresh memory is zero even where the old mappings were */
    int zeros = 1;
    unsigned char *again[8];
    for (int i = 0; i < 8; i++) {
        again[i] = mmap(NULL, 20 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (again[i] == MAP_FAILED || !all_is(again[i], 20 * ps, 0))
            zeros = 0;
        memset(again[i], 0x77, 20 * ps);
    }
    for (int i = 0; i < 8; i++)
        munmap(again[i], 20 * ps);
    unsigned char *p3 = mmap(NULL, 160 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("remapped zero=%d %d\n", zeros, p3 != MAP_FAILED && all_is(p3, 160 * ps, 0));
    munmap(p3, 160 * ps);

    /* partial munmap in the middle */
    unsigned char *pm = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(pm, 1, 3 * ps);
    printf("munmap middle=%d\n", munmap(pm + ps, ps));
    printf("outer pages kept=%d %d\n", all_is(pm, ps, 1), all_is(pm + 2 * ps, ps, 1));
    munmap(pm, 3 * ps);

    /* mremap grow with MAYMOVE keeps the content */
    unsigned char *r = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (long i = 0; i < 4 * ps; i++)
        r[i] = (unsigned char)(i % 251);
    unsigned char *blocker = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    (void)blocker;
    unsigned char *r2 = mremap(r, 4 * ps, 64 * ps, MREMAP_MAYMOVE);
    int kept = r2 != MAP_FAILED;
    for (long i = 0; kept && i < 4 * ps; i++)
        if (r2[i] != (unsigned char)(i % 251))
            kept = 0;
    printf("mremap grow ok=%d kept=%d tail zero=%d\n", r2 != MAP_FAILED, kept,
           r2 != MAP_FAILED && all_is(r2 + 4 * ps, 60 * ps, 0));
    memset(r2 + 4 * ps, 9, 60 * ps);
    unsigned char *r3 = mremap(r2, 64 * ps, 2 * ps, 0);
    printf("mremap shrink same=%d kept=%d\n", r3 == r2, r3 != MAP_FAILED && r3[5] == 5);
    errno = 0;
    void *bad = mremap(r3 + 1, ps, 2 * ps, MREMAP_MAYMOVE);
    printf("mremap unaligned=%s\n", bad == MAP_FAILED ? en(errno) : "mapped");
    munmap(r3, 2 * ps);
    munmap(blocker, ps);

    /* madvise(DONTNEED) zeroes a private anonymous mapping */
    unsigned char *md = mmap(NULL, 8 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(md, 0xcd, 8 * ps);
    printf("madvise DONTNEED=%d\n", madvise(md + 2 * ps, 3 * ps, MADV_DONTNEED));
    printf("zeroed=%d before kept=%d after kept=%d\n", all_is(md + 2 * ps, 3 * ps, 0), all_is(md, 2 * ps, 0xcd),
           all_is(md + 5 * ps, 3 * ps, 0xcd));
    printf("madvise WILLNEED=%d\n", madvise(md, 8 * ps, MADV_WILLNEED));

    /* mprotect: fine on a mapping, ENOMEM where nothing is mapped */
    errno = 0;
    int pr = mprotect(md, 8 * ps, PROT_READ);
    printf("mprotect mapped=%d %s\n", pr, en(errno));
    mprotect(md, 8 * ps, PROT_READ | PROT_WRITE);
    munmap(md, 8 * ps);
    errno = 0;
    pr = mprotect(md, 8 * ps, PROT_READ);
    printf("mprotect unmapped=%d %s\n", pr, en(errno));
    errno = 0;
    pr = (int)syscall(SYS_mprotect, md + 1, ps, PROT_READ); /* musl rounds the address down itself */
    printf("mprotect unaligned=%d %s\n", pr, en(errno));

    /* munmap errors */
    errno = 0;
    int mu = munmap((char *)md + 100, ps);
    printf("munmap unaligned=%d %s\n", mu, en(errno));
    errno = 0;
    mu = munmap(md, 0);
    printf("munmap len 0=%d %s\n", mu, en(errno));
    printf("munmap unmapped=%d\n", munmap(md, ps));

    /* mmap errors */
    errno = 0;
    void *e1 = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap len 0=%s\n", e1 == MAP_FAILED ? en(errno) : "mapped");
    errno = 0;
    e1 = mmap(NULL, ps, PROT_READ, MAP_PRIVATE, 99, 0);
    printf("mmap bad fd=%s\n", e1 == MAP_FAILED ? en(errno) : "mapped");
    errno = 0;
    e1 = mmap(NULL, ps, PROT_READ, MAP_ANONYMOUS, -1, 0);
    printf("mmap no type=%s\n", e1 == MAP_FAILED ? en(errno) : "mapped");

    /* private file mapping: reads the file, writes stay private */
    int fd = open("mapped.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    char content[6000];
    for (int i = 0; i < 6000; i++)
        content[i] = (char)('a' + i % 26);
    write(fd, content, sizeof content);
    unsigned char *fp = mmap(NULL, 6000, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("file map ok=%d same=%d tail zero=%d\n", fp != MAP_FAILED, memcmp(fp, content, 6000) == 0,
           all_is(fp + 6000, 2 * ps - 6000, 0));
    fp[0] = 'Z';
    munmap(fp, 6000);
    char chk[4] = {0};
    pread(fd, chk, 3, 0);
    printf("private write not in file: %s\n", chk);
    unsigned char *fo = mmap(NULL, ps, PROT_READ, MAP_PRIVATE, fd, ps);
    printf("offset map=%.5s\n", fo != MAP_FAILED ? (char *)fo : "fail");
    munmap(fo, ps);
    errno = 0;
    fo = mmap(NULL, ps, PROT_READ, MAP_PRIVATE, fd, 100);
    printf("unaligned offset=%s\n", fo == MAP_FAILED ? en(errno) : "mapped");

    /* shared writable file mapping + msync writes the file */
    unsigned char *sp = mmap(NULL, 6000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("shared map ok=%d\n", sp != MAP_FAILED);
    memcpy(sp, "SHARED", 6);
    memcpy(sp + 5000, "TAIL", 4);
    printf("msync=%d\n", msync(sp, 6000, MS_SYNC));
    char buf[8] = {0};
    pread(fd, buf, 6, 0);
    printf("file after msync: %s", buf);
    pread(fd, buf, 4, 5000);
    buf[4] = 0;
    printf(" %s\n", buf);
    memcpy(sp + 100, "UNMAP", 5);
    munmap(sp, 6000);
    pread(fd, buf, 5, 100);
    buf[5] = 0;
    printf("file after munmap: %s\n", buf);
    struct stat st;
    fstat(fd, &st);
    printf("file size unchanged=%d\n", st.st_size == 6000);
    close(fd);
    fd = open("mapped.txt", O_RDONLY);
    errno = 0;
    sp = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("shared writable on O_RDONLY=%s\n", sp == MAP_FAILED ? en(errno) : "mapped");
    close(fd);
    fd = open("mapped.txt", O_WRONLY);
    errno = 0;
    sp = mmap(NULL, ps, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("map O_WRONLY=%s\n", sp == MAP_FAILED ? en(errno) : "mapped");
    close(fd);


    /* MAP_FIXED replaces part of a mapping; MAP_FIXED_NOREPLACE refuses to */
    unsigned char *fx = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(fx, 0x11, 4 * ps);
    unsigned char *fx2 = mmap(fx + ps, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("MAP_FIXED at=%d middle zero=%d outer kept=%d %d\n", fx2 == fx + ps, all_is(fx + ps, 2 * ps, 0),
           all_is(fx, ps, 0x11), all_is(fx + 3 * ps, ps, 0x11));
    errno = 0;
    void *nr = mmap(fx + ps, ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("MAP_FIXED_NOREPLACE over mapping=%s\n", nr == MAP_FAILED ? en(errno) : "mapped");
    munmap(fx, 4 * ps);
    errno = 0;
    nr = mmap(fx + ps, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("MAP_FIXED_NOREPLACE on free range=%s\n", nr == MAP_FAILED ? en(errno) : nr == fx + ps ? "at addr" : "elsewhere");
    if (nr != MAP_FAILED)
        munmap(nr, ps);

    /* a shared mapping split by munmap: every piece still reaches the file */
    fd = open("split.dat", O_CREAT | O_RDWR | O_TRUNC, 0644);
    ftruncate(fd, 3 * ps);
    unsigned char *sm = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    sm[0] = 'A';
    sm[ps] = 'B';
    sm[2 * ps] = 'C';
    printf("munmap middle of shared=%d\n", munmap(sm + ps, ps));
    sm[1] = 'a';
    sm[2 * ps + 1] = 'c';
    printf("msync first=%d\n", msync(sm, ps, MS_SYNC));
    char got[2];
    pread(fd, got, 2, 0);
    printf("page0=%c%c", got[0], got[1]);
    pread(fd, got, 1, ps);
    printf(" page1=%c", got[0]);
    munmap(sm + 2 * ps, ps);
    pread(fd, got, 2, 2 * ps);
    printf(" page2=%c%c\n", got[0], got[1]);
    munmap(sm, ps);
    close(fd);

    /* a big mapping */
    size_t big = 64u << 20;
    unsigned char *bp = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int bok = bp != MAP_FAILED;
    for (size_t i = 0; bok && i < big; i += 4096)
        bp[i] = 1;
    printf("64MiB map ok=%d\n", bok);
    munmap(bp, big);
    return 0;
}

/* base/pagemap.c: written pages of a range of host memory, from /proc/self/pagemap.
 * Calls: libc only.        Called by: kern/mm, kern/cowfork, rt/instance. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/pagemap.h"

/* Which host pages of [base, base+size) were ever written: present in RAM or swapped out, from
 * /proc/self/pagemap (pages never touched are neither, and read as zero). With dirty_only, only
 * those written since a private file mapping was made (not file pages: cowfork.c). A malloc'ed
 * byte per host page (*n of them), NULL on error. */
static int pagemap_fd = -2;

uint8_t *host_pages(const uint8_t *base, uint64_t size, int dirty_only, size_t *n)
{
    long hp = sysconf(_SC_PAGESIZE);
    size_t npages = size / (uint64_t)hp;
    *n = npages;
    int fd = __atomic_load_n(&pagemap_fd, __ATOMIC_ACQUIRE);
    if (fd == -2) { /* (opened once: the first of racing forks keeps its fd) */
        int mine = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        fd = -2;
        if (__atomic_compare_exchange_n(&pagemap_fd, &fd, mine, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            fd = mine;
        else if (mine >= 0)
            close(mine);
    }
    uint8_t *out = malloc(npages ? npages : 1);
    if (fd < 0 || !out) {
        free(out);
        return NULL;
    }
    uint64_t first = (uintptr_t)base / (uint64_t)hp;
    uint64_t ents[512];
    for (size_t done = 0; done < npages;) {
        size_t k = npages - done < 512 ? npages - done : 512;
        if (pread(fd, ents, k * 8, (off_t)((first + done) * 8)) != (ssize_t)(k * 8)) {
            free(out);
            return NULL;
        }
        for (size_t i = 0; i < k; i++) /* bit 63 present, bit 62 swapped, bit 61 file page */
            out[done + i] = ((ents[i] >> 62) & 3) && !(dirty_only && ((ents[i] >> 61) & 1)) ? 1 : 0;
        done += k;
    }
    return out;
}

/* A memory given back by a cage that ended, to be reused by another one: zero what was written
 * (pages present in RAM or swapped out), keeping the pages resident so that the next cage does not
 * pay a page fault for each of them (fork copies into a reused memory at memcpy speed). */
int memory_scrub(uint8_t *base, uint64_t size)
{
    long hp = sysconf(_SC_PAGESIZE);
    size_t nhost;
    uint8_t *used = host_pages(base, size, 0, &nhost);
    if (!used)
        return -EIO;
    for (size_t h = 0, e; (e = page_run(used, nhost, &h)) > h; h = e)
        memset(base + h * (uint64_t)hp, 0, (e - h) * (uint64_t)hp);
    free(used);
    return 0;
}

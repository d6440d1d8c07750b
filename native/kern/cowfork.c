/* Copy-on-write fork.
 *
 * At the first fork of a (single-threaded) cage, its memory is written once into a memfd, the
 * "base file", and the cage's memory is remapped MAP_PRIVATE onto it. The child maps the same file
 * MAP_PRIVATE too: both share the base file's pages until one of them writes. The base file is never
 * written again, so neither sees the other's writes. What the parent wrote since the base file was
 * made (private pages, /proc/self/pagemap tells them apart) is copied into the child, so later forks
 * copy only what changed. Children fork the same way from the base file they inherited.
 *
 * Invariants kept elsewhere: pages_zero writes zeros over the base file range (MADV_DONTNEED would
 * bring the file's bytes back), and a memory leaving a cage is remapped anonymous (cow_release)
 * before it is reused. LIND_FORK_COW=0 turns this off (plain copies, kern/mm.c).
 * Calls:  base/ (guest_abi, pagemap), kern/ (cage, mm).  Called by: kern/ (mm). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/guest_abi.h"
#include "base/pagemap.h"
#include "kern/cage.h"
#include "kern/mm.h"

static int cow_enabled(void)
{
    static int on = -1; /* (read once; forks of any thread may ask first) */
    int v = __atomic_load_n(&on, __ATOMIC_RELAXED);
    if (v < 0) {
        const char *e = getenv("LIND_FORK_COW");
        v = !(e && strcmp(e, "0") == 0);
        __atomic_store_n(&on, v, __ATOMIC_RELAXED);
    }
    return v;
}

/* Below this much used memory, copying into a (reused, resident) memory beats page faults. */
#define COW_MIN_PAGES 256

/* Writes the used pages of the cage's memory into a new memfd and remaps the cage onto it.
 * 1: done; 0: too little memory to be worth it; <0: error. */
static int make_base(struct lind_cage *cage)
{
    long hp = sysconf(_SC_PAGESIZE);
    size_t nhost, nused = 0;
    uint8_t *used = host_pages(cage->base, cage->size, 0, &nhost);
    if (!used)
        return -EIO;
    for (size_t h = 0; h < nhost; h++)
        nused += used[h];
    if (nused * (uint64_t)hp < COW_MIN_PAGES * (uint64_t)LIND_PAGE) {
        free(used);
        return 0;
    }
    int fd = memfd_create("lind-fork-base", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)cage->size) < 0) {
        free(used);
        if (fd >= 0)
            close(fd);
        return -ENOMEM;
    }
    for (size_t h = 0, e; (e = page_run(used, nhost, &h)) > h; h = e) {
        uint64_t off = h * (uint64_t)hp, len = (e - h) * (uint64_t)hp;
        if (pwrite(fd, cage->base + off, len, (off_t)off) != (ssize_t)len) {
            free(used);
            close(fd);
            return -EIO;
        }
    }
    free(used);
    if (mmap(cage->base, cage->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED) {
        close(fd);
        return -errno; /* the cage's memory is untouched: MAP_FIXED failed before replacing it */
    }
    cage->cow_fd = fd;
    cage->cow_len = cage->size;
    return 1;
}

int cow_fork_memory(struct lind_cage *parent, struct lind_cage *child)
{
    if (!cow_enabled() || parent->nthreads > 1 || parent->refs > 0 || parent->pool)
        return 0; /* other threads (its own, or grate workers) could write while it is remapped */
    if (parent->cow_fd < 0 && make_base(parent) <= 0)
        return 0; /* small (or an error): copy instead */
    if (child->size < parent->size)
        return -EINVAL;
    if (mmap(child->base, parent->cow_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, parent->cow_fd, 0) ==
        MAP_FAILED)
        return -errno;
    child->cow_fd = fcntl(parent->cow_fd, F_DUPFD_CLOEXEC, 3);
    child->cow_len = parent->cow_len;
    if (child->cow_fd < 0)
        return -errno;
    /* what the parent wrote since its base file was made, and pages past it */
    long hp = sysconf(_SC_PAGESIZE);
    size_t nhost;
    uint8_t *dirty = host_pages(parent->base, parent->size, 1, &nhost);
    if (!dirty)
        return -EIO;
    for (size_t h = 0, e; (e = page_run(dirty, nhost, &h)) > h; h = e)
        memcpy(child->base + h * (uint64_t)hp, parent->base + h * (uint64_t)hp, (e - h) * (uint64_t)hp);
    free(dirty);
    return 1;
}

/* The memory leaves the cage (exit, exec): back to anonymous zero pages over the base file range. */
void cow_release(struct lind_cage *cage)
{
    if (cage->cow_fd < 0)
        return;
    if (cage->base)
        mmap(cage->base, cage->cow_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    close(cage->cow_fd);
    cage->cow_fd = -1;
    cage->cow_len = 0;
}

/* Directory positions. A 64-bit host reads ext4 directories with 64-bit hashed positions (d_off,
 * lseek), which do not fit the guest's 32-bit long of telldir/seekdir. The guest sees small
 * positive numbers instead (1, 2, 3, ... in the order the host positions were first seen), kept per
 * open directory (struct fd_file, shared by dup and fork like the position itself); 0 is 0.
 * Calls:  kern/ (fdtable).  Called by: kern/ (fdtable), sys/ (sys_fd, sys_io). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kern/fdtable.h"

struct dir_positions {
    int64_t *real;   /* guest position k (1..n) is real[k - 1] */
    uint32_t n, cap;
    uint32_t *slots; /* hash of real positions -> k, 0: empty */
    uint32_t nslots; /* a power of two, at least twice n */
};

#define MAX_POSITIONS (1u << 24) /* then positions of a directory repeat (EOVERFLOW) */

static pthread_mutex_t dirpos_lock = PTHREAD_MUTEX_INITIALIZER;

static uint32_t slot_of(const struct dir_positions *d, int64_t real)
{
    uint64_t h = (uint64_t)real * 0x9e3779b97f4a7c15ull;
    return (uint32_t)(h >> 32) & (d->nslots - 1);
}

static int rehash(struct dir_positions *d, uint32_t nslots)
{
    uint32_t *s = calloc(nslots, sizeof *s);
    if (!s)
        return -ENOMEM;
    free(d->slots);
    d->slots = s;
    d->nslots = nslots;
    for (uint32_t k = 1; k <= d->n; k++) {
        uint32_t i = slot_of(d, d->real[k - 1]);
        while (d->slots[i])
            i = (i + 1) & (nslots - 1);
        d->slots[i] = k;
    }
    return 0;
}

/* The guest position for a host one (a new number the first time); negative errno on failure. */
static int64_t to_guest_locked(struct fd_file *f, int64_t real)
{
    if (real == 0)
        return 0;
    struct dir_positions *d = f->dirpos;
    if (!d) {
        d = f->dirpos = calloc(1, sizeof *d);
        if (!d || rehash(d, 64) < 0)
            return -ENOMEM;
    }
    uint32_t i = slot_of(d, real);
    for (; d->slots[i]; i = (i + 1) & (d->nslots - 1))
        if (d->real[d->slots[i] - 1] == real)
            return d->slots[i];
    if (d->n >= MAX_POSITIONS)
        return -EOVERFLOW;
    if (d->n == d->cap) {
        uint32_t cap = d->cap ? d->cap * 2 : 64;
        int64_t *r = realloc(d->real, cap * sizeof *r);
        if (!r)
            return -ENOMEM;
        d->real = r;
        d->cap = cap;
    }
    d->real[d->n++] = real;
    if (d->n * 2 > d->nslots)
        return rehash(d, d->nslots * 2) < 0 ? -ENOMEM : (int64_t)d->n;
    d->slots[i] = d->n;
    return d->n;
}

int64_t dirpos_to_guest(struct fd_file *f, int64_t real)
{
    pthread_mutex_lock(&dirpos_lock);
    int64_t r = to_guest_locked(f, real);
    pthread_mutex_unlock(&dirpos_lock);
    return r;
}

int dirpos_to_real(struct fd_file *f, int64_t guest, int64_t *real)
{
    pthread_mutex_lock(&dirpos_lock);
    struct dir_positions *d = f->dirpos;
    int r = 0;
    if (guest == 0)
        *real = 0;
    else if (d && guest > 0 && guest <= d->n)
        *real = d->real[guest - 1];
    else
        r = -EINVAL;
    pthread_mutex_unlock(&dirpos_lock);
    return r;
}

int dirpos_used(struct fd_file *f) { return __atomic_load_n(&f->dirpos, __ATOMIC_ACQUIRE) != NULL; }

void dirpos_free(struct fd_file *f)
{
    struct dir_positions *d = f->dirpos;
    if (d) {
        free(d->real);
        free(d->slots);
        free(d);
    }
}

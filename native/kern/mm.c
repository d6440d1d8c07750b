/* Guest memory: pointer translation and bounds checks, brk, and mmap & co over a page map (their
 * calls decode their arguments in sys/sys_mm.c).
 *
 * A cage's linear memory is [0, size). The stack and static data sit below brk_start; the heap
 * (brk) grows up from there and mmap takes the first free run of pages, growing the memory when
 * none is free. Invariant: a PAGE_FREE page holds zeros (munmap and brk shrink give the pages
 * back to the host kernel with MADV_DONTNEED, which zeroes them), so a new anonymous mapping
 * needs no memset. mprotect is bookkeeping only: wasm has no page protection.
 * Calls:  base/ (guest_abi, pagemap, wt_api), kern/ (cage, call, fdtable, tree).
 * Called by: kern/ (cage, path), sys/, rt/ (instance, runner, sigdeliver, unwind), threei/ (grate). */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/guest_abi.h"
#include "base/pagemap.h"
#include "base/util.h"
#include "base/wt_api.h"
#include "kern/cage.h"
#include "kern/call.h"
#include "kern/fdtable.h"
#include "kern/mm.h"
#include "kern/tree.h"

#define PAGE_UP(x) (((uint64_t)(x) + LIND_PAGE - 1) & ~(uint64_t)(LIND_PAGE - 1))

/* The size of the memory now: the cached one can lag behind when the guest ran memory.grow
 * itself. Needs no lock (guest_ptr, on every thread) and changes nothing: the cached size and
 * the page map follow under the cage lock (memory_refresh_cage). */
static uint64_t memory_size_now(const struct lind_cage *cage)
{
    const wasmtime_sharedmemory_t *mem = cage->mem;
    uint64_t cached = cage->size;
    if (!mem)
        return cached;
    uint64_t now = wt.sharedmemory_data_size(mem);
    return now > cached ? now : cached;
}

/* The whole refresh: the size, and what follows from it (cage lock held). */
static void memory_refresh_cage(struct lind_cage *cage)
{
    if (!cage->mem)
        return;
    uint8_t *base = wt.sharedmemory_data(cage->mem);
    if (cage->base != base)
        cage->base = base; /* (it never moves: only a new memory sets it) */
    cage->size = wt.sharedmemory_data_size(cage->mem);
    if (cage->size > cage->peak_mem)
        cage->peak_mem = cage->size;
    tree_account_memory(cage, cage->size);
    uint32_t np = (uint32_t)(cage->size / LIND_PAGE);
    if (np > cage->npages) {
        uint8_t *p = realloc(cage->pages, np);
        if (!p)
            return;
        /* pages the guest grew itself are in use by it */
        memset(p + cage->npages, PAGE_STATIC, np - cage->npages);
        cage->pages = p;
        cage->npages = np;
    }
}

/* Whose memory a guest address is in: the cage's, unless a grate acting on it passed this very
 * value as an argument flagged as pointing into the grate's own memory. */
static struct lind_cage *memory_of(struct lind_call *c, uint64_t addr)
{
    if (c->acting)
        for (int i = 0; i < 6; i++)
            if (c->argmem[i] && (uint32_t)c->a[i] == (uint32_t)addr)
                return c->argmem[i];
    return c->cage;
}

void *guest_ptr(struct lind_call *c, uint64_t addr, uint64_t len)
{
    uint64_t a = (uint32_t)addr;
    struct lind_cage *m = memory_of(c, addr);
    uint8_t *base = RELAXED(m->base);
    if (a == 0 || !base)
        return NULL;
    if (a + len > RELAXED(m->size) && a + len > memory_size_now(m))
        return NULL;
    return base + a;
}

/* For optional pointers: NULL with *efault = 0 when the guest passed NULL. */
void *guest_ptr_or_null(struct lind_call *c, uint64_t addr, uint64_t len, int *efault)
{
    *efault = 0;
    if ((uint32_t)addr == 0)
        return NULL;
    void *p = guest_ptr(c, addr, len);
    if (!p)
        *efault = 1;
    return p;
}

int guest_string(struct lind_call *c, uint64_t addr, char *out, size_t cap)
{
    uint64_t a = (uint32_t)addr;
    struct lind_cage *m = memory_of(c, addr);
    if (a == 0 || !m->base)
        return -EFAULT;
    uint64_t size = memory_size_now(m);
    if (a >= size)
        return -EFAULT;
    uint64_t avail = size - a;
    const char *s = (const char *)m->base + a;
    size_t n = strnlen(s, avail < cap ? avail : cap);
    if (n == cap)
        return -ENAMETOOLONG;
    if (n == avail)
        return -EFAULT;
    memcpy(out, s, n + 1);
    return 0;
}

/* Guest iovecs are {u32 base, u32 len}: each buffer is checked; the total must fit an ssize_t as
 * on Linux. */
int guest_iovec(struct lind_call *c, uint64_t addr, uint32_t cnt, struct iovec *out)
{
    if (cnt > LIND_IOV_MAX)
        return -EINVAL;
    if (cnt == 0)
        return 0;
    const uint32_t *g = guest_ptr(c, addr, (uint64_t)cnt * 8);
    if (!g)
        return -EFAULT;
    uint64_t total = 0;
    for (uint32_t i = 0; i < cnt; i++) {
        uint32_t base = g[2 * i], len = g[2 * i + 1];
        total += len;
        if (total > 0x7fffffff)
            return -EINVAL;
        out[i].iov_len = len;
        out[i].iov_base = len ? guest_ptr(c, base, len) : NULL;
        if (len && !out[i].iov_base)
            return -EFAULT;
    }
    return 0;
}

int memory_attach(struct lind_cage *cage, uint32_t heap_base)
{
    cage->npages = (uint32_t)(cage->size / LIND_PAGE);
    free(cage->pages);
    cage->pages = calloc(cage->npages ? cage->npages : 1, 1);
    if (!cage->pages)
        return -ENOMEM;
    cage->brk_start = (uint32_t)PAGE_UP(heap_base);
    cage->brk = cage->brk_start;
    uint32_t static_pages = cage->brk_start / LIND_PAGE;
    if (static_pages > cage->npages)
        return -EINVAL;
    memset(cage->pages, PAGE_STATIC, static_pages);
    cage->free_hint = static_pages;
    return 0;
}

void memory_release(struct lind_cage *cage)
{
    cow_release(cage);
    free(cage->pages);
    cage->pages = NULL;
    cage->npages = 0;
}

/* Grows linear memory so that [0, end) is accessible. */
static int memory_grow_to(struct lind_cage *cage, uint64_t end)
{
    if (end <= cage->size)
        return 0;
    if (!cage->mem)
        return -ENOMEM;
    if (end > cage->mem_limit) {
        if (cage->tree) /* for the verdict: the program may then fail in any way */
            __atomic_store_n(&cage->tree->mem_limit_hit, 1, __ATOMIC_RELAXED);
        return -ENOMEM;
    }
    uint64_t delta = (end - cage->size + LIND_WASM_PAGE - 1) / LIND_WASM_PAGE;
    uint64_t prev;
    wasmtime_error_t *err = wt.sharedmemory_grow(cage->mem, delta, &prev);
    if (err) {
        wt.error_delete(err);
        return -ENOMEM;
    }
    uint32_t old_np = cage->npages;
    memory_refresh_cage(cage);
    /* memory_refresh_cage marks new pages STATIC (guest-grown); these are ours: free */
    memset(cage->pages + old_np, PAGE_FREE, cage->npages - old_np);
    return 0;
}

/* Gives pages back to the host kernel (they read as zero afterwards). */
static void pages_zero(struct lind_cage *cage, uint64_t start, uint64_t len)
{
    if (cage->cow_fd >= 0 && start < cage->cow_len) {
        /* over the fork base file, MADV_DONTNEED would bring its bytes back: write zeros */
        memset(cage->base + start, 0, len);
        return;
    }
    long hp = sysconf(_SC_PAGESIZE);
    uint8_t *p = cage->base + start, *e = p + len;
    uint8_t *ap = (uint8_t *)(((uintptr_t)p + hp - 1) & ~(uintptr_t)(hp - 1));
    uint8_t *ae = (uint8_t *)((uintptr_t)e & ~(uintptr_t)(hp - 1));
    if (ap >= ae) {
        memset(p, 0, len);
        return;
    }
    memset(p, 0, (size_t)(ap - p));
    memset(ae, 0, (size_t)(e - ae));
    if (madvise(ap, (size_t)(ae - ap), MADV_DONTNEED) != 0)
        memset(ap, 0, (size_t)(ae - ap));
}

static void pages_set(struct lind_cage *cage, uint32_t first, uint32_t n, uint8_t state)
{
    memset(cage->pages + first, state, n);
    if (state == PAGE_FREE && first < cage->free_hint)
        cage->free_hint = first;
}

/* First run of n free pages; grows memory at the end if needed. Returns the page index or -ENOMEM. */
static int64_t pages_find(struct lind_cage *cage, uint32_t n)
{
    uint32_t run = 0, i;
    while (cage->free_hint < cage->npages && cage->pages[cage->free_hint] != PAGE_FREE)
        cage->free_hint++;
    for (i = cage->free_hint; i < cage->npages; i++) {
        run = cage->pages[i] == PAGE_FREE ? run + 1 : 0;
        if (run == n)
            return i + 1 - n;
    }
    uint64_t start = (uint64_t)(cage->npages - run);
    int r = memory_grow_to(cage, (start + n) * LIND_PAGE);
    if (r < 0)
        return r;
    return (int64_t)start;
}

static int range_ok(struct lind_cage *cage, uint64_t addr, uint64_t len)
{
    return addr % LIND_PAGE == 0 && len > 0 && addr + len <= cage->size;
}

/* ---- shared file mappings ---- */

static void shared_write_back(struct lind_cage *cage, struct shared_map *m, uint64_t from, uint64_t to)
{
    if (from < m->start)
        from = m->start;
    if (to > (uint64_t)m->start + m->len)
        to = (uint64_t)m->start + m->len;
    if (from >= to)
        return;
    /* never extend the file: write back only what lies within its current size */
    off_t fsize = lseek(m->host_fd, 0, SEEK_END);
    int64_t off = m->offset + (int64_t)(from - m->start);
    if (fsize < 0 || off >= fsize)
        return;
    if ((int64_t)(to - from) > fsize - off)
        to = from + (uint64_t)(fsize - off);
    ssize_t w = pwrite(m->host_fd, cage->base + from, to - from, off);
    (void)w;
}

/* Writes back and forgets the shared mappings overlapping [addr, addr+len). */
static int shared_unmap(struct lind_cage *cage, uint64_t addr, uint64_t len)
{
    struct shared_map **pp = &cage->shared_maps;
    uint64_t end = addr + len;
    while (*pp) {
        struct shared_map *m = *pp;
        uint64_t ms = m->start, me = ms + m->len;
        if (me <= addr || ms >= end) {
            pp = &m->next;
            continue;
        }
        shared_write_back(cage, m, addr, end);
        if (ms < addr && me > end) { /* split */
            struct shared_map *tail = malloc(sizeof *tail);
            if (!tail)
                return -ENOMEM;
            *tail = *m;
            tail->start = (uint32_t)end;
            tail->len = (uint32_t)(me - end);
            tail->offset = m->offset + (int64_t)(end - ms);
            tail->host_fd = dup(m->host_fd);
            m->len = (uint32_t)(addr - ms);
            tail->next = m->next;
            m->next = tail;
            pp = &tail->next;
        } else if (ms < addr) {
            m->len = (uint32_t)(addr - ms);
            pp = &m->next;
        } else if (me > end) {
            m->offset += (int64_t)(end - ms);
            m->start = (uint32_t)end;
            m->len = (uint32_t)(me - end);
            pp = &m->next;
        } else {
            *pp = m->next;
            close(m->host_fd);
            free(m);
        }
    }
    return 0;
}

void shared_maps_flush(struct lind_cage *cage)
{
    while (cage->shared_maps) {
        struct shared_map *m = cage->shared_maps;
        if (cage->base)
            shared_write_back(cage, m, m->start, (uint64_t)m->start + m->len);
        cage->shared_maps = m->next;
        close(m->host_fd);
        free(m);
    }
}

/* ---- the memory calls (sys/sys_mm.c; the cage lock is held) ---- */

int64_t mm_brk(struct lind_cage *cage, uint32_t want)
{
    uint64_t old_end = PAGE_UP(cage->brk), new_end = PAGE_UP(want);
    if (want < cage->brk_start)
        return cage->brk;
    if (new_end > old_end) {
        uint32_t first = (uint32_t)(old_end / LIND_PAGE);
        uint32_t last = (uint32_t)(new_end / LIND_PAGE);
        for (uint32_t p = first; p < last && p < cage->npages; p++)
            if (cage->pages[p] != PAGE_FREE)
                return cage->brk;
        if (memory_grow_to(cage, new_end) < 0)
            return cage->brk;
        pages_set(cage, first, last - first, PAGE_STATIC);
    } else if (new_end < old_end) {
        pages_zero(cage, new_end, old_end - new_end);
        pages_set(cage, (uint32_t)(new_end / LIND_PAGE), (uint32_t)((old_end - new_end) / LIND_PAGE),
                  PAGE_FREE);
    }
    cage->brk = (uint32_t)want;
    return cage->brk;
}

#define L_PROT_WRITE 2
#define L_MAP_SHARED 1
#define L_MAP_PRIVATE 2
#define L_MAP_SHARED_VALIDATE 3
#define L_MAP_FIXED 0x10
#define L_MAP_ANONYMOUS 0x20
#define L_MAP_FIXED_NOREPLACE 0x100000

int64_t mm_munmap(struct lind_cage *cage, uint64_t addr, uint64_t len)
{
    len = PAGE_UP(len);
    if (addr % LIND_PAGE || len == 0 || addr + len > LIND_MAX_MEM)
        return -EINVAL;
    if (addr >= cage->size)
        return 0;
    if (addr + len > cage->size)
        len = cage->size - addr;
    int r = shared_unmap(cage, addr, len);
    if (r < 0)
        return r;
    uint32_t first = (uint32_t)(addr / LIND_PAGE), n = (uint32_t)(len / LIND_PAGE);
    /* only mmap'ed pages are unmapped; the stack, static data and the brk heap stay */
    for (uint32_t p = first; p < first + n; p++) {
        if (cage->pages[p] != PAGE_MMAP)
            continue;
        uint32_t q = p;
        while (q < first + n && cage->pages[q] == PAGE_MMAP)
            q++;
        pages_zero(cage, (uint64_t)p * LIND_PAGE, (uint64_t)(q - p) * LIND_PAGE);
        pages_set(cage, p, q - p, PAGE_FREE);
        p = q;
    }
    return 0;
}

/* (c: for the fd of a file mapping) */
int64_t mm_mmap(struct lind_call *c, uint64_t addr, uint64_t len, int prot, int flags, int fd, int64_t off)
{
    struct lind_cage *cage = c->cage;
    int type = flags & 0xf;
    int host = -1;

    if (len == 0 || off % LIND_PAGE || off < 0)
        return -EINVAL;
    if (type != L_MAP_SHARED && type != L_MAP_PRIVATE && type != L_MAP_SHARED_VALIDATE)
        return -EINVAL;
    len = PAGE_UP(len);
    if (len > LIND_MAX_MEM)
        return -ENOMEM;
    if (!(flags & L_MAP_ANONYMOUS)) {
        host = fd_host(c, fd);
        if (host < 0)
            return -EBADF;
        int fl = fcntl(host, F_GETFL);
        struct stat st;
        if (fl < 0 || fstat(host, &st) < 0)
            return -EBADF;
        if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
            return -ENODEV; /* no mappings of pipes, sockets, ttys, /dev/zero... */
        if ((fl & O_ACCMODE) == O_WRONLY)
            return -EACCES;
        if (type != L_MAP_PRIVATE && (prot & L_PROT_WRITE) && (fl & O_ACCMODE) != O_RDWR)
            return -EACCES;
    }

    uint64_t start;
    if (flags & (L_MAP_FIXED | L_MAP_FIXED_NOREPLACE)) {
        if (addr % LIND_PAGE || addr + len > LIND_MAX_MEM)
            return -EINVAL;
        if (addr < cage->brk_start)
            return -EPERM; /* never over the stack or static data */
        if (memory_grow_to(cage, addr + len) < 0)
            return -ENOMEM;
        uint32_t first = (uint32_t)(addr / LIND_PAGE), n = (uint32_t)(len / LIND_PAGE);
        for (uint32_t p = first; p < first + n; p++) {
            if (cage->pages[p] == PAGE_FREE)
                continue;
            if (flags & L_MAP_FIXED_NOREPLACE)
                return -EEXIST;
            if (cage->pages[p] == PAGE_STATIC)
                return -EPERM; /* over the brk heap */
        }
        int64_t r = mm_munmap(cage, addr, len);
        if (r < 0)
            return r;
        start = addr;
    } else {
        int64_t pg = pages_find(cage, (uint32_t)(len / LIND_PAGE));
        if (pg < 0)
            return pg;
        start = (uint64_t)pg * LIND_PAGE;
    }
    pages_set(cage, (uint32_t)(start / LIND_PAGE), (uint32_t)(len / LIND_PAGE), PAGE_MMAP);

    if (host >= 0) {
        uint64_t done = 0;
        while (done < len) {
            ssize_t n = pread(host, cage->base + start + done, len - done, off + (int64_t)done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                int e = errno;
                mm_munmap(cage, start, len);
                return -e;
            }
            if (n == 0)
                break;
            done += (uint64_t)n;
        }
        if (type != L_MAP_PRIVATE && (prot & L_PROT_WRITE)) {
            struct shared_map *m = malloc(sizeof *m);
            if (!m || (m->host_fd = dup(host)) < 0) {
                free(m);
                mm_munmap(cage, start, len);
                return -ENOMEM;
            }
            m->start = (uint32_t)start;
            m->len = (uint32_t)len;
            m->offset = off;
            m->next = cage->shared_maps;
            cage->shared_maps = m;
        }
    }
    return (int64_t)start;
}

static int all_mapped(struct lind_cage *cage, uint64_t addr, uint64_t len)
{
    for (uint64_t p = addr / LIND_PAGE; p < (addr + len) / LIND_PAGE; p++)
        if (cage->pages[p] == PAGE_FREE)
            return 0;
    return 1;
}

/* For mprotect, madvise, msync: -EINVAL if addr is not page aligned, -ENOMEM if [addr, addr+len)
 * (len page-rounded) has a page that is not mapped, else 0 (also for len 0). */
static int64_t check_mapped(struct lind_cage *cage, uint64_t addr, uint64_t len)
{
    if (addr % LIND_PAGE)
        return -EINVAL;
    if (len && (!range_ok(cage, addr, len) || !all_mapped(cage, addr, len)))
        return -ENOMEM;
    return 0;
}

int64_t mm_mprotect(struct lind_cage *cage, uint64_t addr, uint64_t len)
{
    return check_mapped(cage, addr, PAGE_UP(len));
}

int64_t mm_madvise(struct lind_cage *cage, uint64_t addr, uint64_t len, int advice)
{
    len = PAGE_UP(len);
    int64_t r = check_mapped(cage, addr, len);
    if (r < 0)
        return r;
    if (advice == 4 /* MADV_DONTNEED */ && len) {
        for (uint64_t p = addr / LIND_PAGE; p < (addr + len) / LIND_PAGE; p++)
            if (cage->pages[p] != PAGE_MMAP)
                return -EINVAL;
        pages_zero(cage, addr, len);
    }
    return 0;
}

int64_t mm_msync(struct lind_cage *cage, uint64_t addr, uint64_t len)
{
    len = PAGE_UP(len);
    int64_t r = check_mapped(cage, addr, len);
    if (r < 0)
        return r;
    for (struct shared_map *m = cage->shared_maps; m; m = m->next)
        shared_write_back(cage, m, addr, addr + len);
    return 0;
}

#define L_MREMAP_MAYMOVE 1
int64_t mm_mremap(struct lind_cage *cage, uint64_t old, uint64_t olen, uint64_t nlen, int flags)
{
    olen = PAGE_UP(olen);
    nlen = PAGE_UP(nlen);
    if (old % LIND_PAGE || nlen == 0 || (flags & ~L_MREMAP_MAYMOVE))
        return -EINVAL;
    if (!range_ok(cage, old, olen))
        return -EFAULT;
    for (uint64_t p = old / LIND_PAGE; p < (old + olen) / LIND_PAGE; p++)
        if (cage->pages[p] != PAGE_MMAP)
            return -EFAULT;
    if (nlen <= olen) {
        if (nlen < olen)
            mm_munmap(cage, old + nlen, olen - nlen);
        return (int64_t)old;
    }
    /* grow in place if the following pages are free (or past the end of memory) */
    uint32_t first = (uint32_t)((old + olen) / LIND_PAGE), last = (uint32_t)((old + nlen) / LIND_PAGE);
    int in_place = old + nlen <= LIND_MAX_MEM;
    for (uint32_t p = first; in_place && p < last && p < cage->npages; p++)
        if (cage->pages[p] != PAGE_FREE)
            in_place = 0;
    if (in_place && memory_grow_to(cage, old + nlen) == 0) {
        pages_set(cage, first, last - first, PAGE_MMAP);
        return (int64_t)old;
    }
    if (!(flags & L_MREMAP_MAYMOVE))
        return -ENOMEM;
    int64_t pg = pages_find(cage, (uint32_t)(nlen / LIND_PAGE));
    if (pg < 0)
        return pg;
    uint64_t start = (uint64_t)pg * LIND_PAGE;
    pages_set(cage, (uint32_t)pg, (uint32_t)(nlen / LIND_PAGE), PAGE_MMAP);
    memcpy(cage->base + start, cage->base + old, olen);
    mm_munmap(cage, old, olen);
    return (int64_t)start;
}

/* Fresh zeroed pages inside the cage for the host's own use (asyncify buffer, siginfo). */
int64_t memory_alloc_pages(struct lind_cage *cage, uint32_t npages)
{
    int64_t pg = pages_find(cage, npages);
    if (pg < 0)
        return pg;
    pages_set(cage, (uint32_t)pg, npages, PAGE_MMAP);
    return pg * LIND_PAGE;
}

static int host_page_in_use(const struct lind_cage *cage, size_t h, uint32_t per_host)
{
    for (uint32_t k = 0; k < per_host; k++)
        if (cage->pages[h * per_host + k] != PAGE_FREE)
            return 1;
    return 0;
}

/* Copies the cage's in-use memory into another memory of at least the same size (fork). Free
 * pages are zero on both sides; untouched host pages are skipped. */
int memory_copy_to(struct lind_cage *from, uint8_t *to, uint64_t to_size)
{
    long hp = sysconf(_SC_PAGESIZE);
    if (to_size < from->size || hp < (long)LIND_PAGE || hp % LIND_PAGE)
        return -EINVAL;
    uint32_t per_host = (uint32_t)(hp / LIND_PAGE);
    size_t nhost;
    uint8_t *used = host_pages(from->base, from->size, 0, &nhost);
    if (!used) { /* no pagemap: every page counts as used */
        used = malloc(nhost ? nhost : 1);
        if (!used)
            return -ENOMEM;
        memset(used, 1, nhost);
    }
    for (size_t h = 0, e; (e = page_run(used, nhost, &h)) > h; h = e) {
        while (h < e && !host_page_in_use(from, h, per_host))
            h++; /* the copy starts at the first host page holding a guest page in use */
        if (h == e)
            continue;
        /* populating the destination in one call is much cheaper than a page fault per page */
        madvise(to + h * (uint64_t)hp, (e - h) * (uint64_t)hp, 23 /* MADV_POPULATE_WRITE */);
        memcpy(to + h * (uint64_t)hp, from->base + h * (uint64_t)hp, (e - h) * (uint64_t)hp);
    }
    free(used);
    return 0;
}

/* A fork child's bookkeeping mirrors the parent's. */
int memory_clone_state(struct lind_cage *child, const struct lind_cage *parent)
{
    child->pages = malloc(parent->npages ? parent->npages : 1);
    if (!child->pages)
        return -ENOMEM;
    memcpy(child->pages, parent->pages, parent->npages);
    child->npages = parent->npages;
    child->free_hint = parent->free_hint;
    child->brk_start = parent->brk_start;
    child->brk = parent->brk;
    child->mem_limit = parent->mem_limit;
    return 0;
}

/* Copies the parent's memory into the child's (already at least as large). */
int lind_cage_fork_memory(struct lind_cage *parent, struct lind_cage *child, const wasmtime_sharedmemory_t *mem)
{
    uint8_t *base = wt.sharedmemory_data(mem);
    uint64_t size = wt.sharedmemory_data_size(mem);
    child->mem = mem;
    child->base = base;
    child->size = size;
    tree_account_memory(child, size);
    if (size > parent->size) {
        /* the child instance may start larger than the parent grew: those pages are free */
        uint32_t np = (uint32_t)(size / LIND_PAGE);
        uint8_t *p = realloc(child->pages, np);
        if (!p)
            return -ENOMEM;
        memset(p + child->npages, PAGE_FREE, np - child->npages);
        child->pages = p;
        child->npages = np;
    }
    int r = cow_fork_memory(parent, child);
    if (r != 0)
        return r < 0 ? r : 0;
    return memory_copy_to(parent, base, size);
}

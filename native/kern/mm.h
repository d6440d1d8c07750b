/* kern/mm.h: a cage's memory: guest pointers (the only way to reach guest memory from a call),
 * the page map behind brk and mmap, shared file mappings, and the copy of a fork (plain, or
 * copy-on-write: kern/cowfork.c).
 * Calls: base/, kern/.        Called by: kern/, sys/, rt/, threei/. */
#ifndef LIND_KERN_MM_H
#define LIND_KERN_MM_H

#include <stddef.h>
#include <stdint.h>

#include "base/wt_api.h"

struct lind_cage;
struct lind_call;
struct iovec;

/* A MAP_SHARED, writable file mapping: written back to the file on msync/munmap/exit. */
struct shared_map {
    uint32_t start; /* guest address, page aligned */
    uint32_t len;   /* bytes, page multiple */
    int host_fd;
    int64_t offset;
    struct shared_map *next;
};

enum page_state { PAGE_FREE = 0, PAGE_STATIC = 1, PAGE_MMAP = 2 };

/* guest pointers: NULL means EFAULT */
void *guest_ptr(struct lind_call *c, uint64_t addr, uint64_t len);
void *guest_ptr_or_null(struct lind_call *c, uint64_t addr, uint64_t len, int *efault);
/* Copies a NUL-terminated guest string into out (cap bytes); 0, -EFAULT or -ENAMETOOLONG. */
int guest_string(struct lind_call *c, uint64_t addr, char *out, size_t cap);
int guest_iovec(struct lind_call *c, uint64_t addr, uint32_t cnt, struct iovec *out);

int memory_attach(struct lind_cage *cage, uint32_t heap_base);
void memory_release(struct lind_cage *cage);
void shared_maps_flush(struct lind_cage *cage);
/* A region of fresh pages inside the cage (for the host's own use); its guest address. Cage lock held. */
int64_t memory_alloc_pages(struct lind_cage *cage, uint32_t npages);

/* the memory calls (sys/sys_mm.c), cage lock held */
int64_t mm_brk(struct lind_cage *cage, uint32_t want);
int64_t mm_mmap(struct lind_call *c, uint64_t addr, uint64_t len, int prot, int flags, int fd, int64_t off);
int64_t mm_munmap(struct lind_cage *cage, uint64_t addr, uint64_t len);
int64_t mm_mprotect(struct lind_cage *cage, uint64_t addr, uint64_t len);
int64_t mm_madvise(struct lind_cage *cage, uint64_t addr, uint64_t len, int advice);
int64_t mm_msync(struct lind_cage *cage, uint64_t addr, uint64_t len);
int64_t mm_mremap(struct lind_cage *cage, uint64_t old, uint64_t olen, uint64_t nlen, int flags);

/* fork */
int memory_copy_to(struct lind_cage *from, uint8_t *to_base, uint64_t to_size);
int memory_clone_state(struct lind_cage *child, const struct lind_cage *parent);
int lind_cage_fork_memory(struct lind_cage *parent, struct lind_cage *child, const wasmtime_sharedmemory_t *mem);
/* kern/cowfork.c */
int cow_fork_memory(struct lind_cage *parent, struct lind_cage *child); /* 1 done, 0 not applicable, <0 */
void cow_release(struct lind_cage *cage);

#endif

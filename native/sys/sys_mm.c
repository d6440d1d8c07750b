/* sys/sys_mm.c: the memory calls: brk, mmap, munmap, mprotect, madvise, msync, mremap. The page map
 * (kern/mm.c) is shared by the cage's threads: each call holds the cage lock around its operation.
 * Calls: base/, kern/.        Called by: sys/syscall_table.c. */
#include "kern/cage.h"
#include "kern/call.h"
#include "kern/mm.h"
#include "sys/syscalls.h"

#define LOCKED(c, op)                     \
    ({                                    \
        cage_lock((c)->cage);             \
        int64_t locked_r_ = (op);         \
        cage_unlock((c)->cage);           \
        locked_r_;                        \
    })

int64_t sys_brk(struct lind_call *c) { return LOCKED(c, mm_brk(c->cage, arg_u32(c, 0))); }

/* mmap(addr, len, prot, flags, fd, off) */
int64_t sys_mmap(struct lind_call *c)
{
    return LOCKED(c, mm_mmap(c, arg_u32(c, 0), arg_u32(c, 1), arg_int(c, 2), arg_int(c, 3), arg_int(c, 4),
                             arg_i64(c, 5)));
}

int64_t sys_munmap(struct lind_call *c) { return LOCKED(c, mm_munmap(c->cage, arg_u32(c, 0), arg_u32(c, 1))); }
int64_t sys_mprotect(struct lind_call *c) { return LOCKED(c, mm_mprotect(c->cage, arg_u32(c, 0), arg_u32(c, 1))); }

int64_t sys_madvise(struct lind_call *c)
{
    return LOCKED(c, mm_madvise(c->cage, arg_u32(c, 0), arg_u32(c, 1), arg_int(c, 2)));
}

int64_t sys_msync(struct lind_call *c) { return LOCKED(c, mm_msync(c->cage, arg_u32(c, 0), arg_u32(c, 1))); }

/* mremap(old, old_len, new_len, flags) */
int64_t sys_mremap(struct lind_call *c)
{
    return LOCKED(c, mm_mremap(c->cage, arg_u32(c, 0), arg_u32(c, 1), arg_u32(c, 2), arg_int(c, 3)));
}

/* sys/sys_args.c: the lind calls that hand a cage its argv, environment and auxiliary vector
 * (crt1's start-up, docs/abi.md).
 * Calls: base/, kern/.        Called by: threei/dispatch (through sys/syscall_table.c). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "base/guest_abi.h"
#include "kern/cage.h"
#include "kern/call.h"
#include "kern/mm.h"
#include "sys/syscalls.h"

#define AUXV_PAIRS 8

/* lind_args_sizes(uint32_t out[4]): argc, envc, string bytes, vector entries */
int64_t sys_lind_args_sizes(struct lind_call *c)
{
    uint32_t *out = guest_ptr(c, c->a[0], 16);
    if (!out)
        return -EFAULT;
    out[0] = c->cage->argc;
    out[1] = c->cage->envc;
    out[2] = c->cage->args_len + 16; /* + AT_RANDOM bytes */
    out[3] = c->cage->argc + 1 + c->cage->envc + 1 + 2 * AUXV_PAIRS;
    return 0;
}

/* lind_args_get(uint32_t *vec, char *strings) */
int64_t sys_lind_args_get(struct lind_call *c)
{
    struct lind_cage *cage = c->cage;
    uint32_t nvec = cage->argc + 1 + cage->envc + 1 + 2 * AUXV_PAIRS;
    uint32_t *vec = guest_ptr(c, c->a[0], (uint64_t)nvec * 4);
    char *str = guest_ptr(c, c->a[1], (uint64_t)cage->args_len + 16);
    uint32_t gstr = arg_u32(c, 1), off = 0, k = 0;
    if (!vec || !str)
        return -EFAULT;
    memcpy(str, cage->args, cage->args_len);
    for (uint32_t i = 0; i < cage->argc + cage->envc; i++) {
        if (i == cage->argc)
            vec[k++] = 0;
        vec[k++] = gstr + off;
        off += (uint32_t)strnlen(cage->args + off, cage->args_len - off) + 1;
    }
    if (cage->argc == cage->argc + cage->envc)
        vec[k++] = 0;
    vec[k++] = 0;
    if (getentropy(str + cage->args_len, 16) != 0)
        return -EIO;
    uint32_t aux[2 * AUXV_PAIRS] = {
        6, LIND_PAGE,                      /* AT_PAGESZ */
        25, gstr + cage->args_len,         /* AT_RANDOM */
        11, cage->uid, 12, cage->euid,     /* AT_UID, AT_EUID */
        13, cage->gid, 14, cage->egid,     /* AT_GID, AT_EGID */
        23, 0,                             /* AT_SECURE */
        0, 0,                              /* AT_NULL */
    };
    memcpy(vec + k, aux, sizeof aux);
    return 0;
}

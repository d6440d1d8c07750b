/* sys/sys_cred.c: the credential calls: get/set of the user and group ids (real, effective, saved)
 * and of the supplementary groups. The rules for changing them are kern/creds.c.
 * Calls: base/, kern/.        Called by: sys/syscall_table.c. */
#include <errno.h>
#include <string.h>

#include "kern/cage.h"
#include "kern/call.h"
#include "kern/creds.h"
#include "kern/mm.h"
#include "sys/syscalls.h"


int64_t sys_getuid(struct lind_call *c) { return c->cage->uid; }
int64_t sys_geteuid(struct lind_call *c) { return c->cage->euid; }
int64_t sys_getgid(struct lind_call *c) { return c->cage->gid; }
int64_t sys_getegid(struct lind_call *c) { return c->cage->egid; }

static uint32_t *uids(struct lind_cage *cage) { return &cage->uid; } /* uid, euid, suid in a row */
static uint32_t *gids(struct lind_cage *cage) { return &cage->gid; }

int64_t sys_setuid(struct lind_call *c) { return creds_set_one(c->cage, uids(c->cage), arg_u32(c, 0)); }
int64_t sys_setgid(struct lind_call *c) { return creds_set_one(c->cage, gids(c->cage), arg_u32(c, 0)); }
int64_t sys_setreuid(struct lind_call *c) { return creds_set_re(c->cage, uids(c->cage), arg_u32(c, 0), arg_u32(c, 1)); }
int64_t sys_setregid(struct lind_call *c) { return creds_set_re(c->cage, gids(c->cage), arg_u32(c, 0), arg_u32(c, 1)); }

int64_t sys_setresuid(struct lind_call *c)
{
    return creds_set_res(c->cage, uids(c->cage), arg_u32(c, 0), arg_u32(c, 1), arg_u32(c, 2));
}

int64_t sys_setresgid(struct lind_call *c)
{
    return creds_set_res(c->cage, gids(c->cage), arg_u32(c, 0), arg_u32(c, 1), arg_u32(c, 2));
}

static int64_t get_res(struct lind_call *c, const uint32_t *ids)
{
    uint32_t *out[3];
    for (int i = 0; i < 3; i++)
        if (!(out[i] = guest_ptr(c, c->a[i], 4)))
            return -EFAULT;
    for (int i = 0; i < 3; i++)
        *out[i] = ids[i];
    return 0;
}

int64_t sys_getresuid(struct lind_call *c) { return get_res(c, uids(c->cage)); }
int64_t sys_getresgid(struct lind_call *c) { return get_res(c, gids(c->cage)); }

/* getgroups(size, list): the count when size is 0; EINVAL when the list is too small */
int64_t sys_getgroups(struct lind_call *c)
{
    struct lind_cage *cage = c->cage;
    int size = arg_int(c, 0);
    if (size < 0)
        return -EINVAL;
    if (size == 0)
        return cage->ngroups;
    if (size < cage->ngroups)
        return -EINVAL;
    if (cage->ngroups == 0)
        return 0;
    uint32_t *g = guest_ptr(c, c->a[1], (uint64_t)cage->ngroups * 4);
    if (!g)
        return -EFAULT;
    memcpy(g, cage->groups, (size_t)cage->ngroups * 4);
    return cage->ngroups;
}

/* setgroups(size, list): privileged only; at most LIND_NGROUPS groups */
int64_t sys_setgroups(struct lind_call *c)
{
    struct lind_cage *cage = c->cage;
    int size = arg_int(c, 0);
    if (!creds_privileged(cage))
        return -EPERM;
    if (size < 0 || size > LIND_NGROUPS)
        return -EINVAL;
    const uint32_t *g = size ? guest_ptr(c, c->a[1], (uint64_t)size * 4) : NULL;
    if (size && !g)
        return -EFAULT;
    creds_set_groups(cage, size, g);
    return 0;
}

/* A cage's credentials: real, effective and saved user and group ids and supplementary groups, with
 * Linux's rules for changing them (an effective uid of 0 may set anything; otherwise only to ids
 * the cage already has). They are the cage's own view (getuid, AT_UID, si_uid, fork and exec keep
 * them): files are still opened with the host process's rights. */
#include <errno.h>
#include <string.h>

#include "lind.h"

#define KEEP 0xffffffffu /* -1: leave this id as it is */

int64_t sys_getuid(struct lind_call *c) { return c->cage->uid; }
int64_t sys_geteuid(struct lind_call *c) { return c->cage->euid; }
int64_t sys_getgid(struct lind_call *c) { return c->cage->gid; }
int64_t sys_getegid(struct lind_call *c) { return c->cage->egid; }

static int privileged(struct lind_cage *cage) { return cage->euid == 0; }

/* v may become one of the ids the cage has (or stay KEEP) */
static int one_of(uint32_t v, const uint32_t *ids)
{
    return v == KEEP || v == ids[0] || v == ids[1] || v == ids[2];
}

/* setresuid/setresgid on ids = {real, effective, saved} */
static int64_t set_res(struct lind_call *c, uint32_t *ids, uint32_t r, uint32_t e, uint32_t s)
{
    if (!privileged(c->cage) && (!one_of(r, ids) || !one_of(e, ids) || !one_of(s, ids)))
        return -EPERM;
    cage_lock(c->cage);
    if (r != KEEP)
        ids[0] = r;
    if (e != KEEP)
        ids[1] = e;
    if (s != KEEP)
        ids[2] = s;
    cage_unlock(c->cage);
    return 0;
}

/* setreuid/setregid: the saved id follows the effective one when the real one is set, or the
 * effective one is set to something other than the old real id */
static int64_t set_re(struct lind_call *c, uint32_t *ids, uint32_t r, uint32_t e)
{
    uint32_t real[3] = {ids[0], ids[1], ids[1]}; /* a new real id: the real or effective one */
    if (!privileged(c->cage) && (!one_of(r, real) || !one_of(e, ids)))
        return -EPERM;
    uint32_t old_real = ids[0];
    uint32_t s = (r != KEEP || (e != KEEP && e != old_real)) ? (e != KEEP ? e : ids[1]) : KEEP;
    return set_res(c, ids, r, e, s);
}

/* setuid/setgid: all three when privileged, else only the effective one, to the real or saved id */
static int64_t set_one(struct lind_call *c, uint32_t *ids, uint32_t v)
{
    if (v == KEEP)
        return -EINVAL;
    if (privileged(c->cage))
        return set_res(c, ids, v, v, v);
    if (v != ids[0] && v != ids[2])
        return -EPERM;
    return set_res(c, ids, KEEP, v, KEEP);
}

static uint32_t *uids(struct lind_cage *cage) { return &cage->uid; } /* uid, euid, suid in a row */
static uint32_t *gids(struct lind_cage *cage) { return &cage->gid; }

int64_t sys_setuid(struct lind_call *c) { return set_one(c, uids(c->cage), arg_u32(c, 0)); }
int64_t sys_setgid(struct lind_call *c) { return set_one(c, gids(c->cage), arg_u32(c, 0)); }
int64_t sys_setreuid(struct lind_call *c) { return set_re(c, uids(c->cage), arg_u32(c, 0), arg_u32(c, 1)); }
int64_t sys_setregid(struct lind_call *c) { return set_re(c, gids(c->cage), arg_u32(c, 0), arg_u32(c, 1)); }

int64_t sys_setresuid(struct lind_call *c)
{
    return set_res(c, uids(c->cage), arg_u32(c, 0), arg_u32(c, 1), arg_u32(c, 2));
}

int64_t sys_setresgid(struct lind_call *c)
{
    return set_res(c, gids(c->cage), arg_u32(c, 0), arg_u32(c, 1), arg_u32(c, 2));
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
    if (!privileged(cage))
        return -EPERM;
    if (size < 0 || size > LIND_NGROUPS)
        return -EINVAL;
    const uint32_t *g = size ? guest_ptr(c, c->a[1], (uint64_t)size * 4) : NULL;
    if (size && !g)
        return -EFAULT;
    cage_lock(cage);
    if (size)
        memcpy(cage->groups, g, (size_t)size * 4);
    cage->ngroups = size;
    cage_unlock(cage);
    return 0;
}

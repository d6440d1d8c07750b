/* A cage's credentials: real, effective and saved user and group ids and supplementary groups, with
 * Linux's rules for changing them (an effective uid of 0 may set anything; otherwise only to ids
 * the cage already has). They are the cage's own view (getuid, AT_UID, si_uid, fork and exec keep
 * them): files are still opened with the host process's rights. The calls are sys/sys_cred.c.
 * Calls:  kern/ (cage).  Called by: sys/ (sys_cred). */
#include <errno.h>
#include <string.h>

#include "kern/cage.h"
#include "kern/creds.h"

#define KEEP 0xffffffffu /* -1: leave this id as it is */

int creds_privileged(struct lind_cage *cage) { return cage->euid == 0; }

/* v may become one of the ids the cage has (or stay KEEP) */
static int one_of(uint32_t v, const uint32_t *ids)
{
    return v == KEEP || v == ids[0] || v == ids[1] || v == ids[2];
}

/* setresuid/setresgid on ids = {real, effective, saved} */
int64_t creds_set_res(struct lind_cage *cage, uint32_t *ids, uint32_t r, uint32_t e, uint32_t s)
{
    if (!creds_privileged(cage) && (!one_of(r, ids) || !one_of(e, ids) || !one_of(s, ids)))
        return -EPERM;
    cage_lock(cage);
    if (r != KEEP)
        ids[0] = r;
    if (e != KEEP)
        ids[1] = e;
    if (s != KEEP)
        ids[2] = s;
    cage_unlock(cage);
    return 0;
}

/* setreuid/setregid: the saved id follows the effective one when the real one is set, or the
 * effective one is set to something other than the old real id */
int64_t creds_set_re(struct lind_cage *cage, uint32_t *ids, uint32_t r, uint32_t e)
{
    uint32_t real[3] = {ids[0], ids[1], ids[1]}; /* a new real id: the real or effective one */
    if (!creds_privileged(cage) && (!one_of(r, real) || !one_of(e, ids)))
        return -EPERM;
    uint32_t old_real = ids[0];
    uint32_t s = (r != KEEP || (e != KEEP && e != old_real)) ? (e != KEEP ? e : ids[1]) : KEEP;
    return creds_set_res(cage, ids, r, e, s);
}

/* setuid/setgid: all three when privileged, else only the effective one, to the real or saved id */
int64_t creds_set_one(struct lind_cage *cage, uint32_t *ids, uint32_t v)
{
    if (v == KEEP)
        return -EINVAL;
    if (creds_privileged(cage))
        return creds_set_res(cage, ids, v, v, v);
    if (v != ids[0] && v != ids[2])
        return -EPERM;
    return creds_set_res(cage, ids, KEEP, v, KEEP);
}

/* setgroups: the cage's supplementary groups become list[0..n) (the caller checked n and that the
 * cage is privileged). */
void creds_set_groups(struct lind_cage *cage, int n, const uint32_t *list)
{
    cage_lock(cage);
    if (n)
        memcpy(cage->groups, list, (size_t)n * 4);
    cage->ngroups = n;
    cage_unlock(cage);
}

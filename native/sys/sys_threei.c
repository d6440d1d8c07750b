/* sys/sys_threei.c: the 3i calls (lind calls 1001..: docs/abi.md): register_handler,
 * copy_handler_table_to_cage, copy_data_between_cages.
 *
 * Authority: a cage may register handlers in, copy data from/to, copy tables into and make calls
 * on behalf of itself and its descendants only.
 * Calls: base/, kern/.        Called by: sys/syscall_table.c. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "base/guest_abi.h"
#include "kern/cage.h"
#include "kern/call.h"
#include "kern/grate.h"
#include "kern/proc.h"
#include "kern/signal.h"
#include "kern/thread.h"
#include "sys/syscalls.h"

#define THREEI_DEREGISTER 500 /* the reference's handler cage id that removes an entry */

/* May cage `me` act on cage pid `target` (itself or a descendant)? */
static int may_act_on(struct lind_cage *me, uint64_t target)
{
    return target == me->id || (target < (1u << 31) && proc_is_ancestor((int)me->id, (int)target));
}

/* register_handler(targetcage, callnum[a1_cage], _, grateid[a2_cage], fnptr[a3]) as the
 * reference packs it. */
int64_t sys_register_handler(struct lind_call *c)
{
    uint64_t target = c->a[0], callnum = c->ac[0], grateid = c->ac[1], fnptr = c->a[2];
    if (callnum >= LIND_NCALLS)
        return -EINVAL;
    if (!may_act_on(c->cage, target))
        return -EPERM;
    struct lind_cage *t = target == c->cage->id ? c->cage : cage_get((int)target);
    if (!t)
        return -ESRCH;
    int64_t r = 0;
    if (grateid == THREEI_DEREGISTER) {
        cage_lock(t);
        t->table[callnum].pool = NULL;
        t->table[callnum].fnptr = 0;
        cage_unlock(t);
    } else if (grateid > INT32_MAX || !proc_is_ancestor((int)grateid, (int)c->cage->id)) {
        r = -EPERM; /* handlers live in the caller or one of its ancestors (the grate that forked it) */
    } else {
        struct lind_cage *g = grateid == c->cage->id ? c->cage : cage_get((int)grateid);
        struct grate_pool *pool = g ? grate_pool_of(g) : NULL;
        if (!g) {
            r = -ESRCH;
        } else if (!pool) {
            r = -ENOMEM;
        } else {
            cage_lock(t);
            t->table[callnum].fnptr = fnptr;
            t->table[callnum].pool = pool;
            cage_unlock(t);
        }
        if (g && g != c->cage)
            cage_put(g);
    }
    if (t != c->cage)
        cage_put(t);
    return r;
}

/* copy_handler_table_to_cage(srccage, targetcage) */
int64_t sys_copy_handler_table_to_cage(struct lind_call *c)
{
    uint64_t src = c->a[0], dst = c->a[1];
    /* both ends: the table is taken from the caller's own line (an ancestor, itself or a
     * descendant), never from another tenant's or a sibling's cage */
    if (!may_act_on(c->cage, dst) || src > INT32_MAX ||
        !(may_act_on(c->cage, src) || proc_is_ancestor((int)src, (int)c->cage->id)))
        return -EPERM;
    struct lind_cage *s = src == c->cage->id ? c->cage : cage_get((int)src);
    if (!s)
        return -ESRCH;
    struct lind_cage *d = dst == c->cage->id ? c->cage : cage_get((int)dst);
    int64_t r = 0;
    if (!d) {
        r = -ESRCH;
    } else {
        static struct threei_entry tmp[LIND_NCALLS];
        static pthread_mutex_t tmp_lock = PTHREAD_MUTEX_INITIALIZER;
        pthread_mutex_lock(&tmp_lock);
        cage_lock(s);
        memcpy(tmp, s->table, sizeof tmp);
        cage_unlock(s);
        cage_lock(d);
        memcpy(d->table, tmp, sizeof tmp);
        cage_unlock(d);
        pthread_mutex_unlock(&tmp_lock);
        if (d != c->cage)
            cage_put(d);
    }
    if (s != c->cage)
        cage_put(s);
    return r;
}

/* A range of a cage's memory, bounds-checked (the cage lock is held by the caller). */
static uint8_t *range(struct lind_cage *cage, uint64_t addr, uint64_t len)
{
    if (!cage->base || addr == 0 || addr > UINT32_MAX || addr + len > cage->size)
        return NULL;
    return cage->base + addr;
}

/* The cage whose call this grate handler serves: alive (its thread waits for the handler) and
 * under the grate's authority (the grate's handler was registered for it). Or NULL. */
static struct lind_cage *served_cage(struct lind_call *c, uint64_t id)
{
    struct lind_thread *o = c->th->origin;
    return (o && o->cage->id == id) ? o->cage : NULL;
}

/* memmove of up to 4 GiB (the whole of a memory) in pieces: a SIGKILL (or the end of the cage)
 * that arrives meanwhile stops it, as it would end a native process in the middle of its memmove,
 * instead of waiting seconds for the host to finish. */
#define COPY_PIECE (64u << 20)
static int64_t move_killable(struct lind_call *c, uint8_t *dp, const uint8_t *sp, uint64_t n)
{
    for (uint64_t done = 0; done < n;) {
        uint64_t k = n - done < COPY_PIECE ? n - done : COPY_PIECE;
        if (dp <= sp) /* forward: a piece never overwrites the source of a later one */
            memmove(dp + done, sp + done, k);
        else          /* backward, from the end */
            memmove(dp + n - done - k, sp + n - done - k, k);
        done += k;
        if (done < n && thread_doomed(c->th))
            return -EINTR;
    }
    return 0;
}

/* The common case of a grate handler: copying between its own memory and the cage it serves,
 * without the process table. Returns 1 if done (*r set). */
static int copy_fast(struct lind_call *c, uint64_t srcaddr, uint64_t srccage, uint64_t dstaddr,
                     uint64_t dstcage, uint64_t len, uint64_t type, int64_t *r)
{
    struct lind_cage *me = c->cage, *s, *d;
    if (srccage == me->id && (d = served_cage(c, dstcage)) != NULL)
        s = me;
    else if (dstcage == me->id && (s = served_cage(c, srccage)) != NULL)
        d = me;
    else
        return 0;
    struct lind_cage *other = s == me ? d : s;
    if (other->nthreads > 1 || me->nthreads > 1)
        return 0; /* threads could exec or unmap concurrently: take the locked path */
    uint64_t n = len;
    uint8_t *sp = range(s, srcaddr, type == 1 ? 0 : len);
    if (sp && type == 1) {
        uint64_t avail = s->size - srcaddr;
        uint8_t *nul = memchr(sp, 0, avail < len ? avail : len);
        if (!nul) {
            *r = -EINVAL;
            return 1;
        }
        n = (uint64_t)(nul - sp) + 1;
    }
    uint8_t *dp = range(d, dstaddr, n);
    if (!sp || !dp) {
        *r = -EFAULT;
        return 1;
    }
    *r = move_killable(c, dp, sp, n);
    return 1;
}

/* copy_data_between_cages(thiscage, targetcage, srcaddr, srccage, destaddr, destcage, len,
 * copytype) packed as a1/a1c, a2/a2c, a3/a3c, a4/a4c: copytype 0 copies len bytes, 1 copies a
 * string of at most len bytes including its NUL (EINVAL if there is none). Returns 0. */
int64_t sys_copy_data_between_cages(struct lind_call *c)
{
    uint64_t srcaddr = c->a[1], srccage = c->ac[1] & ~GRATE_MEMORY_FLAG;
    uint64_t dstaddr = c->a[2], dstcage = c->ac[2] & ~GRATE_MEMORY_FLAG;
    uint64_t len = c->a[3], type = c->ac[3];
    if (type > 1 || len > UINT32_MAX)
        return -EINVAL;
    if (srccage == 0)
        srccage = c->cage->id;
    if (dstcage == 0)
        dstcage = c->cage->id;
    int64_t fast;
    if (copy_fast(c, srcaddr, srccage, dstaddr, dstcage, len, type, &fast))
        return fast;
    if (!may_act_on(c->cage, srccage) || !may_act_on(c->cage, dstcage))
        return -EPERM;
    struct lind_cage *s = srccage == c->cage->id ? c->cage : cage_get((int)srccage);
    struct lind_cage *d = dstcage == c->cage->id ? c->cage : cage_get((int)dstcage);
    int64_t r = 0;
    if (!s || !d) {
        r = -ESRCH;
        goto out;
    }
    /* lock both in a fixed order (exec cannot swap a memory out from under the copy) */
    struct lind_cage *first = s < d ? s : d, *second = s < d ? d : s;
    cage_lock(first);
    if (second != first)
        cage_lock(second);
    uint64_t n = len;
    uint8_t *sp = range(s, srcaddr, type == 1 ? 0 : len);
    if (sp && type == 1) {
        uint64_t avail = s->size - srcaddr;
        uint8_t *nul = memchr(sp, 0, avail < len ? avail : len);
        n = nul ? (uint64_t)(nul - sp) + 1 : 0;
        if (!nul)
            r = -EINVAL;
    }
    uint8_t *dp = range(d, dstaddr, n);
    if (r == 0 && (!sp || !dp))
        r = -EFAULT;
    if (r == 0 && n)
        r = move_killable(c, dp, sp, n);
    if (second != first)
        cage_unlock(second);
    cage_unlock(first);
out:
    if (s && s != c->cage)
        cage_put(s);
    if (d && d != c->cage)
        cage_put(d);
    return r;
}

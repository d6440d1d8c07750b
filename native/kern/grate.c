/* kern/grate.c: a grate's pool, what its cages' 3i table entries point to: made when the grate
 * registers its first handler, marked dead when it ends, when every table forgets it (calls then
 * fall back to the microvisor, docs/abi.md). Its workers and the calls into them are threei/grate.c.
 * And lind_cage_table: a live cage's routed entries, for the embedder.
 * Calls:  base/ (util), kern/ (cage, proc, tree).
 * Called by: kern/cage (a cage's end), sys/sys_threei, rt/runner, threei/grate, Python. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "base/util.h"
#include "kern/cage.h"
#include "kern/grate.h"
#include "kern/proc.h"
#include "kern/tree.h"

struct grate_pool *grate_pool_of(struct lind_cage *grate)
{
    cage_lock(grate);
    if (!grate->pool) {
        struct grate_pool *p = calloc(1, sizeof *p);
        if (p) {
            pthread_mutex_init(&p->lock, NULL);
            pthread_cond_init(&p->idle_cond, NULL);
            p->grate = grate;
            p->grate_id = (int)grate->id;
            if (grate->proc->pid == grate->proc->tree_root) /* its cages outlive it (tree.c) */
                __atomic_store_n(&grate->tree->root_is_grate, 1, __ATOMIC_RELEASE);
        }
        grate->pool = p;
    }
    cage_unlock(grate);
    return grate->pool;
}

/* Python, for debugging: the entries of the live cage pid's 3i table that a grate answers (the
 * others go to the microvisor), at most cap of them into out, by call number; their number, or
 * -ESRCH when there is no such live cage. */
int lind_cage_table(int pid, struct lind_route *out, int cap)
{
    struct lind_cage *cage = cage_get(pid);
    if (!cage)
        return -ESRCH;
    int n = 0;
    cage_lock(cage);
    for (uint32_t nr = 0; nr < LIND_NCALLS; nr++) {
        struct threei_entry e = cage->table[nr];
        if (!e.pool)
            continue;
        if (n < cap) {
            out[n].nr = nr;
            out[n].grate = e.pool->grate_id;
            out[n].handler = e.fnptr;
        }
        n++;
    }
    cage_unlock(cage);
    cage_put(cage);
    return n;
}

void grate_ending(struct lind_cage *grate)
{
    struct grate_pool *pool = grate->pool;
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    __atomic_store_n(&pool->dead, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(&pool->inflight, __ATOMIC_ACQUIRE) > 0) {
        struct timespec ts;
        deadline_after_ms(&ts, 20);
        pthread_cond_timedwait(&pool->idle_cond, &pool->lock, &ts);
    }
    pthread_mutex_unlock(&pool->lock);
    proc_forget_pool(pool);
}

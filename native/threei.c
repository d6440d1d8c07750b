/* 3i: per-cage system call tables, grates and the calls grates use.
 *
 * A cage's table maps a call number to a grate (its pool of worker instances) and a handler (a
 * function-table index in the grate), or to nothing: the microvisor answers. A grate call runs
 * synchronously on the calling cage's OS thread, in one of the grate's worker instances (its own
 * Store and instance over the grate's shared memory, its own stack), through the grate's exported
 * dispatcher pass_fptr_to_wt(fn, grateid, a1, a1cage, ..., a6, a6cage). Workers are made on demand
 * on demand and kept for reuse, so a pool is as big as the number of concurrent callers.
 *
 * Authority: a cage may register handlers in, copy data from/to, copy tables into and make calls
 * on behalf of itself and its descendants only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "instance.h"

#define THREEI_DEREGISTER 500 /* the reference's handler cage id that removes an entry */
#define GRATE_MEMORY_FLAG (1ull << 63)
#define WORKER_STACK (256 * 1024) /* each worker's own stack, inside the grate's memory */

struct grate_worker {
    struct lind_thread *th;     /* the worker's own thread struct; cage = the grate */
    struct lind_instance *inst;
    wasmtime_context_t *ctx;
    wasmtime_func_t dispatcher; /* pass_fptr_to_wt */
    struct grate_pool *pool;
    int busy;                   /* leased by a caller (atomic) */
    int broken;                 /* a handler trapped in it: never used again */
    struct grate_worker *next;  /* every worker of the pool, busy or not */
};

struct grate_pool {
    pthread_mutex_t lock;
    pthread_cond_t idle_cond;
    struct lind_cage *grate;
    int grate_id;
    int dead;                   /* atomic */
    int inflight;               /* calls in progress (atomic) */
    struct grate_worker *workers;
};

/* Guest memory for a worker's stack and TLS block: [addr, addr + bytes) in the grate. */
static int64_t grate_region(struct lind_cage *grate, uint32_t bytes)
{
    struct lind_call c;
    memset(&c, 0, sizeof c);
    c.cage = grate;
    c.th = grate->main;
    cage_lock(grate);
    int64_t r = memory_alloc_pages(&c, (bytes + LIND_PAGE - 1) / LIND_PAGE);
    cage_unlock(grate);
    return r;
}

static void worker_free(struct grate_worker *w)
{
    instance_free(w->inst, 0);
    if (w->th)
        proc_free_tid(w->th->tid);
    free(w->th);
    free(w);
}

/* A new worker of a grate: its own instance over the grate's memory, with its own stack and TLS
 * block in that memory, initialised by the grate's __lind_worker_init. NULL if the grate is not
 * one (no pass_fptr_to_wt) or memory ran out. */
static struct grate_worker *worker_new(struct lind_cage *grate)
{
    char msg[256];
    wasmtime_extern_t x;
    if (!grate->module || !grate->mem)
        return NULL;
    struct grate_worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    int tid = proc_alloc_tid();
    w->th = tid > 0 ? thread_new(grate, tid) : NULL;
    if (!w->th && tid > 0)
        proc_free_tid(tid);
    if (w->th)
        w->inst = instance_new(grate->module, w->th, grate->mem, "_start", 0, 0, msg, sizeof msg);
    if (!w->inst || !instance_export(w->inst, "pass_fptr_to_wt", WASMTIME_EXTERN_FUNC, &x) ||
        !func_fits(w->inst->run.ctx, &x.of.func, 14))
        goto fail;
    w->ctx = w->inst->run.ctx;
    w->dispatcher = x.of.func;
    int32_t tls_size = 0, tls_align = 0;
    instance_global_get(w->inst, "__tls_size", &tls_size);
    instance_global_get(w->inst, "__tls_align", &tls_align);
    uint32_t align = tls_align > 1 ? (uint32_t)tls_align : 1;
    uint32_t tls_room = ((uint32_t)tls_size + (align > 16 ? align : 16) + 15) & ~15u;
    int64_t base = grate_region(grate, tls_room + WORKER_STACK);
    if (base < 0)
        goto fail;
    uint32_t tls_block = ((uint32_t)base + align - 1) & ~(align - 1);
    if (instance_global_set(w->inst, "__stack_pointer", (int32_t)((uint32_t)base + tls_room + WORKER_STACK)) < 0 ||
        instance_call(w->inst, "__lind_worker_init", 1, (int32_t)tls_block) < 0)
        goto fail;
    return w;
fail:
    if (w->inst)
        instance_free(w->inst, 0);
    if (w->th)
        proc_free_tid(w->th->tid);
    free(w->th);
    free(w);
    return NULL;
}

static struct grate_pool *pool_of(struct lind_cage *grate)
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

/* The grate is ending: its entries disappear from every table (calls fall back to the microvisor)
 * and calls in flight finish before its memory goes; threei_free_workers frees the workers. */
void threei_grate_ending(struct lind_cage *grate);

/* ---- the call path ---- */

static __thread struct grate_worker *cached_worker; /* last worker this OS thread used */

static int lease(struct grate_worker *w)
{
    int free_ = 0;
    return !w->broken && __atomic_compare_exchange_n(&w->busy, &free_, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* A worker for this call: the one this OS thread used last if it is free (no lock), else any
 * free one, else a new one. */
static struct grate_worker *worker_get(struct grate_pool *pool)
{
    struct grate_worker *w = cached_worker;
    if (w && w->pool == pool && lease(w))
        return w;
    pthread_mutex_lock(&pool->lock);
    for (w = pool->workers; w; w = w->next)
        if (lease(w))
            break;
    pthread_mutex_unlock(&pool->lock);
    if (w)
        return w;
    w = worker_new(pool->grate);
    if (!w)
        return NULL;
    w->pool = pool;
    w->busy = 1;
    pthread_mutex_lock(&pool->lock);
    w->next = pool->workers;
    pool->workers = w;
    pthread_mutex_unlock(&pool->lock);
    return w;
}

int64_t threei_call_grate(struct lind_call *c, struct threei_entry e)
{
    struct grate_pool *pool = e.pool;
    __atomic_add_fetch(&pool->inflight, 1, __ATOMIC_ACQ_REL);
    if (__atomic_load_n(&pool->dead, __ATOMIC_ACQUIRE) || __atomic_load_n(&pool->grate->exited, __ATOMIC_ACQUIRE)) {
        __atomic_sub_fetch(&pool->inflight, 1, __ATOMIC_ACQ_REL);
        return lind_handlers[c->nr] ? lind_handlers[c->nr](c) : -ENOSYS;
    }
    struct grate_worker *w = worker_get(pool);
    if (!w) {
        __atomic_sub_fetch(&pool->inflight, 1, __ATOMIC_ACQ_REL);
        return -EAGAIN;
    }
    cached_worker = w;
    struct lind_thread *wth = w->th;
    wth->origin = c->th->origin ? c->th->origin : c->th;
    thread_set_os_thread(wth, 1);

    wasmtime_val_raw_t raw[14];
    raw[0].i64 = (int64_t)e.fnptr;
    raw[1].i64 = pool->grate_id;
    for (int i = 0; i < 6; i++) {
        raw[2 + 2 * i].i64 = (int64_t)c->a[i];
        /* "0: the calling cage" becomes the caller's id: the grate must know whose memory it is */
        raw[3 + 2 * i].i64 = (int64_t)(c->ac[i] ? c->ac[i] : c->cage->id);
    }
    wasm_trap_t *trap = NULL;
    wasmtime_error_t *err = wt.func_call_unchecked(w->ctx, &w->dispatcher, raw, 14, &trap);
    int64_t ret;
    if (err || trap) {
        /* the handler trapped (or its grate exited in it): the call fails with EIO and the
         * worker is not used again (freed with the grate) */
        if (getenv("LIND_DEBUG")) {
            struct { size_t n; char *d; } m = {0, NULL};
            if (trap)
                wt.trap_message(trap, &m);
            else
                wt.error_message(err, &m);
            fprintf(stderr, "lind: grate %d handler %llu (%s) failed: %.*s\n", pool->grate_id,
                    (unsigned long long)e.fnptr, lind_call_name(c->nr), (int)m.n, m.d);
            wt.byte_vec_delete(&m);
        }
        if (err)
            wt.error_delete(err);
        if (trap)
            wt.trap_delete(trap);
        w->broken = 1;
        /* a grate that is exiting ended its handler: the call falls back to the microvisor */
        if (__atomic_load_n(&pool->dead, __ATOMIC_ACQUIRE) || pool->grate->exited)
            ret = lind_handlers[c->nr] ? lind_handlers[c->nr](c) : -ENOSYS;
        else
            ret = -EIO;
    } else {
        ret = (int64_t)raw[0].i32;
    }
    thread_set_os_thread(wth, 0);
    wth->origin = NULL;
    __atomic_store_n(&w->busy, 0, __ATOMIC_RELEASE);
    if (__atomic_sub_fetch(&pool->inflight, 1, __ATOMIC_ACQ_REL) == 0 && __atomic_load_n(&pool->dead, __ATOMIC_ACQUIRE)) {
        pthread_mutex_lock(&pool->lock);
        pthread_cond_broadcast(&pool->idle_cond);
        pthread_mutex_unlock(&pool->lock);
    }
    return ret;
}

/* After the grate ended (threei_grate_ending): frees its workers. */
void threei_free_workers(struct lind_cage *grate)
{
    struct grate_pool *pool = grate->pool;
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    struct grate_worker *w = pool->workers;
    pool->workers = NULL;
    pthread_mutex_unlock(&pool->lock);
    while (w) {
        struct grate_worker *next = w->next;
        worker_free(w);
        w = next;
    }
}

void threei_grate_ending(struct lind_cage *grate)
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

void threei_table_clone(struct lind_cage *child, const struct lind_cage *parent)
{
    memcpy(child->table, parent->table, sizeof child->table);
}

/* ---- the 3i calls ---- */

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
        struct grate_pool *pool = g ? pool_of(g) : NULL;
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

/* copy_data_between_cages(thiscage, targetcage, srcaddr, srccage, destaddr, destcage, len,
 * copytype) packed as a1/a1c, a2/a2c, a3/a3c, a4/a4c: copytype 0 copies len bytes, 1 copies a
 * string of at most len bytes including its NUL (EINVAL if there is none). Returns 0. */
/* The cage whose call this grate handler serves: alive (its thread waits for the handler) and
 * under the grate's authority (the grate's handler was registered for it). Or NULL. */
static struct lind_cage *served_cage(struct lind_call *c, uint64_t id)
{
    struct lind_thread *o = c->th->origin;
    return (o && o->cage->id == id) ? o->cage : NULL;
}

/* The common case of a grate handler: copying between its own memory and the cage it serves,
 * without the process table. Returns 1 if done (*r set). */
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

/* 3i: calls into grates.
 *
 * A cage's table maps a call number to a grate (its pool of worker instances) and a handler (a
 * function-table index in the grate), or to nothing: the microvisor answers. A grate call runs
 * synchronously on the calling cage's OS thread, in one of the grate's worker instances (its own
 * Store and instance over the grate's shared memory, its own stack), through the grate's exported
 * dispatcher pass_fptr_to_wt(fn, grateid, a1, a1cage, ..., a6, a6cage). Workers are made on demand
 * and kept for reuse, so a pool is as big as the number of concurrent callers. The pools
 * themselves are kern/grate.c, the 3i calls (register_handler & co.) sys/sys_threei.c.
 * Calls:  base/ (guest_abi, wt_api), kern/ (cage, call, mm, proc, thread), sys/ (syscalls),
 *         rt/ (instance).
 * Called by: threei/ (dispatch). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/guest_abi.h"
#include "base/wt_api.h"
#include "kern/cage.h"
#include "kern/call.h"
#include "kern/grate.h"
#include "kern/mm.h"
#include "kern/pids.h"
#include "kern/proc.h"
#include "kern/thread.h"
#include "rt/instance.h"
#include "sys/syscalls.h"
#include "threei/grate.h"

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

/* Guest memory for a worker's stack and TLS block: [addr, addr + bytes) in the grate. */
static int64_t grate_region(struct lind_cage *grate, uint32_t bytes)
{
    cage_lock(grate);
    int64_t r = memory_alloc_pages(grate, (bytes + LIND_PAGE - 1) / LIND_PAGE);
    cage_unlock(grate);
    return r;
}

static void worker_free(struct grate_worker *w)
{
    instance_free(w->inst, 0);
    if (w->th)
        pid_release(w->th->tid);
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
    int tid = pid_take();
    w->th = tid > 0 ? thread_new(grate, tid) : NULL;
    if (!w->th && tid > 0)
        pid_release(tid);
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
        pid_release(w->th->tid);
    free(w->th);
    free(w);
    return NULL;
}

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
    /* (the worker is not bound to this OS thread: kicks reach it through its caller's thread, whose
     * OS thread this is, and the CPU time of its handlers is its caller's: kern/tree.c) */

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
    wth->origin = NULL;
    __atomic_store_n(&w->busy, 0, __ATOMIC_RELEASE);
    if (__atomic_sub_fetch(&pool->inflight, 1, __ATOMIC_ACQ_REL) == 0 && __atomic_load_n(&pool->dead, __ATOMIC_ACQUIRE)) {
        pthread_mutex_lock(&pool->lock);
        pthread_cond_broadcast(&pool->idle_cond);
        pthread_mutex_unlock(&pool->lock);
    }
    return ret;
}

/* After the grate ended (kern/grate.c: grate_ending): frees its workers. */
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


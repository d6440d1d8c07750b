/* Instances of cage programs, made in C: a Store, the cage's shared memory and the one import
 * lind.syscall, with the exports the run loop needs looked up once. Doing this in C rather than
 * through wasmtime-py makes a spawn, a fork child or a thread cost microseconds of C instead of
 * a hundred microseconds of Python under its global lock.
 *
 * A cage's memory is made with its memory limit as the memory's maximum: the wasm memory.grow
 * instruction, which never reaches the data plane, cannot grow it further (it returns -1).
 *
 * Memories of ended cages are kept in a small pool and reused, scrubbed, because faulting in
 * fresh pages costs more than zeroing used ones.
 * Calls:  base/ (guest_abi, pagemap, wt_api), kern/, rt/ (epoch).
 * Called by: rt/ (engine, runner), threei/ (grate). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guest_abi.h"
#include "base/pagemap.h"
#include "base/wt_api.h"
#include "kern/cage.h"
#include "kern/mm.h"
#include "kern/module.h"
#include "kern/thread.h"
#include "kern/tree.h"
#include "kern/upcalls.h"
#include "rt/epoch.h"
#include "rt/instance.h"

#define POOL_MAX 8
#define POOL_MAX_BYTES (64ull << 20) /* larger memories are not kept */

static wasm_engine_t *engine;
static const wasm_functype_t *syscall_type;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static wasmtime_sharedmemory_t *pool[POOL_MAX];
static uint64_t pool_max[POOL_MAX]; /* each one's maximum, in wasm pages */
static int npool;

wasmtime_error_t *lind_epoch_callback(wasmtime_context_t *ctx, void *data, uint64_t *delta,
                                      wasmtime_update_deadline_kind_t *kind);

/* engine.c: the engine every module is loaded into, and the type of lind.syscall. Both live as
 * long as the process. */
void instances_init(wasm_engine_t *e, const wasm_functype_t *syscall)
{
    engine = e;
    syscall_type = syscall;
}

static void set_message(char *err, size_t cap, const char *what, wasmtime_error_t *e, wasm_trap_t *t)
{
    struct { size_t n; char *d; } m = {0, NULL};
    if (e)
        wt.error_message(e, &m);
    else if (t)
        wt.trap_message(t, &m);
    if (cap) {
        /* the first line of wasmtime's message is the reason; the rest is context */
        size_t n = 0;
        while (n < m.n && m.d[n] != '\n')
            n++;
        snprintf(err, cap, "%s%s%.*s", what, n ? ": " : "", (int)n, m.d ? m.d : "");
    }
    if (m.d)
        wt.byte_vec_delete(&m);
    if (e)
        wt.error_delete(e);
    if (t)
        wt.trap_delete(t);
}

static uint64_t memory_max_pages(const wasmtime_sharedmemory_t *mem)
{
    uint64_t max = 0;
    wasm_memorytype_t *t = wt.sharedmemory_type(mem);
    if (t) {
        if (!wt.memorytype_maximum(t, &max))
            max = 0;
        wt.memorytype_delete(t);
    }
    return max;
}

/* A memory for a new instance of m whose maximum is the cage's memory limit (or the module's own,
 * when lower): a pooled one of that maximum, else a new one. */
static wasmtime_sharedmemory_t *memory_for(struct lind_module *m, uint64_t limit, char *err, size_t cap)
{
    uint64_t min = wt.memorytype_minimum(m->memtype), need = min * LIND_WASM_PAGE;
    uint64_t max = limit / LIND_WASM_PAGE, declared;
    if (wt.memorytype_maximum(m->memtype, &declared) && declared < max)
        max = declared;
    if (min > max) {
        snprintf(err, cap, "the program needs %llu KiB of memory to start, more than its limit of %llu KiB",
                 (unsigned long long)(need >> 10), (unsigned long long)(limit >> 10));
        return NULL;
    }
    wasmtime_sharedmemory_t *mem = NULL;
    pthread_mutex_lock(&pool_lock);
    for (int i = npool - 1; i >= 0 && !mem; i--)
        if (pool_max[i] == max) {
            mem = pool[i];
            npool--;
            pool[i] = pool[npool];
            pool_max[i] = pool_max[npool];
        }
    pthread_mutex_unlock(&pool_lock);
    if (mem) {
        uint64_t have = wt.sharedmemory_data_size(mem), prev;
        if (have < need) {
            wasmtime_error_t *e = wt.sharedmemory_grow(mem, (need - have + LIND_WASM_PAGE - 1) / LIND_WASM_PAGE, &prev);
            if (e) {
                wt.error_delete(e);
                wt.sharedmemory_delete(mem);
                mem = NULL;
            }
        }
        if (mem)
            return mem;
    }
    wasm_memorytype_t *type = NULL;
    wasmtime_error_t *e = wt.memorytype_new(min, true, max, false, true, 16, &type);
    if (!e) {
        e = wt.sharedmemory_new(engine, type, &mem);
        wt.memorytype_delete(type);
    }
    if (e) {
        set_message(err, cap, "cannot create the memory", e, NULL);
        return NULL;
    }
    return mem;
}

/* Keeps an ended cage's memory for the next cage (zeroed), or drops it. */
static void memory_give(wasmtime_sharedmemory_t *mem)
{
    uint64_t size = wt.sharedmemory_data_size(mem);
    int keep = 0;
    pthread_mutex_lock(&pool_lock);
    keep = size <= POOL_MAX_BYTES && npool < POOL_MAX;
    pthread_mutex_unlock(&pool_lock);
    if (keep && memory_scrub(wt.sharedmemory_data(mem), size) == 0) {
        uint64_t max = memory_max_pages(mem);
        pthread_mutex_lock(&pool_lock);
        if (npool < POOL_MAX) {
            pool_max[npool] = max;
            pool[npool++] = mem;
            mem = NULL;
        }
        pthread_mutex_unlock(&pool_lock);
    }
    if (mem)
        wt.sharedmemory_delete(mem);
}

int instance_export(struct lind_instance *inst, const char *name, uint8_t kind, wasmtime_extern_t *out)
{
    return wt.instance_export_get(inst->run.ctx, &inst->instance, name, strlen(name), out) && out->kind == kind;
}

struct lind_instance *instance_new(struct lind_module *m, struct lind_thread *th, const wasmtime_sharedmemory_t *mem,
                                   const char *entry, int nargs, int32_t arg, char *err, size_t cap)
{
    struct lind_instance *inst = calloc(1, sizeof *inst);
    if (!inst) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    inst->mem = mem ? wt.sharedmemory_clone(mem) : memory_for(m, th->cage->mem_cap, err, cap);
    if (!inst->mem) {
        free(inst);
        return NULL;
    }
    inst->mod = module_get(m);
    inst->store = wt.store_new(engine, NULL, NULL);
    wasmtime_context_t *ctx = inst->run.ctx = wt.store_context(inst->store);
    /* every epoch tick (epoch.c) the thread's pending signals and limits are looked at */
    wt.context_set_epoch_deadline(ctx, 1);
    wt.store_epoch_deadline_callback(inst->store, lind_epoch_callback, th, NULL);

    wasmtime_linker_t *linker = wt.linker_new(engine);
    wasmtime_extern_t ext;
    memset(&ext, 0, sizeof ext);
    ext.kind = WASMTIME_EXTERN_SHAREDMEMORY;
    ext.of.sharedmemory = inst->mem;
    wasmtime_error_t *e = wt.linker_define(linker, ctx, "env", 3, "memory", 6, &ext);
    if (!e)
        e = wt.linker_define_func_unchecked(linker, "lind", 4, "syscall", 7, syscall_type, upcalls.syscall_entry, th,
                                            NULL);
    if (!e)
        e = wt.linker_define_func_unchecked(linker, "lind", 4, "syscall_unwind", 14, syscall_type,
                                            upcalls.syscall_unwind_entry, th, NULL);
    wasm_trap_t *trap = NULL;
    if (!e)
        e = wt.linker_instantiate(linker, ctx, m->module, &inst->instance, &trap);
    wt.linker_delete(linker);
    if (e || trap) {
        set_message(err, cap, "cannot instantiate", e, trap);
        instance_free(inst, mem == NULL); /* (a thread's clone of its cage's memory is not ours to give) */
        return NULL;
    }
    wasmtime_extern_t x;
    struct run_ctx *r = &inst->run;
    r->nargs = nargs;
    r->arg = arg;
    inst->entry = entry;
    if (!instance_export(inst, entry, WASMTIME_EXTERN_FUNC, &x) || !func_fits(ctx, &x.of.func, 1)) {
        snprintf(err, cap, "not a lind program (no %s export of the right type; rebuild it with `lind cc`)", entry);
        instance_free(inst, mem == NULL);
        return NULL;
    }
    r->entry = x.of.func;
    /* without asyncify (a program linked by another tool) fork and setjmp fail with ENOSYS */
    if (instance_export(inst, "asyncify_stop_unwind", WASMTIME_EXTERN_FUNC, &x) && func_fits(ctx, &x.of.func, 1))
        r->stop_unwind = x.of.func;
    if (instance_export(inst, "asyncify_start_rewind", WASMTIME_EXTERN_FUNC, &x) && func_fits(ctx, &x.of.func, 1))
        r->start_rewind = x.of.func;
    if (instance_export(inst, "__stack_pointer", WASMTIME_EXTERN_GLOBAL, &x)) {
        r->sp = x.of.global;
        th->sp_global = x.of.global;
        th->has_sp = 1;
    }
    if (instance_export(inst, "__indirect_function_table", WASMTIME_EXTERN_TABLE, &x)) {
        th->functable = x.of.table;
        th->has_table = 1;
    }
    return inst;
}

void instance_free(struct lind_instance *inst, int give_memory)
{
    if (!inst)
        return;
    if (inst->store)
        wt.store_delete(inst->store);
    if (give_memory)
        memory_give(inst->mem);
    else
        wt.sharedmemory_delete(inst->mem);
    module_put(inst->mod);
    free(inst);
}

int instance_global_get(struct lind_instance *inst, const char *name, int32_t *out)
{
    wasmtime_extern_t x;
    if (!instance_export(inst, name, WASMTIME_EXTERN_GLOBAL, &x))
        return -ENOENT;
    wasmtime_val_t v;
    wt.global_get(inst->run.ctx, &x.of.global, &v);
    *out = v.of.i32;
    return 0;
}

int instance_global_set(struct lind_instance *inst, const char *name, int32_t value)
{
    wasmtime_extern_t x;
    if (!instance_export(inst, name, WASMTIME_EXTERN_GLOBAL, &x))
        return -ENOENT;
    wasmtime_val_t v;
    memset(&v, 0, sizeof v);
    v.kind = 0; /* WASMTIME_I32 */
    v.of.i32 = value;
    wasmtime_error_t *e = wt.global_set(inst->run.ctx, &x.of.global, &v);
    if (e) {
        wt.error_delete(e);
        return -EINVAL;
    }
    return 0;
}

int instance_global_copy(struct lind_instance *to, struct lind_instance *from, const char *name)
{
    int32_t v;
    if (instance_global_get(from, name, &v) < 0)
        return 0; /* the program has no such global (no TLS): nothing to copy */
    return instance_global_set(to, name, v);
}

int instance_call(struct lind_instance *inst, const char *name, int nargs, int32_t arg)
{
    wasmtime_extern_t x;
    if (!instance_export(inst, name, WASMTIME_EXTERN_FUNC, &x) || !func_fits(inst->run.ctx, &x.of.func, 1))
        return -ENOENT;
    wasmtime_val_raw_t v[1];
    v[0].i32 = arg;
    wasm_trap_t *trap = NULL;
    wasmtime_error_t *e = wt.func_call_unchecked(inst->run.ctx, &x.of.func, v, (size_t)nargs, &trap);
    if (e)
        wt.error_delete(e);
    if (trap)
        wt.trap_delete(trap);
    return e || trap ? -EFAULT : 0;
}

int instance_grow_to(struct lind_instance *inst, uint64_t bytes)
{
    uint64_t have = wt.sharedmemory_data_size(inst->mem), prev;
    if (have >= bytes)
        return 0;
    wasmtime_error_t *e = wt.sharedmemory_grow(inst->mem, (bytes - have + LIND_WASM_PAGE - 1) / LIND_WASM_PAGE, &prev);
    if (e) {
        wt.error_delete(e);
        return -ENOMEM;
    }
    return 0;
}

int instance_attach(struct lind_cage *cage, struct lind_instance *inst)
{
    int32_t heap_base;
    if (instance_global_get(inst, "__heap_base", &heap_base) < 0)
        return -ENOEXEC;
    struct lind_module *old = cage->module;
    cage->module = module_get(inst->mod);
    module_put(old);
    cage->mem = inst->mem;
    cage->base = wt.sharedmemory_data(inst->mem);
    cage->size = wt.sharedmemory_data_size(inst->mem);
    tree_account_memory(cage, cage->size);
    return memory_attach(cage, (uint32_t)heap_base);
}

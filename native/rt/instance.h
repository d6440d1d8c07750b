/* rt/instance.h: wasm instances of cage programs, made in C: one per cage thread (its own Store)
 * over the cage's shared memory, with the exports the run loop needs (struct run_ctx).
 * Calls: base/, kern/.        Called by: rt/, threei/. */
#ifndef LIND_RT_INSTANCE_H
#define LIND_RT_INSTANCE_H

#include <stddef.h>
#include <stdint.h>

#include "base/wt_api.h"

struct lind_cage;
struct lind_thread;
struct lind_module;

/* What the run loop needs to run an instance. */
struct run_ctx {
    wasmtime_context_t *ctx;
    wasmtime_func_t entry;
    int32_t nargs;
    int32_t arg;
    wasmtime_func_t stop_unwind;
    wasmtime_func_t start_rewind;
    wasmtime_global_t sp;
};

/* Whether the instance has what unwinding and rewinding its stack needs (fork, setjmp): the
 * asyncify exports and __stack_pointer. A module may lack them; using them would abort the host. */
static inline int run_ctx_can_unwind(const struct run_ctx *r)
{
    return r->stop_unwind.store_id && r->start_rewind.store_id && r->sp.store_id;
}

/* One instance of a cage thread (its own Store) over the cage's shared memory. */
struct lind_instance {
    struct lind_module *mod;
    wasmtime_store_t *store;
    wasmtime_instance_t instance;
    wasmtime_sharedmemory_t *mem; /* this instance's handle on the cage's memory */
    const char *entry;            /* the name of run.entry (a string constant) */
    struct run_ctx run;
};

/* rt/engine.c gives the engine every module is loaded into and the type of the gateway. */
void instances_init(wasm_engine_t *engine, const wasm_functype_t *syscall_type);

/* A new instance of m for thread th, over mem (a new handle is taken) or, when mem is NULL, over a
 * memory from the pool or a fresh one. entry is the outermost function (_start, or
 * __lind_thread_start with one argument). NULL with a message in err on failure. */
struct lind_instance *instance_new(struct lind_module *m, struct lind_thread *th, const wasmtime_sharedmemory_t *mem,
                                   const char *entry, int nargs, int32_t arg, char *err, size_t cap);
/* Drops the instance; its memory goes back to the pool when give_memory and it is the last user. */
void instance_free(struct lind_instance *inst, int give_memory);
int instance_export(struct lind_instance *inst, const char *name, uint8_t kind, wasmtime_extern_t *out);
int instance_global_get(struct lind_instance *inst, const char *name, int32_t *out);
int instance_global_set(struct lind_instance *inst, const char *name, int32_t value);
int instance_global_copy(struct lind_instance *to, struct lind_instance *from, const char *name);
int instance_call(struct lind_instance *inst, const char *name, int nargs, int32_t arg);
/* Grows the instance's memory to at least bytes. */
int instance_grow_to(struct lind_instance *inst, uint64_t bytes);
/* Attaches the instance's memory and program to its cage (the first instance, or after exec). */
int instance_attach(struct lind_cage *cage, struct lind_instance *inst);

#endif

/* The engine cages run on, and compiled programs loaded into it, made in C: running a cached
 * program needs no wasmtime-py (importing it costs `lind run` half of its start-up). Python still
 * compiles with wasmtime-py on a cache miss; both engines get the same settings
 * (lind_aot/vmm/engine.py: ENGINE_SETTINGS), so artifacts of one load in the other.
 * Calls:  base/ (wt_api), kern/ (module), rt/ (epoch, instance).
 * Called by: threei/ (dispatch), Python. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/wt_api.h"
#include "kern/module.h"
#include "rt/engine.h"
#include "rt/epoch.h"
#include "rt/instance.h"

typedef struct { size_t size; char *data; } byte_vec_t;
typedef struct wasm_config_t wasm_config_t;
typedef struct wasm_valtype_t wasm_valtype_t;
typedef struct wasm_importtype_t wasm_importtype_t;
typedef struct wasm_exporttype_t wasm_exporttype_t;
typedef struct wasm_externtype_t wasm_externtype_t;
typedef struct { size_t size; wasm_valtype_t **data; } valtype_vec_t;
typedef struct { size_t size; wasm_importtype_t **data; } importtype_vec_t;
typedef struct { size_t size; wasm_exporttype_t **data; } exporttype_vec_t;

#define WASM_I32 0
#define WASM_I64 1
#define WASM_EXTERN_MEMORY 3
#define WASMTIME_PROFILING_STRATEGY_JITDUMP 1
#define WASMTIME_PROFILING_STRATEGY_PERFMAP 3

static struct {
    wasm_config_t *(*config_new)(void);
    wasm_engine_t *(*engine_new_with_config)(wasm_config_t *);
    void (*opt_level)(wasm_config_t *, uint8_t);
    void (*epoch_interruption)(wasm_config_t *, bool);
    void (*memory_reservation)(wasm_config_t *, uint64_t);
    void (*memory_guard_size)(wasm_config_t *, uint64_t);
    void (*memory_reservation_for_growth)(wasm_config_t *, uint64_t);
    void (*memory_may_move)(wasm_config_t *, bool);
    void (*memory_init_cow)(wasm_config_t *, bool);
    void (*bulk_memory)(wasm_config_t *, bool);
    void (*threads)(wasm_config_t *, bool);
    void (*shared_memory)(wasm_config_t *, bool);
    void (*profiler)(wasm_config_t *, uint8_t);
    wasmtime_error_t *(*module_deserialize)(wasm_engine_t *, const uint8_t *, size_t, wasmtime_module_t **);
    void (*module_imports)(const wasmtime_module_t *, importtype_vec_t *);
    void (*module_exports)(const wasmtime_module_t *, exporttype_vec_t *);
    const byte_vec_t *(*importtype_module)(const wasm_importtype_t *);
    const byte_vec_t *(*importtype_name)(const wasm_importtype_t *);
    const wasm_externtype_t *(*importtype_type)(const wasm_importtype_t *);
    void (*importtype_vec_delete)(importtype_vec_t *);
    const byte_vec_t *(*exporttype_name)(const wasm_exporttype_t *);
    void (*exporttype_vec_delete)(exporttype_vec_t *);
    uint8_t (*externtype_kind)(const wasm_externtype_t *);
    const wasm_memorytype_t *(*externtype_as_memorytype)(const wasm_externtype_t *);
    bool (*memorytype_isshared)(const wasm_memorytype_t *);
    wasm_valtype_t *(*valtype_new)(uint8_t);
    void (*valtype_vec_new)(valtype_vec_t *, size_t, wasm_valtype_t *const *);
    wasm_functype_t *(*functype_new)(valtype_vec_t *, valtype_vec_t *);
} e;

static wasm_engine_t *the_engine;
static wasm_functype_t *the_syscall_type;

int epoch_ticker_start(wasm_engine_t *engine);

#define SETTING_NAMES 10
/* Python: makes the engine with the settings of ENGINE_SETTINGS (values in that order:
 * opt level, epoch interruption, reservation, guard, reservation for growth, may move, init cow,
 * bulk memory, threads, shared memory), the lind.syscall type, and starts the epoch ticker.
 * 0, or -1 with a message in err. */
int lind_engine_init(const uint64_t *v, int n, char *err, size_t cap)
{
    if (the_engine)
        return 0;
    if (n != SETTING_NAMES) {
        snprintf(err, cap, "engine settings: %d values, expected %d", n, SETTING_NAMES);
        return -1;
    }
    wasm_config_t *cfg = e.config_new();
    e.opt_level(cfg, (uint8_t)v[0]);
    e.epoch_interruption(cfg, v[1]);
    e.memory_reservation(cfg, v[2]);
    e.memory_guard_size(cfg, v[3]);
    e.memory_reservation_for_growth(cfg, v[4]);
    e.memory_may_move(cfg, v[5]);
    e.memory_init_cow(cfg, v[6]);
    e.bulk_memory(cfg, v[7]);
    e.threads(cfg, v[8]);
    e.shared_memory(cfg, v[9]);
    /* LIND_PROFILE=perfmap: wasmtime writes /tmp/perf-PID.map, so `perf record` names the cages'
     * functions; LIND_PROFILE=jitdump: jit-PID.dump for `perf inject --jit` (then `perf annotate`
     * shows their machine code). A runtime setting: cached artifacts load with or without it. */
    const char *prof = getenv("LIND_PROFILE");
    if (prof && strcmp(prof, "perfmap") == 0)
        e.profiler(cfg, WASMTIME_PROFILING_STRATEGY_PERFMAP);
    else if (prof && strcmp(prof, "jitdump") == 0)
        e.profiler(cfg, WASMTIME_PROFILING_STRATEGY_JITDUMP);
    the_engine = e.engine_new_with_config(cfg); /* takes the config */
    if (!the_engine) {
        snprintf(err, cap, "wasmtime refused the engine settings");
        return -1;
    }
    wasm_valtype_t *params[15];
    params[0] = e.valtype_new(WASM_I32);
    for (int i = 1; i < 15; i++)
        params[i] = e.valtype_new(WASM_I64);
    wasm_valtype_t *result = e.valtype_new(WASM_I64);
    valtype_vec_t pv, rv;
    e.valtype_vec_new(&pv, 15, params);
    e.valtype_vec_new(&rv, 1, &result);
    the_syscall_type = e.functype_new(&pv, &rv);
    instances_init(the_engine, the_syscall_type);
    return epoch_ticker_start(the_engine);
}

static int name_is(const byte_vec_t *v, const char *s)
{
    size_t n = strlen(s);
    return v->size == n && memcmp(v->data, s, n) == 0;
}

/* Python: a program from its AOT artifact (already HMAC-checked by the cache). NULL with a message
 * in err when wasmtime refuses it or it is not a lind program. */
struct lind_module *lind_module_load(const uint8_t *artifact, size_t len, char *err, size_t cap)
{
    wasmtime_module_t *m = NULL;
    wasmtime_error_t *er = e.module_deserialize(the_engine, artifact, len, &m);
    if (er) {
        struct { size_t n; char *d; } msg = {0, NULL};
        wt.error_message(er, &msg);
        snprintf(err, cap, "cannot load the compiled program: %.*s", (int)msg.n, msg.d ? msg.d : "");
        wt.byte_vec_delete(&msg);
        wt.error_delete(er);
        return NULL;
    }
    const wasm_memorytype_t *memtype = NULL;
    int others = 0, has_start = 0, has_heap_base = 0;
    importtype_vec_t imps;
    e.module_imports(m, &imps);
    for (size_t i = 0; i < imps.size; i++) {
        const wasm_externtype_t *t = e.importtype_type(imps.data[i]);
        if (name_is(e.importtype_module(imps.data[i]), "env") && name_is(e.importtype_name(imps.data[i]), "memory") &&
            e.externtype_kind(t) == WASM_EXTERN_MEMORY && e.memorytype_isshared(e.externtype_as_memorytype(t)))
            memtype = e.externtype_as_memorytype(t);
        else if (!(name_is(e.importtype_module(imps.data[i]), "lind") &&
                   (name_is(e.importtype_name(imps.data[i]), "syscall") ||
                    name_is(e.importtype_name(imps.data[i]), "syscall_unwind"))))
            others++;
    }
    exporttype_vec_t exps;
    e.module_exports(m, &exps);
    for (size_t i = 0; i < exps.size; i++) {
        has_start |= name_is(e.exporttype_name(exps.data[i]), "_start");
        has_heap_base |= name_is(e.exporttype_name(exps.data[i]), "__heap_base");
    }
    e.exporttype_vec_delete(&exps);
    struct lind_module *lm = NULL;
    if (!memtype || others || !has_start || !has_heap_base)
        snprintf(err, cap, "not a lind program (it needs a shared env.memory, lind.syscall, _start and __heap_base; "
                           "build it with `lind cc`)");
    else
        lm = lind_module_new(m, memtype);
    e.importtype_vec_delete(&imps); /* after the copy of memtype */
    wt.module_delete(m);            /* lind_module_new took its own reference */
    return lm;
}

int engine_api_load(void *h)
{
#define R(field, sym) WT_RESOLVE(h, e.field, sym)
    R(config_new, "wasm_config_new");
    R(engine_new_with_config, "wasm_engine_new_with_config");
    R(opt_level, "wasmtime_config_cranelift_opt_level_set");
    R(epoch_interruption, "wasmtime_config_epoch_interruption_set");
    R(memory_reservation, "wasmtime_config_memory_reservation_set");
    R(memory_guard_size, "wasmtime_config_memory_guard_size_set");
    R(memory_reservation_for_growth, "wasmtime_config_memory_reservation_for_growth_set");
    R(memory_may_move, "wasmtime_config_memory_may_move_set");
    R(memory_init_cow, "wasmtime_config_memory_init_cow_set");
    R(bulk_memory, "wasmtime_config_wasm_bulk_memory_set");
    R(threads, "wasmtime_config_wasm_threads_set");
    R(shared_memory, "wasmtime_config_shared_memory_set");
    R(profiler, "wasmtime_config_profiler_set");
    R(module_deserialize, "wasmtime_module_deserialize");
    R(module_imports, "wasmtime_module_imports");
    R(module_exports, "wasmtime_module_exports");
    R(importtype_module, "wasm_importtype_module");
    R(importtype_name, "wasm_importtype_name");
    R(importtype_type, "wasm_importtype_type");
    R(importtype_vec_delete, "wasm_importtype_vec_delete");
    R(exporttype_name, "wasm_exporttype_name");
    R(exporttype_vec_delete, "wasm_exporttype_vec_delete");
    R(externtype_kind, "wasm_externtype_kind");
    R(externtype_as_memorytype, "wasm_externtype_as_memorytype_const");
    R(memorytype_isshared, "wasmtime_memorytype_isshared");
    R(valtype_new, "wasm_valtype_new");
    R(valtype_vec_new, "wasm_valtype_vec_new");
    R(functype_new, "wasm_functype_new");
#undef R
    return 0;
}

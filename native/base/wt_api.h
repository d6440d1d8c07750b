/* The few wasmtime C API declarations the data plane needs, for the pinned wasmtime 50.0.1.
 * The wheel ships _libwasmtime.so without headers; these layouts are copied from that version's
 * wasmtime/{val,extern,func}.h (mirrored by wasmtime-py's _bindings.py). Resolved with dlsym.
 * Calls:  libc only.  Called by: every folder (rt/engine.c declares the engine's own part). */
#ifndef LIND_WT_API_H
#define LIND_WT_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wasmtime_caller wasmtime_caller_t;
typedef struct wasmtime_context wasmtime_context_t;
typedef struct wasm_trap_t wasm_trap_t;
typedef struct wasmtime_error wasmtime_error_t;

typedef union wasmtime_val_raw {
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
    uint8_t v128[16];
    uint32_t anyref;
    uint32_t externref;
    uint32_t exnref;
    void *funcref;
} wasmtime_val_raw_t;

typedef struct wasmtime_memory {
    struct {
        uint64_t store_id;
        uint32_t private1;
    } a;
    uint32_t private2;
} wasmtime_memory_t;

typedef struct wasmtime_func {
    uint64_t store_id;
    void *private_;
} wasmtime_func_t;

typedef struct wasmtime_table {
    struct {
        uint64_t store_id;
        uint32_t private1;
    } a;
    uint32_t private2;
} wasmtime_table_t;

typedef struct wasmtime_global {
    uint64_t store_id;
    uint32_t private1, private2, private3;
} wasmtime_global_t;

typedef struct wasmtime_sharedmemory wasmtime_sharedmemory_t;

typedef struct wasmtime_extern {
    uint8_t kind;
    union {
        wasmtime_func_t func;
        wasmtime_global_t global;
        wasmtime_memory_t memory;
        wasmtime_table_t table;
        const wasmtime_sharedmemory_t *sharedmemory;
        uint8_t pad[24];
    } of;
} wasmtime_extern_t;

#define WASMTIME_EXTERN_FUNC 0
#define WASMTIME_EXTERN_GLOBAL 1
#define WASMTIME_EXTERN_TABLE 2
#define WASMTIME_EXTERN_MEMORY 3
#define WASMTIME_EXTERN_SHAREDMEMORY 4

typedef struct wasmtime_instance {
    uint64_t store_id;
    size_t private_;
} wasmtime_instance_t;

/* wasmtime_val_t: kind + a 24-byte union (anyref is the largest member) */
typedef struct wasmtime_val {
    uint8_t kind;
    union {
        int32_t i32;
        int64_t i64;
        wasmtime_func_t funcref;
        uint8_t pad[24];
    } of;
} wasmtime_val_t;

#define WASMTIME_FUNCREF 5

typedef struct wasm_engine_t wasm_engine_t;
typedef struct wasmtime_store wasmtime_store_t;
typedef struct wasmtime_linker wasmtime_linker_t;
typedef struct wasmtime_module wasmtime_module_t;
typedef struct wasm_memorytype_t wasm_memorytype_t;
typedef struct wasm_functype_t wasm_functype_t;
typedef uint8_t wasmtime_update_deadline_kind_t;
#define WASMTIME_UPDATE_DEADLINE_CONTINUE 0

typedef wasm_trap_t *(*wasmtime_func_unchecked_callback_t)(void *env, wasmtime_caller_t *caller,
                                                           wasmtime_val_raw_t *args_and_results,
                                                           size_t num_args_and_results);
typedef wasmtime_error_t *(*wasmtime_epoch_callback_t)(wasmtime_context_t *, void *data, uint64_t *delta,
                                                       wasmtime_update_deadline_kind_t *kind);

struct wt_api {
    wasmtime_context_t *(*caller_context)(wasmtime_caller_t *);
    bool (*caller_export_get)(wasmtime_caller_t *, const char *, size_t, wasmtime_extern_t *);
    uint8_t *(*sharedmemory_data)(const wasmtime_sharedmemory_t *);
    size_t (*sharedmemory_data_size)(const wasmtime_sharedmemory_t *);
    wasmtime_error_t *(*sharedmemory_grow)(const wasmtime_sharedmemory_t *, uint64_t, uint64_t *);
    wasm_trap_t *(*trap_new)(const char *, size_t);
    void (*error_delete)(wasmtime_error_t *);
    wasmtime_error_t *(*error_new)(const char *);
    void (*trap_delete)(wasm_trap_t *);
    void (*trap_message)(const wasm_trap_t *, void *out_byte_vec);
    void (*byte_vec_delete)(void *byte_vec);
    void (*error_message)(const wasmtime_error_t *, void *out_byte_vec);
    bool (*table_get)(wasmtime_context_t *, const wasmtime_table_t *, uint64_t, wasmtime_val_t *);
    void (*context_set_epoch_deadline)(wasmtime_context_t *, uint64_t);
    bool (*trap_code)(const wasm_trap_t *, uint8_t *);
    void (*global_get)(wasmtime_context_t *, const void *global, wasmtime_val_t *);
    wasmtime_error_t *(*global_set)(wasmtime_context_t *, const void *global, const wasmtime_val_t *);
    wasmtime_error_t *(*func_call_unchecked)(wasmtime_context_t *, const wasmtime_func_t *, wasmtime_val_raw_t *,
                                             size_t, wasm_trap_t **);
    /* making instances (instance.c) */
    wasmtime_store_t *(*store_new)(wasm_engine_t *, void *data, void (*finalizer)(void *));
    wasmtime_context_t *(*store_context)(wasmtime_store_t *);
    void (*store_delete)(wasmtime_store_t *);
    void (*store_epoch_deadline_callback)(wasmtime_store_t *, wasmtime_epoch_callback_t, void *,
                                          void (*finalizer)(void *));
    wasmtime_linker_t *(*linker_new)(wasm_engine_t *);
    void (*linker_delete)(wasmtime_linker_t *);
    wasmtime_error_t *(*linker_define)(wasmtime_linker_t *, wasmtime_context_t *, const char *, size_t,
                                       const char *, size_t, const wasmtime_extern_t *);
    wasmtime_error_t *(*linker_define_func_unchecked)(wasmtime_linker_t *, const char *, size_t, const char *,
                                                      size_t, const wasm_functype_t *,
                                                      wasmtime_func_unchecked_callback_t, void *,
                                                      void (*finalizer)(void *));
    wasmtime_error_t *(*linker_instantiate)(const wasmtime_linker_t *, wasmtime_context_t *,
                                            const wasmtime_module_t *, wasmtime_instance_t *, wasm_trap_t **);
    bool (*instance_export_get)(wasmtime_context_t *, const wasmtime_instance_t *, const char *, size_t,
                                wasmtime_extern_t *);
    wasmtime_error_t *(*sharedmemory_new)(const wasm_engine_t *, const wasm_memorytype_t *,
                                          wasmtime_sharedmemory_t **);
    void (*sharedmemory_delete)(wasmtime_sharedmemory_t *);
    wasmtime_sharedmemory_t *(*sharedmemory_clone)(const wasmtime_sharedmemory_t *);
    wasmtime_module_t *(*module_clone)(wasmtime_module_t *);
    void (*module_delete)(wasmtime_module_t *);
    wasm_memorytype_t *(*memorytype_copy)(const wasm_memorytype_t *);
    void (*memorytype_delete)(wasm_memorytype_t *);
    uint64_t (*memorytype_minimum)(const wasm_memorytype_t *);
    bool (*memorytype_maximum)(const wasm_memorytype_t *, uint64_t *);
    wasmtime_error_t *(*memorytype_new)(uint64_t min, bool max_present, uint64_t max, bool is_64, bool shared,
                                        uint8_t page_size_log2, wasm_memorytype_t **);
    wasm_memorytype_t *(*sharedmemory_type)(const wasmtime_sharedmemory_t *);
    void (*engine_increment_epoch)(wasm_engine_t *);
    /* function types (func_fits) */
    wasm_functype_t *(*func_type)(const wasmtime_context_t *, const wasmtime_func_t *);
    const struct wt_valtype_vec *(*functype_params)(const wasm_functype_t *);
    const struct wt_valtype_vec *(*functype_results)(const wasm_functype_t *);
    uint8_t (*valtype_kind)(const void *valtype);
    void (*functype_delete)(wasm_functype_t *);
};

struct wt_valtype_vec {
    size_t size;
    void **data;
};

/* Whether calling f through func_call_unchecked with a buffer of `slots` values is safe: its
 * parameters and results are plain numbers and fit in the buffer. A hostile module's export (or a
 * function in its table) of another type would read or write host memory past the buffer. */
int func_fits(wasmtime_context_t *ctx, const wasmtime_func_t *f, size_t slots);

extern struct wt_api wt;

/* Resolve the API from the already-loaded _libwasmtime.so; 0 on success, with the library's handle
 * in *handle (rt/engine.c resolves the rest of the API it uses from it: engine_api_load). */
int wt_api_load(const char *libwasmtime_path, void **handle);
/* *slot = the symbol, or a message on stderr and -1. */
int wt_resolve(void *handle, void **slot, const char *sym);
#define WT_RESOLVE(h, ptr, sym)                           \
    do {                                                  \
        if (wt_resolve((h), (void **)&(ptr), (sym)) < 0) \
            return -1;                                    \
    } while (0)

#endif

/* base/wt_api.c: the engine binding: the wasmtime C API the data plane uses, resolved with dlsym
 * from the _libwasmtime.so wasmtime-py already loaded (its layouts: wt_api.h), and func_fits, the
 * check that a guest function may be called through func_call_unchecked.
 * Calls:  libc only.  Called by: kern/ (mm, module), rt/, threei/ (dispatch, grate). */
#include <dlfcn.h>
#include <stdio.h>

#include "base/wt_api.h"

struct wt_api wt;

int wt_resolve(void *h, void **slot, const char *sym)
{
    *slot = dlsym(h, sym);
    if (!*slot) {
        fprintf(stderr, "lind: the wasmtime library lacks %s\n", sym);
        return -1;
    }
    return 0;
}

static int numbers_that_fit(const struct wt_valtype_vec *v, size_t slots)
{
    if (v->size > slots)
        return 0;
    for (size_t i = 0; i < v->size; i++)
        if (wt.valtype_kind(v->data[i]) > 3) /* WASM_I32, I64, F32, F64 are 0..3 */
            return 0;
    return 1;
}

int func_fits(wasmtime_context_t *ctx, const wasmtime_func_t *f, size_t slots)
{
    if (!f->store_id)
        return 0;
    wasm_functype_t *t = wt.func_type(ctx, f);
    if (!t)
        return 0;
    int ok = numbers_that_fit(wt.functype_params(t), slots) && numbers_that_fit(wt.functype_results(t), slots);
    wt.functype_delete(t);
    return ok;
}

int wt_api_load(const char *path, void **handle)
{
    /* RTLD_NOLOAD: we want the copy wasmtime-py already loaded, never a second runtime. */
    void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (!h)
        h = dlopen(path, RTLD_NOW);
    if (!h) {
        fprintf(stderr, "lind: cannot load %s: %s\n", path, dlerror());
        return -1;
    }
#define RESOLVE(field, sym) WT_RESOLVE(h, wt.field, sym)
    RESOLVE(caller_context, "wasmtime_caller_context");
    RESOLVE(caller_export_get, "wasmtime_caller_export_get");
    RESOLVE(sharedmemory_data, "wasmtime_sharedmemory_data");
    RESOLVE(sharedmemory_data_size, "wasmtime_sharedmemory_data_size");
    RESOLVE(sharedmemory_grow, "wasmtime_sharedmemory_grow");
    RESOLVE(trap_new, "wasmtime_trap_new");
    RESOLVE(error_delete, "wasmtime_error_delete");
    RESOLVE(error_new, "wasmtime_error_new");
    RESOLVE(trap_delete, "wasm_trap_delete");
    RESOLVE(trap_message, "wasm_trap_message");
    RESOLVE(byte_vec_delete, "wasm_byte_vec_delete");
    RESOLVE(error_message, "wasmtime_error_message");
    RESOLVE(table_get, "wasmtime_table_get");
    RESOLVE(func_call_unchecked, "wasmtime_func_call_unchecked");
    RESOLVE(context_set_epoch_deadline, "wasmtime_context_set_epoch_deadline");
    RESOLVE(trap_code, "wasmtime_trap_code");
    RESOLVE(global_get, "wasmtime_global_get");
    RESOLVE(global_set, "wasmtime_global_set");
    RESOLVE(store_new, "wasmtime_store_new");
    RESOLVE(store_context, "wasmtime_store_context");
    RESOLVE(store_delete, "wasmtime_store_delete");
    RESOLVE(store_epoch_deadline_callback, "wasmtime_store_epoch_deadline_callback");
    RESOLVE(linker_new, "wasmtime_linker_new");
    RESOLVE(linker_delete, "wasmtime_linker_delete");
    RESOLVE(linker_define, "wasmtime_linker_define");
    RESOLVE(linker_define_func_unchecked, "wasmtime_linker_define_func_unchecked");
    RESOLVE(linker_instantiate, "wasmtime_linker_instantiate");
    RESOLVE(instance_export_get, "wasmtime_instance_export_get");
    RESOLVE(sharedmemory_new, "wasmtime_sharedmemory_new");
    RESOLVE(sharedmemory_delete, "wasmtime_sharedmemory_delete");
    RESOLVE(sharedmemory_clone, "wasmtime_sharedmemory_clone");
    RESOLVE(module_clone, "wasmtime_module_clone");
    RESOLVE(module_delete, "wasmtime_module_delete");
    RESOLVE(memorytype_copy, "wasm_memorytype_copy");
    RESOLVE(memorytype_delete, "wasm_memorytype_delete");
    RESOLVE(memorytype_minimum, "wasmtime_memorytype_minimum");
    RESOLVE(memorytype_maximum, "wasmtime_memorytype_maximum");
    RESOLVE(memorytype_new, "wasmtime_memorytype_new");
    RESOLVE(sharedmemory_type, "wasmtime_sharedmemory_type");
    RESOLVE(engine_increment_epoch, "wasmtime_engine_increment_epoch");
    RESOLVE(func_type, "wasmtime_func_type");
    RESOLVE(functype_params, "wasm_functype_params");
    RESOLVE(functype_results, "wasm_functype_results");
    RESOLVE(valtype_kind, "wasm_valtype_kind");
    RESOLVE(functype_delete, "wasm_functype_delete");
#undef RESOLVE
    *handle = h;
    return 0;
}

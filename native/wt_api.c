#include "wt_api.h"

#include <dlfcn.h>
#include <stdio.h>

struct wt_api wt;

int wt_api_load(const char *path)
{
    /* RTLD_NOLOAD: we want the copy wasmtime-py already loaded, never a second runtime. */
    void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (!h)
        h = dlopen(path, RTLD_NOW);
    if (!h) {
        fprintf(stderr, "lind: cannot load %s: %s\n", path, dlerror());
        return -1;
    }
#define RESOLVE(field, sym)                                                  \
    do {                                                                     \
        *(void **)&wt.field = dlsym(h, sym);                                 \
        if (!wt.field) {                                                     \
            fprintf(stderr, "lind: %s lacks %s\n", path, sym);               \
            return -1;                                                       \
        }                                                                    \
    } while (0)
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
#undef RESOLVE
    return 0;
}

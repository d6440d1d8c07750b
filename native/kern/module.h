/* kern/module.h: a compiled program (a clone of the wasmtime module and the type of the memory it
 * imports), reference counted: cages, their threads' instances and a pending exec hold it.
 * Calls: base/.        Called by: kern/cage, sys/ (exec), rt/ (engine, instances), Python. */
#ifndef LIND_KERN_MODULE_H
#define LIND_KERN_MODULE_H

#include "base/wt_api.h"

struct lind_module {
    wasmtime_module_t *module;
    wasm_memorytype_t *memtype;
    int refs; /* atomic */
};

struct lind_module *lind_module_new(wasmtime_module_t *module, const wasm_memorytype_t *memtype);
struct lind_module *module_get(struct lind_module *m);
void module_put(struct lind_module *m);

#endif

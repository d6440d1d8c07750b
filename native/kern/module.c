/* kern/module.c: compiled programs, reference counted (lind_module_new takes its own copies).
 * Calls: base/wt_api.        Called by: kern/cage, sys/ (exec), rt/ (engine, instances), Python. */
#include <stdlib.h>

#include "base/wt_api.h"
#include "kern/module.h"

/* A module loaded from the AOT cache (engine.c), with the type of its imported memory (both are
 * cloned: the caller keeps its own). */
struct lind_module *lind_module_new(wasmtime_module_t *module, const wasm_memorytype_t *memtype)
{
    struct lind_module *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->module = wt.module_clone(module);
    m->memtype = wt.memorytype_copy(memtype);
    m->refs = 1;
    return m;
}

struct lind_module *module_get(struct lind_module *m)
{
    if (m)
        __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
    return m;
}

void module_put(struct lind_module *m)
{
    if (m && __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        wt.module_delete(m->module);
        wt.memorytype_delete(m->memtype);
        free(m);
    }
}

void lind_module_put(struct lind_module *m) { module_put(m); }

/* Python: a new reference to a module (for the exec callback, whose result C owns). */
struct lind_module *lind_module_ref(struct lind_module *m) { return module_get(m); }

/* rt/epoch.h: the epoch ticker and each store's deadline callback (rt/epoch.c).
 * Calls: base/, kern/, rt/.        Called by: rt/engine, rt/instance. */
#ifndef LIND_RT_EPOCH_H
#define LIND_RT_EPOCH_H

#include <stdint.h>

#include "base/wt_api.h"

struct lind_tree;

int epoch_ticker_start(wasm_engine_t *engine);
void epoch_loading(struct lind_tree *t); /* `lind run`: the tree whose root is being loaded, or NULL */
wasmtime_error_t *lind_epoch_callback(wasmtime_context_t *ctx, void *data, uint64_t *delta,
                                      wasmtime_update_deadline_kind_t *kind);

#endif

/* rt/engine.h: the engine cages run on (rt/engine.c).
 * Calls: base/, kern/, rt/.        Called by: threei/dispatch (lind_init), Python. */
#ifndef LIND_RT_ENGINE_H
#define LIND_RT_ENGINE_H



/* The part of the wasmtime API the engine uses, from the library wt_api_load opened. */
int engine_api_load(void *handle);

#endif

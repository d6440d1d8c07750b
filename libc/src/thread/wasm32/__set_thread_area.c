#include "pthread_impl.h"

/* The wasm32 thread pointer is a plain global (see arch/wasm32/pthread_arch.h).
 * THREADS HOOK: per-thread instances will need their own copy. */
uintptr_t __lind_thread_pointer;

int __set_thread_area(void *p)
{
	__lind_thread_pointer = (uintptr_t)p;
	return 0;
}

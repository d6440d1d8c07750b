#include "pthread_impl.h"

/* The wasm32 thread pointer is a thread-local variable (see arch/wasm32/pthread_arch.h). */
__thread uintptr_t __lind_thread_pointer;

/* The main thread's pointer, for grate worker instances (src/lind/lind_syscall.c). */
uintptr_t __lind_main_tp;

int __set_thread_area(void *p)
{
	__lind_thread_pointer = (uintptr_t)p;
	if (!__lind_main_tp) __lind_main_tp = (uintptr_t)p;
	return 0;
}

#include "pthread_impl.h"
#include "syscall.h"

/* A detached thread unmapping its own stack.  wasm code does not run on the
 * linear-memory stack for the few calls below (they only pass scalars), so no
 * stack switch is needed. */
void __unmapself(void *base, size_t size)
{
	__syscall(SYS_munmap, base, size);
	for (;;) __syscall(SYS_exit, 0);
}

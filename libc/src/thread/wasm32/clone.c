#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <sched.h>
#include "pthread_impl.h"
#include "syscall.h"

/* Threads on wasm32. The host runs each thread in its own instance of the module, sharing the
 * cage's memory. __clone passes the host what the new instance needs, in a struct at the top of
 * the new stack: the host sets the instance's __stack_pointer below it and calls the exported
 * __lind_thread_start(struct), which sets up the thread's TLS block and thread pointer, runs the
 * thread function and ends the thread with SYS_exit. */

#include "lind_clone.h"

void __wasm_init_tls(void *);
hidden void *__lind_tls_block(struct pthread *);

__attribute__((__export_name__("__lind_thread_start")))
void __lind_thread_start(struct lind_clone *a)
{
	if (a->tls_block) /* (none: posix_spawn's child, which keeps its parent's) */
		__wasm_init_tls(a->tls_block);
	__lind_thread_pointer = (uintptr_t)a->tp;
	int r = a->fn(a->arg);
	for (;;) __syscall(SYS_exit, r);
}

int __clone(int (*func)(void *), void *stack, int flags, void *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	pid_t *ptid = va_arg(ap, pid_t *);
	void *tls = va_arg(ap, void *);
	pid_t *ctid = va_arg(ap, pid_t *);
	va_end(ap);

	if (!(flags & CLONE_VM) || !(flags & CLONE_THREAD))
		return -ENOSYS; /* processes are made with SYS_fork (see posix_spawn.c) */
	uintptr_t top = (uintptr_t)stack & -16;
	struct lind_clone *a = (struct lind_clone *)(top - sizeof(struct lind_clone));
	a->fn = func;
	a->arg = arg;
	a->tp = tls;
	a->tls_block = __lind_tls_block((struct pthread *)tls);
	a->parent_tls_base = 0;
	top = (uintptr_t)a & -16;
	return __syscall(SYS_clone, flags, top, ptid, ctid, tls, a);
}

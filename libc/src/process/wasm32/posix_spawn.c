/* posix_spawn (and so system(), popen(), posix_spawnp) on wasm32.
 *
 * musl runs the spawn child with clone(CLONE_VM|CLONE_VFORK) on a small stack. The host makes that
 * child a new cage with a copy of the memory and fds, as a fork would, but starts its one thread in
 * __lind_thread_start on that stack (native/runner.c: spawn_start) instead of unwinding and
 * rewinding the caller's stack: spawning needs no Asyncify instrumentation of its callers. The rest
 * is musl's code unchanged: the child applies the file actions and attributes, execs, and reports
 * a failure through the O_CLOEXEC pipe, which the parent reads. */
#define __clone __lind_spawn_clone
#include "../posix_spawn.c"
#undef __clone

#include "lind_clone.h"

struct spawn_child {
	int (*fn)(void *);
	void *arg;
};

static int spawn_child_start(void *p)
{
	struct spawn_child *s = p;
	__pthread_self()->tid = __syscall(SYS_gettid);
	return s->fn(s->arg);
}

int __lind_spawn_clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	uintptr_t top = (uintptr_t)stack & -16;
	struct spawn_child *s = (struct spawn_child *)(top - sizeof *s);
	struct lind_clone *a = (struct lind_clone *)((uintptr_t)s - sizeof *a);
	s->fn = fn;
	s->arg = arg;
	a->fn = spawn_child_start;
	a->arg = s;
	a->tls_block = 0; /* the child keeps the caller's TLS block: */
	a->parent_tls_base = __builtin_wasm_tls_base();
	a->tp = __pthread_self();
	return __syscall(SYS_clone, flags, (uintptr_t)a & -16, 0, 0, 0, a);
}

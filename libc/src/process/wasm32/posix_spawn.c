/* posix_spawn (and so system(), popen(), posix_spawnp) on wasm32.
 *
 * musl runs the spawn child with clone(CLONE_VM|CLONE_VFORK) on a small
 * stack; wasm cages cannot clone, so the child is a fork (the host
 * implements fork with asyncify).  The rest is musl's code unchanged: the
 * child applies the file actions and attributes, execs, and reports a
 * failure through the O_CLOEXEC pipe, which the parent reads. */
#define __clone __lind_spawn_clone
#include "../posix_spawn.c"
#undef __clone

int __lind_spawn_clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	long pid = __syscall(SYS_fork);
	if (pid == 0) {
		__pthread_self()->tid = __syscall(SYS_gettid);
		_exit(fn(arg));
	}
	return pid;
}

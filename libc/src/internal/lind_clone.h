#ifndef LIND_CLONE_H
#define LIND_CLONE_H

/* What the host needs to start an instance in __lind_thread_start (src/thread/wasm32/clone.c): a
 * thread, or posix_spawn's child (src/process/wasm32/posix_spawn.c). It sits at the top of the new
 * stack; clone's last argument points at it. A thread gets a new TLS block (tls_block); posix_spawn's
 * child keeps its parent's: tls_block is NULL and the host sets the child's __tls_base to
 * parent_tls_base (read from here, not from whichever instance made the call). */
struct lind_clone {
	int (*fn)(void *);
	void *arg;
	void *tls_block;
	void *tp;
	void *parent_tls_base;
};

#endif

#ifndef LIND_CLONE_H
#define LIND_CLONE_H

/* What the host needs to start an instance in __lind_thread_start (src/thread/wasm32/clone.c): a
 * thread, or posix_spawn's child (src/process/wasm32/posix_spawn.c). It sits at the top of the new
 * stack; clone's last argument points at it. A NULL tls_block keeps the TLS block the host gives
 * (posix_spawn's child: its parent's). */
struct lind_clone {
	int (*fn)(void *);
	void *arg;
	void *tls_block;
	void *tp;
};

#endif

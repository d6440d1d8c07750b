/* pthread_cancel on wasm32. musl's signal handler for SIGCANCEL looks at the interrupted program
 * counter to tell whether the thread is blocked in a cancellation point, and if so makes the call
 * return into __cancel(); a wasm program has no such counter (and the host passes no ucontext).
 * Here __syscall_cp_asm (syscall_cp.c) marks the thread as inside a cancellation point for the
 * length of the call, and the handler, which the host runs while that call is interrupted (or as it
 * returns), acts on the request: with cancellation enabled, the thread exits right there through
 * pthread_exit(PTHREAD_CANCELED), running its cleanup handlers; masked (musl's own waits, such as
 * pthread_cond_wait's), the interrupted call returns -ECANCELED, as musl's __cp_cancel makes it.
 * Outside a cancellation point the handler does nothing: the request stays in self->cancel for the
 * next cancellation point or pthread_testcancel. (A cancellation point whose call completed just
 * as the request came may act on it: POSIX leaves that unspecified.) */
#define _GNU_SOURCE
#include <string.h>
#include "pthread_impl.h"
#include "syscall.h"

hidden long __cancel(), __syscall_cp_asm(), __syscall_cp_c();
extern hidden __thread volatile int __lind_in_cp, __lind_cp_cancelled;

long __cancel()
{
	pthread_t self = __pthread_self();
	if (self->canceldisable == PTHREAD_CANCEL_ENABLE || self->cancelasync)
		pthread_exit(PTHREAD_CANCELED);
	self->canceldisable = PTHREAD_CANCEL_DISABLE;
	return -ECANCELED;
}

long __syscall_cp_asm(volatile void *, syscall_arg_t,
                      syscall_arg_t, syscall_arg_t, syscall_arg_t,
                      syscall_arg_t, syscall_arg_t, syscall_arg_t);

long __syscall_cp_c(syscall_arg_t nr,
                    syscall_arg_t u, syscall_arg_t v, syscall_arg_t w,
                    syscall_arg_t x, syscall_arg_t y, syscall_arg_t z)
{
	pthread_t self;
	long r;
	int st;

	if ((st=(self=__pthread_self())->canceldisable)
	    && (st==PTHREAD_CANCEL_DISABLE || nr==SYS_close))
		return __LIND_SC_PLAIN(nr, u, v, w, x, y, z);

	r = __syscall_cp_asm(&self->cancel, nr, u, v, w, x, y, z);
	if (r==-EINTR && nr!=SYS_close && self->cancel &&
	    self->canceldisable != PTHREAD_CANCEL_DISABLE)
		r = __cancel();
	return r;
}

static void cancel_handler(int sig, siginfo_t *si, void *ctx)
{
	pthread_t self = __pthread_self();
	(void)sig, (void)si, (void)ctx;
	a_barrier();
	if (!self->cancel || self->canceldisable == PTHREAD_CANCEL_DISABLE)
		return;
	if (self->cancelasync || (__lind_in_cp && self->canceldisable == PTHREAD_CANCEL_ENABLE))
		__cancel(); /* does not return */
	if (__lind_in_cp)
		__lind_cp_cancelled = 1; /* masked: syscall_cp.c returns __cancel()'s -ECANCELED */
}

void __testcancel()
{
	pthread_t self = __pthread_self();
	if (self->cancel && !self->canceldisable)
		__cancel();
}

static void init_cancellation()
{
	struct sigaction sa = {
		.sa_flags = SA_SIGINFO | SA_RESTART,
		.sa_sigaction = cancel_handler
	};
	memset(&sa.sa_mask, -1, _NSIG/8);
	__libc_sigaction(SIGCANCEL, &sa, 0);
}

int pthread_cancel(pthread_t t)
{
	static int init;
	if (!init) {
		init_cancellation();
		init = 1;
	}
	a_store(&t->cancel, 1);
	if (t == pthread_self()) {
		if (t->canceldisable == PTHREAD_CANCEL_ENABLE && t->cancelasync)
			pthread_exit(PTHREAD_CANCELED);
		return 0;
	}
	return pthread_kill(t, SIGCANCEL);
}

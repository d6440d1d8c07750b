#include "pthread_impl.h"
#include "syscall.h"

/* C version of the cancellation-point syscall (asm on other archs). There is no program counter a
 * signal handler could inspect, so __cp_begin/__cp_end/__cp_cancel are empty markers; instead
 * __lind_in_cp tells pthread_cancel.c's SIGCANCEL handler that the thread is inside the call (the
 * host runs handlers while the call is interrupted, or as it returns), and __lind_cp_cancelled
 * that the handler wants the call to end in __cancel(), as musl's __cp_cancel does. */

hidden long __cancel();

hidden const char __cp_begin[1], __cp_end[1], __cp_cancel[1];

hidden __thread volatile int __lind_in_cp, __lind_cp_cancelled;

hidden long __syscall_cp_asm(volatile int *cancel, syscall_arg_t nr,
	syscall_arg_t u, syscall_arg_t v, syscall_arg_t w,
	syscall_arg_t x, syscall_arg_t y, syscall_arg_t z)
{
	int outer = __lind_in_cp; /* (a handler that interrupted a cancellation point may make calls) */
	__lind_in_cp = 1;
	if (*cancel) {
		__lind_in_cp = outer;
		return __cancel();
	}
	/* cancellation points never fork or setjmp: the plain gateway */
	long r = __LIND_SC_PLAIN(nr, u, v, w, x, y, z);
	__lind_in_cp = outer;
	if (__lind_cp_cancelled) {
		__lind_cp_cancelled = 0;
		return __cancel();
	}
	return r;
}

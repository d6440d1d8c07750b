#include "pthread_impl.h"
#include "syscall.h"

/* C version of the cancellation-point syscall (asm on other archs).
 * There is no program counter a signal handler could inspect, so
 * __cp_begin/__cp_end/__cp_cancel are empty markers and only deferred
 * cancellation (checked before the call) works. */

hidden long __cancel();

hidden const char __cp_begin[1], __cp_end[1], __cp_cancel[1];

hidden long __syscall_cp_asm(volatile int *cancel, syscall_arg_t nr,
	syscall_arg_t u, syscall_arg_t v, syscall_arg_t w,
	syscall_arg_t x, syscall_arg_t y, syscall_arg_t z)
{
	if (*cancel) return __cancel();
	/* cancellation points never fork or setjmp: the plain gateway */
	return __LIND_SC_PLAIN(nr, u, v, w, x, y, z);
}

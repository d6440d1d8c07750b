#define _BSD_SOURCE
#include <unistd.h>
#include "syscall.h"
#include <stdarg.h>

#undef syscall

/* syscall(2): on wasm32 variadic arguments are laid out in memory by their
 * own size, so read them as long (32 bits) and zero-extend.  64-bit
 * arguments cannot be passed through this function. */
long syscall(long n, ...)
{
	va_list ap;
	unsigned long a,b,c,d,e,f;
	va_start(ap, n);
	a=va_arg(ap, unsigned long);
	b=va_arg(ap, unsigned long);
	c=va_arg(ap, unsigned long);
	d=va_arg(ap, unsigned long);
	e=va_arg(ap, unsigned long);
	f=va_arg(ap, unsigned long);
	va_end(ap);
	if (n == SYS_clone) /* without CLONE_VM, a fork: the gateway that may unwind (docs/abi.md) */
		return __syscall_ret((long)__lind_syscall_unwind(__LIND_ARGS(n,a,b,c,d,e,f)));
	return __syscall_ret(__syscall(n,a,b,c,d,e,f));
}

#include "pthread_impl.h"
#include "syscall.h"

/* musl's, with the plain gateway in sccp: a cancellation point never forks or calls setjmp, and a
 * call number that is not a constant would otherwise reach lind.syscall_unwind too (docs/abi.md),
 * making every caller of read/write & co. a function Asyncify instruments. */

hidden long __syscall_cp_c();

static long sccp(syscall_arg_t nr,
                 syscall_arg_t u, syscall_arg_t v, syscall_arg_t w,
                 syscall_arg_t x, syscall_arg_t y, syscall_arg_t z)
{
	return __LIND_SC_PLAIN(nr, u, v, w, x, y, z);
}

weak_alias(sccp, __syscall_cp_c);

long (__syscall_cp)(syscall_arg_t nr,
                    syscall_arg_t u, syscall_arg_t v, syscall_arg_t w,
                    syscall_arg_t x, syscall_arg_t y, syscall_arg_t z)
{
	return __syscall_cp_c(nr, u, v, w, x, y, z);
}

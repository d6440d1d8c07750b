#include <unistd.h>
#include "syscall.h"

/* lseek returns a 64-bit value; __syscall() returns long (32 bits). */
off_t __lseek(int fd, off_t offset, int whence)
{
	long long r = __lind_syscall(SYS_lseek, 0, 0, (unsigned)fd, 0, offset, 0,
		(unsigned)whence, 0, 0, 0, 0, 0, 0, 0);
	return r < 0 ? __syscall_ret(r) : r;
}

weak_alias(__lseek, lseek);
weak_alias(__lseek, lseek64);

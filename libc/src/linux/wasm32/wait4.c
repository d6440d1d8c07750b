#define _GNU_SOURCE
#include <sys/wait.h>
#include <sys/resource.h>
#include "syscall.h"

/* musl 1.2.3's generic wait4 only converts the 64-bit rusage when the
 * syscall returns 0, but wait4 returns a pid; convert on success (r > 0). */
pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
	long long kru64[18];
	int r = __syscall(SYS_wait4, pid, status, options, ru ? kru64 : 0);
	if (r > 0 && ru) {
		ru->ru_utime = (struct timeval)
			{ .tv_sec = kru64[0], .tv_usec = kru64[1] };
		ru->ru_stime = (struct timeval)
			{ .tv_sec = kru64[2], .tv_usec = kru64[3] };
		char *slots = (char *)&ru->ru_maxrss;
		for (int i=0; i<14; i++)
			*(long *)(slots + i*sizeof(long)) = kru64[4+i];
	}
	return __syscall_ret(r);
}

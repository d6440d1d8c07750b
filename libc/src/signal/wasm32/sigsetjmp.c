#include <setjmp.h>
#include <signal.h>
#include "syscall.h"

/* The mask is saved here and restored when setjmp returns the second time (the host's rewind
 * runs through this frame again: see src/setjmp/wasm32/setjmp.c). */
int sigsetjmp(sigjmp_buf buf, int save)
{
	buf->__fl = save;
	if (save)
		__syscall(SYS_rt_sigprocmask, SIG_SETMASK, 0, buf->__ss, _NSIG/8);
	int r = setjmp(buf);
	if (r && buf->__fl)
		__syscall(SYS_rt_sigprocmask, SIG_SETMASK, buf->__ss, 0, _NSIG/8);
	return r;
}

weak_alias(sigsetjmp, __sigsetjmp);

#include <setjmp.h>
#include "syscall.h"

/* setjmp/longjmp with Asyncify (wasm has no other way to return twice). setjmp asks the host,
 * which unwinds the wasm stack into a buffer, keeps a copy of it for this jmp_buf and rewinds: the
 * call returns 0. longjmp asks the host to unwind the current stack and rewind the saved one: the
 * setjmp call returns again, with val. Limits: a jmp_buf is valid while the frame that called
 * setjmp is live (as in C); the host keeps the last 256 distinct jmp_bufs of each thread. */

#define LIND_SETJMP 1020

int setjmp(jmp_buf env)
{
	return (int)__syscall(LIND_SETJMP, env);
}

weak_alias(setjmp, _setjmp);
weak_alias(setjmp, __setjmp);

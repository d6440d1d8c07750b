/* sys/sys_setjmp.c: the lind calls setjmp and longjmp (docs/abi.md): they start an Asyncify unwind
 * of the calling thread's stack, and the run loop (rt/runloop.c) saves or puts back the unwound
 * stack (kern/jmpbuf.c) and rewinds.
 * Calls: base/, kern/, rt/ through kern/hooks.h.        Called by: sys/syscall_table.c. */
#include <errno.h>

#include "kern/call.h"
#include "kern/jmpbuf.h"
#include "kern/thread.h"
#include "kern/upcalls.h"
#include "sys/syscalls.h"

int64_t sys_setjmp(struct lind_call *c)
{
    struct lind_thread *th = c->th;
    if (th->in_handler || c->acting || !c->caller || !c->can_unwind)
        return 0; /* no unwinding through a host frame or uninstrumented code: this jmp_buf cannot be jumped to */
    th->jmp_env = arg_u32(c, 0);
    return upcalls.start_unwind(c, PENDING_SETJMP);
}

int64_t sys_longjmp(struct lind_call *c)
{
    struct lind_thread *th = c->th;
    uint32_t env = arg_u32(c, 0);
    int val = arg_int(c, 1);
    if (c->acting || !jmp_records_find(th, env))
        return -EINVAL; /* the libc traps: a jump to a jmp_buf setjmp never filled */
    th->jmp_env = env;
    th->jmp_val = val ? val : 1;
    if (th->in_handler)
        th->deferred_longjmp = 1; /* the dispatcher ends the handler with a trap */
    else if (!c->can_unwind || !c->caller || upcalls.start_unwind(c, PENDING_LONGJMP) < 0)
        th->abandon_for_longjmp = 1; /* the dispatcher ends the wasm stack with a trap */
    return 0;
}

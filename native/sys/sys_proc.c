/* sys/sys_proc.c: the calls on processes: the wait family, process groups and sessions, nice
 * values. The process table itself is kern/proc.c.
 * Calls: base/, kern/.        Called by: sys/syscall_table.c. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "kern/cage.h"
#include "kern/call.h"
#include "kern/mm.h"
#include "kern/proc.h"
#include "sys/syscalls.h"

int64_t sys_wait4(struct lind_call *c)
{
    int pid = arg_int(c, 0), options = arg_int(c, 2), efault, st = 0;
    int *gstatus = guest_ptr_or_null(c, c->a[1], 4, &efault);
    if (efault)
        return -EFAULT;
    if (options & ~(L_WNOHANG | L_WUNTRACED | L_WCONTINUED | 0x40000000 | 0x80000000 | 0x20000000))
        return -EINVAL;
    if (pid == INT32_MIN)
        return -ESRCH;
    void *ru = guest_ptr_or_null(c, c->a[3], 144, &efault);
    if (efault)
        return -EFAULT;
    struct child_usage u = {0, 0};
    int r = proc_wait(c, pid, options, &st, 0, &u);
    if (r > 0 && gstatus)
        *gstatus = st;
    if (r >= 0 && ru) {
        int64_t *k = ru; /* struct rusage of the x86-64 kernel: 18 x int64 */
        memset(ru, 0, 144);
        k[0] = (int64_t)(u.cpu_ns / 1000000000);
        k[1] = (int64_t)(u.cpu_ns % 1000000000) / 1000;
        k[4] = (int64_t)u.maxrss_kb;
    }
    return r;
}

/* waitid(idtype, id, siginfo_t *, options, rusage *) */
int64_t sys_waitid(struct lind_call *c)
{
    int idtype = arg_int(c, 0), id = arg_int(c, 1), options = arg_int(c, 3), efault, st = 0;
    uint8_t *si = guest_ptr_or_null(c, c->a[2], 128, &efault);
    if (efault)
        return -EFAULT;
    int pid;
    if (idtype == 0) /* P_ALL */
        pid = -1;
    else if (idtype == 1) /* P_PID */
        pid = id > 0 ? id : INT32_MIN;
    else if (idtype == 2) /* P_PGID */
        pid = id > 0 ? -id : 0;
    else
        return -EINVAL;
    if (!(options & (L_WEXITED | L_WSTOPPED | L_WCONTINUED)))
        return -EINVAL;
    if (pid == INT32_MIN)
        return -EINVAL;
    int r = proc_wait(c, pid, options, &st, !!(options & L_WNOWAIT), NULL);
    if (r < 0)
        return r;
    if (si) {
        memset(si, 0, 128);
        if (r > 0) {
            int32_t f[6] = {17 /* SIGCHLD */, 0, 0, r, (int32_t)c->cage->uid, 0};
            int exited = (st & 0x7f) == 0;
            f[2] = exited ? 1 /* CLD_EXITED */ : ((st & 0x80) ? 3 /* CLD_DUMPED */ : 2 /* CLD_KILLED */);
            f[5] = exited ? (st >> 8) & 0xff : st & 0x7f;
            if (st == 0xffff) {
                f[2] = 6; /* CLD_CONTINUED */
                f[5] = 18;
            } else if ((st & 0xff) == 0x7f) {
                f[2] = 5; /* CLD_STOPPED */
                f[5] = (st >> 8) & 0xff;
            }
            /* the guest's (ILP32) siginfo_t: signo, errno, code, then pid at 12, uid at 16, status at 20 */
            memcpy(si, f, sizeof f);
        }
    }
    return 0;
}

int64_t sys_getpgrp(struct lind_call *c) { return c->cage->proc->pgid; }

int64_t sys_getpgid(struct lind_call *c) { return proc_getpgid(c->cage, arg_int(c, 0)); }
int64_t sys_getsid(struct lind_call *c) { return proc_getsid(c->cage, arg_int(c, 0)); }
int64_t sys_setpgid(struct lind_call *c) { return proc_setpgid(c->cage, arg_int(c, 0), arg_int(c, 1)); }
int64_t sys_setsid(struct lind_call *c) { return proc_setsid(c->cage); }

/* getpriority(which, who), setpriority(which, who, nice): kern/proc.c, proc_priority */
int64_t sys_getpriority(struct lind_call *c) { return proc_priority(c->cage, arg_int(c, 0), arg_int(c, 1), 0, 0); }

int64_t sys_setpriority(struct lind_call *c)
{
    return proc_priority(c->cage, arg_int(c, 0), arg_int(c, 1), arg_int(c, 2), 1);
}

/* kern/siginfo.c: the siginfo_t a signal carries to its receiver as it is taken (a handler's frame,
 * sigwaitinfo): its sender's, and for a POSIX timer's signal the timer's overrun.
 * Calls: base/, kern/timer.        Called by: sys/sys_signal, rt/sigdeliver. */
#include <stdatomic.h>
#include <string.h>

#include "kern/cage.h"
#include "kern/siginfo.h"
#include "kern/signal.h"
#include "kern/timer.h"

/* The siginfo_t (128 bytes, docs/abi.md) of signal sig as it is taken: its sender's (SI_USER with
 * pid 0 when it is not known). */
void siginfo_fill(struct lind_cage *cage, int sig, const struct sig_origin *o, uint8_t *si)
{
    int32_t f[6] = {sig, 0, 0, 0, 0, 0};
    if (o) { /* (no cage lock held: the timers' thread takes the two locks the other way) */
        f[2] = o->code;
        if (o->code == L_SI_TIMER) {
            f[3] = o->timerid;
            f[4] = timer_take_overrun(cage, o->timerid);
            f[5] = (int32_t)o->value;
        } else {
            f[3] = o->pid;
            f[4] = (int32_t)o->uid;
            f[5] = o->code > 0 ? o->status : (int32_t)o->value; /* CLD_*: si_status; else si_value */
        }
    }
    memset(si, 0, 128);
    memcpy(si, f, sizeof f);
}

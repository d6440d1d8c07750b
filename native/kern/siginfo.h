/* kern/siginfo.h: the siginfo_t a signal carries to its receiver as it is taken.
 * Calls: base/, kern/.        Called by: sys/sys_signal, rt/sigdeliver. */
#ifndef LIND_KERN_SIGINFO_H
#define LIND_KERN_SIGINFO_H

#include <stdint.h>

struct lind_cage;

/* The siginfo_t (128 bytes, docs/abi.md) of signal sig as it is taken: its sender's (SI_USER with
 * pid 0 when it is not known). */
void siginfo_fill(struct lind_cage *cage, int sig, const struct sig_origin *o, uint8_t *si); /* o NULL: unknown */

#endif

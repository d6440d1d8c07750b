/* kern/timer.h: a cage's timers: ITIMER_REAL and POSIX timers, one timer thread for all cages.
 * Calls: base/, kern/.        Called by: kern/cage, kern/siginfo, sys/sys_timer. */
#ifndef LIND_KERN_TIMER_H
#define LIND_KERN_TIMER_H

#include <stdint.h>

struct lind_cage;

void timer_cancel(struct lind_cage *cage);  /* the cage ends: all its timers go */
void timers_exec(struct lind_cage *cage);   /* exec deletes the cage's POSIX timers */
int timer_take_overrun(struct lind_cage *cage, int id); /* as its signal is taken: for the siginfo */
int timer_real_set(struct lind_cage *cage, int64_t value, int64_t interval, int64_t *old_value, int64_t *old_interval);
void timer_real_get(struct lind_cage *cage, int64_t *value, int64_t *interval);
int timer_posix_create(struct lind_cage *cage, int clock, int signo, int tid, uint32_t value, int has_value);
int timer_posix_settime(struct lind_cage *cage, int64_t id, int flags, int64_t value, int64_t interval,
                        int64_t *oval, int64_t *oint);
int timer_posix_gettime(struct lind_cage *cage, int64_t id, int64_t *value, int64_t *interval);
int timer_posix_getoverrun(struct lind_cage *cage, int64_t id);
int timer_posix_delete(struct lind_cage *cage, int64_t id);

#endif

/* kern/pids.h: the pid and tid space: free numbers drawn at random, each unique while in use.
 * Calls: base/.        Called by: kern/ (proc, thread), sys/ (sys_thread, sys_lifecycle), threei/. */
#ifndef LIND_KERN_PIDS_H
#define LIND_KERN_PIDS_H

int pid_take(void);          /* a free pid or tid, now in use; -EAGAIN when none is free */
void pid_release(int pid);   /* no longer in use (its process entry or thread is freed) */

#endif

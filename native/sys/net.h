/* sys/net.h: what sys/sys_poll.c needs of sys/sys_net.c.
 * Calls:  nothing.  Called by: sys/sys_poll. */
#ifndef LIND_SYS_NET_H
#define LIND_SYS_NET_H



struct lind_call;

/* A host fd for cage fd `fd` that stays open until the call returns: borrowed with fd_host, or,
 * when the call's borrow slots are used up (a cage with threads), a dup made under the cage lock
 * (*dup set to 1: the caller closes it). -EBADF if fd is not open. */
int net_hold_fd(struct lind_call *c, int fd, int *dup);

#endif

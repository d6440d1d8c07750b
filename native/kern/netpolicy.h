/* kern/netpolicy.h: the network policy: which IP addresses a cage may bind, connect and send to.
 * Calls: base/, kern/.        Called by: kern/cage, sys/sys_net, rt/runner. */
#ifndef LIND_KERN_NETPOLICY_H
#define LIND_KERN_NETPOLICY_H

#include <sys/socket.h>

struct lind_cage;

/* Network policy modes. */
#define LIND_NET_NONE 0     /* AF_INET/AF_INET6 sockets exist but may not bind/connect/send */
#define LIND_NET_LOOPBACK 1 /* 127.0.0.0/8 and ::1 only; binds to the wildcard become loopback */
#define LIND_NET_HOST 2     /* anything the host process may do */

/* netpolicy.c. The policy lives in a table keyed by the cage (not in struct lind_cage); a cage
 * without an entry has the process-wide default (LIND_NET_LOOPBACK unless changed). */
void lind_set_net_policy_default(int mode);
void lind_set_net_policy(struct lind_cage *cage, int mode); /* -1: back to the default */
int lind_get_net_policy(struct lind_cage *cage);
void net_policy_fork(struct lind_cage *parent, struct lind_cage *child); /* child inherits */
void net_policy_release(struct lind_cage *cage);                        /* cage is being freed */

enum net_op { NET_BIND, NET_CONNECT, NET_SENDTO, NET_LISTEN };
/* Checks an AF_INET/AF_INET6/AF_UNSPEC address for op; may rewrite it (a wildcard bind becomes
 * loopback under LIND_NET_LOOPBACK). 0 or -EACCES (logged when LIND_DEBUG_NET is set). */
int net_policy_check(struct lind_cage *cage, enum net_op op, struct sockaddr *sa, socklen_t len);
void net_policy_log(struct lind_cage *cage, const char *what);

#endif

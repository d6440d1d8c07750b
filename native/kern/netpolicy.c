/* The network policy: which IP addresses a cage may bind, connect and send to.
 *
 *   none (0)     AF_INET/AF_INET6 sockets can be created, but bind/connect/sendto/listen on them fail
 *                with EACCES. AF_UNIX is always allowed.
 *   loopback (1) the default: 127.0.0.0/8 and ::1 (and their v4-mapped forms) only. A bind to the
 *                wildcard address (0.0.0.0, ::) is rewritten to the loopback address, so a cage never
 *                listens on external interfaces (getsockname then shows 127.0.0.1 / ::1).
 *   host (2)     no restriction beyond the host process's own.
 *
 * The mode of each cage is kept here, in a small table keyed by the cage pointer (and its id, so a
 * stale entry of a freed cage is never matched by a new cage at the same address).
 * Calls:  kern/ (cage).  Called by: kern/ (cage), sys/ (sys_net), rt/ (runner), Python. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern/cage.h"
#include "kern/netpolicy.h"

struct policy_entry {
    struct lind_cage *cage;
    uint64_t id;
    int mode;
};

static pthread_mutex_t policy_lock = PTHREAD_MUTEX_INITIALIZER;
static struct policy_entry *entries;
static size_t nentries, centries;
static int default_mode = LIND_NET_LOOPBACK;

static int valid_mode(int mode) { return mode >= LIND_NET_NONE && mode <= LIND_NET_HOST; }

void lind_set_net_policy_default(int mode)
{
    if (valid_mode(mode))
        __atomic_store_n(&default_mode, mode, __ATOMIC_RELAXED);
}

static struct policy_entry *find(struct lind_cage *cage)
{
    for (size_t i = 0; i < nentries; i++)
        if (entries[i].cage == cage && entries[i].id == cage->id)
            return &entries[i];
    return NULL;
}

static void remove_locked(struct lind_cage *cage)
{
    struct policy_entry *e = find(cage);
    if (e)
        *e = entries[--nentries];
}

static void set_locked(struct lind_cage *cage, int mode)
{
    struct policy_entry *e = find(cage);
    if (e) {
        e->mode = mode;
        return;
    }
    if (nentries == centries) {
        size_t n = centries ? centries * 2 : 16;
        struct policy_entry *v = realloc(entries, n * sizeof *v);
        if (!v)
            return; /* out of memory: the cage keeps the default */
        entries = v;
        centries = n;
    }
    entries[nentries].cage = cage;
    entries[nentries].id = cage->id;
    entries[nentries].mode = mode;
    nentries++;
}

void lind_set_net_policy(struct lind_cage *cage, int mode)
{
    pthread_mutex_lock(&policy_lock);
    if (valid_mode(mode))
        set_locked(cage, mode);
    else
        remove_locked(cage);
    pthread_mutex_unlock(&policy_lock);
}

int lind_get_net_policy(struct lind_cage *cage)
{
    int mode;
    pthread_mutex_lock(&policy_lock);
    struct policy_entry *e = nentries ? find(cage) : NULL;
    mode = e ? e->mode : __atomic_load_n(&default_mode, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&policy_lock);
    return mode;
}

void net_policy_fork(struct lind_cage *parent, struct lind_cage *child)
{
    pthread_mutex_lock(&policy_lock);
    struct policy_entry *e = find(parent);
    if (e)
        set_locked(child, e->mode);
    else
        remove_locked(child);
    pthread_mutex_unlock(&policy_lock);
}

void net_policy_release(struct lind_cage *cage)
{
    pthread_mutex_lock(&policy_lock);
    remove_locked(cage);
    pthread_mutex_unlock(&policy_lock);
}

static const char *mode_name(int mode)
{
    return mode == LIND_NET_NONE ? "none" : mode == LIND_NET_LOOPBACK ? "loopback" : "host";
}

void net_policy_log(struct lind_cage *cage, const char *what)
{
    static int debug = -1;
    if (debug < 0)
        debug = getenv("LIND_DEBUG_NET") != NULL;
    if (debug)
        fprintf(stderr, "lind: net policy %s: cage %llu: denied %s\n", mode_name(lind_get_net_policy(cage)),
                (unsigned long long)cage->id, what);
}

static int v4_loopback(const struct in_addr *a) { return (ntohl(a->s_addr) >> 24) == 127; }

static const char *op_name(enum net_op op)
{
    switch (op) {
    case NET_BIND: return "bind";
    case NET_CONNECT: return "connect";
    case NET_SENDTO: return "sendto";
    default: return "listen";
    }
}

static int deny(struct lind_cage *cage, enum net_op op, const struct sockaddr *sa, socklen_t len)
{
    char addr[INET6_ADDRSTRLEN] = "?", what[128];
    int port = 0;
    if (sa && sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const void *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof addr);
        port = ntohs(s6->sin6_port);
    } else if (sa && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const void *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof addr);
        port = ntohs(s4->sin_port);
    }
    snprintf(what, sizeof what, "%s to %s port %d", op_name(op), addr, port);
    net_policy_log(cage, what);
    return -EACCES;
}

int net_policy_check(struct lind_cage *cage, enum net_op op, struct sockaddr *sa, socklen_t len)
{
    int mode = lind_get_net_policy(cage);
    if (mode == LIND_NET_HOST)
        return 0;
    int fam = sa ? sa->sa_family : AF_UNSPEC;
    if (fam == AF_UNIX)
        return 0;
    if (fam == AF_UNSPEC && op == NET_CONNECT)
        return 0; /* dissolves an association; no address is used */
    if (mode == LIND_NET_NONE)
        return deny(cage, op, sa, len);
    if (fam == AF_INET6) {
        if (len < sizeof(struct sockaddr_in6))
            return -EINVAL;
        struct sockaddr_in6 *s6 = (void *)sa;
        struct in6_addr *a = &s6->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return 0;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            struct in_addr v4;
            memcpy(&v4, &a->s6_addr[12], 4);
            if (v4_loopback(&v4))
                return 0;
            if (op == NET_BIND && v4.s_addr == 0) {
                a->s6_addr[12] = 127;
                a->s6_addr[15] = 1;
                return 0;
            }
            return deny(cage, op, sa, len);
        }
        if (op == NET_BIND && IN6_IS_ADDR_UNSPECIFIED(a)) {
            *a = in6addr_loopback;
            return 0;
        }
        return deny(cage, op, sa, len);
    }
    if (fam == AF_INET || fam == AF_UNSPEC) {
        /* AF_UNSPEC: an AF_INET socket takes the address as sockaddr_in (bind, sendto) */
        if (len < sizeof(struct sockaddr_in))
            return fam == AF_UNSPEC ? deny(cage, op, sa, len) : -EINVAL;
        struct sockaddr_in *s4 = (void *)sa;
        if (v4_loopback(&s4->sin_addr))
            return 0;
        if (op == NET_BIND && s4->sin_addr.s_addr == htonl(INADDR_ANY)) {
            s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            return 0;
        }
        return deny(cage, op, sa, len);
    }
    return 0; /* other families: the socket types we create reject them */
}

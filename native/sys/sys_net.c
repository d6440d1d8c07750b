/* Sockets: socket, bind, connect, accept, send/recv and their msghdr forms, socket options.
 *
 * A cage socket is a host socket (always close-on-exec on the host) in the cage's fd table.
 * Addresses are Linux's sockaddrs; they pass the network policy (netpolicy.c) before any bind,
 * connect, listen or send with an address. AF_UNIX paths live inside the cage's root: bind resolves
 * the parent directory in the root (path_parent) and binds "/proc/self/fd/<dirfd>/<name>"; connect and
 * sendto open the socket file itself with O_PATH in the root and use "/proc/self/fd/<fd>". The
 * kernel then reports those /proc names (getsockname, getpeername, accept, recvfrom): a table of the
 * names we bound maps them back to the path the cage gave; an unknown path is reported as unnamed.
 * Abstract names (sun_path[0] == 0) get a prefix private to the cage tree (unix_abstract_in).
 *
 * The guest's struct msghdr and cmsghdr are ILP32 (docs/abi.md) and translated field by field;
 * SCM_RIGHTS carries cage fds, translated to host fds on send and installed in the receiver's fd
 * table on receive.
 * Calls:  base/ (guest_abi), kern/, sys/ (net, syscalls).
 * Called by: sys/ (sys_poll, syscall_table). */
#include <errno.h>
#include <sys/random.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/guest_abi.h"
#include "kern/cage.h"
#include "kern/call.h"
#include "kern/fdtable.h"
#include "kern/mm.h"
#include "kern/netpolicy.h"
#include "kern/path.h"
#include "kern/proc.h"
#include "kern/signal.h"
#include "sys/net.h"
#include "sys/syscalls.h"

#define L_SIGPIPE 13
#define SUN_PATH_MAX 108
#define ADDR_MAX ((socklen_t)sizeof(struct sockaddr_storage))
#define GUEST_CMSG_HDR 12u     /* u32 cmsg_len, int level, int type */
#define GUEST_CONTROL_MAX 65536u
#define OPT_MAX 512u

/* ---- AF_UNIX names: host "/proc/self/fd/N/name" <-> the sun_path the cage bound ---- */

#define UNAME_SLOTS 1024
struct uname {
    char host[SUN_PATH_MAX + 1];
    char guest[SUN_PATH_MAX + 1];
};
static struct uname unames[UNAME_SLOTS];
static unsigned unames_used, unames_next;
static pthread_mutex_t unames_lock = PTHREAD_MUTEX_INITIALIZER;

/* The guest name bound as `host`, copied into out; 0 if unknown. Caller holds the lock. */
static struct uname *uname_find(const char *host)
{
    for (unsigned i = 0; i < unames_used; i++)
        if (strcmp(unames[i].host, host) == 0)
            return &unames[i];
    return NULL;
}

/* ---- small helpers ---- */

static uint32_t rd32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void wr32(void *p, uint32_t v) { memcpy(p, &v, 4); }

static int64_t neg_errno(void) { return -(int64_t)errno; }

static int sock_host(struct lind_call *c, int fd) { return fd_host(c, fd); }

int net_hold_fd(struct lind_call *c, int fd, int *dup)
{
    struct lind_cage *cage = c->cage;
    *dup = 0;
    if (cage->nthreads <= 1 || c->nborrowed < 8)
        return fd_host(c, fd);
    int h = -EBADF;
    cage_lock(cage);
    if (fd >= 0 && fd < cage->nfds && cage->fds[fd].f) {
        h = fcntl(cage->fds[fd].f->host, F_DUPFD_CLOEXEC, 3);
        if (h < 0)
            h = -errno;
    }
    cage_unlock(cage);
    *dup = h >= 0;
    return h;
}

static int64_t send_result(struct lind_call *c, ssize_t r, int flags)
{
    if (r >= 0)
        return r;
    if (errno == EPIPE && !(flags & MSG_NOSIGNAL))
        thread_post_signal(c->th, L_SIGPIPE);
    return neg_errno();
}

/* Guest iovecs, as sys_io.c reads them; sendmsg/recvmsg say EMSGSIZE for too many. */
static int iov_from_guest(struct lind_call *c, uint32_t addr, uint32_t cnt, struct iovec *out)
{
    return cnt > LIND_IOV_MAX ? -EMSGSIZE : guest_iovec(c, addr, cnt, out);
}

/* ---- addresses in: guest sockaddr -> host sockaddr ---- */

struct addr_in {
    struct sockaddr_storage ss;
    socklen_t len;
    int tmpfd;                         /* dir or O_PATH fd behind a /proc name; -1 */
    int unix_bind;                     /* an AF_UNIX path bind: record the name afterwards */
    char guest[SUN_PATH_MAX + 1];      /* the sun_path the cage gave */
    char base[SUN_PATH_MAX + 1];       /* last component, for the umask fix-up after bind */
};

static void addr_in_done(struct addr_in *a)
{
    if (a->tmpfd >= 0)
        close(a->tmpfd);
    a->tmpfd = -1;
}

/* The cage path of a sun_path (made absolute with the cwd). */
static int unix_abs(struct lind_cage *cage, const char *p, char *abs)
{
    if (p[0] == '/') {
        strcpy(abs, p);
        return 0;
    }
    size_t cl = strcmp(cage->cwd, "/") == 0 ? 0 : strlen(cage->cwd);
    if (cl + 1 + strlen(p) >= PATH_MAX)
        return -ENAMETOOLONG;
    memcpy(abs, cage->cwd, cl);
    abs[cl] = '/';
    strcpy(abs + cl + 1, p);
    return 0;
}

/* Binds need a /proc name nobody else's bound socket already has: the kernel reports the name a
 * socket was bound with, and we map it back to the cage's sun_path. */
static int unix_bind_name(struct addr_in *a, int dirfd, const char *base)
{
    struct sockaddr_un *su = (struct sockaddr_un *)&a->ss;
    int fd = dirfd;
    for (int tries = 0; tries < 64; tries++) {
        int n = snprintf(su->sun_path, sizeof su->sun_path, "/proc/self/fd/%d/%s", fd, base);
        if (n < 0 || n >= (int)sizeof su->sun_path) {
            if (fd != dirfd)
                close(fd);
            close(dirfd);
            return -ENAMETOOLONG;
        }
        pthread_mutex_lock(&unames_lock);
        struct uname *u = uname_find(su->sun_path);
        int clash = u && strcmp(u->guest, a->guest) != 0;
        pthread_mutex_unlock(&unames_lock);
        if (!clash) {
            if (fd != dirfd)
                close(dirfd);
            a->tmpfd = fd;
            a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
            return 0;
        }
        int nfd = fcntl(dirfd, F_DUPFD_CLOEXEC, fd + 1);
        if (fd != dirfd)
            close(fd);
        if (nfd < 0) {
            int e = errno;
            close(dirfd);
            return -e;
        }
        fd = nfd;
    }
    if (fd != dirfd)
        close(fd);
    close(dirfd);
    return -EADDRINUSE;
}

/* Abstract names are the host's namespace: a cage's abstract name gets a prefix private to this
 * host process and the cage's tree, so cages of one tree meet each other there but never reach the
 * host's abstract sockets (D-Bus, X11, ...) nor another tree's. */
static char abstract_tag[24];
static pthread_once_t abstract_once = PTHREAD_ONCE_INIT;

static void abstract_init(void)
{
    unsigned char r[4] = {0};
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        r[0] = (unsigned char)getpid();
    snprintf(abstract_tag, sizeof abstract_tag, "lind.%02x%02x%02x%02x.", r[0], r[1], r[2], r[3]);
}

static size_t abstract_prefix(struct lind_cage *cage, char *out, size_t cap)
{
    pthread_once(&abstract_once, abstract_init);
    int n = snprintf(out, cap, "%s%d.", abstract_tag, cage->proc->tree_root);
    return n < 0 ? 0 : (size_t)n;
}

static int unix_abstract_in(struct lind_cage *cage, struct addr_in *a, const uint8_t *g, size_t plen)
{
    struct sockaddr_un *su = (struct sockaddr_un *)&a->ss;
    char pre[64];
    size_t np = abstract_prefix(cage, pre, sizeof pre);
    if (1 + np + (plen - 1) > sizeof su->sun_path)
        return -ENAMETOOLONG;
    memset(su->sun_path, 0, sizeof su->sun_path);
    memcpy(su->sun_path + 1, pre, np);
    memcpy(su->sun_path + 1 + np, g + 3, plen - 1);
    a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + np + (plen - 1));
    return 0;
}

static int unix_addr_in(struct lind_call *c, enum net_op op, struct addr_in *a, const uint8_t *g, socklen_t len)
{
    struct sockaddr_un *su = (struct sockaddr_un *)&a->ss;
    size_t plen = len - offsetof(struct sockaddr_un, sun_path);
    if (plen > SUN_PATH_MAX)
        return -EINVAL;
    if (plen == 0) /* autobind */
        return 0;
    if (g[2] == 0) /* an abstract name: in this tree's private part of the namespace */
        return unix_abstract_in(c->cage, a, g, plen);
    memcpy(a->guest, g + 2, plen);
    a->guest[plen] = 0;
    char abs[PATH_MAX];
    int r = unix_abs(c->cage, a->guest, abs);
    if (r < 0)
        return r;
    memset(su->sun_path, 0, sizeof su->sun_path);
    if (op == NET_BIND) {
        char base[PATH_MAX];
        int dirfd = path_parent(c->cage, abs, base);
        if (dirfd < 0)
            return dirfd;
        if (strlen(base) > SUN_PATH_MAX || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
            close(dirfd);
            return strlen(base) > SUN_PATH_MAX ? -ENAMETOOLONG : -EADDRINUSE;
        }
        strcpy(a->base, base);
        a->unix_bind = 1;
        return unix_bind_name(a, dirfd, base);
    }
    int fd = path_open(c->cage, abs, O_PATH, 0, 0);
    if (fd < 0)
        return fd;
    a->tmpfd = fd;
    int n = snprintf(su->sun_path, sizeof su->sun_path, "/proc/self/fd/%d", fd);
    a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
    return 0;
}

/* Reads a guest sockaddr for op, applies the policy and the AF_UNIX path translation. */
static int addr_from_guest(struct lind_call *c, enum net_op op, uint32_t addr, uint32_t len, struct addr_in *a)
{
    a->tmpfd = -1;
    a->unix_bind = 0;
    a->guest[0] = 0;
    if ((int32_t)len < 0 || len > ADDR_MAX)
        return -EINVAL;
    if (len < sizeof(sa_family_t))
        return -EINVAL;
    const uint8_t *g = guest_ptr(c, addr, len);
    if (!g)
        return -EFAULT;
    memset(&a->ss, 0, sizeof a->ss);
    memcpy(&a->ss, g, len);
    a->len = len;
    if (a->ss.ss_family == AF_UNIX)
        return unix_addr_in(c, op, a, g, len);
    return net_policy_check(c->cage, op, (struct sockaddr *)&a->ss, len);
}

/* After a successful AF_UNIX path bind: remember the name, apply the cage's umask. */
static void unix_bound(struct lind_call *c, struct addr_in *a)
{
    if (!a->unix_bind)
        return;
    struct sockaddr_un *su = (struct sockaddr_un *)&a->ss;
    pthread_mutex_lock(&unames_lock);
    struct uname *u = uname_find(su->sun_path);
    if (!u) {
        u = &unames[unames_next];
        unames_next = (unames_next + 1) % UNAME_SLOTS;
        if (unames_used < UNAME_SLOTS)
            unames_used++;
    }
    strcpy(u->host, su->sun_path);
    strcpy(u->guest, a->guest);
    pthread_mutex_unlock(&unames_lock);
    path_mode_fixup(a->tmpfd, a->base, 0777 & ~c->cage->umask, 1);
}

/* ---- addresses out: host sockaddr -> guest buffer ---- */

struct addr_out {
    uint8_t *buf;     /* NULL: the guest does not want the address */
    uint8_t *lenp;
    uint32_t cap;
};

static int addr_out_prepare(struct lind_call *c, uint32_t addr, uint32_t lenaddr, struct addr_out *o)
{
    o->buf = NULL;
    o->lenp = NULL;
    o->cap = 0;
    if (addr == 0)
        return 0;
    o->lenp = guest_ptr(c, lenaddr, 4);
    if (!o->lenp)
        return -EFAULT;
    o->cap = rd32(o->lenp);
    if ((int32_t)o->cap < 0)
        return -EINVAL;
    if (o->cap) {
        o->buf = guest_ptr(c, addr, o->cap);
        if (!o->buf)
            return -EFAULT;
    } else {
        o->buf = (uint8_t *)o->lenp; /* nothing is copied; only the length is written */
    }
    return 0;
}

/* Turns a kernel-reported AF_UNIX name back into the cage's view. */
static void unix_addr_out(struct lind_cage *cage, struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_un *su = (struct sockaddr_un *)ss;
    size_t off = offsetof(struct sockaddr_un, sun_path);
    if (*len > off + 1 && su->sun_path[0] == 0) { /* abstract: drop our private prefix */
        char pre[64];
        size_t np = abstract_prefix(cage, pre, sizeof pre), n = *len - off - 1;
        if (n >= np && memcmp(su->sun_path + 1, pre, np) == 0) {
            memmove(su->sun_path + 1, su->sun_path + 1 + np, n - np);
            *len -= (socklen_t)np;
        }
        return;
    }
    if (*len <= off || su->sun_path[0] == 0)
        return; /* unnamed */
    char host[SUN_PATH_MAX + 1];
    size_t n = strnlen(su->sun_path, *len - off);
    memcpy(host, su->sun_path, n);
    host[n] = 0;
    memset(su->sun_path, 0, sizeof su->sun_path);
    pthread_mutex_lock(&unames_lock);
    struct uname *u = uname_find(host);
    if (u)
        strcpy(su->sun_path, u->guest);
    pthread_mutex_unlock(&unames_lock);
    if (!u && cage->root_len && strncmp(host, cage->root_path, cage->root_len) == 0 && host[cage->root_len] == '/')
        strcpy(su->sun_path, host + cage->root_len); /* a host program bound it inside our root */
    else if (!u && !cage->root_len && host[0] == '/')
        strcpy(su->sun_path, host);
    *len = su->sun_path[0] ? (socklen_t)(off + strlen(su->sun_path) + 1) : (socklen_t)off;
}

static void addr_out_write(struct lind_cage *cage, struct addr_out *o, struct sockaddr_storage *ss, socklen_t len)
{
    if (!o->lenp)
        return;
    if (len > ADDR_MAX)
        len = ADDR_MAX;
    if (len >= sizeof(sa_family_t) && ss->ss_family == AF_UNIX)
        unix_addr_out(cage, ss, &len);
    if (o->cap)
        memcpy(o->buf, ss, o->cap < len ? o->cap : len);
    wr32(o->lenp, len);
}

/* ---- socket creation ---- */

static int check_domain_type(int domain, int type)
{
    if (domain != AF_UNIX && domain != AF_INET && domain != AF_INET6)
        return -EAFNOSUPPORT;
    if (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC | 0xf))
        return -EINVAL;
    int base = type & 0xf;
    if (base != SOCK_STREAM && base != SOCK_DGRAM && base != SOCK_SEQPACKET)
        return base == SOCK_RAW || base == SOCK_PACKET ? -EPERM : -EINVAL;
    return 0;
}

int64_t sys_socket(struct lind_call *c)
{
    int domain = arg_int(c, 0), type = arg_int(c, 1), proto = arg_int(c, 2);
    int r = check_domain_type(domain, type);
    if (r < 0)
        return r;
    int h = socket(domain, type | SOCK_CLOEXEC, proto);
    if (h < 0)
        return neg_errno();
    return fd_install(c->cage, h, !!(type & SOCK_CLOEXEC), 0);
}

int64_t sys_socketpair(struct lind_call *c)
{
    int domain = arg_int(c, 0), type = arg_int(c, 1), proto = arg_int(c, 2);
    int r = check_domain_type(domain, type);
    if (r < 0)
        return r;
    uint8_t *sv = guest_ptr(c, c->a[3], 8);
    if (!sv)
        return -EFAULT;
    int h[2];
    if (socketpair(domain, type | SOCK_CLOEXEC, proto, h) < 0)
        return neg_errno();
    int cloexec = !!(type & SOCK_CLOEXEC);
    int a = fd_install(c->cage, h[0], cloexec, 0);
    if (a < 0) {
        close(h[1]);
        return a;
    }
    int b = fd_install(c->cage, h[1], cloexec, 0);
    if (b < 0) {
        fd_close(c->cage, a);
        return b;
    }
    wr32(sv, (uint32_t)a);
    wr32(sv + 4, (uint32_t)b);
    return 0;
}

/* ---- bind, listen, connect, accept ---- */

static int sock_domain(int h)
{
    int d = 0;
    socklen_t l = sizeof d;
    return getsockopt(h, SOL_SOCKET, SO_DOMAIN, &d, &l) < 0 ? -1 : d;
}

/* Under the loopback policy an IP socket that is not bound yet is bound to the loopback address
 * before the kernel would bind it to the wildcard (listen, sendto on an unbound UDP socket). */
static int ensure_bound(struct lind_call *c, int h, enum net_op op, int v4mapped)
{
    int mode = lind_get_net_policy(c->cage);
    if (mode == LIND_NET_HOST)
        return 0;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(h, (struct sockaddr *)&ss, &len) < 0)
        return neg_errno();
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *s4 = (void *)&ss;
        if (s4->sin_port)
            return 0;
        if (mode == LIND_NET_NONE)
            return net_policy_check(c->cage, op, NULL, 0);
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (void *)&ss;
        if (s6->sin6_port)
            return 0;
        if (mode == LIND_NET_NONE)
            return net_policy_check(c->cage, op, NULL, 0);
        if (v4mapped) {
            memset(&s6->sin6_addr, 0, sizeof s6->sin6_addr);
            s6->sin6_addr.s6_addr[10] = s6->sin6_addr.s6_addr[11] = 0xff;
            s6->sin6_addr.s6_addr[12] = 127;
            s6->sin6_addr.s6_addr[15] = 1;
        } else {
            s6->sin6_addr = in6addr_loopback;
        }
    } else {
        return 0;
    }
    if (bind(h, (struct sockaddr *)&ss, len) < 0 && errno != EINVAL)
        return neg_errno();
    return 0;
}

int64_t sys_bind(struct lind_call *c)
{
    int h = sock_host(c, arg_int(c, 0));
    if (h < 0)
        return h;
    struct addr_in a;
    int r = addr_from_guest(c, NET_BIND, arg_u32(c, 1), arg_u32(c, 2), &a);
    if (r == 0) {
        r = bind(h, (struct sockaddr *)&a.ss, a.len) < 0 ? -errno : 0;
        if (r == 0)
            unix_bound(c, &a);
    }
    addr_in_done(&a);
    return r;
}

int64_t sys_listen(struct lind_call *c)
{
    int h = sock_host(c, arg_int(c, 0));
    if (h < 0)
        return h;
    int d = sock_domain(h);
    if (d == AF_INET || d == AF_INET6) {
        int r = ensure_bound(c, h, NET_LISTEN, 0);
        if (r < 0)
            return r;
    }
    return listen(h, arg_int(c, 1)) < 0 ? neg_errno() : 0;
}

int64_t sys_connect(struct lind_call *c)
{
    int h = sock_host(c, arg_int(c, 0));
    if (h < 0)
        return h;
    struct addr_in a;
    int r = addr_from_guest(c, NET_CONNECT, arg_u32(c, 1), arg_u32(c, 2), &a);
    if (r == 0)
        r = connect(h, (struct sockaddr *)&a.ss, a.len) < 0 ? -errno : 0;
    addr_in_done(&a);
    return r;
}

static int64_t do_accept(struct lind_call *c, int flags)
{
    int h = sock_host(c, arg_int(c, 0));
    if (h < 0)
        return h;
    if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
        return -EINVAL;
    struct addr_out o;
    int r = addr_out_prepare(c, arg_u32(c, 1), arg_u32(c, 2), &o);
    if (r < 0)
        return r;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int n = accept4(h, (struct sockaddr *)&ss, &len, (flags & SOCK_NONBLOCK) | SOCK_CLOEXEC);
    if (n < 0)
        return neg_errno();
    int fd = fd_install(c->cage, n, !!(flags & SOCK_CLOEXEC), 0);
    if (fd >= 0)
        addr_out_write(c->cage, &o, &ss, len);
    return fd;
}

int64_t sys_accept(struct lind_call *c) { return do_accept(c, 0); }
int64_t sys_accept4(struct lind_call *c) { return do_accept(c, arg_int(c, 3)); }

static int64_t do_getname(struct lind_call *c, int peer)
{
    int h = sock_host(c, arg_int(c, 0));
    if (h < 0)
        return h;
    struct addr_out o;
    if (arg_u32(c, 1) == 0)
        return -EFAULT;
    int r = addr_out_prepare(c, arg_u32(c, 1), arg_u32(c, 2), &o);
    if (r < 0)
        return r;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    if ((peer ? getpeername(h, (struct sockaddr *)&ss, &len) : getsockname(h, (struct sockaddr *)&ss, &len)) < 0)
        return neg_errno();
    addr_out_write(c->cage, &o, &ss, len);
    return 0;
}

int64_t sys_getsockname(struct lind_call *c) { return do_getname(c, 0); }
int64_t sys_getpeername(struct lind_call *c) { return do_getname(c, 1); }

int64_t sys_shutdown(struct lind_call *c)
{
    int h = sock_host(c, arg_int(c, 0));
    if (h < 0)
        return h;
    return shutdown(h, arg_int(c, 1)) < 0 ? neg_errno() : 0;
}

/* ---- data ---- */

/* Before a send with a destination: the policy's implicit bind (see ensure_bound). */
static int prebind_for_send(struct lind_call *c, int h, const struct addr_in *a)
{
    int fam = a->ss.ss_family;
    if (fam != AF_INET && fam != AF_INET6)
        return 0;
    int v4mapped = 0;
    if (fam == AF_INET6 && a->len >= sizeof(struct sockaddr_in6))
        v4mapped = IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
    return ensure_bound(c, h, NET_SENDTO, fam == AF_INET || v4mapped);
}

int64_t sys_sendto(struct lind_call *c)
{
    int h = sock_host(c, arg_int(c, 0));
    uint32_t n = arg_u32(c, 2);
    int flags = arg_int(c, 3);
    if (h < 0)
        return h;
    void *buf = n ? guest_ptr(c, c->a[1], n) : c->cage->base;
    if (!buf)
        return -EFAULT;
    if (arg_u32(c, 4) == 0) {
        ssize_t r = send(h, buf, n, flags | MSG_NOSIGNAL);
        return send_result(c, r, flags);
    }
    struct addr_in a;
    int r = addr_from_guest(c, NET_SENDTO, arg_u32(c, 4), arg_u32(c, 5), &a);
    if (r == 0)
        r = prebind_for_send(c, h, &a);
    int64_t ret = r;
    if (r == 0)
        ret = send_result(c, sendto(h, buf, n, flags | MSG_NOSIGNAL, (struct sockaddr *)&a.ss, a.len), flags);
    addr_in_done(&a);
    return ret;
}

int64_t sys_recvfrom(struct lind_call *c)
{
    int h = sock_host(c, arg_int(c, 0));
    uint32_t n = arg_u32(c, 2);
    int flags = arg_int(c, 3);
    if (h < 0)
        return h;
    void *buf = n ? guest_ptr(c, c->a[1], n) : c->cage->base;
    if (!buf)
        return -EFAULT;
    if (arg_u32(c, 4) == 0) {
        ssize_t r = recv(h, buf, n, flags);
        return r < 0 ? neg_errno() : r;
    }
    struct addr_out o;
    int r = addr_out_prepare(c, arg_u32(c, 4), arg_u32(c, 5), &o);
    if (r < 0)
        return r;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(&ss, 0, sizeof ss);
    ssize_t got = recvfrom(h, buf, n, flags, (struct sockaddr *)&ss, &len);
    if (got < 0)
        return neg_errno();
    addr_out_write(c->cage, &o, &ss, len);
    return got;
}

/* Guest struct msghdr (28 bytes): u32 name, u32 namelen, u32 iov, i32 iovlen, u32 control,
 * u32 controllen, i32 flags. */
#define GM_NAME 0
#define GM_NAMELEN 4
#define GM_IOV 8
#define GM_IOVLEN 12
#define GM_CONTROL 16
#define GM_CONTROLLEN 20
#define GM_FLAGS 24
#define GM_SIZE 28

static uint32_t align4(uint32_t n) { return (n + 3u) & ~3u; }

/* Guest control messages -> host ones (SCM_RIGHTS: cage fds -> host fds). *out is malloc'ed. */
struct held {
    int fds[256];
    int n;
};

static void held_close(struct held *hd)
{
    while (hd->n > 0)
        close(hd->fds[--hd->n]);
}

static int control_to_host(struct lind_call *c, const uint8_t *g, uint32_t glen, uint8_t **out, size_t *outlen,
                           struct held *hd)
{
    size_t need = 0;
    uint32_t off = 0;
    *out = NULL;
    *outlen = 0;
    while (glen - off >= GUEST_CMSG_HDR) {
        uint32_t clen = rd32(g + off);
        if (clen < GUEST_CMSG_HDR || clen > glen - off)
            return -EINVAL;
        need += CMSG_SPACE(clen - GUEST_CMSG_HDR);
        off += align4(clen);
        if (off > glen)
            break;
    }
    if (need == 0)
        return 0;
    uint8_t *h = calloc(1, need);
    if (!h)
        return -ENOMEM;
    struct msghdr m = {.msg_control = h, .msg_controllen = need};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    off = 0;
    while (glen - off >= GUEST_CMSG_HDR && cm) {
        uint32_t clen = rd32(g + off), dlen = clen - GUEST_CMSG_HDR;
        int level = (int)rd32(g + off + 4), type = (int)rd32(g + off + 8);
        const uint8_t *data = g + off + GUEST_CMSG_HDR;
        cm->cmsg_len = CMSG_LEN(dlen);
        cm->cmsg_level = level;
        cm->cmsg_type = type;
        if (level == SOL_SOCKET && type == SCM_RIGHTS) {
            if (dlen % 4) {
                free(h);
                return -EINVAL;
            }
            if (dlen / 4 > 253) { /* SCM_MAX_FD */
                free(h);
                return -EINVAL;
            }
            for (uint32_t i = 0; i < dlen / 4; i++) {
                int dup;
                int hf = net_hold_fd(c, (int)rd32(data + 4 * i), &dup);
                if (hf < 0 || (dup && hd->n == 256)) {
                    if (hf >= 0)
                        close(hf);
                    free(h);
                    return hf < 0 ? hf : -ETOOMANYREFS;
                }
                if (dup)
                    hd->fds[hd->n++] = hf;
                memcpy(CMSG_DATA(cm) + 4 * i, &hf, 4);
            }
        } else if (level == SOL_SOCKET && type == SCM_CREDENTIALS && dlen == sizeof(struct ucred)) {
            struct ucred uc;
            memcpy(&uc, data, sizeof uc);
            if ((uint64_t)uc.pid == c->cage->id)
                uc.pid = getpid(); /* the kernel checks the sender's (host) pid */
            memcpy(CMSG_DATA(cm), &uc, sizeof uc);
        } else {
            memcpy(CMSG_DATA(cm), data, dlen);
        }
        off += align4(clen);
        if (off > glen)
            break;
        cm = CMSG_NXTHDR(&m, cm);
    }
    *out = h;
    *outlen = need;
    return 0;
}

static void close_rights(struct cmsghdr *cm, size_t from)
{
    size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = from; i < n; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
        close(fd);
    }
}

/* Host control messages -> guest buffer g (cap bytes): installs received fds in the cage's table.
 * Returns the bytes used; sets *trunc when something did not fit. */
static uint32_t control_to_guest(struct lind_call *c, struct msghdr *m, uint8_t *g, uint32_t cap, int cloexec,
                                 int *trunc)
{
    uint32_t off = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm)) {
        size_t dlen = cm->cmsg_len - CMSG_LEN(0);
        int rights = cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS;
        uint32_t room = cap - off;
        if (room < GUEST_CMSG_HDR) {
            *trunc = 1;
            if (rights)
                close_rights(cm, 0);
            continue;
        }
        uint8_t *gc = g + off;
        wr32(gc + 4, (uint32_t)cm->cmsg_level);
        wr32(gc + 8, (uint32_t)cm->cmsg_type);
        uint32_t copied;
        if (rights) {
            size_t n = dlen / sizeof(int), fit = (room - GUEST_CMSG_HDR) / 4, i;
            if (fit < n)
                *trunc = 1;
            size_t done = 0;
            for (i = 0; i < n && i < fit; i++) {
                int hf;
                memcpy(&hf, CMSG_DATA(cm) + i * sizeof(int), sizeof hf);
                int vfd = fd_install(c->cage, hf, cloexec, 0); /* closes hf on failure */
                if (vfd < 0) {
                    *trunc = 1;
                    continue;
                }
                wr32(gc + GUEST_CMSG_HDR + 4 * done++, (uint32_t)vfd);
            }
            close_rights(cm, i);
            copied = (uint32_t)(4 * done);
        } else {
            copied = dlen > room - GUEST_CMSG_HDR ? room - GUEST_CMSG_HDR : (uint32_t)dlen;
            if (copied < dlen)
                *trunc = 1;
            memcpy(gc + GUEST_CMSG_HDR, CMSG_DATA(cm), copied);
        }
        wr32(gc, GUEST_CMSG_HDR + copied);
        uint32_t adv = align4(GUEST_CMSG_HDR + copied);
        off = adv > room ? cap : off + adv;
    }
    return off;
}

/* What sendmsg and recvmsg start with: the socket, the guest msghdr and its iovecs in *m.
 * Returns the host fd or -errno. */
static int msg_begin(struct lind_call *c, uint8_t **gm, struct iovec *iov, struct msghdr *m)
{
    int h = sock_host(c, arg_int(c, 0));
    if (h < 0)
        return h;
    *gm = guest_ptr(c, c->a[1], GM_SIZE);
    if (!*gm)
        return -EFAULT;
    memset(m, 0, sizeof *m);
    uint32_t iovlen = rd32(*gm + GM_IOVLEN);
    int r = iov_from_guest(c, rd32(*gm + GM_IOV), iovlen, iov);
    if (r < 0)
        return r;
    m->msg_iov = iov;
    m->msg_iovlen = iovlen;
    return h;
}

int64_t sys_sendmsg(struct lind_call *c)
{
    int flags = arg_int(c, 2), r;
    uint8_t *gm;
    struct iovec iov[LIND_IOV_MAX];
    struct msghdr m;
    int h = msg_begin(c, &gm, iov, &m);
    if (h < 0)
        return h;
    uint32_t clen = rd32(gm + GM_CONTROLLEN);
    uint8_t *hc = NULL;
    size_t hclen = 0;
    struct held hd;
    hd.n = 0;
    if (clen && rd32(gm + GM_CONTROL)) {
        if (clen > GUEST_CONTROL_MAX)
            return -ENOBUFS;
        const uint8_t *gc = guest_ptr(c, rd32(gm + GM_CONTROL), clen);
        if (!gc)
            return -EFAULT;
        r = control_to_host(c, gc, clen, &hc, &hclen, &hd);
        if (r < 0) {
            held_close(&hd);
            return r;
        }
        m.msg_control = hc;
        m.msg_controllen = hclen;
    }
    struct addr_in a;
    a.tmpfd = -1;
    if (rd32(gm + GM_NAME) && rd32(gm + GM_NAMELEN)) {
        r = addr_from_guest(c, NET_SENDTO, rd32(gm + GM_NAME), rd32(gm + GM_NAMELEN), &a);
        if (r == 0)
            r = prebind_for_send(c, h, &a);
        if (r < 0) {
            addr_in_done(&a);
            held_close(&hd);
            free(hc);
            return r;
        }
        m.msg_name = &a.ss;
        m.msg_namelen = a.len;
    }
    int64_t ret = send_result(c, sendmsg(h, &m, flags | MSG_NOSIGNAL), flags);
    addr_in_done(&a);
    held_close(&hd);
    free(hc);
    return ret;
}

int64_t sys_recvmsg(struct lind_call *c)
{
    int flags = arg_int(c, 2);
    uint8_t *gm;
    struct iovec iov[LIND_IOV_MAX];
    struct msghdr m;
    int h = msg_begin(c, &gm, iov, &m);
    if (h < 0)
        return h;
    struct addr_out o = {0};
    struct sockaddr_storage ss;
    if (rd32(gm + GM_NAME)) {
        o.cap = rd32(gm + GM_NAMELEN);
        if ((int32_t)o.cap < 0)
            return -EINVAL;
        o.lenp = gm + GM_NAMELEN;
        o.buf = o.cap ? guest_ptr(c, rd32(gm + GM_NAME), o.cap) : gm;
        if (!o.buf)
            return -EFAULT;
        memset(&ss, 0, sizeof ss);
        m.msg_name = &ss;
        m.msg_namelen = sizeof ss;
    }
    uint32_t gclen = rd32(gm + GM_CONTROLLEN);
    uint8_t *gc = NULL, *hc = NULL;
    if (gclen && rd32(gm + GM_CONTROL)) {
        if (gclen > GUEST_CONTROL_MAX)
            gclen = GUEST_CONTROL_MAX;
        gc = guest_ptr(c, rd32(gm + GM_CONTROL), gclen);
        if (!gc)
            return -EFAULT;
        /* a host header is 16 bytes, a guest one 12; fds are 4 bytes both ways */
        size_t hclen = (size_t)gclen * 2 + 64;
        hc = malloc(hclen);
        if (!hc)
            return -ENOMEM;
        m.msg_control = hc;
        m.msg_controllen = hclen;
    }
    ssize_t got = recvmsg(h, &m, flags | MSG_CMSG_CLOEXEC);
    if (got < 0) {
        free(hc);
        return neg_errno();
    }
    int trunc = 0;
    uint32_t used = 0;
    if (hc) {
        used = control_to_guest(c, &m, gc, gclen, !!(flags & MSG_CMSG_CLOEXEC), &trunc);
    } else if (m.msg_controllen) {
        trunc = 1;
    }
    free(hc);
    if (o.lenp) {
        if (m.msg_namelen)
            addr_out_write(c->cage, &o, &ss, m.msg_namelen);
        else
            wr32(o.lenp, 0);
    }
    wr32(gm + GM_CONTROLLEN, used);
    int oflags = (m.msg_flags & ~MSG_CMSG_CLOEXEC) | (flags & MSG_CMSG_CLOEXEC) | (trunc ? MSG_CTRUNC : 0);
    wr32(gm + GM_FLAGS, (uint32_t)oflags);
    return got;
}

/* ---- socket options ---- */

static int opt_allowed(struct lind_cage *cage, int level, int name, int set)
{
    switch (level) {
    case SOL_SOCKET:
        switch (name) {
        case SO_REUSEADDR: case SO_TYPE: case SO_ERROR: case SO_DONTROUTE: case SO_BROADCAST:
        case SO_SNDBUF: case SO_RCVBUF: case SO_KEEPALIVE: case SO_OOBINLINE: case SO_LINGER:
        case SO_REUSEPORT: case SO_PASSCRED: case SO_PEERCRED: case SO_RCVLOWAT: case SO_SNDLOWAT:
        case SO_RCVTIMEO: case SO_SNDTIMEO: case SO_ACCEPTCONN: case SO_PROTOCOL: case SO_DOMAIN:
        case SO_PRIORITY: case SO_TIMESTAMP: case SO_TIMESTAMPNS: case SO_RXQ_OVFL: case SO_INCOMING_CPU:
        case SO_BUSY_POLL: case SO_ZEROCOPY: case SO_PEEK_OFF:
            return 1;
        case SO_BINDTODEVICE:
            return !set || lind_get_net_policy(cage) == LIND_NET_HOST;
        default:
            return 0;
        }
    case IPPROTO_TCP:
        switch (name) {
        case TCP_NODELAY: case TCP_MAXSEG: case TCP_CORK: case TCP_KEEPIDLE: case TCP_KEEPINTVL:
        case TCP_KEEPCNT: case TCP_SYNCNT: case TCP_LINGER2: case TCP_DEFER_ACCEPT: case TCP_WINDOW_CLAMP:
        case TCP_INFO: case TCP_QUICKACK: case TCP_CONGESTION: case TCP_USER_TIMEOUT: case TCP_FASTOPEN:
        case TCP_NOTSENT_LOWAT: case TCP_FASTOPEN_CONNECT:
            return 1;
        default:
            return 0;
        }
    case IPPROTO_IP:
        switch (name) {
        case IP_TOS: case IP_TTL: case IP_PKTINFO: case IP_RECVERR: case IP_RECVTTL: case IP_RECVTOS:
        case IP_MTU_DISCOVER: case IP_MTU: case IP_MULTICAST_IF: case IP_MULTICAST_TTL:
        case IP_MULTICAST_LOOP: case IP_ADD_MEMBERSHIP: case IP_DROP_MEMBERSHIP: case IP_FREEBIND:
            return 1;
        default:
            return 0;
        }
    case IPPROTO_IPV6:
        switch (name) {
        case IPV6_V6ONLY: case IPV6_UNICAST_HOPS: case IPV6_MULTICAST_IF: case IPV6_MULTICAST_HOPS:
        case IPV6_MULTICAST_LOOP: case IPV6_ADD_MEMBERSHIP: case IPV6_DROP_MEMBERSHIP:
        case IPV6_RECVPKTINFO: case IPV6_TCLASS: case IPV6_RECVERR: case IPV6_MTU_DISCOVER: case IPV6_MTU:
            return 1;
        default:
            return 0;
        }
    default:
        return 0;
    }
}

int64_t sys_setsockopt(struct lind_call *c)
{
    int h = sock_host(c, arg_int(c, 0));
    int level = arg_int(c, 1), name = arg_int(c, 2);
    uint32_t len = arg_u32(c, 4);
    if (h < 0)
        return h;
    if (!opt_allowed(c->cage, level, name, 1))
        return -ENOPROTOOPT;
    if ((int32_t)len < 0)
        return -EINVAL;
    if (len > OPT_MAX)
        len = OPT_MAX;
    uint8_t buf[OPT_MAX];
    const void *val = NULL;
    if (len) {
        const void *g = guest_ptr(c, c->a[3], len);
        if (!g)
            return -EFAULT;
        memcpy(buf, g, len);
        val = buf;
    }
    return setsockopt(h, level, name, val, len) < 0 ? neg_errno() : 0;
}

int64_t sys_getsockopt(struct lind_call *c)
{
    int h = sock_host(c, arg_int(c, 0));
    int level = arg_int(c, 1), name = arg_int(c, 2);
    if (h < 0)
        return h;
    if (!opt_allowed(c->cage, level, name, 0))
        return -ENOPROTOOPT;
    uint8_t *lenp = guest_ptr(c, c->a[4], 4);
    if (!lenp)
        return -EFAULT;
    uint32_t cap = rd32(lenp);
    if ((int32_t)cap < 0)
        return -EINVAL;
    uint8_t *g = NULL;
    if (cap) {
        g = guest_ptr(c, c->a[3], cap);
        if (!g)
            return -EFAULT;
    }
    uint8_t buf[OPT_MAX];
    memset(buf, 0, sizeof buf);
    socklen_t hl = cap > OPT_MAX ? OPT_MAX : cap;
    if (getsockopt(h, level, name, buf, &hl) < 0)
        return neg_errno();
    if (level == SOL_SOCKET && name == SO_PEERCRED && hl >= sizeof(struct ucred)) {
        struct ucred uc;
        memcpy(&uc, buf, sizeof uc);
        uc.pid = 0; /* the peer's host pid means nothing inside a cage */
        memcpy(buf, &uc, sizeof uc);
    }
    if (hl > cap)
        hl = cap;
    if (hl)
        memcpy(g, buf, hl);
    wr32(lenp, hl);
    return 0;
}

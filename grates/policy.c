/* policy: a grate that confines the cages below it to an allow-list of paths and network
 * destinations. Calls it allows go on unchanged to the layer below; the others fail with EACCES
 * and are logged.
 *
 *   lind run --root R policy.wasm [--allow PREFIX]... [--allow-read PREFIX]...
 *            [--allow-net DEST]... [--log FILE] [--quiet] /prog.wasm [args...]
 *
 *   --allow PREFIX       PREFIX and everything under it may be read and written
 *   --allow-read PREFIX  ... may be read (open O_RDONLY, stat, access, readlink, chdir, execve)
 *   --allow-net DEST     connect/sendto/sendmsg to DEST: A.B.C.D[/BITS][:PORT], [IPV6][/BITS][:PORT]
 *                        (port omitted or 0: any), or unix:PREFIX (AF_UNIX paths)
 *   --log FILE           denials go to FILE (inside the root) instead of stderr; --quiet: nowhere
 *
 * The program itself must be readable (--allow-read the directory it is in, or its path). Paths
 * are checked lexically after making them absolute (the cage's cwd) and removing ".", ".." and
 * repeated slashes; a path relative to a directory fd (openat(dirfd, "x") with dirfd != AT_FDCWD)
 * is denied. Symbolic links are not followed by the check: creating one (symlink/link) is allowed
 * only when both the link and its target are writable-allowed, but a link that already exists
 * inside an allowed tree is followed by the layer below.
 *
 * The cages below may not remove the policy from their tables: deregistering a handler
 * (register_handler with handler cage 500) and copy_handler_table_to_cage fail with EPERM. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "grate.h"

#define MAXRULES 64
#define PATHMAX 4096

struct prefix {
    char path[PATHMAX];
    size_t len;
    int write;
};

struct netrule {
    int family; /* AF_INET, AF_INET6, AF_UNIX */
    unsigned char addr[16];
    int bits;
    int port;       /* 0: any */
    char unix_path[108];
};

static struct prefix prefixes[MAXRULES];
static int nprefixes;
static struct netrule netrules[MAXRULES];
static int nnetrules;
static int logfd = 2;

static void deny_log(uint64_t cage, const char *fmt, ...)
{
    if (logfd < 0)
        return;
    char line[PATHMAX + 256];
    int n = snprintf(line, sizeof line, "policy: denied [pid %llu] ", (unsigned long long)cage);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    (void)!write(logfd, line, (size_t)n); /* one write per line: lines do not interleave */
}

/* ---- paths ---- */

/* Removes ".", ".." and repeated or trailing slashes from an absolute path, in place. */
static void normalize(char *p)
{
    char *out = p, *in = p;
    while (*in) {
        while (*in == '/')
            in++;
        if (!*in)
            break;
        char *end = strchr(in, '/');
        size_t n = end ? (size_t)(end - in) : strlen(in);
        if (n == 1 && in[0] == '.') {
            /* nothing */
        } else if (n == 2 && in[0] == '.' && in[1] == '.') {
            while (out > p && *--out != '/')
                ;
        } else {
            *out++ = '/';
            memmove(out, in, n);
            out += n;
        }
        in += n;
    }
    if (out == p)
        *out++ = '/';
    *out = 0;
}

/* The absolute, normalized form of the path argument `addr` of `cage` (relative to its cwd, or to
 * the directory of `base` when base is given: a symlink target). 0 or -errno. */
static int resolve(uint64_t cage, uint64_t addr, char *abs, const char *base)
{
    char path[PATHMAX];
    if (addr == 0)
        return -EFAULT;
    if (copy_data_between_cages(grateid, cage, addr, cage, (uint64_t)(uintptr_t)path, grateid, sizeof path, 1) < 0)
        return errno == EINVAL ? -ENAMETOOLONG : -EFAULT;
    if (path[0] == '/') {
        strcpy(abs, path);
    } else {
        if (base) {
            strcpy(abs, base);
            char *slash = strrchr(abs, '/');
            slash[1] = 0;
        } else {
            int r = make_threei_call(79 /* getcwd */, 0, grateid, cage, (uint64_t)(uintptr_t)abs,
                                     grateid | GRATE_MEMORY_FLAG, PATHMAX, cage, 0, cage, 0, cage, 0, cage, 0, cage, 0);
            if (r < 0)
                return r;
        }
        if (strlen(abs) + 1 + strlen(path) >= PATHMAX)
            return -ENAMETOOLONG;
        strcat(abs, "/");
        strcat(abs, path);
    }
    normalize(abs);
    return 0;
}

static int path_allowed(const char *abs, int write)
{
    for (int i = 0; i < nprefixes; i++) {
        const struct prefix *p = &prefixes[i];
        if (write && !p->write)
            continue;
        if (p->len == 1 || (strncmp(abs, p->path, p->len) == 0 && (abs[p->len] == 0 || abs[p->len] == '/')))
            return 1;
    }
    return 0;
}

/* 0 if the cage may use path argument `addr` (reading, or writing if `write`), else -EACCES (or
 * -errno if the path is unreadable), logged as `call`. */
static int check_path(uint64_t cage, const char *call, uint64_t addr, int write)
{
    char abs[PATHMAX];
    int r = resolve(cage, addr, abs, NULL);
    if (r < 0)
        return r;
    if (path_allowed(abs, write))
        return 0;
    deny_log(cage, "%s(\"%s\")%s", call, abs, write ? " for writing" : "");
    return -EACCES;
}

/* An *at call's path: relative paths must be relative to the cwd. */
static int check_at(uint64_t cage, const char *call, uint64_t dirfd, uint64_t addr, int write, int empty_ok)
{
    char first;
    if (addr && copy_data_between_cages(grateid, cage, addr, cage, (uint64_t)(uintptr_t)&first, grateid, 1, 0) < 0)
        return -EFAULT;
    if (addr && first == 0 && empty_ok)
        return 0; /* AT_EMPTY_PATH: the fd itself, which was checked when it was opened */
    if (addr && first != '/' && (int)(uint32_t)dirfd != AT_FDCWD) {
        deny_log(cage, "%s(%d, relative path): paths relative to a directory fd are not allowed", call,
                 (int)(uint32_t)dirfd);
        return -EACCES;
    }
    return check_path(cage, call, addr, write);
}

static int open_writes(uint64_t flags)
{
    return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC));
}

/* Path calls: one handler each. P(nr, name, path arg index, writes) */
#define CHECKED(nr, name, cond)                                                                    \
    HANDLER(h_##name)                                                                              \
    {                                                                                              \
        (void)cageid;                                                                              \
        int r_ = (cond);                                                                           \
        return r_ < 0 ? r_ : FORWARD(nr);                                                          \
    }

CHECKED(2, open, check_path(a1c, "open", a1, open_writes(a2)))
CHECKED(85, creat, check_path(a1c, "creat", a1, 1))
CHECKED(257, openat, check_at(a1c, "openat", a1, a2, open_writes(a3), 0))
CHECKED(4, stat, check_path(a1c, "stat", a1, 0))
CHECKED(6, lstat, check_path(a1c, "lstat", a1, 0))
CHECKED(262, newfstatat, check_at(a1c, "newfstatat", a1, a2, 0, (a4 & AT_EMPTY_PATH) != 0))
CHECKED(332, statx, check_at(a1c, "statx", a1, a2, 0, (a3 & AT_EMPTY_PATH) != 0))
CHECKED(21, access, check_path(a1c, "access", a1, 0))
CHECKED(269, faccessat, check_at(a1c, "faccessat", a1, a2, 0, 0))
CHECKED(439, faccessat2, check_at(a1c, "faccessat2", a1, a2, 0, (a4 & AT_EMPTY_PATH) != 0))
CHECKED(89, readlink, check_path(a1c, "readlink", a1, 0))
CHECKED(267, readlinkat, check_at(a1c, "readlinkat", a1, a2, 0, 1))
CHECKED(80, chdir, check_path(a1c, "chdir", a1, 0))
CHECKED(59, execve, check_path(a1c, "execve", a1, 0))
CHECKED(137, statfs, check_path(a1c, "statfs", a1, 0))
CHECKED(83, mkdir, check_path(a1c, "mkdir", a1, 1))
CHECKED(258, mkdirat, check_at(a1c, "mkdirat", a1, a2, 1, 0))
CHECKED(84, rmdir, check_path(a1c, "rmdir", a1, 1))
CHECKED(87, unlink, check_path(a1c, "unlink", a1, 1))
CHECKED(263, unlinkat, check_at(a1c, "unlinkat", a1, a2, 1, 0))
CHECKED(90, chmod, check_path(a1c, "chmod", a1, 1))
CHECKED(268, fchmodat, check_at(a1c, "fchmodat", a1, a2, 1, 0))
CHECKED(92, chown, check_path(a1c, "chown", a1, 1))
CHECKED(94, lchown, check_path(a1c, "lchown", a1, 1))
CHECKED(260, fchownat, check_at(a1c, "fchownat", a1, a2, 1, (a5 & AT_EMPTY_PATH) != 0))
CHECKED(76, truncate, check_path(a1c, "truncate", a1, 1))
CHECKED(280, utimensat, a2 ? check_at(a1c, "utimensat", a1, a2, 1, 1) : 0)
CHECKED(82, rename, check_path(a1c, "rename", a1, 1) ?: check_path(a2c, "rename", a2, 1))
CHECKED(264, renameat, check_at(a1c, "renameat", a1, a2, 1, 0) ?: check_at(a3c, "renameat", a3, a4, 1, 0))
CHECKED(316, renameat2, check_at(a1c, "renameat2", a1, a2, 1, 0) ?: check_at(a3c, "renameat2", a3, a4, 1, 0))
CHECKED(86, link, check_path(a1c, "link", a1, 1) ?: check_path(a2c, "link", a2, 1))
CHECKED(265, linkat, check_at(a1c, "linkat", a1, a2, 1, 0) ?: check_at(a3c, "linkat", a3, a4, 1, 0))

/* symlink(target, linkpath): the target is resolved relative to the link's directory */
static int check_symlink(uint64_t cage, const char *call, uint64_t target, uint64_t linkpath)
{
    char link[PATHMAX], abs[PATHMAX];
    int r = resolve(cage, linkpath, link, NULL);
    if (r < 0)
        return r;
    if (!path_allowed(link, 1)) {
        deny_log(cage, "%s(\"%s\") for writing", call, link);
        return -EACCES;
    }
    r = resolve(cage, target, abs, link);
    if (r < 0)
        return r;
    if (!path_allowed(abs, 1)) {
        deny_log(cage, "%s(\"%s\" -> \"%s\"): target not allowed", call, link, abs);
        return -EACCES;
    }
    return 0;
}

CHECKED(88, symlink, check_symlink(a1c, "symlink", a1, a2))
CHECKED(266, symlinkat,
        (int)(uint32_t)a2 != AT_FDCWD ? check_at(a1c, "symlinkat", a2, a3, 1, 0) : check_symlink(a1c, "symlinkat", a1, a3))

/* ---- network ---- */

static int parse_net(const char *spec, struct netrule *r)
{
    memset(r, 0, sizeof *r);
    if (strncmp(spec, "unix:", 5) == 0) {
        r->family = AF_UNIX;
        if (strlen(spec + 5) >= sizeof r->unix_path)
            return -1;
        strcpy(r->unix_path, spec + 5);
        return 0;
    }
    char host[128];
    const char *rest;
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close || (size_t)(close - spec - 1) >= sizeof host)
            return -1;
        memcpy(host, spec + 1, (size_t)(close - spec - 1));
        host[close - spec - 1] = 0;
        rest = close + 1;
    } else {
        size_t n = strcspn(spec, ":/");
        if (strchr(spec, ':') && strchr(spec, ':') != strrchr(spec, ':'))
            n = strcspn(spec, "/"); /* bare IPv6 */
        if (n >= sizeof host)
            return -1;
        memcpy(host, spec, n);
        host[n] = 0;
        rest = spec + n;
    }
    if (inet_pton(AF_INET, host, r->addr) == 1) {
        r->family = AF_INET;
        r->bits = 32;
    } else if (inet_pton(AF_INET6, host, r->addr) == 1) {
        r->family = AF_INET6;
        r->bits = 128;
    } else {
        return -1;
    }
    if (*rest == '/') {
        char *end;
        r->bits = (int)strtol(rest + 1, &end, 10);
        if (r->bits < 0 || r->bits > (r->family == AF_INET ? 32 : 128))
            return -1;
        rest = end;
    }
    if (*rest == ':') {
        char *end;
        r->port = (int)strtol(rest + 1, &end, 10);
        if (r->port < 0 || r->port > 65535)
            return -1;
        rest = end;
    }
    return *rest ? -1 : 0;
}

static int prefix_match(const unsigned char *a, const unsigned char *b, int bits)
{
    int bytes = bits / 8, rem = bits % 8;
    if (memcmp(a, b, (size_t)bytes) != 0)
        return 0;
    return !rem || ((a[bytes] ^ b[bytes]) & (0xff << (8 - rem))) == 0;
}

/* 0 if the sockaddr at `addr` (len bytes, in `cage`) may be a destination, else -EACCES. */
static int check_dest(uint64_t cage, const char *call, uint64_t addr, uint64_t len)
{
    unsigned char sa[128];
    if (addr == 0)
        return 0; /* no destination: a connected socket's */
    if (len > sizeof sa)
        len = sizeof sa;
    if (len < 2)
        return -EINVAL;
    if (copy_data_between_cages(grateid, cage, addr, cage, (uint64_t)(uintptr_t)sa, grateid, len, 0) < 0)
        return -EFAULT;
    sa_family_t family;
    memcpy(&family, sa, sizeof family);
    char text[160];
    if (family == AF_UNSPEC)
        return 0; /* connect(AF_UNSPEC) dissolves an association */
    if (family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof in);
        for (int i = 0; i < nnetrules; i++)
            if (netrules[i].family == AF_INET && prefix_match(netrules[i].addr, (unsigned char *)&in.sin_addr, netrules[i].bits) &&
                (!netrules[i].port || netrules[i].port == ntohs(in.sin_port)))
                return 0;
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &in.sin_addr, a, sizeof a);
        snprintf(text, sizeof text, "%s:%u", a, ntohs(in.sin_port));
    } else if (family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof in6);
        for (int i = 0; i < nnetrules; i++)
            if (netrules[i].family == AF_INET6 &&
                prefix_match(netrules[i].addr, (unsigned char *)&in6.sin6_addr, netrules[i].bits) &&
                (!netrules[i].port || netrules[i].port == ntohs(in6.sin6_port)))
                return 0;
        char a[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &in6.sin6_addr, a, sizeof a);
        snprintf(text, sizeof text, "[%s]:%u", a, ntohs(in6.sin6_port));
    } else if (family == AF_UNIX) {
        char path[110] = {0};
        memcpy(path, sa + 2, len - 2 < 108 ? len - 2 : 108);
        size_t n = strlen(path);
        for (int i = 0; i < nnetrules; i++) {
            size_t pl = strlen(netrules[i].unix_path);
            if (netrules[i].family == AF_UNIX && n >= pl && strncmp(path, netrules[i].unix_path, pl) == 0 &&
                (path[pl] == 0 || path[pl] == '/' || (pl && netrules[i].unix_path[pl - 1] == '/')))
                return 0;
        }
        snprintf(text, sizeof text, "unix:%s", path[0] ? path : "(abstract)");
    } else {
        snprintf(text, sizeof text, "address family %d", family);
    }
    deny_log(cage, "%s(%s)", call, text);
    return -EACCES;
}

CHECKED(42, connect, check_dest(a1c, "connect", a2, (uint32_t)a3))
CHECKED(44, sendto, check_dest(a1c, "sendto", a5, (uint32_t)a6))

/* sendmsg: struct msghdr is the cage's ILP32 one; msg_name, msg_namelen are its first two words */
static int check_msg(uint64_t cage, uint64_t msg)
{
    uint32_t hdr[2];
    if (copy_data_between_cages(grateid, cage, msg, cage, (uint64_t)(uintptr_t)hdr, grateid, sizeof hdr, 0) < 0)
        return -EFAULT;
    return check_dest(cage, "sendmsg", hdr[0], hdr[1]);
}

CHECKED(46, sendmsg, check_msg(a1c, a2))

/* The cage must not drop its own handlers: register_handler with handler cage 500 (deregister)
 * or copy_handler_table_to_cage (e.g. from an unconfined cage) would undo the policy. Other
 * registrations (a grate below us registering its handlers) are passed on. */
HANDLER(h_register)
{
    if (a2c == 500 || a2c == grateid) {
        deny_log(a4c /* the caller: a1c carries the call number */, "register_handler(cage %llu, call %llu, %s)", (unsigned long long)a1, (unsigned long long)a1c,
                 a2c == 500 ? "deregister" : "a policy handler");
        return -EPERM;
    }
    return make_threei_call(1001, 0, grateid, a1, a1, a1c, a2, a2c, a3, a3c, a4, a4c, a5, a5c, a6, a6c, 0);
}

HANDLER(h_copy_table)
{
    deny_log(a1c, "copy_handler_table_to_cage(%llu, %llu)", (unsigned long long)a1, (unsigned long long)a2);
    return -EPERM;
}

static const struct {
    int nr;
    handler_t h;
} table[] = {
#define E(nr, name) {nr, h_##name},
    E(2, open) E(85, creat) E(257, openat) E(4, stat) E(6, lstat) E(262, newfstatat) E(332, statx)
    E(21, access) E(269, faccessat) E(439, faccessat2) E(89, readlink) E(267, readlinkat) E(80, chdir)
    E(59, execve) E(137, statfs) E(83, mkdir) E(258, mkdirat) E(84, rmdir) E(87, unlink) E(263, unlinkat)
    E(90, chmod) E(268, fchmodat) E(92, chown) E(94, lchown) E(260, fchownat) E(76, truncate)
    E(280, utimensat) E(82, rename) E(264, renameat) E(316, renameat2) E(86, link) E(265, linkat)
    E(88, symlink) E(266, symlinkat) E(42, connect) E(44, sendto) E(46, sendmsg)
#undef E
    /* last: from here on our own registrations would go through them */
    {1003, h_copy_table}, {1001, h_register},
};

static int register_all(uint64_t me)
{
    for (size_t k = 0; k < sizeof table / sizeof *table; k++)
        if (register_handler(me, (uint64_t)table[k].nr, grateid, (uint64_t)(uintptr_t)table[k].h) < 0) {
            perror("policy: register_handler");
            return -1;
        }
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: policy [--allow PREFIX]... [--allow-read PREFIX]... [--allow-net DEST]... "
                    "[--log FILE] [--quiet] PROGRAM [ARGS...]\n");
    return 2;
}

int main(int argc, char **argv)
{
    int i = 1;
    const char *log = NULL;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (strcmp(argv[i], "--quiet") == 0) {
            logfd = -1;
            continue;
        }
        if (i + 1 >= argc)
            return usage();
        const char *v = argv[++i];
        if (strcmp(argv[i - 1], "--allow") == 0 || strcmp(argv[i - 1], "--allow-read") == 0) {
            if (nprefixes == MAXRULES || v[0] != '/' || strlen(v) >= PATHMAX)
                return usage();
            struct prefix *p = &prefixes[nprefixes++];
            strcpy(p->path, v);
            normalize(p->path);
            p->len = strlen(p->path);
            p->write = strcmp(argv[i - 1], "--allow") == 0;
        } else if (strcmp(argv[i - 1], "--allow-net") == 0) {
            if (nnetrules == MAXRULES || parse_net(v, &netrules[nnetrules]) < 0) {
                fprintf(stderr, "policy: bad --allow-net %s\n", v);
                return 2;
            }
            nnetrules++;
        } else if (strcmp(argv[i - 1], "--log") == 0) {
            log = v;
        } else {
            return usage();
        }
    }
    if (i >= argc)
        return usage();
    if (log && logfd >= 0) {
        logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (logfd < 0) {
            fprintf(stderr, "policy: %s: %s\n", log, strerror(errno));
            return 1;
        }
    }
    return grate_run("policy", &argv[i], register_all);
}

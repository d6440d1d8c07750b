/* strace: a grate that logs the system calls of the cages below it, then forwards each one to
 * whatever is below (the microvisor or another grate).
 *
 *   lind run --root R strace.wasm [--out FILE] [--only CALL,CALL...] /prog.wasm [args...]
 *
 * One line per call, in the style of `strace -f`:
 *
 *   [pid 2] open("/hello.txt", 0x8000, 0) = 3
 *   [pid 2] read(3, "hello\n", 64) = 6
 *   [pid 2] stat("/nope", 0x1ffd8) = -1 ENOENT (No such file or directory)
 *
 * paths and buffers are read out of the calling cage with copy_data_between_cages (buffers are
 * shown up to 32 bytes; a read's buffer after the call), fds and sizes in decimal, flags in hex,
 * modes in octal. The log goes to the grate's stderr, or with --out to FILE (a path inside the
 * root, created or truncated). --only restricts the interposed calls to the names given. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "grate.h"

/* Argument kinds, one letter per argument:
 *   d int            u unsigned        x hex             o octal           L 64-bit signed
 *   f fd             D dirfd (AT_FDCWD) p pointer        s path (in)       b buffer (in, length next)
 *   B buffer (out, length = result)    A sockaddr (in, length next)        v argv array (in)
 *   W wait status (out)                P int[2] (out)    C string (out: getcwd)
 * Result kinds: d decimal, x hex (addresses), n: the call does not return (exit_group). */
struct call {
    int nr;
    const char *name;
    const char *args;
    char ret;
};

#define CALLS(X)                                                                                   \
    X(0, read, "fBu", 'd')                                                                         \
    X(1, write, "fbu", 'd')                                                                        \
    X(2, open, "sxo", 'd')                                                                         \
    X(3, close, "f", 'd')                                                                          \
    X(4, stat, "sp", 'd')                                                                          \
    X(5, fstat, "fp", 'd')                                                                         \
    X(6, lstat, "sp", 'd')                                                                         \
    X(7, poll, "pud", 'd')                                                                         \
    X(8, lseek, "fLd", 'd')                                                                        \
    X(9, mmap, "puxxfL", 'x')                                                                      \
    X(10, mprotect, "pux", 'd')                                                                    \
    X(11, munmap, "pu", 'd')                                                                       \
    X(12, brk, "p", 'x')                                                                           \
    X(16, ioctl, "fxp", 'd')                                                                       \
    X(17, pread64, "fBuL", 'd')                                                                    \
    X(18, pwrite64, "fbuL", 'd')                                                                   \
    X(19, readv, "fpd", 'd')                                                                       \
    X(20, writev, "fpd", 'd')                                                                      \
    X(21, access, "sd", 'd')                                                                       \
    X(22, pipe, "P", 'd')                                                                          \
    X(32, dup, "f", 'd')                                                                           \
    X(33, dup2, "ff", 'd')                                                                         \
    X(35, nanosleep, "pp", 'd')                                                                    \
    X(39, getpid, "", 'd')                                                                         \
    X(41, socket, "ddd", 'd')                                                                      \
    X(42, connect, "fAu", 'd')                                                                     \
    X(43, accept, "fpp", 'd')                                                                      \
    X(44, sendto, "fbuxAu", 'd')                                                                   \
    X(45, recvfrom, "fBuxpp", 'd')                                                                 \
    X(49, bind, "fAu", 'd')                                                                        \
    X(50, listen, "fd", 'd')                                                                       \
    X(57, fork, "", 'd')                                                                           \
    X(58, vfork, "", 'd')                                                                          \
    X(59, execve, "svp", 'd')                                                                      \
    X(61, wait4, "dWxp", 'd')                                                                      \
    X(62, kill, "dd", 'd')                                                                         \
    X(72, fcntl, "fdx", 'd')                                                                       \
    X(77, ftruncate, "fL", 'd')                                                                    \
    X(79, getcwd, "Cu", 'd')                                                                       \
    X(80, chdir, "s", 'd')                                                                         \
    X(82, rename, "ss", 'd')                                                                       \
    X(83, mkdir, "so", 'd')                                                                        \
    X(84, rmdir, "s", 'd')                                                                         \
    X(87, unlink, "s", 'd')                                                                        \
    X(89, readlink, "sBu", 'd')                                                                    \
    X(102, getuid, "", 'd')                                                                        \
    X(104, getgid, "", 'd')                                                                        \
    X(107, geteuid, "", 'd')                                                                       \
    X(108, getegid, "", 'd')                                                                       \
    X(110, getppid, "", 'd')                                                                       \
    X(217, getdents64, "fpu", 'd')                                                                 \
    X(231, exit_group, "d", 'n')                                                                   \
    X(257, openat, "Dsxo", 'd')                                                                    \
    X(258, mkdirat, "Dso", 'd')                                                                    \
    X(262, newfstatat, "Dspx", 'd')                                                                \
    X(263, unlinkat, "Dsx", 'd')                                                                   \
    X(264, renameat, "DsDs", 'd')                                                                  \
    X(269, faccessat, "Dsd", 'd')                                                                  \
    X(292, dup3, "ffx", 'd')                                                                       \
    X(293, pipe2, "Px", 'd')

enum {
#define X(nr, name, args, ret) C_##name,
    CALLS(X)
#undef X
        NCALLS
};

static const struct call calls[] = {
#define X(nr, name, args, ret) {nr, #name, args, ret},
    CALLS(X)
#undef X
};

static int logfd = 2;

/* ---- reading the calling cage's memory ---- */

static int cage_read(uint64_t cage, uint64_t addr, void *dst, size_t len, int string)
{
    return copy_data_between_cages(grateid, cage, addr, cage, (uint64_t)(uintptr_t)dst, grateid, len, string);
}

/* ---- formatting into a line buffer ---- */

struct out {
    char *p, *end;
};

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p, (size_t)(o->end - o->p), fmt, ap);
    va_end(ap);
    if (n > 0)
        o->p += n < o->end - o->p ? n : o->end - o->p - 1;
}

static void put_escaped(struct out *o, const unsigned char *s, size_t n, int more)
{
    put(o, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = s[i];
        if (ch == '\n')
            put(o, "\\n");
        else if (ch == '\t')
            put(o, "\\t");
        else if (ch == '"' || ch == '\\')
            put(o, "\\%c", ch);
        else if (ch >= 32 && ch < 127)
            put(o, "%c", ch);
        else
            put(o, "\\x%02x", ch);
    }
    put(o, more ? "\"..." : "\"");
}

#define SHOW 32 /* bytes of a buffer shown */

static void put_buffer(struct out *o, uint64_t cage, uint64_t addr, long len)
{
    unsigned char buf[SHOW];
    size_t n = len < 0 ? 0 : (size_t)len < SHOW ? (size_t)len : SHOW;
    if (n && cage_read(cage, addr, buf, n, 0) < 0) {
        put(o, "0x%llx", (unsigned long long)addr);
        return;
    }
    put_escaped(o, buf, n, (size_t)len > n);
}

static void put_path(struct out *o, uint64_t cage, uint64_t addr)
{
    static __thread char path[4096];
    if (addr == 0) {
        put(o, "NULL");
        return;
    }
    if (cage_read(cage, addr, path, sizeof path, 1) < 0) {
        put(o, "0x%llx", (unsigned long long)addr);
        return;
    }
    put_escaped(o, (const unsigned char *)path, strlen(path), 0);
}

static void put_sockaddr(struct out *o, uint64_t cage, uint64_t addr, uint64_t len)
{
    unsigned char sa[128];
    if (addr == 0) {
        put(o, "NULL");
        return;
    }
    if (len < 2 || len > sizeof sa || cage_read(cage, addr, sa, len, 0) < 0) {
        put(o, "0x%llx", (unsigned long long)addr);
        return;
    }
    int family = sa[0] | sa[1] << 8;
    if (family == 2 && len >= 8) /* AF_INET */
        put(o, "{AF_INET, %u.%u.%u.%u:%u}", sa[4], sa[5], sa[6], sa[7], sa[2] << 8 | sa[3]);
    else if (family == 1) /* AF_UNIX */
        put(o, "{AF_UNIX, \"%.*s\"}", (int)strnlen((char *)sa + 2, len - 2), (char *)sa + 2);
    else if (family == 10 && len >= 24) /* AF_INET6 */
        put(o, "{AF_INET6, port %u}", sa[2] << 8 | sa[3]);
    else
        put(o, "{family %d}", family);
}

static void put_argv(struct out *o, uint64_t cage, uint64_t addr)
{
    uint32_t vec[17];
    if (addr == 0 || cage_read(cage, addr, vec, sizeof vec, 0) < 0) {
        /* near the end of memory: fall back to one entry at a time */
        put(o, "0x%llx", (unsigned long long)addr);
        return;
    }
    put(o, "[");
    for (int i = 0; i < 17 && vec[i]; i++) {
        if (i == 16) {
            put(o, ", ...");
            break;
        }
        if (i)
            put(o, ", ");
        put_path(o, cage, vec[i]);
    }
    put(o, "]");
}

static const char *const errnames[] = {
    [EPERM] = "EPERM", [ENOENT] = "ENOENT", [ESRCH] = "ESRCH", [EINTR] = "EINTR", [EIO] = "EIO",
    [ENXIO] = "ENXIO", [E2BIG] = "E2BIG", [ENOEXEC] = "ENOEXEC", [EBADF] = "EBADF", [ECHILD] = "ECHILD",
    [EAGAIN] = "EAGAIN", [ENOMEM] = "ENOMEM", [EACCES] = "EACCES", [EFAULT] = "EFAULT", [EBUSY] = "EBUSY",
    [EEXIST] = "EEXIST", [EXDEV] = "EXDEV", [ENODEV] = "ENODEV", [ENOTDIR] = "ENOTDIR", [EISDIR] = "EISDIR",
    [EINVAL] = "EINVAL", [ENFILE] = "ENFILE", [EMFILE] = "EMFILE", [ENOTTY] = "ENOTTY", [EFBIG] = "EFBIG",
    [ENOSPC] = "ENOSPC", [ESPIPE] = "ESPIPE", [EROFS] = "EROFS", [EMLINK] = "EMLINK", [EPIPE] = "EPIPE",
    [ERANGE] = "ERANGE", [ENAMETOOLONG] = "ENAMETOOLONG", [ENOSYS] = "ENOSYS", [ENOTEMPTY] = "ENOTEMPTY",
    [ELOOP] = "ELOOP", [ENOTSOCK] = "ENOTSOCK", [EAFNOSUPPORT] = "EAFNOSUPPORT", [EADDRINUSE] = "EADDRINUSE",
    [ENETUNREACH] = "ENETUNREACH", [ECONNRESET] = "ECONNRESET", [EISCONN] = "EISCONN",
    [ENOTCONN] = "ENOTCONN", [ETIMEDOUT] = "ETIMEDOUT", [ECONNREFUSED] = "ECONNREFUSED",
    [EINPROGRESS] = "EINPROGRESS",
};

static void put_result(struct out *o, char kind, long long r)
{
    if (r < 0 && r > -4096) {
        int e = (int)-r;
        const char *name = e < (int)(sizeof errnames / sizeof *errnames) && errnames[e] ? errnames[e] : NULL;
        if (name)
            put(o, " = -1 %s (%s)", name, strerror(e));
        else
            put(o, " = -1 errno %d (%s)", e, strerror(e));
    } else if (kind == 'x') {
        put(o, " = 0x%llx", (unsigned long long)(uint32_t)r);
    } else {
        put(o, " = %lld", r);
    }
}

static int is_out_kind(char k) { return k == 'B' || k == 'W' || k == 'P' || k == 'C'; }

/* One argument; `r` is the call's result (for output buffers), `next` the following argument. */
static void put_arg(struct out *o, char k, uint64_t cage, uint64_t v, uint64_t next, long long r)
{
    switch (k) {
    case 'd':
    case 'f':
        put(o, "%d", (int)(uint32_t)v);
        break;
    case 'D':
        if ((int)(uint32_t)v == AT_FDCWD)
            put(o, "AT_FDCWD");
        else
            put(o, "%d", (int)(uint32_t)v);
        break;
    case 'u':
        put(o, "%llu", (unsigned long long)(uint32_t)v);
        break;
    case 'x':
        put(o, "0x%llx", (unsigned long long)(uint32_t)v);
        break;
    case 'o':
        put(o, "%#llo", (unsigned long long)(uint32_t)v);
        break;
    case 'L':
        put(o, "%lld", (long long)v);
        break;
    case 'p':
        if ((uint32_t)v == 0)
            put(o, "NULL");
        else
            put(o, "0x%llx", (unsigned long long)(uint32_t)v);
        break;
    case 's':
        put_path(o, cage, (uint32_t)v);
        break;
    case 'b':
        put_buffer(o, cage, (uint32_t)v, (long)(uint32_t)next);
        break;
    case 'B':
        if (r < 0)
            put(o, "0x%llx", (unsigned long long)(uint32_t)v);
        else
            put_buffer(o, cage, (uint32_t)v, (long)r);
        break;
    case 'A':
        put_sockaddr(o, cage, (uint32_t)v, (uint32_t)next);
        break;
    case 'v':
        put_argv(o, cage, (uint32_t)v);
        break;
    case 'W': {
        int st;
        if ((uint32_t)v == 0 || r <= 0 || cage_read(cage, (uint32_t)v, &st, sizeof st, 0) < 0)
            put(o, (uint32_t)v ? "0x%llx" : "NULL", (unsigned long long)(uint32_t)v);
        else if (WIFEXITED(st))
            put(o, "[{WIFEXITED(s) && WEXITSTATUS(s) == %d}]", WEXITSTATUS(st));
        else if (WIFSIGNALED(st))
            put(o, "[{WIFSIGNALED(s) && WTERMSIG(s) == %d}]", WTERMSIG(st));
        else
            put(o, "[0x%x]", st);
        break;
    }
    case 'P': {
        int fds[2];
        if (r < 0 || cage_read(cage, (uint32_t)v, fds, sizeof fds, 0) < 0)
            put(o, "0x%llx", (unsigned long long)(uint32_t)v);
        else
            put(o, "[%d, %d]", fds[0], fds[1]);
        break;
    }
    case 'C':
        if (r < 0)
            put(o, "0x%llx", (unsigned long long)(uint32_t)v);
        else
            put_path(o, cage, (uint32_t)v);
        break;
    }
}

/* The cage whose call this is: the cage word of an argument that is not flagged as a grate's own
 * memory (every cage word is the caller's unless a grate above rewrote an argument). */
static uint64_t caller_of(const uint64_t ac[6])
{
    for (int i = 0; i < 6; i++)
        if (!(ac[i] & GRATE_MEMORY_FLAG))
            return ac[i];
    return ac[0] & ~GRATE_MEMORY_FLAG;
}

static void emit(const char *line, size_t n)
{
    while (n) {
        ssize_t w = write(logfd, line, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        line += w;
        n -= (size_t)w;
    }
}

static int trace(int idx, uint64_t a[6], uint64_t ac[6])
{
    const struct call *c = &calls[idx];
    uint64_t cage = caller_of(ac);
    size_t nargs = strlen(c->args);
    char line[1024];
    struct out o = {line, line + sizeof line - 2};
    char outargs[6][256]; /* output arguments are shown after the call */
    struct out pre[6];

    put(&o, "[pid %llu] %s(", (unsigned long long)cage, c->name);
    /* input arguments now: the memory they point to may be gone after the call (execve) */
    char inargs[6][320];
    for (size_t i = 0; i < nargs; i++) {
        pre[i] = (struct out){inargs[i], inargs[i] + sizeof inargs[i]};
        inargs[i][0] = 0;
        if (!is_out_kind(c->args[i]))
            put_arg(&pre[i], c->args[i], cage, a[i], i + 1 < 6 ? a[i + 1] : 0, 0);
    }
    if (c->ret == 'n') { /* exit_group: log first, the cage does not come back */
        for (size_t i = 0; i < nargs; i++)
            put(&o, "%s%s", i ? ", " : "", inargs[i]);
        put(&o, ") = ?\n");
        emit(line, (size_t)(o.p - line));
    }
    long long r = make_threei_call((unsigned)c->nr, 0, grateid, cage, a[0], ac[0], a[1], ac[1], a[2], ac[2], a[3],
                                   ac[3], a[4], ac[4], a[5], ac[5], 0);
    if (c->ret == 'n')
        return (int)r;
    for (size_t i = 0; i < nargs; i++) {
        if (is_out_kind(c->args[i])) {
            struct out po = {outargs[i], outargs[i] + sizeof outargs[i]};
            outargs[i][0] = 0;
            put_arg(&po, c->args[i], cage, a[i], i + 1 < 6 ? a[i + 1] : 0, r);
            put(&o, "%s%s", i ? ", " : "", outargs[i]);
        } else {
            put(&o, "%s%s", i ? ", " : "", inargs[i]);
        }
    }
    put(&o, ")");
    put_result(&o, c->ret, r);
    put(&o, "\n");
    emit(line, (size_t)(o.p - line));
    return (int)r;
}

/* One handler per call (a handler is not told which call it serves). */
#define X(nr, name, args, ret)                                                                     \
    static int h_##name(HANDLER_ARGS)                                                              \
    {                                                                                              \
        (void)cageid;                                                                              \
        uint64_t a[6] = {a1, a2, a3, a4, a5, a6}, ac[6] = {a1c, a2c, a3c, a4c, a5c, a6c};          \
        return trace(C_##name, a, ac);                                                             \
    }
CALLS(X)
#undef X

static const handler_t handlers[] = {
#define X(nr, name, args, ret) h_##name,
    CALLS(X)
#undef X
};

static int wanted(const char *only, const char *name)
{
    if (!only)
        return 1;
    size_t n = strlen(name);
    for (const char *p = only; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

static const char *only; /* --only: the calls to trace (all when NULL) */

static int register_all(uint64_t me)
{
    for (int k = 0; k < NCALLS; k++) {
        if (!wanted(only, calls[k].name))
            continue;
        if (register_handler(me, (uint64_t)calls[k].nr, grateid, (uint64_t)(uintptr_t)handlers[k]) < 0) {
            fprintf(stderr, "strace: register_handler(%s): %s\n", calls[k].name, strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: strace [--out FILE] [--only CALL,...] PROGRAM [ARGS...]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc)
            return usage();
        if (strcmp(argv[i], "--out") == 0)
            out = argv[i + 1];
        else if (strcmp(argv[i], "--only") == 0)
            only = argv[i + 1];
        else
            return usage();
    }
    if (i >= argc)
        return usage();
    if (out) {
        logfd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
        if (logfd < 0) {
            fprintf(stderr, "strace: %s: %s\n", out, strerror(errno));
            return 1;
        }
    }
    return grate_run("strace", &argv[i], register_all);
}

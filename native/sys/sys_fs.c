/* File system calls that take paths. All resolution goes through path.c (inside the root).
 * Calls:  base/ (guest_abi), kern/ (cage, call, fdtable, mm, path), sys/ (syscalls).
 * Called by: sys/ (syscall_table). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/guest_abi.h"
#include "kern/cage.h"
#include "kern/call.h"
#include "kern/fdtable.h"
#include "kern/mm.h"
#include "kern/path.h"
#include "sys/syscalls.h"

#define L_AT_FDCWD (-100)

/* dirfd arguments: AT_FDCWD arrives as a 32-bit int */
static int arg_dirfd(const struct lind_call *c, int i) { return arg_int(c, i); }

static int64_t do_open(struct lind_call *c, int dirfd, uint64_t path, int flags, int mode)
{
    char abs[PATH_MAX];
    int r = path_from_guest(c, dirfd, path, abs);
    if (r < 0)
        return r;
    int cloexec = !!(flags & O_CLOEXEC);
    /* a cage never acquires the host's controlling terminal; no setuid/setgid file is made */
    int h = path_open(c->cage, abs, (flags & ~O_CLOEXEC) | O_NOCTTY, (int)(mode & ~c->cage->umask & 01777), 0);
    if (h < 0)
        return h;
    int fd = fd_install(c->cage, h, cloexec, 0);
    if (fd >= 0 && path_is_host_device(abs))
        fd_set_foreign(c->cage, fd);
    return fd;
}

int64_t sys_open(struct lind_call *c)
{
    return do_open(c, L_AT_FDCWD, c->a[0], arg_int(c, 1), arg_int(c, 2));
}

int64_t sys_openat(struct lind_call *c)
{
    return do_open(c, arg_dirfd(c, 0), c->a[1], arg_int(c, 2), arg_int(c, 3));
}

int64_t sys_creat(struct lind_call *c)
{
    return do_open(c, L_AT_FDCWD, c->a[0], O_CREAT | O_WRONLY | O_TRUNC, arg_int(c, 1));
}

/* (dirfd, path, AT_* flags) -> an O_PATH host fd owned by the caller. */
/* RES_CHANGE in atflags: the caller is to change the node's metadata (mode, owner, times, a link
 * to it): an empty path naming a foreign fd (fd_host_owned), or the root directory itself, gives
 * EPERM. */
#define RES_CHANGE 0x40000000
static int resolve_at(struct lind_call *c, int dirfd, uint64_t path, int atflags, int extra)
{
    char abs[PATH_MAX];
    int change = atflags & RES_CHANGE;
    atflags &= ~RES_CHANGE;
    if (atflags & AT_EMPTY_PATH) {
        int r = guest_string(c, path, abs, sizeof abs);
        if (r < 0)
            return r;
        if (abs[0] == 0) {
            if (dirfd == L_AT_FDCWD) {
                int e = cage_cwd(c->cage, abs);
                if (e < 0)
                    return e;
                goto open;
            }
            int h = change ? fd_host_owned(c, dirfd) : fd_host(c, dirfd);
            if (h < 0)
                return h;
            int n = fcntl(h, F_DUPFD_CLOEXEC, 3);
            return n < 0 ? -errno : n;
        }
    }
    int r = path_from_guest(c, dirfd, path, abs);
    if (r < 0)
        return r;
open:;
    int fd = path_open(c->cage, abs, O_PATH | extra | ((atflags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0), 0, 0);
    if (fd >= 0 && change && path_fd_is_root(c->cage, fd)) {
        close(fd);
        return -EPERM;
    }
    return fd;
}

static void proc_path(int fd, char *out) { snprintf(out, 64, "/proc/self/fd/%d", fd); }

static int64_t do_stat(struct lind_call *c, int dirfd, uint64_t path, uint64_t buf, int atflags)
{
    if (atflags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
        return -EINVAL;
    struct stat *g = guest_ptr(c, buf, sizeof(struct stat));
    if (!g)
        return -EFAULT;
    int fd = resolve_at(c, dirfd, path, atflags, 0);
    if (fd < 0)
        return fd;
    int r = fstatat(fd, "", g, AT_EMPTY_PATH) < 0 ? -errno : 0;
    close(fd);
    return r;
}

int64_t sys_stat(struct lind_call *c) { return do_stat(c, L_AT_FDCWD, c->a[0], c->a[1], 0); }
int64_t sys_lstat(struct lind_call *c)
{
    return do_stat(c, L_AT_FDCWD, c->a[0], c->a[1], AT_SYMLINK_NOFOLLOW);
}
int64_t sys_newfstatat(struct lind_call *c)
{
    return do_stat(c, arg_dirfd(c, 0), c->a[1], c->a[2], arg_int(c, 3));
}

/* struct statx is arch independent (256 bytes). */
int64_t sys_statx(struct lind_call *c)
{
    int atflags = arg_int(c, 2);
    void *g = guest_ptr(c, c->a[4], 256);
    if (!g)
        return -EFAULT;
    int fd = resolve_at(c, arg_dirfd(c, 0), c->a[1], atflags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH), 0);
    if (fd < 0)
        return fd;
    long r = syscall(SYS_statx, fd, "", AT_EMPTY_PATH | (atflags & AT_STATX_SYNC_TYPE), arg_u32(c, 3), g);
    int e = errno;
    close(fd);
    return r < 0 ? -e : 0;
}

static int64_t do_access(struct lind_call *c, int dirfd, uint64_t path, int mode, int flags)
{
    if (mode & ~7)
        return -EINVAL;
    if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    int fd = resolve_at(c, dirfd, path, flags, 0);
    if (fd < 0)
        return fd;
    long r = syscall(SYS_faccessat2, fd, "", mode, AT_EMPTY_PATH | (flags & AT_EACCESS));
    int e = errno;
    close(fd);
    return r < 0 ? -e : 0;
}

int64_t sys_access(struct lind_call *c) { return do_access(c, L_AT_FDCWD, c->a[0], arg_int(c, 1), 0); }
int64_t sys_faccessat(struct lind_call *c)
{
    return do_access(c, arg_dirfd(c, 0), c->a[1], arg_int(c, 2), 0);
}
int64_t sys_faccessat2(struct lind_call *c)
{
    return do_access(c, arg_dirfd(c, 0), c->a[1], arg_int(c, 2), arg_int(c, 3));
}

/* ---- name operations: parent directory + last component ---- */

static int is_dot(const char *b) { return strcmp(b, ".") == 0; }
static int is_dotdot(const char *b) { return strcmp(b, "..") == 0; }

/* Resolves the parent of (dirfd, path); keeps a trailing '/' on the name so the kernel applies
 * its own trailing-slash rules. */
static int parent_at(struct lind_call *c, int dirfd, uint64_t path, char *base)
{
    char abs[PATH_MAX];
    int r = path_from_guest(c, dirfd, path, abs);
    if (r < 0)
        return r;
    int fd = path_parent(c->cage, abs, base);
    if (fd >= 0) {
        size_t n = strlen(abs);
        if (n > 1 && abs[n - 1] == '/' && !is_dot(base) && !is_dotdot(base) && strlen(base) + 2 < NAME_MAX + 2)
            strcat(base, "/");
    }
    return fd;
}

/* The name without a trailing '/', for the "." and ".." checks. */
static void bare(const char *base, char *out)
{
    size_t n = strlen(base);
    memcpy(out, base, n + 1);
    if (n > 1 && out[n - 1] == '/')
        out[n - 1] = 0;
}

/* A new directory (type S_IFDIR) or node at path, with the cage's umask applied. */
static int64_t make_at(struct lind_call *c, int dirfd, uint64_t path, uint32_t type, uint32_t mode)
{
    char base[PATH_MAX], b[PATH_MAX];
    int p = parent_at(c, dirfd, path, base);
    if (p < 0)
        return p;
    bare(base, b);
    uint32_t perm = mode & ~c->cage->umask & 01777; /* (nosuid: no setuid/setgid node) */
    int r = (is_dot(b) || is_dotdot(b)) ? -EEXIST
            : (type == S_IFDIR ? mkdirat(p, base, perm) : mknodat(p, base, type | perm, 0)) < 0 ? -errno : 0;
    if (r == 0)
        path_mode_fixup(p, base, perm, 0);
    close(p);
    return r;
}

static int64_t do_mkdir(struct lind_call *c, int dirfd, uint64_t path, uint32_t mode)
{
    return make_at(c, dirfd, path, S_IFDIR, mode);
}

/* mknod: FIFOs, regular files and sockets; never device nodes (EPERM, as for an unprivileged
 * process: a cage must not reach the host's devices). */
static int64_t do_mknod(struct lind_call *c, int dirfd, uint64_t path, uint32_t mode)
{
    uint32_t type = mode & S_IFMT;
    if (type == S_IFCHR || type == S_IFBLK)
        return -EPERM;
    if (type != 0 && type != S_IFREG && type != S_IFIFO && type != S_IFSOCK)
        return -EINVAL;
    return make_at(c, dirfd, path, type ? type : S_IFREG, mode);
}

int64_t sys_mknod(struct lind_call *c) { return do_mknod(c, L_AT_FDCWD, c->a[0], arg_u32(c, 1)); }
int64_t sys_mknodat(struct lind_call *c) { return do_mknod(c, arg_dirfd(c, 0), c->a[1], arg_u32(c, 2)); }

int64_t sys_mkdir(struct lind_call *c) { return do_mkdir(c, L_AT_FDCWD, c->a[0], arg_u32(c, 1)); }
int64_t sys_mkdirat(struct lind_call *c) { return do_mkdir(c, arg_dirfd(c, 0), c->a[1], arg_u32(c, 2)); }

static int64_t do_unlink(struct lind_call *c, int dirfd, uint64_t path, int flags)
{
    char base[PATH_MAX], b[PATH_MAX];
    if (flags & ~AT_REMOVEDIR)
        return -EINVAL;
    int p = parent_at(c, dirfd, path, base);
    if (p < 0)
        return p;
    bare(base, b);
    int r;
    if (flags & AT_REMOVEDIR)
        r = is_dot(b) ? -EINVAL : is_dotdot(b) ? -ENOTEMPTY : unlinkat(p, base, AT_REMOVEDIR) < 0 ? -errno : 0;
    else
        r = (is_dot(b) || is_dotdot(b)) ? -EISDIR : unlinkat(p, base, 0) < 0 ? -errno : 0;
    close(p);
    return r;
}

int64_t sys_unlink(struct lind_call *c) { return do_unlink(c, L_AT_FDCWD, c->a[0], 0); }
int64_t sys_rmdir(struct lind_call *c) { return do_unlink(c, L_AT_FDCWD, c->a[0], AT_REMOVEDIR); }
int64_t sys_unlinkat(struct lind_call *c) { return do_unlink(c, arg_dirfd(c, 0), c->a[1], arg_int(c, 2)); }

static int64_t do_rename(struct lind_call *c, int odir, uint64_t opath, int ndir, uint64_t npath, unsigned flags)
{
    char ob[PATH_MAX], nb[PATH_MAX], b1[PATH_MAX], b2[PATH_MAX];
    int p1 = parent_at(c, odir, opath, ob);
    if (p1 < 0)
        return p1;
    int p2 = parent_at(c, ndir, npath, nb);
    if (p2 < 0) {
        close(p1);
        return p2;
    }
    bare(ob, b1);
    bare(nb, b2);
    int r;
    if (is_dot(b1) || is_dotdot(b1) || is_dot(b2) || is_dotdot(b2))
        r = -EBUSY;
    else
        r = syscall(SYS_renameat2, p1, ob, p2, nb, flags) < 0 ? -errno : 0;
    close(p1);
    close(p2);
    return r;
}

int64_t sys_rename(struct lind_call *c) { return do_rename(c, L_AT_FDCWD, c->a[0], L_AT_FDCWD, c->a[1], 0); }
int64_t sys_renameat(struct lind_call *c)
{
    return do_rename(c, arg_dirfd(c, 0), c->a[1], arg_dirfd(c, 2), c->a[3], 0);
}
int64_t sys_renameat2(struct lind_call *c)
{
    return do_rename(c, arg_dirfd(c, 0), c->a[1], arg_dirfd(c, 2), c->a[3], arg_u32(c, 4));
}

static int64_t do_link(struct lind_call *c, int odir, uint64_t opath, int ndir, uint64_t npath, int flags)
{
    char nb[PATH_MAX], b2[PATH_MAX];
    if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    /* the source, resolved inside the root (following a final symlink only if asked) */
    int src = resolve_at(c, odir, opath,
                         RES_CHANGE | (flags & AT_EMPTY_PATH) | ((flags & AT_SYMLINK_FOLLOW) ? 0 : AT_SYMLINK_NOFOLLOW), 0);
    if (src < 0)
        return src;
    int p2 = parent_at(c, ndir, npath, nb);
    if (p2 < 0) {
        close(src);
        return p2;
    }
    bare(nb, b2);
    int r;
    if (is_dot(b2) || is_dotdot(b2)) {
        r = -EEXIST;
    } else {
        char pp[64];
        proc_path(src, pp);
        /* linking through /proc/self/fd works unprivileged, unlike AT_EMPTY_PATH */
        r = linkat(AT_FDCWD, pp, p2, nb, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
    }
    close(src);
    close(p2);
    return r;
}

int64_t sys_link(struct lind_call *c) { return do_link(c, L_AT_FDCWD, c->a[0], L_AT_FDCWD, c->a[1], 0); }
int64_t sys_linkat(struct lind_call *c)
{
    return do_link(c, arg_dirfd(c, 0), c->a[1], arg_dirfd(c, 2), c->a[3], arg_int(c, 4));
}

static int64_t do_symlink(struct lind_call *c, uint64_t target, int ndir, uint64_t npath)
{
    char tgt[PATH_MAX], nb[PATH_MAX], b[PATH_MAX];
    int r = guest_string(c, target, tgt, sizeof tgt);
    if (r < 0)
        return r;
    if (tgt[0] == 0)
        return -ENOENT;
    int p = parent_at(c, ndir, npath, nb);
    if (p < 0)
        return p;
    bare(nb, b);
    /* the target is stored verbatim: it is only ever interpreted by path.c, inside the root */
    r = (is_dot(b) || is_dotdot(b)) ? -EEXIST : symlinkat(tgt, p, nb) < 0 ? -errno : 0;
    close(p);
    return r;
}

int64_t sys_symlink(struct lind_call *c) { return do_symlink(c, c->a[0], L_AT_FDCWD, c->a[1]); }
int64_t sys_symlinkat(struct lind_call *c) { return do_symlink(c, c->a[0], arg_dirfd(c, 1), c->a[2]); }

static int64_t do_readlink(struct lind_call *c, int dirfd, uint64_t path, uint64_t buf, int size)
{
    char tmp[PATH_MAX];
    if (size <= 0)
        return -EINVAL;
    char *g = guest_ptr(c, buf, (uint64_t)size);
    if (!g)
        return -EFAULT;
    int fd = resolve_at(c, dirfd, path, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH, 0);
    if (fd < 0)
        return fd;
    ssize_t n = readlinkat(fd, "", tmp, sizeof tmp);
    int e = errno;
    close(fd);
    if (n < 0)
        return e == ENOENT ? -EINVAL : -e;
    if (n > size)
        n = size;
    memcpy(g, tmp, (size_t)n);
    return n;
}

int64_t sys_readlink(struct lind_call *c) { return do_readlink(c, L_AT_FDCWD, c->a[0], c->a[1], arg_int(c, 2)); }
int64_t sys_readlinkat(struct lind_call *c)
{
    return do_readlink(c, arg_dirfd(c, 0), c->a[1], c->a[2], arg_int(c, 3));
}

static int64_t do_chmod(struct lind_call *c, int dirfd, uint64_t path, uint32_t mode, int flags)
{
    char pp[64];
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    if (flags & AT_SYMLINK_NOFOLLOW)
        return -EOPNOTSUPP; /* as Linux: symlink modes cannot be changed */
    int fd = resolve_at(c, dirfd, path, flags | RES_CHANGE, 0);
    if (fd < 0)
        return fd;
    proc_path(fd, pp);
    int r = chmod(pp, mode & 01777) < 0 ? -errno : 0; /* (nosuid: as sys_fchmod) */
    close(fd);
    return r;
}

int64_t sys_chmod(struct lind_call *c) { return do_chmod(c, L_AT_FDCWD, c->a[0], arg_u32(c, 1), 0); }
int64_t sys_fchmodat(struct lind_call *c) { return do_chmod(c, arg_dirfd(c, 0), c->a[1], arg_u32(c, 2), 0); }
int64_t sys_fchmodat2(struct lind_call *c)
{
    return do_chmod(c, arg_dirfd(c, 0), c->a[1], arg_u32(c, 2), arg_int(c, 3));
}

static int64_t do_chown(struct lind_call *c, int dirfd, uint64_t path, uint32_t uid, uint32_t gid, int flags)
{
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    int fd = resolve_at(c, dirfd, path, flags | RES_CHANGE, 0);
    if (fd < 0)
        return fd;
    int r = chown_allowed(fd, uid, gid);
    close(fd);
    return r;
}

int64_t sys_chown(struct lind_call *c) { return do_chown(c, L_AT_FDCWD, c->a[0], arg_u32(c, 1), arg_u32(c, 2), 0); }
int64_t sys_lchown(struct lind_call *c)
{
    return do_chown(c, L_AT_FDCWD, c->a[0], arg_u32(c, 1), arg_u32(c, 2), AT_SYMLINK_NOFOLLOW);
}
int64_t sys_fchownat(struct lind_call *c)
{
    return do_chown(c, arg_dirfd(c, 0), c->a[1], arg_u32(c, 2), arg_u32(c, 3), arg_int(c, 4));
}

int64_t sys_truncate(struct lind_call *c)
{
    char abs[PATH_MAX];
    int r = path_from_guest(c, L_AT_FDCWD, c->a[0], abs);
    if (r < 0)
        return r;
    int fd = path_open(c->cage, abs, O_WRONLY, 0, 0);
    if (fd < 0)
        return fd;
    r = ftruncate(fd, arg_i64(c, 1)) < 0 ? -errno : 0;
    close(fd);
    return r;
}

int64_t sys_utimensat(struct lind_call *c)
{
    int dirfd = arg_dirfd(c, 0), flags = arg_int(c, 3), efault;
    struct timespec ts[2], *tp = NULL;
    const uint8_t *g = guest_ptr_or_null(c, c->a[2], 32, &efault);
    if (efault)
        return -EFAULT;
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    if (g) {
        guest_timespec(g, &ts[0]);
        guest_timespec(g + 16, &ts[1]);
        tp = ts;
    }
    if ((uint32_t)c->a[1] == 0) { /* futimens */
        int h = fd_host_owned(c, dirfd);
        if (h < 0)
            return h;
        return futimens(h, tp) < 0 ? -errno : 0;
    }
    int fd = resolve_at(c, dirfd, c->a[1], flags | RES_CHANGE, 0);
    if (fd < 0)
        return fd;
    char pp[64];
    proc_path(fd, pp);
    struct stat st;
    int r;
    if ((flags & AT_SYMLINK_NOFOLLOW) && fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 && S_ISLNK(st.st_mode))
        r = -EOPNOTSUPP; /* times of a symlink itself: not supported inside a root */
    else
        r = utimensat(AT_FDCWD, pp, tp, 0) < 0 ? -errno : 0;
    close(fd);
    return r;
}

static int64_t do_statfs(struct lind_call *c, uint64_t path, uint64_t buf)
{
    struct statfs *g = guest_ptr(c, buf, sizeof(struct statfs));
    if (!g)
        return -EFAULT;
    int fd = resolve_at(c, L_AT_FDCWD, path, 0, 0);
    if (fd < 0)
        return fd;
    int r = fstatfs(fd, g) < 0 ? -errno : 0;
    close(fd);
    return r;
}

int64_t sys_statfs(struct lind_call *c) { return do_statfs(c, c->a[0], c->a[1]); }

/* inotify: a host inotify fd; a watched path is resolved inside the root into an O_PATH fd, which
 * the host watches through /proc/self/fd (inotify_add_watch takes no directory fd). Its events
 * (struct inotify_event has one layout on both sides) name entries, never host paths. */
static int64_t do_inotify_init(struct lind_call *c, int flags)
{
    if (flags & ~(IN_NONBLOCK | IN_CLOEXEC))
        return -EINVAL;
    int h = inotify_init1(IN_CLOEXEC | (flags & IN_NONBLOCK));
    if (h < 0)
        return -errno;
    return fd_install(c->cage, h, !!(flags & IN_CLOEXEC), 0);
}

int64_t sys_inotify_init(struct lind_call *c) { return do_inotify_init(c, 0); }
int64_t sys_inotify_init1(struct lind_call *c) { return do_inotify_init(c, arg_int(c, 0)); }

int64_t sys_inotify_add_watch(struct lind_call *c)
{
    int h = fd_host(c, arg_int(c, 0));
    uint32_t mask = arg_u32(c, 2);
    char abs[PATH_MAX], link[64];
    if (h < 0)
        return h;
    int r = path_from_guest(c, L_AT_FDCWD, c->a[1], abs);
    if (r < 0)
        return r;
    int target = path_open(c->cage, abs, O_PATH | ((mask & IN_DONT_FOLLOW) ? O_NOFOLLOW : 0), 0, 0);
    if (target < 0)
        return target;
    snprintf(link, sizeof link, "/proc/self/fd/%d", target);
    /* (the magic link is followed to the O_PATH file: the path itself or, IN_DONT_FOLLOW, the link) */
    r = inotify_add_watch(h, link, mask & ~IN_DONT_FOLLOW);
    r = r < 0 ? -errno : r;
    close(target);
    return r;
}

int64_t sys_inotify_rm_watch(struct lind_call *c)
{
    int h = fd_host(c, arg_int(c, 0));
    if (h < 0)
        return h;
    return inotify_rm_watch(h, arg_int(c, 1)) < 0 ? -errno : 0;
}

int64_t sys_getcwd(struct lind_call *c)
{
    uint32_t size = arg_u32(c, 1);
    char cwd[PATH_MAX];
    int r = cage_cwd(c->cage, cwd);
    if (r < 0)
        return r;
    size_t n = strlen(cwd) + 1;
    if (size < n)
        return -ERANGE;
    char *g = guest_ptr(c, c->a[0], n);
    if (!g)
        return -EFAULT;
    memcpy(g, cwd, n);
    return (int64_t)n;
}

int64_t sys_chdir(struct lind_call *c)
{
    char abs[PATH_MAX], norm[PATH_MAX];
    int r = path_from_guest(c, L_AT_FDCWD, c->a[0], abs);
    if (r < 0)
        return r;
    int fd = path_open(c->cage, abs, O_PATH | O_DIRECTORY, 0, 0);
    if (fd < 0)
        return fd;
    (void)norm;
    if (syscall(SYS_faccessat2, fd, "", X_OK, AT_EMPTY_PATH) < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    return cage_chdir_fd(c->cage, fd);
}

int64_t sys_umask(struct lind_call *c)
{
    uint32_t old = c->cage->umask;
    c->cage->umask = arg_u32(c, 0) & 0777;
    return old;
}

/* System calls on fds themselves: close, dup*, fcntl, ioctl, and the f* metadata calls.
 * Calls:  kern/ (cage, call, fdtable, mm, path), sys/ (syscalls).
 * Called by: sys/ (syscall_table). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "kern/cage.h"
#include "kern/call.h"
#include "kern/fdtable.h"
#include "kern/mm.h"
#include "kern/path.h"
#include "sys/syscalls.h"

int64_t sys_close(struct lind_call *c) { return fd_close(c->cage, arg_int(c, 0)); }

static int host_dup(int h)
{
    int n = fcntl(h, F_DUPFD_CLOEXEC, 3);
    return n < 0 ? -errno : n;
}

int64_t sys_dup(struct lind_call *c)
{
    int h = fd_host(c, arg_int(c, 0));
    if (h < 0)
        return h;
    int n = host_dup(h);
    return n < 0 ? n : fd_install(c->cage, n, 0, 0);
}

static int64_t do_dup3(struct lind_call *c, int oldfd, int newfd, int cloexec)
{
    int h = fd_host(c, oldfd);
    if (h < 0)
        return h;
    if (oldfd == newfd)
        return newfd;
    int n = host_dup(h);
    return n < 0 ? n : fd_install_at(c->cage, newfd, n, cloexec);
}

int64_t sys_dup2(struct lind_call *c) { return do_dup3(c, arg_int(c, 0), arg_int(c, 1), 0); }

int64_t sys_dup3(struct lind_call *c)
{
    int flags = arg_int(c, 2);
    if (arg_int(c, 0) == arg_int(c, 1) || (flags & ~O_CLOEXEC))
        return -EINVAL;
    return do_dup3(c, arg_int(c, 0), arg_int(c, 1), !!(flags & O_CLOEXEC));
}

/* struct flock has the x86-64 layout in the guest (32 bytes). Cages share one host process, so
 * process-associated POSIX locks would never conflict between cages: use open-file-description
 * locks, which do. The holder's pid reported by F_GETLK is then -1 (unknown). */
static int64_t do_lock(struct lind_call *c, int h, int cmd)
{
    struct flock *g = guest_ptr(c, c->a[2], sizeof(struct flock));
    if (!g)
        return -EFAULT;
    struct flock fl = *g;
    fl.l_pid = 0;
    int ocmd = cmd == F_GETLK ? F_OFD_GETLK : cmd == F_SETLK ? F_OFD_SETLK : F_OFD_SETLKW;
    if (fcntl(h, ocmd, &fl) < 0)
        return -errno;
    if (cmd == F_GETLK) {
        g->l_type = fl.l_type;
        g->l_whence = fl.l_whence;
        g->l_start = fl.l_start;
        g->l_len = fl.l_len;
        g->l_pid = fl.l_type == F_UNLCK ? 0 : -1;
    }
    return 0;
}

/* flock: its locks belong to open file descriptions, so they conflict between cages as between
 * processes; a waiting LOCK_EX is interrupted by signals like any host wait. */
int64_t sys_flock(struct lind_call *c)
{
    int h = fd_host(c, arg_int(c, 0));
    if (h < 0)
        return h;
    return flock(h, arg_int(c, 1)) < 0 ? -errno : 0;
}

/* fadvise64(fd, offset, len, advice) and fallocate(fd, mode, offset, len): on the host file. */
int64_t sys_fadvise64(struct lind_call *c)
{
    int h = fd_host(c, arg_int(c, 0));
    if (h < 0)
        return h;
    return -posix_fadvise(h, arg_i64(c, 1), arg_i64(c, 2), arg_int(c, 3));
}

int64_t sys_fallocate(struct lind_call *c)
{
    int h = fd_host_owned(c, arg_int(c, 0));
    if (h < 0)
        return h;
    return fallocate(h, arg_int(c, 1), arg_i64(c, 2), arg_i64(c, 3)) < 0 ? -errno : 0;
}

/* An optional guest off_t/loff_t (64-bit) in and out of sendfile and copy_file_range. */
static int offset_arg(struct lind_call *c, int i, int64_t **g)
{
    int efault;
    *g = guest_ptr_or_null(c, c->a[i], 8, &efault);
    return efault ? -EFAULT : 0;
}

/* sendfile(out_fd, in_fd, offset *, count) */
int64_t sys_sendfile(struct lind_call *c)
{
    int out = fd_host(c, arg_int(c, 0)), in = fd_host(c, arg_int(c, 1));
    int64_t *g;
    if (out < 0 || in < 0)
        return out < 0 ? out : in;
    if (offset_arg(c, 2, &g) < 0)
        return -EFAULT;
    off_t off = g ? *g : 0;
    ssize_t n = sendfile(out, in, g ? &off : NULL, arg_u32(c, 3));
    if (n < 0)
        return -errno;
    if (g)
        *g = off;
    return n;
}

/* copy_file_range(fd_in, off_in *, fd_out, off_out *, len, flags) */
int64_t sys_copy_file_range(struct lind_call *c)
{
    int in = fd_host(c, arg_int(c, 0)), out = fd_host(c, arg_int(c, 2));
    int64_t *gi, *go;
    if (out < 0 || in < 0)
        return in < 0 ? in : out;
    if (offset_arg(c, 1, &gi) < 0 || offset_arg(c, 3, &go) < 0)
        return -EFAULT;
    loff_t oi = gi ? *gi : 0, oo = go ? *go : 0;
    ssize_t n = copy_file_range(in, gi ? &oi : NULL, out, go ? &oo : NULL, arg_u32(c, 4), arg_u32(c, 5));
    if (n < 0)
        return -errno;
    if (gi)
        *gi = oi;
    if (go)
        *go = oo;
    return n;
}

/* memfd_create(name, flags): an anonymous host file (nothing of the host's file system). */
int64_t sys_memfd_create(struct lind_call *c)
{
    char name[250];
    int r = guest_string(c, c->a[0], name, sizeof name);
    unsigned flags = arg_u32(c, 1);
    if (r < 0)
        return r == -ENAMETOOLONG ? -EINVAL : r;
    if (flags & ~(unsigned)(MFD_CLOEXEC | MFD_ALLOW_SEALING))
        return -EINVAL;
    int h = memfd_create(name, MFD_CLOEXEC | (flags & MFD_ALLOW_SEALING));
    if (h < 0)
        return -errno;
    return fd_install(c->cage, h, !!(flags & MFD_CLOEXEC), 0);
}

int64_t sys_fcntl(struct lind_call *c)
{
    struct lind_cage *cage = c->cage;
    int fd = arg_int(c, 0), cmd = arg_int(c, 1);
    int h = fd_host(c, fd);
    if (h < 0)
        return h;
    switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
        int minfd = arg_int(c, 2);
        if (minfd < 0 || (uint64_t)minfd >= cage->rlim[7].cur)
            return -EINVAL;
        int n = host_dup(h);
        return n < 0 ? n : fd_install(cage, n, cmd == F_DUPFD_CLOEXEC, minfd);
    }
    case F_GETFD:
        return cage->fds[fd].cloexec ? FD_CLOEXEC : 0;
    case F_SETFD:
        cage->fds[fd].cloexec = !!(arg_int(c, 2) & FD_CLOEXEC);
        return 0;
    case F_GETFL: {
        int r = fcntl(h, F_GETFL);
        return r < 0 ? -errno : r;
    }
    case F_SETFL: {
        int r = fcntl(h, F_SETFL, arg_int(c, 2));
        return r < 0 ? -errno : r;
    }
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
        return do_lock(c, h, cmd);
    case F_GETPIPE_SZ:
    case F_SETPIPE_SZ: {
        int r = fcntl(h, cmd, arg_int(c, 2));
        return r < 0 ? -errno : r;
    }
    default:
        return -EINVAL;
    }
}

/* struct termios in the guest is musl's (60 bytes); the kernel reads and writes its first 36. */
#define GUEST_TERMIOS 60
int64_t sys_ioctl(struct lind_call *c)
{
    int fd = arg_int(c, 0);
    unsigned long req = arg_u32(c, 1);
    int h = fd_host(c, fd);
    if (h < 0)
        return h;
    switch (req) {
    case TCGETS: {
        uint8_t buf[GUEST_TERMIOS] = {0};
        void *g = guest_ptr(c, c->a[2], GUEST_TERMIOS);
        if (!g)
            return -EFAULT;
        if (ioctl(h, TCGETS, buf) < 0)
            return -errno;
        memcpy(g, buf, GUEST_TERMIOS);
        return 0;
    }
    case TCSETS:
    case TCSETSW:
    case TCSETSF: {
        uint8_t buf[GUEST_TERMIOS];
        void *g = guest_ptr(c, c->a[2], GUEST_TERMIOS);
        if (!g)
            return -EFAULT;
        memcpy(buf, g, GUEST_TERMIOS);
        return ioctl(h, req, buf) < 0 ? -errno : 0;
    }
    case TIOCGWINSZ:
    case TIOCSWINSZ: {
        void *g = guest_ptr(c, c->a[2], sizeof(struct winsize));
        if (!g)
            return -EFAULT;
        return ioctl(h, req, g) < 0 ? -errno : 0;
    }
    case FIONREAD:
    case FIONBIO: {
        void *g = guest_ptr(c, c->a[2], sizeof(int));
        if (!g)
            return -EFAULT;
        return ioctl(h, req, g) < 0 ? -errno : 0;
    }
    case FIOCLEX:
    case FIONCLEX:
        c->cage->fds[fd].cloexec = req == FIOCLEX;
        return 0;
    default:
        return -ENOTTY;
    }
}

int64_t sys_fsync(struct lind_call *c)
{
    int h = fd_host(c, arg_int(c, 0));
    if (h < 0)
        return h;
    return fsync(h) < 0 ? -errno : 0;
}

int64_t sys_fdatasync(struct lind_call *c)
{
    int h = fd_host(c, arg_int(c, 0));
    if (h < 0)
        return h;
    return fdatasync(h) < 0 ? -errno : 0;
}

int64_t sys_ftruncate(struct lind_call *c)
{
    int h = fd_host_owned(c, arg_int(c, 0));
    if (h < 0)
        return h;
    return ftruncate(h, arg_i64(c, 1)) < 0 ? -errno : 0;
}

/* (Setuid and setgid bits are dropped: the root is nosuid, and a host user must never find a
 * setuid file a cage made there.) */
int64_t sys_fchmod(struct lind_call *c)
{
    int h = fd_host_owned(c, arg_int(c, 0));
    if (h < 0)
        return h;
    return fchmod(h, arg_u32(c, 1) & 01777) < 0 ? -errno : 0;
}

int64_t sys_fchown(struct lind_call *c)
{
    int h = fd_host_owned(c, arg_int(c, 0));
    if (h < 0)
        return h;
    return chown_allowed(h, arg_u32(c, 1), arg_u32(c, 2));
}

/* struct stat (144 bytes) has the kernel's x86-64 layout in the guest: copied as is. */
int64_t sys_fstat(struct lind_call *c)
{
    int h = fd_host(c, arg_int(c, 0));
    if (h < 0)
        return h;
    struct stat *g = guest_ptr(c, c->a[1], sizeof(struct stat));
    if (!g)
        return -EFAULT;
    return fstat(h, g) < 0 ? -errno : 0;
}

int64_t sys_fstatfs(struct lind_call *c)
{
    int h = fd_host(c, arg_int(c, 0));
    if (h < 0)
        return h;
    struct statfs *g = guest_ptr(c, c->a[1], sizeof(struct statfs));
    if (!g)
        return -EFAULT;
    return fstatfs(h, g) < 0 ? -errno : 0;
}

/* struct linux_dirent64 is the same in the guest and the kernel. */
/* getdents64: struct dirent64 is the kernel's; each d_off becomes a guest position (dirpos.c). */
int64_t sys_getdents64(struct lind_call *c)
{
    struct fd_file *f;
    int h = fd_host_file(c, arg_int(c, 0), &f);
    uint32_t n = arg_u32(c, 2);
    if (h < 0)
        return h;
    uint8_t *g = guest_ptr(c, c->a[1], n);
    if (!g)
        return -EFAULT;
    long r = syscall(SYS_getdents64, h, g, n);
    if (r < 0)
        return -errno;
    for (long p = 0; p + 19 <= r;) { /* d_ino 8, d_off 8, d_reclen 2, d_type 1, name */
        int64_t off;
        uint16_t reclen;
        memcpy(&off, g + p + 8, 8);
        memcpy(&reclen, g + p + 16, 2);
        off = dirpos_to_guest(f, off);
        if (off < 0)
            return off;
        memcpy(g + p + 8, &off, 8);
        if (reclen == 0)
            break;
        p += reclen;
    }
    return r;
}

int64_t sys_fchdir(struct lind_call *c)
{
    char path[PATH_MAX];
    struct stat st;
    int h = fd_host(c, arg_int(c, 0));
    if (h < 0)
        return h;
    if (fstat(h, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    (void)path;
    int d = fcntl(h, F_DUPFD_CLOEXEC, 3);
    if (d < 0)
        return -errno;
    return cage_chdir_fd(c->cage, d);
}

static int64_t do_pipe(struct lind_call *c, int flags)
{
    int *g = guest_ptr(c, c->a[0], 8), p[2];
    if (!g)
        return -EFAULT;
    if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
        return -EINVAL;
    if (pipe2(p, O_CLOEXEC | (flags & (O_NONBLOCK | O_DIRECT))) < 0)
        return -errno;
    int cloexec = !!(flags & O_CLOEXEC);
    int r0 = fd_install(c->cage, p[0], cloexec, 0);
    if (r0 < 0) {
        close(p[1]);
        return r0;
    }
    int r1 = fd_install(c->cage, p[1], cloexec, 0);
    if (r1 < 0) {
        fd_close(c->cage, r0);
        return r1;
    }
    g[0] = r0;
    g[1] = r1;
    return 0;
}

int64_t sys_pipe(struct lind_call *c) { return do_pipe(c, 0); }
int64_t sys_pipe2(struct lind_call *c) { return do_pipe(c, arg_int(c, 1)); }

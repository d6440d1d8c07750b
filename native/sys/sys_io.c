/* Data movement on fds: read/write and their vector and positional forms, lseek.
 * Calls:  base/ (guest_abi), kern/ (cage, call, fdtable, mm, proc), sys/ (syscalls).
 * Called by: sys/ (syscall_table). */
#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/guest_abi.h"
#include "kern/cage.h"
#include "kern/call.h"
#include "kern/fdtable.h"
#include "kern/mm.h"
#include "kern/proc.h"
#include "sys/syscalls.h"

#define L_SIGPIPE 13

/* The data plane calls the kernel directly: glibc's read/write/pread/pwrite are cancellation
 * points, whose bookkeeping costs more than the call itself for small transfers. */
#define host_read(fd, b, n) syscall(SYS_read, (fd), (b), (n))
#define host_write(fd, b, n) syscall(SYS_write, (fd), (b), (n))
#define host_pread(fd, b, n, o) syscall(SYS_pread64, (fd), (b), (n), (o))
#define host_pwrite(fd, b, n, o) syscall(SYS_pwrite64, (fd), (b), (n), (o))

/* A write to a pipe or socket nobody reads: EPIPE, and SIGPIPE to the writer, as on Linux. */
static int64_t write_result(struct lind_call *c, ssize_t r)
{
    if (r >= 0)
        return r;
    if (errno == EPIPE)
        cage_post_signal(c->cage, L_SIGPIPE);
    return -errno;
}


/* read, write, pread64, pwrite64: fd, buffer, count [, offset]. */
static int64_t buf_io(struct lind_call *c, int write_, int positional)
{
    int h = fd_host(c, arg_int(c, 0));
    uint32_t n = arg_u32(c, 2);
    if (h < 0)
        return h;
    void *buf = n ? guest_ptr(c, c->a[1], n) : c->cage->base;
    if (!buf)
        return -EFAULT;
    if (write_)
        return write_result(c, positional ? host_pwrite(h, buf, n, arg_i64(c, 3)) : host_write(h, buf, n));
    ssize_t r = positional ? host_pread(h, buf, n, arg_i64(c, 3)) : host_read(h, buf, n);
    return r < 0 ? -errno : r;
}

int64_t sys_read(struct lind_call *c) { return buf_io(c, 0, 0); }
int64_t sys_write(struct lind_call *c) { return buf_io(c, 1, 0); }
int64_t sys_pread64(struct lind_call *c) { return buf_io(c, 0, 1); }
int64_t sys_pwrite64(struct lind_call *c) { return buf_io(c, 1, 1); }

static int64_t vec_io(struct lind_call *c, int write_, int positional)
{
    struct iovec iov[LIND_IOV_MAX];
    int h = fd_host(c, arg_int(c, 0));
    int cnt = arg_int(c, 2);
    if (h < 0)
        return h;
    int r = cnt < 0 ? -EINVAL : guest_iovec(c, c->a[1], (uint32_t)cnt, iov);
    if (r < 0)
        return r;
    ssize_t n;
    if (positional) {
        int64_t off = arg_i64(c, 3);
        if (off < 0)
            return -EINVAL;
        n = write_ ? pwritev(h, iov, cnt, off) : preadv(h, iov, cnt, off);
    } else {
        n = write_ ? writev(h, iov, cnt) : readv(h, iov, cnt);
    }
    return write_ ? write_result(c, n) : (n < 0 ? -errno : n);
}

int64_t sys_readv(struct lind_call *c) { return vec_io(c, 0, 0); }
int64_t sys_writev(struct lind_call *c) { return vec_io(c, 1, 0); }
int64_t sys_preadv(struct lind_call *c) { return vec_io(c, 0, 1); }
int64_t sys_pwritev(struct lind_call *c) { return vec_io(c, 1, 1); }

int64_t sys_lseek(struct lind_call *c)
{
    struct fd_file *f;
    int h = fd_host_file(c, arg_int(c, 0), &f);
    if (h < 0)
        return h;
    int64_t off = arg_i64(c, 1);
    int whence = arg_int(c, 2);
    if (!dirpos_used(f)) {
        off_t r = lseek(h, off, whence);
        return r < 0 ? -errno : r;
    }
    /* a directory read by getdents64: positions are the guest's (dirpos.c) */
    if (whence == SEEK_SET) {
        int r = dirpos_to_real(f, off, &off);
        if (r < 0)
            return r;
    } else if (off != 0) {
        return -EINVAL;
    }
    off_t r = lseek(h, off, whence);
    return r < 0 ? -errno : dirpos_to_guest(f, r);
}

/* imfs: an in-memory file system grate. Files whose absolute path is under a prefix live in the
 * grate's memory; every other call and path goes to whatever is below (the microvisor).
 *
 *   lind run --root R imfs.wasm [--prefix /mem] /prog.wasm [args...]
 *
 * Under the prefix (a flat directory: names without '/'):
 *   open/openat/creat (O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_RDONLY/O_WRONLY/O_RDWR, O_CLOEXEC),
 *   read, write, readv, writev, pread64, pwrite64, lseek, ftruncate, fstat, stat, lstat,
 *   newfstatat, access, faccessat, unlink, unlinkat, rename, close, dup, dup2, dup3,
 *   fcntl(F_DUPFD, F_DUPFD_CLOEXEC, F_GETFL, F_SETFL), and getdents64 on the prefix directory.
 * File descriptors: an in-memory file's fd is a real fd of the calling cage, reserved by opening
 * /dev/null on its behalf, so fd numbers never collide with the cage's other fds, poll/close/exec
 * keep working on them, and the grate keeps a per-cage map fd -> open file (offset, flags) ->
 * inode. fork copies the map (the offset stays shared, as with real files), exec drops the
 * O_CLOEXEC entries, exit_group drops the cage's map. Only absolute paths are recognized (a
 * relative path goes below even if the cage's cwd is under the prefix). Data is lost when the
 * grate exits. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "grate.h"

enum {
    SYS_read = 0, SYS_write = 1, SYS_open = 2, SYS_close = 3, SYS_stat = 4, SYS_fstat = 5, SYS_lstat = 6,
    SYS_lseek = 8, SYS_pread64 = 17, SYS_pwrite64 = 18, SYS_readv = 19, SYS_writev = 20, SYS_access = 21,
    SYS_dup = 32, SYS_dup2 = 33, SYS_fork = 57, SYS_vfork = 58, SYS_execve = 59, SYS_fcntl = 72,
    SYS_ftruncate = 77, SYS_rename = 82, SYS_unlink = 87, SYS_creat = 85, SYS_getdents64 = 217,
    SYS_exit_group = 231, SYS_openat = 257, SYS_newfstatat = 262, SYS_unlinkat = 263, SYS_faccessat = 269,
    SYS_dup3 = 292,
};

/* struct stat as the x86-64 kernel (and so the cage's libc) lays it out */
struct kstat {
    uint64_t dev, ino, nlink;
    uint32_t mode, uid, gid, pad0;
    uint64_t rdev;
    int64_t size, blksize, blocks;
    int64_t atime, atime_ns, mtime, mtime_ns, ctime, ctime_ns;
    int64_t unused[3];
};

struct inode {
    char name[256];
    uint8_t *data;
    size_t size, cap;
    uint32_t mode;
    int linked; /* still has its name */
    int refs;   /* open file descriptions */
    uint64_t ino;
    struct timespec mtime, ctime;
};

struct ofd { /* an open file description: shared by dup'ed and inherited fds */
    struct inode *ino; /* NULL: the prefix directory */
    int64_t off;
    int flags;
    int refs;
};

struct fdmap { /* one cage's in-memory fds */
    uint64_t cage;
    int n;
    struct ofd **fd;
    unsigned char *cloexec;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char prefix[256] = "/mem";
static size_t prefix_len = 4;
static struct inode **files;
static int nfiles, capfiles;
static uint64_t next_ino = 2;
static struct fdmap *maps;
static int nmaps, capmaps;
static const char devnull[] = "/dev/null";

/* ---- helpers (lock held unless said otherwise) ---- */

static int from_cage(uint64_t cage, uint64_t addr, void *dst, size_t len)
{
    if (!len)
        return 0;
    return copy_data_between_cages(grateid, cage, addr, cage, (uint64_t)(uintptr_t)dst, grateid, len, 0);
}

static int to_cage(uint64_t cage, uint64_t addr, const void *src, size_t len)
{
    if (!len)
        return 0;
    return copy_data_between_cages(grateid, cage, (uint64_t)(uintptr_t)src, grateid, addr, cage, len, 0);
}

/* The path argument if it names something under the prefix: 1 and the name ("" for the prefix
 * directory itself); 0 if not ours; -errno if unreadable. (No lock needed.) */
static int our_path(uint64_t cage, uint64_t addr, char *name)
{
    char path[4096];
    if (addr == 0)
        return 0;
    if (copy_data_between_cages(grateid, cage, addr, cage, (uint64_t)(uintptr_t)path, grateid, sizeof path, 1) < 0)
        return errno == EINVAL ? -ENAMETOOLONG : -EFAULT;
    if (strncmp(path, prefix, prefix_len) != 0)
        return 0;
    const char *rest = path + prefix_len;
    if (*rest && *rest != '/')
        return 0; /* /memory is not under /mem */
    while (*rest == '/')
        rest++;
    size_t n = strlen(rest);
    while (n && rest[n - 1] == '/')
        n--;
    if (n >= 256)
        return -ENAMETOOLONG;
    memcpy(name, rest, n);
    name[n] = 0;
    return 1;
}

static struct inode *lookup(const char *name, int *index)
{
    for (int i = 0; i < nfiles; i++)
        if (strcmp(files[i]->name, name) == 0) {
            if (index)
                *index = i;
            return files[i];
        }
    return NULL;
}

static void inode_put(struct inode *ino)
{
    if (ino && --ino->refs == 0 && !ino->linked) {
        free(ino->data);
        free(ino);
    }
}

static void ofd_put(struct ofd *f)
{
    if (--f->refs == 0) {
        inode_put(f->ino);
        free(f);
    }
}

static struct fdmap *map_of(uint64_t cage, int create)
{
    for (int i = 0; i < nmaps; i++)
        if (maps[i].cage == cage)
            return &maps[i];
    if (!create)
        return NULL;
    if (nmaps == capmaps) {
        int cap = capmaps ? capmaps * 2 : 16;
        struct fdmap *m = realloc(maps, (size_t)cap * sizeof *m);
        if (!m)
            return NULL;
        maps = m;
        capmaps = cap;
    }
    maps[nmaps] = (struct fdmap){.cage = cage};
    return &maps[nmaps++];
}

static struct ofd *fd_ofd(uint64_t cage, uint64_t fd)
{
    if (!nmaps)
        return NULL;
    struct fdmap *m = map_of(cage, 0);
    int i = (int)(uint32_t)fd;
    return m && i >= 0 && i < m->n ? m->fd[i] : NULL;
}

static int fd_put_ofd(uint64_t cage, int fd, struct ofd *f, int cloexec)
{
    struct fdmap *m = map_of(cage, 1);
    if (!m)
        return -ENOMEM;
    if (fd >= m->n) {
        int n = fd + 16;
        struct ofd **v = realloc(m->fd, (size_t)n * sizeof *v);
        unsigned char *c = v ? realloc(m->cloexec, (size_t)n) : NULL;
        if (v)
            m->fd = v;
        if (!c)
            return -ENOMEM;
        m->cloexec = c;
        memset(m->fd + m->n, 0, (size_t)(n - m->n) * sizeof *v);
        memset(m->cloexec + m->n, 0, (size_t)(n - m->n));
        m->n = n;
    }
    struct ofd *old = m->fd[fd];
    if (f)
        f->refs++; /* before dropping the old one: it may be the same */
    m->fd[fd] = f;
    m->cloexec[fd] = (unsigned char)cloexec;
    if (old)
        ofd_put(old);
    return 0;
}

static void fd_drop(uint64_t cage, int fd)
{
    struct fdmap *m = map_of(cage, 0);
    if (m && fd >= 0 && fd < m->n && m->fd[fd]) {
        ofd_put(m->fd[fd]);
        m->fd[fd] = NULL;
    }
}

static void map_drop(uint64_t cage)
{
    struct fdmap *m = map_of(cage, 0);
    if (!m)
        return;
    for (int i = 0; i < m->n; i++)
        if (m->fd[i])
            ofd_put(m->fd[i]);
    free(m->fd);
    free(m->cloexec);
    *m = maps[--nmaps];
}

static int reserve(size_t need, struct inode *ino)
{
    if (need <= ino->cap)
        return 0;
    size_t cap = ino->cap ? ino->cap : 4096;
    while (cap < need)
        cap *= 2;
    uint8_t *d = realloc(ino->data, cap);
    if (!d)
        return -ENOSPC;
    ino->data = d;
    ino->cap = cap;
    return 0;
}

static void fill_stat(struct kstat *st, const struct inode *ino)
{
    memset(st, 0, sizeof *st);
    st->dev = 0x1d;
    st->blksize = 4096;
    if (!ino) { /* the prefix directory */
        st->ino = 1;
        st->nlink = 2;
        st->mode = S_IFDIR | 0777;
        st->size = 0;
        return;
    }
    st->ino = ino->ino;
    st->nlink = ino->linked ? 1 : 0;
    st->mode = ino->mode;
    st->size = (int64_t)ino->size;
    st->blocks = (int64_t)((ino->size + 511) / 512);
    st->mtime = st->atime = ino->mtime.tv_sec;
    st->mtime_ns = st->atime_ns = ino->mtime.tv_nsec;
    st->ctime = ino->ctime.tv_sec;
    st->ctime_ns = ino->ctime.tv_nsec;
}

static int stat_name(uint64_t cage, const char *name, uint64_t buf)
{
    struct kstat st;
    pthread_mutex_lock(&lock);
    struct inode *ino = *name ? lookup(name, NULL) : NULL;
    int r = 0;
    if (*name && !ino)
        r = -ENOENT;
    else
        fill_stat(&st, ino);
    pthread_mutex_unlock(&lock);
    if (r == 0 && to_cage(cage, buf, &st, sizeof st) < 0)
        r = -EFAULT;
    return r;
}

/* ---- open ---- */

static int do_open(uint64_t cage, const char *name, int flags, int mode)
{
    int acc = flags & O_ACCMODE;
    if (strchr(name, '/'))
        return -ENOENT; /* no subdirectories */
    if (!*name) { /* the directory itself */
        if (acc != O_RDONLY || (flags & O_CREAT))
            return -EISDIR;
    } else if (flags & O_DIRECTORY) {
        pthread_mutex_lock(&lock);
        int exists = lookup(name, NULL) != NULL;
        pthread_mutex_unlock(&lock);
        return exists ? -ENOTDIR : -ENOENT;
    }
    /* a real fd of the cage, so our fd numbers are never the cage's other fds */
    int fd = make_threei_call(SYS_open, 0, grateid, cage, (uint64_t)(uintptr_t)devnull,
                              grateid | GRATE_MEMORY_FLAG, O_RDWR | (flags & O_CLOEXEC), cage, 0, cage, 0, cage,
                              0, cage, 0, cage, 0);
    if (fd < 0)
        return fd;
    struct ofd *f = calloc(1, sizeof *f);
    int r = f ? 0 : -ENOMEM;
    pthread_mutex_lock(&lock);
    struct inode *ino = NULL;
    if (r == 0 && *name) {
        ino = lookup(name, NULL);
        if (ino && (flags & O_CREAT) && (flags & O_EXCL)) {
            r = -EEXIST;
        } else if (!ino && !(flags & O_CREAT)) {
            r = -ENOENT;
        } else if (!ino) {
            ino = calloc(1, sizeof *ino);
            if (nfiles == capfiles) {
                int cap = capfiles ? capfiles * 2 : 16;
                struct inode **v = realloc(files, (size_t)cap * sizeof *v);
                if (v) {
                    files = v;
                    capfiles = cap;
                }
            }
            if (!ino || nfiles == capfiles) {
                free(ino);
                ino = NULL;
                r = -ENOSPC;
            } else {
                strcpy(ino->name, name);
                ino->mode = S_IFREG | ((uint32_t)mode & 07777);
                ino->linked = 1;
                ino->ino = next_ino++;
                clock_gettime(CLOCK_REALTIME, &ino->mtime);
                ino->ctime = ino->mtime;
                files[nfiles++] = ino;
            }
        }
        if (r == 0 && (flags & O_TRUNC) && acc != O_RDONLY) {
            ino->size = 0;
            clock_gettime(CLOCK_REALTIME, &ino->mtime);
        }
    }
    if (r == 0) {
        f->ino = ino;
        f->flags = flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC);
        if (ino)
            ino->refs++;
        r = fd_put_ofd(cage, fd, f, !!(flags & O_CLOEXEC));
        if (r < 0) {
            f->refs = 1;
            ofd_put(f);
        }
        f = NULL;
    }
    pthread_mutex_unlock(&lock);
    free(f);
    if (r < 0) {
        make_threei_call(SYS_close, 0, grateid, cage, (uint64_t)fd, cage, 0, cage, 0, cage, 0, cage, 0, cage, 0,
                         cage, 0);
        return r;
    }
    return fd;
}

HANDLER(h_open)
{
    char name[256];
    int ours = our_path(a1c, a1, name);
    if (ours == 0)
        return FORWARD(SYS_open);
    if (ours < 0)
        return ours;
    return do_open(a1c, name, (int)a2, (int)a3);
}

HANDLER(h_creat)
{
    char name[256];
    int ours = our_path(a1c, a1, name);
    if (ours == 0)
        return FORWARD(SYS_creat);
    if (ours < 0)
        return ours;
    return do_open(a1c, name, O_CREAT | O_WRONLY | O_TRUNC, (int)a2);
}

HANDLER(h_openat)
{
    char name[256];
    int ours = our_path(a2c, a2, name); /* only absolute paths: dirfd does not matter */
    if (ours == 0)
        return FORWARD(SYS_openat);
    if (ours < 0)
        return ours;
    return do_open(a2c, name, (int)a3, (int)a4);
}

/* ---- data ---- */

static int64_t do_read(uint64_t cage, struct ofd *f, uint64_t buf, uint64_t len, int64_t off, int advance)
{
    if ((f->flags & O_ACCMODE) == O_WRONLY)
        return -EBADF;
    if (!f->ino)
        return -EISDIR;
    if (off < 0)
        return -EINVAL;
    struct inode *ino = f->ino;
    uint64_t n = (uint64_t)off >= ino->size ? 0 : ino->size - (uint64_t)off;
    if (n > len)
        n = len;
    if (n && to_cage(cage, buf, ino->data + off, n) < 0)
        return -EFAULT;
    if (advance)
        f->off = off + (int64_t)n;
    return (int64_t)n;
}

static int64_t do_write(uint64_t cage, struct ofd *f, uint64_t buf, uint64_t len, int64_t off, int advance)
{
    if ((f->flags & O_ACCMODE) == O_RDONLY)
        return -EBADF;
    if (!f->ino)
        return -EISDIR;
    struct inode *ino = f->ino;
    if (advance && (f->flags & O_APPEND))
        off = (int64_t)ino->size;
    if (off < 0)
        return -EINVAL;
    if (len > 0x7fffffff)
        len = 0x7fffffff;
    if (reserve((size_t)off + len, ino) < 0)
        return -ENOSPC;
    if ((size_t)off > ino->size)
        memset(ino->data + ino->size, 0, (size_t)off - ino->size);
    if (len && from_cage(cage, buf, ino->data + off, len) < 0)
        return -EFAULT;
    if ((size_t)off + len > ino->size)
        ino->size = (size_t)off + len;
    clock_gettime(CLOCK_REALTIME, &ino->mtime);
    if (advance)
        f->off = off + (int64_t)len;
    return (int64_t)len;
}

HANDLER(h_read)
{
    pthread_mutex_lock(&lock);
    struct ofd *f = fd_ofd(a1c, a1);
    if (!f) {
        pthread_mutex_unlock(&lock);
        return FORWARD(SYS_read);
    }
    int64_t r = do_read(a2c, f, a2, (uint32_t)a3, f->off, 1);
    pthread_mutex_unlock(&lock);
    return (int)r;
}

HANDLER(h_write)
{
    pthread_mutex_lock(&lock);
    struct ofd *f = fd_ofd(a1c, a1);
    if (!f) {
        pthread_mutex_unlock(&lock);
        return FORWARD(SYS_write);
    }
    int64_t r = do_write(a2c, f, a2, (uint32_t)a3, f->off, 1);
    pthread_mutex_unlock(&lock);
    return (int)r;
}

HANDLER(h_pread64)
{
    pthread_mutex_lock(&lock);
    struct ofd *f = fd_ofd(a1c, a1);
    if (!f) {
        pthread_mutex_unlock(&lock);
        return FORWARD(SYS_pread64);
    }
    int64_t r = do_read(a2c, f, a2, (uint32_t)a3, (int64_t)a4, 0);
    pthread_mutex_unlock(&lock);
    return (int)r;
}

HANDLER(h_pwrite64)
{
    pthread_mutex_lock(&lock);
    struct ofd *f = fd_ofd(a1c, a1);
    if (!f) {
        pthread_mutex_unlock(&lock);
        return FORWARD(SYS_pwrite64);
    }
    int64_t r = do_write(a2c, f, a2, (uint32_t)a3, (int64_t)a4, 0);
    pthread_mutex_unlock(&lock);
    return (int)r;
}

/* readv/writev: struct iovec is the cage's ILP32 one (2 x uint32) */
static int do_vec(uint64_t a1, uint64_t a1c, uint64_t a2, uint64_t a2c, uint64_t a3, int write)
{
    int cnt = (int)(uint32_t)a3;
    if (cnt < 0 || cnt > 1024)
        return -EINVAL;
    uint32_t iov[2 * 64];
    int64_t total = 0;
    for (int base = 0; base < cnt; base += 64) {
        int k = cnt - base < 64 ? cnt - base : 64;
        if (from_cage(a2c, a2 + (uint64_t)base * 8, iov, (size_t)k * 8) < 0)
            return total ? (int)total : -EFAULT;
        for (int i = 0; i < k; i++) {
            struct ofd *f = fd_ofd(a1c, a1);
            if (!f)
                return total ? (int)total : -EBADF;
            int64_t r = write ? do_write(a2c, f, iov[2 * i], iov[2 * i + 1], f->off, 1)
                              : do_read(a2c, f, iov[2 * i], iov[2 * i + 1], f->off, 1);
            if (r < 0)
                return total ? (int)total : (int)r;
            total += r;
            if ((uint64_t)r < iov[2 * i + 1])
                return (int)total;
        }
    }
    return (int)total;
}

HANDLER(h_readv)
{
    pthread_mutex_lock(&lock);
    if (!fd_ofd(a1c, a1)) {
        pthread_mutex_unlock(&lock);
        return FORWARD(SYS_readv);
    }
    int r = do_vec(a1, a1c, a2, a2c, a3, 0);
    pthread_mutex_unlock(&lock);
    return r;
}

HANDLER(h_writev)
{
    pthread_mutex_lock(&lock);
    if (!fd_ofd(a1c, a1)) {
        pthread_mutex_unlock(&lock);
        return FORWARD(SYS_writev);
    }
    int r = do_vec(a1, a1c, a2, a2c, a3, 1);
    pthread_mutex_unlock(&lock);
    return r;
}

HANDLER(h_lseek)
{
    pthread_mutex_lock(&lock);
    struct ofd *f = fd_ofd(a1c, a1);
    if (!f) {
        pthread_mutex_unlock(&lock);
        return FORWARD(SYS_lseek);
    }
    int64_t off = (int64_t)a2, base;
    switch ((int)a3) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = f->off; break;
    case SEEK_END: base = f->ino ? (int64_t)f->ino->size : 0; break;
    default: base = -1;
    }
    int64_t r = base < 0 || base + off < 0 ? -EINVAL : base + off;
    if (r > 0x7fffffff)
        r = -EOVERFLOW; /* a handler returns 32 bits */
    if (r >= 0)
        f->off = r;
    pthread_mutex_unlock(&lock);
    return (int)r;
}

HANDLER(h_ftruncate)
{
    pthread_mutex_lock(&lock);
    struct ofd *f = fd_ofd(a1c, a1);
    if (!f) {
        pthread_mutex_unlock(&lock);
        return FORWARD(SYS_ftruncate);
    }
    int64_t len = (int64_t)a2;
    int r = 0;
    if (!f->ino || (f->flags & O_ACCMODE) == O_RDONLY)
        r = -EINVAL;
    else if (len < 0 || len > 0x7fffffff)
        r = -EINVAL;
    else if ((size_t)len > f->ino->size && (r = reserve((size_t)len, f->ino)) == 0)
        memset(f->ino->data + f->ino->size, 0, (size_t)len - f->ino->size);
    if (r == 0) {
        f->ino->size = (size_t)len;
        clock_gettime(CLOCK_REALTIME, &f->ino->mtime);
    }
    pthread_mutex_unlock(&lock);
    return r;
}

/* ---- metadata ---- */

HANDLER(h_fstat)
{
    struct kstat st;
    pthread_mutex_lock(&lock);
    struct ofd *f = fd_ofd(a1c, a1);
    if (!f) {
        pthread_mutex_unlock(&lock);
        return FORWARD(SYS_fstat);
    }
    fill_stat(&st, f->ino);
    pthread_mutex_unlock(&lock);
    return to_cage(a2c, a2, &st, sizeof st) < 0 ? -EFAULT : 0;
}

HANDLER(h_stat)
{
    char name[256];
    int ours = our_path(a1c, a1, name);
    if (ours == 0)
        return FORWARD(SYS_stat);
    return ours < 0 ? ours : stat_name(a1c, name, a2);
}

HANDLER(h_lstat)
{
    char name[256];
    int ours = our_path(a1c, a1, name);
    if (ours == 0)
        return FORWARD(SYS_lstat);
    return ours < 0 ? ours : stat_name(a1c, name, a2);
}

HANDLER(h_newfstatat)
{
    char name[256];
    if (a4 & AT_EMPTY_PATH) { /* fstatat(fd, "", st, AT_EMPTY_PATH) */
        pthread_mutex_lock(&lock);
        struct ofd *f = fd_ofd(a1c, a1);
        struct kstat st;
        if (f)
            fill_stat(&st, f->ino);
        pthread_mutex_unlock(&lock);
        if (f)
            return to_cage(a3c, a3, &st, sizeof st) < 0 ? -EFAULT : 0;
    }
    int ours = our_path(a2c, a2, name);
    if (ours == 0)
        return FORWARD(SYS_newfstatat);
    return ours < 0 ? ours : stat_name(a2c, name, a3);
}

static int access_name(const char *name)
{
    pthread_mutex_lock(&lock);
    int ok = !*name || lookup(name, NULL);
    pthread_mutex_unlock(&lock);
    return ok ? 0 : -ENOENT;
}

HANDLER(h_access)
{
    char name[256];
    int ours = our_path(a1c, a1, name);
    if (ours == 0)
        return FORWARD(SYS_access);
    return ours < 0 ? ours : access_name(name);
}

HANDLER(h_faccessat)
{
    char name[256];
    int ours = our_path(a2c, a2, name);
    if (ours == 0)
        return FORWARD(SYS_faccessat);
    return ours < 0 ? ours : access_name(name);
}

static int unlink_name(const char *name)
{
    if (!*name)
        return -EISDIR;
    int idx;
    pthread_mutex_lock(&lock);
    struct inode *ino = lookup(name, &idx);
    if (ino) {
        files[idx] = files[--nfiles];
        ino->linked = 0;
        ino->refs++;
        inode_put(ino); /* frees it unless it is open */
    }
    pthread_mutex_unlock(&lock);
    return ino ? 0 : -ENOENT;
}

HANDLER(h_unlink)
{
    char name[256];
    int ours = our_path(a1c, a1, name);
    if (ours == 0)
        return FORWARD(SYS_unlink);
    return ours < 0 ? ours : unlink_name(name);
}

HANDLER(h_unlinkat)
{
    char name[256];
    int ours = our_path(a2c, a2, name);
    if (ours == 0)
        return FORWARD(SYS_unlinkat);
    if (ours < 0)
        return ours;
    if (a3 & AT_REMOVEDIR)
        return *name ? -ENOTDIR : -EBUSY;
    return unlink_name(name);
}

HANDLER(h_rename)
{
    char from[256], to[256];
    int o1 = our_path(a1c, a1, from), o2 = our_path(a2c, a2, to);
    if (o1 == 0 && o2 == 0)
        return FORWARD(SYS_rename);
    if (o1 < 0 || o2 < 0)
        return o1 < 0 ? o1 : o2;
    if (o1 != o2)
        return -EXDEV;
    if (!*from || !*to || strchr(to, '/'))
        return -EINVAL;
    pthread_mutex_lock(&lock);
    int idx;
    struct inode *ino = lookup(from, NULL);
    int r = ino ? 0 : -ENOENT;
    if (ino && strcmp(from, to) != 0) {
        struct inode *old = lookup(to, &idx);
        if (old) {
            files[idx] = files[--nfiles];
            old->linked = 0;
            old->refs++;
            inode_put(old);
        }
        strcpy(ino->name, to);
        clock_gettime(CLOCK_REALTIME, &ino->ctime);
    }
    pthread_mutex_unlock(&lock);
    return r;
}

/* getdents64 on the prefix directory: ".", "..", then the files; the offset is an index */
HANDLER(h_getdents64)
{
    pthread_mutex_lock(&lock);
    struct ofd *f = fd_ofd(a1c, a1);
    if (!f) {
        pthread_mutex_unlock(&lock);
        return FORWARD(SYS_getdents64);
    }
    if (f->ino) {
        pthread_mutex_unlock(&lock);
        return -ENOTDIR;
    }
    uint32_t cap = (uint32_t)a3;
    static __thread unsigned char buf[8192];
    if (cap > sizeof buf)
        cap = sizeof buf;
    uint32_t used = 0;
    int r = 0;
    for (;; f->off++) {
        const char *name;
        uint64_t ino;
        unsigned char type;
        if (f->off == 0) {
            name = ".", ino = 1, type = 4;
        } else if (f->off == 1) {
            name = "..", ino = 1, type = 4;
        } else if (f->off - 2 < nfiles) {
            name = files[f->off - 2]->name, ino = files[f->off - 2]->ino, type = 8;
        } else {
            break;
        }
        uint32_t reclen = (uint32_t)(19 + strlen(name) + 1 + 7) & ~7u;
        if (used + reclen > cap) {
            if (used == 0)
                r = -EINVAL;
            break;
        }
        unsigned char *d = buf + used;
        memset(d, 0, reclen);
        int64_t next = f->off + 1;
        uint16_t rl = (uint16_t)reclen;
        memcpy(d, &ino, 8);
        memcpy(d + 8, &next, 8);
        memcpy(d + 16, &rl, 2);
        d[18] = type;
        strcpy((char *)d + 19, name);
        used += reclen;
    }
    pthread_mutex_unlock(&lock);
    if (r < 0)
        return r;
    return to_cage(a2c, a2, buf, used) < 0 ? -EFAULT : (int)used;
}

/* ---- descriptors ---- */

HANDLER(h_close)
{
    pthread_mutex_lock(&lock);
    fd_drop(a1c, (int)(uint32_t)a1);
    pthread_mutex_unlock(&lock);
    return FORWARD(SYS_close); /* releases the reserved fd (or is a real close) */
}

/* After a successful dup-like call made newfd refer to what oldfd refers to. */
static void dup_done(uint64_t cage, uint64_t oldfd, int newfd, int cloexec)
{
    pthread_mutex_lock(&lock);
    struct ofd *f = fd_ofd(cage, oldfd);
    if (f)
        fd_put_ofd(cage, newfd, f, cloexec);
    else
        fd_drop(cage, newfd); /* a real fd now has that number */
    pthread_mutex_unlock(&lock);
}

HANDLER(h_dup)
{
    int r = FORWARD(SYS_dup);
    if (r >= 0)
        dup_done(a1c, a1, r, 0);
    return r;
}

HANDLER(h_dup2)
{
    int r = FORWARD(SYS_dup2);
    if (r >= 0 && (uint32_t)a1 != (uint32_t)a2)
        dup_done(a1c, a1, r, 0);
    return r;
}

HANDLER(h_dup3)
{
    int r = FORWARD(SYS_dup3);
    if (r >= 0)
        dup_done(a1c, a1, r, !!(a3 & O_CLOEXEC));
    return r;
}

HANDLER(h_fcntl)
{
    int cmd = (int)(uint32_t)a2;
    if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
        int r = FORWARD(SYS_fcntl);
        if (r >= 0)
            dup_done(a1c, a1, r, cmd == F_DUPFD_CLOEXEC);
        return r;
    }
    if (cmd == F_GETFL || cmd == F_SETFL || cmd == F_SETFD) {
        pthread_mutex_lock(&lock);
        struct ofd *f = fd_ofd(a1c, a1);
        int r = 0;
        if (f && cmd == F_GETFL)
            r = f->flags;
        else if (f && cmd == F_SETFL)
            f->flags = (f->flags & ~O_APPEND) | ((int)a3 & O_APPEND);
        else if (f) /* F_SETFD: remember close-on-exec, and tell the reserved fd too */
            fd_put_ofd(a1c, (int)(uint32_t)a1, f, !!(a3 & FD_CLOEXEC));
        pthread_mutex_unlock(&lock);
        if (f && cmd != F_SETFD)
            return r;
    }
    return FORWARD(SYS_fcntl);
}

/* ---- processes: the map follows the fd table ---- */

static int fork_common(uint64_t cage, int r)
{
    if (r > 0) { /* the child does not run before this handler returns */
        pthread_mutex_lock(&lock);
        map_drop((uint64_t)r); /* a stale map of an earlier cage with that id */
        struct fdmap *m = map_of(cage, 0);
        for (int i = 0; m && i < m->n; i++) {
            if (m->fd[i])
                fd_put_ofd((uint64_t)r, i, m->fd[i], m->cloexec[i]);
            m = map_of(cage, 0); /* fd_set may have grown the map array */
        }
        pthread_mutex_unlock(&lock);
    }
    return r;
}

HANDLER(h_fork) { return fork_common(a1c, FORWARD(SYS_fork)); }
HANDLER(h_vfork) { return fork_common(a1c, FORWARD(SYS_vfork)); }

HANDLER(h_execve)
{
    int r = FORWARD(SYS_execve);
    if (r == 0) { /* the exec closed the close-on-exec fds */
        pthread_mutex_lock(&lock);
        struct fdmap *m = map_of(a1c, 0);
        for (int i = 0; m && i < m->n; i++)
            if (m->fd[i] && m->cloexec[i])
                fd_drop(a1c, i);
        pthread_mutex_unlock(&lock);
    }
    return r;
}

HANDLER(h_exit_group)
{
    pthread_mutex_lock(&lock);
    map_drop(a1c);
    pthread_mutex_unlock(&lock);
    return FORWARD(SYS_exit_group);
}

static const struct {
    int nr;
    handler_t h;
} table[] = {
    {SYS_open, h_open}, {SYS_creat, h_creat}, {SYS_openat, h_openat}, {SYS_read, h_read},
    {SYS_write, h_write}, {SYS_pread64, h_pread64}, {SYS_pwrite64, h_pwrite64}, {SYS_readv, h_readv},
    {SYS_writev, h_writev}, {SYS_lseek, h_lseek}, {SYS_ftruncate, h_ftruncate}, {SYS_fstat, h_fstat},
    {SYS_stat, h_stat}, {SYS_lstat, h_lstat}, {SYS_newfstatat, h_newfstatat}, {SYS_access, h_access},
    {SYS_faccessat, h_faccessat}, {SYS_unlink, h_unlink}, {SYS_unlinkat, h_unlinkat}, {SYS_rename, h_rename},
    {SYS_getdents64, h_getdents64}, {SYS_close, h_close}, {SYS_dup, h_dup}, {SYS_dup2, h_dup2},
    {SYS_dup3, h_dup3}, {SYS_fcntl, h_fcntl}, {SYS_fork, h_fork}, {SYS_vfork, h_vfork},
    {SYS_execve, h_execve}, {SYS_exit_group, h_exit_group},
};

static int register_all(uint64_t me)
{
    for (size_t k = 0; k < sizeof table / sizeof *table; k++)
        if (register_handler(me, (uint64_t)table[k].nr, grateid, (uint64_t)(uintptr_t)table[k].h) < 0) {
            perror("imfs: register_handler");
            return -1;
        }
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: imfs [--prefix /DIR] PROGRAM [ARGS...]\n");
    return 2;
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc || strcmp(argv[i], "--prefix") != 0)
            return usage();
        const char *p = argv[i + 1];
        size_t n = strlen(p);
        while (n > 1 && p[n - 1] == '/')
            n--;
        if (p[0] != '/' || n < 2 || n >= sizeof prefix)
            return usage();
        memcpy(prefix, p, n);
        prefix[n] = 0;
        prefix_len = n;
    }
    if (i >= argc)
        return usage();
    return grate_run("imfs", &argv[i], register_all);
}

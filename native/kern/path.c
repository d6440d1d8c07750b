/* Path resolution inside a cage's root, without privileges.
 *
 * Every guest path becomes an absolute cage path (cwd or the dirfd's path prepended) and is
 * resolved by the host kernel with openat2(root_fd, path, RESOLVE_IN_ROOT): "..", absolute and
 * relative symlinks all stay inside the root, so no lexical cleaning is needed and races with
 * renames cannot escape either. Operations that act on a name (mkdir, unlink, rename, ...) resolve
 * the parent directory that way and then act on the last component, which holds no '/'.
 * Calls:  kern/ (cage, call, fdtable, mm).  Called by: kern/ (cage), sys/, threei/ (dispatch). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/mman.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kern/cage.h"
#include "kern/call.h"
#include "kern/fdtable.h"
#include "kern/mm.h"
#include "kern/path.h"

/* Host devices every cage sees at the usual paths, whatever its root holds. */
static const char *const virtual_devices[] = {
    "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", NULL,
};

/* Lexical clean-up, used only to recognise the virtual devices. */
static void normalize(const char *in, char *out)
{
    size_t n = 0;
    const char *p = in;
    out[n++] = '/';
    while (*p) {
        while (*p == '/')
            p++;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t len = (size_t)(p - s);
        if (len == 0 || (len == 1 && s[0] == '.'))
            continue;
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            while (n > 1 && out[n - 1] != '/')
                n--;
            if (n > 1)
                n--;
            continue;
        }
        if (n > 1)
            out[n++] = '/';
        if (n + len >= PATH_MAX - 1)
            break;
        memcpy(out + n, s, len);
        n += len;
    }
    out[n] = 0;
}

static const char *virtual_device(const char *abs)
{
    char norm[PATH_MAX];
    if (strncmp(abs, "/dev", 4) != 0 && !strstr(abs, "dev"))
        return NULL;
    normalize(abs, norm);
    for (int i = 0; virtual_devices[i]; i++)
        if (strcmp(norm, virtual_devices[i]) == 0)
            return virtual_devices[i];
    return NULL;
}

/* Files a cage sees with default contents when its root does not have them, so that name
 * resolution of "localhost" works in an empty root. Read-only, sealed memfds. */
static const struct {
    const char *path, *content;
} default_files[] = {
    {"/etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"},
    {NULL, NULL},
};

static int default_file(const char *abs, int flags)
{
    char norm[PATH_MAX];
    normalize(abs, norm);
    for (int i = 0; default_files[i].path; i++) {
        if (strcmp(norm, default_files[i].path) != 0)
            continue;
        if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_CREAT))
            return -ENOENT; /* the root does not have it: only reading gets the default */
        int fd = memfd_create("lind-default", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
            return -errno;
        size_t n = strlen(default_files[i].content);
        if (write(fd, default_files[i].content, n) != (ssize_t)n || lseek(fd, 0, SEEK_SET) != 0) {
            close(fd);
            return -EIO;
        }
        fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
        return fd;
    }
    return -ENOENT;
}

/* ---- the host's umask ----
 * The process umask belongs to the embedder: lind never changes it. The kernel applies it to what
 * a cage creates, on top of the cage's own umask (applied to the mode by the callers); where it
 * takes bits the cage's mode keeps, they are given back to the new node here. Read once: an
 * embedder that makes its umask stricter later only makes cage files stricter. Setuid and setgid
 * bits are never given back. */
static uint32_t host_umask = 022;

void path_init(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[128];
    unsigned m;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Umask: %o", &m) == 1) {
            host_umask = m & 0777;
            break;
        }
    if (f)
        fclose(f);
}

/* Gives the node `base` in dirfd, just made by a cage with permission bits perm, the bits the host
 * umask took from it (always: exactly perm, for a node made without a mode, a unix socket). A
 * symlink a cage may have swapped in is never followed. */
void path_mode_fixup(int dirfd, const char *base, uint32_t perm, int always)
{
    perm &= 01777;
    if (!always && !(perm & host_umask))
        return;
    int fd = openat(dirfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    char proc[32];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (fstat(fd, &st) == 0 && !S_ISLNK(st.st_mode))
        chmod(proc, perm); /* (through the fd: the node itself) */
    close(fd);
}

static long open_in_root(struct lind_cage *cage, const char *abs, int flags, int mode)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .mode = (flags & (O_CREAT | __O_TMPFILE)) ? (uint64_t)mode : 0,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    long fd;
    for (int tries = 0; tries < 16; tries++)
        if ((fd = syscall(SYS_openat2, cage->root_fd, abs, &how, sizeof how)) >= 0 || (errno != EAGAIN && errno != EINTR))
            return fd;
    return -1;
}

/* An open that may create: when the host umask would take bits of mode, the file is created with
 * O_EXCL first, so that only a file this call made has its mode given back. */
static long open_creating(struct lind_cage *cage, const char *abs, int flags, int mode)
{
    uint32_t perm = (uint32_t)mode & 01777;
    if (!(perm & host_umask) || !(flags & (O_CREAT | __O_TMPFILE)))
        return open_in_root(cage, abs, flags, mode);
    if ((flags & __O_TMPFILE) == __O_TMPFILE || (flags & O_EXCL)) {
        long fd = open_in_root(cage, abs, flags, mode);
        if (fd >= 0)
            fchmod((int)fd, perm);
        return fd;
    }
    for (int tries = 0; tries < 8; tries++) {
        long fd = open_in_root(cage, abs, flags | O_EXCL, mode);
        if (fd >= 0) {
            fchmod((int)fd, perm);
            return fd;
        }
        if (errno != EEXIST)
            return fd;
        fd = open_in_root(cage, abs, flags & ~O_CREAT, mode);
        if (fd >= 0 || errno != ENOENT)
            return fd;
        /* removed in between, or a dangling symlink (which O_CREAT follows): try again */
    }
    return open_in_root(cage, abs, flags, mode);
}

/* Is abs one of the host's devices a cage may open (its fd is then foreign: fd_set_foreign)? */
int path_is_host_device(const char *abs) { return virtual_device(abs) != NULL; }

int path_open(struct lind_cage *cage, const char *abs, int flags, int mode, int res)
{
    char norm[PATH_MAX];
    if (strstr(abs, "tty") && (normalize(abs, norm), strcmp(norm, "/dev/tty") == 0))
        return -ENXIO; /* a cage has no controlling terminal (the host's is never reachable) */
    const char *dev = virtual_device(abs);
    if (dev) {
        int fd = open(dev, flags | O_CLOEXEC, mode);
        return fd < 0 ? -errno : fd;
    }
    (void)res;
    long fd = open_creating(cage, abs, flags, mode);
    if (fd >= 0)
        return (int)fd;
    if (errno == ENOENT && !(flags & O_PATH))
        return default_file(abs, flags);
    return errno == EINTR ? -EAGAIN : -errno;
}

/* Is the host path inside the cage's root (the root itself included)? */
static int under_root(const struct lind_cage *cage, const char *host)
{
    return strncmp(host, cage->root_path, cage->root_len) == 0 &&
           (host[cage->root_len] == '/' || host[cage->root_len] == 0);
}

/* Does the host fd name a file or device outside the cage's root (1), or one inside it or an
 * anonymous object, a pipe or a socket (0)? */
int path_fd_outside_root(struct lind_cage *cage, int host_fd)
{
    char link[64], host[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", host_fd);
    ssize_t n = readlink(link, host, sizeof host - 1);
    if (n <= 0 || host[0] != '/')
        return n <= 0; /* (unreadable: treated as outside) */
    host[n] = 0;
    return !under_root(cage, host);
}

/* The host fd of a cage fd whose file's metadata (mode, owner, size, times, links) the call is to
 * change: -EPERM when it is foreign (the embedder's stdio, a host device) or names a file outside
 * the root however it came (passed over a socket, say). (Here rather than in fdtable.c: it tests
 * the file against the root, and path.c calls fdtable.c, not the other way round.) */
int fd_host_owned(struct lind_call *c, int fd)
{
    struct fd_file *f;
    int h = fd_host_file(c, fd, &f);
    return h >= 0 && (f->foreign || path_fd_outside_root(c->cage, h) || path_fd_is_root(c->cage, h)) ? -EPERM : h;
}

/* Is the host fd the cage's root directory itself (the embedder's directory: its mode, owner and
 * times are not the cage's to change)? */
int path_fd_is_root(struct lind_cage *cage, int host_fd)
{
    struct stat a, b;
    return fstat(host_fd, &a) == 0 && fstat(cage->root_fd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The cage's root identity holds no CAP_CHOWN: a file cannot be given to another host user or
 * group (with the host process running as root, that would hand host identities to the cage).
 * A chown that changes nothing succeeds. */
int chown_allowed(int host_fd, uint32_t uid, uint32_t gid)
{
    struct stat st;
    if (fstat(host_fd, &st) < 0)
        return -errno;
    return (uid == (uint32_t)-1 || uid == st.st_uid) && (gid == (uint32_t)-1 || gid == st.st_gid) ? 0 : -EPERM;
}

/* The cage-visible absolute path of a host fd; -ENOTDIR if it lies outside the root. */
int path_of_fd(struct lind_cage *cage, int host_fd, char *out)
{
    char link[64], host[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", host_fd);
    ssize_t n = readlink(link, host, sizeof host - 1);
    if (n < 0)
        return -errno;
    host[n] = 0;
    if (host[0] != '/')
        return -ENOTDIR; /* pipe:[..], socket:[..] */
    if (n > 10 && strcmp(host + n - 10, " (deleted)") == 0)
        return -ENOENT;
    if (!under_root(cage, host))
        return -ENOTDIR;
    const char *rest = host + cage->root_len;
    if (*rest == 0)
        rest = "/";
    if (strlen(rest) >= PATH_MAX)
        return -ENAMETOOLONG;
    strcpy(out, rest);
    return 0;
}

/* Reads a guest path and makes it absolute (cage view) relative to dirfd (AT_FDCWD or a fd). */
int path_from_guest(struct lind_call *c, int dirfd, uint64_t addr, char *out)
{
    char rel[PATH_MAX];
    int r = guest_string(c, addr, rel, sizeof rel);
    if (r < 0)
        return r;
    if (rel[0] == 0)
        return -ENOENT;
    if (rel[0] == '/') {
        strcpy(out, rel);
        return 0;
    }
    char dir[PATH_MAX];
    if (dirfd == AT_FDCWD) {
        r = cage_cwd(c->cage, dir);
        if (r < 0)
            return r;
    } else {
        int h = fd_host(c, dirfd);
        if (h < 0)
            return h;
        r = path_of_fd(c->cage, h, dir);
        if (r < 0)
            return r;
    }
    if (strlen(dir) + 1 + strlen(rel) >= PATH_MAX)
        return -ENAMETOOLONG;
    size_t dl = strcmp(dir, "/") == 0 ? 0 : strlen(dir);
    memcpy(out, dir, dl);
    out[dl] = '/';
    strcpy(out + dl + 1, rel);
    return 0;
}

/* Opens the parent directory of abs (O_PATH) and copies the last component into base_out.
 * Trailing slashes are dropped; the last component of "/" is ".". */
int path_parent(struct lind_cage *cage, const char *abs, char *base_out)
{
    char dir[PATH_MAX];
    size_t n = strlen(abs);
    memcpy(dir, abs, n + 1);
    while (n > 1 && dir[n - 1] == '/')
        dir[--n] = 0;
    char *slash = strrchr(dir, '/');
    if (!slash || n == 1) {
        strcpy(base_out, ".");
        return path_open(cage, "/", O_PATH | O_DIRECTORY, 0, 0);
    }
    strcpy(base_out, slash + 1);
    if (slash == dir)
        slash[1] = 0;
    else
        slash[0] = 0;
    return path_open(cage, dir, O_PATH | O_DIRECTORY, 0, 0);
}

/* The working directory is kept as an fd, so that it follows renames as on Linux; its path is
 * read back from the kernel when needed. */
int cage_cwd(struct lind_cage *cage, char *out)
{
    if (cage->cwd_fd >= 0) {
        char p[PATH_MAX];
        int r = path_of_fd(cage, cage->cwd_fd, p);
        if (r < 0)
            return r == -ENOTDIR ? -ENOENT : r;
        strcpy(cage->cwd, p);
    }
    strcpy(out, cage->cwd);
    return 0;
}

int cage_chdir_fd(struct lind_cage *cage, int host_fd)
{
    char p[PATH_MAX];
    int r = path_of_fd(cage, host_fd, p);
    if (r < 0) {
        close(host_fd);
        return r;
    }
    cage_lock(cage);
    if (cage->cwd_fd >= 0)
        close(cage->cwd_fd);
    cage->cwd_fd = host_fd;
    strcpy(cage->cwd, p);
    cage_unlock(cage);
    return 0;
}

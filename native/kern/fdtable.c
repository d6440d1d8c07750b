/* Per-cage fd tables: virtual fd -> reference-counted host fd + close-on-exec flag.
 * With one thread nothing can race and no lock is taken; with several, the table is changed under
 * the cage lock and a call borrows the host fds it uses (fd_host) until it returns (fd_release).
 * Calls:  kern/ (cage, call).  Called by: kern/ (cage, mm, path), sys/, threei/ (dispatch). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/util.h"
#include "kern/cage.h"
#include "kern/call.h"
#include "kern/fdtable.h"

static void file_put(struct fd_file *f)
{
    if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        close(f->host);
        dirpos_free(f);
        free(f);
    }
}

int fd_host_file(struct lind_call *c, int fd, struct fd_file **file)
{
    struct lind_cage *cage = c->cage;
    if (RELAXED(cage->nthreads) <= 1 && !c->acting && !__atomic_load_n(&cage->refs, __ATOMIC_ACQUIRE)) {
        if (fd < 0 || fd >= cage->nfds || !cage->fds[fd].f)
            return -EBADF;
        *file = cage->fds[fd].f;
        return cage->fds[fd].f->host;
    }
    int h = -EBADF;
    pthread_mutex_lock(&cage->lock);
    if (fd >= 0 && fd < cage->nfds && cage->fds[fd].f && c->nborrowed < 8) {
        struct fd_file *f = cage->fds[fd].f;
        __atomic_add_fetch(&f->refs, 1, __ATOMIC_ACQ_REL);
        c->borrowed[c->nborrowed++] = f;
        *file = f;
        h = f->host;
    }
    pthread_mutex_unlock(&cage->lock);
    return h;
}

int fd_host(struct lind_call *c, int fd)
{
    struct fd_file *f;
    return fd_host_file(c, fd, &f);
}

void fd_release(struct lind_call *c)
{
    while (c->nborrowed > 0)
        file_put(c->borrowed[--c->nborrowed]);
}

static int fd_grow(struct lind_cage *cage, int want)
{
    int n = cage->nfds ? cage->nfds : 16;
    while (n <= want)
        n *= 2;
    struct lind_fd *v = realloc(cage->fds, sizeof *v * (size_t)n);
    if (!v)
        return -ENOMEM;
    for (int i = cage->nfds; i < n; i++) {
        v[i].f = NULL;
        v[i].cloexec = 0;
    }
    cage->fds = v;
    cage->nfds = n;
    return 0;
}

static struct fd_file *file_new(int host)
{
    struct fd_file *f = calloc(1, sizeof *f);
    if (f) {
        f->host = host;
        f->refs = 1;
    }
    return f;
}

void fd_set_foreign(struct lind_cage *cage, int fd)
{
    cage_lock(cage);
    if (fd >= 0 && fd < cage->nfds && cage->fds[fd].f)
        cage->fds[fd].f->foreign = 1;
    cage_unlock(cage);
}

/* Installs host fd at the lowest free virtual fd >= min_fd. Takes ownership of host (closed on
 * failure). Returns the virtual fd or -EMFILE/-ENOMEM. */
int fd_install(struct lind_cage *cage, int host, int cloexec, int min_fd)
{
    struct fd_file *f = file_new(host);
    if (!f) {
        close(host);
        return -ENOMEM;
    }
    cage_lock(cage);
    int limit = (int)(cage->rlim[RLIMIT_NOFILE].cur > INT_MAX ? INT_MAX : cage->rlim[RLIMIT_NOFILE].cur);
    int fd = min_fd;
    while (fd < cage->nfds && cage->fds[fd].f)
        fd++;
    int r = fd;
    if (fd >= limit)
        r = -EMFILE;
    else if (fd >= cage->nfds && fd_grow(cage, fd) < 0)
        r = -ENOMEM;
    if (r >= 0) {
        cage->fds[fd].f = f;
        cage->fds[fd].cloexec = cloexec;
    }
    cage_unlock(cage);
    if (r < 0)
        file_put(f);
    return r;
}

/* Puts host at exactly fd (dup2 semantics: an fd already there is closed). */
int fd_install_at(struct lind_cage *cage, int fd, int host, int cloexec)
{
    struct fd_file *f = file_new(host), *old = NULL;
    if (!f) {
        close(host);
        return -ENOMEM;
    }
    cage_lock(cage);
    int r = fd;
    if (fd < 0 || (uint64_t)fd >= cage->rlim[RLIMIT_NOFILE].cur)
        r = -EBADF;
    else if (fd >= cage->nfds && fd_grow(cage, fd) < 0)
        r = -ENOMEM;
    if (r >= 0) {
        old = cage->fds[fd].f;
        cage->fds[fd].f = f;
        cage->fds[fd].cloexec = cloexec;
    }
    cage_unlock(cage);
    if (r < 0)
        file_put(f);
    if (old)
        file_put(old);
    return r;
}

int fd_close(struct lind_cage *cage, int fd)
{
    struct fd_file *f = NULL;
    if (fd < 0 || fd >= cage->nfds)
        return -EBADF; /* no lock needed: nfds only grows, and only under the lock */
    cage_lock(cage);
    if (fd >= 0 && fd < cage->nfds && cage->fds[fd].f) {
        f = cage->fds[fd].f;
        cage->fds[fd].f = NULL;
        cage->fds[fd].cloexec = 0;
    }
    cage_unlock(cage);
    if (!f)
        return -EBADF;
    file_put(f); /* like Linux: the fd is gone even if the host close reports an error */
    return 0;
}

void fd_close_on_exec(struct lind_cage *cage)
{
    for (int fd = 0; fd < cage->nfds; fd++)
        if (cage->fds[fd].f && cage->fds[fd].cloexec)
            fd_close(cage, fd);
}

/* fork: the child's table refers to the same open file descriptions (host dups). */
int fd_table_clone(struct lind_cage *child, struct lind_cage *parent)
{
    int r = 0;
    cage_lock(parent);
    for (int fd = 0; fd < parent->nfds && r == 0; fd++) {
        if (!parent->fds[fd].f)
            continue;
        int h = fcntl(parent->fds[fd].f->host, F_DUPFD_CLOEXEC, 3);
        if (h < 0 || fd_install_at(child, fd, h, parent->fds[fd].cloexec) < 0)
            r = -ENOMEM;
        else
            child->fds[fd].f->foreign = parent->fds[fd].f->foreign; /* (the child runs no thread yet) */
    }
    cage_unlock(parent);
    return r;
}

void fd_close_all(struct lind_cage *cage)
{
    cage_lock(cage);
    for (int i = 0; i < cage->nfds; i++)
        if (cage->fds[i].f)
            file_put(cage->fds[i].f);
    free(cage->fds);
    cage->fds = NULL;
    cage->nfds = 0;
    cage_unlock(cage);
}

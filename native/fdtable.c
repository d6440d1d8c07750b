/* Per-cage fd tables: virtual fd -> host fd + close-on-exec flag. */
#include <errno.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lind.h"

int fd_host(struct lind_cage *cage, int fd)
{
    if (fd < 0 || fd >= cage->nfds || cage->fds[fd].host < 0)
        return -EBADF;
    return cage->fds[fd].host;
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
        v[i].host = -1;
        v[i].cloexec = 0;
    }
    cage->fds = v;
    cage->nfds = n;
    return 0;
}

/* Installs host fd at the lowest free virtual fd >= min_fd. Takes ownership of host (closed on
 * failure). Returns the virtual fd or -EMFILE/-ENOMEM. */
int fd_install(struct lind_cage *cage, int host, int cloexec, int min_fd)
{
    int limit = (int)(cage->rlim[RLIMIT_NOFILE].cur > INT_MAX ? INT_MAX : cage->rlim[RLIMIT_NOFILE].cur);
    int fd = min_fd;
    while (fd < cage->nfds && cage->fds[fd].host >= 0)
        fd++;
    if (fd >= limit) {
        close(host);
        return -EMFILE;
    }
    if (fd >= cage->nfds && fd_grow(cage, fd) < 0) {
        close(host);
        return -ENOMEM;
    }
    cage->fds[fd].host = host;
    cage->fds[fd].cloexec = cloexec;
    return fd;
}

/* Puts host at exactly fd (dup2 semantics: an fd already there is closed). */
int fd_install_at(struct lind_cage *cage, int fd, int host, int cloexec)
{
    if (fd < 0 || (uint64_t)fd >= cage->rlim[RLIMIT_NOFILE].cur) {
        close(host);
        return -EBADF;
    }
    if (fd >= cage->nfds && fd_grow(cage, fd) < 0) {
        close(host);
        return -ENOMEM;
    }
    if (cage->fds[fd].host >= 0)
        close(cage->fds[fd].host);
    cage->fds[fd].host = host;
    cage->fds[fd].cloexec = cloexec;
    return fd;
}

int fd_close(struct lind_cage *cage, int fd)
{
    int h = fd_host(cage, fd);
    if (h < 0)
        return h;
    cage->fds[fd].host = -1;
    cage->fds[fd].cloexec = 0;
    /* like Linux: the fd is gone even if the host close reports an error */
    if (close(h) < 0 && errno == EIO)
        return -EIO;
    return 0;
}

void fd_close_all(struct lind_cage *cage)
{
    for (int i = 0; i < cage->nfds; i++)
        if (cage->fds[i].host >= 0)
            close(cage->fds[i].host);
    free(cage->fds);
    cage->fds = NULL;
    cage->nfds = 0;
}

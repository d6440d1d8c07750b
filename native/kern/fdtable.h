/* kern/fdtable.h: per-cage fd tables (a virtual fd names a reference-counted host fd and its
 * close-on-exec flag), and the directory positions of an open directory (kern/dirpos.c).
 * Calls: base/, kern/.        Called by: kern/, sys/, rt/, threei/. */
#ifndef LIND_KERN_FDTABLE_H
#define LIND_KERN_FDTABLE_H

#include <stdint.h>

struct lind_cage;
struct lind_call;
struct dir_positions; /* kern/dirpos.c */

/* A virtual fd refers to a host fd, a dup of the open file description, so offsets and status
 * flags are shared between dup'ed fds exactly as on Linux. The host fd is reference counted: a
 * system call in flight in one thread keeps it open while another thread closes the virtual fd
 * (otherwise the host could reuse the number for another cage's file). */
struct fd_file {
    int host;
    int refs;
    struct dir_positions *dirpos; /* a directory read by getdents64: dirpos.c */
    int foreign;                  /* a host object outside the root (stdio the embedder gave, a host
                                   * device): its data is the cage's to use, its metadata is not (EPERM) */
};

struct lind_fd {
    struct fd_file *f;  /* NULL: unused */
    int cloexec;
};

int fd_host(struct lind_call *c, int fd);  /* host fd, valid until the call returns, or -EBADF */
int fd_host_file(struct lind_call *c, int fd, struct fd_file **file); /* fd_host, and its open file */
void fd_set_foreign(struct lind_cage *cage, int fd);
void fd_release(struct lind_call *c);      /* the call returns: the host fds it borrowed */
void fd_close_on_exec(struct lind_cage *cage);
int fd_table_clone(struct lind_cage *child, struct lind_cage *parent);
int fd_install(struct lind_cage *cage, int host, int cloexec, int min_fd); /* takes ownership */
int fd_install_at(struct lind_cage *cage, int fd, int host, int cloexec);
int fd_close(struct lind_cage *cage, int fd);
void fd_close_all(struct lind_cage *cage);

/* kern/dirpos.c */
int64_t dirpos_to_guest(struct fd_file *f, int64_t real);
int dirpos_to_real(struct fd_file *f, int64_t guest, int64_t *real);
int dirpos_used(struct fd_file *f);
void dirpos_free(struct fd_file *f);

#endif

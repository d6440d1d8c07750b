/* kern/path.h: path resolution inside a cage's root, and its working directory.
 * Calls: base/, kern/.        Called by: kern/, sys/. */
#ifndef LIND_KERN_PATH_H
#define LIND_KERN_PATH_H

#include <stdint.h>

struct lind_cage;
struct lind_call;

#define RES_NOFOLLOW 1
int path_from_guest(struct lind_call *c, int dirfd, uint64_t addr, char *out);
int path_open(struct lind_cage *cage, const char *abs, int flags, int mode, int resolve_flags);
void path_init(void);
int path_is_host_device(const char *abs);
int path_fd_outside_root(struct lind_cage *cage, int host_fd);
int path_fd_is_root(struct lind_cage *cage, int host_fd); /* the root directory itself (the embedder's) */
int chown_allowed(int host_fd, uint32_t uid, uint32_t gid); /* 0, or -EPERM: no CAP_CHOWN */
int fd_host_owned(struct lind_call *c, int fd); /* fd_host for a change of metadata: -EPERM if foreign */
void path_mode_fixup(int dirfd, const char *base, uint32_t perm, int always);
int path_parent(struct lind_cage *cage, const char *abs, char *base_out);
int path_of_fd(struct lind_cage *cage, int host_fd, char *out);
int cage_cwd(struct lind_cage *cage, char *out);              /* current cwd path, or -ENOENT */
int cage_chdir_fd(struct lind_cage *cage, int host_fd);       /* takes ownership of an O_PATH fd */

#endif

/* kern/creds.h: the rules for changing a cage's ids (ids: {real, effective, saved} of its uids or
 * its gids) and its supplementary groups.
 * Calls: base/, kern/.        Called by: sys/sys_cred. */
#ifndef LIND_KERN_CREDS_H
#define LIND_KERN_CREDS_H

#include <stdint.h>

struct lind_cage;

int creds_privileged(struct lind_cage *cage);
int64_t creds_set_res(struct lind_cage *cage, uint32_t *ids, uint32_t r, uint32_t e, uint32_t s);
int64_t creds_set_re(struct lind_cage *cage, uint32_t *ids, uint32_t r, uint32_t e);
int64_t creds_set_one(struct lind_cage *cage, uint32_t *ids, uint32_t v);
void creds_set_groups(struct lind_cage *cage, int n, const uint32_t *list);

#endif

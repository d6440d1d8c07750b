/* threei/grate.h: calls into grates (threei/grate.c).
 * Calls: base/, kern/, sys/, rt/.        Called by: threei/dispatch. */
#ifndef LIND_THREEI_GRATE_H
#define LIND_THREEI_GRATE_H

#include <stdint.h>

#include "kern/grate.h"

struct lind_call;
struct lind_cage;

int64_t threei_call_grate(struct lind_call *c, struct threei_entry e);
void threei_free_workers(struct lind_cage *grate); /* after grate_ending */

#endif

/* kern/upcalls.c: the table of kern/upcalls.h (filled by lind_init, threei/dispatch.c).
 * Calls: nothing.        Called by: sys/, rt/. */
#include "kern/upcalls.h"

struct upcalls upcalls;

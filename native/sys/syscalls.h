/* syscalls.h: what every file needs from syscalls.def: the call numbers by name (LIND_NR_<name>:
 * no bare numbers in code) and the handlers' prototypes (a handler is defined in its family's file
 * and reached only through lind_handlers, syscall_table.c).
 * Calls:  base/ (guest_abi).  Called by: sys/, rt/ (sigdeliver), threei/. */
#ifndef LIND_SYSCALLS_H
#define LIND_SYSCALLS_H

#include <stdint.h>

#include "base/guest_abi.h"

struct lind_call;

enum lind_nr {
#define X(nr, name, handler, family, status, note) LIND_NR_##name = nr,
#include "syscalls.def"
#undef X
};

/* One prototype per entry (an alias repeats its handler's, which C allows), none for NOSYS; an
 * unknown status fails the build here. Hidden: the handlers are not part of the library's ABI. */
#define LIND_PROTO_FULL(handler) __attribute__((visibility("hidden"))) int64_t handler(struct lind_call *c);
#define LIND_PROTO_PARTIAL(handler) LIND_PROTO_FULL(handler)
#define LIND_PROTO_STUB(handler) LIND_PROTO_FULL(handler)
#define LIND_PROTO_NOSYS(handler)
#define X(nr, name, handler, family, status, note) LIND_PROTO_##status(handler)
#include "syscalls.def"
#undef X

/* sys/syscall_table.c: the microvisor's handler for each call number (NULL: ENOSYS), the names */
typedef int64_t (*lind_handler_t)(struct lind_call *c);
extern const lind_handler_t lind_handlers[LIND_NCALLS];
const char *lind_call_name(uint64_t nr); /* "?" for a number syscalls.def does not list */

#endif

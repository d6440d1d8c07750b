/* syscall_table.c: the tables expanded from syscalls.def: the microvisor's handler for each call
 * number (what a cage gets when no grate interposes: cage->table, threei/grate.c), the calls' names for
 * messages, and a build-time check that no number is listed twice. Nothing writes these tables.
 * Calls:  sys/ (syscalls).  Called by: threei/ (dispatch, grate). */
#include <stddef.h>

#include "sys/syscalls.h"

/* Indexed by the call number on every system call (threei/dispatch.c): NULL answers ENOSYS. */
const lind_handler_t lind_handlers[LIND_NCALLS] = {
#define X(nr, name, handler, family, status, note) [nr] = handler,
#include "syscalls.def"
#undef X
};

static const char *const names[LIND_NCALLS] = {
#define X(nr, name, handler, family, status, note) [nr] = #name,
#include "syscalls.def"
#undef X
};

const char *lind_call_name(uint64_t nr)
{
    return nr < LIND_NCALLS && names[nr] ? names[nr] : "?";
}

/* Never called: two equal case labels do not compile, so a number listed twice fails the build. */
__attribute__((unused)) static void numbers_are_unique(void)
{
    switch (0) {
#define X(nr, name, handler, family, status, note) case nr:;
#include "syscalls.def"
#undef X
    }
}

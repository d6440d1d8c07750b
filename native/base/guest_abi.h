/* base/guest_abi.h: the guest's side of the ABI every layer needs: the size of a 3i table, page
 * sizes, the memory limit of wasm32, and the layout of a guest timespec (docs/abi.md has the rest).
 * Calls: nothing.        Called by: every folder. */
#ifndef LIND_BASE_GUEST_ABI_H
#define LIND_BASE_GUEST_ABI_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#define LIND_NCALLS 1100       /* 3i table size: Linux x86-64 numbers < 1000, lind calls 1001.. */
#define LIND_PAGE 4096u        /* guest page size (AT_PAGESZ) */
#define LIND_WASM_PAGE 65536u  /* memory.grow unit */
#define LIND_MAX_MEM (1ull << 32)
#define LIND_IOV_MAX 1024

/* Guest timespec at g (16 bytes): {int64 sec; int32 nsec; 4 bytes padding}; the padding is not read. */
static inline void guest_timespec(const uint8_t *g, struct timespec *ts)
{
    int64_t sec;
    int32_t nsec;
    memcpy(&sec, g, 8);
    memcpy(&nsec, g + 8, 4);
    ts->tv_sec = sec;
    ts->tv_nsec = nsec;
}

#endif

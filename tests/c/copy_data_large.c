/* copy_data of more than one 64 MiB piece (native/sys/sys_threei.c: move_killable), overlapping both ways,
 * checked against memmove on a second copy of the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lind_syscall.h>

#define N ((size_t)150 << 20)
#define SHIFT 4099 /* not a multiple of anything the host could round to */

static long copy_data(void *dst, const void *src, size_t n)
{
    return __lind_syscall(LIND_COPY_DATA_BETWEEN_CAGES, 0, 0, 0, 0, (uint64_t)(uintptr_t)src, 0,
                          (uint64_t)(uintptr_t)dst, 0, n, 0, 0, 0, 0, 0);
}

int main(void)
{
    unsigned char *a = malloc(N + SHIFT), *b = malloc(N + SHIFT);
    if (!a || !b)
        return 1;
    uint32_t x = 12345;
    for (size_t i = 0; i < N + SHIFT; i++) {
        x = x * 1103515245u + 12345u;
        a[i] = b[i] = (unsigned char)(x >> 16);
    }
    long r = copy_data(a + SHIFT, a, N); /* forward overlap: the destination is above the source */
    memmove(b + SHIFT, b, N);
    printf("up: %ld %s\n", r, memcmp(a, b, N + SHIFT) ? "differs" : "same as memmove");
    r = copy_data(a, a + SHIFT, N);      /* and down */
    memmove(b, b + SHIFT, N);
    printf("down: %ld %s\n", r, memcmp(a, b, N + SHIFT) ? "differs" : "same as memmove");
    return 0;
}

#include <string.h>

/* With bulk memory, large copies use memory.copy; small ones keep musl's
 * C loop (memory.copy has a fixed cost). */
#define memcpy __musl_memcpy
#include "../memcpy.c"
#undef memcpy

void *memcpy(void *restrict dest, const void *restrict src, size_t n)
{
	if (n >= 64) return __builtin_memcpy(dest, src, n);
	return __musl_memcpy(dest, src, n);
}

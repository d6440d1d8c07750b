#include <string.h>

#define memset __musl_memset
#include "../memset.c"
#undef memset

void *memset(void *dest, int c, size_t n)
{
	if (n >= 64) return __builtin_memset(dest, c, n);
	return __musl_memset(dest, c, n);
}

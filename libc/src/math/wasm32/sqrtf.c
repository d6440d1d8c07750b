#include <math.h>

/* wasm has a native instruction for this (IEEE-exact). */
float sqrtf(float x)
{
	return __builtin_sqrtf(x);
}

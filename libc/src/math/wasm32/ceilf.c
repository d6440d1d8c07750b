#include <math.h>

/* wasm has a native instruction for this (IEEE-exact). */
float ceilf(float x)
{
	return __builtin_ceilf(x);
}

#include <math.h>

/* wasm has a native instruction for this (IEEE-exact). */
float truncf(float x)
{
	return __builtin_truncf(x);
}

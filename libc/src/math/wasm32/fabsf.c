#include <math.h>

/* wasm has a native instruction for this (IEEE-exact). */
float fabsf(float x)
{
	return __builtin_fabsf(x);
}

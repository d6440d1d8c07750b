#include <math.h>

/* wasm has a native instruction for this (IEEE-exact). */
float rintf(float x)
{
	return __builtin_rintf(x);
}

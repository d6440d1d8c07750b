#include <math.h>

/* wasm has a native instruction for this (IEEE-exact). */
float floorf(float x)
{
	return __builtin_floorf(x);
}

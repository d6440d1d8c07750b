#include <math.h>

/* wasm has a native instruction for this (IEEE-exact). */
double ceil(double x)
{
	return __builtin_ceil(x);
}

#include <math.h>

/* wasm has a native instruction for this (IEEE-exact). */
double nearbyint(double x)
{
	return __builtin_nearbyint(x);
}

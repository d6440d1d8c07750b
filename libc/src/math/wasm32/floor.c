#include <math.h>

/* wasm has a native instruction for this (IEEE-exact). */
double floor(double x)
{
	return __builtin_floor(x);
}

#include <math.h>

/* wasm has a native instruction for this (IEEE-exact). */
double fabs(double x)
{
	return __builtin_fabs(x);
}

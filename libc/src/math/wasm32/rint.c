#include <math.h>

/* wasm has a native instruction for this (IEEE-exact). */
double rint(double x)
{
	return __builtin_rint(x);
}

#include <math.h>

/* wasm has a native instruction for this (IEEE-exact). */
double trunc(double x)
{
	return __builtin_trunc(x);
}

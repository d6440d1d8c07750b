#include <math.h>

/* wasm has a native instruction for this (IEEE-exact). */
double sqrt(double x)
{
	return __builtin_sqrt(x);
}

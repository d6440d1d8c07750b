#include <math.h>

/* wasm has a native instruction for this. */
double copysign(double x, double y)
{
	return __builtin_copysign(x, y);
}

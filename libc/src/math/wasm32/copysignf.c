#include <math.h>

/* wasm has a native instruction for this. */
float copysignf(float x, float y)
{
	return __builtin_copysignf(x, y);
}

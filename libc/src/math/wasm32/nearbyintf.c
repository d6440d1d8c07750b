#include <math.h>

/* wasm has a native instruction for this (IEEE-exact). */
float nearbyintf(float x)
{
	return __builtin_nearbyintf(x);
}

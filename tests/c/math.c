/* libm: elementary functions, rounding, decomposition, classification. Printed with %.10g so the
 * last-ulp differences allowed between libms do not show. */
#include <float.h>
#include <math.h>
#include <stdio.h>

static volatile double vin[] = {0.0, 0.5, 1.0, -1.0, 2.0, 3.14159265358979, -2.75, 10.0, 100.5, 1e-5};
#define NV (sizeof vin / sizeof vin[0])

int main(void)
{
    for (unsigned i = 0; i < NV; i++) {
        double x = vin[i];
        printf("x=%.10g sin=%.10g cos=%.10g tan=%.10g exp=%.10g\n", x, sin(x), cos(x), tan(x), exp(x));
        printf("  floor=%.10g ceil=%.10g round=%.10g trunc=%.10g fabs=%.10g\n", floor(x), ceil(x), round(x),
               trunc(x), fabs(x));
        if (x > 0)
            printf("  log=%.10g log10=%.10g log2=%.10g sqrt=%.10g cbrt=%.10g\n", log(x), log10(x), log2(x), sqrt(x),
                   cbrt(x));
    }
    printf("pow: %.10g %.10g nan=%d %.10g %.10g %.10g\n", pow(2, 10), pow(2, 0.5), isnan(pow(vin[4] * -4, 1.0 / 3)) != 0, pow(10, -3),
           pow(0, 0), pow(-2, 3));
    printf("fmod: %.10g %.10g %.10g %.10g\n", fmod(10, 3), fmod(-10, 3), fmod(5.5, 1.5), fmod(1, 0.1));
    printf("atan2: %.10g %.10g %.10g %.10g\n", atan2(1, 1), atan2(-1, -1), atan2(0, -1), atan2(1, 0));
    printf("asin=%.10g acos=%.10g atan=%.10g\n", asin(0.5), acos(0.5), atan(1));
    printf("sinh=%.10g cosh=%.10g tanh=%.10g\n", sinh(1), cosh(1), tanh(0.5));
    printf("hypot=%.10g expm1=%.10g log1p=%.10g\n", hypot(3, 4), expm1(1e-10), log1p(1e-10));
    printf("round halves: %.1f %.1f %.1f %.1f\n", round(0.5), round(1.5), round(2.5), round(-2.5));
    printf("lround: %ld %ld %ld %ld\n", lround(2.5), lround(-2.5), lround(3.49), lround(-0.4));
    printf("llround=%lld lrint=%ld rint=%.1f nearbyint=%.1f\n", llround(1e15 + 0.5), lrint(2.5), rint(3.5),
           nearbyint(-4.5));
    int e;
    double m = frexp(48.0, &e);
    printf("frexp(48)=%.10g,%d", m, e);
    m = frexp(-0.125, &e);
    printf(" frexp(-0.125)=%.10g,%d", m, e);
    m = frexp(0.0, &e);
    printf(" frexp(0)=%.10g,%d\n", m, e);
    printf("ldexp=%.10g %.10g %.10g\n", ldexp(0.75, 6), ldexp(1, -1074), ldexp(1, 1024));
    double ip;
    double fp = modf(-3.25, &ip);
    printf("modf=%.10g,%.10g\n", ip, fp);
    printf("copysign=%.1f fmin=%.1f fmax=%.1f fdim=%.1f\n", copysign(3, -0.0), fmin(2, -1), fmax(2, -1), fdim(5, 3));
    printf("fma=%.10g remainder=%.10g\n", fma(2, 3, 4), remainder(10, 3));
    volatile double zero = 0.0;
    double nan_ = zero / zero, inf = 1.0 / zero;
    printf("isnan: %d %d %d\n", isnan(nan_) != 0, isnan(inf) != 0, isnan(1.0) != 0);
    printf("isinf: %d %d %d %d\n", isinf(inf) != 0, isinf(-inf) != 0, isinf(nan_) != 0, isinf(DBL_MAX) != 0);
    printf("isfinite: %d %d signbit: %d %d\n", isfinite(1.0) != 0, isfinite(inf) != 0, signbit(-0.0) != 0,
           signbit(1.0) != 0);
    printf("fpclassify: %d %d %d %d %d\n", fpclassify(0.0) == FP_ZERO, fpclassify(1.0) == FP_NORMAL,
           fpclassify(DBL_MIN / 2) == FP_SUBNORMAL, fpclassify(inf) == FP_INFINITE, fpclassify(nan_) == FP_NAN);
    printf("log(0)=%g sqrt(-1) is nan=%d log(-1) is nan=%d\n", log(zero), isnan(sqrt(-1.0 + zero)) != 0,
           isnan(log(-1.0 + zero)) != 0);
    printf("float: sinf=%.6g sqrtf=%.6g powf=%.6g\n", (double)sinf(1.0f), (double)sqrtf(2.0f), (double)powf(2.0f, 0.5f));
    printf("DBL_EPSILON=%.10g DBL_MAX=%.10g FLT_MAX=%.10g\n", DBL_EPSILON, DBL_MAX, (double)FLT_MAX);
    double acc = 0;
    for (int i = 1; i <= 100000; i++)
        acc += sin(i) * cos(i / 2.0) + sqrt(i);
    printf("sum=%.6f\n", acc);
    return 0;
}

#include <stdio.h>
#include <sys/resource.h>
int main(void) { volatile unsigned long x = 0; for (unsigned long i = 0; i < 300000000UL; i++) x += i;
  struct rusage ru; getrusage(RUSAGE_SELF, &ru); printf("utime>0.05: %d maxrss>0: %d\n", ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec > 50000, ru.ru_maxrss > 0); return 0; }

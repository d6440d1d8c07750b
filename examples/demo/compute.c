/* A CPU-bound kernel: sieve of Eratosthenes up to 20 million. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    const int n = 20000000;
    char *composite = calloc(n + 1, 1);
    int count = 0;
    for (long i = 2; i <= n; i++) {
        if (composite[i])
            continue;
        count++;
        for (long j = i * i; j <= n; j += i)
            composite[j] = 1;
    }
    printf("primes below %d: %d\n", n, count);
    free(composite);
    return 0;
}

/* Ends as argv[1] says: "ok" (exit 0), "fail" (exit 3), "segv" (a wild write), "abort",
 * "oom" (allocates 1 MiB blocks and writes them until malloc fails, then exits 1), "big" (48 MiB),
 * "sleep" (sleeps for ever). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *volatile keep[4096]; /* (so the compiler cannot drop the allocations) */

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "ok";
    if (strcmp(m, "fail") == 0)
        return 3;
    if (strcmp(m, "segv") == 0) {
        volatile int *p = (int *)0xfffffff0u;
        *p = 1;
    }
    if (strcmp(m, "abort") == 0)
        abort();
    if (strcmp(m, "oom") == 0 || strcmp(m, "big") == 0) {
        for (int i = 0; i < (m[0] == 'b' ? 48 : 4096); i++) {
            char *b = malloc(1 << 20);
            if (!b) {
                printf("malloc failed\n");
                return 1;
            }
            memset(b, 1, 1 << 20);
            keep[i] = b;
        }
        return 0;
    }
    if (strcmp(m, "sleep") == 0)
        for (;;)
            sleep(1000);
    return 0;
}

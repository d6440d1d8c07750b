/* "write": fills 16 MiB of heap with a secret pattern. "scan": reads every byte of its linear
 * memory from the initial break to the end of memory and counts pattern bytes (memory reused from
 * an earlier cage must read as zeros). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "write") == 0) {
        static char *volatile keep[16]; /* volatile: the compiler may not drop the writes */
        for (int i = 0; i < 16; i++) {
            keep[i] = malloc(1 << 20);
            memset(keep[i], 0xAB, 1 << 20);
        }
        return keep[15][5] == (char)0xAB ? 0 : 1;
    }
    unsigned char *start = sbrk(0), *end = (unsigned char *)(__builtin_wasm_memory_size(0) * 65536ul);
    long hits = 0;
    for (unsigned char *p = start; p < end; p++)
        hits += *p == 0xAB;
    printf("pattern bytes: %ld\n", hits);
    return hits != 0;
}

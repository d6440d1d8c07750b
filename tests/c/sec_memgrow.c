/* Grows the linear memory with the wasm memory.grow instruction (which never reaches the data
 * plane) 1 MiB at a time, writing every 4 KiB page it gets, until refused or 256 MiB; prints the
 * memory's final size in MiB. argv[1] "fork": a forked child does it (and the parent reports). */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int grow(void)
{
    while (__builtin_wasm_memory_size(0) < 256 * 16) {
        size_t old = __builtin_wasm_memory_grow(0, 16);
        if (old == (size_t)-1)
            break;
        for (size_t a = old * 65536; a < (old + 16) * 65536; a += 4096)
            *(volatile char *)a = 1;
    }
    printf("%zu MiB\n", __builtin_wasm_memory_size(0) / 16);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "fork") == 0) {
        fflush(stdout);
        pid_t p = fork();
        if (p == 0)
            _exit(grow());
        int st;
        waitpid(p, &st, 0);
        printf("child %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return 0;
    }
    return grow();
}

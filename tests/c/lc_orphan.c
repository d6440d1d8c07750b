/* The root leaves an orphan behind: argv[1] "spin" (a CPU loop) or "block" (reads a pipe nobody
 * writes). The root prints the child's pid and exits 0 at once. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int p[2];
    if (pipe(p) < 0)
        return 2;
    pid_t pid = fork();
    if (pid == 0) {
        if (argc > 1 && strcmp(argv[1], "block") == 0) {
            char c;
            read(p[0], &c, 1);
        }
        for (volatile unsigned long x = 0;; x++)
            ;
    }
    printf("orphan %d\n", pid > 0);
    return 0;
}

/* Fork isolation with copy-on-write memory: after a fork neither side sees the other's writes; a
 * later fork sees the parent's current memory; a grandchild sees its parent's; memory unmapped and
 * mapped again reads as zeros on both sides. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define N (4 << 20)

static int all(const char *p, size_t n, char c)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != c)
            return 0;
    return 1;
}

int main(void)
{
    char *buf = malloc(N);
    memset(buf, 'P', N);
    char *map = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(map, 'M', 1 << 20);
    int to_child[2], to_parent[2];
    pipe(to_child);
    pipe(to_parent);
    char c;
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        read(to_child[0], &c, 1); /* the parent has written Q over the first half */
        printf("child sees its copy: %d\n", all(buf, N, 'P'));
        memset(buf + N / 2, 'C', N / 2);
        munmap(map, 1 << 20);
        char *again = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        printf("child remapped memory reads zero: %d\n", all(again, 1 << 20, 0));
        fflush(stdout);
        pid_t g = fork();
        if (g == 0) {
            printf("grandchild sees child's writes: %d\n", all(buf, N / 2, 'P') && all(buf + N / 2, N / 2, 'C'));
            fflush(stdout);
            _exit(0);
        }
        waitpid(g, NULL, 0);
        write(to_parent[1], "x", 1);
        _exit(0);
    }
    memset(buf, 'Q', N / 2);
    write(to_child[1], "x", 1);
    read(to_parent[0], &c, 1);
    waitpid(p, NULL, 0);
    printf("parent sees its own writes only: %d\n", all(buf, N / 2, 'Q') && all(buf + N / 2, N / 2, 'P'));
    fflush(stdout);
    pid_t q = fork();
    if (q == 0) {
        printf("second child sees the parent's current memory: %d\n",
               all(buf, N / 2, 'Q') && all(buf + N / 2, N / 2, 'P') && all(map, 1 << 20, 'M'));
        char *z = calloc(1, 8 << 20);
        printf("second child calloc reads zero: %d\n", all(z, 8 << 20, 0));
        _exit(0);
    }
    waitpid(q, NULL, 0);
    munmap(map, 1 << 20);
    char *again = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("parent remapped memory reads zero: %d\n", all(again, 1 << 20, 0));
    return 0;
}

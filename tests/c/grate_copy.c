/* Under grate_testgrate --mode copy: call 900 makes the grate run copy_data_between_cages. */
#include <errno.h>
#include <lind_syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("FAIL line %d: %s (errno %d)\n", __LINE__, #cond, errno);                       \
            fflush(stdout);                                                                        \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static long long op(int o, unsigned long long a2, unsigned long long a3, unsigned long long a4)
{
    return __lind_syscall(900, 0, 0, (unsigned)o, 0, a2, 0, a3, 0, a4, 0, 0, 0, 0, 0);
}

#define ADDR(p) ((unsigned long long)(unsigned long)(p))

static char msg[] = "hello from the cage";
static char out[64];
static char nonul[8] = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};

int main(void)
{
    unsigned long long memsize = (unsigned long long)__builtin_wasm_memory_size(0) * 65536;
    long long grate = op(7, 0, 0, 0);
    CHECK(grate > 0 && grate == getppid());

    /* cage -> grate, grate -> cage */
    CHECK(op(1, ADDR(msg), 64, 0) == 1);
    CHECK(op(1, ADDR(msg), sizeof msg, 0) == 1); /* exactly long enough */
    CHECK(op(2, ADDR(out), 0, 0) == 0 && strcmp(out, "hello from the grate") == 0);
    char *heap = malloc(100);
    CHECK(op(2, ADDR(heap), 0, 0) == 0 && strcmp(heap, "hello from the grate") == 0);
    char local[32];
    CHECK(op(2, ADDR(local), 0, 0) == 0 && strcmp(local, "hello from the grate") == 0);
    printf("copy both ways ok\n");

    /* within the cage */
    char a[8] = "1234567", b[8] = {0};
    CHECK(op(6, ADDR(a), ADDR(b), 0) == 0 && strcmp(b, "1234567") == 0);

    /* out of bounds: EFAULT, and nothing written */
    CHECK(op(3, 0, 4, 0) == -EFAULT);                    /* NULL */
    CHECK(op(3, memsize - 2, 100, 0) == -EFAULT);        /* runs off the end */
    CHECK(op(3, memsize, 1, 0) == -EFAULT);              /* just past the end */
    CHECK(op(3, 0xfffffff0ull, 4, 0) == -EFAULT);
    CHECK(op(3, 0x100000000ull, 4, 0) == -EFAULT);       /* beyond 32 bits */
    CHECK(op(4, memsize - 2, 100, 0) == -EFAULT);
    CHECK(op(4, 0xffffff00ull, 16, 0) == -EFAULT);
    CHECK(op(3, memsize - 4, 4, 0) == 0);                /* the last bytes are fine */
    CHECK(op(3, ADDR(nonul), sizeof nonul, 1) == -EINVAL); /* strncpy mode: no NUL within len */
    CHECK(op(1, ADDR(msg), 5, 0) == -EINVAL);
    printf("bounds ok\n");

    /* not a descendant: EPERM (the grate asking for a cage that is not below it) */
    CHECK(op(5, ADDR(msg), 99999, 0) == -EPERM);
    /* the cage asking for its parent (the grate) or a sibling */
    char buf[8];
    CHECK(copy_data_between_cages(getpid(), getppid(), 4096, getppid(), ADDR(buf), getpid(), 4, 0) == -1 &&
          errno == EPERM);
    CHECK(copy_data_between_cages(getpid(), getppid(), ADDR(buf), getpid(), 4096, getppid(), 4, 0) == -1 &&
          errno == EPERM);
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t s1 = fork();
    if (s1 == 0) {
        char c;
        read(p[0], &c, 1);
        _exit(0);
    }
    pid_t s2 = fork();
    if (s2 == 0) {
        char b2[8];
        int r = copy_data_between_cages(getpid(), s1, ADDR(msg), s1, ADDR(b2), getpid(), 4, 0);
        _exit(r == -1 && errno == EPERM ? 0 : 1);
    }
    int st;
    CHECK(waitpid(s2, &st, 0) == s2 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* a parent may copy from its child */
    CHECK(copy_data_between_cages(getpid(), s1, ADDR(msg), s1, ADDR(buf), getpid(), 4, 0) == 0 &&
          memcmp(buf, "hell", 4) == 0);
    write(p[1], "x", 1);
    waitpid(s1, &st, 0);
    printf("authority ok\n");
    return 0;
}

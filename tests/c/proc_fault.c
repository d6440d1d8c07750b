/* Faults in children: the parent sees WIFSIGNALED with the matching signal and carries on.
 * usage: proc_fault children | segv | fpe | ill */
#pragma GCC diagnostic ignored "-Winfinite-recursion"
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int zero = 0, one = 1, minus_one = -1, int_min = INT_MIN;

static void oob(void)
{
    /* far outside both a wasm32 linear memory and anything mapped natively at that address */
    volatile int *p = (volatile int *)(uintptr_t)0xfffffff0u;
    *p = 1;
}

static int recurse(int n)
{
    volatile char pad[1024]; /* infinite on purpose */
    pad[0] = (char)n;
    return recurse(n + 1) + pad[0];
}

static const char *name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGBUS: return "SIGBUS";
    case SIGABRT: return "SIGABRT";
    default: return "other";
    }
}

static void run(const char *what, void (*fn)(void))
{
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        fn();
        printf("%s: survived\n", what);
        fflush(stdout);
        _exit(0);
    }
    int st;
    if (waitpid(p, &st, 0) != p)
        printf("%s: wait failed\n", what);
    else if (WIFSIGNALED(st))
        printf("%s: child killed by %s\n", what, name(WTERMSIG(st)));
    else
        printf("%s: child exited %d\n", what, WEXITSTATUS(st));
}

static void divzero(void) { printf("%d\n", one / zero); }
static void overflow(void) { printf("%d\n", int_min / minus_one); }
static void trap(void) { __builtin_trap(); }
static void stack(void) { printf("%d\n", recurse(0)); }

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "children")) {
        run("out-of-bounds store", oob);
        run("division by zero", divzero);
        run("INT_MIN / -1", overflow);
        run("__builtin_trap", trap);
        run("stack overflow", stack);
        run("abort", abort);
        printf("parent still running\n");
        return 0;
    }
    printf("faulting in the main program\n");
    fflush(stdout);
    if (!strcmp(m, "segv"))
        oob();
    else if (!strcmp(m, "fpe"))
        divzero();
    else if (!strcmp(m, "ill"))
        trap();
    return 0;
}

/* fork and setjmp reached only through function pointers, and longjmp out of code that cannot
 * unwind (lind cc instruments only what can be on the stack at a fork or setjmp: an indirect call
 * counts when a function of its signature in a table can fork or setjmp). */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static jmp_buf jb;

static int twice(int x) { return 2 * x; }
static int square(int x) { return x * x; }
static pid_t forker(void) { fflush(stdout); return fork(); }
static pid_t no_fork(void) { return getpid() > 0 ? -2 : -3; }
static int protected_call(int (*fn)(int), int x)
{
    /* setjmp in a function only ever called through a pointer */
    int r = setjmp(jb);
    if (r)
        return 1000 + r;
    return fn(x);
}
/* a chain of calls through a pointer type that never reaches fork or setjmp, ending in a longjmp */
static int thrower(int x)
{
    if (x == 0)
        longjmp(jb, 5);
    return x;
}
static int descend(int x);
static int (*volatile step)(int) = descend;
static int descend(int x) { return x == 0 ? thrower(0) : step(x - 1) + 1; }

static int (*volatile ops[2])(int) = {twice, square};
static pid_t (*volatile forks[2])(void) = {no_fork, forker};
static int (*volatile guarded)(int (*)(int), int) = protected_call;

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < 2; i++) {
        pid_t p = forks[i]();
        if (p == 0) {
            printf("child: %d\n", ops[1](7));
            exit(ops[0](21));
        }
        if (p > 0) {
            int st;
            waitpid(p, &st, 0);
            printf("parent: child exited %d\n", WEXITSTATUS(st));
        } else {
            printf("no fork: %d\n", (int)p);
        }
    }
    printf("guarded square: %d\n", guarded(ops[1], 9));
    printf("guarded longjmp: %d\n", guarded(descend, 50));
    printf("again: %d\n", guarded(descend, 3));
    return 0;
}

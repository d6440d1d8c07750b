#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static jmp_buf jb;
static sigjmp_buf sjb;
static int depth;

static void deep(int n) { if (n == 0) longjmp(jb, 42); deep(n - 1); depth++; }
static void on_usr1(int s) { (void)s; siglongjmp(sjb, 7); }
static void on_alarm(int s) { (void)s; siglongjmp(sjb, 9); }

int main(void)
{
    volatile int count = 0;
    int r = setjmp(jb);
    printf("setjmp returned %d (count %d)\n", r, count);
    if (count++ < 3) deep(10 + count);
    for (int i = 0; i < 1000; i++) {       /* many setjmps, like a pcall loop */
        jmp_buf b;
        volatile int v = 0;
        if (setjmp(b) == 0) { v = 1; longjmp(b, 2); }
        if (v != 1) { printf("bad\n"); return 1; }
    }
    signal(SIGUSR1, on_usr1);
    r = sigsetjmp(sjb, 1);
    if (r == 0) { raise(SIGUSR1); printf("not reached\n"); }
    sigset_t cur; sigprocmask(SIG_BLOCK, NULL, &cur);
    printf("siglongjmp returned %d, SIGUSR1 blocked after: %d\n", r, sigismember(&cur, SIGUSR1));
    /* out of a handler that interrupted pure computation (a timeout around a CPU-bound loop) */
    signal(SIGALRM, on_alarm);
    for (int round = 0; round < 2; round++) {
        volatile unsigned long spins = 0;
        r = sigsetjmp(sjb, 1);
        if (r == 0) {
            alarm(1);
            for (;;)
                spins++;
        }
        sigprocmask(SIG_BLOCK, NULL, &cur);
        printf("round %d: escaped the loop with %d, spun %d, SIGALRM blocked after: %d\n", round, r, spins > 0,
               sigismember(&cur, SIGALRM));
    }
    return 0;
}

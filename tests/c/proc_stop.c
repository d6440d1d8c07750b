#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
static volatile sig_atomic_t conts;
static void on_cont(int s) { (void)s; conts++; }
int main(void) {
    int fds[2], back[2]; pipe(fds); pipe(back);
    pid_t p = fork();
    if (p == 0) {
        signal(SIGCONT, on_cont);
        volatile unsigned long n = 0;
        /* after its handler ran, it waits for the parent's go before exiting: an exit before the
         * parent's waitpid(WCONTINUED) would be reported instead of the continue */
        for (;;) { n++; if (conts) { char x; write(fds[1], "c", 1); read(back[0], &x, 1); _exit(7); } }
    }
    usleep(50000);
    kill(p, SIGSTOP);
    int st; pid_t w = waitpid(p, &st, WUNTRACED);
    printf("stopped: %d sig=%d\n", w == p && WIFSTOPPED(st), WSTOPSIG(st));
    kill(p, SIGCONT);
    w = waitpid(p, &st, WCONTINUED);
    printf("continued: %d\n", w == p && WIFCONTINUED(st));
    char c; read(fds[0], &c, 1); write(back[1], "x", 1);
    w = waitpid(p, &st, 0);
    printf("exited: %d code=%d\n", WIFEXITED(st), WEXITSTATUS(st));
    return 0;
}

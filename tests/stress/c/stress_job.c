/* tests/stress, bench/kill_latency.py, bench/stress_long.py: one cage program with many short
 * behaviours, chosen by argv[1]. Each mode prints one line ending in " ok" and exits 0 when it
 * ends by itself as designed; the modes that never end (spin, block_*, forkbomb, ...) wait to be
 * killed (a kill, a wall-time or cpu-time limit).
 *
 * usage: stress_job MODE [N]      (with STRESS_READY set in the environment: "ready" first)
 *   ok                 print and exit
 *   fork N             fork N children (exit codes 0..N-1), reap and check each
 *   fork_pipe          fork one child that writes a line into a pipe; read it, wait (known bug 1)
 *   fork_chain N       a chain of N nested forks, each waits for its child
 *   exec               exec /stress_job ok (the program must be at /stress_job in the root)
 *   fork_exec N        N children, each execs /stress_job ok; reap them
 *   churn N            N rounds of fork + (exec | exit | crash) + wait: a long stream of
 *                      lifecycle events for kills to land in
 *   threads N          N threads: mutex counter, condition variable hand-off, join
 *   thread_fork        threads running while the main thread forks a child
 *   signals            handlers, masks, self-kill, a child killed by SIGTERM, EINTR on a pipe read
 *   mem N              malloc 1 MiB blocks (touched) until NULL or N of them; print the count
 *   max_cages N        fork N children that pause a moment; count EAGAIN; reap
 *   crash_null         call through a null function pointer
 *   crash_abort        abort()
 *   crash_wild         store far outside the linear memory
 *   crash_child        a child crashes (wild store); the parent reports its signal
 *   spin               loop for ever
 *   sleep              sleep for ever
 *   block_read         read a pipe whose write end this cage holds open (nobody writes)
 *   block_futex        wait on a condition variable nobody signals
 *   block_poll         poll a pipe nobody writes, no timeout
 *   block_sigs         block every signal, ignore every signal, then block in read
 *   block_tree N       N children each blocked in read, the parent blocked in wait
 *   forkbomb           for (;;) fork();  (known bug 2 under max_cages + wall_time)
 *   exit_thread        the main thread calls SYS_exit while another thread sleeps (known bug 3)
 *   exit_racing_clone  one thread calls exit(0) while the main thread keeps creating threads
 *   mem_canary         2 MiB from calloc must read zero; fill it, yield a while, check it is intact
 *                      (a linear memory shared with another cage, or scrubbed under us, shows here)
 *   orphan             a child that leaves stdio and sleeps for ever; the root exits (known bug 4)
 *   orphan_setsid      the same, the child in a session of its own
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROG "/stress_job"

static int fail(const char *what)
{
    printf("FAIL %s errno=%d\n", what, errno);
    fflush(stdout);
    return 1;
}

static int reap(pid_t pid, int *status)
{
    for (;;) {
        pid_t r = waitpid(pid, status, 0);
        if (r >= 0 || errno != EINTR)
            return r;
    }
}

static int mode_fork(int n)
{
    pid_t pids[64];
    if (n > 64)
        n = 64;
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            return fail("fork");
        if (pids[i] == 0)
            _exit(i);
    }
    for (int i = 0; i < n; i++) {
        int st;
        if (reap(pids[i], &st) != pids[i] || !WIFEXITED(st) || WEXITSTATUS(st) != i)
            return fail("reap");
    }
    printf("fork %d ok\n", n);
    return 0;
}

static int mode_fork_pipe(void)
{
    int p[2];
    if (pipe(p) < 0)
        return fail("pipe");
    pid_t pid = fork();
    if (pid < 0)
        return fail("fork");
    if (pid == 0) {
        close(p[0]);
        const char msg[] = "line from the child\n";
        ssize_t w = write(p[1], msg, sizeof msg - 1);
        _exit(w == (ssize_t)(sizeof msg - 1) ? 0 : 1);
    }
    close(p[1]);
    char buf[64];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(p[0], buf + got, sizeof buf - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(p[0]);
    int st;
    if (reap(pid, &st) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return fail("reap");
    buf[got] = 0;
    if (strcmp(buf, "line from the child\n") != 0)
        return fail("line");
    printf("fork_pipe ok\n");
    return 0;
}

static int mode_fork_chain(int n)
{
    int depth = 0;
    while (depth < n) {
        pid_t pid = fork();
        if (pid < 0)
            return fail("fork");
        if (pid > 0) {
            int st;
            if (reap(pid, &st) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                _exit(1);
            break;
        }
        depth++;
    }
    if (depth > 0)
        _exit(0);
    printf("fork_chain %d ok\n", n);
    return 0;
}

static int mode_exec(void)
{
    char *argv[] = {PROG, "ok", NULL};
    execv(PROG, argv);
    return fail("execv");
}

static int mode_fork_exec(int n)
{
    fflush(stdout);
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            return fail("fork");
        if (pid == 0) {
            char *argv[] = {PROG, "quiet", NULL};
            execv(PROG, argv);
            _exit(127);
        }
        int st;
        if (reap(pid, &st) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return fail("reap");
    }
    printf("fork_exec %d ok\n", n);
    return 0;
}

static int mode_churn(int n)
{
    fflush(stdout);
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            return fail("fork");
        if (pid == 0) {
            switch (i % 3) {
            case 0: {
                char *argv[] = {PROG, "quiet", NULL};
                execv(PROG, argv);
                _exit(127);
            }
            case 1:
                _exit(0);
            default:
                *(volatile int *)(uintptr_t)0xfffffff0u = 1;
                _exit(2);
            }
        }
        int st;
        if (reap(pid, &st) != pid)
            return fail("reap");
        int good = (i % 3 == 2) ? (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV) : (WIFEXITED(st) && WEXITSTATUS(st) == 0);
        if (!good) {
            printf("FAIL churn %d status %#x\n", i, st);
            return 1;
        }
    }
    printf("churn %d ok\n", n);
    return 0;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter;
static int turn;

static void *worker(void *arg)
{
    long id = (long)(intptr_t)arg;
    for (int i = 0; i < 2000; i++) {
        pthread_mutex_lock(&mu);
        counter++;
        pthread_mutex_unlock(&mu);
    }
    pthread_mutex_lock(&mu); /* hand-off: threads take their turn in order */
    while (turn != id)
        pthread_cond_wait(&cv, &mu);
    turn++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    return (void *)(intptr_t)(id + 1);
}

static int mode_threads(int n)
{
    pthread_t t[16];
    if (n > 16)
        n = 16;
    for (long i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) != 0)
            return fail("pthread_create");
    for (long i = 0; i < n; i++) {
        void *r;
        if (pthread_join(t[i], &r) != 0 || (intptr_t)r != i + 1)
            return fail("pthread_join");
    }
    if (counter != 2000L * n || turn != n)
        return fail("counter");
    printf("threads %d ok\n", n);
    return 0;
}

static volatile int stop_spin;
static void *spinner(void *a)
{
    (void)a;
    while (!stop_spin)
        ;
    return NULL;
}

static int mode_thread_fork(void)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, spinner, NULL);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(5);
    int st;
    if (pid < 0 || reap(pid, &st) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 5)
        return fail("fork");
    stop_spin = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("thread_fork ok\n");
    return 0;
}

static volatile sig_atomic_t got_usr1, got_alrm;
static void on_usr1(int s) { (void)s; got_usr1++; }
static void on_alrm(int s) { (void)s; got_alrm++; }

static int mode_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_alrm; /* no SA_RESTART: the read below must fail with EINTR */
    sigaction(SIGALRM, &sa, NULL);

    kill(getpid(), SIGUSR1);
    if (got_usr1 != 1)
        return fail("usr1");
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    raise(SIGUSR1);
    if (got_usr1 != 1)
        return fail("blocked usr1");
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (got_usr1 != 2)
        return fail("unblocked usr1");

    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return fail("fork");
    if (pid == 0) {
        for (;;)
            pause();
    }
    kill(pid, SIGTERM);
    int st;
    if (reap(pid, &st) != pid || !WIFSIGNALED(st) || WTERMSIG(st) != SIGTERM)
        return fail("child SIGTERM");

    int p[2];
    if (pipe(p) < 0)
        return fail("pipe");
    struct itimerval it = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    char c;
    ssize_t r = read(p[0], &c, 1);
    if (r != -1 || errno != EINTR || got_alrm != 1)
        return fail("EINTR");
    close(p[0]);
    close(p[1]);
    printf("signals ok\n");
    return 0;
}

static int mode_mem(int n)
{
    int count = 0;
    for (; count < n; count++) {
        char *volatile p = malloc(1 << 20); /* (volatile: clang drops unused allocations) */
        if (!p)
            break;
        memset(p, count, 1 << 20);
    }
    printf("mem %d ok\n", count);
    return 0;
}

static int mode_max_cages(int n)
{
    pid_t pids[64];
    int made = 0, again = 0;
    if (n > 64)
        n = 64;
    fflush(stdout);
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            usleep(20000);
            _exit(0);
        }
        if (pid < 0) {
            if (errno != EAGAIN)
                return fail("fork");
            again++;
        } else {
            pids[made++] = pid;
        }
    }
    for (int i = 0; i < made; i++) {
        int st;
        if (reap(pids[i], &st) != pids[i])
            return fail("reap");
    }
    printf("max_cages made=%d eagain=%d ok\n", made, again);
    return 0;
}

static int mode_crash_child(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return fail("fork");
    if (pid == 0) {
        *(volatile int *)(uintptr_t)0xfffffff0u = 1;
        _exit(0);
    }
    int st;
    if (reap(pid, &st) != pid || !WIFSIGNALED(st) || WTERMSIG(st) != SIGSEGV)
        return fail("crash_child");
    printf("crash_child ok\n");
    return 0;
}

static int block_in_read(void)
{
    int p[2];
    if (pipe(p) < 0)
        return fail("pipe");
    char c;
    for (;;)
        (void)read(p[0], &c, 1); /* this cage holds the write end: no EOF, ever */
    return 1;
}

static int mode_block_futex(void)
{
    pthread_mutex_lock(&mu);
    for (;;)
        pthread_cond_wait(&cv, &mu);
    return 1;
}

static int mode_block_poll(void)
{
    int p[2];
    if (pipe(p) < 0)
        return fail("pipe");
    struct pollfd pfd = {p[0], POLLIN, 0};
    for (;;)
        poll(&pfd, 1, -1);
    return 1;
}

static int mode_block_sigs(void)
{
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    for (int s = 1; s < 65; s++)
        sigaction(s, &sa, NULL);
    return block_in_read();
}

static int mode_block_tree(int n)
{
    fflush(stdout);
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            return fail("fork");
        if (pid == 0)
            return block_in_read();
    }
    for (;;) {
        int st;
        if (wait(&st) < 0 && errno == ECHILD)
            break;
    }
    return block_in_read();
}

static void *sleeper(void *a)
{
    (void)a;
    for (;;)
        sleep(1000);
    return NULL;
}

static int mode_exit_thread(void)
{
    pthread_t t;
    pthread_create(&t, NULL, sleeper, NULL);
    printf("exit_thread ok\n");
    fflush(stdout);
    syscall(SYS_exit, 0); /* this thread only: the process lives on in the sleeper */
    return 1;
}

static void *exiter(void *a)
{
    (void)a;
    usleep(200);
    exit(0);
    return NULL;
}

static void *idle_thread(void *a)
{
    (void)a;
    usleep(1000);
    return NULL;
}

static int mode_exit_racing_clone(void)
{
    pthread_t t;
    printf("exit_racing_clone ok\n");
    fflush(stdout);
    pthread_create(&t, NULL, exiter, NULL);
    for (int i = 0; i < 40; i++) {
        pthread_t u;
        if (pthread_create(&u, NULL, idle_thread, NULL) == 0)
            pthread_detach(u);
    }
    for (;;)
        pause(); /* (the exiter ends the process) */
    return 1;
}

static int mode_mem_canary(void)
{
    size_t n = 2u << 20;
    volatile unsigned char *p = calloc(n, 1);
    if (!p)
        return fail("calloc");
    for (size_t i = 0; i < n; i += 64)
        if (p[i]) {
            printf("FAIL mem_canary: fresh memory not zero at +%zu: %#x\n", i, p[i]);
            return 1;
        }
    for (size_t i = 0; i < n; i += 64)
        p[i] = (unsigned char)(i >> 6) | 1;
    for (int k = 0; k < 20; k++) {
        usleep(200);
        for (size_t i = 0; i < n; i += 64)
            if (p[i] != ((unsigned char)(i >> 6) | 1)) {
                printf("FAIL mem_canary: changed under us at +%zu: %#x\n", i, p[i]);
                return 1;
            }
    }
    printf("mem_canary ok\n");
    return 0;
}

static int mode_orphan(int setsid_too)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return fail("fork");
    if (pid == 0) {
        if (setsid_too)
            setsid();
        close(0);
        close(1);
        close(2);
        for (;;)
            sleep(1000);
    }
    printf("orphan ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "ok";
    int n = argc > 2 ? atoi(argv[2]) : 4;
    if (getenv("STRESS_READY")) { /* bench/kill_latency.py: the cage runs; the kill may come */
        printf("ready\n");
        fflush(stdout);
    }
    if (!strcmp(m, "ok")) {
        printf("ok\n");
        return 0;
    }
    if (!strcmp(m, "quiet"))
        return 0;
    if (!strcmp(m, "fork"))
        return mode_fork(n);
    if (!strcmp(m, "fork_pipe"))
        return mode_fork_pipe();
    if (!strcmp(m, "fork_chain"))
        return mode_fork_chain(n);
    if (!strcmp(m, "exec"))
        return mode_exec();
    if (!strcmp(m, "fork_exec"))
        return mode_fork_exec(n);
    if (!strcmp(m, "churn"))
        return mode_churn(n);
    if (!strcmp(m, "threads"))
        return mode_threads(n);
    if (!strcmp(m, "thread_fork"))
        return mode_thread_fork();
    if (!strcmp(m, "signals"))
        return mode_signals();
    if (!strcmp(m, "mem"))
        return mode_mem(n);
    if (!strcmp(m, "max_cages"))
        return mode_max_cages(n);
    if (!strcmp(m, "crash_null")) {
        void (*volatile fn)(void) = NULL;
        fn();
        return 1;
    }
    if (!strcmp(m, "crash_abort"))
        abort();
    if (!strcmp(m, "crash_wild")) {
        *(volatile int *)(uintptr_t)0xfffffff0u = 1;
        return 1;
    }
    if (!strcmp(m, "crash_child"))
        return mode_crash_child();
    if (!strcmp(m, "spin"))
        for (;;)
            ;
    if (!strcmp(m, "sleep"))
        for (;;)
            sleep(1000);
    if (!strcmp(m, "block_read"))
        return block_in_read();
    if (!strcmp(m, "block_futex"))
        return mode_block_futex();
    if (!strcmp(m, "block_poll"))
        return mode_block_poll();
    if (!strcmp(m, "block_sigs"))
        return mode_block_sigs();
    if (!strcmp(m, "block_tree"))
        return mode_block_tree(n);
    if (!strcmp(m, "forkbomb"))
        for (;;)
            fork();
    if (!strcmp(m, "exit_thread"))
        return mode_exit_thread();
    if (!strcmp(m, "exit_racing_clone"))
        return mode_exit_racing_clone();
    if (!strcmp(m, "mem_canary"))
        return mode_mem_canary();
    if (!strcmp(m, "orphan"))
        return mode_orphan(0);
    if (!strcmp(m, "orphan_setsid"))
        return mode_orphan(1);
    printf("FAIL unknown mode %s\n", m);
    return 2;
}

/* An attacker tenant for bench/gateway_fuzz.py: random system calls through the gateway with
 * random and hostile arguments, mixed with aimed attacks (kill of other tenants' pids, paths out of
 * the root, links to host files, pointers owned by other cages, forks and threads that fuzz too).
 *
 *     gateway_fuzz SEED CALLS PIDS DECOY
 *
 * CALLS: loop iterations (0: until killed). PIDS: comma-separated pids of other tenants' cages
 * (the victim first). DECOY: a host directory outside the root (absolute host path) whose files
 * must stay as they are. Exits 42 at the end of its loop (stdout may have been closed by the calls
 * themselves, so nothing is printed; the host counts the calls).
 *
 * Unlike tests/c/fuzz_syscalls.c it lets through, now and then, the calls that block or end the
 * cage (the wall-time limit ends those jobs) and it forks and starts threads. Most jobs end within
 * a few thousand calls, killed by a signal of their own tree (kill(0), kill(-1), a child's kill)
 * or a trap after the host wrote where a random pointer said; some deadlock in their own libc
 * (a futex wait nobody wakes) until their wall-time limit.
 *
 * Built with -DTRACE, each cage appends its calls (number, first four arguments) to trace-<pid> in
 * its root, before making them. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <lind_syscall.h>

static _Thread_local uint64_t rng = 88172645463325252ull;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }
static uint64_t pick(uint64_t n) { return next() % n; }

/* the buffer the calls get: at the start of 4 MiB of its own, above the program's data, so that the
 * host writing past its end (huge lengths) hits only that region and the heap, not the fuzzer's
 * own state (a fuzzer that corrupts itself at once ends its job within a few hundred calls) */
#define BUFSZ 8192
static char *buf;
static char longpath[8192];
static long pids[64];
static int npids;
#define NPATHS 40
static const char *paths[NPATHS];
static int npaths;
static const char *decoy;

static void add_path(const char *p) { if (npaths < NPATHS) paths[npaths++] = p; }

static char *cat(const char *a, const char *b)
{
    char *s = malloc(strlen(a) + strlen(b) + 1);
    if (s) { strcpy(s, a); strcat(s, b); }
    return s ? s : (char *)a;
}

static void setup_paths(void)
{
    static const char *fixed[] = {
        "f", "d", "d/f", "link", "hard", ".", "..", "/", "", "/tmp/fuzz-file", "../../decoy/a",
        "../../../../../../../../tmp", "/../../decoy/b", "d/../../../decoy/sub/c", "/proc/self/root",
        "/proc/self/cwd/../..", "/proc/1/root/etc/passwd", "/proc/self/fd/0", "/dev/null", "/dev/tty",
        "/dev/mem", "/etc/passwd", "/sys/kernel", "link/../..", "./././../decoy/a",
    };
    for (unsigned i = 0; i < sizeof fixed / sizeof *fixed; i++)
        add_path(fixed[i]);
    add_path(decoy);
    add_path(cat(decoy, "/a"));
    add_path(cat(decoy, "/sub/c"));
    add_path(cat("../../../../../../..", cat(decoy, "/a")));
    add_path(cat("/proc/self/root", cat(decoy, "/b")));
    memset(longpath, 'a', sizeof longpath - 1);
    for (int i = 1; i < (int)sizeof longpath - 1; i += 3) longpath[i] = '/';
    add_path(longpath);
    add_path(longpath + sizeof longpath - 2); /* "a" */
}

static uint64_t a_path(void)
{
    switch (pick(8)) {
    case 0: return (uint64_t)(uintptr_t)(buf + BUFSZ - 1); /* not terminated before the end */
    case 1: return 0xfffffffcu;                                 /* off the end of memory */
    default: return (uint64_t)(uintptr_t)paths[pick(npaths)];
    }
}

static long a_pid(void)
{
    switch (pick(10)) {
    case 0: return 0;
    case 1: return -1;
    case 2: return getpid();
    case 3: return (long)(int32_t)next();
    case 4: return npids ? -pids[pick(npids)] : 1;
    case 5: return 1 + pick(64);
    default: return npids ? pids[pick(npids)] : 1;
    }
}

static uint64_t arg(void)
{
    switch (pick(14)) {
    case 0: return 0;
    case 1: return (uint64_t)(uintptr_t)buf;               /* valid memory */
    case 2: return (uint64_t)(uintptr_t)buf + BUFSZ - 1 - pick(16);
    case 3: return 0xfffffff0u + pick(16);                 /* past the end of memory */
    case 4: return next();                                 /* anything, 64 bits */
    case 5: return (uint32_t)next();
    case 6: return pick(64);                               /* small ints, fds */
    case 7: return (uint64_t)-1 - pick(4);
    case 8: return 4096;
    case 9: { uint64_t k = pick(64); return (uint64_t)1 << (k == 23 ? 40 : k); } /* huge lengths (not the
                                                   program's data at 8 MiB, which it would corrupt) */
    case 10: return (uint64_t)a_pid();
    case 11: return 0x7fffffffu + pick(4);
    case 12: return (uint64_t)(uintptr_t)buf | ((uint64_t)1 << 63); /* a grate-memory flagged pointer */
    default: return a_path();
    }
}

/* the owning-cage word of an argument: mostly this cage, sometimes another tenant's cage */
static uint64_t cage_word(void)
{
    switch (pick(8)) {
    case 0: return (uint64_t)(npids ? pids[pick(npids)] : 1);
    case 1: return next();
    case 2: return (uint64_t)getpid();
    default: return 0;
    }
}

/* calls that block or end the cage: let through only now and then (the wall-time limit ends
 * a blocked job) */
static int rare(unsigned nr)
{
    switch (nr) {
    case 56: case 57: case 58: case 59: case 322: case 435: /* fork/clone/exec */
    case 60: case 231:                             /* exit */
    case 34: case 130: case 35: case 230:          /* pause, sigsuspend, sleeps */
    case 0: case 17: case 19: case 295:            /* reads */
    case 7: case 23: case 270: case 271: case 232: case 281: /* waits for fds */
    case 61: case 247: case 202:                   /* waits, futex */
    case 43: case 288: case 45: case 47: case 299: /* accept/recv */
    case 1020: case 1021:                          /* setjmp/longjmp */
    case 13: case 14: case 15:                     /* dispositions, masks, sigreturn */
    case 37: case 38: case 222: case 223:          /* alarms and timers */
    case 128: case 73: case 327: case 441: case 449:
    case 65: case 70: case 220: case 243: case 133: case 259:
    case 40: case 275: case 276: case 278: case 326: /* sendfile, splice & co (pipes) */
        return 1;
    }
    return 0;
}

static long raw(unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6)
{
    int hostile = pick(4) == 0;
#ifdef TRACE /* the calls in the file trace-<pid> of the root, on fd 900 (out of the way of the calls) */
    char line[160];
    int n = snprintf(line, sizeof line, "%u %llx %llx %llx %llx\n", nr, (unsigned long long)a1,
                     (unsigned long long)a2, (unsigned long long)a3, (unsigned long long)a4);
    __lind_syscall(1, 0, 0, 900, 0, (uint64_t)(uintptr_t)line, 0, (uint64_t)n, 0, 0, 0, 0, 0, 0, 0);
#endif
    return __lind_syscall(nr, hostile ? cage_word() : 0, pick(6) ? 0 : cage_word(),
                          a1, hostile ? cage_word() : 0, a2, hostile ? cage_word() : 0,
                          a3, hostile ? cage_word() : 0, a4, hostile ? cage_word() : 0,
                          a5, hostile ? cage_word() : 0, a6, hostile ? cage_word() : 0);
}

static void fuzz(long n);

static void *thread_main(void *p)
{
    rng ^= (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;
    fuzz(200 + pick(2000));
    return NULL;
}

/* signals this cage survives (ignored here or by default), and those that end or stop it (aimed
 * at itself they end the job, so they are sent less often) */
static const int harmless[] = {0, SIGUSR1, SIGHUP, SIGINT, SIGCHLD, SIGCONT, SIGURG, SIGWINCH, SIGPIPE};
static const int lethal[] = {SIGKILL, SIGTERM, SIGSTOP, SIGSEGV, SIGUSR2, SIGALRM, 64};

static int a_signal(void)
{
    if (pick(40) == 0) return lethal[pick(sizeof lethal / sizeof *lethal)];
    return harmless[pick(sizeof harmless / sizeof *harmless)];
}

/* an aimed attack */
static void aimed(void)
{
    char *p;
    switch (pick(20)) {
    case 0: case 1: case 2:                        /* kill another tenant's cage (or anything) */
        kill(a_pid(), a_signal());
        break;
    case 3: {                                      /* open out of the root and write */
        int fd = open((const char *)(uintptr_t)a_path(), (int)pick(4) | O_CREAT * (int)pick(2) | O_TRUNC * (int)pick(2)
                      | O_NOFOLLOW * (int)pick(2), 0777);
        if (fd >= 0) {
            write(fd, "PWNED\n", 6);
            fchmod(fd, 04777);
            ftruncate(fd, pick(2) ? 0 : 1 << 20);
            if (pick(2)) close(fd);
        }
        break;
    }
    case 4:                                        /* a link out of the root, then through it */
        unlink("link");
        symlink((const char *)(uintptr_t)a_path(), "link");
        chmod("link", 0777);
        truncate("link", 0);
        { int fd = open("link", O_WRONLY | O_APPEND); if (fd >= 0) { write(fd, "X", 1); close(fd); } }
        break;
    case 5:
        unlink("hard");
        link((const char *)(uintptr_t)a_path(), "hard");
        chmod("hard", 0);
        break;
    case 6:
        rename((const char *)(uintptr_t)a_path(), (const char *)(uintptr_t)a_path());
        break;
    case 7:
        chmod((const char *)(uintptr_t)a_path(), (mode_t)pick(010000));
        chown((const char *)(uintptr_t)a_path(), (uid_t)pick(2000), (gid_t)pick(2000));
        break;
    case 8:
        if (pick(2)) unlink((const char *)(uintptr_t)a_path()); else rmdir((const char *)(uintptr_t)a_path());
        mkdir((const char *)(uintptr_t)a_path(), 0777);
        break;
    case 9:
        chdir((const char *)(uintptr_t)a_path());
        break;
    case 10:                                       /* a child that fuzzes, not always waited for */
        if (pick(4) == 0) {
            pid_t c = fork();
            if (c == 0) {
#ifdef TRACE
                char tname[32];
                snprintf(tname, sizeof tname, "trace-%d", getpid());
                dup2(open(tname, O_WRONLY | O_CREAT | O_TRUNC, 0644), 900);
#endif
                rng ^= 0x5555; fuzz(100 + pick(3000)); _exit((int)pick(256)); }
            if (c > 0 && pick(8) == 0) waitpid(c, NULL, 0);
            else waitpid(-1, NULL, WNOHANG);
        }
        break;
    case 11:                                       /* a thread that fuzzes */
        if (pick(2) == 0) {
            pthread_t t;
            if (pthread_create(&t, NULL, thread_main, (void *)(uintptr_t)next()) == 0) {
                if (pick(8) == 0) pthread_join(t, NULL); else pthread_detach(t);
            }
        }
        break;
    case 12:                                       /* pointers into other tenants' cages */
        raw(LIND_COPY_DATA_BETWEEN_CAGES, (uint64_t)getpid(), (uint64_t)a_pid(), pick(2) ? (uint64_t)(uintptr_t)buf : next(),
            (uint64_t)a_pid(), (uint64_t)(uintptr_t)buf, (uint64_t)a_pid());
        raw(LIND_COPY_HANDLER_TABLE_TO_CAGE, (uint64_t)a_pid(), (uint64_t)a_pid(), 0, 0, 0, 0);
        raw(LIND_REGISTER_HANDLER, (uint64_t)a_pid(), pick(460), (uint64_t)getpid(), next(), 0, 0);
        break;
    case 13:                                       /* the process's view: umask, limits, groups */
        umask((mode_t)pick(01000));
        setpgid(a_pid(), a_pid());
        if (pick(8) == 0) setsid();
        setpriority((int)pick(3), (id_t)a_pid(), (int)pick(40) - 20);
        break;
    case 14:
        p = mmap((void *)(uintptr_t)(pick(2) ? 0 : next()), (size_t)arg(), (int)pick(8), (int)pick(64), (int)pick(8) - 1, 0);
        if (p != MAP_FAILED) {
            if (pick(2)) memset(p, 0x5a, 1);
            munmap(p, (size_t)arg());
        }
        mprotect((void *)(uintptr_t)(next() & ~4095ull), (size_t)arg(), (int)pick(8));
        break;
    case 15:                                       /* fds: dup over stdio, close random ones */
        dup2((int)pick(8), (int)(pick(2) ? pick(8) : (uint32_t)next()));
        close((int)pick(70));
        break;
    case 16: {                                     /* a pipe left full, with a nonblocking end */
        int fds[2];
        if (pipe(fds) == 0) {
            fcntl(fds[1], F_SETFL, O_NONBLOCK);
            for (int i = 0; i < 20 && write(fds[1], buf, BUFSZ) > 0; i++) {}
            if (pick(2)) { close(fds[0]); write(fds[1], buf, 1); } /* EPIPE (SIGPIPE is ignored) */
        }
        break;
    }
    case 17:                                       /* a signal handler that is not a function */
        if (pick(50) == 0) raw(13, SIGUSR1, (uint64_t)(uintptr_t)buf, 0, 8, 0, 0);
        break;
    case 18:
        if (pick(200) == 0) _exit((int)pick(256));
        break;
    default:
        if (pick(50) == 0) raise(pick(2) ? SIGSEGV : SIGTERM);
        break;
    }
}

static void fuzz(long n)
{
    for (long i = 0; n == 0 || i < n; i++) {
        if (pick(16) == 0) {
            aimed();
            continue;
        }
        unsigned nr = pick(2) ? pick(460) : 1000 + pick(40);
        if (nr == 285) /* fallocate: random lengths would take gigabytes of the host's disk */
            continue;
        if (rare(nr) && pick(20000) != 0)
            continue;
        uint64_t a[6];
        for (int k = 0; k < 6; k++) a[k] = arg();
        raw(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    }
}

int main(int argc, char **argv)
{
    rng ^= argc > 1 ? (uint64_t)atoll(argv[1]) * 0x9e3779b97f4a7c15ull : 0;
    if (!rng) rng = 1;
    long n = argc > 2 ? atol(argv[2]) : 100000;
    if (argc > 3)
        for (char *s = argv[3]; *s && npids < 64; ) {
            pids[npids++] = strtol(s, &s, 10);
            if (*s == ',') s++; else break;
        }
    decoy = argc > 4 ? argv[4] : "/tmp";
    setup_paths();
    buf = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        return 3;
    for (unsigned i = 0; i < BUFSZ; i++) buf[i] = (char)next();
#ifdef TRACE
    char tname[32];
    snprintf(tname, sizeof tname, "trace-%d", getpid());
    dup2(open(tname, O_WRONLY | O_CREAT | O_TRUNC, 0644), 900);
#endif
    signal(SIGPIPE, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    mkdir("d", 0755);
    close(open("f", O_CREAT | O_WRONLY, 0644));
    fuzz(n);
    return 42;
}

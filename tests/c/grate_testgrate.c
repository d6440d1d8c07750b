/* A grate for the 3i tests.
 *
 *   grate_testgrate.wasm --mode MODE [--delay MS] PROGRAM [ARGS...]
 *
 * modes:
 *   euid      geteuid (107) returns ((a1 * 7) + calling cage id) & 0x3fffffff, counting calls with
 *             an atomic counter and a mutex-protected one; prints "calls=N locked=N" at the end
 *   copy      call 900 runs copy_data_between_cages tests chosen by a1 (see h_copy)
 *   clamp     interposes register_handler (1001): a registration for geteuid gets this grate's
 *             handler instead (returning 4242), other registrations are swallowed (return 0)
 *   passreg   interposes register_handler and forwards every registration with make_threei_call
 *   exitearly geteuid returns 777; the grate exits MS milliseconds after starting the program,
 *             without waiting for it */
#include <errno.h>
#include <lind_syscall.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HANDLER(name)                                                                              \
    static int name(uint64_t cageid, uint64_t a1, uint64_t a1c, uint64_t a2, uint64_t a2c,         \
                    uint64_t a3, uint64_t a3c, uint64_t a4, uint64_t a4c, uint64_t a5, uint64_t a5c, \
                    uint64_t a6, uint64_t a6c)
typedef int (*handler_t)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
                         uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

int pass_fptr_to_wt(uint64_t fn, uint64_t cageid, uint64_t a1, uint64_t a1c, uint64_t a2, uint64_t a2c,
                    uint64_t a3, uint64_t a3c, uint64_t a4, uint64_t a4c, uint64_t a5, uint64_t a5c, uint64_t a6,
                    uint64_t a6c)
{
    return ((handler_t)(uintptr_t)fn)(cageid, a1, a1c, a2, a2c, a3, a3c, a4, a4c, a5, a5c, a6, a6c);
}

static uint64_t grateid;
static long calls;
static long locked_calls;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

HANDLER(h_euid)
{
    if (cageid != grateid)
        return -1000; /* the handler is told the grate's id */
    __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&lock);
    locked_calls++;
    pthread_mutex_unlock(&lock);
    return (int)(((a1 * 7) + a1c) & 0x3fffffff);
}

HANDLER(h_777) { return 777; }
HANDLER(h_4242) { return 4242; }

static const char from_grate[] = "hello from the grate";

/* call 900: a1 = operation, the others its arguments; returns the 3i call's result (0 or -errno)
 * or a check value */
HANDLER(h_copy)
{
    char buf[256];
    uint64_t cage = a1c;
    memset(buf, 'z', sizeof buf);
    switch ((int)a1) {
    case 1: /* read the string at a2 (at most a3 bytes): 1 if it is the expected one */
        if (copy_data_between_cages(grateid, cage, a2, cage, (uint64_t)(uintptr_t)buf, grateid, a3, 1) < 0)
            return -errno;
        return strcmp(buf, "hello from the cage") == 0 ? 1 : 2;
    case 2: /* write our string (with its NUL) at a2 */
        if (copy_data_between_cages(grateid, cage, (uint64_t)(uintptr_t)from_grate, grateid, a2, cage,
                                    sizeof from_grate, 0) < 0)
            return -errno;
        return 0;
    case 3: /* raw read of a3 bytes at a2 (a4 = copytype) into our buffer */
        if (a3 > sizeof buf)
            return -E2BIG;
        return copy_data_between_cages(grateid, cage, a2, cage, (uint64_t)(uintptr_t)buf, grateid, a3, a4) < 0 ? -errno
                                                                                                               : 0;
    case 4: /* raw write of a3 bytes to a2 */
        if (a3 > sizeof buf)
            return -E2BIG;
        return copy_data_between_cages(grateid, cage, (uint64_t)(uintptr_t)buf, grateid, a2, cage, a3, 0) < 0 ? -errno
                                                                                                               : 0;
    case 5: /* read 4 bytes at a2 from cage a3 (not necessarily the caller) */
        return copy_data_between_cages(grateid, a3, a2, a3, (uint64_t)(uintptr_t)buf, grateid, 4, 0) < 0 ? -errno : 0;
    case 6: /* copy 8 bytes from a2 to a3, both in the calling cage */
        return copy_data_between_cages(grateid, cage, a2, cage, a3, cage, 8, 0) < 0 ? -errno : 0;
    case 7: /* our own id, as the handler was told it */
        return (int)cageid;
    }
    return -ENOSYS;
}

/* register_handler interposed: a1 = target cage, a1c = call number, a2c = handler's grate, a3 = fn */
HANDLER(h_clamp)
{
    if (a1c == 107)
        return register_handler(a1, 107, grateid, (uint64_t)(uintptr_t)&h_4242) < 0 ? -errno : 0;
    return 0;
}

HANDLER(h_passreg)
{
    return make_threei_call(1001, 0, grateid, a1, a1, a1c, a2, a2c, a3, a3c, a4, a4c, a5, a5c, a6, a6c, 0);
}

int main(int argc, char **argv)
{
    const char *mode = "euid";
    int delay = 100, i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--mode") == 0)
            mode = argv[i + 1];
        else if (strcmp(argv[i], "--delay") == 0)
            delay = atoi(argv[i + 1]);
    }
    if (i >= argc) {
        fprintf(stderr, "usage: grate_testgrate --mode MODE PROGRAM [ARGS...]\n");
        return 2;
    }
    grateid = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t me = getpid();
        int r = 0;
        if (!strcmp(mode, "euid"))
            r = register_handler(me, 107, grateid, (uint64_t)(uintptr_t)&h_euid);
        else if (!strcmp(mode, "copy"))
            r = register_handler(me, 900, grateid, (uint64_t)(uintptr_t)&h_copy);
        else if (!strcmp(mode, "clamp"))
            r = register_handler(me, 1001, grateid, (uint64_t)(uintptr_t)&h_clamp);
        else if (!strcmp(mode, "passreg"))
            r = register_handler(me, 1001, grateid, (uint64_t)(uintptr_t)&h_passreg);
        else if (!strcmp(mode, "exitearly") || !strcmp(mode, "execearly"))
            r = register_handler(me, 107, grateid, (uint64_t)(uintptr_t)&h_777);
        else
            r = -1, errno = EINVAL;
        if (r < 0) {
            fprintf(stderr, "testgrate: register_handler: %s\n", strerror(errno));
            _exit(126);
        }
        execv(argv[i], &argv[i]);
        fprintf(stderr, "testgrate: exec %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    if (!strcmp(mode, "exitearly") || !strcmp(mode, "execearly")) {
        struct timespec ts = {delay / 1000, (delay % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        if (!strcmp(mode, "execearly")) { /* become the program (its sleeping mode), not a grate */
            fprintf(stderr, "testgrate: exec\n");
            char *args[] = {argv[i], "0", "777", "0", "0", NULL};
            execv(argv[i], args);
            return 127;
        }
        fprintf(stderr, "testgrate: exiting\n");
        return 0;
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 1;
    if (!strcmp(mode, "euid"))
        fprintf(stderr, "testgrate: calls=%ld locked=%ld\n", calls, locked_calls);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

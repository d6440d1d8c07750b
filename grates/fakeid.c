/* fakeid: a grate that answers getuid/geteuid/getgid/getegid with values given on the command line.
 *
 *   lind run --root R fakeid.wasm [--uid N] [--euid N] [--gid N] [--egid N] /prog.wasm [args...]
 *
 * Every id defaults to 0 ("root"); --uid alone also sets the effective uid unless --euid is given
 * (likewise --gid for the effective gid). The program and everything it forks or execs sees the
 * fake ids; every other call goes to the microvisor. */
#include <errno.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SYS_getuid 102
#define SYS_getgid 104
#define SYS_geteuid 107
#define SYS_getegid 108

/* Every handler has exactly this signature: the dispatcher below calls it indirectly, and wasm
 * traps an indirect call whose signature does not match. */
#define HANDLER(name)                                                                              \
    static int name(uint64_t cageid, uint64_t a1, uint64_t a1c, uint64_t a2, uint64_t a2c,         \
                    uint64_t a3, uint64_t a3c, uint64_t a4, uint64_t a4c, uint64_t a5, uint64_t a5c, \
                    uint64_t a6, uint64_t a6c)
typedef int (*handler_t)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
                         uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

/* The entry point 3i calls for every interposed call: fn is the handler's function-table index. */
int pass_fptr_to_wt(uint64_t fn, uint64_t cageid, uint64_t a1, uint64_t a1c, uint64_t a2, uint64_t a2c,
                    uint64_t a3, uint64_t a3c, uint64_t a4, uint64_t a4c, uint64_t a5, uint64_t a5c, uint64_t a6,
                    uint64_t a6c)
{
    return ((handler_t)(uintptr_t)fn)(cageid, a1, a1c, a2, a2c, a3, a3c, a4, a4c, a5, a5c, a6, a6c);
}

static int uid, euid, gid, egid; /* set once in main, before the program starts: no lock needed */

HANDLER(h_getuid) { return uid; }
HANDLER(h_geteuid) { return euid; }
HANDLER(h_getgid) { return gid; }
HANDLER(h_getegid) { return egid; }

static int usage(void)
{
    fprintf(stderr, "usage: fakeid [--uid N] [--euid N] [--gid N] [--egid N] PROGRAM [ARGS...]\n");
    return 2;
}

int main(int argc, char **argv)
{
    int i = 1, have_euid = 0, have_egid = 0;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc)
            return usage();
        int v = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--uid") == 0) {
            uid = v;
        } else if (strcmp(argv[i], "--euid") == 0) {
            euid = v;
            have_euid = 1;
        } else if (strcmp(argv[i], "--gid") == 0) {
            gid = v;
        } else if (strcmp(argv[i], "--egid") == 0) {
            egid = v;
            have_egid = 1;
        } else {
            return usage();
        }
        i++;
    }
    if (i >= argc)
        return usage();
    if (!have_euid)
        euid = uid;
    if (!have_egid)
        egid = gid;

    uint64_t grateid = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fakeid: fork");
        return 1;
    }
    if (pid == 0) {
        /* the child registers our handlers in its own table, then becomes the program: the table
         * survives exec and is copied into every cage the program forks */
        uint64_t me = getpid();
        if (register_handler(me, SYS_getuid, grateid, (uint64_t)(uintptr_t)&h_getuid) < 0 ||
            register_handler(me, SYS_geteuid, grateid, (uint64_t)(uintptr_t)&h_geteuid) < 0 ||
            register_handler(me, SYS_getgid, grateid, (uint64_t)(uintptr_t)&h_getgid) < 0 ||
            register_handler(me, SYS_getegid, grateid, (uint64_t)(uintptr_t)&h_getegid) < 0) {
            perror("fakeid: register_handler");
            _exit(126);
        }
        execv(argv[i], &argv[i]);
        fprintf(stderr, "fakeid: exec %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            perror("fakeid: waitpid");
            return 1;
        }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
